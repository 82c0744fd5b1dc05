/* lldp.c - LLDPDU parsing (IEEE 802.1AB TLVs, the 802.1 and 802.3
 * organisation extensions the LLDP probe publishes). See lldp.h. */
#include "decode/lldp.h"

#include <string.h>

enum {
	TLV_END = 0,
	TLV_CHASSIS = 1,
	TLV_PORT = 2,
	TLV_TTL = 3,
	TLV_PORT_DESC = 4,
	TLV_SYS_NAME = 5,
	TLV_SYS_DESC = 6,
	TLV_MGMT_ADDR = 8,
	TLV_ORG = 127,
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct decode_lldp_bytes bytes(const uint8_t *p, size_t len)
{
	return (struct decode_lldp_bytes){.p = len ? p : NULL, .len = (uint16_t)len};
}

/* 802.1 (00-80-C2) subtypes; v/len after the OUI and subtype. */
static enum decode_lldp_err org_8021(struct decode_lldp *o, uint8_t sub, const uint8_t *v,
				     size_t len)
{
	switch (sub) {
	case 1: /* Port VLAN ID */
		if (len < 2)
			return DECODE_LLDP_BAD_TLV;
		o->pvid = rd16(v);
		break;
	case 2: /* Port And Protocol VLAN ID */
		if (len < 3)
			return DECODE_LLDP_BAD_TLV;
		if (o->n_ppvids == DECODE_LLDP_MAX_PPVIDS) {
			o->n_ppvids_dropped++;
			break;
		}
		o->ppvids[o->n_ppvids].flags = v[0];
		o->ppvids[o->n_ppvids++].id = rd16(v + 1);
		break;
	case 3: /* VLAN Name: id, name length, name */
		if (len < 3 || (size_t)v[2] > len - 3)
			return DECODE_LLDP_BAD_TLV;
		if (o->n_vlans == DECODE_LLDP_MAX_VLANS) {
			o->n_vlans_dropped++;
			break;
		}
		o->vlans[o->n_vlans].id = rd16(v);
		o->vlans[o->n_vlans++].name = bytes(v + 3, v[2]);
		break;
	case 5: /* VID Usage Digest */
		if (len < 4)
			return DECODE_LLDP_BAD_TLV;
		o->vid_usage_digest = rd32(v);
		break;
	case 6: /* Management VID */
		if (len < 2)
			return DECODE_LLDP_BAD_TLV;
		o->mgmt_vid = rd16(v);
		break;
	case 7: /* Link Aggregation */
		if (len < 5)
			return DECODE_LLDP_BAD_TLV;
		o->has_lag = 1;
		o->lag_status = v[0];
		o->lag_port_id = rd32(v + 1);
		break;
	default: /* protocol identity, EVB, ...: not published */
		break;
	}
	return DECODE_LLDP_OK;
}

/* 802.3 (00-12-0F) subtypes. */
static enum decode_lldp_err org_8023(struct decode_lldp *o, uint8_t sub, const uint8_t *v,
				     size_t len)
{
	switch (sub) {
	case 3: /* Link Aggregation (the older, 802.3 one) */
		if (len < 5)
			return DECODE_LLDP_BAD_TLV;
		o->has_lag = 1;
		o->lag_status = v[0];
		o->lag_port_id = rd32(v + 1);
		break;
	case 4: /* Maximum Frame Size */
		if (len < 2)
			return DECODE_LLDP_BAD_TLV;
		o->mtu = rd16(v);
		break;
	default:
		break;
	}
	return DECODE_LLDP_OK;
}

enum decode_lldp_err decode_lldp(const uint8_t *p, size_t len, struct decode_lldp *out)
{
	memset(out, 0, sizeof(*out));
	size_t off = 0;
	unsigned n = 0; /* TLVs seen: the first three are mandatory, in order */
	while (off < len) {
		if (len - off < 2)
			return DECODE_LLDP_TRUNCATED;
		uint16_t h = rd16(p + off);
		unsigned type = h >> 9;
		size_t tl = h & 0x1ff;
		off += 2;
		if (tl > len - off)
			return DECODE_LLDP_TRUNCATED;
		const uint8_t *v = p + off;
		off += tl;
		if (n < 3 && type != n + 1)
			return DECODE_LLDP_BAD_MANDATORY;
		n++;
		switch (type) {
		case TLV_END:
			off = len;
			break;
		case TLV_CHASSIS:
		case TLV_PORT:
			if (tl < 2)
				return DECODE_LLDP_BAD_MANDATORY;
			if (type == TLV_CHASSIS) {
				out->chassis_subtype = v[0];
				out->chassis_id = bytes(v + 1, tl - 1);
			} else {
				out->port_subtype = v[0];
				out->port_id = bytes(v + 1, tl - 1);
			}
			break;
		case TLV_TTL:
			if (tl < 2)
				return DECODE_LLDP_BAD_MANDATORY;
			out->ttl = rd16(v);
			break;
		case TLV_PORT_DESC:
			out->port_desc = bytes(v, tl);
			break;
		case TLV_SYS_NAME:
			out->sys_name = bytes(v, tl);
			break;
		case TLV_SYS_DESC:
			out->sys_desc = bytes(v, tl);
			break;
		case TLV_MGMT_ADDR: {
			/* address string length (family + address), family, address,
			 * interface numbering subtype, number, OID length, OID */
			if (tl < 1 || v[0] < 2 || (size_t)v[0] + 1 + 6 > tl)
				return DECODE_LLDP_BAD_TLV;
			if (!out->mgmt_addr.len) { /* Skydive keeps the first */
				out->mgmt_subtype = v[1];
				out->mgmt_addr = bytes(v + 2, v[0] - 1u);
			}
			break;
		}
		case TLV_ORG: {
			if (tl < 4)
				return DECODE_LLDP_BAD_TLV;
			enum decode_lldp_err e = DECODE_LLDP_OK;
			if (v[0] == 0x00 && v[1] == 0x80 && v[2] == 0xc2)
				e = org_8021(out, v[3], v + 4, tl - 4);
			else if (v[0] == 0x00 && v[1] == 0x12 && v[2] == 0x0f)
				e = org_8023(out, v[3], v + 4, tl - 4);
			if (e)
				return e;
			break;
		}
		default: /* capabilities and reserved types: not published */
			break;
		}
	}
	return n >= 3 ? DECODE_LLDP_OK : DECODE_LLDP_BAD_MANDATORY;
}

const char *decode_lldp_strerror(enum decode_lldp_err e)
{
	switch (e) {
	case DECODE_LLDP_OK:
		return "ok";
	case DECODE_LLDP_TRUNCATED:
		return "truncated TLV";
	case DECODE_LLDP_BAD_MANDATORY:
		return "Chassis ID, Port ID or TTL TLV missing or malformed";
	case DECODE_LLDP_BAD_TLV:
		return "optional TLV shorter than its fixed part";
	}
	return "unknown error";
}

const char *decode_lldp_chassis_subtype_name(uint8_t s)
{
	static const char *const names[] = {"Reserved",	     "Chassis Component", "Interface Alias",
					    "Port Component", "MAC Address",	   "Network Address",
					    "Interface Name", "Local"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "Unknown";
}

const char *decode_lldp_port_subtype_name(uint8_t s)
{
	static const char *const names[] = {"Reserved",	    "Interface Alias", "Port Component",
					    "MAC Address",    "Network Address", "Interface Name",
					    "Agent Circuit ID", "Local"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "Unknown";
}
