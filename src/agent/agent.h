/* agent.h - the Skydive agent: a local graph filled by the topology probes,
 * forwarded to every analyzer over /ws/agent/topology (libwebsockets).
 *
 * On each (re)connection the agent sends its whole graph as one "Sync"
 * message, then every change as NodeAdded/NodeUpdated/NodeDeleted/
 * EdgeAdded/EdgeUpdated/EdgeDeleted, in graph order. Each analyzer has a
 * bounded send queue: when it overflows, the queued messages are dropped
 * (and counted) and a fresh Sync replaces them, so the analyzer's copy is
 * never left inconsistent. A lost connection is retried with exponential
 * backoff (200 ms doubling to 5 s). Handshake headers: X-Host-ID,
 * X-Client-Type: agent, X-Client-Protocol: json. */
#ifndef SKYDIVE_AGENT_H
#define SKYDIVE_AGENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/tls.h"
#include "flow/flow.h"
#include "graph/graph.h"

struct agent_opts {
	const char *host_id;		 /* required */
	const char *const *analyzers;	 /* "host:port" each; n_analyzers may be 0 */
	size_t n_analyzers;
	const char *netns_run_path;	 /* NULL = /var/run/netns; "" = no netns probe */
	int64_t metrics_update_ms;	 /* <= 0 = 30 s */
	const json_t *host_metadata;	 /* agent.metadata, may be NULL */
	size_t queue_max;		 /* messages per analyzer; 0 = 10000 */
	int ping_delay_s;		 /* idle seconds before a ping; 0 = 2 */
	const char *ovsdb;		 /* OVSDB target; NULL = the default socket, "" = off */
	int64_t socketinfo_update_ms;	 /* socketinfo probe refresh; <= 0 = no such probe */
	/* LLDP probe (agent.topology.probes names "lldp"): links by name from
	 * agent.topology.lldp.interfaces, none = every UP Ethernet link */
	int lldp;
	const char *const *lldp_interfaces;
	size_t n_lldp_interfaces;
	/* OpenFlow rule probe (ovs.oflow.enable; topology.h): ovs-ofctl's -O list and the
	 * bridge -> switch address map (ovs.oflow.openflow_versions, ovs.oflow.address) */
	int oflow;
	const char *oflow_versions;
	const json_t *oflow_address;
	/* docker probe (agent.topology.probes names "docker"): agent.topology.docker.url,
	 * agent.topology.docker.netns.run_path; NULL url = no docker probe */
	const char *docker_url;
	const char *docker_netns_run_path;
	/* runc probe ("runc"): agent.topology.runc.run_path */
	int runc;
	const char *const *runc_run_paths;
	size_t n_runc_run_paths;
	/* captures (see captures.h, flow_sender.h) */
	uint32_t flow_update_s;		 /* flow.update; 0 = 60 */
	uint32_t flow_expire_s;		 /* flow.expire; 0 = 600 */
	uint32_t flow_max_entries;	 /* flow.max_entries; 0 = 500000 */
	int64_t capture_stats_update_ms; /* agent.capture.stats_update; <= 0 = 1 s */
	size_t flow_queue_max;		 /* flow messages waiting for an analyzer; 0 = 10000 */
	uint32_t capture_workers;	 /* agent.capture.workers (afpacket fanout); 0 = 1 */
	const char *pcapsocket_bind;	 /* agent.flow.pcapsocket.bind_address; NULL = 127.0.0.1 */
	uint16_t pcapsocket_min_port, pcapsocket_max_port; /* min_port/max_port; 0 = 8100/8132 */
	const char *sflow_bind;		 /* agent.flow.sflow.bind_address; NULL = 127.0.0.1 */
	uint16_t sflow_port_min, sflow_port_max; /* port_min/port_max; 0 = 6345/6355 */
	const char *netflow_bind;	 /* agent.flow.netflow.bind_address; NULL = 127.0.0.1 */
	uint16_t netflow_port_min, netflow_port_max; /* port_min/port_max; 0 = 6365/6375 */
	const struct appmap *appmap;	 /* flow.application_ports; NULL = none */
	enum flow_key_mode default_key_mode; /* flow.default_layer_key_mode */
	uint32_t ebpf_polling_rate;	 /* agent.flow.ebpf.polling_rate; 0 = default */
	uint32_t arp_timeout_s, dns_timeout_s; /* flow.application_timeout.arp/dns */
	struct tls_client_conf tls;	 /* links to the analyzers: wss when tls.on */
	/* Authorization header value of both analyzer links ("Basic <base64>", from
	 * agent.auth.cluster.username/password, Skydive's keys); "" = none */
	char cluster_auth[700]; /* BASE64_BASIC_AUTH_MAX */
};

