/* test_scanq_report.c: the JSON side of scan on push (registry/
 * scan_report.c) and the pull policy's arithmetic (registry/policy.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "registry/config_int.h"
#include "registry/policy_int.h"
#include "registry/scan/scan_int.h"

#include "common/banned.h"

static const char img_report[] =
	"{\"schemaVersion\":1,\"created\":\"2026-01-01T00:00:00Z\","
	"\"scanner\":{\"name\":\"customs\",\"version\":\"0.1.0\"},"
	"\"db\":{\"version\":\"v1\"},"
	"\"image\":{\"digest\":\"sha256:aa\",\"repository\":\"a/b\"},"
	"\"packages\":[{\"name\":\"musl\",\"version\":\"1\"}],"
	"\"vulnerabilities\":["
	"{\"id\":\"CVE-1\",\"aliases\":[\"GHSA-x\"],\"severity\":\"critical\"},"
	"{\"id\":\"CVE-2\",\"aliases\":[],\"severity\":\"low\"},"
	"{\"id\":\"DLA-3\",\"severity\":\"unknown\"}],"
	"\"counts\":{\"critical\":1,\"high\":0,\"medium\":0,\"low\":1,"
	"\"unknown\":1},\"notes\":[]}";

static json_t *load(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

/* rs_findings' short JSON, checked for its status; gives its findings. */
static json_t *load_findings(const char *s, const char *status)
{
	json_t *doc = load(s), *f;

	assert_string_equal(json_string_value(json_object_get(doc, "status")),
			    status);
	f = json_incref(json_object_get(doc, "findings"));
	assert_true(json_is_array(f));
	json_decref(doc);
	return f;
}

static void test_findings(void **state)
{
	json_t *r = load(img_report), *f, *idx;
	char *s;

	(void)state;
	s = rs_findings(r);
	f = load_findings(s, "complete");
	assert_null(strstr(s, "\"why\""));
	assert_int_equal(json_array_size(f), 3);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(f, 0), "id")),
		"CVE-1");
	assert_string_equal(
		json_string_value(json_array_get(
			json_object_get(json_array_get(f, 0), "aliases"), 0)),
		"GHSA-x");
	/* A finding without aliases gets an empty list. */
	assert_true(json_is_array(
		json_object_get(json_array_get(f, 2), "aliases")));
	free(s);
	json_decref(f);
	/* An index's findings are its platforms'. */
	idx = json_pack("{s:[O, O]}", "manifests", r, r);
	s = rs_findings(idx);
	f = load_findings(s, "complete");
	assert_int_equal(json_array_size(f), 6);
	free(s);
	json_decref(f);
	json_decref(idx);
	json_decref(r);
}

/* A report cut short by budgets (scanner/scan.h's contract) says so in its
 * short form, naming each budget once; an unknown status is incomplete. */
static void test_findings_incomplete(void **state)
{
	json_t *r = load(img_report), *doc;
	char *s;

	(void)state;
	json_object_set_new(r, "status", json_string("incomplete"));
	json_object_set_new(r, "budgets",
			    json_pack("[{s:s, s:i}, {s:s, s:i}, {s:s, s:i}]",
				      "budget", "file_bytes", "limit", 1024,
				      "budget", "layer_bytes", "limit", 10,
				      "budget", "file_bytes", "limit", 1024));
	s = rs_findings(r);
	doc = load(s);
	assert_string_equal(json_string_value(json_object_get(doc, "status")),
			    "incomplete");
	assert_string_equal(json_string_value(json_object_get(doc, "why")),
			    "budgets file_bytes, layer_bytes reached");
	assert_int_equal(json_array_size(json_object_get(doc, "findings")), 3);
	json_decref(doc);
	free(s);
	/* Without budgets listed: still incomplete. */
	json_object_del(r, "budgets");
	s = rs_findings(r);
	doc = load(s);
	assert_string_equal(json_string_value(json_object_get(doc, "status")),
			    "incomplete");
	assert_non_null(json_string_value(json_object_get(doc, "why")));
	json_decref(doc);
	free(s);
	/* A long why is cut short, never inside a UTF-8 sequence: after
	 * "budgets x, " (11 bytes) every "é" starts at an odd offset, so the
	 * cut at RS_WHY_MAX (even) falls inside one. */
	json_object_set_new(r, "budgets", json_pack("[{s:s}]", "budget", "x"));
	for (int i = 1; i < 20; i++) {
		char name[64] = "";

		for (int k = 0; k < i; k++)
			memcpy(name + 2 * k, "\xc3\xa9", 2);
		json_array_append_new(json_object_get(r, "budgets"),
				      json_pack("{s:s}", "budget", name));
	}
	s = rs_findings(r);
	doc = load(s);
	assert_non_null(json_string_value(json_object_get(doc, "why")));
	assert_int_equal(strlen(json_string_value(json_object_get(doc, "why"))),
			 RS_WHY_MAX - 1);
	json_decref(doc);
	free(s);
	/* "complete" and no status at all are complete. */
	json_object_set_new(r, "status", json_string("complete"));
	s = rs_findings(r);
	json_decref(load_findings(s, "complete"));
	free(s);
	json_decref(r);
}

