// SPDX-License-Identifier: GPL-2.0
/* flow.bpf.c - per-flow counters in the kernel for the agent's ebpf capture.
 *
 * A socket filter (SO_ATTACH_BPF on an AF_PACKET socket bound to the node's
 * interface) that sees every frame in both directions, keys it by its L2/L3/L4
 * tuple and counts it in one of two hash maps. User space flips `active` and
 * drains the other map, so every packet is counted once and idle entries never
 * stay (Skydive's double-buffered flow table pages). It returns 0: no frame is
 * ever queued to the socket. Every packet read goes through
 * bpf_skb_load_bytes(), which fails past the end of the frame. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ebpf/flow.h"

#define ETH_HLEN_ 14
#define ETH_P_IP_ 0x0800
#define ETH_P_IPV6_ 0x86DD
#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58
#define PROTO_SCTP 132

struct flow_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EBPF_FLOW_MAX_ENTRIES);
	__type(key, struct ebpf_flow_key);
	__type(value, struct ebpf_flow_val);
};

struct flow_map flows0 SEC(".maps");
struct flow_map flows1 SEC(".maps");

__u32 active = 0;       /* the map packets go to; written by user space */
__u64 flow_dropped = 0; /* new flows refused: map full (KernelFlowDropped) */

/* Compares endpoint 0 and 1 of k as (ip, port, mac); <0, 0, >0. */
static __always_inline int endpoint_cmp(const struct ebpf_flow_key *k)
{
#pragma unroll
	for (int i = 0; i < 16; i++)
		if (k->ip[0][i] != k->ip[1][i])
			return k->ip[0][i] < k->ip[1][i] ? -1 : 1;
	if (k->port[0] != k->port[1])
		return k->port[0] < k->port[1] ? -1 : 1;
#pragma unroll
	for (int i = 0; i < 6; i++)
		if (k->mac[0][i] != k->mac[1][i])
			return k->mac[0][i] < k->mac[1][i] ? -1 : 1;
	return 0;
}

static __always_inline void swap_endpoints(struct ebpf_flow_key *k)
{
	__u8 t;
#pragma unroll
	for (int i = 0; i < 16; i++) {
		t = k->ip[0][i];
		k->ip[0][i] = k->ip[1][i];
		k->ip[1][i] = t;
	}
#pragma unroll
	for (int i = 0; i < 6; i++) {
		t = k->mac[0][i];
		k->mac[0][i] = k->mac[1][i];
		k->mac[1][i] = t;
	}
	__u16 p = k->port[0];
	k->port[0] = k->port[1];
	k->port[1] = p;
}

/* Reads the transport header at off: ports, TCP flags, ICMP type/code/id. */
static __always_inline void read_l4(struct __sk_buff *skb, struct ebpf_flow_key *k, __u32 off,
				    __u8 *tcp_flags)
{
	__u8 h[14];
	switch (k->proto) {
	case PROTO_TCP:
		if (bpf_skb_load_bytes(skb, off, h, 14) < 0)
			return;
		*tcp_flags = h[13];
		/* fallthrough */
	case PROTO_UDP:
	case PROTO_SCTP:
		if (bpf_skb_load_bytes(skb, off, h, 4) < 0)
			return;
		k->port[0] = (__u16)h[0] << 8 | h[1];
		k->port[1] = (__u16)h[2] << 8 | h[3];
		return;
	case PROTO_ICMP:
		if (bpf_skb_load_bytes(skb, off, h, 8) < 0)
			return;
		k->icmp_type = h[0] == 0 ? 8 : h[0]; /* echo reply -> request */
		k->icmp_code = h[1];
		k->icmp_id = (__u16)h[4] << 8 | h[5];
		return;
	case PROTO_ICMPV6:
		if (bpf_skb_load_bytes(skb, off, h, 8) < 0)
			return;
		k->icmp_type = h[0] == 129 ? 128 : h[0];
		k->icmp_code = h[1];
		if (h[0] == 128 || h[0] == 129)
			k->icmp_id = (__u16)h[4] << 8 | h[5];
		return;
	}
}

