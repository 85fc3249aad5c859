/* test_parse.c: the API's edge parsers: names, tags, references, ranges,
 * paging, media types, the route table and manifest checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/api_int.h"
#include "registry/parse_int.h"

#define UNUSED __attribute__((unused))

#define DG_A                                                                   \
	"sha256:"                                                              \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DG_B                                                                   \
	"sha256:"                                                              \
	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DG_C                                                                   \
	"sha256:"                                                              \
	"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static bool name_ok(const char *s)
{
	return reg_name_valid(s, strlen(s));
}

static void test_names(void **state UNUSED)
{
	static const char *const good[] = {
		"a",
		"library/alpine",
		"a0/b1/c2",
		"foo.bar",
		"foo_bar",
		"foo__bar",
		"foo-bar",
		"foo---bar",
		"a.b_c__d-e--f/g",
		"docker.io/library/alpine",
		"0",
		"9a/8b",
	};
	static const char *const bad[] = {
		"",	    "A",	"Foo",	    "foo/",	 "/foo",
		"foo//bar", "..",	"a/../b",   "./a",	 "a/.",
		"foo.",	    ".foo",	"foo..bar", "foo___bar", "foo._bar",
		"foo_.bar", "foo-.bar", "foo-",	    "-foo",	 "_foo",
		"foo bar",  "foo:bar",	"foo@bar",  "foo%2fbar", "a/b/",
		"a\\b",	    "foo\tbar", "é",
	};
	char big[300], out[REG_NAME_MAX + 1];
	struct err e = ERR_INIT;

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (name_ok(bad[i]))
			fail_msg("accepted bad name '%s'", bad[i]);
	}
	/* The length cap: 255 is fine, 256 is not. */
	memset(big, 'a', sizeof(big));
	assert_true(reg_name_valid(big, 255));
	assert_false(reg_name_valid(big, 256));
	assert_int_equal(reg_parse_name(big, 256, out, &e), -1);
	assert_int_equal(e.code, ERR_NAME_INVALID);
	assert_non_null(strstr(e.msg, "256"));
	err_clear(&e);
	assert_int_equal(reg_parse_name("a/b", 3, out, &e), 0);
	assert_string_equal(out, "a/b");
	/* (ptr, len): bytes past len do not count. */
	assert_int_equal(reg_parse_name("ab/", 2, out, &e), 0);
	assert_string_equal(out, "ab");
	assert_int_equal(reg_parse_name("UP", 2, out, &e), -1);
	assert_int_equal(e.code, ERR_NAME_INVALID);
}

static void test_tags(void **state UNUSED)
{
	char big[200];

	assert_true(reg_tag_valid("latest", 6));
	assert_true(reg_tag_valid("_x", 2));
	assert_true(reg_tag_valid("v1.2.3-rc.1_A", 13));
	assert_true(reg_tag_valid("sha256-abc", 10));
	assert_false(reg_tag_valid("", 0));
	assert_false(reg_tag_valid(".x", 2));
	assert_false(reg_tag_valid("-x", 2));
	assert_false(reg_tag_valid("a/b", 3));
	assert_false(reg_tag_valid("a:b", 3));
	assert_false(reg_tag_valid("a b", 3));
	assert_false(reg_tag_valid("a+b", 3));
	memset(big, 'x', sizeof(big));
	assert_true(reg_tag_valid(big, 128));
	assert_false(reg_tag_valid(big, 129));
}

