/* fuzz_xlayer.c - libFuzzer target for the extra-layer decoders
 * (src/decode/xlayer.h) and the layer blob's readers (src/flow/xlayer.h).
 * Byte 0 % 4 picks the input: 0 a DNS message, 1 a DHCPv4 message, 2 a VRRP
 * advert (each encoded, and the blob read back), 3 a blob as an agent or a
 * segment file could hand one (read as is). A small cap from byte 0 / 4
 * exercises the record cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/xlayer.h"
#include "flow/xlayer.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_blob(const uint8_t *b, size_t n, int must_parse)
{
	int ok = xlayer_check(b, n) == 0;
	if (must_parse)
		CHECK(ok);
	struct buf out;
	buf_init(&out, NULL);
	int first = 1;
	xlayer_json_buf(&out, &first, b, n);
	/* what the buf writer gives, jansson parses, and equals the jansson writer's */
	json_t *o = json_object();
	CHECK(o);
	CHECK(xlayer_json_obj(o, b, n) == 0);
	if (ok && out.len) {
		buf_putc(&out, '}');
		char *text = malloc(out.len + 2);
		CHECK(text);
		text[0] = '{';
		memcpy(text + 1, out.data, out.len);
		text[out.len + 1] = 0;
		json_error_t e;
		json_t *p = json_loads(text, JSON_ALLOW_NUL, &e);
		CHECK(p);
		CHECK(json_equal(p, o));
		json_decref(p);
		free(text);
	}
	json_decref(o);
	buf_free(&out);
	char s[48];
	int is_str;
	int64_t iv;
	static const char *const keys[] = {"DNS.ID", "DNS.ResponseCode", "DNS.Timestamp.Seconds",
					   "DHCPv4.Secs", "DNS.Questions", "DNS"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (xlayer_field(b, n, keys[i], &is_str, &iv, s, sizeof(s)) && is_str)
			CHECK(strlen(s) < sizeof(s));
	/* the store's escaping round-trips */
	char *esc = malloc(2 * n + 1);
	uint8_t *back = malloc(n + 1);
	CHECK(esc && back);
	size_t el = xlayer_escape(esc, b, n);
	CHECK(el == strlen(esc));
	CHECK(xlayer_unescape(back, n, esc) == (long)n);
	CHECK(!memcmp(back, b, n));
	free(esc);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	unsigned sel = data[0] % 4;
	uint32_t cap = data[0] >= 128 ? 128u + (data[0] & 0x7f) * 4u : XL_BLOB_MAX;
	uint32_t n = (uint32_t)(size - 1);
	uint8_t *msg = malloc(n ? n : 1); /* exact size: reads past it hit ASan */
	CHECK(msg);
	memcpy(msg, data + 1, n);
	uint8_t out[XL_BLOB_MAX];
	int r = 0, cut = 0;
	switch (sel) {
	case 0:
		r = xl_dns_encode(msg, n, 1700000000123456789ull, out, cap, &cut);
		break;
	case 1:
		r = xl_dhcp4_encode(msg, n, out, cap);
		break;
	case 2:
		r = xl_vrrp_encode(msg, n, out, cap);
		CHECK((r > 0) == (xl_vrrp_valid(msg, n) && cap >= 16));
		break;
	case 3:
		read_blob(msg, n, 0);
		break;
	}
	CHECK(r <= (int)cap);
	if (r > 0)
		read_blob(out, (size_t)r, 1);
	free(msg);
	return 0;
}
