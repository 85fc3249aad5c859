/* tmpstore.h: a store in a fresh temporary directory, for the tests of
 * storage and of what sits on it.  Header-only: each test binary is one
 * translation unit; include it after <cmocka.h>.
 *
 * A test that defines TMPSTORE_PG before including it runs on PostgreSQL
 * when CUSTOMS_TEST_PG holds a libpq conninfo (tests/pgtemp prints one;
 * `make unit-pg` does it all): each store's metadata then lives in a
 * schema of its own, named after its directory, and tmpstore_sql() runs
 * there.  Tests of what only sqlite has call tmpstore_sqlite_only(). */
#ifndef TESTS_UNIT_TMPSTORE_H
#define TESTS_UNIT_TMPSTORE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "storage/storage.h"
#include "tests/unit/unit_util.h"

/* The conninfo of the test server, or NULL: the tests run on sqlite. */
static inline const char *tmpstore_pg(void)
{
#ifdef TMPSTORE_PG
	const char *ci = getenv("CUSTOMS_TEST_PG");

	return ci && *ci ? ci : NULL;
#else
	return NULL;
#endif
}

/* Skips the calling test on PostgreSQL. */
#define tmpstore_sqlite_only()                                                 \
	do {                                                                   \
		if (tmpstore_pg())                                             \
			skip();                                                \
	} while (0)

/* The schema of the store in dir: "t" and the hex of the directory's
 * unique suffix (mkdtemp's letters have both cases). */
static inline void tmpstore_schema(const char *dir, char out[32])
{
	const char *b = strrchr(dir, '-');
	size_t n = 1;

	out[0] = 't';
	for (b = b ? b + 1 : dir; *b && n + 2 < 32; b++, n += 2)
		snprintf(out + n, 3, "%02x", (unsigned char)*b);
	out[n] = '\0';
}

static inline void tmpstore_pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Runs sql in the store's schema; returns column 0 of its first row
 * (-1 if none).  Fails the test if it does not run. */
static inline long long tmpstore_pg_sql(const char *dir, const char *sql)
{
	char schema[32], set[80];
	PGconn *c = PQconnectdb(tmpstore_pg());
	PGresult *r;
	long long v = -1;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQsetNoticeProcessor(c, tmpstore_pg_notice, NULL);
	tmpstore_schema(dir, schema);
	snprintf(set, sizeof(set), "SET search_path = %s", schema);
	PQclear(PQexec(c, set));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK)
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
	assert_true(PQresultStatus(r) == PGRES_TUPLES_OK ||
		    PQresultStatus(r) == PGRES_COMMAND_OK);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
	    !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

/* Points stor_open() at a fresh schema for the store in dir. */
static inline int tmpstore_pg_use(const char *dir)
{
	char schema[32], sql[128], *url;
	struct err e = ERR_INIT;
	size_t n;
	int rc;

	tmpstore_schema(dir, schema);
	snprintf(sql, sizeof(sql),
		 "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
		 schema);
	tmpstore_pg_sql("", sql);
	n = strlen(tmpstore_pg()) + 64;
	url = malloc(n);
	if (!url)
		return -1;
	snprintf(url, n, "%s options='-csearch_path=%s'", tmpstore_pg(),
		 schema);
	rc = stor_meta_set(url, &e);
	free(url);
	return rc;
}

/* Makes $TMPDIR/customs-<tag>-XXXXXX into dir and opens a store there. */
static inline int tmpstore_open(char *dir, size_t dirsz, const char *tag,
				struct stor **st)
{
	struct err e = ERR_INIT;

	if (unit_mkdtemp(dir, dirsz, tag) < 0)
		return -1;
	if (tmpstore_pg() && tmpstore_pg_use(dir) < 0)
		return -1;
	*st = stor_open(dir, &e);
	if (!*st) {
		fprintf(stderr, "stor_open: %s\n", e.msg);
		return -1;
	}
	return 0;
}

/* Closes the store (if open) and deletes its directory. */
static inline void tmpstore_close(const char *dir, struct stor *st)
{
	char schema[32], sql[80];

	stor_free(st);
	unit_rm_rf(dir);
	if (tmpstore_pg()) {
		tmpstore_schema(dir, schema);
		snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE",
			 schema);
		tmpstore_pg_sql("", sql);
	}
}

