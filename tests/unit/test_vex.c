/* test_vex.c: real OpenVEX documents (tests/data/openvex/SOURCE.md) and
 * CycloneDX VEX (tests/data/cyclonedx-vex/SOURCE.md) applied to reports
 * of the images they name, and of others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "scanner/scanner.h"

#define DATA "tests/data/openvex/"

static void add_file(struct scan_vex *v, const char *name)
{
	struct err e = ERR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(name, "rb");

	assert_non_null(f);
	len = fread(text = malloc(1 << 20), 1, 1 << 20, f);
	fclose(f);
	assert_int_equal(scan_vex_add(v, name, text, len, &e), 0);
	free(text);
}

/* An image report: repository, digest, and findings given as
 * "id|package purl|severity" (a package per finding). */
static json_t *report(const char *repo, const char *dg, const char **f,
		      size_t n)
{
	json_t *r =
		json_pack("{s:{s:s, s:s}, s:[], s:[], s:{s:i, s:i, s:i, "
			  "s:i, s:i}}",
			  "image", "repository", repo, "digest", dg, "packages",
			  "vulnerabilities", "counts", "critical", 0, "high", 0,
			  "medium", 0, "low", 0, "unknown", 0);

	for (size_t i = 0; i < n; i++) {
		char id[64], purl[256], sev[16];
		json_t *p;

		assert_int_equal(
			sscanf(f[i], "%63[^|]|%255[^|]|%15s", id, purl, sev),
			3);
		p = json_pack("{s:s, s:s}", "name", "x", "purl", purl);
		json_array_append(json_object_get(r, "packages"), p);
		json_array_append_new(json_object_get(r, "vulnerabilities"),
				      json_pack("{s:s, s:[], s:o, s:s}", "id",
						id, "aliases", "package", p,
						"severity", sev));
	}
	return r;
}

static const char *ids(const json_t *r, const char *key, char *buf, size_t n)
{
	const json_t *v;
	size_t i;

	buf[0] = 0;
	json_array_foreach(json_object_get(r, key), i, v) {
		strncat(buf, json_string_value(json_object_get(v, "id")),
			n - strlen(buf) - 2);
		strncat(buf, " ", n - strlen(buf) - 1);
	}
	return buf;
}

#define ALPINE_DG                                                              \
	"sha256:"                                                              \
	"124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"

/* The reference document: fixed and not_affected for the image it names;
 * purls with qualifiers match the document's plainer ones. */
static void test_go_vex(void **state)
{
	const char *f[] = {
		"CVE-2023-1255|pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64&"
		"distro=3.17.4|high",
		"CVE-2023-3446|pkg:apk/alpine/"
		"libcrypto3@3.0.8-r3?distro=3.17.4|"
		"medium",
		"CVE-2023-3446|pkg:apk/alpine/libssl3@3.0.9-r0|medium",
		"CVE-2023-9999|pkg:apk/alpine/libssl3@3.0.8-r3|low",
	};
	struct scan_vex *v = scan_vex_new();
	json_t *r = report("library/alpine", ALPINE_DG, f, 4), *s;
	char buf[256];

	(void)state;
	add_file(v, DATA "go-vex-v0.2.0.json");
	scan_vex_apply(v, r);
	assert_string_equal(ids(r, "suppressed", buf, sizeof(buf)),
			    "CVE-2023-1255 CVE-2023-3446 ");
	/* Another version of libssl3, and a CVE it does not name. */
	assert_string_equal(ids(r, "vulnerabilities", buf, sizeof(buf)),
			    "CVE-2023-3446 CVE-2023-9999 ");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(r, "counts"), "medium")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(r, "counts"), "high")),
			 0);
	s = json_object_get(json_array_get(json_object_get(r, "suppressed"), 1),
			    "vex");
	assert_string_equal(json_string_value(json_object_get(s, "status")),
			    "not_affected");
	assert_string_equal(
		json_string_value(json_object_get(s, "justification")),
		"vulnerable_code_not_present");
	assert_string_equal(json_string_value(json_object_get(s, "document")),
			    DATA "go-vex-v0.2.0.json");
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(r, "vex"), 0)),
		DATA "go-vex-v0.2.0.json");
	json_decref(r);

	/* The same packages in another image: nothing applies. */
	r = report("library/alpine",
		   "sha256:0000000000000000000000000000000000000000000000000000"
		   "000000000000",
		   f, 4);
	scan_vex_apply(v, r);
	assert_null(json_object_get(r, "suppressed"));
	assert_null(json_object_get(r, "vex"));
	json_decref(r);
	scan_vex_free(v);
}

/* Trivy's VEX for its own image must not suppress the same busybox CVEs
 * in an alpine image; in the trivy image it does. */
