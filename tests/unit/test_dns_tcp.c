/* test_dns_tcp.c - DNS over TCP framed from reassembled streams
 * (src/flow/dns_tcp.c) directly, and through a flow table with ReassembleTCP
 * and ExtraLayers DNS: the 2-byte length of RFC 1035 4.2.2 split from its
 * message, a message split in its body, several in one segment, holes, a
 * message over the bound, no room, an unfinished one at the end, segments
 * out of order and retransmitted. Expected values are the messages built
 * here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "decode/decode.h"
#include "decode/xlayer.h"
#include "flow/dns_tcp.h"
#include "flow/flow_table.h"
#include "flow/tcp_reasm.h"
#include "flow/xlayer.h"

#define S(x) ((uint64_t)(x)*1000000000ull)

/* ---- messages ------------------------------------------------------------ */

struct buf_ {
	uint8_t b[70000];
	uint32_t n;
};

static void put(struct buf_ *m, const void *p, uint32_t n)
{
	if (n)
		memcpy(m->b + m->n, p, n);
	m->n += n;
}
static void be16(struct buf_ *m, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(m, b, 2);
}
static void be32(struct buf_ *m, uint32_t v)
{
	be16(m, (uint16_t)(v >> 16));
	be16(m, (uint16_t)v);
}

/* A DNS answer (id, one question "a.example" A IN, one A record ip4 at
 * TTL 60 behind a pointer to the question name), after its 2-byte length
 * when framed. */
static void answer(struct buf_ *m, int framed, uint16_t id, uint8_t ip4)
{
	uint32_t at = m->n;
	if (framed)
		be16(m, 0);
	uint32_t start = m->n;
	be16(m, id);
	be16(m, 0x8180); /* QR, RD, RA */
	be16(m, 1);
	be16(m, 1);
	be16(m, 0);
	be16(m, 0);
	put(m,
	    "\x01"
	    "a"
	    "\x07"
	    "example"
	    "\x00",
	    11);
	be16(m, 1);
	be16(m, 1);
	be16(m, 0xc00c);
	be16(m, 1);
	be16(m, 1);
	be32(m, 60);
	be16(m, 4);
	uint8_t ip[4] = {192, 0, 2, ip4};
	put(m, ip, 4);
	if (framed) {
		uint32_t l = m->n - start;
		m->b[at] = (uint8_t)(l >> 8);
		m->b[at + 1] = (uint8_t)l;
	}
}

/* ---- the framer alone ---------------------------------------------------- */

struct rec {
	int n;
	uint32_t len[16];
	uint16_t id[16];
	int dir[16];
	uint32_t slot[16];
	uint64_t ts[16];
};

static void on_msg(void *user, uint32_t slot, int dir, const uint8_t *msg, uint32_t len,
                   uint64_t ts_ns)
{
	struct rec *r = user;
	assert_true(r->n < 16);
	r->len[r->n] = len;
	r->id[r->n] = len >= 2 ? (uint16_t)(msg[0] << 8 | msg[1]) : 0;
	r->dir[r->n] = dir;
	r->slot[r->n] = slot;
	r->ts[r->n] = ts_ns;
	r->n++;
}

static struct dns_tcp *framer(struct rec *r, size_t max_bytes, uint32_t msg_max)
{
	char err[128];
	struct dns_tcp_opts o = {.slots = 8, .max_bytes = max_bytes, .msg_max = msg_max};
	struct dns_tcp *d = dns_tcp_new(&o, on_msg, r, err, sizeof(err));
	assert_non_null(d);
	memset(r, 0, sizeof(*r));
	return d;
}

