/* topo_fields.c - typed netlink data to Skydive's JSON shapes (topo_fields.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "topology/topo_fields.h"

const char *topo_ip_str(const struct topo_ip *a, char *buf, size_t len)
{
	buf[0] = 0;
	if (a->len == 4 || a->len == 16)
		inet_ntop(a->len == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len);
	return buf;
}

void topo_mac_str(const uint8_t *b, size_t n, char *buf, size_t len)
{
	size_t w = 0;
	buf[0] = 0;
	for (size_t i = 0; i < n && w + 3 < len; i++)
		w += (size_t)snprintf(buf + w, len - w, i ? ":%02x" : "%02x", b[i]);
}

static int ip_cmp(const struct topo_ip *a, const struct topo_ip *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(a->b, b->b, a->len);
}

/* ---- RoutingTables ------------------------------------------------------------- */

static int route_cmp(const void *pa, const void *pb)
{
	const struct topo_route *a = *(const struct topo_route *const *)pa;
	const struct topo_route *b = *(const struct topo_route *const *)pb;
	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen > b->plen ? -1 : 1; /* longest prefix first */
	int c = ip_cmp(&a->dst, &b->dst);
	if (c)
		return c;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	return 0;
}

static json_t *prefix_json(const struct topo_route *r)
{
	char ip[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 8];
	if (r->dst.len)
		topo_ip_str(&r->dst, ip, sizeof(ip));
	else
		snprintf(ip, sizeof(ip), "%s", r->family == AF_INET6 ? "::" : "0.0.0.0");
	snprintf(s, sizeof(s), "%s/%u", ip, r->plen);
	return json_string(s);
}

/* The route object of (protocol, prefix) in routes, appended when missing. */
static json_t *route_get(json_t *routes, const struct topo_route *r, json_t *prefix)
{
	size_t i;
	json_t *o;
	json_array_foreach(routes, i, o)
	{
		if (json_integer_value(json_object_get(o, "Protocol")) == r->protocol &&
		    json_equal(json_object_get(o, "Prefix"), prefix))
			return o;
	}
	o = json_pack("{sIsOs[]}", "Protocol", (json_int_t)r->protocol, "Prefix", prefix,
		      "NextHops");
	if (!o || json_array_append_new(routes, o))
		return NULL;
	return o;
}

static int nexthop_add(json_t *nhs, const struct topo_nexthop *nh, uint32_t priority)
{
	char ip[INET6_ADDRSTRLEN];
	topo_ip_str(&nh->gw, ip, sizeof(ip));
	size_t i;
	json_t *o;
	json_array_foreach(nhs, i, o)
	{
		const char *oip = json_string_value(json_object_get(o, "IP"));
		if (json_integer_value(json_object_get(o, "IfIndex")) == nh->ifindex &&
		    !strcmp(oip ? oip : "", ip))
			return 0;
	}
	o = json_pack("{sI}", "Priority", (json_int_t)priority);
	if (!o)
		return -ENOMEM;
	if (ip[0])
		json_object_set_new(o, "IP", json_string(ip));
	json_object_set_new(o, "IfIndex", json_integer(nh->ifindex));
	return json_array_append_new(nhs, o) ? -ENOMEM : 0;
}

json_t *topo_routing_tables_json(const struct topo_route *r, size_t n)
{
	if (!n)
		return NULL;
	const struct topo_route **v = malloc(n * sizeof(*v));
	json_t *out = json_array();
	if (!v || !out)
		goto oom;
	for (size_t i = 0; i < n; i++)
		v[i] = &r[i];
	qsort(v, n, sizeof(*v), route_cmp);
	json_t *table = NULL, *routes = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct topo_route *x = v[i];
		if (!table || (uint32_t)json_integer_value(json_object_get(table, "ID")) != x->table) {
			table = json_pack("{sIsss[]}", "ID", (json_int_t)x->table, "Src", "", "Routes");
			if (!table || json_array_append_new(out, table))
				goto oom;
			routes = json_object_get(table, "Routes");
		}
		if (x->src.len && !*json_string_value(json_object_get(table, "Src"))) {
			char ip[INET6_ADDRSTRLEN];
			json_object_set_new(table, "Src", json_string(topo_ip_str(&x->src, ip, sizeof(ip))));
		}
		json_t *prefix = prefix_json(x);
		json_t *route = prefix ? route_get(routes, x, prefix) : NULL;
		json_decref(prefix);
		if (!route)
			goto oom;
		json_t *nhs = json_object_get(route, "NextHops");
		for (unsigned k = 0; k < x->nnh; k++)
			if (nexthop_add(nhs, &x->nh[k], x->priority))
				goto oom;
	}
	free(v);
	return out;
