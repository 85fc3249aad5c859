/* The vulnerability DB: import (OSV files, trees and zips, Alpine secdb;
 * transactional, no-op when unchanged, malformed records skipped and
 * named) and matching (the fixtures' 71 expected findings with their fixed
 * versions, the fixtures' should-not-match cases, and OSV semantics on
 * records written here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "scanner/inventory_int.h"
#include "scanner/scanner.h"
#include "scanner/vulndb_int.h"
#include "tests/unit/vulndb_test.h"

#define ADV "tests/data/advisories/"

struct fx {
	char dir[64]; /* temporary directory */
	char *db;     /* the DB of the fixtures + extra/ */
	char *extra;  /* malformed and withdrawn records */
	char *log;    /* what the first import logged */
	struct vulndb_import_stats stats;
	struct vulndb *h;
};

/* --- Helpers ------------------------------------------------------------ */

/* Runs an import with stderr captured into *log (when log != NULL). */
static int import_paths(const char *db, const char *const *paths, size_t n,
			struct vulndb_import_stats *st, char **log)
{
	char tmpl[] = "/tmp/customs-vdb-log-XXXXXX";
	struct err e = ERR_INIT;
	int fd = -1, saved = -1, r;

	if (log) {
		fd = mkstemp(tmpl);
		assert_true(fd >= 0);
		fflush(stderr);
		saved = dup(2);
		dup2(fd, 2);
	}
	r = vulndb_import(db, paths, n, st, &e);
	if (log) {
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		close(fd);
		*log = read_file(tmpl);
		unlink(tmpl);
	}
	if (r < 0)
		print_error("import: %s\n", e.msg);
	return r;
}

/* --- Records written by the tests
 * --------------------------------------------- */

static const char withdrawn_rec[] =
	"{\"id\":\"TEST-WITHDRAWN-1\",\"modified\":\"2024-02-16T00:00:00Z\","
	"\"withdrawn\":\"2024-02-16T00:00:00Z\",\"summary\":\"duplicate\","
	"\"affected\":[{\"package\":{\"ecosystem\":\"PyPI\","
	"\"name\":\"fastapi\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	"\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"0.109.1\"}]}]}]}";

static int group_setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	const char *paths[3];
	struct err e = ERR_INIT;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/customs-vdb-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->db = xasprintf("%s/vulndb.db", fx->dir);
	fx->extra = xasprintf("%s/extra", fx->dir);
	mkdir(fx->extra, 0755);
	write_file(fx->extra, "broken.json", "{\"id\": \"TEST-BROKEN-1\", ");
	write_file(fx->extra, "noid.json", "{\"summary\": \"no id\"}");
	write_file(
		fx->extra, "badevent.json",
		"{\"id\":\"TEST-BAD-1\",\"affected\":[{\"package\":{"
		"\"ecosystem\":\"npm\",\"name\":\"x\"},\"ranges\":[{\"type\":"
		"\"SEMVER\",\"events\":[{\"introduced\":\"0\",\"fixed\":\"1\"}]"
		"}]}]}");
	write_file(fx->extra, "withdrawn.json", withdrawn_rec);
	write_file(fx->extra, "README.txt", "not an advisory: ignored");
	paths[0] = ADV "osv";
	paths[1] = ADV "alpine-secdb";
	paths[2] = fx->extra;
	if (import_paths(fx->db, paths, 3, &fx->stats, &fx->log) < 0)
		return -1;
	fx->h = vulndb_open(fx->db, &e);
	if (!fx->h) {
		print_error("open: %s\n", e.msg);
		return -1;
	}
	*state = fx;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *fx = *state;

	vulndb_free(fx->h);
	rm_rf(fx->dir);
	free(fx->db);
	free(fx->extra);
	free(fx->log);
	free(fx);
	return 0;
}

/* --- Import ------------------------------------------------------------- */

static void test_import(void **state)
{
	struct fx *fx = *state;

	/* 47 OSV records (46 + the withdrawn one) plus the secdb fixes. */
	assert_false(fx->stats.unchanged);
	assert_int_equal(fx->stats.skipped, 3);
	assert_true(fx->stats.records > 47);
	/* Each malformed file is named in the log; the rest imported. */
	assert_non_null(strstr(fx->log, "broken.json"));
	assert_non_null(strstr(fx->log, "noid.json"));
	assert_non_null(strstr(fx->log, "badevent.json"));
	assert_null(strstr(fx->log, "README.txt"));
	assert_null(strstr(fx->log, "withdrawn.json"));
}

static void test_reimport_noop(void **state)
{
	struct fx *fx = *state;
	const char *paths[] = {ADV "osv", ADV "alpine-secdb", fx->extra};
	struct vulndb_import_stats st;
	struct stat before, after;
	char *cwd = getcwd(NULL, 0), *abs;

	assert_int_equal(stat(fx->db, &before), 0);
	assert_int_equal(import_paths(fx->db, paths, 3, &st, NULL), 0);
	assert_true(st.unchanged);
	assert_int_equal(st.records, fx->stats.records);
	/* The same data named by another path is the same data. */
	abs = xasprintf("%s/" ADV "osv", cwd);
	paths[0] = abs;
	assert_int_equal(import_paths(fx->db, paths, 3, &st, NULL), 0);
	assert_true(st.unchanged);
	assert_int_equal(stat(fx->db, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mtime, after.st_mtime);
	free(abs);
	free(cwd);
}

/* A changed input builds a new file and renames it over the old one: a
 * reader that had the old one open keeps reading it. */
/* A feed with no usable record must not replace the DB with an empty one. */
static void test_import_nothing_valid(void **state)
{
	struct fx *fx = *state;
	char *feed = xasprintf("%s/badfeed", fx->dir);
	const char *paths[] = {feed};
	struct vulndb_import_stats st;
	struct stat before, after;

	mkdir(feed, 0755);
	write_file(feed, "broken.json", "{\"id\": ");
	assert_int_equal(stat(fx->db, &before), 0);
	assert_int_equal(import_paths(fx->db, paths, 1, &st, NULL), -1);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(stat(fx->db, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	free(feed);
}

static void test_replace_atomic(void **state)
{
	struct fx *fx = *state;
	char *db = xasprintf("%s/replace.db", fx->dir);
	char *feed = xasprintf("%s/feed", fx->dir);
	const char *paths[] = {feed};
	struct vulndb_import_stats st;
	struct scan_inventory inv;
	struct vuln_finding *f;
	struct stat s1, s2;
	struct err e = ERR_INIT;
	struct vulndb *old;
	size_t n;

	mkdir(feed, 0755);
	write_file(feed, "a.json",
		   "{\"id\":\"TEST-A-1\",\"modified\":\"2024-01-01T00:00:00Z\","
		   "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":"
		   "\"leftpad\"},\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
		   "{\"introduced\":\"0\"},{\"fixed\":\"2.0.0\"}]}]}]}");
	assert_int_equal(import_paths(db, paths, 1, &st, NULL), 0);
	assert_int_equal(st.records, 1);
	assert_int_equal(stat(db, &s1), 0);
	old = vulndb_open(db, &e);
	assert_non_null(old);
	write_file(feed, "b.json",
		   "{\"id\":\"TEST-B-1\",\"modified\":\"2024-01-01T00:00:00Z\","
		   "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":"
		   "\"leftpad\"},\"ranges\":[{\"type\":\"SEMVER\",\"events\":["
		   "{\"introduced\":\"0\"},{\"fixed\":\"3.0.0\"}]}]}]}");
	assert_int_equal(import_paths(db, paths, 1, &st, NULL), 0);
	assert_false(st.unchanged);
	assert_int_equal(st.records, 2);
	assert_int_equal(stat(db, &s2), 0);
	assert_true(s1.st_ino != s2.st_ino);
	assert_int_equal(s2.st_mode & 0777, 0644);

	inv_init(&inv);
	inv_pkg(&inv, ECO_NPM, "leftpad", "1.0.0", NULL, NULL);
	f = match(old, &inv, &n);
	assert_int_equal(n, 1); /* the old file */
	vuln_findings_free(f, n);
	vulndb_free(old);
	old = vulndb_open(db, &e);
	f = match(old, &inv, &n);
	assert_int_equal(n, 2); /* the new one */
	vuln_findings_free(f, n);
	vulndb_free(old);
	inv_release(&inv);

	/* A failed import leaves the DB as it was and no temporary file. */
	paths[0] = "tests/data/advisories/does-not-exist";
	assert_int_equal(import_paths(db, paths, 1, &st, NULL), -1);
	assert_int_equal(stat(db, &s1), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	{
		DIR *d = opendir(fx->dir);
		struct dirent *de;

		while ((de = readdir(d)))
			assert_null(strstr(de->d_name, ".tmp-"));
		closedir(d);
	}
	free(db);
	free(feed);
}

/* Writes every file under dir into a zip (as OSV's all.zip is). */
static void zip_dir(struct archive *a, const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char *path, *name, *text;
		struct archive_entry *ent;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		name = xasprintf("%s%s", prefix, de->d_name);
		stat(path, &st);
		if (S_ISDIR(st.st_mode)) {
			char *sub = xasprintf("%s/", name);

			zip_dir(a, path, sub);
			free(sub);
		} else {
			text = read_file(path);
			ent = archive_entry_new();
			archive_entry_set_pathname(ent, name);
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_perm(ent, 0644);
			archive_entry_set_size(ent, (la_int64_t)strlen(text));
			assert_int_equal(archive_write_header(a, ent),
					 ARCHIVE_OK);
			assert_int_equal(
				archive_write_data(a, text, strlen(text)),
				(la_ssize_t)strlen(text));
			archive_entry_free(ent);
			free(text);
		}
		free(path);
		free(name);
	}
	closedir(d);
}

static void test_import_zip(void **state)
{
	struct fx *fx = *state;
	char *zip = xasprintf("%s/all.zip", fx->dir);
	char *db1 = xasprintf("%s/dir.db", fx->dir);
	char *db2 = xasprintf("%s/zip.db", fx->dir);
	const char *paths[1];
	struct vulndb_import_stats s1, s2;
	struct archive *a = archive_write_new();

	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, zip), ARCHIVE_OK);
	zip_dir(a, ADV "osv", "");
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);

	paths[0] = ADV "osv";
	assert_int_equal(import_paths(db1, paths, 1, &s1, NULL), 0);
	paths[0] = zip;
	assert_int_equal(import_paths(db2, paths, 1, &s2, NULL), 0);
	assert_int_equal(s1.records, 46);
	assert_int_equal(s2.records, s1.records);
	assert_int_equal(s2.skipped, 0);
	free(zip);
	free(db1);
	free(db2);
}

