/* cors.h - Cross-Origin Resource Sharing as Skydive's analyzer answered it.
 *
 * Skydive wraps its whole router in gorilla/handlers' CORS middleware
 * (graffiti/http/server.go, Server.Serve): origins "*", methods GET, HEAD, POST,
 * PUT, DELETE, OPTIONS, headers X-Requested-With, Content-Type, Authorization,
 * X-Auth-Token (besides the always allowed Accept, Accept-Language,
 * Content-Language, Origin), no credentials. So every OPTIONS request is
 * answered before routing, whatever the path:
 *   - no Origin, or an origin not allowed: 200, no CORS header;
 *   - no Access-Control-Request-Method: 400; a method not allowed: 405;
 *     a requested header not allowed: 403;
 *   - else 200 with Access-Control-Allow-Origin, Access-Control-Allow-Headers
 *     (the requested ones, canonical, the always allowed left out) and
 *     Access-Control-Allow-Methods (the requested method, when it is not
 *     GET, HEAD or POST).
 * Other requests with an allowed Origin get Access-Control-Allow-Origin ("*"
 * when "*" is allowed, else the request's origin, with Vary: Origin when more
 * than one origin is configured) and go on to their route.
 *
 * Origins: config http.cors.allowed_origins (a list; SKYDIVE_HTTP_CORS_ALLOWED_ORIGINS
 * space separated), default none: same origin only (Skydive: always "*"). */
#ifndef SKYDIVE_CORS_H
#define SKYDIVE_CORS_H

#include "http/rest_reply.h"
#include "config/config.h"

struct cors;

struct cors_request {
	const char *method;      /* "GET", "OPTIONS", ... */
	const char *origin;      /* Origin header or NULL */
	const char *req_method;  /* Access-Control-Request-Method or NULL (absent) */
	const char *req_headers; /* Access-Control-Request-Headers or NULL */
};

/* NULL on out of memory. cfg may be NULL (defaults). */
struct cors *cors_new(const struct config *cfg);
void cors_free(struct cors *c); /* NULL is fine */

/* 1 when origin (non-empty) may read the answers. */
int cors_origin_allowed(const struct cors *c, const char *origin);

/* 1 when a state-changing request or a WebSocket handshake with this Origin header may
 * go on: no Origin, an Origin that is not a browser's (no "scheme://"), the same origin
 * as the Host header (host:port equal), or an allowed origin. 0: refuse it (403), since
 * a browser sends simple POSTs and WebSocket handshakes cross-site without asking. */
int cors_request_allowed(const struct cors *c, const char *origin, const char *host);

/* Applies CORS to one request. Returns 1 when it is an OPTIONS request
 * answered here (out filled: status, headers, maybe a JSON error body),
 * 0 when the request goes on to its route (out->headers may have got the
 * Access-Control-Allow-Origin / Vary lines; keep them). -1 on out of memory. */
int cors_apply(const struct cors *c, const struct cors_request *req, struct rest_response *out);

#endif
