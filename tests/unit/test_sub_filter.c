/* test_sub_filter.c - unit tests of src/analyzer/sub_filter.c: a subscriber's filtered set, its
 * difference after changes, and partial update ops; and graph_replaced_metadata. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyzer/sub_filter.h"

struct emitted {
	char line[64][96];
	int n;
};

static void record(void *user, const char *type, json_t *obj)
{
	struct emitted *e = user;
	if (e->n < 64)
		snprintf(e->line[e->n++], sizeof(e->line[0]), "%s %s", type,
		         json_string_value(json_object_get(obj, "ID")));
	json_decref(obj);
}

static struct graph *small_graph(void)
{
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	graph_node_add(g, "a", json_pack("{s:s}", "Type", "veth"), "h", "o", 1);
	graph_node_add(g, "b", json_pack("{s:s}", "Type", "veth"), "h", "o", 2);
	graph_node_add(g, "c", json_pack("{s:s}", "Type", "bridge"), "h", "o", 3);
	graph_edge_add(g, "ab", "a", "b", json_pack("{s:s}", "RelationType", "layer2"), "h", "o", 4);
	graph_edge_add(g, "ca", "c", "a", json_pack("{s:s}", "RelationType", "layer2"), "h", "o", 5);
	return g;
}

static void test_filter_graph_and_diff(void **state)
{
	struct graph *g = small_graph();
	struct gremlin_error err;
	struct sub_filter *f = sub_filter_new("G.V().Has('Type', 'veth')", &err);
	assert_non_null(f);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	json_t *sg = sub_filter_graph(f, v, 10, 1, &err);
	graph_view_free(v);
	assert_non_null(sg);
	assert_int_equal(json_array_size(json_object_get(sg, "Nodes")), 2);
	assert_int_equal(json_array_size(json_object_get(sg, "Edges")), 1); /* ab, not ca */
	json_decref(sg);
	assert_true(sub_filter_has(f, 0, "a") && sub_filter_has(f, 1, "ab"));
	assert_false(sub_filter_has(f, 0, "c") || sub_filter_has(f, 1, "ca"));

	/* c enters, b leaves (and its edge with it) */
	graph_node_set_metadata(g, "c", json_pack("{s:s}", "Type", "veth"), 6);
	graph_node_set_metadata(g, "b", json_pack("{s:s}", "Type", "device"), 7);
	struct emitted e = {0};
	v = graph_view_at(g, 0, NULL);
	assert_int_equal(sub_filter_update(f, v, 10, record, &e, &err), 0);
	graph_view_free(v);
	assert_int_equal(e.n, 4);
	assert_string_equal(e.line[0], "EdgeDeleted ab");
	assert_string_equal(e.line[1], "NodeDeleted b");
	assert_string_equal(e.line[2], "NodeAdded c");
	assert_string_equal(e.line[3], "EdgeAdded ca");
	/* nothing changed: nothing sent */
	e.n = 0;
	v = graph_view_at(g, 0, NULL);
	assert_int_equal(sub_filter_update(f, v, 10, record, &e, &err), 0);
	graph_view_free(v);
	assert_int_equal(e.n, 0);
	sub_filter_forget(f, 0, "a");
	assert_false(sub_filter_has(f, 0, "a"));
	sub_filter_free(f);

	/* values are not a subgraph; a syntax error has its position */
	f = sub_filter_new("G.V().Count()", &err);
	assert_non_null(f);
	v = graph_view_at(g, 0, NULL);
	assert_null(sub_filter_graph(f, v, 10, 1, &err));
	graph_view_free(v);
	assert_non_null(strstr(err.msg, "nodes, edges or a graph"));
	sub_filter_free(f);
	assert_null(sub_filter_new("G.V().Has('Type'", &err));
	assert_int_equal(err.pos, 16);
	graph_free(g);
}

