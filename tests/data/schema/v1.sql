-- meta.db at schema version 1, as customs shipped it (see SOURCE.md).
-- migration 0 -> 1
CREATE TABLE repositories ( name TEXT PRIMARY KEY, created INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE repo_blobs ( repo TEXT NOT NULL REFERENCES repositories(name), digest TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX repo_blobs_by_digest ON repo_blobs(digest);
CREATE TABLE manifests ( repo TEXT NOT NULL REFERENCES repositories(name), digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL, subject TEXT, artifact_type TEXT, annotations_json TEXT, created INTEGER NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE INDEX manifests_by_subject ON manifests(repo, subject) WHERE subject IS NOT NULL;
CREATE INDEX manifests_by_digest ON manifests(digest);
CREATE TABLE tags ( repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (repo, tag), FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest)  ON DELETE CASCADE) WITHOUT ROWID;
CREATE INDEX tags_by_manifest ON tags(repo, digest);
CREATE TABLE manifest_refs ( repo TEXT NOT NULL, digest TEXT NOT NULL, child TEXT NOT NULL, PRIMARY KEY (repo, digest, child), FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest)  ON DELETE CASCADE) WITHOUT ROWID;
CREATE INDEX manifest_refs_by_child ON manifest_refs(child);
CREATE TABLE uploads ( id TEXT PRIMARY KEY, repo TEXT NOT NULL REFERENCES repositories(name), created INTEGER NOT NULL, updated INTEGER NOT NULL, received INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE scan_jobs ( digest TEXT PRIMARY KEY, repo TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued'  CHECK (state IN ('queued', 'running', 'done', 'failed')), attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX scan_jobs_by_state ON scan_jobs(state, created);

PRAGMA user_version = 1;
-- rows: one image, tagged, a scan job, an open upload
INSERT INTO repositories VALUES ('library/old', 1700000000);
INSERT INTO repo_blobs VALUES ('library/old', 'sha256:c5b1d63604f273462ef36fadac3182d43ae6a6138731cf594b314835cf1c034f', 1700000000);
INSERT INTO repo_blobs VALUES ('library/old', 'sha256:22399124cc66d424e7fa18ad5654d04f5ebcf363bcff2cdaf942ec9cb7af8018', 1700000000);
INSERT INTO manifests VALUES ('library/old', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'application/vnd.oci.image.manifest.v1+json', 394, NULL, NULL, NULL, 1700000000);
INSERT INTO tags VALUES ('library/old', 'v1', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 1700000000);
INSERT INTO manifest_refs VALUES ('library/old', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'sha256:c5b1d63604f273462ef36fadac3182d43ae6a6138731cf594b314835cf1c034f');
INSERT INTO manifest_refs VALUES ('library/old', 'sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'sha256:22399124cc66d424e7fa18ad5654d04f5ebcf363bcff2cdaf942ec9cb7af8018');
INSERT INTO uploads VALUES ('0b6e4c8e-1f2a-4d3b-9c4d-5e6f7a8b9c0d', 'library/old', 1700000000, 1700000000, 0);
INSERT INTO scan_jobs (digest, repo, state, attempts, created, updated) VALUES ('sha256:1e4703ff47455315be103d21cb30dd1a5200dca151d49ba7d2d48d1ae636935c', 'library/old', 'done', 1, 1700000000, 1700000000);
