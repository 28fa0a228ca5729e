<?php // Ends the session on the server and removes the PHPSESSID cookie.
session_start();
$_SESSION = [];
session_destroy();
$params = session_get_cookie_params();
setcookie(session_name(), '', ['expires' => 1, 'path' => $params['path']]);
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(['ended' => true]);