static void test_same(void **state)
{
	json_t *a = load(img_report), *b = json_deep_copy(a);

	(void)state;
	json_object_set_new(b, "created", json_string("2027-01-01T00:00:00Z"));
	json_object_set_new(b, "db", json_pack("{s:s}", "version", "v2"));
	assert_true(rs_report_same(a, b));
	/* A package's derived fields, as a re-match may spell them. */
	json_object_set_new(
		json_array_get(json_object_get(b, "vulnerabilities"), 0),
		"package",
		json_pack("{s:s, s:n, s:s}", "name", "musl", "source", "purl",
			  "pkg:apk/alpine/musl@1"));
	json_object_set_new(
		json_array_get(json_object_get(a, "vulnerabilities"), 0),
		"package",
		json_pack("{s:s, s:{s:s}}", "name", "musl", "source", "name",
			  "musl"));
	assert_true(rs_report_same(a, b));
	/* The fixed version is a finding's substance. */
	json_object_set_new(
		json_array_get(json_object_get(b, "vulnerabilities"), 1),
		"fixed", json_string("9"));
	assert_false(rs_report_same(a, b));
	json_decref(b);
	b = json_deep_copy(a);
	json_array_remove(json_object_get(b, "vulnerabilities"), 1);
	assert_false(rs_report_same(a, b));
	json_decref(b);
	/* So is a scan cut short (absent status reads as complete). */
	b = json_deep_copy(a);
	json_object_set_new(b, "status", json_string("complete"));
	assert_true(rs_report_same(a, b));
	json_object_set_new(b, "status", json_string("incomplete"));
	assert_false(rs_report_same(a, b));
	json_decref(b);
	/* A note (e.g. "no vulnerability data" going away) is a change. */
	b = json_deep_copy(a);
	json_array_append_new(json_object_get(b, "notes"),
			      json_string("no vulnerability data"));
	assert_false(rs_report_same(a, b));
	json_decref(a);
	json_decref(b);
}

static void test_report_in(void **state)
{
	json_t *r = load(img_report), *idx, *mine;

	(void)state;
	idx = json_pack("{s:{s:s}, s:[O]}", "image", "repository", "x/y",
			"manifests", r);
	mine = rs_report_in(idx, "c/d");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(mine, "image"), "repository")),
		"c/d");
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(
				json_array_get(
					json_object_get(mine, "manifests"), 0),
				"image"),
			"repository")),
		"c/d");
	/* The original is untouched. */
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "image"), "repository")),
			    "a/b");
	json_decref(mine);
	json_decref(idx);
	json_decref(r);
}

