/* test_reply.c: the error table and the JSON error body.  The HTTP layer's
 * reply calls are wrapped (-Wl,--wrap, see registry/module.mk) so the test
 * sees exactly what would go on the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/digest.h"
#include "registry/http/http.h"
#include "registry/reply_int.h"

#define UNUSED __attribute__((unused))

/* What the wrapped http_reply_* saw. */
static struct {
	int status;
	char ctype[64];
	char body[1024];
	size_t len;
	char headers[1024];
	char note[512]; /* what the access line ends with */
} sent;

void __wrap_http_reply_header(struct http_req *req, const char *name,
			      const char *value);
void __wrap_http_reply_mem(struct http_req *req, int status, const char *ctype,
			   const void *data, size_t len);
void __wrap_http_reply(struct http_req *req, int status, struct evbuffer *body);
const char *__wrap_http_req_id(const struct http_req *req);
const char *__wrap_http_req_method_name(const struct http_req *req);
const char *__wrap_http_req_path(const struct http_req *req);
void __wrap_http_req_log_note(struct http_req *req, const char *note);

void __wrap_http_reply_header(struct http_req *req, const char *name,
			      const char *value)
{
	size_t n = strlen(sent.headers);

	(void)req;
	snprintf(sent.headers + n, sizeof(sent.headers) - n, "%s: %s\n", name,
		 value);
}

void __wrap_http_reply_mem(struct http_req *req, int status, const char *ctype,
			   const void *data, size_t len)
{
	(void)req;
	assert_true(len < sizeof(sent.body));
	sent.status = status;
	snprintf(sent.ctype, sizeof(sent.ctype), "%s", ctype);
	memcpy(sent.body, data, len);
	sent.body[len] = '\0';
	sent.len = len;
}

void __wrap_http_reply(struct http_req *req, int status, struct evbuffer *body)
{
	(void)req;
	assert_null(body);
	sent.status = status;
	sent.len = 0;
}

const char *__wrap_http_req_id(const struct http_req *req)
{
	(void)req;
	return "t-1";
}

const char *__wrap_http_req_method_name(const struct http_req *req)
{
	(void)req;
	return "GET";
}

const char *__wrap_http_req_path(const struct http_req *req)
{
	(void)req;
	return "/v2/x";
}

void __wrap_http_req_log_note(struct http_req *req, const char *note)
{
	(void)req;
	snprintf(sent.note, sizeof(sent.note), "%s", note);
}

static int reset(void **state UNUSED)
{
	memset(&sent, 0, sizeof(sent));
	return 0;
}

/* The OCI spec's 14, and the legacy Docker codes of distribution's API
 * spec it tells clients they may meet. */
static const char *const spec_codes[] = {
	"BLOB_UNKNOWN",
	"BLOB_UPLOAD_INVALID",
	"BLOB_UPLOAD_UNKNOWN",
	"DIGEST_INVALID",
	"MANIFEST_BLOB_UNKNOWN",
	"MANIFEST_INVALID",
	"MANIFEST_UNKNOWN",
	"NAME_INVALID",
	"NAME_UNKNOWN",
	"SIZE_INVALID",
	"UNAUTHORIZED",
	"DENIED",
	"UNSUPPORTED",
	"TOOMANYREQUESTS",
	"PAGINATION_NUMBER_INVALID",
	"RANGE_INVALID",
	"TAG_INVALID",
};

static bool is_spec_code(const char *s)
{
	for (size_t i = 0; i < sizeof(spec_codes) / sizeof(*spec_codes); i++)
		if (!strcmp(s, spec_codes[i]))
			return true;
	return false;
}

