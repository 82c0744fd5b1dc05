/* test_topo_fields.c - unit tests of the netlink probe's JSON shapes
 * (src/topology/topo_fields.c: RoutingTables, Neighbors/FDB, LinkFlags, State,
 * Features, Vfs, bond messages), of the Vfs a link gets from an IFLA_VFINFO_LIST decoded
 * by libnl, of the per-link bounds (RoutingTablesLeftOut ...), and of Gremlin's
 * NextHop() on nodes carrying them,
 * with the cases of Skydive's gremlin/traversal/nexthop_test.go. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "gremlin/gremlin.h"
#include "graph/graph.h"
#include "topology/netlink_fields.h"
#include "topology/topo_fields.h"

#include <netlink/msg.h>
#include <netlink/object.h>

static struct topo_ip ip4(const char *s)
{
	struct topo_ip a = {.len = 4};
	assert_int_equal(inet_pton(AF_INET, s, a.b), 1);
	return a;
}

static struct topo_ip ip6(const char *s)
{
	struct topo_ip a = {.len = 16};
	assert_int_equal(inet_pton(AF_INET6, s, a.b), 1);
	return a;
}

static void expect_json(json_t *j, const char *want)
{
	assert_non_null(j);
	char *got = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *w = json_loads(want, 0, NULL);
	assert_non_null(w);
	char *wants = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
	if (strcmp(got, wants))
		fail_msg("got  %s\nwant %s", got, wants);
	free(got);
	free(wants);
	json_decref(w);
	json_decref(j);
}

static void test_routes(void **state)
{
	struct topo_route r[5] = {0};
	/* main: a connected route and a static one via a gateway, with a metric */
	r[0] = (struct topo_route){.table = 254, .family = AF_INET, .plen = 24, .protocol = 2,
				   .dst = ip4("10.0.0.0"), .src = ip4("10.0.0.1"), .nnh = 1};
	r[0].nh[0].ifindex = 3;
	r[1] = (struct topo_route){.table = 254, .family = AF_INET, .plen = 16, .protocol = 4,
				   .dst = ip4("10.9.0.0"), .priority = 7, .nnh = 1};
	r[1].nh[0] = (struct topo_nexthop){.gw = ip4("10.0.0.2"), .ifindex = 3};
	/* the same prefix and protocol again with another metric: one route, two hops */
	r[2] = r[1];
	r[2].priority = 9;
	r[2].nh[0].gw = ip4("10.0.0.3");
	/* a default route in a policy table, and IPv6 ECMP */
	r[3] = (struct topo_route){.table = 100, .family = AF_INET, .plen = 0, .protocol = 3,
				   .nnh = 1};
	r[3].nh[0] = (struct topo_nexthop){.gw = ip4("10.0.0.254"), .ifindex = 3};
	r[4] = (struct topo_route){.table = 254, .family = AF_INET6, .plen = 64, .protocol = 3,
				   .dst = ip6("2001:db8::"), .priority = 1024, .nnh = 2};
	r[4].nh[0] = (struct topo_nexthop){.gw = ip6("fe80::1"), .ifindex = 3};
	r[4].nh[1] = (struct topo_nexthop){.gw = ip6("fe80::2"), .ifindex = 4};
	expect_json(topo_routing_tables_json(r, 5),
		    "[{\"ID\":100,\"Src\":\"\",\"Routes\":[{\"Protocol\":3,\"Prefix\":\"0.0.0.0/0\","
		    "\"NextHops\":[{\"Priority\":0,\"IP\":\"10.0.0.254\",\"IfIndex\":3}]}]},"
		    "{\"ID\":254,\"Src\":\"10.0.0.1\",\"Routes\":["
		    "{\"Protocol\":2,\"Prefix\":\"10.0.0.0/24\",\"NextHops\":[{\"Priority\":0,\"IfIndex\":3}]},"
		    "{\"Protocol\":4,\"Prefix\":\"10.9.0.0/16\",\"NextHops\":["
		    "{\"Priority\":7,\"IP\":\"10.0.0.2\",\"IfIndex\":3},"
		    "{\"Priority\":9,\"IP\":\"10.0.0.3\",\"IfIndex\":3}]},"
		    "{\"Protocol\":3,\"Prefix\":\"2001:db8::/64\",\"NextHops\":["
		    "{\"Priority\":1024,\"IP\":\"fe80::1\",\"IfIndex\":3},"
		    "{\"Priority\":1024,\"IP\":\"fe80::2\",\"IfIndex\":4}]}]}]");
	assert_null(topo_routing_tables_json(r, 0));
	/* the same next hop twice (two metrics, same gateway) is listed once */
	r[2].nh[0].gw = ip4("10.0.0.2");
	json_t *j = topo_routing_tables_json(r, 3);
	json_t *nhs = json_object_get(json_array_get(json_object_get(json_array_get(j, 0), "Routes"), 1),
				      "NextHops");
	assert_int_equal(json_array_size(nhs), 1);
	json_decref(j);
	/* IPv6 default */
	struct topo_route d = {.table = 254, .family = AF_INET6, .nnh = 1};
	d.nh[0].ifindex = 2;
	j = topo_routing_tables_json(&d, 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(json_array_get(j, 0), "Routes"), 0),
				    "Prefix")),
			    "::/0");
	json_decref(j);
}