oom:
	free(v);
	json_decref(out);
	return NULL;
}

/* ---- Neighbors / FDB ------------------------------------------------------------ */

/* By bit position, as the kernel defines them (linux/neighbour.h). */
static const char *const nud_names[] = {"NUD_INCOMPLETE", "NUD_REACHABLE", "NUD_STALE",
					"NUD_DELAY",	  "NUD_PROBE",	   "NUD_FAILED",
					"NUD_NOARP",	  "NUD_PERMANENT"};
static const char *const ntf_names[] = {"NTF_USE",	   "NTF_SELF",	    "NTF_MASTER",
					"NTF_PROXY",	   "NTF_EXT_LEARNED", "NTF_OFFLOADED",
					"NTF_STICKY",	   "NTF_ROUTER"};

static json_t *bits_json(unsigned bits, const char *const *names, unsigned nnames)
{
	json_t *a = NULL;
	for (unsigned i = 0; i < nnames; i++)
		if (bits & (1u << i)) {
			if (!a && !(a = json_array()))
				return NULL;
			json_array_append_new(a, json_string(names[i]));
		}
	return a;
}

static int neigh_cmp(const void *pa, const void *pb)
{
	const struct topo_neigh *a = *(const struct topo_neigh *const *)pa;
	const struct topo_neigh *b = *(const struct topo_neigh *const *)pb;
	int c = ip_cmp(&a->ip, &b->ip);
	if (c)
		return c;
	if (a->mac_len != b->mac_len)
		return a->mac_len < b->mac_len ? -1 : 1;
	if ((c = memcmp(a->mac, b->mac, a->mac_len)))
		return c;
	if (a->vlan != b->vlan)
		return a->vlan < b->vlan ? -1 : 1;
	return (int)a->flags - (int)b->flags;
}

json_t *topo_neighbors_json(const struct topo_neigh *nv, size_t n)
{
	if (!n)
		return NULL;
	const struct topo_neigh **v = malloc(n * sizeof(*v));
	json_t *out = json_array();
	if (!v || !out)
		goto oom;
	for (size_t i = 0; i < n; i++)
		v[i] = &nv[i];
	qsort(v, n, sizeof(*v), neigh_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct topo_neigh *x = v[i];
		json_t *o = json_object();
		if (!o || json_array_append_new(out, o))
			goto oom;
		json_t *f = bits_json(x->flags, ntf_names, 8);
		if (f)
			json_object_set_new(o, "Flags", f);
		char s[INET6_ADDRSTRLEN > 3 * 32 ? INET6_ADDRSTRLEN : 3 * 32];
		topo_mac_str(x->mac, x->mac_len, s, sizeof(s));
		if (s[0])
			json_object_set_new(o, "MAC", json_string(s));
		if (x->ip.len)
			json_object_set_new(o, "IP", json_string(topo_ip_str(&x->ip, s, sizeof(s))));
		json_t *st = bits_json(x->state, nud_names, 8);
		if (st)
			json_object_set_new(o, "State", st);
		if (x->vlan)
			json_object_set_new(o, "Vlan", json_integer(x->vlan));
		if (x->vni)
			json_object_set_new(o, "VNI", json_integer(x->vni));
		json_object_set_new(o, "IfIndex", json_integer(x->ifindex));
	}
	free(v);
	return out;
oom:
	free(v);
	json_decref(out);
	return NULL;
}

/* ---- link flags, state, features ------------------------------------------------ */

