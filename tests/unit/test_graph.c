/* test_graph.c - unit tests of the topology graph: mutations, edge cascade, indexes through
 * updates and deletes, listeners, revisions, views of past times and the history bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph/graph.h"

struct events {
	int n;
	char log[64][48];
};

static void on_event(void *user, enum graph_event ev, const struct graph_node *node,
		     const struct graph_edge *edge)
{
	struct events *e = user;
	if (e->n < 64)
		snprintf(e->log[e->n], sizeof(e->log[0]), "%s %s", graph_event_name(ev),
			 node ? node->e.id : edge->e.id);
	e->n++;
}

static size_t count_by(struct graph_view *v, const char *key, const char *value)
{
	size_t n;
	graph_view_nodes_by(v, key, value, &n);
	return n;
}

static struct graph *small_graph(void)
{
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	assert_int_equal(graph_node_add(g, "h", json_pack("{s:s,s:s}", "Name", "host", "Type", "host"),
					"host-1", "o1", 1000),
			 0);
	assert_int_equal(graph_node_add(g, "a",
					json_pack("{s:s,s:s,s:[s,s],s:s}", "Name", "eth0", "Type",
						  "device", "IPV4", "10.0.0.1/24", "10.0.1.1/24",
						  "MAC", "aa:bb"),
					"host-1", "o1", 1100),
			 0);
	assert_int_equal(graph_node_add(g, "b", json_pack("{s:s,s:s}", "Name", "eth1", "Type", "device"),
					"host-2", "o2", 1200),
			 0);
	assert_int_equal(graph_edge_add(g, "e1", "h", "a", json_pack("{s:s}", "RelationType", "ownership"),
					"host-1", "o1", 1300),
			 0);
	assert_int_equal(graph_edge_add(g, "e2", "a", "b", json_pack("{s:s}", "RelationType", "layer2"),
					"host-2", "o2", 1400),
			 0);
	return g;
}

static void test_add_lookup(void **state)
{
	struct graph *g = small_graph();
	assert_int_equal(graph_node_add(g, "a", json_object(), "x", "y", 2000), -EEXIST);
	assert_int_equal(graph_edge_add(g, "e1", "h", "a", NULL, "x", "y", 2000), -EEXIST);
	assert_int_equal(graph_edge_add(g, "e9", "h", "zz", NULL, "x", "y", 2000), -ENOENT);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	assert_int_equal(graph_view_node_count(v), 3);
	assert_int_equal(graph_view_edge_count(v), 2);
	assert_string_equal(graph_view_node(v, 0)->e.id, "h");
	assert_string_equal(graph_view_node(v, 2)->e.id, "b");
	assert_null(graph_view_node(v, 3));
	const struct graph_node *a = graph_view_node_get(v, "a");
	assert_non_null(a);
	assert_int_equal(a->e.revision, 1);
	assert_int_equal(a->e.created_at, 1100);
	assert_string_equal(a->e.host, "host-1");
	const struct graph_edge *e = graph_view_edge_get(v, "e2");
	assert_string_equal(e->parent, "a");
	assert_string_equal(e->child, "b");
	size_t n;
	const struct graph_edge *const *out = graph_view_out_edges(v, "a", &n);
	assert_int_equal(n, 1);
	assert_string_equal(out[0]->e.id, "e2");
	const struct graph_edge *const *in = graph_view_in_edges(v, "a", &n);
	assert_int_equal(n, 1);
	assert_string_equal(in[0]->e.id, "e1");
	graph_view_out_edges(v, "nope", &n);
	assert_int_equal(n, 0);

	json_t *j = graph_node_to_json(a);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"ID\":\"a\",\"Metadata\":{\"Name\":\"eth0\",\"Type\":\"device\","
			       "\"IPV4\":[\"10.0.0.1/24\",\"10.0.1.1/24\"],\"MAC\":\"aa:bb\"},"
			       "\"Host\":\"host-1\",\"Origin\":\"o1\",\"CreatedAt\":1100,"
			       "\"UpdatedAt\":1100,\"Revision\":1}");
	free(s);
	json_decref(j);
	j = graph_edge_to_json(e);
	assert_string_equal(json_string_value(json_object_get(j, "Parent")), "a");
	assert_string_equal(json_string_value(json_object_get(j, "Child")), "b");
	assert_null(json_object_get(j, "DeletedAt"));
	json_decref(j);
	j = graph_view_to_json(v);
	assert_int_equal(json_array_size(json_object_get(j, "Nodes")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "Edges")), 2);
	json_decref(j);
	graph_view_free(v);
	graph_view_free(NULL);
	graph_free(g);
	graph_free(NULL);
}

static void test_indexes(void **state)
{
	struct graph *g = small_graph();
	struct graph_view *v = graph_view_at(g, 0, NULL);
	assert_true(graph_indexed_key("Name"));
	assert_true(graph_indexed_key("IPV4"));
	assert_false(graph_indexed_key("MTU"));
	assert_int_equal(count_by(v, "Type", "device"), 2);
	assert_int_equal(count_by(v, "Name", "eth0"), 1);
	assert_int_equal(count_by(v, "MAC", "aa:bb"), 1);
	assert_int_equal(count_by(v, "IPV4", "10.0.0.1/24"), 1);
	assert_int_equal(count_by(v, "IPV4", "10.0.1.1"), 1); /* bare address */
	assert_int_equal(count_by(v, "IPV4", "10.0.2.1"), 0);
	assert_int_equal(count_by(v, "Other", "x"), 0);
	graph_view_free(v);

	/* updates move the node between buckets */
	assert_int_equal(graph_node_set_metadata(g, "a",
						 json_pack("{s:s,s:s,s:[s]}", "Name", "eth9", "Type",
							   "veth", "IPV4", "10.0.1.1/24"),
						 2000),
			 0);
	assert_int_equal(graph_node_set_key(g, "b", "Type", json_string("veth"), 2100), 0);
	assert_int_equal(graph_node_set_key(g, "h", "Owner", json_string("me"), 2200), 0);
	v = graph_view_at(g, 0, NULL);
	assert_int_equal(count_by(v, "Type", "device"), 0);
	assert_int_equal(count_by(v, "Name", "eth0"), 0);
	assert_int_equal(count_by(v, "Name", "eth9"), 1);
	assert_int_equal(count_by(v, "MAC", "aa:bb"), 0);
	assert_int_equal(count_by(v, "IPV4", "10.0.0.1"), 0);
	assert_int_equal(count_by(v, "IPV4", "10.0.0.1/24"), 0);
	assert_int_equal(count_by(v, "IPV4", "10.0.1.1"), 1);
	assert_int_equal(count_by(v, "Owner", "me"), 1); /* unindexed key: scan */
	size_t n;
	const struct graph_node *const *l = graph_view_nodes_by(v, "Type", "veth", &n);
	assert_int_equal(n, 2);
	/* listing order, whatever the bucket order */
	assert_string_equal(l[0]->e.id, "a");
	assert_string_equal(l[1]->e.id, "b");
	assert_int_equal(graph_view_node_pos(v, l[1]), 2);
	graph_view_free(v);

	/* deletes leave no trace in the indexes */
	assert_int_equal(graph_node_delete(g, "a", 3000), 0);
	assert_int_equal(graph_node_delete(g, "a", 3000), -ENOENT);
	v = graph_view_at(g, 0, NULL);
	assert_int_equal(count_by(v, "Type", "veth"), 1);
	assert_int_equal(count_by(v, "IPV4", "10.0.1.1"), 0);
	assert_int_equal(count_by(v, "Name", "eth9"), 0);
	assert_string_equal(graph_view_node(v, 1)->e.id, "b");
	graph_view_free(v);

	/* many nodes in one bucket, removed in an order that moves entries around */
	char id[32];
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		assert_int_equal(graph_node_add(g, id,
						json_pack("{s:s,s:[s,s]}", "Type", "many", "IPV4",
							  "1.1.1.1/32", "1.1.1.1/24"),
						"h", "o", 4000 + i),
				 0);
	}
	for (int i = 0; i < 200; i += 3) {
		snprintf(id, sizeof(id), "n%d", i);
		assert_int_equal(graph_node_delete(g, id, 5000), 0);
	}
	v = graph_view_at(g, 0, NULL);
	l = graph_view_nodes_by(v, "Type", "many", &n);
	assert_int_equal(n, 133);
	for (size_t i = 1; i < n; i++)
		assert_true(graph_view_node_pos(v, l[i - 1]) < graph_view_node_pos(v, l[i]));
	assert_int_equal(count_by(v, "IPV4", "1.1.1.1"), 133); /* once per node */
	graph_view_free(v);
	graph_free(g);
}

