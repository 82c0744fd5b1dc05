/* server.h - the HTTP + WebSocket server both the agent's API and the analyzer run
 * (libwebsockets): one event loop thread, one protocol routing HTTP and WebSocket by
 * path. What it does itself, for every service: the listen address and TLS
 * (tls_server.h), the bound on connections (http.max_connections, http.header_timeout,
 * http.keepalive_timeout), authentication and authorization of every request and
 * handshake before anything is routed or stored (auth.h), CORS and the Origin check of
 * state changes and handshakes (cors.h), /login and /logout (login.h), the web UI
 * (ui_serve.h), request bodies (bounded, or streamed to a temporary file for a route
 * that asks), the hand-off of costly requests to query workers (workers.h) and answers
 * written in chunks, WebSocket messages reassembled up to http.ws.max_message_size,
 * the per-address bound of WebSocket connections (http.ws.max_connections_per_address),
 * and its sections of GET /api/status (http_server_status). The service (src/analyzer)
 * registers its routes and WebSocket endpoints and keeps its own state; src/http never
 * includes src/analyzer. Permissions are src/auth's, by method and path (auth_check_http,
 * auth_check_ws), checked before a route or endpoint is looked up.
 *
 * Threads: everything here runs on the loop thread (callbacks included), except
 * http_server_wake (any thread) and the run of a route with worker methods (a query
 * worker; it reads only its struct http_request, a copy). Locks: none of the server's
 * own; the loop alone touches connections.
 *
 * Per connection: the server's state (struct http_ws for a WebSocket: its wsi, address,
 * reassembly buffer) and a user pointer for the service's own state, set by the
 * endpoint's open callback and handed back to close, after which the server frees its
 * part; a service that lends its state to a worker frees it later itself (deferred).
 *
 * Config keys read: <listen_key> (host:port; port 0 picks a free one), host_id
 * (echoed as X-Host-ID in handshakes), tls.server_cert, tls.server_key, tls.ca_cert,
 * tls.require_client_cert, http.max_connections, http.header_timeout,
 * http.keepalive_timeout, http.ws.ping_delay, http.ws.pong_timeout,
 * http.ws.max_message_size, http.ws.max_connections_per_address, http.cors.*,
 * analyzer.query_workers, analyzer.query_queue, analyzer.data_dir (the analyzer's
 * /login tokens), and the authentication keys of src/auth/auth.h (<service>.auth.*,
 * auth.<backend>.*, rbac.*). Protocol: docs/API.md. */
#ifndef SKYDIVE_HTTP_SERVER_H
#define SKYDIVE_HTTP_SERVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "config/config.h"
#include "http/rest_reply.h"
#include "http/workers.h"

struct http_server;
struct http_ws;

/* ---- HTTP routes ----------------------------------------------------------------- */

#define HTTP_ROUTE_KEEP 3

/* One request as a route's handler sees it: borrowed for the handler's call. On a
 * worker it is the job's copy (the connection's memory is never read there). */
struct http_request {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* without the query string */
	const char *accept;       /* Accept or NULL */
	const char *content_type; /* Content-Type or NULL */
	const char *body;         /* may be NULL */
	size_t body_len;
	const char *body_file;    /* HTTP_ROUTE_BODY_FILE: the body's temporary file, or NULL
	                           * when the body came in memory (no Content-Length) */
	const char *kept[HTTP_ROUTE_KEEP]; /* the route's keep[] values, "" when absent */
	const struct auth_identity *id;    /* who asked (authenticated) */
	uint64_t stamp;           /* the route's stamp() at hand-off to a worker, else 0 */
	struct http_server *server;
};

enum {
	HTTP_ROUTE_PREFIX = 1,    /* path, or path + "/..." */
	HTTP_ROUTE_JSON = 2,      /* a browser's (Origin) body must be application/json (415) */
	HTTP_ROUTE_YAML = 4,      /* ... or a YAML type */
	HTTP_ROUTE_BODY_FILE = 8, /* a POST body with a Content-Length goes to a temporary
	                           * file, at most file_max bytes (413 beyond) */
};

