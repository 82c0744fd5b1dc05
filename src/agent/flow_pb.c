/* flow_pb.c - flows to protobuf flow.Message batches (see flow_pb.h). */
#include "agent/flow_pb.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "decode/decode.h"
#include "flow/flow_id.h"
#include "flow/xlayer.h"

#define NS_PER_MS 1000000ull

void flow_pb_fill(struct flow_pb_slot *s, const struct flow_table *t, const struct flow *f,
		  int64_t lu_start_ms, int64_t lu_last_ms)
{
	const struct flow_table_opts *o = flow_table_opts(t);
	struct flow_ids ids;
	static const Flow__Flow flow_init = FLOW__FLOW__INIT;
	static const Flow__FlowLayer layer_init = FLOW__FLOW_LAYER__INIT;
	static const Flow__TransportLayer tr_init = FLOW__TRANSPORT_LAYER__INIT;
	static const Flow__ICMPLayer icmp_init = FLOW__ICMPLAYER__INIT;
	static const Flow__FlowMetric metric_init = FLOW__FLOW_METRIC__INIT;
	static const Flow__TCPMetric tcp_init = FLOW__TCPMETRIC__INIT;

	flow_ids_compute(f, o->key_mode, o->node_tid, &ids);
	s->f = flow_init;
	fmt_hex_u64(s->uuid, ids.uuid);
	fmt_hex_u64(s->tracking, ids.l2);
	fmt_hex_u64(s->l3tracking, ids.l3);
	s->parent[0] = 0;
	if (f->parent_uuid)
		fmt_hex_u64(s->parent, f->parent_uuid);
	s->f.uuid = s->uuid;
	s->f.trackingid = s->tracking;
	s->f.l3trackingid = s->l3tracking;
	s->f.parentuuid = s->parent;
	/* protobuf-c only reads these strings */
	s->f.layerspath = (char *)flow_table_path(t, f);
	s->f.application = (char *)flow_table_app(t, f);
	s->f.nodetid = (char *)(o->node_tid ? o->node_tid : "");
	s->f.captureid = (char *)(o->capture_id ? o->capture_id : "");
	s->f.start = (int64_t)(f->start_ns / NS_PER_MS);
	s->f.last = (int64_t)(f->last_ns / NS_PER_MS);
	if (f->flags & FLOW_F_LINK) {
		s->link = layer_init;
		s->link.protocol = FLOW__FLOW_PROTOCOL__ETHERNET;
		fmt_mac(s->link_a, f->link_a);
		fmt_mac(s->link_b, f->link_b);
		s->link.a = s->link_a;
		s->link.b = s->link_b;
		s->link.id = (int64_t)f->link_id;
		s->f.link = &s->link;
	}
	if (f->ip_ver) {
		s->net = layer_init;
		s->net.protocol = f->ip_ver == 4 ? FLOW__FLOW_PROTOCOL__IPV4 : FLOW__FLOW_PROTOCOL__IPV6;
		fmt_ip(s->net_a, f->ip_ver, f->net_a);
		fmt_ip(s->net_b, f->ip_ver, f->net_b);
		s->net.a = s->net_a;
		s->net.b = s->net_b;
		s->net.id = f->net_id;
		s->f.network = &s->net;
	}
	if (f->l4) {
		s->tr = tr_init;
		s->tr.protocol = f->l4 == DECODE_L4_TCP   ? FLOW__FLOW_PROTOCOL__TCP
				 : f->l4 == DECODE_L4_UDP ? FLOW__FLOW_PROTOCOL__UDP
							  : FLOW__FLOW_PROTOCOL__SCTP;
		s->tr.a = f->tp_a;
		s->tr.b = f->tp_b;
		s->f.transport = &s->tr;
	}
	if (f->icmp_ver) {
		s->icmp = icmp_init;
		s->icmp.type = (Flow__ICMPType)f->icmp_type;
		s->icmp.code = f->icmp_code;
		s->icmp.id = f->icmp_id;
		s->f.icmp = &s->icmp;
	}
	s->lu = metric_init;
	s->lu.abpackets = (int64_t)(f->ab_packets - f->upd_ab_packets);
	s->lu.abbytes = (int64_t)(f->ab_bytes - f->upd_ab_bytes);
	s->lu.bapackets = (int64_t)(f->ba_packets - f->upd_ba_packets);
	s->lu.babytes = (int64_t)(f->ba_bytes - f->upd_ba_bytes);
	s->lu.start = lu_start_ms;
	s->lu.last = lu_last_ms;
	s->f.lastupdatemetric = &s->lu;
	s->metric = metric_init;
	s->metric.abpackets = (int64_t)f->ab_packets;
	s->metric.abbytes = (int64_t)f->ab_bytes;
	s->metric.bapackets = (int64_t)f->ba_packets;
	s->metric.babytes = (int64_t)f->ba_bytes;
	s->metric.start = s->f.start;
	s->metric.last = s->f.last;
	s->metric.rtt = flow_rtt_ns(f);
	s->f.metric = &s->metric;
	const struct flow_tcp_metric *m = flow_table_tcp_metric(t, f);
	if (m && f->l4 == DECODE_L4_TCP) {
		s->tcp = tcp_init;
		s->tcp.absynstart = m->ab_syn_start;
		s->tcp.basynstart = m->ba_syn_start;
		s->tcp.absynttl = m->ab_syn_ttl;
		s->tcp.basynttl = m->ba_syn_ttl;
		s->tcp.abfinstart = m->ab_fin_start;
		s->tcp.bafinstart = m->ba_fin_start;
		s->tcp.abrststart = m->ab_rst_start;
		s->tcp.barststart = m->ba_rst_start;
		/* ReassembleTCP streams (zero when off) */
		const struct flow_tcp_stream *a = &m->seg[0], *b = &m->seg[1];
		s->tcp.absegmentoutoforder = a->out_of_order;
		s->tcp.absegmentskipped = a->skipped;
		s->tcp.absegmentskippedbytes = (int64_t)a->skipped_bytes;
		s->tcp.abpackets = a->packets;
		s->tcp.abbytes = (int64_t)a->bytes;
		s->tcp.absawstart = a->saw_start;
		s->tcp.absawend = a->saw_end;
		s->tcp.basegmentoutoforder = b->out_of_order;
		s->tcp.basegmentskipped = b->skipped;
		s->tcp.basegmentskippedbytes = (int64_t)b->skipped_bytes;
		s->tcp.bapackets = b->packets;
		s->tcp.babytes = (int64_t)b->bytes;
		s->tcp.basawstart = b->saw_start;
		s->tcp.basawend = b->saw_end;
		s->f.tcpmetric = &s->tcp;
	}
	const struct flow_ip_metric *im = flow_table_ip_metric(t, f);
	if (im) { /* IPDefrag */
		static const Flow__IPMetric ipm_init = FLOW__IPMETRIC__INIT;
		s->ipm = ipm_init;
		s->ipm.fragments = im->fragments;
		s->ipm.fragmenterrors = im->fragment_errors;
		s->f.ipmetric = &s->ipm;
	}
	s->f.rawpacketscaptured = f->raw_captured;
	s->f.finishtype = (Flow__FlowFinishType)f->finish;
	uint32_t xlen;
	const uint8_t *xl = flow_table_layers(t, f, &xlen);
	if (xl && xlen <= sizeof(s->layers)) {
		/* copied: the table's slot changes with the flow's next packet */
		uint32_t num[3];
		const uint8_t *d[3];
		size_t dl[3];
		memcpy(s->layers, xl, xlen);
		int n = xlayer_fields(s->layers, xlen, num, d, dl, 3);
		for (int i = 0; i < n; i++) {
			/* protobuf-c writes an unknown field's tag, then its bytes as
			 * given: for a length-delimited one, with its length varint
			 * (1 or 2 bytes: a blob is under 16 KiB) */
			size_t vl = dl[i] < 128 ? 1 : 2;
			s->layer_fields[i].tag = num[i];
			s->layer_fields[i].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
			s->layer_fields[i].len = dl[i] + vl;
			s->layer_fields[i].data = (uint8_t *)d[i] - vl;
		}
		if (n > 0) {
			s->f.base.n_unknown_fields = (unsigned)n;
			s->f.base.unknown_fields = s->layer_fields;
		}
	}
}

