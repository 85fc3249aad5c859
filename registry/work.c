/* work.c: the pool behind work_int.h.
 *
 * A job is attached to its request, and is in one of three hands; the
 * pool's lock orders the moves:
 *   queued or running  the pool's: the request ending only marks it
 *                      cancelled, and the pool thread ends it;
 *   deferred           the loop's: http_req_defer() was called under the
 *                      lock, so the request's destructor (which takes the
 *                      lock) either came first and cancelled, or comes
 *                      after and ends the job itself (the HTTP layer drops
 *                      the defer);
 *   finished           taken off the request and freed before done(req)
 *                      runs: a request that hands its body to the pool a
 *                      piece at a time does not pile up finished jobs.
 * This is the shape of waiters.c.
 *
 * Bulk jobs (an upload's pieces: hashing and copying into the page cache,
 * most of the server's CPU during pushes) have a queue and threads of
 * their own at SCHED_IDLE, so that under a full CPU a loop thread waking
 * for a light request runs at once, and the short jobs (a session taken,
 * a manifest stored) do not queue behind a dozen uploads' pieces.  Bulk
 * threads run no job that takes a lock others wait on (sqlite), so their
 * low priority cannot hold up a normal thread.  While other processes
 * keep the CPU busy a SCHED_IDLE thread gets next to none, so a bulk job
 * that waited WORK_BULK_WAIT_MS goes to an idle normal thread instead:
 * uploads slow down then, as they did at nice 5, but do not stall.
 */
#define _GNU_SOURCE /* SCHED_IDLE */
#include "registry/work_int.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/reply_int.h"
#include "common/banned.h"

#define WORK_THREADS_MAX  8
#define WORK_NICE	  5
#define WORK_NICE_BULK	  19
#define WORK_BULK_WAIT_MS 100

struct work_job {
	struct reg_work *pool;
	struct http_req *req;
	reg_work_fn run;
	reg_work_done_fn done;
	void *arg;
	bool cancelled; /* lock */
	bool deferred;	/* lock */
	struct timespec queued_at;
	struct work_job *next;
	char rid[LOG_REQUEST_ID_MAX + 1]; /* its lines name the request */
};

/* A queue and the threads that take from it. */
struct work_q {
	struct reg_work *pool;
	pthread_cond_t cond;
	struct work_job *head, *tail; /* pool lock */
	size_t queued;		      /* pool lock */
	bool bulk;
};

struct reg_work {
	pthread_mutex_t lock;
	struct work_q q[2]; /* normal, bulk */
	bool stop;	    /* lock */
	pthread_t *threads;
	int nthreads;
};

/* Ends a job whose request is gone. */
static void work_end(struct work_job *j)
{
	reg_work_done_fn done = j->done;
	void *arg = j->arg;

	free(j);
	done(NULL, arg);
}

/* On the loop thread, from http_req_defer(). */
static void work_deferred(struct http_req *req, void *arg)
{
	struct work_job *j = arg;
	reg_work_done_fn done = j->done;
	void *jarg = j->arg;

	http_req_detach(req, j);
	free(j);
	done(req, jarg);
}

/* On the loop thread: the request ended (http_req_attach()). */
static void work_req_end(void *ptr, bool gone)
{
	struct work_job *j = ptr;
	struct reg_work *w = j->pool;
	bool deferred;

	(void)gone;
	pthread_mutex_lock(&w->lock);
	deferred = j->deferred;
	j->cancelled = true;
	j->req = NULL;
	pthread_mutex_unlock(&w->lock);
	/* Deferred: the HTTP layer drops the call, so the job is ours. */
	if (deferred)
		work_end(j);
}

/* Takes q's first job; the pool lock is held. */
static struct work_job *work_pop(struct work_q *q)
{
	struct work_job *j = q->head;

	q->head = j->next;
	if (!q->head)
		q->tail = NULL;
	q->queued--;
	return j;
}

/* Waits for q's next job (NULL: the pool stops).  A normal thread also
 * takes a bulk job that has waited WORK_BULK_WAIT_MS. */
static struct work_job *work_next(struct work_q *q)
{
	struct reg_work *w = q->pool;
	struct work_q *bq = &w->q[1];
	struct work_job *j = NULL;
	struct timespec due, now;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		if (q->head) {
			j = work_pop(q);
			break;
		}
		if (q->bulk || !bq->head) {
			pthread_cond_wait(&q->cond, &w->lock);
			continue;
		}
		due = bq->head->queued_at;
		due.tv_nsec += WORK_BULK_WAIT_MS * 1000000L;
		due.tv_sec += due.tv_nsec / 1000000000L;
		due.tv_nsec %= 1000000000L;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > due.tv_sec ||
		    (now.tv_sec == due.tv_sec && now.tv_nsec >= due.tv_nsec)) {
			j = work_pop(bq);
			break;
		}
		pthread_cond_timedwait(&q->cond, &w->lock, &due);
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}

/* Below the loops: when the CPU is short, a request waiting to be parsed
 * or answered goes first, bcrypt and fsyncs after, bulk hashing last
 * (SCHED_IDLE: only what no other thread wants; nice 19 where the kernel
 * lacks it). */
