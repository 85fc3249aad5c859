/* meta_sql.c: the metadata vtable (struct stor_meta_ops) on either
 * engine (sql_int.h): repositories, blob links and sizes, upload sessions,
 * manifests, tags and referrers.
 */
#include "storage/sql_int.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/banned.h"

static int sql_repo_add(struct sql_conn *c, const char *repo, struct err *e)
{
	static const struct sql_stmt q = {
		"add repository",
		"INSERT INTO repositories (name, created)"
		" VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	};

	return sql_run(c, &q, NULL, NULL, e, "si", repo, sql_now());
}

/* --- Blob links ------------------------------------------------------- */

struct sql_link_arg {
	const char *repo;
	const char *digest;
};

static int sql_blob_linked(struct stor_meta *m, const char *repo,
			   const struct digest *dg, bool *out, struct err *e)
{
	static const struct sql_stmt q = {
		"find blob link",
		"SELECT 1 FROM repo_blobs"
		" WHERE repo = ?1 AND digest = ?2",
	};
	char ds[DIGEST_STR_MAX];
	int n;

	n = sql_do(m, &q, NULL, NULL, e, "ss", repo, digest_str(dg, ds));
	*out = n > 0;
	return n < 0 ? -1 : 0;
}

/* Links a->digest to a->repo; also inside an upload's finish. */
static int sql_blob_link_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt q = {
		"link blob",
		"INSERT INTO repo_blobs (repo, digest, created)"
		" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	};
	const struct sql_link_arg *a = arg;

	if (sql_repo_add(c, a->repo, e) < 0)
		return -1;
	return sql_run(c, &q, NULL, NULL, e, "ssi", a->repo, a->digest,
		       sql_now());
}

static int sql_blob_link(struct stor_meta *m, const char *repo,
			 const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sql_link_arg a = {repo, digest_str(dg, ds)};

	return sql_txn(m, sql_blob_link_fn, &a, e);
}

static int sql_blob_unlink(struct stor_meta *m, const char *repo,
			   const struct digest *dg, struct err *e)
{
	static const struct sql_stmt q = {
		"unlink blob",
		"DELETE FROM repo_blobs"
		" WHERE repo = ?1 AND digest = ?2",
	};
	char ds[DIGEST_STR_MAX];
	int n = sql_do(m, &q, NULL, NULL, e, "ss", repo, digest_str(dg, ds));

	if (n == 0)
		return err_set(e, ERR_BLOB_UNKNOWN, "blob %s unknown in %s", ds,
			       repo);
	return n < 0 ? -1 : 0;
}

/* --- Blob sizes ------------------------------------------------------- */

static const struct sql_stmt sql_blob_size_q = {
	"record blob size",
	"INSERT INTO blob_sizes (digest, size)"
	" VALUES (?1, ?2) ON CONFLICT (digest) DO UPDATE"
	" SET size = excluded.size",
};

static int sql_blob_size_put(struct stor_meta *m, const struct digest *dg,
			     int64_t size, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	int n;

	n = sql_do(m, &sql_blob_size_q, NULL, NULL, e, "si", digest_str(dg, ds),
		   size);
	return n < 0 ? -1 : 0;
}

static int sql_blob_size(struct stor_meta *m, const struct digest *dg,
			 int64_t *size, struct err *e)
{
	static const struct sql_stmt q = {
		"find blob size",
		"SELECT size FROM blob_sizes WHERE digest = ?1"
		" UNION ALL SELECT size FROM manifests"
		" WHERE digest = ?1 LIMIT 1",
	};
	char ds[DIGEST_STR_MAX];
	int n;

	*size = -1;
	n = sql_do(m, &q, sql_row_int64, size, e, "s", digest_str(dg, ds));
	return n < 0 ? -1 : 0;
}

/* --- Uploads ------------------------------------------------------------ */

struct sql_up_arg {
	const char *repo;
	const char *id;
	const char *digest;
	const struct stor_upload_limits *lim; /* sql_up_add() only */
};

/* Under the write lock (sqlite) or a lock on the uploads table (inserts
 * only; reads go on), so two starts on any nodes cannot both take the last
 * slot. */
static int sql_up_limits(struct sql_conn *c, const struct sql_up_arg *a,
			 struct err *e)
{
	static const struct sql_stmt lock = {
		"lock uploads",
		"" SQL_PG("LOCK TABLE uploads IN SHARE ROW EXCLUSIVE MODE"),
	};
	static const struct sql_stmt by_repo = {
		"count uploads",
		"SELECT count(*) FROM uploads WHERE repo = ?1",
	};
	static const struct sql_stmt by_client = {
		"count uploads",
		"SELECT count(*) FROM uploads WHERE client = ?1",
	};
	const struct stor_upload_limits *lim = a->lim;
	int64_t n = 0;

	if (!lim || (lim->max_per_repo <= 0 &&
		     (!lim->client || lim->max_per_client <= 0)))
		return 0;
	if (sql_run(c, &lock, NULL, NULL, e, "") < 0)
		return -1;
	if (lim->max_per_repo > 0) {
		if (sql_run(c, &by_repo, sql_row_int64, &n, e, "s", a->repo) <
		    0)
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
		if (sql_run(c, &by_client, sql_row_int64, &n, e, "s",
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

static int sql_up_add_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt q = {
		"add upload",
		"INSERT INTO uploads (id, repo, created, updated,"
		" client) VALUES (?1, ?2, ?3, ?3, ?4)",
	};
	const struct sql_up_arg *a = arg;

	if (sql_up_limits(c, a, e) < 0 || sql_repo_add(c, a->repo, e) < 0)
		return -1;
	return sql_run(c, &q, NULL, NULL, e, "ssis", a->id, a->repo, sql_now(),
		       a->lim ? a->lim->client : NULL);
}

static int sql_up_add(struct stor_meta *m, const char *repo, const char *id,
		      const struct stor_upload_limits *lim, struct err *e)
{
	struct sql_up_arg a = {repo, id, NULL, lim};

	return sql_txn(m, sql_up_add_fn, &a, e);
}

static int sql_up_find(struct stor_meta *m, const char *repo, const char *id,
		       struct err *e)
{
	static const struct sql_stmt q = {
		"find upload",
		"SELECT 1 FROM uploads WHERE id = ?1 AND repo = ?2",
	};
	int n = sql_do(m, &q, NULL, NULL, e, "ss", id, repo);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return n < 0 ? -1 : 0;
}

static int sql_up_touch(struct stor_meta *m, const char *id, int64_t offset,
			struct err *e)
{
	static const struct sql_stmt q = {
		"update upload",
		"UPDATE uploads SET received = ?2, updated = ?3"
		" WHERE id = ?1",
	};

	int n = sql_do(m, &q, NULL, NULL, e, "sii", id, offset, sql_now());

	return n < 0 ? -1 : 0;
}

static const struct sql_stmt sql_up_del = {
	"delete upload",
	"DELETE FROM uploads WHERE id = ?1 AND repo = ?2",
};

static int sql_up_done_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	const struct sql_up_arg *a = arg;
	struct sql_link_arg l = {a->repo, a->digest};

	if (sql_blob_link_fn(c, &l, e) < 0)
		return -1;
	return sql_run(c, &sql_up_del, NULL, NULL, e, "ss", a->id, a->repo);
}

static int sql_up_done(struct stor_meta *m, const char *repo, const char *id,
		       const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sql_up_arg a = {repo, id, digest_str(dg, ds), NULL};

	return sql_txn(m, sql_up_done_fn, &a, e);
}

static int sql_up_remove(struct stor_meta *m, const char *repo, const char *id,
			 struct err *e)
{
	int n = sql_do(m, &sql_up_del, NULL, NULL, e, "ss", id, repo);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN,
			       "upload %s unknown in %s", id, repo);
	return n < 0 ? -1 : 0;
}

static int sql_up_state_put(struct stor_meta *m, const char *id,
			    const char *state, struct err *e)
{
	static const struct sql_stmt q = {
		"save upload state",
		"UPDATE uploads SET blob_state = ?2 WHERE id = ?1",
	};
	int n = sql_do(m, &q, NULL, NULL, e, "ss", id, state);

	if (n == 0)
		return err_set(e, ERR_BLOB_UPLOAD_UNKNOWN, "upload %s unknown",
			       id);
	return n < 0 ? -1 : 0;
}

static int sql_row_state(void *arg, const struct sql_row *s, struct err *e)
{
	const char *t = sql_col_text(s, 0);

	if (t && buf_add(arg, t, strlen(t)) < 0)
		return err_set(e, ERR_DB, "upload state too large");
	return 1;
}

static int sql_up_state_get(struct stor_meta *m, const char *id,
			    struct buf *out, struct err *e)
{
	static const struct sql_stmt q = {
		"load upload state",
		"SELECT blob_state FROM uploads"
		" WHERE id = ?1 AND blob_state IS NOT NULL",
	};
	int n = sql_do(m, &q, sql_row_state, out, e, "s", id);

	return n < 0 ? -1 : n == 0 ? 1 : 0;
}

/* --- Manifests and tags ------------------------------------------------- */

static int sql_refs_del(struct sql_conn *c, const char *repo, const char *ds,
			struct err *e)
{
	static const struct sql_stmt q = {
		"clear manifest refs",
		"DELETE FROM manifest_refs"
		" WHERE repo = ?1 AND digest = ?2",
	};

	return sql_run(c, &q, NULL, NULL, e, "ss", repo, ds);
}

static int sql_mf_refs(struct sql_conn *c, const struct stor_manifest_put *mp,
		       const char *ds, struct err *e)
{
	static const struct sql_stmt q = {
		"add manifest ref",
		"INSERT INTO manifest_refs (repo, digest, child)"
		" VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	};
	char rs[DIGEST_STR_MAX];

	if (sql_refs_del(c, mp->repo, ds, e) < 0)
		return -1;
	for (size_t i = 0; i < mp->nrefs + mp->nsparse; i++) {
		const struct digest *r = i < mp->nrefs
						 ? &mp->refs[i]
						 : &mp->sparse[i - mp->nrefs];

		if (sql_run(c, &q, NULL, NULL, e, "sss", mp->repo, ds,
			    digest_str(r, rs)) < 0)
			return -1;
	}
	return 0;
}

/* 1 if a push of ds to repo needs a scan job, 0 if the report in place
 * serves (see stor_manifest_put.scan_db).  PostgreSQL locks the tag and
 * job rows it read: a DELETE of the manifest in flight is waited for (and
 * then needs the job), one that comes after deletes what this put adds
 * with the rest. */
static int sql_mf_scan_needed(struct sql_conn *c, const char *repo,
			      const char *ds, const char *db, struct err *e)
{
	static const struct sql_stmt q = {
		"check scan is current",
		"SELECT 1 FROM tags t JOIN scan_jobs j ON j.digest = t.digest"
		" JOIN scan_results r ON r.digest = t.digest"
		" WHERE t.repo = ?2 AND t.digest = ?1 AND j.state = 'done'"
		" AND r.checked_db IS NOT DISTINCT FROM CAST(?3 AS TEXT)"
		" LIMIT 1" SQL_PG(
			"SELECT 1 FROM tags t JOIN scan_jobs j"
			" ON j.digest = t.digest"
			" JOIN scan_results r ON r.digest = t.digest"
			" WHERE t.repo = ?2 AND t.digest = ?1"
			" AND j.state = 'done'"
			" AND r.checked_db IS NOT DISTINCT FROM ?3::text"
			" FOR SHARE OF t, j"),
	};
	int n = sql_run(c, &q, NULL, NULL, e, "sss", ds, repo, *db ? db : NULL);

	return n < 0 ? -1 : n == 0;
}

/* 1 if subject ss is a manifest of repo (PostgreSQL: its row locked
 * until the transaction ends), 0 if not. */
static int sql_mf_subject_held(struct sql_conn *c, const char *repo,
			       const char *ss, struct err *e)
{
	static const struct sql_stmt q = {
		"check subject",
		"SELECT 1 FROM manifests WHERE repo = ?1 AND digest = "
		"?2" SQL_PG("SELECT 1 FROM manifests WHERE repo = ?1"
			    " AND digest = ?2 FOR SHARE"),
	};

	return sql_run(c, &q, NULL, NULL, e, "ss", repo, ss);
}

static int sql_mf_put_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt put = {
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
	static const struct sql_stmt tag = {
		"set tag",
		"INSERT INTO tags (repo, tag, digest, updated)"
		" VALUES (?1, ?2, ?3, ?4)"
		" ON CONFLICT (repo, tag) DO UPDATE SET"
		" digest = excluded.digest,"
		" updated = excluded.updated",
	};
	const struct stor_manifest_put *mp = arg;
	char ds[DIGEST_STR_MAX], subj[DIGEST_STR_MAX];
	int64_t now = sql_now();
	int scan = mp->enqueue_scan, held;

	digest_str(mp->digest, ds);
	if (mp->if_subject && mp->subject) {
		held = sql_mf_subject_held(c, mp->repo,
					   digest_str(mp->subject, subj), e);
		if (held < 0)
			return -1;
		if (!held)
			return err_set(e, ERR_MANIFEST_UNKNOWN,
				       "subject %s unknown in %s", subj,
				       mp->repo);
	}
	/* Before the tags change: whether it had one. */
	if (scan && mp->scan_db) {
		scan = sql_mf_scan_needed(c, mp->repo, ds, mp->scan_db, e);
		if (scan < 0)
			return -1;
	}
	if (sql_repo_add(c, mp->repo, e) < 0)
		return -1;
	if (sql_run(c, &put, NULL, NULL, e, "sssisssi", mp->repo, ds,
		    mp->media_type, (int64_t)mp->len,
		    mp->subject ? digest_str(mp->subject, subj) : NULL,
		    mp->artifact_type, mp->annotations_json, now) < 0)
		return -1;
	if (sql_mf_refs(c, mp, ds, e) < 0)
		return -1;
	if (mp->tag && sql_run(c, &tag, NULL, NULL, e, "sssi", mp->repo,
			       mp->tag, ds, now) < 0)
		return -1;
	for (size_t i = 0; i < mp->ntags; i++)
		if (sql_run(c, &tag, NULL, NULL, e, "sssi", mp->repo,
			    mp->tags[i], ds, now) < 0)
			return -1;
	if (scan && sql_scan_add(c, ds, mp->repo, now, e) < 0)
		return -1;
	return sql_outbox_put(c, mp->events, mp->nevents, e);
}

static int sql_mf_put(struct stor_meta *m, const struct stor_manifest_put *mp,
		      struct err *e)
{
	return sql_txn(m, sql_mf_put_fn, mp, e);
}

struct sql_mf_row {
	struct digest *dg;
	char **media_type;
	int64_t *size;
};

static int sql_mf_row(void *arg, const struct sql_row *s, struct err *e)
{
	const struct sql_mf_row *r = arg;

	if (sql_col_digest(s, 0, r->dg, e) < 0)
		return -1;
	*r->media_type = sql_col_strdup(s, 1);
	if (!*r->media_type)
		*r->media_type = xstrdup("");
	*r->size = sql_col_int64(s, 2);
	return 1;
}

static int sql_mf_find(struct stor_meta *m, const char *repo, const char *tag,
		       const struct digest *dg, struct digest *dg_out,
		       char **media_type, int64_t *size, struct err *e)
{
	static const struct sql_stmt by_tag = {
		"find manifest by tag",
		"SELECT m.digest, m.media_type, m.size"
		" FROM tags t JOIN manifests m"
		" ON m.repo = t.repo AND m.digest = t.digest"
		" WHERE t.repo = ?1 AND t.tag = ?2",
	};
	static const struct sql_stmt by_digest = {
		"find manifest",
		"SELECT digest, media_type, size FROM manifests"
		" WHERE repo = ?1 AND digest = ?2",
	};
	struct sql_mf_row r = {dg_out, media_type, size};
	char ds[DIGEST_STR_MAX];
	const char *key = tag ? tag : digest_str(dg, ds);
	int n = sql_do(m, tag ? &by_tag : &by_digest, sql_mf_row, &r, e, "ss",
		       repo, key);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN,
			       "manifest %s unknown in %s", key, repo);
	return n < 0 ? -1 : 0;
}

static int sql_mf_delete_fn(struct sql_conn *c, const void *arg, struct err *e)
{
	static const struct sql_stmt tags = {
		"delete manifest tags",
		"DELETE FROM tags WHERE repo = ?1 AND digest = ?2",
	};
	static const struct sql_stmt mf = {
		"delete manifest",
		"DELETE FROM manifests WHERE repo = ?1 AND digest = ?2",
	};
	const struct sql_link_arg *a = arg;
	int n;

	if (sql_run(c, &tags, NULL, NULL, e, "ss", a->repo, a->digest) < 0 ||
	    sql_refs_del(c, a->repo, a->digest, e) < 0)
		return -1;
	n = sql_run(c, &mf, NULL, NULL, e, "ss", a->repo, a->digest);
	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN,
			       "manifest %s unknown in %s", a->digest, a->repo);
	return n;
}

int sql_mf_delete_in(struct sql_conn *c, const char *repo, const char *ds,
		     struct err *e)
{
	struct sql_link_arg a = {repo, ds};

	return sql_mf_delete_fn(c, &a, e) < 0 ? -1 : 0;
}

static int sql_mf_delete(struct stor_meta *m, const char *repo,
			 const struct digest *dg, struct err *e)
{
	char ds[DIGEST_STR_MAX];
	struct sql_link_arg a = {repo, digest_str(dg, ds)};

	return sql_txn(m, sql_mf_delete_fn, &a, e);
}

/* As stor_blob_put() for each blob, then sql_mf_put_fn(), then the
 * replaced referrers deleted where they still are. */
int sql_referrer_put(struct sql_conn *c, const struct stor_scan_referrer *r,
		     struct err *e)
{
	const char *repo = r->put->repo;
	struct stor_manifest_put put = *r->put;
	char ds[DIGEST_STR_MAX];
	int held;

	/* The image deleted meanwhile: no referrer for it (the batch goes
	 * on); checked once, here. */
	if (put.if_subject && put.subject) {
		held = sql_mf_subject_held(c, repo, digest_str(put.subject, ds),
					   e);
		if (held <= 0)
			return held;
		put.if_subject = false;
	}
	for (size_t i = 0; i < r->nblobs; i++) {
		struct sql_link_arg a = {repo,
					 digest_str(r->blobs[i].digest, ds)};

		if (sql_blob_link_fn(c, &a, e) < 0 ||
		    sql_run(c, &sql_blob_size_q, NULL, NULL, e, "si", ds,
			    (int64_t)r->blobs[i].len) < 0)
			return -1;
	}
	if (sql_mf_put_fn(c, &put, e) < 0)
		return -1;
	for (size_t i = 0; i < r->ndrop; i++) {
		struct sql_link_arg a = {repo, digest_str(&r->drop[i], ds)};
		struct err sub = ERR_INIT;

		if (sql_mf_delete_fn(c, &a, &sub) < 0 &&
		    sub.code != ERR_MANIFEST_UNKNOWN)
			return err_set(e, sub.code, "%s", sub.msg);
	}
	return 0;
}

static const struct sql_stmt sql_tag_delete_q = {
	"delete tag",
	"DELETE FROM tags WHERE repo = ?1 AND tag = ?2",
};

int sql_tag_delete_in(struct sql_conn *c, const char *repo, const char *tag,
		      struct err *e)
{
	int n = sql_run(c, &sql_tag_delete_q, NULL, NULL, e, "ss", repo, tag);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "tag %s unknown in %s",
			       tag, repo);
	return n < 0 ? -1 : 0;
}