static __always_inline void account(struct ebpf_flow_key *k, __u32 dir, __u64 packets,
				    __u64 bytes, __u8 tcp_flags)
{
	void *map = active ? (void *)&flows1 : (void *)&flows0;
	__u64 now = bpf_ktime_get_ns();
	for (int attempt = 0; attempt < 2; attempt++) {
		struct ebpf_flow_val *v = bpf_map_lookup_elem(map, k);
		if (v) {
			__sync_fetch_and_add(&v->packets[dir & 1], packets);
			__sync_fetch_and_add(&v->bytes[dir & 1], bytes);
			if (tcp_flags && (v->tcp_flags & tcp_flags) != tcp_flags)
				v->tcp_flags |= tcp_flags; /* racy OR: flags only grow */
			if (now > v->last_ns)
				v->last_ns = now;
			return;
		}
		struct ebpf_flow_val nv = {};
		nv.packets[dir & 1] = packets;
		nv.bytes[dir & 1] = bytes;
		nv.first_ns = nv.last_ns = now;
		nv.first_dir = dir & 1;
		nv.tcp_flags = tcp_flags;
		long rc = bpf_map_update_elem(map, k, &nv, BPF_NOEXIST);
		if (rc == 0)
			return;
		if (rc != -17 /* EEXIST: another CPU made it, count into it */) {
			__sync_fetch_and_add(&flow_dropped, 1);
			return;
		}
	}
}

SEC("socket")
int skydive_flow(struct __sk_buff *skb)
{
	struct ebpf_flow_key k = {};
	__u8 eth[ETH_HLEN_];
	k.ext[0] = k.ext[1] = k.ext[2] = 0xff;
	__u8 tcp_flags = 0;

	if (bpf_skb_load_bytes(skb, 0, eth, ETH_HLEN_) < 0)
		return 0;
	__builtin_memcpy(k.mac[0], eth + 6, 6); /* source */
	__builtin_memcpy(k.mac[1], eth, 6);
	__u32 off = ETH_HLEN_;
	__u16 proto = (__u16)eth[12] << 8 | eth[13];
	if (skb->vlan_present) {
		k.has_vlan = 1;
		k.vlan_tci = (__u16)skb->vlan_tci;
	} else if (proto == ETH_P_8021Q_ || proto == ETH_P_8021AD_) {
		__u8 tag[4];
		if (bpf_skb_load_bytes(skb, off, tag, 4) < 0)
			return 0;
		k.has_vlan = 1;
		k.vlan_tci = (__u16)tag[0] << 8 | tag[1];
		proto = (__u16)tag[2] << 8 | tag[3];
		off += 4;
	}
	k.eth_proto = proto;

	if (proto == ETH_P_IP_) {
		__u8 ip[20];
		if (bpf_skb_load_bytes(skb, off, ip, 20) < 0)
			goto count;
		__u32 ihl = (ip[0] & 0xf) * 4;
		if ((ip[0] >> 4) != 4 || ihl < 20)
			goto count;
		k.ip_ver = 4;
		k.proto = ip[9];
		__builtin_memcpy(k.ip[0], ip + 12, 4);
		__builtin_memcpy(k.ip[1], ip + 16, 4);
		/* A fragment (MF or an offset): no transport header, as the decoder. */
		if (((__u16)ip[6] << 8 | ip[7]) & 0x3fff)
			goto count;
		read_l4(skb, &k, off + ihl, &tcp_flags);
	} else if (proto == ETH_P_IPV6_) {
		__u8 ip6[40];
		if (bpf_skb_load_bytes(skb, off, ip6, 40) < 0)
			goto count;
		if ((ip6[0] >> 4) != 6)
			goto count;
		k.ip_ver = 6;
		__builtin_memcpy(k.ip[0], ip6 + 8, 16);
		__builtin_memcpy(k.ip[1], ip6 + 24, 16);
		/* Up to three hop-by-hop/routing/destination headers (MLD has
		 * one); a fragment header or more ends the walk: no ports. */
		__u8 nh = ip6[6];
		__u32 l4off = off + 40;
#pragma unroll
		for (int i = 0; i < 3; i++) {
			if (nh != 0 && nh != 43 && nh != 60)
				break;
			__u8 eh[2];
			if (bpf_skb_load_bytes(skb, l4off, eh, 2) < 0)
				break;
			k.ext[i] = nh;
			nh = eh[0];
			l4off += ((__u32)eh[1] + 1) * 8;
		}
		k.proto = nh;
		if (nh != 0 && nh != 43 && nh != 60)
			read_l4(skb, &k, l4off, &tcp_flags);
	}
count:;
	__u32 dir = 0;
	if (endpoint_cmp(&k) > 0) {
		swap_endpoints(&k);
		dir = 1;
	}
	/* A GSO super-packet stands for gso_segs wire packets. */
	__u64 segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	account(&k, dir, segs, skb->len, tcp_flags);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
