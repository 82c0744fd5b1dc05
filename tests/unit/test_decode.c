/* test_decode.c - unit tests of the packet decoder: every layer, tunnel and
 * link type, truncation at each layer, malformed lengths. Frames are built
 * byte by byte here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "decode/decode.h"

/* ---- frame builder ---------------------------------------------------- */

struct pk {
	uint8_t b[4096];
	uint32_t len;
};

static void u8(struct pk *p, uint8_t v)
{
	p->b[p->len++] = v;
}

static void u16(struct pk *p, uint16_t v)
{
	u8(p, (uint8_t)(v >> 8));
	u8(p, (uint8_t)v);
}

static void u32(struct pk *p, uint32_t v)
{
	u16(p, (uint16_t)(v >> 16));
	u16(p, (uint16_t)v);
}

static void bytes(struct pk *p, const void *v, uint32_t n)
{
	memcpy(p->b + p->len, v, n);
	p->len += n;
}

static void fill(struct pk *p, uint8_t v, uint32_t n)
{
	memset(p->b + p->len, v, n);
	p->len += n;
}

static void set16(struct pk *p, uint32_t off, uint16_t v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

static const uint8_t MAC_A[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t MAC_B[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
static const uint8_t MAC_C[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0c};
static const uint8_t MAC_D[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0d};
static const uint8_t IP4_A[4] = {10, 0, 0, 1};
static const uint8_t IP4_B[4] = {10, 0, 0, 2};
static const uint8_t IP4_C[4] = {192, 168, 7, 3};
static const uint8_t IP4_D[4] = {192, 168, 7, 4};
static const uint8_t IP6_A[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t IP6_B[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static uint32_t eth(struct pk *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	uint32_t o = p->len;
	bytes(p, dst, 6);
	bytes(p, src, 6);
	u16(p, type);
	return o;
}

static uint32_t vlan(struct pk *p, uint16_t tci, uint16_t type)
{
	uint32_t o = p->len;
	u16(p, tci);
	u16(p, type);
	return o;
}

/* IPv4 with IHL 5 + optlen/4; total length is set by fix_ipv4(). */
static uint32_t ipv4_opt(struct pk *p, uint8_t proto, const uint8_t src[4], const uint8_t dst[4],
                         uint32_t optlen)
{
	uint32_t o = p->len;
	u8(p, (uint8_t)(0x40 | (5 + optlen / 4)));
	u8(p, 0);
	u16(p, 0); /* total length, fixed later */
	u16(p, 0x1234);
	u16(p, 0x4000); /* DF */
	u8(p, 64);
	u8(p, proto);
	u16(p, 0);
	bytes(p, src, 4);
	bytes(p, dst, 4);
	for (uint32_t i = 0; i < optlen; i++)
		u8(p, 1); /* NOP */
	return o;
}

static uint32_t ipv4(struct pk *p, uint8_t proto, const uint8_t src[4], const uint8_t dst[4])
{
	return ipv4_opt(p, proto, src, dst, 0);
}

static void fix_ipv4(struct pk *p, uint32_t o)
{
	set16(p, o + 2, (uint16_t)(p->len - o));
}

static uint32_t ipv6(struct pk *p, uint8_t nh, const uint8_t src[16], const uint8_t dst[16])
{
	uint32_t o = p->len;
	u32(p, 0x60000000);
	u16(p, 0); /* payload length, fixed later */
	u8(p, nh);
	u8(p, 255);
	bytes(p, src, 16);
	bytes(p, dst, 16);
	return o;
}

static void fix_ipv6(struct pk *p, uint32_t o)
{
	set16(p, o + 4, (uint16_t)(p->len - o - 40));
}

static uint32_t tcp(struct pk *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	uint32_t o = p->len;
	u16(p, sport);
	u16(p, dport);
	u32(p, 1000);
	u32(p, 0);
	u8(p, 5 << 4);
	u8(p, flags);
	u16(p, 65535);
	u16(p, 0);
	u16(p, 0);
	return o;
}

static uint32_t udp(struct pk *p, uint16_t sport, uint16_t dport)
{
	uint32_t o = p->len;
	u16(p, sport);
	u16(p, dport);
	u16(p, 0); /* length, fixed later */
	u16(p, 0);
	return o;
}

static void fix_udp(struct pk *p, uint32_t o)
{
	set16(p, o + 4, (uint16_t)(p->len - o));
}

static uint32_t vxlan(struct pk *p, uint32_t vni)
{
	uint32_t o = p->len;
	u32(p, 0x08000000);
	u32(p, vni << 8);
	return o;
}

/* ---- result helpers --------------------------------------------------- */

static const char *path(const struct decode_seg *s, char *buf, size_t n)
{
	size_t w = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < s->nlayers && w < n; i++)
		w += (size_t)snprintf(buf + w, n - w, "%s%s", i ? "/" : "",
		                      layer_name(s->layers[i]));
	return buf;
}

#define assert_path(seg, str)                                                                      \
	do {                                                                                       \
		char pb_[512];                                                                     \
		assert_string_equal(path((seg), pb_, sizeof(pb_)), (str));                         \
	} while (0)

/* Decodes with a result full of garbage: the decoder must fill it. */
static int dec_wire(int lt, const struct pk *p, uint32_t caplen, uint32_t wirelen,
                    struct decode_result *r)
{
	memset(r, 0xa5, sizeof(*r));
	int n = decode_packet(lt, p->b, caplen, wirelen, r);
	assert_int_equal(n, r->nseg);
	assert_true(r->nseg <= DECODE_MAX_SEGS);
	for (int i = 0; i < n; i++)
		assert_true(r->seg[i].nlayers <= DECODE_MAX_LAYERS);
	return n;
}

static int dec(int lt, const struct pk *p, struct decode_result *r)
{
	return dec_wire(lt, p, p->len, p->len, r);
}

static void assert_ok(const struct decode_result *r)
{
	assert_int_equal(r->err, DECODE_OK);
	assert_int_equal(r->err_layer, LAYER_NONE);
	assert_int_equal(r->err_offset, 0);
}

static void assert_err(const struct decode_result *r, unsigned err, unsigned layer, uint32_t off)
{
	assert_int_equal(r->err, err);
	assert_string_equal(layer_name(r->err_layer), layer_name(layer));
	assert_int_equal(r->err_offset, off);
}

/* ---- names ------------------------------------------------------------ */

static void test_names(void **state)
{
	static const char *const want[LAYER__COUNT] = {"None",
	                                               "Ethernet",
	                                               "LinuxSLL",
	                                               "LinuxSLL2",
	                                               "Loopback",
	                                               "Dot1Q",
	                                               "ARP",
	                                               "MPLS",
	                                               "IPv4",
	                                               "IPv6",
	                                               "IPv6HopByHop",
	                                               "IPv6Routing",
	                                               "IPv6Fragment",
	                                               "IPv6Destination",
	                                               "Fragment",
	                                               "ICMPv4",
	                                               "ICMPv6",
	                                               "ICMPv6Echo",
	                                               "ICMPv6RouterSolicitation",
	                                               "ICMPv6RouterAdvertisement",
	                                               "ICMPv6NeighborSolicitation",
	                                               "ICMPv6NeighborAdvertisement",
	                                               "ICMPv6Redirect",
	                                               "TCP",
	                                               "UDP",
	                                               "SCTP",
	                                               "SCTPData",
	                                               "SCTPInit",
	                                               "SCTPInitAck",
	                                               "SCTPSack",
	                                               "SCTPHeartbeat",
	                                               "SCTPHeartbeatAck",
	                                               "SCTPAbort",
	                                               "SCTPShutdown",
	                                               "SCTPShutdownAck",
	                                               "SCTPError",
	                                               "SCTPCookieEcho",
	                                               "SCTPCookieAck",
	                                               "SCTPShutdownComplete",
	                                               "SCTPUnknownChunkType",
	                                               "GRE",
	                                               "ERSPANII",
	                                               "VXLAN",
	                                               "Geneve",
	                                               "DNS",
	                                               "DHCPv4",
	                                               "DHCPv6",
	                                               "NTP",
	                                               "SFlow",
	                                               "TLS",
	                                               "LLC",
	                                               "LinkLayerDiscovery",
	                                               "VRRP",
	                                               "IGMP"};
	for (unsigned i = 0; i < LAYER__COUNT; i++)
		assert_string_equal(layer_name(i), want[i]);
	assert_string_equal(layer_name(LAYER__COUNT), "Unknown");
	assert_string_equal(layer_name(1000), "Unknown");

	static const char *const icmp[] = {"UNKNOWN",
	                                   "DESTINATION_UNREACHABLE",
	                                   "ECHO",
	                                   "NEIGHBOR",
	                                   "ADDRESS_MASK",
	                                   "INFO",
	                                   "PARAMETER_PROBLEM",
	                                   "REDIRECT",
	                                   "ROUTER",
	                                   "SOURCE_QUENCH",
	                                   "TIME_EXCEEDED",
	                                   "TIMESTAMP",
	                                   "PACKET_TOO_BIG"};
	for (unsigned i = 0; i < 13; i++)
		assert_string_equal(flow_icmp_type_name(i), icmp[i]);
	assert_string_equal(flow_icmp_type_name(13), "UNKNOWN");

	assert_string_equal(decode_strerror(DECODE_OK), "ok");
	assert_string_equal(decode_strerror(DECODE_ERR_TRUNCATED), "truncated header");
	assert_string_equal(decode_strerror(DECODE_ERR_MALFORMED), "malformed header");
	assert_string_equal(decode_strerror(DECODE_ERR_LINKTYPE), "unsupported link type");
	assert_string_equal(decode_strerror(DECODE_ERR_TOO_DEEP), "too many nested tunnels");
	assert_string_equal(decode_strerror(99), "unknown error");
}

/* ---- Ethernet / IPv4 / TCP, UDP --------------------------------------- */

static void test_eth_ipv4_tcp(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 6, IP4_A, IP4_B);
	tcp(&p, 40000, 80, 0x02);
	fix_ipv4(&p, ip);

	assert_int_equal(dec_wire(DECODE_LINKTYPE_ETHERNET, &p, p.len, 1514, &r), 1);
	assert_ok(&r);
	const struct decode_seg *s = &r.seg[0];
	assert_path(s, "Ethernet/IPv4/TCP");
	assert_int_equal(s->offset, 0);
	assert_int_equal(s->length, 1514); /* the wire length */
	assert_int_equal(s->has_eth, 1);
	assert_memory_equal(s->eth_src, MAC_A, 6);
	assert_memory_equal(s->eth_dst, MAC_B, 6);
	assert_int_equal(s->nvlan, 0);
	assert_int_equal(s->link_id, 0);
	assert_int_equal(s->ip_ver, 4);
	assert_memory_equal(s->ip_src, IP4_A, 4);
	assert_memory_equal(s->ip_dst, IP4_B, 4);
	static const uint8_t zero[12];
	assert_memory_equal(s->ip_src + 4, zero, 12);
	assert_int_equal(s->ttl, 64);
	assert_int_equal(s->ip_proto, 6);
	assert_int_equal(s->is_fragment, 0);
	assert_int_equal(s->l4, DECODE_L4_TCP);
	assert_int_equal(s->sport, 40000);
	assert_int_equal(s->dport, 80);
	assert_int_equal(s->tcp_flags, DECODE_TCP_SYN);
	assert_int_equal(s->icmp_ver, 0);
	assert_int_equal(s->icmp_id, 0);
	assert_int_equal(s->tunnel, LAYER_NONE);
	assert_int_equal(s->tunnel_id, 0);

	/* flags other than the five of the contract are masked */
	p.b[ip + 20 + 13] = 0xd1; /* CWR ECE ACK FIN */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_int_equal(r.seg[0].tcp_flags, DECODE_TCP_ACK | DECODE_TCP_FIN);
}

static void test_eth_ipv4_udp_unknown_port(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 5000, 5001);
	fill(&p, 0xee, 30);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP");
	assert_int_equal(r.seg[0].l4, DECODE_L4_UDP);
	assert_int_equal(r.seg[0].sport, 5000);
	assert_int_equal(r.seg[0].dport, 5001);
	assert_int_equal(r.seg[0].tcp_flags, 0);
}

/* Ethernet padding after a short IP packet is not payload. */
static void test_ethernet_padding(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 6, IP4_A, IP4_B);
	tcp(&p, 40000, 443, 0x10);
	fix_ipv4(&p, ip);
	/* padding that looks like a TLS record header */
	static const uint8_t pad[6] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x00};
	bytes(&p, pad, 6);
	assert_int_equal(p.len, 60);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/TCP");

	/* the same with UDP to port 53: no DNS out of padding */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 1111, 53);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	fill(&p, 0x11, 18);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP");
}

