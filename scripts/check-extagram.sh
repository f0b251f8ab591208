#!/usr/bin/env bash
# End-to-end check of the Extagram images with plain `docker` commands, on a
# throw-away network and volumes (no stackctl, no compose): starts the seven
# containers the way stacks/extagram/compose.yaml describes them (same
# mounts, env, memory limits, read-only root for nginx_static, stop signals),
# then exercises the site through nginx_proxy. Removes everything it created,
# also on failure or Ctrl-C.
#
#   scripts/build-extagram-images.sh && scripts/check-extagram.sh
#
# Env: EXTAGRAM_VERSION (image tag, default 1), KEEP=1 to leave it running.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TAG="${EXTAGRAM_VERSION:-1}"
P="extagram-check-$$"
NET="$P-net"
WORK="$(mktemp -d /tmp/extagram-check.XXXXXX)"
DB_PASSWORD="app-$RANDOM-$RANDOM'\"\\x"
DB_ROOT_PASSWORD="root-$RANDOM-$RANDOM"
PASS=0 FAIL=0

say() { echo "check-extagram: $*" >&2; }
ok() { PASS=$((PASS + 1)); echo "  ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "  FAIL $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then say "KEEP=1: leaving project $P running"; return; fi
    docker ps -aq --filter "label=extagram-check=$P" | xargs -r docker rm -f >/dev/null
    docker network rm "$NET" >/dev/null 2>&1 || true
    docker volume rm "$P-db_data" "$P-uploads" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

C="$ROOT/config"
common=(--label "extagram-check=$P" --network "$NET" --security-opt no-new-privileges:true)
db_env=(-e DB_HOST=mysql_db -e DB_NAME=extagram -e DB_USER=extagram -e "DB_PASSWORD=$DB_PASSWORD")

docker network create --label "extagram-check=$P" "$NET" >/dev/null
docker volume create --label "extagram-check=$P" "$P-db_data" >/dev/null
docker volume create --label "extagram-check=$P" "$P-uploads" >/dev/null

run_db() {
    docker run -d --name "$P-mysql_db" --network-alias mysql_db "${common[@]}" \
        -e MYSQL_DATABASE=extagram -e MYSQL_USER=extagram -e "MYSQL_PASSWORD=$DB_PASSWORD" \
        -e "MYSQL_ROOT_PASSWORD=$DB_ROOT_PASSWORD" \
        -v "$P-db_data:/var/lib/mysql" \
        -v "$ROOT/init-sql:/docker-entrypoint-initdb.d:ro" \
        -v "$C/mysql/my.cnf:/etc/mysql/mariadb.conf.d/99-extagram.cnf:ro" \
        --memory 512m --stop-timeout 30 "extagram/db:$TAG" >/dev/null
}
run_app() {
    docker run -d --name "$P-nginx_app-$1" --hostname "$P-nginx_app-$1" --network-alias nginx_app "${common[@]}" \
        "${db_env[@]}" -e "APP_VERSION=${2:-1}" \
        -v "$P-uploads:/var/www/uploads:ro" \
        -v "$C/nginx/app.conf:/etc/nginx/conf.d/default.conf:ro" \
        -v "$C/php-fpm/app-pool.conf:/etc/php/8.2/fpm/pool.d/www.conf:ro" \
        -v "$C/php-fpm/php-fpm.conf:/etc/php/8.2/fpm/pool.d/zz-global.conf:ro" \
        -v "$C/php/uploads.ini:/etc/php/8.2/fpm/conf.d/90-extagram.ini:ro" \
        --memory 256m --stop-signal SIGQUIT --stop-timeout 15 "extagram/app:$TAG" >/dev/null
}
run_upload() {
    docker run -d --name "$P-php_upload" --network-alias php_upload "${common[@]}" "${db_env[@]}" \
        -v "$P-uploads:/var/www/uploads" \
        -v "$C/php-fpm/upload-pool.conf:/etc/php/8.2/fpm/pool.d/www.conf:ro" \
        -v "$C/php-fpm/php-fpm.conf:/etc/php/8.2/fpm/pool.d/zz-global.conf:ro" \
        -v "$C/php/uploads.ini:/etc/php/8.2/fpm/conf.d/90-extagram.ini:ro" \
        --memory 128m --stop-signal SIGQUIT --stop-timeout 15 "extagram/upload:$TAG" >/dev/null
}
run_static() {
    docker run -d --name "$P-nginx_static-$1" --network-alias nginx_static "${common[@]}" \
        --read-only --tmpfs /var/cache/nginx --tmpfs /var/lib/nginx --tmpfs /var/log/nginx \
        --tmpfs /run --tmpfs /tmp \
        -v "$P-uploads:/var/www/uploads:ro" \
        -v "$C/nginx/static.conf:/etc/nginx/conf.d/default.conf:ro" \
        --memory 64m --stop-signal SIGQUIT "extagram/static:$TAG" >/dev/null
}
run_proxy() {
    docker run -d --name "$P-nginx_proxy" --network-alias nginx_proxy "${common[@]}" \
        -p 127.0.0.1::80 \
        -v "$C/nginx/proxy.conf:/etc/nginx/conf.d/default.conf:ro" \
        --memory 128m --stop-signal SIGQUIT "extagram/proxy:$TAG" >/dev/null
}

health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null; }
wait_healthy() {
    local name="$1" limit="${2:-120}" start=$SECONDS s
    while :; do
        s="$(health "$name")"
        [ "$s" = healthy ] && { say "$name healthy after $((SECONDS - start))s"; return 0; }
        if [ "$s" = unhealthy ] || [ "$s" = exited ] || [ $((SECONDS - start)) -ge "$limit" ]; then
            say "$name is '$s' after $((SECONDS - start))s; last log lines:"
            docker logs --tail 30 "$name" >&2 || true
            return 1
        fi
        sleep 1
    done
}

