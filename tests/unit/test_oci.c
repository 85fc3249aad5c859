/* test_oci.c: media types and manifest kinds (common/oci.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "common/digest.h"
#include "common/oci.h"

#include "common/banned.h"

static void test_type_of(void **state)
{
	static const struct {
		const char *mt;
		enum oci_type type;
	} cases[] = {
		{OCI_MT_MANIFEST, OCI_TYPE_MANIFEST},
		{OCI_MT_DOCKER_MANIFEST, OCI_TYPE_MANIFEST},
		{OCI_MT_INDEX, OCI_TYPE_INDEX},
		{OCI_MT_DOCKER_LIST, OCI_TYPE_INDEX},
		{OCI_MT_DOCKER_SCHEMA1, OCI_TYPE_SCHEMA1},
		{OCI_MT_DOCKER_SCHEMA1_SIGNED, OCI_TYPE_SCHEMA1},
		{"application/vnd.example.thing+json", OCI_TYPE_OTHER},
		{OCI_MT_CONFIG, OCI_TYPE_OTHER},
		{"application/json", OCI_TYPE_OTHER},
		{"", OCI_TYPE_OTHER},
		/* Parameters: the caller strips them (reg_parse_media_type). */
		{OCI_MT_MANIFEST "; charset=utf-8", OCI_TYPE_OTHER},
		{NULL, OCI_TYPE_OTHER},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (oci_type_of(cases[i].mt) != cases[i].type)
			fail_msg("case %zu (%s): %d, not %d", i,
				 cases[i].mt ? cases[i].mt : "NULL",
				 oci_type_of(cases[i].mt), cases[i].type);
}

static void test_configs_layers(void **state)
{
	(void)state;
	assert_true(oci_is_image_config(OCI_MT_CONFIG));
	assert_true(oci_is_image_config(OCI_MT_DOCKER_CONFIG));
	assert_false(oci_is_image_config(OCI_MT_EMPTY));
	assert_false(oci_is_image_config(
		"application/vnd.cncf.helm.config.v1+json"));
	assert_false(oci_is_image_config(NULL));

	assert_true(oci_is_layer("application/vnd.oci.image.layer.v1.tar"));
	assert_true(
		oci_is_layer("application/vnd.oci.image.layer.v1.tar+zstd"));
	assert_true(oci_is_layer(
		"application/vnd.docker.image.rootfs.diff.tar.gzip"));
	assert_true(oci_is_layer("application/"
				 "vnd.docker.image.rootfs.foreign.diff.tar."
				 "gzip"));
	assert_false(oci_is_layer("application/vnd.customs.scan.report."
				  "v1+json"));
	assert_false(oci_is_layer(OCI_MT_MANIFEST));
	assert_false(oci_is_layer(NULL));
}

static void test_external_layer(void **state)
{
	(void)state;
	assert_true(oci_is_external_layer("application/vnd.oci.image.layer."
					  "nondistributable.v1.tar+gzip",
					  false));
	assert_true(oci_is_external_layer("application/vnd.oci.image.layer."
					  "nondistributable.v1.tar",
					  false));
	assert_true(oci_is_external_layer("application/vnd.docker.image."
					  "rootfs.foreign.diff.tar.gzip",
					  false));
	/* Any descriptor with urls; none of an ordinary layer without. */
	assert_true(oci_is_external_layer(
		"application/vnd.oci.image.layer.v1.tar+gzip", true));
	assert_true(oci_is_external_layer(NULL, true));
	assert_false(oci_is_external_layer(
		"application/vnd.oci.image.layer.v1.tar+gzip", false));
	assert_false(oci_is_external_layer("application/vnd.docker.image."
					   "rootfs.diff.tar.gzip",
					   false));
	assert_false(oci_is_external_layer(NULL, false));
}

