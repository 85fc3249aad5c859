/* upstream.h: the pull-through cache's client of upstream registries.
 * Private to registry/proxy/: only proxy*.c (and its unit test) use it;
 * the rest of registry/ goes through proxy.h.
 *
 * libcurl easy handles, one per worker thread of a small pool, sharing one
 * connection cache (keep-alive across threads), DNS cache and TLS sessions.
 * Calls block, so they run only on the pool's threads (ups_submit), never
 * on an event loop.  TLS is verified (the system's CAs, or a remote's own
 * bundle).  Redirects are followed, as blob CDNs need, but only to where
 * the upstream may send us (upstream_guard.c): its own origin, a host on
 * its allow list, or an https host on a public address; our Authorization
 * header and credentials go to its own origin only.  Every transfer has a
 * deadline and a low-speed limit.
 *
 * Upstream auth: anonymous, plain basic, and the Bearer token flow of the
 * distribution spec (Docker Hub's): a 401's WWW-Authenticate challenge
 * names the realm, service and scope; the token is fetched from the realm
 * (with the remote's credentials, if it has any) and cached until it
 * expires.  Credentials and tokens never reach a log line or an error
 * message.
 */
#ifndef REGISTRY_UPSTREAM_H
#define REGISTRY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/digest.h"
#include "common/err.h"

/* One upstream registry, from --mirror or --upstream; read-only once
 * parsed.  Strings are owned by the struct. */
struct ups_remote {
	/* Names under it map here: "docker.io/"; "" mirror.  A port is
	 * kept with '_': "registry.local_5000/" for registry.local:5000/. */
	char *prefix;
	char *ns;	/* ?ns= value that selects it ("docker.io"), or NULL */
	char *url;	/* "https://registry-1.docker.io", no trailing '/' */
	char *host;	/* for messages: "registry-1.docker.io" */
	char *username; /* NULL: anonymous */
	char *password;
	char *ca;	 /* PEM bundle to verify it with; NULL: the system's */
	bool docker_hub; /* a one-component name is library/<name> there */
	/* Hosts besides its own it may redirect us to (and name as its
	 * token realm), as given: "HOST", "HOST:PORT" or "*.DOMAIN". */
	char **allow;
	size_t nallow;
};

/* Parses a --mirror value ("URL" or a JSON object {url, username,
 * password, ca, redirect_allow}) when mirror, else an --upstream value
 * ("PREFIX=URL" or {prefix, url, username, password, ca,
 * redirect_allow}); redirect_allow is a string or an array of them.  The URL is
 * http(s)://host[:port] with at most a trailing '/'; the prefix is a repository
 * name ending in '/', whose first component may end in :PORT.  ERR_INVALID
 * says what is wrong (never quoting a password). */
int ups_remote_parse(const char *text, bool mirror, struct ups_remote *out,
		     struct err *e);
void ups_remote_release(struct ups_remote *r);
/* Adds a host r may redirect to ("HOST", "HOST:PORT", "[v6]:PORT" or
 * "*.DOMAIN" for any name below DOMAIN); ERR_INVALID if malformed. */
int ups_remote_allow(struct ups_remote *r, const char *entry, struct err *e);

/* --- Where a transfer may go (upstream_guard.c) --- */

/* The range an address is in. */
enum ups_addr_kind {
	UPS_ADDR_PUBLIC,
	UPS_ADDR_LOOPBACK, /* 127/8, ::1 */
	UPS_ADDR_PRIVATE, /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 */
	UPS_ADDR_LINKLOCAL, /* 169.254/16 (cloud metadata), fe80::/10 */
	UPS_ADDR_SPECIAL,   /* unspecified, multicast, documentation... */
};
/* Of a socket address (IPv4-mapped and NAT64 IPv6 by their IPv4). */
enum ups_addr_kind ups_addr_kind(const struct sockaddr *sa, size_t len);
/* Of a numeric address ("10.0.0.1", "::1"); SPECIAL if not one. */
enum ups_addr_kind ups_addr_kind_str(const char *ip);
const char *ups_addr_kind_name(enum ups_addr_kind k);

/* What a URL is to an upstream, by its name. */
enum ups_hop {
	UPS_HOP_REFUSED, /* not to be requested at all */
	UPS_HOP_ORIGIN,	 /* the upstream's own host and port */
	UPS_HOP_LISTED,	 /* on its allow list */
	UPS_HOP_HTTPS,	 /* another host, over https */
};
enum ups_hop ups_hop_of(const struct ups_remote *r, const char *url);
/* Whether a hop may connect to an address of kind addr, when the first
 * request of the transfer found the upstream at an address of kind origin
 * (that first request goes wherever the upstream is): its own host and a
 * listed one on a public address or in the upstream's kind of range; an
 * unlisted https host on a public address only. */
bool ups_hop_addr_ok(enum ups_hop hop, enum ups_addr_kind origin,
		     enum ups_addr_kind addr);
/* "host:port" of url for messages (never its path or query, which may
 * carry a signature); -1 if it is not a URL. */
int ups_url_host(const char *url, char *out, size_t n);

/* A parsed WWW-Authenticate challenge (the first one of the header). */
enum ups_scheme { UPS_AUTH_NONE, UPS_AUTH_BASIC, UPS_AUTH_BEARER };
struct ups_challenge {
	enum ups_scheme scheme;
	char realm[512];
	char service[256];
	char scope[512];
};
/* 0 when hdr is a Basic or Bearer challenge we can answer. */
int ups_parse_challenge(const char *hdr, struct ups_challenge *out);

