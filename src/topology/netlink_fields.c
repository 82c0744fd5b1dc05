/* netlink_fields.c - the netlink probe's fields beyond the link itself, read from
 * the kernel of the probe's namespace: routes and neighbours (one dump of each per
 * batch of changes, shared by the links of the batch), ethtool features, SR-IOV VFs,
 * bond data; turned into JSON by topo_fields.c. Called from the probe thread only. */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netlink/msg.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "common/log.h"
#include "topology/netlink_fields.h"

static void ip_of(struct nl_addr *a, struct topo_ip *out)
{
	out->len = 0;
	if (!a)
		return;
	unsigned n = nl_addr_get_len(a);
	int f = nl_addr_get_family(a);
	if ((f == AF_INET && n == 4) || (f == AF_INET6 && n == 16)) {
		memcpy(out->b, nl_addr_get_binary_addr(a), n);
		out->len = (uint8_t)n;
	}
}

/* ---- snapshot of routes and neighbours -------------------------------------------- */

void topo_nl_snap_free(struct topo_nl_snap *s)
{
	free(s->routes);
	free(s->neighs);
	memset(s, 0, sizeof(*s));
}

static int route_take(struct rtnl_route *r, struct topo_route *out)
{
	int fam = rtnl_route_get_family(r);
	if ((fam != AF_INET && fam != AF_INET6) || rtnl_route_get_flags(r) & RTM_F_CLONED)
		return 0;
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)fam;
	out->table = rtnl_route_get_table(r);
	out->protocol = rtnl_route_get_protocol(r);
	out->priority = rtnl_route_get_priority(r);
	struct nl_addr *dst = rtnl_route_get_dst(r);
	ip_of(dst, &out->dst);
	out->plen = dst ? (uint8_t)nl_addr_get_prefixlen(dst) : 0;
	if (!out->plen)
		out->dst.len = 0; /* 0.0.0.0/0 and ::/0: the default route */
	ip_of(rtnl_route_get_pref_src(r), &out->src);
	int nnh = rtnl_route_get_nnexthops(r);
	for (int i = 0; i < nnh && out->nnh < TOPO_MAX_NEXTHOPS; i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
		if (!nh)
			continue;
		struct topo_nexthop *x = &out->nh[out->nnh++];
		x->ifindex = rtnl_route_nh_get_ifindex(nh);
		ip_of(rtnl_route_nh_get_gateway(nh), &x->gw);
		if (!x->gw.len)
			ip_of(rtnl_route_nh_get_via(nh), &x->gw);
	}
	return out->nnh > 0;
}

static void neigh_take(struct rtnl_neigh *n, struct topo_neigh *out)
{
	memset(out, 0, sizeof(*out));
	out->family = (uint8_t)rtnl_neigh_get_family(n);
	out->ifindex = rtnl_neigh_get_ifindex(n);
	ip_of(rtnl_neigh_get_dst(n), &out->ip);
	struct nl_addr *ll = rtnl_neigh_get_lladdr(n);
	if (ll) {
		unsigned l = nl_addr_get_len(ll);
		if (l > sizeof(out->mac))
			l = sizeof(out->mac);
		memcpy(out->mac, nl_addr_get_binary_addr(ll), l);
		out->mac_len = (uint8_t)l;
	}
	int st = rtnl_neigh_get_state(n);
	out->state = st > 0 ? (uint16_t)st : 0;
	out->flags = (uint8_t)rtnl_neigh_get_flags(n);
	int vlan = rtnl_neigh_get_vlan(n);
	out->vlan = vlan > 0 ? vlan : 0;
}

static int dump_neighs(struct nl_sock *sk, struct topo_nl_snap *s)
{
	struct nl_cache *c;
	/* one dump per family of the cache (NL_CACHE_AF_ITER): AF_UNSPEC gives the ARP
	 * and NDP tables, AF_BRIDGE the bridges' forwarding databases */
	int rc = rtnl_neigh_alloc_cache_flags(sk, &c, NL_CACHE_AF_ITER);
	if (rc < 0)
		return rc;
	int total = nl_cache_nitems(c);
	s->neighs = calloc((size_t)total + 1, sizeof(*s->neighs));
	if (!s->neighs) {
		nl_cache_free(c);
		return -NLE_NOMEM;
	}
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_neigh *n = (struct rtnl_neigh *)o;
		int f = rtnl_neigh_get_family(n);
		if (f == AF_BRIDGE || f == AF_INET || f == AF_INET6)
			neigh_take(n, &s->neighs[s->n_neighs++]);
	}
	nl_cache_free(c);
	return 0;
}

