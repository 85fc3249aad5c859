/* meta_pg.c: the metadata vtable (struct stor_meta_ops) in PostgreSQL:
 * repositories, blob links and sizes, upload sessions, manifests, tags and
 * referrers; the same rows as meta_sqlite.c.  The engine (pool, schema,
 * pg_run()) is pg.c.
 */
#include "storage/pg_int.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static int pg_repo_add(struct pg_conn *c, const char *repo, struct err *e)
{
	static const struct pg_stmt q = {
		"add repository",
		"INSERT INTO repositories (name, created)"
		" VALUES ($1, $2) ON CONFLICT DO NOTHING",
	};

	return pg_run(c, &q, NULL, NULL, e, "si", repo, pg_now());
}

/* --- Blob links ------------------------------------------------------- */

struct pg_link_arg {
	const char *repo;
	const char *digest;
};

static int pg_blob_linked(struct stor_meta *m, const char *repo,
			  const struct digest *dg, bool *out, struct err *e)
{
	static const struct pg_stmt q = {
		"find blob link",
		"SELECT 1 FROM repo_blobs"
		" WHERE repo = $1 AND digest = $2",
	};
	char ds[DIGEST_STR_MAX];
	int n;

	n = pg_do(pg_of(m), &q, NULL, NULL, e, "ss", repo, digest_str(dg, ds));
	*out = n > 0;
	return n < 0 ? -1 : 0;
}

/* Links a->digest to a->repo; also inside an upload's finish. */
static int pg_blob_link_fn(struct pg_conn *c, const void *arg, struct err *e)
{
	static const struct pg_stmt q = {
		"link blob",
		"INSERT INTO repo_blobs (repo, digest, created)"
		" VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
	};
	const struct pg_link_arg *a = arg;

	if (pg_repo_add(c, a->repo, e) < 0)
		return -1;
	return pg_run(c, &q, NULL, NULL, e, "ssi", a->repo, a->digest,
		      pg_now());
}

static int pg_blob_link(struct stor_meta *m, const char *repo,
			const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct pg_link_arg a = {repo, digest_str(dg, ds)};

	return pg_txn(pg_of(m), pg_blob_link_fn, &a, e);
}

static int pg_blob_unlink(struct stor_meta *m, const char *repo,
			  const struct digest *dg, struct err *e)
{
	static const struct pg_stmt q = {
		"unlink blob",
		"DELETE FROM repo_blobs"
		" WHERE repo = $1 AND digest = $2",
	};
	char ds[DIGEST_STR_MAX];
	int n = pg_do(pg_of(m), &q, NULL, NULL, e, "ss", repo,
		      digest_str(dg, ds));

	if (n == 0)
		return err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown in %s", ds,
			       repo);
	return n < 0 ? -1 : 0;
}

/* --- Blob sizes ------------------------------------------------------- */

static const struct pg_stmt pg_blob_size_q = {
	"record blob size",
	"INSERT INTO blob_sizes (digest, size)"
	" VALUES ($1, $2) ON CONFLICT (digest) DO UPDATE"
	" SET size = excluded.size",
};

static int pg_blob_size_put(struct stor_meta *m, const struct digest *dg,
			    int64_t size, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	int n;

	n = pg_do(pg_of(m), &pg_blob_size_q, NULL, NULL, e, "si",
		  digest_str(dg, ds), size);
	return n < 0 ? -1 : 0;
}

static int pg_blob_size(struct stor_meta *m, const struct digest *dg,
			int64_t *size, struct err *e)
{
	static const struct pg_stmt q = {
		"find blob size",
		"SELECT size FROM blob_sizes WHERE digest = $1"
		" UNION ALL SELECT size FROM manifests"
		" WHERE digest = $1 LIMIT 1",
	};
	char ds[DIGEST_STR_MAX];
	int n;

	*size = -1;
	n = pg_do(pg_of(m), &q, pg_row_int64, size, e, "s", digest_str(dg, ds));
	return n < 0 ? -1 : 0;
}

/* --- Uploads ------------------------------------------------------------ */

