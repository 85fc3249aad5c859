/* sqlite_int.h: what the sqlite3 metadata backend shares between its files.
 *
 * meta_sqlite.c holds the schema, every statement (sq_queries[]), the
 * connection pool and the repository/manifest/upload operations;
 * scan_sqlite.c the scan queue's operations on the same connections.
 * Nothing outside storage/ includes this.
 */
#ifndef STORAGE_SQLITE_INT_H
#define STORAGE_SQLITE_INT_H

#include "storage/storage_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#define SQ_BUSY_MS 10000

enum sq_q {
	SQ_REPO_ADD,
	SQ_REPO_EXISTS,
	SQ_BLOB_LINKED,
	SQ_BLOB_LINK,
	SQ_BLOB_UNLINK,
	SQ_UP_ADD,
	SQ_UP_FIND,
	SQ_UP_TOUCH,
	SQ_UP_DEL,
	SQ_MF_PUT,
	SQ_REFS_DEL,
	SQ_REF_ADD,
	SQ_TAG_PUT,
	SQ_SCAN_ADD,
	SQ_MF_BY_TAG,
	SQ_MF_BY_DIGEST,
	SQ_MF_TAGS_DEL,
	SQ_MF_DEL,
	SQ_TAG_DEL,
	SQ_TAGS,
	SQ_CATALOG,
	SQ_REFERRERS,
	/* The scan queue (scan_sqlite.c). */
	SQ_MF_REPOS,
	SQ_SCAN_ADD_CHILD,
	SQ_SCAN_CLAIM,
	SQ_SCAN_CLAIM_STALE,
	SQ_SCAN_RECOVER,
	SQ_SCAN_RESULT_PUT,
	SQ_SCAN_CHECKED,
	SQ_SCAN_DONE,
	SQ_SCAN_WAKE_PARENTS,
	SQ_SCAN_FAIL,
	SQ_SCAN_WAIT,
	SQ_SCAN_CHILD_STATE,
	SQ_SCAN_GET,
	SQ_SCAN_FORGET_JOB,
	SQ_SCAN_FORGET_RESULT,
	SQ_SCAN_REARM,
	SQ_SCAN_STATS,
	/* Upload limits and blob sizes. */
	SQ_UP_COUNT_REPO,
	SQ_UP_COUNT_CLIENT,
	SQ_BLOB_SIZE_PUT,
	SQ_BLOB_SIZE_GET,
	SQ__COUNT
};

/* What each query does (for error messages) and its SQL. */
struct sq_query {
	const char *what;
	const char *sql;
};
extern const struct sq_query sq_queries[SQ__COUNT];

struct sq_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQ__COUNT];
	struct sq_conn *next;
};

struct sq {
	struct stor_meta base;
	char *path;
	pthread_mutex_t lock; /* guards idle */
	struct sq_conn *idle;
};

struct sq *sq_of(struct stor_meta *m);
int64_t sq_now(void);
/* sqlite's message goes into the detail, which only the log sees. */
int sq_fail(sqlite3 *db, const char *what, struct err *e);
/* Borrows a connection; give it back with sq_put(). */
struct sq_conn *sq_get(struct sq *sq, struct err *e);
void sq_put(struct sq *sq, struct sq_conn *c);
void sq_reset(sqlite3_stmt *s);
/* Prepares query q (once per connection) and binds its parameters as fmt
 * says: 's' a string (NULL binds NULL), 'i' an int64_t.  Strings are
 * borrowed until sq_reset(). */
sqlite3_stmt *sq_bind(struct sq_conn *c, enum sq_q q, struct err *e,
		      const char *fmt, ...);
/* Runs a statement that returns no rows; *changes (if not NULL) gets the
 * number of rows it changed. */
int sq_run(struct sq_conn *c, enum sq_q q, int *changes, struct err *e,
	   const char *fmt, ...);
/* sq_run() on a connection borrowed for the call. */
int sq_do(struct sq *sq, enum sq_q q, int *changes, struct err *e,
	    const char *fmt, ...);
/* Steps a query expected to give at most one row: 1 for a row (the caller
 * reads it, then calls sq_reset()), 0 for none, -1 on failure. */
