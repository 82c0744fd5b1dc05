/* decode.h - bounds-checked, allocation-free packet decoding.
 *
 * One call turns a captured frame into a short sequence of "segments": the
 * outer packet and, for each tunnel (GRE, VXLAN, Geneve, MPLS), the packet it
 * carries. Each segment holds what the flow engine needs (addresses, ports,
 * ICMP fields, VLAN / tunnel ids, the layer path) as plain values, so the
 * caller's stack holds everything and nothing is allocated. The input buffer is
 * only read, never kept. */
#ifndef SKYDIVE_DECODE_H
#define SKYDIVE_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Layer ids, in the order of their names in layer_name(). The names are
 * gopacket's layer names, as Skydive puts them in LayersPath. */
enum layer {
	LAYER_NONE = 0,
	LAYER_ETHERNET,
	LAYER_LINUX_SLL,   /* "LinuxSLL", never shown in LayersPath */
	LAYER_LINUX_SLL2,  /* "LinuxSLL2", never shown in LayersPath */
	LAYER_LOOPBACK,    /* BSD null/loop header, never shown */
	LAYER_DOT1Q,
	LAYER_ARP,
	LAYER_MPLS,
	LAYER_IPV4,
	LAYER_IPV6,
	LAYER_IPV6_HOPBYHOP,
	LAYER_IPV6_ROUTING,
	LAYER_IPV6_FRAGMENT,
	LAYER_IPV6_DESTINATION,
	LAYER_FRAGMENT, /* payload of a non-reassembled IP fragment */
	LAYER_ICMPV4,
	LAYER_ICMPV6,
	LAYER_ICMPV6_ECHO,
	LAYER_ICMPV6_ROUTER_SOLICITATION,
	LAYER_ICMPV6_ROUTER_ADVERTISEMENT,
	LAYER_ICMPV6_NEIGHBOR_SOLICITATION,
	LAYER_ICMPV6_NEIGHBOR_ADVERTISEMENT,
	LAYER_ICMPV6_REDIRECT,
	LAYER_TCP,
	LAYER_UDP,
	LAYER_SCTP,
	LAYER_SCTP_DATA,
	LAYER_SCTP_INIT,
	LAYER_SCTP_INIT_ACK,
	LAYER_SCTP_SACK,
	LAYER_SCTP_HEARTBEAT,
	LAYER_SCTP_HEARTBEAT_ACK,
	LAYER_SCTP_ABORT,
	LAYER_SCTP_SHUTDOWN,
	LAYER_SCTP_SHUTDOWN_ACK,
	LAYER_SCTP_ERROR,
	LAYER_SCTP_COOKIE_ECHO,
	LAYER_SCTP_COOKIE_ACK,
	LAYER_SCTP_SHUTDOWN_COMPLETE,
	LAYER_SCTP_UNKNOWN_CHUNK,
	LAYER_GRE,
	LAYER_ERSPAN2,
	LAYER_VXLAN,
	LAYER_GENEVE,
	LAYER_DNS,
	LAYER_DHCPV4,
	LAYER_DHCPV6,
	LAYER_NTP,
	LAYER_SFLOW,
	LAYER_TLS,
	LAYER_LLC,
	LAYER_LLDP,
	LAYER_VRRPV2,
	LAYER_IGMP,
	LAYER__COUNT
};

/* gopacket's name of a layer ("Ethernet", "IPv4", "ICMPv6Echo" ...). */
const char *layer_name(unsigned layer);
/* The application layer gopacket gives a TCP segment by its ports
 * (destination first): LAYER_DNS (53), LAYER_TLS (443) or LAYER_NONE. */
unsigned decode_tcp_app(uint16_t sport, uint16_t dport);

/* Skydive's flow ICMP type enum (flow.proto ICMPType). */
enum flow_icmp_type {
	ICMP_UNKNOWN = 0,
	ICMP_DESTINATION_UNREACHABLE = 1,
	ICMP_ECHO = 2,
	ICMP_NEIGHBOR = 3,
	ICMP_ADDRESS_MASK = 4,
	ICMP_INFO = 5,
	ICMP_PARAMETER_PROBLEM = 6,
	ICMP_REDIRECT = 7,
	ICMP_ROUTER = 8,
	ICMP_SOURCE_QUENCH = 9,
	ICMP_TIME_EXCEEDED = 10,
	ICMP_TIMESTAMP = 11,
	ICMP_PACKET_TOO_BIG = 12,
};
const char *flow_icmp_type_name(unsigned t);

