/* api_upload.c: blob uploads (/v2/<name>/blobs/uploads/...).
 *
 * A request that carries blob bytes (PATCH, the closing PUT, a monolithic
 * POST) takes the upload session from storage, streams the body into it
 * piece by piece and gives it back when the request ends, whichever way it
 * ends: reply, error, or the client going away (its destructor).  The
 * session therefore stays resumable after a broken connection.
 *
 * Under --quota each piece is counted against the repository as it is
 * written (reg_quota_reserve()), so the data of uploads in progress counts
 * as much as stored blobs: parallel uploads cannot pass the quota
 * together.  New sessions are bounded per repository and per client
 * (--max-uploads-per-repo, --max-uploads-per-client: 429 above).
 *
 * Every step that touches the database or waits on the disk runs on a work
 * thread (work_int.h) and the request goes on from there: opening, taking and
 * giving back a session (sqlite writes), a mount, a cancel, and the finish
 * (an fsync, and a read of all the data when the running sha256 does not
 * give the digest: a sha512 one, or after a crash).  The loop only moves
 * the body's bytes into the session.
 */
#include "registry/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "registry/authz_int.h"
#include "registry/maint_int.h"
#include "registry/reply_int.h"
#include "registry/scan/scan.h"
#include "registry/work_int.h"
#include "common/banned.h"

enum up_kind {
	UP_PATCH, /* a chunk: 202 */
	UP_PUT,	  /* the closing PUT: 201 */
	UP_POST,  /* a monolithic POST: 201; the session is ours alone */
};

/* A request streaming into an upload.  Attached to the request, except
 * while a work job has it (a write, the finish, the give-back): then the
 * job's done frees it, or attaches it again. */
struct up_state {
	struct reg_ctx *ctx;
	struct stor_upload *up; /* NULL once given back or consumed */
	enum up_kind kind;
	char name[REG_NAME_MAX + 1];
	char id[STOR_UPLOAD_ID_MAX];
	struct digest expected; /* UP_PUT, UP_POST */
	enum digest_alg alg;	/* the session's ?digest-algorithm= */
	int64_t left;		/* bytes Content-Range still allows; -1: any */
	/* The finish or the give-back, on a work thread: the handle the
	 * finish consumes, the size, and the outcome to reply with. */
	struct stor_upload *fin;
	int64_t fin_size;
	int fin_rc;
	struct err fin_err;
	bool fin_where; /* the reply says where the upload stands */
	/* The loop gathers the body in pend; a work thread writes (and
	 * hashes) it a piece at a time from wbuf, so that a disk that
	 * stalls stalls this upload, not the loop's other clients. */
	char *pend, *wbuf;
	size_t pend_len, pend_cap, wbuf_cap, wlen;
	bool writing;	  /* a write is out: the pool has s->up */
	bool paused;	  /* the body waits for it */
	bool ended;	  /* the body is all here */
	int64_t received; /* offset, as the loop counts it */
	int64_t written;  /* of that, in the session */
	int wrc;
	struct err werr;
	bool wfailed; /* a write failed: pend is dropped */
	bool failed;  /* reply ferr once no write is out */
	struct err ferr;
};

/* What arrives while a piece is written is the next piece; the body
 * pauses once that much waits. */
#define UP_PIECE (512 * 1024)

/* What a request needs of a session before its body flows (POST, PATCH,
 * PUT, GET status), got on a work thread: the request's head is parsed
 * on the loop into these fields first. */
struct up_open {
	struct reg_ctx *ctx;
	enum up_kind kind;
	bool fresh;  /* POST: a new session */
	bool status; /* GET: only the offset */
	bool mount;  /* POST ?mount=: link mount_dg if it exists */
	bool has_from;
	char name[REG_NAME_MAX + 1];
	char from[REG_NAME_MAX + 1];
	char id[STOR_UPLOAD_ID_MAX];
	char client[320];
	struct digest mount_dg;
	struct digest dg;    /* UP_PUT, UP_POST */
	enum digest_alg alg; /* ?digest-algorithm= (end-4c) */
	bool has_range;	     /* Content-Range: start-end */
	bool bad_range;	     /* malformed: e says why */
	int64_t start, end, cl;
	/* The outcome. */
	int rc;		       /* -1 error, 0 a session, 1 mounted */
	bool taken;	       /* offset is the session's */
	struct stor_upload *u; /* the session taken, to stream into */
	int64_t offset, left;
	struct err e;
};

