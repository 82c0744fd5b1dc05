/* lldp.h - bounds-checked, allocation-free parsing of one LLDPDU (IEEE
 * 802.1AB): the TLVs the LLDP topology probe (topology/lldp.c) publishes,
 * with the names gopacket's layers.LinkLayerDiscovery(Info) give them, as
 * Skydive's topology/probes/lldp/lldp.go reads them.
 *
 * Byte strings point into the caller's buffer (not NUL-terminated; valid as
 * long as the buffer is). Nothing is allocated. */
#ifndef SKYDIVE_DECODE_LLDP_H
#define SKYDIVE_DECODE_LLDP_H

#include <stddef.h>
#include <stdint.h>

#define DECODE_LLDP_ETHERTYPE 0x88cc
#define DECODE_LLDP_MAX_VLANS 16 /* 802.1 VLAN Name TLVs kept (more are counted) */
#define DECODE_LLDP_MAX_PPVIDS 16

struct decode_lldp_bytes {
	const uint8_t *p;
	uint16_t len; /* 0 = absent */
};

struct decode_lldp {
	uint8_t chassis_subtype;
	struct decode_lldp_bytes chassis_id;
	uint8_t port_subtype;
	struct decode_lldp_bytes port_id;
	uint16_t ttl; /* seconds; 0 = the neighbour is leaving */
	struct decode_lldp_bytes port_desc, sys_name, sys_desc;
	uint8_t mgmt_subtype; /* IANA address family of the first Management Address */
	struct decode_lldp_bytes mgmt_addr;
	/* IEEE 802.1 organisation TLVs (OUI 00-80-C2) */
	uint16_t pvid, mgmt_vid;
	uint32_t vid_usage_digest;
	int has_lag; /* 802.1 subtype 7 or 802.3 subtype 3 */
	uint8_t lag_status;
	uint32_t lag_port_id;
	size_t n_vlans, n_vlans_dropped;
	struct {
		uint16_t id;
		struct decode_lldp_bytes name;
	} vlans[DECODE_LLDP_MAX_VLANS];
	size_t n_ppvids, n_ppvids_dropped;
	struct {
		uint8_t flags; /* bit 1 supported, bit 2 enabled */
		uint16_t id;
	} ppvids[DECODE_LLDP_MAX_PPVIDS];
	/* IEEE 802.3 organisation TLVs (OUI 00-12-0F) */
	uint16_t mtu; /* 0 = absent */
};

enum decode_lldp_err {
	DECODE_LLDP_OK = 0,
	DECODE_LLDP_TRUNCATED,	   /* a TLV runs past the frame */
	DECODE_LLDP_BAD_MANDATORY, /* Chassis ID, Port ID, TTL missing, out of order or malformed */
	DECODE_LLDP_BAD_TLV,	   /* an optional TLV shorter than its fixed part */
};

/* Parses the LLDPDU at p (the bytes after the Ethernet type). Returns
 * DECODE_LLDP_OK with out filled, or an error (out is then partial). */
enum decode_lldp_err decode_lldp(const uint8_t *p, size_t len, struct decode_lldp *out);
const char *decode_lldp_strerror(enum decode_lldp_err e);

/* gopacket's String() of the subtypes ("MAC Address", "Interface Name", ...;
 * "Unknown" past the table), which Skydive publishes as ChassisIDType and
 * PortIDType and mixes into the node IDs. */
const char *decode_lldp_chassis_subtype_name(uint8_t subtype);
const char *decode_lldp_port_subtype_name(uint8_t subtype);

#endif
