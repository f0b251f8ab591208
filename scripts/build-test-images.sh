#!/usr/bin/env bash
# Build the images the engine tests run: no registry can be pulled from on our
# machines, so tests use an image made locally from Debian's static busybox.
#
#   scripts/build-test-images.sh           # skips images that already exist
#   scripts/build-test-images.sh --force   # rebuilds them
#
# stackctl-test/busybox:latest = FROM scratch + /bin/busybox + one symlink per
# applet (sh, httpd, wget, nc, sleep, cat, echo, dd, head, ...), PATH=/bin,
# CMD ["sh"]. Made with `docker import` (~0.2 s); ~2 MB.
#
# stackctl-test/router:latest = nginx-light on stackctl/debian:bookworm
# (tests/images/router): the proxy for zero-downtime switch tests. Needs the
# base image; scripts/make-base-image.sh makes it first if missing (~50 s once,
# then cached); the router build itself takes ~25 s once.
set -euo pipefail

IMAGE="stackctl-test/busybox:latest"
ROUTER_IMAGE="${ROUTER_IMAGE:-stackctl-test/router:latest}"
BASE_IMAGE="${BASE_IMAGE:-stackctl/debian:bookworm}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "build-test-images: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

say() { echo "build-test-images: $*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# A FROM scratch image has no libc: the binary must be statically linked.
is_static() {
    [ -x "$1" ] || return 1
    if command -v file >/dev/null 2>&1; then
        file -L "$1" | grep -q 'statically linked'
    else
        ! ldd "$1" >/dev/null 2>&1
    fi
}

# Debian's busybox-static installs /bin/busybox; the dynamic `busybox` package
# installs the same path, so check the linkage, not just the presence.
static_busybox() {
    local candidate
    for candidate in /bin/busybox /usr/bin/busybox; do
        is_static "$candidate" && { echo "$candidate"; return 0; }
    done
    say "installing busybox-static (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null \
        || { as_root apt-get update -qq >/dev/null \
             && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null; } \
        || die "cannot install busybox-static"
    is_static /bin/busybox || die "/bin/busybox is not statically linked after installing busybox-static"
    echo /bin/busybox
}

# The root filesystem: /bin/busybox plus one relative symlink per applet, and
# the few directories test services write to.
make_rootfs() {
    local busybox="$1" rootfs="$2" applet
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/var/www"
    chmod 1777 "$rootfs/tmp"
    cp "$busybox" "$rootfs/bin/busybox"
    for applet in $("$busybox" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
    done
}

# `docker import` with --change is the equivalent of a Dockerfile
# `FROM scratch` + `COPY rootfs/ /` + `ENV PATH=/bin` + `CMD ["sh"]`, but in
# ~0.1 s: the legacy builder starts and commits a container for every
# metadata step, which costs ~0.6 s each on fuse-overlayfs.
build_busybox_image() {
    local busybox rootfs old_id new_id status=0
    busybox="$(static_busybox)"
    rootfs="$(mktemp -d)"
    make_rootfs "$busybox" "$rootfs"
    old_id="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
    tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . \
        | docker import \
            --change 'ENV PATH=/bin' \
            --change 'CMD ["sh"]' \
            --change 'LABEL io.stackctl.test-image=true' \
            - "$IMAGE" >/dev/null || status=$?
    rm -rf "$rootfs"
    [ "$status" -eq 0 ] || die "docker import of $IMAGE failed"
    # A --force rebuild leaves the previous image dangling: drop it unless a
    # container still uses it.
    new_id="$(docker image inspect --format '{{.Id}}' "$IMAGE")"
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        docker rmi "$old_id" >/dev/null 2>&1 || true
    fi
}

# nginx-light on the Debian base image; the base is made first when missing.
build_router_image() {
    local old_id new_id
    if ! image_exists "$BASE_IMAGE"; then
        say "$BASE_IMAGE is missing: running scripts/make-base-image.sh first"
        BASE_IMAGE="$BASE_IMAGE" "$ROOT/scripts/make-base-image.sh" || die "cannot make $BASE_IMAGE"
    fi
    old_id="$(docker image inspect --format '{{.Id}}' "$ROUTER_IMAGE" 2>/dev/null || true)"
    docker build -q --build-arg "BASE=$BASE_IMAGE" -t "$ROUTER_IMAGE" \
        "$ROOT/tests/images/router" >/dev/null 2>&1 \
        || die "docker build of $ROUTER_IMAGE failed (try: docker build $ROOT/tests/images/router)"
    new_id="$(docker image inspect --format '{{.Id}}' "$ROUTER_IMAGE")"
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        docker rmi "$old_id" >/dev/null 2>&1 || true
    fi
}

main() {
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer; run scripts/ensure-docker.sh"
    local start
    if [ "$FORCE" -eq 1 ] || ! image_exists "$IMAGE"; then
        start=$SECONDS
        build_busybox_image
        say "built $IMAGE in $((SECONDS - start))s"
    fi
    if [ "$FORCE" -eq 1 ] || ! image_exists "$ROUTER_IMAGE"; then
        start=$SECONDS
        build_router_image
        say "built $ROUTER_IMAGE in $((SECONDS - start))s"
    fi
}

main
