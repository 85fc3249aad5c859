/* meta_sqlite.c: the metadata vtable (struct stor_meta_ops) in meta.db:
 * repositories, blob links and sizes, upload sessions, manifests, tags and
 * referrers.  The engine (pool, schema, sq_run()) is sqlite.c.
 */
#include "storage/sqlite_int.h"
#include "common/xmalloc.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static int sq_repo_add(struct sq_conn *c, const char *repo, struct err *e)
{
	static const struct sq_stmt q = {
		"add repository",
		"INSERT INTO repositories (name, created)"
		" VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	};

	return sq_run(c, &q, NULL, NULL, e, "si", repo, sq_now());
}

/* --- Blob links ------------------------------------------------------- */

struct sq_link_arg {
	const char *repo;
	const char *digest;
};

static int sq_blob_linked(struct stor_meta *m, const char *repo,
			  const struct digest *dg, bool *out, struct err *e)
{
	static const struct sq_stmt q = {
		"find blob link",
		"SELECT 1 FROM repo_blobs"
		" WHERE repo = ?1 AND digest = ?2",
	};
	char ds[DIGEST_STR_MAX];
	int n;

	n = sq_do(sq_of(m), &q, NULL, NULL, e, "ss", repo, digest_str(dg, ds));
	*out = n > 0;
	return n < 0 ? -1 : 0;
}

/* Links a->digest to a->repo; also inside an upload's finish. */
static int sq_blob_link_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	static const struct sq_stmt q = {
		"link blob",
		"INSERT INTO repo_blobs (repo, digest, created)"
		" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	};
	const struct sq_link_arg *a = arg;

	if (sq_repo_add(c, a->repo, e) < 0)
		return -1;
	return sq_run(c, &q, NULL, NULL, e, "ssi", a->repo, a->digest,
		      sq_now());
}

static int sq_blob_link(struct stor_meta *m, const char *repo,
			const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sq_link_arg a = {repo, digest_str(dg, ds)};

	return sq_txn(sq_of(m), sq_blob_link_fn, &a, e);
}

static int sq_blob_unlink(struct stor_meta *m, const char *repo,
			  const struct digest *dg, struct err *e)
{
	static const struct sq_stmt q = {
		"unlink blob",
		"DELETE FROM repo_blobs"
		" WHERE repo = ?1 AND digest = ?2",
	};
	char ds[DIGEST_STR_MAX];
	int n = sq_do(sq_of(m), &q, NULL, NULL, e, "ss", repo,
		      digest_str(dg, ds));

	if (n == 0)
		return err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown in %s", ds,
			       repo);
	return n < 0 ? -1 : 0;
}

/* --- Blob sizes ------------------------------------------------------- */

static const struct sq_stmt sq_blob_size_q = {
	"record blob size",
	"INSERT INTO blob_sizes (digest, size)"
	" VALUES (?1, ?2) ON CONFLICT DO UPDATE"
	" SET size = excluded.size",
};

static int sq_blob_size_put(struct stor_meta *m, const struct digest *dg,
			    int64_t size, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	int n;

	n = sq_do(sq_of(m), &sq_blob_size_q, NULL, NULL, e, "si",
		  digest_str(dg, ds), size);
	return n < 0 ? -1 : 0;
}

static int sq_blob_size(struct stor_meta *m, const struct digest *dg,
			int64_t *size, struct err *e)
{
	static const struct sq_stmt q = {
		"find blob size",
		"SELECT size FROM blob_sizes WHERE digest = ?1"
		" UNION ALL SELECT size FROM manifests"
		" WHERE digest = ?1 LIMIT 1",
	};
	char ds[DIGEST_STR_MAX];
	int n;

	*size = -1;
	n = sq_do(sq_of(m), &q, sq_row_int64, size, e, "s", digest_str(dg, ds));
	return n < 0 ? -1 : 0;
}

/* --- Uploads ------------------------------------------------------------ */

struct sq_up_arg {
	const char *repo;
	const char *id;
	const char *digest;
	const struct stor_upload_limits *lim; /* sq_up_add() only */
};

/* Under the write lock, so two starts cannot both take the last slot. */
static int sq_up_limits(struct sq_conn *c, const struct sq_up_arg *a,
			struct err *e)
{
	static const struct sq_stmt by_repo = {
		"count uploads",
		"SELECT count(*) FROM uploads WHERE repo = ?1",
	};
	static const struct sq_stmt by_client = {
		"count uploads",
		"SELECT count(*) FROM uploads WHERE client = ?1",
	};
	const struct stor_upload_limits *lim = a->lim;
	int64_t n = 0;

