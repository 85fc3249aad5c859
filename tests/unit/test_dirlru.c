/* test_dirlru.c: a directory of cache files pruned past its budget
 * (common/dirlru.c): the least recently used go first, skipped names are
 * left alone, and only regular files are ever removed. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/dirlru.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/unit_util.h"
#include "common/banned.h"

/* dir/name of size bytes, last used at second used (of 1970). */
static void put(const char *dir, const char *name, size_t size, time_t used)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct timespec t[2] = {{used, 0}, {used, 0}};
	char *fill = xcalloc(1, size + 1);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(fill, 1, size, f), size);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	free(fill);
	free(path);
}

static bool has(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat sb;
	bool there = lstat(path, &sb) == 0;

	free(path);
	return there;
}

static void test_count_bound(void **state)
{
	struct dirlru_budget b = {3, UINT64_MAX, NULL, NULL};
	char *dir = unit_tmpdir("dirlru");

	(void)state;
	put(dir, "e", 1, 500);
	put(dir, "a", 1, 100);
	put(dir, "c", 1, 300);
	put(dir, "b", 1, 200);
	put(dir, "d", 1, 400);
	assert_int_equal(dirlru_prune(dir, &b), 2);
	assert_false(has(dir, "a"));
	assert_false(has(dir, "b"));
	assert_true(has(dir, "c") && has(dir, "d") && has(dir, "e"));
	/* Within the budget: nothing goes. */
	assert_int_equal(dirlru_prune(dir, &b), 0);
	assert_int_equal(unit_nfiles(dir), 3);
	unit_tmpdir_free(dir);
}

static void test_byte_bound(void **state)
{
	struct dirlru_budget b = {SIZE_MAX, 1000, NULL, NULL};
	char *dir = unit_tmpdir("dirlru");

	(void)state;
	put(dir, "old-big", 700, 100);
	put(dir, "mid", 200, 200);
	put(dir, "new", 300, 300);
	put(dir, "newest", 100, 400);
	/* 1300 bytes: the oldest (700) alone brings it to 600. */
	assert_int_equal(dirlru_prune(dir, &b), 1);
	assert_false(has(dir, "old-big"));
	assert_int_equal(unit_nfiles(dir), 3);
	/* A budget of nothing empties it. */
	b.max_bytes = 0;
	assert_int_equal(dirlru_prune(dir, &b), 3);
	assert_int_equal(unit_nfiles(dir), 0);
	unit_tmpdir_free(dir);
}

/* Same second, different nanoseconds: still oldest first. */
static void test_nanoseconds(void **state)
{
	struct dirlru_budget b = {1, UINT64_MAX, NULL, NULL};
	char *dir = unit_tmpdir("dirlru");
	struct timespec t[2] = {{100, 5}, {100, 5}};
	char *path = xasprintf("%s/first", dir);

	(void)state;
	put(dir, "first", 1, 100);
	put(dir, "second", 1, 100);
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	free(path);
	path = xasprintf("%s/second", dir);
	t[0].tv_nsec = t[1].tv_nsec = 9;
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
	free(path);
	assert_int_equal(dirlru_prune(dir, &b), 1);
	assert_false(has(dir, "first"));
	assert_true(has(dir, "second"));
	unit_tmpdir_free(dir);
}

struct skips {
	bool sweep;
	int seen;
};

static bool skip_tmp(void *arg, int dirfd, const char *name)
{
	struct skips *s = arg;

	if (strncmp(name, "tmp-", 4))
		return false;
	s->seen++;
	if (s->sweep)
		unlinkat(dirfd, name, 0);
	return true;
}

static void test_skip_hook(void **state)
{
	struct skips s = {false, 0};
	struct dirlru_budget b = {1, UINT64_MAX, skip_tmp, &s};
	char *dir = unit_tmpdir("dirlru");

	(void)state;
	put(dir, "tmp-oldest", 1, 50);
	put(dir, "keep-old", 1, 100);
	put(dir, "keep-new", 1, 200);
	/* The tmp- file is neither counted nor removed. */
	assert_int_equal(dirlru_prune(dir, &b), 1);
	assert_int_equal(s.seen, 1);
	assert_true(has(dir, "tmp-oldest"));
	assert_false(has(dir, "keep-old"));
	assert_true(has(dir, "keep-new"));
	/* The hook may remove it itself (a sweep at start-up). */
	s.sweep = true;
	assert_int_equal(dirlru_prune(dir, &b), 0);
	assert_false(has(dir, "tmp-oldest"));
	assert_true(has(dir, "keep-new"));
	unit_tmpdir_free(dir);
}

/* Directories and symlinks are neither counted nor removed; dot files are
 * counted like any other (a skip hook leaves them out). */
static void test_only_regular_files(void **state)
{
	struct dirlru_budget b = {0, UINT64_MAX, NULL, NULL};
	char *dir = unit_tmpdir("dirlru"), *sub = xasprintf("%s/sub", dir);
	char *link = xasprintf("%s/link", dir);

	(void)state;
	assert_int_equal(mkdir(sub, 0700), 0);
	put(sub, "inside", 1, 100);
	put(dir, "target", 1, 100);
	assert_int_equal(symlink("target", link), 0);
	put(dir, ".hidden", 1, 100);
	assert_int_equal(dirlru_prune(dir, &b), 2);
	assert_false(has(dir, "target"));
	assert_false(has(dir, ".hidden"));
	assert_true(has(dir, "link") && has(dir, "sub") && has(sub, "inside"));
	free(link);
	free(sub);
	unit_tmpdir_free(dir);
}

static void test_missing_dir(void **state)
{
	struct dirlru_budget b = {0, 0, NULL, NULL};
	char *dir = unit_tmpdir("dirlru"), *gone = xasprintf("%s/gone", dir);

	(void)state;
	errno = 0;
	assert_int_equal(dirlru_prune(gone, &b), -1);
	assert_int_equal(errno, ENOENT);
	free(gone);
	unit_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_bound),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_nanoseconds),
		cmocka_unit_test(test_skip_hook),
		cmocka_unit_test(test_only_regular_files),
		cmocka_unit_test(test_missing_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
