/* netlink.c - the netlink probe of one network namespace: a thread that
 * enters the namespace (setns changes only the calling thread), keeps libnl
 * link and address caches current from rtnetlink notifications, turns each
 * changed link into node metadata, and refreshes interface counters on a
 * timer (the kernel sends no notification when counters move). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>

#include "common/log.h"
#include "topology/netlink_fields.h"
#include "topology/topo_int.h"

/* What changed of a link: the link itself (everything is read again), or only its
 * routes or neighbours (RoutingTables, Neighbors and FDB are). */
#define DIRTY_LINK 1u
#define DIRTY_RT   2u

struct dirty {
	int ifindex;
	unsigned what;
};

struct nlp {
	struct topo_ns *ns;
	struct nl_sock *mngr_sock, *sync_sock;
	struct nl_sock *ev_sock; /* route and neighbour notifications */
	struct nl_cache_mngr *mngr;
	struct nl_cache *links, *addrs;
	int ethfd;
	struct dirty *dirty;
	size_t n_dirty, cap_dirty;
	uint64_t left[TOPOLOGY_LEFT_KINDS]; /* entries beyond the per-link bounds, this batch */
};

static const char *ns_label(const struct topo_ns *ns)
{
	return ns->name ? ns->name : "root namespace";
}

static void dirty_mark(struct nlp *p, int ifindex, unsigned what)
{
	if (ifindex <= 0)
		return;
	for (size_t i = 0; i < p->n_dirty; i++)
		if (p->dirty[i].ifindex == ifindex) {
			p->dirty[i].what |= what;
			return;
		}
	if (p->n_dirty == p->cap_dirty) {
		size_t cap = p->cap_dirty ? p->cap_dirty * 2 : 32;
		struct dirty *n = realloc(p->dirty, cap * sizeof(*n));
		if (!n) {
			log_error("netlink probe: out of memory");
			return;
		}
		p->dirty = n;
		p->cap_dirty = cap;
	}
	p->dirty[p->n_dirty++] = (struct dirty){ifindex, what};
}

static void dirty_add(struct nlp *p, int ifindex)
{
	dirty_mark(p, ifindex, DIRTY_LINK | DIRTY_RT);
}

/* Whether a cached link object is a link's own: the cache also keeps
 * per-family objects (AF_INET6 link info) under the same ifindex, which
 * lack most attributes; AF_BRIDGE notifications of a bridge or a port are
 * merged by libnl into the link's own object, which then says AF_BRIDGE. */
static int link_family_ok(struct rtnl_link *l)
{
	int f = rtnl_link_get_family(l);
	return f == AF_UNSPEC || f == AF_BRIDGE;
}

static void on_link(struct nl_cache *c, struct nl_object *obj, int action, void *arg)
{
	dirty_add(arg, rtnl_link_get_ifindex((struct rtnl_link *)obj));
}

static void on_addr(struct nl_cache *c, struct nl_object *obj, int action, void *arg)
{
	dirty_add(arg, rtnl_addr_get_ifindex((struct rtnl_addr *)obj));
}

static void mark_all_dirty(struct nlp *p)
{
	for (struct nl_object *o = nl_cache_get_first(p->links); o; o = nl_cache_get_next(o))
		if (link_family_ok((struct rtnl_link *)o))
			dirty_add(p, rtnl_link_get_ifindex((struct rtnl_link *)o));
	/* Links we still have but the kernel no longer lists. */
	struct topology *t = p->ns->t;
	graph_lock(t->g);
	for (size_t i = 0; i < t->n_intfs; i++)
		if (t->intfs[i]->ns == p->ns)
			dirty_add(p, t->intfs[i]->info.ifindex);
	graph_unlock(t->g);
}

/* Go's net.HardwareAddr.String(): colon-separated hex of any length. */
static json_t *mac_json(struct nl_addr *a)
{
	char buf[3 * 32] = "";
	if (a) {
		unsigned n = nl_addr_get_len(a);
		topo_mac_str(nl_addr_get_binary_addr(a), n > 32 ? 32 : n, buf, sizeof(buf));
	}
	return json_string(buf);
}

