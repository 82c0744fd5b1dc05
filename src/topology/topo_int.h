/* topo_int.h - state shared by the topology probes (not a public header). */
#ifndef SKYDIVE_TOPO_INT_H
#define SKYDIVE_TOPO_INT_H

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include <netlink/netlink.h>

#include "topology/topology.h"

/* One network namespace watched by a netlink probe thread. */
struct topo_ns {
	struct topology *t;
	char *name;			    /* NULL for the agent's own (root) namespace */
	char *path;			    /* NULL for the root namespace */
	char node_id[TOPOLOGY_ID_LEN];	    /* owner of its links: host or netns node */
	int has_node;			    /* the netns node is in the graph */
	dev_t dev;			    /* identity of the namespace file (named ones) */
	ino_t ino;
	int fd;				    /* the namespace, open: asked for its nsid */
	struct nl_sock *nsid_sock;	    /* rtnetlink socket inside it (graph lock) */
	pthread_t thread;
	int thread_started;
	int stop_fd;			    /* eventfd: wakes and stops the thread */
	/* Skydive's use count (netns.go Register/Unregister): the run path watcher
	 * holding its file (watch_name, the file's name) and each container probe
	 * registration of the same namespace (same dev and inode) count one; the
	 * node goes with the last. Changed under t->ns_reg. */
	int refs;
	char *watch_name;
	struct topo_ns *next;
};

/* One container node of the docker or runc probe (container.c), graph lock. */
enum topo_ctr_kind { TOPO_CTR_DOCKER, TOPO_CTR_RUNC };
struct topo_ctr {
	enum topo_ctr_kind kind;
	char *key;		      /* Docker container ID / runc state.json path */
	char id[TOPOLOGY_ID_LEN];     /* the node (its TID) */
	char parent[TOPOLOGY_ID_LEN]; /* owner: netns or host node */
	struct topo_ns *ns;	      /* its namespace's registration; NULL = the host's */
	long long pid;
	json_t *md;		      /* the metadata last given to the graph */
};

/* What the probe knows of one link, besides its node metadata. */
struct topo_link_info {
	int ifindex;
	int peer_ifindex; /* veth peer (IFLA_LINK), 0 if none */
	int peer_nsid;	   /* IFLA_LINK_NETNSID (any link): the peer's namespace, -1 = same */
	int master;	   /* IFLA_MASTER */
	int parent;	   /* IFLA_LINK of a non-veth */
	int vlan;	   /* VLAN id of a vlan link, 0 otherwise */
	char name[IFNAMSIZ];
	char type[32];
};

/* One link node the probes put in the graph. Fields are guarded by the
 * graph lock. */
struct topo_intf {
	struct topo_ns *ns;
	struct topo_link_info info;
	char id[TOPOLOGY_ID_LEN];
	json_t *md;	   /* copy of the metadata last given to the graph */
	struct topo_ns *peer_ns; /* namespace of the veth peer, once resolved */
	unsigned peer_gen;	   /* ns_gen of the last resolution attempt */
	int64_t metric_start_ms;
};

/* One edge the probes put in the graph (graph lock). */
struct topo_edge {
	char id[TOPOLOGY_ID_LEN];
	char parent[TOPOLOGY_ID_LEN], child[TOPOLOGY_ID_LEN];
	const char *relation; /* static strings */
	const char *type;     /* NULL or static */
	int wanted;	      /* scratch for reconcile */
};

struct topo_ovs; /* ovsdb.c */
struct topo_sockinfo; /* socketinfo.c */
struct topo_lldp; /* lldp.c */
struct topo_oflow; /* oflow.c */
struct topo_docker; /* docker.c */
struct topo_runc; /* runc.c */

struct topology {
	struct graph *g;
	char *host_id, *origin, *run_path;
	char *ovsdb;		/* OVSDB target; "" = no OVSDB probe */
	struct topo_ovs *ovs; /* the OVSDB probe, once started */
	int oflow_on;		   /* OpenFlow rule probe wanted (ovs.oflow.enable) */
	char *oflow_versions;	   /* its -O argument */
	json_t *oflow_address;	   /* bridge name -> ovs-ofctl target; NULL = none */
	struct topo_oflow *oflow; /* the OpenFlow rule probe, once started (graph lock) */
	int64_t socketinfo_ms;		/* socketinfo refresh; 0 = no socketinfo probe */
	struct topo_sockinfo *sockinfo; /* the socketinfo probe, once started */
	int lldp_on;	      /* LLDP probe wanted */
	char **lldp_ifs;      /* its links by name; none = every UP Ethernet link */
	size_t n_lldp_ifs;
	struct topo_lldp *lldp; /* the LLDP probe, once started */
	char *docker_url;	/* Docker API; NULL = no docker probe */
	char *docker_netns_run_path; /* where Docker's sandbox namespaces are ("" = none) */
	struct topo_docker *docker;
	char **runc_paths;	/* runc state directories; NULL = no runc probe */
	size_t n_runc_paths;
	struct topo_runc *runc;
	/* container nodes (graph lock) */
	struct topo_ctr **ctrs;
	size_t n_ctrs, cap_ctrs;
	/* serialises namespace registrations (watcher, container probes); taken
	 * before the graph lock, never while holding it */
	pthread_mutex_t ns_reg;
	int64_t metrics_update_ms;
	json_t *host_extra;
	char host_node_id[TOPOLOGY_ID_LEN];
	int started;

