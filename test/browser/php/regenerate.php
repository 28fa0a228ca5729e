<?php // What an app does after login: a new session ID, the old session deleted.
session_start();
session_regenerate_id(true);
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(['regenerated' => true]);