/* Driver (and BusInfo, NULL when the driver answers no ETHTOOL_GDRVINFO, as
 * Skydive leaves it out then) and Speed (-1: unknown). */
static void ethtool_info(struct nlp *p, const char *name, char *driver, size_t dlen,
			 char *bus, size_t blen, int *has_bus, int64_t *speed)
{
	struct ifreq ifr;
	struct ethtool_drvinfo di;
	driver[0] = 0;
	bus[0] = 0;
	*has_bus = 0;
	*speed = -1;
	if (p->ethfd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	memset(&di, 0, sizeof(di));
	di.cmd = ETHTOOL_GDRVINFO;
	ifr.ifr_data = (void *)&di;
	if (ioctl(p->ethfd, SIOCETHTOOL, &ifr) == 0) {
		snprintf(driver, dlen, "%.*s", (int)sizeof(di.driver), di.driver);
		snprintf(bus, blen, "%.*s", (int)sizeof(di.bus_info), di.bus_info);
		*has_bus = 1;
	}

	struct ethtool_cmd ec;
	memset(&ec, 0, sizeof(ec));
	ec.cmd = ETHTOOL_GSET;
	ifr.ifr_data = (void *)&ec;
	if (ioctl(p->ethfd, SIOCETHTOOL, &ifr) == 0) {
		/* Not ethtool_cmd_speed(): its int shift overflows on SPEED_UNKNOWN. */
		uint32_t s = (uint32_t)ec.speed_hi << 16 | ec.speed;
		if (s && s != (uint32_t)SPEED_UNKNOWN)
			*speed = s;
	}
}

/* The veth driver's "peer_ifindex" statistic (what Skydive reads): the
 * kernel leaves IFLA_LINK out when the peer's ifindex equals the link's own,
 * which is common across fresh namespaces. 0 when unknown. */
static int ethtool_peer_ifindex(struct nlp *p, const char *name)
{
	struct ifreq ifr;
	int peer = 0;
	struct ethtool_sset_info *ss = calloc(1, sizeof(*ss) + sizeof(uint32_t));
	struct ethtool_gstrings *gs = NULL;
	struct ethtool_stats *st = NULL;
	if (p->ethfd < 0 || !ss)
		goto out;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ss->cmd = ETHTOOL_GSSET_INFO;
	ss->sset_mask = 1ULL << ETH_SS_STATS;
	ifr.ifr_data = (void *)ss;
	if (ioctl(p->ethfd, SIOCETHTOOL, &ifr) < 0 || !ss->sset_mask)
		goto out;
	uint32_t n = ss->data[0];
	if (!n || n > 4096)
		goto out;
	gs = calloc(1, sizeof(*gs) + (size_t)n * ETH_GSTRING_LEN);
	st = calloc(1, sizeof(*st) + (size_t)n * sizeof(uint64_t));
	if (!gs || !st)
		goto out;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_STATS;
	gs->len = n;
	ifr.ifr_data = (void *)gs;
	if (ioctl(p->ethfd, SIOCETHTOOL, &ifr) < 0)
		goto out;
	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n;
	ifr.ifr_data = (void *)st;
	if (ioctl(p->ethfd, SIOCETHTOOL, &ifr) < 0)
		goto out;
	for (uint32_t i = 0; i < n && i < st->n_stats; i++)
		if (!strncmp((const char *)gs->data + (size_t)i * ETH_GSTRING_LEN, "peer_ifindex",
			     ETH_GSTRING_LEN)) {
			peer = (int)st->data[i];
			break;
		}
out:
	free(ss);
	free(gs);
	free(st);
	return peer;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* IPV4 or IPV6: sorted CIDR strings of the link, so that a cache reorder
 * does not look like a change. NULL when there are none. */
static json_t *addr_json(struct nlp *p, int ifindex, int family)
{
	char *v[256];
	size_t n = 0;
	for (struct nl_object *o = nl_cache_get_first(p->addrs); o && n < 256;
	     o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != family)
			continue;
		struct nl_addr *local = rtnl_addr_get_local(a);
		if (!local)
			continue;
		char ip[INET6_ADDRSTRLEN];
		if (!inet_ntop(family, nl_addr_get_binary_addr(local), ip, sizeof(ip)))
			continue;
		if (asprintf(&v[n], "%s/%d", ip, rtnl_addr_get_prefixlen(a)) < 0)
			continue;
		n++;
	}
	if (!n)
		return NULL;
	qsort(v, n, sizeof(v[0]), cmp_str);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if (arr)
			json_array_append_new(arr, json_string(v[i]));
		free(v[i]);
	}
	return arr;
}

