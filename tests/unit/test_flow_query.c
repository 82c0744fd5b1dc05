/* test_flow_query.c - typed flow queries: Gremlin flow steps over the store's records
 * (gremlin_flow_ops.select/field) give what the same steps give over the flows' JSON
 * objects, the JSON is made only for what is returned, and flow_store_scan's callback
 * sees the selection (memory and, after a restart, the log). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow.pb-c.h"
#include "flow/flow_table.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "store/flow_rec.h"
#include "store/flow_store.h"
#include "unit/frames.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define T0 1700000000000ll /* ms */

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2}, ip3[4] = {10, 0, 0, 3},
		     ip4[4] = {10, 0, 0, 4}, ip5[4] = {10, 0, 0, 5};

static char tmpdir[256];

struct ing {
	struct flow_store *s;
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct ing *x = user;
	if (ev == FLOW_EV_EXPIRE)
		assert_int_equal(flow_store_ingest(x->s, t, f, s, l, NULL, T0, NULL), 0);
}

/* ping 10.0.0.1 <-> .2 (4 packets, T0..T0+1s), TCP .3:40000 -> .1:80 (3 packets,
 * T0+10s..), UDP .4:5000 -> .5:6000 (1 packet, T0+100s); NodeTID "tid-1". */
static void fill(struct flow_store *s)
{
	struct ing x = {s};
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

/* rec_json calls, to see that JSON is made only for what is returned */
static int json_calls;
static json_t *(*real_rec_json)(const void *set, const void *rec);
static json_t *counting_rec_json(const void *set, const void *rec)
{
	json_calls++;
	return real_rec_json(set, rec);
}

static char *run(const char *q, const struct gremlin_flow_ops *ops)
{
	struct gremlin_env env = {.now_ms = T0, .flow_ops = ops};
	struct graph *g = graph_new(NULL);
	struct gremlin_error err = {0};
	struct gremlin_query *pq = gremlin_parse(q, &err);
	if (!pq)
		fail_msg("%s: %s", q, err.msg);
	struct gremlin_result res = {0};
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	int rc = gremlin_eval(pq, v, &env, &res, &err);
	graph_view_free(v);
	graph_unlock(g);
	gremlin_query_free(pq);
	graph_free(g);
	char *out;
	if (rc) {
		out = malloc(300);
		snprintf(out, 300, "!%s", err.msg);
	} else {
		out = json_dumps(res.json, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	}
	json_decref(res.json);
	return out;
}

/* The reference: every selected flow as JSON first (the evaluator's JSON path), from
 * the store's JSON query. */
static json_t *json_flows(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
			  int64_t duration_ms, struct gremlin_error *err)
{
	return flow_store_query_filtered(user, filters, nodes, at_ms, duration_ms, err);
}

/* The store's ops (typed) and a provider of the same flows as JSON objects. */
static void both_ops(struct flow_store *s, struct gremlin_flow_ops *typed,
		     struct gremlin_flow_ops *js)
{
	flow_store_gremlin_ops(s, typed);
	assert_ptr_equal(flow_store_from_ops(typed), s);
	assert_null(typed->flows); /* the store answers Flows() with records only */
	real_rec_json = typed->rec_json;
	typed->rec_json = counting_rec_json;
	*js = *typed;
	js->select = NULL;
	js->flows = json_flows;
}

static const char *const queries[] = {
    "G.Flows().Count()",
    "G.Flows().Has('Network', '10.0.0.1').Count()",
    "G.Flows().Has('Network.A', '10.0.0.3')",
    "G.Flows().Has('Network.B', '10.0.0.3').Count()",
    "G.Flows().Has('Network', IPV4RANGE('10.0.0.0/30')).Values('UUID')",
    "G.Flows().Has('Network.Protocol', 'IPV4').Count()",
    "G.Flows().Has('Link.A', '02:00:00:00:00:01').Values('Application')",
    "G.Flows().Has('Link.Protocol', 'ETHERNET').Count()",
    "G.Flows().Has('Transport', 80).Values('Application')",
    "G.Flows().Has('Transport.A', Inside(1000, 50000)).Values('Transport.B')",
    "G.Flows().Has('Transport.Protocol', 'UDP').Count()",
    "G.Flows().Has('Metric.ABBytes', Gt(60)).Count()",
    "G.Flows().Has('Metric.ABPackets', Within(1, 2)).Values('Application')",
    "G.Flows().Has('Metric.BAPackets', Ne(1)).Values('Application')",
    "G.Flows().Has('Metric.BABytes').Count()",
    "G.Flows().HasNot('Metric.BABytes').Values('Application')",
    "G.Flows().Has('Metric.Start', Gte(1700000010000)).Count()",
    "G.Flows().Has('Metric.Last', Between(1700000000000, 1700000050000)).Count()",
    "G.Flows().Has('LastUpdateMetric.ABPackets', Gt(0)).Count()",
    "G.Flows().Has('Metric.RTT').Values('Metric.RTT')",
    "G.Flows().Has('Application', Regex('TCP|UDP')).Values('Application')",
    "G.Flows().Has('Application', Without('TCP', 'UDP')).Values('Application')",
    "G.Flows().Has('LayersPath', Regex('.*ICMPv4.*')).Count()",
    "G.Flows().Has('ICMP.Type', 'ECHO').Count()",
    "G.Flows().Has('ICMP.ID', 7).Count()",
    "G.Flows().Has('ICMP').Count()",
    "G.Flows().Has('TCPMetric').Count()",
    "G.Flows().HasNot('TCPMetric').Count()",
    "G.Flows().Has('TCPMetric.ABSynStart').Count()",
    "G.Flows().Has('ParentUUID', '').Count()",
    "G.Flows().Has('NodeTID', 'tid-1').Count()",
    "G.Flows().Has('NodeTID', 'tid-2').Count()",
    "G.Flows().Has('UUID').Count()",
    "G.Flows().Has('TrackingID', Ne('x')).Count()",
    "G.Flows().Has('RawPacketsCaptured', 0).Count()",
    "G.Flows().Has('Start', Lt(1700000050000)).Count()",
    "G.Flows().Has('Metric', 1).Count()",
    "G.Flows().Has('Nope').Count()",
    "G.Flows().Has('Metric.Nope').Count()",
    "G.Flows().Sort('Metric.ABBytes').Values('Application')",
    "G.Flows().Sort(DESC, 'Start').Limit(2).Values('Application')",
    "G.Flows().Sort().Values('Last')",
    "G.Flows().Sort('Network.A').Values('Network.A')",
    "G.Flows().Sort(DESC, 'Network.B').Values('Application')",
    "G.Flows().Sort(DESC, 'Transport.A').Values('Application')",
    "G.Flows().Sort('Transport.A').Values('Application')",
    "G.Flows().Sort('Metric').Values('Application')",
    "G.Flows().Sort('Nope').Values('Application')",
    "G.Flows().Sort(DESC, 'Metric.RTT').Values('Application')",
    "G.Flows().Dedup('Network.B').Count()",
    "G.Flows().Dedup().Count()",
    "G.Flows().Dedup('Application').Values('Application')",
    "G.Flows().Dedup('Link.A').Values('Application')",
    "G.Flows().Dedup('Network.A', 'Network.B').Count()",
    "G.Flows().Dedup('Network').Values('Application')",
    "G.Flows().Dedup('Transport.A').Values('Application')",
    "G.Flows().Dedup('Metric.ABPackets').Values('Application')",
    "G.Flows().Dedup('Metric').Count()",
    "G.Flows().Dedup('Nope').Count()",
    "G.Flows().Dedup('NodeTID').Count()",
    "G.Flows().Has('Network', '10.0.0.1').Range(1, 2).Values('Application')",
    "G.Flows().Values('Metric').Count()",
    "G.Flows().Has('Transport', 80).Keys()",
    "G.Flows().Has('Transport', 80)",
    "G.Flows('Application', 'UDP').Values('Network.A')",
    "G.At(1700000005000, 4000).Flows().Values('Application')",
    "G.Flows().Sum('Metric.ABBytes')",
    "G.Flows().Sum('Metric.BAPackets')",
    "G.Flows().Values('Metric.ABBytes')",
    "G.Flows().Values('Metric.BABytes')",
    "G.Flows().Values('LastUpdateMetric.ABBytes')",
    "G.Flows().Values('LastUpdateMetric.Start')",
    "G.Flows().Values('Metric.Last')",
    "G.Flows().Values('Network')",
    "G.Flows().Values('Link')",
    "G.Flows().Values('Transport')",
    "G.Flows().Values('Link.ID')",
    "G.Flows().Values('Network.ID')",
    "G.Flows().Values('ICMP.Type')",
    "G.Flows().Values('ICMP.Code')",
    "G.Flows().Values('TCPMetric.ABSynStart')",
    "G.Flows().Values('TCPMetric.BASynStart')",
    "G.Flows().Values('TCPMetric.ABSynTTL')",
    "G.Flows().Values('TCPMetric')",
    "G.Flows().Values('Metric')",
    "G.Flows().Values('LayersPath')",
    "G.Flows().Values('TrackingID')",
    "G.Flows().Values('L3TrackingID')",
    "G.Flows().Values('ParentUUID')",
    "G.Flows().Values('CaptureID')",
    "G.Flows().Values('FinishType')",
    "G.Flows().Values('RawPacketsCaptured')",
    "G.Flows().Values('Start')",
    "G.Flows().Values('Transport.Protocol')",
    "G.Flows().Values('Network.Protocol')",
};

static void check_same(struct flow_store *s)
{
	struct gremlin_flow_ops typed, js;
	both_ops(s, &typed, &js);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		char *a = run(queries[i], &typed), *b = run(queries[i], &js);
		if (strcmp(a, b))
			fail_msg("%s: typed %s, JSON %s", queries[i], a, b);
		assert_true(a[0] != '!');
		free(a);
		free(b);
	}
}

static long count_of(const char *q, const struct gremlin_flow_ops *ops)
{
	char *out = run(q, ops);
	if (out[0] == '!')
		fail_msg("%s: %s", q, out + 1);
	long n = strtol(out, NULL, 10);
	free(out);
	return n;
}

/* A want callback: keeps the flows whose Transport.B is 80, read through the probe. */
static int want_calls;
static int want_port80(void *user, const void *probe, const void *rec)
{
	(void)user;
	struct gremlin_fval fv[2];
	want_calls++;
	int n = flow_store_sel_field(probe, rec, "Transport.B", fv, 2);
	return n == 1 && fv[0].kind == GREMLIN_FV_INT && fv[0].i == 80;
}

static void test_typed_like_json(void **state)
{
	(void)state;
	struct flow_store_opts o = {.max_age_ms = -1};
	struct flow_store *s = flow_store_new(&o);
	assert_non_null(s);
	fill(s);
	check_same(s);
	struct gremlin_flow_ops typed, js;
	both_ops(s, &typed, &js);
	/* figures from the traffic fill() made, not from the store */
	assert_int_equal(count_of("G.Flows().Count()", &typed), 3);
	assert_int_equal(count_of("G.Flows().Has('Network', '10.0.0.1').Count()", &typed), 2);
	assert_int_equal(count_of("G.Flows().Has('Network.A', '10.0.0.3').Count()", &typed), 1);
	assert_int_equal(count_of("G.Flows().Has('Transport', 80).Count()", &typed), 1);
	assert_int_equal(count_of("G.Flows().Has('Transport.B', 6000).Count()", &typed), 1);
	assert_int_equal(count_of("G.Flows().Has('Metric.ABPackets', 2).Count()", &typed), 2);
	assert_int_equal(count_of("G.Flows().Has('Metric.BAPackets', Gt(0)).Count()", &typed), 2);
	assert_int_equal(count_of("G.Flows().Has('ICMP.ID', 7).Count()", &typed), 1);
	char *v = run("G.Flows().Has('Transport', 80).Values('Transport.A')", &typed);
	assert_string_equal(v, "[40000]");
	free(v);
	v = run("G.Flows().Has('Network.A', '10.0.0.4').Values('Link.B')", &typed);
	assert_string_equal(v, "[\"02:00:00:00:00:02\"]");
	free(v);

	/* the Has() test pushed into the memory scan: the others are never copied */
	struct flow_store_sel *sel;
	want_calls = 0;
	assert_int_equal(flow_store_select(s, NULL, NULL, 0, 0, want_port80, NULL, &sel), 0);
	assert_int_equal(want_calls, 3);
	assert_int_equal(flow_store_sel_count(sel), 1);
	assert_int_equal(flow_store_sel_rec(sel, 0)->tp_b, 80);
	assert_string_equal(flow_store_sel_str(sel, flow_store_sel_rec(sel, 0), FREC_S_NODE),
			    "tid-1");
	flow_store_sel_free(sel);

	/* JSON only for what is returned */
	json_calls = 0;
	assert_int_equal(count_of("G.Flows().Has('Metric.ABBytes', Gt(0)).Count()", &typed), 3);
	assert_int_equal(json_calls, 0);
	v = run("G.Flows().Sort('Start').Limit(1)", &typed);
	assert_int_equal(json_calls, 1);
	free(v);
	json_calls = 0;
	v = run("G.Flows().Has('Network', '10.0.0.1').Dedup('Application').Values('Start')",
		&typed);
	assert_int_equal(json_calls, 0);
	free(v);
	v = run("G.Flows().Has('Network', '10.0.0.1').Values('Metric')", &typed);
	assert_int_equal(json_calls, 2); /* a sub-object: from the two flows' JSON */
	free(v);
	v = run("G.Flows().Has('Network', '10.0.0.1').Keys()", &typed);
	assert_int_equal(json_calls, 4); /* Keys() reads the JSON objects */
	free(v);
	flow_store_free(s);
}

/* Flows as agents send them, with what frames did not give: IPv6, a parent, every
 * TCPMetric field, a finish type, capture, link and network IDs, raw packets counted,
 * an ICMPv6 flow. */
static void fill_pb(struct flow_store *s)
{
	Flow__Flow f;
	Flow__FlowLayer link, net;
	Flow__TransportLayer tr;
	Flow__ICMPLayer icmp;
	Flow__FlowMetric m, lu;
	Flow__TCPMetric tcp;
	for (int i = 0; i < 2; i++) {
		flow__flow__init(&f);
		flow__flow_layer__init(&link);
		flow__flow_layer__init(&net);
		flow__transport_layer__init(&tr);
		flow__icmplayer__init(&icmp);
		flow__flow_metric__init(&m);
		flow__flow_metric__init(&lu);
		flow__tcpmetric__init(&tcp);
		f.uuid = i ? "c0ffee02" : "c0ffee01";
		f.trackingid = i ? "7002" : "7001";
		f.l3trackingid = "8001";
		f.parentuuid = i ? "" : "c0ffee00";
		f.nodetid = "tid-9";
		f.captureid = "cap-1";
		f.layerspath = i ? "Ethernet/IPv6/ICMPv6" : "Ethernet/IPv6/TCP";
		f.application = i ? "ICMPv6" : "HTTP";
		link.protocol = FLOW__FLOW_PROTOCOL__ETHERNET;
		link.a = "02:00:00:00:00:0a";
		link.b = "02:00:00:00:00:0b";
		link.id = 12;
		f.link = &link;
		net.protocol = FLOW__FLOW_PROTOCOL__IPV6;
		net.a = "fd00::1";
		net.b = i ? "fd00::3" : "fd00::2";
		net.id = 42;
		f.network = &net;
		if (i) {
			icmp.type = FLOW__ICMPTYPE__ECHO;
			icmp.code = 3;
			icmp.id = 99;
			f.icmp = &icmp;
			f.finishtype = FLOW__FLOW_FINISH_TYPE__TIMEOUT;
		} else {
			tr.protocol = FLOW__FLOW_PROTOCOL__TCP;
			tr.a = 443;
			tr.b = 55555;
			f.transport = &tr;
			tcp.absynstart = T0 + 1;
			tcp.basynstart = T0 + 2;
			tcp.abfinstart = T0 + 3;
			tcp.bafinstart = T0 + 4;
			tcp.abrststart = T0 + 5;
			tcp.barststart = T0 + 6;
			tcp.absynttl = 64;
			tcp.basynttl = 63;
			f.tcpmetric = &tcp;
			f.finishtype = FLOW__FLOW_FINISH_TYPE__TCP_FIN;
			f.rawpacketscaptured = 5;
		}
		m.abpackets = 10 + i;
		m.abbytes = 1000 + i;
		m.bapackets = 9;
		m.babytes = 900;
		m.start = T0;
		m.last = T0 + 5000;
		m.rtt = 1234;
		f.metric = &m;
		lu.abpackets = 2;
		lu.abbytes = 200;
		lu.start = T0 + 4000;
		lu.last = T0 + 5000;
		f.lastupdatemetric = &lu;
		f.start = m.start;
		f.last = m.last;
		assert_int_equal(flow_store_ingest_pb(s, &f, T0, NULL), 0);
	}
}

static void test_agent_fields(void **state)
{
	(void)state;
	struct flow_store_opts o = {.max_age_ms = -1};
	struct flow_store *s = flow_store_new(&o);
	assert_non_null(s);
	fill_pb(s);
	check_same(s);
	struct gremlin_flow_ops typed, js;
	both_ops(s, &typed, &js);
	static const char *const more[] = {
	    "G.Flows().Has('Network', 'fd00::2').Values('UUID')",
	    "G.Flows().Has('ParentUUID', 'c0ffee00').Values('UUID')",
	    "G.Flows().Has('TCPMetric.BARstStart', Gt(0)).Values('TCPMetric.BASynTTL')",
	    "G.Flows().Has('FinishType', 'TCP_FIN').Count()",
	    "G.Flows().Has('ICMP.Type', 'ECHO').Values('ICMP.ID')",
	    "G.Flows().Has('Network.ID', 42).Has('Link.ID', 12).Count()",
	    "G.Flows().Has('CaptureID', 'cap-1').Count()",
	    "G.Flows().Has('RawPacketsCaptured', Gt(1)).Values('UUID')",
	    "G.Flows().Has('Metric.RTT', 1234).Count()",
	    "G.Flows().Has('LastUpdateMetric.BAPackets').Count()",
	    "G.Flows().Values('TCPMetric.ABFinStart')",
	    "G.Flows().Values('TCPMetric.BAFinStart')",
	    "G.Flows().Values('TCPMetric.ABRstStart')",
	    "G.Flows().Values('ICMP.Code')",
	    "G.Flows().Values('Network.Protocol')",
	    "G.Flows().Sort('ParentUUID').Values('UUID')",
	    "G.Flows().Dedup('L3TrackingID').Count()",
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		char *a = run(more[i], &typed), *b = run(more[i], &js);
		if (strcmp(a, b))
			fail_msg("%s: typed %s, JSON %s", more[i], a, b);
		free(a);
		free(b);
	}
	/* values from the messages above */
	char *v = run("G.Flows().Has('ParentUUID', 'c0ffee00').Values('Transport.A')", &typed);
	assert_string_equal(v, "[443]");
	free(v);
	v = run("G.Flows().Has('ICMP.Code', 3).Values('Network.B')", &typed);
	assert_string_equal(v, "[\"fd00::3\"]");
	free(v);
	v = run("G.Flows().Has('TCPMetric.BASynTTL', 63).Values('FinishType')", &typed);
	assert_string_equal(v, "[\"TCP_FIN\"]");
	free(v);
	flow_store_free(s);
}

struct scan_acc {
	int n;
	int tcp;
	int tid1;
};

static int scan_fn(void *user, const struct flow_rec *r, const char *const str[])
{
	struct scan_acc *a = user;
	a->n++;
	a->tcp += r->tp_b == 80;
	a->tid1 += !strcmp(str[FREC_S_NODE], "tid-1");
	return a->n == 100 ? -EINTR : 0;
}

static void test_scan_and_log(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/skydive-test-fq.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	struct flow_store_opts o = {.max_age_ms = -1,
				    .fsync_ms = FLOW_STORE_FSYNC_NEVER,
				    .block_records = 2,
				    .no_thread = 1};
	snprintf(o.storage_dir, sizeof(o.storage_dir), "%s/flows", tmpdir);
	struct flow_store *s = flow_store_new(&o);
	assert_non_null(s);
	fill(s);
	assert_int_equal(flow_store_flush(s), 0);
	flow_store_free(s);
	/* after a restart every flow comes from the log: the disk part's strings */
	s = flow_store_new(&o);
	assert_non_null(s);
	struct scan_acc a = {0};
	assert_int_equal(flow_store_scan(s, NULL, NULL, T0 + 200000, 200000, scan_fn, &a), 0);
	assert_int_equal(a.n, 3);
	assert_int_equal(a.tcp, 1);
	assert_int_equal(a.tid1, 3);
	/* the window: only the TCP flow (T0+10s) overlaps [T0+5s, T0+20s] */
	memset(&a, 0, sizeof(a));
	assert_int_equal(flow_store_scan(s, NULL, NULL, T0 + 20000, 15000, scan_fn, &a), 0);
	assert_int_equal(a.n, 1);
	assert_int_equal(a.tcp, 1);
	/* node ids pushed down */
	json_t *nodes = json_pack("[s]", "tid-2");
	memset(&a, 0, sizeof(a));
	assert_int_equal(flow_store_scan(s, NULL, nodes, T0 + 200000, 200000, scan_fn, &a), 0);
	assert_int_equal(a.n, 0);
	json_decref(nodes);
	/* exact filters pushed down */
	json_t *f = json_pack("[s,s]", "Network", "10.0.0.4");
	memset(&a, 0, sizeof(a));
	assert_int_equal(flow_store_scan(s, f, NULL, T0 + 200000, 200000, scan_fn, &a), 0);
	assert_int_equal(a.n, 1);
	json_decref(f);
	/* the log's records are states of a UUID: not tested before the newest is known */
	struct flow_store_sel *sel;
	want_calls = 0;
	assert_int_equal(flow_store_select(s, NULL, NULL, T0 + 200000, 200000, want_port80, NULL,
					   &sel),
			 0);
	assert_int_equal(want_calls, 0);
	assert_int_equal(flow_store_sel_count(sel), 3);
	flow_store_sel_free(sel);
	check_same(s);
	flow_store_free(s);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_typed_like_json),
	    cmocka_unit_test(test_agent_fields),
	    cmocka_unit_test(test_scan_and_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