static void test_table(void **state UNUSED)
{
	static const struct {
		enum err_code code;
		int status;
	} want[] = {
		{ERR_BLOB_UNKNOWN, 404},
		{ERR_BLOB_UPLOAD_INVALID, 400},
		{ERR_BLOB_UPLOAD_UNKNOWN, 404},
		{ERR_DIGEST_INVALID, 400},
		{ERR_MANIFEST_BLOB_UNKNOWN, 400},
		{ERR_MANIFEST_INVALID, 400},
		{ERR_MANIFEST_UNKNOWN, 404},
		{ERR_NAME_INVALID, 400},
		{ERR_NAME_UNKNOWN, 404},
		{ERR_SIZE_INVALID, 400},
		{ERR_UNAUTHORIZED, 401},
		{ERR_DENIED, 403},
		{ERR_UNSUPPORTED, 405},
		{ERR_TOOMANYREQUESTS, 429},
		{ERR_RANGE_INVALID, 416},
		{ERR_TOO_LARGE, 413},
		{ERR_BUSY, 409},
		{ERR_NOT_FOUND, 404},
		{ERR_INVALID, 400},
		{ERR_PAGINATION_INVALID, 400},
		{ERR_TAG_INVALID, 400},
		{ERR_IO, 500},
		{ERR_NOSPACE, 507},
		{ERR_DB, 500},
		{ERR_INTERNAL, 500},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
		const struct reg_err_info *info = reg_err_info(want[i].code);

		assert_int_equal(info->status, want[i].status);
		assert_non_null(info->text);
		/* A 4xx JSON body MUST use one of the spec's codes. */
		if (info->status < 500 &&
		    !is_spec_code(err_code_name(want[i].code)))
			fail_msg("code %d goes out as %s", want[i].code,
				 err_code_name(want[i].code));
		assert_int_equal(info->internal, info->status >= 500);
		assert_int_equal(info->level == LL_ERROR, info->status >= 500);
	}
	/* Each OCI code keeps its own name on the wire. */
	assert_string_equal(err_code_name(ERR_BLOB_UNKNOWN), "BLOB_UNKNOWN");
	assert_string_equal(err_code_name(ERR_TOOMANYREQUESTS),
			    "TOOMANYREQUESTS");
	/* Ours, as common/err.c says and explains. */
	assert_string_equal(err_code_name(ERR_RANGE_INVALID), "RANGE_INVALID");
	assert_string_equal(err_code_name(ERR_PAGINATION_INVALID),
			    "PAGINATION_NUMBER_INVALID");
	assert_string_equal(err_code_name(ERR_NOT_FOUND), "UNSUPPORTED");
	assert_string_equal(err_code_name(ERR_DB), "UNKNOWN");
	/* Out-of-range codes are internal errors, not crashes. */
	assert_int_equal(reg_err_info(ERR__COUNT)->status, 500);
	assert_int_equal(reg_err_info((enum err_code) - 3)->status, 500);
}

/* Parses body and checks it has one error with these fields. */
static void check_body(const char *body, const char *code, const char *msg)
{
	json_t *root = json_loads(body, 0, NULL), *errors, *e0;

	assert_non_null(root);
	assert_int_equal(json_object_size(root), 1);
	errors = json_object_get(root, "errors");
	assert_true(json_is_array(errors));
	assert_int_equal(json_array_size(errors), 1);
	e0 = json_array_get(errors, 0);
	assert_string_equal(json_string_value(json_object_get(e0, "code")),
			    code);
	assert_string_equal(json_string_value(json_object_get(e0, "message")),
			    msg);
	assert_true(json_is_string(json_object_get(e0, "detail")));
	json_decref(root);
}

static void test_body(void **state UNUSED)
{
	struct err e = ERR_INIT;
	struct buf b = BUF_INIT;

	err_set(&e, ERR_BLOB_UNKNOWN, "blob %s \"quoted\"", "sha256:x");
	assert_int_equal(reg_error_body(&e, &b), 0);
	check_body(b.buf, "BLOB_UNKNOWN", "blob sha256:x \"quoted\"");
	buf_release(&b);

	/* No message: the table's text. */
	err_clear(&e);
	e.code = ERR_NAME_UNKNOWN;
	assert_int_equal(reg_error_body(&e, &b), 0);
	check_body(b.buf, "NAME_UNKNOWN",
		   "repository name not known to registry");
	buf_release(&b);

	/* Internal errors never leak their detail. */
	err_clear(&e);
	err_set(&e, ERR_DB, "sqlite: disk I/O error at /secret/path");
	assert_int_equal(reg_error_body(&e, &b), 0);
	assert_null(strstr(b.buf, "secret"));
	check_body(b.buf, "UNKNOWN", "internal server error");
	buf_release(&b);

	/* Client bytes quoted in a message cannot break the JSON (which
	 * must be UTF-8) or the log line. */
	err_clear(&e);
	err_set(&e, ERR_NAME_INVALID, "bad \xff\n\x01name");
	assert_int_equal(reg_error_body(&e, &b), 0);
	check_body(b.buf, "NAME_INVALID", "bad ???name");
	buf_release(&b);
}

