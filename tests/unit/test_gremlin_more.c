/* test_gremlin_more.c - unit tests of gremlin_steps_more.c: Metrics() on nodes over the
 * graph's history (Skydive's InterfaceMetrics: gremlin/traversal/topology.go), Sum() and
 * Aggregates() on interface metrics, Group() and MoreThan() on flows
 * (gremlin/traversal/group.go, flows.go). Every expected value is made from the test's
 * own inputs. */
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

#define T0 INT64_C(1700000000000)

/* q's result as parsed JSON, or NULL with the error message in *msg (static). */
static json_t *eval(struct graph *g, const char *q, const struct gremlin_env *env, const char **msg)
{
	static struct gremlin_error err;
	struct gremlin_query *pq = gremlin_parse(q, &err);
	*msg = err.msg;
	if (!pq)
		return NULL;
	int64_t at = 0;
	gremlin_time_context(pq, env ? env->now_ms : 0, &at, NULL);
	struct graph_view *v = graph_view_at(g, at, NULL);
	assert_non_null(v);
	struct gremlin_result res;
	json_t *out = NULL;
	if (gremlin_eval(pq, v, env, &res, &err) == 0)
		out = res.json;
	graph_view_free(v);
	gremlin_query_free(pq);
	return out;
}

static void expect_json(struct graph *g, const char *q, const struct gremlin_env *env,
                        json_t *want /* stolen */)
{
	const char *msg;
	json_t *got = eval(g, q, env, &msg);
	if (!got || !json_equal(got, want)) {
		char *a = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		char *b = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
		fail_msg("%s\n  got:  %s\n  want: %s", q, a ? a : msg, b);
	}
	json_decref(got);
	json_decref(want);
}

static void expect_error(struct graph *g, const char *q, const struct gremlin_env *env,
                         const char *part)
{
	const char *msg;
	json_t *got = eval(g, q, env, &msg);
	if (got || !strstr(msg, part))
		fail_msg("%s: expected an error with \"%s\", got %s", q, part,
		         got ? "a result" : msg);
	json_decref(got);
}

/* ---- Metrics() on nodes ------------------------------------------------------------- */

/* The counter deltas of the three update passes of interface "veth0", 10 s each. */
static const int64_t rx[3] = {5, 7, 11};

static json_t *lum(int k) /* the LastUpdateMetric of pass k, as the netlink probe writes */
{
	return json_pack("{s:I,s:I,s:I,s:I}", "RxPackets", (json_int_t)rx[k], "RxBytes",
	                 (json_int_t)(rx[k] * 100), "Start", (json_int_t)(T0 + 10000 * k), "Last",
	                 (json_int_t)(T0 + 10000 * (k + 1)));
}

static struct graph *metrics_graph(void)
{
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	assert_int_equal(graph_node_add(g, "n1",
	                                json_pack("{s:s,s:s}", "Name", "veth0", "Type", "veth"),
	                                "h", "o", T0),
	                 0);
	assert_int_equal(
	    graph_node_add(g, "n2", json_pack("{s:s}", "Name", "nometric"), "h", "o", T0), 0);
	int64_t total = 0;
	for (int k = 0; k < 3; k++) {
		total += rx[k];
		json_t *md =
		    json_pack("{s:s,s:s,s:{s:I},s:o}", "Name", "veth0", "Type", "veth", "Metric",
		              "RxPackets", (json_int_t)total, "LastUpdateMetric", lum(k));
		assert_int_equal(graph_node_set_metadata(g, "n1", md, T0 + 10000 * (k + 1)), 0);
	}
	/* an sFlow counter on another node, for Metrics('SFlow') */
	assert_int_equal(
	    graph_node_add(g, "n3",
	                   json_pack("{s:s,s:{s:{s:i,s:I,s:I}}}", "Name", "sf", "SFlow",
	                             "LastUpdateMetric", "TxPackets", 3, "Start", (json_int_t)T0,
	                             "Last", (json_int_t)(T0 + 1000)),
	                   "h", "o", T0),
	    0);
	return g;
}

