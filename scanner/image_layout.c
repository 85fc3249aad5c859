/* image_layout.c: an OCI image layout directory (oci-layout, index.json,
 * blobs/<alg>/<hex>) as a scan source. */
#include "scanner/image_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "common/banned.h"

static int layout_open_blob(void *ctx, const struct digest *dg,
			    struct scan_blob *b, struct err *e)
{
	struct image_input *in = ctx;
	char *path = xasprintf("%s/blobs/%s/%s", in->dir,
			       digest_alg_name(dg->alg), dg->hex);
	struct stat st;
	int fd;

	scan_blob_init(b);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;

		free(path);
		return err == ENOENT
			       ? err_set(e, ERR_BLOB_UNKNOWN,
					 "blob %s:%s not in the layout",
					 digest_alg_name(dg->alg), dg->hex)
			       : err_errno(e, ERR_IO, err, "open blob");
	}
	free(path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, ERR_BLOB_UNKNOWN,
			       "blob %s is not a regular file", dg->hex);
	}
	b->fd = fd;
	b->offset = 0;
	b->size = st.st_size;
	return 0;
}

static int layout_read_file(const char *path, size_t cap, struct buf *out,
			    struct err *e)
{
	struct scan_blob b;
	struct stat st;
	int r;

	scan_blob_init(&b);
	b.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b.fd < 0)
		return err_errno(e, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO,
				 errno, "%s", path);
	if (fstat(b.fd, &st)) {
		scan_blob_close(&b);
		return err_errno(e, ERR_IO, errno, "%s", path);
	}
	b.size = st.st_size;
	r = image_blob_read_all(&b, cap, out, e);
	scan_blob_close(&b);
	return r;
}

int image_layout_open(const char *dir, const char *tag,
		      struct image_input **inp, struct scan_source *src,
		      struct image_set *set, struct err *e)
{
	struct image_input *in = xcalloc(1, sizeof(*in));
	struct buf idx = BUF_INIT;
	char *path = NULL;
	int r = -1;

	in->fd = -1;
	in->dir = xstrdup(dir);
	src->open_blob = layout_open_blob;
	src->ctx = in;
	path = xasprintf("%s/index.json", dir);
	if (layout_read_file(path, IMAGE_MAX_JSON, &idx, e)) {
		err_set(e, ERR_NOT_FOUND, "%s: not an OCI image layout", dir);
		goto out;
	}
	r = image_layout_select(src, idx.buf, idx.len, tag, set, e);
out:
	free(path);
	buf_release(&idx);
	if (r) {
		image_input_free(in);
		in = NULL;
	}
	*inp = in;
	return r;
}
