/* sflow_collector.c - UDP sFlow v5 collector as a capture source (see
 * sflow_collector.h). One socket, read by the lane thread in capture_dispatch;
 * the counters it keeps for the metadata are guarded by a mutex because the
 * Captures entry may be built from another thread. */
#include "agent/sflow_collector.h"

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

#define SFLOW_MAX_IFS 256 /* interfaces whose counters are kept per collector */
#define SFLOW_BATCH 64    /* datagrams read per dispatch */

struct if_metric {
	uint32_t if_index;
	int64_t start_ms, last_ms;
	struct sflow_if_counters c;
};

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
	struct if_metric ifs[SFLOW_MAX_IFS];
	int have_prev;
	struct sflow_if_counters prev_sum; /* Metric at the previous publication */
	int64_t prev_ms;
	uint64_t error_logs;
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
	struct capture_frame f = {h->header, caplen, wirelen, time_now_ns()};
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
	for (i = 0; i < c->nifs && c->ifs[i].if_index != ic->if_index; i++)
		;
	if (i == c->nifs) {
		if (c->nifs == SFLOW_MAX_IFS) {
			pthread_mutex_unlock(&c->lock);
			return;
		}
		c->nifs++;
		c->ifs[i].if_index = ic->if_index;
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

struct capture *sflow_collector_open(const struct sflow_collector_opts *o, char *err,
				     size_t errlen)
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

const char *sflow_collector_address(const struct capture *cap)
{
	return ((const struct sflow_cap *)cap)->address;
}

void sflow_collector_entry(const struct capture *cap, json_t *entry)
{
	struct sflow_cap *c = (struct sflow_cap *)cap;
	pthread_mutex_lock(&c->lock);
	json_object_set_new(entry, "SFlowSocket", json_string(c->address));
	json_object_set_new(entry, "SamplingRate", json_integer(c->sampling_rate));
	json_object_set_new(entry, "Datagrams", json_integer((json_int_t)c->datagrams));
	json_object_set_new(entry, "DatagramErrors", json_integer((json_int_t)c->datagram_errors));
	json_object_set_new(entry, "SkippedHeaders", json_integer((json_int_t)c->skipped_headers));
	pthread_mutex_unlock(&c->lock);
}

static void add_counters(struct sflow_if_counters *sum, const struct sflow_if_counters *x)
{
	sum->in_octets += x->in_octets;
	sum->in_ucast_pkts += x->in_ucast_pkts;
	sum->in_multicast_pkts += x->in_multicast_pkts;
	sum->in_broadcast_pkts += x->in_broadcast_pkts;
	sum->in_discards += x->in_discards;
	sum->in_errors += x->in_errors;
	sum->in_unknown_protos += x->in_unknown_protos;
	sum->out_octets += x->out_octets;
	sum->out_ucast_pkts += x->out_ucast_pkts;
	sum->out_multicast_pkts += x->out_multicast_pkts;
	sum->out_broadcast_pkts += x->out_broadcast_pkts;
	sum->out_discards += x->out_discards;
	sum->out_errors += x->out_errors;
}

/* Skydive's SFlow metric field names; d = NULL: absolute values, else x - d
 * (32-bit counters wrap, so the difference is taken modulo 2^32). */
static json_t *metric_json(const struct sflow_if_counters *x, const struct sflow_if_counters *d,
			   int64_t start_ms, int64_t last_ms)
{
#define D32(f) json_integer((json_int_t)(uint32_t)(x->f - (d ? d->f : 0)))
#define D64(f) json_integer((json_int_t)(x->f - (d ? d->f : 0)))
	json_t *m = json_object();
	json_object_set_new(m, "IfInOctets", D64(in_octets));
	json_object_set_new(m, "IfInUcastPkts", D32(in_ucast_pkts));
	json_object_set_new(m, "IfInMulticastPkts", D32(in_multicast_pkts));
	json_object_set_new(m, "IfInBroadcastPkts", D32(in_broadcast_pkts));
	json_object_set_new(m, "IfInDiscards", D32(in_discards));
	json_object_set_new(m, "IfInErrors", D32(in_errors));
	json_object_set_new(m, "IfInUnknownProtos", D32(in_unknown_protos));
	json_object_set_new(m, "IfOutOctets", D64(out_octets));
	json_object_set_new(m, "IfOutUcastPkts", D32(out_ucast_pkts));
	json_object_set_new(m, "IfOutMulticastPkts", D32(out_multicast_pkts));
	json_object_set_new(m, "IfOutBroadcastPkts", D32(out_broadcast_pkts));
	json_object_set_new(m, "IfOutDiscards", D32(out_discards));
	json_object_set_new(m, "IfOutErrors", D32(out_errors));
	json_object_set_new(m, "Start", json_integer(start_ms));
	json_object_set_new(m, "Last", json_integer(last_ms));
#undef D32
#undef D64
	return m;
}

void sflow_collector_publish(struct capture *cap, struct graph *g, const char *node_id,
			     int64_t now_ms)
{
	struct sflow_cap *c = (struct sflow_cap *)cap;
	json_t *ifm = json_object(), *sf = json_object();
	struct sflow_if_counters sum;
	memset(&sum, 0, sizeof(sum));
	int64_t start = 0;
	pthread_mutex_lock(&c->lock);
	if (!c->fresh) {
		pthread_mutex_unlock(&c->lock);
		json_decref(ifm);
		json_decref(sf);
		return;
	}
	c->fresh = 0;
	for (int i = 0; i < c->nifs; i++) {
		const struct if_metric *im = &c->ifs[i];
		char key[16];
		snprintf(key, sizeof(key), "%u", im->if_index);
		json_t *m = metric_json(&im->c, NULL, im->start_ms, im->last_ms);
		json_object_set_new(m, "IfIndex", json_integer(im->if_index));
		json_object_set_new(m, "IfType", json_integer(im->c.if_type));
		json_object_set_new(m, "IfSpeed", json_integer((json_int_t)im->c.if_speed));
		json_object_set_new(m, "IfDirection", json_integer(im->c.if_direction));
		json_object_set_new(m, "IfStatus", json_integer(im->c.if_status));
		json_object_set_new(m, "IfPromiscuousMode", json_integer(im->c.promiscuous_mode));
		json_object_set_new(ifm, key, m);
		add_counters(&sum, &im->c);
		if (!start || im->start_ms < start)
			start = im->start_ms;
	}
	json_object_set_new(sf, "IfMetrics", ifm);
	json_object_set_new(sf, "Metric", metric_json(&sum, NULL, start, now_ms));
	if (c->have_prev)
		json_object_set_new(sf, "LastUpdateMetric",
				    metric_json(&sum, &c->prev_sum, c->prev_ms, now_ms));
	c->prev_sum = sum;
	c->prev_ms = now_ms;
	c->have_prev = 1;
	pthread_mutex_unlock(&c->lock);
	graph_lock(g);
	graph_node_set_key(g, node_id, "SFlow", sf, now_ms);
	graph_unlock(g);
}
