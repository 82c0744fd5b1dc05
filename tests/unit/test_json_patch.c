/* test_json_patch.c - src/common/json_patch against the examples of RFC 6902
 * Appendix A (document, patch, result or error, as the RFC gives them), then
 * atomicity and the bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json_patch.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
	if (!j)
		fail_msg("bad test JSON %s: %s", s, e.text);
	return j;
}

/* RFC 6902 Appendix A: A.1 to A.16 (A.13, a duplicate "op" member, is the
 * JSON parser's business). want NULL: an error. */
static const struct {
	const char *name, *doc, *patch, *want;
} rfc[] = {
    {"A.1", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
     "{\"baz\":\"qux\",\"foo\":\"bar\"}"},
    {"A.2", "{\"foo\":[\"bar\",\"baz\"]}", "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"},
    {"A.3", "{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
     "{\"foo\":\"bar\"}"},
    {"A.4", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
     "{\"foo\":[\"bar\",\"baz\"]}"},
    {"A.5", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
     "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]", "{\"baz\":\"boo\",\"foo\":\"bar\"}"},
    {"A.6", "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
     "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
     "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"},
    {"A.7", "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
     "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"},
    {"A.8", "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\","
     "\"value\":2}]",
     "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"},
    {"A.9", "{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", NULL},
    {"A.10", "{\"foo\":\"bar\"}",
     "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
     "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"},
    {"A.11", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
     "{\"foo\":\"bar\",\"baz\":\"qux\"}"},
    {"A.12", "{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL},
    {"A.14", "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
     "{\"/\":9,\"~1\":10}"},
    {"A.15", "{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", NULL},
    {"A.16", "{\"foo\":[\"bar\"]}",
     "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
     "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"},
};

static void test_rfc6902_appendix_a(void **state)
{
	for (size_t i = 0; i < sizeof(rfc) / sizeof(rfc[0]); i++) {
		json_t *doc = J(rfc[i].doc), *patch = J(rfc[i].patch);
		char err[256] = "";
		int rc = json_patch_apply(&doc, patch, err, sizeof(err));
		if (!rfc[i].want) {
			if (rc != -EINVAL)
				fail_msg("%s: applied, expected an error", rfc[i].name);
			json_t *orig = J(rfc[i].doc);
			assert_true(json_equal(doc, orig)); /* untouched */
			json_decref(orig);
		} else {
			if (rc)
				fail_msg("%s: %s", rfc[i].name, err);
			json_t *want = J(rfc[i].want);
			if (!json_equal(doc, want))
				fail_msg("%s: got %s", rfc[i].name, json_dumps(doc, JSON_COMPACT));
			json_decref(want);
		}
		json_decref(doc);
		json_decref(patch);
	}
}

/* Whole-document operations, copy, the errors' wording, and that a failing
 * operation leaves the document as it was (the earlier ones undone). */
static void test_more(void **state)
{
	char err[256];
	json_t *doc = J("{\"a\":{\"b\":[1,2]}}");
	json_t *p = J("[{\"op\":\"copy\",\"from\":\"/a/b\",\"path\":\"/c\"},"
		      "{\"op\":\"replace\",\"path\":\"/a/b/0\",\"value\":9}]");
	assert_int_equal(json_patch_apply(&doc, p, err, sizeof(err)), 0);
	json_t *want = J("{\"a\":{\"b\":[9,2]},\"c\":[1,2]}");
	assert_true(json_equal(doc, want));
	json_decref(want);
	json_decref(p);

	p = J("[{\"op\":\"remove\",\"path\":\"/c\"},{\"op\":\"remove\",\"path\":\"/nope\"}]");
	assert_int_equal(json_patch_apply(&doc, p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "operation 1 (remove): path '/nope' does not exist");
	assert_non_null(json_object_get(doc, "c")); /* operation 0 undone */
	json_decref(p);

	static const char *const bad[][2] = {
	    {"{}", "a JSON Patch is an array of operations"},
	    {"[{\"op\":\"frob\",\"path\":\"/a\"}]",
	     "operation 0: 'op' must be add, remove, replace, move, copy or test"},
	    {"[{\"op\":\"add\",\"path\":\"/a\"}]", "operation 0 (add): missing 'value'"},
	    {"[{\"op\":\"move\",\"path\":\"/a\"}]", "operation 0 (move): 'from' must be a string"},
	    {"[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]",
	     "operation 0 (add): pointer 'a' does not start with '/'"},
	    {"[{\"op\":\"add\",\"path\":\"/~2\",\"value\":1}]",
	     "operation 0 (add): pointer '/~2': '~' must be followed by 0 or 1"},
	    {"[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/x\"}]",
	     "operation 0 (move): '/a' cannot be moved into itself ('/a/x')"},
	    {"[{\"op\":\"add\",\"path\":\"/a/b/01\",\"value\":1}]",
	     "operation 0 (add): path '/a/b/01': no index 01 in an array of 2"},
	    {"[{\"op\":\"remove\",\"path\":\"\"}]",
	     "operation 0 (remove): the whole document cannot be removed"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = J(bad[i][0]);
		err[0] = 0;
		assert_int_not_equal(json_patch_apply(&doc, p, err, sizeof(err)), 0);
		assert_string_equal(err, bad[i][1]);
		json_decref(p);
	}
	p = J("[{\"op\":\"replace\",\"path\":\"\",\"value\":[true]}]");
	assert_int_equal(json_patch_check(p, err, sizeof(err)), 0);
	assert_int_equal(json_patch_apply(&doc, p, err, sizeof(err)), 0);
	assert_true(json_is_array(doc));
	json_decref(p);
	json_decref(doc);
}

/* More than JSON_PATCH_MAX_OPS operations, and copies that would double the
 * document each time, are refused. */
static void test_bounds(void **state)
{
	char err[256];
	json_t *doc = J("{\"a\":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}");
	json_t *p = json_array();
	for (int i = 0; i <= JSON_PATCH_MAX_OPS; i++)
		json_array_append_new(p, J("{\"op\":\"test\",\"path\":\"/a/0\",\"value\":0}"));
	assert_int_equal(json_patch_apply(&doc, p, err, sizeof(err)), -E2BIG);
	json_decref(p);
	p = json_array();
	for (int i = 0; i < 20; i++) /* /a doubles: 17 * 2^20 values */
		json_array_append_new(p, J("{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/-\"}"));
	assert_int_equal(json_patch_apply(&doc, p, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "copies of more than"));
	assert_int_equal(json_array_size(json_object_get(doc, "a")), 16);
	json_decref(p);
	char big[JSON_PATCH_MAX_POINTER + 8];
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = 0;
	p = json_pack("[{ss ss si}]", "op", "add", "path", big, "value", 1);
	assert_int_equal(json_patch_apply(&doc, p, err, sizeof(err)), -E2BIG);
	json_decref(p);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc6902_appendix_a),
	    cmocka_unit_test(test_more),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
