/* test_metrics.c: the Prometheus text exposition helpers of
 * registry/metrics.c: label value escaping and histogram lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "registry/metrics_int.h"

#define UNUSED __attribute__((unused))

/* Backslash, double quote and newline are escaped; the rest (UTF-8 too)
 * goes as is. */
static void label_escaping(void **state UNUSED)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(rm_label_value(&b, "a\\b\"c\nd\xc3\xa9{}"), 0);
	assert_string_equal(b.buf, "a\\\\b\\\"c\\nd\xc3\xa9{}");
	buf_reset(&b);
	assert_int_equal(rm_label_value(&b, ""), 0);
	assert_string_equal(b.buf, "");
	buf_release(&b);
}

/* Buckets cumulative, +Inf last, _count equal to +Inf, labels joined. */
static void histogram_lines(void **state UNUSED)
{
	static const double bounds[] = {0.005, 0.5, 2.5};
	static const uint64_t counts[] = {1, 0, 2, 4};
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(rm_histogram(&b, "x_seconds", "route=\"blob\"", bounds,
				      counts, 3, 12.25),
			 0);
	assert_string_equal(b.buf,
			    "x_seconds_bucket{route=\"blob\",le=\"0.005\"} 1\n"
			    "x_seconds_bucket{route=\"blob\",le=\"0.5\"} 1\n"
			    "x_seconds_bucket{route=\"blob\",le=\"2.5\"} 3\n"
			    "x_seconds_bucket{route=\"blob\",le=\"+Inf\"} 7\n"
			    "x_seconds_sum{route=\"blob\"} 12.25\n"
			    "x_seconds_count{route=\"blob\"} 7\n");
	buf_reset(&b);
	assert_int_equal(rm_histogram(&b, "y", "", bounds, counts + 3, 0, 0),
			 0);
	assert_string_equal(b.buf, "y_bucket{le=\"+Inf\"} 4\n"
				   "y_sum 0\n"
				   "y_count 4\n");
	buf_release(&b);
}

/* Polled probes are kept out of the info log; nothing else is. */
static void quiet_paths(void **state UNUSED)
{
	assert_true(reg_metrics_quiet("/healthz"));
	assert_true(reg_metrics_quiet("/readyz"));
	assert_false(reg_metrics_quiet("/metrics"));
	assert_false(reg_metrics_quiet("/v2/healthz"));
	assert_false(reg_metrics_quiet(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_escaping),
		cmocka_unit_test(histogram_lines),
		cmocka_unit_test(quiet_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
