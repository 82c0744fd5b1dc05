/* test_clickhouse.c - unit tests of the ClickHouse flow backend's row codec (RowBinary as
 * ClickHouse's documentation of the format defines it: fixed-width numbers little-endian,
 * FixedString(N) as N bytes, String as a LEB128 length then the bytes, Array as a LEB128
 * count then the elements, Date as UInt16 days since 1970-01-01) and of its options. The
 * server side is tests/integration/clickhouse.sh, against a real ClickHouse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "store/clickhouse.h"
#include "store/flow_rec.h"

#define T0 1764770000000ll /* ms: 2025-12-03 */

static struct flow_rec mk_rec(uint64_t i)
{
	struct flow_rec r;
	memset(&r, 0, sizeof(r));
	/* every byte a column covers set, each field to its own value */
	uint8_t *b = (uint8_t *)&r;
	for (size_t k = 0; k < sizeof(r); k++)
		b[k] = (uint8_t)(k * 7 + i + 1);
	memset(r.pad_ip, 0, sizeof(r.pad_ip));
	memset(r.pad, 0, sizeof(r.pad));
	memset(r.tcp.seg[0].pad, 0, sizeof(r.tcp.seg[0].pad));
	memset(r.tcp.seg[1].pad, 0, sizeof(r.tcp.seg[1].pad));
	memset(r.str, 0, sizeof(r.str));
	r.uuid = 0x0102030405060708ull + i;
	r.start = T0 + (int64_t)i;
	r.last = T0 + (int64_t)i + 500;
	return r;
}

struct got {
	struct flow_rec rec[4000];
	char str[4000][FREC_NSTR][64];
	size_t n, calls;
};

static int collect(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	struct got *g = user;
	g->calls++;
	for (size_t i = 0; i < n && g->n < 4000; i++, g->n++) {
		g->rec[g->n] = r[i];
		for (int k = 0; k < FREC_NSTR; k++)
			snprintf(g->str[g->n][k], 64, "%s", frec_dict_get(d, r[i].str[k]));
		memset(g->rec[g->n].str, 0, sizeof(g->rec[g->n].str));
	}
	return 0;
}

/* Every column comes back as it went, strings included. */
static void test_round_trip(void **st)
{
	(void)st;
	struct buf b;
	buf_init(&b, NULL);
	const char *strs[FREC_NSTR] = {"Ethernet/IPv4/ICMPv4", "ICMPv4", "node-tid-1", "cap-1",
				       "L\x01x"};
	struct flow_rec r[3] = {mk_rec(0), mk_rec(1), mk_rec(2)};
	for (int i = 0; i < 3; i++)
		ch_row_encode(&r[i], strs, 0, &b);
	assert_int_equal(b.err, 0);
	static struct got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(ch_rows_decode((uint8_t *)b.data, b.len, collect, &g, NULL), 0);
	assert_int_equal(g.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(&g.rec[i], &r[i], sizeof(r[i]));
		for (int k = 0; k < FREC_NSTR; k++)
			assert_string_equal(g.str[i][k], strs[k]);
	}
	buf_free(&b);
}

/* The bytes of a row, as the RowBinary spec lays them out: UUID first (UInt64 LE), then
 * TrackingID, L3TrackingID, ParentUUID, then NodeTID as a String (LEB128 length). The
 * insert form ends with Day (UInt16) and Keys (Array(UInt64)). */
static void test_wire_layout(void **st)
{
	(void)st;
	struct flow_rec r;
	memset(&r, 0, sizeof(r));
	r.uuid = 0x0102030405060708ull;
	r.l2 = 0x1112131415161718ull;
	r.last = 86400000ll * 3 + 5; /* day 3 */
	char node[200];
	memset(node, 'n', sizeof(node) - 1);
	node[sizeof(node) - 1] = 0; /* 199 bytes: a two-byte LEB128 length (0xc7 0x01) */
	const char *strs[FREC_NSTR] = {"", "", node, "", ""};
	struct buf b;
	buf_init(&b, NULL);
	ch_row_encode(&r, strs, 0, &b);
	const uint8_t *p = (const uint8_t *)b.data;
	static const uint8_t uuid_le[8] = {8, 7, 6, 5, 4, 3, 2, 1};
	assert_memory_equal(p, uuid_le, 8);
	assert_int_equal(p[8], 0x18);
	assert_int_equal(p[15], 0x11);
	assert_int_equal(p[32], 0xc7); /* after 4 UInt64 */
	assert_int_equal(p[33], 0x01);
	assert_int_equal(p[34], 'n');
	size_t read_len = b.len;
	b.len = 0;
	ch_row_encode(&r, strs, 1, &b);
	/* Day then Keys: the last bytes are the array's (count, then 8 per key) */
	assert_true(b.len > read_len + 3);
	p = (const uint8_t *)b.data + read_len;
	assert_int_equal(p[0] | p[1] << 8, 3);
	size_t nk = p[2];
	assert_true(nk >= 1 && nk <= SEG_FLOW_KEYS_MAX);
	assert_int_equal(b.len, read_len + 3 + nk * 8);
	buf_free(&b);
}

/* A cut answer: the whole rows before it are handed on, the cut one is not, and its
 * offset is said. */
