/* flow_table.h - the per-capture flow table: decode, find or create, count.
 *
 * One table belongs to one capture worker thread: no locks. Flows live in a
 * pool of max_flows records reserved up front (pages are touched only as flows
 * are created); when the pool is full a new flow is refused and counted in
 * FlowDropped. Flows leave through the emit callback (expiry, flush) and are
 * reported through it at each periodic update. Every capture type feeds the
 * same entry points: frames (flow_table_feed) from afpacket, pcap, pcapsocket,
 * sFlow samples and mirrors; ready-made flow records (flow_table_feed_record)
 * from the ebpf capture. */
#ifndef SKYDIVE_FLOW_TABLE_H
#define SKYDIVE_FLOW_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "flow/appmap.h"
#include "flow/flow.h"
#include "flow/tcp_reasm.h"

struct flow_table;

struct flow_table_opts {
	enum flow_key_mode key_mode;
	int64_t raw_packet_limit; /* 0 none, N > 0 the first N per flow, -1 all */
	uint32_t header_size;     /* raw packet truncation; 0 = 256 */
	int extra_tcp_metric;
	uint32_t max_flows;     /* 0 = 500000 (flow.max_entries) */
	uint32_t expire_s;      /* idle timeout; 0 = 600 (flow.expire) */
	uint32_t update_s;      /* update period; 0 = 60 (flow.update) */
	uint32_t arp_timeout_s; /* 0 = 10 (flow.application_timeout.arp) */
	uint32_t dns_timeout_s; /* 0 = 10 (flow.application_timeout.dns) */
	uint32_t fin_hold_s;    /* finished TCP flows kept; 0 = 15 */
	uint64_t raw_budget;    /* bytes of raw packets accepted per update window
	                           (what the receiver must hold until the next
	                           update ships them); 0 = no limit */
	unsigned extra_layers;        /* ExtraLayers bits (XL_* of decode/xlayer.h) */
	const struct appmap *appmap; /* borrowed; may be NULL */
	const char *node_tid;        /* borrowed; "" or NULL for none */
	const char *capture_id;      /* borrowed; may be NULL */
	/* IPDefrag / ReassembleTCP (flow/ipdefrag.h, flow/tcp_reasm.h) */
	int ip_defrag;
	int reassemble_tcp;
};

enum flow_event { FLOW_EV_UPDATE = 1, FLOW_EV_EXPIRE = 2 };

/* A flow being reported. lu_* is the window of LastUpdateMetric. The flow is
 * only valid during the callback. */
typedef void (*flow_emit_fn)(void *user, const struct flow_table *t, const struct flow *f,
			     enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms);

/* A frame kept as a raw packet (already truncated to header_size), once per
 * frame even when several of its flows keep it. Returns 0 if stored, or
 * non-zero if the receiver had no room (counted in raw_dropped). */
typedef int (*flow_raw_fn)(void *user, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
			   uint64_t ts_ns);

/* The same with the flows that keep the frame (nflows >= 1; outer flow first
 * for tunnels), valid only during the call; f->raw_captured is still the count
 * before this frame. Set with flow_table_set_raw_flows(); replaces the plain
 * raw callback when set. */
typedef int (*flow_raw_flows_fn)(void *user, const struct flow_table *t,
				 const struct flow *const *flows, int nflows, const uint8_t *data,
				 uint32_t caplen, uint32_t wirelen, uint64_t ts_ns);

struct flow_stats {
	uint64_t packets, bytes;
	uint64_t undecodable;   /* no Ethernet nor IP header: no flow */
	uint64_t partial;       /* decoding stopped early; the flows got what was decoded */
	uint64_t flows_created, flows_expired;
	uint64_t flow_dropped;  /* new flows refused: table full (Skydive's FlowDropped) */
	uint64_t raw_kept, raw_dropped;
	uint64_t paths_overflow; /* layer paths beyond the intern table (path cut) */
	uint32_t flow_count;     /* flows in the table now */
	/* IPDefrag (struct ipdefrag_stats): fragment frames, datagrams made
	 * whole, fragments refused as invalid / for want of room, datagrams
	 * given up incomplete and their fragments, bytes held (peak) */
	uint64_t frag_frames, frag_reassembled, frag_errors, frag_no_room;
	uint64_t frag_timeouts, frag_timeout_fragments, frag_peak_bytes;
	/* ReassembleTCP (struct tcp_reasm_stats): segments copied aside,
	 * holes given up (buffer full, timeout, flow ended), segments the
	 * capture cut, buffered bytes (peak) */
	uint64_t tcp_buffered, tcp_gaps_full, tcp_gaps_timeout, tcp_gaps_closed, tcp_cut;
	uint64_t tcp_peak_bytes;
	/* ExtraLayers (flow/xlayer.h): layers not kept for want of a slot,
	 * DNS messages cut to XL_BLOB_MAX, DNS over TCP not whole in a segment
	 * (without ReassembleTCP) */
	uint64_t layers_no_slot, layers_cut, layers_tcp_partial;
	/* DNS over TCP framed from reassembled streams (ReassembleTCP with
	 * ExtraLayers DNS; struct dns_tcp_stats): messages framed; skipped as
	 * too big, for want of room, cut by a hole, unfinished at the stream's
	 * end; streams whose framing a hole lost */
	uint64_t dns_tcp_messages, dns_tcp_too_big, dns_tcp_no_room, dns_tcp_hole;
	uint64_t dns_tcp_lost_sync, dns_tcp_unfinished;
};

