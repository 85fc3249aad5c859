/* NVD CVE API 2.0 import and severities: the fixture feed, its records
 * one file each and an API page against the answer key
 * (tests/data/feeds/nvd/nvd_scores.tsv); a history snapshot and the main
 * feed in both orders; the rejected CVE absent; Ubuntu priorities of real
 * Ubuntu OSV records; and the choice of a finding's severity (vendor >
 * NVD > advisory > unknown, or NVD first). */
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
#include "scanner/eco_int.h"
#include "scanner/scanner.h"
#include "scanner/vulndb_int.h"

#define NVD  "tests/data/feeds/nvd/"
#define UBU  "tests/data/feeds/ubuntu-osv/"
#define CISA "134c704f-9b21-4f2e-91b3-4a467353bcc0"

struct fx {
	char dir[64];
	char *feed_db;	  /* the gz feed */
	char *records_db; /* records/, one bare record per file */
	char *ubuntu_db;  /* ubuntu-osv/ + the gz feed */
};

static char *import(struct fx *fx, const char *name, struct vulndb_input *in,
		    size_t n)
{
	char *db = xasprintf("%s/%s", fx->dir, name);
	struct vulndb_import_stats st;
	struct err e = ERR_INIT;

	if (vulndb_import_inputs(db, in, n, &st, &e) < 0)
		fail_msg("import %s: %s", name, e.msg);
	return db;
}

static int group_setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct vulndb_input feed = {NVD "nvdcve-2.0-fixture.json.gz",
				    VULNDB_NVD, NULL, 0, 0};
	struct vulndb_input recs = {NVD "records", VULNDB_NVD, NULL, 0, 0};
	struct vulndb_input ubu[3] = {
		{UBU "canonical", VULNDB_AUTO, NULL, 0, 0},
		{UBU "vunnel", VULNDB_AUTO, NULL, 0, 0},
		{NVD "nvdcve-2.0-fixture.json.gz", VULNDB_NVD, NULL, 0, 0}};

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/customs-nvd-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	fx->feed_db = import(fx, "feed.db", &feed, 1);
	assert_int_equal(feed.records, 90); /* 91, one rejected */
	fx->records_db = import(fx, "records.db", &recs, 1);
	assert_int_equal(recs.records, 90);
	fx->ubuntu_db = import(fx, "ubuntu.db", ubu, 3);
	assert_int_equal(ubu[0].records + ubu[1].records, 28);
	*state = fx;
	return 0;
}

static int group_teardown(void **state)
{
	struct fx *fx = *state;
	char *cmd = xasprintf("rm -rf %s", fx->dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(fx->feed_db);
	free(fx->records_db);
	free(fx->ubuntu_db);
	free(fx);
	return 0;
}

/* --- The answer key ------------------------------------------------------ */

static sqlite3 *db_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	return db;
}

/* sql prepared with ?1 = a and ?2 = b (or NULL: unbound). */
static sqlite3_stmt *query2(sqlite3 *db, const char *sql, const char *a,
			    const char *b)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	return st;
}

/* "score/SEVERITY" of cve's metric of version (the best v3.x when version
 * is "3"), with its source in src; "" when there is none. */
