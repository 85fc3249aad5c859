/* upstream_int.h: what registry/proxy/upstream*.c share (see upstream.h).
 *
 *   upstream.c       remotes, one transfer (ups_do), upstream errors
 *   upstream_auth.c  challenges, the token endpoint, the token cache
 *   upstream_pool.c  worker threads, the curl share handle
 *   upstream_guard.c where a transfer may go: names and addresses
 */
#ifndef REGISTRY_UPSTREAM_INT_H
#define REGISTRY_UPSTREAM_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "registry/proxy/upstream.h"
#include "common/log.h"

/* Tokens (and "this remote wants basic" notes) kept at most. */
#define UPS_TOKENS_MAX 1024
/* A token is dropped this long before it expires. */
#define UPS_TOKEN_SLACK_S 10
/* Bytes of a non-2xx reply kept (for its error message). */
#define UPS_ERR_BODY_MAX (16 * 1024)
/* A token endpoint's reply is no bigger. */
#define UPS_TOKEN_BODY_MAX (64 * 1024)

struct ups_job {
	struct ups_job *next;
	ups_job_fn fn;
	void *arg;
	char rid[LOG_REQUEST_ID_MAX + 1]; /* the submitter's request id */
};

/* A cached token for (remote, scope), or with token NULL and scope "" the
 * note that the remote asks for basic auth. */
struct ups_token {
	struct ups_token *next;
	const struct ups_remote *r;
	char *scope;
	char *token;
	time_t expires;
};

struct ups {
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	atomic_bool cancel;

	pthread_mutex_t lock; /* the queue */
	pthread_cond_t cond;
	struct ups_job *head, *tail;
	bool stop;
	pthread_t *threads;
	int nthreads;
	int64_t timeout_s; /* of a transfer with a sink */

	pthread_mutex_t tlock; /* the tokens */
	struct ups_token *tokens;
	size_t ntokens;

	/* ups_stats(): relaxed atomics, no lock on the transfer path. */
	atomic_uint_fast64_t n_transfers, n_bytes, n_fails[UPS_NFAILS];
};

struct ups_conn {
	struct ups *u;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	/* The guard of the request in progress (upstream_guard.c). */
	enum ups_hop hop;
	const struct ups_remote *origin_r; /* whose address origin is */
	bool origin_known; /* origin is the kind of its first address */
	enum ups_addr_kind origin;
	enum ups_fail fail; /* why the transfer in progress failed */
	bool refused;	    /* a connection was refused for its address */
	enum ups_addr_kind refused_kind;
	char refused_ip[64];
};

/* upstream.c: the options every request of c starts from, for a URL that
 * is hop to r. */
void ups_conn_setup(struct ups_conn *c, const struct ups_remote *r,
		    enum ups_hop hop);
/* upstream_pool.c: progress callback that ends transfers on ups_cancel(). */
int ups_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		 curl_off_t ultotal, curl_off_t ulnow);

/* upstream_guard.c */
/* Installs the address checks of hop to r on c's handle (after
 * curl_easy_reset). */
void ups_guard_setup(struct ups_conn *c, const struct ups_remote *r,
		     enum ups_hop hop);
/* A new transfer: its first request fixes where the upstream is. */
void ups_guard_begin(struct ups_conn *c);
/* The error for a transfer that c->refused: names the host of url. */
int ups_guard_error(struct ups_conn *c, const struct ups_remote *r,
		    const char *url, struct err *e);

/* upstream_auth.c */
/* "Authorization: Bearer ..." for (r, scope) while a token is fresh, else
 * NULL; the caller frees. */
char *ups_token_header(struct ups *u, const struct ups_remote *r,
		       const char *scope);
/* Whether r asked for basic auth before. */
bool ups_wants_basic(struct ups *u, const struct ups_remote *r);
void ups_note_basic(struct ups *u, const struct ups_remote *r);
/* Gets a token from the challenge's realm and caches it for scope. */
int ups_token_fetch(struct ups_conn *c, const struct ups_remote *r,
		    const struct ups_challenge *ch, const char *scope,
		    struct err *e);
/* Forgets the token of (r, scope): the upstream refused it. */
void ups_token_drop(struct ups *u, const struct ups_remote *r,
		    const char *scope);
void ups_tokens_free(struct ups *u);

#endif