static void test_manifest_kind(void **state)
{
	static const struct {
		const char *body;
		int kind;
	} cases[] = {
		{"{\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
		 "\"manifests\":[]}",
		 1},
		{"{\"mediaType\":\"application/vnd.docker.distribution."
		 "manifest.list.v2+json\",\"manifests\":[]}",
		 1},
		{"{\"schemaVersion\":2,\"manifests\":[]}", 1},
		{"{\"config\":{\"mediaType\":\"application/vnd.oci.image."
		 "config.v1+json\"},\"layers\":[]}",
		 0},
		{"{\"config\":{\"mediaType\":\"application/vnd.docker."
		 "container.image.v1+json\"},\"layers\":[]}",
		 0},
		/* Artifacts: their own config type, or an artifactType. */
		{"{\"config\":{\"mediaType\":\"application/vnd.cncf.helm."
		 "config.v1+json\"},\"layers\":[]}",
		 -1},
		{"{\"artifactType\":\"application/vnd.customs.scan.report."
		 "v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci."
		 "image.config.v1+json\"},\"layers\":[]}",
		 -1},
		{"not json", -1},
		{"[1,2]", -1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
			rs_manifest_kind(cases[i].body, strlen(cases[i].body)),
			cases[i].kind);
}

static void test_index_platforms(void **state)
{
	static const char idx[] =
		"{\"manifests\":["
		"{\"digest\":\"sha256:1111111111111111111111111111111111111111"
		"111111111111111111111111\",\"platform\":{\"os\":\"linux\","
		"\"architecture\":\"arm64\",\"variant\":\"v8\"}},"
		"{\"digest\":\"sha256:2222222222222222222222222222222222222222"
		"222222222222222222222222\",\"platform\":{\"os\":\"unknown\","
		"\"architecture\":\"unknown\"}},"
		"{\"digest\":\"sha256:3333333333333333333333333333333333333333"
		"333333333333333333333333\",\"annotations\":{\"vnd.docker."
		"reference.type\":\"attestation-manifest\"}},"
		"{\"digest\":\"bogus\"},"
		"{\"digest\":\"sha256:4444444444444444444444444444444444444444"
		"444444444444444444444444\",\"platform\":{\"os\":\"linux\","
		"\"architecture\":\"amd64\"}}]}";
	struct rs_platform *p = NULL;
	struct err e = ERR_INIT;
	size_t n = 0;

	(void)state;
	assert_int_equal(rs_index_platforms(idx, strlen(idx), &p, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].name, "linux/arm64/v8");
	assert_string_equal(p[1].name, "linux/amd64");
	assert_int_equal(p[1].digest.hex[0], '4');
	free(p);
	assert_int_equal(rs_index_platforms("{}", 2, &p, &n, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_INVALID);
}

static void test_index_report(void **state)
{
	struct rs_platform p[2] = {0};
	json_t *r = load(img_report), *idx;
	struct digest d;
	struct rs_index_part parts[2] = {
		{&p[0], r, NULL},
		{&p[1], NULL, "not a container image"},
	};
	const char *note;

	(void)state;
	digest_of(DIGEST_SHA256, "idx", 3, &d);
	snprintf(p[1].name, sizeof(p[1].name), "linux/s390x");
	p[1].skip = "not a container image";
	idx = rs_index_report(parts, 2,
			      &(struct rs_index_meta){
				      &d,
				      "application/vnd.oci.image.index.v1+json",
				      "a/b", "v9", 1700000000});
	assert_int_equal(json_array_size(json_object_get(idx, "manifests")), 1);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(idx, "counts"), "critical")),
			 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(idx, "db"), "version")),
			    "v9");
	assert_string_equal(json_string_value(json_object_get(idx, "created")),
			    "2023-11-14T22:13:20Z");
	note = json_string_value(
		json_array_get(json_object_get(idx, "notes"), 0));
	assert_non_null(strstr(note, "linux/s390x"));
	assert_non_null(strstr(note, "not a container image"));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(idx, "scanner"), "name")),
			    "customs");
	/* A skipped platform leaves the index whole. */
	assert_string_equal(json_string_value(json_object_get(idx, "status")),
			    "complete");
	json_decref(idx);
	json_decref(r);
}

static json_t *index_of(struct rs_index_part *parts, size_t n)
{
	static struct digest d;

	digest_of(DIGEST_SHA256, "idx", 3, &d);
	return rs_index_report(
		parts, n,
		&(struct rs_index_meta){
			&d, "application/vnd.oci.image.index.v1+json", "a/b",
			"v9", 1700000000});
}