static void test_ipv4_options(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4_opt(&p, 6, IP4_A, IP4_B, 12); /* IHL 8 */
	tcp(&p, 1234, 22, 0x18);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/TCP");
	assert_int_equal(r.seg[0].sport, 1234);
	assert_int_equal(r.seg[0].dport, 22);
	assert_int_equal(r.seg[0].tcp_flags, DECODE_TCP_PSH | DECODE_TCP_ACK);

	/* IHL says options run past the capture */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 24, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV4, 14);
	assert_path(&r.seg[0], "Ethernet");
	assert_int_equal(r.seg[0].ip_ver, 0);
}

static void test_ipv4_malformed(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 6, IP4_A, IP4_B);
	tcp(&p, 1, 2, 0);
	fix_ipv4(&p, ip);

	struct {
		uint8_t vihl;
		uint16_t total;
	} bad[] = {
	    {0x44, 40}, /* IHL < 5 */
	    {0x55, 40}, /* version 5 */
	    {0x65, 40}, /* version 6 in an IPv4 ethertype */
	    {0x45, 19}, /* total length < header */
	    {0x46, 22}, /* total length < IHL * 4 */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.b[ip] = bad[i].vihl;
		set16(&p, ip + 2, bad[i].total);
		assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 1);
		assert_err(&r, DECODE_ERR_MALFORMED, LAYER_IPV4, 14);
		assert_path(&r.seg[0], "Ethernet");
		assert_int_equal(r.seg[0].has_eth, 1);
		assert_memory_equal(r.seg[0].eth_src, MAC_A, 6);
		assert_int_equal(r.seg[0].ip_ver, 0);
		assert_int_equal(r.seg[0].l4, 0);
	}
}

/* Total length 0 comes from segmentation offload: use what was captured. */
static void test_ipv4_tso_zero_length(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ipv4(&p, 6, IP4_A, IP4_B); /* total length left at 0 */
	tcp(&p, 5555, 443, 0x18);
	static const uint8_t rec[] = {0x17, 0x03, 0x03, 0x00, 0x10};
	bytes(&p, rec, sizeof(rec));
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/TCP/TLS");
}

static void test_ipv4_fragments(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	udp(&p, 53, 53);
	fill(&p, 0, 40);
	fix_ipv4(&p, ip);

	static const uint16_t frags[] = {0x2000 /* MF */, 0x000d /* offset */, 0x200d /* both */};
	for (unsigned i = 0; i < 3; i++) {
		set16(&p, ip + 6, frags[i]);
		dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
		assert_ok(&r);
		assert_path(&r.seg[0], "Ethernet/IPv4/Fragment");
		assert_int_equal(r.seg[0].is_fragment, 1);
		assert_int_equal(r.seg[0].ip_ver, 4);
		assert_int_equal(r.seg[0].ip_proto, 17);
		assert_int_equal(r.seg[0].l4, DECODE_L4_NONE);
		assert_int_equal(r.seg[0].sport, 0);
	}
	/* DF alone is not a fragment */
	set16(&p, ip + 6, 0x4000);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP/DNS");
	assert_int_equal(r.seg[0].is_fragment, 0);

	/* a fragment whose payload the capture cut is not an error */
	set16(&p, ip + 6, 0x2000);
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 34, p.len, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4");
	assert_int_equal(r.seg[0].is_fragment, 1);
}

/* Where the IP header ends exactly: silent when the length says so, a
 * truncation when the capture cut the packet. */
static void test_boundaries(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 6, IP4_A, IP4_B);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4");
	assert_int_equal(r.seg[0].l4, 0);

	tcp(&p, 1, 2, 0);
	fix_ipv4(&p, ip);
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 34, 54, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_TCP, 34);
	assert_path(&r.seg[0], "Ethernet/IPv4");
	assert_int_equal(r.seg[0].length, 54);

	/* Ethernet alone: a missing IPv4 header is a truncation */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14, 54, &r);
	assert_int_equal(r.nseg, 1);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV4, 14);
	assert_path(&r.seg[0], "Ethernet");

	/* an unknown ethertype simply ends the path */
	set16(&p, 12, 0x88b5);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet");
}

/* ---- IPv6 ------------------------------------------------------------- */

static void test_ipv6_ext_headers(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x86dd);
	uint32_t ip = ipv6(&p, 0, IP6_A, IP6_B);
	/* hop-by-hop, 8 bytes: router alert + padding */
	u8(&p, 43);
	u8(&p, 0);
	static const uint8_t ra[6] = {0x05, 0x02, 0x00, 0x00, 0x01, 0x00};
	bytes(&p, ra, 6);
	/* routing, 8 bytes */
	u8(&p, 60);
	u8(&p, 0);
	fill(&p, 0, 6);
	/* destination options, 16 bytes */
	u8(&p, 17);
	u8(&p, 1);
	fill(&p, 0, 14);
	uint32_t u = udp(&p, 546, 547);
	fill(&p, 0x01, 10);
	fix_udp(&p, u);
	fix_ipv6(&p, ip);

	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	const struct decode_seg *s = &r.seg[0];
	assert_path(s, "Ethernet/IPv6/IPv6HopByHop/IPv6Routing/IPv6Destination/UDP/DHCPv6");
	assert_int_equal(s->ip_ver, 6);
	assert_memory_equal(s->ip_src, IP6_A, 16);
	assert_memory_equal(s->ip_dst, IP6_B, 16);
	assert_int_equal(s->ttl, 255);
	assert_int_equal(s->ip_proto, 17);
	assert_int_equal(s->l4, DECODE_L4_UDP);
	assert_int_equal(s->sport, 546);
	assert_int_equal(s->dport, 547);

	/* the destination header says 24 bytes but only its first 8 are there */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 40 + 16 + 8, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV6_DESTINATION, 14 + 40 + 16);
	assert_path(&r.seg[0], "Ethernet/IPv6/IPv6HopByHop/IPv6Routing");
	/* a one-byte extension header */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 40 + 1, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV6_HOPBYHOP, 54);
	assert_path(&r.seg[0], "Ethernet/IPv6");
	assert_int_equal(r.seg[0].ip_ver, 6);
}

