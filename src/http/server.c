/* server.c - the HTTP + WebSocket server on libwebsockets (server.h): one event loop
 * thread, one protocol routing HTTP and WebSocket by path; the service's routes and
 * endpoints do the rest. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "http/server.h"
#include "http/cors.h"
#include "http/login.h"
#include "http/tls_server.h"
#include "http/ui_serve.h"
#include "http/workers.h"
#include "common/log.h"
#include "common/prom.h"

#define MAX_BODY   (16u << 20)  /* POST bodies: a Gremlin query is small */
#define MAX_MSG    (256u << 20) /* one WebSocket message (a whole agent graph): the default
                                   * of http.ws.max_message_size */
#define HTTP_CHUNK (64u << 10)
#define TOKEN_COOKIE_MAX 128 /* an authtoken value: 64 hex digits, longer ones refused */
#define KEEP_MAX 128

_Static_assert(HTTP_WS_PRE >= LWS_PRE, "HTTP_WS_PRE must leave lws its headroom");

/* One WebSocket connection: the server's part; the service's hangs off user. Listed in
 * http_server.ws (loop only) for the per-address bound. */
struct http_ws {
	struct http_ws *next;
	struct lws *wsi;
	const struct http_ws_endpoint *ep;
	void *user;
	int opened;
	char path[256];
	char remote[64];
	char name[128]; /* in logs: the service's name of the client, else its address */
	struct http_ws_info info;
	char *rx;
	size_t rx_len, rx_cap;
	int binary; /* binary frames are messages (the endpoint's, or http_ws_set_binary) */
};

/* Per connection state lws allocates (zeroed) for us. */
struct pss {
	/* HTTP request being read and its response being written */
	char method[8];
	char path[512];
	char accept[128];
	char ctype[128]; /* Content-Type (YAML bodies of /api/capture) */
	const struct http_route *route;
	char kept[HTTP_ROUTE_KEEP][KEEP_MAX];
	/* CORS (Origin, Access-Control-Request-*) and the web UI's conditional/gzip GETs */
	char origin[256];
	char acr_method[16];
	char acr_headers[256];
	int has_acr_method;
	char inm[160];  /* If-None-Match */
	char aenc[128]; /* Accept-Encoding */
	char *body;
	size_t body_len;
	int body_too_big;
	/* HTTP_ROUTE_BODY_FILE: the body goes to a temporary file as it arrives */
	FILE *file_fp;
	char file_path[64];
	int file_too_big;              /* over the route's file_max: read and dropped */
	unsigned long long file_bytes; /* written so far (a body may come without a length) */
	char host[256];                /* Host: the same-origin check of cross-site requests */
	int have_resp, headers_sent;
	struct rest_response resp;
	size_t sent;
	/* a request running on a worker (its answer comes back to the loop) */
	struct http_job *job;
	/* WebSocket */
	struct http_ws *ws;
	/* authentication (auth.h): the credentials' headers and the verdict, made when
	 * the headers are in, so a refused request's body is never kept or written */
	char authz[1024]; /* Authorization */
	char xtoken[160]; /* X-Auth-Token, or the x-auth-token URL argument */
	char cookie[160]; /* "authtoken=<value>" of the Cookie header, or "" */
	char peer_addr[64];
	char cert_user[128]; /* the verified client certificate's name (tls_server.h) */
	struct auth_verdict av;
	struct timespec t0; /* the request's headers came (its latency, /metrics) */
};

struct timer {
	lws_sorted_usec_list_t sul; /* first */
	struct timer *next;
	struct http_server *s;
	int period_ms;
	void (*fn)(void *user);
	void *user;
};

struct http_server {
	struct config *cfg;
	struct http_server_opts o;
	char service[16];
	char host_id[256];
	char address[300];
	int port;
	struct cors *cors; /* http.cors.allowed_origins */
	/* Limits (docs/API.md "Limits") and what they refused, in /api/status WebSocket */
	size_t ws_max_per_addr; /* http.ws.max_connections_per_address */
	size_t ws_max_msg;      /* http.ws.max_message_size */
	uint64_t refused_origin, refused_per_addr;
	/* Every accepted TCP connection (HTTP, WebSocket, before its first byte), at most
	 * http.max_connections; those beyond it are closed at accept and counted. Only the
	 * service thread changes them; /api/status reads them there too. */
	size_t conn_max, conn_current;
	uint64_t conn_refused, conn_refused_logged;
	int conn_accepting;  /* FILTER_NETWORK_CONNECTION admitted one: its WSI_CREATE is next */
	int64_t conn_log_ms; /* the last "refused" log line (one per 10 s at most) */
	int header_timeout, keepalive_timeout; /* http.header_timeout, http.keepalive_timeout */
	struct auth *auth; /* <service>.auth.*, auth.<backend>.*, rbac.* (auth.h) */
	int tls;           /* HTTPS: the authtoken cookie is Secure */

	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct lws_protocols protocols[2];
	lws_retry_bo_t retry;
	unsigned char *scratch; /* LWS_PRE + HTTP_CHUNK for HTTP body writes */

	pthread_t thread;
	int started;
	atomic_int stopping;

	struct http_ws *ws; /* WebSocket connections (loop only) */
	struct timer *timers;
	struct workers *pool; /* analyzer.query_workers, analyzer.query_queue */
	uint64_t jobs_abandoned; /* answers whose client went while they ran */
	/* /metrics: each route's request durations (the last: no route), loop only */
	struct prom_histo *lat;
	size_t nlat;
};

/* A request handed to a query worker: what it needs, copied or stolen from the pss, so
 * the worker never reads the connection's memory; pss and wsi are the loop's only (pss
 * NULL once the client went: the answer is then dropped and counted). */
struct http_job {
	struct http_task t; /* first */
	struct http_server *s;
	atomic_int gone; /* the client went before a worker took it: not evaluated */
	struct pss *pss;
	struct lws *wsi;
	const struct http_route *route;
	char method[8], path[512], accept[128], ctype[128];
	char kept[HTTP_ROUTE_KEEP][KEEP_MAX];
	char *body;
	size_t body_len;
	struct auth_identity id;
	uint64_t stamp;
	FILE *file_fp; /* a body streamed to a file: now the job's */
	char file_path[64];
	struct rest_response resp; /* the worker's answer */
};

/* ---- accessors ---------------------------------------------------------- */

int http_server_port(const struct http_server *s)
{
	return s->port;
}

const char *http_server_address(const struct http_server *s)
{
	return s->address;
}

int http_server_stopping(const struct http_server *s)
{
	return atomic_load(&s->stopping);
}

void http_server_wake(struct http_server *s)
{
	lws_cancel_service(s->ctx);
}

int http_server_submit(struct http_server *s, struct http_task *t)
{
	return s->pool ? workers_submit(s->pool, &t->w) : -ESHUTDOWN;
}

int http_request_allowed(const struct http_request *req, const char *object, const char *action)
{
	return auth_allowed(req->server->auth, req->id, object, action);
}

/* ---- status ------------------------------------------------------------ */

void http_server_status(struct http_server *s, json_t *status)
{
	struct workers_stats qs = {0};
	if (s->pool)
		workers_stats(s->pool, &qs);
	json_t *ws = json_object_get(status, "WebSocket");
	if (!ws && !json_object_set_new(status, "WebSocket", json_object()))
		ws = json_object_get(status, "WebSocket");
	if (ws) {
		json_object_set_new(ws, "MaxConnectionsPerAddress",
		                    json_integer((json_int_t)s->ws_max_per_addr));
		json_object_set_new(ws, "RefusedCrossOrigin", json_integer((json_int_t)s->refused_origin));
		json_object_set_new(ws, "RefusedPerAddress", json_integer((json_int_t)s->refused_per_addr));
	}
	json_object_set_new(
	    status, "Connections",
	    json_pack("{s:I, s:I, s:I, s:i, s:i}", "Current", (json_int_t)s->conn_current, "Max",
	              (json_int_t)s->conn_max, "Refused", (json_int_t)s->conn_refused,
	              "HeaderTimeout", s->header_timeout, "KeepAliveTimeout", s->keepalive_timeout));
	/* Queries off the loop: the workers and their queue (503 beyond it: Refused), answers
	 * dropped because the client went first (Abandoned) */
	json_object_set_new(
	    status, "Queries",
	    json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "Workers", qs.threads, "QueueMax",
	              (json_int_t)qs.queue_max, "Queued", (json_int_t)qs.queued, "Running",
	              (json_int_t)qs.running, "Submitted", (json_int_t)qs.submitted, "Finished",
	              (json_int_t)qs.finished, "Refused", (json_int_t)qs.refused, "Abandoned",
	              (json_int_t)s->jobs_abandoned));
	if (s->auth)
		json_object_set_new(status, "Auth", auth_status_json(s->auth, rest_now_ms()));
}

