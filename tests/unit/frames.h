/* frames.h - builds test frames (Ethernet / 802.1Q / IPv4 / IPv6 / TCP / UDP / ICMP)
 * byte by byte, for unit tests of the flow engine. Header-only. */
#ifndef SKYDIVE_TEST_FRAMES_H
#define SKYDIVE_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

struct frame {
	uint8_t b[2048];
	uint32_t len;
};

static inline void fr_put(struct frame *f, const void *p, uint32_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}
static inline void fr_u8(struct frame *f, uint8_t v)
{
	f->b[f->len++] = v;
}
static inline void fr_u16(struct frame *f, uint16_t v)
{
	fr_u8(f, (uint8_t)(v >> 8));
	fr_u8(f, (uint8_t)v);
}
static inline void fr_u32(struct frame *f, uint32_t v)
{
	fr_u16(f, (uint16_t)(v >> 16));
	fr_u16(f, (uint16_t)v);
}

static inline void fr_eth(struct frame *f, const uint8_t src[6], const uint8_t dst[6], uint16_t type)
{
	fr_put(f, dst, 6);
	fr_put(f, src, 6);
	fr_u16(f, type);
}

/* IPv4 header with total length covering payload_len bytes after it. */
static inline void fr_ipv4(struct frame *f, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
			   uint16_t payload_len, uint8_t ttl)
{
	fr_u8(f, 0x45);
	fr_u8(f, 0);
	fr_u16(f, (uint16_t)(20 + payload_len));
	fr_u16(f, 1);
	fr_u16(f, 0);
	fr_u8(f, ttl);
	fr_u8(f, proto);
	fr_u16(f, 0);
	fr_put(f, src, 4);
	fr_put(f, dst, 4);
}

static inline void fr_tcp(struct frame *f, uint16_t sport, uint16_t dport, uint8_t flags)
{
	fr_u16(f, sport);
	fr_u16(f, dport);
	fr_u32(f, 1);
	fr_u32(f, 0);
	fr_u8(f, 0x50);
	fr_u8(f, flags);
	fr_u16(f, 65535);
	fr_u16(f, 0);
	fr_u16(f, 0);
}

static inline void fr_udp(struct frame *f, uint16_t sport, uint16_t dport, uint16_t payload_len)
{
	fr_u16(f, sport);
	fr_u16(f, dport);
	fr_u16(f, (uint16_t)(8 + payload_len));
	fr_u16(f, 0);
}

static inline void fr_icmp_echo(struct frame *f, uint8_t type, uint16_t id, uint16_t seq)
{
	fr_u8(f, type);
	fr_u8(f, 0);
	fr_u16(f, 0);
	fr_u16(f, id);
	fr_u16(f, seq);
}

static inline void fr_zero(struct frame *f, uint32_t n)
{
	memset(f->b + f->len, 0, n);
	f->len += n;
}

/* Ethernet + IPv4 + TCP with flags, no payload. */
static inline void fr_tcp4(struct frame *f, const uint8_t *smac, const uint8_t *dmac,
			   const uint8_t *sip, const uint8_t *dip, uint16_t sp, uint16_t dp,
			   uint8_t flags)
{
	f->len = 0;
	fr_eth(f, smac, dmac, 0x0800);
	fr_ipv4(f, sip, dip, 6, 20, 64);
	fr_tcp(f, sp, dp, flags);
}

static inline void fr_udp4(struct frame *f, const uint8_t *smac, const uint8_t *dmac,
			   const uint8_t *sip, const uint8_t *dip, uint16_t sp, uint16_t dp,
			   uint16_t payload)
{
	f->len = 0;
	fr_eth(f, smac, dmac, 0x0800);
	fr_ipv4(f, sip, dip, 17, (uint16_t)(8 + payload), 64);
	fr_udp(f, sp, dp, payload);
	fr_zero(f, payload);
}

static inline void fr_ping4(struct frame *f, const uint8_t *smac, const uint8_t *dmac,
			    const uint8_t *sip, const uint8_t *dip, int reply, uint16_t id,
			    uint16_t seq)
{
	f->len = 0;
	fr_eth(f, smac, dmac, 0x0800);
	fr_ipv4(f, sip, dip, 1, 8 + 56, 64);
	fr_icmp_echo(f, reply ? 0 : 8, id, seq);
	fr_zero(f, 56);
}

#endif
