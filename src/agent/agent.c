/* agent.c - the agent: its local graph, the topology probes that fill it and
 * the forwarder that mirrors it to the analyzers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/captures.h"
#include "agent/flow_sender.h"
#include "agent/forwarder.h"
#include "agent/ws_link.h"
#include "inject/injector.h"
#include "wire/graph_msg.h"
#include "common/log.h"
#include "topology/topology.h"

struct agent {
	struct graph *g;
	struct topology *topo;
	struct ws_client *link; /* the one WebSocket client of fwd and fs */
	struct forwarder *fwd;
	struct flow_sender *fs;
	struct capmgr *caps;
	struct injector *inj; /* packet injections (injector.h) */
	size_t n_analyzers;
	int started;
};

static char *encode(json_t *msg, size_t pre, size_t *len)
{
	if (!msg)
		return NULL;
	size_t n = json_dumpb(msg, NULL, 0, JSON_COMPACT);
	char *buf = n ? malloc(pre + n + 1) : NULL;
	if (buf) {
		json_dumpb(msg, buf + pre, n, JSON_COMPACT);
		buf[pre + n] = 0;
		*len = n;
	}
	json_decref(msg);
	return buf;
}

char *agent_encode_event(enum graph_event ev, const struct graph_node *n,
			 const struct graph_edge *e, size_t pre, size_t *len)
{
	json_t *obj = e ? graph_edge_to_json(e) : n ? graph_node_to_json(n) : NULL;
	if (!obj)
		return NULL;
	return encode(graph_msg_new(GRAPH_MSG_NAMESPACE, graph_event_name(ev), obj), pre, len);
}

char *agent_encode_sync(json_t *graph, size_t pre, size_t *len)
{
	if (!graph)
		return NULL;
	return encode(graph_msg_new(GRAPH_MSG_NAMESPACE, "Sync", graph), pre, len);
}

static json_t *on_request(void *user, const json_t *msg)
{
	struct agent *a = user;
	const char *ns = json_string_value(json_object_get(msg, "Namespace"));
	if (ns && !strcmp(ns, INJECT_NAMESPACE))
		return injector_handle(a->inj, msg);
	return capmgr_handle(a->caps, msg);
}

struct agent *agent_new(const struct agent_opts *o, char *err, size_t errlen)
{
	if (!o->host_id || !*o->host_id) {
		snprintf(err, errlen, "agent: a host id is required");
		return NULL;
	}
	struct agent *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "agent: out of memory");
		return NULL;
	}
	a->n_analyzers = o->n_analyzers;
	a->g = graph_new(NULL);
	if (!a->g) {
		snprintf(err, errlen, "agent: out of memory");
		goto fail;
	}
	struct topology_opts to = {
		.host_id = o->host_id,
		.netns_run_path = o->netns_run_path,
		.metrics_update_ms = o->metrics_update_ms,
		.host_metadata = o->host_metadata,
		.ovsdb = o->ovsdb,
		.socketinfo_update_ms = o->socketinfo_update_ms,
		.lldp = o->lldp,
		.lldp_interfaces = o->lldp_interfaces,
		.n_lldp_interfaces = o->n_lldp_interfaces,
		.oflow = o->oflow,
		.oflow_versions = o->oflow_versions,
		.oflow_address = o->oflow_address,
		.docker_url = o->docker_url,
		.docker_netns_run_path = o->docker_netns_run_path,
		.runc = o->runc,
		.runc_run_paths = o->runc_run_paths,
		.n_runc_run_paths = o->n_runc_run_paths,
	};
	a->topo = topology_new(a->g, &to, err, errlen);
	if (!a->topo)
		goto fail;
	struct ws_client_opts lo = {
		.host_id = o->host_id,
		.ping_delay_s = o->ping_delay_s,
		.tls = &o->tls,
		.authorization = o->cluster_auth[0] ? o->cluster_auth : NULL,
	};
	a->link = ws_client_new(&lo, err, errlen);
	if (!a->link)
		goto fail;
	struct flow_sender_opts so = {
		.link = a->link,
		.analyzers = o->analyzers,
		.n_analyzers = o->n_analyzers,
		.queue_max = o->flow_queue_max,
	};
	a->fs = flow_sender_new(&so, err, errlen);
	if (!a->fs)
		goto fail;
	struct capmgr_opts co = {
		.g = a->g,
		.fs = a->fs,
		.flow_update_s = o->flow_update_s,
		.flow_expire_s = o->flow_expire_s,
		.max_flows = o->flow_max_entries,
		.stats_update_ms = o->capture_stats_update_ms,
		.capture_workers = o->capture_workers,
		.pcapsocket_bind = o->pcapsocket_bind,
		.pcapsocket_min_port = o->pcapsocket_min_port,
		.pcapsocket_max_port = o->pcapsocket_max_port,
		.sflow_bind = o->sflow_bind,
		.sflow_port_min = o->sflow_port_min,
		.sflow_port_max = o->sflow_port_max,
		.netflow_bind = o->netflow_bind,
		.netflow_port_min = o->netflow_port_min,
		.netflow_port_max = o->netflow_port_max,
		.ovsdb = o->ovsdb,
		.appmap = o->appmap,
		.default_key_mode = o->default_key_mode,
		.ebpf_polling_rate = o->ebpf_polling_rate,
		.arp_timeout_s = o->arp_timeout_s,
		.dns_timeout_s = o->dns_timeout_s,
	};
	a->caps = capmgr_new(&co);
	a->inj = injector_new(a->g);
	if (!a->caps || !a->inj) {
		snprintf(err, errlen, "agent: out of memory");
		goto fail;
	}
	struct forwarder_opts fo = {
		.g = a->g,
		.link = a->link,
		.analyzers = o->analyzers,
		.n_analyzers = o->n_analyzers,
		.queue_max = o->queue_max,
		.on_request = on_request,
		.request_user = a,
		.to_one = 1, /* Skydive's forwarder: the topology to one master analyzer */
	};
	a->fwd = forwarder_new(&fo, err, errlen);
	if (!a->fwd)
		goto fail;
	return a;
