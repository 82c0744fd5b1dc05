/* test_flow_pbdec.c - unit tests of the one-pass flow.Message decoder (store/flow_pbdec.h):
 * a message with every field set, packed by protobuf-c, decodes in one pass to the values
 * set; the encodings it leaves to protobuf-c (an unknown field, a wire type that is not the
 * field's, a Metric given twice, which protobuf-c merges, a cut frame) give protobuf-c's
 * answer through flow_pbdec_unpack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow.pb-c.h"
#include "store/flow_pbdec.h"

/* An arena for the decoder (its contract): pieces on a list, freed together. */
struct piece {
	struct piece *next;
	max_align_t data[];
};
static struct piece *heap;
static void *t_alloc(void *u, size_t n)
{
	(void)u;
	struct piece *p = malloc(sizeof(*p) + n);
	assert_non_null(p);
	p->next = heap;
	heap = p;
	return p->data;
}
static void t_free(void *u, void *p)
{
	(void)u;
	(void)p;
}
static ProtobufCAllocator arena = {t_alloc, t_free, NULL};
static void arena_reset(void)
{
	while (heap) {
		struct piece *n = heap->next;
		free(heap);
		heap = n;
	}
}

/* A two-flow message with every field of the schema set; packed into *len bytes. */
static uint8_t *full_message(size_t *len)
{
	static Flow__Flow f[2];
	static Flow__Flow *fp[2] = {&f[0], &f[1]};
	static Flow__FlowLayer link, net;
	static Flow__TransportLayer tr;
	static Flow__ICMPLayer icmp;
	static Flow__FlowMetric m, lu;
	static Flow__TCPMetric tm;
	static Flow__IPMetric im;
	static Flow__RawPacket rp[2];
	static Flow__RawPacket *rpp[2] = {&rp[0], &rp[1]};
	static Flow__Stats st;
	static uint8_t frame[3] = {1, 2, 3};
	Flow__Message msg;
	flow__message__init(&msg);
	flow__flow_layer__init(&link);
	link.protocol = FLOW__FLOW_PROTOCOL__ETHERNET;
	link.a = "02:00:00:00:00:01";
	link.b = "02:00:00:00:00:02";
	link.id = 7;
	flow__flow_layer__init(&net);
	net.protocol = FLOW__FLOW_PROTOCOL__IPV6;
	net.a = "fd00::1";
	net.b = "fd00::2";
	flow__transport_layer__init(&tr);
	tr.protocol = FLOW__FLOW_PROTOCOL__TCP;
	tr.a = 40000;
	tr.b = 443;
	tr.id = -5; /* a negative int64: ten varint bytes */
	flow__icmplayer__init(&icmp);
	icmp.type = FLOW__ICMPTYPE__ECHO;
	icmp.code = 3;
	icmp.id = 0xfffffff0u;
	flow__flow_metric__init(&m);
	m.abpackets = 10;
	m.abbytes = 1500;
	m.bapackets = 9;
	m.babytes = 900;
	m.start = 1700000000000;
	m.last = 1700000001000;
	m.rtt = 12345;
	flow__flow_metric__init(&lu);
	lu.abpackets = 1;
	lu.start = 1700000000500;
	lu.last = 1700000001000;
	flow__tcpmetric__init(&tm);
	tm.absynstart = 1;
	tm.basynstart = 2;
	tm.absynttl = 64;
	tm.basynttl = 63;
	tm.abfinstart = 5;
	tm.bafinstart = 6;
	tm.abrststart = 7;
	tm.barststart = 8;
	tm.basawend = 22;
	flow__ipmetric__init(&im);
	im.fragments = 3;
	im.fragmenterrors = 1;
	for (int i = 0; i < 2; i++) {
		flow__raw_packet__init(&rp[i]);
		rp[i].timestamp = 1700000000000 + i;
		rp[i].index = i + 1;
		rp[i].linktype = 1;
		rp[i].timestampns = 1700000000000000123ll + i;
		rp[i].wirelen = 1514;
	}
	rp[0].data.data = frame;
	rp[0].data.len = sizeof(frame); /* rp[1]: empty Data */
	for (int i = 0; i < 2; i++) {
		flow__flow__init(&f[i]);
		f[i].uuid = i ? "beef" : "abc123";
		f[i].layerspath = "Ethernet/IPv6/TCP";
		f[i].application = "TCP";
		f[i].parentuuid = "1234";
		f[i].start = m.start;
		f[i].last = m.last;
		f[i].nodetid = "node-tid";
		f[i].captureid = "cap-1";
		f[i].rawpacketscaptured = 2;
		f[i].trackingid = "t1";
		f[i].l3trackingid = "t3";
		f[i].finishtype = FLOW__FLOW_FINISH_TYPE__TCP_FIN;
	}
	f[0].link = &link;
	f[0].network = &net;
	f[0].transport = &tr;
	f[0].icmp = &icmp;
	f[0].metric = &m;
	f[0].lastupdatemetric = &lu;
	f[0].tcpmetric = &tm;
	f[0].ipmetric = &im;
	f[0].n_lastrawpackets = 2;
	f[0].lastrawpackets = rpp;
	msg.n_flows = 2;
	msg.flows = fp;
	flow__stats__init(&st);
	st.captureid = "cap-1";
	st.flowcount = 2;
	st.packetsreceived = 100;
	msg.stats = &st;
	*len = flow__message__get_packed_size(&msg);
	uint8_t *buf = malloc(*len + 64);
	assert_non_null(buf);
	assert_int_equal(flow__message__pack(&msg, buf), *len);
	return buf;
}

