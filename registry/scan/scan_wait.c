/* scan_wait.c: requests held until a report is ready.
 *
 * A waiter is in the pool's list until it fires.  Three things can end it,
 * and exactly one callback runs:
 *   - rs_notify() (a worker thread) takes it out of the list and defers
 *     REG_SCAN_READY onto the request's loop;
 *   - its timer (loop thread) takes it out unless it has fired: TIMEOUT;
 *   - the client going away (loop thread): CLOSED.  If it had fired, the
 *     deferred call is dropped by the HTTP layer along with the request.
 * The list lock orders the first against the other two.
 */
#include "registry/scan/scan_int.h"

#include <event2/event.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/http/http.h"
#include "common/banned.h"

struct rs_waiter {
	struct reg_scan *pool;
	struct http_req *req;
	struct digest dg;
	struct event *timer;
	reg_scan_wake_fn fn;
	void *arg;
	bool fired; /* guarded by pool->wlock */
	struct rs_waiter *prev, *next;
};

bool reg_scan_final(const struct stor_scan *sc)
{
	return sc->has_result || sc->state == STOR_SCAN_NONE ||
	       sc->state == STOR_SCAN_DONE || sc->state == STOR_SCAN_FAILED;
}

/* With pool->wlock held. */
static void rs_unlink(struct rs_waiter *w)
{
	struct reg_scan *s = w->pool;

	if (w->prev)
		w->prev->next = w->next;
	else
		s->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

static void rs_waiter_end(struct rs_waiter *w, enum reg_scan_wake why)
{
	struct http_req *req = w->req;
	reg_scan_wake_fn fn = w->fn;
	void *arg = w->arg;

	if (w->timer)
		event_free(w->timer);
	if (why != REG_SCAN_CLOSED)
		http_req_on_close(req, NULL, NULL);
	free(w);
	fn(req, arg, why);
}

static void rs_wait_deferred(struct http_req *req, void *arg)
{
	(void)req;
	rs_waiter_end(arg, REG_SCAN_READY);
}

/* With pool->wlock held. */
static void rs_fire(struct rs_waiter *w)
{
	w->fired = true;
	rs_unlink(w);
	http_req_defer(w->req, rs_wait_deferred, w);
}

void rs_notify(struct reg_scan *s, const struct digest *dg)
{
	struct rs_waiter *w, *next;

	pthread_mutex_lock(&s->wlock);
	for (w = s->waiters; w; w = next) {
		next = w->next;
		if (digest_eq(&w->dg, dg))
			rs_fire(w);
	}
	pthread_mutex_unlock(&s->wlock);
}

static void rs_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rs_waiter *w = arg;
	struct reg_scan *s = w->pool;
	bool fired;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&s->wlock);
	fired = w->fired;
	if (!fired)
		rs_unlink(w);
	pthread_mutex_unlock(&s->wlock);
	if (!fired)
		rs_waiter_end(w, REG_SCAN_TIMEOUT);
}

static void rs_wait_closed(struct http_req *req, void *arg)
{
	struct rs_waiter *w = arg;
	struct reg_scan *s = w->pool;

	(void)req;
	pthread_mutex_lock(&s->wlock);
	if (!w->fired)
		rs_unlink(w);
	pthread_mutex_unlock(&s->wlock);
	rs_waiter_end(w, REG_SCAN_CLOSED);
}

void reg_scan_wait(struct reg_scan *s, struct http_req *req,
		   const struct digest *dg, int timeout_s, reg_scan_wake_fn fn,
		   void *arg)
{
	struct rs_waiter *w = xcalloc(1, sizeof(*w));
	struct timeval tv = {timeout_s > 0 ? timeout_s : 0, 0};
	struct stor_scan sc;
	struct err e = ERR_INIT;
	bool now;

	w->pool = s;
	w->req = req;
	w->dg = *dg;
	w->fn = fn;
	w->arg = arg;
	w->timer = evtimer_new(http_req_base(req), rs_wait_timeout, w);
	if (!w->timer) {
		log_msg(LL_ERROR, "%s: no timer for a scan wait",
			http_req_id(req));
		abort();
	}
	pthread_mutex_lock(&s->wlock);
	w->next = s->waiters;
	if (s->waiters)
		s->waiters->prev = w;
	s->waiters = w;
	pthread_mutex_unlock(&s->wlock);
	http_req_on_close(req, rs_wait_closed, w);
	evtimer_add(w->timer, &tv);
	/* Registered first, checked second: a report landing in between
	 * is not missed.  A read error ends the wait too (the callback
	 * reads again and replies with the error). */
	now = stor_scan_get(s->st, dg, false, &sc, &e) < 0 ||
	      reg_scan_final(&sc);
	stor_scan_release(&sc);
	if (!now)
		return;
	pthread_mutex_lock(&s->wlock);
	if (!w->fired)
		rs_fire(w);
	pthread_mutex_unlock(&s->wlock);
}

void rs_waiters_free(struct reg_scan *s)
{
	struct rs_waiter *w;

	/* Only left if the HTTP server was not freed first. */
	while ((w = s->waiters)) {
		s->waiters = w->next;
		if (w->timer)
			event_free(w->timer);
		free(w);
	}
}
