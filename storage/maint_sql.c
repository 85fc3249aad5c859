/* maint_sql.c: the maintenance vtable (struct stor_maint_ops) on either
 * engine (sql_int.h): the metadata queries of gc and fsck; the engine's
 * own checks and gc's pins are its driver's.
 *
 * A listing's rows are called back as sql_do() reads them: sqlite steps
 * its statement meanwhile (the callback may use the store, another pooled
 * connection, and WAL gives the listing a stable snapshot); PostgreSQL
 * reads the listing whole (one snapshot) and gives its connection back
 * first.
 */
#include "storage/sql_int.h"

#include <string.h>

#include "common/banned.h"

/* The row of a listing or a relation, as the caller's callback sees it. */
struct ms_each {
	enum stor_list what; /* a listing's */
	stor_row_fn fn;
	void *arg;
};

/* Fills r from the current row of listing what. */
static int ms_list_row(enum stor_list what, const struct sql_row *s,
		       struct stor_row *r, struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->repo = sql_col_text(s, 0);
	switch (what) {
	case STOR_LIST_MANIFESTS:
		r->media_type = sql_col_text(s, 2);
		r->size = sql_col_int64(s, 3);
		r->created = sql_col_int64(s, 5);
		if (sql_col_text(s, 4)) {
			if (sql_col_digest(s, 4, &r->other, e) < 0)
				return -1;
			r->has_other = true;
		}
		return sql_col_digest(s, 1, &r->digest, e);
	case STOR_LIST_REFS:
		r->has_other = true;
		if (sql_col_digest(s, 2, &r->other, e) < 0)
			return -1;
		return sql_col_digest(s, 1, &r->digest, e);
	case STOR_LIST_TAGS:
		r->name = sql_col_text(s, 1);
		r->updated = sql_col_int64(s, 3);
		return sql_col_digest(s, 2, &r->digest, e);
	case STOR_LIST_LINKS:
		r->created = sql_col_int64(s, 2);
		return sql_col_digest(s, 1, &r->digest, e);
	case STOR_LIST_REPORTS:
		r->has_other = true;
		if (sql_col_digest(s, 2, &r->other, e) < 0)
			return -1;
		return sql_col_digest(s, 1, &r->digest, e);
	case STOR_LIST_UPLOADS:
		r->name = sql_col_text(s, 1);
		r->size = sql_col_int64(s, 2);
		r->created = sql_col_int64(s, 3);
		r->updated = sql_col_int64(s, 4);
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "unknown listing %d", (int)what);
}

static int ms_list_each(void *arg, const struct sql_row *s, struct err *e)
{
	const struct ms_each *x = arg;
	struct stor_row r;

	if (ms_list_row(x->what, s, &r, e) < 0)
		return -1;
	return x->fn(x->arg, &r, e);
}

static int ms_list(struct stor_meta *m, enum stor_list what, const char *repo,
		   stor_row_fn fn, void *arg, struct err *e)
{
	static const struct sql_stmt lists[] = {
		[STOR_LIST_MANIFESTS] =
			{
				"list manifests",
				"SELECT repo, digest, media_type, size, "
				"subject,"
				" created FROM manifests"
				" WHERE CAST(?1 AS TEXT) IS NULL"
				" OR repo = CAST(?1 AS TEXT)"
				" ORDER BY repo, digest",
			},
		[STOR_LIST_REFS] =
			{
				"list manifest refs",
				"SELECT repo, digest, child FROM manifest_refs"
				" WHERE CAST(?1 AS TEXT) IS NULL"
				" OR repo = CAST(?1 AS TEXT)"
				" ORDER BY repo, digest, child",
			},
		[STOR_LIST_TAGS] =
			{
				"list tags",
				"SELECT repo, tag, digest, updated FROM tags"
				" WHERE CAST(?1 AS TEXT) IS NULL"
				" OR repo = CAST(?1 AS TEXT) ORDER BY repo, "
				"tag",
			},
		[STOR_LIST_LINKS] =
			{
				"list blob links",
				"SELECT repo, digest, created FROM repo_blobs"
				" WHERE CAST(?1 AS TEXT) IS NULL"
				" OR repo = CAST(?1 AS TEXT)"
				" ORDER BY repo, digest",
			},
		[STOR_LIST_UPLOADS] =
			{
				"list uploads",
				"SELECT repo, id, received, created, updated"
				" FROM uploads WHERE CAST(?1 AS TEXT) IS NULL"
				" OR repo = CAST(?1 AS TEXT)"
				" ORDER BY repo, id",
			},
		[STOR_LIST_REPORTS] =
			{
				"list scan report blobs",
				"SELECT '', digest, report_blob FROM"
				" scan_results WHERE report_blob IS NOT NULL"
				" AND CAST(?1 AS TEXT) IS NULL ORDER BY digest",
			},
	};
	struct ms_each x = {what, fn, arg};
	int n;

	if ((unsigned)what >= sizeof(lists) / sizeof(*lists))
		return err_set(e, ERR_INTERNAL, "unknown listing %d",
			       (int)what);
	n = sql_do(m, &lists[what], ms_list_each, &x, e, "s", repo);
	return n < 0 ? -1 : 0;
}