struct http_route {
	const char *path;           /* NULL: the fallback of every path no other route has */
	unsigned flags;
	const char *worker_methods; /* these methods ("GET POST") run on a query worker */
	/* request headers ("x-node-tid:", kept as their value) or URL arguments
	 * ("rawpacketlimit=", kept as "rawpacketlimit=<value>") copied for the handler into
	 * http_request.kept (at most 127 bytes each) */
	const char *keep[HTTP_ROUTE_KEEP];
	unsigned long long file_max; /* HTTP_ROUTE_BODY_FILE */
	const char *file_what;       /* its 413: "<what> larger than N bytes (<key>)..." */
	const char *file_key;
	/* Fills out (always). On the loop, or on a worker for worker_methods. */
	void (*handle)(void *user, const struct http_request *req, struct rest_response *out);
	/* On the loop when a request is handed to a worker: http_request.stamp. NULL: 0. */
	uint64_t (*stamp)(void *user);
	void *user; /* the service's, handed to handle and stamp */
};

/* 1 when the request's caller holds the permission (auth_allowed; RawPackets(), BPF()). */
int http_request_allowed(const struct http_request *req, const char *object,
                         const char *action);

/* ---- WebSocket endpoints --------------------------------------------------------- */

/* Reading a handshake's headers while it is checked. */
struct http_ws_req;
/* The header name (lower-case or as written), or the same name as a URL argument
 * (?x-host-id=...): 1 found (out filled), 0 not. */
int http_ws_req_header(struct http_ws_req *r, const char *name, char *out, size_t len);

/* What the server knows of a connection (owned by it, valid until close). */
struct http_ws_info {
	const char *path;
	const char *remote; /* the client's address */
	int remote_port;
	int64_t connect_ms;
};

struct http_ws_msg {
	char *data; /* malloc'd, NUL-terminated after len; the callee may take it */
	size_t len;
};

/* Every callback gets the endpoint's user as svc, and the connection's own state (what
 * open put in *user) as user. */
struct http_ws_endpoint {
	const char *path;
	int kind;   /* the service's own tag */
	int binary; /* binary frames are its messages; else they are ignored (logged) */
	void *user; /* the service's, handed to every callback */
	/* Before the limits (origin, per address): 0 to go on, else an HTTP status with why
	 * filled (the handshake refused with {"Error": why}). NULL: accepted. */
	int (*check)(void *svc, int kind, struct http_ws_req *r, char *why, size_t whylen);
	/* After the limits: the same, for the service's own (a duplicate host ID). */
	int (*admit)(void *svc, int kind, struct http_ws_req *r, char *why, size_t whylen);
	/* The connection is up: the service's state goes in *user (freed by close).
	 * Headers readable through http_ws_header. -1 closes it. */
	int (*open)(void *svc, struct http_ws *ws, int kind, void **user);
	/* One whole message; the service may take data (set msg->data NULL: then it frees
	 * it). -1 closes the connection (after http_ws_close_reason). */
	int (*message)(void *svc, struct http_ws *ws, void *user, struct http_ws_msg *msg);
	/* The connection can take a write (http_ws_want_write asked). -1 closes it. */
	int (*writeable)(void *svc, struct http_ws *ws, void *user);
	/* The connection went (or the server stops); ws is freed after it. */
	void (*close)(void *svc, struct http_ws *ws, void *user);
};

