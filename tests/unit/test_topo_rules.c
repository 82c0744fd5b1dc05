/* test_topo_rules.c - unit tests of node and edge rules (src/analyzer/topo_rules.c): the
 * IDs (Skydive's graph.GenID, a UUID v5 in the OID namespace: expected values from
 * Python's uuid.uuid5(uuid.NAMESPACE_OID, ...)), validation with reasons and Gremlin
 * positions, the registries' REST answers and files, and the rules applied to a graph as
 * topology_manager.go does: create, update, edge (layer2, ownership), re-application when
 * a node appears, removal on delete. Passes run on the test's thread (topo_rules_run). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer/topo_rules.h"
#include "client/rule_cmd.h"
#include "gremlin/gremlin.h"

#define TOR1_ID "c7f3bf4b-59c3-548f-a200-02db7c8ff4da" /* uuid5(OID, "fabric/TOR1") */

static void test_gen_id(void **state)
{
	(void)state;
	char id[37];
	const char *p1[] = {"fabric", "TOR1"};
	assert_int_equal(topo_rules_gen_id(p1, 2, id), 0);
	assert_string_equal(id, TOR1_ID);
	const char *p2[] = {"host", "h1"};
	assert_int_equal(topo_rules_gen_id(p2, 2, id), 0);
	assert_string_equal(id, "03e30311-d11e-531d-9660-b7a71727fd22");
	const char *p3[] = {TOR1_ID "n-eth0layer2"};
	assert_int_equal(topo_rules_gen_id(p3, 1, id), 0);
	assert_string_equal(id, "9e15c111-abbb-527d-8d9c-67c3af53d0cf");
}

/* validate(text): 0 or -EINVAL; err filled. */
static int vnode(const char *text, struct res_error *err, json_t **out)
{
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	memset(err, 0, sizeof(*err));
	err->pos = -1;
	int rc = topo_rules_validate_node(o, err);
	if (out)
		*out = o;
	else
		json_decref(o);
	return rc;
}

static int vedge(const char *text, struct res_error *err, json_t **out)
{
	json_t *o = json_loads(text, 0, NULL);
	assert_non_null(o);
	memset(err, 0, sizeof(*err));
	err->pos = -1;
	int rc = topo_rules_validate_edge(o, err);
	if (out)
		*out = o;
	else
		json_decref(o);
	return rc;
}

static int parse_pos(const char *q)
{
	struct gremlin_error ge = {0};
	struct gremlin_query *gq = gremlin_parse(q, &ge);
	assert_null(gq);
	return ge.pos;
}

