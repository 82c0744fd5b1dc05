/* test_flow_record.c - flows counted elsewhere (the ebpf capture): the
 * segment decode_headers makes of header fields, and flow_table_feed_record.
 *
 * Expected layer paths are gopacket's layer names as Skydive puts them in
 * LayersPath; a record must get the flow (same UUID) a captured frame with
 * the same headers gets from decode_packet. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/decode.h"
#include "flow/flow_id.h"
#include "flow/flow_table.h"
#include "unit/frames.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define T0 (1700000000ull * 1000000000ull)

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2};
static const uint8_t ip6a[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t ip6b[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static const char *path(const struct decode_seg *s, char *buf, size_t len)
{
	buf[0] = 0;
	for (int i = 0; i < s->nlayers; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "/" : "",
			 layer_name(s->layers[i]));
	return buf;
}

static struct decode_hdrs v4(uint8_t proto, uint16_t sp, uint16_t dp)
{
	struct decode_hdrs h;
	memset(&h, 0, sizeof(h));
	memcpy(h.mac_src, mac1, 6);
	memcpy(h.mac_dst, mac2, 6);
	h.ip_ver = 4;
	memcpy(h.ip_src, ip1, 4);
	memcpy(h.ip_dst, ip2, 4);
	h.proto = proto;
	h.sport = sp;
	h.dport = dp;
	return h;
}

static struct decode_hdrs v6(uint8_t proto)
{
	struct decode_hdrs h = v4(proto, 0, 0);
	h.ip_ver = 6;
	memcpy(h.ip_src, ip6a, 16);
	memcpy(h.ip_dst, ip6b, 16);
	return h;
}

static void test_layer_paths(void **state)
{
	char b[256];
	struct decode_seg s;
	struct decode_hdrs h = v4(1, 0, 0);
	h.icmp_type = 8;
	h.icmp_id = 0x1234;
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/IPv4/ICMPv4");
	assert_int_equal(s.icmp_ver, 4);
	assert_int_equal(s.icmp_flow_type, ICMP_ECHO);
	assert_int_equal(s.icmp_id, 0x1234);
	assert_int_equal(s.l4, DECODE_L4_NONE);

	h = v4(6, 40000, 443); /* TLS needs its record header: not from ports */
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/IPv4/TCP");
	assert_int_equal(s.l4, DECODE_L4_TCP);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 443);

	h = v4(17, 4789, 4789); /* a tunnel needs its header */
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/IPv4/UDP");
	assert_int_equal(s.tunnel, 0);

	h = v4(17, 68, 67);
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/IPv4/UDP/DHCPv4");

	h = v4(132, 5000, 5001); /* chunks need their bytes */
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/IPv4/SCTP");

	h = v4(47, 0, 0); /* GRE: the IP path only */
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/IPv4");
	assert_int_equal(s.ip_proto, 47);

	h = v6(17);
	h.has_vlan = 1;
	h.vlan_tci = 0x2000 | 42; /* priority 1, VLAN 42 */
	h.n_ip6_ext = 2;
	h.ip6_ext[0] = 0;  /* hop-by-hop */
	h.ip6_ext[1] = 60; /* destination options */
	h.sport = 33000;
	h.dport = 53;
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)),
			    "Ethernet/Dot1Q/IPv6/IPv6HopByHop/IPv6Destination/UDP/DNS");
	assert_int_equal(s.link_id, 42);
	assert_int_equal(s.nvlan, 1);
	assert_int_equal(s.ip_ver, 6);
	assert_memory_equal(s.ip_src, ip6a, 16);

	h = v6(58);
	h.icmp_type = 128;
	h.icmp_id = 7;
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/IPv6/ICMPv6/ICMPv6Echo");
	assert_int_equal(s.icmp_id, 7);
	assert_int_equal(s.icmp_flow_type, ICMP_ECHO);

	h.icmp_type = 135; /* neighbour solicitation: no identifier */
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)),
			    "Ethernet/IPv6/ICMPv6/ICMPv6NeighborSolicitation");
	assert_int_equal(s.icmp_id, 0);
	assert_int_equal(s.icmp_flow_type, ICMP_NEIGHBOR);

	memset(&h, 0, sizeof(h));
	memcpy(h.mac_src, mac1, 6);
	memcpy(h.mac_dst, mac2, 6);
	h.eth_proto = 0x0806;
	decode_headers(&h, &s);
	assert_string_equal(path(&s, b, sizeof(b)), "Ethernet/ARP");
	assert_int_equal(s.ip_ver, 0);
	assert_memory_equal(s.eth_src, mac1, 6);
	assert_memory_equal(s.eth_dst, mac2, 6);
}

/* What the flow key reads of a segment is what decode_packet gives a
 * captured frame with the same headers. */
