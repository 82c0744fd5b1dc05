/* test_store_segment.c - unit tests of the durable flow store: the record codec, the
 * segment log's recovery of a torn tail and of a corrupted block, retention oldest
 * first, bounded dictionaries, and the flow store served from disk after a restart. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "flow.pb-c.h"
#include "store/flow_rec.h"
#include "store/flow_store.h"
#include "store/segment.h"

#define T0 1700000000000ll /* ms */

static char tmpdir[256];

static void mk_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/skydive-test-seg.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

static struct flow_rec mk_rec(uint64_t i)
{
	struct flow_rec r;
	memset(&r, 0, sizeof(r));
	r.uuid = 0x1000 + i;
	r.l2 = 0xabc000 + i;
	r.l3 = 0xdef000 + i;
	r.start = T0 + (int64_t)i;
	r.last = T0 + (int64_t)i + 500;
	r.abp = i * 3;
	r.abb = i * 300;
	r.ip_ver = 4;
	r.net_a[0] = 10, r.net_a[3] = (uint8_t)(i & 0xff);
	r.net_b[0] = 10, r.net_b[3] = 200;
	r.tproto = 6;
	r.tp_a = (uint16_t)(1000 + i);
	r.tp_b = 80;
	r.has_tcp = 1;
	r.tcp.ab_syn_start = T0 + 1;
	return r;
}

static const char *const strs_a[FREC_NSTR] = {"Ethernet/IPv4/TCP", "HTTP", "node-a", "cap-1",
					       "layers"};

/* ---- codec ---------------------------------------------------------------------------- */
/* A block of segment version 1, as the build before IPMetric, TCPMetric streams and
 * extra layers wrote it (288-byte records: offsets of that layout written out here by
 * hand), reads as the same flow in today's layout with no layers. */
static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void put16(uint8_t *b, size_t off, uint16_t v) { memcpy(b + off, &v, 2); }
static void test_codec_v1_upgrade(void **state)
{
	(void)state;
	uint8_t rec[288] = {0};
	put64(rec, 0, 0x1003);                   /* uuid */
	put64(rec, 8, 0xabc003);                 /* l2 */
	put64(rec, 32, (uint64_t)T0 + 3);        /* start */
	put64(rec, 40, (uint64_t)T0 + 503);      /* last */
	put64(rec, 72, 9);                       /* abp */
	put64(rec, 80, 900);                     /* abb */
	put64(rec, 136, 1500);                   /* rtt_ns */
	put64(rec, 144, 77);                     /* link_id */
	put64(rec, 152, (uint64_t)T0 + 1);       /* tcp.ab_syn_start */
	rec[208] = 10, rec[211] = 3;             /* net_a 10.0.0.3 */
	rec[224] = 10, rec[227] = 200;           /* net_b */
	rec[240] = 0x02;                         /* link_a[0] */
	put16(rec, 260, 1003);                   /* tp_a */
	put16(rec, 262, 80);                     /* tp_b */
	put16(rec, 266, 1);                      /* str[LayersPath] */
	put16(rec, 268, 2);                      /* str[Application] */
	put16(rec, 272, 3);                      /* str[CaptureID] */
	rec[274] = 7, rec[275] = 9, rec[276] = 4; /* icmp type, code, version */
	rec[277] = 1, rec[278] = 4, rec[279] = 6, rec[280] = 2, rec[281] = 1;
	const char *strs[3] = {"Ethernet/IPv4/TCP", "HTTP", "cap-1"};
	uint8_t buf[512], *p = buf;
	uint32_t ns = 3;
	memcpy(p, &ns, 4), p += 4;
	for (int i = 0; i < 3; i++) {
		uint16_t l = (uint16_t)strlen(strs[i]);
		memcpy(p, &l, 2), p += 2;
		memcpy(p, strs[i], l), p += l;
	}
	memset(p, 0, 36), p += 36; /* no varying column: one record */
	memcpy(p, rec, sizeof(rec)), p += sizeof(rec);
	struct frec_flows out;
	assert_int_equal(frec_decode_flows_v(buf, (size_t)(p - buf), 1, 1, &out), 0);
	const struct flow_rec *r = &out.rec[0];
	assert_int_equal(r->uuid, 0x1003);
	assert_int_equal(r->l2, 0xabc003);
	assert_int_equal(r->start, T0 + 3);
	assert_int_equal(r->last, T0 + 503);
	assert_int_equal(r->abp, 9);
	assert_int_equal(r->abb, 900);
	assert_int_equal(r->rtt_ns, 1500);
	assert_int_equal(r->link_id, 77);
	assert_int_equal(r->tcp.ab_syn_start, T0 + 1);
	assert_int_equal(r->tcp.seg[0].packets, 0);
	assert_int_equal(r->net_a[0], 10);
	assert_int_equal(r->net_a[3], 3);
	assert_int_equal(r->net_b[3], 200);
	assert_int_equal(r->link_a[0], 2);
	assert_int_equal(r->tp_a, 1003);
	assert_int_equal(r->tp_b, 80);
	assert_string_equal(frec_dict_get(&out.dict, r->str[FREC_S_PATH]), "Ethernet/IPv4/TCP");
	assert_string_equal(frec_dict_get(&out.dict, r->str[FREC_S_APP]), "HTTP");
	assert_int_equal(r->str[FREC_S_NODE], 0);
	assert_string_equal(frec_dict_get(&out.dict, r->str[FREC_S_CAPTURE]), "cap-1");
	assert_int_equal(r->str[FREC_S_LAYERS], 0);
	assert_int_equal(r->icmp_type, 7);
	assert_int_equal(r->icmp_code, 9);
	assert_int_equal(r->icmp_ver, 4);
	assert_int_equal(r->has_link, 1);
	assert_int_equal(r->ip_ver, 4);
	assert_int_equal(r->tproto, 6);
	assert_int_equal(r->finish, 2);
	assert_int_equal(r->has_tcp, FREC_TCP_FLAGS);
	assert_int_equal(r->has_ip, 0);
	frec_flows_free(&out);
}

