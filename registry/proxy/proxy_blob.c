/* proxy_blob.c: blobs pulled through an upstream, one fetch per digest.
 *
 * The fetch (a `struct pxb`) writes the upstream's bytes into an upload
 * session of the store, whose digest check and commit are the store's
 * own: a blob becomes visible only whole and verified.  Clients follow it
 * (`struct pxr`): each reads the upload's data through its own offset as
 * it grows, a piece each time its output drains, and sleeps on the fetch's
 * list when it has caught up; the fetch wakes it after the next write.
 * The last PXB_HOLD bytes are held back until the commit: a blob no
 * bigger (and one whose size the upstream did not say) goes out only once
 * verified, so a wrong one is a clean 502; of a bigger one a client may
 * see a first part before the connection is cut, never a whole body.
 *
 * What the upstream sends is bounded: a Content-Length, or the size in
 * the manifest that asked for the blob, over --max-blob or the store's
 * free space is refused before a byte is read; a body that goes on past
 * its manifest's size or --max-blob is cut off and discarded; the
 * transfer has a deadline and a low-speed limit (upstream.h).
 *
 * An entry is QUEUED until a fetch thread takes it: the job submitted for
 * it, or a manifest's fetch that needs the blob and runs it in place (so a
 * fetch thread only ever waits for an entry that is running).
 */
#include "registry/proxy/proxy_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "registry/reply_int.h"
#include "common/banned.h"

/* A client's reads, and how many per drain of its output. */
#define PXR_PIECE  (128 * 1024)
#define PXR_PIECES 4
/* Bytes at the end of a blob no client gets before the digest check. */
#define PXB_HOLD (1024 * 1024)

enum pxb_state { PXB_QUEUED, PXB_RUNNING, PXB_DONE, PXB_FAILED };

struct pxr;

struct pxb {
	struct pxb *next; /* p->blobs, while in flight */
	struct reg_proxy *p;
	int refs; /* the job's, a runner's, one per client */
	struct digest dg;
	struct px_map map; /* the upstream, and the repository it goes to */
	int64_t expect;	   /* size from a manifest, or -1 */
	enum pxb_state state;
	int64_t size; /* -1 until the upstream says */
	int64_t have; /* bytes in the upload so far */
	int fd;	      /* the upload's data, to read; -1 */
	struct err err;
	struct pxr *waiting; /* clients that have caught up */
	pthread_cond_t done; /* fetch threads waiting for the end */
};

struct pxr {
	struct pxr *next; /* b->waiting */
	struct pxb *b;
	struct http_req *req;
	int64_t off, end; /* still to send: [off, end) */
	bool started;	  /* the reply's head is out */
	bool waiting;	  /* on b->waiting */
	bool deferred;	  /* a wake-up is on its way */
	char *buf;
};

/* --- Entries ----------------------------------------------------------------
 */

/* Under p->lock. */
static void pxb_unref(struct pxb *b)
{
	if (--b->refs > 0)
		return;
	if (b->fd >= 0)
		close(b->fd);
	pthread_cond_destroy(&b->done);
	free(b);
}

/* Per repository: a client of another one must not get a blob before its
 * own upstream repository is known to have it (pxb_confirm()). */
static struct pxb *pxb_find(struct reg_proxy *p, const char *repo,
			    const struct digest *dg)
{
	struct pxb *b;

	for (b = p->blobs; b; b = b->next)
		if (digest_eq(&b->dg, dg) && !strcmp(b->map.local, repo))
			return b;
	return NULL;
}

/* A new entry, in the table, with one reference; under p->lock. */
static struct pxb *pxb_new(struct reg_proxy *p, const struct px_map *map,
			   const struct digest *dg, enum pxb_state state)
{
	struct pxb *b = xcalloc(1, sizeof(*b));

	b->p = p;
	b->refs = 1;
	b->dg = *dg;
	b->map = *map;
	b->expect = -1;
	b->state = state;
	b->size = -1;
	b->fd = -1;
	pthread_cond_init(&b->done, NULL);
	b->next = p->blobs;
	p->blobs = b;
	return b;
}

static void pxr_wake(struct http_req *req, void *arg);