struct pg_up_arg {
	const char *repo;
	const char *id;
	const char *digest;
	const struct stor_upload_limits *lim; /* pg_up_add() only */
};

/* Under a lock on the uploads table (inserts only; reads go on), so two
 * starts on any nodes cannot both take the last slot. */
static int pg_up_limits(struct pg_conn *c, const struct pg_up_arg *a,
			struct err *e)
{
	static const struct pg_stmt lock = {
		"lock uploads",
		"LOCK TABLE uploads IN SHARE ROW EXCLUSIVE MODE",
	};
	static const struct pg_stmt by_repo = {
		"count uploads",
		"SELECT count(*) FROM uploads WHERE repo = $1",
	};
	static const struct pg_stmt by_client = {
		"count uploads",
		"SELECT count(*) FROM uploads WHERE client = $1",
	};
	const struct stor_upload_limits *lim = a->lim;
	int64_t n = 0;

	if (!lim || (lim->max_per_repo <= 0 &&
		     (!lim->client || lim->max_per_client <= 0)))
		return 0;
	if (pg_run(c, &lock, NULL, NULL, e, "") < 0)
		return -1;
	if (lim->max_per_repo > 0) {
		if (pg_run(c, &by_repo, pg_row_int64, &n, e, "s", a->repo) < 0)
			return -1;
		if (n >= lim->max_per_repo)
			return err_set(e, ERR_TOOMANYREQUESTS,
				       "repository %s has %lld open upload "
				       "sessions (the limit is %ld); finish "
				       "or cancel some",
				       a->repo, (long long)n,
				       lim->max_per_repo);
	}
	if (lim->client && lim->max_per_client > 0) {
		if (pg_run(c, &by_client, pg_row_int64, &n, e, "s",
			   lim->client) < 0)
			return -1;
		if (n >= lim->max_per_client)
			return err_set(e, ERR_TOOMANYREQUESTS,
				       "%s has %lld open upload sessions (the "
				       "limit is %ld); finish or cancel some",
				       lim->client, (long long)n,
				       lim->max_per_client);
	}
	return 0;
}

static int pg_up_add_fn(struct pg_conn *c, const void *arg, struct err *e)
{
	static const struct pg_stmt q = {
		"add upload",
		"INSERT INTO uploads (id, repo, created, updated,"
		" client) VALUES ($1, $2, $3, $3, $4)",
	};
	const struct pg_up_arg *a = arg;

	if (pg_up_limits(c, a, e) < 0 || pg_repo_add(c, a->repo, e) < 0)
		return -1;
	return pg_run(c, &q, NULL, NULL, e, "ssis", a->id, a->repo, pg_now(),
		      a->lim ? a->lim->client : NULL);
}

static int pg_up_add(struct stor_meta *m, const char *repo, const char *id,
		     const struct stor_upload_limits *lim, struct err *e)
{
	struct pg_up_arg a = {repo, id, NULL, lim};

	return pg_txn(pg_of(m), pg_up_add_fn, &a, e);
}

static int pg_up_find(struct stor_meta *m, const char *repo, const char *id,
		      struct err *e)
{
	static const struct pg_stmt q = {
		"find upload",
		"SELECT 1 FROM uploads WHERE id = $1 AND repo = $2",
	};
	int n = pg_do(pg_of(m), &q, NULL, NULL, e, "ss", id, repo);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return n < 0 ? -1 : 0;
}

static int pg_up_touch(struct stor_meta *m, const char *id, int64_t offset,
		       struct err *e)
{
	static const struct pg_stmt q = {
		"update upload",
		"UPDATE uploads SET received = $2, updated = $3"
		" WHERE id = $1",
	};

	int n = pg_do(pg_of(m), &q, NULL, NULL, e, "sii", id, offset, pg_now());

	return n < 0 ? -1 : 0;
}

static int pg_up_state_put(struct stor_meta *m, const char *id,
			   const char *state, struct err *e)
{
	static const struct pg_stmt q = {
		"save upload state",
		"UPDATE uploads SET blob_state = $2 WHERE id = $1",
	};
	int n = pg_do(pg_of(m), &q, NULL, NULL, e, "ss", id, state);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN, "upload %s unknown",
			       id);
	return n < 0 ? -1 : 0;
}

