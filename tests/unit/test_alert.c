/* test_alert.c - unit tests of alerts (src/analyzer/alert.c, alert_action.c): trigger and
 * action parsing, the Alert's validation, /api/alert answers and the alerts file, the
 * evaluation (fires once per transition, as Skydive's evaluateAlert), and the action
 * queue (bound, drops, retries, commands). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer/alert.h"
#include "analyzer/alert_action.h"
#include "graph/graph.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_trigger(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int ok;
		int64_t ms;
	} cases[] = {
	    {"", 1, 0},
	    {"graph", 1, 0},
	    {"duration:10s", 1, 10000},
	    {"duration:1m30s", 1, 90000},
	    {"duration:1.5s", 1, 1500},
	    {"duration:250ms", 1, 250},
	    {"duration:", 0, 0},
	    {"duration:0s", 0, 0},
	    {"duration:-1s", 0, 0},
	    {"duration:10", 0, 0}, /* Go's ParseDuration wants a unit */
	    {"duration:500us", 0, 0}, /* under 1 ms */
	    {"Duration:1s", 0, 0},
	    {"graph2", 0, 0},
	    {"periodic", 0, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct alert_trigger t = {.period_ms = -7};
		char err[256] = "";
		int rc = alert_trigger_parse(cases[i].s, &t, err, sizeof(err));
		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			assert_int_equal(t.period_ms, cases[i].ms);
		} else {
			assert_int_equal(rc, -EINVAL);
			assert_non_null(strstr(err, "Trigger"));
		}
	}
}

static void test_action_kind(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int kind;
	} cases[] = {
	    {"", 0},
	    {"http://127.0.0.1:8080/hook", 1},
	    {"https://example.org/x?y=1", 1},
	    {"file:///usr/local/bin/notify", 2},
	    {"http://", -1},
	    {"http:///path", -1},
	    {"http://a b/", -1},
	    {"file://relative", -1},
	    {"file:///", -1},
	    {"ftp://host/", -1},
	    {"/usr/bin/x", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		assert_int_equal(alert_action_kind(cases[i].s, err, sizeof(err)), cases[i].kind);
		if (cases[i].kind < 0)
			assert_non_null(strstr(err, "Action"));
	}
}

static void test_def(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		const char *err; /* NULL: accepted */
		int pos;
	} cases[] = {
	    {"{\"Expression\":\"G.V()\"}", NULL, -1},
	    {"{\"expression\":\"G.V()\",\"trigger\":\"duration:1s\"}", NULL, -1},
	    {"{\"Expression\":\"G.V()\",\"UUID\":\"x\",\"CreateTime\":\"y\"}", NULL, -1},
	    {"{}", "Expression is required", -1},
	    {"{\"Expression\":\"  \"}", "Expression is required", -1},
	    {"{\"Expression\":\"G.V().Has(\"}", "Expression: ", 10},
	    {"{\"Expression\":\"1 + 1 > 0\"}", "JavaScript expressions are not supported", -1},
	    {"{\"Expression\":\"Gremlin('G.V()')\"}", "JavaScript", -1},
	    {"{\"Expression\":3}", "Expression must be a string", -1},
	    {"{\"Expression\":\"G.V()\",\"Bogus\":1}", "unknown Alert field 'Bogus'", -1},
	    {"{\"Expression\":\"G.V()\",\"Trigger\":\"every:1s\"}", "Trigger", -1},
	    {"{\"Expression\":\"G.V()\",\"Action\":\"http://\"}", "needs a host", -1},
	    {"{\"Expression\":\"G.V()\",\"Action\":\"file:///bin/true\"}", "allow_commands", -1},
	    {"[1]", "Alert object", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		assert_non_null(j);
		struct alert_def d;
		char err[512] = "";
		int pos = -5;
		int rc = alert_def_from_json(j, 0, &d, err, sizeof(err), &pos);
		json_decref(j);
		if (!cases[i].err) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, -EINVAL);
			if (!strstr(err, cases[i].err))
				fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].err);
			assert_int_equal(pos, cases[i].pos);
		}
		alert_def_clear(&d);
	}
	/* a command is accepted when allowed */
	json_t *j = json_loads("{\"Expression\":\"G.V()\",\"Action\":\"file:///bin/true\"}", 0, NULL);
	struct alert_def d;
	char err[512];
	int pos;
	assert_int_equal(alert_def_from_json(j, 1, &d, err, sizeof(err), &pos), 0);
	json_decref(j);
	alert_def_clear(&d);
}