/* The session's algorithm rides in its Location (the spec lets the
 * registry keep state there): every later request carries it back, so it
 * outlives a restart without a column of its own. */
static void up_location(struct http_req *req, const char *name, const char *id,
			enum digest_alg alg)
{
	char *loc = xasprintf("/v2/%s/blobs/uploads/%s%s%s", name, id,
			      alg == DIGEST_SHA256 ? "" : "?digest-algorithm=",
			      alg == DIGEST_SHA256 ? "" : digest_alg_name(alg));

	http_reply_header(req, "Location", loc);
	http_reply_header(req, "Docker-Upload-UUID", id);
	free(loc);
}

/* Range: 0-<last byte received>; "0-0" before the first byte, as CNCF
 * distribution does and clients expect. */
static void up_range(struct http_req *req, int64_t offset)
{
	char v[48];

	snprintf(v, sizeof(v), "0-%lld",
		 (long long)(offset > 0 ? offset - 1 : 0));
	http_reply_header(req, "Range", v);
}

static void up_blob_location(struct http_req *req, const char *name,
			     const struct digest *dg)
{
	char s[DIGEST_STR_MAX], *loc;

	digest_str(dg, s);
	loc = xasprintf("/v2/%s/blobs/%s", name, s);
	http_reply_header(req, "Location", loc);
	http_reply_header(req, "Docker-Content-Digest", s);
	free(loc);
}

static void up_state_destroy(struct up_state *s)
{
	free(s->pend);
	free(s->wbuf);
	free(s);
}

/* Gives the session back (or, for a monolithic POST, deletes it: nobody
 * else knows its id).  On a work thread: it writes to the database. */
static void up_giveback_run(void *arg)
{
	struct up_state *s = arg;
	struct err e = ERR_INIT;
	int64_t size;

	if (!s->up)
		return;
	/* What arrived before the end stays in the session, resumable. */
	if (s->pend_len &&
	    stor_upload_write(s->up, s->pend, s->pend_len, &e) < 0)
		reg_quota_add(s->ctx->quota, s->name, -(int64_t)s->pend_len);
	s->pend_len = 0;
	size = stor_upload_offset(s->up);
	s->fin_size = size;
	stor_upload_release(s->up);
	s->up = NULL;
	if (s->kind == UP_POST &&
	    stor_upload_cancel(s->ctx->st, s->name, s->id, NULL) == 0)
		reg_quota_add(s->ctx->quota, s->name, -size);
}

/* Back on the loop, the session given back: the reply (the client may
 * take the session again at once), then the state goes. */
static void up_giveback_done(struct http_req *req, void *arg)
{
	struct up_state *s = arg;

	up_giveback_run(s); /* shutdown: the pool did not get to it */
	if (req && s->fin_where) {
		up_location(req, s->name, s->id, s->alg);
		up_range(req, s->fin_size);
	}
	if (req && s->fin_rc < 0)
		reg_reply_error(req, &s->fin_err);
	else if (req)
		reg_reply_status(req, 202);
	up_state_destroy(s);
}

/* Frees the state; a session it still holds is given back on the pool,
 * no request waiting. */
static void up_state_free(struct up_state *s)
{
	if (!s->up) {
		up_state_destroy(s);
		return;
	}
	reg_work_call(s->ctx->work, NULL, up_giveback_run, up_giveback_done, s);
}

/* Gives the session back, then replies with e (NULL: 202); where: with
 * Location and Range. */
static void up_giveback_reply(struct http_req *req, struct up_state *s,
			      const struct err *e, bool where)
{
	s->fin_rc = e ? -1 : 0;
	if (e)
		s->fin_err = *e;
	s->fin_where = where;
	/* The job takes s; up_giveback_done() frees it. */
	http_req_detach(req, s);
	reg_work_call(s->ctx->work, req, up_giveback_run, up_giveback_done, s);
}

