/* test_xlayer.c - the extra-layer decoders (src/decode/xlayer.h) and the layer
 * blob's readers and per-table slots (src/flow/xlayer.h). Expected values come
 * from the messages built here and from gopacket's rules (layers/dns.go:
 * decodeName's limits, the extended RCODE of an OPT record; flow/layers/dns.go:
 * the record types a flow keeps). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode/xlayer.h"
#include "flow/xlayer.h"

#define TS 1700000000123456789ull

struct msg {
	uint8_t b[2048];
	uint32_t n;
};

static void put(struct msg *m, const void *p, uint32_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void be16(struct msg *m, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(m, b, 2);
}

static void be32(struct msg *m, uint32_t v)
{
	be16(m, (uint16_t)(v >> 16));
	be16(m, (uint16_t)v);
}

static void hdr(struct msg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
		uint16_t ar)
{
	m->n = 0;
	be16(m, id);
	be16(m, flags);
	be16(m, qd);
	be16(m, an);
	be16(m, ns);
	be16(m, ar);
}

/* www.example.com at offset 12 */
static void question(struct msg *m, uint16_t type)
{
	put(m, "\x03" "www" "\x07" "example" "\x03" "com" "\x00", 17);
	be16(m, type);
	be16(m, 1);
}

static void rr_ptr_a(struct msg *m, uint32_t ttl, const uint8_t ip[4])
{
	be16(m, 0xc00c); /* the question's name */
	be16(m, 1);
	be16(m, 1);
	be32(m, ttl);
	be16(m, 4);
	put(m, ip, 4);
}

static char *json_of(const uint8_t *blob, size_t len)
{
	static char out[8192];
	struct buf b;
	buf_init(&b, NULL);
	int first = 1;
	xlayer_json_buf(&b, &first, blob, len);
	buf_putc(&b, 0);
	snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
	buf_free(&b);
	return out;
}

static void test_dns_answer(void **state)
{
	(void)state;
	struct msg m;
	uint8_t out[XL_BLOB_MAX];
	int cut;
	hdr(&m, 0x1234, 0x8180, 1, 2, 0, 0);
	question(&m, 1);
	rr_ptr_a(&m, 60, (const uint8_t *)"\x5d\xb8\xd8\x22");
	/* a NULL record: counted in ANCount, not kept (toFlowDNSResourceRecord) */
	be16(&m, 0xc00c);
	be16(&m, 10);
	be16(&m, 1);
	be32(&m, 5);
	be16(&m, 2);
	put(&m, "\x01\x02", 2);
	int r = xl_dns_encode(m.b, m.n, TS, out, sizeof(out), &cut);
	assert_true(r > 0);
	assert_int_equal(cut, 0);
	assert_string_equal(json_of(out, (size_t)r),
			    "\"DNS\":{\"ID\":4660,\"QR\":true,\"op_code\":\"Query\",\"RD\":true,"
			    "\"RA\":true,\"response_code\":\"No Error\",\"q_d_count\":1,"
			    "\"a_n_count\":2,\"questions\":[{\"name\":\"www.example.com\","
			    "\"type\":\"A\",\"class\":\"IN\"}],\"answers\":[{\"name\":"
			    "\"www.example.com\",\"type\":\"A\",\"class\":\"IN\",\"TTL\":60,"
			    "\"data_length\":4,\"IP\":\"93.184.216.34\"}],\"timestamp\":"
			    "{\"seconds\":1700000000,\"nanos\":123456789}}");
	/* the jansson writer gives the same object */
	json_t *o = json_object();
	assert_int_equal(xlayer_json_obj(o, out, (size_t)r), 0);
	char *text = json_dumps(o, JSON_COMPACT);
	char want[8192];
	snprintf(want, sizeof(want), "{%s}", json_of(out, (size_t)r));
	json_error_t e;
	json_t *w = json_loads(want, 0, &e);
	assert_non_null(w);
	assert_true(json_equal(o, w));
	free(text);
	json_decref(o);
	json_decref(w);
	/* Gremlin fields: integers and strings; booleans and lists are not fields */
	int is_str;
	int64_t iv;
	char s[48];
	assert_int_equal(xlayer_field(out, (size_t)r, "DNS.ID", &is_str, &iv, s, sizeof(s)), 1);
	assert_int_equal(is_str, 0);
	assert_int_equal(iv, 0x1234);
	assert_int_equal(
	    xlayer_field(out, (size_t)r, "DNS.ResponseCode", &is_str, &iv, s, sizeof(s)), 1);
	assert_string_equal(s, "No Error");
	assert_int_equal(
	    xlayer_field(out, (size_t)r, "DNS.Timestamp.Seconds", &is_str, &iv, s, sizeof(s)), 1);
	assert_int_equal(iv, 1700000000);
	assert_int_equal(xlayer_field(out, (size_t)r, "DNS.NSCount", &is_str, &iv, s, sizeof(s)), 1);
	assert_int_equal(iv, 0); /* present layer: a zero field is 0, as Go's struct */
	assert_int_equal(xlayer_field(out, (size_t)r, "DNS.QR", &is_str, &iv, s, sizeof(s)), 0);
	assert_int_equal(xlayer_field(out, (size_t)r, "DNS.Questions", &is_str, &iv, s, sizeof(s)),
			 0);
	assert_int_equal(xlayer_field(out, (size_t)r, "DHCPv4.Secs", &is_str, &iv, s, sizeof(s)), 0);
	assert_int_equal(xlayer_field(out, (size_t)r, "DNS", &is_str, &iv, s, sizeof(s)), 0);
}

