/* test_report.c: the scan report: JSON fields and order, package URLs,
 * the table, CycloneDX, and re-matching a stored report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xmalloc.h"
#include "scanner/image_int.h"
#include "scanner/meter_int.h"
#include "scanner/report_int.h"
#include "scanner/scan_int.h"

static struct image img;
static struct scan_inventory inv;

static void add(enum scan_eco eco, const char *name, const char *ver,
		const char *src, const char *srcver)
{
	struct scan_pkg p = {eco,
			     (char *)name,
			     (char *)ver,
			     (char *)src,
			     (char *)srcver,
			     (char *)"sha256:l1",
			     (char *)"var/lib/x",
			     SCAN_CONF_HIGH,
			     NULL};

	inv_add_pkg(&inv, &p);
}

static int setup(void **state)
{
	(void)state;
	memset(&img, 0, sizeof(img));
	img.has_digest = true;
	digest_of(DIGEST_SHA256, "m", 1, &img.digest);
	digest_of(DIGEST_SHA256, "c", 1, &img.config);
	img.media_type = xstrdup(OCI_MT_MANIFEST);
	img.os = xstrdup("linux");
	img.arch = xstrdup("amd64");
	img.layers = xcalloc(1, sizeof(*img.layers));
	img.nlayers = 1;
	digest_of(DIGEST_SHA256, "l", 1, &img.layers[0].digest);
	inv_init(&inv);
	inv.os.id = xstrdup("debian");
	inv.os.version_id = xstrdup("12");
	add(ECO_DEBIAN, "bsdutils", "1:2.38.1-5+deb12u3", "util-linux",
	    "2.38.1-5+deb12u3");
	add(ECO_DEBIAN, "liblzma5", "5.4.1-1+deb12u1", "xz-utils", NULL);
	add(ECO_NPM, "@babel/core", "7.0.0", NULL, NULL);
	add(ECO_PYPI, "GitPython", "3.1.30", "gitpython", NULL);
	add(ECO_MAVEN, "org.apache.logging.log4j:log4j-core", "2.14.1", NULL,
	    NULL);
	add(ECO_GO, "golang.org/x/text", "v0.3.7", NULL, NULL);
	add(ECO_RPM, "openssl", "1:1.1.1k-7.cm2", "openssl", NULL);
	inv_add_note(&inv, "a note");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(img.media_type);
	free(img.os);
	free(img.arch);
	free(img.layers);
	inv_release(&inv);
	return 0;
}

static void test_purl(void **state)
{
	static const char *const want[] = {
		"pkg:deb/debian/"
		"bsdutils@1%3A2.38.1-5%2Bdeb12u3?distro=debian-12&upstream="
		"util-linux",
		"pkg:deb/debian/"
		"liblzma5@5.4.1-1%2Bdeb12u1?distro=debian-12&upstream=xz-utils",
		"pkg:npm/%40babel/core@7.0.0",
		"pkg:pypi/gitpython@3.1.30",
		"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
		"pkg:golang/golang.org/x/text@v0.3.7",
		"pkg:rpm/debian/openssl@1.1.1k-7.cm2?epoch=1&distro=debian-12",
	};

	(void)state;
	for (size_t i = 0; i < inv.npkgs; i++) {
		char *p = report_purl(&inv.pkgs[i], &inv.os);

		assert_string_equal(p, want[i]);
		free(p);
	}
}

static struct vuln_finding *findings(size_t *n)
{
	struct vuln_finding *f = xcalloc(3, sizeof(*f));

	f[0].pkg = 1;
	f[0].id = xstrdup("DLA-4783-1");
	f[0].fixed = xstrdup("5.4.1-1+deb12u2");
	f[0].severity = SEV_LOW;
	f[0].severity_source = SEVSRC_VENDOR;
	f[0].vendor = xstrdup("debian");
	f[0].cvss_score = -1;
	f[1].pkg = 4;
	f[1].id = xstrdup("GHSA-jfh8-c2jp-5v3q");
	f[1].aliases = xcalloc(1, sizeof(char *));
	f[1].aliases[0] = xstrdup("CVE-2021-44228");
	f[1].naliases = 1;
	f[1].fixed = xstrdup("2.15.0");
	f[1].severity = SEV_CRITICAL;
	f[1].severity_source = SEVSRC_NVD;
	f[1].cvss_score = 10.0;
	f[1].cvss_vector =
		xstrdup("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H");
	f[1].cvss = xcalloc(2, sizeof(*f[1].cvss));
	f[1].ncvss = 2;
	for (size_t i = 0; i < 2; i++) {
		strcpy(f[1].cvss[i].version, "3.1");
		f[1].cvss[i].vector = xstrdup(f[1].cvss_vector);
		f[1].cvss[i].score = 10.0;
		f[1].cvss[i].severity = SEV_CRITICAL;
	}
	f[1].cvss[0].nvd = true;
	f[1].cvss[0].cve = xstrdup("CVE-2021-44228");
	f[1].cvss[0].assigner = xstrdup("nvd@nist.gov");
	f[1].cvss[0].type = xstrdup("Primary");
	f[1].summary = xstrdup("Remote code injection in Log4j");
	f[1].refs = xcalloc(1, sizeof(char *));
	f[1].refs[0] =
		xstrdup("https://logging.apache.org/log4j/2.x/security.html");
	f[1].nrefs = 1;
	f[2].pkg = 2;
	f[2].id = xstrdup("GHSA-0000-0000-0000");
	f[2].severity = SEV_MEDIUM;
	f[2].severity_source = SEVSRC_ADVISORY;
	f[2].cvss_score = -1;
	*n = 3;
	return f;
}

static void free_findings(struct vuln_finding *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].id);
		free(f[i].fixed);
		free(f[i].cvss_vector);
		free(f[i].vendor);
		vuln_cvss_free(f[i].cvss, f[i].ncvss);
		free(f[i].summary);
		for (size_t k = 0; k < f[i].naliases; k++)
			free(f[i].aliases[k]);
		free(f[i].aliases);
		for (size_t k = 0; k < f[i].nrefs; k++)
			free(f[i].refs[k]);
		free(f[i].refs);
	}
	free(f);
}

static json_t *make_report(const char *dbver)
{
	struct report_meta m = {dbver,	       "no vulnerability data: test",
				"library/app", "1.0",
				1800000000,    NULL};
	struct vuln_finding *f;
	json_t *r;
	size_t n;

	f = findings(&n);
	r = report_image(&img, &inv, f, n, &m);
	free_findings(f, n);
	return r;
}

/* a[i][key] as a string, or NULL. */
static const char *elem_str(const json_t *a, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(a, i), key));
}

