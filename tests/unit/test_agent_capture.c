/* test_agent_capture.c - the agent's flow messages: a flow as protobuf
 * flow.Message (packed, unpacked with protobuf-c, compared field by field with
 * the flow's JSON from flow_json_write), raw packets attached to their flows,
 * batching by 100, the raw store bound and the flow queue's drop counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/captures.h"
#include "agent/flow_pb.h"
#include "agent/flow_sender.h"
#include "common/buf.h"
#include "flow/flow_json.h"
#include "flow/flow_table.h"
#include "unit/frames.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define T0 (1700000000ull * 1000000000ull)

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2};

#define MAXMSG 16
struct ctx {
	struct flow_batch *batch;
	json_t *json; /* UUID -> the flow's JSON at its last emission */
	int emitted;
	Flow__Message *msgs[MAXMSG];
	int nmsgs;
	struct frame frames[32];
	int nframes;
};

static void sink(void *user, uint8_t *buf, size_t len)
{
	struct ctx *c = user;
	assert_true(c->nmsgs < MAXMSG);
	c->msgs[c->nmsgs] = flow__message__unpack(NULL, len, buf + 16);
	assert_non_null(c->msgs[c->nmsgs]);
	c->nmsgs++;
	free(buf);
}

static void emit(void *user, const struct flow_table *t, const struct flow *f, enum flow_event ev,
		 int64_t lu_start, int64_t lu_last)
{
	struct ctx *c = user;
	struct buf b;
	buf_init(&b, NULL);
	flow_json_write(&b, t, f, lu_start, lu_last);
	json_error_t je;
	json_t *j = json_loadb(b.data, b.len, 0, &je);
	assert_non_null(j);
	json_object_set_new(c->json, json_string_value(json_object_get(j, "UUID")), j);
	buf_free(&b);
	c->emitted++;
	flow_batch_add(c->batch, t, f, lu_start, lu_last);
}

static int raw_flows(void *user, const struct flow_table *t, const struct flow *const *flows,
		     int n, const uint8_t *data, uint32_t caplen, uint32_t wirelen, uint64_t ts)
{
	struct ctx *c = user;
	return flow_batch_raw(c->batch, t, flows, n, data, caplen, wirelen, ts);
}

static void setup_ctx(struct ctx *c, uint32_t raw_max)
{
	memset(c, 0, sizeof(*c));
	struct flow_batch_opts bo = {.linktype = 1, .pre = 16, .sink = sink, .user = c,
				     .raw_max = raw_max};
	c->batch = flow_batch_new(&bo);
	assert_non_null(c->batch);
	c->json = json_object();
}

static void free_ctx(struct ctx *c)
{
	for (int i = 0; i < c->nmsgs; i++)
		flow__message__free_unpacked(c->msgs[i], NULL);
	flow_batch_free(c->batch);
	json_decref(c->json);
}

/* ---- protobuf -> the JSON flow_json_write makes (same omitempty rules) ---- */

static void put_i(json_t *o, const char *k, int64_t v)
{
	if (v)
		json_object_set_new(o, k, json_integer(v));
}

static void put_s(json_t *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_set_new(o, k, json_string(v));
}

static const char *proto_name(int p)
{
	static const char *const n[] = {"ETHERNET", "IPV4", "TCP", "UDP",
					"SCTP", "IPV6", "ICMPV4", "ICMPV6"};
	return n[p];
}

static json_t *metric_json(const Flow__FlowMetric *m)
{
	json_t *o = json_object();
	put_i(o, "ABPackets", m->abpackets);
	put_i(o, "ABBytes", m->abbytes);
	put_i(o, "BAPackets", m->bapackets);
	put_i(o, "BABytes", m->babytes);
	put_i(o, "Start", m->start);
	put_i(o, "Last", m->last);
	put_i(o, "RTT", m->rtt);
	return o;
}

static json_t *layer_json(const Flow__FlowLayer *l)
{
	json_t *o = json_object();
	json_object_set_new(o, "Protocol", json_string(proto_name(l->protocol)));
	put_s(o, "A", l->a);
	put_s(o, "B", l->b);
	put_i(o, "ID", l->id);
	return o;
}

