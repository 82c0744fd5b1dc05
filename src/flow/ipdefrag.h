/* ipdefrag.h - IPv4 and IPv6 fragment reassembly ahead of flow accounting
 * (the IPDefrag capture option; rules in docs/FLOWS.md, after Skydive's
 * flow/ipdefrag.go).
 *
 * A fragment is kept until its datagram is whole; then the caller gets one
 * frame: the first fragment's link and IP headers (lengths and fragment
 * fields rewritten, the IPv6 fragment header removed) followed by the whole
 * payload, which it decodes and accounts as one packet. Memory is bounded
 * and reserved at creation, nothing is allocated per packet: at most
 * max_datagrams datagrams in reassembly, max_per_pair of them between one
 * pair of addresses (a flood between two hosts cannot take every slot), at
 * most IPDEFRAG_MAX_FRAGS fragments and 65535 payload bytes per datagram,
 * and max_bytes of fragment data in all. A datagram not whole timeout_s after
 * its first fragment is given up. Every fragment refused or given up is
 * counted (struct ipdefrag_stats). Single-threaded: one per flow table. */
#ifndef SKYDIVE_IPDEFRAG_H
#define SKYDIVE_IPDEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"

#define IPDEFRAG_MAX_FRAGS 64   /* fragments per datagram */
#define IPDEFRAG_MAX_HDR 512    /* link + IP headers kept from the first fragment */
#define IPDEFRAG_MAX_PAYLOAD 65535u

struct ipdefrag_opts {
	uint32_t max_datagrams; /* in reassembly at once; 0 = 1024 */
	uint32_t max_per_pair;  /* of them between one address pair; 0 = 64 */
	size_t max_bytes;       /* fragment data held in all; 0 = 4 MiB */
	uint32_t timeout_s;     /* 0 = 30 (Skydive's flush age, Linux's ipfrag_time) */
};

struct ipdefrag_stats {
	uint64_t fragments;   /* fragment frames given to ipdefrag_add */
	uint64_t reassembled; /* datagrams made whole */
	uint64_t errors;      /* fragments refused as invalid: overlapping or
	                         duplicate, past 65535 bytes or past the last
	                         fragment, too many, a non-final one not a
	                         multiple of 8 bytes, empty, cut by the capture */
	uint64_t no_room;     /* fragments refused for want of memory (datagram
	                         slots, the pair's share, fragment bytes) */
	uint64_t timeouts;    /* datagrams given up incomplete */
	uint64_t timeout_fragments; /* fragments they held */
	uint32_t in_flight;   /* datagrams in reassembly now */
	uint32_t peak_in_flight;
	size_t bytes_held, peak_bytes; /* fragment data (whole chunks) */
};

struct ipdefrag;

/* NULL with a message in err on bad options or no memory. */
struct ipdefrag *ipdefrag_new(const struct ipdefrag_opts *o, char *err, size_t errlen);
void ipdefrag_free(struct ipdefrag *d); /* NULL is fine */

enum ipdefrag_res {
	IPDEFRAG_HELD = 0,    /* kept: its datagram is not whole yet */
	IPDEFRAG_REFUSED = 1, /* not kept (counted in errors or no_room) */
	IPDEFRAG_DONE = 2,    /* the datagram is whole: see struct ipdefrag_out */
};

struct ipdefrag_out {
	const uint8_t *frame; /* the reassembled frame, owned by d, valid until
	                         the next call */
	uint32_t len;
	uint32_t wirelen;   /* sum of the fragments' wire lengths */
	uint32_t fragments; /* fragments held before the one that completed it
	                       (Skydive's IPMetric.Fragments for a datagram) */
	uint32_t errors;    /* fragments of this datagram refused as invalid
	                       (IPMetric.FragmentErrors) */
};

/* Takes a frame whose segment 0 is g with g->is_fragment set (decode_packet
 * of the same frame). frame[0..caplen) is only read during the call. */
enum ipdefrag_res ipdefrag_add(struct ipdefrag *d, int linktype, const uint8_t *frame,
			       uint32_t caplen, uint32_t wirelen, const struct decode_seg *g,
			       uint64_t ts_ns, struct ipdefrag_out *out);
/* Gives up the datagrams whose first fragment came timeout_s before now_ns. */
void ipdefrag_expire(struct ipdefrag *d, uint64_t now_ns);
/* Gives up every datagram (end of capture); counted as timeouts. */
void ipdefrag_flush(struct ipdefrag *d);
const struct ipdefrag_stats *ipdefrag_stats(const struct ipdefrag *d);
/* Bytes of memory d holds now (touched) and at most (its reservation). */
size_t ipdefrag_memory(const struct ipdefrag *d);
size_t ipdefrag_memory_bound(const struct ipdefrag *d);

#endif
