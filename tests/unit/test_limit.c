/* test_limit.c: per-client token buckets (registry/limit.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "registry/limit_int.h"

#include <stdio.h>

#include "common/banned.h"

static void test_off(void **state)
{
	(void)state;
	assert_null(reg_limit_new(0, 10));
	assert_null(reg_limit_new(-1, 10));
	assert_int_equal(reg_limit_take(NULL, "10.0.0.1", 0), 0);
	reg_limit_free(NULL);
}

static void test_burst_then_rate(void **state)
{
	struct reg_limit *l = reg_limit_new(2, 5);

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(reg_limit_take(l, "10.0.0.1", 100.0), 0);
	/* Empty: one token comes back in half a second. */
	assert_int_equal(reg_limit_take(l, "10.0.0.1", 100.0), 1);
	/* Another client has its own bucket. */
	assert_int_equal(reg_limit_take(l, "10.0.0.2", 100.0), 0);
	assert_int_equal(reg_limit_take(l, "10.0.0.1", 100.5), 0);
	assert_int_equal(reg_limit_take(l, "10.0.0.1", 100.5), 1);
	/* A long pause refills up to the burst, not beyond. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(reg_limit_take(l, "10.0.0.1", 1000.0), 0);
	assert_int_equal(reg_limit_take(l, "10.0.0.1", 1000.0), 1);
	reg_limit_free(l);
}

static void test_slow_rate_wait(void **state)
{
	struct reg_limit *l = reg_limit_new(0.1, 1);

	(void)state;
	assert_int_equal(reg_limit_take(l, "::1", 5.0), 0);
	assert_int_equal(reg_limit_take(l, "::1", 5.0), 10);
	assert_int_equal(reg_limit_take(l, "::1", 10.0), 5);
	reg_limit_free(l);
}

/* A flood of addresses stays within the table: old ones are taken over,
 * and a client seen again starts afresh rather than failing. */
static void test_many_peers(void **state)
{
	struct reg_limit *l = reg_limit_new(1, 1);
	char peer[32];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		assert_int_equal(reg_limit_take(l, peer, 1.0 + i * 1e-6), 0);
	}
	assert_int_equal(reg_limit_take(l, "10.0.0.0", 2.0), 0);
	reg_limit_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_slow_rate_wait),
		cmocka_unit_test(test_many_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