static void db_metric(sqlite3 *db, const char *cve, const char *version,
		      char *out, size_t n, char *src, size_t srcn)
{
	sqlite3_stmt *st = query2(db,
				  "SELECT score, severity, source FROM nvd_cvss"
				  " WHERE cve = ?1 AND version GLOB ?2"
				  " ORDER BY rank DESC, version DESC",
				  cve, !strcmp(version, "3") ? "3.*" : version);

	out[0] = '\0';
	if (src)
		src[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, n, "%.1f/%s", sqlite3_column_double(st, 0),
			 vuln_severity_name((
				 enum vuln_severity)sqlite3_column_int(st, 1)));
		if (src)
			snprintf(src, srcn, "%s", sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
}

static long db_count(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = query2(db, sql, arg, NULL);
	long n = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Checks every row of nvd_scores.tsv against the DB at path. */
static void check_answer_key(const char *path)
{
	FILE *f = fopen(NVD "nvd_scores.tsv", "r");
	sqlite3 *db = db_open(path);
	char line[1024];
	size_t rows = 0;

	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f)); /* header */
	while (fgets(line, sizeof(line), f)) {
		char *col[11] = {0}, *p = line, got[64], src[128], want[64];
		size_t n = 0;

		line[strcspn(line, "\n")] = '\0';
		while (n < 11) {
			col[n++] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (n < 11 || !strcmp(col[1], "NOT-IN-NVD"))
			continue;
		rows++;
		if (!strcmp(col[1], "Rejected")) {
			assert_int_equal(db_count(db,
						  "SELECT count(*) FROM nvd"
						  " WHERE cve = ?1",
						  col[0]),
					 0);
			assert_int_equal(db_count(db,
						  "SELECT count(*) FROM"
						  " nvd_cvss WHERE cve = ?1",
						  col[0]),
					 0);
			continue;
		}
		assert_int_equal(db_count(db,
					  "SELECT count(*) FROM nvd WHERE"
					  " cve = ?1",
					  col[0]),
				 1);
		/* best_v3_score, _severity, _source "kind:source" */
		db_metric(db, col[0], "3", got, sizeof(got), src, sizeof(src));
		snprintf(want, sizeof(want), "%s%s%s", col[2],
			 *col[2] ? "/" : "", col[3]);
		if (strcmp(got, want))
			fail_msg("%s: best v3 %s, want %s", col[0], got, want);
		if (*col[4] && strcmp(src, strchr(col[4], ':') + 1))
			fail_msg("%s: v3 from %s, want %s", col[0], src,
				 col[4]);
		db_metric(db, col[0], "2.0", got, sizeof(got), NULL, 0);
		if (strcmp(got, col[9]))
			fail_msg("%s: v2 %s, want %s", col[0], got, col[9]);
		db_metric(db, col[0], "4.0", got, sizeof(got), NULL, 0);
		if (strcmp(got, col[10]))
			fail_msg("%s: v4.0 %s, want %s", col[0], got, col[10]);
	}
	assert_int_equal(rows, 91);
	fclose(f);
	sqlite3_close(db);
}

static void test_feed_answer_key(void **state)
{
	struct fx *fx = *state;

	check_answer_key(fx->feed_db);
}

/* The same records, each file a bare "cve" object. */
static void test_records_answer_key(void **state)
{
	struct fx *fx = *state;

	check_answer_key(fx->records_db);
}

/* CISA-ADP's rating is kept as such, never as NVD's. */
static void test_adp_not_nvd(void **state)
{
	struct fx *fx = *state;
	sqlite3 *db = db_open(fx->feed_db);

	assert_int_equal(db_count(db,
				  "SELECT count(*) FROM nvd_cvss WHERE"
				  " source = '" CISA "' AND rank = 1",
				  NULL) > 10,
			 1);
	assert_int_equal(db_count(db,
				  "SELECT count(*) FROM nvd_cvss WHERE"
				  " source = '" CISA "' AND rank > 1",
				  NULL),
			 0);
	/* CVE-2023-45853: NVD 9.8 beside CISA-ADP's 8.8. */
	assert_int_equal(db_count(db,
				  "SELECT count(*) FROM nvd_cvss WHERE cve = ?1"
				  " AND version = '3.1' AND score = 9.8 AND"
				  " source = 'nvd@nist.gov'",
				  "CVE-2023-45853"),
			 1);
	sqlite3_close(db);
}

/* An NVD API page (same envelope, pretty-printed). */
static void test_api_page(void **state)
{
	struct fx *fx = *state;
	struct vulndb_input in = {NVD "api/vunnel-single-entry.json",
				  VULNDB_NVD, NULL, 0, 0};
	char *path = import(fx, "api.db", &in, 1);
	sqlite3 *db = db_open(path);

	assert_int_equal(in.records, 1);
	assert_int_equal(
		db_count(db, "SELECT count(*) FROM nvd_cvss WHERE cve = ?1",
			 "CVE-2022-1576") > 0,
		1);
	sqlite3_close(db);
	free(path);
}

/* --- Which copy wins ------------------------------------------------------ */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *nvd_doc(const char *mod, const char *status, double score)
{
	return xasprintf(
		"{\"format\":\"NVD_CVE\",\"vulnerabilities\":[{\"cve\":{"
		"\"id\":\"CVE-2099-0001\",\"sourceIdentifier\":\"cna@x\","
		"\"lastModified\":\"%s\",\"vulnStatus\":\"%s\",\"metrics\":{"
		"\"cvssMetricV31\":[{\"source\":\"nvd@nist.gov\",\"type\":"
		"\"Primary\",\"cvssData\":{\"version\":\"3.1\","
		"\"vectorString\":"
		"\"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/"
		"A:N\",\"baseScore\":"
		"%.1f,\"baseSeverity\":\"X\"}}]}}}]}",
		mod, status, score);
}

static double one_score(const char *path, const char *cve)
{
	sqlite3 *db = db_open(path);
	sqlite3_stmt *st = query2(
		db, "SELECT score FROM nvd_cvss WHERE cve = ?1", cve, NULL);
	double s = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		s = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return s;
}

/* The later lastModified wins, in either order; a rejection drops an
 * older copy and is not undone by one read later. */
static void test_newer_wins(void **state)
{
	struct fx *fx = *state;
	char *old = xasprintf("%s/old.json", fx->dir);
	char *new = xasprintf("%s/new.json", fx->dir);
	char *rej = xasprintf("%s/rej.json", fx->dir);
	char *d;
	struct vulndb_input in[2] = {{old, VULNDB_NVD, NULL, 0, 0},
				     {new, VULNDB_NVD, NULL, 0, 0}};
	char *db;

	d = nvd_doc("2024-01-01T00:00:00.000", "Analyzed", 5.3);
	write_text(old, d);
	free(d);
	d = nvd_doc("2025-06-01T00:00:00.000", "Modified", 7.5);
	write_text(new, d);
	free(d);
	d = nvd_doc("2025-07-01T00:00:00.000", "Rejected", 9.9);
	write_text(rej, d);
	free(d);
	db = import(fx, "order1.db", in, 2);
	assert_true(one_score(db, "CVE-2099-0001") == 7.5);
	free(db);
	in[0].path = new;
	in[1].path = old;
	db = import(fx, "order2.db", in, 2);
	assert_true(one_score(db, "CVE-2099-0001") == 7.5);
	free(db);
	/* Unknown "baseSeverity" words give way to the score's band. */
	{
		struct vulndb *h;
		struct err e = ERR_INIT;
		struct vuln_finding f = {0};

		db = xasprintf("%s/order2.db", fx->dir);
		h = vulndb_open(db, &e);
		assert_non_null(h);
		f.id = xstrdup("CVE-2099-0001");
		f.cvss_score = -1;
		assert_int_equal(vuln_rate(h, &f, 1, &e), 0);
		assert_int_equal(f.severity, SEV_HIGH);
		free(f.id);
		vuln_cvss_free(f.cvss, f.ncvss);
		vulndb_free(h);
		free(db);
	}
	/* Rejected after, or before, the older copy (with the fixture
	 * feed, so that the DB is not empty). */
	{
		struct vulndb_input in3[3] = {{rej, VULNDB_NVD, NULL, 0, 0},
					      {old, VULNDB_NVD, NULL, 0, 0},
					      {NVD "nvdcve-2.0-fixture.json.gz",
					       VULNDB_NVD, NULL, 0, 0}};

		db = import(fx, "rej1.db", in3, 3);
		assert_true(one_score(db, "CVE-2099-0001") < 0);
		free(db);
		in3[0].path = old;
		in3[1].path = rej;
		db = import(fx, "rej2.db", in3, 3);
		assert_true(one_score(db, "CVE-2099-0001") < 0);
		free(db);
	}
	free(old);
	free(new);
	free(rej);
}

/* The fixtures' history: CVE-2023-52071 as analysed in 2024 (v3.1 5.3),
 * then rejected in the main feed; gone in both orders. */
static void test_history_snapshot(void **state)
{
	struct fx *fx = *state;
	struct vulndb_input in[2] = {
		{NVD "history/nvdcve-2.0-older-snapshot.json.gz", VULNDB_NVD,
		 NULL, 0, 0},
		{NVD "nvdcve-2.0-fixture.json.gz", VULNDB_NVD, NULL, 0, 0}};
	struct vulndb_input alone = in[0];
	char *db;

	db = import(fx, "hist-alone.db", &alone, 1);
	assert_true(one_score(db, "CVE-2023-52071") == 5.3);
	free(db);
	db = import(fx, "hist1.db", in, 2);
	assert_true(one_score(db, "CVE-2023-52071") < 0);
	assert_true(one_score(db, "CVE-2023-45853") == 9.8);
	free(db);
	alone = in[0];
	in[0] = in[1];
	in[1] = alone;
	db = import(fx, "hist2.db", in, 2);
	assert_true(one_score(db, "CVE-2023-52071") < 0);
	free(db);
}

/* Hostile and wrong inputs: not JSON fails the import and names the
 * file; a record without an id is skipped; a file of another kind gives
 * no record. */
static void test_bad_inputs(void **state)
{
	struct fx *fx = *state;
	char *p = xasprintf("%s/bad.json", fx->dir);
	char *db = xasprintf("%s/bad.db", fx->dir);
	struct vulndb_input in = {p, VULNDB_NVD, NULL, 0, 0};
	struct vulndb_import_stats st;
	struct err e = ERR_INIT;

	write_text(p, "{\"vulnerabilities\": [{\"cve\": {\"id\": ");
	assert_int_equal(vulndb_import_inputs(db, &in, 1, &st, &e), -1);
	assert_non_null(strstr(e.msg, "bad.json"));
	assert_int_equal(access(db, F_OK), -1);
	err_clear(&e);
	write_text(p, "{\"vulnerabilities\": [{\"cve\": {\"metrics\": {}}},"
		      " {\"cve\": {\"id\": \"CVE-2099-2\", \"lastModified\":"
		      " \"2025\", \"metrics\": {\"cvssMetricV2\": [{\"source\":"
		      " 3}]}}}]}");
	assert_int_equal(vulndb_import_inputs(db, &in, 1, &st, &e), 0);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.skipped, 1);
	err_clear(&e);
	write_text(p, "[{\"id\": \"GHSA-1\"}]");
	assert_int_equal(vulndb_import_inputs(db, &in, 1, &st, &e), -1);
	free(p);
	free(db);
}

