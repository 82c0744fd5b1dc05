/* app.c - application layers recognised by port for the LayersPath (DNS,
 * DHCPv4, DHCPv6, NTP, sFlow, TLS) and the UDP ports that carry tunnels.
 * Only their presence and minimal size are checked; they end the path. */
#include "decode_int.h"

static unsigned udp_port(uint16_t port)
{
	switch (port) {
	case 53:
		return LAYER_DNS;
	case 67:
	case 68:
		return LAYER_DHCPV4;
	case 123:
		return LAYER_NTP;
	case 546:
	case 547:
		return LAYER_DHCPV6;
	case 4789:
	case 8472: /* Linux's default VXLAN port, registered by Skydive */
		return LAYER_VXLAN;
	case 6081:
		return LAYER_GENEVE;
	case 6343:
		return LAYER_SFLOW;
	}
	return LAYER_NONE;
}

/* gopacket looks the destination port up first, then the source port. */
unsigned udp_app(uint16_t sport, uint16_t dport)
{
	unsigned l = udp_port(dport);
	return l != LAYER_NONE ? l : udp_port(sport);
}

static unsigned tcp_port(uint16_t port)
{
	switch (port) {
	case 53:
		return LAYER_DNS;
	case 443:
		return LAYER_TLS;
	}
	return LAYER_NONE;
}

unsigned tcp_app(uint16_t sport, uint16_t dport)
{
	unsigned l = tcp_port(dport);
	return l != LAYER_NONE ? l : tcp_port(sport);
}

unsigned decode_tcp_app(uint16_t sport, uint16_t dport)
{
	return tcp_app(sport, dport);
}

unsigned dec_app(struct dctx *c, uint32_t *offp, unsigned layer)
{
	uint32_t off = *offp, min;
	switch (layer) {
	case LAYER_DNS:
		min = 12; /* header: id, flags, four counts */
		break;
	case LAYER_DHCPV4:
		min = 240; /* BOOTP fixed part + magic cookie */
		break;
	case LAYER_DHCPV6: {
		uint8_t type = rd8(c, off);
		min = (type == 12 || type == 13) ? 34 : 4; /* relay: hop count + 2 addresses */
		break;
	}
	case LAYER_NTP:
		min = 48;
		break;
	case LAYER_SFLOW:
		/* version, agent address type, agent address (IPv4 or IPv6),
		 * sub-agent id, sequence, uptime, sample count */
		min = rd32(c, off + 4) == 2 ? 40 : 28;
		break;
	case LAYER_TLS:
		/* Port 443 carries more than TLS records: like gopacket take
		 * it only when it starts with a record header (content type
		 * change_cipher_spec..application_data, major version 3). */
		if (!have(c, off, 2))
			return LAYER_NONE;
		{
			uint8_t type = rd8(c, off);
			if (type < 20 || type > 23 || rd8(c, off + 1) != 3)
				return LAYER_NONE;
		}
		min = 5;
		break;
	default:
		return LAYER_NONE;
	}
	if (!have(c, off, min))
		return dfail(c, DECODE_ERR_TRUNCATED, layer, off);
	push(c, layer);
	if (layer == LAYER_DNS || layer == LAYER_DHCPV4) {
		c->seg->app = (uint8_t)layer;
		c->seg->app_off = off;
		c->seg->app_len = c->end - off;
	}
	*offp = c->end;
	return LAYER_NONE;
}