static void test_split_prefix_and_body(void **state)
{
	(void)state;
	struct rec r;
	struct dns_tcp *d = framer(&r, 0, 0);
	struct buf_ m = {.n = 0};
	answer(&m, 1, 0x1111, 7);
	/* the first length byte alone, then the second with 10 bytes of the
	 * body, then the rest: one message, at the last delivery's time */
	dns_tcp_data(d, 3, 1, m.b, 1, 0, TCP_REASM_START, S(1));
	dns_tcp_data(d, 3, 1, m.b + 1, 11, 0, 0, S(2));
	assert_int_equal(r.n, 0);
	assert_true(dns_tcp_stats(d)->bytes_held > 0);
	dns_tcp_data(d, 3, 1, m.b + 12, m.n - 12, 0, 0, S(3));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.len[0], m.n - 2);
	assert_int_equal(r.id[0], 0x1111);
	assert_int_equal(r.dir[0], 1);
	assert_int_equal(r.slot[0], 3);
	assert_int_equal(r.ts[0], S(3));
	assert_int_equal(dns_tcp_stats(d)->bytes_held, 0);
	assert_int_equal(dns_tcp_stats(d)->messages, 1);
	dns_tcp_free(d);
}

static void test_two_in_one_segment(void **state)
{
	(void)state;
	struct rec r;
	struct dns_tcp *d = framer(&r, 0, 0);
	struct buf_ m = {.n = 0};
	answer(&m, 1, 0x0001, 1);
	answer(&m, 1, 0x0002, 2);
	uint32_t two = m.n;
	answer(&m, 1, 0x0003, 3);
	/* two whole and the start of a third, then the third's end */
	dns_tcp_data(d, 1, 0, m.b, two + 5, 0, 0, S(1));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], 1);
	assert_int_equal(r.id[1], 2);
	dns_tcp_data(d, 1, 0, m.b + two + 5, m.n - two - 5, 0, TCP_REASM_END, S(2));
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[2], 3);
	assert_int_equal(r.ts[0], S(1));
	assert_int_equal(r.ts[2], S(2));
	assert_int_equal(dns_tcp_stats(d)->unfinished, 0);
	dns_tcp_free(d);
}

static void test_hole(void **state)
{
	(void)state;
	struct rec r;
	struct dns_tcp *d = framer(&r, 0, 0);
	struct buf_ m = {.n = 0};
	answer(&m, 1, 0x0001, 1);
	uint32_t one = m.n;
	answer(&m, 1, 0x0002, 2);
	uint32_t two = m.n;
	answer(&m, 1, 0x0003, 3);
	/* a hole inside the first message's body: it is lost, the length said
	 * where the second starts */
	dns_tcp_data(d, 2, 0, m.b, 10, 0, 0, S(1));
	dns_tcp_data(d, 2, 0, m.b + 20, one - 20, 10, 0, S(2));
	dns_tcp_data(d, 2, 0, m.b + one, two - one, 0, 0, S(3));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], 2);
	assert_int_equal(dns_tcp_stats(d)->hole, 1);
	assert_int_equal(dns_tcp_stats(d)->lost_sync, 0);
	assert_int_equal(dns_tcp_stats(d)->bytes_held, 0);
	/* a hole over the third message's length: the framing is lost, nothing
	 * more is read from this stream */
	dns_tcp_data(d, 2, 0, m.b + two + 2, m.n - two - 2, 2, 0, S(4));
	dns_tcp_data(d, 2, 0, m.b, one, 0, 0, S(5));
	assert_int_equal(r.n, 1);
	assert_int_equal(dns_tcp_stats(d)->lost_sync, 1);
	/* the other direction is another stream */
	dns_tcp_data(d, 2, 1, m.b, one, 0, 0, S(5));
	assert_int_equal(r.n, 2);
	/* the end releases it: a new stream of the slot is read again */
	dns_tcp_data(d, 2, 0, NULL, 0, 0, TCP_REASM_END, S(6));
	dns_tcp_data(d, 2, 0, m.b + one, two - one, 0, TCP_REASM_START, S(7));
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[2], 2);
	assert_int_equal(dns_tcp_stats(d)->unfinished, 0);
	dns_tcp_free(d);
}