/* An index is incomplete when a platform's report is (its budgets are the
 * index's, each naming the platform), or when an image platform has no
 * report because its scan failed. */
static void test_index_report_incomplete(void **state)
{
	struct rs_platform p[2] = {0};
	json_t *r = load(img_report), *cut = json_deep_copy(r), *idx, *b;
	struct rs_index_part parts[2] = {{&p[0], r, NULL}, {&p[1], cut, NULL}};
	char *s;

	(void)state;
	snprintf(p[0].name, sizeof(p[0].name), "linux/amd64");
	snprintf(p[1].name, sizeof(p[1].name), "linux/arm64");
	json_object_set_new(cut, "status", json_string("incomplete"));
	json_object_set_new(cut, "budgets",
			    json_pack("[{s:s, s:i}]", "budget", "file_bytes",
				      "limit", 4096));
	idx = index_of(parts, 2);
	assert_string_equal(json_string_value(json_object_get(idx, "status")),
			    "incomplete");
	b = json_array_get(json_object_get(idx, "budgets"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "platform")),
			    "linux/arm64");
	s = rs_findings(idx);
	assert_non_null(strstr(s, "\"status\":\"incomplete\""));
	assert_non_null(strstr(s, "budget file_bytes reached"));
	free(s);
	json_decref(idx);
	/* Whole platforms: a whole index. */
	parts[1].report = r;
	idx = index_of(parts, 2);
	assert_string_equal(json_string_value(json_object_get(idx, "status")),
			    "complete");
	assert_null(json_object_get(idx, "budgets"));
	json_decref(idx);
	/* A platform whose scan failed for good. */
	parts[1].report = NULL;
	parts[1].why = "manifest has 1025 layers (limit 1024)";
	idx = index_of(parts, 2);
	assert_string_equal(json_string_value(json_object_get(idx, "status")),
			    "incomplete");
	s = rs_findings(idx);
	assert_non_null(strstr(s, "platform linux/arm64 not scanned: manifest "
				  "has 1025 layers"));
	free(s);
	json_decref(idx);
	json_decref(cut);
	json_decref(r);
}

static void test_referrer_manifest(void **state)
{
	json_t *r = load(img_report), *m, *ann;
	struct digest rd, sd;
	struct rs_subject subj = {
		&sd, "application/vnd.oci.image.manifest.v1+json", 512};
	char *body, *body2, *a, *a2;

	(void)state;
	digest_of(DIGEST_SHA256, "report", 6, &rd);
	digest_of(DIGEST_SHA256, "subject", 7, &sd);
	body = rs_referrer_manifest(r, &rd, 1234, &subj, &a);
	body2 = rs_referrer_manifest(r, &rd, 1234, &subj, &a2);
	assert_string_equal(body, body2); /* the same report, the same digest */
	m = load(body);
	assert_string_equal(
		json_string_value(json_object_get(m, "artifactType")),
		REG_SCAN_REPORT_TYPE);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(m, "config"), "digest")),
			    OCI_EMPTY_DIGEST);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(m, "config"), "size")),
			 2);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_array_get(json_object_get(m, "layers"), 0),
			"size")),
		1234);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(m, "subject"), "size")),
			 512);
	ann = json_object_get(m, "annotations");
	assert_string_equal(json_string_value(json_object_get(
				    ann, "dev.customs.scan.critical")),
			    "1");
	assert_string_equal(json_string_value(json_object_get(
				    ann, "dev.customs.scan.unknown")),
			    "1");
	assert_string_equal(
		json_string_value(json_object_get(ann, "dev.customs.scan.db")),
		"v1");
	assert_string_equal(json_string_value(json_object_get(
				    ann, "org.opencontainers.image.created")),
			    "2026-01-01T00:00:00Z");
	/* What the referrers list shows is the manifest's own object. */
	ann = load(a);
	assert_true(json_equal(ann, json_object_get(m, "annotations")));
	assert_int_equal(json_object_size(ann), 7);
	json_decref(ann);
	json_decref(m);
	free(body);
	free(body2);
	free(a);
	free(a2);
	json_decref(r);
}

