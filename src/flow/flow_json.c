/* flow_json.c - fixed-schema JSON writer for flows: faster than building a
 * document, and the field set is Skydive's (docs/FLOWS.md). */
#include "flow/flow_json.h"

#include <string.h>

#include "common/util.h"
#include "decode/decode.h"
#include "flow/flow_id.h"
#include "flow/xlayer.h"

#define NS_PER_MS 1000000ull

static void key(struct buf *b, int *first, const char *k)
{
	if (!*first)
		buf_putc(b, ',');
	*first = 0;
	buf_putc(b, '"');
	buf_puts(b, k);
	buf_puts(b, "\":");
}

/* omitempty integer */
static void put_int(struct buf *b, int *first, const char *k, int64_t v)
{
	if (!v)
		return;
	key(b, first, k);
	buf_put_i64(b, v);
}

/* TCPMetric 9-22 (ReassembleTCP), in flow.proto's order. */
static void put_tcp_streams(struct buf *b, int *first, const struct flow_tcp_metric *m)
{
	for (int d = 0; d < 2; d++) {
		const struct flow_tcp_stream *s = &m->seg[d];
		const char *const *k = d ? (const char *const[]){"BASegmentOutOfOrder",
								 "BASegmentSkipped",
								 "BASegmentSkippedBytes", "BAPackets",
								 "BABytes", "BASawStart", "BASawEnd"}
					 : (const char *const[]){"ABSegmentOutOfOrder",
								 "ABSegmentSkipped",
								 "ABSegmentSkippedBytes", "ABPackets",
								 "ABBytes", "ABSawStart", "ABSawEnd"};
		put_int(b, first, k[0], s->out_of_order);
		put_int(b, first, k[1], s->skipped);
		put_int(b, first, k[2], (int64_t)s->skipped_bytes);
		put_int(b, first, k[3], s->packets);
		put_int(b, first, k[4], (int64_t)s->bytes);
		put_int(b, first, k[5], s->saw_start);
		put_int(b, first, k[6], s->saw_end);
	}
}

static void put_str(struct buf *b, int *first, const char *k, const char *v)
{
	if (!v || !*v)
		return;
	key(b, first, k);
	buf_put_json_str(b, v);
}

static void put_metric(struct buf *b, int *first, const char *k, int64_t abp, int64_t abb,
		       int64_t bap, int64_t bab, int64_t start, int64_t last, int64_t rtt)
{
	int f2 = 1;
	key(b, first, k);
	buf_putc(b, '{');
	put_int(b, &f2, "ABPackets", abp);
	put_int(b, &f2, "ABBytes", abb);
	put_int(b, &f2, "BAPackets", bap);
	put_int(b, &f2, "BABytes", bab);
	put_int(b, &f2, "Start", start);
	put_int(b, &f2, "Last", last);
	put_int(b, &f2, "RTT", rtt);
	buf_putc(b, '}');
}

static void put_layer(struct buf *b, int *first, const char *k, unsigned proto, const char *a,
		      const char *bb, int64_t id)
{
	int f2 = 1;
	key(b, first, k);
	buf_putc(b, '{');
	key(b, &f2, "Protocol");
	buf_putc(b, '"');
	buf_puts(b, flow_proto_name(proto));
	buf_putc(b, '"');
	put_str(b, &f2, "A", a);
	put_str(b, &f2, "B", bb);
	put_int(b, &f2, "ID", id);
	buf_putc(b, '}');
}

