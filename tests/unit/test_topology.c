/* test_topology.c - unit tests of src/topology and the agent's messages:
 * IDs, Type/EncapType mapping, metric JSON, edges derived from the link
 * registry, and the WebSocket envelopes the agent sends. */
#include <errno.h>
#include <net/if_arp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "graph/graph.h"
#include "topology/topo_int.h"
#include "topology/topology.h"

static int is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return 0;
	}
	return 1;
}

/* Expected values computed independently with Python's uuid.uuid5(NAMESPACE_OID, ...). */
static void test_ids(void **state)
{
	char a[TOPOLOGY_ID_LEN], b[TOPOLOGY_ID_LEN];
	assert_int_equal(topology_uuid5(a, "www.example.com", 15), 0);
	assert_string_equal(a, "a5e87d3b-479e-52da-b98a-db251a851854");
	assert_int_equal(topology_uuid5(a, "", 0), 0);
	assert_string_equal(a, "0a68eb57-c88a-5f34-9e9d-27f85e68af4f");
	char longname[301];
	memset(longname, 'x', 300);
	longname[300] = 0;
	topology_tid(a, longname, "", ""); /* longer than the stack buffer */
	assert_string_equal(a, "1ed09be2-77f9-5092-a40a-0316fe924c36");
	assert_true(is_uuid(a));
	assert_int_equal(a[14], '5');			  /* version nibble */
	assert_true(strchr("89ab", a[19]) != NULL); /* RFC 4122 variant */

	/* host -> netns -> interface chain, and a root namespace interface. */
	char host[TOPOLOGY_ID_LEN], ns[TOPOLOGY_ID_LEN];
	topology_host_tid(host, "host1");
	assert_string_equal(host, "1a21f896-ade2-5afd-9969-4d690a305de0");
	topology_netns_tid(ns, host, "/var/run/netns/ns1");
	assert_string_equal(ns, "a261d0e8-7f2d-5746-aadf-88477dad93c5");
	topology_tid(a, ns, "eth0", "veth");
	assert_string_equal(a, "f1f61850-56ee-56a3-9d30-b3bff1911d8f");
	topology_tid(a, host, "lo", "device");
	assert_string_equal(a, "e7faf4ac-928a-5601-a0d6-41600f327216");
	topology_ovs_tid(a, host, "0b4fd6cc-2d5b-4b2f-9a51-0e2d5c0f7a11", "ovsbridge");
	assert_string_equal(a, "923b1512-bd87-5087-9aac-bdcaf59671a0");
	topology_tid(b, ns, "eth0", "veth");
	topology_tid(a, ns, "eth0", "veth");
	assert_string_equal(a, b); /* stable: a restart keeps the IDs */

	/* Edges: UUIDv5(parent + child + RelationType). */
	topology_edge_id(a, host, ns, "ownership");
	assert_string_equal(a, "faefb1db-c82b-5357-bbe7-7a67a06dd25b");
	topology_edge_id(b, ns, host, "ownership");
	assert_string_not_equal(a, b);
	topology_edge_id(b, host, ns, "layer2");
	assert_string_not_equal(a, b);
}

static void test_types(void **state)
{
	assert_string_equal(topology_link_type(NULL, NULL), "device");
	assert_string_equal(topology_link_type("", "e1000"), "device");
	assert_string_equal(topology_link_type(NULL, "virtio_net"), "device");
	assert_string_equal(topology_link_type("veth", "veth"), "veth");
	assert_string_equal(topology_link_type("bridge", "bridge"), "bridge");
	assert_string_equal(topology_link_type("tun", "tun"), "tuntap");
	assert_string_equal(topology_link_type("vlan", "802.1Q VLAN Support"), "vlan");
	assert_string_equal(topology_link_type("vxlan", "vxlan"), "vxlan");
	assert_string_equal(topology_link_type("bond", "bonding"), "bond");
	assert_string_equal(topology_link_type("openvswitch", "openvswitch"), "openvswitch");
	assert_string_equal(topology_link_type("gre", NULL), "gre");
	assert_string_equal(topology_link_type("dummy", "dummy"), "dummy");
	/* A veth reporting another kind is still a veth (the driver wins). */
	assert_string_equal(topology_link_type("macvlan", "veth"), "veth");

	assert_string_equal(topology_encap_type(ARPHRD_ETHER), "ether");
	assert_string_equal(topology_encap_type(ARPHRD_LOOPBACK), "loopback");
	assert_string_equal(topology_encap_type(ARPHRD_NONE), "none");
	assert_string_equal(topology_encap_type(ARPHRD_IPGRE), "gre");
	assert_string_equal(topology_encap_type(ARPHRD_TUNNEL), "ipip");
	assert_string_equal(topology_encap_type(ARPHRD_TUNNEL6), "tunnel6");
	assert_string_equal(topology_encap_type(ARPHRD_SIT), "sit");
	assert_string_equal(topology_encap_type(823 /* ARPHRD_IP6GRE */), "gre6");
	assert_string_equal(topology_encap_type(ARPHRD_VOID), "void");
	assert_string_equal(topology_encap_type(54321), "unknown");
}