static void test_status(void **state)
{
	struct fx *fx = *state;
	const char *v = vulndb_version(fx->h);
	struct err e = ERR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	/* "2026-11-28T12:00:00Z/<12 hex>" */
	assert_int_equal(strlen(v), 20 + 1 + 12);
	assert_int_equal(v[10], 'T');
	assert_int_equal(v[19], 'Z');
	assert_int_equal(v[20], '/');
	assert_int_equal(vulndb_status(fx->h, out, &e), 0);
	fclose(out);
	assert_non_null(strstr(text, "Debian:12"));
	assert_non_null(strstr(text, "Alpine:v3.18"));
	assert_non_null(strstr(text, "PyPI"));
	assert_non_null(strstr(text, "v3.18/main"));
	assert_non_null(strstr(text, "advisories:  47 (1 withdrawn)"));
	assert_non_null(strstr(text, v));
	free(text);
}

static void test_open_errors(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	char *junk = xasprintf("%s/junk.db", fx->dir);

	assert_null(vulndb_open("/nonexistent/vulndb.db", &e));
	assert_int_equal(e.code, ERR_NOT_FOUND);
	err_clear(&e);
	write_file(fx->dir, "junk.db", "this is not sqlite");
	assert_null(vulndb_open(junk, &e));
	assert_int_equal(e.code, ERR_DB);
	free(junk);
}

/* --- The fixtures' answer key
 * ----------------------------------------------------- */

struct fixture_os {
	const char *fixture;
	enum scan_eco eco;
	const char *os_id, *version_id;
};

static const struct fixture_os fixture_oses[] = {
	{"images/debian-bookworm-minbase", ECO_DEBIAN, "debian", "12"},
	{"images/alpine-3.10.4", ECO_ALPINE, "alpine", "3.10.4"},
	{"images/alpine-3.18.0", ECO_ALPINE, "alpine", "3.18.0"},
	{"images/python-bookworm", ECO_PYPI, "debian", "12"},
	{"images/python-trixie", ECO_PYPI, "debian", "13"},
	{"images/npm-app/package-lock.json", ECO_NPM, NULL, NULL},
};

struct expected {
	char *fixture, *pkg, *name, *installed, *id, *fixed;
	bool seen;
};

static size_t load_expected(struct expected **out)
{
	FILE *f = fopen(ADV "expected-matches.tsv", "r");
	char *line = NULL;
	size_t cap = 0, n = 0, alloc = 0;
	struct expected *x = NULL;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		char *col[8], *p = line, *save = NULL;
		size_t c;

		if (!strncmp(line, "feed\t", 5))
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (c = 0; c < 8 && (col[c] = strtok_r(p, "\t", &save)); c++)
			p = NULL;
		assert_int_equal(c, 8);
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			x = xrealloc(x, alloc * sizeof(*x));
		}
		x[n].fixture = xstrdup(col[2]);
		x[n].pkg = xstrdup(col[3]);
		x[n].name = xstrdup(col[4]);
		x[n].installed = xstrdup(col[5]);
		x[n].id = xstrdup(col[6]);
		x[n].fixed = xstrdup(col[7]);
		x[n].seen = false;
		n++;
	}
	free(line);
	fclose(f);
	*out = x;
	return n;
}

static void free_expected(struct expected *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(x[i].fixture);
		free(x[i].pkg);
		free(x[i].name);
		free(x[i].installed);
		free(x[i].id);
		free(x[i].fixed);
	}
	free(x);
}

/* One package per (package, name, installed) of the fixture.  The dpkg
 * and apk rows give the source/origin name and the source version; the
 * language rows the package name (npm: the lockfile path as the path). */
static void build_fixture_inv(const struct fixture_os *fo,
			      const struct expected *x, size_t n,
			      struct scan_inventory *inv)
{
	inv_init(inv);
	inv_os(inv, fo->os_id, fo->version_id, NULL);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		struct scan_pkg p = {fo->eco, NULL, NULL,	    NULL, NULL,
				     NULL,    NULL, SCAN_CONF_HIGH, NULL};

		if (strcmp(x[i].fixture, fo->fixture))
			continue;
		for (size_t j = 0; j < inv->npkgs && !dup; j++)
			dup = !strcmp(inv->pkgs[j].path, x[i].pkg) &&
			      !strcmp(inv->pkgs[j].version, x[i].installed);
		if (dup)
			continue;
		p.path = x[i].pkg;
		p.version = x[i].installed;
		if (fo->eco == ECO_DEBIAN || fo->eco == ECO_ALPINE) {
			p.name = x[i].pkg;
			p.src_name = x[i].name;
			if (fo->eco == ECO_DEBIAN)
				p.src_version = x[i].installed;
		} else {
			p.name = x[i].name;
		}
		inv_add_pkg(inv, &p);
	}
}

/* Every expected finding, with its fixed version, and nothing else. */
static void test_expected_matches(void **state)
{
	struct fx *fx = *state;
	struct expected *x;
	size_t nx = load_expected(&x), total = 0, bad = 0;

	assert_int_equal(nx, 71);
	for (size_t k = 0; k < sizeof(fixture_oses) / sizeof(*fixture_oses);
	     k++) {
		struct scan_inventory inv;
		struct vuln_finding *f;
		size_t n;

		build_fixture_inv(&fixture_oses[k], x, nx, &inv);
		assert_true(inv.npkgs > 0);
		f = match(fx->h, &inv, &n);
		for (size_t i = 0; i < n; i++) {
			const struct scan_pkg *p = &inv.pkgs[f[i].pkg];
			size_t j;

			for (j = 0; j < nx; j++)
				if (!strcmp(x[j].fixture,
					    fixture_oses[k].fixture) &&
				    !strcmp(x[j].pkg, p->path) &&
				    !strcmp(x[j].id, f[i].id))
					break;
			if (j == nx) {
				print_error("unexpected: %s %s %s\n", p->path,
					    f[i].id, f[i].fixed);
				bad++;
				continue;
			}
			if (!f[i].fixed || strcmp(f[i].fixed, x[j].fixed)) {
				print_error("%s %s: fixed %s, want %s\n",
					    p->path, f[i].id, f[i].fixed,
					    x[j].fixed);
				bad++;
			}
			if (x[j].seen) {
				print_error("twice: %s %s\n", p->path, f[i].id);
				bad++;
			}
			x[j].seen = true;
			total++;
		}
		vuln_findings_free(f, n);
		inv_release(&inv);
	}
	for (size_t j = 0; j < nx; j++)
		if (!x[j].seen) {
			print_error("missing: %s %s %s\n", x[j].fixture,
				    x[j].pkg, x[j].id);
			bad++;
		}
	free_expected(x, nx);
	assert_int_equal(bad, 0);
	assert_int_equal(total, 71);
}

