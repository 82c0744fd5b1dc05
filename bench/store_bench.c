/* store_bench.c - the flow store with persistence on against the in-memory path, in
 * the same run: ingest rate, bytes on disk per flow update, an indexed query, an
 * unindexed scan and the restart time (bench/store_bench.sh runs it).
 *
 * The flow states are decoded flow.Flow messages (proto/flow.proto) as an agent sends
 * them: FLOWS distinct TCP flows over 4 capture nodes, each flow its own client address
 * and port, ROUNDS states per flow with growing counters (the update passes of an
 * agent), interleaved as they would arrive. Decoding is ingest_bench's subject, not this.
 *
 * Phases (wall and this thread's CPU):
 *   memory   flow_store_ingest_pb of every state into a memory-only store;
 *   disk     the same into a persistent store (analyzer's defaults: fsync every 1 s by
 *            the flusher thread, 4096-record blocks, zstd) in DIR, then flushed;
 *   restart  a new store on DIR: recovery, then the first indexed query answered;
 *   indexed  Flows().Has('Network', <one client's address>) over every stored state,
 *            memory empty (the disk path), the median of 9;
 *   scan     an unindexed predicate (Metric.ABPackets > N) over every block: read,
 *            check, decompress, decode, test; records per second.
 *
 * With -c URL (a ClickHouse HTTP interface; bench/clickhouse_bench.sh starts one), the
 * phases after disk are the ClickHouse backend's instead (src/store/clickhouse.h):
 *   clickhouse  the same states into a store whose history is ClickHouse's table
 *               skbench.flows, until ClickHouse has them all (flush): states/s, and the
 *               analyzer process's CPU per state (the ingest and the writer thread;
 *               ClickHouse's own CPU is its process's, not counted); the producer waits
 *               while the batch being filled is 90% full, as an agent whose frames the
 *               analyzer's bounded flow queue holds back would;
 *   ch_indexed  a new store on the table (memory empty): G.At's Has('Network', <one
 *               client's address>) over every state, answered by ClickHouse, median of 9.
 *
 * With -C (and -c), only the ClickHouse phases run: the memory and disk phases would hold
 * every flow in this process, which 100 M flows (Akvorado's scale, issue 14) do not fit;
 * -s SECONDS spreads the flows' Start over that long (default: 10 ms per 1000 flows), and
 * the query is then G.At(t, 3600)'s window around the probed flow, as a user asks it.
 *
 * Usage: store_bench -d DIR [-f FLOWS] [-r ROUNDS] [-c URL [-C] [-s SECONDS]]   (200000, 5)
 * Output: "key value" lines. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow.pb-c.h"
#include "store/flow_store.h"
#include "store/segment.h"

static double now_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct state {
	Flow__Flow f;
	Flow__FlowLayer link, net;
	Flow__TransportLayer tr;
	Flow__FlowMetric m, lu;
	Flow__TCPMetric tcp;
	char uuid[17], tid[17], l3[17], a[16], mac_a[18];
};

static const char *const nodes[4] = {"5f3a0c7e-bench-node-0000", "5f3a0c7e-bench-node-0001",
				     "5f3a0c7e-bench-node-0002", "5f3a0c7e-bench-node-0003"};

static void hex16(char out[17], uint64_t v)
{
	for (int k = 15; k >= 0; k--, v >>= 4)
		out[k] = "0123456789abcdef"[v & 15];
	out[16] = 0;
}

static int64_t spread_ms;  /* -s: the flows' Start over this long; 0: i / 100 ms */
static uint32_t spread_n; /* the flow count spread_ms is divided among */

/* Flow i's Start. */
static int64_t start_of(uint32_t i, int64_t t0)
{
	if (spread_ms)
		return t0 + (int64_t)((double)i * (double)spread_ms / (double)spread_n);
	return t0 + i / 100;
}

