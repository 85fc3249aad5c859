/* test_http.c: the HTTP layer against real sockets.  Servers run on
 * 127.0.0.1 port 0 in threads; a test dispatch function plays the handler;
 * raw sockets (and libcurl for TLS) play the clients. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "registry/http/http.h"

#define MIB	  (1024 * 1024)
#define FILE_SIZE (1024 * 1024 + 123)

/* One server under test. */
struct tsrv {
	struct http_server *srv;
	pthread_t thread;
	int port;
	bool running;
};

static struct tsrv main_srv, small_srv, cap_srv, tls_srv;
static char tmpdir[64];
static char file_path[128];
static bool have_tls;

static atomic_int track_closed;
static atomic_int hang_closed;
static atomic_int upload_closed;
static atomic_int count_runs;

/* Test handlers. */

struct upload {
	size_t bytes, pieces, max;
	bool stop_mid;
	bool pause; /* each piece pauses the body; a timer resumes it */
};

static void upload_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_req_resume(arg);
}

static int upload_data(struct http_req *req, const void *data, size_t len,
		       void *arg)
{
	struct upload *u = arg;

	(void)data;
	u->bytes += len;
	u->pieces++;
	if (len > u->max)
		u->max = len;
	if (u->stop_mid) {
		http_reply_mem(req, 400, "text/plain", "stop\n", 5);
		return -1;
	}
	if (u->pause) {
		struct timeval tv = {0, 1000};

		event_base_once(http_req_base(req), -1, EV_TIMEOUT,
				upload_resume, req, &tv);
		return 1;
	}
	return 0;
}

static void upload_end(struct http_req *req, void *arg)
{
	struct upload *u = arg;
	char msg[128];
	int n;

	n = snprintf(msg, sizeof(msg), "bytes=%zu pieces=%zu max=%zu", u->bytes,
		     u->pieces, u->max);
	http_reply_mem(req, 201, "text/plain", msg, (size_t)n);
}

/* The *_closed counters count the ends without a whole reply. */
static void upload_dtor(void *ptr, bool gone)
{
	free(ptr);
	if (gone)
		atomic_fetch_add(&upload_closed, 1);
}

static void track_dtor(void *ptr, bool gone)
{
	free(ptr);
	if (gone)
		atomic_fetch_add(&track_closed, 1);
}

enum upload_mode { UPLOAD_PLAIN, UPLOAD_STOP_MID, UPLOAD_PAUSE };

static void start_upload(struct http_req *req, enum upload_mode mode,
			 http_dtor_fn dtor)
{
	struct upload *u = calloc(1, sizeof(*u));

	u->stop_mid = mode == UPLOAD_STOP_MID;
	u->pause = mode == UPLOAD_PAUSE;
	http_req_attach(req, u, dtor);
	http_req_body(req, upload_data, upload_end, u);
}

/* A handler that gathers the body in a buffer of its own
 * (http_req_body_buf()): counts the pieces read in place and checks every
 * byte against pattern_byte(). */
struct own {
	char buf[256 * 1024];
	size_t len; /* where the next piece goes */
	size_t bytes, inplace, copied, bad;
};

static char pattern_byte(size_t i)
{
	return (char)(i % 251);
}

static void *own_buf(struct http_req *req, size_t *cap, void *arg)
{
	struct own *o = arg;

	(void)req;
	if (sizeof(o->buf) - o->len < 64 * 1024)
		o->len = 0;
	*cap = sizeof(o->buf) - o->len;
	return o->buf + o->len;
}

static int own_data(struct http_req *req, const void *data, size_t len,
		    void *arg)
{
	struct own *o = arg;
	const char *p = data;

	(void)req;
	if (p == o->buf + o->len) {
		o->inplace++;
		o->len += len;
	} else {
		o->copied++;
	}
	for (size_t i = 0; i < len; i++)
		o->bad += p[i] != pattern_byte(o->bytes + i);
	o->bytes += len;
	return 0;
}

static void own_end(struct http_req *req, void *arg)
{
	struct own *o = arg;
	char msg[128];
	int n;

	n = snprintf(msg, sizeof(msg),
		     "bytes=%zu inplace=%zu copied=%zu bad=%zu", o->bytes,
		     o->inplace, o->copied, o->bad);
	http_reply_mem(req, 201, "text/plain", msg, (size_t)n);
}

static void start_own(struct http_req *req)
{
	struct own *o = calloc(1, sizeof(*o));

	http_req_attach(req, o, upload_dtor);
	http_req_body(req, own_data, own_end, o);
	http_req_body_buf(req, own_buf);
}

static void reply_echo(struct http_req *req)
{
	char msg[512];
	const char *name = http_req_query_param(req, "name");
	int n;

	n = snprintf(msg, sizeof(msg), "path=%s\nname=%s\n", http_req_path(req),
		     name ? name : "(none)");
	http_reply_mem(req, 200, "text/plain", msg, (size_t)n);
}

static void reply_file(struct http_req *req)
{
	int64_t off = 0, len = 0;
	struct stat st;
	char cr[96];
	int fd, r;

	fd = open(file_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		http_reply_mem(req, 500, "text/plain", "open\n", 5);
		return;
	}
	r = http_parse_range(http_req_header(req, "Range"), st.st_size, &off,
			     &len);
	if (r < 0) {
		snprintf(cr, sizeof(cr), "bytes */%lld", (long long)st.st_size);
		http_reply_header(req, "Content-Range", cr);
		http_reply_mem(req, 416, "text/plain", "range\n", 6);
		close(fd);
		return;
	}
	if (r == 0) {
		http_reply_file(req, 200, "application/octet-stream", fd, 0,
				st.st_size);
		return;
	}
	snprintf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)off,
		 (long long)(off + len - 1), (long long)st.st_size);
	http_reply_header(req, "Content-Range", cr);
	http_reply_file(req, 206, "application/octet-stream", fd, off, len);
}

static void deferred_reply(struct http_req *req, void *arg)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "deferred %s",
			 pthread_equal(*(pthread_t *)arg, pthread_self())
				 ? "wrong-thread"
				 : "ok");

	free(arg);
	http_reply_mem(req, 200, "text/plain", msg, (size_t)n);
}

/* /defer-upload: the handler asks for the body only after a defer. */
static void deferred_upload(struct http_req *req, void *arg)
{
	(void)arg;
	start_upload(req, UPLOAD_PLAIN, upload_dtor);
}

static void *defer_upload_thread(void *arg)
{
	struct timespec ts = {0, 20 * 1000 * 1000};

	nanosleep(&ts, NULL);
	http_req_defer(arg, deferred_upload, NULL);
	return NULL;
}

static void *defer_thread(void *arg)
{
	struct http_req *req = arg;
	pthread_t *self = malloc(sizeof(*self));
	struct timespec ts = {0, 20 * 1000 * 1000};

	*self = pthread_self();
	nanosleep(&ts, NULL);
	http_req_defer(req, deferred_reply, self);
	return NULL;
}

/* /call: CALL_THREADS threads send CALL_EACH calls each to the loop with
 * http_worker_call(); every one must run there, and the last replies. */
#define CALL_THREADS 3
#define CALL_EACH    200

struct call_run {
	struct http_req *req;
	pthread_t loop;
	int ran, wrong; /* the loop thread's */
};

struct call_one {
	struct http_call call;
	struct call_run *run;
};

static struct http_worker *call_worker; /* the last /call's */
static atomic_int late_ran;

static void late_fn(struct http_call *c)
{
	(void)c;
	atomic_fetch_add(&late_ran, 1);
}

static void call_fn(struct http_call *c)
{
	struct call_one *one = (struct call_one *)c;
	struct call_run *r = one->run;
	char msg[64];
	int n;

	free(one);
	if (!pthread_equal(pthread_self(), r->loop))
		r->wrong++;
	if (++r->ran < CALL_THREADS * CALL_EACH)
		return;
	n = snprintf(msg, sizeof(msg), "ran %d wrong %d", r->ran, r->wrong);
	http_reply_mem(r->req, 200, "text/plain", msg, (size_t)n);
	free(r);
}

static void *call_thread(void *arg)
{
	struct call_run *r = arg;

	for (int i = 0; i < CALL_EACH; i++) {
		struct call_one *one = calloc(1, sizeof(*one));

		one->call.fn = call_fn;
		one->run = r;
		http_worker_call(http_req_worker(r->req), &one->call);
	}
	return NULL;
}

static void start_calls(struct http_req *req)
{
	struct call_run *r = calloc(1, sizeof(*r));
	pthread_t t;

	r->req = req;
	r->loop = pthread_self();
	call_worker = http_req_worker(req);
	for (int i = 0; i < CALL_THREADS; i++) {
		pthread_create(&t, NULL, call_thread, r);
		pthread_detach(t);
	}
}