static void test_validate_node(void **state)
{
	(void)state;
	static const struct {
		const char *body, *want; /* want: a part of the message */
	} bad[] = {
	    {"[]", "NodeRule object"},
	    {"{\"Action\": \"create\", \"Metadata\": {\"Name\": \"a\", \"Type\": \"b\"}, \"Foo\": 1}",
	     "unknown NodeRule field 'Foo'"},
	    {"{\"Action\": \"delete\"}", "Action 'delete'"},
	    {"{}", "Action ''"},
	    {"{\"Action\": \"Create\", \"Metadata\": {\"Name\": \"a\", \"Type\": \"b\"}}",
	     "Action 'Create'"},
	    {"{\"Action\": \"create\", \"Metadata\": {\"Name\": \"a\"}}", "Metadata.Type"},
	    {"{\"Action\": \"create\", \"Metadata\": {\"Name\": \"\", \"Type\": \"b\"}}",
	     "Metadata.Name"},
	    {"{\"Action\": \"create\", \"Metadata\": {\"Name\": 1, \"Type\": \"b\"}}",
	     "Metadata.Name"},
	    {"{\"Action\": \"create\", \"Metadata\": {\"Name\": \"n\", \"Type\": \"netns\"}}",
	     "Metadata.Path"},
	    {"{\"Action\": \"create\", \"Metadata\": {\"Name\": \"n\", \"Type\": \"ovsport\"}}",
	     "Metadata.UUID"},
	    {"{\"Action\": \"create\", \"Metadata\": {\"Name\": \"n\", \"Type\": \"t\"}, "
	     "\"Query\": \"G.V()\"}",
	     "only used by 'update'"},
	    {"{\"Action\": \"create\", \"Metadata\": [1]}", "Metadata must be an object"},
	    {"{\"Action\": \"update\", \"Query\": \"G.V()\", \"Metadata\": {\"Name\": \"x\"}}",
	     "Name and Type fields can not be changed"},
	    {"{\"Action\": \"update\", \"Query\": \"G.V()\", \"Metadata\": {\"Type\": \"x\"}}",
	     "Name and Type fields can not be changed"},
	    {"{\"Action\": \"update\", \"Query\": \"G.V()\"}", "needs Metadata"},
	    {"{\"Action\": \"update\", \"Metadata\": {\"A\": \"x\"}}", "needs a Query"},
	    {"{\"Action\": \"update\", \"Query\": \"G.At('-1m').V()\", \"Metadata\": {\"A\": 1}}",
	     "At() and Context()"},
	    {"{\"Action\": \"update\", \"Query\": 7, \"Metadata\": {\"A\": 1}}",
	     "Query must be a string"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct res_error err;
		assert_int_equal(vnode(bad[i].body, &err, NULL), -EINVAL);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("%s: '%s' does not say '%s'", bad[i].body, err.msg, bad[i].want);
		assert_int_equal(err.pos, -1);
	}
	/* a Gremlin error names its position, the parser's */
	struct res_error err;
	const char *q = "G.V().Has('Name', 'eth0'";
	assert_int_equal(vnode("{\"Action\": \"update\", \"Query\": \"G.V().Has('Name', 'eth0'\", "
	                       "\"Metadata\": {\"A\": 1}}",
	                       &err, NULL),
	                 -EINVAL);
	assert_true(!strncmp(err.msg, "Query: ", 7));
	assert_int_equal(err.pos, parse_pos(q));
	assert_true(err.pos > 0);

	/* accepted: keys matched without regard to case, every field written back */
	json_t *o;
	assert_int_equal(vnode("{\"uuid\": \"x\", \"action\": \"create\", \"name\": \"r\", "
	                       "\"metadata\": {\"Name\": \"TOR1\", \"Type\": \"fabric\"}}",
	                       &err, &o),
	                 0);
	json_t *want = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s}", "Name", "r", "Description",
	                         "", "Metadata", "Name", "TOR1", "Type", "fabric", "Action",
	                         "create", "Query", "");
	assert_true(json_equal(o, want));
	json_decref(want);
	json_decref(o);
	assert_int_equal(vnode("{\"Action\": \"update\", \"Query\": \"G.V().Has('Type', 'veth')\", "
	                       "\"Metadata\": {\"Rack\": \"r1\", \"Ovs.Bridge\": \"br0\"}}",
	                       &err, NULL),
	                 0);
}

static void test_validate_edge(void **state)
{
	(void)state;
	static const struct {
		const char *body, *want;
	} bad[] = {
	    {"[1]", "EdgeRule object"},
	    {"{\"Dst\": \"G.V()\", \"Metadata\": {\"RelationType\": \"l\"}}", "Src is required"},
	    {"{\"Src\": \"G.V()\", \"Metadata\": {\"RelationType\": \"l\"}}", "Dst is required"},
	    {"{\"Src\": \"G.V()\", \"Dst\": \"G.V()\"}", "Metadata.RelationType is required"},
	    {"{\"Src\": \"G.V()\", \"Dst\": \"G.V()\", \"Metadata\": {\"RelationType\": \"\"}}",
	     "Metadata.RelationType is required"},
	    {"{\"Src\": \"G.V()\", \"Dst\": \"G.V()\", \"Metadata\": {\"RelationType\": \"l\"}, "
	     "\"Action\": \"create\"}",
	     "unknown EdgeRule field 'Action'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct res_error err;
		assert_int_equal(vedge(bad[i].body, &err, NULL), -EINVAL);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("%s: '%s' does not say '%s'", bad[i].body, err.msg, bad[i].want);
	}
	struct res_error err;
	assert_int_equal(vedge("{\"Src\": \"G.V()\", \"Dst\": \"G.V().Has(\", \"Metadata\": "
	                       "{\"RelationType\": \"l\"}}",
	                       &err, NULL),
	                 -EINVAL);
	assert_true(!strncmp(err.msg, "Dst: ", 5));
	assert_int_equal(err.pos, parse_pos("G.V().Has("));
	json_t *o;
	assert_int_equal(vedge("{\"src\": \"G.V().Has('Name', 'a')\", \"DST\": \"G.V()\", "
	                       "\"Metadata\": {\"RelationType\": \"layer2\", \"Speed\": 10}}",
	                       &err, &o),
	                 0);
	json_t *want = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:i}}", "Name", "", "Description", "",
	                         "Src", "G.V().Has('Name', 'a')", "Dst", "G.V()", "Metadata",
	                         "RelationType", "layer2", "Speed", 10);
	assert_true(json_equal(o, want));
	json_decref(want);
	json_decref(o);
}