static void test_json(void **state)
{
	json_t *r = make_report("2026-11-28T12:00:00Z/abc"), *v, *c;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(r, "created")),
			    "2027-01-15T08:00:00Z");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "db"), "version")),
			    "2026-11-28T12:00:00Z/abc");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "image"), "repository")),
			    "library/app");
	assert_int_equal(json_array_size(json_object_get(r, "packages")), 7);
	v = json_object_get(r, "vulnerabilities");
	assert_int_equal(json_array_size(v), 3);
	/* Worst first. */
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(v, 0), "id")),
		"GHSA-jfh8-c2jp-5v3q");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(v, 0), "severity")),
			    "critical");
	/* NVD's rating first, then the advisory's own. */
	c = json_object_get(json_array_get(v, 0), "cvss");
	assert_int_equal(json_array_size(c), 2);
	assert_true(json_real_value(json_object_get(json_array_get(c, 0),
						    "score")) == 10.0);
	assert_string_equal(elem_str(c, 0, "source"), "nvd");
	assert_string_equal(elem_str(c, 0, "cve"), "CVE-2021-44228");
	assert_string_equal(elem_str(c, 1, "source"), "advisory");
	assert_string_equal(elem_str(v, 0, "severity_source"), "nvd");
	assert_string_equal(elem_str(v, 1, "severity_source"), "advisory");
	assert_string_equal(elem_str(v, 2, "severity_source"), "debian");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(v, 2), "id")),
		"DLA-4783-1");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_array_get(v, 2),
							"package"),
					"source"),
			"name")),
		"xz-utils");
	assert_true(
		json_is_null(json_object_get(json_array_get(v, 1), "fixed")));
	assert_int_equal(
		json_array_size(json_object_get(json_array_get(v, 1), "cvss")),
		0);
	c = json_object_get(r, "counts");
	assert_int_equal(json_integer_value(json_object_get(c, "critical")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "medium")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "low")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "high")), 0);
	assert_int_equal(report_max_severity(r), SEV_CRITICAL);
	/* The cm2 rpm package on Debian: nothing covers it, and the report
	 * says so. */
	assert_int_equal(json_array_size(json_object_get(r, "notes")), 2);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(r, "notes"), 1)),
			    "no advisory source covers debian 12: its 1 rpm "
			    "package was not matched");
	json_decref(r);

	r = make_report(NULL);
	assert_true(json_is_null(json_object_get(r, "db")));
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(r, "notes"), 2)),
			    "no vulnerability data: test");
	json_decref(r);
}

