/* netflow_collector.c - NetFlow v5 collector feeding a flow table
 * (netflow_collector.h). */
#include "agent/netflow_collector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "decode/decode.h"
#include "decode/netflow5.h"
#include "flow/flow_table.h"

#define NF_DGRAM_MAX 2048 /* a v5 datagram is at most 24 + 30 * 48 = 1464 bytes */
#define NF_POLL_MAX 4096  /* datagrams per poll, so a flood cannot starve the loop */
#define SEQ_FIRST 1 /* flow_sequence = records sent before this datagram (Cisco's v5) */
#define SEQ_LAST 2  /* = the index of its last record (Open vSwitch's ofproto/netflow.c) */

struct netflow_collector {
	int fd;
	char address[80];
	int have_seq;
	int seq_mode; /* 0 not known yet, SEQ_FIRST or SEQ_LAST (seq_check) */
	uint32_t next_first, next_last;
	struct netflow_collector_stats st;
	uint8_t buf[NF_DGRAM_MAX]; /* the packet path allocates nothing */
};

struct netflow_collector *netflow_collector_open(const struct netflow_collector_opts *o,
						 char *err, size_t errlen)
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
		snprintf(err, errlen, "netflow: bind address '%s' is not an IP address", addr);
		return NULL;
	}
	uint16_t lo = o->port_min ? o->port_min : 6365;
	uint16_t hi = o->port_max ? o->port_max : 6375;
	if (hi < lo) {
		snprintf(err, errlen, "netflow: empty port range %u..%u", lo, hi);
		return NULL;
	}
	struct netflow_collector *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "netflow: socket: %s", strerror(errno));
		free(c);
		return NULL;
	}
	int last_errno = 0;
	for (unsigned p = lo; p <= hi; p++) {
		if (ss.ss_family == AF_INET)
			s4->sin_port = htons((uint16_t)p);
		else
			s6->sin6_port = htons((uint16_t)p);
		if (bind(c->fd, (struct sockaddr *)&ss, slen) == 0) {
			snprintf(c->address, sizeof(c->address),
				 ss.ss_family == AF_INET ? "%s:%u" : "[%s]:%u", addr, p);
			int rcvbuf = 4 << 20; /* bursts when many datapath flows expire at once */
			setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
			return c;
		}
		last_errno = errno;
	}
	if (lo == hi)
		snprintf(err, errlen, "netflow: cannot bind %s port %u: %s", addr, lo,
			 strerror(last_errno));
	else
		snprintf(err, errlen, "netflow: no free UDP port on %s in %u..%u (%s)", addr, lo, hi,
			 strerror(last_errno));
	netflow_collector_close(c);
	return NULL;
}

