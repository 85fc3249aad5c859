/* test_detect.c: each package detector on real package databases
 * (tests/data/images, see SOURCE.md there) and on hostile input. */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <sqlite3.h>
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
#include "scanner/meter_int.h"
#include "scanner/osrelease_int.h"

#define IMAGES "tests/data/images/"

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

static char *slurp_cmd(const char *cmd, size_t *len)
{
	FILE *f = popen(cmd, "r");
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	assert_int_equal(pclose(f), 0);
	return buf_detach(&b, len);
}

static void run(enum det_kind kind, const char *path, const char *data,
		size_t len, struct det_out *out)
{
	struct det_file f = {path, "sha256:layer", data, len, NULL};

	det_out_init(out);
	det_run(kind, &f, out);
}

static void run_file(enum det_kind kind, const char *file, const char *path,
		     struct det_out *out)
{
	size_t len;
	char *data = slurp(file, &len);

	run(kind, path, data, len, out);
	free(data);
}

static const struct scan_pkg *find(const struct det_out *o, const char *name)
{
	for (size_t i = 0; i < o->inv.npkgs; i++)
		if (!strcmp(o->inv.pkgs[i].name, name))
			return &o->inv.pkgs[i];
	return NULL;
}

static void check_pkg(const struct det_out *o, const char *name,
		      const char *ver, const char *src, const char *srcver)
{
	const struct scan_pkg *p = find(o, name);

	assert_non_null(p);
	assert_string_equal(p->version, ver);
	if (src)
		assert_string_equal(p->src_name, src);
	else
		assert_null(p->src_name);
	if (srcver)
		assert_string_equal(p->src_version, srcver);
	else
		assert_null(p->src_version);
	assert_string_equal(p->layer, "sha256:layer");
}

static void test_want(void **state)
{
	struct det_want w;

	(void)state;
	assert_true(det_want_file("var/lib/dpkg/status", 0644, &w));
	assert_int_equal(w.kind, DET_DPKG);
	assert_true(det_want_file("var/lib/dpkg/status.d/base", 0644, &w));
	assert_int_equal(w.kind, DET_DPKG_D);
	assert_false(
		det_want_file("var/lib/dpkg/status.d/base.md5sums", 0644, &w));
	assert_false(det_want_file("var/lib/dpkg/status-old", 0644, &w));
	assert_true(det_want_file("lib/apk/db/installed", 0644, &w));
	assert_true(
		det_want_file("usr/lib/sysimage/rpm/rpmdb.sqlite", 0644, &w));
	assert_true(det_want_file("var/lib/rpm/Packages", 0644, &w));
	assert_int_equal(w.kind, DET_RPM_BDB);
	assert_true(det_want_file(
		"usr/lib/python3/dist-packages/a-1.dist-info/METADATA", 0644,
		&w));
	assert_true(w.prefix);
	assert_true(
		det_want_file("usr/lib/python3/x.egg-info/PKG-INFO", 0644, &w));
	assert_true(det_want_file("usr/lib/python3/x-1.0.egg-info", 0644, &w));
	assert_false(det_want_file("usr/lib/python3/METADATA", 0644, &w));
	assert_true(det_want_file("app/package-lock.json", 0644, &w));
	assert_true(
		det_want_file("app/node_modules/.package-lock.json", 0644, &w));
	assert_int_equal(w.kind, DET_NPM_LOCK);
	assert_true(
		det_want_file("app/node_modules/@s/n/package.json", 0644, &w));
	assert_int_equal(w.kind, DET_NPM_PKG);
	assert_true(det_want_file("node_modules/a/node_modules/b/package.json",
				  0644, &w));
	assert_false(
		det_want_file("app/node_modules/a/lib/package.json", 0644, &w));
	assert_false(det_want_file("app/package.json", 0644, &w));
	assert_true(det_want_file("opt/app.war", 0644, &w));
	assert_int_equal(w.kind, DET_JAVA);
	assert_true(det_want_link("etc/os-release"));
	assert_false(det_want_file("etc/passwd", 0644, &w));
	assert_true(det_want_file("usr/local/bin/node", 0755, &w));
	assert_int_equal(w.kind, DET_NODE);
	assert_true(det_want_file("nodejs/bin/node", 0755, &w));
	assert_false(det_want_file("usr/bin/node", 0755, &w));
	assert_true(det_want_file("usr/local/bin/python3.12", 0755, &w));
	assert_int_equal(w.kind, DET_PYTHON_RT);
	assert_true(
		det_want_file("usr/local/lib/libpython3.12.so.1.0", 0644, &w));
	assert_false(
		det_want_file("usr/local/bin/python3.12-config", 0755, &w));
	assert_false(det_want_file("usr/local/lib/libpython3.12.a", 0644, &w));
	assert_false(det_want_file("usr/local/bin/python3.", 0755, &w));
	assert_true(det_want_file("opt/java/openjdk/release", 0644, &w));
	assert_int_equal(w.kind, DET_JAVA_RELEASE);
	assert_true(det_want_file("usr/local/openjdk-11/release", 0644, &w));
	assert_false(det_want_file("usr/local/openjdk-11/x/release", 0644, &w));
	assert_false(det_want_file("usr/lib/jvm/java-17/release", 0644, &w));
	assert_true(det_want_file(
		"root/buildinfo/content_manifests/ubi8-container-8.8-1.json",
		0644, &w));
	assert_int_equal(w.kind, DET_CONTENT_MANIFEST);
	assert_false(det_want_file("root/buildinfo/content_manifests/a/b.json",
				   0644, &w));
	assert_false(det_want_file("root/buildinfo/content_manifests/x.txt",
				   0644, &w));
	assert_false(det_want_file("root/buildinfo/Dockerfile-ubi8-8.8-1", 0644,
				   &w));
}

static void test_dpkg_bookworm(void **state)
{
	struct det_out o;
	size_t other_src = 0, other_ver = 0;

	(void)state;
	run_file(DET_DPKG, IMAGES "debian-bookworm-minbase/var/lib/dpkg/status",
		 "var/lib/dpkg/status", &o);
	assert_int_equal(o.inv.npkgs, 88);
	assert_int_equal(o.inv.nnotes, 0);
	for (size_t i = 0; i < o.inv.npkgs; i++) {
		const struct scan_pkg *p = &o.inv.pkgs[i];

		other_src += p->src_name && strcmp(p->src_name, p->name);
		other_ver += p->src_version != NULL;
		assert_int_equal(p->eco, ECO_DEBIAN);
		assert_string_equal(p->path, "var/lib/dpkg/status");
	}
	/* The fixture README's counts: 62 other source names, 13 versions. */
	assert_int_equal(other_src, 62);
	assert_int_equal(other_ver, 13);
	check_pkg(&o, "liblzma5", "5.4.1-1+deb12u1", "xz-utils", NULL);
	check_pkg(&o, "libpcre2-8-0", "10.42-1", "pcre2", NULL);
	check_pkg(&o, "bash", "5.2.15-2+b13", "bash", "5.2.15-2");
	check_pkg(&o, "bsdutils", "1:2.38.1-5+deb12u3", "util-linux",
		  "2.38.1-5+deb12u3");
	check_pkg(&o, "adduser", "3.134", NULL, NULL);
	check_pkg(&o, "libsystemd0", "252.39-1~deb12u2", "systemd", NULL);
	det_out_release(&o);
}