/* --- Ubuntu priorities ------------------------------------------------------
 */

/* vendor_sev and severity of vid's affected rows in ecosystem eco. */
static void ubuntu_row(sqlite3 *db, const char *vid, const char *eco,
		       enum vuln_severity vendor, enum vuln_severity own)
{
	sqlite3_stmt *st = query2(db,
				  "SELECT f.vendor_sev, f.severity FROM"
				  " affected f JOIN advisory a ON a.id = f.adv"
				  " WHERE a.vid = ?1 AND f.ecosystem = ?2",
				  vid, eco);

	if (sqlite3_step(st) != SQLITE_ROW)
		fail_msg("%s: no row for %s", vid, eco);
	if (sqlite3_column_int(st, 0) != (int)vendor ||
	    sqlite3_column_int(st, 1) != (int)own)
		fail_msg("%s %s: vendor %d own %d, want %d %d", vid, eco,
			 sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
			 vendor, own);
	sqlite3_finalize(st);
}

static bool has_alias(sqlite3 *db, const char *vid, const char *alias)
{
	sqlite3_stmt *st = query2(db,
				  "SELECT 1 FROM advisory, json_each(aliases)"
				  " WHERE vid = ?1 AND value = ?2",
				  vid, alias);
	bool found = sqlite3_step(st) == SQLITE_ROW;

	sqlite3_finalize(st);
	return found;
}

