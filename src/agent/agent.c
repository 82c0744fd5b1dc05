/* agent.c - the agent: its local graph, the topology probes that fill it and
 * the forwarder that mirrors it to the analyzers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/forwarder.h"
#include "api/graph_msg.h"
#include "common/log.h"
#include "topology/topology.h"

struct agent {
	struct graph *g;
	struct topology *topo;
	struct forwarder *fwd;
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
	};
	a->topo = topology_new(a->g, &to, err, errlen);
	if (!a->topo)
		goto fail;
	struct forwarder_opts fo = {
		.g = a->g,
		.host_id = o->host_id,
		.analyzers = o->analyzers,
		.n_analyzers = o->n_analyzers,
		.queue_max = o->queue_max,
		.ping_delay_s = o->ping_delay_s,
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
	forwarder_stop(a->fwd);
	topology_stop(a->topo);
	a->started = 0;
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	agent_stop(a);
	forwarder_free(a->fwd);
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
}