/* Wakes the clients that had caught up; under p->lock. */
static void pxb_notify(struct pxb *b)
{
	struct pxr *r;

	while ((r = b->waiting)) {
		b->waiting = r->next;
		r->next = NULL;
		r->waiting = false;
		r->deferred = true;
		http_req_defer(r->req, pxr_wake, r);
	}
}

/* --- Limits ------------------------------------------------------------------
 */

/* Whether size bytes of dg may come from m's upstream: under --max-blob
 * and within the store's free space.  who says the size ("its manifest"). */
static int pxb_size_ok(const struct reg_proxy *p, const struct px_map *m,
		       const struct digest *dg, int64_t size, const char *who,
		       struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct statvfs sv;
	uint64_t avail;

	if (p->max_blob && (uint64_t)size > p->max_blob)
		return err_set(e, ERR_UPSTREAM,
			       "upstream %s: blob %s has %" PRId64 " bytes (%s"
			       "), over --max-blob %zu",
			       m->r->host, digest_str(dg, ds), size, who,
			       p->max_blob);
	if (statvfs(p->data, &sv) < 0)
		return 0; /* the write will tell */
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if ((uint64_t)size > avail)
		return err_set(e, ERR_UPSTREAM,
			       "upstream %s: blob %s has %" PRId64 " bytes (%s"
			       "), more than the store's %" PRIu64 " free",
			       m->r->host, digest_str(dg, ds), size, who,
			       avail);
	return 0;
}

/* The most bytes b may grow to: its manifest's size, and --max-blob;
 * under p->lock. */
static int64_t pxb_cap(const struct pxb *b)
{
	int64_t cap = INT64_MAX;

	if (b->p->max_blob && b->p->max_blob < (uint64_t)INT64_MAX)
		cap = (int64_t)b->p->max_blob;
	if (b->expect >= 0 && b->expect < cap)
		cap = b->expect;
	return cap;
}

/* --- The fetch
 * ------------------------------------------------------------------ */

struct pxb_fetch {
	struct pxb *b;
	struct stor_upload *u;
	struct err err; /* why on_start or sink stopped */
};

static int pxb_on_start(void *arg, const struct ups_xfer *x)
{
	struct pxb_fetch *f = arg;
	struct pxb *b = f->b;
	char ds[DIGEST_STR_MAX];
	int64_t expect;

	pthread_mutex_lock(&b->p->lock);
	expect = b->expect;
	pthread_mutex_unlock(&b->p->lock);
	if (expect >= 0 && x->length >= 0 && x->length != expect)
		return err_set(&f->err, ERR_UPSTREAM,
			       "upstream %s: blob %s has %" PRId64
			       " bytes, its manifest says %" PRId64,
			       b->map.r->host, digest_str(&b->dg, ds),
			       x->length, expect);
	if (x->length >= 0 && pxb_size_ok(b->p, &b->map, &b->dg, x->length,
					  "its Content-Length", &f->err) < 0)
		return -1;
	pthread_mutex_lock(&b->p->lock);
	b->size = x->length;
	pxb_notify(b);
	pthread_mutex_unlock(&b->p->lock);
	return 0;
}

static int pxb_sink(void *arg, const void *data, size_t len)
{
	struct pxb_fetch *f = arg;
	struct pxb *b = f->b;
	char ds[DIGEST_STR_MAX];
	int64_t cap, have;
	bool sized;

	pthread_mutex_lock(&b->p->lock);
	cap = pxb_cap(b);
	have = b->have;
	sized = b->expect >= 0 && cap == b->expect;
	pthread_mutex_unlock(&b->p->lock);
	if ((uint64_t)have + len > (uint64_t)cap)
		return err_set(&f->err, ERR_UPSTREAM,
			       "upstream %s: blob %s goes on past %" PRId64
			       " bytes (%s); cut off",
			       b->map.r->host, digest_str(&b->dg, ds), cap,
			       sized ? "its manifest's size" : "--max-blob");
	if (stor_upload_write(f->u, data, len, &f->err) < 0)
		return -1;
	pthread_mutex_lock(&b->p->lock);
	b->have += (int64_t)len;
	pxb_notify(b);
	pthread_mutex_unlock(&b->p->lock);
	return 0;
}

