/* test_flow_table.c - unit tests of the flow table: identity, counters, RTT,
 * finish, expiry, table full, raw packets, update windows, JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "decode/decode.h"
#include "flow/flow_id.h"
#include "flow/flow_json.h"
#include "flow/flow_table.h"
#include "unit/frames.h"

#define S(x) ((uint64_t)(x) * 1000000000ull)
#define MS(x) ((uint64_t)(x) * 1000000ull)

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2}, ip3[4] = {10, 0, 0, 3};

/* What the emit callback saw. */
#define MAXE 64
struct seen {
	int n;
	struct flow f[MAXE];
	enum flow_event ev[MAXE];
	int64_t lu_start[MAXE], lu_last[MAXE];
	char json[MAXE][2048];
	int raw_calls;
	uint32_t raw_len[MAXE];
	int refuse_raw;
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct seen *x = user;
	if (x->n >= MAXE)
		return;
	x->f[x->n] = *f;
	x->ev[x->n] = ev;
	x->lu_start[x->n] = s;
	x->lu_last[x->n] = l;
	struct buf b;
	buf_init(&b, NULL);
	flow_json_write(&b, t, f, s, l);
	buf_putc(&b, 0);
	snprintf(x->json[x->n], sizeof(x->json[0]), "%s", b.data);
	buf_free(&b);
	x->n++;
}

static int on_raw(void *user, const uint8_t *d, uint32_t caplen, uint32_t wirelen, uint64_t ts)
{
	struct seen *x = user;
	if (x->refuse_raw)
		return -1;
	if (x->raw_calls < MAXE)
		x->raw_len[x->raw_calls] = caplen;
	x->raw_calls++;
	return 0;
}

static struct flow_table *mk(struct flow_table_opts *o, struct seen *x)
{
	char err[256];
	memset(x, 0, sizeof(*x));
	struct flow_table *t = flow_table_new(o, on_emit, on_raw, x, err, sizeof(err));
	assert_non_null(t);
	return t;
}

static void feed(struct flow_table *t, const struct frame *f, uint64_t ts)
{
	flow_table_feed(t, DECODE_LINKTYPE_ETHERNET, f->b, f->len, f->len, ts);
}

static void test_icmp_echo_one_flow_rtt(void **state)
{
	struct flow_table_opts o = {0};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 7, 1);
	feed(t, &f, S(1000));
	fr_ping4(&f, mac2, mac1, ip2, ip1, 1, 7, 1);
	feed(t, &f, S(1000) + 1500000); /* reply 1.5 ms later */
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 7, 2);
	feed(t, &f, S(1001));
	fr_ping4(&f, mac2, mac1, ip2, ip1, 1, 7, 2);
	feed(t, &f, S(1001) + 900000);
	assert_int_equal(flow_table_stats(t)->flow_count, 1);
	/* Skydive's updateRTT: each reply ends the pending measurement and
	 * replaces the RTT: the second pair's 0.9 ms is kept. */
	flow_table_flush(t);
	assert_int_equal(x.n, 1);
	struct flow *fl = &x.f[0];
	assert_int_equal(fl->ab_packets, 2);
	assert_int_equal(fl->ba_packets, 2);
	assert_int_equal(fl->ab_bytes, 2 * 98);
	assert_int_equal(flow_rtt_ns(fl), 900000);
	assert_memory_equal(fl->net_a, ip1, 4);
	assert_int_equal(fl->finish, FLOW_NOT_FINISHED);
	assert_non_null(strstr(x.json[0], "\"LayersPath\":\"Ethernet/IPv4/ICMPv4\""));
	assert_non_null(strstr(x.json[0], "\"Application\":\"ICMPv4\""));
	assert_non_null(strstr(x.json[0], "\"ICMP\":{\"Type\":\"ECHO\",\"ID\":7}"));
	assert_non_null(strstr(x.json[0], "\"RTT\":900000"));
	assert_non_null(strstr(x.json[0], "\"Start\":1000000,\"Last\":1001000"));
	assert_null(strstr(x.json[0], "FinishType"));
	flow_table_free(t);
}

static void test_icmp_ids_split_flows(void **state)
{
	struct flow_table_opts o = {0};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 7, 1);
	feed(t, &f, S(1));
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 8, 1);
	feed(t, &f, S(1));
	assert_int_equal(flow_table_stats(t)->flow_count, 2);
	flow_table_free(t);
}

