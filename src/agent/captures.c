/* captures.c - OnDemand captures on the agent (see captures.h).
 *
 * Threads: requests arrive on the forwarder's loop thread; each (capture,
 * node) runs in one or more lane threads (agent.capture.workers, afpacket
 * only: the lanes' sockets share one PACKET_FANOUT hash group, so both
 * directions of a conversation land in the same lane). A lane alone touches
 * its capture handle, flow table and flow batch (no lock on the packet path)
 * and publishes its counters in atomics; lane 0 sums them into the node's
 * `Captures` entry and the capture's Stats message every stats_update (it
 * takes the graph lock only for that). m->lock guards the worker list; it is
 * never held while taking the graph lock or joining a worker. */
#include "agent/captures.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/capture_target.h"
#include "agent/ebpf_capture.h"
#include "agent/flow_pb.h"
#include "agent/netflow_collector.h"
#include "agent/ovs_capture.h"
#include "agent/sflow_meta.h"
#include "wire/graph_msg.h"
#include "capture/capture.h"
#include "common/log.h"
#include "common/util.h"
#include "decode/xlayer.h"
#include "flow/flow_loop.h"
#include "flow/flow_table.h"

#define NS_PER_MS 1000000ull

struct cap_worker;

/* One capture socket, its flow table and batch, and the thread reading it. */
struct cap_lane {
	struct cap_worker *w;
	int idx;
	struct capture *cap;
	struct ebpf_capture *eb; /* ebpf: the kernel flow map instead of cap */
	struct netflow_collector *nf; /* ovsnetflow: NetFlow records instead of cap */
	struct flow_table *t;
	struct flow_batch *batch;
	struct capture_target_lane *tl; /* netflowv5 target: this lane's records */
	pthread_t th;
	int thread_started;
	/* Written by the lane's thread, summed by lane 0 and by stop_worker. */
	_Atomic uint64_t received, dropped_kernel, dropped_ifdrop, flow_count, flow_dropped,
		kernel_flow_dropped;
	_Atomic uint64_t reasm[10]; /* IPDefrag / ReassembleTCP counters (reasm_keys) */
	_Atomic uint64_t layers_no_slot, layers_cut, layers_tcp_partial; /* ExtraLayers */
	_Atomic uint64_t dns_tcp[6]; /* DNS over TCP from the streams (dns_tcp_keys) */
};

/* The Captures metadata names of the reassembly counters (struct flow_stats):
 * the first 5 under "IPDefrag", the others under "ReassembleTCP". */
static const char *const reasm_keys[10] = {
    "Fragments",        "Reassembled",     "FragmentErrors", "FragmentsNoRoom",
    "DatagramsTimedOut", "SegmentsBuffered", "HolesBufferFull", "HolesTimedOut",
    "HolesFlowEnded",   "SegmentsCut"};

/* The Captures metadata names of the DNS over TCP counters of a capture
 * with ReassembleTCP and ExtraLayers DNS (struct flow_stats dns_tcp_*). */
static const char *const dns_tcp_keys[6] = {
    "DNSOverTCPMessages", "DNSOverTCPTooBig",   "DNSOverTCPNoRoom",
    "DNSOverTCPHole",     "DNSOverTCPLostSync", "DNSOverTCPUnfinished"};

/* One (capture, node). */
struct cap_worker {
	struct cap_worker *next;
	struct capmgr *m;
	char *capture_id, *node_id, *type, *name, *desc, *bpf, *node_tid, *netns, *ifname;
	int64_t raw_limit;
	uint32_t header_size;
	uint16_t port; /* sflow: the capture's Port, 0 = the first free one */
	/* ovssflow/ovsmirror (ovs_capture.h): the node's OVSDB UUID, the rows made,
	 * the mirrored port's name (ifname is then the mirror's internal port) */
	char *ovs_uuid, *target, *mirror_of;
	uint32_t sampling, polling;
	struct ovs_capture *ovs;
	struct sflow_meta *sfm; /* sflow/ovssflow: counters between publications */
	char *target_type;          /* TargetType, or NULL (capture_target.h) */
	uint32_t ifindex;           /* the node's IfIndex (erspanv1's Index) */
	struct capture_target *tgt; /* opened before the lanes, closed after */
	enum flow_key_mode key_mode;
	int extra_tcp;
	int ip_defrag, reasm_tcp; /* IPDefrag, ReassembleTCP */
	unsigned extra_layers; /* XL_* */
	int nlanes;
	struct cap_lane *lanes;
	int threads_started;
	atomic_int stop;
	atomic_int failing; /* the first lane to fail writes error, then sets failed */
	atomic_int failed;  /* state error */
	/* flow messages of this capture the agent's send queue refused (full or
	 * stopping): shown as FlowMessagesDropped, so a loss is seen at the node */
	atomic_uint_fast64_t send_dropped;
	char error[512];
};

struct capmgr {
	struct capmgr_opts o;
	pthread_mutex_t lock;
	struct cap_worker *list;
	atomic_uint next_group; /* PACKET_FANOUT group ids of this process */
};

/* Sets the worker's error once (the first failing lane wins). */
static void worker_fail(struct cap_worker *w, const char *msg)
{
	int expected = 0;
	if (atomic_compare_exchange_strong(&w->failing, &expected, 1)) {
		snprintf(w->error, sizeof(w->error), "%s", msg);
		atomic_store(&w->failed, 1);
	}
}

struct lane_sums {
	uint64_t received, dropped_kernel, dropped_ifdrop, flow_count, flow_dropped,
		kernel_flow_dropped;
	uint64_t reasm[10];
	uint64_t layers_no_slot, layers_cut, layers_tcp_partial;
	uint64_t dns_tcp[6];
};

