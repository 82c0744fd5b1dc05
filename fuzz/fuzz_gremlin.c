/* fuzz_gremlin.c - libFuzzer target for the Gremlin parser and evaluator: the input is a
 * query, parsed and, when valid, evaluated against a small fixed graph (live and past
 * views), with its result turned into DOT. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static json_t *fake_flows(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
			  int64_t duration_ms, struct gremlin_error *err)
{
	(void)user;
	(void)filters;
	(void)nodes;
	(void)at_ms;
	(void)duration_ms;
	if (json_array_size(filters) == 1) {
		snprintf(err->msg, sizeof(err->msg), "refused");
		return NULL;
	}
	return json_pack("[{s:s,s:s,s:s,s:{s:s,s:s},s:{s:s,s:s},s:{s:i},s:i}]", "UUID", "f1",
			 "TrackingID", "t1", "NodeTID", "tid-a", "Network", "A", "10.0.0.1", "B",
			 "10.0.0.2", "Link", "A", "aa", "B", "bb", "Metric", "ABBytes", 10, "Last",
			 5);
}

static struct graph *build_graph(void)
{
	struct graph *g = graph_new(NULL);
	if (!g)
		return NULL;
	graph_node_add(g, "h", json_pack("{s:s,s:s,s:s}", "Name", "host", "Type", "host", "TID", "tid-h"),
		       "h", "o", 1000);
	graph_node_add(g, "n", json_pack("{s:s,s:s}", "Name", "ns", "Type", "netns"), "h", "o", 1100);
	graph_node_add(g, "a",
		       json_pack("{s:s,s:s,s:s,s:i,s:s,s:[s,s],s:[{s:s,s:i}],s:{s:{s:s}},s:f,s:b}",
				 "Name", "eth0", "Type", "device", "TID", "tid-a", "MTU", 1500,
				 "MAC", "aa", "IPV4", "10.0.0.1/24", "10.0.1.1/24", "Captures",
				 "ID", "c1", "N", 3, "Ovs", "ExtID", "k", "v", "W", 1.5, "Up", 1),
		       "h", "o", 1200);
	graph_node_add(g, "b", json_pack("{s:s,s:s,s:i,s:s}", "Name", "veth", "Type", "veth", "MTU", 9000, "MAC", "bb"),
		       "h", "o", 1300);
	graph_node_add(g, "c", json_pack("{s:s,s:s}", "Name", "br", "Type", "bridge"), "h", "o", 1400);
	graph_edge_add(g, "e1", "h", "n", json_pack("{s:s}", "RelationType", "ownership"), "h", "o", 1500);
	graph_edge_add(g, "e2", "n", "a", json_pack("{s:s}", "RelationType", "ownership"), "h", "o", 1600);
	graph_edge_add(g, "e3", "h", "b", json_pack("{s:s}", "RelationType", "ownership"), "h", "o", 1700);
	graph_edge_add(g, "e4", "a", "b", json_pack("{s:s}", "RelationType", "layer2"), "h", "o", 1800);
	graph_edge_add(g, "e5", "c", "b", json_pack("{s:s}", "RelationType", "layer2"), "h", "o", 1900);
	graph_edge_add(g, "e6", "b", "a", json_pack("{s:s}", "RelationType", "layer2"), "h", "o", 2000);
	graph_node_set_key(g, "a", "MTU", json_integer(1400), 3000);
	graph_node_delete(g, "c", 4000);
	return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;

	struct gremlin_error err;
	memset(&err, 0x5a, sizeof(err));
	struct gremlin_query *q = gremlin_parse(text, &err);
	if (!q) {
		CHECK(memchr(err.msg, 0, sizeof(err.msg)) != NULL);
		CHECK(err.pos >= 0 && (size_t)err.pos <= strlen(text));
		free(text);
		return 0;
	}
	static struct graph *g;
	if (!g)
		g = build_graph(); /* kept across runs: evaluation never changes it */
	struct gremlin_flow_ops ops = {.flows = fake_flows};
	struct gremlin_env env = {.now_ms = 5000, .flow_ops = size % 2 ? &ops : NULL};
	int64_t at = 0, dur = 0;
	gremlin_time_context(q, env.now_ms, &at, &dur);
	if (at < 0 || at > 1000000)
		at = 2500; /* a past view of the fixed graph */
	struct graph_view *v = graph_view_at(g, at, NULL);
	if (v) {
		struct gremlin_result r;
		int rc = gremlin_eval(q, v, &env, &r, &err);
		if (rc == 0) {
			CHECK(r.json != NULL);
			char *dot = gremlin_result_dot(&r);
			free(dot);
			char *s = json_dumps(r.json, JSON_ENCODE_ANY);
			CHECK(s != NULL);
			free(s);
			json_decref(r.json);
		} else {
			CHECK(memchr(err.msg, 0, sizeof(err.msg)) != NULL);
		}
		graph_view_free(v);
	}
	gremlin_query_free(q);
	free(text);
	return 0;
}