static uint8_t *pack(const Flow__Message *m, size_t pre, size_t *len)
{
	size_t n = flow__message__get_packed_size(m);
	uint8_t *buf = malloc(pre + n + 1);
	if (!buf)
		return NULL;
	*len = flow__message__pack(m, buf + pre);
	return buf;
}

uint8_t *flow_pb_encode_stats(const char *capture_id, int64_t flow_count, int64_t flow_dropped,
			      int64_t packets_received, int64_t packets_dropped,
			      int64_t kernel_flow_dropped, size_t pre, size_t *len)
{
	Flow__Stats st = FLOW__STATS__INIT;
	Flow__Message m = FLOW__MESSAGE__INIT;
	st.captureid = (char *)(capture_id ? capture_id : "");
	st.flowcount = flow_count;
	st.flowdropped = flow_dropped;
	st.packetsreceived = packets_received;
	st.packetsdropped = packets_dropped;
	st.kernelflowdropped = kernel_flow_dropped;
	m.stats = &st;
	return pack(&m, pre, len);
}

/* ---- batches ------------------------------------------------------------ */

struct raw_rec {
	int32_t next; /* next record of the same flow, -1 = none */
};

struct raw_head {
	uint64_t hkey; /* 0 = empty */
	int32_t head, tail; /* -1 = no record (consumed) */
};