static void test_neighbors(void **state)
{
	struct topo_neigh n[3] = {0};
	n[0] = (struct topo_neigh){.family = AF_INET6, .ip = ip6("fe80::1"), .mac_len = 6,
				   .mac = {2, 0, 0, 0, 0, 1}, .state = NUD_REACHABLE,
				   .flags = NTF_ROUTER, .ifindex = 2};
	n[1] = (struct topo_neigh){.family = AF_INET, .ip = ip4("10.0.0.2"), .mac_len = 6,
				   .mac = {0xfa, 0x16, 0x3e, 0xc1, 0xe8, 0xd1},
				   .state = NUD_PERMANENT, .ifindex = 2};
	/* an FDB entry: no IP, a VLAN, flags */
	n[2] = (struct topo_neigh){.family = AF_BRIDGE, .mac_len = 6, .mac = {2, 0, 0, 0, 0, 9},
				   .state = NUD_NOARP, .flags = NTF_SELF | NTF_MASTER, .vlan = 10,
				   .vni = 42, .ifindex = 5};
	expect_json(topo_neighbors_json(n, 3),
		    "[{\"Flags\":[\"NTF_SELF\",\"NTF_MASTER\"],\"MAC\":\"02:00:00:00:00:09\","
		    "\"State\":[\"NUD_NOARP\"],\"Vlan\":10,\"VNI\":42,\"IfIndex\":5},"
		    "{\"MAC\":\"fa:16:3e:c1:e8:d1\",\"IP\":\"10.0.0.2\",\"State\":[\"NUD_PERMANENT\"],"
		    "\"IfIndex\":2},"
		    "{\"Flags\":[\"NTF_ROUTER\"],\"MAC\":\"02:00:00:00:00:01\",\"IP\":\"fe80::1\","
		    "\"State\":[\"NUD_REACHABLE\"],\"IfIndex\":2}]");
	/* NUD_NONE (0) and no flags: both keys left out, as Go's omitempty does */
	struct topo_neigh z = {.family = AF_INET, .ip = ip4("10.0.0.9"), .ifindex = 1};
	expect_json(topo_neighbors_json(&z, 1), "[{\"IP\":\"10.0.0.9\",\"IfIndex\":1}]");
	assert_null(topo_neighbors_json(n, 0));
}

static void test_flags_state(void **state)
{
	expect_json(topo_link_flags_json(IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST),
		    "[\"UP\",\"BROADCAST\",\"MULTICAST\"]");
	expect_json(topo_link_flags_json(IFF_UP | IFF_LOOPBACK | IFF_RUNNING),
		    "[\"UP\",\"LOOPBACK\"]");
	expect_json(topo_link_flags_json(IFF_POINTOPOINT | IFF_NOARP), "[\"POINTTOPOINT\"]");
	expect_json(topo_link_flags_json(0), "[]");
	/* IF_OPER_* (linux/if.h, RFC 2863 order; that header clashes with net/if.h) */
	assert_string_equal(topo_operstate_name(6), "UP");
	assert_string_equal(topo_operstate_name(2), "DOWN");
	assert_string_equal(topo_operstate_name(3), "LOWERLAYERDOWN");
	assert_string_equal(topo_operstate_name(0), "UNKNOWN");
	assert_string_equal(topo_operstate_name(5), "DORMANT");
	assert_string_equal(topo_operstate_name(99), "UNKNOWN");
}

