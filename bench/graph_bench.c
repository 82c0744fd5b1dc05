/* graph_bench.c - synthetic topology of 100k nodes / 200k edges: memory per node (RSS
 * delta), an indexed Has() and a full REGEX scan through the Gremlin engine; then a history
 * (a fifth of the nodes updated, a twentieth deleted) and queries of a past time, through
 * the lazy view and through a full copy of the graph at that time (how views were made
 * before), in the same run. Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "graph/graph.h"
#include "graph/graph_log.h"
#include "gremlin/gremlin.h"

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Best of `reps` runs of q, in ms; *count gets the result size. */
static double time_query(struct graph *g, const char *q, int reps, size_t *count)
{
	struct gremlin_error err;
	double best = 1e18;
	for (int i = 0; i < reps; i++) {
		double t0 = now_ms();
		struct gremlin_query *pq = gremlin_parse(q, &err);
		if (!pq) {
			fprintf(stderr, "%s: %s\n", q, err.msg);
			exit(1);
		}
		struct graph_view *v = graph_view_at(g, 0, NULL);
		struct gremlin_result r;
		if (gremlin_eval(pq, v, NULL, &r, &err)) {
			fprintf(stderr, "%s: %s\n", q, err.msg);
			exit(1);
		}
		double t = now_ms() - t0;
		*count = json_is_array(r.json) ? json_array_size(r.json)
					       : (size_t)json_integer_value(r.json);
		json_decref(r.json);
		graph_view_free(v);
		gremlin_query_free(pq);
		if (t < best)
			best = t;
	}
	return best;
}

/* Best of reps runs of a query with a time context, from parse to result, through the lazy
 * view (copy = 0) or a full copy (copy = 1); now is the clock the relative time is read
 * against. */
static double time_at(struct graph *g, const char *q, int64_t now, int copy, int reps,
		      size_t *count)
{
	struct gremlin_error err;
	double best = 1e18;
	for (int i = 0; i < reps; i++) {
		double t0 = now_ms();
		struct gremlin_query *pq = gremlin_parse(q, &err);
		int64_t at = 0, dur = 0;
		if (!pq || !gremlin_time_context(pq, now, &at, &dur)) {
			fprintf(stderr, "%s: no time context\n", q);
			exit(1);
		}
		struct graph_view *v = copy ? graph_view_copy(g, at, NULL) : graph_view_at(g, at, NULL);
		struct gremlin_result r;
		if (!v || gremlin_eval(pq, v, NULL, &r, &err)) {
			fprintf(stderr, "%s: %s\n", q, err.msg);
			exit(1);
		}
		double t = now_ms() - t0;
		*count = json_is_array(r.json) ? json_array_size(r.json)
					       : (size_t)json_integer_value(r.json);
		json_decref(r.json);
		graph_view_free(v);
		gremlin_query_free(pq);
		if (t < best)
			best = t;
	}
	return best;
}

/* A node shaped as the netlink probe writes an interface of a container (eth0 in its own
 * namespace: a small IfIndex, one address, its gateway in Neighbors, the subnet's route):
 * the keys, nesting and sizes of src/topology/netlink_fields.c and topo_fields.c, without
 * Captures or Metric. */
static json_t *netlink_md(int i, const char *name, const char *type, const char *tid,
			  const char *mac, const char *ip)
{
	char gw[32], gwmac[32], net[32];
	snprintf(gw, sizeof(gw), "10.%d.0.1", i >> 16 & 255);
	snprintf(gwmac, sizeof(gwmac), "52:54:00:00:%02x:01", i >> 16 & 255);
	snprintf(net, sizeof(net), "10.%d.0.0/16", i >> 16 & 255);
	int ifindex = 2 + i % 8;
	return json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:[sssss],s:[s],"
			 "s:[{s:s,s:s,s:[s],s:i}],"
			 "s:[{s:i,s:s,s:[{s:i,s:s,s:[{s:i,s:i}]}]}]}",
			 "Name", name, "Type", type, "EncapType", "ether", "TID", tid, "IfIndex",
			 ifindex, "MAC", mac, "MTU", 1500, "State", "UP", "Driver", "veth",
			 "LinkFlags", "UP", "BROADCAST", "RUNNING", "MULTICAST", "LOWER_UP", "IPV4",
			 ip, "Neighbors", "IP", gw, "MAC", gwmac, "State", "NUD_REACHABLE",
			 "IfIndex", ifindex, "RoutingTables", "ID", 254, "Src", "", "Routes",
			 "Protocol", 2, "Prefix", net, "NextHops", "IfIndex", ifindex, "Priority", 0);
}

/* The synthetic topology: nodes interfaces (one in ten an "eth" device) with MAC, IPV4,
 * TID; every other one shaped as a real netlink node (netlink_md), the others with eight
 * keys only; the first `nodes` edges a tree, the rest random links. 0 or 1 (a failed
 * add). */
