/* target_netflow.c - the netflowv5 capture target: flows as NetFlow v5
 * records over UDP (see capture_target.h; the format is Cisco's "NetFlow
 * Export Datagram Format" v5; when and what Skydive sends is
 * flow/probes/targets/netflow_v5.go; docs/FLOWS.md lists where we differ). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/capture_target.h"
#include "agent/capture_target_int.h"
#include "common/util.h"

#define NF5_HEADER      24
#define NF5_RECORD      48
#define NF5_MAX_RECORDS 30 /* the most a v5 datagram may carry */
#define NF5_ENGINE_ID   1  /* as Skydive's target */
#define NS_PER_MS       1000000ull

struct capture_target_lane {
	struct capture_target *ct;
	int n; /* records in buf */
	uint8_t buf[NF5_HEADER + NF5_MAX_RECORDS * NF5_RECORD];
};

int target_netflow_open(struct capture_target *ct, const char *host, int port, char *err,
                        size_t errlen)
{
	char ps[8];
	snprintf(ps, sizeof(ps), "%d", port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
	int rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc || !ai) {
		snprintf(err, errlen, "Target %s: cannot resolve: %s", ct->target,
		         gai_strerror(rc));
		return -1;
	}
	/* Connected: the kernel picks the source address once, and an ICMP
	 * unreachable from the collector's host shows as a send error. */
	ct->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ct->fd < 0 || connect(ct->fd, ai->ai_addr, ai->ai_addrlen)) {
		snprintf(err, errlen, "Target %s: %s", ct->target, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	ct->boot_ms = (int64_t)(time_now_ns() / NS_PER_MS);
	return 0;
}

struct capture_target_lane *capture_target_lane_new(struct capture_target *ct)
{
	struct capture_target_lane *l = calloc(1, sizeof(*l));
	if (l)
		l->ct = ct;
	return l;
}

void capture_target_lane_free(struct capture_target_lane *l)
{
	if (!l)
		return;
	capture_target_lane_flush(l);
	free(l);
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

/* Milliseconds since the target opened (the exporter's "boot"), as v5's
 * 32-bit SysUptime; a time before it (a frame stamped earlier) is 0. */
static uint32_t uptime(const struct capture_target *ct, int64_t ms)
{
	return ms > ct->boot_ms ? (uint32_t)(ms - ct->boot_ms) : 0;
}

void capture_target_lane_flush(struct capture_target_lane *l)
{
	if (!l || !l->n)
		return;
	struct capture_target *ct = l->ct;
	uint64_t now = time_now_ns();
	uint32_t n = (uint32_t)l->n;
	/* flow_sequence: the records this exporter sent before this datagram
	 * (lost ones included, so a collector sees the gap). */
	uint32_t seq = (uint32_t)atomic_fetch_add(&ct->seq, n);
	uint8_t *p = l->buf;
	p = put16(p, 5);
	p = put16(p, (uint16_t)n);
	p = put32(p, uptime(ct, (int64_t)(now / NS_PER_MS)));
	p = put32(p, (uint32_t)(now / 1000000000ull));
	p = put32(p, (uint32_t)(now % 1000000000ull));
	p = put32(p, seq);
	*p++ = 0; /* engine_type */
	*p++ = NF5_ENGINE_ID;
	put16(p, 0); /* sampling: every packet */
	size_t len = NF5_HEADER + (size_t)n * NF5_RECORD;
	ssize_t w = send(ct->fd, l->buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w == (ssize_t)len) {
		atomic_fetch_add(&ct->datagrams, 1);
		atomic_fetch_add(&ct->sent, n);
	} else {
		capture_target_count_error(ct, w < 0 ? errno : EMSGSIZE, n);
	}
	l->n = 0;
}

/* Link-layer bytes of each packet of f: 14 per Ethernet header, 4 more per
 * 802.1Q tag of its layer path (the frames of one flow share their path). */
static uint32_t link_bytes(const struct flow_table *t, const struct flow *f)
{
	if (!(f->flags & FLOW_F_LINK))
		return 0;
	uint32_t n = 14;
	const char *path = flow_table_path(t, f);
	for (const char *s = path; s && (s = strstr(s, "Dot1Q")); s += 5)
		n += 4;
	return n;
}

static void add_record(struct capture_target_lane *l, const struct flow *f, int ab,
                       uint64_t packets, uint64_t bytes, uint32_t link, int64_t first_ms)
{
	if (!packets)
		return;
	if (l->n == NF5_MAX_RECORDS)
		capture_target_lane_flush(l);
	const struct capture_target *ct = l->ct;
	uint8_t *p = l->buf + NF5_HEADER + (size_t)l->n * NF5_RECORD;
	const uint8_t *src = ab ? f->net_a : f->net_b, *dst = ab ? f->net_b : f->net_a;
	uint16_t sport = 0, dport = 0;
	if (f->l4) {
		sport = ab ? f->tp_a : f->tp_b;
		dport = ab ? f->tp_b : f->tp_a;
	}
	uint8_t proto = f->l4 ? f->l4 : f->icmp_ver == 4 ? 1 : f->icmp_ver == 6 ? 58 : 0;
	/* dOctets: the layer 3 bytes, v5's unit; what is left if a tunnel's
	 * inner segment was counted shorter than its link header. */
	uint64_t l3 = bytes > packets * link ? bytes - packets * link : 0;
	memcpy(p, src, 4);
	memcpy(p + 4, dst, 4);
	p += 8;
	p = put32(p, 0); /* nexthop */
	p = put16(p, 0); /* input ifIndex */
	p = put16(p, 0); /* output ifIndex */
	p = put32(p, packets > UINT32_MAX ? UINT32_MAX : (uint32_t)packets);
	p = put32(p, l3 > UINT32_MAX ? UINT32_MAX : (uint32_t)l3);
	p = put32(p, uptime(ct, first_ms));
	p = put32(p, uptime(ct, (int64_t)(f->last_ns / NS_PER_MS)));
	p = put16(p, sport);
	p = put16(p, dport);
	*p++ = 0; /* pad1 */
	*p++ = 0; /* tcp_flags: not kept per flow */
	*p++ = proto;
	*p++ = 0;        /* tos */
	p = put32(p, 0); /* src_as, dst_as */
	*p++ = 0;        /* src_mask, dst_mask: unknown */
	*p++ = 0;
	put16(p, 0); /* pad2 */
	l->n++;
}

void capture_target_flow(struct capture_target_lane *l, const struct flow_table *t,
                         const struct flow *f, int64_t lu_start_ms)
{
	struct capture_target *ct = l->ct;
	if (f->ip_ver == 6) {
		atomic_fetch_add(&ct->skipped_ipv6, 1);
		return;
	}
	if (f->ip_ver != 4) {
		atomic_fetch_add(&ct->skipped_nonip, 1);
		return;
	}
	/* What the flow saw since its previous report (its LastUpdateMetric):
	 * a collector adds the records of a flow up, so each packet is in one. */
	uint64_t abp = f->ab_packets - f->upd_ab_packets, bap = f->ba_packets - f->upd_ba_packets;
	uint64_t abb = f->ab_bytes - f->upd_ab_bytes, bab = f->ba_bytes - f->upd_ba_bytes;
	uint32_t link = link_bytes(t, f);
	add_record(l, f, 1, abp, abb, link, lu_start_ms);
	add_record(l, f, 0, bap, bab, link, lu_start_ms);
}