/* A cmocka fixture of a store in its own directory (*state).  A test's
 * own fixture may hold more: its first fields are TMPSTORE_FX_FIELDS, and
 * TMPSTORE_FX_DEFINE() sets it up. */
#define TMPSTORE_FX_FIELDS                                                     \
	char dir[256];                                                         \
	struct stor *st

struct tmpstore_fx {
	TMPSTORE_FX_FIELDS;
};

/* A zeroed fixture of size bytes (at least a struct tmpstore_fx's), its
 * store opened in a fresh directory named after tag. */
static inline int tmpstore_fx_setup_as(void **state, size_t size,
				       const char *tag)
{
	struct tmpstore_fx *fx = calloc(1, size);

	if (!fx || tmpstore_open(fx->dir, sizeof(fx->dir), tag, &fx->st) < 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static inline int tmpstore_fx_teardown(void **state)
{
	struct tmpstore_fx *fx = *state;

	tmpstore_close(fx->dir, fx->st);
	free(fx);
	return 0;
}

static inline int tmpstore_fx_setup(void **state, const char *tag)
{
	return tmpstore_fx_setup_as(state, sizeof(struct tmpstore_fx), tag);
}

/* fx_setup() and fx_teardown() for the test's struct fx, which begins
 * with TMPSTORE_FX_FIELDS. */
#define TMPSTORE_FX_DEFINE(tag)                                                \
	static int fx_setup(void **state)                                      \
	{                                                                      \
		return tmpstore_fx_setup_as(state, sizeof(struct fx), tag);    \
	}                                                                      \
	static int fx_teardown(void **state)                                   \
	{                                                                      \
		return tmpstore_fx_teardown(state);                            \
	}

/* A digest as text, in one of four buffers used in turn: up to four in
 * one call's arguments. */
static inline const char *dstr(const struct digest *d)
{
	static char buf[4][DIGEST_STR_MAX];
	static int i;

	return digest_str(d, buf[i++ % 4]);
}

/* The integer SQL gives on the store's metadata (-1 for no row), read
 * behind the store's back. */
static inline long long tmpstore_int(const char *dir, const char *sql)
{
	char path[300];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (tmpstore_pg())
		return tmpstore_pg_sql(dir, sql);
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* The sha256 digest of a string. */
static inline struct digest dg_of(const char *s)
{
	struct digest d;

	digest_of(DIGEST_SHA256, s, strlen(s), &d);
	return d;
}

/* Pushes data as a blob of repo, as a client does; its digest. */
static inline struct digest tmpstore_push(struct stor *st, const char *repo,
					  const char *data)
{
	char id[STOR_UPLOAD_ID_MAX];
	struct stor_upload *u;
	struct err e = ERR_INIT;
	struct digest d = dg_of(data);

	assert_int_equal(stor_upload_start(st, repo, id, &e), 0);
	assert_int_equal(stor_upload_take(st, repo, id, &u, &e), 0);
	assert_int_equal(stor_upload_write(u, data, strlen(data), &e), 0);
	assert_int_equal(stor_upload_finish(u, &d, &e), 0);
	return d;
}

/* Stores p->body as a manifest as a client's PUT does: p->digest (*d)
 * and p->len are the body's.  stor_manifest_put()'s result. */
static inline int tmpstore_put_manifest(struct stor *st,
					struct stor_manifest_put *p,
					struct digest *d, struct err *e)
{
	*d = dg_of(p->body);
	p->digest = d;
	p->len = strlen(p->body);
	return stor_manifest_put(st, p, e);
}

/* Runs SQL on the store's meta.db behind the store's back (to stage what
 * a crash or a bug would leave); fails the test if it does not run. */
static inline void tmpstore_sql(const char *dir, const char *sql)
{
	char path[300];
	sqlite3 *db = NULL;

	if (tmpstore_pg()) {
		tmpstore_pg_sql(dir, sql);
		return;
	}
	snprintf(path, sizeof(path), "%s/meta.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

#endif