void flow_json_write(struct buf *b, const struct flow_table *t, const struct flow *f,
		     int64_t lu_start_ms, int64_t lu_last_ms)
{
	const struct flow_table_opts *o = flow_table_opts(t);
	struct flow_ids ids;
	char hex[17], a[46], bb[46];
	int first = 1;
	int64_t start = (int64_t)(f->start_ns / NS_PER_MS), last = (int64_t)(f->last_ns / NS_PER_MS);

	flow_ids_compute(f, o->key_mode, o->node_tid, &ids);
	buf_reserve(b, 1024);
	buf_putc(b, '{');
	fmt_hex_u64(hex, ids.uuid);
	put_str(b, &first, "UUID", hex);
	put_str(b, &first, "LayersPath", flow_table_path(t, f));
	put_str(b, &first, "Application", flow_table_app(t, f));
	if (f->flags & FLOW_F_LINK) {
		fmt_mac(a, f->link_a);
		fmt_mac(bb, f->link_b);
		put_layer(b, &first, "Link", FLOW_PROTO_ETHERNET, a, bb, (int64_t)f->link_id);
	}
	if (f->ip_ver) {
		fmt_ip(a, f->ip_ver, f->net_a);
		fmt_ip(bb, f->ip_ver, f->net_b);
		put_layer(b, &first, "Network", f->ip_ver == 4 ? FLOW_PROTO_IPV4 : FLOW_PROTO_IPV6, a,
			  bb, f->net_id);
	}
	if (f->l4) {
		int f2 = 1;
		unsigned p = f->l4 == DECODE_L4_TCP   ? FLOW_PROTO_TCP
			     : f->l4 == DECODE_L4_UDP ? FLOW_PROTO_UDP
						      : FLOW_PROTO_SCTP;
		key(b, &first, "Transport");
		buf_putc(b, '{');
		key(b, &f2, "Protocol");
		buf_putc(b, '"');
		buf_puts(b, flow_proto_name(p));
		buf_putc(b, '"');
		put_int(b, &f2, "A", f->tp_a);
		put_int(b, &f2, "B", f->tp_b);
		buf_putc(b, '}');
	}
	if (f->icmp_ver) {
		int f2 = 1;
		key(b, &first, "ICMP");
		buf_putc(b, '{');
		if (f->icmp_type) {
			key(b, &f2, "Type");
			buf_put_json_str(b, flow_icmp_type_name(f->icmp_type));
		}
		put_int(b, &f2, "Code", f->icmp_code);
		put_int(b, &f2, "ID", f->icmp_id);
		buf_putc(b, '}');
	}
	{ /* extra layers (DHCPv4, DNS, VRRPv2): after ICMP, as in flow.Flow */
		uint32_t xlen;
		const uint8_t *xl = flow_table_layers(t, f, &xlen);
		if (xl)
			xlayer_json_buf(b, &first, xl, xlen);
	}
	put_metric(b, &first, "LastUpdateMetric", (int64_t)(f->ab_packets - f->upd_ab_packets),
		   (int64_t)(f->ab_bytes - f->upd_ab_bytes),
		   (int64_t)(f->ba_packets - f->upd_ba_packets),
		   (int64_t)(f->ba_bytes - f->upd_ba_bytes), lu_start_ms, lu_last_ms, 0);
	put_metric(b, &first, "Metric", (int64_t)f->ab_packets, (int64_t)f->ab_bytes,
		   (int64_t)f->ba_packets, (int64_t)f->ba_bytes, start, last, flow_rtt_ns(f));
	const struct flow_tcp_metric *m = flow_table_tcp_metric(t, f);
	if (m && f->l4 == DECODE_L4_TCP) {
		int f2 = 1;
		key(b, &first, "TCPMetric");
		buf_putc(b, '{');
		put_int(b, &f2, "ABSynStart", m->ab_syn_start);
		put_int(b, &f2, "BASynStart", m->ba_syn_start);
		put_int(b, &f2, "ABSynTTL", m->ab_syn_ttl);
		put_int(b, &f2, "BASynTTL", m->ba_syn_ttl);
		put_int(b, &f2, "ABFinStart", m->ab_fin_start);
		put_int(b, &f2, "BAFinStart", m->ba_fin_start);
		put_int(b, &f2, "ABRstStart", m->ab_rst_start);
		put_int(b, &f2, "BARstStart", m->ba_rst_start);
		put_tcp_streams(b, &f2, m); /* ReassembleTCP (zero when off) */
		buf_putc(b, '}');
	}
	const struct flow_ip_metric *im = flow_table_ip_metric(t, f);
	if (im) { /* IPDefrag */
		int f2 = 1;
		key(b, &first, "IPMetric");
		buf_putc(b, '{');
		put_int(b, &f2, "Fragments", im->fragments);
		put_int(b, &f2, "FragmentErrors", im->fragment_errors);
		buf_putc(b, '}');
	}
	key(b, &first, "Start");
	buf_put_i64(b, start);
	key(b, &first, "Last");
	buf_put_i64(b, last);
	fmt_hex_u64(hex, ids.l2);
	put_str(b, &first, "TrackingID", hex);
	fmt_hex_u64(hex, ids.l3);
	put_str(b, &first, "L3TrackingID", hex);
	key(b, &first, "ParentUUID");
	if (f->parent_uuid) {
		fmt_hex_u64(hex, f->parent_uuid);
		buf_put_json_str(b, hex);
	} else {
		buf_puts(b, "\"\"");
	}
	put_str(b, &first, "NodeTID", o->node_tid);
	put_str(b, &first, "CaptureID", o->capture_id);
	key(b, &first, "RawPacketsCaptured");
	buf_put_u64(b, f->raw_captured);
	if (f->finish)
		put_str(b, &first, "FinishType", flow_finish_name(f->finish));
	buf_putc(b, '}');
}
