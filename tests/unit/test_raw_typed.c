/* test_raw_typed.c - typed raw packets: RawPackets() and BPF() over the store's records
 * (gremlin_flow_ops.raw_select) give what the same steps give over Skydive's JSON (base64
 * Data), BPF() sees the true wire length of a cut frame, and the PCAP written from the
 * records is the one written from the JSON, read back by libpcap with its nanosecond
 * times, caplen and wire length (memory and, after a restart, the log). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "analyzer/rest_pcap.h"
#include "flow/flow_table.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "store/flow_store.h"
#include "unit/frames.h"

#define MS(x) ((uint64_t)(x) * 1000000ull)
#define T0 1700000000000ll /* ms */

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip1[4] = {10, 0, 0, 1}, ip2[4] = {10, 0, 0, 2}, ip3[4] = {10, 0, 0, 3},
		     ip4[4] = {10, 0, 0, 4}, ip5[4] = {10, 0, 0, 5};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t s, int64_t l)
{
	if (ev == FLOW_EV_EXPIRE)
		assert_int_equal(flow_store_ingest(user, t, f, s, l, NULL, T0, NULL), 0);
}

/* Three flows (ping .1 <-> .2, TCP .3 -> .1:80, UDP .4 -> .5), no raw packets yet. */
static void fill_flows(struct flow_store *s)
{
	struct flow_table_opts o = {.node_tid = "tid-1"};
	char err[256];
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, s, err, sizeof(err));
	assert_non_null(t);
	struct frame fr;
	fr_ping4(&fr, mac1, mac2, ip1, ip2, 0, 7, 0);
	flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0));
	fr_tcp4(&fr, mac1, mac2, ip3, ip1, 40000, 80, 0x02);
	flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + 10000));
	fr_udp4(&fr, mac1, mac2, ip4, ip5, 5000, 6000, 10);
	flow_table_feed(t, 1, fr.b, fr.len, fr.len, MS(T0 + 100000));
	flow_table_flush(t);
	flow_table_free(t);
}