static int pg_row_state(void *arg, PGresult *r, int row, struct err *e)
{
	if (buf_add(arg, PQgetvalue(r, row, 0),
		    (size_t)PQgetlength(r, row, 0)) < 0)
		return err_set(e, ERR_DB, "upload state too large");
	return 1;
}

static int pg_up_state_get(struct stor_meta *m, const char *id,
			   struct buf *out, struct err *e)
{
	static const struct pg_stmt q = {
		"load upload state",
		"SELECT blob_state FROM uploads"
		" WHERE id = $1 AND blob_state IS NOT NULL",
	};
	int n = pg_do(pg_of(m), &q, pg_row_state, out, e, "s", id);

	return n < 0 ? -1 : n == 0 ? 1 : 0;
}

static const struct pg_stmt pg_up_del = {
	"delete upload",
	"DELETE FROM uploads WHERE id = $1 AND repo = $2",
};

static int pg_up_done_fn(struct pg_conn *c, const void *arg, struct err *e)
{
	const struct pg_up_arg *a = arg;
	struct pg_link_arg l = {a->repo, a->digest};

	if (pg_blob_link_fn(c, &l, e) < 0)
		return -1;
	return pg_run(c, &pg_up_del, NULL, NULL, e, "ss", a->id, a->repo);
}

static int pg_up_done(struct stor_meta *m, const char *repo, const char *id,
		      const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct pg_up_arg a = {repo, id, digest_str(dg, ds), NULL};

	return pg_txn(pg_of(m), pg_up_done_fn, &a, e);
}

static int pg_up_remove(struct stor_meta *m, const char *repo, const char *id,
			struct err *e)
{
	int n = pg_do(pg_of(m), &pg_up_del, NULL, NULL, e, "ss", id, repo);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return n < 0 ? -1 : 0;
}

/* --- Manifests and tags ------------------------------------------------- */

static int pg_refs_del(struct pg_conn *c, const char *repo, const char *ds,
		       struct err *e)
{
	static const struct pg_stmt q = {
		"clear manifest refs",
		"DELETE FROM manifest_refs"
		" WHERE repo = $1 AND digest = $2",
	};

	return pg_run(c, &q, NULL, NULL, e, "ss", repo, ds);
}

static int pg_mf_refs(struct pg_conn *c, const struct stor_manifest_put *mp,
		      const char *ds, struct err *e)
{
	static const struct pg_stmt q = {
		"add manifest ref",
		"INSERT INTO manifest_refs (repo, digest, child)"
		" VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
	};
	char rs[DIGEST_STR_MAX];

	if (pg_refs_del(c, mp->repo, ds, e) < 0)
		return -1;
	for (size_t i = 0; i < mp->nrefs + mp->nsparse; i++) {
		const struct digest *r = i < mp->nrefs
						 ? &mp->refs[i]
						 : &mp->sparse[i - mp->nrefs];

		if (pg_run(c, &q, NULL, NULL, e, "sss", mp->repo, ds,
			   digest_str(r, rs)) < 0)
			return -1;
	}
	return 0;
}