/* ---- /metrics (docs/API.md "Metrics"): the same counters as http_server_status ---- */

static void metric(struct buf *b, const char *name, const char *type, const char *help,
                   const char *host, uint64_t v)
{
	prom_family(b, name, type, help);
	prom_u64(b, name, (prom_labels){"host", host, NULL}, v);
}

void http_server_metrics(struct http_server *s, struct buf *b)
{
	struct workers_stats qs = {0};
	if (s->pool)
		workers_stats(s->pool, &qs);
	const char *h = s->host_id;
	metric(b, "skydive_http_connections", "gauge", "TCP connections open now", h,
	       s->conn_current);
	metric(b, "skydive_http_connections_max", "gauge", "http.max_connections", h, s->conn_max);
	metric(b, "skydive_http_connections_refused_total", "counter",
	       "Connections closed at accept: http.max_connections reached", h, s->conn_refused);
	metric(b, "skydive_query_workers", "gauge", "Query worker threads", h, (uint64_t)qs.threads);
	metric(b, "skydive_query_queue_max", "gauge", "analyzer.query_queue", h, qs.queue_max);
	metric(b, "skydive_query_queued", "gauge", "Queries waiting for a worker", h, qs.queued);
	metric(b, "skydive_query_running", "gauge", "Queries on a worker now", h, qs.running);
	metric(b, "skydive_query_submitted_total", "counter", "Queries handed to workers", h,
	       qs.submitted);
	metric(b, "skydive_query_refused_total", "counter",
	       "Queries refused with 503: the queue was full", h, qs.refused);
	metric(b, "skydive_query_abandoned_total", "counter",
	       "Answers dropped: the client went while the query ran", h, s->jobs_abandoned);
	prom_family(b, "skydive_websocket_refused_total", "counter",
	            "WebSocket handshakes refused by the server's limits");
	prom_u64(b, "skydive_websocket_refused_total",
	         (prom_labels){"host", h, "reason", "cross_origin", NULL}, s->refused_origin);
	prom_u64(b, "skydive_websocket_refused_total",
	         (prom_labels){"host", h, "reason", "per_address", NULL}, s->refused_per_addr);
	prom_family(b, "skydive_websocket_clients", "gauge", "WebSocket connections open now");
	for (const struct http_ws_endpoint *e = s->o.endpoints; e && e->path; e++) {
		uint64_t n = 0;
		for (const struct http_ws *w = s->ws; w; w = w->next)
			n += w->ep == e && w->opened;
		prom_u64(b, "skydive_websocket_clients",
		         (prom_labels){"host", h, "endpoint", e->path, NULL}, n);
	}
	if (s->auth) {
		struct auth_stats as;
		auth_stats(s->auth, rest_now_ms(), &as);
		prom_family(b, "skydive_auth_refused_total", "counter",
		            "Requests and handshakes refused by authentication or RBAC");
		const struct {
			const char *why;
			uint64_t v;
		} r[] = {{"unauthenticated", as.unauthenticated},
		         {"forbidden", as.forbidden},
		         {"throttled", as.throttled}};
		for (size_t i = 0; i < 3; i++)
			prom_u64(b, "skydive_auth_refused_total",
			         (prom_labels){"host", h, "reason", r[i].why, NULL}, r[i].v);
		metric(b, "skydive_auth_password_failures_total", "counter", "Wrong passwords", h,
		       as.password_failures);
		metric(b, "skydive_auth_logins_total", "counter", "Successful POST /login", h,
		       as.logins);
		metric(b, "skydive_auth_login_failures_total", "counter", "Failed POST /login", h,
		       as.login_failures);
		metric(b, "skydive_auth_tokens", "gauge", "Login tokens live now", h, as.tokens.live);
		metric(b, "skydive_auth_tokens_evicted_total", "counter",
		       "Login tokens dropped: the store was full", h, as.tokens.evicted);
		metric(b, "skydive_auth_token_save_errors_total", "counter",
		       "Failed writes of the token file", h, as.tokens.save_errors);
		metric(b, "skydive_auth_throttle_evicted_total", "counter",
		       "Throttled addresses forgotten: the table was full", h, as.throttle.evicted);
	}
	prom_family(b, "skydive_http_request_duration_seconds", "histogram",
	            "HTTP requests, from their headers to the last byte of their answer, by route");
	for (size_t i = 0; i < s->nlat; i++) {
		const char *route = i + 1 == s->nlat ? "(none)"
		                    : s->o.routes[i].path ? s->o.routes[i].path
		                                          : "(default)";
		prom_histo_write(b, "skydive_http_request_duration_seconds",
		                 (prom_labels){"host", h, "route", route, NULL}, &s->lat[i]);
	}
}

/* ---- HTTP -------------------------------------------------------------- */

static void http_reset(struct pss *pss)
{
	if (pss->job) { /* its client went (or asked again): the answer will be dropped */
		atomic_store(&pss->job->gone, 1);
		pss->job->pss = NULL;
		pss->job = NULL;
	}
	free(pss->body);
	rest_response_free(&pss->resp);
	pss->body = NULL;
	pss->body_len = 0;
	pss->body_too_big = pss->file_too_big = 0;
	pss->file_bytes = 0;
	if (pss->file_fp) {
		fclose(pss->file_fp);
		unlink(pss->file_path);
		pss->file_fp = NULL;
	}
	pss->have_resp = pss->headers_sent = 0;
	pss->sent = 0;
}