/* The README's "must not match" table, one package each. */
static void test_should_not_match(void **state)
{
	struct fx *fx = *state;
	struct scan_inventory inv;
	struct vuln_finding *f;
	size_t n;

	/* Debian 12: fix older than installed, fixed == installed, other
	 * releases only, an epoch on the binary but not the source. */
	inv_init(&inv);
	inv_os(&inv, "debian", "12", NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libc6", "2.36-9+deb12u14", "glibc", NULL);
	inv_pkg(&inv, ECO_DEBIAN, "bsdutils", "1:2.38.1-5+deb12u3",
		"util-linux", "2.38.1-5+deb12u3");
	inv_pkg(&inv, ECO_DEBIAN, "libtasn1-6", "4.19.0-2+deb12u1", NULL, NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libgnutls30", "3.7.9-2+deb12u7", "gnutls28",
		NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libgcrypt20", "1.10.1-3+deb12u1", NULL,
		NULL);
	inv_pkg(&inv, ECO_DEBIAN, "perl-base", "5.36.0-7+deb12u3", "perl",
		NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libsystemd0", "252.39-1~deb12u2", "systemd",
		NULL);
	inv_pkg(&inv, ECO_DEBIAN, "dpkg", "1.21.22", NULL, NULL);
	inv_pkg(&inv, ECO_DEBIAN, "tzdata", "2025b-0+deb12u2", NULL, NULL);
	f = match(fx->h, &inv, &n);
	for (size_t i = 0; i < n; i++)
		print_error("unexpected: %s %s\n", inv.pkgs[f[i].pkg].name,
			    f[i].id);
	assert_int_equal(n, 0);
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* xz-utils: DLA-4783-1 applies, DSA-5895-1 (fixed 5.4.1-1) not. */
	inv_init(&inv);
	inv_os(&inv, "debian", "12", NULL);
	inv_pkg(&inv, ECO_DEBIAN, "liblzma5", "5.4.1-1+deb12u1", "xz-utils",
		NULL);
	f = match(fx->h, &inv, &n);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].id, "DLA-4783-1");
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* Alpine 3.10: ALPINE-CVE-2025-26519 lists v3.16+ only; secdb
	 * fixed == installed (CVE-2019-14697, CVE-2019-1551). */
	inv_init(&inv);
	inv_os(&inv, "alpine", "3.10.4", NULL);
	inv_pkg(&inv, ECO_ALPINE, "musl", "1.1.22-r3", "musl", NULL);
	inv_pkg(&inv, ECO_ALPINE, "libssl1.1", "1.1.1d-r2", "openssl", NULL);
	f = match(fx->h, &inv, &n);
	assert_null(find(&inv, f, n, "musl", "ALPINE-CVE-2025-26519"));
	assert_null(find(&inv, f, n, "musl", "CVE-2019-14697"));
	assert_null(find(&inv, f, n, "libssl1.1", "CVE-2019-1551"));
	assert_non_null(find(&inv, f, n, "musl", "CVE-2020-28928"));
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* Alpine 3.18: "0" keys, older keys, _pre ordering, -r17 > -r7. */
	inv_init(&inv);
	inv_os(&inv, "alpine", "3.18.0", NULL);
	inv_pkg(&inv, ECO_ALPINE, "busybox", "1.36.0-r9", NULL, NULL);
	inv_pkg(&inv, ECO_ALPINE, "musl", "1.2.4-r0", NULL, NULL);
	inv_pkg(&inv, ECO_ALPINE, "zlib", "1.2.13-r1", NULL, NULL);
	inv_pkg(&inv, ECO_ALPINE, "libcrypto3", "3.1.0-r4", "openssl", NULL);
	f = match(fx->h, &inv, &n);
	assert_null(find(&inv, f, n, "busybox", "CVE-2021-42373"));
	assert_null(find(&inv, f, n, "busybox", "CVE-2022-30065"));
	assert_null(find(&inv, f, n, "busybox", "CVE-2022-28391"));
	assert_null(find(&inv, f, n, "zlib", "CVE-2023-45853"));
	assert_null(find(&inv, f, n, "libcrypto3", "CVE-2022-1292"));
	assert_non_null(find(&inv, f, n, "busybox", "CVE-2022-48174"));
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* PyPI: introduced above installed, fixed == installed (and the
	 * record spells GitPython "gitpython"), a versions-only record,
	 * ranges below installed, GIT ranges; a pre-release with nothing. */
	inv_init(&inv);
	inv_pkg(&inv, ECO_PYPI, "GitPython", "3.1.30", NULL, NULL);
	inv_pkg(&inv, ECO_PYPI, "Send2Trash", "1.8.1b0", NULL, NULL);
	inv_pkg(&inv, ECO_PYPI, "black", "23.1.0", NULL, NULL);
	inv_pkg(&inv, ECO_PYPI, "fastapi", "0.92.0", NULL, NULL);
	inv_pkg(&inv, ECO_PYPI, "requests", "2.32.3", NULL, NULL);
	inv_pkg(&inv, ECO_PYPI, "urllib3", "2.3.0", NULL, NULL);
	f = match(fx->h, &inv, &n);
	assert_null(find(&inv, f, n, "GitPython", "GHSA-hcpj-qp55-gfph"));
	assert_null(find(&inv, f, n, "black", "GHSA-3936-cmfr-pm3m"));
	assert_null(find(&inv, f, n, "fastapi", "MAL-2026-4750"));
	assert_null(find(&inv, f, n, "fastapi", "TEST-WITHDRAWN-1"));
	assert_null(find(&inv, f, n, "requests", "PYSEC-2023-74"));
	assert_null(find(&inv, f, n, "urllib3", "PYSEC-2020-148"));
	assert_non_null(find(&inv, f, n, "fastapi", "PYSEC-2024-38"));
	for (size_t i = 0; i < n; i++)
		assert_true(strcmp(inv.pkgs[f[i].pkg].name, "GitPython") &&
			    strcmp(inv.pkgs[f[i].pkg].name, "Send2Trash"));
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* npm: fixed below installed; the SEMVER range of a package the
	 * fixture lacks (0.0.8 is its fix, 0.0.7 affected). */
	inv_init(&inv);
	inv_pkg(&inv, ECO_NPM, "lodash", "4.17.15", NULL, NULL);
	inv_pkg(&inv, ECO_NPM, "ansi-html", "0.0.8", NULL, NULL);
	inv_pkg(&inv, ECO_NPM, "ansi-html", "0.0.7", NULL, NULL);
	inv_pkg(&inv, ECO_NPM, "Lodash", "4.17.15", NULL, NULL);
	f = match(fx->h, &inv, &n);
	assert_null(find(&inv, f, n, "lodash", "GHSA-jf85-cpcp-j695"));
	assert_int_equal(n, 3); /* lodash x2, ansi-html 0.0.7 */
	assert_int_equal(f[2].pkg, 2);
	assert_string_equal(f[2].id, "GHSA-whgm-jr23-g3j9");
	assert_string_equal(f[2].fixed, "0.0.8");
	for (size_t i = 0; i < n; i++) /* npm names are exact */
		assert_string_not_equal(inv.pkgs[f[i].pkg].name, "Lodash");
	vuln_findings_free(f, n);
	inv_release(&inv);
}

/* What a finding carries: aliases (and upstream ids), severity from the
 * CVSS vector, summary, references; secdb ones a tracker link. */