static void test_ipv6_fragments(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x86dd);
	uint32_t ip = ipv6(&p, 44, IP6_A, IP6_B);
	uint32_t fh = p.len;
	u8(&p, 17);
	u8(&p, 0);
	u16(&p, 0);
	u32(&p, 0xcafe);
	uint32_t u = udp(&p, 1000, 2000);
	fill(&p, 0, 8);
	fix_udp(&p, u);
	fix_ipv6(&p, ip);

	/* atomic fragment: a whole packet */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv6/IPv6Fragment/UDP");
	assert_int_equal(r.seg[0].is_fragment, 0);
	assert_int_equal(r.seg[0].ip_proto, 17);
	assert_int_equal(r.seg[0].dport, 2000);

	static const uint16_t fo[] = {0x0001 /* MF */, 185 << 3 /* offset */};
	for (unsigned i = 0; i < 2; i++) {
		set16(&p, fh + 2, fo[i]);
		dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
		assert_ok(&r);
		assert_path(&r.seg[0], "Ethernet/IPv6/IPv6Fragment/Fragment");
		assert_int_equal(r.seg[0].is_fragment, 1);
		assert_int_equal(r.seg[0].ip_proto, 17);
		assert_int_equal(r.seg[0].l4, 0);
	}

	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 40 + 5, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV6_FRAGMENT, 54);
	assert_int_equal(r.seg[0].is_fragment, 0);
}

static void test_ipv6_malformed_and_jumbo(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x86dd);
	uint32_t ip = ipv6(&p, 6, IP6_A, IP6_B);
	tcp(&p, 3000, 53, 0x02);
	fix_ipv6(&p, ip);

	p.b[ip] = 0x40; /* version 4 under the IPv6 ethertype */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_MALFORMED, LAYER_IPV6, 14);
	assert_path(&r.seg[0], "Ethernet");

	p.b[ip] = 0x60;
	set16(&p, ip + 4, 0); /* jumbogram / offload: use the captured bytes */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv6/TCP");
	assert_int_equal(r.seg[0].sport, 3000);

	/* payload length beyond the capture: decode what is there */
	set16(&p, ip + 4, 1400);
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, p.len, 1454, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv6/TCP");
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 30, 1454, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV6, 14);
}

/* IP in IP: the segment's network layer is its first IPv4, else IPv6. */
static void test_ip_in_ip(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 41, IP4_A, IP4_B);
	uint32_t ip6 = ipv6(&p, 6, IP6_A, IP6_B);
	tcp(&p, 7, 8, 0x01);
	fix_ipv6(&p, ip6);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_int_equal(r.nseg, 1); /* no split on IP in IP */
	assert_path(&r.seg[0], "Ethernet/IPv4/IPv6/TCP");
	assert_int_equal(r.seg[0].ip_ver, 4);
	assert_memory_equal(r.seg[0].ip_src, IP4_A, 4);
	assert_int_equal(r.seg[0].ip_proto, 41);
	assert_int_equal(r.seg[0].ttl, 64);
	assert_int_equal(r.seg[0].dport, 8);

	/* 4in6: the inner IPv4 wins over the outer IPv6 */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x86dd);
	ip6 = ipv6(&p, 4, IP6_A, IP6_B);
	ip = ipv4(&p, 17, IP4_C, IP4_D);
	uint32_t u = udp(&p, 9, 10);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	fix_ipv6(&p, ip6);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv6/IPv4/UDP");
	assert_int_equal(r.seg[0].ip_ver, 4);
	assert_memory_equal(r.seg[0].ip_src, IP4_C, 4);
	assert_memory_equal(r.seg[0].ip_dst, IP4_D, 4);
	assert_int_equal(r.seg[0].ip_proto, 17);
	assert_int_equal(r.seg[0].ttl, 64);
}

/* ---- ICMP ------------------------------------------------------------- */

static void test_icmpv4(void **state)
{
	static const struct {
		uint8_t type, flow;
	} map[] = {
	    {0, ICMP_ECHO},          {8, ICMP_ECHO},           {3, ICMP_DESTINATION_UNREACHABLE},
	    {4, ICMP_SOURCE_QUENCH}, {5, ICMP_REDIRECT},       {9, ICMP_ROUTER},
	    {10, ICMP_ROUTER},       {11, ICMP_TIME_EXCEEDED}, {12, ICMP_PARAMETER_PROBLEM},
	    {13, ICMP_TIMESTAMP},    {14, ICMP_TIMESTAMP},     {15, ICMP_INFO},
	    {16, ICMP_INFO},         {17, ICMP_ADDRESS_MASK},  {18, ICMP_ADDRESS_MASK},
	    {1, ICMP_UNKNOWN},       {42, ICMP_UNKNOWN},
	};
	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct pk p = {0};
		struct decode_result r;
		eth(&p, MAC_B, MAC_A, 0x0800);
		uint32_t ip = ipv4(&p, 1, IP4_A, IP4_B);
		u8(&p, map[i].type);
		u8(&p, 3);
		u16(&p, 0);
		u16(&p, 0xbeef); /* id for echo, whatever the type */
		u16(&p, 7);
		fill(&p, 0x61, 20);
		fix_ipv4(&p, ip);
		dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
		assert_ok(&r);
		assert_path(&r.seg[0], "Ethernet/IPv4/ICMPv4");
		assert_int_equal(r.seg[0].icmp_ver, 4);
		assert_int_equal(r.seg[0].icmp_type, map[i].type);
		assert_int_equal(r.seg[0].icmp_code, 3);
		assert_int_equal(r.seg[0].icmp_flow_type, map[i].flow);
		assert_int_equal(r.seg[0].icmp_id, 0xbeef);
		assert_int_equal(r.seg[0].l4, 0);

		if (i == 0) {
			dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 20 + 7, p.len, &r);
			assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_ICMPV4, 34);
			assert_path(&r.seg[0], "Ethernet/IPv4");
			assert_int_equal(r.seg[0].icmp_ver, 0);
		}
	}
}

static void test_icmpv6(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t body;
		uint8_t flow;
		const char *path;
	} map[] = {
	    {128, 8, ICMP_ECHO, "Ethernet/IPv6/ICMPv6/ICMPv6Echo"},
	    {129, 8, ICMP_ECHO, "Ethernet/IPv6/ICMPv6/ICMPv6Echo"},
	    {133, 4, ICMP_ROUTER, "Ethernet/IPv6/ICMPv6/ICMPv6RouterSolicitation"},
	    {134, 12, ICMP_ROUTER, "Ethernet/IPv6/ICMPv6/ICMPv6RouterAdvertisement"},
	    {135, 20, ICMP_NEIGHBOR, "Ethernet/IPv6/ICMPv6/ICMPv6NeighborSolicitation"},
	    {136, 20, ICMP_NEIGHBOR, "Ethernet/IPv6/ICMPv6/ICMPv6NeighborAdvertisement"},
	    {137, 36, ICMP_REDIRECT, "Ethernet/IPv6/ICMPv6/ICMPv6Redirect"},
	    {1, 52, ICMP_DESTINATION_UNREACHABLE, "Ethernet/IPv6/ICMPv6"},
	    {2, 52, ICMP_PACKET_TOO_BIG, "Ethernet/IPv6/ICMPv6"},
	    {3, 52, ICMP_TIME_EXCEEDED, "Ethernet/IPv6/ICMPv6"},
	    {4, 52, ICMP_PARAMETER_PROBLEM, "Ethernet/IPv6/ICMPv6"},
	    {143, 24, ICMP_UNKNOWN, "Ethernet/IPv6/ICMPv6"},
	};
	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		struct pk p = {0};
		struct decode_result r;
		eth(&p, MAC_B, MAC_A, 0x86dd);
		uint32_t ip = ipv6(&p, 58, IP6_A, IP6_B);
		u8(&p, map[i].type);
		u8(&p, 0);
		u16(&p, 0);
		uint32_t body = p.len;
		u16(&p, 0x4242); /* echo identifier */
		u16(&p, 1);
		fill(&p, 0x77, map[i].body - 4);
		fix_ipv6(&p, ip);
		dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
		assert_ok(&r);
		assert_path(&r.seg[0], map[i].path);
		assert_int_equal(r.seg[0].icmp_ver, 6);
		assert_int_equal(r.seg[0].icmp_type, map[i].type);
		assert_int_equal(r.seg[0].icmp_flow_type, map[i].flow);
		assert_int_equal(r.seg[0].icmp_id,
		                 map[i].type == 128 || map[i].type == 129 ? 0x4242 : 0);
		assert_int_equal(r.seg[0].ip_proto, 58);

		/* a message body one byte short of its fixed part */
		if (map[i].type >= 128 && map[i].type <= 137) {
			uint32_t min = map[i].body > 4 && map[i].type != 128 && map[i].type != 129
			                   ? map[i].body
			                   : 4;
			dec_wire(DECODE_LINKTYPE_ETHERNET, &p, body + min - 1, p.len, &r);
			assert_int_equal(r.err, DECODE_ERR_TRUNCATED);
			assert_int_equal(r.err_offset, body);
			assert_path(&r.seg[0], "Ethernet/IPv6/ICMPv6");
			assert_int_equal(r.seg[0].icmp_flow_type, map[i].flow);
			assert_int_equal(r.seg[0].icmp_id, 0);
		}
	}
}

