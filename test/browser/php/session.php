<?php // session.php
if (isset($_COOKIE[session_name()])) session_start(['read_and_close' => true]);
header('Content-Type: application/json');
header('Cache-Control: no-store');
$id = session_id();
$tag = $id === '' ? null : rtrim(strtr(base64_encode(hash_hmac('sha256', $id, getenv('SESSION_TAG_SECRET'), true)), '+/', '-_'), '=');
echo json_encode(['tag' => $tag]);