	if (!lim)
		return 0;
	if (lim->max_per_repo > 0) {
		if (sq_run(c, &by_repo, sq_row_int64, &n, e, "s", a->repo) < 0)
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
		if (sq_run(c, &by_client, sq_row_int64, &n, e, "s",
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

static int sq_up_add_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	static const struct sq_stmt q = {
		"add upload",
		"INSERT INTO uploads (id, repo, created, updated,"
		" client) VALUES (?1, ?2, ?3, ?3, ?4)",
	};
	const struct sq_up_arg *a = arg;

	if (sq_up_limits(c, a, e) < 0 || sq_repo_add(c, a->repo, e) < 0)
		return -1;
	return sq_run(c, &q, NULL, NULL, e, "ssis", a->id, a->repo, sq_now(),
		      a->lim ? a->lim->client : NULL);
}

static int sq_up_add(struct stor_meta *m, const char *repo, const char *id,
		     const struct stor_upload_limits *lim, struct err *e)
{
	struct sq_up_arg a = {repo, id, NULL, lim};

	return sq_txn(sq_of(m), sq_up_add_fn, &a, e);
}

static int sq_up_find(struct stor_meta *m, const char *repo, const char *id,
		      struct err *e)
{
	static const struct sq_stmt q = {
		"find upload",
		"SELECT 1 FROM uploads WHERE id = ?1 AND repo = ?2",
	};
	int n = sq_do(sq_of(m), &q, NULL, NULL, e, "ss", id, repo);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return n < 0 ? -1 : 0;
}

static int sq_up_touch(struct stor_meta *m, const char *id, int64_t offset,
		       struct err *e)
{
	static const struct sq_stmt q = {
		"update upload",
		"UPDATE uploads SET received = ?2, updated = ?3"
		" WHERE id = ?1",
	};

	int n = sq_do(sq_of(m), &q, NULL, NULL, e, "sii", id, offset, sq_now());

	return n < 0 ? -1 : 0;
}

static const struct sq_stmt sq_up_del = {
	"delete upload",
	"DELETE FROM uploads WHERE id = ?1 AND repo = ?2",
};

static int sq_up_done_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	const struct sq_up_arg *a = arg;
	struct sq_link_arg l = {a->repo, a->digest};

	if (sq_blob_link_fn(c, &l, e) < 0)
		return -1;
	return sq_run(c, &sq_up_del, NULL, NULL, e, "ss", a->id, a->repo);
}

static int sq_up_done(struct stor_meta *m, const char *repo, const char *id,
		      const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sq_up_arg a = {repo, id, digest_str(dg, ds), NULL};

	return sq_txn(sq_of(m), sq_up_done_fn, &a, e);
}

static int sq_up_remove(struct stor_meta *m, const char *repo, const char *id,
			struct err *e)
{
	int n = sq_do(sq_of(m), &sq_up_del, NULL, NULL, e, "ss", id, repo);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return n < 0 ? -1 : 0;
}

static int sq_up_state_put(struct stor_meta *m, const char *id,
			   const char *state, struct err *e)
{
	static const struct sq_stmt q = {
		"save upload state",
		"UPDATE uploads SET blob_state = ?2 WHERE id = ?1",
	};
	int n = sq_do(sq_of(m), &q, NULL, NULL, e, "ss", id, state);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN, "upload %s unknown",
			       id);
	return n < 0 ? -1 : 0;
}

static int sq_row_state(void *arg, sqlite3_stmt *s, struct err *e)
{
	const unsigned char *t = sqlite3_column_text(s, 0);

	if (t && buf_add(arg, t, (size_t)sqlite3_column_bytes(s, 0)) < 0)
		return err_set(e, ERR_DB, "upload state too large");
	return 1;
}

static int sq_up_state_get(struct stor_meta *m, const char *id,
			   struct buf *out, struct err *e)
{
	static const struct sq_stmt q = {
		"load upload state",
		"SELECT blob_state FROM uploads"
		" WHERE id = ?1 AND blob_state IS NOT NULL",
	};
	int n = sq_do(sq_of(m), &q, sq_row_state, out, e, "s", id);