static int build(struct graph *g, int nodes, int edges)
{
	char id[64], name[64], mac[32], ip[32], tid[64];
	for (int i = 0; i < nodes; i++) {
		snprintf(id, sizeof(id), "0b1c7a2e-%08x-4d2f-9a6b-%012x", i, i * 7919);
		snprintf(name, sizeof(name), "%s%d", i % 10 ? "tap" : "eth", i);
		snprintf(mac, sizeof(mac), "52:54:%02x:%02x:%02x:%02x", i >> 24 & 255, i >> 16 & 255,
			 i >> 8 & 255, i & 255);
		snprintf(ip, sizeof(ip), "10.%d.%d.%d/16", i >> 16 & 255, i >> 8 & 255, i & 255);
		snprintf(tid, sizeof(tid), "tid-%08x", i);
		const char *type = i % 10 ? "tun" : "device";
		json_t *md = i % 2 ? netlink_md(i, name, type, tid, mac, ip)
				   : json_pack("{s:s,s:s,s:s,s:s,s:[s],s:i,s:s,s:i}", "Name", name,
					       "Type", type, "TID", tid, "MAC", mac, "IPV4", ip,
					       "MTU", 1500, "State", "UP", "IfIndex", i);
		if (!md || graph_node_add(g, id, md, "host-1", "netlink.host-1", 1000 + i)) {
			fprintf(stderr, "node add failed\n");
			return 1;
		}
	}
	char eid[64], parent[64], child[64];
	unsigned seed = 1;
	for (int i = 0; i < edges; i++) {
		int p = i < nodes ? i / 10 : (int)(rand_r(&seed) % (unsigned)nodes);
		int c = i < nodes ? i : (int)(rand_r(&seed) % (unsigned)nodes);
		snprintf(eid, sizeof(eid), "edge-%08x", i);
		snprintf(parent, sizeof(parent), "0b1c7a2e-%08x-4d2f-9a6b-%012x", p, p * 7919);
		snprintf(child, sizeof(child), "0b1c7a2e-%08x-4d2f-9a6b-%012x", c, c * 7919);
		json_t *md = json_pack("{s:s}", "RelationType", i < nodes ? "ownership" : "layer2");
		if (graph_edge_add(g, eid, parent, child, md, "host-1", "netlink.host-1", 500000 + i)) {
			fprintf(stderr, "edge add failed\n");
			return 1;
		}
	}
	return 0;
}

/* After every creation (t = 800 s on), a fifth of the nodes change State and a twentieth
 * go (with their edges), eth50000 among them. Returns how many changes were made. */
static size_t change(struct graph *g, int nodes)
{
	char id[64];
	int64_t when = 800000;
	size_t changes = 0;
	for (int i = 0; i < nodes; i += 5) {
		snprintf(id, sizeof(id), "0b1c7a2e-%08x-4d2f-9a6b-%012x", i, i * 7919);
		if (i % 20 == 0)
			changes += graph_node_delete(g, id, when++) == 0;
		else
			changes += graph_node_set_key(g, id, "State", json_string("DOWN"), when++) == 0;
	}
	return changes;
}

