/* headers.c - a segment from header fields alone (decode_headers): the
 * ebpf capture's flows are counted in the kernel, so there is no frame to
 * decode; the layer rules are the decoders' own (decode_int.h). */
#include "decode_int.h"

static void put(struct decode_seg *s, unsigned layer)
{
	if (s->nlayers < DECODE_MAX_LAYERS)
		s->layers[s->nlayers++] = (uint8_t)layer;
}

static int is_ip6_ext(unsigned layer)
{
	return layer == LAYER_IPV6_HOPBYHOP || layer == LAYER_IPV6_ROUTING ||
	       layer == LAYER_IPV6_FRAGMENT || layer == LAYER_IPV6_DESTINATION;
}

void decode_headers(const struct decode_hdrs *h, struct decode_seg *s)
{
	memset(s, 0, sizeof(*s));
	if (h->no_link && (h->ip_ver == 4 || h->ip_ver == 6))
		goto ip;
	put(s, LAYER_ETHERNET);
	s->has_eth = 1;
	memcpy(s->eth_src, h->mac_src, 6);
	memcpy(s->eth_dst, h->mac_dst, 6);
	if (h->has_vlan) {
		put(s, LAYER_DOT1Q);
		s->nvlan = 1;
		s->link_id = h->vlan_tci & 0x0fff;
	}
	if (h->ip_ver != 4 && h->ip_ver != 6) {
		/* Of the other EtherTypes only ARP is a layer without a body to
		 * read (LLC, LLDP, MPLS ... need theirs). */
		if (h->eth_proto == 0x0806)
			put(s, LAYER_ARP);
		return;
	}
ip:;
	size_t al = h->ip_ver == 4 ? 4 : 16;
	s->ip_ver = h->ip_ver;
	memcpy(s->ip_src, h->ip_src, al);
	memcpy(s->ip_dst, h->ip_dst, al);
	s->ip_proto = h->proto;
	s->ttl = 64; /* not known; only the TCP metric reads it, and records have none */
	if (h->ip_ver == 4) {
		put(s, LAYER_IPV4);
	} else {
		put(s, LAYER_IPV6);
		for (int i = 0; i < h->n_ip6_ext && i < 3; i++) {
			unsigned l = ip6_next(h->ip6_ext[i]);
			if (is_ip6_ext(l))
				put(s, l);
		}
	}
	switch (ip_next(h->proto)) {
	case LAYER_TCP:
		put(s, LAYER_TCP);
		s->l4 = DECODE_L4_TCP;
		s->sport = h->sport;
		s->dport = h->dport;
		break;
	case LAYER_UDP: {
		put(s, LAYER_UDP);
		s->l4 = DECODE_L4_UDP;
		s->sport = h->sport;
		s->dport = h->dport;
		/* A tunnel port on either side: the record does not see inside,
		 * so no application either. */
		int tun = 0;
		for (int i = 0; i < 2; i++) {
			uint16_t p = i ? h->dport : h->sport;
			unsigned l = udp_app(p, p);
			tun |= l == LAYER_VXLAN || l == LAYER_GENEVE;
		}
		unsigned app = udp_app(h->sport, h->dport);
		if (!tun && app != LAYER_NONE)
			put(s, app);
		break;
	}
	case LAYER_SCTP:
		put(s, LAYER_SCTP);
		s->l4 = DECODE_L4_SCTP;
		s->sport = h->sport;
		s->dport = h->dport;
		break;
	case LAYER_ICMPV4:
		put(s, LAYER_ICMPV4);
		s->icmp_ver = 4;
		s->icmp_type = h->icmp_type;
		s->icmp_code = h->icmp_code;
		s->icmp_flow_type = icmpv4_flow_type(h->icmp_type);
		s->icmp_id = h->icmp_id; /* whatever the type, as gopacket */
		break;
	case LAYER_ICMPV6: {
		put(s, LAYER_ICMPV6);
		s->icmp_ver = 6;
		s->icmp_type = h->icmp_type;
		s->icmp_code = h->icmp_code;
		s->icmp_flow_type = icmpv6_flow_type(h->icmp_type);
		unsigned sub = icmpv6_sub_layer(h->icmp_type);
		if (sub != LAYER_NONE)
			put(s, sub);
		if (sub == LAYER_ICMPV6_ECHO)
			s->icmp_id = h->icmp_id;
		break;
	}
	default:
		break; /* IGMP, GRE, IP in IP ...: their bodies are not known */
	}
}