static int sql_tag_delete(struct stor_meta *m, const char *repo,
			  const char *tag, struct err *e)
{
	int n = sql_do(m, &sql_tag_delete_q, NULL, NULL, e, "ss", repo, tag);

	if (n == 0)
		return err_set(e, ERR_MANIFEST_UNKNOWN, "tag %s unknown in %s",
			       tag, repo);
	return n < 0 ? -1 : 0;
}

/* --- Lists ------------------------------------------------------------- */

/* Column 0 of a listing's rows, at most max (max < 0: all); the LIMIT
 * asks for one row more, which says whether more follow. */
struct sql_strv {
	char **v;
	size_t len, alloc;
	long max;
	bool more;
};

static int64_t sql_limit(long n)
{
	return n < 0 || n >= INT64_MAX ? -1 : (int64_t)n + 1;
}

static int sql_strv_row(void *arg, const struct sql_row *s, struct err *e)
{
	struct sql_strv *sv = arg;

	(void)e;
	if (sv->max >= 0 && sv->len == (size_t)sv->max) {
		sv->more = true;
		return 1;
	}
	if (sv->len == sv->alloc) {
		sv->alloc = sv->alloc ? 2 * sv->alloc : 8;
		sv->v = xrealloc(sv->v, sv->alloc * sizeof(*sv->v));
	}
	sv->v[sv->len++] = sql_col_strdup(s, 0);
	return 0;
}

