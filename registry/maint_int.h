/* maint_int.h: what `customs serve` does to keep the store healthy and fair:
 * gc on a schedule (with upload expiry), a scrub that re-hashes the blobs,
 * per-repository quotas, and the per-client request rate.
 */
#ifndef REGISTRY_MAINT_INT_H
#define REGISTRY_MAINT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "storage/storage.h"

struct http_req;
struct reg_limit;

/* --- Threads on a schedule (maint.c) ----------------------------------- */

/* A thread that runs `run` every interval (the first time after at most a
 * minute) until stopped. */
struct maint_thread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	atomic_bool stop;    /* set under lock (waits sleep on cond) */
	int64_t interval_s;
	void (*run)(void *arg);
	void *arg;
};

/* Starts t, the first member of a malloc'd struct that run(arg) gets,
 * running run every interval_s (the first time after at most a minute):
 * that struct, or NULL (it is freed) if no thread could start. */
void *mt_start(struct maint_thread *t, int64_t interval_s, void (*run)(void *),
	       const char *what, struct err *e);
/* Ends a run in progress at its next check, joins the thread and frees
 * the struct t begins. */
void mt_stop(struct maint_thread *t);
/* Waits up to secs; false once asked to stop. */
bool mt_wait(struct maint_thread *t, double secs);
bool mt_stopping(struct maint_thread *t);

/* --- gc and scrub on a schedule ------------------------------------------ */

struct reg_gc_config {
	int64_t interval_s; /* between runs; <= 0: no online gc */
	int64_t grace_s;    /* as stor_gc_opts */
	int64_t upload_ttl_s;
	bool untagged;
	int max_sweep_share; /* as stor_gc_opts; never forced here */
};

/* A thread that runs stor_gc() every interval (the first run after at
 * most a minute) and logs what each run freed.  NULL when interval_s <= 0
 * (nothing to stop), or with e set when it cannot start. */
struct reg_sched *reg_gc_start(struct stor *st, const struct reg_gc_config *c,
			       struct err *e);

struct reg_scrub_config {
	int64_t interval_s; /* between passes; <= 0: no scrub */
	int64_t rate;	    /* bytes a second; <= 0: unbounded */
};

/* A low-priority thread that runs stor_scrub() every interval (the first
 * pass after at most a minute), logging each damaged blob and a summary of
 * each pass.  NULL as reg_gc_start(). */
struct reg_sched *reg_scrub_start(struct stor *st,
				  const struct reg_scrub_config *c,
				  struct err *e);

/* Ends a gc run at its next item or a scrub pass at its next read, joins
 * the thread, frees s.  reg_sched_stop(NULL) does nothing. */
void reg_sched_stop(struct reg_sched *s);

/* --- Quotas -------------------------------------------------------------- */

/* limit bytes per repository; limit <= 0 gives NULL (no quota).  A
 * repository's usage (stor_repo_usage(): blobs, manifests and the data of
 * open uploads) is cached for a few seconds and kept current meanwhile by
 * reg_quota_reserve() (each piece of an upload as it is written) and
 * reg_quota_add(), so parallel uploads cannot pass the limit together. */
struct reg_quota *reg_quota_new(struct stor *st, int64_t limit);
void reg_quota_free(struct reg_quota *q);
/* Fails with ERR_QUOTA if repo's usage plus extra bytes exceeds the
 * limit (or with the store's error).  A NULL quota allows everything. */
int reg_quota_check(struct reg_quota *q, const char *repo, int64_t extra,
		    struct err *e);
/* Checks that repo may take bytes more and counts them, in one step
 * (ERR_QUOTA if not).  For upload data about to be written, on the loop:
 * it scans the store only if no reg_quota_check() computed the usage. */
int reg_quota_reserve(struct reg_quota *q, const char *repo, int64_t bytes,
		      struct err *e);
/* Notes bytes repo now takes in addition (a mount), or no longer takes
 * (bytes < 0: an upload deleted). */
void reg_quota_add(struct reg_quota *q, const char *repo, int64_t bytes);

/* --- Request rate -------------------------------------------------------- */

/* Takes one request of req's client from l (limit.h); when over the rate,
 * replies 429 TOOMANYREQUESTS with Retry-After and returns true. */
bool reg_limit_reply(struct reg_limit *l, struct http_req *req);

#endif