static void test_sev(void **state)
{
	enum vuln_severity s;

	(void)state;
	assert_int_equal(report_sev_parse("HIGH", &s), 0);
	assert_int_equal(s, SEV_HIGH);
	assert_int_equal(report_sev_parse("moderate", &s), 0);
	assert_int_equal(s, SEV_MEDIUM);
	assert_int_equal(report_sev_parse("severe", &s), -1);
}

static void test_table(void **state)
{
	json_t *r = make_report(NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char *crit, *low;

	(void)state;
	assert_int_equal(report_write_table(f, r), 0);
	fclose(f);
	crit = strstr(text, "GHSA-jfh8-c2jp-5v3q");
	low = strstr(text, "DLA-4783-1");
	assert_non_null(crit);
	assert_non_null(low);
	assert_true(crit < low);
	assert_non_null(strstr(text, "2.15.0"));
	assert_non_null(strstr(text, "(none)"));
	assert_non_null(strstr(text, "vulnerability DB: none"));
	free(text);
	json_decref(r);
}

/* The source name of a CycloneDX vulnerability's first rating. */
static const char *rating_source(const json_t *v)
{
	return json_string_value(json_object_get(
		json_object_get(
			json_array_get(json_object_get(v, "ratings"), 0),
			"source"),
		"name"));
}

static void test_cyclonedx(void **state)
{
	json_t *r = make_report("v1"), *bom, *comps, *vulns, *v;
	const char *ref;
	size_t i;

	(void)state;
	bom = report_cyclonedx(r);
	assert_string_equal(
		json_string_value(json_object_get(bom, "specVersion")), "1.5");
	assert_string_equal(
		json_string_value(json_object_get(bom, "bomFormat")),
		"CycloneDX");
	assert_int_equal(
		strncmp(json_string_value(json_object_get(bom, "serialNumber")),
			"urn:uuid:", 9),
		0);
	comps = json_object_get(bom, "components");
	vulns = json_object_get(bom, "vulnerabilities");
	assert_int_equal(json_array_size(comps), 7);
	assert_int_equal(json_array_size(vulns), 3);
	v = json_array_get(vulns, 0);
	ref = json_string_value(json_object_get(
		json_array_get(json_object_get(v, "affects"), 0), "ref"));
	assert_string_equal(ref, "pkg-4");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(comps, 4), "bom-ref")),
			    "pkg-4");
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(v, "ratings"), 0),
			"method")),
		"CVSSv31");
	assert_string_equal(rating_source(v), "NVD");
	assert_int_equal(json_array_size(json_object_get(v, "ratings")), 2);
	/* The DLA's rating is Debian's own. */
	v = json_array_get(vulns, 2);
	assert_string_equal(rating_source(v), "debian");
	assert_string_equal(
		elem_str(json_object_get(v, "properties"), 0, "value"),
		"debian");
	json_array_foreach(vulns, i, v)
		assert_non_null(json_object_get(v, "source"));
	json_decref(bom);
	json_decref(r);
}

