/* test_inject.c - the injection frames (src/inject/forge.c) and requests
 * (src/inject/inject_req.c): the Internet checksum against RFC 1071's property and a
 * header whose checksum is published (the IPv4 header example of RFC 791's era used in
 * Wikipedia's "IPv4 header checksum": 0xb861), each Type's frame decoded by our decoder
 * with the fields asked, the request's JSON both ways, and what a request may not be. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/base64.h"
#include "inject/forge.h"
#include "inject/inject_req.h"

/* An independent one's-complement sum (RFC 1071 4.1's loop), for the checks. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
	while (n > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void test_csum_published(void **st)
{
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
	                 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
	assert_int_equal(forge_csum(h, sizeof(h), 0), 0xb861);
	h[10] = 0xb8;
	h[11] = 0x61;
	assert_int_equal(forge_csum(h, sizeof(h), 0), 0); /* a valid header sums to 0 */
	/* odd length: the last byte padded with zero (RFC 1071) */
	uint8_t o[3] = {0x12, 0x34, 0x56};
	assert_int_equal(forge_csum(o, 3, 0), ref_csum(o, 3, 0));
}

static struct forge_spec spec(enum forge_type t)
{
	struct forge_spec s = {.type = t, .src_port = 40000, .dst_port = 53, .icmp_id = 4242,
	                       .icmp_seq = 3, .ttl = 17, .tcp_seq = 0x01020304,
	                       .payload = (const uint8_t *)"hello", .payload_len = 5};
	memcpy(s.src_mac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(s.dst_mac, "\x02\x00\x00\x00\x00\x02", 6);
	if (forge_type_v6(t)) {
		inet_pton(AF_INET6, "fd79::1", s.src_ip);
		inet_pton(AF_INET6, "fd79::2", s.dst_ip);
	} else {
		inet_pton(AF_INET, "10.79.1.1", s.src_ip);
		inet_pton(AF_INET, "10.79.1.2", s.dst_ip);
	}
	return s;
}

/* The L4 checksum over the pseudo-header, recomputed here: 0 for a valid segment. */
static uint16_t l4_check(const uint8_t *f, int v6, size_t l4off, size_t l4len, uint8_t proto)
{
	uint32_t sum = 0;
	const uint8_t *ip = f + 14;
	if (v6) {
		for (int i = 8; i < 40; i += 2)
			sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	} else {
		for (int i = 12; i < 20; i += 2)
			sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	}
	sum += proto + (uint32_t)l4len;
	return ref_csum(f + l4off, l4len, sum);
}

static void test_frames(void **st)
{
	uint8_t f[200];
	for (int t = FORGE_ICMP4; t <= FORGE_UDP6; t++) {
		struct forge_spec s = spec((enum forge_type)t);
		int v6 = forge_type_v6(s.type);
		int len = forge_frame(&s, f, sizeof(f));
		size_t l4off = 14 + (v6 ? 40 : 20);
		size_t l4h = forge_type_icmp(s.type) ? 8 : (t == FORGE_TCP4 || t == FORGE_TCP6) ? 20 : 8;
		assert_int_equal(len, (int)(l4off + l4h + 5));
		assert_int_equal((size_t)len, forge_header_len(s.type) + 5);
		assert_memory_equal(f, s.dst_mac, 6);
		assert_memory_equal(f + 6, s.src_mac, 6);
		assert_int_equal(f[12] << 8 | f[13], v6 ? 0x86dd : 0x0800);
		uint8_t proto = forge_type_icmp(s.type) ? (v6 ? 58 : 1)
		                : (t == FORGE_TCP4 || t == FORGE_TCP6) ? 6 : 17;
		if (v6) {
			assert_int_equal(f[14] >> 4, 6);
			assert_int_equal(f[18] << 8 | f[19], l4h + 5); /* payload length */
			assert_int_equal(f[20], proto);
			assert_int_equal(f[21], 17); /* hop limit from TTL */
		} else {
			assert_int_equal(f[14], 0x45);
			assert_int_equal(f[16] << 8 | f[17], 20 + l4h + 5);
			assert_int_equal(f[22], 17);
			assert_int_equal(f[23], proto);
			assert_int_equal(ref_csum(f + 14, 20, 0), 0);
		}
		const uint8_t *l4 = f + l4off;
		if (forge_type_icmp(s.type)) {
			assert_int_equal(l4[0], v6 ? 128 : 8);
			assert_int_equal(l4[4] << 8 | l4[5], 4242);
			assert_int_equal(l4[6] << 8 | l4[7], 3);
			if (v6)
				assert_int_equal(l4_check(f, 1, l4off, l4h + 5, 58), 0);
			else
				assert_int_equal(ref_csum(l4, l4h + 5, 0), 0);
		} else {
			assert_int_equal(l4[0] << 8 | l4[1], 40000);
			assert_int_equal(l4[2] << 8 | l4[3], 53);
			assert_int_equal(l4_check(f, v6, l4off, l4h + 5, proto), 0);
			if (proto == 6)
				assert_int_equal(l4[13], 0x02); /* SYN */
			else
				assert_int_equal(l4[4] << 8 | l4[5], 8 + 5);
		}
		assert_memory_equal(f + len - 5, "hello", 5);
		/* too small a buffer is refused, nothing written past it */
		assert_int_equal(forge_frame(&s, f, (size_t)len - 1), -EMSGSIZE);
	}
}

static json_t *req_json(const char *type)
{
	int v6 = !strcmp(type + strlen(type) - 1, "6");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:i, s:s}", "UUID",
	                 "7f1e2d3c-0000-4000-8000-000000000001", "Type", type, "SrcIP",
	                 v6 ? "fd79::1" : "10.79.1.1", "DstIP", v6 ? "fd79::2" : "10.79.1.2",
	                 "SrcMAC", "02:00:00:00:00:01", "DstMAC", "02:00:00:00:00:02", "SrcPort",
	                 40000, "DstPort", 53, "Count", 3, "ICMPID", 9, "Mode", "unique", "TTL", 64,
	                 "Payload", "abc");
}

