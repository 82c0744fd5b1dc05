/* test_user_topo.c - unit tests of /api/node and /api/edge (src/analyzer/user_topo.c):
 * validation against Skydive's node.schema / edge.schema, create / patch / delete with
 * the status codes of graffiti/api/server/server.go, an edge to a missing node
 * (graph/memory.go's "Parent node not found" / "Child node not found"), elements of a
 * probe left alone, and the restore from the store, with an edge that waits for its node. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "analyzer/user_topo.h"
#include "client/topo_cmd.h"
#include "common/log.h"
#include "graph/graph.h"

/* ---- a store in memory that outlives the module (the restore) ---- */

struct mem {
	json_t *data; /* what was saved last */
	int fail, saves;
};

static int mem_load(void *ctx, json_t **all)
{
	struct mem *m = ctx;
	*all = m->data ? json_deep_copy(m->data) : json_object();
	return 0;
}

static int mem_save(void *ctx, const json_t *all, char *err, size_t errlen)
{
	struct mem *m = ctx;
	if (m->fail) {
		snprintf(err, errlen, "disk full");
		return -ENOSPC;
	}
	json_decref(m->data);
	m->data = json_deep_copy(all);
	m->saves++;
	return 0;
}

static struct res_store mem_store(struct mem *m)
{
	return (struct res_store){.load = mem_load, .save = mem_save, .ctx = m};
}

static struct user_topo *topo_new(struct graph *g, struct mem *n, struct mem *e)
{
	char err[256];
	struct user_topo *t = user_topo_new_store(g, "h1", mem_store(n), mem_store(e), err,
	                                          sizeof(err));
	assert_non_null(t);
	return t;
}

/* One request; the body's JSON (NULL when none or not JSON) and the status. */
static json_t *call(struct user_topo *t, const char *method, const char *path, const char *body,
                    int *status)
{
	struct rest_response out;
	user_topo_handle(t, method, path, NULL, body, body ? strlen(body) : 0, &out);
	*status = out.status;
	json_t *j = out.len ? json_loadb(out.body, out.len, 0, NULL) : NULL;
	rest_response_free(&out);
	return j;
}

static const char *error_of(const json_t *j)
{
	const char *s = json_string_value(json_object_get(j, "Error"));
	return s ? s : "";
}

/* The status alone (the body dropped). */
static int status_of(struct user_topo *t, const char *method, const char *path, const char *body)
{
	int st;
	json_decref(call(t, method, path, body, &st));
	return st;
}

static int in_graph(struct graph *g, int edge, const char *id)
{
	graph_rdlock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	int there = edge ? graph_view_edge_get(v, id) != NULL : graph_view_node_get(v, id) != NULL;
	graph_view_free(v);
	graph_unlock(g);
	return there;
}

static void probe_node(struct graph *g, const char *id, const char *name)
{
	graph_lock(g);
	assert_int_equal(graph_node_add(g, id, json_pack("{s:s, s:s}", "Name", name, "Type", "veth"),
	                                "host1", "agent.host1", 1000),
	                 0);
	graph_unlock(g);
}

/* ---- validation ---- */