static void sum_lanes(const struct cap_worker *w, struct lane_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < w->nlanes; i++) {
		const struct cap_lane *l = &w->lanes[i];
		s->received += atomic_load(&l->received);
		s->dropped_kernel += atomic_load(&l->dropped_kernel);
		s->dropped_ifdrop += atomic_load(&l->dropped_ifdrop);
		s->flow_count += atomic_load(&l->flow_count);
		s->flow_dropped += atomic_load(&l->flow_dropped);
		s->kernel_flow_dropped += atomic_load(&l->kernel_flow_dropped);
		for (int k = 0; k < 10; k++)
			s->reasm[k] += atomic_load(&l->reasm[k]);
		s->layers_no_slot += atomic_load(&l->layers_no_slot);
		s->layers_cut += atomic_load(&l->layers_cut);
		s->layers_tcp_partial += atomic_load(&l->layers_tcp_partial);
		for (int k = 0; k < 6; k++)
			s->dns_tcp[k] += atomic_load(&l->dns_tcp[k]);
	}
}

static int64_t now_ms(void)
{
	return (int64_t)(time_now_ns() / NS_PER_MS);
}

/* sflow, or ovssflow (the same collector, fed by OVS). */
static int is_sflow(const struct cap_worker *w)
{
	return !strcmp(w->type, "sflow") || !strcmp(w->type, "ovssflow");
}

/* ---- metadata ------------------------------------------------------------ */

static json_t *entry_json(const struct cap_worker *w)
{
	json_t *e = json_object();
	if (!e)
		return NULL;
	json_object_set_new(e, "ID", json_string(w->capture_id));
	json_object_set_new(e, "State", json_string(w->failed ? "error" : "active"));
	json_object_set_new(e, "Type", json_string(w->type));
	if (w->name && *w->name)
		json_object_set_new(e, "Name", json_string(w->name));
	if (w->desc && *w->desc)
		json_object_set_new(e, "Description", json_string(w->desc));
	if (w->bpf && *w->bpf)
		json_object_set_new(e, "BPFFilter", json_string(w->bpf));
	if (w->failed)
		json_object_set_new(e, "Error", json_string(w->error));
	struct lane_sums s;
	sum_lanes(w, &s);
	json_object_set_new(e, "PacketsReceived", json_integer((json_int_t)s.received));
	json_object_set_new(e, "PacketsDropped", json_integer((json_int_t)s.dropped_kernel));
	json_object_set_new(e, "PacketsIfDropped", json_integer((json_int_t)s.dropped_ifdrop));
	json_object_set_new(e, "FlowMessagesDropped",
			    json_integer((json_int_t)atomic_load(&w->send_dropped)));
	if (w->nlanes > 1)
		json_object_set_new(e, "Workers", json_integer(w->nlanes));
	/* What reassembly held, gave up or refused (docs/FLOWS.md). */
	for (int part = 0; part < 2; part++) {
		if (!(part ? w->reasm_tcp : w->ip_defrag))
			continue;
		json_t *o = json_object();
		for (int k = part * 5; k < part * 5 + 5; k++)
			json_object_set_new(o, reasm_keys[k], json_integer((json_int_t)s.reasm[k]));
		json_object_set_new(e, part ? "ReassembleTCP" : "IPDefrag", o);
	}
	if (w->extra_layers) { /* what the extra layers could not keep (docs/FLOWS.md) */
		json_object_set_new(e, "ExtraLayersNoSlot", json_integer((json_int_t)s.layers_no_slot));
		json_object_set_new(e, "ExtraLayersCut", json_integer((json_int_t)s.layers_cut));
		json_object_set_new(e, "DNSOverTCPPartial",
				    json_integer((json_int_t)s.layers_tcp_partial));
		if (w->reasm_tcp && (w->extra_layers & XL_DNS))
			for (int k = 0; k < 6; k++)
				json_object_set_new(e, dns_tcp_keys[k],
						    json_integer((json_int_t)s.dns_tcp[k]));
	}
	if (!strcmp(w->type, "pcapsocket") && w->nlanes && w->lanes[0].cap) {
		struct capture_pcapsocket_info pi;
		capture_pcapsocket_info(w->lanes[0].cap, &pi);
		json_object_set_new(e, "PCAPSocket", json_string(pi.address));
		json_object_set_new(e, "Connections", json_integer((json_int_t)pi.connections));
		json_object_set_new(e, "StreamErrors", json_integer((json_int_t)pi.stream_errors));
	}
	if (is_sflow(w) && w->nlanes && w->lanes[0].cap)
		sflow_meta_entry(w->lanes[0].cap, e); /* SFlowSocket, SamplingRate, ... */
	if (w->nlanes && w->lanes[0].nf) { /* ovsnetflow: the collector's counters */
		struct netflow_collector_stats ns;
		netflow_collector_stats(w->lanes[0].nf, &ns);
		json_object_set_new(e, "NetFlowSocket",
				    json_string(netflow_collector_address(w->lanes[0].nf)));
		json_object_set_new(e, "NetFlowDatagrams", json_integer((json_int_t)ns.datagrams));
		json_object_set_new(e, "NetFlowDatagramErrors",
				    json_integer((json_int_t)ns.datagram_errors));
		json_object_set_new(e, "NetFlowRecords", json_integer((json_int_t)ns.records));
		json_object_set_new(e, "NetFlowRecordsLost",
				    json_integer((json_int_t)ns.records_lost));
	}
	if (w->mirror_of)
		json_object_set_new(e, "MirrorOf", json_string(w->mirror_of));
	capture_target_entry(w->tgt, e); /* TargetType, TargetSent, ... */
	if (!strcmp(w->type, "ebpf")) { /* flows counted in the kernel: no packets */
		json_object_set_new(e, "RawPackets", json_string("not supported"));
		json_object_set_new(e, "KernelFlowDropped",
				    json_integer((json_int_t)s.kernel_flow_dropped));
	}
	return e;
}

/* Replaces (entry != NULL, stolen) or removes this capture's entry in the
 * node's Captures array. Takes the graph lock. */
