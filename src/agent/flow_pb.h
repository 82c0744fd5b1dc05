/* flow_pb.h - flows as protobuf flow.Message batches (proto/flow.proto,
 * protobuf-c), with the raw packets each flow kept since its last report.
 *
 * A batch belongs to one capture worker (no locks). Everything it needs is
 * reserved when it is made: up to FLOW_PB_BATCH_MAX flow records, and a raw
 * packet store (a byte arena plus records chained per flow) filled by the
 * flow table's per-flow raw callback and emptied as the flows are reported.
 * Nothing is allocated per packet; a full store refuses the frame (the table
 * counts it in raw_dropped). Each full batch, and each flow_batch_flush(), is
 * packed into one message handed to the sink. */
#ifndef SKYDIVE_FLOW_PB_H
#define SKYDIVE_FLOW_PB_H

#include <stddef.h>
#include <stdint.h>

#include "flow.pb-c.h"
#include "decode/xlayer.h"
#include "flow/flow_table.h"

#define FLOW_PB_BATCH_MAX 100

/* Receives one packed flow.Message in a malloc'd buffer with pre bytes of
 * headroom before the len bytes of message; takes the buffer. */
typedef void (*flow_pb_sink_fn)(void *user, uint8_t *buf, size_t len);

/* One flow's protobuf records and the text they point to. */
struct flow_pb_slot {
	Flow__Flow f;
	Flow__FlowLayer link, net;
	Flow__TransportLayer tr;
	Flow__ICMPLayer icmp;
	Flow__FlowMetric metric, lu;
	Flow__TCPMetric tcp;
	Flow__IPMetric ipm; /* IPDefrag */
	char uuid[17], tracking[17], l3tracking[17], parent[17];
	char link_a[18], link_b[18], net_a[46], net_b[46];
	/* extra layers: the flow's layer blob, sent as its flow.Flow fields
	 * 1000-1002 (protobuf-c packs unknown fields as they are) */
	uint8_t layers[XL_BLOB_MAX];
	ProtobufCMessageUnknownField layer_fields[3];
};

/* Fills s from a flow as the emit callback gives it (no raw packets). The
 * strings of the table (path, application, node TID, capture ID) are
 * borrowed: s is valid while the table lives. */
void flow_pb_fill(struct flow_pb_slot *s, const struct flow_table *t, const struct flow *f,
		  int64_t lu_start_ms, int64_t lu_last_ms);

/* A packed Message holding only Stats; NULL on out of memory. */
uint8_t *flow_pb_encode_stats(const char *capture_id, int64_t flow_count, int64_t flow_dropped,
			      int64_t packets_received, int64_t packets_dropped,
			      int64_t kernel_flow_dropped, size_t pre, size_t *len);

struct flow_batch;

struct flow_batch_opts {
	size_t raw_bytes;   /* raw packet arena; 0 = 2 MiB */
	uint32_t raw_max;   /* raw packet records; 0 = 8192 */
	uint32_t linktype;  /* unused: RawPacket.LinkType is each frame's own
	                       (flow_table_linktype), a pcapsocket's streams differ */
	size_t pre;         /* headroom in the buffers given to the sink */
	flow_pb_sink_fn sink;
	void *user;
};

struct flow_batch_stats {
	uint64_t messages, flows, raw_sent;
	uint64_t raw_refused; /* frames refused: store full */
	uint64_t encode_failed; /* flows lost: no memory to pack */
};

struct flow_batch *flow_batch_new(const struct flow_batch_opts *o);
void flow_batch_free(struct flow_batch *b); /* NULL is fine; drops what is pending */

/* The table's flow_raw_flows_fn (user = the batch): one RawPacket per flow
 * with Timestamp (ms, as Skydive's readers expect), TimestampNs, WireLen and
 * the frame's LinkType; the bytes are copied once into the arena. */
int flow_batch_raw(void *user, const struct flow_table *t, const struct flow *const *flows,
		   int nflows, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		   uint64_t ts_ns);
/* Adds a flow being reported, with its pending raw packets; packs and sinks
 * the batch when it holds FLOW_PB_BATCH_MAX flows. */
void flow_batch_add(struct flow_batch *b, const struct flow_table *t, const struct flow *f,
		    int64_t lu_start_ms, int64_t lu_last_ms);
/* Packs and sinks the pending flows, if any. */
void flow_batch_flush(struct flow_batch *b);
size_t flow_batch_pending(const struct flow_batch *b);
void flow_batch_get_stats(const struct flow_batch *b, struct flow_batch_stats *out);

#endif
