/* flow_ingest.h - the analyzer side of /ws/agent/flow: protobuf flow.Message frames from
 * agents decoded (protobuf-c) into the flow store, with per agent and per capture counters.
 *
 * Each binary frame is one flow.Message (proto/flow.proto): its Flows are stored (a newer
 * state of a UUID replaces the older; LastRawPackets appended to the flow), its Stats
 * (the agent's counters of one capture) kept as last received. Nothing is dropped
 * silently: undecodable frames, flows without a UUID, flows or raw packets the store
 * refused are all counted per agent. Thread-safe (one mutex). */
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

/* One frame from agent host. Returns 0, or -EINVAL when the frame is not a flow.Message
 * (counted in DecodeErrors; err says why), or -ENOMEM (counted in Errors). Flows the
 * message holds that cannot be stored are counted but do not fail the frame. */
int flow_ingest_frame(struct flow_ingest *fi, const char *host, const uint8_t *buf, size_t len,
                      int64_t now_ms, char *err, size_t errlen);

/* {"<host>": {"Messages","Bytes","DecodeErrors","Errors","Flows","FlowsRejected",
 *  "RawPackets","RawPacketsRejected","LastMessage", "Captures": {"<CaptureID>":
 *  {"FlowCount","FlowDropped","KernelFlowDropped","PacketsReceived","PacketsDropped",
 *   "Flows","Updated"}}}}; new reference. */
json_t *flow_ingest_status_json(struct flow_ingest *fi);
/* analyzer_status_fn: adds "FlowStats" to GET /api/status (user = the ingest). */
void flow_ingest_status_hook(void *user, json_t *status);

#endif