static struct gremlin_result eval(const char *q, const struct gremlin_flow_ops *ops, int typed,
				  char **text)
{
	struct gremlin_env env = {.now_ms = T0, .flow_ops = ops, .raw_typed = typed};
	struct graph *g = graph_new(NULL);
	struct gremlin_error err = {0};
	struct gremlin_query *pq = gremlin_parse(q, &err);
	if (!pq)
		fail_msg("%s: %s", q, err.msg);
	struct gremlin_result res = {0};
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	int rc = gremlin_eval(pq, v, &env, &res, &err);
	graph_view_free(v);
	graph_unlock(g);
	gremlin_query_free(pq);
	graph_free(g);
	*text = NULL;
	if (rc) {
		*text = malloc(300);
		snprintf(*text, 300, "!%s", err.msg);
	} else if (res.json) {
		*text = json_dumps(res.json, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
	}
	return res;
}

static char *run(const char *q, const struct gremlin_flow_ops *ops)
{
	char *t;
	struct gremlin_result r = eval(q, ops, 0, &t);
	gremlin_result_clear(&r);
	return t;
}

static uint64_t uuid_of(struct flow_store *s, const char *app)
{
	struct gremlin_flow_ops ops;
	flow_store_gremlin_ops(s, &ops);
	char q[200];
	snprintf(q, sizeof(q), "G.Flows().Has('Application', '%s').Values('UUID')", app);
	char *t = run(q, &ops);
	json_t *j = json_loads(t, JSON_DECODE_ANY, NULL);
	assert_int_equal(json_array_size(j), 1);
	uint64_t u = strtoull(json_string_value(json_array_get(j, 0)), NULL, 16);
	json_decref(j);
	free(t);
	return u;
}

/* ICMP flow: 4 pings (98 bytes) at ns times with sub-us digits, the third cut to 42 bytes
 * (wire length 98); TCP flow: 3 segments (54 bytes) at whole ms. */
static void fill_raw(struct flow_store *s)
{
	uint64_t icmp = uuid_of(s, "ICMPv4"), tcp = uuid_of(s, "TCP");
	struct frame fr;
	for (int i = 0; i < 4; i++) {
		fr_ping4(&fr, mac1, mac2, ip1, ip2, i & 1, 7, (uint16_t)i);
		assert_int_equal(fr.len, 98);
		assert_int_equal(flow_store_add_raw_ns(s, icmp, (int64_t)MS(T0 + i) + 123, 1, fr.b,
						       i == 2 ? 42 : fr.len, fr.len),
				 0);
	}
	for (int i = 0; i < 3; i++) {
		fr_tcp4(&fr, mac1, mac2, ip3, ip1, 40000, 80, i ? 0x10 : 0x02);
		assert_int_equal(fr.len, 54);
		assert_int_equal(flow_store_add_raw_ns(s, tcp, (int64_t)MS(T0 + 10000 + i), 1, fr.b,
						       fr.len, fr.len),
				 0);
	}
}

static void both_ops(struct flow_store *s, struct gremlin_flow_ops *typed,
		     struct gremlin_flow_ops *js)
{
	flow_store_gremlin_ops(s, typed);
	assert_non_null(typed->raw_select);
	*js = *typed;
	js->raw_select = NULL; /* the JSON path: raw_packets, base64 decoded by BPF() */
}

static const char *const queries[] = {
    "G.Flows().RawPackets()",
    "G.Flows().Has('Application', 'TCP').RawPackets()",
    "G.Flows().Sort('Start').RawPackets()",
    "G.Flows().RawPackets().Count()",
    "G.Flows().RawPackets().BPF('icmp')",
    "G.Flows().RawPackets().BPF('tcp port 80')",
    "G.Flows().RawPackets().BPF('greater 90')",
    "G.Flows().RawPackets().BPF('less 60')",
    "G.Flows().RawPackets().BPF('udp')",
    "G.Flows().RawPackets().BPF('icmp').BPF('icmp[icmptype] = icmp-echo')",
    "G.Flows().RawPackets().BPF('icmp').Count()",
    "G.Flows().RawPackets().BPF('not a filter (')",
    "G.Flows().Has('Application', 'UDP').RawPackets()",
};

/* The number of packets of a RawPackets() JSON answer. */
static size_t npackets(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	size_t n = 0, i;
	json_t *e, *l;
	const char *k;
	json_array_foreach(j, i, e) json_object_foreach(e, k, l) n += json_array_size(l);
	json_decref(j);
	return n;
}

static void check_same(struct flow_store *s)
{
	struct gremlin_flow_ops typed, js;
	both_ops(s, &typed, &js);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		char *a = run(queries[i], &typed), *b = run(queries[i], &js);
		if (strcmp(a, b))
			fail_msg("%s: typed %s, JSON %s", queries[i], a, b);
		free(a);
		free(b);
	}
	/* expected from the frames fill_raw stored, not from our output */
	char *t = run("G.Flows().RawPackets()", &typed);
	assert_int_equal(npackets(t), 7);
	free(t);
	t = run("G.Flows().RawPackets().BPF('icmp')", &typed);
	assert_int_equal(npackets(t), 4); /* the cut frame keeps its IP header */
	free(t);
	t = run("G.Flows().RawPackets().BPF('greater 90')", &typed);
	assert_int_equal(npackets(t), 4); /* the cut one by its wire length, 98 */
	free(t);
	t = run("G.Flows().RawPackets().BPF('less 60')", &typed);
	assert_int_equal(npackets(t), 3); /* the TCP segments only, not the cut ping */
	free(t);
	t = run("G.Flows().RawPackets().BPF('tcp[tcpflags] & tcp-syn != 0')", &typed);
	assert_int_equal(npackets(t), 1);
	free(t);
	t = run("G.Flows().RawPackets().BPF('udp')", &typed);
	assert_string_equal(t, "[]");
	free(t);
	t = run("G.Flows().RawPackets().BPF('not a filter (')", &typed);
	assert_true(t[0] == '!');
	free(t);
}

/* The PCAP of q from the records (raw_typed) and from the JSON answer: the same bytes. */
static void pcap_of(struct flow_store *s, const char *q, char **buf, size_t *len)
{
	struct gremlin_flow_ops typed;
	flow_store_gremlin_ops(s, &typed);
	char *t, err[256];
	size_t sk;
	struct gremlin_result r = eval(q, &typed, 1, &t);
	assert_null(t);
	assert_non_null(r.raw_set);
	assert_null(r.json);
	assert_int_equal(rest_pcap_from_pkts(r.raw_pkts, r.raw_n, buf, len, &sk, err, sizeof(err)),
			 0);
	assert_int_equal(sk, 0);
	gremlin_result_clear(&r);
	r = eval(q, &typed, 0, &t);
	char *jb;
	size_t jl;
	assert_int_equal(rest_pcap_from_raw(r.json, &jb, &jl, &sk, err, sizeof(err)), 0);
	assert_int_equal(jl, *len);
	assert_memory_equal(jb, *buf, jl);
	free(jb);
	free(t);
	gremlin_result_clear(&r);
}

