/* test_flow_store.c - unit tests of the analyzer's flow store: ingest from a real flow
 * table, filters and predicates (through the Gremlin evaluator), time windows, bounds and drop counters, raw packets,
 * pcap import (POST /api/pcap) and Gremlin flow steps over the store. */
#include <errno.h>
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

#include "analyzer/rest_pcap.h"
#include "capture/pcap_out.h"
#include "flow/flow_table.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "store/flow_store.h"
#include "unit/frames.h"
#include "flow.pb-c.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define T0 1700000000000ll /* ms */

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2}, ip3[4] = {10, 0, 0, 3},
		     ip4[4] = {10, 0, 0, 4}, ip5[4] = {10, 0, 0, 5};

struct ing {
	struct flow_store *s;
	int64_t now;
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct ing *x = user;
	if (ev == FLOW_EV_EXPIRE)
		assert_int_equal(flow_store_ingest(x->s, t, f, s, l, NULL, x->now, NULL), 0);
}

/* ping 10.0.0.1 <-> .2 (4 packets, T0..T0+1s), TCP .3 -> .1:80 (3 packets, T0+10s..),
 * UDP .4 -> .5 (1 packet, T0+100s); NodeTID "tid-1". */
static void fill(struct flow_store *s, int64_t now)
{
	struct ing x = {s, now};
	struct flow_table_opts o = {.node_tid = "tid-1"};
	char err[256];
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, &x, err, sizeof(err));
	assert_non_null(t);
	struct frame fr;
	for (int i = 0; i < 2; i++) {
		fr_ping4(&fr, mac1, mac2, ip1, ip2, 0, 7, (uint16_t)i);
		flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + i * 1000));
		fr_ping4(&fr, mac2, mac1, ip2, ip1, 1, 7, (uint16_t)i);
		flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + i * 1000 + 1));
	}
	fr_tcp4(&fr, mac1, mac2, ip3, ip1, 40000, 80, 0x02);
	flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + 10000));
	fr_tcp4(&fr, mac2, mac1, ip1, ip3, 80, 40000, 0x12);
	flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + 10001));
	fr_tcp4(&fr, mac1, mac2, ip3, ip1, 40000, 80, 0x10);
	flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + 10002));
	fr_udp4(&fr, mac1, mac2, ip4, ip5, 5000, 6000, 10);
	flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + 100000));
	flow_table_flush(t);
	flow_table_free(t);
}

static size_t count(struct flow_store *s, const json_t *nodes, int64_t at, int64_t dur)
{
	struct gremlin_error err = {0};
	json_t *r = flow_store_query(s, nodes, at, dur, &err);
	if (!r)
		fail_msg("query failed: %s", err.msg);
	size_t n = json_array_size(r);
	json_decref(r);
	return n;
}

