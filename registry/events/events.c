/* events.c: events in distribution's notification format, the endpoints
 * and their filters, signatures and backoff (events.h). */
#include "registry/events/events_int.h"

#include <fnmatch.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/opt.h"
#include "common/xmalloc.h"
#include "registry/http/http.h"
#include "registry/metrics_int.h"
#include "common/banned.h"

/* --- Events ----------------------------------------------------------------
 */

static void ev_uuid(char out[37])
{
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		 r[10], r[11], r[12], r[13], r[14], r[15]);
}

/* RFC 3339 with nanoseconds, as Go's time.Time marshals. */
static void ev_timestamp(char out[40])
{
	struct timespec ts;
	struct tm tm;
	char s[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%09ldZ", s, (long)ts.tv_nsec);
}

static char *ev_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void reg_event_src_init(struct reg_event_src *s, struct http_req *req,
			const char *actor)
{
	memset(s, 0, sizeof(*s));
	if (!req)
		return;
	s->id = ev_dup(http_req_id(req));
	s->addr = ev_dup(http_req_peer(req));
	s->host = ev_dup(http_req_header(req, "Host"));
	s->method = ev_dup(http_req_method_name(req));
	s->useragent = ev_dup(http_req_header(req, "User-Agent"));
	s->actor = ev_dup(actor);
	s->tls = http_req_is_tls(req);
}

void reg_event_src_release(struct reg_event_src *s)
{
	free(s->id);
	free(s->addr);
	free(s->host);
	free(s->method);
	free(s->useragent);
	free(s->actor);
	memset(s, 0, sizeof(*s));
}

static json_t *ev_str(const char *s)
{
	return json_string(s ? s : "");
}

/* Distribution's target: the descriptor, then where it lives. */
static json_t *ev_target(const struct reg_event_target *t,
			 const struct reg_event_src *src)
{
	json_t *o = json_object();
	char ds[DIGEST_STR_MAX];

	if (t->media_type)
		json_object_set_new(o, "mediaType", json_string(t->media_type));
	if (t->dg) {
		digest_str(t->dg, ds);
		json_object_set_new(o, "digest", json_string(ds));
		json_object_set_new(o, "size", json_integer(t->size));
		json_object_set_new(o, "length", json_integer(t->size));
	}
	if (t->repo && *t->repo)
		json_object_set_new(o, "repository", json_string(t->repo));
	if (t->dg && t->repo && *t->repo && src && src->host)
		json_object_set_new(o, "url",
				    json_sprintf("%s://%s/v2/%s/manifests/%s",
						 src->tls ? "https" : "http",
						 src->host, t->repo, ds));
	if (t->tag)
		json_object_set_new(o, "tag", json_string(t->tag));
	return o;
}

char *reg_event_make(const struct reg_events *ev, const char *action,
		     const struct reg_event_target *t,
		     const struct reg_event_src *src, json_t *extra)
{
	static const struct reg_event_src none = {0};
	char id[37], ts[40], addr[300], *text;
	json_t *o;

	if (!ev) {
		json_decref(extra);
		return NULL;
	}
	if (!src)
		src = &none;
	ev_uuid(id);
	ev_timestamp(ts);
	snprintf(addr, sizeof(addr), "%s:%d", ev->host, atomic_load(&ev->port));
	o = json_pack("{s:s, s:s, s:s, s:o, s:{s:o, s:o, s:o, s:o, s:o},"
		      " s:{s:o}, s:{s:s, s:s}}",
		      "id", id, "timestamp", ts, "action", action, "target",
		      ev_target(t, src), "request", "id", ev_str(src->id),
		      "addr", ev_str(src->addr), "host", ev_str(src->host),
		      "method", ev_str(src->method), "useragent",
		      ev_str(src->useragent), "actor", "name",
		      ev_str(src->actor), "source", "addr", addr, "instanceID",
		      ev->instance);
	if (extra)
		json_object_update(o, extra);
	json_decref(extra);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

void reg_events_defer(struct reg_events *ev, const char *action,
		      const struct reg_event_target *t,
		      const struct reg_event_src *src, json_t *extra)
{
	char *body;

	/* Pulls are the hot path: no event nobody wants. */
	if (ev && !ev->want_pull && !strcmp(action, "pull")) {
		json_decref(extra);
		return;
	}
	body = reg_event_make(ev, action, t, src, extra);
	if (!body)
		return;
	pthread_mutex_lock(&ev->lock);
	if (ev->npulls == ev->apulls) {
		ev->apulls = ev->apulls ? 2 * ev->apulls : 64;
		ev->pulls =
			xrealloc(ev->pulls, ev->apulls * sizeof(*ev->pulls));
	}
	ev->pulls[ev->npulls].action = action;
	ev->pulls[ev->npulls].repo = xstrdup(t->repo ? t->repo : "");
	ev->pulls[ev->npulls++].body = body;
	pthread_mutex_unlock(&ev->lock);
}

void ev_pulls_flush(struct reg_events *ev)
{
	struct stor_event *v;
	struct ev_pull *p;
	struct err e = ERR_INIT;
	size_t n;

	pthread_mutex_lock(&ev->lock);
	p = ev->pulls;
	n = ev->npulls;
	ev->pulls = NULL;
	ev->npulls = ev->apulls = 0;
	pthread_mutex_unlock(&ev->lock);
	if (!n)
		return;
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (struct stor_event){p[i].action, p[i].repo, p[i].body};
	if (stor_event_add(ev->st, v, n, &e) < 0)
		log_msg(LL_ERROR, "events: %zu deferred event(s) lost: %s", n,
			e.msg);
	for (size_t i = 0; i < n; i++) {
		free(p[i].repo);
		free(p[i].body);
	}
	free(p);
	free(v);
}

void reg_events_note(struct reg_events *ev, const char *action,
		     const struct reg_event_target *t,
		     const struct reg_event_src *src, json_t *extra)
{
	char *body = reg_event_make(ev, action, t, src, extra);
	struct stor_event se = {action, t->repo ? t->repo : "", body};
	struct err e = ERR_INIT;

	if (!body)
		return;
	if (stor_event_add(ev->st, &se, 1, &e) < 0)
		log_msg(LL_ERROR, "events: %s event lost: %s", action, e.msg);
	else
		reg_events_kick(ev);
	free(body);
}

/* --- Endpoints -------------------------------------------------------------
 */

int64_t ev_backoff_ms(int attempt, int64_t base, int64_t max)
{
	int64_t wait = base > 0 ? base : 1;

	for (int i = 1; i < attempt && wait < max; i++)
		wait *= 2;
	return wait < max ? wait : max;
}

int ev_sign(const char *secret, const void *data, size_t len, char hex[65])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), data, len, mac,
		  &n) ||
	    n != 32)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

