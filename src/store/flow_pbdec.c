/* flow_pbdec.c - one-pass decoding of flow.Message into protobuf-c's structs (see
 * flow_pbdec.h). The wire rules are protobuf-c 1.4's, so that what is decoded here is what
 * it would decode: tags of at most 5 bytes, varints of at most 10, length prefixes of at
 * most 5 and at most INT_MAX, the last of a repeated scalar or string wins. Anything else
 * returns FALLBACK, and protobuf-c decides. */
#include "store/flow_pbdec.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#define FALLBACK 0
#define OK       1

struct rd {
	const uint8_t *p, *end;
	ProtobufCAllocator *a;
};

static void *take(struct rd *r, size_t n)
{
	return r->a->alloc(r->a->allocator_data, n);
}

/* A field's tag as protobuf-c reads it; -1 where it would fail. */
static inline int rd_tag(struct rd *r, uint32_t *num, unsigned *wt)
{
	if (r->p[0] < 0x80 && r->p[0] >= 0x08) { /* one byte: the fields below 16 */
		*wt = r->p[0] & 7;
		*num = r->p[0] >> 3;
		r->p++;
		return 0;
	}
	size_t len = (size_t)(r->end - r->p), max = len > 5 ? 5 : len;
	const uint8_t *d = r->p;
	if ((d[0] & 0xf8) == 0)
		return -1;
	*wt = d[0] & 7;
	uint32_t tag = (d[0] & 0x7f) >> 3;
	if (!(d[0] & 0x80)) {
		*num = tag;
		r->p++;
		return 0;
	}
	unsigned shift = 4;
	for (size_t i = 1; i < max; i++) {
		if (d[i] & 0x80) {
			tag |= (uint32_t)(d[i] & 0x7f) << shift;
			shift += 7;
		} else {
			tag |= (uint32_t)d[i] << shift;
			*num = tag;
			r->p += i + 1;
			return 0;
		}
	}
	return -1;
}