	return n < 0 ? -1 : n == 0 ? 1 : 0;
}

/* --- Manifests and tags ------------------------------------------------- */

static int sq_refs_del(struct sq_conn *c, const char *repo, const char *ds,
		       struct err *e)
{
	static const struct sq_stmt q = {
		"clear manifest refs",
		"DELETE FROM manifest_refs"
		" WHERE repo = ?1 AND digest = ?2",
	};

	return sq_run(c, &q, NULL, NULL, e, "ss", repo, ds);
}

static int sq_mf_refs(struct sq_conn *c, const struct stor_manifest_put *mp,
		      const char *ds, struct err *e)
{
	static const struct sq_stmt q = {
		"add manifest ref",
		"INSERT INTO manifest_refs (repo, digest, child)"
		" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	};
	char rs[DIGEST_STR_MAX];

	if (sq_refs_del(c, mp->repo, ds, e) < 0)
		return -1;
	for (size_t i = 0; i < mp->nrefs + mp->nsparse; i++) {
		const struct digest *r = i < mp->nrefs
						 ? &mp->refs[i]
						 : &mp->sparse[i - mp->nrefs];

		if (sq_run(c, &q, NULL, NULL, e, "sss", mp->repo, ds,
			   digest_str(r, rs)) < 0)
			return -1;
	}
	return 0;
}

static int sq_mf_put_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	static const struct sq_stmt put = {
		"store manifest",
		"INSERT INTO manifests (repo, digest, media_type, size,"
		" subject, artifact_type, annotations_json, created)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (repo, digest) DO UPDATE SET"
		" media_type = excluded.media_type,"
		" size = excluded.size, subject = excluded.subject,"
		" artifact_type = excluded.artifact_type,"
		" annotations_json = excluded.annotations_json",
	};
	static const struct sq_stmt tag = {
		"set tag",
		"INSERT INTO tags (repo, tag, digest, updated)"
		" VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (repo, tag) DO UPDATE SET"
		" digest = excluded.digest,"
		" updated = excluded.updated",
	};
	const struct stor_manifest_put *mp = arg;
	char ds[DIGEST_STR_MAX], subj[DIGEST_STR_MAX];
	int64_t now = sq_now();

	digest_str(mp->digest, ds);
	if (sq_repo_add(c, mp->repo, e) < 0)
		return -1;
	if (sq_run(c, &put, NULL, NULL, e, "sssisssi", mp->repo, ds,
		   mp->media_type, (int64_t)mp->len,
		   mp->subject ? digest_str(mp->subject, subj) : NULL,
		   mp->artifact_type, mp->annotations_json, now) < 0)
		return -1;
	if (sq_mf_refs(c, mp, ds, e) < 0)
		return -1;
	if (mp->tag && sq_run(c, &tag, NULL, NULL, e, "sssi", mp->repo, mp->tag,
			      ds, now) < 0)
		return -1;
	for (size_t i = 0; i < mp->ntags; i++)
		if (sq_run(c, &tag, NULL, NULL, e, "sssi", mp->repo,
			   mp->tags[i], ds, now) < 0)
			return -1;
	if (mp->enqueue_scan && sq_scan_add(c, ds, mp->repo, now, e) < 0)
		return -1;
	return sq_outbox_put(c, mp->events, mp->nevents, e);
}

static int sq_mf_put(struct stor_meta *m, const struct stor_manifest_put *mp,
		     struct err *e)
{
	return sq_txn(sq_of(m), sq_mf_put_fn, mp, e);
}

struct sq_mf_row {
	struct digest *dg;
	char **media_type;
	int64_t *size;
};

static int sq_mf_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	const struct sq_mf_row *r = arg;

	if (sq_col_digest(s, 0, r->dg, e) < 0)
		return -1;
	*r->media_type = sq_col_strdup(s, 1);
	if (!*r->media_type)
		*r->media_type = xstrdup("");
	*r->size = sqlite3_column_int64(s, 2);
	return 1;
}

static int sq_mf_find(struct stor_meta *m, const char *repo, const char *tag,
		      const struct digest *dg, struct digest *dg_out,
		      char **media_type, int64_t *size, struct err *e)
{
	static const struct sq_stmt by_tag = {
		"find manifest by tag",
		"SELECT m.digest, m.media_type, m.size"
		" FROM tags t JOIN manifests m"
		" ON m.repo = t.repo AND m.digest = t.digest"
		" WHERE t.repo = ?1 AND t.tag = ?2",
	};
	static const struct sq_stmt by_digest = {
		"find manifest",
		"SELECT digest, media_type, size FROM manifests"
		" WHERE repo = ?1 AND digest = ?2",
	};
	struct sq_mf_row r = {dg_out, media_type, size};
	char ds[DIGEST_STR_MAX];
	const char *key = tag ? tag : digest_str(dg, ds);
	int n = sq_do(sq_of(m), tag ? &by_tag : &by_digest, sq_mf_row, &r, e,
		      "ss", repo, key);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN,
			       "manifest %s unknown in %s", key, repo);
	return n < 0 ? -1 : 0;
}