static const struct {
	enum lws_token_indexes tok;
	const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
    {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

static void pss_creds(const struct pss *pss, struct auth_creds *c)
{
	*c = (struct auth_creds){.authorization = pss->authz[0] ? pss->authz : NULL,
	                         .x_auth_token = pss->xtoken[0] ? pss->xtoken : NULL,
	                         .cookie = pss->cookie[0] ? pss->cookie : NULL,
	                         .peer = pss->peer_addr,
	                         .cert_user = pss->cert_user[0] ? pss->cert_user : NULL};
}

/* The 401/403/429 of a refused request: {"Error"} with the reason (auth.h). */
static void auth_reply(const struct pss *pss, struct rest_response *out)
{
	memset(out, 0, sizeof(*out));
	rest_reply_error(out, pss->av.status, "%s", pss->av.msg);
	char ra[24];
	snprintf(ra, sizeof(ra), "%lld", (long long)pss->av.retry_after_s);
	/* Bearer, not Basic: a browser shows no password dialog; the UI has /login */
	if ((pss->av.status == 401 &&
	     rest_add_header(out, "WWW-Authenticate", "Bearer realm=\"Skydive Authentication\"")) ||
	    (pss->av.status == 429 && rest_add_header(out, "Retry-After", ra)))
		log_error("api: out of memory adding the headers of a %d", pss->av.status);
}

/* The route of a path: the first that names it, else the fallback (path NULL). */
static const struct http_route *route_find(const struct http_server *s, const char *path)
{
	const struct http_route *fallback = NULL;
	for (const struct http_route *r = s->o.routes; r && r->handle; r++) {
		if (!r->path) {
			fallback = fallback ? fallback : r;
			continue;
		}
		size_t n = strlen(r->path);
		if (!strcmp(path, r->path) ||
		    ((r->flags & HTTP_ROUTE_PREFIX) && !strncmp(path, r->path, n) && path[n] == '/'))
			return r;
	}
	return fallback;
}

static int method_listed(const char *list, const char *method)
{
	size_t n = strlen(method);
	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		size_t k = strcspn(p, " ");
		if (k == n && !strncmp(p, method, n))
			return 1;
		p += k;
	}
	return 0;
}

/* From a browser (an Origin header), JSON (or, for routes that take it, YAML) bodies must
 * say so: a cross-site form or text/plain POST cannot, a second guard beside the Origin
 * check (issue 9). The web UI sends application/json. Clients without an Origin (curl -d,
 * scripts, skydive client) are not browsers a page could drive, and Skydive accepted
 * their bodies whatever the type: they still may. */
static int body_type_refused(const struct pss *pss)
{
	unsigned f = pss->route ? pss->route->flags : 0;
	if (!pss->body_len || !pss->origin[0] || !(f & HTTP_ROUTE_JSON))
		return 0;
	const char *ct = pss->ctype;
	while (*ct == ' ')
		ct++;
	if (!strncasecmp(ct, "application/json", 16) && (!ct[16] || ct[16] == ';' || ct[16] == ' '))
		return 0;
	return !(f & HTTP_ROUTE_YAML) ||
	       (strncasecmp(ct, "application/yaml", 16) && strncasecmp(ct, "application/x-yaml", 18) &&
	        strncasecmp(ct, "text/yaml", 9) && strncasecmp(ct, "text/x-yaml", 11));
}

/* pss->resp is the answer: CORS headers (unless a pre-flight's, which has them), then
 * written when the connection can take it. */
static void http_answer(struct http_server *s, struct lws *wsi, struct pss *pss, int preflight)
{
	if (!preflight) {
		struct cors_request creq = {
		    .method = pss->method,
		    .origin = pss->origin[0] ? pss->origin : NULL,
		    .req_method = pss->has_acr_method ? pss->acr_method : NULL,
		    .req_headers = pss->acr_headers[0] ? pss->acr_headers : NULL};
		if (cors_apply(s->cors, &creq, &pss->resp) < 0)
			log_error("api: out of memory adding the CORS headers of %s %s",
			          pss->method, pss->path);
	}
	log_debug("api: %s %s -> %d", pss->method, pss->path, pss->resp.status);
	pss->have_resp = 1;
	lws_callback_on_writable(wsi);
}

static void http_job_free(struct http_job *j)
{
	if (j->file_fp) {
		fclose(j->file_fp);
		unlink(j->file_path);
	}
	free(j->body);
	rest_response_free(&j->resp);
	free(j);
}

/* The request a handler sees, from a job's copy. */
static void job_request(struct http_job *j, struct http_request *req)
{
	*req = (struct http_request){.method = j->method,
	                             .path = j->path,
	                             .accept = j->accept[0] ? j->accept : NULL,
	                             .content_type = j->ctype[0] ? j->ctype : NULL,
	                             .body = j->body,
	                             .body_len = j->body_len,
	                             .body_file = j->file_fp ? j->file_path : NULL,
	                             .id = &j->id,
	                             .stamp = j->stamp,
	                             .server = j->s};
	for (int k = 0; k < HTTP_ROUTE_KEEP; k++)
		req->kept[k] = j->kept[k];
}

/* On a worker: the request, as the loop would have answered it. */
static void http_job_run(struct workers_job *wj)
{
	struct http_job *j = (struct http_job *)(void *)wj;
	if (atomic_load(&j->gone))
		return; /* nobody to answer: spare the work */
	struct http_request req;
	job_request(j, &req);
	if (j->file_fp)
		fflush(j->file_fp);
	j->route->handle(j->route->user, &req, &j->resp);
}

static void http_job_finish(struct http_server *s, struct http_task *t);

/* Hands the request to a query worker: 1 when it went (the answer comes later), 0 when
 * pss->resp was filled instead (503: the queue is full; 500: out of memory). */
static int http_offload(struct http_server *s, struct lws *wsi, struct pss *pss)
{
	struct http_job *j = calloc(1, sizeof(*j));
	if (!j) {
		rest_reply_error(&pss->resp, 500, "out of memory queueing the query");
		return 0;
	}
	j->t.w.run = http_job_run;
	j->t.finish = http_job_finish;
	j->s = s;
	j->route = pss->route;
	snprintf(j->method, sizeof(j->method), "%s", pss->method);
	snprintf(j->path, sizeof(j->path), "%s", pss->path);
	snprintf(j->accept, sizeof(j->accept), "%s", pss->accept);
	snprintf(j->ctype, sizeof(j->ctype), "%s", pss->ctype);
	memcpy(j->kept, pss->kept, sizeof(j->kept));
	j->id = pss->av.id;
	j->stamp = pss->route->stamp ? pss->route->stamp(pss->route->user) : 0;
	j->body = pss->body;
	j->body_len = pss->body_len;
	pss->body = NULL;
	pss->body_len = 0;
	if (pss->file_fp) {
		j->file_fp = pss->file_fp;
		pss->file_fp = NULL;
		memcpy(j->file_path, pss->file_path, sizeof(j->file_path));
	}
	int rc = workers_submit(s->pool, &j->t.w);
	if (rc) {
		struct workers_stats st;
		workers_stats(s->pool, &st);
		http_job_free(j);
		memset(&pss->resp, 0, sizeof(pss->resp));
		rest_reply_error(&pss->resp, 503,
		                 "too many queries waiting (%zu queued, %d running: "
		                 "analyzer.query_queue, analyzer.query_workers); retry later",
		                 st.queued, st.threads);
		if (rest_add_header(&pss->resp, "Retry-After", "1"))
			log_error("api: out of memory adding the Retry-After of a 503");
		log_debug("api: %s %s refused: the query queue is full", pss->method, pss->path);
		return 0;
	}
	j->pss = pss;
	j->wsi = wsi;
	pss->job = j;
	/* The worker's time is bounded by analyzer.gremlin.timeout; lws's own timeout of a
	 * request that reads nothing more would cut the answer off. */
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	return 1;
}

/* On the loop: a query's answer goes to its connection; dropped and counted when its
 * client went. */
static void http_job_finish(struct http_server *s, struct http_task *t)
{
	struct http_job *j = (struct http_job *)t;
	struct pss *pss = j->pss;
	if (!s || !pss) {
		if (pss)
			pss->job = NULL;
		if (s) {
			s->jobs_abandoned++;
			log_debug("api: the answer of %s %s dropped: its client went", j->method,
			          j->path);
		}
		http_job_free(j);
		return;
	}
	pss->job = NULL;
	rest_response_free(&pss->resp);
	if (j->t.w.canceled) {
		rest_reply_error(&pss->resp, 503, "the %s is stopping", s->service);
	} else {
		pss->resp = j->resp;
		memset(&j->resp, 0, sizeof(j->resp));
	}
	struct lws *wsi = j->wsi;
	http_job_free(j);
	http_answer(s, wsi, pss, 0);
}

/* On the loop, woken by a worker: what came back (answers, the service's tasks). */
static void jobs_done(struct http_server *s)
{
	struct workers_job *wj = s->pool ? workers_take_done(s->pool) : NULL;
	while (wj) {
		struct http_task *t = (struct http_task *)wj;
		wj = wj->next;
		t->finish(s, t);
	}
}

/* The request a route's handler sees on the loop, from the pss. */
static void pss_request(struct http_server *s, struct pss *pss, struct http_request *req)
{
	*req = (struct http_request){.method = pss->method,
	                             .path = pss->path,
	                             .accept = pss->accept[0] ? pss->accept : NULL,
	                             .content_type = pss->ctype[0] ? pss->ctype : NULL,
	                             .body = pss->body,
	                             .body_len = pss->body_len,
	                             .id = &pss->av.id,
	                             .server = s};
	for (int k = 0; k < HTTP_ROUTE_KEEP; k++)
		req->kept[k] = pss->kept[k];
}

static void http_respond(struct http_server *s, struct lws *wsi, struct pss *pss)
{
	struct cors_request creq = {.method = pss->method,
	                            .origin = pss->origin[0] ? pss->origin : NULL,
	                            .req_method = pss->has_acr_method ? pss->acr_method : NULL,
	                            .req_headers = pss->acr_headers[0] ? pss->acr_headers : NULL};
	struct ui_request ureq = {.method = pss->method,
	                          .path = pss->path,
	                          .accept_encoding = pss->aenc[0] ? pss->aenc : NULL,
	                          .if_none_match = pss->inm[0] ? pss->inm : NULL};
	const struct http_route *r = pss->route;
	int cors_rc = 0;
	if (!strcmp(pss->method, "OPTIONS")) {
		/* pre-flight, on every path, before routing (cors.h) */
		memset(&pss->resp, 0, sizeof(pss->resp));
		cors_rc = cors_apply(s->cors, &creq, &pss->resp);
	} else if (pss->av.status) {
		auth_reply(pss, &pss->resp);
	} else if (strcmp(pss->method, "GET") && strcmp(pss->method, "HEAD") &&
	           !cors_request_allowed(s->cors, creq.origin, pss->host)) {
		/* A browser sends a form or text/plain POST to any site without a pre-flight:
		 * state changes from another origin are refused (issue 9). */
		char msg[600];
		s->refused_origin++;
		log_warn("api: %s %s from Origin %s refused (Host %s; not in "
		         "http.cors.allowed_origins)",
		         pss->method, pss->path, pss->origin, pss->host);
		snprintf(msg, sizeof(msg),
		         "cross-origin %s from Origin %.200s refused: only the same origin or one "
		         "listed in http.cors.allowed_origins may change state",
		         pss->method, pss->origin);
		rest_reply_error(&pss->resp, 403, "%s", msg);
	} else if (pss->file_too_big) {
		char msg[200];
		snprintf(msg, sizeof(msg), "%s larger than %llu bytes (%s); nothing was imported",
		         r->file_what, r->file_max, r->file_key);
		rest_reply_error(&pss->resp, 413, "%s", msg);
	} else if (body_type_refused(pss)) {
		char msg[400];
		snprintf(msg, sizeof(msg),
		         "Content-Type '%.100s' refused for %s %.200s: send application/json%s",
		         pss->ctype[0] ? pss->ctype : "(none)", pss->method, pss->path,
		         r->flags & HTTP_ROUTE_YAML ? " or application/yaml" : "");
		rest_reply_error(&pss->resp, 415, "%s", msg);
	} else if (pss->body_too_big) {
		rest_reply_error(&pss->resp, 413, "request body larger than %u bytes", MAX_BODY);
	} else if (!strncmp(pss->path, "/ws/", 4)) {
		rest_reply_error(&pss->resp, 400, "this is a WebSocket endpoint: connect with a "
		                                  "WebSocket client (Upgrade: websocket)");
	} else if (pss->file_fp) {
		if (http_offload(s, wsi, pss))
			return;
	} else if (r && r->path && !method_listed(r->worker_methods, pss->method)) {
		/* the service's own paths go first (none is /login or a UI route) */
		struct http_request req;
		pss_request(s, pss, &req);
		memset(&pss->resp, 0, sizeof(pss->resp));
		r->handle(r->user, &req, &pss->resp);
	} else if (r && r->path) {
		if (http_offload(s, wsi, pss))
			return;
	} else if (!strcmp(pss->path, "/login")) {
		struct login_request lreq = {
		    .method = pss->method,
		    .content_type = pss->ctype[0] ? pss->ctype : NULL,
		    .origin = cors_origin_allowed(s->cors, creq.origin) ? creq.origin : NULL,
		    .body = pss->body,
		    .body_len = pss->body_len,
		    .auth = s->auth,
		    .peer = pss->peer_addr,
		    .secure = s->tls};
		memset(&pss->resp, 0, sizeof(pss->resp));
		login_handle(&lreq, &pss->resp);
	} else if (!strcmp(pss->path, "/logout")) {
		struct auth_creds ac;
		pss_creds(pss, &ac);
		memset(&pss->resp, 0, sizeof(pss->resp));
		logout_handle(s->auth, pss->method, &ac, s->tls, &pss->resp);
	} else if (!ui_serve(&ureq, &pss->resp)) {
		if (!r) {
			rest_reply_error(&pss->resp, 404, "no such endpoint: %s", pss->path);
		} else if (!method_listed(r->worker_methods, pss->method)) {
			struct http_request req;
			pss_request(s, pss, &req);
			memset(&pss->resp, 0, sizeof(pss->resp));
			r->handle(r->user, &req, &pss->resp);
		} else if (http_offload(s, wsi, pss)) {
			return; /* answered by jobs_done() */
		}
	}
	if (cors_rc < 0)
		log_error("api: out of memory adding the CORS headers of %s %s", pss->method,
		          pss->path);
	http_answer(s, wsi, pss, !strcmp(pss->method, "OPTIONS"));
}

/* /metrics: from the request's headers to its answer's last byte handed to the socket */
static void latency_done(struct http_server *s, const struct pss *pss)
{
	if (!s->lat)
		return;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double d = (double)(t1.tv_sec - pss->t0.tv_sec) + (double)(t1.tv_nsec - pss->t0.tv_nsec) / 1e9;
	size_t i = pss->route ? (size_t)(pss->route - s->o.routes) : s->nlat - 1;
	prom_histo_observe(&s->lat[i < s->nlat ? i : s->nlat - 1], d);
}

/* Returns -1 to close the connection. */
static int http_write(struct http_server *s, struct lws *wsi, struct pss *pss)
{
	if (!pss->have_resp)
		return 0;
	if (!pss->headers_sent) {
		/* room for the common headers and the extra ones (a Set-Cookie can be long) */
		const char *xh = pss->resp.headers;
		size_t cap = LWS_PRE + 1024 + (xh ? 2 * strlen(xh) : 0);
		unsigned char *hb = malloc(cap);
		if (!hb)
			return -1;
		unsigned char *start = hb + LWS_PRE, *p = start, *end = hb + cap - 1;
		/* HEAD, 204 and 304 carry no body (Content-Length is the GET's) */
		int nobody = !strcmp(pss->method, "HEAD") || pss->resp.status == 304 ||
		             pss->resp.status == 204;
		int bad = lws_add_http_common_headers(wsi, (unsigned)pss->resp.status,
		                                      pss->resp.content_type, pss->resp.len, &p, end);
		while (!bad && xh && *xh) {
			const char *colon = strchr(xh, ':'), *eol = strstr(xh, "\r\n");
			if (!colon || !eol || colon > eol)
				break;
			char name[128];
			const char *v = colon + 1;
			while (*v == ' ')
				v++;
			snprintf(name, sizeof(name), "%.*s:", (int)(colon - xh), xh);
			for (char *c = name; *c; c++) /* HTTP/2 (TLS + ALPN) wants lower case */
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c + 32);
			bad = lws_add_http_header_by_name(wsi, (const unsigned char *)name,
			                                  (const unsigned char *)v, (int)(eol - v), &p,
			                                  end);
			xh = eol + 2;
		}
		bad = bad || lws_finalize_write_http_header(wsi, start, &p, end);
		free(hb);
		if (bad)
			return -1;
		pss->headers_sent = 1;
		if (pss->resp.len == 0 || nobody) {
			latency_done(s, pss);
			http_reset(pss);
			return lws_http_transaction_completed(wsi) ? -1 : 0;
		}
		lws_callback_on_writable(wsi);
		return 0;
	}
	size_t n = pss->resp.len - pss->sent;
	if (n > HTTP_CHUNK)
		n = HTTP_CHUNK;
	/* HTTP/2 (a client's h2c upgrade; -1 is HTTP/1): one write of 64 KiB exceeds
	 * the initial window (65535) and is refused; 16 KiB (the default frame) goes */
	if (lws_get_peer_write_allowance(wsi) >= 0 && n > 16384)
		n = 16384;
	int last = pss->sent + n == pss->resp.len;
	memcpy(s->scratch + LWS_PRE, pss->resp.body + pss->sent, n);
	if (lws_write(wsi, s->scratch + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)n)
		return -1;
	pss->sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	latency_done(s, pss);
	http_reset(pss);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A large body (HTTP_ROUTE_BODY_FILE, a pcap) is written to a temporary file, not kept
 * in memory (without a file, it is read into memory up to MAX_BODY). */
static void body_file_begin(struct pss *pss)
{
	const char *dir = getenv("TMPDIR");
	snprintf(pss->file_path, sizeof(pss->file_path), "%s/skydive-pcap-XXXXXX",
	         dir && *dir && strlen(dir) < 40 ? dir : "/tmp");
	int fd = mkstemp(pss->file_path);
	if (fd >= 0 && !(pss->file_fp = fdopen(fd, "w+b"))) {
		close(fd);
		unlink(pss->file_path);
	}
}

/* The route's keep[] values: headers as their value, URL arguments as "name=value". */
static void keep_copy(struct lws *wsi, struct pss *pss)
{
	for (int k = 0; k < HTTP_ROUTE_KEEP; k++) {
		const char *name = pss->route ? pss->route->keep[k] : NULL;
		char *out = pss->kept[k], v[KEEP_MAX];
		size_t n = name ? strlen(name) : 0;
		out[0] = 0;
		if (n && name[n - 1] == ':') {
			if (lws_hdr_custom_copy(wsi, out, KEEP_MAX, name, (int)n) < 0)
				out[0] = 0;
		} else if (n && name[n - 1] == '=') {
			const char *val = lws_get_urlarg_by_name(wsi, name, v, (int)sizeof(v));
			if (val)
				snprintf(out, KEEP_MAX, "%s%s", name, val);
		}
	}
}

/* Only the authtoken of the Cookie header, as "authtoken=<value>": the whole header also
 * holds the permissions cookie /login sets (some KB), which a small buffer would lose. */
static void auth_cookie_copy(struct lws *wsi, char *out, size_t outlen)
{
	char *all = malloc(8192), v[TOKEN_COOKIE_MAX];
	out[0] = 0;
	if (all && lws_hdr_copy(wsi, all, 8192, WSI_TOKEN_HTTP_COOKIE) > 0 &&
	    auth_cookie_value(all, AUTH_COOKIE, v, sizeof(v)))
		snprintf(out, outlen, "%s=%s", AUTH_COOKIE, v);
	free(all);
}

/* The credentials of a request (auth.h) and the verdict on it, in pss->av. */
static void http_auth(struct http_server *s, struct lws *wsi, struct pss *pss)
{
	if (lws_hdr_copy(wsi, pss->authz, sizeof(pss->authz), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		pss->authz[0] = 0;
	auth_cookie_copy(wsi, pss->cookie, sizeof(pss->cookie));
	if (lws_hdr_custom_copy(wsi, pss->xtoken, sizeof(pss->xtoken), "x-auth-token:", 13) < 0)
		pss->xtoken[0] = 0;
	char arg[200];
	const char *v = pss->xtoken[0] ? NULL
	                               : lws_get_urlarg_by_name(wsi, "x-auth-token=", arg,
	                                                        (int)sizeof(arg));
	if (v) /* browsers cannot set a WebSocket's headers: the URL carries the token */
		snprintf(pss->xtoken, sizeof(pss->xtoken), "%s", v);
	lws_get_peer_simple(wsi, pss->peer_addr, sizeof(pss->peer_addr));
	tls_server_peer_user(lws_get_ssl(wsi), pss->cert_user, sizeof(pss->cert_user));
	struct auth_creds c;
	pss_creds(pss, &c);
	auth_check_http(s->auth, pss->method, pss->path, pss->accept[0] ? pss->accept : NULL, &c,
	                rest_now_ms(), &pss->av);
}

static int http_begin(struct http_server *s, struct lws *wsi, struct pss *pss, const char *uri)
{
	http_reset(pss);
	clock_gettime(CLOCK_MONOTONIC, &pss->t0);
	snprintf(pss->path, sizeof(pss->path), "%s", uri ? uri : "/");
	pss->method[0] = 0;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
			snprintf(pss->method, sizeof(pss->method), "%s", methods[i].name);
			break;
		}
	pss->accept[0] = 0;
	if (lws_hdr_copy(wsi, pss->accept, sizeof(pss->accept), WSI_TOKEN_HTTP_ACCEPT) < 0)
		pss->accept[0] = 0;
	pss->ctype[0] = 0;
	if (lws_hdr_copy(wsi, pss->ctype, sizeof(pss->ctype), WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
		pss->ctype[0] = 0;
	pss->route = route_find(s, pss->path);
	keep_copy(wsi, pss);
	if (lws_hdr_copy(wsi, pss->origin, sizeof(pss->origin), WSI_TOKEN_ORIGIN) < 0)
		pss->origin[0] = 0;
	if (lws_hdr_copy(wsi, pss->host, sizeof(pss->host), WSI_TOKEN_HOST) < 0)
		pss->host[0] = 0;
	pss->has_acr_method = lws_hdr_custom_copy(wsi, pss->acr_method, sizeof(pss->acr_method),
	                                          "access-control-request-method:", 30) >= 0;
	if (!pss->has_acr_method)
		pss->acr_method[0] = 0;
	if (lws_hdr_copy(wsi, pss->acr_headers, sizeof(pss->acr_headers),
	                 WSI_TOKEN_HTTP_AC_REQUEST_HEADERS) < 0)
		pss->acr_headers[0] = 0;
	if (lws_hdr_copy(wsi, pss->inm, sizeof(pss->inm), WSI_TOKEN_HTTP_IF_NONE_MATCH) < 0)
		pss->inm[0] = 0;
	if (lws_hdr_copy(wsi, pss->aenc, sizeof(pss->aenc), WSI_TOKEN_HTTP_ACCEPT_ENCODING) < 0)
		pss->aenc[0] = 0;
	http_auth(s, wsi, pss);
	/* A body follows only when Content-Length says so (lws has no body
	 * callbacks for an empty one). */
	char cl[24] = "";
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atoll(cl) > 0 &&
	    (!strcmp(pss->method, "POST") || !strcmp(pss->method, "PUT") ||
	     !strcmp(pss->method, "PATCH"))) {
		/* a refused request's body is read and dropped, never written to a file; over
		 * the route's file_max: no file either, the body is dropped, then 413 */
		const struct http_route *r = pss->route;
		if (r && (r->flags & HTTP_ROUTE_BODY_FILE) && !strcmp(pss->method, "POST") &&
		    !pss->av.status && !(pss->file_too_big = (unsigned long long)atoll(cl) > r->file_max))
			body_file_begin(pss);
		if ((unsigned long long)atoll(cl) > MAX_BODY && !pss->file_fp && !pss->file_too_big)
			pss->body_too_big = 1;
		return 0;
	}
	http_respond(s, wsi, pss);
	return 0;
}

static int http_body(struct http_server *s, struct pss *pss, const void *in, size_t len)
{
	if (pss->av.status || pss->file_too_big)
		return 0;
	if (pss->file_fp && (pss->file_bytes += len) > pss->route->file_max) {
		/* more than its Content-Length said: stop writing, remove the file now */
		fclose(pss->file_fp);
		unlink(pss->file_path);
		pss->file_fp = NULL;
		pss->file_too_big = 1;
		return 0;
	}
	if (pss->file_fp)
		return fwrite(in, 1, len, pss->file_fp) == len ? 0 : -1;
	if (pss->body_too_big || pss->body_len + len > MAX_BODY) {
		pss->body_too_big = 1;
		return 0;
	}
	if (!len) /* lws may call with no bytes (and in == NULL) */
		return 0;
	char *nb = realloc(pss->body, pss->body_len + len + 1);
	if (!nb)
		return -1;
	pss->body = nb;
	memcpy(pss->body + pss->body_len, in, len);
	pss->body_len += len;
	pss->body[pss->body_len] = 0;
	return 0;
}

/* ---- WebSocket --------------------------------------------------------- */

/* A handshake header, or the same name as a URL argument (?x-host-id=...). */
static int ws_header(struct lws *wsi, const char *name, char *out, size_t len)
{
	char hname[64], lower[64];
	size_t n = strlen(name);
	out[0] = 0;
	if (n + 2 > sizeof(hname))
		return 0;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
	/* lws lowercases header names while parsing; try the written form too. */
	const char *forms[] = {lower, name};
	for (size_t f = 0; f < 2; f++) {
		snprintf(hname, sizeof(hname), "%s:", forms[f]);
		if (lws_hdr_custom_length(wsi, hname, (int)strlen(hname)) > 0 &&
		    lws_hdr_custom_copy(wsi, out, (int)len, hname, (int)strlen(hname)) > 0)
			return 1;
	}
	char arg[80], buf[4096]; /* room for a Gremlin filter */
	snprintf(arg, sizeof(arg), "%s=", lower);
	const char *v = lws_get_urlarg_by_name(wsi, arg, buf, (int)sizeof(buf));
	if (v && *v) {
		snprintf(out, len, "%s", v);
		return 1;
	}
	return 0;
}

struct http_ws_req {
	struct lws *wsi;
};

int http_ws_req_header(struct http_ws_req *r, const char *name, char *out, size_t len)
{
	return ws_header(r->wsi, name, out, len);
}

int http_ws_header(struct http_ws *ws, const char *name, char *out, size_t len)
{
	return ws_header(ws->wsi, name, out, len);
}

const struct http_ws_info *http_ws_info(const struct http_ws *ws)
{
	return &ws->info;
}

void http_ws_set_name(struct http_ws *ws, const char *name)
{
	snprintf(ws->name, sizeof(ws->name), "%s", name);
}

void http_ws_want_write(struct http_ws *ws)
{
	lws_callback_on_writable(ws->wsi);
}

int http_ws_write_text(struct http_ws *ws, unsigned char *buf, size_t len)
{
	/* lws writes the frame header into the headroom in front of the payload; the
	 * payload itself is not modified, so sharing is safe. */
	int n = lws_write(ws->wsi, buf, len, LWS_WRITE_TEXT);
	return n >= 0 && (size_t)n >= len ? 0 : -1;
}

int http_ws_write_binary(struct http_ws *ws, unsigned char *buf, size_t len)
{
	int n = lws_write(ws->wsi, buf, len, LWS_WRITE_BINARY);
	return n >= 0 && (size_t)n >= len ? 0 : -1;
}

void http_ws_set_binary(struct http_ws *ws, int binary)
{
	ws->binary = binary;
}

void http_ws_close_reason(struct http_ws *ws, int code, const char *why)
{
	lws_close_reason(ws->wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
}

static const struct http_ws_endpoint *ws_endpoint(const struct http_server *s, const char *path)
{
	for (const struct http_ws_endpoint *e = s->o.endpoints; e && e->path; e++)
		if (!strcmp(e->path, path))
			return e;
	return NULL;
}

/* Refuses a handshake before the 101 answer with an HTTP error that says
 * why; returns non-zero to refuse. */
/* The answer is JSON {"Error": why} as every REST error (and Retry-After when
 * retry_after_s > 0), written before the 101 in one piece; lws's own error page
 * (HTML) only when that does not fit. */
static int ws_refuse_after(struct lws *wsi, unsigned status, const char *why,
                           int64_t retry_after_s)
{
	log_warn("api: WebSocket handshake refused: %s", why);
	json_t *j = json_pack("{s:s}", "Error", why);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
	                                   *end = buf + sizeof(buf) - 1;
	size_t blen = body ? strlen(body) : 0;
	char ra[24];
	snprintf(ra, sizeof(ra), "%lld", (long long)retry_after_s);
	int bad = !body ||
	          lws_add_http_common_headers(wsi, status, "application/json; charset=UTF-8",
	                                      blen, &p, end) ||
	          (retry_after_s > 0 &&
	           lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
	                                       (const unsigned char *)ra, (int)strlen(ra), &p,
	                                       end)) ||
	          lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
	                                      (const unsigned char *)"close", 5, &p, end) ||
	          lws_finalize_http_header(wsi, &p, end) || (size_t)(end - p) < blen;
	if (!bad) {
		memcpy(p, body, blen);
		p += blen;
		bad = lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) !=
		      (int)(p - start);
	}
	if (bad)
		lws_return_http_status(wsi, status, why);
	free(body);
	return 1;
}

static int ws_refuse(struct lws *wsi, unsigned status, const char *why)
{
	return ws_refuse_after(wsi, status, why, 0);
}

/* The server's limits of a handshake (issue 9), before the 101: a browser page of another
 * origin (WebSockets have no pre-flight: any page could inject topology) and more
 * connections from one address than http.ws.max_connections_per_address; then the
 * endpoint's own (admit). */
static int ws_admit(struct http_server *s, struct lws *wsi, const struct http_ws_endpoint *ep,
                    const char *addr)
{
	char origin[256] = "", hosthdr[256] = "", why[600];
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
		origin[0] = 0;
	if (lws_hdr_copy(wsi, hosthdr, sizeof(hosthdr), WSI_TOKEN_HOST) < 0)
		hosthdr[0] = 0;
	size_t same_addr = 0;
	for (struct http_ws *w = s->ws; w; w = w->next)
		same_addr += !strcmp(w->remote, addr);
	if (!cors_request_allowed(s->cors, origin, hosthdr)) {
		s->refused_origin++;
		snprintf(why, sizeof(why),
		         "WebSocket from Origin %.200s refused: only the same origin (Host %.100s) "
		         "or one listed in http.cors.allowed_origins",
		         origin, hosthdr);
		return ws_refuse(wsi, HTTP_STATUS_FORBIDDEN, why);
	}
	if (same_addr >= s->ws_max_per_addr) {
		s->refused_per_addr++;
		snprintf(why, sizeof(why),
		         "%zu WebSocket connections from %.64s already (at most %zu: "
		         "http.ws.max_connections_per_address)",
		         same_addr, addr, s->ws_max_per_addr);
		return ws_refuse(wsi, 429, why);
	}
	struct http_ws_req r = {.wsi = wsi};
	int st = ep->admit ? ep->admit(ep->user, ep->kind, &r, why, sizeof(why)) : 0;
	return st ? ws_refuse(wsi, (unsigned)st, why) : 0;
}

static int ws_filter(struct http_server *s, struct lws *wsi)
{
	char path[256] = "", why[600];
	lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI);
	/* Credentials first, before the 101 (and before saying which paths exist):
	 * /ws/agent/... with the cluster backend, the rest with the API one (auth.h). */
	char authz[1024] = "", xtok[160] = "", cookie[160] = "", peer[64] = "";
	if (lws_hdr_copy(wsi, authz, sizeof(authz), WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
		authz[0] = 0;
	auth_cookie_copy(wsi, cookie, sizeof(cookie));
	ws_header(wsi, "X-Auth-Token", xtok, sizeof(xtok));
	lws_get_peer_simple(wsi, peer, sizeof(peer));
	char cert_user[128];
	tls_server_peer_user(lws_get_ssl(wsi), cert_user, sizeof(cert_user));
	struct auth_creds ac = {.authorization = authz[0] ? authz : NULL,
	                        .x_auth_token = xtok[0] ? xtok : NULL,
	                        .cookie = cookie[0] ? cookie : NULL,
	                        .peer = peer,
	                        .cert_user = cert_user[0] ? cert_user : NULL};
	struct auth_verdict av;
	if (auth_check_ws(s->auth, path, &ac, rest_now_ms(), &av))
		return ws_refuse_after(wsi, (unsigned)av.status, av.msg,
		                       av.status == 429 ? av.retry_after_s : 0);
	const struct http_ws_endpoint *ep = ws_endpoint(s, path);
	if (!ep) {
		/* "use /a, /b or /c" from the endpoint table */
		char list[300] = "";
		size_t n = 0, i = 0, len = 0;
		for (const struct http_ws_endpoint *e = s->o.endpoints; e && e->path; e++)
			n++;
		for (const struct http_ws_endpoint *e = s->o.endpoints; e && e->path; e++, i++)
			len += (size_t)snprintf(list + len, len < sizeof(list) ? sizeof(list) - len : 0,
			                        "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
			                        e->path);
		snprintf(why, sizeof(why), "no WebSocket endpoint %.200s (use %s)", path, list);
		return ws_refuse(wsi, HTTP_STATUS_NOT_FOUND, why);
	}
	struct http_ws_req r = {.wsi = wsi};
	int st = ep->check ? ep->check(ep->user, ep->kind, &r, why, sizeof(why)) : 0;
	if (st)
		return ws_refuse(wsi, (unsigned)st, why);
	return ws_admit(s, wsi, ep, peer);
}

static int ws_established(struct http_server *s, struct lws *wsi, struct pss *pss)
{
	struct http_ws *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -1;
	lws_hdr_copy(wsi, ws->path, sizeof(ws->path), WSI_TOKEN_GET_URI);
	ws->wsi = wsi;
	ws->ep = ws_endpoint(s, ws->path);
	lws_get_peer_simple(wsi, ws->remote, sizeof(ws->remote));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) == 0)
		ws->info.remote_port =
		    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                   : ((struct sockaddr_in *)&ss)->sin_port);
	ws->info.path = ws->path;
	ws->info.remote = ws->remote;
	ws->info.connect_ms = rest_now_ms();
	snprintf(ws->name, sizeof(ws->name), "%s:%d", ws->remote, ws->info.remote_port);
	ws->next = s->ws;
	s->ws = ws;
	pss->ws = ws;
	if (!ws->ep)
		return -1;
	ws->binary = ws->ep->binary;
	ws->opened = 1;
	return ws->ep->open(ws->ep->user, ws, ws->ep->kind, &ws->user);
}

