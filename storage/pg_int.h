/* pg_int.h: the PostgreSQL driver of the SQL layer (sql_int.h).
 *
 * pg.c is the engine: the schema and its migrations, the bounded
 * connection pool, the one function that runs a statement (pg_run()), the
 * pins of gc (advisory locks) and the listener of scan completions
 * (LISTEN/NOTIFY).  The vtables are the SQL layer's (meta_sql.c,
 * scan_sql.c, maint_sql.c, outbox_sql.c), with PostgreSQL's own statement
 * texts where its SQL differs.  Nothing outside storage/ includes this.
 */
#ifndef STORAGE_PG_INT_H
#define STORAGE_PG_INT_H

#include "storage/sql_int.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Connections open at once in the pool; a thread holds at most one. */
#define PG_POOL_MAX 16

struct pg_conn {
	struct sql_conn base; /* first */
	PGconn *db;
	const struct sql_stmt **prep; /* prepared here, named by address */
	size_t nprep, aprep;
	struct pg_conn *next;
};

struct pg {
	struct sql_db db; /* first */
	char *conninfo;
	pthread_mutex_t lock; /* guards idle, nopen */
	pthread_cond_t freed;
	struct pg_conn *idle;
	size_t nopen;

	/* Pins (see stor_pin()): shared ones of this process share one
	 * session's shared advisory lock; an exclusive one holds its own. */
	pthread_mutex_t pin_lock;
	struct pg_conn *pin_shared, *pin_excl;
	size_t nshared;

	/* The listener: its session also names this node as the owner of
	 * the scan jobs it claims (a job whose owner's session is gone is
	 * taken again without waiting for its lease). */
	pthread_t listener;
	bool listening;
	struct pg_conn *listen_conn; /* until the listener takes it */
	int stop_fd[2];
	pthread_mutex_t cb_lock; /* guards on_final, owner */
	void (*on_final)(void *arg, const struct digest *dg);
	void *on_final_arg;
	char owner_pid[24], owner_start[64]; /* "" while not connected */
};

struct pg *pg_of(struct stor_meta *m);
int64_t pg_now(void);

/* Reads row `row` of a result: < 0 fails (e set), 0 asks for the next row,
 * > 0 stops. */
typedef int (*pg_row_fn)(void *arg, PGresult *r, int row, struct err *e);
/* Runs q on c with its parameters as fmt says: 's' a string (NULL binds
 * NULL), 'i' an int64_t; strings are borrowed.  Each row goes to fn (NULL:
 * rows are only counted).  Returns how many rows fn was given or, for a
 * statement without a result, how many rows it changed; -1 on failure. */
int pg_run(struct pg_conn *c, const struct sql_stmt *q, pg_row_fn fn, void *arg,
	   struct err *e, const char *fmt, ...);
/* pg_run() on a connection borrowed for the statement alone: fn runs after
 * the connection is given back, so it may use the store. */
int pg_do(struct pg *pg, const struct sql_stmt *q, pg_row_fn fn, void *arg,
	  struct err *e, const char *fmt, ...);
int pg_row_int64(void *arg, PGresult *r, int row, struct err *e);

typedef int (*pg_txn_fn)(struct pg_conn *c, const void *arg, struct err *e);
/* Runs fn inside BEGIN ... COMMIT on a borrowed connection; any failure
 * rolls back.  A deadlock or serialization failure runs it again. */
int pg_txn(struct pg *pg, pg_txn_fn fn, const void *arg, struct err *e);

int pg_col_digest(PGresult *r, int row, int col, struct digest *out,
		  struct err *e);
/* NULL for SQL NULL. */
const char *pg_col_text(PGresult *r, int row, int col);
char *pg_col_strdup(PGresult *r, int row, int col);
int64_t pg_col_int64(PGresult *r, int row, int col);

void pg_free(struct stor_meta *m);
/* Pins (stor_maint_ops.pin/unpin) and completion callbacks
 * (stor_scanq_ops.on_final), in pg.c. */
int pg_pin(struct stor_meta *m, bool exclusive, struct err *e);
void pg_unpin(struct stor_meta *m, bool exclusive);
void pg_on_final(struct stor_meta *m,
		 void (*fn)(void *arg, const struct digest *dg), void *arg);
/* This node's listener session as the owner of claimed scan jobs: both
 * NULL while it is not connected. */
void pg_owner(struct pg *pg, char pid[24], char start[64]);

#endif
