/* flow_ingest.h - the analyzer side of /ws/agent/flow: protobuf flow.Message frames from
 * agents decoded (protobuf-c) into the flow store, with per agent and per capture counters.
 *
 * Each binary frame is one flow.Message (proto/flow.proto): its Flows are stored (a newer
 * state of a UUID replaces the older; LastRawPackets appended to the flow), its Stats
 * (the agent's counters of one capture) kept as last received. Nothing is dropped
 * silently: undecodable frames, flows without a UUID, flows or raw packets the store
 * refused are all counted per agent. Thread-safe (one mutex).
 *
 * The flow-ingest thread (flow_ingest_start): the event loop only copies each frame
 * into a bounded queue (flow_ingest_submit; analyzer.flow_queue frames,
 * analyzer.flow_queue_bytes bytes) and one thread decodes and stores them, so a
 * query holding the store or the graph never stalls the loop, nor the loop the ingest.
 * A frame that does not fit is dropped and counted (/api/status Flows.IngestQueue
 * Dropped): an agent does not resend a flow frame, so a drop is lost data. */
#ifndef SKYDIVE_FLOW_INGEST_H
#define SKYDIVE_FLOW_INGEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/flow_store.h"

struct flow_ingest;

/* Bounds of the per-agent counters (docs/API.md "Limits"): hosts kept (the one heard from
 * least recently is evicted for a new one) and capture entries per host (the oldest
 * goes); evictions are counted in /api/status "FlowStatsLimits". 0 = the default. */
#define FLOW_INGEST_MAX_HOSTS    1024
#define FLOW_INGEST_MAX_CAPTURES 256
void flow_ingest_set_limits(struct flow_ingest *fi, size_t max_hosts, size_t max_captures);

/* s is borrowed and must outlive the ingest. NULL on out of memory. */
struct flow_ingest *flow_ingest_new(struct flow_store *s);
void flow_ingest_free(struct flow_ingest *fi); /* NULL is fine */

/* Starts the flow-ingest thread: frames given to flow_ingest_submit are then queued
 * (at most max_frames frames, counting the one being decoded, and max_bytes bytes; 0 =
 * the defaults) and decoded there. 0, or -ENOMEM with err filled. */
#define FLOW_INGEST_QUEUE       10000       /* analyzer.flow_queue */
#define FLOW_INGEST_QUEUE_BYTES (256u << 20) /* analyzer.flow_queue_bytes */
int flow_ingest_start(struct flow_ingest *fi, size_t max_frames, size_t max_bytes, char *err,
		      size_t errlen);
/* The loop's call for one frame of host (who: its address, for the log): a copy of buf
 * queued for the thread, or without the thread flow_ingest_frame at once. 0, -ENOBUFS
 * (the queue is full: the frame is dropped, counted in Dropped) or -ENOMEM (also
 * dropped and counted); without the thread flow_ingest_frame's returns. Decode errors
 * on the thread are counted per agent and logged at most every 10 s. */
int flow_ingest_submit(struct flow_ingest *fi, const char *host, const char *who,
		       const uint8_t *buf, size_t len, int64_t now_ms);

/* Tests: while hold is 1 the thread waits before its next frame (so a queue fills). */
void flow_ingest_hold(struct flow_ingest *fi, int hold);

struct flow_ingest_queue_stats {
	int threaded;
	size_t max_frames, max_bytes, frames, bytes; /* frames, bytes: queued or in decoding */
	uint64_t received, dropped, dropped_bytes;   /* received: frames submitted */
};
void flow_ingest_queue_stats(struct flow_ingest *fi, struct flow_ingest_queue_stats *out);

/* One frame from agent host, decoded and stored now (the thread's work). Returns 0, or -EINVAL when the frame is not a flow.Message
 * (counted in DecodeErrors; err says why), or -ENOMEM (counted in Errors). Flows the
 * message holds that cannot be stored are counted but do not fail the frame. */
int flow_ingest_frame(struct flow_ingest *fi, const char *host, const uint8_t *buf, size_t len,
                      int64_t now_ms, char *err, size_t errlen);

/* {"<host>": {"Messages","Bytes","DecodeErrors","Errors","Flows","FlowsRejected",
 *  "RawPackets","RawPacketsRejected","LastMessage", "Captures": {"<CaptureID>":
 *  {"FlowCount","FlowDropped","KernelFlowDropped","PacketsReceived","PacketsDropped",
 *   "Flows","Updated"}}}}; new reference. */
json_t *flow_ingest_status_json(struct flow_ingest *fi);
/* analyzer_status_fn: adds "FlowStats", "FlowStatsLimits" and "Flows": {"IngestQueue":
 * {"Threaded","MaxFrames","MaxBytes","Frames","Bytes","Received","Dropped",
 * "DroppedBytes"}} to GET /api/status (user = the ingest). */
void flow_ingest_status_hook(void *user, json_t *status);

#endif
