-- Schema version 3: migration 2 -> 3 as customs shipped it (see SOURCE.md).
ALTER TABLE uploads ADD COLUMN client TEXT;
CREATE INDEX uploads_by_repo ON uploads(repo);
CREATE INDEX uploads_by_client ON uploads(client) WHERE client IS NOT NULL;
CREATE TABLE blob_sizes ( digest TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
