/* The Debian Security Tracker: import (the fixture's 169 records, the two
 * verbatim samples, malformed and foreign documents) and matching (the
 * fixture image's 67 expected findings with their status and urgency, the
 * release from VERSION_ID, the status rules, DSA/DLA and DEBIAN-CVE
 * records folded into the tracker's rows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "scanner/detect_int.h"
#include "scanner/inventory_int.h"
#include "scanner/scanner.h"
#include "scanner/vulndb_int.h"
#include "tests/unit/vulndb_test.h"

#define DT "tests/data/debian-tracker/"

struct fx {
	char dir[64];
	char *db; /* tracker fixture + the Debian OSV fixtures + extra/ */
	struct vulndb_import_stats stats;
	struct vulndb *h;
};

/* --- Helpers ------------------------------------------------------------ */

/* Writes dir/name; returns its path (the caller's). */
static char *tmp_file(const char *dir, const char *name, const char *text)
{
	write_file(dir, name, text);
	return xasprintf("%s/%s", dir, name);
}

/* Imports (kind, path) pairs into db; the error message in *msg. */
static int import(const char *db, struct vulndb_input *in, size_t n,
		  struct vulndb_import_stats *st, char *msg, size_t size)
{
	struct err e = ERR_INIT;
	int r = vulndb_import_inputs(db, in, n, st, &e);

	if (msg)
		snprintf(msg, size, "%s", r < 0 ? e.msg : "");
	return r;
}

static int import_tracker(const char *db, const char *path,
			  struct vulndb_import_stats *st, char *msg,
			  size_t size)
{
	struct vulndb_input in = {path, VULNDB_DEBIAN_TRACKER, NULL, 0, 0};

	return import(db, &in, 1, st, msg, size);
}

static void inv_debian(struct scan_inventory *inv, const char *version_id,
		       const char *codename)
{
	inv->os.id = xstrdup("debian");
	inv->os.version_id = version_id ? xstrdup(version_id) : NULL;
	inv->os.codename = codename ? xstrdup(codename) : NULL;
}

/* The fixture image's packages, read by the dpkg detector. */
static void inv_fixture(struct scan_inventory *inv, const char *version_id,
			const char *codename)
{
	char *data = read_file(DT "image/var/lib/dpkg/status");
	struct det_file f = {"var/lib/dpkg/status", "sha256:0", data,
			     strlen(data), NULL};
	struct det_out out;

	det_out_init(&out);
	det_dpkg(&f, false, &out);
	inv_init(inv);
	for (size_t i = 0; i < out.inv.npkgs; i++)
		inv_add_pkg(inv, &out.inv.pkgs[i]);
	inv_debian(inv, version_id, codename);
	det_out_release(&out);
	free(data);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The answer key's status words, as the scanner reports them. */
static const char *key_status(const char *s)
{
	static const char *const map[][2] = {
		{"resolved", "fixed"},
		{"open", "affected"},
		{"no-dsa", "fix_deferred"},
		{"postponed", "fix_deferred"},
		{"ignored", "will_not_fix"},
		{"undetermined", "under_investigation"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(*map); i++)
		if (!strcmp(s, map[i][0]))
			return map[i][1];
	fail_msg("unknown status %s in the answer key", s);
	return NULL;
}

/* --- Setup -------------------------------------------------------------- */

static const char osv_extra[] =
	/* DEBIAN-CVE record of a CVE the tracker lists for sqlite3 */
	"[{\"id\":\"DEBIAN-CVE-2025-29088\",\"modified\":\"2025-04-10T00:00:"
	"00Z\","
	"\"upstream\":[\"CVE-2025-29088\"],\"affected\":[{\"package\":{"
	"\"ecosystem\":\"Debian:12\",\"name\":\"sqlite3\"},\"ranges\":[{"
	"\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"}]}]}]},"
	/* an advisory naming only a CVE the tracker does not know */
	"{\"id\":\"DSA-9999-1\",\"modified\":\"2026-01-01T00:00:00Z\","
	"\"upstream\":[\"CVE-2099-0001\"],\"affected\":[{\"package\":{"
	"\"ecosystem\":\"Debian:12\",\"name\":\"ncurses\"},\"ranges\":[{"
	"\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
	"{\"fixed\":\"6.4-4+deb12u9\"}]}]}]},"
	/* a DSA for an issue the tracker says bookworm is fixed in already */
	"{\"id\":\"DSA-9998-1\",\"modified\":\"2026-01-01T00:00:00Z\","
	"\"aliases\":[\"CVE-2024-2398\"],\"affected\":[{\"package\":{"
	"\"ecosystem\":\"Debian:12\",\"name\":\"curl\"},\"ranges\":[{"
	"\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
	"{\"fixed\":\"7.88.1-10+deb12u9\"}]}]}]}]";

