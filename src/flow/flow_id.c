/* flow_id.c - Skydive's flow identity (docs/FLOWS.md "Identity"), computed
 * once per flow when it is serialised, from the fields the flow keeps. */
#include "flow/flow_id.h"

#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH64_state_t on the stack */
#include <xxhash.h>

#include "common/util.h"
#include "decode/decode.h"

enum { EP_SYNTH = 0, EP_IPV4 = 1, EP_IPV6 = 2, EP_MAC = 3, EP_TCP = 4, EP_UDP = 5, EP_SCTP = 6 };

int flow_key_swapped(enum flow_key_mode mode, int has_link, const uint8_t *mac_src,
		     const uint8_t *mac_dst, int ip_ver, const uint8_t *ip_src, const uint8_t *ip_dst,
		     int has_ports, uint16_t sport, uint16_t dport)
{
	if (has_link && (mode == FLOW_KEY_L2 || !ip_ver)) {
		int c = memcmp(mac_src, mac_dst, 6);
		if (c || !ip_ver)
			return c > 0;
	}
	if (ip_ver) {
		int c = memcmp(ip_src, ip_dst, ip_ver == 4 ? 4 : 16);
		if (c)
			return c > 0;
	}
	return has_ports && sport > dport;
}

static void put_pair(XXH64_state_t *st, const void *a, const void *b, size_t len, uint64_t type,
		     int swapped)
{
	uint8_t t[8];
	if (swapped) {
		XXH64_update(st, b, len);
		XXH64_update(st, a, len);
	} else {
		XXH64_update(st, a, len);
		XXH64_update(st, b, len);
	}
	wr64(t, type);
	XXH64_update(st, t, 8);
}

void flow_ids_compute(const struct flow *f, enum flow_key_mode mode, const char *node_tid,
		      struct flow_ids *out)
{
	int has_link = !!(f->flags & FLOW_F_LINK);
	int has_ports = f->l4 != DECODE_L4_NONE;
	int sw = flow_key_swapped(mode, has_link, f->link_a, f->link_b, f->ip_ver, f->net_a,
				  f->net_b, has_ports, f->tp_a, f->tp_b);
	XXH64_state_t st;
	uint8_t b[8];

	XXH64_reset(&st, 0);
	if (f->ip_ver == 4)
		put_pair(&st, f->net_a, f->net_b, 4, EP_IPV4, sw);
	else if (f->ip_ver == 6)
		put_pair(&st, f->net_a, f->net_b, 16, EP_IPV6, sw);
	if (f->flags & FLOW_F_TUN_KEY) {
		/* VXLAN/Geneve outer: VNI and destination port, so the random
		 * source port of each encapsulating host does not split it. */
		uint8_t v[6];
		wr32(v, f->net_id);
		wr16(v + 4, f->tp_b);
		XXH64_update(&st, v, 6);
		wr64(b, EP_SYNTH);
		XXH64_update(&st, b, 8);
	} else if (has_ports) {
		uint8_t pa[2], pb[2];
		wr16(pa, f->tp_a);
		wr16(pb, f->tp_b);
		uint64_t type = f->l4 == DECODE_L4_TCP ? EP_TCP : f->l4 == DECODE_L4_UDP ? EP_UDP : EP_SCTP;
		put_pair(&st, pa, pb, 2, type, sw);
	}
	if (f->icmp_ver) {
		uint32_t v = flow_icmp_key(f->icmp_ver, f->icmp_type, f->icmp_code, f->icmp_id);
		uint8_t vb[4];
		wr32(vb, v);
		XXH64_update(&st, vb, 4);
		wr64(b, EP_SYNTH);
		XXH64_update(&st, b, 8);
	}
	out->l3 = XXH64_digest(&st);
	if (has_link && (mode == FLOW_KEY_L2 || !f->ip_ver)) {
		put_pair(&st, f->link_a, f->link_b, 6, EP_MAC, sw);
		out->l2 = XXH64_digest(&st);
	} else {
		out->l2 = out->l3;
	}
	uint64_t key = out->l2;
	if (f->parent_uuid) {
		char hex[17];
		int n = fmt_hex_u64(hex, f->parent_uuid);
		XXH64_update(&st, hex, (size_t)n);
		key = XXH64_digest(&st);
	}
	XXH64_reset(&st, key);
	wr64(b, (uint64_t)(int64_t)(f->start_ns / 1000000));
	XXH64_update(&st, b, 8);
	if (node_tid && *node_tid)
		XXH64_update(&st, node_tid, strlen(node_tid));
	out->uuid = XXH64_digest(&st);
}
