/* api_blob.c: GET, HEAD and DELETE /v2/<name>/blobs/<digest>.
 *
 * GET and HEAD stay on the loop: the lookup is a read, which in WAL mode
 * never waits for a writer, then an open and an fstat.  DELETE writes, so
 * it runs on the work pool. */
#include "registry/api_int.h"

#include <stdio.h>
#include <unistd.h>

#include "registry/reply_int.h"
#include "registry/work_int.h"
#include "common/banned.h"

/* Ranges one GET may ask for: podman's zstd:chunked pulls ask for tens;
 * past this the whole blob (200) costs less than hundreds of parts. */
#define REG_RANGES_MAX 100

enum reg_status api_blob_get(struct reg_call *c)
{
	char dg[DIGEST_STR_MAX], etag[DIGEST_STR_MAX + 2], range[96];
	int64_t size = 0, off = 0, len;
	struct http_range rs[REG_RANGES_MAX];
	struct err e = ERR_INIT;
	int fd = -1, r;

	/* HEAD opens the file too: the server sends its headers only, and
	 * Content-Length comes out right that way. */
	if (stor_blob_open(c->ctx->st, c->name, &c->digest, &fd, &size, &e) <
	    0) {
		reg_reply_error(c->req, &e);
		return REG_DONE;
	}
	digest_str(&c->digest, dg);
	snprintf(etag, sizeof(etag), "\"%s\"", dg);
	http_reply_header(c->req, "Docker-Content-Digest", dg);
	http_reply_header(c->req, "ETag", etag);
	http_reply_header(c->req, "Accept-Ranges", "bytes");
	/* Content-addressed: the bytes behind a digest never change. */
	http_reply_header(c->req, "Cache-Control", "max-age=31536000");
	r = http_parse_ranges(http_req_header(c->req, "Range"), size, rs,
			      REG_RANGES_MAX);
	if (r > 1) {
		/* Several parts: zstd:chunked pulls fetch many at once. */
		reg_reply_file_ranges(c->req, "application/octet-stream", fd,
				      size, rs, r);
		return REG_DONE;
	}
	if (r == 1) {
		off = rs[0].off;
		len = rs[0].len;
	}
	if (r < 0) {
		close(fd);
		snprintf(range, sizeof(range), "bytes */%lld", (long long)size);
		http_reply_header(c->req, "Content-Range", range);
		reg_reply_errorf(c->req, ERR_RANGE_INVALID,
				 "range not satisfiable for a blob of %lld "
				 "bytes",
				 (long long)size);
		return REG_DONE;
	}
	if (r == 1) {
		snprintf(range, sizeof(range), "bytes %lld-%lld/%lld",
			 (long long)off, (long long)(off + len - 1),
			 (long long)size);
		http_reply_header(c->req, "Content-Range", range);
		reg_reply_file(c->req, 206, "application/octet-stream", fd,
			       (off_t)off, (off_t)len);
		return REG_DONE;
	}
	reg_reply_file(c->req, 200, "application/octet-stream", fd, 0,
		       (off_t)size);
	return REG_DONE;
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