/* ---- applied to a graph -------------------------------------------------------- */

static char dir[64];

static void add_node(struct graph *g, const char *id, const char *name, const char *type)
{
	graph_lock(g);
	assert_int_equal(graph_node_add(g, id, json_pack("{s:s, s:s}", "Name", name, "Type", type),
	                                "h1", "agent.h1", 1000),
	                 0);
	graph_unlock(g);
}

static void add_edge(struct graph *g, const char *id, const char *p, const char *c,
                     const char *rt)
{
	graph_lock(g);
	assert_int_equal(graph_edge_add(g, id, p, c, json_pack("{s:s}", "RelationType", rt), "h1",
	                                "agent.h1", 1000),
	                 0);
	graph_unlock(g);
}

/* A copy of node/edge id's metadata (NULL when there is none). */
static json_t *node_md(struct graph *g, const char *id, int edge)
{
	graph_rdlock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_elem *e = NULL;
	if (edge) {
		const struct graph_edge *x = graph_view_edge_get(v, id);
		e = x ? &x->e : NULL;
	} else {
		const struct graph_node *x = graph_view_node_get(v, id);
		e = x ? &x->e : NULL;
	}
	json_t *md = e ? json_deep_copy(e->metadata) : NULL;
	graph_view_free(v);
	graph_unlock(g);
	return md;
}

static const char *sget(const json_t *md, const char *k)
{
	return json_string_value(json_object_get(md, k));
}

static void create(struct topo_rules *r, int edge, const char *body, char uuid[37])
{
	json_t *o = json_loads(body, 0, NULL);
	struct res_error err = {0};
	assert_non_null(o);
	int rc = res_registry_create(topo_rules_registry(r, edge), o, uuid, &err);
	if (rc)
		fail_msg("%s: %s", body, err.msg);
	json_decref(o);
}

