/* test_jstream.c: streaming JSON at one depth (common/jstream.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/jstream.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/banned.h"

/* Each value handed over, as "key/key=json;". */
static int collect(void *ctx, const char *const *keys, size_t depth, json_t *v,
		   struct err *e)
{
	struct buf *b = ctx;
	char *s =
		json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	(void)e;
	for (size_t i = 0; i < depth; i++)
		buf_addf(b, "%s%s", i ? "/" : "", keys[i] ? keys[i] : "[]");
	buf_addf(b, "=%s;", s);
	free(s);
	return 0;
}

/* Feeds text in pieces of step bytes. */
static int run(const char *text, size_t depth, size_t step, size_t max,
	       struct buf *out, struct err *e)
{
	struct jstream *js = jstream_new(depth, max, collect, out);
	size_t len = strlen(text);
	int ret = 0;

	*e = (struct err)ERR_INIT;

	for (size_t i = 0; i < len && !ret; i += step)
		ret = jstream_feed(js, text + i,
				   len - i < step ? len - i : step, e);
	if (!ret)
		ret = jstream_end(js, e);
	jstream_free(js);
	return ret;
}

static void test_depths(void **state)
{
	static const char doc[] =
		"{\"curl\": {\"CVE-1\": {\"r\": [1, 2.5, null]}, "
		"\"CVE-2\": {\"x\": true}}, \"format\": \"T\", "
		"\"list\": [{\"a\": \"\\u00e9\"}, 7]}";
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;

	(void)state;
	for (size_t step = 1; step <= sizeof(doc); step += 7) {
		buf_reset(&b);
		assert_int_equal(run(doc, 2, step, 0, &b, &e), 0);
		assert_string_equal(b.buf,
				    "curl/CVE-1={\"r\":[1,2.5,null]};"
				    "curl/CVE-2={\"x\":true};format=\"T\";"
				    "list/[]={\"a\":\"\xc3\xa9\"};list/[]=7;");
	}
	buf_reset(&b);
	assert_int_equal(run(doc, 1, 4096, 0, &b, &e), 0);
	assert_non_null(strstr(b.buf, "curl={\"CVE-1\":{\"r\":[1,2.5,null]},"
				      "\"CVE-2\":{\"x\":true}};"));
	buf_release(&b);
}

static void test_bad_input(void **state)
{
	struct buf b = BUF_INIT;
	struct err e = ERR_INIT;
	char deep[200];

	(void)state;
	assert_int_equal(run("{\"a\": {\"b\": [1, }}", 2, 3, 0, &b, &e), -1);
	assert_int_equal(e.code, ERR_INVALID);
	assert_non_null(strstr(e.msg, "byte"));
	/* Truncated: only the end can tell. */
	assert_int_equal(run("{\"a\": {\"b\": 1}", 2, 64, 0, &b, &e), -1);
	/* A value over its budget, checked while it is still being read. */
	assert_int_equal(run("{\"a\": {\"b\": [\"0123456789\", \"0123456789\","
			     " \"0123456789\"]}}",
			     2, 5, 20, &b, &e),
			 -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	assert_int_equal(run("{\"a\": {\"b\": [\"0\"]}}", 2, 5, 20, &b, &e), 0);
	memset(deep, '[', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	assert_int_equal(run(deep, 1, 64, 0, &b, &e), -1);
	assert_int_equal(e.code, ERR_TOO_LARGE);
	buf_release(&b);
}

static int stop_at_second(void *ctx, const char *const *keys, size_t depth,
			  json_t *v, struct err *e)
{
	int *n = ctx;

	(void)keys, (void)depth, (void)v;
	if (++*n == 2)
		return err_set(e, ERR_INVALID, "stop here");
	return 0;
}

static void test_callback_stops(void **state)
{
	struct jstream *js;
	struct err e = ERR_INIT;
	int n = 0;

	(void)state;
	js = jstream_new(1, 0, stop_at_second, &n);
	assert_int_equal(jstream_feed(js, "[1, 2, 3]", 9, &e), -1);
	assert_string_equal(e.msg, "stop here");
	assert_int_equal(n, 2);
	assert_int_equal(jstream_end(js, &e), -1);
	jstream_free(js);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_depths),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
