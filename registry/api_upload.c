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
 * Finishing blocks (an fsync, and a read of all the data when the running
 * sha256 does not give the digest: a sha512 one, or after a crash), so it
 * runs on a work thread (work.h) and the reply comes from there.
 */
#include "registry/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "registry/authz.h"
#include "registry/maint.h"
#include "registry/reply.h"
#include "registry/work.h"
#include "common/banned.h"

enum up_kind {
	UP_PATCH, /* a chunk: 202 */
	UP_PUT,	  /* the closing PUT: 201 */
	UP_POST,  /* a monolithic POST: 201; the session is ours alone */
};

/* A request streaming into an upload; freed when the request ends. */
struct up_state {
	struct reg_ctx *ctx;
	struct http_req *req;
	struct stor_upload *up; /* NULL once given back or consumed */
	enum up_kind kind;
	char name[REG_NAME_MAX + 1];
	char id[STOR_UPLOAD_ID_MAX];
	struct digest expected; /* UP_PUT, UP_POST */
	int64_t left;		/* bytes Content-Range still allows; -1: any */
	/* The finish, on a work thread: the handle it consumes, its size,
	 * and the outcome. */
	struct stor_upload *fin;
	int64_t fin_size;
	int fin_rc;
	struct err fin_err;
};

static void up_location(struct http_req *req, const char *name, const char *id)
{
	char *loc = xasprintf("/v2/%s/blobs/uploads/%s", name, id);

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

/* Gives the session back (or, for a monolithic POST, deletes it: nobody
 * else knows its id).  Before a reply: the client's next request may come
 * on another connection at once. */
static void up_release(struct up_state *s)
{
	int64_t size;

	if (s->up) {
		size = stor_upload_offset(s->up);
		stor_upload_release(s->up);
		s->up = NULL;
		if (s->kind == UP_POST &&
		    stor_upload_cancel(s->ctx->st, s->name, s->id, NULL) == 0)
			reg_quota_add(s->ctx->quota, s->name, -size);
	}
}

static void up_state_free(struct up_state *s)
{
	up_release(s);
	free(s);
}

/* Replies with e; a 416 also says where the upload stands. */
static void up_reply_error(struct http_req *req, const char *name,
			   const char *id, struct stor_upload *up,
			   const struct err *e)
{
	if (e->code == ERR_RANGE_INVALID && up) {
		up_location(req, name, id);
		up_range(req, stor_upload_offset(up));
	}
	reg_reply_error(req, e);
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
	    (uint64_t)stor_upload_offset(s->up) + len > s->ctx->cfg->max_blob) {
		err_set(&e, ERR_TOO_LARGE, "blobs are limited to %zu bytes",
			s->ctx->cfg->max_blob);
		goto fail;
	}
	if (reg_quota_reserve(s->ctx->quota, s->name, (int64_t)len, &e) < 0)
		goto fail;
	if (stor_upload_write(s->up, data, len, &e) < 0) {
		reg_quota_add(s->ctx->quota, s->name, -(int64_t)len);
		goto fail;
	}
	if (s->left >= 0)
		s->left -= (int64_t)len;
	return 0;
fail:
	reg_reply_error(req, &e);
	up_release(s);
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
	if (s->ctx->work &&
	    reg_work_run(s->ctx->work, req, up_finish_run, up_finish_done, s) ==
		    0)
		return;
	/* No pool, or its queue is full: here and now. */
	up_finish_run(s);
	up_finish_done(req, s);
}

static void up_on_end(struct http_req *req, void *arg)
{
	struct up_state *s = arg;
	struct stor_upload *up = s->up;
	struct err e = ERR_INIT;

	if (s->left > 0) {
		err_set(&e, ERR_SIZE_INVALID,
			"body is %lld bytes shorter than its Content-Range",
			(long long)s->left);
		up_location(req, s->name, s->id);
		up_range(req, stor_upload_offset(up));
		reg_reply_error(req, &e);
	} else if (s->kind == UP_PATCH) {
		up_location(req, s->name, s->id);
		up_range(req, stor_upload_offset(up));
		reg_reply_status(req, 202);
	} else {
		up_finish(req, s);
		return;
	}
	up_release(s);
}

static void up_state_dtor(void *ptr, bool gone)
{
	(void)gone;
	up_state_free(ptr);
}

/* Streams the request body into u (which the state now owns). */
static enum reg_status up_stream(struct reg_call *c, struct stor_upload *u,
				 enum up_kind kind,
				 const struct digest *expected, int64_t left)
{
	struct up_state *s = xcalloc(1, sizeof(*s));

	s->ctx = c->ctx;
	s->req = c->req;
	s->up = u;
	s->kind = kind;
	s->left = left;
	memcpy(s->name, c->name, sizeof(s->name));
	snprintf(s->id, sizeof(s->id), "%s", stor_upload_id(u));
	if (expected)
		s->expected = *expected;
	http_req_attach(c->req, s, up_state_dtor);
	http_req_body(c->req, up_on_data, up_on_end, s);
	return REG_DEFERRED;
}

/* Checks Content-Range (if any) against the upload's offset and the
 * declared length; sets *left to the bytes the range covers (-1: no
 * Content-Range). */