static void test_cascade_and_listeners(void **state)
{
	struct graph *g = graph_new(NULL);
	struct events ev = {0};
	int id = graph_listener_add(g, on_event, &ev);
	assert_true(id > 0);
	graph_node_add(g, "h", json_pack("{s:s}", "Name", "host"), "host-1", "o", 1);
	graph_node_add(g, "a", json_pack("{s:s}", "Name", "a"), "host-1", "o", 2);
	graph_node_add(g, "b", json_pack("{s:s}", "Name", "b"), "host-1", "o", 3);
	graph_edge_add(g, "e1", "h", "a", json_pack("{s:s}", "RelationType", "ownership"), "host-1",
		       "o", 4);
	graph_edge_add(g, "e2", "b", "h", json_pack("{s:s}", "RelationType", "layer2"), "host-1",
		       "o", 5);
	graph_node_set_key(g, "a", "MTU", json_integer(1500), 6);
	graph_node_set_key(g, "a", "MTU", json_integer(1500), 7); /* no change: no event */
	graph_edge_set_metadata(g, "e1", json_pack("{s:s,s:i}", "RelationType", "ownership", "X", 1),
				8);
	graph_node_delete(g, "h", 9);
	const char *want[] = {"NodeAdded h",   "NodeAdded a",   "NodeAdded b",
			      "EdgeAdded e1",  "EdgeAdded e2",  "NodeUpdated a",
			      "EdgeUpdated e1", "EdgeDeleted e1", "EdgeDeleted e2",
			      "NodeDeleted h"};
	assert_int_equal(ev.n, 10);
	for (int i = 0; i < 10; i++)
		assert_string_equal(ev.log[i], want[i]);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	assert_int_equal(graph_view_node_count(v), 2);
	assert_int_equal(graph_view_edge_count(v), 0);
	size_t n;
	graph_view_in_edges(v, "a", &n);
	assert_int_equal(n, 0);
	graph_view_out_edges(v, "b", &n);
	assert_int_equal(n, 0);
	const struct graph_node *a = graph_view_node_get(v, "a");
	assert_int_equal(a->e.revision, 2);
	assert_int_equal(a->e.updated_at, 6);
	graph_view_free(v);
	graph_listener_remove(g, id);
	graph_node_delete(g, "a", 10);
	assert_int_equal(ev.n, 10);
	assert_int_equal(graph_node_set_key(g, "zz", "x", json_integer(1), 11), -ENOENT);
	assert_int_equal(graph_node_set_metadata(g, "zz", json_object(), 11), -ENOENT);
	assert_int_equal(graph_edge_set_metadata(g, "zz", json_object(), 11), -ENOENT);
	assert_int_equal(graph_edge_delete(g, "zz", 11), -ENOENT);
	assert_string_equal(graph_event_name(GRAPH_EDGE_DELETED), "EdgeDeleted");
	graph_free(g);
}

