/* fuzz_capture_body.c - libFuzzer target for POST /api/capture bodies, JSON and YAML
 * (capture_res_handle: the body parser, capture_def_from_json's validation, the Gremlin
 * check against a small graph, X-Resource-TTL), on a registry in a temporary directory.
 *
 * Input: byte 0 picks the Content-Type (low 3 bits: none = JSON, application/json,
 * application/yaml, application/x-yaml with a charset, text/yaml, " Application/YAML",
 * text/plain, text/x-yaml); when its bit 3 is set, the bytes up to the first '\n' are
 * the X-Resource-TTL header. The rest is the body. Checks on top of the sanitizers:
 *  - the answer is 201 (created), 400 or 409 with a JSON body: {"Error": "..."} for a
 *    refusal, the Capture with a UUID and the GremlinQuery for a creation;
 *  - a created capture reads back by GET as created, its definition survives
 *    to_json -> from_json unchanged, and it deletes (the registry is empty after);
 *  - the TTL is refused exactly when capture_res_parse_duration refuses it.
 * Inputs are cut at FZ_MAX_INPUT bytes: the API's body limit is larger, but a BPF filter or a
 * Gremlin query of a few kilobytes has known costs of its own (libpcap's compiler, As/Select
 * chains: issue 9, the limits work), out of this target's scope. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/capture_res.h"
#include "common/log.h"
#include "graph/graph.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FZ_MAX_INPUT 2048

static const char *const ctypes[8] = {
    NULL,
    "application/json",
    "application/yaml",
    "application/x-yaml; charset=utf-8",
    "text/yaml",
    " Application/YAML",
    "text/plain",
    "text/x-yaml",
};

static struct graph *g;
static struct capture_res *reg;
static char dir[64];

static void cleanup(void)
{
	capture_res_free(reg);
	graph_free(g);
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, CAPTURE_RES_FILE);
	unlink(path);
	rmdir(dir);
}

static int setup(void)
{
	log_set_level(LOG_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/fuzz_capture_body.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	g = graph_new(NULL);
	if (!g)
		return -1;
	graph_lock(g);
	graph_node_add(g, "h", json_pack("{s:s,s:s}", "Name", "host", "Type", "host"), "h", "o", 1);
	graph_node_add(g, "a", json_pack("{s:s,s:s}", "Name", "eth0", "Type", "device"), "h", "o", 2);
	graph_node_add(g, "b", json_pack("{s:s,s:s}", "Name", "br0", "Type", "ovsbridge"), "h", "o", 3);
	graph_node_add(g, "n", json_pack("{s:s,s:s}", "Name", "ns1", "Type", "netns"), "h", "o", 4);
	graph_edge_add(g, "e1", "h", "a", json_pack("{s:s}", "RelationType", "ownership"), "h", "o", 5);
	graph_edge_add(g, "e2", "a", "b", json_pack("{s:s}", "RelationType", "layer2"), "h", "o", 6);
	graph_unlock(g);
	reg = capture_res_new(dir, g);
	if (!reg)
		return -1;
	atexit(cleanup);
	return 0;
}

static json_t *reply_json(const struct rest_response *r)
{
	CHECK(r->body && r->len);
	json_error_t je;
	json_t *j = json_loadb(r->body, r->len, 0, &je);
	CHECK(j && json_is_object(j));
	return j;
}

static void check_created(json_t *j)
{
	const char *uuid = json_string_value(json_object_get(j, "UUID"));
	CHECK(uuid && strlen(uuid) == 36);
	CHECK(json_is_string(json_object_get(j, "GremlinQuery")));
	CHECK(capture_res_count(reg) == 1);

	/* GET gives what POST answered */
	char path[128];
	snprintf(path, sizeof(path), "/api/capture/%s", uuid);
	struct capture_res_request get = {.method = "GET", .path = path, .now_ms = 1000};
	struct rest_response r;
	capture_res_handle(reg, &get, &r);
	CHECK(r.status == 200);
	json_t *back = reply_json(&r);
	CHECK(json_equal(back, j));
	json_decref(back);
	rest_response_free(&r);

	/* the stored definition survives its own JSON */
	struct capture_def c, c2;
	CHECK(capture_res_get(reg, uuid, &c) == 0);
	json_t *cj = capture_def_to_json(&c, 0);
	CHECK(cj);
	struct capture_res_error e;
	int rc = capture_def_from_json(cj, &c2, &e);
	if (rc) {
		fprintf(stderr, "round trip refused: %s\n", e.msg);
		CHECK(rc == 0);
	}
	json_t *cj2 = capture_def_to_json(&c2, 0);
	CHECK(cj2);
	/* from_json ignores the UUID; everything else must agree */
	json_object_del(cj, "UUID");
	json_object_del(cj2, "UUID");
	CHECK(json_equal(cj, cj2));
	json_decref(cj);
	json_decref(cj2);
	capture_def_clear(&c);
	capture_def_clear(&c2);

	struct capture_res_request del = {.method = "DELETE", .path = path, .now_ms = 1000};
	capture_res_handle(reg, &del, &r);
	CHECK(r.status == 200);
	rest_response_free(&r);
	CHECK(capture_res_count(reg) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	if (!reg && setup())
		abort();
	const char *ct = ctypes[data[0] & 7];
	char ttl[64] = "";
	size_t off = 1;
	int has_ttl = data[0] & 8;
	if (has_ttl) {
		const uint8_t *nl = memchr(data + 1, '\n', size - 1);
		size_t n = nl ? (size_t)(nl - (data + 1)) : size - 1;
		if (n >= sizeof(ttl))
			n = sizeof(ttl) - 1;
		memcpy(ttl, data + 1, n);
		ttl[n] = 0;
		off = nl ? (size_t)(nl - data) + 1 : size;
	}
	/* an exact-size copy of the body: the parsers get a length, not a string */
	size_t blen = size - off;
	char *body = malloc(blen ? blen : 1);
	CHECK(body);
	memcpy(body, data + off, blen);

	struct capture_res_request req = {.method = "POST", .path = "/api/capture",
	                                  .content_type = ct, .ttl = has_ttl ? ttl : NULL,
	                                  .body = body, .body_len = blen, .now_ms = 1000};
	struct rest_response r;
	capture_res_handle(reg, &req, &r);
	if (!(r.status == 201 || r.status == 400 || r.status == 409))
		fprintf(stderr, "status %d: %.*s\n", r.status, (int)r.len, r.body ? r.body : "");
	CHECK(r.status == 201 || r.status == 400 || r.status == 409);
	json_t *j = reply_json(&r);
	if (r.status == 201) {
		check_created(j);
	} else {
		CHECK(json_is_string(json_object_get(j, "Error")));
		CHECK(capture_res_count(reg) == 0);
	}
	int64_t ms;
	int ttl_bad = has_ttl && *ttl && (capture_res_parse_duration(ttl, &ms) || ms < 0);
	if (ttl_bad)
		CHECK(r.status == 400);
	json_decref(j);
	rest_response_free(&r);
	free(body);
	return 0;
}
