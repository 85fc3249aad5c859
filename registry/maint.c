/* maint.c: gc and scrub on a schedule, quotas, the request rate (maint_int.h).
 */
#include "registry/maint_int.h"
#include "common/log.h"
#include "common/slots.h"
#include "common/xmalloc.h"
#include "registry/http/http.h"
#include "registry/limit_int.h"
#include "registry/metrics_int.h"
#include "registry/reply_int.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/banned.h"

/* --- Threads on a schedule ------------------------------------------------ */

#define FIRST_RUN_MAX_S 60

static double gc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool mt_stopping(struct maint_thread *t)
{
	return atomic_load(&t->stop);
}

bool mt_wait(struct maint_thread *t, double secs)
{
	struct timespec until;
	time_t whole = (time_t)secs;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += whole;
	until.tv_nsec += (long)((secs - (double)whole) * 1e9);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->lock);
	while (!t->stop &&
	       pthread_cond_timedwait(&t->cond, &t->lock, &until) != ETIMEDOUT)
		;
	stop = t->stop;
	pthread_mutex_unlock(&t->lock);
	return !stop;
}

static void *mt_main(void *arg)
{
	struct maint_thread *t = arg;
	int64_t first = t->interval_s < FIRST_RUN_MAX_S ? t->interval_s
							: FIRST_RUN_MAX_S;

	if (!mt_wait(t, (double)first))
		return NULL;
	do
		t->run(t->arg);
	while (mt_wait(t, (double)t->interval_s));
	return NULL;
}

void *mt_start(struct maint_thread *t, int64_t interval_s, void (*run)(void *),
	       const char *what, struct err *e)
{
	pthread_condattr_t ca;
	int rc;

	t->interval_s = interval_s;
	t->run = run;
	t->arg = t;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&t->thread, NULL, mt_main, t);
	if (rc) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		err_errno(e, ERR_INTERNAL, rc, "start the %s thread", what);
		free(t);
		return NULL;
	}
	return t;
}

