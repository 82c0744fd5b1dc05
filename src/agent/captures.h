/* captures.h - the agent's captures: OnDemand Start/Stop requests from the
 * analyzer (docs/API.md, "Agent protocol"), one worker per (capture, node)
 * running a live capture (afpacket or pcap; pcapsocket, sflow; ovssflow and
 * ovsmirror through ovs_capture.h; ovsnetflow, OVS's NetFlow records, through
 * ovs_capture.h and netflow_collector.h; ebpf, flows counted in the kernel,
 * through ebpf_capture.h) inside the node's network
 * namespace into a flow table (afpacket: capture_workers threads sharing a
 * PACKET_FANOUT group, a table each), flows and Stats sent as protobuf through
 * the flow sender, and the node's `Captures` metadata kept up to date. */
#ifndef SKYDIVE_CAPTURES_H
#define SKYDIVE_CAPTURES_H

#include <jansson.h>
#include <stdint.h>

#include "agent/flow_sender.h"
#include "flow/appmap.h"
#include "flow/flow.h"
#include "graph/graph.h"

struct capmgr_opts {
	struct graph *g;          /* the agent graph (borrowed) */
	struct flow_sender *fs;   /* borrowed; may be NULL (flows are dropped) */
	uint32_t flow_update_s;   /* flow.update; 0 = 60 */
	uint32_t flow_expire_s;   /* flow.expire; 0 = 600 */
	uint32_t max_flows;       /* flow.max_entries; 0 = 500000 */
	int64_t stats_update_ms;  /* agent.capture.stats_update; <= 0 = 1 s */
	/* agent.capture.workers: lanes per (capture, node) for afpacket captures,
	 * sharing one PACKET_FANOUT hash group, each with its own flow table;
	 * 0/1 = one; at most CAPMGR_MAX_WORKERS. pcap captures always use one. */
	uint32_t capture_workers;
	/* agent.flow.pcapsocket: listener address and port range (capture.h, pcapsocket) */
	const char *pcapsocket_bind; /* NULL = 127.0.0.1 */
	uint16_t pcapsocket_min_port, pcapsocket_max_port; /* 0 = 8100, 8132 */
	/* agent.flow.sflow: collector address and port range (capture.h, sflow) */
	const char *sflow_bind; /* NULL = 127.0.0.1 */
	uint16_t sflow_port_min, sflow_port_max; /* 0 = 6345, 6355 */
	/* agent.flow.netflow: collector address and port range (netflow_collector.h) */
	const char *netflow_bind; /* NULL = 127.0.0.1 */
	uint16_t netflow_port_min, netflow_port_max; /* 0 = 6365, 6375 */
	/* ovs.ovsdb, for ovssflow/ovsmirror (ovs_capture.h): NULL = the default
	 * socket, "" = off (those types then fail) */
	const char *ovsdb;
	/* flow.application_ports (borrowed, may be NULL), flow.default_layer_key_mode
	 * (a capture without LayerKeyMode), agent.flow.ebpf.polling_rate (kernel
	 * entries read per second; 0 = EBPF_CAPTURE_POLLING_RATE) */
	const struct appmap *appmap;
	enum flow_key_mode default_key_mode;
	uint32_t ebpf_polling_rate;
	uint32_t arp_timeout_s, dns_timeout_s; /* flow.application_timeout.arp/dns; 0 = 10 */
};

#define CAPMGR_MAX_WORKERS 64

struct capmgr;

struct capmgr *capmgr_new(const struct capmgr_opts *o);
/* Stops every capture (their flows are flushed to the sender) and removes
 * their metadata; idempotent. */
void capmgr_stop(struct capmgr *m);
void capmgr_free(struct capmgr *m); /* stops first; NULL is fine */

/* Handles one OnDemand request {"Namespace":"OnDemand","Type":"Start"|"Stop",
 * "UUID","Obj":{"NodeID","Resource"}} and returns the reply envelope (same
 * Namespace, Type and UUID, "Status" and, on error, "Obj":{"Error"}), new
 * reference. Call with no graph lock held (it takes it, and joins workers). */
json_t *capmgr_handle(struct capmgr *m, const json_t *msg);

/* Captures running now (workers in state active). */
size_t capmgr_active(struct capmgr *m);

#endif