static void set_entry(struct capmgr *m, const char *node_id, const char *capture_id,
		      json_t *entry)
{
	graph_lock(m->o.g);
	struct graph_view *v = graph_view_at(m->o.g, 0, NULL);
	const struct graph_node *n = v ? graph_view_node_get(v, node_id) : NULL;
	if (!n) {
		graph_view_free(v);
		graph_unlock(m->o.g);
		json_decref(entry);
		return;
	}
	json_t *old = json_object_get(n->e.metadata, "Captures");
	json_t *arr = json_array();
	size_t i;
	json_t *it;
	int changed = 0;
	json_array_foreach(old, i, it)
	{
		const char *id = json_string_value(json_object_get(it, "ID"));
		if (id && !strcmp(id, capture_id)) {
			if (entry && json_equal(it, entry)) {
				json_decref(entry);
				entry = NULL;
				json_array_append(arr, it);
			} else {
				changed = 1;
			}
			continue;
		}
		json_array_append(arr, it);
	}
	if (entry) {
		json_array_append_new(arr, entry);
		changed = 1;
	}
	graph_view_free(v);
	/* arr is the graph's once given to graph_node_set_key: nothing reads it after */
	size_t narr = json_array_size(arr);
	if (changed)
		graph_node_set_key(m->o.g, node_id, "Captures", narr ? arr : NULL, now_ms());
	if (!changed || !narr)
		json_decref(arr);
	graph_unlock(m->o.g);
}

/* ---- the lanes ------------------------------------------------------------ */

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms)
{
	struct cap_lane *l = user;
	flow_batch_add(l->batch, t, f, lu_start_ms, lu_last_ms);
	if (l->tl)
		capture_target_flow(l->tl, t, f, lu_start_ms);
}

static void push(struct cap_worker *w, uint8_t *buf, size_t len)
{
	if (!w->m->o.fs)
		free(buf);
	else if (flow_sender_push(w->m->o.fs, buf, len)) /* also counted agent-wide */
		atomic_fetch_add(&w->send_dropped, 1);
}

static void on_sink(void *user, uint8_t *buf, size_t len)
{
	struct cap_lane *l = user;
	push(l->w, buf, len);
}

static int on_raw_flows(void *user, const struct flow_table *t, const struct flow *const *flows,
			int nflows, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
			uint64_t ts_ns)
{
	struct cap_lane *l = user;
	return flow_batch_raw(l->batch, t, flows, nflows, data, caplen, wirelen, ts_ns);
}

/* The lane's counters into its atomics (lane thread, or after it ended). */
static void lane_update(struct cap_lane *l)
{
	struct capture_stats cs;
	if (l->eb) {
		atomic_store(&l->received, ebpf_capture_packets(l->eb));
		atomic_store(&l->kernel_flow_dropped, ebpf_capture_kernel_dropped(l->eb));
	} else if (l->nf) { /* the packets the exporter counted in its records */
		struct netflow_collector_stats ns;
		netflow_collector_stats(l->nf, &ns);
		atomic_store(&l->received, ns.packets);
	} else if (capture_stats(l->cap, &cs) == 0) {
		atomic_store(&l->received, cs.received);
		atomic_store(&l->dropped_kernel, cs.dropped_kernel);
		atomic_store(&l->dropped_ifdrop, cs.dropped_ifdrop);
	}
	const struct flow_stats *st = flow_table_stats(l->t);
	atomic_store(&l->flow_count, (uint64_t)st->flow_count);
	atomic_store(&l->flow_dropped, (uint64_t)st->flow_dropped);
	const uint64_t r[10] = {st->frag_frames,      st->frag_reassembled, st->frag_errors,
				st->frag_no_room,     st->frag_timeouts,    st->tcp_buffered,
				st->tcp_gaps_full,    st->tcp_gaps_timeout, st->tcp_gaps_closed,
				st->tcp_cut};
	for (int k = 0; k < 10; k++)
		atomic_store(&l->reasm[k], r[k]);
	atomic_store(&l->layers_no_slot, st->layers_no_slot);
	atomic_store(&l->layers_cut, st->layers_cut);
	atomic_store(&l->layers_tcp_partial, st->layers_tcp_partial);
	const uint64_t d[6] = {st->dns_tcp_messages,  st->dns_tcp_too_big,   st->dns_tcp_no_room,
			       st->dns_tcp_hole,       st->dns_tcp_lost_sync, st->dns_tcp_unfinished};
	for (int k = 0; k < 6; k++)
		atomic_store(&l->dns_tcp[k], d[k]);
}

/* The capture's summed entry and Stats message (lane 0, or stop_worker). */
static void publish_stats(struct cap_worker *w)
{
	set_entry(w->m, w->node_id, w->capture_id, entry_json(w));
	if (w->sfm && w->nlanes && w->lanes[0].cap) /* counter samples */
		sflow_meta_publish(w->sfm, w->lanes[0].cap, w->m->o.g, w->node_id, now_ms());
	struct lane_sums s;
	sum_lanes(w, &s);
	size_t len = 0;
	uint8_t *buf = flow_pb_encode_stats(w->capture_id, (int64_t)s.flow_count,
					    (int64_t)s.flow_dropped, (int64_t)s.received,
					    (int64_t)(s.dropped_kernel + s.dropped_ifdrop),
					    (int64_t)s.kernel_flow_dropped,
					    flow_sender_headroom(), &len);
	if (buf)
		push(w, buf, len);
}

/* After each batch of the shared loop (flow_loop.h): ship the flows the
 * batch reported, publish the counters every stats_update. */
struct lane_run {
	struct cap_lane *l;
	uint64_t stats_ns, next_stats;
};

static void on_frame(void *user, const struct capture_frame *f)
{
	struct lane_run *r = user;
	capture_target_frame(r->l->w->tgt, f); /* erspanv1 */
}

static int lane_after_batch(void *user, int n, uint64_t now)
{
	struct lane_run *r = user;
	struct cap_lane *l = r->l;
	flow_batch_flush(l->batch);
	capture_target_lane_flush(l->tl);
	if (now >= r->next_stats) {
		lane_update(l);
		if (l->idx == 0)
			publish_stats(l->w);
		r->next_stats = now + r->stats_ns;
	}
	return atomic_load(&l->w->stop);
}

static int ebpf_poll(void *src, struct flow_table *t)
{
	return ebpf_capture_poll(src, t);
}

static int netflow_poll(void *src, struct flow_table *t)
{
	return netflow_collector_poll(src, t);
}

#define NETFLOW_POLL_MS 100 /* between reads of the collector's socket */

