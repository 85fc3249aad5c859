/* tmpstore.h: a store in a fresh temporary directory, for the tests of
 * storage and of what sits on it.  Header-only: each test binary is one
 * translation unit; include it after <cmocka.h>. */
#ifndef TESTS_UNIT_TMPSTORE_H
#define TESTS_UNIT_TMPSTORE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/storage.h"

static inline int tmpstore_rm_entry(const char *path, const struct stat *sb,
				    int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Makes $TMPDIR/customs-<tag>-XXXXXX into dir and opens a store there. */
static inline int tmpstore_open(char *dir, size_t dirsz, const char *tag,
				struct stor **st)
{
	const char *tmp = getenv("TMPDIR");
	struct err e = ERR_INIT;

	snprintf(dir, dirsz, "%s/customs-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
		 tag);
	if (!mkdtemp(dir))
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
	stor_free(st);
	nftw(dir, tmpstore_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A cmocka fixture of a store in its own directory (*state). */
struct tmpstore_fx {
	char dir[256];
	struct stor *st;
};

static inline int tmpstore_fx_setup(void **state, const char *tag)
{
	struct tmpstore_fx *fx = calloc(1, sizeof(*fx));

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

/* The sha256 digest of a string. */
static inline struct digest dg_of(const char *s)
{
	struct digest d;

	digest_of(DIGEST_SHA256, s, strlen(s), &d);
	return d;
}

/* Runs SQL on the store's meta.db behind the store's back (to stage what
 * a crash or a bug would leave); fails the test if it does not run. */
static inline void tmpstore_sql(const char *dir, const char *sql)
{
	char path[300];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/meta.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

#endif
