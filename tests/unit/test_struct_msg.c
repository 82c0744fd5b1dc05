/* test_struct_msg.c - Skydive's protobuf StructMessage envelope (src/wire/struct_msg.h).
 * Expected bytes are written by hand from graffiti/websocket/structmessage.proto
 * (Namespace=1, Type=2, UUID=3 strings, Status=4 varint, Format=5 varint, Obj=6 bytes;
 * proto3 leaves zero and empty fields out), not taken from our encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/struct_msg.h"

/* Namespace "Graph", Type "NodeAdded", UUID "u1", Status 200, Format Json (0: absent),
 * Obj {"ID":"n1"} */
static const unsigned char node_added[] = {
    0x0a, 5,    'G', 'r', 'a', 'p', 'h', 0x12, 9,   'N', 'o', 'd', 'e', 'A', 'd', 'd', 'e',
    'd',  0x1a, 2,   'u', '1', 0x20, 0xc8, 0x01, 0x32, 11,  '{', '"', 'I', 'D', '"', ':', '"',
    'n',  '1',  '"', '}'};

static void test_parse_skydive_frame(void **state)
{
	char err[256] = "";
	json_t *e = struct_msg_parse(node_added, sizeof(node_added), err, sizeof(err));
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "Namespace")), "Graph");
	assert_string_equal(json_string_value(json_object_get(e, "Type")), "NodeAdded");
	assert_string_equal(json_string_value(json_object_get(e, "UUID")), "u1");
	assert_int_equal(json_integer_value(json_object_get(e, "Status")), 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "Obj"), "ID")), "n1");
	json_decref(e);
}

static void test_encode_is_skydive_bytes(void **state)
{
	json_t *e = json_pack("{s:s, s:s, s:s, s:i, s:{s:s}}", "Namespace", "Graph", "Type",
	                      "NodeAdded", "UUID", "u1", "Status", 200, "Obj", "ID", "n1");
	size_t len = 0;
	unsigned char *b = struct_msg_encode(e, 7, &len);
	assert_non_null(b);
	assert_int_equal(len, sizeof(node_added));
	assert_memory_equal(b + 7, node_added, sizeof(node_added));
	free(b);
	/* no UUID, no Obj, no Status: Status defaults to 200 (Skydive's NewStructMessage) */
	json_decref(e);
	e = json_pack("{s:s, s:s}", "Namespace", "OnDemand", "Type", "Stop");
	b = struct_msg_encode(e, 0, &len);
	static const unsigned char stop[] = {0x0a, 8,   'O', 'n', 'D', 'e', 'm', 'a', 'n', 'd',
	                                     0x12, 4,   'S', 't', 'o', 'p', 0x20, 0xc8, 0x01};
	assert_non_null(b);
	assert_int_equal(len, sizeof(stop));
	assert_memory_equal(b, stop, sizeof(stop));
	free(b);
	json_decref(e);
	e = json_pack("{s:s}", "Namespace", "x"); /* no Type */
	assert_null(struct_msg_encode(e, 0, &len));
	json_decref(e);
}

static void test_round_trip_and_status(void **state)
{
	json_t *e = json_pack("{s:s, s:s, s:i, s:[i, s]}", "Namespace", "Graph", "Type", "SyncReply",
	                      "Status", 400, "Obj", 1, "x");
	size_t len = 0;
	unsigned char *b = struct_msg_encode(e, 0, &len);
	char err[256];
	json_t *back = struct_msg_parse(b, len, err, sizeof(err));
	assert_non_null(back);
	assert_true(json_equal(e, back));
	json_decref(back);
	json_decref(e);
	free(b);
}

static void test_refusals(void **state)
{
	char err[256];
	static const unsigned char garbage[] = {0xff, 0xff, 0xff, 0xff, 0x01};
	assert_null(struct_msg_parse(garbage, sizeof(garbage), err, sizeof(err)));
	assert_non_null(strstr(err, "invalid StructMessage"));
	/* no Type */
	static const unsigned char no_type[] = {0x0a, 1, 'G'};
	assert_null(struct_msg_parse(no_type, sizeof(no_type), err, sizeof(err)));
	assert_non_null(strstr(err, "string Type"));
	/* Format Protobuf (5 = 1) */
	static const unsigned char pb_obj[] = {0x12, 1, 'T', 0x28, 1, 0x32, 1, 0x0a};
	assert_null(struct_msg_parse(pb_obj, sizeof(pb_obj), err, sizeof(err)));
	assert_non_null(strstr(err, "Obj in protobuf format"));
	/* Obj that is no JSON */
	static const unsigned char bad_obj[] = {0x12, 1, 'T', 0x32, 2, '{', 'x'};
	assert_null(struct_msg_parse(bad_obj, sizeof(bad_obj), err, sizeof(err)));
	assert_non_null(strstr(err, "invalid JSON in Obj at line 1"));
	/* a Type that is no UTF-8 */
	static const unsigned char bad_utf8[] = {0x12, 2, 0xc3, 0x28};
	assert_null(struct_msg_parse(bad_utf8, sizeof(bad_utf8), err, sizeof(err)));
	/* empty frame: no Type either */
	assert_null(struct_msg_parse("", 0, err, sizeof(err)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_skydive_frame),
	    cmocka_unit_test(test_encode_is_skydive_bytes),
	    cmocka_unit_test(test_round_trip_and_status),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
