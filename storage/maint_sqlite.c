/* maint_sqlite.c: the metadata queries of gc and fsck.
 *
 * They run seldom and walk whole tables, so their statements are prepared
 * per call rather than cached with the hot ones of meta_sqlite.c.  A
 * listing steps its statement while calling back: the callback may use
 * the store (another pooled connection), and WAL gives the listing a
 * stable snapshot meanwhile.
 */
#include "storage/sqlite_int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "common/banned.h"

static const char *const ms_list_sql[] = {
	[STOR_LIST_MANIFESTS] = "SELECT repo, digest, media_type, size,"
				" subject, created FROM manifests"
				" WHERE ?1 IS NULL OR repo = ?1"
				" ORDER BY repo, digest",
	[STOR_LIST_REFS] = "SELECT repo, digest, child FROM manifest_refs"
			   " WHERE ?1 IS NULL OR repo = ?1"
			   " ORDER BY repo, digest, child",
	[STOR_LIST_TAGS] = "SELECT repo, tag, digest, updated FROM tags"
			   " WHERE ?1 IS NULL OR repo = ?1"
			   " ORDER BY repo, tag",
	[STOR_LIST_LINKS] = "SELECT repo, digest, created FROM repo_blobs"
			    " WHERE ?1 IS NULL OR repo = ?1"
			    " ORDER BY repo, digest",
	[STOR_LIST_UPLOADS] = "SELECT repo, id, received, created, updated"
			      " FROM uploads WHERE ?1 IS NULL OR repo = ?1"
			      " ORDER BY repo, id",
};

static sqlite3_stmt *ms_prepare(struct sq_conn *c, const char *sql,
				const char *what, struct err *e)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK) {
		sq_fail(c->db, what, e);
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

static const char *ms_text(sqlite3_stmt *s, int col)
{
	return (const char *)sqlite3_column_text(s, col);
}

/* Fills r from the current row of listing what. */
static int ms_list_row(enum stor_list what, sqlite3_stmt *s, struct stor_row *r,
		       struct err *e)
{
	memset(r, 0, sizeof(*r));
	r->repo = ms_text(s, 0);
	switch (what) {
	case STOR_LIST_MANIFESTS:
		r->media_type = ms_text(s, 2);
		r->size = sqlite3_column_int64(s, 3);
		r->created = sqlite3_column_int64(s, 5);
		if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
			if (sq_col_digest(s, 4, &r->other, e) < 0)
				return -1;
			r->has_other = true;
		}
		return sq_col_digest(s, 1, &r->digest, e);
	case STOR_LIST_REFS:
		r->has_other = true;
		if (sq_col_digest(s, 2, &r->other, e) < 0)
			return -1;
		return sq_col_digest(s, 1, &r->digest, e);
	case STOR_LIST_TAGS:
		r->name = ms_text(s, 1);
		r->updated = sqlite3_column_int64(s, 3);
		return sq_col_digest(s, 2, &r->digest, e);
	case STOR_LIST_LINKS:
		r->created = sqlite3_column_int64(s, 2);
		return sq_col_digest(s, 1, &r->digest, e);
	case STOR_LIST_UPLOADS:
		r->name = ms_text(s, 1);
		r->size = sqlite3_column_int64(s, 2);
		r->created = sqlite3_column_int64(s, 3);
		r->updated = sqlite3_column_int64(s, 4);
		return 0;
	}
	return err_set(e, ERR_INTERNAL, "unknown listing %d", (int)what);
}

/* Steps s, calling fn for each row as fill() reads it. */
static int ms_each(struct sq_conn *c, sqlite3_stmt *s, const char *what,
		   int (*fill)(int kind, sqlite3_stmt *s, struct stor_row *r,
			       struct err *e),
		   int kind, stor_row_fn fn, void *arg, struct err *e)
{
	struct stor_row r;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fill(kind, s, &r, e) < 0)
			return -1;
		rc = fn(arg, &r, e);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return 0;
	}
	if (rc != SQLITE_DONE)
		return sq_fail(c->db, what, e);
	return 0;
}

