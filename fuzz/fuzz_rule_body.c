/* fuzz_rule_body.c - libFuzzer target for POST /api/noderule and /api/edgerule bodies
 * (topo_rules_handle through the resource registry: the JSON or YAML body, the NodeRule or
 * EdgeRule validation with its Gremlin queries), then the rule applied to a small graph
 * (topo_rules_run on this thread) and deleted. Checks on top of the sanitizers:
 *  - the answer is 201 or 400 with a JSON body: {"Error"} (a Position only with a
 *    message naming a query) for a refusal, the rule with a UUID for a creation;
 *  - a created rule is canonical: validating it again changes nothing; it reads back by
 *    GET as created;
 *  - applied then deleted, it leaves the graph's nodes as they were (a create rule's node
 *    goes), or without the update rule's keys (dotted keys and the objects they made
 *    included: Skydive's deleteMetadata removes them even where they were before), and
 *    the registry empty.
 * Input: byte 0 bit 0 picks the kind (0 noderule, 1 edgerule), bit 1 YAML; then the body;
 * 2 KiB. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/topo_rules.h"
#include "common/json_dotted.h"
#include "common/log.h"
#include "graph/graph.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 2048

static struct graph *g;
static struct topo_rules *rules;
static char dir[64];

static void cleanup(void)
{
	topo_rules_free(rules);
	graph_free(g);
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, TOPO_RULES_NODE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, TOPO_RULES_EDGE_FILE);
	unlink(path);
	rmdir(dir);
}

static int setup(void)
{
	log_set_level(LOG_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/fuzz_rule_body.XXXXXX");
	if (!mkdtemp(dir) || !(g = graph_new(NULL)))
		return -1;
	static const char *const nodes[][3] = {
	    {"n1", "eth0", "veth"}, {"n2", "eth1", "veth"}, {"n3", "br0", "bridge"}};
	graph_lock(g);
	for (size_t i = 0; i < 3; i++)
		if (graph_node_add(g, nodes[i][0],
		                   json_pack("{s:s, s:s, s:{s:i}}", "Name", nodes[i][1], "Type",
		                             nodes[i][2], "Ovs", "Port", (int)i),
		                   "h", "agent.h", 1000))
			return -1;
	graph_edge_add(g, "e1", "n3", "n1", json_pack("{s:s}", "RelationType", "layer2"), "h",
	               "agent.h", 1000);
	graph_unlock(g);
	if (!(rules = topo_rules_new(dir, g, NULL)))
		return -1;
	topo_rules_run(rules);
	atexit(cleanup);
	return 0;
}

/* Every node as {"ID": Metadata}. */
static json_t *nodes_json(void)
{
	json_t *o = json_object();
	graph_rdlock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	for (size_t i = 0; v && i < graph_view_node_count(v); i++) {
		const struct graph_node *n = graph_view_node(v, i);
		json_object_set_new(o, n->e.id, json_deep_copy(n->e.metadata));
	}
	graph_view_free(v);
	graph_unlock(g);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (setup())
			abort();
		ready = 1;
	}
	if (!size)
		return 0;
	int edge = data[0] & 1, yaml = data[0] & 2;
	data++;
	size--;
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	const char *path = edge ? "/api/edgerule" : "/api/noderule";
	json_t *before = nodes_json();
	struct rest_response out = {0};
	topo_rules_handle(rules, edge, "POST", path, yaml ? "application/yaml" : NULL,
	                  (const char *)data, size, &out);
	CHECK(out.status == 201 || out.status == 400);
	json_t *a = json_loadb(out.body, out.len, 0, NULL);
	CHECK(json_is_object(a));
	if (out.status == 400) {
		const char *msg = json_string_value(json_object_get(a, "Error"));
		CHECK(msg);
		json_t *pos = json_object_get(a, "Position");
		if (json_integer_value(pos) >= 0 && pos)
			CHECK(!strncmp(msg, "Query: ", 7) || !strncmp(msg, "Src: ", 5) ||
			      !strncmp(msg, "Dst: ", 5));
	} else {
		const char *uuid = json_string_value(json_object_get(a, "UUID"));
		CHECK(uuid && strlen(uuid) == 36);
		/* canonical: validating it again changes nothing */
		json_t *again = json_deep_copy(a);
		struct res_error err = {0};
		json_object_del(again, "UUID");
		CHECK(!(edge ? topo_rules_validate_edge(again, &err)
		             : topo_rules_validate_node(again, &err)));
		json_object_set(again, "UUID", json_object_get(a, "UUID"));
		CHECK(json_equal(again, a));
		json_decref(again);
		char p[80];
		snprintf(p, sizeof(p), "%s/%s", path, uuid);
		struct rest_response o2 = {0};
		topo_rules_handle(rules, edge, "GET", p, NULL, NULL, 0, &o2);
		CHECK(o2.status == 200);
		json_t *got = json_loadb(o2.body, o2.len, 0, NULL);
		CHECK(json_equal(got, a));
		json_decref(got);
		rest_response_free(&o2);
		topo_rules_run(rules);
		topo_rules_handle(rules, edge, "DELETE", p, NULL, NULL, 0, &o2);
		CHECK(o2.status == 200);
		rest_response_free(&o2);
		topo_rules_run(rules);
		struct topo_rules_stats st;
		topo_rules_stats(rules, &st);
		CHECK(st.node_rules == 0 && st.edge_rules == 0);
		/* each node as it was, or (update rule) without the rule's keys (Skydive's
		 * deleteMetadata removes them, whoever set them) */
		json_t *after = nodes_json(), *md = json_object_get(a, "Metadata");
		CHECK(json_object_size(after) == json_object_size(before));
		const char *id;
		json_t *was;
		json_object_foreach(before, id, was)
		{
			json_t *now = json_object_get(after, id), *del = json_deep_copy(was);
			const char *k;
			json_t *kv;
			json_object_foreach(md, k, kv) json_dotted_del(del, k);
			CHECK(json_equal(now, was) || (!edge && json_equal(now, del)));
			json_decref(del);
		}
		json_decref(after);
	}
	json_decref(before);
	json_decref(a);
	rest_response_free(&out);
	return 0;
}