static void test_node_metrics(void **state)
{
	(void)state;
	struct graph *g = metrics_graph();
	struct gremlin_env env = {.now_ms = T0 + 60000};
	/* live: each node's current LastUpdateMetric; nodes without it left out */
	expect_json(g, "G.V().Has('Name', 'veth0').Metrics()", &env,
	            json_pack("[{s:[o]}]", "n1", lum(2)));
	expect_json(g, "G.V().Metrics().Count()", &env, json_integer(1));
	expect_json(g, "G.V().Has('Name', 'nometric').Metrics()", &env, json_array());
	expect_json(g, "G.V().Metrics('SFlow')", &env,
	            json_pack("[{s:[{s:i,s:I,s:I}]}]", "n3", "TxPackets", 3, "Start",
	                      (json_int_t)T0, "Last", (json_int_t)(T0 + 1000)));
	/* a window holding every pass: the revisions' metrics, in Start order */
	const char *all = "G.At(1700000040, 50).V().Has('Name', 'veth0').Metrics()";
	expect_json(g, all, &env, json_pack("[{s:[o,o,o]}]", "n1", lum(0), lum(1), lum(2)));
	/* a window ending at T0 + 25 s: the third pass (Last T0 + 30 s) is not inside */
	expect_json(g, "G.At(1700000025, 30).V().Has('Name', 'veth0').Metrics()", &env,
	            json_pack("[{s:[o,o]}]", "n1", lum(0), lum(1)));
	/* Skydive keeps only metrics that start after the window's start (Start > t - d) */
	expect_json(g, "G.At(1700000040, 40).V().Has('Name', 'veth0').Metrics()", &env,
	            json_pack("[{s:[o,o]}]", "n1", lum(1), lum(2)));
	/* Sum() adds the counters, Start the earliest, Last the latest */
	json_int_t sum = rx[0] + rx[1] + rx[2];
	expect_json(g, "G.At(1700000040, 50).V().Has('Name', 'veth0').Metrics().Sum('RxPackets')",
	            &env, json_integer(sum));
	expect_json(g, "G.At(1700000040, 50).V().Metrics().Sum()", &env,
	            json_pack("{s:I,s:I,s:I,s:I}", "RxPackets", sum, "RxBytes", sum * 100, "Start",
	                      (json_int_t)T0, "Last", (json_int_t)(T0 + 30000)));
	/* Aggregates(seconds): slices from the window's start T0 - 10 s; each 10 s pass lies in
	 * one 10 s slice; with 20 s slices the second slice holds passes 1 and 2 */
	expect_json(g, "G.At(1700000040, 50).V().Metrics().Aggregates(10)", &env,
	            json_pack("[{s:[o,o,o]}]", "Aggregated", lum(0), lum(1), lum(2)));
	expect_json(g, "G.At(1700000040, 50).V().Metrics().Aggregates(20)", &env,
	            json_pack("[{s:[{s:I,s:I,s:I,s:I},{s:I,s:I,s:I,s:I}]}]", "Aggregated",
	                      "RxPackets", (json_int_t)rx[0], "RxBytes", (json_int_t)(rx[0] * 100),
	                      "Start", (json_int_t)(T0 - 10000), "Last", (json_int_t)(T0 + 10000),
	                      "RxPackets", (json_int_t)(rx[1] + rx[2]), "RxBytes",
	                      (json_int_t)((rx[1] + rx[2]) * 100), "Start",
	                      (json_int_t)(T0 + 10000), "Last", (json_int_t)(T0 + 30000)));
	/* Keys(): InterfaceMetric's fields in name order, then Start and Last */
	expect_json(g, "G.V().Metrics().Keys()", &env,
	            json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "Collisions",
	                      "Multicast", "RxBytes", "RxCompressed", "RxCrcErrors", "RxDropped",
	                      "RxErrors", "RxFifoErrors", "RxFrameErrors", "RxLengthErrors",
	                      "RxMissedErrors", "RxOverErrors", "RxPackets", "TxAbortedErrors",
	                      "TxBytes", "TxCarrierErrors", "TxCompressed", "TxDropped", "TxErrors",
	                      "TxFifoErrors", "TxHeartbeatErrors", "TxPackets", "TxWindowErrors",
	                      "Start", "Last"));
	expect_json(g, "G.V().Has('Name', 'nometric').Metrics().Keys()", &env, json_null());
	expect_error(g, "G.V().Metrics('Foo')", &env,
	             "Metrics takes LastUpdateMetric, SFlow or Ovs");
	expect_error(g, "G.V().Metrics('LastUpdateMetric', 'x')", &env, "at most one key");
	expect_error(g, "G.E().Metrics()", &env, "needs a flow store");
	graph_free(g);
}

