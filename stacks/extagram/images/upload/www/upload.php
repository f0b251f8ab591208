<?php
// Extagram upload handler, run by PHP-FPM in the php_upload container.
// nginx_proxy sends POST /upload.php here over FastCGI (SCRIPT_FILENAME is
// fixed to this file, so no other script can be reached through the proxy).
//
// Accepts one photo (PNG, JPEG, GIF or WebP, judged by its bytes, not by the
// client's file name or Content-Type) up to 10 MiB and a caption of 1-500
// characters; stores it under a random name in /var/www/uploads, records it
// with a prepared statement and redirects (303) to the feed.
declare(strict_types=1);
require __DIR__ . '/../lib/common.php';

/** Detected image type => file extension. Nothing else is accepted. */
const ALLOWED_TYPES = [
    IMAGETYPE_PNG  => ['png',  'image/png'],
    IMAGETYPE_JPEG => ['jpg',  'image/jpeg'],
    IMAGETYPE_GIF  => ['gif',  'image/gif'],
    IMAGETYPE_WEBP => ['webp', 'image/webp'],
];

function ini_bytes(string $name): int
{
    $v = trim((string) ini_get($name));
    $n = (int) $v;
    return match (strtolower(substr($v, -1))) {
        'g' => $n * 1024 ** 3,
        'm' => $n * 1024 ** 2,
        'k' => $n * 1024,
        default => $n,
    };
}

if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    header('Allow: POST');
    fail(405, 'Method not allowed', 'Use the form on the feed page to upload a photo.');
}

// A body over post_max_size leaves $_POST and $_FILES empty.
$length = (int) ($_SERVER['CONTENT_LENGTH'] ?? 0);
$postMax = ini_bytes('post_max_size');
if ($postMax > 0 && $length > $postMax && !$_FILES && !$_POST) {
    fail(413, 'Photo too large', 'Photos can be at most 10 MiB.');
}

// Caption: required, valid UTF-8, at most 500 characters.
$caption = $_POST['caption'] ?? null;
if (!is_string($caption) || trim($caption) === '') {
    fail(400, 'Caption required', 'Please write a caption for your photo.');
}
$caption = trim($caption);
if (!preg_match('/^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]{1,' . EXTAGRAM_MAX_CAPTION_CHARS . '}$/u', $caption)) {
    if (preg_match('//u', $caption) !== 1) {
        fail(400, 'Invalid caption', 'The caption is not valid UTF-8 text.');
    }
    if (preg_match('/[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/', $caption)) {
        fail(400, 'Invalid caption', 'The caption contains control characters.');
    }
    fail(400, 'Caption too long', 'Captions can be at most ' . EXTAGRAM_MAX_CAPTION_CHARS . ' characters.');
}

// The photo: exactly one file in the `photo` field.
$file = $_FILES['photo'] ?? null;
if (!is_array($file) || !is_int($file['error'] ?? null)) {
    fail(400, 'Photo required', 'Please choose one photo to upload.');
}
switch ($file['error']) {
    case UPLOAD_ERR_OK:
        break;
    case UPLOAD_ERR_INI_SIZE:
    case UPLOAD_ERR_FORM_SIZE:
        fail(413, 'Photo too large', 'Photos can be at most 10 MiB.');
    case UPLOAD_ERR_NO_FILE:
        fail(400, 'Photo required', 'Please choose a photo to upload.');
    case UPLOAD_ERR_PARTIAL:
        fail(400, 'Upload interrupted', 'The photo was only partly received. Please try again.');
    default:
        error_log('extagram upload: PHP upload error ' . $file['error']);
        fail(500, 'Upload failed', 'The server could not receive the photo. Please try again later.');
}
$tmp = (string) $file['tmp_name'];
if (!is_uploaded_file($tmp)) {
    fail(400, 'Photo required', 'Please choose a photo to upload.');
}
$size = filesize($tmp);
if ($size === false || $size === 0) {
    fail(400, 'Empty file', 'The photo is empty.');
}
if ($size > EXTAGRAM_MAX_PHOTO_BYTES) {
    fail(413, 'Photo too large', 'Photos can be at most 10 MiB.');
}

// Judge the bytes: getimagesize() parses the header, finfo checks the magic;
// both must agree on one of the allowed types.
$info = @getimagesize($tmp);
$type = is_array($info) ? ($info[2] ?? null) : null;
if (!isset(ALLOWED_TYPES[$type]) || ($info[0] ?? 0) < 1 || ($info[1] ?? 0) < 1) {
    fail(415, 'Not a supported image', 'Only PNG, JPEG, GIF and WebP images can be uploaded.');
}
[$ext, $mime] = ALLOWED_TYPES[$type];
$detected = (new finfo(FILEINFO_MIME_TYPE))->file($tmp);
if ($detected !== $mime) {
    fail(415, 'Not a supported image', 'Only PNG, JPEG, GIF and WebP images can be uploaded.');
}

// Random name; the directory is fixed, so nothing from the client reaches the path.
$name = bin2hex(random_bytes(16)) . '.' . $ext;
$dest = EXTAGRAM_UPLOAD_DIR . '/' . $name;
if (!move_uploaded_file($tmp, $dest)) {
    error_log("extagram upload: cannot move the upload to $dest");
    fail(500, 'Upload failed', 'The photo could not be stored. Please try again later.');
}
@chmod($dest, 0644);

try {
    $stmt = db()->prepare('INSERT INTO posts (caption, image_path) VALUES (?, ?)');
    $stmt->execute([$caption, $name]);
} catch (Throwable $e) {
    @unlink($dest);
    error_log('extagram upload: database error: ' . $e->getMessage());
    fail(500, 'Upload failed', 'The post could not be saved. Please try again later.');
}

http_response_code(303);
header('Location: /');
header('Content-Type: text/plain; charset=utf-8');
echo "Uploaded. See /\n";
