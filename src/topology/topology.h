/* topology.h - the agent's topology probes: host, netlink (one per network
 * namespace) and netns (inotify on the run path); they fill a struct graph.
 *
 * Nodes the probes make, as Skydive draws them:
 *   host   (Type "host", Name = host id, OS/kernel/CPU metadata)
 *   netns  (Type "netns", Name = file name under the run path, Path)
 *   one node per link of each namespace (Type veth/bridge/device/..., IfIndex,
 *   MAC, MTU, State, Driver, EncapType, IPV4/IPV6, Metric, LastUpdateMetric...)
 * and edges: host->netns, host->root-ns links, netns->its links (ownership),
 * master->port (layer2), vlan parent->vlan (layer2, Type vlan), veth peers
 * (layer2, Type veth, also across namespaces).
 *
 * IDs: every node's ID is its TID, a name-based UUID (see topology_tid) so a
 * restarted agent keeps its IDs; edges get IDs derived from their ends.
 *
 * Threads: topology_start() starts one thread per namespace and one inotify
 * thread; they take graph_lock() around every batch of mutations. */
#ifndef SKYDIVE_TOPOLOGY_H
#define SKYDIVE_TOPOLOGY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

struct topology_opts {
	const char *host_id;	/* required: Name of the host node, Host of every element */
	const char *origin;	/* Origin of every element; NULL = "agent.<host_id>" */
	const char *netns_run_path; /* NULL = /var/run/netns; "" = no netns probe */
	int64_t metrics_update_ms;  /* interface counters refresh; <= 0 = 30 s */
	const json_t *host_metadata; /* extra keys for the host node (agent.metadata); may be NULL */
};

struct topology;

/* NULL with err filled (bad options, out of memory). The graph is borrowed
 * and must outlive the topology. */
struct topology *topology_new(struct graph *g, const struct topology_opts *o, char *err,
			      size_t errlen);
/* Adds the host node and starts the probes: 0 or -errno (err filled). */
int topology_start(struct topology *t, char *err, size_t errlen);
/* Stops and joins every probe thread; the graph keeps the nodes. Idempotent. */
void topology_stop(struct topology *t);
void topology_free(struct topology *t); /* stops first; NULL is fine */

/* ID of the host node (valid for the topology's life). */
const char *topology_host_node_id(const struct topology *t);

/* ---- pure helpers (unit tested) ---------------------------------------- */

#define TOPOLOGY_ID_LEN 37 /* 36 characters and the NUL */

/* A UUID-formatted ID from XXH128 of the parts joined by '/': stable across
 * runs and machines, but not the value Skydive computes (Skydive uses a
 * SHA1-based UUIDv5 of its own inputs). The version nibble is 8 (RFC 9562
 * "custom"), the variant RFC 4122. nparts >= 1. */
void topology_uuid(char out[TOPOLOGY_ID_LEN], const char *const *parts, size_t nparts);
/* TID of an interface: host id, namespace path ("" for the root namespace),
 * interface name. */
void topology_tid(char out[TOPOLOGY_ID_LEN], const char *host_id, const char *ns_path,
		  const char *name);
/* ID of an edge from its ends and RelationType (and sub Type, may be NULL). */
void topology_edge_id(char out[TOPOLOGY_ID_LEN], const char *parent, const char *child,
		      const char *relation, const char *type);

/* Skydive's node Type of a link from its rtnetlink kind (IFLA_INFO_KIND,
 * NULL or "" for none) and ethtool driver (may be NULL): "device" without a
 * kind, "tuntap" for "tun", "veth" whenever the driver is veth, else the kind. */
const char *topology_link_type(const char *kind, const char *driver);
/* EncapType of an ARPHRD_* link type: "ether", "loopback", "none", "gre",
 * "ipip", "sit", "tunnel6", "gre6", ...; "unknown" otherwise. */
const char *topology_encap_type(unsigned arphrd);

/* Skydive's InterfaceMetric JSON from the 23 kernel counters in the order of
 * topology_metric_names (zero counters omitted, as Go's omitempty does),
 * plus Start and Last (ms; omitted when 0). New reference, NULL on OOM. */
#define TOPOLOGY_METRIC_COUNT 23
extern const char *const topology_metric_names[TOPOLOGY_METRIC_COUNT];
json_t *topology_metric_json(const uint64_t v[TOPOLOGY_METRIC_COUNT], int64_t start_ms,
			     int64_t last_ms);
/* cur - prev for every counter (a counter that went back, as after a
 * reset, counts from 0), with Start = start_ms and Last = last_ms. Returns a
 * new reference, or NULL when every difference is 0 (nothing to report) or
 * on OOM. */
json_t *topology_metric_diff(const json_t *cur, const json_t *prev, int64_t start_ms,
			     int64_t last_ms);

#endif
