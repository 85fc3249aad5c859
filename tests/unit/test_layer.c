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
#include "scanner/layer_int.h"
#include "scanner/meter_int.h"
#include "scanner/scanner.h"

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
	assert_int_equal(
		archive_write_open_memory(t->a, t->mem, t->cap, &t->used),
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
		assert_int_equal(archive_write_data(t->a, data, len),
				 (la_ssize_t)len);
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
	struct archive_entry *e =
		tb_entry(path, hard ? AE_IFREG : AE_IFLNK, 0777, 0);

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
	"Package: libc6\nStatus: install ok installed\nVersion: "
	"2.36-9+deb12u14\n"
	"Source: glibc\n\n"
	"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b13\n"
	"Source: bash (5.2.15-2)\n";
static const char apkdb[] = "P:musl\nV:1.2.4-r0\no:musl\n\n";
static const char osrel[] = "ID=debian\nVERSION_ID=\"12\"\n";
static const char meta_x[] =
	"Metadata-Version: 2.1\nName: x\nVersion: 1.0\n\nbody\n";
static const char meta_y[] = "Metadata-Version: 2.1\nName: y\nVersion: 2.0\n";

static void test_path_norm(void **state)
{
	static const char *const cases[][2] = {
		{"./a//b/./c", "a/b/c"},
		{"/etc/os-release", "etc/os-release"},
		{"a/b/", "a/b"},
		{"..foo/x", "..foo/x"},
		{"a/../b", NULL},
		{"../etc/passwd", NULL},
		{"./", NULL},
		{"a/..", NULL},
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
	tb_str(&t, "usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA",
	       meta_x);
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
	/* An empty tar changes nothing, and is a filesystem layer. */
	tb_open(&t, false);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:empty"), 0);
	/* Same path again in a later layer: the upper copy wins. */
	tb_open(&t, false);
	tb_str(&t, "var/lib/dpkg/status",
	       "Package: libc6\nStatus: install ok installed\nVersion: "
	       "2.36-9+deb12u15\n");
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l2");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	/* Each decoded as tar: what the registry's report rule counts. */
	assert_int_equal(inv.fs_layers, 3);
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
	/* Opaque: everything a/ had below is gone; what this layer adds stays.
	 */
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
	/* Read as a filesystem up to the damage. */
	assert_int_equal(inv.fs_layers, 1);
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
	assert_true(
		has_note(&inv, "var/lib/dpkg/status: not analysed: too large"));
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
		"json5",
		"lodash",
		"lru-cache",
		"make-dir",
		"make-dir/node_modules/semver",
		"minimist",
		"qs",
		"semver",
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
	tb_fixture(&t, IMAGES "npm-app/package-lock.json",
		   "srv/app/package-lock.json");
	for (size_t i = 0; i < sizeof(mods) / sizeof(*mods); i++) {
		snprintf(file, sizeof(file),
			 IMAGES "npm-app/node_modules/%s/package.json",
			 mods[i]);
		snprintf(path, sizeof(path),
			 "srv/app/node_modules/%s/package.json", mods[i]);
		if (!strcmp(mods[i], "qs"))
			tb_str(&t, path,
			       "{\"name\":\"qs\",\"version\":\"6.5.3\"}");
		else
			tb_fixture(&t, file, path);
	}
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_int_equal(inv.npkgs, 9);
	for (size_t i = 0; i < inv.npkgs; i++)
		from_lock +=
			!strcmp(inv.pkgs[i].path, "srv/app/package-lock.json");
	assert_int_equal(from_lock, 8);
	assert_string_equal(find(&inv, "qs")->version, "6.5.3");
	assert_string_equal(find(&inv, "qs")->path,
			    "srv/app/node_modules/qs/package.json");
	inv_release(&inv);
}

/* A file of size zero bytes, written a MiB at a time. */
static void tb_zeros(struct tb *t, const char *path, int64_t size)
{
	static const char zeros[1 << 20];
	struct archive_entry *e = tb_entry(path, AE_IFREG, 0644, size);

	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	for (int64_t left = size; left > 0; left -= (int64_t)sizeof(zeros)) {
		size_t n = left < (int64_t)sizeof(zeros) ? (size_t)left
							 : sizeof(zeros);

		assert_int_equal(archive_write_data(t->a, zeros, n),
				 (la_ssize_t)n);
	}
	archive_entry_free(e);
}

/* walk(), and how many decompressed bytes the layer's reading took. */
static int walk_bytes(struct layer_walk *w, struct tb *t, const char *digest,
		      int64_t *out)
{
	struct archive *a = archive_read_new();
	struct err e = ERR_INIT;
	int r;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, t->mem, t->used),
			 ARCHIVE_OK);
	r = layer_walk_archive(w, a, digest, &e);
	*out = archive_filter_bytes(a, 0);
	archive_read_free(a);
	free(t->mem);
	return r;
}