void mt_stop(struct maint_thread *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* --- gc and scrub on a schedule ------------------------------------------ */

struct reg_sched {
	struct maint_thread t; /* first */
	struct stor *st;
	union {
		struct reg_gc_config gc;
		struct reg_scrub_config scrub;
	} c;
};

/* A copy of want whose thread runs run every interval_s: NULL when
 * interval_s <= 0 (nothing to run), or when no thread could start (e). */
static struct reg_sched *sched_start(const struct reg_sched *want,
				     int64_t interval_s, void (*run)(void *),
				     const char *what, struct err *e)
{
	struct reg_sched *s;

	if (interval_s <= 0)
		return NULL;
	s = xmalloc(sizeof(*s));
	*s = *want;
	return mt_start(&s->t, interval_s, run, what, e);
}

void reg_sched_stop(struct reg_sched *s)
{
	if (s)
		mt_stop(&s->t);
}

static bool sched_stopping(void *arg)
{
	return mt_stopping(&((struct reg_sched *)arg)->t);
}

/* --- gc ------------------------------------------------------------------ */

static void gc_note(void *arg, const char *kind, const char *name, int64_t size)
{
	(void)arg;
	log_msg(LL_DEBUG, "gc: freed %s %s (%lld bytes)", kind, name,
		(long long)size);
}

static void gc_run(void *arg)
{
	struct reg_sched *g = arg;
	struct stor_gc_stats s;
	struct stor_gc_opts o;
	struct err e = ERR_INIT;
	double t0 = gc_now();

	stor_gc_opts_init(&o);
	o.grace_s = g->c.gc.grace_s;
	o.upload_ttl_s = g->c.gc.upload_ttl_s;
	o.untagged = g->c.gc.untagged;
	o.max_sweep_share = g->c.gc.max_sweep_share;
	o.on_free = gc_note;
	o.stopping = sched_stopping;
	o.stop_arg = g;
	if (stor_gc(g->st, &o, &s, &e) < 0) {
		log_msg(LL_ERROR, "gc: %s", e.msg);
		if (e.code == ERR_DENIED)
			log_msg(LL_ERROR,
				"gc: no blob freed; check the store with "
				"`customs fsck`, then free them with `customs "
				"gc --force` or raise --max-sweep-share");
		reg_metrics_gc(false, 0);
		return;
	}
	log_msg(s.blobs || s.manifests || s.uploads || s.temps ? LL_INFO
							       : LL_DEBUG,
		"gc: freed %zu blobs, %zu manifests, %zu uploads, %zu "
		"temporary files: %lld bytes in %.1f s; %zu blobs kept",
		s.blobs, s.manifests, s.uploads, s.temps, (long long)s.bytes,
		gc_now() - t0, s.blobs_kept);
	reg_metrics_gc(true, s.bytes);
}

struct reg_sched *reg_gc_start(struct stor *st, const struct reg_gc_config *c,
			       struct err *e)
{
	struct reg_sched want = {.st = st, .c.gc = *c};

	return sched_start(&want, c->interval_s, gc_run, "gc", e);
}

/* --- Scrub --------------------------------------------------------------- */

static bool scrub_pause(void *arg, double secs)
{
	return mt_wait(&((struct reg_sched *)arg)->t, secs);
}

/* The scrub yields the CPU and the disk to requests: nice 19 and the idle
 * I/O class for this thread alone (Linux). */
static void scrub_low_priority(void)
{
#ifdef __linux__
	pid_t tid = (pid_t)syscall(SYS_gettid);

	if (setpriority(PRIO_PROCESS, (id_t)tid, 19) < 0)
		log_errno(LL_DEBUG, errno, "scrub: setpriority");
	/* IOPRIO_WHO_PROCESS, IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT */
	if (syscall(SYS_ioprio_set, 1, (int)tid, 3 << 13) < 0)
		log_errno(LL_DEBUG, errno, "scrub: ioprio_set");
#endif
}

static void scrub_run(void *arg)
{
	struct reg_sched *sc = arg;
	struct stor_scrub_opts o = {0};
	struct stor_scrub_stats s;
	struct err e = ERR_INIT;

	scrub_low_priority();
	o.rate = sc->c.scrub.rate;
	o.pause = scrub_pause;
	o.stopping = sched_stopping;
	o.arg = sc;
	if (stor_scrub(sc->st, &o, &s, &e) < 0) {
		log_msg(LL_ERROR, "scrub: %s", e.msg);
		return;
	}
	log_msg(s.damaged ? LL_ERROR : LL_INFO,
		"scrub: verified %zu blobs (%lld bytes) in %.1f s: %zu "
		"damaged%s; %zu found damaged since start",
		s.blobs, (long long)s.bytes, s.seconds, s.damaged,
		s.damaged ? " (quarantined)" : "",
		stor_blob_damage_count(sc->st));
}

struct reg_sched *reg_scrub_start(struct stor *st,
				  const struct reg_scrub_config *c,
				  struct err *e)
{
	struct reg_sched want = {.st = st, .c.scrub = *c};

	return sched_start(&want, c->interval_s, scrub_run, "scrub", e);
}

/* --- Quotas -------------------------------------------------------------- */

#define QUOTA_SLOTS    1024
#define QUOTA_REPO_MAX 256
#define QUOTA_FRESH_S  10.0

struct quota_slot {
	int64_t usage;
	double at;     /* when usage was computed; 0: unknown */
	double used;   /* last looked at */
	int64_t added; /* bytes ever added (reg_quota_add/reserve) */
};

struct reg_quota {
	struct stor *st;
	int64_t limit;
	pthread_mutex_t lock;
	struct slots slots; /* repository -> struct quota_slot */
};

static double quota_stamp(const void *v)
{
	return ((const struct quota_slot *)v)->used;
}

struct reg_quota *reg_quota_new(struct stor *st, int64_t limit)
{
	struct reg_quota *q;

	if (limit <= 0)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->st = st;
	q->limit = limit;
	pthread_mutex_init(&q->lock, NULL);
	slots_init(&q->slots, QUOTA_SLOTS, QUOTA_REPO_MAX,
		   sizeof(struct quota_slot), quota_stamp);
	return q;
}

void reg_quota_free(struct reg_quota *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	slots_release(&q->slots);
	free(q);
}

/* repo's usage, computed again when older than QUOTA_FRESH_S.  Bytes
 * added while it is computed are added to what the store says too: they
 * may be counted twice until the next computation, never missed. */
static int quota_usage(struct reg_quota *q, const char *repo, int64_t *out,
		       struct err *e)
{
	struct quota_slot *s;
	double now = gc_now();
	int64_t usage, mark;

	pthread_mutex_lock(&q->lock);
	s = slots_get(&q->slots, repo, NULL);
	s->used = now;
	usage = s->usage;
	mark = s->added;
	if (s->at && now - s->at < QUOTA_FRESH_S) {
		pthread_mutex_unlock(&q->lock);
		*out = usage;
		return 0;
	}
	pthread_mutex_unlock(&q->lock);
	/* A stat per blob: not under the lock. */
	if (stor_repo_usage(q->st, repo, &usage, e) < 0)
		return -1;
	pthread_mutex_lock(&q->lock);
	s = slots_get(&q->slots, repo, NULL);
	if (s->added > mark)
		usage += s->added - mark;
	s->usage = usage;
	s->at = now;
	pthread_mutex_unlock(&q->lock);
	*out = usage;
	return 0;
}

int reg_quota_check(struct reg_quota *q, const char *repo, int64_t extra,
		    struct err *e)
{
	int64_t usage;

	if (!q)
		return 0;
	if (quota_usage(q, repo, &usage, e) < 0)
		return -1;
	if (usage + extra <= q->limit)
		return 0;
	return err_set(e, ERR_QUOTA,
		       "repository %s is over its storage quota: %lld of "
		       "%lld bytes used%s",
		       repo, (long long)usage, (long long)q->limit,
		       extra ? " with this upload" : "");
}

void reg_quota_add(struct reg_quota *q, const char *repo, int64_t bytes)
{
	struct quota_slot *s;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	s = slots_find(&q->slots, repo);
	if (s && s->at) {
		s->usage += bytes;
		if (s->usage < 0)
			s->usage = 0;
	}
	if (s && bytes > 0)
		s->added += bytes;
	pthread_mutex_unlock(&q->lock);
}

int reg_quota_reserve(struct reg_quota *q, const char *repo, int64_t bytes,
		      struct err *e)
{
	struct quota_slot *s;
	int64_t usage = 0;
	bool known;

	if (!q)
		return 0;
	/* Each piece of a body, on the loop: the usage the request's start
	 * computed on the pool (reg_quota_check()) serves, however old, as
	 * every byte since was added to it.  A scan here only if the slot
	 * went to another repository meanwhile. */
	pthread_mutex_lock(&q->lock);
	s = slots_find(&q->slots, repo);
	known = s && s->at;
	pthread_mutex_unlock(&q->lock);
	if (!known && quota_usage(q, repo, &usage, e) < 0)
		return -1;
	/* Check and count in one step: parallel uploads cannot both take
	 * the last bytes. */
	pthread_mutex_lock(&q->lock);
	s = slots_get(&q->slots, repo, NULL);
	if (!s->at) { /* taken by another repository meanwhile */
		s->usage = usage;
		s->at = gc_now();
	}
	usage = s->usage;
	if (usage + bytes > q->limit) {
		pthread_mutex_unlock(&q->lock);
		return err_set(e, ERR_QUOTA,
			       "repository %s is over its storage quota: %lld "
			       "of %lld bytes used, uploads in progress "
			       "included",
			       repo, (long long)usage, (long long)q->limit);
	}
	s->usage += bytes;
	s->added += bytes;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* --- Request rate -------------------------------------------------------- */

bool reg_limit_reply(struct reg_limit *l, struct http_req *req)
{
	char secs[16];
	int wait;

	if (!l)
		return false;
	wait = reg_limit_take(l, http_req_peer(req), gc_now());
	if (!wait)
		return false;
	snprintf(secs, sizeof(secs), "%d", wait);
	http_reply_header(req, "Retry-After", secs);
	reg_reply_errorf(req, ERR_TOOMANYREQUESTS,
			 "too many requests from %s; retry in %d s",
			 http_req_peer(req), wait);
	return true;
}
