-- Rows from schema version 2 on: the image's scan result.
INSERT INTO scan_results VALUES ('sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', '{"packages":[]}', '[]', NULL, NULL, 1700000000, 1700000000);