static void test_validate(void **state)
{
	(void)state;
	static const struct {
		int edge;
		const char *body, *err; /* err NULL: accepted */
	} cases[] = {
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"device\"}}", NULL},
	    {0, "{\"Metadata\":{\"Name\":\"a\",\"Type\":\"device\"}}", NULL}, /* ID made */
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"device\"},\"Host\":null,"
	        "\"Origin\":null,\"CreatedAt\":null,\"UpdatedAt\":5,\"Revision\":1}",
	     NULL},
	    /* node.schema: Metadata required, Name and Type non-empty strings */
	    {0, "{\"ID\":\"n1\"}", "Metadata is required"},
	    {0, "{\"ID\":\"n1\",\"Metadata\":[]}", "Metadata is required"},
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Type\":\"device\"}}", "Name is required"},
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"\",\"Type\":\"device\"}}", "non-empty"},
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\"}}", "Type is required"},
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\",\"Type\":3}}", "Type must be"},
	    /* nsMetadata and ovsMetadata */
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"netns\"}}", "Path is required"},
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"netns\",\"Path\":\"/x\"}}",
	     NULL},
	    {0, "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"ovsport\"}}", "UUID is required"},
	    /* graphElement: ID minLength 1, Host/Origin string or null, times integer or null */
	    {0, "{\"ID\":\"\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}", "ID must be"},
	    {0, "{\"ID\":7,\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}", "ID must be"},
	    {0, "{\"ID\":\"a/b\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}", "ID must be"},
	    {0, "{\"ID\":\"n1\",\"Host\":3,\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}", "Host must be"},
	    {0, "{\"ID\":\"n1\",\"CreatedAt\":\"now\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}",
	     "CreatedAt must be an integer"},
	    {0, "{\"ID\":\"n1\",\"DeletedAt\":5,\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}",
	     "DeletedAt"},
	    {0, "{\"ID\":\"n1\",\"Parent\":\"x\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}",
	     "unknown field 'Parent'"},
	    {0, "{\"ID\":\"n1\",\"Origin\":\"agent.h2\",\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"}}",
	     "connected peer"},
	    {0, "[1]", "a Node is a JSON object"},
	    /* edge.schema: RelationType, Parent, Child */
	    {1, "{\"ID\":\"e1\",\"Parent\":\"a\",\"Child\":\"b\",\"Metadata\":{\"RelationType\":\"l2\"}}",
	     NULL},
	    {1, "{\"ID\":\"e1\",\"Parent\":\"a\",\"Child\":\"b\",\"Metadata\":{}}",
	     "RelationType is required"},
	    {1, "{\"ID\":\"e1\",\"Child\":\"b\",\"Metadata\":{\"RelationType\":\"l2\"}}",
	     "Parent is required"},
	    {1, "{\"ID\":\"e1\",\"Parent\":\"a\",\"Child\":\"\",\"Metadata\":{\"RelationType\":\"l2\"}}",
	     "Child is required"},
	    {1, "{\"ID\":\"e1\",\"Parent\":\"a\",\"Child\":\"b\",\"Metadata\":{\"RelationType\":\"l2\"},"
	        "\"Weight\":1}",
	     "unknown field 'Weight'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = json_loads(cases[i].body, 0, NULL);
		assert_non_null(o);
		struct res_error e = {.pos = 0};
		int rc = user_topo_validate(cases[i].edge, o, "h1", &e);
		if (!cases[i].err) {
			if (rc)
				fail_msg("case %zu refused: %s", i, e.msg);
		} else {
			assert_int_equal(rc, -EINVAL);
			if (!strstr(e.msg, cases[i].err))
				fail_msg("case %zu: '%s' does not say '%s'", i, e.msg, cases[i].err);
		}
		json_decref(o);
	}
	/* defaults: an ID (a UUID), Host the analyzer's, Origin graph.Origin(host, "api") */
	json_t *o = json_loads("{\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"},\"CreatedAt\":5}", 0,
	                       NULL);
	struct res_error e;
	assert_int_equal(user_topo_validate(0, o, "h1", &e), 0);
	assert_true(res_uuid_valid(json_string_value(json_object_get(o, "ID"))));
	assert_string_equal(json_string_value(json_object_get(o, "Host")), "h1");
	assert_string_equal(json_string_value(json_object_get(o, "Origin")), "api.h1");
	assert_null(json_object_get(o, "CreatedAt")); /* the graph stamps its own */
	json_decref(o);
	o = json_loads("{\"Metadata\":{\"Name\":\"a\",\"Type\":\"d\"},\"Host\":\"me\","
	               "\"Origin\":\"cli.me\"}",
	               0, NULL);
	assert_int_equal(user_topo_validate(0, o, "h1", &e), 0);
	assert_string_equal(json_string_value(json_object_get(o, "Host")), "me");
	assert_string_equal(json_string_value(json_object_get(o, "Origin")), "cli.me");
	json_decref(o);
}