static void test_dns_refused(void **state)
{
	(void)state;
	struct msg m;
	uint8_t out[XL_BLOB_MAX];
	int cut;
	/* a pointer to itself: gopacket stops after 255 levels with an error */
	hdr(&m, 1, 0x0100, 1, 0, 0, 0);
	be16(&m, 0xc00c);
	be16(&m, 1);
	be16(&m, 1);
	assert_int_equal(xl_dns_encode(m.b, m.n, TS, out, sizeof(out), &cut), 0);
	/* labels running past 255 bytes */
	hdr(&m, 1, 0x0100, 1, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		uint8_t l = 63;
		put(&m, &l, 1);
		memset(m.b + m.n, 'a', 63);
		m.n += 63;
	}
	put(&m, "\x00\x00\x01\x00\x01", 5);
	assert_int_equal(xl_dns_encode(m.b, m.n, TS, out, sizeof(out), &cut), 0);
	/* an extended label type (0x40) */
	hdr(&m, 1, 0x0100, 1, 0, 0, 0);
	put(&m, "\x41x\x00\x00\x01\x00\x01", 7);
	assert_int_equal(xl_dns_encode(m.b, m.n, TS, out, sizeof(out), &cut), 0);
	/* fewer questions than QDCOUNT says, a record running past the end */
	hdr(&m, 1, 0x0100, 2, 0, 0, 0);
	question(&m, 1);
	assert_int_equal(xl_dns_encode(m.b, m.n, TS, out, sizeof(out), &cut), 0);
	hdr(&m, 1, 0x8100, 1, 1, 0, 0);
	question(&m, 1);
	rr_ptr_a(&m, 1, (const uint8_t *)"\1\2\3\4");
	assert_true(xl_dns_encode(m.b, m.n, TS, out, sizeof(out), &cut) > 0);
	assert_int_equal(xl_dns_encode(m.b, m.n - 1, TS, out, sizeof(out), &cut), 0);
	assert_int_equal(xl_dns_encode(m.b, 11, TS, out, sizeof(out), &cut), 0);
}

