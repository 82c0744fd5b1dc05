/* test_flow_loop.c - the shared capture -> flow table loop (flow/flow_loop.h).
 *
 * The golden pcaps (tests/golden/gen_pcaps.py) go through capture_open_file
 * and flow_loop_run into a flow table with each case's options; the flows
 * that leave the table must equal tests/golden/expected/CASE.json, which the
 * independent Python model (tests/golden/model.py) wrote: expected values
 * from the model of docs/FLOWS.md, not from our own output. Raw packet
 * receivers must see each frame's link type. Run from the repository root
 * (as scripts/test.sh does); skipped when python3 with scapy is missing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "analyzer/rest_pcap.h"
#include "capture/capture.h"
#include "common/buf.h"
#include "common/util.h"
#include "flow/flow_json.h"
#include "flow/flow_loop.h"
#include "flow/flow_table.h"
#include "gremlin/gremlin.h"
#include "store/flow_store.h"

static char tmp_dir[64], pcap_dir[256];

static int setup(void **state)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_flow_loop.XXXXXX");
	if (!mkdtemp(tmp_dir))
		return -1;
	snprintf(pcap_dir, sizeof(pcap_dir), "%s/pcaps", tmp_dir);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tests/golden/gen_pcaps.py %s >/dev/null 2>&1",
		 pcap_dir);
	if (system(cmd) != 0)
		pcap_dir[0] = 0; /* the tests skip */
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct run {
	struct buf out;
	int emitted;
	int raw_calls, raw_linktype_bad, want_linktype;
	int batches;
};

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms)
{
	struct run *r = user;
	if (ev != FLOW_EV_EXPIRE) /* as skydive flows: a flow once, when it leaves */
		return;
	buf_puts(&r->out, r->emitted++ ? "," : "[");
	flow_json_write(&r->out, t, f, lu_start_ms, lu_last_ms);
}

static int on_raw_flows(void *user, const struct flow_table *t, const struct flow *const *flows,
			int nflows, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
			uint64_t ts_ns)
{
	struct run *r = user;
	r->raw_calls++;
	if (flow_table_linktype(t) != r->want_linktype)
		r->raw_linktype_bad++;
	return 0;
}

static int after_batch(void *user, int n, uint64_t now_ns)
{
	struct run *r = user;
	r->batches++;
	assert_true(n > 0); /* a file: the loop ends at its end, no idle batches */
	return 0;
}

/* Options of a cases.txt line this test knows; 0, or -1 for a case to leave
 * to tests/golden/run.sh (application ports). Words in double quotes group. */
static int parse_opts(char *s, struct flow_table_opts *o, char **bpf)
{
	char *words[16];
	int n = 0;
	while (*s && n < 16) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (*s == '"') {
			words[n++] = ++s;
			while (*s && *s != '"')
				s++;
		} else {
			words[n++] = s;
			while (*s && *s != ' ' && *s != '\t')
				s++;
		}
		if (*s)
			*s++ = 0;
	}
	for (int i = 0; i < n; i++) {
		const char *w = words[i], *v = i + 1 < n ? words[i + 1] : NULL;
		if (!strcmp(w, "--extra-tcp-metric")) {
			o->extra_tcp_metric = 1;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(w, "--layer-key-mode"))
			assert_int_equal(flow_key_mode_parse(v, &o->key_mode), 0);
		else if (!strcmp(w, "--node-tid"))
			o->node_tid = v;
		else if (!strcmp(w, "--capture-id"))
			o->capture_id = v;
		else if (!strcmp(w, "--rawpacket-limit"))
			o->raw_packet_limit = atoi(v);
		else if (!strcmp(w, "--bpf"))
			*bpf = (char *)v;
		else
			return -1;
	}
	return 0;
}

/* Flows by UUID: every expected flow equal to the one with its UUID. */
static int same_flows(const json_t *exp, const json_t *got, const char *name)
{
	size_t i, j;
	json_t *e, *g;
	if (json_array_size(exp) != json_array_size(got)) {
		print_error("%s: %zu flows, expected %zu\n", name, json_array_size(got),
			    json_array_size(exp));
		return 0;
	}
	json_array_foreach(exp, i, e)
	{
		const char *uuid = json_string_value(json_object_get(e, "UUID"));
		int found = 0;
		json_array_foreach(got, j, g)
		{
			const char *u = json_string_value(json_object_get(g, "UUID"));
			if (uuid && u && !strcmp(uuid, u)) {
				found = 1;
				if (!json_equal(e, g)) {
					char *es = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT);
					char *gs = json_dumps(g, JSON_SORT_KEYS | JSON_COMPACT);
					print_error("%s: flow %s\n expected %s\n got      %s\n", name,
						    uuid, es, gs);
					free(es);
					free(gs);
					return 0;
				}
			}
		}
		if (!found) {
			print_error("%s: no flow %s\n", name, uuid ? uuid : "?");
			return 0;
		}
	}
	return 1;
}