json_t *topo_link_flags_json(unsigned ifflags)
{
	static const struct {
		unsigned bit;
		const char *name;
	} f[] = {{IFF_UP, "UP"},
		 {IFF_BROADCAST, "BROADCAST"},
		 {IFF_LOOPBACK, "LOOPBACK"},
		 {IFF_POINTOPOINT, "POINTTOPOINT"},
		 {IFF_MULTICAST, "MULTICAST"}};
	json_t *a = json_array();
	for (size_t i = 0; a && i < sizeof(f) / sizeof(f[0]); i++)
		if (ifflags & f[i].bit)
			json_array_append_new(a, json_string(f[i].name));
	return a;
}

const char *topo_operstate_name(unsigned operstate)
{
	static const char *const names[] = {"UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN",
					    "TESTING", "DORMANT",    "UP"};
	return operstate < sizeof(names) / sizeof(names[0]) ? names[operstate] : "UNKNOWN";
}

json_t *topo_features_json(const char *names, uint32_t count, const uint32_t *active,
			   uint32_t nwords)
{
	if (!count)
		return NULL;
	json_t *o = json_object();
	for (uint32_t i = 0; o && i < count; i++) {
		char name[33];
		memcpy(name, names + (size_t)i * 32, 32);
		name[32] = 0;
		if (!name[0])
			continue;
		int on = i / 32 < nwords && (active[i / 32] >> (i % 32) & 1);
		json_object_set_new(o, name, json_boolean(on));
	}
	return o;
}

/* ---- SR-IOV --------------------------------------------------------------------- */

json_t *topo_vfs_json(const struct topo_vf *v, size_t n)
{
	if (!n)
		return NULL;
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		json_t *o = json_object();
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			return NULL;
		}
		if (v[i].id)
			json_object_set_new(o, "ID", json_integer(v[i].id));
		if (v[i].link_state)
			json_object_set_new(o, "LinkState", json_integer(v[i].link_state));
		char mac[3 * 6];
		topo_mac_str(v[i].mac, 6, mac, sizeof(mac));
		json_object_set_new(o, "MAC", json_string(mac));
		if (v[i].qos)
			json_object_set_new(o, "Qos", json_integer(v[i].qos));
		if (v[i].spoofchk)
			json_object_set_new(o, "Spoofchk", json_true());
		if (v[i].tx_rate)
			json_object_set_new(o, "TxRate", json_integer(v[i].tx_rate));
		if (v[i].vlan)
			json_object_set_new(o, "Vlan", json_integer(v[i].vlan));
	}
	return a;
}

/* ---- bonds ---------------------------------------------------------------------- */