static int group_setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct vulndb_input in[3] = {
		{DT "tracker-bookworm-15src.json", VULNDB_DEBIAN_TRACKER, NULL,
		 0, 0},
		{"tests/data/advisories/osv/Debian", VULNDB_OSV, NULL, 0, 0},
		{NULL, VULNDB_OSV, NULL, 0, 0},
	};
	struct err e = ERR_INIT;
	char msg[512];

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/customs-tracker-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->db = xasprintf("%s/vulndb.db", fx->dir);
	in[2].path = tmp_file(fx->dir, "extra.json", osv_extra);
	if (import(fx->db, in, 3, &fx->stats, msg, sizeof(msg)) < 0) {
		print_error("import: %s\n", msg);
		return -1;
	}
	free((char *)in[2].path);
	*state = fx;
	fx->h = vulndb_open(fx->db, &e);
	if (fx->h)
		return 0;
	print_error("open: %s\n", e.msg);
	return -1;
}

static int group_teardown(void **state)
{
	struct fx *fx = *state;

	rm_rf(fx->dir);
	vulndb_free(fx->h);
	free(fx->db);
	free(fx);
	return 0;
}

/* --- Import ------------------------------------------------------------- */

static long long count(const char *db, const char *sql)
{
	sqlite3 *s = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(s, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(s);
	return n;
}

static void test_import(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *where;
		long long n;
	} counts[] = {
		/* the fixture README's figures */
		{"tracker", 676},
		{"tracker_issue", 168},
		{"tracker_issue WHERE description IS NOT NULL", 119},
		{"tracker WHERE release = 'bookworm' AND status = 1", 64},
		{"tracker WHERE nodsa IS NOT NULL", 34},
		{"tracker WHERE nodsa_reason = 'postponed'", 4},
		{"tracker WHERE urgency = 'unimportant'", 125},
		{"tracker WHERE release = 'bullseye'", 0},
	};

	assert_int_equal(fx->stats.skipped, 0);
	for (size_t i = 0; i < sizeof(counts) / sizeof(*counts); i++) {
		char *sql =
			xasprintf("SELECT count(*) FROM %s", counts[i].where);

		if (count(fx->db, sql) != counts[i].n)
			fail_msg("%s: %lld, want %lld", sql, count(fx->db, sql),
				 counts[i].n);
		free(sql);
	}
}

static void test_samples(void **state)
{
	struct fx *fx = *state;
	char *db = xasprintf("%s/samples.db", fx->dir);
	struct vulndb_input in[2] = {
		{DT "samples/vunnel-debian.json", VULNDB_DEBIAN_TRACKER, NULL,
		 0, 0},
		{DT "samples/vuln-list-update-debian.json",
		 VULNDB_DEBIAN_TRACKER, NULL, 0, 0},
	};
	struct vulndb_import_stats st;
	char msg[512];

	if (import(db, in, 2, &st, msg, sizeof(msg)) < 0)
		fail_msg("samples: %s", msg);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(in[0].records, 6); /* chromium-browser has "[]" */
	assert_int_equal(in[1].records, 3);
	/* starred urgencies and old releases are kept as written */
	assert_int_equal(count(db,
			       "SELECT count(*) FROM tracker WHERE"
			       " urgency = 'high**' AND release = 'jessie'"),
			 1);
	assert_int_equal(count(db, "SELECT count(*) FROM tracker WHERE"
				   " urgency = 'end-of-life'"),
			 2);
	free(db);
}

