/* analyzer.c - the analyzer (analyzer.h): its graph, topology history and flow store, and
 * the services it adds to the graph service: captures, their dispatch, flow ingest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer/analyzer.h"
#include "analyzer/alert.h"
#include "analyzer/alert_action.h"
#include "analyzer/capture_res.h"
#include "analyzer/dispatch.h"
#include "analyzer/flow_ingest.h"
#include "analyzer/flow_live.h"
#include "analyzer/flow_udp.h"
#include "analyzer/graph_service.h"
#include "analyzer/replication.h"
#include "agent/forwarder.h"
#include "agent/ws_link.h"
#include "common/base64.h"
#include "common/tls.h"
#include "analyzer/inject_res.h"
#include "inject/inject_req.h"
#include "analyzer/metrics.h"
#include "cluster/cluster.h"
#include "cluster/etcd_store.h"
#include "analyzer/topo_rules.h"
#include "analyzer/user_topo.h"
#include "common/log.h"
#include "common/util.h"
#include "graph/graph.h"
#include "graph/graph_log.h"
#include "http/server.h"
#include "store/flow_store.h"

struct analyzer {
	struct config *cfg;
	struct repl_owners *repl;     /* peering: who owns each origin (replication.h) */
	struct ws_client *peer_link;  /* peering: our connections to the other analyzers */
	struct forwarder *peer_fwd;   /* what we own, to each of them (/ws/replication) */
	json_t *peer_list;            /* `analyzers:` */
	const char **peer_addrs;      /* the other analyzers in it (strings of peer_list) */
	size_t n_peers;
	struct graph *g;
	struct graph_log *hl;         /* the topology history on disk; NULL: not kept */
	struct flow_store *fs;
	struct gremlin_flow_ops fops; /* G.Flows() over fs */
	struct graph_service *gs;
	struct capture_res *captures; /* /api/capture */
	struct alert_actions *alert_actions; /* webhooks and commands of alerts */
	struct alert_res *alerts;     /* /api/alert */
	struct topo_rules *rules;     /* /api/noderule, /api/edgerule */
	struct dispatch *dispatch;    /* OnDemand captures to agents */
	struct flow_ingest *flows;    /* /ws/agent/flow */
	struct flow_live *live;       /* G.Flows()'s live view (flow_live.h) */
	struct cluster *cluster;      /* etcd (cluster.h); NULL: a single analyzer */
	struct etcd_store *alert_store; /* the alerts in etcd (borrowed: the registry's) */
	struct etcd_store *capture_store; /* the captures in etcd (borrowed: capture_res's) */
	struct user_topo *user_topo;  /* /api/node, /api/edge */
	struct inject_res *inject;    /* /api/injectpacket */
	struct flow_udp *udp;         /* flow.protocol udp: Skydive agents' flows (flow_udp.h) */
	struct http_route routes[8]; /* ended by a zeroed entry */
	struct http_ws_endpoint endpoints[2];
	analyzer_status_fn status_fn;
	void *status_user;
	void (*metrics_fn)(void *user, struct buf *b);
	void *metrics_user;
};

/* One /ws/agent/flow connection. */
struct flow_peer {
	char host_id[128];
	char client_type[32];
	char who[96]; /* "addr:port" */
	int bad_logged; /* a dropped frame was logged */
};

/* ---- /api/capture ------------------------------------------------------- */

/* /api/capture[/<id>] (capture_res.h), on the loop */
static void capture_route(void *user, const struct http_request *req, struct rest_response *out)
{
	struct analyzer *a = user;
	struct capture_res_request cr = {.method = req->method,
	                                 .path = req->path,
	                                 .content_type = req->content_type,
	                                 .ttl = req->kept[0][0] ? req->kept[0] : NULL,
	                                 .body = req->body,
	                                 .body_len = req->body_len};
	capture_res_handle(a->captures, &cr, out);
}

/* /api/alert[/<id>] (alert.h), on the loop: parsing and a small file, no evaluation */
static void alert_route(void *user, const struct http_request *req, struct rest_response *out)
{
	struct analyzer *a = user;
	alert_res_handle(a->alerts, req->method, req->path, req->content_type, req->body,
	                 req->body_len, out);
}

/* /api/noderule[/<id>] and /api/edgerule[/<id>] (topo_rules.h), on the loop: the registry
 * only; the rules are applied on their own thread */
