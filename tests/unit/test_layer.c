/* test_layer.c: the layer walk: whiteouts across layers, path rules,
 * links, and hostile layers (truncated gzip, "..", huge sparse files). */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/layer.h"

#define IMAGES "tests/data/images/"

/* A tar built in memory. */
struct tb {
	struct archive *a;
	char *mem;
	size_t cap, used;
};

static void tb_open(struct tb *t, bool gzip)
{
	t->cap = 8 << 20;
	t->mem = xmalloc(t->cap);
	t->used = 0;
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	if (gzip)
		archive_write_add_filter_gzip(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	assert_int_equal(archive_write_open_memory(t->a, t->mem, t->cap, &t->used),
			 ARCHIVE_OK);
}

static struct archive_entry *tb_entry(const char *path, unsigned type,
				      unsigned mode, int64_t size)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, mode);
	archive_entry_set_size(e, size);
	return e;
}

static void tb_file(struct tb *t, const char *path, const void *data,
		    size_t len, unsigned mode)
{
	struct archive_entry *e = tb_entry(path, AE_IFREG, mode, (int64_t)len);

	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	if (len)
		assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void tb_str(struct tb *t, const char *path, const char *s)
{
	tb_file(t, path, s, strlen(s), 0644);
}

static void tb_dir(struct tb *t, const char *path)
{
	struct archive_entry *e = tb_entry(path, AE_IFDIR, 0755, 0);

	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	archive_entry_free(e);
}

static void tb_link(struct tb *t, const char *path, const char *target,
		    bool hard)
{
	struct archive_entry *e = tb_entry(path, hard ? AE_IFREG : AE_IFLNK,
					   0777, 0);

	if (hard)
		archive_entry_set_hardlink(e, target);
	else
		archive_entry_set_symlink(e, target);
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	archive_entry_free(e);
}

/* A sparse file of size bytes whose only data is head at offset 0. */
static void tb_sparse(struct tb *t, const char *path, int64_t size,
		      const char *head, unsigned mode)
{
	struct archive_entry *e = tb_entry(path, AE_IFREG, mode, size);

	archive_entry_sparse_add_entry(e, 0, (la_int64_t)strlen(head));
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(t->a, head, strlen(head)),
			 (la_ssize_t)strlen(head));
	archive_entry_free(e);
}

static void tb_close(struct tb *t)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
}

static int walk(struct layer_walk *w, struct tb *t, size_t len,
		const char *digest)
{
	struct archive *a = archive_read_new();
	struct err e = ERR_INIT;
	int r;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, t->mem, len), ARCHIVE_OK);
	r = layer_walk_archive(w, a, digest, &e);
	archive_read_free(a);
	free(t->mem);
	return r;
}

static const struct scan_pkg *find(const struct scan_inventory *inv,
				   const char *name)
{
	for (size_t i = 0; i < inv->npkgs; i++)
		if (!strcmp(inv->pkgs[i].name, name))
			return &inv->pkgs[i];
	return NULL;
}

static bool has_note(const struct scan_inventory *inv, const char *s)
{
	for (size_t i = 0; i < inv->nnotes; i++)
		if (strstr(inv->notes[i], s))
			return true;
	return false;
}

static const char status2[] =
	"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u14\n"
	"Source: glibc\n\n"
	"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b13\n"
	"Source: bash (5.2.15-2)\n";
static const char apkdb[] = "P:musl\nV:1.2.4-r0\no:musl\n\n";
static const char osrel[] = "ID=debian\nVERSION_ID=\"12\"\n";
static const char meta_x[] = "Metadata-Version: 2.1\nName: x\nVersion: 1.0\n\nbody\n";
static const char meta_y[] = "Metadata-Version: 2.1\nName: y\nVersion: 2.0\n";

static void test_path_norm(void **state)
{
	static const char *const cases[][2] = {
		{ "./a//b/./c", "a/b/c" }, { "/etc/os-release", "etc/os-release" },
		{ "a/b/", "a/b" },	   { "..foo/x", "..foo/x" },
		{ "a/../b", NULL },	   { "../etc/passwd", NULL },
		{ "./", NULL },		   { "a/..", NULL },
	};
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		s = layer_path_norm(cases[i][0]);
		if (cases[i][1])
			assert_string_equal(s, cases[i][1]);
		else
			assert_null(s);
		free(s);
	}
	s = layer_link_resolve("etc/os-release", "../usr/lib/os-release");
	assert_string_equal(s, "usr/lib/os-release");
	free(s);
	s = layer_link_resolve("etc/os-release", "/usr/lib/./os-release");
	assert_string_equal(s, "usr/lib/os-release");
	free(s);
	s = layer_link_resolve("a/b", "../../../../x");
	assert_string_equal(s, "x");
	free(s);
	assert_null(layer_link_resolve("a", ".."));
}