static void test_dns_cut_and_opt(void **state)
{
	(void)state;
	struct msg m;
	uint8_t out[XL_BLOB_MAX];
	int cut;
	/* 100 answers do not fit in 512 bytes: the first ones are kept */
	hdr(&m, 7, 0x8180, 1, 100, 0, 0);
	question(&m, 1);
	for (int i = 0; i < 100; i++)
		rr_ptr_a(&m, (uint32_t)i + 1, (const uint8_t *)"\x0a\x00\x00\x01");
	int r = xl_dns_encode(m.b, m.n, TS, out, 512, &cut);
	assert_true(r > 0 && r <= 512);
	assert_int_equal(cut, 1);
	char *j = json_of(out, (size_t)r);
	assert_non_null(strstr(j, "\"a_n_count\":100"));
	assert_non_null(strstr(j, "\"timestamp\":{"));
	assert_null(strstr(j, "\"TTL\":100"));
	/* an OPT record's extended RCODE (TTL bits 24-31) joins the header's */
	hdr(&m, 8, 0x8180, 1, 0, 0, 1);
	question(&m, 1);
	put(&m, "\x00", 1);
	be16(&m, 41);
	be16(&m, 4096);
	be32(&m, 1u << 24);
	be16(&m, 0);
	r = xl_dns_encode(m.b, m.n, TS, out, sizeof(out), &cut);
	assert_true(r > 0);
	j = json_of(out, (size_t)r);
	assert_non_null(strstr(j, "\"response_code\":\"Bad OPT Version\""));
	assert_non_null(strstr(j, "\"additionals\":[{\"type\":\"OPT\",\"class\":\"Unknown\","
				  "\"TTL\":16777216}]"));
}

static void test_dhcp_vrrp(void **state)
{
	(void)state;
	uint8_t d[300] = {1, 1, 6, 0, 1, 2, 3, 4, 0, 9, 0x80, 0};
	uint8_t out[XL_BLOB_MAX];
	memcpy(d + 44, "srv", 3);
	d[236] = 99, d[237] = 130, d[238] = 83, d[239] = 99;
	d[240] = 53, d[241] = 1, d[242] = 1, d[243] = 255;
	int r = xl_dhcp4_encode(d, 244, out, sizeof(out));
	assert_true(r > 0);
	char *j = json_of(out, (size_t)r);
	assert_non_null(strstr(j, "\"DHCPv4\":{\"hardware_len\":6,\"secs\":9,\"flags\":32768,"
				  "\"server_name\":\"c3J2AAAA"));
	d[241] = 9; /* an option longer than the message */
	assert_int_equal(xl_dhcp4_encode(d, 244, out, sizeof(out)), 0);
	d[241] = 1;
	d[239] = 0; /* bad cookie */
	assert_int_equal(xl_dhcp4_encode(d, 244, out, sizeof(out)), 0);
	assert_int_equal(xl_dhcp4_encode(d, 239, out, sizeof(out)), 0);

	uint8_t v[] = {0x31, 9, 120, 1, 0x03, 0xe8, 0, 0, 10, 0, 0, 1};
	r = xl_vrrp_encode(v, sizeof(v), out, sizeof(out));
	assert_true(r > 0);
	assert_string_equal(json_of(out, (size_t)r),
			    "\"VRRPv2\":{\"version\":3,\"virtual_rtrID\":9,\"priority\":120,"
			    "\"adver_int\":232}");
	assert_int_equal(xl_vrrp_encode(v, sizeof(v) - 1, out, sizeof(out)), 0);
	v[3] = 0;
	assert_int_equal(xl_vrrp_encode(v, sizeof(v), out, sizeof(out)), 0);
}