/* Each Type's request: JSON both ways, its first frame, and TrackingIDs that do not
 * depend on the payload (a capture sees the same flow whatever the letters). */
static void test_requests(void **st)
{
	static const char *const types[] = {"icmp4", "icmp6", "tcp4", "tcp6", "udp4", "udp6"};
	for (size_t i = 0; i < 6; i++) {
		json_t *j = req_json(types[i]);
		struct inject_req r;
		char err[256];
		assert_int_equal(inject_req_from_json(j, &r, err, sizeof(err)), 0);
		json_t *back = inject_req_to_json(&r);
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) assert_true(json_equal(v, json_object_get(back, k)));
		uint8_t f[200], g[200];
		int n = inject_req_frame(&r, 0, r.icmp_id, r.src_port, 1, (const uint8_t *)"abc", 3, f,
		                         sizeof(f));
		int m = inject_req_frame(&r, 1, r.icmp_id, r.src_port, 99, (const uint8_t *)"xyzxyz", 6,
		                         g, sizeof(g));
		assert_true(n > 0 && m == n + 3);
		char t1[17], l1[17], t2[17], l2[17];
		assert_int_equal(inject_tracking_ids(f, (size_t)n, FLOW_KEY_L2, t1, l1), 0);
		assert_int_equal(inject_tracking_ids(g, (size_t)m, FLOW_KEY_L2, t2, l2), 0);
		assert_string_equal(t1, t2);
		assert_string_equal(l1, l2);
		assert_true(strlen(t1) >= 1 && strlen(t1) <= 16);
		assert_string_not_equal(t1, l1); /* L2 key: the MACs are in the TrackingID */
		json_decref(back);
		inject_req_clear(&r);
		json_decref(j);
	}
}

