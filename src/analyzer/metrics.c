/* metrics.c - GET /metrics of the graph service and the analyzer (see metrics.h). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/dispatch.h"
#include "analyzer/flow_ingest.h"
#include "analyzer/metrics.h"
#include "common/prom.h"
#include "graph/graph_log.h"
#include "store/flow_store.h"
#include "store/segment.h"

/* One family of one sample labelled host. */
static void one(struct buf *b, const char *name, const char *type, const char *help,
                const char *host, uint64_t v)
{
	prom_family(b, name, type, help);
	prom_u64(b, name, (prom_labels){"host", host, NULL}, v);
}

/* One family of samples split by one label (key) besides host. */
struct split {
	const char *value;
	uint64_t v;
};
static void split(struct buf *b, const char *name, const char *type, const char *help,
                  const char *host, const char *key, const struct split *s, size_t n)
{
	prom_family(b, name, type, help);
	for (size_t i = 0; i < n; i++)
		prom_u64(b, name, (prom_labels){"host", host, key, s[i].value, NULL}, s[i].v);
}

#define NSPLIT(a) (sizeof(a) / sizeof((a)[0]))

void metrics_service(struct buf *b, const char *h, const struct metrics_service *m)
{
	one(b, "skydive_topology_nodes", "gauge", "Nodes in the graph", h, m->graph.nodes);
	one(b, "skydive_topology_edges", "gauge", "Edges in the graph", h, m->graph.edges);
	one(b, "skydive_topology_history_revisions", "gauge",
	    "Past revisions kept in memory for G.At()", h, m->graph.history_revisions);
	one(b, "skydive_topology_history_bytes", "gauge", "Memory of the past revisions", h,
	    m->graph.history_bytes);
	const struct metrics_service *x = m;
	one(b, "skydive_graph_writer_queue_max", "gauge", "analyzer.graph_queue", h,
	    x->writer.queue_max);
	one(b, "skydive_graph_writer_queue_bytes_max", "gauge", "analyzer.graph_queue_bytes", h,
	    x->writer.queue_bytes_max);
	one(b, "skydive_graph_writer_queued", "gauge", "Graph messages waiting for the writer", h,
	    x->writer.queued);
	one(b, "skydive_graph_writer_queued_bytes", "gauge", "Bytes of the messages waiting", h,
	    x->writer.queued_bytes);
	one(b, "skydive_graph_writer_applied_total", "counter", "Graph messages applied", h,
	    x->writer.applied);
	one(b, "skydive_graph_writer_batches_total", "counter", "Batches the writer applied", h,
	    x->writer.batches);
	one(b, "skydive_graph_writer_queries_waiting", "gauge",
	    "Queries waiting for earlier messages to be applied", h,
	    (uint64_t)x->writer.waiting_readers);
	one(b, "skydive_graph_writer_resyncs_total", "counter",
	    "Senders told to resync after an overflow", h, x->writer_resyncs);
	const struct split drops[] = {{"graph_writer_overflow", x->writer.overflows},
	                              {"invalid_message", x->bad_messages + x->writer.invalid},
	                              {"slow_client", x->slow_dropped},
	                              {"duplicate_host_id", x->refused_duplicate}};
	split(b, "skydive_websocket_dropped_total", "counter",
	      "WebSocket messages or clients dropped, by stage", h, "stage", drops, NSPLIT(drops));
	one(b, "skydive_websocket_queue_size", "gauge", "http.ws.queue_size (per subscriber)", h,
	    x->ws_queue_max);
	const struct split peers[] = {{"agent", x->agents},
	                              {"publisher", x->publishers},
	                              {"subscriber", x->subscribers}};
	split(b, "skydive_websocket_peers", "gauge", "Graph peers connected, by kind", h, "kind",
	      peers, NSPLIT(peers));
}

/* ---- captures, from the nodes' Captures metadata ------------------------ */

static uint64_t u64_of(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));
	return v > 0 ? (uint64_t)v : 0;
}

static const char *str_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* One family over every capture entry of every node: key's value. */
static void captures_family(struct buf *b, struct graph_view *v, const char *name,
                            const char *help, const char *const *keys, const char *const *stages)
{
	prom_family(b, name, "counter", help);
	size_t n = graph_view_node_count(v);
	for (size_t i = 0; i < n; i++) {
		const struct graph_node *node = graph_view_node(v, i);
		const json_t *md = node->e.metadata;
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(md, "Captures"), k, e)
		{
			for (size_t s = 0; keys[s]; s++) {
				if (!json_object_get(e, keys[s]))
					continue; /* not this capture type's (ebpf: no interface drops) */
				const char *lab[] = {"host",       node->e.host ? node->e.host : "",
				                     "node",       str_of(md, "Name"),
				                     "node_id",    node->e.id,
				                     "capture_id", str_of(e, "ID"),
				                     "type",       str_of(e, "Type"),
				                     stages ? "stage" : NULL,
				                     stages ? stages[s] : NULL,
				                     NULL};
				prom_u64(b, name, lab, u64_of(e, keys[s]));
			}
		}
	}
}