/* ---- link layers ------------------------------------------------------ */

static void test_vlan(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x8100);
	vlan(&p, (5 << 13) | 42, 0x0800);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 1, 2);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/Dot1Q/IPv4/UDP");
	assert_int_equal(r.seg[0].nvlan, 1);
	assert_int_equal(r.seg[0].link_id, 42); /* priority bits dropped */
	assert_memory_equal(r.seg[0].ip_dst, IP4_B, 4);

	/* QinQ: 802.1ad outer 100, 802.1Q inner 200 */
	static const uint16_t outer_types[] = {0x88a8, 0x9100, 0x8100};
	for (unsigned i = 0; i < 3; i++) {
		p.len = 0;
		eth(&p, MAC_B, MAC_A, outer_types[i]);
		vlan(&p, 100, 0x8100);
		vlan(&p, 200, 0x0800);
		ip = ipv4(&p, 17, IP4_A, IP4_B);
		u = udp(&p, 1, 2);
		fix_udp(&p, u);
		fix_ipv4(&p, ip);
		dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
		assert_ok(&r);
		assert_path(&r.seg[0], "Ethernet/Dot1Q/Dot1Q/IPv4/UDP");
		assert_int_equal(r.seg[0].nvlan, 2);
		assert_int_equal(r.seg[0].link_id, (200u << 12) | 100u);
	}
}

/* More tags than the path holds: the path is cut, the fields are not. */
static void test_many_vlans(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x8100);
	for (unsigned i = 1; i <= 20; i++)
		vlan(&p, (uint16_t)(0xf00 | i), i == 20 ? 0x0800 : 0x8100);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 11, 12);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_int_equal(r.seg[0].nlayers, DECODE_MAX_LAYERS);
	assert_int_equal(r.seg[0].nvlan, 20);
	/* innermost-first fold over 64 bits: the first six tags remain, the
	 * sixth with its low 4 bits only */
	uint64_t want = 0;
	for (int i = 20; i >= 1; i--)
		want = (want << 12) | (uint64_t)(0xf00 | i);
	assert_int_equal(r.seg[0].link_id, want);
	assert_int_equal(r.seg[0].ip_ver, 4);
	assert_int_equal(r.seg[0].sport, 11);
	assert_int_equal(r.seg[0].l4, DECODE_L4_UDP);
}

static void test_arp_llc_lldp(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	eth(&p, bcast, MAC_A, 0x0806);
	u16(&p, 1);
	u16(&p, 0x0800);
	u8(&p, 6);
	u8(&p, 4);
	u16(&p, 1);
	bytes(&p, MAC_A, 6);
	bytes(&p, IP4_A, 4);
	fill(&p, 0, 6);
	bytes(&p, IP4_B, 4);
	fill(&p, 0, 18); /* padding */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/ARP");
	assert_memory_equal(r.seg[0].eth_dst, bcast, 6);
	assert_int_equal(r.seg[0].ip_ver, 0);
	assert_int_equal(r.seg[0].l4, 0);
	assert_int_equal(r.seg[0].icmp_ver, 0);
	assert_int_equal(r.seg[0].tunnel, 0);
	assert_int_equal(r.seg[0].link_id, 0);
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 20, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_ARP, 14);
	assert_path(&r.seg[0], "Ethernet");

	/* 802.3 + LLC (STP BPDU) */
	static const uint8_t stp_dst[6] = {0x01, 0x80, 0xc2, 0, 0, 0};
	p.len = 0;
	eth(&p, stp_dst, MAC_A, 38);
	u8(&p, 0x42);
	u8(&p, 0x42);
	u8(&p, 0x03);
	fill(&p, 0, 35);
	fill(&p, 0xcc, 8); /* padding beyond the 802.3 length */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/LLC");
	/* I-frame: two control bytes, here cut by the 802.3 length */
	set16(&p, 12, 3);
	p.b[16] = 0x00;
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_LLC, 14);
	/* 802.3 length 0: nothing to decode, no error */
	set16(&p, 12, 0);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet");

	p.len = 0;
	eth(&p, stp_dst, MAC_A, 0x88cc);
	u16(&p, (1 << 9) | 7);
	u8(&p, 4);
	bytes(&p, MAC_A, 6);
	fill(&p, 0, 30);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/LinkLayerDiscovery");
}

static void test_truncated_ethernet(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	for (uint32_t cap = 0; cap < 14; cap++) {
		assert_int_equal(dec_wire(DECODE_LINKTYPE_ETHERNET, &p, cap, 64, &r), 0);
		assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_ETHERNET, 0);
	}
}

static void test_linux_sll(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	u16(&p, 0); /* to us */
	u16(&p, 1); /* ARPHRD_ETHER */
	u16(&p, 6);
	bytes(&p, MAC_A, 6);
	u16(&p, 0);
	u16(&p, 0x0800);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 68, 67);
	fill(&p, 0, 240);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec_wire(DECODE_LINKTYPE_LINUX_SLL, &p, p.len, 300, &r);
	assert_ok(&r);
	assert_int_equal(r.nseg, 1);
	assert_path(&r.seg[0], "IPv4/UDP/DHCPv4");
	assert_int_equal(r.seg[0].has_eth, 0);
	assert_int_equal(r.seg[0].length, 300);
	assert_memory_equal(r.seg[0].ip_src, IP4_A, 4);
	assert_int_equal(r.seg[0].dport, 67);

	assert_int_equal(dec_wire(DECODE_LINKTYPE_LINUX_SLL, &p, 15, 300, &r), 0);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_LINUX_SLL, 0);
	assert_int_equal(dec_wire(DECODE_LINKTYPE_LINUX_SLL, &p, 16, 300, &r), 1);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV4, 16);
	assert_int_equal(r.seg[0].nlayers, 0);

	/* SLL2: protocol first, 20 bytes */
	p.len = 0;
	u16(&p, 0x86dd);
	u16(&p, 0);
	u32(&p, 3);
	u16(&p, 1);
	u8(&p, 4); /* outgoing */
	u8(&p, 6);
	bytes(&p, MAC_A, 6);
	u16(&p, 0);
	ip = ipv6(&p, 6, IP6_A, IP6_B);
	tcp(&p, 443, 50000, 0x11);
	fix_ipv6(&p, ip);
	dec(DECODE_LINKTYPE_LINUX_SLL2, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "IPv6/TCP");
	assert_int_equal(r.seg[0].ip_ver, 6);
	assert_int_equal(r.seg[0].tcp_flags, DECODE_TCP_FIN | DECODE_TCP_ACK);
	assert_int_equal(dec_wire(DECODE_LINKTYPE_LINUX_SLL2, &p, 19, p.len, &r), 0);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_LINUX_SLL2, 0);
}

