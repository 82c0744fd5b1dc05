/* link.c - link-level decoders: Ethernet, Linux cooked (SLL, SLL2), BSD
 * loopback, 802.1Q / 802.1ad tags, ARP, LLC, LLDP and MPLS label stacks. */
#include "decode_int.h"

unsigned dec_ethernet(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 14))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_ETHERNET, off);
	struct decode_seg *s = c->seg;
	push(c, LAYER_ETHERNET);
	/* Skydive's Link layer is the segment's first Ethernet header. */
	if (!s->has_eth) {
		s->has_eth = 1;
		rdcopy(c, off, s->eth_dst, 6);
		rdcopy(c, off + 6, s->eth_src, 6);
	}
	uint16_t type = rd16(c, off + 12);
	*offp = off + 14;
	if (type < 0x0600) {
		/* 802.3: a length, then an LLC header. */
		narrow(c, off + 14, type);
		return LAYER_LLC;
	}
	return ethertype_next(type);
}

unsigned dec_linux_sll(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 16))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_LINUX_SLL, off);
	*offp = off + 16;
	return ethertype_next(rd16(c, off + 14));
}

unsigned dec_linux_sll2(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 20))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_LINUX_SLL2, off);
	*offp = off + 20;
	return ethertype_next(rd16(c, off));
}

unsigned dec_loopback(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 4))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_LOOPBACK, off);
	/* The family is in the capturing host's byte order (DLT_NULL) or in
	 * network order (DLT_LOOP); it is small, so like gopacket read it big
	 * endian when the first two bytes are zero. */
	uint32_t v = rd32(c, off);
	uint32_t fam = (v >> 16) == 0 ? v : __builtin_bswap32(v);
	if (fam > 0xff)
		return dfail(c, DECODE_ERR_MALFORMED, LAYER_LOOPBACK, off);
	*offp = off + 4;
	switch (fam) {
	case 2:
		return LAYER_IPV4;
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* Darwin */
		return LAYER_IPV6;
	}
	return LAYER_NONE;
}

unsigned dec_dot1q(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 4))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_DOT1Q, off);
	struct decode_seg *s = c->seg;
	push(c, LAYER_DOT1Q);
	uint64_t vid = rd16(c, off) & 0x0fff;
	/* Skydive folds from the innermost tag: id = id << 12 | vid, so the
	 * n-th tag from the outside lands at bit 12 * n (beyond 64 bits it
	 * falls off, as with Go's shifts). */
	if (s->nvlan < 6)
		s->link_id |= vid << (12 * s->nvlan);
	if (s->nvlan < 255)
		s->nvlan++;
	*offp = off + 4;
	return ethertype_next(rd16(c, off + 2));
}

unsigned dec_arp(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_ARP, off);
	uint32_t addrs = 2u * ((uint32_t)rd8(c, off + 4) + rd8(c, off + 5));
	if (!have(c, off, 8 + addrs))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_ARP, off);
	push(c, LAYER_ARP);
	*offp = off + 8 + addrs;
	return LAYER_NONE;
}

unsigned dec_llc(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 3))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_LLC, off);
	uint8_t ctl = rd8(c, off + 2);
	/* I and S frames have a two-byte control field. */
	uint32_t len = ((ctl & 1) == 0 || (ctl & 3) == 1) ? 4 : 3;
	if (!have(c, off, len))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_LLC, off);
	push(c, LAYER_LLC);
	*offp = off + len;
	return LAYER_NONE;
}

unsigned dec_lldp(struct dctx *c, uint32_t *offp)
{
	/* Only its presence matters for the path. */
	push(c, LAYER_LLDP);
	*offp = c->end;
	return LAYER_NONE;
}

/* One label per call: the dispatch loop comes back here until the
 * bottom-of-stack label, after which the segment is split once. */
unsigned dec_mpls(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 4))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_MPLS, off);
	push(c, LAYER_MPLS);
	uint32_t label = rd32(c, off);
	off += 4;
	*offp = off;
	if (!(label & 0x100))
		return LAYER_MPLS;

	/* MPLS does not say what it carries: guess like Skydive, IP from the
	 * version nibble, else Ethernet if a header's worth of bytes is left. */
	unsigned next = LAYER_NONE;
	if (off < c->end) {
		uint8_t nib = rd8(c, off) >> 4;
		if (nib == 4)
			next = LAYER_IPV4;
		else if (nib == 6)
			next = LAYER_IPV6;
		else if (c->end - off >= 14)
			next = LAYER_ETHERNET;
	}
	/* MPLS in GRE keeps the GRE as the segment's tunnel. */
	if (!c->seg->tunnel)
		c->seg->tunnel = LAYER_MPLS;
	return dsplit(c, off, next);
}
