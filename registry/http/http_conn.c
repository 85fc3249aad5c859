/* http_conn.c: one client connection: a bufferevent (plain or TLS), an
 * http_parser fed from its input buffer, timers, and the replies.
 *
 * A connection carries one request at a time.  Its input side moves
 * through `enum conn_in`; the output side is OUT_NONE until a reply is
 * queued, OUT_SENDING until it is flushed, then OUT_SENT.  A request is
 * finished when its message has been read (IN_DONE) and its reply flushed.
 *
 * Connections are freed only at the end of a top-level libevent callback
 * (conn_reap), never under the parser or a handler's call, so handlers may
 * reply from anywhere on the loop thread.
 */
#include "registry/http/http_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "common/banned.h"

#define FILE_PIECE (256 * 1024)

enum conn_in {
	IN_IDLE,    /* between requests (idle timer) */
	IN_HEAD,    /* reading a request's head (header timer) */
	IN_HELD,    /* dispatched; the body is not asked for (yet) */
	IN_BODY,    /* the body goes to on_data (idle timer) */
	IN_DRAIN,   /* the rest of the message is read and dropped */
	IN_DONE,    /* the message is read; waiting for the reply */
	IN_DISCARD, /* closing: whatever arrives is dropped */
};

enum conn_out { OUT_NONE, OUT_SENDING, OUT_SENT };

/* What the last http_parser_execute() stopped for. */
enum conn_pev { PEV_NONE, PEV_HEADERS, PEV_STOP, PEV_DONE };

struct http_conn {
	TAILQ_ENTRY(http_conn) link;
	struct http_worker *w;
	struct http_server *srv;
	struct bufferevent *bev;
	struct event *timer;
	http_parser parser;
	enum conn_in in;
	enum conn_out out;
	enum conn_pev pev;
	struct http_req *req;
	size_t head_bytes;
	int fail;	  /* status chosen by a failing parser callback */
	bool close_after; /* close once the reply is flushed */
	bool lingering;
	bool eof;
	bool kill; /* free at the end of this callback */
	bool dying;
	bool tls;
	bool cn_done;
	char *cn;
	int file_fd; /* TLS file replies are read in pieces */
	off_t file_off;
	off_t file_left;
	struct file_parts *parts; /* TLS multipart reply: what is left */
	char peer[64];
};

/* A multipart/byteranges body: text[i] goes before range i, text[n] ends
 * the body. */
struct file_parts {
	int n, next;
	struct http_range *r;
	char **text;
};

