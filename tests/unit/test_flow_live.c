/* test_flow_live.c - unit tests of the live flow view (src/analyzer/flow_live.c) through the
 * flow store's hook: G.Flows() without At() keeps the flows of captures running on their
 * node and not yet dropped by their agent (TIMEOUT, FIN/RST held 15 s: Skydive's
 * flow/table.go), received from the agent's current run; history (At) keeps everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer/capture_res.h"
#include "analyzer/flow_live.h"
#include "flow.pb-c.h"
#include "graph/graph.h"
#include "store/flow_rec.h"
#include "store/flow_store.h"

static int64_t fake_now;
static int64_t now_fn(void)
{
	return fake_now;
}

struct fx {
	char dir[64];
	struct graph *g;
	struct capture_res *r;
	struct flow_live *l;
	struct flow_store *s;
	char cap[37];
};

static void create_capture(struct fx *f)
{
	const char *body = "{\"GremlinQuery\":\"G.V().Has('Name','eth0')\"}";
	struct rest_response resp = {0};
	struct capture_res_request req = {
	    .method = "POST", .path = "/api/capture", .body = body, .body_len = strlen(body)};
	capture_res_handle(f->r, &req, &resp);
	assert_int_equal(resp.status, 201);
	json_t *j = json_loadb(resp.body, resp.len, 0, NULL);
	snprintf(f->cap, sizeof(f->cap), "%s", json_string_value(json_object_get(j, "UUID")));
	json_decref(j);
	free(resp.body);
}

static void delete_capture(struct fx *f)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/capture/%s", f->cap);
	struct rest_response resp = {0};
	struct capture_res_request req = {.method = "DELETE", .path = path};
	capture_res_handle(f->r, &req, &resp);
	assert_int_equal(resp.status, 200);
	free(resp.body);
}

/* Node id with TID tid, showing capture cap in state st (cap NULL: no Captures). */
static void set_node(struct fx *f, const char *id, const char *tid, const char *cap,
		     const char *st, int add)
{
	static int packets; /* the counters of a Captures entry change at every update */
	json_t *md = json_pack("{s:s, s:s}", "Name", "eth0", "TID", tid);
	if (cap)
		json_object_set_new(md, "Captures",
				    json_pack("[{s:s, s:s, s:i}]", "ID", cap, "State", st,
					      "PacketsReceived", ++packets));
	graph_lock(f->g);
	if (add)
		assert_int_equal(graph_node_add(f->g, id, md, "h1", "agent.h1", fake_now), 0);
	else
		assert_int_equal(graph_node_set_metadata(f->g, id, md, fake_now), 0);
	graph_unlock(f->g);
}

static void ingest(struct fx *f, const char *uuid, const char *cap, const char *tid,
		   Flow__FlowFinishType fin, int64_t last)
{
	Flow__FlowMetric m = FLOW__FLOW_METRIC__INIT;
	Flow__Flow fl = FLOW__FLOW__INIT;
	m.abpackets = 1;
	m.abbytes = 60;
	m.start = last - 10;
	m.last = last;
	fl.uuid = (char *)uuid;
	fl.nodetid = (char *)tid;
	fl.captureid = (char *)cap;
	fl.finishtype = fin;
	fl.metric = &m;
	fl.start = m.start;
	fl.last = last;
	assert_int_equal(flow_store_ingest_pb(f->s, &fl, fake_now, NULL), 0);
}

/* The UUIDs the store selects (at_ms 0: the live view), sorted, joined by spaces. */
static char *uuids(struct fx *f, int64_t at_ms, int64_t dur_ms)
{
	struct flow_store_sel *sel;
	assert_int_equal(flow_store_select(f->s, NULL, NULL, at_ms, dur_ms, NULL, NULL, &sel), 0);
	size_t n = flow_store_sel_count(sel);
	uint64_t *v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = flow_store_sel_rec(sel, i)->uuid;
	for (size_t i = 0; i < n; i++) /* insertion sort: a handful */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	char *out = calloc(1, 32 * (n + 1));
	for (size_t i = 0; i < n; i++)
		sprintf(out + strlen(out), "%s%llx", i ? " " : "", (unsigned long long)v[i]);
	free(v);
	flow_store_sel_free(sel);
	return out;
}

#define EXPECT(f, at, dur, want)                                                     \
	do {                                                                         \
		char *got_ = uuids(f, at, dur);                                      \
		if (strcmp(got_, want))                                              \
			fail_msg("at %lld: got '%s', want '%s'", (long long)(at), got_, \
				 want);                                              \
		free(got_);                                                          \
	} while (0)

