/* graph_service.c - a graph on the HTTP server (http/server.h): REST through rest.c,
 * graph messages of agents and publishers through the graph writer, subscribers fed by a
 * graph listener through bounded per-client queues. Threads and locks: graph_service.h. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "analyzer/graph_service.h"
#include "analyzer/graph_writer.h"
#include "analyzer/metrics.h"
#include "analyzer/replication.h"
#include "analyzer/rest.h"
#include "analyzer/rest_pcap.h"
#include "analyzer/sub_filter.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/util.h"
#include "http/server.h"
#include "wire/graph_msg.h"
#include "wire/struct_msg.h"

enum peer_kind { PEER_AGENT = 1, PEER_PUBLISHER, PEER_SUBSCRIBER, PEER_PUBSUB, PEER_REPLICA };

/* A serialised message shared by every subscriber queue it sits in; refs
 * guarded by analyzer.qlock. buf has HTTP_WS_PRE bytes of headroom first. */
struct shmsg {
	int refs;
	int binary; /* a StructMessage (protobuf peers), else JSON text */
	size_t len;
	unsigned char buf[];
};

struct qent {
	struct qent *next;
	struct shmsg *m;
};

/* The service's state of one WebSocket connection (the server's is ws). Listed in
 * analyzer.peers (under qlock) because the graph listener, which may run on any thread,
 * walks subscribers. */
struct peer {
	struct peer *next;
	uint64_t id; /* how the graph writer's answers name it (the peer may be gone) */
	struct http_ws *ws; /* NULL once closed (a peer kept for a filter job) */
	enum peer_kind kind;
	int protobuf; /* X-Client-Protocol: protobuf (Skydive agents): StructMessage frames */
	char host_id[128];
	char client_type[32];
	char origin[192];
	char remote[64];
	int remote_port;
	int64_t connect_ms;
	int delete_on_disconnect;
	int subscribed;
	int overflow;
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
	struct qent *qhead, *qtail;
	size_t qlen;
};

struct graph_service {
	struct config *cfg;
	struct graph *g;
	struct http_server *srv;
	char service[16];
	char host_id[256];
	struct gremlin_flow_ops flow_ops;
	int has_flow_ops;
	struct rest_ctx rest;
	unsigned long long pcap_max; /* analyzer.pcap.max_bytes */
	struct graph_service_opts o;
	/* what the server routes (http/server.h): the caller's, then ours, then an empty
	 * entry */
	struct http_route *routes;
	struct http_ws_endpoint *endpoints;

	pthread_mutex_t qlock;
	struct peer *peers;
	size_t queue_max;
	uint64_t slow_dropped;
	uint64_t bad_messages;
	uint64_t refused_duplicate;
	int listener_id;

	int filter_dirty;             /* some filtered subscriber has changes (graph lock) */
	int64_t filter_last_ms;

	/* Off the loop (graph_service.h "Threads"): the graph writer; queries on the server's
	 * workers */
	struct graph_writer *writer;  /* analyzer.graph_queue, analyzer.graph_queue_bytes */
	uint64_t next_peer_id;
	uint64_t writer_resyncs;      /* senders closed because the writer's queue was full */
	int sub_running;              /* a filter re-evaluation job is out (sub_tick) */
	struct peer *zombies;         /* peers closed meanwhile: freed when it comes back */
	struct graph_writer_item *deferred; /* their SyncRequests, answered then */
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
	struct shmsg *sm = malloc(sizeof(*sm) + HTTP_WS_PRE + n);
	if (sm) {
		sm->refs = 0;
		sm->binary = 0;
		sm->len = n;
		memcpy(sm->buf + HTTP_WS_PRE, s, n);
	}
	free(s);
	return sm;
}

/* The same message as a StructMessage, for a protobuf peer. */
static struct shmsg *shmsg_from_json_pb(json_t *m)
{
	size_t n = 0;
	unsigned char *b = m ? struct_msg_encode(m, offsetof(struct shmsg, buf) + HTTP_WS_PRE, &n) : NULL;
	json_decref(m);
	struct shmsg *sm = (struct shmsg *)(void *)b; /* malloc'd: aligned for any type */
	if (sm) {
		sm->refs = 0;
		sm->binary = 1;
		sm->len = n;
	}
	return sm;
}

static void shmsg_unref(struct shmsg *m)
{
	if (m && --m->refs <= 0)
		free(m);
}

/* Queues m for p; force bypasses the bound (the initial SyncReply). */
static void peer_enqueue(struct graph_service *a, struct peer *p, struct shmsg *m, int force)
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
	free(p);
}

/* ---- graph listener (any thread, graph lock held) ---------------------- */

/* The message of one change: the element (NodeAdded ...), or for a partial subscriber's
 * update {"ID","UpdatedAt","Revision","Ops"} (NodePartiallyUpdated); NULL when out of
 * memory or, partial, when the history no longer holds the previous metadata. */
