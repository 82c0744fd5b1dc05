/* fuzz_ofctl.c - libFuzzer target for ovs-ofctl's flow and group text
 * (topology/ofctl_parse.h), what the OpenFlow rule probe reads from dump-flows and
 * dump-groups. The input is one line; byte 0's low bit picks the group parser.
 * Checks on top of the sanitizers:
 *  - the answer is 0, -EINVAL with a message and a position within the line, or
 *    -ENOMEM; a refusal leaves the result empty;
 *  - an accepted rule has a priority 0..65535 and a table 0..255, its metadata is an
 *    ofrule with Skydive's keys that serialises, its UUID is a UUID, and parsing the
 *    same line again gives the same rule;
 *  - an accepted group has buckets each with an Actions array, and metadata that
 *    serialises. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topology/ofctl_parse.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 8192

static void check_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	CHECK(s);
	free(s);
}

static void rule(const char *line, size_t len)
{
	struct ofctl_rule r;
	struct ofctl_error err = {0};
	int rc = ofctl_parse_rule(line, len, &r, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc) {
		CHECK(err.msg[0]);
		CHECK(err.pos <= len);
		CHECK(!r.filters && !r.actions && !r.meta && !r.raw_filter);
		return;
	}
	CHECK(r.priority <= 65535 && r.table <= 255);
	CHECK(json_is_array(r.filters) && json_is_array(r.actions) && json_array_size(r.actions));
	CHECK(r.raw_filter);
	char u[TOPOLOGY_ID_LEN];
	CHECK(ofctl_rule_uuid(u, "/run/db.sock-br-", &r) == 0 && strlen(u) == 36 && u[14] == '5');
	json_t *md = ofctl_rule_metadata(&r, u);
	CHECK(md);
	CHECK(!strcmp(json_string_value(json_object_get(md, "Type")), "ofrule"));
	const char *cookie = json_string_value(json_object_get(md, "Cookie"));
	CHECK(cookie && !strncmp(cookie, "0x", 2));
	CHECK(json_is_integer(json_object_get(md, "Table")) &&
	      json_is_integer(json_object_get(md, "Priority")));
	check_json(md);
	struct ofctl_rule r2;
	CHECK(ofctl_parse_rule(line, len, &r2, &err) == 0);
	CHECK(r2.cookie == r.cookie && r2.table == r.table && r2.priority == r.priority);
	CHECK(!strcmp(r2.raw_filter, r.raw_filter));
	CHECK(json_equal(r2.filters, r.filters) && json_equal(r2.actions, r.actions));
	ofctl_rule_clear(&r2);
	json_decref(md);
	ofctl_rule_clear(&r);
	CHECK(!r.filters && !r.raw_filter);
}

static void group(const char *line, size_t len)
{
	struct ofctl_group gr;
	struct ofctl_error err = {0};
	int rc = ofctl_parse_group(line, len, &gr, &err);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc) {
		CHECK(err.msg[0]);
		CHECK(err.pos <= len);
		CHECK(!gr.meta && !gr.buckets);
		return;
	}
	size_t i;
	json_t *b;
	json_array_foreach(gr.buckets, i, b)
	{
		CHECK(json_is_array(json_object_get(b, "Actions")));
		CHECK(json_is_integer(json_object_get(b, "Id")));
	}
	char u[TOPOLOGY_ID_LEN];
	CHECK(ofctl_group_uuid(u, "/run/db.sock-br-", gr.group_id) == 0);
	json_t *md = ofctl_group_metadata(&gr, u);
	CHECK(md);
	check_json(md);
	json_decref(md);
	ofctl_group_clear(&gr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > FZ_MAX_INPUT)
		return 0;
	const char *line = (const char *)data + 1;
	if (data[0] & 1)
		group(line, size - 1);
	else
		rule(line, size - 1);
	return 0;
}
