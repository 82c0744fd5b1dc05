/* forge.h - builds the frames of a packet injection (Skydive's packetinjector/forge.go):
 * Ethernet + IPv4/IPv6 + ICMP echo request, TCP SYN or UDP, with a payload, every length
 * and checksum filled. A builder only: nothing here reads outside input, and nothing
 * allocates (the caller gives the buffer), so the injector's send loop can call it for
 * each packet. */
#ifndef SKYDIVE_FORGE_H
#define SKYDIVE_FORGE_H

#include <stddef.h>
#include <stdint.h>

/* Skydive's PacketInjection Type values, in its order (api/types/types.go). */
enum forge_type { FORGE_ICMP4, FORGE_ICMP6, FORGE_TCP4, FORGE_TCP6, FORGE_UDP4, FORGE_UDP6 };

/* "icmp4" ... "udp6" into *out: 0, or -EINVAL for any other text. */
int forge_type_parse(const char *s, enum forge_type *out);
const char *forge_type_name(enum forge_type t);
static inline int forge_type_v6(enum forge_type t)
{
	return t == FORGE_ICMP6 || t == FORGE_TCP6 || t == FORGE_UDP6;
}
static inline int forge_type_icmp(enum forge_type t)
{
	return t == FORGE_ICMP4 || t == FORGE_ICMP6;
}

/* One packet. Addresses in network order; an IPv4 address in src_ip[0..4). */
struct forge_spec {
	enum forge_type type;
	uint8_t src_mac[6], dst_mac[6];
	uint8_t src_ip[16], dst_ip[16];
	uint16_t src_port, dst_port; /* TCP, UDP */
	uint16_t icmp_id, icmp_seq;  /* ICMP echo */
	uint8_t ttl;                 /* IPv4 TTL, IPv6 Hop Limit */
	uint32_t tcp_seq;            /* the SYN's sequence number */
	const uint8_t *payload;      /* borrowed; may be NULL when payload_len is 0 */
	size_t payload_len;
};

/* Header bytes in front of the payload for type t (Ethernet included). */
size_t forge_header_len(enum forge_type t);

/* The largest payload: what keeps the IP packet within 65535 bytes. */
#define FORGE_MAX_PAYLOAD (65535 - 40 - 20)

/* Writes the frame of s into buf[cap]: its length, or -EMSGSIZE when it does not fit
 * (or the payload is over FORGE_MAX_PAYLOAD), -EINVAL for an unknown type. */
int forge_frame(const struct forge_spec *s, uint8_t *buf, size_t cap);

/* The Internet checksum (RFC 1071) of data[0..len) added to sum (a partial sum, e.g.
 * a pseudo-header's), folded and complemented. */
uint16_t forge_csum(const uint8_t *data, size_t len, uint32_t sum);

#endif