static void ws_closed(struct http_server *s, struct pss *pss)
{
	struct http_ws *ws = pss->ws;
	if (!ws)
		return;
	pss->ws = NULL;
	for (struct http_ws **pp = &s->ws; *pp; pp = &(*pp)->next)
		if (*pp == ws) {
			*pp = ws->next;
			break;
		}
	if (ws->opened && ws->ep->close)
		ws->ep->close(ws->ep->user, ws, ws->user);
	free(ws->rx);
	free(ws);
}

static int ws_receive(struct http_server *s, struct lws *wsi, struct http_ws *ws, const void *in,
                      size_t len)
{
	if (!ws->binary && lws_frame_is_binary(wsi)) {
		log_warn("api: binary (protobuf) message from %s ignored; only JSON is served",
		         ws->name);
		return 0;
	}
	if (ws->rx_len + len > s->ws_max_msg) {
		log_warn("api: message from %s larger than %zu bytes (http.ws.max_message_size); "
		         "closing with 1009",
		         ws->name, s->ws_max_msg);
		http_ws_close_reason(ws, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		                     "message too big (http.ws.max_message_size)");
		return -1;
	}
	if (ws->rx_len + len + 1 > ws->rx_cap) {
		size_t cap = ws->rx_cap ? ws->rx_cap : 4096;
		while (cap < ws->rx_len + len + 1)
			cap *= 2;
		char *nb = realloc(ws->rx, cap);
		if (!nb)
			return -1;
		ws->rx = nb;
		ws->rx_cap = cap;
	}
	memcpy(ws->rx + ws->rx_len, in, len);
	ws->rx_len += len;
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		ws->rx[ws->rx_len] = 0;
		struct http_ws_msg m = {.data = ws->rx, .len = ws->rx_len};
		int rc = ws->ep->message(ws->ep->user, ws, ws->user, &m);
		if (!m.data) { /* taken */
			ws->rx = NULL;
			ws->rx_cap = 0;
		}
		ws->rx_len = 0;
		if (ws->rx_cap > (1u << 20)) { /* do not keep a huge Sync buffer around */
			free(ws->rx);
			ws->rx = NULL;
			ws->rx_cap = 0;
		}
		if (rc)
			return -1;
	}
	return 0;
}