static void link_counters(struct rtnl_link *l, uint64_t v[TOPOLOGY_METRIC_COUNT])
{
	for (int i = 0; i < TOPOLOGY_METRIC_COUNT; i++)
		v[i] = rtnl_link_get_stat(l, (rtnl_link_stat_id_t)(RTNL_LINK_RX_PACKETS + i));
}

static json_t *link_metadata(struct nlp *p, struct rtnl_link *l, struct topo_link_info *li,
			     const struct topo_nl_snap *snap, int64_t now_ms)
{
	memset(li, 0, sizeof(*li));
	li->ifindex = rtnl_link_get_ifindex(l);
	const char *name = rtnl_link_get_name(l);
	snprintf(li->name, sizeof(li->name), "%s", name ? name : "");
	const char *kind = rtnl_link_get_type(l);
	char driver[64], bus[64];
	int64_t speed;
	int has_bus;
	ethtool_info(p, li->name, driver, sizeof(driver), bus, sizeof(bus), &has_bus, &speed);
	snprintf(li->type, sizeof(li->type), "%s", topology_link_type(kind, driver));
	if (!driver[0] && kind && !strcmp(kind, "bridge"))
		snprintf(driver, sizeof(driver), "bridge");

	int iflink = rtnl_link_get_link(l);
	int32_t nsid;
	li->peer_nsid = -1;
	/* IFLA_LINK_NETNSID of any link (a veth's peer, a vxlan's underlay ...) */
	if (rtnl_link_get_link_netnsid(l, &nsid) == 0 && nsid >= 0)
		li->peer_nsid = nsid;
	if (!strcmp(li->type, "veth")) {
		li->peer_ifindex = ethtool_peer_ifindex(p, li->name);
		if (!li->peer_ifindex)
			li->peer_ifindex = iflink;
	} else if (iflink && iflink != li->ifindex) {
		li->parent = iflink;
	}
	li->master = rtnl_link_get_master(l);
	if (rtnl_link_is_vlan(l))
		li->vlan = rtnl_link_vlan_get_id(l);

	json_t *md = json_object();
	if (!md)
		return NULL;
	json_object_set_new(md, "Name", json_string(li->name));
	json_object_set_new(md, "Type", json_string(li->type));
	json_object_set_new(md, "EncapType",
			    json_string(topology_encap_type(rtnl_link_get_arptype(l))));
	json_object_set_new(md, "IfIndex", json_integer(li->ifindex));
	/* as Skydive: MAC and MTU only when the link has them */
	json_t *mac = mac_json(rtnl_link_get_addr(l));
	if (mac && *json_string_value(mac))
		json_object_set_new(md, "MAC", mac);
	else
		json_decref(mac);
	if (rtnl_link_get_mtu(l))
		json_object_set_new(md, "MTU", json_integer(rtnl_link_get_mtu(l)));
	json_object_set_new(md, "Driver", json_string(driver));
	if (has_bus)
		json_object_set_new(md, "BusInfo", json_string(bus));
	/* Skydive's State is the operational state (IFLA_OPERSTATE), LinkFlags the
	 * administrative flags */
	json_object_set_new(md, "State", json_string(topo_operstate_name(rtnl_link_get_operstate(l))));
	json_object_set_new(md, "LinkFlags", topo_link_flags_json(rtnl_link_get_flags(l)));
	if (li->peer_nsid >= 0)
		json_object_set_new(md, "LinkNetNsID", json_integer(li->peer_nsid));
	json_t *feat = topo_ethtool_features(p->ethfd, li->name);
	if (feat)
		json_object_set_new(md, "Features", feat);
	json_t *vfs = topo_link_vfs(l);
	if (vfs)
		json_object_set_new(md, "Vfs", vfs);
	topo_link_bond(p->sync_sock, l, md);
	if (snap) {
		json_t *keys = json_object();
		if (keys) {
			topo_nl_snap_link(snap, li->ifindex, keys, p->left);
			const char *k;
			json_t *v;
			json_object_foreach(keys, k, v)
			{
				if (!json_is_null(v))
					json_object_set(md, k, v);
			}
			json_decref(keys);
		}
	}
	if (li->master)
		json_object_set_new(md, "MasterIndex", json_integer(li->master));
	if (li->parent)
		json_object_set_new(md, "ParentIndex", json_integer(li->parent));
	if (li->peer_ifindex)
		json_object_set_new(md, "PeerIfIndex", json_integer(li->peer_ifindex));
	if (li->vlan)
		json_object_set_new(md, "Vlan", json_integer(li->vlan));
	if (speed > 0)
		json_object_set_new(md, "Speed", json_integer(speed));
	json_t *a4 = addr_json(p, li->ifindex, AF_INET);
	if (a4)
		json_object_set_new(md, "IPV4", a4);
	json_t *a6 = addr_json(p, li->ifindex, AF_INET6);
	if (a6)
		json_object_set_new(md, "IPV6", a6);
	uint64_t v[TOPOLOGY_METRIC_COUNT];
	link_counters(l, v);
	json_t *m = topology_metric_json(v, 0, now_ms);
	if (m)
		json_object_set_new(md, "Metric", m);
	return md;
}

