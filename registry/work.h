/* work.h: blocking work off the event loops.
 *
 * Some steps of a request block for a while: checking a password (bcrypt,
 * ~50 ms on purpose), hashing an upload again (a second per GiB).  On an
 * event-loop thread they would stall every other client of that thread, so
 * a handler hands them to this pool:
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
 * (http_req_attach()) beside whatever the handler attaches itself.
 *
 * The queue is bounded: reg_work_run() returns -1 (nothing queued, nothing
 * called) when REG_WORK_QUEUE_MAX jobs wait; the caller then replies (a
 * 429 or 503 asking to retry).
 */
#ifndef REGISTRY_WORK_H
#define REGISTRY_WORK_H

#include "common/err.h"
#include "registry/http/http.h"

#define REG_WORK_QUEUE_MAX 512

struct reg_work;

typedef void (*reg_work_fn)(void *arg);
typedef void (*reg_work_done_fn)(struct http_req *req, void *arg);

/* Starts nthreads (0: one per core, at most 4) pool threads. */
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

#endif
