/* flow_rec.h - the store's typed flow state and raw packet: fixed-size records without
 * pointers (strings are small ids into a bounded per-block dictionary), and their codec
 * into the payload of a segment block (segment.h).
 *
 * A flow block's payload is the block's dictionary (u32 count, then per string a u16
 * length and its bytes; id 0 is "" and is not stored) followed by the records
 * byte-shuffled: byte k of every record, then byte k+1 ... (fixed-size records of
 * mostly small or repeated values then compress 3-5x better with zstd). A raw block's
 * payload is its headers (struct raw_rec) then the packets' bytes, in order. Both are
 * in the host's byte order (little-endian on every platform we build for); a block
 * says its version, and a reader refuses what it does not know. */
#ifndef SKYDIVE_FLOW_REC_H
#define SKYDIVE_FLOW_REC_H

#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"

/* FREC_S_LAYERS: the extra layers (src/decode/xlayer.h blob, NUL-free through
 * xlayer_escape: at most 2 * XL_BLOB_MAX < FREC_STR_MAX bytes), "" for none */
enum { FREC_S_PATH, FREC_S_APP, FREC_S_NODE, FREC_S_CAPTURE, FREC_S_LAYERS, FREC_NSTR };

/* One flow state as received (flow.Flow of proto/flow.proto, or a flow table's emit).
 * Times in ms since the epoch. Every byte is defined (no implicit padding), so records
 * compare and checksum as bytes. */
struct flow_rec {
	uint64_t uuid, l2, l3, parent; /* UUID, TrackingID, L3TrackingID, ParentUUID */
	int64_t start, last, ingest;   /* Metric.Start/Last; when the store received it */
	int64_t lu_start, lu_last;     /* LastUpdateMetric window */
	uint64_t abp, abb, bap, bab;   /* Metric counters */
	uint64_t lu_abp, lu_abb, lu_bap, lu_bab;
	int64_t rtt_ns;
	uint64_t link_id;
	struct flow_tcp_metric tcp; /* when has_tcp (FREC_TCP_* bits) */
	/* IPDefrag: IPMetric when has_ip */
	struct flow_ip_metric ip;
	uint8_t has_ip, pad_ip[7];
	uint8_t net_a[16], net_b[16];
	uint8_t link_a[6], link_b[6];
	uint32_t net_id, raw_captured;
	uint16_t tp_a, tp_b, icmp_id;
	uint16_t str[FREC_NSTR]; /* LayersPath, Application, NodeTID, CaptureID, layers */
	uint8_t icmp_type, icmp_code, icmp_ver, has_link, ip_ver, tproto, finish, has_tcp;
	uint8_t pad[4];
};
_Static_assert(sizeof(struct flow_rec) == 368, "flow_rec has implicit padding");

/* has_tcp bits: which parts of tcp a record holds */
#define FREC_TCP_FLAGS 0x1   /* SYN/FIN/RST times and TTLs (ExtraTCPMetric) */
#define FREC_TCP_STREAMS 0x2 /* seg[] (ReassembleTCP) */

/* A raw packet: wirelen is the frame's length on the wire; ts_ns nanoseconds since the
 * epoch; index its position in the flow, from 1. Its caplen bytes follow in the block's
 * data, unless ref is k > 0: then it is the same frame as record k - 1 of the block (a
 * frame kept by a tunnel's outer and inner flows is stored once). */
struct raw_rec {
	uint64_t uuid;
	int64_t ts_ns;
	uint32_t index, linktype, caplen, wirelen;
	uint32_t ref, pad;
};

/* ---- dictionary ---------------------------------------------------------------------
 * Distinct strings of one block (or of one query), id 0 = "". Bounded: at most max
 * strings and max_bytes of text; frec_dict_add() says when it is full, and the writer
 * then seals the block and starts a new, empty dictionary, so memory never grows with
 * the number of distinct strings seen. */
#define FREC_DICT_MAX       4096
#define FREC_DICT_MAX_BYTES (256u << 10)
#define FREC_STR_MAX        4095 /* longer strings are cut (a LayersPath is ~60 bytes) */

struct frec_dict {
	char **v;        /* v[id - 1] */
	uint32_t n, cap; /* strings, slots of v */
	uint32_t *slot;  /* open addressing: id, 0 = empty */
	uint32_t nslot;
	size_t bytes;                /* text held */
	uint32_t max;                /* 0 = FREC_DICT_MAX */
	size_t max_bytes;            /* 0 = FREC_DICT_MAX_BYTES */
};

/* Id of s (NULL or "" is 0). -ENOSPC when the dictionary is full (nothing added),
 * -ENOMEM. */
int frec_dict_add(struct frec_dict *d, const char *s);
const char *frec_dict_get(const struct frec_dict *d, uint32_t id); /* "" when unknown */
void frec_dict_reset(struct frec_dict *d); /* empty, memory kept */
void frec_dict_free(struct frec_dict *d);  /* the struct itself is the caller's */

/* ---- payload codec ------------------------------------------------------------------ */

/* Bytes frec_encode_flows() needs at most. */
size_t frec_flows_bound(const struct frec_dict *d, size_t n);
/* Writes the dictionary and the n records (shuffled) into out (at least
 * frec_flows_bound bytes); returns the bytes written. */
size_t frec_encode_flows(const struct frec_dict *d, const struct flow_rec *r, size_t n,
			 uint8_t *out);

/* A decoded flow payload: the records (unshuffled, malloc'd) and the dictionary. */
struct frec_flows {
	struct flow_rec *rec;
	size_t n;
	struct frec_dict dict;
};
/* Decodes a payload of n records. 0, -EINVAL (lengths that do not add up, a string id
 * beyond the dictionary: nothing kept) or -ENOMEM. Free with frec_flows_free. */
int frec_decode_flows(const uint8_t *p, size_t len, size_t n, struct frec_flows *out);
/* The same for a block of segment version `version`: 1 (records of four strings, read
 * with an empty layers string) or 2 (this layout). */
int frec_decode_flows_v(const uint8_t *p, size_t len, size_t n, unsigned version,
			struct frec_flows *out);
void frec_flows_free(struct frec_flows *f);

/* A raw payload: n headers then the data of those that are not refs; frec_decode_raw
 * checks that the caplens add up to the data's length and that every ref names an
 * earlier record that is not a ref, with the same caplen (-EINVAL otherwise), points
 * *hdr into p (aligned when p is) and fills pkt[i] (n entries, the caller's) with
 * record i's bytes. */
int frec_decode_raw(const uint8_t *p, size_t len, size_t n, const struct raw_rec **hdr,
		    const uint8_t **pkt);

#endif