/* Opens the upload the bytes go to, and its read side for the clients. */
static int pxb_open(struct pxb_fetch *f, char *id, struct err *e)
{
	struct stor *st = f->b->p->st;
	const char *repo = f->b->map.local;
	int fd;

	if (stor_upload_start(st, repo, id, e) < 0)
		return -1;
	if (stor_upload_take(st, repo, id, &f->u, e) < 0) {
		stor_upload_cancel(st, repo, id, NULL);
		return -1;
	}
	if (stor_upload_open_read(f->u, &fd, e) < 0)
		return -1;
	pthread_mutex_lock(&f->b->p->lock);
	f->b->fd = fd;
	pthread_mutex_unlock(&f->b->p->lock);
	return 0;
}

/* GET from the upstream into the upload; then the store checks the
 * digest and commits.  Fills e on failure. */
static int pxb_transfer(struct ups_conn *conn, struct pxb_fetch *f,
			struct err *e)
{
	struct pxb *b = f->b;
	char path[REG_NAME_MAX + 200], ds[DIGEST_STR_MAX];
	struct err sub = ERR_INIT;
	struct ups_xfer x;
	int ret = -1;

	ups_xfer_init(&x);
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", b->map.remote,
		 digest_str(&b->dg, ds));
	x.path = path;
	x.repo = b->map.remote;
	x.on_start = pxb_on_start;
	x.sink = pxb_sink;
	x.arg = f;
	if (ups_do(conn, b->map.r, &x, &sub) < 0) {
		if (x.sink_failed && f->err.code)
			sub = f->err;
		err_set(e, sub.code, "%s", sub.msg);
		goto out;
	}
	if (x.status != 200) {
		ups_error(b->map.r, &x, ERR_BLOB_UNKNOWN, e);
		goto out;
	}
	if (x.length >= 0 && stor_upload_offset(f->u) != x.length) {
		ups_note_fail(b->p->ups, UPS_FAIL_TRANSFER);
		err_set(e, ERR_UPSTREAM, "upstream %s: blob %s cut short",
			b->map.r->host, ds);
		goto out;
	}
	ret = 0;
out:
	ups_xfer_release(&x);
	return ret;
}

/* The store has the blob, for another repository: the upstream is asked
 * (a HEAD) whether this one has it too, since it, not our store, says what
 * a repository holds.  1: linked, and b->fd reads it; 0: not in the store;
 * -1: the upstream says no, or cannot be asked. */
static int pxb_confirm(struct ups_conn *conn, struct pxb *b, struct err *e)
{
	struct reg_proxy *p = b->p;
	char path[REG_NAME_MAX + 200], ds[DIGEST_STR_MAX];
	struct ups_xfer x;
	int64_t size;
	int fd, ret = -1;

	if (stor_blob_stat(p->st, NULL, &b->dg, &size, NULL) < 0)
		return 0;
	ups_xfer_init(&x);
	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", b->map.remote,
		 digest_str(&b->dg, ds));
	x.head = true;
	x.path = path;
	x.repo = b->map.remote;
	if (ups_do(conn, b->map.r, &x, e) < 0 ||
	    (x.status != 200 &&
	     ups_error(b->map.r, &x, ERR_BLOB_UNKNOWN, e) < 0))
		goto out;
	if (stor_blob_link(p->st, b->map.local, &b->dg, e) < 0 ||
	    stor_blob_open(p->st, b->map.local, &b->dg, &fd, &size, e) < 0)
		goto out;
	pthread_mutex_lock(&p->lock);
	b->fd = fd;
	b->have = size;
	pthread_mutex_unlock(&p->lock);
	ret = 1;
out:
	ups_xfer_release(&x);
	return ret;
}