static void test_truncated(void **st)
{
	(void)st;
	struct buf b;
	buf_init(&b, NULL);
	const char *strs[FREC_NSTR] = {"a", "b", "c", "d", ""};
	struct flow_rec r = mk_rec(0);
	ch_row_encode(&r, strs, 0, &b);
	size_t one = b.len;
	ch_row_encode(&r, strs, 0, &b);
	static struct got g;
	for (size_t cut = one + 1; cut < 2 * one; cut += 37) {
		memset(&g, 0, sizeof(g));
		size_t bad = 0;
		assert_int_equal(ch_rows_decode((uint8_t *)b.data, cut, collect, &g, &bad), -EINVAL);
		assert_int_equal(bad, one);
		assert_int_equal(g.n, 0); /* nothing handed on after an error */
	}
	/* a string length beyond the answer */
	memset(&g, 0, sizeof(g));
	b.len = 0;
	ch_row_encode(&r, strs, 0, &b);
	b.data[32] = 0x7f; /* NodeTID's length: 127 bytes that are not there */
	assert_int_equal(ch_rows_decode((uint8_t *)b.data, b.len, collect, &g, NULL), -EINVAL);
	buf_free(&b);
}

/* More rows than a chunk, every one with strings of its own: all come back, in order. */
static void test_many_rows(void **st)
{
	(void)st;
	struct buf b;
	buf_init(&b, NULL);
	for (int i = 0; i < 3000; i++) {
		char node[32], cap[32];
		snprintf(node, sizeof(node), "node-%d", i);
		snprintf(cap, sizeof(cap), "cap-%d", i % 7);
		const char *strs[FREC_NSTR] = {"Ethernet/IPv4/UDP", "DNS", node, cap, ""};
		struct flow_rec r = mk_rec((uint64_t)i);
		ch_row_encode(&r, strs, 0, &b);
	}
	static struct got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(ch_rows_decode((uint8_t *)b.data, b.len, collect, &g, NULL), 0);
	assert_int_equal(g.n, 3000);
	assert_true(g.calls >= 3);
	for (int i = 0; i < 3000; i += 299) {
		char node[32];
		snprintf(node, sizeof(node), "node-%d", i);
		assert_int_equal(g.rec[i].uuid, 0x0102030405060708ull + (uint64_t)i);
		assert_string_equal(g.str[i][FREC_S_NODE], node);
	}
	buf_free(&b);
}

static int opts_of(const char *const *kv, struct ch_opts *o, char *err, size_t errlen)
{
	struct config *cfg = config_new();
	assert_non_null(cfg);
	for (; *kv; kv += 2)
		assert_int_equal(config_set_string(cfg, kv[0], kv[1]), 0);
	int rc = ch_opts_from_config(cfg, o, err, errlen);
	config_free(cfg);
	return rc;
}

static void test_opts(void **st)
{
	(void)st;
	struct ch_opts o;
	char err[300] = "";
	const char *none[] = {NULL};
	assert_int_equal(opts_of(none, &o, err, sizeof(err)), 0); /* the default: memory */
	const char *mem[] = {"analyzer.flow.backend", "m", "storage.m.driver", "memory", NULL};
	assert_int_equal(opts_of(mem, &o, err, sizeof(err)), 0);

	const char *ok[] = {"analyzer.flow.backend", "ch", "storage.ch.driver", "clickhouse",
			    "storage.ch.hosts", "127.0.0.1:8123 https://h2:8443",
			    "storage.ch.max_age", "7d", NULL};
	assert_int_equal(opts_of(ok, &o, err, sizeof(err)), 1);
	assert_int_equal(o.nhosts, 2);
	assert_string_equal(o.hosts[0], "http://127.0.0.1:8123");
	assert_string_equal(o.hosts[1], "https://h2:8443");
	assert_string_equal(o.database, "skydive");
	assert_string_equal(o.table, "flows");
	assert_int_equal(o.max_age_ms, 7 * 86400000ll);
	assert_int_equal(o.max_buffer, CH_MAX_BUFFER);

	/* Skydive's other drivers are refused by name, not ignored */
	const char *es[] = {"analyzer.flow.backend", "myelasticsearch",
			    "storage.myelasticsearch.driver", "elasticsearch", NULL};
	assert_int_equal(opts_of(es, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'elasticsearch' is not supported"));
	const char *missing[] = {"analyzer.flow.backend", "nothere", NULL};
	assert_int_equal(opts_of(missing, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "storage.nothere.driver is not set"));
	const char *badtab[] = {"analyzer.flow.backend", "ch", "storage.ch.driver", "clickhouse",
				"storage.ch.table", "flows; DROP TABLE x", NULL};
	assert_int_equal(opts_of(badtab, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "storage.ch.table"));
	const char *badage[] = {"analyzer.flow.backend", "ch", "storage.ch.driver", "clickhouse",
				"storage.ch.max_age", "2h", NULL};
	assert_int_equal(opts_of(badage, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "partitions are days"));
	const char *badurl[] = {"analyzer.flow.backend", "ch", "storage.ch.driver", "clickhouse",
				"storage.ch.hosts", "ftp://x:1", NULL};
	assert_int_equal(opts_of(badurl, &o, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_wire_layout),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_many_rows),
	    cmocka_unit_test(test_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