static void up_state_dtor(void *ptr, bool gone);
static void up_end(struct http_req *req, struct up_state *s);

/* On a work thread: one piece into the session. */
static void up_write_run(void *arg)
{
	struct up_state *s = arg;

	s->wrc = stor_upload_write(s->up, s->wbuf, s->wlen, &s->werr);
}

/* The piece is written (or not): count it. */
static void up_write_landed(struct up_state *s)
{
	s->writing = false;
	if (s->wrc < 0 && !s->failed) {
		s->failed = true;
		s->wfailed = true;
		s->ferr = s->werr;
	} else if (s->wrc == 0) {
		s->written += (int64_t)s->wlen;
	}
}

static void up_write_done(struct http_req *req, void *arg);

/* Hands what pend holds to a work thread (or, its queue full, writes it
 * here). */
static void up_write_start(struct http_req *req, struct up_state *s)
{
	char *b = s->wbuf;
	size_t cap = s->wbuf_cap;

	s->wbuf = s->pend;
	s->wbuf_cap = s->pend_cap;
	s->wlen = s->pend_len;
	s->pend = b;
	s->pend_cap = cap;
	s->pend_len = 0;
	s->writing = true;
	if (s->ctx->work && reg_work_run_bulk(s->ctx->work, req, up_write_run,
					      up_write_done, s) == 0) {
		/* The job has s until up_write_done(): the request ending
		 * meanwhile must not free it under the write. */
		http_req_detach(req, s);
		return;
	}
	up_write_run(s);
	up_write_landed(s);
}

/* Fails the upload once no write is out: the session goes back to
 * storage with what was received before the failure (after a failed
 * write, without it: those bytes go back to the quota), then the reply. */
static void up_fail(struct http_req *req, struct up_state *s)
{
	if (s->wfailed) {
		reg_quota_add(s->ctx->quota, s->name,
			      -(s->received - s->written));
		s->pend_len = 0;
	}
	up_giveback_reply(req, s, &s->ferr, false);
}

/* After a write: the next piece, the body again, or its end. */
static void up_write_next(struct http_req *req, struct up_state *s)
{
	while (!s->failed && !s->writing && s->pend_len)
		up_write_start(req, s);
	if (s->failed && !s->writing) {
		up_fail(req, s);
		return;
	}
	if (s->paused && s->pend_len < UP_PIECE) {
		s->paused = false;
		http_req_resume(req);
	}
	if (s->ended && !s->writing)
		up_end(req, s);
}

/* Back on the loop (req NULL: the client left). */
static void up_write_done(struct http_req *req, void *arg)
{
	struct up_state *s = arg;

	up_write_landed(s);
	if (!req) {
		up_state_free(s);
		return;
	}
	http_req_attach(req, s, up_state_dtor);
	up_write_next(req, s);
}

/* Room for a piece and the read that completes it, or for need. */
static void up_pend_grow(struct up_state *s, size_t need)
{
	s->pend_cap =
		need > UP_PIECE + UP_PIECE / 2 ? need : UP_PIECE + UP_PIECE / 2;
	s->pend = xrealloc(s->pend, s->pend_cap);
}

/* The body is read straight into pend's free end: the loop copies no
 * byte of it (http_req_body_buf()).  While a piece is written, pend has
 * UP_PIECE / 2 free at least (up_on_data() pauses the body). */
static void *up_body_buf(struct http_req *req, size_t *cap, void *arg)
{
	struct up_state *s = arg;

	(void)req;
	if (s->pend_cap - s->pend_len < UP_PIECE / 2)
		up_pend_grow(s, s->pend_len + UP_PIECE / 2);
	*cap = s->pend_cap - s->pend_len;
	return s->pend + s->pend_len;
}