static void test_too_big(void **state)
{
	(void)state;
	struct rec r;
	struct dns_tcp *d = framer(&r, 0, 40); /* messages of at most 40 bytes */
	struct buf_ m = {.n = 0};
	answer(&m, 1, 0x0001, 1); /* 43 bytes: over */
	uint32_t one = m.n;
	assert_int_equal(one - 2, 43);
	/* a small one (a header alone, which the decoder refuses, but it is
	 * framed) */
	be16(&m, 12);
	be16(&m, 0x0002);
	for (int i = 0; i < 5; i++)
		be16(&m, 0);
	dns_tcp_data(d, 1, 0, m.b, 20, 0, 0, S(1));
	dns_tcp_data(d, 1, 0, m.b + 20, m.n - 20, 0, 0, S(2));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], 2);
	assert_int_equal(r.len[0], 12);
	assert_int_equal(dns_tcp_stats(d)->too_big, 1);
	assert_int_equal(dns_tcp_stats(d)->bytes_held, 0);
	dns_tcp_free(d);
}

static void test_no_room(void **state)
{
	(void)state;
	struct rec r;
	struct dns_tcp *d = framer(&r, 512, 0); /* one chunk in all */
	struct buf_ m = {.n = 0};
	answer(&m, 1, 0x0001, 1);
	/* two streams each with a message begun: the first takes the room,
	 * the second finds none and is skipped */
	dns_tcp_data(d, 1, 0, m.b, 10, 0, 0, S(1));
	dns_tcp_data(d, 2, 0, m.b, 10, 0, 0, S(1));
	assert_int_equal(dns_tcp_stats(d)->no_room, 1);
	dns_tcp_data(d, 2, 0, m.b + 10, m.n - 10, 0, 0, S(2));
	dns_tcp_data(d, 1, 0, m.b + 10, m.n - 10, 0, 0, S(2));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.slot[0], 1);
	/* a message whole in one delivery needs no room */
	dns_tcp_data(d, 3, 0, m.b, 10, 0, 0, S(3));
	dns_tcp_data(d, 4, 0, m.b, m.n, 0, 0, S(3));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.slot[1], 4);
	assert_int_equal(dns_tcp_stats(d)->no_room, 1);
	dns_tcp_free(d);
}

static void test_unfinished_at_end(void **state)
{
	(void)state;
	struct rec r;
	struct dns_tcp *d = framer(&r, 0, 0);
	struct buf_ m = {.n = 0};
	answer(&m, 1, 0x0001, 1);
	dns_tcp_data(d, 5, 1, m.b, m.n - 1, 0, 0, S(1));
	dns_tcp_data(d, 5, 1, NULL, 0, 0, TCP_REASM_END, S(2));
	/* a length byte alone is unfinished too */
	dns_tcp_data(d, 6, 0, m.b, 1, 0, TCP_REASM_END, S(2));
	assert_int_equal(r.n, 0);
	assert_int_equal(dns_tcp_stats(d)->unfinished, 2);
	assert_int_equal(dns_tcp_stats(d)->bytes_held, 0);
	/* a stream ended at a boundary leaves nothing unfinished */
	dns_tcp_data(d, 7, 0, m.b, m.n, 0, TCP_REASM_END, S(3));
	assert_int_equal(r.n, 1);
	assert_int_equal(dns_tcp_stats(d)->unfinished, 2);
	dns_tcp_free(d);
}

/* ---- through a flow table ------------------------------------------------- */

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 53};