static void test_set_key_paths(void **state)
{
	struct graph *g = graph_new(NULL);
	graph_node_add(g, "a", json_pack("{s:s}", "Name", "a"), "h", "o", 1);
	assert_int_equal(graph_node_set_key(g, "a", "Ovs.ExtID.foo", json_string("bar"), 2), 0);
	assert_int_equal(graph_node_set_key(g, "a", "Ovs.ExtID.baz", json_integer(3), 3), 0);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *a = graph_view_node_get(v, "a");
	char *s = json_dumps(a->e.metadata, JSON_COMPACT);
	assert_string_equal(s, "{\"Name\":\"a\",\"Ovs\":{\"ExtID\":{\"foo\":\"bar\",\"baz\":3}}}");
	free(s);
	assert_int_equal(a->e.revision, 3);
	graph_view_free(v);
	assert_int_equal(graph_node_set_key(g, "a", "Ovs.ExtID.foo", NULL, 4), 0);
	assert_int_equal(graph_node_set_key(g, "a", "Nope.x", NULL, 5), 0); /* nothing to delete */
	v = graph_view_at(g, 0, NULL);
	a = graph_view_node_get(v, "a");
	s = json_dumps(a->e.metadata, JSON_COMPACT);
	assert_string_equal(s, "{\"Name\":\"a\",\"Ovs\":{\"ExtID\":{\"baz\":3}}}");
	free(s);
	assert_int_equal(a->e.revision, 4);
	graph_view_free(v);
	graph_free(g);
}