	struct topo_ns *root;
	pthread_mutex_t ns_lock; /* guards the named namespace list */
	struct topo_ns *named;

	/* Graph lock held for these. */
	unsigned ns_gen; /* bumped when a namespace comes or goes */
	struct topo_intf **intfs;
	size_t n_intfs, cap_intfs;
	struct topo_edge *edges;
	size_t n_edges, cap_edges;

	pthread_t watcher;
	int watcher_started;
	int watcher_stop_fd;

	_Atomic uint64_t left_out[TOPOLOGY_LEFT_KINDS]; /* topology_left_out() */
};

int64_t topo_now_ms(void);

/* Adds a netlink probe's batch of left-out entries to topology_left_out() (any thread). */
void topo_left_out_add(struct topology *t, const uint64_t add[TOPOLOGY_LEFT_KINDS]);

/* socketinfo.c: the socketinfo probe's thread (socketinfo.h). 0 or -errno. */
int topo_socketinfo_start(struct topology *t);
void topo_socketinfo_stop(struct topology *t); /* joins; nothing started is fine */

/* host.c: metadata of the host node (new reference, NULL on OOM). */
json_t *topo_host_metadata(const char *host_id, const json_t *extra);

/* topology.c, graph lock held. */
/* Adds or updates the node of a link; md stolen. */
void topo_intf_upsert(struct topology *t, struct topo_ns *ns, const struct topo_link_info *li,
		      json_t *md, int64_t now_ms);
void topo_intf_remove(struct topology *t, struct topo_ns *ns, int ifindex, int64_t now_ms);
struct topo_intf *topo_intf_find(struct topology *t, struct topo_ns *ns, int ifindex);
/* Sets the keys of keys (an object, stolen; a JSON null value deletes the key) on a
 * link's node, when that changes it. */
void topo_intf_set_keys(struct topology *t, struct topo_ns *ns, int ifindex, json_t *keys,
			int64_t now_ms);
/* Sets Metric and LastUpdateMetric of a link node (metric stolen). */
void topo_intf_set_metric(struct topology *t, struct topo_ns *ns, int ifindex, json_t *metric,
			  int64_t now_ms);
/* Brings the edges in line with the links known (and the OVSDB state). */
void topo_reconcile_edges(struct topology *t, int64_t now_ms);
/* Forgets the edges touching a node the caller is about to delete (the
 * graph deletes them itself, with the node). */
void topo_forget_edges_of(struct topology *t, const char *id);

/* The edges a reconcile wants, each once (by ID). */
struct topo_want {
	struct topo_edge *v;
	size_t n, cap;
};
/* rel and type must be static strings; type may be NULL. */
void topo_want_edge(struct topo_want *w, const char *parent, const char *child, const char *rel,
		    const char *type);

/* topology.c: a named namespace appeared (adds its netns node, starts its
 * probe; 0 or -errno) or went (stops the probe; with remove_nodes, deletes
 * its nodes, else only forgets them). Graph lock NOT held. */
int topo_ns_add(struct topology *t, const char *name, const char *path, dev_t dev, ino_t ino,
		struct topo_ns **out);
void topo_ns_del(struct topology *t, struct topo_ns *ns, int remove_nodes);
/* ns_reg held: one use less of ns; the last deletes it and its nodes. */
void topo_ns_release(struct topology *t, struct topo_ns *ns);
/* ns_reg held: the named namespace of that device and inode, or NULL. */
struct topo_ns *topo_ns_find_dev(struct topology *t, dev_t dev, ino_t ino);

/* container.c: the container nodes of the docker and runc probes (container.h).
 * Graph lock NOT held. register adds or updates the node of key (d's name, pid and
 * Container metadata; the node of the same key with another pid is replaced), owned
 * by the netns node of netns_path (registered under netns_name as Skydive's
 * netns.Register, NULL path = the host's namespace) with manager as its Manager.
 * 0 or -errno (the namespace is gone, not a namespace, OOM). */