static struct shmsg *change_msg(struct graph_service *a, enum graph_event ev,
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
	struct graph_service *a = user;
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
		http_server_wake(a->srv); /* the loop asks for writability */
}

/* Queues msg (stolen) for every live subscriber, whatever its filter (graph_service.h). */
void graph_service_broadcast(struct graph_service *a, json_t *msg)
{
	struct shmsg *m = shmsg_from_json(msg);
	if (!m) {
		log_error("api: out of memory broadcasting a message to subscribers");
		return;
	}
	int wake = 0;
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next) {
		if (!p->subscribed || p->overflow || p->at_ms)
			continue;
		peer_enqueue(a, p, m, 0);
		wake = 1;
	}
	if (m->refs == 0)
		free(m);
	pthread_mutex_unlock(&a->qlock);
	if (wake)
		http_server_wake(a->srv);
}

/* ---- status ------------------------------------------------------------ */

static json_t *conn_status(const struct graph_service *a, const struct peer *p)
{
	char t[48];
	fmt_rfc3339_ms(t, sizeof(t), p->connect_ms);
	return json_pack("{s:s, s:s, s:s, s:i, s:b, s:s, s:s, s:s}", "ServiceType", a->service,
	                 "ClientProtocol", p->protobuf ? "protobuf" : "json", "Addr", p->remote, "Port", p->remote_port,
	                 "IsConnected", 1, "ConnectTime", t, "RemoteHost", p->host_id,
	                 "RemoteServiceType", p->client_type);
}

/* Keys are host IDs; a second connection from the same host gets "#port". */
static void status_add(json_t *map, const struct graph_service *a, const struct peer *p)
{
	char key[200];
	snprintf(key, sizeof(key), "%s", p->host_id);
	if (json_object_get(map, key))
		snprintf(key, sizeof(key), "%s#%d", p->host_id, p->remote_port);
	json_object_set_new(map, key, conn_status(a, p));
}

static json_t *build_status(void *user)
{
	struct graph_service *a = user;
	struct graph_stats gs;
	struct graph_writer_stats ws_ = {0};
	graph_rdlock(a->g); /* readers first: never behind a query (graph_writer.h) */
	graph_stats(a->g, &gs);
	graph_unlock(a->g);
	if (a->writer)
		graph_writer_stats(a->writer, &ws_);

	json_t *agents = json_object(), *pubs = json_object(), *subs = json_object();
	json_t *incomers = json_object();
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next) {
		if (p->kind == PEER_AGENT)
			status_add(agents, a, p);
		if (p->kind == PEER_REPLICA)
			status_add(incomers, a, p);
		if (p->kind == PEER_PUBLISHER || p->kind == PEER_PUBSUB)
			status_add(pubs, a, p);
		if (p->kind == PEER_SUBSCRIBER || p->kind == PEER_PUBSUB)
			status_add(subs, a, p);
	}
	/* the server adds its own limits' counters (http_server_status) */
	json_t *ws = json_pack("{s:I, s:I, s:I, s:I}", "QueueSize", (json_int_t)a->queue_max,
	                       "SlowClientsDisconnected", (json_int_t)a->slow_dropped,
	                       "InvalidMessages", (json_int_t)(a->bad_messages + ws_.invalid),
	                       "RefusedDuplicateHostID", (json_int_t)a->refused_duplicate);
	pthread_mutex_unlock(&a->qlock);

	/* Graph messages waiting for the writer; Overflows: refused (the sender resynced) */
	json_t *writer = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "QueueMax", (json_int_t)ws_.queue_max,
	    "QueueBytesMax", (json_int_t)ws_.queue_bytes_max, "Queued", (json_int_t)ws_.queued,
	    "QueuedBytes", (json_int_t)ws_.queued_bytes, "Applied", (json_int_t)ws_.applied,
	    "Batches", (json_int_t)ws_.batches, "Overflows", (json_int_t)ws_.overflows,
	    "Resyncs", (json_int_t)a->writer_resyncs, "QueriesWaiting",
	    (json_int_t)ws_.waiting_readers);

	json_t *s = json_pack(
	    "{s:o, s:{s:o, s:{}}, s:o, s:o, s:{s:b}, s:{s:b}, s:{}, "
	    "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o}",
	    "Agents", agents, "Peers", "Incomers", incomers, "Outgoers", "Publishers", pubs, "Subscribers",
	    subs, "Alerts", "IsMaster", 1, "Captures", "IsMaster", 1, "Probes", "Topology", "Nodes",
	    (json_int_t)gs.nodes, "Edges", (json_int_t)gs.edges, "HistoryRevisions",
	    (json_int_t)gs.history_revisions, "HistoryBytes", (json_int_t)gs.history_bytes,
	    "HistoryOldest", (json_int_t)gs.history_oldest_ms, "HistoryMaxAge",
	    (json_int_t)gs.history_max_age_ms, "HistoryMaxBytes", (json_int_t)gs.history_max_bytes,
	    "WebSocket", ws, "GraphWriter", writer);
	if (s)
		http_server_status(a->srv, s);
	if (s && a->o.repl) /* replication.h: who owns what */
		json_object_set_new(json_object_get(s, "Peers"), "Replication",
		                    repl_status(a->o.repl));
	if (s && a->o.status)
		a->o.status(a->o.user, s);
	return s;
}