static void test_codec_round_trip(void **state)
{
	(void)state;
	struct frec_dict d = {0};
	struct flow_rec r[100];
	for (int i = 0; i < 100; i++) {
		r[i] = mk_rec((uint64_t)i);
		for (int k = 0; k < FREC_NSTR; k++) {
			char s[32];
			snprintf(s, sizeof(s), "%s-%d", strs_a[k], i % 7);
			int id = frec_dict_add(&d, k == 3 ? "" : s);
			assert_true(id >= 0);
			r[i].str[k] = (uint16_t)id;
		}
	}
	assert_int_equal(d.n, (FREC_NSTR - 1) * 7); /* the CaptureID "" is id 0, not stored */
	uint8_t *buf = malloc(frec_flows_bound(&d, 100));
	size_t len = frec_encode_flows(&d, r, 100, buf);
	assert_true(len <= frec_flows_bound(&d, 100));
	struct frec_flows out;
	assert_int_equal(frec_decode_flows(buf, len, 100, &out), 0);
	assert_int_equal(out.n, 100);
	assert_memory_equal(out.rec, r, sizeof(r));
	assert_string_equal(frec_dict_get(&out.dict, out.rec[15].str[FREC_S_APP]), "HTTP-1");
	assert_string_equal(frec_dict_get(&out.dict, out.rec[15].str[FREC_S_CAPTURE]), "");
	frec_flows_free(&out);
	/* a wrong count or a cut payload is refused, nothing kept */
	assert_int_equal(frec_decode_flows(buf, len, 99, &out), -EINVAL);
	assert_int_equal(frec_decode_flows(buf, len - 1, 100, &out), -EINVAL);
	/* a record naming a string beyond the dictionary */
	r[3].str[0] = 500;
	len = frec_encode_flows(&d, r, 100, buf);
	assert_int_equal(frec_decode_flows(buf, len, 100, &out), -EINVAL);
	free(buf);
	frec_dict_free(&d);
}

static void test_dict_bounded(void **state)
{
	(void)state;
	struct frec_dict d = {.max = 4};
	assert_int_equal(frec_dict_add(&d, "a"), 1);
	assert_int_equal(frec_dict_add(&d, "b"), 2);
	assert_int_equal(frec_dict_add(&d, "a"), 1);
	assert_int_equal(frec_dict_add(&d, "c"), 3);
	assert_int_equal(frec_dict_add(&d, "d"), 4);
	assert_int_equal(frec_dict_add(&d, "e"), -ENOSPC);
	assert_int_equal(frec_dict_add(&d, "d"), 4); /* known strings still found */
	assert_int_equal(frec_dict_add(&d, NULL), 0);
	frec_dict_reset(&d);
	assert_int_equal(frec_dict_add(&d, "e"), 1);
	frec_dict_free(&d);
}

/* ---- the log ------------------------------------------------------------------------------ */

struct count {
	size_t flows, raw;
	uint64_t uuid_sum;
	int bad_str;
	const char *want_app; /* when set, every record's Application must be it */
};

static int count_flows(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	struct count *c = user;
	c->flows += n;
	for (size_t i = 0; i < n; i++) {
		c->uuid_sum += r[i].uuid;
		char want[64];
		snprintf(want, sizeof(want), "app-%llu", (unsigned long long)(r[i].uuid - 0x1000));
		if (c->want_app ? strcmp(frec_dict_get(d, r[i].str[FREC_S_APP]), c->want_app)
				: strcmp(frec_dict_get(d, r[i].str[FREC_S_APP]), want))
			c->bad_str++;
	}
	return 0;
}

static int count_raw(void *user, const struct raw_rec *h, const uint8_t *const *pkt, size_t n)
{
	struct count *c = user;
	(void)h;
	(void)pkt;
	c->raw += n;
	return 0;
}