static void *lane_main(void *arg)
{
	struct cap_lane *l = arg;
	struct cap_worker *w = l->w;
	uint64_t stats_ns = (uint64_t)w->m->o.stats_update_ms * NS_PER_MS;
	struct lane_run r = {l, stats_ns, time_now_ns() + stats_ns};
	struct flow_loop_opts lo = {.live = 1, .after_batch = lane_after_batch, .user = &r};
	if (w->tgt && capture_target_type(w->tgt) == CAPTURE_TARGET_ERSPAN1)
		lo.frame = on_frame;
	/* Until stopped or failed; every flow leaves at the end. */
	if (l->eb) { /* flows counted in the kernel: records, polled */
		struct flow_loop_records src = {ebpf_poll, l->eb, EBPF_CAPTURE_POLL_MS};
		int rc = flow_loop_run_records(&src, l->t, &lo);
		if (rc) {
			char msg[128];
			snprintf(msg, sizeof(msg), "ebpf: draining the flow map: %s", strerror(-rc));
			worker_fail(w, msg);
			log_warn("agent: capture %s on %s failed: %s", w->capture_id, w->ifname, msg);
		}
	} else if (l->nf) { /* NetFlow records from OVS */
		struct flow_loop_records src = {netflow_poll, l->nf, NETFLOW_POLL_MS};
		int rc = flow_loop_run_records(&src, l->t, &lo);
		if (rc) {
			char msg[128];
			snprintf(msg, sizeof(msg), "netflow: reading the collector: %s",
				 strerror(-rc));
			worker_fail(w, msg);
			log_warn("agent: capture %s on %s failed: %s", w->capture_id, w->ifname, msg);
		}
	} else if (flow_loop_run(l->cap, l->t, &lo)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", capture_error(l->cap));
		worker_fail(w, msg);
		log_warn("agent: capture %s on %s (worker %d) failed: %s", w->capture_id, w->ifname,
			 l->idx, msg);
	}
	flow_batch_flush(l->batch);
	capture_target_lane_flush(l->tl);
	lane_update(l);
	if (atomic_load(&w->failed) && !atomic_load(&w->stop))
		publish_stats(w); /* state error at once; stop_worker publishes on a stop */
	return NULL;
}

static void worker_free(struct cap_worker *w)
{
	if (!w)
		return;
	ovs_capture_detach(w->ovs); /* OVSDB rows first, then the collector/capture */
	sflow_meta_free(w->sfm);
	for (int i = 0; i < w->nlanes; i++) {
		flow_table_free(w->lanes[i].t);
		flow_batch_free(w->lanes[i].batch);
		capture_target_lane_free(w->lanes[i].tl);
		capture_close(w->lanes[i].cap);
		ebpf_capture_close(w->lanes[i].eb);
		netflow_collector_close(w->lanes[i].nf);
	}
	free(w->lanes);
	capture_target_close(w->tgt);
	free(w->target_type);
	free(w->capture_id);
	free(w->node_id);
	free(w->type);
	free(w->name);
	free(w->desc);
	free(w->bpf);
	free(w->node_tid);
	free(w->netns);
	free(w->ifname);
	free(w->ovs_uuid);
	free(w->target);
	free(w->mirror_of);
	free(w);
}

