/* test_api_msg.c - unit tests of the REST and wire code (src/analyzer/rest.c, src/wire/graph_msg.c) without sockets: WebSocket graph
 * messages applied to a graph (graph_msg.c) and the REST answers (rest.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/graph_msg.h"
#include "analyzer/rest.h"

static const struct graph_msg_source agent = {
    .host = "agent1", .origin = "agent.agent1", .force_host = 1};
static const struct graph_msg_source pub = {.host = "cli1", .origin = "cli.cli1"};

/* Applies one message given as JSON text; returns graph_msg_apply's result. */
static int apply(struct graph *g, const struct graph_msg_source *src, const char *text, char *err)
{
	json_t *m = graph_msg_parse(text, strlen(text), err, 256);
	assert_non_null(m);
	graph_lock(g);
	int rc = graph_msg_apply(g, m, src, 1000, err, 256);
	graph_unlock(g);
	json_decref(m);
	return rc;
}

static size_t count(struct graph *g, int edges)
{
	struct graph_stats s;
	graph_lock(g);
	graph_stats(g, &s);
	graph_unlock(g);
	return edges ? s.edges : s.nodes;
}

/* Node id's JSON (new reference), or NULL. */
static json_t *node_json(struct graph *g, const char *id)
{
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *n = graph_view_node_get(v, id);
	json_t *j = n ? graph_node_to_json(n) : NULL;
	graph_view_free(v);
	graph_unlock(g);
	return j;
}

static void test_parse_errors(void **state)
{
	char err[256];
	assert_null(graph_msg_parse("{\"Type\":", 8, err, sizeof(err)));
	assert_non_null(strstr(err, "line 1, column"));
	assert_null(graph_msg_parse("[1]", 3, err, sizeof(err)));
	assert_non_null(strstr(err, "Type"));
	assert_null(graph_msg_parse("{\"Type\":\"X\",\"Namespace\":3}", 26, err, sizeof(err)));
	json_t *m = graph_msg_new("Graph", "SyncReply", json_object());
	assert_string_equal(json_string_value(json_object_get(m, "Type")), "SyncReply");
	assert_int_equal(json_integer_value(json_object_get(m, "Status")), 200);
	assert_true(json_is_object(json_object_get(m, "Obj")));
	json_decref(m);
}

static void test_apply_elements(void **state)
{
	struct graph *g = graph_new(&(struct graph_opts){0});
	char err[256] = "";
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":{\"ID\":\"a\","
	          "\"Host\":\"other\",\"Metadata\":{\"Name\":\"eth0\",\"Type\":\"veth\"}}}",
	          err),
	    GRAPH_MSG_APPLIED);
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":{\"ID\":\"b\","
	          "\"Metadata\":{\"Name\":\"br0\"}}}",
	          err),
	    GRAPH_MSG_APPLIED);
	/* Agents' elements carry the agent's host whatever the message says. */
	json_t *j = node_json(g, "a");
	assert_string_equal(json_string_value(json_object_get(j, "Host")), "agent1");
	assert_string_equal(json_string_value(json_object_get(j, "Origin")), "agent.agent1");
	json_decref(j);
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"EdgeAdded\",\"Obj\":{\"ID\":\"e\","
	          "\"Parent\":\"b\",\"Child\":\"a\",\"Metadata\":{\"RelationType\":"
	          "\"layer2\"}}}",
	          err),
	    GRAPH_MSG_APPLIED);
	assert_int_equal(count(g, 1), 1);
	/* An edge to a missing node is refused with a message naming it. */
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"EdgeAdded\",\"Obj\":{\"ID\":\"e2\","
	          "\"Parent\":\"b\",\"Child\":\"zz\",\"Metadata\":{}}}",
	          err),
	    -EINVAL);
	assert_non_null(strstr(err, "zz"));
	/* Updated replaces metadata; an Added of an existing node updates it. */
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"NodeUpdated\",\"Obj\":{\"ID\":\"a\","
	          "\"Metadata\":{\"Name\":\"eth1\"}}}",
	          err),
	    GRAPH_MSG_APPLIED);
	j = node_json(g, "a");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "Metadata"), "Name")), "eth1");
	json_decref(j);
	/* Partial updates: set then delete a key. */
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"NodePartiallyUpdated\",\"Obj\":{"
	          "\"ID\":\"a\",\"Ops\":[{\"Type\":1,\"Key\":\"MTU\",\"Value\":1400},"
	          "{\"Type\":2,\"Key\":\"Name\"}]}}",
	          err),
	    GRAPH_MSG_APPLIED);
	j = node_json(g, "a");
	json_t *md = json_object_get(j, "Metadata");
	assert_int_equal(json_integer_value(json_object_get(md, "MTU")), 1400);
	assert_null(json_object_get(md, "Name"));
	json_decref(j);
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"EdgePartiallyUpdated\",\"Obj\":{"
	          "\"ID\":\"e\",\"Ops\":[{\"Type\":\"add\",\"Key\":\"Weight\",\"Value\":"
	          "2}]}}",
	          err),
	    GRAPH_MSG_APPLIED);
	/* Deleting a node takes its edges; deleting again is harmless. */
	assert_int_equal(apply(g, &agent,
	                       "{\"Namespace\":\"Graph\",\"Type\":\"NodeDeleted\",\"Obj\":{\"ID\":"
	                       "\"a\"}}",
	                       err),
	                 GRAPH_MSG_APPLIED);
	assert_int_equal(count(g, 0), 1);
	assert_int_equal(count(g, 1), 0);
	assert_int_equal(apply(g, &agent,
	                       "{\"Namespace\":\"Graph\",\"Type\":\"NodeDeleted\",\"Obj\":{\"ID\":"
	                       "\"a\"}}",
	                       err),
	                 GRAPH_MSG_APPLIED);
	/* Missing ID, other namespaces, unknown types, SyncRequest. */
	assert_int_equal(
	    apply(g, &agent, "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":{}}", err),
	    -EINVAL);
	assert_non_null(strstr(err, "ID"));
	assert_int_equal(apply(g, &agent, "{\"Namespace\":\"Flow\",\"Type\":\"NodeAdded\"}", err),
	                 GRAPH_MSG_IGNORED);
	assert_int_equal(
	    apply(g, &agent, "{\"Namespace\":\"Graph\",\"Type\":\"Hello\",\"Obj\":{}}", err),
	    GRAPH_MSG_IGNORED);
	assert_int_equal(
	    apply(g, &agent, "{\"Namespace\":\"Graph\",\"Type\":\"SyncRequest\"}", err),
	    GRAPH_MSG_SYNC_REQUEST);
	graph_free(g);
}

