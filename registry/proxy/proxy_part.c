/* proxy_part.c: a part of a blob the store does not have, asked for by a
 * HEAD or a Range GET, is asked of the upstream as such (a HEAD, a Range
 * GET) instead of starting the fetch of the whole blob: a client reading
 * a few chunks of a big layer (podman's zstd:chunked, a resumed pull)
 * must not make us download all of it.  A part is streamed through, not
 * stored: it has no digest to check (the client checks what it knows of
 * it: zstd:chunked its chunks' digests), so only its framing is checked
 * here: the status, Content-Length, and Content-Range against the range
 * asked for.  An upstream that ignores the range (a 200), or a HEAD
 * without Content-Length, is left for the whole fetch (proxy_blob.c),
 * which serves ranges too.
 *
 * One `struct pxp` per request: its job runs the transfer on a fetch
 * thread and hands the body over through a bounded buffer (the thread
 * waits while it is full); the client's loop thread sends the head once
 * the upstream's is checked, then the buffer each time its output
 * drains.
 */
#include "registry/proxy/proxy_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/reply_int.h"
#include "common/banned.h"

/* Bytes held between the upstream and a client at most. */
#define PXP_BUF (256 * 1024)
/* A client that takes nothing for this long gives its fetch thread back. */
#define PXP_STALL_S 60
/* A Range header longer than this is not passed on. */
#define PXP_RANGE_MAX 256

enum pxp_state {
	PXP_RUNNING,  /* the upstream has not answered yet */
	PXP_HEAD,     /* its head is checked: the client's may go */
	PXP_DONE,     /* the upstream's body is all in */
	PXP_FAILED,   /* err says why */
	PXP_FALLBACK, /* the whole fetch it is */
};

struct pxp {
	struct reg_proxy *p;
	struct http_req *req;
	struct px_map map;
	struct digest dg;
	char range[PXP_RANGE_MAX + 1]; /* as the client sent it; "" HEAD */
	int refs;		       /* the job's, the client's */
	/* Under p->lock. */
	enum pxp_state state;
	struct err err;
	int status;		/* 200 (HEAD) or 206 */
	int64_t length;		/* of the body */
	char ctype[256];	/* the upstream's, for several ranges */
	char content_range[96]; /* for one */
	char *buf;		/* PXP_BUF bytes: [0, len) not sent yet */
	size_t len;
	bool gone;	     /* the request ended */
	bool waiting;	     /* the client has caught up */
	bool deferred;	     /* a wake-up is on its way */
	pthread_cond_t room; /* the buffer has room, or gone */
	/* The client's own. */
	bool started;
	int64_t sent; /* of length */
	char *out;
};

/* Under p->lock. */
static void pxp_unref(struct pxp *x)
{
	if (--x->refs > 0)
		return;
	pthread_cond_destroy(&x->room);
	free(x->buf);
	free(x->out);
	free(x);
}

static void pxp_wake(struct http_req *req, void *arg);

/* Wakes the client if it waits for more; under p->lock. */
static void pxp_notify(struct pxp *x)
{
	if (!x->waiting || x->gone)
		return;
	x->waiting = false;
	x->deferred = true;
	http_req_defer(x->req, pxp_wake, x);
}

/* --- Which requests --------------------------------------------------------
 */

bool px_range_forwardable(const char *h)
{
	size_t n;

	if (!h || strncmp(h, "bytes=", 6) || !strcmp(h, "bytes=0-"))
		return false;
	n = strlen(h);
	if (n == 6 || n > PXP_RANGE_MAX)
		return false;
	return strspn(h + 6, "0123456789-, ") == n - 6 &&
	       strchr(h + 6, '-') != NULL;
}

bool px_part_wanted(struct http_req *req)
{
	return http_req_method(req) == HTTP_M_HEAD ||
	       px_range_forwardable(http_req_header(req, "Range"));
}

/* --- The transfer, on a fetch thread -----------------------------------------
 */

bool px_content_range_ok(const char *cr, const char *ask, int64_t length)
{
	long long a, b, n, qa, qb;
	int used = 0;

	if (sscanf(cr, "bytes %lld-%lld/%lld%n", &a, &b, &n, &used) != 3 ||
	    cr[used] || a < 0 || b < a || b >= n || b - a + 1 != length)
		return false;
	ask += 6;
	if (*ask == '-')
		return sscanf(ask, "-%lld", &qb) == 1 && b == n - 1 &&
		       length == (qb < n ? qb : n);
	if (sscanf(ask, "%lld-%lld", &qa, &qb) == 2)
		return a == qa && b == (qb < n - 1 ? qb : n - 1);
	return sscanf(ask, "%lld-", &qa) == 1 && a == qa && b == n - 1;
}

