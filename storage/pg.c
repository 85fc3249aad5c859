/* pg.c: the engine of the PostgreSQL metadata backend (`--meta URL`).
 *
 * Connections are pooled and bounded (PG_POOL_MAX): an operation borrows
 * one, waiting when all are in use; a thread holds at most one at a time
 * (pg_do() gives it back before its rows are read), so the bound cannot
 * deadlock.  Each connection prepares its statements on first use.  Writes
 * of more than one statement run in one transaction (READ COMMITTED: the
 * rows they race for are taken with upserts, FOR UPDATE or an advisory
 * lock); a deadlock or serialization failure runs the transaction again.
 *
 * The schema carries its version in the table schema_version;
 * pg_migrations[i] takes it from version i to i + 1, under an advisory
 * lock, so nodes starting together migrate once.
 *
 * The conninfo may hold a password: it is never logged; messages name the
 * server as libpq reports it (host, port, database).
 */
#include "storage/pg_int.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/banned.h"

/* Advisory lock keys (one 64-bit space per database): "customs" and a
 * purpose. */
#define PG_KEY_MIGRATE 0x637573746f6d0001LL
#define PG_KEY_PIN     0x637573746f6d0002LL

static const char *const pg_migrations[] = {
	/* 0 -> 1: the schema of meta.db version 4, with the owner of a
	 * running scan job (its node's listener session).  Keys collate
	 * as bytes, as sqlite compares them, so listings page alike. */
	"CREATE TABLE repositories ("
	" name TEXT COLLATE \"C\" PRIMARY KEY,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE repo_blobs ("
	" repo TEXT COLLATE \"C\" NOT NULL REFERENCES repositories(name),"
	" digest TEXT COLLATE \"C\" NOT NULL,"
	" created BIGINT NOT NULL,"
	" PRIMARY KEY (repo, digest));"
	"CREATE INDEX repo_blobs_by_digest ON repo_blobs(digest);"
	"CREATE TABLE manifests ("
	" repo TEXT COLLATE \"C\" NOT NULL REFERENCES repositories(name),"
	" digest TEXT COLLATE \"C\" NOT NULL,"
	" media_type TEXT NOT NULL,"
	" size BIGINT NOT NULL,"
	" subject TEXT COLLATE \"C\","
	" artifact_type TEXT,"
	" annotations_json TEXT,"
	" created BIGINT NOT NULL,"
	" PRIMARY KEY (repo, digest));"
	"CREATE INDEX manifests_by_subject ON manifests(repo, subject)"
	" WHERE subject IS NOT NULL;"
	"CREATE INDEX manifests_by_digest ON manifests(digest);"
	"CREATE TABLE tags ("
	" repo TEXT COLLATE \"C\" NOT NULL,"
	" tag TEXT COLLATE \"C\" NOT NULL,"
	" digest TEXT COLLATE \"C\" NOT NULL,"
	" updated BIGINT NOT NULL,"
	" PRIMARY KEY (repo, tag),"
	" FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest)"
	"  ON DELETE CASCADE);"
	"CREATE INDEX tags_by_manifest ON tags(repo, digest);"
	"CREATE TABLE manifest_refs ("
	" repo TEXT COLLATE \"C\" NOT NULL,"
	" digest TEXT COLLATE \"C\" NOT NULL,"
	" child TEXT COLLATE \"C\" NOT NULL,"
	" PRIMARY KEY (repo, digest, child),"
	" FOREIGN KEY (repo, digest) REFERENCES manifests(repo, digest)"
	"  ON DELETE CASCADE);"
	"CREATE INDEX manifest_refs_by_child ON manifest_refs(child);"
	"CREATE TABLE uploads ("
	" id TEXT COLLATE \"C\" PRIMARY KEY,"
	" repo TEXT COLLATE \"C\" NOT NULL REFERENCES repositories(name),"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" received BIGINT NOT NULL DEFAULT 0,"
	" client TEXT);"
	"CREATE INDEX uploads_by_repo ON uploads(repo);"
	"CREATE INDEX uploads_by_client ON uploads(client)"
	" WHERE client IS NOT NULL;"
	"CREATE TABLE blob_sizes ("
	" digest TEXT COLLATE \"C\" PRIMARY KEY,"
	" size BIGINT NOT NULL);"
	"CREATE TABLE scan_jobs ("
	" digest TEXT COLLATE \"C\" PRIMARY KEY,"
	" repo TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued'"
	"  CHECK (state IN ('queued', 'running', 'waiting', 'done',"
	"   'failed')),"
	" attempts BIGINT NOT NULL DEFAULT 0,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" prio BIGINT NOT NULL DEFAULT 0,"
	" gen BIGINT NOT NULL DEFAULT 0,"
	" not_before BIGINT NOT NULL DEFAULT 0,"
	" lease BIGINT NOT NULL DEFAULT 0,"
	" error TEXT,"
	" owner_pid INTEGER,"
	" owner_start TIMESTAMPTZ);"
	"CREATE INDEX scan_jobs_by_state ON scan_jobs(state, prio, created);"
	"CREATE TABLE scan_results ("
	" digest TEXT COLLATE \"C\" PRIMARY KEY,"
	" report TEXT NOT NULL,"
	" findings TEXT NOT NULL,"
	" db_version TEXT,"
	" checked_db TEXT,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" report_blob TEXT COLLATE \"C\");"
	"CREATE INDEX scan_results_by_blob ON scan_results(report_blob)"
	" WHERE report_blob IS NOT NULL;",
	/* 1 -> 2: an upload's blob-backend state (an S3 multipart upload's
	 * id and parts, the running hash), so that any node goes on. */
	"ALTER TABLE uploads ADD COLUMN blob_state TEXT;",
	/* 2 -> 3: the request that queued a scan job, as meta.db version 5
	 * has it. */
	"ALTER TABLE scan_jobs ADD COLUMN request_id TEXT;",
	/* 3 -> 4: the events outbox (outbox_pg.c), as meta.db version 7
	 * has it. */
	"CREATE TABLE outbox ("
	" seq BIGSERIAL PRIMARY KEY,"
	" action TEXT NOT NULL,"
	" repo TEXT COLLATE \"C\" NOT NULL,"
	" created BIGINT NOT NULL,"
	" body TEXT NOT NULL);"
	"CREATE TABLE outbox_cursors ("
	" endpoint TEXT COLLATE \"C\" PRIMARY KEY,"
	" seq BIGINT NOT NULL);"
	"CREATE TABLE outbox_deliveries ("
	" endpoint TEXT COLLATE \"C\" NOT NULL,"
	" seq BIGINT NOT NULL,"
	" repo TEXT COLLATE \"C\" NOT NULL,"
	" created BIGINT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" next_at BIGINT NOT NULL DEFAULT 0,"
	" dead INTEGER NOT NULL DEFAULT 0,"
	" error TEXT,"
	" PRIMARY KEY (endpoint, seq));"
	"CREATE INDEX outbox_deliveries_by_repo"
	" ON outbox_deliveries(endpoint, repo, seq) WHERE dead = 0;"
	"CREATE INDEX outbox_deliveries_by_seq ON outbox_deliveries(seq);",
	/* 4 -> 5: per-layer indexes (layer_sql.c), as meta.db version 8
	 * has them. */
	"CREATE TABLE layer_index ("
	" digest TEXT COLLATE \"C\" PRIMARY KEY,"
	" state TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" lease BIGINT NOT NULL DEFAULT 0,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" version TEXT,"
	" result TEXT,"
	" error TEXT);"
	"CREATE INDEX layer_index_by_state ON layer_index(state, created);",
	/* 5 -> 6: the token of a running job's claim, as meta.db version 9
	 * has it. */
	"ALTER TABLE scan_jobs ADD COLUMN claim BIGINT NOT NULL DEFAULT 0;",
};