static void test_dpkg_status_d(void **state)
{
	static const char distroless[] =
		"Package: libssl3\nVersion: 3.0.15-1~deb12u1\n"
		"Architecture: amd64\nSource: openssl\n";
	static const char mixed[] =
		"Package: gone\nStatus: deinstall ok config-files\nVersion: "
		"1.0\n\n"
		"Package: held\nStatus: hold ok installed\nVersion: 2.0\n\n"
		"Package: bad name\nStatus: install ok installed\nVersion: "
		"1\n\n"
		"Package: nover\nStatus: install ok installed\n\n"
		"Package: srcbad\nStatus: install ok installed\nVersion: 1\n"
		"Source: x (1.0\n";
	struct det_out o;

	(void)state;
	run(DET_DPKG_D, "var/lib/dpkg/status.d/libssl3", distroless,
	    strlen(distroless), &o);
	assert_int_equal(o.inv.npkgs, 1);
	check_pkg(&o, "libssl3", "3.0.15-1~deb12u1", "openssl", NULL);
	det_out_release(&o);
	/* In the status file a missing Status means not installed. */
	run(DET_DPKG, "var/lib/dpkg/status", distroless, strlen(distroless),
	    &o);
	assert_int_equal(o.inv.npkgs, 0);
	det_out_release(&o);
	run(DET_DPKG, "var/lib/dpkg/status", mixed, strlen(mixed), &o);
	assert_int_equal(o.inv.npkgs, 1);
	check_pkg(&o, "held", "2.0", NULL, NULL);
	assert_int_equal(o.inv.nnotes, 1);
	assert_non_null(strstr(o.inv.notes[0], "3 malformed"));
	det_out_release(&o);
}

static void test_dpkg_long_lines(void **state)
{
	struct buf b = BUF_INIT;
	struct det_out o;

	(void)state;
	buf_adds(&b, "Package: a\nStatus: install ok installed\nVersion: 1\n"
		     "Description: ");
	for (int i = 0; i < (8 << 20) / 64; i++)
		buf_adds(&b, "0123456789012345678901234567890123456789012345678"
			     "901234567890123");
	buf_adds(&b, "\n\nPackage: ");
	for (int i = 0; i < 4096; i++)
		buf_adds(&b, "n");
	buf_adds(&b, "\nStatus: install ok installed\nVersion: 1\n\n"
		     "Package: b\nStatus: install ok installed\nVersion: 2");
	run(DET_DPKG, "var/lib/dpkg/status", b.buf, b.len, &o);
	assert_int_equal(o.inv.npkgs, 2);
	check_pkg(&o, "a", "1", NULL, NULL);
	check_pkg(&o, "b", "2", NULL, NULL);
	assert_int_equal(o.inv.nnotes, 1);
	det_out_release(&o);
	buf_release(&b);
}

static void test_apk(void **state)
{
	struct det_out o;

	(void)state;
	run_file(DET_APK, IMAGES "alpine-3.10.4/lib/apk/db/installed",
		 "lib/apk/db/installed", &o);
	assert_int_equal(o.inv.npkgs, 14);
	check_pkg(&o, "libssl1.1", "1.1.1d-r2", "openssl", NULL);
	check_pkg(&o, "musl-utils", "1.1.22-r3", "musl", NULL);
	check_pkg(&o, "ssl_client", "1.30.1-r3", "busybox", NULL);
	assert_int_equal(find(&o, "musl")->eco, ECO_ALPINE);
	det_out_release(&o);
	run_file(DET_APK, IMAGES "alpine-3.18.0/lib/apk/db/installed",
		 "lib/apk/db/installed", &o);
	assert_int_equal(o.inv.npkgs, 15);
	check_pkg(&o, "libcrypto3", "3.1.0-r4", "openssl", NULL);
	check_pkg(&o, "busybox-binsh", "1.36.0-r9", "busybox", NULL);
	det_out_release(&o);
}

static void test_rpm(void **state)
{
	const char *f =
		IMAGES "rpm-cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite.xz";
	char cmd[512];
	struct det_out o;
	size_t len;
	char *db;

	(void)state;
	snprintf(cmd, sizeof(cmd), "xz -dc %s", f);
	db = slurp_cmd(cmd, &len);
	assert_int_equal(len, 3604480);
	run(DET_RPM_SQLITE, "var/lib/rpm/rpmdb.sqlite", db, len, &o);
	assert_int_equal(o.inv.npkgs, 129);
	assert_int_equal(o.inv.nnotes, 0);
	for (size_t i = 0; i < o.inv.npkgs; i++) {
		assert_int_equal(o.inv.pkgs[i].eco, ECO_RPM);
		assert_non_null(o.inv.pkgs[i].src_name);
	}
	check_pkg(&o, "openssl", "1.1.1k-7.cm2", "openssl", NULL);
	check_pkg(&o, "openssl-libs", "1.1.1k-7.cm2", "openssl", NULL);
	/* Garbage is a note, not a crash. */
	det_out_release(&o);
	memset(db + 100, 0x5a, 4096);
	run(DET_RPM_SQLITE, "var/lib/rpm/rpmdb.sqlite", db, len, &o);
	det_out_release(&o);
	run(DET_RPM_SQLITE, "var/lib/rpm/rpmdb.sqlite", "nope", 4, &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 1);
	det_out_release(&o);
	free(db);
}

/* An rpm header blob naming one package (the tags detect_rpm reads). */
static void rpm_blob(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	static const char data[] = "pkg\0"
				   "1.0\0"
				   "1\0";
	static const unsigned char hdr[] = {
		0, 0, 0, 3, 0, 0,   0, 11, 0,	0, 3, 232, 0, 0, 0, 6, 0, 0, 0,
		0, 0, 0, 0, 1, 0,   0, 3,  233, 0, 0, 0,   6, 0, 0, 0, 4, 0, 0,
		0, 1, 0, 0, 3, 234, 0, 0,  0,	6, 0, 0,   0, 8, 0, 0, 0, 1,
	};
	unsigned char b[sizeof(hdr) + 11];

	(void)argc;
	(void)argv;
	memcpy(b, hdr, sizeof(hdr));
	memcpy(b + sizeof(hdr), data, 11);
	sqlite3_result_blob(ctx, b, sizeof(b), SQLITE_TRANSIENT);
}