static int up_on_data(struct http_req *req, const void *data, size_t len,
		      void *arg)
{
	struct up_state *s = arg;
	struct err e = ERR_INIT;

	if (s->left >= 0 && (uint64_t)len > (uint64_t)s->left) {
		err_set(&e, ERR_SIZE_INVALID,
			"body is longer than its Content-Range");
		goto fail;
	}
	if (s->ctx->cfg->max_blob &&
	    (uint64_t)s->received + len > s->ctx->cfg->max_blob) {
		err_set(&e, ERR_TOO_LARGE, "blobs are limited to %zu bytes",
			s->ctx->cfg->max_blob);
		goto fail;
	}
	if (reg_quota_reserve(s->ctx->quota, s->name, (int64_t)len, &e) < 0)
		goto fail;
	/* Read in place (up_body_buf()), or else copied here. */
	if (!s->pend || data != s->pend + s->pend_len) {
		if (s->pend_len + len > s->pend_cap)
			up_pend_grow(s, s->pend_len + len);
		memcpy(s->pend + s->pend_len, data, len);
	}
	s->pend_len += len;
	s->received += (int64_t)len;
	if (s->left >= 0)
		s->left -= (int64_t)len;
	if (!s->writing)
		up_write_start(req, s);
	if (s->failed && !s->writing) {
		up_fail(req, s);
		return -1;
	}
	if (s->writing && s->pend_len >= UP_PIECE) {
		s->paused = true;
		return 1;
	}
	return 0;
fail:
	if (!s->failed) {
		s->failed = true;
		s->ferr = e;
	}
	if (!s->writing) /* else up_write_done replies */
		up_fail(req, s);
	return -1;
}

/* On a work thread (or inline without a pool): the blocking part. */
static void up_finish_run(void *arg)
{
	struct up_state *s = arg;

	/* finish consumes the handle, whatever it returns.  The bytes were
	 * counted against the quota as they came: given back only when
	 * the upload is gone (a digest mismatch deletes it). */
	s->fin_rc = stor_upload_finish(s->fin, &s->expected, &s->fin_err);
	s->fin = NULL;
	if (s->fin_rc == 0)
		reg_scan_layer_uploaded(s->ctx->scan, &s->expected);
	if (s->fin_rc < 0 &&
	    (s->fin_err.code == ERR_DIGEST_INVALID ||
	     (s->kind == UP_POST &&
	      stor_upload_cancel(s->ctx->st, s->name, s->id, NULL) == 0)))
		reg_quota_add(s->ctx->quota, s->name, -s->fin_size);
}

/* Back on the loop (req NULL: the client left; nothing to say). */
static void up_finish_done(struct http_req *req, void *arg)
{
	struct up_state *s = arg;

	if (req && s->fin_rc < 0) {
		reg_reply_error(req, &s->fin_err);
	} else if (req) {
		up_blob_location(req, s->name, &s->expected);
		reg_reply_status(req, 201);
	}
	up_state_free(s);
}

static void up_finish(struct http_req *req, struct up_state *s)
{
	/* The job takes s; up_finish_done() frees it. */
	http_req_detach(req, s);
	s->fin = s->up;
	s->fin_size = stor_upload_offset(s->up);
	s->up = NULL;
	reg_work_call(s->ctx->work, req, up_finish_run, up_finish_done, s);
}

/* The body is all here and written. */
static void up_end(struct http_req *req, struct up_state *s)
{
	struct err e = ERR_INIT;

	if (s->left > 0) {
		err_set(&e, ERR_SIZE_INVALID,
			"body is %lld bytes shorter than its Content-Range",
			(long long)s->left);
		up_giveback_reply(req, s, &e, true);
	} else if (s->kind == UP_PATCH) {
		up_giveback_reply(req, s, NULL, true);
	} else {
		up_finish(req, s);
	}
}

static void up_on_end(struct http_req *req, void *arg)
{
	struct up_state *s = arg;

	s->ended = true;
	if (!s->writing) /* else up_write_done goes on */
		up_write_next(req, s);
}

static void up_state_dtor(void *ptr, bool gone)
{
	/* Not while a job has s: it is detached then. */
	(void)gone;
	up_state_free(ptr);
}

