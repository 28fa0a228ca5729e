<?php // Starts (or continues) a native PHP session: sets PHPSESSID, readable by script (httponly off).
session_start();
$_SESSION['visits'] = ($_SESSION['visits'] ?? 0) + 1;
header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode(['visits' => $_SESSION['visits']]);