/* The bytes of a database made by sql (rpm_blob() available). */
static unsigned char *rpm_db(const char *sql, size_t *len)
{
	sqlite3_int64 n = 0;
	unsigned char *mem, *out;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	sqlite3_create_function(db, "rpm_blob", 0, SQLITE_UTF8, NULL, rpm_blob,
				NULL, NULL);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	mem = sqlite3_serialize(db, "main", &n, 0);
	assert_non_null(mem);
	out = xmalloc((size_t)n + 1);
	memcpy(out, mem, (size_t)n);
	sqlite3_free(mem);
	sqlite3_close(db);
	*len = (size_t)n;
	return out;
}

static void rpm_case(const char *sql, struct scan_meter *m, struct det_out *o)
{
	size_t len;
	unsigned char *db = rpm_db(sql, &len);
	struct det_file f = {"var/lib/rpm/rpmdb.sqlite", "sha256:layer",
			     (const char *)db, len, m};

	det_out_init(o);
	det_run(DET_RPM_SQLITE, &f, o);
	free(db);
}

/* Image-supplied databases: a view, a virtual table, a trigger, a WITHOUT
 * ROWID table, a huge row, and a read that outlives the deadline. */
static void test_rpm_hostile(void **state)
{
	struct scan_budget b = {0};
	struct scan_meter m;
	struct det_out o;

	(void)state;
	/* The ~450 byte attack: Packages a view over an endless CTE. */
	rpm_case("PRAGMA page_size=512;"
		 "CREATE VIEW Packages AS WITH RECURSIVE c(hnum, blob) AS"
		 " (SELECT 1, x'00' UNION ALL SELECT hnum + 1, blob || blob"
		 " FROM c) SELECT hnum, blob FROM c",
		 NULL, &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 1);
	assert_non_null(strstr(o.inv.notes[0], "Packages is not a table"));
	det_out_release(&o);
	rpm_case("CREATE VIRTUAL TABLE Packages USING fts4(hnum, blob)", NULL,
		 &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_non_null(strstr(o.inv.notes[0], "Packages is a virtual table"));
	det_out_release(&o);
	/* A trigger does not run on a read; WITHOUT ROWID reads as usual. */
	rpm_case("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);"
		 "INSERT INTO Packages VALUES (1, rpm_blob());"
		 "CREATE TABLE log (x);"
		 "CREATE TRIGGER t AFTER INSERT ON Packages BEGIN INSERT INTO"
		 " log WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1"
		 " FROM c) SELECT x FROM c; END",
		 NULL, &o);
	assert_int_equal(o.inv.npkgs, 1);
	assert_int_equal(o.inv.nnotes, 0);
	det_out_release(&o);
	rpm_case("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)"
		 " WITHOUT ROWID; INSERT INTO Packages VALUES (1, rpm_blob())",
		 NULL, &o);
	assert_int_equal(o.inv.npkgs, 1);
	check_pkg(&o, "pkg", "1.0-1", NULL, NULL);
	det_out_release(&o);
	/* A row over sqlite's length limit: a budget hit. */
	meter_init(&m, &b, 0);
	rpm_case("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);"
		 "INSERT INTO Packages VALUES (1, rpm_blob());"
		 "INSERT INTO Packages VALUES (2, zeroblob(70000000))",
		 &m, &o);
	assert_int_equal(o.inv.npkgs, 1);
	assert_true(meter_was_hit(&m, BUDGET_FILE_BYTES));
	det_out_release(&o);
	meter_release(&m);
	/* Past the deadline: the progress handler stops sqlite. */
	b.deadline_ms = 1;
	meter_init(&m, &b, meter_now_ms() - 1);
	rpm_case(
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);"
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
		" LIMIT 20000) INSERT INTO Packages SELECT x, rpm_blob() FROM "
		"c",
		&m, &o);
	assert_true(o.inv.npkgs < 20000);
	assert_true(meter_was_hit(&m, BUDGET_DEADLINE));
	assert_non_null(strstr(o.inv.notes[0], "took too long"));
	det_out_release(&o);
	meter_release(&m);
	/* The packages budget: the detector stops adding. */
	rpm_case(
		"CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);"
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
		" LIMIT 50) INSERT INTO Packages SELECT x, rpm_blob() FROM c",
		NULL, &o);
	assert_int_equal(o.inv.npkgs, 50);
	det_out_release(&o);
}