static void test_manifest_kind(void **state)
{
	static const struct {
		const char *body;
		enum oci_kind kind;
	} cases[] = {
		{"{\"mediaType\":\"" OCI_MT_INDEX "\",\"manifests\":[]}",
		 OCI_KIND_INDEX},
		{"{\"mediaType\":\"" OCI_MT_DOCKER_LIST "\"}", OCI_KIND_INDEX},
		/* No mediaType: a manifests array makes an index. */
		{"{\"schemaVersion\":2,\"manifests\":[]}", OCI_KIND_INDEX},
		{"{\"mediaType\":\"a/b\",\"manifests\":[]}", OCI_KIND_ARTIFACT},
		{"{\"manifests\":{}}", OCI_KIND_ARTIFACT},
		{"{\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\"},"
		 "\"layers\":[]}",
		 OCI_KIND_IMAGE},
		{"{\"mediaType\":\"" OCI_MT_DOCKER_MANIFEST "\",\"config\":{"
		 "\"mediaType\":\"" OCI_MT_DOCKER_CONFIG "\"},\"layers\":[]}",
		 OCI_KIND_IMAGE},
		/* Artifacts: their own config type, the empty one, none, an
		 * artifactType, or no layers. */
		{"{\"config\":{\"mediaType\":\"application/vnd.cncf.helm."
		 "config.v1+json\"},\"layers\":[]}",
		 OCI_KIND_ARTIFACT},
		{"{\"config\":{\"mediaType\":\"" OCI_MT_EMPTY "\",\"digest\":"
		 "\"" OCI_EMPTY_DIGEST "\",\"size\":2},\"layers\":[]}",
		 OCI_KIND_ARTIFACT},
		{"{\"config\":{},\"layers\":[]}", OCI_KIND_ARTIFACT},
		{"{\"artifactType\":\"application/vnd.customs.scan.report."
		 "v1+json\",\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\"},"
		 "\"layers\":[]}",
		 OCI_KIND_ARTIFACT},
		{"{\"config\":{\"mediaType\":\"" OCI_MT_CONFIG "\"}}",
		 OCI_KIND_ARTIFACT},
		{"not json", OCI_KIND_ARTIFACT},
		{"[1,2]", OCI_KIND_ARTIFACT},
		{"", OCI_KIND_ARTIFACT},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *b = cases[i].body;
		json_t *root = json_loads(b, 0, NULL);

		if (oci_manifest_kind_of(b, strlen(b)) != cases[i].kind)
			fail_msg("case %zu: %s", i, b);
		assert_int_equal(oci_manifest_kind(root), cases[i].kind);
		json_decref(root);
	}
	assert_int_equal(oci_manifest_kind(NULL), OCI_KIND_ARTIFACT);
}

static void test_attestation(void **state)
{
	static const struct {
		const char *desc;
		bool yes;
	} cases[] = {
		{"{\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}",
		 false},
		{"{\"platform\":{\"os\":\"unknown\",\"architecture\":"
		 "\"unknown\"}}",
		 true},
		{"{\"annotations\":{\"vnd.docker.reference.type\":"
		 "\"attestation-manifest\"}}",
		 true},
		{"{\"annotations\":{\"vnd.docker.reference.type\":\"other\"}}",
		 false},
		{"{}", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *d = json_loads(cases[i].desc, 0, NULL);

		assert_non_null(d);
		if (oci_desc_is_attestation(d) != cases[i].yes)
			fail_msg("case %zu: %s", i, cases[i].desc);
		json_decref(d);
	}
	assert_false(oci_desc_is_attestation(NULL));
}

/* The constants say what they name: the empty blob's digest is "{}"'s. */
static void test_constants(void **state)
{
	char s[DIGEST_STR_MAX];
	struct digest dg;

	(void)state;
	digest_of(DIGEST_SHA256, "{}", 2, &dg);
	assert_string_equal(digest_str(&dg, s), OCI_EMPTY_DIGEST);
	assert_string_equal(OCI_ACCEPT_MANIFESTS,
			    "application/vnd.oci.image.index.v1+json, "
			    "application/vnd.oci.image.manifest.v1+json, "
			    "application/vnd.docker.distribution.manifest."
			    "list.v2+json, "
			    "application/vnd.docker.distribution.manifest."
			    "v2+json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_of),
		cmocka_unit_test(test_configs_layers),
		cmocka_unit_test(test_external_layer),
		cmocka_unit_test(test_manifest_kind),
		cmocka_unit_test(test_attestation),
		cmocka_unit_test(test_constants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
