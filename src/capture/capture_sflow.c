/* capture_sflow.c - UDP sFlow v5 collector as a capture source (see
 * capture.h). One socket, read by the capture's thread in capture_dispatch;
 * the counters it keeps for the metadata are guarded by a mutex because they
 * are read from other threads (capture_sflow_info, capture_sflow_counters). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture/capture_int.h"
#include "common/log.h"
#include "common/util.h"
#include "decode/decode.h"
#include "decode/sflow.h"

#define SFLOW_BATCH 64    /* datagrams read per dispatch */


struct sflow_cap {
	struct capture base; /* first */
	int fd;
	uint32_t snaplen;
	int timeout_ms;
	char address[INET6_ADDRSTRLEN + 8];
	int have_filter;
	struct bpf_program prog;
	uint8_t buf[65536];
	/* in dispatch: the callback of the current call */
	capture_cb cb;
	void *user;
	int delivered;
	/* guarded by lock */
	pthread_mutex_t lock;
	uint64_t datagrams, datagram_errors, skipped_headers;
	uint32_t sampling_rate;
	int nifs, fresh;
	struct capture_sflow_if ifs[CAPTURE_SFLOW_MAX_IFS];
};

static void on_raw(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
		   const struct sflow_raw_header *h)
{
	struct sflow_cap *c = user;
	pthread_mutex_lock(&c->lock);
	c->sampling_rate = s->sampling_rate;
	int skip = h->linktype < 0 || (c->have_filter && h->linktype != DECODE_LINKTYPE_ETHERNET);
	if (skip)
		c->skipped_headers++;
	pthread_mutex_unlock(&c->lock);
	if (skip)
		return;
	uint32_t caplen = h->header_length < c->snaplen ? h->header_length : c->snaplen;
	uint32_t wirelen = h->frame_length > h->stripped ? h->frame_length - h->stripped : 0;
	if (wirelen < h->header_length)
		wirelen = h->header_length;
	if (c->have_filter && !bpf_filter(c->prog.bf_insns, h->header, wirelen, caplen))
		return;
	struct capture_frame f = {h->header, caplen, wirelen, time_now_ns(), h->linktype};
	c->base.linktype = h->linktype;
	c->base.received++;
	c->delivered++;
	c->cb(c->user, &f);
}

static void on_counters(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
			const struct sflow_if_counters *ic)
{
	struct sflow_cap *c = user;
	int64_t now = (int64_t)(time_now_ns() / 1000000);
	pthread_mutex_lock(&c->lock);
	int i;
	for (i = 0; i < c->nifs && c->ifs[i].c.if_index != ic->if_index; i++)
		;
	if (i == c->nifs) {
		if (c->nifs == CAPTURE_SFLOW_MAX_IFS) {
			pthread_mutex_unlock(&c->lock);
			return;
		}
		c->nifs++;
		c->ifs[i].start_ms = now;
	}
	c->ifs[i].c = *ic;
	c->ifs[i].last_ms = now;
	c->fresh = 1;
	pthread_mutex_unlock(&c->lock);
}

static int sflow_dispatch(struct capture *cap, int max, capture_cb cb, void *user)
{
	struct sflow_cap *c = (struct sflow_cap *)cap;
	struct pollfd pfd = {c->fd, POLLIN, 0};
	int pr = poll(&pfd, 1, c->timeout_ms);
	if (pr < 0 && errno != EINTR) {
		snprintf(c->base.err, sizeof(c->base.err), "sflow: poll: %s", strerror(errno));
		return -EIO;
	}
	if (pr <= 0)
		return 0;
	c->cb = cb;
	c->user = user;
	c->delivered = 0;
	struct sflow_callbacks scb = {on_raw, on_counters, c};
	int n = max > 0 ? max : SFLOW_BATCH;
	for (int i = 0; i < n; i++) {
		ssize_t len = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			snprintf(c->base.err, sizeof(c->base.err), "sflow: recv: %s",
				 strerror(errno));
			return -EIO;
		}
		struct sflow_error err;
		int rc = sflow_parse(c->buf, (size_t)len, &scb, NULL, NULL, &err);
		pthread_mutex_lock(&c->lock);
		c->datagrams++;
		uint64_t nerr = rc ? ++c->datagram_errors : 0;
		pthread_mutex_unlock(&c->lock);
		/* A bad exporter would fill the log: the first ten, then every 1000th. */
		if (rc && (nerr <= 10 || nerr % 1000 == 0))
			log_warn("sflow %s: datagram error #%llu at offset %u: %s", c->address,
				 (unsigned long long)nerr, err.offset, err.msg);
	}
	return c->delivered;
}