/* ---- the action queue ------------------------------------------------------------- */

static void wait_totals(struct alert_actions *q, uint64_t want_done, struct alert_actions_totals *t)
{
	for (int i = 0; i < 1000; i++) { /* 10 s at most: then the assertions below fail */
		alert_actions_totals(q, t);
		if (t->sent + t->failed >= want_done && !t->queued)
			return;
		sleep_ms(10);
	}
}

static void test_queue_bound(void **state)
{
	(void)state;
	/* not started: messages only queue, the third does not fit */
	struct alert_actions *q = alert_actions_new(2, 3, 10, 1000);
	assert_non_null(q);
	struct alert_action_stats *st = alert_action_stats_new(q);
	assert_int_equal(alert_actions_submit(q, "http://127.0.0.1:1/x", "{}", st), 0);
	assert_int_equal(alert_actions_submit(q, "http://127.0.0.1:1/x", "{}", st), 0);
	assert_int_equal(alert_actions_submit(q, "http://127.0.0.1:1/x", "{}", st), -ENOBUFS);
	assert_int_equal(alert_actions_submit(q, "mailto:x", "{}", st), -EINVAL);
	struct alert_actions_totals t;
	alert_actions_totals(q, &t);
	assert_int_equal(t.queued, 2);
	assert_int_equal(t.queue_max, 2);
	assert_int_equal(t.dropped, 1);
	struct alert_action_stats s;
	alert_action_stats_read(q, st, &s);
	assert_int_equal(s.dropped, 1);
	assert_non_null(strstr(s.last_error, "queue was full"));
	/* started: port 1 refuses, each message tried 3 times (2 retries) then failed */
	assert_int_equal(alert_actions_start(q), 0);
	wait_totals(q, 2, &t);
	assert_int_equal(t.failed, 2);
	assert_int_equal(t.sent, 0);
	assert_int_equal(t.retries, 4);
	alert_action_stats_read(q, st, &s);
	assert_int_equal(s.failed, 2);
	assert_int_equal(s.retries, 4);
	assert_non_null(strstr(s.last_error, "127.0.0.1"));
	alert_action_stats_unref(q, st);
	alert_actions_free(q);
}

static void test_queue_stop_drops(void **state)
{
	(void)state;
	struct alert_actions *q = alert_actions_new(10, 1, 0, 1000);
	struct alert_action_stats *st = alert_action_stats_new(q);
	for (int i = 0; i < 3; i++)
		assert_int_equal(alert_actions_submit(q, "https://127.0.0.1:1/", "{}", st), 0);
	/* never started: freeing counts what was queued as dropped (st outlives q here) */
	struct alert_action_stats *keep = st;
	st->refs++;
	alert_actions_free(q);
	assert_int_equal(keep->dropped, 3);
	assert_int_equal(keep->refs, 2);
	free(keep);
}

