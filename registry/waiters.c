/* waiters.c: requests held for the scan service (see waiters_int.h).
 *
 * A hold ends in exactly one callback.  What can end it:
 *   - a wake (a completion for its digest, or reg_hold_wake(); any
 *     thread) defers READY onto the request's loop;
 *   - its timer (loop thread), unless it was woken first: TIMEOUT;
 *   - the client going away (loop thread): CLOSED.  If the wake had come,
 *     the HTTP layer drops the deferred call along with the request; if a
 *     reg_hold_wake() is still to come, the hold waits for it and ends
 *     there.
 * The waiters' lock orders the wake against the other two.
 */
#include "registry/waiters_int.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/xmalloc.h"
#include "common/banned.h"

struct reg_hold {
	struct reg_waiters *ws;
	struct http_req *req;
	reg_wake_fn fn;
	void *arg;
	struct http_timer *timer; /* scan waits only */
	struct digest dg;
	/* Guarded by ws->lock: */
	bool listed;   /* in ws->list: a completion of dg wakes it */
	bool external; /* reg_hold_new(): its reg_hold_wake() is to come */
	bool fired;    /* READY is deferred to the loop */
	bool gone;     /* the client went away before the wake */
	struct reg_hold *prev, *next;
};

struct reg_waiters {
	struct stor *st;
	pthread_mutex_t lock;
	struct reg_hold *list; /* scan waits not woken yet */
};

static void hold_gone(void *ptr, bool gone);

/* The hold is attached to its request while held: the one place that
 * attaches and takes it off. */
static void hold_watch(struct reg_hold *h, bool on)
{
	if (on)
		http_req_attach(h->req, h, hold_gone);
	else
		http_req_detach(h->req, h);
}

static void hold_end(struct reg_hold *h, struct http_req *req,
		     enum reg_wake why)
{
	reg_wake_fn fn = h->fn;
	void *arg = h->arg;

	http_timer_free(h->timer);
	if (why != REG_WAKE_CLOSED)
		hold_watch(h, false);
	free(h);
	fn(req, arg, why);
}

/* With ws->lock held. */
static void hold_unlink(struct reg_hold *h)
{
	if (!h->listed)
		return;
	if (h->prev)
		h->prev->next = h->next;
	else
		h->ws->list = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->listed = false;
}

static void hold_deferred(struct http_req *req, void *arg)
{
	hold_end(arg, req, REG_WAKE_READY);
}

/* With ws->lock held. */
static void hold_fire(struct reg_hold *h)
{
	h->fired = true;
	hold_unlink(h);
	http_req_defer(h->req, hold_deferred, h);
}

/* The request ended while held: its client went away (a hold replies
 * only after it is taken off, so gone is always true here). */
static void hold_gone(void *ptr, bool gone)
{
	struct reg_hold *h = ptr;
	struct reg_waiters *ws = h->ws;
	bool later;

	(void)gone;
	pthread_mutex_lock(&ws->lock);
	hold_unlink(h);
	later = h->external;
	if (later) {
		h->gone = true;
		h->req = NULL;
	}
	pthread_mutex_unlock(&ws->lock);
	if (!later)
		hold_end(h, NULL, REG_WAKE_CLOSED);
}

static void hold_timeout(void *arg)
{
	struct reg_hold *h = arg;
	struct reg_waiters *ws = h->ws;
	bool fired;

	pthread_mutex_lock(&ws->lock);
	fired = h->fired;
	hold_unlink(h);
	pthread_mutex_unlock(&ws->lock);
	if (!fired)
		hold_end(h, h->req, REG_WAKE_TIMEOUT);
}

static struct reg_hold *hold_new(struct reg_waiters *ws, struct http_req *req,
				 reg_wake_fn fn, void *arg)
{
	struct reg_hold *h = xcalloc(1, sizeof(*h));

	h->ws = ws;
	h->req = req;
	h->fn = fn;
	h->arg = arg;
	return h;
}

struct reg_hold *reg_hold_new(struct reg_waiters *ws, struct http_req *req,
			      reg_wake_fn fn, void *arg)
{
	struct reg_hold *h = hold_new(ws, req, fn, arg);

	h->external = true;
	hold_watch(h, true);
	return h;
}

void reg_hold_wake(struct reg_hold *h)
{
	struct reg_waiters *ws = h->ws;
	bool gone;

	pthread_mutex_lock(&ws->lock);
	h->external = false;
	gone = h->gone;
	if (!gone)
		hold_fire(h);
	pthread_mutex_unlock(&ws->lock);
	if (gone)
		hold_end(h, NULL, REG_WAKE_CLOSED);
}

/* The scan service's completion callback: any thread. */
static void waiters_final(void *arg, const struct digest *dg)
{
	struct reg_waiters *ws = arg;
	struct reg_hold *h, *next;

	pthread_mutex_lock(&ws->lock);
	for (h = ws->list; h; h = next) {
		next = h->next;
		if (digest_eq(&h->dg, dg))
			hold_fire(h);
	}
	pthread_mutex_unlock(&ws->lock);
}

void reg_waiters_scan(struct reg_waiters *ws, struct http_req *req,
		      const struct digest *dg, int timeout_s, reg_wake_fn fn,
		      void *arg)
{
	struct reg_hold *h = hold_new(ws, req, fn, arg);
	struct err e = ERR_INIT;
	struct stor_scan sc;
	bool now;

	h->dg = *dg;
	pthread_mutex_lock(&ws->lock);
	h->listed = true;
	h->next = ws->list;
	if (ws->list)
		ws->list->prev = h;
	ws->list = h;
	pthread_mutex_unlock(&ws->lock);
	hold_watch(h, true);
	h->timer = http_timer_new(req, timeout_s, hold_timeout, h);
	/* Registered first, checked second: a report landing in between
	 * is not missed.  A read error ends the wait too (the callback
	 * reads again and replies with the error). */
	now = stor_scan_get(ws->st, dg, false, &sc, &e) < 0 ||
	      reg_scan_final(&sc);
	stor_scan_release(&sc);
	if (!now)
		return;
	pthread_mutex_lock(&ws->lock);
	if (!h->fired)
		hold_fire(h);
	pthread_mutex_unlock(&ws->lock);
}

struct reg_waiters *reg_waiters_new(struct stor *st, struct reg_scan *scan)
{
	struct reg_waiters *ws = xcalloc(1, sizeof(*ws));

	ws->st = st;
	pthread_mutex_init(&ws->lock, NULL);
	reg_scan_on_final(scan, waiters_final, ws);
	/* Scans other nodes finish (shared metadata) wake ours too. */
	stor_scan_on_final(st, waiters_final, ws);
	return ws;
}

void reg_waiters_free(struct reg_waiters *ws)
{
	struct reg_hold *h;

	if (!ws)
		return;
	stor_scan_on_final(ws->st, NULL, NULL);
	/* Only left if the HTTP server was not freed first. */
	while ((h = ws->list)) {
		ws->list = h->next;
		http_timer_free(h->timer);
		free(h);
	}
	pthread_mutex_destroy(&ws->lock);
	free(ws);
}