static void test_metrics(void **state)
{
	uint64_t v[TOPOLOGY_METRIC_COUNT] = {0};
	v[0] = 10;  /* RxPackets */
	v[3] = 999; /* TxBytes */
	json_t *m = topology_metric_json(v, 0, 5000);
	assert_non_null(m);
	assert_int_equal(json_integer_value(json_object_get(m, "RxPackets")), 10);
	assert_int_equal(json_integer_value(json_object_get(m, "TxBytes")), 999);
	assert_null(json_object_get(m, "TxPackets")); /* zero: omitted as Go's omitempty */
	assert_null(json_object_get(m, "Start"));
	assert_int_equal(json_integer_value(json_object_get(m, "Last")), 5000);
	assert_string_equal(topology_metric_names[22], "Multicast");

	v[0] = 15;
	v[3] = 999;
	json_t *m2 = topology_metric_json(v, 0, 6000);
	json_t *d = topology_metric_diff(m2, m, 5000, 6000);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "RxPackets")), 5);
	assert_null(json_object_get(d, "TxBytes"));
	assert_int_equal(json_integer_value(json_object_get(d, "Start")), 5000);
	assert_int_equal(json_integer_value(json_object_get(d, "Last")), 6000);
	json_decref(d);
	/* Nothing moved: no update at all. */
	assert_null(topology_metric_diff(m2, m2, 6000, 7000));
	/* A counter that went back (reset) counts from zero. */
	d = topology_metric_diff(m, m2, 6000, 7000);
	assert_int_equal(json_integer_value(json_object_get(d, "RxPackets")), 10);
	json_decref(d);
	json_decref(m);
	json_decref(m2);
}

/* ---- edges derived from the registry ------------------------------------ */

static size_t count_edges(struct graph *g, const char *rel, const char *parent,
			  const char *child)
{
	size_t n = 0;
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	for (size_t i = 0; i < graph_view_edge_count(v); i++) {
		const struct graph_edge *e = graph_view_edge(v, i);
		const char *r = json_string_value(json_object_get(e->e.metadata, "RelationType"));
		if (r && !strcmp(r, rel) && (!parent || !strcmp(e->parent, parent)) &&
		    (!child || !strcmp(e->child, child)))
			n++;
	}
	graph_view_free(v);
	graph_unlock(g);
	return n;
}

static void upsert(struct topology *t, int ifindex, const char *name, const char *type,
		   int master, int peer)
{
	struct topo_link_info li = {.ifindex = ifindex, .master = master, .peer_ifindex = peer,
				    .peer_nsid = -1};
	snprintf(li.name, sizeof(li.name), "%s", name);
	snprintf(li.type, sizeof(li.type), "%s", type);
	json_t *md = json_pack("{ss ss si}", "Name", name, "Type", type, "IfIndex", ifindex);
	topo_intf_upsert(t, t->root, &li, md, 1000);
}

