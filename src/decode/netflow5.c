/* netflow5.c - NetFlow v5 datagram parser (netflow5.h). */
#include "decode/netflow5.h"

#include <errno.h>
#include <string.h>

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int netflow5_parse_header(const uint8_t *buf, size_t len, struct netflow5_header *h,
			  const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	if (len < NETFLOW5_HEADER_LEN) {
		*why = "shorter than the 24-byte NetFlow v5 header";
		return -EINVAL;
	}
	h->version = be16(buf);
	h->count = be16(buf + 2);
	h->sys_uptime_ms = be32(buf + 4);
	h->unix_secs = be32(buf + 8);
	h->unix_nsecs = be32(buf + 12);
	h->flow_sequence = be32(buf + 16);
	h->engine_type = buf[20];
	h->engine_id = buf[21];
	h->sampling_interval = be16(buf + 22);
	if (h->version != NETFLOW5_VERSION) {
		*why = "not NetFlow version 5";
		return -EINVAL;
	}
	if (h->count < 1 || h->count > NETFLOW5_MAX_RECORDS) {
		*why = "record count not in 1..30";
		return -EINVAL;
	}
	/* Exactly the records announced: a shorter datagram was cut, a longer
	 * one is not v5 as exporters write it. */
	if (len != NETFLOW5_HEADER_LEN + (size_t)h->count * NETFLOW5_RECORD_LEN) {
		*why = "length does not match the record count";
		return -EINVAL;
	}
	return 0;
}

void netflow5_record(const uint8_t *buf, unsigned i, struct netflow5_record *r)
{
	const uint8_t *p = buf + NETFLOW5_HEADER_LEN + (size_t)i * NETFLOW5_RECORD_LEN;
	memcpy(r->ip_src, p, 4);
	memcpy(r->ip_dst, p + 4, 4);
	memcpy(r->next_hop, p + 8, 4);
	r->input = be16(p + 12);
	r->output = be16(p + 14);
	r->packets = be32(p + 16);
	r->octets = be32(p + 20);
	r->first_ms = be32(p + 24);
	r->last_ms = be32(p + 28);
	r->src_port = be16(p + 32);
	r->dst_port = be16(p + 34);
	/* p[36]: pad1 */
	r->tcp_flags = p[37];
	r->proto = p[38];
	r->tos = p[39];
	r->src_as = be16(p + 40);
	r->dst_as = be16(p + 42);
	r->src_mask = p[44];
	r->dst_mask = p[45];
	/* p[46..47]: pad2 */
}