static struct seglog *open_log(uint32_t block_records, int64_t seg_ms, uint64_t max_bytes,
			       int64_t max_age_ms)
{
	char err[256] = "";
	struct seglog_opts o = {.dir = tmpdir,
				.segment_ms = seg_ms,
				.fsync_ms = SEG_FSYNC_NEVER,
				.max_bytes = max_bytes,
				.max_age_ms = max_age_ms,
				.block_records = block_records,
				.no_thread = 1};
	struct seglog *l = seglog_open(&o, err, sizeof(err));
	if (!l)
		fail_msg("seglog_open: %s", err);
	return l;
}

static void append_n(struct seglog *l, uint64_t from, uint64_t n, int64_t now)
{
	for (uint64_t i = from; i < from + n; i++) {
		struct flow_rec r = mk_rec(i);
		char app[64];
		snprintf(app, sizeof(app), "app-%llu", (unsigned long long)i);
		const char *str[FREC_NSTR] = {"Ethernet/IPv4/TCP", app, "node-a", NULL};
		assert_int_equal(seglog_append_flow(l, &r, str, now), 0);
	}
}

static struct count scan_all(struct seglog *l)
{
	struct count c = {0};
	assert_int_equal(seglog_scan(l, NULL, count_flows, count_raw, &c, NULL), 0);
	return c;
}

/* The only .seg file of tmpdir (raw_path: the only .raw file). */
static void file_path(char *out, size_t n, const char *ext)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls %s/*%s", tmpdir, ext);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, (int)n, p));
	out[strcspn(out, "\n")] = 0;
	pclose(p);
}

static void seg_path(char *out, size_t n)
{
	file_path(out, n, ".seg");
}

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void test_log_round_trip(void **state)
{
	(void)state;
	mk_tmp();
	struct seglog *l = open_log(10, 0, 0, 0);
	append_n(l, 0, 35, T0);
	/* 3 full blocks written, 5 in the active block: all visible */
	struct count c = scan_all(l);
	assert_int_equal(c.flows, 35);
	assert_int_equal(c.bad_str, 0);
	struct raw_rec h = {.uuid = 0x1001, .ts_ns = T0 * 1000000 + 7, .index = 1, .linktype = 1,
			    .caplen = 4, .wirelen = 1500};
	assert_int_equal(seglog_append_raw(l, &h, (const uint8_t *)"abcd", T0), 0);
	seglog_close(l);
	l = open_log(10, 0, 0, 0);
	c = scan_all(l);
	assert_int_equal(c.flows, 35);
	assert_int_equal(c.raw, 1);
	uint64_t want = 0;
	for (uint64_t i = 0; i < 35; i++)
		want += 0x1000 + i;
	assert_int_equal(c.uuid_sum, want);
	struct seglog_stats st;
	seglog_stats(l, &st);
	assert_int_equal(st.blocks, 5); /* 4 flow blocks, 1 raw */
	assert_int_equal(st.flow_records, 35);
	assert_int_equal(st.min_time, T0);
	assert_int_equal(st.max_time, T0 + 34 + 500);
	/* pushdown: a window and a key skip blocks before reading them */
	struct seg_scan_stats ss;
	struct seg_pred p = {.from = T0 + 12 + 500, .to = T0 + 15};
	c = (struct count){0};
	assert_int_equal(seglog_scan(l, &p, count_flows, NULL, &c, &ss), 0);
	assert_int_equal(ss.blocks_read, 1); /* records 12..15 are all in block 2 */
	uint64_t key = seg_key_u64(SEG_TAG_UUID, 0x1000 + 33);
	struct seg_pred q = {.ngroups = 1};
	q.g[0].keys = &key;
	q.g[0].n = 1;
	c = (struct count){0};
	assert_int_equal(seglog_scan(l, &q, count_flows, NULL, &c, &ss), 0);
	assert_true(ss.blocks_read <= 2); /* block 4, and at worst one bloom false positive */
	seglog_close(l);
	rm_tmp();
}

static void test_recover_torn_tail(void **state)
{
	(void)state;
	mk_tmp();
	struct seglog *l = open_log(10, 0, 0, 0);
	append_n(l, 0, 35, T0);
	seglog_close(l); /* blocks of 10, 10, 10, 5 */
	char path[300];
	seg_path(path, sizeof(path));
	off_t full = file_size(path);
	assert_int_equal(truncate(path, full - 7), 0); /* the last block torn */
	l = open_log(10, 0, 0, 0);
	struct count c = scan_all(l);
	assert_int_equal(c.flows, 30);
	struct seglog_stats st;
	seglog_stats(l, &st);
	assert_int_equal(st.blocks, 3);
	assert_true(st.torn_bytes > 0);
	assert_int_equal(file_size(path), (off_t)st.bytes); /* cut at the last good block */
	/* and writing goes on after it */
	append_n(l, 100, 10, T0);
	seglog_close(l);
	l = open_log(10, 0, 0, 0);
	c = scan_all(l);
	assert_int_equal(c.flows, 40);
	seglog_stats(l, &st);
	assert_int_equal(st.torn_bytes, 0);
	seglog_close(l);
	rm_tmp();
}

