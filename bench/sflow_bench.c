/* sflow_bench.c - the sFlow v5 collector's per-datagram work on one core:
 * sflow_parse() alone, then sflow_parse() + flow_table_feed() (which runs
 * decode_packet()) of every sampled header, the way capture_sflow.c's
 * on_raw() hands them over (mutex, clock read, caplen/wirelen), minus the
 * socket. Two datagrams:
 *   ovs:   the real Open vSwitch 3.1 datagram of tests/unit/sflow_ovs.h
 *          (flow samples with sampled headers + counter samples);
 *   synth: 8 compact flow samples, each an extended switch record (skipped)
 *          and a 128-byte sampled header of a 1000-byte Ethernet/IPv4/TCP
 *          frame; the 8 source ports are rewritten per datagram so the
 *          samples cycle over -f distinct flows.
 * Prints "key value" lines. Usage: sflow_bench [-n datagrams] [-f flows] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include "common/util.h"
#include "decode/decode.h"
#include "decode/sflow.h"
#include "flow/flow_table.h"
#include "../tests/unit/sflow_ovs.h"

/* ---- datagram builder (as tests/unit/test_sflow.c) ------------------------ */

struct pk {
	uint8_t b[4096];
	uint32_t len;
};

static void u32(struct pk *p, uint32_t v)
{
	p->b[p->len++] = (uint8_t)(v >> 24);
	p->b[p->len++] = (uint8_t)(v >> 16);
	p->b[p->len++] = (uint8_t)(v >> 8);
	p->b[p->len++] = (uint8_t)v;
}

static void bytes(struct pk *p, const void *v, uint32_t n)
{
	memcpy(p->b + p->len, v, n);
	p->len += n;
}

static uint32_t open_el(struct pk *p, uint32_t format)
{
	u32(p, format);
	u32(p, 0);
	return p->len;
}

static void close_el(struct pk *p, uint32_t start)
{
	uint32_t n = p->len - start;
	p->b[start - 4] = (uint8_t)(n >> 24);
	p->b[start - 3] = (uint8_t)(n >> 16);
	p->b[start - 2] = (uint8_t)(n >> 8);
	p->b[start - 1] = (uint8_t)n;
}

#define NSYNTH 8
#define HDR_LEN 128
static uint32_t sport_off[NSYNTH]; /* offsets of the TCP source ports in the datagram */

static void build_synth(struct pk *p)
{
	static const uint8_t agent[4] = {192, 0, 2, 7};
	u32(p, 5);
	u32(p, 1);
	bytes(p, agent, 4);
	u32(p, 0);    /* sub-agent */
	u32(p, 42);   /* sequence */
	u32(p, 1000); /* uptime */
	u32(p, NSYNTH);
	for (int k = 0; k < NSYNTH; k++) {
		uint32_t s = open_el(p, 1); /* compact flow sample */
		u32(p, 100 + k);            /* sequence */
		u32(p, 5);                  /* source: ifIndex 5 */
		u32(p, 1000);               /* sampling rate 1:1000 */
		u32(p, 1000 * (100 + k));   /* pool */
		u32(p, 0);                  /* drops */
		u32(p, 5);                  /* input ifIndex */
		u32(p, 6);                  /* output ifIndex */
		u32(p, 2);                  /* records */
		uint32_t r = open_el(p, 1001); /* extended switch: skipped */
		u32(p, 10);
		u32(p, 0);
		u32(p, 10);
		u32(p, 0);
		close_el(p, r);
		r = open_el(p, 1); /* raw packet header */
		u32(p, 1);         /* ETHERNET-ISO88023 */
		u32(p, 1004);      /* frame length, FCS included */
		u32(p, 4);         /* stripped */
		u32(p, HDR_LEN);
		uint8_t h[HDR_LEN];
		memset(h, 0, sizeof(h));
		static const uint8_t eth[14] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01,
						0x08, 0x00};
		memcpy(h, eth, 14);
		uint8_t *ip = h + 14;
		ip[0] = 0x45;
		ip[2] = 986 >> 8; /* total length 1000 - 14 */
		ip[3] = 986 & 0xff;
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 6; /* TCP */
		ip[12] = 10, ip[13] = 1, ip[14] = 0, ip[15] = 1;
		ip[16] = 10, ip[17] = 2, ip[18] = 0, ip[19] = 2;
		uint8_t *tcp = ip + 20;
		tcp[2] = 443 >> 8;
		tcp[3] = 443 & 0xff;
		tcp[7] = 1;     /* seq */
		tcp[12] = 0x50; /* data offset 5 */
		tcp[13] = 0x18; /* PSH ACK */
		tcp[14] = 0xff;
		for (int i = 14 + 20 + 20; i < HDR_LEN; i++)
			h[i] = (uint8_t)i;
		sport_off[k] = p->len + 14 + 20;
		bytes(p, h, HDR_LEN);
		close_el(p, r);
		close_el(p, s);
	}
}