static void test_every_field_one_pass(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = full_message(&len);
	Flow__Message *m;
	assert_int_equal(flow_pbdec_fast(&arena, len, buf, &m), 1);
	assert_int_equal(m->n_flows, 2);
	const Flow__Flow *f = m->flows[0];
	assert_string_equal(f->uuid, "abc123");
	assert_string_equal(f->layerspath, "Ethernet/IPv6/TCP");
	assert_string_equal(f->application, "TCP");
	assert_string_equal(f->parentuuid, "1234");
	assert_string_equal(f->nodetid, "node-tid");
	assert_string_equal(f->captureid, "cap-1");
	assert_string_equal(f->trackingid, "t1");
	assert_string_equal(f->l3trackingid, "t3");
	assert_int_equal(f->finishtype, FLOW__FLOW_FINISH_TYPE__TCP_FIN);
	assert_int_equal(f->rawpacketscaptured, 2);
	assert_string_equal(f->link->a, "02:00:00:00:00:01");
	assert_int_equal(f->link->id, 7);
	assert_int_equal(f->network->protocol, FLOW__FLOW_PROTOCOL__IPV6);
	assert_string_equal(f->network->b, "fd00::2");
	assert_int_equal(f->transport->a, 40000);
	assert_int_equal(f->transport->id, -5);
	assert_int_equal(f->icmp->type, FLOW__ICMPTYPE__ECHO);
	assert_int_equal(f->icmp->id, 0xfffffff0u);
	assert_int_equal(f->metric->babytes, 900);
	assert_int_equal(f->metric->rtt, 12345);
	assert_int_equal(f->lastupdatemetric->start, 1700000000500);
	assert_int_equal(f->tcpmetric->basynttl, 63);
	assert_int_equal(f->tcpmetric->basawend, 22);
	assert_int_equal(f->ipmetric->fragmenterrors, 1);
	assert_int_equal(f->n_lastrawpackets, 2);
	assert_int_equal(f->lastrawpackets[0]->data.len, 3);
	assert_memory_equal(f->lastrawpackets[0]->data.data, "\x01\x02\x03", 3);
	assert_int_equal(f->lastrawpackets[1]->data.len, 0);
	assert_int_equal(f->lastrawpackets[1]->index, 2);
	assert_int_equal(f->lastrawpackets[1]->timestampns, 1700000000000000124ll);
	assert_int_equal(f->lastrawpackets[1]->wirelen, 1514);
	/* the second flow: only strings and scalars, defaults elsewhere */
	assert_string_equal(m->flows[1]->uuid, "beef");
	assert_null(m->flows[1]->metric);
	assert_int_equal(m->flows[1]->n_lastrawpackets, 0);
	assert_string_equal(m->stats->captureid, "cap-1");
	assert_int_equal(m->stats->packetsreceived, 100);
	assert_int_equal(m->stats->flowdropped, 0);
	/* and an empty frame: an empty message */
	assert_int_equal(flow_pbdec_fast(&arena, 0, buf, &m), 1);
	assert_int_equal(m->n_flows, 0);
	assert_null(m->stats);
	free(buf);
	arena_reset();
}