static void test_loopback(void **state)
{
	static const struct {
		int lt;
		uint8_t fam[4];
		const char *path;
		unsigned err;
	} cases[] = {
	    {DECODE_LINKTYPE_NULL, {2, 0, 0, 0}, "IPv4/UDP", DECODE_OK},
	    {DECODE_LINKTYPE_NULL, {30, 0, 0, 0}, "IPv6/UDP", DECODE_OK},
	    {DECODE_LINKTYPE_NULL, {10, 0, 0, 0}, "IPv6/UDP", DECODE_OK},
	    {DECODE_LINKTYPE_LOOP, {0, 0, 0, 24}, "IPv6/UDP", DECODE_OK},
	    {DECODE_LINKTYPE_LOOP, {0, 0, 0, 28}, "IPv6/UDP", DECODE_OK},
	    {DECODE_LINKTYPE_LOOP, {0, 0, 0, 2}, "IPv4/UDP", DECODE_OK},
	    {DECODE_LINKTYPE_NULL, {7, 0, 0, 0}, "", DECODE_OK},
	    {DECODE_LINKTYPE_NULL, {1, 2, 3, 4}, "", DECODE_ERR_MALFORMED},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pk p = {0};
		struct decode_result r;
		bytes(&p, cases[i].fam, 4);
		uint32_t ip, u;
		if (strncmp(cases[i].path, "IPv6", 4) == 0) {
			ip = ipv6(&p, 17, IP6_A, IP6_B);
			u = udp(&p, 100, 200);
			fix_udp(&p, u);
			fix_ipv6(&p, ip);
		} else {
			ip = ipv4(&p, 17, IP4_A, IP4_B);
			u = udp(&p, 100, 200);
			fix_udp(&p, u);
			fix_ipv4(&p, ip);
		}
		int n = dec(cases[i].lt, &p, &r);
		assert_int_equal(r.err, cases[i].err);
		if (cases[i].err) {
			assert_int_equal(n, 0);
			assert_int_equal(r.err_layer, LAYER_LOOPBACK);
			continue;
		}
		assert_int_equal(n, 1);
		assert_path(&r.seg[0], cases[i].path);
		assert_int_equal(r.seg[0].has_eth, 0);
	}
}

static void test_raw_ip_linktypes(void **state)
{
	struct pk p4 = {0}, p6 = {0};
	struct decode_result r;
	uint32_t ip = ipv4(&p4, 6, IP4_A, IP4_B);
	tcp(&p4, 1, 2, 0x04);
	fix_ipv4(&p4, ip);
	ip = ipv6(&p6, 17, IP6_A, IP6_B);
	uint32_t u = udp(&p6, 123, 123);
	fill(&p6, 0x1b, 48);
	fix_udp(&p6, u);
	fix_ipv6(&p6, ip);

	static const int raw[] = {DECODE_LINKTYPE_RAW, 12, 14};
	for (unsigned i = 0; i < 3; i++) {
		dec(raw[i], &p4, &r);
		assert_ok(&r);
		assert_path(&r.seg[0], "IPv4/TCP");
		assert_int_equal(r.seg[0].tcp_flags, DECODE_TCP_RST);
		assert_int_equal(r.seg[0].length, p4.len);
		dec(raw[i], &p6, &r);
		assert_ok(&r);
		assert_path(&r.seg[0], "IPv6/UDP/NTP");
	}
	dec(DECODE_LINKTYPE_IPV4, &p4, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "IPv4/TCP");
	dec(DECODE_LINKTYPE_IPV6, &p6, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "IPv6/UDP/NTP");
	/* LINKTYPE_IPV4 really is IPv4 */
	assert_int_equal(dec(DECODE_LINKTYPE_IPV4, &p6, &r), 0);
	assert_err(&r, DECODE_ERR_MALFORMED, LAYER_IPV4, 0);

	p4.b[0] = 0x55; /* neither 4 nor 6 */
	assert_int_equal(dec(DECODE_LINKTYPE_RAW, &p4, &r), 0);
	assert_err(&r, DECODE_ERR_MALFORMED, LAYER_IPV4, 0);
	assert_int_equal(dec_wire(DECODE_LINKTYPE_RAW, &p4, 0, 0, &r), 0);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IPV4, 0);

	assert_int_equal(dec(999, &p4, &r), 0);
	assert_int_equal(r.err, DECODE_ERR_LINKTYPE);
	assert_int_equal(r.nseg, 0);
	assert_int_equal(dec(DECODE_LINKTYPE_IPV4 + 100, &p4, &r), 0);
	assert_int_equal(r.err, DECODE_ERR_LINKTYPE);
}

/* ---- transport -------------------------------------------------------- */

static void test_tcp_udp_malformed(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 6, IP4_A, IP4_B);
	uint32_t t = tcp(&p, 1, 2, 0);
	fill(&p, 0, 20);
	fix_ipv4(&p, ip);

	p.b[t + 12] = 4 << 4; /* data offset 16 bytes */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_MALFORMED, LAYER_TCP, 34);
	assert_path(&r.seg[0], "Ethernet/IPv4");
	assert_int_equal(r.seg[0].l4, 0);
	assert_int_equal(r.seg[0].ip_ver, 4);

	p.b[t + 12] = 15 << 4; /* 60 bytes of header, 40 there */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_TCP, 34);

	p.b[t + 12] = 10 << 4; /* 40 bytes of options and header: fits exactly */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/TCP");

	/* UDP */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 3333, 53);
	fill(&p, 0, 12);
	fix_ipv4(&p, ip);
	set16(&p, u + 4, 5);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_MALFORMED, LAYER_UDP, 34);
	assert_path(&r.seg[0], "Ethernet/IPv4");
	set16(&p, u + 4, 0); /* jumbogram: the rest of the packet */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP/DNS");
	set16(&p, u + 4, 8); /* no payload: no DNS */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP");
	set16(&p, u + 4, 900); /* longer than the packet: decode what is there */
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP/DNS");
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 14 + 20 + 7, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_UDP, 34);
}

static void test_sctp(void **state)
{
	static const struct {
		uint8_t type;
		const char *name;
	} chunks[] = {
	    {0, "SCTPData"},
	    {1, "SCTPInit"},
	    {2, "SCTPInitAck"},
	    {3, "SCTPSack"},
	    {4, "SCTPHeartbeat"},
	    {5, "SCTPHeartbeatAck"},
	    {6, "SCTPAbort"},
	    {7, "SCTPShutdown"},
	    {8, "SCTPShutdownAck"},
	    {9, "SCTPError"},
	    {10, "SCTPCookieEcho"},
	    {11, "SCTPCookieAck"},
	    {14, "SCTPShutdownComplete"},
	    {12, "SCTPUnknownChunkType"},
	    {200, "SCTPUnknownChunkType"},
	};
	for (unsigned i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct pk p = {0};
		struct decode_result r;
		char want[128];
		eth(&p, MAC_B, MAC_A, 0x0800);
		uint32_t ip = ipv4(&p, 132, IP4_A, IP4_B);
		u16(&p, 2905);
		u16(&p, 3868);
		u32(&p, 0x11223344);
		u32(&p, 0);
		uint32_t ch = p.len;
		u8(&p, chunks[i].type);
		u8(&p, 0);
		u16(&p, 20);
		fill(&p, 0, 16);
		u8(&p, 0); /* a second chunk (DATA): a layer, unless the first is DATA */
		u8(&p, 0);
		u16(&p, 4);
		fix_ipv4(&p, ip);
		dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
		assert_ok(&r);
		snprintf(want, sizeof(want), "Ethernet/IPv4/SCTP/%s%s", chunks[i].name,
			 chunks[i].type == 0 ? "" : "/SCTPData");
		assert_path(&r.seg[0], want);
		assert_int_equal(r.seg[0].l4, DECODE_L4_SCTP);
		assert_int_equal(r.seg[0].sport, 2905);
		assert_int_equal(r.seg[0].dport, 3868);

		if (i == 1) {
			set16(&p, ch + 2, 3);
			dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
			assert_err(&r, DECODE_ERR_MALFORMED, LAYER_SCTP_INIT, 46);
			assert_path(&r.seg[0], "Ethernet/IPv4/SCTP");
			set16(&p, ch + 2, 200);
			dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
			assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_SCTP_INIT, 46);
			dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 46 + 2, p.len, &r);
			assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_SCTP_INIT, 46);
			dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 34 + 11, p.len, &r);
			assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_SCTP, 34);
			assert_int_equal(r.seg[0].l4, 0);
			/* no chunk at all within the IP length: no error */
			set16(&p, ip + 2, 32);
			dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
			assert_ok(&r);
			assert_path(&r.seg[0], "Ethernet/IPv4/SCTP");
		}
	}
}

static void test_igmp_vrrp(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 2, IP4_A, IP4_B);
	u8(&p, 0x16);
	u8(&p, 0);
	u16(&p, 0);
	bytes(&p, IP4_C, 4);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/IGMP");
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, p.len - 1, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_IGMP, 34);

	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 112, IP4_A, IP4_B);
	uint32_t v = p.len;
	u8(&p, 0x21);
	u8(&p, 7);
	u8(&p, 100);
	u8(&p, 1);
	u8(&p, 0);
	u8(&p, 1);
	u16(&p, 0);
	bytes(&p, IP4_C, 4);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/VRRP");
	assert_int_equal(r.seg[0].app, LAYER_VRRPV2);
	assert_int_equal(r.seg[0].app_off, 34);
	assert_int_equal(r.seg[0].app_len, 12);
	/* gopacket's VRRPv2 decoder takes a VRRPv3 advert too (no version check,
	 * layers/vrrp.go): same path */
	p.b[v] = 0x31;
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/VRRP");
	/* but not another type, nor no address, nor fewer address bytes than said */
	p.b[v] = 0x22;
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_MALFORMED, LAYER_VRRPV2, 34);
	assert_path(&r.seg[0], "Ethernet/IPv4");
	p.b[v] = 0x21;
	p.b[v + 3] = 0;
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_MALFORMED, LAYER_VRRPV2, 34);
	p.b[v + 3] = 2;
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_VRRPV2, 34);
}

