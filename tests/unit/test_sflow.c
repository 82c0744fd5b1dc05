/* test_sflow.c - unit tests of the sFlow v5 parser: datagrams built byte by
 * byte (compact and expanded samples, IPv4 and IPv6 agents, unknown samples
 * and records skipped by length), every truncation, and the error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decode/decode.h"
#include "decode/sflow.h"
#include "unit/sflow_ovs.h"

/* ---- datagram builder ---------------------------------------------------- */

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

static void u64(struct pk *p, uint64_t v)
{
	u32(p, (uint32_t)(v >> 32));
	u32(p, (uint32_t)v);
}

static void bytes(struct pk *p, const void *v, uint32_t n)
{
	memcpy(p->b + p->len, v, n);
	p->len += n;
}

/* Opens a { format, length } element; close() writes the length. */
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

static void dg_header(struct pk *p, int v6, uint32_t nsamples)
{
	static const uint8_t a4[4] = {192, 0, 2, 7};
	static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	u32(p, 5);
	u32(p, v6 ? 2 : 1);
	bytes(p, v6 ? a6 : a4, v6 ? 16 : 4);
	u32(p, 3);    /* sub-agent */
	u32(p, 42);   /* sequence */
	u32(p, 1000); /* uptime */
	u32(p, nsamples);
}

/* Ethernet / IPv4 / ICMP echo request 10.200.0.1 -> 10.200.0.2, 42 bytes. */
static const uint8_t ICMP_FRAME[42] = {
	0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00,      /* Ethernet */
	0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 1, 0, 0, 10, 200, 0, 1, 10, 200, 0, 2, /* IPv4 */
	8, 0, 0, 0, 0x12, 0x34, 0, 1,                                    /* ICMP echo */
};

/* Raw packet header record: Ethernet, frame length 98, 4 stripped. */
static void rec_raw(struct pk *p)
{
	uint32_t r = open_el(p, 1);
	u32(p, 1);  /* ETHERNET-ISO88023 */
	u32(p, 98); /* frame length */
	u32(p, 4);  /* stripped */
	u32(p, sizeof(ICMP_FRAME));
	bytes(p, ICMP_FRAME, sizeof(ICMP_FRAME));
	bytes(p, "\0\0", 2); /* XDR padding, 42 -> 44 */
	close_el(p, r);
}

/* Extended switch data (flow record 1001): to be skipped. */
static void rec_switch(struct pk *p)
{
	uint32_t r = open_el(p, 1001);
	u32(p, 10);
	u32(p, 0);
	u32(p, 10);
	u32(p, 0);
	close_el(p, r);
}

static void rec_generic(struct pk *p, uint32_t ifindex)
{
	uint32_t r = open_el(p, 1);
	u32(p, ifindex);
	u32(p, 6);                 /* ethernetCsmacd */
	u64(p, 10000000000ull);    /* 10 Gbit/s */
	u32(p, 1);                 /* full duplex */
	u32(p, 3);                 /* admin and oper up */
	u64(p, 0x100000001ull);    /* in octets */
	u32(p, 11);
	u32(p, 12);
	u32(p, 13);
	u32(p, 14);
	u32(p, 15);
	u32(p, 16);
	u64(p, 0x200000002ull);    /* out octets */
	u32(p, 21);
	u32(p, 22);
	u32(p, 23);
	u32(p, 24);
	u32(p, 25);
	u32(p, 1);                 /* promiscuous */
	close_el(p, r);
}

/* OVS's counter records beyond the generic one (1004 OpenFlow port,
 * 2203 ...): unknown to us, skipped. */
static void rec_unknown_counter(struct pk *p, uint32_t fmt, uint32_t words)
{
	uint32_t r = open_el(p, fmt);
	for (uint32_t i = 0; i < words; i++)
		u32(p, 0xdead0000u + i);
	close_el(p, r);
}