static void same_key_fields(const struct decode_seg *a, const struct decode_seg *b)
{
	char pa[256], pb[256];
	assert_string_equal(path(a, pa, sizeof(pa)), path(b, pb, sizeof(pb)));
	assert_int_equal(a->has_eth, b->has_eth);
	assert_memory_equal(a->eth_src, b->eth_src, 6);
	assert_memory_equal(a->eth_dst, b->eth_dst, 6);
	assert_int_equal(a->link_id, b->link_id);
	assert_int_equal(a->ip_ver, b->ip_ver);
	assert_memory_equal(a->ip_src, b->ip_src, 16);
	assert_memory_equal(a->ip_dst, b->ip_dst, 16);
	assert_int_equal(a->l4, b->l4);
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->icmp_ver, b->icmp_ver);
	assert_int_equal(a->icmp_type, b->icmp_type);
	assert_int_equal(a->icmp_code, b->icmp_code);
	assert_int_equal(a->icmp_flow_type, b->icmp_flow_type);
	assert_int_equal(a->icmp_id, b->icmp_id);
	assert_int_equal(a->tunnel, b->tunnel);
	assert_int_equal(a->tunnel_id, b->tunnel_id);
}

static void test_same_segment_as_a_frame(void **state)
{
	struct frame f;
	struct decode_result r;
	struct decode_seg s;
	struct decode_hdrs h;

	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 77, 1);
	assert_int_equal(decode_packet(1, f.b, f.len, f.len, &r), 1);
	h = v4(1, 0, 0);
	h.icmp_type = 8;
	h.icmp_id = 77;
	decode_headers(&h, &s);
	same_key_fields(&s, &r.seg[0]);

	fr_tcp4(&f, mac1, mac2, ip1, ip2, 40000, 80, 0x02);
	assert_int_equal(decode_packet(1, f.b, f.len, f.len, &r), 1);
	h = v4(6, 40000, 80);
	decode_headers(&h, &s);
	same_key_fields(&s, &r.seg[0]);

	fr_udp4(&f, mac1, mac2, ip1, ip2, 33000, 53, 40); /* a DNS-sized payload */
	assert_int_equal(decode_packet(1, f.b, f.len, f.len, &r), 1);
	h = v4(17, 33000, 53);
	decode_headers(&h, &s);
	same_key_fields(&s, &r.seg[0]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The smallest frame with these headers (what the flow table built before
 * decode_headers existed): UDP gets a zero payload long enough for the
 * applications known by port, except on tunnel ports. Returns its length. */
static uint32_t hdrs_frame(const struct decode_hdrs *r, uint8_t *b)
{
	uint32_t n = 0;
	memcpy(b, r->mac_dst, 6);
	memcpy(b + 6, r->mac_src, 6);
	n = 12;
	if (r->has_vlan) {
		put16(b + n, 0x8100);
		put16(b + n + 2, r->vlan_tci);
		n += 4;
	}
	uint16_t et = r->ip_ver == 4 ? 0x0800 : r->ip_ver == 6 ? 0x86dd : r->eth_proto;
	put16(b + n, et);
	n += 2;
	uint32_t l4len = 0;
	switch (r->ip_ver ? r->proto : 0) {
	case DECODE_L4_TCP:
		l4len = 20;
		break;
	case DECODE_L4_UDP:
		/* A zero payload long enough for the application layers known by
		 * port (DNS, DHCP, NTP, sFlow), as a usual first datagram; none
		 * on tunnel ports: the record does not see inside. */
		l4len = 8 + 240;
		for (int i = 0; i < 2; i++) {
			uint16_t p = i ? r->dport : r->sport;
			if (p == 4789 || p == 8472 || p == 6081)
				l4len = 8;
		}
		break;
	case 1: /* ICMPv4 */
		l4len = 8;
		break;
	case 58: /* ICMPv6: room for the target/destination of ND and redirects */
		l4len = 8 + 32;
		break;
	case DECODE_L4_SCTP:
		l4len = 12;
		break;
	}
	uint8_t *ip = b + n;
	if (r->ip_ver == 4) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + l4len));
		ip[8] = 64;
		ip[9] = r->proto;
		memcpy(ip + 12, r->ip_src, 4);
		memcpy(ip + 16, r->ip_dst, 4);
		n += 20;
	} else if (r->ip_ver == 6) {
		ip[0] = 0x60;
		ip[7] = 64;
		memcpy(ip + 8, r->ip_src, 16);
		memcpy(ip + 24, r->ip_dst, 16);
		n += 40;
		uint8_t *nh = ip + 6;
		for (int i = 0; i < 3 && i < r->n_ip6_ext; i++) {
			*nh = r->ip6_ext[i]; /* an empty 8-byte header (PadN) */
			nh = b + n;
			b[n + 2] = 1;
			b[n + 3] = 4;
			n += 8;
		}
		*nh = r->proto;
		put16(ip + 4, (uint16_t)(n - (uint32_t)(ip - b) - 40 + l4len));
	} else if (et == 0x0806) { /* ARP over Ethernet/IPv4 */
		put16(b + n, 1);
		put16(b + n + 2, 0x0800);
		b[n + 4] = 6;
		b[n + 5] = 4;
		put16(b + n + 6, 1);
		n += 28;
		return n;
	} else {
		return n;
	}
	uint8_t *l4 = b + n;
	switch (r->proto) {
	case DECODE_L4_TCP:
		put16(l4, r->sport);
		put16(l4 + 2, r->dport);
		l4[12] = 5 << 4; /* no flags: the record's are applied apart */
		break;
	case DECODE_L4_UDP:
		put16(l4, r->sport);
		put16(l4 + 2, r->dport);
		put16(l4 + 4, (uint16_t)l4len);
		break;
	case DECODE_L4_SCTP:
		put16(l4, r->sport);
		put16(l4 + 2, r->dport);
		break;
	case 1:
	case 58:
		l4[0] = r->icmp_type;
		l4[1] = r->icmp_code;
		put16(l4 + 4, r->icmp_id);
		break;
	}
	return n + l4len;
}