/* ---- applications ----------------------------------------------------- */

static void udp_app_case(uint16_t sport, uint16_t dport, uint32_t plen, const char *want_path,
                         unsigned err, unsigned err_layer)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, sport, dport);
	fill(&p, 0, plen);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	if (err)
		assert_err(&r, err, err_layer, 42);
	else
		assert_ok(&r);
	assert_path(&r.seg[0], want_path);
	assert_int_equal(r.seg[0].sport, sport);
	assert_int_equal(r.seg[0].dport, dport);
}

static void test_udp_apps(void **state)
{
	udp_app_case(40000, 53, 30, "Ethernet/IPv4/UDP/DNS", 0, 0);
	udp_app_case(53, 40000, 12, "Ethernet/IPv4/UDP/DNS", 0, 0);
	udp_app_case(40000, 53, 11, "Ethernet/IPv4/UDP", DECODE_ERR_TRUNCATED, LAYER_DNS);
	udp_app_case(40000, 53, 0, "Ethernet/IPv4/UDP", 0, 0);
	/* destination port first */
	udp_app_case(53, 123, 48, "Ethernet/IPv4/UDP/NTP", 0, 0);
	udp_app_case(123, 53, 48, "Ethernet/IPv4/UDP/DNS", 0, 0);
	udp_app_case(123, 123, 47, "Ethernet/IPv4/UDP", DECODE_ERR_TRUNCATED, LAYER_NTP);
	udp_app_case(68, 67, 240, "Ethernet/IPv4/UDP/DHCPv4", 0, 0);
	udp_app_case(67, 68, 300, "Ethernet/IPv4/UDP/DHCPv4", 0, 0);
	udp_app_case(67, 68, 239, "Ethernet/IPv4/UDP", DECODE_ERR_TRUNCATED, LAYER_DHCPV4);
	udp_app_case(546, 547, 4, "Ethernet/IPv4/UDP/DHCPv6", 0, 0);
	udp_app_case(546, 547, 3, "Ethernet/IPv4/UDP", DECODE_ERR_TRUNCATED, LAYER_DHCPV6);
	udp_app_case(50000, 6343, 28, "Ethernet/IPv4/UDP/SFlow", 0, 0);
	udp_app_case(50000, 6343, 27, "Ethernet/IPv4/UDP", DECODE_ERR_TRUNCATED, LAYER_SFLOW);
	udp_app_case(50000, 443, 100, "Ethernet/IPv4/UDP", 0, 0); /* no TLS over UDP */

	/* DHCPv6 relay messages carry two addresses */
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 547, 547);
	u8(&p, 12);
	fill(&p, 0, 20);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_DHCPV6, 42);
	fill(&p, 0, 13);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP/DHCPv6");

	/* sFlow with an IPv6 agent address */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 17, IP4_A, IP4_B);
	u = udp(&p, 50000, 6343);
	u32(&p, 5);
	u32(&p, 2);
	fill(&p, 0, 30);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_SFLOW, 42);
	fill(&p, 0, 2);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP/SFlow");
}

static void tcp_app_case(uint16_t sport, uint16_t dport, const uint8_t *pl, uint32_t plen,
                         const char *want_path, unsigned err)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 6, IP4_A, IP4_B);
	tcp(&p, sport, dport, 0x18);
	bytes(&p, pl, plen);
	fix_ipv4(&p, ip);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	assert_int_equal(r.err, err);
	assert_path(&r.seg[0], want_path);
	assert_int_equal(r.seg[0].l4, DECODE_L4_TCP);
}

static void test_tcp_apps(void **state)
{
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00};
	static const uint8_t appdata[] = {0x17, 0x03, 0x03, 0x00, 0x20};
	static const uint8_t http[] = "GET / HTTP/1.1\r\n";
	static const uint8_t short_rec[] = {0x16, 0x03, 0x01};
	static const uint8_t dns[14] = {0x00, 0x0c, 0x12, 0x34};
	tcp_app_case(50000, 443, hello, sizeof(hello), "Ethernet/IPv4/TCP/TLS", 0);
	tcp_app_case(443, 50000, appdata, sizeof(appdata), "Ethernet/IPv4/TCP/TLS", 0);
	tcp_app_case(50000, 443, http, sizeof(http) - 1, "Ethernet/IPv4/TCP", 0);
	tcp_app_case(50000, 443, hello, 1, "Ethernet/IPv4/TCP", 0);
	tcp_app_case(50000, 443, short_rec, sizeof(short_rec), "Ethernet/IPv4/TCP",
	             DECODE_ERR_TRUNCATED);
	tcp_app_case(50000, 80, hello, sizeof(hello), "Ethernet/IPv4/TCP", 0);
	tcp_app_case(50000, 53, dns, sizeof(dns), "Ethernet/IPv4/TCP/DNS", 0);
	tcp_app_case(53, 50000, dns, sizeof(dns), "Ethernet/IPv4/TCP/DNS", 0);
}

/* ---- tunnels ---------------------------------------------------------- */

/* Ethernet / 802.1Q / IPv4 / UDP / VXLAN / Ethernet / IPv4 / TCP: 108 bytes. */
static void build_vxlan(struct pk *p, uint16_t sport, uint16_t dport, uint32_t vni)
{
	p->len = 0;
	eth(p, MAC_B, MAC_A, 0x8100);
	vlan(p, 7, 0x0800);
	uint32_t ip = ipv4(p, 17, IP4_A, IP4_B);
	uint32_t u = udp(p, sport, dport);
	vxlan(p, vni);
	eth(p, MAC_D, MAC_C, 0x0800);
	uint32_t ip2 = ipv4(p, 6, IP4_C, IP4_D);
	tcp(p, 33000, 8080, 0x02);
	fix_ipv4(p, ip2);
	fix_udp(p, u);
	fix_ipv4(p, ip);
}

static void test_vxlan(void **state)
{
	struct pk p;
	struct decode_result r;
	static const uint16_t ports[][2] = {{49152, 4789}, {4789, 49152}, {49152, 8472}};
	for (unsigned i = 0; i < 3; i++) {
		build_vxlan(&p, ports[i][0], ports[i][1], 0xabcdef);
		assert_int_equal(p.len, 108);
		assert_int_equal(dec_wire(DECODE_LINKTYPE_ETHERNET, &p, p.len, 1000, &r), 2);
		assert_ok(&r);
		const struct decode_seg *o = &r.seg[0], *in = &r.seg[1];
		assert_path(o, "Ethernet/Dot1Q/IPv4/UDP/VXLAN");
		assert_int_equal(o->offset, 0);
		assert_int_equal(o->length, 1000);
		assert_int_equal(o->tunnel, LAYER_VXLAN);
		assert_int_equal(o->tunnel_id, 0xabcdef);
		assert_int_equal(o->link_id, 7);
		assert_memory_equal(o->eth_src, MAC_A, 6);
		assert_memory_equal(o->ip_src, IP4_A, 4);
		assert_int_equal(o->l4, DECODE_L4_UDP);
		assert_int_equal(o->dport, ports[i][1]);

		assert_path(in, "Ethernet/IPv4/TCP");
		assert_int_equal(in->offset, 54);
		assert_int_equal(in->length, 1000 - 54);
		assert_int_equal(in->has_eth, 1);
		assert_memory_equal(in->eth_src, MAC_C, 6);
		assert_memory_equal(in->eth_dst, MAC_D, 6);
		assert_int_equal(in->nvlan, 0);
		assert_int_equal(in->link_id, 0);
		assert_memory_equal(in->ip_src, IP4_C, 4);
		assert_memory_equal(in->ip_dst, IP4_D, 4);
		assert_int_equal(in->l4, DECODE_L4_TCP);
		assert_int_equal(in->sport, 33000);
		assert_int_equal(in->tunnel, LAYER_NONE);
		assert_int_equal(in->tunnel_id, 0);
	}
}