static char *run(struct graph *g, const char *q, const struct gremlin_env *env)
{
	struct gremlin_error err = {0};
	struct gremlin_query *pq = gremlin_parse(q, &err);
	if (!pq)
		fail_msg("%s: %s", q, err.msg);
	struct gremlin_result res = {0};
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	int rc = gremlin_eval(pq, v, env, &res, &err);
	graph_view_free(v);
	graph_unlock(g);
	gremlin_query_free(pq);
	char *out;
	if (rc) {
		out = malloc(300);
		snprintf(out, 300, "!%s", err.msg);
	} else {
		out = json_dumps(res.json, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	json_decref(res.json);
	return out;
}

/* Stored flows of one Application, read straight from the store (no expiry). */
static size_t app_count(struct flow_store *s, const char *app)
{
	struct gremlin_error err = {0};
	json_t *r = flow_store_query(s, NULL, 0, 0, &err), *x;
	size_t i, n = 0;
	json_array_foreach(r, i, x) n += !strcmp(json_string_value(json_object_get(x, "Application")), app);
	json_decref(r);
	return n;
}

/* G.Flows(<args>).Count() over the store, through the Gremlin evaluator. */
static long gcount(struct flow_store *s, const char *args)
{
	struct gremlin_flow_ops ops;
	flow_store_gremlin_ops(s, &ops);
	struct gremlin_env env = {.now_ms = T0, .flow_ops = &ops};
	struct graph *g = graph_new(NULL);
	char q[512];
	snprintf(q, sizeof(q), "G.Flows(%s).Count()", args);
	char *out = run(g, q, &env);
	graph_free(g);
	if (out[0] == '!')
		fail_msg("%s: %s", q, out + 1);
	long n = strtol(out, NULL, 10);
	free(out);
	return n;
}

static void test_filters(void **state)
{
	/* Stored now: Gremlin queries expire the store against the wall clock. */
	struct flow_store *s = flow_store_new(NULL);
	fill(s, (int64_t)time(NULL) * 1000);
	assert_int_equal(count(s, NULL, 0, 0), 3);
	assert_int_equal(gcount(s, ""), 3);
	assert_int_equal(gcount(s, "'Application','ICMPv4'"), 1);
	/* Network alone: A or B */
	assert_int_equal(gcount(s, "'Network','10.0.0.1'"), 2);
	assert_int_equal(gcount(s, "'Network.A','10.0.0.1'"), 1);
	assert_int_equal(gcount(s, "'Network.B','10.0.0.1'"), 1);
	assert_int_equal(gcount(s, "'Transport',80"), 1);
	assert_int_equal(gcount(s, "'Transport.B',6000,'Application','UDP'"), 1);
	assert_int_equal(gcount(s, "'ICMP.Type','ECHO'"), 1);
	assert_int_equal(gcount(s, "'LayersPath','Ethernet/IPv4/TCP'"), 1);
	assert_int_equal(gcount(s, "'NodeTID','tid-1'"), 3);
	assert_int_equal(gcount(s, "'Metric.ABPackets',GT(1)"), 2);
	assert_int_equal(gcount(s, "'Metric.ABPackets',BETWEEN(1,2)"), 1);
	assert_int_equal(gcount(s, "'Network',IPV4RANGE('10.0.0.4/31')"), 1);
	assert_int_equal(gcount(s, "'Application',REGEX('ICMP.*')"), 1);
	assert_int_equal(gcount(s, "'Application',WITHIN('TCP','UDP')"), 2);
	assert_int_equal(gcount(s, "'Application',NE('TCP')"), 2);
	json_t *nodes = json_pack("[s]", "tid-1"), *other = json_pack("[s]", "tid-2");
	assert_int_equal(count(s, nodes, 0, 0), 3);
	assert_int_equal(count(s, other, 0, 0), 0);
	json_decref(nodes);
	json_decref(other);
	flow_store_free(s);
}

static void test_window(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	fill(s, T0);
	/* [Start, Last] overlapping [at - d, at] */
	assert_int_equal(count(s, NULL, T0 + 200000, 200000), 3);
	assert_int_equal(count(s, NULL, T0 + 500, 0), 1);       /* inside the ping */
	assert_int_equal(count(s, NULL, T0 + 10001, 5000), 1);  /* the TCP flow */
	assert_int_equal(count(s, NULL, T0 + 20000, 9000), 0);  /* a quiet gap */
	assert_int_equal(count(s, NULL, T0 + 100000, 90000), 2); /* TCP + UDP */
	assert_int_equal(count(s, NULL, T0 - 1, 0), 0);
	flow_store_free(s);
}

static void test_bounds(void **state)
{
	struct flow_store_opts o = {.max_flows = 2, .max_age_ms = 60000};
	struct flow_store *s = flow_store_new(&o);
	fill(s, T0);
	struct flow_store_stats st;
	flow_store_stats(s, &st);
	assert_int_equal(st.flows, 2);
	assert_int_equal(st.dropped_max_flows, 1);
	assert_int_equal(st.ingested, 3);
	assert_true(st.bytes > 2 * 200);
	/* the oldest went first: the ping */
	assert_int_equal(app_count(s, "ICMPv4"), 0);
	/* the same flows again update in place (same UUIDs), no drop */
	fill(s, T0 + 1000);
	flow_store_stats(s, &st);
	assert_int_equal(st.flows, 2);
	/* each flow came back after being pushed out, pushing out the oldest in turn */
	assert_int_equal(st.dropped_max_flows, 4);
	flow_store_expire(s, T0 + 1000 + 60001);
	flow_store_stats(s, &st);
	assert_int_equal(st.flows, 0);
	assert_int_equal(st.dropped_age, 2);
	json_t *j = flow_store_status_json(s);
	assert_int_equal(json_integer_value(json_object_get(j, "Dropped")), 6);
	assert_int_equal(json_integer_value(json_object_get(j, "MaxFlows")), 2);
	json_decref(j);
	flow_store_free(s);
}

static void test_raw_budget(void **state)
{
	struct flow_store_opts o = {.raw_max_bytes = 100};
	struct flow_store *s = flow_store_new(&o);
	fill(s, T0);
	struct gremlin_error err = {0};
	json_t *flows = flow_store_query(s, NULL, 0, 0, &err);
	json_t *icmp = NULL;
	size_t k;
	json_t *x;
	json_array_foreach(flows, k, x) if (!strcmp(json_string_value(json_object_get(x, "Application")), "ICMPv4")) icmp = x;
	assert_non_null(icmp);
	uint64_t uuid = strtoull(json_string_value(json_object_get(icmp, "UUID")), NULL, 16);
	uint8_t d[60] = {1, 2, 3};
	assert_int_equal(flow_store_add_raw(s, uuid, T0, 1, d, 60), 0);
	assert_int_equal(flow_store_add_raw(s, uuid, T0 + 1, 1, d, 60), -ENOSPC);
	assert_int_equal(flow_store_add_raw(s, 12345, T0, 1, d, 10), -ENOENT);
	assert_int_equal(flow_store_add_raw(s, uuid, T0 + 2, 1, d, 3), 0);
	struct flow_store_stats st;
	flow_store_stats(s, &st);
	assert_int_equal(st.raw_packets, 2);
	assert_int_equal(st.raw_bytes, 63);
	assert_int_equal(st.raw_dropped, 2);
	json_t *raw = flow_store_raw_packets(s, flows);
	char *txt = json_dumps(raw, JSON_COMPACT);
	const char *u = json_string_value(json_object_get(json_array_get(flows, 0), "UUID"));
	char want[256];
	snprintf(want, sizeof(want),
		 "\"Timestamp\":%lld,\"Index\":2,\"Data\":\"AQID\",\"LinkType\":1}]}]",
		 (long long)(T0 + 2));
	assert_non_null(strstr(txt, want));
	assert_non_null(strstr(txt, u));
	/* and back to a pcap */
	char *pcap;
	size_t len, skipped;
	char perr[256];
	assert_int_equal(rest_pcap_from_raw(raw, &pcap, &len, &skipped, perr, sizeof(perr)), 0);
	assert_int_equal(len, 24 + 16 + 60 + 16 + 3);
	free(pcap);
	json_t *notraw = json_pack("[i]", 3);
	assert_int_equal(rest_pcap_from_raw(notraw, &pcap, &len, &skipped, perr, sizeof(perr)),
			 -EINVAL);
	json_decref(notraw);
	free(txt);
	json_decref(raw);
	json_decref(flows);
	/* empty packets take no data bytes but a record each: bounded by count too
	 * (100 / 32 bytes: 3 records; fuzz_flow_pb) */
	assert_int_equal(flow_store_add_raw(s, uuid, T0 + 3, 1, NULL, 0), 0); /* UBSan: memcpy */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(flow_store_add_raw(s, uuid, T0 + 4, 1, d, 0), -ENOSPC);
	flow_store_stats(s, &st);
	assert_int_equal(st.raw_packets, 3);
	assert_int_equal(st.raw_dropped, 1002);
	flow_store_free(s);
}

/* Writes a pcap of the test conversations; returns the path (static buffer). */
static const char *write_pcap(int truncate_last)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/test_flow_store_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "wb");
	char err[256];
	struct pcap_out *po = pcap_out_open(fp, 1, err, sizeof(err));
	assert_non_null(po);
	struct frame fr;
	for (int i = 0; i < 3; i++) {
		fr_ping4(&fr, mac1, mac2, ip1, ip2, 0, 9, (uint16_t)i);
		pcap_out_write(po, fr.b, fr.len, fr.len, MS(T0 + i * 10));
		fr_ping4(&fr, mac2, mac1, ip2, ip1, 1, 9, (uint16_t)i);
		pcap_out_write(po, fr.b, fr.len, fr.len, MS(T0 + i * 10 + 1));
	}
	fr_tcp4(&fr, mac1, mac2, ip3, ip1, 40000, 80, 0x02);
	pcap_out_write(po, fr.b, fr.len, fr.len, MS(T0 + 50));
	pcap_out_close(po);
	fclose(fp);
	if (truncate_last)
		assert_int_equal(truncate(path, 24 + 6 * (16 + 98) + 20), 0);
	return path;
}

