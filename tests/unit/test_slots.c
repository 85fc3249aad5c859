/* test_slots.c: the hashed slot table (common/slots.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/slots.h"

#include <stdio.h>
#include <string.h>

#include "common/banned.h"

struct val {
	double at;
	int n;
};

static double val_stamp(const void *v)
{
	return ((const struct val *)v)->at;
}

static void test_get_find(void **state)
{
	struct slots t;
	struct val *a, *b;
	bool fresh;

	(void)state;
	slots_init(&t, 64, 16, sizeof(struct val), val_stamp);
	assert_null(slots_find(&t, "a"));
	a = slots_get(&t, "a", &fresh);
	assert_true(fresh);
	assert_int_equal(a->n, 0);
	a->n = 7;
	a->at = 1;
	assert_ptr_equal(slots_get(&t, "a", &fresh), a);
	assert_false(fresh);
	assert_ptr_equal(slots_find(&t, "a"), a);
	b = slots_get(&t, "b", NULL);
	assert_ptr_not_equal(a, b);
	assert_int_equal(b->n, 0);
	/* The empty key is a key like any other. */
	assert_null(slots_find(&t, ""));
	assert_non_null(slots_get(&t, "", &fresh));
	assert_true(fresh);
	assert_ptr_equal(slots_find(&t, ""), slots_get(&t, "", NULL));
	slots_release(&t);
	slots_release(&t);
}

/* A one-slot-wide table: every key competes for the same probes. */
static void test_evicts_stalest(void **state)
{
	struct slots t;
	char key[16];
	struct val *v;
	bool fresh;

	(void)state;
	slots_init(&t, SLOTS_PROBES, 16, sizeof(struct val), val_stamp);
	for (int i = 0; i < SLOTS_PROBES; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		v = slots_get(&t, key, &fresh);
		assert_true(fresh);
		v->at = 100 + i;
		v->n = i;
	}
	/* k3 is the stalest now. */
	((struct val *)slots_find(&t, "k3"))->at = 1;
	v = slots_get(&t, "new", &fresh);
	assert_true(fresh);
	assert_int_equal(v->n, 0); /* zeroed on takeover */
	v->at = 200;
	assert_null(slots_find(&t, "k3"));
	for (int i = 0; i < SLOTS_PROBES; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (i != 3)
			assert_int_equal(((struct val *)slots_find(&t, key))->n,
					 i);
	}
	/* Then k0, the next stalest. */
	((struct val *)slots_get(&t, "newer", NULL))->at = 300;
	assert_null(slots_find(&t, "k0"));
	assert_non_null(slots_find(&t, "new"));
	slots_release(&t);
}

/* Many more keys than slots: no growth, the latest key is always there. */
static void test_flood(void **state)
{
	struct slots t;
	char key[32];
	struct val *v;

	(void)state;
	slots_init(&t, 128, 32, sizeof(struct val), val_stamp);
	for (int i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16,
			 (i >> 8) & 255, i & 255);
		v = slots_get(&t, key, NULL);
		v->at = i + 1;
		assert_ptr_equal(slots_find(&t, key), v);
	}
	slots_release(&t);
}

/* Keys are kept to key_max - 1 bytes: longer ones share their prefix's
 * slot rather than taking a new one each time. */
static void test_long_keys(void **state)
{
	struct slots t;
	struct val *a;
	bool fresh;

	(void)state;
	slots_init(&t, 64, 8, sizeof(struct val), val_stamp);
	a = slots_get(&t, "abcdefgXYZ", &fresh);
	assert_true(fresh);
	assert_ptr_equal(slots_get(&t, "abcdefgXYZ", &fresh), a);
	assert_false(fresh);
	assert_ptr_equal(slots_find(&t, "abcdefg"), a);
	assert_null(slots_find(&t, "abcdef"));
	slots_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_find),
		cmocka_unit_test(test_evicts_stalest),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_long_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