static void test_tcp_handshake_fin_rtt(void **state)
{
	struct flow_table_opts o = {.extra_tcp_metric = 1};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, 0x02); /* SYN */
	feed(t, &f, S(10));
	fr_tcp4(&f, mac2, mac1, ip2, ip1, 80, 40000, 0x12); /* SYN/ACK */
	feed(t, &f, S(10) + 250000);
	fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, 0x10);
	feed(t, &f, S(10) + 300000);
	fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, 0x11); /* FIN/ACK */
	feed(t, &f, S(11));
	flow_table_flush(t);
	assert_int_equal(x.n, 1);
	assert_int_equal(flow_rtt_ns(&x.f[0]), 250000);
	assert_int_equal(x.f[0].finish, FLOW_TCP_FIN);
	assert_int_equal(x.f[0].ab_packets, 3);
	assert_int_equal(x.f[0].ba_packets, 1);
	assert_int_equal(x.f[0].tp_a, 40000);
	assert_non_null(strstr(x.json[0], "\"Transport\":{\"Protocol\":\"TCP\",\"A\":40000,\"B\":80}"));
	assert_non_null(strstr(x.json[0], "\"FinishType\":\"TCP_FIN\""));
	assert_non_null(strstr(x.json[0], "\"ABSynStart\":10000,\"BASynStart\":10000,"
					  "\"ABSynTTL\":64,\"BASynTTL\":64,\"ABFinStart\":11000"));
	flow_table_free(t);
}

static void test_tcp_midstream_no_rtt_and_rst(void **state)
{
	struct flow_table_opts o = {0};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, 0x10); /* ACK: mid-stream */
	feed(t, &f, S(10));
	fr_tcp4(&f, mac2, mac1, ip2, ip1, 80, 40000, 0x10);
	feed(t, &f, S(10) + 1000);
	fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, 0x11); /* FIN */
	feed(t, &f, S(10) + 2000);
	fr_tcp4(&f, mac2, mac1, ip2, ip1, 80, 40000, 0x04); /* RST wins */
	feed(t, &f, S(10) + 3000);
	flow_table_flush(t);
	assert_int_equal(flow_rtt_ns(&x.f[0]), 0);
	assert_int_equal(x.f[0].finish, FLOW_TCP_RST);
	flow_table_free(t);
}

/* The RTT of one TCP flow fed the given (flags, direction, time) steps. */
static int64_t rtt_of_tcp(const uint8_t *flags, const int *fwd, const uint64_t *ts, int n)
{
	/* Neither idle expiry nor an update pass inside the 20 minutes. */
	struct flow_table_opts o = {.expire_s = 7200, .update_s = 7200};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	for (int i = 0; i < n; i++) {
		if (fwd[i])
			fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, flags[i]);
		else
			fr_tcp4(&f, mac2, mac1, ip2, ip1, 80, 40000, flags[i]);
		feed(t, &f, ts[i]);
	}
	assert_int_equal(flow_table_stats(t)->flows_created, 1);
	flow_table_flush(t);
	assert_true(x.n >= 1);
	int64_t r = flow_rtt_ns(&x.f[x.n - 1]);
	flow_table_free(t);
	return r;
}

/* Skydive's updateRTT (flow/flow.go) for TCP: any SYN starts when nothing is
 * pending; the next SYN+ACK or RST ends it, whatever the direction. */