static char *dec8(char *p, unsigned v) /* v < 256, no terminator */
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static void make_state(struct state *s, uint32_t i, uint32_t round, int64_t t0)
{
	memset(s, 0, sizeof(*s));
	flow__flow__init(&s->f);
	flow__flow_layer__init(&s->link);
	flow__flow_layer__init(&s->net);
	flow__transport_layer__init(&s->tr);
	flow__flow_metric__init(&s->m);
	flow__flow_metric__init(&s->lu);
	flow__tcpmetric__init(&s->tcp);
	uint64_t u = 0x9e3779b97f4a7c15ull * (i + 1);
	/* formatted by hand: snprintf was a fifth of the loop, the bench's cost, not the
	 * store's (an agent's protobuf strings arrive formatted) */
	hex16(s->uuid, u);
	hex16(s->tid, u ^ 0x5555);
	hex16(s->l3, u ^ 0xaaaa);
	char *p = s->a;
	p = dec8(p, 10 + (i >> 24)); /* one address per flow: 10.0.0.0 up, 11. past 16 M... */
	*p++ = '.';
	p = dec8(p, (i >> 16) & 255);
	*p++ = '.';
	p = dec8(p, (i >> 8) & 255);
	*p++ = '.';
	*dec8(p, i & 255) = 0;
	memcpy(s->mac_a, "02:00:", 6);
	for (int k = 0; k < 4; k++) {
		unsigned b = (i >> (24 - 8 * k)) & 255;
		s->mac_a[6 + 3 * k] = "0123456789abcdef"[b >> 4];
		s->mac_a[7 + 3 * k] = "0123456789abcdef"[b & 15];
		s->mac_a[8 + 3 * k] = k == 3 ? 0 : ':';
	}
	s->f.uuid = s->uuid;
	s->f.trackingid = s->tid;
	s->f.l3trackingid = s->l3;
	s->f.nodetid = (char *)nodes[i % 4];
	s->f.captureid = "0b8f7c1e-4b7a-4cde-9a6e-bench0000001";
	s->f.layerspath = "Ethernet/IPv4/TCP";
	s->f.application = "TCP";
	s->link.protocol = FLOW__FLOW_PROTOCOL__ETHERNET;
	s->link.a = s->mac_a;
	s->link.b = "02:ff:00:00:00:01";
	s->f.link = &s->link;
	s->net.protocol = FLOW__FLOW_PROTOCOL__IPV4;
	s->net.a = s->a;
	s->net.b = "192.168.0.1";
	s->f.network = &s->net;
	s->tr.protocol = FLOW__FLOW_PROTOCOL__TCP;
	s->tr.a = 1024 + i % 60000;
	s->tr.b = 80 + i % 7;
	s->f.transport = &s->tr;
	int64_t start = start_of(i, t0), last = start + 10000 * (round + 1);
	s->m.abpackets = 3 + round;
	s->m.abbytes = 200 + (i % 1200) + 54 * round;
	s->m.bapackets = 2 + round;
	s->m.babytes = 100 + (i % 900) + 54 * round;
	s->m.start = start;
	s->m.last = last;
	s->m.rtt = 100000 + i % 1000;
	s->f.metric = &s->m;
	s->lu.abpackets = 1;
	s->lu.abbytes = 54;
	s->lu.bapackets = 1;
	s->lu.babytes = 54;
	s->lu.start = last - 10000;
	s->lu.last = last;
	s->f.lastupdatemetric = &s->lu;
	s->tcp.absynstart = start;
	s->tcp.basynstart = start + 1;
	s->tcp.absynttl = 64;
	s->tcp.basynttl = 64;
	s->f.tcpmetric = &s->tcp;
	s->f.start = start;
	s->f.last = last;
}

static void report(const char *phase, uint64_t n, double wall, double cpu)
{
	printf("%s_updates %llu\n", phase, (unsigned long long)n);
	printf("%s_wall_s %.3f\n", phase, wall);
	printf("%s_cpu_s %.3f\n", phase, cpu);
	printf("%s_updates_per_s %.0f\n", phase, wall > 0 ? (double)n / wall : 0);
	printf("%s_ns_per_update %.0f\n", phase, n ? cpu * 1e9 / (double)n : 0);
}

/* The batch form (one agent frame at a time), when the library has it: weak, so the
 * same bench links against a build without it (the baseline of a comparison) and then
 * stores one state per call. */
__attribute__((weak)) size_t flow_store_ingest_pb_batch(struct flow_store *s,
							 const Flow__Flow *const *pf, size_t n,
							 int64_t now_ms, uint64_t *uuid, int *rc);
#define FRAME 100 /* flows per agent frame (flow_sender) */

/* The ClickHouse phase's producer pacing: states in the batch being filled (0 without
 * ClickHouse; the other batch may be in flight meanwhile). */
static uint64_t ch_queued(struct flow_store *s)
{
	json_t *j = flow_store_status_json(s);
	json_t *b = json_object_get(json_object_get(j, "Storage"), "Backend");
	uint64_t n = b ? (uint64_t)json_integer_value(json_object_get(b, "Filling")) : 0;
	json_decref(j);
	return n;
}
static uint64_t ch_pace; /* > 0: wait while more than this is queued */