/* Streams the request body into u (which the state now owns). */
static void up_stream(struct reg_ctx *ctx, struct http_req *req,
		      const struct up_open *o, struct stor_upload *u,
		      const struct digest *expected)
{
	struct up_state *s = xcalloc(1, sizeof(*s));
	const char *name = o->name;
	enum up_kind kind = o->kind;
	int64_t left = o->left;

	s->ctx = ctx;
	s->alg = o->alg;
	s->up = u;
	s->kind = kind;
	s->left = left;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->id, sizeof(s->id), "%s", stor_upload_id(u));
	if (expected)
		s->expected = *expected;
	if (!req) { /* the client left while the session was taken */
		up_state_free(s);
		return;
	}
	http_req_attach(req, s, up_state_dtor);
	http_req_body(req, up_on_data, up_on_end, s);
	http_req_body_buf(req, up_body_buf);
}

/* Parses Content-Range (if any) and Content-Length into o; they are
 * checked once the session is taken (an unknown session is the error to
 * report first). */
static void up_parse_range(struct reg_call *c, struct up_open *o)
{
	const char *cr = http_req_header(c->req, "Content-Range");

	o->cl = http_req_content_length(c->req);
	o->has_range = cr != NULL;
	if (cr && reg_parse_content_range(cr, strlen(cr), &o->start, &o->end,
					  &o->e) < 0)
		o->bad_range = true;
}

/* Checks the parsed Content-Range against the session's offset and the
 * declared length; sets o->left to the bytes the range covers (-1: no
 * Content-Range). */
static int up_check_range(struct up_open *o, struct err *e)
{
	o->left = -1;
	if (o->bad_range)
		return -1;
	if (!o->has_range)
		return 0;
	if (o->start != o->offset)
		return err_set(e, ERR_RANGE_INVALID,
			       "chunk starts at %lld, the upload is at %lld",
			       (long long)o->start, (long long)o->offset);
	if (o->cl >= 0 && o->cl != o->end - o->start + 1)
		return err_set(e, ERR_SIZE_INVALID,
			       "Content-Length %lld does not match "
			       "Content-Range %lld-%lld",
			       (long long)o->cl, (long long)o->start,
			       (long long)o->end);
	o->left = o->end - o->start + 1;
	return 0;
}

/* ?digest-algorithm= (end-4c) into o->alg: given at POST, then carried
 * back by the Location.  The finish hashes with the closing PUT's digest,
 * so an algorithm we cannot hash is refused now, before the blob is
 * sent, and a PUT whose digest is of another algorithm is refused. */
static int up_alg_param(struct reg_call *c, struct up_open *o, struct err *e)
{
	const char *q = http_req_query_param(c->req, "digest-algorithm");

	o->alg = DIGEST_SHA256;
	if (q && digest_alg_parse(q, strlen(q), &o->alg, e) < 0)
		return -1;
	if (q && (o->kind == UP_PUT || o->kind == UP_POST) &&
	    o->dg.alg != o->alg) {
		char s[DIGEST_STR_MAX];

		return err_set(e, ERR_DIGEST_INVALID,
			       "digest %s is not of the session's "
			       "digest-algorithm %s",
			       digest_str(&o->dg, s), q);
	}
	return 0;
}

/* The `digest` query parameter of a closing PUT or a monolithic POST. */
static int up_digest_param(struct reg_call *c, struct digest *out,
			   struct err *e)
{
	const char *q = http_req_query_param(c->req, "digest");

	if (!q)
		return err_set(e, ERR_DIGEST_INVALID,
			       "the digest query parameter is required");
	return digest_parse(q, strlen(q), out, e);
}

/* On the pool: links mount_dg from the source.  1 if linked, 0 if a fresh
 * session should start instead, -1 on failure. */
