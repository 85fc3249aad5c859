/* meta_sqlite.c: metadata rows in DIR/meta.db (sqlite3, WAL).
 *
 * Connections are pooled: an operation borrows one (opening a new one when
 * none is idle), so each is used by one thread at a time and sqlite runs in
 * its multi-thread mode.  Each connection caches its prepared statements,
 * indexed by enum sq_q.  Writes of more than one statement run inside
 * BEGIN IMMEDIATE, which takes the write lock up front (waiting up to the
 * busy timeout) instead of failing when a read turns into a write.
 *
 * The schema carries its version in PRAGMA user_version; sq_migrations[i]
 * takes it from version i to i + 1.
 */
#include "storage/sqlite_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/banned.h"

static const char *const sq_migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE repositories ("
	" name TEXT PRIMARY KEY,"
	" created INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE repo_blobs ("
	" repo TEXT NOT NULL REFERENCES repositories(name),"
	" digest TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (repo, digest)"
	") WITHOUT ROWID;"
	"CREATE INDEX repo_blobs_by_digest ON repo_blobs(digest);"
	"CREATE TABLE manifests ("
	" repo TEXT NOT NULL REFERENCES repositories(name),"
	" digest TEXT NOT NULL,"
	" media_type TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" subject TEXT,"
	" artifact_type TEXT,"
	" annotations_json TEXT,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (repo, digest)"
	") WITHOUT ROWID;"
	"CREATE INDEX manifests_by_subject ON manifests(repo, subject)"
	" WHERE subject IS NOT NULL;"
	"CREATE INDEX manifests_by_digest ON manifests(digest);"
	"CREATE TABLE tags ("
	" repo TEXT NOT NULL,"
	" tag TEXT NOT NULL,"
	" digest TEXT NOT NULL,"
	" updated INTEGER NOT NULL,"
	" PRIMARY KEY (repo, tag),"
	" FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest)"
	"  ON DELETE CASCADE"
	") WITHOUT ROWID;"
	"CREATE INDEX tags_by_manifest ON tags(repo, digest);"
	"CREATE TABLE manifest_refs ("
	" repo TEXT NOT NULL,"
	" digest TEXT NOT NULL,"
	" child TEXT NOT NULL,"
	" PRIMARY KEY (repo, digest, child),"
	" FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest)"
	"  ON DELETE CASCADE"
	") WITHOUT ROWID;"
	"CREATE INDEX manifest_refs_by_child ON manifest_refs(child);"
	"CREATE TABLE uploads ("
	" id TEXT PRIMARY KEY,"
	" repo TEXT NOT NULL REFERENCES repositories(name),"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" received INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE TABLE scan_jobs ("
	" digest TEXT PRIMARY KEY,"
	" repo TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued'"
	"  CHECK (state IN ('queued', 'running', 'done', 'failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX scan_jobs_by_state ON scan_jobs(state, created);",
	/* 1 -> 2: the scan queue gets priorities, leases, generations,
	 * retries and a waiting state (an index whose platforms are still
	 * being scanned); results get a table.  A CHECK cannot be altered,
	 * so the jobs table is rebuilt. */
	"CREATE TABLE scan_jobs_v2 ("
	" digest TEXT PRIMARY KEY,"
	" repo TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued'"
	"  CHECK (state IN ('queued', 'running', 'waiting', 'done',"
	"   'failed')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" prio INTEGER NOT NULL DEFAULT 0,"
	" gen INTEGER NOT NULL DEFAULT 0,"
	" not_before INTEGER NOT NULL DEFAULT 0,"
	" lease INTEGER NOT NULL DEFAULT 0,"
	" error TEXT"
	") WITHOUT ROWID;"
	"INSERT INTO scan_jobs_v2 (digest, repo, state, attempts, created,"
	" updated) SELECT digest, repo, state, attempts, created, updated"
	" FROM scan_jobs;"
	"DROP TABLE scan_jobs;"
	"ALTER TABLE scan_jobs_v2 RENAME TO scan_jobs;"
	"CREATE INDEX scan_jobs_by_state ON scan_jobs(state, prio, created);"
	"CREATE TABLE scan_results ("
	" digest TEXT PRIMARY KEY,"
	" report TEXT NOT NULL,"
	" findings TEXT NOT NULL,"
	" db_version TEXT,"
	" checked_db TEXT,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL"
	") WITHOUT ROWID;",
	/* 2 -> 3: who opened an upload session (to bound sessions per
	 * client and per repository), and the size of each blob as its
	 * verified upload had it (a file of another size is damaged). */
	"ALTER TABLE uploads ADD COLUMN client TEXT;"
	"CREATE INDEX uploads_by_repo ON uploads(repo);"
	"CREATE INDEX uploads_by_client ON uploads(client)"
	" WHERE client IS NOT NULL;"
	"CREATE TABLE blob_sizes ("
	" digest TEXT PRIMARY KEY,"
	" size INTEGER NOT NULL"
	") WITHOUT ROWID;",
};

#define SQ_VERSION ((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))