/* The link's own object (rtnl_link_get() may return a per-family one),
 * AF_UNSPEC preferred. Referenced; NULL if gone. */
static struct rtnl_link *link_lookup(struct nl_cache *links, int ifindex)
{
	struct rtnl_link *best = NULL;
	for (struct nl_object *o = nl_cache_get_first(links); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		if (rtnl_link_get_ifindex(l) != ifindex || !link_family_ok(l))
			continue;
		if (!best || rtnl_link_get_family(l) == AF_UNSPEC)
			best = l;
	}
	if (best)
		nl_object_get((struct nl_object *)best);
	return best;
}

struct upd {
	struct topo_link_info li;
	json_t *md; /* the link's new metadata (DIRTY_LINK) */
	int gone;   /* the link is gone */
};

/* Applies the links marked dirty. Metadata is built before taking the graph
 * lock (ethtool ioctls, one dump of routes and neighbours for the whole batch),
 * then applied in one batch. */
static void flush(struct nlp *p)
{
	if (!p->n_dirty)
		return;
	struct topology *t = p->ns->t;
	int64_t now = topo_now_ms();
	size_t n = p->n_dirty;
	struct upd *u = calloc(n, sizeof(*u));
	json_t **keys = calloc(n, sizeof(*keys));
	if (!u || !keys) {
		log_error("netlink probe: out of memory");
		free(u);
		free(keys);
		return;
	}
	struct topo_nl_snap snap;
	topo_nl_snap_take(p->sync_sock, &snap);
	memset(p->left, 0, sizeof(p->left));
	for (size_t i = 0; i < n; i++) {
		u[i].li.ifindex = p->dirty[i].ifindex;
		struct rtnl_link *l = link_lookup(p->links, p->dirty[i].ifindex);
		if (!l) {
			u[i].gone = 1;
			continue;
		}
		if (p->dirty[i].what & DIRTY_LINK) {
			u[i].md = link_metadata(p, l, &u[i].li, &snap, now);
		} else if (snap.ok && (keys[i] = json_object())) {
			topo_nl_snap_link(&snap, u[i].li.ifindex, keys[i], p->left);
		}
		rtnl_link_put(l);
	}
	topo_nl_snap_free(&snap);
	uint64_t lo = p->left[0] + p->left[1] + p->left[2];
	if (lo) {
		topo_left_out_add(p->ns->t, p->left);
		log_warn("netlink probe (%s): %llu routes, %llu neighbours and %llu FDB entries "
			 "left out of links beyond %d per link (RoutingTablesLeftOut ... on "
			 "their nodes)",
			 ns_label(p->ns), (unsigned long long)p->left[TOPOLOGY_LEFT_ROUTES],
			 (unsigned long long)p->left[TOPOLOGY_LEFT_NEIGHBORS],
			 (unsigned long long)p->left[TOPOLOGY_LEFT_FDB], TOPO_MAX_ROUTES_PER_LINK);
	}
	graph_lock(t->g);
	for (size_t i = 0; i < n; i++) {
		if (u[i].md)
			topo_intf_upsert(t, p->ns, &u[i].li, u[i].md, now);
		else if (keys[i]) {
			topo_intf_set_keys(t, p->ns, u[i].li.ifindex, keys[i], now);
			keys[i] = NULL; /* stolen */
		}
		else if (u[i].gone)
			topo_intf_remove(t, p->ns, u[i].li.ifindex, now);
	}
	topo_reconcile_edges(t, now);
	graph_unlock(t->g);
	p->n_dirty = 0;
	for (size_t i = 0; i < n; i++)
		json_decref(keys[i]);
	free(keys);
	free(u);
}