static void test_ubuntu_priorities(void **state)
{
	static const char *const cves[][2] = {
		{"USN-6543-1", "CVE-2023-39804"},
		{"UBUNTU-CVE-2022-3715", "CVE-2022-3715"},
		{"UBUNTU-CVE-2024-12133", "CVE-2024-12133"},
		{"UBUNTU-CVE-2025-5278", "CVE-2025-5278"},
		{"UBUNTU-CVE-2020-36325", "CVE-2020-36325"},
		{"USN-5614-1", "CVE-2021-3782"},
	};
	/* vid, ecosystem, Ubuntu's priority, the advisory's own rating */
	static const struct {
		const char *vid, *eco;
		enum vuln_severity vendor, own;
	} rows[] = {
		/* Schema 1.6.3: ecosystem_specific.ubuntu_priority. */
		{"UBUNTU-CVE-2024-3094", "Ubuntu:24.04:LTS", SEV_CRITICAL,
		 SEV_CRITICAL},
		{"UBUNTU-CVE-2023-29383", "Ubuntu:22.04:LTS", SEV_LOW, SEV_LOW},
		{"UBUNTU-CVE-2022-3715", "Ubuntu:22.04:LTS", SEV_MEDIUM,
		 SEV_HIGH},
		/* ... without CVSS: no rating of the advisory's own. */
		{"UBUNTU-CVE-2025-29088", "Ubuntu:22.04:LTS", SEV_MEDIUM,
		 SEV_UNKNOWN},
		/* Schema 1.7.0: the "Ubuntu" severity type. */
		{"UBUNTU-CVE-2024-2236", "Ubuntu:22.04:LTS", SEV_LOW,
		 SEV_MEDIUM},
		{"UBUNTU-CVE-2025-6965", "Ubuntu:22.04:LTS", SEV_MEDIUM,
		 SEV_HIGH},
		/* USNs: per CVE in database_specific.cves_map, or nothing. */
		{"USN-7275-1", "Ubuntu:22.04:LTS", SEV_MEDIUM, SEV_UNKNOWN},
		{"USN-6477-1", "Ubuntu:Pro:16.04:LTS", SEV_LOW, SEV_UNKNOWN},
		{"USN-6543-1", "Ubuntu:22.04:LTS", SEV_UNKNOWN, SEV_UNKNOWN},
		{"USN-5614-1", "Ubuntu:18.04:LTS", SEV_MEDIUM, SEV_UNKNOWN},
		/* negligible counts as low; NVD-style CVSS 7.5 beside it */
		{"UBUNTU-CVE-2016-20013", "Ubuntu:22.04:LTS", SEV_LOW,
		 SEV_HIGH},
		{"UBUNTU-CVE-2014-9913", "Ubuntu:16.04:LTS", SEV_LOW,
		 SEV_MEDIUM},
	};
	struct fx *fx = *state;
	sqlite3 *db = db_open(fx->ubuntu_db);

	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
		ubuntu_row(db, rows[i].vid, rows[i].eco, rows[i].vendor,
			   rows[i].own);
	/* Withdrawn records are kept as such (the matcher skips them). */
	assert_int_equal(db_count(db,
				  "SELECT count(*) FROM advisory WHERE"
				  " withdrawn IS NOT NULL AND vid GLOB ?1",
				  "UBUNTU-CVE-*"),
			 3);
	/* CVE ids: from upstream's UBUNTU-CVE-…, related, or the id. */
	for (size_t i = 0; i < sizeof(cves) / sizeof(*cves); i++)
		if (!has_alias(db, cves[i][0], cves[i][1]))
			fail_msg("%s: no alias %s", cves[i][0], cves[i][1]);
	sqlite3_close(db);
}

