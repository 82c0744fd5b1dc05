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

struct rest_response {
	int status;               /* HTTP status */
	const char *content_type; /* static string */
	char *body;               /* malloc'd, may be NULL when len is 0 */
	size_t len;
	int body_static;          /* body is embedded data (the web UI): never freed */
	char *headers;            /* extra lines "Name: value\r\n", malloc'd, or NULL */
};

/* The Content-Type of every JSON answer. */
#define REST_CT_JSON "application/json; charset=UTF-8"

/* Fills out with status and the JSON j (stolen; NULL or unserialisable = a
 * 500 "out of memory" text answer). The one JSON answer helper of the HTTP
 * server: REST, /login, /api/pcap, captures and the server's own refusals. */
void rest_reply_json(struct rest_response *out, int status, json_t *j);
/* Makes s valid UTF-8 in place: each byte of an invalid or cut sequence becomes '?'
 * (error texts quote request bytes, and jansson refuses a string that is not UTF-8). */
void rest_utf8_fix(char *s);
/* Fills out with status and {"Error": "<formatted message>"} (cut at 767 bytes; invalid
 * UTF-8, e.g. quoted from the request, replaced by rest_utf8_fix). */
__attribute__((format(printf, 3, 4))) void rest_reply_error(struct rest_response *out, int status,
                                                            const char *fmt, ...);

/* Appends the header "name: value" to out->headers. 0 or -ENOMEM. */
int rest_add_header(struct rest_response *out, const char *name, const char *value);
/* Frees body (unless body_static) and headers, and zeroes out. */
void rest_response_free(struct rest_response *out);

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

/* Wall clock in ms since the epoch. */
int64_t rest_now_ms(void);

#endif