/* A token endpoint's reply: {"token"|"access_token", "expires_in"}.
 * *token_out is the caller's; *ttl_out is expires_in, or 60 s as the
 * spec says when absent. */
int ups_parse_token(const char *body, size_t len, char **token_out,
		    long *ttl_out, struct err *e);

struct ups;	 /* the pool: threads, shared curl state, token cache */
struct ups_conn; /* one thread's handle */

/* Starts nthreads workers.  A transfer with a sink (a blob) ends after
 * timeout_s seconds, one without (a manifest, a HEAD, a token) after at
 * most UPS_SMALL_TIMEOUT_S. */
#define UPS_SMALL_TIMEOUT_S 120
struct ups *ups_new(int nthreads, int64_t timeout_s, struct err *e);
/* Makes every transfer in progress fail at once and every later one fail
 * at the start (shutdown); jobs still run, to clean up. */
void ups_cancel(struct ups *u);
/* Runs the queued jobs, then joins the threads and frees.  NULL is fine. */
void ups_free(struct ups *u);

/* Runs fn(conn, arg) on a worker thread, in order of submission. */
typedef void (*ups_job_fn)(struct ups_conn *c, void *arg);
void ups_submit(struct ups *u, ups_job_fn fn, void *arg);

/* One request.  The caller fills the inputs; ups_do() the outputs. */
struct ups_xfer {
	/* In. */
	bool head;
	const char *path;   /* after the remote's URL: "/v2/<name>/..." */
	const char *repo;   /* the upstream name, for the token scope */
	const char *accept; /* Accept header, or NULL */
	const char *range;  /* Range header value, or NULL */
	size_t max_body;    /* cap of body when sink is NULL: a 2xx reply
			     * longer (or saying so) fails, ERR_TOO_LARGE */
	/* The body of a 2xx reply goes to sink if set (else to body);
	 * sink returns -1 (with its own err) to abort the transfer.
	 * on_start, if set, runs once before the first byte of it. */
	int (*on_start)(void *arg, const struct ups_xfer *x);
	int (*sink)(void *arg, const void *data, size_t len);
	void *arg;
	/* Out: of the last reply (after redirects and auth). */
	long status;
	int64_t length;		     /* Content-Length, or -1 */
	char digest[DIGEST_STR_MAX]; /* Docker-Content-Digest, or "" */
	char ctype[256];	     /* Content-Type, or "" */
	char content_range[96];	     /* Content-Range, or "" */
	char retry_after[32];	     /* Retry-After, or "" */
	struct buf body; /* the body (no sink), or an error's start */
	/* Private. */
	char www_auth[1024];
	bool started;
	bool sink_failed; /* on_start or sink said stop */
};

/* Sets the inputs' defaults; the caller then fills in what it needs.
 * ups_xfer_release() frees the body. */
void ups_xfer_init(struct ups_xfer *x);
void ups_xfer_release(struct ups_xfer *x);

/* Runs x against r, with auth as the upstream asks, following redirects
 * where r may send us.  0 when the upstream answered (any status: see
 * x->status; an error's body is cut at UPS_ERR_BODY_MAX); -1 when it could
 * not be reached, the transfer broke or ran past its deadline, a redirect
 * went where it may not (ERR_UPSTREAM), the body went over max_body
 * (ERR_TOO_LARGE), or on_start or the sink said stop (x->sink_failed; the
 * caller has the reason). */
int ups_do(struct ups_conn *c, const struct ups_remote *r, struct ups_xfer *x,
	   struct err *e);

/* Counters for /metrics, since ups_new().  A transfer (one ups_do())
 * that fails is counted once, by why; a 404 is an answer, not a failure,
 * and the receiver's own refusals (on_start, sink) are not the
 * upstream's. */
enum ups_fail {
	UPS_FAIL_CONNECT,      /* no connection: name, refused, TLS */
	UPS_FAIL_TIMEOUT,      /* its deadline, or a stall */
	UPS_FAIL_TRANSFER,     /* the connection broke, a body cut short */
	UPS_FAIL_REFUSED,      /* a redirect or address the guard refused */
	UPS_FAIL_TOO_LARGE,    /* a body or headers over their cap */
	UPS_FAIL_AUTH,	       /* the token endpoint failed */
	UPS_FAIL_DENIED,       /* 401 or 403 */
	UPS_FAIL_RATE_LIMITED, /* 429 */
	UPS_FAIL_SERVER,       /* 5xx */
	UPS_FAIL_STATUS,       /* another status we did not ask for */
	UPS_FAIL_CONTENT,      /* other bytes than the digest names */
	UPS_NFAILS,
	UPS_FAIL_NONE = UPS_NFAILS,
};
/* "connect", "timeout", ... (the metric's label). */
const char *ups_fail_name(enum ups_fail k);
struct ups_stats {
	uint64_t transfers; /* ups_do() calls */
	uint64_t bytes;	    /* body bytes of 2xx replies received */
	uint64_t fails[UPS_NFAILS];
};
/* Zeros for NULL. */
void ups_stats(struct ups *u, struct ups_stats *out);
/* A failure the caller found in what a transfer brought (a digest). */
void ups_note_fail(struct ups *u, enum ups_fail k);

/* The error to give a client for an upstream reply that is not a success:
 * 404 keeps the upstream's code when it is BLOB_UNKNOWN, MANIFEST_UNKNOWN
 * or NAME_UNKNOWN (else notfound), 401/403 are DENIED, 429
 * TOOMANYREQUESTS, the rest ERR_UPSTREAM; the message quotes the
 * upstream's.  Returns -1. */
int ups_error(const struct ups_remote *r, const struct ups_xfer *x,
	      enum err_code notfound, struct err *e);

#endif
