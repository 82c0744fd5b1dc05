/* tunnel.c - tunnel decoders: GRE (checksum, key, sequence, routing, ack),
 * ERSPAN II, VXLAN and Geneve. Each ends the current segment. */
#include "decode_int.h"

unsigned dec_gre(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 4))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_GRE, off);
	uint8_t f0 = rd8(c, off), f1 = rd8(c, off + 1);
	uint16_t proto = rd16(c, off + 2);
	uint32_t hl = 4, key = 0;
	if (f0 & 0xc0) /* checksum or routing: checksum + offset words */
		hl += 4;
	if (f0 & 0x20) { /* key */
		if (!have(c, off, hl + 4))
			return dfail(c, DECODE_ERR_TRUNCATED, LAYER_GRE, off);
		key = rd32(c, off + hl);
		hl += 4;
	}
	if (f0 & 0x10) /* sequence number */
		hl += 4;
	if (f0 & 0x40) { /* RFC 1701 source routes, up to a null entry */
		for (;;) {
			if (!have(c, off, hl + 4))
				return dfail(c, DECODE_ERR_TRUNCATED, LAYER_GRE, off);
			uint16_t af = rd16(c, off + hl);
			uint8_t len = rd8(c, off + hl + 3);
			hl += 4 + (uint32_t)len;
			if (af == 0 && len == 0)
				break;
		}
	}
	if (f1 & 0x80) /* acknowledgment number (enhanced GRE, PPTP) */
		hl += 4;
	if (!have(c, off, hl))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_GRE, off);

	push(c, LAYER_GRE);
	c->seg->tunnel = LAYER_GRE;
	c->seg->tunnel_id = key;
	off += hl;
	*offp = off;
	unsigned next = ethertype_next(proto);
	/* Skydive splits MPLS-in-GRE after the label stack, and we split
	 * ERSPAN after its header, so the inner segment starts at Ethernet. */
	if (next == LAYER_MPLS || next == LAYER_ERSPAN2)
		return next;
	return dsplit(c, off, next);
}

unsigned dec_erspan2(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_ERSPAN2, off);
	push(c, LAYER_ERSPAN2);
	if (!c->seg->tunnel) /* ERSPAN without GRE: not seen in practice */
		c->seg->tunnel = LAYER_ERSPAN2;
	off += 8;
	*offp = off;
	return dsplit(c, off, LAYER_ETHERNET);
}

unsigned dec_vxlan(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_VXLAN, off);
	push(c, LAYER_VXLAN);
	c->seg->tunnel = LAYER_VXLAN;
	c->seg->tunnel_id = rd32(c, off + 4) >> 8;
	off += 8;
	*offp = off;
	return dsplit(c, off, LAYER_ETHERNET);
}

unsigned dec_geneve(struct dctx *c, uint32_t *offp)
{
	uint32_t off = *offp;
	if (!have(c, off, 8))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_GENEVE, off);
	uint32_t hl = 8 + (uint32_t)(rd8(c, off) & 0x3f) * 4; /* + options */
	if (!have(c, off, hl))
		return dfail(c, DECODE_ERR_TRUNCATED, LAYER_GENEVE, off);
	push(c, LAYER_GENEVE);
	c->seg->tunnel = LAYER_GENEVE;
	c->seg->tunnel_id = rd32(c, off + 4) >> 8;
	uint16_t proto = rd16(c, off + 2);
	off += hl;
	*offp = off;
	return dsplit(c, off, ethertype_next(proto));
}