static void test_tcp_rtt_rules(void **state)
{
	/* SYN, retransmitted SYN, SYN+ACK: from the first SYN. */
	const uint8_t f1[] = {0x02, 0x02, 0x12};
	const int d1[] = {1, 1, 0};
	const uint64_t t1[] = {S(5), S(6), S(6) + 3000};
	assert_int_equal(rtt_of_tcp(f1, d1, t1, 3), S(1) + 3000);
	/* SYN answered by RST/ACK (closed port): SYN to RST. */
	const uint8_t f2[] = {0x02, 0x14};
	const int d2[] = {1, 0};
	const uint64_t t2[] = {S(5), S(5) + 70000};
	assert_int_equal(rtt_of_tcp(f2, d2, t2, 2), 70000);
	/* The SYN was missed: the SYN+ACK starts, a later RST ends. */
	const uint8_t f3[] = {0x12, 0x10, 0x18, 0x04};
	const int d3[] = {0, 1, 1, 0};
	const uint64_t t3[] = {S(5), S(5) + 10, S(5) + 20, S(7)};
	assert_int_equal(rtt_of_tcp(f3, d3, t3, 4), S(2));
	/* A RST with nothing pending measures nothing. */
	const uint8_t f4[] = {0x10, 0x04};
	const int d4[] = {1, 0};
	const uint64_t t4[] = {S(5), S(6)};
	assert_int_equal(rtt_of_tcp(f4, d4, t4, 2), 0);
	/* After SYN/SYN+ACK a retransmitted SYN+ACK starts again (SYN set,
	 * nothing pending) and the final RST ends it: the last pair is kept. */
	const uint8_t f5[] = {0x02, 0x12, 0x12, 0x10, 0x04};
	const int d5[] = {1, 0, 0, 1, 1};
	const uint64_t t5[] = {S(5), S(5) + 100, S(6), S(6) + 10, S(6) + 500};
	assert_int_equal(rtt_of_tcp(f5, d5, t5, 5), 500);
	/* A RST 20 minutes after the SYN: beyond the us range, kept in ms. */
	const uint8_t f6[] = {0x02, 0x04};
	const int d6[] = {1, 0};
	const uint64_t t6[] = {S(5), S(5 + 1200) + MS(7)};
	assert_int_equal(rtt_of_tcp(f6, d6, t6, 2), (int64_t)(S(1200) + MS(7)));
}

/* ICMP echo: the first request since the last reply to the next reply. */
static void test_icmp_rtt_pairs_and_udp_none(void **state)
{
	struct flow_table_opts o = {0};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 9, 1);
	feed(t, &f, S(20));
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 9, 2); /* a second request: ignored */
	feed(t, &f, S(21));
	fr_ping4(&f, mac2, mac1, ip2, ip1, 1, 9, 1);
	feed(t, &f, S(21) + 4000);
	fr_ping4(&f, mac2, mac1, ip2, ip1, 1, 9, 2); /* nothing pending: ignored */
	feed(t, &f, S(21) + 5000);
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 9, 3); /* pending, never answered */
	feed(t, &f, S(22));
	fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 53, 10);
	feed(t, &f, S(20));
	fr_udp4(&f, mac2, mac1, ip2, ip1, 53, 5000, 10);
	feed(t, &f, S(20) + 1000);
	flow_table_flush(t);
	assert_int_equal(x.n, 2);
	for (int i = 0; i < 2; i++) {
		if (x.f[i].l4 == DECODE_L4_UDP) {
			assert_int_equal(flow_rtt_ns(&x.f[i]), 0);
			assert_null(strstr(x.json[i], "\"RTT\""));
		} else {
			/* req1 at 20 s to rep1 at 21.000004 s; req3 leaves it. */
			assert_int_equal(flow_rtt_ns(&x.f[i]), S(1) + 4000);
		}
	}
	flow_table_free(t);
}

static void test_key_modes(void **state)
{
	struct frame f;
	for (int mode = FLOW_KEY_L2; mode <= FLOW_KEY_L3; mode++) {
		struct flow_table_opts o = {.key_mode = mode};
		struct seen x;
		struct flow_table *t = mk(&o, &x);
		/* Same IPs and ports through two different MAC pairs (two routers).
		 * The MACs are in the same order as the IPs: Skydive's single swap
		 * decision then gives both the same L3TrackingID. */
		static const uint8_t mac0[6] = {2, 0, 0, 0, 0, 0};
		fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 10);
		feed(t, &f, S(1));
		fr_udp4(&f, mac0, mac2, ip1, ip2, 5000, 6000, 10);
		feed(t, &f, S(1));
		assert_int_equal(flow_table_stats(t)->flow_count, mode == FLOW_KEY_L2 ? 2 : 1);
		flow_table_flush(t);
		if (mode == FLOW_KEY_L2) {
			struct flow_ids a, b;
			flow_ids_compute(&x.f[0], FLOW_KEY_L2, NULL, &a);
			flow_ids_compute(&x.f[1], FLOW_KEY_L2, NULL, &b);
			assert_true(a.l2 != b.l2);
			assert_true(a.l3 == b.l3); /* same L3TrackingID across L2 paths */
		}
		flow_table_free(t);
	}
}