static void refused(json_t *j, const char *key, json_t *val, const char *want)
{
	struct inject_req r;
	char err[256] = "";
	if (val)
		json_object_set_new(j, key, val);
	else
		json_object_del(j, key);
	assert_int_equal(inject_req_from_json(j, &r, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("'%s' is not in '%s'", want, err);
	json_decref(j);
}

static void test_refused(void **st)
{
	refused(req_json("icmp4"), "Type", json_string("sctp4"), "Type 'sctp4'");
	refused(req_json("icmp4"), "Mode", json_string("burst"), "Mode 'burst'");
	refused(req_json("icmp6"), "DstIP", json_string("10.79.1.2"), "not an IPv6 address");
	refused(req_json("icmp4"), "SrcMAC", json_string("02:00"), "not a MAC address");
	refused(req_json("icmp4"), "Count", json_integer(INJECT_MAX_COUNT + 1), "Count");
	refused(req_json("icmp4"), "Count", json_integer(0), "Count 0 out of range");
	refused(req_json("udp4"), "SrcPort", json_integer(70000), "SrcPort");
	refused(req_json("udp4"), "UUID", NULL, "UUID");
	/* the last packet's payload would be over 64 KiB */
	json_t *j = req_json("udp4");
	json_object_set_new(j, "Count", json_integer(1000));
	refused(j, "IncrementPayload", json_integer(100), "the payload would reach");
}

/* A classic pcap (little-endian, µs) of link type lt holding n copies of frame f. */
static char *pcap_b64(int lt, const uint8_t *f, uint32_t flen, int n, size_t *len)
{
	uint8_t buf[1024];
	size_t o = 0;
	uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, (uint32_t)lt};
	memcpy(buf, gh, 24);
	o = 24;
	for (int i = 0; i < n; i++) {
		uint32_t rh[4] = {1, (uint32_t)i, flen, flen};
		memcpy(buf + o, rh, 16);
		memcpy(buf + o + 16, f, flen);
		o += 16 + flen;
	}
	char *b = base64_encode_alloc(buf, o, len);
	assert_non_null(b);
	return b;
}

/* Skydive's Pcap: decoded, read by libpcap, its frames counted, the first one given;
 * another link type, a cut file or text refused with the reason. */
static void test_pcap(void **st)
{
	struct forge_spec s = spec(FORGE_UDP4);
	uint8_t f[100], first[200];
	int n = forge_frame(&s, f, sizeof(f));
	size_t blen, flen = 0;
	char err[300];
	char *b = pcap_b64(1 /* DLT_EN10MB */, f, (uint32_t)n, 3, &blen);
	struct inject_req r = {0};
	assert_int_equal(inject_req_set_pcap(&r, b, blen, first, sizeof(first), &flen, err,
	                                     sizeof(err)),
	                 0);
	assert_int_equal(r.pcap_packets, 3);
	assert_int_equal(flen, (size_t)n);
	assert_memory_equal(first, f, (size_t)n);
	/* a request with it: JSON both ways, Count 0 = the file once */
	json_t *j = req_json("udp4");
	json_object_set_new(j, "Pcap", json_string(b));
	json_object_set_new(j, "Count", json_integer(0));
	struct inject_req q;
	assert_int_equal(inject_req_from_json(j, &q, err, sizeof(err)), 0);
	assert_int_equal(q.count, 3);
	assert_int_equal(q.pcap_len, r.pcap_len);
	json_t *back = inject_req_to_json(&q);
	assert_string_equal(json_string_value(json_object_get(back, "Pcap")), b);
	json_decref(back);
	json_decref(j);
	inject_req_clear(&q);
	inject_req_clear(&r);
	free(b);
	b = pcap_b64(101 /* raw IP */, f + 14, (uint32_t)n - 14, 1, &blen);
	assert_int_equal(inject_req_set_pcap(&r, b, blen, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "only Ethernet frames"));
	free(b);
	b = pcap_b64(1, f, (uint32_t)n, 0, &blen);
	assert_int_equal(inject_req_set_pcap(&r, b, blen, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no frame"));
	free(b);
	b = pcap_b64(1, f, (uint32_t)n, 2, &blen);
	/* cut in the second record: its base64 ends early (a multiple of 4 kept) */
	assert_int_equal(inject_req_set_pcap(&r, b, blen - 20, NULL, 0, NULL, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "cut or corrupt"));
	free(b);
	assert_int_equal(inject_req_set_pcap(&r, "hello", 5, NULL, 0, NULL, err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(inject_req_set_pcap(&r, "%%", 2, NULL, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not base64"));
	assert_null(r.pcap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_published),
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_pcap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
