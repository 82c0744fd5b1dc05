/* test_netflow_collector.c - the ovsnetflow collector (agent/netflow_collector.h)
 * over a real loopback UDP socket: NetFlow v5 datagrams built here from the
 * format (24-byte header, 48-byte records) become flows with the record's
 * addresses, ports, counts and times; the two directions of a conversation
 * join one flow; bad datagrams and sequence gaps are counted. The parser
 * (decode/netflow5.h) is checked on the same bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/netflow_collector.h"
#include "decode/decode.h"
#include "decode/netflow5.h"
#include "flow/flow.h"
#include "flow/flow_table.h"

#define UNIX_SECS 1700000000u
#define UPTIME 100000u /* ms, the exporter's uptime when it sent */

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

struct rec {
	uint8_t src[4], dst[4];
	uint32_t pkts, octets, first, last;
	uint16_t sport, dport;
	uint8_t flags, proto;
};

/* A datagram of n records, flow_sequence seq. Returns its length. */
static size_t dgram(uint8_t *b, uint16_t version, uint32_t seq, const struct rec *r, int n)
{
	uint8_t *p = put16(b, version);
	p = put16(p, (uint16_t)n);
	p = put32(p, UPTIME);
	p = put32(p, UNIX_SECS);
	p = put32(p, 500000000u); /* unix_nsecs */
	p = put32(p, seq);
	*p++ = 10; /* engine_type */
	*p++ = 1;  /* engine_id */
	p = put16(p, 0);
	for (int i = 0; i < n; i++) {
		memcpy(p, r[i].src, 4);
		memcpy(p + 4, r[i].dst, 4);
		memset(p + 8, 0, 4);
		p = put16(p + 12, 1);
		p = put16(p, 2);
		p = put32(p, r[i].pkts);
		p = put32(p, r[i].octets);
		p = put32(p, r[i].first);
		p = put32(p, r[i].last);
		p = put16(p, r[i].sport);
		p = put16(p, r[i].dport);
		*p++ = 0;
		*p++ = r[i].flags;
		*p++ = r[i].proto;
		*p++ = 0;
		memset(p, 0, 8);
		p += 8;
	}
	return (size_t)(p - b);
}

struct seen {
	int n;
	struct flow f[8];
	char path[8][64];
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct seen *x = user;
	if (ev != FLOW_EV_EXPIRE || x->n >= 8)
		return;
	x->f[x->n] = *f;
	snprintf(x->path[x->n], sizeof(x->path[0]), "%s", flow_table_path(t, f));
	x->n++;
}

struct fx {
	struct netflow_collector *c;
	struct flow_table *t;
	struct seen x;
	int tx;
	struct sockaddr_in to;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	/* A free port of our own: bind 0, read it, close, give it to the collector. */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
	close(s);
	uint16_t port = ntohs(a.sin_port);
	char err[256] = "";
	struct netflow_collector_opts o = {"127.0.0.1", port, port};
	f->c = netflow_collector_open(&o, err, sizeof(err));
	assert_non_null(f->c);
	char want[32];
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	assert_string_equal(netflow_collector_address(f->c), want);
	struct flow_table_opts to = {0};
	f->t = flow_table_new(&to, on_emit, NULL, &f->x, err, sizeof(err));
	assert_non_null(f->t);
	f->tx = socket(AF_INET, SOCK_DGRAM, 0);
	f->to = a;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	flow_table_free(f->t);
	netflow_collector_close(f->c);
	close(f->tx);
	free(f);
	return 0;
}

static void send_dgram(struct fx *f, const uint8_t *b, size_t len)
{
	assert_int_equal(sendto(f->tx, b, len, 0, (struct sockaddr *)&f->to, sizeof(f->to)),
			 (ssize_t)len);
}

/* Polls until n records came (loopback delivery is immediate, but be patient). */
static int poll_n(struct fx *f, int n)
{
	int got = 0;
	for (int i = 0; i < 200 && got < n; i++) {
		int rc = netflow_collector_poll(f->c, f->t);
		assert_true(rc >= 0);
		got += rc;
		if (got < n)
			usleep(1000);
	}
	return got;
}

static const struct flow *find(const struct seen *x, uint8_t l4, const char *path)
{
	for (int i = 0; i < x->n; i++)
		if (x->f[i].l4 == l4 && !strcmp(x->path[i], path))
			return &x->f[i];
	return NULL;
}

/* An echo reply record before its request, started in the same ms: the
 * request's sender is A; a UDP record alone; times from the header's clock. */