static void test_features(void **state)
{
	char names[3 * 32] = {0};
	strcpy(names, "tx-checksum-ipv4");
	strcpy(names + 32, "rx-gro");
	/* names[64] left empty: an unnamed bit is skipped */
	uint32_t active[1] = {1u << 1};
	expect_json(topo_features_json(names, 3, active, 1),
		    "{\"tx-checksum-ipv4\":false,\"rx-gro\":true}");
	assert_null(topo_features_json(names, 0, active, 1));
	/* a bit beyond the words the kernel gave is off */
	expect_json(topo_features_json(names, 2, active, 0),
		    "{\"tx-checksum-ipv4\":false,\"rx-gro\":false}");
}

static void test_vfs(void **state)
{
	struct topo_vf v[2] = {{.id = 0, .mac = {0, 0, 0, 0, 0, 0}},
			       {.id = 1, .link_state = 2, .qos = 3, .tx_rate = 100, .vlan = 20,
				.spoofchk = 1, .mac = {0xaa, 0xbb, 0xcc, 0, 0, 1}}};
	expect_json(topo_vfs_json(v, 2),
		    "[{\"MAC\":\"00:00:00:00:00:00\"},"
		    "{\"ID\":1,\"LinkState\":2,\"MAC\":\"aa:bb:cc:00:00:01\",\"Qos\":3,"
		    "\"Spoofchk\":true,\"TxRate\":100,\"Vlan\":20}]");
	assert_null(topo_vfs_json(v, 0));
}

/* Vfs from the kernel's attributes: an RTM_NEWLINK with IFLA_NUM_VF and IFLA_VFINFO_LIST
 * laid out as the kernel's rtnl_fill_vfinfo does (struct ifla_vf_* of linux/if_link.h,
 * each with its VF number), parsed by libnl's own link parser (nl_msg_parse, as the
 * probe's cache does) and turned into the node's Vfs. No SR-IOV device is needed. */
static void put_vf(struct nl_msg *m, uint32_t vf, const uint8_t mac[6], uint32_t vlan,
		   uint32_t qos, uint32_t rate, uint32_t spoofchk, uint32_t link_state)
{
	struct nlattr *info = nla_nest_start(m, IFLA_VF_INFO);
	assert_non_null(info);
	struct ifla_vf_mac vm = {.vf = vf};
	memcpy(vm.mac, mac, 6);
	struct ifla_vf_vlan vv = {.vf = vf, .vlan = vlan, .qos = qos};
	struct ifla_vf_tx_rate vt = {.vf = vf, .rate = rate};
	struct ifla_vf_rate vr = {.vf = vf, .min_tx_rate = 0, .max_tx_rate = rate};
	struct ifla_vf_spoofchk vs = {.vf = vf, .setting = spoofchk};
	struct ifla_vf_link_state vl = {.vf = vf, .link_state = link_state};
	assert_int_equal(nla_put(m, IFLA_VF_MAC, sizeof(vm), &vm), 0);
	assert_int_equal(nla_put(m, IFLA_VF_VLAN, sizeof(vv), &vv), 0);
	assert_int_equal(nla_put(m, IFLA_VF_TX_RATE, sizeof(vt), &vt), 0);
	assert_int_equal(nla_put(m, IFLA_VF_RATE, sizeof(vr), &vr), 0);
	assert_int_equal(nla_put(m, IFLA_VF_SPOOFCHK, sizeof(vs), &vs), 0);
	assert_int_equal(nla_put(m, IFLA_VF_LINK_STATE, sizeof(vl), &vl), 0);
	nla_nest_end(m, info);
}

static void got_link(struct nl_object *o, void *arg)
{
	nl_object_get(o);
	*(struct rtnl_link **)arg = (struct rtnl_link *)o;
}

