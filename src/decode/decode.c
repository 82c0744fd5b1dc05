/* decode.c - entry point: link type selection, the layer dispatch loop,
 * segment bookkeeping, and the layer / ICMP type / error names. */
#include <stdio.h>

#include "decode_int.h"

static const char *const layer_names[LAYER__COUNT] = {
    [LAYER_NONE] = "None",
    [LAYER_ETHERNET] = "Ethernet",
    [LAYER_LINUX_SLL] = "LinuxSLL",
    [LAYER_LINUX_SLL2] = "LinuxSLL2",
    [LAYER_LOOPBACK] = "Loopback",
    [LAYER_DOT1Q] = "Dot1Q",
    [LAYER_ARP] = "ARP",
    [LAYER_MPLS] = "MPLS",
    [LAYER_IPV4] = "IPv4",
    [LAYER_IPV6] = "IPv6",
    [LAYER_IPV6_HOPBYHOP] = "IPv6HopByHop",
    [LAYER_IPV6_ROUTING] = "IPv6Routing",
    [LAYER_IPV6_FRAGMENT] = "IPv6Fragment",
    [LAYER_IPV6_DESTINATION] = "IPv6Destination",
    [LAYER_FRAGMENT] = "Fragment",
    [LAYER_ICMPV4] = "ICMPv4",
    [LAYER_ICMPV6] = "ICMPv6",
    [LAYER_ICMPV6_ECHO] = "ICMPv6Echo",
    [LAYER_ICMPV6_ROUTER_SOLICITATION] = "ICMPv6RouterSolicitation",
    [LAYER_ICMPV6_ROUTER_ADVERTISEMENT] = "ICMPv6RouterAdvertisement",
    [LAYER_ICMPV6_NEIGHBOR_SOLICITATION] = "ICMPv6NeighborSolicitation",
    [LAYER_ICMPV6_NEIGHBOR_ADVERTISEMENT] = "ICMPv6NeighborAdvertisement",
    [LAYER_ICMPV6_REDIRECT] = "ICMPv6Redirect",
    [LAYER_TCP] = "TCP",
    [LAYER_UDP] = "UDP",
    [LAYER_SCTP] = "SCTP",
    [LAYER_SCTP_DATA] = "SCTPData",
    [LAYER_SCTP_INIT] = "SCTPInit",
    [LAYER_SCTP_INIT_ACK] = "SCTPInitAck",
    [LAYER_SCTP_SACK] = "SCTPSack",
    [LAYER_SCTP_HEARTBEAT] = "SCTPHeartbeat",
    [LAYER_SCTP_HEARTBEAT_ACK] = "SCTPHeartbeatAck",
    [LAYER_SCTP_ABORT] = "SCTPAbort",
    [LAYER_SCTP_SHUTDOWN] = "SCTPShutdown",
    [LAYER_SCTP_SHUTDOWN_ACK] = "SCTPShutdownAck",
    [LAYER_SCTP_ERROR] = "SCTPError",
    [LAYER_SCTP_COOKIE_ECHO] = "SCTPCookieEcho",
    [LAYER_SCTP_COOKIE_ACK] = "SCTPCookieAck",
    [LAYER_SCTP_SHUTDOWN_COMPLETE] = "SCTPShutdownComplete",
    [LAYER_SCTP_UNKNOWN_CHUNK] = "SCTPUnknownChunkType",
    [LAYER_GRE] = "GRE",
    [LAYER_ERSPAN2] = "ERSPANII",
    [LAYER_VXLAN] = "VXLAN",
    [LAYER_GENEVE] = "Geneve",
    [LAYER_DNS] = "DNS",
    [LAYER_DHCPV4] = "DHCPv4",
    [LAYER_DHCPV6] = "DHCPv6",
    [LAYER_NTP] = "NTP",
    [LAYER_SFLOW] = "SFlow",
    [LAYER_TLS] = "TLS",
    [LAYER_LLC] = "LLC",
    [LAYER_LLDP] = "LinkLayerDiscovery",
    [LAYER_VRRPV2] = "VRRP",
    [LAYER_IGMP] = "IGMP",
};

const char *layer_name(unsigned layer)
{
	return layer < LAYER__COUNT ? layer_names[layer] : "Unknown";
}