/* ---- the total connection bound (http.max_connections) ----------------- */

/* A new TCP connection, accepted but not yet a wsi: beyond http.max_connections it is
 * closed at once (after a plain 503 when not TLS), counted in /api/status
 * "Connections" "Refused" and logged at most once per 10 s. Idle and slow ones are closed
 * by lws's timeouts (http.header_timeout, http.keepalive_timeout). */
static int conn_filter(struct http_server *s, int fd)
{
	if (s->conn_current < s->conn_max) {
		s->conn_accepting = 1; /* lws creates its wsi next (LWS_CALLBACK_WSI_CREATE) */
		return 0;
	}
	s->conn_refused++;
	if (!s->tls) {
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
		                           "Content-Type: text/plain\r\n"
		                           "Content-Length: 45\r\n"
		                           "Connection: close\r\n\r\n"
		                           "too many connections (http.max_connections)\r\n";
		if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("api: the 503 to a refused connection was not sent");
	}
	int64_t now = rest_now_ms();
	if (!s->conn_log_ms || now - s->conn_log_ms >= 10000) {
		log_warn("api: %llu connection(s) refused: %zu open already (at most %zu: "
		         "http.max_connections); %llu refused in all",
		         (unsigned long long)(s->conn_refused - s->conn_refused_logged),
		         s->conn_current, s->conn_max, (unsigned long long)s->conn_refused);
		s->conn_log_ms = now;
		s->conn_refused_logged = s->conn_refused;
	}
	return 1;
}