struct slow {
	struct event *ev;
	struct http_req *req;
};

static void slow_fire(evutil_socket_t fd, short what, void *arg)
{
	struct slow *s = arg;

	(void)fd;
	(void)what;
	http_reply_mem(s->req, 200, "text/plain", "slow\n", 5);
}

static void slow_dtor(void *ptr, bool gone)
{
	struct slow *s = ptr;

	(void)gone;
	event_free(s->ev);
	free(s);
}

static void start_slow(struct http_req *req, int ms)
{
	struct slow *s = calloc(1, sizeof(*s));
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	s->req = req;
	s->ev = evtimer_new(http_req_base(req), slow_fire, s);
	evtimer_add(s->ev, &tv);
	http_req_attach(req, s, slow_dtor);
}

static void hang_dtor(void *ptr, bool gone)
{
	(void)ptr;
	if (gone)
		atomic_fetch_add(&hang_closed, 1);
}

/* /attach: state attached, and the reply sent at once; /attach?ms=N: the
 * reply deferred from a thread after N ms, unless the request ended first
 * (the thread asks under a lock, as registry/work.c does);
 * /attach?detach=1: the state taken off again before the reply. */
static atomic_int attach_ok, attach_gone, attach_late;

struct attach {
	pthread_mutex_t lock;
	struct http_req *req; /* NULL once the request ended */
	int ms;
	atomic_int refs; /* the request's, and the thread's */
};

static void attach_unref(struct attach *a)
{
	if (atomic_fetch_sub(&a->refs, 1) == 1) {
		pthread_mutex_destroy(&a->lock);
		free(a);
	}
}

static void attach_dtor(void *ptr, bool gone)
{
	struct attach *a = ptr;

	pthread_mutex_lock(&a->lock);
	a->req = NULL;
	pthread_mutex_unlock(&a->lock);
	atomic_fetch_add(gone ? &attach_gone : &attach_ok, 1);
	attach_unref(a);
}

static void attach_reply(struct http_req *req, void *arg)
{
	(void)arg;
	atomic_fetch_add(&attach_late, 1);
	http_reply_mem(req, 200, "text/plain", "late\n", 5);
}