static double ingest(struct flow_store *s, uint32_t nflows, uint32_t rounds, int64_t t0,
		     double *cpu)
{
	static struct state st[FRAME];
	const Flow__Flow *pf[FRAME];
	uint64_t uu[FRAME];
	int rc[FRAME];
	double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	int64_t now = t0;
	for (uint32_t r = 0; r < rounds; r++)
		for (uint32_t i = 0; i < nflows; i += FRAME) {
			/* building the states is part of the loop in both modes: the same cost */
			uint32_t n = nflows - i < FRAME ? nflows - i : FRAME;
			for (uint32_t k = 0; k < n; k++) {
				make_state(&st[k], i + k, r, t0);
				pf[k] = &st[k].f;
			}
			if (flow_store_ingest_pb_batch) {
				if (flow_store_ingest_pb_batch(s, pf, n, now, uu, rc) != n) {
					fprintf(stderr, "store_bench: ingest failed\n");
					exit(1);
				}
			} else {
				for (uint32_t k = 0; k < n; k++)
					if (flow_store_ingest_pb(s, pf[k], now, NULL)) {
						fprintf(stderr, "store_bench: ingest failed\n");
						exit(1);
					}
			}
			if ((i / FRAME & 7) == 0) /* a commit per ~1000 states, as before */
				flow_store_commit(s);
			while (ch_pace && (i / FRAME & 7) == 0 && ch_queued(s) > ch_pace)
				usleep(1000);
		}
	now += 1;
	*cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return now_s(CLOCK_MONOTONIC) - w0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct scanc {
	uint64_t n, hit;
	uint64_t thr;
};

static int scan_fn(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	(void)d;
	struct scanc *c = user;
	c->n += n;
	for (size_t i = 0; i < n; i++)
		c->hit += r[i].abp > c->thr;
	return 0;
}

static int ch_phases(const char *url, const struct flow_store_opts *mo, uint32_t nflows,
		     uint32_t rounds, int64_t t0, double disk_rate)
{
	uint64_t states = (uint64_t)nflows * rounds;
	struct flow_store_opts co = *mo;
	co.has_ch = 1;
	snprintf(co.ch.hosts[0], sizeof(co.ch.hosts[0]), "%s", url);
	co.ch.nhosts = 1;
	snprintf(co.ch.database, sizeof(co.ch.database), "skbench");
	snprintf(co.ch.table, sizeof(co.ch.table), "flows");
	co.ch.max_buffer = CH_MAX_BUFFER;
	co.ch.timeout_ms = 120000;
	ch_pace = CH_MAX_BUFFER - CH_MAX_BUFFER / 10;
	struct flow_store *s = flow_store_new(&co);
	if (!s)
		return 2;
	double p0 = now_s(CLOCK_PROCESS_CPUTIME_ID), cpu;
	double wall = ingest(s, nflows, rounds, t0, &cpu);
	double w0 = now_s(CLOCK_MONOTONIC);
	int frc = flow_store_flush(s);
	wall += now_s(CLOCK_MONOTONIC) - w0;
	double pcpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - p0;
	json_t *j = flow_store_status_json(s);
	json_t *b = json_object_get(json_object_get(j, "Storage"), "Backend");
	long long ins = json_integer_value(json_object_get(b, "Inserted"));
	long long drop = json_integer_value(json_object_get(b, "DroppedFlows"));
	printf("clickhouse_flush_rc %d\n", frc);
	printf("clickhouse_inserted %lld\nclickhouse_dropped %lld\n", ins, drop);
	printf("clickhouse_batches %lld\n", (long long)json_integer_value(json_object_get(b, "Batches")));
	printf("clickhouse_wall_s %.3f\n", wall);
	printf("clickhouse_states_per_s %.0f\n", wall > 0 ? (double)ins / wall : 0);
	printf("clickhouse_process_cpu_s %.3f\n", pcpu);
	printf("clickhouse_states_per_cpu_s %.0f\n", pcpu > 0 ? (double)ins / pcpu : 0);
	if (disk_rate > 0)
		printf("clickhouse_vs_disk_ingest_ratio %.2f\n",
		       wall > 0 ? ((double)ins / wall) / disk_rate : 0);
	json_decref(j);
	flow_store_free(s);

	co.max_flows = mo->max_flows;
	s = flow_store_new(&co);
	double t[9];
	struct state probe;
	struct gremlin_error err = {0};
	for (int k = 0; k < 9; k++) {
		uint32_t pi = (uint32_t)((uint64_t)nflows * (uint32_t)(k + 1) / 11);
		make_state(&probe, pi, 0, t0);
		json_t *flt = json_pack("[s,s]", "Network", probe.a);
		/* spread: G.At(t, 3600) with the probed flow in the middle of the hour */
		int64_t at = spread_ms ? start_of(pi, t0) + 1800000 : t0 + 3600000;
		int64_t win = spread_ms ? 3600000 : 7200000;
		w0 = now_s(CLOCK_MONOTONIC);
		json_t *r = flow_store_query_filtered(s, flt, NULL, at, win, &err);
		t[k] = now_s(CLOCK_MONOTONIC) - w0;
		json_decref(flt);
		if (json_array_size(r) != 1) {
			fprintf(stderr, "store_bench: ClickHouse query found %zu flows, want 1 (%s)\n",
				json_array_size(r), err.msg);
			return 1;
		}
		json_decref(r);
	}
	qsort(t, 9, sizeof(*t), cmp_d);
	printf("ch_indexed_query_ms_median %.2f\n", t[4] * 1000);
	printf("ch_indexed_query_ms_max %.2f\n", t[8] * 1000);
	printf("ch_indexed_over_states %llu\n", (unsigned long long)states);
	printf("ch_indexed_window_s %d\n", spread_ms ? 3600 : 7200);
	flow_store_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t nflows = 200000, rounds = 5;
	const char *dir = NULL, *ch_url = NULL;
	int opt, ch_only = 0;
	while ((opt = getopt(argc, argv, "d:f:r:c:Cs:")) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'c': ch_url = optarg; break;
		case 'C': ch_only = 1; break;
		case 's': spread_ms = strtoll(optarg, NULL, 10) * 1000; break;
		case 'f': nflows = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': rounds = (uint32_t)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: store_bench -d DIR [-f FLOWS] [-r ROUNDS] [-c URL [-C] "
			                "[-s SECONDS]]\n");
			return 2;
		}
	}
	/* in memory the phases hold every flow: 16 M at most; ClickHouse only, 240 M
	 * (addresses 10.0.0.0 to 24.255.255.255) */
	uint32_t fmax = ch_only ? 240000000u : 16000000u;
	if (!dir || !nflows || !rounds || nflows > fmax || (ch_only && !ch_url) || spread_ms < 0 ||
	    (spread_ms && !ch_only)) {
		fprintf(stderr, "store_bench: -d DIR needed; FLOWS (<= %u) and ROUNDS > 0; -C needs "
		                "-c URL; -s SECONDS >= 0, with -C\n", fmax);
		return 2;
	}
	spread_n = nflows;
	int64_t t0 = (int64_t)time(NULL) * 1000;
	uint64_t states = (uint64_t)nflows * rounds;
	printf("flows %u\nrounds %u\nflow_updates %llu\ningest_api %s\n", nflows, rounds,
	       (unsigned long long)states, flow_store_ingest_pb_batch ? "batch" : "single");
	if (spread_ms)
		printf("flows_spread_s %lld\n", (long long)(spread_ms / 1000));
	if (ch_only) { /* the memory kept while writing: the analyzer's default bound */
		struct flow_store_opts co = {.max_flows = FLOW_STORE_MAX_FLOWS, .max_age_ms = -1};
		return ch_phases(ch_url, &co, nflows, rounds, t0, 0);
	}

	/* ---- in memory ---- */
	struct flow_store_opts mo = {.max_flows = nflows + 1024, .max_age_ms = -1};
	struct flow_store *s = flow_store_new(&mo);
	double cpu, wall = ingest(s, nflows, rounds, t0, &cpu);
	report("memory", states, wall, cpu);
	double mem_rate = (double)states / wall;
	json_t *j = flow_store_status_json(s);
	printf("memory_bytes_per_flow %lld\n",
	       (long long)json_integer_value(json_object_get(j, "BytesPerFlow")));
	json_decref(j);
	flow_store_free(s);

	/* ---- persistent ---- */
	struct flow_store_opts po = mo;
	snprintf(po.storage_dir, sizeof(po.storage_dir), "%s/flows", dir);
	s = flow_store_new(&po);
	j = flow_store_status_json(s);
	if (!json_is_true(json_object_get(json_object_get(j, "Storage"), "Persistent"))) {
		fprintf(stderr, "store_bench: no log in %s\n", dir);
		return 2;
	}
	json_decref(j);
	wall = ingest(s, nflows, rounds, t0, &cpu);
	double w0 = now_s(CLOCK_MONOTONIC);
	flow_store_flush(s);
	double flush_s = now_s(CLOCK_MONOTONIC) - w0;
	report("disk", states, wall, cpu);
	printf("disk_final_flush_s %.3f\n", flush_s);
	printf("disk_vs_memory_ingest_ratio %.2f\n", ((double)states / wall) / mem_rate);
	j = flow_store_status_json(s);
	json_t *sto = json_object_get(j, "Storage");
	long long bytes = json_integer_value(json_object_get(sto, "BytesOnDisk"));
	long long held = json_integer_value(json_object_get(sto, "FlowStates"));
	printf("disk_bytes %lld\n", bytes);
	printf("disk_flow_states %lld\n", held);
	printf("disk_blocks %lld\n", (long long)json_integer_value(json_object_get(sto, "Blocks")));
	printf("disk_bytes_per_flow_update %.1f\n", held ? (double)bytes / (double)held : 0);
	printf("disk_write_errors %lld\n",
	       (long long)json_integer_value(json_object_get(sto, "WriteErrors")));
	json_decref(j);
	flow_store_free(s);
	if (ch_url)
		return ch_phases(ch_url, &mo, nflows, rounds, t0, (double)states / wall);

	/* ---- restart: recovery and the first answer ---- */
	po.max_flows = mo.max_flows;
	struct state probe;
	make_state(&probe, nflows / 3, 0, t0);
	json_t *flt = json_pack("[s,s]", "Network", probe.a);
	struct gremlin_error err = {0};
	w0 = now_s(CLOCK_MONOTONIC);
	s = flow_store_new(&po);
	double open_s = now_s(CLOCK_MONOTONIC) - w0;
	json_t *r = flow_store_query_filtered(s, flt, NULL, t0 + 3600000, 7200000, &err);
	double first_s = now_s(CLOCK_MONOTONIC) - w0;
	printf("restart_open_s %.3f\n", open_s);
	printf("restart_first_answer_s %.3f\n", first_s);
	printf("indexed_hits %zu\n", json_array_size(r));
	json_decref(r);

	/* ---- indexed query over the disk ---- */
	double t[9];
	for (int k = 0; k < 9; k++) {
		make_state(&probe, (uint32_t)((uint64_t)nflows * (uint32_t)(k + 1) / 11), 0, t0);
		json_decref(flt);
		flt = json_pack("[s,s]", "Network", probe.a);
		w0 = now_s(CLOCK_MONOTONIC);
		r = flow_store_query_filtered(s, flt, NULL, t0 + 3600000, 7200000, &err);
		t[k] = now_s(CLOCK_MONOTONIC) - w0;
		if (json_array_size(r) != 1) {
			fprintf(stderr, "store_bench: indexed query found %zu flows, want 1\n",
				json_array_size(r));
			return 1;
		}
		json_decref(r);
	}
	qsort(t, 9, sizeof(*t), cmp_d);
	printf("indexed_query_ms_median %.2f\n", t[4] * 1000);
	printf("indexed_query_ms_max %.2f\n", t[8] * 1000);
	json_decref(flt);
	flow_store_free(s);

	/* ---- unindexed scan ---- */
	char e[256];
	struct seglog_opts lo = {.dir = po.storage_dir, .fsync_ms = SEG_FSYNC_NEVER, .no_thread = 1};
	struct seglog *l = seglog_open(&lo, e, sizeof(e));
	if (!l) {
		fprintf(stderr, "store_bench: %s\n", e);
		return 2;
	}
	struct scanc c = {.thr = 4};
	struct seg_scan_stats ss;
	w0 = now_s(CLOCK_MONOTONIC);
	double c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	seglog_scan(l, NULL, scan_fn, NULL, &c, &ss);
	double sw = now_s(CLOCK_MONOTONIC) - w0, sc = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	printf("scan_records %llu\n", (unsigned long long)c.n);
	printf("scan_hits %llu\n", (unsigned long long)c.hit);
	printf("scan_wall_s %.3f\n", sw);
	printf("scan_records_per_s %.0f\n", sw > 0 ? (double)c.n / sw : 0);
	printf("scan_records_per_cpu_s %.0f\n", sc > 0 ? (double)c.n / sc : 0);
	seglog_close(l);
	return 0;
}
