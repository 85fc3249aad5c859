/* sql_int.h: the metadata backends' one SQL layer.
 *
 * The vtables of struct stor_meta are written once, against this layer:
 * outbox_sql.c (the events outbox), and the others as they move here.
 * Two drivers serve it: sqlite.c (meta.db, its statement cache and writer
 * mutex) and pg.c (PostgreSQL, its pool, pins and listener).  A statement
 * is written once in the form sqlite takes (placeholders ?N, which the
 * PostgreSQL driver prepares as $N); where the engines' SQL differs
 * (upserts, row locks, advisory locks) it carries a driver's own text.
 * Nothing outside storage/ includes this.
 */
#ifndef STORAGE_SQL_INT_H
#define STORAGE_SQL_INT_H

#include "storage/storage_int.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* A statement, defined beside the function that runs it:
 *
 *	static const struct sql_stmt q = {
 *		"delete tag",
 *		"DELETE FROM tags WHERE repo = ?1 AND tag = ?2",
 *	};
 *
 * Each connection prepares it on first use and keeps it, found by its
 * address, so it must have static storage.  Where PostgreSQL needs its
 * own text, SQL_PG() follows sqlite's:
 *
 *	"SELECT seq FROM c WHERE id = ?1" SQL_PG("... FOR UPDATE"),
 *
 * and an empty text runs nothing on that engine (0 rows): SQL_PG("") or
 * "" SQL_PG("SELECT pg_advisory_xact_lock(1)"). */
struct sql_stmt {
	const char *what; /* for error messages: "delete tag" */
	const char *sql;
};

#define SQL_PG_MARK  '\x01'
#define SQL_PG(text) "\x01" text

/* PostgreSQL's NOTIFY channel of scan completions (scan_sql.c notifies,
 * pg.c listens); the payload is the digest. */
#define PG_SCAN_CHANNEL "customs_scan"

struct sql_driver;

/* A connection borrowed from a driver: the first member of its own. */
struct sql_conn {
	const struct sql_driver *drv;
};

/* An open metadata store: the first member of the driver's own. */
struct sql_db {
	struct stor_meta base;
	const struct sql_driver *drv;
};

/* The row a row reader is given; its columns stay valid until it
 * returns. */
struct sql_row {
	const struct sql_driver *drv;
	void *res; /* sqlite3_stmt or PGresult */
	int row;
};

/* Reads the current row: < 0 fails (e set), 0 asks for the next row, > 0
 * stops. */
typedef int (*sql_row_fn)(void *arg, const struct sql_row *r, struct err *e);
typedef int (*sql_txn_fn)(struct sql_conn *c, const void *arg, struct err *e);

struct sql_driver {
	const char *name; /* in error messages: "meta.db", "PostgreSQL" */
	int (*run)(struct sql_conn *c, const struct sql_stmt *q, sql_row_fn fn,
		   void *arg, struct err *e, const char *fmt, va_list ap);
	int (*run_do)(struct sql_db *db, const struct sql_stmt *q,
		      sql_row_fn fn, void *arg, struct err *e, const char *fmt,
		      va_list ap);
	/* lazy: see sql_txn_lazy(). */
	int (*txn)(struct sql_db *db, sql_txn_fn fn, const void *arg, bool lazy,
		   struct err *e);
	const char *(*col_text)(const struct sql_row *r, int col);
	int64_t (*col_int64)(const struct sql_row *r, int col);
	int (*col_count)(const struct sql_row *r);
	void (*free)(struct stor_meta *m);
	/* The session that owns the scan jobs this node claims ("" while
	 * there is none: sqlite's jobs have no owner). */
	void (*owner)(struct sql_db *db, char pid[24], char start[64]);
	/* stor_scanq_ops.on_final, NULL when nothing is heard from other
	 * nodes. */
	void (*on_final)(struct stor_meta *m,
			 void (*fn)(void *arg, const struct digest *dg),
			 void *arg);
	/* stor_maint_ops.check: the engine's own checks. */
	int (*check)(struct stor_meta *m, stor_row_fn fn, void *arg,
		     struct err *e);
	/* stor_maint_ops.pin/unpin, NULL where gc.lock is enough. */
	int (*pin)(struct stor_meta *m, bool exclusive, struct err *e);
	void (*unpin)(struct stor_meta *m, bool exclusive);
};

extern const struct sql_driver sql_sqlite;
extern const struct sql_driver sql_pg;

struct sql_db *sql_db_of(struct stor_meta *m);
/* Whether m is served by driver d. */
bool sql_is(struct stor_meta *m, const struct sql_driver *d);
/* q's text on driver d and its length: NULL when it runs nothing
 * there. */
