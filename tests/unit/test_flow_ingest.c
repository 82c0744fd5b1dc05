/* test_flow_ingest.c - unit tests of /ws/agent/flow ingest (src/analyzer/flow_ingest.c,
 * flow_store_ingest_pb): flow.Message encoded with protobuf-c, stored and read back as
 * Skydive's flow JSON with raw packets; Stats counters; malformed frames counted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "analyzer/flow_ingest.h"
#include "flow.pb-c.h"
#include "gremlin/gremlin.h"
#include "store/flow_store.h"

#define T0 1700000000000ll

/* Packs msg into a malloc'd buffer; *len gets its size. */
static uint8_t *pack(const Flow__Message *msg, size_t *len)
{
	*len = flow__message__get_packed_size(msg);
	uint8_t *b = malloc(*len ? *len : 1);
	assert_non_null(b);
	assert_int_equal(flow__message__pack(msg, b), *len);
	return b;
}

static json_t *query_all(struct flow_store *s)
{
	struct gremlin_error err = {0};
	json_t *fl = flow_store_query(s, NULL, 0, 0, &err);
	assert_non_null(fl);
	return fl;
}

static json_t *flow_by_uuid(json_t *flows, const char *uuid)
{
	size_t i;
	json_t *f;
	json_array_foreach(flows, i, f)
	{
		if (!strcmp(json_string_value(json_object_get(f, "UUID")), uuid))
			return f;
	}
	return NULL;
}