static void test_recover_corrupt_block(void **state)
{
	(void)state;
	mk_tmp();
	struct seglog *l = open_log(10, 0, 0, 0);
	append_n(l, 0, 35, T0);
	seglog_close(l);
	char path[300];
	seg_path(path, sizeof(path));
	off_t full = file_size(path);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct seg_block_hdr h;
	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	off_t second = (off_t)(sizeof(h) + h.bloom_len + h.payload_len);
	/* one byte of the second block's payload */
	off_t at = second + (off_t)sizeof(h) + 64 + 3;
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0x55;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
	l = open_log(10, 0, 0, 0);
	struct count c = scan_all(l);
	assert_int_equal(c.flows, 25); /* 35 minus the 10 of block 2 */
	assert_int_equal(c.bad_str, 0);
	struct seglog_stats st;
	seglog_stats(l, &st);
	assert_int_equal(st.corrupt_blocks, 1);
	assert_int_equal(st.torn_bytes, 0);
	seglog_close(l);
	assert_int_equal(file_size(path), full); /* skipped, not cut */
	/* a corrupted header in the middle: found again at the next block */
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, "XXXX", 4, 0), 4);
	close(fd);
	l = open_log(10, 0, 0, 0);
	c = scan_all(l);
	assert_int_equal(c.flows, 15);
	seglog_close(l);
	rm_tmp();
}

static int count_files(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.seg$'", tmpdir);
	FILE *p = popen(cmd, "r");
	int n = -1;
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static int has_file(int64_t first_ms)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%lld.seg", tmpdir, (long long)first_ms);
	return access(path, F_OK) == 0;
}

static void test_retention_oldest_first(void **state)
{
	(void)state;
	mk_tmp();
	struct seglog *l = open_log(10, 1000, 0, 0);
	off_t size[5];
	for (int i = 0; i < 5; i++) {
		append_n(l, (uint64_t)i * 10, 10, T0 + i * 1000);
		seglog_tick(l, T0 + i * 1000);
		char path[400];
		snprintf(path, sizeof(path), "%s/%lld.seg", tmpdir, (long long)(T0 + i * 1000));
		size[i] = file_size(path);
	}
	assert_int_equal(count_files(), 5);
	seglog_close(l);
	/* room for the three newest */
	l = open_log(10, 1000, (uint64_t)(size[2] + size[3] + size[4]), 0);
	seglog_tick(l, T0 + 4000);
	assert_int_equal(count_files(), 3);
	assert_false(has_file(T0));
	assert_false(has_file(T0 + 1000));
	assert_true(has_file(T0 + 2000));
	struct seglog_stats st;
	seglog_stats(l, &st);
	assert_int_equal(st.evicted_segments, 2);
	assert_int_equal(st.evicted_records, 20);
	assert_int_equal(st.evicted_bytes, (uint64_t)(size[0] + size[1]));
	struct count c = scan_all(l);
	assert_int_equal(c.flows, 30);
	seglog_close(l);
	/* by age: at T0 + 5500 with 2 s, the slices ending before T0 + 3500 go: 2000's ends at
	 * 3000, 3000's at 4000 (kept) */
	l = open_log(10, 1000, 0, 2000);
	seglog_tick(l, T0 + 5500);
	assert_int_equal(count_files(), 2);
	assert_false(has_file(T0 + 2000));
	assert_true(has_file(T0 + 3000));
	seglog_close(l);
	rm_tmp();
}

static void test_log_dict_bounded(void **state)
{
	(void)state;
	mk_tmp();
	/* every record brings a new Application: the dictionary (4096 strings) fills and
	 * ends blocks before block_records is reached */
	struct seglog *l = open_log(100000, 0, 0, 0);
	append_n(l, 0, 10000, T0);
	seglog_close(l);
	l = open_log(100000, 0, 0, 0);
	struct count c = scan_all(l);
	assert_int_equal(c.flows, 10000);
	assert_int_equal(c.bad_str, 0);
	struct seglog_stats st;
	seglog_stats(l, &st);
	/* 4096 strings a block: "node-a" and the path take 2, so 4094 apps: 3 blocks */
	assert_int_equal(st.blocks, 3);
	seglog_close(l);
	rm_tmp();
}

/* A frame kept by two flows (a tunnel's outer and inner) is stored once. */
struct rawcheck {
	size_t n;
	const struct raw_rec *h;
	uint8_t data[3][64];
	uint64_t uuid[3];
};

static int raw_keep(void *user, const struct raw_rec *h, const uint8_t *const *pkt, size_t n)
{
	struct rawcheck *c = user;
	for (size_t i = 0; i < n && c->n < 3; i++, c->n++) {
		memcpy(c->data[c->n], pkt[i], h[i].caplen);
		c->uuid[c->n] = h[i].uuid;
	}
	return 0;
}

static int block_len(void *user, const struct seg_block_hdr *h, const uint8_t *payload)
{
	(void)payload;
	if (h->kind == SEG_KIND_RAW)
		*(uint32_t *)user = h->raw_len;
	return 0;
}