static void test_edges(void **state)
{
	char err[128];
	struct graph *g = graph_new(NULL);
	struct topology_opts o = {.host_id = "h", .netns_run_path = ""};
	struct topology *t = topology_new(g, &o, err, sizeof(err));
	assert_non_null(t);
	const char *host = topology_host_node_id(t);
	graph_lock(g);
	assert_int_equal(graph_node_add(g, host, json_pack("{ss}", "Type", "host"), "h", "agent.h", 1),
			 0);
	/* A port before its bridge: the edge waits for the bridge. */
	upsert(t, 3, "p", "veth", 2, 4);
	topo_reconcile_edges(t, 1000);
	upsert(t, 2, "br", "bridge", 0, 0);
	upsert(t, 4, "q", "veth", 0, 3);
	topo_reconcile_edges(t, 1000);
	graph_unlock(g);

	char br[TOPOLOGY_ID_LEN], p[TOPOLOGY_ID_LEN], q[TOPOLOGY_ID_LEN];
	topology_tid(br, host, "br", "bridge");
	topology_tid(p, host, "p", "veth");
	topology_tid(q, host, "q", "veth");
	assert_int_equal(count_edges(g, "ownership", host, NULL), 3);
	assert_int_equal(count_edges(g, "layer2", br, p), 1);
	/* One edge per veth pair, from the higher ifindex. */
	assert_int_equal(count_edges(g, "layer2", q, p), 1);
	assert_int_equal(count_edges(g, "layer2", p, q), 0);

	/* The port leaves the bridge, then the peer goes. */
	graph_lock(g);
	upsert(t, 3, "p", "veth", 0, 4);
	topo_reconcile_edges(t, 2000);
	graph_unlock(g);
	assert_int_equal(count_edges(g, "layer2", br, p), 0);
	graph_lock(g);
	topo_intf_remove(t, t->root, 4, 3000);
	topo_reconcile_edges(t, 3000);
	graph_unlock(g);
	assert_int_equal(count_edges(g, "layer2", NULL, NULL), 0);
	assert_int_equal(count_edges(g, "ownership", host, NULL), 2);

	/* A rename keeps the node (issue 12, as Skydive: found by IfIndex, TID set once):
	 * same ID and TID, new Name. */
	graph_lock(g);
	upsert(t, 3, "p2", "veth", 0, 0);
	topo_reconcile_edges(t, 4000);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *n = graph_view_node_get(v, p);
	assert_non_null(n);
	assert_string_equal(json_string_value(json_object_get(n->e.metadata, "Name")), "p2");
	assert_string_equal(json_string_value(json_object_get(n->e.metadata, "TID")), p);
	char p2[TOPOLOGY_ID_LEN];
	topology_tid(p2, host, "p2", "veth");
	assert_null(graph_view_node_get(v, p2));
	graph_view_free(v);
	graph_unlock(g);
	assert_int_equal(count_edges(g, "ownership", host, p), 1);

	topology_free(t);
	graph_free(g);
}

/* ---- agent messages ------------------------------------------------------ */

static void test_messages(void **state)
{
	struct graph *g = graph_new(NULL);
	graph_lock(g);
	assert_int_equal(graph_node_add(g, "n1", json_pack("{ss}", "Name", "eth0"), "h", "agent.h",
					 1000),
			 0);
	assert_int_equal(graph_node_add(g, "n2", json_pack("{ss}", "Name", "eth1"), "h", "agent.h",
					 1000),
			 0);
	assert_int_equal(graph_edge_add(g, "e1", "n1", "n2", json_pack("{ss}", "RelationType", "layer2"),
					"h", "agent.h", 1000),
			 0);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *n = graph_view_node_get(v, "n1");
	const struct graph_edge *e = graph_view_edge_get(v, "e1");
	size_t len = 0;
	char *buf = agent_encode_event(GRAPH_NODE_ADDED, n, NULL, 16, &len);
	assert_non_null(buf);
	assert_int_equal(strlen(buf + 16), len);
	json_t *m = json_loads(buf + 16, 0, NULL);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "Namespace")), "Graph");
	assert_string_equal(json_string_value(json_object_get(m, "Type")), "NodeAdded");
	json_t *obj = json_object_get(m, "Obj");
	assert_string_equal(json_string_value(json_object_get(obj, "ID")), "n1");
	assert_string_equal(json_string_value(json_object_get(obj, "Host")), "h");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(obj, "Metadata"), "Name")), "eth0");
	json_decref(m);
	free(buf);

	buf = agent_encode_event(GRAPH_EDGE_DELETED, NULL, e, 0, &len);
	m = json_loads(buf, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(m, "Type")), "EdgeDeleted");
	obj = json_object_get(m, "Obj");
	assert_string_equal(json_string_value(json_object_get(obj, "Parent")), "n1");
	assert_string_equal(json_string_value(json_object_get(obj, "Child")), "n2");
	json_decref(m);
	free(buf);

	buf = agent_encode_sync(graph_view_to_json(v), 4, &len);
	m = json_loads(buf + 4, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(m, "Type")), "Sync");
	obj = json_object_get(m, "Obj");
	assert_int_equal(json_array_size(json_object_get(obj, "Nodes")), 2);
	assert_int_equal(json_array_size(json_object_get(obj, "Edges")), 1);
	json_decref(m);
	free(buf);
	assert_null(agent_encode_sync(NULL, 0, &len));

	graph_view_free(v);
	graph_unlock(g);
	graph_free(g);
}

