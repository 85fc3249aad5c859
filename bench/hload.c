/* hload.c: a small HTTP/1.1 keep-alive load generator for bench/run.
 *
 * Debian's wrk cannot load a HEAD endpoint: its parser waits for the body
 * that a HEAD response announces and never sends (wg/wrk issue 198), so
 * bench/run measures HEAD with this instead, the way wrk measures the GETs:
 * C connections spread over T threads, each sending the next request as
 * soon as the previous response is complete, for D seconds.  It prints
 *
 *	requests N
 *	errors N	(failed connections or reads, non-2xx responses)
 *	rps X
 *	p50_ms X
 *	p99_ms X
 *	max_ms X
 *
 * usage: hload [-t THREADS] [-c CONNS] [-d SECONDS] [-m METHOD] [-r RATE]
 *              [-H "Name: value"]... http://127.0.0.1:PORT/PATH [URL]...
 *
 * With several URLs (same host and port) the connections take them in
 * turn.  With -r each connection sends RATE requests a second on a fixed
 * schedule, and a request's latency counts from when it was due, not from
 * when it could be sent (no coordinated omission): a light load that
 * measures how long the server keeps a request waiting while something
 * else loads it.
 *
 * Responses must carry Content-Length (or be to HEAD); chunked bodies are
 * counted as errors, which is enough for registry blobs and manifests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HL_BUF	   65536
#define HL_HDR_MAX 16384
/* Latency buckets: 1 us up to 1 s, then 1 ms up to a minute, then one. */
#define HL_HIST_US   1000000
#define HL_HIST_MS   59000
#define HL_BUCKETS   (HL_HIST_US + HL_HIST_MS + 1)
#define HL_MAX_CONNS 1024
#define HL_MAX_URLS  8

struct hl_conn {
	int fd;
	size_t sent;	   /* bytes of the request written */
	size_t hlen;	   /* header bytes buffered */
	int64_t body_left; /* -1: still reading the header */
	bool close_after;
	bool ok;	 /* 2xx */
	int64_t t0;	 /* when the request was started (or due), us */
	bool waiting;	 /* -r: until t0 */
	const char *req; /* the request it sends */
	size_t req_len;
	char hdr[HL_HDR_MAX];
};

struct hl_thread {
	pthread_t tid;
	int nconns;
	int first; /* index of its first connection, overall */
	uint64_t requests, errors;
	uint32_t *hist; /* HL_BUCKETS */
};

static struct sockaddr_in hl_addr;
static char *hl_reqs[HL_MAX_URLS];
static size_t hl_req_lens[HL_MAX_URLS];
static int hl_nreqs;
static int64_t hl_interval; /* -r: us between a connection's requests */
static bool hl_head;
static int64_t hl_deadline;

static int64_t hl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int hl_connect(struct hl_conn *c, int ep)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&hl_addr, sizeof(hl_addr)) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	c->sent = 0;
	c->hlen = 0;
	c->body_left = -1;
	c->t0 = hl_now_us();
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		goto fail;
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

