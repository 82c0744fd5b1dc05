/* flow_query_bench.c - Gremlin flow queries over the flow store: the time of a query
 * through the evaluator (parse, Flows() over the store, the steps, the answer's JSON),
 * for N stored flows, in memory and, with -d, from the log after a restart (memory
 * empty). Built against the current library and a baseline's by flow_query_bench.sh, so
 * only APIs both have are used.
 *
 * Flows: N distinct TCP flows (client 10.x.y.z:port -> 192.168.0.1:80..86) over 4 capture
 * nodes, one state each, ABBytes 200..1399. Queries (each the median of R runs):
 *   at_has_ip   G.At(t, 3600).Flows().Has('Network', <client N/2>)  1 flow, indexed key
 *   has_gt_cnt  G.Flows().Has('Metric.ABBytes', Gt(800)).Count()   half, unindexed
 *   has_gt_lim  G.Flows().Has('Metric.ABBytes', Gt(800)).Limit(10) 10 flows returned
 *   sort_lim    G.Flows().Sort('Metric.ABBytes').Limit(10)
 *   count       G.Flows().Count()
 *
 * Usage: flow_query_bench [-n FLOWS] [-r RUNS] [-d DIR]   (200000, 7)
 * Output: "key value" lines (<mode>_<query>_ms and the answer's size as a check). */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow.pb-c.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "store/flow_store.h"

#define T0 1700000000000ll /* ms: the flows' start */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const nodes[4] = {"bench-node-0", "bench-node-1", "bench-node-2",
				     "bench-node-3"};