static int ms_list_fill(int kind, sqlite3_stmt *s, struct stor_row *r,
			struct err *e)
{
	return ms_list_row((enum stor_list)kind, s, r, e);
}

int sq_list(struct stor_meta *m, enum stor_list what, const char *repo,
	    stor_row_fn fn, void *arg, struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c;
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if ((unsigned)what >= sizeof(ms_list_sql) / sizeof(*ms_list_sql))
		return err_set(e, ERR_INTERNAL, "unknown listing %d",
			       (int)what);
	c = sq_get(sq, e);
	if (!c)
		return -1;
	s = ms_prepare(c, ms_list_sql[what], "list rows", e);
	if (!s)
		goto out;
	if (repo &&
	    sqlite3_bind_text(s, 1, repo, -1, SQLITE_STATIC) != SQLITE_OK) {
		sq_fail(c->db, "list rows", e);
		goto out;
	}
	ret = ms_each(c, s, "list rows", ms_list_fill, (int)what, fn, arg, e);
out:
	sqlite3_finalize(s);
	sq_put(sq, c);
	return ret;
}

/* Rows (repo, digest, rel, name, other) of blob_users and mf_relations. */
static int ms_rel_fill(int kind, sqlite3_stmt *s, struct stor_row *r,
		       struct err *e)
{
	(void)kind;
	memset(r, 0, sizeof(*r));
	r->repo = ms_text(s, 0);
	r->rel = (enum stor_rel)sqlite3_column_int(s, 2);
	r->name = ms_text(s, 3);
	if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
		if (sq_col_digest(s, 4, &r->other, e) < 0)
			return -1;
		r->has_other = true;
	}
	return sq_col_digest(s, 1, &r->digest, e);
}

static int ms_bind_digest(struct sq_conn *c, sqlite3_stmt *s, int i,
			  const char *ds, struct err *e)
{
	if (sqlite3_bind_text(s, i, ds, -1, SQLITE_STATIC) != SQLITE_OK)
		return sq_fail(c->db, "bind digest", e);
	return 0;
}

static int ms_linked_since(struct sq_conn *c, const char *ds, int64_t since,
			   bool *linked, struct err *e)
{
	static const char sql[] = "SELECT EXISTS (SELECT 1 FROM repo_blobs"
				  " WHERE digest = ?1 AND created > ?2)";
	sqlite3_stmt *s = ms_prepare(c, sql, "find recent blob link", e);
	int ret = -1;

	if (!s)
		return -1;
	if (ms_bind_digest(c, s, 1, ds, e) < 0 ||
	    sqlite3_bind_int64(s, 2, since) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) != SQLITE_ROW) {
		sq_fail(c->db, "find recent blob link", e);
		goto out;
	}
	*linked = sqlite3_column_int(s, 0) != 0;
	ret = 0;
out:
	sqlite3_finalize(s);
	return ret;
}

int sq_blob_users(struct stor_meta *m, const struct digest *dg, int64_t since,
		  stor_row_fn fn, void *arg, bool *linked, struct err *e)
{
	static const char sql[] =
		"SELECT repo, digest, 0, NULL, NULL FROM manifests"
		" WHERE digest = ?1"
		" UNION ALL SELECT repo, digest, 0, NULL, NULL"
		" FROM manifest_refs WHERE child = ?1";
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	digest_str(dg, ds);
	s = ms_prepare(c, sql, "find blob users", e);
	if (!s || ms_bind_digest(c, s, 1, ds, e) < 0 ||
	    ms_each(c, s, "find blob users", ms_rel_fill, 0, fn, arg, e) < 0)
		goto out;
	ret = ms_linked_since(c, ds, since, linked, e);
out:
	sqlite3_finalize(s);
	sq_put(sq, c);
	return ret;
}

int sq_blob_forget(struct stor_meta *m, const struct digest *dg, size_t *n,
		   struct err *e)
{
	static const char sql[] = "DELETE FROM repo_blobs WHERE digest = ?1";
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = ms_prepare(c, sql, "forget blob links", e);
	if (!s || ms_bind_digest(c, s, 1, digest_str(dg, ds), e) < 0)
		goto out;
	if (sqlite3_step(s) != SQLITE_DONE) {
		sq_fail(c->db, "forget blob links", e);
		goto out;
	}
	if (n)
		*n = (size_t)sqlite3_changes(c->db);
	ret = 0;
out:
	sqlite3_finalize(s);
	sq_put(sq, c);
	return ret;
}