struct flow_batch {
	struct flow_batch_opts o;
	struct flow_pb_slot slots[FLOW_PB_BATCH_MAX];
	Flow__Flow *ptrs[FLOW_PB_BATCH_MAX];
	size_t n;
	/* raw packet store */
	uint8_t *arena;
	size_t arena_used;
	Flow__RawPacket *raw; /* one per record: the packet as sent */
	struct raw_rec *rec;
	Flow__RawPacket **rawp; /* per-flow runs for the batch being built */
	uint32_t rec_used, rec_live, rawp_used;
	struct raw_head *heads;
	uint32_t heads_mask;
	struct flow_batch_stats st;
};

struct flow_batch *flow_batch_new(const struct flow_batch_opts *o)
{
	struct flow_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->o = *o;
	if (!b->o.raw_bytes)
		b->o.raw_bytes = 2u << 20;
	if (!b->o.raw_max)
		b->o.raw_max = 8192;
	uint32_t cap = 16;
	while (cap < b->o.raw_max * 2u)
		cap *= 2;
	b->heads_mask = cap - 1;
	b->arena = malloc(b->o.raw_bytes);
	b->raw = calloc(b->o.raw_max, sizeof(*b->raw));
	b->rec = calloc(b->o.raw_max, sizeof(*b->rec));
	b->rawp = calloc(b->o.raw_max, sizeof(*b->rawp));
	b->heads = calloc(cap, sizeof(*b->heads));
	if (!b->arena || !b->raw || !b->rec || !b->rawp || !b->heads) {
		flow_batch_free(b);
		return NULL;
	}
	for (size_t i = 0; i < FLOW_PB_BATCH_MAX; i++)
		b->ptrs[i] = &b->slots[i].f;
	return b;
}

void flow_batch_free(struct flow_batch *b)
{
	if (!b)
		return;
	free(b->arena);
	free(b->raw);
	free(b->rec);
	free(b->rawp);
	free(b->heads);
	free(b);
}

static struct raw_head *head_find(struct flow_batch *b, uint64_t hkey, int create)
{
	uint32_t h = (uint32_t)(hkey ^ (hkey >> 32)) & b->heads_mask;
	for (;;) {
		struct raw_head *e = &b->heads[h];
		if (e->hkey == hkey)
			return e;
		if (!e->hkey) {
			if (!create)
				return NULL;
			e->hkey = hkey;
			e->head = e->tail = -1;
			return e;
		}
		h = (h + 1) & b->heads_mask;
	}
}