/* Opens one lane's capture and table; 0, or -1 with err filled. */
static int lane_open(struct cap_lane *l, int fanout_group, char *err, size_t errlen)
{
	struct cap_worker *w = l->w;
	struct capmgr *m = w->m;
	struct capture_live_opts co = {
		.netns = w->netns,
		.ifname = w->ifname,
		/* Reassembly needs whole frames; raw packets are still cut to
		 * the header size by the flow table. */
		.snaplen = w->ip_defrag || w->reasm_tcp ? 65535
			   : w->header_size             ? w->header_size
							: 256,
		.fanout_group = fanout_group,
		.bpf = w->bpf, /* afpacket, pcap: in place before the socket receives */
	};
	if (!strcmp(w->type, "pcapsocket")) {
		/* A listener on the agent host (its own namespace, not the node's). */
		struct capture_pcapsocket_opts po = {
			.bind_address = m->o.pcapsocket_bind,
			.min_port = m->o.pcapsocket_min_port,
			.max_port = m->o.pcapsocket_max_port,
			.snaplen = co.snaplen,
		};
		l->cap = capture_open_pcapsocket(&po, err, errlen);
	} else if (is_sflow(w)) {
		/* A UDP collector on the agent host, like pcapsocket. */
		struct capture_sflow_opts so = {
			.bind_address = m->o.sflow_bind,
			.port = w->port,
			.port_min = m->o.sflow_port_min,
			.port_max = m->o.sflow_port_max,
			.snaplen = co.snaplen,
		};
		l->cap = capture_open_sflow(&so, err, errlen);
		if (l->cap && !w->sfm && !(w->sfm = sflow_meta_new())) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	} else if (!strcmp(w->type, "ovsnetflow")) {
		/* A UDP NetFlow v5 collector on the agent host, fed by OVS. */
		struct netflow_collector_opts no = {
			.bind_address = m->o.netflow_bind,
			.port_min = m->o.netflow_port_min,
			.port_max = m->o.netflow_port_max,
		};
		l->nf = netflow_collector_open(&no, err, errlen);
		if (!l->nf)
			return -1;
	} else if (!strcmp(w->type, "ebpf")) {
		/* The program, in the node's namespace: flows, not frames. */
		l->eb = ebpf_capture_open(w->netns, w->ifname, m->o.ebpf_polling_rate, err, errlen);
		if (!l->eb)
			return -1;
	} else {
		l->cap = !strcmp(w->type, "pcap") ? capture_open_pcap(&co, err, errlen)
						  : capture_open_afpacket(&co, err, errlen);
	}
	if (!l->cap && !l->eb && !l->nf)
		return -1;
	/* The listeners' filters (afpacket and pcap took theirs at opening). */
	if (l->cap && (!strcmp(w->type, "pcapsocket") || is_sflow(w)) && w->bpf && *w->bpf &&
	    capture_set_filter(l->cap, w->bpf, err, errlen))
		return -1;
	struct flow_batch_opts bo = {
		.pre = flow_sender_headroom(),
		.sink = on_sink,
		.user = l,
	};
	l->batch = flow_batch_new(&bo);
	if (!l->batch) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct flow_table_opts to = {
		.key_mode = w->key_mode,
		.appmap = m->o.appmap,
		.arp_timeout_s = m->o.arp_timeout_s,
		.dns_timeout_s = m->o.dns_timeout_s,
		.raw_packet_limit = w->raw_limit,
		.header_size = w->header_size,
		.extra_tcp_metric = w->extra_tcp,
		.ip_defrag = w->ip_defrag,
		.reassemble_tcp = w->reasm_tcp,
		.extra_layers = w->extra_layers,
		.max_flows = m->o.max_flows,
		.expire_s = m->o.flow_expire_s,
		.update_s = m->o.flow_update_s,
		.node_tid = w->node_tid,
		.capture_id = w->capture_id,
	};
	l->t = flow_table_new(&to, on_emit, NULL, l, err, errlen);
	if (!l->t)
		return -1;
	flow_table_set_raw_flows(l->t, on_raw_flows);
	if (w->tgt && capture_target_type(w->tgt) == CAPTURE_TARGET_NETFLOW5 &&
	    !(l->tl = capture_target_lane_new(w->tgt))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A PACKET_FANOUT group id for a new capture instance: unique within this
 * process (a counter) and, through the random start, unlikely to meet
 * another process's group in the same namespace; never 0 (= no fanout). */
static int fanout_group(struct capmgr *m)
{
	unsigned id;
	do
		id = atomic_fetch_add(&m->next_group, 1) & 0xffff;
	while (!id);
	return (int)id;
}

/* Opens the lanes; on failure w->failed and w->error, every lane closed. */
static void worker_open(struct cap_worker *w)
{
	struct capmgr *m = w->m;
	char err[512] = "";
	int n = m->o.capture_workers > 1 && !strcmp(w->type, "afpacket")
			? (int)m->o.capture_workers
			: 1;
	w->lanes = calloc((size_t)n, sizeof(*w->lanes));
	if (!w->lanes) {
		worker_fail(w, "out of memory");
		return;
	}
	w->nlanes = n;
	int group = n > 1 ? fanout_group(m) : 0;
	for (int i = 0; i < n; i++) {
		w->lanes[i].w = w;
		w->lanes[i].idx = i;
		if (lane_open(&w->lanes[i], group, err, sizeof(err)))
			goto fail;
	}
	return;
fail:
	worker_fail(w, err[0] ? err : "cannot open the capture");
	for (int i = 0; i < n; i++) {
		flow_table_free(w->lanes[i].t);
		flow_batch_free(w->lanes[i].batch);
		capture_target_lane_free(w->lanes[i].tl);
		capture_close(w->lanes[i].cap);
		ebpf_capture_close(w->lanes[i].eb);
		netflow_collector_close(w->lanes[i].nf);
		w->lanes[i].t = NULL;
		w->lanes[i].batch = NULL;
		w->lanes[i].tl = NULL;
		w->lanes[i].cap = NULL;
		w->lanes[i].eb = NULL;
		w->lanes[i].nf = NULL;
	}
}

/* Stops and joins the lanes that run. */
static void join_lanes(struct cap_worker *w)
{
	atomic_store(&w->stop, 1);
	for (int i = 0; i < w->nlanes; i++)
		if (w->lanes[i].thread_started) {
			pthread_join(w->lanes[i].th, NULL);
			w->lanes[i].thread_started = 0;
		}
}

/* ---- OVS capture types (ovs_capture.h) ---------------------------------- */

/* ovsmirror: the mirror and its internal port, which the lanes then capture
 * (afpacket, in the agent's namespace). */
static void ovs_before_open(struct cap_worker *w)
{
	if (strcmp(w->type, "ovsmirror"))
		return;
	if (w->m->o.ovsdb && !*w->m->o.ovsdb) {
		worker_fail(w, "ovsmirror needs OVSDB (the ovsdb probe is off)");
		return;
	}
	char err[512] = "";
	struct ovs_mirror_opts mo = {
		.ovsdb = w->m->o.ovsdb, .port_uuid = w->ovs_uuid, .probe_id = w->capture_id};
	w->ovs = ovs_mirror_attach(&mo, err, sizeof(err));
	char *ifname = w->ovs ? strdup(ovs_capture_ifname(w->ovs)) : NULL;
	if (!ifname) {
		worker_fail(w, err[0] ? err : "out of memory");
		return;
	}
	w->mirror_of = w->ifname;
	w->ifname = ifname;
	free(w->netns);
	w->netns = NULL;
}

static const char *sflow_address(const struct capture *c)
{
	struct capture_sflow_info in;
	capture_sflow_info(c, &in);
	return in.address;
}

/* ovssflow, ovsnetflow: the sFlow or NetFlow row pointing the bridge at the
 * collector just opened. */
static void ovs_after_open(struct cap_worker *w)
{
	int nf = !strcmp(w->type, "ovsnetflow");
	if ((!nf && strcmp(w->type, "ovssflow")) || !w->nlanes ||
	    !(nf ? (void *)w->lanes[0].nf : (void *)w->lanes[0].cap))
		return;
	char err[512] = "";
	if (w->m->o.ovsdb && !*w->m->o.ovsdb) {
		snprintf(err, sizeof(err), "%s needs OVSDB (the ovsdb probe is off)", w->type);
	} else if (nf) {
		struct ovs_netflow_opts no = {
			.ovsdb = w->m->o.ovsdb,
			.bridge_uuid = w->ovs_uuid,
			.probe_id = w->capture_id,
			.collector = netflow_collector_address(w->lanes[0].nf),
			.target = w->target,
		};
		w->ovs = ovs_netflow_attach(&no, err, sizeof(err));
	} else {
		struct ovs_sflow_opts so = {
			.ovsdb = w->m->o.ovsdb,
			.bridge_uuid = w->ovs_uuid,
			.probe_id = w->capture_id,
			.collector = sflow_address(w->lanes[0].cap),
			.target = w->target,
			.sampling = w->sampling,
			.polling = w->polling,
			.header = w->header_size,
		};
		w->ovs = ovs_sflow_attach(&so, err, sizeof(err));
	}
	if (w->ovs)
		return;
	worker_fail(w, err[0] ? err : "out of memory");
	for (int i = 0; i < w->nlanes; i++) { /* frees the UDP port at once */
		flow_table_free(w->lanes[i].t);
		flow_batch_free(w->lanes[i].batch);
		capture_target_lane_free(w->lanes[i].tl);
		capture_close(w->lanes[i].cap);
		ebpf_capture_close(w->lanes[i].eb);
		netflow_collector_close(w->lanes[i].nf);
		w->lanes[i].t = NULL;
		w->lanes[i].batch = NULL;
		w->lanes[i].tl = NULL;
		w->lanes[i].cap = NULL;
		w->lanes[i].eb = NULL;
		w->lanes[i].nf = NULL;
	}
}

/* ---- requests ------------------------------------------------------------ */

static json_t *reply(const json_t *msg, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static json_t *reply(const json_t *msg, int status, const char *fmt, ...)
{
	json_t *r = json_object();
	json_object_set(r, "Namespace", json_object_get(msg, "Namespace"));
	json_object_set(r, "Type", json_object_get(msg, "Type"));
	json_t *uuid = json_object_get(msg, "UUID");
	if (uuid)
		json_object_set(r, "UUID", uuid);
	json_object_set_new(r, "Status", json_integer(status));
	if (fmt) {
		char text[600];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		json_object_set_new(r, "Obj", json_pack("{ss}", "Error", text));
	} else {
		json_object_set_new(r, "Obj", json_object());
	}
	return r;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct cap_worker *find(struct capmgr *m, const char *cid, const char *nid)
{
	for (struct cap_worker *w = m->list; w; w = w->next)
		if (!strcmp(w->capture_id, cid) && (!nid || !strcmp(w->node_id, nid)))
			return w;
	return NULL;
}

/* ovsnetflow takes flow records from OVS, not packets: the options that need
 * packets (or are sFlow's) are refused rather than ignored. */
static int ovsnetflow_refused(const json_t *res, int has_target_type, char *why, size_t len)
{
	static const struct {
		const char *key, *reason;
	} opts[] = {
	    {"BPFFilter", "no BPF filter (OVS exports flow records, not packets)"},
	    {"RawPacketLimit", "no raw packets (NetFlow records carry none)"},
	    {"HeaderSize", "no HeaderSize (NetFlow records carry no headers)"},
	    {"ExtraTCPMetric", "no ExtraTCPMetric (NetFlow records carry no TCP timing)"},
	    {"IPDefrag", "no IPDefrag (OVS exports flow records, not packets)"},
	    {"ReassembleTCP", "no ReassembleTCP (OVS exports flow records, not packets)"},
	    {"ExtraLayers", "no ExtraLayers (OVS exports flow records, not packets)"},
	    {"Port", "no Port (the collector takes agent.flow.netflow.port_min..port_max)"},
	};
	if (has_target_type) {
		snprintf(why, len, "capture type ovsnetflow: OVS sends NetFlow to its Target "
				   "itself: no TargetType there");
		return 1;
	}
	/* sFlow's two options come with every create (Skydive's client sends its
	 * defaults 1 and 10): those values are what NetFlow does anyway (every
	 * packet counted; no counter polling), any other is refused. */
	json_int_t sr = json_integer_value(json_object_get(res, "SamplingRate"));
	json_int_t pi = json_integer_value(json_object_get(res, "PollingInterval"));
	if (sr > 1) {
		snprintf(why, len, "capture type ovsnetflow takes no SamplingRate (OVS's NetFlow "
				   "counts every packet; 0 or 1 only)");
		return 1;
	}
	if (pi != 0 && pi != 10) {
		snprintf(why, len, "capture type ovsnetflow takes no PollingInterval (an sFlow "
				   "counter option; 0 or the default 10 only)");
		return 1;
	}
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const json_t *v = json_object_get(res, opts[i].key);
		int set = json_is_string(v)    ? *json_string_value(v) != 0
			  : json_is_integer(v) ? json_integer_value(v) != 0
			  : json_is_true(v);
		if (set) {
			snprintf(why, len, "capture type ovsnetflow takes %s", opts[i].reason);
			return 1;
		}
	}
	return 0;
}

static json_t *start(struct capmgr *m, const json_t *msg, const char *nid, const json_t *res)
{
	const char *cid = json_string_value(json_object_get(res, "UUID"));
	if (!cid || !*cid)
		return reply(msg, 400, "the capture has no UUID");
	const char *type = json_string_value(json_object_get(res, "Type"));
	int type_given = type && *type;
	if (!type_given)
		type = "afpacket"; /* or the node type's default, below */
	if (strcmp(type, "afpacket") && strcmp(type, "pcap") && strcmp(type, "pcapsocket") &&
	    strcmp(type, "sflow") && strcmp(type, "ovssflow") && strcmp(type, "ovsmirror") &&
	    strcmp(type, "ovsnetflow") && strcmp(type, "ebpf"))
		return reply(msg, 400, "capture type %s is not supported by this agent yet", type);
	const char *bpf = json_string_value(json_object_get(res, "BPFFilter"));
	if (!strcmp(type, "ebpf") && bpf && *bpf)
		return reply(msg, 400, "capture type ebpf does not support a BPF filter");
	/* The kernel counts an ebpf capture's flows: no packet to reassemble. */
	if (!strcmp(type, "ebpf") && (json_is_true(json_object_get(res, "IPDefrag")) ||
				      json_is_true(json_object_get(res, "ReassembleTCP"))))
		return reply(msg, 400,
			     "capture type ebpf does not support IPDefrag nor ReassembleTCP (the "
			     "kernel counts its flows, no packet reaches the agent)");
	const char *km = json_string_value(json_object_get(res, "LayerKeyMode"));
	enum flow_key_mode key_mode = m->o.default_key_mode; /* flow.default_layer_key_mode */
	if (km && *km && flow_key_mode_parse(km, &key_mode))
		return reply(msg, 400, "LayerKeyMode '%s': expected L2 or L3", km);
	json_int_t raw = json_integer_value(json_object_get(res, "RawPacketLimit"));
	json_int_t hs = json_integer_value(json_object_get(res, "HeaderSize"));
	if (raw < -1 || hs < 0 || hs > 65535 || (hs && hs < 14))
		return reply(msg, 400, "RawPacketLimit or HeaderSize out of range");
	/* Target/TargetType (capture_target.h) */
	const char *tt = json_string_value(json_object_get(res, "TargetType"));
	const char *tgt = json_string_value(json_object_get(res, "Target"));
	enum capture_target_type ttype = 0;
	if (tt && *tt) {
		if (capture_target_type_parse(tt, &ttype))
			return reply(msg, 400, "TargetType '%.32s' is not supported: expected %s", tt,
				     CAPTURE_TARGET_TYPES);
		if (!tgt || !*tgt)
			return reply(msg, 400, "TargetType %s needs a Target (HOST:PORT)", tt);
		if (ttype == CAPTURE_TARGET_ERSPAN1 && !strcmp(type, "ebpf"))
			return reply(msg, 400, "TargetType erspanv1 needs frames: not with capture type ebpf");
	}
	/* ExtraLayers: Skydive's bitmask, or its JSON form, a list of names */
	json_t *xj = json_object_get(res, "ExtraLayers");
	unsigned xl = 0;
	if (json_is_integer(xj) && json_integer_value(xj) >= 0 && json_integer_value(xj) <= 255) {
		xl = (unsigned)json_integer_value(xj);
	} else if (json_is_array(xj)) {
		size_t i;
		json_t *e;
		json_array_foreach(xj, i, e) {
			const char *nm = json_string_value(e);
			unsigned b = !nm                    ? 0
				     : !strcmp(nm, "DNS")    ? XL_DNS
				     : !strcmp(nm, "DHCPv4") ? XL_DHCPV4
				     : !strcmp(nm, "VRRP")   ? XL_VRRP
							     : 0;
			if (!b)
				return reply(msg, 400, "ExtraLayers item #%zu: expected DNS, DHCPv4 or VRRP",
					     i);
			xl |= b;
		}
	} else if (xj && !json_is_null(xj)) {
		return reply(msg, 400, "ExtraLayers: expected a bitmask 0..255 or a list of names");
	}
	/* the ebpf capture counts flows in the kernel: no packet to decode */
	if (xl && !strcmp(type, "ebpf"))
		return reply(msg, 400, "capture type ebpf does not support ExtraLayers");

	pthread_mutex_lock(&m->lock);
	struct cap_worker *dup = find(m, cid, nid);
	int active = dup && !dup->failed;
	pthread_mutex_unlock(&m->lock);
	if (active)
		return reply(msg, 200, NULL);
	if (dup) { /* a failed attempt: try again */
		pthread_mutex_lock(&m->lock);
		for (struct cap_worker **p = &m->list; *p; p = &(*p)->next)
			if (*p == dup) {
				*p = dup->next;
				break;
			}
		pthread_mutex_unlock(&m->lock);
		join_lanes(dup);
		worker_free(dup);
	}

	struct cap_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return reply(msg, 500, "out of memory");
	w->m = m;
	w->capture_id = strdup(cid);
	w->node_id = strdup(nid);
	w->type = strdup(type);
	w->name = dup_or_null(json_string_value(json_object_get(res, "Name")));
	w->desc = dup_or_null(json_string_value(json_object_get(res, "Description")));
	w->bpf = dup_or_null(json_string_value(json_object_get(res, "BPFFilter")));
	w->raw_limit = strcmp(type, "ebpf") ? raw : 0; /* ebpf: no raw packets */
	w->header_size = (uint32_t)hs;
	json_int_t port = json_integer_value(json_object_get(res, "Port"));
	w->port = port > 0 && port <= 65535 ? (uint16_t)port : 0;
	w->key_mode = key_mode;
	w->extra_tcp = json_is_true(json_object_get(res, "ExtraTCPMetric"));
	w->ip_defrag = json_is_true(json_object_get(res, "IPDefrag"));
	w->reasm_tcp = json_is_true(json_object_get(res, "ReassembleTCP"));
	w->extra_layers = xl;
	json_int_t sr = json_integer_value(json_object_get(res, "SamplingRate"));
	json_int_t pi = json_integer_value(json_object_get(res, "PollingInterval"));
	w->sampling = sr > 0 && sr <= UINT32_MAX ? (uint32_t)sr : 0;
	w->polling = pi > 0 && pi <= UINT32_MAX ? (uint32_t)pi : 0;
	w->target = dup_or_null(json_string_value(json_object_get(res, "Target")));
	w->target_type = ttype ? strdup(tt) : NULL;

	/* The node: its interface name, TID and the namespace owning it. */
	graph_lock(m->o.g);
	struct graph_view *v = graph_view_at(m->o.g, 0, NULL);
	const struct graph_node *n = v ? graph_view_node_get(v, nid) : NULL;
	if (n) {
		w->ifname = dup_or_null(json_string_value(json_object_get(n->e.metadata, "Name")));
		w->node_tid = dup_or_null(json_string_value(json_object_get(n->e.metadata, "TID")));
		w->ovs_uuid = dup_or_null(json_string_value(json_object_get(n->e.metadata, "UUID")));
		json_int_t ifx = json_integer_value(json_object_get(n->e.metadata, "IfIndex"));
		w->ifindex = ifx > 0 && ifx <= UINT32_MAX ? (uint32_t)ifx : 0;
		const char *nt = json_string_value(json_object_get(n->e.metadata, "Type"));
		const char *def = !nt ? NULL
			: !strcmp(nt, "ovsbridge") ? "ovssflow"
			: !strcmp(nt, "ovsport")   ? "ovsmirror"
						   : NULL;
		if (!type_given && def) {
			free(w->type);
			w->type = strdup(def);
		}
		size_t ne = 0;
		const struct graph_edge *const *in = graph_view_in_edges(v, nid, &ne);
		for (size_t i = 0; i < ne; i++) {
			const char *rel = json_string_value(
				json_object_get(in[i]->e.metadata, "RelationType"));
			const struct graph_node *p = graph_view_node_get(v, in[i]->parent);
			if (!rel || strcmp(rel, "ownership") || !p)
				continue;
			const char *pt = json_string_value(json_object_get(p->e.metadata, "Type"));
			const char *path = json_string_value(json_object_get(p->e.metadata, "Path"));
			if (pt && !strcmp(pt, "netns") && path)
				w->netns = strdup(path);
		}
	}
	graph_view_free(v);
	graph_unlock(m->o.g);
	if (!n) {
		worker_free(w);
		return reply(msg, 404, "node %s not found", nid);
	}
	if (!w->capture_id || !w->node_id || !w->type || !w->ifname) {
		worker_free(w);
		return reply(msg, w->ifname ? 500 : 400, "node %s has no interface name", nid);
	}

	if (w->target_type && !strcmp(w->type, "ovssflow")) {
		worker_free(w);
		return reply(msg, 400, "capture type ovssflow sends sFlow to its Target: "
				       "no TargetType there");
	}
	if (!strcmp(w->type, "ovsnetflow")) {
		char why[160];
		if (ovsnetflow_refused(res, w->target_type != NULL, why, sizeof(why))) {
			worker_free(w);
			return reply(msg, 400, "%s", why);
		}
	}
	if (w->target_type) {
		char err[512] = "";
		struct capture_target_opts to = {w->target_type, w->target, w->ifindex};
		if (!(w->tgt = capture_target_open(&to, err, sizeof(err))))
			worker_fail(w, err);
	}
	if (!w->failed)
		ovs_before_open(w);
	if (!w->failed)
		worker_open(w);
	if (!w->failed)
		ovs_after_open(w);
	/* Shown at once (before the worker thread may touch its stats). */
	set_entry(m, nid, cid, entry_json(w));
	for (int i = 0; !w->failed && i < w->nlanes; i++) {
		int rc = pthread_create(&w->lanes[i].th, NULL, lane_main, &w->lanes[i]);
		if (rc) {
			char why[128];
			snprintf(why, sizeof(why), "cannot start a thread: %s", strerror(rc));
			join_lanes(w); /* the lanes started so far */
			worker_fail(w, why);
			set_entry(m, nid, cid, entry_json(w));
		} else {
			w->lanes[i].thread_started = 1;
		}
	}
	int failed = w->failed;
	pthread_mutex_lock(&m->lock);
	w->next = m->list;
	m->list = w;
	pthread_mutex_unlock(&m->lock);
	if (failed) {
		log_warn("agent: capture %s on %s: %s", cid, w->ifname, w->error);
		return reply(msg, 500, "%s", w->error);
	}
	log_info("agent: capture %s started on %s%s%s (%s, %d worker%s)", cid, w->ifname,
		 w->netns ? " in " : "", w->netns ? w->netns : "", w->type, w->nlanes,
		 w->nlanes > 1 ? "s" : "");
	return reply(msg, 200, NULL);
}

/* Stops and frees a worker already unlinked from the list. */
static void stop_worker(struct capmgr *m, struct cap_worker *w)
{
	int ran = 0;
	for (int i = 0; i < w->nlanes; i++)
		ran |= w->lanes[i].thread_started;
	join_lanes(w);
	if (ran)
		publish_stats(w); /* the final counters, every lane flushed */
	set_entry(m, w->node_id, w->capture_id, NULL);
	log_info("agent: capture %s stopped on %s", w->capture_id, w->ifname ? w->ifname : "?");
	worker_free(w);
}

static json_t *stop(struct capmgr *m, const json_t *msg, const char *nid, const json_t *res)
{
	const char *cid = json_string_value(json_object_get(res, "UUID"));
	if (!cid || !*cid)
		return reply(msg, 400, "the capture has no UUID");
	for (;;) {
		pthread_mutex_lock(&m->lock);
		struct cap_worker *w = NULL;
		for (struct cap_worker **p = &m->list; *p; p = &(*p)->next)
			if (!strcmp((*p)->capture_id, cid) && (!nid || !strcmp((*p)->node_id, nid))) {
				w = *p;
				*p = w->next;
				break;
			}
		pthread_mutex_unlock(&m->lock);
		if (!w)
			break;
		stop_worker(m, w);
	}
	return reply(msg, 200, NULL); /* stopping what is not running is done */
}

json_t *capmgr_handle(struct capmgr *m, const json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "Type"));
	const json_t *obj = json_object_get(msg, "Obj");
	const char *nid = json_string_value(json_object_get(obj, "NodeID"));
	const json_t *res = json_object_get(obj, "Resource");
	if (!type)
		return reply(msg, 400, "missing Type");
	if (!json_is_object(res))
		return reply(msg, 400, "missing Obj.Resource");
	if (!strcmp(type, "Start")) {
		if (!nid || !*nid)
			return reply(msg, 400, "missing Obj.NodeID");
		return start(m, msg, nid, res);
	}
	if (!strcmp(type, "Stop"))
		return stop(m, msg, nid && *nid ? nid : NULL, res);
	return reply(msg, 400, "unknown OnDemand request type '%s'", type);
}

/* ---- life cycle ------------------------------------------------------------ */

struct capmgr *capmgr_new(const struct capmgr_opts *o)
{
	struct capmgr *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->o = *o;
	if (m->o.stats_update_ms <= 0)
		m->o.stats_update_ms = 1000;
	if (m->o.capture_workers < 1)
		m->o.capture_workers = 1;
	if (m->o.capture_workers > CAPMGR_MAX_WORKERS)
		m->o.capture_workers = CAPMGR_MAX_WORKERS;
	/* Random-ish start: groups of other processes in a namespace are not ours. */
	atomic_init(&m->next_group, (unsigned)(time_now_ns() ^ ((uint64_t)getpid() << 16)));
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void capmgr_stop(struct capmgr *m)
{
	if (!m)
		return;
	for (;;) {
		pthread_mutex_lock(&m->lock);
		struct cap_worker *w = m->list;
		if (w)
			m->list = w->next;
		pthread_mutex_unlock(&m->lock);
		if (!w)
			break;
		stop_worker(m, w);
	}
}

void capmgr_free(struct capmgr *m)
{
	if (!m)
		return;
	capmgr_stop(m);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

size_t capmgr_active(struct capmgr *m)
{
	size_t n = 0;
	pthread_mutex_lock(&m->lock);
	for (struct cap_worker *w = m->list; w; w = w->next)
		n += !w->failed;
	pthread_mutex_unlock(&m->lock);
	return n;
}