const char *sql_text(const struct sql_stmt *q, const struct sql_driver *d,
		     size_t *len);
/* Whether q runs anything on driver d. */
bool sql_runs(const struct sql_stmt *q, const struct sql_driver *d);

/* Runs q on c with its parameters bound as fmt says: 's' a string (NULL
 * binds NULL), 'i' an int64_t; strings are borrowed for the call.  Each
 * row goes to fn (NULL: rows are only counted); fn must not run q again
 * on c.  Returns how many rows fn was given or, for a statement without
 * result columns, how many rows it changed; -1 on failure. */
int sql_run(struct sql_conn *c, const struct sql_stmt *q, sql_row_fn fn,
	    void *arg, struct err *e, const char *fmt, ...);
/* sql_run() on a connection borrowed for the statement alone. */
int sql_do(struct stor_meta *m, const struct sql_stmt *q, sql_row_fn fn,
	   void *arg, struct err *e, const char *fmt, ...);
/* Runs fn inside one transaction on a borrowed connection; any failure
 * rolls everything back (PostgreSQL runs it again after a deadlock or a
 * serialization failure). */
int sql_txn(struct stor_meta *m, sql_txn_fn fn, const void *arg, struct err *e);
/* sql_txn() whose commit does not wait for the disk: a crash of the
 * machine may lose the transaction, whole, and nothing after it (the log
 * is written in order: the next commit that syncs, or the checkpoint,
 * makes it durable).  For work that is done again when it is lost. */
int sql_txn_lazy(struct stor_meta *m, sql_txn_fn fn, const void *arg,
		 struct err *e);

/* Columns: NULL (0) for SQL NULL; a boolean reads as 0 or 1. */
const char *sql_col_text(const struct sql_row *r, int col);
int64_t sql_col_int64(const struct sql_row *r, int col);
char *sql_col_strdup(const struct sql_row *r, int col);
int sql_col_count(const struct sql_row *r);
/* A malformed digest means a damaged database. */
int sql_col_digest(const struct sql_row *r, int col, struct digest *out,
		   struct err *e);
/* A row reader: column 0 into the int64_t at arg. */
int sql_row_int64(void *arg, const struct sql_row *r, struct err *e);

int64_t sql_now(void);
int64_t sql_now_ms(void);

/* The vtables written once (meta_sql.c, scan_sql.c, maint_sql.c,
 * outbox_sql.c). */
extern const struct stor_meta_ops sql_meta_ops;
extern const struct stor_scanq_ops sql_scanq_ops;
extern const struct stor_maint_ops sql_maint_ops;
extern const struct stor_outbox_ops sql_outbox_ops;
/* Closes the store: its driver's own. */
void sql_free(struct stor_meta *m);
void sql_owner(struct stor_meta *m, char pid[24], char start[64]);
/* The driver's hooks of stor_maint_ops. */
int sql_check(struct stor_meta *m, stor_row_fn fn, void *arg, struct err *e);
int sql_pin(struct stor_meta *m, bool exclusive, struct err *e);
void sql_unpin(struct stor_meta *m, bool exclusive);
void sql_on_final(struct stor_meta *m,
		  void (*fn)(void *arg, const struct digest *dg), void *arg);
/* Adds (or re-arms) dg's scan job inside the caller's transaction, as
 * stor_scan_enqueue() does: a manifest PUT with enqueue_scan. */
int sql_scan_add(struct sql_conn *c, const char *ds, const char *repo,
		 int64_t now, struct err *e);
/* stor_scan_done() / stor_scan_fail() inside the caller's transaction. */
int sql_scan_finish_in(struct sql_conn *c, const struct stor_scan_job *job,
		       bool fail, const char *why, int64_t retry_at,
		       struct err *e);
/* Manifest and tag deletes inside the caller's transaction (ds: the
 * digest as text); ERR_MANIFEST_UNKNOWN if absent. */
int sql_mf_delete_in(struct sql_conn *c, const char *repo, const char *ds,
		     struct err *e);
int sql_tag_delete_in(struct sql_conn *c, const char *repo, const char *tag,
		      struct err *e);
/* Stores a report referrer's rows (see struct stor_scan_referrer) inside
 * the caller's transaction: a re-match batch.  With put->if_subject and
 * the subject gone, nothing (no error). */
int sql_referrer_put(struct sql_conn *c, const struct stor_scan_referrer *r,
		     struct err *e);
/* Stores events inside the caller's transaction. */
int sql_outbox_put(struct sql_conn *c, const struct stor_event *v, size_t n,
		   struct err *e);

#endif