static void test_raw_shared_frame(void **state)
{
	(void)state;
	mk_tmp();
	struct seglog *l = open_log(10, 0, 0, 0);
	uint8_t f1[64], f2[64];
	memset(f1, 0x11, sizeof(f1));
	memset(f2, 0x22, sizeof(f2));
	struct raw_rec h = {.uuid = 0xa, .ts_ns = T0 * 1000000, .index = 1, .linktype = 1,
			    .caplen = 64, .wirelen = 100};
	assert_int_equal(seglog_append_raw(l, &h, f1, T0), 0);
	h.uuid = 0xb; /* the inner flow, the same frame */
	assert_int_equal(seglog_append_raw(l, &h, f1, T0), 0);
	h.ts_ns += 1; /* another frame of the outer flow */
	h.uuid = 0xa;
	h.index = 2;
	assert_int_equal(seglog_append_raw(l, &h, f2, T0), 0);
	seglog_close(l);
	char path[300];
	file_path(path, sizeof(path), ".raw"); /* raw packets have their own files */
	int fd = open(path, O_RDONLY);
	uint32_t raw_len = 0;
	uint64_t corrupt;
	int64_t torn;
	assert_int_equal(seg_read_file(fd, block_len, &raw_len, &corrupt, &torn), 1);
	close(fd);
	assert_int_equal(raw_len, 3 * sizeof(struct raw_rec) + 2 * 64); /* f1 once */
	l = open_log(10, 0, 0, 0);
	struct rawcheck c = {0};
	assert_int_equal(seglog_scan(l, NULL, NULL, raw_keep, &c, NULL), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.uuid[1], 0xb);
	assert_memory_equal(c.data[0], f1, 64);
	assert_memory_equal(c.data[1], f1, 64);
	assert_memory_equal(c.data[2], f2, 64);
	seglog_close(l);
	rm_tmp();
}

/* A scan holds no lock while it reads: its callback appends, writes a block and evicts
 * the very segment being read (a non-recursive mutex would deadlock here otherwise), and
 * the rest of the snapshot still reads. */
struct during {
	struct seglog *l;
	size_t calls, flows;
};

static int during_fn(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	(void)r;
	(void)d;
	struct during *x = user;
	x->flows += n;
	if (x->calls++ == 0) {
		append_n(x->l, 500, 10, T0 + 5000);
		assert_int_equal(seglog_flush(x->l), 0);
		seglog_tick(x->l, T0 + 5000); /* max_age 1 ms: every older segment goes */
	}
	return 0;
}

static void test_scan_while_writing(void **state)
{
	(void)state;
	mk_tmp();
	struct seglog *l = open_log(10, 1000, 0, 1);
	append_n(l, 0, 30, T0);
	seglog_tick(l, T0);
	assert_int_equal(count_files(), 1);
	struct during x = {.l = l};
	assert_int_equal(seglog_scan(l, NULL, during_fn, NULL, &x, NULL), 0);
	assert_int_equal(x.flows, 30); /* the snapshot's 3 blocks, read after the eviction */
	assert_false(has_file(T0));
	struct seglog_stats st;
	seglog_stats(l, &st);
	assert_int_equal(st.evicted_segments, 1);
	struct count c = scan_all(l);
	assert_int_equal(c.flows, 10); /* what the callback wrote */
	seglog_close(l);
	rm_tmp();
}

/* ---- the flow store on disk ------------------------------------------------------------- */

static int64_t lu_start; /* when set, the states carry a LastUpdateMetric from there */

static int ingest_pb(struct flow_store *s, int i, const char *node, int64_t now)
{
	Flow__Flow f;
	Flow__FlowLayer net;
	Flow__TransportLayer tr;
	Flow__FlowMetric m, lu;
	flow__flow__init(&f);
	flow__flow_layer__init(&net);
	flow__transport_layer__init(&tr);
	flow__flow_metric__init(&m);
	char uuid[32], a[32], tid[32];
	snprintf(uuid, sizeof(uuid), "%llx", 0x5000ull + (unsigned)i);
	snprintf(tid, sizeof(tid), "%llx", 0x9000ull + (unsigned)i);
	snprintf(a, sizeof(a), "10.1.%d.%d", i / 250, i % 250 + 1);
	f.uuid = uuid;
	f.trackingid = tid;
	f.nodetid = (char *)node;
	f.application = "TCP";
	f.layerspath = "Ethernet/IPv4/TCP";
	net.protocol = FLOW__FLOW_PROTOCOL__IPV4;
	net.a = a;
	net.b = "10.9.9.9";
	f.network = &net;
	tr.protocol = FLOW__FLOW_PROTOCOL__TCP;
	tr.a = 40000 + i;
	tr.b = 443;
	f.transport = &tr;
	m.abpackets = i + 1;
	m.abbytes = 100 * (i + 1);
	m.start = T0 + i;
	m.last = T0 + i + 10;
	f.metric = &m;
	flow__flow_metric__init(&lu);
	if (lu_start) {
		lu.abpackets = 1;
		lu.abbytes = 100;
		lu.start = lu_start;
		lu.last = lu_start + 10;
		f.lastupdatemetric = &lu;
	}
	f.start = m.start;
	f.last = m.last;
	return flow_store_ingest_pb(s, &f, now, NULL);
}