/* ---- create, patch, delete ---- */

static void test_node_crud(void **state)
{
	(void)state;
	struct graph *g = graph_new(&(struct graph_opts){0});
	struct mem mn = {0}, me = {0};
	struct user_topo *t = topo_new(g, &mn, &me);
	int st;
	json_t *j = call(t, "POST", "/api/node",
	                 "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"my\",\"Type\":\"device\"}}", &st);
	assert_int_equal(st, 201);
	assert_string_equal(json_string_value(json_object_get(j, "ID")), "n1");
	assert_string_equal(json_string_value(json_object_get(j, "Origin")), "api.h1");
	assert_int_equal(json_integer_value(json_object_get(j, "Revision")), 1);
	json_decref(j);
	assert_true(in_graph(g, 0, "n1"));
	assert_non_null(json_object_get(mn.data, "n1"));
	/* the same ID again: a conflict (graph.ErrNodeConflict) */
	j = call(t, "POST", "/api/node", "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"x\",\"Type\":\"d\"}}",
	         &st);
	assert_int_equal(st, 409);
	assert_non_null(strstr(error_of(j), "Node ID conflict"));
	json_decref(j);
	/* a body that is not JSON */
	assert_int_equal(status_of(t, "POST", "/api/node", "{\"ID\":"), 400);
	/* GET one, GET all */
	j = call(t, "GET", "/api/node/n1", NULL, &st);
	assert_int_equal(st, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Metadata"), "Name")),
	                    "my");
	json_decref(j);
	j = call(t, "GET", "/api/node", NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_object_size(j), 1);
	assert_non_null(json_object_get(j, "n1"));
	json_decref(j);
	j = call(t, "GET", "/api/node/zz", NULL, &st);
	assert_int_equal(st, 404);
	assert_string_equal(error_of(j), "Node 'zz' not found"); /* server.go's words */
	json_decref(j);
	/* PATCH: a metadata key added (200, revision 2), the same again (304) */
	const char *add = "[{\"op\":\"add\",\"path\":\"/Metadata/Color\",\"value\":\"red\"}]";
	j = call(t, "PATCH", "/api/node/n1", add, &st);
	assert_int_equal(st, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Metadata"), "Color")),
	                    "red");
	assert_int_equal(json_integer_value(json_object_get(j, "Revision")), 2);
	json_decref(j);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_object_get(mn.data, "n1"), "Metadata"), "Color")),
	                    "red");
	assert_int_equal(status_of(t, "PATCH", "/api/node/n1", add), 304);
	/* node.go keeps TID, Name and Type; only Metadata may change */
	j = call(t, "PATCH", "/api/node/n1",
	         "[{\"op\":\"replace\",\"path\":\"/Metadata/Name\",\"value\":\"x\"}]", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(error_of(j), "Metadata.Name cannot be changed"));
	json_decref(j);
	j = call(t, "PATCH", "/api/node/n1",
	         "[{\"op\":\"remove\",\"path\":\"/Metadata/Type\"}]", &st);
	assert_int_equal(st, 400);
	json_decref(j);
	j = call(t, "PATCH", "/api/node/n1", "[{\"op\":\"replace\",\"path\":\"/Host\",\"value\":\"x\"}]",
	         &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(error_of(j), "Host cannot be changed"));
	json_decref(j);
	j = call(t, "PATCH", "/api/node/n1", "{\"op\":\"add\"}", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(error_of(j), "incorrect JSON patch"));
	json_decref(j);
	j = call(t, "PATCH", "/api/node/n1", "[{\"op\":\"remove\",\"path\":\"/Metadata/Nope\"}]", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(error_of(j), "applying JSON patch"));
	json_decref(j);
	assert_int_equal(status_of(t, "PATCH", "/api/node/zz", add), 404);
	/* methods */
	assert_int_equal(status_of(t, "PUT", "/api/node/n1", NULL), 405);
	assert_int_equal(status_of(t, "DELETE", "/api/node", NULL), 405);
	/* DELETE: 200 with no body, then 404 */
	assert_int_equal(status_of(t, "DELETE", "/api/node/n1", NULL), 200);
	assert_false(in_graph(g, 0, "n1"));
	assert_null(json_object_get(mn.data, "n1"));
	assert_int_equal(status_of(t, "DELETE", "/api/node/n1", NULL), 404);
	user_topo_free(t);
	graph_free(g);
	json_decref(mn.data);
	json_decref(me.data);
}