static void test_finding_details(void **state)
{
	struct fx *fx = *state;
	const struct vuln_finding *v;
	struct scan_inventory inv;
	struct vuln_finding *f;
	size_t n;

	inv_init(&inv);
	inv_pkg(&inv, ECO_NPM, "semver", "7.5.1", NULL, NULL);
	inv_pkg(&inv, ECO_NPM, "lodash", "4.17.15", NULL, NULL);
	f = match(fx->h, &inv, &n);
	v = find(&inv, f, n, "semver", "GHSA-c2qf-rxjj-qqgw");
	assert_non_null(v);
	assert_string_equal(v->fixed, "7.5.2");
	assert_true(has_string(v->aliases, v->naliases, "CVE-2022-25883"));
	assert_int_equal(v->severity, SEV_MEDIUM);
	assert_true(v->cvss_score > 5.29 && v->cvss_score < 5.31);
	assert_string_equal(v->cvss_vector,
			    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L");
	assert_string_equal(v->summary,
			    "semver vulnerable to Regular Expression Denial of "
			    "Service");
	assert_true(
		has_string(v->refs, v->nrefs,
			   "https://nvd.nist.gov/vuln/detail/CVE-2022-25883"));
	v = find(&inv, f, n, "lodash", "GHSA-35jh-r3h4-6jhm");
	assert_non_null(v);
	assert_int_equal(v->severity, SEV_HIGH);
	vuln_findings_free(f, n);
	inv_release(&inv);

	inv_init(&inv);
	inv_os(&inv, "alpine", "3.18.0", NULL);
	inv_pkg(&inv, ECO_ALPINE, "musl-utils", "1.2.4-r0", "musl", NULL);
	f = match(fx->h, &inv, &n);
	assert_int_equal(n, 2);
	v = find(&inv, f, n, "musl-utils", "ALPINE-CVE-2025-26519");
	assert_non_null(v);
	assert_true(has_string(v->aliases, v->naliases, "CVE-2025-26519"));
	assert_non_null(v->summary);
	assert_non_null(strstr(v->summary, "musl libc 0.9.13"));
	v = find(&inv, f, n, "musl-utils", "CVE-2025-26519");
	assert_non_null(v);
	assert_string_equal(v->fixed, "1.2.4-r3");
	assert_int_equal(v->severity, SEV_UNKNOWN);
	assert_true(v->cvss_score < 0);
	assert_true(has_string(v->refs, v->nrefs,
			       "https://security.alpinelinux.org/vuln/"
			       "CVE-2025-26519"));
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* Debian: upstream CVE ids travel as aliases; no CVE is fine. */
	inv_init(&inv);
	inv_os(&inv, "debian", "12", NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libpcre2-8-0", "10.42-1", "pcre2", NULL);
	f = match(fx->h, &inv, &n);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].id, "DLA-4772-1");
	assert_string_equal(f[0].fixed, "10.42-1+deb12u1");
	assert_non_null(f[0].summary);
	vuln_findings_free(f, n);
	inv_release(&inv);
}