/* A stored report re-matched without a DB: the inventory survives, the
 * findings go, and the note says why. */
static void test_rematch(void **state)
{
	json_t *r = make_report("v1"), *out = NULL;
	struct scan_inventory back;
	struct err e = ERR_INIT;

	(void)state;
	inv_init(&back);
	assert_int_equal(report_inventory(r, &back, &e), 0);
	assert_int_equal(back.npkgs, inv.npkgs);
	assert_string_equal(back.pkgs[0].src_version, "2.38.1-5+deb12u3");
	assert_string_equal(back.pkgs[0].src_name, "util-linux");
	assert_null(back.pkgs[1].src_version);
	assert_string_equal(back.pkgs[3].src_name, "gitpython");
	assert_int_equal(back.pkgs[6].eco, ECO_RPM);
	assert_string_equal(back.os.id, "debian");
	inv_release(&back);
	assert_int_equal(scan_rematch(r, NULL, 1800000000, &out, &e), 0);
	assert_int_equal(
		json_array_size(json_object_get(out, "vulnerabilities")), 0);
	assert_true(json_is_null(json_object_get(out, "db")));
	assert_int_equal(json_array_size(json_object_get(out, "packages")), 7);
	assert_int_equal(json_array_size(json_object_get(out, "notes")), 3);
	assert_int_equal(report_max_severity(out), -1);
	/* What was read as filesystems is kept (the registry's rule). */
	assert_true(json_equal(json_object_get(out, "filesystem_layers"),
			       json_object_get(r, "filesystem_layers")));
	assert_true(json_is_integer(json_object_get(out, "filesystem_layers")));
	json_decref(out);
	json_decref(r);
}

/* A package not from a package database says how it was identified; the
 * others keep their shape.  Both survive a re-match. */
static void test_confidence(void **state)
{
	struct report_meta m = {"v1",  NULL,	   "library/app",
				"1.0", 1800000000, NULL};
	struct scan_pkg p = {.eco = ECO_RUNTIME,
			     .name = (char *)"node",
			     .version = (char *)"20.11.0",
			     .layer = (char *)"sha256:l1",
			     .path = (char *)"usr/local/bin/node",
			     .conf = SCAN_CONF_MEDIUM,
			     .evidence = (char *)"binary: node.js/v"};
	struct scan_pkg q = {.eco = ECO_MAVEN,
			     .name = (char *)"a:b",
			     .version = (char *)"1.0"};
	struct scan_inventory in, back;
	struct err e = ERR_INIT;
	json_t *r, *out = NULL, *pkgs;

	(void)state;
	inv_init(&in);
	inv_init(&back);
	inv_add_pkg(&in, &p);
	inv_add_pkg(&in, &q);
	r = report_image(&img, &in, NULL, 0, &m);
	pkgs = json_object_get(r, "packages");
	assert_string_equal(elem_str(pkgs, 0, "confidence"), "medium");
	assert_string_equal(elem_str(pkgs, 0, "identified_by"),
			    "binary: node.js/v");
	assert_string_equal(elem_str(pkgs, 0, "purl"),
			    "pkg:generic/node@20.11.0");
	assert_null(json_object_get(json_array_get(pkgs, 1), "confidence"));
	assert_null(json_object_get(json_array_get(pkgs, 1), "identified_by"));
	assert_int_equal(report_inventory(r, &back, &e), 0);
	assert_int_equal(back.pkgs[0].conf, SCAN_CONF_MEDIUM);
	assert_string_equal(back.pkgs[0].evidence, "binary: node.js/v");
	assert_int_equal(back.pkgs[1].conf, SCAN_CONF_HIGH);
	assert_null(back.pkgs[1].evidence);
	assert_int_equal(scan_rematch(r, NULL, 1800000000, &out, &e), 0);
	assert_true(json_equal(json_object_get(out, "packages"), pkgs));
	json_decref(out);
	json_decref(r);
	inv_release(&back);
	inv_release(&in);
}

