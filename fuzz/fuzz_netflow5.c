/* fuzz_netflow5.c - libFuzzer target for the NetFlow v5 parser
 * (decode/netflow5.h): the input is one datagram. Checks that an accepted
 * datagram has exactly the length its count announces and that every record
 * reads within it. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/netflow5.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	/* An exact-size copy, so any read past the end hits ASan's redzone. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct netflow5_header h;
	const char *why = NULL;
	int rc = netflow5_parse_header(buf, size, &h, &why);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(why && *why);
	} else {
		CHECK(h.version == 5 && h.count >= 1 && h.count <= NETFLOW5_MAX_RECORDS);
		CHECK(size == NETFLOW5_HEADER_LEN + (size_t)h.count * NETFLOW5_RECORD_LEN);
		for (unsigned i = 0; i < h.count; i++) {
			struct netflow5_record r;
			netflow5_record(buf, i, &r);
			CHECK(!memcmp(r.ip_src, buf + 24 + 48 * i, 4));
		}
	}
	free(buf);
	return 0;
}
