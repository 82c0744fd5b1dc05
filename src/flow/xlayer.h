/* xlayer.h - the extra layers of flows (capture option ExtraLayers: Skydive's
 * DNS, DHCPv4, VRRP) after decoding: which packet's layer a flow keeps, where
 * a flow table keeps it, and how the layer blob (src/decode/xlayer.h: the
 * flow.Flow fields 1000-1002 as protobuf) is shown as JSON, looked up by
 * Gremlin and stored as a dictionary string.
 *
 * Rules (flow/flow.go): DHCPv4 and VRRP come from the flow's first packet
 * only (newApplicationLayer, run once when the flow is made); DNS from every
 * packet that has a DNS layer, the latest replacing the previous
 * (Update -> updateDNSLayer). A packet whose message gopacket would refuse
 * changes nothing. */
#ifndef SKYDIVE_FLOW_XLAYER_H
#define SKYDIVE_FLOW_XLAYER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "decode/decode.h"
#include "decode/xlayer.h"

/* ---- per flow table: one bounded slot per flow that has a layer ---------- */

/* Slots of a table: layers of at most this many flows at once (a DNS flow
 * lives 10 s); a flow that finds none is counted in no_slot. */
#define XLAYER_SLOTS_MAX 4096

struct xlayer_stats {
	uint64_t kept;     /* packets whose layer was stored */
	uint64_t no_slot;  /* layers not kept: every slot in use */
	uint64_t cut;      /* DNS messages whose last records did not fit XL_BLOB_MAX */
	uint64_t tcp_partial; /* DNS over TCP messages not whole in one segment
	                         (without TCP reassembly): not decoded */
};

struct xlayer_store;

/* Layers of up to max_flows flow slots (1..max_flows), kinds in mask (XL_*).
 * Memory is reserved, touched as slots are used. NULL on no memory. */
struct xlayer_store *xlayer_store_new(uint32_t max_flows, unsigned mask);
void xlayer_store_free(struct xlayer_store *x); /* NULL is fine */
/* Accounts the packet of segment g (frame: the whole frame, borrowed) for the
 * flow in slot; first: the flow's first packet. No allocation. */
void xlayer_packet(struct xlayer_store *x, uint32_t slot, int first, const struct decode_seg *g,
		   const uint8_t *frame, uint64_t ts_ns);
/* A whole DNS message framed from the flow's reassembled TCP stream
 * (flow/dns_tcp.h), seen at ts_ns: it replaces the flow's DNS layer as a
 * packet's message would (one gopacket refuses changes nothing). With TCP
 * reassembly the caller gives TCP segments' DNS here, not to xlayer_packet. */
void xlayer_dns(struct xlayer_store *x, uint32_t slot, const uint8_t *msg, uint32_t len,
		uint64_t ts_ns);
/* The flow in slot is gone: its layers too. */
void xlayer_drop(struct xlayer_store *x, uint32_t slot);
/* The blob of the flow in slot (NULL, *len 0 when none); valid until the
 * flow's next packet. */
const uint8_t *xlayer_get(const struct xlayer_store *x, uint32_t slot, uint32_t *len);
const struct xlayer_stats *xlayer_store_stats(const struct xlayer_store *x);

/* ---- the blob ----------------------------------------------------------- */

/* The blob as a NUL-free string (0x00 -> 01 01, 0x01 -> 01 02) for the store's
 * dictionary; out has room for 2 * len + 1. Returns the length. */
size_t xlayer_escape(char *out, const uint8_t *blob, size_t len);
/* Back; -1 when s is not such a string or does not fit cap. */
long xlayer_unescape(uint8_t *out, size_t cap, const char *s);
/* 0 when the blob parses as flow.Flow fields 1000-1002 of the expected
 * shape (what an agent sent; each kept as given), else -1. */
int xlayer_check(const uint8_t *blob, size_t len);

/* The flow.Flow fields of the blob: up to max of them into num[], data[] and
 * dlen[] (pointing into blob). Returns how many, or -1 when malformed. */
int xlayer_fields(const uint8_t *blob, size_t len, uint32_t *num, const uint8_t **data,
		  size_t *dlen, int max);

/* Appends the layers as Skydive's JSON keys ("DHCPv4", "DNS", "VRRPv2", in
 * that order) to an object being written; *first as flow_json's key(). */
void xlayer_json_buf(struct buf *b, int *first, const uint8_t *blob, size_t len);
/* The same into a jansson object; 0 or -1 on no memory. */
int xlayer_json_obj(json_t *o, const uint8_t *blob, size_t len);

/* A Gremlin field of the layers (flow/flow.go GetFieldString/GetFieldInt64:
 * "DNS.<Go field>" or "DHCPv4.<Go field>", through single sub-messages such
 * as DNS.Timestamp.Seconds; lists, bytes and booleans are not fields, nor is
 * VRRPv2, whose Go name is not an ExtraLayers word). Returns 1 with an integer
 * (*is_str 0, *i) or a string (*is_str 1, s[0..slen) NUL-terminated, cut
 * to slen - 1), or 0 when the flow has no such field. */
int xlayer_field(const uint8_t *blob, size_t len, const char *key, int *is_str, int64_t *i,
		 char *s, size_t slen);

#endif