/* ~1000 packages in milliseconds: indexed lookups, reused statements. */
static void test_speed(void **state)
{
	struct fx *fx = *state;
	struct scan_inventory inv;
	struct vuln_finding *f;
	struct timespec t0, t1;
	char name[32];
	double ms;
	size_t n;

	inv_init(&inv);
	inv_os(&inv, "debian", "12", NULL);
	for (int i = 0; i < 950; i++) {
		snprintf(name, sizeof(name), "lib%d", i);
		inv_pkg(&inv, ECO_DEBIAN, name, "1.0-1", i % 3 ? NULL : "glibc",
			i % 3 ? NULL : "2.36-9+deb12u1");
	}
	for (int i = 0; i < 50; i++)
		inv_pkg(&inv, ECO_DEBIAN, "liblzma5", "5.4.1-1+deb12u1",
			"xz-utils", NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	f = match(fx->h, &inv, &n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("matched %zu packages in %.1f ms (%zu findings)\n",
		      inv.npkgs, ms, n);
	/* glibc 2.36-9+deb12u1 is below the fixes of DSA-5514/5611/5673/5678 */
	assert_int_equal(n, 317 * 4 + 50);
	assert_true(ms < 2000); /* generous for sanitizer builds */
	vuln_findings_free(f, n);
	inv_release(&inv);
}

/* --- OSV semantics on records written here
 * ------------------------------------------ */

static const char *const semantic_recs[][2] = {
	{"last.json",
	 "{\"id\":\"TEST-LAST-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"npm\",\"name\":\"left-pad\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	 "\"events\":[{\"introduced\":\"0\"},{\"last_affected\":\"1.3.0\"}]}]}]"
	 "}"},
	{"limit.json",
	 "{\"id\":\"TEST-LIMIT-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"npm\",\"name\":\"limited\"},\"ranges\":[{\"type\":\"SEMVER\","
	 "\"events\":[{\"introduced\":\"1.0.0\"},{\"limit\":\"2.0.0\"}]}]}]}"},
	{"multi.json",
	 "{\"id\":\"TEST-MULTI-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"Go\",\"name\":\"github.com/example/mod\"},\"ranges\":[{\"type\":"
	 "\"SEMVER\",\"events\":[{\"introduced\":\"2.0.0\"},{\"fixed\":\"2.0."
	 "5\"},"
	 "{\"introduced\":\"0\"},{\"fixed\":\"1.2.3\"}]}]}]}"},
	{"ubuntu.json",
	 "{\"id\":\"TEST-UBUNTU-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"Ubuntu:22.04:LTS\",\"name\":\"openssl\"},\"ranges\":[{\"type\":"
	 "\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	 "\"3.0.2-0ubuntu1.10\"}]}]},{\"package\":{\"ecosystem\":"
	 "\"Ubuntu:Pro:20.04:LTS\",\"name\":\"openssl\"},\"ranges\":[{\"type\":"
	 "\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	 "\"1.1.1f-1ubuntu2.99+esm1\"}]}]}],"
	 "\"severity\":[{\"type\":\"Ubuntu\",\"score\":\"medium\"}]}"},
	{"rhel.json",
	 "{\"id\":\"TEST-RHEL-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"Red Hat:enterprise_linux:9::appstream\",\"name\":\"openssl\"},"
	 "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	 "\"0\"},"
	 "{\"fixed\":\"1:3.0.7-17.el9_2\"}]}],\"ecosystem_specific\":{"
	 "\"severity\":\"Important\"}}]}"},
	{"versions.json", "{\"id\":\"TEST-VERSIONS-1\",\"affected\":[{"
			  "\"package\":{\"ecosystem\":"
			  "\"PyPI\",\"name\":\"Some_Package\"},\"versions\":["
			  "\"0.9\",\"1.0.0\"]}],"
			  "\"database_specific\":{\"severity\":\"moderate\"}}"},
	{"git.json",
	 "{\"id\":\"TEST-GIT-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"PyPI\",\"name\":\"gitonly\"},\"ranges\":[{\"type\":\"GIT\","
	 "\"repo\":"
	 "\"https://example.invalid/r\",\"events\":[{\"introduced\":\"0\"},"
	 "{\"fixed\":\"9b4f4e6a1c0e6f2a3b4c5d6e7f8091a2b3c4d5e6\"}]}]}]}"},
	{"maven.json",
	 "{\"id\":\"TEST-MAVEN-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"Maven\",\"name\":\"org.apache.logging.log4j:log4j-core\"},"
	 "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	 "\"2.0-beta9\"},{\"fixed\":\"2.15.0\"}]}]}],\"severity\":[{\"type\":"
	 "\"CVSS_V3\",\"score\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/"
	 "A:H\"},"
	 "{\"type\":\"CVSS_V4\",\"score\":\"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/"
	 "VC:H/VI:H/VA:H/SC:N/SI:N/SA:N\"}]}"},
	{"crates.json",
	 "{\"id\":\"TEST-CRATES-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"crates.io\",\"name\":\"smallvec\"},\"ranges\":[{\"type\":"
	 "\"SEMVER\","
	 "\"events\":[{\"introduced\":\"0.6.3\"},{\"fixed\":\"0.6.10\"}]}],"
	 "\"severity\":[{\"type\":\"CVSS_V3\",\"score\":\"not a vector\"}]}]}"},
	{"a-new.json",
	 "{\"id\":\"TEST-DUP-1\",\"modified\":\"2024-02-01T00:00:00Z\","
	 "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"dup\"},"
	 "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},"
	 "{\"fixed\":\"1.0.2\"}]}]}]}"},
	{"b-old.json",
	 "{\"id\":\"TEST-DUP-1\",\"modified\":\"2024-01-01T00:00:00Z\","
	 "\"affected\":[{\"package\":{\"ecosystem\":\"npm\",\"name\":\"dup\"},"
	 "\"ranges\":[{\"type\":\"SEMVER\",\"events\":[{\"introduced\":\"0\"},"
	 "{\"fixed\":\"1.0.1\"}]}]}]}"},
	{"array.json",
	 "[{\"id\":\"TEST-ARRAY-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"npm\",\"name\":\"arr\"},\"ranges\":[{\"type\":\"SEMVER\","
	 "\"events\":"
	 "[{\"introduced\":\"1.0.0\"},{\"fixed\":\"1.0.1\"}]}]}]},"
	 "{\"id\":\"TEST-ARRAY-2\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"npm\",\"name\":\"arr\"},\"ranges\":[{\"type\":\"SEMVER\","
	 "\"events\":"
	 "[{\"introduced\":\"1.0.1\"}]}]}]}]"},
	{"release.json",
	 "[{\"id\":\"TEST-CODENAME-1\",\"affected\":[{\"package\":"
	 "{\"ecosystem\":\"Debian:12\",\"name\":\"zlib\"},\"ranges\":[{"
	 "\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
	 "{\"fixed\":\"1:1.2.13.dfsg-2\"}]}]}]},"
	 "{\"id\":\"TEST-SUSE-1\",\"affected\":[{\"package\":"
	 "{\"ecosystem\":\"openSUSE:openSUSE Leap 15.5\",\"name\":\"curl\"},"
	 "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	 "\"0\"},{\"fixed\":\"8.0.1-150400.5.26.1\"}]}]}]},"
	 "{\"id\":\"TEST-EULER-1\",\"affected\":[{\"package\":"
	 "{\"ecosystem\":\"openEuler:22.03-LTS-SP1\",\"name\":\"bash\"},"
	 "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	 "\"0\"},{\"fixed\":\"5.1.8-7\"}]}]}]}]"},
	/* Red Hat's main stream and extended-support streams of 8.8, and
	 * AlmaLinux's own; the ratings where Red Hat and AlmaLinux write
	 * them (a classification link, the summary's first word). */
	{"streams.json",
	 "[{\"id\":\"TEST-RHEL-MAIN-1\",\"references\":[{\"type\":\"ARTICLE\","
	 "\"url\":\"https://access.redhat.com/security/updates/classification/"
	 "#moderate\"}],\"severity\":[{\"type\":\"CVSS_V3\",\"score\":"
	 "\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H\"}],\"affected\":[{"
	 "\"package\":{\"ecosystem\":\"Red Hat:enterprise_linux:8::baseos\","
	 "\"name\":\"libuuid\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	 "\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"0:2.32.1-43.el8\"}]}"
	 "]}]},"
	 "{\"id\":\"TEST-RHEL-EUS-1\",\"affected\":["
	 "{\"package\":{\"ecosystem\":\"Red Hat:rhel_eus:8.8::baseos\","
	 "\"name\":\"libuuid\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	 "\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	 "\"0:2.32.1-44.el8_8\"}]}]},"
	 "{\"package\":{\"ecosystem\":\"Red Hat:rhel_aus:8.8::baseos\","
	 "\"name\":\"libuuid\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	 "\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	 "\"0:2.32.1-44.el8_8\"}]}]},"
	 "{\"package\":{\"ecosystem\":\"Red Hat:rhel_e4s:8.8::baseos\","
	 "\"name\":\"libuuid\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	 "\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	 "\"0:2.32.1-44.el8_8\"}]}]}]},"
	 "{\"id\":\"TEST-ALMA-1\",\"summary\":\"Important: util-linux security "
	 "update\",\"affected\":[{\"package\":{\"ecosystem\":\"AlmaLinux:8\","
	 "\"name\":\"libuuid\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	 "\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"2.32.1-43.el8\"}]}"
	 "]}]},"
	 "{\"id\":\"TEST-RHEL10-1\",\"affected\":[{\"package\":{"
	 "\"ecosystem\":\"Red Hat:enterprise_linux:10.0\",\"name\":\"glibc\"},"
	 "\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":"
	 "\"0\"},{\"fixed\":\"0:2.39-40.el10\"}]}]},{\"package\":{"
	 "\"ecosystem\":\"Red Hat:enterprise_linux_eus:10.2\",\"name\":"
	 "\"glibc\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{"
	 "\"introduced\":\"0\"},{\"fixed\":\"0:2.39-41.el10_2\"}]}]}]},"
	 "{\"id\":\"TEST-WORD-1\",\"summary\":\"Critical: not a vendor's "
	 "rating\",\"affected\":[{\"package\":{\"ecosystem\":\"npm\","
	 "\"name\":\"wordy\"},\"ranges\":[{\"type\":\"SEMVER\","
	 "\"events\":[{\"introduced\":\"0\"}]}]}]}]"},
	{"rocky.json",
	 "{\"id\":\"TEST-ROCKY-1\",\"affected\":[{\"package\":{\"ecosystem\":"
	 "\"Rocky Linux:9\",\"name\":\"openssl\"},\"ranges\":[{\"type\":"
	 "\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":"
	 "\"1:3.0.7-18.el9_2\"}]}]}]}"},
};

static struct vulndb *semantic_db(struct fx *fx)
{
	char *dir = xasprintf("%s/semantic", fx->dir);
	char *db = xasprintf("%s/semantic.db", fx->dir);
	const char *paths[] = {dir};
	struct vulndb_import_stats st;
	struct err e = ERR_INIT;
	struct vulndb *h;

	mkdir(dir, 0755);
	for (size_t i = 0; i < sizeof(semantic_recs) / sizeof(*semantic_recs);
	     i++)
		write_file(dir, semantic_recs[i][0], semantic_recs[i][1]);
	assert_int_equal(import_paths(db, paths, 1, &st, NULL), 0);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.records, 21); /* TEST-DUP-1 once */
	h = vulndb_open(db, &e);
	assert_non_null(h);
	free(dir);
	free(db);
	return h;
}

struct sem_case {
	enum scan_eco eco;
	const char *os_id, *version_id, *name, *version, *src, *id, *fixed;
	bool hit;
	enum vuln_severity sev;
};

static void test_semantics(void **state)
{
	static const struct sem_case cases[] = {
		{ECO_NPM, NULL, NULL, "left-pad", "1.3.0", NULL, "TEST-LAST-1",
		 NULL, true, SEV_UNKNOWN},
		{ECO_NPM, NULL, NULL, "left-pad", "1.3.1", NULL, "TEST-LAST-1",
		 NULL, false, 0},
		{ECO_NPM, NULL, NULL, "limited", "1.5.0", NULL, "TEST-LIMIT-1",
		 NULL, true, SEV_UNKNOWN},
		{ECO_NPM, NULL, NULL, "limited", "2.1.0", NULL, "TEST-LIMIT-1",
		 NULL, false, 0},
		{ECO_NPM, NULL, NULL, "limited", "0.9.0", NULL, "TEST-LIMIT-1",
		 NULL, false, 0},
		{ECO_GO, NULL, NULL, "github.com/example/mod", "v1.2.2", NULL,
		 "TEST-MULTI-1", "1.2.3", true, SEV_UNKNOWN},
		{ECO_GO, NULL, NULL, "github.com/example/mod", "v1.5.0", NULL,
		 "TEST-MULTI-1", NULL, false, 0},
		{ECO_GO, NULL, NULL, "github.com/example/mod",
		 "v2.0.1+incompatible", NULL, "TEST-MULTI-1", "2.0.5", true,
		 SEV_UNKNOWN},
		{ECO_GO, NULL, NULL, "github.com/example/mod", "v2.0.5", NULL,
		 "TEST-MULTI-1", NULL, false, 0},
		{ECO_UBUNTU, "ubuntu", "22.04", "libssl3", "3.0.2-0ubuntu1.9",
		 "openssl", "TEST-UBUNTU-1", "3.0.2-0ubuntu1.10", true,
		 SEV_MEDIUM},
		{ECO_UBUNTU, "ubuntu", "20.04", "libssl1.1",
		 "1.1.1f-1ubuntu2.19", "openssl", "TEST-UBUNTU-1", NULL, false,
		 0},
		{ECO_RPM, "rhel", "9.2", "openssl", "1:3.0.7-16.el9_2", NULL,
		 "TEST-RHEL-1", "1:3.0.7-17.el9_2", true, SEV_HIGH},
		{ECO_RPM, "rhel", "8.9", "openssl", "1:1.1.1k-9.el8", NULL,
		 "TEST-RHEL-1", NULL, false, 0},
		{ECO_RPM, "rocky", "9.2", "openssl-libs", "1:3.0.7-16.el9_2",
		 "openssl", "TEST-ROCKY-1", "1:3.0.7-18.el9_2", true,
		 SEV_UNKNOWN},
		{ECO_RPM, "rocky", "9.2", "openssl-libs", "1:3.0.7-16.el9_2",
		 "openssl", "TEST-RHEL-1", NULL, false, 0},
		{ECO_RPM, "mariner", "2.0", "openssl", "1.1.1k-1.cm2", NULL,
		 "TEST-ROCKY-1", NULL, false, 0},
		{ECO_PYPI, NULL, NULL, "some.package", "1.0", NULL,
		 "TEST-VERSIONS-1", NULL, true, SEV_MEDIUM},
		{ECO_PYPI, NULL, NULL, "some-package", "1.0.1", NULL,
		 "TEST-VERSIONS-1", NULL, false, 0},
		{ECO_PYPI, NULL, NULL, "gitonly", "1.0", NULL, "TEST-GIT-1",
		 NULL, false, 0},
		{ECO_MAVEN, NULL, NULL, "org.apache.logging.log4j:log4j-core",
		 "2.14.1", NULL, "TEST-MAVEN-1", "2.15.0", true, SEV_CRITICAL},
		{ECO_MAVEN, NULL, NULL, "org.apache.logging.log4j:log4j-core",
		 "2.15.0", NULL, "TEST-MAVEN-1", NULL, false, 0},
		{ECO_MAVEN, NULL, NULL, "org.apache.logging.log4j:log4j-core",
		 "2.0-beta8", NULL, "TEST-MAVEN-1", NULL, false, 0},
		{ECO_CRATES, NULL, NULL, "smallvec", "0.6.9", NULL,
		 "TEST-CRATES-1", "0.6.10", true, SEV_UNKNOWN},
		{ECO_NPM, NULL, NULL, "dup", "1.0.1", NULL, "TEST-DUP-1",
		 "1.0.2", true, SEV_UNKNOWN},
		{ECO_NPM, NULL, NULL, "arr", "1.0.0", NULL, "TEST-ARRAY-1",
		 "1.0.1", true, SEV_UNKNOWN},
		{ECO_NPM, NULL, NULL, "arr", "1.0.1", NULL, "TEST-ARRAY-2",
		 NULL, true, SEV_UNKNOWN},
		{ECO_NPM, NULL, NULL, "arr", "1.0.1", NULL, "TEST-ARRAY-1",
		 NULL, false, 0},
		/* Red Hat's rating before the record's CVSS (critical). */
		{ECO_RPM, "rhel", "8.8", "libuuid", "2.32.1-42.el8_8", NULL,
		 "TEST-RHEL-MAIN-1", "0:2.32.1-43.el8", true, SEV_MEDIUM},
		{ECO_RPM, "almalinux", "8.9", "libuuid", "2.32.1-42.el8", NULL,
		 "TEST-ALMA-1", "2.32.1-43.el8", true, SEV_HIGH},
		/* A summary's word rates only a distribution's packages. */
		{ECO_NPM, NULL, NULL, "wordy", "1.0.0", NULL, "TEST-WORD-1",
		 NULL, true, SEV_UNKNOWN},
	};
	struct fx *fx = *state;
	struct vulndb *h = semantic_db(fx);

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct sem_case *c = &cases[i];
		const struct vuln_finding *v;
		struct scan_inventory inv;
		struct vuln_finding *f;
		size_t n;

		inv_init(&inv);
		inv_os(&inv, c->os_id, c->version_id, NULL);
		inv_pkg(&inv, c->eco, c->name, c->version, c->src, NULL);
		f = match(h, &inv, &n);
		v = find(&inv, f, n, c->name, c->id);
		if (!c->hit && v)
			fail_msg("case %zu: %s %s matched %s", i, c->name,
				 c->version, c->id);
		if (c->hit && !v)
			fail_msg("case %zu: %s %s missed %s", i, c->name,
				 c->version, c->id);
		if (v && (c->fixed ? !v->fixed || strcmp(v->fixed, c->fixed)
				   : v->fixed != NULL))
			fail_msg("case %zu: fixed %s, want %s", i, v->fixed,
				 c->fixed);
		if (v && v->severity != c->sev)
			fail_msg("case %zu: severity %s, want %s", i,
				 vuln_severity_name(v->severity),
				 vuln_severity_name(c->sev));
		vuln_findings_free(f, n);
		inv_release(&inv);
	}
	vulndb_free(h);
}