/* A lockfile jansson would spend too much on: a budget hit, not parsed. */
static void test_npm_costly(void **state)
{
	struct scan_budget b = {0};
	struct scan_meter m;
	struct det_out o;
	struct buf doc = BUF_INIT;
	struct det_file f = {"app/package-lock.json", "sha256:l", NULL, 0, &m};

	(void)state;
	meter_init(&m, &b, 0);
	for (int i = 0; i < 300; i++)
		buf_adds(&doc, "[");
	for (int i = 0; i < 300; i++)
		buf_adds(&doc, "]");
	f.data = doc.buf;
	f.len = doc.len;
	det_out_init(&o);
	det_run(DET_NPM_LOCK, &f, &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_non_null(strstr(o.inv.notes[0], "too costly"));
	assert_true(meter_was_hit(&m, BUDGET_FILE_BYTES));
	det_out_release(&o);
	meter_release(&m);
	buf_release(&doc);

	/* 3M values; brackets and commas inside strings do not count. */
	meter_init(&m, &b, 0);
	buf_adds(&doc, "{\"lockfileVersion\":3,\"x\":\"[[[,,,\\\",\",\"y\":[");
	for (int i = 0; i < 3000000; i++)
		buf_adds(&doc, "0,");
	buf_adds(&doc, "0]}");
	f.data = doc.buf;
	f.len = doc.len;
	det_out_init(&o);
	det_run(DET_NPM_LOCK, &f, &o);
	assert_true(meter_was_hit(&m, BUDGET_FILE_BYTES));
	det_out_release(&o);
	meter_release(&m);
	buf_release(&doc);

	meter_init(&m, &b, 0);
	buf_adds(&doc, "{\"lockfileVersion\":3,\"x\":\"[[[[,,,\",\"packages\":"
		       "{\"node_modules/a\":{\"version\":\"1.0.0\"}}}");
	f.data = doc.buf;
	f.len = doc.len;
	det_out_init(&o);
	det_run(DET_NPM_LOCK, &f, &o);
	assert_int_equal(o.inv.npkgs, 1);
	assert_int_equal(m.nhits, 0);
	det_out_release(&o);
	meter_release(&m);
	buf_release(&doc);
}

/* max_pkgs: what the packages budget leaves a detector. */
static void test_out_full(void **state)
{
	static const char st[] =
		"Package: a\nStatus: install ok installed\nVersion: 1\n\n"
		"Package: b\nStatus: install ok installed\nVersion: 1\n\n"
		"Package: c\nStatus: install ok installed\nVersion: 1\n";
	struct det_file f = {"var/lib/dpkg/status", "sha256:l", st,
			     sizeof(st) - 1, NULL};
	struct det_out o;

	(void)state;
	det_out_init(&o);
	o.max_pkgs = 2;
	det_run(DET_DPKG, &f, &o);
	assert_int_equal(o.inv.npkgs, 2);
	assert_true(o.full);
	det_out_release(&o);
}

static void test_rpm_bdb_note(void **state)
{
	struct det_out o;

	(void)state;
	run(DET_RPM_BDB, "var/lib/rpm/Packages", "", 0, &o);
	assert_int_equal(o.inv.nnotes, 1);
	assert_non_null(strstr(o.inv.notes[0], "BerkeleyDB"));
	det_out_release(&o);
}

static void test_python(void **state)
{
	static const char *const bookworm[][3] = {
		{"GitPython-3.1.30", "GitPython", "3.1.30"},
		{"pip-23.0.1", "pip", "23.0.1"},
		{"Send2Trash-1.8.1b0", "Send2Trash", "1.8.1b0"},
		{"black-23.1.0", "black", "23.1.0"},
		{"fastapi-0.92.0", "fastapi", "0.92.0"},
		{"../../../../../python-trixie/usr/lib/python3/dist-packages/"
		 "requests-2.32.3",
		 "requests", "2.32.3"},
		{"../../../../../python-trixie/usr/lib/python3/dist-packages/"
		 "urllib3-2.3.0",
		 "urllib3", "2.3.0"},
	};
	struct det_out o;
	char file[512];

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		snprintf(file, sizeof(file),
			 IMAGES "python-bookworm/usr/lib/python3/dist-packages/"
				"%s.dist-info/METADATA",
			 bookworm[i][0]);
		run_file(DET_PYTHON, file, "x.dist-info/METADATA", &o);
		assert_int_equal(o.inv.npkgs, 1);
		assert_string_equal(o.inv.pkgs[0].name, bookworm[i][1]);
		assert_string_equal(o.inv.pkgs[0].version, bookworm[i][2]);
		assert_int_equal(o.inv.pkgs[0].eco, ECO_PYPI);
		det_out_release(&o);
	}
	run_file(DET_PYTHON,
		 IMAGES "python-bookworm/usr/lib/python3/dist-packages/"
			"GitPython-3.1.30.dist-info/METADATA",
		 "x.dist-info/METADATA", &o);
	assert_string_equal(o.inv.pkgs[0].src_name, "gitpython");
	det_out_release(&o);
	run(DET_PYTHON, "x.egg-info/PKG-INFO",
	    "Metadata-Version: 1.0\n\nName: x\n", 34, &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 1);
	det_out_release(&o);
}

static void test_pep503(void **state)
{
	char *s;

	(void)state;
	s = eco_pep503("Foo__Bar.-baz");
	assert_string_equal(s, "foo-bar-baz");
	free(s);
}

static void test_npm_lock(void **state)
{
	struct det_out o;
	const struct scan_pkg *p;
	size_t nested = 0;

	(void)state;
	run_file(DET_NPM_LOCK, IMAGES "npm-app/package-lock.json",
		 "srv/app/package-lock.json", &o);
	assert_int_equal(o.inv.npkgs, 9);
	assert_int_equal(o.inv.nnotes, 0);
	for (size_t i = 0; i < o.inv.npkgs; i++) {
		p = &o.inv.pkgs[i];
		assert_int_equal(p->eco, ECO_NPM);
		if (!strcmp(p->name, "semver") &&
		    !strcmp(o.loc[i], "srv/app/node_modules/make-dir/"
				      "node_modules/semver")) {
			assert_string_equal(p->version, "6.3.0");
			nested++;
		}
	}
	assert_int_equal(nested, 1);
	check_pkg(&o, "lodash", "4.17.15", NULL, NULL);
	det_out_release(&o);
}

static void test_npm_v1_and_bad(void **state)
{
	static const char v1[] =
		"{\"lockfileVersion\":1,\"dependencies\":{"
		"\"a\":{\"version\":\"1.0.0\",\"dependencies\":{"
		"\"b\":{\"version\":\"2.0.0\"}}},"
		"\"c\":{\"version\":\"file:../c\"},"
		"\"@s/d\":{\"version\":\"3.0.0\"}}}";
	static const char bad[] =
		"{\"packages\": {\"node_modules/a\": {\"version\": ";
	struct det_out o;

	(void)state;
	run(DET_NPM_LOCK, "package-lock.json", v1, strlen(v1), &o);
	assert_int_equal(o.inv.npkgs, 3);
	check_pkg(&o, "b", "2.0.0", NULL, NULL);
	assert_string_equal(o.loc[1], "node_modules/a/node_modules/b");
	check_pkg(&o, "@s/d", "3.0.0", NULL, NULL);
	det_out_release(&o);
	run(DET_NPM_LOCK, "package-lock.json", bad, strlen(bad), &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 1);
	assert_non_null(strstr(o.inv.notes[0], "malformed JSON"));
	det_out_release(&o);
	run_file(DET_NPM_PKG,
		 IMAGES "npm-app/node_modules/make-dir/node_modules/semver/"
			"package.json",
		 "app/node_modules/make-dir/node_modules/semver/package.json",
		 &o);
	assert_int_equal(o.inv.npkgs, 1);
	check_pkg(&o, "semver", "6.3.0", NULL, NULL);
	assert_string_equal(o.loc[0],
			    "app/node_modules/make-dir/node_modules/semver");
	det_out_release(&o);
}

/* A zip built in memory with libarchive (no `jar` tool needed). */
static void zip_add(struct archive *a, const char *name, const void *data,
		    size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static char *zip_build(const char *const *names, const char *const *data,
		       const size_t *lens, size_t n, size_t *len)
{
	size_t cap = 1 << 20, used = 0;
	char *out = xmalloc(cap);
	struct archive *a = archive_write_new();

	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used),
			 ARCHIVE_OK);
	for (size_t i = 0; i < n; i++)
		zip_add(a, names[i], data[i],
			lens[i] ? lens[i] : strlen(data[i]));
	archive_write_close(a);
	archive_write_free(a);
	*len = used;
	return out;
}

