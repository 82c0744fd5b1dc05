/* test_common.c - unit tests of src/common: output buffer, JSON strings,
 * formatting and parsing helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/util.h"

static const char *str(struct buf *b)
{
	buf_putc(b, 0);
	b->len--;
	return b->data;
}

static void test_json_escapes(void **state)
{
	struct buf b;
	buf_init(&b, NULL);
	buf_put_json_str(&b, "plain");
	assert_string_equal(str(&b), "\"plain\"");
	b.len = 0;
	buf_put_json_str(&b, "a\"b\\c\n\x01z");
	assert_string_equal(str(&b), "\"a\\\"b\\\\c\\u000a\\u0001z\"");
	b.len = 0;
	buf_put_json_str(&b, "");
	assert_string_equal(str(&b), "\"\"");
	buf_free(&b);
}

static void test_numbers_and_growth(void **state)
{
	struct buf b;
	buf_init(&b, NULL);
	buf_put_u64(&b, 0);
	buf_putc(&b, ' ');
	buf_put_u64(&b, UINT64_MAX);
	buf_putc(&b, ' ');
	buf_put_i64(&b, INT64_MIN);
	assert_string_equal(str(&b), "0 18446744073709551615 -9223372036854775808");
	b.len = 0;
	for (int i = 0; i < 100000; i++) /* many reallocations */
		buf_putl(&b, "0123456789");
	assert_int_equal(b.len, 1000000);
	assert_int_equal(b.err, 0);
	buf_free(&b);
}

static void test_formatting(void **state)
{
	char s[64];
	assert_int_equal(fmt_hex_u64(s, 0), 1);
	assert_string_equal(s, "0");
	fmt_hex_u64(s, 0x00ab00000000cdefull);
	assert_string_equal(s, "ab00000000cdef"); /* no leading zeros, as Go's FormatUint */
	static const uint8_t mac[6] = {0x02, 0xab, 0, 0x10, 0xff, 1};
	fmt_mac(s, mac);
	assert_string_equal(s, "02:ab:00:10:ff:01");
	uint8_t ip[16] = {10, 0, 100, 255};
	fmt_ip(s, 4, ip);
	assert_string_equal(s, "10.0.100.255");
	uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	fmt_ip(s, 6, ip6);
	assert_string_equal(s, "2001:db8::1");
}

static void test_parse(void **state)
{
	uint8_t mac[6] = {0};
	assert_int_equal(parse_mac("02:AB:00:10:ff:01", mac), 0);
	assert_int_equal(mac[1], 0xab);
	assert_int_equal(mac[5], 1);
	assert_int_equal(parse_mac("02:ab:00:10:ff", mac), -EINVAL);
	assert_int_equal(parse_mac("02:ab:00:10:ff:01:", mac), -EINVAL);
	assert_int_equal(parse_mac("02-ab-00-10-ff-01", mac), -EINVAL);
	assert_int_equal(parse_mac("0g:ab:00:10:ff:01", mac), -EINVAL);
	int64_t v;
	assert_int_equal(parse_i64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_i64("-1", -1, 100, &v), 0);
	assert_int_equal(parse_i64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_i64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_i64("", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_i64("99999999999999999999", 0, INT64_MAX, &v), -ERANGE);
}

/* util_mkdir_p and util_write_file_atomic: modes, replacement, nothing left behind. */
static void test_files(void **state)
{
	(void)state;
	char base[] = "/tmp/test_common_files.XXXXXX", dir[128], path[160], link[160];
	assert_non_null(mkdtemp(base));
	mode_t old_mask = umask(022);
	snprintf(dir, sizeof(dir), "%s/a/b", base);
	assert_int_equal(util_mkdir_p(dir), 0);
	assert_int_equal(util_mkdir_p(dir), 0); /* exists: fine */
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/a", base);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
	snprintf(path, sizeof(path), "%s/f.json", dir);
	const char *what = NULL;
	assert_int_equal(util_write_file_atomic(path, "one", 3, &what), 0);
	assert_int_equal(util_write_file_atomic(path, "second", 6, &what), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 6);
	/* a link planted at the path is replaced, not written through */
	snprintf(link, sizeof(link), "%s/target", dir);
	unlink(path);
	assert_int_equal(symlink(link, path), 0);
	assert_int_equal(util_write_file_atomic(path, "x", 1, NULL), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(access(link, F_OK), -1);
	/* only f.json in the directory: no temporary left */
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 1);
	/* a missing directory: the step and the errno */
	snprintf(link, sizeof(link), "%s/nope/f.json", base);
	assert_int_equal(util_write_file_atomic(link, "x", 1, &what), -ENOENT);
	assert_string_equal(what, "create");
	unlink(path);
	rmdir(dir);
	snprintf(path, sizeof(path), "%s/a", base);
	rmdir(path);
	assert_int_equal(rmdir(base), 0);
	umask(old_mask);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_numbers_and_growth),
		cmocka_unit_test(test_formatting),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