int ev_envelope(struct buf *b, const char *const *bodies, size_t n)
{
	int rc = buf_adds(b, "{\"events\":[");

	for (size_t i = 0; i < n && rc == 0; i++)
		if ((i && buf_adds(b, ",") < 0) || buf_adds(b, bodies[i]) < 0)
			rc = -1;
	if (rc == 0)
		rc = buf_adds(b, "]}");
	return rc;
}

static bool ev_match_any(char *const *pats, size_t n, const char *s)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (fnmatch(pats[i], s, 0) == 0)
			return true;
	return false;
}

bool ev_endpoint_wants(const struct ev_endpoint *ep, const char *action,
		       const char *repo)
{
	if (!ev_match_any(ep->actions, ep->nactions, action))
		return false;
	return !repo || !*repo || ev_match_any(ep->repos, ep->nrepos, repo);
}

/* A string, or an array of strings, into a list. */
static int ev_json_strv(json_t *o, const char *key, char ***v, size_t *n,
			struct err *e)
{
	json_t *a = json_object_get(o, key), *x;
	size_t i;

	if (!a)
		return 0;
	if (json_is_string(a)) {
		*v = xcalloc(1, sizeof(**v));
		(*v)[(*n)++] = xstrdup(json_string_value(a));
		return 0;
	}
	if (!json_is_array(a))
		return err_set(e, ERR_INVALID,
			       "webhook: '%s' must be a string or an array",
			       key);
	*v = xcalloc(json_array_size(a) + 1, sizeof(**v));
	json_array_foreach(a, i, x) {
		if (!json_is_string(x))
			return err_set(e, ERR_INVALID,
				       "webhook: '%s' holds a non-string", key);
		(*v)[(*n)++] = xstrdup(json_string_value(x));
	}
	return 0;
}

/* A duration: seconds as a number, or opt_duration()'s text. */
static int ev_json_ms(json_t *o, const char *key, int64_t *ms, struct err *e)
{
	json_t *x = json_object_get(o, key);
	int64_t s = -1;

	if (!x)
		return 0;
	if (json_is_integer(x))
		s = json_integer_value(x);
	else if (json_is_string(x))
		s = opt_duration(json_string_value(x));
	if (s < 0 || s > (1LL << 31))
		return err_set(e, ERR_INVALID,
			       "webhook: '%s' is not a duration", key);
	*ms = s * 1000;
	return 0;
}