/* What each query does (for error messages) and its SQL. */
const struct sq_query sq_queries[SQ__COUNT] = {
	[SQ_REPO_ADD] = { "add repository",
			  "INSERT INTO repositories (name, created)"
			  " VALUES (?1, ?2) ON CONFLICT DO NOTHING" },
	[SQ_REPO_EXISTS] = { "find repository",
			     "SELECT 1 FROM repositories WHERE name = ?1" },
	[SQ_BLOB_LINKED] = { "find blob link",
			     "SELECT 1 FROM repo_blobs"
			     " WHERE repo = ?1 AND digest = ?2" },
	[SQ_BLOB_LINK] = { "link blob",
			   "INSERT INTO repo_blobs (repo, digest, created)"
			   " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING" },
	[SQ_BLOB_UNLINK] = { "unlink blob",
			     "DELETE FROM repo_blobs"
			     " WHERE repo = ?1 AND digest = ?2" },
	[SQ_UP_ADD] = { "add upload",
			"INSERT INTO uploads (id, repo, created, updated,"
			" client) VALUES (?1, ?2, ?3, ?3, ?4)" },
	[SQ_UP_COUNT_REPO] = { "count uploads",
			       "SELECT count(*) FROM uploads"
			       " WHERE repo = ?1" },
	[SQ_UP_COUNT_CLIENT] = { "count uploads",
				 "SELECT count(*) FROM uploads"
				 " WHERE client = ?1" },
	[SQ_BLOB_SIZE_PUT] = { "record blob size",
			       "INSERT INTO blob_sizes (digest, size)"
			       " VALUES (?1, ?2) ON CONFLICT DO UPDATE"
			       " SET size = excluded.size" },
	[SQ_BLOB_SIZE_GET] = { "find blob size",
			       "SELECT size FROM blob_sizes WHERE digest = ?1"
			       " UNION ALL SELECT size FROM manifests"
			       " WHERE digest = ?1 LIMIT 1" },
	[SQ_UP_FIND] = { "find upload",
			 "SELECT 1 FROM uploads WHERE id = ?1 AND repo = ?2" },
	[SQ_UP_TOUCH] = { "update upload",
			  "UPDATE uploads SET received = ?2, updated = ?3"
			  " WHERE id = ?1" },
	[SQ_UP_DEL] = { "delete upload",
			"DELETE FROM uploads WHERE id = ?1 AND repo = ?2" },
	[SQ_MF_PUT] = { "store manifest",
			"INSERT INTO manifests (repo, digest, media_type, size,"
			" subject, artifact_type, annotations_json, created)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			" ON CONFLICT (repo, digest) DO UPDATE SET"
			" media_type = excluded.media_type,"
			" size = excluded.size, subject = excluded.subject,"
			" artifact_type = excluded.artifact_type,"
			" annotations_json = excluded.annotations_json" },
	[SQ_REFS_DEL] = { "clear manifest refs",
			  "DELETE FROM manifest_refs"
			  " WHERE repo = ?1 AND digest = ?2" },
	[SQ_REF_ADD] = { "add manifest ref",
			 "INSERT INTO manifest_refs (repo, digest, child)"
			 " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING" },
	[SQ_TAG_PUT] = { "set tag",
			 "INSERT INTO tags (repo, tag, digest, updated)"
			 " VALUES (?1, ?2, ?3, ?4)"
			 " ON CONFLICT (repo, tag) DO UPDATE SET"
			 " digest = excluded.digest,"
			 " updated = excluded.updated" },
	/* A manifest pushed again re-arms its job: a failed one is scanned
	 * again; a done one only puts its report into the repository it
	 * was pushed to (the worker sees the result and reads no layer);
	 * a waiting one (an index) is queued to look at its platforms
	 * anew (one may have come in without waking it: a pull-through
	 * cache records a platform under its index only after storing
	 * it); a queued or running one gets a new generation, so it is
	 * queued once more when it finishes.  Pushes come before
	 * re-matches (prio 0). */
	[SQ_SCAN_ADD] = { "enqueue scan",
			  "INSERT INTO scan_jobs (digest, repo, state,"
			  " attempts, created, updated)"
			  " VALUES (?1, ?2, 'queued', 0, ?3, ?3)"
			  " ON CONFLICT (digest) DO UPDATE SET"
			  " repo = excluded.repo,"
			  " state = CASE WHEN state IN ('done', 'failed',"
			  "  'waiting') THEN 'queued' ELSE state END,"
			  " attempts = CASE WHEN state IN ('done', 'failed')"
			  "  THEN 0 ELSE attempts END,"
			  " error = CASE WHEN state = 'failed' THEN NULL"
			  "  ELSE error END,"
			  " prio = 0, not_before = 0, gen = gen + 1,"
			  " updated = excluded.updated" },
	[SQ_MF_BY_TAG] = { "find manifest by tag",
			   "SELECT m.digest, m.media_type, m.size"
			   " FROM tags t JOIN manifests m"
			   " ON m.repo = t.repo AND m.digest = t.digest"
			   " WHERE t.repo = ?1 AND t.tag = ?2" },
	[SQ_MF_BY_DIGEST] = { "find manifest",
			      "SELECT digest, media_type, size FROM manifests"
			      " WHERE repo = ?1 AND digest = ?2" },
	[SQ_MF_TAGS_DEL] = { "delete manifest tags",
			     "DELETE FROM tags"
			     " WHERE repo = ?1 AND digest = ?2" },
	[SQ_MF_DEL] = { "delete manifest",
			"DELETE FROM manifests"
			" WHERE repo = ?1 AND digest = ?2" },
	[SQ_TAG_DEL] = { "delete tag",
			 "DELETE FROM tags WHERE repo = ?1 AND tag = ?2" },
	[SQ_TAGS] = { "list tags",
		      "SELECT tag FROM tags WHERE repo = ?1 AND tag > ?2"
		      " ORDER BY tag LIMIT ?3" },
	[SQ_CATALOG] = { "list repositories",
			 "SELECT name FROM repositories WHERE name > ?1"
			 " ORDER BY name LIMIT ?2" },
	[SQ_REFERRERS] = { "list referrers",
			   "SELECT digest, media_type, size, artifact_type,"
			   " annotations_json FROM manifests"
			   " WHERE repo = ?1 AND subject = ?2"
			   " AND (?3 IS NULL OR artifact_type = ?3)"
			   " ORDER BY created, digest" },

	/* --- The scan queue (scan_sqlite.c) --- */
	[SQ_MF_REPOS] = { "list repositories of manifest",
			  "SELECT DISTINCT repo FROM manifests"
			  " WHERE digest = ?1 ORDER BY repo" },
	[SQ_SCAN_ADD_CHILD] = { "enqueue platform scan",
				"INSERT INTO scan_jobs (digest, repo, state,"
				" attempts, created, updated, prio)"
				" VALUES (?1, ?2, 'queued', 0, ?3, ?3, ?4)"
				" ON CONFLICT (digest) DO NOTHING" },
	/* RETURNING: the row is changed by the first step. */
	[SQ_SCAN_CLAIM] = { "claim scan job",
			    "UPDATE scan_jobs SET state = 'running',"
			    " attempts = attempts + 1, lease = ?2,"
			    " updated = ?1"
			    " WHERE digest = (SELECT digest FROM scan_jobs"
			    "  WHERE state = 'queued' AND not_before <= ?1"
			    "  ORDER BY prio, created LIMIT 1)"
			    " RETURNING digest, repo, gen, attempts" },
	[SQ_SCAN_CLAIM_STALE] = { "claim stale scan job",
				  "UPDATE scan_jobs SET state = 'running',"
				  " attempts = attempts + 1, lease = ?2,"
				  " updated = ?1"
				  " WHERE digest = (SELECT digest"
				  "  FROM scan_jobs WHERE state = 'running'"
				  "  AND lease < ?1 ORDER BY lease LIMIT 1)"
				  " RETURNING digest, repo, gen, attempts" },
	[SQ_SCAN_RECOVER] = { "recover scan jobs",
			      "UPDATE scan_jobs SET"
			      " state = CASE WHEN attempts >= ?2"
			      "  THEN 'failed' ELSE 'queued' END,"
			      " error = CASE WHEN attempts >= ?2"
			      "  THEN 'scan interrupted ' || attempts ||"
			      "  ' times' ELSE error END,"
			      " lease = 0, updated = ?1"
			      " WHERE state = 'running'" },
	[SQ_SCAN_RESULT_PUT] = { "store scan result",
				 "INSERT INTO scan_results (digest, report,"
				 " findings, db_version, checked_db, created,"
				 " updated)"
				 " SELECT ?1, ?2, ?3, ?4, ?4, ?5, ?5"
				 " WHERE EXISTS (SELECT 1 FROM scan_jobs"
				 "  WHERE digest = ?1)"
				 " ON CONFLICT (digest) DO UPDATE SET"
				 " report = excluded.report,"
				 " findings = excluded.findings,"
				 " db_version = excluded.db_version,"
				 " checked_db = excluded.checked_db,"
				 " updated = excluded.updated" },
	[SQ_SCAN_CHECKED] = { "note scan re-match",
			      "UPDATE scan_results SET checked_db = ?2"
			      " WHERE digest = ?1" },
	[SQ_SCAN_DONE] = { "finish scan job",
			   "UPDATE scan_jobs SET"
			   " state = CASE WHEN gen = ?2 THEN 'done'"
			   "  ELSE 'queued' END,"
			   " attempts = 0, lease = 0, not_before = 0,"
			   " error = NULL, updated = ?3"
			   " WHERE digest = ?1 AND state = 'running'" },
	[SQ_SCAN_WAKE_PARENTS] = { "wake index scans",
				   "UPDATE scan_jobs SET state = 'queued',"
				   " updated = ?2"
				   " WHERE state = 'waiting' AND digest IN"
				   " (SELECT digest FROM manifest_refs"
				   "  WHERE child = ?1)" },
	[SQ_SCAN_FAIL] = { "fail scan job",
			   "UPDATE scan_jobs SET state = ?2,"
			   " not_before = ?3, error = ?4, lease = 0,"
			   " updated = ?5"
			   " WHERE digest = ?1 AND state = 'running'" },
	[SQ_SCAN_WAIT] = { "park index scan",
			   "UPDATE scan_jobs SET state = 'waiting',"
			   " attempts = 0, lease = 0, updated = ?2"
			   " WHERE digest = ?1 AND state = 'running'" },
	[SQ_SCAN_CHILD_STATE] = { "read platform scan state",
				  "SELECT state FROM scan_jobs"
				  " WHERE digest = ?1" },
	[SQ_SCAN_GET] = { "read scan",
			  "SELECT j.state, j.attempts, j.error,"
			  " r.digest IS NOT NULL,"
			  " CASE WHEN ?2 THEN r.report END, r.findings,"
			  " r.db_version, r.checked_db, r.updated"
			  " FROM (SELECT ?1 AS digest) k"
			  " LEFT JOIN scan_jobs j ON j.digest = k.digest"
			  " LEFT JOIN scan_results r ON r.digest = k.digest" },
	[SQ_SCAN_FORGET_JOB] = { "forget scan job",
				 "DELETE FROM scan_jobs WHERE digest = ?1"
				 " AND NOT EXISTS (SELECT 1 FROM manifests"
				 "  WHERE digest = ?1)" },
	[SQ_SCAN_FORGET_RESULT] = { "forget scan result",
				    "DELETE FROM scan_results"
				    " WHERE digest = ?1"
				    " AND NOT EXISTS (SELECT 1 FROM manifests"
				    "  WHERE digest = ?1)" },
	/* Done jobs whose result was not matched against DB ?2 are queued
	 * behind any push (prio 1); running and waiting ones get a new
	 * generation so they run once more. */
	[SQ_SCAN_REARM] = { "re-arm scans",
			    "UPDATE scan_jobs SET"
			    " state = CASE WHEN state = 'done' THEN 'queued'"
			    "  ELSE state END,"
			    " prio = CASE WHEN state = 'done' THEN 1"
			    "  ELSE prio END,"
			    " gen = gen + 1, updated = ?1"
			    " WHERE state IN ('running', 'waiting')"
			    " OR (state = 'done' AND digest IN"
			    "  (SELECT digest FROM scan_results"
			    "   WHERE checked_db IS NOT ?2))" },
	[SQ_SCAN_STATS] = { "count scans",
			    "SELECT state, count(*) FROM scan_jobs"
			    " GROUP BY state UNION ALL"
			    " SELECT 'results', count(*) FROM scan_results" },
};

