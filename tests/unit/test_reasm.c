/* test_reasm.c - unit tests of IP defragmentation (flow/ipdefrag.c) and TCP
 * stream reassembly (flow/tcp_reasm.c), directly and through the flow table:
 * what is held, what is refused and counted, what a reassembled packet
 * counts as, the bounds under floods, the in-order stream with its holes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "decode/decode.h"
#include "flow/flow_table.h"
#include "flow/ipdefrag.h"
#include "flow/tcp_reasm.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "store/flow_store.h"

#define S(x) ((uint64_t)(x) * 1000000000ull)

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2};
static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

struct fr {
	uint8_t b[70000];
	uint32_t len;
};

static void put(struct fr *f, const void *p, uint32_t n)
{
	if (n) /* p may be NULL for an empty payload */
		memcpy(f->b + f->len, p, n);
	f->len += n;
}
static void u8(struct fr *f, uint8_t v)
{
	f->b[f->len++] = v;
}
static void u16(struct fr *f, uint16_t v)
{
	u8(f, (uint8_t)(v >> 8));
	u8(f, (uint8_t)v);
}
static void u32(struct fr *f, uint32_t v)
{
	u16(f, (uint16_t)(v >> 16));
	u16(f, (uint16_t)v);
}
static int eth_ba; /* the next frame goes from host 2 to host 1 */

static void eth(struct fr *f, uint16_t type)
{
	f->len = 0;
	put(f, eth_ba ? mac1 : mac2, 6);
	put(f, eth_ba ? mac2 : mac1, 6);
	u16(f, type);
}

/* The UDP datagram (header + n payload bytes of value i & 0xff) that the
 * fragment tests cut up. */
static uint32_t udp_body(uint8_t *out, uint16_t sport, uint16_t dport, uint32_t n)
{
	out[0] = (uint8_t)(sport >> 8);
	out[1] = (uint8_t)sport;
	out[2] = (uint8_t)(dport >> 8);
	out[3] = (uint8_t)dport;
	out[4] = (uint8_t)((8 + n) >> 8);
	out[5] = (uint8_t)(8 + n);
	out[6] = out[7] = 0;
	for (uint32_t i = 0; i < n; i++)
		out[8 + i] = (uint8_t)i;
	return 8 + n;
}