static int ev_json_headers(json_t *o, struct ev_endpoint *ep, struct err *e)
{
	json_t *h = json_object_get(o, "headers"), *v;
	const char *k;

	if (!h)
		return 0;
	if (!json_is_object(h))
		return err_set(e, ERR_INVALID,
			       "webhook: 'headers' must be an object");
	ep->headers = xcalloc(json_object_size(h) + 1, sizeof(*ep->headers));
	json_object_foreach(h, k, v) {
		const char *s = json_string_value(v);

		if (!s || !*k || strpbrk(k, ":\r\n \t") || strpbrk(s, "\r\n"))
			return err_set(e, ERR_INVALID,
				       "webhook: header '%.40s' is not a "
				       "name and a one-line string",
				       k);
		ep->headers[ep->nheaders++] = xasprintf("%s: %s", k, s);
	}
	return 0;
}

static int ev_parse_object(const char *text, struct ev_endpoint *ep,
			   struct err *e)
{
	static const char *const keys[] = {"name",    "url",	 "secret",
					   "headers", "events",	 "repos",
					   "timeout", "backoff", "backoff_max",
					   "give_up", NULL};
	json_t *o = json_loads(text, 0, NULL), *v;
	const char *key;
	int rc = -1;

	if (!json_is_object(o)) {
		err_set(e, ERR_INVALID, "webhook: not a JSON object");
		goto out;
	}
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; keys[i] && strcmp(keys[i], key); i++)
			;
		if (!keys[i]) {
			err_set(e, ERR_INVALID, "webhook: unknown key '%.40s'",
				key);
			goto out;
		}
		if ((!strcmp(key, "name") || !strcmp(key, "url") ||
		     !strcmp(key, "secret")) &&
		    !json_is_string(v)) {
			err_set(e, ERR_INVALID,
				"webhook: '%s' must be a string", key);
			goto out;
		}
	}
	ep->url = ev_dup(json_string_value(json_object_get(o, "url")));
	ep->name = ev_dup(json_string_value(json_object_get(o, "name")));
	ep->secret = ev_dup(json_string_value(json_object_get(o, "secret")));
	if (ev_json_headers(o, ep, e) < 0 ||
	    ev_json_strv(o, "events", &ep->actions, &ep->nactions, e) < 0 ||
	    ev_json_strv(o, "repos", &ep->repos, &ep->nrepos, e) < 0 ||
	    ev_json_ms(o, "timeout", &ep->timeout_ms, e) < 0 ||
	    ev_json_ms(o, "backoff", &ep->backoff_ms, e) < 0 ||
	    ev_json_ms(o, "backoff_max", &ep->backoff_max_ms, e) < 0 ||
	    ev_json_ms(o, "give_up", &ep->give_up_ms, e) < 0)
		goto out;
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int ev_endpoint_parse(const char *value, const struct reg_events_config *c,
		      struct ev_endpoint *ep, struct err *e)
{
	memset(ep, 0, sizeof(*ep));
	ep->timeout_ms = c->timeout_s * 1000;
	ep->backoff_ms = c->backoff_s * 1000;
	ep->backoff_max_ms = c->backoff_max_s * 1000;
	ep->give_up_ms = c->give_up_s * 1000;
	if (value[0] == '{') {
		if (ev_parse_object(value, ep, e) < 0)
			goto fail;
	} else {
		ep->url = xstrdup(value);
	}
	if (!ep->url || (strncmp(ep->url, "http://", 7) &&
			 strncmp(ep->url, "https://", 8))) {
		err_set(e, ERR_INVALID,
			"webhook: needs an http:// or https:// url");
		goto fail;
	}
	if (!ep->name)
		ep->name = xstrdup(ep->url);
	if (ep->timeout_ms <= 0)
		ep->timeout_ms = 10000;
	if (ep->backoff_ms <= 0)
		ep->backoff_ms = 1000;
	if (ep->backoff_max_ms < ep->backoff_ms)
		ep->backoff_max_ms = ep->backoff_ms;
	return 0;
fail:
	ev_endpoint_release(ep);
	return -1;
}

static void ev_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void ev_endpoint_release(struct ev_endpoint *ep)
{
	free(ep->name);
	free(ep->url);
	free(ep->secret);
	ev_strv_free(ep->headers, ep->nheaders);
	ev_strv_free(ep->actions, ep->nactions);
	ev_strv_free(ep->repos, ep->nrepos);
	memset(ep, 0, sizeof(*ep));
}

/* --- The service -----------------------------------------------------------
 */

static void ev_free_parts(struct reg_events *ev)
{
	for (size_t i = 0; i < ev->neps; i++)
		ev_endpoint_release(&ev->eps[i]);
	free(ev->eps);
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->cond);
	free(ev);
}

/* Endpoints no longer configured lose what they had not received. */
static int ev_forget_others(struct reg_events *ev, struct err *e)
{
	const char **names = xcalloc(ev->neps + 1, sizeof(*names));
	size_t dropped = 0;
	int rc;

	for (size_t i = 0; i < ev->neps; i++)
		names[i] = ev->eps[i].name;
	rc = stor_outbox_keep(ev->st, names, ev->neps, &dropped, e);
	free(names);
	if (rc == 0 && dropped)
		log_msg(LL_WARN,
			"events: %zu undelivered event(s) of endpoints no "
			"longer configured dropped",
			dropped);
	return rc;
}

