/* registry/http/http.h: the HTTP room's front door.
 *
 * registry/http/ is the server: listening socket, worker loops,
 * connections, request parsing, replies and TLS.  It is the only code in
 * registry/ that includes libevent.  The rest of registry/ calls
 * it through this header only: http_server_new() with a dispatch
 * callback, then per request the http_req_*() accessors, http_req_attach()
 * for the handler's state, http_req_body() for a streamed body,
 * http_req_defer() from other threads, and one http_reply*() call.
 * http_int.h is the room's private map.
 *
 * Our HTTP/1.1 server on libevent bufferevents.
 *
 * libevent 2.1's evhttp reads a whole request body into memory before any
 * handler runs; a registry receives multi-GiB blobs, so this layer streams
 * bodies to the handler piece by piece.  Framing is done by libhttp-parser
 * (Content-Length and chunked bodies, keep-alive).
 *
 * Flow of one request:
 *   1. headers parsed -> the server's dispatch callback runs with a new
 *      `struct http_req` (on the connection's event-loop thread);
 *   2. the handler either replies at once (the rest of the body, if any, is
 *      discarded or the connection closed), or calls http_req_body() to
 *      receive the body: `Expect: 100-continue` is answered then, and each
 *      piece goes to on_data; on_end runs after the last piece;
 *   3. exactly one http_reply*() call finishes the request; it may come
 *      later (from a timer on the same thread, or from another thread via
 *      http_req_defer()), as long as the request is still alive;
 *   4. the request ends when its reply is written, or when the client goes
 *      away first; then the destructors of what the handler attached with
 *      http_req_attach() run, told which it was.
 * The server frees the request after that.
 *
 * HEAD replies keep Content-Length but send no body.  Every reply carries
 * Content-Length (never chunked) and the headers set with
 * http_reply_header().  One access-log line is written per request:
 * "method path status bytes ms peer [note]" (raw path, never the query;
 * status 499 when the client left before a reply); in JSON its fields are
 * method, path, status, bytes, duration_ms, remote and user.
 *
 * Request ids: each request has one, the client's X-Request-Id when it is
 * acceptable (http_request_id_ok()), else 16 random hex digits.  Every
 * reply carries it as X-Request-Id, and every line logged by the
 * request's callbacks carries it (common/log.h: the server sets the
 * thread's request id around each callback); work handed to another
 * thread takes http_req_id() along and sets it there.
 *
 * A client that half-closes its side still gets a reply to every complete
 * request it sent (pipelined ones included); then the connection closes.
 *
 * Threads: dispatch and every callback of a request run on that request's
 * loop thread; with several threads, different requests run concurrently.
 */
#ifndef REGISTRY_HTTP_H
#define REGISTRY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/lfstack.h"
#include "common/log.h"

struct event_base;
struct evbuffer;
struct http_server;
struct http_req;
struct http_worker;

enum http_method {
	HTTP_M_OTHER = 0,
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_PUT,
	HTTP_M_POST,
	HTTP_M_PATCH,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
};

struct http_config {
	const char *listen;   /* "host:port", "[v6]:port" or ":port" */
	int threads;	      /* event-loop threads; 0 = number of cores */
	const char *tls_cert; /* PEM; NULL = plain HTTP */
	const char *tls_key;
	const char *tls_client_ca; /* PEM bundle; requests client certs */
	size_t max_header_bytes;   /* request line + headers; default 64 KiB */
	int max_headers;	   /* default 100 */
	int header_timeout_s;	   /* to receive all headers; default 30 */
	int idle_timeout_s;	   /* keep-alive and body idle; default 120 */
	int max_conns;		   /* simultaneous connections; default 4096 */
	const char *port_file;	   /* if set, the bound port is written here */
};

/* Called once a request's headers are parsed. */
typedef void (*http_dispatch_fn)(struct http_req *req, void *arg);
/* A piece of the request body; return 0 to go on, 1 to pause (the piece
 * is taken; the rest waits until http_req_resume(), so a handler whose
 * disk is slow holds back its client, not the loop), -1 to stop (the
 * handler must then reply, typically an error: the rest of the body is
 * dropped and the connection closed after the reply). */