static int up_mount_run(struct up_open *o)
{
	const char *from = o->has_from ? o->from : NULL;
	struct err sub = ERR_INIT;
	int64_t size;

	/* Without `from` any blob in the store may be mounted (the spec
	 * allows it); either way a blob we do not have means a new
	 * session. */
	if (stor_blob_stat(o->ctx->st, from, &o->mount_dg, &size, &sub) < 0) {
		if (sub.code != ERR_BLOB_UNKNOWN &&
		    sub.code != ERR_NAME_UNKNOWN)
			return err_set(&o->e, sub.code, "%s", sub.msg);
		return 0;
	}
	if (reg_quota_check(o->ctx->quota, o->name, size, &o->e) < 0 ||
	    stor_blob_link(o->ctx->st, o->name, &o->mount_dg, &o->e) < 0)
		return -1;
	reg_quota_add(o->ctx->quota, o->name, size);
	return 1;
}

/* On the pool: a new session (POST). */
static int up_start_run(struct up_open *o)
{
	struct stor_upload_limits lim;
	struct stor *st = o->ctx->st;

	lim.client = o->client;
	lim.max_per_repo = o->ctx->cfg->max_uploads_per_repo;
	lim.max_per_client = o->ctx->cfg->max_uploads_per_client;
	if (reg_quota_check(o->ctx->quota, o->name, 0, &o->e) < 0 ||
	    stor_upload_start_limited(st, o->name, &lim, o->id, &o->e) < 0)
		return -1;
	if (o->kind != UP_POST)
		return 0;
	if (stor_upload_take(o->ctx->st, o->name, o->id, &o->u, &o->e) < 0) {
		stor_upload_cancel(o->ctx->st, o->name, o->id, NULL);
		return -1;
	}
	return 0;
}

/* On the pool: takes an existing session (PATCH, PUT, GET status). */
static int up_take_run(struct up_open *o)
{
	struct stor_upload *u;

	if (o->status) /* read without taking: a poll never blocks a write */
		return stor_upload_status(o->ctx->st, o->name, o->id,
					  &o->offset, &o->e);
	/* The usage now, so that the pieces' reservations need no scan. */
	if (reg_quota_check(o->ctx->quota, o->name, 0, &o->e) < 0)
		return -1;
	if (stor_upload_take(o->ctx->st, o->name, o->id, &u, &o->e) < 0)
		return -1;
	o->offset = stor_upload_offset(u);
	o->taken = true;
	if (up_check_range(o, &o->e) < 0) {
		stor_upload_release(u);
		return -1;
	}
	o->u = u;
	return 0;
}

static void up_open_run(void *arg)
{
	struct up_open *o = arg;

	o->rc = o->mount ? up_mount_run(o) : 0;
	if (o->rc)
		return;
	o->rc = o->fresh ? up_start_run(o) : up_take_run(o);
}

/* Back on the loop: reply, or stream the body into the session. */
static void up_open_done(struct http_req *req, void *arg)
{
	struct up_open *o = arg;

	if (o->u) { /* the body goes in (or, req NULL, it is given back) */
		up_stream(o->ctx, req, o, o->u,
			  o->kind == UP_PATCH ? NULL : &o->dg);
	} else if (req && o->rc < 0) {
		if (o->e.code == ERR_RANGE_INVALID && o->taken) {
			up_location(req, o->name, o->id, o->alg);
			up_range(req, o->offset);
		}
		reg_reply_error(req, &o->e);
	} else if (req && o->rc > 0) {
		up_blob_location(req, o->name, &o->mount_dg);
		reg_reply_status(req, 201);
	} else if (req) { /* a session for PATCH/PUT, or its status */
		up_location(req, o->name, o->id, o->alg);
		up_range(req, o->offset);
		reg_reply_status(req, o->status ? 204 : 202);
	}
	free(o);
}

static struct up_open *up_open_new(struct reg_call *c, enum up_kind kind)
{
	struct up_open *o = xcalloc(1, sizeof(*o));

	o->ctx = c->ctx;
	o->kind = kind;
	o->left = -1;
	memcpy(o->name, c->name, sizeof(o->name));
	snprintf(o->id, sizeof(o->id), "%s", c->upload_id);
	return o;
}

/* POST ?mount=<digest>[&from=<repo>]: fills o for the pool (o->mount
 * false: a fresh session without trying); 0, or -1 after an error
 * reply. */
