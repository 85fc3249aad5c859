/* blob_s3_maint.c: the maintenance vtable of the S3 blob backend (gc,
 * fsck, scrub, quotas): listings of the bucket under the prefix.
 */
#include "storage/blob_s3_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/banned.h"

struct s3m_walk {
	struct s3_blobs *b;
	stor_file_fn fn;
	void *arg;
};

/* PREFIX/blobs/<alg>/<hex> is a blob; anything else there a stray. */
static int s3m_blob(void *arg, const struct s3_object *o, struct err *e)
{
	struct s3m_walk *w = arg;
	const char *rest = o->key + strlen(w->b->prefix) + strlen("blobs/");
	const char *slash = strchr(rest, '/');
	struct stor_file f = {NULL, o->key, false, o->size, o->mtime, o->mtime};
	struct digest dg;
	char *ds;

	if (slash && !strchr(slash + 1, '/')) {
		ds = xasprintf("%.*s:%s", (int)(slash - rest), rest, slash + 1);
		if (digest_parse(ds, strlen(ds), &dg, NULL) == 0)
			f.dg = &dg;
		free(ds);
	}
	return w->fn(w->arg, &f, e);
}

static int s3m_walk(struct stor_blobs *sb, stor_file_fn fn, void *arg,
		    struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct s3m_walk w = {b, fn, arg};
	char *prefix = s3b_key(b, "blobs/%s", "");
	int ret = s3_list(b->s3, prefix, s3m_blob, &w, e);

	free(prefix);
	return ret;
}

/* Upload ids seen under PREFIX/uploads/, with their bytes there. */
struct s3m_ups {
	struct s3_blobs *b;
	struct stor_file *v;
	size_t n;
};

static void s3m_ups_add(struct s3m_ups *u, const char *id, int64_t size,
			int64_t mtime)
{
	for (size_t i = 0; i < u->n; i++)
		if (!strcmp(u->v[i].name, id)) {
			u->v[i].size += size;
			if (mtime > u->v[i].changed)
				u->v[i].changed = u->v[i].written = mtime;
			return;
		}
	u->v = xrealloc(u->v, (u->n + 1) * sizeof(*u->v));
	u->v[u->n] = (struct stor_file){NULL, xstrdup(id), false,
					size, mtime,	   mtime};
	u->n++;
}

/* The upload id a key under PREFIX/uploads/ belongs to, or NULL. */
static char *s3m_up_id(struct s3_blobs *b, const char *key)
{
	const char *rest = key + strlen(b->prefix) + strlen("uploads/");
	char *id = xstrndup(rest, strcspn(rest, "./"));

	if (!stor_upload_id_valid(id)) {
		free(id);
		return NULL;
	}
	return id;
}

static int s3m_up_object(void *arg, const struct s3_object *o, struct err *e)
{
	struct s3m_ups *u = arg;
	char *id = s3m_up_id(u->b, o->key);

	(void)e;
	if (id)
		s3m_ups_add(u, id, o->size, o->mtime);
	free(id);
	return 0;
}

static int s3m_up_mpu(void *arg, const char *key, const char *upload_id,
		      struct err *e)
{
	struct s3m_ups *u = arg;
	char *id = s3m_up_id(u->b, key);

	(void)upload_id, (void)e;
	/* Its parts' bytes are not listed here: its age is unknown too,
	 * so it counts as changed now (gc's grace keeps it a while). */
	if (id)
		s3m_ups_add(u, id, 0, (int64_t)time(NULL));
	free(id);
	return 0;
}

static int s3m_up_walk(struct stor_blobs *sb, stor_file_fn fn, void *arg,
		       struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct s3m_ups u = {b, NULL, 0};
	char *prefix = s3b_key(b, "uploads/%s", "");
	int ret = -1;

	if (s3_list(b->s3, prefix, s3m_up_object, &u, e) < 0 ||
	    s3_mpu_list(b->s3, prefix, s3m_up_mpu, &u, e) < 0)
		goto out;
	ret = 0;
	for (size_t i = 0; i < u.n && ret == 0; i++)
		ret = fn(arg, &u.v[i], e) < 0 ? -1 : 0;
out:
	for (size_t i = 0; i < u.n; i++)
		free((char *)u.v[i].name);
	free(u.v);
	free(prefix);
	return ret;
}

static int s3m_up_stat(struct stor_blobs *sb, const char *id, int64_t *size,
		       int64_t *changed, struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	struct buf t;
	struct s3up st = {0};
	int r;

	buf_init(&t, S3UP_TEXT_MAX);
	r = b->meta->ops->up_state_get(b->meta, id, &t, e);
	if (r == 0)
		r = s3up_decode(t.buf, t.len, &st, e);
	buf_release(&t);
	if (r < 0)
		return -1;
	/* The row's own time says when it last changed. */
	*size = st.parts_bytes + st.tail;
	*changed = 0;
	s3up_release(&st);
	return 0;
}

static int s3m_remove(struct stor_blobs *sb, const struct digest *dg,
		      struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = s3b_blob_key(b, dg);
	int ret = s3_delete(b->s3, key, e);

	s3b_uncache(b, dg);
	free(key);
	return ret;
}

/* Copied to PREFIX/quarantine/<last part of its name>, then deleted. */
static int s3m_quarantine(struct stor_blobs *sb, const struct stor_file *f,
			  struct err *e)
{
	struct s3_blobs *b = s3b_of(sb);
	char *key = f->name ? xstrdup(f->name) : s3b_blob_key(b, f->dg);
	const char *base = strrchr(key, '/');
	char *dst = s3b_key(b, "quarantine/%s", base ? base + 1 : key);
	int ret = -1;

	if (f->dg)
		s3b_uncache(b, f->dg);
	if (s3_copy(b->s3, key, dst, e) == 0 && s3_delete(b->s3, key, e) == 0)
		ret = 0;
	free(dst);
	free(key);
	return ret;
}

static int s3m_tmp_remove(struct stor_blobs *sb, const char *name,
			  struct err *e)
{
	/* up_walk() reports no temporary files: scratch is unlinked. */
	(void)sb, (void)name, (void)e;
	return 0;
}

const struct stor_blob_maint_ops stor_s3_maint_ops = {
	.walk = s3m_walk,
	.up_walk = s3m_up_walk,
	.up_stat = s3m_up_stat,
	.remove = s3m_remove,
	.quarantine = s3m_quarantine,
	.tmp_remove = s3m_tmp_remove,
};