/* decode_headers agrees with decode_packet of that frame on every field of
 * the segment. */
static void check_against_decoder(const struct decode_hdrs *h)
{
	uint8_t fr[384];
	memset(fr, 0, sizeof(fr));
	uint32_t len = hdrs_frame(h, fr);
	struct decode_result r;
	assert_true(decode_packet(1, fr, len, len, &r) >= 1);
	struct decode_seg s;
	decode_headers(h, &s);
	same_key_fields(&s, &r.seg[0]);
	assert_int_equal(s.nvlan, r.seg[0].nvlan);
	assert_int_equal(s.ip_proto, r.seg[0].ip_proto);
	assert_int_equal(s.tcp_flags, r.seg[0].tcp_flags);
}

/* Over a grid of headers: IPv4/IPv6 with extension headers, VLAN or not,
 * every ICMP type, application and tunnel ports, other IP protocols and
 * EtherTypes. */
static void test_agrees_with_the_decoder(void **state)
{
	static const uint16_t ports[] = {0, 53, 67, 123, 443, 546, 4789, 6081, 6343, 5000};
	static const uint8_t protos[] = {1, 2, 4, 6, 17, 41, 47, 58, 112, 132, 137, 200};
	static const uint16_t eths[] = {0x0806, 0x88cc, 0x0500, 0x8847, 0x8100, 0x9000};
	static const uint8_t ext[3] = {0, 43, 60};
	long n = 0;
	struct decode_hdrs h;
	for (int vl = 0; vl < 2; vl++) {
		for (unsigned e = 0; e < sizeof(eths) / sizeof(eths[0]); e++) {
			memset(&h, 0, sizeof(h));
			memcpy(h.mac_src, mac1, 6);
			memcpy(h.mac_dst, mac2, 6);
			h.has_vlan = (uint8_t)vl;
			h.vlan_tci = (uint16_t)(0x3000 | (vl * 77));
			h.eth_proto = eths[e];
			check_against_decoder(&h);
			n++;
		}
		for (int v = 4; v <= 6; v += 2)
			for (int nx = 0; nx <= (v == 6 ? 3 : 0); nx++)
				for (unsigned p = 0; p < sizeof(protos); p++)
					for (unsigned a = 0; a < sizeof(ports) / 2; a++)
						for (unsigned b = 0; b < sizeof(ports) / 2; b++)
							for (int it = 0; it < 256; it++) {
								if (it && protos[p] != 1 && protos[p] != 58)
									break;
								h = v == 4 ? v4(protos[p], ports[a], ports[b])
									   : v6(protos[p]);
								h.sport = ports[a];
								h.dport = ports[b];
								h.has_vlan = (uint8_t)vl;
								h.vlan_tci = (uint16_t)(0x3000 | (vl * 77));
								h.n_ip6_ext = (uint8_t)nx;
								for (int i = 0; i < nx; i++)
									h.ip6_ext[i] = ext[(i + nx) % 3];
								h.icmp_type = (uint8_t)it;
								h.icmp_code = 3;
								h.icmp_id = 0xabcd;
								check_against_decoder(&h);
								n++;
							}
	}
	print_message("%ld headers agree with the decoder\n", n);
	assert_true(n > 50000);
}