/* The brief's layered image: dpkg status, then deleted (and an apk DB
 * added), then a Python package. */
static void test_whiteout_layers(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct tb t;

	(void)state;
	inv_init(&inv);
	tb_open(&t, true);
	tb_dir(&t, "./var/lib/dpkg/");
	tb_str(&t, "./var/lib/dpkg/status", status2);
	tb_link(&t, "./etc/os-release", "../usr/lib/os-release", false);
	tb_str(&t, "./usr/lib/os-release", osrel);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), 0);
	tb_open(&t, false);
	tb_str(&t, "var/lib/dpkg/.wh.status", "");
	tb_str(&t, "lib/apk/db/installed", apkdb);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l2"), 0);
	tb_open(&t, false);
	tb_str(&t, "usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA", meta_x);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l3"), 0);
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_string_equal(inv.os.id, "debian");
	assert_string_equal(inv.os.version_id, "12");
	assert_int_equal(inv.npkgs, 2);
	assert_null(find(&inv, "libc6"));
	assert_string_equal(find(&inv, "musl")->layer, "sha256:l2");
	assert_string_equal(find(&inv, "musl")->path, "lib/apk/db/installed");
	assert_string_equal(find(&inv, "x")->layer, "sha256:l3");
	assert_int_equal(inv.nnotes, 0);
	inv_release(&inv);
}

static void test_without_whiteout(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct tb t;

	(void)state;
	inv_init(&inv);
	tb_open(&t, false);
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_str(&t, "usr/lib/os-release", osrel);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	/* Same path again in a later layer: the upper copy wins. */
	tb_open(&t, false);
	tb_str(&t, "var/lib/dpkg/status",
	       "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u15\n");
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l2");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_int_equal(inv.npkgs, 1);
	assert_string_equal(inv.pkgs[0].version, "2.36-9+deb12u15");
	assert_string_equal(inv.pkgs[0].layer, "sha256:l2");
	assert_int_equal(inv.pkgs[0].eco, ECO_DEBIAN);
	inv_release(&inv);
}

static void test_opaque_and_replace(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct tb t;

	(void)state;
	inv_init(&inv);
	tb_open(&t, false);
	tb_str(&t, "a/x-1.dist-info/METADATA", meta_x);
	tb_str(&t, "a/sub/z-1.dist-info/METADATA", meta_x);
	tb_str(&t, "b/x-1.dist-info/METADATA", meta_x);
	tb_str(&t, "c/x-1.dist-info/METADATA", meta_x);
	tb_str(&t, "keep/x-1.dist-info/METADATA", meta_x);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	tb_open(&t, false);
	/* Opaque: everything a/ had below is gone; what this layer adds stays. */
	tb_str(&t, "a/.wh..wh..opq", "");
	tb_str(&t, "a/y-2.dist-info/METADATA", meta_y);
	/* A whiteout hides lower layers only, not this layer's own file. */
	tb_str(&t, "d/.wh.y-2.dist-info", "");
	/* (Not identical to a/'s: identical files are listed once.) */
	tb_str(&t, "d/y-2.dist-info/METADATA",
	       "Metadata-Version: 2.1\nName: y\nVersion: 2.0\nSummary: d\n");
	/* A file over a directory removes the directory's contents. */
	tb_str(&t, "b", "not a dir");
	/* A symlink over a directory too. */
	tb_link(&t, "c", "/keep", false);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l2");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_int_equal(inv.npkgs, 3);
	assert_string_equal(inv.pkgs[0].path, "a/y-2.dist-info/METADATA");
	assert_string_equal(inv.pkgs[1].path, "d/y-2.dist-info/METADATA");
	assert_string_equal(inv.pkgs[2].path, "keep/x-1.dist-info/METADATA");
	inv_release(&inv);
}

static void test_links(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct tb t;

	(void)state;
	inv_init(&inv);
	tb_open(&t, false);
	tb_str(&t, "usr/lib/os-release", "ID=alpine\n");
	tb_link(&t, "etc/os-release", "usr/lib/os-release", true);
	tb_str(&t, "etc/alpine-release", "3.18.0\n");
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	/* os-release without VERSION_ID: alpine-release fills it. */
	assert_string_equal(inv.os.id, "alpine");
	assert_string_equal(inv.os.version_id, "3.18.0");
	inv_release(&inv);

	/* A symlink loop ends nowhere, quietly. */
	w = layer_walk_new(NULL);
	inv_init(&inv);
	tb_open(&t, false);
	tb_link(&t, "etc/os-release", "../usr/lib/os-release", false);
	tb_link(&t, "usr/lib/os-release", "/etc/os-release", false);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_null(inv.os.id);
	inv_release(&inv);
}

