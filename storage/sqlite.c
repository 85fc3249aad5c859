/* sqlite.c: the engine of the sqlite3 metadata backend (DIR/meta.db, WAL).
 *
 * Connections are pooled: an operation borrows one (opening a new one when
 * none is idle), so each is used by one thread at a time and sqlite runs in
 * its multi-thread mode.  Each connection caches its prepared statements,
 * found by the address of their struct sql_stmt.  Writes of more than one
 * statement run inside BEGIN IMMEDIATE, which takes the write lock up front
 * (waiting up to the busy timeout) instead of failing when a read turns
 * into a write.
 *
 * The schema carries its version in PRAGMA user_version; sq_migrations[i]
 * takes it from version i to i + 1.
 */
#include "storage/sqlite_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
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
	/* 3 -> 4: a report is kept once, as a blob (the one its referrer
	 * lists), and its row names it in report_blob (report is then "");
	 * rows written before keep their text.  Adding a column is
	 * instant, however many reports there are. */
	"ALTER TABLE scan_results ADD COLUMN report_blob TEXT;"
	"CREATE INDEX scan_results_by_blob ON scan_results(report_blob)"
	" WHERE report_blob IS NOT NULL;",
	/* 4 -> 5: the request that queued a scan job (its X-Request-Id),
	 * which the job's log lines carry; NULL for re-matches. */
	"ALTER TABLE scan_jobs ADD COLUMN request_id TEXT;",
	/* 5 -> 6: an upload's blob-backend state (an S3 multipart upload's
	 * id and parts, the running hash), so that any node goes on. */
	"ALTER TABLE uploads ADD COLUMN blob_state TEXT;",
	/* 6 -> 7: the events outbox (outbox_sqlite.c): each event once,
	 * each endpoint's cursor over them, and a delivery row per event
	 * an endpoint still has to receive (or gave up on: dead). */
	"CREATE TABLE IF NOT EXISTS outbox ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" action TEXT NOT NULL,"
	" repo TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" body TEXT NOT NULL"
	");"
	"CREATE TABLE IF NOT EXISTS outbox_cursors ("
	" endpoint TEXT PRIMARY KEY,"
	" seq INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS outbox_deliveries ("
	" endpoint TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" repo TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER NOT NULL DEFAULT 0,"
	" dead INTEGER NOT NULL DEFAULT 0,"
	" error TEXT,"
	" PRIMARY KEY (endpoint, seq)"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS outbox_deliveries_by_repo"
	" ON outbox_deliveries(endpoint, repo, seq) WHERE dead = 0;"
	"CREATE INDEX IF NOT EXISTS outbox_deliveries_by_seq ON "
	"outbox_deliveries(seq);",
	/* 7 -> 8: per-layer indexes (layer_sql.c): each layer blob read
	 * once, its index kept while the blob is (gc forgets it with the
	 * blob's links); the rows are the queue too. */
	"CREATE TABLE IF NOT EXISTS layer_index ("
	" digest TEXT PRIMARY KEY,"
	" state TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" lease INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" version TEXT,"
	" result TEXT,"
	" error TEXT"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS layer_index_by_state"
	" ON layer_index(state, created);",
	/* 8 -> 9: the token of a running job's claim: only that claim
	 * finishes it (a claimant whose lease ran out finishes nothing). */
	"ALTER TABLE scan_jobs ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;",
	/* 9 -> 10: a result's short columns apart from its findings.  A
	 * WITHOUT ROWID row is its own key, so finding a row of long
	 * findings reads them whole (sqlite compares overflowing keys in
	 * full); a list of tags reads many rows and none of the findings. */
	("CREATE INDEX IF NOT EXISTS scan_results_brief"
	 " ON scan_results(digest, updated, db_version, report_blob);"),
};

#define SQ_VERSION ((int)(sizeof(sq_migrations) / sizeof(sq_migrations[0])))

struct sq *sq_of(struct stor_meta *m)
{
	return (struct sq *)m;
}

int64_t sq_now(void)
{
	return (int64_t)time(NULL);
}

int sq_fail(sqlite3 *db, const char *what, struct err *e)
{
	int rc = sqlite3_errcode(db);

	return err_set(e, rc == SQLITE_FULL ? ERR_NOSPACE : ERR_DB,
		       "meta.db: %s: %s", what, sqlite3_errmsg(db));
}