static void test_trivy(void **state)
{
	const char *f[] = {
		"CVE-2023-42363|pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64&"
		"distro=3.18.4|medium",
	};
	struct scan_vex *v = scan_vex_new();
	json_t *r = report("library/alpine", ALPINE_DG, f, 1);

	(void)state;
	add_file(v, DATA "trivy-oci.openvex.json");
	scan_vex_apply(v, r);
	assert_null(json_object_get(r, "suppressed"));
	json_decref(r);
	r = report("aquasec/trivy", ALPINE_DG, f, 1);
	scan_vex_apply(v, r);
	assert_int_equal(json_array_size(json_object_get(r, "suppressed")), 1);
	assert_int_equal(json_array_size(json_object_get(r, "vulnerabilities")),
			 0);
	json_decref(r);
	scan_vex_free(v);
}

/* under_investigation is shown, marked. */
static void test_under_investigation(void **state)
{
	const char *f[] = {"CVE-9876-54321|pkg:apk/wolfi/bash@1.0.0|high"};
	struct scan_vex *v = scan_vex_new();
	json_t *r = report("wolfi/bash", ALPINE_DG, f, 1), *x;

	(void)state;
	add_file(v, DATA "go-vex-v020-1.vex.json");
	scan_vex_apply(v, r);
	assert_int_equal(json_array_size(json_object_get(r, "vulnerabilities")),
			 1);
	x = json_object_get(
		json_array_get(json_object_get(r, "vulnerabilities"), 0),
		"vex");
	assert_string_equal(json_string_value(json_object_get(x, "status")),
			    "under_investigation");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(r, "counts"), "high")),
			 1);
	json_decref(r);
	scan_vex_free(v);
}

/* Documents a reader must refuse, with the reason. */
static void test_bad(void **state)
{
	static const char *const bad[] = {
		"{",
		"{\"@context\":\"https://example.com\",\"statements\":[]}",
		"{\"@context\":\"https://openvex.dev/ns/v0.2.0\"}",
		"{\"@context\":\"https://openvex.dev/ns/"
		"v0.2.0\",\"statements\":"
		"[{\"vulnerability\":{\"name\":\"CVE-1\"},\"status\":"
		"\"not_affected\"}]}",
		"{\"@context\":\"https://openvex.dev/ns/"
		"v0.2.0\",\"statements\":"
		"[{\"vulnerability\":{\"name\":\"CVE-1\"},\"status\":\"maybe\"}"
		"]}",
		"{\"@context\":\"https://openvex.dev/ns/"
		"v0.2.0\",\"statements\":"
		"[{\"status\":\"fixed\"}]}",
	};
	struct scan_vex *v = scan_vex_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct err e = ERR_INIT;

		assert_int_equal(
			scan_vex_add(v, "bad.json", bad[i], strlen(bad[i]), &e),
			-1);
		assert_non_null(strstr(e.msg, "bad.json"));
	}
	add_file(v, DATA "trivy-openvex-oci.json");
	scan_vex_free(v);
}

#define CDX "tests/data/cyclonedx-vex/"

static json_int_t count(const json_t *r, const char *sev)
{
	return json_integer_value(
		json_object_get(json_object_get(r, "counts"), sev));
}

/* Member key of the "vex" of finding i of list ("suppressed"...). */
static const char *vex_of(const json_t *r, const char *list, size_t i,
			  const char *key)
{
	return json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(r, list), i),
				"vex"),
		key));
}

/* CycloneDX's independent VEX example: a BOM-Link to jackson-databind's
 * purl, not_affected (code_not_reachable); the SNYK reference is an
 * alias.  Another version of the package is not covered. */
static void test_cdx_vex(void **state)
{
	const char *f[] = {
		"CVE-2020-25649|pkg:maven/com.fasterxml.jackson.core/"
		"jackson-databind@2.10.0?type=jar|high",
		"SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302|pkg:maven/"
		"com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar|"
		"high",
		"CVE-2020-25649|pkg:maven/com.fasterxml.jackson.core/"
		"jackson-databind@2.12.0|high",
	};
	struct scan_vex *v = scan_vex_new();
	json_t *r = report("acme/app", ALPINE_DG, f, 3);
	char buf[256];

	(void)state;
	add_file(v, CDX "vex.json");
	scan_vex_apply(v, r);
	assert_string_equal(ids(r, "suppressed", buf, sizeof(buf)),
			    "CVE-2020-25649 "
			    "SNYK-JAVA-COMFASTERXMLJACKSONCORE-1048302 ");
	assert_string_equal(ids(r, "vulnerabilities", buf, sizeof(buf)),
			    "CVE-2020-25649 ");
	assert_int_equal(count(r, "high"), 1);
	assert_string_equal(vex_of(r, "suppressed", 0, "status"),
			    "not_affected");
	assert_string_equal(vex_of(r, "suppressed", 0, "justification"),
			    "code_not_reachable");
	assert_non_null(strstr(vex_of(r, "suppressed", 0, "impact_statement"),
			       "not reachable"));
	assert_string_equal(vex_of(r, "suppressed", 0, "document"),
			    CDX "vex.json");
	json_decref(r);
	scan_vex_free(v);
}

/* CISA's use case 1 in CycloneDX: each state is read; their products are
 * bom-refs of a component without a purl, so no package is covered. */