static bool hit(const struct scan_meter *m, const char *budget,
		const char *layer)
{
	for (size_t i = 0; i < m->nhits; i++)
		if (!strcmp(m->hits[i].budget, budget) &&
		    (!layer || !strcmp(m->hits[i].layer, layer)))
			return true;
	return false;
}

static size_t count_eco(const struct scan_inventory *inv, enum scan_eco eco)
{
	size_t n = 0;

	for (size_t i = 0; i < inv->npkgs; i++)
		n += inv->pkgs[i].eco == eco;
	return n;
}

/* Walks the layers, finishes, and checks every entry was given back. */
static void finish(struct layer_walk *w, struct scan_meter *m,
		   struct scan_inventory *inv)
{
	inv_init(inv);
	layer_walk_finish(w, inv);
	layer_walk_free(w);
	assert_int_equal(m->entries, 0);
}

/* Bytes per layer: the layer stops inside the entry that crosses the
 * limit (a compressed entry is never skipped in one call); what came
 * before counts, and the next layer is read. */
static void test_budget_layer_bytes(void **state)
{
	struct scan_budget b = {.layer_bytes = 2 << 20};
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	int64_t out;
	struct tb t;

	(void)state;
	meter_init(&m, &b, 0);
	w = layer_walk_new(&m);
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_zeros(&t, "srv/zeros", 32 << 20);
	tb_str(&t, "lib/apk/db/installed", apkdb);
	tb_close(&t);
	assert_int_equal(walk_bytes(w, &t, "sha256:l1", &out), -1);
	assert_true(out < (4 << 20));
	tb_open(&t, true);
	tb_str(&t, "usr/lib/x-1.dist-info/METADATA", meta_x);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l2"), 0);
	finish(w, &m, &inv);
	assert_true(hit(&m, BUDGET_LAYER_BYTES, "sha256:l1"));
	assert_int_equal(m.nhits, 1);
	assert_false(m.stop);
	assert_int_equal(count_eco(&inv, ECO_DEBIAN), 2);
	assert_int_equal(count_eco(&inv, ECO_ALPINE), 0);
	assert_int_equal(count_eco(&inv, ECO_PYPI), 1);
	assert_true(has_note(&inv, "layer sha256:l1: reading stopped"));
	inv_release(&inv);
	meter_release(&m);
}

/* Bytes per image: the scan stops; later layers are not read at all. */
static void test_budget_image_bytes(void **state)
{
	struct scan_budget b = {.image_bytes = 3 << 20};
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	struct tb t;

	(void)state;
	meter_init(&m, &b, 0);
	w = layer_walk_new(&m);
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_zeros(&t, "a", 2 << 20);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), 0);
	tb_open(&t, true);
	tb_zeros(&t, "b", 2 << 20);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l2"), -1);
	assert_true(m.stop);
	tb_open(&t, true);
	tb_str(&t, "lib/apk/db/installed", apkdb);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l3"), -1);
	finish(w, &m, &inv);
	assert_true(hit(&m, BUDGET_IMAGE_BYTES, "sha256:l2"));
	assert_int_equal(m.nhits, 1);
	assert_int_equal(count_eco(&inv, ECO_DEBIAN), 2);
	assert_int_equal(count_eco(&inv, ECO_ALPINE), 0);
	inv_release(&inv);
	meter_release(&m);
}

