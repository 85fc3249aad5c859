/* test_rpmdb.c: the BerkeleyDB and NDB rpm database readers on real
 * databases (tests/data/rpmdb, see README.md there) against answer keys
 * made by librpm, and on truncated, corrupted and hostile variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "scanner/detect_int.h"

#define DATA "tests/data/rpmdb/"

/* The output of tool (a command taking one file) run on path. */
static char *output(const char *tool, const char *path, size_t *len)
{
	struct buf b = BUF_INIT;
	char cmd[512], chunk[65536];
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s %s", tool, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	assert_int_equal(pclose(f), 0);
	buf_adds(&b, "");
	return buf_detach(&b, len);
}

static char *unxz(const char *path, size_t *len)
{
	return output("xz -dc", path, len);
}

/* Collects each blob as an answer-key line: name, epoch, version,
 * release, arch, sourcerpm (empty when absent). */
struct lines {
	struct buf text;
	size_t n, bad;
};

static bool collect(void *arg, const void *blob, size_t len)
{
	struct lines *l = arg;
	struct rpm_hdr h;
	char epoch[24] = "";

	if (rpm_hdr_parse(blob, len, &h)) {
		l->bad++;
	} else {
		if (h.epoch >= 0)
			snprintf(epoch, sizeof(epoch), "%ld", h.epoch);
		buf_addf(&l->text, "%s\t%s\t%s\t%s\t%s\t%s\n", h.name, epoch,
			 h.version, h.release, h.arch ? h.arch : "",
			 h.srpm ? h.srpm : "");
		l->n++;
	}
	rpm_hdr_release(&h);
	return true;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text sorted bytewise, joined again. */
static char *sorted(char *text, size_t n)
{
	char **v = xcalloc(n + 1, sizeof(*v));
	struct buf b = BUF_INIT;
	size_t i = 0;

	for (char *p = strtok(text, "\n"); p && i < n; p = strtok(NULL, "\n"))
		v[i++] = p;
	assert_int_equal(i, n);
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s\n", v[i]);
	free(v);
	buf_adds(&b, "");
	return buf_detach(&b, NULL);
}

static int walk(int (*fn)(const struct det_file *, struct rpmdb_walk *),
		const char *data, size_t len, struct lines *l,
		struct rpmdb_walk *w)
{
	struct det_file f = {"var/lib/rpm/Packages", "sha256:layer", data, len,
			     NULL};

	memset(w, 0, sizeof(*w));
	w->fn = collect;
	w->arg = l;
	buf_init(&l->text, 0);
	l->n = l->bad = 0;
	return fn(&f, w);
}

/* Every line of the answer key, and nothing else, comes out. */
static void check_key(const char *db, const char *key,
		      int (*fn)(const struct det_file *, struct rpmdb_walk *),
		      int want_rc, size_t want_n)
{
	struct rpmdb_walk w;
	struct lines l;
	size_t len, klen;
	char *data = unxz(db, &len), *exp = output("cat", key, &klen), *got;
	assert_int_equal(walk(fn, data, len, &l, &w), want_rc);
	assert_int_equal(l.bad + w.bad, 0);
	assert_int_equal(l.n, want_n);
	buf_adds(&l.text, "");
	got = sorted(l.text.buf, l.n);
	/* The key's first line is its column names. */
	assert_string_equal(got, strchr(exp, '\n') + 1);
	free(got);
	free(exp);
	buf_release(&l.text);
	free(data);
}

static void test_bdb_keys(void **state)
{
	static const struct {
		const char *name;
		size_t n;
	} dbs[] = {
		{"rhel-8.0-ubi8-minimal", 101},
		{"fedora-modular-26", 114},
		{"sles-12-sp4", 108},
		{"rhel-8.8-libuuid", 1},
		{"ubi-7-tzdata", 1},
		{"centos-8-dive", 1},
		{"fedora-32-hello-epoch", 1},
		{"rpm4-empty", 0},
	};
	char db[256], key[256];

	(void)state;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(*dbs); i++) {
		snprintf(db, sizeof(db), DATA "bdb/%s.Packages.xz",
			 dbs[i].name);
		snprintf(key, sizeof(key), DATA "bdb/%s.expected.tsv",
			 dbs[i].name);
		check_key(db, key, rpmdb_bdb_walk, 0, dbs[i].n);
	}
	/* An rpm index (a btree) under the name Packages is refused. */
	check_key(DATA "bdb/negative-btree-index-as-Packages.Packages.xz",
		  DATA "bdb/negative-btree-index-as-Packages.expected.tsv",
		  rpmdb_bdb_walk, -1, 0);
}

