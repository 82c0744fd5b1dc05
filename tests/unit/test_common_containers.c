/* test_common_containers.c - unit tests of src/common's pointer vector, string map and
 * dotted JSON keys. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json_dotted.h"
#include "common/pvec.h"
#include "common/smap.h"

static void test_pvec(void **state)
{
	struct pvec v = {0};
	int x[100];
	for (int i = 0; i < 100; i++)
		assert_int_equal(pvec_push(&v, &x[i]), 0);
	assert_int_equal(v.n, 100);
	assert_true(v.cap >= 100);
	for (int i = 0; i < 100; i++)
		assert_ptr_equal(v.v[i], &x[i]);
	pvec_free(&v);
	assert_null(v.v);
	assert_int_equal(v.n, 0);
	pvec_free(&v); /* twice is fine */
}

static void test_smap(void **state)
{
	struct smap m = {0};
	char keys[1000][16]; /* "k" and any int: -O1 cannot see i < 1000 */
	assert_null(smap_get(&m, "absent")); /* empty map: no slots */
	for (int i = 0; i < 1000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		assert_int_equal(smap_put(&m, keys[i], keys[i]), 0);
	}
	assert_int_equal(m.n, 1000);
	assert_int_equal(smap_put(&m, "k7", NULL), -EEXIST);
	for (int i = 0; i < 1000; i++)
		assert_ptr_equal(smap_get(&m, keys[i]), keys[i]);
	assert_null(smap_get(&m, "k1000"));
	/* removal leaves a tombstone that probing passes and a put reuses */
	for (int i = 0; i < 1000; i += 2)
		assert_ptr_equal(smap_del(&m, keys[i]), keys[i]);
	assert_null(smap_del(&m, "k0"));
	assert_int_equal(m.n, 500);
	for (int i = 1; i < 1000; i += 2)
		assert_ptr_equal(smap_get(&m, keys[i]), keys[i]);
	assert_null(smap_get(&m, "k2"));
	assert_int_equal(smap_put(&m, keys[2], keys[2]), 0);
	assert_ptr_equal(smap_get(&m, "k2"), keys[2]);
	/* the hash is a pure function of the key's bytes */
	assert_int_equal(smap_hash("k1"), smap_hash(keys[1]));
	smap_free(&m);
	assert_int_equal(m.cap, 0);
	assert_null(smap_get(&m, "k1"));
}

static void test_json_dotted(void **state)
{
	json_t *o = json_pack("{s:i, s:{s:s}}", "MTU", 1500, "Ovs", "Name", "br0");
	assert_non_null(o);
	/* a new path makes its objects; an existing one keeps its siblings */
	assert_int_equal(json_dotted_set(o, "Ovs.ExtID.foo", json_string("bar")), 0);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(o, "Ovs"), "ExtID"), "foo")),
			    "bar");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "Ovs"), "Name")),
			    "br0");
	/* a scalar on the way is replaced by an object */
	assert_int_equal(json_dotted_set(o, "MTU.x", json_integer(1)), 0);
	assert_true(json_is_object(json_object_get(o, "MTU")));
	/* the value is stolen, not copied */
	json_t *v = json_string("shared");
	json_incref(v);
	assert_int_equal(json_dotted_set(o, "Name", v), 0);
	assert_ptr_equal(json_object_get(o, "Name"), v);
	assert_int_equal(v->refcount, 2);
	json_decref(v);
	/* deletes; a missing path changes nothing */
	assert_int_equal(json_dotted_set(o, "Ovs.ExtID.foo", NULL), 0);
	assert_int_equal(json_object_size(json_object_get(json_object_get(o, "Ovs"), "ExtID")), 0);
	json_t *before = json_deep_copy(o);
	assert_int_equal(json_dotted_set(o, "Nope.x", NULL), 0);
	assert_true(json_equal(o, before));
	assert_null(json_object_get(o, "Nope"));
	json_decref(before);
	json_decref(o);
}

/* The copy-on-write form: a shallow copy changed along the key's path leaves the original
 * (a graph revision) as it was, and shares what is off the path. */
static void test_json_dotted_cow(void **state)
{
	(void)state;
	json_t *orig = json_pack("{s:s, s:{s:{s:s}, s:i}, s:[i]}", "Name", "eth0", "Ovs", "ExtID",
				 "foo", "bar", "Port", 3, "RoutingTables", 254);
	json_t *rt = json_object_get(orig, "RoutingTables");
	json_t *copy = json_copy(orig);
	assert_int_equal(json_dotted_set_cow(copy, "Ovs.ExtID.foo", json_string("baz")), 0);
	assert_int_equal(json_dotted_set_cow(copy, "Ovs.Port", NULL), 0);
	assert_int_equal(json_dotted_set_cow(copy, "Metric.RxPackets", json_integer(10)), 0);
	/* the original is unchanged */
	json_t *want = json_pack("{s:s, s:{s:{s:s}, s:i}, s:[i]}", "Name", "eth0", "Ovs", "ExtID",
				 "foo", "bar", "Port", 3, "RoutingTables", 254);
	assert_true(json_equal(orig, want));
	/* the copy has the changes, and still shares what was off the path */
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(json_object_get(copy, "Ovs"), "ExtID"), "foo")),
			    "baz");
	assert_null(json_object_get(json_object_get(copy, "Ovs"), "Port"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(copy, "Metric"),
							    "RxPackets")),
			 10);
	assert_ptr_equal(json_object_get(copy, "RoutingTables"), rt);
	assert_ptr_not_equal(json_object_get(copy, "Ovs"), json_object_get(orig, "Ovs"));
	json_decref(want);
	json_decref(copy);
	json_decref(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pvec),
		cmocka_unit_test(test_smap),
		cmocka_unit_test(test_json_dotted),
		cmocka_unit_test(test_json_dotted_cow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