static void test_vfs_netlink(void **state)
{
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	assert_non_null(m);
	nlmsg_set_proto(m, NETLINK_ROUTE);
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 7, .ifi_type = 1};
	assert_int_equal(nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put_string(m, IFLA_IFNAME, "pf0"), 0);
	assert_int_equal(nla_put_u32(m, IFLA_NUM_VF, 3), 0);
	struct nlattr *list = nla_nest_start(m, IFLA_VFINFO_LIST);
	const uint8_t mac0[6] = {0x02, 0, 0, 0, 0, 0x10}, mac1[6] = {0}, mac2[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
	/* VF 0: VLAN 100 prio 3, 1000 Mb/s, spoof check on, link forced up */
	put_vf(m, 0, mac0, 100, 3, 1000, 1, IFLA_VF_LINK_STATE_ENABLE);
	/* VF 1: nothing set (the kernel's defaults: zero MAC, auto link) */
	put_vf(m, 1, mac1, 0, 0, 0, 0, IFLA_VF_LINK_STATE_AUTO);
	/* VF 2: link forced down */
	put_vf(m, 2, mac2, 0, 0, 0, 0, IFLA_VF_LINK_STATE_DISABLE);
	nla_nest_end(m, list);
	struct rtnl_link *l = NULL;
	assert_int_equal(nl_msg_parse(m, got_link, &l), 0);
	assert_non_null(l);
	assert_string_equal(rtnl_link_get_name(l), "pf0");
	/* Skydive's VF (topology/probes/netlink/metadata.go): omitempty fields, so VF 0 has
	 * no ID and VF 1 only its ID and MAC; LinkState the kernel's number */
	expect_json(topo_link_vfs(l),
		    "[{\"LinkState\":1,\"MAC\":\"02:00:00:00:00:10\",\"Qos\":3,\"Spoofchk\":true,"
		    "\"TxRate\":1000,\"Vlan\":100},"
		    "{\"ID\":1,\"MAC\":\"00:00:00:00:00:00\"},"
		    "{\"ID\":2,\"LinkState\":2,\"MAC\":\"02:aa:bb:cc:dd:ee\"}]");
	rtnl_link_put(l);
	nlmsg_free(m);

	/* a link without VFs: no Vfs key */
	m = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	nlmsg_set_proto(m, NETLINK_ROUTE);
	assert_int_equal(nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put_string(m, IFLA_IFNAME, "eth0"), 0);
	l = NULL;
	assert_int_equal(nl_msg_parse(m, got_link, &l), 0);
	assert_non_null(l);
	assert_null(topo_link_vfs(l));
	rtnl_link_put(l);
	nlmsg_free(m);
}

/* The per-link bounds: a namespace snapshot with more routes, neighbours and FDB
 * entries on one link than TOPO_MAX_*_PER_LINK keeps that many and says how many it
 * left out, on the node (RoutingTablesLeftOut ...) and in the probe's counters. */