static void test_pcap_import(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	struct rest_pcap_opts o = {.raw_packet_limit = 2, .node_tid = "tid-x", .now_ms = T0};
	struct rest_pcap_result r;
	const char *p = write_pcap(0);
	assert_int_equal(rest_pcap_ingest(s, p, &o, &r), 0);
	unlink(p);
	assert_int_equal(r.packets, 7);
	assert_int_equal(r.flows, 2);
	assert_int_equal(r.corrupt, 0);
	assert_int_equal(r.raw_kept, 3); /* 2 of the ping, 1 of the TCP flow */
	json_t *all = json_array();
	json_t *j = flow_store_query(s, NULL, 0, 0, &(struct gremlin_error){0});
	json_t *raw = flow_store_raw_packets(s, j);
	assert_int_equal(json_array_size(raw), 2);
	json_t *ping = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(ping, "NodeTID")), "tid-x");
	json_t *pk = json_object_get(json_array_get(raw, 0),
				     json_string_value(json_object_get(ping, "UUID")));
	assert_int_equal(json_array_size(pk), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(pk, 1), "Timestamp")),
			 T0 + 1);
	json_decref(raw);
	json_decref(j);

	/* a stream cut inside a record: 400-style result naming the offset, flows kept */
	struct flow_store *s2 = flow_store_new(NULL);
	o.raw_packet_limit = 0;
	p = write_pcap(1);
	assert_int_equal(rest_pcap_ingest(s2, p, &o, &r), 0);
	unlink(p);
	assert_int_equal(r.corrupt, 1);
	assert_non_null(strstr(r.err, "offset"));
	assert_int_equal(r.packets, 6);
	assert_int_equal(count(s2, NULL, 0, 0), 1);
	/* not a capture at all */
	char junk[] = "/tmp/test_flow_store_junkXXXXXX";
	int fd = mkstemp(junk);
	assert_int_equal(write(fd, "hello world, not a pcap", 23), 23);
	close(fd);
	assert_int_equal(rest_pcap_ingest(s2, junk, &o, &r), -EINVAL);
	assert_non_null(strstr(r.err, "not a pcap"));
	unlink(junk);
	json_decref(all);
	flow_store_free(s2);
	flow_store_free(s);
}


