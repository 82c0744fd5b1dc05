/* flow_udp.c - flow.Message datagrams into the flow ingest (flow_udp.h). */
#include "analyzer/flow_udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

struct flow_udp {
	struct flow_ingest *fi;
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	char address[300];
	_Atomic uint64_t datagrams, bytes, truncated, dropped, errors;
	unsigned char buf[FLOW_UDP_MAX + 1]; /* one more: a longer datagram is seen as such */
};

static void sender_name(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
	snprintf(out, len, "%s", ip);
}

static void *udp_thread(void *arg)
{
	struct flow_udp *u = arg;
	int logged_trunc = 0, logged_drop = 0;
	for (;;) {
		struct pollfd pf[2] = {{.fd = u->fd, .events = POLLIN},
		                       {.fd = u->stop_pipe[0], .events = POLLIN}};
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			u->errors++;
			log_error("flow udp: poll: %s", strerror(errno));
			break;
		}
		if (pf[1].revents)
			break;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		/* MSG_TRUNC: the datagram's real length, so one cut short is known */
		ssize_t n = recvfrom(u->fd, u->buf, sizeof(u->buf), MSG_TRUNC | MSG_DONTWAIT,
		                     (struct sockaddr *)&ss, &sl);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				u->errors++;
				log_warn("flow udp: receive: %s", strerror(errno));
			}
			continue;
		}
		char host[INET6_ADDRSTRLEN + 8];
		sender_name(&ss, host, sizeof(host));
		if ((size_t)n > FLOW_UDP_MAX) {
			u->truncated++;
			if (!logged_trunc++)
				log_warn("flow udp: a datagram of %zd bytes from %s is larger than %d: "
				         "dropped (counted in /api/status Flows.UDP.Truncated)",
				         n, host, FLOW_UDP_MAX);
			continue;
		}
		u->datagrams++;
		u->bytes += (uint64_t)n;
		int rc = flow_ingest_submit(u->fi, host, host, u->buf, (size_t)n,
		                            (int64_t)(time_now_ns() / 1000000));
		if (rc == -ENOBUFS || rc == -ENOMEM) {
			u->dropped++;
			if (!logged_drop++)
				log_warn("flow udp: flow datagram from %s dropped: %s (counted in "
				         "/api/status Flows.IngestQueue.Dropped and Flows.UDP.Dropped)",
				         host, rc == -ENOBUFS ? "the flow-ingest queue is full"
				                              : "out of memory");
		}
	}
	return NULL;
}

struct flow_udp *flow_udp_start(struct flow_ingest *fi, const char *host, int port, char *err,
                                size_t errlen)
{
	struct flow_udp *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->fi = fi;
	u->fd = -1;
	u->stop_pipe[0] = u->stop_pipe[1] = -1;
	const char *h = host && *host ? host : "0.0.0.0";
	snprintf(u->address, sizeof(u->address), strchr(h, ':') ? "[%s]:%d" : "%s:%d", h, port);
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST | AI_PASSIVE},
	                *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof(ps), "%d", port);
	int gai = getaddrinfo(h, ps, &hints, &ai);
	if (gai) {
		snprintf(err, errlen, "cannot bind UDP %s for flow.protocol udp: %s", u->address,
		         gai_strerror(gai));
		goto fail;
	}
	u->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u->fd < 0 || bind(u->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, errlen, "cannot bind UDP %s for flow.protocol udp: %s", u->address,
		         strerror(errno));
		freeaddrinfo(ai);
		goto fail;
	}
	freeaddrinfo(ai);
	/* bursts of flow updates: ask for a receive buffer of 4 MiB (the kernel caps it) */
	int rb = 4 << 20;
	setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	if (pipe2(u->stop_pipe, O_CLOEXEC) < 0 || pthread_create(&u->thread, NULL, udp_thread, u)) {
		snprintf(err, errlen, "cannot start the flow UDP receiver: %s", strerror(errno));
		goto fail;
	}
	log_info("analyzer: flows from Skydive agents on UDP %s (flow.protocol udp; no "
	         "authentication on this transport)",
	         u->address);
	return u;
fail:
	if (u->fd >= 0)
		close(u->fd);
	if (u->stop_pipe[0] >= 0) {
		close(u->stop_pipe[0]);
		close(u->stop_pipe[1]);
	}
	free(u);
	return NULL;
}

void flow_udp_stop(struct flow_udp *u)
{
	if (!u)
		return;
	if (write(u->stop_pipe[1], "x", 1) < 0)
		log_warn("flow udp: cannot wake the receiver: %s", strerror(errno));
	pthread_join(u->thread, NULL);
	close(u->fd);
	close(u->stop_pipe[0]);
	close(u->stop_pipe[1]);
	free(u);
}

void flow_udp_stats(struct flow_udp *u, struct flow_udp_stats *out)
{
	out->datagrams = u->datagrams;
	out->bytes = u->bytes;
	out->truncated = u->truncated;
	out->dropped = u->dropped;
	out->errors = u->errors;
}

json_t *flow_udp_status(struct flow_udp *u)
{
	struct flow_udp_stats s;
	flow_udp_stats(u, &s);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "Address", u->address, "Datagrams",
	                 (json_int_t)s.datagrams, "Bytes", (json_int_t)s.bytes, "Truncated",
	                 (json_int_t)s.truncated, "Dropped", (json_int_t)s.dropped, "Errors",
	                 (json_int_t)s.errors);
}
