<?php
// Container healthcheck for nginx_app (curl http://127.0.0.1/healthz.php):
// nginx -> PHP-FPM -> MariaDB, reading the same table the feed reads, so the
// replica is only healthy when it can really serve `/`.
declare(strict_types=1);
require __DIR__ . '/../lib/common.php';

header('Content-Type: text/plain; charset=utf-8');
header('Cache-Control: no-store');
try {
    db()->query('SELECT 1 FROM posts LIMIT 1')->fetchAll();
    http_response_code(200);
    echo "ok\n";
} catch (Throwable $e) {
    error_log('extagram healthz: ' . $e->getMessage());
    http_response_code(503);
    echo "database unavailable\n";
}