/* An Ubuntu 22.04 image with sqlite3: UBUNTU-CVE-2025-29088 (priority
 * medium, NVD 5.5) and UBUNTU-CVE-2025-6965 (priority medium, NVD has
 * no record here); the withdrawn records give nothing. */
static void test_ubuntu_match(void **state)
{
	struct fx *fx = *state;
	struct scan_inventory inv;
	struct scan_pkg p = {0};
	struct vuln_finding *f = NULL;
	struct err e = ERR_INIT;
	struct vulndb *h = vulndb_open(fx->ubuntu_db, &e);
	size_t n = 0, hits = 0;

	assert_non_null(h);
	inv_init(&inv);
	inv.os.id = xstrdup("ubuntu");
	inv.os.version_id = xstrdup("22.04");
	p.eco = ECO_UBUNTU;
	p.name = (char *)"libsqlite3-0";
	p.version = (char *)"3.37.2-2ubuntu0.3";
	p.src_name = (char *)"sqlite3";
	inv_add_pkg(&inv, &p);
	assert_int_equal(vulndb_match(h, &inv, &f, &n, &e), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(f[i].id, "UBUNTU-CVE-2025-29088"))
			continue;
		hits++;
		assert_int_equal(f[i].severity, SEV_MEDIUM);
		assert_int_equal(f[i].severity_source, SEVSRC_VENDOR);
		assert_string_equal(f[i].vendor, "ubuntu");
		/* NVD's rating of the CVE is listed beside it. */
		assert_true(f[i].ncvss >= 1);
		assert_true(f[i].cvss[0].nvd);
		assert_string_equal(f[i].cvss[0].cve, "CVE-2025-29088");
		assert_true(f[i].cvss[0].score == 5.5);
	}
	assert_int_equal(hits, 1);
	vuln_findings_free(f, n);
	vulndb_prefer(h, VULN_PREFER_NVD);
	assert_int_equal(vulndb_match(h, &inv, &f, &n, &e), 0);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].id, "UBUNTU-CVE-2025-29088"))
			assert_int_equal(f[i].severity_source, SEVSRC_NVD);
		else if (!strcmp(f[i].id, "UBUNTU-CVE-2025-6965"))
			assert_int_equal(f[i].severity_source, SEVSRC_VENDOR);
	vuln_findings_free(f, n);
	inv_release(&inv);
	vulndb_free(h);
}

