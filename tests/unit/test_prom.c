/* test_prom.c - unit tests of the Prometheus text exposition writer (common/prom.h):
 * name rules and escaping as the format's spec states them (Prometheus docs,
 * "Exposition formats": label values escape backslash, double quote and newline; HELP
 * escapes backslash and newline), histogram buckets cumulative and ending with +Inf. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/prom.h"

static char *text(struct buf *b)
{
	buf_putc(b, 0);
	return b->data;
}

static void test_prom_names(void **state)
{
	(void)state;
	assert_true(prom_name_ok("skydive_x:total", 0));
	assert_false(prom_name_ok("skydive_x:total", 1)); /* ':' only in metric names */
	assert_true(prom_name_ok("_a9", 1));
	assert_false(prom_name_ok("9a", 0));
	assert_false(prom_name_ok("a-b", 0));
	assert_false(prom_name_ok("", 0));
	struct buf b;
	buf_init(&b, NULL);
	assert_int_equal(prom_u64(&b, "bad-name", NULL, 1), -EINVAL);
	assert_int_equal(prom_u64(&b, "ok", (prom_labels){"__x", "v", NULL}, 1), -EINVAL);
	assert_int_equal(prom_u64(&b, "ok", (prom_labels){"a b", "v", NULL}, 1), -EINVAL);
	assert_int_equal(b.len, 0); /* nothing written */
	buf_free(&b);
}

static void test_prom_escaping(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, NULL);
	assert_int_equal(prom_family(&b, "m_total", "counter", "a \\ b\nc \"q\""), 0);
	assert_int_equal(prom_u64(&b, "m_total", (prom_labels){"host", "h\"1\\\n", "x", "", NULL},
	                          18446744073709551615ull),
	                 0);
	assert_int_equal(prom_u64(&b, "m_total", NULL, 0), 0);
	assert_int_equal(prom_f64(&b, "g", NULL, 0.5), 0);
	assert_string_equal(text(&b), "# HELP m_total a \\\\ b\\nc \"q\"\n"
	                              "# TYPE m_total counter\n"
	                              "m_total{host=\"h\\\"1\\\\\\n\",x=\"\"} 18446744073709551615\n"
	                              "m_total 0\n"
	                              "g 0.5\n");
	buf_free(&b);
}

static void test_prom_histogram(void **state)
{
	(void)state;
	static const double bounds[] = {0.25, 0.5, 1};
	struct prom_histo h;
	assert_int_equal(prom_histo_init(&h, bounds, 3), 0);
	/* 0.25 is in le="0.25" (upper bounds are inclusive); dyadic values: an exact sum */
	const double obs[] = {0.125, 0.25, 0.375, 0.75, 0.75, 2, 3};
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		prom_histo_observe(&h, obs[i]);
	struct buf b;
	buf_init(&b, NULL);
	assert_int_equal(prom_histo_write(&b, "lat_seconds", (prom_labels){"le", "x", NULL}, &h),
	                 -EINVAL); /* le is the histogram's own */
	assert_int_equal(prom_histo_write(&b, "lat_seconds", (prom_labels){"route", "/a", NULL}, &h),
	                 0);
	assert_string_equal(text(&b), "lat_seconds_bucket{route=\"/a\",le=\"0.25\"} 2\n"
	                              "lat_seconds_bucket{route=\"/a\",le=\"0.5\"} 3\n"
	                              "lat_seconds_bucket{route=\"/a\",le=\"1\"} 5\n"
	                              "lat_seconds_bucket{route=\"/a\",le=\"+Inf\"} 7\n"
	                              "lat_seconds_sum{route=\"/a\"} 7.25\n"
	                              "lat_seconds_count{route=\"/a\"} 7\n");
	buf_free(&b);
	prom_histo_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_names),
		cmocka_unit_test(test_prom_escaping),
		cmocka_unit_test(test_prom_histogram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