/* Hands the strings of a finished listing (ret its sql_run()) over. */
static int sql_strv_out(struct sql_strv *sv, int ret, char ***out,
			size_t *count, bool *more)
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

static int sql_tags_list(struct stor_meta *m, const char *repo,
			 const char *last, long n, char ***out, size_t *count,
			 bool *more, struct err *e)
{
	static const struct sql_stmt exists = {
		"find repository",
		"SELECT 1 FROM repositories WHERE name = ?1",
	};
	static const struct sql_stmt tags = {
		"list tags",
		"SELECT tag FROM tags WHERE repo = ?1 AND tag > ?2"
		" ORDER BY tag LIMIT ?3" SQL_PG(
			"SELECT tag FROM tags WHERE repo = ?1 AND tag > ?2"
			" ORDER BY tag LIMIT NULLIF(?3::bigint, -1)"),
	};
	struct sql_strv sv = {NULL, 0, 0, n, false};
	int ret = sql_do(m, &exists, NULL, NULL, e, "s", repo);

	if (ret == 0)
		return err_set(e, ERR_NAME_UNKNOWN, "repository %s unknown",
			       repo);
	if (ret > 0)
		ret = sql_do(m, &tags, sql_strv_row, &sv, e, "ssi", repo,
			     last ? last : "", sql_limit(n));
	return sql_strv_out(&sv, ret, out, count, more);
}