/* Ethernet + IPv4 + TCP from 10.0.0.1:40000 (ba: from 10.0.0.53:53). */
static void seg(struct buf_ *f, int ba, uint32_t seq, uint8_t flags, const uint8_t *data,
                uint32_t n)
{
	f->n = 0;
	put(f, ba ? mac1 : mac2, 6);
	put(f, ba ? mac2 : mac1, 6);
	be16(f, 0x0800);
	be16(f, 0x4500);
	be16(f, (uint16_t)(40 + n));
	be32(f, 0x00010000);
	be16(f, 0x4006);
	be16(f, 0);
	put(f, ba ? ip2 : ip1, 4);
	put(f, ba ? ip1 : ip2, 4);
	be16(f, ba ? 53 : 40000);
	be16(f, ba ? 40000 : 53);
	be32(f, seq);
	be32(f, 0);
	be16(f, (uint16_t)(0x5000 | flags));
	be16(f, 65535);
	be32(f, 0);
	put(f, data, n);
}

struct got {
	int n;
	json_t *dns[4];
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
                    enum flow_event ev, int64_t s, int64_t l)
{
	struct got *g = user;
	if (ev != FLOW_EV_EXPIRE || g->n >= 4)
		return;
	uint32_t len;
	const uint8_t *b = flow_table_layers(t, f, &len);
	json_t *o = json_object();
	if (b)
		assert_int_equal(xlayer_json_obj(o, b, len), 0);
	g->dns[g->n++] = json_incref(json_object_get(o, "DNS"));
	json_decref(o);
}

static struct flow_table *table(struct got *g, int reasm)
{
	char err[128];
	struct flow_table_opts o = {
	    .max_flows = 16, .reassemble_tcp = reasm, .extra_layers = XL_DNS};
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, g, err, sizeof(err));
	assert_non_null(t);
	memset(g, 0, sizeof(*g));
	return t;
}

static void feed(struct flow_table *t, const struct buf_ *f, uint64_t ts)
{
	flow_table_feed(t, 1, f->b, f->n, f->n, ts);
}

static const char *answer_ip(json_t *dns)
{
	return json_string_value(
	    json_object_get(json_array_get(json_object_get(dns, "answers"), 0), "IP"));
}

/* A query, then an answer split in two segments that come out of order,
 * the first sent twice; then a second answer (new id) with the first
 * bytes of a third: the latest whole message is the flow's layer. */
static void test_table_split_out_of_order(void **state)
{
	(void)state;
	struct got g;
	struct flow_table *t = table(&g, 1);
	static struct buf_ q, a, f;
	q.n = a.n = 0;
	answer(&q, 1, 0x4242, 1);
	q.b[4] = 0x01; /* flags 0x0100: a query (RD) */
	q.b[5] = 0x00;
	answer(&a, 1, 0x4242, 99);
	uint32_t one = a.n;
	answer(&a, 1, 0x4343, 100);
	uint32_t two = a.n;
	answer(&a, 1, 0x4444, 101);
	seg(&f, 0, 1000, DECODE_TCP_SYN, NULL, 0);
	feed(t, &f, S(1));
	seg(&f, 1, 5000, DECODE_TCP_SYN | DECODE_TCP_ACK, NULL, 0);
	feed(t, &f, S(1));
	seg(&f, 0, 1001, DECODE_TCP_ACK | DECODE_TCP_PSH, q.b, q.n);
	feed(t, &f, S(2));
	/* the answer's second part first, then its first part twice */
	seg(&f, 1, 5001 + 20, DECODE_TCP_ACK | DECODE_TCP_PSH, a.b + 20, one - 20);
	feed(t, &f, S(3));
	seg(&f, 1, 5001, DECODE_TCP_ACK, a.b, 20);
	feed(t, &f, S(4));
	seg(&f, 1, 5001, DECODE_TCP_ACK, a.b, 20);
	feed(t, &f, S(5));
	const struct flow_stats *st = flow_table_stats(t);
	assert_int_equal(st->dns_tcp_messages, 2);
	/* the second answer and 7 bytes of the third, which never ends */
	seg(&f, 1, 5001 + one, DECODE_TCP_ACK | DECODE_TCP_PSH, a.b + one, two - one + 7);
	feed(t, &f, S(6));
	flow_table_flush(t);
	assert_int_equal(g.n, 1);
	assert_non_null(g.dns[0]);
	assert_int_equal(json_integer_value(json_object_get(g.dns[0], "ID")), 0x4343);
	assert_string_equal(answer_ip(g.dns[0]), "192.0.2.100");
	/* the time of the segment that completed it */
	json_t *ts = json_object_get(g.dns[0], "timestamp");
	assert_int_equal(json_integer_value(json_object_get(ts, "seconds")), 6);
	st = flow_table_stats(t);
	assert_int_equal(st->dns_tcp_messages, 3);
	assert_int_equal(st->dns_tcp_unfinished, 1);
	assert_int_equal(st->layers_tcp_partial, 0);
	for (int i = 0; i < g.n; i++)
		json_decref(g.dns[i]);
	flow_table_free(t);
}