/* ---- Group() and MoreThan() on flows -------------------------------------------------- */

static json_t *three_flows(void)
{
	return json_pack("[{s:s,s:s,s:s,s:{s:i}},{s:s,s:s,s:s,s:{s:i}},{s:s,s:s,s:s,s:{s:i}}]",
	                 "UUID", "f1", "TrackingID", "t1", "NodeTID", "a", "Metric", "ABBytes", 1,
	                 "UUID", "f2", "TrackingID", "t1", "NodeTID", "b", "Metric", "ABBytes", 2,
	                 "UUID", "f3", "TrackingID", "t3", "NodeTID", "a", "Metric", "ABBytes", 3);
}

static json_t *flows_fn(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
                        int64_t duration_ms, struct gremlin_error *err)
{
	(void)user, (void)filters, (void)nodes, (void)at_ms, (void)duration_ms, (void)err;
	return three_flows();
}

static void test_group(void **state)
{
	(void)state;
	struct graph *g = graph_new(NULL);
	struct gremlin_flow_ops ops = {.flows = flows_fn};
	struct gremlin_env env = {.now_ms = T0, .flow_ops = &ops};
	json_t *f = three_flows();
	json_t *f1 = json_array_get(f, 0), *f2 = json_array_get(f, 1), *f3 = json_array_get(f, 2);
	/* by TrackingID (the default): t1 has f1 and f2, t3 has f3 */
	expect_json(g, "G.Flows().Group()", &env,
	            json_pack("[{s:[O,O],s:[O]}]", "t1", f1, f2, "t3", f3));
	expect_json(g, "G.Flows().Group('NodeTID')", &env,
	            json_pack("[{s:[O,O],s:[O]}]", "a", f1, f3, "b", f2));
	/* MoreThan(): groups of more than one flow; MoreThan(n) more than n */
	expect_json(g, "G.Flows().Group().MoreThan()", &env,
	            json_pack("[{s:[O,O]}]", "t1", f1, f2));
	expect_json(g, "G.Flows().Group().MoreThan(0)", &env,
	            json_pack("[{s:[O,O],s:[O]}]", "t1", f1, f2, "t3", f3));
	expect_json(g, "G.Flows().Group().MoreThan('2')", &env, json_array());
	expect_error(g, "G.Flows().Group('Metric.ABBytes')", &env,
	             "no string field Metric.ABBytes");
	expect_error(g, "G.Flows().Group().MoreThan(-1)", &env, "must be positive");
	expect_error(g, "G.Flows().Group().MoreThan('x')", &env, "MoreThan takes an integer");
	/* Metrics() and Keys() of flows (their Metric without a store hook) */
	expect_json(g, "G.Flows().Metrics().Keys()", &env,
	            json_pack("[s,s,s,s,s,s]", "ABPackets", "ABBytes", "BAPackets", "BABytes",
	                      "Start", "Last"));
	expect_json(g, "G.Flows().Metrics().Count()", &env, json_integer(3));
	expect_error(g, "G.Flows().Metrics().Values('ABBytes')", &env,
	             "Values() does not apply to metrics");
	expect_error(g, "G.V().Workflow('x')", &env, "Workflow() (Skydive's JavaScript workflows)");
	expect_error(g, "G.V().Group()", &env, "Group() does not apply to nodes");
	expect_error(g, "G.Flows().MoreThan()", &env, "MoreThan() does not apply to flows");
	json_decref(f);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_node_metrics),
	    cmocka_unit_test(test_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