static void policy_for(struct reg_policy *p, const char *deny,
		       const char *allow)
{
	struct cfg c = {0};
	char *v[1] = {(char *)allow};
	struct err e = ERR_INIT;

	c.deny_severity = (char *)deny;
	c.policy_wait = 5;
	if (allow) {
		c.allow_vuln.v = v;
		c.allow_vuln.n = 1;
	}
	assert_int_equal(reg_policy_init(p, &c, &e), 0);
}

static void test_policy_count(void **state)
{
	json_t *r = load(img_report);
	char *f = rs_findings(r);
	struct reg_policy p;

	(void)state;
	policy_for(&p, "critical", NULL);
	assert_int_equal(reg_policy_count(&p, f), 1);
	reg_policy_release(&p);
	policy_for(&p, "low", NULL);
	assert_int_equal(reg_policy_count(&p, f), 2);
	reg_policy_release(&p);
	policy_for(&p, "unknown", NULL);
	assert_int_equal(reg_policy_count(&p, f), 3);
	reg_policy_release(&p);
	/* Exempt by alias and by id, comma-separated. */
	policy_for(&p, "unknown", "GHSA-x, DLA-3");
	assert_int_equal(p.nallow, 2);
	assert_int_equal(reg_policy_count(&p, f), 1);
	assert_int_equal(reg_policy_count(&p, "[]"), 0);
	/* Old rows (a bare array) and the current form read alike. */
	assert_int_equal(
		reg_policy_count(&p, "[{\"id\":\"X\",\"severity\":\"high\"}]"),
		1);
	assert_int_equal(reg_policy_count(&p, "{\"status\":\"complete\","
					      "\"findings\":[{\"id\":\"X\"}]}"),
			 1);
	assert_int_equal(reg_policy_count(&p, "{\"findings\":[]}"), -1);
	assert_int_equal(reg_policy_count(&p, "{\"status\":\"complete\"}"), -1);
	assert_int_equal(reg_policy_count(&p, "{oops"), -1);
	assert_int_equal(reg_policy_count(&p, NULL), -1);
	reg_policy_release(&p);
	free(f);
	json_decref(r);
}

/* A stored scan with findings f (NULL: none) in state st. */
static struct stor_scan scan_of(enum stor_scan_state st, const char *f,
				const char *dbv, const char *error)
{
	struct stor_scan sc = {0};

	/* Borrowed for the call: reg_policy_decide() only reads them. */
	sc.state = st;
	sc.has_result = f != NULL;
	sc.findings = (char *)f;
	sc.db_version = (char *)dbv;
	sc.error = (char *)error;
	return sc;
}

static void expect_verdict(const struct reg_policy *p, struct stor_scan sc,
			   enum reg_policy_verdict want, const char *why)
{
	char got[256];

	assert_int_equal(reg_policy_decide(p, &sc, got, sizeof(got)), want);
	if (why && !strstr(got, why))
		fail_msg("why is '%s', want '%s'", got, why);
}

/* The policy fails closed: a failed, incomplete or DB-less scan is
 * refused unless the operator allows it. */