/* How each ecosystem's row reads the release from os-release: Debian's
 * codename without VERSION_ID, openSUSE's PRETTY_NAME, openEuler's prefix
 * ("22.03" names "22.03-LTS-SP1"); an unknown ecosystem matches nothing. */
static void test_release_rules(void **state)
{
	static const struct {
		enum scan_eco eco;
		const char *id, *version_id, *pretty, *codename;
		const char *name, *version, *src, *vid;
		bool hit;
	} cases[] = {
		{ECO_DEBIAN, "debian", NULL, NULL, "bookworm", "zlib1g",
		 "1:1.2.13.dfsg-1", "zlib", "TEST-CODENAME-1", true},
		{ECO_DEBIAN, "debian", NULL, NULL, "bullseye", "zlib1g",
		 "1:1.2.13.dfsg-1", "zlib", "TEST-CODENAME-1", false},
		{ECO_DEBIAN, "debian", "11", NULL, "bookworm", "zlib1g",
		 "1:1.2.13.dfsg-1", "zlib", "TEST-CODENAME-1", false},
		{ECO_RPM, "opensuse-leap", "15.5", "openSUSE Leap 15.5", NULL,
		 "curl", "8.0.1-150400.5.25.1", NULL, "TEST-SUSE-1", true},
		{ECO_RPM, "opensuse-leap", "15.4", "openSUSE Leap 15.4", NULL,
		 "curl", "8.0.1-150400.5.25.1", NULL, "TEST-SUSE-1", false},
		{ECO_RPM, "openEuler", "22.03", NULL, NULL, "bash", "5.1.8-6",
		 NULL, "TEST-EULER-1", true},
		{ECO_RPM, "openEuler", "22.0", NULL, NULL, "bash", "5.1.8-6",
		 NULL, "TEST-EULER-1", false},
		{ECO_UNKNOWN, "openEuler", "22.03", NULL, NULL, "bash",
		 "5.1.8-6", NULL, "TEST-EULER-1", false},
		/* RHEL: the main stream of its major release, whatever the
		 * minor; never an extended-support stream (EUS, AUS, E4S),
		 * nor a rebuild's records, nor Red Hat's for a rebuild. */
		{ECO_RPM, "rhel", "8.8", NULL, NULL, "libuuid",
		 "2.32.1-42.el8_8", NULL, "TEST-RHEL-MAIN-1", true},
		{ECO_RPM, "rhel", "8.0", NULL, NULL, "libuuid", "2.32.1-8.el8",
		 NULL, "TEST-RHEL-MAIN-1", true},
		{ECO_RPM, "rhel", "8", NULL, NULL, "libuuid", "2.32.1-8.el8",
		 NULL, "TEST-RHEL-MAIN-1", true},
		{ECO_RPM, "rhel", "8.8", NULL, NULL, "libuuid",
		 "2.32.1-42.el8_8", NULL, "TEST-RHEL-EUS-1", false},
		{ECO_RPM, "rhel", "9.2", NULL, NULL, "libuuid", "2.32.1-8.el8",
		 NULL, "TEST-RHEL-MAIN-1", false},
		{ECO_RPM, "almalinux", "8.8", NULL, NULL, "libuuid",
		 "2.32.1-42.el8_8", NULL, "TEST-RHEL-MAIN-1", false},
		/* CentOS Linux: Red Hat's main stream; CentOS Stream: no. */
		{ECO_RPM, "centos", "8", NULL, NULL, "libuuid",
		 "2.32.1-42.el8_8", NULL, "TEST-RHEL-MAIN-1", true},
		{ECO_RPM, "centos", "8", "CentOS Linux 8", NULL, "libuuid",
		 "2.32.1-42.el8_8", NULL, "TEST-RHEL-EUS-1", false},
		{ECO_RPM, "centos", "8", "CentOS Stream 8", NULL, "libuuid",
		 "2.32.1-42.el8_8", NULL, "TEST-RHEL-MAIN-1", false},
	};
	struct fx *fx = *state;
	struct vulndb *h = semantic_db(fx);

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct scan_inventory inv;
		struct vuln_finding *f;
		size_t n;
		bool hit;

		inv_init(&inv);
		inv_os(&inv, cases[i].id, cases[i].version_id, cases[i].pretty);
		if (cases[i].codename)
			inv.os.codename = xstrdup(cases[i].codename);
		inv_pkg(&inv, cases[i].eco, cases[i].name, cases[i].version,
			cases[i].src, NULL);
		f = match(h, &inv, &n);
		hit = find(&inv, f, n, cases[i].name, cases[i].vid) != NULL;
		if (hit != cases[i].hit)
			fail_msg("case %zu: %s %s %s %s", i, cases[i].name,
				 cases[i].version, hit ? "matched" : "missed",
				 cases[i].vid);
		vuln_findings_free(f, n);
		inv_release(&inv);
	}
	vulndb_free(h);
}

