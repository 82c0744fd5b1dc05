/* test_lldp.c - unit tests of the LLDPDU parser (decode/lldp.h): every TLV
 * the LLDP probe reads, built byte by byte here, truncation, missing or
 * misordered mandatory TLVs, short optional TLVs, gopacket's subtype names,
 * and the probe's interface name check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "decode/lldp.h"
#include "topology/topology.h"

struct pdu {
	uint8_t b[1024];
	size_t len;
};

static void tlv(struct pdu *p, unsigned type, const void *v, size_t n)
{
	p->b[p->len++] = (uint8_t)(type << 1 | (n >> 8));
	p->b[p->len++] = (uint8_t)n;
	memcpy(p->b + p->len, v, n);
	p->len += n;
}

static void mandatory(struct pdu *p, uint16_t ttl)
{
	tlv(p, 1, "\x04\x02\x00\x00\x00\x00\x01", 7);
	tlv(p, 2, "\x05swp1", 5);
	uint8_t t[2] = {(uint8_t)(ttl >> 8), (uint8_t)ttl};
	tlv(p, 3, t, 2);
}

static int same(struct decode_lldp_bytes b, const char *s)
{
	return b.len == strlen(s) && !memcmp(b.p, s, b.len);
}

static void test_full(void **state)
{
	(void)state;
	struct pdu p = {0};
	mandatory(&p, 120);
	tlv(&p, 4, "uplink", 6);
	tlv(&p, 5, "sw1", 3);
	tlv(&p, 6, "a switch", 8);
	tlv(&p, 7, "\x00\x14\x00\x04", 4);
	tlv(&p, 8, "\x05\x01\xc0\x00\x02\x01\x02\x00\x00\x00\x03\x00", 12);
	tlv(&p, 8, "\x05\x01\x0a\x00\x00\x01\x02\x00\x00\x00\x03\x00", 12); /* second: ignored */
	tlv(&p, 127, "\x00\x80\xc2\x01\x00\x0a", 6);
	tlv(&p, 127, "\x00\x80\xc2\x02\x06\x00\x14", 7);
	tlv(&p, 127, "\x00\x80\xc2\x03\x00\x0a\x04prod", 11);
	tlv(&p, 127, "\x00\x80\xc2\x03\x00\x0b\x00", 7);
	tlv(&p, 127, "\x00\x80\xc2\x05\xde\xad\xbe\xef", 8);
	tlv(&p, 127, "\x00\x80\xc2\x06\x00\x63", 6);
	tlv(&p, 127, "\x00\x80\xc2\x07\x03\x00\x00\x00\x07", 9);
	tlv(&p, 127, "\x00\x12\x0f\x04\x24\x00", 6);
	tlv(&p, 127, "\x00\x12\x0f\x01\x00\x80\x00\x00\x36", 9); /* MAC/PHY: not read */
	tlv(&p, 0, "", 0);

	struct decode_lldp d;
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_OK);
	assert_int_equal(d.chassis_subtype, 4);
	assert_int_equal(d.chassis_id.len, 6);
	assert_memory_equal(d.chassis_id.p, "\x02\x00\x00\x00\x00\x01", 6);
	assert_int_equal(d.port_subtype, 5);
	assert_true(same(d.port_id, "swp1"));
	assert_int_equal(d.ttl, 120);
	assert_true(same(d.port_desc, "uplink"));
	assert_true(same(d.sys_name, "sw1"));
	assert_true(same(d.sys_desc, "a switch"));
	assert_int_equal(d.mgmt_subtype, 1);
	assert_int_equal(d.mgmt_addr.len, 4);
	assert_memory_equal(d.mgmt_addr.p, "\xc0\x00\x02\x01", 4);
	assert_int_equal(d.pvid, 10);
	assert_int_equal(d.n_ppvids, 1);
	assert_int_equal(d.ppvids[0].flags, 6);
	assert_int_equal(d.ppvids[0].id, 20);
	assert_int_equal(d.n_vlans, 2);
	assert_int_equal(d.vlans[0].id, 10);
	assert_true(same(d.vlans[0].name, "prod"));
	assert_int_equal(d.vlans[1].id, 11);
	assert_int_equal(d.vlans[1].name.len, 0);
	assert_int_equal(d.vid_usage_digest, 0xdeadbeef);
	assert_int_equal(d.mgmt_vid, 99);
	assert_true(d.has_lag);
	assert_int_equal(d.lag_status, 3);
	assert_int_equal(d.lag_port_id, 7);
	assert_int_equal(d.mtu, 9216);

	/* every prefix that cuts a TLV is an error, never a read past the end */
	for (size_t n = 1; n < p.len - 2; n++) {
		struct decode_lldp e;
		enum decode_lldp_err rc = decode_lldp(p.b, n, &e);
		if (rc == DECODE_LLDP_OK) /* ends exactly between TLVs, after the mandatory ones */
			assert_true(n >= 20);
	}
}

