#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`.
#
#   scripts/ensure-docker.sh            # quiet when the engine already answers
#   DOCKER_WAIT_SECS=120 scripts/ensure-docker.sh
#
# Order: engine answers → done; dockerd installed but stopped → start it;
# not installed → apt-get install docker.io, then start it. Works as root on
# machines without systemd (containers, CI): dockerd is then started in the
# background with its flags taken from /etc/docker/daemon.json (the storage
# driver, e.g. fuse-overlayfs, lives there), logging to /tmp/dockerd.log.
# Idempotent: running it again while the engine answers does nothing.
set -euo pipefail

WAIT_SECS="${DOCKER_WAIT_SECS:-60}"
LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"

say() { echo "ensure-docker: $*" >&2; }
die() { say "error: $*"; exit 1; }

engine_answers() { docker info >/dev/null 2>&1; }

# Run as root directly, otherwise through sudo (non-interactively, so a
# password prompt fails fast instead of hanging a CI job).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_docker() {
    command -v apt-get >/dev/null 2>&1 \
        || die "dockerd is not installed and apt-get is unavailable; install Docker by hand"
    say "installing docker.io (apt-get)"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null \
        || die "apt-get install docker.io failed"
}

# systemd only counts when it is PID 1; a systemctl binary alone proves nothing.
have_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

dockerd_running() { pgrep -x dockerd >/dev/null 2>&1; }

start_dockerd() {
    if dockerd_running; then
        say "dockerd is running but not answering yet; waiting"
        return
    fi
    if have_systemd; then
        say "starting docker (systemctl)"
        as_root systemctl start docker && return
    fi
    # The sysvinit script needs a cgroup mount set up by the host; it fails in
    # many containers, so fall back to starting dockerd by hand.
    if [ -x /etc/init.d/docker ] && command -v service >/dev/null 2>&1; then
        say "starting docker (service)"
        as_root service docker start >/dev/null 2>&1 && return
    fi
    say "starting dockerd in the background (log: $LOG)"
    # Flags come from /etc/docker/daemon.json, which dockerd reads itself.
    as_root sh -c "nohup dockerd >'$LOG' 2>&1 </dev/null &"
}

wait_for_engine() {
    local deadline=$((SECONDS + WAIT_SECS))
    until engine_answers; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            explain_failure
            die "the Docker engine did not answer within ${WAIT_SECS}s"
        fi
        sleep 0.5
    done
    say "engine is up ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
}

# Show why the engine does not answer: the CLI's own error (e.g. "permission
# denied" on the socket for a user outside the docker group) and the daemon log.
explain_failure() {
    local log
    say "docker info says: $(docker info 2>&1 >/dev/null | grep -v '^$' | tail -n 1)"
    for log in "$LOG" /var/log/docker.log; do
        if [ -s "$log" ]; then
            say "last lines of $log:"
            tail -n 20 "$log" >&2
            break
        fi
    done
}

main() {
    engine_answers && exit 0
    command -v dockerd >/dev/null 2>&1 || install_docker
    command -v docker >/dev/null 2>&1 || die "the docker CLI is missing (install docker.io or docker-ce-cli)"
    start_dockerd
    wait_for_engine
}

main "$@"