/* Red Hat streams from content sets (RHEL images, libuuid
 * 2.32.1-42.el8_8 or glibc 2.39-30.el10): an extended stream of the minor
 * release the set (or VERSION_ID) names, and then not the main stream;
 * the main stream's sets, or none of RHEL's, the main stream.  From RHEL
 * 10 the main stream names minor releases, the EUS one is
 * "enterprise_linux_eus". */
static void test_redhat_streams(void **state)
{
	static const struct {
		const char *version_id, *cs, *vid;
		bool hit;
	} cases[] = {
		{"8.8", "rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_8",
		 "TEST-RHEL-EUS-1", true},
		{"8.8", "rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_8",
		 "TEST-RHEL-MAIN-1", false},
		{"8.8", "rhel-8-for-x86_64-appstream-e4s-rpms",
		 "TEST-RHEL-EUS-1", true},
		{"8.6", "rhel-8-for-x86_64-baseos-aus-rpms", "TEST-RHEL-EUS-1",
		 false},
		{"8.8", "rhel-8-for-x86_64-baseos-eus-rpms__8_DOT_6",
		 "TEST-RHEL-EUS-1", false},
		{"8", "rhel-8-for-x86_64-baseos-eus-rpms", "TEST-RHEL-EUS-1",
		 false},
		{"8.8", "rhel-8-for-x86_64-baseos-rpms__8", "TEST-RHEL-MAIN-1",
		 true},
		{"8.8", "rhel-8-for-x86_64-baseos-rpms", "TEST-RHEL-EUS-1",
		 false},
		{"8.8", "rhocp-4.12-for-rhel-8-x86_64-rpms", "TEST-RHEL-MAIN-1",
		 true},
		{"10.1", NULL, "TEST-RHEL10-1", true},
		{"1", NULL, "TEST-RHEL10-1", false},
		{"10.2", "rhel-10-for-x86_64-baseos-eus-rpms__10_DOT_2",
		 "TEST-RHEL10-1", true},
		{"10.4", "rhel-10-for-x86_64-baseos-eus-rpms__10_DOT_4",
		 "TEST-RHEL10-1", false},
	};
	struct fx *fx = *state;
	struct vulndb *h = semantic_db(fx);

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		bool v10 = cases[i].version_id[0] == '1';
		const char *name = v10 ? "glibc" : "libuuid";
		struct scan_inventory inv;
		struct vuln_finding *f;
		size_t n;

		inv_init(&inv);
		inv_os(&inv, "rhel", cases[i].version_id, NULL);
		if (cases[i].cs)
			assert_true(inv_add_content_set(&inv, cases[i].cs));
		inv_pkg(&inv, ECO_RPM, name,
			v10 ? "2.39-30.el10" : "2.32.1-42.el8_8", NULL, NULL);
		f = match(h, &inv, &n);
		if ((find(&inv, f, n, name, cases[i].vid) != NULL) !=
		    cases[i].hit)
			fail_msg("case %zu: %s %s", i, cases[i].cs,
				 cases[i].vid);
		vuln_findings_free(f, n);
		inv_release(&inv);
	}
	vulndb_free(h);
}

/* The real distribution records: each affected[] row's vendor rating,
 * as the import stored it (Red Hat's classification link, AlmaLinux's
 * and Rocky's summary word; none in a bug-fix erratum, nor where a record
 * has only a CVSS vector). */
