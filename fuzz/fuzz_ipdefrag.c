/* fuzz_ipdefrag.c - libFuzzer target for IP defragmentation (flow/ipdefrag.c)
 * through a flow table with ip_defrag on: the input is a sequence of
 * fragments, each built into a real Ethernet frame, so the fuzzer explores
 * orders, overlaps, sizes, ids and timeouts rather than header syntax
 * (fuzz_decode has that).
 *
 * Input: records of 6 bytes: flags (bit 0 IPv6, bit 1 more fragments, bits
 * 2-3 source host, bit 4 time moves 31 s on, bit 5 the capture cuts the
 * frame, bit 6 IPv4 protocol 6 instead of 17), offset / 8 (2 bytes), payload
 * length (2 bytes, mod 1501), datagram id; at most 512 records.
 * Checks: the defragmenter's bounds (datagrams, bytes) hold after every
 * frame; counters add up (every fragment is held, reassembled, refused or
 * given up); a reassembled datagram is accounted as one packet; after the
 * flush nothing is held. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_table.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS 1000000000ull

struct sums {
	uint64_t packets, fragments;
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	struct sums *u = user;
	if (ev != FLOW_EV_EXPIRE)
		return;
	u->packets += f->ab_packets + f->ba_packets;
	const struct flow_ip_metric *m = flow_table_ip_metric(t, f);
	if (m)
		u->fragments += m->fragments;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 6 * 512)
		return 0;
	char err[128];
	struct sums u = {0};
	struct flow_table_opts o = {.max_flows = 1024, .ip_defrag = 1 /* > records: every datagram gets its flow */};
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, &u, err, sizeof(err));
	CHECK(t);
	static uint8_t fr[14 + 48 + 1501];
	uint64_t ts = 1000 * NS;
	uint64_t frames = 0, whole = 0;
	for (size_t i = 0; i + 6 <= size; i += 6) {
		const uint8_t *r = data + i;
		uint8_t fl = r[0];
		uint32_t off8 = (uint32_t)(r[1] << 8 | r[2]);
		uint32_t len = (uint32_t)(r[3] << 8 | r[4]) % 1501;
		uint8_t id = r[5];
		int v6 = fl & 1, mf = !!(fl & 2);
		uint8_t host = (uint8_t)(1 + ((fl >> 2) & 3));
		if (fl & 0x10)
			ts += 31 * NS;
		ts += 1000;
		uint32_t n = 0;
		memset(fr, 0, 12);
		fr[5] = host;
		fr[11] = 9;
		if (!v6) {
			fr[12] = 0x08;
			fr[13] = 0x00;
			uint8_t *ip = fr + 14;
			memset(ip, 0, 20);
			ip[0] = 0x45;
			ip[2] = (uint8_t)((20 + len) >> 8);
			ip[3] = (uint8_t)(20 + len);
			ip[4] = 0;
			ip[5] = id;
			uint16_t fo = (uint16_t)((mf ? 0x2000 : 0) | (off8 & 0x1fff));
			ip[6] = (uint8_t)(fo >> 8);
			ip[7] = (uint8_t)fo;
			ip[8] = 64;
			ip[9] = fl & 0x40 ? 6 : 17;
			ip[12] = 10, ip[15] = host;
			ip[16] = 10, ip[19] = 200;
			n = 34;
		} else {
			fr[12] = 0x86;
			fr[13] = 0xdd;
			uint8_t *ip = fr + 14;
			memset(ip, 0, 48);
			ip[0] = 0x60;
			ip[4] = (uint8_t)((8 + len) >> 8);
			ip[5] = (uint8_t)(8 + len);
			ip[6] = 44;
			ip[7] = 64;
			ip[8] = 0x20, ip[23] = host;
			ip[24] = 0x20, ip[39] = 200;
			ip[40] = 17;
			uint16_t fo = (uint16_t)((off8 & 0x1fff) << 3 | (mf ? 1 : 0));
			ip[42] = (uint8_t)(fo >> 8);
			ip[43] = (uint8_t)fo;
			ip[47] = id;
			n = 62;
		}
		for (uint32_t k = 0; k < len; k++)
			fr[n + k] = (uint8_t)(k + off8);
		n += len;
		uint32_t cap = fl & 0x20 ? n / 2 : n;
		flow_table_feed(t, 1, fr, cap, n, ts);
		frames++;
		const struct flow_stats *st = flow_table_stats(t);
		CHECK(st->frag_peak_bytes <= (4u << 20));
		whole = st->frag_reassembled;
	}
	const struct flow_stats *st = flow_table_stats(t);
	uint64_t fragframes = st->frag_frames;
	CHECK(fragframes <= frames);
	flow_table_flush(t);
	st = flow_table_stats(t);
	/* Every fragment frame: kept into a datagram made whole, refused, or
	 * given up with its datagram (all given up at the flush). */
	CHECK(st->frag_errors + st->frag_no_room + st->frag_timeout_fragments + u.fragments +
		  st->frag_reassembled ==
	      fragframes);
	CHECK(whole == st->frag_reassembled);
	/* a whole datagram is one packet (unfragmented frames too) */
	CHECK(u.packets >= st->frag_reassembled);
	flow_table_free(t);
	return 0;
}
