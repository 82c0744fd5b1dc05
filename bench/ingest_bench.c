/* ingest_bench.c - the analyzer's flow ingest rate: protobuf flow.Message frames, as the
 * agents send them on /ws/agent/flow, through flow_ingest_frame() into the flow store.
 *
 * The frames are made the agent's way: a flow table (flow/flow_table.h) fed synthetic
 * TCP conversations (SYN, SYN-ACK, ACK, a data packet each way; every flow its own client
 * MAC, IPv4 address and port) and flushed, each flow encoded by flow_pb (100 flows per
 * message, NodeTID, CaptureID, layers, Metric, LastUpdateMetric, TCPMetric). ROUNDS such
 * passes are encoded, with later timestamps and growing counters: the same UUIDs with
 * newer states, so ingesting UPDATES flow states cycles over FLOWS distinct UUIDs.
 *
 * Phases, each timed (wall and this thread's CPU):
 *   ingest  flow_ingest_frame() of every frame until UPDATES flow states were ingested
 *           (decode + store + per-host counters): the number that matters;
 *   decode  flow__message__unpack() + free of the same frames only;
 *   decode_arena, decode_onepass  the same into a bump arena (as the ingest decodes):
 *           protobuf-c's unpack, then the one-pass decoder (store/flow_pbdec.h; and how
 *           many frames it took itself, decode_onepass_frames);
 *   store   flow_store_ingest_pb() of already decoded flows into a fresh store.
 * Memory: RSS growth over the ingest phase / flows stored, and the store's BytesPerFlow.
 *
 * Usage: ingest_bench [-u UPDATES] [-f FLOWS] [-r ROUNDS] [-d DIR] [-o FILE]   (2000000, 200000, 2)
 * -d DIR: the ingest phase's store persistent in DIR/flows (the analyzer's defaults).
 * -o FILE: only write the encoded frames to FILE (each a u32 length, little-endian, then
 * the frame) and stop: bench/flow_ws_send.c sends them to an analyzer. 
 * Output: "key value" lines (see bench/README.md). */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/flow_pb.h"
#include "analyzer/flow_ingest.h"
#include "flow.pb-c.h"
#include "flow/flow_table.h"
#include "store/flow_pbdec.h"
#include "store/flow_store.h"

struct frame {
	uint8_t *buf;
	size_t len;
	size_t nflows;
};

/* The decode phases' arena: one block, emptied after each frame. */
static uint8_t bump[8u << 20];
static size_t bump_used;
static void *bump_alloc(void *u, size_t n)
{
	(void)u;
	n = (n + 15) & ~(size_t)15;
	if (bump_used + n > sizeof(bump))
		return NULL;
	void *p = bump + bump_used;
	bump_used += n;
	return p;
}
static void bump_free(void *u, void *p)
{
	(void)u;
	(void)p;
}

static struct frame *frames;
static size_t nframes, capframes;
static struct flow_batch *batch;

static void sink(void *user, uint8_t *buf, size_t len)
{
	(void)user;
	if (nframes == capframes) {
		capframes = capframes ? 2 * capframes : 1024;
		frames = realloc(frames, capframes * sizeof(*frames));
		if (!frames) {
			perror("realloc");
			exit(2);
		}
	}
	Flow__Message *m = flow__message__unpack(NULL, len, buf);
	frames[nframes].buf = buf;
	frames[nframes].len = len;
	frames[nframes].nflows = m ? m->n_flows : 0;
	if (m)
		flow__message__free_unpacked(m, NULL);
	nframes++;
}

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms)
{
	(void)ev;
	flow_batch_add(user, t, f, lu_start_ms, lu_last_ms);
}

