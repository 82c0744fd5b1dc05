/* fuzz_linkinfo.c - libFuzzer target for the bond data parser of RTM_NEWLINK messages
 * (topo_bond_parse, src/topology/topo_fields.c): the input is one netlink message as
 * the kernel would send it. Checks on top of the sanitizers: a refused message leaves
 * the result zeroed; an accepted one gives a bond mode name and a BondSlave object
 * whose PermMAC, when present, is as long as the address parsed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topology/topo_fields.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the kernel's messages are 4-byte aligned: so is the copy */
	uint32_t *buf = malloc(size / 4 * 4 + 8);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct topo_bond b;
	memset(&b, 0x5a, sizeof(b));
	int rc = topo_bond_parse(buf, size, &b);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		struct topo_bond zero;
		memset(&zero, 0, sizeof(zero));
		CHECK(!memcmp(&b, &zero, sizeof(b)));
	} else {
		CHECK(topo_bond_mode_name(b.mode) != NULL);
		CHECK(b.perm_mac_len <= sizeof(b.perm_mac));
		json_t *j = topo_bond_slave_json(&b);
		CHECK(j);
		const char *pm = json_string_value(json_object_get(j, "PermMAC"));
		CHECK(b.perm_mac_len ? pm && strlen(pm) == (size_t)b.perm_mac_len * 3 - 1 : !pm);
		json_decref(j);
	}
	free(buf);
	return 0;
}
