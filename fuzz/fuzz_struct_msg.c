/* fuzz_struct_msg.c - libFuzzer target for Skydive's protobuf StructMessage envelope
 * (src/wire/struct_msg.h): binary frames of agents with X-Client-Protocol: protobuf on
 * /ws/agent/topology, read on the graph writer thread.
 *
 * Input: one frame (cut at FZ_MAX_INPUT).
 * Checks on top of the sanitizers:
 *  - struct_msg_parse gives an envelope with a string Type, or NULL with a reason;
 *  - an envelope it gives encodes again (struct_msg_encode), and that frame parses to an
 *    equal envelope (the round trip is stable). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "wire/struct_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	char err[256] = "";
	json_t *e = struct_msg_parse(data, size, err, sizeof(err));
	if (!e) {
		CHECK(err[0]);
		return 0;
	}
	CHECK(json_is_string(json_object_get(e, "Type")));
	size_t len = 0;
	unsigned char *b = struct_msg_encode(e, 3, &len);
	CHECK(b);
	json_t *back = struct_msg_parse(b + 3, len, err, sizeof(err));
	CHECK(back);
	CHECK(json_equal(e, back));
	json_decref(back);
	json_decref(e);
	free(b);
	return 0;
}