static void test_tracking_id_direction_and_uuid(void **state)
{
	struct flow_table_opts o = {0};
	struct seen x;
	struct frame f;
	struct flow_ids ids[2];
	/* The same conversation, first seen from either end, has one TrackingID. */
	for (int i = 0; i < 2; i++) {
		struct flow_table *t = mk(&o, &x);
		if (i == 0)
			fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 10);
		else
			fr_udp4(&f, mac2, mac1, ip2, ip1, 6000, 5000, 10);
		feed(t, &f, S(5));
		flow_table_flush(t);
		flow_ids_compute(&x.f[0], FLOW_KEY_L2, "tid", &ids[i]);
		flow_table_free(t);
	}
	assert_true(ids[0].l2 == ids[1].l2);
	assert_true(ids[0].l3 == ids[1].l3);
	struct flow_ids other;
	flow_ids_compute(&x.f[0], FLOW_KEY_L2, "another-node", &other);
	assert_true(other.uuid != ids[1].uuid); /* UUID is per capture point */
	assert_true(other.l2 == ids[1].l2);
}

static void test_table_full_counts_dropped(void **state)
{
	struct flow_table_opts o = {.max_flows = 3};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	for (int i = 0; i < 5; i++) {
		fr_udp4(&f, mac1, mac2, ip1, ip2, (uint16_t)(1000 + i), 53, 20);
		feed(t, &f, S(1));
	}
	assert_int_equal(flow_table_stats(t)->flow_count, 3);
	assert_int_equal(flow_table_stats(t)->flow_dropped, 2);
	/* Packets of tracked flows still count. */
	fr_udp4(&f, mac1, mac2, ip1, ip2, 1000, 53, 20);
	feed(t, &f, S(1));
	assert_int_equal(flow_table_stats(t)->flow_dropped, 2);
	flow_table_free(t);
}

static void test_idle_expiry_and_short_timeouts(void **state)
{
	struct flow_table_opts o = {.expire_s = 30};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 10); /* default timeout */
	feed(t, &f, S(100));
	fr_udp4(&f, mac1, mac2, ip1, ip3, 5001, 53, 20); /* DNS: 10 s */
	feed(t, &f, S(100));
	fr_udp4(&f, mac1, mac2, ip1, ip2, 7000, 7001, 10);
	feed(t, &f, S(115)); /* DNS flow idle 15 s: gone */
	assert_int_equal(x.n, 1);
	assert_int_equal(x.ev[0], FLOW_EV_EXPIRE);
	assert_int_equal(x.f[0].finish, FLOW_TIMEOUT);
	assert_int_equal(x.f[0].tp_b, 53);
	feed(t, &f, S(131)); /* first flow idle 31 s: gone */
	assert_int_equal(x.n, 2);
	assert_int_equal(x.f[1].tp_a, 5000);
	assert_non_null(strstr(x.json[1], "\"FinishType\":\"TIMEOUT\""));
	assert_int_equal(flow_table_stats(t)->flow_count, 1);
	flow_table_free(t);
}

static void test_finished_tcp_hold(void **state)
{
	struct flow_table_opts o = {0};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, 0x04); /* RST */
	feed(t, &f, S(100));
	fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 10);
	feed(t, &f, S(110));
	assert_int_equal(x.n, 0);
	feed(t, &f, S(116)); /* 16 s after the RST */
	assert_int_equal(x.n, 1);
	assert_int_equal(x.f[0].finish, FLOW_TCP_RST);
	flow_table_free(t);
}

static void test_update_window(void **state)
{
	struct flow_table_opts o = {.update_s = 10, .expire_s = 1000};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 10);
	feed(t, &f, S(100));
	feed(t, &f, S(105));
	feed(t, &f, S(111)); /* update pass at 110 happens before this packet */
	assert_int_equal(x.n, 1);
	assert_int_equal(x.ev[0], FLOW_EV_UPDATE);
	assert_int_equal(x.f[0].ab_packets - x.f[0].upd_ab_packets, 2);
	assert_int_equal(x.lu_start[0], 100000);
	assert_int_equal(x.lu_last[0], 111000);
	flow_table_flush(t);
	assert_int_equal(x.n, 2);
	/* After the pass, LastUpdateMetric counts only the newer packet. */
	assert_non_null(strstr(x.json[1], "\"LastUpdateMetric\":{\"ABPackets\":1,\"ABBytes\":52,"
					  "\"Start\":111000,\"Last\":111000}"));
	assert_non_null(strstr(x.json[1], "\"Metric\":{\"ABPackets\":3,"));
	flow_table_free(t);
}

