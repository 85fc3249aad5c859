-- Schema version 1: migration 0 -> 1 as customs shipped it (see SOURCE.md).
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