int topo_bond_parse(const void *msg, size_t len, struct topo_bond *out)
{
	memset(out, 0, sizeof(*out));
	if (len < NLMSG_HDRLEN + sizeof(struct ifinfomsg) || len > (1u << 24))
		return -EINVAL;
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg) || h->nlmsg_len > len ||
	    h->nlmsg_type != RTM_NEWLINK)
		return -EINVAL;
	struct nlattr *tb[IFLA_MAX + 1];
	if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return -EINVAL;
	if (!tb[IFLA_LINKINFO])
		return 0;
	struct nlattr *li[IFLA_INFO_MAX + 1];
	if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) < 0)
		return -EINVAL;
	if (li[IFLA_INFO_KIND] && nla_len(li[IFLA_INFO_KIND]) >= 4 &&
	    !strncmp(nla_data(li[IFLA_INFO_KIND]), "bond", (size_t)nla_len(li[IFLA_INFO_KIND])) ) {
		out->is_bond = 1;
		struct nlattr *bd[IFLA_BOND_MAX + 1];
		if (li[IFLA_INFO_DATA] &&
		    nla_parse_nested(bd, IFLA_BOND_MAX, li[IFLA_INFO_DATA], NULL) == 0 &&
		    bd[IFLA_BOND_MODE] && nla_len(bd[IFLA_BOND_MODE]) >= 1) {
			out->has_mode = 1;
			out->mode = nla_get_u8(bd[IFLA_BOND_MODE]);
		}
	}
	if (li[IFLA_INFO_SLAVE_KIND] && nla_len(li[IFLA_INFO_SLAVE_KIND]) >= 4 &&
	    !strncmp(nla_data(li[IFLA_INFO_SLAVE_KIND]), "bond",
		     (size_t)nla_len(li[IFLA_INFO_SLAVE_KIND]))) {
		out->is_slave = 1;
		struct nlattr *sd[IFLA_BOND_SLAVE_MAX + 1];
		if (li[IFLA_INFO_SLAVE_DATA] &&
		    nla_parse_nested(sd, IFLA_BOND_SLAVE_MAX, li[IFLA_INFO_SLAVE_DATA], NULL) == 0) {
#define U(attr, field, getter, size)                                                       \
	if (sd[attr] && nla_len(sd[attr]) >= (size))                                         \
		out->field = getter(sd[attr]);
			U(IFLA_BOND_SLAVE_STATE, state, nla_get_u8, 1)
			U(IFLA_BOND_SLAVE_MII_STATUS, mii_status, nla_get_u8, 1)
			U(IFLA_BOND_SLAVE_LINK_FAILURE_COUNT, link_failure_count, nla_get_u32, 4)
			U(IFLA_BOND_SLAVE_QUEUE_ID, queue_id, nla_get_u16, 2)
			U(IFLA_BOND_SLAVE_AD_AGGREGATOR_ID, aggregator_id, nla_get_u16, 2)
			U(IFLA_BOND_SLAVE_AD_ACTOR_OPER_PORT_STATE, ad_actor_oper_port_state,
			  nla_get_u8, 1)
			U(IFLA_BOND_SLAVE_AD_PARTNER_OPER_PORT_STATE, ad_partner_oper_port_state,
			  nla_get_u16, 2)
#undef U
			if (sd[IFLA_BOND_SLAVE_PERM_HWADDR]) {
				int l = nla_len(sd[IFLA_BOND_SLAVE_PERM_HWADDR]);
				if (l > (int)sizeof(out->perm_mac))
					l = sizeof(out->perm_mac);
				if (l > 0) {
					memcpy(out->perm_mac, nla_data(sd[IFLA_BOND_SLAVE_PERM_HWADDR]),
					       (size_t)l);
					out->perm_mac_len = (uint8_t)l;
				}
			}
		}
	}
	return 0;
}

const char *topo_bond_mode_name(unsigned mode)
{
	static const char *const names[] = {"balance-rr", "active-backup", "balance-xor",
					    "broadcast",  "802.3ad",	   "balance-tlb",
					    "balance-alb"};
	return mode < sizeof(names) / sizeof(names[0]) ? names[mode] : "unknown";
}

/* Go's strconv.Itoa for states without a name, as vishvananda/netlink prints them. */
static json_t *enum_json(unsigned v, const char *const *names, unsigned n)
{
	char buf[16];
	if (v < n)
		return json_string(names[v]);
	snprintf(buf, sizeof(buf), "%u", v);
	return json_string(buf);
}

json_t *topo_bond_slave_json(const struct topo_bond *b)
{
	static const char *const states[] = {"ACTIVE", "BACKUP"};
	static const char *const mii[] = {"UP", "GOING_DOWN", "DOWN", "GOING_BACK"};
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "Type", json_string("bond"));
	json_object_set_new(o, "State", enum_json(b->state, states, 2));
	json_object_set_new(o, "MiiStatus", enum_json(b->mii_status, mii, 4));
	json_object_set_new(o, "LinkFailureCount", json_integer(b->link_failure_count));
	json_object_set_new(o, "QueueId", json_integer(b->queue_id));
	json_object_set_new(o, "AggregatorId", json_integer(b->aggregator_id));
	json_object_set_new(o, "AdActorOperPortState", json_integer(b->ad_actor_oper_port_state));
	json_object_set_new(o, "AdPartnerOperPortState",
			    json_integer(b->ad_partner_oper_port_state));
	char mac[3 * 32];
	topo_mac_str(b->perm_mac, b->perm_mac_len, mac, sizeof(mac));
	if (mac[0])
		json_object_set_new(o, "PermMAC", json_string(mac));
	return o;
}
