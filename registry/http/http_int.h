/* http_int.h: the HTTP layer's private structures, for the files of
 * registry/http/ only (SQLite's btreeInt.h).  The public contract is http.h.
 *
 *   http.c       the server: listener, accept loop, worker threads and
 *                their event bases, http_req_defer()'s queue, TLS, stop
 *   http_conn.c  one connection: bufferevent, http_parser, timers, replies
 *   http_req.c   a request's parsed head, accessors, and the small parsers
 *                (percent-decoding, query strings, Range)
 *
 * Threads: the thread calling http_server_run() runs the "main" event base
 * (accepting, the stop pipe, the grace timer); each worker thread runs its
 * own event base and owns the connections handed to it.  Other threads
 * reach a worker only through its inbox (a lock-free stack and an
 * eventfd); everything else of a worker, its connections and their
 * requests is touched only by its thread.
 */
#ifndef REGISTRY_HTTP_INT_H
#define REGISTRY_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

/* http_parser.h declares its own `enum http_method`; rename that tag so the
 * parser and our http.h can share a translation unit. */
#define http_method http_parser_method
#include <http_parser.h>
#undef http_method

#include <openssl/ssl.h>

#include "common/buf.h"
#include "common/log.h"
#include "registry/http/http.h"

struct event;
struct http_conn;

/* Bodies are read in pieces of at most this much; the input buffer stops
 * growing at HTTP_READ_HIGH (the bufferevent stops reading). */
#define HTTP_READ_HIGH (1024 * 1024)
#define HTTP_MAX_READ  (256 * 1024)
#define HTTP_MAX_WRITE (1024 * 1024)
/* A handler's body buffer with less room than this is not read into. */
#define HTTP_BODY_BUF_MIN (64 * 1024)
/* An unread Content-Length body up to this size is read and dropped to keep
 * the connection; a bigger one closes it. */
#define HTTP_DRAIN_MAX (64 * 1024)
/* How long a closing connection keeps reading (and dropping) what the client
 * still sends, so the client sees our reply rather than a reset. */
#define HTTP_LINGER_S 2
/* In-flight requests get this long after http_server_stop(). */
#define HTTP_GRACE_S 5
/* Connections past max_conns still get a 503, up to this many more. */
#define HTTP_REJECT_SLACK 64

/* A connection accepted by the main thread, for a worker. */
struct http_handoff {
	struct http_call call;
	struct http_worker *w;
	int fd;
	bool reject;
	char peer[64];
};

/* A destructor attached to a request (http_req_attach()). */
struct http_cleanup {
	struct http_cleanup *next;
	void *ptr;
	http_dtor_fn dtor;
};

struct http_defer {
	struct http_call call;
	struct http_req *req;
	http_defer_fn fn;
	void *arg;
};

TAILQ_HEAD(http_conn_list, http_conn);

struct http_worker {
	struct http_server *srv;
	unsigned idx;
	struct event_base *base;
	pthread_t thread;
	bool started;

	/* What other threads send the loop (connections, defers, calls):
	 * pushed on inbox, a lock-free stack, then wake_fd (an eventfd) is
	 * written if inbox was empty.  No lock: see http_worker_call(). */
	struct lfstack inbox;
	int wake_fd;
	struct event *wake_ev;
	/* Calls taken off inbox, in order: ready is this round, next the
	 * one after (what http_worker_drop_defers() took early). */
	struct lfs_node *ready, *ready_tail, *next, *next_tail;

	struct event *drain_ev; /* fd -1, fired with event_active() */
	struct event *kill_ev;

	struct http_conn_list conns;
	uint64_t nreq;
	uint64_t rid_seed; /* random: request ids differ across restarts */
	bool draining;
	time_t date_at;
	char date[40];
	time_t warn_at;
	/* Streamed bodies are read into this (HTTP_MAX_READ bytes, allocated
	 * on first use) and parsed in place: no evbuffer chain per read. */
	char *rbuf;
};

struct http_server {
	struct http_config cfg; /* strings are our copies */
	char *listen, *tls_cert, *tls_key, *tls_client_ca, *port_file;
	http_dispatch_fn dispatch;
	void *arg;
	SSL_CTX *ssl_ctx;

	int lfd;
	int port;
	int stop_pipe[2];
	struct event_base *base;
	struct event *listen_ev;
	struct event *stop_ev;
	struct event *backoff_ev;
	struct event *grace_ev;
	struct timespec stop_at;
	bool listening;
	bool ran;

