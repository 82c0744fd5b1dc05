/* target_erspan.c - the erspanv1 capture target: each captured frame in GRE +
 * ERSPAN type II (ERSPAN header version 1, draft-foschiano-erspan) sent over
 * a raw IPv4 GRE socket (see capture_target.h; Skydive's is
 * flow/probes/targets/erspan.go; docs/FLOWS.md lists where we differ). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "agent/capture_target.h"
#include "agent/capture_target_int.h"
#include "decode/decode.h"

#define GRE_S_BIT          0x1000 /* sequence number present */
#define GRE_PROTO_ERSPAN2  0x88be
#define ERSPAN_VERSION     1  /* type II */
#define ERSPAN_SESSION     1  /* as Skydive's target */
#define ERSPAN_EN_TAG_KEPT 3  /* Skydive's En: any VLAN tag stays in the frame */
#define ERSPAN_HDR         16 /* GRE with sequence (8) + ERSPAN II (8) */

int target_erspan_open(struct capture_target *ct, const char *host, char *err, size_t errlen)
{
	/* An address, not a name, as Skydive's (net.ParseIP): no DNS lookup on
	 * the agent's request thread. */
	struct addrinfo hints = {
	    .ai_family = AF_INET, .ai_socktype = SOCK_RAW, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc || !ai) {
		snprintf(err, errlen, "Target %s: expected an IPv4 address: %s", ct->target,
		         gai_strerror(rc));
		return -1;
	}
	memcpy(&ct->addr, ai->ai_addr, ai->ai_addrlen);
	ct->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	/* The kernel writes the IPv4 header (protocol 47) of what we send. */
	ct->fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_GRE);
	if (ct->fd < 0) {
		snprintf(err, errlen, "Target %s: raw GRE socket: %s", ct->target, strerror(errno));
		return -1;
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

void capture_target_frame(struct capture_target *ct, const struct capture_frame *f)
{
	if (f->linktype != DECODE_LINKTYPE_ETHERNET) {
		atomic_fetch_add(&ct->skipped_nonether, 1);
		return;
	}
	uint8_t h[ERSPAN_HDR];
	uint32_t seq = (uint32_t)atomic_fetch_add(&ct->seq, 1);
	put16(h, GRE_S_BIT);
	put16(h + 2, GRE_PROTO_ERSPAN2);
	put32(h + 4, seq);
	put16(h + 8, ERSPAN_VERSION << 12); /* VLAN 0 */
	int truncated = f->caplen < f->wirelen;
	put16(h + 10, (uint16_t)(ERSPAN_EN_TAG_KEPT << 11 | truncated << 10 | ERSPAN_SESSION));
	put32(h + 12, ct->ifindex & 0xfffff);
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)f->data, f->caplen}};
	struct msghdr m = {
	    .msg_name = &ct->addr, .msg_namelen = ct->addrlen, .msg_iov = iov, .msg_iovlen = 2};
	ssize_t w = sendmsg(ct->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w == (ssize_t)(sizeof(h) + f->caplen)) {
		atomic_fetch_add(&ct->datagrams, 1);
		atomic_fetch_add(&ct->sent, 1);
	} else {
		capture_target_count_error(ct, w < 0 ? errno : EMSGSIZE, 1);
	}
}
