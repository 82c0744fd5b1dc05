/* flow.h - the flow map shared by flow.bpf.c (kernel) and ebpf_flow.c (user).
 *
 * Fixed-size types, explicit padding, no holes: the bytes of a key are hashed
 * by the kernel. A key holds both endpoints in a canonical order (endpoint 0
 * sorts first by IP, then port, then MAC), so both directions of a
 * conversation share one entry; the value counts each direction apart and
 * remembers which one came first. */
#ifndef SKYDIVE_EBPF_FLOW_H
#define SKYDIVE_EBPF_FLOW_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define EBPF_FLOW_MAX_ENTRIES 65536 /* per map (there are two, see flow.bpf.c) */

/* Network byte order for addresses, host order for ports, ids, ethertypes. */
struct ebpf_flow_key {
	__u8 mac[2][6];    /* Ethernet source/destination per endpoint */
	__u8 ip[2][16];    /* IPv4 in the first 4 bytes; zero when ip_ver is 0 */
	__u16 port[2];     /* TCP/UDP/SCTP ports; zero otherwise */
	__u16 eth_proto;   /* the ethertype after any VLAN tag */
	__u16 vlan_tci;    /* the (outer) 802.1Q tag the kernel took off; 0 none */
	__u16 icmp_id;     /* ICMPv4 bytes 4-5, ICMPv6 echo identifier, else 0 */
	__u8 ip_ver;       /* 0, 4 or 6 */
	__u8 proto;        /* IP protocol (0 for non-IP) */
	__u8 icmp_type;    /* echo replies folded onto requests (8, 128) */
	__u8 icmp_code;
	__u8 has_vlan;
	__u8 ext[3]; /* IPv6 extension headers walked (hop-by-hop 0, routing 43,
	                destination 60), in order; 0xff = none */
};

struct ebpf_flow_val {
	__u64 packets[2]; /* [0]: endpoint 0 -> 1, [1]: 1 -> 0 */
	__u64 bytes[2];   /* frame lengths (Ethernet header included) */
	__u64 first_ns;   /* bpf_ktime_get_ns() of the first and last packet */
	__u64 last_ns;
	__u8 first_dir;   /* direction of the first packet (0 or 1) */
	__u8 tcp_flags;   /* TCP flags seen, both directions ORed */
	__u8 pad[6];
};

#endif