static void test_distro_ratings(void **state)
{
	static const struct {
		const char *vid, *name;
		enum vuln_severity vendor;
	} cases[] = {
		{"RHSA-2024:8709", "podman", SEV_HIGH},
		{"RHBA-2024:6202", "linux-firmware", SEV_UNKNOWN},
		{"ALSA-2022:1642", "zlib", SEV_HIGH},
		{"ALSA-2023:7877", "openssl-libs", SEV_LOW},
		{"RLSA-2024:3671", "ruby", SEV_MEDIUM},
		{"CGA-224q-ccj5-2p53", "haproxy-3.0", SEV_UNKNOWN},
		{"MGASA-2025-0124", "microcode", SEV_UNKNOWN},
	};
	struct fx *fx = *state;
	char *db = xasprintf("%s/distros.db", fx->dir);
	const char *paths[] = {"tests/data/osv-distros"};
	struct vulndb_import_stats st;
	sqlite3 *sq;
	sqlite3_stmt *q;

	assert_int_equal(import_paths(db, paths, 1, &st, NULL), 0);
	assert_int_equal(sqlite3_open_v2(db, &sq, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(sq,
					    "SELECT DISTINCT f.vendor_sev FROM "
					    "affected f JOIN advisory a ON "
					    "a.id = f.adv WHERE a.vid = ?1 AND "
					    "f.name = ?2",
					    -1, &q, NULL),
			 SQLITE_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		sqlite3_bind_text(q, 1, cases[i].vid, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, cases[i].name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW)
			fail_msg("%s %s: not stored", cases[i].vid,
				 cases[i].name);
		if (sqlite3_column_int(q, 0) != (int)cases[i].vendor)
			fail_msg("%s %s: vendor %s, want %s", cases[i].vid,
				 cases[i].name,
				 vuln_severity_name(
					 (enum vuln_severity)sqlite3_column_int(
						 q, 0)),
				 vuln_severity_name(cases[i].vendor));
		assert_int_equal(sqlite3_step(q), SQLITE_DONE);
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	sqlite3_close(sq);
	free(db);
}

/* OS packages of an OS no advisory source covers, or whose advisories
 * the DB does not hold, are named, never taken as clean; covered OSes and
 * language packages are not.  CentOS Linux is matched against Red Hat's
 * advisories, and says so; CentOS Stream is not. */
static void test_match_gap(void **state)
{
	static const struct {
		const char *id, *version_id, *pretty;
		enum scan_eco eco;
		bool with_db;
		const char *want;  /* NULL: no gap */
		const char *other; /* the note on another's advisories */
	} cases[] = {
		{"amzn", "2", NULL, ECO_RPM, false,
		 "no advisory source covers amzn 2: its 2 rpm packages were "
		 "not matched",
		 NULL},
		{"centos", "9", "CentOS Stream 9", ECO_RPM, false,
		 "no advisory source covers centos 9: its 2 rpm packages were "
		 "not matched",
		 NULL},
		{"centos", "8", "CentOS Stream 8", ECO_RPM, true,
		 "no advisory source covers centos 8: its 2 rpm packages were "
		 "not matched",
		 NULL},
		{NULL, NULL, NULL, ECO_RPM, false,
		 "no advisory source covers an OS without os-release: its 2 "
		 "rpm packages were not matched",
		 NULL},
		{"rhel", "8.8", NULL, ECO_RPM, false, NULL, NULL},
		{"sles", "15.3", NULL, ECO_RPM, false, NULL, NULL},
		{"wolfi", "20230201", NULL, ECO_WOLFI, false, NULL, NULL},
		{"amzn", "2", NULL, ECO_PYPI, false, NULL, NULL},
		/* With a DB: what it holds. */
		{"rhel", "8.8", NULL, ECO_RPM, true, NULL, NULL},
		{"rocky", "9.2", NULL, ECO_RPM, true, NULL, NULL},
		{"centos", "7", "CentOS Linux 7 (Core)", ECO_RPM, true, NULL,
		 "matched against another distribution's advisories: the 2 "
		 "rpm packages of centos 7 were matched against Red Hat's for "
		 "release 7, as a rebuild's versions track those of the "
		 "distribution it rebuilds"},
		{"mageia", "9", NULL, ECO_RPM, true,
		 "no advisory source covers mageia 9: the vulnerability DB "
		 "holds no Mageia advisories, so its 2 rpm packages were not "
		 "matched",
		 NULL},
		{"wolfi", "20230201", NULL, ECO_WOLFI, true,
		 "no advisory source covers wolfi 20230201: the vulnerability "
		 "DB holds no Wolfi advisories, so its 2 apk packages were not "
		 "matched",
		 NULL},
		{"ubuntu", "22.04", NULL, ECO_UBUNTU, true, NULL, NULL},
		{"amzn", "2", NULL, ECO_PYPI, true, NULL, NULL},
	};
	struct fx *fx = *state;
	struct vulndb *h = semantic_db(fx);

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct scan_inventory inv;
		char *gap, *other;

		inv_init(&inv);
		inv_os(&inv, cases[i].id, cases[i].version_id, cases[i].pretty);
		inv_pkg(&inv, cases[i].eco, "a", "1-1", NULL, NULL);
		inv_pkg(&inv, cases[i].eco, "b", "1-1", NULL, NULL);
		inv_pkg(&inv, ECO_NPM, "c", "1.0.0", NULL, NULL);
		gap = vulndb_match_gap(cases[i].with_db ? h : NULL, &inv);
		other = vulndb_match_other(&inv);
		if (cases[i].want)
			assert_string_equal(gap, cases[i].want);
		else
			assert_null(gap);
		if (cases[i].other)
			assert_string_equal(other, cases[i].other);
		else if (!cases[i].want && strcmp(cases[i].id, "centos"))
			assert_null(other);
		free(gap);
		free(other);
		inv_release(&inv);
	}
	vulndb_free(h);
}

/* A DB without an OS's OSV records still holds its advisories when
 * Alpine's secdb or Debian's tracker data is there. */
static void test_match_gap_other_feeds(void **state)
{
	struct fx *fx = *state;
	const char *paths[1];
	struct vulndb_import_stats st;
	struct err e = ERR_INIT;
	char *dir = xasprintf("%s/secdb-only", fx->dir);
	char *db = xasprintf("%s/secdb-only.db", fx->dir);
	struct scan_inventory inv;
	struct vulndb *h;
	char *gap;

	mkdir(dir, 0755);
	write_file(dir, "main.json",
		   "{\"distroversion\":\"v3.20\",\"reponame\":\"main\","
		   "\"packages\":[{\"pkg\":{\"name\":\"musl\",\"secfixes\":"
		   "{\"1.2.5-r1\":[\"CVE-2025-26519\"]}}}]}");
	paths[0] = dir;
	assert_int_equal(import_paths(db, paths, 1, &st, NULL), 0);
	h = vulndb_open(db, &e);
	assert_non_null(h);
	inv_init(&inv);
	inv_os(&inv, "alpine", "3.20.3", NULL);
	inv_pkg(&inv, ECO_ALPINE, "musl", "1.2.5-r0", "musl", NULL);
	assert_null(vulndb_match_gap(h, &inv));
	inv_release(&inv);
	inv_init(&inv);
	inv_os(&inv, "debian", "12", NULL);
	inv_pkg(&inv, ECO_DEBIAN, "zlib1g", "1:1.2.13.dfsg-1", "zlib", NULL);
	gap = vulndb_match_gap(h, &inv);
	assert_non_null(gap);
	assert_non_null(strstr(gap, "holds no Debian advisories"));
	free(gap);
	inv_release(&inv);
	vulndb_free(h);
	free(dir);
	free(db);
}

/* CVSS v4 is preferred over v3 when a record has both. */
static void test_severity_choice(void **state)
{
	struct fx *fx = *state;
	struct vulndb *h = semantic_db(fx);
	struct scan_inventory inv;
	struct vuln_finding *f;
	size_t n;

	inv_init(&inv);
	inv_pkg(&inv, ECO_MAVEN, "org.apache.logging.log4j:log4j-core",
		"2.14.1", NULL, NULL);
	f = match(h, &inv, &n);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].cvss_vector,
			    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/"
			    "SC:N/SI:N/SA:N");
	assert_true(f[0].cvss_score > 9.29 && f[0].cvss_score < 9.31);
	vuln_findings_free(f, n);
	inv_release(&inv);
	vulndb_free(h);

	assert_int_equal(
		vuln_severity_parse("MODERATE", &(enum vuln_severity){0}), 0);
	{
		enum vuln_severity s = SEV_UNKNOWN;

		assert_int_equal(vuln_severity_parse("low**", &s), 0);
		assert_int_equal(s, SEV_LOW);
		assert_int_equal(vuln_severity_parse("Important", &s), 0);
		assert_int_equal(s, SEV_HIGH);
		assert_int_equal(vuln_severity_parse("not yet assigned", &s),
				 -1);
		assert_string_equal(vuln_severity_name(SEV_CRITICAL),
				    "CRITICAL");
	}
}

/* --- customs db --------------------------------------------------------- */

/* Runs `customs db ...` with its stdout and stderr out of the way. */
static int run_db(int argc, const char **argv)
{
	int null = open("/dev/null", O_WRONLY), out, err, r;

	assert_true(null >= 0);
	fflush(stdout);
	fflush(stderr);
	out = dup(1);
	err = dup(2);
	dup2(null, 1);
	dup2(null, 2);
	r = scan_db_cmd_main(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return r;
}

static void test_cli(void **state)
{
	struct fx *fx = *state;
	char *db = xasprintf("%s/cli.db", fx->dir);
	char *dbopt = xasprintf("--db=%s", db);
	const char *imp[] = {"db", "import", "--db", db, ADV "alpine-secdb"};
	const char *imp2[] = {"db", "import", dbopt, ADV "alpine-secdb"};
	const char *status[] = {"db", "status", dbopt};
	const char *help[] = {"db", "--help"};
	const char *subhelp[] = {"db", "import", "--help"};
	const char *bad[] = {"db", "frobnicate"};
	const char *badopt[] = {"db", "status", "--frob"};
	const char *noargs[] = {"db", "import", dbopt};
	const char *missing[] = {"db", "status", "--db",
				 "/nonexistent/vulndb.db"};

	assert_int_equal(run_db(5, imp), 0);
	assert_int_equal(run_db(4, imp2), 0); /* unchanged */
	assert_int_equal(run_db(3, status), 0);
	assert_int_equal(run_db(2, help), 0);
	assert_int_equal(run_db(3, subhelp), 0);
	assert_int_equal(run_db(2, bad), 2);
	assert_int_equal(run_db(3, badopt), 2);
	assert_int_equal(run_db(3, noargs), 2);
	assert_int_equal(run_db(4, missing), 1);
	assert_int_equal(run_db(1, help), 2);
	free(db);
	free(dbopt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_reimport_noop),
		cmocka_unit_test(test_replace_atomic),
		cmocka_unit_test(test_import_nothing_valid),
		cmocka_unit_test(test_import_zip),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_expected_matches),
		cmocka_unit_test(test_should_not_match),
		cmocka_unit_test(test_finding_details),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_semantics),
		cmocka_unit_test(test_release_rules),
		cmocka_unit_test(test_redhat_streams),
		cmocka_unit_test(test_match_gap),
		cmocka_unit_test(test_match_gap_other_feeds),
		cmocka_unit_test(test_distro_ratings),
		cmocka_unit_test(test_severity_choice),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