struct sq *sq_of(struct stor_meta *m)
{
	return (struct sq *)m;
}

/* sqlite's message goes into the detail, which only the log sees. */
int sq_fail(sqlite3 *db, const char *what, struct err *e)
{
	int rc = sqlite3_errcode(db);

	return err_set(e, rc == SQLITE_FULL ? ERR_NOSPACE : ERR_DB,
		       "meta.db: %s: %s", what, sqlite3_errmsg(db));
}

static void sq_conn_free(struct sq_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < SQ__COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

static struct sq_conn *sq_conn_open(struct sq *sq, struct err *e)
{
	static const char pragmas[] = "PRAGMA foreign_keys = ON;"
				      "PRAGMA synchronous = FULL;";
	struct sq_conn *c = xcalloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX;

	if (sqlite3_open_v2(sq->path, &c->db, flags, NULL) != SQLITE_OK) {
		if (c->db)
			sq_fail(c->db, "open", e);
		else
			err_set(e, ERR_DB, "meta.db: cannot open %s",
				sq->path);
		goto fail;
	}
	sqlite3_busy_timeout(c->db, SQ_BUSY_MS);
	if (sqlite3_exec(c->db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		sq_fail(c->db, "set pragmas", e);
		goto fail;
	}
	return c;
fail:
	sq_conn_free(c);
	return NULL;
}

/* Borrows a connection; give it back with sq_put(). */
struct sq_conn *sq_get(struct sq *sq, struct err *e)
{
	struct sq_conn *c;

	pthread_mutex_lock(&sq->lock);
	c = sq->idle;
	if (c)
		sq->idle = c->next;
	pthread_mutex_unlock(&sq->lock);
	return c ? c : sq_conn_open(sq, e);
}

void sq_put(struct sq *sq, struct sq_conn *c)
{
	if (!c)
		return;
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&sq->lock);
	c->next = sq->idle;
	sq->idle = c;
	pthread_mutex_unlock(&sq->lock);
}

void sq_reset(sqlite3_stmt *s)
{
	if (!s)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Prepares query q (once per connection) and binds its parameters as fmt
 * says: 's' a string (NULL binds NULL), 'i' an int64_t.  Strings are
 * borrowed until sq_reset(). */
static sqlite3_stmt *sq_vbind(struct sq_conn *c, enum sq_q q, struct err *e,
			      const char *fmt, va_list ap)
{
	sqlite3_stmt **sp = &c->stmt[q];
	const char *str;
	int rc = SQLITE_OK, i = 1;

	if (!*sp && sqlite3_prepare_v3(c->db, sq_queries[q].sql, -1,
				       SQLITE_PREPARE_PERSISTENT, sp,
				       NULL) != SQLITE_OK) {
		sq_fail(c->db, sq_queries[q].what, e);
		return NULL;
	}
	for (; *fmt && rc == SQLITE_OK; fmt++, i++) {
		if (*fmt == 'i') {
			rc = sqlite3_bind_int64(*sp, i, va_arg(ap, int64_t));
			continue;
		}
		str = va_arg(ap, const char *);
		rc = str ? sqlite3_bind_text(*sp, i, str, -1, SQLITE_STATIC)
			 : sqlite3_bind_null(*sp, i);
	}
	if (rc != SQLITE_OK) {
		sq_fail(c->db, sq_queries[q].what, e);
		sq_reset(*sp);
		return NULL;
	}
	return *sp;
}

sqlite3_stmt *sq_bind(struct sq_conn *c, enum sq_q q, struct err *e,
			     const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = sq_vbind(c, q, e, fmt, ap);
	va_end(ap);
	return s;
}

static int sq_vrun(struct sq_conn *c, enum sq_q q, int *changes, struct err *e,
		   const char *fmt, va_list ap)
{
	sqlite3_stmt *s = sq_vbind(c, q, e, fmt, ap);
	int rc;

	if (!s)
		return -1;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE) {
		sq_fail(c->db, sq_queries[q].what, e);
		sq_reset(s);
		return -1;
	}
	if (changes)
		*changes = sqlite3_changes(c->db);
	sq_reset(s);
	return 0;
}

/* Runs a statement that returns no rows; *changes (if not NULL) gets the
 * number of rows it changed. */
int sq_run(struct sq_conn *c, enum sq_q q, int *changes, struct err *e,
	   const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sq_vrun(c, q, changes, e, fmt, ap);
	va_end(ap);
	return rc;
}

int sq_do(struct sq *sq, enum sq_q q, int *changes, struct err *e,
	  const char *fmt, ...)
{
	struct sq_conn *c = sq_get(sq, e);
	va_list ap;
	int rc;

	if (!c)
		return -1;
	va_start(ap, fmt);
	rc = sq_vrun(c, q, changes, e, fmt, ap);
	va_end(ap);
	sq_put(sq, c);
	return rc;
}

/* Steps a query expected to give at most one row: 1 for a row (the caller
 * reads it, then calls sq_reset()), 0 for none, -1 on failure. */
int sq_row(struct sq_conn *c, sqlite3_stmt *s, enum sq_q q,
		  struct err *e)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		sq_fail(c->db, sq_queries[q].what, e);
	sq_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int sq_exec(struct sq_conn *c, const char *sql, const char *what,
		   struct err *e)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(c->db, what, e);
	return 0;
}