say "project $P: starting mysql_db"
t0=$SECONDS
run_db
wait_healthy "$P-mysql_db" 120
run_app 1; run_app 2; run_upload; run_static 1; run_static 2
for n in nginx_app-1 nginx_app-2 php_upload nginx_static-1 nginx_static-2; do wait_healthy "$P-$n" 90; done
run_proxy
wait_healthy "$P-nginx_proxy" 60
say "all seven healthy after $((SECONDS - t0))s"

PORT="$(docker port "$P-nginx_proxy" 80/tcp | head -n1 | sed 's/.*://')"
URL="http://127.0.0.1:$PORT"
say "proxy at $URL"

status() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }

echo "== health endpoints"
check "proxy /healthz 200" [ "$(status "$URL/healthz")" = 200 ]
check "app /healthz.php ok (through the proxy)" [ "$(status "$URL/healthz.php")" = 200 ]
check "static /static/style.css 200" [ "$(status "$URL/static/style.css")" = 200 ]
check "static /static/logo.svg 200" [ "$(status "$URL/static/logo.svg")" = 200 ]

echo "== feed"
check "GET / 200" [ "$(status "$URL/")" = 200 ]
check "feed shows version 1" grep -q 'Extagram v1' "$WORK/body"
check "feed has the upload form" grep -q 'action="/upload.php"' "$WORK/body"
: >"$WORK/hosts"
for _ in $(seq 1 12); do curl -s "$URL/" | grep -o 'host=[^ ]*' >>"$WORK/hosts"; done
check "both nginx_app replicas served (/ x12: $(sort -u "$WORK/hosts" | tr '\n' ' '))" \
    [ "$(sort -u "$WORK/hosts" | wc -l)" -eq 2 ]

echo "== upload"
python3 - "$WORK" <<'PY'
import struct, sys, zlib, os
d = sys.argv[1]
def png(w, h):
    def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
    raw = b"".join(b"\x00" + bytes(v for x in range(w) for v in (x * 7 % 256, y * 5 % 256, (x + y) % 256)) for y in range(h))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(f"{d}/photo.png", "wb").write(png(64, 48))
