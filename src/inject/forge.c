/* forge.c - injection frames (forge.h), as gopacket serialises Skydive's layers with
 * ComputeChecksums and FixLengths (packetinjector/forge.go), with the differences
 * docs/API.md "Packet injection" lists: IPv6 Hop Limit from TTL, ICMP sequence numbers. */
#include "inject/forge.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

#define ETH_LEN 14
#define IP4_LEN 20
#define IP6_LEN 40
#define TCP_LEN 20
#define UDP_LEN 8
#define ICMP_LEN 8

static const char *const type_names[] = {"icmp4", "icmp6", "tcp4", "tcp6", "udp4", "udp6"};

int forge_type_parse(const char *s, enum forge_type *out)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(type_names); i++)
		if (!strcmp(s, type_names[i])) {
			*out = (enum forge_type)i;
			return 0;
		}
	return -EINVAL;
}

const char *forge_type_name(enum forge_type t)
{
	return (unsigned)t < ARRAY_SIZE(type_names) ? type_names[t] : "?";
}

static size_t l4_len(enum forge_type t)
{
	return forge_type_icmp(t) ? ICMP_LEN : (t == FORGE_TCP4 || t == FORGE_TCP6) ? TCP_LEN : UDP_LEN;
}

size_t forge_header_len(enum forge_type t)
{
	return ETH_LEN + (forge_type_v6(t) ? IP6_LEN : IP4_LEN) + l4_len(t);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

uint16_t forge_csum(const uint8_t *data, size_t len, uint32_t sum)
{
	sum = sum16(data, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The pseudo-header sum of RFC 768/793 (IPv4) or RFC 8200 8.1 (IPv6). */
static uint32_t pseudo_sum(const struct forge_spec *s, int v6, uint8_t proto, size_t l4len)
{
	size_t alen = v6 ? 16 : 4;
	uint32_t sum = sum16(s->src_ip, alen, 0);
	sum = sum16(s->dst_ip, alen, sum);
	sum += proto;
	sum += (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
	return sum;
}

int forge_frame(const struct forge_spec *s, uint8_t *buf, size_t cap)
{
	if ((unsigned)s->type >= ARRAY_SIZE(type_names))
		return -EINVAL;
	int v6 = forge_type_v6(s->type);
	size_t hdr = forge_header_len(s->type);
	if (s->payload_len > FORGE_MAX_PAYLOAD || hdr + s->payload_len > cap)
		return -EMSGSIZE;
	size_t l4len = l4_len(s->type) + s->payload_len;
	uint8_t proto = forge_type_icmp(s->type) ? (v6 ? 58 : 1)
	                : (s->type == FORGE_TCP4 || s->type == FORGE_TCP6) ? 6
	                                                                   : 17;
	memcpy(buf, s->dst_mac, 6);
	memcpy(buf + 6, s->src_mac, 6);
	wr16(buf + 12, v6 ? 0x86dd : 0x0800);
	uint8_t *ip = buf + ETH_LEN;
	uint8_t *l4;
	if (v6) {
		wr32(ip, 6u << 28); /* traffic class 0, flow label 0 */
		wr16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		ip[7] = s->ttl;
		memcpy(ip + 8, s->src_ip, 16);
		memcpy(ip + 24, s->dst_ip, 16);
		l4 = ip + IP6_LEN;
	} else {
		/* gopacket's defaults: IHL 5, TOS 0, ID 0, no flags */
		memset(ip, 0, IP4_LEN);
		ip[0] = 0x45;
		wr16(ip + 2, (uint16_t)(IP4_LEN + l4len));
		ip[8] = s->ttl;
		ip[9] = proto;
		memcpy(ip + 12, s->src_ip, 4);
		memcpy(ip + 16, s->dst_ip, 4);
		wr16(ip + 10, forge_csum(ip, IP4_LEN, 0));
		l4 = ip + IP4_LEN;
	}
	memset(l4, 0, l4_len(s->type));
	if (s->payload_len)
		memcpy(l4 + l4_len(s->type), s->payload, s->payload_len);
	uint16_t c;
	switch (s->type) {
	case FORGE_ICMP4:
	case FORGE_ICMP6:
		l4[0] = v6 ? 128 : 8; /* echo request, code 0 */
		wr16(l4 + 4, s->icmp_id);
		wr16(l4 + 6, s->icmp_seq);
		/* ICMPv4 covers only itself (RFC 792); ICMPv6 the pseudo-header too (RFC 4443) */
		c = forge_csum(l4, l4len, v6 ? pseudo_sum(s, 1, proto, l4len) : 0);
		wr16(l4 + 2, c);
		break;
	case FORGE_TCP4:
	case FORGE_TCP6:
		wr16(l4, s->src_port);
		wr16(l4 + 2, s->dst_port);
		wr32(l4 + 4, s->tcp_seq);
		l4[12] = 5 << 4; /* data offset */
		l4[13] = 0x02;   /* SYN */
		/* window 0, urgent 0: gopacket's zero values */
		wr16(l4 + 16, forge_csum(l4, l4len, pseudo_sum(s, v6, proto, l4len)));
		break;
	default: /* UDP */
		wr16(l4, s->src_port);
		wr16(l4 + 2, s->dst_port);
		wr16(l4 + 4, (uint16_t)l4len);
		c = forge_csum(l4, l4len, pseudo_sum(s, v6, proto, l4len));
		wr16(l4 + 6, c ? c : 0xffff); /* 0 means "no checksum" (RFC 768) */
		break;
	}
	return (int)(hdr + s->payload_len);
}
