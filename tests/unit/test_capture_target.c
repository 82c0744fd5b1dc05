/* test_capture_target.c - the netflowv5 capture target (agent/capture_target.h)
 * read back from a UDP socket of the test: frames built byte by byte go
 * through a flow table whose emit callback feeds the target; the datagrams
 * must carry the v5 header and records the frames imply (Cisco's v5 layout:
 * 24-byte header, 48-byte records, at most 30 per datagram; flow_sequence =
 * records sent before). IPv6 flows are counted, not sent. Unknown types and
 * bad targets are refused with a message. (erspanv1 needs a raw socket:
 * tests/integration/capture_targets.sh checks it with tshark.) */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/capture_target.h"
#include "common/util.h"
#include "decode/decode.h"
#include "flow/flow_table.h"
#include "unit/frames.h"

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 1, 0, 1}, ip2[4] = {10, 1, 0, 2};

struct rig {
	int rx;
	char target[64];
	struct capture_target *ct;
	struct capture_target_lane *l;
	struct flow_table *t;
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
                    enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms)
{
	capture_target_flow(user, t, f, lu_start_ms);
}

static void rig_open(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->rx = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r->rx >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	assert_int_equal(bind(r->rx, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(r->rx, (struct sockaddr *)&a, &al), 0);
	snprintf(r->target, sizeof(r->target), "127.0.0.1:%u", ntohs(a.sin_port));
	char err[256] = "";
	struct capture_target_opts o = {"netflowv5", r->target, 0};
	r->ct = capture_target_open(&o, err, sizeof(err));
	assert_non_null(r->ct);
	r->l = capture_target_lane_new(r->ct);
	assert_non_null(r->l);
	struct flow_table_opts to = {0};
	r->t = flow_table_new(&to, on_emit, NULL, r->l, err, sizeof(err));
	assert_non_null(r->t);
}

static void rig_close(struct rig *r)
{
	flow_table_free(r->t);
	capture_target_lane_free(r->l);
	capture_target_close(r->ct);
	if (r->rx >= 0)
		close(r->rx);
}

static ssize_t rx(struct rig *r, uint8_t *buf, size_t len)
{
	return recv(r->rx, buf, len, MSG_DONTWAIT);
}

static void test_records(void **state)
{
	struct rig r;
	rig_open(&r);
	uint64_t t0 = time_now_ns() + 5000000000ull; /* after the target's "boot" */
	struct frame f;
	/* 3 datagrams of 100 bytes 10.1.0.1:5000 -> 10.1.0.2:6000, 1 of 20 back */
	for (int i = 0; i < 3; i++) {
		fr_udp4(&f, mac1, mac2, ip1, ip2, 5000, 6000, 100);
		flow_table_feed(r.t, DECODE_LINKTYPE_ETHERNET, f.b, f.len, f.len,
		                t0 + (uint64_t)i * 100000000ull);
	}
	fr_udp4(&f, mac2, mac1, ip2, ip1, 6000, 5000, 20);
	flow_table_feed(r.t, DECODE_LINKTYPE_ETHERNET, f.b, f.len, f.len, t0 + 400000000ull);
	flow_table_flush(r.t);
	capture_target_lane_flush(r.l);

	uint8_t d[2048];
	ssize_t n = rx(&r, d, sizeof(d));
	assert_int_equal(n, 24 + 2 * 48);
	assert_int_equal(rd16(d), 5);
	assert_int_equal(rd16(d + 2), 2);
	assert_int_equal(rd32(d + 16), 0); /* flow_sequence: none before */
	assert_int_equal(d[20], 0);        /* engine type */
	assert_int_equal(d[21], 1);        /* engine id (Skydive's) */
	uint32_t secs = rd32(d + 8);
	assert_true(secs + 2 >= time_now_ns() / 1000000000ull);
	const uint8_t *a = d + 24, *b = d + 72;
	assert_memory_equal(a, ip1, 4);
	assert_memory_equal(a + 4, ip2, 4);
	assert_int_equal(rd32(a + 16), 3);                  /* packets */
	assert_int_equal(rd32(a + 20), 3 * (20 + 8 + 100)); /* layer 3 bytes */
	/* Last - First, ms: the flow's last packet (the reply, at 400 ms): a flow
	 * keeps no per-direction times (docs/FLOWS.md) */
	assert_int_equal(rd32(a + 28) - rd32(a + 24), 400);
	assert_int_equal(rd16(a + 32), 5000);
	assert_int_equal(rd16(a + 34), 6000);
	assert_int_equal(a[38], 17);
	assert_memory_equal(b, ip2, 4);
	assert_memory_equal(b + 4, ip1, 4);
	assert_int_equal(rd32(b + 16), 1);
	assert_int_equal(rd32(b + 20), 20 + 8 + 20);
	assert_int_equal(rd16(b + 32), 6000);
	assert_int_equal(rd16(b + 34), 5000);

	/* 20 flows with both directions: 40 records, a datagram of 30 and one
	 * of 10, numbered on from the 2 above */
	for (int i = 0; i < 20; i++) {
		fr_udp4(&f, mac1, mac2, ip1, ip2, (uint16_t)(7000 + i), 53, 10);
		flow_table_feed(r.t, DECODE_LINKTYPE_ETHERNET, f.b, f.len, f.len,
		                t0 + 1000000000ull);
		fr_udp4(&f, mac2, mac1, ip2, ip1, 53, (uint16_t)(7000 + i), 10);
		flow_table_feed(r.t, DECODE_LINKTYPE_ETHERNET, f.b, f.len, f.len,
		                t0 + 1000000000ull);
	}
	flow_table_flush(r.t);
	capture_target_lane_flush(r.l);
	n = rx(&r, d, sizeof(d));
	assert_int_equal(n, 24 + 30 * 48);
	assert_int_equal(rd16(d + 2), 30);
	assert_int_equal(rd32(d + 16), 2);
	n = rx(&r, d, sizeof(d));
	assert_int_equal(n, 24 + 10 * 48);
	assert_int_equal(rd32(d + 16), 32);
	assert_true(rx(&r, d, sizeof(d)) < 0);

	json_t *e = json_object();
	capture_target_entry(r.ct, e);
	assert_int_equal(json_integer_value(json_object_get(e, "TargetSent")), 42);
	assert_int_equal(json_integer_value(json_object_get(e, "TargetDatagrams")), 3);
	assert_int_equal(json_integer_value(json_object_get(e, "TargetSendErrors")), 0);
	assert_string_equal(json_string_value(json_object_get(e, "TargetType")), "netflowv5");
	json_decref(e);
	rig_close(&r);
}

/* An IPv6 flow has no v5 record: counted in TargetSkippedIPv6, nothing sent. */
static void test_ipv6_skipped(void **state)
{
	struct rig r;
	rig_open(&r);
	struct frame f = {.len = 0};
	static const uint8_t s6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t d6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	fr_eth(&f, mac1, mac2, 0x86dd);
	fr_u32(&f, 0x60000000);
	fr_u16(&f, 8 + 4); /* payload length */
	fr_u8(&f, 17);
	fr_u8(&f, 64);
	fr_put(&f, s6, 16);
	fr_put(&f, d6, 16);
	fr_udp(&f, 1000, 2000, 4);
	fr_zero(&f, 4);
	flow_table_feed(r.t, DECODE_LINKTYPE_ETHERNET, f.b, f.len, f.len, time_now_ns());
	flow_table_flush(r.t);
	capture_target_lane_flush(r.l);
	uint8_t d[256];
	assert_true(rx(&r, d, sizeof(d)) < 0);
	json_t *e = json_object();
	capture_target_entry(r.ct, e);
	assert_int_equal(json_integer_value(json_object_get(e, "TargetSkippedIPv6")), 1);
	assert_int_equal(json_integer_value(json_object_get(e, "TargetSent")), 0);
	json_decref(e);
	rig_close(&r);
}

/* A collector port nobody listens on: the ICMP port unreachable comes back
 * on the connected socket, a later send fails; counted as an error, the
 * records of the failed datagram as dropped, the reason shown. */
static void test_send_error_counted(void **state)
{
	struct rig r;
	rig_open(&r);
	close(r.rx); /* nobody at the target's port now */
	r.rx = -1;
	struct frame f;
	json_t *e = NULL;
	for (int i = 0; i < 20; i++) {
		fr_udp4(&f, mac1, mac2, ip1, ip2, (uint16_t)(9000 + i), 53, 10);
		flow_table_feed(r.t, DECODE_LINKTYPE_ETHERNET, f.b, f.len, f.len, time_now_ns());
		flow_table_flush(r.t);
		capture_target_lane_flush(r.l);
		json_decref(e);
		e = json_object();
		capture_target_entry(r.ct, e);
		if (json_integer_value(json_object_get(e, "TargetSendErrors")))
			break;
	}
	assert_true(json_integer_value(json_object_get(e, "TargetSendErrors")) >= 1);
	assert_true(json_integer_value(json_object_get(e, "TargetDropped")) >= 1);
	assert_string_equal(json_string_value(json_object_get(e, "TargetLastError")),
	                    strerror(ECONNREFUSED));
	json_decref(e);
	rig_close(&r);
}

static void test_refusals(void **state)
{
	char err[256] = "";
	struct capture_target_opts o = {"ipfix", "127.0.0.1:2055", 0};
	assert_null(capture_target_open(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "netflowv5 or erspanv1"));
	enum capture_target_type ty;
	assert_int_equal(capture_target_type_parse("local", &ty), -EINVAL);
	assert_int_equal(capture_target_type_parse("erspanv1", &ty), 0);
	assert_int_equal(ty, CAPTURE_TARGET_ERSPAN1);
	struct capture_target_opts o2 = {"netflowv5", "nohost", 0};
	err[0] = 0;
	assert_null(capture_target_open(&o2, err, sizeof(err)));
	assert_non_null(strstr(err, "HOST:PORT"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records),
	    cmocka_unit_test(test_ipv6_skipped),
	    cmocka_unit_test(test_send_error_counted),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