static const char *const icmp_names[] = {
    [ICMP_UNKNOWN] = "UNKNOWN",
    [ICMP_DESTINATION_UNREACHABLE] = "DESTINATION_UNREACHABLE",
    [ICMP_ECHO] = "ECHO",
    [ICMP_NEIGHBOR] = "NEIGHBOR",
    [ICMP_ADDRESS_MASK] = "ADDRESS_MASK",
    [ICMP_INFO] = "INFO",
    [ICMP_PARAMETER_PROBLEM] = "PARAMETER_PROBLEM",
    [ICMP_REDIRECT] = "REDIRECT",
    [ICMP_ROUTER] = "ROUTER",
    [ICMP_SOURCE_QUENCH] = "SOURCE_QUENCH",
    [ICMP_TIME_EXCEEDED] = "TIME_EXCEEDED",
    [ICMP_TIMESTAMP] = "TIMESTAMP",
    [ICMP_PACKET_TOO_BIG] = "PACKET_TOO_BIG",
};

const char *flow_icmp_type_name(unsigned t)
{
	return t < sizeof(icmp_names) / sizeof(icmp_names[0]) ? icmp_names[t] : "UNKNOWN";
}

const char *decode_strerror(unsigned err)
{
	switch (err) {
	case DECODE_OK:
		return "ok";
	case DECODE_ERR_TRUNCATED:
		return "truncated header";
	case DECODE_ERR_MALFORMED:
		return "malformed header";
	case DECODE_ERR_LINKTYPE:
		return "unsupported link type";
	case DECODE_ERR_TOO_DEEP:
		return "too many nested tunnels";
	}
	return "unknown error";
}

unsigned dfail(struct dctx *c, unsigned err, unsigned layer, uint32_t off)
{
	c->out->err = (uint8_t)err;
	c->out->err_layer = (uint8_t)layer;
	c->out->err_offset = off;
	return LAYER_NONE;
}

static void seg_open(struct dctx *c, uint32_t off)
{
	struct decode_seg *s = &c->out->seg[c->out->nseg++];
	memset(s, 0, sizeof(*s));
	s->offset = off;
	s->length = c->outer_len > off ? c->outer_len - off : 0;
	c->seg = s;
	c->ip6_chain = 0;
}

unsigned dsplit(struct dctx *c, uint32_t off, unsigned next)
{
	if (c->out->nseg >= DECODE_MAX_SEGS)
		return dfail(c, DECODE_ERR_TOO_DEEP, c->seg->tunnel, off);
	seg_open(c, off);
	return next;
}

/* Decodes layer after layer until one ends the path. */
static void run(struct dctx *c, unsigned next, uint32_t off)
{
	while (next != LAYER_NONE) {
		if (off >= c->end) {
			/* Nothing left for the next header: fine when a length
			 * field said so (gopacket stops silently on an empty
			 * payload), a truncation when the capture cut it. A
			 * fragment has no header, so it is never truncated. */
			if (c->cut && next != LAYER_FRAGMENT)
				dfail(c, DECODE_ERR_TRUNCATED, next, off);
			return;
		}
		switch (next) {
		case LAYER_ETHERNET:
			next = dec_ethernet(c, &off);
			break;
		case LAYER_IPV4:
			next = dec_ipv4(c, &off);
			break;
		case LAYER_TCP:
			next = dec_tcp(c, &off);
			break;
		case LAYER_UDP:
			next = dec_udp(c, &off);
			break;
		case LAYER_IPV6:
			next = dec_ipv6(c, &off);
			break;
		case LAYER_DOT1Q:
			next = dec_dot1q(c, &off);
			break;
		case LAYER_ICMPV4:
			next = dec_icmpv4(c, &off);
			break;
		case LAYER_ICMPV6:
			next = dec_icmpv6(c, &off);
			break;
		case LAYER_ICMPV6_ECHO:
		case LAYER_ICMPV6_ROUTER_SOLICITATION:
		case LAYER_ICMPV6_ROUTER_ADVERTISEMENT:
		case LAYER_ICMPV6_NEIGHBOR_SOLICITATION:
		case LAYER_ICMPV6_NEIGHBOR_ADVERTISEMENT:
		case LAYER_ICMPV6_REDIRECT:
			next = dec_icmpv6_sub(c, &off, next);
			break;
		case LAYER_ARP:
			next = dec_arp(c, &off);
			break;
		case LAYER_LINUX_SLL:
			next = dec_linux_sll(c, &off);
			break;
		case LAYER_LINUX_SLL2:
			next = dec_linux_sll2(c, &off);
			break;
		case LAYER_LOOPBACK:
			next = dec_loopback(c, &off);
			break;
		case LAYER_LLC:
			next = dec_llc(c, &off);
			break;
		case LAYER_LLDP:
			next = dec_lldp(c, &off);
			break;
		case LAYER_MPLS:
			next = dec_mpls(c, &off);
			break;
		case LAYER_IPV6_HOPBYHOP:
		case LAYER_IPV6_ROUTING:
		case LAYER_IPV6_DESTINATION:
			next = dec_ipv6_ext(c, &off, next);
			break;
		case LAYER_IPV6_FRAGMENT:
			next = dec_ipv6_fragment(c, &off);
			break;
		case LAYER_FRAGMENT:
			next = dec_fragment(c, &off);
			break;
		case LAYER_SCTP:
			next = dec_sctp(c, &off);
			break;
		case LAYER_SCTP_CHUNK:
			next = dec_sctp_chunk(c, &off);
			break;
		case LAYER_IGMP:
			next = dec_igmp(c, &off);
			break;
		case LAYER_VRRPV2:
			next = dec_vrrp(c, &off);
			break;
		case LAYER_GRE:
			next = dec_gre(c, &off);
			break;
		case LAYER_ERSPAN2:
			next = dec_erspan2(c, &off);
			break;
		case LAYER_VXLAN:
			next = dec_vxlan(c, &off);
			break;
		case LAYER_GENEVE:
			next = dec_geneve(c, &off);
			break;
		case LAYER_DNS:
		case LAYER_DHCPV4:
		case LAYER_DHCPV6:
		case LAYER_NTP:
		case LAYER_SFLOW:
		case LAYER_TLS:
			next = dec_app(c, &off, next);
			break;
		default:
			return;
		}
	}
}

