/* topo_fields.h - the netlink probe's typed view of routes, neighbours, VFs, bond
 * and ethtool data, and the pure functions that turn them into Skydive's JSON
 * shapes (topology/routes.go, topology/neighbors.go,
 * topology/probes/netlink/metadata.go and netlink.go in skydive-project/skydive).
 * The probe fills these structs from libnl objects; the functions here neither
 * allocate per call beyond the JSON they return nor talk to the kernel, so the unit
 * tests drive them directly. Every JSON returned is a new reference, NULL on OOM
 * (or, where said, when there is nothing to report). */
#ifndef SKYDIVE_TOPO_FIELDS_H
#define SKYDIVE_TOPO_FIELDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds per link, so that one interface of a router with a full BGP table does not
 * make a node of megabytes: what goes beyond is left out and counted (the probe logs
 * how many, per batch of changes). */
#define TOPO_MAX_ROUTES_PER_LINK 2048
#define TOPO_MAX_NEIGH_PER_LINK	 2048
#define TOPO_MAX_NEXTHOPS	 16

/* An address of family AF_INET (len 4) or AF_INET6 (len 16); len 0 = none. */
struct topo_ip {
	uint8_t len;
	uint8_t b[16];
};

struct topo_nexthop {
	struct topo_ip gw; /* RTA_GATEWAY / multipath gateway, len 0 = on-link */
	int ifindex;
};

struct topo_route {
	uint32_t table;
	uint8_t family;	     /* AF_INET / AF_INET6 */
	uint8_t plen;	     /* prefix length */
	uint8_t protocol;    /* RTPROT_* */
	struct topo_ip dst;  /* len 0: the default route of the family */
	struct topo_ip src;  /* RTA_PREFSRC, len 0 = none */
	uint32_t priority;   /* RTA_PRIORITY (metric) */
	uint8_t nnh;
	struct topo_nexthop nh[TOPO_MAX_NEXTHOPS];
};

/* Skydive's RoutingTables of one link from the routes going out of it (any of their
 * next hops): one table object per table ID (ascending), {"ID","Src","Routes"}; one
 * route per (Protocol, Prefix) in the table, {"Protocol","Prefix","NextHops"}; next
 * hops {"Priority","IP" (omitted on-link),"IfIndex"} deduplicated by (IP, IfIndex).
 * Src is the first preferred source of the table's routes ("" without one). Routes
 * are sorted (family, longest prefix first, address, protocol) so a cache reorder is
 * no change. NULL when n is 0. */
json_t *topo_routing_tables_json(const struct topo_route *r, size_t n);

struct topo_neigh {
	uint8_t family;	 /* AF_INET, AF_INET6 or AF_BRIDGE */
	struct topo_ip ip;
	uint8_t mac_len;
	uint8_t mac[32];
	uint16_t state; /* NUD_* bits */
	uint8_t flags;	/* NTF_* bits */
	int ifindex;
	int vlan;
	uint32_t vni;
};

/* Skydive's Neighbors / FDB array: {"Flags":[NTF_...],"MAC","IP","State":[NUD_...],
 * "Vlan","VNI","IfIndex"} (empty fields omitted as Go's omitempty does, IfIndex
 * always), IPv4 before IPv6, then by address and MAC. NULL when n is 0. */
json_t *topo_neighbors_json(const struct topo_neigh *v, size_t n);

/* LinkFlags: the names of the IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_POINTOPOINT
 * and IFF_MULTICAST bits set in ifflags, in that order (an empty array when none). */
json_t *topo_link_flags_json(unsigned ifflags);

/* State: Skydive's upper-cased operational state (IF_OPER_*): "UNKNOWN",
 * "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP". */
const char *topo_operstate_name(unsigned operstate);

/* Features: {"<ethtool feature name>": active} for the count names (ETH_GSTRING_LEN
 * bytes each, NUL padded) whose bits are in the ETHTOOL_GFEATURES active words
 * (nwords of them). NULL when count is 0. */
json_t *topo_features_json(const char *names, uint32_t count, const uint32_t *active,
			   uint32_t nwords);

struct topo_vf {
	uint32_t id, link_state, qos, tx_rate, vlan;
	int spoofchk;
	uint8_t mac[6];
};
/* Vfs: [{"ID","LinkState","MAC","Qos","Spoofchk","TxRate","Vlan"}] with Go's
 * omitempty (zeros left out; MAC as Go prints a 6-byte address). NULL when n is 0. */
json_t *topo_vfs_json(const struct topo_vf *v, size_t n);

/* Bond data of an RTM_NEWLINK message (IFLA_LINKINFO: IFLA_INFO_DATA of a "bond",
 * IFLA_INFO_SLAVE_DATA of a bond port). */
struct topo_bond {
	int is_bond, has_mode;
	uint8_t mode; /* IFLA_BOND_MODE */
	int is_slave;
	uint8_t state, mii_status, ad_actor_oper_port_state;
	uint16_t queue_id, aggregator_id, ad_partner_oper_port_state;
	uint32_t link_failure_count;
	uint8_t perm_mac_len;
	uint8_t perm_mac[32];
};
/* Parses one rtnetlink RTM_NEWLINK message of len bytes (header included): 0 with out
 * filled (zeroed when the link is neither), -EINVAL when it is not a well-formed
 * RTM_NEWLINK message. */
int topo_bond_parse(const void *msg, size_t len, struct topo_bond *out);
/* BondMode: "balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad",
 * "balance-tlb", "balance-alb", else "unknown". */
const char *topo_bond_mode_name(unsigned mode);
/* BondSlave: {"Type":"bond","State","MiiStatus","LinkFailureCount","QueueId",
 * "AggregatorId","AdActorOperPortState","AdPartnerOperPortState","PermMAC"}. */
json_t *topo_bond_slave_json(const struct topo_bond *b);

/* Go's net.IP.String() of a (4 or 16 bytes) into buf (INET6_ADDRSTRLEN at least). */
const char *topo_ip_str(const struct topo_ip *a, char *buf, size_t len);
/* Go's net.HardwareAddr.String(): colon-separated lowercase hex ("" for len 0). */
void topo_mac_str(const uint8_t *b, size_t n, char *buf, size_t len);

#endif
