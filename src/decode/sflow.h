/* sflow.h - sFlow version 5 datagram parser (sflow.org sflow_version_5.txt):
 * one datagram buffer in, a callback per sampled packet header and per
 * generic interface counter record out. Bounds-checked, allocation-free;
 * every pointer handed to a callback is borrowed from the datagram and valid
 * for the call only. */
#ifndef SKYDIVE_SFLOW_H
#define SKYDIVE_SFLOW_H

#include <stddef.h>
#include <stdint.h>

#define SFLOW_VERSION 5

/* Datagram header. agent_af: 1 IPv4 (agent[0..3]), 2 IPv6 (agent[0..15]),
 * 0 unknown (no address bytes). */
struct sflow_datagram {
	uint32_t version;
	uint32_t agent_af;
	uint8_t agent[16];
	uint32_t sub_agent_id;
	uint32_t sequence;
	uint32_t uptime_ms;
	uint32_t nsamples;
};

/* Fields shared by flow and counter samples; compact (format 1/2) and
 * expanded (3/4) forms are normalised to the same struct. */
struct sflow_sample {
	uint32_t format;          /* 1, 2, 3 or 4 (enterprise 0) */
	uint32_t sequence;        /* sample sequence number */
	uint32_t source_id_type;  /* 0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry */
	uint32_t source_id_index;
	/* flow samples only (0 for counter samples): */
	uint32_t sampling_rate;   /* one packet in sampling_rate was sampled */
	uint32_t sample_pool;
	uint32_t drops;
	uint32_t input_format;    /* 0 ifIndex, 1 discard reason, 2 multiple */
	uint32_t input_ifindex;   /* the value (an ifIndex when input_format is 0) */
	uint32_t output_format;
	uint32_t output_ifindex;
};

/* Flow record enterprise 0, format 1: a sampled packet's first bytes. */
struct sflow_raw_header {
	uint32_t protocol;      /* header_protocol: 1 Ethernet, 11 IPv4, 12 IPv6, ... */
	int linktype;           /* DECODE_LINKTYPE_* for protocol, or -1 if none maps */
	uint32_t frame_length;  /* original length of the packet (before sampling) */
	uint32_t stripped;      /* bytes removed from the end (e.g. FCS) */
	uint32_t header_length; /* bytes in header */
	const uint8_t *header;  /* borrowed */
};

/* Counter record enterprise 0, format 1: generic interface counters. */
struct sflow_if_counters {
	uint32_t if_index, if_type;
	uint64_t if_speed;
	uint32_t if_direction, if_status;
	uint64_t in_octets;
	uint32_t in_ucast_pkts, in_multicast_pkts, in_broadcast_pkts, in_discards, in_errors,
		in_unknown_protos;
	uint64_t out_octets;
	uint32_t out_ucast_pkts, out_multicast_pkts, out_broadcast_pkts, out_discards,
		out_errors, promiscuous_mode;
};

/* Callbacks, each may be NULL. They run in datagram order while parsing. */
struct sflow_callbacks {
	void (*raw_header)(void *user, const struct sflow_datagram *dg,
			   const struct sflow_sample *s, const struct sflow_raw_header *h);
	void (*if_counters)(void *user, const struct sflow_datagram *dg,
			    const struct sflow_sample *s, const struct sflow_if_counters *c);
	void *user;
};

/* What one datagram held (filled even on error, up to the error). */
struct sflow_parse_stats {
	uint32_t flow_samples, counter_samples;
	uint32_t raw_headers, if_counters;
	uint32_t skipped_samples, skipped_records; /* unknown formats, skipped by length */
};

/* Where and why a datagram was rejected. */
struct sflow_error {
	uint32_t offset; /* byte offset in the datagram */
	char msg[120];   /* "sample 2 at 44: length 900 exceeds the datagram (300 left)" */
};

/* Parses one datagram. Returns 0, or -EINVAL with err (if not NULL) filled:
 * bad version, unknown agent address type, or a length that does not fit.
 * Samples and records before the error have already been delivered. dg,
 * stats and err may be NULL. */
int sflow_parse(const uint8_t *data, size_t len, const struct sflow_callbacks *cb,
		struct sflow_datagram *dg, struct sflow_parse_stats *stats,
		struct sflow_error *err);

/* The DECODE_LINKTYPE_* for an sFlow header_protocol, or -1. */
int sflow_linktype(uint32_t header_protocol);

#endif