static void test_edges_and_subgraph(void **state)
{
	struct graph *g = small_graph();
	struct gremlin_error err;
	const char *qs[] = {"G.E().Has('RelationType', 'layer2')", "G.V().SubGraph()"};
	for (int i = 0; i < 2; i++) {
		struct sub_filter *f = sub_filter_new(qs[i], &err);
		assert_non_null(f);
		struct graph_view *v = graph_view_at(g, 0, NULL);
		json_t *sg = sub_filter_graph(f, v, 10, 0, &err);
		graph_view_free(v);
		assert_non_null(sg);
		assert_int_equal(json_array_size(json_object_get(sg, "Nodes")), 3);
		assert_int_equal(json_array_size(json_object_get(sg, "Edges")), 2);
		assert_false(sub_filter_has(f, 0, "a")); /* not remembered */
		json_decref(sg);
		sub_filter_free(f);
	}
	graph_free(g);
}

static const json_t *last_old;
static int updates;

static void listener(void *user, enum graph_event ev, const struct graph_node *n,
                     const struct graph_edge *e)
{
	if (ev == GRAPH_NODE_UPDATED) {
		last_old = graph_replaced_metadata(user, &n->e);
		updates++;
	}
}

static void test_partial_ops(void **state)
{
	json_t *old = json_pack("{s:s, s:i, s:i, s:{s:s}}", "Name", "x", "MTU", 1500, "IfIndex", 3,
	                        "Ovs", "a", "b");
	json_t *new = json_pack("{s:s, s:i, s:{s:s}, s:s}", "Name", "x", "MTU", 9000, "Ovs", "a",
	                        "c", "State", "UP");
	json_t *ops = sub_partial_ops(old, new);
	char *s = json_dumps(ops, JSON_COMPACT);
	assert_string_equal(s, "[{\"Type\":1,\"Key\":\"MTU\",\"Value\":9000},"
	                       "{\"Type\":1,\"Key\":\"Ovs\",\"Value\":{\"a\":\"c\"}},"
	                       "{\"Type\":1,\"Key\":\"State\",\"Value\":\"UP\"},"
	                       "{\"Type\":2,\"Key\":\"IfIndex\"}]");
	free(s);
	json_decref(ops);

	/* the previous metadata, seen from a listener */
	struct graph *g = graph_new(NULL);
	graph_node_add(g, "n", json_incref(old), "h", "o", 1);
	graph_listener_add(g, listener, g);
	graph_node_set_metadata(g, "n", json_incref(new), 2);
	assert_int_equal(updates, 1);
	assert_true(last_old && json_equal(last_old, old));
	graph_node_set_key(g, "n", "MTU", json_integer(1400), 3);
	assert_int_equal(updates, 2);
	assert_true(last_old && json_equal(last_old, new));
	graph_free(g);
	json_decref(old);
	json_decref(new);
}

/* A top-level key holding a '.' cannot be an op's Key (a dotted path: {"a":{"b"}} on the
 * receiver), so there are no ops and the analyzer sends the element whole (found by
 * fuzz/fuzz_graph_msg.c: corpus seed-dotted). Unchanged dotted keys are fine. */
static void test_partial_ops_dotted_key(void **state)
{
	json_t *old = json_pack("{s:i, s:i, s:i}", "a.b", 1, "c", 1, "k.v", 5);
	json_t *set = json_pack("{s:i, s:i, s:i}", "a.b", 2, "c", 1, "k.v", 5);
	json_t *del = json_pack("{s:i, s:i}", "c", 1, "k.v", 5);
	json_t *other = json_pack("{s:i, s:i, s:i}", "a.b", 1, "c", 2, "k.v", 5);
	assert_null(sub_partial_ops(old, set));
	assert_null(sub_partial_ops(old, del));
	json_t *ops = sub_partial_ops(old, other);
	assert_non_null(ops);
	char *s = json_dumps(ops, JSON_COMPACT);
	assert_string_equal(s, "[{\"Type\":1,\"Key\":\"c\",\"Value\":2}]");
	free(s);
	json_decref(ops);
	json_decref(old);
	json_decref(set);
	json_decref(del);
	json_decref(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_graph_and_diff),
	    cmocka_unit_test(test_edges_and_subgraph),
	    cmocka_unit_test(test_partial_ops),
	    cmocka_unit_test(test_partial_ops_dotted_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
