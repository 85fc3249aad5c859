-- Rows of every schema version: one image tagged v1 (a config, a layer and
-- the manifest that lists them), its scan job, an open upload session.
INSERT INTO repositories VALUES ('library/old', 1700000000);
INSERT INTO repo_blobs VALUES ('library/old', 'sha256:c5b1d63604f273462ef36fadac3182d43ae6a6138731cf594b314835cf1c034f', 1700000000);
INSERT INTO repo_blobs VALUES ('library/old', 'sha256:22399124cc66d424e7fa18ad5654d04f5ebcf363bcff2cdaf942ec9cb7af8018', 1700000000);
INSERT INTO manifests VALUES ('library/old', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'application/vnd.oci.image.manifest.v1+json', 394, NULL, NULL, NULL, 1700000000);
INSERT INTO tags VALUES ('library/old', 'v1', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 1700000000);
INSERT INTO manifest_refs VALUES ('library/old', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'sha256:c5b1d63604f273462ef36fadac3182d43ae6a6138731cf594b314835cf1c034f');
INSERT INTO manifest_refs VALUES ('library/old', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'sha256:22399124cc66d424e7fa18ad5654d04f5ebcf363bcff2cdaf942ec9cb7af8018');
INSERT INTO uploads VALUES ('0b6e4c8e-1f2a-4d3b-9c4d-5e6f7a8b9c0d', 'library/old', 1700000000, 1700000000, 0);
INSERT INTO scan_jobs (digest, repo, state, attempts, created, updated) VALUES ('sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'library/old', 'done', 1, 1700000000, 1700000000);