int topo_nl_snap_take(struct nl_sock *sk, struct topo_nl_snap *s)
{
	memset(s, 0, sizeof(*s));
	struct nl_cache *c;
	int rc = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &c);
	if (rc < 0)
		goto err;
	int total = nl_cache_nitems(c);
	s->routes = calloc((size_t)total + 1, sizeof(*s->routes));
	if (!s->routes) {
		nl_cache_free(c);
		rc = -NLE_NOMEM;
		goto err;
	}
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o))
		if (route_take((struct rtnl_route *)o, &s->routes[s->n_routes]))
			s->n_routes++;
	nl_cache_free(c);
	if ((rc = dump_neighs(sk, s)) < 0)
		goto err;
	s->ok = 1;
	return 0;
err:
	log_warn("netlink probe: reading routes and neighbours: %s", nl_geterror(rc));
	topo_nl_snap_free(s);
	return -EIO;
}

static int route_uses(const struct topo_route *r, int ifindex)
{
	for (unsigned i = 0; i < r->nnh; i++)
		if (r->nh[i].ifindex == ifindex)
			return 1;
	return 0;
}

/* a count of entries left out, or a JSON null (the key goes) when there is none */
static json_t *left_json(size_t n)
{
	return n ? json_integer((json_int_t)n) : json_null();
}

void topo_nl_snap_link(const struct topo_nl_snap *s, int ifindex, json_t *keys,
		       uint64_t left[TOPOLOGY_LEFT_KINDS])
{
	json_t *rt = NULL, *nb = NULL, *fdb = NULL;
	if (!s->ok)
		return;
	size_t nr = 0, nn = 0, nf = 0;
	for (size_t i = 0; i < s->n_routes; i++)
		nr += route_uses(&s->routes[i], ifindex);
	for (size_t i = 0; i < s->n_neighs; i++)
		if (s->neighs[i].ifindex == ifindex) {
			if (s->neighs[i].family == AF_BRIDGE)
				nf++;
			else
				nn++;
		}
	/* bounded: what goes beyond is counted, not kept */
	size_t cr = nr < TOPO_MAX_ROUTES_PER_LINK ? nr : TOPO_MAX_ROUTES_PER_LINK;
	size_t cn = nn < TOPO_MAX_NEIGH_PER_LINK ? nn : TOPO_MAX_NEIGH_PER_LINK;
	size_t cf = nf < TOPO_MAX_NEIGH_PER_LINK ? nf : TOPO_MAX_NEIGH_PER_LINK;
	left[TOPOLOGY_LEFT_ROUTES] += nr - cr;
	left[TOPOLOGY_LEFT_NEIGHBORS] += nn - cn;
	left[TOPOLOGY_LEFT_FDB] += nf - cf;
	struct topo_route *mine = cr ? malloc(cr * sizeof(*mine)) : NULL;
	struct topo_neigh *nv = cn ? malloc(cn * sizeof(*nv)) : NULL;
	struct topo_neigh *fv = cf ? malloc(cf * sizeof(*fv)) : NULL;
	if ((cr && !mine) || (cn && !nv) || (cf && !fv)) {
		free(mine);
		free(nv);
		free(fv);
		return; /* out of memory: the keys stay as they were */
	}
	size_t kr = 0, kn = 0, kf = 0;
	for (size_t i = 0; i < s->n_routes && kr < cr; i++)
		if (route_uses(&s->routes[i], ifindex))
			mine[kr++] = s->routes[i];
	for (size_t i = 0; i < s->n_neighs; i++) {
		const struct topo_neigh *x = &s->neighs[i];
		if (x->ifindex != ifindex)
			continue;
		if (x->family == AF_BRIDGE) {
			if (kf < cf)
				fv[kf++] = *x;
		} else if (kn < cn) {
			nv[kn++] = *x;
		}
	}
	rt = topo_routing_tables_json(mine, kr);
	nb = topo_neighbors_json(nv, kn);
	fdb = topo_neighbors_json(fv, kf);
	free(mine);
	free(nv);
	free(fv);
	/* a JSON null: the key goes (the routes or neighbours went) */
	json_object_set_new(keys, "RoutingTables", rt ? rt : json_null());
	json_object_set_new(keys, "Neighbors", nb ? nb : json_null());
	json_object_set_new(keys, "FDB", fdb ? fdb : json_null());
	/* ours, not Skydive's: which link is incomplete, and by how much */
	json_object_set_new(keys, "RoutingTablesLeftOut", left_json(nr - cr));
	json_object_set_new(keys, "NeighborsLeftOut", left_json(nn - cn));
	json_object_set_new(keys, "FDBLeftOut", left_json(nf - cf));
}

/* ---- ethtool, VFs, bonds ---------------------------------------------------------- */

static int eth_ioctl(int fd, const char *name, void *data)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = data;
	return ioctl(fd, SIOCETHTOOL, &ifr);
}