static void test_ndb_keys(void **state)
{
	(void)state;
	check_key(DATA "ndb/sle15-bci-minimal-15.3-2021.Packages.db.xz",
		  DATA "ndb/sle15-bci-minimal-15.3-2021.expected.tsv",
		  rpmdb_ndb_walk, 0, 35);
	check_key(DATA "ndb/sle15-bci-minimal-15.3-2023.Packages.db.xz",
		  DATA "ndb/sle15-bci-minimal-15.3-2023.expected.tsv",
		  rpmdb_ndb_walk, 0, 36);
}

static const struct scan_pkg *find(const struct det_out *o, const char *name)
{
	for (size_t i = 0; i < o->inv.npkgs; i++)
		if (!strcmp(o->inv.pkgs[i].name, name))
			return &o->inv.pkgs[i];
	return NULL;
}

static void run(enum det_kind kind, const char *path, const char *data,
		size_t len, struct det_out *o)
{
	struct det_file f = {path, "sha256:layer", data, len, NULL};

	det_out_init(o);
	det_run(kind, &f, o);
}

/* The detectors: packages as the sqlite reader reports them, without the
 * gpg-pubkey pseudo-packages. */
static void test_detectors(void **state)
{
	const struct scan_pkg *p;
	struct det_out o;
	size_t len;
	char *db;

	(void)state;
	db = unxz(DATA "bdb/rhel-8.0-ubi8-minimal.Packages.xz", &len);
	run(DET_RPM_BDB, "var/lib/rpm/Packages", db, len, &o);
	assert_int_equal(o.inv.npkgs, 99);
	assert_int_equal(o.inv.nnotes, 0);
	p = find(&o, "openssl-libs");
	assert_non_null(p);
	assert_int_equal(p->eco, ECO_RPM);
	assert_string_equal(p->version, "1:1.1.1-8.el8");
	assert_string_equal(p->src_name, "openssl");
	assert_null(find(&o, "gpg-pubkey"));
	det_out_release(&o);
	free(db);

	db = unxz(DATA "ndb/sle15-bci-minimal-15.3-2023.Packages.db.xz", &len);
	run(DET_RPM_NDB, "var/lib/rpm/Packages.db", db, len, &o);
	assert_int_equal(o.inv.npkgs, 36);
	assert_int_equal(o.inv.nnotes, 0);
	assert_non_null(find(&o, "sles-release"));
	det_out_release(&o);
	free(db);

	run(DET_RPM_NDB, "var/lib/rpm/Packages.db", "RpmP", 4, &o);
	assert_int_equal(o.inv.nnotes, 1);
	assert_non_null(strstr(o.inv.notes[0], "not an rpm NDB database"));
	det_out_release(&o);
}

static uint32_t le32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[3] << 24 | (uint32_t)u[2] << 16 |
	       (uint32_t)u[1] << 8 | u[0];
}

static void put_le32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

/* Every prefix at page and odd boundaries, and seeded byte corruption:
 * a note or fewer packages, never a crash (ASan watches). */
static void mangle(int (*fn)(const struct det_file *, struct rpmdb_walk *),
		   const char *orig, size_t len, size_t full)
{
	char *d = xmalloc(len);
	struct rpmdb_walk w;
	struct lines l;
	unsigned seed = 1;

	for (size_t cut = 0; cut < len; cut += cut < 8192 ? 509 : 4093) {
		walk(fn, orig, cut, &l, &w);
		assert_true(l.n <= full);
		buf_release(&l.text);
	}
	for (int round = 0; round < 300; round++) {
		memcpy(d, orig, len);
		for (int k = 0; k < 1 + round % 16; k++) {
			seed = seed * 1103515245u + 12345u;
			d[(seed >> 8) % len] = (char)(seed >> 3);
		}
		walk(fn, d, len, &l, &w);
		assert_true(w.why[0] || l.n + l.bad + w.bad >= 1);
		buf_release(&l.text);
	}
	free(d);
}

