/* http.c: the server's life: the listening socket, the accept loop on the
 * main event base, worker threads (one event base each) that own the
 * connections, http_req_defer()'s queue, TLS setup, and the stop sequence.
 * Connections themselves live in http_conn.c. */
#define _GNU_SOURCE /* accept4 */
#include "registry/http/http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/err.h>

#include "common/log.h"
#include "registry/metrics_int.h"
#include "common/xmalloc.h"
#include "common/banned.h"

#define ACCEPT_BATCH 64

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_libevent_log(int severity, const char *msg)
{
	enum log_level level = LL_DEBUG;

	if (severity == EVENT_LOG_WARN)
		level = LL_WARN;
	else if (severity == EVENT_LOG_ERR)
		level = LL_ERROR;
	else if (severity == EVENT_LOG_MSG)
		level = LL_INFO;
	log_msg(level, "libevent: %s", msg);
}

/* Process-wide setup, once: libevent locking (http_req_defer() wakes a
 * worker's base from another thread), its log routed to ours, and SIGPIPE
 * ignored, since writev and sendfile to a closed socket raise it. */
static void http_global_init(void)
{
	struct sigaction sa;

	evthread_use_pthreads();
	event_set_log_callback(http_libevent_log);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

static void config_defaults(struct http_config *cfg)
{
	long n;

	if (!cfg->listen)
		cfg->listen = ":5000";
	if (cfg->threads <= 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		cfg->threads = n > 0 ? (int)n : 1;
	}
	if (cfg->threads > 256)
		cfg->threads = 256;
	if (!cfg->max_header_bytes)
		cfg->max_header_bytes = 64 * 1024;
	if (cfg->max_headers <= 0)
		cfg->max_headers = 100;
	if (cfg->header_timeout_s <= 0)
		cfg->header_timeout_s = 30;
	if (cfg->idle_timeout_s <= 0)
		cfg->idle_timeout_s = 120;
	if (cfg->max_conns <= 0)
		cfg->max_conns = 4096;
}

int http_conns_for_fds(long fds)
{
	long n = (fds - HTTP_REJECT_SLACK) / 2;

	if (n < 1)
		return 0;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

static char *xstrdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void copy_config(struct http_server *srv, const struct http_config *in)
{
	srv->cfg = *in;
	config_defaults(&srv->cfg);
	srv->cfg.listen = srv->listen = xstrdup(srv->cfg.listen);
	srv->cfg.tls_cert = srv->tls_cert = xstrdup_or_null(in->tls_cert);
	srv->cfg.tls_key = srv->tls_key = xstrdup_or_null(in->tls_key);
	srv->cfg.tls_client_ca = srv->tls_client_ca =
		xstrdup_or_null(in->tls_client_ca);
	srv->cfg.port_file = srv->port_file = xstrdup_or_null(in->port_file);
}

/* "host:port", "[v6]:port" or ":port" into *host (NULL = any) and *port. */
static int parse_listen(const char *s, char **host, char **port)
{
	const char *colon, *end;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -1;
		*host = xstrndup(s + 1, (size_t)(end - s - 1));
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -1;
		*host = colon == s ? NULL : xstrndup(s, (size_t)(colon - s));
	}
	if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	*port = xstrdup(colon + 1);
	return 0;
}

static int open_listener(const char *host, const char *port, struct err *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, one = 1, gai, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai)
		return err_set(e, ERR_INVALID, "listen address %s: %s",
			       host ? host : "*", gai_strerror(gai));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 511))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_errno(e, ERR_IO, saved, "listen on %s:%s",
				 host ? host : "*", port);
	return fd;
}

/* "ip" of a socket address, numeric. */
static void addr_text(const struct sockaddr *sa, socklen_t len, char *out,
		      size_t cap)
{
	if (getnameinfo(sa, len, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST))
		snprintf(out, cap, "?");
}

static void log_listening(struct http_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 8];

	if (getsockname(srv->lfd, (struct sockaddr *)&ss, &len) < 0)
		return;
	addr_text((struct sockaddr *)&ss, len, host, sizeof(host));
	if (ss.ss_family == AF_INET6) {
		srv->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		log_msg(LL_INFO, "listening on [%s]:%d", host, srv->port);
	} else {
		srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		log_msg(LL_INFO, "listening on %s:%d", host, srv->port);
	}
}

static int bind_listener(struct http_server *srv, struct err *e)
{
	char *host = NULL, *port = NULL;
	int rc = -1;

	if (parse_listen(srv->cfg.listen, &host, &port) < 0) {
		err_set(e, ERR_INVALID, "bad listen address \"%s\"",
			srv->cfg.listen);
		goto out;
	}
	srv->lfd = open_listener(host, port, e);
	if (srv->lfd < 0)
		goto out;
	log_listening(srv);
	rc = 0;
out:
	free(host);
	free(port);
	return rc;
}

