/* test_digest.c: algorithm names, the order of digests and sort-unique
 * (common/digest.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/digest.h"

#include "common/banned.h"

static struct digest dg(enum digest_alg alg, char c)
{
	struct digest d;

	memset(&d, 0, sizeof(d));
	d.alg = alg;
	memset(d.hex, c, digest_hex_len(alg));
	return d;
}

static void test_cmp(void **state)
{
	struct digest a = dg(DIGEST_SHA256, 'a'), b = dg(DIGEST_SHA256, 'b');
	struct digest a5 = dg(DIGEST_SHA512, 'a');

	(void)state;
	assert_int_equal(digest_cmp(&a, &a), 0);
	assert_true(digest_cmp(&a, &b) < 0);
	assert_true(digest_cmp(&b, &a) > 0);
	/* The algorithm first: every sha256 before every sha512. */
	assert_true(digest_cmp(&b, &a5) < 0);
	assert_true(digest_cmp(&a5, &a) > 0);
}

static void test_alg_parse(void **state)
{
	enum digest_alg a = DIGEST_SHA256;
	struct err e = ERR_INIT;

	(void)state;
	assert_int_equal(digest_alg_parse("sha512", 6, &a, &e), 0);
	assert_int_equal(a, DIGEST_SHA512);
	assert_int_equal(digest_alg_parse("sha256", 6, &a, &e), 0);
	assert_int_equal(a, DIGEST_SHA256);
	/* Names are exact: no case folding, no prefixes. */
	assert_int_equal(digest_alg_parse("SHA512", 6, &a, &e), -1);
	assert_int_equal(e.code, ERR_DIGEST_INVALID);
	assert_non_null(strstr(e.msg, "'SHA512'"));
	e = (struct err)ERR_INIT;
	assert_int_equal(digest_alg_parse("sha5", 4, &a, &e), -1);
	e = (struct err)ERR_INIT;
	assert_int_equal(digest_alg_parse("", 0, &a, &e), -1);
	assert_int_equal(a, DIGEST_SHA256);
}

static void test_sort_unique(void **state)
{
	struct digest v[] = {
		dg(DIGEST_SHA512, '1'), dg(DIGEST_SHA256, 'c'),
		dg(DIGEST_SHA256, 'a'), dg(DIGEST_SHA256, 'c'),
		dg(DIGEST_SHA512, '1'), dg(DIGEST_SHA256, 'a'),
	};
	struct digest want[] = {
		dg(DIGEST_SHA256, 'a'),
		dg(DIGEST_SHA256, 'c'),
		dg(DIGEST_SHA512, '1'),
	};
	struct digest one = dg(DIGEST_SHA256, 'f');
	size_t n = sizeof(v) / sizeof(v[0]);

	(void)state;
	digest_sort_unique(v, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_true(digest_eq(&v[i], &want[i]));

	n = 1;
	digest_sort_unique(&one, &n);
	assert_int_equal(n, 1);
	/* Nothing to sort: v may be NULL. */
	n = 0;
	digest_sort_unique(NULL, &n);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_alg_parse),
		cmocka_unit_test(test_sort_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
