/* injector.h - packet injection on the agent (Skydive's packetinjector/server.go):
 * the injector that runs each resolved request the analyzer sends (inject_req.h) in a
 * thread of its own: an AF_PACKET raw socket opened inside the node's
 * network namespace, Count frames built by forge.h, Interval ms apart.
 *
 * Protocol (docs/API.md "Packet injection"): analyzer -> agent on the topology
 * WebSocket, {"Namespace":"OnDemandPacketInjection","Type":"Start"|"Stop","UUID":<request
 * id>,"Obj":{"NodeID","Resource":<request>}}; the reply has the same Namespace, Type and
 * UUID, "Status" and "Obj":{} or {"Error"} (the analyzer computed the TrackingIDs).
 *
 * Threads: injector_handle runs on the agent link's service thread (it opens the socket
 * there, inside the namespace, so an error is in the reply, then starts the sender
 * thread); a sender takes the graph lock only to set the source node's PacketInjections
 * metadata (Skydive's: the request, ID, State "active", PacketCount every 3 s) at its
 * start and remove it at its end. injector_free cancels and joins them (call it with no
 * graph lock held). */
#ifndef SKYDIVE_INJECTOR_H
#define SKYDIVE_INJECTOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"
#include "inject/inject_req.h"

struct injector;

/* g: the agent's graph (borrowed, outlives the injector). NULL on out of memory. */
struct injector *injector_new(struct graph *g);
/* Cancels running injections and joins their threads. NULL is fine. */
void injector_free(struct injector *in);

/* One message of INJECT_NAMESPACE: the reply envelope (new reference). Call with no
 * graph lock held. */
json_t *injector_handle(struct injector *in, const json_t *msg);

/* Injections running now, packets sent and send errors so far (every injection). */
struct injector_stats {
	size_t running;
	uint64_t started, packets, errors;
};
void injector_stats(struct injector *in, struct injector_stats *out);

#endif