static int pg_mf_put_fn(struct pg_conn *c, const void *arg, struct err *e)
{
	static const struct pg_stmt put = {
		"store manifest",
		"INSERT INTO manifests (repo, digest, media_type, size,"
		" subject, artifact_type, annotations_json, created)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
		" ON CONFLICT (repo, digest) DO UPDATE SET"
		" media_type = excluded.media_type,"
		" size = excluded.size, subject = excluded.subject,"
		" artifact_type = excluded.artifact_type,"
		" annotations_json = excluded.annotations_json",
	};
	static const struct pg_stmt tag = {
		"set tag",
		"INSERT INTO tags (repo, tag, digest, updated)"
		" VALUES ($1, $2, $3, $4)"
		" ON CONFLICT (repo, tag) DO UPDATE SET"
		" digest = excluded.digest,"
		" updated = excluded.updated",
	};
	const struct stor_manifest_put *mp = arg;
	char ds[DIGEST_STR_MAX], subj[DIGEST_STR_MAX];
	int64_t now = pg_now();

	digest_str(mp->digest, ds);
	if (pg_repo_add(c, mp->repo, e) < 0)
		return -1;
	if (pg_run(c, &put, NULL, NULL, e, "sssisssi", mp->repo, ds,
		   mp->media_type, (int64_t)mp->len,
		   mp->subject ? digest_str(mp->subject, subj) : NULL,
		   mp->artifact_type, mp->annotations_json, now) < 0)
		return -1;
	if (pg_mf_refs(c, mp, ds, e) < 0)
		return -1;
	if (mp->tag && pg_run(c, &tag, NULL, NULL, e, "sssi", mp->repo, mp->tag,
			      ds, now) < 0)
		return -1;
	for (size_t i = 0; i < mp->ntags; i++)
		if (pg_run(c, &tag, NULL, NULL, e, "sssi", mp->repo,
			   mp->tags[i], ds, now) < 0)
			return -1;
	if (mp->enqueue_scan && pg_scan_add(c, ds, mp->repo, now, e) < 0)
		return -1;
	return pg_outbox_put(c, mp->events, mp->nevents, e);
}

static int pg_mf_put(struct stor_meta *m, const struct stor_manifest_put *mp,
		     struct err *e)
{
	return pg_txn(pg_of(m), pg_mf_put_fn, mp, e);
}

struct pg_mf_row {
	struct digest *dg;
	char **media_type;
	int64_t *size;
};

static int pg_mf_row(void *arg, PGresult *r, int row, struct err *e)
{
	const struct pg_mf_row *m = arg;

	if (pg_col_digest(r, row, 0, m->dg, e) < 0)
		return -1;
	*m->media_type = pg_col_strdup(r, row, 1);
	if (!*m->media_type)
		*m->media_type = xstrdup("");
	*m->size = pg_col_int64(r, row, 2);
	return 1;
}

static int pg_mf_find(struct stor_meta *m, const char *repo, const char *tag,
		      const struct digest *dg, struct digest *dg_out,
		      char **media_type, int64_t *size, struct err *e)
{
	static const struct pg_stmt by_tag = {
		"find manifest by tag",
		"SELECT m.digest, m.media_type, m.size"
		" FROM tags t JOIN manifests m"
		" ON m.repo = t.repo AND m.digest = t.digest"
		" WHERE t.repo = $1 AND t.tag = $2",
	};
	static const struct pg_stmt by_digest = {
		"find manifest",
		"SELECT digest, media_type, size FROM manifests"
		" WHERE repo = $1 AND digest = $2",
	};
	struct pg_mf_row r = {dg_out, media_type, size};
	char ds[DIGEST_STR_MAX];
	const char *key = tag ? tag : digest_str(dg, ds);
	int n = pg_do(pg_of(m), tag ? &by_tag : &by_digest, pg_mf_row, &r, e,
		      "ss", repo, key);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN,
			       "manifest %s unknown in %s", key, repo);
	return n < 0 ? -1 : 0;
}

static int pg_mf_delete_fn(struct pg_conn *c, const void *arg, struct err *e)
{
	static const struct pg_stmt tags = {
		"delete manifest tags",
		"DELETE FROM tags WHERE repo = $1 AND digest = $2",
	};
	static const struct pg_stmt mf = {
		"delete manifest",
		"DELETE FROM manifests WHERE repo = $1 AND digest = $2",
	};
	const struct pg_link_arg *a = arg;
	int n;

	if (pg_run(c, &tags, NULL, NULL, e, "ss", a->repo, a->digest) < 0 ||
	    pg_refs_del(c, a->repo, a->digest, e) < 0)
		return -1;
	n = pg_run(c, &mf, NULL, NULL, e, "ss", a->repo, a->digest);
	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN,
			       "manifest %s unknown in %s", a->digest, a->repo);
	return n;
}

int pg_mf_delete_in(struct pg_conn *c, const char *repo, const char *ds,
		    struct err *e)
{
	struct pg_link_arg a = {repo, ds};

