/* dns_tcp.h - DNS over TCP framed from reassembled streams (ReassembleTCP
 * with ExtraLayers DNS; rules in docs/FLOWS.md).
 *
 * Over TCP each DNS message comes after a 2-byte big-endian length (RFC 1035
 * 4.2.2), and a message may be split over segments, or several may share
 * one. The flow table feeds the in-order bytes of each port-53 stream
 * (tcp_reasm.h's stream callback) to dns_tcp_data; every whole message is
 * handed to a dns_tcp_fn (the flow table's: the DNS decoder, updating the
 * flow's DNS layer, xlayer.h).
 *
 * Bounded, reserved at creation, nothing allocated per packet: the state of
 * every flow slot's two streams in an array whose pages are touched only by
 * DNS streams; an unfinished message's bytes in a chunkpool of max_bytes,
 * room for the whole message taken when its length is read. Skipped and
 * counted (struct dns_tcp_stats): a message longer than msg_max, one that
 * finds no room, one a hole in the stream fell in, an unfinished one at the
 * stream's end, and a stream whose framing a hole lost (its later bytes are
 * not read: where the next message starts is unknown). Single-threaded: one
 * framer belongs to one flow table. */
#ifndef SKYDIVE_DNS_TCP_H
#define SKYDIVE_DNS_TCP_H

#include <stddef.h>
#include <stdint.h>

#define DNS_TCP_MSG_MAX 16384u     /* default largest message held */
#define DNS_TCP_BYTES   (1u << 20) /* default bytes held in all */

struct dns_tcp_opts {
	uint32_t slots;   /* flow slots (the table's max_flows + 1) */
	size_t max_bytes; /* unfinished messages held in all; 0 = DNS_TCP_BYTES */
	uint32_t msg_max; /* largest message; 0 = DNS_TCP_MSG_MAX, at most 65535 */
};

struct dns_tcp_stats {
	uint64_t messages;   /* messages handed on */
	uint64_t too_big;    /* longer than msg_max: skipped */
	uint64_t no_room;    /* no room to hold it unfinished: skipped */
	uint64_t hole;       /* a hole fell inside it: skipped (framing kept) */
	uint64_t lost_sync;  /* streams whose framing a hole lost */
	uint64_t unfinished; /* unfinished when its stream ended */
	size_t bytes_held, peak_bytes_held;
};

/* A whole message msg[0..len) (borrowed for the call; len may be below a
 * DNS header: the decoder refuses it) of the stream of slot, direction dir;
 * ts_ns: the latest arrival among its segments (when it became whole). */
typedef void (*dns_tcp_fn)(void *user, uint32_t slot, int dir, const uint8_t *msg, uint32_t len,
                           uint64_t ts_ns);

struct dns_tcp;

/* NULL with a message in err (bad limits, no memory). */
struct dns_tcp *dns_tcp_new(const struct dns_tcp_opts *o, dns_tcp_fn fn, void *user, char *err,
                            size_t errlen);
void dns_tcp_free(struct dns_tcp *d); /* NULL is fine */

/* Bytes of the stream of slot, direction dir, as tcp_reasm delivers them:
 * skipped bytes missing just before data[0..len), flags TCP_REASM_* (END:
 * the stream is over; its state is released). */
void dns_tcp_data(struct dns_tcp *d, uint32_t slot, int dir, const uint8_t *data, uint32_t len,
                  uint64_t skipped, unsigned flags, uint64_t ts_ns);
/* Forgets both streams of slot without counting (a slot taken anew). */
void dns_tcp_reset(struct dns_tcp *d, uint32_t slot);
const struct dns_tcp_stats *dns_tcp_stats(const struct dns_tcp *d);
/* Bytes of memory d has touched (the stream state of nslots slots at most). */
size_t dns_tcp_memory(const struct dns_tcp *d, uint32_t nslots);

#endif