static json_t *pb_to_json(const Flow__Flow *f)
{
	static const char *const icmp[] = {"UNKNOWN", "DESTINATION_UNREACHABLE", "ECHO", "NEIGHBOR",
		"ADDRESS_MASK", "INFO", "PARAMETER_PROBLEM", "REDIRECT", "ROUTER", "SOURCE_QUENCH",
		"TIME_EXCEEDED", "TIMESTAMP", "PACKET_TOO_BIG"};
	static const char *const fin[] = {"NOT_FINISHED", "TIMEOUT", "TCP_FIN", "TCP_RST"};
	json_t *o = json_object();
	put_s(o, "UUID", f->uuid);
	put_s(o, "LayersPath", f->layerspath);
	put_s(o, "Application", f->application);
	if (f->link)
		json_object_set_new(o, "Link", layer_json(f->link));
	if (f->network)
		json_object_set_new(o, "Network", layer_json(f->network));
	if (f->transport) {
		json_t *t = json_object();
		json_object_set_new(t, "Protocol", json_string(proto_name(f->transport->protocol)));
		put_i(t, "A", f->transport->a);
		put_i(t, "B", f->transport->b);
		put_i(t, "ID", f->transport->id);
		json_object_set_new(o, "Transport", t);
	}
	if (f->icmp) {
		json_t *t = json_object();
		if (f->icmp->type)
			json_object_set_new(t, "Type", json_string(icmp[f->icmp->type]));
		put_i(t, "Code", f->icmp->code);
		put_i(t, "ID", f->icmp->id);
		json_object_set_new(o, "ICMP", t);
	}
	if (f->lastupdatemetric)
		json_object_set_new(o, "LastUpdateMetric", metric_json(f->lastupdatemetric));
	if (f->metric)
		json_object_set_new(o, "Metric", metric_json(f->metric));
	if (f->tcpmetric) {
		const Flow__TCPMetric *m = f->tcpmetric;
		json_t *t = json_object();
		put_i(t, "ABSynStart", m->absynstart);
		put_i(t, "BASynStart", m->basynstart);
		put_i(t, "ABSynTTL", m->absynttl);
		put_i(t, "BASynTTL", m->basynttl);
		put_i(t, "ABFinStart", m->abfinstart);
		put_i(t, "BAFinStart", m->bafinstart);
		put_i(t, "ABRstStart", m->abrststart);
		put_i(t, "BARstStart", m->barststart);
		json_object_set_new(o, "TCPMetric", t);
	}
	json_object_set_new(o, "Start", json_integer(f->start));
	json_object_set_new(o, "Last", json_integer(f->last));
	put_s(o, "TrackingID", f->trackingid);
	put_s(o, "L3TrackingID", f->l3trackingid);
	json_object_set_new(o, "ParentUUID", json_string(f->parentuuid));
	put_s(o, "NodeTID", f->nodetid);
	put_s(o, "CaptureID", f->captureid);
	json_object_set_new(o, "RawPacketsCaptured", json_integer(f->rawpacketscaptured));
	if (f->finishtype)
		json_object_set_new(o, "FinishType", json_string(fin[f->finishtype]));
	return o;
}

static void feed(struct ctx *c, struct flow_table *t, uint64_t ts)
{
	struct frame *f = &c->frames[c->nframes - 1];
	flow_table_feed(t, 1, f->b, f->len, f->len, ts);
}

static struct frame *next_frame(struct ctx *c)
{
	assert_true(c->nframes < 32);
	return &c->frames[c->nframes++];
}

/* Every field of every flow, as protobuf, equals its JSON; the raw packets
 * ride with their own flow. */