static int up_mount_prepare(struct reg_call *c, const char *mount,
			    struct up_open *o)
{
	const char *from = http_req_query_param(c->req, "from");
	struct err e = ERR_INIT;
	int may;

	if (digest_parse(mount, strlen(mount), &o->mount_dg, &e) < 0 ||
	    (from && reg_parse_name(from, strlen(from), o->from, &e) < 0)) {
		reg_reply_error(c->req, &e);
		return -1;
	}
	o->has_from = from != NULL;
	/* Linking needs pull on the source (authz_int.h). */
	may = reg_authz_mount(c, from ? o->from : NULL);
	if (may < 0)
		return -1;
	o->mount = may > 0;
	return 0;
}

/* Who opens a session, for --max-uploads-per-client: the signed-in user,
 * else the address. */
static void up_client(const struct reg_call *c, char *out, size_t size)
{
	if (c->who && c->who->user)
		snprintf(out, size, "user %s", c->who->user);
	else
		snprintf(out, size, "address %s", http_req_peer(c->req));
}

enum reg_status api_upload_start(struct reg_call *c)
{
	const char *mount = http_req_query_param(c->req, "mount");
	const char *dgq = http_req_query_param(c->req, "digest");
	struct up_open *o = up_open_new(c, UP_PATCH);
	struct err e = ERR_INIT;

	o->fresh = true;
	if (mount && up_mount_prepare(c, mount, o) < 0) {
		free(o);
		return REG_DONE;
	}
	if (!mount && dgq) {
		/* A monolithic POST: the body is the blob. */
		if (digest_parse(dgq, strlen(dgq), &o->dg, &e) < 0) {
			reg_reply_error(c->req, &e);
			free(o);
			return REG_DONE;
		}
		o->kind = UP_POST;
	}
	if (up_alg_param(c, o, &e) < 0) {
		reg_reply_error(c->req, &e);
		free(o);
		return REG_DONE;
	}
	up_client(c, o->client, sizeof(o->client));
	reg_work_call(c->ctx->work, c->req, up_open_run, up_open_done, o);
	return REG_DEFERRED;
}

enum reg_status api_upload_status(struct reg_call *c)
{
	struct up_open *o = up_open_new(c, UP_PATCH);
	struct err e = ERR_INIT;

	o->status = true;
	if (up_alg_param(c, o, &e) < 0) {
		reg_reply_error(c->req, &e);
		free(o);
		return REG_DONE;
	}
	reg_work_call(c->ctx->work, c->req, up_open_run, up_open_done, o);
	return REG_DEFERRED;
}

/* PATCH and the closing PUT. */
static enum reg_status up_append(struct reg_call *c, enum up_kind kind)
{
	struct up_open *o = up_open_new(c, kind);
	struct err e = ERR_INIT;

	if ((kind == UP_PUT && up_digest_param(c, &o->dg, &e) < 0) ||
	    up_alg_param(c, o, &e) < 0) {
		reg_reply_error(c->req, &e);
		free(o);
		return REG_DONE;
	}
	up_parse_range(c, o);
	reg_work_call(c->ctx->work, c->req, up_open_run, up_open_done, o);
	return REG_DEFERRED;
}

enum reg_status api_upload_patch(struct reg_call *c)
{
	return up_append(c, UP_PATCH);
}

enum reg_status api_upload_put(struct reg_call *c)
{
	return up_append(c, UP_PUT);
}

/* DELETE, on the pool. */
struct up_cancel {
	struct reg_work_job job;
	char id[REG_UPLOAD_ID_MAX + 1];
};

static int up_cancel_call(struct reg_work_job *j, struct err *e)
{
	struct up_cancel *u = (struct up_cancel *)j;

	return stor_upload_cancel(j->st, j->name, u->id, e);
}

enum reg_status api_upload_cancel(struct reg_call *c)
{
	struct up_cancel *u = reg_work_job_new(sizeof(*u), up_cancel_call, 204,
					       c->ctx->st, c->name);

	memcpy(u->id, c->upload_id, sizeof(u->id));
	reg_work_reply(c->ctx->work, c->req, &u->job);
	return REG_DEFERRED;
}