static void test_refs(void **state UNUSED)
{
	struct err e = ERR_INIT;
	struct reg_ref r;

	assert_int_equal(reg_parse_ref("latest", 6, &r, &e), 0);
	assert_false(r.is_digest);
	assert_string_equal(r.tag, "latest");
	assert_int_equal(reg_parse_ref(DG_A, strlen(DG_A), &r, &e), 0);
	assert_true(r.is_digest);
	assert_int_equal(r.digest.alg, DIGEST_SHA256);
	assert_int_equal(r.digest.hex[0], 'a');

	assert_int_equal(reg_parse_ref("sha256:abc", 10, &r, &e), -1);
	assert_int_equal(e.code, ERR_DIGEST_INVALID);
	err_clear(&e);
	assert_int_equal(reg_parse_ref("md5:abc", 7, &r, &e), -1);
	assert_int_equal(e.code, ERR_DIGEST_INVALID);
	err_clear(&e);
	assert_int_equal(reg_parse_ref("-bad", 4, &r, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_INVALID);
	err_clear(&e);
	/* Upper-case hex is not canonical. */
	assert_int_equal(reg_parse_ref("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				       71, &r, &e),
			 -1);
}

static void test_upload_ids(void **state UNUSED)
{
	assert_true(reg_upload_id_valid("0b5f2a9e-7c1d-4e0f-9a3b-2c4d6e8f0a1b",
					36));
	assert_false(reg_upload_id_valid("", 0));
	assert_false(reg_upload_id_valid("..", 2));
	assert_false(reg_upload_id_valid("a/b", 3));
	assert_false(reg_upload_id_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 40));
}

static int cr(const char *s, int64_t *a, int64_t *b, enum err_code *code)
{
	struct err e = ERR_INIT;
	int rc = reg_parse_content_range(s, strlen(s), a, b, &e);

	*code = e.code;
	return rc;
}

static void test_content_range(void **state UNUSED)
{
	static const char *const bad[] = {
		"",	     "-",
		"0-",	     "-5",
		"a-b",	     "0-1-2",
		" 0-1",	     "0-1 ",
		"bytes 0-1", "bytes=0-1",
		"0-1/2",     "+0-1",
		"0x1-2",     "99999999999999999999-1",
	};
	enum err_code code;
	int64_t a, b;

	assert_int_equal(cr("0-0", &a, &b, &code), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 0);
	assert_int_equal(cr("100-199", &a, &b, &code), 0);
	assert_int_equal(a, 100);
	assert_int_equal(b, 199);
	assert_int_equal(
		cr("9223372036854775806-9223372036854775807", &a, &b, &code),
		0);
	assert_int_equal(b, INT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (cr(bad[i], &a, &b, &code) == 0)
			fail_msg("accepted Content-Range '%s'", bad[i]);
		assert_int_equal(code, ERR_BLOB_UPLOAD_INVALID);
	}
	assert_int_equal(cr("5-4", &a, &b, &code), -1);
	assert_int_equal(code, ERR_RANGE_INVALID);
}

static void test_paging(void **state UNUSED)
{
	struct err e = ERR_INIT;
	long n;

	assert_int_equal(reg_parse_page_n(NULL, 100, &n, &e), 0);
	assert_int_equal(n, -1);
	assert_int_equal(reg_parse_page_n("0", 100, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_int_equal(reg_parse_page_n("42", 100, &n, &e), 0);
	assert_int_equal(n, 42);
	assert_int_equal(reg_parse_page_n("1000", 100, &n, &e), 0);
	assert_int_equal(n, 100);
	assert_int_equal(
		reg_parse_page_n("99999999999999999999999", 100, &n, &e), -1);
	/* PAGINATION_NUMBER_INVALID on the wire, not UNSUPPORTED. */
	assert_int_equal(e.code, ERR_PAGINATION_INVALID);
	err_clear(&e);
	assert_int_equal(reg_parse_page_n("", 100, &n, &e), -1);
	assert_int_equal(e.code, ERR_PAGINATION_INVALID);
	err_clear(&e);
	assert_int_equal(reg_parse_page_n("-1", 100, &n, &e), -1);
	assert_int_equal(e.code, ERR_PAGINATION_INVALID);
	err_clear(&e);
	assert_int_equal(reg_parse_page_n("1a", 100, &n, &e), -1);
	assert_int_equal(e.code, ERR_PAGINATION_INVALID);
	err_clear(&e);

	assert_int_equal(reg_parse_last(NULL, true, &e), 0);
	assert_int_equal(reg_parse_last("", true, &e), 0);
	assert_int_equal(reg_parse_last("v1.0", true, &e), 0);
	assert_int_equal(reg_parse_last("a/b", false, &e), 0);
	assert_int_equal(reg_parse_last("a/b", true, &e), -1);
	assert_int_equal(e.code, ERR_TAG_INVALID);
	err_clear(&e);
	assert_int_equal(reg_parse_last("Abc", false, &e), -1);
	assert_int_equal(e.code, ERR_NAME_INVALID);
}

static void test_media_type(void **state UNUSED)
{
	char out[REG_MEDIA_TYPE_MAX + 1], big[400];
	struct err e = ERR_INIT;

	assert_int_equal(reg_parse_media_type(NULL, out, &e), 0);
	assert_string_equal(out, "");
	assert_int_equal(reg_parse_media_type("", out, &e), 0);
	assert_string_equal(out, "");
	assert_int_equal(
		reg_parse_media_type(
			"application/vnd.oci.image.manifest.v1+json", out, &e),
		0);
	assert_string_equal(out, "application/vnd.oci.image.manifest.v1+json");
	assert_int_equal(reg_parse_media_type(
				 " application/json ; charset=utf-8", out, &e),
			 0);
	assert_string_equal(out, "application/json");
	assert_int_equal(reg_parse_media_type("application/json;x=y", out, &e),
			 0);
	assert_string_equal(out, "application/json");
	assert_int_equal(reg_parse_media_type("nonsense", out, &e), -1);
	err_clear(&e);
	assert_int_equal(reg_parse_media_type("a/b/c", out, &e), -1);
	err_clear(&e);
	assert_int_equal(reg_parse_media_type("/json", out, &e), -1);
	err_clear(&e);
	assert_int_equal(reg_parse_media_type("a/b c", out, &e), -1);
	err_clear(&e);
	assert_int_equal(reg_parse_media_type("a\"/b", out, &e), -1);
	err_clear(&e);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '/';
	assert_int_equal(reg_parse_media_type(big, out, &e), -1);
}

/* --- Routes ------------------------------------------------------------- */

static const struct reg_route *route(enum http_method m, const char *path,
				     struct reg_match *out)
{
	reg_route_find(m, path, out);
	return out->route;
}

static void assert_span(const char *p, size_t len, const char *want)
{
	assert_non_null(p);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void test_routes(void **state UNUSED)
{
	struct reg_match m;

	assert_ptr_equal(route(HTTP_M_GET, "/v2/", &m)->handler, api_base);
	assert_ptr_equal(route(HTTP_M_GET, "/v2", &m)->handler, api_base);
	assert_ptr_equal(route(HTTP_M_GET, "/v2/_catalog", &m)->handler,
			 api_catalog);

	assert_ptr_equal(route(HTTP_M_GET, "/v2/a/b/c/tags/list", &m)->handler,
			 api_tags_list);
	assert_span(m.name, m.name_len, "a/b/c");

	assert_ptr_equal(
		route(HTTP_M_PUT, "/v2/lib/x/manifests/v1", &m)->handler,
		api_manifest_put);
	assert_span(m.name, m.name_len, "lib/x");
	assert_span(m.arg, m.arg_len, "v1");
	assert_ptr_equal(route(HTTP_M_HEAD, "/v2/x/manifests/v1", &m)->handler,
			 api_manifest_get);

	/* A repository may be called "blobs", "manifests" or "uploads":
	 * routes are matched from the right. */
	assert_ptr_equal(
		route(HTTP_M_GET, "/v2/blobs/manifests/x", &m)->handler,
		api_manifest_get);
	assert_span(m.name, m.name_len, "blobs");
	assert_ptr_equal(
		route(HTTP_M_POST, "/v2/a/blobs/blobs/uploads/", &m)->handler,
		api_upload_start);
	assert_span(m.name, m.name_len, "a/blobs");
	assert_ptr_equal(route(HTTP_M_POST, "/v2/a/blobs/uploads", &m)->handler,
			 api_upload_start);
	assert_ptr_equal(
		route(HTTP_M_PATCH, "/v2/a/blobs/uploads/u-1", &m)->handler,
		api_upload_patch);
	assert_span(m.arg, m.arg_len, "u-1");
	assert_span(m.name, m.name_len, "a");
	assert_ptr_equal(
		route(HTTP_M_GET, "/v2/uploads/blobs/" DG_A, &m)->handler,
		api_blob_get);
	assert_span(m.name, m.name_len, "uploads");
	assert_span(m.arg, m.arg_len, DG_A);
	assert_ptr_equal(
		route(HTTP_M_GET, "/v2/r/referrers/" DG_B, &m)->handler,
		api_referrers);

	/* Unknown paths and missing pieces. */
	assert_null(route(HTTP_M_GET, "/", &m));
	assert_false(m.path_known);
	assert_null(route(HTTP_M_GET, "/v1/x/tags/list", &m));
	assert_false(m.path_known);
	assert_null(route(HTTP_M_GET, "/v2/tags/list", &m));
	assert_false(m.path_known);
	assert_null(route(HTTP_M_GET, "/v2/x/manifests/", &m));
	assert_false(m.path_known);
	assert_null(route(HTTP_M_GET, "/v2/x/blobs/", &m));
	assert_false(m.path_known);
	assert_null(route(HTTP_M_GET, "/v2/x/nothing", &m));
	assert_false(m.path_known);

	/* A known path with another method: 405 with an Allow list. */
	assert_null(route(HTTP_M_POST, "/v2/x/manifests/v1", &m));
	assert_true(m.path_known);
	assert_string_equal(m.allow, "GET, HEAD, PUT, DELETE");
	assert_null(route(HTTP_M_OTHER, "/v2/x/tags/list", &m));
	assert_true(m.path_known);
	assert_string_equal(m.allow, "GET");
}

static int route_parse(enum http_method meth, const char *path,
		       struct reg_call *c, enum err_code *code)
{
	struct err e = ERR_INIT;
	struct reg_match m;
	int rc;

	memset(c, 0, sizeof(*c));
	reg_route_find(meth, path, &m);
	assert_non_null(m.route);
	rc = reg_route_parse(&m, c, &e);
	*code = e.code;
	return rc;
}

static void test_route_parse(void **state UNUSED)
{
	enum err_code code;
	struct reg_call c;

	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/a/b/manifests/v1", &c, &code), 0);
	assert_string_equal(c.name, "a/b");
	assert_string_equal(c.ref.tag, "v1");
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/a/blobs/" DG_C, &c, &code), 0);
	assert_int_equal(c.digest.hex[0], 'c');
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/a/blobs/uploads/x-1", &c, &code),
		0);
	assert_string_equal(c.upload_id, "x-1");

	/* Path tricks never reach a handler. */
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/../etc/tags/list", &c, &code), -1);
	assert_int_equal(code, ERR_NAME_INVALID);
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/a/./b/tags/list", &c, &code), -1);
	assert_int_equal(code, ERR_NAME_INVALID);
	assert_int_equal(route_parse(HTTP_M_GET, "/v2//a/tags/list", &c, &code),
			 -1);
	assert_int_equal(code, ERR_NAME_INVALID);
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/Abc/tags/list", &c, &code), -1);
	assert_int_equal(code, ERR_NAME_INVALID);
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/a/blobs/sha256:xyz", &c, &code),
		-1);
	assert_int_equal(code, ERR_DIGEST_INVALID);
	/* A reference that is no tag: a GET or HEAD finds nothing (404),
	 * a PUT or DELETE is a bad request. */
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/a/manifests/-x", &c, &code), -1);
	assert_int_equal(code, ERR_MANIFEST_UNKNOWN);
	assert_int_equal(route_parse(HTTP_M_HEAD,
				     "/v2/a/manifests/.INVALID_MANIFEST_NAME",
				     &c, &code),
			 -1);
	assert_int_equal(code, ERR_MANIFEST_UNKNOWN);
	assert_int_equal(
		route_parse(HTTP_M_PUT, "/v2/a/manifests/-x", &c, &code), -1);
	assert_int_equal(code, ERR_MANIFEST_INVALID);
	assert_int_equal(
		route_parse(HTTP_M_DELETE, "/v2/a/manifests/.x", &c, &code),
		-1);
	assert_int_equal(code, ERR_MANIFEST_INVALID);
	/* A malformed digest stays a bad request, GET or not. */
	assert_int_equal(route_parse(HTTP_M_GET, "/v2/a/manifests/sha256:xyz",
				     &c, &code),
			 -1);
	assert_int_equal(code, ERR_DIGEST_INVALID);
	assert_int_equal(
		route_parse(HTTP_M_GET, "/v2/a/blobs/uploads/..", &c, &code),
		-1);
	assert_int_equal(code, ERR_BLOB_UPLOAD_UNKNOWN);
}

/* --- Manifests ---------------------------------------------------------- */

#define OCI_M "application/vnd.oci.image.manifest.v1+json"
#define OCI_I "application/vnd.oci.image.index.v1+json"

static int mparse(const char *body, const char *ct, struct reg_manifest *m,
		  struct err *e)
{
	err_clear(e);
	return reg_manifest_parse(body, strlen(body), ct, m, e);
}

static void test_manifest_image(void **state UNUSED)
{
	const char *body =
		"{\"schemaVersion\":2,\"mediaType\":\"" OCI_M "\","
		"\"config\":{\"mediaType\":\"application/vnd.oci.image.config."
		"v1+json\",\"digest\":\"" DG_A "\",\"size\":10},"
		"\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer."
		"v1.tar+gzip\",\"digest\":\"" DG_B "\",\"size\":20},"
		"{\"mediaType\":\"application/"
		"vnd.oci.image.layer.nondistributable"
		".v1.tar\",\"digest\":\"" DG_C "\",\"size\":30,"
		"\"urls\":[\"https://example.com/l\"]}],"
		"\"subject\":{\"mediaType\":\"" OCI_M "\",\"digest\":\"" DG_C
		"\","
		"\"size\":5},\"annotations\":{\"a\":\"1\",\"b\":\"2\"}}";
	struct err e = ERR_INIT;
	struct reg_manifest m;

	assert_int_equal(mparse(body, OCI_M "; charset=utf-8", &m, &e), 0);
	assert_string_equal(m.media_type, OCI_M);
	assert_int_equal(m.type, OCI_TYPE_MANIFEST);
	assert_int_equal(m.kind, OCI_KIND_IMAGE);
	assert_int_equal(m.ndescs, 3);
	assert_int_equal(m.descs[0].size, 10);
	assert_false(m.descs[1].has_urls);
	assert_true(m.descs[2].has_urls);
	assert_false(m.descs[2].is_manifest);
	assert_false(m.descs[0].external);
	assert_false(m.descs[1].external);
	assert_true(m.descs[2].external);
	assert_true(m.has_subject);
	assert_int_equal(m.subject.hex[0], 'c');
	/* No artifactType: the config's media type stands in. */
	assert_string_equal(m.artifact_type,
			    "application/vnd.oci.image.config.v1+json");
	assert_string_equal(m.annotations_json, "{\"a\":\"1\",\"b\":\"2\"}");
	reg_manifest_release(&m);

	/* No Content-Type, or a generic one: the body decides. */
	assert_int_equal(mparse(body, NULL, &m, &e), 0);
	assert_string_equal(m.media_type, OCI_M);
	reg_manifest_release(&m);
	assert_int_equal(mparse(body, "application/json", &m, &e), 0);
	reg_manifest_release(&m);

	/* Content-Type and mediaType disagree. */
	assert_int_equal(mparse(body, OCI_I, &m, &e), -1);
	assert_int_equal(e.code, ERR_MANIFEST_INVALID);
	assert_non_null(strstr(e.msg, "does not match"));
	reg_manifest_release(&m);
}

static void test_manifest_index(void **state UNUSED)
{
	const char *body =
		"{\"schemaVersion\":2,\"manifests\":["
		"{\"mediaType\":\"" OCI_M "\",\"digest\":\"" DG_A
		"\",\"size\":1,"
		"\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
		"{\"mediaType\":\"" OCI_M "\",\"digest\":\"" DG_B
		"\",\"size\":2}"
		"],\"artifactType\":\"application/x.demo\"}";
	struct err e = ERR_INIT;
	struct reg_manifest m;

	/* No mediaType and no Content-Type: "manifests" makes it an index. */
	assert_int_equal(mparse(body, NULL, &m, &e), 0);
	assert_string_equal(m.media_type, OCI_I);
	assert_int_equal(m.type, OCI_TYPE_INDEX);
	assert_int_equal(m.kind, OCI_KIND_INDEX);
	assert_int_equal(m.ndescs, 2);
	assert_true(m.descs[0].is_manifest);
	assert_true(m.descs[1].is_manifest);
	assert_string_equal(m.artifact_type, "application/x.demo");
	assert_null(m.annotations_json);
	reg_manifest_release(&m);

	assert_int_equal(
		mparse("{\"schemaVersion\":2,\"mediaType\":\"application/vnd."
		       "docker.distribution.manifest.list.v2+json\","
		       "\"manifests\":[]}",
		       "application/"
		       "vnd.docker.distribution.manifest.list.v2+json",
		       &m, &e),
		0);
	assert_int_equal(m.type, OCI_TYPE_INDEX);
	assert_int_equal(m.kind, OCI_KIND_INDEX);
	assert_null(m.artifact_type);
	reg_manifest_release(&m);
}

static void test_manifest_artifact(void **state UNUSED)
{
	struct err e = ERR_INIT;
	struct reg_manifest m;

	/* Any media type the Content-Type names is accepted as is. */
	assert_int_equal(mparse("{\"blobs\":[{\"mediaType\":\"a/b\",\"digest\":"
				"\"" DG_A "\",\"size\":3}]}",
				"application/vnd.example.thing+json", &m, &e),
			 0);
	assert_string_equal(m.media_type, "application/vnd.example.thing+json");
	assert_int_equal(m.type, OCI_TYPE_OTHER);
	assert_int_equal(m.kind, OCI_KIND_ARTIFACT);
	assert_int_equal(m.ndescs, 1);
	reg_manifest_release(&m);

	/* Another type is an artifact even if its body looks like an index:
	 * scans go by what the push said it is. */
	assert_int_equal(mparse("{\"manifests\":[]}",
				"application/vnd.example.thing+json", &m, &e),
			 0);
	assert_int_equal(m.kind, OCI_KIND_ARTIFACT);
	reg_manifest_release(&m);

	/* An image manifest whose config is not an image's (a Helm chart),
	 * or one with an artifactType: artifacts, nothing to scan. */
	assert_int_equal(
		mparse("{\"schemaVersion\":2,\"config\":{\"mediaType\":"
		       "\"application/vnd.cncf.helm.config.v1+json\","
		       "\"digest\":\"" DG_A "\",\"size\":1},\"layers\":[]}",
		       OCI_M, &m, &e),
		0);
	assert_int_equal(m.type, OCI_TYPE_MANIFEST);
	assert_int_equal(m.kind, OCI_KIND_ARTIFACT);
	reg_manifest_release(&m);
	assert_int_equal(
		mparse("{\"schemaVersion\":2,\"artifactType\":\"a/b\","
		       "\"config\":{\"mediaType\":\"application/vnd.oci.image."
		       "config.v1+json\",\"digest\":\"" DG_A "\",\"size\":1},"
		       "\"layers\":[]}",
		       OCI_M, &m, &e),
		0);
	assert_int_equal(m.kind, OCI_KIND_ARTIFACT);
	reg_manifest_release(&m);
}

static void test_manifest_bad(void **state UNUSED)
{
	static const struct {
		const char *body, *ct, *msg;
	} cases[] = {
		{"", OCI_M, "not valid JSON"},
		{"{", OCI_M, "not valid JSON"},
		{"[]", OCI_M, "not a JSON object"},
		{"{\"a\":1,\"a\":2}", OCI_M, "not valid JSON"},
		{"{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", NULL,
		 "schema 1"},
		{"{\"schemaVersion\":2}",
		 "application/vnd.docker.distribution.manifest.v1+prettyjws",
		 "schema 1"},
		{"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker."
		 "distribution.manifest.v1+json\"}",
		 NULL, "schema 1"},
		{"{\"schemaVersion\":3,\"config\":{},\"layers\":[]}", OCI_M,
		 "schemaVersion"},
		{"{\"schemaVersion\":2,\"layers\":[]}", OCI_M, "config"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\","
		 "\"digest\":\"" DG_A "\",\"size\":1}}",
		 OCI_M, "layers"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\","
		 "\"digest\":\"sha256:zz\",\"size\":1},\"layers\":[]}",
		 OCI_M, "config"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\","
		 "\"digest\":\"" DG_A "\",\"size\":-1},\"layers\":[]}",
		 OCI_M, "size"},
		{"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"a/b\","
		 "\"digest\":\"" DG_A "\",\"size\":1},\"layers\":[7]}",
		 OCI_M, "layers[0]"},
		{"{\"schemaVersion\":2,\"config\":{\"digest\":\"" DG_A "\","
		 "\"size\":1},\"layers\":[]}",
		 OCI_M, "mediaType"},
		{"{\"schemaVersion\":2,\"manifests\":{}}", OCI_I, "array"},
		{"{\"schemaVersion\":2,\"manifests\":[],\"subject\":1}", OCI_I,
		 "subject"},
		{"{\"schemaVersion\":2,\"manifests\":[],"
		 "\"annotations\":{\"a\":1}}",
		 OCI_I, "annotation"},
		{"{\"schemaVersion\":2,\"manifests\":[],\"artifactType\":1}",
		 OCI_I, "artifactType"},
		{"{\"schemaVersion\":2,\"mediaType\":7,\"manifests\":[]}", NULL,
		 "mediaType"},
		{"{\"schemaVersion\":2,\"manifests\":[]}", "text",
		 "Content-Type"},
	};
	struct err e = ERR_INIT;
	struct reg_manifest m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		if (mparse(cases[i].body, cases[i].ct, &m, &e) == 0)
			fail_msg("accepted manifest %zu: %s", i, cases[i].body);
		assert_int_equal(e.code, ERR_MANIFEST_INVALID);
		if (!strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg,
				 cases[i].msg);
		reg_manifest_release(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_upload_ids),
		cmocka_unit_test(test_content_range),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_media_type),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_route_parse),
		cmocka_unit_test(test_manifest_image),
		cmocka_unit_test(test_manifest_index),
		cmocka_unit_test(test_manifest_artifact),
		cmocka_unit_test(test_manifest_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