static void test_cdx_cisa(void **state)
{
	static const char *const files[] = {
		CDX "cisa-case1-vex-not_affected.json",
		CDX "cisa-case1-vex-affected.json",
		CDX "cisa-case1-vex-fixed.json",
		CDX "cisa-case1-vex-under_investigation.json",
	};
	const char *f[] = {"CVE-2021-44228|pkg:maven/org.apache.logging.log4j/"
			   "log4j-core@2.14.1|critical"};
	struct scan_vex *v = scan_vex_new();
	json_t *r = report("acme/abc", ALPINE_DG, f, 1);

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++)
		add_file(v, files[i]);
	assert_int_equal(scan_vex_count(v), 4);
	scan_vex_apply(v, r);
	assert_null(json_object_get(r, "suppressed"));
	assert_false(scan_vex_applied(r));
	json_decref(r);
	scan_vex_free(v);
}

/* Each analysis state as its OpenVEX status; a bom-ref resolved through
 * the BOM's (nested) components; a BOM without analyses is no VEX. */
static void test_cdx_states(void **state)
{
	static const char *const states[][2] = {
		{"not_affected", "s"}, {"false_positive", "s"},
		{"resolved", "s"},     {"resolved_with_pedigree", "s"},
		{"exploitable", "k"},  {"in_triage", "k"},
	};
	static const char *const sbom =
		"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\","
		"\"components\":[{\"bom-ref\":\"a\",\"name\":\"a\","
		"\"purl\":\"pkg:npm/a@1\"}]}";
	const char *f[] = {"CVE-1|pkg:npm/lodash@4.17.15|critical"};

	(void)state;
	for (size_t i = 0; i < sizeof(states) / sizeof(*states); i++) {
		struct scan_vex *v = scan_vex_new();
		json_t *r = report("acme/app", ALPINE_DG, f, 1);
		struct err e = ERR_INIT;
		char doc[1024];
		int n;

		n = snprintf(
			doc, sizeof(doc),
			"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\","
			"\"components\":[{\"bom-ref\":\"app\",\"name\":\"app\","
			"\"components\":[{\"bom-ref\":\"lodash-ref\","
			"\"name\":\"lodash\",\"purl\":\"pkg:npm/"
			"lodash@4.17.15\"}]}],"
			"\"vulnerabilities\":[{\"id\":\"CVE-1\",\"analysis\":"
			"{\"state\":\"%s\"},\"affects\":[{\"ref\":\"lodash-"
			"ref\"}]}]}",
			states[i][0]);
		assert_true(n > 0 && (size_t)n < sizeof(doc));
		assert_int_equal(
			scan_vex_add(v, "d.json", doc, strlen(doc), &e), 0);
		scan_vex_apply(v, r);
		assert_non_null(vex_of(r,
				       *states[i][1] == 's' ? "suppressed"
							    : "vulnerabilities",
				       0, "status"));
		assert_int_equal(count(r, "critical"),
				 *states[i][1] == 's' ? 0 : 1);
		json_decref(r);
		scan_vex_free(v);
	}
	{
		struct scan_vex *v = scan_vex_new();
		struct err e = ERR_INIT;

		assert_int_equal(
			scan_vex_add(v, "sbom.json", sbom, strlen(sbom), &e),
			-1);
		assert_non_null(strstr(e.msg, "not VEX"));
		scan_vex_free(v);
	}
}

/* Statements about a whole repository are kept from a document, the
 * others dropped; cleared reports lose what VEX added. */
static void test_wide(void **state)
{
	static const char *const doc =
		"{\"@context\":\"https://openvex.dev/ns/"
		"v0.2.0\",\"statements\":["
		"{\"vulnerability\":{\"name\":\"CVE-1\"},\"status\":\"fixed\","
		"\"products\":[{\"@id\":\"pkg:oci/app\"}]},"
		"{\"vulnerability\":{\"name\":\"CVE-2\"},\"status\":\"fixed\","
		"\"products\":[{\"@id\":\"pkg:oci/app@" ALPINE_DG "\"}]}]}";
	const char *f[] = {"CVE-1|pkg:npm/a@1|high", "CVE-2|pkg:npm/b@1|high"};
	struct scan_vex *v = scan_vex_new(), *all = scan_vex_new();
	json_t *r = report("acme/app", ALPINE_DG, f, 2);
	struct err e = ERR_INIT;
	char buf[64];

	(void)state;
	assert_int_equal(scan_vex_add_wide(v, "w", doc, strlen(doc), &e), 0);
	scan_vex_merge(all, v);
	assert_true(scan_vex_has(all, "w"));
	scan_vex_apply(all, r);
	assert_string_equal(ids(r, "suppressed", buf, sizeof(buf)), "CVE-1 ");
	assert_true(scan_vex_applied(r));
	scan_vex_clear(r);
	assert_false(scan_vex_applied(r));
	assert_null(json_object_get(r, "suppressed"));
	json_decref(r);
	scan_vex_free(v);
	scan_vex_free(all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_vex),
		cmocka_unit_test(test_trivy),
		cmocka_unit_test(test_under_investigation),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_cdx_vex),
		cmocka_unit_test(test_cdx_cisa),
		cmocka_unit_test(test_cdx_states),
		cmocka_unit_test(test_wide),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