/* Empties the store once every kept frame has been packed. */
static void store_maybe_reset(struct flow_batch *b)
{
	if (b->rec_live || b->n)
		return;
	if (b->rec_used)
		memset(b->heads, 0, ((size_t)b->heads_mask + 1) * sizeof(*b->heads));
	b->rec_used = 0;
	b->arena_used = 0;
	b->rawp_used = 0;
}

int flow_batch_raw(void *user, const struct flow_table *t, const struct flow *const *flows,
		   int nflows, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		   uint64_t ts_ns)
{
	struct flow_batch *b = user;
	/* Distinct flows each get a record; the frame's bytes are stored once.
	 * Every record was inserted since the last reset, so at most raw_max
	 * heads are in use and the table (2 * raw_max) never fills. */
	if (b->arena_used + caplen > b->o.raw_bytes || b->rec_used + (uint32_t)nflows > b->o.raw_max) {
		b->st.raw_refused++;
		return -1;
	}
	uint8_t *copy = b->arena + b->arena_used;
	memcpy(copy, data, caplen);
	b->arena_used += caplen;
	for (int i = 0; i < nflows; i++) {
		int32_t r = (int32_t)b->rec_used++;
		Flow__RawPacket *p = &b->raw[r];
		flow__raw_packet__init(p);
		p->timestamp = (int64_t)(ts_ns / NS_PER_MS); /* Skydive's readers: ms */
		p->timestampns = (int64_t)ts_ns;
		p->wirelen = wirelen; /* Data may be cut to the header size */
		p->index = (int64_t)flows[i]->raw_captured + 1;
		p->data.data = copy;
		p->data.len = caplen;
		p->linktype = (uint32_t)flow_table_linktype(t); /* the frame's own */
		b->rec[r].next = -1;
		struct raw_head *e = head_find(b, flows[i]->hkey, 1);
		if (e->tail >= 0)
			b->rec[e->tail].next = r;
		else
			e->head = r;
		e->tail = r;
		b->rec_live++;
	}
	return 0;
}

void flow_batch_add(struct flow_batch *b, const struct flow_table *t, const struct flow *f,
		    int64_t lu_start_ms, int64_t lu_last_ms)
{
	struct flow_pb_slot *s = &b->slots[b->n];
	flow_pb_fill(s, t, f, lu_start_ms, lu_last_ms);
	struct raw_head *e = b->rec_used ? head_find(b, f->hkey, 0) : NULL;
	if (e && e->head >= 0) {
		s->f.lastrawpackets = &b->rawp[b->rawp_used];
		for (int32_t r = e->head; r >= 0; r = b->rec[r].next) {
			b->rawp[b->rawp_used++] = &b->raw[r];
			s->f.n_lastrawpackets++;
			b->rec_live--;
		}
		e->head = e->tail = -1;
	}
	b->n++;
	if (b->n == FLOW_PB_BATCH_MAX)
		flow_batch_flush(b);
}

void flow_batch_flush(struct flow_batch *b)
{
	if (!b->n)
		return;
	Flow__Message m = FLOW__MESSAGE__INIT;
	m.n_flows = b->n;
	m.flows = b->ptrs;
	size_t len = 0;
	uint8_t *buf = pack(&m, b->o.pre, &len);
	if (buf) {
		b->st.messages++;
		b->st.flows += b->n;
		for (size_t i = 0; i < b->n; i++)
			b->st.raw_sent += b->slots[i].f.n_lastrawpackets;
		if (b->o.sink)
			b->o.sink(b->o.user, buf, len);
		else
			free(buf);
	} else {
		b->st.encode_failed += b->n;
	}
	b->n = 0;
	store_maybe_reset(b);
}

size_t flow_batch_pending(const struct flow_batch *b)
{
	return b->n;
}

void flow_batch_get_stats(const struct flow_batch *b, struct flow_batch_stats *out)
{
	*out = b->st;
}

