/* events.h: registry events delivered to webhooks.
 *
 * What happens (a manifest pushed, pulled or deleted; a scan completed or
 * failed; a pull refused by the policy; a new vulnerability DB) becomes
 * an event in CNCF distribution's notification format, stored in the
 * store's outbox (storage.h) in the transaction of the change itself, so
 * that a crash loses none.  Pulls are the exception: they change nothing,
 * so their events (and policy.denied's) are gathered in memory and stored
 * every REG_EVENTS_PULL_FLUSH_MS in one transaction: a crash loses at
 * most that last batch of these, never an event of a change.
 *
 * Delivery runs on its own threads (one per endpoint, libcurl), never on
 * an event loop: in order per repository, each envelope signed with the
 * endpoint's secret (X-Customs-Signature: sha256=HEX, an HMAC-SHA256 of
 * the body), retried with capped exponential backoff until it is
 * delivered or its give-up time passes; it is then dead, listed by
 * GET /v2/_customs/events/dead and counted in /metrics.  A failing
 * repository holds back its own later events only.
 *
 * Endpoints come from the repeatable serve option `webhook`: a URL, or
 * in the config file an object (see README "Events and webhooks").
 * With none, reg_events_new() gives NULL and every function here does
 * nothing given NULL.
 */
#ifndef REGISTRY_EVENTS_EVENTS_H
#define REGISTRY_EVENTS_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/err.h"
#include "storage/storage.h"

struct reg_events;
struct http_req;
struct opt_list;

#define REG_EVENTS_MEDIA_TYPE                                                  \
	"application/vnd.docker.distribution.events.v1+json"
#define REG_EVENTS_PULL_FLUSH_MS 100

/* The defaults of every endpoint (seconds; the object may override). */
struct reg_events_config {
	const struct opt_list *webhooks; /* URL or JSON object each */
	int64_t timeout_s;		 /* one POST */
	int64_t backoff_s;		 /* first retry after */
	int64_t backoff_max_s;		 /* retries at most this far apart */
	int64_t give_up_s;		 /* an event older than this is dead */
};

/* Parses the endpoints and starts their threads; *out NULL when there is
 * none.  ERR_INVALID for a bad endpoint. */
int reg_events_new(const struct reg_events_config *c, struct stor *st,
		   struct reg_events **out, struct err *e);
/* Stores the pull events still in memory, stops and joins the threads. */
void reg_events_free(struct reg_events *ev);
/* The port the server listens on, for the events' source.addr. */
void reg_events_set_port(struct reg_events *ev, int port);
/* An event was stored: deliver soon. */
void reg_events_kick(struct reg_events *ev);

/* Who caused an event, copied from the request on its loop thread. */
struct reg_event_src {
	char *id, *addr, *host, *method, *useragent, *actor;
	bool tls;
};
/* actor: the signed-in user, or NULL. */
void reg_event_src_init(struct reg_event_src *s, struct http_req *req,
			const char *actor);
void reg_event_src_release(struct reg_event_src *s);

/* What an event is about.  dg and media_type may be NULL (db.updated). */
struct reg_event_target {
	const char *repo;
	const char *tag;
	const struct digest *dg;
	const char *media_type;
	int64_t size;
};

/* One event's JSON text (the caller frees it), or NULL when ev is NULL.
 * extra (NULL: none) is merged into the event object (taken). */
char *reg_event_make(const struct reg_events *ev, const char *action,
		     const struct reg_event_target *t,
		     const struct reg_event_src *src, json_t *extra);
/* An event of a request that changes nothing (a pull, policy.denied),
 * for an event loop: kept in memory and stored with the next batch. */
void reg_events_defer(struct reg_events *ev, const char *action,
		      const struct reg_event_target *t,
		      const struct reg_event_src *src, json_t *extra);
/* An event that goes with no change of the store (policy.denied,
 * db.updated): stored now, on the calling thread (a sqlite write). */
void reg_events_note(struct reg_events *ev, const char *action,
		     const struct reg_event_target *t,
		     const struct reg_event_src *src, json_t *extra);

/* GET /v2/_customs/events/dead: {"dead": [...]} of the store. */
json_t *reg_events_dead_json(struct stor *st, size_t max, struct err *e);
/* The events' lines of /metrics. */
void reg_events_metrics(struct reg_events *ev, struct stor *st, struct buf *b);

#endif
