/* metrics.h - GET /metrics (Prometheus' text format, common/prom.h) of a graph service
 * (graph_service.h: the agent's API and the analyzer's) and the analyzer's own parts.
 * The same counters GET /api/status shows, read typed from the structs the status is
 * built from (never from its JSON); every metric is listed in docs/API.md "Metrics".
 * Names skydive_*, label host (the process' host_id) on each, capture_id / node / stage
 * / reason where a counter is split.
 *
 * Threads: the server's loop (the route's handler). Locks: metrics_captures takes the
 * graph's reader side; the others the modules' own (their *_stats calls). */
#ifndef SKYDIVE_METRICS_H
#define SKYDIVE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/graph_writer.h"
#include "common/buf.h"
#include "graph/graph.h"

struct flow_ingest;
struct flow_store;
struct graph_log;

/* What graph_service.c counts itself (its /api/status "WebSocket" and "GraphWriter"). */
struct metrics_service {
	struct graph_stats graph;
	struct graph_writer_stats writer;
	uint64_t writer_resyncs;
	size_t ws_queue_max;
	uint64_t slow_dropped, bad_messages, refused_duplicate;
	size_t agents, publishers, subscribers; /* connected peers (pubsub in both) */
};
void metrics_service(struct buf *b, const char *host, const struct metrics_service *m);

/* Per capture, from the Captures metadata the agents put on nodes (agent/captures.c):
 * packets received, and drops by stage (kernel, interface, flow_messages,
 * kernel_flows). Takes the graph's reader side. */
void metrics_captures(struct buf *b, struct graph *g);

/* The analyzer's: flow ingest (queue, per agent, per capture flow table fill), the flow
 * store and its log, the topology history (hl may be NULL). */
void metrics_analyzer(struct buf *b, const char *host, struct flow_ingest *fi,
                      struct flow_store *fs, struct graph_log *hl);
/* The capture dispatch's counters (dispatch.h): starts and stops sent, what failed. */
struct dispatch_stats;
void metrics_dispatch(struct buf *b, const char *host, const struct dispatch_stats *d);

#endif