/* The ratio, checked once SCAN_RATIO_FLOOR bytes are out; 0 turns it off. */
static void test_budget_ratio(void **state)
{
	struct scan_budget b = {.ratio = 100};
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	int64_t out;
	struct tb t;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		b.ratio = pass ? 0 : 100;
		meter_init(&m, &b, 0);
		w = layer_walk_new(&m);
		tb_open(&t, true);
		tb_zeros(&t, "zeros", 96 << 20);
		tb_str(&t, "var/lib/dpkg/status", status2);
		tb_close(&t);
		assert_int_equal(walk_bytes(w, &t, "sha256:l1", &out),
				 pass ? 0 : -1);
		finish(w, &m, &inv);
		if (pass) {
			assert_int_equal(m.nhits, 0);
			assert_int_equal(count_eco(&inv, ECO_DEBIAN), 2);
		} else {
			assert_true(hit(&m, BUDGET_RATIO, "sha256:l1"));
			assert_true(out > SCAN_RATIO_FLOOR && out < (72 << 20));
			assert_int_equal(inv.npkgs, 0);
		}
		inv_release(&inv);
		meter_release(&m);
	}
}

static void test_budget_entries(void **state)
{
	struct scan_budget b = {.layer_entries = 20};
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	char name[32];
	struct tb t;

	(void)state;
	meter_init(&m, &b, 0);
	w = layer_walk_new(&m);
	tb_open(&t, false);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		tb_str(&t, name, "x");
	}
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), -1);
	finish(w, &m, &inv);
	assert_true(hit(&m, BUDGET_LAYER_ENTRIES, "sha256:l1"));
	assert_int_equal(inv.npkgs, 0);
	inv_release(&inv);
	meter_release(&m);
}

/* A file its detector needs whole but may not read is a budget hit, not
 * only a note: what it would list is unknown. */
static void test_budget_file_bytes(void **state)
{
	struct scan_budget b = {.file_bytes = 64};
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	struct tb t;

	(void)state;
	meter_init(&m, &b, 0);
	w = layer_walk_new(&m);
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status", status2);
	/* A prefix is all METADATA needs: no hit. */
	tb_str(&t, "usr/lib/x-1.dist-info/METADATA", meta_x);
	tb_str(&t, "lib/apk/db/installed", apkdb);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), 0);
	finish(w, &m, &inv);
	assert_true(hit(&m, BUDGET_FILE_BYTES, "sha256:l1"));
	assert_int_equal(m.nhits, 1);
	assert_non_null(strstr(m.hits[0].detail, "var/lib/dpkg/status"));
	assert_int_equal(m.hits[0].limit, 64);
	assert_int_equal(count_eco(&inv, ECO_DEBIAN), 0);
	assert_int_equal(count_eco(&inv, ECO_PYPI), 1);
	assert_int_equal(count_eco(&inv, ECO_ALPINE), 1);
	assert_true(
		has_note(&inv, "var/lib/dpkg/status: not analysed: too large"));
	inv_release(&inv);
	meter_release(&m);
}

/* Inventory entries per image: files kept and the packages they list. */
static void test_budget_packages(void **state)
{
	struct scan_budget b = {.packages = 30};
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	char path[64], doc[64];
	struct tb t;

	(void)state;
	meter_init(&m, &b, 0);
	w = layer_walk_new(&m);
	tb_open(&t, true);
	for (int i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "node_modules/p%d/package.json",
			 i);
		snprintf(doc, sizeof(doc),
			 "{\"name\":\"p%d\",\"version\":\"1.0.0\"}", i);
		tb_str(&t, path, doc);
	}
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), 0);
	assert_true(m.entries <= 30);
	finish(w, &m, &inv);
	assert_true(hit(&m, BUDGET_PACKAGES, "sha256:l1"));
	assert_int_equal(inv.npkgs, 15);
	inv_release(&inv);
	meter_release(&m);

	/* A single file naming more packages than are left. */
	b.packages = 2;
	meter_init(&m, &b, 0);
	w = layer_walk_new(&m);
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	finish(w, &m, &inv);
	assert_true(hit(&m, BUDGET_PACKAGES, "sha256:l1"));
	assert_int_equal(inv.npkgs, 1);
	inv_release(&inv);
	meter_release(&m);
}