/* --- Busy waits -----------------------------------------------------------
 *
 * sqlite3_busy_timeout()'s waits, done by a handler of our own so that
 * they can be counted (stor_busy_stats()): a statement that finds meta.db
 * locked sleeps a little longer each time, SQ_BUSY_MS in all, then fails
 * with SQLITE_BUSY. */

static atomic_uint_fast64_t sq_busy_waits, sq_busy_gave_up, sq_busy_us;

static int sq_busy(void *arg, int n)
{
	/* sqlite's own schedule (sqliteDefaultBusyCallback). */
	static const int delays[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50};
	const int ndelays = (int)(sizeof(delays) / sizeof(delays[0]));
	int ms, before = 0;
	struct timespec ts;

	(void)arg;
	if (n < ndelays) {
		ms = delays[n];
		for (int i = 0; i < n; i++)
			before += delays[i];
	} else {
		ms = 100;
		before = 228 + (n - ndelays) * 100; /* the table's sum */
	}
	if (before >= SQ_BUSY_MS) {
		atomic_fetch_add_explicit(&sq_busy_gave_up, 1,
					  memory_order_relaxed);
		return 0;
	}
	if (ms > SQ_BUSY_MS - before)
		ms = SQ_BUSY_MS - before;
	if (n == 0)
		atomic_fetch_add_explicit(&sq_busy_waits, 1,
					  memory_order_relaxed);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	atomic_fetch_add_explicit(&sq_busy_us, (uint64_t)ms * 1000,
				  memory_order_relaxed);
	return 1;
}

void stor_busy_stats(struct stor_busy_stats *out)
{
	out->waits = atomic_load_explicit(&sq_busy_waits, memory_order_relaxed);
	out->gave_up =
		atomic_load_explicit(&sq_busy_gave_up, memory_order_relaxed);
	out->seconds = (double)atomic_load_explicit(&sq_busy_us,
						    memory_order_relaxed) /
		       1e6;
}

/* --- Connections ---------------------------------------------------------- */

static void sq_conn_free(struct sq_conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nstmts; i++)
		sqlite3_finalize(c->stmts[i].s);
	free(c->stmts);
	sqlite3_close(c->db);
	free(c);
}

/* --- Checkpoints ----------------------------------------------------------
 *
 * sqlite's own checkpoint runs inside the COMMIT that takes the WAL past
 * 1000 pages, under sq->wlock here: every writer of the process waited for
 * it (a re-match batch leaves ~10 MB of WAL).  Our hook only notes the
 * WAL's size; the connection checkpoints once the lock is released,
 * PASSIVE as sqlite would (it neither waits for nor holds up the readers
 * and writers). */
#define SQ_CHECKPOINT_PAGES 1000

static int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_conn *c = arg;

	(void)db;
	(void)name;
	c->wal_pages = pages;
	return SQLITE_OK;
}

/* After a write, with sq->wlock released. */
static void sq_wal_settle(struct sq_conn *c)
{
	if (c->wal_pages < SQ_CHECKPOINT_PAGES)
		return;
	c->wal_pages = 0;
	sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
				  NULL);
}

static struct sq_conn *sq_conn_open(struct sq *sq, struct err *e)
{
	/* A page cache of 512 KiB, not sqlite's 2 MiB: the pool opens a
	 * connection per thread that runs at once, and the file's pages
	 * stay in the kernel's cache anyway (a cache is cold after another
	 * connection's write).  Against 1 MiB, a re-match's peak RSS fell
	 * by 2 MiB at a few percent of its rate. */
	static const char pragmas[] = "PRAGMA foreign_keys = ON;"
				      "PRAGMA synchronous = FULL;"
				      "PRAGMA cache_size = -512;";
	struct sq_conn *c = xcalloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX;

	c->base.drv = &sql_sqlite;
	if (sqlite3_open_v2(sq->path, &c->db, flags, NULL) != SQLITE_OK) {
		if (c->db)
			sq_fail(c->db, "open", e);
		else
			err_set(e, ERR_DB, "meta.db: cannot open %s", sq->path);
		goto fail;
	}
	sqlite3_busy_handler(c->db, sq_busy, NULL);
	sqlite3_wal_hook(c->db, sq_wal_hook, c);
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
static struct sq_conn *sq_get(struct sq *sq, struct err *e)
{
	struct sq_conn *c;