struct agent;
struct appmap;

/* NULL with err filled (missing host id, bad analyzer address, OOM). */
struct agent *agent_new(const struct agent_opts *o, char *err, size_t errlen);
/* Starts the probes and the analyzer connections: 0 or -errno (err filled). */
int agent_start(struct agent *a, char *err, size_t errlen);
/* Stops the connections and the probes; idempotent. */
void agent_stop(struct agent *a);
void agent_free(struct agent *a); /* stops first; NULL is fine */

/* The agent's local graph (owned by the agent). */
struct graph *agent_graph(struct agent *a);

struct agent_stats {
	size_t analyzers, connected;
	uint64_t sent;	  /* messages written */
	uint64_t dropped; /* messages dropped by full queues */
	uint64_t syncs;	  /* full Sync messages sent */
	size_t captures;  /* captures running */
	uint64_t flow_msgs_sent, flow_msgs_dropped; /* flow channel */
	uint64_t netlink_left_out[3]; /* topology_left_out(): routes, neighbours, FDB */
};
void agent_get_stats(struct agent *a, struct agent_stats *out);
/* GET /api/status "Agent": the counters above, "Master" (the analyzer the topology goes
 * to, null when none is connected), "MasterSwitches" and "Analyzers" (per analyzer:
 * Connected, Master, Sent, Dropped, Syncs). New reference (NULL on ENOMEM). */
json_t *agent_status(struct agent *a);
/* graph_service_opts.status for the agent's own API: user is a struct agent_metrics_ctx. */
void agent_status_hook(void *user, json_t *status);
/* GET /metrics (graph_service_opts.metrics, agent_metrics.c): user is a struct
 * agent_metrics_ctx, borrowed for the service's life. */
struct buf;
struct agent_metrics_ctx {
	struct agent *agent;
	const char *host_id;
};
void agent_metrics(void *user, struct buf *b);

/* ---- configuration ---------------------------------------------------- */

struct config;

/* agent_opts from the configuration keys host_id, analyzers,
 * agent.topology.netlink.metrics_update (seconds, fractions allowed),
 * agent.topology.netns.run_path, agent.metadata, http.ws.queue_size,
 * http.ws.ping_delay, ovs.ovsdb, flow.update, flow.expire, flow.max_entries,
 * agent.capture.stats_update (seconds, fractions allowed), agent.capture.workers
 * (1..64), agent.flow.queue_size
 * tls.ca_cert/client_cert/client_key (files checked, see common/tls.h)
 * and agent.topology.probes (the OVSDB probe
 * runs when the list names "ovsdb", as Skydive's default list does; the socketinfo
 * probe when it names "socketinfo", every agent.topology.socketinfo.host_update s; the LLDP
 * probe when it names "lldp", on agent.topology.lldp.interfaces; the docker and
 * runc probes when it names them, on agent.topology.docker.url (unix:// or tcp://),
 * agent.topology.docker.netns.run_path and agent.topology.runc.run_path: a value
 * set but naming no link, or a name no link can have, is refused). The strings point into cfg and into the holder, which
 * must outlive agent_new(). 0, or -EINVAL/-ENOMEM with err filled. */
struct agent_config {
	struct agent_opts opts;
	json_t *analyzers;	  /* the list, owned */
	const char **addrs;	  /* opts.analyzers, owned */
	struct appmap *appmap;	  /* opts.appmap, owned; NULL when none is set */
	json_t *lldp_list;	  /* agent.topology.lldp.interfaces, owned */
	const char **lldp_ifs;	  /* opts.lldp_interfaces, owned */
	char *oflow_versions;	  /* opts.oflow_versions, owned */
	json_t *runc_list;	  /* agent.topology.runc.run_path, owned */
	const char **runc_paths;  /* opts.runc_run_paths, owned */
};
int agent_config_load(struct agent_config *ac, const struct config *cfg, char *err,
		      size_t errlen);
void agent_config_free(struct agent_config *ac);

/* ---- message encoding (pure, unit tested) ------------------------------ */

/* A graph change as the compact JSON text of its envelope
 * {"Namespace":"Graph","Type":"NodeAdded",...,"Obj":{node or edge}}, in a
 * malloc'd buffer with pre bytes of headroom before the text (libwebsockets
 * wants LWS_PRE); *len gets the text length (no NUL counted, one written).
 * NULL on out of memory. */
char *agent_encode_event(enum graph_event ev, const struct graph_node *n,
			 const struct graph_edge *e, size_t pre, size_t *len);
/* The same for a Sync of {"Nodes":[...],"Edges":[...]} (graph stolen). */
char *agent_encode_sync(json_t *graph, size_t pre, size_t *len);

#endif