static void refresh_metrics(struct nlp *p)
{
	struct nl_cache *c;
	int rc = rtnl_link_alloc_cache(p->sync_sock, AF_UNSPEC, &c);
	if (rc < 0) {
		log_warn("netlink probe (%s): reading counters: %s", ns_label(p->ns),
			 nl_geterror(rc));
		return;
	}
	struct topology *t = p->ns->t;
	int64_t now = topo_now_ms();
	graph_lock(t->g);
	for (struct nl_object *o = nl_cache_get_first(c); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		if (!link_family_ok(l))
			continue;
		uint64_t v[TOPOLOGY_METRIC_COUNT];
		link_counters(l, v);
		json_t *m = topology_metric_json(v, 0, now);
		if (m)
			topo_intf_set_metric(t, p->ns, rtnl_link_get_ifindex(l), m, now);
	}
	graph_unlock(t->g);
	nl_cache_free(c);
}

/* A route or neighbour notification: the links it concerns get their routes and
 * neighbours read again at the next flush (the kernel removes IPv4 routes of a link
 * going down without telling: a link change reads them again too). */
static int on_event(struct nl_msg *msg, void *arg)
{
	struct nlp *p = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	switch (h->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ndmsg)))
			dirty_mark(p, ((struct ndmsg *)nlmsg_data(h))->ndm_ifindex, DIRTY_RT);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		struct rtnl_route *r = NULL;
		if (rtnl_route_parse(h, &r) < 0 || !r)
			break;
		int nnh = rtnl_route_get_nnexthops(r);
		for (int i = 0; i < nnh; i++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
			if (nh)
				dirty_mark(p, rtnl_route_nh_get_ifindex(nh), DIRTY_RT);
		}
		rtnl_route_put(r);
		break;
	}
	default:
		break;
	}
	return NL_OK;
}

static void mark_all_rt(struct nlp *p)
{
	for (struct nl_object *o = nl_cache_get_first(p->links); o; o = nl_cache_get_next(o))
		if (link_family_ok((struct rtnl_link *)o))
			dirty_mark(p, rtnl_link_get_ifindex((struct rtnl_link *)o), DIRTY_RT);
}

static void read_events(struct nlp *p)
{
	for (;;) {
		int rc = nl_recvmsgs_default(p->ev_sock);
		if (rc >= 0)
			continue;
		if (rc == -NLE_AGAIN)
			break;
		if (rc == -NLE_NOMEM) { /* ENOBUFS: notifications lost, read everything */
			log_warn("netlink probe (%s): route/neighbour notifications lost; resyncing",
				 ns_label(p->ns));
			mark_all_rt(p);
			continue;
		}
		log_warn("netlink probe (%s): route/neighbour notifications: %s", ns_label(p->ns),
			 nl_geterror(rc));
		mark_all_rt(p);
		break;
	}
}

/* Features change without a netlink notification the link cache would see (ethtool
 * -K): read them again on a timer, as Skydive does every 5 s. */