/* Written to a temporary name and renamed, so a reader never sees half. */
static int write_port_file(const struct http_server *srv, struct err *e)
{
	char *tmp = xasprintf("%s.tmp", srv->cfg.port_file);
	FILE *f = NULL;
	int rc = -1;

	f = fopen(tmp, "w");
	if (!f) {
		err_errno(e, ERR_IO, errno, "%s", tmp);
		goto out;
	}
	fprintf(f, "%d\n", srv->port);
	if (fclose(f)) {
		f = NULL;
		err_errno(e, ERR_IO, errno, "%s", tmp);
		goto out;
	}
	f = NULL;
	if (rename(tmp, srv->cfg.port_file) < 0) {
		err_errno(e, ERR_IO, errno, "%s", srv->cfg.port_file);
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	free(tmp);
	return rc;
}

static int tls_fail(struct err *e, const char *what, const char *file)
{
	char msg[256];
	unsigned long code = ERR_get_error();

	ERR_error_string_n(code, msg, sizeof(msg));
	ERR_clear_error();
	return err_set(e, ERR_INVALID, "tls: %s %s: %s", what, file ? file : "",
		       code ? msg : "failed");
}

static int tls_client_ca(SSL_CTX *ctx, const char *ca, struct err *e)
{
	struct stack_st_X509_NAME *names; /* STACK_OF(X509_NAME) */
	static const unsigned char sid[] = "customs";

	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return tls_fail(e, "client CA", ca);
	names = SSL_load_client_CA_file(ca);
	if (!names)
		return tls_fail(e, "client CA names", ca);
	SSL_CTX_set_client_CA_list(ctx, names);
	/* Ask for a certificate and verify any that is sent, but let a
	 * client without one in: the auth layer decides. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	return 0;
}

static SSL_CTX *tls_ctx_new(const struct http_config *cfg, struct err *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		tls_fail(e, "context", NULL);
		goto fail;
	}
	if (!cfg->tls_key) {
		err_set(e, ERR_INVALID, "tls: a certificate needs a key");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		tls_fail(e, "certificate", cfg->tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) !=
		    1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_fail(e, "key", cfg->tls_key);
		goto fail;
	}
	if (cfg->tls_client_ca && tls_client_ca(ctx, cfg->tls_client_ca, e))
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* Worker side. */

struct http_conn_list *http_worker_conns(struct http_worker *w)
{
	return &w->conns;
}

bool http_worker_stopping(const struct http_worker *w)
{
	return w->draining;
}

void http_conn_gone(struct http_worker *w)
{
	atomic_fetch_sub(&w->srv->nconns, 1);
	reg_metrics_conn(-1);
}

const char *http_worker_date(struct http_worker *w)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != w->date_at) {
		gmtime_r(&now, &tm);
		strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT",
			 &tm);
		w->date_at = now;
	}
	return w->date;
}

struct http_worker *http_req_worker(const struct http_req *req)
{
	return req->w;
}

/* The eventfd is written only by the sender that finds inbox empty: the
 * loop reads it before it empties inbox, so no push goes unnoticed. */
void http_worker_call(struct http_worker *w, struct http_call *c)
{
	uint64_t one = 1;
	ssize_t n;

	if (!lfs_push(&w->inbox, &c->link))
		return;
	n = write(w->wake_fd, &one, sizeof(one));
	(void)n; /* only an overflowing counter fails, and it wakes */
}

/* Moves what inbox holds, oldest first, to the end of next. */
static void worker_take(struct http_worker *w)
{
	struct lfs_node *first, *last;

	lfs_take(&w->inbox, &first, &last);
	if (!first)
		return;
	if (w->next_tail)
		w->next_tail->next = first;
	else
		w->next = first;
	w->next_tail = last;
}

/* Runs this round: what was taken before it began and what inbox holds
 * now.  What these calls send waits for the next round (the eventfd
 * wakes the loop for it), so that a call that sends again cannot starve
 * the loop. */