static void noderule_route(void *user, const struct http_request *req, struct rest_response *out)
{
	struct analyzer *a = user;
	topo_rules_handle(a->rules, 0, req->method, req->path, req->content_type, req->body,
	                  req->body_len, out);
}

static void edgerule_route(void *user, const struct http_request *req, struct rest_response *out)
{
	struct analyzer *a = user;
	topo_rules_handle(a->rules, 1, req->method, req->path, req->content_type, req->body,
	                  req->body_len, out);
}

/* /api/node[/<ID>], /api/edge[/<ID>] (user_topo.h), on a query worker: a listing costs
 * the graph's size and a write may wait for the graph's writer side */
static void user_topo_route(void *user, const struct http_request *req, struct rest_response *out)
{
	struct analyzer *a = user;
	user_topo_handle(a->user_topo, req->method, req->path, req->content_type, req->body,
	                 req->body_len, out);
}

/* /api/injectpacket[/<id>] (inject_res.h): POST on a query worker (Gremlin) */
static void inject_route(void *user, const struct http_request *req, struct rest_response *out)
{
	struct analyzer *a = user;
	inject_res_handle(a->inject, req->method, req->path, req->content_type, req->body,
	                  req->body_len, req->kept[0][0] ? req->kept[0] : NULL, out);
}

static void inject_tick(void *user)
{
	struct analyzer *a = user;
	inject_res_tick(a->inject, rest_now_ms());
}

/* alert_broadcast_fn: alert messages to the WebSocket subscribers (any thread) */
static void alert_broadcast(void *user, json_t *msg)
{
	struct analyzer *a = user;
	graph_service_broadcast(a->gs, msg);
}

/* Deletes captures whose X-Resource-TTL ended; runs on the loop twice a second. */
static void capture_tick(void *user)
{
	struct analyzer *a = user;
	capture_res_expire(a->captures, rest_now_ms());
}

/* capture_res_counts_fn: Count = nodes where the agent reports the capture active. */
static json_t *capture_counts(void *user)
{
	struct analyzer *a = user;
	return dispatch_capture_counts(a->g);
}

/* ---- dispatch (graph_service_opts hooks) --------------------------------- */

/* dispatch_send_fn: queues an OnDemand message on the agent's topology connection. */
static int dispatch_send(void *user, const char *host, json_t *msg)
{
	struct analyzer *a = user;
	return graph_service_send_agent(a->gs, host, msg);
}

/* Runs the capture dispatch when something changed (at most every 200 ms). */
static void dispatch_tick(void *user)
{
	struct analyzer *a = user;
	dispatch_poll(a->dispatch, rest_now_ms());
}

static void agent_up(void *user, const char *host)
{
	struct analyzer *a = user;
	if (a->dispatch)
		dispatch_agent_up(a->dispatch, host);
}

static void agent_down(void *user, const char *host)
{
	struct analyzer *a = user;
	if (a->dispatch)
		dispatch_agent_down(a->dispatch, host);
}

static void agent_reply(void *user, const char *host, const json_t *msg)
{
	struct analyzer *a = user;
	const char *ns = json_string_value(json_object_get(msg, "Namespace"));
	if (ns && !strcmp(ns, INJECT_NAMESPACE)) {
		if (a->inject)
			inject_res_reply(a->inject, host, msg);
	} else if (a->dispatch) {
		dispatch_reply(a->dispatch, host, msg);
	}
}

/* ---- /ws/agent/flow ------------------------------------------------------ */

static int flow_check(void *user, int kind, struct http_ws_req *r, char *why, size_t whylen)
{
	char host[128];
	/* flow frames are protobuf whatever X-Client-Protocol says */
	if (!http_ws_req_header(r, "X-Host-ID", host, sizeof(host))) {
		snprintf(why, whylen, "/ws/agent/flow needs the X-Host-ID header");
		return 400;
	}
	return 0;
}