/* ---- the one protocol: HTTP and WebSocket by path ---------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	/* Before anything reads wsi (NULL here); lws accepts the certificate on 0,
	 * even one OpenSSL refused. */
	if (reason == LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION)
		return tls_server_verify_client(user, in, len);
	if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS) {
		tls_server_watch_alerts(user); /* refused clients, logged */
		return 0;
	}
	struct http_server *s = lws_context_user(lws_get_context(wsi));
	struct pss *pss = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return conn_filter(s, (int)(lws_intptr_t)in);
	case LWS_CALLBACK_WSI_CREATE:
		/* The wsi of the connection conn_filter admitted (lws adopts it right after):
		 * marked (opaque_parent_data: adopt overwrites opaque_user_data), so that
		 * only those counted are uncounted when they go. */
		if (s->conn_accepting) {
			s->conn_accepting = 0;
			s->conn_current++;
			lws_set_opaque_parent_data(wsi, &s->conn_current);
		}
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (lws_get_opaque_parent_data(wsi) == &s->conn_current) {
			lws_set_opaque_parent_data(wsi, NULL);
			s->conn_current--;
		}
		break;
	case LWS_CALLBACK_HTTP:
		return http_begin(s, wsi, pss, in);
	case LWS_CALLBACK_HTTP_BODY:
		return http_body(s, pss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/* A POST with "Content-Length: 0" was answered in http_begin already, and lws
		 * still reports an (empty) body: answering twice would drop the first answer. */
		if (!pss->have_resp)
			http_respond(s, wsi, pss);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_write(s, wsi, pss);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss)
			http_reset(pss);
		return 0;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_filter(s, wsi);
	case LWS_CALLBACK_ADD_HEADERS: {
		/* Echo X-Host-ID in the handshake answer, as Skydive does. */
		struct lws_process_html_args *args = in;
		char *p0 = args->p;
		if (lws_add_http_header_by_name(
		        wsi, (const unsigned char *)"X-Host-ID:", (const unsigned char *)s->host_id,
		        (int)strlen(s->host_id), (unsigned char **)&args->p,
		        (unsigned char *)p0 + args->max_len))
			log_debug("api: no room to echo X-Host-ID in the handshake");
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(s, wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		return pss->ws ? ws_receive(s, wsi, pss->ws, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss->ws && pss->ws->ep->writeable
		           ? pss->ws->ep->writeable(pss->ws->ep->user, pss->ws, pss->ws->user)
		           : 0;
	case LWS_CALLBACK_CLOSED:
		ws_closed(s, pss);
		return 0;

	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Woken by a query worker (answers) or by the service's threads. */
		jobs_done(s);
		if (s->o.wake)
			s->o.wake(s->o.svc);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- life cycle -------------------------------------------------------- */

static void timer_tick(lws_sorted_usec_list_t *sul)
{
	struct timer *t = (struct timer *)(void *)sul;
	t->fn(t->user);
	lws_sul_schedule(t->s->ctx, 0, sul, timer_tick, t->period_ms * LWS_US_PER_MS);
}

int http_server_every(struct http_server *s, int period_ms, void (*fn)(void *user), void *user)
{
	struct timer *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->s = s;
	t->period_ms = period_ms;
	t->fn = fn;
	t->user = user;
	t->next = s->timers;
	s->timers = t;
	lws_sul_schedule(s->ctx, 0, &t->sul, timer_tick, period_ms * LWS_US_PER_MS);
	return 0;
}

/* workers_done_fn: the loop collects in EVENT_WAIT_CANCELLED. */
static void wake_loop(void *user)
{
	http_server_wake(user);
}

static void lws_to_log(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warn("lws: %.*s", (int)n, line);
	else
		log_debug("lws: %.*s", (int)n, line);
}

/* Why lws could not listen: try the bind ourselves for errno's words. */
static const char *bind_problem(const char *ip, int port)
{
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICHOST,
	                         .ai_socktype = SOCK_STREAM},
	                *res = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(ip && *ip ? ip : NULL, ps, &hints, &res))
		return "not a local address";
	int fd = socket(res->ai_family, SOCK_STREAM, 0), e = 0;
	int one = 1;
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, res->ai_addr, res->ai_addrlen))
			e = errno;
		close(fd);
	}
	freeaddrinfo(res);
	return e ? strerror(e) : "the listener could not be created";
}

