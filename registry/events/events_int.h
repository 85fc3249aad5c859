/* events_int.h: inside registry/events/ (and its unit test). */
#ifndef REGISTRY_EVENTS_EVENTS_INT_H
#define REGISTRY_EVENTS_EVENTS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "registry/events/events.h"

#define EV_SIG_HEADER "X-Customs-Signature"
/* One round of an endpoint: events routed, repositories and events of
 * one repository sent together. */
#define EV_ROUTE_MAX	1024
#define EV_REPOS_MAX	64
#define EV_PER_REPO_MAX 256

/* One webhook endpoint, parsed from its option value. */
struct ev_endpoint {
	char *name; /* the key of its deliveries in the store; its URL
		     * unless the object names it */
	char *url;
	char *secret;	/* NULL: unsigned */
	char **headers; /* "Name: value" */
	size_t nheaders;
	char **actions; /* fnmatch patterns; none: every action */
	size_t nactions;
	char **repos; /* fnmatch patterns; none: every repository */
	size_t nrepos;
	int64_t timeout_ms, backoff_ms, backoff_max_ms, give_up_ms;

	/* The delivery thread's (deliver.c). */
	struct reg_events *ev;
	pthread_t thread;
	bool started;
	atomic_ullong delivered, failed;
};

/* A deferred event (reg_events_defer()). */
struct ev_pull {
	const char *action; /* static: "pull", "policy.denied" */
	char *repo;
	char *body;
};

struct reg_events {
	struct stor *st;
	char instance[40]; /* source.instanceID: a UUID per start */
	char host[256];	   /* source.addr: this host's name ... */
	atomic_int port;   /* ... and the port it serves (0: not yet) */
	struct ev_endpoint *eps;
	size_t neps;
	bool want_pull; /* some endpoint's filter takes pulls */

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t cond;
	bool stop;
	unsigned kicks;
	struct ev_pull *pulls; /* waiting to be stored */
	size_t npulls, apulls;
};

/* Parses one `webhook` value (a URL, or a JSON object's text) over the
 * defaults in c into ep.  ERR_INVALID says what is wrong. */
int ev_endpoint_parse(const char *value, const struct reg_events_config *c,
		      struct ev_endpoint *ep, struct err *e);
void ev_endpoint_release(struct ev_endpoint *ep);
/* Whether ep takes an event (events about no repository pass any
 * repository filter). */
bool ev_endpoint_wants(const struct ev_endpoint *ep, const char *action,
		       const char *repo);
/* The wait before attempt `attempt` + 1 after `attempt` failures:
 * base doubled each time, at most max. */
int64_t ev_backoff_ms(int attempt, int64_t base, int64_t max);
/* hex (65 bytes) gets the HMAC-SHA256 of data under secret, in hex. */
int ev_sign(const char *secret, const void *data, size_t len, char hex[65]);
/* {"events":[bodies...]} into b (bodies are JSON objects' text). */
int ev_envelope(struct buf *b, const char *const *bodies, size_t n);
/* Stores the pull events gathered so far (any thread). */
void ev_pulls_flush(struct reg_events *ev);

/* deliver.c: the endpoint threads. */
int ev_deliver_start(struct reg_events *ev, struct err *e);
void ev_deliver_stop(struct reg_events *ev);

#endif
