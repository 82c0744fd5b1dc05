/* test_graph_view.c - a lazy view of a past time answers what a full copy of the graph at
 * that time answers: random histories (adds, updates, deletes, re-adds of the same IDs,
 * cascades, history bounds that drop revisions), compared call by call and through Gremlin
 * at every millisecond of the history. The copy (graph_view_copy) is the reference. */
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
#include "gremlin/gremlin.h"

#define NNODES 10
#define NEDGES 16

static const char *names[] = {"eth0", "eth1", "lo", "br0"};
static const char *types[] = {"device", "veth", "netns"};
static const char *ips[] = {"10.0.0.1/24", "10.0.0.2/24", "10.0.1.1/16"};

static unsigned rnd(unsigned *seed, unsigned n)
{
	return (unsigned)rand_r(seed) % n;
}

static json_t *random_md(unsigned *seed)
{
	json_t *md =
	    json_pack("{s:s,s:s}", "Name", names[rnd(seed, 4)], "Type", types[rnd(seed, 3)]);
	if (rnd(seed, 2))
		json_object_set_new(md, "IPV4",
		                    json_pack("[s,s]", ips[rnd(seed, 3)], ips[rnd(seed, 3)]));
	if (rnd(seed, 2))
		json_object_set_new(md, "MAC", json_string(rnd(seed, 2) ? "aa:bb" : "cc:dd"));
	if (rnd(seed, 2))
		json_object_set_new(md, "State", json_string(rnd(seed, 2) ? "UP" : "DOWN"));
	return md;
}

static void node_id(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "n%u", i);
}

/* A random sequence of changes at non-decreasing times (several in one ms too); returns the
 * time of the last one. */
static int64_t random_history(struct graph *g, unsigned seed, int steps)
{
	int64_t now = 1000;
	char id[16], p[16], c[16];
	for (int i = 0; i < steps; i++) {
		now += rnd(&seed, 3);
		unsigned op = rnd(&seed, 10);
		node_id(id, sizeof(id), rnd(&seed, NNODES));
		if (op < 3) {
			graph_node_add(g, id, random_md(&seed), rnd(&seed, 2) ? "h1" : "h2", "o",
			               now);
		} else if (op < 5) {
			graph_node_set_metadata(g, id, random_md(&seed), now);
		} else if (op == 5) {
			graph_node_set_key(g, id, "Name", json_string(names[rnd(&seed, 4)]), now);
		} else if (op == 6) {
			if (rnd(&seed, 4) == 0)
				graph_delete_by_host(g, "h2", 0, now);
			else
				graph_node_delete(g, id, now);
		} else if (op < 9) {
			snprintf(c, sizeof(c), "e%u", rnd(&seed, NEDGES));
			node_id(p, sizeof(p), rnd(&seed, NNODES));
			graph_edge_add(g, c, p, id,
			               json_pack("{s:s}", "RelationType",
			                         rnd(&seed, 2) ? "ownership" : "layer2"),
			               "h1", "o", now);
		} else {
			snprintf(c, sizeof(c), "e%u", rnd(&seed, NEDGES));
			if (rnd(&seed, 2))
				graph_edge_delete(g, c, now);
			else
				graph_edge_set_metadata(g, c,
				                        json_pack("{s:s,s:i}", "RelationType",
				                                  "layer2", "W",
				                                  (int)rnd(&seed, 3)),
				                        now);
		}
	}
	return now;
}

/* Same element: same revision of the same ID (the copy has its own strings). */
static void same_elem(const struct graph_elem *a, const struct graph_elem *b)
{
	if (!a || !b) {
		assert_ptr_equal(a, b);
		return;
	}
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->revision, b->revision);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
	assert_int_equal(a->deleted_at, b->deleted_at);
	assert_string_equal(a->host, b->host);
	assert_true(json_equal(a->metadata, b->metadata));
}

static void same_edge(const struct graph_edge *a, const struct graph_edge *b)
{
	same_elem(a ? &a->e : NULL, b ? &b->e : NULL);
	if (a && b) {
		assert_string_equal(a->parent, b->parent);
		assert_string_equal(a->child, b->child);
	}
}

static void same_nodes(const struct graph_node *const *a, size_t na,
                       const struct graph_node *const *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		same_elem(&a[i]->e, &b[i]->e);
}

static void same_edges(const struct graph_edge *const *a, size_t na,
                       const struct graph_edge *const *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		same_edge(a[i], b[i]);
}