static void test_ingest_tcp_flow(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	struct flow_ingest *fi = flow_ingest_new(s);
	assert_non_null(fi);

	Flow__FlowLayer link = FLOW__FLOW_LAYER__INIT, net = FLOW__FLOW_LAYER__INIT;
	Flow__TransportLayer tp = FLOW__TRANSPORT_LAYER__INIT;
	Flow__FlowMetric metric = FLOW__FLOW_METRIC__INIT, lu = FLOW__FLOW_METRIC__INIT;
	Flow__TCPMetric tcp = FLOW__TCPMETRIC__INIT;
	Flow__RawPacket rp1 = FLOW__RAW_PACKET__INIT, rp2 = FLOW__RAW_PACKET__INIT;
	Flow__Flow f = FLOW__FLOW__INIT;
	link.protocol = FLOW__FLOW_PROTOCOL__ETHERNET;
	link.a = "02:00:00:00:00:01";
	link.b = "02:00:00:00:00:02";
	net.protocol = FLOW__FLOW_PROTOCOL__IPV4;
	net.a = "10.0.0.1";
	net.b = "10.0.0.2";
	tp.protocol = FLOW__FLOW_PROTOCOL__TCP;
	tp.a = 43210;
	tp.b = 80;
	metric.abpackets = 3;
	metric.abbytes = 300;
	metric.bapackets = 2;
	metric.babytes = 1200;
	metric.start = T0;
	metric.last = T0 + 500;
	metric.rtt = 1500000;
	lu.abpackets = 1;
	lu.abbytes = 100;
	lu.start = T0 + 400;
	lu.last = T0 + 500;
	tcp.absynstart = T0;
	tcp.basynstart = T0 + 1;
	tcp.absynttl = 64;
	tcp.abfinstart = T0 + 499;
	uint8_t pkt1[60] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0}, pkt2[42] = {1, 2, 3};
	rp1.timestamp = T0;
	rp1.index = 1;
	rp1.data = (ProtobufCBinaryData){sizeof(pkt1), pkt1};
	rp1.linktype = 1;
	rp2.timestamp = T0 + 1;
	rp2.index = 2;
	rp2.data = (ProtobufCBinaryData){sizeof(pkt2), pkt2};
	rp2.linktype = 1;
	Flow__RawPacket *rps[] = {&rp1, &rp2};
	f.uuid = "c40232c35c791ccf";
	f.layerspath = "Ethernet/IPv4/TCP";
	f.application = "TCP";
	f.start = T0;
	f.last = T0 + 500;
	f.link = &link;
	f.network = &net;
	f.transport = &tp;
	f.metric = &metric;
	f.lastupdatemetric = &lu;
	f.tcpmetric = &tcp;
	f.nodetid = "node-tid-1";
	f.captureid = "cap-1";
	f.n_lastrawpackets = 2;
	f.lastrawpackets = rps;
	f.rawpacketscaptured = 2;
	f.trackingid = "2c3429d2e093c415";
	f.l3trackingid = "cd65a3cef30f705b";
	f.finishtype = FLOW__FLOW_FINISH_TYPE__TCP_FIN;
	Flow__Stats st = FLOW__STATS__INIT;
	st.captureid = "cap-1";
	st.flowcount = 7;
	st.flowdropped = 1;
	st.kernelflowdropped = 2;
	st.packetsreceived = 100;
	st.packetsdropped = 3;
	Flow__Flow *fl[] = {&f};
	Flow__Message msg = FLOW__MESSAGE__INIT;
	msg.n_flows = 1;
	msg.flows = fl;
	msg.stats = &st;
	size_t len;
	uint8_t *buf = pack(&msg, &len);
	char err[256];
	assert_int_equal(flow_ingest_frame(fi, "agent-1", buf, len, T0 + 600, err, sizeof(err)),
	                 0);
	free(buf);

	json_t *flows = query_all(s);
	assert_int_equal(json_array_size(flows), 1);
	json_t *j = flow_by_uuid(flows, "c40232c35c791ccf");
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "LayersPath")),
	                    "Ethernet/IPv4/TCP");
	assert_string_equal(json_string_value(json_object_get(j, "Application")), "TCP");
	assert_string_equal(json_string_value(json_object_get(j, "NodeTID")), "node-tid-1");
	assert_string_equal(json_string_value(json_object_get(j, "CaptureID")), "cap-1");
	assert_string_equal(json_string_value(json_object_get(j, "TrackingID")),
	                    "2c3429d2e093c415");
	assert_string_equal(json_string_value(json_object_get(j, "L3TrackingID")),
	                    "cd65a3cef30f705b");
	assert_string_equal(json_string_value(json_object_get(j, "FinishType")), "TCP_FIN");
	assert_string_equal(json_string_value(json_object_get(j, "ParentUUID")), "");
	assert_int_equal(json_integer_value(json_object_get(j, "RawPacketsCaptured")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "Start")), T0);
	assert_int_equal(json_integer_value(json_object_get(j, "Last")), T0 + 500);
	json_t *l = json_object_get(j, "Link");
	assert_string_equal(json_string_value(json_object_get(l, "A")), "02:00:00:00:00:01");
	assert_string_equal(json_string_value(json_object_get(l, "B")), "02:00:00:00:00:02");
	json_t *n = json_object_get(j, "Network");
	assert_string_equal(json_string_value(json_object_get(n, "Protocol")), "IPV4");
	assert_string_equal(json_string_value(json_object_get(n, "A")), "10.0.0.1");
	assert_string_equal(json_string_value(json_object_get(n, "B")), "10.0.0.2");
	json_t *t = json_object_get(j, "Transport");
	assert_string_equal(json_string_value(json_object_get(t, "Protocol")), "TCP");
	assert_int_equal(json_integer_value(json_object_get(t, "A")), 43210);
	assert_int_equal(json_integer_value(json_object_get(t, "B")), 80);
	json_t *m = json_object_get(j, "Metric");
	assert_int_equal(json_integer_value(json_object_get(m, "ABPackets")), 3);
	assert_int_equal(json_integer_value(json_object_get(m, "BABytes")), 1200);
	assert_int_equal(json_integer_value(json_object_get(m, "RTT")), 1500000);
	m = json_object_get(j, "LastUpdateMetric");
	assert_int_equal(json_integer_value(json_object_get(m, "ABBytes")), 100);
	assert_int_equal(json_integer_value(json_object_get(m, "Start")), T0 + 400);
	json_t *tm = json_object_get(j, "TCPMetric");
	assert_int_equal(json_integer_value(json_object_get(tm, "ABSynTTL")), 64);
	assert_int_equal(json_integer_value(json_object_get(tm, "ABFinStart")), T0 + 499);

	/* raw packets */
	json_t *raw = flow_store_raw_packets(s, flows);
	json_t *list = json_object_get(json_array_get(raw, 0), "c40232c35c791ccf");
	assert_int_equal(json_array_size(list), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "LinkType")),
	                 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "Timestamp")),
	                 T0 + 1);
	json_decref(raw);
	json_decref(flows);

	/* a newer state replaces the older */
	metric.abpackets = 4;
	f.n_lastrawpackets = 0;
	msg.stats = NULL;
	buf = pack(&msg, &len);
	assert_int_equal(flow_ingest_frame(fi, "agent-1", buf, len, T0 + 700, err, sizeof(err)),
	                 0);
	free(buf);
	flows = query_all(s);
	assert_int_equal(json_array_size(flows), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(json_array_get(flows, 0), "Metric"), "ABPackets")),
	                 4);
	json_decref(flows);

	/* counters */
	json_t *stj = flow_ingest_status_json(fi);
	json_t *h = json_object_get(stj, "agent-1");
	assert_int_equal(json_integer_value(json_object_get(h, "Messages")), 2);
	assert_int_equal(json_integer_value(json_object_get(h, "Flows")), 2);
	assert_int_equal(json_integer_value(json_object_get(h, "RawPackets")), 2);
	assert_int_equal(json_integer_value(json_object_get(h, "DecodeErrors")), 0);
	assert_true(json_integer_value(json_object_get(h, "Bytes")) > 0);
	json_t *c = json_object_get(json_object_get(h, "Captures"), "cap-1");
	assert_int_equal(json_integer_value(json_object_get(c, "FlowCount")), 7);
	assert_int_equal(json_integer_value(json_object_get(c, "FlowDropped")), 1);
	assert_int_equal(json_integer_value(json_object_get(c, "KernelFlowDropped")), 2);
	assert_int_equal(json_integer_value(json_object_get(c, "PacketsReceived")), 100);
	assert_int_equal(json_integer_value(json_object_get(c, "PacketsDropped")), 3);
	assert_int_equal(json_integer_value(json_object_get(c, "Flows")), 2);
	json_decref(stj);

	/* the status hook */
	json_t *status = json_object();
	flow_ingest_status_hook(fi, status);
	assert_non_null(json_object_get(json_object_get(status, "FlowStats"), "agent-1"));
	json_decref(status);

	flow_ingest_free(fi);
	flow_store_free(s);
}