static void test_budget_deadline(void **state)
{
	struct scan_budget b = {.deadline_ms = 1000};
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	struct tb t;

	(void)state;
	meter_init(&m, &b, meter_now_ms() - 1);
	w = layer_walk_new(&m);
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status", status2);
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), -1);
	finish(w, &m, &inv);
	assert_true(hit(&m, BUDGET_DEADLINE, "sha256:l1"));
	assert_int_equal(m.hits[0].limit, 1000);
	assert_true(m.stop);
	assert_int_equal(inv.npkgs, 0);
	inv_release(&inv);
	meter_release(&m);
}

/* The inventory bomb: one lockfile and thousands of hard links to it (and
 * the same with status.d) list each package once. */
static void test_hardlinks_once(void **state)
{
	struct scan_budget b;
	struct scan_inventory inv;
	struct scan_meter m;
	struct layer_walk *w;
	char path[64];
	struct tb t;

	(void)state;
	scan_budget_defaults(&b);
	meter_init(&m, &b, 0);
	w = layer_walk_new(&m);
	t.cap = 0;
	tb_open(&t, true);
	tb_fixture(&t, IMAGES "npm-app/package-lock.json",
		   "app/package-lock.json");
	tb_str(&t, "var/lib/dpkg/status.d/base", status2);
	for (int i = 0; i < 3000; i++) {
		snprintf(path, sizeof(path), "h/%d/package-lock.json", i);
		tb_link(&t, path, "app/package-lock.json", true);
		snprintf(path, sizeof(path), "var/lib/dpkg/status.d/l%d", i);
		tb_link(&t, path, "var/lib/dpkg/status.d/base", true);
	}
	tb_close(&t);
	assert_int_equal(walk(w, &t, t.used, "sha256:l1"), 0);
	finish(w, &m, &inv);
	assert_int_equal(m.nhits, 0);
	assert_int_equal(count_eco(&inv, ECO_DEBIAN), 2);
	assert_int_equal(count_eco(&inv, ECO_NPM), 9);
	/* What it used: 6002 entries kept (files and links), 11 packages. */
	assert_int_equal(m.used.layer_entries, 6002);
	assert_int_equal(m.used.packages, 6002 + 11);
	assert_true(m.used.layer_bytes > 6002 * 512);
	inv_release(&inv);
	meter_release(&m);
}

/* Identical files are analysed and listed once, under a path that still
 * exists: deleting the first copy does not lose the second. */
static void test_identical_once(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct tb t;

	(void)state;
	inv_init(&inv);
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status.d/a", status2);
	tb_str(&t, "var/lib/dpkg/status.d/b", status2);
	tb_str(&t, "var/lib/dpkg/status.d/c", status2);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status.d/.wh.a", "");
	tb_str(&t, "var/lib/dpkg/status.d/d", status2);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l2");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_int_equal(inv.npkgs, 2);
	assert_string_equal(inv.pkgs[0].path, "var/lib/dpkg/status.d/b");
	assert_string_equal(inv.pkgs[0].layer, "sha256:l1");
	inv_release(&inv);

	/* Only the copy a later layer added is left: its layer is named. */
	w = layer_walk_new(NULL);
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status.d/a", status2);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l1");
	tb_open(&t, true);
	tb_str(&t, "var/lib/dpkg/status.d/.wh.a", "");
	tb_str(&t, "var/lib/dpkg/status.d/z", status2);
	tb_close(&t);
	walk(w, &t, t.used, "sha256:l2");
	layer_walk_finish(w, &inv);
	layer_walk_free(w);
	assert_int_equal(inv.npkgs, 2);
	assert_string_equal(inv.pkgs[0].path, "var/lib/dpkg/status.d/z");
	assert_string_equal(inv.pkgs[0].layer, "sha256:l2");
	inv_release(&inv);
}

/* --- Per-layer indexes: the merge of layers read alone ------------------ */