static void file_parts_free(struct file_parts *fp)
{
	if (!fp)
		return;
	for (int i = 0; i <= fp->n; i++)
		free(fp->text[i]);
	free(fp->text);
	free(fp->r);
	free(fp);
}

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t len);
static int on_header_field(http_parser *p, const char *at, size_t len);
static int on_header_value(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_message_complete(http_parser *p);

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static const struct http_config *conn_cfg(const struct http_conn *c)
{
	return &c->srv->cfg;
}

static struct evbuffer *conn_input(struct http_conn *c)
{
	return bufferevent_get_input(c->bev);
}

static struct evbuffer *conn_output(struct http_conn *c)
{
	return bufferevent_get_output(c->bev);
}

static void timer_arm(struct http_conn *c, int secs)
{
	struct timeval tv = {secs, 0};

	evtimer_add(c->timer, &tv);
}

static void timer_stop(struct http_conn *c)
{
	evtimer_del(c->timer);
}

/* Runs the read callback again from the loop (deferred, so never inside
 * the parser or a handler). */
static void conn_kick(struct http_conn *c)
{
	bufferevent_trigger(c->bev, EV_READ,
			    BEV_TRIG_IGNORE_WATERMARKS |
				    BEV_TRIG_DEFER_CALLBACKS);
}

/* The request lost its client before its reply was complete: the
 * handler's state goes now (gone), and it must forget the request. */
static void conn_notify_close(struct http_conn *c)
{
	struct http_req *req = c->req;

	if (!req || !req->dispatched ||
	    (req->replied && !req->stream_left && !req->cut) ||
	    req->close_notified)
		return;
	req->close_notified = true;
	http_req_cleanup(req, true);
}

/* The handler is done with the request.  Its destructors run before its
 * pending defers are dropped: one of them may be deferring under its own
 * lock. */
static void conn_req_release(struct http_conn *c)
{
	http_req_cleanup(c->req, c->req->cut);
	http_worker_drop_defers(c->w, c->req);
}

static void conn_req_end(struct http_conn *c)
{
	conn_req_release(c);
	http_req_free(c->req);
	c->req = NULL;
}

static void conn_free(struct http_conn *c)
{
	struct http_req *req = c->req;
	struct http_worker *w = c->w;

	c->dying = true;
	if (req) {
		log_set_request_id(req->id);
		conn_notify_close(c);
		if (!req->replied)
			req->status = 499; /* nginx: client closed request */
		if (req->dispatched || req->replied)
			http_req_log(req);
		conn_req_end(c);
		log_set_request_id(NULL);
	}
	TAILQ_REMOVE(http_worker_conns(w), c, link);
	event_free(c->timer);
	bufferevent_free(c->bev);
	if (c->file_fd >= 0)
		close(c->file_fd);
	file_parts_free(c->parts);
	free(c->cn);
	free(c);
	http_conn_gone(w);
}

static void conn_reap(struct http_conn *c)
{
	if (c->kill)
		conn_free(c);
}

/* The reply is flushed and the connection must end.  If the client may
 * still be sending, keep reading (and dropping) for a moment: closing
 * with unread data makes the kernel send a reset, which can destroy our
 * reply before the client reads it. */
static void conn_close(struct http_conn *c)
{
	if (c->eof ||
	    (c->in == IN_DONE && !evbuffer_get_length(conn_input(c)))) {
		c->kill = true;
		return;
	}
	c->in = IN_DISCARD;
	c->lingering = true;
	evbuffer_drain(conn_input(c), evbuffer_get_length(conn_input(c)));
	if (!c->tls)
		shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	timer_arm(c, HTTP_LINGER_S);
}

static void conn_request_done(struct http_conn *c)
{
	struct http_req *req = c->req;

	http_req_log(req);
	conn_req_end(c);
	log_set_request_id(NULL); /* until the next request's dispatch */
	c->out = OUT_NONE;
	if (c->close_after || http_worker_stopping(c->w)) {
		conn_close(c);
		return;
	}
	c->in = IN_IDLE;
	c->head_bytes = 0;
	timer_arm(c, conn_cfg(c)->idle_timeout_s);
	if (evbuffer_get_length(conn_input(c)))
		conn_kick(c); /* a pipelined request */
	else if (c->eof)
		c->kill = true; /* half-closed, and every request answered */
}

static const char *status_text(int status)
{
	return http_status_str((enum http_status)status);
}

/* What every reply begins with: status line, Date and the request id. */
static void reply_status_line(struct evbuffer *out, struct http_conn *c,
			      const struct http_req *req, int status)
{
	evbuffer_add_printf(
		out, "HTTP/1.1 %d %s\r\nDate: %s\r\nX-Request-Id: %s\r\n",
		status, status_text(status), http_worker_date(c->w), req->id);
}

/* A reply of our own (400, 408, 431, 503): the connection then closes.
 * A handler still holding the request is told the client is gone. */
static void conn_fail(struct http_conn *c, int status)
{
	struct http_req *req = c->req;
	struct evbuffer *out = conn_output(c);
	const char *text = status_text(status);

	if (!req)
		req = c->req = http_req_new(c, c->w);
	conn_notify_close(c);
	timer_stop(c);
	c->close_after = true;
	c->in = IN_DISCARD;
	if (req->replied) {
		if (c->out == OUT_SENT)
			conn_close(c);
		return;
	}
	reply_status_line(out, c, req, status);
	evbuffer_add_printf(out,
			    "Content-Type: text/plain\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n"
			    "%s\n",
			    strlen(text) + 1, text);
	req->replied = true;
	req->status = status;
	req->bytes = strlen(text) + 1;
	c->out = OUT_SENDING;
	conn_kick(c);
}

/* A TLS ClientHello (a handshake record: 0x16, version 3.x) where HTTP
 * was expected: every docker, containerd and skopeo probe of an https://
 * registry sends one.  Logged as what it is, once (no access line), and
 * answered with a plain 400: Go clients then print "server gave HTTP
 * response to HTTPS client", which names the cause. */
static bool conn_tls_on_plain(struct http_conn *c)
{
	unsigned char b[2];

	if (c->tls || evbuffer_copyout(conn_input(c), b, 2) != 2 ||
	    b[0] != 0x16 || b[1] != 0x03)
		return false;
	log_msg(LL_INFO, "TLS handshake on a plain-HTTP listener from %s",
		c->peer);
	conn_fail(c, 400);
	c->req->logged = true;
	return true;
}

/* Feeding the parser. */

static int parse_error_status(struct http_conn *c, enum http_errno err)
{
	if (err == HPE_HEADER_OVERFLOW)
		return 431;
	if (err >= HPE_CB_message_begin && err <= HPE_CB_chunk_complete &&
	    c->fail)
		return c->fail;
	return 400;
}

/* Runs the parser over len bytes at p; *used gets how many it took (it
 * stops early when a parser callback paused it: c->pev).  Returns an HTTP
 * status to fail with, or 0. */
static int conn_feed_mem(struct http_conn *c, const char *p, size_t len,
			 size_t *used)
{
	size_t max = conn_cfg(c)->max_header_bytes, want = len, n;
	enum http_errno err;

	if (c->in == IN_HEAD && want > max + 1 - c->head_bytes)
		want = max + 1 - c->head_bytes;
	n = http_parser_execute(&c->parser, &parser_settings, p, want);
	*used = n;
	if (c->in == IN_HEAD)
		c->head_bytes += n;
	err = HTTP_PARSER_ERRNO(&c->parser);
	if (err == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		return 0;
	}
	if (err != HPE_OK)
		return parse_error_status(c, err);
	if (c->in == IN_HEAD && c->head_bytes > max)
		return 431;
	return n < want ? 400 : 0;
}

/* Runs the parser over the input buffer until it is empty or a parser
 * callback stopped it (c->pev).  Returns an HTTP status to fail with, or 0.
 */
static int conn_feed(struct http_conn *c)
{
	struct evbuffer *in = conn_input(c);
	struct evbuffer_iovec v;
	size_t n;
	int status;

	c->pev = PEV_NONE;
	while (c->pev == PEV_NONE && evbuffer_get_length(in) &&
	       evbuffer_peek(in, -1, NULL, &v, 1) > 0) {
		status = conn_feed_mem(c, v.iov_base, v.iov_len, &n);
		evbuffer_drain(in, n);
		if (status)
			return status;
	}
	return 0;
}

static bool can_drain(const struct http_conn *c, const struct http_req *req)
{
	if (!req->has_body)
		return true;
	if (req->chunked || req->stopped)
		return false;
	if (req->expect_continue && !req->continue_sent)
		return false; /* the client is waiting, not sending */
	return c->parser.content_length <= HTTP_DRAIN_MAX;
}

/* A reply is being queued: decide what happens to the unread body. */
static void reply_plan(struct http_conn *c, struct http_req *req)
{
	if (!req->keep_alive || req->upgrade || http_worker_stopping(c->w))
		c->close_after = true;
	if (c->in == IN_HELD) {
		if (can_drain(c, req)) {
			c->in = IN_DRAIN;
			if (req->has_body)
				timer_arm(c, conn_cfg(c)->idle_timeout_s);
		} else {
			c->in = IN_DISCARD;
		}
	} else if (c->in == IN_BODY) {
		if (http_body_is_final(&c->parser)) {
			c->in = IN_DRAIN; /* only the message's end is left */
		} else {
			c->in = IN_DISCARD;
		}
	}
	if (c->in == IN_DISCARD) {
		c->close_after = true;
		timer_stop(c);
	}
	conn_kick(c);
}

static void conn_dispatch(struct http_conn *c)
{
	struct http_req *req = c->req;
	int status;

	timer_stop(c);
	status = http_req_finish_headers(req, &c->parser);
	if (status) {
		conn_fail(c, status);
		return;
	}
	c->in = IN_HELD;
	req->dispatched = true;
	log_set_request_id(req->id);
	c->srv->dispatch(req, c->srv->arg);
	if (c->in == IN_HELD && !req->has_body)
		c->in = IN_DRAIN; /* nothing to hold: read the message's end */
}

static void conn_message_done(struct http_conn *c)
{
	struct http_req *req = c->req;
	bool to_handler = c->in == IN_BODY;

	timer_stop(c);
	c->in = IN_DONE;
	if (to_handler && !req->replied && !req->stopped && req->on_end)
		req->on_end(req, req->body_arg);
	if (c->out == OUT_SENT)
		conn_request_done(c);
}

static void conn_body_stopped(struct http_conn *c)
{
	/* on_data said stop without replying yet, or pause: hold the rest
	 * (the parser stopped short of the last body byte, so the message's
	 * end is still to parse). */
	if (c->in == IN_BODY && !c->req->replied) {
		timer_stop(c);
		c->in = IN_HELD;
		/* Paused: leave the rest in the socket (libevent would read
		 * it 4 KiB a call into the input). */
		if (c->req->paused)
			bufferevent_disable(c->bev, EV_READ);
	}
}

static void conn_parsed(struct http_conn *c)
{
	switch (c->pev) {
	case PEV_HEADERS:
		conn_dispatch(c);
		break;
	case PEV_STOP:
		conn_body_stopped(c);
		break;
	case PEV_DONE:
		conn_message_done(c);
		break;
	case PEV_NONE:
		break;
	}
}

/* The client half-closed in the middle of a message: nothing more will
 * come.  A reply on its way still goes out (then the connection closes);
 * else the connection ends now. */
static void conn_input_ended(struct http_conn *c)
{
	if (c->out == OUT_SENDING) {
		c->close_after = true;
		return;
	}
	c->kill = true;
}

static void conn_process(struct http_conn *c)
{
	struct evbuffer *in = conn_input(c);
	int status;

	while (!c->kill) {
		switch (c->in) {
		case IN_IDLE:
			if (!evbuffer_get_length(in)) {
				if (c->eof)
					c->kill = true;
				return;
			}
			c->in = IN_HEAD;
			c->head_bytes = 0;
			timer_arm(c, conn_cfg(c)->header_timeout_s);
			break;
		case IN_HEAD:
		case IN_BODY:
		case IN_DRAIN:
			if (!evbuffer_get_length(in)) {
				if (c->eof)
					conn_input_ended(c);
				return;
			}
			if (c->in == IN_HEAD && !c->head_bytes &&
			    conn_tls_on_plain(c))
				return;
			status = conn_feed(c);
			if (status) {
				conn_fail(c, status);
				return;
			}
			conn_parsed(c);
			break;
		case IN_HELD:
		case IN_DONE:
			return;
		case IN_DISCARD:
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
	}
}

/* Parser callbacks: unpack, record, and pause where the driver must act. */

static int on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;

	if (!c->req)
		c->req = http_req_new(c, c->w);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (http_req_add_url(c->req, at, len) < 0) {
		c->fail = 431;
		return -1;
	}
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (http_req_add_field(c->req, at, len, conn_cfg(c)->max_headers)) {
		c->fail = 431;
		return -1;
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (http_req_add_value(c->req, at, len) < 0) {
		c->fail = 431;
		return -1;
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	c->pev = PEV_HEADERS;
	http_parser_pause(p, 1);
	return 0;
}

static void conn_body(struct http_conn *c, const char *at, size_t len)
{
	struct http_req *req = c->req;
	int rc;

	if (c->in != IN_BODY || req->replied || req->stopped)
		return; /* drained */
	rc = req->on_data ? req->on_data(req, at, len, req->body_arg) : 0;
	if (rc < 0)
		req->stopped = true;
	else if (rc > 0)
		req->paused = true;
	if (req->stopped || req->replied || req->paused) {
		c->pev = PEV_STOP;
		http_parser_pause(&c->parser, 1);
	}
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	conn_body(c, at, len);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	c->pev = PEV_DONE;
	http_parser_pause(p, 1);
	return 0;
}

/* The write side. */

/* A multipart reply under TLS: queues the text before the next part and
 * aims the file reads at it.  False when nothing is left. */
static bool conn_next_part(struct http_conn *c)
{
	struct file_parts *fp = c->parts;

	if (!fp)
		return false;
	evbuffer_add(conn_output(c), fp->text[fp->next],
		     strlen(fp->text[fp->next]));
	if (fp->next == fp->n) {
		file_parts_free(fp);
		c->parts = NULL;
		return false;
	}
	c->file_off = fp->r[fp->next].off;
	c->file_left = fp->r[fp->next].len;
	fp->next++;
	return true;
}

/* TLS cannot sendfile: a file reply is read in pieces as output drains. */
static void conn_fill_file(struct http_conn *c)
{
	struct evbuffer *out = conn_output(c);
	struct evbuffer_iovec v;
	size_t want;
	ssize_t n = 0;

	while (evbuffer_get_length(out) < HTTP_MAX_WRITE) {
		if (c->file_left == 0 && !conn_next_part(c))
			break;
		if (c->file_left == 0)
			continue;
		want = c->file_left < FILE_PIECE ? (size_t)c->file_left
						 : FILE_PIECE;
		if (evbuffer_reserve_space(out, (ev_ssize_t)want, &v, 1) < 1)
			goto fail;
		if (v.iov_len > want)
			v.iov_len = want;
		n = pread(c->file_fd, v.iov_base, v.iov_len, c->file_off);
		if (n <= 0)
			goto fail;
		v.iov_len = (size_t)n;
		evbuffer_commit_space(out, &v, 1);
		c->file_off += n;
		c->file_left -= n;
	}
	if (c->file_left == 0 && !c->parts && c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	return;
fail:
	/* The length is promised: all we can do is cut the connection. */
	log_errno(LL_ERROR, n < 0 ? errno : EIO, "%s: reading reply file",
		  c->req ? c->req->id : "-");
	close(c->file_fd);
	c->file_fd = -1;
	c->file_left = 0;
	file_parts_free(c->parts);
	c->parts = NULL;
	c->close_after = true;
	c->eof = true; /* no lingering over a broken reply */
}

static void conn_on_write(struct http_conn *c)
{
	if (c->file_left > 0 || c->parts) {
		conn_fill_file(c);
		return;
	}
	if (evbuffer_get_length(conn_output(c)) || c->lingering ||
	    c->out != OUT_SENDING)
		return;
	if (c->req && c->req->stream_left > 0) {
		/* A streamed reply: the handler adds the next piece. */
		if (c->req->on_drain)
			c->req->on_drain(c->req, c->req->drain_arg);
		return;
	}
	c->out = OUT_SENT;
	if (c->in == IN_DONE) {
		conn_request_done(c);
	} else if (c->eof && c->in == IN_DRAIN &&
		   evbuffer_get_length(conn_input(c))) {
		conn_kick(c); /* the message's end is here: read it first */
	} else if (c->close_after || c->eof) {
		http_req_log(c->req);
		conn_req_release(c); /* now, not after the linger */
		conn_close(c);
	}
	/* else IN_DRAIN: the request ends when its message does */
}

static void conn_log_tls_error(struct http_conn *c)
{
	unsigned long code = bufferevent_get_openssl_error(c->bev);
	const char *why = code ? ERR_reason_error_string(code) : NULL;

	log_msg(LL_DEBUG, "%s: tls: %s", c->peer, why ? why : "closed");
}

static void conn_on_event(struct http_conn *c, short what)
{
	what &= ~BEV_EVENT_CONNECTED; /* TLS handshake done */
	if (!what)
		return;
	/* Deferred events are merged: a write error may ride along. */
	if (what == (BEV_EVENT_EOF | BEV_EVENT_READING) && !c->lingering) {
		/* The client half-closed after asking: every complete request
		 * it sent (pipelined ones too) is answered, then the
		 * connection closes.  An incomplete one ends it. */
		c->eof = true;
		conn_process(c);
		/* A request waiting for its handler: the client may be gone
		 * for good, so it waits no longer than an idle one. */
		if ((c->in == IN_HELD || c->in == IN_DONE) &&
		    c->out == OUT_NONE)
			timer_arm(c, conn_cfg(c)->idle_timeout_s);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && c->tls)
		conn_log_tls_error(c);
	c->kill = true;
}

static void conn_on_timeout(struct http_conn *c)
{
	if ((c->in == IN_HEAD && c->req) || c->in == IN_BODY ||
	    c->in == IN_DRAIN)
		conn_fail(c, 408);
	else
		c->kill = true;
}

/* Where the next read of a streamed body goes: the handler's buffer
 * (http_req_body_buf()) when it offers room enough, else the worker's. */
static char *conn_body_dst(struct http_conn *c, size_t *cap)
{
	struct http_req *req = c->req;
	char *p = NULL;

	if (req->body_buf && !req->chunked)
		p = req->body_buf(req, cap, req->body_arg);
	if (p && *cap >= HTTP_BODY_BUF_MIN) {
		if (*cap > HTTP_MAX_READ)
			*cap = HTTP_MAX_READ;
		return p;
	}
	if (!c->w->rbuf)
		c->w->rbuf = xmalloc(HTTP_MAX_READ);
	*cap = HTTP_MAX_READ;
	return c->w->rbuf;
}

/* libevent 2.1 reads at most 4 KiB per readiness event, whatever
 * bufferevent_set_max_single_read() says (EVBUFFER_MAX_READ in buffer.c),
 * and every evbuffer chain is fresh memory: its page faults and munmap
 * cost more CPU than hashing the body.  So while a body streams over plain
 * TCP and the input is empty, read straight into the worker's buffer and
 * parse it in place (on_data gets pointers into it); only what the parser
 * leaves (it paused) goes to the input.  At most HTTP_READ_HIGH a
 * callback, so that one upload does not hold the loop.  The bufferevent
 * keeps the input's end frozen outside its own reads. */
static void conn_read_body(struct http_conn *c)
{
	struct evbuffer *in = conn_input(c);
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	size_t budget = HTTP_READ_HIGH, used, cap;
	char *dst;
	ssize_t n;
	int status;

	if (c->tls || fd < 0)
		return;
	while (budget && !c->kill && c->in == IN_BODY &&
	       !evbuffer_get_length(in)) {
		dst = conn_body_dst(c, &cap);
		n = read(fd, dst, cap);
		if (n <= 0)
			return; /* EOF, errors: the bufferevent's next read */
		budget -= (size_t)n < budget ? (size_t)n : budget;
		c->pev = PEV_NONE;
		status = conn_feed_mem(c, dst, (size_t)n, &used);
		if (status) {
			conn_fail(c, status);
			return;
		}
		/* A handler that stopped may have freed its buffer; the
		 * connection closes without reading on. */
		if (used < (size_t)n && !(c->req && c->req->stopped)) {
			evbuffer_unfreeze(in, 0);
			evbuffer_add(in, dst + used, (size_t)n - used);
			evbuffer_freeze(in, 0);
		}
		conn_parsed(c);
		if ((size_t)n < cap)
			return;
	}
}

/* Lines logged from here on name the connection's request, if it has
 * one that a handler saw; conn_scope_end() forgets it again. */
static void conn_scope(const struct http_conn *c)
{
	if (c->req && c->req->dispatched)
		log_set_request_id(c->req->id);
}

static void conn_scope_end(void)
{
	log_set_request_id(NULL);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	conn_scope(c);
	if (c->in == IN_BODY)
		timer_arm(c, conn_cfg(c)->idle_timeout_s);
	conn_process(c);
	conn_read_body(c);
	conn_process(c); /* what the parser left, if it paused */
	conn_reap(c);
	conn_scope_end();
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	conn_scope(c);
	conn_on_write(c);
	conn_reap(c);
	conn_scope_end();
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	conn_scope(c);
	conn_on_event(c, what);
	conn_reap(c);
	conn_scope_end();
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd;
	(void)what;
	conn_scope(c);
	conn_on_timeout(c);
	conn_reap(c);
	conn_scope_end();
}

/* Connection setup. */

static struct bufferevent *conn_bev_new(struct http_conn *c, int fd)
{
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	struct bufferevent *bev;
	SSL *ssl;

	if (!c->srv->ssl_ctx)
		return bufferevent_socket_new(c->w->base, fd, opts);
	ssl = SSL_new(c->srv->ssl_ctx);
	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(c->w->base, fd, ssl,
					     BUFFEREVENT_SSL_ACCEPTING, opts);
	if (!bev)
		return NULL;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	c->tls = true;
	return bev;
}

static void conn_setup_bev(struct http_conn *c)
{
	struct timeval wt = {conn_cfg(c)->idle_timeout_s, 0};

	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTP_READ_HIGH);
	if (c->tls)
		bufferevent_setwatermark(c->bev, EV_WRITE, HTTP_MAX_WRITE / 4,
					 0);
	bufferevent_set_max_single_read(c->bev, HTTP_MAX_READ);
	bufferevent_set_max_single_write(c->bev, HTTP_MAX_WRITE);
	/* A client that stops reading our reply is cut after idle_timeout. */
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void conn_reject(struct http_conn *c)
{
	time_t now = time(NULL);

	if (now != c->w->warn_at) {
		c->w->warn_at = now;
		log_msg(LL_WARN, "connection limit (%d) reached: 503 to %s",
			conn_cfg(c)->max_conns, c->peer);
	}
	conn_fail(c, 503);
}

void http_conn_new(struct http_worker *w, int fd, const char *peer, bool reject)
{
	struct http_conn *c = xcalloc(1, sizeof(*c));

	c->w = w;
	c->srv = w->srv;
	c->file_fd = -1;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->bev = conn_bev_new(c, fd);
	if (!c->bev) {
		log_msg(LL_ERROR, "%s: cannot set up a connection", peer);
		close(fd);
		free(c);
		http_conn_gone(w);
		return;
	}
	c->timer = evtimer_new(w->base, timer_cb, c);
	if (!c->timer)
		abort(); /* out of memory, as xmalloc would */
	TAILQ_INSERT_TAIL(http_worker_conns(w), c, link);
	conn_setup_bev(c);
	c->in = IN_HEAD;
	timer_arm(c, conn_cfg(c)->header_timeout_s);
	if (reject)
		conn_reject(c);
}

void http_conn_drain_all(struct http_worker *w)
{
	struct http_conn *c, *next;

	for (c = TAILQ_FIRST(http_worker_conns(w)); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->lingering || !c->req || !c->req->dispatched)
			conn_free(c);
	}
}

void http_conn_kill_all(struct http_worker *w)
{
	struct http_conn *c;

	while ((c = TAILQ_FIRST(http_worker_conns(w))))
		conn_free(c);
}

const char *http_conn_peer(const struct http_conn *c)
{
	return c->peer;
}

bool http_conn_is_tls(const struct http_conn *c)
{
	return c->tls;
}

static char *cert_cn(X509 *x)
{
	X509_NAME *name = X509_get_subject_name(x);
	unsigned char *utf8 = NULL;
	char *cn = NULL;
	int i, n;

	i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	if (i < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(
		&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n < 0)
		return NULL;
	if (!memchr(utf8, '\0', (size_t)n))
		cn = xstrndup((const char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return cn;
}

const char *http_conn_client_cn(struct http_conn *c)
{
	SSL *ssl;
	X509 *x;

	if (!c->tls || c->cn_done)
		return c->cn;
	c->cn_done = true;
	ssl = bufferevent_openssl_get_ssl(c->bev);
	x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	if (x && SSL_get_verify_result(ssl) == X509_V_OK)
		c->cn = cert_cn(x);
	return c->cn;
}

/* The handler's calls. */

/* A bodiless message read before the handler asked for its body. */
static void body_end_deferred(struct http_req *req, void *arg)
{
	(void)arg;
	if (!req->replied && req->on_end)
		req->on_end(req, req->body_arg);
}

void http_req_body(struct http_req *req, http_data_fn on_data,
		   http_end_fn on_end, void *arg)
{
	struct http_conn *c = req->conn;
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (req->body_wanted || req->replied || c->dying)
		return;
	req->body_wanted = true;
	req->on_data = on_data;
	req->on_end = on_end;
	req->body_arg = arg;
	if (req->expect_continue && c->in == IN_HELD) {
		evbuffer_add(conn_output(c), cont, sizeof(cont) - 1);
		req->continue_sent = true;
	}
	if (c->in == IN_HELD) {
		c->in = IN_BODY;
		timer_arm(c, conn_cfg(c)->idle_timeout_s);
		conn_kick(c);
	} else if (c->in == IN_DRAIN && !req->has_body) {
		/* Asked after dispatch (from a defer): the parser has yet to
		 * reach the message's end, which now goes to on_end. */
		c->in = IN_BODY;
		conn_kick(c);
	} else if (c->in == IN_DONE && !req->has_body) {
		/* ... or has reached it already. */
		http_req_defer(req, body_end_deferred, NULL);
	}
}

void http_req_body_buf(struct http_req *req, http_buf_fn buf)
{
	req->body_buf = buf;
}

void http_req_resume(struct http_req *req)
{
	struct http_conn *c = req->conn;

	if (!req->paused || req->replied || c->dying)
		return;
	req->paused = false;
	bufferevent_enable(c->bev, EV_READ);
	if (c->in == IN_HELD) {
		c->in = IN_BODY;
		timer_arm(c, conn_cfg(c)->idle_timeout_s);
		conn_kick(c);
	}
}

static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == ':')
			return false;
	return true;
}

static bool header_value_ok(const char *s)
{
	return !strpbrk(s, "\r\n");
}

void http_reply_header(struct http_req *req, const char *name,
		       const char *value)
{
	char *end;
	long long n;

	if (req->replied || req->conn->dying)
		return;
	if (!header_name_ok(name) || !header_value_ok(value)) {
		http_req_logf(req, LL_WARN, "bad reply header dropped");
		return;
	}
	if (!strcasecmp(name, "Content-Length")) {
		errno = 0;
		n = strtoll(value, &end, 10);
		if (!errno && end != value && !*end && n >= 0)
			req->user_clen = n;
		return;
	}
	/* Ours to write. */
	if (!strcasecmp(name, "Connection") || !strcasecmp(name, "Date") ||
	    !strcasecmp(name, "Transfer-Encoding"))
		return;
	if (!req->rhdrs)
		req->rhdrs = evbuffer_new();
	if (req->rhdrs)
		evbuffer_add_printf(req->rhdrs, "%s: %s\r\n", name, value);
}

static bool reply_allowed(struct http_req *req)
{
	if (req->conn->dying || req->close_notified)
		return false;
	if (req->replied) {
		http_req_logf(req, LL_ERROR, "second reply ignored");
		return false;
	}
	return true;
}

static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static bool reply_sends_body(const struct http_req *req, int status)
{
	return req->method != HTTP_M_HEAD && status_has_body(status);
}

static void reply_head(struct http_req *req, int status, const char *ctype,
		       int64_t clen)
{
	struct http_conn *c = req->conn;
	struct evbuffer *out = conn_output(c);

	reply_plan(c, req);
	if (req->method == HTTP_M_HEAD && req->user_clen >= 0)
		clen = req->user_clen;
	reply_status_line(out, c, req, status);
	if (ctype && header_value_ok(ctype))
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (req->rhdrs)
		evbuffer_add_buffer(out, req->rhdrs);
	if (status_has_body(status))
		evbuffer_add_printf(out, "Content-Length: %" PRId64 "\r\n",
				    clen);
	if (c->close_after)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (req->http10)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	evbuffer_add(out, "\r\n", 2);
	req->replied = true;
	req->status = status;
	c->out = OUT_SENDING;
}

void http_reply(struct http_req *req, int status, struct evbuffer *body)
{
	size_t len = body ? evbuffer_get_length(body) : 0;

	if (!reply_allowed(req)) {
		if (body)
			evbuffer_drain(body, len);
		return;
	}
	reply_head(req, status, NULL, (int64_t)len);
	if (!body)
		return;
	if (reply_sends_body(req, status)) {
		evbuffer_add_buffer(conn_output(req->conn), body);
		req->bytes = len;
	} else {
		evbuffer_drain(body, len);
	}
}

void http_reply_mem(struct http_req *req, int status, const char *ctype,
		    const void *data, size_t len)
{
	if (!reply_allowed(req))
		return;
	reply_head(req, status, ctype, (int64_t)len);
	if (len && reply_sends_body(req, status)) {
		evbuffer_add(conn_output(req->conn), data, len);
		req->bytes = len;
	}
}

static void reply_sendfile(struct http_conn *c, int fd, off_t off, off_t len)
{
	struct evbuffer_file_segment *seg;

	/* The segment owns fd from here; the chain keeps its own ref. */
	seg = evbuffer_file_segment_new(fd, off, len,
					EVBUF_FS_CLOSE_ON_FREE |
						EVBUF_FS_DISABLE_LOCKING);
	if (!seg) {
		http_req_logf(c->req, LL_ERROR, "cannot send file");
		close(fd);
		c->close_after = true;
		c->eof = true;
		return;
	}
	if (evbuffer_add_file_segment(conn_output(c), seg, 0, len) < 0) {
		http_req_logf(c->req, LL_ERROR, "cannot queue file");
		c->close_after = true;
		c->eof = true;
	}
	evbuffer_file_segment_free(seg);
}

void http_reply_file(struct http_req *req, int status, const char *ctype,
		     int fd, off_t off, off_t len)
{
	struct http_conn *c = req->conn;

	if (!reply_allowed(req)) {
		close(fd);
		return;
	}
	if (len < 0 || off < 0) {
		close(fd);
		http_reply_mem(req, 500, "text/plain", "bad file range\n", 15);
		return;
	}
	reply_head(req, status, ctype, (int64_t)len);
	if (!len || !reply_sends_body(req, status)) {
		close(fd);
		return;
	}
	req->bytes = (uint64_t)len;
	if (!c->tls) {
		reply_sendfile(c, fd, off, len);
		return;
	}
	c->file_fd = fd;
	c->file_off = off;
	c->file_left = len;
	conn_fill_file(c);
}

/* The texts around the parts of a multipart/byteranges body (RFC 9110
 * §14.6 and RFC 2046 §5.1.1); returns the body's length. */
static int64_t parts_text(struct file_parts *fp, const char *ctype,
			  int64_t size, char ***text_out)
{
	unsigned char rnd[12];
	char bnd[2 * sizeof(rnd) + 1], **text;
	int64_t total = 0;

	/* Random, so that no blob can hold the delimiter by design. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(bnd + 2 * i, 3, "%02x", rnd[i]);
	text = xcalloc((size_t)fp->n + 1, sizeof(*text));
	for (int i = 0; i < fp->n; i++) {
		text[i] = xasprintf("%s--%s\r\nContent-Type: %s\r\n"
				    "Content-Range: bytes %" PRId64 "-%" PRId64
				    "/%" PRId64 "\r\n\r\n",
				    i ? "\r\n" : "", bnd, ctype, fp->r[i].off,
				    fp->r[i].off + fp->r[i].len - 1, size);
		total += (int64_t)strlen(text[i]) + fp->r[i].len;
	}
	text[fp->n] = xasprintf("\r\n--%s--\r\n", bnd);
	total += (int64_t)strlen(text[fp->n]);
	*text_out = text;
	return total;
}

void http_reply_file_ranges(struct http_req *req, const char *ctype, int fd,
			    int64_t size, const struct http_range *r, int n)
{
	struct http_conn *c = req->conn;
	struct file_parts *fp;
	struct evbuffer_file_segment *seg = NULL;
	char mtype[96];
	int64_t total;

	if (!reply_allowed(req) || n < 1) {
		close(fd);
		return;
	}
	fp = xcalloc(1, sizeof(*fp));
	fp->n = n;
	fp->r = xmalloc((size_t)n * sizeof(*r));
	memcpy(fp->r, r, (size_t)n * sizeof(*r));
	total = parts_text(fp, ctype, size, &fp->text);
	/* The boundary is the text after the first "--". */
	snprintf(mtype, sizeof(mtype), "multipart/byteranges; boundary=%.*s",
		 (int)strcspn(fp->text[0] + 2, "\r"), fp->text[0] + 2);
	reply_head(req, 206, mtype, total);
	if (!reply_sends_body(req, 206)) {
		close(fd);
		file_parts_free(fp);
		return;
	}
	req->bytes = (uint64_t)total;
	if (c->tls) {
		c->file_fd = fd;
		c->parts = fp;
		conn_fill_file(c);
		return;
	}
	/* One segment over the file; each part is a slice of it. */
	seg = evbuffer_file_segment_new(
		fd, 0, size, EVBUF_FS_CLOSE_ON_FREE | EVBUF_FS_DISABLE_LOCKING);
	if (!seg) {
		close(fd);
		goto fail;
	}
	for (int i = 0; i <= n; i++) {
		if (evbuffer_add(conn_output(c), fp->text[i],
				 strlen(fp->text[i])) < 0 ||
		    (i < n &&
		     evbuffer_add_file_segment(conn_output(c), seg, r[i].off,
					       r[i].len) < 0))
			goto fail;
	}
	evbuffer_file_segment_free(seg);
	file_parts_free(fp);
	return;
fail:
	http_req_logf(req, LL_ERROR, "cannot queue file parts");
	if (seg)
		evbuffer_file_segment_free(seg);
	file_parts_free(fp);
	c->close_after = true;
	c->eof = true;
}

bool http_reply_start(struct http_req *req, int status, const char *ctype,
		      int64_t len, http_drain_fn on_drain, void *arg)
{
	if (!reply_allowed(req))
		return false;
	if (len < 0)
		len = 0;
	reply_head(req, status, ctype, len);
	if (!len || !reply_sends_body(req, status))
		return false;
	req->stream_left = len;
	req->on_drain = on_drain;
	req->drain_arg = arg;
	return true;
}

int http_reply_write(struct http_req *req, const void *data, size_t len)
{
	struct http_conn *c = req->conn;

	if (c->dying || req->close_notified || !req->replied ||
	    (int64_t)len > req->stream_left)
		return -1;
	if (evbuffer_add(conn_output(c), data, len) < 0)
		return -1;
	req->stream_left -= (int64_t)len;
	req->bytes += len;
	return 0;
}

void http_reply_abort(struct http_req *req)
{
	struct http_conn *c = req->conn;

	if (c->dying || c->kill)
		return;
	req->stream_left = 0;
	req->on_drain = NULL;
	req->cut = true;
	http_req_logf(req, LL_WARN, "reply cut after %" PRIu64 " bytes",
		      req->bytes);
	/* Freed at the end of this callback, or of the read callback this
	 * kicks (from a defer); no lingering over a broken reply. */
	c->close_after = true;
	c->eof = true;
	c->kill = true;
	conn_kick(c);
}