static void test_history_views(void **state)
{
	struct graph *g = graph_new(NULL);
	graph_node_add(g, "h", json_pack("{s:s}", "Name", "host"), "host-1", "o", 1000);
	graph_node_add(g, "a", json_pack("{s:s,s:i}", "Name", "a", "MTU", 1500), "host-1", "o", 2000);
	graph_edge_add(g, "e", "h", "a", json_pack("{s:s}", "RelationType", "ownership"), "host-1",
		       "o", 2500);
	graph_node_set_key(g, "a", "MTU", json_integer(9000), 3000);
	graph_node_set_key(g, "a", "Name", json_string("a2"), 4000);
	graph_node_delete(g, "a", 5000);
	graph_node_add(g, "a", json_pack("{s:s}", "Name", "reborn"), "host-1", "o", 6000);

	static const struct {
		int64_t t;
		size_t nodes, edges;
		const char *a_name;
		int64_t a_mtu, a_rev;
	} cases[] = {
	    {500, 0, 0, NULL, 0, 0},       {1000, 1, 0, NULL, 0, 0},
	    {2000, 2, 0, "a", 1500, 1},    {2999, 2, 1, "a", 1500, 1},
	    {3000, 2, 1, "a", 9000, 2},    {4500, 2, 1, "a2", 9000, 3},
	    {4999, 2, 1, "a2", 9000, 3},   {5000, 1, 0, NULL, 0, 0},
	    {6000, 2, 0, "reborn", -1, 1}, {99999, 2, 0, "reborn", -1, 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int trunc = -1;
		struct graph_view *v = graph_view_at(g, cases[i].t, &trunc);
		assert_non_null(v);
		assert_int_equal(trunc, 0);
		if (graph_view_node_count(v) != cases[i].nodes ||
		    graph_view_edge_count(v) != cases[i].edges)
			fail_msg("t=%lld: %zu nodes %zu edges", (long long)cases[i].t,
				 graph_view_node_count(v), graph_view_edge_count(v));
		const struct graph_node *a = graph_view_node_get(v, "a");
		if (cases[i].a_name) {
			assert_non_null(a);
			assert_string_equal(json_string_value(json_object_get(a->e.metadata, "Name")),
					    cases[i].a_name);
			json_t *mtu = json_object_get(a->e.metadata, "MTU");
			assert_int_equal(mtu ? json_integer_value(mtu) : -1, cases[i].a_mtu);
			assert_int_equal(a->e.revision, cases[i].a_rev);
			/* indexes work on past views too */
			size_t n;
			graph_view_nodes_by(v, "Name", cases[i].a_name, &n);
			assert_int_equal(n, 1);
		} else {
			assert_null(a);
		}
		if (cases[i].edges) {
			size_t n;
			graph_view_out_edges(v, "h", &n);
			assert_int_equal(n, 1);
		}
		graph_view_free(v);
	}
	/* a copy owns its elements: the graph may change or go while it is in use */
	struct graph_view *v = graph_view_copy(g, 4500, NULL);
	graph_node_delete(g, "h", 7000);
	graph_free(g);
	assert_string_equal(graph_view_node_get(v, "h")->e.id, "h");
	graph_view_free(v);
}

static void test_history_bounds(void **state)
{
	struct graph_opts o = {.history_max_age_ms = 10000, .history_max_bytes = 0};
	struct graph *g = graph_new(&o);
	struct graph_stats st;
	graph_stats(g, &st);
	assert_int_equal(st.history_oldest_ms, 0);
	assert_int_equal(st.history_max_age_ms, 10000);
	assert_int_equal(st.history_max_bytes, 64u << 20);
	graph_node_add(g, "a", json_pack("{s:i}", "N", 0), "h", "o", 1000);
	for (int i = 1; i <= 20; i++)
		graph_node_set_key(g, "a", "N", json_integer(i), 1000 + i * 1000);
	graph_stats(g, &st);
	/* changes at 2000..21000; records replaced before 11000 are gone */
	assert_true(st.history_revisions <= 11 && st.history_revisions >= 9);
	assert_true(st.history_oldest_ms >= 10000 && st.history_oldest_ms <= 11000);
	int trunc = 0;
	struct graph_view *v = graph_view_at(g, 1500, &trunc);
	assert_int_equal(trunc, 1);
	assert_int_equal(graph_view_node_count(v), 1);
	graph_view_free(v);
	v = graph_view_at(g, 15500, &trunc);
	assert_int_equal(trunc, 0);
	assert_int_equal(json_integer_value(json_object_get(
			     graph_view_node_get(v, "a")->e.metadata, "N")),
			 14);
	graph_view_free(v);
	graph_history_expire(g, 100000);
	graph_stats(g, &st);
	assert_int_equal(st.history_revisions, 0);
	assert_int_equal(st.history_bytes, 0);
	graph_free(g);

	/* by bytes: a small budget keeps only the newest revisions */
	struct graph_opts ob = {.history_max_age_ms = 0, .history_max_bytes = 4096};
	g = graph_new(&ob);
	char big[512];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	graph_node_add(g, "a", json_pack("{s:s,s:i}", "Blob", big, "N", 0), "h", "o", 1000);
	for (int i = 1; i <= 100; i++)
		graph_node_set_key(g, "a", "N", json_integer(i), 1000 + i);
	graph_stats(g, &st);
	assert_true(st.history_bytes <= 4096);
	assert_true(st.history_revisions >= 2 && st.history_revisions < 10);
	assert_int_equal(st.history_max_age_ms, 3600 * 1000);
	graph_free(g);
}

static void test_delete_by_host(void **state)
{
	struct graph *g = small_graph();
	struct events ev = {0};
	graph_listener_add(g, on_event, &ev);
	/* host-2 owns b and e2 */
	assert_int_equal(graph_delete_by_host(g, "host-2", 0, 5000), 2);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	assert_int_equal(graph_view_node_count(v), 2);
	assert_int_equal(graph_view_edge_count(v), 1);
	graph_view_free(v);
	/* by origin: o1 owns h, a and e1 */
	assert_int_equal(graph_delete_by_host(g, "o1", 1, 6000), 3);
	v = graph_view_at(g, 0, NULL);
	assert_int_equal(graph_view_node_count(v), 0);
	assert_int_equal(graph_view_edge_count(v), 0);
	graph_view_free(v);
	assert_int_equal(graph_delete_by_host(g, "nobody", 0, 7000), 0);
	assert_int_equal(ev.n, 5);
	/* but the past still has them */
	v = graph_view_at(g, 4000, NULL);
	assert_int_equal(graph_view_node_count(v), 3);
	assert_int_equal(graph_view_edge_count(v), 2);
	graph_view_free(v);
	graph_free(g);
}

static void test_subgraph_view(void **state)
{
	struct graph *g = small_graph();
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *nodes[2] = {graph_view_node_get(v, "h"),
					     graph_view_node_get(v, "a")};
	struct graph_view *sv = graph_view_subgraph(v, nodes, 2, NULL, 0);
	assert_int_equal(graph_view_node_count(sv), 2);
	assert_int_equal(graph_view_edge_count(sv), 1);
	assert_non_null(graph_view_edge_get(sv, "e1"));
	graph_view_free(sv);
	const struct graph_edge *edges[1] = {graph_view_edge_get(v, "e2")};
	sv = graph_view_subgraph(v, NULL, 0, edges, 1);
	assert_int_equal(graph_view_node_count(sv), 2);
	assert_int_equal(graph_view_edge_count(sv), 1);
	graph_view_free(sv);
	graph_view_free(v);
	graph_free(g);
}

static void test_many_churn(void **state)
{
	/* adds, edges and deletes in bulk; the maps grow, shrink and reuse tombstones */
	struct graph *g = graph_new(NULL);
	char id[32], id2[32];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 2000; i++) {
			snprintf(id, sizeof(id), "n%d", i);
			assert_int_equal(graph_node_add(g, id, json_pack("{s:s,s:i}", "Name", id, "I", i),
							"h", "o", round * 10000 + i),
					 0);
			if (i) {
				snprintf(id2, sizeof(id2), "e%d", i);
				assert_int_equal(graph_edge_add(g, id2, "n0", id, NULL, "h", "o",
								round * 10000 + i),
						 0);
			}
		}
		struct graph_view *v = graph_view_at(g, 0, NULL);
		size_t n;
		graph_view_out_edges(v, "n0", &n);
		assert_int_equal(n, 1999);
		assert_int_equal(count_by(v, "Name", "n1999"), 1);
		graph_view_free(v);
		for (int i = 1999; i >= 0; i--) {
			snprintf(id, sizeof(id), "n%d", i);
			assert_int_equal(graph_node_delete(g, id, round * 10000 + 5000), 0);
		}
		v = graph_view_at(g, 0, NULL);
		assert_int_equal(graph_view_node_count(v), 0);
		assert_int_equal(graph_view_edge_count(v), 0);
		graph_view_free(v);
	}
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_lookup),     cmocka_unit_test(test_indexes),
	    cmocka_unit_test(test_cascade_and_listeners), cmocka_unit_test(test_set_key_paths),
	    cmocka_unit_test(test_history_views),  cmocka_unit_test(test_history_bounds),
	    cmocka_unit_test(test_delete_by_host), cmocka_unit_test(test_subgraph_view),
	    cmocka_unit_test(test_many_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
