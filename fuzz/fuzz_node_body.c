/* fuzz_node_body.c - libFuzzer target for POST /api/node and /api/edge bodies
 * (user_topo_handle: the JSON body, user_topo_validate's node.schema / edge.schema
 * checks), on a graph holding two probe nodes "a" and "b" and stores in memory. The first
 * byte picks the kind (even: node, odd: edge); the rest is the body. Checks on top of the
 * sanitizers:
 *  - the answer is 201, 400 or 409 with a JSON body: {"Error": "..."} for a refusal, the
 *    element for a creation;
 *  - a created element reads back by GET equal to the answer, its stored form passes the
 *    validation again, a metadata PATCH answers 200 then 304, and it deletes (the stores
 *    are empty after, the graph holds only "a" and "b"). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/user_topo.h"
#include "common/log.h"
#include "graph/graph.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 2048

static struct graph *g;
static struct user_topo *t;

static int mem_load(void *ctx, json_t **all)
{
	*all = json_object();
	return 0;
}

static int mem_save(void *ctx, const json_t *all, char *err, size_t errlen)
{
	*(size_t *)ctx = json_object_size(all);
	return 0;
}

static size_t saved[2];

static void cleanup(void)
{
	user_topo_free(t);
	graph_free(g);
}

static int setup(void)
{
	log_set_level(LOG_ERROR);
	char err[256];
	if (!(g = graph_new(NULL)))
		return -1;
	graph_lock(g);
	for (int i = 0; i < 2; i++)
		graph_node_add(g, i ? "b" : "a", json_pack("{s:s, s:s}", "Name", i ? "b" : "a", "Type", "veth"),
		               "h", "agent.h", 1);
	graph_unlock(g);
	struct res_store n = {.load = mem_load, .save = mem_save, .ctx = &saved[0]};
	struct res_store e = {.load = mem_load, .save = mem_save, .ctx = &saved[1]};
	if (!(t = user_topo_new_store(g, "fz", n, e, err, sizeof(err))))
		return -1;
	atexit(cleanup);
	return 0;
}

static json_t *call(const char *method, const char *path, const char *body, size_t len, int *st)
{
	struct rest_response out = {0};
	user_topo_handle(t, method, path, NULL, body, len, &out);
	*st = out.status;
	json_t *j = out.len ? json_loadb(out.body, out.len, 0, NULL) : NULL;
	rest_response_free(&out);
	return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (setup())
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	int edge = data[0] & 1;
	const char *kind = edge ? "/api/edge" : "/api/node";
	int st;
	json_t *a = call("POST", kind, (const char *)data + 1, size - 1, &st);
	CHECK(st == 201 || st == 400 || st == 409);
	CHECK(json_is_object(a));
	if (st != 201) {
		CHECK(json_is_string(json_object_get(a, "Error")));
		json_decref(a);
		return 0;
	}
	const char *id = json_string_value(json_object_get(a, "ID"));
	CHECK(id && *id);
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", kind, id);
	json_t *got = call("GET", path, NULL, 0, &st);
	CHECK(st == 200 && json_equal(got, a));
	json_decref(got);
	/* what the store keeps validates again */
	json_t *again = json_pack("{s:O, s:O, s:O, s:O}", "ID", json_object_get(a, "ID"), "Metadata",
	                          json_object_get(a, "Metadata"), "Host", json_object_get(a, "Host"),
	                          "Origin", json_object_get(a, "Origin"));
	if (edge) {
		json_object_set(again, "Parent", json_object_get(a, "Parent"));
		json_object_set(again, "Child", json_object_get(a, "Child"));
	}
	struct res_error e;
	CHECK(!user_topo_validate(edge, again, "fz", &e));
	json_decref(again);
	static const char patch[] = "[{\"op\":\"add\",\"path\":\"/Metadata/FuzzKey\",\"value\":1}]";
	json_t *p = call("PATCH", path, patch, strlen(patch), &st);
	int was = json_integer_value(json_object_get(json_object_get(a, "Metadata"), "FuzzKey")) == 1 &&
	          json_is_integer(json_object_get(json_object_get(a, "Metadata"), "FuzzKey"));
	CHECK(st == (was ? 304 : 200));
	json_decref(p);
	json_decref(call("PATCH", path, patch, strlen(patch), &st));
	CHECK(st == 304);
	json_decref(call("DELETE", path, NULL, 0, &st));
	CHECK(st == 200);
	CHECK(saved[0] == 0 && saved[1] == 0);
	json_t *all = call("GET", "/api/node", NULL, 0, &st);
	CHECK(st == 200 && json_object_size(all) == 2);
	json_decref(all);
	json_decref(a);
	return 0;
}
