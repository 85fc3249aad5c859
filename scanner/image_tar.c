/* image_tar.c: tarballs as scan sources: OCI archives (a tar of an image
 * layout) and `docker save` output (manifest.json, <id>.json configs and
 * layer tars, or since docker 25 an image layout plus manifest.json).
 *
 * Nothing is unpacked to disk.  A first pass lists the members.  In an
 * uncompressed tarball each member's data offset is recorded and blobs
 * are then read with pread (checked against libarchive's own reading).
 * A compressed tarball cannot be seeked: small JSON members are kept in
 * memory during the first pass, and each layer is read by streaming the
 * tarball again up to that member, one pass per layer.
 */
#include "scanner/image_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "common/banned.h"

#define TAR_MAX_MEMBERS 100000
#define TAR_CACHE_MAX	(1u << 20)
#define TAR_CACHE_TOTAL (64u << 20)

static const char *tar_norm(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	return name;
}

static struct archive *tar_reader(int fd, struct err *e)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    archive_read_open_fd(a, fd, 64 << 10) != ARCHIVE_OK) {
		err_set(e, ERR_INVALID, "not a tar archive: %s",
			archive_error_string(a) ? archive_error_string(a)
						: "?");
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Reads the rest of the current member when it looks like JSON. */
static void tar_cache(struct archive *a, struct tar_member *m, size_t *total)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	la_ssize_t n;

	if (m->size > (int64_t)TAR_CACHE_MAX ||
	    *total + (size_t)m->size > TAR_CACHE_TOTAL)
		return;
	buf_init(&b, TAR_CACHE_MAX);
	while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n))
			break;
	if (n == 0 && b.len && (b.buf[0] == '{' || b.buf[0] == '[')) {
		*total += b.len;
		m->cached = buf_detach(&b, NULL);
	}
	buf_release(&b);
}

/* Does pread at off give what libarchive gives for this member? */
static bool tar_offset_ok(struct archive *a, int fd, int64_t off, int64_t size)
{
	char x[512], y[512];
	size_t want = size < (int64_t)sizeof(x) ? (size_t)size : sizeof(x);
	la_ssize_t n = archive_read_data(a, x, want);

	return n == (la_ssize_t)want &&
	       pread(fd, y, want, off) == (ssize_t)want && !memcmp(x, y, want);
}

static int tar_index(struct image_input *in, struct err *e)
{
	struct archive_entry *ent;
	struct archive *a;
	size_t total = 0;
	int r;

	a = tar_reader(in->fd, e);
	if (!a)
		return -1;
	in->seekable = archive_filter_count(a) == 1 &&
		       archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE;
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		struct tar_member *m;
		const char *name = archive_entry_pathname(ent);

		if (!name || archive_entry_filetype(ent) != AE_IFREG)
			continue;
		if (in->nm >= TAR_MAX_MEMBERS) {
			archive_read_free(a);
			return err_set(e, ERR_INVALID,
				       "tarball has over %d files",
				       TAR_MAX_MEMBERS);
		}
		in->m = xrealloc(in->m, (in->nm + 1) * sizeof(*in->m));
		m = &in->m[in->nm++];
		m->name = xstrdup(tar_norm(name));
		m->size = archive_entry_size(ent);
		m->offset = -1;
		m->cached = NULL;
		if (in->seekable && !archive_entry_sparse_count(ent)) {
			m->offset = archive_filter_bytes(a, 0);
			if (m->size > 0 &&
			    !tar_offset_ok(a, in->fd, m->offset, m->size))
				in->seekable = false;
		}
		if (!in->seekable)
			tar_cache(a, m, &total);
	}
	if (r != ARCHIVE_EOF) {
		err_set(e, ERR_INVALID, "reading tarball: %s",
			archive_error_string(a) ? archive_error_string(a)
						: "?");
		archive_read_free(a);
		return -1;
	}
	archive_read_free(a);
	return 0;
}

static struct tar_member *tar_find(struct image_input *in, const char *name)
{
	name = tar_norm(name);
	for (size_t i = in->nm; i-- > 0;) /* a later copy wins, as in tar */
		if (!strcmp(in->m[i].name, name))
			return &in->m[i];
	return NULL;
}

/* Streaming one member of a compressed tarball. */
struct tar_stream {
	struct archive *a;
	int fd;
	int64_t pos;
};

static ssize_t tar_stream_read(void *ctx, const void **buf, struct err *e)
{
	struct tar_stream *s = ctx;
	la_int64_t off;
	size_t n;
	int r;

	r = archive_read_data_block(s->a, buf, &n, &off);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN)
		return err_set(e, ERR_IO, "reading tarball: %s",
			       archive_error_string(s->a));
	if (off != s->pos)
		return err_set(e, ERR_INVALID, "sparse tarball member");
	s->pos += (int64_t)n;
	return (ssize_t)n;
}