int sq_mf_relations(struct stor_meta *m, const char *repo,
		    const struct digest *dg, stor_row_fn fn, void *arg,
		    struct err *e)
{
	static const char sql[] =
		"SELECT repo, digest, 1, tag, NULL FROM tags"
		" WHERE repo = ?1 AND digest = ?2"
		" UNION ALL SELECT repo, child, 2, NULL, digest"
		" FROM manifest_refs WHERE repo = ?1 AND child = ?2"
		" UNION ALL SELECT repo, subject, 3, NULL, digest"
		" FROM manifests WHERE repo = ?1 AND subject = ?2"
		" UNION ALL SELECT repo, digest, 4, NULL, subject"
		" FROM manifests WHERE repo = ?1 AND digest = ?2"
		" AND subject IS NOT NULL";
	struct sq *sq = sq_of(m);
	char ds[DIGEST_STR_MAX];
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s = NULL;
	int ret = -1;

	if (!c)
		return -1;
	s = ms_prepare(c, sql, "find manifest relations", e);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, repo, -1, SQLITE_STATIC) != SQLITE_OK ||
	    ms_bind_digest(c, s, 2, digest_str(dg, ds), e) < 0) {
		sq_fail(c->db, "find manifest relations", e);
		goto out;
	}
	ret = ms_each(c, s, "find manifest relations", ms_rel_fill, 0, fn, arg,
		      e);
out:
	sqlite3_finalize(s);
	sq_put(sq, c);
	return ret;
}

int sq_up_exists(struct stor_meta *m, const char *id, bool *out, struct err *e)
{
	static const char sql[] = "SELECT 1 FROM uploads WHERE id = ?1";
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	sqlite3_stmt *s = NULL;
	int rc, ret = -1;

	if (!c)
		return -1;
	s = ms_prepare(c, sql, "find upload", e);
	if (!s)
		goto out;
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		sq_fail(c->db, "find upload", e);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sq_fail(c->db, "find upload", e);
		goto out;
	}
	*out = rc == SQLITE_ROW;
	ret = 0;
out:
	sqlite3_finalize(s);
	sq_put(sq, c);
	return ret;
}

/* Runs one checking pragma; every row that is not "ok" is a problem,
 * its columns joined with spaces. */
static int ms_check_pragma(struct sq_conn *c, const char *sql,
			   const char *label, stor_row_fn fn, void *arg,
			   struct err *e)
{
	sqlite3_stmt *s = ms_prepare(c, sql, label, e);
	struct stor_row r;
	char msg[512];
	const char *t;
	size_t len;
	int rc;

	if (!s)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		len = (size_t)snprintf(msg, sizeof(msg), "%s:", label);
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			t = ms_text(s, i);
			if (len < sizeof(msg))
				len += (size_t)snprintf(msg + len,
							sizeof(msg) - len,
							" %s", t ? t : "-");
		}
		if (!strcmp(msg + strlen(label) + 1, " ok"))
			continue;
		memset(&r, 0, sizeof(r));
		r.name = msg;
		if (fn(arg, &r, e) < 0) {
			sqlite3_finalize(s);
			return -1;
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sq_fail(c->db, label, e);
	return 0;
}

int sq_check(struct stor_meta *m, stor_row_fn fn, void *arg, struct err *e)
{
	struct sq *sq = sq_of(m);
	struct sq_conn *c = sq_get(sq, e);
	int ret = -1;

	if (!c)
		return -1;
	if (ms_check_pragma(c, "PRAGMA integrity_check", "integrity check", fn,
			    arg, e) == 0 &&
	    ms_check_pragma(c, "PRAGMA foreign_key_check", "foreign key check",
			    fn, arg, e) == 0)
		ret = 0;
	sq_put(sq, c);
	return ret;
}
