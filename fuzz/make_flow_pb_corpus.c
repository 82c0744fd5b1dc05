/* make_flow_pb_corpus.c - writes seeds for fuzz_flow_pb with the agent's own encoder:
 * frames (built here, and read from the pcap files given) go through a flow table into
 * flow_pb batches (src/agent/flow_pb.c) exactly as a capture does, and each packed
 * flow.Message becomes a frame of fuzz_flow_pb's input format ("H LL LL" + bytes).
 *
 *   make BUILD=build-fz build-fz/fuzz-seed/make_flow_pb_corpus
 *   build-fz/fuzz-seed/make_flow_pb_corpus OUTDIR [file.pcap ...]
 *
 * Writes OUTDIR/seed-NNN: one message each (per option set), a few multi-frame inputs
 * (several hosts, a state replacing an older one, a Stats message, an empty frame). */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/flow_pb.h"
#include "flow/flow_table.h"
#include "../tests/unit/frames.h"

#define MAXMSG 256
#define PRE 8

struct msg {
	uint8_t *buf; /* PRE bytes of headroom, then the message */
	size_t len;
};

static struct msg msgs[MAXMSG];
static int nmsgs;
static struct flow_batch *batch;
static const char *outdir;
static int nseeds;

static void sink(void *user, uint8_t *buf, size_t len)
{
	(void)user;
	if (nmsgs == MAXMSG) {
		free(buf);
		return;
	}
	msgs[nmsgs].buf = buf;
	msgs[nmsgs].len = len;
	nmsgs++;
}

static void emit(void *user, const struct flow_table *t, const struct flow *f, enum flow_event ev,
		 int64_t lu_start, int64_t lu_last)
{
	(void)user;
	(void)ev;
	flow_batch_add(batch, t, f, lu_start, lu_last);
}

static int raw_flows(void *user, const struct flow_table *t, const struct flow *const *flows,
		     int n, const uint8_t *data, uint32_t caplen, uint32_t wirelen, uint64_t ts)
{
	(void)user;
	return flow_batch_raw(batch, t, flows, n, data, caplen, wirelen, ts);
}

/* Appends one frame of fuzz_flow_pb's format. */
static void put_frame(FILE *f, unsigned host, const uint8_t *p, size_t len)
{
	if (len > 0xffff)
		len = 0xffff;
	uint8_t h[3] = {(uint8_t)host, (uint8_t)(len >> 8), (uint8_t)len};
	fwrite(h, 1, 3, f);
	fwrite(p, 1, len, f);
}

static FILE *new_seed(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/seed-%03d", outdir, nseeds++);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2}, ip3[4] = {192, 168, 1, 7};

#define T0 1700000000000000000ull
#define MS(x) ((uint64_t)(x) * 1000000ull)

static void feed(struct flow_table *t, struct frame *fr, uint64_t ts)
{
	flow_table_feed(t, 1, fr->b, fr->len, fr->len, ts);
	fr->len = 0;
}

static void built_frames(struct flow_table *t)
{
	struct frame fr = {.len = 0};
	fr_ping4(&fr, mac1, mac2, ip1, ip2, 0, 7, 1);
	feed(t, &fr, T0);
	fr_ping4(&fr, mac2, mac1, ip2, ip1, 1, 7, 1);
	feed(t, &fr, T0 + MS(3));
	fr_tcp4(&fr, mac1, mac2, ip1, ip2, 40000, 80, 0x02);
	feed(t, &fr, T0 + MS(10));
	fr_tcp4(&fr, mac2, mac1, ip2, ip1, 80, 40000, 0x12);
	feed(t, &fr, T0 + MS(11));
	fr_tcp4(&fr, mac1, mac2, ip1, ip2, 40000, 80, 0x10);
	feed(t, &fr, T0 + MS(12));
	fr_tcp4(&fr, mac1, mac2, ip1, ip2, 40000, 80, 0x11);
	feed(t, &fr, T0 + MS(20));
	fr_tcp4(&fr, mac1, mac2, ip1, ip3, 40001, 443, 0x04);
	feed(t, &fr, T0 + MS(21));
	fr_udp4(&fr, mac1, mac2, ip1, ip2, 5000, 53, 20);
	feed(t, &fr, T0 + MS(30));
	fr_udp4(&fr, mac2, mac1, ip2, ip1, 53, 5000, 60);
	feed(t, &fr, T0 + MS(31));
}

static void pcap_frames(struct flow_table *t, const char *file)
{
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(file, eb);
	if (!p) {
		fprintf(stderr, "%s: %s\n", file, eb);
		return;
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	int lt = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &d) == 1)
		flow_table_feed(t, lt, d, h->caplen, h->len,
				(uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull);
	pcap_close(p);
}

/* One run: a table with these options over the frames, every message kept. */
static void run(const struct flow_table_opts *o, int nfiles, char **files)
{
	struct flow_batch_opts bo = {.linktype = 1, .pre = PRE, .sink = sink};
	batch = flow_batch_new(&bo);
	char err[256];
	struct flow_table *t = flow_table_new(o, emit, NULL, NULL, err, sizeof(err));
	if (!batch || !t) {
		fprintf(stderr, "flow table: %s\n", err);
		exit(1);
	}
	flow_table_set_raw_flows(t, raw_flows);
	built_frames(t);
	flow_table_tick(t, T0 + MS(2000)); /* an update pass: LastUpdateMetric */
	for (int i = 0; i < nfiles; i++)
		pcap_frames(t, files[i]);
	flow_table_flush(t);
	flow_batch_flush(batch);
	flow_table_free(t);
	flow_batch_free(batch);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s OUTDIR [file.pcap ...]\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	struct flow_table_opts opts[] = {
	    {.raw_packet_limit = 2, .extra_tcp_metric = 1, .header_size = 64,
	     .node_tid = "node-tid-1", .capture_id = "cap-1", .update_s = 1},
	    {.raw_packet_limit = -1, .node_tid = "node-tid-2", .capture_id = "cap-2"},
	    {.key_mode = FLOW_KEY_L3, .capture_id = "cap-3"},
	    {.raw_packet_limit = 0, .extra_tcp_metric = 1},
	};
	int first[5];
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		first[i] = nmsgs;
		run(&opts[i], argc - 2, argv + 2);
	}
	first[4] = nmsgs;
	/* one seed per message, each from host 0 */
	for (int i = 0; i < nmsgs; i++) {
		FILE *f = new_seed();
		put_frame(f, 0, msgs[i].buf + PRE, msgs[i].len);
		fclose(f);
	}
	/* every message of a run, the hosts taking turns; then the same again (newer
	 * states replace older ones) */
	for (int r = 0; r < 4; r++) {
		FILE *f = new_seed();
		for (int pass = 0; pass < 2; pass++)
			for (int i = first[r]; i < first[r + 1]; i++)
				put_frame(f, (unsigned)(i + pass), msgs[i].buf + PRE, msgs[i].len);
		fclose(f);
	}
	/* Stats, an empty frame (a valid empty message), a cut message */
	size_t len;
	uint8_t *st = flow_pb_encode_stats("cap-1", 10, 1, 1000, 2, 3, PRE, &len);
	FILE *f = new_seed();
	put_frame(f, 1, st + PRE, len);
	put_frame(f, 2, st, 0);
	if (nmsgs)
		put_frame(f, 0, msgs[0].buf + PRE, msgs[0].len / 2);
	fclose(f);
	free(st);
	for (int i = 0; i < nmsgs; i++)
		free(msgs[i].buf);
	printf("%d seeds from %d messages in %s\n", nseeds, nmsgs, outdir);
	return 0;
}