/* The answer's first part alone, then the flow ends: the split message
 * needs its segments. After the capture's end the same slot starts bare. */
static void test_table_answer_in_order(void **state)
{
	(void)state;
	struct got g;
	struct flow_table *t = table(&g, 1);
	static struct buf_ a, f;
	a.n = 0;
	answer(&a, 1, 0x7777, 7);
	seg(&f, 1, 9000, DECODE_TCP_ACK, a.b, 1);
	feed(t, &f, S(1));
	seg(&f, 1, 9001, DECODE_TCP_ACK | DECODE_TCP_PSH, a.b + 1, a.n - 1);
	feed(t, &f, S(2));
	flow_table_flush(t);
	assert_int_equal(g.n, 1);
	assert_int_equal(json_integer_value(json_object_get(g.dns[0], "ID")), 0x7777);
	assert_string_equal(answer_ip(g.dns[0]), "192.0.2.7");
	json_decref(g.dns[0]);
	/* a new flow in the slot: no layer left from the last one */
	g.n = 0;
	seg(&f, 1, 9000, DECODE_TCP_ACK, a.b, 10);
	feed(t, &f, S(3));
	flow_table_flush(t);
	assert_int_equal(g.n, 1);
	assert_null(g.dns[0]);
	flow_table_free(t);
}

/* Without ReassembleTCP: today's rule, a message whole in its segment only;
 * the split one is counted and the flow keeps the query. */
static void test_table_without_reasm(void **state)
{
	(void)state;
	struct got g;
	struct flow_table *t = table(&g, 0);
	static struct buf_ q, a, f;
	q.n = a.n = 0;
	answer(&q, 1, 0x1234, 1);
	q.b[4] = 0x01;
	q.b[5] = 0x00;
	answer(&a, 1, 0x1234, 2);
	seg(&f, 0, 1, DECODE_TCP_ACK | DECODE_TCP_PSH, q.b, q.n);
	feed(t, &f, S(1));
	seg(&f, 1, 1, DECODE_TCP_ACK, a.b, 20);
	feed(t, &f, S(2));
	seg(&f, 1, 21, DECODE_TCP_ACK | DECODE_TCP_PSH, a.b + 20, a.n - 20);
	feed(t, &f, S(3));
	flow_table_flush(t);
	assert_int_equal(g.n, 1);
	assert_false(json_is_true(json_object_get(g.dns[0], "QR")));
	const struct flow_stats *st = flow_table_stats(t);
	/* both parts: the second's first bytes are taken as a length too */
	assert_int_equal(st->layers_tcp_partial, 2);
	assert_int_equal(st->dns_tcp_messages, 0);
	json_decref(g.dns[0]);
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_prefix_and_body),
	    cmocka_unit_test(test_two_in_one_segment),
	    cmocka_unit_test(test_hole),
	    cmocka_unit_test(test_too_big),
	    cmocka_unit_test(test_no_room),
	    cmocka_unit_test(test_unfinished_at_end),
	    cmocka_unit_test(test_table_split_out_of_order),
	    cmocka_unit_test(test_table_answer_in_order),
	    cmocka_unit_test(test_table_without_reasm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
