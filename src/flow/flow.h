/* flow.h - the flow record, its options and Skydive's names for its enums.
 *
 * A flow is compact and fixed-size (it lives in the table's preallocated
 * pool): addresses as bytes, times in ns, the layer path and application as
 * small interned ids. Strings (UUID, TrackingID, addresses) are only made when
 * a flow is serialised (flow_json.c, flow_id.c). */
#ifndef SKYDIVE_FLOW_H
#define SKYDIVE_FLOW_H

#include <stdint.h>

enum flow_key_mode { FLOW_KEY_L2 = 0, FLOW_KEY_L3 = 1 };

enum flow_finish { FLOW_NOT_FINISHED = 0, FLOW_TIMEOUT = 1, FLOW_TCP_FIN = 2, FLOW_TCP_RST = 3 };

/* flow.proto FlowProtocol */
enum flow_proto {
	FLOW_PROTO_ETHERNET = 0,
	FLOW_PROTO_IPV4 = 1,
	FLOW_PROTO_TCP = 2,
	FLOW_PROTO_UDP = 3,
	FLOW_PROTO_SCTP = 4,
	FLOW_PROTO_IPV6 = 5,
	FLOW_PROTO_ICMPV4 = 6,
	FLOW_PROTO_ICMPV6 = 7,
};

const char *flow_proto_name(unsigned p);
const char *flow_finish_name(unsigned f);
/* Parses "L2" / "L3"; returns 0 or -EINVAL. */
int flow_key_mode_parse(const char *s, enum flow_key_mode *out);

/* ---- reassembly metrics (IPDefrag, ReassembleTCP: flow/ipdefrag.h,
 * flow/tcp_reasm.h; Skydive's flow.proto IPMetric and TCPMetric 9-22) ---- */

/* One direction of a reassembled TCP stream: Skydive's <dir>Segment* and
 * <dir>Packets/Bytes/SawStart/SawEnd of TCPMetric. */
struct flow_tcp_stream {
	uint64_t bytes;          /* payload bytes delivered in order */
	uint64_t skipped_bytes;  /* bytes of the gaps given up */
	uint32_t packets;        /* segments that delivered payload */
	uint32_t out_of_order;   /* segments delivered after one that arrived later */
	uint32_t skipped;        /* gaps given up */
	uint8_t saw_start, saw_end; /* SYN / FIN or RST seen */
	uint8_t pad[2];
};

/* IPMetric: fragments of the flow's reassembled datagrams. */
struct flow_ip_metric {
	uint32_t fragments;       /* held before the completing one, per datagram */
	uint32_t fragment_errors; /* refused as invalid */
};

/* SYN/FIN/RST times (ms) and SYN TTLs per direction (ExtraTCPMetric), and
 * the reassembled streams (ReassembleTCP; seg[0] AB, seg[1] BA). */
struct flow_tcp_metric {
	int64_t ab_syn_start, ba_syn_start, ab_fin_start, ba_fin_start, ab_rst_start, ba_rst_start;
	uint32_t ab_syn_ttl, ba_syn_ttl;
	struct flow_tcp_stream seg[2];
};

/* flags */
#define FLOW_F_LINK 0x01        /* Link layer present (Ethernet) */
#define FLOW_F_SEEN_UPDATE 0x02 /* an update pass has seen this flow */
#define FLOW_F_UPDATED 0x04     /* packets since the last update pass */
/* 0x08 free */
#define FLOW_F_RTT_WAIT 0x10    /* an RTT measurement is pending (flow_table.c rtt_update) */
#define FLOW_F_TUN_KEY 0x20     /* transport key uses VNI + dport (VXLAN/Geneve outer) */
#define FLOW_F_SWAPPED 0x40     /* the first packet was in reversed key order */

/* 184 bytes: everything a packet of a known flow touches is in the first 64
 * (the table prefetches them); the rest is set when the flow is created and
 * read when it is reported. */
struct flow {
	/* hot */
	uint64_t hkey; /* table key (XXH3 of the canonical fields + parent); 0 = free */
	uint64_t last_ns;
	uint64_t ab_packets, ab_bytes, ba_packets, ba_bytes;
	uint32_t raw_captured; /* RawPacketsCaptured */
	uint8_t flags;         /* FLOW_F_* */
	uint8_t finish;        /* enum flow_finish */
	uint8_t l4;            /* DECODE_L4_* */
	uint8_t timeout_class; /* 0 default, 1 ARP/DNS short timeout */
	uint32_t lru_next;     /* expiry wheel bucket list, or free list */
	uint16_t bucket;       /* expiry wheel bucket */
	uint8_t ip_ver;        /* 0, 4, 6 */
	uint8_t icmp_ver;      /* 0, 4, 6; only when l4 is none */
	/* cold */
	uint64_t start_ns;
	uint64_t parent_uuid; /* numeric UUID of the parent flow; 0 = none */
	/* counters at the last update pass, all 64 bits (LastUpdateMetric is the
	 * difference: a 32-bit snapshot broke it past 2^32 packets) */
	uint64_t upd_ab_bytes, upd_ba_bytes, upd_ab_packets, upd_ba_packets;
	uint64_t link_id;
	uint8_t net_a[16], net_b[16];
	uint8_t link_a[6], link_b[6];
	union {
		struct {
			uint16_t tp_a, tp_b; /* when l4 is set */
		};
		struct {
			uint16_t icmp_id;  /* when icmp_ver is set */
			uint8_t icmp_type; /* enum flow_icmp_type */
			uint8_t icmp_code;
		};
	};
	uint32_t net_id;  /* VNI / GRE key */
	uint32_t rtt;     /* flow_rtt_encode() */
	uint16_t path_id; /* interned LayersPath (flow_table_path) */
	uint16_t app_id;  /* layer id, or LAYER__COUNT + application port map index */
	uint32_t lru_prev;
};

_Static_assert(sizeof(struct flow) == 184, "struct flow grew");

/* RTT in 32 bits: ns below 2^31 ns (2.1 s); above, bit 31 set and bit 30
 * the unit: us below 2^30 us (17.9 min), else ms (12.4 days, saturated). A
 * TCP RTT can end at a RST long after the SYN, hence the ms range. */
static inline uint32_t flow_rtt_encode(uint64_t ns)
{
	if (ns < (1u << 31))
		return (uint32_t)ns;
	uint64_t us = ns / 1000;
	if (us < (1u << 30))
		return (1u << 31) | (uint32_t)us;
	uint64_t ms = ns / 1000000;
	return (3u << 30) | (uint32_t)(ms < (1u << 30) ? ms : (1u << 30) - 1);
}

static inline int64_t flow_rtt_ns(const struct flow *f)
{
	if (!(f->rtt & (1u << 31)))
		return (int64_t)f->rtt;
	int64_t v = (int64_t)(f->rtt & ((1u << 30) - 1));
	return f->rtt & (1u << 30) ? v * 1000000 : v * 1000;
}

#endif