/* LastUpdateMetric of a flow past 2^32 packets: the update pass's snapshot
 * keeps all 64 bits, so the next update counts only the packets since (a
 * 32-bit snapshot made it 2^32 + 3). Counts come as a kernel record (the ebpf
 * capture's way), 4294967301 packets at once. */
static void test_update_delta_past_2_32(void **state)
{
	struct flow_table_opts o = {.update_s = 10, .expire_s = 1000};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct flow_record r;
	memset(&r, 0, sizeof(r));
	memcpy(r.h.mac_src, mac1, 6);
	memcpy(r.h.mac_dst, mac2, 6);
	r.h.ip_ver = 4;
	memcpy(r.h.ip_src, ip1, 4);
	memcpy(r.h.ip_dst, ip2, 4);
	r.h.proto = 17;
	r.h.sport = 5000;
	r.h.dport = 6000;
	r.ab_packets = (1ull << 32) + 5;
	r.ab_bytes = r.ab_packets * 60;
	r.first_ns = r.last_ns = S(100);
	assert_int_equal(flow_table_feed_record(t, &r), 0);
	flow_table_tick(t, S(111)); /* update pass: snapshot at 2^32 + 5 */
	assert_int_equal(x.n, 1);
	r.ab_packets = 3;
	r.ab_bytes = 3 * 60;
	r.first_ns = r.last_ns = S(115);
	assert_int_equal(flow_table_feed_record(t, &r), 0);
	flow_table_tick(t, S(121));
	assert_int_equal(x.n, 2);
	assert_int_equal(x.ev[1], FLOW_EV_UPDATE);
	assert_int_equal(x.f[1].ab_packets, (1ull << 32) + 8);
	assert_int_equal(x.f[1].ab_packets - x.f[1].upd_ab_packets, 3);
	assert_non_null(strstr(x.json[1], "\"LastUpdateMetric\":{\"ABPackets\":3,\"ABBytes\":180,"));
	flow_table_free(t);
}

static void test_raw_packets_limit_and_budget(void **state)
{
	struct frame f;
	int64_t limits[] = {0, 2, -1};
	int expect[] = {0, 2, 5};
	for (int k = 0; k < 3; k++) {
		struct flow_table_opts o = {.raw_packet_limit = limits[k], .header_size = 40};
		struct seen x;
		struct flow_table *t = mk(&o, &x);
		for (int i = 0; i < 5; i++) {
			fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 100);
			feed(t, &f, S(1) + (uint64_t)i);
		}
		assert_int_equal(x.raw_calls, expect[k]);
		if (expect[k])
			assert_int_equal(x.raw_len[0], 40); /* truncated to the header size */
		assert_int_equal(flow_table_stats(t)->raw_kept, expect[k]);
		flow_table_flush(t);
		assert_int_equal(x.f[0].raw_captured, expect[k]);
		flow_table_free(t);
	}
	/* A receiver without room: counted, and the flow does not claim it. */
	struct flow_table_opts o = {.raw_packet_limit = 3};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	x.refuse_raw = 1;
	fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 100);
	feed(t, &f, S(1));
	feed(t, &f, S(1));
	assert_int_equal(flow_table_stats(t)->raw_dropped, 2);
	flow_table_flush(t);
	assert_int_equal(x.f[0].raw_captured, 0);
	flow_table_free(t);

	/* The byte budget per update window: 2 x 40 bytes fit in 100, the third
	 * does not; after the update pass there is room again. */
	struct flow_table_opts ob = {.raw_packet_limit = -1, .header_size = 40, .raw_budget = 100,
				     .update_s = 10};
	t = mk(&ob, &x);
	for (int i = 0; i < 3; i++) {
		fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 100);
		feed(t, &f, S(1));
	}
	assert_int_equal(x.raw_calls, 2);
	assert_int_equal(flow_table_stats(t)->raw_dropped, 1);
	feed(t, &f, S(12));
	assert_int_equal(x.raw_calls, 3);
	flow_table_free(t);
}

