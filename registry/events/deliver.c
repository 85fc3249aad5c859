/* deliver.c: one thread per endpoint posts its events (events.h).
 *
 * A round: store the pull events gathered (whichever thread comes
 * first), route the new events of the outbox to this endpoint, then post
 * what is due, one envelope per repository, and note the outcome.  With
 * nothing due the thread sleeps until kicked or for the pull flush
 * interval.  Everything it knows is in the store, so a restart goes on
 * where the last run stopped.
 */
#include "registry/events/events_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/banned.h"

static int64_t dv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The receiver's reply is not ours to keep. */
static size_t dv_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static bool dv_stopping(struct reg_events *ev);

/* A POST to a receiver that hangs does not hold up a shutdown. */
static int dv_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return dv_stopping(arg) ? 1 : 0;
}

/* Posts body; 0 on a 2xx, else -1 with why in e. */
static int dv_post(CURL *h, const struct ev_endpoint *ep, const struct buf *b,
		   struct err *e)
{
	struct curl_slist *hdrs = NULL;
	char sig[65], *line;
	long status = 0;
	CURLcode rc;

	hdrs = curl_slist_append(hdrs, "Content-Type: " REG_EVENTS_MEDIA_TYPE);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (ep->secret && ev_sign(ep->secret, b->buf, b->len, sig) == 0) {
		line = xasprintf(EV_SIG_HEADER ": sha256=%s", sig);
		hdrs = curl_slist_append(hdrs, line);
		free(line);
	}
	for (size_t i = 0; i < ep->nheaders; i++)
		hdrs = curl_slist_append(hdrs, ep->headers[i]);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, ep->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->buf);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)ep->timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "customs-events");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dv_discard);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, dv_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, ep->ev);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	if (rc != CURLE_OK)
		return err_set(e, ERR_IO, "%s", curl_easy_strerror(rc));
	if (status < 200 || status > 299)
		return err_set(e, ERR_IO, "HTTP status %ld", status);
	return 0;
}

/* A failed envelope: each delivery retried, or dead past its give-up. */
static void dv_failed(struct ev_endpoint *ep, const struct stor_delivery *d,
		      size_t n, const char *why)
{
	int64_t now = dv_now_ms(), *live = xcalloc(n, sizeof(*live)),
		*dead = xcalloc(n, sizeof(*dead));
	size_t nl = 0, nd = 0;
	int64_t next = now + ev_backoff_ms(d[0].attempts + 1, ep->backoff_ms,
					   ep->backoff_max_ms);
	struct err e = ERR_INIT;

	for (size_t i = 0; i < n; i++) {
		if (ep->give_up_ms > 0 && now - d[i].created >= ep->give_up_ms)
			dead[nd++] = d[i].seq;
		else
			live[nl++] = d[i].seq;
	}
	atomic_fetch_add(&ep->failed, 1);
	log_msg(nd ? LL_WARN : LL_INFO,
		"events: %s: %zu event(s) of %s not delivered (%s)%s", ep->name,
		n, *d[0].repo ? d[0].repo : "(registry)", why,
		nd ? "; giving up on the oldest (see "
		     "/v2/_customs/events/dead)"
		   : "; will retry");
	if (stor_outbox_retry(ep->ev->st, ep->name, dead, nd, 0, true, why,
			      &e) < 0 ||
	    stor_outbox_retry(ep->ev->st, ep->name, live, nl, next, false, why,
			      &e) < 0)
		log_msg(LL_ERROR, "events: %s: %s", ep->name, e.msg);
	free(live);
	free(dead);
}

/* Posts d[0..n) (one repository's, in order) as one envelope. */
static void dv_send(struct ev_endpoint *ep, CURL *h,
		    const struct stor_delivery *d, size_t n)
{
	const char **bodies = xcalloc(n, sizeof(*bodies));
	int64_t *seqs = xcalloc(n, sizeof(*seqs));
	struct err e = ERR_INIT;
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		bodies[i] = d[i].body;
		seqs[i] = d[i].seq;
	}
	if (ev_envelope(&b, bodies, n) < 0) {
		err_set(&e, ERR_INTERNAL, "out of memory");
		dv_failed(ep, d, n, e.msg);
	} else if (dv_post(h, ep, &b, &e) < 0) {
		dv_failed(ep, d, n, e.msg);
	} else {
		atomic_fetch_add(&ep->delivered, n);
		if (stor_outbox_done(ep->ev->st, ep->name, seqs, n, &e) < 0)
			log_msg(LL_ERROR, "events: %s: %s", ep->name, e.msg);
	}
	buf_release(&b);
	free(bodies);
	free(seqs);
}

