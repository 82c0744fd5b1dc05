/* tcp_reasm.h - TCP stream reassembly per flow and direction (the
 * ReassembleTCP capture option; rules in docs/FLOWS.md, after Skydive's
 * flow/tcpassembler.go and gopacket's tcpassembly).
 *
 * Each TCP flow of a flow table has two streams (0: A to B, 1: B to A). A
 * segment that continues its stream is delivered at once; one that comes
 * ahead of a hole is copied aside until the hole fills. Buffers are bounded
 * and reserved at creation (no allocation per packet): at most
 * stream_segments segments and stream_bytes bytes per stream, max_segments
 * and max_bytes in all. When a buffer would overflow, or a hole stays open
 * timeout_s, or the flow ends, the hole is given up: the bytes after it are
 * delivered with the number of bytes missing, and the stream's Skipped /
 * SkippedBytes count it (struct flow_tcp_stream, Skydive's TCPMetric).
 *
 * For application decoders (DNS over TCP ...): register a tcp_stream_fn with
 * flow_table_set_tcp_stream() (flow_table.h) on a table made with
 * reassemble_tcp; it then gets every flow's payload, in order, per
 * direction:
 *
 *     static void on_data(void *user, const struct flow_table *t,
 *                         const struct flow *f, int dir, const uint8_t *data,
 *                         uint32_t len, uint64_t skipped, unsigned flags,
 *                         uint64_t ts_ns)
 *     {
 *             if (skipped) reset_parser(f, dir);  // a hole: resync
 *             feed_parser(f, dir, data, len);     // bytes valid this call only
 *             if (flags & TCP_REASM_END) finish(f, dir);
 *     }
 *
 * data is borrowed for the call; skipped > 0 says bytes are missing just
 * before data (a hole given up, or bytes the capture cut); f and t may be
 * read, not changed. The callback runs on the capture thread, inside
 * flow_table_feed / tick / flush. */
#ifndef SKYDIVE_TCP_REASM_H
#define SKYDIVE_TCP_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "flow/flow.h"

#define TCP_REASM_START 0x1 /* the first bytes after the SYN */
#define TCP_REASM_END 0x2   /* the stream ends here (FIN, RST or the flow left
                               the table): no more data; len may be 0, and
                               data is then NULL */

struct flow_table;
typedef void (*tcp_stream_fn)(void *user, const struct flow_table *t, const struct flow *f,
			      int dir, const uint8_t *data, uint32_t len, uint64_t skipped,
			      unsigned flags, uint64_t ts_ns);

/* ---- the engine (used by flow_table.c) ----------------------------------- */

struct tcp_reasm_opts {
	uint32_t slots;           /* flow slots (the table's max_flows + 1) */
	uint32_t max_segments;    /* buffered segments in all; 0 = 16384 */
	size_t max_bytes;         /* buffered bytes in all; 0 = 8 MiB */
	uint32_t stream_segments; /* per stream; 0 = 64 */
	uint32_t stream_bytes;    /* per stream; 0 = 256 KiB */
	uint32_t timeout_s;       /* a hole given up after; 0 = 30 */
};

struct tcp_reasm_stats {
	uint64_t segments;      /* TCP segments seen */
	uint64_t buffered;      /* copied aside ahead of a hole */
	uint64_t gaps_full;     /* holes given up: a buffer was full */
	uint64_t gaps_timeout;  /* holes given up: open timeout_s */
	uint64_t gaps_closed;   /* holes given up: the flow ended */
	uint64_t cut;           /* segments the capture cut (bytes skipped) */
	uint32_t segs_held, peak_segs_held;
	size_t bytes_held, peak_bytes_held;
};

/* The sink of a stream's bytes, by flow slot. */
typedef void (*tcp_reasm_fn)(void *user, uint32_t slot, int dir, const uint8_t *data,
			     uint32_t len, uint64_t skipped, unsigned flags, uint64_t ts_ns);

struct tcp_reasm;

/* metrics: the table's per-slot TCPMetric array (borrowed, o->slots long):
 * seg[dir] is kept up to date. NULL with a message in err. */
struct tcp_reasm *tcp_reasm_new(const struct tcp_reasm_opts *o, struct flow_tcp_metric *metrics,
				tcp_reasm_fn sink, void *user, char *err, size_t errlen);
void tcp_reasm_free(struct tcp_reasm *r); /* NULL is fine */

/* One TCP segment of the flow in slot, direction dir; g is its segment of
 * decode_packet(frame) (g->l4 is TCP). */
void tcp_reasm_segment(struct tcp_reasm *r, uint32_t slot, int dir, const uint8_t *frame,
		       uint32_t caplen, const struct decode_seg *g, uint64_t ts_ns);
/* The flow in slot leaves: holes given up, buffers released, both streams
 * ended (TCP_REASM_END). A slot is clean afterwards. */
void tcp_reasm_close(struct tcp_reasm *r, uint32_t slot, uint64_t ts_ns);
/* A slot taken by a new flow (no delivery). */
void tcp_reasm_reset(struct tcp_reasm *r, uint32_t slot);
/* Gives up the holes open since timeout_s before now_ns. */
void tcp_reasm_expire(struct tcp_reasm *r, uint64_t now_ns);
const struct tcp_reasm_stats *tcp_reasm_stats(const struct tcp_reasm *r);
/* Bytes of memory r holds now (touched; with the stream state of nslots
 * flow slots in use), and at most (buffers only: the stream state grows
 * with the table's flows). */
size_t tcp_reasm_memory(const struct tcp_reasm *r, uint32_t nslots);
size_t tcp_reasm_memory_bound(const struct tcp_reasm *r);

#endif