static void flow_sample_compact(struct pk *p)
{
	uint32_t s = open_el(p, 1);
	u32(p, 7);                    /* sequence */
	u32(p, 0 << 24 | 5);          /* source: ifIndex 5 */
	u32(p, 100);                  /* sampling rate */
	u32(p, 700);                  /* pool */
	u32(p, 2);                    /* drops */
	u32(p, 10);                   /* input ifIndex 10 */
	u32(p, 0x80000000u | 2);      /* output: multiple, 2 interfaces */
	u32(p, 2);                    /* records */
	rec_switch(p);
	rec_raw(p);
	close_el(p, s);
}

static void flow_sample_expanded(struct pk *p)
{
	uint32_t s = open_el(p, 3);
	u32(p, 8);
	u32(p, 0);
	u32(p, 70000); /* source index beyond 24 bits */
	u32(p, 1);     /* sampling rate */
	u32(p, 9);
	u32(p, 0);
	u32(p, 0);
	u32(p, 1 << 20); /* input ifIndex */
	u32(p, 0);
	u32(p, 12);
	u32(p, 1);
	rec_raw(p);
	close_el(p, s);
}

static void counter_sample_compact(struct pk *p)
{
	uint32_t s = open_el(p, 2);
	u32(p, 3);
	u32(p, 0 << 24 | 10);
	u32(p, 3);
	rec_unknown_counter(p, 1004, 2);
	rec_generic(p, 10);
	rec_unknown_counter(p, 2203, 5);
	close_el(p, s);
}

static void counter_sample_expanded(struct pk *p)
{
	uint32_t s = open_el(p, 4);
	u32(p, 4);
	u32(p, 0);
	u32(p, 1 << 20);
	u32(p, 1);
	rec_generic(p, 1 << 20);
	close_el(p, s);
}

static void unknown_sample(struct pk *p)
{
	uint32_t s = open_el(p, 4413u << 12 | 5);
	u32(p, 1);
	u32(p, 2);
	u32(p, 3);
	close_el(p, s);
}

/* ---- collecting callbacks ------------------------------------------------ */

struct got {
	int nraw, ncnt;
	struct sflow_sample rs[4], cs[4];
	struct sflow_raw_header rh[4];
	struct sflow_if_counters c[4];
	uint8_t hdr[4][64];
	struct sflow_datagram dg;
};

static void on_raw(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
		   const struct sflow_raw_header *h)
{
	struct got *g = user;
	if (g->nraw < 4) {
		g->rs[g->nraw] = *s;
		g->rh[g->nraw] = *h;
		memcpy(g->hdr[g->nraw], h->header, h->header_length < 64 ? h->header_length : 64);
		g->dg = *dg;
	}
	g->nraw++;
}

static void on_cnt(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
		   const struct sflow_if_counters *c)
{
	struct got *g = user;
	if (g->ncnt < 4) {
		g->cs[g->ncnt] = *s;
		g->c[g->ncnt] = *c;
	}
	g->ncnt++;
}

/* Parses from an exact-size heap copy so ASan sees reads past the end. */
static int parse(const struct pk *p, uint32_t len, struct got *g, struct sflow_datagram *dg,
		 struct sflow_parse_stats *st, struct sflow_error *err)
{
	memset(g, 0, sizeof(*g));
	struct sflow_callbacks cb = {on_raw, on_cnt, g};
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, p->b, len);
	int rc = sflow_parse(copy, len, &cb, dg, st, err);
	free(copy);
	return rc;
}

/* ---- tests ----------------------------------------------------------------- */

static void full_v4(struct pk *p)
{
	memset(p, 0, sizeof(*p));
	dg_header(p, 0, 4);
	flow_sample_compact(p);
	unknown_sample(p);
	counter_sample_compact(p);
	flow_sample_compact(p);
}

