#!/usr/bin/env bash
# Create the Debian base image that example stacks build on, once.
#
#   scripts/make-base-image.sh                              # debootstrap (~40 s), cached
#   scripts/make-base-image.sh --force                      # recreate it
#   BASE_IMAGE_FROM_REGISTRY=1 scripts/make-base-image.sh   # pull debian:bookworm-slim instead
#
# No registry can be pulled from on our machines, so the default builds
# stackctl/debian:bookworm from Debian's archive with debootstrap (minbase) and
# `docker import`s it. Machines with registry access can pull and tag instead.
# Env: BASE_IMAGE (default stackctl/debian:bookworm), DEBIAN_MIRROR.
set -euo pipefail

IMAGE="${BASE_IMAGE:-stackctl/debian:bookworm}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "make-base-image: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

say() { echo "make-base-image: $*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

from_registry() {
    say "pulling debian:$SUITE-slim"
    docker pull -q "debian:$SUITE-slim" >/dev/null || die "docker pull debian:$SUITE-slim failed"
    docker tag "debian:$SUITE-slim" "$IMAGE"
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return
    say "installing debootstrap (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
        || { as_root apt-get update -qq >/dev/null \
             && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } \
        || die "cannot install debootstrap"
}

# debootstrap leaves apt lists and caches behind; the image does not need them
# (Dockerfiles run `apt-get update` first anyway).
trim_rootfs() {
    local dir="$1"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
}

from_debootstrap() {
    local dir log status=0
    ensure_debootstrap
    dir="$(mktemp -d /tmp/stackctl-rootfs.XXXXXX)"
    log="$dir.log"
    say "debootstrap --variant=minbase $SUITE (about 40 s; log: $log)"
    as_root debootstrap --variant=minbase "$SUITE" "$dir" "$MIRROR" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$log" >&2
        as_root rm -rf "$dir"
        die "debootstrap failed (is $MIRROR reachable?)"
    fi
    trim_rootfs "$dir"
    as_root tar -C "$dir" --numeric-owner -c . \
        | docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change 'CMD ["bash"]' \
            --change "LABEL io.stackctl.base-image=debootstrap-$SUITE" \
            - "$IMAGE" >/dev/null || status=$?
    as_root rm -rf "$dir" "$log"
    [ "$status" -eq 0 ] || die "docker import of $IMAGE failed"
}

main() {
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer; run scripts/ensure-docker.sh"
    if [ "$FORCE" -eq 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
        exit 0
    fi
    local start=$SECONDS
    if [ "${BASE_IMAGE_FROM_REGISTRY:-0}" = 1 ]; then
        from_registry
    else
        from_debootstrap
    fi
    say "created $IMAGE in $((SECONDS - start))s"
}

main
