/* inject_res.h - Skydive's packet injection resource on the analyzer (api/server/
 * packet_injector*.go, packetinjector/client.go): /api/injectpacket, each injection
 * resolved for its source nodes and sent to the agents that own them.
 *
 *   POST   /api/injectpacket       201 the PacketInjection with "UUID", "StartTime" and
 *                                  ours: "TrackingID", "L3TrackingID" (the first source
 *                                  node's flow) and "Nodes" (each source node's ID, Host,
 *                                  TrackingID and L3TrackingID) | 400 {"Error"}
 *   GET    /api/injectpacket[/id]  200 as every resource (resource.h) | 404
 *   DELETE /api/injectpacket/id    200: the agents stop sending | 404
 *
 * POST runs on a query worker: the Src and Dst Gremlin queries are evaluated there under
 * the graph's reader side, and a request for each source node is resolved as Skydive's
 * createRequest does (the node's IPV4/IPV6 and MAC, the next hop's or the Dst node's MAC;
 * Mode unique: ICMP id / source port + 1 per node). A request that cannot be resolved is
 * a 400 that says what is missing; nothing is sent then. The Start messages
 * ({"Namespace": "OnDemandPacketInjection", "Type": "Start", "Obj": {"NodeID",
 * "Resource"}}) are queued and sent by inject_res_tick on the loop; the agents' replies
 * come back through inject_res_reply. The header X-Resource-TTL (Skydive's client sets
 * Interval x Count + 5 s) removes the injection when it expires; without it, it stays
 * until deleted. Injections are kept in memory only: a restart does not replay them.
 *
 * Threads: inject_res_handle on a worker (POST) or the loop; inject_res_tick,
 * inject_res_reply and inject_res_status on the loop; one mutex. */
#ifndef SKYDIVE_INJECT_RES_H
#define SKYDIVE_INJECT_RES_H

#include <jansson.h>
#include <stdint.h>

#include "config/config.h"
#include "graph/graph.h"
#include "http/rest_reply.h"

/* Sends msg (stolen) to the agent host (loop thread): 0, or non-zero when it cannot. */
typedef int (*inject_send_fn)(void *user, const char *host, json_t *msg);

struct inject_res;

/* g and cfg are borrowed (flow.default_layer_key_mode gives the TrackingID's key mode;
 * the Gremlin bounds as /api/topology's). NULL with err filled. */
struct inject_res *inject_res_new(struct graph *g, struct config *cfg, inject_send_fn send,
                                  void *user, char *err, size_t errlen);
void inject_res_free(struct inject_res *r); /* NULL is fine */

/* One request of /api/injectpacket (ttl: the X-Resource-TTL header or NULL). */
void inject_res_handle(struct inject_res *r, const char *method, const char *path,
                       const char *content_type, const char *body, size_t len,
                       const char *ttl, struct rest_response *out);

/* On the loop: sends what is queued, removes expired injections (Stop sent). */
void inject_res_tick(struct inject_res *r, int64_t now_ms);
/* An OnDemandPacketInjection message from agent host (a reply to Start or Stop). */
void inject_res_reply(struct inject_res *r, const char *host, const json_t *msg);

/* /api/status "Injections": {"Active": n, "Created", "StartsSent", "SendFailed",
 * "ErrorReplies", "Nodes": {"<UUID>": {"<node ID>": "sent" | "injecting" | "error: ..."}}}.
 * New reference. */
json_t *inject_res_status(struct inject_res *r);

#endif