typedef int (*http_data_fn)(struct http_req *req, const void *data, size_t len,
			    void *arg);
/* The whole body has arrived. */
typedef void (*http_end_fn)(struct http_req *req, void *arg);
/* Where the next body bytes may be read to (http_req_body_buf()): *cap
 * bytes at the pointer returned; NULL: the server's buffer. */
typedef void *(*http_buf_fn)(struct http_req *req, size_t *cap, void *arg);
/* Frees what a handler attached to a request (http_req_attach()). */
typedef void (*http_dtor_fn)(void *ptr, bool gone);
/* Runs on the request's loop thread after http_req_defer(). */
typedef void (*http_defer_fn)(struct http_req *req, void *arg);

/* Server lifecycle.  http_server_new() binds the listening socket (so a
 * failure is reported before run) and logs "listening on ADDR:PORT".  The
 * first call also sets process-wide state: libevent's pthread locking, its
 * log routed to log_msg(), and SIGPIPE ignored. */
struct http_server *http_server_new(const struct http_config *cfg,
				    http_dispatch_fn dispatch, void *arg,
				    struct err *e);
/* Runs the event loops until http_server_stop(); returns 0. */
int http_server_run(struct http_server *srv);
/* Async-signal-safe (a write to a pipe), callable from any thread: stops
 * accepting, closes idle connections, lets in-flight requests finish for up
 * to 5 s, then cuts them (their destructors run, gone).  The server
 * installs no signal handler; call this from yours. */
void http_server_stop(struct http_server *srv);
void http_server_free(struct http_server *srv);
/* The port actually bound (useful with ":0"). */
int http_server_port(const struct http_server *srv);

/* How many connections (max_conns) `fds` file descriptors carry: each
 * connection holds its socket and at most one file (a blob it sends, an
 * upload it writes), and up to HTTP's 503 slack of refused connections
 * hold a socket each until their 503 is out.  0 if not even one fits. */
int http_conns_for_fds(long fds);

/* Request accessors.  Strings are borrowed and live as long as the request. */
enum http_method http_req_method(const struct http_req *req);
const char *http_req_method_name(const struct http_req *req);
/* The path, percent-decoded, without the query. */
const char *http_req_path(const struct http_req *req);
/* The raw query string after '?', or NULL. */
const char *http_req_query(const struct http_req *req);
/* Looks up query parameter `name`, percent-decoded; NULL if absent. */
const char *http_req_query_param(const struct http_req *req, const char *name);
/* First header of that name (case-insensitive), or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);
/* Declared Content-Length, or -1 when absent or chunked. */
int64_t http_req_content_length(const struct http_req *req);
bool http_req_has_body(const struct http_req *req);
const char *http_req_peer(const struct http_req *req); /* "ip" */
/* The request id (see above): for log lines, and for whatever outlives
 * the request and should name it (a scan job, an event). */
const char *http_req_id(const struct http_req *req);
/* log_msg() for a line about req: the line carries req's id (as every
 * line of the thread working for req does), whichever request the thread
 * works for now.  The message itself never repeats the id. */
#define http_req_logf(req, level, ...)                                         \
	do {                                                                   \
		const struct log_field rid_ = {"request_id", http_req_id(req), \
					       0};                             \
		log_fields((level), &rid_, 1, __VA_ARGS__);                    \
	} while (0)
/* An incoming X-Request-Id we keep: 1 to LOG_REQUEST_ID_MAX bytes of
 * visible ASCII (no space: text logs stay splittable). */
bool http_request_id_ok(const char *s);
/* The signed-in user, for the access line (copied). */
void http_req_set_user(struct http_req *req, const char *user);
bool http_req_is_tls(const struct http_req *req);
/* The verified client certificate's subject CN, or NULL. */
const char *http_req_client_cn(const struct http_req *req);
struct event_base *http_req_base(const struct http_req *req);