/* An image's Red Hat content sets are in its report's "os", and a
 * re-match reads them back (they choose the streams matched). */
static void test_content_sets(void **state)
{
	struct report_meta m = {.db_version = "v1", .now = 1800000000};
	struct scan_inventory in, back;
	struct err e = ERR_INIT;
	json_t *r, *cs;

	(void)state;
	inv_init(&in);
	inv_init(&back);
	in.os.id = xstrdup("rhel");
	in.os.version_id = xstrdup("9.2");
	assert_true(inv_add_content_set(
		&in, "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2"));
	r = report_image(&img, &in, NULL, 0, &m);
	cs = json_object_get(json_object_get(r, "os"), "content_sets");
	assert_int_equal(json_array_size(cs), 1);
	assert_string_equal(json_string_value(json_array_get(cs, 0)),
			    "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2");
	assert_int_equal(report_inventory(r, &back, &e), 0);
	assert_int_equal(back.ncontent_sets, 1);
	assert_string_equal(back.content_sets[0], in.content_sets[0]);
	json_decref(r);
	inv_release(&back);
	inv_release(&in);
}

/* A report after a budget hit, as scan.c makes it. */
static json_t *make_incomplete(void)
{
	struct scan_budget b = {.ratio = 100};
	struct scan_meter m;
	json_t *r = make_report("v1");

	meter_init(&m, &b, 0);
	meter_hit(&m, BUDGET_RATIO, 100, "sha256:l1", "%s", "zeros \xff");
	meter_hit(&m, BUDGET_RATIO, 100, "sha256:l1", "%s", "again");
	report_set_budgets(r, meter_budgets(&m));
	meter_release(&m);
	return r;
}

static void test_status(void **state)
{
	json_t *r = make_report("v1"), *b;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(r, "status")),
			    "complete");
	report_set_budgets(r, meter_budgets(NULL));
	assert_true(report_is_complete(r));
	assert_null(json_object_get(r, "budgets"));
	json_decref(r);

	r = make_incomplete();
	assert_string_equal(json_string_value(json_object_get(r, "status")),
			    "incomplete");
	assert_false(report_is_complete(r));
	/* One entry per budget and layer; details kept valid UTF-8. */
	assert_int_equal(json_array_size(json_object_get(r, "budgets")), 1);
	b = json_array_get(json_object_get(r, "budgets"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "budget")),
			    "ratio");
	assert_int_equal(json_integer_value(json_object_get(b, "limit")), 100);
	assert_string_equal(json_string_value(json_object_get(b, "layer")),
			    "sha256:l1");
	assert_string_equal(json_string_value(json_object_get(b, "detail")),
			    "zeros ?");
	json_decref(r);

	/* Reports made before budgets existed read as complete. */
	r = json_pack("{s:[]}", "packages");
	assert_true(report_is_complete(r));
	json_decref(r);
}

/* An index is incomplete when any platform is; the renderings say so. */
static void test_status_index(void **state)
{
	struct image_set set;
	json_t *r, *bom, *c;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	image_set_init(&set);
	set.is_index = true;
	digest_of(DIGEST_SHA256, "i", 1, &set.index_digest);
	r = report_index(
		&set, json_pack("[o, o]", make_report("v1"), make_incomplete()),
		&(struct report_meta){.now = 1800000000});
	assert_string_equal(json_string_value(json_object_get(r, "status")),
			    "incomplete");
	f = open_memstream(&text, &len);
	assert_int_equal(report_write_table(f, r), 0);
	fclose(f);
	assert_non_null(strstr(text, "Status:   INCOMPLETE"));
	assert_non_null(strstr(text, "budget ratio (limit 100): zeros"));
	free(text);
	bom = report_cyclonedx(r);
	c = json_object_get(bom, "compositions");
	assert_int_equal(json_array_size(c), 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(c, 0), "aggregate")),
			    "incomplete");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(c, 1), "aggregate")),
			    "complete");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(c, 2), "aggregate")),
			    "incomplete");
	json_decref(bom);
	json_decref(r);

	r = report_index(&set, json_pack("[o]", make_report("v1")),
			 &(struct report_meta){.now = 1800000000});
	assert_true(report_is_complete(r));
	bom = report_cyclonedx(r);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(bom, "compositions"), 0),
			"aggregate")),
		"complete");
	json_decref(bom);
	json_decref(r);
	image_set_release(&set);
}

