/* transport.c - transport and control decoders: TCP, UDP, SCTP (one layer per
 * chunk), ICMPv4, ICMPv6 and its message layers, IGMP, VRRPv2. */
#include "decode_int.h"

unsigned dec_tcp(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 20))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_TCP, off);
	uint32_t doff = (uint32_t)(rd8(c, off + 12) >> 4) * 4;
	if (doff < 20)
		return dfail(c, DECODE_ERR_MALFORMED, LAYER_TCP, off);
	if (!have(c, off, doff))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_TCP, off);
	struct decode_seg *s = c->seg;
	push(c, LAYER_TCP);
	uint16_t sport = rd16(c, off), dport = rd16(c, off + 2);
	/* Skydive's transport layer: the first UDP, else TCP, else SCTP. */
	if (s->l4 == DECODE_L4_NONE || s->l4 == DECODE_L4_SCTP) {
		s->l4 = DECODE_L4_TCP;
		s->sport = sport;
		s->dport = dport;
		s->tcp_flags = rd8(c, off + 13) & 0x1f;
		s->tcp_off = off;
		s->tcp_end = c->end;
	}
	off += doff;
	*offp = off;
	if (off >= c->end)
		return LAYER_NONE;
	return tcp_app(sport, dport);
}

unsigned dec_udp(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_UDP, off);
	uint16_t len = rd16(c, off + 4);
	/* 0 is a jumbogram's (the rest of the packet), 1..7 cannot be. */
	if (len && len < 8)
		return dfail(c, DECODE_ERR_MALFORMED, LAYER_UDP, off);
	struct decode_seg *s = c->seg;
	push(c, LAYER_UDP);
	uint16_t sport = rd16(c, off), dport = rd16(c, off + 2);
	if (s->l4 != DECODE_L4_UDP) {
		s->l4 = DECODE_L4_UDP;
		s->sport = sport;
		s->dport = dport;
		s->tcp_flags = 0;
	}
	if (len)
		narrow(c, off, len);
	off += 8;
	*offp = off;
	unsigned app = udp_app(sport, dport);
	/* An application needs a payload; a tunnel whose header the capture
	 * cut is a truncation, which the dispatch loop reports. */
	if (off >= c->end && app != LAYER_VXLAN && app != LAYER_GENEVE)
		return LAYER_NONE;
	return app;
}

unsigned dec_sctp(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 12))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_SCTP, off);
	struct decode_seg *s = c->seg;
	push(c, LAYER_SCTP);
	if (s->l4 == DECODE_L4_NONE) {
		s->l4 = DECODE_L4_SCTP;
		s->sport = rd16(c, off);
		s->dport = rd16(c, off + 2);
	}
	*offp = off + 12;
	return LAYER_SCTP_CHUNK;
}

static unsigned sctp_chunk_layer(uint8_t type)
{
	switch (type) {
	case 0:
		return LAYER_SCTP_DATA;
	case 1:
		return LAYER_SCTP_INIT;
	case 2:
		return LAYER_SCTP_INIT_ACK;
	case 3:
		return LAYER_SCTP_SACK;
	case 4:
		return LAYER_SCTP_HEARTBEAT;
	case 5:
		return LAYER_SCTP_HEARTBEAT_ACK;
	case 6:
		return LAYER_SCTP_ABORT;
	case 7:
		return LAYER_SCTP_SHUTDOWN;
	case 8:
		return LAYER_SCTP_SHUTDOWN_ACK;
	case 9:
		return LAYER_SCTP_ERROR;
	case 10:
		return LAYER_SCTP_COOKIE_ECHO;
	case 11:
		return LAYER_SCTP_COOKIE_ACK;
	case 14:
		return LAYER_SCTP_SHUTDOWN_COMPLETE;
	}
	return LAYER_SCTP_UNKNOWN_CHUNK;
}

/* One layer per chunk, as gopacket: chunks follow each other (4-byte
 * aligned) until the end of the packet; what follows a DATA chunk is user
 * data, so the path ends there. */
unsigned dec_sctp_chunk(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	unsigned layer = sctp_chunk_layer(rd8(c, off));
	if (!have(c, off, 4))
		return dfail(c, DECODE_ERR_TRUNCATED, layer, off);
	uint16_t len = rd16(c, off + 2);
	if (len < 4)
		return dfail(c, DECODE_ERR_MALFORMED, layer, off);
	if (!have(c, off, len))
		return dfail(c, DECODE_ERR_TRUNCATED, layer, off);
	push(c, layer);
	uint32_t next = off + (((uint32_t)len + 3u) & ~3u);
	*offp = next;
	if (layer == LAYER_SCTP_DATA || !have(c, next, 4))
		return LAYER_NONE;
	return LAYER_SCTP_CHUNK;
}