static void test_ingest_icmp_v6_and_bad_flows(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	struct flow_ingest *fi = flow_ingest_new(s);
	Flow__FlowLayer net = FLOW__FLOW_LAYER__INIT;
	Flow__ICMPLayer icmp = FLOW__ICMPLAYER__INIT;
	Flow__Flow f = FLOW__FLOW__INIT, nouuid = FLOW__FLOW__INIT;
	net.protocol = FLOW__FLOW_PROTOCOL__IPV6;
	net.a = "fd00::1";
	net.b = "fd00::2";
	icmp.type = FLOW__ICMPTYPE__ECHO;
	icmp.id = 77;
	f.uuid = "00000000000000ab";
	f.layerspath = "IPv6/ICMPv6/ICMPv6Echo";
	f.parentuuid = "1234";
	f.network = &net;
	f.icmp = &icmp;
	f.nodetid = "n2";
	nouuid.layerspath = "Ethernet";
	/* the raw packets of a refused flow are counted as refused (fuzz_flow_pb) */
	Flow__RawPacket rp = FLOW__RAW_PACKET__INIT;
	uint8_t pkt[14] = {0};
	rp.data = (ProtobufCBinaryData){sizeof(pkt), pkt};
	Flow__RawPacket *rps[] = {&rp, &rp};
	nouuid.n_lastrawpackets = 2;
	nouuid.lastrawpackets = rps;
	Flow__Flow *fl[] = {&f, &nouuid};
	Flow__Message msg = FLOW__MESSAGE__INIT;
	msg.n_flows = 2;
	msg.flows = fl;
	size_t len;
	uint8_t *buf = pack(&msg, &len);
	char err[256];
	assert_int_equal(flow_ingest_frame(fi, "a2", buf, len, T0, err, sizeof(err)), 0);
	free(buf);
	json_t *flows = query_all(s);
	assert_int_equal(json_array_size(flows), 1);
	json_t *j = json_array_get(flows, 0);
	/* hex as Skydive formats it (no leading zeros) */
	assert_string_equal(json_string_value(json_object_get(j, "UUID")), "ab");
	assert_string_equal(json_string_value(json_object_get(j, "ParentUUID")), "1234");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "Network"), "A")), "fd00::1");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "Network"), "Protocol")), "IPV6");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "ICMP"), "Type")),
	                    "ECHO");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "ICMP"), "ID")), 77);
	assert_null(json_object_get(j, "Link"));
	json_decref(flows);
	json_t *st = flow_ingest_status_json(fi);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "a2"),
	                                                    "FlowsRejected")),
	                 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "a2"),
	                                                    "RawPacketsRejected")),
	                 2);
	json_decref(st);
	flow_ingest_free(fi);
	flow_store_free(s);
}

