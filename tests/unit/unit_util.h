/* unit_util.h: helpers every kind of unit test uses (temporary
 * directories and what is in them).  Header-only and static: each test
 * binary is one translation unit; include it after <cmocka.h>.
 *
 * nftw() needs _XOPEN_SOURCE 700, defined by the test before its first
 * include. */
#ifndef TESTS_UNIT_UNIT_UTIL_H
#define TESTS_UNIT_UNIT_UTIL_H

#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Entries of dir whose names do not start with '.'; fails the test if dir
 * cannot be read. */
static inline size_t unit_nfiles(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline int unit_rm_entry(const char *path, const struct stat *sb,
				int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes path and everything under it (symlinks are not followed). */
static inline void unit_rm_rf(const char *path)
{
	nftw(path, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes $TMPDIR/customs-<tag>-XXXXXX into dir (of dirsz bytes); -1 on
 * failure. */
static inline int unit_mkdtemp(char *dir, size_t dirsz, const char *tag)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, dirsz, "%s/customs-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
		 tag);
	return mkdtemp(dir) ? 0 : -1;
}

/* A new temporary directory (see unit_mkdtemp()); unit_tmpdir_free()
 * removes it and frees the name. */
static inline char *unit_tmpdir(const char *tag)
{
	char *d = malloc(256);

	assert_non_null(d);
	assert_int_equal(unit_mkdtemp(d, 256, tag), 0);
	return d;
}

static inline void unit_tmpdir_free(char *dir)
{
	unit_rm_rf(dir);
	free(dir);
}

/* Runs a command's main, fn, with the arguments that follow (up to 15,
 * then NULL) as its argv; its exit status. */
static inline int unit_run_main(int (*fn)(int, char **), ...)
{
	char *argv[16];
	const char *a;
	va_list ap;
	int argc = 0, rc;

	va_start(ap, fn);
	while ((a = va_arg(ap, const char *)) && argc < 15)
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;
	rc = fn(argc, argv);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return rc;
}

#endif