#define FEATURES_PERIOD_MS 5000
static void refresh_features(struct nlp *p)
{
	size_t cap = (size_t)nl_cache_nitems(p->links), n = 0;
	int *idx = calloc(cap + 1, sizeof(*idx));
	json_t **keys = calloc(cap + 1, sizeof(*keys));
	for (struct nl_object *o = nl_cache_get_first(p->links); idx && keys && o && n < cap;
	     o = nl_cache_get_next(o)) {
		struct rtnl_link *l = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(l);
		if (!link_family_ok(l) || !name)
			continue;
		json_t *f = topo_ethtool_features(p->ethfd, name);
		keys[n] = json_pack("{so}", "Features", f ? f : json_null());
		idx[n++] = rtnl_link_get_ifindex(l);
	}
	struct topology *t = p->ns->t;
	int64_t now = topo_now_ms();
	graph_lock(t->g);
	for (size_t i = 0; i < n; i++)
		if (keys[i]) {
			topo_intf_set_keys(t, p->ns, idx[i], keys[i], now);
			keys[i] = NULL;
		}
	graph_unlock(t->g);
	free(idx);
	free(keys);
}

static int nsid_reply(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[NETNSA_MAX + 1];
	if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct rtgenmsg), tb, NETNSA_MAX, NULL) == 0 &&
	    tb[NETNSA_NSID])
		*(int *)arg = (int)nla_get_s32(tb[NETNSA_NSID]);
	return NL_OK;
}

int topo_nsid_of(struct nl_sock *sk, int fd)
{
	int nsid = -1;
	struct rtgenmsg rt = {.rtgen_family = AF_UNSPEC};
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_GETNSID, NLM_F_REQUEST);
	if (!msg)
		return -1;
	if (nlmsg_append(msg, &rt, sizeof(rt), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, NETNSA_FD, (uint32_t)fd) < 0 || nl_send_auto(sk, msg) < 0) {
		nlmsg_free(msg);
		return -1;
	}
	nlmsg_free(msg);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, nsid_reply, &nsid);
	if (nl_recvmsgs_default(sk) < 0)
		return -1;
	return nsid;
}

static int nlp_open(struct nlp *p)
{
	int rc;
	p->mngr_sock = nl_socket_alloc();
	p->sync_sock = nl_socket_alloc();
	if (!p->mngr_sock || !p->sync_sock)
		return -ENOMEM;
	/* No NL_AUTO_PROVIDE: caches of other namespaces must not be shared. */
	rc = nl_cache_mngr_alloc(p->mngr_sock, NETLINK_ROUTE, 0, &p->mngr);
	if (rc < 0)
		goto nlerr;
	/* Room for bursts (a namespace with many links going away at once). */
	nl_socket_set_buffer_size(p->mngr_sock, 4 << 20, 0);
	rc = nl_cache_mngr_add(p->mngr, "route/link", on_link, p, &p->links);
	if (rc < 0)
		goto nlerr;
	rc = nl_cache_mngr_add(p->mngr, "route/addr", on_addr, p, &p->addrs);
	if (rc < 0)
		goto nlerr;
	rc = nl_connect(p->sync_sock, NETLINK_ROUTE);
	if (rc < 0)
		goto nlerr;
	p->ev_sock = nl_socket_alloc();
	if (!p->ev_sock)
		return -ENOMEM;
	nl_socket_disable_seq_check(p->ev_sock);
	nl_socket_modify_cb(p->ev_sock, NL_CB_VALID, NL_CB_CUSTOM, on_event, p);
	if ((rc = nl_connect(p->ev_sock, NETLINK_ROUTE)) < 0 ||
	    (rc = nl_socket_add_memberships(p->ev_sock, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
					    RTNLGRP_NEIGH, 0)) < 0 ||
	    (rc = nl_socket_set_nonblocking(p->ev_sock)) < 0)
		goto nlerr;
	nl_socket_set_buffer_size(p->ev_sock, 4 << 20, 0);
	p->ethfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* Bound to this namespace for good: other threads use it (graph lock)
	 * to learn which namespace a veth peer's nsid names. */
	struct nl_sock *nsid_sock = nl_socket_alloc();
	if (nsid_sock && nl_connect(nsid_sock, NETLINK_ROUTE) == 0) {
		nl_socket_disable_auto_ack(nsid_sock);
		graph_lock(p->ns->t->g);
		p->ns->nsid_sock = nsid_sock;
		graph_unlock(p->ns->t->g);
	} else {
		nl_socket_free(nsid_sock);
	}
	return 0;
nlerr:
	log_warn("netlink probe (%s): %s", ns_label(p->ns), nl_geterror(rc));
	return -EIO;
}