static void hl_drop(struct hl_conn *c, int ep)
{
	if (c->fd < 0)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static void hl_record(struct hl_thread *t, int64_t us)
{
	if (us < 0)
		us = 0;
	if (us >= HL_HIST_US)
		us = HL_HIST_US + ((us - HL_HIST_US) / 1000 < HL_HIST_MS
					   ? (us - HL_HIST_US) / 1000
					   : HL_HIST_MS);
	t->hist[us]++;
	t->requests++;
}

/* Parses the buffered header once it is complete: 1 done, 0 need more,
 * -1 bad.  Moves any body bytes that came with it into account. */
static int hl_parse_header(struct hl_conn *c)
{
	char *end, *line;
	int64_t clen = -1;
	size_t extra;

	end = memmem(c->hdr, c->hlen, "\r\n\r\n", 4);
	if (!end)
		return c->hlen >= sizeof(c->hdr) ? -1 : 0;
	*end = '\0';
	if (end - c->hdr < 12 || strncmp(c->hdr, "HTTP/1.", 7) != 0)
		return -1;
	c->ok = c->hdr[9] == '2';
	c->close_after = c->hdr[7] == '0';
	for (line = strstr(c->hdr, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (!strncasecmp(line, "Content-Length:", 15))
			clen = strtoll(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18))
			return -1;
		else if (!strncasecmp(line, "Connection:", 11))
			c->close_after = strstr(line, "close") != NULL;
	}
	extra = c->hlen - (size_t)(end + 4 - c->hdr);
	if (hl_head || !strncmp(c->hdr + 9, "204", 3) ||
	    !strncmp(c->hdr + 9, "304", 3))
		clen = 0;
	if (clen < 0)
		return -1;
	c->body_left = clen - (int64_t)extra;
	return c->body_left < 0 ? -1 : 1;
}

/* Starts the next request on c; -1 if the socket failed. */
static int hl_send(struct hl_conn *c, int ep)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	ssize_t n;

	while (c->sent < c->req_len) {
		n = write(c->fd, c->req + c->sent, c->req_len - c->sent);
		if (n < 0 && errno == EAGAIN) {
			ev.events = EPOLLOUT;
			break;
		}
		if (n <= 0)
			return -1;
		c->sent += (size_t)n;
	}
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void hl_next(struct hl_thread *t, struct hl_conn *c, int ep)
{
	hl_record(t, hl_now_us() - c->t0);
	if (!c->ok)
		t->errors++;
	if (c->close_after) {
		hl_drop(c, ep);
		if (hl_connect(c, ep) < 0)
			t->errors++;
		return;
	}
	c->sent = 0;
	c->hlen = 0;
	c->body_left = -1;
	if (hl_interval) {
		/* Due on the schedule; hl_run sends it then. */
		c->t0 += hl_interval;
		c->waiting = true;
		return;
	}
	c->t0 = hl_now_us();
	if (hl_send(c, ep) < 0)
		goto fail;
	return;
fail:
	t->errors++;
	hl_drop(c, ep);
	if (hl_connect(c, ep) < 0)
		t->errors++;
}

/* Reads what is there; -1 when the connection is unusable. */
static int hl_read(struct hl_thread *t, struct hl_conn *c, int ep)
{
	static _Thread_local char sink[HL_BUF];
	ssize_t n;
	int r;

	for (;;) {
		if (c->body_left < 0) {
			n = read(c->fd, c->hdr + c->hlen,
				 sizeof(c->hdr) - c->hlen);
		} else {
			size_t want = c->body_left < HL_BUF
					      ? (size_t)c->body_left
					      : HL_BUF;

			if (want == 0) {
				hl_next(t, c, ep);
				return 0;
			}
			n = read(c->fd, sink, want);
		}
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		if (c->body_left >= 0) {
			c->body_left -= n;
			continue;
		}
		c->hlen += (size_t)n;
		r = hl_parse_header(c);
		if (r < 0)
			return -1;
	}
}

/* The connection failed: counted, and a new one takes its place. */
static void hl_fail(struct hl_thread *t, struct hl_conn *c, int ep)
{
	t->errors++;
	hl_drop(c, ep);
	if (hl_connect(c, ep) < 0)
		t->errors++;
}

static void hl_event(struct hl_thread *t, struct hl_conn *c, int ep,
		     uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (c->fd < 0)
		return;
	if (events & EPOLLOUT) {
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || hl_send(c, ep) < 0)
			goto fail;
		return;
	}
	if (hl_read(t, c, ep) < 0)
		goto fail;
	return;
fail:
	hl_fail(t, c, ep);
}

static void *hl_run(void *arg)
{
	struct hl_thread *t = arg;
	struct epoll_event evs[64];
	struct hl_conn *conns;
	int64_t now;
	int ep, i, n;

	conns = calloc((size_t)t->nconns, sizeof(*conns));
	ep = epoll_create1(0);
	if (!conns || ep < 0) {
		t->errors++;
		free(conns);
		return NULL;
	}
	for (i = 0; i < t->nconns; i++) {
		conns[i].req = hl_reqs[(t->first + i) % hl_nreqs];
		conns[i].req_len = hl_req_lens[(t->first + i) % hl_nreqs];
		if (hl_connect(&conns[i], ep) < 0)
			t->errors++;
	}
	while ((now = hl_now_us()) < hl_deadline) {
		for (i = 0; i < t->nconns; i++) {
			if (!conns[i].waiting || conns[i].t0 > now)
				continue;
			conns[i].waiting = false;
			if (hl_send(&conns[i], ep) < 0)
				hl_fail(t, &conns[i], ep);
		}
		n = epoll_wait(ep, evs, 64, hl_interval ? 1 : 10);
		for (i = 0; i < n; i++)
			hl_event(t, evs[i].data.ptr, ep, evs[i].events);
	}
	for (i = 0; i < t->nconns; i++)
		hl_drop(&conns[i], ep);
	close(ep);
	free(conns);
	return NULL;
}

static double hl_pct(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)(p * (double)total + 0.5), seen = 0;
	size_t i;

	if (want == 0)
		want = 1;
	for (i = 0; i < HL_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			break;
	}
	if (i < HL_HIST_US)
		return (double)i / 1000.0;
	return (double)(HL_HIST_US / 1000 + (i - HL_HIST_US));
}