void netflow_collector_close(struct netflow_collector *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

const char *netflow_collector_address(const struct netflow_collector *c)
{
	return c->address;
}

void netflow_collector_stats(const struct netflow_collector *c,
			     struct netflow_collector_stats *out)
{
	*out = c->st;
}

/* One record: the flow's src->dst direction, its times moved from the
 * exporter's uptime clock to the epoch through the header's (uptime, unix
 * time) pair, so the agent's own clock plays no part. */
static void feed(struct netflow_collector *c, struct flow_table *t,
		 const struct netflow5_header *h, const struct netflow5_record *nr)
{
	struct flow_record r;
	memset(&r, 0, sizeof(r));
	r.h.ip_ver = 4; /* v5 carries IPv4 only, and no link layer */
	r.h.no_link = 1;
	memcpy(r.h.ip_src, nr->ip_src, 4);
	memcpy(r.h.ip_dst, nr->ip_dst, 4);
	r.h.proto = nr->proto;
	if (nr->proto == 1) { /* ICMP: type and code in the destination port */
		r.h.icmp_type = (uint8_t)(nr->dst_port >> 8);
		r.h.icmp_code = (uint8_t)nr->dst_port;
	} else {
		r.h.sport = nr->src_port;
		r.h.dport = nr->dst_port;
	}
	r.tcp_flags = nr->tcp_flags;
	r.ab_packets = nr->packets;
	r.ab_bytes = nr->octets;
	int64_t export_ns = (int64_t)h->unix_secs * 1000000000 + h->unix_nsecs;
	/* uptime differences are modulo 2^32 ms (the exporter's counter wraps) */
	int64_t first_ago = (int64_t)(uint32_t)(h->sys_uptime_ms - nr->first_ms);
	int64_t last_ago = (int64_t)(uint32_t)(h->sys_uptime_ms - nr->last_ms);
	int64_t first_ns = export_ns - first_ago * 1000000;
	int64_t last_ns = export_ns - last_ago * 1000000;
	r.first_ns = first_ns > 0 ? (uint64_t)first_ns : 0;
	r.last_ns = last_ns > first_ns ? (uint64_t)last_ns : r.first_ns;
	c->st.records++;
	c->st.packets += nr->packets;
	flow_table_feed_record(t, &r); /* a full table counts FlowDropped */
}

/* Records lost between datagrams, from flow_sequence. Exporters disagree on
 * what it counts (SEQ_FIRST, SEQ_LAST): both expectations are followed until a
 * datagram of several records fits only one of them. */
static void seq_check(struct netflow_collector *c, const struct netflow5_header *h)
{
	uint32_t first_c = h->flow_sequence;              /* its first record, SEQ_FIRST */
	uint32_t first_o = h->flow_sequence - h->count + 1; /* the same, SEQ_LAST */
	if (c->have_seq) {
		uint32_t gap_c = first_c - c->next_first, gap_o = first_o - c->next_last;
		if (!c->seq_mode && h->count > 1 && (!gap_c) != (!gap_o))
			c->seq_mode = gap_c ? SEQ_LAST : SEQ_FIRST;
		uint32_t gap = c->seq_mode == SEQ_FIRST  ? gap_c
			       : c->seq_mode == SEQ_LAST ? gap_o
			       : gap_c < gap_o		 ? gap_c
							 : gap_o;
		if (gap < 0x80000000u) /* ahead: lost; behind: reordered or restarted */
			c->st.records_lost += gap;
	}
	c->have_seq = 1;
	c->next_first = first_c + h->count;
	c->next_last = first_o + h->count;
}

/* ICMPv4 echo reply, timestamp reply, information reply, address mask reply. */
static int icmp_answer(const struct netflow5_record *r)
{
	unsigned type = r->dst_port >> 8;
	return r->proto == 1 && (type == 0 || type == 14 || type == 16 || type == 18);
}

int netflow_collector_poll(struct netflow_collector *c, struct flow_table *t)
{
	int fed = 0;
	for (int n = 0; n < NF_POLL_MAX; n++) {
		ssize_t len = recv(c->fd, c->buf, sizeof(c->buf), MSG_TRUNC);
		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			return -errno;
		}
		c->st.datagrams++;
		struct netflow5_header h;
		if ((size_t)len > sizeof(c->buf) ||
		    netflow5_parse_header(c->buf, (size_t)len, &h, NULL)) {
			c->st.datagram_errors++;
			continue;
		}
		seq_check(c, &h);
		/* A flow's A side is the sender of its first record seen: take the
		 * datagram's records in start order, an ICMP answer after its
		 * request when they started in the same millisecond (OVS writes a
		 * datapath flow's two directions in no particular order). */
		struct netflow5_record nr[NETFLOW5_MAX_RECORDS];
		uint64_t key[NETFLOW5_MAX_RECORDS];
		unsigned order[NETFLOW5_MAX_RECORDS];
		for (unsigned i = 0; i < h.count; i++) {
			netflow5_record(c->buf, i, &nr[i]);
			uint32_t age = h.sys_uptime_ms - nr[i].first_ms;
			key[i] = (uint64_t)(UINT32_MAX - age) << 1 | icmp_answer(&nr[i]);
			unsigned j = i; /* insertion sort, stable: at most 30 */
			while (j > 0 && key[order[j - 1]] > key[i]) {
				order[j] = order[j - 1];
				j--;
			}
			order[j] = i;
		}
		for (unsigned i = 0; i < h.count; i++) {
			feed(c, t, &h, &nr[order[i]]);
			fed++;
		}
	}
	return fed;
}