	pthread_mutex_lock(&sq->lock);
	c = sq->idle;
	if (c)
		sq->idle = c->next;
	pthread_mutex_unlock(&sq->lock);
	return c ? c : sq_conn_open(sq, e);
}

static void sq_put(struct sq *sq, struct sq_conn *c)
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

/* --- Statements ----------------------------------------------------------- */

/* q as prepared on c, prepared now if it is new there.  A linear search:
 * a connection holds a few dozen statements, and a step costs far more. */
static sqlite3_stmt *sq_prepare(struct sq_conn *c, const struct sql_stmt *q,
				struct err *e)
{
	struct sq_cached *k;
	const char *sql;
	size_t len;

	for (size_t i = 0; i < c->nstmts; i++)
		if (c->stmts[i].q == q)
			return c->stmts[i].s;
	if (c->nstmts == c->astmts) {
		c->astmts = c->astmts ? 2 * c->astmts : 32;
		c->stmts = xrealloc(c->stmts, c->astmts * sizeof(*c->stmts));
	}
	k = &c->stmts[c->nstmts];
	sql = sql_text(q, &sql_sqlite, &len);
	if (!sql ||
	    sqlite3_prepare_v3(c->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT,
			       &k->s, NULL) != SQLITE_OK) {
		sq_fail(c->db, q->what, e);
		return NULL;
	}
	k->q = q;
	c->nstmts++;
	return k->s;
}

/* Parameters past the last the text names are not bound: PostgreSQL's
 * text of a statement may take more (a claim names its owner). */
static int sq_vbind(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	const char *str;
	int rc = SQLITE_OK, n = sqlite3_bind_parameter_count(s);

	for (int i = 1; *fmt && i <= n && rc == SQLITE_OK; fmt++, i++) {
		if (*fmt == 'i') {
			rc = sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
			continue;
		}
		str = va_arg(ap, const char *);
		rc = str ? sqlite3_bind_text(s, i, str, -1, SQLITE_STATIC)
			 : sqlite3_bind_null(s, i);
	}
	return rc;
}

/* A row reader of either kind: the engine's own (fn) or the SQL
 * layer's (gfn). */
struct sq_reader {
	sq_row_fn fn;
	sql_row_fn gfn;
	void *arg;
};

static int sq_read(const struct sq_reader *rd, sqlite3_stmt *s, struct err *e)
{
	struct sql_row row = {&sql_sqlite, s, 0};

	if (rd->gfn)
		return rd->gfn(rd->arg, &row, e);
	return rd->fn ? rd->fn(rd->arg, s, e) : 0;
}

/* The one place that binds, steps and resets a statement. */
static int sq_vrun(struct sq_conn *c, const struct sql_stmt *q,
		   const struct sq_reader *rd, struct err *e, const char *fmt,
		   va_list ap)
{
	sqlite3_stmt *s;
	int rc, r, rows = 0, ret = -1;

	if (!sql_runs(q, &sql_sqlite))
		return 0;
	s = sq_prepare(c, q, e);
	if (!s)
		return -1;
	rc = sq_vbind(s, fmt, ap);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		rows++;
		r = sq_read(rd, s, e);
		if (r < 0)
			goto out;
		if (r > 0)
			break;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_fail(c->db, q->what, e);
		goto out;
	}
	ret = sqlite3_column_count(s) ? rows : sqlite3_changes(c->db);
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int sq_run(struct sq_conn *c, const struct sql_stmt *q, sq_row_fn fn, void *arg,
	   struct err *e, const char *fmt, ...)
{
	struct sq_reader rd = {fn, NULL, arg};
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = sq_vrun(c, q, &rd, e, fmt, ap);
	va_end(ap);
	return ret;
}

/* Whether this thread holds sq->wlock (a write inside a write does not
 * wait for itself). */
static _Thread_local bool sq_writing;

static bool sq_wlock(struct sq *sq)
{
	if (sq_writing)
		return false;
	pthread_mutex_lock(&sq->wlock);
	sq_writing = true;
	return true;
}

static void sq_wunlock(struct sq *sq, bool held)
{
	if (!held)
		return;
	sq_writing = false;
	pthread_mutex_unlock(&sq->wlock);
}

static int sq_vdo(struct sq *sq, const struct sql_stmt *q,
		  const struct sq_reader *rd, struct err *e, const char *fmt,
		  va_list ap)
{
	struct sq_conn *c;
	sqlite3_stmt *s;
	bool held = false;
	int ret;

	if (!sql_runs(q, &sql_sqlite))
		return 0;
	c = sq_get(sq, e);
	if (!c)
		return -1;
	s = sq_prepare(c, q, e);
	if (s && !sqlite3_stmt_readonly(s))
		held = sq_wlock(sq);
	ret = s ? sq_vrun(c, q, rd, e, fmt, ap) : -1;
	sq_wunlock(sq, held);
	if (held)
		sq_wal_settle(c);
	sq_put(sq, c);
	return ret;
}

int sq_do(struct sq *sq, const struct sql_stmt *q, sq_row_fn fn, void *arg,
	  struct err *e, const char *fmt, ...)
{
	struct sq_reader rd = {fn, NULL, arg};
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = sq_vdo(sq, q, &rd, e, fmt, ap);
	va_end(ap);
	return ret;
}

int sq_row_int64(void *arg, sqlite3_stmt *s, struct err *e)
{
	(void)e;
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
	return 0;
}

static int sq_exec(struct sq_conn *c, const char *sql, const char *what,
		   struct err *e)
{
	if (sqlite3_exec(c->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(c->db, what, e);
	return 0;
}

/* sq_txn() for either kind of transaction body. */
static int sq_vtxn(struct sq *sq, sq_txn_fn fn, sql_txn_fn gfn, const void *arg,
		   bool lazy, struct err *e)
{
	struct sq_conn *c = sq_get(sq, e);
	bool held;
	int ret = -1;

	if (!c)
		return -1;
	held = sq_wlock(sq);
	/* Not to be changed inside a transaction. */
	if (lazy && sq_exec(c, "PRAGMA synchronous = NORMAL", "lazy", e) < 0)
		goto out;
	if (sq_exec(c, "BEGIN IMMEDIATE", "begin", e) < 0)
		goto out;
	if ((gfn ? gfn(&c->base, arg, e) : fn(c, arg, e)) < 0 ||
	    sq_exec(c, "COMMIT", "commit", e) < 0) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	ret = 0;
out:
	if (lazy)
		sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL,
			     NULL);
	sq_wunlock(sq, held);
	if (held)
		sq_wal_settle(c);
	sq_put(sq, c);
	return ret;
}

int sq_txn(struct sq *sq, sq_txn_fn fn, const void *arg, struct err *e)
{
	return sq_vtxn(sq, fn, NULL, arg, false, e);
}

/* --- The SQL layer's driver (sql_int.h) ------------------------------------
 */

static int sq_drv_run(struct sql_conn *c, const struct sql_stmt *q,
		      sql_row_fn fn, void *arg, struct err *e, const char *fmt,
		      va_list ap)
{
	struct sq_reader rd = {NULL, fn, arg};

	return sq_vrun((struct sq_conn *)c, q, &rd, e, fmt, ap);
}

static int sq_drv_do(struct sql_db *db, const struct sql_stmt *q, sql_row_fn fn,
		     void *arg, struct err *e, const char *fmt, va_list ap)
{
	struct sq_reader rd = {NULL, fn, arg};

	return sq_vdo((struct sq *)db, q, &rd, e, fmt, ap);
}

static int sq_drv_txn(struct sql_db *db, sql_txn_fn fn, const void *arg,
		      bool lazy, struct err *e)
{
	return sq_vtxn((struct sq *)db, NULL, fn, arg, lazy, e);
}

static const char *sq_drv_text(const struct sql_row *r, int col)
{
	return (const char *)sqlite3_column_text(r->res, col);
}

static int64_t sq_drv_int64(const struct sql_row *r, int col)
{
	return sqlite3_column_int64(r->res, col);
}

static int sq_drv_count(const struct sql_row *r)
{
	return sqlite3_column_count(r->res);
}

/* Every row of a checking pragma that is not "ok" is a problem, its
 * columns joined with spaces. */
struct sq_check_arg {
	const char *label;
	stor_row_fn fn;
	void *arg;
};

static int sq_check_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	const struct sq_check_arg *x = arg;
	struct stor_row r;
	char msg[512];
	const char *t;
	size_t len = (size_t)snprintf(msg, sizeof(msg), "%s:", x->label);