static int flow_open(void *user, struct http_ws *ws, int kind, void **peer)
{
	const struct http_ws_info *info = http_ws_info(ws);
	struct flow_peer *p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	http_ws_header(ws, "X-Host-ID", p->host_id, sizeof(p->host_id));
	if (!http_ws_header(ws, "X-Client-Type", p->client_type, sizeof(p->client_type)))
		snprintf(p->client_type, sizeof(p->client_type), "agent");
	for (char *c = p->client_type; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	snprintf(p->who, sizeof(p->who), "%s:%d", info->remote, info->remote_port);
	http_ws_set_name(ws, p->host_id);
	*peer = p;
	log_info("api: %s %s connected to %s from %s", p->client_type, p->host_id, info->path,
	         p->who);
	return 0;
}

/* One binary frame: a copy queued for the flow-ingest thread, which decodes, stores and
 * counts it (flow_ingest.h); a full queue drops it (counted in Flows.IngestQueue), logged
 * once per connection, and the connection kept. */
static int flow_message(void *user, struct http_ws *ws, void *peer, struct http_ws_msg *msg)
{
	struct analyzer *a = user;
	struct flow_peer *p = peer;
	int rc = flow_ingest_submit(a->flows, p->host_id, p->who, (const uint8_t *)msg->data,
	                            msg->len, rest_now_ms());
	if ((rc == -ENOBUFS || rc == -ENOMEM) && !p->bad_logged) {
		p->bad_logged = 1;
		log_warn("api: flow frame from agent %s (%s) dropped: %s (counted in /api/status "
		         "Flows.IngestQueue.Dropped: see analyzer.flow_queue and "
		         "analyzer.flow_queue_bytes; further ones from this connection are not "
		         "logged)",
		         p->host_id, p->who,
		         rc == -ENOBUFS ? "the flow-ingest queue is full" : "out of memory");
	}
	return 0;
}

static void flow_close(void *user, struct http_ws *ws, void *peer)
{
	struct flow_peer *p = peer;
	if (!p)
		return;
	log_info("api: %s %s disconnected", p->client_type, p->host_id);
	free(p);
}

/* ---- status ------------------------------------------------------------- */

/* The dispatch's Captures, the flows' (ingest, store), the topology history, then the
 * caller's hook. */
static void analyzer_status(void *user, json_t *s)
{
	struct analyzer *a = user;
	if (a->peer_fwd && json_is_object(json_object_get(s, "Peers")))
		json_object_set_new(json_object_get(s, "Peers"), "Outgoers",
		                    forwarder_status(a->peer_fwd));
	if (a->dispatch) {
		json_t *d = dispatch_status_json(a->dispatch);
		if (d)
			json_object_update(json_object_get(s, "Captures"), d);
		json_decref(d);
		/* Skydive's "Captures": {"IsMaster"}: whether this one dispatches them */
		struct dispatch_stats ds;
		dispatch_stats(a->dispatch, &ds);
		json_object_set_new(json_object_get(s, "Captures"), "IsMaster",
		                    json_boolean(ds.is_master));
	}
	if (a->flows)
		flow_ingest_status_hook(a->flows, s);
	if (a->udp && json_is_object(json_object_get(s, "Flows")))
		json_object_set_new(json_object_get(s, "Flows"), "UDP", flow_udp_status(a->udp));
	flow_store_status_hook(a->fs, s);
	json_object_set_new(s, "TopologyHistory", graph_log_status(a->hl));
	if (a->alerts)
		json_object_set_new(s, "Alerts", alert_res_status(a->alerts));
	if (a->cluster)
		json_object_set_new(s, "Cluster", cluster_status(a->cluster));
	if (a->rules)
		json_object_set_new(s, "Rules", topo_rules_status(a->rules));
	if (a->inject)
		json_object_set_new(s, "Injections", inject_res_status(a->inject));
	if (a->status_fn)
		a->status_fn(a->status_user, s);
}

/* GET /metrics: the flows' (ingest, store) and the topology history (metrics.h) */
static void analyzer_metrics(void *user, struct buf *b)
{
	struct analyzer *a = user;
	const char *host = config_get_string(a->cfg, "host_id", "localhost");
	metrics_analyzer(b, host, a->flows, a->fs, a->hl);
	if (a->dispatch) {
		struct dispatch_stats ds;
		dispatch_stats(a->dispatch, &ds);
		metrics_dispatch(b, host, &ds);
	}
	if (a->alerts)
		alert_res_metrics(a->alerts, b, host);
	if (a->metrics_fn)
		a->metrics_fn(a->metrics_user, b);
}

/* ---- cluster (etcd: cluster.h, docs/DEPLOY.md) --------------------------- */

/* cluster_master_fn of Skydive's /elections/alert-server: only its holder evaluates. */
static void alert_master(void *user, int is_master)
{
	struct analyzer *a = user;
	alert_res_set_active(a->alerts, is_master);
}

/* The alerts' store: etcd in a cluster (*store filled, 1), else alerts.json (0). */
static int cluster_alert_store(struct analyzer *a, struct res_store *store)
{
	if (!a->cluster)
		return 0;
	if (etcd_store_new(cluster_etcd(a->cluster), "alert", store, &a->alert_store))
		return -1;
	return 1;
}

/* The captures in etcd (a cluster): /capture/<UUID>, every analyzer serving the same
 * set; the holder of Skydive's /elections/ondemand-client-capture dispatches them to the
 * agents (dispatch.h); agents connect to every analyzer, so the one elected reaches them. */
static int capture_apply(void *user, enum res_event ev, const char *uuid, const json_t *obj)
{
	return capture_res_apply(user, ev, uuid, obj);
}

static int capture_foreach(void *user, int (*fn)(void *u, const char *uuid, const json_t *obj),
                           void *u)
{
	return capture_res_foreach_entry(user, fn, u);
}

static int cluster_capture_store(struct analyzer *a, char *err, size_t errlen)
{
	if (!a->cluster)
		return 0;
	struct res_store st;
	int rc = etcd_store_new(cluster_etcd(a->cluster), "capture", &st, &a->capture_store);
	if (!rc)
		rc = capture_res_use_store(a->captures, st);
	if (rc) {
		a->capture_store = NULL;
		snprintf(err, errlen, "cannot keep the captures in etcd: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

/* cluster_master_fn of /elections/ondemand-client-capture: only its holder dispatches. */
static void capture_master(void *user, int is_master)
{
	struct analyzer *a = user;
	dispatch_set_active(a->dispatch, is_master);
}

/* dispatch_clustered's ready: the captures read from etcd (a dispatcher elected before
 * they are would take every running capture for a deleted one). */
static int captures_synced(void *user)
{
	struct analyzer *a = user;
	return etcd_store_synced(a->capture_store);
}

/* After the alerts are loaded: their watch, the elections, the registration. */
static int cluster_begin(struct analyzer *a, char *err, size_t errlen)
{
	if (!a->cluster)
		return 0;
	alert_res_set_active(a->alerts, 0); /* until elected */
	dispatch_clustered(a->dispatch, captures_synced, a);
	int rc = etcd_store_start(a->alert_store, alert_res_registry(a->alerts));
	struct etcd_store_target ct = {capture_apply, capture_foreach, a->captures};
	if (!rc)
		rc = etcd_store_start_target(a->capture_store, &ct);
	if (!rc && (cluster_elect(a->cluster, "alert-server", alert_master, a) < 0 ||
	            cluster_elect(a->cluster, "ondemand-client-capture", capture_master, a) < 0))
		rc = -ENOSPC;
	char host[256], addr[300];
	int p;
	if (config_split_addr(analyzer_address(a), host, sizeof(host), &p) < 0)
		host[0] = 0;
	snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
	         analyzer_port(a));
	if (!rc)
		rc = cluster_start(a->cluster, addr);
	if (rc)
		snprintf(err, errlen, "cannot start the cluster threads: %s", strerror(-rc));
	else
		log_info("cluster: alerts and captures kept in etcd (docs/DEPLOY.md)");
	return rc ? -1 : 0;
}

/* ---- life cycle ---------------------------------------------------------- */

/* The graph, its history log, the flow store. 0 or -1 with err filled. */
static int stores_open(struct analyzer *a, char *err, size_t errlen)
{
	struct graph_opts go;
	struct graph_log_opts lo;
	struct flow_store_opts fso;
	char hdir[4096], lerr[1024];
	if (graph_log_config(a->cfg, &go, &lo, hdir, sizeof(hdir), err, errlen))
		return -1;
	if (!(a->g = graph_new(&go))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* replayed before any agent connects; an unwritable directory only costs the log */
	if (lo.dir && !(a->hl = graph_log_open(a->g, &lo, (int64_t)(time_now_ns() / 1000000),
	                                       lerr, sizeof(lerr))))
		log_warn("topology history not kept on disk: %s", lerr);
	if (flow_store_opts_from_config(a->cfg, &fso, err, errlen))
		return -1;
	if (!(a->fs = flow_store_new(&fso))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	flow_store_gremlin_ops(a->fs, &a->fops);
	return 0;
}

/* Captures, their dispatch, flow ingest; after the port is bound (a conflict is reported
 * first). 0 or -1 with err filled. */
static int services_start(struct analyzer *a, char *err, size_t errlen)
{
	struct config *cfg = a->cfg;
	struct http_server *srv = graph_service_server(a->gs);
	a->captures =
	    capture_res_new(config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive"), a->g);
	if (!a->captures) {
		snprintf(err, errlen, "out of memory loading the captures");
		return -1;
	}
	if (cluster_capture_store(a, err, errlen)) /* a cluster: etcd's set, not captures.json */
		return -1;
	capture_tick(a); /* those whose TTL ended while we were down */
	capture_res_set_counts(a->captures, capture_counts, a);
	a->dispatch = dispatch_new(a->g, a->captures, dispatch_send, a);
	if (!a->dispatch || !(a->flows = flow_ingest_new(a->fs))) {
		snprintf(err, errlen, "out of memory creating the capture dispatch");
		return -1;
	}
	/* packet injections go out on the same agent connections (inject_res.h) */
	if (!(a->inject = inject_res_new(a->g, a->cfg, dispatch_send, a, err, errlen)))
		return -1;
	{ /* G.Flows() without At(): the agents' live flows (flow_live.h) */
		struct flow_store_live hook;
		if (!(a->live = flow_live_new(a->g, a->captures))) {
			snprintf(err, errlen, "out of memory creating the live flow view");
			return -1;
		}
		flow_live_hook(a->live, NULL, &hook);
		flow_store_set_live(a->fs, &hook);
	}
	int64_t mh = config_get_int(cfg, "analyzer.flow.stats_max_hosts", 0);
	int64_t mc = config_get_int(cfg, "analyzer.flow.stats_max_captures", 0);
	flow_ingest_set_limits(a->flows, mh > 0 ? (size_t)mh : 0, mc > 0 ? (size_t)mc : 0);
	int64_t fq = config_get_int(cfg, "analyzer.flow_queue", FLOW_INGEST_QUEUE);
	int64_t fb = config_get_int(cfg, "analyzer.flow_queue_bytes", FLOW_INGEST_QUEUE_BYTES);
	if (fq < 1 || fb < 1) {
		snprintf(err, errlen,
		         "analyzer.flow_queue %lld or analyzer.flow_queue_bytes %lld must be >= 1",
		         (long long)fq, (long long)fb);
		return -1;
	}
	if (flow_ingest_start(a->flows, (size_t)fq, (size_t)fb, err, errlen))
		return -1;
	{ /* Skydive agents send flows over UDP by default (flow/server/flow_server.go): on our
	   * own address and port when asked; ours use /ws/agent/flow either way */
		const char *fp = config_get_string(cfg, "flow.protocol", "websocket");
		if (!strcasecmp(fp, "udp")) {
			char host[256];
			int port;
			if (config_split_addr(analyzer_address(a), host, sizeof(host), &port) < 0)
				host[0] = 0;
			if (!(a->udp = flow_udp_start(a->flows, host, analyzer_port(a), err, errlen)))
				return -1;
		} else if (strcasecmp(fp, "websocket")) {
			snprintf(err, errlen, "flow.protocol '%.40s': websocket or udp", fp);
			return -1;
		}
	}
	{ /* alerts: their actions' sender, then the registry and its evaluation thread */
		int64_t aq = config_get_int(cfg, "analyzer.alert.action_queue", 1000);
		int64_t at = config_get_int(cfg, "analyzer.alert.action_attempts", 3);
		int64_t ato = config_get_duration(cfg, "analyzer.alert.action_timeout", 5000);
		if (aq < 1 || at < 1 || ato < 1) {
			snprintf(err, errlen,
			         "analyzer.alert.action_queue %lld, analyzer.alert.action_attempts "
			         "%lld and analyzer.alert.action_timeout must be >= 1",
			         (long long)aq, (long long)at);
			return -1;
		}
		a->alert_actions = alert_actions_new((size_t)aq, (int)at, 500, ato);
		struct res_store st;
		int in_etcd = cluster_alert_store(a, &st);
		if (a->alert_actions && in_etcd >= 0)
			a->alerts = alert_res_new_store(
			    config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive"),
			    in_etcd ? &st : NULL, a->g, &a->fops, cfg, a->alert_actions,
			    alert_broadcast, a);
		if (!a->alerts) {
			snprintf(err, errlen, "out of memory loading the alerts");
			return -1;
		}
		int rc = alert_actions_start(a->alert_actions);
		if (!rc)
			rc = alert_res_start(a->alerts);
		if (rc) {
			snprintf(err, errlen, "cannot start the alert threads: %s", strerror(-rc));
			return -1;
		}
	}
	a->user_topo = user_topo_new(config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive"),
	                             a->g, config_get_string(cfg, "host_id", "localhost"), err,
	                             errlen);
	if (!a->user_topo)
		return -1;
	/* node and edge rules: their registries, then the thread applying them */
	a->rules = topo_rules_new(config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive"),
	                          a->g, cfg);
	if (!a->rules || topo_rules_start(a->rules)) {
		snprintf(err, errlen, "cannot load or start the node and edge rules");
		return -1;
	}
	if (cluster_begin(a, err, errlen))
		return -1;
	dispatch_tick(a);
	if (capture_res_startup(a->captures, cfg, err, errlen)) /* analyzer.startup */
		return -1;
	if (http_server_every(srv, 500, capture_tick, a) ||
	    http_server_every(srv, 100, dispatch_tick, a) ||
	    http_server_every(srv, 100, inject_tick, a)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

struct analyzer *analyzer_new(struct config *cfg, char *err, size_t errlen)
{
	struct analyzer *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	if (stores_open(a, err, errlen) || cluster_new(cfg, &a->cluster, err, errlen))
		goto fail;
	a->routes[0] = (struct http_route){.path = "/api/capture",
	                                   .flags = HTTP_ROUTE_PREFIX | HTTP_ROUTE_JSON |
	                                            HTTP_ROUTE_YAML,
	                                   .keep = {"x-resource-ttl:"},
	                                   .handle = capture_route,
	                                   .user = a};
	a->routes[1] = (struct http_route){.path = "/api/alert",
	                                   .flags = HTTP_ROUTE_PREFIX | HTTP_ROUTE_JSON |
	                                            HTTP_ROUTE_YAML,
	                                   /* in a cluster a change waits for etcd */
	                                   .worker_methods = a->cluster ? "POST DELETE" : NULL,
	                                   .handle = alert_route,
	                                   .user = a};
	a->routes[2] = (struct http_route){.path = "/api/noderule",
	                                   .flags = HTTP_ROUTE_PREFIX | HTTP_ROUTE_JSON |
	                                            HTTP_ROUTE_YAML,
	                                   .handle = noderule_route,
	                                   .user = a};
	a->routes[3] = (struct http_route){.path = "/api/edgerule",
	                                   .flags = HTTP_ROUTE_PREFIX | HTTP_ROUTE_JSON |
	                                            HTTP_ROUTE_YAML,
	                                   .handle = edgerule_route,
	                                   .user = a};
	for (int i = 4; i < 6; i++) /* Skydive's node and edge handlers (user_topo.h) */
		a->routes[i] = (struct http_route){.path = i == 4 ? "/api/node" : "/api/edge",
		                                   .flags = HTTP_ROUTE_PREFIX | HTTP_ROUTE_JSON |
		                                            HTTP_ROUTE_YAML,
		                                   .worker_methods = "GET POST PATCH DELETE",
		                                   .handle = user_topo_route,
		                                   .user = a};
	a->routes[6] = (struct http_route){.path = "/api/injectpacket",
	                                   .flags = HTTP_ROUTE_PREFIX | HTTP_ROUTE_JSON |
	                                            HTTP_ROUTE_YAML,
	                                   .keep = {"x-resource-ttl:"},
	                                   .worker_methods = "POST",
	                                   .handle = inject_route,
	                                   .user = a};
	{ /* the list ends at a zeroed entry: close the holes of slots left empty */
		size_t n = 0, nr = sizeof(a->routes) / sizeof(a->routes[0]);
		for (size_t i = 0; i < nr; i++)
			if (a->routes[i].handle)
				a->routes[n++] = a->routes[i];
		memset(&a->routes[n], 0, (nr - n) * sizeof(a->routes[0]));
	}
	a->endpoints[0] = (struct http_ws_endpoint){.path = "/ws/agent/flow",
	                                            .binary = 1,
	                                            .user = a,
	                                            .check = flow_check,
	                                            .open = flow_open,
	                                            .message = flow_message,
	                                            .close = flow_close};
	int64_t rexp = config_get_int(cfg, "analyzer.replication.expire", REPL_EXPIRE_S);
	if (rexp < 1) {
		snprintf(err, errlen, "analyzer.replication.expire: %lld is not a number of seconds "
		         ">= 1", (long long)rexp);
		goto fail;
	}
	a->repl = repl_owners_new();
	if (!a->repl) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	struct graph_service_opts o = {.service = "analyzer",
	                               .repl = a->repl,
	                               .repl_expire_ms = rexp * 1000,
	                               .flow_ops = &a->fops,
	                               .routes = a->routes,
	                               .endpoints = a->endpoints,
	                               .user = a,
	                               .agent_up = agent_up,
	                               .agent_down = agent_down,
	                               .agent_namespace = DISPATCH_NAMESPACE,
	                               .agent_reply = agent_reply,
	                               .status = analyzer_status,
	                               .metrics = analyzer_metrics};
	a->gs = graph_service_new(cfg, a->g, &o, err, errlen);
	if (!a->gs || services_start(a, err, errlen))
		goto fail;
	return a;
fail:
	analyzer_stop(a);
	return NULL;
}

/* An `analyzers:` entry that is this analyzer: its port, on a loopback, unspecified or
 * our own listen host (the server also refuses our own host ID: 409). */
static int is_self(const struct analyzer *a, const char *addr)
{
	char host[256], own[256];
	int port, oport;
	if (config_split_addr(addr, host, sizeof(host), &port) < 0)
		return 0;
	if (config_split_addr(analyzer_address(a), own, sizeof(own), &oport) < 0)
		own[0] = 0;
	if (port != analyzer_port(a))
		return 0;
	return !host[0] || !strcmp(host, own) || !strcmp(host, "127.0.0.1") ||
	       !strcmp(host, "localhost") || !strcmp(host, "::1") || !strcmp(host, "0.0.0.0");
}

/* Peering (replication.h): every other analyzer of `analyzers:` gets a connection to its
 * /ws/replication carrying what we own, as Skydive's analyzer does
 * (analyzer/server.go: its ReplicationPeers are config.GetAnalyzerServiceAddresses()). */
static int peering_start(struct analyzer *a, char *err, size_t errlen)
{
	/* the file's or SKYDIVE_ANALYZERS; the built-in default (the agents' 127.0.0.1:8082)
	 * names no peer: an analyzer on another port must not peer with whatever listens
	 * there */
	a->peer_list = config_get_list(a->cfg, "analyzers", NULL);
	size_t n = json_array_size(a->peer_list);
	if (!n || (n == 1 && !strcmp(json_string_value(json_array_get(a->peer_list, 0)) ?: "",
	                             "127.0.0.1:8082")))
		return 0;
	a->peer_addrs = calloc(n, sizeof(*a->peer_addrs));
	if (!a->peer_addrs)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a->peer_list, i));
		if (s && *s && !is_self(a, s))
			a->peer_addrs[a->n_peers++] = s;
	}
	if (!a->n_peers)
		return 0;
	struct tls_client_conf tls;
	if (tls_client_conf_load(&tls, a->cfg, err, errlen))
		return -EINVAL;
	/* with the cluster credentials the peers' cluster backend checks (auth.h) */
	char authz[BASE64_BASIC_AUTH_MAX] = "";
	const char *cu = config_get_string(a->cfg, "analyzer.auth.cluster.username", NULL);
	const char *cp = config_get_string(a->cfg, "analyzer.auth.cluster.password", "");
	if (cu && *cu && base64_basic_auth(authz, cu, cp, "analyzer.auth.cluster", err, errlen))
		return -EINVAL;
	struct ws_client_opts lo = {.host_id = config_get_string(a->cfg, "host_id", "localhost"),
	                            .tls = &tls,
	                            .authorization = authz[0] ? authz : NULL,
	                            .client_type = "analyzer",
	                            .role = "analyzer"};
	a->peer_link = ws_client_new(&lo, err, errlen);
	explicit_bzero(authz, sizeof(authz));
	if (!a->peer_link)
		return -ENOMEM;
	struct forwarder_opts fo = {.g = a->g,
	                            .link = a->peer_link,
	                            .analyzers = a->peer_addrs,
	                            .n_analyzers = a->n_peers,
	                            .path = "/ws/replication",
	                            .label = "replication channel",
	                            .keep = repl_keep,
	                            .keep_user = a->repl};
	a->peer_fwd = forwarder_new(&fo, err, errlen);
	if (!a->peer_fwd || forwarder_start(a->peer_fwd, err, errlen) ||
	    ws_client_start(a->peer_link, err, errlen))
		return -EINVAL;
	log_info("analyzer: replicating to %zu peer analyzer(s)", a->n_peers);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int analyzer_start(struct analyzer *a)
{
	int rc = graph_service_start(a->gs);
	if (rc)
		return rc;
	char err[512];
	if (peering_start(a, err, sizeof(err))) {
		log_error("analyzer: peering: %s", err);
		return -EINVAL;
	}
	return 0;
}

void analyzer_stop(struct analyzer *a)
{
	if (!a)
		return;
	/* our peers' links first (their listener is on the graph) */
	forwarder_stop(a->peer_fwd);
	ws_client_stop(a->peer_link);
	forwarder_free(a->peer_fwd);
	ws_client_free(a->peer_link);
	free(a->peer_addrs);
	json_decref(a->peer_list);
	/* connections first (their close needs the dispatch), then what they fed */
	graph_service_stop(a->gs);
	flow_udp_stop(a->udp); /* before the ingest it feeds */
	etcd_store_stop(a->capture_store); /* its watch tells the dispatch */
	flow_ingest_free(a->flows);
	if (a->live) {
		flow_store_set_live(a->fs, NULL);
		flow_live_free(a->live);
	}
	topo_rules_free(a->rules); /* before the graph it writes */
	inject_res_free(a->inject);
	user_topo_free(a->user_topo);
	etcd_store_stop(a->alert_store); /* no remote change applied from now on */
	cluster_free(a->cluster);        /* revokes our lease: another analyzer takes over */
	/* after the cluster's thread: its election callback tells the dispatch */
	dispatch_free(a->dispatch);
	alert_res_free(a->alerts); /* before the graph and flow store it reads */
	alert_actions_free(a->alert_actions);
	capture_res_free(a->captures);
	flow_store_free(a->fs);
	graph_log_close(a->hl, (int64_t)(time_now_ns() / 1000000));
	graph_free(a->g);
	repl_owners_free(a->repl);
	free(a);
}

int analyzer_port(const struct analyzer *a)
{
	return graph_service_port(a->gs);
}

const char *analyzer_address(const struct analyzer *a)
{
	return graph_service_address(a->gs);
}

void analyzer_set_status_hook(struct analyzer *a, analyzer_status_fn fn, void *user)
{
	a->status_fn = fn;
	a->status_user = user;
}

void analyzer_set_metrics_hook(struct analyzer *a, void (*fn)(void *user, struct buf *b),
                               void *user)
{
	a->metrics_fn = fn;
	a->metrics_user = user;
}

int analyzer_local_agent_config(const struct analyzer *a, struct config *cfg)
{
	/* The agent talks to the analyzer's real port (which may have been picked by the
	 * kernel), on loopback when it listens on every address. */
	char host[256], local[300];
	int port = analyzer_port(a), p;
	if (config_split_addr(analyzer_address(a), host, sizeof(host), &p) < 0)
		host[0] = 0;
	if (!host[0] || !strcmp(host, "0.0.0.0"))
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (!strcmp(host, "::"))
		snprintf(host, sizeof(host), "::1");
	if (strchr(host, ':'))
		snprintf(local, sizeof(local), "[%s]:%d", host, port);
	else
		snprintf(local, sizeof(local), "%s:%d", host, port);
	if (config_set(cfg, "analyzers", json_pack("[s]", local)))
		return -ENOMEM;
	/* The in-process agent logs in with analyzer.auth.cluster.username/password, as
	 * Skydive's allinone (cmd/allinone/allinone.go), unless agent.auth.cluster is set. */
	static const char *const cred_keys[][2] = {
	    {"agent.auth.cluster.username", "analyzer.auth.cluster.username"},
	    {"agent.auth.cluster.password", "analyzer.auth.cluster.password"}};
	const char *own = config_get_string(cfg, cred_keys[0][0], NULL);
	for (size_t k = 0; k < 2 && !(own && *own); k++) {
		const char *v = config_get_string(cfg, cred_keys[k][1], NULL);
		if (v && config_set_string(cfg, cred_keys[k][0], v))
			return -ENOMEM;
	}
	return 0;
}
