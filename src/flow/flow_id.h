/* flow_id.h - Skydive-compatible flow identity: L3TrackingID, TrackingID, UUID. */
#ifndef SKYDIVE_FLOW_ID_H
#define SKYDIVE_FLOW_ID_H

#include <stdint.h>

#include "decode/decode.h"
#include "flow/flow.h"

struct flow_ids {
	uint64_t l3; /* L3TrackingID */
	uint64_t l2; /* TrackingID */
	uint64_t uuid;
};

/* The 32-bit ICMP value of a flow's key (Skydive's ICMP "application flow"):
 * ECHO<<24 | id for ICMPv6 echo, type<<24 | code<<16 for other ICMPv6,
 * type<<24 | code<<16 | id for ICMPv4, with type the flow ICMP enum. */
static inline uint32_t flow_icmp_key(int ver, uint8_t flow_type, uint8_t code, uint16_t id)
{
	if (ver == 6 && flow_type == ICMP_ECHO)
		return (uint32_t)flow_type << 24 | id;
	if (ver == 6)
		return (uint32_t)flow_type << 24 | (uint32_t)code << 16;
	return (uint32_t)flow_type << 24 | (uint32_t)code << 16 | id;
}

/* Computes the three ids of f as Skydive 0.28 does (docs/FLOWS.md). node_tid
 * may be NULL. */
void flow_ids_compute(const struct flow *f, enum flow_key_mode mode, const char *node_tid,
		      struct flow_ids *out);

/* Whether the canonical order swaps the flow's A and B for the key. */
int flow_key_swapped(enum flow_key_mode mode, int has_link, const uint8_t *mac_src,
		     const uint8_t *mac_dst, int ip_ver, const uint8_t *ip_src, const uint8_t *ip_dst,
		     int has_ports, uint16_t sport, uint16_t dport);

#endif
