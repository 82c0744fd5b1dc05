/* analyzer.c - the analyzer's HTTP + WebSocket server on libwebsockets: one
 * event loop thread, REST through rest.c, graph messages through graph_msg.c,
 * subscribers fed by a graph listener through bounded per-client queues. */
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
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "http/analyzer.h"
#include "analyzer/capture_res.h"
#include "http/cors.h"
#include "analyzer/dispatch.h"
#include "analyzer/flow_ingest.h"
#include "wire/graph_msg.h"
#include "analyzer/graph_writer.h"
#include "http/login.h"
#include "analyzer/rest.h"
#include "analyzer/rest_pcap.h"
#include "http/ui_serve.h"
#include "analyzer/sub_filter.h"
#include "http/tls_server.h"
#include "http/workers.h"
#include "auth/auth.h"
#include "common/log.h"
#include "store/flow_store.h"

#define MAX_BODY   (16u << 20)  /* POST bodies: a Gremlin query is small */
#define MAX_MSG    (256u << 20) /* one WebSocket message (a whole agent graph): the default
                                   * of http.ws.max_message_size */
#define HTTP_CHUNK (64u << 10)
#define TOKEN_COOKIE_MAX 128 /* an authtoken value: 64 hex digits, longer ones refused */

enum peer_kind { PEER_AGENT = 1, PEER_PUBLISHER, PEER_SUBSCRIBER, PEER_PUBSUB, PEER_FLOW };

/* A serialised message shared by every subscriber queue it sits in; refs
 * guarded by analyzer.qlock. buf has LWS_PRE bytes of headroom first. */
struct shmsg {
	int refs;
	size_t len;
	unsigned char buf[];
};

struct qent {
	struct qent *next;
	struct shmsg *m;
};

/* One WebSocket connection. Listed in analyzer.peers (under qlock) because
 * the graph listener, which may run on any thread, walks subscribers. */
struct peer {
	struct peer *next;
	uint64_t id; /* how the graph writer's answers name it (the peer may be gone) */
	struct lws *wsi;
	enum peer_kind kind;
	char host_id[128];
	char client_type[32];
	char origin[192];
	char remote[64];
	int remote_port;
	int64_t connect_ms;
	int delete_on_disconnect;
	int subscribed;
	int overflow;
	int bad_logged; /* flow connection: a malformed frame was logged */
	/* subscribers (docs/API.md, "Subscribers"); graph lock held to read or change */
	struct sub_filter *filter; /* X-Gremlin-Filter / GremlinFilter; NULL: whole graph */
	int filter_dirty;          /* the graph changed since the filter's set was made */
	int filter_failed;         /* its re-evaluation failed (logged once) */
	int partial;               /* x-update-policy=partial */
	int64_t at_ms;             /* SyncRequest Time: in the past, no live events; 0 live */
	char *first_filter;        /* X-Gremlin-Filter until the first SyncReply (malloc'd) */
	int has_first_filter, awaiting_first; /* the first SyncReply waits for the writer */
	int in_sub_job; /* its filter is being re-evaluated on a worker (sub_tick): the loop
	                 * leaves the filter alone and defers its SyncRequests and its free */
	char *rx;
	size_t rx_len, rx_cap;
	struct qent *qhead, *qtail;
	size_t qlen;
};

/* Per connection state lws allocates (zeroed) for us. */
struct pss {
	/* HTTP request being read and its response being written */
	char method[8];
	char path[512];
	char accept[128];
	char ctype[128];  /* Content-Type (YAML bodies of /api/capture) */
	char ttl[64];     /* X-Resource-TTL */
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
	/* POST /api/pcap: the body goes to a temporary file as it arrives */
	FILE *pcap_fp;
	char pcap_path[64];
	char pcap_args[64];
	char node_tid[128];
	int pcap_too_big;              /* over analyzer.pcap.max_bytes: read and dropped */
	unsigned long long pcap_bytes; /* written so far (a body may come without a length) */
	char host[256];                /* Host: the same-origin check of cross-site requests */
	int have_resp, headers_sent;
	struct rest_response resp;
	size_t sent;
	/* a query running on a worker for this request (its answer comes back to the loop) */
	struct http_job *job;
	/* WebSocket */
	struct peer *peer;
	/* authentication (auth.h): the credentials' headers and the verdict, made when
	 * the headers are in, so a refused request's body is never kept or written */
	char authz[1024];  /* Authorization */
	char xtoken[160];  /* X-Auth-Token, or the x-auth-token URL argument */
	char cookie[160];  /* "authtoken=<value>" of the Cookie header, or "" */
	char peer_addr[64];
	char cert_user[128]; /* the verified client certificate's name (tls_server.h) */
	struct auth_verdict av;
};

struct analyzer {
	struct config *cfg;
	struct graph *g;
	char service[16];
	char host_id[256];
	char address[300];
	int port;
	struct gremlin_flow_ops flow_ops;
	int has_flow_ops;
	struct rest_ctx rest;
	struct cors *cors; /* http.cors.allowed_origins */
	/* Limits (docs/API.md "Limits") and what they refused, in /api/status WebSocket */
	unsigned long long pcap_max; /* analyzer.pcap.max_bytes */
	size_t ws_max_per_addr;      /* http.ws.max_connections_per_address */
	size_t ws_max_msg;           /* http.ws.max_message_size */
	uint64_t refused_origin, refused_duplicate, refused_per_addr;
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

	pthread_mutex_t qlock;
	struct peer *peers;
	size_t queue_max;
	uint64_t slow_dropped;
	uint64_t bad_messages;
	int listener_id;

	analyzer_status_fn status_fn;
	void *status_user;

	struct capture_res *captures; /* /api/capture; NULL for the agent's API */
	lws_sorted_usec_list_t capture_timer;
	struct dispatch *dispatch;     /* OnDemand captures to agents; with captures */
	struct flow_ingest *flows;     /* /ws/agent/flow; with captures and a flow store */
	lws_sorted_usec_list_t dispatch_timer;
	lws_sorted_usec_list_t sub_timer; /* filtered subscribers' re-evaluation */
	int filter_dirty;                 /* some filtered subscriber has changes (graph lock) */
	int64_t filter_last_ms;

	/* Off the loop (analyzer.h "Threads"): query workers and the graph writer */
	struct workers *pool;         /* analyzer.query_workers, analyzer.query_queue */
	struct graph_writer *writer;  /* analyzer.graph_queue, analyzer.graph_queue_bytes */
	uint64_t next_peer_id;
	uint64_t jobs_abandoned;      /* answers whose client went while they ran */
	uint64_t writer_resyncs;      /* senders closed because the writer's queue was full */
	int sub_running;              /* a filter re-evaluation job is out (sub_tick) */
	struct peer *zombies;         /* peers closed meanwhile: freed when it comes back */
	struct graph_writer_item *deferred; /* their SyncRequests, answered then */
};

/* What the loop gets back from a worker; finish runs on the loop (NULL a: the analyzer is
 * stopping, only free). */
struct ajob {
	struct workers_job w; /* first */
	void (*finish)(struct analyzer *a, struct ajob *j);
};

/* A request handed to a query worker: what it needs, copied or stolen from the pss, so
 * the worker never reads the connection's memory; pss and wsi are the loop's only (pss
 * NULL once the client went: the answer is then dropped and counted). */
struct http_job {
	struct ajob j; /* first */
	struct analyzer *a;
	atomic_int gone; /* the client went before a worker took it: not evaluated */
	struct pss *pss;
	struct lws *wsi;
	char method[8], path[512], accept[128];
	char *body;
	size_t body_len;
	struct auth_identity id;
	uint64_t seq; /* the graph writer's when the request came: the query sees up to it */
	FILE *pcap_fp; /* POST /api/pcap streamed to a file: now the job's */
	char pcap_path[64], pcap_args[64], node_tid[128];
	struct rest_response resp; /* the worker's answer */
};

/* Filtered subscribers are re-evaluated at most this often (then the difference is sent). */
#define SUB_FILTER_PERIOD_MS 200

/* ---- shared messages and queues (qlock held) --------------------------- */

static struct shmsg *shmsg_from_json(json_t *m)
{
	char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	struct shmsg *sm = malloc(sizeof(*sm) + LWS_PRE + n);
	if (sm) {
		sm->refs = 0;
		sm->len = n;
		memcpy(sm->buf + LWS_PRE, s, n);
	}
	free(s);
	return sm;
}

static void shmsg_unref(struct shmsg *m)
{
	if (m && --m->refs <= 0)
		free(m);
}

/* Queues m for p; force bypasses the bound (the initial SyncReply). */
static void peer_enqueue(struct analyzer *a, struct peer *p, struct shmsg *m, int force)
{
	if (p->overflow)
		return;
	if (!force && p->qlen >= a->queue_max) {
		/* Never block the loop or the graph for a slow reader: drop it. */
		p->overflow = 1;
		a->slow_dropped++;
		log_warn("api: subscriber %s (%s:%d) cannot keep up (%zu messages queued); "
		         "disconnecting it",
		         p->host_id, p->remote, p->remote_port, p->qlen);
		return;
	}
	struct qent *q = malloc(sizeof(*q));
	if (!q) {
		p->overflow = 1;
		return;
	}
	q->next = NULL;
	q->m = m;
	m->refs++;
	if (p->qtail)
		p->qtail->next = q;
	else
		p->qhead = q;
	p->qtail = q;
	p->qlen++;
}

static void peer_free(struct peer *p)
{
	while (p->qhead) {
		struct qent *q = p->qhead;
		p->qhead = q->next;
		shmsg_unref(q->m);
		free(q);
	}
	sub_filter_free(p->filter);
	free(p->first_filter);
	free(p->rx);
	free(p);
}

/* ---- graph listener (any thread, graph lock held) ---------------------- */

/* The message of one change: the element (NodeAdded ...), or for a partial subscriber's
 * update {"ID","UpdatedAt","Revision","Ops"} (NodePartiallyUpdated); NULL when out of
 * memory or, partial, when the history no longer holds the previous metadata. */