fail:
	agent_free(a);
	return NULL;
}

int agent_start(struct agent *a, char *err, size_t errlen)
{
	/* Connections first: the probes' first changes then reach the queue,
	 * and the Sync made at connect time covers whatever came before. */
	int rc = forwarder_start(a->fwd, err, errlen);
	if (rc < 0)
		return rc;
	rc = ws_client_start(a->link, err, errlen);
	if (rc < 0) {
		forwarder_stop(a->fwd);
		return rc;
	}
	a->started = 1;
	rc = topology_start(a->topo, err, errlen);
	if (rc < 0)
		return rc;
	if (!a->n_analyzers)
		log_warn("agent: no analyzer configured; the topology stays local");
	return 0;
}

void agent_stop(struct agent *a)
{
	if (!a || !a->started)
		return;
	/* No more requests, then the captures flush their flows to the flow
	 * channel, which gets a moment to send them. */
	forwarder_stop(a->fwd);
	capmgr_stop(a->caps);
	flow_sender_stop(a->fs);
	/* Closes both channels' connections; no callback runs after it. */
	ws_client_stop(a->link);
	injector_free(a->inj); /* no request can come now: cancels and joins the senders */
	a->inj = NULL;
	topology_stop(a->topo);
	a->started = 0;
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	agent_stop(a);
	ws_client_stop(a->link); /* agent_new failed half-way, or never started */
	forwarder_free(a->fwd);
	capmgr_free(a->caps);
	injector_free(a->inj);
	flow_sender_free(a->fs);
	ws_client_free(a->link);
	topology_free(a->topo);
	graph_free(a->g);
	free(a);
}

struct graph *agent_graph(struct agent *a)
{
	return a->g;
}

void agent_get_stats(struct agent *a, struct agent_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->analyzers = a->n_analyzers;
	forwarder_stats(a->fwd, &out->connected, &out->sent, &out->dropped, &out->syncs);
	out->captures = capmgr_active(a->caps);
	struct flow_sender_stats fs;
	flow_sender_get_stats(a->fs, &fs);
	out->flow_msgs_sent = fs.sent;
	out->flow_msgs_dropped = fs.dropped;
	_Static_assert(TOPOLOGY_LEFT_KINDS == 3, "agent_stats.netlink_left_out");
	topology_left_out(a->topo, out->netlink_left_out);
}

json_t *agent_status(struct agent *a)
{
	struct agent_stats st;
	agent_get_stats(a, &st);
	char buf[300];
	uint64_t sw = 0;
	const char *m = forwarder_master(a->fwd, buf, sizeof(buf), &sw);
	return json_pack("{sI sI sI sI sI sI s:o? sI s:o?}", "Connected", (json_int_t)st.connected,
			 "Sent", (json_int_t)st.sent, "Dropped", (json_int_t)st.dropped, "Syncs",
			 (json_int_t)st.syncs, "FlowMessagesSent", (json_int_t)st.flow_msgs_sent,
			 "FlowMessagesDropped", (json_int_t)st.flow_msgs_dropped, "Master",
			 m ? json_string(m) : json_null(), "MasterSwitches", (json_int_t)sw,
			 "Analyzers", forwarder_status(a->fwd));
}

void agent_status_hook(void *user, json_t *status)
{
	const struct agent_metrics_ctx *c = user;
	json_object_set_new(status, "Agent", agent_status(c->agent));
}
