/* analyzer.h - the analyzer's HTTP + WebSocket server (libwebsockets): REST
 * /api, /api/status, /api/topology (Gremlin), and the WebSocket endpoints
 * /ws/agent/topology, /ws/publisher and /ws/subscriber. Protocol: docs/API.md.
 *
 * One event loop thread serves every connection. Messages from agents and
 * publishers are applied to the graph under graph_lock(); subscribers get
 * every change through a graph listener, each with a bounded send queue (a
 * client that cannot keep up is disconnected, never waited for).
 *
 * Config keys read: analyzer.listen (host:port; port 0 picks a free one),
 * host_id, http.ws.queue_size, http.ws.ping_delay, tls.server_cert,
 * tls.server_key, tls.ca_cert, tls.require_client_cert, analyzer.data_dir
 * (where captures are kept: captures.json), and the authentication keys of
 * src/auth/auth.h (<service>.auth.*, auth.<backend>.*, rbac.*): every request is
 * authenticated and authorized before it is routed (docs/API.md "Authentication"). */
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