/* Ends the request's access-log line with note (copied; the last call
 * counts): why an error reply went out, said once, on the line that
 * already names the request. */
void http_req_log_note(struct http_req *req, const char *note);

/* Request-scoped state (nginx's pool cleanups): hangs ptr on the request;
 * the server calls dtor(ptr, gone) exactly once, on the loop thread, when
 * the request ends:
 *   gone false  the handler's reply is complete: written out, or queued
 *               in full when the connection closed;
 *   gone true   before that: the client went away, the server cut the
 *               connection (a timeout, a bad request, stop), or the
 *               handler gave up a streamed reply (http_reply_abort()).
 *               The request is dead from then on: no reply, no body
 *               callback.
 * Either way a pending http_req_defer() is dropped after the destructors
 * ran (its arg not freed): the destructor of whoever deferred deals with
 * it.  Destructors run last attached first, and never while the handler
 * is inside a call of this header: ptr may be used up to the reply and
 * after it.  State that other requests must see released at once (a lock,
 * an upload session) is released by the handler before it replies; the
 * destructor then frees what is left. */
void http_req_attach(struct http_req *req, void *ptr, http_dtor_fn dtor);
/* Takes ptr off the request without running its destructor: its owner
 * changed (a work job took it, and frees it). */
void http_req_detach(struct http_req *req, void *ptr);

/* True once a reply is under way (an http_reply*() call) or can no longer
 * be sent (the request ended gone). */
bool http_req_replied(const struct http_req *req);

/* Asks for the body: from dispatch, or later on the loop thread (after an
 * http_req_defer()), as long as no reply was sent.  A bodiless request
 * gets on_end alone. */
void http_req_body(struct http_req *req, http_data_fn on_data,
		   http_end_fn on_end, void *arg);
/* For a handler that gathers the body in a buffer of its own: before each
 * read from the socket, buf(req, &cap, arg) says where the bytes may go,
 * and on_data then gets them at exactly that pointer, so that it need not
 * copy them (a body with Content-Length on plain TCP; otherwise on_data's
 * data is in the server's buffer, as always).  Bytes past the body end
 * may be written there too (the server copies them out before on_data's
 * caller returns).  The memory stays the handler's: on_data may hand it
 * on, provided it is not written until on_data has returned.  Call with
 * or after http_req_body(), on the loop thread. */
void http_req_body_buf(struct http_req *req, http_buf_fn buf);
/* After on_data paused the body: the rest flows again.  On the loop
 * thread; nothing if it is not paused. */
void http_req_resume(struct http_req *req);
/* A one-shot timer on req's loop thread: fn(arg) runs after secs seconds
 * unless http_timer_free() came first.  Its owner frees it (at the latest
 * in the destructor of the state it belongs to); it does not follow the
 * request's end by itself. */
struct http_timer;
struct http_timer *http_timer_new(struct http_req *req, int secs,
				  void (*fn)(void *arg), void *arg);
void http_timer_free(struct http_timer *t);
/* Thread-safe: runs fn(req, arg) on the request's loop thread.  The caller
 * must know the request is still alive (it has not replied, or its streamed
 * reply is not complete, and its destructors have not run).  If the request
 * ends before fn runs, fn is dropped (see http_req_attach()).  Takes no
 * lock the loop waits on (see http_worker_call()). */
void http_req_defer(struct http_req *req, http_defer_fn fn, void *arg);

/* Work handed back to a loop thread, embedded in the sender's own struct
 * (no allocation).  Unlike http_req_defer() it names the loop, not a
 * request: a sender that cannot know whether the request is still alive
 * (a thread finishing a job the request may have given up) sends it
 * anyway, and the loop thread, where requests end, sorts that out. */