static struct flow_store *open_store(size_t max_flows)
{
	struct flow_store_opts o = {.max_flows = max_flows,
				    .max_age_ms = -1,
				    .fsync_ms = FLOW_STORE_FSYNC_NEVER,
				    .block_records = 64,
				    .no_thread = 1};
	snprintf(o.storage_dir, sizeof(o.storage_dir), "%s/flows", tmpdir);
	return flow_store_new(&o);
}

static json_t *flows_sorted(struct flow_store *s, const json_t *filters, int64_t at, int64_t d)
{
	struct gremlin_error err = {0};
	json_t *j = flow_store_query_filtered(s, filters, NULL, at, d, &err);
	assert_non_null(j);
	/* by UUID, so memory and disk orders compare */
	size_t n = json_array_size(j);
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0; k--) {
			json_t *x = json_array_get(j, k - 1), *y = json_array_get(j, k);
			if (strcmp(json_string_value(json_object_get(x, "UUID")),
				   json_string_value(json_object_get(y, "UUID"))) <= 0)
				break;
			json_incref(x);
			json_array_set(j, k - 1, y);
			json_array_set_new(j, k, x);
		}
	return j;
}

static void test_store_restart(void **state)
{
	(void)state;
	mk_tmp();
	struct flow_store *s = open_store(100);
	for (int i = 0; i < 300; i++)
		assert_int_equal(ingest_pb(s, i, i % 2 ? "node-b" : "node-a", T0), 0);
	/* a newer state of flow 7: the query gives it, not the old one */
	assert_int_equal(ingest_pb(s, 7, "node-c", T0 + 1), 0);
	uint8_t pkt[64] = {0x02, 0, 0, 0, 0, 1};
	assert_int_equal(flow_store_add_raw_ns(s, 0x5007, T0 * 1000000 + 123456, 1, pkt, 64, 1514),
			 0);
	struct flow_store_stats st;
	flow_store_stats(s, &st);
	assert_int_equal(st.flows, 100); /* memory keeps 100, the log all 300 */
	json_t *before = flows_sorted(s, NULL, 0, 0);
	assert_int_equal(json_array_size(before), 300);
	json_t *raw_before = flow_store_raw_packets(s, before);
	char *rb = json_dumps(raw_before, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(rb, "\"TimestampNs\":1700000000000123456"));
	assert_non_null(strstr(rb, "\"WireLen\":1514"));
	char *b = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
	flow_store_free(s); /* writes the active blocks */

	s = open_store(100);
	flow_store_stats(s, &st);
	assert_int_equal(st.flows, 0); /* memory empty: everything below comes from disk */
	json_t *after = flows_sorted(s, NULL, 0, 0);
	char *a = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(a, b);
	json_t *raw_after = flow_store_raw_packets(s, after);
	char *ra = json_dumps(raw_after, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(ra, rb);
	/* flow 7's newest state: on node-c */
	json_t *f7 = json_pack("[s,s]", "UUID", "5007");
	json_t *one = flows_sorted(s, f7, 0, 0);
	assert_int_equal(json_array_size(one), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(one, 0), "NodeTID")),
			    "node-c");
	/* pushed-down filters and a window */
	json_t *fl = json_pack("[s,s]", "Network", "10.1.0.5");
	json_t *r = flows_sorted(s, fl, 0, 0);
	assert_int_equal(json_array_size(r), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "UUID")), "5004");
	json_decref(r);
	r = flows_sorted(s, NULL, T0 + 50, 5); /* [Start, Last] = [T0+i, T0+i+10] over [45, 50] */
	assert_int_equal(json_array_size(r), 16);                   /* i = 35 .. 50 */
	json_decref(r);
	json_t *tp = json_pack("[s,i]", "Transport.A", 40123);
	r = flows_sorted(s, tp, 0, 0);
	assert_int_equal(json_array_size(r), 1);
	json_decref(r);
	json_decref(tp);
	json_decref(fl);
	json_decref(f7);
	json_decref(one);
	json_t *st_json = flow_store_status_json(s);
	json_t *sto = json_object_get(st_json, "Storage");
	assert_true(json_is_true(json_object_get(sto, "Persistent")));
	assert_int_equal(json_integer_value(json_object_get(sto, "FlowStates")), 301);
	assert_int_equal(json_integer_value(json_object_get(sto, "RawPackets")), 1);
	assert_int_equal(json_integer_value(json_object_get(sto, "From")), T0);
	assert_int_equal(json_integer_value(json_object_get(sto, "To")), T0 + 299 + 10);
	json_decref(st_json);
	free(a);
	free(b);
	free(ra);
	free(rb);
	json_decref(before);
	json_decref(after);
	json_decref(raw_before);
	json_decref(raw_after);
	flow_store_free(s);
	rm_tmp();
}