/* The upstream's head: the client's may follow, or the transfer stops. */
static int pxp_on_start(void *arg, const struct ups_xfer *u)
{
	struct pxp *x = arg;
	struct reg_proxy *p = x->p;
	char ds[DIGEST_STR_MAX];
	bool several = strchr(x->range, ',') != NULL;
	int ret = -1;

	digest_str(&x->dg, ds);
	pthread_mutex_lock(&p->lock);
	if (u->status == 200) {
		/* It ignored the range: the whole fetch, which stores it. */
		x->state = PXP_FALLBACK;
		goto out;
	}
	if (u->status != 206 || u->length < 0) {
		err_set(&x->err, ERR_UPSTREAM,
			"upstream %s: blob %s: a range came back as %ld "
			"without a length",
			x->map.r->host, ds, u->status);
		goto out;
	}
	if (several ? strncmp(u->ctype, "multipart/byteranges", 20) != 0
		    : !px_content_range_ok(u->content_range, x->range,
					   u->length)) {
		err_set(&x->err, ERR_UPSTREAM,
			"upstream %s: blob %s: its reply to '%s' is not that "
			"range (Content-Range '%s', %" PRId64 " bytes)",
			x->map.r->host, ds, x->range, u->content_range,
			u->length);
		goto out;
	}
	x->status = 206;
	x->length = u->length;
	snprintf(x->ctype, sizeof(x->ctype), "%s",
		 several ? u->ctype : "application/octet-stream");
	snprintf(x->content_range, sizeof(x->content_range), "%s",
		 several ? "" : u->content_range);
	x->state = PXP_HEAD;
	pxp_notify(x);
	ret = 0;
out:
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* Into the buffer, waiting while it is full; -1 once the client left or
 * took nothing for PXP_STALL_S. */
static int pxp_sink(void *arg, const void *data, size_t len)
{
	struct pxp *x = arg;
	struct reg_proxy *p = x->p;
	const char *d = data;
	struct timespec until;
	int ret = 0;

	pthread_mutex_lock(&p->lock);
	while (len && ret == 0) {
		size_t n = PXP_BUF - x->len < len ? PXP_BUF - x->len : len;

		if (x->gone) {
			ret = err_set(&x->err, ERR_IO, "the client left");
			break;
		}
		if (!n) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += PXP_STALL_S;
			if (pthread_cond_timedwait(&x->room, &p->lock,
						   &until) == ETIMEDOUT &&
			    x->len == PXP_BUF)
				ret = err_set(&x->err, ERR_IO,
					      "the client read nothing for "
					      "%d s",
					      PXP_STALL_S);
			continue;
		}
		memcpy(x->buf + x->len, d, n);
		x->len += n;
		d += n;
		len -= n;
		pxp_notify(x);
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* HEAD: the size, and the digest if the upstream says one. */
static int pxp_head_done(struct pxp *x, const struct ups_xfer *u, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct digest said;

	if (u->length < 0) {
		x->state = PXP_FALLBACK;
		return 0;
	}
	if (u->digest[0] &&
	    (digest_parse(u->digest, strlen(u->digest), &said, NULL) < 0 ||
	     !digest_eq(&said, &x->dg)))
		return err_set(
			e, ERR_UPSTREAM, "upstream %s says blob %s is %.80s",
			x->map.r->host, digest_str(&x->dg, ds), u->digest);
	x->status = 200;
	x->length = u->length;
	snprintf(x->ctype, sizeof(x->ctype), "application/octet-stream");
	x->state = PXP_DONE;
	return 0;
}

static void pxp_job(struct ups_conn *conn, void *arg)
{
	struct pxp *x = arg;
	struct reg_proxy *p = x->p;
	char path[REG_NAME_MAX + 200], ds[DIGEST_STR_MAX];
	struct err e = ERR_INIT;
	struct ups_xfer u;
	int rc;

	ups_xfer_init(&u);
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", x->map.remote,
		 digest_str(&x->dg, ds));
	u.path = path;
	u.repo = x->map.remote;
	u.head = !x->range[0];
	if (!u.head) {
		u.range = x->range;
		u.on_start = pxp_on_start;
		u.sink = pxp_sink;
		u.arg = x;
	}
	rc = ups_do(conn, x->map.r, &u, &e);
	pthread_mutex_lock(&p->lock);
	if (x->state == PXP_FALLBACK || x->gone) {
		/* Nothing more for this client from here. */
	} else if (u.status == 416) {
		/* (distribution's 416 says the blob's Content-Length, and
		 * ends short of it: a broken transfer, but a clear answer.) */
		err_set(&x->err, ERR_RANGE_INVALID,
			"upstream %s: range '%s' of blob %s not satisfiable",
			x->map.r->host, x->range, ds);
		if (!strncmp(u.content_range, "bytes */", 8) &&
		    strspn(u.content_range + 8, "0123456789") ==
			    strlen(u.content_range + 8))
			snprintf(x->content_range, sizeof(x->content_range),
				 "%s", u.content_range);
		x->state = PXP_FAILED;
	} else if (rc < 0) {
		if (u.sink_failed && x->err.code)
			e = x->err;
		err_set(&x->err, e.code, "%s", e.msg);
		x->state = PXP_FAILED;
	} else if (u.status / 100 != 2) {
		ups_error(x->map.r, &u, ERR_BLOB_UNKNOWN, &x->err);
		x->state = PXP_FAILED;
	} else if (u.head) {
		if (pxp_head_done(x, &u, &x->err) < 0)
			x->state = PXP_FAILED;
	} else {
		x->state = PXP_DONE;
	}
	if (x->state == PXP_FAILED)
		log_msg(LL_WARN, "pull-through %s: part of blob %s: %s",
			x->map.local, ds, x->err.msg);
	/* A client not waiting pumps on its next drain, and sees it. */
	pxp_notify(x);
	pxp_unref(x);
	pthread_mutex_unlock(&p->lock);
	ups_xfer_release(&u);
}

/* --- The client, on its loop thread ------------------------------------------
 */

static void pxp_end(void *ptr, bool gone)
{
	struct pxp *x = ptr;
	struct reg_proxy *p = x->p;

	(void)gone;
	pthread_mutex_lock(&p->lock);
	x->gone = true;
	pthread_cond_broadcast(&x->room);
	pxp_unref(x);
	pthread_mutex_unlock(&p->lock);
}

static void pxp_pump(struct pxp *x);

static void pxp_drain(struct http_req *req, void *arg)
{
	(void)req;
	pxp_pump(arg);
}

/* The reply's head (HEAD's whole reply); false when no body follows. */
static bool pxp_begin(struct pxp *x)
{
	char ds[DIGEST_STR_MAX], etag[DIGEST_STR_MAX + 2];

	digest_str(&x->dg, ds);
	snprintf(etag, sizeof(etag), "\"%s\"", ds);
	x->started = true;
	if (x->content_range[0])
		http_reply_header(x->req, "Content-Range", x->content_range);
	http_reply_header(x->req, "Docker-Content-Digest", ds);
	http_reply_header(x->req, "ETag", etag);
	http_reply_header(x->req, "Accept-Ranges", "bytes");
	http_reply_header(x->req, "Docker-Distribution-API-Version",
			  "registry/2.0");
	if (!http_reply_start(x->req, x->status, x->ctype, x->length, pxp_drain,
			      x))
		return false;
	x->out = xmalloc(PXP_BUF);
	return true;
}

/* Called when the client joins, when the job wakes it, and when its
 * output has drained. */
static void pxp_pump(struct pxp *x)
{
	struct reg_proxy *p = x->p;
	struct http_req *req = x->req;
	struct px_map map;
	struct digest dg;
	struct err e;
	size_t n = 0;

	pthread_mutex_lock(&p->lock);
	if (x->deferred) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	switch (x->state) {
	case PXP_RUNNING:
		x->waiting = true;
		pthread_mutex_unlock(&p->lock);
		return;
	case PXP_FALLBACK:
		map = x->map;
		dg = x->dg;
		pthread_mutex_unlock(&p->lock);
		http_req_detach(req, x);
		pxp_end(x, false);
		px_blob_follow(p, req, &map, &dg);
		return;
	case PXP_FAILED:
		e = x->err;
		pthread_mutex_unlock(&p->lock);
		if (x->started) {
			http_reply_abort(req);
			return;
		}
		if (e.code == ERR_RANGE_INVALID && x->content_range[0])
			http_reply_header(req, "Content-Range",
					  x->content_range);
		reg_reply_error(req, &e);
		return;
	case PXP_HEAD:
	case PXP_DONE:
		break;
	}
	pthread_mutex_unlock(&p->lock);
	if (!x->started && !pxp_begin(x))
		return;
	/* Complete: the request ends; nothing may wake it any more. */
	if (x->sent == x->length)
		return;
	pthread_mutex_lock(&p->lock);
	if (x->len) {
		n = x->len;
		memcpy(x->out, x->buf, n);
		x->len = 0;
		pthread_cond_broadcast(&x->room);
	} else if (x->state == PXP_DONE) {
		/* All in, and short of its length. */
		pthread_mutex_unlock(&p->lock);
		http_reply_abort(req);
		return;
	} else {
		x->waiting = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (!n)
		return;
	x->sent += (int64_t)n;
	if (http_reply_write(req, x->out, n) < 0)
		http_reply_abort(req);
}

static void pxp_wake(struct http_req *req, void *arg)
{
	struct pxp *x = arg;

	(void)req;
	pthread_mutex_lock(&x->p->lock);
	x->deferred = false;
	pthread_mutex_unlock(&x->p->lock);
	pxp_pump(x);
}

void px_part_get(struct reg_proxy *p, struct http_req *req,
		 const struct px_map *map, const struct digest *dg)
{
	struct pxp *x = xcalloc(1, sizeof(*x));
	const char *range = http_req_header(req, "Range");

	x->p = p;
	x->req = req;
	x->map = *map;
	x->dg = *dg;
	if (http_req_method(req) != HTTP_M_HEAD) {
		snprintf(x->range, sizeof(x->range), "%s", range);
		x->buf = xmalloc(PXP_BUF);
	}
	x->refs = 2;
	x->state = PXP_RUNNING;
	x->length = -1;
	pthread_cond_init(&x->room, NULL);
	http_req_attach(req, x, pxp_end);
	ups_submit(p->ups, pxp_job, x);
	pxp_pump(x);
}