/* One Ethernet/IPv4/TCP frame of flow i (client -> server when dir == 0). */
static uint32_t make_frame(uint8_t *p, uint32_t i, int dir, uint8_t flags, uint32_t payload)
{
	uint8_t cmac[6] = {0x02, 0x00, (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			   (uint8_t)i};
	uint8_t smac[6] = {0x02, 0xff, 0, 0, 0, 1};
	uint8_t cip[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
	uint8_t sip[4] = {192, 168, 0, 1};
	uint16_t cport = (uint16_t)(1024 + i % 60000), sport = 80 + (uint16_t)(i % 7);
	uint32_t iplen = 20 + 20 + payload;
	memset(p, 0, 14 + iplen);
	memcpy(p, dir ? cmac : smac, 6);
	memcpy(p + 6, dir ? smac : cmac, 6);
	p[12] = 0x08;
	uint8_t *ip = p + 14;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, dir ? sip : cip, 4);
	memcpy(ip + 16, dir ? cip : sip, 4);
	uint32_t sum = 0;
	for (int k = 0; k < 20; k += 2)
		sum += (uint32_t)(ip[k] << 8 | ip[k + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	uint8_t *tcp = ip + 20;
	uint16_t a = dir ? sport : cport, b = dir ? cport : sport;
	tcp[0] = (uint8_t)(a >> 8);
	tcp[1] = (uint8_t)a;
	tcp[2] = (uint8_t)(b >> 8);
	tcp[3] = (uint8_t)b;
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	return 14 + iplen;
}

static double now_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void report(const char *phase, uint64_t n, double wall, double cpu)
{
	printf("%s_updates %llu\n", phase, (unsigned long long)n);
	printf("%s_wall_s %.3f\n", phase, wall);
	printf("%s_cpu_s %.3f\n", phase, cpu);
	printf("%s_updates_per_s %.0f\n", phase, wall > 0 ? (double)n / wall : 0);
	printf("%s_ns_per_update %.0f\n", phase, n ? cpu * 1e9 / (double)n : 0);
}

int main(int argc, char **argv)
{
	uint64_t updates = 2000000;
	uint32_t nflows = 200000, rounds = 2;
	int opt;
	const char *out_file = NULL, *dir = NULL;
	while ((opt = getopt(argc, argv, "u:f:r:o:d:")) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'o': out_file = optarg; break;
		case 'u': updates = strtoull(optarg, NULL, 10); break;
		case 'f': nflows = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': rounds = (uint32_t)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: ingest_bench [-u UPDATES] [-f FLOWS] [-r ROUNDS]\n");
			return 2;
		}
	}
	if (!updates || !nflows || !rounds || nflows > 16000000) {
		fprintf(stderr, "ingest_bench: UPDATES, FLOWS (<= 16M) and ROUNDS must be > 0\n");
		return 2;
	}

	/* ---- the frames, the agent's way ---- */
	char err[256];
	struct flow_batch_opts bo = {.linktype = 1, .sink = sink};
	batch = flow_batch_new(&bo);
	struct flow_table_opts to = {
		.key_mode = FLOW_KEY_L2,
		.extra_tcp_metric = 1,
		.max_flows = nflows + 1024,
		.update_s = 10,
		.node_tid = "5f3a0c7e-bench-node-tid",
		.capture_id = "0b8f7c1e-4b7a-4cde-9a6e-bench0000001",
	};
	struct flow_table *t = flow_table_new(&to, on_emit, NULL, batch, err, sizeof(err));
	if (!batch || !t) {
		fprintf(stderr, "ingest_bench: %s\n", t ? "out of memory" : err);
		return 2;
	}
	uint8_t pkt[2048];
	uint64_t base_ns = (uint64_t)time(NULL) * 1000000000ull;
	for (uint32_t r = 0; r < rounds; r++) {
		uint64_t ts = base_ns + (uint64_t)r * 30000000000ull;
		for (uint32_t i = 0; i < nflows; i++, ts += 1000) {
			uint32_t len;
			if (r == 0) {
				len = make_frame(pkt, i, 0, 0x02, 0); /* SYN */
				flow_table_feed(t, 1, pkt, len, len, ts);
				len = make_frame(pkt, i, 1, 0x12, 0); /* SYN-ACK */
				flow_table_feed(t, 1, pkt, len, len, ts + 100);
			}
			len = make_frame(pkt, i, 0, 0x10, 0); /* ACK */
			flow_table_feed(t, 1, pkt, len, len, ts + 200);
			len = make_frame(pkt, i, 0, 0x18, 200 + (i % 1200)); /* data */
			flow_table_feed(t, 1, pkt, len, len, ts + 300);
			len = make_frame(pkt, i, 1, 0x18, 100 + (i % 900));
			flow_table_feed(t, 1, pkt, len, len, ts + 400);
		}
		/* Every flow reported once per round: the update pass (the UUIDs stay: a
		 * UUID includes the flow's start), the last round by the final flush. */
		if (r + 1 < rounds)
			flow_table_tick(t, ts + (uint64_t)to.update_s * 1000000000ull + 1000000000ull);
		else
			flow_table_flush(t);
		flow_batch_flush(batch);
	}
	flow_table_free(t);
	flow_batch_free(batch);
	size_t bytes = 0, states = 0;
	for (size_t i = 0; i < nframes; i++) {
		bytes += frames[i].len;
		states += frames[i].nflows;
	}
	if (!states) {
		fprintf(stderr, "ingest_bench: no flows were encoded\n");
		return 1;
	}
	printf("frames %zu\n", nframes);
	printf("flow_states_encoded %zu\n", states);
	printf("bytes_per_frame %.0f\n", (double)bytes / (double)nframes);
	printf("bytes_per_flow_state %.0f\n", (double)bytes / (double)states);
	printf("distinct_flows %u\n", nflows);
	if (out_file) {
		FILE *o = fopen(out_file, "wb");
		for (size_t i = 0; o && i < nframes; i++) {
			uint32_t l = (uint32_t)frames[i].len;
			if (fwrite(&l, 4, 1, o) != 1 || fwrite(frames[i].buf, 1, l, o) != l) {
				fclose(o);
				o = NULL;
			}
		}
		if (!o || fclose(o)) {
			fprintf(stderr, "ingest_bench: cannot write %s\n", out_file);
			return 2;
		}
		return 0;
	}

	/* ---- ingest: flow_ingest_frame ---- */
	struct flow_store_opts so = {.max_flows = nflows + 1024, .max_age_ms = -1};
	if (dir) /* persistence on, the analyzer's defaults (fsync every 1 s by the flusher) */
		snprintf(so.storage_dir, sizeof(so.storage_dir), "%s/flows", dir);
	printf("persistent %d\n", dir != NULL);
	long rss0 = rss_kib();
	struct flow_store *s = flow_store_new(&so);
	struct flow_ingest *fi = flow_ingest_new(s);
	if (!s || !fi) {
		fprintf(stderr, "ingest_bench: out of memory\n");
		return 2;
	}
	int64_t now_ms = (int64_t)(base_ns / 1000000);
	uint64_t done = 0;
	size_t k = 0;
	double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	while (done < updates) {
		const struct frame *fr = &frames[k];
		if (flow_ingest_frame(fi, "bench-host", fr->buf, fr->len, now_ms, err, sizeof(err))) {
			fprintf(stderr, "ingest_bench: frame %zu: %s\n", k, err);
			return 1;
		}
		done += fr->nflows;
		if (++k == nframes) {
			k = 0;
			now_ms += 1000;
		}
	}
	double w1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
	long rss1 = rss_kib();
	report("ingest", done, w1 - w0, c1 - c0);
	struct flow_store_stats st;
	flow_store_stats(s, &st);
	json_t *sj = flow_store_status_json(s);
	printf("store_flows %llu\n", (unsigned long long)st.flows);
	printf("store_ingested %llu\n", (unsigned long long)st.ingested);
	printf("store_bytes_per_flow %lld\n",
	       (long long)json_integer_value(json_object_get(sj, "BytesPerFlow")));
	printf("rss_delta_kib %ld\n", rss1 - rss0);
	printf("rss_bytes_per_flow %.0f\n",
	       st.flows ? (double)(rss1 - rss0) * 1024.0 / (double)st.flows : 0);
	json_decref(sj);
	json_t *ij = flow_ingest_status_json(fi);
	json_t *h = json_object_get(ij, "bench-host");
	printf("ingest_flows_rejected %lld\n",
	       (long long)json_integer_value(json_object_get(h, "FlowsRejected")));
	json_decref(ij);
	flow_ingest_free(fi);
	flow_store_free(s);

	/* ---- decode only ---- */
	done = 0;
	k = 0;
	w0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	while (done < updates) {
		Flow__Message *m = flow__message__unpack(NULL, frames[k].len, frames[k].buf);
		if (!m)
			return 1;
		done += m->n_flows;
		flow__message__free_unpacked(m, NULL);
		if (++k == nframes)
			k = 0;
	}
	w1 = now_s(CLOCK_MONOTONIC);
	c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
	report("decode", done, w1 - w0, c1 - c0);

	/* ---- decode into a bump arena, as the ingest does: protobuf-c, then the one-pass
	 * decoder (store/flow_pbdec.h) ---- */
	for (int pass = 0; pass < 2; pass++) {
		ProtobufCAllocator al = {bump_alloc, bump_free, NULL};
		size_t fast = 0;
		done = 0;
		k = 0;
		w0 = now_s(CLOCK_MONOTONIC);
		c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
		while (done < updates) {
			Flow__Message *m = NULL;
			if (pass == 0)
				m = flow__message__unpack(&al, frames[k].len, frames[k].buf);
			else if (flow_pbdec_fast(&al, frames[k].len, frames[k].buf, &m) == 1)
				fast++;
			if (!m)
				return 1;
			done += m->n_flows;
			bump_used = 0;
			if (++k == nframes)
				k = 0;
		}
		w1 = now_s(CLOCK_MONOTONIC);
		c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
		report(pass ? "decode_onepass" : "decode_arena", done, w1 - w0, c1 - c0);
		if (pass)
			printf("decode_onepass_frames %zu\n", fast);
	}

	/* ---- store only: decoded once, ingested UPDATES times ---- */
	Flow__Message **dec = calloc(nframes, sizeof(*dec));
	for (size_t i = 0; i < nframes; i++)
		if (!dec || !(dec[i] = flow__message__unpack(NULL, frames[i].len, frames[i].buf)))
			return 2;
	s = flow_store_new(&so);
	if (!s)
		return 2;
	now_ms = (int64_t)(base_ns / 1000000);
	done = 0;
	k = 0;
	w0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	while (done < updates) {
		for (size_t i = 0; i < dec[k]->n_flows; i++) {
			uint64_t uuid;
			flow_store_ingest_pb(s, dec[k]->flows[i], now_ms, &uuid);
		}
		done += dec[k]->n_flows;
		if (++k == nframes) {
			k = 0;
			now_ms += 1000;
		}
	}
	w1 = now_s(CLOCK_MONOTONIC);
	c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
	report("store", done, w1 - w0, c1 - c0);
	flow_store_free(s);
	for (size_t i = 0; i < nframes; i++) {
		flow__message__free_unpacked(dec[i], NULL);
		free(frames[i].buf);
	}
	free(dec);
	free(frames);
	return 0;
}