static void tar_stream_close(void *ctx)
{
	struct tar_stream *s = ctx;

	archive_read_free(s->a);
	close(s->fd);
	free(s);
}

static int tar_open_stream(struct image_input *in, const struct tar_member *m,
			   struct scan_blob *b, struct err *e)
{
	struct archive_entry *ent;
	struct tar_stream *s;
	struct archive *a;
	int fd, r;

	fd = open(in->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, ERR_IO, errno, "%s", in->file);
	a = tar_reader(fd, e);
	if (!a) {
		close(fd);
		return -1;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(ent);

		if (name && archive_entry_filetype(ent) == AE_IFREG &&
		    !strcmp(tar_norm(name), m->name))
			break;
	}
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		archive_read_free(a);
		close(fd);
		return err_set(e, ERR_BLOB_UNKNOWN,
			       "%s: member %s not found again", in->file,
			       m->name);
	}
	s = xcalloc(1, sizeof(*s));
	s->a = a;
	s->fd = fd;
	b->size = m->size;
	b->read = tar_stream_read;
	b->close = tar_stream_close;
	b->ctx = s;
	return 0;
}

static int tar_open_member(struct image_input *in, struct tar_member *m,
			   struct scan_blob *b, struct err *e)
{
	scan_blob_init(b);
	if (m->cached) {
		image_blob_memory(b, m->cached, (size_t)m->size);
		return 0;
	}
	if (in->seekable && m->offset >= 0) {
		b->fd = dup(in->fd);
		if (b->fd < 0)
			return err_errno(e, ERR_IO, errno, "dup");
		b->offset = m->offset;
		b->size = m->size;
		return 0;
	}
	return tar_open_stream(in, m, b, e);
}

static int tar_open_blob(void *ctx, const struct digest *dg,
			 struct scan_blob *b, struct err *e)
{
	struct image_input *in = ctx;
	struct tar_member *m;
	char name[DIGEST_STR_MAX + 16];

	scan_blob_init(b);
	for (size_t i = 0; i < in->nalias; i++)
		if (digest_eq(&in->alias[i].dg, dg))
			return tar_open_member(in, &in->m[in->alias[i].member],
					       b, e);
	snprintf(name, sizeof(name), "blobs/%s/%s", digest_alg_name(dg->alg),
		 dg->hex);
	m = tar_find(in, name);
	if (!m)
		return err_set(e, ERR_BLOB_UNKNOWN,
			       "blob %s:%s not in the tarball",
			       digest_alg_name(dg->alg), dg->hex);
	return tar_open_member(in, m, b, e);
}

static int tar_read_member(struct image_input *in, struct tar_member *m,
			   struct buf *out, struct err *e)
{
	struct scan_blob b;
	int r;

	if (tar_open_member(in, m, &b, e))
		return -1;
	r = image_blob_read_all(&b, IMAGE_MAX_JSON, out, e);
	scan_blob_close(&b);
	return r;
}

static void tar_alias(struct image_input *in, const struct digest *dg,
		      const struct tar_member *m)
{
	in->alias = xrealloc(in->alias, (in->nalias + 1) * sizeof(*in->alias));
	in->alias[in->nalias].dg = *dg;
	in->alias[in->nalias].member = (size_t)(m - in->m);
	in->nalias++;
}

/* The RepoTags entry tag names, or NULL. */
static const char *tar_repotag_match(json_t *tags, const char *tag)
{
	size_t i, n = strlen(tag);
	json_t *t;

	json_array_foreach(tags, i, t) {
		const char *s = json_string_value(t);
		size_t sn = s ? strlen(s) : 0;

		/* "busybox:latest" names "docker.io/library/busybox:latest";
		 * a bare "latest" names any repository's. */
		if (s && (!strcmp(s, tag) ||
			  (sn > n &&
			   (s[sn - n - 1] == ':' || s[sn - n - 1] == '/') &&
			   !strcmp(s + sn - n, tag))))
			return s;
	}
	return NULL;
}

/* Picks the manifest.json entry for tag (or the only one). */
static json_t *tar_docker_pick(json_t *doc, const char *tag, struct err *e)
{
	json_t *m;
	size_t i;

	if (!json_is_array(doc) || !json_array_size(doc)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"manifest.json: not a non-empty array");
		return NULL;
	}
	if (!tag) {
		if (json_array_size(doc) == 1)
			return json_array_get(doc, 0);
		err_set(e, ERR_MANIFEST_UNKNOWN,
			"several images in the tarball; name one as FILE:TAG");
		return NULL;
	}
	json_array_foreach(doc, i, m)
		if (tar_repotag_match(json_object_get(m, "RepoTags"), tag))
			return m;
	err_set(e, ERR_MANIFEST_UNKNOWN, "no image tagged '%s' in the tarball",
		tag);
	return NULL;
}

