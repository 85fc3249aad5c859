/* maint_pg.c: the maintenance vtable (struct stor_maint_ops) in
 * PostgreSQL: the metadata queries of gc and fsck (those of
 * maint_sqlite.c), and gc's pin across nodes (pg.c).
 *
 * A listing is read whole (one snapshot) before its rows are called back,
 * with its connection given back, so the callback may use the store.
 */
#include "storage/pg_int.h"

#include <stdio.h>
#include <string.h>

#include "common/banned.h"

/* The row of a listing or a relation, as the caller's callback sees it. */
struct mp_each {
	enum stor_list what; /* a listing's */
	stor_row_fn fn;
	void *arg;
};

/* Fills r from the current row of listing what. */
static int mp_list_row(enum stor_list what, PGresult *res, int row,
		       struct stor_row *r, struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->repo = pg_col_text(res, row, 0);
	switch (what) {
	case STOR_LIST_MANIFESTS:
		r->media_type = pg_col_text(res, row, 2);
		r->size = pg_col_int64(res, row, 3);
		r->created = pg_col_int64(res, row, 5);
		if (pg_col_text(res, row, 4)) {
			if (pg_col_digest(res, row, 4, &r->other, e) < 0)
				return -1;
			r->has_other = true;
		}
		return pg_col_digest(res, row, 1, &r->digest, e);
	case STOR_LIST_REFS:
		r->has_other = true;
		if (pg_col_digest(res, row, 2, &r->other, e) < 0)
			return -1;
		return pg_col_digest(res, row, 1, &r->digest, e);
	case STOR_LIST_TAGS:
		r->name = pg_col_text(res, row, 1);
		r->updated = pg_col_int64(res, row, 3);
		return pg_col_digest(res, row, 2, &r->digest, e);
	case STOR_LIST_LINKS:
		r->created = pg_col_int64(res, row, 2);
		return pg_col_digest(res, row, 1, &r->digest, e);
	case STOR_LIST_REPORTS:
		r->has_other = true;
		if (pg_col_digest(res, row, 2, &r->other, e) < 0)
			return -1;
		return pg_col_digest(res, row, 1, &r->digest, e);
	case STOR_LIST_UPLOADS:
		r->name = pg_col_text(res, row, 1);
		r->size = pg_col_int64(res, row, 2);
		r->created = pg_col_int64(res, row, 3);
		r->updated = pg_col_int64(res, row, 4);
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "unknown listing %d", (int)what);
}

static int mp_list_each(void *arg, PGresult *res, int row, struct err *e)
{
	const struct mp_each *x = arg;
	struct stor_row r;

	if (mp_list_row(x->what, res, row, &r, e) < 0)
		return -1;
	return x->fn(x->arg, &r, e);
}

static int mp_list(struct stor_meta *m, enum stor_list what, const char *repo,
		   stor_row_fn fn, void *arg, struct err *e)
{
	static const struct sql_stmt lists[] = {
		[STOR_LIST_MANIFESTS] =
			{
				"list manifests",
				"SELECT repo, digest, media_type, size, "
				"subject,"
				" created FROM manifests WHERE $1::text IS NULL"
				" OR repo = $1::text"
				" ORDER BY repo, digest",
			},
		[STOR_LIST_REFS] =
			{
				"list manifest refs",
				"SELECT repo, digest, child FROM manifest_refs"
				" WHERE $1::text IS NULL OR repo = $1::text"
				" ORDER BY repo, digest, child",
			},
		[STOR_LIST_TAGS] =
			{
				"list tags",
				"SELECT repo, tag, digest, updated FROM tags"
				" WHERE $1::text IS NULL OR repo = $1::text"
				" ORDER BY repo, "
				"tag",
			},
		[STOR_LIST_LINKS] =
			{
				"list blob links",
				"SELECT repo, digest, created FROM repo_blobs"
				" WHERE $1::text IS NULL OR repo = $1::text"
				" ORDER BY repo, digest",
			},
		[STOR_LIST_UPLOADS] =
			{
				"list uploads",
				"SELECT repo, id, received, created, updated"
				" FROM uploads"
				" WHERE $1::text IS NULL OR repo = $1::text"
				" ORDER BY repo, id",
			},
		[STOR_LIST_REPORTS] =
			{
				"list scan report blobs",
				"SELECT '', digest, report_blob FROM"
				" scan_results WHERE report_blob IS NOT NULL"
				" AND $1::text IS NULL ORDER BY digest",
			},
	};
	struct mp_each x = {what, fn, arg};
	int n;

	if ((unsigned)what >= sizeof(lists) / sizeof(*lists))
		return err_set(e, ERR_INTERNAL, "unknown listing %d",
			       (int)what);
	n = pg_do(pg_of(m), &lists[what], mp_list_each, &x, e, "s", repo);
	return n < 0 ? -1 : 0;
}