static int sql_catalog(struct stor_meta *m, const char *last, long n,
		       char ***out, size_t *count, bool *more, struct err *e)
{
	static const struct sql_stmt q = {
		"list repositories",
		"SELECT name FROM repositories r WHERE name > ?1"
		" AND EXISTS (SELECT 1 FROM manifests m"
		" WHERE m.repo = r.name)"
		" ORDER BY name LIMIT ?2" SQL_PG(
			"SELECT name FROM repositories r WHERE name > ?1"
			" AND EXISTS (SELECT 1 FROM manifests m"
			" WHERE m.repo = r.name)"
			" ORDER BY name LIMIT NULLIF(?2::bigint, -1)"),
	};
	struct sql_strv sv = {NULL, 0, 0, n, false};
	int ret = sql_do(m, &q, sql_strv_row, &sv, e, "si", last ? last : "",
			 sql_limit(n));

	return sql_strv_out(&sv, ret, out, count, more);
}

static int sql_mf_repos(struct stor_meta *m, const struct digest *dg,
			char ***out, size_t *count, struct err *e)
{
	static const struct sql_stmt q = {
		"list repositories of manifest",
		"SELECT DISTINCT repo FROM manifests"
		" WHERE digest = ?1 ORDER BY repo",
	};
	struct sql_strv sv = {NULL, 0, 0, -1, false};
	char ds[DIGEST_STR_MAX];
	int ret = sql_do(m, &q, sql_strv_row, &sv, e, "s", digest_str(dg, ds));

	return sql_strv_out(&sv, ret, out, count, NULL);
}