static void worker_run_calls(struct http_worker *w)
{
	struct lfs_node *n;

	worker_take(w);
	if (w->ready_tail)
		w->ready_tail->next = w->next;
	else
		w->ready = w->next;
	if (w->next)
		w->ready_tail = w->next_tail;
	w->next = w->next_tail = NULL;
	while ((n = w->ready)) {
		w->ready = n->next;
		if (!w->ready)
			w->ready_tail = NULL;
		((struct http_call *)n)->fn((struct http_call *)n);
	}
	log_set_request_id(NULL);
	/* http_worker_drop_defers() took some early: they need a round. */
	if (w->next)
		event_active(w->wake_ev, EV_READ, 0);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;
	ssize_t r;

	(void)what;
	r = read(fd, &n, sizeof(n)); /* before inbox is emptied */
	(void)r;
	worker_run_calls(arg);
}

static void close_handoff(struct http_worker *w, struct http_handoff *h)
{
	close(h->fd);
	http_conn_gone(w);
	free(h);
}

static void handoff_run(struct http_call *c)
{
	struct http_handoff *h = (struct http_handoff *)c;
	struct http_worker *w = h->w;

	if (w->draining) {
		close_handoff(w, h);
		return;
	}
	http_conn_new(w, h->fd, h->peer, h->reject);
	free(h);
}

static void defer_run(struct http_call *c)
{
	struct http_defer *d = (struct http_defer *)c;
	struct http_req *req = d->req;
	http_defer_fn fn = d->fn;
	void *arg = d->arg;

	free(d);
	log_set_request_id(http_req_id(req));
	fn(req, arg);
}

/* Drops req's defers from list *head (tail *tail). */
static void drop_from(struct lfs_node **head, struct lfs_node **tail,
		      const struct http_req *req)
{
	struct lfs_node **pp = head, *n;

	*tail = NULL;
	while ((n = *pp)) {
		struct http_defer *d = (struct http_defer *)n;

		if (d->call.fn == defer_run && d->req == req) {
			*pp = n->next;
			free(d);
			continue;
		}
		*tail = n;
		pp = &n->next;
	}
}

void http_worker_drop_defers(struct http_worker *w, struct http_req *req)
{
	worker_take(w);
	drop_from(&w->ready, &w->ready_tail, req);
	drop_from(&w->next, &w->next_tail, req);
	if (w->next && w->wake_ev)
		event_active(w->wake_ev, EV_READ, 0);
}

void http_req_defer(struct http_req *req, http_defer_fn fn, void *arg)
{
	struct http_defer *d = xmalloc(sizeof(*d));

	d->call.fn = defer_run;
	d->req = req;
	d->fn = fn;
	d->arg = arg;
	http_worker_call(req->w, &d->call);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker *w = arg;

	(void)fd;
	(void)what;
	w->draining = true;
	worker_run_calls(w); /* handoffs waiting are closed */
	http_conn_drain_all(w);
}

static void kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker *w = arg;

	(void)fd;
	(void)what;
	w->draining = true;
	worker_run_calls(w);
	http_conn_kill_all(w);
	event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
	struct http_worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	/* libevent closes a freed bufferevent's socket from the loop (its
	 * finalizers): give them a turn so that every connection is closed
	 * by the time http_server_run() returns. */
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	event_base_loop(w->base, EVLOOP_NONBLOCK);
	return NULL;
}

static int worker_init(struct http_server *srv, struct http_worker *w,
		       unsigned idx, struct err *e)
{
	w->srv = srv;
	w->idx = idx;
	/* Without randomness the ids only repeat across restarts. */
	if (getrandom(&w->rid_seed, sizeof(w->rid_seed), 0) < 0)
		w->rid_seed = (uint64_t)time(NULL) << 8 | idx;
	atomic_init(&w->inbox.top, NULL);
	TAILQ_INIT(&w->conns);
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->wake_fd < 0)
		return err_errno(e, ERR_INTERNAL, errno, "eventfd");
	w->base = event_base_new();
	if (!w->base)
		return err_set(e, ERR_INTERNAL, "event_base_new failed");
	w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST,
			       wake_cb, w);
	w->drain_ev = event_new(w->base, -1, 0, drain_cb, w);
	w->kill_ev = event_new(w->base, -1, 0, kill_cb, w);
	if (!w->wake_ev || !w->drain_ev || !w->kill_ev ||
	    event_add(w->wake_ev, NULL) < 0)
		return err_set(e, ERR_INTERNAL, "event_new failed");
	return 0;
}

/* The loop has stopped: what is still sent to it ends here.  Defers are
 * dropped (their requests are gone), handoffs closed, calls run. */
static void worker_flush(struct http_worker *w)
{
	struct http_call *c;

	w->draining = true;
	worker_take(w);
	while ((c = (struct http_call *)w->next)) {
		w->next = c->link.next;
		if (c->fn == defer_run)
			free(c);
		else
			c->fn(c);
		if (!w->next) {
			w->next_tail = NULL;
			worker_take(w); /* what those calls sent */
		}
	}
}