/* Route and neighbour keys change alone (topo_intf_set_keys): a null deletes, a value
 * equal to the node's makes no revision. */
static void test_set_keys(void **state)
{
	char err[128];
	struct graph *g = graph_new(NULL);
	struct topology_opts o = {.host_id = "h", .netns_run_path = ""};
	struct topology *t = topology_new(g, &o, err, sizeof(err));
	assert_non_null(t);
	const char *host = topology_host_node_id(t);
	char id[TOPOLOGY_ID_LEN];
	topology_tid(id, host, "e", "veth");
	graph_lock(g);
	assert_int_equal(graph_node_add(g, host, json_pack("{ss}", "Type", "host"), "h", "agent.h", 1),
			 0);
	upsert(t, 7, "e", "veth", 0, 0);
	topo_intf_set_keys(t, t->root, 7, json_pack("{s[i]sn}", "FDB", 1, "Neighbors"), 2000);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *n = graph_view_node_get(v, id);
	assert_non_null(n);
	int64_t rev = n->e.revision;
	assert_int_equal(json_array_size(json_object_get(n->e.metadata, "FDB")), 1);
	assert_null(json_object_get(n->e.metadata, "Neighbors"));
	graph_view_free(v);
	topo_intf_set_keys(t, t->root, 7, json_pack("{s[i]}", "FDB", 1), 3000); /* no change */
	v = graph_view_at(g, 0, NULL);
	assert_int_equal(graph_view_node_get(v, id)->e.revision, rev);
	graph_view_free(v);
	topo_intf_set_keys(t, t->root, 7, json_pack("{sn}", "FDB"), 4000);
	topo_intf_set_keys(t, t->root, 99, json_pack("{sn}", "FDB"), 4000); /* unknown link */
	v = graph_view_at(g, 0, NULL);
	n = graph_view_node_get(v, id);
	assert_null(json_object_get(n->e.metadata, "FDB"));
	assert_int_equal(n->e.revision, rev + 1);
	assert_string_equal(json_string_value(json_object_get(n->e.metadata, "Name")), "e");
	graph_view_free(v);
	graph_unlock(g);
	topology_free(t);
	graph_free(g);
}

/* A probe's rewrite of a node keeps the Captures the capture manager set on it. */
static void test_update_keeps_captures(void **state)
{
	struct graph *g = graph_new(NULL);
	graph_lock(g);
	assert_int_equal(graph_node_add(g, "n", json_pack("{s:s, s:[{s:s}]}", "Name", "eth0",
							  "Captures", "ID", "c1"),
					"h", "o", 1),
			 0);
	assert_int_equal(topo_update_metadata(g, "n", json_pack("{s:s, s:s}", "Name", "eth0",
								   "State", "UP"),
					      2),
			 0);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const json_t *md = graph_view_node_get(v, "n")->e.metadata;
	assert_string_equal(json_string_value(json_object_get(md, "State")), "UP");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(md, "Captures"), 0), "ID")),
			    "c1");
	graph_view_free(v);
	graph_unlock(g);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),	  cmocka_unit_test(test_types),
		cmocka_unit_test(test_metrics),	  cmocka_unit_test(test_edges),
		cmocka_unit_test(test_messages),  cmocka_unit_test(test_set_keys),
		cmocka_unit_test(test_update_keeps_captures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