/* Without At(): what was received within analyzer.flow.max_age, from disk too; with
 * At(): everything the log holds. */
static void test_store_no_window_is_max_age(void **state)
{
	(void)state;
	mk_tmp();
	struct flow_store_opts o = {.max_flows = 1000,
				    .max_age_ms = 3600000,
				    .fsync_ms = FLOW_STORE_FSYNC_NEVER,
				    .no_thread = 1};
	snprintf(o.storage_dir, sizeof(o.storage_dir), "%s/flows", tmpdir);
	struct flow_store *s = flow_store_new(&o);
	int64_t now = (int64_t)time(NULL) * 1000;
	for (int i = 0; i < 10; i++) /* received 2 h ago */
		assert_int_equal(ingest_pb(s, i, "node-a", now - 7200000), 0);
	for (int i = 10; i < 15; i++)
		assert_int_equal(ingest_pb(s, i, "node-a", now), 0);
	flow_store_free(s);
	s = flow_store_new(&o);
	json_t *r = flows_sorted(s, NULL, 0, 0);
	assert_int_equal(json_array_size(r), 5);
	json_decref(r);
	r = flows_sorted(s, NULL, T0 + 3600000, 7200000);
	assert_int_equal(json_array_size(r), 15);
	json_decref(r);
	flow_store_free(s);
	rm_tmp();
}

/* Metrics() of a flow only the log has (after a restart): its update records. */
static void test_store_metrics_from_log(void **state)
{
	(void)state;
	mk_tmp();
	struct flow_store *s = open_store(100);
	lu_start = T0;
	assert_int_equal(ingest_pb(s, 3, "node-a", T0), 0);
	lu_start = T0 + 10;
	assert_int_equal(ingest_pb(s, 3, "node-a", T0), 0);
	assert_int_equal(ingest_pb(s, 3, "node-a", T0), 0); /* the same window again */
	lu_start = 0;
	json_t *flows = flows_sorted(s, NULL, 0, 0);
	json_t *before = flow_store_metrics(s, flows);
	flow_store_free(s);
	s = open_store(100);
	json_t *after = flow_store_metrics(s, flows);
	json_t *l = json_object_get(after, "5003");
	assert_int_equal(json_array_size(l), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "Start")), T0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 1), "Start")),
			 T0 + 10);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
	json_decref(flows);
	flow_store_free(s);
	rm_tmp();
}

static void test_store_strings_bounded(void **state)
{
	(void)state;
	/* memory only: strings leave with their last flow */
	struct flow_store_opts o = {.max_flows = 10, .max_age_ms = -1};
	struct flow_store *s = flow_store_new(&o);
	for (int i = 0; i < 5000; i++) {
		char node[32];
		snprintf(node, sizeof(node), "node-%d", i);
		assert_int_equal(ingest_pb(s, i, node, T0), 0);
	}
	/* 10 flows: their 10 nodes, "TCP" and the layers path */
	assert_int_equal(flow_store_strings(s), 12);
	flow_store_free(s);
}

/* ---- raw packets: Index across restarts, raw_max_bytes on disk ---------------------------- */

static uint32_t raw_add(struct flow_store *s, uint64_t uuid, int64_t ts_ns, uint32_t len,
			uint32_t seed)
{
	uint8_t pkt[512];
	/* bytes that do not compress, so the files' sizes follow the packets' */
	for (uint32_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		pkt[i] = (uint8_t)(seed >> 16);
	}
	return (uint32_t)flow_store_add_raw_ns(s, uuid, ts_ns, 1, pkt, len, len);
}

/* The Index of flow uuid's raw packets as the store answers them, in order. */
static size_t raw_indexes(struct flow_store *s, const char *uuid, uint32_t *out, size_t max)
{
	struct flow_store_rawset *r;
	const char *u[1] = {uuid};
	assert_int_equal(flow_store_raw_select(s, u, 1, &r), 0);
	size_t n;
	const struct gremlin_raw_pkt *p = flow_store_rawset_pkts(r, &n);
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = p[i].index;
	flow_store_rawset_free(r);
	return n;
}