static void test_edges(void **state)
{
	(void)state;
	struct graph *g = graph_new(&(struct graph_opts){0});
	struct mem mn = {0}, me = {0};
	struct user_topo *t = topo_new(g, &mn, &me);
	probe_node(g, "p1", "veth0");
	int st;
	assert_int_equal(status_of(t, "POST", "/api/node",
	                           "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"my\",\"Type\":\"device\"}}"),
	                 201);
	/* graph/memory.go EdgeAdded: the parent, then the child must exist */
	json_t *j = call(t, "POST", "/api/edge",
	                 "{\"ID\":\"e1\",\"Parent\":\"nope\",\"Child\":\"p1\",\"Metadata\":"
	                 "{\"RelationType\":\"layer2\"}}",
	                 &st);
	assert_int_equal(st, 400);
	assert_string_equal(error_of(j), "Parent node not found: 'nope'");
	json_decref(j);
	j = call(t, "POST", "/api/edge",
	         "{\"ID\":\"e1\",\"Parent\":\"n1\",\"Child\":\"nope\",\"Metadata\":"
	         "{\"RelationType\":\"layer2\"}}",
	         &st);
	assert_int_equal(st, 400);
	assert_string_equal(error_of(j), "Child node not found: 'nope'");
	json_decref(j);
	assert_false(in_graph(g, 1, "e1"));
	assert_null(me.data); /* nothing saved */
	/* to the probe's node */
	j = call(t, "POST", "/api/edge",
	         "{\"ID\":\"e1\",\"Parent\":\"n1\",\"Child\":\"p1\",\"Metadata\":"
	         "{\"RelationType\":\"layer2\"}}",
	         &st);
	assert_int_equal(st, 201);
	assert_string_equal(json_string_value(json_object_get(j, "Parent")), "n1");
	assert_string_equal(json_string_value(json_object_get(j, "Child")), "p1");
	json_decref(j);
	assert_true(in_graph(g, 1, "e1"));
	assert_int_equal(status_of(t, "POST", "/api/edge",
	                           "{\"ID\":\"e1\",\"Parent\":\"n1\",\"Child\":\"p1\",\"Metadata\":"
	                           "{\"RelationType\":\"layer2\"}}"),
	                 409);
	/* an edge's RelationType may change, its ends may not */
	j = call(t, "PATCH", "/api/edge/e1",
	         "[{\"op\":\"replace\",\"path\":\"/Metadata/RelationType\",\"value\":\"ownership\"}]",
	         &st);
	assert_int_equal(st, 200);
	json_decref(j);
	assert_int_equal(status_of(t, "PATCH", "/api/edge/e1",
	                           "[{\"op\":\"replace\",\"path\":\"/Child\",\"value\":\"n1\"}]"),
	                 400);
	assert_int_equal(status_of(t, "PATCH", "/api/edge/e1",
	                           "[{\"op\":\"remove\",\"path\":\"/Metadata/RelationType\"}]"),
	                 400);
	/* the probe's node is listed and shown, not changed nor deleted here */
	j = call(t, "GET", "/api/node", NULL, &st);
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);
	assert_int_equal(status_of(t, "GET", "/api/node/p1", NULL), 200);
	j = call(t, "DELETE", "/api/node/p1", NULL, &st);
	assert_int_equal(st, 409);
	assert_non_null(strstr(error_of(j), "agent.host1"));
	json_decref(j);
	assert_int_equal(status_of(t, "PATCH", "/api/node/p1",
	                           "[{\"op\":\"add\",\"path\":\"/Metadata/X\",\"value\":1}]"),
	                 409);
	assert_true(in_graph(g, 0, "p1"));
	/* a user node goes with its edges, in the graph and in the store */
	assert_int_equal(status_of(t, "DELETE", "/api/node/n1", NULL), 200);
	assert_false(in_graph(g, 1, "e1"));
	assert_int_equal(json_object_size(me.data), 0);
	assert_int_equal(status_of(t, "DELETE", "/api/edge/e1", NULL), 404);
	user_topo_free(t);
	graph_free(g);
	json_decref(mn.data);
	json_decref(me.data);
}