	for (int i = 0; i < sqlite3_column_count(s); i++) {
		t = (const char *)sqlite3_column_text(s, i);
		if (len < sizeof(msg))
			len += (size_t)snprintf(msg + len, sizeof(msg) - len,
						" %s", t ? t : "-");
	}
	if (!strcmp(msg + strlen(x->label) + 1, " ok"))
		return 0;
	memset(&r, 0, sizeof(r));
	r.name = msg;
	return x->fn(x->arg, &r, e) < 0 ? -1 : 0;
}

/* fsck's look at the file itself (stor_maint_ops.check). */
static int sq_check(struct stor_meta *m, stor_row_fn fn, void *arg,
		    struct err *e)
{
	static const struct sql_stmt integrity = {
		"integrity check",
		"PRAGMA integrity_check",
	};
	static const struct sql_stmt fkeys = {
		"foreign key check",
		"PRAGMA foreign_key_check",
	};
	struct sq_check_arg a = {integrity.what, fn, arg};
	struct sq_check_arg b = {fkeys.what, fn, arg};

	if (sq_do(sq_of(m), &integrity, sq_check_row, &a, e, "") < 0 ||
	    sq_do(sq_of(m), &fkeys, sq_check_row, &b, e, "") < 0)
		return -1;
	return 0;
}

const struct sql_driver sql_sqlite = {
	.name = "meta.db",
	.run = sq_drv_run,
	.run_do = sq_drv_do,
	.txn = sq_drv_txn,
	.col_text = sq_drv_text,
	.col_int64 = sq_drv_int64,
	.col_count = sq_drv_count,
	.free = sq_free,
	.check = sq_check,
};

int sq_col_digest(sqlite3_stmt *s, int col, struct digest *out, struct err *e)
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

/* --- Setup ---------------------------------------------------------------- */

static int sq_migrate_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt version = {
		"read schema version",
		"PRAGMA user_version",
	};
	char sql[64];
	int64_t v = 0;