static void test_policy_decide(void **state)
{
	json_t *r = load(img_report), *clean = load(img_report);
	char *f, *fc, *fcut;
	struct reg_policy p;

	(void)state;
	f = rs_findings(r);
	json_object_set_new(clean, "vulnerabilities", json_array());
	fc = rs_findings(clean);
	json_object_set_new(clean, "status", json_string("incomplete"));
	json_object_set_new(clean, "budgets",
			    json_pack("[{s:s}]", "budget", "layer_bytes"));
	fcut = rs_findings(clean);

	policy_for(&p, "critical", NULL);
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, f, "v1", NULL),
		       REG_POLICY_DENY, "1 vulnerability at or above CRITICAL");
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, fc, "v1", NULL),
		       REG_POLICY_SERVE, NULL);
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, fcut, "v1", NULL),
		       REG_POLICY_DENY,
		       "scan incomplete: budget layer_bytes reached");
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, fc, NULL, NULL),
		       REG_POLICY_DENY, "no vulnerability data");
	expect_verdict(&p, scan_of(STOR_SCAN_FAILED, NULL, NULL, "too big"),
		       REG_POLICY_DENY, "scan failed: too big");
	expect_verdict(&p, scan_of(STOR_SCAN_QUEUED, NULL, NULL, NULL),
		       REG_POLICY_PENDING, NULL);
	expect_verdict(&p, scan_of(STOR_SCAN_RUNNING, NULL, NULL, NULL),
		       REG_POLICY_PENDING, NULL);
	/* Retried after a passing error: still pending, not passed. */
	expect_verdict(&p, scan_of(STOR_SCAN_QUEUED, NULL, NULL, "EMFILE"),
		       REG_POLICY_PENDING, NULL);
	expect_verdict(&p, scan_of(STOR_SCAN_NONE, NULL, NULL, NULL),
		       REG_POLICY_NONE, NULL);
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, "junk", "v1", NULL),
		       REG_POLICY_DENY, "unreadable");
	/* An old row (a bare array) is a complete scan. */
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, "[]", "v1", NULL),
		       REG_POLICY_SERVE, NULL);
	/* Findings are named before the scan being cut short. */
	json_object_set_new(r, "status", json_string("incomplete"));
	free(f);
	f = rs_findings(r);
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, f, "v1", NULL),
		       REG_POLICY_DENY, "1 vulnerability");
	reg_policy_release(&p);

	/* --policy-on-scan-error allow: failed and incomplete pass (on what
	 * was found); no data still does not. */
	p = (struct reg_policy){0};
	policy_for(&p, "critical", NULL);
	p.allow_errors = true;
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, fcut, "v1", NULL),
		       REG_POLICY_SERVE, NULL);
	expect_verdict(&p, scan_of(STOR_SCAN_FAILED, NULL, NULL, "x"),
		       REG_POLICY_SERVE, NULL);
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, f, "v1", NULL),
		       REG_POLICY_DENY, "1 vulnerability");
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, fc, NULL, NULL),
		       REG_POLICY_DENY, "no vulnerability data");
	p.allow_without_db = true;
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, fc, NULL, NULL),
		       REG_POLICY_SERVE, NULL);
	reg_policy_release(&p);
	free(f);
	free(fc);
	free(fcut);
	json_decref(r);
	json_decref(clean);
}

/* OS packages no advisory source covers (the scanner's SCAN_NO_SOURCE
 * note): no findings for them is not "clean".  The pull is refused as
 * without a DB, and --policy-without-db allow serves it; an index with
 * such a platform is judged the same. */
static void test_policy_no_source(void **state)
{
	static const char gap[] = "no advisory source covers amzn 2: its 1 "
				  "rpm package was not matched";
	json_t *r = load(img_report), *idx;
	struct reg_policy p;
	json_t *doc;
	char *f, *fi;

	(void)state;
	json_object_set_new(r, "vulnerabilities", json_array());
	json_object_set_new(r, "notes", json_pack("[s]", gap));
	f = rs_findings(r);
	doc = load(f);
	assert_string_equal(json_string_value(json_object_get(doc, "no_data")),
			    gap);
	assert_string_equal(json_string_value(json_object_get(doc, "status")),
			    "complete");
	json_decref(doc);
	idx = json_pack("{s:[O]}", "manifests", r);
	fi = rs_findings(idx);

	policy_for(&p, "critical", NULL);
	expect_verdict(
		&p, scan_of(STOR_SCAN_DONE, f, "v1", NULL), REG_POLICY_DENY,
		"no vulnerability data: no advisory source covers amzn 2");
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, fi, "v1", NULL),
		       REG_POLICY_DENY, "no advisory source covers amzn 2");
	p.allow_errors = true; /* not an error: still refused */
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, f, "v1", NULL),
		       REG_POLICY_DENY, "no advisory source covers");
	p.allow_without_db = true;
	expect_verdict(&p, scan_of(STOR_SCAN_DONE, f, "v1", NULL),
		       REG_POLICY_SERVE, NULL);
	reg_policy_release(&p);
	free(f);
	free(fi);
	json_decref(idx);
	json_decref(r);
}