	return pg_mf_delete_fn(c, &a, e) < 0 ? -1 : 0;
}

static int pg_mf_delete(struct stor_meta *m, const char *repo,
			const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct pg_link_arg a = {repo, digest_str(dg, ds)};

	return pg_txn(pg_of(m), pg_mf_delete_fn, &a, e);
}

/* As stor_blob_put() for each blob, then pg_mf_put_fn(), then the
 * replaced referrers deleted where they still are. */
int pg_referrer_put(struct pg_conn *c, const struct stor_scan_referrer *r,
		    struct err *e)
{
	const char *repo = r->put->repo;
	char ds[DIGEST_STR_MAX];

	for (size_t i = 0; i < r->nblobs; i++) {
		struct pg_link_arg a = {repo,
					digest_str(r->blobs[i].digest, ds)};

		if (pg_blob_link_fn(c, &a, e) < 0 ||
		    pg_run(c, &pg_blob_size_q, NULL, NULL, e, "si", ds,
			   (int64_t)r->blobs[i].len) < 0)
			return -1;
	}
	if (pg_mf_put_fn(c, r->put, e) < 0)
		return -1;
	for (size_t i = 0; i < r->ndrop; i++) {
		struct pg_link_arg a = {repo, digest_str(&r->drop[i], ds)};
		struct err sub = ERR_INIT;

		if (pg_mf_delete_fn(c, &a, &sub) < 0 &&
		    sub.code != ERR_MANIFEST_UNKNOWN)
			return err_set(e, sub.code, "%s", sub.msg);
	}
	return 0;
}

static const struct pg_stmt pg_tag_delete_q = {
	"delete tag",
	"DELETE FROM tags WHERE repo = $1 AND tag = $2",
};

int pg_tag_delete_in(struct pg_conn *c, const char *repo, const char *tag,
		     struct err *e)
{
	int n = pg_run(c, &pg_tag_delete_q, NULL, NULL, e, "ss", repo, tag);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "tag %s unknown in %s",
			       tag, repo);
	return n < 0 ? -1 : 0;
}

static int pg_tag_delete(struct stor_meta *m, const char *repo, const char *tag,
			 struct err *e)
{
	int n = pg_do(pg_of(m), &pg_tag_delete_q, NULL, NULL, e, "ss", repo,
		      tag);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "tag %s unknown in %s",
			       tag, repo);
	return n < 0 ? -1 : 0;
}

/* --- Lists ------------------------------------------------------------- */

/* Column 0 of a listing's rows, at most max (max < 0: all); the LIMIT
 * asks for one row more, which says whether more follow. */
struct pg_strv {
	char **v;
	size_t len, alloc;
	long max;
	bool more;
};

static int64_t pg_limit(long n)
{
	return n < 0 || n >= INT64_MAX ? -1 : (int64_t)n + 1;
}

static int pg_strv_row(void *arg, PGresult *r, int row, struct err *e)
{
	struct pg_strv *sv = arg;

	(void)e;
	if (sv->max >= 0 && sv->len == (size_t)sv->max) {
		sv->more = true;
		return 1;
	}
	if (sv->len == sv->alloc) {
		sv->alloc = sv->alloc ? 2 * sv->alloc : 8;
		sv->v = xrealloc(sv->v, sv->alloc * sizeof(*sv->v));
	}
	sv->v[sv->len++] = pg_col_strdup(r, row, 0);
	return 0;
}

/* Hands the strings of a finished listing (ret its pg_run()) over. */
static int pg_strv_out(struct pg_strv *sv, int ret, char ***out, size_t *count,
		       bool *more)
{
	if (ret < 0) {
		stor_strv_free(sv->v, sv->len);
		return -1;
	}
	*out = sv->v ? sv->v : xmalloc(sizeof(char *));
	*count = sv->len;
	if (more)
		*more = sv->more;
	return 0;
}