/* ---- HTTP routes (http/server.h) ---------------------------------------- */

/* gremlin_env.allowed of one request (RawPackets(), BPF()): its caller's permissions */
static int req_allowed(void *user, const char *object, const char *action)
{
	return http_request_allowed(user, object, action);
}

/* The graph's reader side for a worker's query, once every graph message received
 * before the request is applied (graph_writer.h). */
struct query_lock {
	struct graph_writer *w;
	uint64_t seq;
};

static void query_rdlock(void *user)
{
	struct query_lock *l = user;
	graph_writer_rdlock(l->w, l->seq);
}

/* http_route.stamp: the graph writer's number when the request came. */
static uint64_t writer_stamp(void *svc)
{
	struct graph_service *a = svc;
	return graph_writer_seq(a->writer);
}

/* The REST context of one request: its caller's permissions, its reader lock. */
static void req_ctx(struct graph_service *a, const struct http_request *req, struct query_lock *l,
                    struct rest_ctx *rc)
{
	*rc = a->rest;
	*l = (struct query_lock){.w = a->writer, .seq = req->stamp};
	rc->allowed = req_allowed;
	rc->allowed_user = (void *)req;
	rc->rdlock = query_rdlock;
	rc->rdlock_user = l;
}

/* /api, /api/status, /api/topology, /api/config/... (rest.h) */
static void rest_route(void *svc, const struct http_request *req, struct rest_response *out)
{
	struct query_lock l;
	struct rest_ctx rc;
	req_ctx(svc, req, &l, &rc);
	rest_handle(&rc, req->method, req->path, req->accept, req->body, req->body_len, out);
}

/* GET /metrics (metrics.h, docs/API.md "Metrics"): the graph's, the server's, the
 * caller's (o.metrics). */
static void metrics_route(void *svc, const struct http_request *req, struct rest_response *out)
{
	struct graph_service *a = svc;
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		rest_reply_error(out, 405, "%s /metrics: only GET", req->method);
		return;
	}
	struct metrics_service m = {.writer_resyncs = a->writer_resyncs};
	graph_rdlock(a->g);
	graph_stats(a->g, &m.graph);
	graph_unlock(a->g);
	graph_writer_stats(a->writer, &m.writer);
	pthread_mutex_lock(&a->qlock);
	m.ws_queue_max = a->queue_max;
	m.slow_dropped = a->slow_dropped;
	m.bad_messages = a->bad_messages;
	m.refused_duplicate = a->refused_duplicate;
	for (struct peer *p = a->peers; p; p = p->next) {
		m.agents += p->kind == PEER_AGENT;
		m.publishers += p->kind == PEER_PUBLISHER || p->kind == PEER_PUBSUB;
		m.subscribers += p->kind == PEER_SUBSCRIBER || p->kind == PEER_PUBSUB;
	}
	pthread_mutex_unlock(&a->qlock);
	struct buf b;
	buf_init(&b, NULL);
	metrics_service(&b, a->host_id, &m);
	metrics_captures(&b, a->g);
	http_server_metrics(a->srv, &b);
	if (a->o.metrics)
		a->o.metrics(a->o.user, &b);
	if (b.err) {
		buf_free(&b);
		rest_reply_error(out, 500, "out of memory");
		return;
	}
	*out = (struct rest_response){.status = 200,
	                              .content_type = "text/plain; version=0.0.4; charset=utf-8",
	                              .body = b.data,
	                              .len = b.len};
}

/* POST /api/pcap: streamed to a file (rest_pcap.h), or a body without a length in
 * memory (rest_handle). */
static void pcap_route(void *svc, const struct http_request *req, struct rest_response *out)
{
	struct query_lock l;
	struct rest_ctx rc;
	req_ctx(svc, req, &l, &rc);
	if (req->body_file)
		rest_pcap_handle(&rc, req->body_file, req->kept[0], req->kept[1][0] ? req->kept[1] : NULL,
		                 out);
	else
		rest_handle(&rc, req->method, req->path, req->accept, req->body, req->body_len, out);
}