static void test_compact_ipv4(void **state)
{
	struct pk p;
	full_v4(&p);
	struct got g;
	struct sflow_datagram dg;
	struct sflow_parse_stats st;
	struct sflow_error err;
	assert_int_equal(parse(&p, p.len, &g, &dg, &st, &err), 0);
	assert_int_equal(dg.version, 5);
	assert_int_equal(dg.agent_af, 1);
	assert_memory_equal(dg.agent, ((uint8_t[]){192, 0, 2, 7}), 4);
	assert_int_equal(dg.sub_agent_id, 3);
	assert_int_equal(dg.sequence, 42);
	assert_int_equal(dg.uptime_ms, 1000);
	assert_int_equal(dg.nsamples, 4);
	assert_int_equal(st.flow_samples, 2);
	assert_int_equal(st.counter_samples, 1);
	assert_int_equal(st.raw_headers, 2);
	assert_int_equal(st.if_counters, 1);
	assert_int_equal(st.skipped_samples, 1);
	assert_int_equal(st.skipped_records, 2 + 2);

	assert_int_equal(g.nraw, 2);
	assert_int_equal(g.rs[0].format, 1);
	assert_int_equal(g.rs[0].sequence, 7);
	assert_int_equal(g.rs[0].source_id_type, 0);
	assert_int_equal(g.rs[0].source_id_index, 5);
	assert_int_equal(g.rs[0].sampling_rate, 100);
	assert_int_equal(g.rs[0].sample_pool, 700);
	assert_int_equal(g.rs[0].drops, 2);
	assert_int_equal(g.rs[0].input_format, 0);
	assert_int_equal(g.rs[0].input_ifindex, 10);
	assert_int_equal(g.rs[0].output_format, 2);
	assert_int_equal(g.rs[0].output_ifindex, 2);
	assert_int_equal(g.rh[0].protocol, 1);
	assert_int_equal(g.rh[0].linktype, DECODE_LINKTYPE_ETHERNET);
	assert_int_equal(g.rh[0].frame_length, 98);
	assert_int_equal(g.rh[0].stripped, 4);
	assert_int_equal(g.rh[0].header_length, 42);
	assert_memory_equal(g.hdr[0], ICMP_FRAME, 42);

	assert_int_equal(g.ncnt, 1);
	assert_int_equal(g.cs[0].format, 2);
	assert_int_equal(g.cs[0].sequence, 3);
	assert_int_equal(g.cs[0].source_id_index, 10);
	assert_int_equal(g.cs[0].sampling_rate, 0);
	const struct sflow_if_counters *c = &g.c[0];
	assert_int_equal(c->if_index, 10);
	assert_int_equal(c->if_type, 6);
	assert_true(c->if_speed == 10000000000ull);
	assert_int_equal(c->if_direction, 1);
	assert_int_equal(c->if_status, 3);
	assert_true(c->in_octets == 0x100000001ull);
	assert_int_equal(c->in_ucast_pkts, 11);
	assert_int_equal(c->in_multicast_pkts, 12);
	assert_int_equal(c->in_broadcast_pkts, 13);
	assert_int_equal(c->in_discards, 14);
	assert_int_equal(c->in_errors, 15);
	assert_int_equal(c->in_unknown_protos, 16);
	assert_true(c->out_octets == 0x200000002ull);
	assert_int_equal(c->out_ucast_pkts, 21);
	assert_int_equal(c->out_multicast_pkts, 22);
	assert_int_equal(c->out_broadcast_pkts, 23);
	assert_int_equal(c->out_discards, 24);
	assert_int_equal(c->out_errors, 25);
	assert_int_equal(c->promiscuous_mode, 1);
}