open(f"{d}/notes.txt", "w").write("just some text, not an image\n")
# A text file named like an image.
open(f"{d}/fake.png", "w").write("<?php echo 'owned'; ?>\n")
# 11 MiB: over the proxy's client_max_body_size (refused by nginx).
open(f"{d}/big11.png", "wb").write(png(8, 8) + os.urandom(11 * 1024 * 1024))
# 10.5 MiB: under the proxy limit, over upload_max_filesize (refused by PHP).
open(f"{d}/big10.png", "wb").write(png(8, 8) + os.urandom(10 * 1024 * 1024 + 512 * 1024))
PY
caption='Sunset <script>alert(1)</script> & "friends"'
code="$(curl -s -o "$WORK/up" -D "$WORK/uphdr" -w '%{http_code}' -F "caption=$caption" -F "photo=@$WORK/photo.png;type=image/png" "$URL/upload.php")"
check "PNG upload -> 303" [ "$code" = 303 ]
check "redirect to /" grep -qi '^location: /\s*$' "$WORK/uphdr"
curl -s "$URL/" >"$WORK/feed"
name="$(grep -o '/uploads/[0-9a-f]\{32\}\.png' "$WORK/feed" | head -n1 | sed 's|/uploads/||')"
check "feed lists the new photo ($name)" [ -n "$name" ]
check "caption is escaped in the feed" grep -qF 'Sunset &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;' "$WORK/feed"
check "no raw <script> in the feed" bash -c "! grep -q '<script>alert' '$WORK/feed'"
if [ -n "$name" ]; then
    check "GET /uploads/$name 200, image/png" \
        [ "$(curl -s -o "$WORK/got.png" -w '%{http_code} %{content_type}' "$URL/uploads/$name")" = "200 image/png" ]
    check "downloaded bytes identical" cmp -s "$WORK/photo.png" "$WORK/got.png"
    check "file in the volume is www-data 0644" \
        [ "$(docker exec "$P-php_upload" stat -c '%U %a' "/var/www/uploads/$name")" = "www-data 644" ]
fi
check "text file refused with 415" [ "$(status -F caption=x -F "photo=@$WORK/notes.txt" "$URL/upload.php")" = 415 ]
check "PHP text named .png refused with 415" [ "$(status -F caption=x -F "photo=@$WORK/fake.png;type=image/png" "$URL/upload.php")" = 415 ]
check "11 MiB upload refused with 413 (proxy)" [ "$(status -F caption=x -F "photo=@$WORK/big11.png" "$URL/upload.php")" = 413 ]
check "  ... with a readable page" grep -q 'Photo too large' "$WORK/body"
check "10.5 MiB upload refused with 413 (PHP)" [ "$(status -F caption=x -F "photo=@$WORK/big10.png" "$URL/upload.php")" = 413 ]
check "  ... with a readable page" grep -q 'Photo too large' "$WORK/body"
check "missing caption refused with 400" [ "$(status -F "photo=@$WORK/photo.png" "$URL/upload.php")" = 400 ]
check "501-character caption refused with 400" \
    [ "$(status -F "caption=$(printf 'a%.0s' $(seq 1 501))" -F "photo=@$WORK/photo.png" "$URL/upload.php")" = 400 ]
check "500-character caption accepted (303)" \
    [ "$(status -F "caption=$(printf 'é%.0s' $(seq 1 500))" -F "photo=@$WORK/photo.png" "$URL/upload.php")" = 303 ]
check "missing photo refused with 400" [ "$(status -F caption=x "$URL/upload.php")" = 400 ]
check "GET /upload.php -> 405" [ "$(status "$URL/upload.php")" = 405 ]
check "only the 2 good photos were stored" [ "$(docker exec "$P-php_upload" sh -c 'ls /var/www/uploads | wc -l')" = 2 ]
check "DB has 2 posts" [ "$(docker exec "$P-mysql_db" sh -c 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb -h127.0.0.1 -uroot -N -e "SELECT COUNT(*) FROM extagram.posts"')" = 2 ]

echo "== routing and hardening"
check "/uploads/ listing is not served (404)" [ "$(status "$URL/uploads/")" = 404 ]
check "/uploads/../index.php does not escape (not 200 with PHP source)" \
    bash -c "[ \"\$(curl -s --path-as-is -o /dev/null -w '%{http_code}' '$URL/uploads/../../etc/passwd')\" != 200 ]"
docker exec "$P-php_upload" sh -c 'printf "<?php echo 7*6;" > /var/www/uploads/evil.php'
check "a .php file among uploads is not executed" \
    bash -c "[ \"\$(curl -s '$URL/uploads/evil.php')\" = '<?php echo 7*6;' ]"
docker exec "$P-php_upload" rm -f /var/www/uploads/evil.php
check "/.env is denied" [ "$(status "$URL/.env")" != 200 ]
check "unknown .php is 404" [ "$(status "$URL/nope.php")" = 404 ]
check "app DB user limited to SELECT, INSERT on posts" \
    bash -c "docker exec '$P-mysql_db' sh -c 'MYSQL_PWD=\"\$MYSQL_ROOT_PASSWORD\" mariadb -h127.0.0.1 -uroot -N -e \"SHOW GRANTS FOR extagram@\\\"%\\\"\"' | grep -q 'GRANT SELECT, INSERT ON .extagram.\\..posts. TO'"