static void test_java(void **state)
{
	static const char inner_pom[] =
		"#Generated by Maven\ngroupId=org.apache.logging.log4j\n"
		"artifactId=log4j-core\nversion=2.14.1\n";
	static const char outer_pom[] =
		"version = 1.0.0\ngroupId = com.example\nartifactId = webapp\n";
	const char *in_names[] = {"META-INF/MANIFEST.MF",
				  "META-INF/maven/org.apache.logging.log4j/"
				  "log4j-core/pom.properties"};
	const char *in_data[] = {"Manifest-Version: 1.0\n", inner_pom};
	size_t in_lens[] = {0, 0}, inner_len, war_len, out_lens[3];
	char *inner = zip_build(in_names, in_data, in_lens, 2, &inner_len);
	const char *out_names[] = {
		"META-INF/maven/com.example/webapp/pom.properties",
		"WEB-INF/lib/log4j-core-2.14.1.jar", "WEB-INF/web.xml"};
	const char *out_data[] = {outer_pom, inner, "<web-app/>"};
	char *war;
	struct det_out o;

	(void)state;
	out_lens[0] = 0;
	out_lens[1] = inner_len;
	out_lens[2] = 0;
	war = zip_build(out_names, out_data, out_lens, 3, &war_len);
	run(DET_JAVA, "opt/app/app.war", war, war_len, &o);
	assert_int_equal(o.inv.npkgs, 2);
	check_pkg(&o, "com.example:webapp", "1.0.0", NULL, NULL);
	check_pkg(&o, "org.apache.logging.log4j:log4j-core", "2.14.1", NULL,
		  NULL);
	assert_int_equal(find(&o, "com.example:webapp")->eco, ECO_MAVEN);
	assert_string_equal(find(&o, "com.example:webapp")->path,
			    "opt/app/app.war");
	det_out_release(&o);
	/* A truncated archive: a note, no crash. */
	run(DET_JAVA, "opt/app/app.war", war, war_len / 2, &o);
	assert_true(o.inv.nnotes >= 1);
	det_out_release(&o);
	free(inner);
	free(war);
}

#define RUNTIMES "tests/data/runtimes/"

/* A jar holding only the manifest text mf. */
static char *jar_of(const char *mf, size_t *len)
{
	const char *names[] = {"META-INF/MANIFEST.MF"};
	const char *data[] = {mf};
	size_t lens[] = {strlen(mf)};

	return zip_build(names, data, lens, 1, len);
}

static void check_low(const struct det_out *o, const char *name,
		      const char *ver, const char *how)
{
	const struct scan_pkg *p = find(o, name);

	check_pkg(o, name, ver, NULL, NULL);
	assert_int_equal(p->eco, ECO_MAVEN);
	assert_int_equal(p->conf, SCAN_CONF_LOW);
	assert_non_null(p->evidence);
	assert_non_null(strstr(p->evidence, how));
}

/* Jars without pom.properties: coordinates from real manifests (Debian's
 * jars), in a fat jar too; a pom.properties wins over the manifest. */
static void test_java_manifest(void **state)
{
	size_t n, io_len, lang_len, guava_len, fat_len;
	char *io = slurp(RUNTIMES "manifests/commons-io-2.11.0.MF", &n);
	char *lang = slurp(RUNTIMES "manifests/commons-lang3-3.12.0.MF", &n);
	char *guava = slurp(RUNTIMES "manifests/guava-31.1-jre.MF", &n);
	char *io_jar = jar_of(io, &io_len), *lang_jar, *guava_jar, *fat;
	const char *fat_names[] = {"META-INF/MANIFEST.MF",
				   "BOOT-INF/lib/commons-lang3-3.12.0.jar",
				   "BOOT-INF/lib/guava-31.1-jre.jar"};
	const char *fat_data[3];
	size_t fat_lens[3];
	struct det_out o;

	(void)state;
	run(DET_JAVA, "app/lib/commons-io-2.11.0.jar", io_jar, io_len, &o);
	assert_int_equal(o.inv.npkgs, 1);
	/* maven-jar-plugin writes the groupId as Implementation-Vendor-Id. */
	check_low(&o, "commons-io:commons-io", "2.11.0",
		  "group from Implementation-Vendor-Id, artifact from file "
		  "name, version from Implementation-Version");
	assert_int_equal(o.inv.nnotes, 0);
	det_out_release(&o);

	lang_jar = jar_of(lang, &lang_len);
	guava_jar = jar_of(guava, &guava_len);
	fat_data[0] = "Manifest-Version: 1.0\r\nMain-Class: app.Main\r\n";
	fat_data[1] = lang_jar;
	fat_data[2] = guava_jar;
	fat_lens[0] = 0;
	fat_lens[1] = lang_len;
	fat_lens[2] = guava_len;
	fat = zip_build(fat_names, fat_data, fat_lens, 3, &fat_len);
	run(DET_JAVA, "app/app.jar", fat, fat_len, &o);
	/* The outer manifest names no version: nothing for it. */
	assert_int_equal(o.inv.npkgs, 2);
	check_low(&o, "org.apache.commons:commons-lang3", "3.12.0",
		  "BOOT-INF/lib/commons-lang3-3.12.0.jar: MANIFEST.MF: group "
		  "from Bundle-SymbolicName");
	/* Bundle-Version "31.1.0.jre" is not the file name's "31.1-jre":
	 * the artifact comes from the symbolic name, a guess that says
	 * so (Maven's own is com.google.guava:guava 31.1-jre). */
	check_low(&o, "com.google:guava", "31.1.0.jre",
		  "artifact from Bundle-SymbolicName, version from "
		  "Bundle-Version");
	assert_string_equal(find(&o, "com.google:guava")->path, "app/app.jar");
	det_out_release(&o);
	free(fat);
	free(lang_jar);
	free(guava_jar);
	free(io_jar);
	free(io);
	free(lang);
	free(guava);
}

static void run_mf(const char *path, const char *mf, struct det_out *o)
{
	size_t len;
	char *jar = jar_of(mf, &len);

	run(DET_JAVA, path, jar, len, o);
	free(jar);
}

/* Continuation lines, OSGi parameters, a pom beside the manifest, and
 * manifests that must yield nothing. */