void metrics_captures(struct buf *b, struct graph *g)
{
	static const char *const recv[] = {"PacketsReceived", NULL};
	static const char *const drop[] = {"PacketsDropped", "PacketsIfDropped",
	                                   "FlowMessagesDropped", "KernelFlowDropped", NULL};
	static const char *const stage[] = {"kernel", "interface", "flow_messages", "kernel_flows"};
	graph_rdlock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	if (v) {
		captures_family(b, v, "skydive_capture_packets_total",
		                "Packets a capture received on its node (Captures metadata "
		                "PacketsReceived)",
		                recv, NULL);
		captures_family(b, v, "skydive_capture_dropped_total",
		                "What a capture lost, by stage: kernel (PacketsDropped), interface "
		                "(PacketsIfDropped), flow_messages (FlowMessagesDropped), "
		                "kernel_flows (KernelFlowDropped)",
		                drop, stage);
		graph_view_free(v);
	}
	graph_unlock(g);
}

/* ---- the analyzer -------------------------------------------------------- */

/* Per agent and per capture counters of the flow ingest (its own table, FlowStats). */
static void ingest_hosts(struct buf *b, const json_t *hosts)
{
	static const struct {
		const char *name, *key, *type, *help;
	} per_host[] = {
	    {"skydive_flow_ingest_messages_total", "Messages", "counter",
	     "Flow messages received from an agent"},
	    {"skydive_flow_ingest_bytes_total", "Bytes", "counter", "Bytes of those messages"},
	    {"skydive_flow_ingest_flows_total", "Flows", "counter", "Flow states received"},
	    {"skydive_flow_ingest_raw_packets_total", "RawPackets", "counter",
	     "Raw packets received"},
	}, per_cap[] = {
	    {"skydive_flow_table_flows", "FlowCount", "gauge",
	     "Flows in the agent's flow table of a capture (its fill)"},
	    {"skydive_flow_table_packets_total", "PacketsReceived", "counter",
	     "Packets the capture's flow table counted"},
	};
	static const struct {
		const char *key, *stage;
	} drops[] = {{"DecodeErrors", "decode"},
	             {"Errors", "error"},
	             {"FlowsRejected", "flow_rejected"},
	             {"RawPacketsRejected", "raw_rejected"}},
	  cap_drops[] = {{"FlowDropped", "flow_table_full"},
	                 {"KernelFlowDropped", "kernel_flows"},
	                 {"PacketsDropped", "packets"}};
	const char *agent;
	json_t *h;
	for (size_t m = 0; m < NSPLIT(per_host); m++) {
		prom_family(b, per_host[m].name, per_host[m].type, per_host[m].help);
		json_object_foreach((json_t *)hosts, agent, h)
		prom_u64(b, per_host[m].name, (prom_labels){"host", agent, NULL},
		         u64_of(h, per_host[m].key));
	}
	prom_family(b, "skydive_flow_ingest_dropped_total", "counter",
	            "What the analyzer could not take of an agent's flow messages, by stage");
	json_object_foreach((json_t *)hosts, agent, h)
	for (size_t d = 0; d < NSPLIT(drops); d++)
		prom_u64(b, "skydive_flow_ingest_dropped_total",
		         (prom_labels){"host", agent, "stage", drops[d].stage, NULL},
		         u64_of(h, drops[d].key));
	for (size_t m = 0; m < NSPLIT(per_cap); m++) {
		prom_family(b, per_cap[m].name, per_cap[m].type, per_cap[m].help);
		json_object_foreach((json_t *)hosts, agent, h)
		{
			const char *id;
			json_t *c;
			json_object_foreach(json_object_get(h, "Captures"), id, c)
			prom_u64(b, per_cap[m].name, (prom_labels){"host", agent, "capture_id", id, NULL},
			         u64_of(c, per_cap[m].key));
		}
	}
	prom_family(b, "skydive_flow_table_dropped_total", "counter",
	            "What an agent's capture lost before its flows reached the analyzer, by stage");
	json_object_foreach((json_t *)hosts, agent, h)
	{
		const char *id;
		json_t *c;
		json_object_foreach(json_object_get(h, "Captures"), id, c)
		for (size_t d = 0; d < NSPLIT(cap_drops); d++)
			prom_u64(b, "skydive_flow_table_dropped_total",
			         (prom_labels){"host", agent, "capture_id", id, "stage", cap_drops[d].stage,
			                       NULL},
			         u64_of(c, cap_drops[d].key));
	}
}