/* Garbage: counted, nothing stored, the ingest goes on working. */
static void test_malformed_frame(void **state)
{
	struct flow_store *s = flow_store_new(NULL);
	struct flow_ingest *fi = flow_ingest_new(s);
	char err[256] = "";
	const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02}; /* length past end */
	assert_int_equal(flow_ingest_frame(fi, "a3", junk, sizeof(junk), T0, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "not a protobuf flow.Message"));
	const uint8_t junk2[] = {0xff, 0xff, 0xff};
	assert_int_equal(flow_ingest_frame(fi, "a3", junk2, sizeof(junk2), T0, err, sizeof(err)),
	                 -EINVAL);
	/* an empty frame is an empty message */
	assert_int_equal(flow_ingest_frame(fi, "a3", junk, 0, T0, err, sizeof(err)), 0);
	json_t *st = flow_ingest_status_json(fi);
	json_t *h = json_object_get(st, "a3");
	assert_int_equal(json_integer_value(json_object_get(h, "DecodeErrors")), 2);
	assert_int_equal(json_integer_value(json_object_get(h, "Messages")), 3);
	assert_int_equal(json_integer_value(json_object_get(h, "Flows")), 0);
	json_decref(st);
	json_t *flows = query_all(s);
	assert_int_equal(json_array_size(flows), 0);
	json_decref(flows);
	flow_ingest_free(fi);
	flow_store_free(s);
}

/* FlowStats is bounded (issue 9): the host heard from least recently and a host's oldest
 * capture entry are evicted, and counted. Stats-only messages name the captures. */
static void test_stats_bounded(void **state)
{
	(void)state;
	struct flow_store *s = flow_store_new(NULL);
	struct flow_ingest *fi = flow_ingest_new(s);
	flow_ingest_set_limits(fi, 2, 2);
	char err[256] = "";
	const char *hosts[] = {"h1", "h2", "h1", "h3"}; /* h2 is then the least recent */
	for (int i = 0; i < 4; i++)
		assert_int_equal(flow_ingest_frame(fi, hosts[i], NULL, 0, T0 + i, err, sizeof(err)), 0);
	for (int i = 0; i < 3; i++) {
		char id[16];
		snprintf(id, sizeof(id), "cap%d", i);
		Flow__Stats st = FLOW__STATS__INIT;
		st.captureid = id;
		Flow__Message m = FLOW__MESSAGE__INIT;
		m.stats = &st;
		size_t len;
		uint8_t *b = pack(&m, &len);
		assert_int_equal(flow_ingest_frame(fi, "h3", b, len, T0 + 10 + i, err, sizeof(err)), 0);
		free(b);
	}
	json_t *st = flow_ingest_status_json(fi);
	assert_int_equal(json_object_size(st), 2);
	assert_non_null(json_object_get(st, "h1"));
	assert_null(json_object_get(st, "h2"));
	json_t *caps = json_object_get(json_object_get(st, "h3"), "Captures");
	assert_int_equal(json_object_size(caps), 2);
	assert_null(json_object_get(caps, "cap0"));
	assert_non_null(json_object_get(caps, "cap2"));
	json_decref(st);
	json_t *status = json_object();
	flow_ingest_status_hook(fi, status);
	json_t *lim = json_object_get(status, "FlowStatsLimits");
	assert_int_equal(json_integer_value(json_object_get(lim, "HostsEvicted")), 1);
	assert_int_equal(json_integer_value(json_object_get(lim, "CapturesEvicted")), 1);
	assert_int_equal(json_integer_value(json_object_get(lim, "MaxHosts")), 2);
	json_decref(status);
	flow_ingest_free(fi);
	flow_store_free(s);
}