static void test_gremlin(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	fill(s, (int64_t)time(NULL) * 1000); /* the hook expires by the wall clock */
	struct gremlin_flow_ops ops;
	flow_store_gremlin_ops(s, &ops);
	assert_ptr_equal(flow_store_from_ops(&ops), s);
	struct graph *g = graph_new(NULL);
	graph_node_add(g, "tid-1", json_pack("{s:s,s:s}", "Name", "eth0", "TID", "tid-1"), "h",
		       "o", T0);
	graph_node_add(g, "tid-2", json_pack("{s:s,s:s}", "Name", "eth1", "TID", "tid-2"), "h",
		       "o", T0);
	struct gremlin_env env = {.now_ms = T0 + 200000, .flow_ops = &ops};
	static const struct {
		const char *q, *want;
	} cases[] = {
	    {"G.Flows().Count()", "3"},
	    {"G.Flows().Has('Application','ICMPv4').Count()", "1"},
	    {"G.Flows().Has('Network','10.0.0.1').Count()", "2"},
	    {"G.Flows().Has('Metric.ABPackets', GT(1)).Values('Application')",
	     "[\"ICMPv4\",\"TCP\"]"},
	    {"G.Flows().Sort(DESC,'Start').Limit(2).Values('Application')", "[\"UDP\",\"TCP\"]"},
	    {"G.Flows().Dedup().Count()", "3"},
	    {"G.At('-1m', 3600).Flows().Count()", "3"},
	    {"G.At('-100s', 1).Flows().Values('Application')", "[\"UDP\"]"},
	    {"G.At('-250s', 10).Flows().Count()", "0"},
	    {"G.V().Has('TID','tid-1').Flows().Count()", "3"},
	    {"G.V().Has('TID','tid-2').Flows().Count()", "0"},
	    {"G.Flows('Application','UDP').Values('Transport.B')", "[6000]"},
	    {"G.Flows().Has('Application','UDP').RawPackets()", "[]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = run(g, cases[i].q, &env);
		if (!got || strcmp(got, cases[i].want) != 0)
			fail_msg("%s\n  got:  %s\n  want: %s", cases[i].q, got, cases[i].want);
		free(got);
	}
	graph_free(g);
	flow_store_free(s);
}

static void on_emit_all(void *user, const struct flow_table *t, const struct flow *f,
			enum flow_event ev, int64_t s, int64_t l)
{
	struct ing *x = user;
	(void)ev;
	assert_int_equal(flow_store_ingest(x->s, t, f, s, l, NULL, x->now, NULL), 0);
}

static json_t *jrun(struct graph *g, const char *q, const struct gremlin_env *env)
{
	char *out = run(g, q, env);
	if (out[0] == '!')
		fail_msg("%s: %s", q, out + 1);
	json_t *j = json_loads(out, JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	free(out);
	return j;
}

static json_int_t jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* Metrics(), Sum() and Aggregates() over the store's update records: a ping of 4
 * exchanges 2.5 s apart through a table updating every second, every state stored. */
static void test_metrics(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	struct ing x = {s, (int64_t)time(NULL) * 1000};
	struct flow_table_opts o = {.node_tid = "tid-1", .update_s = 1};
	char err[256];
	struct flow_table *t = flow_table_new(&o, on_emit_all, NULL, &x, err, sizeof(err));
	assert_non_null(t);
	struct frame fr;
	uint32_t req = 0, rep = 0;
	for (int i = 0; i < 4; i++) {
		fr_ping4(&fr, mac1, mac2, ip1, ip2, 0, 7, (uint16_t)i);
		req = fr.len;
		flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + i * 2500));
		fr_ping4(&fr, mac2, mac1, ip2, ip1, 1, 7, (uint16_t)i);
		rep = fr.len;
		flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + i * 2500 + 1));
	}
	flow_table_flush(t);
	flow_table_free(t);

	struct gremlin_flow_ops ops;
	flow_store_gremlin_ops(s, &ops);
	assert_non_null(ops.metrics);
	struct gremlin_env env = {.now_ms = T0 + 200000, .flow_ops = &ops};
	struct graph *g = graph_new(NULL);

	json_t *flows = jrun(g, "G.Flows()", &env);
	assert_int_equal(json_array_size(flows), 1);
	const char *uuid = json_string_value(json_object_get(json_array_get(flows, 0), "UUID"));
	json_t *m = jrun(g, "G.Flows().Metrics()", &env);
	assert_int_equal(json_array_size(m), 1);
	json_t *l = json_object_get(json_array_get(m, 0), uuid);
	/* one record per exchange (each update window saw one), oldest first */
	assert_int_equal(json_array_size(l), 4);
	json_int_t abp = 0, bap = 0, abb = 0, prev = 0;
	size_t i;
	json_t *r;
	json_array_foreach(l, i, r)
	{
		assert_true(jint(r, "Start") > prev);
		prev = jint(r, "Start");
		abp += jint(r, "ABPackets");
		bap += jint(r, "BAPackets");
		abb += jint(r, "ABBytes");
		assert_non_null(json_object_get(r, "BABytes"));
		assert_non_null(json_object_get(r, "Last"));
	}
	assert_int_equal(abp, 4);
	assert_int_equal(bap, 4);
	assert_int_equal(abb, 4 * req);
	assert_int_equal(jint(json_array_get(l, 0), "Start"), T0);
	json_decref(m);

	/* the records are the flow's update records */
	uint64_t u = strtoull(uuid, NULL, 16);
	json_t *upd = flow_store_updates(s, u);
	assert_int_equal(json_array_size(upd), 4);
	json_decref(upd);

	json_t *sum = jrun(g, "G.Flows().Metrics().Sum()", &env);
	assert_int_equal(jint(sum, "ABPackets"), 4);
	assert_int_equal(jint(sum, "BAPackets"), 4);
	assert_int_equal(jint(sum, "ABBytes"), 4 * req);
	assert_int_equal(jint(sum, "BABytes"), 4 * rep);
	assert_int_equal(jint(sum, "Start"), T0);
	assert_int_equal(jint(sum, "Last"), T0 + 7501);
	json_decref(sum);
	char *out = run(g, "G.Flows().Metrics().Sum('BAPackets')", &env);
	assert_string_equal(out, "4");
	free(out);

	/* 5 s slices from T0: exchanges 0, 1 in the first, 2, 3 in the second */
	json_t *agg = jrun(g, "G.Flows().Metrics().Aggregates(5)", &env);
	json_t *al = json_object_get(json_array_get(agg, 0), "Aggregated");
	assert_int_equal(json_array_size(al), 2);
	assert_int_equal(jint(json_array_get(al, 0), "ABPackets"), 2);
	assert_int_equal(jint(json_array_get(al, 0), "Start"), T0);
	assert_int_equal(jint(json_array_get(al, 0), "Last"), T0 + 5000);
	assert_int_equal(jint(json_array_get(al, 1), "BAPackets"), 2);
	assert_int_equal(jint(json_array_get(al, 1), "Start"), T0 + 5000);
	json_decref(agg);
	/* the default 30 s: one slice with everything */
	agg = jrun(g, "G.Flows().Metrics().Aggregates()", &env);
	al = json_object_get(json_array_get(agg, 0), "Aggregated");
	assert_int_equal(json_array_size(al), 1);
	assert_int_equal(jint(json_array_get(al, 0), "ABPackets"), 4);
	assert_int_equal(jint(json_array_get(al, 0), "BABytes"), 4 * rep);
	json_decref(agg);
	out = run(g, "G.Flows().Metrics().Aggregates().Sum('ABBytes')", &env);
	assert_int_equal(strtoll(out, NULL, 10), 4 * req);
	free(out);

	/* a flow the store does not know: the Metric of the given object */
	json_t *foreign = json_pack("[{s:s,s:{s:i,s:i,s:i,s:i}}]", "UUID", "123", "Metric",
				    "ABPackets", 2, "ABBytes", 84, "Start", 5, "Last", 6);
	json_t *fm = flow_store_metrics(s, foreign);
	char *txt = json_dumps(fm, JSON_COMPACT);
	assert_string_equal(txt, "{\"123\":[{\"ABPackets\":2,\"ABBytes\":84,\"BAPackets\":0,"
				 "\"BABytes\":0,\"Start\":5,\"Last\":6}]}");
	free(txt);
	json_decref(fm);
	json_decref(foreign);
	json_decref(flows);
	graph_free(g);
	flow_store_free(s);
}

