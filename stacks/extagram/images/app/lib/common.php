<?php
// Extagram: helpers shared by nginx_app (feed) and php_upload (upload.php).
//
// This file exists twice, identical, in images/app/lib/ and images/upload/lib/:
// each image is built from its own context (compose `build.context`), and a
// Docker build cannot read files outside its context. The build script
// (scripts/build-extagram-images.sh) refuses to build if the copies differ.
// Installed at /var/www/lib/common.php, outside the nginx document root.

declare(strict_types=1);

const EXTAGRAM_UPLOAD_DIR = '/var/www/uploads';
const EXTAGRAM_MAX_PHOTO_BYTES = 10 * 1024 * 1024;   // 10 MiB
const EXTAGRAM_MAX_CAPTION_CHARS = 500;              // posts.caption VARCHAR(500)

/** Escape for HTML text and attribute values. */
function h(string $s): string
{
    return htmlspecialchars($s, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5, 'UTF-8');
}

function env_or(string $name, string $default): string
{
    $v = getenv($name);
    return ($v === false || $v === '') ? $default : $v;
}

function app_version(): string
{
    return env_or('APP_VERSION', '1');
}

/**
 * PDO connection to MariaDB from DB_HOST / DB_NAME / DB_USER / DB_PASSWORD.
 * Throws PDOException when the database cannot be reached.
 */
function db(): PDO
{
    static $pdo = null;
    if ($pdo instanceof PDO) {
        return $pdo;
    }
    $password = getenv('DB_PASSWORD');
    if ($password === false || $password === '') {
        throw new RuntimeException('DB_PASSWORD is not set');
    }
    $dsn = sprintf(
        'mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4',
        env_or('DB_HOST', 'mysql_db'),
        (int) env_or('DB_PORT', '3306'),
        env_or('DB_NAME', 'extagram')
    );
    $pdo = new PDO($dsn, env_or('DB_USER', 'extagram'), $password, [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
        PDO::ATTR_EMULATE_PREPARES => false,
        PDO::ATTR_TIMEOUT => 3,
    ]);
    return $pdo;
}

/** Common response headers for HTML pages. */
function send_page_headers(int $status): void
{
    http_response_code($status);
    header('Content-Type: text/html; charset=utf-8');
    header('X-Content-Type-Options: nosniff');
    header('Referrer-Policy: same-origin');
    header("Content-Security-Policy: default-src 'self'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
}

function page_top(string $title): string
{
    return '<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>' . h($title) . '</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header class="top"><a href="/"><img src="/static/logo.svg" alt="" width="32" height="32"> Extagram</a></header>
<main>
';
}

function page_bottom(): string
{
    $host = (string) gethostname();
    return '</main>
<footer>Extagram v' . h(app_version()) . ' &middot; served by <span class="host">' . h($host) . '</span></footer>
<!-- extagram version=' . h(app_version()) . ' host=' . h($host) . ' -->
</body>
</html>
';
}

/** Send a complete error page and stop. */
function fail(int $status, string $title, string $message): never
{
    send_page_headers($status);
    echo page_top($title),
        '<section class="error"><h1>', h($title), '</h1><p>', h($message), '</p>',
        '<p><a href="/">Back to the feed</a></p></section>', "\n",
        page_bottom();
    exit;
}