static void test_golden_cases_through_the_loop(void **state)
{
	if (!pcap_dir[0])
		skip(); /* no python3/scapy: tests/golden/run.sh says so too */
	FILE *cases = fopen("tests/golden/cases.txt", "r");
	assert_non_null(cases);
	char line[512];
	int ran = 0, raw_cases = 0;
	while (fgets(line, sizeof(line), cases)) {
		line[strcspn(line, "\n")] = 0;
		char name[64], pcap[64];
		int off = 0;
		if (line[0] == '#' || sscanf(line, "%63s %63s %n", name, pcap, &off) < 2)
			continue;
		struct flow_table_opts o = {0};
		char *bpf = NULL;
		if (parse_opts(line + off, &o, &bpf))
			continue;

		char path[512], err[512];
		snprintf(path, sizeof(path), "%s/%s", pcap_dir, pcap);
		struct capture *c = capture_open_file(path, err, sizeof(err));
		assert_non_null(c);
		if (bpf)
			assert_int_equal(capture_set_filter(c, bpf, err, sizeof(err)), 0);
		struct run r = {.want_linktype = capture_linktype(c)};
		buf_init(&r.out, NULL);
		struct flow_table *t = flow_table_new(&o, on_emit, NULL, &r, err, sizeof(err));
		assert_non_null(t);
		flow_table_set_raw_flows(t, on_raw_flows);
		struct flow_loop_opts lo = {.after_batch = after_batch, .user = &r};
		assert_int_equal(flow_loop_run(c, t, &lo), 0);
		buf_puts(&r.out, r.emitted ? "]" : "[]");
		buf_putc(&r.out, 0);
		assert_true(r.batches >= 1);
		/* Every frame the file gave went to the table. */
		struct capture_stats cs;
		capture_stats(c, &cs);
		assert_int_equal(flow_table_stats(t)->packets, cs.received);
		assert_int_equal(flow_table_stats(t)->flow_count, 0); /* flushed */

		json_error_t je;
		json_t *got = json_loads(r.out.data, 0, &je);
		assert_non_null(got);
		snprintf(path, sizeof(path), "tests/golden/expected/%s.json", name);
		json_t *exp = json_load_file(path, 0, &je);
		assert_non_null(exp);
		assert_true(same_flows(exp, got, name));
		if (o.raw_packet_limit) {
			raw_cases++;
			assert_true(r.raw_calls > 0);
			assert_int_equal(r.raw_linktype_bad, 0);
		}
		json_decref(got);
		json_decref(exp);
		buf_free(&r.out);
		flow_table_free(t);
		capture_close(c);
		ran++;
	}
	fclose(cases);
	print_message("%d golden cases through the loop, %d with raw packets\n", ran, raw_cases);
	assert_true(ran >= 30); /* nearly every golden case ran here */
	assert_true(raw_cases >= 3);
}

/* A stream cut in the middle of a record: the loop says -EIO, and the flows
 * read before it still leave the table (flushed). */
static void test_corrupt_file_still_flushes(void **state)
{
	if (!pcap_dir[0])
		skip();
	char in[512], cut[512], err[512];
	snprintf(in, sizeof(in), "%s/tcp.pcap", pcap_dir);
	snprintf(cut, sizeof(cut), "%s/tcp_cut.pcap", pcap_dir);
	FILE *f = fopen(in, "rb");
	assert_non_null(f);
	uint8_t b[4096];
	size_t n = fread(b, 1, sizeof(b), f);
	fclose(f);
	/* header (24) + the first record (16 + caplen) + 20 bytes of the next */
	uint32_t caplen1 = b[32] | b[33] << 8 | b[34] << 16 | (uint32_t)b[35] << 24;
	size_t keep = 24 + 16 + caplen1 + 20;
	assert_true(keep < n);
	f = fopen(cut, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, keep, f), keep);
	fclose(f);

	struct capture *c = capture_open_file(cut, err, sizeof(err));
	assert_non_null(c);
	struct run r = {0};
	buf_init(&r.out, NULL);
	struct flow_table_opts o = {0};
	struct flow_table *t = flow_table_new(&o, on_emit, NULL, &r, err, sizeof(err));
	assert_non_null(t);
	struct flow_loop_opts lo = {0};
	assert_int_equal(flow_loop_run(c, t, &lo), -EIO);
	assert_non_null(strstr(capture_error(c), "truncated"));
	assert_int_equal(flow_table_stats(t)->packets, 1);
	assert_int_equal(r.emitted, 1); /* the first packet's flow left the table */
	buf_free(&r.out);
	flow_table_free(t);
	capture_close(c);
}

/* POST /api/pcap runs the same loop: a VXLAN frame kept by the outer and the
 * inner flow (raw packet limit 1) is given to each of them, the same bytes,
 * and the flows are the golden case's (UUIDs and RawPacketsCaptured from
 * tests/golden/expected/vxlan_raw1_tid.json). */