/* A varint of at most 10 bytes, its low 64 bits. */
static inline int rd_varint(struct rd *r, uint64_t *v)
{
	if (r->p < r->end && r->p[0] < 0x80) {
		*v = *r->p++;
		return 0;
	}
	size_t len = (size_t)(r->end - r->p), max = len > 10 ? 10 : len;
	uint64_t x = 0;
	for (size_t i = 0; i < max; i++) {
		x |= (uint64_t)(r->p[i] & 0x7f) << (7 * i);
		if (!(r->p[i] & 0x80)) {
			r->p += i + 1;
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* A length-prefixed field's bytes: [*p, *p + *n). */
static inline int rd_bytes(struct rd *r, const uint8_t **p, size_t *n)
{
	size_t len = (size_t)(r->end - r->p), max = len > 5 ? 5 : len, v = 0;
	for (size_t i = 0; i < max; i++) {
		v |= (size_t)(r->p[i] & 0x7f) << (7 * i);
		if (!(r->p[i] & 0x80)) {
			if (v > INT_MAX || i + 1 + v > len)
				return -1;
			*p = r->p + i + 1;
			*n = v;
			r->p += i + 1 + v;
			return 0;
		}
	}
	return -1;
}

enum kind { K_I64, K_U32, K_ENUM, K_STR, K_BYTES };
struct fld {
	uint8_t num, kind;
	uint16_t off;
};

#define F(num, kind, type, member) {num, kind, (uint16_t)offsetof(type, member)}

/* The value of field num (wire type wt, its tag read) of message m, by the table t of n
 * fields (*hint: where to look first, fields come in order): 1, FALLBACK (not in t, not
 * its wire type, malformed) or -ENOMEM. */
static int rd_field(struct rd *r, void *m, const struct fld *t, size_t n, size_t *hint,
		    uint32_t num, unsigned wt)
{
	const struct fld *f = NULL;
	if (*hint < n && t[*hint].num == num)
		f = &t[*hint];
	for (size_t i = 0; !f && i < n; i++)
		if (t[i].num == num)
			f = &t[i];
	if (!f)
		return FALLBACK; /* unknown: protobuf-c keeps it */
	*hint = (size_t)(f - t) + 1;
	char *at = (char *)m + f->off;
	if (f->kind == K_STR || f->kind == K_BYTES) {
		const uint8_t *p;
		size_t len;
		if (wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || rd_bytes(r, &p, &len))
			return FALLBACK;
		if (f->kind == K_STR) { /* copied and NUL-terminated, as protobuf-c does */
			char *str = take(r, len + 1);
			if (!str)
				return -ENOMEM;
			memcpy(str, p, len);
			str[len] = 0;
			memcpy(at, &str, sizeof(str));
		} else {
			ProtobufCBinaryData bd = {len, NULL};
			if (len && !(bd.data = take(r, len)))
				return -ENOMEM;
			if (len)
				memcpy(bd.data, p, len);
			memcpy(at, &bd, sizeof(bd));
		}
		return OK;
	}
	uint64_t v;
	if (wt != PROTOBUF_C_WIRE_TYPE_VARINT || rd_varint(r, &v))
		return FALLBACK;
	if (f->kind == K_I64) {
		int64_t x = (int64_t)v;
		memcpy(at, &x, sizeof(x));
	} else { /* uint32, and enums as int32: the low 32 bits, as protobuf-c takes them */
		uint32_t x = (uint32_t)v;
		memcpy(at, &x, sizeof(x));
	}
	return OK;
}

/* Every field of a message of scalars and strings: 1, FALLBACK or -ENOMEM. */
static int rd_scalars(struct rd *r, void *m, const struct fld *t, size_t n)
{
	size_t hint = 0;
	while (r->p < r->end) {
		uint32_t num;
		unsigned wt;
		if (rd_tag(r, &num, &wt))
			return FALLBACK;
		int rc = rd_field(r, m, t, n, &hint, num, wt);
		if (rc != OK)
			return rc;
	}
	return OK;
}

static const struct fld layer_f[] = {
    F(1, K_ENUM, Flow__FlowLayer, protocol),
    F(3, K_STR, Flow__FlowLayer, a),
    F(4, K_STR, Flow__FlowLayer, b),
    F(5, K_I64, Flow__FlowLayer, id),
};
static const struct fld transport_f[] = {
    F(1, K_ENUM, Flow__TransportLayer, protocol),
    F(2, K_I64, Flow__TransportLayer, a),
    F(3, K_I64, Flow__TransportLayer, b),
    F(4, K_I64, Flow__TransportLayer, id),
};
static const struct fld icmp_f[] = {
    F(1, K_ENUM, Flow__ICMPLayer, type),
    F(2, K_U32, Flow__ICMPLayer, code),
    F(3, K_U32, Flow__ICMPLayer, id),
};
static const struct fld metric_f[] = {
    F(2, K_I64, Flow__FlowMetric, abpackets), F(3, K_I64, Flow__FlowMetric, abbytes),
    F(4, K_I64, Flow__FlowMetric, bapackets), F(5, K_I64, Flow__FlowMetric, babytes),
    F(6, K_I64, Flow__FlowMetric, start),     F(7, K_I64, Flow__FlowMetric, last),
    F(8, K_I64, Flow__FlowMetric, rtt),
};
static const struct fld raw_f[] = {
    F(1, K_I64, Flow__RawPacket, timestamp),   F(2, K_I64, Flow__RawPacket, index),
    F(3, K_BYTES, Flow__RawPacket, data),      F(4, K_U32, Flow__RawPacket, linktype),
    F(5, K_I64, Flow__RawPacket, timestampns), F(6, K_U32, Flow__RawPacket, wirelen),
};
static const struct fld ipm_f[] = {
    F(1, K_I64, Flow__IPMetric, fragments),
    F(2, K_I64, Flow__IPMetric, fragmenterrors),
};
static const struct fld tcpm_f[] = {
    F(1, K_I64, Flow__TCPMetric, absynstart),
    F(2, K_I64, Flow__TCPMetric, basynstart),
    F(3, K_U32, Flow__TCPMetric, absynttl),
    F(4, K_U32, Flow__TCPMetric, basynttl),
    F(5, K_I64, Flow__TCPMetric, abfinstart),
    F(6, K_I64, Flow__TCPMetric, bafinstart),
    F(7, K_I64, Flow__TCPMetric, abrststart),
    F(8, K_I64, Flow__TCPMetric, barststart),
    F(9, K_I64, Flow__TCPMetric, absegmentoutoforder),
    F(10, K_I64, Flow__TCPMetric, absegmentskipped),
    F(11, K_I64, Flow__TCPMetric, absegmentskippedbytes),
    F(12, K_I64, Flow__TCPMetric, abpackets),
    F(13, K_I64, Flow__TCPMetric, abbytes),
    F(14, K_I64, Flow__TCPMetric, absawstart),
    F(15, K_I64, Flow__TCPMetric, absawend),
    F(16, K_I64, Flow__TCPMetric, basegmentoutoforder),
    F(17, K_I64, Flow__TCPMetric, basegmentskipped),
    F(18, K_I64, Flow__TCPMetric, basegmentskippedbytes),
    F(19, K_I64, Flow__TCPMetric, bapackets),
    F(20, K_I64, Flow__TCPMetric, babytes),
    F(21, K_I64, Flow__TCPMetric, basawstart),
    F(22, K_I64, Flow__TCPMetric, basawend),
};
static const struct fld stats_f[] = {
    F(1, K_STR, Flow__Stats, captureid),         F(2, K_I64, Flow__Stats, flowcount),
    F(3, K_I64, Flow__Stats, flowdropped),       F(4, K_I64, Flow__Stats, kernelflowdropped),
    F(5, K_I64, Flow__Stats, packetsdropped),    F(6, K_I64, Flow__Stats, packetsreceived),
};
static const struct fld flow_f[] = {
    F(1, K_STR, Flow__Flow, uuid),
    F(2, K_STR, Flow__Flow, layerspath),
    F(3, K_STR, Flow__Flow, application),
    F(6, K_STR, Flow__Flow, parentuuid),
    F(10, K_I64, Flow__Flow, start),
    F(11, K_I64, Flow__Flow, last),
    F(33, K_STR, Flow__Flow, nodetid),
    F(34, K_STR, Flow__Flow, captureid),
    F(37, K_I64, Flow__Flow, rawpacketscaptured),
    F(50, K_STR, Flow__Flow, trackingid),
    F(51, K_STR, Flow__Flow, l3trackingid),
    F(60, K_ENUM, Flow__Flow, finishtype),
};
#define NF(t) (sizeof(t) / sizeof((t)[0]))

/* A message of scalars at [p, p + n): a new one, initialised by init, into *out (which
 * must be NULL: a second one is merged by protobuf-c). */
typedef void (*init_fn)(void *m);
static int rd_sub(struct rd *r, const uint8_t *p, size_t n, size_t size, init_fn init,
		  const struct fld *t, size_t nt, void **out)
{
	if (*out)
		return FALLBACK;
	void *m = take(r, size);
	if (!m)
		return -ENOMEM;
	init(m);
	struct rd s = {p, p + n, r->a};
	int rc = rd_scalars(&s, m, t, nt);
	*out = m;
	return rc;
}

#define SUB(r, p, n, type, init, t, out)                                                     \
	rd_sub(r, p, n, sizeof(type), init, t, NF(t), (void **)(out))

/* protobuf-c's init functions (each message's defaults), through one type. */
static void init_layer(void *m)
{
	flow__flow_layer__init(m);
}
static void init_transport(void *m)
{
	flow__transport_layer__init(m);
}
static void init_icmp(void *m)
{
	flow__icmplayer__init(m);
}
static void init_metric(void *m)
{
	flow__flow_metric__init(m);
}
static void init_raw(void *m)
{
	flow__raw_packet__init(m);
}
static void init_ipm(void *m)
{
	flow__ipmetric__init(m);
}
static void init_tcpm(void *m)
{
	flow__tcpmetric__init(m);
}
static void init_stats(void *m)
{
	flow__stats__init(m);
}

/* How many fields numbered num [p, p + n) holds; -1 where protobuf-c's scan would fail or
 * a field is not length-prefixed where num is (left to protobuf-c). */
static long count_field(const uint8_t *p, size_t n, uint32_t num)
{
	struct rd r = {p, p + n, NULL};
	long c = 0;
	while (r.p < r.end) {
		uint32_t k;
		unsigned wt;
		if (rd_tag(&r, &k, &wt))
			return -1;
		const uint8_t *b;
		size_t len;
		uint64_t v;
		if (wt == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
			if (rd_bytes(&r, &b, &len))
				return -1;
		} else if (wt == PROTOBUF_C_WIRE_TYPE_VARINT && k != num) {
			if (rd_varint(&r, &v))
				return -1;
		} else {
			return -1; /* fixed sizes are not in this schema: protobuf-c's to judge */
		}
		c += k == num;
	}
	return c;
}

static int rd_flow(struct rd *r, Flow__Flow *f)
{
	size_t hint = 0;
	while (r->p < r->end) {
		const uint8_t *at = r->p;
		uint32_t num;
		unsigned wt;
		if (rd_tag(r, &num, &wt))
			return FALLBACK;
		if (num == 36 && !f->lastrawpackets) {
			/* the first raw packet: the array for all of them, counted from here (most
			 * flows have none, and pay no count) */
			long nraw = count_field(at, (size_t)(r->end - at), 36);
			if (nraw <= 0)
				return FALLBACK;
			if (!(f->lastrawpackets = take(r, (size_t)nraw * sizeof(*f->lastrawpackets))))
				return -ENOMEM;
		}
		if (num != 20 && num != 21 && num != 22 && num != 23 && num != 31 && num != 32 &&
		    num != 36 && num != 38 && num != 39) {
			int rc = rd_field(r, f, flow_f, NF(flow_f), &hint, num, wt);
			if (rc != OK)
				return rc;
			continue;
		}
		const uint8_t *p;
		size_t n;
		if (wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || rd_bytes(r, &p, &n))
			return FALLBACK;
		int rc;
		switch (num) {
		case 20:
			rc = SUB(r, p, n, Flow__FlowLayer, init_layer, layer_f, &f->link);
			break;
		case 21:
			rc = SUB(r, p, n, Flow__FlowLayer, init_layer, layer_f, &f->network);
			break;
		case 22:
			rc = SUB(r, p, n, Flow__TransportLayer, init_transport, transport_f,
				 &f->transport);
			break;
		case 23:
			rc = SUB(r, p, n, Flow__ICMPLayer, init_icmp, icmp_f, &f->icmp);
			break;
		case 31:
			rc = SUB(r, p, n, Flow__FlowMetric, init_metric, metric_f,
				 &f->lastupdatemetric);
			break;
		case 32:
			rc = SUB(r, p, n, Flow__FlowMetric, init_metric, metric_f, &f->metric);
			break;
		case 38:
			rc = SUB(r, p, n, Flow__TCPMetric, init_tcpm, tcpm_f, &f->tcpmetric);
			break;
		case 39:
			rc = SUB(r, p, n, Flow__IPMetric, init_ipm, ipm_f, &f->ipmetric);
			break;
		default: { /* 36: a raw packet, repeated */
			Flow__RawPacket *rp = NULL;
			rc = SUB(r, p, n, Flow__RawPacket, init_raw, raw_f, &rp);
			if (rp)
				f->lastrawpackets[f->n_lastrawpackets++] = rp;
			break;
		}
		}
		if (rc != OK)
			return rc;
	}
	return OK;
}

int flow_pbdec_fast(ProtobufCAllocator *alloc, size_t len, const uint8_t *buf,
		    Flow__Message **out)
{
	*out = NULL;
	/* protobuf-c refuses a message of more than 16 * (2^23 - 1) fields (its scan's
	 * slabs): a field takes 2 bytes at least, so below 128 MiB none has that many */
	if (len > (128u << 20))
		return FALLBACK;
	struct rd r = {buf, buf + len, alloc};
	long nflows = count_field(buf, len, 1);
	if (nflows < 0)
		return FALLBACK;
	Flow__Message *m = take(&r, sizeof(*m));
	if (!m)
		return -ENOMEM;
	flow__message__init(m);
	if (nflows && !(m->flows = take(&r, (size_t)nflows * sizeof(*m->flows))))
		return -ENOMEM;
	while (r.p < r.end) {
		uint32_t num;
		unsigned wt;
		const uint8_t *p;
		size_t n;
		if (rd_tag(&r, &num, &wt) || (num != 1 && num != 2) ||
		    wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || rd_bytes(&r, &p, &n))
			return FALLBACK;
		int rc;
		if (num == 2) {
			rc = SUB(&r, p, n, Flow__Stats, init_stats, stats_f, &m->stats);
		} else {
			Flow__Flow *f = take(&r, sizeof(*f));
			if (!f)
				return -ENOMEM;
			flow__flow__init(f);
			m->flows[m->n_flows++] = f;
			struct rd s = {p, p + n, alloc};
			rc = rd_flow(&s, f);
		}
		if (rc != OK)
			return rc;
	}
	*out = m;
	return OK;
}

Flow__Message *flow_pbdec_unpack(ProtobufCAllocator *alloc, size_t len, const uint8_t *buf)
{
	Flow__Message *m;
	int rc = flow_pbdec_fast(alloc, len, buf, &m);
	if (rc == OK)
		return m;
	return rc < 0 ? NULL : flow__message__unpack(alloc, len, buf);
}
