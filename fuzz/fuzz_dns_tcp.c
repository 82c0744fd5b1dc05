/* fuzz_dns_tcp.c - libFuzzer target for DNS over TCP framing on reassembled
 * streams (flow/dns_tcp.c): deliveries of four streams (two slots, two
 * directions) as tcp_reasm makes them, with holes and ends, and each framed
 * message through the DNS decoder.
 *
 * Input: byte 0 picks the bounds (bits 0-1: largest message 16384, 40, 300
 * or 65535; bits 2-3: bytes held in all 1 MiB, 512, 2048 or 8192); then
 * records: a flags byte (bit 0 direction, bit 1 slot 2 rather than 1, bit 2
 * the stream ends after, bit 3 a hole before of the next byte + 1 bytes),
 * [the hole's byte], a length byte, that many data bytes; 16 KiB at most.
 * Checks: a stream without holes is framed as RFC 1035 4.2.2 says (each
 * message handed on is the next frame of the stream's bytes, a frame passed
 * over is one over the bound or, with a small budget, one that found no
 * room; at its end the unfinished count says whether a frame was left
 * open); no message over the bound; what the decoder writes passes the blob
 * check; bytes held within the budget, none once every stream ended. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/xlayer.h"
#include "flow/dns_tcp.h"
#include "flow/tcp_reasm.h"
#include "flow/xlayer.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN 16384

struct model {
	uint8_t b[MAX_IN]; /* the stream's bytes since its start */
	uint32_t n, pos;   /* pos: the next frame's start */
	int holed;         /* a hole since the start: framing not modelled */
};

static struct model mod[4];
static uint32_t msg_max;
static int room_limited;
static uint64_t delivered;

static void check_unfinished(uint64_t counted, int open)
{
	if (open >= 0)
		CHECK(room_limited ? counted <= (uint64_t)open : counted == (uint64_t)open);
	else
		CHECK(counted <= 1);
}

/* The frame at m->pos: 1 with its body length when whole, 0 when not. */
static int frame_at(const struct model *m, uint32_t *len)
{
	if (m->n - m->pos < 2)
		return 0;
	*len = (uint32_t)(m->b[m->pos] << 8 | m->b[m->pos + 1]);
	return m->n - m->pos - 2 >= *len;
}

static void on_msg(void *user, uint32_t slot, int dir, const uint8_t *msg, uint32_t len,
                   uint64_t ts_ns)
{
	(void)user;
	CHECK(slot == 1 || slot == 2);
	CHECK(dir == 0 || dir == 1);
	CHECK(len <= msg_max);
	CHECK(len == 0 || msg);
	delivered++;
	struct model *m = &mod[(slot - 1) * 2 + (uint32_t)dir];
	if (!m->holed) {
		uint32_t l;
		int found = 0;
		while (frame_at(m, &l)) {
			const uint8_t *body = m->b + m->pos + 2;
			m->pos += 2 + l;
			if (l == len && !memcmp(body, msg, len)) {
				found = 1;
				break;
			}
			CHECK(l > msg_max || room_limited); /* passed over: too big, no room */
		}
		CHECK(found);
	}
	uint8_t out[XL_BLOB_MAX];
	int cut = 0, r = xl_dns_encode(msg, len, ts_ns, out, sizeof(out), &cut);
	CHECK(r <= (int)sizeof(out));
	if (r > 0) {
		uint8_t blob[XL_BLOB_MAX];
		memcpy(blob, out, (size_t)r);
		CHECK(xlayer_check(blob, (size_t)r) == 0);
	}
}

/* The stream ends: whether a frame was left open (what the framer counts
 * unfinished, unless that frame found no room), -1 when unknown (a hole). */
static int model_end(struct model *m)
{
	int open = m->holed ? -1 : 0;
	if (!m->holed) {
		uint32_t l;
		while (frame_at(m, &l)) { /* frames after the last one handed on */
			CHECK(l > msg_max || room_limited);
			m->pos += 2 + l;
		}
		if (m->pos < m->n)
			open = m->n - m->pos < 2 ||
			       (uint32_t)(m->b[m->pos] << 8 | m->b[m->pos + 1]) <= msg_max;
	}
	m->n = m->pos = 0;
	m->holed = 0;
	return open;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAX_IN)
		return 0;
	static const uint32_t maxes[4] = {0, 40, 300, 65535};
	static const size_t budgets[4] = {0, 512, 2048, 8192};
	struct dns_tcp_opts o = {
	    .slots = 3, .msg_max = maxes[data[0] & 3], .max_bytes = budgets[(data[0] >> 2) & 3]};
	msg_max = o.msg_max ? o.msg_max : DNS_TCP_MSG_MAX;
	/* with the default 1 MiB, four streams of at most 64 KiB always fit */
	room_limited = o.max_bytes != 0;
	size_t budget = o.max_bytes ? (o.max_bytes + 511) / 512 * 512 : DNS_TCP_BYTES;
	memset(mod, 0, sizeof(mod));
	delivered = 0;
	char err[128];
	struct dns_tcp *d = dns_tcp_new(&o, on_msg, NULL, err, sizeof(err));
	CHECK(d);
	const struct dns_tcp_stats *st = dns_tcp_stats(d);
	uint64_t ts = 1;
	size_t i = 1;
	while (i < size) {
		uint8_t fl = data[i++];
		int dir = fl & 1;
		uint32_t slot = fl & 2 ? 2 : 1;
		struct model *m = &mod[(slot - 1) * 2 + (uint32_t)dir];
		uint64_t hole = 0;
		if (fl & 8) {
			if (i >= size)
				break;
			hole = (uint64_t)data[i++] + 1;
			m->holed = 1;
		}
		if (i >= size)
			break;
		uint32_t len = data[i++];
		if (len > size - i)
			len = (uint32_t)(size - i);
		memcpy(m->b + m->n, data + i, len);
		m->n += len;
		uint64_t unfinished = st->unfinished;
		dns_tcp_data(d, slot, dir, len ? data + i : NULL, len, hole,
		             fl & 4 ? TCP_REASM_END : 0, ts++);
		i += len;
		CHECK(st->bytes_held <= budget);
		if (fl & 4)
			check_unfinished(st->unfinished - unfinished, model_end(m));
	}
	for (uint32_t k = 0; k < 4; k++) {
		uint64_t unfinished = st->unfinished;
		dns_tcp_data(d, 1 + k / 2, (int)(k & 1), NULL, 0, 0, TCP_REASM_END, ts);
		check_unfinished(st->unfinished - unfinished, model_end(&mod[k]));
	}
	CHECK(st->bytes_held == 0);
	CHECK(st->messages == delivered);
	dns_tcp_free(d);
	return 0;
}
