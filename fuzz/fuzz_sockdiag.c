/* fuzz_sockdiag.c - libFuzzer target for the socketinfo probe's sock_diag reply parser
 * (socketinfo_parse, src/topology/socketinfo.c): the input is what one recv() of a
 * NETLINK_SOCK_DIAG dump gives (netlink messages, inet_diag_msg bodies). Byte 0 picks
 * the protocol (bit 0: TCP/UDP) and the bound (bits 1-3: 0..7 sockets); the rest is
 * the buffer, 64 KiB at most. Checks on top of the sanitizers: the result is 1, 0,
 * -EPROTO or a kernel -errno; the sockets kept stay within the bound and the overflow
 * counts the rest only once the bound is reached; each kept socket has the protocol
 * asked, an IPv4 or IPv6 family and serialises to ConnectionInfo JSON. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "topology/socketinfo.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	uint8_t proto = data[0] & 1 ? IPPROTO_UDP : IPPROTO_TCP;
	size_t max = (data[0] >> 1) & 7;
	data++;
	size--;
	/* the kernel's buffers are 4-byte aligned: so is the copy */
	uint32_t *buf = malloc(size / 4 * 4 + 8);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct socketinfo_sock out[8];
	size_t n = 0;
	uint64_t over = 0;
	int rc = socketinfo_parse(buf, size, proto, out, max, &n, &over);
	CHECK(rc == 1 || rc == 0 || (rc < 0 && rc > -4096));
	CHECK(n <= max);
	CHECK(!over || n == max);
	struct socketinfo_proc p = {.pid = 1, .name = "x", .process = "/x"};
	for (size_t i = 0; i < n; i++) {
		CHECK(out[i].proto == proto);
		CHECK(out[i].family == AF_INET || out[i].family == AF_INET6);
		json_t *j = socketinfo_sock_json(&out[i], &p);
		CHECK(j);
		CHECK(json_integer_value(json_object_get(j, "LocalPort")) == out[i].lport);
		CHECK(socketinfo_state_name(out[i].state) != NULL);
		json_decref(j);
	}
	free(buf);
	return 0;
}
