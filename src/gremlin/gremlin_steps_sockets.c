/* gremlin_steps_sockets.c - Sockets() after Flows(): the sockets at either end of each
 * TCP or UDP flow, as Skydive's gremlin/traversal/flows.go (FlowTraversalStep.Sockets)
 * and sockets.go answer it: one map {"<flow UUID>": [ConnectionInfo, ...]} in an array
 * ([] when no flow has a socket). A socket is at an end when its (Protocol,
 * LocalAddress, LocalPort, RemoteAddress, RemotePort) is the flow's (Transport
 * protocol, Network.A, Transport.A, Network.B, Transport.B) or the reverse; the
 * sockets are those of the "Sockets" metadata of every node of the graph (the
 * socketinfo probe's host nodes, src/topology/socketinfo.h), as Skydive's socket
 * indexer takes them. Addresses compare as 16-byte IPs (an IPv4-mapped IPv6 address
 * is its IPv4 address, as Go's To16 makes it). On nodes, Sockets() is each node's list
 * by node ID (Skydive's gremlin/traversal/topology.go Sockets), nodes without one left
 * out. */
#include <arpa/inet.h>
#include <string.h>

#include "common/smap.h"
#include "gremlin/gremlin_eval_int.h"

#define SK_KEY 96

struct sk_ent {
	char key[SK_KEY];
	json_t *socks; /* borrowed ConnectionInfo objects */
};

/* "proto|hex16(a)|pa|hex16(b)|pb"; -1 when an address or port is not one. */
static int sk_key(char out[SK_KEY], const char *proto, const char *a, json_int_t pa,
		  const char *b, json_int_t pb)
{
	uint8_t ab[2][16];
	const char *ip[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		if (!ip[i])
			return -1;
		if (inet_pton(AF_INET, ip[i], ab[i] + 12) == 1) {
			memset(ab[i], 0, 10);
			ab[i][10] = ab[i][11] = 0xff;
		} else if (inet_pton(AF_INET6, ip[i], ab[i]) != 1) {
			return -1;
		}
	}
	if (pa < 0 || pa > 65535 || pb < 0 || pb > 65535)
		return -1;
	int n = snprintf(out, SK_KEY, "%.3s|", proto);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 16; k++)
			n += snprintf(out + n, (size_t)(SK_KEY - n), "%02x", ab[i][k]);
		n += snprintf(out + n, (size_t)(SK_KEY - n), "|%lld|", (long long)(i ? pb : pa));
	}
	return 0;
}

/* A port as the flow or a socket gives it: an integer, or digits. */
static json_int_t sk_port(const json_t *j)
{
	if (json_is_integer(j))
		return json_integer_value(j);
	const char *s = json_string_value(j);
	char *end;
	long v = s ? strtol(s, &end, 10) : -1;
	return s && *s && !*end ? v : -1;
}

static void sk_free(struct smap *m, struct pvec *ents)
{
	for (size_t i = 0; i < ents->n; i++) {
		struct sk_ent *e = ents->v[i];
		json_decref(e->socks);
		free(e);
	}
	pvec_free(ents);
	smap_free(m);
}

/* Sockets() on nodes (Skydive's topology.go Sockets): {"<node ID>": its Sockets}. */
static int node_sockets(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *map = json_object();
	for (size_t i = 0; map && i < v->items.n; i++) {
		const struct graph_node *n = v->items.v[i];
		json_t *list = json_object_get(n->e.metadata, "Sockets");
		if (json_is_array(list) && json_object_set(map, n->e.id, list)) {
			json_decref(map);
			map = NULL;
		}
	}
	json_t *ans = map ? json_array() : NULL;
	if (!ans || (json_object_size(map) && json_array_append(ans, map))) {
		json_decref(ans);
		json_decref(map);
		return ENOMEM_AT(c, s->pos);
	}
	json_decref(map);
	val_clear(v);
	v->type = V_VALUES;
	v->json = ans;
	return 0;
}