/* An image none of whose layers was read as a filesystem: "not-scanned",
 * never "0 findings"; the policy does not take it as clean. */
static void test_not_image(void **state)
{
	json_t *r = load(img_report), *m, *plain = load(img_report), *idx;
	json_t *a;
	struct rs_platform p[2] = {0};
	struct rs_index_part parts[2] = {{&p[0], NULL, NULL},
					 {&p[1], NULL, NULL}};
	struct reg_policy pol;
	struct digest d;
	char *f;

	(void)state;
	/* Reports made before the count are taken as read. */
	assert_false(rs_report_unread(r));
	json_object_set_new(r, "filesystem_layers", json_integer(1));
	assert_false(rs_report_unread(r));
	json_object_set_new(r, "filesystem_layers", json_integer(0));
	assert_true(rs_report_unread(r));
	m = json_deep_copy(r);
	rs_mark_not_image(m);
	rs_mark_not_image(m);
	assert_true(rs_report_not_scanned(m));
	assert_false(rs_report_not_scanned(r));
	assert_string_equal(json_string_value(json_object_get(m, "reason")),
			    REG_SCAN_NOT_IMAGE);
	assert_null(json_object_get(m, "counts"));
	assert_int_equal(json_array_size(json_object_get(m, "notes")), 1);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(m, "notes"), 0)),
			    REG_SCAN_NOT_IMAGE);
	assert_false(rs_report_same(m, r));
	assert_true(rs_report_same(m, m));

	/* Nothing read, nothing found. */
	json_object_set_new(m, "vulnerabilities", json_array());
	f = rs_findings(m);
	assert_true(rs_findings_not_scanned(f));
	a = load(f);
	assert_string_equal(json_string_value(json_object_get(a, "why")),
			    REG_SCAN_NOT_IMAGE);
	json_decref(a);
	assert_false(rs_findings_not_scanned(NULL));
	assert_false(rs_findings_not_scanned("[]"));
	policy_for(&pol, "critical", NULL);
	expect_verdict(&pol, scan_of(STOR_SCAN_DONE, f, "v1", NULL),
		       REG_POLICY_DENY, REG_SCAN_NOT_IMAGE);
	pol.allow_errors = true;
	expect_verdict(&pol, scan_of(STOR_SCAN_DONE, f, "v1", NULL),
		       REG_POLICY_SERVE, NULL);
	reg_policy_release(&pol);
	free(f);
	f = rs_findings(plain);
	assert_false(rs_findings_not_scanned(f));
	free(f);

	/* In an index, beside an image: counted as nothing, and the index
	 * stays whole. */
	parts[0].report = plain;
	parts[1].report = m;
	digest_of(DIGEST_SHA256, "idx", 3, &d);
	idx = rs_index_report(parts, 2,
			      &(struct rs_index_meta){
				      &d,
				      "application/vnd.oci.image.index.v1+json",
				      "a/b", "v9", 1700000000});
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(idx, "counts"), "critical")),
			 1);
	assert_string_equal(json_string_value(json_object_get(idx, "status")),
			    "complete");
	json_decref(idx);

	/* What an artifact gets: report-shaped, without counts. */
	a = rs_not_image_report(
		&d, "application/vnd.oci.image.manifest.v1+json", "a/b");
	assert_true(rs_report_not_scanned(a));
	assert_null(json_object_get(a, "counts"));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(a, "image"), "repository")),
			    "a/b");
	json_decref(a);
	json_decref(a = rs_not_image_report(&d, NULL, "a/b"));
	json_decref(m);
	json_decref(r);
	json_decref(plain);
}