static int sq_mf_delete_fn(struct sq_conn *c, const void *arg, struct err *e)
{
	static const struct sq_stmt tags = {
		"delete manifest tags",
		"DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
	};
	static const struct sq_stmt mf = {
		"delete manifest",
		"DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
	};
	const struct sq_link_arg *a = arg;
	int n;

	if (sq_run(c, &tags, NULL, NULL, e, "ss", a->repo, a->digest) < 0 ||
	    sq_refs_del(c, a->repo, a->digest, e) < 0)
		return -1;
	n = sq_run(c, &mf, NULL, NULL, e, "ss", a->repo, a->digest);
	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN,
			       "manifest %s unknown in %s", a->digest, a->repo);
	return n;
}

int sq_mf_delete_in(struct sq_conn *c, const char *repo, const char *ds,
		    struct err *e)
{
	struct sq_link_arg a = {repo, ds};

	return sq_mf_delete_fn(c, &a, e) < 0 ? -1 : 0;
}

static int sq_mf_delete(struct stor_meta *m, const char *repo,
			const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sq_link_arg a = {repo, digest_str(dg, ds)};

	return sq_txn(sq_of(m), sq_mf_delete_fn, &a, e);
}

/* As stor_blob_put() for each blob, then sq_mf_put_fn(), then the
 * replaced referrers deleted where they still are. */
int sq_referrer_put(struct sq_conn *c, const struct stor_scan_referrer *r,
		    struct err *e)
{
	const char *repo = r->put->repo;
	char ds[DIGEST_STR_MAX];

	for (size_t i = 0; i < r->nblobs; i++) {
		struct sq_link_arg a = {repo,
					digest_str(r->blobs[i].digest, ds)};

		if (sq_blob_link_fn(c, &a, e) < 0 ||
		    sq_run(c, &sq_blob_size_q, NULL, NULL, e, "si", ds,
			   (int64_t)r->blobs[i].len) < 0)
			return -1;
	}
	if (sq_mf_put_fn(c, r->put, e) < 0)
		return -1;
	for (size_t i = 0; i < r->ndrop; i++) {
		struct sq_link_arg a = {repo, digest_str(&r->drop[i], ds)};
		struct err sub = ERR_INIT;

		if (sq_mf_delete_fn(c, &a, &sub) < 0 &&
		    sub.code != ERR_MANIFEST_UNKNOWN)
			return err_set(e, sub.code, "%s", sub.msg);
	}
	return 0;
}

static const struct sq_stmt sq_tag_delete_q = {
	"delete tag",
	"DELETE FROM tags WHERE repo = ?1 AND tag = ?2",
};

int sq_tag_delete_in(struct sq_conn *c, const char *repo, const char *tag,
		     struct err *e)
{
	int n = sq_run(c, &sq_tag_delete_q, NULL, NULL, e, "ss", repo, tag);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "tag %s unknown in %s",
			       tag, repo);
	return n < 0 ? -1 : 0;
}

static int sq_tag_delete(struct stor_meta *m, const char *repo, const char *tag,
			 struct err *e)
{
	int n = sq_do(sq_of(m), &sq_tag_delete_q, NULL, NULL, e, "ss", repo,
		      tag);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "tag %s unknown in %s",
			       tag, repo);
	return n < 0 ? -1 : 0;
}

/* --- Lists ------------------------------------------------------------- */

/* Column 0 of a listing's rows, at most max (max < 0: all); the LIMIT
 * asks for one row more, which says whether more follow. */
struct sq_strv {
	char **v;
	size_t len, alloc;
	long max;
	bool more;
};

static int64_t sq_limit(long n)
{
	return n < 0 || n >= INT64_MAX ? -1 : (int64_t)n + 1;
}