/* Ethernet + IPv4 fragment of body[off, off + len). */
static void frag4(struct fr *f, const uint8_t *src, const uint8_t *dst, uint16_t id, uint8_t proto,
		  const uint8_t *body, uint32_t off, uint32_t len, int mf)
{
	eth(f, 0x0800);
	u8(f, 0x45);
	u8(f, 0);
	u16(f, (uint16_t)(20 + len));
	u16(f, id);
	u16(f, (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
	u8(f, 64);
	u8(f, proto);
	u16(f, 0);
	put(f, src, 4);
	put(f, dst, 4);
	put(f, body + off, len);
}

/* Ethernet + IPv6 + fragment header of body[off, off + len). */
static void frag6(struct fr *f, uint32_t id, const uint8_t *body, uint32_t off, uint32_t len, int mf)
{
	eth(f, 0x86dd);
	u32(f, 0x60000000);
	u16(f, (uint16_t)(8 + len));
	u8(f, 44);
	u8(f, 64);
	put(f, v6a, 16);
	put(f, v6b, 16);
	u8(f, 17);
	u8(f, 0);
	u16(f, (uint16_t)(off | (mf ? 1 : 0)));
	u32(f, id);
	put(f, body + off, len);
}

static enum ipdefrag_res add(struct ipdefrag *d, const struct fr *f, uint64_t ts,
			     struct ipdefrag_out *out)
{
	struct decode_result r;
	int n = decode_packet(1, f->b, f->len, f->len, &r);
	assert_true(n >= 1);
	assert_true(r.seg[0].is_fragment);
	return ipdefrag_add(d, 1, f->b, f->len, f->len, &r.seg[0], ts, out);
}

static struct ipdefrag *mk(uint32_t max_dg, uint32_t per_pair, size_t bytes)
{
	char err[128];
	struct ipdefrag_opts o = {.max_datagrams = max_dg, .max_per_pair = per_pair,
				  .max_bytes = bytes};
	struct ipdefrag *d = ipdefrag_new(&o, err, sizeof(err));
	assert_non_null(d);
	return d;
}

static void test_v4_in_and_out_of_order(void **state)
{
	(void)state;
	static uint8_t body[4000];
	uint32_t bl = udp_body(body, 40000, 5001, 3000); /* 3008 bytes: 1480 + 1480 + 48 */
	struct ipdefrag *d = mk(0, 0, 0);
	struct fr f;
	struct ipdefrag_out out;
	uint32_t wire = 0;
	/* arrival order: last, first, middle */
	uint32_t offs[3] = {2960, 0, 1480};
	for (int i = 0; i < 3; i++) {
		uint32_t len = offs[i] == 2960 ? bl - 2960 : 1480;
		frag4(&f, ip1, ip2, 77, 17, body, offs[i], len, offs[i] != 2960);
		wire += f.len;
		enum ipdefrag_res res = add(d, &f, S(1) + (uint64_t)i, &out);
		assert_int_equal(res, i < 2 ? IPDEFRAG_HELD : IPDEFRAG_DONE);
	}
	assert_int_equal(out.len, 14 + 20 + bl);
	assert_int_equal(out.wirelen, wire);
	assert_int_equal(out.fragments, 2); /* held before the completing one */
	assert_int_equal(out.errors, 0);
	/* the frame: total length, no fragment bits, the whole UDP datagram */
	assert_int_equal(out.frame[14 + 2] << 8 | out.frame[14 + 3], 20 + bl);
	assert_int_equal(out.frame[14 + 6] & 0x3f, 0);
	assert_int_equal(out.frame[14 + 7], 0);
	assert_memory_equal(out.frame + 34, body, bl);
	struct decode_result r;
	assert_int_equal(decode_packet(1, out.frame, out.len, out.len, &r), 1);
	assert_int_equal(r.seg[0].l4, DECODE_L4_UDP);
	assert_int_equal(r.seg[0].sport, 40000);
	assert_int_equal(r.seg[0].dport, 5001);
	const struct ipdefrag_stats *st = ipdefrag_stats(d);
	assert_int_equal(st->reassembled, 1);
	assert_int_equal(st->in_flight, 0);
	assert_int_equal(st->bytes_held, 0);
	ipdefrag_free(d);
}

static void test_v4_refusals_counted(void **state)
{
	(void)state;
	static uint8_t body[70000];
	uint32_t bl = udp_body(body, 1, 2, 2000);
	struct ipdefrag *d = mk(0, 0, 0);
	struct fr f;
	struct ipdefrag_out out;
	frag4(&f, ip1, ip2, 5, 17, body, 0, 1000, 1);
	assert_int_equal(add(d, &f, S(1), &out), IPDEFRAG_HELD);
	/* overlapping the first, and an exact duplicate of it */
	frag4(&f, ip1, ip2, 5, 17, body, 992, 16, 1);
	assert_int_equal(add(d, &f, S(1), &out), IPDEFRAG_REFUSED);
	frag4(&f, ip1, ip2, 5, 17, body, 0, 1000, 1);
	assert_int_equal(add(d, &f, S(1), &out), IPDEFRAG_REFUSED);
	/* a non-final fragment not a multiple of 8 */
	frag4(&f, ip1, ip2, 5, 17, body, 1000, 100, 1);
	assert_int_equal(add(d, &f, S(1), &out), IPDEFRAG_REFUSED);
	/* past 65535 bytes: offset 65528 + 16 */
	frag4(&f, ip1, ip2, 6, 17, body, 65528, 16, 0);
	assert_int_equal(add(d, &f, S(1), &out), IPDEFRAG_REFUSED);
	assert_int_equal(ipdefrag_stats(d)->in_flight, 1); /* no slot spent on it */
	/* the rest comes right: whole, with its 3 errors */
	frag4(&f, ip1, ip2, 5, 17, body, 1000, bl - 1000, 0);
	assert_int_equal(add(d, &f, S(2), &out), IPDEFRAG_DONE);
	assert_int_equal(out.errors, 3);
	assert_int_equal(out.fragments, 1);
	assert_int_equal(ipdefrag_stats(d)->errors, 4);
	ipdefrag_free(d);
}

static void test_timeout_and_flood_bounds(void **state)
{
	(void)state;
	static uint8_t body[2000];
	udp_body(body, 1, 2, 1500);
	struct ipdefrag *d = mk(100, 10, 64 << 10);
	struct fr f;
	struct ipdefrag_out out;
	/* one pair: its share (10) is all it gets */
	for (int i = 0; i < 50; i++) {
		frag4(&f, ip1, ip2, (uint16_t)i, 17, body, 0, 1400, 1);
		add(d, &f, S(1), &out);
	}
	const struct ipdefrag_stats *st = ipdefrag_stats(d);
	assert_int_equal(st->in_flight, 10);
	assert_int_equal(st->no_room, 40);
	/* many pairs: the slots (100), then the bytes (64 KiB) bound it */
	uint8_t src[4] = {10, 1, 0, 0};
	for (int i = 0; i < 1000; i++) {
		src[2] = (uint8_t)(i >> 8);
		src[3] = (uint8_t)i;
		frag4(&f, src, ip2, 1, 17, body, 0, 1400, 1);
		add(d, &f, S(1), &out);
	}
	assert_true(st->in_flight <= 100);
	assert_true(st->bytes_held <= (64u << 10));
	assert_true(st->peak_bytes <= (64u << 10));
	assert_int_equal(st->no_room, 40 + 1000 - (st->in_flight - 10));
	assert_true(ipdefrag_memory(d) <= ipdefrag_memory_bound(d));
	/* 30 s after: every one given up, memory back */
	uint32_t held = st->in_flight;
	ipdefrag_expire(d, S(1) + S(30) - 1);
	assert_int_equal(st->in_flight, held);
	ipdefrag_expire(d, S(31));
	assert_int_equal(st->in_flight, 0);
	assert_int_equal(st->timeouts, held);
	assert_int_equal(st->bytes_held, 0);
	ipdefrag_free(d);
}

static void test_v6(void **state)
{
	(void)state;
	static uint8_t body[2000];
	uint32_t bl = udp_body(body, 40000, 53, 1592); /* 1600 */
	struct ipdefrag *d = mk(0, 0, 0);
	struct fr f;
	struct ipdefrag_out out;
	frag6(&f, 0xabcd, body, 1448, bl - 1448, 0);
	assert_int_equal(add(d, &f, S(1), &out), IPDEFRAG_HELD);
	frag6(&f, 0xabcd, body, 0, 1448, 1);
	assert_int_equal(add(d, &f, S(1), &out), IPDEFRAG_DONE);
	assert_int_equal(out.len, 14 + 40 + bl);
	assert_int_equal(out.frame[14 + 6], 17); /* the fragment header is gone */
	assert_int_equal(out.frame[14 + 4] << 8 | out.frame[14 + 5], bl);
	struct decode_result r;
	assert_int_equal(decode_packet(1, out.frame, out.len, out.len, &r), 1);
	assert_int_equal(r.seg[0].l4, DECODE_L4_UDP);
	assert_int_equal(r.seg[0].dport, 53);
	ipdefrag_free(d);
}

/* ---- through the flow table ------------------------------------------------ */

struct got {
	int n;
	struct flow f[8];
	struct flow_ip_metric ipm[8];
	struct flow_tcp_metric tcpm[8];
	uint8_t stream[2][8192];
	uint32_t slen[2];
	uint64_t skipped[2];
	int ends[2], starts[2];
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct got *g = user;
	if (ev != FLOW_EV_EXPIRE || g->n >= 8)
		return;
	g->f[g->n] = *f;
	const struct flow_ip_metric *im = flow_table_ip_metric(t, f);
	if (im)
		g->ipm[g->n] = *im;
	const struct flow_tcp_metric *tm = flow_table_tcp_metric(t, f);
	if (tm)
		g->tcpm[g->n] = *tm;
	g->n++;
}

static void on_stream(void *user, const struct flow_table *t, const struct flow *f, int dir,
		      const uint8_t *data, uint32_t len, uint64_t skipped, unsigned flags,
		      uint64_t ts_ns)
{
	struct got *g = user;
	g->skipped[dir] += skipped;
	if (flags & TCP_REASM_END)
		g->ends[dir]++;
	if (flags & TCP_REASM_START)
		g->starts[dir]++;
	assert_true(g->slen[dir] + len <= sizeof(g->stream[dir]));
	if (len) /* an END comes with no bytes, and data may be NULL then */
		memcpy(g->stream[dir] + g->slen[dir], data, len);
	g->slen[dir] += len;
}

static struct flow_table *table(struct got *g, int defrag, int reasm)
{
	char err[128];
	struct flow_table_opts o = {.max_flows = 64, .ip_defrag = defrag, .reassemble_tcp = reasm};
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, g, err, sizeof(err));
	assert_non_null(t);
	flow_table_set_tcp_stream(t, on_stream, g);
	return t;
}

static void test_table_defrag_one_packet(void **state)
{
	(void)state;
	static uint8_t body[4000];
	uint32_t bl = udp_body(body, 40000, 5001, 3000);
	struct got *g = calloc(1, sizeof(*g));
	struct flow_table *t = table(g, 1, 0);
	struct fr f;
	uint64_t wire = 0;
	for (uint32_t off = 0; off < bl; off += 1480) {
		uint32_t len = bl - off < 1480 ? bl - off : 1480;
		frag4(&f, ip1, ip2, 9, 17, body, off, len, off + len < bl);
		wire += f.len;
		flow_table_feed(t, 1, f.b, f.len, f.len, S(1) + off);
	}
	flow_table_flush(t);
	assert_int_equal(g->n, 1);
	assert_int_equal(g->f[0].l4, DECODE_L4_UDP);
	assert_int_equal(g->f[0].tp_a, 40000);
	assert_int_equal(g->f[0].ab_packets, 1);
	assert_int_equal(g->f[0].ab_bytes, wire);
	assert_int_equal(g->ipm[0].fragments, 2);
	assert_int_equal(flow_table_stats(t)->frag_reassembled, 1);
	flow_table_free(t);
	free(g);
}

/* Ethernet + IPv4 + TCP segment with seq, flags and n payload bytes of
 * stream offset (seq - base). */
static void seg(struct fr *f, int ba, uint32_t seq, uint8_t flags, const uint8_t *data, uint32_t n)
{
	eth_ba = ba;
	eth(f, 0x0800);
	eth_ba = 0;
	u8(f, 0x45);
	u8(f, 0);
	u16(f, (uint16_t)(40 + n));
	u16(f, 1);
	u16(f, 0);
	u8(f, 64);
	u8(f, 6);
	u16(f, 0);
	put(f, ba ? ip2 : ip1, 4);
	put(f, ba ? ip1 : ip2, 4);
	u16(f, ba ? 80 : 33000);
	u16(f, ba ? 33000 : 80);
	u32(f, seq);
	u32(f, 0);
	u8(f, 0x50);
	u8(f, flags);
	u16(f, 65535);
	u32(f, 0);
	put(f, data, n);
}

static void feed(struct flow_table *t, struct fr *f, uint64_t ts)
{
	flow_table_feed(t, 1, f->b, f->len, f->len, ts);
}

static void test_tcp_in_order_and_out_of_order(void **state)
{
	(void)state;
	uint8_t msg[600];
	for (int i = 0; i < 600; i++)
		msg[i] = (uint8_t)(i * 7);
	struct got *g = calloc(1, sizeof(*g));
	struct flow_table *t = table(g, 0, 1);
	struct fr f;
	uint32_t isn = 0xfffffff0u; /* the stream wraps 2^32 */
	seg(&f, 0, isn, DECODE_TCP_SYN, NULL, 0);
	feed(t, &f, S(1));
	seg(&f, 1, 5000, DECODE_TCP_SYN | DECODE_TCP_ACK, NULL, 0);
	feed(t, &f, S(1));
	/* A->B: bytes 200..400, then 0..200 (a hole, filled), 400..600,
	 * a retransmission of 0..100, FIN */
	seg(&f, 0, isn + 1 + 200, DECODE_TCP_ACK, msg + 200, 200);
	feed(t, &f, S(1));
	assert_int_equal(g->slen[0], 0);
	seg(&f, 0, isn + 1, DECODE_TCP_ACK, msg, 200);
	feed(t, &f, S(2));
	seg(&f, 0, isn + 1 + 400, DECODE_TCP_ACK, msg + 400, 200);
	feed(t, &f, S(2));
	seg(&f, 0, isn + 1, DECODE_TCP_ACK, msg, 100);
	feed(t, &f, S(2));
	seg(&f, 0, isn + 601, DECODE_TCP_FIN | DECODE_TCP_ACK, NULL, 0);
	feed(t, &f, S(3));
	/* B->A: 50 bytes */
	seg(&f, 1, 5001, DECODE_TCP_ACK, msg, 50);
	feed(t, &f, S(3));
	flow_table_flush(t);

	assert_int_equal(g->slen[0], 600);
	assert_memory_equal(g->stream[0], msg, 600);
	assert_int_equal(g->slen[1], 50);
	assert_int_equal(g->skipped[0], 0);
	assert_int_equal(g->starts[0], 1);
	assert_int_equal(g->ends[0], 1);
	assert_int_equal(g->ends[1], 1);
	assert_int_equal(g->n, 1);
	const struct flow_tcp_stream *a = &g->tcpm[0].seg[0], *b = &g->tcpm[0].seg[1];
	assert_int_equal(a->packets, 3);
	assert_int_equal(a->bytes, 600);
	assert_int_equal(a->out_of_order, 1);
	assert_int_equal(a->skipped, 0);
	assert_int_equal(a->saw_start, 1);
	assert_int_equal(a->saw_end, 1);
	assert_int_equal(b->packets, 1);
	assert_int_equal(b->bytes, 50);
	assert_int_equal(b->saw_start, 1);
	assert_int_equal(b->saw_end, 0);
	/* ExtraTCPMetric is off: no SYN times */
	assert_int_equal(g->tcpm[0].ab_syn_start, 0);
	flow_table_free(t);
	free(g);
}

static void test_tcp_holes_given_up(void **state)
{
	(void)state;
	uint8_t msg[100];
	memset(msg, 'x', sizeof(msg));
	struct got *g = calloc(1, sizeof(*g));
	struct flow_table *t = table(g, 0, 1);
	struct fr f;
	seg(&f, 0, 1000, DECODE_TCP_SYN, NULL, 0);
	feed(t, &f, S(1));
	seg(&f, 0, 1001, DECODE_TCP_ACK, msg, 100);
	feed(t, &f, S(1));
	/* 100 bytes missing, then 70 segments after the hole: the stream's 64
	 * segment buffer fills and the hole is given up */
	for (uint32_t i = 0; i < 70; i++) {
		seg(&f, 0, 1201 + i * 10, DECODE_TCP_ACK, msg, 10);
		feed(t, &f, S(1));
	}
	assert_int_equal(g->skipped[0], 100);
	assert_int_equal(g->slen[0], 100 + 700);
	const struct flow_stats *st = flow_table_stats(t);
	assert_int_equal(st->tcp_gaps_full, 1);
	/* another hole, left open: the timeout gives it up */
	seg(&f, 0, 1201 + 700 + 50, DECODE_TCP_ACK, msg, 10);
	feed(t, &f, S(2));
	flow_table_tick(t, S(2) + S(30));
	assert_int_equal(flow_table_stats(t)->tcp_gaps_timeout, 1);
	assert_int_equal(g->skipped[0], 150);
	/* a third, open when the capture ends */
	seg(&f, 0, 1201 + 700 + 60 + 5, DECODE_TCP_ACK, msg, 10);
	feed(t, &f, S(33));
	flow_table_flush(t);
	assert_int_equal(g->skipped[0], 155);
	assert_int_equal(g->n, 1);
	const struct flow_tcp_stream *a = &g->tcpm[0].seg[0];
	assert_int_equal(a->skipped, 3);
	assert_int_equal(a->skipped_bytes, 155);
	assert_int_equal(a->bytes, 100 + 700 + 10 + 10);
	/* delivered in the order they came: none out of order (Skydive's rule) */
	assert_int_equal(a->out_of_order, 0);
	assert_int_equal(flow_table_stats(t)->tcp_gaps_closed, 1);
	flow_table_free(t);
	free(g);
}

static void test_tcp_flood_bounded(void **state)
{
	(void)state;
	char err[128];
	struct flow_tcp_metric *m = calloc(4, sizeof(*m));
	struct tcp_reasm_opts o = {.slots = 4, .max_segments = 100, .max_bytes = 32 << 10};
	struct tcp_reasm *r = tcp_reasm_new(&o, m, NULL, NULL, err, sizeof(err));
	assert_non_null(r);
	uint8_t msg[1000];
	memset(msg, 1, sizeof(msg));
	struct fr f;
	/* 3 streams, each a hole then 1000-byte segments ahead of it */
	for (uint32_t k = 0; k < 3; k++)
		for (uint32_t i = 0; i < 60; i++) {
			seg(&f, 0, 10000 + (i ? 2000 + i * 1000 : 0), DECODE_TCP_ACK, msg, 1000);
			struct decode_result d;
			decode_packet(1, f.b, f.len, f.len, &d);
			tcp_reasm_segment(r, 1 + k, 0, f.b, f.len, &d.seg[0], S(1));
		}
	const struct tcp_reasm_stats *st = tcp_reasm_stats(r);
	assert_true(st->peak_bytes_held <= (32u << 10));
	assert_true(st->peak_segs_held <= 100);
	assert_true(st->gaps_full >= 1);
	assert_true(tcp_reasm_memory(r, 0) <= tcp_reasm_memory_bound(r));
	for (uint32_t k = 0; k < 3; k++)
		tcp_reasm_close(r, 1 + k, S(2));
	assert_int_equal(st->segs_held, 0);
	assert_int_equal(st->bytes_held, 0);
	tcp_reasm_free(r);
	free(m);
}

/* ---- the analyzer's store: typed record, JSON, Gremlin fields ----------------- */

struct ing {
	struct flow_store *s;
	int64_t now;
};

static void on_emit_store(void *user, const struct flow_table *t, const struct flow *f,
			  enum flow_event ev, int64_t s, int64_t l)
{
	struct ing *x = user;
	if (ev == FLOW_EV_EXPIRE)
		assert_int_equal(flow_store_ingest(x->s, t, f, s, l, NULL, x->now, NULL), 0);
}

static long gcount(struct flow_store *s, const char *has, int64_t now_ms)
{
	struct gremlin_flow_ops ops;
	flow_store_gremlin_ops(s, &ops);
	struct gremlin_env env = {.now_ms = now_ms, .flow_ops = &ops};
	struct graph *g = graph_new(NULL);
	char q[256];
	snprintf(q, sizeof(q), "G.Flows().Has(%s).Count()", has);
	struct gremlin_error err = {0};
	struct gremlin_query *pq = gremlin_parse(q, &err);
	assert_non_null(pq);
	struct gremlin_result res = {0};
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	int rc = gremlin_eval(pq, v, &env, &res, &err);
	graph_view_free(v);
	graph_unlock(g);
	gremlin_query_free(pq);
	graph_free(g);
	if (rc)
		fail_msg("%s: %s", q, err.msg);
	long n = (long)json_integer_value(res.json);
	json_decref(res.json);
	return n;
}

static void test_store_fields(void **state)
{
	(void)state;
	struct flow_store *st = flow_store_new(NULL);
	assert_non_null(st);
	int64_t now = (int64_t)(time_now_ns() / 1000000);
	struct ing x = {st, now};
	char err[128];
	struct flow_table_opts o = {.max_flows = 64, .ip_defrag = 1, .reassemble_tcp = 1};
	struct flow_table *t = flow_table_new(&o, on_emit_store, NULL, &x, err, sizeof(err));
	assert_non_null(t);
	uint64_t ts = (uint64_t)now * 1000000ull;
	static uint8_t body[4000];
	uint32_t bl = udp_body(body, 40000, 5001, 3000);
	struct fr f;
	for (uint32_t off = 0; off < bl; off += 1480) {
		uint32_t len = bl - off < 1480 ? bl - off : 1480;
		frag4(&f, ip1, ip2, 9, 17, body, off, len, off + len < bl);
		flow_table_feed(t, 1, f.b, f.len, f.len, ts);
	}
	uint8_t msg[300];
	memset(msg, 'q', sizeof(msg));
	seg(&f, 0, 10, DECODE_TCP_SYN, NULL, 0);
	flow_table_feed(t, 1, f.b, f.len, f.len, ts);
	seg(&f, 0, 11 + 100, DECODE_TCP_ACK, msg, 200); /* ahead of a 100-byte hole */
	flow_table_feed(t, 1, f.b, f.len, f.len, ts + 1000);
	flow_table_flush(t);
	flow_table_free(t);

	struct gremlin_error ge = {0};
	json_t *all = flow_store_query(st, NULL, 0, 0, &ge);
	assert_int_equal(json_array_size(all), 2);
	size_t i;
	json_t *fl;
	int seen = 0;
	json_array_foreach(all, i, fl) {
		json_t *im = json_object_get(fl, "IPMetric"), *tm = json_object_get(fl, "TCPMetric");
		if (json_object_get(fl, "Transport") &&
		    !strcmp(json_string_value(json_object_get(json_object_get(fl, "Transport"), "Protocol")), "UDP")) {
			assert_non_null(im);
			assert_int_equal(json_integer_value(json_object_get(im, "Fragments")), 2);
			seen |= 1;
		} else {
			assert_non_null(tm);
			assert_int_equal(json_integer_value(json_object_get(tm, "ABBytes")), 200);
			assert_int_equal(json_integer_value(json_object_get(tm, "ABSegmentSkipped")), 1);
			assert_int_equal(json_integer_value(json_object_get(tm, "ABSegmentSkippedBytes")), 100);
			assert_int_equal(json_integer_value(json_object_get(tm, "ABSawStart")), 1);
			/* ExtraTCPMetric off: no SYN time */
			assert_null(json_object_get(tm, "ABSynStart"));
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	json_decref(all);
	assert_int_equal(gcount(st, "'IPMetric.Fragments', 2", now), 1);
	assert_int_equal(gcount(st, "'IPMetric.Fragments', GT(0)", now), 1);
	assert_int_equal(gcount(st, "'TCPMetric.ABSegmentSkippedBytes', 100", now), 1);
	assert_int_equal(gcount(st, "'TCPMetric.ABBytes', 200", now), 1);
	assert_int_equal(gcount(st, "'TCPMetric.BABytes', 1", now), 0);
	flow_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_in_and_out_of_order),
		cmocka_unit_test(test_v4_refusals_counted),
		cmocka_unit_test(test_timeout_and_flood_bounds),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_table_defrag_one_packet),
		cmocka_unit_test(test_tcp_in_order_and_out_of_order),
		cmocka_unit_test(test_tcp_holes_given_up),
		cmocka_unit_test(test_tcp_flood_bounded),
		cmocka_unit_test(test_store_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