static void test_records_to_flows(void **state)
{
	struct fx *f = *state;
	struct rec r[3] = {
	    {{10, 0, 0, 2}, {10, 0, 0, 1}, 3, 294, 90000, 92000, 0, 0x0000, 0, 1}, /* replies */
	    {{10, 0, 0, 1}, {10, 0, 0, 2}, 3, 294, 90000, 92000, 0, 0x0800, 0, 1}, /* requests */
	    {{10, 0, 0, 1}, {10, 0, 0, 3}, 4, 568, 95000, 96000, 40000, 9999, 0, 17},
	};
	uint8_t b[2048];
	size_t len = dgram(b, 5, 0, r, 3);
	assert_int_equal(len, 24 + 3 * 48);
	struct netflow5_header h;
	assert_int_equal(netflow5_parse_header(b, len, &h, NULL), 0);
	assert_int_equal(h.count, 3);
	struct netflow5_record nr;
	netflow5_record(b, 2, &nr);
	assert_int_equal(nr.packets, 4);
	assert_int_equal(nr.src_port, 40000);
	assert_int_equal(nr.dst_port, 9999);
	assert_int_equal(nr.proto, 17);

	send_dgram(f, b, len);
	assert_int_equal(poll_n(f, 3), 3);
	flow_table_flush(f->t);
	assert_int_equal(f->x.n, 2);
	const struct flow *icmp = find(&f->x, DECODE_L4_NONE, "IPv4/ICMPv4");
	const struct flow *udp = find(&f->x, DECODE_L4_UDP, "IPv4/UDP");
	assert_non_null(icmp);
	assert_non_null(udp);
	assert_memory_equal(icmp->net_a, ((uint8_t[]){10, 0, 0, 1}), 4);
	assert_memory_equal(icmp->net_b, ((uint8_t[]){10, 0, 0, 2}), 4);
	assert_int_equal(icmp->ab_packets, 3);
	assert_int_equal(icmp->ba_packets, 3);
	assert_int_equal(icmp->ab_bytes, 294);
	assert_int_equal(udp->ab_packets, 4);
	assert_int_equal(udp->ba_packets, 0);
	assert_int_equal(udp->ab_bytes, 568);
	assert_int_equal(udp->tp_a, 40000);
	assert_int_equal(udp->tp_b, 9999);
	/* exported at UNIX_SECS.5 with uptime 100 s: first 95 s = 5 s before */
	uint64_t export_ns = (uint64_t)UNIX_SECS * 1000000000ull + 500000000ull;
	assert_int_equal(udp->start_ns, export_ns - 5000000000ull);
	assert_int_equal(udp->last_ns, export_ns - 4000000000ull);
	struct netflow_collector_stats st;
	netflow_collector_stats(f->c, &st);
	assert_int_equal(st.datagrams, 1);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.packets, 10);
	assert_int_equal(st.datagram_errors, 0);
}

/* Not v5, a cut datagram, a count past 30: dropped whole and counted. */
static void test_bad_datagrams(void **state)
{
	struct fx *f = *state;
	struct rec r = {{1, 1, 1, 1}, {2, 2, 2, 2}, 1, 60, 1, 2, 1, 2, 0, 6};
	uint8_t b[2048];
	size_t len = dgram(b, 9, 0, &r, 1);
	send_dgram(f, b, len);
	len = dgram(b, 5, 0, &r, 1);
	send_dgram(f, b, len - 1);
	put16(b + 2, 31);
	send_dgram(f, b, len);
	for (int i = 0; i < 200; i++) {
		struct netflow_collector_stats st;
		assert_int_equal(netflow_collector_poll(f->c, f->t), 0);
		netflow_collector_stats(f->c, &st);
		if (st.datagrams == 3)
			break;
		usleep(1000);
	}
	struct netflow_collector_stats st;
	netflow_collector_stats(f->c, &st);
	assert_int_equal(st.datagrams, 3);
	assert_int_equal(st.datagram_errors, 3);
	assert_int_equal(st.records, 0);
	const char *why = NULL;
	assert_int_equal(netflow5_parse_header(b, len - 1, &(struct netflow5_header){0}, &why),
			 -EINVAL);
	assert_non_null(why);
}

static const struct rec r3[3] = {{{1, 1, 1, 1}, {2, 2, 2, 2}, 1, 60, 1, 2, 1, 2, 0, 6},
				 {{2, 2, 2, 2}, {1, 1, 1, 1}, 1, 60, 1, 2, 2, 1, 0, 6},
				 {{2, 2, 2, 2}, {1, 1, 1, 1}, 1, 60, 1, 2, 2, 1, 0, 6}};

/* flow_sequence as Open vSwitch writes it (ofproto/netflow.c: the last
 * record's index): datagrams of 1 and 3 records, then 2 records lost. */
static void test_sequence_ovs(void **state)
{
	struct fx *f = *state;
	uint8_t b[2048];
	send_dgram(f, b, dgram(b, 5, 0, r3, 1)); /* record 0 */
	send_dgram(f, b, dgram(b, 5, 3, r3, 3)); /* 1..3 */
	send_dgram(f, b, dgram(b, 5, 7, r3, 2)); /* 6, 7: 4, 5 lost */
	assert_int_equal(poll_n(f, 6), 6);
	struct netflow_collector_stats st;
	netflow_collector_stats(f->c, &st);
	assert_int_equal(st.records_lost, 2);
}

/* flow_sequence as Cisco's v5 (records sent before the datagram). */
static void test_sequence_first(void **state)
{
	struct fx *f = *state;
	uint8_t b[2048];
	send_dgram(f, b, dgram(b, 5, 0, r3, 1)); /* record 0 */
	send_dgram(f, b, dgram(b, 5, 1, r3, 3)); /* 1..3 */
	send_dgram(f, b, dgram(b, 5, 6, r3, 2)); /* 6, 7: 4, 5 lost */
	assert_int_equal(poll_n(f, 6), 6);
	struct netflow_collector_stats st;
	netflow_collector_stats(f->c, &st);
	assert_int_equal(st.records_lost, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_records_to_flows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_datagrams, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_ovs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sequence_first, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