struct seen {
	int n;
	struct flow f[8];
	char path[8][128];
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct seen *x = user;
	if (ev != FLOW_EV_EXPIRE || x->n >= 8)
		return;
	x->f[x->n] = *f;
	snprintf(x->path[x->n], sizeof(x->path[0]), "%s", flow_table_path(t, f));
	x->n++;
}

static uint64_t uuid_of(const struct flow *f)
{
	struct flow_ids ids;
	flow_ids_compute(f, FLOW_KEY_L2, NULL, &ids);
	return ids.uuid;
}

/* A ping seen as a captured request, then as a kernel record of the reply
 * direction: one flow, the counts of both, the UUID a captured flow has. */
static void test_record_joins_the_captured_flow(void **state)
{
	struct seen x = {0};
	char err[256];
	struct flow_table_opts o = {0};
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, &x, err, sizeof(err));
	assert_non_null(t);
	struct frame f;
	fr_ping4(&f, mac1, mac2, ip1, ip2, 0, 77, 1);
	flow_table_feed(t, 1, f.b, f.len, f.len, T0);

	struct flow_record r;
	memset(&r, 0, sizeof(r));
	r.h = v4(1, 0, 0);
	memcpy(r.h.mac_src, mac2, 6); /* the reply: B -> A */
	memcpy(r.h.mac_dst, mac1, 6);
	memcpy(r.h.ip_src, ip2, 4);
	memcpy(r.h.ip_dst, ip1, 4);
	r.h.icmp_type = 0;
	r.h.icmp_id = 77;
	r.ab_packets = 3;
	r.ab_bytes = 3 * 98;
	r.ba_packets = 2;
	r.ba_bytes = 2 * 98;
	r.first_ns = T0 + MS(1);
	r.last_ns = T0 + MS(40);
	assert_int_equal(flow_table_feed_record(t, &r), 0);
	flow_table_flush(t);
	assert_int_equal(x.n, 1);
	const struct flow *fl = &x.f[0];
	assert_string_equal(x.path[0], "Ethernet/IPv4/ICMPv4");
	/* A is the request's sender: the record's ab counts are BA. */
	assert_int_equal(fl->ab_packets, 1 + 2);
	assert_int_equal(fl->ab_bytes, f.len + 2 * 98);
	assert_int_equal(fl->ba_packets, 3);
	assert_int_equal(fl->ba_bytes, 3 * 98);
	assert_int_equal(fl->last_ns, T0 + MS(40));

	/* The same traffic as frames only gives the same flow identity. */
	struct seen y = {0};
	struct flow_table *t2 = flow_table_new(&o, on_emit, NULL, &y, err, sizeof(err));
	assert_non_null(t2);
	flow_table_feed(t2, 1, f.b, f.len, f.len, T0);
	fr_ping4(&f, mac2, mac1, ip2, ip1, 1, 77, 1);
	flow_table_feed(t2, 1, f.b, f.len, f.len, T0 + MS(1));
	flow_table_flush(t2);
	assert_int_equal(y.n, 1);
	assert_int_equal(uuid_of(fl), uuid_of(&y.f[0]));
	assert_true(uuid_of(fl) != 0);
	flow_table_free(t2);

	const struct flow_stats *st = flow_table_stats(t);
	assert_int_equal(st->packets, 1 + 5);
	assert_int_equal(st->flows_created, 1);
	flow_table_free(t);
}

/* A TCP record with FIN seen finishes its flow as TCP_FIN; a full table
 * refuses a new record's flow and counts it. */
static void test_record_finish_and_full_table(void **state)
{
	struct seen x = {0};
	char err[256];
	struct flow_table_opts o = {.max_flows = 1};
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, &x, err, sizeof(err));
	assert_non_null(t);
	struct flow_record r;
	memset(&r, 0, sizeof(r));
	r.h = v4(6, 40000, 80);
	r.tcp_flags = DECODE_TCP_SYN | DECODE_TCP_FIN | DECODE_TCP_ACK;
	r.ab_packets = 4;
	r.first_ns = T0;
	r.last_ns = T0 + MS(5);
	assert_int_equal(flow_table_feed_record(t, &r), 0);
	r.h.sport = 40001; /* another flow: no room */
	assert_int_equal(flow_table_feed_record(t, &r), -ENOSPC);
	assert_int_equal(flow_table_stats(t)->flow_dropped, 1);
	flow_table_flush(t);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.f[0].finish, FLOW_TCP_FIN);
	assert_string_equal(x.path[0], "Ethernet/IPv4/TCP");
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layer_paths),
		cmocka_unit_test(test_same_segment_as_a_frame),
		cmocka_unit_test(test_agrees_with_the_decoder),
		cmocka_unit_test(test_record_joins_the_captured_flow),
		cmocka_unit_test(test_record_finish_and_full_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
