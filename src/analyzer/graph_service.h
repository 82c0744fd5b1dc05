/* graph_service.h - one graph served on the HTTP server (http/server.h): REST /api,
 * /api/status, /api/topology (Gremlin), /api/pcap, /api/config (rest.h), and the
 * WebSocket endpoints /ws/agent/topology, /ws/publisher, /ws/pubsub, /ws/subscriber and
 * /ws/replication (peer analyzers, replication.h),
 * with the graph writer, subscribers' queues and filters. The agent's own API
 * (`skydive agent`, service "agent") is this alone; the analyzer (analyzer.h) adds its
 * captures, their dispatch and flow ingest through the routes, endpoints and hooks of
 * graph_service_opts. Protocol: docs/API.md.
 *
 * Threads (docs/API.md "Limits"):
 * - the server's event loop (one thread) accepts, reads every request and message,
 *   writes every answer; it runs what is cheap or bounded: routing, auth, /api/status,
 *   captures, the web UI, subscribers' SyncReplies, the capture dispatch; all of these
 *   take only the graph's reader side (graph_rdlock), which a running query does not
 *   hold off.
 * - query workers (the server's, workers.h, analyzer.query_workers): GET/POST
 *   /api/topology and POST /api/pcap (the routes' worker_methods, rest_is_query). The
 *   loop hands each a copy of the request (http_request, stamped with the graph writer's
 *   number); the worker evaluates and serialises under the reader side, taken once the
 *   graph messages received before the request are applied (graph_writer_rdlock), and
 *   wakes the loop, which moves the answer to its connection and writes it as any other
 *   (64 KiB chunks). The loop alone links a job and its connection: one that closes
 *   unlinks its job, whose answer is then dropped and counted. Beyond
 *   analyzer.query_queue: 503 + Retry-After. The same workers re-evaluate filtered
 *   subscribers (sub_tick, an http_task: one job at a time, the peers lent to it with
 *   in_sub_job: a close or a SyncRequest of theirs waits until it is back, and the
 *   peer's free is deferred).
 * - the graph writer (graph_writer.h): agents' and publishers' messages and the removal
 *   of a departed sender's elements, queued (bounded) by the loop, parsed and applied
 *   under graph_lock (the writer side); the graph listener (subscribers' queues, the
 *   analyzer's dispatch) runs there, with qlock for the peer list. SyncRequests, a new
 *   subscriber's first SyncReply (a barrier) and agents' messages of agent_namespace
 *   (capture dispatch replies) come back to the loop once what came before them is
 *   applied (peers named by id: one that went is skipped).
 * Locks: the graph's rwlock (readers first; queries ordered by graph_writer.h), qlock
 * (the peer list and the subscriber queues: the loop changes the list, the listener
 * walks it), the pool's and the writer's own queue mutexes. Subscriber filter state is
 * changed on the loop under the reader side or by the listener under the writer side.
 * Subscribers get every change through the listener, each with a bounded send queue (a
 * client that cannot keep up is disconnected, never waited for).
 *
 * Config keys read here: host_id, http.ws.queue_size, analyzer.pcap.max_bytes,
 * analyzer.graph_queue, analyzer.graph_queue_bytes; the server's (listen address, TLS,
 * limits, query workers, authentication): http/server.h. Every request is authenticated
 * and authorized by the server before it is routed here (docs/API.md
 * "Authentication"). */
#ifndef SKYDIVE_GRAPH_SERVICE_H
#define SKYDIVE_GRAPH_SERVICE_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "http/server.h"

struct graph_service;
struct buf;

/* Called on the loop thread, graph not locked; status is the object being built. */
typedef void (*graph_service_status_fn)(void *user, json_t *status);

struct graph_service_opts {
	const char *service;        /* "Service" of GET /api: "analyzer" (NULL) or "agent" */
	const char *listen_key;     /* config key of the address: "analyzer.listen" (NULL) */
	const char *listen_default; /* when the key is unset: "127.0.0.1:8082" (NULL) */
	/* Flow steps of Gremlin queries (G.Flows()); NULL = they fail with an error.
	 * Copied; ops->user must outlive the service. */
	const struct gremlin_flow_ops *flow_ops;
	/* The caller's own routes and endpoints, before the graph's (each ending with an
	 * empty entry; NULL: none); copied, their user must outlive the service. */
	const struct http_route *routes;
	const struct http_ws_endpoint *endpoints;
	/* Agents on /ws/agent/topology (the analyzer's dispatch), on the loop; user is
	 * handed to each. agent_reply: an agent's message of agent_namespace, after its
	 * earlier messages were applied (NULL: such messages are not bounced). */
	void *user;
	void (*agent_up)(void *user, const char *host_id);
	void (*agent_down)(void *user, const char *host_id);
	const char *agent_namespace;
	void (*agent_reply)(void *user, const char *host_id, const json_t *msg);
	/* Adds the caller's sections to GET /api/status (after the graph's and the
	 * server's). */
	graph_service_status_fn status;
	/* Peering (replication.h): the ownership table, borrowed (it must outlive the
	 * service); with it /ws/replication is served and "Peers" is in /api/status. NULL:
	 * neither (the agent's API). repl_expire_ms: analyzer.replication.expire. */
	struct repl_owners *repl;
	int64_t repl_expire_ms;
	/* Adds the caller's metrics to GET /metrics (after the graph's and the server's),
	 * on the loop (metrics.h). */
	void (*metrics)(void *user, struct buf *b);
};

/* Creates the server and binds its port (so a port conflict is reported here, not in
 * the thread), the graph writer and the graph listener. cfg and g are borrowed and must
 * outlive the service. NULL with err filled ("cannot listen on 127.0.0.1:8082: Address
 * already in use ..."). */
struct graph_service *graph_service_new(struct config *cfg, struct graph *g,
                                        const struct graph_service_opts *o, char *err,
                                        size_t errlen);
/* Runs the event loop in its own thread. Returns 0 or -errno. */
int graph_service_start(struct graph_service *gs);
/* Stops the loop (closing every connection: agent_down runs for each agent), joins the
 * thread, removes the graph listener and frees everything. NULL is fine; also valid if
 * never started. Elements pushed by agents and publishers stay in the graph. */
void graph_service_stop(struct graph_service *gs);

/* The port actually bound (useful with port 0) and the address text
 * ("127.0.0.1:8082"), owned by gs. */
int graph_service_port(const struct graph_service *gs);
const char *graph_service_address(const struct graph_service *gs);
/* The server (its timers: http_server_every). */
struct http_server *graph_service_server(struct graph_service *gs);

/* Queues msg (stolen) on the topology connection of the agent host (loop thread).
 * 0, -ENOTCONN (no such agent, or its queue overflowed), -ENOMEM. */
int graph_service_send_agent(struct graph_service *gs, const char *host, json_t *msg);

/* Queues msg (stolen) for every subscriber of /ws/subscriber and /ws/pubsub following
 * the live graph (their filters do not apply: Skydive's alert messages go to the whole
 * pool), from any thread; a subscriber that cannot keep up is dropped as for graph
 * changes. The alerts' "Alert" namespace messages (alert.h). */
void graph_service_broadcast(struct graph_service *gs, json_t *msg);

#endif
