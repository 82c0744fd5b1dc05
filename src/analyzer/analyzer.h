/* analyzer.h - the analyzer's services on the HTTP server (http/server.h): REST /api,
 * /api/status, /api/topology (Gremlin), /api/pcap, /api/capture, and the WebSocket
 * endpoints /ws/agent/topology, /ws/agent/flow, /ws/publisher, /ws/pubsub and
 * /ws/subscriber, the graph writer, subscribers' queues and filters, the capture dispatch
 * and flow ingest. The agent's own API (service "agent") is the same object without
 * captures, dispatch and flow ingest. Protocol: docs/API.md. The server (connections,
 * TLS, auth, CORS, the web UI, bodies, query workers) is src/http; src/http never
 * includes src/analyzer.
 *
 * Threads (docs/API.md "Limits"):
 * - the event loop (one thread, lws_service) accepts, reads every request and message,
 *   writes every answer; it runs what is cheap or bounded: routing, auth, /api/status,
 *   captures, the web UI, subscribers' SyncReplies, the capture dispatch; all of these take only the
 *   graph's reader side (graph_rdlock), which a running query does not hold off.
 * - query workers (the server's, workers.h, analyzer.query_workers): GET/POST
 *   /api/topology and POST /api/pcap (the routes' worker_methods, rest_is_query). The
 *   server's loop hands each a copy of the request (http_request, stamped with the graph
 *   writer's number); the worker evaluates and serialises under the reader side, taken
 *   once the graph messages received before the request are applied
 *   (graph_writer_rdlock), and wakes the loop, which moves the answer to its connection
 *   and writes it as any other (64 KiB chunks). The loop alone links a job and its
 *   connection: one that closes unlinks its job, whose answer is then dropped and
 *   counted. Beyond analyzer.query_queue: 503 + Retry-After. The same workers
 *   re-evaluate filtered subscribers (sub_tick, an http_task: one job at a time, the
 *   peers lent to it with in_sub_job: a close or a SyncRequest of theirs waits until it
 *   is back, and the peer's free is deferred).
 * - the graph writer (graph_writer.h): agents' and publishers' messages and the removal
 *   of a departed sender's elements, queued (bounded) by the loop, parsed and applied
 *   under graph_lock (the writer side); the graph listener (subscribers' queues, dispatch)
 *   runs there, with qlock for the peer list. SyncRequests, a new subscriber's first
 *   SyncReply (a barrier) and capture dispatch replies come back to the loop once what
 *   came before them is applied (peers named by id: one that went is skipped).
 * - the flow-ingest thread (flow_ingest.h): /ws/agent/flow frames, copied by the loop into
 *   a bounded queue (analyzer.flow_queue, analyzer.flow_queue_bytes; a refused frame is
 *   dropped and counted), decoded and stored there under the flow store's own lock.
 * Locks: the graph's rwlock (readers first; queries ordered by graph_writer.h), qlock
 * (the peer list and the subscriber queues: the loop changes the list, the listener
 * walks it), the pool's and the writer's own queue mutexes. Subscriber filter state is
 * changed on the loop under the reader side or by the listener under the writer side.
 * Subscribers get every change through the listener, each with a bounded send queue (a
 * client that cannot keep up is disconnected, never waited for).
 *
 * Config keys read here: host_id, http.ws.queue_size, analyzer.pcap.max_bytes,
 * analyzer.graph_queue, analyzer.graph_queue_bytes, analyzer.flow_queue,
 * analyzer.flow_queue_bytes, analyzer.flow.stats_max_hosts,
 * analyzer.flow.stats_max_captures, analyzer.data_dir (where captures are kept:
 * captures.json); the server's (listen address, TLS, limits, query workers,
 * authentication): http/server.h. Every request is authenticated and authorized by the
 * server before it is routed here (docs/API.md "Authentication"). */
#ifndef SKYDIVE_ANALYZER_H
#define SKYDIVE_ANALYZER_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"

struct analyzer;

/* Optional settings; analyzer_new() is analyzer_new_opts() with all zero. */
struct analyzer_opts {
	const char *service;        /* "Service" of GET /api: "analyzer" (NULL) or "agent" */
	const char *listen_key;     /* config key of the address: "analyzer.listen" (NULL) */
	const char *listen_default; /* when the key is unset: "127.0.0.1:8082" (NULL) */
	/* Flow steps of Gremlin queries (G.Flows()); NULL = they fail with an error.
	 * Copied; ops->user must outlive the analyzer. */
	const struct gremlin_flow_ops *flow_ops;
};

/* Creates the server and binds its port (so a port conflict is reported here,
 * not in the thread). cfg and g are borrowed and must outlive the analyzer.
 * NULL with err filled ("cannot listen on 127.0.0.1:8082: Address already in
 * use ..."). */
struct analyzer *analyzer_new(struct config *cfg, struct graph *g, char *err, size_t errlen);
struct analyzer *analyzer_new_opts(struct config *cfg, struct graph *g,
                                   const struct analyzer_opts *o, char *err, size_t errlen);

/* Runs the event loop in its own thread. Returns 0 or -errno. */
int analyzer_start(struct analyzer *a);
/* Stops the loop (closing every connection), joins the thread, removes the
 * graph listener and frees everything. NULL is fine; also valid if never
 * started. Elements pushed by agents and publishers stay in the graph. */
void analyzer_stop(struct analyzer *a);

/* The port actually bound (useful with port 0) and the address text
 * ("127.0.0.1:8082"), owned by a. */
int analyzer_port(const struct analyzer *a);
const char *analyzer_address(const struct analyzer *a);

/* Adds keys to GET /api/status (e.g. "Probes" from an in-process agent).
 * Called on the loop thread, graph not locked; status is the object being
 * built. Set before analyzer_start(). */
typedef void (*analyzer_status_fn)(void *user, json_t *status);
void analyzer_set_status_hook(struct analyzer *a, analyzer_status_fn fn, void *user);

#endif