uint8_t icmpv4_flow_type(uint8_t type)
{
	switch (type) {
	case 0:
	case 8:
		return ICMP_ECHO;
	case 3:
		return ICMP_DESTINATION_UNREACHABLE;
	case 4:
		return ICMP_SOURCE_QUENCH;
	case 5:
		return ICMP_REDIRECT;
	case 9:
	case 10:
		return ICMP_ROUTER;
	case 11:
		return ICMP_TIME_EXCEEDED;
	case 12:
		return ICMP_PARAMETER_PROBLEM;
	case 13:
	case 14:
		return ICMP_TIMESTAMP;
	case 15:
	case 16:
		return ICMP_INFO;
	case 17:
	case 18:
		return ICMP_ADDRESS_MASK;
	}
	return ICMP_UNKNOWN;
}

uint8_t icmpv6_flow_type(uint8_t type)
{
	switch (type) {
	case 1:
		return ICMP_DESTINATION_UNREACHABLE;
	case 2:
		return ICMP_PACKET_TOO_BIG;
	case 3:
		return ICMP_TIME_EXCEEDED;
	case 4:
		return ICMP_PARAMETER_PROBLEM;
	case 128:
	case 129:
		return ICMP_ECHO;
	case 133:
	case 134:
		return ICMP_ROUTER;
	case 135:
	case 136:
		return ICMP_NEIGHBOR;
	case 137:
		return ICMP_REDIRECT;
	}
	return ICMP_UNKNOWN;
}

unsigned dec_icmpv4(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_ICMPV4, off);
	struct decode_seg *s = c->seg;
	push(c, LAYER_ICMPV4);
	/* The segment's ICMP is its first ICMPv4, else its first ICMPv6. */
	if (s->icmp_ver != 4) {
		s->icmp_ver = 4;
		s->icmp_type = rd8(c, off);
		s->icmp_code = rd8(c, off + 1);
		s->icmp_flow_type = icmpv4_flow_type(s->icmp_type);
		/* gopacket reads the identifier whatever the type. */
		s->icmp_id = rd16(c, off + 4);
	}
	*offp = off + 8;
	return LAYER_NONE;
}

unsigned icmpv6_sub_layer(uint8_t type)
{
	switch (type) {
	case 128:
	case 129:
		return LAYER_ICMPV6_ECHO;
	case 133:
		return LAYER_ICMPV6_ROUTER_SOLICITATION;
	case 134:
		return LAYER_ICMPV6_ROUTER_ADVERTISEMENT;
	case 135:
		return LAYER_ICMPV6_NEIGHBOR_SOLICITATION;
	case 136:
		return LAYER_ICMPV6_NEIGHBOR_ADVERTISEMENT;
	case 137:
		return LAYER_ICMPV6_REDIRECT;
	}
	return LAYER_NONE;
}

unsigned dec_icmpv6(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 4))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_ICMPV6, off);
	struct decode_seg *s = c->seg;
	push(c, LAYER_ICMPV6);
	uint8_t type = rd8(c, off);
	if (s->icmp_ver == 0) {
		s->icmp_ver = 6;
		s->icmp_type = type;
		s->icmp_code = rd8(c, off + 1);
		s->icmp_flow_type = icmpv6_flow_type(type);
		s->icmp_id = 0;
	}
	*offp = off + 4;
	return icmpv6_sub_layer(type);
}

/* The ICMPv6 message bodies gopacket decodes, by their fixed part. */
unsigned dec_icmpv6_sub(struct dctx *c, uint32_t *offp, unsigned layer)
{
	uint32_t off = *offp, min;
	switch (layer) {
	case LAYER_ICMPV6_ROUTER_ADVERTISEMENT:
		min = 12; /* hop limit, flags, lifetime, reachable, retrans */
		break;
	case LAYER_ICMPV6_NEIGHBOR_SOLICITATION:
	case LAYER_ICMPV6_NEIGHBOR_ADVERTISEMENT:
		min = 20; /* reserved / flags, target address */
		break;
	case LAYER_ICMPV6_REDIRECT:
		min = 36; /* reserved, target and destination addresses */
		break;
	default:
		min = 4; /* echo identifier + sequence, solicitation reserved */
		break;
	}
	if (!have(c, off, min))
		return dfail(c, DECODE_ERR_TRUNCATED, layer, off);
	push(c, layer);
	struct decode_seg *s = c->seg;
	if (layer == LAYER_ICMPV6_ECHO && s->icmp_ver == 6)
		s->icmp_id = rd16(c, off);
	*offp = off + min;
	return LAYER_NONE;
}

unsigned dec_igmp(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_IGMP, off);
	push(c, LAYER_IGMP);
	*offp = off + 8;
	return LAYER_NONE;
}

unsigned dec_vrrp(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_VRRPV2, off);
	/* gopacket's VRRPv2 decoder takes any version (a VRRPv3 advert too):
	 * type 1 with at least one address, 4 bytes per address */
	uint8_t n = rd8(c, off + 3);
	if ((rd8(c, off) & 0x0f) != 1 || n == 0)
		return dfail(c, DECODE_ERR_MALFORMED, LAYER_VRRPV2, off);
	if (!have(c, off, 8u + 4u * n))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_VRRPV2, off);
	push(c, LAYER_VRRPV2);
	c->seg->app = LAYER_VRRPV2;
	c->seg->app_off = off;
	c->seg->app_len = c->end - off;
	*offp = off + 8;
	return LAYER_NONE;
}