const struct http_ws_info *http_ws_info(const struct http_ws *ws);
int http_ws_header(struct http_ws *ws, const char *name, char *out, size_t len);
/* How the server's logs name the client (the service's host ID); default "addr:port". */
void http_ws_set_name(struct http_ws *ws, const char *name);
/* Asks for a writeable callback (loop thread). */
void http_ws_want_write(struct http_ws *ws);
/* Bytes of headroom a frame needs in front of its payload. */
#define HTTP_WS_PRE 32
/* Writes one text frame: buf has HTTP_WS_PRE bytes before it the server may write
 * (the payload is not changed: shared buffers are fine). 0, or -1 (close). */
int http_ws_write_text(struct http_ws *ws, unsigned char *buf, size_t len);
/* The same, one binary frame. */
int http_ws_write_binary(struct http_ws *ws, unsigned char *buf, size_t len);
/* Whether this connection's binary frames are messages (default: the endpoint's binary;
 * when not, they are ignored and logged). For open(), e.g. a protobuf client. */
void http_ws_set_binary(struct http_ws *ws, int binary);
/* The close code and reason sent when a callback then returns -1. */
void http_ws_close_reason(struct http_ws *ws, int code, const char *why);

/* ---- service jobs on the query workers ------------------------------------------- */

/* A service's job on the server's workers (e.g. subscribers' filters): finish runs on
 * the loop once it came back (s NULL when the server stops: only free it). */
struct http_task {
	struct workers_job w; /* first */
	void (*finish)(struct http_server *s, struct http_task *t);
};
/* 0, or -EBUSY (queue full) / -ESHUTDOWN: the task stays the caller's. */
int http_server_submit(struct http_server *s, struct http_task *t);

/* ---- the server ------------------------------------------------------------------ */

struct http_server_opts {
	const char *service;        /* "analyzer" or "agent": GET /api, auth, TLS keys */
	const char *listen_key;     /* config key of the address ("analyzer.listen") */
	const char *listen_default; /* when the key is unset ("127.0.0.1:8082") */
	const struct http_route *routes; /* ending with a route whose handle is NULL */
	const struct http_ws_endpoint *endpoints; /* ending with path NULL */
	void *svc;                  /* handed to wake */
	/* On the loop each time it is woken (http_server_wake), after workers' answers. */
	void (*wake)(void *svc);
};

/* Creates the server and binds its port (a port conflict is reported here). cfg is
 * borrowed and must outlive it; routes, endpoints and svc too. NULL with err filled
 * ("cannot listen on 127.0.0.1:8082: Address already in use ..."). */
struct http_server *http_server_new(struct config *cfg, const struct http_server_opts *o,
                                    char *err, size_t errlen);
/* Runs the event loop in its own thread. 0 or -errno. */
int http_server_start(struct http_server *s);
/* Stops the loop and the workers (queries running finish, those queued come back
 * canceled): then the service stops its own threads (they may wake the loop). */
void http_server_halt(struct http_server *s);
/* Closes every connection (close callbacks run, on the calling thread), frees the
 * rest. After http_server_halt; NULL is fine. */
void http_server_free(struct http_server *s);
/* Whether http_server_halt was called (from any thread). */
int http_server_stopping(const struct http_server *s);

int http_server_port(const struct http_server *s);
const char *http_server_address(const struct http_server *s); /* "127.0.0.1:8082" */

/* Wakes the loop (any thread): its opts.wake runs there. */
void http_server_wake(struct http_server *s);
/* fn(user) on the loop every period_ms from now until the server stops. 0 or -ENOMEM. */
int http_server_every(struct http_server *s, int period_ms, void (*fn)(void *user), void *user);
/* The server's /api/status sections: "Connections", "Queries", "Auth", and in
 * "WebSocket" MaxConnectionsPerAddress, RefusedCrossOrigin and RefusedPerAddress
 * (added to status). Loop thread. */
void http_server_status(struct http_server *s, json_t *status);
/* The same counters in Prometheus' text format (common/prom.h), label host; WebSocket
 * clients per endpoint; every route's request durations (a histogram). Loop thread. */
struct buf;
void http_server_metrics(struct http_server *s, struct buf *b);

#endif