static bool dv_wants(void *arg, const char *action, const char *repo)
{
	return ev_endpoint_wants(arg, action, repo);
}

/* One round; true if it sent anything (another round may follow at
 * once). */
static bool dv_round(struct ev_endpoint *ep, CURL *h)
{
	struct stor_delivery *d = NULL;
	struct err e = ERR_INIT;
	size_t n = 0, routed, i, j;

	ev_pulls_flush(ep->ev);
	do {
		if (stor_outbox_route(ep->ev->st, ep->name, dv_wants, ep,
				      EV_ROUTE_MAX, &routed, &e) < 0) {
			log_msg(LL_ERROR, "events: %s: %s", ep->name, e.msg);
			return false;
		}
	} while (routed == EV_ROUTE_MAX);
	if (stor_outbox_due(ep->ev->st, ep->name, dv_now_ms(), EV_REPOS_MAX,
			    EV_PER_REPO_MAX, &d, &n, &e) < 0) {
		log_msg(LL_ERROR, "events: %s: %s", ep->name, e.msg);
		return false;
	}
	/* The rows come grouped by repository. */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !strcmp(d[j].repo, d[i].repo); j++)
			;
		dv_send(ep, h, d + i, j - i);
	}
	stor_delivery_free(d, n);
	return n > 0;
}

static bool dv_stopping(struct reg_events *ev)
{
	bool stop;

	pthread_mutex_lock(&ev->lock);
	stop = ev->stop;
	pthread_mutex_unlock(&ev->lock);
	return stop;
}

/* Until kicked, stopped, or REG_EVENTS_PULL_FLUSH_MS. */
static void dv_sleep(struct reg_events *ev, unsigned *seen)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += REG_EVENTS_PULL_FLUSH_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ev->lock);
	while (!ev->stop && ev->kicks == *seen &&
	       pthread_cond_timedwait(&ev->cond, &ev->lock, &ts) == 0)
		;
	*seen = ev->kicks;
	pthread_mutex_unlock(&ev->lock);
}

static void *dv_thread(void *arg)
{
	struct ev_endpoint *ep = arg;
	CURL *h = curl_easy_init();
	unsigned seen = 0;

	if (!h) {
		log_msg(LL_ERROR, "events: %s: no curl handle; not delivering",
			ep->name);
		return NULL;
	}
	while (!dv_stopping(ep->ev))
		if (!dv_round(ep, h))
			dv_sleep(ep->ev, &seen);
	curl_easy_cleanup(h);
	return NULL;
}

int ev_deliver_start(struct reg_events *ev, struct err *e)
{
	size_t routed;

	/* Each endpoint's cursor exists before anything is served, so that
	 * no event of this run is taken for history. */
	for (size_t i = 0; i < ev->neps; i++)
		if (stor_outbox_route(ev->st, ev->eps[i].name, dv_wants,
				      &ev->eps[i], EV_ROUTE_MAX, &routed,
				      e) < 0)
			return -1;
	for (size_t i = 0; i < ev->neps; i++) {
		struct ev_endpoint *ep = &ev->eps[i];

		ep->ev = ev;
		if (pthread_create(&ep->thread, NULL, dv_thread, ep) != 0) {
			ev_deliver_stop(ev);
			return err_set(e, ERR_INTERNAL,
				       "events: cannot start a thread");
		}
		ep->started = true;
	}
	return 0;
}

void ev_deliver_stop(struct reg_events *ev)
{
	pthread_mutex_lock(&ev->lock);
	ev->stop = true;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
	for (size_t i = 0; i < ev->neps; i++)
		if (ev->eps[i].started) {
			pthread_join(ev->eps[i].thread, NULL);
			ev->eps[i].started = false;
		}
}