check "root accounts are loopback only" \
    [ "$(docker exec "$P-mysql_db" sh -c 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb -h127.0.0.1 -uroot -N -e "SELECT GROUP_CONCAT(Host ORDER BY Host) FROM mysql.user WHERE User = \"root\""')" = "127.0.0.1,::1,localhost" ]
check "no anonymous accounts" \
    [ "$(docker exec "$P-mysql_db" sh -c 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb -h127.0.0.1 -uroot -N -e "SELECT COUNT(*) FROM mysql.user WHERE User = \"\""')" = 0 ]

echo "== blue-green style switch in the proxy"
run_app 3 2
wait_healthy "$P-nginx_app-3" 90
docker exec "$P-nginx_proxy" sh -c "printf 'server $P-nginx_app-3:80;\n' > /etc/nginx/upstreams/nginx_app.conf && nginx -t -q && nginx -s reload"
sleep 1
check "after reload the feed shows version 2" bash -c "curl -s '$URL/' | grep -q 'Extagram v2'"
check "bad upstream file is refused by nginx -t" \
    bash -c "! docker exec '$P-nginx_proxy' sh -c 'cp /etc/nginx/upstreams/nginx_app.conf /tmp/ok && echo garbage > /etc/nginx/upstreams/nginx_app.conf && nginx -t -q 2>/dev/null'"
docker exec "$P-nginx_proxy" sh -c 'cp /tmp/ok /etc/nginx/upstreams/nginx_app.conf'

echo "== graceful stops"
# An in-flight 3-second request must complete while nginx_app-1 stops.
docker exec "$P-nginx_app-1" sh -c 'printf "<?php sleep(3); echo \"slow done\";" > /var/www/extagram/slow.php'
docker exec "$P-nginx_proxy" curl -s -m 20 -o /dev/stdout -w ' %{http_code}' "http://$P-nginx_app-1/slow.php" >"$WORK/slow" 2>&1 &
slow=$!
sleep 1
t=$SECONDS; docker stop "$P-nginx_app-1" >/dev/null
wait "$slow" || true
check "in-flight request finished during the stop ($(cat "$WORK/slow"))" [ "$(cat "$WORK/slow")" = "slow done 200" ]
check "nginx_app stops on SIGQUIT in $((SECONDS - t))s, exit 0" \
    [ "$(docker inspect -f '{{.State.ExitCode}}' "$P-nginx_app-1")" = 0 ]
check "  ... nginx then php-fpm stopped" bash -c "docker logs '$P-nginx_app-1' 2>&1 | grep -q 'extagram-app: stopped'"
t=$SECONDS; docker stop "$P-php_upload" >/dev/null
check "php_upload stops on SIGQUIT in $((SECONDS - t))s, exit 0" \
    [ "$(docker inspect -f '{{.State.ExitCode}}' "$P-php_upload")" = 0 ]
t=$SECONDS; docker stop "$P-nginx_static-1" >/dev/null
check "nginx_static stops on SIGQUIT in $((SECONDS - t))s, exit 0" \
    [ "$(docker inspect -f '{{.State.ExitCode}}' "$P-nginx_static-1")" = 0 ]
t=$SECONDS; docker stop "$P-mysql_db" >/dev/null
check "mysql_db stops on SIGTERM in $((SECONDS - t))s, exit 0" \
    [ "$(docker inspect -f '{{.State.ExitCode}}' "$P-mysql_db")" = 0 ]
docker start "$P-mysql_db" >/dev/null
wait_healthy "$P-mysql_db" 60 || true
check "restart keeps the data (no re-init, 2 posts)" \
    [ "$(docker exec "$P-mysql_db" sh -c 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb -h127.0.0.1 -uroot -N -e "SELECT COUNT(*) FROM extagram.posts"')" = 2 ]
check "  ... and did not initialize again" bash -c "[ \$(docker logs '$P-mysql_db' 2>&1 | grep -c 'initializing (first start)') = 1 ]"

echo "== db image refuses to start without its variables"
out="$(docker run --rm --label "extagram-check=$P" -e MYSQL_DATABASE=x "extagram/db:$TAG" 2>&1 || true)"
check "clear error for missing variables" \
    bash -c "grep -q 'required environment variable(s) not set or empty: MYSQL_ROOT_PASSWORD MYSQL_USER MYSQL_PASSWORD' <<<'$out'"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