struct sql_descs {
	struct stor_desc *v;
	size_t len, alloc;
};

static int sql_desc_row(void *arg, const struct sql_row *s, struct err *e)
{
	struct sql_descs *dv = arg;
	struct stor_desc *d;

	if (dv->len == dv->alloc) {
		dv->alloc = dv->alloc ? 2 * dv->alloc : 4;
		dv->v = xrealloc(dv->v, dv->alloc * sizeof(*dv->v));
	}
	d = &dv->v[dv->len];
	memset(d, 0, sizeof(*d));
	if (sql_col_digest(s, 0, &d->digest, e) < 0)
		return -1;
	d->media_type = sql_col_strdup(s, 1);
	if (!d->media_type)
		d->media_type = xstrdup("");
	d->size = sql_col_int64(s, 2);
	d->artifact_type = sql_col_strdup(s, 3);
	d->annotations_json = sql_col_strdup(s, 4);
	dv->len++;
	return 0;
}

static int sql_referrers(struct stor_meta *m, const char *repo,
			 const struct digest *dg, const char *artifact_type,
			 struct stor_desc **out, size_t *count, struct err *e)
{
	/* sqlite without statistics guesses ten rows for repo = ?1 and
	 * reads the whole repository by its key instead of this index: a
	 * referrers query per image then costs a scan of the repository. */
#define SQL_REFERRERS(from)                                                    \
	"SELECT digest, media_type, size, artifact_type,"                      \
	" annotations_json FROM " from " WHERE repo = ?1 AND subject = ?2"     \
	" AND (CAST(?3 AS TEXT) IS NULL"                                       \
	" OR artifact_type = CAST(?3 AS TEXT))"                                \
	" ORDER BY created, digest"
	static const struct sql_stmt q = {
		"list referrers",
		SQL_REFERRERS("manifests INDEXED BY manifests_by_subject")
			SQL_PG(SQL_REFERRERS("manifests")),
	};
#undef SQL_REFERRERS
	struct sql_descs dv = {NULL, 0, 0};
	char ds[DIGEST_STR_MAX];

