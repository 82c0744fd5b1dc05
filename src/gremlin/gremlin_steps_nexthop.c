/* gremlin_steps_nexthop.c - NextHop(ip) on nodes: the next hop towards ip from a node's
 * RoutingTables and Neighbors metadata (the netlink probe's, docs/TOPOLOGY.md), as
 * Skydive's gremlin/traversal/nexthop.go and topology/nexthop.go answer it: one map
 * {"<node ID>": {"Priority","IP","MAC","IfIndex"}} of the nodes that have a route, in
 * an array ([] when none has).
 *
 * Per table: the most specific route whose prefix holds ip (Skydive keeps scanning
 * past an on-link route for a more dedicated one; the longest prefix is that route),
 * else the table's default route. A route's next hop is its first one with a gateway
 * (IP = the gateway), else its first one (IP = ip itself, on-link). MAC is the
 * Neighbors entry of that IP, when known. Tables are tried as the kernel's default
 * rules and `ip rule add` (which puts a rule before main) order them: local (255),
 * the other tables by ID, main (254), default (253); Skydive takes them in its map's
 * order and leaves policy rules for later, as we do. */
#include <arpa/inet.h>
#include <string.h>

#include "gremlin/gremlin_eval_int.h"

struct ipaddr {
	int len; /* 4 or 16 */
	uint8_t b[16];
};

static int ip_parse(const char *s, struct ipaddr *a)
{
	if (!s)
		return -1;
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->len = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->len = 16;
		return 0;
	}
	return -1;
}

/* "10.0.0.0/24" into net and its length; -1 when malformed. */
static int prefix_parse(const char *s, struct ipaddr *net, int *plen)
{
	char buf[64];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	char *end;
	long l = strtol(slash + 1, &end, 10);
	if (*end || end == slash + 1 || ip_parse(buf, net) < 0 || l < 0 || l > net->len * 8)
		return -1;
	*plen = (int)l;
	return 0;
}

static int prefix_holds(const struct ipaddr *net, int plen, const struct ipaddr *ip)
{
	if (net->len != ip->len)
		return 0;
	int full = plen / 8, rest = plen % 8;
	if (memcmp(net->b, ip->b, (size_t)full))
		return 0;
	if (!rest)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (net->b[full] & mask) == (ip->b[full] & mask);
}

/* MAC of ip in the node's Neighbors, NULL when unknown. */
static const char *neighbor_mac(const json_t *md, const struct ipaddr *ip)
{
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(md, "Neighbors"), i, n)
	{
		struct ipaddr a;
		if (ip_parse(json_string_value(json_object_get(n, "IP")), &a) == 0 &&
		    a.len == ip->len && !memcmp(a.b, ip->b, (size_t)a.len))
			return json_string_value(json_object_get(n, "MAC"));
	}
	return NULL;
}

/* The next hop of a route towards ip, as topology/nexthop.go builds it. */
static json_t *route_nexthop(const json_t *md, const json_t *route, const struct ipaddr *ip,
			     const char *ip_text)
{
	const json_t *nhs = json_object_get(route, "NextHops");
	const json_t *pick = NULL;
	size_t i;
	json_t *nh;
	json_array_foreach(nhs, i, nh)
	{
		if (json_string_value(json_object_get(nh, "IP"))) {
			pick = nh;
			break;
		}
		if (!pick)
			pick = nh;
	}
	if (!pick)
		return NULL;
	const char *gw = json_string_value(json_object_get(pick, "IP"));
	struct ipaddr via;
	const char *target = ip_text;
	if (gw && *gw && ip_parse(gw, &via) == 0)
		target = gw;
	else
		via = *ip;
	json_t *o = json_pack("{sIss}", "Priority",
			      json_integer_value(json_object_get(pick, "Priority")), "IP", target);
	if (!o)
		return NULL;
	const char *mac = neighbor_mac(md, &via);
	if (mac && *mac)
		json_object_set_new(o, "MAC", json_string(mac));
	json_object_set_new(o, "IfIndex",
			    json_integer(json_integer_value(json_object_get(pick, "IfIndex"))));
	return o;
}