static void test_store_rules(void **state)
{
	(void)state;
	struct msg m;
	uint8_t frame[600] = {0};
	struct xlayer_store *x = xlayer_store_new(2, XL_ALL);
	assert_non_null(x);
	hdr(&m, 1, 0x0100, 1, 0, 0, 0);
	question(&m, 1);
	memcpy(frame + 42, m.b, m.n);
	struct decode_seg g = {.app = LAYER_DNS, .app_off = 42, .app_len = m.n, .l4 = DECODE_L4_UDP};
	uint32_t len;
	xlayer_packet(x, 1, 1, &g, frame, TS);
	assert_non_null(xlayer_get(x, 1, &len));
	/* the latest DNS message replaces the previous */
	hdr(&m, 2, 0x8180, 1, 0, 0, 0);
	question(&m, 1);
	memcpy(frame + 42, m.b, m.n);
	xlayer_packet(x, 1, 0, &g, frame, TS + 1);
	const uint8_t *b = xlayer_get(x, 1, &len);
	assert_non_null(strstr(json_of(b, len), "\"ID\":2,"));
	/* DHCPv4 only from the first packet */
	uint8_t *d = frame + 42;
	memset(d, 0, 300);
	d[2] = 6;
	d[236] = 99, d[237] = 130, d[238] = 83, d[239] = 99;
	struct decode_seg h = {.app = LAYER_DHCPV4, .app_off = 42, .app_len = 240};
	xlayer_packet(x, 2, 0, &h, frame, TS);
	assert_null(xlayer_get(x, 2, &len));
	xlayer_packet(x, 2, 1, &h, frame, TS);
	assert_non_null(xlayer_get(x, 2, &len));
	/* two slots for two flows: a third is counted */
	xlayer_packet(x, 0, 1, &h, frame, TS);
	xlayer_drop(x, 2);
	assert_null(xlayer_get(x, 2, &len));
	hdr(&m, 3, 0x0100, 1, 0, 0, 0);
	question(&m, 1);
	memcpy(frame + 42, m.b, m.n);
	/* DNS over TCP: the message after its length, and one cut short */
	uint8_t tcp[600];
	tcp[0] = (uint8_t)(m.n >> 8), tcp[1] = (uint8_t)m.n;
	memcpy(tcp + 2, m.b, m.n);
	struct decode_seg t = {.app = LAYER_DNS, .app_off = 0, .app_len = m.n + 2, .l4 = DECODE_L4_TCP};
	xlayer_packet(x, 2, 1, &t, tcp, TS);
	b = xlayer_get(x, 2, &len);
	assert_non_null(b);
	assert_non_null(strstr(json_of(b, len), "\"ID\":3,"));
	t.app_len = m.n + 1;
	xlayer_packet(x, 2, 0, &t, tcp, TS);
	assert_int_equal(xlayer_store_stats(x)->tcp_partial, 1);
	xlayer_store_free(x);

	x = xlayer_store_new(1, XL_DNS);
	g.app_len = m.n;
	memcpy(frame + 42, m.b, m.n);
	xlayer_packet(x, 1, 1, &g, frame, TS);
	assert_int_equal(xlayer_store_stats(x)->no_slot, 0);
	assert_non_null(xlayer_get(x, 1, &len));
	xlayer_store_free(x);
}

static void test_escape(void **state)
{
	(void)state;
	uint8_t in[] = {0, 1, 2, 0, 0xff, 1};
	char s[2 * sizeof(in) + 1];
	uint8_t back[sizeof(in)];
	size_t n = xlayer_escape(s, in, sizeof(in));
	assert_int_equal(n, strlen(s));
	assert_int_equal(xlayer_unescape(back, sizeof(back), s), (long)sizeof(in));
	assert_memory_equal(back, in, sizeof(in));
	assert_int_equal(xlayer_unescape(back, 2, s), -1);
	assert_int_equal(xlayer_unescape(back, sizeof(back), "\x01\x05"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_answer),      cmocka_unit_test(test_dns_refused),
	    cmocka_unit_test(test_dns_cut_and_opt), cmocka_unit_test(test_dhcp_vrrp),
	    cmocka_unit_test(test_store_rules),     cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