static struct shmsg *change_msg(struct analyzer *a, enum graph_event ev,
                                const struct graph_node *node, const struct graph_edge *edge,
                                int partial)
{
	json_t *obj;
	const char *type = graph_event_name(ev);
	if (partial) {
		const struct graph_elem *e = edge ? &edge->e : &node->e;
		const json_t *old = graph_replaced_metadata(a->g, e);
		json_t *ops = old ? sub_partial_ops(old, e->metadata) : NULL;
		obj = ops ? sub_partial_obj(e, ops) : NULL;
		type = edge ? "EdgePartiallyUpdated" : "NodePartiallyUpdated";
	} else {
		obj = edge ? graph_edge_to_json(edge) : graph_node_to_json(node);
	}
	return obj ? shmsg_from_json(graph_msg_new(GRAPH_MSG_NAMESPACE, type, obj)) : NULL;
}

static void on_graph_change(void *user, enum graph_event ev, const struct graph_node *node,
                            const struct graph_edge *edge)
{
	struct analyzer *a = user;
	const char *id = edge ? edge->e.id : node->e.id;
	int updated = ev == GRAPH_NODE_UPDATED || ev == GRAPH_EDGE_UPDATED;
	int deleted = ev == GRAPH_NODE_DELETED || ev == GRAPH_EDGE_DELETED;
	struct shmsg *msgs[2] = {NULL, NULL}; /* full, partial: built once, shared */
	int tried[2] = {0, 0}, wake = 0, oom = 0;
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next) {
		if (!p->subscribed || p->overflow || p->at_ms)
			continue;
		if (p->filter) {
			/* The filtered set may change: sub_tick re-evaluates it soon and
			 * sends the difference; changes of elements already in it go now. */
			p->filter_dirty = a->filter_dirty = 1;
			if ((!updated && !deleted) || !sub_filter_has(p->filter, edge != NULL, id))
				continue;
			if (deleted)
				sub_filter_forget(p->filter, edge != NULL, id);
		}
		for (int k = updated && p->partial; k >= 0; k--) {
			if (!tried[k]) {
				tried[k] = 1;
				msgs[k] = change_msg(a, ev, node, edge, k);
			}
			if (msgs[k]) { /* no ops: the full update instead */
				peer_enqueue(a, p, msgs[k], 0);
				wake = 1;
				break;
			}
			oom = oom || !k;
		}
	}
	for (int k = 0; k < 2; k++)
		if (msgs[k] && msgs[k]->refs == 0)
			free(msgs[k]);
	pthread_mutex_unlock(&a->qlock);
	if (oom)
		log_error("api: out of memory notifying subscribers");
	if (wake)
		lws_cancel_service(a->ctx); /* the loop asks for writability */
}

/* ---- status ------------------------------------------------------------ */

static void fmt_rfc3339(char *buf, size_t len, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char tmp[32];
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", tmp, (int)(ms % 1000));
}

static json_t *conn_status(const struct analyzer *a, const struct peer *p)
{
	char t[48];
	fmt_rfc3339(t, sizeof(t), p->connect_ms);
	return json_pack("{s:s, s:s, s:s, s:i, s:b, s:s, s:s, s:s}", "ServiceType", a->service,
	                 "ClientProtocol", "json", "Addr", p->remote, "Port", p->remote_port,
	                 "IsConnected", 1, "ConnectTime", t, "RemoteHost", p->host_id,
	                 "RemoteServiceType", p->client_type);
}

/* Keys are host IDs; a second connection from the same host gets "#port". */
static void status_add(json_t *map, const struct analyzer *a, const struct peer *p)
{
	char key[200];
	snprintf(key, sizeof(key), "%s", p->host_id);
	if (json_object_get(map, key))
		snprintf(key, sizeof(key), "%s#%d", p->host_id, p->remote_port);
	json_object_set_new(map, key, conn_status(a, p));
}