/* Sets the 8 source ports so datagram i carries flows (8i .. 8i+7) mod nflows. */
static void set_ports(uint8_t *b, uint64_t i, uint32_t nflows)
{
	for (int k = 0; k < NSYNTH; k++) {
		uint32_t f = (uint32_t)((i * NSYNTH + (uint64_t)k) % nflows);
		uint32_t port = 1024 + f % 60000;
		b[sport_off[k]] = (uint8_t)(port >> 8);
		b[sport_off[k] + 1] = (uint8_t)port;
		/* beyond 60000 flows, vary the client address too */
		b[sport_off[k] - 20 + 13] = (uint8_t)(1 + f / 60000);
	}
}

/* ---- callbacks ------------------------------------------------------------ */

struct ctx {
	pthread_mutex_t lock;
	struct flow_table *t; /* NULL: parse only */
	uint32_t snaplen;
	uint64_t headers, counters, skipped, fed;
	uint32_t sampling_rate;
	struct sflow_if_counters last;
};

static void on_raw(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
		   const struct sflow_raw_header *h)
{
	(void)dg;
	struct ctx *c = user;
	c->headers++;
	if (!c->t)
		return;
	/* what capture_sflow.c's on_raw does, minus the BPF filter */
	pthread_mutex_lock(&c->lock);
	c->sampling_rate = s->sampling_rate;
	int skip = h->linktype < 0;
	if (skip)
		c->skipped++;
	pthread_mutex_unlock(&c->lock);
	if (skip)
		return;
	uint32_t caplen = h->header_length < c->snaplen ? h->header_length : c->snaplen;
	uint32_t wirelen = h->frame_length > h->stripped ? h->frame_length - h->stripped : 0;
	if (wirelen < h->header_length)
		wirelen = h->header_length;
	flow_table_feed(c->t, h->linktype, h->header, caplen, wirelen, time_now_ns());
	c->fed++;
}

