/* test_common_text.c - unit tests of src/common's text codecs: base64 (vectors
 * from RFC 4648 section 10), Go durations (values as Go's time.ParseDuration
 * gives them), the configuration's duration getter and YAML to JSON (YAML 1.1 plain
 * scalar types, as Go's yaml.v2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "common/duration.h"
#include "common/yaml_json.h"
#include "config/config.h"

static const char *const rfc4648[][2] = {
	{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void test_base64_encode(void **state)
{
	char out[16];
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		size_t n = strlen(rfc4648[i][0]);
		assert_int_equal(base64_encode(out, rfc4648[i][0], n), strlen(rfc4648[i][1]));
		assert_string_equal(out, rfc4648[i][1]);
		assert_int_equal(BASE64_ENCODED_LEN(n), strlen(rfc4648[i][1]));
		size_t len = 0;
		char *a = base64_encode_alloc(rfc4648[i][0], n, &len);
		assert_non_null(a);
		assert_string_equal(a, rfc4648[i][1]);
		assert_int_equal(len, strlen(rfc4648[i][1]));
		free(a);
	}
	/* every bit pattern of the alphabet's last characters: 0xfb 0xff -> "+/8=" */
	const uint8_t hi[] = {0xfb, 0xff};
	base64_encode(out, hi, 2);
	assert_string_equal(out, "+/8=");
}

static void test_base64_decode(void **state)
{
	uint8_t out[16];
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *t = rfc4648[i][1];
		long n = base64_decode(out, sizeof(out), t, strlen(t), 0);
		assert_int_equal(n, strlen(rfc4648[i][0]));
		assert_memory_equal(out, rfc4648[i][0], (size_t)n);
		assert_true((size_t)n <= BASE64_DECODED_MAX(strlen(t)));
	}
	/* padding is optional; nothing after '=' is read */
	assert_int_equal(base64_decode(out, sizeof(out), "Zm8", 3, 0), 2);
	assert_memory_equal(out, "fo", 2);
	assert_int_equal(base64_decode(out, sizeof(out), "Zg==!!", 6, 0), 1);
	/* the length bounds the text, not a NUL */
	assert_int_equal(base64_decode(out, sizeof(out), "Zm9vYmFy", 4, 0), 3);
	assert_memory_equal(out, "foo", 3);
	/* outside the alphabet */
	assert_int_equal(base64_decode(out, sizeof(out), "Zm 9", 4, 0), -EINVAL);
	assert_int_equal(base64_decode(out, sizeof(out), "-_8=", 4, 0), -EINVAL);
	/* RFC 4648 section 5 alphabet only when asked */
	assert_int_equal(base64_decode(out, sizeof(out), "-_8=", 4, BASE64_URLSAFE), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(base64_decode(out, sizeof(out), "+/8=", 4, 0), 2);
	assert_int_equal(out[0], 0xfb);
	/* short output room */
	assert_int_equal(base64_decode(out, 5, "Zm9vYmFy", 8, 0), -ENOSPC);
	assert_int_equal(base64_decode(out, 6, "Zm9vYmFy", 8, 0), 6);
}