/* Returns NULL with a message in err on bad options or no memory. */
struct flow_table *flow_table_new(const struct flow_table_opts *o, flow_emit_fn emit,
				  flow_raw_fn raw, void *user, char *err, size_t errlen);
void flow_table_free(struct flow_table *t); /* NULL is fine; emits nothing */
/* Installs (or, with NULL, removes) the per-flow raw packet callback. */
void flow_table_set_raw_flows(struct flow_table *t, flow_raw_flows_fn fn);

/* Accounts one frame captured at ts_ns (ns since the epoch). data is borrowed
 * for the call only. Runs the periodic work when ts_ns crosses a second, so an
 * offline reader needs no other clock; a live capture also calls
 * flow_table_tick() when idle. */
void flow_table_feed(struct flow_table *t, int linktype, const uint8_t *data, uint32_t caplen,
		     uint32_t wirelen, uint64_t ts_ns);
/* A flow counted elsewhere (the ebpf capture's kernel map): the headers of
 * its packets (src = the record's A side) and what it saw since its previous
 * record, per direction (ab = from the src endpoint). */
struct flow_record {
	struct decode_hdrs h;
	uint8_t tcp_flags; /* DECODE_TCP_* seen */
	uint64_t ab_packets, ab_bytes, ba_packets, ba_bytes;
	uint64_t first_ns, last_ns; /* ns since the epoch */
};

/* Adds a record to its flow, found or created with the same identity a
 * captured frame with these headers would get (decode_headers gives the
 * segment the decoder would: no frame is built); a new flow starts at
 * first_ns with src as its A endpoint.
 * Flows made this way have no RTT, raw packets nor TCP metric. Returns 0, or
 * -ENOSPC when the table is full (counted in flow_dropped). */
int flow_table_feed_record(struct flow_table *t, const struct flow_record *r);
/* Runs the update pass and expiry due at now_ns. */
void flow_table_tick(struct flow_table *t, uint64_t now_ns);
/* Emits and removes every flow (end of capture), oldest first; open flows keep
 * FinishType NOT_FINISHED. */
void flow_table_flush(struct flow_table *t);

/* Counters, with every frame fed so far accounted. */
const struct flow_stats *flow_table_stats(struct flow_table *t);
/* Accounts the frames still in flight in the table's prefetch pipeline
 * (stats, foreach, tick and flush do it themselves). */
void flow_table_sync(struct flow_table *t);
const struct flow_table_opts *flow_table_opts(const struct flow_table *t);
/* Link type of the frame a raw packet callback is given (valid during it). */
int flow_table_linktype(const struct flow_table *t);
/* "Ethernet/IPv4/TCP" for f->path_id; owned by the table. */
const char *flow_table_path(const struct flow_table *t, const struct flow *f);
/* Application name for f->app_id; owned by the table or static. */
const char *flow_table_app(const struct flow_table *t, const struct flow *f);
/* The TCP metric of f, or NULL when extra_tcp_metric and reassemble_tcp
 * are off (the SYN/FIN/RST part is filled with extra_tcp_metric, seg[] with
 * reassemble_tcp). */
const struct flow_tcp_metric *flow_table_tcp_metric(const struct flow_table *t,
						    const struct flow *f);
/* The IPMetric of f, or NULL when ip_defrag is off or f is not IP. */
const struct flow_ip_metric *flow_table_ip_metric(const struct flow_table *t,
						  const struct flow *f);
/* Installs (NULL removes) the receiver of the reassembled TCP streams
 * (tcp_reasm.h says how to use it); only a table made with reassemble_tcp
 * calls it. */
void flow_table_set_tcp_stream(struct flow_table *t, tcp_stream_fn fn, void *user);
/* The extra layers of f (src/decode/xlayer.h blob), NULL (*len 0) when none
 * or extra_layers is off; valid until the flow's next packet. */
const uint8_t *flow_table_layers(const struct flow_table *t, const struct flow *f,
				 uint32_t *len);
/* Calls fn for every flow in the table (no particular order). */
void flow_table_foreach(struct flow_table *t,
			void (*fn)(void *user, const struct flow_table *t, const struct flow *f),
			void *user);
/* Bytes of memory the table holds now (pool pages touched + index). */
size_t flow_table_memory(const struct flow_table *t);

#endif