static void test_expanded_ipv6(void **state)
{
	struct pk p = {.len = 0};
	dg_header(&p, 1, 2);
	flow_sample_expanded(&p);
	counter_sample_expanded(&p);
	struct got g;
	struct sflow_datagram dg;
	struct sflow_parse_stats st;
	assert_int_equal(parse(&p, p.len, &g, &dg, &st, NULL), 0);
	assert_int_equal(dg.agent_af, 2);
	assert_int_equal(dg.agent[0], 0x20);
	assert_int_equal(dg.agent[15], 7);
	assert_int_equal(dg.sub_agent_id, 3);
	assert_int_equal(dg.sequence, 42);
	assert_int_equal(g.nraw, 1);
	assert_int_equal(g.rs[0].format, 3);
	assert_int_equal(g.rs[0].source_id_index, 70000);
	assert_int_equal(g.rs[0].sampling_rate, 1);
	assert_int_equal(g.rs[0].input_ifindex, 1 << 20);
	assert_int_equal(g.rs[0].output_ifindex, 12);
	assert_memory_equal(g.hdr[0], ICMP_FRAME, 42);
	assert_int_equal(g.ncnt, 1);
	assert_int_equal(g.cs[0].format, 4);
	assert_int_equal(g.cs[0].source_id_index, 1 << 20);
	assert_int_equal(g.c[0].if_index, 1 << 20);
	assert_int_equal(st.skipped_records, 0);
}

/* The sampled header goes through the packet decoder like a captured frame. */
static void test_header_decodes(void **state)
{
	struct pk p;
	full_v4(&p);
	struct got g;
	assert_int_equal(parse(&p, p.len, &g, NULL, NULL, NULL), 0);
	struct decode_result r;
	int n = decode_packet(g.rh[0].linktype, g.hdr[0], g.rh[0].header_length,
			      g.rh[0].frame_length, &r);
	assert_int_equal(n, 1);
	assert_int_equal(r.seg[0].ip_ver, 4);
	assert_int_equal(r.seg[0].icmp_ver, 4);
}

/* Every prefix of a valid datagram parses or fails cleanly (ASan checks the
 * reads), and never delivers more than the whole datagram does. */
static void test_truncations(void **state)
{
	struct pk p;
	full_v4(&p);
	struct got g;
	struct sflow_error err;
	for (uint32_t n = 0; n < p.len; n++) {
		int rc = parse(&p, n, &g, NULL, NULL, &err);
		assert_int_equal(rc, -22);
		assert_true(err.offset <= n);
		assert_true(err.msg[0] != 0);
		assert_true(g.nraw <= 2 && g.ncnt <= 1);
	}
}

static void expect_error(const struct pk *p, uint32_t off, const char *needle)
{
	struct got g;
	struct sflow_error err;
	int rc = parse(p, p->len, &g, NULL, NULL, &err);
	assert_int_equal(rc, -22);
	if (!strstr(err.msg, needle) || err.offset != off) {
		print_error("got offset %u '%s', expected offset %u '%s'\n", err.offset, err.msg, off,
			    needle);
		fail();
	}
}

static void test_errors(void **state)
{
	struct pk p;
	full_v4(&p);
	p.b[3] = 4;
	expect_error(&p, 0, "version 4, expected 5");

	full_v4(&p);
	p.b[7] = 3;
	expect_error(&p, 4, "agent address type 3");

	/* first sample (at 28) claims more than is left */
	full_v4(&p);
	p.b[28 + 4] = 0x10;
	expect_error(&p, 28, "exceeds the datagram");

	/* its first record (1001 at 28+8+28+4 = 68) claims 1000 bytes */
	full_v4(&p);
	p.b[68 + 6] = 0x03;
	p.b[68 + 7] = 0xe8;
	expect_error(&p, 68, "length 1000 exceeds the sample");

	/* the raw header record (at 68+8+16 = 92) claims 200 header bytes */
	full_v4(&p);
	p.b[92 + 8 + 15] = 200;
	expect_error(&p, 92 + 8 + 12, "header length 200 exceeds the record");

	/* a generic counter record shorter than 88 bytes */
	struct pk q = {.len = 0};
	dg_header(&q, 0, 1);
	uint32_t s = open_el(&q, 2);
	u32(&q, 1);
	u32(&q, 1);
	u32(&q, 1);
	uint32_t r = open_el(&q, 1);
	for (int i = 0; i < 21; i++)
		u32(&q, 0);
	close_el(&q, r);
	close_el(&q, s);
	expect_error(&q, 28 + 8 + 12, "generic interface counters at 48: length 84 < 88");

	/* a flow sample too short for its fixed fields */
	q.len = 0;
	dg_header(&q, 0, 1);
	s = open_el(&q, 1);
	u32(&q, 1);
	close_el(&q, s);
	expect_error(&q, 36, "length 4 < 28");
}

