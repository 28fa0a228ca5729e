<?php
// Router for PHP's built-in server (php -S 127.0.0.1:PORT -t test/browser/php router.php), started
// by test/browser/php-server.mjs. It serves the test page, its helpers and the BUILT bundle from the
// paths in VISITSTORE_PAGE, VISITSTORE_HELPERS and VISITSTORE_IIFE; everything else (start.php,
// regenerate.php, logout.php, session.php) is left to the built-in server (return false).
$files = [
    '/' => ['VISITSTORE_PAGE', 'text/html; charset=utf-8'],
    '/page.html' => ['VISITSTORE_PAGE', 'text/html; charset=utf-8'],
    '/helpers.js' => ['VISITSTORE_HELPERS', 'text/javascript; charset=utf-8'],
    '/visitstore.iife.js' => ['VISITSTORE_IIFE', 'text/javascript; charset=utf-8'],
];
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path === '/favicon.ico') {
    http_response_code(204);
    return true;
}
if (!isset($files[$path])) {
    return false;
}
[$variable, $type] = $files[$path];
header('Content-Type: ' . $type);
header('Cache-Control: no-store');
readfile(getenv($variable));