#define PG_VERSION ((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

struct pg *pg_of(struct stor_meta *m)
{
	return (struct pg *)m;
}

int64_t pg_now(void)
{
	return (int64_t)time(NULL);
}

/* The server's message goes into the detail, which only the log sees. */
static int pg_fail(PGconn *db, const PGresult *r, const char *what,
		   struct err *e)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(db);
	/* 53100 disk_full, 53200 out_of_memory: as sqlite's SQLITE_FULL */
	bool full = state && !strncmp(state, "531", 3);
	size_t len = msg ? strlen(msg) : 0;

	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	return err_set(e, full ? ERR_NOSPACE : ERR_DB, "PostgreSQL: %s: %.*s",
		       what, (int)len, msg ? msg : "");
}

/* --- Connections ---------------------------------------------------------- */

static void pg_conn_free(struct pg_conn *c)
{
	if (!c)
		return;
	PQfinish(c->db);
	free(c->prep);
	free(c);
}

static int pg_exec(struct pg_conn *c, const char *sql, const char *what,
		   struct err *e)
{
	PGresult *r = PQexec(c->db, sql);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		ret = pg_fail(c->db, r, what, e);
	PQclear(r);
	return ret;
}

static struct pg_conn *pg_conn_open(const char *conninfo, struct err *e)
{
	struct pg_conn *c = xcalloc(1, sizeof(*c));

