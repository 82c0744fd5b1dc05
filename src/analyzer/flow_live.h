/* flow_live.h - the analyzer's live flow view: which stored flows G.Flows() without a
 * time context answers (docs/FLOWS.md "Live view and history").
 *
 * Skydive answers such a query from the agents' current flow tables
 * (gremlin/traversal/flows.go: TableClient.LookupFlows, flow/client.go), so a flow is
 * there only while its capture runs on its agent and its agent's table still holds it
 * (flow/table.go: expire, update, Stop). The analyzer keeps every state it received
 * (history, G.At/G.Context); this module tells which of them the agents still hold:
 *  - a flow of an agent capture (non-empty CaptureID) is live while that capture exists
 *    (the capture registry) and is "active" in the Captures metadata of a graph node
 *    whose TID is the flow's NodeTID (the agent publishes it, and its nodes leave the
 *    graph when it goes away), and the state was received after the last time that
 *    node left the graph (an agent killed and started again has a new, empty table);
 *  - and the agent has not removed it: FinishType TIMEOUT (idle, ARP/DNS timeout, or
 *    the table stopped) ends it, and a FIN/RST flow ends FLOW_LIVE_HOLD_MS after its
 *    last packet (Skydive's HoldTimeoutMilliseconds; our agent's hold too);
 *  - a flow with no CaptureID (POST /api/pcap imports) is not an agent's: it stays
 *    live while the store holds it in memory (a deliberate difference).
 * It follows the graph and the registry with listeners (kept under its own mutex), so
 * a query that holds the graph lock never takes it again.
 *
 * Threads: the listeners run on any thread; flow_live_hook()'s begin/test/end run on
 * the querying thread, begin to end under the module's mutex. */
#ifndef SKYDIVE_FLOW_LIVE_H
#define SKYDIVE_FLOW_LIVE_H

#include <stdint.h>

#include "analyzer/capture_res.h"
#include "graph/graph.h"
#include "store/flow_store.h"

#define FLOW_LIVE_HOLD_MS 15000

struct flow_live;

/* g and r are borrowed and must outlive the module (r may be NULL: no capture is then
 * known, so no agent flow is live). Registers a graph and a capture listener and reads
 * the current state. NULL on out of memory. */
struct flow_live *flow_live_new(struct graph *g, struct capture_res *r);
void flow_live_free(struct flow_live *l); /* NULL is fine; unregisters */

/* The store hook (flow_store_set_live) that keeps the live flows. now_ms_fn gives the
 * wall clock in ms (NULL: the system's); tests give their own. */
void flow_live_hook(struct flow_live *l, int64_t (*now_ms_fn)(void),
		    struct flow_store_live *out);

/* Whether a flow of capture capture_id seen on node_tid, with FinishType finish (enum
 * flow_finish) and last packet at last_ms, received at ingest_ms, is live at now_ms
 * (wall clock ms). Takes the mutex. */
int flow_live_is_live(struct flow_live *l, const char *capture_id, const char *node_tid,
		      int finish, int64_t last_ms, int64_t ingest_ms, int64_t now_ms);

#endif