static void test_dotdot(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct tb t;

	(void)state;
	inv_init(&inv);
	tb_open(&t, false);
	tb_str(&t, "../../var/lib/dpkg/status", status2);
	tb_str(&t, "a/../lib/apk/db/installed", apkdb);
	tb_str(&t, "usr/lib/x-1.dist-info/METADATA", meta_x);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), 0);
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_int_equal(inv.npkgs, 1);
	assert_true(has_note(&inv, "2 entries with '..'"));
	inv_release(&inv);
}

static void test_truncated_gzip(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	char *noise = xmalloc(1 << 20);
	struct tb t;

	(void)state;
	inv_init(&inv);
	srand(1);
	for (size_t i = 0; i < (1 << 20); i++)
		noise[i] = (char)rand();
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_file(&t, "usr/share/noise", noise, 1 << 20, 0644);
	tb_str(&t, "lib/apk/db/installed", apkdb);
	tb_close(&t);
	free(noise);
	assert_int_equal(walk(w, &t, t.used / 2, "sha256:bad"), -1);
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	/* What came before the damage counts, and the report says so. */
	assert_non_null(find(&inv, "libc6"));
	assert_null(find(&inv, "musl"));
	assert_true(has_note(&inv, "layer sha256:bad: read error"));
	inv_release(&inv);

}

static void test_sparse_huge(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct tb t;
	clock_t start = clock();

	(void)state;
	inv_init(&inv);
	tb_open(&t, true);
	tb_sparse(&t, "var/lib/dpkg/status", 2LL << 30, "Package: a\n", 0644);
	tb_sparse(&t, "usr/bin/huge", 2LL << 30, "\177ELF\2\1\1", 0755);
	tb_sparse(&t, "srv/data.bin", 2LL << 30, "data", 0644);
	tb_sparse(&t, "srv/big-script", 2LL << 30, "#!/bin/sh\n", 0755);
	tb_str(&t, "lib/apk/db/installed", apkdb);
	tb_close(&t);
	assert_true(t.used < (1 << 20));
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), 0);
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	/* Skipped without being read: a second's CPU is plenty. */
	assert_true(clock() - start < CLOCKS_PER_SEC);
	assert_int_equal(inv.npkgs, 1);
	assert_true(has_note(&inv, "var/lib/dpkg/status: not analysed: too large"));
	assert_true(has_note(&inv, "usr/bin/huge: not analysed: too large"));
	assert_int_equal(inv.nnotes, 2);
	inv_release(&inv);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, len);
}

static void tb_fixture(struct tb *t, const char *file, const char *path)
{
	size_t len;
	char *d = slurp(file, &len);

	tb_file(t, path, d, len, 0644);
	free(d);
}

/* A lockfile and the installed package.json files name the same copies:
 * one entry each, unless the installed one says another version. */
static void test_npm_dedupe(void **state)
{
	static const char *const mods[] = {
		"json5", "lodash", "lru-cache", "make-dir",
		"make-dir/node_modules/semver", "minimist", "qs", "semver",
		"yallist",
	};
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	char file[256], path[256];
	size_t from_lock = 0;
	struct tb t;

	(void)state;
	inv_init(&inv);
	tb_open(&t, false);
	tb_fixture(&t, IMAGES "npm-app/package-lock.json", "srv/app/package-lock.json");
	for (size_t i = 0; i < sizeof(mods) / sizeof(*mods); i++) {
		snprintf(file, sizeof(file), IMAGES "npm-app/node_modules/%s/package.json",
			 mods[i]);
		snprintf(path, sizeof(path), "srv/app/node_modules/%s/package.json",
			 mods[i]);
		if (!strcmp(mods[i], "qs"))
			tb_str(&t, path, "{\"name\":\"qs\",\"version\":\"6.5.3\"}");
		else
			tb_fixture(&t, file, path);
	}
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_int_equal(inv.npkgs, 9);
	for (size_t i = 0; i < inv.npkgs; i++)
		from_lock += !strcmp(inv.pkgs[i].path, "srv/app/package-lock.json");
	assert_int_equal(from_lock, 8);
	assert_string_equal(find(&inv, "qs")->version, "6.5.3");
	assert_string_equal(find(&inv, "qs")->path,
			    "srv/app/node_modules/qs/package.json");
	inv_release(&inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_norm),
		cmocka_unit_test(test_whiteout_layers),
		cmocka_unit_test(test_without_whiteout),
		cmocka_unit_test(test_opaque_and_replace),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_dotdot),
		cmocka_unit_test(test_truncated_gzip),
		cmocka_unit_test(test_sparse_huge),
		cmocka_unit_test(test_npm_dedupe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