int reg_events_new(const struct reg_events_config *c, struct stor *st,
		   struct reg_events **out, struct err *e)
{
	const struct opt_list *l = c->webhooks;
	struct reg_events *ev;

	*out = NULL;
	if (!l || !l->n)
		return 0;
	ev = xcalloc(1, sizeof(*ev));
	ev->st = st;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
	ev_uuid(ev->instance);
	if (gethostname(ev->host, sizeof(ev->host) - 1) < 0)
		snprintf(ev->host, sizeof(ev->host), "localhost");
	ev->eps = xcalloc(l->n, sizeof(*ev->eps));
	for (; ev->neps < l->n; ev->neps++) {
		if (ev_endpoint_parse(l->v[ev->neps], c, &ev->eps[ev->neps],
				      e) < 0)
			goto fail;
		for (size_t i = 0; i < ev->neps; i++)
			if (!strcmp(ev->eps[i].name, ev->eps[ev->neps].name)) {
				err_set(e, ERR_INVALID,
					"webhook: two endpoints named %s",
					ev->eps[i].name);
				ev->neps++;
				goto fail;
			}
		if (ev_match_any(ev->eps[ev->neps].actions,
				 ev->eps[ev->neps].nactions, "pull"))
			ev->want_pull = true;
	}
	if (ev_forget_others(ev, e) < 0 || ev_deliver_start(ev, e) < 0)
		goto fail;
	log_msg(LL_INFO, "events: %zu webhook endpoint(s)", ev->neps);
	*out = ev;
	return 0;
fail:
	ev_free_parts(ev);
	return -1;
}

void reg_events_free(struct reg_events *ev)
{
	if (!ev)
		return;
	ev_deliver_stop(ev);
	ev_pulls_flush(ev);
	ev_free_parts(ev);
}

void reg_events_set_port(struct reg_events *ev, int port)
{
	if (ev)
		atomic_store(&ev->port, port);
}

void reg_events_kick(struct reg_events *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->kicks++;
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

/* --- What operators see ----------------------------------------------------
 */

json_t *reg_events_dead_json(struct stor *st, size_t max, struct err *e)
{
	struct stor_delivery *d = NULL;
	size_t n = 0;
	json_t *a, *o;

	if (stor_outbox_dead(st, max, &d, &n, e) < 0)
		return NULL;
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *body = json_loads(d[i].body, 0, NULL);

		json_array_append_new(
			a, json_pack("{s:s, s:I, s:s, s:s, s:i, s:I, s:s, s:o}",
				     "endpoint", d[i].endpoint, "seq",
				     (json_int_t)d[i].seq, "action",
				     d[i].action, "repository", d[i].repo,
				     "attempts", d[i].attempts, "created_ms",
				     (json_int_t)d[i].created, "error",
				     d[i].error ? d[i].error : "", "event",
				     body ? body : json_null()));
	}
	stor_delivery_free(d, n);
	o = json_pack("{s:o}", "dead", a);
	return o;
}

/* A counter per endpoint: its failures, else its deliveries. */
static void ev_metric_eps(struct reg_events *ev, struct buf *b,
			  const char *name, const char *help, bool failures)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < ev->neps; i++) {
		struct ev_endpoint *ep = &ev->eps[i];

		buf_addf(b, "%s{endpoint=\"", name);
		rm_label_value(b, ep->name);
		buf_addf(b, "\"} %llu\n",
			 (unsigned long long)atomic_load(
				 failures ? &ep->failed : &ep->delivered));
	}
}

void reg_events_metrics(struct reg_events *ev, struct stor *st, struct buf *b)
{
	size_t pending = 0, dead = 0;
	struct err e = ERR_INIT;

	if (!ev)
		return;
	if (stor_outbox_counts(st, &pending, &dead, &e) < 0)
		log_msg(LL_WARN, "metrics: events: %s", e.msg);
	buf_addf(b,
		 "# HELP customs_events_pending Event deliveries waiting to "
		 "be sent, all endpoints.\n"
		 "# TYPE customs_events_pending gauge\n"
		 "customs_events_pending %zu\n"
		 "# HELP customs_events_dead_total Event deliveries given up "
		 "on (GET /v2/_customs/events/dead).\n"
		 "# TYPE customs_events_dead_total counter\n"
		 "customs_events_dead_total %zu\n",
		 pending, dead);
	ev_metric_eps(ev, b, "customs_events_delivered_total",
		      "Events an endpoint accepted.", false);
	ev_metric_eps(ev, b, "customs_events_failures_total",
		      "Event POSTs that failed (to be retried or given up).",
		      true);
}