/* Runs fn inside BEGIN IMMEDIATE ... COMMIT on a borrowed connection;
 * any failure rolls everything back. */
int sq_txn(struct sq *sq, sq_txn_fn fn, const void *arg,
		  struct err *e)
{
	struct sq_conn *c = sq_get(sq, e);
	int ret = -1;

	if (!c)
		return -1;
	if (sq_exec(c, "BEGIN IMMEDIATE", "begin", e) < 0)
		goto out;
	if (fn(c, arg, e) < 0 || sq_exec(c, "COMMIT", "commit", e) < 0) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	ret = 0;
out:
	sq_put(sq, c);
	return ret;
}

int64_t sq_now(void)
{
	return (int64_t)time(NULL);
}

static int sq_repo_add(struct sq_conn *c, const char *repo, struct err *e)
{
	return sq_run(c, SQ_REPO_ADD, NULL, e, "si", repo, sq_now());
}

/* Parses a digest column; a malformed one means a damaged database. */
int sq_col_digest(sqlite3_stmt *s, int col, struct digest *out,
			 struct err *e)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	if (!t || digest_parse(t, strlen(t), out, NULL) < 0)
		return err_set(e, ERR_DB, "meta.db: malformed digest '%.80s'",
			       t ? t : "(null)");
	return 0;
}