static void nlp_close(struct nlp *p)
{
	struct topology *t = p->ns->t;
	graph_lock(t->g);
	struct nl_sock *nsid_sock = p->ns->nsid_sock;
	p->ns->nsid_sock = NULL;
	graph_unlock(t->g);
	nl_socket_free(nsid_sock);
	if (p->mngr)
		nl_cache_mngr_free(p->mngr); /* frees the caches it holds */
	nl_socket_free(p->mngr_sock);
	nl_socket_free(p->sync_sock);
	nl_socket_free(p->ev_sock);
	if (p->ethfd >= 0)
		close(p->ethfd);
	free(p->dirty);
}

static void *probe_main(void *arg)
{
	struct topo_ns *ns = arg;
	struct nlp p = {.ns = ns, .ethfd = -1};
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are for the main thread */

	if (ns->path) {
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			log_warn("netlink probe: cannot enter netns %s: %s", ns->path,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		close(fd);
	}
	if (nlp_open(&p) < 0)
		goto out;

	mark_all_dirty(&p);
	flush(&p);

	int64_t period = ns->t->metrics_update_ms;
	int64_t next_metrics = topo_now_ms() + period;
	int64_t next_features = topo_now_ms() + FEATURES_PERIOD_MS;
	struct pollfd pfd[3] = {{.fd = nl_cache_mngr_get_fd(p.mngr), .events = POLLIN},
				{.fd = ns->stop_fd, .events = POLLIN},
				{.fd = nl_socket_get_fd(p.ev_sock), .events = POLLIN}};
	for (;;) {
		int64_t wait = next_metrics - topo_now_ms();
		if (next_features - topo_now_ms() < wait)
			wait = next_features - topo_now_ms();
		if (wait < 0)
			wait = 0;
		int n = poll(pfd, 3, (int)wait);
		if (n < 0 && errno != EINTR) {
			log_error("netlink probe (%s): poll: %s", ns_label(ns), strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (n > 0 && pfd[0].revents) {
			int rc = nl_cache_mngr_data_ready(p.mngr);
			if (rc < 0) {
				/* Notifications lost (socket buffer overrun): resync. */
				log_warn("netlink probe (%s): %s; resyncing", ns_label(ns),
					 nl_geterror(rc));
				nl_cache_resync(p.sync_sock, p.links, on_link, &p);
				nl_cache_resync(p.sync_sock, p.addrs, on_addr, &p);
				mark_all_dirty(&p);
			}
			flush(&p);
		}
		if (n > 0 && pfd[2].revents) {
			read_events(&p);
			flush(&p);
		}
		if (topo_now_ms() >= next_features) {
			refresh_features(&p);
			next_features = topo_now_ms() + FEATURES_PERIOD_MS;
		}
		if (topo_now_ms() >= next_metrics) {
			refresh_metrics(&p);
			next_metrics = topo_now_ms() + period;
		}
	}
out:
	nlp_close(&p);
	return NULL;
}

int topo_netlink_start(struct topo_ns *ns)
{
	ns->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ns->stop_fd < 0)
		return -errno;
	int rc = pthread_create(&ns->thread, NULL, probe_main, ns);
	if (rc) {
		close(ns->stop_fd);
		ns->stop_fd = -1;
		return -rc;
	}
	ns->thread_started = 1;
	return 0;
}

void topo_netlink_stop(struct topo_ns *ns)
{
	if (ns->thread_started) {
		uint64_t one = 1;
		if (write(ns->stop_fd, &one, sizeof(one)) < 0)
			log_warn("netlink probe: waking the thread: %s", strerror(errno));
		pthread_join(ns->thread, NULL);
		ns->thread_started = 0;
	}
	if (ns->stop_fd >= 0) {
		close(ns->stop_fd);
		ns->stop_fd = -1;
	}
}