static int up_check_range(struct reg_call *c, struct stor_upload *u,
			  int64_t *left, struct err *e)
{
	const char *cr = http_req_header(c->req, "Content-Range");
	int64_t start, end, cl = http_req_content_length(c->req);

	*left = -1;
	if (!cr)
		return 0;
	if (reg_parse_content_range(cr, strlen(cr), &start, &end, e) < 0)
		return -1;
	if (start != stor_upload_offset(u))
		return err_set(e, ERR_RANGE_INVALID,
			       "chunk starts at %lld, the upload is at %lld",
			       (long long)start,
			       (long long)stor_upload_offset(u));
	if (cl >= 0 && cl != end - start + 1)
		return err_set(e, ERR_SIZE_INVALID,
			       "Content-Length %lld does not match "
			       "Content-Range %lld-%lld",
			       (long long)cl, (long long)start, (long long)end);
	*left = end - start + 1;
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

/* POST ?mount=<digest>[&from=<repo>]: 201 if linked, 0 if a fresh session
 * should start instead, -1 after an error reply. */
static int up_try_mount(struct reg_call *c, const char *mount)
{
	const char *from = http_req_query_param(c->req, "from");
	char from_name[REG_NAME_MAX + 1];
	struct err e = ERR_INIT;
	struct digest dg;
	int64_t size;
	int may;

	if (digest_parse(mount, strlen(mount), &dg, &e) < 0 ||
	    (from && reg_parse_name(from, strlen(from), from_name, &e) < 0)) {
		reg_reply_error(c->req, &e);
		return -1;
	}
	/* Linking needs pull on the source (authz.h). */
	may = reg_authz_mount(c, from ? from_name : NULL);
	if (may <= 0)
		return may;
	/* Without `from` any blob in the store may be mounted (the spec
	 * allows it); either way a blob we do not have means a new
	 * session. */
	if (stor_blob_stat(c->ctx->st, from ? from_name : NULL, &dg, &size,
			   &e) < 0) {
		if (e.code != ERR_BLOB_UNKNOWN && e.code != ERR_NAME_UNKNOWN) {
			reg_reply_error(c->req, &e);
			return -1;
		}
		return 0;
	}
	if (reg_quota_check(c->ctx->quota, c->name, size, &e) < 0 ||
	    stor_blob_link(c->ctx->st, c->name, &dg, &e) < 0) {
		reg_reply_error(c->req, &e);
		return -1;
	}
	reg_quota_add(c->ctx->quota, c->name, size);
	up_blob_location(c->req, c->name, &dg);
	reg_reply_status(c->req, 201);
	return 1;
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
	char id[STOR_UPLOAD_ID_MAX], client[320];
	struct stor_upload_limits lim;
	struct stor_upload *u = NULL;
	struct err e = ERR_INIT;
	struct digest dg;

	if (mount && up_try_mount(c, mount) != 0)
		return REG_DONE;
	if (!mount && dgq && digest_parse(dgq, strlen(dgq), &dg, &e) < 0)
		goto fail;
	up_client(c, client, sizeof(client));
	lim.client = client;
	lim.max_per_repo = c->ctx->cfg->max_uploads_per_repo;
	lim.max_per_client = c->ctx->cfg->max_uploads_per_client;
	if (reg_quota_check(c->ctx->quota, c->name, 0, &e) < 0 ||
	    stor_upload_start_limited(c->ctx->st, c->name, &lim, id, &e) < 0)
		goto fail;
	if (mount || !dgq) {
		/* A session for PATCH/PUT; a body here is ignored. */
		up_location(c->req, c->name, id);
		up_range(c->req, 0);
		reg_reply_status(c->req, 202);
		return REG_DONE;
	}
	if (stor_upload_take(c->ctx->st, c->name, id, &u, &e) < 0) {
		stor_upload_cancel(c->ctx->st, c->name, id, NULL);
		goto fail;
	}
	return up_stream(c, u, UP_POST, &dg, -1);
fail:
	reg_reply_error(c->req, &e);
	return REG_DONE;
}

enum reg_status api_upload_status(struct reg_call *c)
{
	struct stor_upload *u;
	struct err e = ERR_INIT;

	if (stor_upload_take(c->ctx->st, c->name, c->upload_id, &u, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	up_location(c->req, c->name, c->upload_id);
	up_range(c->req, stor_upload_offset(u));
	stor_upload_release(u);
	reg_reply_status(c->req, 204);
	return REG_DONE;
}

enum reg_status api_upload_patch(struct reg_call *c)
{
	struct stor_upload *u = NULL;
	struct err e = ERR_INIT;
	int64_t left;

	if (stor_upload_take(c->ctx->st, c->name, c->upload_id, &u, &e) < 0)
		goto fail;
	if (up_check_range(c, u, &left, &e) < 0)
		goto fail;
	return up_stream(c, u, UP_PATCH, NULL, left);
fail:
	up_reply_error(c->req, c->name, c->upload_id, u, &e);
	if (u)
		stor_upload_release(u);
	return REG_DONE;
}

enum reg_status api_upload_put(struct reg_call *c)
{
	struct stor_upload *u = NULL;
	struct err e = ERR_INIT;
	struct digest dg;
	int64_t left;

	if (up_digest_param(c, &dg, &e) < 0)
		goto fail;
	if (stor_upload_take(c->ctx->st, c->name, c->upload_id, &u, &e) < 0)
		goto fail;
	if (up_check_range(c, u, &left, &e) < 0)
		goto fail;
	return up_stream(c, u, UP_PUT, &dg, left);
fail:
	up_reply_error(c->req, c->name, c->upload_id, u, &e);
	if (u)
		stor_upload_release(u);
	return REG_DONE;
}

enum reg_status api_upload_cancel(struct reg_call *c)
{
	struct err e = ERR_INIT;

	if (stor_upload_cancel(c->ctx->st, c->name, c->upload_id, &e) < 0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	reg_reply_status(c->req, 204);
	return REG_DONE;
}