	c->base.drv = &sql_pg;

	c->db = PQconnectdb(conninfo);
	if (!c->db || PQstatus(c->db) != CONNECTION_OK) {
		if (c->db)
			pg_fail(c->db, NULL, "connect", e);
		else
			err_set(e, ERR_DB, "PostgreSQL: out of memory");
		goto fail;
	}
	/* Notices (NOTICE: relation exists...) stay out of stderr. */
	PQsetNoticeProcessor(c->db, NULL, NULL);
	if (pg_exec(c, "SET client_min_messages = warning", "set options", e) <
	    0)
		goto fail;
	return c;
fail:
	pg_conn_free(c);
	return NULL;
}

/* Whether an idle session was ended by the server meanwhile (a restart,
 * an administrator): it then has input, the server's goodbye. */
static bool pg_conn_gone(struct pg_conn *c)
{
	struct pollfd p = {PQsocket(c->db), POLLIN, 0};

	if (p.fd < 0)
		return true;
	if (poll(&p, 1, 0) <= 0)
		return false;
	return !PQconsumeInput(c->db) || PQstatus(c->db) != CONNECTION_OK;
}

/* Borrows a connection; give it back with pg_put(). */
static struct pg_conn *pg_get(struct pg *pg, struct err *e)
{
	struct pg_conn *c = NULL;
	bool open = false;

	pthread_mutex_lock(&pg->lock);
	while (!pg->idle && pg->nopen >= PG_POOL_MAX)
		pthread_cond_wait(&pg->freed, &pg->lock);
	if (pg->idle) {
		c = pg->idle;
		pg->idle = c->next;
	} else {
		pg->nopen++;
		open = true;
	}
	pthread_mutex_unlock(&pg->lock);
	if (!open && pg_conn_gone(c)) {
		pg_conn_free(c);
		open = true;
	}
	if (!open)
		return c;
	c = pg_conn_open(pg->conninfo, e);
	if (!c) {
		pthread_mutex_lock(&pg->lock);
		pg->nopen--;
		pthread_cond_signal(&pg->freed);
		pthread_mutex_unlock(&pg->lock);
	}
	return c;
}

/* A connection that broke is closed, not pooled: the next borrow opens a
 * new one (the server restarted, a node's network came back). */
static void pg_put(struct pg *pg, struct pg_conn *c)
{
	bool bad;

	if (!c)
		return;
	if (PQtransactionStatus(c->db) != PQTRANS_IDLE &&
	    PQstatus(c->db) == CONNECTION_OK) {
		PGresult *r = PQexec(c->db, "ROLLBACK");

		PQclear(r);
	}
	bad = PQstatus(c->db) != CONNECTION_OK ||
	      PQtransactionStatus(c->db) != PQTRANS_IDLE;
	pthread_mutex_lock(&pg->lock);
	if (bad) {
		pg->nopen--;
	} else {
		c->next = pg->idle;
		pg->idle = c;
	}
	pthread_cond_signal(&pg->freed);
	pthread_mutex_unlock(&pg->lock);
	if (bad)
		pg_conn_free(c);
}

/* --- Statements ----------------------------------------------------------- */

/* sql with sqlite's placeholders ?N as PostgreSQL's $N (quoted text and
 * identifiers kept as they are). */
static char *pg_placeholders(const char *sql, size_t len)
{
	char *out = xstrndup(sql, len), quote = 0;

	for (char *p = out; *p; p++) {
		if (quote) {
			quote = *p == quote ? 0 : quote;
			continue;
		}
		if (*p == '\'' || *p == '"')
			quote = *p;
		else if (*p == '?' && p[1] >= '0' && p[1] <= '9')
			*p = '$';
	}
	return out;
}

