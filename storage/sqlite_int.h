/* sqlite_int.h: the sqlite3 driver of the SQL layer (sql_int.h).
 *
 * sqlite.c is the engine: the schema, the connection pool, the statement
 * cache, the writer mutex and the one function that runs a statement
 * (sq_run()).  The vtables are the SQL layer's (meta_sql.c, scan_sql.c,
 * maint_sql.c, outbox_sql.c).  Nothing outside storage/ includes this.
 */
#ifndef STORAGE_SQLITE_INT_H
#define STORAGE_SQLITE_INT_H

#include "storage/sql_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define SQ_BUSY_MS 10000

/* A statement as prepared on one connection. */
struct sq_cached {
	const struct sql_stmt *q;
	sqlite3_stmt *s;
};

struct sq_conn {
	struct sql_conn base; /* first */
	sqlite3 *db;
	struct sq_cached *stmts;
	size_t nstmts, astmts;
	int wal_pages; /* the WAL's size after this connection's last commit */
	struct sq_conn *next;
};

struct sq {
	struct sql_db db; /* first */
	char *path;
	pthread_mutex_t lock; /* guards idle */
	struct sq_conn *idle;
	/* This process's writers take turns here: one that found the
	 * database locked would otherwise sleep in sqlite's busy handler
	 * (1 to 100 ms steps) long after the writer before it is done. */
	pthread_mutex_t wlock;
};

struct sq *sq_of(struct stor_meta *m);
int64_t sq_now(void);
/* sqlite's message goes into the detail, which only the log sees. */
int sq_fail(sqlite3 *db, const char *what, struct err *e);

/* Reads the current row of a statement (its columns stay valid until it
 * returns): < 0 fails (e set), 0 asks for the next row, > 0 stops. */
typedef int (*sq_row_fn)(void *arg, sqlite3_stmt *s, struct err *e);
/* Runs q on c with its parameters bound as fmt says: 's' a string (NULL
 * binds NULL), 'i' an int64_t; strings are borrowed for the call.  Each
 * row goes to fn (NULL: rows are only counted); fn must not run q again
 * on c.  Returns how many rows fn was given or, for a statement without
 * result columns, how many rows it changed; -1 on failure. */
int sq_run(struct sq_conn *c, const struct sql_stmt *q, sq_row_fn fn, void *arg,
	   struct err *e, const char *fmt, ...);
/* sq_run() on a connection borrowed for the call. */
int sq_do(struct sq *sq, const struct sql_stmt *q, sq_row_fn fn, void *arg,
	  struct err *e, const char *fmt, ...);
/* A row reader for sq_run(): column 0 into the int64_t at arg. */
int sq_row_int64(void *arg, sqlite3_stmt *s, struct err *e);

typedef int (*sq_txn_fn)(struct sq_conn *c, const void *arg, struct err *e);
/* Runs fn inside BEGIN IMMEDIATE ... COMMIT on a borrowed connection;
 * any failure rolls everything back. */
int sq_txn(struct sq *sq, sq_txn_fn fn, const void *arg, struct err *e);

/* Parses a digest column; a malformed one means a damaged database. */
int sq_col_digest(sqlite3_stmt *s, int col, struct digest *out, struct err *e);
char *sq_col_strdup(sqlite3_stmt *s, int col);

void sq_free(struct stor_meta *m);

#endif