char *sq_col_strdup(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);

	return t ? xstrdup(t) : NULL;
}

/* --- Blob links ------------------------------------------------------- */

static int sq_blob_linked(struct stor_meta *m, const char *repo,
			  const struct digest *dg, bool *out, struct err *e)
{
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1;

	if (!c)
		return -1;
	s = sq_bind(c, SQ_BLOB_LINKED, e, "ss", repo, digest_str(dg, ds));
	if (s)
		rc = sq_row(c, s, SQ_BLOB_LINKED, e);
	sq_reset(s);
	sq_put(sq, c);
	if (rc < 0)
		return -1;
	*out = rc == 1;
	return 0;
}

int sq_blob_link_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct sq_link_arg *a = arg;

	if (sq_repo_add(c, a->repo, e) < 0)
		return -1;
	return sq_run(c, SQ_BLOB_LINK, NULL, e, "ssi", a->repo, a->digest,
		      sq_now());
}

static int sq_blob_link(struct stor_meta *m, const char *repo,
			const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sq_link_arg a = { repo, digest_str(dg, ds) };

	return sq_txn(sq_of(m), sq_blob_link_fn, &a, e);
}

static int sq_blob_unlink(struct stor_meta *m, const char *repo,
			  const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	int changes = 0, ret;

	ret = sq_do(sq_of(m), SQ_BLOB_UNLINK, &changes, e, "ss", repo,
		    digest_str(dg, ds));
	if (ret == 0 && changes == 0)
		ret = err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown in %s", ds,
			      repo);
	return ret;
}

/* --- Uploads ------------------------------------------------------------ */

struct sq_up_arg {
	const char *repo;
	const char *id;
	const char *digest;
	const struct stor_upload_limits *lim; /* sq_up_add() only */
};

/* The first column of a one-row count. */
static int sq_count(struct sq_conn *c, enum sq_q q, const char *arg,
		    int64_t *out, struct err *e)
{
	sqlite3_stmt *s = sq_bind(c, q, e, "s", arg);
	int rc = s ? sq_row(c, s, q, e) : -1;

	if (rc < 0)
		return -1;
	*out = rc ? sqlite3_column_int64(s, 0) : 0;
	sq_reset(s);
	return 0;
}

/* Under the write lock, so two starts cannot both take the last slot. */
static int sq_up_limits(struct sq_conn *c, const struct sq_up_arg *a,
			struct err *e)
{
	const struct stor_upload_limits *lim = a->lim;
	int64_t n;

	if (!lim)
		return 0;
	if (lim->max_per_repo > 0) {
		if (sq_count(c, SQ_UP_COUNT_REPO, a->repo, &n, e) < 0)
			return -1;
		if (n >= lim->max_per_repo)
			return err_set(e, ERR_TOOMANYREQUESTS,
				       "repository %s has %lld open upload "
				       "sessions (the limit is %ld); finish "
				       "or cancel some",
				       a->repo, (long long)n,
				       lim->max_per_repo);
	}
	if (lim->client && lim->max_per_client > 0) {
		if (sq_count(c, SQ_UP_COUNT_CLIENT, lim->client, &n, e) < 0)
			return -1;
		if (n >= lim->max_per_client)
			return err_set(e, ERR_TOOMANYREQUESTS,
				       "%s has %lld open upload sessions (the "
				       "limit is %ld); finish or cancel some",
				       lim->client, (long long)n,
				       lim->max_per_client);
	}
	return 0;
}