static void worker_release(struct http_worker *w)
{
	if (!w->srv)
		return;
	if (w->base)
		http_conn_kill_all(w);
	if (w->ready) { /* a round cut short goes first */
		w->ready_tail->next = w->next;
		if (!w->next)
			w->next_tail = w->ready_tail;
		w->next = w->ready;
		w->ready = w->ready_tail = NULL;
	}
	worker_flush(w);
	if (w->wake_ev)
		event_free(w->wake_ev);
	if (w->drain_ev)
		event_free(w->drain_ev);
	if (w->kill_ev)
		event_free(w->kill_ev);
	if (w->base)
		event_base_free(w->base);
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	free(w->rbuf);
}

/* Main side: accepting, handing off, stopping. */

static void pause_listener(struct http_server *srv, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_del(srv->listen_ev);
	evtimer_add(srv->backoff_ev, &tv);
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;

	(void)fd;
	(void)what;
	if (srv->listening)
		event_add(srv->listen_ev, NULL);
}

static void handoff(struct http_server *srv, int fd, const struct sockaddr *sa,
		    socklen_t len, bool reject)
{
	struct http_worker *w =
		&srv->workers[srv->next_worker++ % srv->nworkers];
	struct http_handoff *h = xcalloc(1, sizeof(*h));
	int one = 1;

	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	h->call.fn = handoff_run;
	h->w = w;
	h->fd = fd;
	h->reject = reject;
	addr_text(sa, len, h->peer, sizeof(h->peer));
	http_worker_call(w, &h->call);
}

/* Returns 1 if a connection was taken (try another), else 0. */
static int accept_one(struct http_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, n;

	if (atomic_load(&srv->nconns) >=
	    srv->cfg.max_conns + HTTP_REJECT_SLACK) {
		pause_listener(srv, 100);
		return 0;
	}
	fd = accept4(srv->lfd, (struct sockaddr *)&ss, &len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EINTR || errno == ECONNABORTED)
			return 1;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* tmux's server_accept: retry in a second instead of
			 * spinning on a readable listener. */
			log_errno(LL_WARN, errno, "accept");
			pause_listener(srv, 1000);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			log_errno(LL_ERROR, errno, "accept");
		}
		return 0;
	}
	n = atomic_fetch_add(&srv->nconns, 1) + 1;
	reg_metrics_conn(1);
	handoff(srv, fd, (struct sockaddr *)&ss, len, n > srv->cfg.max_conns);
	return 1;
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; i < ACCEPT_BATCH; i++)
		if (!accept_one(srv))
			break;
}

static void close_listener(struct http_server *srv)
{
	srv->listening = false;
	if (srv->listen_ev)
		event_del(srv->listen_ev);
	if (srv->backoff_ev)
		event_del(srv->backoff_ev);
	if (srv->lfd >= 0)
		close(srv->lfd);
	srv->lfd = -1;
}

static void grace_arm(struct http_server *srv)
{
	struct timeval tv = {0, 50 * 1000};

	evtimer_add(srv->grace_ev, &tv);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;
	struct timespec now;
	unsigned i;

	(void)fd;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (atomic_load(&srv->nconns) > 0 &&
	    now.tv_sec - srv->stop_at.tv_sec < HTTP_GRACE_S) {
		grace_arm(srv);
		return;
	}
	if (atomic_load(&srv->nconns) > 0)
		log_msg(LL_WARN, "closing %d connections still open",
			atomic_load(&srv->nconns));
	for (i = 0; i < srv->nworkers; i++)
		event_active(srv->workers[i].kill_ev, EV_READ, 0);
	event_base_loopbreak(srv->base);
}

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *srv = arg;
	char junk[64];
	unsigned i;

	(void)what;
	while (read(fd, junk, sizeof(junk)) > 0)
		;
	if (!srv->listening)
		return;
	log_msg(LL_INFO, "stopping: %d connections open",
		atomic_load(&srv->nconns));
	close_listener(srv);
	clock_gettime(CLOCK_MONOTONIC, &srv->stop_at);
	for (i = 0; i < srv->nworkers; i++)
		event_active(srv->workers[i].drain_ev, EV_READ, 0);
	grace_arm(srv);
}