static void test_java_manifest_edges(void **state)
{
	static const char pom[] = "groupId=com.fasterxml.jackson.core\n"
				  "artifactId=jackson-databind\n"
				  "version=2.13.0\n";
	static const char jackson[] =
		"Manifest-Version: 1.0\r\n"
		"Bundle-SymbolicName: "
		"com.fasterxml.jackson.core.jackson-databi\r\n"
		" nd;singleton:=true\r\n"
		"Implementation-Vendor-Id: com.fasterxml.jackson.core\r\n"
		"Bundle-Version: 2.13.0\r\n"
		"\r\n"
		"Name: com/fasterxml/jackson/databind/\r\n"
		"Implementation-Version: 9.9.9\r\n";
	const char *names[] = {"META-INF/MANIFEST.MF",
			       "META-INF/maven/com.fasterxml.jackson.core/"
			       "jackson-databind/pom.properties"};
	const char *data[] = {jackson, pom};
	size_t lens[] = {0, 0}, len;
	char big[DET_MAX_FIELD + 64], *jar;
	struct det_out o;

	(void)state;
	/* Only the main section counts: the per-entry 9.9.9 is not it. */
	run_mf("opt/x.jar", jackson, &o);
	check_low(&o, "com.fasterxml.jackson.core:jackson-databind", "2.13.0",
		  "artifact from Bundle-SymbolicName");
	det_out_release(&o);

	jar = zip_build(names, data, lens, 2, &len);
	run(DET_JAVA, "opt/x.jar", jar, len, &o);
	assert_int_equal(o.inv.npkgs, 1);
	assert_int_equal(o.inv.pkgs[0].conf, SCAN_CONF_HIGH);
	assert_null(o.inv.pkgs[0].evidence);
	det_out_release(&o);
	free(jar);

	/* A signed jar's manifest: digests past the part read. */
	{
		struct buf mf = BUF_INIT;

		buf_adds(&mf, jackson);
		for (int i = 0; i < 8000; i++)
			buf_addf(&mf,
				 "Name: a/b/C%d.class\r\nSHA-256-Digest: "
				 "abcdefghijklmnopqrstuvwxyz012345\r\n\r\n",
				 i);
		run_mf("opt/x.jar", mf.buf, &o);
		assert_true(mf.len > (256u << 10));
		check_low(&o, "com.fasterxml.jackson.core:jackson-databind",
			  "2.13.0", "artifact from Bundle-SymbolicName");
		assert_int_equal(o.inv.nnotes, 0);
		det_out_release(&o);
		buf_release(&mf);
	}

	/* A version with a blank, no group at all, a value too long. */
	run_mf("opt/a-1.jar",
	       "Implementation-Version: 1 0\n"
	       "Bundle-SymbolicName: org.a\n",
	       &o);
	assert_int_equal(o.inv.npkgs, 0);
	det_out_release(&o);
	run_mf("opt/a-1.0.jar", "Implementation-Version: 1.0\n", &o);
	assert_int_equal(o.inv.npkgs, 0);
	det_out_release(&o);
	memset(big, 'a', sizeof(big));
	memcpy(big, "Implementation-Version: ", 24);
	big[sizeof(big) - 1] = '\0';
	run_mf("opt/b.jar", big, &o);
	assert_int_equal(o.inv.npkgs, 0);
	det_out_release(&o);
	/* A one-word title and a vendor id that is not a token. */
	run_mf("opt/c.jar",
	       "Implementation-Title: tool\n"
	       "Implementation-Version: 2.0\n"
	       "Implementation-Vendor-Id: Example Inc.\n"
	       "Automatic-Module-Name: org.example.tool\n",
	       &o);
	check_low(&o, "org.example:tool", "2.0",
		  "group from Automatic-Module-Name, artifact from "
		  "Automatic-Module-Name");
	det_out_release(&o);
}

static const struct scan_pkg *check_rt(const struct det_out *o,
				       const char *name, const char *ver,
				       const char *how)
{
	const struct scan_pkg *p = find(o, name);

	assert_non_null(p);
	assert_string_equal(p->version, ver);
	assert_int_equal(p->eco, ECO_RUNTIME);
	assert_int_equal(p->conf, SCAN_CONF_MEDIUM);
	assert_non_null(strstr(p->evidence, how));
	return p;
}

/* A fake ELF body with text put at off. */
static char *elf_with(const char *text, size_t tlen, size_t off, size_t len)
{
	char *d = xcalloc(1, len + 1);

	memcpy(d, "\177ELF\2\1\1", 7);
	memcpy(d + off, text, tlen);
	return d;
}

static void test_runtime_node(void **state)
{
	static const char good[] = "node.js/v20.1\0https://nodejs.org/"
				   "node.js/v20.11.0\0";
	char *d = elf_with(good, sizeof(good), 0x800, 0x1000);
	struct det_out o;

	(void)state;
	/* The first "node.js/v" has no three-part version: the next one. */
	run(DET_NODE, "usr/local/bin/node", d, 0x1000, &o);
	assert_int_equal(o.inv.npkgs, 1);
	assert_string_equal(check_rt(&o, "node", "20.11.0", "node.js/v")->path,
			    "usr/local/bin/node");
	det_out_release(&o);
	/* Cut inside the version: nothing past the end is read. */
	run(DET_NODE, "usr/local/bin/node", d, 0x800 + sizeof(good) - 5, &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 1);
	det_out_release(&o);
	/* A script at that path: no note either. */
	run(DET_NODE, "usr/local/bin/node", "#!/bin/sh\n", 10, &o);
	assert_int_equal(o.inv.npkgs + o.inv.nnotes, 0);
	det_out_release(&o);
	free(d);
}

static void test_runtime_python(void **state)
{
	static const char text[] = "\0003.11.9\0"  /* another minor */
				   "\0003.12.1x\0" /* not a version */
				   "\0003.12.1\0%.80s (%.80s) %.80s";
	static const char rc[] = "\0003.13.0rc2\0";
	static const char plus[] = "\0003.11.4+\0";
	char *d = elf_with(text, sizeof(text), 0x100, 0x400);
	struct det_out o;

	(void)state;
	run(DET_PYTHON_RT, "usr/local/lib/libpython3.12.so.1.0", d, 0x400, &o);
	assert_int_equal(o.inv.npkgs, 1);
	check_rt(&o, "python", "3.12.1", "Py_GetVersion");
	det_out_release(&o);
	/* The 3.12 binary names no 3.11 version. */
	run(DET_PYTHON_RT, "usr/local/bin/python3.11", d, 0x400, &o);
	check_rt(&o, "python", "3.11.9", "Py_GetVersion");
	det_out_release(&o);
	run(DET_PYTHON_RT, "usr/local/bin/python3.10", d, 0x400, &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 1);
	det_out_release(&o);
	free(d);
	d = elf_with(rc, sizeof(rc), 0x100, 0x200);
	run(DET_PYTHON_RT, "usr/local/bin/python3.13", d, 0x200, &o);
	check_rt(&o, "python", "3.13.0rc2", "Py_GetVersion");
	det_out_release(&o);
	/* Unterminated at the end of the file. */
	run(DET_PYTHON_RT, "usr/local/bin/python3.13", d,
	    0x100 + sizeof(rc) - 2, &o);
	assert_int_equal(o.inv.npkgs, 0);
	det_out_release(&o);
	free(d);
	d = elf_with(plus, sizeof(plus), 0x100, 0x200);
	run(DET_PYTHON_RT, "usr/local/bin/python3.11", d, 0x200, &o);
	check_rt(&o, "python", "3.11.4", "Py_GetVersion");
	det_out_release(&o);
	free(d);
}