static void test_hostile(void **state)
{
	struct fx *fx = *state;
	char *db = xasprintf("%s/hostile.db", fx->dir), *p;
	struct vulndb_import_stats st;
	char msg[512];
	static const char *const foreign[] = {
		"{\"id\":\"DSA-1-1\",\"affected\":[]}", /* an OSV record */
		"[{\"a\":{}}]",				/* an array */
		"{\"resultsPerPage\":1,\"vulnerabilities\":[{\"cve\":{}}]}",
		"\"tracker\"",
	};

	/* Documents that are not tracker JSON fail, saying so. */
	for (size_t i = 0; i < sizeof(foreign) / sizeof(*foreign); i++) {
		p = tmp_file(fx->dir, "foreign.json", foreign[i]);
		assert_int_equal(import_tracker(db, p, &st, msg, sizeof(msg)),
				 -1);
		assert_non_null(strstr(msg, "not Debian Security Tracker"));
		free(p);
	}
	p = tmp_file(fx->dir, "empty.json", "{}");
	assert_int_equal(import_tracker(db, p, &st, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "no Debian Security Tracker record"));
	free(p);
	p = tmp_file(fx->dir, "cut.json", "{\"curl\":{\"CVE-1\":{\"rel");
	assert_int_equal(import_tracker(db, p, &st, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "cut.json"));
	free(p);
	assert_int_equal(access(db, F_OK), -1); /* nothing was made */

	/* Malformed entries are skipped and counted, the rest stored. */
	p = tmp_file(
		fx->dir, "mixed.json",
		"{\"a\":{\"CVE-1\":{\"releases\":{\"bookworm\":{\"status\":"
		"\"open\",\"urgency\":\"low\"},\"trixie\":{\"status\":"
		"\"weird\"},\"sid\":{\"status\":\"resolved\","
		"\"fixed_version\":3}}},\"CVE-2\":5,\"CVE-3\":{\"releases\":7}}"
		","
		"\"b\":7,\"bad name\":{\"CVE-4\":{\"releases\":{}}}}");
	if (import_tracker(db, p, &st, msg, sizeof(msg)) < 0)
		fail_msg("mixed: %s", msg);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.skipped, 6);
	free(p);

	/* A bad feed later leaves the DB as it was. */
	p = tmp_file(fx->dir, "cut.json", "{\"a\":{\"CVE-1\":{\"releases\"");
	assert_int_equal(import_tracker(db, p, &st, msg, sizeof(msg)), -1);
	assert_int_equal(count(db, "SELECT count(*) FROM tracker"), 1);
	free(p);
	free(db);
}

/* --- Matching ----------------------------------------------------------- */

/* The fixture image's findings as the answer key's lines. */
static char **fixture_lines(struct vulndb *h, const char *version_id,
			    const char *codename, size_t *n)
{
	struct scan_inventory inv;
	struct vuln_finding *f;
	char **lines;

	inv_fixture(&inv, version_id, codename);
	f = match(h, &inv, n);
	lines = xcalloc(*n + 1, sizeof(*lines));
	for (size_t i = 0; i < *n; i++) {
		const struct scan_pkg *p = &inv.pkgs[f[i].pkg];

		lines[i] = xasprintf(
			"%s\t%s\t%s\t%s\t%s\t%s\t%s", p->name,
			p->src_name ? p->src_name : p->name, p->version,
			f[i].id, f[i].fixed ? f[i].fixed : "",
			vuln_status_name(f[i].status, f[i].fixed),
			f[i].vendor_rating ? f[i].vendor_rating : "");
	}
	qsort(lines, *n, sizeof(*lines), line_cmp);
	vuln_findings_free(f, *n);
	inv_release(&inv);
	return lines;
}

