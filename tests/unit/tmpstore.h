/* tmpstore.h: a store in a fresh temporary directory, for the tests of
 * storage and of what sits on it.  Header-only: each test binary is one
 * translation unit. */
#ifndef TESTS_UNIT_TMPSTORE_H
#define TESTS_UNIT_TMPSTORE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
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

	snprintf(dir, dirsz, "%s/customs-%s-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", tag);
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

#endif
