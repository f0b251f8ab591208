#!/bin/sh
# php_upload: make sure the uploads volume is writable by the PHP workers
# (a fresh named volume may have been created root-owned by another image),
# then run PHP-FPM in the foreground as PID 1 (SIGQUIT = graceful stop).
set -eu
mkdir -p /run/php
dir=/var/www/uploads
if [ "$(stat -c %U "$dir")" != www-data ]; then
    echo "extagram-upload: chown www-data $dir" >&2
    chown www-data:www-data "$dir"
fi
chmod 0755 "$dir"
exec php-fpm8.2 --nodaemonize --force-stderr