static void test_left_out(void **state)
{
	enum { NR = TOPO_MAX_ROUTES_PER_LINK + 7, NN = TOPO_MAX_NEIGH_PER_LINK + 3,
	       NF = TOPO_MAX_NEIGH_PER_LINK + 1 };
	struct topo_nl_snap s = {.ok = 1};
	s.routes = calloc(NR + 1, sizeof(*s.routes));
	s.neighs = calloc(NN + NF + 2, sizeof(*s.neighs));
	assert_non_null(s.routes);
	assert_non_null(s.neighs);
	for (int i = 0; i < NR; i++) { /* 10.x.y.0/24 via link 5, distinct prefixes */
		struct topo_route *r = &s.routes[s.n_routes++];
		r->table = 254;
		r->family = AF_INET;
		r->plen = 24;
		r->protocol = 4;
		r->dst.len = 4;
		r->dst.b[0] = 10;
		r->dst.b[1] = (uint8_t)(i >> 8);
		r->dst.b[2] = (uint8_t)i;
		r->nnh = 1;
		r->nh[0].ifindex = 5;
	}
	s.routes[s.n_routes].nnh = 1; /* one route of another link */
	s.routes[s.n_routes].family = AF_INET;
	s.routes[s.n_routes++].nh[0].ifindex = 6;
	for (int i = 0; i < NN + NF; i++) {
		struct topo_neigh *n = &s.neighs[s.n_neighs++];
		n->family = i < NN ? AF_INET : AF_BRIDGE;
		n->ifindex = 5;
		n->ip = ip4("10.9.0.1");
		n->ip.b[2] = (uint8_t)(i >> 8);
		n->ip.b[3] = (uint8_t)i;
		n->mac_len = 6;
		n->mac[4] = (uint8_t)(i >> 8);
		n->mac[5] = (uint8_t)i;
		n->state = NUD_PERMANENT;
	}
	uint64_t left[TOPOLOGY_LEFT_KINDS] = {0};
	json_t *keys = json_object();
	topo_nl_snap_link(&s, 5, keys, left);
	assert_int_equal(left[TOPOLOGY_LEFT_ROUTES], 7);
	assert_int_equal(left[TOPOLOGY_LEFT_NEIGHBORS], 3);
	assert_int_equal(left[TOPOLOGY_LEFT_FDB], 1);
	assert_int_equal(json_integer_value(json_object_get(keys, "RoutingTablesLeftOut")), 7);
	assert_int_equal(json_integer_value(json_object_get(keys, "NeighborsLeftOut")), 3);
	assert_int_equal(json_integer_value(json_object_get(keys, "FDBLeftOut")), 1);
	/* what is kept: the bound's worth, all in table 254 */
	json_t *rt = json_object_get(keys, "RoutingTables");
	assert_int_equal(json_array_size(rt), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(rt, 0), "Routes")),
			 TOPO_MAX_ROUTES_PER_LINK);
	assert_int_equal(json_array_size(json_object_get(keys, "Neighbors")),
			 TOPO_MAX_NEIGH_PER_LINK);
	assert_int_equal(json_array_size(json_object_get(keys, "FDB")), TOPO_MAX_NEIGH_PER_LINK);
	json_decref(keys);
	/* the other link is within bounds: its LeftOut keys are JSON nulls (the key goes) */
	keys = json_object();
	topo_nl_snap_link(&s, 6, keys, left);
	assert_true(json_is_null(json_object_get(keys, "RoutingTablesLeftOut")));
	assert_true(json_is_null(json_object_get(keys, "NeighborsLeftOut")));
	assert_true(json_is_null(json_object_get(keys, "FDBLeftOut")));
	assert_int_equal(left[TOPOLOGY_LEFT_ROUTES], 7);
	json_decref(keys);
	topo_nl_snap_free(&s);
}

/* An RTM_NEWLINK message with IFLA_LINKINFO built by hand (no libnl writer, so the
 * parser is checked against the kernel's layout, not against itself). */
struct msgbuf {
	uint8_t b[512];
	size_t n;
};

static size_t put_attr(struct msgbuf *m, uint16_t type, const void *data, size_t len)
{
	size_t at = m->n;
	struct nlattr *a = (struct nlattr *)(m->b + at);
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy(m->b + at + NLA_HDRLEN, data, len);
	m->n += NLA_ALIGN(NLA_HDRLEN + len);
	return at;
}

static void end_nest(struct msgbuf *m, size_t at)
{
	((struct nlattr *)(m->b + at))->nla_len = (uint16_t)(m->n - at);
}