static int sq_up_add_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct sq_up_arg *a = arg;

	if (sq_up_limits(c, a, e) < 0 || sq_repo_add(c, a->repo, e) < 0)
		return -1;
	return sq_run(c, SQ_UP_ADD, NULL, e, "ssis", a->id, a->repo, sq_now(),
		      a->lim ? a->lim->client : NULL);
}

static int sq_up_add(struct stor_meta *m, const char *repo, const char *id,
		     const struct stor_upload_limits *lim, struct err *e)
{
	struct sq_up_arg a = { repo, id, NULL, lim };

	return sq_txn(sq_of(m), sq_up_add_fn, &a, e);
}

/* --- Blob sizes ------------------------------------------------------------ */

static int sq_blob_size_put(struct stor_meta *m, const struct digest *dg,
			    int64_t size, struct err *e)
{
	char ds[DIGEST_STR_MAX];

	return sq_do(sq_of(m), SQ_BLOB_SIZE_PUT, NULL, e, "si",
		     digest_str(dg, ds), size);
}

static int sq_blob_size(struct stor_meta *m, const struct digest *dg,
			int64_t *size, struct err *e)
{
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1;

	if (!c)
		return -1;
	s = sq_bind(c, SQ_BLOB_SIZE_GET, e, "s", digest_str(dg, ds));
	if (s)
		rc = sq_row(c, s, SQ_BLOB_SIZE_GET, e);
	*size = rc == 1 ? sqlite3_column_int64(s, 0) : -1;
	sq_reset(s);
	sq_put(sq, c);
	return rc < 0 ? -1 : 0;
}

static int sq_up_find(struct stor_meta *m, const char *repo, const char *id,
		      struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1;

	if (!c)
		return -1;
	s = sq_bind(c, SQ_UP_FIND, e, "ss", id, repo);
	if (s)
		rc = sq_row(c, s, SQ_UP_FIND, e);
	sq_reset(s);
	sq_put(sq, c);
	if (rc == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return rc < 0 ? -1 : 0;
}

static int sq_up_touch(struct stor_meta *m, const char *id, int64_t offset,
		       struct err *e)
{
	return sq_do(sq_of(m), SQ_UP_TOUCH, NULL, e, "sii", id, offset,
		     sq_now());
}

static int sq_up_done_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct sq_up_arg *a = arg;

	if (sq_repo_add(c, a->repo, e) < 0 ||
	    sq_run(c, SQ_BLOB_LINK, NULL, e, "ssi", a->repo, a->digest,
		   sq_now()) < 0)
		return -1;
	return sq_run(c, SQ_UP_DEL, NULL, e, "ss", a->id, a->repo);
}

static int sq_up_done(struct stor_meta *m, const char *repo, const char *id,
		      const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sq_up_arg a = { repo, id, digest_str(dg, ds), NULL };

	return sq_txn(sq_of(m), sq_up_done_fn, &a, e);
}

static int sq_up_remove(struct stor_meta *m, const char *repo,
			const char *id, struct err *e)
{
	int changes = 0, ret;

	ret = sq_do(sq_of(m), SQ_UP_DEL, &changes, e, "ss", id, repo);
	if (ret == 0 && changes == 0)
		ret = err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			      "upload %s unknown in %s", id, repo);
	return ret;
}

/* --- Manifests and tags ------------------------------------------------- */

static int sq_mf_refs(struct sq_conn *c, const struct stor_manifest_put *mp,
		      const char *ds, struct err *e)
{
	char rs[DIGEST_STR_MAX];

	if (sq_run(c, SQ_REFS_DEL, NULL, e, "ss", mp->repo, ds) < 0)
		return -1;
	for (size_t i = 0; i < mp->nrefs; i++)
		if (sq_run(c, SQ_REF_ADD, NULL, e, "sss", mp->repo, ds,
			   digest_str(&mp->refs[i], rs)) < 0)
			return -1;
	return 0;
}

int sq_mf_put_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct stor_manifest_put *mp = arg;
	char ds[DIGEST_STR_MAX], subj[DIGEST_STR_MAX];
	int64_t now = sq_now();

	digest_str(mp->digest, ds);
	if (sq_repo_add(c, mp->repo, e) < 0)
		return -1;
	if (sq_run(c, SQ_MF_PUT, NULL, e, "sssisssi", mp->repo, ds,
		   mp->media_type, (int64_t)mp->len,
		   mp->subject ? digest_str(mp->subject, subj) : NULL,
		   mp->artifact_type, mp->annotations_json, now) < 0)
		return -1;
	if (sq_mf_refs(c, mp, ds, e) < 0)
		return -1;
	if (mp->tag && sq_run(c, SQ_TAG_PUT, NULL, e, "sssi", mp->repo,
			      mp->tag, ds, now) < 0)
		return -1;
	if (mp->enqueue_scan &&
	    sq_run(c, SQ_SCAN_ADD, NULL, e, "ssi", ds, mp->repo, now) < 0)
		return -1;
	return 0;
}

static int sq_mf_put(struct stor_meta *m, const struct stor_manifest_put *mp,
		     struct err *e)
{
	return sq_txn(sq_of(m), sq_mf_put_fn, mp, e);
}