static int ingest(struct flow_store *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		Flow__Flow f;
		Flow__FlowLayer link, net;
		Flow__TransportLayer tr;
		Flow__FlowMetric m;
		char uuid[17], tid[17], a[16], mac[18];
		flow__flow__init(&f);
		flow__flow_layer__init(&link);
		flow__flow_layer__init(&net);
		flow__transport_layer__init(&tr);
		flow__flow_metric__init(&m);
		uint64_t u = 0x9e3779b97f4a7c15ull * (i + 1);
		snprintf(uuid, sizeof(uuid), "%016llx", (unsigned long long)u);
		snprintf(tid, sizeof(tid), "%016llx", (unsigned long long)(u ^ 0x5555));
		snprintf(a, sizeof(a), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		snprintf(mac, sizeof(mac), "02:00:%02x:%02x:%02x:%02x", (i >> 24) & 255,
			 (i >> 16) & 255, (i >> 8) & 255, i & 255);
		f.uuid = uuid;
		f.trackingid = tid;
		f.l3trackingid = tid;
		f.nodetid = (char *)nodes[i % 4];
		f.layerspath = "Ethernet/IPv4/TCP";
		f.application = "TCP";
		link.protocol = FLOW__FLOW_PROTOCOL__ETHERNET;
		link.a = mac;
		link.b = "02:ff:00:00:00:01";
		f.link = &link;
		net.protocol = FLOW__FLOW_PROTOCOL__IPV4;
		net.a = a;
		net.b = "192.168.0.1";
		f.network = &net;
		tr.protocol = FLOW__FLOW_PROTOCOL__TCP;
		tr.a = 1024 + i % 60000;
		tr.b = 80 + i % 7;
		f.transport = &tr;
		m.abpackets = 3;
		m.abbytes = 200 + i % 1200;
		m.bapackets = 2;
		m.babytes = 100 + i % 900;
		m.start = T0 + i / 100;
		m.last = m.start + 10000;
		f.metric = &m;
		f.start = m.start;
		f.last = m.last;
		if (flow_store_ingest_pb(s, &f, T0, NULL))
			return -1;
	}
	return flow_store_flush(s);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char at_has_ip[128];

static const struct {
	const char *name, *q;
} queries[] = {
    {"at_has_ip", at_has_ip},
    {"has_gt_cnt", "G.Flows().Has('Metric.ABBytes', Gt(800)).Count()"},
    {"has_gt_lim", "G.Flows().Has('Metric.ABBytes', Gt(800)).Limit(10)"},
    {"sort_lim", "G.Flows().Sort('Metric.ABBytes').Limit(10)"},
    {"count", "G.Flows().Count()"},
};

static int run_all(const char *mode, struct flow_store *s, int runs)
{
	struct gremlin_flow_ops ops;
	flow_store_gremlin_ops(s, &ops);
	struct gremlin_env env = {.now_ms = T0 + 600000,
				  .flow_ops = &ops,
				  .timeout_ms = 600000,
				  .max_items = 100000000,
				  .max_results = 100000000};
	struct graph *g = graph_new(NULL);
	double *t = calloc((size_t)runs, sizeof(*t));
	if (!g || !t)
		return -1;
	for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
		struct gremlin_error err = {0};
		struct gremlin_query *pq = gremlin_parse(queries[k].q, &err);
		if (!pq) {
			fprintf(stderr, "flow_query_bench: %s: %s\n", queries[k].q, err.msg);
			return -1;
		}
		size_t size = 0;
		for (int r = 0; r < runs; r++) {
			struct gremlin_result res = {0};
			double t0 = now_s();
			graph_lock(g);
			struct graph_view *v = graph_view_at(g, 0, NULL);
			int rc = gremlin_eval(pq, v, &env, &res, &err);
			graph_view_free(v);
			graph_unlock(g);
			/* the answer as the API sends it */
			char *txt = rc ? NULL : json_dumps(res.json, JSON_COMPACT | JSON_ENCODE_ANY);
			t[r] = now_s() - t0;
			if (rc || !txt) {
				fprintf(stderr, "flow_query_bench: %s: %s\n", queries[k].q, err.msg);
				return -1;
			}
			size = strlen(txt);
			free(txt);
			json_decref(res.json);
		}
		gremlin_query_free(pq);
		qsort(t, (size_t)runs, sizeof(*t), cmp_d);
		printf("%s_%s_ms %.2f\n", mode, queries[k].name, t[runs / 2] * 1000);
		printf("%s_%s_answer_bytes %zu\n", mode, queries[k].name, size);
	}
	free(t);
	graph_free(g);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t n = 200000;
	int runs = 7, o;
	const char *dir = NULL;
	while ((o = getopt(argc, argv, "n:r:d:")) != -1) {
		if (o == 'n')
			n = (uint32_t)strtoul(optarg, NULL, 10);
		else if (o == 'r')
			runs = atoi(optarg);
		else if (o == 'd')
			dir = optarg;
		else {
			fprintf(stderr, "usage: flow_query_bench [-n FLOWS] [-r RUNS] [-d DIR]\n");
			return 2;
		}
	}
	if (!n || n > 16000000 || runs <= 0)
		return 2;
	printf("flows %u\nruns %d\n", n, runs);
	uint32_t mid = n / 2;
	snprintf(at_has_ip, sizeof(at_has_ip),
		 "G.At(1700000600, 3600).Flows().Has('Network', '10.%u.%u.%u')", (mid >> 16) & 255,
		 (mid >> 8) & 255, mid & 255);
	struct flow_store_opts mo = {.max_flows = n, .max_age_ms = -1};
	struct flow_store *s = flow_store_new(&mo);
	if (!s || ingest(s, n) || run_all("memory", s, runs))
		return 1;
	flow_store_free(s);
	if (!dir)
		return 0;
	struct flow_store_opts po = mo;
	po.fsync_ms = FLOW_STORE_FSYNC_NEVER;
	snprintf(po.storage_dir, sizeof(po.storage_dir), "%s/flows", dir);
	s = flow_store_new(&po);
	if (!s || ingest(s, n))
		return 1;
	flow_store_free(s);
	s = flow_store_new(&po); /* memory empty: every flow from the log */
	if (!s || run_all("disk", s, runs))
		return 1;
	flow_store_free(s);
	return 0;
}