static void build_link(struct msgbuf *m, const char *kind, const char *slave_kind)
{
	memset(m, 0, sizeof(*m));
	m->n = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct ifinfomsg));
	size_t li = put_attr(m, IFLA_LINKINFO | NLA_F_NESTED, NULL, 0);
	if (kind) {
		put_attr(m, IFLA_INFO_KIND, kind, strlen(kind) + 1);
		size_t d = put_attr(m, IFLA_INFO_DATA | NLA_F_NESTED, NULL, 0);
		uint8_t mode = 4; /* 802.3ad */
		put_attr(m, IFLA_BOND_MODE, &mode, 1);
		end_nest(m, d);
	}
	if (slave_kind) {
		put_attr(m, IFLA_INFO_SLAVE_KIND, slave_kind, strlen(slave_kind) + 1);
		size_t d = put_attr(m, IFLA_INFO_SLAVE_DATA | NLA_F_NESTED, NULL, 0);
		uint8_t st = 1, mii = 2, actor = 61;
		uint32_t fails = 3;
		uint16_t q = 0, agg = 5, partner = 63;
		uint8_t perm[6] = {2, 0, 0, 0, 0, 0x42};
		put_attr(m, IFLA_BOND_SLAVE_STATE, &st, 1);
		put_attr(m, IFLA_BOND_SLAVE_MII_STATUS, &mii, 1);
		put_attr(m, IFLA_BOND_SLAVE_LINK_FAILURE_COUNT, &fails, 4);
		put_attr(m, IFLA_BOND_SLAVE_PERM_HWADDR, perm, 6);
		put_attr(m, IFLA_BOND_SLAVE_QUEUE_ID, &q, 2);
		put_attr(m, IFLA_BOND_SLAVE_AD_AGGREGATOR_ID, &agg, 2);
		put_attr(m, IFLA_BOND_SLAVE_AD_ACTOR_OPER_PORT_STATE, &actor, 1);
		put_attr(m, IFLA_BOND_SLAVE_AD_PARTNER_OPER_PORT_STATE, &partner, 2);
		end_nest(m, d);
	}
	end_nest(m, li);
	struct nlmsghdr *h = (struct nlmsghdr *)m->b;
	h->nlmsg_type = RTM_NEWLINK;
	h->nlmsg_len = (uint32_t)m->n;
}

static void test_bond(void **state)
{
	struct msgbuf m;
	struct topo_bond b;
	build_link(&m, "bond", NULL);
	assert_int_equal(topo_bond_parse(m.b, m.n, &b), 0);
	assert_true(b.is_bond && b.has_mode && !b.is_slave);
	assert_string_equal(topo_bond_mode_name(b.mode), "802.3ad");
	build_link(&m, NULL, "bond");
	assert_int_equal(topo_bond_parse(m.b, m.n, &b), 0);
	assert_true(!b.is_bond && b.is_slave);
	expect_json(topo_bond_slave_json(&b),
		    "{\"Type\":\"bond\",\"State\":\"BACKUP\",\"MiiStatus\":\"DOWN\","
		    "\"LinkFailureCount\":3,\"QueueId\":0,\"AggregatorId\":5,"
		    "\"AdActorOperPortState\":61,\"AdPartnerOperPortState\":63,"
		    "\"PermMAC\":\"02:00:00:00:00:42\"}");
	/* a bridge port is neither */
	build_link(&m, "veth", "bridge");
	assert_int_equal(topo_bond_parse(m.b, m.n, &b), 0);
	assert_true(!b.is_bond && !b.is_slave);
	/* malformed: short, wrong type, a length beyond the buffer */
	assert_int_equal(topo_bond_parse(m.b, 10, &b), -EINVAL);
	((struct nlmsghdr *)m.b)->nlmsg_type = RTM_NEWROUTE;
	assert_int_equal(topo_bond_parse(m.b, m.n, &b), -EINVAL);
	build_link(&m, "bond", NULL);
	((struct nlmsghdr *)m.b)->nlmsg_len = (uint32_t)m.n + 64;
	assert_int_equal(topo_bond_parse(m.b, m.n, &b), -EINVAL);
	assert_string_equal(topo_bond_mode_name(1), "active-backup");
	assert_string_equal(topo_bond_mode_name(42), "unknown");
	/* unnamed states print as numbers, as vishvananda/netlink's String() does */
	struct topo_bond u = {.state = 7, .mii_status = 9};
	json_t *j = topo_bond_slave_json(&u);
	assert_string_equal(json_string_value(json_object_get(j, "State")), "7");
	assert_string_equal(json_string_value(json_object_get(j, "MiiStatus")), "9");
	assert_null(json_object_get(j, "PermMAC"));
	json_decref(j);
}

/* ---- NextHop() ------------------------------------------------------------------- */

