/* ip.c - network decoders: IPv4 (options, fragments), IPv6 and its
 * extension headers (hop-by-hop, routing, fragment, destination). */
#include "decode_int.h"

unsigned dec_ipv4(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 20))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_IPV4, off);
	uint8_t vihl = rd8(c, off);
	uint32_t ihl = (uint32_t)(vihl & 0x0f) * 4;
	uint32_t total = rd16(c, off + 2);
	/* A zero total length comes from TCP segmentation offload: the
	 * payload is whatever was captured (as gopacket does). */
	int tso = total == 0;
	if (tso)
		total = c->end - off;
	if ((vihl >> 4) != 4 || ihl < 20 || total < ihl)
		return dfail(c, DECODE_ERR_MALFORMED, LAYER_IPV4, off);
	if (!have(c, off, ihl))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_IPV4, off);

	struct decode_seg *s = c->seg;
	push(c, LAYER_IPV4);
	uint8_t proto = rd8(c, off + 9);
	/* The segment's network layer is its first IPv4, else its first IPv6. */
	if (s->ip_ver != 4) {
		s->ip_ver = 4;
		rdcopy(c, off + 12, s->ip_src, 4);
		rdcopy(c, off + 16, s->ip_dst, 4);
		memset(s->ip_src + 4, 0, 12);
		memset(s->ip_dst + 4, 0, 12);
		s->ttl = rd8(c, off + 8);
		s->ip_proto = proto;
		s->ip_off = off;
		c->ip6_chain = 0;
	}
	/* The payload ends at the total length: Ethernet padding is not data. */
	if (!tso)
		narrow(c, off, total);
	*offp = off + ihl;
	if (rd16(c, off + 6) & 0x3fff) { /* MF or a fragment offset */
		s->is_fragment = 1;
		return LAYER_FRAGMENT;
	}
	return ip_next(proto);
}

unsigned dec_ipv6(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 40))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_IPV6, off);
	if ((rd8(c, off) >> 4) != 6)
		return dfail(c, DECODE_ERR_MALFORMED, LAYER_IPV6, off);

	struct decode_seg *s = c->seg;
	push(c, LAYER_IPV6);
	uint8_t nh = rd8(c, off + 6);
	c->ip6_chain = s->ip_ver == 0;
	if (c->ip6_chain) {
		s->ip_ver = 6;
		rdcopy(c, off + 8, s->ip_src, 16);
		rdcopy(c, off + 24, s->ip_dst, 16);
		s->ttl = rd8(c, off + 7);
		s->ip_proto = nh;
		s->ip_off = off;
	}
	uint32_t plen = rd16(c, off + 4);
	/* A zero payload length is a jumbogram or an offloaded segment: the
	 * payload is whatever was captured. */
	if (plen)
		narrow(c, off + 40, plen);
	*offp = off + 40;
	return ip6_next(nh);
}

/* Hop-by-hop, routing and destination options share one layout. */
unsigned dec_ipv6_ext(struct dctx *c, uint32_t *offp, unsigned layer)
{
	uint32_t off = *offp;
	if (!have(c, off, 2))
		return dfail(c, DECODE_ERR_TRUNCATED, layer, off);
	uint32_t len = ((uint32_t)rd8(c, off + 1) + 1) * 8;
	if (!have(c, off, len))
		return dfail(c, DECODE_ERR_TRUNCATED, layer, off);
	push(c, layer);
	uint8_t nh = rd8(c, off);
	if (c->ip6_chain)
		c->seg->ip_proto = nh;
	*offp = off + len;
	return ip6_next(nh);
}

unsigned dec_ipv6_fragment(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_IPV6_FRAGMENT, off);
	push(c, LAYER_IPV6_FRAGMENT);
	uint8_t nh = rd8(c, off);
	uint16_t fo = rd16(c, off + 2);
	if (c->ip6_chain) {
		c->seg->ip_proto = nh;
		c->seg->ip6_frag_off = off;
	}
	*offp = off + 8;
	/* An atomic fragment (offset 0, no MF) is a whole packet. */
	if ((fo >> 3) || (fo & 1)) {
		c->seg->is_fragment = 1;
		return LAYER_FRAGMENT;
	}
	return ip6_next(nh);
}

unsigned dec_fragment(struct dctx *c, uint32_t *offp)
{
	push(c, LAYER_FRAGMENT);
	*offp = c->end;
	return LAYER_NONE;
}