/* Partial updates: one revision however many ops, and at most GRAPH_MSG_MAX_OPS (a
 * 200,000-op message was quadratic: issue 9). */
static void test_partial_ops_bounded(void **state)
{
	(void)state;
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	char err[256];
	assert_int_equal(apply(g, &pub,
	                       "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":{"
	                       "\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\",\"Old\":1}}}",
	                       err),
	                 0);
	for (int pass = 0; pass < 2; pass++) {
		size_t nops = pass ? GRAPH_MSG_MAX_OPS + 1 : 3000;
		json_t *ops = json_array();
		for (size_t i = 0; i < nops; i++) {
			char k[32];
			snprintf(k, sizeof(k), "Sub.K%zu", i);
			json_array_append_new(ops, json_pack("{s:i, s:s, s:I}", "Type", 1, "Key", k,
			                                     "Value", (json_int_t)i));
		}
		json_array_append_new(ops, json_pack("{s:i, s:s}", "Type", 2, "Key", "Old"));
		json_t *m = json_pack("{s:s, s:s, s:{s:s, s:o}}", "Namespace", "Graph", "Type",
		                      "NodePartiallyUpdated", "Obj", "ID", "n1", "Ops", ops);
		char *text = json_dumps(m, JSON_COMPACT);
		json_decref(m);
		int rc = apply(g, &pub, text, err);
		free(text);
		json_t *n = node_json(g, "n1");
		assert_non_null(n);
		json_t *md = json_object_get(n, "Metadata");
		if (!pass) {
			assert_int_equal(rc, 0);
			assert_int_equal(json_integer_value(json_object_get(n, "Revision")), 2);
			assert_int_equal(
			    json_integer_value(json_object_get(json_object_get(md, "Sub"), "K2999")),
			    2999);
			assert_null(json_object_get(md, "Old"));
		} else {
			assert_true(rc < 0);
			assert_non_null(strstr(err, "operations refused (at most 10000"));
			assert_int_equal(json_integer_value(json_object_get(n, "Revision")), 2);
		}
		json_decref(n);
	}
	graph_free(g);
}

static void test_sync_replaces_origin(void **state)
{
	struct graph *g = graph_new(&(struct graph_opts){0});
	char err[256] = "";
	assert_int_equal(
	    apply(g, &pub,
	          "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":{\"ID\":\"p\","
	          "\"Host\":\"h9\",\"Metadata\":{\"Name\":\"pub\"}}}",
	          err),
	    GRAPH_MSG_APPLIED);
	/* Publishers keep the element's own Host. */
	json_t *j = node_json(g, "p");
	assert_string_equal(json_string_value(json_object_get(j, "Host")), "h9");
	json_decref(j);
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":{\"ID\":\"old\","
	          "\"Metadata\":{}}}",
	          err),
	    GRAPH_MSG_APPLIED);
	assert_int_equal(
	    apply(g, &agent,
	          "{\"Namespace\":\"Graph\",\"Type\":\"Sync\",\"Obj\":{\"Nodes\":[{\"ID\":"
	          "\"n1\",\"Metadata\":{}},{\"ID\":\"n2\",\"Metadata\":{}}],\"Edges\":[{"
	          "\"ID\":\"e1\",\"Parent\":\"n1\",\"Child\":\"n2\",\"Metadata\":{"
	          "\"RelationType\":\"ownership\"}}]}}",
	          err),
	    GRAPH_MSG_APPLIED);
	/* The agent's old node went, the publisher's stayed. */
	j = node_json(g, "old");
	assert_null(j);
	j = node_json(g, "p");
	assert_non_null(j);
	json_decref(j);
	assert_int_equal(count(g, 0), 3);
	assert_int_equal(count(g, 1), 1);
	graph_lock(g);
	assert_int_equal(graph_delete_by_host(g, "agent.agent1", 1, 2000), 3);
	graph_unlock(g);
	assert_int_equal(count(g, 0), 1);
	graph_free(g);
}