/* BPF() on RawPackets() of flows imported from a pcap; flow steps giving real graph
 * nodes (CaptureNode by TID, In/Out by MAC or PeerIntfMAC). */
static void test_bpf_and_nodes(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	struct rest_pcap_opts o = {.raw_packet_limit = 2, .node_tid = "tid-x",
				   .now_ms = (int64_t)time(NULL) * 1000};
	struct rest_pcap_result r;
	const char *p = write_pcap(0);
	assert_int_equal(rest_pcap_ingest(s, p, &o, &r), 0);
	unlink(p);
	struct gremlin_flow_ops ops;
	flow_store_gremlin_ops(s, &ops);
	struct gremlin_env env = {.now_ms = T0 + 200000, .flow_ops = &ops};
	struct graph *g = graph_new(NULL);
	/* the capture node, the host of mac1 and a port whose peer has mac2 */
	graph_node_add(g, "n-cap", json_pack("{s:s,s:s}", "Name", "cap", "TID", "tid-x"), "h",
		       "o", T0);
	graph_node_add(g, "n-1", json_pack("{s:s,s:s}", "Name", "eth-1", "MAC", "02:00:00:00:00:01"),
		       "h", "o", T0);
	graph_node_add(g, "n-2", json_pack("{s:s,s:s}", "Name", "port-2", "PeerIntfMAC",
					   "02:00:00:00:00:02"),
		       "h", "o", T0);
	static const struct {
		const char *q, *want;
	} cases[] = {
	    /* the ping kept its request (type 8) and its reply (type 0) */
	    {"G.Flows().Has('Application','ICMPv4').RawPackets().BPF('icmp[icmptype] == 0')"
	     ".Count()",
	     "1"},
	    {"G.Flows().RawPackets().BPF('icmp').Count()", "1"},
	    {"G.Flows().RawPackets().BPF('tcp port 80').Count()", "1"},
	    {"G.Flows().RawPackets().BPF('udp')", "[]"},
	    {"G.Flows().RawPackets().BPF('ether src 02:00:00:00:00:02').Count()", "1"},
	    {"G.Flows().Has('Application','ICMPv4').CaptureNode().Values('Name')", "[\"cap\"]"},
	    {"G.Flows().Hops().Values('Name')", "[\"cap\"]"},
	    {"G.Flows().Has('Application','ICMPv4').In().Values('Name')", "[\"eth-1\"]"},
	    {"G.Flows().Has('Application','ICMPv4').Out().Values('Name')", "[\"port-2\"]"},
	    {"G.Flows().Has('Application','ICMPv4').Both().Values('Name')",
	     "[\"eth-1\",\"port-2\"]"},
	    {"G.Flows().Both().Count()", "4"}, /* two flows, no dedup across them */
	    {"G.Flows().Nodes().Values('Name')", "[\"cap\",\"eth-1\",\"port-2\"]"},
	    {"G.V().Has('Name','cap').Flows().Has('Application','TCP').Out().Values('Name')",
	     "[\"port-2\"]"}, /* the SYN went mac1 -> mac2 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = run(g, cases[i].q, &env);
		if (!got || strcmp(got, cases[i].want) != 0)
			fail_msg("%s\n  got:  %s\n  want: %s", cases[i].q, got, cases[i].want);
		free(got);
	}
	const char *k, *prev = NULL;
	json_t *v;
	/* Skydive's shape (gremlin/traversal/rawpackets.go): one map UUID -> packets, keys
	 * sorted; both flows have a packet from mac1 (the ping request, the SYN) */
	json_t *j = jrun(g, "G.Flows().RawPackets().BPF('ether src 02:00:00:00:00:01')", &env);
	assert_int_equal(json_array_size(j), 1);
	assert_int_equal(json_object_size(json_array_get(j, 0)), 2);
	json_object_foreach(json_array_get(j, 0), k, v)
	{
		if (prev)
			assert_true(strcmp(prev, k) < 0);
		prev = k;
		assert_int_equal(json_array_size(v), 1);
	}
	json_decref(j);
	/* the reply is the second packet kept, Index 2, same shape as RawPackets() */
	j = jrun(g, "G.Flows().RawPackets().BPF('icmp[icmptype] == 0')", &env);
	json_object_foreach(json_array_get(j, 0), k, v)
	{
		assert_int_equal(json_array_size(v), 1);
		assert_int_equal(jint(json_array_get(v, 0), "Index"), 2);
		assert_int_equal(jint(json_array_get(v, 0), "LinkType"), 1);
	}
	json_decref(j);
	/* a filter that does not compile: the compiler's message and the step's position,
	 * also when no packet is there to filter */
	char *got = run(g, "G.Flows().RawPackets().BPF('icmp and')", &env);
	assert_non_null(strstr(got, "invalid BPF filter 'icmp and'"));
	assert_non_null(strstr(got, "at position 23"));
	free(got);
	got = run(g, "G.Flows().Has('Application','UDP').RawPackets().BPF('nosuchproto 3')", &env);
	assert_non_null(strstr(got, "invalid BPF filter"));
	free(got);
	got = run(g, "G.Flows().RawPackets().BPF(3)", &env);
	assert_string_equal(got, "!BPF takes one filter string at position 27");
	free(got);
	graph_free(g);
	flow_store_free(s);
}

/* UUIDs of agents' flows: hex as strtoull(s, 16) reads it (the fast path must accept and
 * refuse the same), and the batch form stores what the single one does. */
static void test_pb_uuid_and_batch(void **state)
{
	(void)state;
	struct flow_store *s = flow_store_new(NULL);
	assert_non_null(s);
	struct {
		const char *in;
		int rc;
		uint64_t v;
	} cases[] = {
	    {"0", 0, 0},
	    {"fedcba9876543210", 0, 0xfedcba9876543210ull},
	    {"FEDCBA9876543210", 0, 0xfedcba9876543210ull},
	    {"00000000000000abc", 0, 0xabc}, /* 17 digits, strtoull's value */
	    {"1ffffffffffffffff", -EINVAL, 0}, /* beyond 64 bits: ERANGE */
	    {"0x1f", 0, 0x1f},                /* strtoull's prefix */
	    {"12g4", -EINVAL, 0},
	    {"", -EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Flow__Flow f = FLOW__FLOW__INIT;
		f.uuid = (char *)cases[i].in;
		uint64_t u = 42;
		assert_int_equal(flow_store_ingest_pb(s, &f, 1000, &u), cases[i].rc);
		if (!cases[i].rc)
			assert_true(u == cases[i].v);
	}
	Flow__Flow a = FLOW__FLOW__INIT, b = FLOW__FLOW__INIT, c = FLOW__FLOW__INIT;
	a.uuid = "a1";
	b.uuid = "not hex";
	c.uuid = "c3";
	c.application = "DNS";
	const Flow__Flow *v[3] = {&a, &b, &c};
	uint64_t uu[3];
	int rc[3];
	assert_int_equal(flow_store_ingest_pb_batch(s, v, 3, 2000, uu, rc), 2);
	assert_int_equal(rc[0], 0);
	assert_int_equal(rc[1], -EINVAL);
	assert_int_equal(rc[2], 0);
	assert_true(uu[0] == 0xa1 && uu[1] == 0 && uu[2] == 0xc3);
	struct gremlin_error err = {0};
	json_t *fl = flow_store_query(s, NULL, 0, 0, &err);
	assert_non_null(fl);
	/* 0, fedc.., abc, 1f from the cases, a1 and c3 */
	assert_int_equal(json_array_size(fl), 6);
	json_t *last = json_array_get(fl, 5);
	assert_string_equal(json_string_value(json_object_get(last, "UUID")), "c3");
	assert_string_equal(json_string_value(json_object_get(last, "Application")), "DNS");
	json_decref(fl);
	flow_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filters),    cmocka_unit_test(test_window),
	    cmocka_unit_test(test_bounds),     cmocka_unit_test(test_raw_budget),
	    cmocka_unit_test(test_pcap_import), cmocka_unit_test(test_gremlin),
	    cmocka_unit_test(test_metrics),    cmocka_unit_test(test_bpf_and_nodes),
	    cmocka_unit_test(test_pb_uuid_and_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
