/* topology.h - the agent's topology probes: host, netlink (one per network
 * namespace) and netns (inotify on the run path); they fill a struct graph.
 *
 * Nodes the probes make, as Skydive draws them:
 *   host   (Type "host", Name = host id, OS/kernel/CPU metadata)
 *   netns  (Type "netns", Name = file name under the run path, Path)
 *   one node per link of each namespace (Type veth/bridge/device/..., IfIndex,
 *   MAC, MTU, State, Driver, EncapType, IPV4/IPV6, Metric, LastUpdateMetric,
 *   LinkFlags, Speed, Features, Neighbors, FDB, RoutingTables, bond and SR-IOV
 *   keys...: docs/TOPOLOGY.md); a renamed link keeps its node and TID
 * and edges: host->netns, host->root-ns links, netns->its links (ownership),
 * master->port (layer2), vlan parent->vlan (layer2, Type vlan), veth peers
 * (layer2, Type veth, also across namespaces).
 * The OVSDB probe adds ovsbridge and ovsport nodes (Name, UUID, ExtID),
 * host->ovsbridge (ownership), ovsbridge->ovsport (ownership and layer2),
 * ovsport->interface (layer2) where the interface is the kernel link of
 * the same name (root namespace: same ifindex; another one, an internal
 * port moved there: same MAC), given UUID, OfPort, Ovs {UUID, OfPort,
 * Options, OtherConfig, Error}, ExtID and the OVSDB type as Type when it
 * has one ("internal", "tap"), or a node of the probe's own (Type "patch",
 * "vxlan", ..., owned by the bridge) for an interface without a kernel
 * link; patch peers are joined by a "patch" edge. docs/TOPOLOGY.md.
 * The OpenFlow probe (oflow.c) adds an "ofrule" node per OpenFlow rule of each bridge
 * (Cookie, Table, Priority, Filters, Actions, UUID as Skydive's ofctl probe) and an
 * "ofgroup" node per group (GroupId, GroupType, Buckets, UUID), owned by the ovsbridge.
 * The LLDP probe (lldp.c) adds a "switch" node per neighbour chassis and a
 * "switchport" node per neighbour port (LLDP metadata as Skydive's), with
 * chassis->port (ownership and layer2) and port->link (layer2) edges.
 * The docker and runc probes (docker.c, runc.c, container.h) add a "container"
 * node per container, owned by its namespace's netns node (or the host's).
 *
 * IDs: every node's ID is its TID, computed exactly as Skydive 0.28 does
 * (UUIDv5, see topology_tid and its siblings below), so a restarted agent
 * keeps its IDs and they match the Go agent's; edge IDs are UUIDv5 of the
 * two ends and the RelationType, also as Skydive.
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
	/* OVSDB to monitor: "unix:///path", "unix:/path", "tcp:host:port" or
	 * "tcp://host:port"; NULL = unix:///var/run/openvswitch/db.sock;
	 * "" = no OVSDB probe. An unreachable OVSDB is retried every second
	 * in the background (logged once). */
	const char *ovsdb;
	/* socketinfo probe (socketinfo.h): refresh of the host node's Sockets, ms;
	 * <= 0 = no socketinfo probe */
	int64_t socketinfo_update_ms;
	/* LLDP probe (src/topology/lldp.c): on when lldp; lldp_interfaces (n of
	 * them, copied) are the links to listen on, none = every UP Ethernet link
	 * (Skydive's agent.topology.lldp.interfaces). A name that cannot be a link's
	 * (topology_lldp_check_ifname) makes topology_new fail. */
	int lldp;
	const char *const *lldp_interfaces;
	size_t n_lldp_interfaces;
	/* OpenFlow rule probe (src/topology/oflow.c, Skydive's ovs.oflow): with the OVSDB
	 * probe, each bridge's rules as ofrule nodes, read with ovs-ofctl. oflow_versions
	 * is ovs-ofctl's -O list ("OpenFlow10,OpenFlow13"; NULL = OpenFlow10);
	 * oflow_address maps a bridge name to the switch ovs-ofctl is given ("unix:PATH",
	 * "tcp:HOST:PORT"; copied, may be NULL). topology_start fails without ovs-ofctl. */
	int oflow;
	const char *oflow_versions;
	const json_t *oflow_address;
	/* docker probe (src/topology/docker.c): the Docker API at docker_url
	 * ("unix:///path" or "tcp://host:port"; NULL = no docker probe), followed over
	 * its /events stream, retried every second when unreachable (logged once per
	 * outage); sandbox namespaces under docker_netns_run_path ("" or NULL: the
	 * containers' /proc/PID/ns/net instead). */
	const char *docker_url;
	const char *docker_netns_run_path;
	/* runc probe (src/topology/runc.c): on when runc; the state directories
	 * (Skydive's agent.topology.runc.run_path), watched with inotify (a missing one
	 * is looked for every second). Strings copied. */
	int runc;
	const char *const *runc_run_paths;
	size_t n_runc_run_paths;
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

/* Routes, neighbours and FDB entries the netlink probes left out of nodes beyond the
 * per-link bounds (2048 each; the node's RoutingTablesLeftOut ... keys say which link,
 * docs/TOPOLOGY.md), added up at every refresh of such a link since the start. Any
 * thread. */
enum { TOPOLOGY_LEFT_ROUTES, TOPOLOGY_LEFT_NEIGHBORS, TOPOLOGY_LEFT_FDB, TOPOLOGY_LEFT_KINDS };
void topology_left_out(struct topology *t, uint64_t out[TOPOLOGY_LEFT_KINDS]);

/* 0 when name can be a link's name (1..15 bytes, no '/', ':' or blank, not
 * "." or ".."), else -EINVAL. */
int topology_lldp_check_ifname(const char *name);

/* 0 when url is one the docker probe speaks (unix:///PATH, tcp://HOST:PORT,
 * http://HOST:PORT), else -EINVAL with err filled. */
int topology_docker_url_check(const char *url, char *err, size_t errlen);

/* ---- pure helpers (unit tested) ---------------------------------------- */

#define TOPOLOGY_ID_LEN 37 /* 36 characters and the NUL */

/* Skydive's TIDs: RFC 4122 version-5 UUIDs (SHA-1) in the NamespaceOID
 * namespace, of the parts concatenated without separator, as lowercase
 * 8-4-4-4-12 text. UUIDv5 of len bytes: 0, or -ENOMEM/-EIO with out "". */
int topology_uuid5(char out[TOPOLOGY_ID_LEN], const void *name, size_t len);
/* host: UUIDv5(Name); this is the hostID the other TIDs start from. */
void topology_host_tid(char out[TOPOLOGY_ID_LEN], const char *host_name);
/* netns: UUIDv5(hostID + Path + "netns"). */
void topology_netns_tid(char out[TOPOLOGY_ID_LEN], const char *host_tid, const char *path);
/* ovsbridge / ovsport: UUIDv5(hostID + OVS row UUID + Type). */
void topology_ovs_tid(char out[TOPOLOGY_ID_LEN], const char *host_tid, const char *ovs_uuid,
		      const char *type);
/* Any other node: UUIDv5(TID of its ownership parent + Name + Type). */
void topology_tid(char out[TOPOLOGY_ID_LEN], const char *parent_tid, const char *name,
		  const char *type);
/* Edge: UUIDv5(parent ID + child ID + RelationType), as Skydive's
 * topology.AddLink/AddOwnershipLink/AddLayer2Link. */
void topology_edge_id(char out[TOPOLOGY_ID_LEN], const char *parent, const char *child,
		      const char *relation);

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