struct http_call {
	struct lfs_node link; /* the server's */
	void (*fn)(struct http_call *c);
};
/* The loop thread req runs on; it lives as long as the server. */
struct http_worker *http_req_worker(const struct http_req *req);
/* From any thread: c->fn(c) runs on w's loop thread soon, or in
 * http_server_free() once the loops have stopped.  Lock-free: a sender of
 * lower priority (a pool thread) must never wake a loop while holding a
 * lock the loop takes, or the loop preempts it and then waits for it
 * until the CPU is free again. */
void http_worker_call(struct http_worker *w, struct http_call *c);

/* Replies.  Headers first, then exactly one of the http_reply*() calls.
 * Content-Length, Connection, Date and Transfer-Encoding are the server's:
 * a Content-Length set here counts only for HEAD (the size of what GET
 * would send).  A name or value with CR/LF is dropped.  204 and 304 replies
 * carry neither a body nor Content-Length. */
void http_reply_header(struct http_req *req, const char *name,
		       const char *value);
/* body may be NULL; its bytes are moved (drained) into the reply. */
void http_reply(struct http_req *req, int status, struct evbuffer *body);
void http_reply_mem(struct http_req *req, int status, const char *ctype,
		    const void *data, size_t len);
/* Sends len bytes of fd from off with sendfile (TLS: read in pieces as
 * the output drains); takes ownership of fd. */
void http_reply_file(struct http_req *req, int status, const char *ctype,
		     int fd, off_t off, off_t len);

/* Streamed replies, for a body of known length that arrives over time (a
 * blob a pull-through cache is still fetching).  http_reply_start() sends
 * the head with Content-Length: len; the handler then adds the body with
 * http_reply_write() as it gets it, and on_drain runs (on the loop thread)
 * each time what was written has gone out, so a piece at a time keeps
 * memory bounded.  The reply is complete once len bytes are written.
 * Until then the request is alive as before a reply: http_req_defer()
 * works, and the destructors run gone if the client goes away.  Returns
 * true when the body is expected, false when the reply is already complete
 * (HEAD, a status without body, len 0) or could not be sent (the client
 * left). */
typedef void (*http_drain_fn)(struct http_req *req, void *arg);
bool http_reply_start(struct http_req *req, int status, const char *ctype,
		      int64_t len, http_drain_fn on_drain, void *arg);
/* Adds body bytes; -1 (nothing added) past the promised length or when no
 * streamed reply is in progress. */
int http_reply_write(struct http_req *req, const void *data, size_t len);
/* Gives up on a streamed reply: the connection is cut, so the client sees
 * a short body (an error), never a wrong one.  The handler may call
 * nothing more on req; its destructors run (gone) once this callback
 * returns. */
void http_reply_abort(struct http_req *req);

/* Parses a "Range: bytes=a-b" header against a resource of `size` bytes.
 * Returns 1 and fills [*off, *off + *len) for a satisfiable single range,
 * 0 when there is no Range header (or one we ignore, e.g. several ranges),
 * -1 when it is unsatisfiable (reply 416 with Content-Range: bytes * /size).
 * Garbage and reversed ranges are ignored (0), as is a suffix range of an
 * empty resource. */
int http_parse_range(const char *hdr, int64_t size, int64_t *off, int64_t *len);

/* Several ranges ("bytes=0-9,20-29"), RFC 9110 §14.1-14.2. */
struct http_range {
	int64_t off, len;
};
/* Fills out[0..max) and returns how many ranges to send (n >= 1),
 * 0 to send the whole resource (no or unparsable header, another unit, or
 * more than max ranges), -1 when none is satisfiable (416).  Disjoint
 * ranges keep the client's order; if any overlap, all are sorted and
 * merged, so the parts never add up to more than size. */
int http_parse_ranges(const char *hdr, int64_t size, struct http_range *out,
		      int max);
/* A 206 multipart/byteranges reply of fd's ranges r[0..n) (each part with
 * ctype and its Content-Range of a resource of size bytes); takes
 * ownership of fd.  The body's length is known up front (Content-Length);
 * plain TCP sends the pieces with sendfile. */
void http_reply_file_ranges(struct http_req *req, const char *ctype, int fd,
			    int64_t size, const struct http_range *r, int n);

#endif
