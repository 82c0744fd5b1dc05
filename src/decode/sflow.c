/* sflow.c - sFlow v5 datagram parser (see sflow.h). XDR throughout: big-endian
 * 32-bit words, opaque data padded to 4 bytes; samples and records carry their
 * length, so anything unknown is skipped by it. */
#include "decode/sflow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decode/decode.h"

/* A window of the datagram; offsets are absolute (for messages). */
struct rd {
	const uint8_t *p;
	uint32_t off, end;
};

static int fail(struct sflow_error *err, uint32_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct sflow_error *err, uint32_t off, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->offset = off;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static uint32_t left(const struct rd *r)
{
	return r->end - r->off;
}

/* Callers check left() first. */
static uint32_t get32(struct rd *r)
{
	const uint8_t *b = r->p + r->off;
	r->off += 4;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint64_t get64(struct rd *r)
{
	uint64_t hi = get32(r);
	return hi << 32 | get32(r);
}

static uint32_t pad4(uint32_t n)
{
	return (n + 3u) & ~3u;
}

int sflow_linktype(uint32_t header_protocol)
{
	switch (header_protocol) {
	case 1: /* ETHERNET-ISO88023 */
		return DECODE_LINKTYPE_ETHERNET;
	case 11: /* IPv4 */
		return DECODE_LINKTYPE_IPV4;
	case 12: /* IPv6 */
		return DECODE_LINKTYPE_IPV6;
	default:
		return -1;
	}
}

/* The records of one sample: count, then { data_format, length, data }. Each
 * record is parsed in a reader bounded by its own length. */
static int parse_records(struct rd *r, int flow, const struct sflow_datagram *dg,
			 const struct sflow_sample *s, const struct sflow_callbacks *cb,
			 struct sflow_parse_stats *st, struct sflow_error *err)
{
	if (left(r) < 4)
		return fail(err, r->off, "sample at %u: no room for its record count", r->off);
	uint32_t nrec = get32(r);
	for (uint32_t i = 0; i < nrec; i++) {
		uint32_t at = r->off;
		if (left(r) < 8)
			return fail(err, at, "record %u of %u at %u: header cut short (%u bytes left)",
				    i + 1, nrec, at, left(r));
		uint32_t fmt = get32(r), len = get32(r);
		if (len > left(r))
			return fail(err, at, "record %u at %u (format %u:%u): length %u exceeds the sample (%u left)",
				    i + 1, at, fmt >> 12, fmt & 0xfff, len, left(r));
		struct rd rec = {r->p, r->off, r->off + len};
		r->off += pad4(len) <= left(r) ? pad4(len) : len; /* an unpadded last record is fine */
		if (flow && fmt == 1) { /* enterprise 0, raw packet header */
			struct sflow_raw_header h;
			if (left(&rec) < 16)
				return fail(err, at, "raw packet header at %u: length %u < 16", at, len);
			h.protocol = get32(&rec);
			h.frame_length = get32(&rec);
			h.stripped = get32(&rec);
			h.header_length = get32(&rec);
			if (h.header_length > left(&rec))
				return fail(err, rec.off - 4,
					    "raw packet header at %u: header length %u exceeds the record (%u left)",
					    at, h.header_length, left(&rec));
			h.header = rec.p + rec.off;
			h.linktype = sflow_linktype(h.protocol);
			if (st)
				st->raw_headers++;
			if (cb && cb->raw_header)
				cb->raw_header(cb->user, dg, s, &h);
		} else if (!flow && fmt == 1) { /* enterprise 0, generic interface counters */
			struct sflow_if_counters c;
			if (left(&rec) < 88)
				return fail(err, at, "generic interface counters at %u: length %u < 88",
					    at, len);
			c.if_index = get32(&rec);
			c.if_type = get32(&rec);
			c.if_speed = get64(&rec);
			c.if_direction = get32(&rec);
			c.if_status = get32(&rec);
			c.in_octets = get64(&rec);
			c.in_ucast_pkts = get32(&rec);
			c.in_multicast_pkts = get32(&rec);
			c.in_broadcast_pkts = get32(&rec);
			c.in_discards = get32(&rec);
			c.in_errors = get32(&rec);
			c.in_unknown_protos = get32(&rec);
			c.out_octets = get64(&rec);
			c.out_ucast_pkts = get32(&rec);
			c.out_multicast_pkts = get32(&rec);
			c.out_broadcast_pkts = get32(&rec);
			c.out_discards = get32(&rec);
			c.out_errors = get32(&rec);
			c.promiscuous_mode = get32(&rec);
			if (st)
				st->if_counters++;
			if (cb && cb->if_counters)
				cb->if_counters(cb->user, dg, s, &c);
		} else if (st) {
			st->skipped_records++;
		}
	}
	return 0;
}

/* Interface in a compact flow sample: 2-bit format, 30-bit value. */
static void split_if(uint32_t v, uint32_t *format, uint32_t *value)
{
	*format = v >> 30;
	*value = v & 0x3fffffffu;
}

static int parse_sample(struct rd *r, uint32_t fmt, const struct sflow_datagram *dg,
			const struct sflow_callbacks *cb, struct sflow_parse_stats *st,
			struct sflow_error *err)
{
	struct sflow_sample s;
	memset(&s, 0, sizeof(s));
	s.format = fmt;
	uint32_t at = r->off;
	/* fixed part: compact flow 7 words, expanded flow 10, compact counters 2,
	 * expanded counters 3 (the record count is read by parse_records) */
	static const uint32_t fixed[5] = {0, 28, 8, 40, 12};
	if (left(r) < fixed[fmt])
		return fail(err, at, "sample (format %u) at %u: length %u < %u", fmt, at, left(r),
			    fixed[fmt]);
	s.sequence = get32(r);
	if (fmt == 1 || fmt == 2) {
		uint32_t src = get32(r);
		s.source_id_type = src >> 24;
		s.source_id_index = src & 0xffffffu;
	} else {
		s.source_id_type = get32(r);
		s.source_id_index = get32(r);
	}
	if (fmt == 1 || fmt == 3) {
		s.sampling_rate = get32(r);
		s.sample_pool = get32(r);
		s.drops = get32(r);
		if (fmt == 1) {
			split_if(get32(r), &s.input_format, &s.input_ifindex);
			split_if(get32(r), &s.output_format, &s.output_ifindex);
		} else {
			s.input_format = get32(r);
			s.input_ifindex = get32(r);
			s.output_format = get32(r);
			s.output_ifindex = get32(r);
		}
		if (st)
			st->flow_samples++;
		return parse_records(r, 1, dg, &s, cb, st, err);
	}
	if (st)
		st->counter_samples++;
	return parse_records(r, 0, dg, &s, cb, st, err);
}

int sflow_parse(const uint8_t *data, size_t len, const struct sflow_callbacks *cb,
		struct sflow_datagram *dgp, struct sflow_parse_stats *stats,
		struct sflow_error *err)
{
	struct sflow_datagram local;
	struct sflow_datagram *dg = dgp ? dgp : &local;
	memset(dg, 0, sizeof(*dg));
	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (err) {
		err->offset = 0;
		err->msg[0] = 0;
	}
	if (len > UINT32_MAX - 8)
		return fail(err, 0, "datagram of %zu bytes is too long", len);
	struct rd r = {data, 0, (uint32_t)len};
	if (left(&r) < 8)
		return fail(err, 0, "datagram of %zu bytes is shorter than its header", len);
	dg->version = get32(&r);
	if (dg->version != SFLOW_VERSION)
		return fail(err, 0, "version %u, expected 5", dg->version);
	dg->agent_af = get32(&r);
	uint32_t alen = dg->agent_af == 1 ? 4 : dg->agent_af == 2 ? 16 : dg->agent_af == 0 ? 0 : 99;
	if (alen == 99)
		return fail(err, 4, "agent address type %u, expected 1 (IPv4) or 2 (IPv6)",
			    dg->agent_af);
	if (left(&r) < alen + 16)
		return fail(err, r.off, "datagram header cut short at %u (%zu bytes)", r.off, len);
	memcpy(dg->agent, r.p + r.off, alen);
	r.off += alen;
	dg->sub_agent_id = get32(&r);
	dg->sequence = get32(&r);
	dg->uptime_ms = get32(&r);
	dg->nsamples = get32(&r);
	for (uint32_t i = 0; i < dg->nsamples; i++) {
		uint32_t at = r.off;
		if (left(&r) < 8)
			return fail(err, at, "sample %u of %u at %u: header cut short (%u bytes left)",
				    i + 1, dg->nsamples, at, left(&r));
		uint32_t fmt = get32(&r), slen = get32(&r);
		if (slen > left(&r))
			return fail(err, at, "sample %u at %u (format %u:%u): length %u exceeds the datagram (%u left)",
				    i + 1, at, fmt >> 12, fmt & 0xfff, slen, left(&r));
		struct rd s = {r.p, r.off, r.off + slen};
		r.off += pad4(slen) <= left(&r) ? pad4(slen) : slen;
		if (fmt >= 1 && fmt <= 4) { /* enterprise 0 */
			int rc = parse_sample(&s, fmt, dg, cb, stats, err);
			if (rc)
				return rc;
		} else if (stats) {
			stats->skipped_samples++;
		}
	}
	return 0;
}
