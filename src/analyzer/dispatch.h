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
 * In a cluster (etcd: cluster.h) every analyzer serves the same captures but only one
 * dispatches, the holder of Skydive's /elections/ondemand-client-capture
 * (graffiti/ondemand/client/client.go): dispatch_clustered() makes this one a follower
 * until dispatch_set_active(d, 1). A follower sends nothing; its status shows what the
 * agents say in the nodes' Captures metadata. An analyzer that becomes the dispatcher
 * starts afresh: a Start for every wanted pair (an agent answers 200 to the Start of a
 * capture it runs already), and a Stop for every capture the nodes' Captures metadata
 * show that is no longer wanted, so a capture deleted while no analyzer was dispatching
 * (Skydive keeps a cache of recent deletions for this) or one whose node stopped
 * matching is stopped all the same. Losing the election forgets the pairs without Stop:
 * the captures keep running for the next dispatcher.
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

/* The capture set is shared by a cluster (see above): inactive until elected, and while
 * active, captures the nodes show that are not wanted are stopped, but only when
 * ready(user) says the shared set is current (NULL: always; etcd_store_synced). Before
 * the first run; ready is called from dispatch_run with the graph's read lock held. */
void dispatch_clustered(struct dispatch *d, int (*ready)(void *user), void *user);
/* Elected (1) or not (0) to dispatch; any thread (the cluster's election callback). */
void dispatch_set_active(struct dispatch *d, int active);

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
 *  "Dispatch": {"Runs","StartsSent","StopsSent","OrphansStopped","SendFailed",
 *  "ErrorReplies","StaleReplies","ConnectedAgents","IsMaster"}}; new reference. Merge it into "Captures". */
json_t *dispatch_status_json(struct dispatch *d);
/* Its "Dispatch" counters typed (GET /metrics, metrics.c); same thread. */
struct dispatch_stats {
	uint64_t runs, starts, stops_sent, orphans, send_failed, error_replies, stop_errors,
	    stale_replies;
	size_t agents;
	int is_master; /* 1 outside a cluster */
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