	if (sql_do(m, &q, sql_desc_row, &dv, e, "sss", repo, digest_str(dg, ds),
		   artifact_type) < 0) {
		stor_desc_free(dv.v, dv.len);
		return -1;
	}
	*out = dv.v ? dv.v : xmalloc(sizeof(*dv.v));
	*count = dv.len;
	return 0;
}

/* Columns 0.. into the int64_t array at arg. */
static int sql_meta_stats_row(void *arg, const struct sql_row *s, struct err *e)
{
	int64_t *v = arg;

	(void)e;
	for (int i = 0; i < sql_col_count(s); i++)
		v[i] = sql_col_int64(s, i);
	return 1;
}

static int sql_meta_stats(struct stor_meta *m, bool with_blobs,
			  struct stor_meta_stats *out, struct err *e)
{
	static const struct sql_stmt counts = {
		"count",
		"SELECT (SELECT count(*) FROM repositories),"
		" (SELECT count(*) FROM manifests),"
		" (SELECT count(*) FROM uploads)",
	};
	/* One pass over the links, by digest (repo_blobs_by_digest). */
	static const struct sql_stmt blobs = {
		"count blobs",
		"SELECT count(*), CAST(coalesce(sum(s.size), 0) AS BIGINT)"
		" FROM (SELECT DISTINCT digest FROM repo_blobs) b"
		" LEFT JOIN blob_sizes s ON s.digest = b.digest",
	};
	int64_t v[3] = {0, 0, 0}, b[2] = {-1, -1};

