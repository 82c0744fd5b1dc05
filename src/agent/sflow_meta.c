/* sflow_meta.c - an sflow capture's Captures fields and "SFlow" node metadata
 * (see sflow_meta.h). */
#include "agent/sflow_meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sflow_meta {
	int have_prev;
	struct sflow_if_counters prev_sum; /* Metric at the previous publication */
	int64_t prev_ms;
	struct capture_sflow_if ifs[CAPTURE_SFLOW_MAX_IFS]; /* the copy being published */
};

struct sflow_meta *sflow_meta_new(void)
{
	return calloc(1, sizeof(struct sflow_meta));
}

void sflow_meta_free(struct sflow_meta *m)
{
	free(m);
}

void sflow_meta_entry(const struct capture *c, json_t *entry)
{
	struct capture_sflow_info in;
	capture_sflow_info(c, &in);
	json_object_set_new(entry, "SFlowSocket", json_string(in.address));
	json_object_set_new(entry, "SamplingRate", json_integer(in.sampling_rate));
	json_object_set_new(entry, "Datagrams", json_integer((json_int_t)in.datagrams));
	json_object_set_new(entry, "DatagramErrors", json_integer((json_int_t)in.datagram_errors));
	json_object_set_new(entry, "SkippedHeaders", json_integer((json_int_t)in.skipped_headers));
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

void sflow_meta_publish(struct sflow_meta *m, struct capture *cap, struct graph *g,
			const char *node_id, int64_t now_ms)
{
	int nifs = capture_sflow_counters(cap, m->ifs, CAPTURE_SFLOW_MAX_IFS);
	if (!nifs)
		return;
	json_t *ifm = json_object(), *sf = json_object();
	struct sflow_if_counters sum;
	memset(&sum, 0, sizeof(sum));
	int64_t start = 0;
	for (int i = 0; i < nifs; i++) {
		const struct capture_sflow_if *im = &m->ifs[i];
		char key[16];
		snprintf(key, sizeof(key), "%u", im->c.if_index);
		json_t *mj = metric_json(&im->c, NULL, im->start_ms, im->last_ms);
		json_object_set_new(mj, "IfIndex", json_integer(im->c.if_index));
		json_object_set_new(mj, "IfType", json_integer(im->c.if_type));
		json_object_set_new(mj, "IfSpeed", json_integer((json_int_t)im->c.if_speed));
		json_object_set_new(mj, "IfDirection", json_integer(im->c.if_direction));
		json_object_set_new(mj, "IfStatus", json_integer(im->c.if_status));
		json_object_set_new(mj, "IfPromiscuousMode", json_integer(im->c.promiscuous_mode));
		json_object_set_new(ifm, key, mj);
		add_counters(&sum, &im->c);
		if (!start || im->start_ms < start)
			start = im->start_ms;
	}
	json_object_set_new(sf, "IfMetrics", ifm);
	json_object_set_new(sf, "Metric", metric_json(&sum, NULL, start, now_ms));
	if (m->have_prev)
		json_object_set_new(sf, "LastUpdateMetric",
				    metric_json(&sum, &m->prev_sum, m->prev_ms, now_ms));
	m->prev_sum = sum;
	m->prev_ms = now_ms;
	m->have_prev = 1;
	graph_lock(g);
	graph_node_set_key(g, node_id, "SFlow", sf, now_ms);
	graph_unlock(g);
}