/* No samples at all, and an unknown agent address type 0 (no bytes). */
static void test_empty(void **state)
{
	struct pk p = {.len = 0};
	u32(&p, 5);
	u32(&p, 0);
	u32(&p, 0);
	u32(&p, 1);
	u32(&p, 2);
	u32(&p, 0);
	struct got g;
	struct sflow_datagram dg;
	assert_int_equal(parse(&p, p.len, &g, &dg, NULL, NULL), 0);
	assert_int_equal(dg.sequence, 1);
	assert_int_equal(g.nraw + g.ncnt, 0);
	assert_int_equal(sflow_parse(NULL, 0, NULL, NULL, NULL, NULL), -22);
}

/* A real datagram from Open vSwitch 3.1: 5 flow samples (IPv6 ND, ICMP echo
 * request and reply) with extended switch records, a counter sample of
 * OVS-specific records (2203, 2207) and one with generic interface counters
 * among 1004/1005/2: every unknown record is skipped by its length. */
static void test_ovs_datagram(void **state)
{
	struct pk p;
	memcpy(p.b, OVS_DGRAM, sizeof(OVS_DGRAM));
	p.len = sizeof(OVS_DGRAM);
	struct got g;
	struct sflow_datagram dg;
	struct sflow_parse_stats st;
	struct sflow_error err;
	assert_int_equal(parse(&p, p.len, &g, &dg, &st, &err), 0);
	assert_int_equal(dg.agent_af, 1);
	assert_memory_equal(dg.agent, ((uint8_t[]){127, 0, 0, 1}), 4);
	assert_int_equal(dg.sequence, 4);
	assert_int_equal(dg.nsamples, 7);
	assert_int_equal(st.flow_samples, 5);
	assert_int_equal(st.counter_samples, 2);
	assert_int_equal(st.raw_headers, 5);
	assert_int_equal(st.if_counters, 1);
	assert_int_equal(st.skipped_records, 5 + 2 + 3);
	/* the third sample: the echo request, in on ifIndex 132, out on 133 */
	assert_int_equal(g.rs[2].sampling_rate, 1);
	assert_int_equal(g.rs[2].input_ifindex, 132);
	assert_int_equal(g.rs[2].output_ifindex, 133);
	assert_int_equal(g.rh[2].linktype, DECODE_LINKTYPE_ETHERNET);
	assert_int_equal(g.rh[2].frame_length, 102);
	assert_int_equal(g.rh[2].stripped, 4);
	assert_int_equal(g.rh[2].header_length, 98);
	struct decode_result r;
	assert_int_equal(g.hdr[2][23], 1); /* IPv4 protocol ICMP */
	assert_memory_equal(g.hdr[2] + 26, ((uint8_t[]){10, 202, 0, 1, 10, 202, 0, 2}), 8);
	int n = decode_packet(DECODE_LINKTYPE_ETHERNET, g.hdr[2], 64, 98, &r); /* 64 kept */
	assert_int_equal(n, 1);
	assert_int_equal(r.seg[0].icmp_ver, 4);
	assert_int_equal(g.ncnt, 1);
	assert_int_equal(g.c[0].if_index, g.cs[0].source_id_index);
	/* every truncation fails cleanly */
	for (uint32_t k = 0; k < p.len; k++)
		assert_int_equal(parse(&p, k, &g, NULL, NULL, &err), -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_ipv4),  cmocka_unit_test(test_expanded_ipv6),
		cmocka_unit_test(test_header_decodes), cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_errors),         cmocka_unit_test(test_empty),
		cmocka_unit_test(test_ovs_datagram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