void metrics_analyzer(struct buf *b, const char *h, struct flow_ingest *fi,
                      struct flow_store *fs, struct graph_log *hl)
{
	if (fi) {
		struct flow_ingest_queue_stats q;
		flow_ingest_queue_stats(fi, &q);
		one(b, "skydive_flow_ingest_queue_max", "gauge", "analyzer.flow_queue", h,
		    q.max_frames);
		one(b, "skydive_flow_ingest_queue_bytes_max", "gauge", "analyzer.flow_queue_bytes", h,
		    q.max_bytes);
		one(b, "skydive_flow_ingest_queued", "gauge", "Flow frames queued or in decoding", h,
		    q.frames);
		one(b, "skydive_flow_ingest_queued_bytes", "gauge", "Bytes of those frames", h,
		    q.bytes);
		one(b, "skydive_flow_ingest_received_total", "counter", "Flow frames submitted", h,
		    q.received);
		one(b, "skydive_flow_ingest_queue_dropped_total", "counter",
		    "Flow frames dropped: the ingest queue was full", h, q.dropped);
		/* the ingest's own table of per-agent counters (its status, FlowStats) */
		json_t *hosts = flow_ingest_status_json(fi);
		if (hosts)
			ingest_hosts(b, hosts);
		json_decref(hosts);
	}
	if (fs) {
		struct flow_store_stats st;
		flow_store_stats(fs, &st);
		one(b, "skydive_flow_store_flows", "gauge", "Flows kept in memory", h, st.flows);
		one(b, "skydive_flow_store_bytes", "gauge", "Memory the flow store holds (estimate)",
		    h, st.bytes);
		one(b, "skydive_flow_store_ingested_total", "counter", "Flow states stored", h,
		    st.ingested);
		const struct split ev[] = {{"max_flows", st.dropped_max_flows},
		                           {"max_age", st.dropped_age},
		                           {"raw_packets", st.raw_dropped}};
		split(b, "skydive_flow_store_evicted_total", "counter",
		      "Flows (or raw packets) the memory store dropped, by reason", h, "reason", ev,
		      NSPLIT(ev));
		one(b, "skydive_flow_store_raw_packets", "gauge", "Raw packets kept in memory", h,
		    st.raw_packets);
		struct seglog_stats ls;
		if (!flow_store_log_stats(fs, &ls)) {
			one(b, "skydive_flow_storage_bytes", "gauge", "Bytes of the flow log on disk", h,
			    ls.bytes);
			one(b, "skydive_flow_storage_segments", "gauge", "Segments of the flow log", h,
			    ls.segments);
			one(b, "skydive_flow_storage_pending", "gauge",
			    "Records in the active blocks, not yet on disk", h,
			    ls.pending_flows + ls.pending_raw);
			const struct split evd[] = {{"segments", ls.evicted_segments},
			                            {"bytes", ls.evicted_bytes},
			                            {"records", ls.evicted_records}};
			split(b, "skydive_flow_storage_evicted_total", "counter",
			      "What retention removed from the flow log, by unit", h, "unit", evd,
			      NSPLIT(evd));
			const struct split dd[] = {{"write_error", ls.write_errors},
			                           {"flows", ls.dropped_flows},
			                           {"raw_packets", ls.dropped_raw},
			                           {"corrupt_blocks", ls.corrupt_blocks}};
			split(b, "skydive_flow_storage_dropped_total", "counter",
			      "What the flow log lost, by stage", h, "stage", dd, NSPLIT(dd));
		}
	}
	if (hl) {
		struct graph_log_stats gl;
		graph_log_stats(hl, &gl);
		one(b, "skydive_topology_history_written_total", "counter",
		    "Topology history records written to disk", h, gl.written);
		const struct split dd[] = {{"dropped", gl.dropped},
		                           {"write_error", gl.write_errors},
		                           {"skipped_corrupt", gl.skipped}};
		split(b, "skydive_topology_history_lost_total", "counter",
		      "Topology history records lost, by stage", h, "stage", dd, NSPLIT(dd));
		one(b, "skydive_topology_history_disk_bytes", "gauge",
		    "Bytes of the topology history on disk", h, gl.bytes);
		one(b, "skydive_topology_history_removed_files_total", "counter",
		    "History files removed by retention", h, gl.removed_files);
	}
}

void metrics_dispatch(struct buf *b, const char *h, const struct dispatch_stats *d)
{
	one(b, "skydive_capture_dispatch_runs_total", "counter",
	    "Passes matching captures to nodes and agents", h, d->runs);
	const struct split sent[] = {{"start", d->starts}, {"stop", d->stops_sent}};
	split(b, "skydive_capture_dispatch_sent_total", "counter",
	      "Capture start and stop requests sent to agents", h, "kind", sent, NSPLIT(sent));
	const struct split fail[] = {{"send_failed", d->send_failed},
	                             {"error_reply", d->error_replies},
	                             {"stop_error", d->stop_errors},
	                             {"stale_reply", d->stale_replies}};
	split(b, "skydive_capture_dispatch_failed_total", "counter",
	      "Capture requests that failed or whose reply came too late, by stage", h, "stage",
	      fail, NSPLIT(fail));
	one(b, "skydive_capture_dispatch_agents", "gauge", "Agents the dispatch knows connected",
	    h, d->agents);
	one(b, "skydive_capture_dispatch_orphans_stopped_total", "counter",
	    "Captures stopped on nodes where no capture wants them (deleted or no longer "
	    "matching while no analyzer dispatched)",
	    h, d->orphans);
	one(b, "skydive_capture_dispatch_master", "gauge",
	    "1 when this analyzer dispatches the captures (elected in a cluster)", h,
	    (uint64_t)d->is_master);
}