static void test_bdb_hostile(void **state)
{
	struct rpmdb_walk w;
	struct lines l;
	size_t len;
	char *db = unxz(DATA "bdb/fedora-32-hello-epoch.Packages.xz", &len);
	uint32_t psize = le32(db + 20), n;
	char *pg = NULL;

	(void)state;
	mangle(rpmdb_bdb_walk, db, len, 1);
	/* An overflow page that links back to itself. */
	for (n = 1; n < len / psize; n++)
		if (db[n * psize + 25] == 7) {
			pg = db + n * psize;
			break;
		}
	assert_non_null(pg);
	put_le32(pg + 16, n);
	/* ... then claims the chain is longer than this page */
	put_le32(pg + 22, (uint32_t)(le32(pg + 22) & 0xffff) / 2 |
				  (le32(pg + 22) & 0xffff0000u));
	assert_int_equal(walk(rpmdb_bdb_walk, db, len, &l, &w), -1);
	assert_true(w.stopped);
	assert_non_null(strstr(w.why, "reached twice"));
	assert_int_equal(l.n, 0);
	buf_release(&l.text);
	/* Byte order flipped: a big-endian magic with a nonsense layout. */
	db[12] = 0x00, db[13] = 0x06, db[14] = 0x15, db[15] = 0x61;
	assert_int_equal(walk(rpmdb_bdb_walk, db, len, &l, &w), -1);
	buf_release(&l.text);
	free(db);
	assert_int_equal(walk(rpmdb_bdb_walk, "", 0, &l, &w), -1);
	assert_non_null(strstr(w.why, "not an rpm BerkeleyDB"));
	buf_release(&l.text);
}

static void test_ndb_hostile(void **state)
{
	struct rpmdb_walk w;
	struct lines l;
	size_t len;
	char *db = unxz(DATA "ndb/sle15-bci-minimal-15.3-2021.Packages.db.xz",
			&len);
	char *s1 = NULL, *s2 = NULL;

	(void)state;
	mangle(rpmdb_ndb_walk, db, len, 35);
	/* Two slots naming the same blob area: overlapping blobs. */
	for (size_t o = 32; o < 4096 && !s2; o += 16)
		if (le32(db + o + 4)) {
			if (!s1)
				s1 = db + o;
			else
				s2 = db + o;
		}
	assert_non_null(s2);
	memcpy(s2 + 8, s1 + 8, 8);
	memcpy(s2 + 4, s1 + 4, 4);
	/* Enough copies to exceed the file: refused before that. */
	for (size_t o = 32; o < 4096; o += 16)
		if (le32(db + o + 4))
			memcpy(db + o + 4, s1 + 4, 12);
	put_le32(db + 12, 1);
	walk(rpmdb_ndb_walk, db, len, &l, &w);
	assert_true(l.n < 254);
	buf_release(&l.text);
	/* A slot whose blob lies past the end. */
	put_le32(s1 + 8, 0x7fffffff);
	assert_int_equal(walk(rpmdb_ndb_walk, db, len, &l, &w), -1);
	assert_non_null(strstr(w.why, "outside the file"));
	buf_release(&l.text);
	/* A slot table larger than the file. */
	put_le32(db + 12, 100000);
	assert_int_equal(walk(rpmdb_ndb_walk, db, len, &l, &w), -1);
	assert_non_null(strstr(w.why, "not analysed"));
	buf_release(&l.text);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdb_keys),
		cmocka_unit_test(test_ndb_keys),
		cmocka_unit_test(test_detectors),
		cmocka_unit_test(test_bdb_hostile),
		cmocka_unit_test(test_ndb_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