	(void)arg;
	if (sq_run(c, &version, sq_row_int64, &v, e, "") < 0)
		return -1;
	if (v > SQ_VERSION)
		return err_set(e, ERR_DB,
			       "meta.db: schema version %lld is newer than "
			       "this customs knows (%d)",
			       (long long)v, SQ_VERSION);
	for (; v < SQ_VERSION; v++)
		if (sq_exec(c, sq_migrations[v], "migrate schema", e) < 0)
			return -1;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SQ_VERSION);
	return sq_exec(c, sql, "set schema version", e);
}

static int sq_wal_mode(void *arg, sqlite3_stmt *s, struct err *e)
{
	const char *mode = (const char *)sqlite3_column_text(s, 0);

	(void)e;
	if (!mode || strcmp(mode, "wal"))
		log_msg(LL_WARN, "%s: journal mode is %s, not wal",
			(const char *)arg, mode ? mode : "unknown");
	return 0;
}

/* WAL lets readers run beside the one writer; the mode is stored in the
 * file, so switching once is enough. */
static int sq_wal(struct sq *sq, struct err *e)
{
	static const struct sql_stmt wal = {
		"switch to WAL",
		"PRAGMA journal_mode = WAL",
	};

	return sq_do(sq, &wal, sq_wal_mode, sq->path, e, "") < 0 ? -1 : 0;
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

void sq_free(struct stor_meta *m)
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
	pthread_mutex_destroy(&sq->wlock);
	free(sq->path);
	free(sq);
}

struct stor_meta *stor_sqlite_new(const char *dir, struct err *e)
{
	struct sq *sq = xcalloc(1, sizeof(*sq));

	sq->db.drv = &sql_sqlite;
	sq->db.base.ops = &sql_meta_ops;
	sq->db.base.scanq = &sql_scanq_ops;
	sq->db.base.maint = &sql_maint_ops;
	sq->db.base.outbox = &sql_outbox_ops;
	sq->path = xasprintf("%s/meta.db", dir);
	pthread_mutex_init(&sq->lock, NULL);
	pthread_mutex_init(&sq->wlock, NULL);
	if (sq_wal(sq, e) < 0 || sq_txn(sq, sq_migrate_fn, NULL, e) < 0) {
		sq_free(&sq->db.base);
		return NULL;
	}
	return &sq->db.base;
}