	if (sql_do(m, &counts, sql_meta_stats_row, v, e, "") < 0 ||
	    (with_blobs && sql_do(m, &blobs, sql_meta_stats_row, b, e, "") < 0))
		return -1;
	*out = (struct stor_meta_stats){v[0], v[1], v[2], b[0], b[1]};
	return 0;
}

/* stor_tag_times(): one statement, the rows grown as they come (at most
 * max, then more is set; max < 0: all). */
struct sql_tag_times {
	struct stor_tag_time *v;
	size_t len, alloc;
	long max;
	bool more;
};

static int sql_tag_time_row(void *arg, const struct sql_row *r, struct err *e)
{
	struct sql_tag_times *tt = arg;
	struct stor_tag_time *t;

	if (tt->max >= 0 && tt->len == (size_t)tt->max) {
		tt->more = true;
		return 1;
	}
	if (tt->len == tt->alloc) {
		tt->alloc = tt->alloc ? 2 * tt->alloc : 16;
		tt->v = xrealloc(tt->v, tt->alloc * sizeof(*tt->v));
	}
	t = &tt->v[tt->len];
	if (sql_col_digest(r, 1, &t->digest, e) < 0)
		return -1;
	t->tag = sql_col_strdup(r, 0);
	t->tagged = sql_col_int64(r, 2);
	t->created = sql_col_int64(r, 3);
	t->media_type = sql_col_strdup(r, 4);
	tt->len++;
	return 0;
}