/* The flow-ingest thread's queue: bounded by frames (the one being decoded counts) and
 * by bytes; a frame beyond either is refused with -ENOBUFS and counted, the others are
 * decoded and stored by the thread, and the ingest keeps working after. */
static void test_queue_full_counts_drops(void **state)
{
	(void)state;
	struct flow_store *s = flow_store_new(NULL);
	struct flow_ingest *fi = flow_ingest_new(s);
	char err[256] = "";
	assert_int_equal(flow_ingest_start(fi, 2, 4096, err, sizeof(err)), 0);
	Flow__Flow f = FLOW__FLOW__INIT;
	Flow__Flow *fl[1] = {&f};
	Flow__Message m = FLOW__MESSAGE__INIT;
	m.n_flows = 1;
	m.flows = fl;
	uint8_t *b[3];
	size_t len[3];
	const char *uuids[3] = {"a1", "a2", "a3"};
	for (int i = 0; i < 3; i++) {
		f.uuid = (char *)uuids[i];
		b[i] = pack(&m, &len[i]);
	}
	flow_ingest_hold(fi, 1);
	assert_int_equal(flow_ingest_submit(fi, "q1", "test", b[0], len[0], T0), 0);
	assert_int_equal(flow_ingest_submit(fi, "q1", "test", b[1], len[1], T0), 0);
	/* two frames queued or held in decoding: the third is over analyzer.flow_queue */
	assert_int_equal(flow_ingest_submit(fi, "q1", "test", b[2], len[2], T0), -ENOBUFS);
	/* larger than analyzer.flow_queue_bytes on its own */
	uint8_t big[5000] = {0};
	assert_int_equal(flow_ingest_submit(fi, "q1", "test", big, sizeof(big), T0), -ENOBUFS);
	struct flow_ingest_queue_stats q;
	flow_ingest_queue_stats(fi, &q);
	assert_int_equal(q.received, 4);
	assert_int_equal(q.dropped, 2);
	assert_int_equal(q.dropped_bytes, len[2] + sizeof(big));
	assert_int_equal(q.frames, 2);
	flow_ingest_hold(fi, 0);
	for (;;) { /* drained: no time bound, the thread's progress only */
		flow_ingest_queue_stats(fi, &q);
		if (!q.frames)
			break;
		usleep(1000);
	}
	/* room again: the dropped frame goes in now */
	assert_int_equal(flow_ingest_submit(fi, "q1", "test", b[2], len[2], T0), 0);
	do {
		usleep(1000);
		flow_ingest_queue_stats(fi, &q);
	} while (q.frames);
	json_t *st = flow_ingest_status_json(fi);
	json_t *h = json_object_get(st, "q1");
	assert_int_equal(json_integer_value(json_object_get(h, "Messages")), 3);
	assert_int_equal(json_integer_value(json_object_get(h, "Flows")), 3);
	json_decref(st);
	json_t *flows = query_all(s);
	assert_int_equal(json_array_size(flows), 3);
	assert_non_null(flow_by_uuid(flows, "a2"));
	json_decref(flows);
	json_t *status = json_object();
	flow_ingest_status_hook(fi, status);
	flow_store_status_hook(s, status);
	json_t *iq = json_object_get(json_object_get(status, "Flows"), "IngestQueue");
	assert_int_equal(json_integer_value(json_object_get(iq, "Dropped")), 2);
	assert_int_equal(json_integer_value(json_object_get(iq, "Received")), 5);
	assert_int_equal(json_integer_value(json_object_get(iq, "MaxFrames")), 2);
	assert_true(json_is_true(json_object_get(iq, "Threaded")));
	/* the store's counters beside it */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(status, "Flows"), "Flows")), 3);
	json_decref(status);
	for (int i = 0; i < 3; i++)
		free(b[i]);
	flow_ingest_free(fi);
	flow_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ingest_tcp_flow),
	    cmocka_unit_test(test_ingest_icmp_v6_and_bad_flows),
	    cmocka_unit_test(test_malformed_frame),
	    cmocka_unit_test(test_stats_bounded),
	    cmocka_unit_test(test_queue_full_counts_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
