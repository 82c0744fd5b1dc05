/* fuzz_flow_pb.c - libFuzzer target for the flow frames the analyzer ingests on
 * /ws/agent/flow: flow_ingest_frame (protobuf-c flow.Message) into a small flow store,
 * then every read of the store (query, raw packets, metrics, updates, status).
 *
 * The input is a sequence of frames, each "H LL LL" + bytes: H picks the agent host
 * (H % 3), LL LL the frame length (big-endian; cut to what is left). Seeds are made by
 * the agent's own encoder (fuzz/make_flow_pb_corpus.c, src/agent/flow_pb.c). Checks on
 * top of the sanitizers:
 *  - a frame is refused (-EINVAL) exactly when protobuf-c cannot unpack it, never half
 *    taken; the per-host counters add up (Messages, DecodeErrors, Flows + FlowsRejected
 *    = the flows of the decoded frames, RawPackets + RawPacketsRejected likewise);
 *  - the store never holds more flows than its bound, nor more than were stored, nor
 *    more raw bytes (nor raw records, raw_max_bytes / 32) than its budget; a query lists exactly the flows it counts, each
 *    with a hex UUID of at most 16 digits, and raw packets / metrics / updates of those flows read
 *    back as well-formed JSON. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/flow_ingest.h"
#include "flow.pb-c.h"
#include "store/flow_store.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FZ_MAX_INPUT  (256u << 10)
#define MAX_FLOWS  16          /* small, so eviction runs */
#define RAW_BUDGET (16u << 10) /* likewise for the raw packet budget */

static const char *const hosts[3] = {"agent-a", "agent-b", "agent-c"};

struct expect {
	int64_t messages, decode_errors, flows, raw;
};

static int64_t count(json_t *h, const char *k)
{
	json_t *v = json_object_get(h, k);
	CHECK(json_is_integer(v));
	return json_integer_value(v);
}

/* Skydive's UUIDs: a 64-bit number in hex without leading zeros (Go's %x) */
static int hex16(const char *s)
{
	if (!s || !*s || strlen(s) > 16 || (s[0] == '0' && s[1]))
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		return 0;
	struct flow_store_opts o = {.max_flows = MAX_FLOWS, .max_age_ms = 60000,
	                            .raw_max_bytes = RAW_BUDGET, .max_updates = 4};
	struct flow_store *s = flow_store_new(&o);
	CHECK(s);
	struct flow_ingest *fi = flow_ingest_new(s);
	CHECK(fi);
	struct expect ex[3] = {{0}};
	int64_t now = 1700000000000ll;
	uint64_t stored_ok = 0;
	size_t off = 0;
	while (off + 3 <= size) {
		unsigned h = data[off] % 3;
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		/* an exact-size copy, so a read past the frame hits ASan's redzone */
		uint8_t *frame = malloc(len ? len : 1);
		CHECK(frame);
		memcpy(frame, data + off, len);
		off += len;
		now += 100;

		Flow__Message *ref = flow__message__unpack(NULL, len, frame);
		char err[256];
		memset(err, 0x5a, sizeof(err));
		int rc = flow_ingest_frame(fi, hosts[h], frame, len, now, err, sizeof(err));
		ex[h].messages++;
		if (!ref) {
			CHECK(rc == -EINVAL || rc == -ENOMEM);
			CHECK(memchr(err, 0, sizeof(err)) && *err);
			if (rc == -EINVAL)
				ex[h].decode_errors++;
		} else {
			CHECK(rc == 0 || rc == -ENOMEM);
			if (rc == 0) {
				ex[h].flows += (int64_t)ref->n_flows;
				stored_ok += ref->n_flows; /* at most these can be kept */
				for (size_t i = 0; i < ref->n_flows; i++)
					ex[h].raw += (int64_t)ref->flows[i]->n_lastrawpackets;
			}
			flow__message__free_unpacked(ref, NULL);
		}
		free(frame);
	}

	/* the counters add up */
	json_t *st = flow_ingest_status_json(fi);
	CHECK(st);
	for (int h = 0; h < 3; h++) {
		json_t *hj = json_object_get(st, hosts[h]);
		if (!ex[h].messages) {
			CHECK(!hj);
			continue;
		}
		CHECK(json_is_object(hj));
		CHECK(count(hj, "Messages") == ex[h].messages);
		CHECK(count(hj, "DecodeErrors") == ex[h].decode_errors);
		CHECK(count(hj, "Flows") + count(hj, "FlowsRejected") == ex[h].flows);
		CHECK(count(hj, "RawPackets") + count(hj, "RawPacketsRejected") == ex[h].raw);
		CHECK(count(hj, "Errors") >= 0);
		CHECK(json_is_object(json_object_get(hj, "Captures")));
	}
	char *dump = json_dumps(st, JSON_COMPACT);
	CHECK(dump);
	free(dump);
	json_decref(st);

	/* the store's bounds */
	struct flow_store_stats fs;
	flow_store_stats(s, &fs);
	CHECK(fs.flows <= MAX_FLOWS);
	CHECK(fs.flows <= stored_ok);
	CHECK(fs.raw_bytes <= RAW_BUDGET);
	CHECK(fs.raw_packets * 32 <= RAW_BUDGET); /* records are bounded, even empty ones */
	CHECK(fs.ingested >= fs.flows);

	/* and its reads */
	struct gremlin_error ge;
	json_t *flows = flow_store_query(s, NULL, 0, 0, &ge);
	CHECK(flows && json_is_array(flows));
	CHECK(json_array_size(flows) == fs.flows);
	size_t i;
	json_t *f;
	json_array_foreach(flows, i, f)
	{
		const char *uuid = json_string_value(json_object_get(f, "UUID"));
		CHECK(hex16(uuid));
		uint64_t u = strtoull(uuid, NULL, 16);
		json_t *upd = flow_store_updates(s, u);
		CHECK(upd && json_is_array(upd) && json_array_size(upd) <= 4);
		json_decref(upd);
	}
	json_t *raw = flow_store_raw_packets(s, flows);
	CHECK(raw && json_is_array(raw));
	json_decref(raw);
	json_t *met = flow_store_metrics(s, flows);
	CHECK(met && json_is_object(met));
	json_decref(met);
	/* a time window query: at the last ingest, over the last second */
	json_t *win = flow_store_query(s, NULL, now, 1000, &ge);
	CHECK(win && json_array_size(win) <= fs.flows);
	json_decref(win);
	json_t *tids = json_pack("[ss]", "node-tid-1", "");
	json_t *by = flow_store_query(s, tids, 0, 0, &ge);
	CHECK(by && json_array_size(by) <= fs.flows);
	json_decref(by);
	json_decref(tids);
	dump = json_dumps(flows, JSON_COMPACT);
	CHECK(dump);
	free(dump);
	json_decref(flows);
	json_t *sj = flow_store_status_json(s);
	CHECK(sj);
	json_decref(sj);

	flow_ingest_free(fi);
	flow_store_free(s);
	return 0;
}
