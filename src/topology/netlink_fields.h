/* netlink_fields.h - what the netlink probe reads besides the link cache
 * (netlink_fields.c): routes and neighbours of its namespace, ethtool features, VFs
 * and bond data. Probe thread only; errors are logged, never fatal. */
#ifndef SKYDIVE_NETLINK_FIELDS_H
#define SKYDIVE_NETLINK_FIELDS_H

#include <jansson.h>
#include <stdint.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "topology/topo_fields.h"
#include "topology/topology.h"

/* One dump of the namespace's routes (every table, IPv4 and IPv6, cloned ones left
 * out) and neighbours (ARP, NDP and bridge FDB entries). */
struct topo_nl_snap {
	int ok;
	struct topo_route *routes;
	size_t n_routes;
	struct topo_neigh *neighs;
	size_t n_neighs;
};
/* 0, or -EIO (logged) with s empty (ok 0). */
int topo_nl_snap_take(struct nl_sock *sk, struct topo_nl_snap *s);
void topo_nl_snap_free(struct topo_nl_snap *s);
/* Sets RoutingTables, Neighbors and FDB of the link ifindex in keys (a JSON null for
 * one the link has none of), and RoutingTablesLeftOut, NeighborsLeftOut, FDBLeftOut:
 * how many entries went beyond the per-link bounds (a JSON null when none did, so the
 * key goes); those counts are also added to left[TOPOLOGY_LEFT_ROUTES ...]. Nothing is set
 * when the snapshot failed (s->ok 0). */
void topo_nl_snap_link(const struct topo_nl_snap *s, int ifindex, json_t *keys,
		       uint64_t left[TOPOLOGY_LEFT_KINDS]);

/* Features of a link by ETHTOOL_GFEATURES (fd: any AF_INET socket of the
 * namespace); NULL when the driver has none or the ioctl fails. */
json_t *topo_ethtool_features(int fd, const char *name);
/* Vfs of a link from the cached IFLA_VFINFO_LIST; NULL without VFs. */
json_t *topo_link_vfs(struct rtnl_link *l);
/* BondMode of a bond, BondSlave of a bond port, into md (asks the kernel for the
 * link on sk: libnl does not keep them). Nothing for other links. */
void topo_link_bond(struct nl_sock *sk, struct rtnl_link *l, json_t *md);

#endif