/* The query workers (server.h "Threads"); after the context, whose loop they wake. */
static int workers_make(struct http_server *s, struct config *cfg, char *err, size_t errlen)
{
	int64_t nw = config_get_int(cfg, "analyzer.query_workers", 2);
	int64_t nq = config_get_int(cfg, "analyzer.query_queue", 64);
	if (nw < 1 || nw > 256 || nq < 0) {
		snprintf(err, errlen,
		         "invalid analyzer.query_workers %lld (1 to 256) or analyzer.query_queue "
		         "%lld (>= 0)",
		         (long long)nw, (long long)nq);
		return -1;
	}
	s->pool = workers_new((int)nw, (size_t)nq, wake_loop, s, err, errlen);
	return s->pool ? 0 : -1;
}

/* One latency histogram per route and one for requests no route took. 0 or -1. */
static int latency_make(struct http_server *s)
{
	static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
	size_t n = 1;
	for (const struct http_route *r = s->o.routes; r && r->handle; r++)
		n++;
	if (!(s->lat = calloc(n, sizeof(*s->lat))))
		return -1;
	for (; s->nlat < n; s->nlat++)
		if (prom_histo_init(&s->lat[s->nlat], bounds, sizeof(bounds) / sizeof(bounds[0])))
			break;
	if (s->nlat == n)
		return 0;
	for (size_t i = 0; i < s->nlat; i++)
		prom_histo_free(&s->lat[i]);
	free(s->lat);
	return -1;
}

