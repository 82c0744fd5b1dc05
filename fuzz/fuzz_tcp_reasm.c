/* fuzz_tcp_reasm.c - libFuzzer target for TCP stream reassembly
 * (flow/tcp_reasm.c) through a flow table with reassemble_tcp on: the input
 * is a sequence of segments of one connection, built into real frames, so the
 * fuzzer explores orders, overlaps, retransmissions, holes, wrap-around,
 * FIN/RST/SYN placement and timeouts.
 *
 * Input: records of 5 bytes: flags (bit 0 B to A, bit 1 SYN, bit 2 FIN,
 * bit 3 RST, bit 4 time moves 31 s on, bit 5 the capture cuts the payload),
 * sequence offset (2 bytes, from an initial number near 2^32 so streams
 * wrap), payload length (2 bytes, mod 1461); at most 1024 records.
 * Checks, per direction: the bytes the stream callback got equal the
 * stream's Bytes; the bytes it was told were skipped equal SkippedBytes; no
 * data after the end; buffers within their bounds; nothing held after the
 * flush. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_table.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS 1000000000ull

struct seen {
	uint64_t bytes[2], skipped[2];
	int ended[2];
	int flows;
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct seen *u = user;
	if (ev != FLOW_EV_EXPIRE)
		return;
	const struct flow_tcp_metric *m = flow_table_tcp_metric(t, f);
	CHECK(m);
	/* The flow's streams were closed before it is reported: what the
	 * callback got is all of it. A later flow of the same connection (after
	 * an expiry) starts again. */
	for (int d = 0; d < 2; d++) {
		CHECK(u->bytes[d] == m->seg[d].bytes);
		CHECK(u->skipped[d] == m->seg[d].skipped_bytes);
		CHECK(m->seg[d].skipped <= m->seg[d].skipped_bytes);
		u->bytes[d] = u->skipped[d] = 0;
		u->ended[d] = 0;
	}
	u->flows++;
}

static void on_stream(void *user, const struct flow_table *t, const struct flow *f, int dir,
		      const uint8_t *d, uint32_t len, uint64_t skipped, unsigned flags,
		      uint64_t ts_ns)
{
	struct seen *u = user;
	CHECK(dir == 0 || dir == 1);
	CHECK(!u->ended[dir]);
	CHECK(len == 0 || d);
	u->bytes[dir] += len;
	u->skipped[dir] += skipped;
	if (flags & TCP_REASM_END)
		u->ended[dir] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 5 * 1024)
		return 0;
	char err[128];
	struct seen u;
	memset(&u, 0, sizeof(u));
	struct flow_table_opts o = {.max_flows = 8, .reassemble_tcp = 1};
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, &u, err, sizeof(err));
	CHECK(t);
	flow_table_set_tcp_stream(t, on_stream, &u);
	static uint8_t fr[54 + 1461];
	uint64_t ts = 1000 * NS;
	for (size_t i = 0; i + 5 <= size; i += 5) {
		const uint8_t *r = data + i;
		uint8_t fl = r[0];
		int ba = fl & 1;
		uint32_t seq = 0xffff0000u + (uint32_t)(r[1] << 8 | r[2]) * 7u + (ba ? 0x1000000u : 0);
		uint32_t len = (uint32_t)(r[3] << 8 | r[4]) % 1461;
		if (fl & 0x10)
			ts += 31 * NS;
		ts += 1000;
		memset(fr, 0, 54);
		fr[5] = ba ? 1 : 2;
		fr[11] = ba ? 2 : 1;
		fr[12] = 0x08;
		uint8_t *ip = fr + 14;
		ip[0] = 0x45;
		ip[2] = (uint8_t)((40 + len) >> 8);
		ip[3] = (uint8_t)(40 + len);
		ip[8] = 64;
		ip[9] = 6;
		ip[12] = 10, ip[15] = ba ? 2 : 1;
		ip[16] = 10, ip[19] = ba ? 1 : 2;
		uint8_t *tcp = ip + 20;
		if (ba) { /* ports 36880 and 80 */
			tcp[0] = 0, tcp[1] = 80;
			tcp[2] = 0x90, tcp[3] = 0x10;
		} else {
			tcp[0] = 0x90, tcp[1] = 0x10;
			tcp[2] = 0, tcp[3] = 80;
		}
		tcp[4] = (uint8_t)(seq >> 24), tcp[5] = (uint8_t)(seq >> 16);
		tcp[6] = (uint8_t)(seq >> 8), tcp[7] = (uint8_t)seq;
		tcp[12] = 0x50;
		tcp[13] = (uint8_t)(0x10 | (fl & 2 ? 0x02 : 0) | (fl & 4 ? 0x01 : 0) | (fl & 8 ? 0x04 : 0));
		for (uint32_t k = 0; k < len; k++)
			fr[54 + k] = (uint8_t)(seq + k);
		uint32_t n = 54 + len, cap = fl & 0x20 ? 54 + len / 2 : n;
		flow_table_feed(t, 1, fr, cap, n, ts);
		const struct flow_stats *st = flow_table_stats(t);
		CHECK(st->tcp_peak_bytes <= (8u << 20));
	}
	flow_table_flush(t);
	flow_table_free(t);
	return 0;
}
