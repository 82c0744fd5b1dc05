/* test_common_text.c - unit tests of src/common's text codecs: base64 (vectors
 * from RFC 4648 section 10). */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_encode),
		cmocka_unit_test(test_base64_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