static void work_set_priority(bool bulk)
{
	struct sched_param sp = {0};
	id_t tid = (id_t)syscall(SYS_gettid);

	if (bulk && sched_setscheduler(0, SCHED_IDLE, &sp) == 0)
		return;
	setpriority(PRIO_PROCESS, tid, bulk ? WORK_NICE_BULK : WORK_NICE);
}

static void *work_main(void *arg)
{
	struct work_q *q = arg;
	struct reg_work *w = q->pool;
	struct work_job *j;
	bool cancelled;

	work_set_priority(q->bulk);
	while ((j = work_next(q))) {
		pthread_mutex_lock(&w->lock);
		cancelled = j->cancelled;
		pthread_mutex_unlock(&w->lock);
		log_set_request_id(j->rid);
		if (!cancelled)
			j->run(j->arg);
		pthread_mutex_lock(&w->lock);
		cancelled = j->cancelled || !j->req; /* none waits */
		if (!cancelled) {
			j->deferred = true;
			http_req_defer(j->req, work_deferred, j);
		}
		pthread_mutex_unlock(&w->lock);
		if (cancelled)
			work_end(j);
		log_set_request_id(NULL);
	}
	return NULL;
}

struct reg_work *reg_work_new(int nthreads, struct err *e)
{
	struct reg_work *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int rc;

	if (nthreads <= 0)
		nthreads = REG_WORK_THREADS;
	if (nthreads > WORK_THREADS_MAX)
		nthreads = WORK_THREADS_MAX;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (int i = 0; i < 2; i++) {
		w->q[i].pool = w;
		w->q[i].bulk = i == 1;
		pthread_cond_init(&w->q[i].cond, &ca);
	}
	pthread_condattr_destroy(&ca);
	/* As many of each. */
	w->threads = xcalloc(2 * (size_t)nthreads, sizeof(*w->threads));
	for (int i = 0; i < 2 * nthreads; i++) {
		rc = pthread_create(&w->threads[i], NULL, work_main,
				    &w->q[i % 2]);
		if (rc) {
			err_errno(e, ERR_INTERNAL, rc, "start a work thread");
			reg_work_stop(w);
			reg_work_free(w);
			return NULL;
		}
		w->nthreads++;
	}
	return w;
}

void reg_work_stop(struct reg_work *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->q[0].cond);
	pthread_cond_broadcast(&w->q[1].cond);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	w->nthreads = 0;
}

void reg_work_free(struct reg_work *w)
{
	struct work_job *j;

	if (!w)
		return;
	for (int i = 0; i < 2; i++) {
		while ((j = w->q[i].head)) {
			w->q[i].head = j->next;
			work_end(j);
		}
		pthread_cond_destroy(&w->q[i].cond);
	}
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
}

static int work_queue(struct reg_work *w, bool bulk, struct http_req *req,
		      reg_work_fn run, reg_work_done_fn done, void *arg)
{
	struct work_q *q = &w->q[bulk];
	struct work_job *j;

	pthread_mutex_lock(&w->lock);
	if (q->queued >= REG_WORK_QUEUE_MAX || w->stop) {
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->pool = w;
	j->req = req;
	j->run = run;
	j->done = done;
	j->arg = arg;
	snprintf(j->rid, sizeof(j->rid), "%s",
		 req ? http_req_id(req) : log_request_id());
	clock_gettime(CLOCK_MONOTONIC, &j->queued_at);
	/* A normal thread idle meanwhile times the first bulk job. */
	if (bulk && !q->head)
		pthread_cond_signal(&w->q[0].cond);
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->queued++;
	if (req)
		http_req_attach(req, j, work_req_end);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int reg_work_run(struct reg_work *w, struct http_req *req, reg_work_fn run,
		 reg_work_done_fn done, void *arg)
{
	return work_queue(w, false, req, run, done, arg);
}

int reg_work_run_bulk(struct reg_work *w, struct http_req *req, reg_work_fn run,
		      reg_work_done_fn done, void *arg)
{
	return work_queue(w, true, req, run, done, arg);
}

void reg_work_call(struct reg_work *w, struct http_req *req, reg_work_fn run,
		   reg_work_done_fn done, void *arg)
{
	if (w && reg_work_run(w, req, run, done, arg) == 0)
		return;
	run(arg);
	done(req, arg);
}

static void work_job_run(void *arg)
{
	struct reg_work_job *j = arg;

	j->rc = j->call(j, &j->e);
}

static void work_job_done(struct http_req *req, void *arg)
{
	struct reg_work_job *j = arg;

	if (req && j->rc < 0)
		reg_reply_error(req, &j->e);
	else if (req)
		reg_reply_status(req, j->status);
	free(j);
}

void *reg_work_job_new(size_t size, reg_work_call_fn call, int status,
		       struct stor *st, const char *name)
{
	struct reg_work_job *j = xcalloc(1, size);

	j->call = call;
	j->status = status;
	j->st = st;
	snprintf(j->name, sizeof(j->name), "%s", name);
	return j;
}

void reg_work_reply(struct reg_work *w, struct http_req *req,
		    struct reg_work_job *j)
{
	reg_work_call(w, req, work_job_run, work_job_done, j);
}
