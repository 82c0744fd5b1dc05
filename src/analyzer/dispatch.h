/* dispatch.h - the analyzer's on-demand capture dispatch: which (capture, node) pairs
 * should capture, OnDemand Start/Stop to the owning agents, their replies and status.
 *
 * Every capture's GremlinQuery is evaluated on the live graph; a matched node is
 * captured when its Type allows the capture's Type (empty Type = the node type's
 * default: afpacket for interfaces, ovssflow for ovsbridge, ovsmirror for ovsport), it
 * is not DOWN, and its Host is a connected agent. dispatch_run() computes that desired
 * set, diffs it against the pairs already started and calls send for each Start/Stop
 * (docs/API.md, "Agent protocol"). Nothing here touches a socket: the analyzer gives
 * the send callback and calls dispatch_run() from its event loop (debounced: the graph
 * and capture listeners only mark the state dirty).
 *
 * Threads: dispatch_run, dispatch_agent_*, dispatch_reply and dispatch_status_json run
 * on one thread (the event loop); the listeners may fire on any thread. Never call
 * them with the graph lock held. */
#ifndef SKYDIVE_DISPATCH_H
#define SKYDIVE_DISPATCH_H

#include <jansson.h>
#include <stdint.h>

#include "analyzer/capture_res.h"
#include "graph/graph.h"

#define DISPATCH_NAMESPACE "OnDemand"
#define DISPATCH_DEBOUNCE_MS 200

/* Sends msg (stolen) to the agent host. 0 when queued; non-zero when it cannot be
 * (the pair is then retried on the next run). */
typedef int (*dispatch_send_fn)(void *user, const char *host, json_t *msg);

struct dispatch;

/* g and r are borrowed and must outlive the dispatch; registers a graph listener and
 * a capture listener (both only mark the state dirty). NULL on out of memory. */
struct dispatch *dispatch_new(struct graph *g, struct capture_res *r, dispatch_send_fn send,
                              void *user);
void dispatch_free(struct dispatch *d); /* NULL is fine */

/* An agent's topology connection opened / closed (counted per host: a second
 * connection from the same host is fine). On close, the agent's pairs are forgotten
 * without Stop (its elements leave the graph); a reconnection starts them again. */
void dispatch_agent_up(struct dispatch *d, const char *host);
void dispatch_agent_down(struct dispatch *d, const char *host);

/* Whether something changed since the last run (graph, captures, agents). */
int dispatch_dirty(const struct dispatch *d);
/* Evaluates every capture, sends what differs; returns how many messages were sent. */
int dispatch_run(struct dispatch *d, int64_t now_ms);
/* Runs when dirty and at least DISPATCH_DEBOUNCE_MS after the previous run. */
int dispatch_poll(struct dispatch *d, int64_t now_ms);

/* An OnDemand message from agent host (a reply to Start/Stop). Returns 0 when it
 * answered a known request, -ENOENT otherwise (stale reply: ignored). */
int dispatch_reply(struct dispatch *d, const char *host, const json_t *msg);

/* {"<capture UUID>": {"Nodes": {"<node ID>": "starting" | "started" | "active" |
 *  "error: ..." | "skipped: ..." | "waiting: ..."}, "Ignored": n, "Error"?: "..."},
 *  "Dispatch": {"Runs","StartsSent","StopsSent","SendFailed","ErrorReplies",
 *  "StaleReplies","ConnectedAgents"}}; new reference. Merge it into "Captures". */
json_t *dispatch_status_json(struct dispatch *d);
/* Its "Dispatch" counters typed (GET /metrics, metrics.c); same thread. */
struct dispatch_stats {
	uint64_t runs, starts, stops_sent, send_failed, error_replies, stop_errors, stale_replies;
	size_t agents;
};
void dispatch_stats(const struct dispatch *d, struct dispatch_stats *out);

/* Number of nodes whose Captures metadata shows each capture "active", from the live
 * graph (takes the graph lock): a new object {"<capture UUID>": n}. For the Count of
 * GET /api/capture (capture_res_set_counts). */
json_t *dispatch_capture_counts(struct graph *g);

/* The capture type used on a node of type node_type for requested type (""/NULL = the
 * default). NULL when not capturable; *why (if not NULL) gets a reason then. */
const char *dispatch_effective_type(const char *node_type, const char *requested,
                                    const char **why);

#endif