static void test_policy_init(void **state)
{
	struct cfg c = {0};
	struct reg_policy p;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(reg_policy_init(&p, &c, &e), 0);
	assert_int_equal(p.deny, -1);
	reg_policy_release(&p);
	c.deny_severity = (char *)"HIGH";
	assert_int_equal(reg_policy_init(&p, &c, &e), 0);
	assert_int_equal(p.deny, 3);
	reg_policy_release(&p);
	c.policy_on_scan_error = (char *)"allow";
	c.policy_without_db = (char *)"deny";
	assert_int_equal(reg_policy_init(&p, &c, &e), 0);
	assert_true(p.allow_errors);
	assert_false(p.allow_without_db);
	reg_policy_release(&p);
	c.deny_severity = (char *)"severe";
	assert_int_equal(reg_policy_init(&p, &c, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
}

/* A hostile or malformed image is never retried; a passing failure (EMFILE,
 * EIO, a busy DB) is retried for minutes, with a doubling wait, then
 * given up: never turned into a pass. */
static void test_retry_at(void **state)
{
	const time_t now = 1000000;
	static const enum err_code hostile[] = {
		ERR_INVALID,	      ERR_TOO_LARGE,	ERR_MANIFEST_INVALID,
		ERR_MANIFEST_UNKNOWN, ERR_BLOB_UNKNOWN, ERR_UNSUPPORTED};
	int64_t total = 0, prev = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(*hostile); i++)
		assert_int_equal(rs_retry_at(hostile[i], 1, now), -1);
	for (int n = 1; n < RS_MAX_ATTEMPTS; n++) {
		int64_t at = rs_retry_at(ERR_IO, n, now);

		assert_true(at > now);
		assert_true(at - now >= prev);
		assert_true(at - now <= RS_RETRY_MAX_S);
		prev = at - now;
		total += at - now;
	}
	assert_int_equal(rs_retry_at(ERR_IO, 1, now), now + RS_RETRY_S);
	assert_int_equal(rs_retry_at(ERR_IO, 2, now), now + 2 * RS_RETRY_S);
	assert_int_equal(rs_retry_at(ERR_DB, RS_MAX_ATTEMPTS, now), -1);
	/* Minutes, not seconds. */
	assert_true(total >= 15 * 60);
}

/* rs_text_split() finds each top-level member as written, whatever its
 * value holds, and refuses what is not an object. */
static void test_text_split(void **state)
{
	static const char text[] =
		" {\"a\":1, \"b\" : {\"x\":[1,{\"y\":\"}]\\\"\"}]},"
		"\"c\":\"s,}\",\"d\":[],\"e\":null}";
	static const char *const keys[] = {"a", "b", "c", "d", "e"};
	static const char *const vals[] = {
		"1", "{\"x\":[1,{\"y\":\"}]\\\"\"}]}", "\"s,}\"", "[]", "null"};
	static const char *const bad[] = {"",
					  "[1]",
					  "{\"a\":1",
					  "{\"a\" 1}",
					  "{\"a\":}",
					  "{\"a\":\"x}",
					  "{\"a\":1,}",
					  "{\"a\\\"b\":1}",
					  "{\"a\":1 \"b\":2}"};
	struct rs_text_span *sp;
	size_t n;

	(void)state;
	assert_int_equal(rs_text_split(text, strlen(text), &sp, &n), 0);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sp[i].klen, strlen(keys[i]));
		assert_memory_equal(text + sp[i].key, keys[i], sp[i].klen);
		assert_int_equal(sp[i].vlen, strlen(vals[i]));
		assert_memory_equal(text + sp[i].val, vals[i], sp[i].vlen);
	}
	free(sp);
	assert_int_equal(rs_text_split("{ }", 3, &sp, &n), 0);
	assert_int_equal(n, 0);
	free(sp);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(rs_text_split(bad[i], strlen(bad[i]), &sp, &n),
				 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_findings),
		cmocka_unit_test(test_findings_incomplete),
		cmocka_unit_test(test_same),
		cmocka_unit_test(test_report_in),
		cmocka_unit_test(test_manifest_kind),
		cmocka_unit_test(test_index_platforms),
		cmocka_unit_test(test_index_report),
		cmocka_unit_test(test_index_report_incomplete),
		cmocka_unit_test(test_referrer_manifest),
		cmocka_unit_test(test_policy_count),
		cmocka_unit_test(test_policy_decide),
		cmocka_unit_test(test_policy_no_source),
		cmocka_unit_test(test_not_image),
		cmocka_unit_test(test_policy_init),
		cmocka_unit_test(test_retry_at),
		cmocka_unit_test(test_text_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
