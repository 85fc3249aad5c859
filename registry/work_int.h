/* work_int.h: blocking work off the event loops.
 *
 * Some steps of a request block for a while: checking a password (bcrypt,
 * ~50 ms on purpose), hashing an upload again (a second per GiB), an
 * fsync, any sqlite write (its commit fsyncs, and BEGIN IMMEDIATE may wait
 * up to 10 s for the write lock), a scan of a repository's blobs for its
 * quota.  On an event-loop thread they would stall every other client of
 * that thread, so a handler hands them to this pool:
 *
 *   reg_work_run(w, req, run, done, arg)
 *     run(arg)             on a pool thread: the blocking part; it must not
 *                          touch the request (it may be gone meanwhile);
 *     done(req, arg)       then, on the request's loop thread: reply, or go
 *                          on with the request;
 *     done(NULL, arg)      instead, if the request ended first (the client
 *                          went away): release what arg holds.  This runs
 *                          on whichever thread notices (the loop's or the
 *                          pool's), possibly without run having run (the
 *                          client left while the job waited).
 * Exactly one done() call per job.  The job is attached to the request
 * (http_req_attach()) beside whatever the handler attaches itself, until
 * done runs.  arg is the job's until then: state the handler attached to
 * the request is detached (http_req_detach()) before it goes in a job,
 * or the request ending would free it under a running job.
 *
 * The queue is bounded: reg_work_run() returns -1 (nothing queued, nothing
 * called) when REG_WORK_QUEUE_MAX jobs wait; the caller then replies (a
 * 429 or 503 asking to retry), or runs the job itself (reg_work_call()).
 *
 * A job with req NULL is one no request waits for (giving back an upload
 * after its client left): done(NULL, arg) follows run on the pool thread,
 * or comes without run at shutdown, so done must finish what run did not.
 */
#ifndef REGISTRY_WORK_INT_H
#define REGISTRY_WORK_INT_H

#include <stddef.h>

#include "common/err.h"
#include "registry/http/http.h"
#include "registry/parse_int.h"

struct stor;

#define REG_WORK_QUEUE_MAX 512

struct reg_work;

typedef void (*reg_work_fn)(void *arg);
typedef void (*reg_work_done_fn)(struct http_req *req, void *arg);

/* Starts nthreads (0: REG_WORK_THREADS) pool threads, and as many for
 * bulk jobs.  Its jobs mostly wait on the disk, so there are more of them
 * than cores. */
#define REG_WORK_THREADS 4
struct reg_work *reg_work_new(int nthreads, struct err *e);
/* Stops the threads: a job running finishes (and its done is deferred to
 * the loop as usual), queued ones stay queued.  Call before the HTTP
 * server is freed, reg_work_free() after it. */
void reg_work_stop(struct reg_work *w);
/* Ends the jobs still queued with done(NULL, arg).  NULL does nothing. */
void reg_work_free(struct reg_work *w);

/* Queues run/done for req (see above); 0, or -1 when the queue is full.
 * Call on the request's loop thread. */
int reg_work_run(struct reg_work *w, struct http_req *req, reg_work_fn run,
		 reg_work_done_fn done, void *arg);
/* reg_work_run() for a job that only burns CPU on data of its own (an
 * upload's piece: hashing, the copy into the page cache) and takes no
 * lock another job waits on: its own queue and threads, below every
 * other thread of the process (work.c). */
int reg_work_run_bulk(struct reg_work *w, struct http_req *req, reg_work_fn run,
		      reg_work_done_fn done, void *arg);
/* reg_work_run(), or when there is no pool (w NULL) or its queue is full,
 * run(arg) then done(req, arg) here and now: the step is slow, but it
 * happens. */
void reg_work_call(struct reg_work *w, struct http_req *req, reg_work_fn run,
		   reg_work_done_fn done, void *arg);

/* The common shape, a blocking call on a repository's storage whose
 * reply is a bare status or its error (a DELETE): embed this first in a
 * struct with what else call needs; call runs on the pool and returns 0
 * or -1 with e set. */
struct reg_work_job;
typedef int (*reg_work_call_fn)(struct reg_work_job *j, struct err *e);
struct reg_work_job {
	reg_work_call_fn call;
	int status; /* the reply on success */
	struct stor *st;
	char name[REG_NAME_MAX + 1];
	int rc;
	struct err e;
};
/* A zeroed job of size bytes (the embedding struct), name copied. */
void *reg_work_job_new(size_t size, reg_work_call_fn call, int status,
		       struct stor *st, const char *name);
/* Runs j->call (reg_work_call()), replies, and free()s j. */
void reg_work_reply(struct reg_work *w, struct http_req *req,
		    struct reg_work_job *j);

#endif