static void test_store_refuses(void **state)
{
	(void)state;
	struct graph *g = graph_new(&(struct graph_opts){0});
	struct mem mn = {0}, me = {0};
	struct user_topo *t = topo_new(g, &mn, &me);
	mn.fail = 1;
	int st;
	json_t *j = call(t, "POST", "/api/node",
	                 "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"my\",\"Type\":\"device\"}}", &st);
	assert_int_equal(st, 500);
	assert_non_null(strstr(error_of(j), "disk full"));
	json_decref(j);
	assert_false(in_graph(g, 0, "n1")); /* nothing half done */
	mn.fail = 0;
	assert_int_equal(status_of(t, "POST", "/api/node",
	                           "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"my\",\"Type\":\"device\"}}"),
	                 201);
	mn.fail = 1;
	assert_int_equal(status_of(t, "DELETE", "/api/node/n1", NULL), 500);
	assert_true(in_graph(g, 0, "n1"));
	assert_int_equal(status_of(t, "PATCH", "/api/node/n1",
	                           "[{\"op\":\"add\",\"path\":\"/Metadata/X\",\"value\":1}]"),
	                 500);
	mn.fail = 0;
	assert_int_equal(status_of(t, "GET", "/api/node/n1", NULL), 200);
	j = call(t, "GET", "/api/node/n1", NULL, &st);
	assert_null(json_object_get(json_object_get(j, "Metadata"), "X"));
	json_decref(j);
	user_topo_free(t);
	graph_free(g);
	json_decref(mn.data);
	json_decref(me.data);
}

/* ---- restore ---- */