static void test_pcap_import_keeps_tunnel_frames(void **state)
{
	if (!pcap_dir[0])
		skip();
	char path[512];
	snprintf(path, sizeof(path), "%s/vxlan.pcap", pcap_dir);
	struct flow_store *st = flow_store_new(NULL);
	assert_non_null(st);
	struct rest_pcap_opts o = {.raw_packet_limit = 1, .node_tid = "node-1",
				   .now_ms = 1700000000000 + 10000};
	struct rest_pcap_result r;
	assert_int_equal(rest_pcap_ingest(st, path, &o, &r), 0);
	json_error_t je;
	json_t *exp = json_load_file("tests/golden/expected/vxlan_raw1_tid.json", 0, &je);
	assert_non_null(exp);
	assert_int_equal(r.flows, json_array_size(exp));
	json_t *flows = flow_store_query(st, NULL, 0, 0, &(struct gremlin_error){0});
	json_t *raw = flow_store_raw_packets(st, flows);
	assert_non_null(raw);
	size_t i, j;
	json_t *e, *it;
	const char *data = NULL;
	int with_raw = 0;
	json_array_foreach(exp, i, e)
	{
		const char *uuid = json_string_value(json_object_get(e, "UUID"));
		json_int_t n = json_integer_value(json_object_get(e, "RawPacketsCaptured"));
		json_t *pk = NULL;
		json_array_foreach(raw, j, it)
			if (json_object_get(it, uuid))
				pk = json_object_get(it, uuid);
		assert_int_equal(pk ? (json_int_t)json_array_size(pk) : 0, n);
		if (!n)
			continue;
		with_raw++;
		const char *d = json_string_value(json_object_get(json_array_get(pk, 0), "Data"));
		assert_non_null(d);
		if (data)
			assert_string_equal(d, data); /* the outer and inner flow: one frame */
		data = d;
	}
	assert_int_equal(with_raw, 2);
	assert_int_equal(r.raw_kept, 2);
	json_decref(raw);
	json_decref(flows);
	json_decref(exp);
	flow_store_free(st);
}

/* A record source (the ebpf capture) through the same loop: polled until
 * after_batch says stop, polled once more, flushed; a failed poll ends the
 * loop with its error, the flows flushed. */
struct rec_src {
	int polls, fail_at, batches, stop_after;
	uint64_t last_n;
};

static int rec_poll(void *user, struct flow_table *t)
{
	struct rec_src *r = user;
	if (++r->polls == r->fail_at)
		return -EIO;
	struct flow_record rec;
	memset(&rec, 0, sizeof(rec));
	rec.h.mac_src[5] = 1;
	rec.h.mac_dst[5] = 2;
	rec.h.ip_ver = 4;
	rec.h.ip_src[0] = 10;
	rec.h.ip_dst[0] = 11;
	rec.h.proto = 17;
	rec.h.sport = 1000;
	rec.h.dport = 2000;
	rec.ab_packets = 1;
	rec.ab_bytes = 100;
	rec.first_ns = rec.last_ns = time_now_ns();
	assert_int_equal(flow_table_feed_record(t, &rec), 0);
	return 1;
}

static int rec_after(void *user, int n, uint64_t now)
{
	struct rec_src *r = user;
	assert_true(n == 0 || n == 1);
	return ++r->batches >= r->stop_after;
}

struct rec_seen {
	int n;
	uint64_t packets;
};

static void rec_emit(void *user, const struct flow_table *t, const struct flow *f,
		     enum flow_event ev, int64_t s, int64_t l)
{
	struct rec_seen *x = user;
	if (ev == FLOW_EV_EXPIRE) {
		x->n++;
		x->packets = f->ab_packets + f->ba_packets;
	}
}

static void test_record_source(void **state)
{
	char err[256];
	struct flow_table_opts o = {0};
	struct rec_seen x = {0};
	struct flow_table *t = flow_table_new(&o, rec_emit, NULL, &x, err, sizeof(err));
	assert_non_null(t);
	struct rec_src r = {.stop_after = 3};
	struct flow_loop_records src = {rec_poll, &r, 1};
	struct flow_loop_opts lo = {.after_batch = rec_after, .user = &r};
	assert_int_equal(flow_loop_run_records(&src, t, &lo), 0);
	assert_int_equal(r.batches, 3);
	/* the 2nd and 3rd rounds come after a nap longer than the period, and
	 * one poll follows the stop */
	assert_true(r.polls >= 3);
	assert_int_equal(x.n, 1); /* flushed */
	assert_int_equal(x.packets, (uint64_t)r.polls);
	flow_table_free(t);

	struct rec_seen y = {0};
	t = flow_table_new(&o, rec_emit, NULL, &y, err, sizeof(err));
	assert_non_null(t);
	struct rec_src f = {.stop_after = 1000, .fail_at = 2};
	src.src = &f;
	lo.user = &f;
	assert_int_equal(flow_loop_run_records(&src, t, &lo), -EIO);
	assert_int_equal(f.polls, 2); /* no poll after a failure */
	assert_int_equal(y.n, 1);
	assert_int_equal(y.packets, 1);
	flow_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_cases_through_the_loop),
		cmocka_unit_test(test_corrupt_file_still_flushes),
		cmocka_unit_test(test_pcap_import_keeps_tunnel_frames),
		cmocka_unit_test(test_record_source),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