int ge_step_sockets(struct ctx *c, const struct step *s, struct val *v)
{
	if (s->nargs)
		return efail(c, s->pos, -EINVAL, "Sockets requires no parameter");
	if (v->type == V_NODES)
		return node_sockets(c, s, v);
	if (val_typed_flows(v)) {
		int r = ge_flows_json(c, s, v);
		if (r)
			return r;
	}
	/* index the sockets of the graph by their 5-tuple */
	struct smap idx = {0};
	struct pvec ents = {0};
	const struct graph_view *g = c->root;
	size_t nn = graph_view_node_count(g);
	for (size_t i = 0; i < nn; i++) {
		const struct graph_node *n = graph_view_node(g, i);
		json_t *list = json_object_get(n->e.metadata, "Sockets");
		size_t k;
		json_t *so;
		json_array_foreach(list, k, so) {
			if (tick(c, s->pos)) {
				sk_free(&idx, &ents);
				return -E2BIG;
			}
			char key[SK_KEY];
			const char *proto = json_string_value(json_object_get(so, "Protocol"));
			if (!proto ||
			    sk_key(key, proto, json_string_value(json_object_get(so, "LocalAddress")),
				   sk_port(json_object_get(so, "LocalPort")),
				   json_string_value(json_object_get(so, "RemoteAddress")),
				   sk_port(json_object_get(so, "RemotePort"))))
				continue;
			struct sk_ent *e = smap_get(&idx, key);
			if (!e) {
				e = calloc(1, sizeof(*e));
				if (!e || !(e->socks = json_array()) || pvec_push(&ents, e)) {
					if (e)
						json_decref(e->socks);
					free(e);
					sk_free(&idx, &ents);
					return ENOMEM_AT(c, s->pos);
				}
				memcpy(e->key, key, sizeof(key));
				if (smap_put(&idx, e->key, e)) {
					sk_free(&idx, &ents);
					return ENOMEM_AT(c, s->pos);
				}
			}
			if (json_array_append(e->socks, so)) {
				sk_free(&idx, &ents);
				return ENOMEM_AT(c, s->pos);
			}
		}
	}
	json_t *map = json_object();
	size_t i;
	json_t *f;
	json_array_foreach(v->json, i, f) {
		if (!map)
			break;
		json_t *tp = json_object_get(f, "Transport"), *nw = json_object_get(f, "Network");
		const char *proto = json_string_value(json_object_get(tp, "Protocol"));
		const char *uuid = json_string_value(json_object_get(f, "UUID"));
		if (!uuid || !proto || (strcmp(proto, "TCP") && strcmp(proto, "UDP")))
			continue;
		const char *a = json_string_value(json_object_get(nw, "A"));
		const char *b = json_string_value(json_object_get(nw, "B"));
		json_int_t pa = sk_port(json_object_get(tp, "A")), pb = sk_port(json_object_get(tp, "B"));
		char k1[SK_KEY], k2[SK_KEY];
		if (sk_key(k1, proto, a, pa, b, pb) || sk_key(k2, proto, b, pb, a, pa))
			continue;
		json_t *socks = json_array();
		const struct sk_ent *e1 = smap_get(&idx, k1), *e2 = smap_get(&idx, k2);
		if (!socks || (e1 && json_array_extend(socks, e1->socks)) ||
		    (e2 && json_array_extend(socks, e2->socks))) {
			json_decref(socks);
			json_decref(map);
			map = NULL;
			break;
		}
		if (!json_array_size(socks))
			json_decref(socks);
		else if (json_object_set_new(map, uuid, socks)) {
			json_decref(map);
			map = NULL;
		}
	}
	sk_free(&idx, &ents);
	json_t *ans = map ? json_array() : NULL;
	if (!ans || (json_object_size(map) && json_array_append(ans, map))) {
		json_decref(ans);
		json_decref(map);
		return ENOMEM_AT(c, s->pos);
	}
	json_decref(map);
	val_clear(v);
	v->type = V_VALUES;
	v->json = ans;
	return 0;
}
