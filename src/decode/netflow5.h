/* netflow5.h - NetFlow version 5 export datagram parser (Cisco's v5 format:
 * a 24-byte header, then `count` 48-byte flow records, 1 to 30). One
 * datagram buffer in, a header struct and per-record structs out.
 * Bounds-checked and allocation-free: nothing is kept from the buffer.
 * Errors: -EINVAL with a static reason (bad version, count out of range,
 * length not matching count). */
#ifndef SKYDIVE_NETFLOW5_H
#define SKYDIVE_NETFLOW5_H

#include <stddef.h>
#include <stdint.h>

#define NETFLOW5_VERSION 5
#define NETFLOW5_HEADER_LEN 24
#define NETFLOW5_RECORD_LEN 48
#define NETFLOW5_MAX_RECORDS 30

struct netflow5_header {
	uint16_t version, count;
	uint32_t sys_uptime_ms;       /* exporter's uptime when it sent the datagram */
	uint32_t unix_secs, unix_nsecs; /* exporter's clock at the same instant */
	uint32_t flow_sequence;       /* records exported before this datagram */
	uint8_t engine_type, engine_id;
	uint16_t sampling_interval;   /* 2 bits mode, 14 bits interval */
};

/* One unidirectional flow: addresses in network byte order as in the datagram
 * (ip_src[0] is the first octet). first_ms/last_ms are on the exporter's
 * uptime clock. For ICMP, exporters put type*256+code in dst_port. */
struct netflow5_record {
	uint8_t ip_src[4], ip_dst[4], next_hop[4];
	uint16_t input, output; /* SNMP ifIndex (OVS: OpenFlow port numbers) */
	uint32_t packets, octets; /* octets: layer-3 bytes */
	uint32_t first_ms, last_ms;
	uint16_t src_port, dst_port;
	uint8_t tcp_flags, proto, tos;
	uint16_t src_as, dst_as;
	uint8_t src_mask, dst_mask;
};

/* Checks the whole datagram (version 5, 1..30 records, len = 24 + 48*count)
 * and fills h. Returns 0, or -EINVAL with *why set to a static string. */
int netflow5_parse_header(const uint8_t *buf, size_t len, struct netflow5_header *h,
			  const char **why);

/* Record i (0 <= i < h->count) of a datagram netflow5_parse_header accepted. */
void netflow5_record(const uint8_t *buf, unsigned i, struct netflow5_record *r);

#endif