/* Truncation at every byte of a tunnelled frame. */
static void test_truncation_each_layer(void **state)
{
	struct pk p;
	struct decode_result r;
	build_vxlan(&p, 49152, 4789, 99);
	static const struct {
		uint32_t from; /* first caplen of this range */
		int nseg;
		unsigned layer; /* layer that fails */
		uint32_t off;
		const char *p0, *p1;
	} t[] = {
	    {0, 0, LAYER_ETHERNET, 0, NULL, NULL},
	    {14, 1, LAYER_DOT1Q, 14, "Ethernet", NULL},
	    {18, 1, LAYER_IPV4, 18, "Ethernet/Dot1Q", NULL},
	    {38, 1, LAYER_UDP, 38, "Ethernet/Dot1Q/IPv4", NULL},
	    {46, 1, LAYER_VXLAN, 46, "Ethernet/Dot1Q/IPv4/UDP", NULL},
	    {54, 2, LAYER_ETHERNET, 54, "Ethernet/Dot1Q/IPv4/UDP/VXLAN", ""},
	    {68, 2, LAYER_IPV4, 68, "Ethernet/Dot1Q/IPv4/UDP/VXLAN", "Ethernet"},
	    {88, 2, LAYER_TCP, 88, "Ethernet/Dot1Q/IPv4/UDP/VXLAN", "Ethernet/IPv4"},
	    {108, 2, LAYER_NONE, 0, "Ethernet/Dot1Q/IPv4/UDP/VXLAN", "Ethernet/IPv4/TCP"},
	};
	unsigned k = 0;
	for (uint32_t cap = 0; cap <= p.len; cap++) {
		while (k + 1 < sizeof(t) / sizeof(t[0]) && cap >= t[k + 1].from)
			k++;
		int n = dec_wire(DECODE_LINKTYPE_ETHERNET, &p, cap, p.len, &r);
		assert_int_equal(n, t[k].nseg);
		if (t[k].layer == LAYER_NONE)
			assert_ok(&r);
		else
			assert_err(&r, DECODE_ERR_TRUNCATED, t[k].layer, t[k].off);
		assert_true(r.err_offset <= cap);
		if (n >= 1) {
			assert_path(&r.seg[0], t[k].p0);
			assert_int_equal(r.seg[0].has_eth, 1);
			assert_memory_equal(r.seg[0].eth_src, MAC_A, 6);
			assert_int_equal(r.seg[0].length, 108);
			if (cap >= 18)
				assert_int_equal(r.seg[0].link_id, 7);
			if (cap >= 38) {
				assert_memory_equal(r.seg[0].ip_dst, IP4_B, 4);
				assert_int_equal(r.seg[0].ip_proto, 17);
			}
			if (cap >= 46)
				assert_int_equal(r.seg[0].dport, 4789);
		}
		if (n == 2) {
			assert_path(&r.seg[1], t[k].p1);
			assert_int_equal(r.seg[1].offset, 54);
			assert_int_equal(r.seg[1].length, 54);
			assert_int_equal(r.seg[0].tunnel_id, 99);
			if (cap >= 68)
				assert_memory_equal(r.seg[1].eth_src, MAC_C, 6);
			if (cap >= 88)
				assert_memory_equal(r.seg[1].ip_src, IP4_C, 4);
		}
	}
}

/* Four VXLAN levels: the fourth tunnel has no segment left. */
static void test_too_deep(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	uint32_t ips[5], udps[5];
	for (int i = 0; i < 5; i++) {
		eth(&p, MAC_B, MAC_A, 0x0800);
		ips[i] = ipv4(&p, 17, IP4_A, IP4_B);
		udps[i] = udp(&p, (uint16_t)(1000 + i), 4789);
		vxlan(&p, (uint32_t)(10 + i));
	}
	fill(&p, 0, 20);
	for (int i = 4; i >= 0; i--) {
		fix_udp(&p, udps[i]);
		fix_ipv4(&p, ips[i]);
	}
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), DECODE_MAX_SEGS);
	assert_err(&r, DECODE_ERR_TOO_DEEP, LAYER_VXLAN, 4 * 50);
	for (int i = 0; i < DECODE_MAX_SEGS; i++) {
		assert_path(&r.seg[i], "Ethernet/IPv4/UDP/VXLAN");
		assert_int_equal(r.seg[i].offset, 50u * (unsigned)i);
		assert_int_equal(r.seg[i].length, p.len - 50u * (unsigned)i);
		assert_int_equal(r.seg[i].tunnel_id, 10 + i);
		assert_int_equal(r.seg[i].sport, 1000 + i);
	}
}

static void test_geneve(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 40000, 6081);
	uint32_t g = p.len;
	u8(&p, 2); /* version 0, 2 words of options */
	u8(&p, 0);
	u16(&p, 0x6558);
	u32(&p, 0x123456u << 8);
	u16(&p, 0x0102); /* option class */
	u8(&p, 3);
	u8(&p, 1);
	u32(&p, 0xdeadbeef);
	eth(&p, MAC_D, MAC_C, 0x86dd);
	uint32_t ip6 = ipv6(&p, 17, IP6_A, IP6_B);
	uint32_t u2 = udp(&p, 7, 53);
	fill(&p, 0, 12);
	fix_udp(&p, u2);
	fix_ipv6(&p, ip6);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP/Geneve");
	assert_int_equal(r.seg[0].tunnel, LAYER_GENEVE);
	assert_int_equal(r.seg[0].tunnel_id, 0x123456);
	assert_path(&r.seg[1], "Ethernet/IPv6/UDP/DNS");
	assert_int_equal(r.seg[1].offset, 58);
	assert_int_equal(r.seg[1].length, p.len - 58);
	assert_memory_equal(r.seg[1].eth_src, MAC_C, 6);
	assert_memory_equal(r.seg[1].ip_dst, IP6_B, 16);

	/* options running past the capture */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, g + 12, p.len, &r);
	assert_int_equal(r.nseg, 1);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_GENEVE, g);
	assert_path(&r.seg[0], "Ethernet/IPv4/UDP");

	/* Geneve carrying IPv4 directly */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 17, IP4_A, IP4_B);
	u = udp(&p, 6081, 40000); /* source port fallback */
	u8(&p, 0);
	u8(&p, 0);
	u16(&p, 0x0800);
	u32(&p, 77u << 8);
	uint32_t ip2 = ipv4(&p, 1, IP4_C, IP4_D);
	u8(&p, 8);
	u8(&p, 0);
	u16(&p, 0);
	u16(&p, 0x99);
	u16(&p, 1);
	fix_ipv4(&p, ip2);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_int_equal(r.seg[0].tunnel_id, 77);
	assert_path(&r.seg[1], "IPv4/ICMPv4");
	assert_int_equal(r.seg[1].has_eth, 0);
	assert_int_equal(r.seg[1].icmp_id, 0x99);
	assert_int_equal(r.seg[1].icmp_flow_type, ICMP_ECHO);
	assert_int_equal(r.seg[1].offset, 50);
}

static void test_gre(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	/* checksum + key + sequence, carrying IPv4 */
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 47, IP4_A, IP4_B);
	u8(&p, 0xb0);
	u8(&p, 0);
	u16(&p, 0x0800);
	u32(&p, 0xffff0000); /* checksum + reserved */
	u32(&p, 0x12345678); /* key */
	u32(&p, 9);          /* sequence */
	uint32_t ip2 = ipv4(&p, 1, IP4_C, IP4_D);
	u8(&p, 0);
	u8(&p, 0);
	u16(&p, 0);
	u16(&p, 0x77);
	u16(&p, 2);
	fix_ipv4(&p, ip2);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/GRE");
	assert_int_equal(r.seg[0].tunnel, LAYER_GRE);
	assert_int_equal(r.seg[0].tunnel_id, 0x12345678);
	assert_int_equal(r.seg[0].ip_proto, 47);
	assert_int_equal(r.seg[0].l4, 0);
	assert_path(&r.seg[1], "IPv4/ICMPv4");
	assert_int_equal(r.seg[1].offset, 50);
	assert_int_equal(r.seg[1].length, p.len - 50);
	assert_memory_equal(r.seg[1].ip_src, IP4_C, 4);
	assert_int_equal(r.seg[1].icmp_id, 0x77);
	/* the key is cut */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 34 + 10, p.len, &r);
	assert_int_equal(r.nseg, 1);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_GRE, 34);
	assert_path(&r.seg[0], "Ethernet/IPv4");
	/* the sequence is cut */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 34 + 14, p.len, &r);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_GRE, 34);

	/* no options, transparent Ethernet bridging */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x86dd);
	uint32_t ip6 = ipv6(&p, 47, IP6_A, IP6_B);
	u16(&p, 0);
	u16(&p, 0x6558);
	eth(&p, MAC_D, MAC_C, 0x0806);
	u16(&p, 1);
	u16(&p, 0x0800);
	u8(&p, 6);
	u8(&p, 4);
	u16(&p, 2);
	fill(&p, 0, 20);
	fix_ipv6(&p, ip6);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv6/GRE");
	assert_int_equal(r.seg[0].tunnel_id, 0);
	assert_path(&r.seg[1], "Ethernet/ARP");
	assert_int_equal(r.seg[1].offset, 14 + 40 + 4);
	assert_memory_equal(r.seg[1].eth_src, MAC_C, 6);

	/* RFC 1701 routing: one source route entry then the null entry */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 47, IP4_A, IP4_B);
	u8(&p, 0x40);
	u8(&p, 0);
	u16(&p, 0x0800);
	u32(&p, 0);
	u16(&p, 0x0800);
	u8(&p, 0);
	u8(&p, 4);
	bytes(&p, IP4_C, 4);
	u32(&p, 0);
	ip2 = ipv4(&p, 17, IP4_C, IP4_D);
	uint32_t u = udp(&p, 1, 2);
	fix_udp(&p, u);
	fix_ipv4(&p, ip2);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[1], "IPv4/UDP");
	assert_int_equal(r.seg[1].offset, 34 + 20);

	/* unknown protocol (PPP): the inner segment is empty */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 47, IP4_A, IP4_B);
	u8(&p, 0x30);
	u8(&p, 0x81); /* ack present, version 1 */
	u16(&p, 0x880b);
	u32(&p, 0x00100020);
	u32(&p, 1);
	u32(&p, 2);
	fill(&p, 0xff, 16);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_int_equal(r.seg[0].tunnel_id, 0x00100020);
	assert_int_equal(r.seg[1].nlayers, 0);
	assert_int_equal(r.seg[1].offset, 34 + 16);
	assert_int_equal(r.seg[1].ip_ver, 0);
}

