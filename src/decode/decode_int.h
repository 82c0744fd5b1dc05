/* decode_int.h - private to src/decode: the decoding cursor, bounds-checked
 * big-endian readers and the per-layer decoder prototypes shared by the files
 * of each protocol family. */
#ifndef SKYDIVE_DECODE_INT_H
#define SKYDIVE_DECODE_INT_H

#include <stdint.h>
#include <string.h>

#include "decode.h"

/* Decoding state of one frame. Invariant: end <= caplen. */
struct dctx {
	const uint8_t *data;
	uint32_t caplen;
	uint32_t end;       /* end of the innermost length-delimited container */
	uint32_t outer_len; /* length of segment 0, inner lengths derive from it */
	uint8_t cut;        /* end is where the capture stopped, not where a length
	                       field said: a missing next header is a truncation */
	uint8_t ip6_chain;  /* the IPv6 header being walked is the segment's
	                       network layer, so its extension headers set ip_proto */
	struct decode_result *out;
	struct decode_seg *seg;
};

/* Each reader checks against caplen itself, so a logic slip in a decoder can
 * give a wrong value but never an out-of-bounds read. */
static inline uint8_t rd8(const struct dctx *c, uint32_t off)
{
	return off < c->caplen ? c->data[off] : 0;
}

static inline uint16_t rd16(const struct dctx *c, uint32_t off)
{
	if (off > c->caplen || c->caplen - off < 2)
		return 0;
	const uint8_t *p = c->data + off;
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const struct dctx *c, uint32_t off)
{
	if (off > c->caplen || c->caplen - off < 4)
		return 0;
	const uint8_t *p = c->data + off;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void rdcopy(const struct dctx *c, uint32_t off, uint8_t *dst, uint32_t n)
{
	if (off <= c->caplen && c->caplen - off >= n)
		memcpy(dst, c->data + off, n);
}

/* n bytes from off fit in the current container. */
static inline int have(const struct dctx *c, uint32_t off, uint32_t n)
{
	return off <= c->end && c->end - off >= n;
}

/* A header at off says its container is len bytes long: shrink end to it
 * (dropping Ethernet padding), or note that the capture cut it short. */
static inline void narrow(struct dctx *c, uint32_t off, uint32_t len)
{
	if (off <= c->end && len <= c->end - off) {
		c->end = off + len;
		c->cut = 0;
	} else {
		c->cut = 1;
	}
}

/* Appends a layer to the segment's path; a path deeper than
 * DECODE_MAX_LAYERS keeps its first layers (decoding itself goes on). */
static inline void push(struct dctx *c, unsigned layer)
{
	struct decode_seg *s = c->seg;
	if (s->nlayers < DECODE_MAX_LAYERS)
		s->layers[s->nlayers++] = (uint8_t)layer;
}

/* Records why decoding stopped; returns LAYER_NONE so decoders can
 * `return dfail(...)`. */
unsigned dfail(struct dctx *c, unsigned err, unsigned layer, uint32_t off);

/* Ends the current segment after a tunnel header and opens the next one at
 * off. Returns next, or LAYER_NONE (err TOO_DEEP) when out of segments. */
unsigned dsplit(struct dctx *c, uint32_t off, unsigned next);

/* Layer carried by an EtherType (also used by GRE, Geneve, SLL). */
static inline unsigned ethertype_next(uint16_t type)
{
	switch (type) {
	case 0x0800:
		return LAYER_IPV4;
	case 0x86dd:
		return LAYER_IPV6;
	case 0x0806:
		return LAYER_ARP;
	case 0x8100: /* 802.1Q */
	case 0x88a8: /* 802.1ad */
	case 0x9100: /* pre-standard QinQ */
		return LAYER_DOT1Q;
	case 0x8847: /* MPLS unicast */
	case 0x8848: /* MPLS multicast */
		return LAYER_MPLS;
	case 0x88cc:
		return LAYER_LLDP;
	case 0x6558: /* transparent Ethernet bridging (GRE, Geneve) */
		return LAYER_ETHERNET;
	case 0x88be:
		return LAYER_ERSPAN2;
	}
	return LAYER_NONE;
}

/* Layer carried by an IPv4 protocol / the last IPv6 next header. */
static inline unsigned ip_next(uint8_t proto)
{
	switch (proto) {
	case 1:
		return LAYER_ICMPV4;
	case 2:
		return LAYER_IGMP;
	case 4:
		return LAYER_IPV4;
	case 6:
		return LAYER_TCP;
	case 17:
		return LAYER_UDP;
	case 41:
		return LAYER_IPV6;
	case 47:
		return LAYER_GRE;
	case 58:
		return LAYER_ICMPV6;
	case 112:
		return LAYER_VRRPV2;
	case 132:
		return LAYER_SCTP;
	case 137: /* MPLS in IP */
		return LAYER_MPLS;
	}
	return LAYER_NONE;
}

/* Same, with the IPv6 extension headers. */
static inline unsigned ip6_next(uint8_t nh)
{
	switch (nh) {
	case 0:
		return LAYER_IPV6_HOPBYHOP;
	case 43:
		return LAYER_IPV6_ROUTING;
	case 44:
		return LAYER_IPV6_FRAGMENT;
	case 60:
		return LAYER_IPV6_DESTINATION;
	}
	return ip_next(nh);
}

/* Decoders: *off is the first byte of the layer's header; on success they
 * move it past the header and return the next layer to decode (LAYER_NONE:
 * the path ends here). */
unsigned dec_ethernet(struct dctx *c, uint32_t *off);
unsigned dec_linux_sll(struct dctx *c, uint32_t *off);
unsigned dec_linux_sll2(struct dctx *c, uint32_t *off);
unsigned dec_loopback(struct dctx *c, uint32_t *off);
unsigned dec_dot1q(struct dctx *c, uint32_t *off);
unsigned dec_arp(struct dctx *c, uint32_t *off);
unsigned dec_llc(struct dctx *c, uint32_t *off);
unsigned dec_lldp(struct dctx *c, uint32_t *off);
unsigned dec_mpls(struct dctx *c, uint32_t *off);

unsigned dec_ipv4(struct dctx *c, uint32_t *off);
unsigned dec_ipv6(struct dctx *c, uint32_t *off);
unsigned dec_ipv6_ext(struct dctx *c, uint32_t *off, unsigned layer);
unsigned dec_ipv6_fragment(struct dctx *c, uint32_t *off);
unsigned dec_fragment(struct dctx *c, uint32_t *off);

unsigned dec_tcp(struct dctx *c, uint32_t *off);
unsigned dec_udp(struct dctx *c, uint32_t *off);
unsigned dec_sctp(struct dctx *c, uint32_t *off);
unsigned dec_sctp_chunk(struct dctx *c, uint32_t *off);
unsigned dec_icmpv4(struct dctx *c, uint32_t *off);
unsigned dec_icmpv6(struct dctx *c, uint32_t *off);
unsigned dec_icmpv6_sub(struct dctx *c, uint32_t *off, unsigned layer);
unsigned dec_igmp(struct dctx *c, uint32_t *off);
unsigned dec_vrrp(struct dctx *c, uint32_t *off);

unsigned dec_gre(struct dctx *c, uint32_t *off);
unsigned dec_erspan2(struct dctx *c, uint32_t *off);
unsigned dec_vxlan(struct dctx *c, uint32_t *off);
unsigned dec_geneve(struct dctx *c, uint32_t *off);

/* Skydive's ICMP type enum of a wire type; the ICMPv6 message layer of a
 * type (LAYER_NONE: none). */
uint8_t icmpv4_flow_type(uint8_t type);
uint8_t icmpv6_flow_type(uint8_t type);
unsigned icmpv6_sub_layer(uint8_t type);

unsigned udp_app(uint16_t sport, uint16_t dport);
unsigned tcp_app(uint16_t sport, uint16_t dport);
unsigned dec_app(struct dctx *c, uint32_t *off, unsigned layer);

/* SCTP's first chunk is decoded under this id, then recorded as its type. */
#define LAYER_SCTP_CHUNK LAYER_SCTP_UNKNOWN_CHUNK

#endif
