/* image_blob.c: reading blobs (fd ranges or pull readers), whole or as a
 * libarchive stream. */
#include "scanner/image_int.h"

#include <archive.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/xmalloc.h"
#include "common/banned.h"

#define BLOB_CHUNK (128u << 10)

void scan_blob_init(struct scan_blob *b)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->size = -1;
}

void scan_blob_close(struct scan_blob *b)
{
	if (b->fd >= 0)
		close(b->fd);
	if (b->close)
		b->close(b->ctx);
	scan_blob_init(b);
}

struct mem_blob {
	const char *data;
	size_t len;
	bool done;
};

static ssize_t mem_blob_read(void *ctx, const void **buf, struct err *e)
{
	struct mem_blob *m = ctx;

	(void)e;
	if (m->done)
		return 0;
	m->done = true;
	*buf = m->data;
	return (ssize_t)m->len;
}

void image_blob_memory(struct scan_blob *b, const void *data, size_t len)
{
	struct mem_blob *m = xmalloc(sizeof(*m));

	m->data = data;
	m->len = len;
	m->done = false;
	scan_blob_init(b);
	b->size = (int64_t)len;
	b->read = mem_blob_read;
	b->close = free;
	b->ctx = m;
}

/* An fd blob whose size the source left unset spans to the file's end. */
static int blob_fix_size(struct scan_blob *b, struct err *e)
{
	struct stat st;

	if (b->fd < 0 || b->size >= 0)
		return 0;
	if (fstat(b->fd, &st))
		return err_errno(e, ERR_IO, errno, "stat blob");
	b->size = st.st_size > b->offset ? st.st_size - b->offset : 0;
	return 0;
}

/* The state libarchive's callbacks share. */
struct blob_rd {
	struct scan_blob *b;
	int64_t pos;
	char *chunk;
	struct err err;
};

static la_ssize_t blob_rd_read(struct archive *a, void *ud, const void **buf)
{
	struct blob_rd *r = ud;
	struct scan_blob *b = r->b;
	ssize_t n;
	size_t want;

	if (b->fd < 0) {
		n = b->read(b->ctx, buf, &r->err);
		if (n < 0)
			archive_set_error(a, EIO, "%s", r->err.msg);
		return n < 0 ? ARCHIVE_FATAL : n;
	}
	if (r->pos >= b->size)
		return 0;
	want = b->size - r->pos < BLOB_CHUNK ? (size_t)(b->size - r->pos)
					     : BLOB_CHUNK;
	n = fdio_pread_all(b->fd, r->chunk, want, b->offset + r->pos);
	if (n < 0) {
		archive_set_error(a, errno, "reading blob: %s",
				  strerror(errno));
		return ARCHIVE_FATAL;
	}
	if (n == 0) {
		archive_set_error(a, EIO, "blob shorter than its size");
		return ARCHIVE_FATAL;
	}
	r->pos += n;
	*buf = r->chunk;
	return n;
}

/* Skipping an fd range is free: tar members we do not want cost nothing
 * in an uncompressed layer. */
static la_int64_t blob_rd_skip(struct archive *a, void *ud, la_int64_t req)
{
	struct blob_rd *r = ud;
	int64_t left;

	(void)a;
	if (r->b->fd < 0)
		return 0; /* libarchive then reads and discards */
	left = r->b->size - r->pos;
	if (req > left)
		req = left;
	r->pos += req;
	return req;
}

static la_int64_t blob_rd_seek(struct archive *a, void *ud, la_int64_t off,
			       int whence)
{
	struct blob_rd *r = ud;
	int64_t base = whence == SEEK_SET   ? 0
		       : whence == SEEK_CUR ? r->pos
					    : r->b->size;

	if (r->b->fd < 0 || base + off < 0 || base + off > r->b->size) {
		archive_set_error(a, EINVAL, "seek outside blob");
		return ARCHIVE_FATAL;
	}
	r->pos = base + off;
	return r->pos;
}

static int blob_rd_close(struct archive *a, void *ud)
{
	struct blob_rd *r = ud;

	(void)a;
	free(r->chunk);
	free(r);
	return ARCHIVE_OK;
}

int image_blob_archive(struct scan_blob *b, bool raw, struct archive **out,
		       struct err *e)
{
	struct archive *a;
	struct blob_rd *r;

	if (blob_fix_size(b, e))
		return -1;
	a = archive_read_new();
	r = xcalloc(1, sizeof(*r));
	r->b = b;
	if (b->fd >= 0)
		r->chunk = xmalloc(BLOB_CHUNK);
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_empty(a);
	if (raw)
		archive_read_support_format_raw(a);
	archive_read_set_callback_data(a, r);
	archive_read_set_read_callback(a, blob_rd_read);
	archive_read_set_skip_callback(a, blob_rd_skip);
	if (b->fd >= 0)
		archive_read_set_seek_callback(a, blob_rd_seek);
	archive_read_set_close_callback(a, blob_rd_close);
	if (archive_read_open1(a) != ARCHIVE_OK) {
		err_set(e, ERR_INVALID, "%s",
			archive_error_string(a) ? archive_error_string(a)
						: "unreadable archive");
		archive_read_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

int image_blob_read_all(struct scan_blob *b, size_t cap, struct buf *out,
			struct err *e)
{
	const void *p;
	int64_t pos = 0;
	ssize_t n;

	buf_init(out, cap);
	if (blob_fix_size(b, e))
		return -1;
	if (b->size > (int64_t)cap)
		return err_set(e, ERR_TOO_LARGE,
			       "blob of %lld bytes over the %zu byte limit",
			       (long long)b->size, cap);
	if (b->fd < 0) {
		while ((n = b->read(b->ctx, &p, e)) > 0)
			if (buf_add(out, p, (size_t)n))
				return err_set(e, ERR_TOO_LARGE,
					       "blob over the %zu byte limit",
					       cap);
		return n < 0 ? -1 : 0;
	}
	while (pos < b->size) {
		char chunk[16384];
		size_t want = b->size - pos < (int64_t)sizeof(chunk)
				      ? (size_t)(b->size - pos)
				      : sizeof(chunk);

		n = fdio_pread_all(b->fd, chunk, want, b->offset + pos);
		if (n < (ssize_t)want) {
			buf_release(out);
			return n < 0 ? err_errno(e, ERR_IO, errno,
						 "reading blob")
				     : err_set(e, ERR_IO,
					       "blob shorter than its size");
		}
		buf_add(out, chunk, want);
		pos += n;
	}
	return 0;
}