/* Rows (repo, digest, rel, name, other) of blob_users and mf_relations. */
static int mp_rel_each(void *arg, PGresult *res, int row, struct err *e)
{
	const struct mp_each *x = arg;
	struct stor_row r;

	memset(&r, 0, sizeof(r));
	r.repo = pg_col_text(res, row, 0);
	r.rel = (enum stor_rel)(int)pg_col_int64(res, row, 2);
	r.name = pg_col_text(res, row, 3);
	if (pg_col_text(res, row, 4)) {
		if (pg_col_digest(res, row, 4, &r.other, e) < 0)
			return -1;
		r.has_other = true;
	}
	if (pg_col_digest(res, row, 1, &r.digest, e) < 0)
		return -1;
	return x->fn(x->arg, &r, e);
}

static int mp_blob_users(struct stor_meta *m, const struct digest *dg,
			 int64_t since, stor_row_fn fn, void *arg, bool *linked,
			 struct err *e)
{
	static const struct sql_stmt users = {
		"find blob users",
		"SELECT repo, digest, 0, NULL, NULL FROM manifests"
		" WHERE digest = $1"
		" UNION ALL SELECT repo, digest, 0, NULL, NULL"
		" FROM manifest_refs WHERE child = $1"
		/* A scan report, as its result row names it. */
		" UNION ALL SELECT '', digest, 0, NULL, NULL"
		" FROM scan_results WHERE report_blob = $1",
	};
	static const struct sql_stmt recent = {
		"find recent blob link",
		"SELECT EXISTS (SELECT 1 FROM repo_blobs"
		" WHERE digest = $1 AND created > $2)",
	};
	struct mp_each x = {STOR_LIST_MANIFESTS, fn, arg};
	char ds[DIGEST_STR_MAX];
	int64_t n = 0;

	digest_str(dg, ds);
	if (pg_do(pg_of(m), &users, mp_rel_each, &x, e, "s", ds) < 0 ||
	    pg_do(pg_of(m), &recent, pg_row_int64, &n, e, "si", ds, since) < 0)
		return -1;
	*linked = n != 0;
	return 0;
}

static int mp_blob_forget(struct stor_meta *m, const struct digest *dg,
			  size_t *n, struct err *e)
{
	static const struct sql_stmt q = {
		"forget blob links",
		"DELETE FROM repo_blobs WHERE digest = $1",
	};
	char ds[DIGEST_STR_MAX];
	int changes =
		pg_do(pg_of(m), &q, NULL, NULL, e, "s", digest_str(dg, ds));

	if (changes >= 0 && n)
		*n = (size_t)changes;
	return changes < 0 ? -1 : 0;
}

static int mp_mf_relations(struct stor_meta *m, const char *repo,
			   const struct digest *dg, stor_row_fn fn, void *arg,
			   struct err *e)
{
	static const struct sql_stmt q = {
		"find manifest relations",
		"SELECT repo, digest, 1, tag, NULL FROM tags"
		" WHERE repo = $1 AND digest = $2"
		" UNION ALL SELECT repo, child, 2, NULL, digest"
		" FROM manifest_refs WHERE repo = $1 AND child = $2"
		" UNION ALL SELECT repo, subject, 3, NULL, digest"
		" FROM manifests WHERE repo = $1 AND subject = $2"
		" UNION ALL SELECT repo, digest, 4, NULL, subject"
		" FROM manifests WHERE repo = $1 AND digest = $2"
		" AND subject IS NOT NULL",
	};
	struct mp_each x = {STOR_LIST_MANIFESTS, fn, arg};
	char ds[DIGEST_STR_MAX];
	int n;

	n = pg_do(pg_of(m), &q, mp_rel_each, &x, e, "ss", repo,
		  digest_str(dg, ds));
	return n < 0 ? -1 : 0;
}

static int mp_up_exists(struct stor_meta *m, const char *id, bool *out,
			struct err *e)
{
	static const struct sql_stmt q = {
		"find upload",
		"SELECT 1 FROM uploads WHERE id = $1",
	};
	int n = pg_do(pg_of(m), &q, NULL, NULL, e, "s", id);

	if (n < 0)
		return -1;
	*out = n > 0;
	return 0;
}

/* Foreign keys and checks are the server's own; what is left to look at
 * is the schema's version. */
static int mp_check_row(void *arg, PGresult *res, int row, struct err *e)
{
	const struct mp_each *x = arg;
	struct stor_row r;

	memset(&r, 0, sizeof(r));
	r.name = pg_col_text(res, row, 0);
	return x->fn(x->arg, &r, e) < 0 ? -1 : 0;
}

static int mp_check(struct stor_meta *m, stor_row_fn fn, void *arg,
		    struct err *e)
{
	static const struct sql_stmt q = {
		"check schema version",
		"SELECT 'schema_version: ' || count(*) || ' rows'"
		" FROM schema_version HAVING count(*) <> 1",
	};
	struct mp_each x = {STOR_LIST_MANIFESTS, fn, arg};

	return pg_do(pg_of(m), &q, mp_check_row, &x, e, "") < 0 ? -1 : 0;
}

const struct stor_maint_ops pg_maint_ops = {
	.list = mp_list,
	.blob_users = mp_blob_users,
	.blob_forget = mp_blob_forget,
	.mf_relations = mp_mf_relations,
	.up_exists = mp_up_exists,
	.check = mp_check,
	.pin = pg_pin,
	.unpin = pg_unpin,
};