static int sql_tag_times(struct stor_meta *m, const char *repo,
			 struct stor_tag_time **out, size_t *count,
			 struct err *e)
{
	static const struct sql_stmt q = {
		"list tag times",
		"SELECT t.tag, t.digest, t.updated, m.created, m.media_type"
		" FROM tags t"
		" JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest"
		" WHERE t.repo = ?1 ORDER BY t.updated, t.tag",
	};
	struct sql_tag_times tt = {NULL, 0, 0, -1, false};

	if (sql_do(m, &q, sql_tag_time_row, &tt, e, "s", repo) < 0) {
		stor_tag_times_free(tt.v, tt.len);
		return -1;
	}
	*out = tt.v;
	*count = tt.len;
	return 0;
}

static int sql_tag_page(struct stor_meta *m, const char *repo, const char *last,
			long n, struct stor_tag_time **out, size_t *count,
			bool *more, size_t *total, struct err *e)
{
	static const struct sql_stmt exists = {
		"find repository",
		"SELECT 1 FROM repositories WHERE name = ?1",
	};
	static const struct sql_stmt all = {
		"count tags",
		"SELECT count(*) FROM tags WHERE repo = ?1",
	};
#define SQL_TAG_PAGE(limit)                                                    \
	"SELECT t.tag, t.digest, t.updated, m.created, m.media_type"           \
	" FROM tags t"                                                         \
	" JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest"         \
	" WHERE t.repo = ?1 AND t.tag > ?2 ORDER BY t.tag LIMIT " limit
	static const struct sql_stmt page = {
		"list a page of tag times",
		SQL_TAG_PAGE("?3")
			SQL_PG(SQL_TAG_PAGE("NULLIF(?3::bigint, -1)")),
	};
#undef SQL_TAG_PAGE
	struct sql_tag_times tt = {NULL, 0, 0, n, false};
	int64_t v[1] = {0};
	int ret = sql_do(m, &exists, NULL, NULL, e, "s", repo);

	if (ret == 0)
		return err_set(e, ERR_NAME_UNKNOWN, "repository %s unknown",
			       repo);
	if (ret < 0 ||
	    sql_do(m, &all, sql_meta_stats_row, v, e, "s", repo) < 0 ||
	    sql_do(m, &page, sql_tag_time_row, &tt, e, "ssi", repo,
		   last ? last : "", sql_limit(n)) < 0) {
		stor_tag_times_free(tt.v, tt.len);
		return -1;
	}
	*out = tt.v;
	*count = tt.len;
	*more = tt.more;
	*total = (size_t)v[0];
	return 0;
}

const struct stor_meta_ops sql_meta_ops = {
	.free = sql_free,
	.blob_linked = sql_blob_linked,
	.blob_link = sql_blob_link,
	.blob_unlink = sql_blob_unlink,
	.up_add = sql_up_add,
	.blob_size_put = sql_blob_size_put,
	.blob_size = sql_blob_size,
	.up_find = sql_up_find,
	.up_touch = sql_up_touch,
	.up_done = sql_up_done,
	.up_remove = sql_up_remove,
	.up_state_put = sql_up_state_put,
	.up_state_get = sql_up_state_get,
	.mf_put = sql_mf_put,
	.mf_find = sql_mf_find,
	.mf_delete = sql_mf_delete,
	.tag_delete = sql_tag_delete,
	.tags_list = sql_tags_list,
	.tag_times = sql_tag_times,
	.tag_page = sql_tag_page,
	.catalog = sql_catalog,
	.referrers = sql_referrers,
	.mf_repos = sql_mf_repos,
	.stats = sql_meta_stats,
};