/* Layers kept to be read twice: whole (one walk) and alone (indexes). */
struct lset {
	char *mem[4];
	size_t len[4];
	const char *dg[4];
	size_t n;
};

static void lset_add(struct lset *ls, struct tb *t, const char *dg)
{
	ls->mem[ls->n] = t->mem;
	ls->len[ls->n] = t->used;
	ls->dg[ls->n++] = dg;
}

static struct archive *lset_open(const struct lset *ls, size_t i)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, ls->mem[i], ls->len[i]),
			 ARCHIVE_OK);
	return a;
}

/* The inventory of the layers merged from their indexes, after checking
 * it is the one a walk of the whole image gives. */
static void lset_merge(struct lset *ls, struct scan_inventory *out)
{
	struct layer_walk *whole = layer_walk_new(NULL);
	struct layer_walk *m = layer_walk_new(NULL);
	struct scan_inventory inv;
	struct err e = ERR_INIT;

	inv_init(&inv);
	inv_init(out);
	for (size_t i = 0; i < ls->n; i++) {
		struct layer_walk *one = layer_walk_new(NULL);
		struct archive *a = lset_open(ls, i);
		char *text;
		json_t *idx;

		layer_walk_archive(whole, a, ls->dg[i], &e);
		archive_read_free(a);
		a = lset_open(ls, i);
		layer_walk_record(one);
		layer_walk_archive(one, a, ls->dg[i], &e);
		archive_read_free(a);
		/* Through text, as the index is stored. */
		idx = layer_walk_export(one);
		text = json_dumps(idx, JSON_COMPACT);
		json_decref(idx);
		idx = json_loads(text, 0, NULL);
		assert_non_null(idx);
		assert_int_equal(layer_walk_import(m, idx, ls->dg[i], &e), 0);
		json_decref(idx);
		free(text);
		layer_walk_free(one);
		free(ls->mem[i]);
	}
	layer_walk_finish(whole, &inv);
	layer_walk_finish(m, out);
	layer_walk_free(whole);
	layer_walk_free(m);
	assert_int_equal(out->npkgs, inv.npkgs);
	for (size_t i = 0; i < inv.npkgs; i++) {
		assert_string_equal(out->pkgs[i].name, inv.pkgs[i].name);
		assert_string_equal(out->pkgs[i].version, inv.pkgs[i].version);
		assert_string_equal(out->pkgs[i].layer, inv.pkgs[i].layer);
		assert_string_equal(out->pkgs[i].path, inv.pkgs[i].path);
		assert_int_equal(out->pkgs[i].eco, inv.pkgs[i].eco);
	}
	assert_true((!out->os.id && !inv.os.id) ||
		    !strcmp(out->os.id, inv.os.id));
	assert_int_equal(out->nnotes, inv.nnotes);
	assert_int_equal(out->fs_layers, inv.fs_layers);
	assert_int_equal(out->ncontent_sets, inv.ncontent_sets);
	for (size_t i = 0; i < inv.ncontent_sets; i++)
		assert_string_equal(out->content_sets[i], inv.content_sets[i]);
	inv_release(&inv);
}

/* A layer as data: entries 'f' (a file of data), 'd' (a directory), 'l'
 * (a symlink to data); the list ends at a NULL path. */
struct lent {
	char type;
	const char *path, *data;
};

struct lspec {
	const char *dg;
	bool gzip;
	const struct lent *ents;
};

/* The merged inventory of the layers spec[0..n). */
static void lset_run(const struct lspec *spec, size_t n,
		     struct scan_inventory *inv)
{
	struct lset ls = {0};

	for (size_t i = 0; i < n; i++) {
		struct tb t;

		tb_open(&t, spec[i].gzip);
		for (const struct lent *e = spec[i].ents; e->path; e++) {
			if (e->type == 'd')
				tb_dir(&t, e->path);
			else if (e->type == 'l')
				tb_link(&t, e->path, e->data, false);
			else
				tb_str(&t, e->path, e->data);
		}
		tb_close(&t);
		lset_add(&ls, &t, spec[i].dg);
	}
	lset_merge(&ls, inv);
}

static const char tzdata[] = "Package: tzdata\nStatus: install ok installed\n"
			     "Version: 2024a-0+deb12u1\n";