static void test_many_flows_expire_and_reuse(void **state)
{
	/* Exercises index growth, backward-shift deletion and slot reuse. */
	struct flow_table_opts o = {.max_flows = 20000, .expire_s = 10};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	uint8_t a[4] = {10, 1, 0, 0};
	for (int i = 0; i < 20000; i++) {
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		fr_udp4(&f, mac1, mac2, a, ip2, (uint16_t)(1024 + i % 7), 9999, 0);
		feed(t, &f, S(100) + (i < 10000 ? 0 : S(5)));
	}
	assert_int_equal(flow_table_stats(t)->flow_count, 20000);
	assert_int_equal(flow_table_stats(t)->flow_dropped, 0);
	/* At 111 s the first 10000 are idle for 11 s: expired; the rest stay. */
	flow_table_tick(t, S(111));
	assert_int_equal(flow_table_stats(t)->flow_count, 10000);
	/* Every remaining flow is still found (no new flow created). */
	for (int i = 10000; i < 20000; i++) {
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		fr_udp4(&f, mac1, mac2, a, ip2, (uint16_t)(1024 + i % 7), 9999, 0);
		feed(t, &f, S(112));
	}
	assert_int_equal(flow_table_stats(t)->flows_created, 20000);
	/* Freed slots are reused for new flows. */
	for (int i = 0; i < 10000; i++) {
		a[1] = 2;
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		fr_udp4(&f, mac1, mac2, a, ip2, 1, 2, 0);
		feed(t, &f, S(113));
	}
	assert_int_equal(flow_table_stats(t)->flow_count, 20000);
	assert_int_equal(flow_table_stats(t)->flow_dropped, 0);
	flow_table_free(t);
}

static void test_app_port_map(void **state)
{
	static struct appmap m;
	char err[128];
	assert_int_equal(appmap_add_spec(&m, "udp:6000=myapp", err, sizeof(err)), 0);
	assert_int_not_equal(appmap_add_spec(&m, "icmp:1=x", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "tcp or udp"));
	assert_int_not_equal(appmap_add_spec(&m, "tcp:99999=x", err, sizeof(err)), 0);
	struct flow_table_opts o = {.appmap = &m};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	struct frame f;
	fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 10);
	feed(t, &f, S(1));
	flow_table_flush(t);
	assert_non_null(strstr(x.json[0], "\"Application\":\"MYAPP\""));
	flow_table_free(t);
}

static void test_undecodable_counted(void **state)
{
	struct flow_table_opts o = {0};
	struct seen x;
	struct flow_table *t = mk(&o, &x);
	uint8_t junk[5] = {1, 2, 3, 4, 5};
	flow_table_feed(t, DECODE_LINKTYPE_ETHERNET, junk, sizeof(junk), sizeof(junk), S(1));
	assert_int_equal(flow_table_stats(t)->undecodable, 1);
	assert_int_equal(flow_table_stats(t)->flow_count, 0);
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icmp_echo_one_flow_rtt),
		cmocka_unit_test(test_icmp_ids_split_flows),
		cmocka_unit_test(test_tcp_handshake_fin_rtt),
		cmocka_unit_test(test_tcp_midstream_no_rtt_and_rst),
		cmocka_unit_test(test_tcp_rtt_rules),
		cmocka_unit_test(test_icmp_rtt_pairs_and_udp_none),
		cmocka_unit_test(test_key_modes),
		cmocka_unit_test(test_tracking_id_direction_and_uuid),
		cmocka_unit_test(test_table_full_counts_dropped),
		cmocka_unit_test(test_idle_expiry_and_short_timeouts),
		cmocka_unit_test(test_finished_tcp_hold),
		cmocka_unit_test(test_update_window),
		cmocka_unit_test(test_update_delta_past_2_32),
		cmocka_unit_test(test_raw_packets_limit_and_budget),
		cmocka_unit_test(test_many_flows_expire_and_reuse),
		cmocka_unit_test(test_app_port_map),
		cmocka_unit_test(test_undecodable_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