static int sq_strv_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	struct sq_strv *sv = arg;

	(void)e;
	if (sv->max >= 0 && sv->len == (size_t)sv->max) {
		sv->more = true;
		return 1;
	}
	if (sv->len == sv->alloc) {
		sv->alloc = sv->alloc ? 2 * sv->alloc : 8;
		sv->v = xrealloc(sv->v, sv->alloc * sizeof(*sv->v));
	}
	sv->v[sv->len++] = sq_col_strdup(s, 0);
	return 0;
}

/* Hands the strings of a finished listing (ret its sq_run()) over. */
static int sq_strv_out(struct sq_strv *sv, int ret, char ***out, size_t *count,
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

static int sq_tags_list(struct stor_meta *m, const char *repo, const char *last,
			long n, char ***out, size_t *count, bool *more,
			struct err *e)
{
	static const struct sq_stmt exists = {
		"find repository",
		"SELECT 1 FROM repositories WHERE name = ?1",
	};
	static const struct sq_stmt tags = {
		"list tags",
		"SELECT tag FROM tags WHERE repo = ?1 AND tag > ?2"
		" ORDER BY tag LIMIT ?3",
	};
	struct sq_strv sv = {NULL, 0, 0, n, false};
	int ret = sq_do(sq_of(m), &exists, NULL, NULL, e, "s", repo);

	if (ret == 0)
		return err_set(e, ERR_NAME_UNKNOWN, "repository %s unknown",
			       repo);
	if (ret > 0)
		ret = sq_do(sq_of(m), &tags, sq_strv_row, &sv, e, "ssi", repo,
			    last ? last : "", sq_limit(n));
	return sq_strv_out(&sv, ret, out, count, more);
}

static int sq_catalog(struct stor_meta *m, const char *last, long n,
		      char ***out, size_t *count, bool *more, struct err *e)
{
	static const struct sq_stmt q = {
		"list repositories",
		"SELECT name FROM repositories r WHERE name > ?1"
		" AND EXISTS (SELECT 1 FROM manifests m"
		" WHERE m.repo = r.name)"
		" ORDER BY name LIMIT ?2",
	};
	struct sq_strv sv = {NULL, 0, 0, n, false};
	int ret = sq_do(sq_of(m), &q, sq_strv_row, &sv, e, "si",
			last ? last : "", sq_limit(n));

	return sq_strv_out(&sv, ret, out, count, more);
}

static int sq_mf_repos(struct stor_meta *m, const struct digest *dg,
		       char ***out, size_t *count, struct err *e)
{
	static const struct sq_stmt q = {
		"list repositories of manifest",
		"SELECT DISTINCT repo FROM manifests"
		" WHERE digest = ?1 ORDER BY repo",
	};
	struct sq_strv sv = {NULL, 0, 0, -1, false};
	char ds[DIGEST_STR_MAX];
	int ret = sq_do(sq_of(m), &q, sq_strv_row, &sv, e, "s",
			digest_str(dg, ds));

	return sq_strv_out(&sv, ret, out, count, NULL);
}

struct sq_descs {
	struct stor_desc *v;
	size_t len, alloc;
};

static int sq_desc_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	struct sq_descs *dv = arg;
	struct stor_desc *d;

	if (dv->len == dv->alloc) {
		dv->alloc = dv->alloc ? 2 * dv->alloc : 4;
		dv->v = xrealloc(dv->v, dv->alloc * sizeof(*dv->v));
	}
	d = &dv->v[dv->len];
	memset(d, 0, sizeof(*d));
	if (sq_col_digest(s, 0, &d->digest, e) < 0)
		return -1;
	d->media_type = sq_col_strdup(s, 1);
	if (!d->media_type)
		d->media_type = xstrdup("");
	d->size = sqlite3_column_int64(s, 2);
	d->artifact_type = sq_col_strdup(s, 3);
	d->annotations_json = sq_col_strdup(s, 4);
	dv->len++;
	return 0;
}

static int sq_referrers(struct stor_meta *m, const char *repo,
			const struct digest *dg, const char *artifact_type,
			struct stor_desc **out, size_t *count, struct err *e)
{
	static const struct sq_stmt q = {
		"list referrers",
		"SELECT digest, media_type, size, artifact_type,"
		" annotations_json FROM manifests"
		" WHERE repo = ?1 AND subject = ?2"
		" AND (?3 IS NULL OR artifact_type = ?3)"
		" ORDER BY created, digest",
	};
	struct sq_descs dv = {NULL, 0, 0};
	char ds[DIGEST_STR_MAX];