static void test_flow_to_protobuf_matches_json(void **state)
{
	struct ctx c;
	setup_ctx(&c, 0);
	struct flow_table_opts o = {.raw_packet_limit = 2, .extra_tcp_metric = 1,
				    .node_tid = "4f1c6b4e-0000-5000-8000-000000000001",
				    .capture_id = "cap-1", .header_size = 64};
	char err[256];
	struct flow_table *t = flow_table_new(&o, emit, NULL, &c, err, sizeof(err));
	assert_non_null(t);
	flow_table_set_raw_flows(t, raw_flows);
	/* ping: request, reply, request (3 packets, 2 kept raw) */
	fr_ping4(next_frame(&c), mac1, mac2, ip1, ip2, 0, 7, 1);
	feed(&c, t, T0);
	fr_ping4(next_frame(&c), mac2, mac1, ip2, ip1, 1, 7, 1);
	feed(&c, t, T0 + MS(3));
	fr_ping4(next_frame(&c), mac1, mac2, ip1, ip2, 0, 7, 2);
	feed(&c, t, T0 + MS(5));
	/* TCP handshake and FIN */
	fr_tcp4(next_frame(&c), mac1, mac2, ip1, ip2, 40000, 80, 0x02);
	feed(&c, t, T0 + MS(10));
	fr_tcp4(next_frame(&c), mac2, mac1, ip2, ip1, 80, 40000, 0x12);
	feed(&c, t, T0 + MS(11));
	fr_tcp4(next_frame(&c), mac1, mac2, ip1, ip2, 40000, 80, 0x11);
	feed(&c, t, T0 + MS(20));
	/* UDP */
	fr_udp4(next_frame(&c), mac1, mac2, ip1, ip2, 5000, 53, 20);
	feed(&c, t, T0 + MS(30));
	flow_table_flush(t);
	flow_batch_flush(c.batch);

	assert_int_equal(c.emitted, 3);
	assert_int_equal(c.nmsgs, 1);
	Flow__Message *m = c.msgs[0];
	assert_int_equal(m->n_flows, 3);
	assert_null(m->stats);
	for (size_t i = 0; i < m->n_flows; i++) {
		const Flow__Flow *f = m->flows[i];
		json_t *want = json_object_get(c.json, f->uuid);
		assert_non_null(want);
		json_t *got = pb_to_json(f);
		if (!json_equal(got, want)) {
			char *a = json_dumps(got, JSON_SORT_KEYS), *b = json_dumps(want, JSON_SORT_KEYS);
			fprintf(stderr, "protobuf: %s\njson:     %s\n", a, b);
			free(a);
			free(b);
		}
		assert_true(json_equal(got, want));
		json_decref(got);
		/* raw packets: RawPacketsCaptured of them, frames in order, cut at 64 */
		assert_int_equal(f->n_lastrawpackets, f->rawpacketscaptured);
		assert_true(f->rawpacketscaptured == 2 || !strcmp(f->application, "DNS"));
		for (size_t k = 0; k < f->n_lastrawpackets; k++) {
			const Flow__RawPacket *r = f->lastrawpackets[k];
			assert_int_equal(r->index, (int64_t)k + 1);
			assert_int_equal(r->linktype, 1);
			assert_true(r->data.len <= 64);
			int found = 0;
			for (int j = 0; j < c.nframes; j++)
				if ((uint64_t)r->timestamp >= T0 / 1000000 &&
				    !memcmp(c.frames[j].b, r->data.data, r->data.len) &&
				    r->data.len == (c.frames[j].len < 64 ? c.frames[j].len : 64))
					found = 1;
			assert_true(found);
		}
	}
	const struct flow_stats *st = flow_table_stats(t);
	assert_int_equal(st->raw_kept, 5); /* 2 ping + 2 tcp + 1 udp */
	struct flow_batch_stats bs;
	flow_batch_get_stats(c.batch, &bs);
	assert_int_equal(bs.raw_sent, 5);
	assert_int_equal(bs.flows, 3);
	flow_table_free(t);
	free_ctx(&c);
}

/* A raw packet's wire length and nanosecond time survive the agent's
 * flow.Message (pack, then unpack with protobuf-c): WireLen is the frame's
 * length on the wire even when Data is cut to the header size, TimestampNs
 * the capture time to the ns, Timestamp the same in ms (Skydive's readers),
 * and LinkType the frame's own (one table may see several link types). */
