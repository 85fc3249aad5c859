/* api_blob.c: GET, HEAD and DELETE /v2/<name>/blobs/<digest>.
 *
 * GET and HEAD stay on the loop: the lookup is a read, which in WAL mode
 * never waits for a writer, then an open and an fstat.  DELETE writes, so
 * it runs on the work pool. */
#include "registry/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "registry/reply.h"
#include "registry/work.h"
#include "common/banned.h"

void api_blob_get(struct reg_call *c)
{
	char dg[DIGEST_STR_MAX], etag[DIGEST_STR_MAX + 2], range[96];
	int64_t size = 0, off = 0, len;
	struct err e = ERR_INIT;
	int fd = -1, r;

	/* HEAD opens the file too: the server sends its headers only, and
	 * Content-Length comes out right that way. */
	if (stor_blob_open(c->ctx->st, c->name, &c->digest, &fd, &size, &e) <
	    0) {
		reg_reply_error(c->req, &e);
		return;
	}
	digest_str(&c->digest, dg);
	snprintf(etag, sizeof(etag), "\"%s\"", dg);
	http_reply_header(c->req, "Docker-Content-Digest", dg);
	http_reply_header(c->req, "ETag", etag);
	http_reply_header(c->req, "Accept-Ranges", "bytes");
	/* Content-addressed: the bytes behind a digest never change. */
	http_reply_header(c->req, "Cache-Control", "max-age=31536000");
	len = size;
	r = http_parse_range(http_req_header(c->req, "Range"), size, &off,
			     &len);
	if (r < 0) {
		close(fd);
		snprintf(range, sizeof(range), "bytes */%lld", (long long)size);
		http_reply_header(c->req, "Content-Range", range);
		reg_reply_errorf(c->req, ERR_RANGE_INVALID,
				 "range not satisfiable for a blob of %lld "
				 "bytes",
				 (long long)size);
		return;
	}
	if (r == 1) {
		snprintf(range, sizeof(range), "bytes %lld-%lld/%lld",
			 (long long)off, (long long)(off + len - 1),
			 (long long)size);
		http_reply_header(c->req, "Content-Range", range);
		reg_reply_file(c->req, 206, "application/octet-stream", fd,
			       (off_t)off, (off_t)len);
		return;
	}
	reg_reply_file(c->req, 200, "application/octet-stream", fd, 0,
		       (off_t)size);
}

/* A DELETE, on the pool: the unlink writes to the database. */
struct blob_del {
	struct reg_ctx *ctx;
	char name[REG_NAME_MAX + 1];
	struct digest digest;
	int rc;
	struct err e;
};

static void blob_delete_run(void *arg)
{
	struct blob_del *d = arg;

	d->rc = stor_blob_unlink(d->ctx->st, d->name, &d->digest, &d->e);
}

static void blob_delete_done(struct http_req *req, void *arg)
{
	struct blob_del *d = arg;

	if (req && d->rc < 0)
		reg_reply_error(req, &d->e);
	else if (req)
		reg_reply_status(req, 202);
	free(d);
}

void api_blob_delete(struct reg_call *c)
{
	struct blob_del *d = xcalloc(1, sizeof(*d));

	d->ctx = c->ctx;
	memcpy(d->name, c->name, sizeof(d->name));
	d->digest = c->digest;
	reg_work_call(c->ctx->work, c->req, blob_delete_run, blob_delete_done,
		      d);
}