/* Parses url into hl_addr (every URL must name the same one) and *path. */
static int hl_url(const char *url, const char **path)
{
	struct sockaddr_in first = hl_addr;
	char host[64];
	const char *p = url + 7, *colon, *slash;
	long port;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	colon = strchr(p, ':');
	slash = strchr(p, '/');
	if (!colon || !slash || colon > slash ||
	    (size_t)(colon - p) >= sizeof(host))
		return -1;
	memcpy(host, p, (size_t)(colon - p));
	host[colon - p] = '\0';
	port = strtol(colon + 1, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	hl_addr.sin_family = AF_INET;
	hl_addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &hl_addr.sin_addr) != 1)
		return -1;
	if (first.sin_family &&
	    (first.sin_port != hl_addr.sin_port ||
	     first.sin_addr.s_addr != hl_addr.sin_addr.s_addr))
		return -1;
	*path = slash;
	return 0;
}

static void hl_usage(void)
{
	fprintf(stderr,
		"usage: hload [-t THREADS] [-c CONNS] [-d SECONDS] "
		"[-m METHOD] [-r RATE] [-H HEADER]... http://IPV4:PORT/PATH "
		"[URL]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int threads = 2, conns = 32, secs = 10, rate = 0, i, opt;
	const char *method = "GET", *path;
	char hdrs[4096] = "";
	size_t hl = 0, j;
	uint64_t *hist, total = 0, errors = 0;
	struct hl_thread *ts;
	int64_t t0, t1;

	while ((opt = getopt(argc, argv, "t:c:d:m:r:H:")) != -1) {
		switch (opt) {
		case 'r':
			rate = atoi(optarg);
			break;
		case 't':
			threads = atoi(optarg);
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'd':
			secs = atoi(optarg);
			break;
		case 'm':
			method = optarg;
			break;
		case 'H':
			if (hl + strlen(optarg) + 3 > sizeof(hdrs))
				hl_usage();
			hl += (size_t)snprintf(hdrs + hl, sizeof(hdrs) - hl,
					       "%s\r\n", optarg);
			break;
		default:
			hl_usage();
		}
	}
	hl_nreqs = argc - optind;
	if (hl_nreqs < 1 || hl_nreqs > HL_MAX_URLS || threads < 1 ||
	    conns < threads || conns > HL_MAX_CONNS || secs < 1 || rate < 0 ||
	    rate > 1000)
		hl_usage();
	hl_interval = rate ? 1000000 / rate : 0;
	hl_head = !strcmp(method, "HEAD");
	for (i = 0; i < hl_nreqs; i++) {
		if (hl_url(argv[optind + i], &path) < 0)
			hl_usage();
		hl_req_lens[i] = strlen(method) + strlen(path) + hl + 64;
		hl_reqs[i] = malloc(hl_req_lens[i]);
		if (!hl_reqs[i])
			return 1;
		hl_req_lens[i] =
			(size_t)snprintf(hl_reqs[i], hl_req_lens[i],
					 "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
					 method, path, "bench", hdrs);
	}
	hist = calloc(HL_BUCKETS, sizeof(*hist));
	ts = calloc((size_t)threads, sizeof(*ts));
	if (!hist || !ts)
		return 1;
	t0 = hl_now_us();
	hl_deadline = t0 + (int64_t)secs * 1000000;
	for (i = 0; i < threads; i++) {
		ts[i].nconns = conns / threads + (i < conns % threads);
		ts[i].first = i ? ts[i - 1].first + ts[i - 1].nconns : 0;
		ts[i].hist = calloc(HL_BUCKETS, sizeof(uint32_t));
		if (!ts[i].hist ||
		    pthread_create(&ts[i].tid, NULL, hl_run, &ts[i]) != 0)
			return 1;
	}
	for (i = 0; i < threads; i++) {
		pthread_join(ts[i].tid, NULL);
		for (j = 0; j < HL_BUCKETS; j++)
			hist[j] += ts[i].hist[j];
		total += ts[i].requests;
		errors += ts[i].errors;
		free(ts[i].hist);
	}
	t1 = hl_now_us();
	printf("requests %llu\nerrors %llu\nrps %.2f\np50_ms %.3f\n"
	       "p99_ms %.3f\nmax_ms %.3f\n",
	       (unsigned long long)total, (unsigned long long)errors,
	       (double)total * 1e6 / (double)(t1 - t0),
	       hl_pct(hist, total, 0.50), hl_pct(hist, total, 0.99),
	       hl_pct(hist, total, 1.0));
	free(hist);
	free(ts);
	for (i = 0; i < hl_nreqs; i++)
		free(hl_reqs[i]);
	return total > 0 ? 0 : 1;
}