/* Runs the fetch of b (state RUNNING, taken by this thread) to its end. */
static void pxb_run(struct ups_conn *conn, struct pxb *b)
{
	struct reg_proxy *p = b->p;
	struct pxb_fetch f = {b, NULL, ERR_INIT};
	char id[STOR_UPLOAD_ID_MAX], ds[DIGEST_STR_MAX];
	struct err e = ERR_INIT;
	struct pxb **pp;
	int rc;

	id[0] = '\0';
	rc = pxb_confirm(conn, b, &e);
	if (rc == 0) {
		rc = -1;
		if (pxb_open(&f, id, &e) == 0 &&
		    pxb_transfer(conn, &f, &e) == 0) {
			rc = stor_upload_finish(f.u, &b->dg, &e);
			f.u = NULL; /* consumed, either way */
			if (rc < 0 && e.code == ERR_DIGEST_INVALID) {
				/* Its fault, not the client's: a 502. */
				struct err why = e;

				ups_note_fail(p->ups, UPS_FAIL_CONTENT);
				err_clear(&e);
				err_set(&e, ERR_UPSTREAM,
					"upstream %s sent other content for "
					"blob %s; not stored (%s)",
					b->map.r->host, digest_str(&b->dg, ds),
					why.msg);
			}
		}
	} else if (rc == 1) {
		rc = 0;
	}
	if (f.u)
		stor_upload_release(f.u);
	/* Nothing half-fetched (or unverified) stays. */
	if (rc < 0 && id[0])
		stor_upload_cancel(p->st, b->map.local, id, NULL);
	digest_str(&b->dg, ds);
	if (rc < 0)
		log_msg(LL_WARN, "pull-through %s: blob %s: %s", b->map.local,
			ds, e.msg);
	pthread_mutex_lock(&p->lock);
	for (pp = &p->blobs; *pp; pp = &(*pp)->next) {
		if (*pp == b) {
			*pp = b->next;
			break;
		}
	}
	if (rc < 0) {
		b->err = e;
		b->state = PXB_FAILED;
	} else {
		b->size = b->have;
		b->state = PXB_DONE;
	}
	pxb_notify(b);
	pthread_cond_broadcast(&b->done);
	pthread_mutex_unlock(&p->lock);
	if (rc == 0)
		log_msg(LL_INFO,
			"pull-through %s: cached blob %s (%" PRId64
			" bytes) from %s",
			b->map.local, ds, b->have, b->map.r->host);
}

static void pxb_job(struct ups_conn *conn, void *arg)
{
	struct pxb *b = arg;
	struct reg_proxy *p = b->p;
	bool mine;

	pthread_mutex_lock(&p->lock);
	mine = b->state == PXB_QUEUED;
	if (mine)
		b->state = PXB_RUNNING;
	pthread_mutex_unlock(&p->lock);
	if (mine)
		pxb_run(conn, b);
	pthread_mutex_lock(&p->lock);
	pxb_unref(b);
	pthread_mutex_unlock(&p->lock);
}

/* The blob is in the store: link it to repo, check its size. */
static int pxb_present(struct reg_proxy *p, const char *repo,
		       const struct digest *dg, int64_t size, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	int64_t got;

	if (stor_blob_stat(p->st, repo, dg, &got, NULL) < 0 &&
	    (stor_blob_stat(p->st, NULL, dg, &got, e) < 0 ||
	     stor_blob_link(p->st, repo, dg, e) < 0))
		return -1;
	if (size >= 0 && got != size)
		return err_set(e, ERR_UPSTREAM,
			       "blob %s has %" PRId64 " bytes, its manifest "
			       "says %" PRId64,
			       digest_str(dg, ds), got, size);
	return 0;
}

int px_blob_ensure(struct ups_conn *conn, struct reg_proxy *p,
		   const struct px_map *m, const struct digest *dg,
		   int64_t size, struct err *e)
{
	struct pxb *b;
	bool run = false;
	struct err why;
	int ok;

	if (pxb_present(p, m->local, dg, size, NULL) == 0)
		return 0;
	if (size >= 0 &&
	    pxb_size_ok(p, m, dg, size, "its manifest says", e) < 0)
		return -1;
	pthread_mutex_lock(&p->lock);
	b = pxb_find(p, m->local, dg);
	if (!b) {
		b = pxb_new(p, m, dg, PXB_RUNNING);
		run = true;
	} else {
		b->refs++;
		run = b->state == PXB_QUEUED;
		if (run)
			b->state = PXB_RUNNING;
	}
	/* A client's fetch of it, running already, is bound by it too. */
	if (b->expect < 0)
		b->expect = size;
	pthread_mutex_unlock(&p->lock);
	if (run)
		pxb_run(conn, b);
	pthread_mutex_lock(&p->lock);
	while (b->state == PXB_RUNNING)
		pthread_cond_wait(&b->done, &p->lock);
	ok = b->state == PXB_DONE;
	why = b->err;
	pxb_unref(b);
	pthread_mutex_unlock(&p->lock);
	if (!ok)
		return err_set(e, why.code, "%s", why.msg);
	return pxb_present(p, m->local, dg, size, e);
}