/* A stored report re-matched gets the same fields a scan gives, and a
 * second re-match changes nothing. */
static void test_rematch_fields(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	struct vulndb *h = vulndb_open(fx->ubuntu_db, &e);
	json_t *rep, *out = NULL, *again = NULL, *v;
	size_t i, hits = 0;

	assert_non_null(h);
	rep = json_pack("{s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:{s:s, s:s}}],"
			" s:[]}",
			"os", "id", "ubuntu", "version_id", "22.04", "packages",
			"name", "libsqlite3-0", "version", "3.37.2-2ubuntu0.3",
			"ecosystem", scan_eco_name(ECO_UBUNTU), "source",
			"name", "sqlite3", "version", "3.37.2-2ubuntu0.3",
			"notes");
	assert_int_equal(scan_rematch(rep, h, 1, &out, &e), 0);
	json_array_foreach(json_object_get(out, "vulnerabilities"), i, v) {
		if (strcmp(json_string_value(json_object_get(v, "id")),
			   "UBUNTU-CVE-2025-29088"))
			continue;
		hits++;
		assert_string_equal(
			json_string_value(json_object_get(v, "severity")),
			"medium");
		assert_string_equal(json_string_value(json_object_get(
					    v, "severity_source")),
				    "ubuntu");
		assert_string_equal(
			json_string_value(json_object_get(
				json_array_get(json_object_get(v, "cvss"), 0),
				"source")),
			"nvd");
	}
	assert_int_equal(hits, 1);
	assert_int_equal(scan_rematch(out, h, 1, &again, &e), 0);
	assert_true(json_equal(json_object_get(out, "vulnerabilities"),
			       json_object_get(again, "vulnerabilities")));
	json_decref(rep);
	json_decref(out);
	json_decref(again);
	vulndb_free(h);
}

/* --- Choosing a finding's severity ------------------------------------------
 */

static void finding(struct vuln_finding *f, const char *id, const char *alias,
		    enum vuln_severity vendor, enum vuln_severity own)
{
	memset(f, 0, sizeof(*f));
	f->id = xstrdup(id);
	if (alias) {
		f->aliases = xcalloc(2, sizeof(char *));
		f->aliases[0] = xstrdup("GHSA-xxxx");
		f->aliases[1] = xstrdup(alias);
		f->naliases = 2;
	}
	f->vendor_severity = vendor;
	f->vendor = vendor ? xstrdup("debian") : NULL;
	f->adv_severity = own;
	f->cvss_score = -1;
}

