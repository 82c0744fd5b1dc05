/* xlayer.h - Skydive's extra layers (capture option ExtraLayers): the DNS,
 * DHCPv4 and VRRP messages of a packet decoded into the fields Skydive keeps
 * in a flow (flow/flow.go newApplicationLayer/updateDNSLayer, the messages of
 * flow/layers/{dns,dhcpv4,vrrpv2}.proto).
 *
 * The result is a compact binary "layer blob": the bytes of those flow.Flow
 * fields as protobuf (DHCPv4 = 1000, DNS = 1001, VRRPv2 = 1002, each a
 * length-delimited message in Skydive's layout). The same bytes travel to the
 * analyzer (flow_pb.c), are stored (flow_rec), and are read back for JSON and
 * Gremlin (src/flow/xlayer.c): one typed form end to end, no text. Each
 * decoder accepts exactly what gopacket's decoder accepts (so a message
 * gopacket refuses leaves the flow without the layer, as in Skydive), reads
 * only msg[0..len), allocates nothing and writes at most cap bytes. */
#ifndef SKYDIVE_XLAYER_DEC_H
#define SKYDIVE_XLAYER_DEC_H

#include <stddef.h>
#include <stdint.h>

/* ExtraLayers bits (flow/flow.go) */
#define XL_VRRP 1
#define XL_DNS 2
#define XL_DHCPV4 4
#define XL_ALL 255

/* flow.Flow field numbers (flow/flow.proto) */
#define XL_FIELD_DHCPV4 1000
#define XL_FIELD_DNS 1001
#define XL_FIELD_VRRP 1002

/* Largest blob of one flow (all its layers): bounds the agent's per-flow slot
 * and the store's dictionary string (escaped, at most twice this). */
#define XL_BLOB_MAX 2047

/* Return values: > 0 bytes written; 0 the message is not one gopacket would
 * decode (no layer); -ENOSPC the layer alone does not fit in cap. */

/* DNS message msg[0..len) seen at ts_ns (ns since the epoch: Skydive's
 * DNS.Timestamp). Records that do not fit in cap are left out (the header,
 * questions and timestamp always are written first) and *cut is set. */
int xl_dns_encode(const uint8_t *msg, uint32_t len, uint64_t ts_ns, uint8_t *out, uint32_t cap,
		  int *cut);
/* DHCPv4 message (the UDP payload). */
int xl_dhcp4_encode(const uint8_t *msg, uint32_t len, uint8_t *out, uint32_t cap);
/* VRRP advertisement (the IP payload), any version (gopacket decodes v3 with
 * its VRRPv2 decoder: the same fields, adver_int the low byte). */
int xl_vrrp_encode(const uint8_t *msg, uint32_t len, uint8_t *out, uint32_t cap);
/* 1 when gopacket decodes msg[0..len) as a VRRP advertisement. */
int xl_vrrp_valid(const uint8_t *msg, uint32_t len);

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629), 0 if none
 * (n >= 1). */
uint32_t xl_utf8_len(const uint8_t *s, uint32_t n);

/* gopacket's names (layers/dns.go String()) */
const char *xl_dns_type_name(uint16_t t);
const char *xl_dns_class_name(uint16_t c);
const char *xl_dns_rcode_name(uint8_t rc);
const char *xl_dns_opcode_name(uint8_t op);
const char *xl_dns_optcode_name(uint16_t code);

#endif