/* Rows (repo, digest, rel, name, other) of blob_users and mf_relations. */
static int ms_rel_each(void *arg, const struct sql_row *s, struct err *e)
{
	const struct ms_each *x = arg;
	struct stor_row r;

	memset(&r, 0, sizeof(r));
	r.repo = sql_col_text(s, 0);
	r.rel = (enum stor_rel)(int)sql_col_int64(s, 2);
	r.name = sql_col_text(s, 3);
	if (sql_col_text(s, 4)) {
		if (sql_col_digest(s, 4, &r.other, e) < 0)
			return -1;
		r.has_other = true;
	}
	if (sql_col_digest(s, 1, &r.digest, e) < 0)
		return -1;
	return x->fn(x->arg, &r, e);
}

static int ms_blob_users(struct stor_meta *m, const struct digest *dg,
			 int64_t since, stor_row_fn fn, void *arg, bool *linked,
			 struct err *e)
{
	static const struct sql_stmt users = {
		"find blob users",
		"SELECT repo, digest, 0, NULL, NULL FROM manifests"
		" WHERE digest = ?1"
		" UNION ALL SELECT repo, digest, 0, NULL, NULL"
		" FROM manifest_refs WHERE child = ?1"
		/* A scan report, as its result row names it. */
		" UNION ALL SELECT '', digest, 0, NULL, NULL"
		" FROM scan_results WHERE report_blob = ?1",
	};
	static const struct sql_stmt recent = {
		"find recent blob link",
		"SELECT EXISTS (SELECT 1 FROM repo_blobs"
		" WHERE digest = ?1 AND created > ?2)",
	};
	struct ms_each x = {STOR_LIST_MANIFESTS, fn, arg};
	char ds[DIGEST_STR_MAX];
	int64_t n = 0;

	digest_str(dg, ds);
	if (sql_do(m, &users, ms_rel_each, &x, e, "s", ds) < 0 ||
	    sql_do(m, &recent, sql_row_int64, &n, e, "si", ds, since) < 0)
		return -1;
	*linked = n != 0;
	return 0;
}

static int ms_blob_forget(struct stor_meta *m, const struct digest *dg,
			  size_t *n, struct err *e)
{
	static const struct sql_stmt q = {
		"forget blob links",
		"DELETE FROM repo_blobs WHERE digest = ?1",
	};
	/* A layer's index goes with its blob. */
	static const struct sql_stmt idx = {
		"forget layer index",
		"DELETE FROM layer_index WHERE digest = ?1",
	};
	char ds[DIGEST_STR_MAX];
	int changes = sql_do(m, &q, NULL, NULL, e, "s", digest_str(dg, ds));

	if (changes >= 0 && sql_do(m, &idx, NULL, NULL, e, "s", ds) < 0)
		return -1;

	if (changes >= 0 && n)
		*n = (size_t)changes;
	return changes < 0 ? -1 : 0;
}

static int ms_mf_relations(struct stor_meta *m, const char *repo,
			   const struct digest *dg, stor_row_fn fn, void *arg,
			   struct err *e)
{
	static const struct sql_stmt q = {
		"find manifest relations",
		"SELECT repo, digest, 1, tag, NULL FROM tags"
		" WHERE repo = ?1 AND digest = ?2"
		" UNION ALL SELECT repo, child, 2, NULL, digest"
		" FROM manifest_refs WHERE repo = ?1 AND child = ?2"
		" UNION ALL SELECT repo, subject, 3, NULL, digest"
		" FROM manifests WHERE repo = ?1 AND subject = ?2"
		" UNION ALL SELECT repo, digest, 4, NULL, subject"
		" FROM manifests WHERE repo = ?1 AND digest = ?2"
		" AND subject IS NOT NULL",
	};
	struct ms_each x = {STOR_LIST_MANIFESTS, fn, arg};
	char ds[DIGEST_STR_MAX];
	int n;

	n = sql_do(m, &q, ms_rel_each, &x, e, "ss", repo, digest_str(dg, ds));
	return n < 0 ? -1 : 0;
}

static int ms_up_exists(struct stor_meta *m, const char *id, bool *out,
			struct err *e)
{
	static const struct sql_stmt q = {
		"find upload",
		"SELECT 1 FROM uploads WHERE id = ?1",
	};
	int n = sql_do(m, &q, NULL, NULL, e, "s", id);

	if (n < 0)
		return -1;
	*out = n > 0;
	return 0;
}

const struct stor_maint_ops sql_maint_ops = {
	.list = ms_list,
	.blob_users = ms_blob_users,
	.blob_forget = ms_blob_forget,
	.mf_relations = ms_mf_relations,
	.up_exists = ms_up_exists,
	.check = sql_check,
	.pin = sql_pin,
	.unpin = sql_unpin,
};
