/* capture_target_int.h - what capture_target.c, target_netflow.c and
 * target_erspan.c share (not for other modules). */
#ifndef SKYDIVE_CAPTURE_TARGET_INT_H
#define SKYDIVE_CAPTURE_TARGET_INT_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "agent/capture_target.h"

struct capture_target {
	enum capture_target_type type;
	char target[272];
	int fd;
	struct sockaddr_storage addr; /* erspanv1: sendmsg's destination */
	socklen_t addrlen;
	uint32_t ifindex;
	int64_t boot_ms;          /* netflowv5: SysUptime 0, the wall clock at open */
	atomic_uint_fast32_t seq; /* netflowv5: records sent before; erspanv1: GRE sequence */
	/* counters (any lane) */
	atomic_uint_fast64_t sent, datagrams, send_errors, dropped, skipped_ipv6, skipped_nonip,
	    skipped_nonether;
	atomic_int last_errno;
};

/* A failed send of one datagram carrying n records or frames. */
void capture_target_count_error(struct capture_target *ct, int err, uint64_t n);

/* The type-specific halves of capture_target_open: the socket (ct->fd) for
 * the resolved address; 0 or -1 with err filled. */
int target_netflow_open(struct capture_target *ct, const char *host, int port, char *err,
                        size_t errlen);
int target_erspan_open(struct capture_target *ct, const char *host, char *err, size_t errlen);

#endif
