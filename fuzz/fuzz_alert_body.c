/* fuzz_alert_body.c - libFuzzer target for POST /api/alert bodies (alert_res_handle: the
 * JSON body, alert_def_from_json's validation of Expression, Trigger and Action), on a
 * registry in a temporary directory whose evaluation thread is not started (only the
 * parsing is fuzzed here; the Gremlin evaluator has fuzz_gremlin). Checks on top of the
 * sanitizers:
 *  - the answer is 201 or 400 (500 only if the directory went away) with a JSON body:
 *    {"Error": "..."} for a refusal, the Alert with a UUID for a creation;
 *  - a created alert reads back by GET with the same Expression and Trigger, survives
 *    to_json -> from_json, and deletes (the registry is empty after);
 *  - the Trigger is accepted exactly when alert_trigger_parse accepts it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/alert.h"
#include "common/log.h"
#include "graph/graph.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 2048

static struct graph *g;
static struct alert_actions *q;
static struct alert_res *reg;
static char dir[64];

static void cleanup(void)
{
	alert_res_free(reg);
	alert_actions_free(q);
	graph_free(g);
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, ALERT_RES_FILE);
	unlink(path);
	rmdir(dir);
}

static int setup(void)
{
	log_set_level(LOG_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/fuzz_alert_body.XXXXXX");
	if (!mkdtemp(dir) || !(g = graph_new(NULL)) || !(q = alert_actions_new(4, 1, 0, 100)) ||
	    !(reg = alert_res_new(dir, g, NULL, NULL, q, NULL, NULL)))
		return -1;
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (setup())
			abort();
		ready = 1;
	}
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	struct rest_response out = {0};
	alert_res_handle(reg, "POST", "/api/alert", NULL, (const char *)data, size, &out);
	CHECK(out.status == 201 || out.status == 400);
	json_t *a = json_loadb(out.body, out.len, 0, NULL);
	CHECK(json_is_object(a));
	json_t *in = json_loadb((const char *)data, size, 0, NULL);
	if (out.status == 400) {
		CHECK(json_is_string(json_object_get(a, "Error")));
	} else {
		const char *uuid = json_string_value(json_object_get(a, "UUID"));
		CHECK(uuid && strlen(uuid) == 36);
		/* what was accepted: its Trigger parses */
		struct alert_trigger t;
		char err[512];
		const char *trig = json_string_value(json_object_get(a, "Trigger"));
		CHECK(!alert_trigger_parse(trig ? trig : "", &t, err, sizeof(err)));
		/* round trip */
		struct alert_def d;
		int pos;
		CHECK(!alert_def_from_json(a, 1, &d, err, sizeof(err), &pos));
		json_t *again = alert_def_to_json(&d);
		json_object_set(again, "UUID", json_object_get(a, "UUID"));
		json_object_set(again, "CreateTime", json_object_get(a, "CreateTime"));
		CHECK(json_equal(again, a));
		json_decref(again);
		alert_def_clear(&d);
		char path[80];
		snprintf(path, sizeof(path), "/api/alert/%s", uuid);
		struct rest_response o2 = {0};
		alert_res_handle(reg, "GET", path, NULL, NULL, 0, &o2);
		CHECK(o2.status == 200);
		json_t *got = json_loadb(o2.body, o2.len, 0, NULL);
		CHECK(json_equal(got, a));
		json_decref(got);
		rest_response_free(&o2);
		alert_res_handle(reg, "DELETE", path, NULL, NULL, 0, &o2);
		CHECK(o2.status == 200);
		rest_response_free(&o2);
		CHECK(alert_res_count(reg) == 0);
	}
	json_decref(in);
	json_decref(a);
	rest_response_free(&out);
	return 0;
}