static int wait_edge(struct graph *g, const char *id)
{
	for (int i = 0; i < 500; i++) { /* a poll, not a timing assertion */
		if (in_graph(g, 1, id))
			return 1;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	return 0;
}

static void test_restore(void **state)
{
	(void)state;
	struct graph *g = graph_new(&(struct graph_opts){0});
	struct mem mn = {0}, me = {0};
	struct user_topo *t = topo_new(g, &mn, &me);
	probe_node(g, "p1", "veth0");
	assert_int_equal(status_of(t, "POST", "/api/node",
	                           "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"my\",\"Type\":\"device\"}}"),
	                 201);
	assert_int_equal(status_of(t, "PATCH", "/api/node/n1",
	                           "[{\"op\":\"add\",\"path\":\"/Metadata/Color\",\"value\":\"red\"}]"),
	                 200);
	assert_int_equal(status_of(t, "POST", "/api/edge",
	                           "{\"ID\":\"e1\",\"Parent\":\"n1\",\"Child\":\"p1\",\"Metadata\":"
	                           "{\"RelationType\":\"layer2\"}}"),
	                 201);
	user_topo_free(t);
	graph_free(g);

	/* a restart: a new graph, the probe's node not there yet */
	g = graph_new(&(struct graph_opts){0});
	json_object_set_new(mn.data, "bad", json_pack("{s:s}", "ID", "bad")); /* dropped */
	t = topo_new(g, &mn, &me);
	assert_true(in_graph(g, 0, "n1"));
	assert_false(in_graph(g, 0, "bad"));
	int st;
	json_t *j = call(t, "GET", "/api/node/n1", NULL, &st);
	assert_int_equal(st, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "Metadata"), "Color")),
	                    "red");
	assert_string_equal(json_string_value(json_object_get(j, "Origin")), "api.h1");
	json_decref(j);
	assert_false(in_graph(g, 1, "e1"));
	struct user_topo_stats s;
	user_topo_stats(t, &s);
	assert_int_equal(s.nodes, 1);
	assert_int_equal(s.edges, 1);
	assert_int_equal(s.pending_edges, 1);
	j = call(t, "GET", "/api/edge/e1", NULL, &st);
	assert_int_equal(st, 404);
	assert_non_null(strstr(error_of(j), "waits for"));
	json_decref(j);
	/* the agent connects: the edge follows its node */
	probe_node(g, "p1", "veth0");
	assert_true(wait_edge(g, "e1"));
	user_topo_stats(t, &s);
	assert_int_equal(s.pending_edges, 0);
	/* the agent goes (its node and the edge leave the graph) and comes back */
	graph_lock(g);
	graph_delete_by_host(g, "agent.host1", 1, 2000);
	graph_unlock(g);
	assert_false(in_graph(g, 1, "e1"));
	probe_node(g, "p1", "veth0");
	assert_true(wait_edge(g, "e1"));
	/* a waiting edge can be deleted */
	graph_lock(g);
	graph_delete_by_host(g, "agent.host1", 1, 3000);
	graph_unlock(g);
	assert_int_equal(status_of(t, "DELETE", "/api/edge/e1", NULL), 200);
	assert_int_equal(json_object_size(me.data), 0);
	user_topo_free(t);
	graph_free(g);
	json_decref(mn.data);
	json_decref(me.data);
}

/* ---- the client's metadata flags (graph.DefToMetadata, json.go) ---- */

static void test_client_helpers(void **state)
{
	(void)state;
	char err[256];
	json_t *md = json_object();
	assert_int_equal(client_topo_metadata("k1=v1, k2=v2,\"q\"=\"x y\", a.b=c", md, err, sizeof(err)), 0);
	json_t *want = json_pack("{s:s, s:s, s:s, s:{s:s}}", "k1", "v1", "k2", "v2", "q", "x y", "a",
	                         "b", "c");
	assert_true(json_equal(md, want));
	json_decref(want);
	assert_int_equal(client_topo_metadata("bad", md, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "attributes must be defined by pair k=v"));
	assert_int_equal(client_topo_metadata("a=b=c", md, err, sizeof(err)), -1);
	assert_int_equal(client_topo_metadata("a=b,", md, err, sizeof(err)), -1);
	json_decref(md);
	const char *add[] = {"N=3", "s=abc", "a/b={\"x\":1}"}, *rm[] = {"old"};
	json_t *p = client_topo_patch(add, 3, rm, 1, err, sizeof(err));
	want = json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:s}, {s:s, s:s, s:{s:i}}, {s:s, s:s}]", "op",
	                 "add", "path", "/Metadata/N", "value", 3, "op", "add", "path",
	                 "/Metadata/s", "value", "abc", "op", "add", "path", "/Metadata/a.b",
	                 "value", "x", 1, "op", "remove", "path", "/Metadata/old");
	assert_true(json_equal(p, want));
	json_decref(want);
	json_decref(p);
	const char *bad[] = {"novalue"};
	assert_null(client_topo_patch(bad, 1, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "should be of the form k1=v1"));
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validate),
	    cmocka_unit_test(test_node_crud),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_store_refuses),
	    cmocka_unit_test(test_restore),
	    cmocka_unit_test(test_client_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
