#!/usr/bin/env bash
# Build the five Extagram images (stacks/extagram/images/*) with the tags
# stacks/extagram/compose.yaml uses: extagram/<name>:${EXTAGRAM_VERSION:-1}.
#
#   scripts/build-extagram-images.sh                 # all five
#   scripts/build-extagram-images.sh app db          # some of them
#   BASE=debian:bookworm-slim scripts/build-extagram-images.sh
#                                  # machines with registry access: build on the
#                                  # official image (make-base-image.sh is skipped)
#   NO_CACHE=1 scripts/build-extagram-images.sh      # docker build --no-cache
#
# Without BASE, runs scripts/make-base-image.sh first (debootstrap, cached),
# which makes stackctl/debian:bookworm, the Dockerfiles' default base. Prints
# each build's time and the image sizes.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IMAGES="$ROOT/stacks/extagram/images"
TAG="${EXTAGRAM_VERSION:-1}"
ALL=(db app upload static proxy)

say() { echo "build-extagram-images: $*" >&2; }
die() { say "error: $*"; exit 1; }

names=("$@")
[ "${#names[@]}" -gt 0 ] || names=("${ALL[@]}")
for n in "${names[@]}"; do
    case "$n" in
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        db|app|upload|static|proxy) ;;
        *) die "unknown image '$n' (one of: ${ALL[*]})" ;;
    esac
done

# The DB helper is duplicated in the two PHP build contexts (a build cannot
# read outside its context): refuse to build copies that have drifted apart.
cmp -s "$IMAGES/app/lib/common.php" "$IMAGES/upload/lib/common.php" \
    || die "images/app/lib/common.php and images/upload/lib/common.php differ; keep them identical"

build_args=()
if [ -n "${BASE:-}" ]; then
    build_args+=(--build-arg "BASE=$BASE")
    say "base image: $BASE"
else
    t=$SECONDS
    "$ROOT/scripts/make-base-image.sh"
    say "base image stackctl/debian:bookworm ready ($((SECONDS - t))s)"
fi
[ "${NO_CACHE:-0}" = 1 ] && build_args+=(--no-cache)

total=$SECONDS
declare -A took
for n in "${names[@]}"; do
    image="extagram/$n:$TAG"
    log="$(mktemp /tmp/extagram-build-$n.XXXXXX.log)"
    say "building $image ..."
    t=$SECONDS
    if ! DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}" docker build "${build_args[@]}" -t "$image" "$IMAGES/$n" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "building $image failed (full log: $log)"
    fi
    rm -f "$log"
    took[$n]=$((SECONDS - t))
    say "built $image in ${took[$n]}s"
done

printf '\n%-24s %8s %10s\n' IMAGE BUILD SIZE
for n in "${names[@]}"; do
    size="$(docker image inspect -f '{{.Size}}' "extagram/$n:$TAG")"
    printf '%-24s %7ss %7s MB\n' "extagram/$n:$TAG" "${took[$n]}" "$((size / 1000000))"
done
say "done in $((SECONDS - total))s"