/* What a subscriber gets on connection and for each SyncRequest (Skydive's
 * SubscriberEndpoint, graffiti/endpoints/subscriber_endpoint.go): filter NULL keeps the
 * current filter, "" drops it, any other text replaces it; at_ms > 0 is the time to show
 * (live events stop until a SyncRequest without Time). The SyncReply holds the graph, or
 * the filter's subgraph, of that time; a filter that does not parse or evaluate gives a
 * SyncReply with Status 400 and Obj {"Error","Position"}, and the state is kept. Graph
 * lock held. NULL on out of memory. */
static json_t *sub_sync_reply(struct graph_service *a, struct peer *p, const char *filter,
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

/* The answer to a SyncRequest of p (msg): the graph, or for a subscriber its filter's
 * subgraph; graph reader side taken here (on the loop: readers are never held behind a
 * query). */
static void sync_request(struct graph_service *a, struct peer *p, const json_t *msg)
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
	http_ws_want_write(p->ws);
}

/* A new subscriber's first SyncReply (its X-Gremlin-Filter), and its registration, under
 * the graph's reader side: the writer, whose listener feeds the stream, is held off, so no
 * change falls between the snapshot and the stream. A bad filter is answered with a 400
 * SyncReply; events wait for a SyncRequest that works. */
static void sub_first_reply(struct graph_service *a, struct peer *p)
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
	http_ws_want_write(p->ws);
}

/* On the loop, woken by the graph writer: the SyncRequests it met (answered now, after
 * every earlier message of their sender was applied) and the agents' capture dispatch
 * replies. Senders that went meanwhile are skipped. */
static void writer_items(struct graph_service *a)
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
		else if (p && p->kind == PEER_AGENT && a->o.agent_reply)
			a->o.agent_reply(a->o.user, p->host_id, it->msg);
		graph_writer_item_free(it);
		it = nx;
	}
}

/* ---- WebSocket endpoints ------------------------------------------------ */

/* The endpoint's own rules of a handshake, before the server's limits: X-Host-ID (a
 * browser cannot set headers: subscribers may go without, named by their address, as
 * Skydive's graffiti/websocket/server.go falls back to), the update policy and the
 * client protocol. */
static int ws_check(void *svc, int kind, struct http_ws_req *r, char *why, size_t whylen)
{
	char host[128], proto[32];
	const char *path = kind == PEER_AGENT     ? "/ws/agent/topology"
	                   : kind == PEER_REPLICA ? "/ws/replication"
	                                          : "/ws/publisher";
	if (!http_ws_req_header(r, "X-Host-ID", host, sizeof(host)) && kind != PEER_SUBSCRIBER &&
	    kind != PEER_PUBSUB) {
		snprintf(why, whylen, "%.200s needs the X-Host-ID header", path);
		return 400;
	}
	if ((kind == PEER_SUBSCRIBER || kind == PEER_PUBSUB) &&
	    http_ws_req_header(r, "X-Update-Policy", proto, sizeof(proto)) &&
	    strcasecmp(proto, "full") && strcasecmp(proto, "partial")) {
		snprintf(why, whylen, "invalid update policy '%.30s' (full or partial)", proto);
		return 400;
	}
	/* protobuf: Skydive's StructMessage frames (its agents use it), from agents and
	 * publishers; subscribers read JSON (Skydive's UIs and clients do). */
	if (http_ws_req_header(r, "X-Client-Protocol", proto, sizeof(proto)) &&
	    strcasecmp(proto, "json") &&
	    (strcasecmp(proto, "protobuf") || kind == PEER_SUBSCRIBER || kind == PEER_PUBSUB)) {
		if (!strcasecmp(proto, "protobuf"))
			snprintf(why, whylen,
			         "X-Client-Protocol protobuf is served to agents and publishers; "
			         "subscribers use json");
		else
			snprintf(why, whylen, "X-Client-Protocol %.30s is not served; use json or "
			                      "protobuf", proto);
		return 400;
	}
	return 0;
}

/* After the server's limits: a second agent connection with the host ID of a connected
 * agent would take its place and, leaving, delete its topology (409: the real agent keeps
 * its link; one that lost its link reconnects once the analyzer has dropped the dead one,
 * within the ping timeout). */
static int ws_admit_agent(void *svc, int kind, struct http_ws_req *r, char *why, size_t whylen)
{
	struct graph_service *a = svc;
	char host[128];
	int dup = 0;
	if (!http_ws_req_header(r, "X-Host-ID", host, sizeof(host)))
		return 0;
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next)
		dup = dup || (p->kind == PEER_AGENT && !strcmp(p->host_id, host));
	if (dup)
		a->refused_duplicate++;
	pthread_mutex_unlock(&a->qlock);
	if (!dup)
		return 0;
	snprintf(why, whylen,
	         "an agent with host ID %.128s is already connected; a second connection "
	         "with its host ID is refused (give each agent its own host_id)",
	         host);
	return 409;
}