static int main_events(struct http_server *srv, struct err *e)
{
	srv->base = event_base_new();
	if (!srv->base)
		return err_set(e, ERR_INTERNAL, "event_base_new failed");
	srv->listen_ev = event_new(srv->base, srv->lfd, EV_READ | EV_PERSIST,
				   accept_cb, srv);
	srv->stop_ev = event_new(srv->base, srv->stop_pipe[0],
				 EV_READ | EV_PERSIST, stop_cb, srv);
	srv->backoff_ev = evtimer_new(srv->base, backoff_cb, srv);
	srv->grace_ev = evtimer_new(srv->base, grace_cb, srv);
	if (!srv->listen_ev || !srv->stop_ev || !srv->backoff_ev ||
	    !srv->grace_ev)
		return err_set(e, ERR_INTERNAL, "event_new failed");
	return 0;
}

static int setup(struct http_server *srv, struct err *e)
{
	unsigned i;

	if (srv->cfg.tls_cert) {
		srv->ssl_ctx = tls_ctx_new(&srv->cfg, e);
		if (!srv->ssl_ctx)
			return -1;
	}
	if (srv->cfg.max_header_bytes > 80 * 1024)
		http_parser_set_max_header_size(
			(uint32_t)srv->cfg.max_header_bytes + 1024);
	if (pipe2(srv->stop_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return err_errno(e, ERR_IO, errno, "pipe");
	if (bind_listener(srv, e) < 0)
		return -1;
	if (main_events(srv, e) < 0)
		return -1;
	srv->nworkers = (unsigned)srv->cfg.threads;
	srv->workers = xcalloc(srv->nworkers, sizeof(*srv->workers));
	for (i = 0; i < srv->nworkers; i++)
		if (worker_init(srv, &srv->workers[i], i, e) < 0)
			return -1;
	if (srv->cfg.port_file && write_port_file(srv, e) < 0)
		return -1;
	return 0;
}

struct http_server *http_server_new(const struct http_config *cfg,
				    http_dispatch_fn dispatch, void *arg,
				    struct err *e)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));

	pthread_once(&http_once, http_global_init);
	srv->lfd = -1;
	srv->stop_pipe[0] = srv->stop_pipe[1] = -1;
	srv->dispatch = dispatch;
	srv->arg = arg;
	atomic_init(&srv->nconns, 0);
	copy_config(srv, cfg);
	if (setup(srv, e) < 0) {
		http_server_free(srv);
		return NULL;
	}
	return srv;
}

int http_server_run(struct http_server *srv)
{
	unsigned i;
	int rc;

	if (srv->ran)
		return -1;
	srv->ran = true;
	for (i = 0; i < srv->nworkers; i++) {
		rc = pthread_create(&srv->workers[i].thread, NULL, worker_main,
				    &srv->workers[i]);
		if (rc) {
			log_errno(LL_ERROR, rc, "pthread_create");
			break;
		}
		srv->workers[i].started = true;
	}
	srv->listening = true;
	event_add(srv->stop_ev, NULL);
	if (i < srv->nworkers)
		http_server_stop(srv); /* could not start: stop at once */
	else
		event_add(srv->listen_ev, NULL);
	event_base_loop(srv->base, EVLOOP_NO_EXIT_ON_EMPTY);
	close_listener(srv);
	for (i = 0; i < srv->nworkers; i++) {
		if (!srv->workers[i].started)
			continue;
		event_active(srv->workers[i].kill_ev, EV_READ, 0);
		pthread_join(srv->workers[i].thread, NULL);
		srv->workers[i].started = false;
	}
	log_msg(LL_INFO, "stopped");
	return 0;
}

void http_server_stop(struct http_server *srv)
{
	int saved = errno;
	ssize_t n;

	n = write(srv->stop_pipe[1], "s", 1);
	(void)n;
	errno = saved;
}

int http_server_port(const struct http_server *srv)
{
	return srv->port;
}

void http_server_free(struct http_server *srv)
{
	unsigned i;

	if (!srv)
		return;
	close_listener(srv);
	for (i = 0; srv->workers && i < srv->nworkers; i++)
		worker_release(&srv->workers[i]);
	free(srv->workers);
	if (srv->listen_ev)
		event_free(srv->listen_ev);
	if (srv->stop_ev)
		event_free(srv->stop_ev);
	if (srv->backoff_ev)
		event_free(srv->backoff_ev);
	if (srv->grace_ev)
		event_free(srv->grace_ev);
	if (srv->base)
		event_base_free(srv->base);
	if (srv->stop_pipe[0] >= 0)
		close(srv->stop_pipe[0]);
	if (srv->stop_pipe[1] >= 0)
		close(srv->stop_pipe[1]);
	SSL_CTX_free(srv->ssl_ctx);
	free(srv->listen);
	free(srv->tls_cert);
	free(srv->tls_key);
	free(srv->tls_client_ca);
	free(srv->port_file);
	free(srv);
}