static void *attach_thread(void *arg)
{
	struct attach *a = arg;
	struct timespec ts = {a->ms / 1000, (a->ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
	pthread_mutex_lock(&a->lock);
	if (a->req)
		http_req_defer(a->req, attach_reply, a);
	pthread_mutex_unlock(&a->lock);
	attach_unref(a);
	return NULL;
}

static void start_attach(struct http_req *req)
{
	const char *ms = http_req_query_param(req, "ms");
	struct attach *a = calloc(1, sizeof(*a));
	pthread_t t;

	pthread_mutex_init(&a->lock, NULL);
	a->req = req;
	atomic_init(&a->refs, 1);
	http_req_attach(req, a, attach_dtor);
	if (http_req_query_param(req, "detach")) {
		http_req_detach(req, a);
		attach_unref(a);
		http_reply_mem(req, 200, "text/plain", "detached\n", 9);
		return;
	}
	if (!ms) {
		http_reply_mem(req, 200, "text/plain", "now\n", 4);
		return;
	}
	a->ms = atoi(ms);
	atomic_fetch_add(&a->refs, 1);
	pthread_create(&t, NULL, attach_thread, a);
	pthread_detach(t);
}

/* Streamed replies (http_reply_start): /stream writes a piece each time
 * the output drains; /stream-timer from a timer, whatever the output does;
 * /stream-abort gives up half-way.  The body is stream_byte(0..n-1). */
static atomic_int stream_closed;

enum stream_mode { STREAM_DRAIN, STREAM_TIMER, STREAM_ABORT };

struct stream {
	struct http_req *req;
	struct event *timer;
	enum stream_mode mode;
	size_t total, sent;
};

static char stream_byte(size_t i)
{
	return (char)((i * 7 + i / 251) & 0xff);
}

static void stream_free(struct stream *s)
{
	if (s->timer)
		event_free(s->timer);
	free(s);
}

/* Writes the next piece; true when the reply is over. */
static bool stream_piece(struct stream *s)
{
	char buf[65536];
	size_t n = s->total - s->sent;

	if (s->mode == STREAM_ABORT && s->sent >= s->total / 2) {
		http_reply_abort(s->req);
		return true;
	}
	if (n > sizeof(buf))
		n = sizeof(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = stream_byte(s->sent + i);
	assert_int_equal(http_reply_write(s->req, buf, n), 0);
	s->sent += n;
	if (s->sent < s->total)
		return false;
	/* Nothing past the promised length. */
	assert_int_equal(http_reply_write(s->req, "x", 1), -1);
	return true;
}

static void stream_drain(struct http_req *req, void *arg)
{
	struct stream *s = arg;

	(void)req;
	if (s->mode != STREAM_TIMER)
		stream_piece(s);
}

static void stream_tick(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	struct timeval tv = {0, 1000};

	(void)fd;
	(void)what;
	if (!stream_piece(s))
		evtimer_add(s->timer, &tv);
}

static void stream_dtor(void *ptr, bool gone)
{
	if (gone)
		atomic_fetch_add(&stream_closed, 1);
	stream_free(ptr);
}

static void start_stream(struct http_req *req, enum stream_mode mode)
{
	const char *n = http_req_query_param(req, "n");
	struct stream *s = calloc(1, sizeof(*s));
	struct timeval tv = {0, 1000};

	s->req = req;
	s->mode = mode;
	s->total = n ? strtoull(n, NULL, 10) : 1000;
	http_req_attach(req, s, stream_dtor);
	if (!http_reply_start(req, 200, "application/octet-stream",
			      (int64_t)s->total, stream_drain, s))
		return; /* HEAD: complete already */
	if (mode == STREAM_TIMER) {
		s->timer = evtimer_new(http_req_base(req), stream_tick, s);
		evtimer_add(s->timer, &tv);
	}
}

static void dispatch(struct http_req *req, void *arg)
{
	const char *path = http_req_path(req);
	pthread_t t;
	char msg[128];
	int n;

	(void)arg;
	if (!strcmp(path, "/count")) {
		/* A handler with an effect (a DELETE, say): counts its runs. */
		atomic_fetch_add(&count_runs, 1);
		http_reply_mem(req, 202, "text/plain", "done\n", 5);
	} else if (!strcmp(path, "/hello")) {
		http_reply_header(req, "X-Test", "yes");
		http_reply_mem(req, 200, "text/plain", "hello\n", 6);
	} else if (!strncmp(path, "/echo", 5)) {
		reply_echo(req);
	} else if (!strcmp(path, "/upload")) {
		start_upload(req, UPLOAD_PLAIN, upload_dtor);
	} else if (!strcmp(path, "/own-upload")) {
		start_own(req);
	} else if (!strcmp(path, "/pause-upload")) {
		start_upload(req, UPLOAD_PAUSE, upload_dtor);
	} else if (!strcmp(path, "/stopmid")) {
		start_upload(req, UPLOAD_STOP_MID, upload_dtor);
	} else if (!strcmp(path, "/track")) {
		start_upload(req, UPLOAD_PLAIN, track_dtor);
	} else if (!strcmp(path, "/early")) {
		http_reply_mem(req, 413, "text/plain", "too big\n", 8);
	} else if (!strcmp(path, "/file")) {
		reply_file(req);
	} else if (!strcmp(path, "/defer-upload")) {
		pthread_create(&t, NULL, defer_upload_thread, req);
		pthread_detach(t);
	} else if (!strcmp(path, "/defer")) {
		pthread_create(&t, NULL, defer_thread, req);
		pthread_detach(t);
	} else if (!strcmp(path, "/call")) {
		start_calls(req);
	} else if (!strcmp(path, "/slow")) {
		start_slow(req, 200);
	} else if (!strcmp(path, "/stream")) {
		start_stream(req, STREAM_DRAIN);
	} else if (!strcmp(path, "/stream-timer")) {
		start_stream(req, STREAM_TIMER);
	} else if (!strcmp(path, "/stream-abort")) {
		start_stream(req, STREAM_ABORT);
	} else if (!strcmp(path, "/hang")) {
		http_req_attach(req, &hang_closed, hang_dtor);
	} else if (!strcmp(path, "/attach")) {
		start_attach(req);
	} else if (!strcmp(path, "/cn")) {
		n = snprintf(msg, sizeof(msg), "tls=%d cn=%s",
			     http_req_is_tls(req),
			     http_req_client_cn(req) ? http_req_client_cn(req)
						     : "(none)");
		http_reply_mem(req, 200, "text/plain", msg, (size_t)n);
	} else {
		http_reply_mem(req, 404, "text/plain", "no\n", 3);
	}
}

/* Servers. */

static void *run_thread(void *arg)
{
	struct tsrv *t = arg;

	http_server_run(t->srv);
	return NULL;
}

static int tsrv_start(struct tsrv *t, struct http_config *cfg)
{
	struct err e = ERR_INIT;

	cfg->listen = "127.0.0.1:0";
	t->srv = http_server_new(cfg, dispatch, NULL, &e);
	if (!t->srv) {
		fprintf(stderr, "http_server_new: %s\n", e.msg);
		return -1;
	}
	t->port = http_server_port(t->srv);
	if (pthread_create(&t->thread, NULL, run_thread, t))
		return -1;
	t->running = true;
	return 0;
}

static void tsrv_stop(struct tsrv *t)
{
	if (t->running) {
		http_server_stop(t->srv);
		pthread_join(t->thread, NULL);
		t->running = false;
	}
	http_server_free(t->srv);
	t->srv = NULL;
}

/* Raw clients. */

struct cli {
	int fd;
	size_t len;
	char buf[65536];
};

struct resp {
	int status;
	char head[16384];
	char *body;
	size_t blen;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static struct cli *cli_open(int port)
{
	struct cli *c = calloc(1, sizeof(*c));
	struct sockaddr_in sa;
	struct timeval tv = {5, 0};

	assert_non_null(c);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return c;
}

static void cli_close(struct cli *c)
{
	if (c) {
		close(c->fd);
		free(c);
	}
}

/* Sends all of p; -1 if the server closed on us. */
static int cli_try_send(struct cli *c, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n) {
		w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static void cli_send(struct cli *c, const void *p, size_t n)
{
	assert_int_equal(cli_try_send(c, p, n), 0);
}

static void cli_sends(struct cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

static void cli_printf(struct cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cli_printf(struct cli *c, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	cli_send(c, line, (size_t)n);
}

/* Reads more; bytes read, 0 on EOF, -1 on error or timeout. */
static ssize_t cli_fill(struct cli *c)
{
	ssize_t n;

	if (c->len == sizeof(c->buf))
		return -1;
	do
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

static void cli_consume(struct cli *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

static const char *resp_header(const struct resp *r, const char *name,
			       char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = strstr(r->head, "\r\n");

	while (p && p[2]) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *end = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(out, cap, "%.*s", (int)(end - v), v);
			return out;
		}
		p = strstr(p, "\r\n");
	}
	return NULL;
}

static int body_expected(int status, bool head_req)
{
	return !head_req && status >= 200 && status != 204 && status != 304;
}

/* Reads one response (a 100 Continue counts as one). */
static int cli_response(struct cli *c, struct resp *r, bool head_req)
{
	char *end, v[32];
	size_t hl, need, got;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (cli_fill(c) <= 0)
			return -1;
	hl = (size_t)(end - c->buf) + 4;
	if (hl >= sizeof(r->head))
		return -1;
	memcpy(r->head, c->buf, hl);
	cli_consume(c, hl);
	if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	if (!body_expected(r->status, head_req))
		return 0;
	if (!resp_header(r, "Content-Length", v, sizeof(v)))
		return -1;
	need = strtoull(v, NULL, 10);
	r->body = malloc(need + 1);
	got = need < c->len ? need : c->len;
	memcpy(r->body, c->buf, got);
	cli_consume(c, got);
	while (got < need) {
		n = recv(c->fd, r->body + got, need - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	r->body[need] = '\0';
	r->blen = need;
	return 0;
}

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* True if the server closes (EOF or reset) within ms, ignoring data. */
static bool cli_closed_within(struct cli *c, int ms)
{
	struct pollfd p = {c->fd, POLLIN, 0};
	double until = now_s() + ms / 1000.0;
	char junk[65536];
	ssize_t n;

	c->len = 0;
	while (now_s() < until) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(c->fd, junk, sizeof(junk), 0);
		if (n <= 0)
			return true;
	}
	return false;
}

static void get_ok(struct cli *c, const char *path, const char *want_body)
{
	struct resp r;

	cli_printf(c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 200);
	if (want_body)
		assert_string_equal(r.body, want_body);
	resp_free(&r);
}

/* Fixtures. */

static int make_file(void)
{
	FILE *f;
	size_t i;

	snprintf(file_path, sizeof(file_path), "%s/blob", tmpdir);
	f = fopen(file_path, "w");
	if (!f)
		return -1;
	for (i = 0; i < FILE_SIZE; i++)
		fputc((int)(i * 7 % 251), f);
	return fclose(f);
}

static bool file_matches(const char *data, size_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)data[i] != (off + i) * 7 % 251)
			return false;
	return true;
}

static int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_cmd(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A self-signed server certificate, and a CA that signs a client one. */
static bool make_certs(void)
{
	const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
			 "-nodes";

	if (run_cmd("command -v openssl >/dev/null 2>&1"))
		return false;
	return !run_cmd("cd %s && openssl req -x509 %s -keyout srv.key "
			"-out srv.crt -days 2 -subj /CN=localhost -addext "
			"subjectAltName=IP:127.0.0.1,DNS:localhost "
			">/dev/null 2>&1",
			tmpdir, ec) &&
	       !run_cmd("cd %s && openssl req -x509 %s -keyout ca.key "
			"-out ca.crt -days 2 -subj /CN=test-ca >/dev/null 2>&1",
			tmpdir, ec) &&
	       !run_cmd("cd %s && openssl req %s -keyout cli.key -out cli.csr "
			"-subj /CN=client1 >/dev/null 2>&1",
			tmpdir, ec) &&
	       !run_cmd("cd %s && openssl x509 -req -in cli.csr -CA ca.crt "
			"-CAkey ca.key -CAcreateserial -out cli.crt -days 2 "
			">/dev/null 2>&1",
			tmpdir);
}

static int group_setup(void **state)
{
	struct http_config cfg;
	char cert[128], key[128], ca[128];

	(void)state;
	log_set_level(getenv("TEST_HTTP_VERBOSE") ? LL_DEBUG : LL_WARN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_http.XXXXXX");
	if (!mkdtemp(tmpdir) || make_file() < 0)
		return -1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.threads = 2;
	if (tsrv_start(&main_srv, &cfg) < 0)
		return -1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.threads = 1;
	cfg.header_timeout_s = 1;
	cfg.idle_timeout_s = 1;
	if (tsrv_start(&small_srv, &cfg) < 0)
		return -1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.threads = 1;
	cfg.max_conns = 2;
	if (tsrv_start(&cap_srv, &cfg) < 0)
		return -1;

	have_tls = make_certs();
	if (have_tls) {
		snprintf(cert, sizeof(cert), "%s/srv.crt", tmpdir);
		snprintf(key, sizeof(key), "%s/srv.key", tmpdir);
		snprintf(ca, sizeof(ca), "%s/ca.crt", tmpdir);
		memset(&cfg, 0, sizeof(cfg));
		cfg.threads = 2;
		cfg.tls_cert = cert;
		cfg.tls_key = key;
		cfg.tls_client_ca = ca;
		if (tsrv_start(&tls_srv, &cfg) < 0)
			return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tsrv_stop(&main_srv);
	tsrv_stop(&small_srv);
	tsrv_stop(&cap_srv);
	if (have_tls)
		tsrv_stop(&tls_srv);
	run_cmd("rm -rf %s", tmpdir);
	curl_global_cleanup();
	return 0;
}

/* Tests. */

static void test_range_parse(void **state)
{
	int64_t off = -7, len = -7;

	(void)state;
	assert_int_equal(http_parse_range(NULL, 100, &off, &len), 0);
	assert_int_equal(http_parse_range("bytes=0-9", 100, &off, &len), 1);
	assert_int_equal(off, 0);
	assert_int_equal(len, 10);
	assert_int_equal(http_parse_range("bytes=10-", 100, &off, &len), 1);
	assert_int_equal(off, 10);
	assert_int_equal(len, 90);
	assert_int_equal(http_parse_range("bytes=-30", 100, &off, &len), 1);
	assert_int_equal(off, 70);
	assert_int_equal(len, 30);
	assert_int_equal(http_parse_range("bytes=-300", 100, &off, &len), 1);
	assert_int_equal(off, 0);
	assert_int_equal(len, 100);
	/* The end is clamped to the size. */
	assert_int_equal(http_parse_range("bytes=90-500", 100, &off, &len), 1);
	assert_int_equal(off, 90);
	assert_int_equal(len, 10);
	assert_int_equal(http_parse_range("Bytes = 5-5", 100, &off, &len), 1);
	assert_int_equal(off, 5);
	assert_int_equal(len, 1);
	/* Unsatisfiable. */
	assert_int_equal(http_parse_range("bytes=100-", 100, &off, &len), -1);
	assert_int_equal(http_parse_range("bytes=200-300", 100, &off, &len),
			 -1);
	assert_int_equal(http_parse_range("bytes=-0", 100, &off, &len), -1);
	assert_int_equal(http_parse_range("bytes=0-", 0, &off, &len), -1);
	/* Ignored: garbage, other units, several ranges, reversed. */
	assert_int_equal(http_parse_range("bytes=abc", 100, &off, &len), 0);
	assert_int_equal(http_parse_range("bytes=-", 100, &off, &len), 0);
	assert_int_equal(http_parse_range("bytes=5", 100, &off, &len), 0);
	assert_int_equal(http_parse_range("bytes=1-2x", 100, &off, &len), 0);
	assert_int_equal(http_parse_range("items=0-9", 100, &off, &len), 0);
	assert_int_equal(http_parse_range("bytes=0-1,5-6", 100, &off, &len), 0);
	assert_int_equal(http_parse_range("bytes=9-3", 100, &off, &len), 0);
	assert_int_equal(http_parse_range("bytes=99999999999999999999-", 100,
					  &off, &len),
			 0);
}

static void test_ranges_parse(void **state)
{
	struct http_range r[4];

	(void)state;
	/* Disjoint: kept as asked, in the client's order. */
	assert_int_equal(http_parse_ranges("bytes=50-59, -5,0-0", 100, r, 4),
			 3);
	assert_int_equal(r[0].off, 50);
	assert_int_equal(r[0].len, 10);
	assert_int_equal(r[1].off, 95);
	assert_int_equal(r[1].len, 5);
	assert_int_equal(r[2].off, 0);
	assert_int_equal(r[2].len, 1);
	/* Adjacent ones are not overlapping: left alone. */
	assert_int_equal(http_parse_ranges("bytes=10-19,20-29", 100, r, 4), 2);
	/* Overlapping: sorted and merged. */
	assert_int_equal(
		http_parse_ranges("bytes=40-49,0-9,5-14,45-", 100, r, 4), 2);
	assert_int_equal(r[0].off, 0);
	assert_int_equal(r[0].len, 15);
	assert_int_equal(r[1].off, 40);
	assert_int_equal(r[1].len, 60);
	/* The same range again and again is one range. */
	assert_int_equal(http_parse_ranges("bytes=0-9,0-9,0-9", 100, r, 4), 1);
	assert_int_equal(r[0].len, 10);
	/* Unsatisfiable ones drop out; all of them: -1. */
	assert_int_equal(http_parse_ranges("bytes=500-,1-1", 100, r, 4), 1);
	assert_int_equal(r[0].off, 1);
	assert_int_equal(http_parse_ranges("bytes=500-,600-", 100, r, 4), -1);
	/* Past max, garbage anywhere, another unit, empty: the whole. */
	assert_int_equal(
		http_parse_ranges("bytes=0-0,2-2,4-4,6-6,8-8", 100, r, 4), 0);
	assert_int_equal(http_parse_ranges("bytes=0-1,x", 100, r, 4), 0);
	assert_int_equal(http_parse_ranges("bytes=0-1,9-3", 100, r, 4), 0);
	assert_int_equal(http_parse_ranges("items=0-1,2-3", 100, r, 4), 0);
	assert_int_equal(http_parse_ranges("bytes=", 100, r, 4), 0);
	assert_int_equal(http_parse_ranges(NULL, 100, r, 4), 0);
	/* Empty list elements are allowed (RFC 9110 §5.6.1). */
	assert_int_equal(http_parse_ranges("bytes=0-1,,3-4,", 100, r, 4), 2);
	/* A single one is as http_parse_range() sees it. */
	assert_int_equal(http_parse_ranges("bytes=-300", 100, r, 4), 1);
	assert_int_equal(r[0].off, 0);
	assert_int_equal(r[0].len, 100);
}

static void test_keepalive_get(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct resp r;
	char v[64];

	(void)state;
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello\n");
	assert_string_equal(resp_header(&r, "X-Test", v, sizeof(v)), "yes");
	assert_string_equal(resp_header(&r, "Content-Type", v, sizeof(v)),
			    "text/plain");
	assert_non_null(resp_header(&r, "Date", v, sizeof(v)));
	assert_null(resp_header(&r, "Connection", v, sizeof(v)));
	resp_free(&r);
	/* Same connection, then two pipelined in one write. */
	get_ok(c, "/hello", "hello\n");
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /echo/x HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_string_equal(r.body, "hello\n");
	resp_free(&r);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_string_equal(r.body, "path=/echo/x\nname=(none)\n");
	resp_free(&r);
	/* Connection: close is honoured. */
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
		     "\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "close");
	resp_free(&r);
	assert_true(cli_closed_within(c, 2000));
	cli_close(c);
}

static void test_http10(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct resp r;
	char v[64];

	(void)state;
	cli_sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "keep-alive");
	resp_free(&r);
	cli_sends(c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "close");
	resp_free(&r);
	assert_true(cli_closed_within(c, 2000));
	cli_close(c);
}

static void test_head(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct resp r;
	char v[64];

	(void)state;
	cli_sends(c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, true), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Length", v, sizeof(v)),
			    "6");
	cli_sends(c, "HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, true), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(strtol(resp_header(&r, "Content-Length", v, sizeof(v)),
				NULL, 10),
			 FILE_SIZE);
	/* No body bytes were sent: the next reply parses cleanly. */
	get_ok(c, "/hello", "hello\n");
	assert_int_equal(c->len, 0);
	cli_close(c);
}

static void test_path_and_query(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct resp r;

	(void)state;
	get_ok(c, "/echo/a%20b%2Fc?x=1&name=x%2By+z&other",
	       "path=/echo/a b/c\nname=x+y z\n");
	get_ok(c, "/echo?name=", "path=/echo\nname=\n");
	get_ok(c, "/echo?namex=1&name", "path=/echo\nname=\n");
	cli_sends(c, "GET /a%00b HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_true(cli_closed_within(c, 2000));
	cli_close(c);

	c = cli_open(main_srv.port);
	cli_sends(c, "GET /a%zz HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	cli_close(c);

	c = cli_open(main_srv.port);
	cli_sends(c, "BREW /pot HTCPCP/1.0\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	cli_close(c);
}

static void send_pattern(struct cli *c, size_t total, size_t piece)
{
	static char chunk[65536];
	size_t n;

	while (total) {
		n = total < piece ? total : piece;
		if (n > sizeof(chunk))
			n = sizeof(chunk);
		cli_send(c, chunk, n);
		total -= n;
	}
}

static long vm_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* An upload handler's 201: what it counted. */
static void upload_result(struct cli *c, size_t *bytes, size_t *pieces,
			  size_t *max)
{
	struct resp r;

	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(sscanf(r.body, "bytes=%zu pieces=%zu max=%zu", bytes,
				pieces, max),
			 3);
	resp_free(&r);
}

static void upload(struct cli *c, size_t total, size_t *pieces, size_t *max)
{
	size_t bytes;

	cli_printf(c,
		   "PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n"
		   "\r\n",
		   total);
	send_pattern(c, total, 65536);
	upload_result(c, &bytes, pieces, max);
	assert_int_equal(bytes, total);
}

static void test_body_streamed(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	size_t pieces, max;
	long before, after;

	(void)state;
	upload(c, 8 * MIB, &pieces, &max);
	assert_true(pieces > 8);
	assert_true(max <= 1 * MIB);
	/* An empty body still ends. */
	upload(c, 0, &pieces, &max);
	assert_int_equal(pieces, 0);
	/* A big one does not grow the process: bodies are not buffered. */
	before = vm_hwm_kb();
	upload(c, 192 * MIB, &pieces, &max);
	after = vm_hwm_kb();
#if !defined(__SANITIZE_ADDRESS__)
	assert_true(after - before < 32 * 1024);
#else
	(void)after;
	(void)before;
#endif
	get_ok(c, "/hello", "hello\n");
	cli_close(c);
}

/* A handler that pauses the body after every piece (its disk is slow)
 * gets all of it, the message's end too, and the request pipelined
 * behind it is served. */
static void test_body_paused(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	size_t bytes, pieces, max, total = 2 * MIB;
	struct resp r;

	(void)state;
	cli_printf(c,
		   "PUT /pause-upload HTTP/1.1\r\nHost: t\r\n"
		   "Content-Length: %zu\r\n\r\n",
		   total);
	send_pattern(c, total, 65536);
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	upload_result(c, &bytes, &pieces, &max);
	assert_int_equal(bytes, total);
	assert_true(pieces > 1);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello\n");
	resp_free(&r);
	cli_close(c);
}

static void send_patterned(struct cli *c, size_t total)
{
	static char chunk[65536];
	size_t n, off = 0;

	while (off < total) {
		n = total - off < sizeof(chunk) ? total - off : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern_byte(off + i);
		cli_send(c, chunk, n);
		off += n;
	}
}

static void own_result(struct cli *c, size_t *bytes, size_t *inplace,
		       size_t *bad)
{
	struct resp r;
	size_t copied;

	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(sscanf(r.body,
				"bytes=%zu inplace=%zu copied=%zu bad=%zu",
				bytes, inplace, &copied, bad),
			 4);
	resp_free(&r);
}

/* A handler that offers its own buffer gets a Content-Length body read
 * straight into it, every byte right, and the request pipelined behind
 * it is served; a chunked body comes through the server's buffer. */
static void test_body_own_buffer(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	size_t bytes, inplace, bad, total = 4 * MIB + 12345;
	struct resp r;

	(void)state;
	cli_printf(c,
		   "PUT /own-upload HTTP/1.1\r\nHost: t\r\n"
		   "Content-Length: %zu\r\n\r\n",
		   total);
	send_patterned(c, total);
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	own_result(c, &bytes, &inplace, &bad);
	assert_int_equal(bytes, total);
	assert_int_equal(bad, 0);
	assert_true(inplace > 0);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello\n");
	resp_free(&r);
	cli_sends(c, "PUT /own-upload HTTP/1.1\r\nHost: t\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n10000\r\n");
	send_patterned(c, 65536);
	cli_sends(c, "\r\n0\r\n\r\n");
	own_result(c, &bytes, &inplace, &bad);
	assert_int_equal(bytes, 65536);
	assert_int_equal(bad, 0);
	assert_int_equal(inplace, 0);
	cli_close(c);
}

static void test_body_chunked(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	static char big[40000];
	struct resp r;
	size_t bytes, pieces, max;
	int closed;

	(void)state;
	cli_sends(c, "PUT /upload HTTP/1.1\r\nHost: t\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
	cli_printf(c, "%x\r\n", (unsigned)sizeof(big));
	cli_send(c, big, sizeof(big));
	cli_sends(c, "\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 201);
	assert_int_equal(sscanf(r.body, "bytes=%zu pieces=%zu max=%zu", &bytes,
				&pieces, &max),
			 3);
	assert_int_equal(bytes, 5 + sizeof(big) + 3);
	resp_free(&r);
	get_ok(c, "/hello", "hello\n");
	/* A broken chunk size is a 400 and the handler is told. */
	closed = atomic_load(&upload_closed);
	cli_sends(c, "PUT /upload HTTP/1.1\r\nHost: t\r\n"
		     "Transfer-Encoding: chunked\r\n\r\nzz\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 400);
	resp_free(&r);
	assert_int_equal(atomic_load(&upload_closed), closed + 1);
	cli_close(c);
}

static void test_expect_continue(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct resp r;
	char v[64];

	(void)state;
	cli_sends(c, "PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n"
		     "Expect: 100-continue\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 100);
	cli_sends(c, "0123456789");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 201);
	assert_non_null(strstr(r.body, "bytes=10 "));
	resp_free(&r);
	/* A handler that refuses without asking: no 100, reply, close. */
	cli_sends(c, "PUT /early HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n"
		     "Expect: 100-continue\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 413);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "close");
	resp_free(&r);
	assert_true(cli_closed_within(c, 3000));
	cli_close(c);
}

static void test_header_limits(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct resp r;
	char *big;
	int i;

	(void)state;
	big = malloc(70 * 1024);
	memset(big, 'a', 70 * 1024);
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
	/* The server answers once over the cap and drops the rest. */
	cli_try_send(c, big, 70 * 1024);
	cli_try_send(c, "\r\n\r\n", 4);
	free(big);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 431);
	resp_free(&r);
	assert_true(cli_closed_within(c, 3000));
	cli_close(c);

	c = cli_open(main_srv.port);
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 100; i++)
		cli_printf(c, "X-H%d: v\r\n", i);
	cli_sends(c, "\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 431);
	resp_free(&r);
	cli_close(c);

	/* 99 headers + Host are fine. */
	c = cli_open(main_srv.port);
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n");
	for (i = 0; i < 99; i++)
		cli_printf(c, "X-H%d: v\r\n", i);
	cli_sends(c, "\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	cli_close(c);
}

static void check_range(struct cli *c, const char *range, int status,
			size_t off, size_t len, const char *crange)
{
	struct resp r;
	char v[96];

	cli_printf(c, "GET /file HTTP/1.1\r\nHost: t\r\nRange: %s\r\n\r\n",
		   range);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, status);
	if (crange)
		assert_string_equal(
			resp_header(&r, "Content-Range", v, sizeof(v)), crange);
	if (status != 416) {
		assert_int_equal(r.blen, len);
		assert_true(file_matches(r.body, off, len));
	}
	resp_free(&r);
}

static void test_file_reply(int port)
{
	struct cli *c = cli_open(port);
	char cr[64];

	check_range(c, "none=1", 200, 0, FILE_SIZE, NULL);
	check_range(c, "bytes=1000-1999", 206, 1000, 1000,
		    "bytes 1000-1999/1048699");
	check_range(c, "bytes=-100", 206, FILE_SIZE - 100, 100,
		    "bytes 1048599-1048698/1048699");
	check_range(c, "bytes=1048000-", 206, 1048000, FILE_SIZE - 1048000,
		    "bytes 1048000-1048698/1048699");
	snprintf(cr, sizeof(cr), "bytes */%d", FILE_SIZE);
	check_range(c, "bytes=2000000-", 416, 0, 0, cr);
	check_range(c, "bytes=0-1,4-5", 200, 0, FILE_SIZE, NULL);
	check_range(c, "bytes=oops", 200, 0, FILE_SIZE, NULL);
	cli_close(c);
}

static void test_file_sendfile(void **state)
{
	(void)state;
	test_file_reply(main_srv.port);
}

static void test_early_reply(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct cli *other = cli_open(main_srv.port);
	struct resp r;
	char v[64];

	(void)state;
	/* Refused at the headers while 8 MiB are on their way. */
	cli_printf(c,
		   "PUT /early HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
		   "\r\n",
		   8 * MIB);
	get_ok(other, "/hello", "hello\n");
	send_pattern(c, 8 * MIB, 65536);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 413);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "close");
	resp_free(&r);
	assert_true(cli_closed_within(c, 3000));
	cli_close(c);
	get_ok(other, "/hello", "hello\n");

	/* Refused after the first piece of a streamed body. */
	c = cli_open(main_srv.port);
	cli_printf(c,
		   "PUT /stopmid HTTP/1.1\r\nHost: t\r\n"
		   "Content-Length: %d\r\n\r\n",
		   4 * MIB);
	cli_try_send(c, "x", 1);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 400);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "close");
	resp_free(&r);
	assert_true(cli_closed_within(c, 3000));
	cli_close(c);

	/* A small body is read and dropped: the connection stays. */
	c = cli_open(main_srv.port);
	cli_sends(c, "PUT /early HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n"
		     "\r\n");
	send_pattern(c, 100, 100);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 413);
	assert_null(resp_header(&r, "Connection", v, sizeof(v)));
	resp_free(&r);
	get_ok(c, "/hello", "hello\n");
	cli_close(c);
	get_ok(other, "/hello", "hello\n");
	cli_close(other);
}

static bool wait_count(atomic_int *n, int want, int ms)
{
	double until = now_s() + ms / 1000.0;

	while (atomic_load(n) < want && now_s() < until)
		sleep_ms(10);
	return atomic_load(n) >= want;
}

/* A Transfer-Encoding that does not end in chunked: 400 and close, and
 * the handler never runs (RFC 9112 6.3). */
static void test_bad_transfer_encoding(void **state)
{
	static const char *const te[] = {"gzip", "chunked, gzip", "identity",
					 "gzip, chunked, gzip"};
	int before = atomic_load(&count_runs);
	struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(te) / sizeof(te[0]); i++) {
		struct cli *c = cli_open(main_srv.port);

		cli_printf(c,
			   "DELETE /count HTTP/1.1\r\nHost: t\r\n"
			   "Transfer-Encoding: %s\r\n\r\n5\r\nhello\r\n0\r\n"
			   "\r\n",
			   te[i]);
		assert_int_equal(cli_response(c, &r, false), 0);
		assert_int_equal(r.status, 400);
		resp_free(&r);
		assert_true(cli_closed_within(c, 3000));
		cli_close(c);
	}
	assert_int_equal(atomic_load(&count_runs), before);
	/* chunked last is fine. */
	{
		struct cli *c = cli_open(main_srv.port);

		cli_sends(c, "DELETE /count HTTP/1.1\r\nHost: t\r\n"
			     "Transfer-Encoding: gzip, chunked\r\n\r\n"
			     "0\r\n\r\n");
		assert_int_equal(cli_response(c, &r, false), 0);
		assert_int_equal(r.status, 202);
		resp_free(&r);
		cli_close(c);
	}
	assert_int_equal(atomic_load(&count_runs), before + 1);
}

/* HTTP/1.1 needs exactly one Host; HTTP/1.0 may go without. */
static void test_host_required(void **state)
{
	static const char *const bad[] = {
		"DELETE /count HTTP/1.1\r\n\r\n",
		"DELETE /count HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"DELETE /count HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
	};
	int before = atomic_load(&count_runs);
	struct cli *c;
	struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = cli_open(main_srv.port);
		cli_sends(c, bad[i]);
		assert_int_equal(cli_response(c, &r, false), 0);
		assert_int_equal(r.status, 400);
		resp_free(&r);
		assert_true(cli_closed_within(c, 3000));
		cli_close(c);
	}
	assert_int_equal(atomic_load(&count_runs), before);
	c = cli_open(main_srv.port);
	cli_sends(c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	cli_close(c);
}

/* Pipelined requests, then a half-close: every complete request gets its
 * reply (a deferred one and one with a body too), then the connection
 * closes; an incomplete last one is dropped. */
static void test_pipeline_half_close(void **state)
{
	static const char *const paths[] = {"/hello",  "/defer", "/file",
					    "/upload", "/slow",	 "/hello"};
	struct cli *c;
	struct resp r;
	size_t i;
	int round;

	(void)state;
	for (round = 0; round < 2; round++) {
		c = cli_open(main_srv.port);
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			if (!strcmp(paths[i], "/upload"))
				cli_sends(c,
					  "PUT /upload HTTP/1.1\r\nHost: t"
					  "\r\nContent-Length: 3\r\n\r\nabc");
			else
				cli_printf(c,
					   "GET %s HTTP/1.1\r\nHost: t\r\n"
					   "\r\n",
					   paths[i]);
		}
		if (round == 1)
			cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n");
		shutdown(c->fd, SHUT_WR);
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			assert_int_equal(cli_response(c, &r, false), 0);
			if (!strcmp(paths[i], "/upload")) {
				assert_int_equal(r.status, 201);
				assert_string_equal(r.body,
						    "bytes=3 pieces=1 max=3");
			} else {
				assert_int_equal(r.status, 200);
			}
			if (!strcmp(paths[i], "/defer"))
				assert_string_equal(r.body, "deferred ok");
			if (!strcmp(paths[i], "/file"))
				assert_int_equal(r.blen, FILE_SIZE);
			resp_free(&r);
		}
		assert_true(cli_closed_within(c, 3000));
		cli_close(c);
	}
}

static void test_client_gone_mid_body(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	int before = atomic_load(&track_closed);

	(void)state;
	cli_sends(c, "PUT /track HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576"
		     "\r\n\r\n");
	send_pattern(c, 200000, 65536);
	sleep_ms(50);
	cli_close(c);
	assert_true(wait_count(&track_closed, before + 1, 3000));
}

/* Attached state goes exactly once: after a reply sent at once, after one
 * sent from a defer, and when the client leaves while a reply is deferred
 * (whose deferred call then never comes); detached state not at all. */
static void test_attach(void **state)
{
	struct cli *c = cli_open(main_srv.port), *gone;
	int ok = atomic_load(&attach_ok), left = atomic_load(&attach_gone);
	int late = atomic_load(&attach_late);
	struct linger lg = {1, 0};

	(void)state;
	get_ok(c, "/attach?detach=1", "detached\n");
	get_ok(c, "/attach", "now\n");
	assert_true(wait_count(&attach_ok, ok + 1, 3000));
	get_ok(c, "/attach?ms=20", "late\n");
	assert_true(wait_count(&attach_ok, ok + 2, 3000));
	assert_int_equal(atomic_load(&attach_late), late + 1);
	/* A reset, not a half-close (which still gets its reply). */
	gone = cli_open(main_srv.port);
	cli_sends(gone, "GET /attach?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(50);
	assert_int_equal(
		setsockopt(gone->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
		0);
	cli_close(gone);
	assert_true(wait_count(&attach_gone, left + 1, 3000));
	sleep_ms(400); /* past the thread's wake-up */
	assert_int_equal(atomic_load(&attach_late), late + 1);
	assert_int_equal(atomic_load(&attach_ok), ok + 2);
	assert_int_equal(atomic_load(&attach_gone), left + 1);
	get_ok(c, "/hello", "hello\n");
	cli_close(c);
}

static void test_defer(void **state)
{
	struct cli *c = cli_open(main_srv.port);

	(void)state;
	get_ok(c, "/defer", "deferred ok");
	get_ok(c, "/defer", "deferred ok");
	cli_close(c);
}

/* Calls from other threads run on the request's loop thread, all of
 * them; once the loops have stopped, in http_server_free(). */
static void test_worker_call(void **state)
{
	struct http_config cfg = {0};
	struct tsrv t = {0};
	struct http_call late = {.fn = late_fn};
	struct cli *c;

	(void)state;
	c = cli_open(main_srv.port);
	get_ok(c, "/call", "ran 600 wrong 0");
	get_ok(c, "/call", "ran 600 wrong 0");
	cli_close(c);

	cfg.threads = 1;
	assert_int_equal(tsrv_start(&t, &cfg), 0);
	c = cli_open(t.port);
	get_ok(c, "/call", "ran 600 wrong 0");
	cli_close(c);
	http_server_stop(t.srv);
	pthread_join(t.thread, NULL);
	t.running = false;
	/* No loop runs it now: it waits for the server's end. */
	http_worker_call(call_worker, &late);
	sleep_ms(50);
	assert_int_equal(atomic_load(&late_ran), 0);
	tsrv_stop(&t);
	assert_int_equal(atomic_load(&late_ran), 1);
}

/* The body asked for after a defer (an auth check off the loop): with a
 * body, with an empty one, and with none at all. */
static void test_defer_body(void **state)
{
	static const struct {
		const char *req, *want;
	} cases[] = {
		{"PUT /defer-upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3"
		 "\r\n\r\nabc",
		 "bytes=3 pieces=1 max=3"},
		{"PUT /defer-upload HTTP/1.1\r\nHost: t\r\nContent-Length: 0"
		 "\r\n\r\n",
		 "bytes=0 pieces=0 max=0"},
		{"GET /defer-upload HTTP/1.1\r\nHost: t\r\n\r\n",
		 "bytes=0 pieces=0 max=0"},
		{"PUT /defer-upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue"
		 "\r\nContent-Length: 3\r\n\r\n",
		 "bytes=3 pieces=1 max=3"},
	};
	struct cli *c = cli_open(main_srv.port);
	struct resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cli_sends(c, cases[i].req);
		if (strstr(cases[i].req, "100-continue")) {
			assert_int_equal(cli_response(c, &r, false), 0);
			assert_int_equal(r.status, 100);
			resp_free(&r);
			cli_sends(c, "abc");
		}
		assert_int_equal(cli_response(c, &r, false), 0);
		assert_int_equal(r.status, 201);
		assert_string_equal(r.body, cases[i].want);
		resp_free(&r);
	}
	get_ok(c, "/hello", "hello\n");
	cli_close(c);
}

static void test_timeouts(void **state)
{
	struct cli *quiet = cli_open(small_srv.port);
	struct cli *partial = cli_open(small_srv.port);
	struct cli *idle = cli_open(small_srv.port);
	struct cli *slow;
	double t0 = now_s(), dt;
	struct resp r;
	int i;

	(void)state;
	cli_sends(partial, "GET /hello HTTP/1.1\r\nHost: t\r\n");
	get_ok(idle, "/hello", "hello\n");
	assert_int_equal(cli_response(partial, &r, false), 0);
	dt = now_s() - t0;
	assert_int_equal(r.status, 408);
	resp_free(&r);
	assert_true(dt > 0.7 && dt < 3.0);
	assert_true(cli_closed_within(partial, 2000));
	assert_true(cli_closed_within(quiet, 2000));
	assert_true(cli_closed_within(idle, 2000));
	assert_true(now_s() - t0 < 3.5);
	cli_close(quiet);
	cli_close(partial);
	cli_close(idle);

	/* Trickling header bytes does not reset the header timeout. */
	slow = cli_open(small_srv.port);
	t0 = now_s();
	cli_sends(slow, "GET /hello HTTP/1.1\r\n");
	for (i = 0; i < 20; i++) {
		struct pollfd p = {slow->fd, POLLIN, 0};

		sleep_ms(150);
		if (cli_try_send(slow, "X: y\r\n", 6) < 0 || poll(&p, 1, 0) > 0)
			break;
	}
	assert_int_equal(cli_response(slow, &r, false), 0);
	assert_int_equal(r.status, 408);
	resp_free(&r);
	assert_true(now_s() - t0 < 2.5);
	cli_close(slow);
}

/* A connection that got a 200 for /hello, retried for up to 3 s while the
 * server answers 503 (at its connection cap); NULL if it never does. */
static struct cli *cli_open_served(int port)
{
	double until = now_s() + 3;
	struct cli *c;
	struct resp r;
	int status;

	do {
		c = cli_open(port);
		cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
		assert_int_equal(cli_response(c, &r, false), 0);
		status = r.status;
		resp_free(&r);
		if (status == 200)
			return c;
		cli_close(c);
		sleep_ms(20);
	} while (now_s() < until);
	return NULL;
}

static void test_conn_cap(void **state)
{
	struct cli *a = cli_open(cap_srv.port);
	struct cli *b = cli_open(cap_srv.port);
	struct cli *c;
	struct resp r;
	char v[64];

	(void)state;
	get_ok(a, "/hello", "hello\n");
	get_ok(b, "/hello", "hello\n");
	c = cli_open(cap_srv.port);
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "close");
	resp_free(&r);
	assert_true(cli_closed_within(c, 3000));
	cli_close(c);
	get_ok(a, "/hello", "hello\n");

	/* Below the cap again once one leaves. */
	cli_close(b);
	c = cli_open_served(cap_srv.port);
	assert_non_null(c);
	cli_close(c);
	cli_close(a);
}

/* Runs in a group of its own, before any other server thread exists: the
 * log level is a plain global, changed here only while no thread reads it. */
/* Clients that leave in every way (mid-request, after pipelining, while
 * the reply is being written) give their connection slot back. */
static void test_abandoned_conns_released(void **state)
{
	static const char *const sends[] = {
		("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
		 "GET /file HTTP/1.1\r\nHost: t\r\n\r\n"
		 "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"),
		"PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: "
		"5\r\n\r\nab",
		"GET /hel",
		("\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
		 "GET /file HTTP/1.1\r\nHost: t\r\n\r\n"),
		("PUT /early HTTP/1.1\r\nHost: t\r\n"
		 "Content-Length: 100000\r\n\r\nxx"),
	};
	struct cli *a, *b;
	size_t i;

	(void)state;
	for (i = 0; i < 60; i++) {
		struct cli *c = cli_open(cap_srv.port);

		cli_try_send(c, sends[i % 5], strlen(sends[i % 5]));
		if (i % 2)
			shutdown(c->fd, SHUT_WR);
		cli_close(c);
	}
	/* Half-close then close while several MiB of replies are queued: the
	 * end of input and the failed write reach the server together. */
	for (i = 0; i < 10; i++) {
		struct cli *c = cli_open(cap_srv.port);
		int k;

		for (k = 0; k < 8; k++)
			cli_sends(c, "GET /file HTTP/1.1\r\nHost: t\r\n\r\n");
		sleep_ms(20);
		shutdown(c->fd, SHUT_WR);
		cli_close(c);
	}
	/* Both slots free again (a leak would answer 503 for good). */
	a = cli_open_served(cap_srv.port);
	b = cli_open_served(cap_srv.port);
	assert_non_null(a);
	assert_non_null(b);
	cli_close(a);
	cli_close(b);
}

/* GET /echo/x with the extra header lines; the reply's X-Request-Id. */
static void reply_id(struct cli *c, const char *extra, char *out, size_t cap)
{
	struct resp r;
	char msg[256];

	snprintf(msg, sizeof(msg), "GET /echo/x HTTP/1.1\r\nHost: t\r\n%s\r\n",
		 extra);
	cli_sends(c, msg);
	assert_int_equal(cli_response(c, &r, false), 0);
	assert_non_null(resp_header(&r, "X-Request-Id", out, cap));
	resp_free(&r);
}

static void test_access_log(void **state)
{
	char path[] = "/tmp/test_http_log.XXXXXX", *text, rid[64], v[64];
	struct http_config cfg;
	struct tsrv t = {0};
	struct resp r;
	struct cli *c;
	int saved, fd;
	ssize_t n;
	bool found = false;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	log_set_level(LL_INFO);
	memset(&cfg, 0, sizeof(cfg));
	cfg.threads = 1;
	assert_int_equal(tsrv_start(&t, &cfg), 0);

	c = cli_open(t.port);
	cli_sends(c,
		  "GET /echo/log%0Aline?token=SECRET1 HTTP/1.1\r\nHost: t\r\n"
		  "Authorization: Bearer SECRET2\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	resp_free(&r);
	/* Ours: 16 hex digits; the client's, kept; a hostile one, replaced. */
	reply_id(c, "", rid, sizeof(rid));
	assert_int_equal(strspn(rid, "0123456789abcdef"), 16);
	assert_int_equal(strlen(rid), 16);
	reply_id(c, "X-Request-Id: abc-123\r\n", v, sizeof(v));
	assert_string_equal(v, "abc-123");
	reply_id(c, "X-Request-Id: a\tb c\r\n", v, sizeof(v));
	assert_int_equal(strspn(v, "0123456789abcdef"), 16);
	assert_string_not_equal(v, rid);
	cli_close(c);
	tsrv_stop(&t); /* the line is written by then */

	log_set_level(LL_WARN);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text = calloc(1, 65536);
	n = pread(fd, text, 65535, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	found = strstr(text, " GET /echo/log%0Aline 200 ") != NULL;
	if (!found)
		fprintf(stderr, "log was:\n%s", text);
	assert_true(found);
	assert_non_null(strstr(text, "listening on 127.0.0.1:"));
	assert_null(strstr(text, "SECRET"));
	assert_non_null(strstr(text, " 127.0.0.1 request_id="));
	assert_non_null(strstr(text, " GET /echo/x 200 "));
	assert_non_null(strstr(text, " request_id=abc-123\n"));
	assert_null(strstr(text, "a\tb"));
	free(text);
}

/* TLS, through libcurl. */

struct membuf {
	char *data;
	size_t len;
};

static size_t mem_write(char *p, size_t size, size_t n, void *arg)
{
	struct membuf *m = arg;
	size_t len = size * n;

	m->data = realloc(m->data, m->len + len + 1);
	memcpy(m->data + m->len, p, len);
	m->len += len;
	m->data[m->len] = '\0';
	return len;
}

static size_t upload_left;

static size_t mem_read(char *p, size_t size, size_t n, void *arg)
{
	size_t len = size * n;

	(void)arg;
	if (len > upload_left)
		len = upload_left;
	memset(p, 'u', len);
	upload_left -= len;
	return len;
}

static long tls_request(const char *path, const char *cert, size_t put,
			struct membuf *out)
{
	char url[128], f[128];
	CURL *h = curl_easy_init();
	long code = -1;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", tls_srv.port,
		 path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	snprintf(f, sizeof(f), "%s/srv.crt", tmpdir);
	curl_easy_setopt(h, CURLOPT_CAINFO, f);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mem_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (cert) {
		snprintf(f, sizeof(f), "%s/%s.crt", tmpdir, cert);
		curl_easy_setopt(h, CURLOPT_SSLCERT, f);
		snprintf(f, sizeof(f), "%s/%s.key", tmpdir, cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, f);
	}
	if (put) {
		upload_left = put;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, mem_read);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)put);
	}
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

static void membuf_reset(struct membuf *m)
{
	free(m->data);
	m->data = NULL;
	m->len = 0;
}

static void test_tls(void **state)
{
	struct membuf m = {NULL, 0};
	struct cli *c;

	(void)state;
	if (!have_tls)
		skip();
	assert_int_equal(tls_request("/cn", NULL, 0, &m), 200);
	assert_string_equal(m.data, "tls=1 cn=(none)");
	membuf_reset(&m);
	assert_int_equal(tls_request("/cn", "cli", 0, &m), 200);
	assert_string_equal(m.data, "tls=1 cn=client1");
	membuf_reset(&m);
	assert_int_equal(tls_request("/upload", "cli", 3 * MIB + 5, &m), 201);
	assert_non_null(strstr(m.data, "bytes=3145733 "));
	membuf_reset(&m);
	/* Files go out in pieces read as the output drains. */
	assert_int_equal(tls_request("/file", NULL, 0, &m), 200);
	assert_int_equal(m.len, FILE_SIZE);
	assert_true(file_matches(m.data, 0, FILE_SIZE));
	membuf_reset(&m);
	/* A client certificate the CA did not sign fails the handshake. */
	assert_int_equal(tls_request("/cn", "srv", 0, &m), -1);
	membuf_reset(&m);
	/* Plain HTTP to the TLS port gets nowhere, and breaks nothing. */
	c = cli_open(tls_srv.port);
	cli_sends(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(cli_closed_within(c, 3000));
	cli_close(c);
	assert_int_equal(tls_request("/cn", NULL, 0, &m), 200);
	membuf_reset(&m);
}

static int count_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n = fd + 1;
	return n;
}

/* Out of descriptors, the server pauses accepting for a second (tmux)
 * instead of spinning, then picks the waiting connections up. */
static void test_emfile_backoff(void **state)
{
	struct sockaddr_in sa;
	struct rlimit old, low;
	struct resp r;
	struct cli *c[2];
	static int fill[4096];
	int i, nfill = 0;
	double t0;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)small_srv.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 2; i++) {
		c[i] = calloc(1, sizeof(*c[i]));
		c[i]->fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(c[i]->fd >= 0);
	}
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)count_fds();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Fill the holes below the limit too. */
	while (nfill < 4096 && (fill[nfill] = dup(0)) >= 0)
		nfill++;
	assert_int_equal(errno, EMFILE);
	t0 = now_s();
	for (i = 0; i < 2; i++) {
		assert_int_equal(
			connect(c[i]->fd, (struct sockaddr *)&sa, sizeof(sa)),
			0);
		cli_sends(c[i], "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	}
	sleep_ms(300);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	while (nfill > 0)
		close(fill[--nfill]);
	for (i = 0; i < 2; i++) {
		assert_int_equal(cli_response(c[i], &r, false), 0);
		assert_int_equal(r.status, 200);
		resp_free(&r);
		cli_close(c[i]);
	}
	assert_true(now_s() - t0 > 0.6);
	assert_true(now_s() - t0 < 3);
}

static void test_stop(void **state)
{
	struct cli *slow = cli_open(main_srv.port);
	struct cli *hang = cli_open(main_srv.port);
	struct cli *idle = cli_open(main_srv.port);
	struct resp r;
	char v[64];
	double t0;

	(void)state;
	get_ok(idle, "/hello", "hello\n");
	cli_sends(hang, "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n");
	cli_sends(slow, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(50);
	t0 = now_s();
	http_server_stop(main_srv.srv);
	/* Idle connections go at once; the in-flight reply still comes. */
	assert_true(cli_closed_within(idle, 1000));
	assert_int_equal(cli_response(slow, &r, false), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Connection", v, sizeof(v)),
			    "close");
	resp_free(&r);
	/* The one that never answers is cut after the grace period. */
	pthread_join(main_srv.thread, NULL);
	main_srv.running = false;
	assert_true(now_s() - t0 < 8);
	assert_int_equal(atomic_load(&hang_closed), 1);
	assert_true(cli_closed_within(hang, 1000));
	cli_close(slow);
	cli_close(hang);
	cli_close(idle);
}

static void test_bad_config(void **state)
{
	struct http_config cfg;
	struct err e = ERR_INIT;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "nonsense";
	assert_null(http_server_new(&cfg, dispatch, NULL, &e));
	assert_true(e.msg[0]);
	err_clear(&e);
	cfg.listen = "127.0.0.1:0";
	cfg.tls_cert = "/nonexistent/cert.pem";
	cfg.tls_key = "/nonexistent/key.pem";
	assert_null(http_server_new(&cfg, dispatch, NULL, &e));
	assert_non_null(strstr(e.msg, "tls"));
}

static void test_listen_forms(void **state)
{
	struct http_config cfg;
	struct http_server *srv;
	struct err e = ERR_INIT;
	char pf[160], line[32];
	FILE *f;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.threads = 1;
	cfg.listen = ":0";
	snprintf(pf, sizeof(pf), "%s/port", tmpdir);
	cfg.port_file = pf;
	srv = http_server_new(&cfg, dispatch, NULL, &e);
	assert_non_null(srv);
	assert_true(http_server_port(srv) > 0);
	f = fopen(pf, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strtol(line, NULL, 10), http_server_port(srv));
	http_server_free(srv);

	cfg.listen = "[::1]:0";
	cfg.port_file = NULL;
	srv = http_server_new(&cfg, dispatch, NULL, &e);
	if (!srv && strstr(e.msg, "listen"))
		return; /* no IPv6 loopback here */
	assert_non_null(srv);
	http_server_free(srv);
}

static void check_stream_body(const struct resp *r, size_t n)
{
	assert_int_equal(r->status, 200);
	assert_int_equal(r->blen, n);
	for (size_t i = 0; i < n; i++)
		if (r->body[i] != stream_byte(i))
			fail_msg("byte %zu differs", i);
}

static void test_stream(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	struct resp r;
	char v[64];

	(void)state;
	/* Driven by the drains, then by a timer; the connection lives on. */
	cli_sends(c, "GET /stream?n=3000000 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	check_stream_body(&r, 3000000);
	resp_free(&r);
	cli_sends(c, "GET /stream-timer?n=500001 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), 0);
	check_stream_body(&r, 500001);
	resp_free(&r);
	get_ok(c, "/hello", "hello\n");
	/* HEAD: the length, no body. */
	cli_sends(c, "HEAD /stream?n=1234 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, true), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(resp_header(&r, "Content-Length", v, sizeof(v)),
			    "1234");
	get_ok(c, "/hello", "hello\n");
	assert_int_equal(c->len, 0);
	cli_close(c);
}

static void test_stream_abort(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	int before = atomic_load(&stream_closed);
	struct resp r;

	(void)state;
	/* Cut half-way: a short body, then the connection closes, and the
	 * handler's state goes as for a reply that never went out whole. */
	cli_sends(c, "GET /stream-abort?n=1000000 HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_response(c, &r, false), -1);
	resp_free(&r);
	cli_close(c);
	assert_true(wait_count(&stream_closed, before + 1, 3000));
	sleep_ms(50);
	assert_int_equal(atomic_load(&stream_closed), before + 1);
}

static void test_stream_client_gone(void **state)
{
	struct cli *c = cli_open(main_srv.port);
	int before = atomic_load(&stream_closed);

	(void)state;
	/* 1 GiB at a piece per millisecond: the client leaves long before
	 * the end, and the handler hears of it. */
	cli_sends(c, "GET /stream-timer?n=1073741824 HTTP/1.1\r\nHost: t"
		     "\r\n\r\n");
	assert_true(cli_fill(c) > 0);
	cli_close(c);
	assert_true(wait_count(&stream_closed, before + 1, 3000));
}

/* X-Request-Id values we keep; the rest are replaced by one of ours. */
static void test_request_id_ok(void **state)
{
	char id[LOG_REQUEST_ID_MAX + 2];

	(void)state;
	assert_true(http_request_id_ok("abc-123"));
	assert_true(http_request_id_ok("0f1e2d3c-aaaa-4bbb-8ccc-0123456789ab"));
	assert_true(http_request_id_ok("a:b/c=d+e_f.g~h\"i"));
	memset(id, 'x', LOG_REQUEST_ID_MAX);
	id[LOG_REQUEST_ID_MAX] = '\0';
	assert_true(http_request_id_ok(id));
	id[LOG_REQUEST_ID_MAX] = 'x';
	id[LOG_REQUEST_ID_MAX + 1] = '\0';
	assert_false(http_request_id_ok(id)); /* 129 bytes */
	assert_false(http_request_id_ok(NULL));
	assert_false(http_request_id_ok(""));
	assert_false(http_request_id_ok("a b"));
	assert_false(http_request_id_ok("a\tb"));
	assert_false(http_request_id_ok("a\nb"));
	assert_false(http_request_id_ok("a\x1b[31m"));
	assert_false(http_request_id_ok("del\x7f"));
	assert_false(http_request_id_ok("caf\xc3\xa9"));
	assert_false(http_request_id_ok("\xff"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_parse),
		cmocka_unit_test(test_ranges_parse),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_keepalive_get),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_path_and_query),
		cmocka_unit_test(test_body_streamed),
		cmocka_unit_test(test_body_chunked),
		cmocka_unit_test(test_body_own_buffer),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_file_sendfile),
		cmocka_unit_test(test_early_reply),
		cmocka_unit_test(test_client_gone_mid_body),
		cmocka_unit_test(test_bad_transfer_encoding),
		cmocka_unit_test(test_host_required),
		cmocka_unit_test(test_pipeline_half_close),
		cmocka_unit_test(test_defer),
		cmocka_unit_test(test_worker_call),
		cmocka_unit_test(test_attach),
		cmocka_unit_test(test_defer_body),
		cmocka_unit_test(test_body_paused),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_abort),
		cmocka_unit_test(test_stream_client_gone),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_conn_cap),
		cmocka_unit_test(test_abandoned_conns_released),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_emfile_backoff),
		cmocka_unit_test(test_stop),
	};

	const struct CMUnitTest alone[] = {
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_request_id_ok),
	};
	int failed;

	failed = cmocka_run_group_tests_name("log", alone, NULL, NULL);
	failed += cmocka_run_group_tests_name("http", tests, group_setup,
					      group_teardown);
	return failed;
}
