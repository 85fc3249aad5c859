/* work.c: the pool behind work_int.h.
 *
 * No lock is shared by a loop and a pool thread.  Pool threads run below
 * the loops (see work_set_priority()), and one preempted while holding a
 * lock a loop then waits for stalls that loop, with every request on it,
 * until the CPU is free again: the priority inversion that once kept
 * light requests waiting 3-26 ms behind uploads' pieces (a pool thread
 * woke the loop while holding the pool's lock, and the loop preempted it).
 *   queueing  a job goes on its queue's inbox, a lock-free stack, and a
 *             post of its semaphore wakes a pool thread; the pool threads
 *             take the inbox under a lock of their own, which no loop
 *             takes, and run its jobs oldest first;
 *   the end   the pool thread hands the job back to the request's loop
 *             (http_worker_call(): lock-free, no allocation), where it is
 *             taken off the request and done(req) runs, or done(NULL) if
 *             the request ended meanwhile;
 *   cancel    the request ending (on its loop) marks the job cancelled:
 *             a pool thread that has not run it yet skips run; either way
 *             the job comes back to the loop, which ends it.
 * A job without a request ends on its pool thread (done(NULL) after run).
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
#define _GNU_SOURCE /* SCHED_IDLE, sem_clockwait */
#include "registry/work_int.h"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
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
	struct http_call call;	  /* its link: in the queue, then the loop's */
	struct http_req *req;	  /* the loop's; NULL once it ended */
	struct http_worker *loop; /* NULL: no request waits */
	reg_work_fn run;
	reg_work_done_fn done;
	void *arg;
	atomic_bool cancelled;
	int64_t queued_at;		  /* CLOCK_MONOTONIC, ns */
	char rid[LOG_REQUEST_ID_MAX + 1]; /* its lines name the request */
};

/* A queue and the threads that take from it. */
struct work_q {
	struct reg_work *pool;
	struct lfstack inbox;  /* anyone pushes */
	atomic_int queued;     /* in inbox and from head on */
	sem_t sem;	       /* a post per job, and at stop */
	pthread_mutex_t lock;  /* the pool threads' only */
	struct lfs_node *head; /* lock: taken off inbox, in order */
	bool bulk;
};

struct reg_work {
	struct work_q q[2]; /* normal, bulk */
	atomic_bool stop;
	/* Normal threads waiting with no bulk job to time: the first bulk
	 * job queued wakes one (work_queue()). */
	atomic_int idle;
	pthread_t *threads;
	int nthreads;
};

/* Ends a job no request waits for any more. */
static void work_end(struct work_job *j)
{
	reg_work_done_fn done = j->done;
	void *arg = j->arg;

	free(j);
	done(NULL, arg);
}

/* Back on the loop thread (http_worker_call()), or in http_server_free()
 * once the loops have stopped (every request has ended then). */
static void work_back(struct http_call *c)
{
	struct work_job *j = (struct work_job *)c;
	struct http_req *req = j->req;
	reg_work_done_fn done = j->done;
	void *arg = j->arg;

	if (req)
		http_req_detach(req, j);
	log_set_request_id(j->rid);
	free(j);
	done(req, arg);
	log_set_request_id(NULL);
}

/* On the loop thread: the request ended (http_req_attach()).  The job
 * comes back to the loop all the same, and ends there. */