static int sflow_set_filter(struct capture *cap, const char *bpf, char *err, size_t errlen)
{
	struct sflow_cap *c = (struct sflow_cap *)cap;
	struct bpf_program prog;
	int rc = capture_bpf_compile(DECODE_LINKTYPE_ETHERNET, c->snaplen, bpf, &prog, err, errlen);
	if (rc)
		return rc;
	if (c->have_filter)
		pcap_freecode(&c->prog);
	c->prog = prog;
	c->have_filter = 1;
	return 0;
}

static int sflow_fd(const struct capture *cap)
{
	return ((const struct sflow_cap *)cap)->fd;
}

static void sflow_close(struct capture *cap)
{
	struct sflow_cap *c = (struct sflow_cap *)cap;
	if (c->fd >= 0)
		close(c->fd);
	if (c->have_filter)
		pcap_freecode(&c->prog);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct capture_ops sflow_ops = {
	.dispatch = sflow_dispatch,
	.set_filter = sflow_set_filter,
	.fd = sflow_fd,
	.close = sflow_close,
};

struct capture *capture_open_sflow(const struct capture_sflow_opts *o, char *err, size_t errlen)
{
	const char *addr = o->bind_address && *o->bind_address ? o->bind_address : "127.0.0.1";
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t slen;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		slen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		slen = sizeof(*s6);
	} else {
		snprintf(err, errlen, "sflow: bind address '%s' is not an IP address", addr);
		return NULL;
	}
	uint16_t lo = o->port ? o->port : o->port_min ? o->port_min : 6345;
	uint16_t hi = o->port ? o->port : o->port_max ? o->port_max : 6355;
	if (hi < lo) {
		snprintf(err, errlen, "sflow: empty port range %u..%u", lo, hi);
		return NULL;
	}
	struct sflow_cap *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base.ops = &sflow_ops;
	c->base.linktype = DECODE_LINKTYPE_ETHERNET;
	c->base.nano = 1; /* stamped with the ns clock on arrival */
	c->snaplen = o->snaplen ? o->snaplen : 256;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 100;
	pthread_mutex_init(&c->lock, NULL);
	c->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "sflow: socket: %s", strerror(errno));
		goto fail;
	}
	int bound = 0, last_errno = 0;
	for (unsigned p = lo; p <= hi && !bound; p++) {
		if (ss.ss_family == AF_INET)
			s4->sin_port = htons((uint16_t)p);
		else
			s6->sin6_port = htons((uint16_t)p);
		if (bind(c->fd, (struct sockaddr *)&ss, slen) == 0) {
			bound = 1;
			snprintf(c->address, sizeof(c->address),
				 ss.ss_family == AF_INET ? "%s:%u" : "[%s]:%u", addr, p);
		} else {
			last_errno = errno;
		}
	}
	if (!bound) {
		if (lo == hi)
			snprintf(err, errlen, "sflow: cannot bind %s port %u: %s", addr, lo,
				 strerror(last_errno));
		else
			snprintf(err, errlen, "sflow: no free UDP port on %s in %u..%u (%s)", addr,
				 lo, hi, strerror(last_errno));
		goto fail;
	}
	/* Bursts of datagrams from a busy switch: a larger receive buffer. */
	int rcvbuf = 4 << 20;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return &c->base;
fail:
	sflow_close(&c->base);
	return NULL;
}

void capture_sflow_info(const struct capture *cap, struct capture_sflow_info *out)
{
	struct sflow_cap *c = (struct sflow_cap *)cap;
	pthread_mutex_lock(&c->lock);
	out->address = c->address;
	out->sampling_rate = c->sampling_rate;
	out->datagrams = c->datagrams;
	out->datagram_errors = c->datagram_errors;
	out->skipped_headers = c->skipped_headers;
	pthread_mutex_unlock(&c->lock);
}

int capture_sflow_counters(struct capture *cap, struct capture_sflow_if *out, int max)
{
	struct sflow_cap *c = (struct sflow_cap *)cap;
	pthread_mutex_lock(&c->lock);
	int n = 0;
	if (c->fresh) {
		n = c->nifs < max ? c->nifs : max;
		memcpy(out, c->ifs, (size_t)n * sizeof(*out));
		c->fresh = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}
