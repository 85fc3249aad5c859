/* api_blob.c: GET, HEAD and DELETE /v2/<name>/blobs/<digest>.
 *
 * GET and HEAD stay on the loop when the blobs are local files; where
 * reading may wait on the network (S3: a cache miss fetches the whole
 * object; PostgreSQL: a round trip), they run on the work pool.  HEAD
 * only stats.  DELETE writes, so it runs on the work pool. */
#include "registry/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "registry/reply_int.h"
#include "registry/work_int.h"
#include "common/xmalloc.h"
#include "common/banned.h"

/* Ranges one GET may ask for: podman's zstd:chunked pulls ask for tens;
 * past this the whole blob (200) costs less than hundreds of parts. */
#define REG_RANGES_MAX 100

/* The reply to a GET (fd open, owned here) or a HEAD (fd -1): the server
 * sends a HEAD's headers only, lengths as GET's, and never reads fd. */
static void blob_reply(struct http_req *req, const struct digest *dgst, int fd,
		       int64_t size)
{
	char dg[DIGEST_STR_MAX], etag[DIGEST_STR_MAX + 2], range[96];
	struct http_range rs[REG_RANGES_MAX];
	int64_t off = 0, len = size;
	int r;

	digest_str(dgst, dg);
	snprintf(etag, sizeof(etag), "\"%s\"", dg);
	http_reply_header(req, "Docker-Content-Digest", dg);
	http_reply_header(req, "ETag", etag);
	http_reply_header(req, "Accept-Ranges", "bytes");
	/* Content-addressed: the bytes behind a digest never change. */
	http_reply_header(req, "Cache-Control", "max-age=31536000");
	r = http_parse_ranges(http_req_header(req, "Range"), size, rs,
			      REG_RANGES_MAX);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		snprintf(range, sizeof(range), "bytes */%lld", (long long)size);
		http_reply_header(req, "Content-Range", range);
		reg_reply_errorf(req, ERR_RANGE_INVALID,
				 "range not satisfiable for a blob of %lld "
				 "bytes",
				 (long long)size);
		return;
	}
	if (r > 1) {
		/* Several parts: zstd:chunked pulls fetch many at once. */
		reg_reply_file_ranges(req, "application/octet-stream", fd, size,
				      rs, r);
		return;
	}
	if (r == 1) {
		off = rs[0].off;
		len = rs[0].len;
		snprintf(range, sizeof(range), "bytes %lld-%lld/%lld",
			 (long long)off, (long long)(off + len - 1),
			 (long long)size);
		http_reply_header(req, "Content-Range", range);
	}
	reg_reply_file(req, r == 1 ? 206 : 200, "application/octet-stream", fd,
		       (off_t)off, (off_t)len);
}

/* A read that may block (stor_blob_read_blocks()), on the pool. */
struct blob_read {
	struct stor *st;
	char name[REG_NAME_MAX + 1];
	struct digest digest;
	bool head;
	int64_t redirect_s; /* > 0: answer 307 to a direct URL */
	int fd;
	int64_t size;
	char *url;
	int rc;
	struct err e;
};

static void blob_read_run(void *arg)
{
	struct blob_read *b = arg;

	if (b->redirect_s > 0)
		b->rc = stor_blob_url(b->st, b->name, &b->digest, b->redirect_s,
				      &b->url, &b->e);
	else if (b->head)
		b->rc = stor_blob_stat(b->st, b->name, &b->digest, &b->size,
				       &b->e);
	else
		b->rc = stor_blob_open(b->st, b->name, &b->digest, &b->fd,
				       &b->size, &b->e);
}

static void blob_read_done(struct http_req *req, void *arg)
{
	struct blob_read *b = arg;

	if (req && b->rc < 0) {
		reg_reply_error(req, &b->e);
	} else if (req && b->url) {
		http_reply_header(req, "Location", b->url);
		reg_reply_status(req, 307);
	} else if (req && b->rc == 0 && (b->head || b->fd >= 0)) {
		blob_reply(req, &b->digest, b->fd, b->size);
		b->fd = -1;
	}
	if (b->fd >= 0)
		close(b->fd);
	free(b->url);
	err_clear(&b->e);
	free(b);
}

static enum reg_status blob_read_start(struct reg_call *c, bool head,
				       int64_t redirect_s)
{
	struct blob_read *b = xcalloc(1, sizeof(*b));

	b->st = c->ctx->st;
	snprintf(b->name, sizeof(b->name), "%s", c->name);
	b->digest = c->digest;
	b->head = head;
	b->redirect_s = redirect_s;
	b->fd = -1;
	b->e = (struct err)ERR_INIT;
	reg_work_call(c->ctx->work, c->req, blob_read_run, blob_read_done, b);
	return REG_DEFERRED;
}

enum reg_status api_blob_get(struct reg_call *c)
{
	bool head = http_req_method(c->req) == HTTP_M_HEAD;
	struct err e = ERR_INIT;
	int64_t size = 0;
	int fd = -1;

	if (!head && c->ctx->cfg->s3_redirect)
		return blob_read_start(c, false,
				       c->ctx->cfg->s3_redirect_expiry);
	/* Local files: the lookup is a read, which in WAL mode never waits
	 * for a writer, then an open and an fstat (a stat for HEAD). */
	if (!stor_blob_read_blocks(c->ctx->st)) {
		if ((head ? stor_blob_stat(c->ctx->st, c->name, &c->digest,
					   &size, &e)
			  : stor_blob_open(c->ctx->st, c->name, &c->digest, &fd,
					   &size, &e)) < 0)
			reg_reply_error(c->req, &e);
		else
			blob_reply(c->req, &c->digest, fd, size);
		return REG_DONE;
	}
	return blob_read_start(c, head, 0);
}

/* A DELETE, on the pool: the unlink writes to the database. */
struct blob_del {
	struct reg_work_job job;
	struct digest digest;
};

static int blob_delete_call(struct reg_work_job *j, struct err *e)
{
	struct blob_del *d = (struct blob_del *)j;

	return stor_blob_unlink(j->st, j->name, &d->digest, e);
}

enum reg_status api_blob_delete(struct reg_call *c)
{
	struct blob_del *d = reg_work_job_new(sizeof(*d), blob_delete_call, 202,
					      c->ctx->st, c->name);

	d->digest = c->digest;
	reg_work_reply(c->ctx->work, c->req, &d->job);
	return REG_DEFERRED;
}