int decode_linktype_supported(int linktype, char *buf, size_t len)
{
	switch (linktype) {
	case DECODE_LINKTYPE_ETHERNET:
	case DECODE_LINKTYPE_LINUX_SLL:
	case DECODE_LINKTYPE_LINUX_SLL2:
	case DECODE_LINKTYPE_NULL:
	case DECODE_LINKTYPE_LOOP:
	case DECODE_LINKTYPE_RAW:
	case 12:
	case 14:
	case DECODE_LINKTYPE_IPV4:
	case DECODE_LINKTYPE_IPV6:
		return 1;
	}
	if (buf && len)
		snprintf(buf, len,
		         "link type %d is not decoded (supported: EN10MB 1, LINUX_SLL 113, "
		         "LINUX_SLL2 276, NULL 0, LOOP 108, RAW 101/12/14, IPV4 228, IPV6 229)",
		         linktype);
	return 0;
}

int decode_packet(int linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                  struct decode_result *out)
{
	unsigned first;

	out->nseg = 0;
	out->err = DECODE_OK;
	out->err_layer = LAYER_NONE;
	out->err_offset = 0;

	switch (linktype) {
	case DECODE_LINKTYPE_ETHERNET:
		first = LAYER_ETHERNET;
		break;
	case DECODE_LINKTYPE_LINUX_SLL:
		first = LAYER_LINUX_SLL;
		break;
	case DECODE_LINKTYPE_LINUX_SLL2:
		first = LAYER_LINUX_SLL2;
		break;
	case DECODE_LINKTYPE_NULL:
	case DECODE_LINKTYPE_LOOP:
		first = LAYER_LOOPBACK;
		break;
	case DECODE_LINKTYPE_RAW:
	case 12: /* DLT_RAW on most systems */
	case 14: /* DLT_RAW on OpenBSD */
		first = caplen && (data[0] >> 4) == 6 ? LAYER_IPV6 : LAYER_IPV4;
		break;
	case DECODE_LINKTYPE_IPV4:
		first = LAYER_IPV4;
		break;
	case DECODE_LINKTYPE_IPV6:
		first = LAYER_IPV6;
		break;
	default:
		out->err = DECODE_ERR_LINKTYPE;
		return 0;
	}

	struct dctx c = {
	    .data = data,
	    .caplen = caplen,
	    .end = caplen,
	    .outer_len = wirelen > caplen ? wirelen : caplen,
	    .cut = 1, /* link headers have no length field */
	    .out = out,
	};
	seg_open(&c, 0);
	run(&c, first, 0);

	/* The very first header failed: there is no segment to speak of. */
	if (out->err && out->nseg == 1 && out->err_offset == 0 && out->seg[0].nlayers == 0)
		out->nseg = 0;
	return out->nseg;
}