struct http_server *http_server_new(struct config *cfg, const struct http_server_opts *o,
                                    char *err, size_t errlen)
{
	const char *key = o->listen_key ? o->listen_key : "analyzer.listen";
	const char *service = o->service ? o->service : "analyzer";
	const char *listen =
	    config_get_string(cfg, key, o->listen_default ? o->listen_default : "127.0.0.1:8082");
	char host[256], ip[INET6_ADDRSTRLEN] = "";
	int port;
	if (config_split_addr(listen, host, sizeof(host), &port)) {
		snprintf(err, errlen,
		         "invalid %s '%s': expected HOST:PORT, e.g. 127.0.0.1:8082 (set it in the "
		         "config file or with SKYDIVE_%s)",
		         key, listen,
		         !strcmp(key, "analyzer.listen") ? "ANALYZER_LISTEN" : "..._LISTEN");
		return NULL;
	}
	if (host[0]) {
		/* lws wants an IP (or interface name): resolve a host name once. */
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
		int rc = getaddrinfo(host, NULL, &hints, &res);
		if (rc) {
			snprintf(err, errlen, "cannot resolve the listen host '%s' of %s: %s", host,
			         key, gai_strerror(rc));
			return NULL;
		}
		void *addr = res->ai_family == AF_INET6
		                 ? (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
		                 : (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
		inet_ntop(res->ai_family, addr, ip, sizeof(ip));
		freeaddrinfo(res);
	}
	const char *cert = config_get_string(cfg, "tls.server_cert", NULL);
	const char *pkey = config_get_string(cfg, "tls.server_key", NULL);
	if ((cert && *cert) != (pkey && *pkey)) {
		snprintf(err, errlen,
		         "TLS needs both tls.server_cert and tls.server_key (only one is set)");
		return NULL;
	}
	int tls = cert && *cert;
	/* Files loaded and matched now, plain HTTP only on loopback (tls_server.h). */
	if (tls_server_check(cfg, service, listen, ip, tls, err, errlen))
		return NULL;

	struct http_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	s->o = *o;
	if (latency_make(s)) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	snprintf(s->service, sizeof(s->service), "%s", service);
	snprintf(s->host_id, sizeof(s->host_id), "%s",
	         config_get_string(cfg, "host_id", "localhost"));
	int64_t wmax = config_get_int(cfg, "http.ws.max_connections_per_address", 256);
	s->ws_max_per_addr = wmax > 0 ? (size_t)wmax : 256;
	int64_t mmax = config_get_int(cfg, "http.ws.max_message_size", MAX_MSG);
	if (mmax < 1024 || mmax > (1ll << 32)) {
		log_warn("api: http.ws.max_message_size %lld out of range (1024..4294967296); "
		         "%u used",
		         (long long)mmax, MAX_MSG);
		mmax = MAX_MSG;
	}
	s->ws_max_msg = (size_t)mmax;
	int64_t cmax = config_get_int(cfg, "http.max_connections", 4096);
	s->conn_max = cmax > 0 ? (size_t)cmax : 4096;
	int64_t ht = config_get_duration(cfg, "http.header_timeout", 10000) / 1000;
	int64_t kt = config_get_duration(cfg, "http.keepalive_timeout", 5000) / 1000;
	s->header_timeout = ht >= 1 && ht <= 3600 ? (int)ht : 10;
	s->keepalive_timeout = kt >= 1 && kt <= 3600 ? (int)kt : 5;
	s->scratch = malloc(LWS_PRE + HTTP_CHUNK);
	s->cors = cors_new(cfg);
	if (!s->scratch || !s->cors) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Before the port is bound: beyond loopback without a backend is refused here. */
	s->tls = tls;
	s->auth = auth_new(cfg, s->service, auth_addr_is_loopback(ip), listen, err, errlen);
	if (!s->auth)
		goto fail;
	/* /login tokens survive a restart, beside the captures (auth.h) */
	if (!strcmp(s->service, "analyzer") &&
	    auth_persist_tokens(s->auth,
	                        config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive"),
	                        rest_now_ms(), err, errlen))
		goto fail;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
	s->protocols[0] = (struct lws_protocols){.name = "skydive",
	                                         .callback = callback,
	                                         .per_session_data_size = sizeof(struct pss),
	                                         .rx_buffer_size = 0};
	int64_t ping = config_get_duration(cfg, "http.ws.ping_delay", 2000) / 1000;
	int64_t pong = config_get_duration(cfg, "http.ws.pong_timeout", 5000) / 1000;
	if (ping < 1 || ping > 3600)
		ping = 2;
	if (pong < 1 || pong > 3600)
		pong = 5;
	s->retry = (lws_retry_bo_t){.secs_since_valid_ping = (uint16_t)ping,
	                            .secs_since_valid_hangup = (uint16_t)(ping + pong)};

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.options |= tls_server_client_cert_options(cfg, s->service);
	}
	info.user = s;
	info.protocols = s->protocols;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.gid = -1;
	info.uid = -1;
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		snprintf(err, errlen, "cannot create the libwebsockets context (out of memory?)");
		goto fail;
	}
	info.port = port;
	info.iface = ip[0] ? ip : NULL;
	/* lws binds an IPv4 iface address on an IPv6 socket as "any" unless
	 * IPv6 is off for this vhost: keep 127.0.0.1 meaning 127.0.0.1. */
	if (ip[0] && !strchr(ip, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.vhost_name = "skydive";
	info.retry_and_idle_policy = &s->retry;
	info.timeout_secs = 30;
	/* A new connection holds its header table from accept: its request headers must
	 * all arrive within http.header_timeout (slowloris), and an idle keep-alive
	 * connection goes after http.keepalive_timeout (both lws's defaults, 10 and 5 s). */
	info.timeout_secs_ah_idle = (unsigned)s->header_timeout;
	info.keepalive_timeout = s->keepalive_timeout;
	if (tls) {
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = pkey;
		/* HTTP/1.1 only: over h2 lws loses our custom request headers
		 * (Access-Control-Request-Method, X-Resource-TTL) and bodies larger
		 * than one write (the UI's app.js); browsers do fine with 1.1. */
		info.alpn = "http/1.1";
		const char *ca = config_get_string(cfg, "tls.ca_cert", NULL);
		if (ca && *ca)
			info.ssl_ca_filepath = ca;
	}
	s->vh = lws_create_vhost(s->ctx, &info);
	if (!s->vh) {
		if (tls)
			snprintf(err, errlen,
			         "cannot listen on %s with TLS: check tls.server_cert '%s' and "
			         "tls.server_key '%s' (readable PEM files?), or the address (%s)",
			         listen, cert, pkey, bind_problem(ip, port));
		else
			snprintf(err, errlen,
			         "cannot listen on %s: %s (is another analyzer running? pick "
			         "another address with --listen or SKYDIVE_ANALYZER_LISTEN)",
			         listen, bind_problem(ip, port));
		goto fail;
	}
	s->port = lws_get_vhost_listen_port(s->vh);
	if (workers_make(s, cfg, err, errlen))
		goto fail;
	if (ip[0] && strchr(ip, ':'))
		snprintf(s->address, sizeof(s->address), "[%s]:%d", ip, s->port);
	else
		snprintf(s->address, sizeof(s->address), "%s:%d", ip[0] ? ip : "0.0.0.0", s->port);
	return s;
fail:
	http_server_halt(s);
	http_server_free(s);
	return NULL;
}

static void *loop_thread(void *arg)
{
	struct http_server *s = arg;
	while (!atomic_load(&s->stopping))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

int http_server_start(struct http_server *s)
{
	if (s->started)
		return -EALREADY;
	int rc = pthread_create(&s->thread, NULL, loop_thread, s);
	if (rc)
		return -rc;
	s->started = 1;
	return 0;
}

void http_server_halt(struct http_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, 1);
	if (s->started) {
		lws_cancel_service(s->ctx);
		pthread_join(s->thread, NULL);
		s->started = 0;
	}
	/* Before the context goes (they wake its loop): the queries running finish (bounded
	 * by analyzer.gremlin.timeout), those waiting come back canceled. */
	if (s->pool)
		workers_stop(s->pool);
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	for (struct timer *t = s->timers; t; t = t->next)
		lws_sul_cancel(&t->sul);
	if (s->ctx)
		lws_context_destroy(s->ctx); /* closes every connection: their close callbacks */
	while (s->timers) {
		struct timer *t = s->timers;
		s->timers = t->next;
		free(t);
	}
	/* answers never written: their connections are closed (CLOSED_HTTP let go of them) */
	for (struct workers_job *wj = s->pool ? workers_take_done(s->pool) : NULL, *nx; wj;
	     wj = nx) {
		nx = wj->next;
		((struct http_task *)wj)->finish(NULL, (struct http_task *)wj);
	}
	workers_free(s->pool);
	while (s->ws) { /* connections whose CLOSED never came */
		struct http_ws *ws = s->ws;
		s->ws = ws->next;
		if (ws->opened && ws->ep->close)
			ws->ep->close(ws->ep->user, ws, ws->user);
		free(ws->rx);
		free(ws);
	}
	free(s->scratch);
	for (size_t i = 0; i < s->nlat; i++)
		prom_histo_free(&s->lat[i]);
	free(s->lat);
	cors_free(s->cors);
	auth_free(s->auth);
	free(s);
}