#define PYDIST "usr/lib/python3/dist-packages"

/* A later layer deletes var/lib/dpkg/status (a whiteout), another
 * replaces it: per path, the topmost layer's file. */
static void test_index_whiteout(void **state)
{
	static const struct lent l1[] = {
		{'d', "./var/lib/dpkg/", NULL},
		{'f', "./var/lib/dpkg/status", status2},
		{'l', "./etc/os-release", "../usr/lib/os-release"},
		{'f', "./usr/lib/os-release", osrel},
		{0, NULL, NULL},
	};
	static const struct lent l2[] = {
		{'f', "var/lib/dpkg/.wh.status", ""},
		{'f', "lib/apk/db/installed", apkdb},
		{0, NULL, NULL},
	};
	static const struct lent l3[] = {
		{'f', "var/lib/dpkg/status", tzdata},
		{0, NULL, NULL},
	};
	const struct lspec spec[] = {
		{"sha256:l1", true, l1},
		{"sha256:l2", false, l2},
		{"sha256:l3", false, l3},
	};
	struct scan_inventory inv;

	(void)state;
	lset_run(spec, 3, &inv);
	assert_string_equal(inv.os.id, "debian");
	assert_null(find(&inv, "libc6"));
	assert_string_equal(find(&inv, "musl")->layer, "sha256:l2");
	assert_string_equal(find(&inv, "tzdata")->layer, "sha256:l3");
	assert_int_equal(inv.npkgs, 2);
	inv_release(&inv);
}

/* An opaque directory hides what lower layers put under it, not what its
 * own layer and later ones put there. */
static void test_index_opaque(void **state)
{
	static const struct lent l1[] = {
		{'f', "var/lib/dpkg/status", status2},
		{'f', PYDIST "/x-1.0.dist-info/METADATA", meta_x},
		{0, NULL, NULL},
	};
	static const struct lent l2[] = {
		{'d', PYDIST, NULL},
		{'f', PYDIST "/.wh..wh..opq", ""},
		{'f', PYDIST "/y-2.0.dist-info/METADATA", meta_y},
		{0, NULL, NULL},
	};
	const struct lspec spec[] = {
		{"sha256:o1", false, l1},
		{"sha256:o2", false, l2},
	};
	struct scan_inventory inv;

	(void)state;
	lset_run(spec, 2, &inv);
	assert_null(find(&inv, "x"));
	assert_string_equal(find(&inv, "y")->layer, "sha256:o2");
	assert_string_equal(find(&inv, "bash")->layer, "sha256:o1");
	inv_release(&inv);
}

/* A package database split across layers (distroless status.d, Python
 * site-packages): each part from the layer that added it; a directory
 * replaced by a symlink takes its lower files with it; the same file
 * again is listed once, from the layer it is found in now. */
static void test_index_split(void **state)
{
	static const struct lent l1[] = {
		{'f', "var/lib/dpkg/status.d/base",
		 "Package: base-files\nStatus: install ok installed\n"
		 "Version: 12.4+deb12u5\n"},
		{'f', "opt/a/site-packages/x-1.0.dist-info/METADATA", meta_x},
		{0, NULL, NULL},
	};
	static const struct lent l2[] = {
		{'f', "var/lib/dpkg/status.d/tzdata", tzdata},
		{'l', "opt/a", "/srv/b"},
		{0, NULL, NULL},
	};
	static const struct lent l3[] = {
		{'f', "var/lib/dpkg/status.d/base",
		 "Package: base-files\nStatus: install ok installed\n"
		 "Version: 12.4+deb12u6\n"},
		{'f', "srv/b/site-packages/x-1.0.dist-info/METADATA", meta_x},
		{0, NULL, NULL},
	};
	const struct lspec spec[] = {
		{"sha256:s1", true, l1},
		{"sha256:s2", false, l2},
		{"sha256:s3", false, l3},
	};
	struct scan_inventory inv;

	(void)state;
	lset_run(spec, 3, &inv);
	assert_string_equal(find(&inv, "base-files")->version, "12.4+deb12u6");
	assert_string_equal(find(&inv, "base-files")->layer, "sha256:s3");
	assert_string_equal(find(&inv, "tzdata")->layer, "sha256:s2");
	assert_string_equal(find(&inv, "x")->path,
			    "srv/b/site-packages/x-1.0.dist-info/METADATA");
	assert_string_equal(find(&inv, "x")->layer, "sha256:s3");
	assert_int_equal(inv.npkgs, 3);
	inv_release(&inv);
}