static int pg_tags_list(struct stor_meta *m, const char *repo, const char *last,
			long n, char ***out, size_t *count, bool *more,
			struct err *e)
{
	static const struct pg_stmt exists = {
		"find repository",
		"SELECT 1 FROM repositories WHERE name = $1",
	};
	static const struct pg_stmt tags = {
		"list tags",
		"SELECT tag FROM tags WHERE repo = $1 AND tag > $2"
		" ORDER BY tag LIMIT NULLIF($3::bigint, -1)",
	};
	struct pg_strv sv = {NULL, 0, 0, n, false};
	int ret = pg_do(pg_of(m), &exists, NULL, NULL, e, "s", repo);

	if (ret == 0)
		return err_set(e, ERR_NAME_UNKNOWN, "repository %s unknown",
			       repo);
	if (ret > 0)
		ret = pg_do(pg_of(m), &tags, pg_strv_row, &sv, e, "ssi", repo,
			    last ? last : "", pg_limit(n));
	return pg_strv_out(&sv, ret, out, count, more);
}

static int pg_catalog(struct stor_meta *m, const char *last, long n,
		      char ***out, size_t *count, bool *more, struct err *e)
{
	static const struct pg_stmt q = {
		"list repositories",
		"SELECT name FROM repositories r WHERE name > $1"
		" AND EXISTS (SELECT 1 FROM manifests m"
		" WHERE m.repo = r.name)"
		" ORDER BY name LIMIT NULLIF($2::bigint, -1)",
	};
	struct pg_strv sv = {NULL, 0, 0, n, false};
	int ret = pg_do(pg_of(m), &q, pg_strv_row, &sv, e, "si",
			last ? last : "", pg_limit(n));

	return pg_strv_out(&sv, ret, out, count, more);
}

static int pg_mf_repos(struct stor_meta *m, const struct digest *dg,
		       char ***out, size_t *count, struct err *e)
{
	static const struct pg_stmt q = {
		"list repositories of manifest",
		"SELECT DISTINCT repo FROM manifests"
		" WHERE digest = $1 ORDER BY repo",
	};
	struct pg_strv sv = {NULL, 0, 0, -1, false};
	char ds[DIGEST_STR_MAX];
	int ret = pg_do(pg_of(m), &q, pg_strv_row, &sv, e, "s",
			digest_str(dg, ds));

	return pg_strv_out(&sv, ret, out, count, NULL);
}

struct pg_descs {
	struct stor_desc *v;
	size_t len, alloc;
};

static int pg_desc_row(void *arg, PGresult *r, int row, struct err *e)
{
	struct pg_descs *dv = arg;
	struct stor_desc *d;

	if (dv->len == dv->alloc) {
		dv->alloc = dv->alloc ? 2 * dv->alloc : 4;
		dv->v = xrealloc(dv->v, dv->alloc * sizeof(*dv->v));
	}
	d = &dv->v[dv->len];
	memset(d, 0, sizeof(*d));
	if (pg_col_digest(r, row, 0, &d->digest, e) < 0)
		return -1;
	d->media_type = pg_col_strdup(r, row, 1);
	if (!d->media_type)
		d->media_type = xstrdup("");
	d->size = pg_col_int64(r, row, 2);
	d->artifact_type = pg_col_strdup(r, row, 3);
	d->annotations_json = pg_col_strdup(r, row, 4);
	dv->len++;
	return 0;
}

static int pg_referrers(struct stor_meta *m, const char *repo,
			const struct digest *dg, const char *artifact_type,
			struct stor_desc **out, size_t *count, struct err *e)
{
	static const struct pg_stmt q = {
		"list referrers",
		"SELECT digest, media_type, size, artifact_type,"
		" annotations_json FROM manifests"
		" WHERE repo = $1 AND subject = $2"
		" AND ($3::text IS NULL OR artifact_type = $3::text)"
		" ORDER BY created, digest",
	};
	struct pg_descs dv = {NULL, 0, 0};
	char ds[DIGEST_STR_MAX];

	if (pg_do(pg_of(m), &q, pg_desc_row, &dv, e, "sss", repo,
		  digest_str(dg, ds), artifact_type) < 0) {
		stor_desc_free(dv.v, dv.len);
		return -1;
	}
	*out = dv.v ? dv.v : xmalloc(sizeof(*dv.v));
	*count = dv.len;
	return 0;
}