static char *query(const char *q, const struct graph_view *v)
{
	struct gremlin_error err;
	struct gremlin_query *pq = gremlin_parse(q, &err);
	assert_non_null(pq);
	struct gremlin_result r = {0};
	if (gremlin_eval(pq, v, NULL, &r, &err)) {
		/* an error (V('n3') when n3 is not there) must be the same error */
		gremlin_query_free(pq);
		return strdup(err.msg);
	}
	char *s = json_dumps(r.json, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(r.json);
	gremlin_query_free(pq);
	return s;
}

static const char *queries[] = {
    "G.V()",
    "G.E()",
    "G.V().Has('Name', 'eth0')",
    "G.V().Has('Name', 'eth1').Out()",
    "G.V().Has('IPV4', '10.0.0.1').In().Values('Name')",
    "G.V().Has('Type', 'veth').Both().Count()",
    "G.V().Has('State', 'UP').OutE()",
    "G.V().Has('MAC', 'aa:bb').Has('Type', 'device')",
    "G.V('n3').Out().Out()",
    "G.V().Has('Name', 'lo').ShortestPathTo(Metadata('Name', 'br0'))",
    "G.V().Has('Name', 'br0').SubGraph()",
};

static void compare_at(struct graph *g, int64_t t)
{
	int tr_lazy = -1, tr_copy = -2;
	struct graph_view *lz = graph_view_at(g, t, &tr_lazy);
	struct graph_view *cp = graph_view_copy(g, t, &tr_copy);
	assert_non_null(lz);
	assert_non_null(cp);
	assert_int_equal(tr_lazy, tr_copy);
	/* point lookups before any listing: the lazy view must not need one */
	char id[16];
	for (unsigned i = 0; i < NNODES; i++) {
		node_id(id, sizeof(id), i);
		const struct graph_node *a = graph_view_node_get(lz, id),
		                        *b = graph_view_node_get(cp, id);
		same_elem(a ? &a->e : NULL, b ? &b->e : NULL);
		size_t na, nb;
		const struct graph_edge *const *ea = graph_view_out_edges(lz, id, &na);
		const struct graph_edge *const *eb = graph_view_out_edges(cp, id, &nb);
		same_edges(ea, na, eb, nb);
		ea = graph_view_in_edges(lz, id, &na);
		eb = graph_view_in_edges(cp, id, &nb);
		same_edges(ea, na, eb, nb);
	}
	for (unsigned i = 0; i < NEDGES; i++) {
		snprintf(id, sizeof(id), "e%u", i);
		same_edge(graph_view_edge_get(lz, id), graph_view_edge_get(cp, id));
	}
	struct {
		const char *k, *v;
	} by[] = {{"Name", "eth0"},     {"Name", "br0"},         {"Type", "veth"},
	          {"IPV4", "10.0.0.2"}, {"IPV4", "10.0.1.1/16"}, {"MAC", "cc:dd"},
	          {"State", "DOWN"},    {"TID", "none"}};
	for (size_t i = 0; i < sizeof(by) / sizeof(by[0]); i++) {
		size_t na, nb;
		const struct graph_node *const *a = graph_view_nodes_by(lz, by[i].k, by[i].v, &na);
		const struct graph_node *const *b = graph_view_nodes_by(cp, by[i].k, by[i].v, &nb);
		same_nodes(a, na, b, nb);
	}
	/* the listing, in order */
	assert_int_equal(graph_view_node_count(lz), graph_view_node_count(cp));
	assert_int_equal(graph_view_edge_count(lz), graph_view_edge_count(cp));
	for (size_t i = 0; i < graph_view_node_count(cp); i++) {
		same_elem(&graph_view_node(lz, i)->e, &graph_view_node(cp, i)->e);
		assert_int_equal(graph_view_node_pos(lz, graph_view_node(lz, i)), i);
	}
	for (size_t i = 0; i < graph_view_edge_count(cp); i++)
		same_edge(graph_view_edge(lz, i), graph_view_edge(cp, i));
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		char *a = query(queries[i], lz), *b = query(queries[i], cp);
		if (strcmp(a, b))
			fail_msg("at %lld, %s:\n lazy %s\n copy %s", (long long)t, queries[i], a,
			         b);
		free(a);
		free(b);
	}
	graph_view_free(lz);
	graph_view_free(cp);
}

static void run_seed(unsigned seed, const struct graph_opts *o, int steps)
{
	struct graph *g = graph_new(o);
	assert_non_null(g);
	int64_t end = random_history(g, seed, steps);
	for (int64_t t = 995; t <= end + 2; t++)
		compare_at(g, t);
	graph_free(g);
}

static void test_random_histories(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 40; seed++)
		run_seed(seed, NULL, 150);
}

/* A byte bound small enough that revisions go while the history grows: views before the
 * oldest kept revision are truncated the same way in both. */
static void test_random_histories_bounded(void **state)
{
	(void)state;
	struct graph_opts o = {.history_max_bytes = 6000};
	for (unsigned seed = 100; seed <= 120; seed++)
		run_seed(seed, &o, 200);
}

/* A lazy view holds no copy: its elements are the graph's own (live or revisions). */
static void test_lazy_borrows(void **state)
{
	(void)state;
	struct graph *g = graph_new(NULL);
	assert_int_equal(graph_node_add(g, "a", json_pack("{s:s}", "Name", "x"), "h", "o", 1000),
	                 0);
	assert_int_equal(graph_node_set_key(g, "a", "Name", json_string("y"), 2000), 0);
	struct graph_view *live = graph_view_at(g, 0, NULL);
	struct graph_view *past = graph_view_at(g, 3000, NULL);
	assert_ptr_equal(graph_view_node_get(live, "a"), graph_view_node_get(past, "a"));
	graph_view_free(past);
	past = graph_view_at(g, 1500, NULL);
	const struct graph_node *old = graph_view_node_get(past, "a");
	assert_non_null(old);
	assert_string_equal(json_string_value(json_object_get(old->e.metadata, "Name")), "x");
	assert_ptr_not_equal(old, graph_view_node_get(live, "a"));
	size_t n;
	assert_non_null(graph_view_nodes_by(past, "Name", "x", &n));
	assert_int_equal(n, 1);
	graph_view_nodes_by(past, "Name", "y", &n);
	assert_int_equal(n, 0);
	graph_view_free(past);
	graph_view_free(live);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_histories),
	    cmocka_unit_test(test_random_histories_bounded),
	    cmocka_unit_test(test_lazy_borrows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