static char *run(struct graph *g, const char *text)
{
	struct gremlin_error err;
	struct gremlin_query *q = gremlin_parse(text, &err);
	char *out = NULL;
	if (!q) {
		if (asprintf(&out, "!%s", err.msg) < 0)
			return NULL;
		return out;
	}
	struct graph_view *v = graph_view_at(g, 0, NULL);
	struct gremlin_result res;
	if (gremlin_eval(q, v, NULL, &res, &err)) {
		if (asprintf(&out, "!%s", err.msg) < 0)
			out = NULL;
	} else {
		out = json_dumps(res.json, JSON_COMPACT);
		json_decref(res.json);
	}
	graph_view_free(v);
	gremlin_query_free(q);
	return out;
}

static void expect_q(struct graph *g, const char *q, const char *want)
{
	char *got = run(g, q);
	assert_non_null(got);
	if (strcmp(got, want))
		fail_msg("%s\n got  %s\n want %s", q, got, want);
	free(got);
}

static void add(struct graph *g, const char *id, const char *md)
{
	json_error_t e;
	json_t *j = json_loads(md, 0, &e);
	if (!j)
		fail_msg("%s: %s", md, e.text);
	assert_int_equal(graph_node_add(g, id, j, "h", "o", 1), 0);
}

static void test_nexthop(void **state)
{
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	/* Skydive's TestNextHopStep2: a route via a gateway, its MAC from Neighbors */
	add(g, "n2",
	    "{\"Name\":\"n2\",\"Neighbors\":[{\"IP\":\"10.16.0.2\",\"IfIndex\":2,\"MAC\":\"fa:16:3e:c1:e8:d1\"}],"
	    "\"RoutingTables\":[{\"ID\":255,\"Src\":\"\",\"Routes\":[{\"Protocol\":0,\"Prefix\":\"192.168.0.0/24\","
	    "\"NextHops\":[{\"Priority\":0,\"IP\":\"10.16.0.2\",\"IfIndex\":2}]}]}]}");
	expect_q(g, "G.V('n2').NextHop('192.168.0.5')",
		 "[{\"n2\":{\"Priority\":0,\"IP\":\"10.16.0.2\",\"MAC\":\"fa:16:3e:c1:e8:d1\",\"IfIndex\":2}}]");
	/* TestNextHopStep3: nothing matches but the default route */
	add(g, "n3",
	    "{\"Name\":\"n3\",\"Neighbors\":[{\"IP\":\"10.16.0.12\",\"IfIndex\":2,\"MAC\":\"fa:16:3e:ce:e8:d1\"}],"
	    "\"RoutingTables\":[{\"ID\":255,\"Src\":\"\",\"Routes\":[{\"Protocol\":0,\"Prefix\":\"0.0.0.0/0\","
	    "\"NextHops\":[{\"Priority\":0,\"IP\":\"10.16.0.12\",\"IfIndex\":2}]}]}]}");
	expect_q(g, "G.V('n3').NextHop('8.8.8.8')",
		 "[{\"n3\":{\"Priority\":0,\"IP\":\"10.16.0.12\",\"MAC\":\"fa:16:3e:ce:e8:d1\",\"IfIndex\":2}}]");
	/* TestNextHopStep4: the route of the network wins over the default one */
	add(g, "n4",
	    "{\"Name\":\"n4\",\"Neighbors\":[{\"IP\":\"10.16.0.12\",\"MAC\":\"fa:16:3e:ce:e8:d1\",\"IfIndex\":2},"
	    "{\"IP\":\"192.64.0.1\",\"MAC\":\"af:16:3e:de:e8:d3\",\"IfIndex\":2}],"
	    "\"RoutingTables\":[{\"ID\":255,\"Src\":\"\",\"Routes\":["
	    "{\"Protocol\":0,\"Prefix\":\"0.0.0.0/0\",\"NextHops\":[{\"Priority\":0,\"IP\":\"10.16.0.12\",\"IfIndex\":2}]},"
	    "{\"Protocol\":0,\"Prefix\":\"10.16.0.0/24\",\"NextHops\":[{\"Priority\":0,\"IP\":\"192.64.0.1\",\"IfIndex\":2}]}]}]}");
	expect_q(g, "G.V('n4').NextHop('10.16.0.7')",
		 "[{\"n4\":{\"Priority\":0,\"IP\":\"192.64.0.1\",\"MAC\":\"af:16:3e:de:e8:d3\",\"IfIndex\":2}}]");
	/* on-link: the target itself, without a MAC when no neighbour is known; a more
	 * specific gateway route wins over the connected network (longest prefix); a
	 * policy table comes before main; IPv6 */
	add(g, "x",
	    "{\"Name\":\"x\",\"RoutingTables\":["
	    "{\"ID\":254,\"Src\":\"10.0.0.1\",\"Routes\":["
	    "{\"Protocol\":2,\"Prefix\":\"10.0.0.0/24\",\"NextHops\":[{\"Priority\":0,\"IfIndex\":3}]},"
	    "{\"Protocol\":4,\"Prefix\":\"10.0.0.128/25\",\"NextHops\":[{\"Priority\":5,\"IP\":\"10.0.0.2\",\"IfIndex\":3}]},"
	    "{\"Protocol\":3,\"Prefix\":\"0.0.0.0/0\",\"NextHops\":[{\"Priority\":0,\"IP\":\"10.0.0.254\",\"IfIndex\":3}]},"
	    "{\"Protocol\":3,\"Prefix\":\"2001:db8::/64\",\"NextHops\":[{\"Priority\":1024,\"IP\":\"fe80::1\",\"IfIndex\":3}]}]},"
	    "{\"ID\":100,\"Src\":\"\",\"Routes\":["
	    "{\"Protocol\":4,\"Prefix\":\"10.7.0.0/16\",\"NextHops\":[{\"Priority\":0,\"IP\":\"10.0.0.7\",\"IfIndex\":3}]}]}]}");
	expect_q(g, "G.V('x').NextHop('10.0.0.9')", "[{\"x\":{\"Priority\":0,\"IP\":\"10.0.0.9\",\"IfIndex\":3}}]");
	expect_q(g, "G.V('x').NextHop('10.0.0.200')",
		 "[{\"x\":{\"Priority\":5,\"IP\":\"10.0.0.2\",\"IfIndex\":3}}]");
	expect_q(g, "G.V('x').NextHop('10.7.1.1')", "[{\"x\":{\"Priority\":0,\"IP\":\"10.0.0.7\",\"IfIndex\":3}}]");
	expect_q(g, "G.V('x').NextHop('192.0.2.1')",
		 "[{\"x\":{\"Priority\":0,\"IP\":\"10.0.0.254\",\"IfIndex\":3}}]");
	expect_q(g, "G.V('x').NextHop('2001:db8::42')",
		 "[{\"x\":{\"Priority\":1024,\"IP\":\"fe80::1\",\"IfIndex\":3}}]");
	/* no IPv6 default: no answer for another IPv6 network */
	expect_q(g, "G.V('x').NextHop('2001:db9::1')", "[]");
	/* several nodes in one map; nodes without routes are left out */
	add(g, "bare", "{\"Name\":\"bare\"}");
	expect_q(g, "G.V().Has('Name', Within('n3', 'bare')).NextHop('8.8.8.8')",
		 "[{\"n3\":{\"Priority\":0,\"IP\":\"10.16.0.12\",\"MAC\":\"fa:16:3e:ce:e8:d1\",\"IfIndex\":2}}]");
	expect_q(g, "G.V('bare').NextHop('8.8.8.8')", "[]");
	/* errors */
	char *e = run(g, "G.V().NextHop('300.1.1.1')");
	assert_non_null(strstr(e, "valid IP address"));
	free(e);
	e = run(g, "G.V().NextHop()");
	assert_non_null(strstr(e, "one parameter"));
	free(e);
	e = run(g, "G.E().NextHop('1.2.3.4')");
	assert_non_null(strstr(e, "does not apply"));
	free(e);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),	 cmocka_unit_test(test_neighbors),
		cmocka_unit_test(test_flags_state), cmocka_unit_test(test_features),
		cmocka_unit_test(test_vfs),	 cmocka_unit_test(test_bond),
		cmocka_unit_test(test_nexthop),	 cmocka_unit_test(test_vfs_netlink),
		cmocka_unit_test(test_left_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