	if (sq_do(sq_of(m), &q, sq_desc_row, &dv, e, "sss", repo,
		  digest_str(dg, ds), artifact_type) < 0) {
		stor_desc_free(dv.v, dv.len);
		return -1;
	}
	*out = dv.v ? dv.v : xmalloc(sizeof(*dv.v));
	*count = dv.len;
	return 0;
}

/* Columns 0.. into the int64_t array at arg. */
static int sq_meta_stats_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	int64_t *v = arg;

	(void)e;
	for (int i = 0; i < sqlite3_column_count(s); i++)
		v[i] = sqlite3_column_int64(s, i);
	return 1;
}

static int sq_meta_stats(struct stor_meta *m, bool with_blobs,
			 struct stor_meta_stats *out, struct err *e)
{
	static const struct sq_stmt counts = {
		"count",
		"SELECT (SELECT count(*) FROM repositories),"
		" (SELECT count(*) FROM manifests),"
		" (SELECT count(*) FROM uploads)",
	};
	/* One pass over the links, by digest (repo_blobs_by_digest). */
	static const struct sq_stmt blobs = {
		"count blobs",
		"SELECT count(*), coalesce(sum(s.size), 0)"
		" FROM (SELECT DISTINCT digest FROM repo_blobs) b"
		" LEFT JOIN blob_sizes s ON s.digest = b.digest",
	};
	int64_t v[3] = {0, 0, 0}, b[2] = {-1, -1};

	if (sq_do(sq_of(m), &counts, sq_meta_stats_row, v, e, "") < 0 ||
	    (with_blobs &&
	     sq_do(sq_of(m), &blobs, sq_meta_stats_row, b, e, "") < 0))
		return -1;
	*out = (struct stor_meta_stats){v[0], v[1], v[2], b[0], b[1]};
	return 0;
}

/* stor_tag_times(): one statement, the rows grown as they come. */
struct sq_tag_times {
	struct stor_tag_time *v;
	size_t len, alloc;
};

static int sq_tag_time_row(void *arg, sqlite3_stmt *s, struct err *e)
{
	struct sq_tag_times *tt = arg;
	struct stor_tag_time *t;

	if (tt->len == tt->alloc) {
		tt->alloc = tt->alloc ? 2 * tt->alloc : 16;
		tt->v = xrealloc(tt->v, tt->alloc * sizeof(*tt->v));
	}
	t = &tt->v[tt->len];
	if (sq_col_digest(s, 1, &t->digest, e) < 0)
		return -1;
	t->tag = sq_col_strdup(s, 0);
	t->tagged = sqlite3_column_int64(s, 2);
	t->created = sqlite3_column_int64(s, 3);
	tt->len++;
	return 0;
}

static int sq_tag_times(struct stor_meta *m, const char *repo,
			struct stor_tag_time **out, size_t *count,
			struct err *e)
{
	static const struct sq_stmt q = {
		"list tag times",
		"SELECT t.tag, t.digest, t.updated, m.created FROM tags t"
		" JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest"
		" WHERE t.repo = ?1 ORDER BY t.updated, t.tag",
	};
	struct sq_tag_times tt = {NULL, 0, 0};

	if (sq_do(sq_of(m), &q, sq_tag_time_row, &tt, e, "s", repo) < 0) {
		stor_tag_times_free(tt.v, tt.len);
		return -1;
	}
	*out = tt.v;
	*count = tt.len;
	return 0;
}

const struct stor_meta_ops sq_meta_ops = {
	.free = sq_free,
	.blob_linked = sq_blob_linked,
	.blob_link = sq_blob_link,
	.blob_unlink = sq_blob_unlink,
	.up_add = sq_up_add,
	.blob_size_put = sq_blob_size_put,
	.blob_size = sq_blob_size,
	.up_find = sq_up_find,
	.up_touch = sq_up_touch,
	.up_done = sq_up_done,
	.up_remove = sq_up_remove,
	.up_state_put = sq_up_state_put,
	.up_state_get = sq_up_state_get,
	.mf_put = sq_mf_put,
	.mf_find = sq_mf_find,
	.mf_delete = sq_mf_delete,
	.tag_delete = sq_tag_delete,
	.tags_list = sq_tags_list,
	.tag_times = sq_tag_times,
	.catalog = sq_catalog,
	.referrers = sq_referrers,
	.mf_repos = sq_mf_repos,
	.stats = sq_meta_stats,
};
