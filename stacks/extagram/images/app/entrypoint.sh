#!/bin/bash
# Runs PHP-FPM and nginx side by side in the nginx_app container (PID 1).
#
#   SIGQUIT (stop_signal)  graceful: nginx stops accepting and finishes its
#                          in-flight requests (which still need PHP-FPM), then
#                          PHP-FPM gets SIGQUIT and lets its workers finish
#                          (process_control_timeout). Exit 0.
#   SIGTERM / SIGINT       fast stop of both (what the processes do on TERM).
#   either process exits   the other is stopped gracefully and the container
#                          exits with the failed process's status, so the
#                          restart policy can act.
set -u

log() { echo "extagram-app: $*" >&2; }

mkdir -p /run/php

php-fpm8.2 --nodaemonize --force-stderr &
fpm=$!

# Fail early on a broken config rather than looping on restarts.
nginx -t -q || { log "nginx config test failed"; kill -QUIT "$fpm"; wait "$fpm"; exit 1; }
nginx -g 'daemon off;' &
nginx=$!

stopping=0

stop_graceful() {
    [ "$stopping" = 1 ] && return
    stopping=1
    log "SIGQUIT: stopping nginx gracefully, then PHP-FPM"
    kill -QUIT "$nginx" 2>/dev/null
    # `wait` returns early when a trapped signal arrives: loop until gone.
    while kill -0 "$nginx" 2>/dev/null; do wait "$nginx"; done
    kill -QUIT "$fpm" 2>/dev/null
    while kill -0 "$fpm" 2>/dev/null; do wait "$fpm"; done
    log "stopped"
    exit 0
}

stop_fast() {
    stopping=1
    log "SIGTERM: fast stop"
    kill -TERM "$nginx" "$fpm" 2>/dev/null
    wait
    exit 0
}

trap stop_graceful QUIT
trap stop_fast TERM INT

# Wait until one of the two exits (a trapped signal also ends `wait -n`; the
# trap handlers exit themselves).
while :; do
    wait -n "$fpm" "$nginx"
    status=$?
    if ! kill -0 "$fpm" 2>/dev/null || ! kill -0 "$nginx" 2>/dev/null; then
        break
    fi
done

if kill -0 "$nginx" 2>/dev/null; then
    log "php-fpm exited (status $status); stopping nginx"
    kill -QUIT "$nginx"; wait "$nginx"
elif kill -0 "$fpm" 2>/dev/null; then
    log "nginx exited (status $status); stopping php-fpm"
    kill -QUIT "$fpm"; wait "$fpm"
fi
[ "$status" -eq 0 ] && status=1
exit "$status"