static void test_raw_packet_wirelen_ns(void **state)
{
	struct ctx c;
	setup_ctx(&c, 0);
	struct flow_table_opts o = {.raw_packet_limit = -1, .header_size = 64};
	char err[256];
	struct flow_table *t = flow_table_new(&o, emit, NULL, &c, err, sizeof(err));
	assert_non_null(t);
	flow_table_set_raw_flows(t, raw_flows);
	struct frame *f = next_frame(&c);
	fr_udp4(f, mac1, mac2, ip1, ip2, 5000, 6000, 200);
	const uint64_t ts1 = T0 + 123456789ull; /* 123.456789 ms after T0 */
	/* A 1514-byte frame of which 120 bytes were captured. */
	flow_table_feed(t, 1, f->b, 120, 1514, ts1);
	/* The same datagram without its Ethernet header, as a raw IP frame
	 * (LINKTYPE_RAW 101): another flow (no Link layer) of link type 101. */
	const uint64_t ts2 = T0 + 999999999ull;
	flow_table_feed(t, 101, f->b + 14, f->len - 14, f->len - 14, ts2);
	flow_table_flush(t);
	flow_batch_flush(c.batch);
	assert_int_equal(c.nmsgs, 1);
	Flow__Message *m = c.msgs[0];
	assert_int_equal(m->n_flows, 2);
	int seen = 0;
	for (size_t i = 0; i < m->n_flows; i++) {
		const Flow__Flow *fl = m->flows[i];
		assert_int_equal(fl->n_lastrawpackets, 1);
		const Flow__RawPacket *r = fl->lastrawpackets[0];
		if (fl->link) { /* the Ethernet frame */
			assert_int_equal(r->linktype, 1);
			assert_int_equal(r->wirelen, 1514);
			assert_int_equal(r->data.len, 64); /* cut at the header size */
			assert_memory_equal(r->data.data, f->b, 64);
			assert_int_equal(r->timestampns, (int64_t)ts1);
			assert_int_equal(r->timestamp, (int64_t)(T0 / 1000000) + 123);
			seen |= 1;
		} else {
			assert_int_equal(r->linktype, 101);
			assert_int_equal(r->wirelen, f->len - 14);
			assert_int_equal(r->data.len, 64);
			assert_memory_equal(r->data.data, f->b + 14, 64);
			assert_int_equal(r->timestampns, (int64_t)ts2);
			assert_int_equal(r->timestamp, (int64_t)(T0 / 1000000) + 999);
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	flow_table_free(t);
	free_ctx(&c);
}

/* Updates ship the raw packets kept since the previous update only. */
static void test_raw_packets_per_update(void **state)
{
	struct ctx c;
	setup_ctx(&c, 0);
	struct flow_table_opts o = {.raw_packet_limit = 5, .update_s = 1};
	char err[256];
	struct flow_table *t = flow_table_new(&o, emit, NULL, &c, err, sizeof(err));
	assert_non_null(t);
	flow_table_set_raw_flows(t, raw_flows);
	fr_ping4(next_frame(&c), mac1, mac2, ip1, ip2, 0, 9, 1);
	feed(&c, t, T0);
	flow_table_tick(t, T0 + MS(100));
	fr_ping4(next_frame(&c), mac2, mac1, ip2, ip1, 1, 9, 1);
	feed(&c, t, T0 + MS(200));
	flow_table_tick(t, T0 + MS(2500)); /* the update */
	flow_batch_flush(c.batch);
	fr_ping4(next_frame(&c), mac1, mac2, ip1, ip2, 0, 9, 2);
	feed(&c, t, T0 + MS(2600));
	flow_table_flush(t);
	flow_batch_flush(c.batch);
	assert_int_equal(c.nmsgs, 2);
	assert_int_equal(c.msgs[0]->n_flows, 1);
	assert_int_equal(c.msgs[0]->flows[0]->n_lastrawpackets, 2);
	assert_int_equal(c.msgs[1]->flows[0]->n_lastrawpackets, 1);
	assert_int_equal(c.msgs[1]->flows[0]->lastrawpackets[0]->index, 3);
	assert_int_equal(c.msgs[1]->flows[0]->rawpacketscaptured, 3);
	flow_table_free(t);
	free_ctx(&c);
}

/* 250 flows leave as messages of 100, 100 and 50. */
static void test_batching(void **state)
{
	struct ctx c;
	setup_ctx(&c, 0);
	struct flow_table_opts o = {0};
	char err[256];
	struct flow_table *t = flow_table_new(&o, emit, NULL, &c, err, sizeof(err));
	assert_non_null(t);
	for (int i = 0; i < 250; i++) {
		fr_udp4(next_frame(&c), mac1, mac2, ip1, ip2, (uint16_t)(10000 + i), 53, 8);
		feed(&c, t, T0 + MS(i));
		c.nframes = 0;
	}
	flow_table_flush(t);
	assert_int_equal(c.nmsgs, 2); /* two full batches went on their own */
	assert_int_equal(flow_batch_pending(c.batch), 50);
	flow_batch_flush(c.batch);
	assert_int_equal(c.nmsgs, 3);
	assert_int_equal(c.msgs[0]->n_flows, 100);
	assert_int_equal(c.msgs[1]->n_flows, 100);
	assert_int_equal(c.msgs[2]->n_flows, 50);
	flow_table_free(t);
	free_ctx(&c);
}

/* A full raw store refuses frames; the table counts them as raw_dropped. */
static void test_raw_store_bound(void **state)
{
	struct ctx c;
	setup_ctx(&c, 2);
	struct flow_table_opts o = {.raw_packet_limit = -1};
	char err[256];
	struct flow_table *t = flow_table_new(&o, emit, NULL, &c, err, sizeof(err));
	assert_non_null(t);
	flow_table_set_raw_flows(t, raw_flows);
	for (int i = 0; i < 4; i++) {
		fr_ping4(next_frame(&c), mac1, mac2, ip1, ip2, 0, 3, (uint16_t)i);
		feed(&c, t, T0 + MS(i));
	}
	const struct flow_stats *st = flow_table_stats(t);
	assert_int_equal(st->raw_kept, 2);
	assert_int_equal(st->raw_dropped, 2);
	flow_table_flush(t);
	flow_batch_flush(c.batch);
	assert_int_equal(c.msgs[0]->flows[0]->n_lastrawpackets, 2);
	/* the store is empty again: new frames are kept */
	fr_ping4(next_frame(&c), mac1, mac2, ip1, ip2, 0, 4, 1);
	feed(&c, t, T0 + MS(10));
	assert_int_equal(flow_table_stats(t)->raw_kept, 3);
	flow_table_free(t);
	free_ctx(&c);
}

/* Stats travel alone in a Message. */
static void test_stats_message(void **state)
{
	size_t len = 0;
	uint8_t *buf = flow_pb_encode_stats("cap-9", 3, 1, 100, 2, 0, 8, &len);
	assert_non_null(buf);
	Flow__Message *m = flow__message__unpack(NULL, len, buf + 8);
	assert_non_null(m);
	assert_int_equal(m->n_flows, 0);
	assert_non_null(m->stats);
	assert_string_equal(m->stats->captureid, "cap-9");
	assert_int_equal(m->stats->flowcount, 3);
	assert_int_equal(m->stats->flowdropped, 1);
	assert_int_equal(m->stats->packetsreceived, 100);
	assert_int_equal(m->stats->packetsdropped, 2);
	flow__message__free_unpacked(m, NULL);
	free(buf);
}

/* The flow queue is bounded: what does not fit is dropped and counted, and
 * what is still queued at stop is counted as dropped too. */
static void test_queue_drops(void **state)
{
	char err[256];
	struct flow_sender_opts so = {.queue_max = 3};
	struct flow_sender *s = flow_sender_new(&so, err, sizeof(err));
	assert_non_null(s);
	for (int i = 0; i < 5; i++) {
		uint8_t *b = malloc(flow_sender_headroom() + 4);
		int rc = flow_sender_push(s, b, 4);
		assert_int_equal(rc, i < 3 ? 0 : -ENOBUFS);
	}
	struct flow_sender_stats st;
	flow_sender_get_stats(s, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.qlen, 3);
	assert_int_equal(st.sent, 0);
	flow_sender_stop(s);
	flow_sender_get_stats(s, &st);
	assert_int_equal(st.dropped, 5);
	assert_int_equal(st.qlen, 0);
	/* stopped: refused and counted */
	assert_int_equal(flow_sender_push(s, malloc(flow_sender_headroom() + 1), 1), -ENOBUFS);
	flow_sender_get_stats(s, &st);
	assert_int_equal(st.dropped, 6);
	flow_sender_free(s);
	/* a bad analyzer address is refused */
	const char *bad[] = {"nohostport"};
	struct ws_client_opts lo = {.host_id = "h"};
	struct ws_client *link = ws_client_new(&lo, err, sizeof(err));
	assert_non_null(link);
	struct flow_sender_opts so2 = {.link = link, .analyzers = bad, .n_analyzers = 1};
	assert_null(flow_sender_new(&so2, err, sizeof(err)));
	assert_non_null(strstr(err, "nohostport"));
	/* analyzers but no link: refused, not a crash */
	const char *good[] = {"127.0.0.1:1"};
	struct flow_sender_opts so3 = {.analyzers = good, .n_analyzers = 1};
	assert_null(flow_sender_new(&so3, err, sizeof(err)));
	ws_client_free(link);
}

static json_t *request(struct capmgr *m, const char *type, const char *node, const char *res)
{
	json_t *msg = json_pack("{ss ss ss s{ss so}}", "Namespace", "OnDemand", "Type", type, "UUID",
				"req-1", "Obj", "NodeID", node, "Resource", json_loads(res, 0, NULL));
	json_t *r = capmgr_handle(m, msg);
	assert_string_equal(json_string_value(json_object_get(r, "Namespace")), "OnDemand");
	assert_string_equal(json_string_value(json_object_get(r, "Type")), type);
	assert_string_equal(json_string_value(json_object_get(r, "UUID")), "req-1");
	json_decref(msg);
	return r;
}

static int status(json_t *r)
{
	int s = (int)json_integer_value(json_object_get(r, "Status"));
	json_decref(r);
	return s;
}

/* OnDemand replies: 404 unknown node, 400 unsupported type, and a capture
 * that cannot open shows State error with the reason until stopped. */
static void test_ondemand_errors(void **state)
{
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	graph_lock(g);
	assert_int_equal(graph_node_add(g, "n1", json_pack("{ss ss ss}", "Name", "skut-nosuch0",
							   "Type", "veth", "TID", "tid-1"),
					"h", "h", 1),
			 0);
	graph_unlock(g);
	struct capmgr_opts o = {.g = g};
	struct capmgr *m = capmgr_new(&o);
	assert_non_null(m);
	assert_int_equal(status(request(m, "Start", "nope", "{\"UUID\":\"c1\"}")), 404);
	json_t *r = request(m, "Start", "n1", "{\"UUID\":\"c1\",\"Type\":\"dpdk\"}");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "Obj"), "Error")),
			    "capture type dpdk is not supported by this agent yet");
	assert_int_equal(status(r), 400);
	/* no such interface (or no permission): error state, never silent */
	assert_int_equal(status(request(m, "Start", "n1", "{\"UUID\":\"c1\",\"BPFFilter\":\"icmp\"}")),
			 500);
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	json_t *caps = json_object_get(graph_view_node_get(v, "n1")->e.metadata, "Captures");
	assert_int_equal(json_array_size(caps), 1);
	json_t *e = json_array_get(caps, 0);
	assert_string_equal(json_string_value(json_object_get(e, "ID")), "c1");
	assert_string_equal(json_string_value(json_object_get(e, "State")), "error");
	assert_string_equal(json_string_value(json_object_get(e, "Type")), "afpacket");
	assert_string_equal(json_string_value(json_object_get(e, "BPFFilter")), "icmp");
	assert_true(strlen(json_string_value(json_object_get(e, "Error"))) > 0);
	graph_view_free(v);
	graph_unlock(g);
	assert_int_equal(capmgr_active(m), 0);
	assert_int_equal(status(request(m, "Stop", "n1", "{\"UUID\":\"c1\"}")), 200);
	graph_lock(g);
	v = graph_view_at(g, 0, NULL);
	assert_null(json_object_get(graph_view_node_get(v, "n1")->e.metadata, "Captures"));
	graph_view_free(v);
	graph_unlock(g);
	capmgr_free(m);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flow_to_protobuf_matches_json),
		cmocka_unit_test(test_raw_packets_per_update),
		cmocka_unit_test(test_raw_packet_wirelen_ns),
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_raw_store_bound),
		cmocka_unit_test(test_stats_message),
		cmocka_unit_test(test_queue_drops),
		cmocka_unit_test(test_ondemand_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