static void test_duration_parse(void **state)
{
	static const struct {
		const char *s;
		int64_t ns;
	} ok[] = {
	    {"0", 0},
	    {"-0", 0},
	    {"+0", 0},
	    {"5s", 5000000000},
	    {"+5s", 5000000000},
	    {"-5s", -5000000000},
	    {"1478s", 1478000000000},
	    {"5.6s", 5600000000},
	    {"5.s", 5000000000},
	    {".5s", 500000000},
	    {"1.004s", 1004000000},
	    {"100.00100s", 100001000000},
	    {"10ns", 10},
	    {"11us", 11000},
	    {"12\xc2\xb5s", 12000},
	    {"12\xce\xbcs", 12000},
	    {"13ms", 13000000},
	    {"15m", 900000000000},
	    {"16h", 57600000000000},
	    {"3h30m", 12600000000000},
	    {"10.5s4m", 250500000000},
	    {"-2m3.4s", -123400000000},
	    {"1h2m3s4ms5us6ns", 3723004005006},
	    {"39h9m14.425s", 140954425000000},
	    {"0.3333333333333333333h", 1200000000000},
	    {"0.100000000000000000000h", 360000000000},
	    {"0.830103483285477580700h", 2988372539827},
	    {"9223372036854775807ns", INT64_MAX},
	    {"9223372036854775.807us", INT64_MAX},
	    {"-9223372036854775808ns", INT64_MIN},
	    {"1d", 86400000000000},        /* ours: a day is 24 h */
	    {"-2d12h", -216000000000000},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ns = 42;
		assert_int_equal(duration_parse(ok[i].s, &ns), 0);
		if (ns != ok[i].ns)
			fail_msg("%s: %lld, not %lld", ok[i].s, (long long)ns, (long long)ok[i].ns);
	}
	static const char *const bad[] = {"",   "3",  "-",  "s",     ".",   "-.",  ".s",
					  "+.s", "1e3s", "0x10s", "1 s", " 1s", "1h2",
					  "1sx", "1.2.3s", "\x85\x85"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ns = 42;
		if (duration_parse(bad[i], &ns) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(ns, 42);
	}
	int64_t ns;
	assert_int_equal(duration_parse(NULL, &ns), -EINVAL);
	assert_int_equal(duration_parse("9223372036854775808ns", &ns), -ERANGE);
	assert_int_equal(duration_parse("9223372036854775.808us", &ns), -ERANGE);
	assert_int_equal(duration_parse("-9223372036854775809ns", &ns), -ERANGE);
	assert_int_equal(duration_parse("3000000h", &ns), -ERANGE);
	assert_int_equal(duration_parse("9223372036854775807ns1ns", &ns), -ERANGE);
	assert_int_equal(duration_parse("9223372036854775808ns9223372036854775808ns", &ns), -ERANGE);
}

static void test_config_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
	    {"30", 30000},  {"0", 0},     {"-5", -5000},    {"0.5", 500},   {"1.5555", 1555},
	    {"0.0001", 1},  {"1h", 3600000}, {"500ms", 500}, {"1500us", 1}, {"1us", 1},
	    {"2m30s", 150000}, {"-1ns", -1},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t ms = 42;
		assert_int_equal(config_parse_duration(ok[i].s, &ms), 0);
		if (ms != ok[i].ms)
			fail_msg("%s: %lld, not %lld", ok[i].s, (long long)ms, (long long)ok[i].ms);
	}
	int64_t ms = 42;
	assert_int_equal(config_parse_duration("soon", &ms), -EINVAL);
	assert_int_equal(config_parse_duration("", &ms), -EINVAL);
	assert_int_equal(config_parse_duration(NULL, &ms), -EINVAL);
	assert_int_equal(config_parse_duration("1e400", &ms), -ERANGE);
	assert_int_equal(config_parse_duration("99999999999999999", &ms), -ERANGE);
	assert_int_equal(ms, 42);

	struct config *cfg = config_new();
	assert_non_null(cfg);
	assert_int_equal(config_get_duration(cfg, "test.house.wait", 7000), 7000);
	assert_int_equal(config_set_string(cfg, "test.house.wait", "2m"), 0);
	assert_int_equal(config_get_duration(cfg, "test.house.wait", 7000), 120000);
	assert_int_equal(config_set(cfg, "test.house.wait", json_integer(12)), 0);
	assert_int_equal(config_get_duration(cfg, "test.house.wait", 7000), 12000);
	assert_int_equal(config_set(cfg, "test.house.wait", json_real(0.25)), 0);
	assert_int_equal(config_get_duration(cfg, "test.house.wait", 7000), 250);
	assert_int_equal(config_set_string(cfg, "test.house.wait", "later"), 0);
	assert_int_equal(config_get_duration(cfg, "test.house.wait", 7000), 7000);
	assert_int_equal(config_set(cfg, "test.house.wait", json_true()), 0);
	assert_int_equal(config_get_duration(cfg, "test.house.wait", 7000), 7000);
	config_free(cfg);
}

static json_t *yaml_text(const char *text, const struct yaml_json_limits *l, int *over)
{
	yaml_parser_t p;
	yaml_document_t doc;
	json_t *j = NULL;
	assert_true(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	assert_true(yaml_parser_load(&p, &doc));
	j = yaml_json(&doc, yaml_document_get_root_node(&doc), l, over);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return j;
}

static void test_yaml_json(void **state)
{
	const char *text = "{a: 0x1f, b: 017, c: 1.5, d: '12', e: yes, f: Off, g: ~, h: -3, "
			   "i: [1, x], j: {k: null}, l: }";
	struct yaml_json_limits cfg = {.max_depth = 8, .max_nodes = 100,
				       .flags = YAML_JSON_REALS | YAML_JSON_INT_PREFIX};
	struct yaml_json_limits body = {.max_depth = 8, .max_nodes = 100};
	int over = -1;
	json_t *j = yaml_text(text, &cfg, &over);
	assert_non_null(j);
	assert_int_equal(over, 0);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"a\":31,\"b\":15,\"c\":1.5,\"d\":\"12\",\"e\":true,\"f\":false,"
			       "\"g\":null,\"h\":-3,\"i\":[1,\"x\"],\"j\":{\"k\":null},\"l\":null}");
	free(s);
	json_decref(j);
	j = yaml_text(text, &body, NULL);
	s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"a\":\"0x1f\",\"b\":17,\"c\":\"1.5\",\"d\":\"12\",\"e\":true,"
			       "\"f\":false,\"g\":null,\"h\":-3,\"i\":[1,\"x\"],\"j\":{\"k\":null},"
			       "\"l\":null}");
	free(s);
	json_decref(j);
	/* bounds: depth, and nodes counted through aliases */
	struct yaml_json_limits shallow = {.max_depth = 1, .max_nodes = 100};
	assert_null(yaml_text("{a: {b: {c: 1}}}", &shallow, &over));
	assert_int_equal(over, 0);
	struct yaml_json_limits few = {.max_depth = 8, .max_nodes = 5};
	assert_null(yaml_text("a: &x [1, 2, 3]\nb: *x\n", &few, &over));
	assert_int_equal(over, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_encode),
		cmocka_unit_test(test_base64_decode),
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_config_duration),
		cmocka_unit_test(test_yaml_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