static void on_counters(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
			const struct sflow_if_counters *ic)
{
	(void)dg, (void)s;
	struct ctx *c = user;
	c->counters++;
	if (!c->t)
		return;
	pthread_mutex_lock(&c->lock);
	c->last = *ic;
	pthread_mutex_unlock(&c->lock);
}

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t a, int64_t b)
{
	(void)user, (void)t, (void)f, (void)ev, (void)a, (void)b;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs n datagrams of dg (synth: ports rewritten each time), prints the lines. */
static int run(const char *name, const char *mode, uint8_t *dg, size_t len, int synth,
	       uint64_t n, uint32_t nflows, int feed)
{
	struct ctx c;
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&c.lock, NULL);
	c.snaplen = 256;
	char err[256];
	if (feed) {
		struct flow_table_opts o;
		memset(&o, 0, sizeof(o));
		o.max_flows = nflows * 2 > 500000 ? nflows * 2 : 500000;
		c.t = flow_table_new(&o, on_emit, NULL, NULL, err, sizeof(err));
		if (!c.t) {
			fprintf(stderr, "flow_table_new: %s\n", err);
			return 1;
		}
	}
	struct sflow_callbacks cb = {on_raw, on_counters, &c};
	struct sflow_error e;
	uint64_t bad = 0;
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		if (synth)
			set_ports(dg, i, nflows);
		if (sflow_parse(dg, len, &cb, NULL, NULL, &e))
			bad++;
		pthread_mutex_lock(&c.lock); /* the collector's per-datagram counters */
		pthread_mutex_unlock(&c.lock);
	}
	double dt = now_s() - t0;
	if (c.t) {
		flow_table_sync(c.t);
		const struct flow_stats *st = flow_table_stats(c.t);
		printf("%s_%s_flows %u\n", name, mode, st->flow_count);
		flow_table_free(c.t);
	}
	if (bad) {
		fprintf(stderr, "%s: %llu datagrams failed: %s\n", name, (unsigned long long)bad,
			e.msg);
		return 1;
	}
	double hdr = (double)c.headers;
	printf("%s_%s_datagrams %llu\n", name, mode, (unsigned long long)n);
	printf("%s_%s_seconds %.3f\n", name, mode, dt);
	printf("%s_%s_datagrams_per_s %.0f\n", name, mode, (double)n / dt);
	printf("%s_%s_samples_per_s %.0f\n", name, mode, hdr / dt);
	printf("%s_%s_ns_per_datagram %.1f\n", name, mode, dt * 1e9 / (double)n);
	printf("%s_%s_ns_per_sample %.1f\n", name, mode, hdr ? dt * 1e9 / hdr : 0.0);
	pthread_mutex_destroy(&c.lock);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n = 1000000;
	uint32_t nflows = 10000;
	int opt;
	while ((opt = getopt(argc, argv, "n:f:")) != -1) {
		if (opt == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (opt == 'f')
			nflows = (uint32_t)strtoul(optarg, NULL, 10);
		else {
			fprintf(stderr, "usage: sflow_bench [-n datagrams] [-f flows]\n");
			return 2;
		}
	}
	if (!n || !nflows || nflows > 60000u * 200u) {
		fprintf(stderr, "sflow_bench: bad -n or -f\n");
		return 2;
	}

	static uint8_t ovs[sizeof(OVS_DGRAM)];
	memcpy(ovs, OVS_DGRAM, sizeof(OVS_DGRAM));
	static struct pk syn;
	build_synth(&syn);

	/* what each datagram holds */
	struct sflow_parse_stats st;
	struct sflow_callbacks none = {NULL, NULL, NULL};
	if (sflow_parse(ovs, sizeof(ovs), &none, NULL, &st, NULL))
		return 1;
	printf("ovs_bytes %zu\novs_flow_samples %u\novs_sampled_headers %u\n"
	       "ovs_counter_samples %u\novs_if_counters %u\n",
	       sizeof(ovs), st.flow_samples, st.raw_headers, st.counter_samples, st.if_counters);
	if (sflow_parse(syn.b, syn.len, &none, NULL, &st, NULL))
		return 1;
	printf("synth_bytes %u\nsynth_flow_samples %u\nsynth_sampled_headers %u\nsynth_flows %u\n",
	       syn.len, st.flow_samples, st.raw_headers, nflows);

	int rc = 0;
	rc |= run("ovs", "parse", ovs, sizeof(ovs), 0, n, nflows, 0);
	rc |= run("synth", "parse", syn.b, syn.len, 1, n, nflows, 0);
	rc |= run("ovs", "feed", ovs, sizeof(ovs), 0, n, nflows, 1);
	rc |= run("synth", "feed", syn.b, syn.len, 1, n, nflows, 1);
	return rc;
}