/* Red Hat's content manifests, one per layer: those left in the image
 * give its content sets (once each), a whited-out one none, through the
 * indexes as through one walk. */
static void test_index_content_sets(void **state)
{
#define ICM "root/buildinfo/content_manifests/"
	static const struct lent l1[] = {
		{'f', ICM "ubi9-container-9.2-1.json",
		 "{\"content_sets\":[\"rhel-9-for-x86_64-baseos-rpms\"]}"},
		{'f', ICM "old-container-1-1.json",
		 "{\"content_sets\":[\"rhel-9-for-x86_64-appstream-rpms\"]}"},
		{0, NULL, NULL},
	};
	static const struct lent l2[] = {
		{'f', ICM ".wh.old-container-1-1.json", ""},
		{'f', ICM "app-container-1-2.json",
		 "{\"content_sets\":[\"rhel-9-for-x86_64-baseos-eus-rpms"
		 "__9_DOT_2\",\"rhel-9-for-x86_64-baseos-rpms\"]}"},
		{0, NULL, NULL},
	};
	const struct lspec spec[] = {
		{"sha256:c1", true, l1},
		{"sha256:c2", false, l2},
	};
	struct scan_inventory inv;

	(void)state;
	lset_run(spec, 2, &inv);
	assert_int_equal(inv.ncontent_sets, 2);
	assert_string_equal(inv.content_sets[0],
			    "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2");
	assert_string_equal(inv.content_sets[1],
			    "rhel-9-for-x86_64-baseos-rpms");
	inv_release(&inv);
#undef ICM
}

/* What an upload's first bytes say: layers (gzip, zstd, tar) are
 * indexed, configs and other JSON are not. */
static void test_index_sniff(void **state)
{
	static const unsigned char gz[] = {0x1f, 0x8b, 8, 0};
	static const unsigned char zst[] = {0x28, 0xb5, 0x2f, 0xfd, 0};
	char tar[512] = "etc/os-release";
	const char *cfg = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";

	(void)state;
	memcpy(tar + 257, "ustar", 6);
	assert_true(scan_layer_sniff(gz, sizeof(gz)));
	assert_true(scan_layer_sniff(zst, sizeof(zst)));
	assert_true(scan_layer_sniff(tar, sizeof(tar)));
	assert_false(scan_layer_sniff(tar, 200));
	assert_false(scan_layer_sniff(cfg, strlen(cfg)));
	assert_false(scan_layer_sniff("", 0));
}

/* An index that is not one is refused, not half replayed. */
static void test_index_malformed(void **state)
{
	struct layer_walk *w = layer_walk_new(NULL);
	struct err e = ERR_INIT;
	json_t *bad = json_pack("{s:s}", "files", "nope");

	(void)state;
	assert_int_equal(layer_walk_import(w, bad, "sha256:m", &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	json_decref(bad);
	layer_walk_free(w);
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
		cmocka_unit_test(test_budget_layer_bytes),
		cmocka_unit_test(test_budget_image_bytes),
		cmocka_unit_test(test_budget_ratio),
		cmocka_unit_test(test_budget_entries),
		cmocka_unit_test(test_budget_file_bytes),
		cmocka_unit_test(test_budget_packages),
		cmocka_unit_test(test_budget_deadline),
		cmocka_unit_test(test_hardlinks_once),
		cmocka_unit_test(test_identical_once),
		cmocka_unit_test(test_index_whiteout),
		cmocka_unit_test(test_index_opaque),
		cmocka_unit_test(test_index_split),
		cmocka_unit_test(test_index_content_sets),
		cmocka_unit_test(test_index_sniff),
		cmocka_unit_test(test_index_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