/* --- Clients
 * ------------------------------------------------------------------ */

static void pxr_free(struct pxr *r)
{
	struct reg_proxy *p = r->b->p;

	pthread_mutex_lock(&p->lock);
	pxb_unref(r->b);
	pthread_mutex_unlock(&p->lock);
	free(r->buf);
	free(r);
}

/* The request ended (http_req_attach()): a client that went away may
 * still be on the list. */
static void pxr_end(void *ptr, bool gone)
{
	struct pxr *r = ptr, **pp;
	struct reg_proxy *p = r->b->p;

	(void)gone;
	/* A pending wake-up is dropped by the HTTP layer. */
	pthread_mutex_lock(&p->lock);
	for (pp = &r->b->waiting; r->waiting && *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	pxr_free(r);
}

static void pxr_fail(struct pxr *r, const struct err *e)
{
	if (r->started)
		http_reply_abort(r->req);
	else
		reg_reply_error(r->req, e);
}

static void pxr_pump(struct pxr *r);

static void pxr_drain(struct http_req *req, void *arg)
{
	(void)req;
	pxr_pump(arg);
}

/* Sends the head once the size is known: 200, 206 for a range (416 if
 * it cannot be), HEAD's headers only.  -1: replied (an error); 0: the
 * reply is complete; 1: the body is to follow. */
static int pxr_begin(struct pxr *r, int64_t size)
{
	char dg[DIGEST_STR_MAX], etag[DIGEST_STR_MAX + 2], range[96];
	int64_t off = 0, len = size;
	int status = 200, rr;

	digest_str(&r->b->dg, dg);
	snprintf(etag, sizeof(etag), "\"%s\"", dg);
	r->started = true;
	rr = http_parse_range(http_req_header(r->req, "Range"), size, &off,
			      &len);
	if (rr < 0) {
		snprintf(range, sizeof(range), "bytes */%" PRId64, size);
		http_reply_header(r->req, "Content-Range", range);
		reg_reply_errorf(r->req, ERR_RANGE_INVALID,
				 "range not satisfiable for a blob of %" PRId64
				 " bytes",
				 size);
		return -1;
	}
	if (rr == 1) {
		snprintf(range, sizeof(range),
			 "bytes %" PRId64 "-%" PRId64 "/%" PRId64, off,
			 off + len - 1, size);
		http_reply_header(r->req, "Content-Range", range);
		status = 206;
	}
	http_reply_header(r->req, "Docker-Content-Digest", dg);
	http_reply_header(r->req, "ETag", etag);
	http_reply_header(r->req, "Accept-Ranges", "bytes");
	http_reply_header(r->req, "Docker-Distribution-API-Version",
			  "registry/2.0");
	r->off = off;
	r->end = off + len;
	if (!http_reply_start(r->req, status, "application/octet-stream", len,
			      pxr_drain, r))
		return 0;
	r->buf = xmalloc(PXR_PIECE);
	return 1;
}

/* Sends what it may of [off, lim); false when the reply broke. */
static bool pxr_send(struct pxr *r, int fd, int64_t lim)
{
	for (int i = 0; i < PXR_PIECES && r->off < lim; i++) {
		size_t want = lim - r->off < PXR_PIECE ? (size_t)(lim - r->off)
						       : PXR_PIECE;
		ssize_t n = pread(fd, r->buf, want, r->off);

		if (n <= 0) {
			http_req_logf(r->req, LL_ERROR,
				      "reading a blob being fetched: %s",
				      strerror(n < 0 ? errno : EIO));
			return false;
		}
		if (http_reply_write(r->req, r->buf, (size_t)n) < 0)
			return false;
		r->off += n;
	}
	return true;
}

/* Moves the reply on: called when the client joins, when its output has
 * drained, and when the fetch wakes it. */
static void pxr_pump(struct pxr *r)
{
	struct pxb *b = r->b;
	struct reg_proxy *p = b->p;
	int64_t avail, lim, size;
	struct err e;
	int fd, rc;

	pthread_mutex_lock(&p->lock);
	if (r->deferred) {
		/* The wake-up on its way pumps again. */
		pthread_mutex_unlock(&p->lock);
		return;
	}
	/* A blob within PXB_HOLD (or of a size not said) once verified. */
	if (!r->started && b->state != PXB_FAILED &&
	    (b->size > PXB_HOLD || b->state == PXB_DONE)) {
		size = b->state == PXB_DONE ? b->have : b->size;
		pthread_mutex_unlock(&p->lock);
		rc = pxr_begin(r, size);
		if (rc <= 0)
			return;
		pthread_mutex_lock(&p->lock);
	}
	if (b->state == PXB_FAILED) {
		e = b->err;
		pthread_mutex_unlock(&p->lock);
		pxr_fail(r, &e);
		return;
	}
	/* Everything once committed; else all but the last PXB_HOLD. */
	avail = b->state == PXB_DONE	       ? b->have
		: b->have < b->size - PXB_HOLD ? b->have
					       : b->size - PXB_HOLD;
	lim = avail < r->end ? avail : r->end;
	if (!r->started || r->off >= lim) {
		if (!r->waiting) {
			r->waiting = true;
			r->next = b->waiting;
			b->waiting = r;
		}
		pthread_mutex_unlock(&p->lock);
		return;
	}
	fd = b->fd;
	pthread_mutex_unlock(&p->lock);
	if (!pxr_send(r, fd, lim))
		http_reply_abort(r->req);
}

static void pxr_wake(struct http_req *req, void *arg)
{
	struct pxr *r = arg;

	(void)req;
	pthread_mutex_lock(&r->b->p->lock);
	r->deferred = false;
	pthread_mutex_unlock(&r->b->p->lock);
	pxr_pump(r);
}

void px_blob_follow(struct reg_proxy *p, struct http_req *req,
		    const struct px_map *map, const struct digest *dg)
{
	struct pxr *r = xcalloc(1, sizeof(*r));
	struct pxb *b;
	bool start = false;

	r->req = req;
	pthread_mutex_lock(&p->lock);
	b = pxb_find(p, map->local, dg);
	if (!b) {
		b = pxb_new(p, map, dg, PXB_QUEUED);
		start = true;
	}
	b->refs++;
	r->b = b;
	pthread_mutex_unlock(&p->lock);
	http_req_attach(req, r, pxr_end);
	if (start)
		ups_submit(p->ups, pxb_job, b);
	pxr_pump(r);
}

void px_blob_get(struct reg_proxy *p, struct reg_call *c,
		 const struct px_map *map)
{
	struct err e = ERR_INIT;
	int64_t size;
	bool running;

	/* Only a blob of this repository is served without the upstream. */
	if (stor_blob_stat(p->st, map->local, &c->digest, &size, &e) == 0) {
		px_count(p, REG_PROXY_BLOB, REG_PROXY_HIT);
		api_blob_get(c);
		return;
	}
	if (e.code != ERR_BLOB_UNKNOWN && e.code != ERR_NAME_UNKNOWN) {
		reg_reply_error(c->req, &e);
		return;
	}
	/* A part of a blob neither stored nor on its way: just that part
	 * (proxy_part.c).  One stored for another repository costs only a
	 * HEAD upstream (pxb_confirm()). */
	px_count(p, REG_PROXY_BLOB, REG_PROXY_MISS);
	pthread_mutex_lock(&p->lock);
	running = pxb_find(p, map->local, &c->digest) != NULL;
	pthread_mutex_unlock(&p->lock);
	if (!running && px_part_wanted(c->req) &&
	    stor_blob_stat(p->st, NULL, &c->digest, &size, NULL) < 0) {
		px_part_get(p, c->req, map, &c->digest);
		return;
	}
	px_blob_follow(p, c->req, map, &c->digest);
}