struct container_desc;
int topo_ctr_register(struct topology *t, enum topo_ctr_kind kind, const char *key,
		      const struct container_desc *d, const char *netns_path,
		      const char *netns_name, const char *manager);
void topo_ctr_unregister(struct topology *t, enum topo_ctr_kind kind, const char *key);
/* Unregisters every container of kind whose key starts with prefix ("" = all), but
 * those keep says 1 for (keep may be NULL). */
void topo_ctr_unregister_if(struct topology *t, enum topo_ctr_kind kind, const char *prefix,
			    int (*keep)(void *user, const char *key), void *user);
/* 1 when a container of kind has that key. */
int topo_ctr_known(struct topology *t, enum topo_ctr_kind kind, const char *key,
		   long long *pid);
/* Graph lock held: the ownership edges of the container nodes. */
void topo_ctr_want_edges(struct topology *t, struct topo_want *w);
/* Forgets the records of kind (the probe stops; the graph keeps the nodes). */
void topo_ctr_forget(struct topology *t, enum topo_ctr_kind kind);

/* docker.c / runc.c: the probes' threads. start: 0 or -errno; stop joins. */
int topo_docker_start(struct topology *t);
void topo_docker_stop(struct topology *t);
int topo_runc_start(struct topology *t);
void topo_runc_stop(struct topology *t);

/* netlink.c: the nsid that the namespace of sk gives to the namespace open
 * as fd (RTM_GETNSID), or -1. */
int topo_nsid_of(struct nl_sock *sk, int fd);

/* netlink.c: starts/stops the probe thread of a namespace. */
int topo_netlink_start(struct topo_ns *ns);
void topo_netlink_stop(struct topo_ns *ns);

/* ovsdb.c: the OVSDB probe (a thread speaking RFC 7047 JSON-RPC to
 * t->ovsdb, reconnecting in the background). start: 0 or -errno. */
int topo_ovs_start(struct topology *t);
void topo_ovs_stop(struct topology *t);
void topo_ovs_free(struct topology *t); /* stops first */
/* Graph lock held: the OVS edges (host->bridge, bridge->port,
 * port->interface, patch peers) whose ends exist. */
void topo_ovs_want_edges(struct topology *t, struct topo_want *w);
/* Graph lock held: the OVS keys (UUID, Ovs, ExtID, and Type when the OVSDB
 * names one, e.g. "internal") for the link of that name and ifindex (root
 * namespace) or name and MAC (another namespace), as a new object; NULL
 * when OVS has no such interface (or without the probe). */
json_t *topo_ovs_intf_extra(struct topology *t, int ns_is_root, const char *name, int ifindex,
			    const char *mac);
/* The keys topo_ovs_intf_extra may set, NULL-terminated. */
extern const char *const topo_ovs_intf_keys[];

/* oflow.c: the OpenFlow rule probe (a thread running ovs-ofctl monitor and dump-flows
 * per bridge). start: 0, -ENOENT (no ovs-ofctl on PATH) or -errno. */
int topo_oflow_start(struct topology *t);
void topo_oflow_stop(struct topology *t); /* joins, ends its children; nodes stay */
void topo_oflow_free(struct topology *t); /* stops first */
/* Graph lock held, from the OVSDB probe after each sync: the bridges (OVS row UUID and
 * name, n of each) the OVSDB has now. Rules of a bridge that went are deleted here;
 * the thread starts and ends monitors. Without the probe, nothing. */
void topo_oflow_bridges(struct topology *t, const char *const *uuids, const char *const *names,
			size_t n);

/* lldp.c: copies the LLDP options into t (-EINVAL with err filled for a bad
 * name, -ENOMEM); free releases them. */
int topo_lldp_init(struct topology *t, const struct topology_opts *o, char *err, size_t errlen);
void topo_lldp_free(struct topology *t);
/* lldp.c: the LLDP probe thread (t->lldp_ifs); start: 0 or -errno. */
int topo_lldp_start(struct topology *t);
void topo_lldp_stop(struct topology *t); /* joins; the graph keeps the nodes */

/* netns.c: the run path watcher. */
int topo_netns_start(struct topology *t);
void topo_netns_stop(struct topology *t);

/* graph_node_set_metadata of a probe's new view of a node it already published,
 * keeping the node's "Captures" (agent/captures.c owns it) and "SFlow" (agent/sflow_meta.c): otherwise a capture
 * vanishes from the node until its next stats update, and its flows from the live
 * view (analyzer/flow_live.h). Graph lock held; md stolen. */
int topo_update_metadata(struct graph *g, const char *id, json_t *md, int64_t now_ms);

#endif