/* Re-matching keeps what the scan could not see. */
static void test_rematch_keeps_status(void **state)
{
	struct image_set set;
	json_t *r = make_incomplete(), *out = NULL, *idx;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(scan_rematch(r, NULL, 1800000000, &out, &e), 0);
	assert_string_equal(json_string_value(json_object_get(out, "status")),
			    "incomplete");
	assert_true(json_equal(json_object_get(out, "budgets"),
			       json_object_get(r, "budgets")));
	json_decref(out);
	image_set_init(&set);
	set.is_index = true;
	digest_of(DIGEST_SHA256, "i", 1, &set.index_digest);
	idx = report_index(&set, json_pack("[O]", r),
			   &(struct report_meta){.now = 1800000000});
	assert_int_equal(scan_rematch(idx, NULL, 1800000000, &out, &e), 0);
	assert_false(report_is_complete(out));
	assert_string_equal(json_string_value(json_object_get(out, "status")),
			    "incomplete");
	json_decref(out);
	json_decref(idx);
	json_decref(r);
	image_set_release(&set);
}

/* SBOMs list the inventory, not the findings: a re-match keeps their
 * key; another package list changes it. */
static void test_sbom(void **state)
{
	json_t *r = make_report("v1"), *out = NULL, *doc, *pkgs;
	struct err e = ERR_INIT;
	struct digest k1, k2;
	size_t i, contains = 0;
	const json_t *rel;

	(void)state;
	json_decref(scan_sbom_inventory(r, &k1));
	assert_int_equal(scan_rematch(r, NULL, 1800000999, &out, &e), 0);
	json_decref(scan_sbom_inventory(out, &k2));
	assert_true(digest_eq(&k1, &k2));
	json_decref(out);

	doc = scan_sbom(r, SCAN_SBOM_SPDX);
	assert_string_equal(
		json_string_value(json_object_get(doc, "spdxVersion")),
		"SPDX-2.3");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(doc, "creationInfo"), "created")),
		"2027-01-15T08:00:00Z");
	pkgs = json_object_get(doc, "packages");
	assert_int_equal(json_array_size(pkgs), 8); /* the image, 7 packages */
	assert_string_equal(elem_str(pkgs, 0, "SPDXID"), "SPDXRef-Image");
	assert_string_equal(elem_str(pkgs, 0, "primaryPackagePurpose"),
			    "CONTAINER");
	for (i = 1; i < 8; i++)
		assert_string_equal(
			elem_str(json_object_get(json_array_get(pkgs, i),
						 "externalRefs"),
				 0, "referenceLocator"),
			elem_str(json_object_get(r, "packages"), i - 1,
				 "purl"));
	json_array_foreach(json_object_get(doc, "relationships"), i, rel)
		contains += !strcmp(json_string_value(json_object_get(
					    rel, "relationshipType")),
				    "CONTAINS");
	assert_int_equal(contains, 7);
	json_decref(doc);

	doc = scan_sbom(r, SCAN_SBOM_CYCLONEDX);
	assert_null(json_object_get(doc, "vulnerabilities"));
	assert_int_equal(json_array_size(json_object_get(doc, "components")),
			 7);
	json_decref(doc);

	json_string_set(
		json_object_get(
			json_array_get(json_object_get(r, "packages"), 0),
			"version"),
		"9.9");
	json_decref(scan_sbom_inventory(r, &k2));
	assert_false(digest_eq(&k1, &k2));
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purl),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_sev),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_cyclonedx),
		cmocka_unit_test(test_rematch),
		cmocka_unit_test(test_confidence),
		cmocka_unit_test(test_content_sets),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_index),
		cmocka_unit_test(test_rematch_keeps_status),
		cmocka_unit_test(test_sbom),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