static json_t *fake_status(void *user)
{
	return json_pack("{s:{}}", "Agents");
}

static void rest(const struct rest_ctx *c, const char *method, const char *path, const char *accept,
                 const char *body, struct rest_response *r)
{
	rest_handle(c, method, path, accept, body, body ? strlen(body) : 0, r);
}

static json_t *body_json(const struct rest_response *r)
{
	json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	return j;
}

static void test_rest(void **state)
{
	struct graph *g = graph_new(&(struct graph_opts){0});
	char err[256];
	apply(g, &pub,
	      "{\"Namespace\":\"Graph\",\"Type\":\"Sync\",\"Obj\":{\"Nodes\":[{\"ID\":\"n1\","
	      "\"Metadata\":{\"Name\":\"br0\",\"Type\":\"bridge\"}},{\"ID\":\"n2\",\"Metadata\":{"
	      "\"Name\":\"eth0\"}}],\"Edges\":[{\"ID\":\"e1\",\"Parent\":\"n1\",\"Child\":\"n2\","
	      "\"Metadata\":{\"RelationType\":\"layer2\"}}]}}",
	      err);
	struct config *cfg = config_new();
	struct rest_ctx c = {
	    .g = g, .cfg = cfg, .service = "analyzer", .host_id = "h1", .status = fake_status};
	struct rest_response r;

	rest(&c, "GET", "/api", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	json_t *j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "Service")), "analyzer");
	assert_string_equal(json_string_value(json_object_get(j, "Host")), "h1");
	json_decref(j);
	free(r.body);

	rest(&c, "GET", "/api/status", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "Agents"));
	free(r.body);

	rest(&c, "GET", "/api/topology", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "Nodes")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "Edges")), 1);
	json_decref(j);
	free(r.body);

	rest(&c, "POST", "/api/topology", NULL, "{\"GremlinQuery\":\"G.V().Count()\"}", &r);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_int_equal(json_integer_value(j), 2);
	json_decref(j);
	free(r.body);

	rest(&c, "POST", "/api/topology", NULL,
	     "{\"GremlinQuery\":\"G.V().Has('Name','br0').Out().Values('Name')\"}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "[\"eth0\"]");
	free(r.body);

	rest(&c, "POST", "/api/topology", "text/vnd.graphviz",
	     "{\"GremlinQuery\":\"G.V().Has('Name','br0')\"}", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "text/vnd.graphviz");
	assert_non_null(strstr(r.body, "digraph"));
	free(r.body);

	rest(&c, "POST", "/api/topology", NULL, "{\"GremlinQuery\":\"G.V().Has('Name'\"}", &r);
	assert_int_equal(r.status, 400);
	j = body_json(&r);
	assert_true(json_is_integer(json_object_get(j, "Position")));
	assert_true(json_is_string(json_object_get(j, "Error")));
	json_decref(j);
	free(r.body);

	rest(&c, "POST", "/api/topology", NULL, "{\"GremlinQuery\": ", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "line 1, column"));
	free(r.body);

	rest(&c, "POST", "/api/topology", NULL, "{\"GremlinQuery\":42}", &r);
	assert_int_equal(r.status, 400);
	free(r.body);

	rest(&c, "POST", "/api/topology", NULL, "{\"GremlinQuery\":\"  \"}", &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.len, 0);
	free(r.body);

	rest(&c, "GET", "/api/nope", NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	free(r.body);
	rest(&c, "DELETE", "/api/topology", NULL, NULL, &r);
	assert_int_equal(r.status, 405);
	free(r.body);
	rest(&c, "POST", "/api", NULL, "{}", &r);
	assert_int_equal(r.status, 405);
	free(r.body);

	rest(&c, "GET", "/api/config/analyzer.listen", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "\"127.0.0.1:8082\"");
	free(r.body);
	rest(&c, "GET", "/api/config/no.such", NULL, NULL, &r);
	assert_int_equal(r.status, 404);
	free(r.body);

	config_free(cfg);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_apply_elements),
	    cmocka_unit_test(test_sync_replaces_origin),
	    cmocka_unit_test(test_partial_ops_bounded),
	    cmocka_unit_test(test_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
