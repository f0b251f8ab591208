#!/bin/bash
# extagram/db entrypoint (PID 1).
#
# First start (no /var/lib/mysql/mysql): mariadb-install-db, a temporary
# server with --skip-networking (so the TCP healthcheck cannot pass yet),
# then: root password from MYSQL_ROOT_PASSWORD (root only from
# localhost/127.0.0.1/::1), database MYSQL_DATABASE, user
# MYSQL_USER@'%' identified by MYSQL_PASSWORD with ALL on that database, then
# /docker-entrypoint-initdb.d/*.sql in name order inside MYSQL_DATABASE, with
# the tokens @MYSQL_USER@ and @MYSQL_DATABASE@ replaced. Then the temporary
# server is stopped and the real one exec'd in the foreground.
#
# A marker file guards against a half-done first start: if initialization
# failed, the next start refuses to run instead of serving a broken database.
set -euo pipefail

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
MARKER="$DATADIR/.extagram-init-incomplete"
INITDIR=/docker-entrypoint-initdb.d

log() { echo "extagram-db: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Arguments: anything that is not an option is a command to run instead.
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ] && [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
    exec "$@"
fi
if [ "$#" -gt 0 ] && { [ "$1" = mariadbd ] || [ "$1" = mysqld ]; }; then
    shift
fi

missing=()
for var in MYSQL_ROOT_PASSWORD MYSQL_DATABASE MYSQL_USER MYSQL_PASSWORD; do
    [ -n "${!var:-}" ] || missing+=("$var")
done
[ "${#missing[@]}" -eq 0 ] || die "required environment variable(s) not set or empty: ${missing[*]}"

# Names go into SQL and sed unquoted-by-us: keep them to a safe alphabet.
[[ "$MYSQL_DATABASE" =~ ^[A-Za-z0-9_]{1,64}$ ]] \
    || die "MYSQL_DATABASE must be 1-64 characters of A-Z a-z 0-9 _ (got '$MYSQL_DATABASE')"
[[ "$MYSQL_USER" =~ ^[A-Za-z0-9_]{1,80}$ ]] \
    || die "MYSQL_USER must be 1-80 characters of A-Z a-z 0-9 _ (got '$MYSQL_USER')"
[ "$MYSQL_USER" != root ] || die "MYSQL_USER must not be root"

# SQL string literal contents: escape backslash and single quote.
sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }

install -d -o mysql -g mysql -m 0755 /run/mysqld
chown mysql:mysql "$DATADIR"

[ ! -e "$MARKER" ] || die "$DATADIR holds a half-initialized database (an earlier first start failed; see its log). Remove the volume's contents and start again."

initialize() {
    log "empty $DATADIR: initializing (first start)"
    touch "$MARKER"; chown mysql:mysql "$MARKER"
    mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db \
        --auth-root-authentication-method=normal --skip-name-resolve >/dev/null \
        || die "mariadb-install-db failed"

    log "starting a temporary server (no networking)"
    mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$SOCKET" \
        2>&1 | sed 's/^/extagram-db: [init server] /' >&2 &
    local i
    for i in $(seq 1 60); do
        mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping --silent >/dev/null 2>&1 && break
        [ "$i" -lt 60 ] || die "the temporary server did not start within 60 s"
        sleep 1
    done

    local rootpw userpw
    rootpw=$(sql_escape "$MYSQL_ROOT_PASSWORD")
    userpw=$(sql_escape "$MYSQL_PASSWORD")
    log "creating database '$MYSQL_DATABASE', user '$MYSQL_USER', setting the root password"
    mariadb --protocol=socket --socket="$SOCKET" -uroot --batch <<SQL || die "setting up users and database failed"
-- mariadb-install-db also made root@<container hostname> (and its proxy
-- grant) and anonymous users: keep root on localhost/loopback only.
DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY '${rootpw}';
CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '${rootpw}';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE OR REPLACE USER 'root'@'::1' IDENTIFIED BY '${rootpw}';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'::1' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE OR REPLACE USER '${MYSQL_USER}'@'%' IDENTIFIED BY '${userpw}';
GRANT ALL PRIVILEGES ON \`${MYSQL_DATABASE}\`.* TO '${MYSQL_USER}'@'%';
FLUSH PRIVILEGES;
SQL

    local f
    shopt -s nullglob
    for f in "$INITDIR"/*; do
        case "$f" in
            *.sql)
                log "running $f"
                sed -e "s/@MYSQL_USER@/${MYSQL_USER}/g" -e "s/@MYSQL_DATABASE@/${MYSQL_DATABASE}/g" "$f" \
                    | MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb --protocol=socket --socket="$SOCKET" \
                        -uroot --batch "$MYSQL_DATABASE" \
                    || die "$f failed"
                ;;
            *) log "ignoring $f (only *.sql files are run)" ;;
        esac
    done
    shopt -u nullglob

    log "stopping the temporary server"
    MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb-admin --protocol=socket --socket="$SOCKET" -uroot shutdown \
        || die "could not stop the temporary server"
    wait || true
    rm -f "$MARKER"
    log "initialization done"
}

if [ ! -d "$DATADIR/mysql" ]; then
    initialize
fi

log "starting mariadbd"
exec mariadbd --user=mysql --datadir="$DATADIR" "$@"