	struct http_worker *workers;
	unsigned nworkers;
	unsigned next_worker;
	atomic_int nconns;
};

struct http_hdr {
	const char *name;
	const char *value;
};

/* Decoded query values handed out by http_req_query_param(). */
struct http_qval {
	struct http_qval *next;
	char value[];
};

enum http_hstate { HS_URL, HS_FIELD, HS_VALUE, HS_DONE };

struct http_req {
	struct http_conn *conn;
	struct http_worker *w;
	/* The request id: the client's X-Request-Id, or ours. */
	char id[LOG_REQUEST_ID_MAX + 1];
	char *user; /* http_req_set_user() */
	struct timespec start;

	/* Request line and headers, as parsed. */
	struct buf hbuf; /* URL\0 name\0value\0 ... */
	enum http_hstate hstate;
	size_t *hoff; /* offsets into hbuf: name, value, name, value... */
	int nhoff;
	int hoff_alloc;
	struct http_hdr *hdrs;
	int nhdrs;
	enum http_method method;
	const char *method_name;
	char *path;	/* decoded */
	char *raw_path; /* as sent, for the log */
	char *query;
	int64_t clen;
	bool chunked;
	bool has_body;
	bool keep_alive;
	bool http10;
	bool expect_continue;
	bool upgrade;
	struct http_qval *qvals;

	/* The handler's side. */
	struct http_cleanup *cleanups; /* last attached first */
	http_data_fn on_data;
	http_end_fn on_end;
	http_buf_fn body_buf; /* NULL: the worker's rbuf */
	void *body_arg;
	bool dispatched;
	bool body_wanted;
	bool continue_sent;
	bool stopped; /* on_data returned -1 */
	bool paused;  /* on_data returned 1 */
	bool close_notified;

	/* The reply. */
	struct evbuffer *rhdrs;
	int64_t user_clen;   /* Content-Length set by the handler, for HEAD */
	int64_t stream_left; /* a streamed reply's bytes still to write */
	http_drain_fn on_drain;
	void *drain_arg;
	int status;
	uint64_t bytes;
	bool replied;
	bool cut; /* http_reply_abort(): the reply never went out whole */
	bool logged;
	char *log_note; /* http_req_log_note(): ends the access line */
};

/* http.c */
struct http_conn_list *http_worker_conns(struct http_worker *w);
bool http_worker_stopping(const struct http_worker *w);
void http_worker_drop_defers(struct http_worker *w, struct http_req *req);
const char *http_worker_date(struct http_worker *w);
void http_conn_gone(struct http_worker *w);

/* http_conn.c */
void http_conn_new(struct http_worker *w, int fd, const char *peer,
		   bool reject);
/* Closes connections with no request in progress; the rest close after
 * their reply. */
void http_conn_drain_all(struct http_worker *w);
/* Closes every connection (unanswered requests end gone). */
void http_conn_kill_all(struct http_worker *w);
const char *http_conn_peer(const struct http_conn *c);
const char *http_conn_client_cn(struct http_conn *c);
bool http_conn_is_tls(const struct http_conn *c);

/* http_req.c */
struct http_req *http_req_new(struct http_conn *c, struct http_worker *w);
/* Runs and drops the request's destructors (http_req_attach()). */
void http_req_cleanup(struct http_req *req, bool gone);
/* Frees req; its destructors must have run (http_req_cleanup()). */
void http_req_free(struct http_req *req);
/* Appends parser bytes to the URL or the current header; -1 when the
 * header block is over its cap (431). */
int http_req_add_url(struct http_req *req, const char *at, size_t len);
int http_req_add_field(struct http_req *req, const char *at, size_t len,
		       int max_headers);
int http_req_add_value(struct http_req *req, const char *at, size_t len);
/* Splits the URL and indexes the headers once they are complete; returns
 * an HTTP status (400) for a request we refuse before any handler runs (a
 * bad URL, a Transfer-Encoding not ending in chunked, an HTTP/1.1 request
 * without exactly one Host), else 0. */
int http_req_finish_headers(struct http_req *req, const http_parser *p);
void http_req_log(struct http_req *req);
/* Percent-decodes src[0..len) into a new string; NULL on a bad escape or
 * a NUL byte.  plus_space turns '+' into ' ' (query strings). */
char *http_pct_decode(const char *src, size_t len, bool plus_space);

#endif