/* The frame with the bytes x appended to flow 0 (its length prefix fixed up: the flows
 * field is the message's first, a 2-byte length). */
static uint8_t *with_flow_suffix(const uint8_t *buf, size_t len, const uint8_t *x, size_t nx,
				 size_t *out_len)
{
	assert_int_equal(buf[0], 0x0a); /* field 1, length-prefixed */
	size_t flen = (size_t)(buf[1] & 0x7f) | (size_t)buf[2] << 7;
	assert_true(buf[1] & 0x80);
	assert_false(buf[2] & 0x80);
	size_t nl = flen + nx;
	uint8_t *o = malloc(len + nx);
	assert_non_null(o);
	o[0] = 0x0a;
	o[1] = (uint8_t)(0x80 | (nl & 0x7f));
	o[2] = (uint8_t)(nl >> 7);
	memcpy(o + 3, buf + 3, flen);
	memcpy(o + 3 + flen, x, nx);
	memcpy(o + 3 + flen + nx, buf + 3 + flen, len - 3 - flen);
	*out_len = len + nx;
	return o;
}

static void test_left_to_protobuf_c(void **state)
{
	(void)state;
	size_t len, n;
	uint8_t *buf = full_message(&len);
	Flow__Message *m;
	/* an unknown field (number 99, varint): protobuf-c keeps it */
	static const uint8_t unknown[] = {0x98, 0x06, 0x01};
	uint8_t *b = with_flow_suffix(buf, len, unknown, sizeof(unknown), &n);
	assert_int_equal(flow_pbdec_fast(&arena, n, b, &m), 0);
	m = flow_pbdec_unpack(&arena, n, b);
	assert_non_null(m);
	assert_int_equal(m->flows[0]->base.n_unknown_fields, 1);
	assert_string_equal(m->flows[0]->uuid, "abc123");
	free(b);
	/* Metric (32) again with only BAPackets = 4: protobuf-c merges the two its own way
	 * (for proto3 fields the second's zeros win too), so it is its to decode */
	static const uint8_t metric2[] = {0x82, 0x02, 0x02, 0x20, 0x04};
	b = with_flow_suffix(buf, len, metric2, sizeof(metric2), &n);
	assert_int_equal(flow_pbdec_fast(&arena, n, b, &m), 0);
	m = flow_pbdec_unpack(&arena, n, b);
	Flow__Message *ref = flow__message__unpack(&arena, n, b);
	assert_non_null(m);
	assert_non_null(ref);
	assert_int_equal(m->flows[0]->metric->bapackets, 4);
	assert_int_equal(m->flows[0]->metric->abbytes, ref->flows[0]->metric->abbytes);
	assert_int_equal(m->flows[0]->metric->rtt, ref->flows[0]->metric->rtt);
	free(b);
	/* Start (10) as a length-prefixed field: protobuf-c refuses it */
	static const uint8_t badwt[] = {0x52, 0x01, 0x00};
	b = with_flow_suffix(buf, len, badwt, sizeof(badwt), &n);
	assert_int_equal(flow_pbdec_fast(&arena, n, b, &m), 0);
	assert_null(flow_pbdec_unpack(&arena, n, b));
	assert_null(flow__message__unpack(&arena, n, b));
	free(b);
	/* a string given twice: the last wins, in one pass as in protobuf-c */
	static const uint8_t uuid2[] = {0x0a, 0x02, 'f', 'f'};
	b = with_flow_suffix(buf, len, uuid2, sizeof(uuid2), &n);
	assert_int_equal(flow_pbdec_fast(&arena, n, b, &m), 1);
	assert_string_equal(m->flows[0]->uuid, "ff");
	assert_string_equal(flow__message__unpack(&arena, n, b)->flows[0]->uuid, "ff");
	free(b);
	/* a cut frame */
	assert_int_equal(flow_pbdec_fast(&arena, len - 1, buf, &m), 0);
	assert_null(flow_pbdec_unpack(&arena, len - 1, buf));
	free(buf);
	arena_reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_field_one_pass),
	    cmocka_unit_test(test_left_to_protobuf_c),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