static int sq_mf_find(struct stor_meta *m, const char *repo, const char *tag,
		      const struct digest *dg, struct digest *dg_out,
		      char **media_type, int64_t *size, struct err *e)
{
	struct sq *sq = sq_of(m);
	enum sq_q q = tag ? SQ_MF_BY_TAG : SQ_MF_BY_DIGEST;
	char ds[DIGEST_STR_MAX];
	const char *key = tag ? tag : digest_str(dg, ds);
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1, ret = -1;

	if (!c)
		return -1;
	s = sq_bind(c, q, e, "ss", repo, key);
	if (s)
		rc = sq_row(c, s, q, e);
	if (rc == 0)
		err_set(e, ERR_MANIFEST_UNKNOWN, "manifest %s unknown in %s",
			key, repo);
	if (rc == 1 && sq_col_digest(s, 0, dg_out, e) == 0) {
		*media_type = sq_col_strdup(s, 1);
		if (!*media_type)
			*media_type = xstrdup("");
		*size = sqlite3_column_int64(s, 2);
		ret = 0;
	}
	sq_reset(s);
	sq_put(sq, c);
	return ret;
}

int sq_mf_delete_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct sq_link_arg *a = arg;
	int changes = 0;

	if (sq_run(c, SQ_MF_TAGS_DEL, NULL, e, "ss", a->repo, a->digest) < 0 ||
	    sq_run(c, SQ_REFS_DEL, NULL, e, "ss", a->repo, a->digest) < 0 ||
	    sq_run(c, SQ_MF_DEL, &changes, e, "ss", a->repo, a->digest) < 0)
		return -1;
	if (changes == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN,
			       "manifest %s unknown in %s", a->digest,
			       a->repo);
	return 0;
}

static int sq_mf_delete(struct stor_meta *m, const char *repo,
			const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sq_link_arg a = { repo, digest_str(dg, ds) };

	return sq_txn(sq_of(m), sq_mf_delete_fn, &a, e);
}

static int sq_tag_delete(struct stor_meta *m, const char *repo,
			 const char *tag, struct err *e)
{
	int changes = 0, ret;

	ret = sq_do(sq_of(m), SQ_TAG_DEL, &changes, e, "ss", repo, tag);
	if (ret == 0 && changes == 0)
		ret = err_set(e, ERR_MANIFEST_UNKNOWN, "tag %s unknown in %s",
			      tag, repo);
	return ret;
}

/* --- Lists ------------------------------------------------------------- */

/* The LIMIT for a page of n: one extra row tells whether more follow. */
static int64_t sq_limit(long n)
{
	return n < 0 || n >= INT64_MAX ? -1 : (int64_t)n + 1;
}

/* Collects column 0 of s's rows, at most n (n < 0: all). */
int sq_strings(struct sq_conn *c, sqlite3_stmt *s, enum sq_q q,
		      long n, char ***out, size_t *count, bool *more,
		      struct err *e)
{
	size_t len = 0, alloc = 8;
	char **v = xmalloc(alloc * sizeof(*v));
	bool extra = false;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n >= 0 && len == (size_t)n) {
			extra = true;
			break;
		}
		if (len == alloc) {
			alloc *= 2;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		v[len++] = sq_col_strdup(s, 0);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_fail(c->db, sq_queries[q].what, e);
		stor_strv_free(v, len);
		return -1;
	}
	*out = v;
	*count = len;
	*more = extra;
	return 0;
}

static int sq_tags_list(struct stor_meta *m, const char *repo,
			const char *last, long n, char ***out, size_t *count,
			bool *more, struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1, ret = -1;

	if (!c)
		return -1;
	s = sq_bind(c, SQ_REPO_EXISTS, e, "s", repo);
	if (s)
		rc = sq_row(c, s, SQ_REPO_EXISTS, e);
	sq_reset(s);
	if (rc == 0)
		err_set(e, ERR_NAME_UNKNOWN, "repository %s unknown", repo);
	if (rc != 1)
		goto out;
	s = sq_bind(c, SQ_TAGS, e, "ssi", repo, last ? last : "",
		    sq_limit(n));
	if (s)
		ret = sq_strings(c, s, SQ_TAGS, n, out, count, more, e);
	sq_reset(s);
out:
	sq_put(sq, c);
	return ret;
}

static int sq_catalog(struct stor_meta *m, const char *last, long n,
		      char ***out, size_t *count, bool *more, struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1;

	if (!c)
		return -1;
	s = sq_bind(c, SQ_CATALOG, e, "si", last ? last : "", sq_limit(n));
	if (s)
		rc = sq_strings(c, s, SQ_CATALOG, n, out, count, more, e);
	sq_reset(s);
	sq_put(sq, c);
	return rc;
}

static int sq_desc_row(sqlite3_stmt *s, struct stor_desc *d, struct err *e)
{
	memset(d, 0, sizeof(*d));
	if (sq_col_digest(s, 0, &d->digest, e) < 0)
		return -1;
	d->media_type = sq_col_strdup(s, 1);
	if (!d->media_type)
		d->media_type = xstrdup("");
	d->size = sqlite3_column_int64(s, 2);
	d->artifact_type = sq_col_strdup(s, 3);
	d->annotations_json = sq_col_strdup(s, 4);
	return 0;
}

static int sq_descs(struct sq_conn *c, sqlite3_stmt *s,
		    struct stor_desc **out, size_t *count, struct err *e)
{
	size_t len = 0, alloc = 4;
	struct stor_desc *v = xmalloc(alloc * sizeof(*v));
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == alloc) {
			alloc *= 2;
			v = xrealloc(v, alloc * sizeof(*v));
		}
		if (sq_desc_row(s, &v[len], e) < 0)
			goto fail;
		len++;
	}
	if (rc != SQLITE_DONE) {
		sq_fail(c->db, sq_queries[SQ_REFERRERS].what, e);
		goto fail;
	}
	*out = v;
	*count = len;
	return 0;