static void test_severity_order(void **state)
{
	struct fx *fx = *state;
	struct err e = ERR_INIT;
	struct vulndb *h = vulndb_open(fx->feed_db, &e);
	struct vuln_finding *f = xcalloc(8, sizeof(*f));
	static const struct {
		enum vuln_severity sev;
		enum vuln_sev_source src;
		enum vuln_severity nvd_sev; /* with VULN_PREFER_NVD */
		enum vuln_sev_source nvd_src;
	} want[] = {
		{SEV_LOW, SEVSRC_VENDOR, SEV_CRITICAL, SEVSRC_NVD},
		{SEV_CRITICAL, SEVSRC_NVD, SEV_CRITICAL, SEVSRC_NVD},
		{SEV_HIGH, SEVSRC_ADVISORY, SEV_HIGH, SEVSRC_ADVISORY},
		{SEV_UNKNOWN, SEVSRC_UNKNOWN, SEV_UNKNOWN, SEVSRC_UNKNOWN},
		{SEV_MEDIUM, SEVSRC_NVD, SEV_MEDIUM, SEVSRC_NVD},
		{SEV_HIGH, SEVSRC_NVD, SEV_HIGH, SEVSRC_NVD},
		{SEV_MEDIUM, SEVSRC_NVD, SEV_MEDIUM, SEVSRC_NVD},
		{SEV_LOW, SEVSRC_VENDOR, SEV_LOW, SEVSRC_VENDOR},
	};

	assert_non_null(h);
	/* Debian's urgency beats NVD's 9.8, unless NVD is preferred. */
	finding(&f[0], "CVE-2023-45853", NULL, SEV_LOW, SEV_UNKNOWN);
	/* A DSA: the CVE alias NVD rates highest; the advisory's own is
	 * below NVD's. */
	finding(&f[1], "DSA-0000-1", "CVE-2023-45853", SEV_UNKNOWN, SEV_MEDIUM);
	/* No NVD data: the advisory's own. */
	finding(&f[2], "GHSA-aaaa-bbbb-cccc", NULL, SEV_UNKNOWN, SEV_HIGH);
	finding(&f[3], "CVE-2099-9999", NULL, SEV_UNKNOWN, SEV_UNKNOWN);
	/* v4.0 before v3.1: CNA VulDB's 4.8 MEDIUM over 3.1's LOW. */
	finding(&f[4], "CVE-2025-6141", NULL, SEV_UNKNOWN, SEV_LOW);
	/* v2 only: 10.0 HIGH (v2 has no critical band). */
	finding(&f[5], "CVE-2005-2541", NULL, SEV_UNKNOWN, SEV_UNKNOWN);
	/* v3 only from CISA-ADP: taken (as ADP's) when nothing else. */
	finding(&f[6], "CVE-2026-42766", NULL, SEV_UNKNOWN, SEV_UNKNOWN);
	/* No NVD data (rejected): the vendor's. */
	finding(&f[7], "CVE-2023-52071", NULL, SEV_LOW, SEV_UNKNOWN);
	for (int pass = 0; pass < 2; pass++) {
		vulndb_prefer(h, pass ? VULN_PREFER_NVD : VULN_PREFER_VENDOR);
		assert_int_equal(vuln_rate(h, f, 8, &e), 0);
		for (size_t i = 0; i < 8; i++) {
			enum vuln_severity s =
				pass ? want[i].nvd_sev : want[i].sev;
			enum vuln_sev_source src =
				pass ? want[i].nvd_src : want[i].src;

			if (f[i].severity != s || f[i].severity_source != src)
				fail_msg("pass %d, %s: %s from %d, want %s "
					 "from %d",
					 pass, f[i].id,
					 vuln_severity_name(f[i].severity),
					 f[i].severity_source,
					 vuln_severity_name(s), src);
		}
	}
	/* The ratings shown: NVD's per version, newest first. */
	assert_int_equal(f[4].ncvss, 3);
	assert_string_equal(f[4].cvss[0].version, "4.0");
	assert_string_equal(f[4].cvss[0].assigner, "cna@vuldb.com");
	assert_string_equal(f[4].cvss[1].version, "3.1");
	assert_string_equal(f[4].cvss[2].version, "2.0");
	assert_string_equal(f[6].cvss[0].assigner, CISA);
	assert_string_equal(f[6].cvss[0].type, "Secondary");
	assert_int_equal(f[3].ncvss, 0);
	vuln_findings_free(f, 8);
	vulndb_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_answer_key),
		cmocka_unit_test(test_records_answer_key),
		cmocka_unit_test(test_adp_not_nvd),
		cmocka_unit_test(test_api_page),
		cmocka_unit_test(test_newer_wins),
		cmocka_unit_test(test_history_snapshot),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_ubuntu_priorities),
		cmocka_unit_test(test_ubuntu_match),
		cmocka_unit_test(test_rematch_fields),
		cmocka_unit_test(test_severity_order),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