static void work_req_end(void *ptr, bool gone)
{
	struct work_job *j = ptr;

	(void)gone;
	j->req = NULL;
	atomic_store_explicit(&j->cancelled, true, memory_order_relaxed);
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* q's oldest job, or NULL; q->lock held.  With *by: only one queued at
 * *by or before (else *by becomes when the oldest was queued). */
static struct work_job *work_pop(struct work_q *q, int64_t *by)
{
	struct lfs_node *last;
	struct work_job *j;

	if (!q->head)
		lfs_take(&q->inbox, &q->head, &last);
	j = (struct work_job *)q->head;
	if (!j)
		return NULL;
	if (by && j->queued_at > *by) {
		*by = j->queued_at;
		return NULL;
	}
	q->head = q->head->next;
	atomic_fetch_sub(&q->queued, 1);
	return j;
}

static struct work_job *work_take(struct work_q *q)
{
	struct work_job *j;

	pthread_mutex_lock(&q->lock);
	j = work_pop(q, NULL);
	pthread_mutex_unlock(&q->lock);
	return j;
}

#define WORK_BULK_WAIT_NS ((int64_t)WORK_BULK_WAIT_MS * 1000000)

/* For a normal thread: a bulk job that waited WORK_BULK_WAIT_MS, or NULL
 * and *due set to when to look again (0: no bulk job waits).  A bulk
 * thread holding the lock is taking a job, or was preempted: either way,
 * look again later rather than wait for it. */
static struct work_job *work_steal(struct reg_work *w, int64_t *due)
{
	struct work_q *bq = &w->q[1];
	struct work_job *j = NULL;
	int64_t now = now_ns(), by = now - WORK_BULK_WAIT_NS;

	*due = 0;
	if (!atomic_load(&bq->queued))
		return NULL;
	if (pthread_mutex_trylock(&bq->lock) != 0) {
		*due = now + WORK_BULK_WAIT_NS;
		return NULL;
	}
	j = work_pop(bq, &by);
	pthread_mutex_unlock(&bq->lock);
	/* Counted but not on the inbox yet: it is being pushed. */
	if (!j)
		*due = by + WORK_BULK_WAIT_NS > now ? by + WORK_BULK_WAIT_NS
						    : now + 1000000;
	return j;
}

/* Waits for q's next job (NULL: the pool stops).  A normal thread also
 * takes a bulk job that has waited WORK_BULK_WAIT_MS. */
static struct work_job *work_next(struct work_q *q)
{
	struct reg_work *w = q->pool;
	struct work_job *j;
	struct timespec ts;
	int64_t due;

	while (!atomic_load(&w->stop)) {
		j = work_take(q);
		if (j)
			return j;
		if (q->bulk) {
			sem_wait(&q->sem);
			continue;
		}
		j = work_steal(w, &due);
		if (j)
			return j;
		if (due) {
			ts.tv_sec = (time_t)(due / 1000000000);
			ts.tv_nsec = (long)(due % 1000000000);
			sem_clockwait(&q->sem, CLOCK_MONOTONIC, &ts);
			continue;
		}
		/* With work_queue(): either it sees idle, or this sees the
		 * bulk job it queued. */
		atomic_fetch_add(&w->idle, 1);
		if (!atomic_load(&w->q[1].queued))
			sem_wait(&q->sem);
		atomic_fetch_sub(&w->idle, 1);
	}
	return NULL;
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
	struct work_job *j;

	work_set_priority(q->bulk);
	while ((j = work_next(q))) {
		log_set_request_id(j->rid);
		if (!atomic_load_explicit(&j->cancelled, memory_order_relaxed))
			j->run(j->arg);
		log_set_request_id(NULL);
		if (j->loop)
			http_worker_call(j->loop,
					 &j->call); /* the loop's now */
		else
			work_end(j);
	}
	return NULL;
}

struct reg_work *reg_work_new(int nthreads, struct err *e)
{
	struct reg_work *w = xcalloc(1, sizeof(*w));
	int rc;

	if (nthreads <= 0)
		nthreads = REG_WORK_THREADS;
	if (nthreads > WORK_THREADS_MAX)
		nthreads = WORK_THREADS_MAX;
	for (int i = 0; i < 2; i++) {
		w->q[i].pool = w;
		w->q[i].bulk = i == 1;
		sem_init(&w->q[i].sem, 0, 0);
		pthread_mutex_init(&w->q[i].lock, NULL);
	}
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
	atomic_store(&w->stop, true);
	/* A post for every thread, whichever queue it waits on. */
	for (int i = 0; i < w->nthreads; i++) {
		sem_post(&w->q[0].sem);
		sem_post(&w->q[1].sem);
	}
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
		while ((j = work_pop(&w->q[i], NULL)))
			work_end(j);
		sem_destroy(&w->q[i].sem);
		pthread_mutex_destroy(&w->q[i].lock);
	}
	free(w->threads);
	free(w);
}

/* Lock-free: see the top of the file. */
static int work_queue(struct reg_work *w, bool bulk, struct http_req *req,
		      reg_work_fn run, reg_work_done_fn done, void *arg)
{
	struct work_q *q = &w->q[bulk];
	struct work_job *j;
	int n;

	if (atomic_load(&w->stop))
		return -1;
	n = atomic_fetch_add(&q->queued, 1);
	if (n >= REG_WORK_QUEUE_MAX) {
		atomic_fetch_sub(&q->queued, 1);
		return -1;
	}
	j = xcalloc(1, sizeof(*j));
	j->call.fn = work_back;
	j->req = req;
	j->loop = req ? http_req_worker(req) : NULL;
	j->run = run;
	j->done = done;
	j->arg = arg;
	atomic_init(&j->cancelled, false);
	snprintf(j->rid, sizeof(j->rid), "%s",
		 req ? http_req_id(req) : log_request_id());
	j->queued_at = now_ns();
	if (req)
		http_req_attach(req, j, work_req_end);
	lfs_push(&q->inbox, &j->call.link);
	sem_post(&q->sem);
	/* A normal thread idle meanwhile times the first bulk job. */
	if (bulk && n == 0 && atomic_load(&w->idle) > 0)
		sem_post(&w->q[0].sem);
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