/* Link types accepted by decode_packet (libpcap LINKTYPE_* values). */
#define DECODE_LINKTYPE_NULL 0
#define DECODE_LINKTYPE_ETHERNET 1
#define DECODE_LINKTYPE_RAW 101 /* also accepted: DLT_RAW 12 and 14 */
#define DECODE_LINKTYPE_LOOP 108
#define DECODE_LINKTYPE_LINUX_SLL 113
#define DECODE_LINKTYPE_IPV4 228
#define DECODE_LINKTYPE_IPV6 229
#define DECODE_LINKTYPE_LINUX_SLL2 276

#define DECODE_MAX_SEGS 4    /* outer packet + 3 nested tunnels */
#define DECODE_MAX_LAYERS 14 /* layers kept per segment for LayersPath */

/* Transport protocol numbers kept in decode_seg.l4 */
#define DECODE_L4_NONE 0
#define DECODE_L4_TCP 6
#define DECODE_L4_UDP 17
#define DECODE_L4_SCTP 132

#define DECODE_TCP_FIN 0x01
#define DECODE_TCP_SYN 0x02
#define DECODE_TCP_RST 0x04
#define DECODE_TCP_PSH 0x08
#define DECODE_TCP_ACK 0x10

/* One packet of the tunnel sequence. Fields are valid only when the matching
 * has_ / version field says so; everything else is zero. */
struct decode_seg {
	uint32_t offset; /* first byte of this segment in the frame */
	uint32_t length; /* bytes this segment accounts for: the frame's wire
	                    length for the outer one, minus the bytes of the
	                    outer headers (up to and including the tunnel
	                    header) for inner ones */
	uint8_t nlayers;
	uint8_t layers[DECODE_MAX_LAYERS]; /* enum layer, outermost first */

	/* link: the first Ethernet header of the segment */
	uint8_t has_eth;
	uint8_t eth_src[6], eth_dst[6];
	uint8_t nvlan;    /* 802.1Q / 802.1ad tags seen (all counted) */
	uint64_t link_id; /* Skydive Link.ID: for tags outer..inner, folded from
	                     the innermost: id = (id << 12) | vid */

	/* network: the first IPv4 (else IPv6) header of the segment */
	uint8_t ip_ver; /* 0, 4 or 6 */
	uint8_t ip_src[16], ip_dst[16]; /* IPv4 in the first 4 bytes */
	uint8_t ttl;      /* IPv4 TTL / IPv6 hop limit */
	uint8_t ip_proto; /* IPv4 protocol / last IPv6 next header */
	uint8_t is_fragment; /* IPv4 MF or offset, or an IPv6 fragment header
	                        with MF or offset: no transport decoded */

	/* transport: the first UDP, else TCP, else SCTP of the segment */
	uint8_t l4; /* DECODE_L4_* */
	uint16_t sport, dport;
	uint8_t tcp_flags; /* DECODE_TCP_* bits of the TCP header */

	/* ICMP */
	uint8_t icmp_ver;       /* 0, 4 or 6 */
	uint8_t icmp_type;      /* wire type */
	uint8_t icmp_code;      /* wire code */
	uint8_t icmp_flow_type; /* enum flow_icmp_type */
	uint16_t icmp_id;       /* ICMPv4: bytes 4-5 of the header for every
	                           type (as gopacket); ICMPv6: echo identifier,
	                           else 0 */

	/* tunnel that ends this segment, if any (LAYER_GRE, LAYER_VXLAN,
	 * LAYER_GENEVE, LAYER_MPLS), and the id Skydive puts in Network.ID:
	 * VXLAN/Geneve VNI or GRE key (0 if the GRE header has no key). */
	uint8_t tunnel;
	uint32_t tunnel_id;