static void test_reply_error(void **state UNUSED)
{
	struct err e = ERR_INIT;

	err_set(&e, ERR_MANIFEST_UNKNOWN, "manifest v1 unknown");
	reg_reply_error(NULL, &e);
	assert_int_equal(sent.status, 404);
	assert_string_equal(sent.ctype, "application/json");
	assert_non_null(
		strstr(sent.headers,
		       "Docker-Distribution-API-Version: registry/2.0\n"));
	check_body(sent.body, "MANIFEST_UNKNOWN", "manifest v1 unknown");
	/* A client's error is said once, on the access line. */
	assert_string_equal(sent.note, "MANIFEST_UNKNOWN: manifest v1 unknown");

	reset(NULL);
	reg_reply_errorf(NULL, ERR_NOSPACE, "write %s: No space left", "/d/x");
	assert_int_equal(sent.status, 507);
	/* Ours gets a line of its level (with the path), no note. */
	assert_string_equal(sent.note, "");
	assert_null(strstr(sent.body, "/d/x"));
	check_body(sent.body, "UNKNOWN", "insufficient storage");

	reset(NULL);
	reg_reply_errorf(NULL, ERR_TOO_LARGE, "manifest over %d", 4);
	assert_int_equal(sent.status, 413);
	check_body(sent.body, "SIZE_INVALID", "manifest over 4");
}

/* One table of wire names: what goes out is err_code_name()'s, for every
 * code; an error reply without an error is an internal one. */
static void test_one_table(void **state UNUSED)
{
	struct buf b = BUF_INIT;
	json_t *root;

	for (int c = ERR_OK + 1; c < ERR__COUNT; c++) {
		struct err e = ERR_INIT;

		err_set(&e, (enum err_code)c, "x");
		assert_int_equal(reg_error_body(&e, &b), 0);
		root = json_loads(b.buf, 0, NULL);
		assert_string_equal(
			json_string_value(json_object_get(
				json_array_get(json_object_get(root, "errors"),
					       0),
				"code")),
			err_code_name((enum err_code)c));
		json_decref(root);
		buf_release(&b);
	}
	reg_reply_errorf(NULL, ERR_OK, "oops");
	assert_int_equal(sent.status, 500);
	check_body(sent.body, "UNKNOWN", "internal server error");
	reset(NULL);
	/* A 416 on a blob GET: RANGE_INVALID, not an upload's code. */
	reg_reply_errorf(NULL, ERR_RANGE_INVALID, "range not satisfiable");
	assert_int_equal(sent.status, 416);
	check_body(sent.body, "RANGE_INVALID", "range not satisfiable");
}

static void test_reply_json(void **state UNUSED)
{
	reg_reply_json(NULL, 200, json_object());
	assert_int_equal(sent.status, 200);
	assert_string_equal(sent.body, "{}");
	assert_string_equal(sent.ctype, "application/json");
	assert_non_null(
		strstr(sent.headers, "Docker-Distribution-API-Version"));

	reset(NULL);
	reg_reply_status(NULL, 202);
	assert_int_equal(sent.status, 202);
	assert_non_null(
		strstr(sent.headers, "Docker-Distribution-API-Version"));

	/* A failed json_pack (NULL) becomes a 500, not a crash. */
	reset(NULL);
	reg_reply_json(NULL, 200, NULL);
	assert_int_equal(sent.status, 500);
}

/* The one manifest reply (API and pull-through): the bytes under their own
 * type, the digest and its ETag. */
static void test_reply_manifest(void **state UNUSED)
{
	static const char body[] = "{\"schemaVersion\":2}";
	struct digest dg;
	char want[3 * DIGEST_STR_MAX], ds[DIGEST_STR_MAX];

	digest_of(DIGEST_SHA256, body, strlen(body), &dg);
	reg_reply_manifest(NULL, &dg, "application/vnd.oci.image.index.v1+json",
			   body, strlen(body));
	assert_int_equal(sent.status, 200);
	assert_string_equal(sent.ctype,
			    "application/vnd.oci.image.index.v1+json");
	assert_string_equal(sent.body, body);
	snprintf(want, sizeof(want),
		 "Docker-Content-Digest: %s\nETag: \"%s\"\n"
		 "Docker-Distribution-API-Version: registry/2.0\n",
		 digest_str(&dg, ds), ds);
	assert_string_equal(sent.headers, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_table, reset),
		cmocka_unit_test_setup(test_body, reset),
		cmocka_unit_test_setup(test_reply_error, reset),
		cmocka_unit_test_setup(test_one_table, reset),
		cmocka_unit_test_setup(test_reply_json, reset),
		cmocka_unit_test_setup(test_reply_manifest, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