static void test_live_and_history(void **state)
{
	struct fx fx = {0}, *f = &fx;
	fake_now = (int64_t)time(NULL) * 1000;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_flow_live.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->g = graph_new(&(struct graph_opts){0});
	f->r = capture_res_new(f->dir, NULL);
	f->s = flow_store_new(NULL);
	create_capture(f);
	set_node(f, "n1", "tid-1", f->cap, "active", 1);
	set_node(f, "n2", "tid-2", NULL, NULL, 1);
	f->l = flow_live_new(f->g, f->r);
	assert_non_null(f->l);
	struct flow_store_live hook;
	flow_live_hook(f->l, now_fn, &hook);
	flow_store_set_live(f->s, &hook);

	int64_t t = fake_now;
	ingest(f, "a1", f->cap, "tid-1", FLOW__FLOW_FINISH_TYPE__NOT_FINISHED, t - 1000);
	ingest(f, "a2", f->cap, "tid-1", FLOW__FLOW_FINISH_TYPE__TIMEOUT, t - 1000); /* expired */
	ingest(f, "a3", f->cap, "tid-1", FLOW__FLOW_FINISH_TYPE__TCP_FIN, t - 20000); /* held out */
	ingest(f, "a4", f->cap, "tid-1", FLOW__FLOW_FINISH_TYPE__TCP_RST, t - 1000);  /* held */
	ingest(f, "a5", f->cap, "tid-2", FLOW__FLOW_FINISH_TYPE__NOT_FINISHED, t - 1000);
	ingest(f, "a6", "", "tid-x", FLOW__FLOW_FINISH_TYPE__NOT_FINISHED, t - 1000); /* import */
	ingest(f, "a7", "no-such-capture", "tid-1", FLOW__FLOW_FINISH_TYPE__NOT_FINISHED, t);

	EXPECT(f, 0, 0, "a1 a4 a6");
	EXPECT(f, t, 3600000, "a1 a2 a3 a4 a5 a6 a7"); /* history: G.At('-0s', 3600) */
	/* the agent updates the entry's counters: the capture goes on running */
	fake_now = t + 1;
	set_node(f, "n1", "tid-1", f->cap, "active", 0);
	EXPECT(f, 0, 0, "a1 a4 a6");
	fake_now = t;
	/* the RST flow's hold ends 15 s after its last packet */
	fake_now = t + 13999; /* 14.999 s after it */
	EXPECT(f, 0, 0, "a1 a4 a6");
	fake_now = t - 1000 + FLOW_LIVE_HOLD_MS;
	EXPECT(f, 0, 0, "a1 a6");
	fake_now = t;
	/* the capture shows on tid-2 too: a5 is live */
	set_node(f, "n2", "tid-2", f->cap, "active", 0);
	EXPECT(f, 0, 0, "a1 a4 a5 a6");
	/* a capture in error on n1 is not running there; active again, its flows are back
	 * (the node stayed: its metadata may be rewritten, its agent's table is the same) */
	set_node(f, "n1", "tid-1", f->cap, "error", 0);
	EXPECT(f, 0, 0, "a5 a6");
	fake_now = t + 1;
	set_node(f, "n1", "tid-1", f->cap, "active", 0);
	EXPECT(f, 0, 0, "a1 a4 a5 a6");
	set_node(f, "n1", "tid-1", NULL, NULL, 0); /* Captures gone for a moment */
	EXPECT(f, 0, 0, "a5 a6");
	set_node(f, "n1", "tid-1", f->cap, "active", 0);
	EXPECT(f, 0, 0, "a1 a4 a5 a6");
	/* the agent of n2 goes away: its nodes leave the graph */
	graph_lock(f->g);
	assert_int_equal(graph_node_delete(f->g, "n2", t), 0);
	graph_unlock(f->g);
	EXPECT(f, 0, 0, "a1 a4 a6");
	/* it comes back and runs the capture again: a5, received from its former table,
	 * stays out until its new table sends it */
	fake_now = t + 2;
	set_node(f, "n2", "tid-2", f->cap, "active", 1);
	EXPECT(f, 0, 0, "a1 a4 a6");
	ingest(f, "a5", f->cap, "tid-2", FLOW__FLOW_FINISH_TYPE__NOT_FINISHED, t);
	EXPECT(f, 0, 0, "a1 a4 a5 a6");
	/* a new state of a1 with TIMEOUT: the agent expired it */
	ingest(f, "a1", f->cap, "tid-1", FLOW__FLOW_FINISH_TYPE__TIMEOUT, t);
	EXPECT(f, 0, 0, "a4 a5 a6");
	ingest(f, "a1", f->cap, "tid-1", FLOW__FLOW_FINISH_TYPE__NOT_FINISHED, t);
	/* the capture deleted: at once, before its agent updates the metadata */
	delete_capture(f);
	EXPECT(f, 0, 0, "a6");
	EXPECT(f, t, 3600000, "a1 a2 a3 a4 a5 a6 a7");
	assert_int_equal(flow_live_is_live(f->l, "", "tid-x", 0, t, t, t), 1);
	assert_int_equal(flow_live_is_live(f->l, f->cap, "tid-1", 0, t, t + 3, t + 3), 0);

	flow_store_set_live(f->s, NULL);
	EXPECT(f, 0, 0, "a1 a2 a3 a4 a5 a6 a7"); /* no hook: everything */
	flow_live_free(f->l);
	flow_store_free(f->s);
	capture_res_free(f->r);
	graph_free(f->g);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_live_and_history),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