static void test_runtime_java(void **state)
{
	static const struct {
		const char *text, *ver;
	} v[] = {
		{"JAVA_VERSION=\"1.8.0_392\"\nSEMANTIC_VERSION=\"8.0.392+8\"\n",
		 "8.0.392"},
		{"JAVA_VERSION=\"1.8.0_392\"\n", "8.0.392"},
		{"JAVA_VERSION=\"21\"\n", "21.0.0"},
		{"JAVA_VERSION=\"11.0.20.1\"\n", "11.0.20.1"},
		{"SEMANTIC_VERSION=\"bad\"\nJAVA_VERSION=\"17.0.9\"\n",
		 "17.0.9"},
		{"JAVA_VERSION=\"17.0.9 x\"\n", NULL},
		{"JAVA_VERSION=17.0.9\n", NULL},
		{"JAVA_VERSION=\"", NULL},
	};
	struct det_out o;

	(void)state;
	run_file(DET_JAVA_RELEASE,
		 RUNTIMES "java/debian-openjdk-17.0.15.release",
		 "usr/local/openjdk-17/release", &o);
	check_rt(&o, "java", "17.0.15", "release file: JAVA_VERSION (Debian)");
	det_out_release(&o);
	run_file(DET_JAVA_RELEASE, RUNTIMES "java/temurin-25.0.3.release",
		 "opt/java/openjdk/release", &o);
	check_rt(&o, "java", "25.0.3",
		 "release file: SEMANTIC_VERSION (Eclipse Adoptium)");
	det_out_release(&o);
	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		run(DET_JAVA_RELEASE, "opt/java/openjdk/release", v[i].text,
		    strlen(v[i].text), &o);
		if (v[i].ver) {
			check_rt(&o, "java", v[i].ver, "release file");
		} else {
			assert_int_equal(o.inv.npkgs, 0);
			assert_int_equal(o.inv.nnotes, 1);
		}
		det_out_release(&o);
	}
}

/* A minimal ELF64 little-endian file with one PT_LOAD segment mapping the
 * whole file at vaddr 0x400000, and Go build info at offset 0x1000. */
#define GO_VA 0x400000u
static void elf_header(unsigned char *d, size_t len)
{
	memset(d, 0, len);
	memcpy(d, "\177ELF", 4);
	d[4] = 2; /* 64-bit */
	d[5] = 1; /* little-endian */
	d[6] = 1;
	d[0x20] = 0x40; /* e_phoff */
	d[0x36] = 56;	/* e_phentsize */
	d[0x38] = 1;	/* e_phnum */
	d[0x40] = 1;	/* PT_LOAD */
	/* p_offset 0, p_vaddr GO_VA, p_filesz len */
	d[0x40 + 16 + 2] = 0x40;
	for (int i = 0; i < 8; i++)
		d[0x40 + 32 + i] = (unsigned char)(len >> (8 * i));
}

static const char modinfo[] =
	"0123456789abcdef" /* sentinel */
	"path\texample.com/app\n"
	"mod\texample.com/app\tv1.2.3\th1:abc=\n"
	"dep\tgolang.org/x/text\tv0.3.7\th1:def=\n"
	"dep\texample.com/old\tv1.0.0\n"
	"=>\texample.com/fork\tv1.0.1\th1:ghi=\n"
	"dep\texample.com/local\tv0.1.0\n"
	"=>\t../local\t\n"
	"build\t-compiler=gc\n"
	"\n0123456789abcde"; /* 16-byte sentinel ending, '\n' first */

static void check_go(const struct det_out *o)
{
	assert_int_equal(o->inv.npkgs, 5);
	check_pkg(o, "stdlib", "1.21.5", NULL, NULL);
	check_pkg(o, "example.com/app", "v1.2.3", NULL, NULL);
	check_pkg(o, "golang.org/x/text", "v0.3.7", NULL, NULL);
	check_pkg(o, "example.com/fork", "v1.0.1", NULL, NULL);
	check_pkg(o, "example.com/local", "v0.1.0", NULL, NULL);
	assert_null(find(o, "example.com/old"));
	assert_int_equal(o->inv.pkgs[0].eco, ECO_GO);
}

static void test_go_inline(void **state)
{
	static const char ver[] = "go1.21.5";
	unsigned char *d = xcalloc(1, 0x3000), *p;
	struct det_out o;

	(void)state;
	elf_header(d, 0x3000);
	p = d + 0x1000;
	memcpy(p, "\xff Go buildinf:", 14);
	p[14] = 8;
	p[15] = 2; /* inline strings */
	p += 32;
	*p++ = (unsigned char)strlen(ver);
	memcpy(p, ver, strlen(ver));
	p += strlen(ver);
	*p++ = (unsigned char)((sizeof(modinfo) - 1) | 0x80);
	*p++ = (unsigned char)((sizeof(modinfo) - 1) >> 7);
	memcpy(p, modinfo, sizeof(modinfo) - 1);
	run(DET_GO, "usr/bin/app", (char *)d, 0x3000, &o);
	check_go(&o);
	det_out_release(&o);
	/* The header at an unaligned offset is not build info. */
	memmove(d + 0x1001, d + 0x1000, 0x800);
	d[0x1000] = 0;
	run(DET_GO, "usr/bin/app", (char *)d, 0x3000, &o);
	assert_int_equal(o.inv.npkgs, 0);
	det_out_release(&o);
	free(d);
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void test_go_pointers(void **state)
{
	static const char ver[] = "go1.21.5";
	unsigned char *d = xcalloc(1, 0x3000);
	struct det_out o;

	(void)state;
	elf_header(d, 0x3000);
	memcpy(d + 0x1000, "\xff Go buildinf:", 14);
	d[0x1000 + 14] = 8;
	d[0x1000 + 15] = 0;		   /* pointers, little-endian */
	put64(d + 0x1010, GO_VA + 0x1100); /* -> string header of ver */
	put64(d + 0x1018, GO_VA + 0x1110); /* -> string header of modinfo */
	put64(d + 0x1100, GO_VA + 0x1200);
	put64(d + 0x1108, strlen(ver));
	put64(d + 0x1110, GO_VA + 0x1300);
	put64(d + 0x1118, sizeof(modinfo) - 1);
	memcpy(d + 0x1200, ver, strlen(ver));
	memcpy(d + 0x1300, modinfo, sizeof(modinfo) - 1);
	run(DET_GO, "usr/bin/app", (char *)d, 0x3000, &o);
	check_go(&o);
	det_out_release(&o);
	/* A pointer outside the file: a note, not a crash. */
	put64(d + 0x1118, 1u << 30);
	run(DET_GO, "usr/bin/app", (char *)d, 0x3000, &o);
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 1);
	det_out_release(&o);
	free(d);
}