/* q's name on c, prepared now if it is new there. */
static int pg_prepare(struct pg_conn *c, const struct sql_stmt *q,
		      char name[32], struct err *e)
{
	PGresult *r;
	const char *text;
	char *sql;
	size_t len;

	snprintf(name, 32, "c%" PRIxPTR, (uintptr_t)q);
	for (size_t i = 0; i < c->nprep; i++)
		if (c->prep[i] == q)
			return 0;
	text = sql_text(q, &sql_pg, &len);
	if (!text)
		return err_set(e, ERR_INTERNAL, "%s: no text", q->what);
	sql = pg_placeholders(text, len);
	r = PQprepare(c->db, name, sql, 0, NULL);
	free(sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(c->db, r, q->what, e);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (c->nprep == c->aprep) {
		c->aprep = c->aprep ? 2 * c->aprep : 32;
		c->prep = xrealloc(c->prep, c->aprep * sizeof(*c->prep));
	}
	c->prep[c->nprep++] = q;
	return 0;
}

#define PG_PARAMS_MAX 12

/* Runs q; the result (owned by the caller) or NULL with e set. */
static PGresult *pg_vexec(struct pg_conn *c, const struct sql_stmt *q,
			  struct err *e, const char *fmt, va_list ap)
{
	char name[32], nums[PG_PARAMS_MAX][24];
	const char *vals[PG_PARAMS_MAX];
	int n = 0;
	PGresult *r;
	ExecStatusType st;

	for (; *fmt && n < PG_PARAMS_MAX; fmt++, n++) {
		if (*fmt == 'i') {
			snprintf(nums[n], sizeof(nums[n]), "%" PRId64,
				 va_arg(ap, int64_t));
			vals[n] = nums[n];
		} else {
			vals[n] = va_arg(ap, const char *);
		}
	}
	if (*fmt) {
		err_set(e, ERR_INTERNAL, "%s: too many parameters", q->what);
		return NULL;
	}
	if (pg_prepare(c, q, name, e) < 0)
		return NULL;
	r = PQexecPrepared(c->db, name, n, vals, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(c->db, r, q->what, e);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* A row reader of either kind: the engine's own (fn) or the SQL
 * layer's (gfn). */
struct pg_reader {
	pg_row_fn fn;
	sql_row_fn gfn;
	void *arg;
};

static int pg_read(const struct pg_reader *rd, PGresult *r, int i,
		   struct err *e)
{
	struct sql_row row = {&sql_pg, r, i};

	return rd->gfn ? rd->gfn(rd->arg, &row, e) : rd->fn(rd->arg, r, i, e);
}

/* Hands the rows of r to the reader; frees r. */
static int pg_rows(PGresult *r, const struct pg_reader *rd, struct err *e)
{
	int rows = PQntuples(r), ret = rows, rc;

	if (PQresultStatus(r) == PGRES_COMMAND_OK) {
		const char *t = PQcmdTuples(r);

		ret = *t ? (int)strtol(t, NULL, 10) : 0;
		goto out;
	}
	for (int i = 0; (rd->fn || rd->gfn) && i < rows; i++) {
		rc = pg_read(rd, r, i, e);
		if (rc < 0) {
			ret = -1;
			goto out;
		}
		if (rc > 0) {
			ret = i + 1;
			break;
		}
	}
out:
	PQclear(r);
	return ret;
}

int pg_run(struct pg_conn *c, const struct sql_stmt *q, pg_row_fn fn, void *arg,
	   struct err *e, const char *fmt, ...)
{
	struct pg_reader rd = {fn, NULL, arg};
	PGresult *r;
	va_list ap;

	va_start(ap, fmt);
	r = pg_vexec(c, q, e, fmt, ap);
	va_end(ap);
	return r ? pg_rows(r, &rd, e) : -1;
}

static int pg_vdo(struct pg *pg, const struct sql_stmt *q,
		  const struct pg_reader *rd, struct err *e, const char *fmt,
		  va_list ap)
{
	struct pg_conn *c;
	PGresult *r;

	if (!sql_runs(q, &sql_pg))
		return 0;
	c = pg_get(pg, e);
	if (!c)
		return -1;
	r = pg_vexec(c, q, e, fmt, ap);
	pg_put(pg, c);
	return r ? pg_rows(r, rd, e) : -1;
}

int pg_do(struct pg *pg, const struct sql_stmt *q, pg_row_fn fn, void *arg,
	  struct err *e, const char *fmt, ...)
{
	struct pg_reader rd = {fn, NULL, arg};
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = pg_vdo(pg, q, &rd, e, fmt, ap);
	va_end(ap);
	return ret;
}

int pg_row_int64(void *arg, PGresult *r, int row, struct err *e)
{
	(void)e;
	*(int64_t *)arg = pg_col_int64(r, row, 0);
	return 0;
}

/* Whether the last failure on c was one that running again can cure. */
static bool pg_retryable(PGconn *db, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	(void)db;
	return state && (!strcmp(state, "40001") || !strcmp(state, "40P01"));
}

static int pg_commit(struct pg_conn *c, bool *retry, struct err *e)
{
	PGresult *r = PQexec(c->db, "COMMIT");
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*retry = pg_retryable(c->db, r);
		ret = pg_fail(c->db, r, "commit", e);
	}
	PQclear(r);
	return ret;
}

/* pg_txn() for either kind of transaction body. */
static int pg_vtxn(struct pg *pg, pg_txn_fn fn, sql_txn_fn gfn, const void *arg,
		   bool lazy, struct err *e)
{
	struct pg_conn *c = NULL;
	int ret = -1;

	for (int attempt = 0; attempt < 5; attempt++) {
		struct err sub = ERR_INIT;
		bool retry = false;

		bool ran;

		c = pg_get(pg, e);
		if (!c)
			return -1;
		ran = pg_exec(c, "BEGIN", "begin", &sub) == 0 &&
		      (!lazy || pg_exec(c, "SET LOCAL synchronous_commit = off",
					"lazy", &sub) == 0) &&
		      (gfn ? gfn(&c->base, arg, &sub) : fn(c, arg, &sub)) >= 0;
		if (ran && pg_commit(c, &retry, &sub) == 0) {
			ret = 0;
			goto out;
		}
		/* 40001/40P01 arrive as the statement's error too; a pooled
		 * session that broke (the server restarted) before COMMIT
		 * committed nothing. */
		retry = retry || strstr(sub.msg, "deadlock detected") ||
			strstr(sub.msg, "could not serialize") ||
			(!ran && PQstatus(c->db) != CONNECTION_OK);
		pg_put(pg, c);
		c = NULL;
		if (!retry) {
			err_set(e, sub.code, "%s", sub.msg);
			return -1;
		}
		log_msg(LL_DEBUG, "PostgreSQL: %s; running again", sub.msg);
		if (attempt == 4)
			err_set(e, sub.code, "%s", sub.msg);
	}
out:
	pg_put(pg, c);
	return ret;
}

int pg_txn(struct pg *pg, pg_txn_fn fn, const void *arg, struct err *e)
{
	return pg_vtxn(pg, fn, NULL, arg, false, e);
}

const char *pg_col_text(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int pg_col_digest(PGresult *r, int row, int col, struct digest *out,
		  struct err *e)
{
	const char *t = pg_col_text(r, row, col);

	if (!t || digest_parse(t, strlen(t), out, NULL) < 0)
		return err_set(e, ERR_DB,
			       "PostgreSQL: malformed digest '%.80s'",
			       t ? t : "(null)");
	return 0;
}

char *pg_col_strdup(PGresult *r, int row, int col)
{
	const char *t = pg_col_text(r, row, col);

	return t ? xstrdup(t) : NULL;
}

int64_t pg_col_int64(PGresult *r, int row, int col)
{
	const char *t = pg_col_text(r, row, col);

	if (!t)
		return 0;
	if (!strcmp(t, "t"))
		return 1;
	return strtoll(t, NULL, 10);
}

/* --- The SQL layer's driver (sql_int.h) ------------------------------------
 */

static int pg_drv_run(struct sql_conn *c, const struct sql_stmt *q,
		      sql_row_fn fn, void *arg, struct err *e, const char *fmt,
		      va_list ap)
{
	struct pg_reader rd = {NULL, fn, arg};
	PGresult *r;

	if (!sql_runs(q, &sql_pg))
		return 0;
	r = pg_vexec((struct pg_conn *)c, q, e, fmt, ap);
	return r ? pg_rows(r, &rd, e) : -1;
}

static int pg_drv_do(struct sql_db *db, const struct sql_stmt *q, sql_row_fn fn,
		     void *arg, struct err *e, const char *fmt, va_list ap)
{
	struct pg_reader rd = {NULL, fn, arg};

	return pg_vdo((struct pg *)db, q, &rd, e, fmt, ap);
}

static int pg_drv_txn(struct sql_db *db, sql_txn_fn fn, const void *arg,
		      bool lazy, struct err *e)
{
	return pg_vtxn((struct pg *)db, NULL, fn, arg, lazy, e);
}

static const char *pg_drv_text(const struct sql_row *r, int col)
{
	return pg_col_text(r->res, r->row, col);
}

static int64_t pg_drv_int64(const struct sql_row *r, int col)
{
	return pg_col_int64(r->res, r->row, col);
}

static int pg_drv_count(const struct sql_row *r)
{
	return PQnfields(r->res);
}

static void pg_drv_owner(struct sql_db *db, char pid[24], char start[64])
{
	pg_owner((struct pg *)db, pid, start);
}

/* Foreign keys and checks are the server's own; what is left to look at
 * is the schema's version (stor_maint_ops.check). */
struct pg_check {
	stor_row_fn fn;
	void *arg;
};

static int pg_check_row(void *arg, PGresult *res, int row, struct err *e)
{
	const struct pg_check *x = arg;
	struct stor_row r;

	memset(&r, 0, sizeof(r));
	r.name = pg_col_text(res, row, 0);
	return x->fn(x->arg, &r, e) < 0 ? -1 : 0;
}

static int pg_check(struct stor_meta *m, stor_row_fn fn, void *arg,
		    struct err *e)
{
	static const struct sql_stmt q = {
		"check schema version",
		"SELECT 'schema_version: ' || count(*) || ' rows'"
		" FROM schema_version HAVING count(*) <> 1",
	};
	struct pg_check x = {fn, arg};

	return pg_do(pg_of(m), &q, pg_check_row, &x, e, "") < 0 ? -1 : 0;
}

const struct sql_driver sql_pg = {
	.name = "PostgreSQL",
	.run = pg_drv_run,
	.run_do = pg_drv_do,
	.txn = pg_drv_txn,
	.col_text = pg_drv_text,
	.col_int64 = pg_drv_int64,
	.col_count = pg_drv_count,
	.free = pg_free,
	.owner = pg_drv_owner,
	.on_final = pg_on_final,
	.check = pg_check,
	.pin = pg_pin,
	.unpin = pg_unpin,
};

/* --- Pins: gc against pushes on every node -------------------------------- */

/* Runs SELECT fn(key): one of the advisory lock functions. */
static int pg_lock_run(struct pg_conn *c, const char *fn, long long key,
		       struct err *e)
{
	char q[128];

	snprintf(q, sizeof(q), "SELECT %s(%lld)", fn, key);
	return pg_exec(c, q, fn, e);
}

int pg_pin(struct stor_meta *m, bool exclusive, struct err *e)
{
	struct pg *pg = pg_of(m);
	struct pg_conn **slot = exclusive ? &pg->pin_excl : &pg->pin_shared;
	int ret = 0;

	pthread_mutex_lock(&pg->pin_lock);
	if (!exclusive && pg->nshared++ > 0)
		goto out;
	/* A session of its own: the lock is the session's, and ends with
	 * it if this node dies. */
	if (!*slot || PQstatus((*slot)->db) != CONNECTION_OK) {
		pg_conn_free(*slot);
		*slot = pg_conn_open(pg->conninfo, e);
	}
	if (!*slot || pg_lock_run(*slot,
				  exclusive ? "pg_advisory_lock"
					    : "pg_advisory_lock_shared",
				  PG_KEY_PIN, e) < 0) {
		ret = -1;
		if (!exclusive)
			pg->nshared--;
	}
out:
	pthread_mutex_unlock(&pg->pin_lock);
	return ret;
}

void pg_unpin(struct stor_meta *m, bool exclusive)
{
	struct pg *pg = pg_of(m);
	struct pg_conn **slot = exclusive ? &pg->pin_excl : &pg->pin_shared;
	struct err e = ERR_INIT;

	pthread_mutex_lock(&pg->pin_lock);
	if (!exclusive && (!pg->nshared || --pg->nshared > 0))
		goto out;
	if (*slot && pg_lock_run(*slot,
				 exclusive ? "pg_advisory_unlock"
					   : "pg_advisory_unlock_shared",
				 PG_KEY_PIN, &e) < 0) {
		/* Closing the session is what releases it then. */
		log_msg(LL_WARN, "%s", e.msg);
		pg_conn_free(*slot);
		*slot = NULL;
	}
out:
	pthread_mutex_unlock(&pg->pin_lock);
}

/* --- The listener: scan completions from every node ----------------------- */

void pg_on_final(struct stor_meta *m,
		 void (*fn)(void *arg, const struct digest *dg), void *arg)
{
	struct pg *pg = pg_of(m);

	pthread_mutex_lock(&pg->cb_lock);
	pg->on_final = fn;
	pg->on_final_arg = arg;
	pthread_mutex_unlock(&pg->cb_lock);
}

void pg_owner(struct pg *pg, char pid[24], char start[64])
{
	pthread_mutex_lock(&pg->cb_lock);
	memcpy(pid, pg->owner_pid, 24);
	memcpy(start, pg->owner_start, 64);
	pthread_mutex_unlock(&pg->cb_lock);
}

static void pg_set_owner(struct pg *pg, PGconn *db)
{
	PGresult *r = db ? PQexec(db, "SELECT pg_backend_pid(), backend_start"
				      " FROM pg_stat_activity"
				      " WHERE pid = pg_backend_pid()")
			 : NULL;
	bool ok =
		r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

	pthread_mutex_lock(&pg->cb_lock);
	snprintf(pg->owner_pid, sizeof(pg->owner_pid), "%s",
		 ok ? PQgetvalue(r, 0, 0) : "");
	snprintf(pg->owner_start, sizeof(pg->owner_start), "%s",
		 ok ? PQgetvalue(r, 0, 1) : "");
	pthread_mutex_unlock(&pg->cb_lock);
	PQclear(r);
}

static void pg_notified(struct pg *pg, const PGnotify *n)
{
	void (*fn)(void *arg, const struct digest *dg);
	struct digest dg;
	void *arg;

	if (strcmp(n->relname, PG_SCAN_CHANNEL) ||
	    digest_parse(n->extra, strlen(n->extra), &dg, NULL) < 0)
		return;
	pthread_mutex_lock(&pg->cb_lock);
	fn = pg->on_final;
	arg = pg->on_final_arg;
	/* Called under the lock: pg_on_final(NULL) then knows that no
	 * call is left running. */
	if (fn)
		fn(arg, &dg);
	pthread_mutex_unlock(&pg->cb_lock);
}

/* Waits up to ms for input on db or a stop; true to stop. */
static bool pg_listen_wait(struct pg *pg, PGconn *db, int ms)
{
	struct pollfd p[2] = {{pg->stop_fd[0], POLLIN, 0},
			      {db ? PQsocket(db) : -1, POLLIN, 0}};

	while (poll(p, db ? 2 : 1, ms) < 0)
		if (errno != EINTR)
			return true;
	return p[0].revents != 0;
}

/* A session that listens, and names this node as the owner of jobs. */
static struct pg_conn *pg_listen_open(struct pg *pg, struct err *e)
{
	struct pg_conn *c = pg_conn_open(pg->conninfo, e);

	if (c && pg_exec(c, "LISTEN " PG_SCAN_CHANNEL, "listen", e) < 0) {
		pg_conn_free(c);
		c = NULL;
	}
	pg_set_owner(pg, c ? c->db : NULL);
	return c;
}

static void *pg_listen_main(void *arg)
{
	struct pg *pg = arg;
	struct pg_conn *c = pg->listen_conn;
	struct err e = ERR_INIT;
	PGnotify *n;

	pg->listen_conn = NULL;
	for (;;) {
		if (!c) {
			c = pg_listen_open(pg, &e);
			if (!c)
				log_msg(LL_WARN, "%s (listening again in 1s)",
					e.msg);
		}
		if (pg_listen_wait(pg, c ? c->db : NULL, c ? -1 : 1000))
			break;
		if (!c)
			continue;
		if (!PQconsumeInput(c->db) ||
		    PQstatus(c->db) != CONNECTION_OK) {
			log_msg(LL_WARN, "PostgreSQL listener: %s",
				PQerrorMessage(c->db));
			pg_conn_free(c);
			c = NULL;
			pg_set_owner(pg, NULL);
			continue;
		}
		while ((n = PQnotifies(c->db))) {
			pg_notified(pg, n);
			PQfreemem(n);
		}
	}
	pg_conn_free(c);
	return NULL;
}

/* --- Setup ---------------------------------------------------------------- */

static int pg_version_row(void *arg, PGresult *r, int row, struct err *e)
{
	return pg_row_int64(arg, r, row, e);
}

static int pg_migrate_fn(struct pg_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt version = {
		"read schema version",
		"SELECT coalesce(max(version), 0) FROM schema_version",
	};
	static const struct sql_stmt set = {
		"set schema version",
		"UPDATE schema_version SET version = $1",
	};
	static const struct sql_stmt first = {
		"set schema version",
		"INSERT INTO schema_version (version) SELECT $1"
		" WHERE NOT EXISTS (SELECT 1 FROM schema_version)",
	};
	int64_t v = 0;

	(void)arg;
	if (pg_lock_run(c, "pg_advisory_xact_lock", PG_KEY_MIGRATE, e) < 0 ||
	    pg_exec(c,
		    "CREATE TABLE IF NOT EXISTS schema_version"
		    " (version INTEGER NOT NULL)",
		    "create schema_version", e) < 0 ||
	    pg_run(c, &version, pg_version_row, &v, e, "") < 0)
		return -1;
	if (v > PG_VERSION)
		return err_set(e, ERR_DB,
			       "PostgreSQL: schema version %lld is newer than "
			       "this customs knows (%d)",
			       (long long)v, PG_VERSION);
	if (v == PG_VERSION)
		return 0;
	for (; v < PG_VERSION; v++)
		if (pg_exec(c, pg_migrations[v], "migrate schema", e) < 0)
			return -1;
	if (pg_run(c, &first, NULL, NULL, e, "i", (int64_t)PG_VERSION) < 0 ||
	    pg_run(c, &set, NULL, NULL, e, "i", (int64_t)PG_VERSION) < 0)
		return -1;
	log_msg(LL_INFO, "PostgreSQL: schema at version %d", PG_VERSION);
	return 0;
}

/* At a clean close: this node's running jobs are free to take at once
 * (its workers stopped; a restart recovers them as sqlite's would). */
static int pg_scan_release(struct pg *pg, struct err *e)
{
	static const struct sql_stmt q = {
		"release scan jobs",
		"UPDATE scan_jobs SET lease = 0, owner_pid = NULL"
		" WHERE state = 'running' AND owner_pid = $1::integer"
		" AND owner_start = $2::timestamptz",
	};
	char pid[24], start[64];

	pg_owner(pg, pid, start);
	if (!*pid)
		return 0;
	return pg_do(pg, &q, NULL, NULL, e, "ss", pid, start) < 0 ? -1 : 0;
}

void pg_free(struct stor_meta *m)
{
	struct pg *pg = pg_of(m);
	struct pg_conn *c;

	if (!pg)
		return;
	if (pg->listening) {
		struct err e = ERR_INIT;
		ssize_t w;

		if (pg_scan_release(pg, &e) < 0)
			log_msg(LL_WARN, "%s", e.msg);
		w = write(pg->stop_fd[1], "x", 1);
		(void)w;
		pthread_join(pg->listener, NULL);
	}
	pg_conn_free(pg->listen_conn);
	if (pg->stop_fd[0] >= 0) {
		close(pg->stop_fd[0]);
		close(pg->stop_fd[1]);
	}
	while ((c = pg->idle)) {
		pg->idle = c->next;
		pg_conn_free(c);
	}
	pg_conn_free(pg->pin_shared);
	pg_conn_free(pg->pin_excl);
	pthread_mutex_destroy(&pg->lock);
	pthread_cond_destroy(&pg->freed);
	pthread_mutex_destroy(&pg->pin_lock);
	pthread_mutex_destroy(&pg->cb_lock);
	free(pg->conninfo);
	free(pg);
}

bool stor_meta_is_pg(const char *url)
{
	return url && (!strncmp(url, "postgres://", 11) ||
		       !strncmp(url, "postgresql://", 13) || strchr(url, '='));
}

struct stor_meta *stor_pg_new(const char *conninfo, struct err *e)
{
	struct pg *pg = xcalloc(1, sizeof(*pg));
	struct pg_conn *c;

	pg->db.drv = &sql_pg;
	pg->db.base.ops = &sql_meta_ops;
	pg->db.base.scanq = &sql_scanq_ops;
	pg->db.base.maint = &sql_maint_ops;
	pg->db.base.outbox = &sql_outbox_ops;
	pg->conninfo = xstrdup(conninfo);
	pg->stop_fd[0] = pg->stop_fd[1] = -1;
	pthread_mutex_init(&pg->lock, NULL);
	pthread_cond_init(&pg->freed, NULL);
	pthread_mutex_init(&pg->pin_lock, NULL);
	pthread_mutex_init(&pg->cb_lock, NULL);
	if (pg_txn(pg, pg_migrate_fn, NULL, e) < 0)
		goto fail;
	c = pg_get(pg, e);
	if (!c)
		goto fail;
	log_msg(LL_INFO, "metadata in PostgreSQL %s@%s:%s/%s", PQuser(c->db),
		PQhost(c->db), PQport(c->db), PQdb(c->db));
	pg_put(pg, c);
	if (pipe(pg->stop_fd) < 0 ||
	    fcntl(pg->stop_fd[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(pg->stop_fd[1], F_SETFD, FD_CLOEXEC) < 0) {
		err_errno(e, ERR_INTERNAL, errno, "pipe");
		goto fail;
	}
	/* Connected before the first claim, which names it. */
	pg->listen_conn = pg_listen_open(pg, e);
	if (!pg->listen_conn)
		goto fail;
	if (pthread_create(&pg->listener, NULL, pg_listen_main, pg)) {
		err_set(e, ERR_INTERNAL,
			"cannot start the PostgreSQL listener");
		goto fail;
	}
	pg->listening = true;
	return &pg->db.base;
fail:
	pg_free(&pg->db.base);
	return NULL;
}
