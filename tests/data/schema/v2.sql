-- Schema version 2: migration 1 -> 2 as customs shipped it (see SOURCE.md).
CREATE TABLE scan_jobs_v2 ( digest TEXT PRIMARY KEY, repo TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued'  CHECK (state IN ('queued', 'running', 'waiting', 'done',   'failed')), attempts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, updated INTEGER NOT NULL, prio INTEGER NOT NULL DEFAULT 0, gen INTEGER NOT NULL DEFAULT 0, not_before INTEGER NOT NULL DEFAULT 0, lease INTEGER NOT NULL DEFAULT 0, error TEXT) WITHOUT ROWID;
INSERT INTO scan_jobs_v2 (digest, repo, state, attempts, created, updated) SELECT digest, repo, state, attempts, created, updated FROM scan_jobs;
DROP TABLE scan_jobs;
ALTER TABLE scan_jobs_v2 RENAME TO scan_jobs;
CREATE INDEX scan_jobs_by_state ON scan_jobs(state, prio, created);
CREATE TABLE scan_results ( digest TEXT PRIMARY KEY, report TEXT NOT NULL, findings TEXT NOT NULL, db_version TEXT, checked_db TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;
