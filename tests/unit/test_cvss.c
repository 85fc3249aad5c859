/* CVSS scores computed from vectors, against the scores published for
 * them (NVD, the FIRST calculators and the specifications' examples). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>

#include <cmocka.h>

#include "scanner/cvss_int.h"

struct known {
	const char *vector;
	double score;
	enum vuln_severity sev;
};

static void check_known(const struct known *k, size_t n, int major)
{
	for (size_t i = 0; i < n; i++) {
		struct cvss_score s;
		struct err e = ERR_INIT;

		if (cvss_compute(k[i].vector, &s, &e) < 0)
			fail_msg("%s: %s", k[i].vector, e.msg);
		if (fabs(s.score - k[i].score) > 1e-9)
			fail_msg("%s: score %.1f, want %.1f", k[i].vector,
				 s.score, k[i].score);
		assert_int_equal(s.major, major);
		assert_int_equal(cvss_severity(&s), k[i].sev);
	}
}

static void test_v31(void **state)
{
	static const struct known k[] = {
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8,
		 SEV_CRITICAL},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0,
		 SEV_CRITICAL},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1,
		 SEV_MEDIUM},
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9,
		 SEV_CRITICAL},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8,
		 SEV_MEDIUM},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, SEV_HIGH},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1, SEV_HIGH},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, SEV_HIGH},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3,
		 SEV_MEDIUM},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", 5.6,
		 SEV_MEDIUM},
		{"CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0, SEV_HIGH},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, SEV_LOW},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0, SEV_LOW},
		/* temporal and environmental metrics do not change the base */
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:R",
		 9.8, SEV_CRITICAL},
	};

	(void)state;
	check_known(k, sizeof(k) / sizeof(*k), 3);
}

static void test_v30(void **state)
{
	static const struct known k[] = {
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8,
		 SEV_CRITICAL},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1,
		 SEV_MEDIUM},
		{"CVSS:3.0/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8, SEV_HIGH},
	};
	struct cvss_score s;

	(void)state;
	check_known(k, sizeof(k) / sizeof(*k), 3);
	assert_int_equal(cvss_compute(k[0].vector, &s, NULL), 0);
	assert_int_equal(s.minor, 0);
}

static void test_v2(void **state)
{
	static const struct known k[] = {
		{"AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, SEV_HIGH},
		{"AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, SEV_HIGH},
		{"AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, SEV_MEDIUM},
		{"AV:L/AC:L/Au:N/C:P/I:N/A:N", 2.1, SEV_LOW},
		{"(AV:N/AC:L/Au:N/C:N/I:N/A:P)", 5.0, SEV_MEDIUM},
	};

	(void)state;
	check_known(k, sizeof(k) / sizeof(*k), 2);
}

/* v4 follows FIRST's calculator (macrovector table + interpolation). */
static void test_v4(void **state)
{
	static const struct known k[] = {
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/"
		 "SA:N",
		 9.3, SEV_CRITICAL},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/"
		 "SA:H",
		 10.0, SEV_CRITICAL},
		{"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/"
		 "SA:N",
		 8.5, SEV_HIGH},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/"
		 "SA:N",
		 8.7, SEV_HIGH},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/"
		 "SA:N",
		 8.7, SEV_HIGH},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/"
		 "SA:N",
		 6.9, SEV_MEDIUM},
		{"CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/"
		 "SA:N",
		 9.2, SEV_CRITICAL},
		/* the calculator's documented example (threat+environmental) */
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:L/SC:N/SI:N/"
		 "SA:N/E:A/MAV:A",
		 8.7, SEV_HIGH},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/"
		 "SA:N",
		 0.0, SEV_LOW},
	};

	(void)state;
	check_known(k, sizeof(k) / sizeof(*k), 4);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"CVSS:3.1/",
		/* no A, A twice, a bad value, an unknown metric */
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H",
		"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A",
		"CVSS:3.1/AV:N//AC:L",
		"CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
		/* S is a value of MSI only */
		("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/"
		 "SA:N"),
		"AV:N/AC:L/Au:N/C:P/I:P",
		"high",
		"(",
		"()",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct cvss_score s;
		struct err e = ERR_INIT;

		if (cvss_compute(bad[i], &s, &e) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(e.code, ERR_INVALID);
	}
}

static void test_bands(void **state)
{
	struct cvss_score s = {3, 1, 0.1};

	(void)state;
	assert_int_equal(cvss_severity(&s), SEV_LOW);
	s.score = 3.9;
	assert_int_equal(cvss_severity(&s), SEV_LOW);
	s.score = 4.0;
	assert_int_equal(cvss_severity(&s), SEV_MEDIUM);
	s.score = 6.9;
	assert_int_equal(cvss_severity(&s), SEV_MEDIUM);
	s.score = 7.0;
	assert_int_equal(cvss_severity(&s), SEV_HIGH);
	s.score = 8.9;
	assert_int_equal(cvss_severity(&s), SEV_HIGH);
	s.score = 9.0;
	assert_int_equal(cvss_severity(&s), SEV_CRITICAL);
	s.major = 2;
	assert_int_equal(cvss_severity(&s), SEV_HIGH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v31),	cmocka_unit_test(test_v30),
		cmocka_unit_test(test_v2),	cmocka_unit_test(test_v4),
		cmocka_unit_test(test_invalid), cmocka_unit_test(test_bands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