/* A peer analyzer on /ws/replication: not ourselves (an `analyzers:` list names every
 * analyzer, this one too), and one connection per peer (Skydive's "already connected"). */
static int ws_admit_replica(void *svc, int kind, struct http_ws_req *r, char *why,
                            size_t whylen)
{
	(void)kind;
	struct graph_service *a = svc;
	char host[128];
	int dup = 0;
	if (!http_ws_req_header(r, "X-Host-ID", host, sizeof(host)))
		return 0;
	if (!strcmp(host, a->host_id)) {
		snprintf(why, whylen, "connected to itself: host ID %.128s is this analyzer's", host);
		return 409;
	}
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next)
		dup = dup || (p->kind == PEER_REPLICA && !strcmp(p->host_id, host));
	pthread_mutex_unlock(&a->qlock);
	if (!dup)
		return 0;
	snprintf(why, whylen,
	         "analyzer %.128s is already connected for replication (give each analyzer its "
	         "own host_id)",
	         host);
	return 409;
}

static int ws_open(void *svc, struct http_ws *ws, int kind, void **user)
{
	struct graph_service *a = svc;
	char policy[32] = "";
	const struct http_ws_info *info = http_ws_info(ws);
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	p->ws = ws;
	p->id = ++a->next_peer_id;
	p->kind = kind;
	p->connect_ms = info->connect_ms;
	int have_host = http_ws_header(ws, "X-Host-ID", p->host_id, sizeof(p->host_id));
	if (!http_ws_header(ws, "X-Client-Type", p->client_type, sizeof(p->client_type)))
		snprintf(p->client_type, sizeof(p->client_type), "%s",
		         p->kind == PEER_AGENT ? "agent" : "publisher");
	for (char *c = p->client_type; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	http_ws_header(ws, "X-Persistence-Policy", policy, sizeof(policy));
	char proto[32] = "";
	http_ws_header(ws, "X-Client-Protocol", proto, sizeof(proto));
	p->protobuf = !strcasecmp(proto, "protobuf"); /* ws_check let it through: no subscriber */
	if (p->protobuf)
		http_ws_set_binary(ws, 1);
	/* Agents' elements go with the agent; publishers' only when asked. */
	p->delete_on_disconnect = p->kind == PEER_AGENT ||
	                          (p->kind != PEER_REPLICA && !strcasecmp(policy, "DeleteOnDisconnect"));
	if (p->kind == PEER_REPLICA) /* its elements: replication.h's rules */
		snprintf(p->client_type, sizeof(p->client_type), "analyzer");
	snprintf(p->remote, sizeof(p->remote), "%s", info->remote);
	p->remote_port = info->remote_port;
	if (!have_host) /* a browser subscriber: its address, as Go's RemoteAddr */
		snprintf(p->host_id, sizeof(p->host_id), strchr(p->remote, ':') ? "[%s]:%d" : "%s:%d",
		         p->remote, p->remote_port);
	snprintf(p->origin, sizeof(p->origin), "%s.%s", p->client_type, p->host_id);
	http_ws_set_name(ws, p->host_id);
	*user = p;

	int subscribe = p->kind == PEER_SUBSCRIBER || p->kind == PEER_PUBSUB;
	if (subscribe) {
		char upd[16] = "", *filter = malloc(4096);
		if (!filter)
			return -1;
		http_ws_header(ws, "X-Update-Policy", upd, sizeof(upd));
		p->partial = !strcasecmp(upd, "partial");
		p->has_first_filter = http_ws_header(ws, "X-Gremlin-Filter", filter, 4096);
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
		if (p->kind == PEER_AGENT && a->o.agent_up)
			a->o.agent_up(a->o.user, p->host_id);
		if (p->kind == PEER_REPLICA)
			repl_peer_up(a->o.repl, p->host_id, p->remote);
	}
	log_info("api: %s %s connected to %s from %s:%d", p->client_type, p->host_id, info->path,
	         p->remote, p->remote_port);
	return 0;
}

static void ws_close(void *svc, struct http_ws *ws, void *user)
{
	struct graph_service *a = svc;
	struct peer *p = user;
	if (!p)
		return;
	p->ws = NULL;
	int shared = 0; /* another connection of this Origin still feeds its elements */
	pthread_mutex_lock(&a->qlock);
	for (struct peer **pp = &a->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	for (struct peer *o = a->peers; o; o = o->next)
		shared = shared || (o->kind != PEER_SUBSCRIBER && !strcmp(o->origin, p->origin));
	pthread_mutex_unlock(&a->qlock);
	if (p->kind == PEER_AGENT && a->o.agent_down)
		a->o.agent_down(a->o.user, p->host_id);
	if (p->kind == PEER_REPLICA) {
		repl_peer_down(a->o.repl, p->host_id, util_mono_ms());
		log_info("api: peer analyzer %s disconnected; its elements are kept %lld s for its "
		         "agents to reconnect elsewhere (analyzer.replication.expire)",
		         p->host_id, (long long)(a->o.repl_expire_ms / 1000));
	} else if (shared && p->delete_on_disconnect && p->kind != PEER_SUBSCRIBER) {
		/* a stale connection's close must not remove what the live one sent */
		log_info("api: %s %s disconnected; its elements are kept: another connection of "
		         "origin %s is connected",
		         p->client_type, p->host_id, p->origin);
	} else if (p->delete_on_disconnect && p->kind != PEER_SUBSCRIBER &&
	           !http_server_stopping(a->srv) && a->writer) {
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

/* One whole message of p. Returns -1 to close the connection: the graph writer's queue is
 * full (the sender reconnects and resyncs). */
static int ws_message(void *svc, struct http_ws *ws, void *user, struct http_ws_msg *msg)
{
	struct graph_service *a = svc;
	struct peer *p = user;
	char *text = msg->data;
	size_t len = msg->len;
	msg->data = NULL; /* the writer's now */
	if (p->kind != PEER_SUBSCRIBER) {
		/* parsed and applied on the writer thread: the loop never waits for the graph's
		 * writer lock, which a long query holds off */
		struct graph_msg_source src = {
		    .host = p->host_id, .origin = p->origin, .force_host = p->kind == PEER_AGENT};
		int flags = (p->kind == PEER_AGENT && a->o.agent_reply ? GRAPH_WRITER_BOUNCE : 0) |
		            (p->protobuf ? GRAPH_WRITER_PROTOBUF : 0) |
		            (p->kind == PEER_REPLICA ? GRAPH_WRITER_REPLICA : 0);
		int rc = graph_writer_submit(a->writer, p->id, &src, flags, text, len);
		if (rc == -ENOBUFS) {
			a->writer_resyncs++;
			log_warn("api: %s %s: the graph writer's queue is full "
			         "(analyzer.graph_queue); closing its connection so that it "
			         "resyncs",
			         p->client_type, p->host_id);
			http_ws_close_reason(ws, 1013 /* Try Again Later */,
			                     "analyzer graph queue full: reconnect and resync");
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

static int ws_writeable(void *svc, struct http_ws *ws, void *user)
{
	struct graph_service *a = svc;
	struct peer *p = user;
	pthread_mutex_lock(&a->qlock);
	if (p->overflow) {
		pthread_mutex_unlock(&a->qlock);
		http_ws_close_reason(ws, 1008 /* policy violation */, "send queue overflow");
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
	int bad = q->m->binary ? http_ws_write_binary(ws, q->m->buf + HTTP_WS_PRE, q->m->len)
	                       : http_ws_write_text(ws, q->m->buf + HTTP_WS_PRE, q->m->len);
	pthread_mutex_lock(&a->qlock);
	shmsg_unref(q->m);
	pthread_mutex_unlock(&a->qlock);
	free(q);
	if (bad)
		return -1;
	if (more)
		http_ws_want_write(ws);
	return 0;
}

/* On the loop, woken by the graph writer (SyncRequests, dispatch replies) or the graph
 * listener (flush the queues that got messages). */
static void loop_wake(void *svc)
{
	struct graph_service *a = svc;
	writer_items(a);
	pthread_mutex_lock(&a->qlock);
	for (struct peer *p = a->peers; p; p = p->next)
		if (p->qhead || p->overflow)
			http_ws_want_write(p->ws);
	pthread_mutex_unlock(&a->qlock);
}

/* ---- life cycle -------------------------------------------------------- */

static struct peer *agent_peer(struct graph_service *a, const char *host)
{
	struct peer *p;
	for (p = a->peers; p; p = p->next)
		if (p->kind == PEER_AGENT && !p->overflow && !strcmp(p->host_id, host))
			break;
	return p;
}

int graph_service_send_agent(struct graph_service *a, const char *host, json_t *msg)
{
	pthread_mutex_lock(&a->qlock);
	struct peer *p = agent_peer(a, host);
	int pb = p && p->protobuf;
	pthread_mutex_unlock(&a->qlock);
	/* serialised outside the lock, in the agent's protocol */
	struct shmsg *m = pb ? shmsg_from_json_pb(msg) : shmsg_from_json(msg);
	if (!m)
		return -ENOMEM;
	int rc = -ENOTCONN;
	pthread_mutex_lock(&a->qlock);
	p = agent_peer(a, host);
	if (p && p->protobuf != pb)
		p = NULL; /* the host came back with the other protocol meanwhile: as if gone (its
		           * agent_up dispatches again) */
	if (p) {
		peer_enqueue(a, p, m, 0);
		if (m->refs > 0) {
			rc = 0;
			http_ws_want_write(p->ws);
		}
	}
	if (m->refs == 0)
		free(m);
	pthread_mutex_unlock(&a->qlock);
	return rc;
}

struct sub_emit_ctx {
	struct graph_service *a;
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
	struct http_task t; /* first */
	struct graph_service *a;
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
	struct graph_service *a = j->a;
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

static void sub_job_finish(struct http_server *s, struct http_task *t)
{
	struct sub_job *j = (struct sub_job *)t;
	struct graph_service *a = s ? j->a : NULL;
	for (size_t i = 0; i < j->n; i++)
		j->peers[i]->in_sub_job = 0;
	free(j->peers);
	free(j);
	if (!a)
		return;
	a->sub_running = 0;
	/* the queues that got messages are flushed by loop_wake's walk */
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
static void sub_tick(void *user)
{
	struct graph_service *a = user;
	int64_t now = rest_now_ms();
	if (!a->sub_running && a->writer) {
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
				j->t.w.run = sub_job_run;
				j->t.finish = sub_job_finish;
				j->a = a;
				j->seq = graph_writer_seq(a->writer);
				j->now = now;
				j->peers = ps;
			}
			if (ps && j->n && !http_server_submit(a->srv, &j->t)) {
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
}

/* graph_writer_wake_fn: the loop collects in loop_wake. */
static void wake_loop(void *user)
{
	struct graph_service *a = user;
	http_server_wake(a->srv);
}

/* The routes and endpoints the server is given: the caller's routes first (their paths
 * go before ours), then ours and the fallback; our endpoints, then the caller's. */
static int routes_fill(struct graph_service *a)
{
	size_t nr = 0, ne = 0;
	for (const struct http_route *r = a->o.routes; r && r->handle; r++)
		nr++;
	for (const struct http_ws_endpoint *e = a->o.endpoints; e && e->path; e++)
		ne++;
	a->routes = calloc(nr + 5, sizeof(*a->routes));
	a->endpoints = calloc(ne + 6, sizeof(*a->endpoints));
	if (!a->routes || !a->endpoints)
		return -1;
	struct http_route *r = a->routes;
	for (size_t i = 0; i < nr; i++)
		*r++ = a->o.routes[i];
	/* the costly ones (rest_is_query) on the query workers */
	*r++ = (struct http_route){.path = "/api/topology",
	                           .flags = HTTP_ROUTE_JSON,
	                           .worker_methods = "GET POST",
	                           .handle = rest_route,
	                           .stamp = writer_stamp,
	                           .user = a};
	*r++ = (struct http_route){.path = "/api/pcap",
	                           .flags = HTTP_ROUTE_BODY_FILE,
	                           .worker_methods = "POST",
	                           .keep = {"rawpacketlimit=", "x-node-tid:"},
	                           .file_max = a->pcap_max,
	                           .file_what = "pcap body",
	                           .file_key = "analyzer.pcap.max_bytes",
	                           .handle = pcap_route,
	                           .stamp = writer_stamp,
	                           .user = a};
	*r++ = (struct http_route){.path = "/metrics", .handle = metrics_route, .user = a};
	*r++ = (struct http_route){.path = NULL, .handle = rest_route, .user = a};
	static const struct {
		const char *path;
		int kind;
	} eps[] = {{"/ws/agent/topology", PEER_AGENT},
	           {"/ws/publisher", PEER_PUBLISHER},
	           {"/ws/subscriber", PEER_SUBSCRIBER},
	           {"/ws/pubsub", PEER_PUBSUB},
	           {"/ws/replication", PEER_REPLICA}};
	struct http_ws_endpoint *e = a->endpoints;
	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		if (eps[i].kind == PEER_REPLICA && !a->o.repl)
			continue; /* the agent's own API has no peers */
		*e++ = (struct http_ws_endpoint){.path = eps[i].path,
		                                 .kind = eps[i].kind,
		                                 .user = a,
		                                 .check = ws_check,
		                                 .admit = eps[i].kind == PEER_AGENT ? ws_admit_agent
		                                          : eps[i].kind == PEER_REPLICA
		                                              ? ws_admit_replica
		                                              : NULL,
		                                 .open = ws_open,
		                                 .message = ws_message,
		                                 .writeable = ws_writeable,
		                                 .close = ws_close};
	}
	for (size_t i = 0; i < ne; i++)
		*e++ = a->o.endpoints[i];
	return 0;
}

/* Every second on the loop: the origins of peers gone for analyzer.replication.expire
 * are removed, on the writer (if still theirs then). */
static void repl_tick(void *user)
{
	struct graph_service *a = user;
	json_t *gone = repl_expire(a->o.repl, util_mono_ms(), a->o.repl_expire_ms);
	const char *peer;
	json_t *origins;
	json_object_foreach(gone, peer, origins)
	{
		size_t i;
		json_t *o;
		log_info("api: peer analyzer %s did not come back in %lld s: removing the %zu origins "
		         "it replicated that no one took over",
		         peer, (long long)(a->o.repl_expire_ms / 1000), json_array_size(origins));
		json_array_foreach(origins, i, o)
		if (graph_writer_delete_replica(a->writer, json_string_value(o), peer))
			log_error("api: out of memory: the elements of %s are kept",
			          json_string_value(o));
	}
	json_decref(gone);
}

struct graph_service *graph_service_new(struct config *cfg, struct graph *g,
                                        const struct graph_service_opts *o, char *err,
                                        size_t errlen)
{
	struct graph_service *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	a->g = g;
	a->o = *o;
	a->listener_id = -1;
	pthread_mutex_init(&a->qlock, NULL);
	snprintf(a->service, sizeof(a->service), "%s", o->service ? o->service : "analyzer");
	snprintf(a->host_id, sizeof(a->host_id), "%s",
	         config_get_string(cfg, "host_id", "localhost"));
	int64_t qmax = config_get_int(cfg, "http.ws.queue_size", 10000);
	a->queue_max = qmax > 0 ? (size_t)qmax : 10000;
	int64_t pmax = config_get_int(cfg, "analyzer.pcap.max_bytes", 256ll << 20);
	a->pcap_max = pmax > 0 ? (unsigned long long)pmax : 256ull << 20;
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
	if (routes_fill(a)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	struct http_server_opts so = {.service = a->service,
	                              .listen_key = o->listen_key,
	                              .listen_default = o->listen_default,
	                              .routes = a->routes,
	                              .endpoints = a->endpoints,
	                              .svc = a,
	                              .wake = loop_wake};
	a->srv = http_server_new(cfg, &so, err, errlen);
	if (!a->srv)
		goto fail;
	int64_t gq = config_get_int(cfg, "analyzer.graph_queue", 100000);
	int64_t gb = config_get_int(cfg, "analyzer.graph_queue_bytes", 512ll << 20);
	if (gq < 1 || gb < 1) {
		snprintf(err, errlen,
		         "invalid analyzer.graph_queue %lld or analyzer.graph_queue_bytes %lld (>= 1)",
		         (long long)gq, (long long)gb);
		goto fail;
	}
	a->writer = graph_writer_new(g, (size_t)gq, (size_t)gb, o->agent_namespace, wake_loop, a,
	                             err, errlen);
	if (!a->writer)
		goto fail;
	if (o->repl)
		graph_writer_set_owners(a->writer, o->repl);
	if (http_server_every(a->srv, 50, sub_tick, a) ||
	    (o->repl && http_server_every(a->srv, 1000, repl_tick, a))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	graph_lock(g);
	a->listener_id = graph_listener_add(g, on_graph_change, a);
	graph_unlock(g);
	if (a->listener_id < 0) {
		snprintf(err, errlen, "out of memory registering the graph listener");
		goto fail;
	}
	return a;
fail:
	graph_service_stop(a);
	return NULL;
}

int graph_service_start(struct graph_service *a)
{
	return http_server_start(a->srv);
}

void graph_service_stop(struct graph_service *a)
{
	if (!a)
		return;
	/* The loop and the query workers stop first (queries running finish, bounded by
	 * analyzer.gremlin.timeout); then the writer, after its batch (queued messages are
	 * dropped: their elements stay as they were). */
	http_server_halt(a->srv);
	graph_writer_free(a->writer);
	a->writer = NULL;
	/* No more notifications: the listener must not wake a dying server. */
	if (a->listener_id >= 0) {
		graph_lock(a->g);
		graph_listener_remove(a->g, a->listener_id);
		graph_unlock(a->g);
	}
	http_server_free(a->srv); /* closes every connection: ws_close frees peers */
	while (a->zombies) {
		struct peer *p = a->zombies;
		a->zombies = p->next;
		peer_free(p);
	}
	for (struct graph_writer_item *it = a->deferred, *nx; it; it = nx) {
		nx = it->next;
		graph_writer_item_free(it);
	}
	pthread_mutex_lock(&a->qlock);
	while (a->peers) { /* peers whose close never came */
		struct peer *p = a->peers;
		a->peers = p->next;
		peer_free(p);
	}
	pthread_mutex_unlock(&a->qlock);
	pthread_mutex_destroy(&a->qlock);
	free(a->routes);
	free(a->endpoints);
	free(a);
}

int graph_service_port(const struct graph_service *a)
{
	return http_server_port(a->srv);
}

const char *graph_service_address(const struct graph_service *a)
{
	return http_server_address(a->srv);
}

struct http_server *graph_service_server(struct graph_service *a)
{
	return a->srv;
}