json_t *topo_ethtool_features(int fd, const char *name)
{
	json_t *out = NULL;
	struct ethtool_sset_info *ss = calloc(1, sizeof(*ss) + sizeof(uint32_t));
	struct ethtool_gstrings *gs = NULL;
	struct ethtool_gfeatures *gf = NULL;
	if (fd < 0 || !ss)
		goto out;
	ss->cmd = ETHTOOL_GSSET_INFO;
	ss->sset_mask = 1ULL << ETH_SS_FEATURES;
	if (eth_ioctl(fd, name, ss) < 0 || !ss->sset_mask)
		goto out;
	uint32_t n = ss->data[0];
	if (!n || n > 4096)
		goto out;
	uint32_t words = (n + 31) / 32;
	gs = calloc(1, sizeof(*gs) + (size_t)n * ETH_GSTRING_LEN);
	gf = calloc(1, sizeof(*gf) + words * sizeof(gf->features[0]));
	if (!gs || !gf)
		goto out;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = n;
	if (eth_ioctl(fd, name, gs) < 0)
		goto out;
	gf->cmd = ETHTOOL_GFEATURES;
	gf->size = words;
	if (eth_ioctl(fd, name, gf) < 0)
		goto out;
	uint32_t *active = calloc(words, sizeof(*active));
	if (!active)
		goto out;
	for (uint32_t i = 0; i < words && i < gf->size; i++)
		active[i] = gf->features[i].active;
	out = topo_features_json((const char *)gs->data, gs->len < n ? gs->len : n, active, words);
	free(active);
out:
	free(ss);
	free(gs);
	free(gf);
	return out;
}

json_t *topo_link_vfs(struct rtnl_link *l)
{
	uint32_t n = 0;
	if (rtnl_link_get_num_vf(l, &n) < 0 || !n)
		return NULL;
	if (n > 1024)
		n = 1024;
	struct topo_vf *v = calloc(n, sizeof(*v));
	if (!v)
		return NULL;
	size_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct rtnl_link_vf *vf = rtnl_link_vf_get(l, i);
		if (!vf)
			continue;
		struct topo_vf *x = &v[k++];
		rtnl_link_vf_get_index(vf, &x->id);
		rtnl_link_vf_get_linkstate(vf, &x->link_state);
		uint32_t sc = 0;
		if (rtnl_link_vf_get_spoofchk(vf, &sc) == 0)
			x->spoofchk = sc != 0;
		struct nl_vf_rate rate = {0};
		if (rtnl_link_vf_get_rate(vf, &rate) == 0)
			x->tx_rate = rate.api == RTNL_LINK_VF_RATE_API_NEW ? rate.max_tx_rate : rate.rate;
		nl_vf_vlans_t *vl = NULL;
		if (rtnl_link_vf_get_vlans(vf, &vl) == 0 && vl) {
			if (vl->size > 0) {
				x->vlan = vl->vlans[0].vf_vlan;
				x->qos = vl->vlans[0].vf_vlan_qos;
			}
			rtnl_link_vf_vlan_put(vl); /* the getter took a reference */
		}
		struct nl_addr *mac = NULL;
		if (rtnl_link_vf_get_addr(vf, &mac) == 0 && mac && nl_addr_get_len(mac) >= 6)
			memcpy(x->mac, nl_addr_get_binary_addr(mac), 6);
		rtnl_link_vf_put(vf);
	}
	json_t *j = topo_vfs_json(v, k);
	free(v);
	return j;
}

struct bond_reply {
	struct topo_bond b;
	int got;
};

static int bond_valid(struct nl_msg *msg, void *arg)
{
	struct bond_reply *r = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	if (topo_bond_parse(h, h->nlmsg_len, &r->b) == 0)
		r->got = 1;
	return NL_OK;
}

void topo_link_bond(struct nl_sock *sk, struct rtnl_link *l, json_t *md)
{
	const char *kind = rtnl_link_get_type(l);
	const char *slave = rtnl_link_get_slave_type(l);
	int is_bond = kind && !strcmp(kind, "bond");
	if (!is_bond && !(slave && !strcmp(slave, "bond")))
		return;
	/* libnl keeps neither the bond mode nor the port's bond data: ask for the link */
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = rtnl_link_get_ifindex(l)};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETLINK, NLM_F_REQUEST);
	struct bond_reply r = {0};
	if (!msg)
		return;
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return;
	}
	/* nl_send_sync: the reply goes to the VALID callback, then the ack (or the
	 * error) ends the wait, so a link gone meanwhile cannot block the thread */
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, bond_valid, &r);
	nl_send_sync(sk, msg); /* frees msg */
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_DEFAULT, NULL, NULL);
	if (!r.got)
		return;
	if (is_bond)
		json_object_set_new(md, "BondMode",
				    json_string(r.b.has_mode ? topo_bond_mode_name(r.b.mode)
							     : topo_bond_mode_name(0)));
	if (r.b.is_slave) {
		json_t *s = topo_bond_slave_json(&r.b);
		if (s)
			json_object_set_new(md, "BondSlave", s);
	}
}
