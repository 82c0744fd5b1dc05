/* fuzz_inject_req.c - libFuzzer target for the injection request an agent receives
 * (src/inject/inject_req.h: inject_req_from_json, Skydive's PacketInjectionRequest in an
 * OnDemandPacketInjection Start), then the frames it would send.
 *
 * Input: JSON text (cut at FZ_MAX_INPUT).
 * Checks on top of the sanitizers:
 *  - a refused request says why;
 *  - an accepted one encodes (inject_req_to_json) and parses again to the same request;
 *  - its first and last frames build within forge_header_len + the largest payload, and
 *    give a TrackingID. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "inject/inject_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	json_t *j = json_loadb((const char *)data, size, 0, NULL);
	if (!j)
		return 0;
	struct inject_req r, back;
	char err[512] = "";
	if (inject_req_from_json(j, &r, err, sizeof(err))) {
		CHECK(err[0]);
		json_decref(j);
		return 0;
	}
	json_t *o = inject_req_to_json(&r);
	CHECK(o);
	CHECK(inject_req_from_json(o, &back, err, sizeof(err)) == 0);
	json_t *o2 = inject_req_to_json(&back);
	CHECK(json_equal(o, o2));
	size_t base = r.payload_len ? r.payload_len : INJECT_DEFAULT_PAYLOAD;
	size_t last = base + (size_t)r.inc_payload * (size_t)(r.count - 1);
	CHECK(last <= FORGE_MAX_PAYLOAD);
	size_t cap = forge_header_len(r.type) + last;
	uint8_t *f = malloc(cap), *pl = calloc(1, last + 1);
	CHECK(f && pl);
	int n = inject_req_frame(&r, 0, r.icmp_id, r.src_port, 0, pl, base, f, cap);
	CHECK(n == (int)(forge_header_len(r.type) + base));
	char tid[17], l3[17];
	CHECK(inject_tracking_ids(f, (size_t)n, FLOW_KEY_L2, tid, l3) == 0);
	n = inject_req_frame(&r, r.count - 1, r.icmp_id, r.src_port, 0, pl, last, f, cap);
	CHECK(n == (int)cap);
	free(f);
	free(pl);
	json_decref(o);
	json_decref(o2);
	inject_req_clear(&r);
	inject_req_clear(&back);
	json_decref(j);
	return 0;
}