/* Columns 0.. into the int64_t array at arg. */
static int pg_meta_stats_row(void *arg, PGresult *r, int row, struct err *e)
{
	int64_t *v = arg;

	(void)e;
	for (int i = 0; i < PQnfields(r); i++)
		v[i] = pg_col_int64(r, row, i);
	return 1;
}

static int pg_meta_stats(struct stor_meta *m, bool with_blobs,
			 struct stor_meta_stats *out, struct err *e)
{
	static const struct pg_stmt counts = {
		"count",
		"SELECT (SELECT count(*) FROM repositories),"
		" (SELECT count(*) FROM manifests),"
		" (SELECT count(*) FROM uploads)",
	};
	/* One pass over the links, by digest (repo_blobs_by_digest). */
	static const struct pg_stmt blobs = {
		"count blobs",
		"SELECT count(*), coalesce(sum(s.size), 0)::bigint"
		" FROM (SELECT DISTINCT digest FROM repo_blobs) b"
		" LEFT JOIN blob_sizes s ON s.digest = b.digest",
	};
	int64_t v[3] = {0, 0, 0}, b[2] = {-1, -1};

	if (pg_do(pg_of(m), &counts, pg_meta_stats_row, v, e, "") < 0 ||
	    (with_blobs &&
	     pg_do(pg_of(m), &blobs, pg_meta_stats_row, b, e, "") < 0))
		return -1;
	*out = (struct stor_meta_stats){v[0], v[1], v[2], b[0], b[1]};
	return 0;
}

/* stor_tag_times(): one statement, the rows grown as they come. */
struct pg_tag_times {
	struct stor_tag_time *v;
	size_t len, alloc;
};

static int pg_tag_time_row(void *arg, PGresult *r, int row, struct err *e)
{
	struct pg_tag_times *tt = arg;
	struct stor_tag_time *t;

	if (tt->len == tt->alloc) {
		tt->alloc = tt->alloc ? 2 * tt->alloc : 16;
		tt->v = xrealloc(tt->v, tt->alloc * sizeof(*tt->v));
	}
	t = &tt->v[tt->len];
	if (pg_col_digest(r, row, 1, &t->digest, e) < 0)
		return -1;
	t->tag = pg_col_strdup(r, row, 0);
	t->tagged = pg_col_int64(r, row, 2);
	t->created = pg_col_int64(r, row, 3);
	tt->len++;
	return 0;
}

static int pg_tag_times(struct stor_meta *m, const char *repo,
			struct stor_tag_time **out, size_t *count,
			struct err *e)
{
	static const struct pg_stmt q = {
		"list tag times",
		"SELECT t.tag, t.digest, t.updated, m.created FROM tags t"
		" JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest"
		" WHERE t.repo = $1 ORDER BY t.updated, t.tag",
	};
	struct pg_tag_times tt = {NULL, 0, 0};

	if (pg_do(pg_of(m), &q, pg_tag_time_row, &tt, e, "s", repo) < 0) {
		stor_tag_times_free(tt.v, tt.len);
		return -1;
	}
	*out = tt.v;
	*count = tt.len;
	return 0;
}

const struct stor_meta_ops pg_meta_ops = {
	.free = pg_free,
	.blob_linked = pg_blob_linked,
	.blob_link = pg_blob_link,
	.blob_unlink = pg_blob_unlink,
	.up_add = pg_up_add,
	.blob_size_put = pg_blob_size_put,
	.blob_size = pg_blob_size,
	.up_find = pg_up_find,
	.up_touch = pg_up_touch,
	.up_done = pg_up_done,
	.up_remove = pg_up_remove,
	.up_state_put = pg_up_state_put,
	.up_state_get = pg_up_state_get,
	.mf_put = pg_mf_put,
	.mf_find = pg_mf_find,
	.mf_delete = pg_mf_delete,
	.tag_delete = pg_tag_delete,
	.tags_list = pg_tags_list,
	.tag_times = pg_tag_times,
	.catalog = pg_catalog,
	.referrers = pg_referrers,
	.mf_repos = pg_mf_repos,
	.stats = pg_meta_stats,
};