static void test_apply(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_topo_rules.XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct graph *g = graph_new(NULL);
	add_node(g, "n-ns", "ns1", "netns");
	add_node(g, "n-eth0", "eth0", "veth");
	add_node(g, "n-eth1", "eth1", "veth");
	add_edge(g, "e-own1", "n-ns", "n-eth1", "ownership");
	struct topo_rules *r = topo_rules_new(dir, g, NULL);
	assert_non_null(r);
	assert_int_equal(topo_rules_run(r), 0); /* nothing yet */

	char nc[37], nu[37], el[37], eo[37];
	create(r, 0,
	       "{\"Action\": \"create\", \"Name\": \"tor\", \"Metadata\": {\"Name\": \"TOR1\", "
	       "\"Type\": \"fabric\", \"Vendor\": \"acme\"}}",
	       nc);
	create(r, 0,
	       "{\"Action\": \"update\", \"Query\": \"G.V().Has('Type', 'veth')\", \"Metadata\": "
	       "{\"Rack\": \"r1\", \"Ovs.Bridge\": \"br0\"}}",
	       nu);
	create(r, 1,
	       "{\"Src\": \"G.V().Has('Name', 'TOR1')\", \"Dst\": \"G.V().Has('Name', 'eth0')\", "
	       "\"Metadata\": {\"RelationType\": \"layer2\", \"Speed\": 10}}",
	       el);
	create(r, 1,
	       "{\"Src\": \"G.V().Has('Name', 'TOR1')\", \"Dst\": \"G.V().Has('Name', 'eth1')\", "
	       "\"Metadata\": {\"RelationType\": \"ownership\", \"Extra\": \"dropped\"}}",
	       eo);
	/* node + 2 updates + layer2 edge + (old ownership deleted, new one) */
	assert_int_equal(topo_rules_run(r), 6);

	/* create: ID GenID(Type, Name), TID, Probe fabric (topology_manager.go createNode) */
	json_t *md = node_md(g, TOR1_ID, 0);
	assert_non_null(md);
	assert_string_equal(sget(md, "TID"), TOR1_ID);
	assert_string_equal(sget(md, "Probe"), "fabric");
	assert_string_equal(sget(md, "Vendor"), "acme");
	json_decref(md);
	/* update: every veth, dotted keys nested (SetField) */
	const char *veths[] = {"n-eth0", "n-eth1"};
	for (int i = 0; i < 2; i++) {
		md = node_md(g, veths[i], 0);
		assert_string_equal(sget(md, "Rack"), "r1");
		assert_string_equal(sget(json_object_get(md, "Ovs"), "Bridge"), "br0");
		json_decref(md);
	}
	md = node_md(g, "n-ns", 0);
	assert_null(json_object_get(md, "Rack"));
	json_decref(md);
	/* layer2: ID uuid5(OID, Src.ID + Dst.ID + RelationType), the rule's Metadata */
	md = node_md(g, "9e15c111-abbb-527d-8d9c-67c3af53d0cf", 1);
	assert_non_null(md);
	assert_string_equal(sget(md, "RelationType"), "layer2");
	assert_int_equal(json_integer_value(json_object_get(md, "Speed")), 10);
	json_decref(md);
	/* ownership: only its RelationType, and it replaced eth1's other owner */
	md = node_md(g, "f880924d-4e04-5775-8904-612cb022f3f8", 1);
	assert_non_null(md);
	json_t *want = json_pack("{s:s}", "RelationType", "ownership");
	assert_true(json_equal(md, want));
	json_decref(want);
	json_decref(md);
	assert_null(node_md(g, "e-own1", 1));

	/* applied again: nothing more to do */
	assert_int_equal(topo_rules_run(r), 0);

	/* a node that appears later gets the update rule */
	add_node(g, "n-eth2", "eth2", "veth");
	assert_int_equal(topo_rules_run(r), 1);
	md = node_md(g, "n-eth2", 0);
	assert_string_equal(sget(md, "Rack"), "r1");
	json_decref(md);

	/* the rules are in the files: a new registry on the same directory has them */
	struct topo_rules *r2 = topo_rules_new(dir, g, NULL);
	struct topo_rules_stats st;
	topo_rules_stats(r2, &st);
	assert_int_equal(st.node_rules, 2);
	assert_int_equal(st.edge_rules, 2);
	topo_rules_free(r2);

	/* deleting: the edge, the keys, the node */
	assert_int_equal(res_registry_delete(topo_rules_registry(r, 1), el), 0);
	assert_int_equal(topo_rules_run(r), 1);
	assert_null(node_md(g, "9e15c111-abbb-527d-8d9c-67c3af53d0cf", 1));
	assert_int_equal(res_registry_delete(topo_rules_registry(r, 0), nu), 0);
	assert_int_equal(topo_rules_run(r), 3);
	const char *all[] = {"n-eth0", "n-eth1", "n-eth2"};
	for (int i = 0; i < 3; i++) {
		md = node_md(g, all[i], 0);
		assert_null(json_object_get(md, "Rack"));
		assert_null(json_object_get(md, "Ovs"));
		assert_string_equal(sget(md, "Name"), all[i] + 2);
		json_decref(md);
	}
	assert_int_equal(res_registry_delete(topo_rules_registry(r, 0), nc), 0);
	topo_rules_run(r);
	assert_null(node_md(g, TOR1_ID, 0));
	/* its edges went with it; the ownership rule has no Src now: nothing */
	assert_null(node_md(g, "f880924d-4e04-5775-8904-612cb022f3f8", 1));
	assert_int_equal(topo_rules_run(r), 0);

	/* REST: a 400 with its reason and position, 404 */
	struct rest_response out = {0};
	const char *body = "{\"Src\": \"G.V().Has(\", \"Dst\": \"G.V()\", \"Metadata\": "
	                   "{\"RelationType\": \"l\"}}";
	topo_rules_handle(r, 1, "POST", "/api/edgerule", NULL, body, strlen(body), &out);
	assert_int_equal(out.status, 400);
	json_t *j = json_loadb(out.body, out.len, 0, NULL);
	assert_true(!strncmp(sget(j, "Error"), "Src: ", 5));
	assert_int_equal(json_integer_value(json_object_get(j, "Position")),
	                 parse_pos("G.V().Has("));
	json_decref(j);
	rest_response_free(&out);
	topo_rules_handle(r, 0, "GET", "/api/noderule/" TOR1_ID, NULL, NULL, 0, &out);
	assert_int_equal(out.status, 404);
	rest_response_free(&out);

	topo_rules_free(r);
	graph_free(g);
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, TOPO_RULES_NODE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, TOPO_RULES_EDGE_FILE);
	unlink(path);
	rmdir(dir);
}