static char **expected_lines(size_t *n)
{
	char *text = read_file(DT "expected.tsv"), *save = NULL, *line;
	char **lines = xcalloc(128, sizeof(*lines));

	*n = 0;
	line = strtok_r(text, "\n", &save); /* the header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		char *col[7], *c = line;

		for (size_t k = 0; k < 7; k++) {
			col[k] = strsep(&c, "\t");
			assert_non_null(col[k]);
		}
		assert_true(*n < 128);
		lines[(*n)++] = xasprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", col[0],
					  col[1], col[2], col[3], col[4],
					  key_status(col[5]), col[6]);
	}
	qsort(lines, *n, sizeof(*lines), line_cmp);
	free(text);
	return lines;
}

static void free_lines(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static void assert_answer_key(struct vulndb *h, const char *version_id,
			      const char *codename)
{
	size_t na, ne;
	char **a = fixture_lines(h, version_id, codename, &na);
	char **x = expected_lines(&ne);

	assert_int_equal(ne, 67);
	for (size_t i = 0; i < na || i < ne; i++) {
		const char *got = i < na ? a[i] : "(none)";
		const char *want = i < ne ? x[i] : "(none)";

		if (strcmp(got, want))
			fail_msg("finding %zu:\n got  %s\n want %s", i, got,
				 want);
	}
	free_lines(a, na);
	free_lines(x, ne);
}

static void test_answer_key(void **state)
{
	struct fx *fx = *state;

	assert_answer_key(fx->h, "12", "bookworm");
	/* Without VERSION_CODENAME the release comes from VERSION_ID. */
	assert_answer_key(fx->h, "12", NULL);
}

static void test_summary_counts(void **state)
{
	struct fx *fx = *state;
	struct scan_inventory inv;
	struct vuln_finding *f;
	size_t n, st[8] = {0}, unimportant = 0, low = 0;

	inv_fixture(&inv, "12", "bookworm");
	f = match(fx->h, &inv, &n);
	for (size_t i = 0; i < n; i++) {
		st[f[i].status]++;
		assert_string_equal(f[i].vendor, "debian");
		if (!strcmp(f[i].vendor_rating, "unimportant")) {
			unimportant++;
			low += f[i].severity == SEV_LOW;
		}
	}
	/* by (binary package, issue): libcurl4 and curl share their 6 */
	assert_int_equal(st[VULN_FIXED], 15);
	assert_int_equal(st[VULN_AFFECTED], 30 + 3);
	assert_int_equal(st[VULN_FIX_DEFERRED], 13 + 3 + 3);
	assert_int_equal(unimportant, 18 + 1);
	assert_int_equal(low, unimportant); /* reported, as low */
	vuln_findings_free(f, n);
	inv_release(&inv);
}

/* Releases the tracker does not have (bullseye here) or other systems
 * leave OSV matching alone. */