/* Builds the image of a manifest.json entry: layers by diff_id. */
static int tar_docker_image(struct image_input *in, json_t *ent,
			    struct image_set *set, struct err *e)
{
	const char *cfgname = json_string_value(json_object_get(ent, "Config"));
	json_t *layers = json_object_get(ent, "Layers"), *diffs, *cfg = NULL,
	       *l;
	struct image img = {0};
	struct buf body = BUF_INIT;
	struct tar_member *cm;
	size_t i;
	int r = -1;

	cm = cfgname ? tar_find(in, cfgname) : NULL;
	if (!cm || !json_is_array(layers)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"manifest.json: entry without Config or Layers");
		goto out;
	}
	if (json_array_size(layers) > IMAGE_MAX_LAYERS) {
		err_set(e, ERR_MANIFEST_INVALID, "too many layers");
		goto out;
	}
	if (tar_read_member(in, cm, &body, e))
		goto out;
	digest_of(DIGEST_SHA256, body.buf, body.len, &img.config);
	tar_alias(in, &img.config, cm);
	cfg = json_loadb(body.buf, body.len, 0, NULL);
	diffs = json_object_get(json_object_get(cfg, "rootfs"), "diff_ids");
	if (json_array_size(diffs) != json_array_size(layers)) {
		err_set(e, ERR_MANIFEST_INVALID,
			"config rootfs.diff_ids does not match the %zu layers "
			"of manifest.json",
			json_array_size(layers));
		goto out;
	}
	img.media_type = xstrdup(OCI_MT_DOCKER_MANIFEST);
	img.layers = xcalloc(json_array_size(layers) + 1, sizeof(*img.layers));
	json_array_foreach(layers, i, l) {
		const char *name = json_string_value(l);
		const char *diff = json_string_value(json_array_get(diffs, i));
		struct tar_member *lm = name ? tar_find(in, name) : NULL;

		if (!lm) {
			err_set(e, ERR_BLOB_UNKNOWN,
				"layer %s not in the tarball",
				name ? name : "(no name)");
			goto out;
		}
		if (!diff ||
		    digest_parse(diff, strlen(diff), &img.layers[i].digest, e))
			goto out;
		tar_alias(in, &img.layers[i].digest, lm);
		img.nlayers++;
	}
	image_set_take(set, &img);
	r = 0;
out:
	for (i = 0; i < img.nlayers; i++)
		free(img.layers[i].media_type);
	free(img.layers);
	free(img.media_type);
	json_decref(cfg);
	buf_release(&body);
	return r;
}

static int tar_docker(struct image_input *in, struct tar_member *mf,
		      const char *tag, struct image_set *set, struct err *e)
{
	struct buf body = BUF_INIT;
	json_t *doc = NULL, *ent;
	int r = -1;

	if (tar_read_member(in, mf, &body, e))
		goto out;
	doc = json_loadb(body.buf, body.len, 0, NULL);
	ent = tar_docker_pick(doc, tag, e);
	if (!ent)
		goto out;
	if (tag)
		tag = tar_repotag_match(json_object_get(ent, "RepoTags"), tag);
	else
		tag = json_string_value(
			json_array_get(json_object_get(ent, "RepoTags"), 0));
	set->ref = tag ? xstrdup(tag) : NULL;
	r = tar_docker_image(in, ent, set, e);
out:
	json_decref(doc);
	buf_release(&body);
	return r;
}

int image_tar_open(const char *file, const char *tag, struct image_input **inp,
		   struct scan_source *src, struct image_set *set,
		   struct err *e)
{
	struct image_input *in = xcalloc(1, sizeof(*in));
	struct tar_member *idx, *mf;
	struct buf body = BUF_INIT;
	int r = -1;

	in->file = xstrdup(file);
	in->fd = open(file, O_RDONLY | O_CLOEXEC);
	src->open_blob = tar_open_blob;
	src->ctx = in;
	if (in->fd < 0) {
		err_errno(e, ERR_NOT_FOUND, errno, "%s", file);
		goto out;
	}
	if (tar_index(in, e))
		goto out;
	idx = tar_find(in, "index.json");
	mf = tar_find(in, "manifest.json");
	if (idx) {
		if (tar_read_member(in, idx, &body, e))
			goto out;
		r = image_layout_select(src, body.buf, body.len, tag, set, e);
	} else if (mf) {
		r = tar_docker(in, mf, tag, set, e);
	} else {
		err_set(e, ERR_INVALID,
			"%s: neither an OCI archive (index.json) nor a docker "
			"save tarball (manifest.json)",
			file);
	}
out:
	buf_release(&body);
	if (r) {
		image_input_free(in);
		in = NULL;
	}
	*inp = in;
	return r;
}

void image_input_free(struct image_input *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->nm; i++) {
		free(in->m[i].name);
		free(in->m[i].cached);
	}
	free(in->m);
	free(in->alias);
	if (in->fd >= 0)
		close(in->fd);
	free(in->file);
	free(in->dir);
	free(in);
}