/* A create rule loaded from the file makes its node on the first pass (a restart). */
static void test_reload(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_topo_rules.XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct graph *g = graph_new(NULL);
	struct topo_rules *r = topo_rules_new(dir, g, NULL);
	char id[37];
	create(r, 0, "{\"Action\": \"create\", \"Metadata\": {\"Name\": \"TOR1\", \"Type\": \"fabric\"}}",
	       id);
	topo_rules_free(r);
	graph_free(g);
	g = graph_new(NULL);
	r = topo_rules_new(dir, g, NULL);
	assert_int_equal(topo_rules_run(r), 1);
	json_t *md = node_md(g, TOR1_ID, 0);
	assert_non_null(md);
	json_decref(md);
	/* the edge of an edge rule whose nodes are already linked (either way) is not added */
	add_node(g, "a", "a", "t");
	add_node(g, "b", "b", "t");
	add_edge(g, "ba", "b", "a", "peer");
	char eid[37];
	create(r, 1,
	       "{\"Src\": \"G.V().Has('Name', 'a')\", \"Dst\": \"G.V().Has('Name', 'b')\", "
	       "\"Metadata\": {\"RelationType\": \"peer\"}}",
	       eid);
	assert_int_equal(topo_rules_run(r), 0);
	topo_rules_free(r);
	graph_free(g);
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, TOPO_RULES_NODE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", dir, TOPO_RULES_EDGE_FILE);
	unlink(path);
	rmdir(dir);
}

/* The client's --metadata, Skydive's graph.DefToMetadata. */
static void test_client_metadata(void **state)
{
	(void)state;
	char err[256];
	json_t *md = json_object();
	assert_int_equal(client_rule_metadata("k1=v1, k2=v2,\"a.b\"=\"c\"", md, err, sizeof(err)), 0);
	json_t *want = json_pack("{s:s, s:s, s:{s:s}}", "k1", "v1", "k2", "v2", "a", "b", "c");
	assert_true(json_equal(md, want));
	json_decref(want);
	assert_int_equal(client_rule_metadata("", md, err, sizeof(err)), 0);
	static const char *const bad[] = {"k", "a=b=c", "a=b,", "=v"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(client_rule_metadata(bad[i], md, err, sizeof(err)), -EINVAL);
	json_decref(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gen_id),        cmocka_unit_test(test_validate_node),
	    cmocka_unit_test(test_validate_edge), cmocka_unit_test(test_apply),
	    cmocka_unit_test(test_reload),        cmocka_unit_test(test_client_metadata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