static json_t *build_status(void *user)
{
	struct analyzer *a = user;
	struct graph_stats gs;
	struct graph_writer_stats ws_ = {0};
	struct workers_stats qs = {0};
	graph_rdlock(a->g); /* readers first: never behind a query (graph_writer.h) */
	graph_stats(a->g, &gs);
	graph_unlock(a->g);
	if (a->writer)
		graph_writer_stats(a->writer, &ws_);
	if (a->pool)
		workers_stats(a->pool, &qs);

	json_t *agents = json_object(), *pubs = json_object(), *subs = json_object();
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next) {
		if (p->kind == PEER_AGENT)
			status_add(agents, a, p);
		if (p->kind == PEER_PUBLISHER || p->kind == PEER_PUBSUB)
			status_add(pubs, a, p);
		if (p->kind == PEER_SUBSCRIBER || p->kind == PEER_PUBSUB)
			status_add(subs, a, p);
	}
	json_t *ws = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "QueueSize",
	                       (json_int_t)a->queue_max, "SlowClientsDisconnected",
	                       (json_int_t)a->slow_dropped, "InvalidMessages",
	                       (json_int_t)(a->bad_messages + ws_.invalid),
	                       "MaxConnectionsPerAddress",
	                       (json_int_t)a->ws_max_per_addr, "RefusedCrossOrigin",
	                       (json_int_t)a->refused_origin, "RefusedDuplicateHostID",
	                       (json_int_t)a->refused_duplicate, "RefusedPerAddress",
	                       (json_int_t)a->refused_per_addr);
	pthread_mutex_unlock(&a->qlock);

	json_t *conns =
	    json_pack("{s:I, s:I, s:I, s:i, s:i}", "Current", (json_int_t)a->conn_current, "Max",
	              (json_int_t)a->conn_max, "Refused", (json_int_t)a->conn_refused,
	              "HeaderTimeout", a->header_timeout, "KeepAliveTimeout", a->keepalive_timeout);
	/* Queries off the loop: the workers and their queue (503 beyond it: Refused), answers
	 * dropped because the client went first (Abandoned) */
	json_t *queries = json_pack(
	    "{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "Workers", qs.threads, "QueueMax",
	    (json_int_t)qs.queue_max, "Queued", (json_int_t)qs.queued, "Running",
	    (json_int_t)qs.running, "Submitted", (json_int_t)qs.submitted, "Finished",
	    (json_int_t)qs.finished, "Refused", (json_int_t)qs.refused, "Abandoned",
	    (json_int_t)a->jobs_abandoned);
	/* Graph messages waiting for the writer; Overflows: refused (the sender resynced) */
	json_t *writer = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "QueueMax", (json_int_t)ws_.queue_max,
	    "QueueBytesMax", (json_int_t)ws_.queue_bytes_max, "Queued", (json_int_t)ws_.queued,
	    "QueuedBytes", (json_int_t)ws_.queued_bytes, "Applied", (json_int_t)ws_.applied,
	    "Batches", (json_int_t)ws_.batches, "Overflows", (json_int_t)ws_.overflows,
	    "Resyncs", (json_int_t)a->writer_resyncs, "QueriesWaiting",
	    (json_int_t)ws_.waiting_readers);

	json_t *s = json_pack(
	    "{s:o, s:{s:{}, s:{}}, s:o, s:o, s:{s:b}, s:{s:b}, s:{}, "
	    "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:o}",
	    "Agents", agents, "Peers", "Incomers", "Outgoers", "Publishers", pubs, "Subscribers",
	    subs, "Alerts", "IsMaster", 1, "Captures", "IsMaster", 1, "Probes", "Topology", "Nodes",
	    (json_int_t)gs.nodes, "Edges", (json_int_t)gs.edges, "HistoryRevisions",
	    (json_int_t)gs.history_revisions, "HistoryBytes", (json_int_t)gs.history_bytes,
	    "HistoryOldest", (json_int_t)gs.history_oldest_ms, "HistoryMaxAge",
	    (json_int_t)gs.history_max_age_ms, "HistoryMaxBytes", (json_int_t)gs.history_max_bytes,
	    "WebSocket", ws, "Connections", conns, "Queries", queries, "GraphWriter", writer);
	if (s && a->dispatch) {
		json_t *d = dispatch_status_json(a->dispatch);
		if (d)
			json_object_update(json_object_get(s, "Captures"), d);
		json_decref(d);
	}
	if (s && a->flows)
		flow_ingest_status_hook(a->flows, s);
	if (s && a->auth)
		json_object_set_new(s, "Auth", auth_status_json(a->auth, rest_now_ms()));
	if (s && a->status_fn)
		a->status_fn(a->status_user, s);
	return s;
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
	pss->body_too_big = pss->pcap_too_big = 0;
	pss->pcap_bytes = 0;
	if (pss->pcap_fp) {
		fclose(pss->pcap_fp);
		unlink(pss->pcap_path);
		pss->pcap_fp = NULL;
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

/* gremlin_env.allowed of one request (RawPackets(), BPF()): its caller's permissions */
struct req_perm {
	const struct auth *auth;
	const struct auth_identity *id;
};

static int req_allowed(void *user, const char *object, const char *action)
{
	const struct req_perm *r = user;
	return auth_allowed(r->auth, r->id, object, action);
}

/* From a browser (an Origin header), JSON (or, for captures, YAML) bodies must say so: a
 * cross-site form or text/plain POST cannot, a second guard beside the Origin check
 * (issue 9). The web UI sends application/json. Clients without an Origin (curl -d,
 * scripts, skydive client) are not browsers a page could drive, and Skydive accepted
 * their bodies whatever the type: they still may. */
static int body_type_refused(const struct pss *pss)
{
	int capture = !strncmp(pss->path, "/api/capture", 12);
	if (!pss->body_len || !pss->origin[0] || (!capture && strcmp(pss->path, "/api/topology")))
		return 0;
	const char *ct = pss->ctype;
	while (*ct == ' ')
		ct++;
	if (!strncasecmp(ct, "application/json", 16) && (!ct[16] || ct[16] == ';' || ct[16] == ' '))
		return 0;
	return !capture || (strncasecmp(ct, "application/yaml", 16) &&
	                    strncasecmp(ct, "application/x-yaml", 18) &&
	                    strncasecmp(ct, "text/yaml", 9) && strncasecmp(ct, "text/x-yaml", 11));
}

/* pss->resp is the answer: CORS headers (unless a pre-flight's, which has them), then
 * written when the connection can take it. */
static void http_answer(struct analyzer *a, struct lws *wsi, struct pss *pss, int preflight)
{
	if (!preflight) {
		struct cors_request creq = {
		    .method = pss->method,
		    .origin = pss->origin[0] ? pss->origin : NULL,
		    .req_method = pss->has_acr_method ? pss->acr_method : NULL,
		    .req_headers = pss->acr_headers[0] ? pss->acr_headers : NULL};
		if (cors_apply(a->cors, &creq, &pss->resp) < 0)
			log_error("api: out of memory adding the CORS headers of %s %s",
			          pss->method, pss->path);
	}
	log_debug("api: %s %s -> %d", pss->method, pss->path, pss->resp.status);
	pss->have_resp = 1;
	lws_callback_on_writable(wsi);
}

static void http_job_free(struct http_job *j)
{
	if (j->pcap_fp) {
		fclose(j->pcap_fp);
		unlink(j->pcap_path);
	}
	free(j->body);
	rest_response_free(&j->resp);
	free(j);
}

/* The graph's reader side for a worker's query, once every graph message received
 * before the request is applied (graph_writer.h). */
static void worker_rdlock(void *user)
{
	struct http_job *j = user;
	graph_writer_rdlock(j->a->writer, j->seq);
}

/* On a worker: the request, as the loop would have answered it. */
static void http_job_run(struct workers_job *wj)
{
	struct http_job *j = (struct http_job *)(void *)wj;
	struct analyzer *a = j->a;
	struct rest_ctx rc = a->rest;
	struct req_perm rp = {.auth = a->auth, .id = &j->id};
	rc.allowed = req_allowed;
	rc.allowed_user = &rp;
	rc.rdlock = worker_rdlock;
	rc.rdlock_user = j;
	if (atomic_load(&j->gone))
		return; /* nobody to answer: spare the work */
	if (j->pcap_fp) {
		fflush(j->pcap_fp);
		rest_pcap_handle(&rc, j->pcap_path, j->pcap_args,
		                 j->node_tid[0] ? j->node_tid : NULL, &j->resp);
	} else {
		rest_handle(&rc, j->method, j->path, j->accept[0] ? j->accept : NULL, j->body,
		            j->body_len, &j->resp);
	}
}

static void http_job_finish(struct analyzer *a, struct ajob *aj);

/* Hands the request to a query worker: 1 when it went (the answer comes later), 0 when
 * pss->resp was filled instead (503: the queue is full; 500: out of memory). */
static int http_offload(struct analyzer *a, struct lws *wsi, struct pss *pss)
{
	struct http_job *j = calloc(1, sizeof(*j));
	if (!j) {
		rest_reply_error(&pss->resp, 500, "out of memory queueing the query");
		return 0;
	}
	j->j.w.run = http_job_run;
	j->j.finish = http_job_finish;
	j->a = a;
	snprintf(j->method, sizeof(j->method), "%s", pss->method);
	snprintf(j->path, sizeof(j->path), "%s", pss->path);
	snprintf(j->accept, sizeof(j->accept), "%s", pss->accept);
	j->id = pss->av.id;
	j->seq = graph_writer_seq(a->writer);
	j->body = pss->body;
	j->body_len = pss->body_len;
	pss->body = NULL;
	pss->body_len = 0;
	if (pss->pcap_fp) {
		j->pcap_fp = pss->pcap_fp;
		pss->pcap_fp = NULL;
		memcpy(j->pcap_path, pss->pcap_path, sizeof(j->pcap_path));
		memcpy(j->pcap_args, pss->pcap_args, sizeof(j->pcap_args));
		memcpy(j->node_tid, pss->node_tid, sizeof(j->node_tid));
	}
	int rc = workers_submit(a->pool, &j->j.w);
	if (rc) {
		struct workers_stats st;
		workers_stats(a->pool, &st);
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
static void http_job_finish(struct analyzer *a, struct ajob *aj)
{
	struct http_job *j = (struct http_job *)aj;
	struct pss *pss = j->pss;
	if (!a || !pss) {
		if (pss)
			pss->job = NULL;
		if (a) {
			a->jobs_abandoned++;
			log_debug("api: the answer of %s %s dropped: its client went", j->method,
			          j->path);
		}
		http_job_free(j);
		return;
	}
	pss->job = NULL;
	rest_response_free(&pss->resp);
	if (j->j.w.canceled) {
		rest_reply_error(&pss->resp, 503, "the analyzer is stopping");
	} else {
		pss->resp = j->resp;
		memset(&j->resp, 0, sizeof(j->resp));
	}
	struct lws *wsi = j->wsi;
	http_job_free(j);
	http_answer(a, wsi, pss, 0);
}

/* On the loop, woken by a worker: what came back (answers, filter re-evaluations). */
static void jobs_done(struct analyzer *a)
{
	struct workers_job *wj = a->pool ? workers_take_done(a->pool) : NULL;
	while (wj) {
		struct ajob *j = (struct ajob *)wj;
		wj = wj->next;
		j->finish(a, j);
	}
}

static void http_respond(struct analyzer *a, struct lws *wsi, struct pss *pss)
{
	struct cors_request creq = {.method = pss->method,
	                            .origin = pss->origin[0] ? pss->origin : NULL,
	                            .req_method = pss->has_acr_method ? pss->acr_method : NULL,
	                            .req_headers = pss->acr_headers[0] ? pss->acr_headers : NULL};
	struct ui_request ureq = {.method = pss->method,
	                          .path = pss->path,
	                          .accept_encoding = pss->aenc[0] ? pss->aenc : NULL,
	                          .if_none_match = pss->inm[0] ? pss->inm : NULL};
	int cors_rc = 0;
	if (!strcmp(pss->method, "OPTIONS")) {
		/* pre-flight, on every path, before routing (cors.h) */
		memset(&pss->resp, 0, sizeof(pss->resp));
		cors_rc = cors_apply(a->cors, &creq, &pss->resp);
	} else if (pss->av.status) {
		auth_reply(pss, &pss->resp);
	} else if (strcmp(pss->method, "GET") && strcmp(pss->method, "HEAD") &&
	           !cors_request_allowed(a->cors, creq.origin, pss->host)) {
		/* A browser sends a form or text/plain POST to any site without a pre-flight:
		 * state changes from another origin are refused (issue 9). */
		char msg[600];
		pthread_mutex_lock(&a->qlock);
		a->refused_origin++;
		pthread_mutex_unlock(&a->qlock);
		log_warn("api: %s %s from Origin %s refused (Host %s; not in "
		         "http.cors.allowed_origins)",
		         pss->method, pss->path, pss->origin, pss->host);
		snprintf(msg, sizeof(msg),
		         "cross-origin %s from Origin %.200s refused: only the same origin or one "
		         "listed in http.cors.allowed_origins may change state",
		         pss->method, pss->origin);
		rest_reply_error(&pss->resp, 403, "%s", msg);
	} else if (pss->pcap_too_big) {
		char msg[200];
		snprintf(msg, sizeof(msg),
		         "pcap body larger than %llu bytes (analyzer.pcap.max_bytes); nothing was "
		         "imported",
		         a->pcap_max);
		rest_reply_error(&pss->resp, 413, "%s", msg);
	} else if (body_type_refused(pss)) {
		char msg[400];
		snprintf(msg, sizeof(msg),
		         "Content-Type '%.100s' refused for %s %.200s: send application/json%s",
		         pss->ctype[0] ? pss->ctype : "(none)", pss->method, pss->path,
		         strncmp(pss->path, "/api/capture", 12) ? "" : " or application/yaml");
		rest_reply_error(&pss->resp, 415, "%s", msg);
	} else if (pss->body_too_big) {
		rest_reply_error(&pss->resp, 413, "request body larger than %u bytes", MAX_BODY);
	} else if (!strncmp(pss->path, "/ws/", 4)) {
		rest_reply_error(&pss->resp, 400, "this is a WebSocket endpoint: connect with a "
		                                  "WebSocket client (Upgrade: websocket)");
	} else if (pss->pcap_fp) {
		if (http_offload(a, wsi, pss))
			return;
	} else if (a->captures && (!strcmp(pss->path, "/api/capture") ||
	                           !strncmp(pss->path, "/api/capture/", 13))) {
		struct capture_res_request req = {.method = pss->method,
		                                  .path = pss->path,
		                                  .content_type = pss->ctype[0] ? pss->ctype : NULL,
		                                  .ttl = pss->ttl[0] ? pss->ttl : NULL,
		                                  .body = pss->body,
		                                  .body_len = pss->body_len};
		capture_res_handle(a->captures, &req, &pss->resp);
	} else if (!strcmp(pss->path, "/login")) {
		struct login_request lreq = {
		    .method = pss->method,
		    .content_type = pss->ctype[0] ? pss->ctype : NULL,
		    .origin = cors_origin_allowed(a->cors, creq.origin) ? creq.origin : NULL,
		    .body = pss->body,
		    .body_len = pss->body_len,
		    .auth = a->auth,
		    .peer = pss->peer_addr,
		    .secure = a->tls};
		memset(&pss->resp, 0, sizeof(pss->resp));
		login_handle(&lreq, &pss->resp);
	} else if (!strcmp(pss->path, "/logout")) {
		struct auth_creds ac;
		pss_creds(pss, &ac);
		memset(&pss->resp, 0, sizeof(pss->resp));
		logout_handle(a->auth, pss->method, &ac, a->tls, &pss->resp);
	} else if (!ui_serve(&ureq, &pss->resp)) {
		struct rest_ctx rc = a->rest;
		struct req_perm rp = {.auth = a->auth, .id = &pss->av.id};
		rc.allowed = req_allowed;
		rc.allowed_user = &rp;
		if (!rest_is_query(pss->method, pss->path))
			rest_handle(&rc, pss->method, pss->path,
			            pss->accept[0] ? pss->accept : NULL, pss->body, pss->body_len,
			            &pss->resp);
		else if (http_offload(a, wsi, pss))
			return; /* answered by http_jobs_done() */
	}
	if (cors_rc < 0)
		log_error("api: out of memory adding the CORS headers of %s %s", pss->method,
		          pss->path);
	http_answer(a, wsi, pss, !strcmp(pss->method, "OPTIONS"));
}

/* Returns -1 to close the connection. */
static int http_write(struct analyzer *a, struct lws *wsi, struct pss *pss)
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
	memcpy(a->scratch + LWS_PRE, pss->resp.body + pss->sent, n);
	if (lws_write(wsi, a->scratch + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
	    (int)n)
		return -1;
	pss->sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	http_reset(pss);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* A pcap body can be large: it is written to a temporary file, not kept in memory
 * (without a file, it is read into memory up to MAX_BODY). */
static void pcap_begin(struct lws *wsi, struct pss *pss)
{
	const char *dir = getenv("TMPDIR");
	snprintf(pss->pcap_path, sizeof(pss->pcap_path), "%s/skydive-pcap-XXXXXX",
	         dir && *dir && strlen(dir) < 40 ? dir : "/tmp");
	int fd = mkstemp(pss->pcap_path);
	if (fd >= 0 && !(pss->pcap_fp = fdopen(fd, "w+b"))) {
		close(fd);
		unlink(pss->pcap_path);
	}
	char v[48];
	const char *val = lws_get_urlarg_by_name(wsi, "rawpacketlimit=", v, sizeof(v));
	pss->pcap_args[0] = pss->node_tid[0] = 0;
	if (val)
		snprintf(pss->pcap_args, sizeof(pss->pcap_args), "rawpacketlimit=%s", val);
	if (lws_hdr_custom_copy(wsi, pss->node_tid, sizeof(pss->node_tid), "x-node-tid:", 11) < 0)
		pss->node_tid[0] = 0;
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
static void http_auth(struct analyzer *a, struct lws *wsi, struct pss *pss)
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
	auth_check_http(a->auth, pss->method, pss->path, pss->accept[0] ? pss->accept : NULL, &c,
	                rest_now_ms(), &pss->av);
}

static int http_begin(struct analyzer *a, struct lws *wsi, struct pss *pss, const char *uri)
{
	http_reset(pss);
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
	pss->ctype[0] = pss->ttl[0] = 0;
	if (lws_hdr_copy(wsi, pss->ctype, sizeof(pss->ctype), WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
		pss->ctype[0] = 0;
	if (lws_hdr_custom_copy(wsi, pss->ttl, sizeof(pss->ttl), "x-resource-ttl:", 15) < 0)
		pss->ttl[0] = 0;
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
	http_auth(a, wsi, pss);
	/* A body follows only when Content-Length says so (lws has no body
	 * callbacks for an empty one). */
	char cl[24] = "";
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && atoll(cl) > 0 &&
	    (!strcmp(pss->method, "POST") || !strcmp(pss->method, "PUT") ||
	     !strcmp(pss->method, "PATCH"))) {
		/* a refused request's body is read and dropped, never written to a file */
		/* over analyzer.pcap.max_bytes: no file either, the body is dropped, then 413 */
		if (!strcmp(pss->method, "POST") && !strcmp(pss->path, "/api/pcap") &&
		    !pss->av.status &&
		    !(pss->pcap_too_big = (unsigned long long)atoll(cl) > a->pcap_max))
			pcap_begin(wsi, pss);
		if ((unsigned long long)atoll(cl) > MAX_BODY && !pss->pcap_fp && !pss->pcap_too_big)
			pss->body_too_big = 1;
		return 0;
	}
	http_respond(a, wsi, pss);
	return 0;
}

static int http_body(struct analyzer *a, struct pss *pss, const void *in, size_t len)
{
	if (pss->av.status || pss->pcap_too_big)
		return 0;
	if (pss->pcap_fp && (pss->pcap_bytes += len) > a->pcap_max) {
		/* more than its Content-Length said: stop writing, remove the file now */
		fclose(pss->pcap_fp);
		unlink(pss->pcap_path);
		pss->pcap_fp = NULL;
		pss->pcap_too_big = 1;
		return 0;
	}
	if (pss->pcap_fp)
		return fwrite(in, 1, len, pss->pcap_fp) == len ? 0 : -1;
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

static enum peer_kind ws_kind(const char *path)
{
	if (!strcmp(path, "/ws/agent/topology"))
		return PEER_AGENT;
	if (!strcmp(path, "/ws/publisher"))
		return PEER_PUBLISHER;
	if (!strcmp(path, "/ws/subscriber"))
		return PEER_SUBSCRIBER;
	if (!strcmp(path, "/ws/pubsub"))
		return PEER_PUBSUB;
	if (!strcmp(path, "/ws/agent/flow"))
		return PEER_FLOW;
	return 0;
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

/* The limits of a handshake (issue 9), before the 101: a browser page of another origin
 * (WebSockets have no pre-flight: any page could inject topology), more connections from
 * one address than http.ws.max_connections_per_address, and a second agent connection
 * with the host ID of a connected agent, which would take its place and, leaving,
 * delete its topology (409: the real agent keeps its link; one that lost its link
 * reconnects once the analyzer has dropped the dead one, within the ping timeout). */
static int ws_admit(struct analyzer *a, struct lws *wsi, enum peer_kind kind, const char *host,
                    const char *addr)
{
	char origin[256] = "", hosthdr[256] = "", why[600];
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
		origin[0] = 0;
	if (lws_hdr_copy(wsi, hosthdr, sizeof(hosthdr), WSI_TOKEN_HOST) < 0)
		hosthdr[0] = 0;
	size_t same_addr = 0;
	int dup = 0, bad_origin = !cors_request_allowed(a->cors, origin, hosthdr);
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next) {
		same_addr += !strcmp(p->remote, addr);
		dup = dup || (kind == PEER_AGENT && p->kind == PEER_AGENT && !strcmp(p->host_id, host));
	}
	if (bad_origin)
		a->refused_origin++;
	else if (same_addr >= a->ws_max_per_addr)
		a->refused_per_addr++;
	else if (dup)
		a->refused_duplicate++;
	pthread_mutex_unlock(&a->qlock);
	if (bad_origin) {
		snprintf(why, sizeof(why),
		         "WebSocket from Origin %.200s refused: only the same origin (Host %.100s) "
		         "or one listed in http.cors.allowed_origins",
		         origin, hosthdr);
		return ws_refuse(wsi, HTTP_STATUS_FORBIDDEN, why);
	}
	if (same_addr >= a->ws_max_per_addr) {
		snprintf(why, sizeof(why),
		         "%zu WebSocket connections from %.64s already (at most %zu: "
		         "http.ws.max_connections_per_address)",
		         same_addr, addr, a->ws_max_per_addr);
		return ws_refuse(wsi, 429, why);
	}
	if (dup) {
		snprintf(why, sizeof(why),
		         "an agent with host ID %.128s is already connected; a second connection "
		         "with its host ID is refused (give each agent its own host_id)",
		         host);
		return ws_refuse(wsi, HTTP_STATUS_CONFLICT, why);
	}
	return 0;
}

static int ws_filter(struct analyzer *a, struct lws *wsi)
{
	char path[256] = "", host[128], proto[32], why[512];
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
	if (auth_check_ws(a->auth, path, &ac, rest_now_ms(), &av))
		return ws_refuse_after(wsi, (unsigned)av.status, av.msg,
		                       av.status == 429 ? av.retry_after_s : 0);
	enum peer_kind kind = ws_kind(path);
	if (!kind || (kind == PEER_FLOW && !a->flows)) {
		snprintf(why, sizeof(why),
		         "no WebSocket endpoint %.200s (use /ws/agent/topology, /ws/publisher, "
		         "/ws/subscriber or /ws/pubsub%s)",
		         path, a->flows ? ", /ws/agent/flow" : "");
		return ws_refuse(wsi, HTTP_STATUS_NOT_FOUND, why);
	}
	/* A browser cannot set headers: subscribers may go without X-Host-ID (named by
	 * their address, as Skydive's graffiti/websocket/server.go falls back to). */
	if (!ws_header(wsi, "X-Host-ID", host, sizeof(host)) && kind != PEER_SUBSCRIBER &&
	    kind != PEER_PUBSUB) {
		snprintf(why, sizeof(why), "%.200s needs the X-Host-ID header", path);
		return ws_refuse(wsi, HTTP_STATUS_BAD_REQUEST, why);
	}
	if ((kind == PEER_SUBSCRIBER || kind == PEER_PUBSUB) &&
	    ws_header(wsi, "X-Update-Policy", proto, sizeof(proto)) && strcasecmp(proto, "full") &&
	    strcasecmp(proto, "partial")) {
		snprintf(why, sizeof(why), "invalid update policy '%.30s' (full or partial)", proto);
		return ws_refuse(wsi, HTTP_STATUS_BAD_REQUEST, why);
	}
	/* flow frames are protobuf whatever the header says */
	if (kind != PEER_FLOW && ws_header(wsi, "X-Client-Protocol", proto, sizeof(proto)) &&
	    strcasecmp(proto, "json")) {
		snprintf(why, sizeof(why), "X-Client-Protocol %.30s is not served; use json",
		         proto);
		return ws_refuse(wsi, HTTP_STATUS_BAD_REQUEST, why);
	}
	return ws_admit(a, wsi, kind, host, peer);
}

/* What a subscriber gets on connection and for each SyncRequest (Skydive's
 * SubscriberEndpoint, graffiti/endpoints/subscriber_endpoint.go): filter NULL keeps the
 * current filter, "" drops it, any other text replaces it; at_ms > 0 is the time to show
 * (live events stop until a SyncRequest without Time). The SyncReply holds the graph, or
 * the filter's subgraph, of that time; a filter that does not parse or evaluate gives a
 * SyncReply with Status 400 and Obj {"Error","Position"}, and the state is kept. Graph
 * lock held. NULL on out of memory. */
static json_t *sub_sync_reply(struct analyzer *a, struct peer *p, const char *filter,
                              int64_t at_ms)
{
	struct gremlin_error err = {0};
	struct sub_filter *nf = NULL, *f = p->filter;
	int64_t now = rest_now_ms();
	if (filter && *filter && !(f = nf = sub_filter_new(filter, &err)))
		goto bad;
	if (filter && !*filter)
		f = NULL;
	struct graph_view *v = graph_view_at(a->g, at_ms > 0 ? at_ms : 0, NULL);
	json_t *gj = NULL;
	if (v)
		gj = f ? sub_filter_graph(f, v, now, at_ms <= 0, &err) : graph_view_to_json(v);
	graph_view_free(v);
	if (!gj) {
		if (!f || !v)
			return NULL;
		goto bad;
	}
	if (filter) {
		if (p->filter && nf != p->filter)
			log_info("api: subscriber %s: filter '%s' replaced", p->host_id,
			         sub_filter_text(p->filter));
		sub_filter_free(p->filter);
		p->filter = nf;
	}
	p->at_ms = at_ms > 0 ? at_ms : 0;
	p->filter_dirty = p->filter_failed = 0;
	p->subscribed = 1;
	return graph_msg_new(GRAPH_MSG_NAMESPACE, "SyncReply", gj);
bad:
	log_warn("api: subscriber %s: bad Gremlin filter '%s': %s", p->host_id,
	         filter ? filter : sub_filter_text(f), err.msg);
	sub_filter_free(nf);
	json_t *m = graph_msg_new(GRAPH_MSG_NAMESPACE, "SyncReply",
	                          json_pack("{s:s, s:i}", "Error", err.msg, "Position", err.pos));
	if (m)
		json_object_set_new(m, "Status", json_integer(400));
	return m;
}

static int ws_established(struct analyzer *a, struct lws *wsi, struct pss *pss)
{
	char path[256] = "", policy[32] = "";
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI);
	p->wsi = wsi;
	p->id = ++a->next_peer_id;
	p->kind = ws_kind(path);
	p->connect_ms = rest_now_ms();
	int have_host = ws_header(wsi, "X-Host-ID", p->host_id, sizeof(p->host_id));
	if (!ws_header(wsi, "X-Client-Type", p->client_type, sizeof(p->client_type)))
		snprintf(p->client_type, sizeof(p->client_type), "%s",
		         p->kind == PEER_AGENT || p->kind == PEER_FLOW ? "agent" : "publisher");
	for (char *c = p->client_type; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	ws_header(wsi, "X-Persistence-Policy", policy, sizeof(policy));
	/* Agents' elements go with the agent; publishers' only when asked. */
	p->delete_on_disconnect =
	    p->kind == PEER_AGENT || !strcasecmp(policy, "DeleteOnDisconnect");
	lws_get_peer_simple(wsi, p->remote, sizeof(p->remote));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) == 0)
		p->remote_port =
		    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                   : ((struct sockaddr_in *)&ss)->sin_port);
	if (!have_host) /* a browser subscriber: its address, as Go's RemoteAddr */
		snprintf(p->host_id, sizeof(p->host_id), strchr(p->remote, ':') ? "[%s]:%d" : "%s:%d",
		         p->remote, p->remote_port);
	snprintf(p->origin, sizeof(p->origin), "%s.%s", p->client_type, p->host_id);
	pss->peer = p;

	int subscribe = p->kind == PEER_SUBSCRIBER || p->kind == PEER_PUBSUB;
	if (subscribe) {
		char upd[16] = "", *filter = malloc(4096);
		if (!filter)
			return -1;
		ws_header(wsi, "X-Update-Policy", upd, sizeof(upd));
		p->partial = !strcasecmp(upd, "partial");
		p->has_first_filter = ws_header(wsi, "X-Gremlin-Filter", filter, 4096);
		p->first_filter = filter;
		/* Listed but not subscribed: the listener skips it until its SyncReply, made
		 * once the writer applied every message received before this connection
		 * (sub_first_reply). */
		pthread_mutex_lock(&a->qlock);
		p->next = a->peers;
		a->peers = p;
		pthread_mutex_unlock(&a->qlock);
		p->awaiting_first = 1;
		if (graph_writer_barrier(a->writer, p->id)) {
			log_error("api: out of memory building the SyncReply for %s", p->host_id);
			return -1;
		}
	} else {
		pthread_mutex_lock(&a->qlock);
		p->next = a->peers;
		a->peers = p;
		pthread_mutex_unlock(&a->qlock);
		if (p->kind == PEER_AGENT && a->dispatch)
			dispatch_agent_up(a->dispatch, p->host_id);
	}
	log_info("api: %s %s connected to %s from %s:%d", p->client_type, p->host_id, path,
	         p->remote, p->remote_port);
	return 0;
}

static void ws_closed(struct analyzer *a, struct pss *pss)
{
	struct peer *p = pss->peer;
	if (!p)
		return;
	pss->peer = NULL;
	int shared = 0; /* another connection of this Origin still feeds its elements */
	pthread_mutex_lock(&a->qlock);
	for (struct peer **pp = &a->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	for (struct peer *o = a->peers; o; o = o->next)
		shared = shared || (o->kind != PEER_SUBSCRIBER && o->kind != PEER_FLOW &&
		                    !strcmp(o->origin, p->origin));
	pthread_mutex_unlock(&a->qlock);
	if (p->kind == PEER_AGENT && a->dispatch)
		dispatch_agent_down(a->dispatch, p->host_id);
	if (shared && p->delete_on_disconnect && p->kind != PEER_SUBSCRIBER) {
		/* a stale connection's close must not remove what the live one sent */
		log_info("api: %s %s disconnected; its elements are kept: another connection of "
		         "origin %s is connected",
		         p->client_type, p->host_id, p->origin);
	} else if (p->delete_on_disconnect && p->kind != PEER_SUBSCRIBER &&
	           p->kind != PEER_FLOW && !atomic_load(&a->stopping) && a->writer) {
		/* after its messages still queued; the writer logs how many went */
		char who[200];
		snprintf(who, sizeof(who), "%s %s", p->client_type, p->host_id);
		if (graph_writer_delete_origin(a->writer, p->origin, who))
			log_error("api: out of memory: the elements of %s are kept", who);
	} else {
		log_info("api: %s %s disconnected", p->client_type, p->host_id);
	}
	if (p->in_sub_job) { /* a worker re-evaluates its filter: freed when it is done */
		p->next = a->zombies;
		a->zombies = p;
		return;
	}
	peer_free(p);
}

/* One binary frame of /ws/agent/flow: a malformed one is counted, logged once per
 * connection, and the connection kept. */
static void flow_message(struct analyzer *a, struct peer *p)
{
	/* a copy queued for the flow-ingest thread, which decodes, stores and counts it
	 * (flow_ingest.h); a full queue drops it (counted in Flows.IngestQueue) */
	char who[96];
	snprintf(who, sizeof(who), "%s:%d", p->remote, p->remote_port);
	int rc = flow_ingest_submit(a->flows, p->host_id, who, (const uint8_t *)p->rx, p->rx_len,
	                            rest_now_ms());
	if ((rc == -ENOBUFS || rc == -ENOMEM) && !p->bad_logged) {
		p->bad_logged = 1;
		log_warn("api: flow frame from agent %s (%s) dropped: %s (counted in /api/status "
		         "Flows.IngestQueue.Dropped: see analyzer.flow_queue and "
		         "analyzer.flow_queue_bytes; further ones from this connection are not "
		         "logged)",
		         p->host_id, who, rc == -ENOBUFS ? "the flow-ingest queue is full" : "out of memory");
	}
}

/* The answer to a SyncRequest of p (msg): the graph, or for a subscriber its filter's
 * subgraph; graph reader side taken here (on the loop: readers are never held behind a
 * query). */
static void sync_request(struct analyzer *a, struct peer *p, const json_t *msg)
{
	json_t *reply = NULL;
	graph_rdlock(a->g);
	if (p->kind == PEER_SUBSCRIBER || p->kind == PEER_PUBSUB) {
		/* Obj {"GremlinFilter": "..." | "" | absent, "Time": ms} (messages.go) */
		const json_t *obj = json_object_get(msg, "Obj");
		const json_t *tm = json_object_get(obj, "Time");
		reply = sub_sync_reply(a, p, json_string_value(json_object_get(obj, "GremlinFilter")),
		                       json_is_number(tm) ? (int64_t)json_number_value(tm) : 0);
	} else {
		struct graph_view *v = graph_view_at(a->g, 0, NULL);
		json_t *gj = v ? graph_view_to_json(v) : NULL;
		graph_view_free(v);
		reply = gj ? graph_msg_new(GRAPH_MSG_NAMESPACE, "SyncReply", gj) : NULL;
	}
	json_t *uuid = json_object_get(msg, "UUID");
	if (reply && json_is_string(uuid))
		json_object_set(reply, "UUID", uuid);
	struct shmsg *m = shmsg_from_json(reply);
	pthread_mutex_lock(&a->qlock);
	if (m) {
		peer_enqueue(a, p, m, 1);
		if (m->refs == 0)
			free(m);
	}
	pthread_mutex_unlock(&a->qlock);
	graph_unlock(a->g);
	lws_callback_on_writable(p->wsi);
}

/* A new subscriber's first SyncReply (its X-Gremlin-Filter), and its registration, under
 * the graph's reader side: the writer, whose listener feeds the stream, is held off, so no
 * change falls between the snapshot and the stream. A bad filter is answered with a 400
 * SyncReply; events wait for a SyncRequest that works. */
static void sub_first_reply(struct analyzer *a, struct peer *p)
{
	if (!p->awaiting_first)
		return;
	p->awaiting_first = 0;
	graph_rdlock(a->g);
	struct shmsg *m = shmsg_from_json(
	    sub_sync_reply(a, p, p->has_first_filter ? p->first_filter : NULL, 0));
	pthread_mutex_lock(&a->qlock);
	if (m) {
		peer_enqueue(a, p, m, 1);
		if (m->refs == 0)
			free(m);
	} else {
		p->subscribed = 0;
		p->overflow = 1; /* closed when writable */
	}
	pthread_mutex_unlock(&a->qlock);
	graph_unlock(a->g);
	free(p->first_filter);
	p->first_filter = NULL;
	if (!m)
		log_error("api: out of memory building the SyncReply for %s", p->host_id);
	lws_callback_on_writable(p->wsi);
}

/* On the loop, woken by the graph writer: the SyncRequests it met (answered now, after
 * every earlier message of their sender was applied) and the agents' capture dispatch
 * replies. Senders that went meanwhile are skipped. */
static void writer_items(struct analyzer *a)
{
	struct graph_writer_item *it = a->writer ? graph_writer_take(a->writer) : NULL;
	while (it) {
		struct graph_writer_item *nx = it->next;
		struct peer *p = a->peers; /* only the loop changes the list */
		while (p && p->id != it->peer)
			p = p->next;
		if (p && p->in_sub_job && it->sync_request) {
			/* it would replace the filter a worker is using: after the job */
			struct graph_writer_item **tail = &a->deferred;
			while (*tail)
				tail = &(*tail)->next;
			it->next = NULL;
			*tail = it;
			it = nx;
			continue;
		}
		if (p && it->sync_request && !it->msg)
			sub_first_reply(a, p);
		else if (p && it->sync_request)
			sync_request(a, p, it->msg);
		else if (p && p->kind == PEER_AGENT && a->dispatch)
			dispatch_reply(a->dispatch, p->host_id, it->msg);
		graph_writer_item_free(it);
		it = nx;
	}
}

/* One whole message of p, in p->rx. Returns -1 to close the connection: the graph
 * writer's queue is full (the sender reconnects and resyncs). */
static int ws_message(struct analyzer *a, struct peer *p)
{
	if (p->kind == PEER_FLOW) {
		flow_message(a, p);
		return 0;
	}
	if (p->kind != PEER_SUBSCRIBER) {
		/* parsed and applied on the writer thread: the loop never waits for the graph's
		 * writer lock, which a long query holds off */
		struct graph_msg_source src = {
		    .host = p->host_id, .origin = p->origin, .force_host = p->kind == PEER_AGENT};
		char *text = p->rx;
		size_t len = p->rx_len;
		p->rx = NULL;
		p->rx_len = p->rx_cap = 0;
		int rc = graph_writer_submit(a->writer, p->id, &src,
		                             p->kind == PEER_AGENT && a->dispatch ? GRAPH_WRITER_BOUNCE
		                                                                  : 0,
		                             text, len);
		if (rc == -ENOBUFS) {
			static const char why[] = "analyzer graph queue full: reconnect and resync";
			a->writer_resyncs++;
			log_warn("api: %s %s: the graph writer's queue is full "
			         "(analyzer.graph_queue); closing its connection so that it "
			         "resyncs",
			         p->client_type, p->host_id);
			lws_close_reason(p->wsi, (enum lws_close_status)1013 /* Try Again Later */,
			                 (unsigned char *)why, sizeof(why) - 1);
			return -1;
		}
		if (rc)
			log_error("api: out of memory queueing a message of %s %s", p->client_type,
			          p->host_id);
		return 0;
	}
	/* Subscribers only read; a SyncRequest asks for the graph again: it also goes
	 * through the writer, so that it is answered after the messages received before it,
	 * and parsed there. */
	struct graph_msg_source src = {.host = p->host_id, .origin = p->origin};
	char *text = p->rx;
	size_t len = p->rx_len;
	p->rx = NULL;
	p->rx_len = p->rx_cap = 0;
	int rc = graph_writer_submit(a->writer, p->id, &src, GRAPH_WRITER_READONLY, text, len);
	if (rc == -ENOBUFS) {
		log_warn("api: subscriber %s: SyncRequest dropped: the graph writer's queue is full "
		         "(analyzer.graph_queue)",
		         p->host_id);
	} else if (rc) {
		log_error("api: out of memory queueing a message of %s %s", p->client_type,
		          p->host_id);
	}
	return 0;
}

static int ws_receive(struct analyzer *a, struct lws *wsi, struct peer *p, const void *in,
                      size_t len)
{
	if (p->kind != PEER_FLOW && lws_frame_is_binary(wsi)) {
		log_warn("api: binary (protobuf) message from %s ignored; only JSON is served",
		         p->host_id);
		return 0;
	}
	if (p->rx_len + len > a->ws_max_msg) {
		log_warn("api: message from %s larger than %zu bytes (http.ws.max_message_size); "
		         "closing with 1009",
		         p->host_id, a->ws_max_msg);
		static const char why[] = "message too big (http.ws.max_message_size)";
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
		                 sizeof(why) - 1);
		return -1;
	}
	if (p->rx_len + len > p->rx_cap) {
		size_t cap = p->rx_cap ? p->rx_cap : 4096;
		while (cap < p->rx_len + len)
			cap *= 2;
		char *nb = realloc(p->rx, cap);
		if (!nb)
			return -1;
		p->rx = nb;
		p->rx_cap = cap;
	}
	memcpy(p->rx + p->rx_len, in, len);
	p->rx_len += len;
	if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
		if (ws_message(a, p))
			return -1;
		p->rx_len = 0;
		if (p->rx_cap > (1u << 20)) { /* do not keep a huge Sync buffer around */
			free(p->rx);
			p->rx = NULL;
			p->rx_cap = 0;
		}
	}
	return 0;
}

static int ws_writable(struct analyzer *a, struct lws *wsi, struct peer *p)
{
	pthread_mutex_lock(&a->qlock);
	if (p->overflow) {
		pthread_mutex_unlock(&a->qlock);
		static const char why[] = "send queue overflow";
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
		                 sizeof(why) - 1);
		return -1;
	}
	struct qent *q = p->qhead;
	if (q) {
		p->qhead = q->next;
		if (!p->qhead)
			p->qtail = NULL;
		p->qlen--;
	}
	int more = p->qhead != NULL;
	pthread_mutex_unlock(&a->qlock);
	if (!q)
		return 0;
	/* lws writes the frame header into the headroom in front of the
	 * payload; the payload itself is not modified, so sharing is safe. */
	int n = lws_write(wsi, q->m->buf + LWS_PRE, q->m->len, LWS_WRITE_TEXT);
	int ok = n >= 0 && (size_t)n >= q->m->len;
	pthread_mutex_lock(&a->qlock);
	shmsg_unref(q->m);
	pthread_mutex_unlock(&a->qlock);
	free(q);
	if (!ok)
		return -1;
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---- the total connection bound (http.max_connections) ----------------- */

/* A new TCP connection, accepted but not yet a wsi: beyond http.max_connections it is
 * closed at once (after a plain 503 when not TLS), counted in /api/status
 * "Connections" "Refused" and logged at most once per 10 s. Idle and slow ones are closed
 * by lws's timeouts (http.header_timeout, http.keepalive_timeout). */
static int conn_filter(struct analyzer *a, int fd)
{
	if (a->conn_current < a->conn_max) {
		a->conn_accepting = 1; /* lws creates its wsi next (LWS_CALLBACK_WSI_CREATE) */
		return 0;
	}
	a->conn_refused++;
	if (!a->tls) {
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
		                           "Content-Type: text/plain\r\n"
		                           "Content-Length: 45\r\n"
		                           "Connection: close\r\n\r\n"
		                           "too many connections (http.max_connections)\r\n";
		if (send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("api: the 503 to a refused connection was not sent");
	}
	int64_t now = rest_now_ms();
	if (!a->conn_log_ms || now - a->conn_log_ms >= 10000) {
		log_warn("api: %llu connection(s) refused: %zu open already (at most %zu: "
		         "http.max_connections); %llu refused in all",
		         (unsigned long long)(a->conn_refused - a->conn_refused_logged),
		         a->conn_current, a->conn_max, (unsigned long long)a->conn_refused);
		a->conn_log_ms = now;
		a->conn_refused_logged = a->conn_refused;
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
	if (reason == LWS_CALLBACK_SSL_INFO) {
		char ip[64] = "", peer[80] = "";
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (wsi) {
			lws_get_peer_simple(wsi, ip, sizeof(ip));
			int port = getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl)
			               ? 0
			               : ntohs(((struct sockaddr_in *)&ss)->sin_port);
			snprintf(peer, sizeof(peer), "%s:%d", ip, port);
		}
		tls_server_alert(peer, in);
		return 0;
	}
	struct analyzer *a = lws_context_user(lws_get_context(wsi));
	struct pss *pss = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return conn_filter(a, (int)(lws_intptr_t)in);
	case LWS_CALLBACK_WSI_CREATE:
		/* The wsi of the connection conn_filter admitted (lws adopts it right after):
		 * marked (opaque_parent_data: adopt overwrites opaque_user_data), so that
		 * only those counted are uncounted when they go. */
		if (a->conn_accepting) {
			a->conn_accepting = 0;
			a->conn_current++;
			lws_set_opaque_parent_data(wsi, &a->conn_current);
		}
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (lws_get_opaque_parent_data(wsi) == &a->conn_current) {
			lws_set_opaque_parent_data(wsi, NULL);
			a->conn_current--;
		}
		break;
	case LWS_CALLBACK_HTTP:
		return http_begin(a, wsi, pss, in);
	case LWS_CALLBACK_HTTP_BODY:
		return http_body(a, pss, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		/* A POST with "Content-Length: 0" was answered in http_begin already, and lws
		 * still reports an (empty) body: answering twice would drop the first answer. */
		if (!pss->have_resp)
			http_respond(a, wsi, pss);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_write(a, wsi, pss);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss)
			http_reset(pss);
		return 0;

	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_filter(a, wsi);
	case LWS_CALLBACK_ADD_HEADERS: {
		/* Echo X-Host-ID in the handshake answer, as Skydive does. */
		struct lws_process_html_args *args = in;
		char *p0 = args->p;
		if (lws_add_http_header_by_name(
		        wsi, (const unsigned char *)"X-Host-ID:", (const unsigned char *)a->host_id,
		        (int)strlen(a->host_id), (unsigned char **)&args->p,
		        (unsigned char *)p0 + args->max_len))
			log_debug("api: no room to echo X-Host-ID in the handshake");
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(a, wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		return pss->peer ? ws_receive(a, wsi, pss->peer, in, len) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss->peer ? ws_writable(a, wsi, pss->peer) : 0;
	case LWS_CALLBACK_CLOSED:
		ws_closed(a, pss);
		return 0;

	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Woken by a query worker (answers), the graph writer (SyncRequests,
		 * dispatch replies) or the graph listener (flush queues that got messages). */
		jobs_done(a);
		writer_items(a);
		pthread_mutex_lock(&a->qlock);
		for (struct peer *p = a->peers; p; p = p->next)
			if (p->qhead || p->overflow)
				lws_callback_on_writable(p->wsi);
		pthread_mutex_unlock(&a->qlock);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- life cycle -------------------------------------------------------- */

/* Deletes captures whose X-Resource-TTL ended; runs on the loop twice a second. */
static void capture_tick(lws_sorted_usec_list_t *sul)
{
	struct analyzer *a = lws_container_of(sul, struct analyzer, capture_timer);
	capture_res_expire(a->captures, rest_now_ms());
	lws_sul_schedule(a->ctx, 0, sul, capture_tick, 500 * LWS_US_PER_MS);
}

/* dispatch_send_fn: queues an OnDemand message on the agent's topology connection. */
static int dispatch_send(void *user, const char *host, json_t *msg)
{
	struct analyzer *a = user;
	struct shmsg *m = shmsg_from_json(msg);
	if (!m)
		return -ENOMEM;
	int rc = -ENOTCONN;
	pthread_mutex_lock(&a->qlock);
	struct peer *p;
	for (p = a->peers; p; p = p->next)
		if (p->kind == PEER_AGENT && !p->overflow && !strcmp(p->host_id, host))
			break;
	if (p) {
		peer_enqueue(a, p, m, 0);
		if (m->refs > 0) {
			rc = 0;
			lws_callback_on_writable(p->wsi);
		}
	}
	if (m->refs == 0)
		free(m);
	pthread_mutex_unlock(&a->qlock);
	return rc;
}

/* Runs the capture dispatch when something changed (at most every 200 ms). */
static void dispatch_tick(lws_sorted_usec_list_t *sul)
{
	struct analyzer *a = lws_container_of(sul, struct analyzer, dispatch_timer);
	dispatch_poll(a->dispatch, rest_now_ms());
	lws_sul_schedule(a->ctx, 0, sul, dispatch_tick, 100 * LWS_US_PER_MS);
}

struct sub_emit_ctx {
	struct analyzer *a;
	struct peer *p;
	int sent;
};

/* sub_emit_fn: queues one message of a filtered subscriber's difference. */
static void sub_emit(void *user, const char *type, json_t *obj)
{
	struct sub_emit_ctx *c = user;
	struct shmsg *m = shmsg_from_json(graph_msg_new(GRAPH_MSG_NAMESPACE, type, obj));
	if (!m) {
		log_error("api: out of memory notifying subscriber %s", c->p->host_id);
		return;
	}
	pthread_mutex_lock(&c->a->qlock);
	peer_enqueue(c->a, c->p, m, 0);
	if (m->refs == 0)
		free(m);
	pthread_mutex_unlock(&c->a->qlock);
	c->sent = 1;
}

/* One re-evaluation of the filtered subscribers whose graph changed: the peers are the
 * loop's, lent for the job (in_sub_job: not freed, their filter not replaced meanwhile). */
struct sub_job {
	struct ajob j; /* first */
	struct analyzer *a;
	uint64_t seq;
	int64_t now;
	size_t n;
	struct peer **peers;
};

/* On a worker: each filter once, the difference queued to its subscriber (qlock); the
 * graph writer, whose listener also uses the filters, is held off by the reader side. */
static void sub_job_run(struct workers_job *wj)
{
	struct sub_job *j = (struct sub_job *)(void *)wj;
	struct analyzer *a = j->a;
	graph_writer_rdlock(a->writer, j->seq);
	struct graph_view *v = graph_view_at(a->g, 0, NULL);
	for (size_t i = 0; v && i < j->n; i++) {
		struct peer *p = j->peers[i];
		struct sub_emit_ctx c = {.a = a, .p = p};
		struct gremlin_error err;
		p->filter_dirty = 0;
		if (sub_filter_update(p->filter, v, j->now, sub_emit, &c, &err) &&
		    !p->filter_failed) {
			p->filter_failed = 1;
			log_warn("api: subscriber %s: filter '%s' failed: %s (its elements are kept "
			         "as they were)",
			         p->host_id, sub_filter_text(p->filter), err.msg);
		}
	}
	if (!v) {
		log_error("api: out of memory viewing the graph for subscriber filters; retrying");
		graph_unlock(a->g);
		return;
	}
	graph_view_free(v);
	graph_unlock(a->g);
}

static void sub_job_finish(struct analyzer *a, struct ajob *aj)
{
	struct sub_job *j = (struct sub_job *)aj;
	for (size_t i = 0; i < j->n; i++)
		j->peers[i]->in_sub_job = 0;
	free(j->peers);
	free(j);
	if (!a)
		return;
	a->sub_running = 0;
	/* the queues that got messages are flushed by EVENT_WAIT_CANCELLED's walk */
	while (a->zombies) {
		struct peer *p = a->zombies;
		a->zombies = p->next;
		peer_free(p);
	}
	struct graph_writer_item *it = a->deferred;
	a->deferred = NULL;
	while (it) {
		struct graph_writer_item *nx = it->next;
		struct peer *p = a->peers;
		while (p && p->id != it->peer)
			p = p->next;
		if (p && !it->msg)
			sub_first_reply(a, p);
		else if (p)
			sync_request(a, p, it->msg);
		graph_writer_item_free(it);
		it = nx;
	}
}

/* Re-evaluates the filters of subscribers whose graph changed (at most every
 * SUB_FILTER_PERIOD_MS) on a query worker, which sends each the difference: however many
 * changes came in between, a filter costs one evaluation, and none runs on the loop. One
 * job at a time; a full worker queue retries on the next tick. */
static void sub_tick(lws_sorted_usec_list_t *sul)
{
	struct analyzer *a = lws_container_of(sul, struct analyzer, sub_timer);
	int64_t now = rest_now_ms();
	if (!a->sub_running && a->pool && a->writer) {
		graph_rdlock(a->g); /* filter_dirty flags: the listener sets them (writer side) */
		if (a->filter_dirty && now - a->filter_last_ms >= SUB_FILTER_PERIOD_MS) {
			size_t n = 0;
			for (struct peer *p = a->peers; p; p = p->next)
				n++;
			struct sub_job *j = calloc(1, sizeof(*j));
			struct peer **ps = j ? calloc(n ? n : 1, sizeof(*ps)) : NULL;
			if (ps) {
				for (struct peer *p = a->peers; p; p = p->next)
					if (p->filter && p->filter_dirty && p->subscribed && !p->at_ms &&
					    !p->overflow)
						ps[j->n++] = p;
				j->j.w.run = sub_job_run;
				j->j.finish = sub_job_finish;
				j->a = a;
				j->seq = graph_writer_seq(a->writer);
				j->now = now;
				j->peers = ps;
			}
			if (ps && j->n && !workers_submit(a->pool, &j->j.w)) {
				for (size_t i = 0; i < j->n; i++)
					j->peers[i]->in_sub_job = 1;
				a->sub_running = 1;
				a->filter_dirty = 0;
				a->filter_last_ms = now;
			} else {
				a->filter_dirty = ps && !j->n ? 0 : a->filter_dirty;
				free(ps);
				free(j);
			}
		}
		graph_unlock(a->g);
	}
	lws_sul_schedule(a->ctx, 0, sul, sub_tick, 50 * LWS_US_PER_MS);
}

/* capture_res_counts_fn: Count = nodes where the agent reports the capture active. */
static json_t *capture_counts(void *user)
{
	struct analyzer *a = user;
	return dispatch_capture_counts(a->g);
}

/* workers_done_fn / graph_writer_wake_fn: the loop collects in EVENT_WAIT_CANCELLED. */
static void wake_loop(void *user)
{
	struct analyzer *a = user;
	lws_cancel_service(a->ctx);
}

/* The query workers and the graph writer (analyzer.h "Threads"); after the context, whose
 * loop they wake. 0 or -1 with err filled. */
static int offloop_new(struct analyzer *a, struct config *cfg, char *err, size_t errlen)
{
	int64_t nw = config_get_int(cfg, "analyzer.query_workers", 2);
	int64_t nq = config_get_int(cfg, "analyzer.query_queue", 64);
	int64_t gq = config_get_int(cfg, "analyzer.graph_queue", 100000);
	int64_t gb = config_get_int(cfg, "analyzer.graph_queue_bytes", 512ll << 20);
	if (nw < 1 || nw > 256 || nq < 0 || gq < 1 || gb < 1) {
		snprintf(err, errlen,
		         "invalid analyzer.query_workers %lld (1 to 256), analyzer.query_queue %lld "
		         "(>= 0), analyzer.graph_queue %lld or analyzer.graph_queue_bytes %lld "
		         "(>= 1)",
		         (long long)nw, (long long)nq, (long long)gq, (long long)gb);
		return -1;
	}
	a->pool = workers_new((int)nw, (size_t)nq, wake_loop, a, err, errlen);
	if (!a->pool)
		return -1;
	a->writer = graph_writer_new(a->g, (size_t)gq, (size_t)gb, DISPATCH_NAMESPACE, wake_loop,
	                             a, err, errlen);
	return a->writer ? 0 : -1;
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

struct analyzer *analyzer_new(struct config *cfg, struct graph *g, char *err, size_t errlen)
{
	return analyzer_new_opts(cfg, g, NULL, err, errlen);
}

struct analyzer *analyzer_new_opts(struct config *cfg, struct graph *g,
                                   const struct analyzer_opts *o, char *err, size_t errlen)
{
	struct analyzer_opts none = {0};
	if (!o)
		o = &none;
	const char *key = o->listen_key ? o->listen_key : "analyzer.listen";
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
	if (tls_server_check(cfg, o->service ? o->service : "analyzer", listen, ip, tls, err,
	                     errlen))
		return NULL;

	struct analyzer *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	a->g = g;
	a->listener_id = -1;
	pthread_mutex_init(&a->qlock, NULL);
	snprintf(a->service, sizeof(a->service), "%s", o->service ? o->service : "analyzer");
	snprintf(a->host_id, sizeof(a->host_id), "%s",
	         config_get_string(cfg, "host_id", "localhost"));
	int64_t qmax = config_get_int(cfg, "http.ws.queue_size", 10000);
	a->queue_max = qmax > 0 ? (size_t)qmax : 10000;
	int64_t pmax = config_get_int(cfg, "analyzer.pcap.max_bytes", 256ll << 20);
	a->pcap_max = pmax > 0 ? (unsigned long long)pmax : 256ull << 20;
	int64_t wmax = config_get_int(cfg, "http.ws.max_connections_per_address", 256);
	a->ws_max_per_addr = wmax > 0 ? (size_t)wmax : 256;
	int64_t mmax = config_get_int(cfg, "http.ws.max_message_size", MAX_MSG);
	if (mmax < 1024 || mmax > (1ll << 32)) {
		log_warn("api: http.ws.max_message_size %lld out of range (1024..4294967296); "
		         "%u used",
		         (long long)mmax, MAX_MSG);
		mmax = MAX_MSG;
	}
	a->ws_max_msg = (size_t)mmax;
	int64_t cmax = config_get_int(cfg, "http.max_connections", 4096);
	a->conn_max = cmax > 0 ? (size_t)cmax : 4096;
	int64_t ht = config_get_duration(cfg, "http.header_timeout", 10000) / 1000;
	int64_t kt = config_get_duration(cfg, "http.keepalive_timeout", 5000) / 1000;
	a->header_timeout = ht >= 1 && ht <= 3600 ? (int)ht : 10;
	a->keepalive_timeout = kt >= 1 && kt <= 3600 ? (int)kt : 5;
	if (o->flow_ops) {
		a->flow_ops = *o->flow_ops;
		a->has_flow_ops = 1;
	}
	a->rest = (struct rest_ctx){.g = g,
	                            .cfg = cfg,
	                            .service = a->service,
	                            .host_id = a->host_id,
	                            .flow_ops = a->has_flow_ops ? &a->flow_ops : NULL,
	                            .status = build_status,
	                            .user = a};
	a->scratch = malloc(LWS_PRE + HTTP_CHUNK);
	a->cors = cors_new(cfg);
	if (!a->scratch || !a->cors) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Before the port is bound: beyond loopback without a backend is refused here. */
	a->tls = tls;
	a->auth = auth_new(cfg, a->service, auth_addr_is_loopback(ip), listen, err, errlen);
	if (!a->auth)
		goto fail;
	/* /login tokens survive a restart, beside the captures (auth.h) */
	if (!strcmp(a->service, "analyzer") &&
	    auth_persist_tokens(a->auth,
	                        config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive"),
	                        rest_now_ms(), err, errlen))
		goto fail;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
	a->protocols[0] = (struct lws_protocols){.name = "skydive",
	                                         .callback = callback,
	                                         .per_session_data_size = sizeof(struct pss),
	                                         .rx_buffer_size = 0};
	int64_t ping = config_get_duration(cfg, "http.ws.ping_delay", 2000) / 1000;
	int64_t pong = config_get_duration(cfg, "http.ws.pong_timeout", 5000) / 1000;
	if (ping < 1 || ping > 3600)
		ping = 2;
	if (pong < 1 || pong > 3600)
		pong = 5;
	a->retry = (lws_retry_bo_t){.secs_since_valid_ping = (uint16_t)ping,
	                            .secs_since_valid_hangup = (uint16_t)(ping + pong)};

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.options |= tls_server_client_cert_options(cfg, a->service);
	}
	info.user = a;
	info.protocols = a->protocols;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.gid = -1;
	info.uid = -1;
	a->ctx = lws_create_context(&info);
	if (!a->ctx) {
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
	info.retry_and_idle_policy = &a->retry;
	info.timeout_secs = 30;
	/* A new connection holds its header table from accept: its request headers must
	 * all arrive within http.header_timeout (slowloris), and an idle keep-alive
	 * connection goes after http.keepalive_timeout (both lws's defaults, 10 and 5 s). */
	info.timeout_secs_ah_idle = (unsigned)a->header_timeout;
	info.keepalive_timeout = a->keepalive_timeout;
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
		info.ssl_info_event_mask = SSL_CB_ALERT; /* refused clients, logged */
	}
	a->vh = lws_create_vhost(a->ctx, &info);
	if (!a->vh) {
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
	a->port = lws_get_vhost_listen_port(a->vh);
	if (offloop_new(a, cfg, err, errlen))
		goto fail;
	if (!strcmp(a->service, "analyzer")) {
		a->captures = capture_res_new(
		    config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive"), g);
		if (!a->captures) {
			snprintf(err, errlen, "out of memory loading the captures");
			goto fail;
		}
		capture_tick(&a->capture_timer);
		capture_res_set_counts(a->captures, capture_counts, a);
		a->dispatch = dispatch_new(g, a->captures, dispatch_send, a);
		struct flow_store *fs = a->has_flow_ops ? flow_store_from_ops(&a->flow_ops) : NULL;
		if (!a->dispatch || (fs && !(a->flows = flow_ingest_new(fs)))) {
			snprintf(err, errlen, "out of memory creating the capture dispatch");
			goto fail;
		}
		if (a->flows) {
			int64_t mh = config_get_int(cfg, "analyzer.flow.stats_max_hosts", 0);
			int64_t mc = config_get_int(cfg, "analyzer.flow.stats_max_captures", 0);
			flow_ingest_set_limits(a->flows, mh > 0 ? (size_t)mh : 0,
			                       mc > 0 ? (size_t)mc : 0);
			int64_t fq = config_get_int(cfg, "analyzer.flow_queue", FLOW_INGEST_QUEUE);
			int64_t fb = config_get_int(cfg, "analyzer.flow_queue_bytes",
			                            FLOW_INGEST_QUEUE_BYTES);
			if (fq < 1 || fb < 1) {
				snprintf(err, errlen,
				         "analyzer.flow_queue %lld or analyzer.flow_queue_bytes %lld "
				         "must be >= 1",
				         (long long)fq, (long long)fb);
				goto fail;
			}
			if (flow_ingest_start(a->flows, (size_t)fq, (size_t)fb, err, errlen))
				goto fail;
		}
		dispatch_tick(&a->dispatch_timer);
	}
	sub_tick(&a->sub_timer);
	if (ip[0] && strchr(ip, ':'))
		snprintf(a->address, sizeof(a->address), "[%s]:%d", ip, a->port);
	else
		snprintf(a->address, sizeof(a->address), "%s:%d", ip[0] ? ip : "0.0.0.0", a->port);

	graph_lock(g);
	a->listener_id = graph_listener_add(g, on_graph_change, a);
	graph_unlock(g);
	if (a->listener_id < 0) {
		snprintf(err, errlen, "out of memory registering the graph listener");
		goto fail;
	}
	return a;
fail:
	analyzer_stop(a);
	return NULL;
}

static void *loop_thread(void *arg)
{
	struct analyzer *a = arg;
	while (!atomic_load(&a->stopping))
		if (lws_service(a->ctx, 0) < 0)
			break;
	return NULL;
}

int analyzer_start(struct analyzer *a)
{
	if (a->started)
		return -EALREADY;
	int rc = pthread_create(&a->thread, NULL, loop_thread, a);
	if (rc)
		return -rc;
	a->started = 1;
	return 0;
}

void analyzer_stop(struct analyzer *a)
{
	if (!a)
		return;
	atomic_store(&a->stopping, 1);
	if (a->started) {
		lws_cancel_service(a->ctx);
		pthread_join(a->thread, NULL);
	}
	/* Before the context goes (they wake its loop): the queries running finish (bounded
	 * by analyzer.gremlin.timeout), those waiting come back canceled; the writer stops
	 * after its batch (queued messages are dropped: their elements stay as they were). */
	if (a->pool)
		workers_stop(a->pool);
	graph_writer_free(a->writer);
	a->writer = NULL;
	/* No more notifications: the listener must not touch a dying context. */
	if (a->listener_id >= 0) {
		graph_lock(a->g);
		graph_listener_remove(a->g, a->listener_id);
		graph_unlock(a->g);
	}
	if (a->ctx && a->captures)
		lws_sul_cancel(&a->capture_timer);
	if (a->ctx && a->dispatch)
		lws_sul_cancel(&a->dispatch_timer);
	if (a->ctx && a->vh)
		lws_sul_cancel(&a->sub_timer);
	if (a->ctx)
		lws_context_destroy(a->ctx); /* closes every connection: CLOSED frees peers */
	/* answers never written: their connections are closed (CLOSED_HTTP let go of them) */
	for (struct workers_job *wj = a->pool ? workers_take_done(a->pool) : NULL, *nx; wj;
	     wj = nx) {
		nx = wj->next;
		((struct ajob *)wj)->finish(NULL, (struct ajob *)wj);
	}
	workers_free(a->pool);
	while (a->zombies) {
		struct peer *p = a->zombies;
		a->zombies = p->next;
		peer_free(p);
	}
	for (struct graph_writer_item *it = a->deferred, *nx; it; it = nx) {
		nx = it->next;
		graph_writer_item_free(it);
	}
	dispatch_free(a->dispatch);
	flow_ingest_free(a->flows);
	capture_res_free(a->captures);
	pthread_mutex_lock(&a->qlock);
	while (a->peers) { /* peers whose CLOSED never came */
		struct peer *p = a->peers;
		a->peers = p->next;
		peer_free(p);
	}
	pthread_mutex_unlock(&a->qlock);
	pthread_mutex_destroy(&a->qlock);
	free(a->scratch);
	cors_free(a->cors);
	auth_free(a->auth);
	free(a);
}

int analyzer_port(const struct analyzer *a)
{
	return a->port;
}

const char *analyzer_address(const struct analyzer *a)
{
	return a->address;
}

void analyzer_set_status_hook(struct analyzer *a, analyzer_status_fn fn, void *user)
{
	a->status_fn = fn;
	a->status_user = user;
}