static void test_gre_mpls_erspan(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	/* GRE with key carrying two MPLS labels and IPv4 */
	eth(&p, MAC_B, MAC_A, 0x0800);
	uint32_t ip = ipv4(&p, 47, IP4_A, IP4_B);
	u8(&p, 0x20);
	u8(&p, 0);
	u16(&p, 0x8847);
	u32(&p, 555);
	u32(&p, (16u << 12) | 64);         /* label 16 */
	u32(&p, (17u << 12) | 0x100 | 64); /* label 17, bottom of stack */
	uint32_t ip2 = ipv4(&p, 6, IP4_C, IP4_D);
	tcp(&p, 1, 179, 0x02);
	fix_ipv4(&p, ip2);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/GRE/MPLS/MPLS");
	assert_int_equal(r.seg[0].tunnel, LAYER_GRE);
	assert_int_equal(r.seg[0].tunnel_id, 555);
	assert_path(&r.seg[1], "IPv4/TCP");
	assert_int_equal(r.seg[1].offset, 34 + 8 + 8);
	assert_int_equal(r.seg[1].dport, 179);

	/* GRE + ERSPAN II: ERSPAN belongs to the outer segment */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 47, IP4_A, IP4_B);
	u8(&p, 0x10);
	u8(&p, 0);
	u16(&p, 0x88be);
	u32(&p, 42);         /* sequence */
	u32(&p, 0x10640001); /* version 1, vlan 100, session 1 */
	u32(&p, 0);
	eth(&p, MAC_D, MAC_C, 0x0800);
	ip2 = ipv4(&p, 6, IP4_C, IP4_D);
	tcp(&p, 2, 3, 0x10);
	fix_ipv4(&p, ip2);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/IPv4/GRE/ERSPANII");
	assert_int_equal(r.seg[0].tunnel, LAYER_GRE);
	assert_int_equal(r.seg[0].tunnel_id, 0);
	assert_path(&r.seg[1], "Ethernet/IPv4/TCP");
	assert_int_equal(r.seg[1].offset, 34 + 8 + 8);
	assert_memory_equal(r.seg[1].eth_dst, MAC_D, 6);
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 34 + 8 + 7, p.len, &r);
	assert_int_equal(r.nseg, 1);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_ERSPAN2, 42);
	assert_path(&r.seg[0], "Ethernet/IPv4/GRE");
}

static void test_mpls(void **state)
{
	struct pk p = {0};
	struct decode_result r;
	eth(&p, MAC_B, MAC_A, 0x8847);
	u32(&p, (100u << 12) | 255);
	u32(&p, (200u << 12) | 0x100 | 255);
	uint32_t ip = ipv4(&p, 17, IP4_A, IP4_B);
	uint32_t u = udp(&p, 1, 2);
	fix_udp(&p, u);
	fix_ipv4(&p, ip);
	assert_int_equal(dec_wire(DECODE_LINKTYPE_ETHERNET, &p, p.len, 200, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/MPLS/MPLS");
	assert_int_equal(r.seg[0].tunnel, LAYER_MPLS);
	assert_int_equal(r.seg[0].tunnel_id, 0);
	assert_int_equal(r.seg[0].ip_ver, 0);
	assert_path(&r.seg[1], "IPv4/UDP");
	assert_int_equal(r.seg[1].offset, 22);
	assert_int_equal(r.seg[1].length, 200 - 22);

	/* stack cut before its bottom */
	dec_wire(DECODE_LINKTYPE_ETHERNET, &p, 20, p.len, &r);
	assert_int_equal(r.nseg, 1);
	assert_err(&r, DECODE_ERR_TRUNCATED, LAYER_MPLS, 18);
	assert_path(&r.seg[0], "Ethernet/MPLS");

	/* Ethernet over MPLS (pseudowire), IPv6 over MPLS */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x8848);
	u32(&p, (300u << 12) | 0x100 | 1);
	eth(&p, MAC_D, MAC_C, 0x86dd);
	uint32_t ip6 = ipv6(&p, 59, IP6_A, IP6_B);
	fix_ipv6(&p, ip6);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_path(&r.seg[0], "Ethernet/MPLS");
	assert_path(&r.seg[1], "Ethernet/IPv6");
	assert_memory_equal(r.seg[1].eth_src, MAC_C, 6);
	assert_int_equal(r.seg[1].ip_ver, 6);
	assert_int_equal(r.seg[1].ip_proto, 59);

	/* a short payload that is not IP: unknown, no error */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x8847);
	u32(&p, (300u << 12) | 0x100 | 1);
	fill(&p, 0, 13);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_ok(&r);
	assert_int_equal(r.seg[1].nlayers, 0);
	assert_int_equal(r.seg[1].offset, 18);

	/* MPLS in IP (protocol 137) */
	p.len = 0;
	eth(&p, MAC_B, MAC_A, 0x0800);
	ip = ipv4(&p, 137, IP4_A, IP4_B);
	u32(&p, (300u << 12) | 0x100 | 1);
	uint32_t ip2 = ipv4(&p, 17, IP4_C, IP4_D);
	u = udp(&p, 5, 6);
	fix_udp(&p, u);
	fix_ipv4(&p, ip2);
	fix_ipv4(&p, ip);
	assert_int_equal(dec(DECODE_LINKTYPE_ETHERNET, &p, &r), 2);
	assert_path(&r.seg[0], "Ethernet/IPv4/MPLS");
	assert_path(&r.seg[1], "IPv4/UDP");
	assert_memory_equal(r.seg[1].ip_src, IP4_C, 4);
}

/* The result needs no clearing: unused fields come out zero. */
static void test_result_is_filled(void **state)
{
	struct pk p;
	struct decode_result r;
	build_vxlan(&p, 1, 4789, 5);
	dec(DECODE_LINKTYPE_ETHERNET, &p, &r);
	const struct decode_seg *in = &r.seg[1];
	assert_int_equal(in->is_fragment, 0);
	assert_int_equal(in->icmp_ver, 0);
	assert_int_equal(in->icmp_type, 0);
	assert_int_equal(in->icmp_code, 0);
	assert_int_equal(in->icmp_flow_type, 0);
	assert_int_equal(in->icmp_id, 0);
	static const uint8_t zero[12];
	assert_memory_equal(in->ip_src + 4, zero, 12);
	for (unsigned i = in->nlayers; i < DECODE_MAX_LAYERS; i++)
		assert_int_equal(in->layers[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_eth_ipv4_tcp),
	    cmocka_unit_test(test_eth_ipv4_udp_unknown_port),
	    cmocka_unit_test(test_ethernet_padding),
	    cmocka_unit_test(test_ipv4_options),
	    cmocka_unit_test(test_ipv4_malformed),
	    cmocka_unit_test(test_ipv4_tso_zero_length),
	    cmocka_unit_test(test_ipv4_fragments),
	    cmocka_unit_test(test_boundaries),
	    cmocka_unit_test(test_ipv6_ext_headers),
	    cmocka_unit_test(test_ipv6_fragments),
	    cmocka_unit_test(test_ipv6_malformed_and_jumbo),
	    cmocka_unit_test(test_ip_in_ip),
	    cmocka_unit_test(test_icmpv4),
	    cmocka_unit_test(test_icmpv6),
	    cmocka_unit_test(test_vlan),
	    cmocka_unit_test(test_many_vlans),
	    cmocka_unit_test(test_arp_llc_lldp),
	    cmocka_unit_test(test_truncated_ethernet),
	    cmocka_unit_test(test_linux_sll),
	    cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_raw_ip_linktypes),
	    cmocka_unit_test(test_tcp_udp_malformed),
	    cmocka_unit_test(test_sctp),
	    cmocka_unit_test(test_igmp_vrrp),
	    cmocka_unit_test(test_udp_apps),
	    cmocka_unit_test(test_tcp_apps),
	    cmocka_unit_test(test_vxlan),
	    cmocka_unit_test(test_truncation_each_layer),
	    cmocka_unit_test(test_too_deep),
	    cmocka_unit_test(test_geneve),
	    cmocka_unit_test(test_gre),
	    cmocka_unit_test(test_gre_mpls_erspan),
	    cmocka_unit_test(test_mpls),
	    cmocka_unit_test(test_result_is_filled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