static void test_command(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_alert_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[300], out[300], target[320];
	snprintf(script, sizeof(script), "%s/hook.sh", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\ncat > '%s'\n", out);
	fclose(f);
	chmod(script, 0700);
	struct alert_actions *q = alert_actions_new(4, 3, 10, 5000);
	assert_int_equal(alert_actions_start(q), 0);
	struct alert_action_stats *st = alert_action_stats_new(q);
	snprintf(target, sizeof(target), "file://%s", script);
	assert_int_equal(alert_actions_submit(q, target, "{\"UUID\":\"u\"}", st), 0);
	/* a command that fails is not tried again */
	assert_int_equal(alert_actions_submit(q, "file:///bin/false", "{}", st), 0);
	struct alert_actions_totals t;
	wait_totals(q, 2, &t);
	assert_int_equal(t.sent, 1);
	assert_int_equal(t.failed, 1);
	assert_int_equal(t.retries, 0);
	char buf[64] = "";
	f = fopen(out, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "{\"UUID\":\"u\"}"); /* the message on its input */
	struct alert_action_stats s;
	alert_action_stats_read(q, st, &s);
	assert_non_null(strstr(s.last_error, "exited with status 1"));
	alert_action_stats_unref(q, st);
	alert_actions_free(q);
	unlink(out);
	unlink(script);
	rmdir(dir);
}

/* ---- the registry: REST, file, evaluation -------------------------------------------- */

struct bc {
	int n;
	json_t *last;
};
static void bcast(void *user, json_t *msg)
{
	struct bc *b = user;
	/* the evaluation thread; the test reads after waiting on n */
	json_decref(b->last);
	b->last = msg;
	__atomic_add_fetch(&b->n, 1, __ATOMIC_SEQ_CST);
}

static int wait_n(struct bc *b, int n)
{
	for (int i = 0; i < 500 && __atomic_load_n(&b->n, __ATOMIC_SEQ_CST) < n; i++)
		sleep_ms(10);
	return __atomic_load_n(&b->n, __ATOMIC_SEQ_CST);
}

static void set_node(struct graph *g, const char *id, const char *name, const char *state);
#define set_state(g, st) set_node(g, "n1", "eth9", st)

static json_int_t evaluations(struct alert_res *r)
{
	json_t *s = alert_res_status(r);
	json_int_t n = json_integer_value(json_object_get(s, "Evaluations"));
	json_decref(s);
	return n;
}

/* Waits until the evaluation thread evaluated after the last change (5 s at most). */
static void wait_eval(struct alert_res *r, json_int_t before)
{
	for (int i = 0; i < 500 && evaluations(r) <= before; i++)
		sleep_ms(10);
	assert_true(evaluations(r) > before);
}

static void set_node(struct graph *g, const char *id, const char *name, const char *state)
{
	json_t *m = json_pack("{s:s, s:s}", "Name", name, "State", state);
	static int64_t now = 1000;
	now += 10;
	graph_lock(g); /* metadata stolen */
	if (graph_node_set_metadata(g, id, json_incref(m), now) == -ENOENT)
		assert_int_equal(graph_node_add(g, id, json_incref(m), "h", "o", now), 0);
	graph_unlock(g);
	json_decref(m);
}

static void test_registry(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_alert_res_XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct graph *g = graph_new(&(struct graph_opts){0});
	struct alert_actions *q = alert_actions_new(4, 1, 0, 1000);
	struct bc b = {0};
	struct alert_res *r = alert_res_new(dir, g, NULL, NULL, q, bcast, &b);
	assert_non_null(r);
	assert_int_equal(alert_res_start(r), 0);
	struct rest_response out = {0};
	const char *body = "{\"Name\":\"down\",\"Expression\":\"G.V().Has('Name', 'eth9', "
	                   "'State', 'DOWN')\"}";
	alert_res_handle(r, "POST", "/api/alert", NULL, body, strlen(body), &out);
	assert_int_equal(out.status, 201);
	json_t *a = json_loadb(out.body, out.len, 0, NULL);
	rest_response_free(&out);
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s", json_string_value(json_object_get(a, "UUID")));
	assert_int_equal(strlen(uuid), 36);
	assert_string_equal(json_string_value(json_object_get(a, "Name")), "down");
	assert_non_null(json_object_get(a, "CreateTime"));
	assert_null(json_object_get(a, "Action")); /* omitempty, as Skydive's */
	json_decref(a);

	json_int_t ev = evaluations(r);
	set_state(g, "UP");
	wait_eval(r, ev);
	assert_int_equal(b.n, 0);
	set_state(g, "DOWN"); /* fires */
	assert_int_equal(wait_n(&b, 1), 1);
	/* other changes while it holds, the same result: not again (Skydive's evaluateAlert) */
	ev = evaluations(r);
	set_node(g, "n2", "other", "UP");
	wait_eval(r, ev);
	ev = evaluations(r);
	set_node(g, "n2", "other", "DOWN");
	wait_eval(r, ev);
	assert_int_equal(b.n, 1);
	assert_string_equal(json_string_value(json_object_get(b.last, "Namespace")), "Alert");
	assert_string_equal(json_string_value(json_object_get(b.last, "Type")), "Alert");
	json_t *o = json_object_get(b.last, "Obj");
	assert_string_equal(json_string_value(json_object_get(o, "UUID")), uuid);
	assert_int_equal(json_array_size(json_object_get(o, "ReasonData")), 1);
	ev = evaluations(r);
	set_state(g, "UP"); /* re-armed */
	wait_eval(r, ev);
	assert_int_equal(b.n, 1);
	set_state(g, "DOWN"); /* a new transition: fires again */
	assert_int_equal(wait_n(&b, 2), 2);

	/* GET one, GET all, a 404, a 405 */
	char path[80];
	snprintf(path, sizeof(path), "/api/alert/%s", uuid);
	alert_res_handle(r, "GET", path, NULL, NULL, 0, &out);
	assert_int_equal(out.status, 200);
	rest_response_free(&out);
	alert_res_handle(r, "GET", "/api/alert/nope", NULL, NULL, 0, &out);
	assert_int_equal(out.status, 404);
	rest_response_free(&out);
	alert_res_handle(r, "PATCH", path, NULL, "[]", 2, &out);
	assert_int_equal(out.status, 405);
	rest_response_free(&out);
	alert_res_free(r);

	/* the file: a new registry on the same directory has it */
	r = alert_res_new(dir, g, NULL, NULL, q, NULL, NULL);
	assert_int_equal(alert_res_count(r), 1);
	alert_res_handle(r, "DELETE", path, NULL, NULL, 0, &out);
	assert_int_equal(out.status, 200);
	rest_response_free(&out);
	alert_res_handle(r, "GET", "/api/alert", NULL, NULL, 0, &out);
	assert_int_equal(out.status, 200);
	assert_memory_equal(out.body, "{}", 2);
	rest_response_free(&out);
	alert_res_free(r);
	r = alert_res_new(dir, g, NULL, NULL, q, NULL, NULL);
	assert_int_equal(alert_res_count(r), 0);
	alert_res_free(r);

	/* a corrupt file is set aside */
	char file[300], bad[320];
	snprintf(file, sizeof(file), "%s/%s", dir, ALERT_RES_FILE);
	snprintf(bad, sizeof(bad), "%s.corrupt", file);
	FILE *f = fopen(file, "w");
	fputs("{\"Alerts\": [", f);
	fclose(f);
	r = alert_res_new(dir, g, NULL, NULL, q, NULL, NULL);
	assert_int_equal(alert_res_count(r), 0);
	assert_int_equal(access(bad, F_OK), 0);
	alert_res_free(r);
	unlink(bad);
	unlink(file);
	rmdir(dir);
	json_decref(b.last);
	alert_actions_free(q);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trigger),        cmocka_unit_test(test_action_kind),
	    cmocka_unit_test(test_def),            cmocka_unit_test(test_queue_bound),
	    cmocka_unit_test(test_queue_stop_drops), cmocka_unit_test(test_command),
	    cmocka_unit_test(test_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