static void test_errors(void **state)
{
	(void)state;
	struct decode_lldp d;
	struct pdu p = {0};
	assert_int_equal(decode_lldp(p.b, 0, &d), DECODE_LLDP_BAD_MANDATORY);
	/* port ID first */
	tlv(&p, 2, "\x05swp1", 5);
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_BAD_MANDATORY);
	/* chassis ID without an ID */
	p.len = 0;
	tlv(&p, 1, "\x04", 1);
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_BAD_MANDATORY);
	/* no TTL */
	p.len = 0;
	tlv(&p, 1, "\x04\x02\x00\x00\x00\x00\x01", 7);
	tlv(&p, 2, "\x05swp1", 5);
	tlv(&p, 0, "", 0);
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_BAD_MANDATORY);
	/* a length past the end */
	p.len = 0;
	mandatory(&p, 0);
	p.b[p.len++] = 5 << 1;
	p.b[p.len++] = 40;
	memcpy(p.b + p.len, "abc", 3);
	p.len += 3;
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_TRUNCATED);
	/* a VLAN name longer than its TLV */
	p.len = 0;
	mandatory(&p, 0);
	tlv(&p, 127, "\x00\x80\xc2\x03\x00\x0a\x09prod", 11);
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_BAD_TLV);
	/* a management address string longer than its TLV */
	p.len = 0;
	mandatory(&p, 0);
	tlv(&p, 8, "\x20\x01\xc0\x00\x02\x01\x02\x00\x00\x00\x03\x00", 12);
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_BAD_TLV);
	/* TTL 0 parses: the neighbour is leaving */
	p.len = 0;
	mandatory(&p, 0);
	assert_int_equal(decode_lldp(p.b, p.len, &d), DECODE_LLDP_OK);
	assert_int_equal(d.ttl, 0);
	assert_string_equal(decode_lldp_strerror(DECODE_LLDP_TRUNCATED), "truncated TLV");
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(decode_lldp_chassis_subtype_name(4), "MAC Address");
	assert_string_equal(decode_lldp_chassis_subtype_name(7), "Local");
	assert_string_equal(decode_lldp_chassis_subtype_name(8), "Unknown");
	assert_string_equal(decode_lldp_port_subtype_name(3), "MAC Address");
	assert_string_equal(decode_lldp_port_subtype_name(5), "Interface Name");
	assert_string_equal(decode_lldp_port_subtype_name(6), "Agent Circuit ID");
	assert_string_equal(decode_lldp_port_subtype_name(200), "Unknown");
	assert_int_equal(topology_lldp_check_ifname("eth0"), 0);
	assert_int_equal(topology_lldp_check_ifname("a23456789012345"), 0);
	assert_int_not_equal(topology_lldp_check_ifname(""), 0);
	assert_int_not_equal(topology_lldp_check_ifname("a234567890123456"), 0);
	assert_int_not_equal(topology_lldp_check_ifname("a/b"), 0);
	assert_int_not_equal(topology_lldp_check_ifname("a b"), 0);
	assert_int_not_equal(topology_lldp_check_ifname(".."), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
