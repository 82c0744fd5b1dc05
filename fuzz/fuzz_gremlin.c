/* fuzz_gremlin.c - libFuzzer target for the Gremlin parser and evaluator: the input is a
 * query, parsed and, when valid, evaluated against a small fixed graph (live and past
 * views), with its result turned into DOT. Its flow steps read a fake JSON provider, or
 * (one input in four) a flow store's typed records, checked against the same flows given
 * to the evaluator as JSON objects (same return code, same answer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.pb-c.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "store/flow_store.h"
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

/* Two flows (TCP over IPv4 with TCPMetric, ICMPv6) in a memory store. */
static struct flow_store *build_store(void)
{
	struct flow_store_opts o = {.max_age_ms = -1};
	struct flow_store *s = flow_store_new(&o);
	for (int i = 0; s && i < 2; i++) {
		Flow__Flow f;
		Flow__FlowLayer link, net;
		Flow__TransportLayer tr;
		Flow__ICMPLayer icmp;
		Flow__FlowMetric m;
		Flow__TCPMetric tcp;
		flow__flow__init(&f);
		flow__flow_layer__init(&link);
		flow__flow_layer__init(&net);
		flow__transport_layer__init(&tr);
		flow__icmplayer__init(&icmp);
		flow__flow_metric__init(&m);
		flow__tcpmetric__init(&tcp);
		f.uuid = i ? "f2" : "f1";
		f.trackingid = "t1";
		f.parentuuid = i ? "f1" : "";
		f.nodetid = i ? "tid-h" : "tid-a";
		f.layerspath = i ? "Ethernet/IPv6/ICMPv6" : "Ethernet/IPv4/TCP";
		f.application = i ? "ICMPv6" : "TCP";
		link.a = "aa:00:00:00:00:01";
		link.b = "bb:00:00:00:00:02";
		f.link = &link;
		net.protocol = i ? FLOW__FLOW_PROTOCOL__IPV6 : FLOW__FLOW_PROTOCOL__IPV4;
		net.a = i ? "fd00::1" : "10.0.0.1";
		net.b = i ? "fd00::2" : "10.0.0.2";
		f.network = &net;
		if (i) {
			icmp.type = FLOW__ICMPTYPE__ECHO;
			icmp.id = 7;
			f.icmp = &icmp;
		} else {
			tr.protocol = FLOW__FLOW_PROTOCOL__TCP;
			tr.a = 40000;
			tr.b = 80;
			f.transport = &tr;
			tcp.absynstart = 1100;
			tcp.absynttl = 64;
			f.tcpmetric = &tcp;
		}
		m.abpackets = 3 + i;
		m.abbytes = 10 + 100 * i;
		m.start = 1000 + i;
		m.last = 5 + 2000 * i;
		m.rtt = i ? 0 : 77;
		f.metric = &m;
		f.start = m.start;
		f.last = m.last;
		flow_store_ingest_pb(s, &f, 5000, NULL);
	}
	return s;
}

static json_t *store_json_flows(void *user, const json_t *filters, const json_t *nodes,
				int64_t at_ms, int64_t duration_ms, struct gremlin_error *err)
{
	return flow_store_query_filtered(user, filters, nodes, at_ms, duration_ms, err);
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
	/* interface counters in two revisions, for Metrics() on nodes over the history */
	graph_node_set_key(g, "b", "LastUpdateMetric",
			   json_pack("{s:i,s:i,s:i}", "RxPackets", 4, "Start", 1000, "Last", 2500),
			   2500);
	graph_node_set_key(g, "b", "LastUpdateMetric",
			   json_pack("{s:i,s:i,s:i}", "RxPackets", 6, "Start", 2500, "Last", 3500),
			   3500);
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
	static struct flow_store *st;
	if (!st)
		st = build_store();
	struct gremlin_flow_ops ops = {.flows = fake_flows}, typed, js;
	int differential = size % 4 == 3 && st;
	if (differential) {
		flow_store_gremlin_ops(st, &typed);
		js = typed;
		js.select = NULL;
		js.flows = store_json_flows;
	}
	struct gremlin_env env = {.now_ms = 5000,
				  .flow_ops = differential ? &typed : size % 2 ? &ops : NULL};
	int64_t at = 0, dur = 0;
	gremlin_time_context(q, env.now_ms, &at, &dur);
	if (at < 0 || at > 1000000)
		at = 2500; /* a past view of the fixed graph */
	struct graph_view *v = graph_view_at(g, at, NULL);
	if (v) {
		struct gremlin_result r;
		int rc = gremlin_eval(q, v, &env, &r, &err);
		if (differential) {
			/* the typed path answers what the JSON path does */
			struct gremlin_env je = env;
			struct gremlin_result jr;
			struct gremlin_error jerr;
			je.flow_ops = &js;
			int jrc = gremlin_eval(q, v, &je, &jr, &jerr);
			CHECK(jrc == rc);
			if (!rc && !jrc) {
				char *a = json_dumps(r.json, JSON_ENCODE_ANY | JSON_SORT_KEYS);
				char *b = json_dumps(jr.json, JSON_ENCODE_ANY | JSON_SORT_KEYS);
				CHECK(a && b && !strcmp(a, b));
				free(a);
				free(b);
			}
			if (!jrc)
				json_decref(jr.json);
		}
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