static void test_osrelease(void **state)
{
	static const char deb[] =
		"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian "
		"GNU/Linux\"\n"
		"VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";
	struct scan_os os = {0};
	size_t len;
	char *d;

	(void)state;
	osrel_parse(deb, strlen(deb), &os);
	assert_string_equal(os.id, "debian");
	assert_string_equal(os.version_id, "12");
	assert_string_equal(os.codename, "bookworm");
	assert_string_equal(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
	assert_int_equal(osrel_dpkg_eco(&os), ECO_DEBIAN);
	free(os.id);
	free(os.version_id);
	free(os.codename);
	free(os.pretty_name);
	memset(&os, 0, sizeof(os));
	d = slurp(IMAGES "alpine-3.10.4/etc/os-release", &len);
	osrel_parse(d, len, &os);
	free(d);
	assert_string_equal(os.id, "alpine");
	assert_string_equal(os.version_id, "3.10.4");
	free(os.id);
	free(os.version_id);
	free(os.pretty_name);
	memset(&os, 0, sizeof(os));
	osrel_parse_alpine("3.18.0\n", 7, &os);
	assert_string_equal(os.id, "alpine");
	assert_string_equal(os.version_id, "3.18.0");
	free(os.id);
	free(os.version_id);
}

/* Red Hat's content manifests: the content sets, nothing else; what is
 * not a repository label is skipped and said, a file that is not JSON
 * (or too costly to parse) is a note. */
static void test_content_manifest(void **state)
{
	static const char eus[] =
		"{\"metadata\":{\"icm_version\":1},\"content_sets\":["
		"\"rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2\","
		"\"rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2\","
		"\"rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2\","
		"\"bad label\",7,\"\"],\"image_contents\":[]}";
	const char *path = "root/buildinfo/content_manifests/x.json";
	struct scan_budget b = {0};
	struct scan_meter m;
	struct buf doc = BUF_INIT;
	struct det_file f = {path, "sha256:l", NULL, 0, &m};
	struct det_out o;

	(void)state;
	run_file(DET_CONTENT_MANIFEST,
		 "tests/data/content-manifests/"
		 "ubi8-minimal-container-8.5-218.json",
		 path, &o);
	assert_int_equal(o.inv.ncontent_sets, 2);
	assert_string_equal(o.inv.content_sets[0],
			    "rhel-8-for-x86_64-baseos-rpms");
	assert_string_equal(o.inv.content_sets[1],
			    "rhel-8-for-x86_64-appstream-rpms");
	assert_int_equal(o.inv.npkgs, 0);
	assert_int_equal(o.inv.nnotes, 0);
	det_out_release(&o);

	run_file(DET_CONTENT_MANIFEST,
		 "tests/data/content-manifests/sbom-purl.json", path, &o);
	assert_int_equal(o.inv.ncontent_sets, 0);
	assert_int_equal(o.inv.nnotes, 0);
	det_out_release(&o);

	run(DET_CONTENT_MANIFEST, path, eus, strlen(eus), &o);
	assert_int_equal(o.inv.ncontent_sets, 2);
	assert_string_equal(o.inv.content_sets[1],
			    "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2");
	assert_int_equal(o.inv.nnotes, 1);
	assert_non_null(strstr(o.inv.notes[0], "3 content sets skipped"));
	det_out_release(&o);

	run(DET_CONTENT_MANIFEST, path, "broken", 6, &o);
	assert_int_equal(o.inv.ncontent_sets, 0);
	assert_non_null(strstr(o.inv.notes[0], "malformed JSON"));
	det_out_release(&o);

	run(DET_CONTENT_MANIFEST, path, "{\"content_sets\":\"x\"}", 20, &o);
	assert_int_equal(o.inv.ncontent_sets, 0);
	assert_non_null(strstr(o.inv.notes[0], "not an array"));
	det_out_release(&o);

	/* Over INV_MAX_CONTENT_SETS distinct labels: the rest skipped. */
	buf_adds(&doc, "{\"content_sets\":[");
	for (int i = 0; i < 100; i++)
		buf_addf(&doc, "%s\"repo-%d-rpms\"", i ? "," : "", i);
	buf_adds(&doc, "]}");
	run(DET_CONTENT_MANIFEST, path, doc.buf, doc.len, &o);
	assert_int_equal(o.inv.ncontent_sets, INV_MAX_CONTENT_SETS);
	assert_non_null(strstr(o.inv.notes[0], "36 content sets skipped"));
	det_out_release(&o);
	buf_release(&doc);

	/* Nested past the cap: a budget hit, not parsed. */
	meter_init(&m, &b, 0);
	for (int i = 0; i < 100; i++)
		buf_adds(&doc, "[");
	for (int i = 0; i < 100; i++)
		buf_adds(&doc, "]");
	f.data = doc.buf;
	f.len = doc.len;
	det_out_init(&o);
	det_run(DET_CONTENT_MANIFEST, &f, &o);
	assert_int_equal(o.inv.ncontent_sets, 0);
	assert_non_null(strstr(o.inv.notes[0], "too costly"));
	assert_true(meter_was_hit(&m, BUDGET_FILE_BYTES));
	det_out_release(&o);
	meter_release(&m);
	buf_release(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_want),
		cmocka_unit_test(test_dpkg_bookworm),
		cmocka_unit_test(test_dpkg_status_d),
		cmocka_unit_test(test_dpkg_long_lines),
		cmocka_unit_test(test_apk),
		cmocka_unit_test(test_rpm),
		cmocka_unit_test(test_rpm_bdb_note),
		cmocka_unit_test(test_rpm_hostile),
		cmocka_unit_test(test_npm_costly),
		cmocka_unit_test(test_out_full),
		cmocka_unit_test(test_python),
		cmocka_unit_test(test_pep503),
		cmocka_unit_test(test_npm_lock),
		cmocka_unit_test(test_npm_v1_and_bad),
		cmocka_unit_test(test_java),
		cmocka_unit_test(test_java_manifest),
		cmocka_unit_test(test_java_manifest_edges),
		cmocka_unit_test(test_runtime_node),
		cmocka_unit_test(test_runtime_python),
		cmocka_unit_test(test_runtime_java),
		cmocka_unit_test(test_go_inline),
		cmocka_unit_test(test_go_pointers),
		cmocka_unit_test(test_osrelease),
		cmocka_unit_test(test_content_manifest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