struct rd {
	int64_t ts_ns;
	uint32_t caplen, len;
};

/* Reads a pcap back with libpcap at nanosecond precision; the packets' number. */
static int read_back(const char *buf, size_t len, struct rd *out, int max, uint32_t *magic)
{
	memcpy(magic, buf, 4);
	FILE *fp = fmemopen((void *)buf, len, "rb");
	assert_non_null(fp);
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err);
	assert_non_null(p);
	struct pcap_pkthdr *h;
	const u_char *d;
	int n = 0;
	while (n < max && pcap_next_ex(p, &h, &d) == 1)
		out[n++] = (struct rd){(int64_t)h->ts.tv_sec * 1000000000 + h->ts.tv_usec, h->caplen,
				       h->len};
	pcap_close(p); /* closes fp */
	return n;
}

static void check_pcap(struct flow_store *s, char **keep, size_t *keep_len)
{
	char *buf;
	size_t len;
	struct rd r[16];
	uint32_t magic;
	pcap_of(s, "G.Flows().RawPackets()", &buf, &len);
	int n = read_back(buf, len, r, 16, &magic);
	assert_int_equal(magic, 0xa1b23c4d); /* nanosecond pcap: the pings have ns digits */
	assert_int_equal(n, 7);
	/* time order: the 4 pings, then the TCP segments */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(r[i].ts_ns, (int64_t)MS(T0 + i) + 123);
		assert_int_equal(r[i].len, 98);
		assert_int_equal(r[i].caplen, i == 2 ? 42 : 98);
	}
	for (int i = 4; i < 7; i++) {
		assert_int_equal(r[i].ts_ns, (int64_t)MS(T0 + 10000 + i - 4));
		assert_int_equal(r[i].caplen, 54);
		assert_int_equal(r[i].len, 54);
	}
	if (keep) {
		*keep = buf;
		*keep_len = len;
	} else {
		free(buf);
	}
	/* whole-ms times only (as a Skydive agent sends): a microsecond pcap */
	pcap_of(s, "G.Flows().Has('Application', 'TCP').RawPackets()", &buf, &len);
	n = read_back(buf, len, r, 16, &magic);
	assert_int_equal(magic, 0xa1b2c3d4);
	assert_int_equal(n, 3);
	assert_int_equal(r[1].ts_ns, (int64_t)MS(T0 + 10001));
	free(buf);
	/* BPF() then the PCAP: the cut ping kept by its wire length */
	pcap_of(s, "G.Flows().RawPackets().BPF('greater 90')", &buf, &len);
	n = read_back(buf, len, r, 16, &magic);
	assert_int_equal(n, 4);
	assert_int_equal(r[2].caplen, 42);
	assert_int_equal(r[2].len, 98);
	free(buf);
	/* no packet: an empty pcap (the header only) */
	pcap_of(s, "G.Flows().Has('Application', 'UDP').RawPackets()", &buf, &len);
	assert_int_equal(read_back(buf, len, r, 16, &magic), 0);
	assert_int_equal(len, 24);
	free(buf);
}

static void test_memory(void **state)
{
	(void)state;
	struct flow_store_opts o = {.max_age_ms = -1};
	struct flow_store *s = flow_store_new(&o);
	assert_non_null(s);
	fill_flows(s);
	fill_raw(s);
	check_same(s);
	check_pcap(s, NULL, NULL);
	flow_store_free(s);
}

static void test_log(void **state)
{
	(void)state;
	char dir[256], cmd[300];
	snprintf(dir, sizeof(dir), "/tmp/skydive-test-raw.XXXXXX");
	assert_non_null(mkdtemp(dir));
	struct flow_store_opts o = {.max_age_ms = -1,
				    .fsync_ms = FLOW_STORE_FSYNC_NEVER,
				    .block_records = 2,
				    .no_thread = 1};
	snprintf(o.storage_dir, sizeof(o.storage_dir), "%s/flows", dir);
	struct flow_store *s = flow_store_new(&o);
	assert_non_null(s);
	fill_flows(s);
	fill_raw(s);
	assert_int_equal(flow_store_flush(s), 0);
	check_same(s);
	char *before;
	size_t blen;
	check_pcap(s, &before, &blen);
	flow_store_free(s);
	/* after a restart: from the log's blocks, the same answers and the same PCAP */
	s = flow_store_new(&o);
	assert_non_null(s);
	check_same(s);
	char *after;
	size_t alen;
	check_pcap(s, &after, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, alen);
	free(before);
	free(after);
	flow_store_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memory),
	    cmocka_unit_test(test_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