fail:
	stor_desc_free(v, len);
	return -1;
}

static int sq_referrers(struct stor_meta *m, const char *repo,
			const struct digest *dg, const char *artifact_type,
			struct stor_desc **out, size_t *count, struct err *e)
{
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s;
	int rc = -1;

	if (!c)
		return -1;
	s = sq_bind(c, SQ_REFERRERS, e, "sss", repo, digest_str(dg, ds),
		    artifact_type);
	if (s)
		rc = sq_descs(c, s, out, count, e);
	sq_reset(s);
	sq_put(sq, c);
	return rc;
}

/* --- Setup ------------------------------------------------------------- */

static int sq_user_version(struct sq_conn *c, int *out, struct err *e)
{
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sq_fail(c->db, "read schema version", e);
		goto out;
	}
	*out = sqlite3_column_int(s, 0);
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

static int sq_migrate_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	char sql[64];
	int v;

	(void)arg;
	if (sq_user_version(c, &v, e) < 0)
		return -1;
	if (v > SQ_VERSION)
		return err_set(e, ERR_DB,
			       "meta.db: schema version %d is newer than this "
			       "customs knows (%d)",
			       v, SQ_VERSION);
	for (; v < SQ_VERSION; v++)
		if (sq_exec(c, sq_migrations[v], "migrate schema", e) < 0)
			return -1;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SQ_VERSION);
	return sq_exec(c, sql, "set schema version", e);
}

/* WAL lets readers run beside the one writer; the mode is stored in the
 * file, so switching once is enough. */
static int sq_wal(struct sq *sq, struct err *e)
{
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s = NULL;
	const char *mode;
	int ret = -1;

	if (!c)
		return -1;
	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sq_fail(c->db, "switch to WAL", e);
		goto out;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (!mode || strcmp(mode, "wal"))
		log_msg(LL_WARN, "%s: journal mode is %s, not wal", sq->path,
			mode ? mode : "unknown");
	ret = 0;
out:
	sqlite3_finalize(s);
	sq_put(sq, c);
	return ret;
}

/* On a clean close: everything the WAL holds goes into meta.db and the
 * WAL is emptied, so meta.db alone is the whole metadata (a lost or
 * stale meta.db-wal then costs nothing). */
static void sq_checkpoint(struct sq *sq)
{
	struct sq_conn *c = sq->idle;
	int log = 0, done = 0, rc;

	if (!c)
		return;
	rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				       &log, &done);
	if (rc != SQLITE_OK)
		log_msg(LL_WARN, "%s: WAL checkpoint: %s", sq->path,
			sqlite3_errmsg(c->db));
	else
		log_msg(LL_DEBUG, "%s: WAL checkpointed (%d frames)", sq->path,
			done);
}

static void sq_free(struct stor_meta *m)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c;

	if (!sq)
		return;
	sq_checkpoint(sq);
	while ((c = sq->idle)) {
		sq->idle = c->next;
		sq_conn_free(c);
	}
	pthread_mutex_destroy(&sq->lock);
	free(sq->path);
	free(sq);
}

static const struct stor_meta_ops sq_ops = {
	.free = sq_free,
	.blob_linked = sq_blob_linked,
	.blob_link = sq_blob_link,
	.blob_unlink = sq_blob_unlink,
	.up_add = sq_up_add,
	.blob_size_put = sq_blob_size_put,
	.blob_size = sq_blob_size,
	.up_find = sq_up_find,
	.up_touch = sq_up_touch,
	.up_done = sq_up_done,
	.up_remove = sq_up_remove,
	.mf_put = sq_mf_put,
	.mf_find = sq_mf_find,
	.mf_delete = sq_mf_delete,
	.tag_delete = sq_tag_delete,
	.tags_list = sq_tags_list,
	.catalog = sq_catalog,
	.referrers = sq_referrers,
	.mf_repos = sq_mf_repos,
	.scan_enqueue = sq_scan_enqueue,
	.scan_claim = sq_scan_claim,
	.scan_recover = sq_scan_recover,
	.scan_result_put = sq_scan_result_put,
	.scan_checked = sq_scan_checked,
	.scan_done = sq_scan_done,
	.scan_fail = sq_scan_fail,
	.scan_wait = sq_scan_wait,
	.scan_get = sq_scan_get,
	.scan_forget = sq_scan_forget,
	.scan_rearm = sq_scan_rearm,
	.scan_stats = sq_scan_stats,
	.scan_claim_rematch = sq_scan_claim_rematch,
	.scan_finish_many = sq_scan_finish_many,
	.list = sq_list,
	.blob_users = sq_blob_users,
	.blob_forget = sq_blob_forget,
	.mf_relations = sq_mf_relations,
	.up_exists = sq_up_exists,
	.check = sq_check,
};

struct stor_meta *stor_sqlite_new(const char *dir, struct err *e)
{
	struct sq *sq = xcalloc(1, sizeof(*sq));

	sq->base.ops = &sq_ops;
	sq->path = xasprintf("%s/meta.db", dir);
	pthread_mutex_init(&sq->lock, NULL);
	if (sq_wal(sq, e) < 0 || sq_txn(sq, sq_migrate_fn, NULL, e) < 0) {
		sq_free(&sq->base);
		return NULL;
	}
	return &sq->base;
}