int sq_row(struct sq_conn *c, sqlite3_stmt *s, enum sq_q q, struct err *e);

typedef int (*sq_txn_fn)(struct sq_conn *c, const void *arg, struct err *e);
/* Runs fn inside BEGIN IMMEDIATE ... COMMIT on a borrowed connection;
 * any failure rolls everything back. */
int sq_txn(struct sq *sq, sq_txn_fn fn, const void *arg, struct err *e);

/* Parses a digest column; a malformed one means a damaged database. */
int sq_col_digest(sqlite3_stmt *s, int col, struct digest *out,
		  struct err *e);
char *sq_col_strdup(sqlite3_stmt *s, int col);
/* Collects column 0 of s's rows, at most n (n < 0: all). */
int sq_strings(struct sq_conn *c, sqlite3_stmt *s, enum sq_q q, long n,
	       char ***out, size_t *count, bool *more, struct err *e);

/* The scan-queue operations of struct stor_meta_ops (scan_sqlite.c). */
int sq_mf_repos(struct stor_meta *m, const struct digest *dg, char ***out,
		size_t *count, struct err *e);
int sq_scan_enqueue(struct stor_meta *m, const char *repo,
		    const struct digest *dg, bool if_absent, struct err *e);
int sq_scan_claim(struct stor_meta *m, int64_t lease_s,
		  struct stor_scan_job *job, struct err *e);
int sq_scan_recover(struct stor_meta *m, int max_attempts, size_t *n,
		    struct err *e);
int sq_scan_result_put(struct stor_meta *m, const struct digest *dg,
		       const struct stor_scan_result *r, struct err *e);
int sq_scan_checked(struct stor_meta *m, const struct digest *dg,
		    const char *db_version, struct err *e);
int sq_scan_done(struct stor_meta *m, const struct stor_scan_job *job,
		 struct err *e);
int sq_scan_fail(struct stor_meta *m, const struct stor_scan_job *job,
		 const char *why, int64_t retry_at, struct err *e);
int sq_scan_wait(struct stor_meta *m, const struct stor_scan_job *job,
		 const struct digest *children, size_t n, bool *ready,
		 struct err *e);
int sq_scan_get(struct stor_meta *m, const struct digest *dg,
		bool with_report, struct stor_scan *out, struct err *e);
int sq_scan_forget(struct stor_meta *m, const struct digest *dg,
		   struct err *e);
int sq_scan_rearm(struct stor_meta *m, const char *db_version, size_t *n,
		  struct err *e);
int sq_scan_stats(struct stor_meta *m, struct stor_scan_stats *out,
		  struct err *e);
int sq_scan_claim_rematch(struct stor_meta *m, int64_t lease_s,
			  struct stor_scan_job *jobs, size_t max, size_t *n,
			  struct err *e);
int sq_scan_finish_many(struct stor_meta *m,
			const struct stor_scan_outcome *v, size_t n,
			struct err *e);

/* Transaction bodies of meta_sqlite.c that the scan queue's batches run
 * in their own transaction. */
struct sq_link_arg {
	const char *repo;
	const char *digest;
};
int sq_blob_link_fn(struct sq_conn *c, const void *arg, struct err *e);
int sq_mf_put_fn(struct sq_conn *c, const void *arg, struct err *e);
int sq_mf_delete_fn(struct sq_conn *c, const void *arg, struct err *e);

/* The maintenance operations of struct stor_meta_ops (maint_sqlite.c). */
int sq_list(struct stor_meta *m, enum stor_list what, const char *repo,
	    stor_row_fn fn, void *arg, struct err *e);
int sq_blob_users(struct stor_meta *m, const struct digest *dg,
		  int64_t since, stor_row_fn fn, void *arg, bool *linked,
		  struct err *e);
int sq_blob_forget(struct stor_meta *m, const struct digest *dg, size_t *n,
		   struct err *e);
int sq_mf_relations(struct stor_meta *m, const char *repo,
		    const struct digest *dg, stor_row_fn fn, void *arg,
		    struct err *e);
int sq_up_exists(struct stor_meta *m, const char *id, bool *out,
		 struct err *e);
int sq_check(struct stor_meta *m, stor_row_fn fn, void *arg, struct err *e);

#endif
