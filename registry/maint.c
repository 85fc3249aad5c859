/* maint.c: gc on a schedule, quotas, the request rate (maint.h). */
#include "registry/maint.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/http.h"
#include "registry/limit.h"
#include "registry/reply.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/banned.h"

/* --- gc on a schedule ---------------------------------------------------- */

#define GC_FIRST_MAX_S 60

struct reg_gc {
	struct stor *st;
	struct reg_gc_config c;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool stop;
};

static bool gc_stopping(void *arg)
{
	struct reg_gc *g = arg;
	bool stop;

	pthread_mutex_lock(&g->lock);
	stop = g->stop;
	pthread_mutex_unlock(&g->lock);
	return stop;
}

static void gc_note(void *arg, const char *kind, const char *name, int64_t size)
{
	(void)arg;
	log_msg(LL_DEBUG, "gc: freed %s %s (%lld bytes)", kind, name,
		(long long)size);
}

static double gc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void gc_run(struct reg_gc *g)
{
	struct stor_gc_stats s;
	struct stor_gc_opts o;
	struct err e = ERR_INIT;
	double t0 = gc_now();

	stor_gc_opts_init(&o);
	o.grace_s = g->c.grace_s;
	o.upload_ttl_s = g->c.upload_ttl_s;
	o.untagged = g->c.untagged;
	o.max_sweep_share = g->c.max_sweep_share;
	o.on_free = gc_note;
	o.stopping = gc_stopping;
	o.stop_arg = g;
	if (stor_gc(g->st, &o, &s, &e) < 0) {
		log_msg(LL_ERROR, "gc: %s", e.msg);
		if (e.code == ERR_DENIED)
			log_msg(LL_ERROR,
				"gc: no blob freed; check the store with "
				"`customs fsck`, then free them with `customs "
				"gc --force` or raise --max-sweep-share");
		return;
	}
	log_msg(s.blobs || s.manifests || s.uploads || s.temps ? LL_INFO
							       : LL_DEBUG,
		"gc: freed %zu blobs, %zu manifests, %zu uploads, %zu "
		"temporary files: %lld bytes in %.1f s; %zu blobs kept",
		s.blobs, s.manifests, s.uploads, s.temps, (long long)s.bytes,
		gc_now() - t0, s.blobs_kept);
}

/* Waits up to secs; false once asked to stop. */
static bool gc_wait(struct reg_gc *g, int64_t secs)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += secs;
	pthread_mutex_lock(&g->lock);
	while (!g->stop &&
	       pthread_cond_timedwait(&g->cond, &g->lock, &until) != ETIMEDOUT)
		;
	stop = g->stop;
	pthread_mutex_unlock(&g->lock);
	return !stop;
}

static void *gc_main(void *arg)
{
	struct reg_gc *g = arg;
	int64_t first = g->c.interval_s < GC_FIRST_MAX_S ? g->c.interval_s
							 : GC_FIRST_MAX_S;

	if (!gc_wait(g, first))
		return NULL;
	do
		gc_run(g);
	while (gc_wait(g, g->c.interval_s));
	return NULL;
}

struct reg_gc *reg_gc_start(struct stor *st, const struct reg_gc_config *c,
			    struct err *e)
{
	struct reg_gc *g;
	pthread_condattr_t ca;
	int rc;

	if (c->interval_s <= 0)
		return NULL;
	g = xcalloc(1, sizeof(*g));
	g->st = st;
	g->c = *c;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&g->thread, NULL, gc_main, g);
	if (rc) {
		err_errno(e, ERR_INTERNAL, rc, "start the gc thread");
		pthread_cond_destroy(&g->cond);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	return g;
}

void reg_gc_stop(struct reg_gc *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* --- Quotas -------------------------------------------------------------- */

#define QUOTA_SLOTS   1024
#define QUOTA_PROBES  8
#define QUOTA_FRESH_S 10.0

struct quota_slot {
	char repo[256]; /* "" = free */
	int64_t usage;
	double at;	/* when usage was computed */
	double used;	/* last looked at */
	int64_t added;	/* bytes ever added (reg_quota_add/reserve) */
};

struct reg_quota {
	struct stor *st;
	int64_t limit;
	pthread_mutex_t lock;
	struct quota_slot *slots;
};

struct reg_quota *reg_quota_new(struct stor *st, int64_t limit)
{
	struct reg_quota *q;

	if (limit <= 0)
		return NULL;
	q = xcalloc(1, sizeof(*q));
	q->st = st;
	q->limit = limit;
	pthread_mutex_init(&q->lock, NULL);
	q->slots = xcalloc(QUOTA_SLOTS, sizeof(*q->slots));
	return q;
}

void reg_quota_free(struct reg_quota *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q);
}

static size_t quota_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h % QUOTA_SLOTS);
}

/* repo's slot, or NULL; with create, the stalest probe made over to it
 * (its usage unknown: at = 0). */
static struct quota_slot *quota_slot(struct reg_quota *q, const char *repo,
				     bool create)
{
	struct quota_slot *s, *victim = NULL;
	size_t h = quota_hash(repo);

	for (size_t i = 0; i < QUOTA_PROBES; i++) {
		s = &q->slots[(h + i) % QUOTA_SLOTS];
		if (!strcmp(s->repo, repo))
			return s;
		if (!victim || !s->repo[0] ||
		    (victim->repo[0] && s->used < victim->used))
			victim = s;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->repo, sizeof(victim->repo), "%s", repo);
	return victim;
}

/* repo's usage, computed again when older than QUOTA_FRESH_S. */
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
	s = quota_slot(q, repo, true);
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
	s = quota_slot(q, repo, true);
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
	s = quota_slot(q, repo, false);
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
	int64_t usage;

	if (!q)
		return 0;
	if (quota_usage(q, repo, &usage, e) < 0)
		return -1;
	/* Check and count in one step: parallel uploads cannot both take
	 * the last bytes. */
	pthread_mutex_lock(&q->lock);
	s = quota_slot(q, repo, true);
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