static void test_other_release(void **state)
{
	struct fx *fx = *state;
	struct scan_inventory inv;
	struct vuln_finding *f;
	size_t n;

	inv_init(&inv);
	inv_debian(&inv, "11", "bullseye");
	inv_pkg(&inv, ECO_DEBIAN, "libc6", "2.31-13+deb11u2", "glibc", NULL);
	f = match(fx->h, &inv, &n);
	assert_non_null(find(&inv, f, n, "libc6", "DSA-5514-1"));
	assert_null(find(&inv, f, n, "libc6", "CVE-2023-4911"));
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* Each release its own entries: CVE-2024-8096 is no-dsa in
	 * bookworm, fixed in trixie by 8.10.0-1. */
	inv_init(&inv);
	inv_debian(&inv, NULL, "trixie");
	inv_pkg(&inv, ECO_DEBIAN, "curl", "8.14.1-2+deb13u7", NULL, NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libcurl4t64", "8.9.1-2", "curl", NULL);
	f = match(fx->h, &inv, &n);
	assert_null(find(&inv, f, n, "curl", "CVE-2024-8096"));
	assert_int_equal(
		find(&inv, f, n, "libcurl4t64", "CVE-2024-8096")->status,
		VULN_FIXED);
	vuln_findings_free(f, n);
	inv_release(&inv);
}

static void test_merge(void **state)
{
	struct fx *fx = *state;
	struct scan_inventory inv;
	const struct vuln_finding *v;
	struct vuln_finding *f;
	size_t n;

	inv_init(&inv);
	inv_debian(&inv, "12", "bookworm");
	inv_pkg(&inv, ECO_DEBIAN, "libc6", "2.36-9+deb12u3", "glibc", NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libsqlite3-0", "3.40.1-2+deb12u1", "sqlite3",
		NULL);
	inv_pkg(&inv, ECO_DEBIAN, "curl", "7.88.1-10+deb12u6", NULL, NULL);
	inv_pkg(&inv, ECO_DEBIAN, "libncursesw6", "6.4-4", "ncurses", NULL);
	f = match(fx->h, &inv, &n);
	for (size_t i = 0; i < n; i++)
		if (strncmp(f[i].id, "CVE-", 4) && strncmp(f[i].id, "TEMP-", 5))
			assert_string_equal(f[i].id, "DSA-9999-1");
	/* DSA-5611-1 fixes CVE-2023-6246 (tracked) and -6779, -6780 (not in
	 * the fixture's tracker data): one row each, the DSA an alias. */
	v = find(&inv, f, n, "libc6", "CVE-2023-6246");
	assert_non_null(v);
	assert_true(has_string(v->aliases, v->naliases, "DSA-5611-1"));
	assert_int_equal(v->status, VULN_FIXED);
	assert_string_equal(v->fixed, "2.36-9+deb12u4");
	v = find(&inv, f, n, "libc6", "CVE-2023-6779");
	assert_non_null(v);
	assert_true(has_string(v->aliases, v->naliases, "DSA-5611-1"));
	assert_string_equal(v->fixed, "2.36-9+deb12u4");
	v = find(&inv, f, n, "libc6", "CVE-2024-33602");
	assert_non_null(v);
	assert_true(has_string(v->aliases, v->naliases, "DSA-5678-1"));
	/* DEBIAN-CVE-2025-29088 is the tracker's CVE-2025-29088 */
	v = find(&inv, f, n, "libsqlite3-0", "CVE-2025-29088");
	assert_non_null(v);
	assert_true(
		has_string(v->aliases, v->naliases, "DEBIAN-CVE-2025-29088"));
	assert_int_equal(v->status, VULN_AFFECTED);
	assert_null(find(&inv, f, n, "libsqlite3-0", "DEBIAN-CVE-2025-29088"));
	/* an advisory of CVEs the tracker does not know stays as it is */
	v = find(&inv, f, n, "libncursesw6", "DSA-9999-1");
	assert_non_null(v);
	assert_int_equal(v->status, VULN_STATUS_UNSET);
	assert_string_equal(vuln_status_name(v->status, v->fixed), "fixed");
	/* the tracker says curl is fixed for CVE-2024-2398: no row at all */
	assert_null(find(&inv, f, n, "curl", "DSA-9998-1"));
	assert_null(find(&inv, f, n, "curl", "CVE-2024-2398"));
	vuln_findings_free(f, n);
	inv_release(&inv);
}

static const char rules_json[] =
	"{\"pkg\":{"
	"\"CVE-2000-0001\":{\"releases\":{\"bookworm\":{\"status\":\"open\","
	"\"urgency\":\"low**\",\"nodsa\":\"Minor\",\"nodsa_reason\":"
	"\"ignored\"}}},"
	"\"CVE-2000-0002\":{\"releases\":{\"bookworm\":{\"status\":"
	"\"undetermined\",\"urgency\":\"not yet assigned\"}}},"
	"\"CVE-2000-0003\":{\"releases\":{\"bookworm\":{\"status\":\"open\","
	"\"urgency\":\"end-of-life\"}}},"
	"\"CVE-2000-0004\":{\"releases\":{\"bookworm\":{\"status\":"
	"\"resolved\",\"fixed_version\":\"0\",\"urgency\":\"unimportant\"}}},"
	"\"CVE-2000-0005\":{\"releases\":{\"bookworm\":{\"status\":"
	"\"resolved\",\"fixed_version\":\"1:1.0-2\",\"urgency\":\"high**\","
	"\"nodsa\":\"Minor\",\"nodsa_reason\":\"\"}}},"
	"\"CVE-2000-0006\":{\"releases\":{\"bookworm\":{\"status\":"
	"\"resolved\",\"fixed_version\":\"1.0-9\",\"urgency\":\"medium\"}}},"
	"\"CVE-2000-0007\":{\"releases\":{\"bookworm\":{\"status\":\"open\","
	"\"urgency\":\"high\",\"nodsa\":\"\",\"nodsa_reason\":\"postponed\"}}},"
	"\"CVE-2000-0008\":{\"releases\":{\"trixie\":{\"status\":\"open\","
	"\"urgency\":\"high\"}}}}}";

static void test_rules(void **state)
{
	struct fx *fx = *state;
	char *db = xasprintf("%s/rules.db", fx->dir), *p;
	struct vulndb_import_stats st;
	struct scan_inventory inv;
	const struct vuln_finding *v;
	struct vuln_finding *f;
	struct vulndb *h;
	struct err e = ERR_INIT;
	char msg[512];
	size_t n;

	p = tmp_file(fx->dir, "rules.json", rules_json);
	if (import_tracker(db, p, &st, msg, sizeof(msg)) < 0)
		fail_msg("rules: %s", msg);
	h = vulndb_open(db, &e);
	assert_non_null(h);
	inv_init(&inv);
	inv_debian(&inv, "12", "bookworm");
	/* binary epoch 1:, source 1.0-3 (no epoch): 1.0-3 < 1:1.0-2 */
	inv_pkg(&inv, ECO_DEBIAN, "libpkg1", "1:1.0-3", "pkg", "1.0-3");
	f = match(h, &inv, &n);
	assert_int_equal(n, 6);
	v = find(&inv, f, n, "libpkg1", "CVE-2000-0001");
	assert_int_equal(v->status, VULN_WILL_NOT_FIX);
	assert_int_equal(v->severity, SEV_LOW);
	assert_string_equal(v->vendor_rating, "low**");
	assert_int_equal(v->vendor_severity, SEV_LOW);
	assert_null(v->fixed);
	v = find(&inv, f, n, "libpkg1", "CVE-2000-0002");
	assert_int_equal(v->status, VULN_UNDER_INVESTIGATION);
	assert_int_equal(v->severity, SEV_UNKNOWN);
	v = find(&inv, f, n, "libpkg1", "CVE-2000-0003");
	assert_int_equal(v->status, VULN_END_OF_LIFE);
	assert_null(find(&inv, f, n, "libpkg1", "CVE-2000-0004"));
	v = find(&inv, f, n, "libpkg1", "CVE-2000-0005");
	assert_int_equal(v->status, VULN_FIXED); /* no-dsa, fixed in a point
						  * release */
	assert_string_equal(v->fixed, "1:1.0-2");
	assert_int_equal(v->severity, SEV_HIGH);
	v = find(&inv, f, n, "libpkg1", "CVE-2000-0006");
	assert_int_equal(v->status, VULN_FIXED);
	assert_string_equal(vuln_status_name(v->status, v->fixed), "fixed");
	v = find(&inv, f, n, "libpkg1", "CVE-2000-0007");
	assert_int_equal(v->status, VULN_FIX_DEFERRED);
	assert_string_equal(vuln_status_name(v->status, v->fixed),
			    "fix_deferred");
	assert_null(find(&inv, f, n, "libpkg1", "CVE-2000-0008"));
	assert_string_equal(vuln_status_name(VULN_STATUS_UNSET, NULL),
			    "affected");
	vuln_findings_free(f, n);
	inv_release(&inv);

	/* Installed at the fix: nothing; Ubuntu packages: not the tracker's */
	inv_init(&inv);
	inv_debian(&inv, "12", "bookworm");
	inv_pkg(&inv, ECO_DEBIAN, "libpkg1", "1:1.0-9", "pkg", "1:1.0-9");
	f = match(h, &inv, &n);
	assert_null(find(&inv, f, n, "libpkg1", "CVE-2000-0005"));
	assert_null(find(&inv, f, n, "libpkg1", "CVE-2000-0006"));
	vuln_findings_free(f, n);
	inv.pkgs[0].eco = ECO_UBUNTU;
	f = match(h, &inv, &n);
	assert_int_equal(n, 0);
	vuln_findings_free(f, n);
	inv_release(&inv);
	vulndb_free(h);
	free(p);
	free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import),
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_answer_key),
		cmocka_unit_test(test_summary_counts),
		cmocka_unit_test(test_other_release),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_rules),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
