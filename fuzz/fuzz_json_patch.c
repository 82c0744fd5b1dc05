/* fuzz_json_patch.c - libFuzzer target for JSON Patch (src/common/json_patch.h), the
 * body of PATCH /api/capture/<id>.
 *
 * Input: a JSON document, a '\n', a JSON Patch (anything JSON; cut at FZ_MAX_INPUT).
 * Checks on top of the sanitizers:
 *  - json_patch_apply returns 0, -EINVAL, -E2BIG or -ENOMEM, with a message on failure;
 *  - a failed patch leaves the document exactly as it was;
 *  - a patch json_patch_check refuses does not apply;
 *  - a patched document serialises (no cycle: "copy"/"move" never link a value into
 *    itself) and a second application of a patch of only "test"s changes nothing. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_patch.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	const uint8_t *nl = memchr(data, '\n', size);
	if (!nl)
		return 0;
	json_t *doc = json_loadb((const char *)data, (size_t)(nl - data), JSON_DECODE_ANY, NULL);
	json_t *patch = json_loadb((const char *)nl + 1, size - (size_t)(nl - data) - 1,
				   JSON_DECODE_ANY, NULL);
	if (doc && patch) {
		json_t *orig = json_deep_copy(doc);
		CHECK(orig);
		char err[256] = "";
		int checked = json_patch_check(patch, err, sizeof(err));
		err[0] = 0;
		int rc = json_patch_apply(&doc, patch, err, sizeof(err));
		CHECK(rc == 0 || rc == -EINVAL || rc == -E2BIG || rc == -ENOMEM);
		if (checked)
			CHECK(rc != 0);
		if (rc) {
			CHECK(err[0]);
			CHECK(json_equal(doc, orig));
		} else {
			char *s = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
			CHECK(s);
			free(s);
			int only_tests = json_array_size(patch) > 0;
			size_t i;
			json_t *op;
			json_array_foreach(patch, i, op)
				only_tests &= !strcmp(json_string_value(json_object_get(op, "op")), "test");
			if (only_tests) {
				CHECK(json_equal(doc, orig));
				CHECK(json_patch_apply(&doc, patch, err, sizeof(err)) == 0);
			}
		}
		json_decref(orig);
	}
	json_decref(doc);
	json_decref(patch);
	return 0;
}