int main(int argc, char **argv)
{
	int nodes = argc > 1 ? atoi(argv[1]) : 100000;
	int edges = nodes * 2;
	long rss0 = rss_kib();
	double t0 = now_ms();
	struct graph *g = graph_new(NULL);
	if (build(g, nodes, edges))
		return 1;
	double build_ms = now_ms() - t0;
	long rss1 = rss_kib();
	size_t n;
	double t_idx = time_query(g, "G.V().Has('Name', 'eth50000')", 20, &n);
	printf("graph: %d nodes, %d edges built in %.0f ms\n", nodes, edges, build_ms);
	printf("memory: %.0f bytes per element (node + its 2 edges), RSS +%ld KiB (target < 1024)\n",
	       (rss1 - rss0) * 1024.0 / nodes, rss1 - rss0);
	printf("Has on indexed Name: %.3f ms, %zu result (target < 1 ms)\n", t_idx, n);
	double t_idx2 = time_query(g, "G.V().Has('Type', 'device').Count()", 5, &n);
	printf("Has on indexed Type, 10%% of nodes, Count: %.3f ms, %zu\n", t_idx2, n);
	double t_re = time_query(g, "G.V().Has('Name', Regex('eth5.*')).Count()", 5, &n);
	printf("REGEX scan of all nodes: %.3f ms, %zu matches (target < 50 ms)\n", t_re, n);
	double t_mtu = time_query(g, "G.V().Has('MTU', GT(1400)).Count()", 5, &n);
	printf("GT scan of all nodes: %.3f ms, %zu matches\n", t_mtu, n);
	double t_out = time_query(g, "G.V().Has('Name', 'eth0').Out().Out().Count()", 5, &n);
	printf("Has + two Out hops: %.3f ms, %zu\n", t_out, n);
	/* History: the past time asked is 750 s, before every change: answers come from the
	 * live graph and the revisions. */
	long rss_c0 = rss_kib();
	t0 = now_ms();
	size_t changes = change(g, nodes);
	double changes_ms = now_ms() - t0;
	long rss_c1 = rss_kib(); /* what the changes' revisions cost in memory, really */
	struct graph_stats st;
	graph_stats(g, &st);
	printf("history: %zu changes in %.0f ms, %zu revisions kept (%zu KiB by their "
	       "footprint, the bound; RSS +%ld KiB)\n",
	       changes, changes_ms, st.history_revisions, st.history_bytes / 1024, rss_c1 - rss_c0);
	/* "key value" lines for graph_bench.sh's ratios */
	printf("key bytes_per_node %.0f\nkey build_ms %.1f\nkey has_name_ms %.4f\n"
	       "key has_type_count_ms %.3f\nkey regex_scan_ms %.3f\nkey gt_scan_ms %.3f\n"
	       "key out_out_ms %.4f\nkey changes_ms %.1f\nkey history_kib %zu\n"
	       "key changes_rss_kib %ld\n",
	       (rss1 - rss0) * 1024.0 / nodes, build_ms, t_idx, t_idx2, t_re, t_mtu, t_out,
	       changes_ms, st.history_bytes / 1024, rss_c1 - rss_c0);
	const int64_t now = 850000; /* '-100s' is 750 s: before every change */
	const char *pq[] = {
	    "G.At('-100s').V().Has('Name', 'eth50000')",
	    "G.At('-100s').V().Has('Name', 'tap50005')",
	    "G.At('-100s').V().Has('Name', 'eth0').Out().Out().Count()",
	    "G.At('-100s').V().Has('Type', 'device').Count()",
	    "G.At('-100s').V().Count()",
	};
	for (size_t i = 0; i < sizeof(pq) / sizeof(pq[0]); i++) {
		size_t nl, nc;
		double tl = time_at(g, pq[i], now, 0, 10, &nl);
		double tc = time_at(g, pq[i], now, 1, 2, &nc);
		printf("%s: lazy %.4f ms (%zu), copy %.1f ms (%zu), copy/lazy %.0fx%s\n", pq[i], tl,
		       nl, tc, nc, tc / tl, i == 0 ? " (target < 10 ms)" : "");
		if (nl != nc) {
			fprintf(stderr, "lazy and copy views disagree\n");
			return 1;
		}
	}
	graph_free(g);

	/* On disk: the same topology and history recorded by the log (the listener's cost is
	 * in the build time), then replayed into a new graph as a restarted analyzer does. */
	char dir[] = "/tmp/graph_bench.XXXXXX", sub[64], err[256];
	if (!mkdtemp(dir))
		return 1;
	snprintf(sub, sizeof(sub), "%s/topology", dir);
	struct graph_opts go = {.history_max_age_ms = 86400000, .history_max_bytes = 4ul << 30};
	struct graph_log_opts lo = {.dir = sub, .max_age_ms = 86400000, .max_bytes = 4ul << 30};
	g = graph_new(&go);
	struct graph_log *l = graph_log_open(g, &lo, 1, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "graph_log_open: %s\n", err);
		return 1;
	}
	t0 = now_ms();
	if (build(g, nodes, edges))
		return 1;
	change(g, nodes);
	double rec_ms = now_ms() - t0;
	t0 = now_ms();
	graph_log_flush(l);
	double flush_ms = now_ms() - t0;
	struct graph_log_stats ls;
	graph_log_stats(l, &ls);
	printf("log: %llu records (%llu dropped), %zu bytes (%.0f B per record); build + changes "
	       "with the log %.0f ms, last write + sync %.0f ms\n",
	       (unsigned long long)ls.written, (unsigned long long)ls.dropped, ls.bytes,
	       (double)ls.bytes / (double)ls.written, rec_ms, flush_ms);
	graph_log_close(l, 900000);
	graph_free(g);
	g = graph_new(&go);
	t0 = now_ms();
	l = graph_log_open(g, &lo, 950000, err, sizeof(err));
	double replay_ms = now_ms() - t0;
	if (!l) {
		fprintf(stderr, "graph_log_open: %s\n", err);
		return 1;
	}
	graph_log_stats(l, &ls);
	graph_stats(g, &st);
	printf("restart: %llu records replayed in %.0f ms (%.0f k records/s), %zu revisions\n",
	       (unsigned long long)ls.replayed, replay_ms, ls.replayed / replay_ms, st.history_revisions);
	for (size_t i = 0; i < 2; i++) {
		size_t nl;
		double tl = time_at(g, pq[i], now, 0, 10, &nl);
		printf("after restart, %s: lazy %.4f ms (%zu)\n", pq[i], tl, nl);
	}
	graph_log_close(l, 960000);
	graph_free(g);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? 1 : 0;
}
