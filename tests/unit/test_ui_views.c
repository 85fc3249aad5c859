/* test_ui_views.c: the UI's views on disk (registry/ui/views.c): bounded
 * in files, read back in another process's place, and a damaged file is
 * a miss, never a wrong answer. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "registry/ui/ui.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/digest.h"
#include "common/xmalloc.h"
#include "tests/unit/unit_util.h"
#include "common/banned.h"

/* The file a key is kept in: DIR/<sha256 of the key>. */
static char *key_path(const char *dir, const char *key)
{
	struct digest dg;

	digest_of(DIGEST_SHA256, key, strlen(key), &dg);
	return xasprintf("%s/%s", dir, dg.hex);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* More keys than the disk keeps: the oldest go, the newest stays.  The
 * directory is pruned every 64 files written, so it holds up to 63 more
 * than its 1,024 between prunes. */
static void test_bounded(void **state)
{
	char *top = unit_tmpdir("ui-views"), key[32];
	char *dir = xasprintf("%s/views", top);
	struct buf b = BUF_INIT;

	(void)state;
	for (int i = 0; i < 1100; i++) {
		snprintf(key, sizeof(key), "bounded\n%d", i);
		ui_view_put(dir, key, "{\"n\":1}", 7);
	}
	assert_in_range(unit_nfiles(dir), 1024, 1024 + 63);
	assert_false(ui_view_has(dir, "bounded\n0"));
	assert_true(ui_view_get(dir, "bounded\n1099", &b));
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.buf, "{\"n\":1}", 7);
	buf_release(&b);
	free(dir);
	unit_tmpdir_free(top);
}

/* Files this process never put (as after a restart): a whole one is
 * read; one cut short, of another key, or with a lying header is a
 * miss. */
static void test_files(void **state)
{
	static const struct {
		const char *key, *file;
		bool hit;
	} cases[] = {
		{"files\nok", "customs-ui-view 1 8 4\nfiles\nok[42]", true},
		{"files\ncut", "customs-ui-view 1 9 4\nfiles\ncut[4", false},
		{"files\nother", "customs-ui-view 1 11 4\nfiles\nOTHER[42]",
		 false},
		{"files\nhuge",
		 "customs-ui-view 1 10 18446744073709551615\nfiles\nhuge[42]",
		 false},
		{"files\nmagic", "customs-ui-view 2 11 4\nfiles\nmagic[42]",
		 false},
	};
	char *dir = unit_tmpdir("ui-views");
	struct buf b = BUF_INIT;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = key_path(dir, cases[i].key);

		write_file(p, cases[i].file);
		assert_int_equal(ui_view_get(dir, cases[i].key, &b),
				 cases[i].hit);
		if (cases[i].hit) {
			assert_int_equal(b.len, 4);
			assert_memory_equal(b.buf, "[42]", 4);
			/* Kept in memory too: the file may go. */
			unlink(p);
			buf_reset(&b);
			assert_true(ui_view_get(NULL, cases[i].key, &b));
		}
		assert_false(ui_view_get(NULL, "files\nnever", &b));
		buf_reset(&b);
		free(p);
	}
	buf_release(&b);
	unit_tmpdir_free(dir);
}

/* ui_view_has(): kept in memory, or a file under dir (not read: a
 * look ahead of a build, not an answer); neither is a no. */
static void test_has(void **state)
{
	char *dir = unit_tmpdir("ui-views"), *p = key_path(dir, "has\nfile");

	(void)state;
	assert_false(ui_view_has(dir, "has\nmem"));
	ui_view_put(NULL, "has\nmem", "[1]", 3);
	assert_true(ui_view_has(NULL, "has\nmem"));
	assert_true(ui_view_has(dir, "has\nmem"));
	assert_false(ui_view_has(NULL, "has\nfile"));
	write_file(p, "customs-ui-view 1 8 3\nhas\nfile[2]");
	assert_true(ui_view_has(dir, "has\nfile"));
	assert_false(ui_view_has(NULL, "has\nfile"));
	unlink(p);
	assert_false(ui_view_has(dir, "has\nfile"));
	free(p);
	unit_tmpdir_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
