#!/usr/bin/env bash
# The main job: bring the Extagram stack up on this machine, from nothing.
#
#   scripts/setup.sh
#
# 1. builds stackctl (cargo build --release);
# 2. makes sure a Docker engine answers (starts dockerd, installs docker.io
#    if it is missing);
# 3. makes the Debian base image the Dockerfiles build on, once (debootstrap;
#    BASE_IMAGE_FROM_REGISTRY=1 pulls debian:bookworm-slim instead);
# 4. writes stacks/extagram/.env with strong random passwords if it is absent
#    (mode 600, git-ignored; an existing .env is never touched);
# 5. `stackctl build` (images missing or changed; the layer cache makes a
#    re-run fast), then `stackctl up --wait`: every service healthy;
# 6. prints the URL and leaves the site running.
#
# Re-running it is safe: stackctl up converges, and named volumes (the
# database and the photos) are kept. `stackctl -f stacks/extagram/compose.yaml
# down` stops the site; `down -v` also deletes its data.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STACK="$ROOT/stacks/extagram"
ENV_FILE="$STACK/.env"
STACKCTL="$ROOT/target/release/stackctl"

say() { echo "setup: $*" >&2; }
die() { say "error: $*"; exit 1; }

step() {
    local started=$SECONDS
    say "$1 ..."
    shift
    "$@"
    say "  done in $((SECONDS - started))s"
}

build_stackctl() {
    command -v cargo >/dev/null 2>&1 || die "cargo is required (install Rust with rustup)"
    (cd "$ROOT" && cargo build --release --locked --quiet)
}

# 32 characters from [A-Za-z0-9]: strong, and safe in YAML, shell and SQL.
random_password() {
    local value
    value="$(head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)"
    [ "${#value}" -eq 32 ] || die "could not read /dev/urandom"
    printf '%s' "$value"
}

write_env_file() {
    if [ -e "$ENV_FILE" ]; then
        say "  keeping the existing $ENV_FILE"
        return
    fi
    local tmp
    tmp="$(mktemp "$STACK/.env.XXXXXX")"
    chmod 600 "$tmp"
    sed -e "s/^DB_PASSWORD=.*/DB_PASSWORD=$(random_password)/" \
        -e "s/^DB_ROOT_PASSWORD=.*/DB_ROOT_PASSWORD=$(random_password)/" \
        "$STACK/.env.example" >"$tmp"
    mv "$tmp" "$ENV_FILE"
    say "  wrote $ENV_FILE (random DB_PASSWORD and DB_ROOT_PASSWORD, mode 600)"
}

stackctl() { "$STACKCTL" -f "$STACK/compose.yaml" "$@"; }

# --quiet prints only the image ids; the step line says enough.
build_images() { stackctl build --quiet >/dev/null; }

step "building stackctl" build_stackctl
step "checking the Docker engine" "$ROOT/scripts/ensure-docker.sh"
step "checking the base image" "$ROOT/scripts/make-base-image.sh"
step "checking $ENV_FILE" write_env_file
step "building the Extagram images" build_images
step "starting the stack" stackctl up --wait

port="$(sed -n 's/^HTTP_PORT=//p' "$ENV_FILE" | tail -n 1)"
port="${HTTP_PORT:-${port:-8080}}"
echo
stackctl ps
echo
echo "Extagram is running: http://127.0.0.1:$port/"
