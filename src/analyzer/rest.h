/* rest.h - the REST requests of the analyzer (/api, /api/status,
 * /api/topology, /api/config/<key>) as a pure function from request to
 * response, so the server and unit tests drive the same code. */
#ifndef SKYDIVE_REST_H
#define SKYDIVE_REST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "http/rest_reply.h"

struct rest_ctx {
	struct graph *g;
	const struct config *cfg;
	const char *service; /* "analyzer" or "agent" */
	const char *host_id;
	const struct gremlin_flow_ops *flow_ops; /* may be NULL */
	/* Builds the GET /api/status object (new reference, NULL on OOM). */
	json_t *(*status)(void *user);
	void *user;
	/* The caller's permission check for Gremlin steps that expose packets (gremlin_env
	 * .allowed; the server sets it per request from the authenticated identity). NULL:
	 * every step allowed. */
	int (*allowed)(void *user, const char *object, const char *action);
	void *allowed_user;
	/* Takes the graph's reader side for a query (released with graph_unlock); NULL:
	 * graph_rdlock(g). The analyzer's workers pass one that first waits for the graph
	 * messages received before the request (graph_writer.h). */
	void (*rdlock)(void *user);
	void *rdlock_user;
};

/* The Gremlin bounds of env from analyzer.gremlin.max_results, .max_items and .timeout
 * (seconds); unset keys leave 0, the evaluator's defaults (docs/API.md "Limits"). */
void rest_gremlin_bounds(const struct config *cfg, struct gremlin_env *env);

/* Whether the request's cost grows with the data (the whole topology, a Gremlin query,
 * a pcap import):
 * the server runs those on its query workers, not on the event loop. */
int rest_is_query(const char *method, const char *path);

/* Answers one request. method "GET"/"POST"/...; path without the query
 * string; accept the Accept header or NULL; body may be NULL. Always fills
 * out (errors are JSON {"Error": "...", ...} with a 4xx/5xx status); the
 * caller frees out->body. */
void rest_handle(const struct rest_ctx *c, const char *method, const char *path, const char *accept,
                 const char *body, size_t body_len, struct rest_response *out);

#endif