	/* where headers are in the frame, for reassembly (flow/ipdefrag.c,
	 * flow/tcp_reasm.c): the segment's network-layer IP header, its IPv6
	 * fragment header (0: none), its TCP header and the end of the TCP
	 * segment's container (payload end, capture-cut) when l4 is TCP */
	uint32_t ip_off, ip6_frag_off, tcp_off, tcp_end;
	/* the message an extra layer decodes (src/decode/xlayer.h): app is
	 * LAYER_DNS, LAYER_DHCPV4 or LAYER_VRRPV2 (else 0), at app_off in the
	 * frame, app_len bytes of it present (cut to its container and to the
	 * capture); for DNS over TCP the bytes are the segment's payload */
	uint8_t app;
	uint32_t app_off, app_len;
};

/* Why decoding stopped early. The segments decoded so far stay valid: a
 * truncated TCP header still leaves the Ethernet and IP part usable. */
enum decode_err {
	DECODE_OK = 0,
	DECODE_ERR_TRUNCATED,   /* a header runs past the captured bytes */
	DECODE_ERR_MALFORMED,   /* a length or version field is impossible */
	DECODE_ERR_LINKTYPE,    /* link type not supported */
	DECODE_ERR_TOO_DEEP,    /* more nested tunnels than DECODE_MAX_SEGS */
};

struct decode_result {
	uint8_t nseg;
	struct decode_seg seg[DECODE_MAX_SEGS];
	uint8_t err;        /* enum decode_err */
	uint8_t err_layer;  /* enum layer that could not be decoded */
	uint32_t err_offset; /* byte offset in the frame where it failed */
};

/* Decodes one frame. data[0..caplen) is read only; wirelen is the frame's
 * length on the wire (>= caplen). Fills *out completely (no need to clear it
 * first; only seg[0..nseg) are meaningful). Returns the number of segments
 * (0 when not even the first header could be read); out->err says whether
 * and where decoding stopped early. Never reads outside data[0..caplen). */
int decode_packet(int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		  struct decode_result *out);

/* The headers of a packet known without its bytes: a flow counted in the
 * kernel (the ebpf capture). Addresses in network order, ports and ids in
 * host order. */
struct decode_hdrs {
	uint8_t mac_src[6], mac_dst[6];
	uint8_t has_vlan;
	uint16_t vlan_tci;
	uint16_t eth_proto; /* EtherType of a non-IP frame */
	uint8_t ip_ver;     /* 0, 4, 6 */
	uint8_t ip_src[16], ip_dst[16];
	uint8_t n_ip6_ext;  /* IPv6 extension headers before proto (up to 3) */
	uint8_t ip6_ext[3]; /* their types: hop-by-hop 0, routing 43, dest. 60 */
	uint8_t proto;      /* IP protocol (the last IPv6 next header) */
	uint16_t sport, dport;
	uint8_t icmp_type, icmp_code; /* wire values */
	uint16_t icmp_id;   /* ICMPv4: bytes 4-5; ICMPv6: the echo identifier */
	uint8_t no_link;    /* 1: an IP-only record (NetFlow v5 has no MACs): no Ethernet
			     * layer, as a raw-IP frame decodes; mac_*, has_vlan unused */
};

/* Fills *out (completely) with the segment decode_packet gives an Ethernet
 * frame with these headers, as the flow table keys it: the same layers,
 * LayersPath, VLAN id and ICMP mapping. Without a payload, an application is
 * taken from the UDP ports alone (DNS, DHCPv4/v6, NTP, sFlow, as for a first
 * datagram, unless either port is a tunnel's); TLS, tunnels and SCTP
 * chunks, which need their bytes, end the path at their transport. out->length is 0 (bytes come with the record). */
void decode_headers(const struct decode_hdrs *h, struct decode_seg *out);

/* 1 when decode_packet reads frames of this link type; else 0 and, with buf, the
 * sentence that says so ("link type 147 (USER0) is not decoded; supported: ..."). */
int decode_linktype_supported(int linktype, char *buf, size_t len);

/* Human-readable text for an enum decode_err. */
const char *decode_strerror(unsigned err);

#endif