/* Lookup order of a table ID (smaller first). */
static int64_t table_rank(int64_t id)
{
	switch (id) {
	case 255:
		return -1;
	case 254:
		return (int64_t)1 << 40;
	case 253:
		return ((int64_t)1 << 40) + 1;
	default:
		return id;
	}
}

static json_t *node_nexthop(const json_t *md, const struct ipaddr *ip, const char *ip_text)
{
	const json_t *tables = json_object_get(md, "RoutingTables");
	size_t nt = json_array_size(tables);
	if (!nt || nt > 4096)
		return NULL;
	/* tables in lookup order: a small selection sort over their ranks */
	int done[4096] = {0};
	for (size_t round = 0; round < nt; round++) {
		size_t best = nt;
		for (size_t i = 0; i < nt; i++) {
			if (done[i])
				continue;
			int64_t r = table_rank(json_integer_value(
				json_object_get(json_array_get(tables, i), "ID")));
			if (best == nt ||
			    r < table_rank(json_integer_value(
					json_object_get(json_array_get(tables, best), "ID"))))
				best = i;
		}
		done[best] = 1;
		const json_t *t = json_array_get(tables, best);
		const json_t *match = NULL, *dflt = NULL;
		int match_len = -1;
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(t, "Routes"), i, r)
		{
			struct ipaddr net;
			int plen;
			if (prefix_parse(json_string_value(json_object_get(r, "Prefix")), &net, &plen) <
			    0 || net.len != ip->len)
				continue;
			if (plen == 0) {
				if (!dflt)
					dflt = r;
			} else if (plen > match_len && prefix_holds(&net, plen, ip)) {
				match = r;
				match_len = plen;
			}
		}
		json_t *nh = NULL;
		if (match)
			nh = route_nexthop(md, match, ip, ip_text);
		if (!nh && dflt)
			nh = route_nexthop(md, dflt, ip, ip_text);
		if (nh)
			return nh;
	}
	return NULL;
}

json_t *gremlin_nexthop(const json_t *metadata, const char *ip)
{
	struct ipaddr a;
	char text[INET6_ADDRSTRLEN];
	if (ip_parse(ip, &a) < 0)
		return NULL;
	inet_ntop(a.len == 4 ? AF_INET : AF_INET6, a.b, text, sizeof(text));
	return node_nexthop(metadata, &a, text);
}

int ge_step_nexthop(struct ctx *c, const struct step *s, struct val *v)
{
	if (s->nargs != 1 || s->args[0].kind != A_STR)
		return efail(c, s->nargs ? s->args[0].pos : s->pos, -EINVAL,
			     "NextHop takes one parameter, an IP address string");
	struct ipaddr ip;
	if (ip_parse(s->args[0].s, &ip) < 0)
		return efail(c, s->args[0].pos, -EINVAL,
			     "NextHop parameter has to be a valid IP address, not '%s'",
			     s->args[0].s);
	/* the canonical text, as Go's net.IP prints the address it parsed */
	char text[INET6_ADDRSTRLEN];
	inet_ntop(ip.len == 4 ? AF_INET : AF_INET6, ip.b, text, sizeof(text));
	json_t *map = json_object();
	if (!map)
		return ENOMEM_AT(c, s->pos);
	for (size_t i = 0; i < v->items.n; i++) {
		if (tick(c, s->pos)) {
			json_decref(map);
			return -E2BIG;
		}
		const struct graph_node *n = v->items.v[i];
		json_t *nh = node_nexthop(n->e.metadata, &ip, text);
		if (nh)
			json_object_set_new(map, n->e.id, nh);
	}
	json_t *out = json_array();
	if (!out || (json_object_size(map) && json_array_append(out, map))) {
		json_decref(map);
		json_decref(out);
		return ENOMEM_AT(c, s->pos);
	}
	json_decref(map);
	val_clear(v);
	v->type = V_VALUES;
	v->json = out;
	return 0;
}
