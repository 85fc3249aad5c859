/* quota.c: how many bytes a repository takes, for --quota: its blobs,
 * its manifests and the data of its open uploads. */
#include "storage/storage_int.h"

#include "common/banned.h"

struct usage {
	struct stor_blobs *b;
	int64_t bytes;
};

static int usage_link(void *arg, const struct stor_row *r, struct err *e)
{
	struct usage *u = arg;
	struct err e2 = ERR_INIT;
	int64_t size;

	/* A blob gone meanwhile (gc) takes nothing. */
	if (u->b->ops->stat(u->b, &r->digest, &size, &e2) < 0) {
		if (e2.code == ERR_BLOB_UNKNOWN)
			return 0;
		return err_set(e, e2.code, "%s", e2.msg);
	}
	u->bytes += size;
	return 0;
}

static int usage_manifest(void *arg, const struct stor_row *r, struct err *e)
{
	struct usage *u = arg;

	(void)e;
	u->bytes += r->size;
	return 0;
}

/* An open upload takes what its data holds so far. */
static int usage_upload(void *arg, const struct stor_row *r, struct err *e)
{
	struct usage *u = arg;
	struct err e2 = ERR_INIT;
	int64_t size, changed;

	if (u->b->maint->up_stat(u->b, r->name, &size, &changed, &e2) < 0) {
		if (e2.code == ERR_BLOB_UPLOAD_UNKNOWN)
			return 0;
		return err_set(e, e2.code, "%s", e2.msg);
	}
	u->bytes += size;
	return 0;
}

int stor_repo_usage(struct stor *st, const char *repo, int64_t *bytes,
		    struct err *e)
{
	struct stor_meta *m = stor_meta_of(st);
	struct usage u = {stor_blobs_of(st), 0};

	if (m->maint->list(m, STOR_LIST_LINKS, repo, usage_link, &u, e) < 0 ||
	    m->maint->list(m, STOR_LIST_MANIFESTS, repo, usage_manifest, &u,
			   e) < 0 ||
	    m->maint->list(m, STOR_LIST_UPLOADS, repo, usage_upload, &u, e) < 0)
		return -1;
	*bytes = u.bytes;
	return 0;
}