static void test_raw_index_continues(void **state)
{
	(void)state;
	mk_tmp();
	struct flow_store *s = open_store(100);
	assert_int_equal(ingest_pb(s, 1, "node-a", T0), 0); /* UUID 5001 */
	for (int i = 0; i < 3; i++)
		assert_int_equal(raw_add(s, 0x5001, (T0 + i) * 1000000, 60, (uint32_t)i), 0);
	/* flow 1 leaves memory (max_flows 100) and comes back: it numbers on */
	for (int i = 2; i < 151; i++)
		assert_int_equal(ingest_pb(s, i, "node-a", T0), 0);
	struct flow_store_stats st;
	flow_store_stats(s, &st);
	assert_int_equal(st.dropped_max_flows, 50);
	assert_int_equal(ingest_pb(s, 1, "node-a", T0 + 10), 0);
	assert_int_equal(raw_add(s, 0x5001, (T0 + 10) * 1000000, 60, 10), 0);
	flow_store_free(s);
	/* a restart: the index is recovered from the log's raw blocks */
	s = open_store(100);
	assert_int_equal(ingest_pb(s, 1, "node-a", T0 + 20), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(raw_add(s, 0x5001, (T0 + 20 + i) * 1000000, 60, 20u + (uint32_t)i),
				 0);
	flow_store_flush(s); /* sealed, and one more restart reads both blocks' headers */
	flow_store_free(s);
	s = open_store(100);
	assert_int_equal(ingest_pb(s, 1, "node-a", T0 + 30), 0);
	assert_int_equal(raw_add(s, 0x5001, (T0 + 30) * 1000000, 60, 30), 0);
	uint32_t idx[16];
	size_t n = raw_indexes(s, "5001", idx, 16);
	assert_int_equal(n, 7); /* 3 + 1 + 2 + 1 packets */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(idx[i], i + 1);
	/* another flow starts at 1 */
	assert_int_equal(ingest_pb(s, 2, "node-a", T0 + 30), 0);
	assert_int_equal(raw_add(s, 0x5002, T0 * 1000000, 60, 40), 0);
	n = raw_indexes(s, "5002", idx, 16);
	assert_int_equal(n, 1);
	assert_int_equal(idx[0], 1);
	flow_store_free(s);
	rm_tmp();
}

static void test_raw_max_bytes_on_disk(void **state)
{
	(void)state;
	mk_tmp();
	struct flow_store_opts o = {.max_age_ms = -1,
				    .raw_max_bytes = 20000,
				    .fsync_ms = FLOW_STORE_FSYNC_NEVER,
				    .block_records = 10, /* raw blocks of 40 packets */
				    .no_thread = 1};
	snprintf(o.storage_dir, sizeof(o.storage_dir), "%s/flows", tmpdir);
	struct flow_store *s = flow_store_new(&o);
	assert_non_null(s);
	assert_int_equal(ingest_pb(s, 1, "node-a", T0), 0);
	enum { NPKT = 400, LEN = 200 };
	for (uint32_t i = 0; i < NPKT; i++) {
		assert_int_equal(raw_add(s, 0x5001, (T0 + i) * 1000000, LEN, i), 0);
		if (i % 40 == 39)
			flow_store_tick(s, T0); /* retention runs after each flush */
	}
	json_t *j = flow_store_status_json(s);
	json_t *sto = json_object_get(j, "Storage");
	json_int_t held = json_integer_value(json_object_get(sto, "RawPackets"));
	json_int_t evicted = json_integer_value(json_object_get(sto, "EvictedRawPackets"));
	/* blocks of at most a quarter of the bound (5000 bytes: 19-20 packets of 200), and a
	 * file takes blocks until it holds a quarter: files of 40 packets (~8.6 KB), two of
	 * which fit in the bound, not three */
	assert_int_equal(held, 80);
	assert_int_equal(held + evicted, NPKT);
	assert_int_equal(json_integer_value(json_object_get(sto, "EvictedRawSegments")),
			 NPKT / 40 - 2);
	assert_true(json_integer_value(json_object_get(sto, "EvictedRawBytes")) >
		    (NPKT / 40 - 2) * 40 * LEN);
	assert_true(json_integer_value(json_object_get(sto, "RawBytesOnDisk")) <= 20000);
	assert_int_equal(json_integer_value(json_object_get(sto, "RawMaxBytes")), 20000);
	/* the flow states stay: the raw bound removes raw files only */
	assert_int_equal(json_integer_value(json_object_get(sto, "FlowStates")), 1);
	json_decref(j);
	/* the newest packets are those served, numbered as they came */
	uint32_t idx[NPKT];
	size_t n = raw_indexes(s, "5001", idx, NPKT);
	assert_int_equal(n, 80);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(idx[i], NPKT - 80 + i + 1);
	flow_store_free(s);
	rm_tmp();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec_round_trip),
	    cmocka_unit_test(test_codec_v1_upgrade),
	    cmocka_unit_test(test_dict_bounded),
	    cmocka_unit_test(test_log_round_trip),
	    cmocka_unit_test(test_recover_torn_tail),
	    cmocka_unit_test(test_recover_corrupt_block),
	    cmocka_unit_test(test_retention_oldest_first),
	    cmocka_unit_test(test_log_dict_bounded),
	    cmocka_unit_test(test_scan_while_writing),
	    cmocka_unit_test(test_raw_shared_frame),
	    cmocka_unit_test(test_store_restart),
	    cmocka_unit_test(test_store_no_window_is_max_age),
	    cmocka_unit_test(test_store_metrics_from_log),
	    cmocka_unit_test(test_store_strings_bounded),
	    cmocka_unit_test(test_raw_index_continues),
	    cmocka_unit_test(test_raw_max_bytes_on_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
