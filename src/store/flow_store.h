/* flow_store.h - the analyzer's flow store: recent flows by UUID in memory with their
 * update records, and (when analyzer.data_dir is usable) every flow state and raw
 * packet in a durable segment log on disk (segment.h: format, recovery, fsync policy,
 * retention, and the storage interface another backend would implement), queried by
 * Gremlin.
 *
 * Persistent mode: each state is appended to the log as it is stored in memory; raw
 * packets go to the log only. Flows() reads the log (sealed blocks pruned by time and
 * by the pushed-down Flows(k, v) filters and node IDs before anything is decompressed,
 * then the active block) and memory, and answers the newest state of each UUID whose
 * [Start, Last] overlaps the window: what memory has wins, so after a restart, or once
 * memory dropped a flow, the log serves it. Without a window (no G.At), the log gives
 * only what was received within analyzer.flow.max_age, what memory would hold. Queries hold the store's mutex only to
 * look at memory, never while reading the disk.
 *
 * A flow is kept as a compact record (addresses as bytes, strings interned), about
 * 300 bytes plus 48 per update record and its raw packets; flow_store_stats() reports
 * the real figure. Flows are listed in ingest order: a new state of a known UUID
 * replaces the old one and moves to the end, and the oldest are dropped first when
 * analyzer.flow.max_flows is reached or they were ingested more than
 * analyzer.flow.max_age ago; every drop is counted. Raw packets come from a byte
 * budget (analyzer.flow.raw_max_bytes): in memory, a packet that does not fit is refused
 * and counted; with the log, the oldest raw files go (Storage.EvictedRaw*), and a flow's
 * packets number on from the log's last Index of it. Every function takes the store's
 * mutex: ingest from any thread, queries from the event loop. */
#ifndef SKYDIVE_FLOW_STORE_H
#define SKYDIVE_FLOW_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "flow/flow_table.h"
#include "gremlin/gremlin.h"
#include "store/clickhouse.h"

#define FLOW_STORE_MAX_FLOWS  1000000      /* analyzer.flow.max_flows */
#define FLOW_STORE_MAX_AGE_MS 3600000      /* analyzer.flow.max_age: 1h */
#define FLOW_STORE_RAW_BYTES  (64u << 20)  /* analyzer.flow.raw_max_bytes: 64 MiB */
#define FLOW_STORE_MAX_UPDATES 64          /* update records kept per flow */
#define FLOW_STORE_MAX_BYTES  (1ll << 30)  /* analyzer.storage.max_bytes: 1 GiB */

#define FLOW_STORE_FSYNC_DEFAULT 0  /* every second */
#define FLOW_STORE_FSYNC_ALWAYS  (-2)
#define FLOW_STORE_FSYNC_NEVER   (-1)

struct flow_store_opts {
	size_t max_flows;      /* 0 = FLOW_STORE_MAX_FLOWS */
	int64_t max_age_ms;    /* 0 = FLOW_STORE_MAX_AGE_MS; < 0 = no age limit */
	size_t raw_max_bytes;  /* 0 = FLOW_STORE_RAW_BYTES (memory; the log's .raw files) */
	unsigned max_updates;  /* 0 = FLOW_STORE_MAX_UPDATES */
	/* The log (analyzer.storage.*): none when storage_dir is "" (memory only). */
	char storage_dir[1024];      /* <analyzer.data_dir>/flows */
	int64_t segment_ms;          /* segment_duration; 0 = 10 min */
	int64_t fsync_ms;            /* > 0, or FLOW_STORE_FSYNC_* */
	uint64_t max_bytes;          /* 0 = no bound */
	int64_t storage_max_age_ms;  /* 0 = no bound */
	uint32_t block_records;      /* 0 = 4096 (tests use fewer) */
	int no_thread;               /* tests: no flusher thread (flow_store_tick) */
	/* Flow history in ClickHouse (analyzer.flow.backend naming a storage.<name> of
	 * driver clickhouse): states go there instead of the log's flow blocks, G.At()
	 * reads them there; raw packets stay in the log. */
	int has_ch;
	struct ch_opts ch;
};

struct flow_store_stats {
	uint64_t flows;              /* kept now */
	uint64_t bytes;              /* estimate of the memory held (records, index, raw) */
	uint64_t ingested;           /* flow states received */
	uint64_t dropped_max_flows;  /* oldest flows dropped to make room */
	uint64_t dropped_age;        /* flows dropped for age */
	uint64_t raw_packets, raw_bytes;
	uint64_t raw_dropped;        /* raw packets refused: budget full or unknown flow */
	uint64_t layers_too_big;     /* agents' extra layers over XL_BLOB_MAX: left out */
};

struct flow_store;

/* Reads analyzer.flow.max_flows, analyzer.flow.max_age ("1h", "30m" or seconds),
 * analyzer.flow.raw_max_bytes, and the log's analyzer.storage.enabled (true),
 * analyzer.data_dir (/var/lib/skydive; the log is in its flows/),
 * analyzer.storage.segment_duration (10m), analyzer.storage.fsync ("1s", "always",
 * "never"), analyzer.storage.max_bytes (1 GiB; 0 = none), analyzer.storage.max_age
 * (7d; 0 = none). Returns 0, or -EINVAL with err saying which key is wrong. */
int flow_store_opts_from_config(const struct config *cfg, struct flow_store_opts *o, char *err,
				size_t errlen);

/* NULL on no memory. o may be NULL (defaults: memory only). A log that cannot be
 * opened is logged and the store runs in memory (its status says why). */
struct flow_store *flow_store_new(const struct flow_store_opts *o);
void flow_store_free(struct flow_store *s); /* NULL is fine */

/* Stores the state of f as reported by table t's emit callback (lu_* its LastUpdateMetric
 * window); node_tid overrides the table's NodeTID when not NULL. now_ms is the ingest time
 * (age limit). Returns 0 or -ENOMEM (counted nowhere: the flow is simply not stored).
 * *uuid_out (may be NULL) gets the flow's numeric UUID. */
int flow_store_ingest(struct flow_store *s, const struct flow_table *t, const struct flow *f,
		      int64_t lu_start_ms, int64_t lu_last_ms, const char *node_tid, int64_t now_ms,
		      uint64_t *uuid_out);

/* Stores a flow received from an agent (protobuf flow.Flow of proto/flow.proto, as
 * decoded by protobuf-c): UUID, TrackingID, L3TrackingID, ParentUUID (hex), NodeTID,
 * CaptureID, LayersPath, Application, layers, Metric, LastUpdateMetric, the SYN/FIN/RST
 * part of TCPMetric, FinishType and RawPacketsCaptured are kept (IPMetric and TCP
 * segment counters are not). A newer state of a UUID replaces the older. Returns 0,
 * -EINVAL (no hex UUID: not stored) or -ENOMEM. LastRawPackets are the caller's
 * (flow_store_add_raw with *uuid_out). */
struct Flow__Flow;
int flow_store_ingest_pb(struct flow_store *s, const struct Flow__Flow *pf, int64_t now_ms,
			 uint64_t *uuid_out);

/* flow_store_ingest_pb of pf[0..n) (one agent frame), the store's lock taken once per
 * few records and the index prefetched ahead: the ingest path's fast form. rc[i] gets
 * each one's return, uuid[i] its UUID (0 when rc[i] is -EINVAL). Returns how many were
 * stored. */
size_t flow_store_ingest_pb_batch(struct flow_store *s, const struct Flow__Flow *const *pf,
				  size_t n, int64_t now_ms, uint64_t *uuid, int *rc);

/* Appends a raw packet to flow uuid (Index = its position, from 1; with the log, after
 * the last the log holds of the flow): caplen bytes of data, wirelen its length on the
 * wire (< caplen is taken as caplen), ts_ns its time.
 * Returns 0, -ENOENT (no such flow) or -ENOSPC (memory mode: budget full: the packets'
 * bytes, or their records, at most raw_max_bytes / 32 of them, so empty packets are
 * bounded too; persistent mode: the log could not take it); counted in raw_dropped,
 * or in the log's DroppedRaw. */
int flow_store_add_raw_ns(struct flow_store *s, uint64_t uuid, int64_t ts_ns, uint32_t linktype,
			  const uint8_t *data, uint32_t caplen, uint32_t wirelen);
/* The same with a time in ms and wirelen = len (callers without them). */
int flow_store_add_raw(struct flow_store *s, uint64_t uuid, int64_t ts_ms, uint32_t linktype,
		       const uint8_t *data, uint32_t len);

/* End of a write batch (one agent frame, one pcap import): with fsync "always" the
 * log's active blocks are written and synced before it returns. 0 or -errno. */
int flow_store_commit(struct flow_store *s);
/* Writes and syncs the log now (tests, bench). 0 or -errno. */
int flow_store_flush(struct flow_store *s);
/* The flusher's work (write, sync, retention at now_ms), for tests without its thread. */
void flow_store_tick(struct flow_store *s, int64_t now_ms);
/* Distinct strings the memory part holds (tests: the dictionary is bounded). */
size_t flow_store_strings(struct flow_store *s);

/* Flows whose [Start, Last] overlaps [at_ms - duration_ms, at_ms] (every flow when at_ms
 * is 0) and whose NodeTID is one of node_tids (a JSON array of strings; NULL = any), in
 * ingest order. Field filters are the Gremlin evaluator's job. A new JSON array of flow
 * objects, or NULL with err filled. */
json_t *flow_store_query(struct flow_store *s, const json_t *node_tids, int64_t at_ms,
			 int64_t duration_ms, struct gremlin_error *err);

/* The same, with Flows(k, v, ...)'s filters (a JSON array) pushed down where the log's
 * summaries know the key (UUID, TrackingID, L3TrackingID, NodeTID, Application,
 * Network[.A|.B], Transport[.A|.B] with exact values); the caller applies the filters
 * again (others are ignored here). */
json_t *flow_store_query_filtered(struct flow_store *s, const json_t *filters,
				  const json_t *node_tids, int64_t at_ms, int64_t duration_ms,
				  struct gremlin_error *err);

/* ---- typed queries ------------------------------------------------------------------
 * The selection flow_store_query_filtered makes (window, node ids and exact filters on
 * indexed keys pushed down to the log's summaries and to memory), kept as records: the
 * newest state of each UUID, in ingest order. Nothing is turned into JSON unless asked
 * (flow_store_sel_json, the store's one record-to-JSON converter). */
struct flow_rec;
struct flow_store_sel;

/* 0 with *out a new selection (flow_store_sel_free), -ENOMEM or -EIO (the log could not
 * be read). filters and nodes as flow_store_query_filtered's; not kept. want (may be
 * NULL): a record of memory it refuses is left out before it is copied (want gets the
 * selection as probe: flow_store_sel_field works on the record during the call; it runs
 * under the store's mutex, so it must not call the store). Not asked of the log's
 * records: they are several states of a UUID, and only the newest may be tested. */
int flow_store_select(struct flow_store *s, const json_t *filters, const json_t *nodes,
		      int64_t at_ms, int64_t duration_ms, gremlin_flow_want_fn want, void *wuser,
		      struct flow_store_sel **out);
void flow_store_sel_free(struct flow_store_sel *r); /* NULL is fine */
/* The live view (docs/FLOWS.md "Live view and history"): a selection without At()
 * (at_ms 0) keeps only the records the hook accepts, whether memory or the log gave
 * them. begin() is called once per such selection, outside the store's mutex (NULL:
 * no memory, the selection fails with -ENOMEM), test() on each newest state, end()
 * after the last test. The hook is the analyzer's (analyzer/flow_live.h); without one
 * every flow received within analyzer.flow.max_age is live. */
struct flow_store_live {
	void *(*begin)(void *user);
	int (*test)(void *q, const struct flow_rec *r, const char *const str[]);
	void (*end)(void *q);
	void *user;
};
/* Installs (a copy of) l, or removes the hook (l NULL). Call before queries run. */
void flow_store_set_live(struct flow_store *s, const struct flow_store_live *l);

size_t flow_store_sel_count(const struct flow_store_sel *r);
/* Record i (< count), valid until the selection is freed. */
const struct flow_rec *flow_store_sel_rec(const struct flow_store_sel *r, size_t i);
/* String k (FREC_S_*) of a record of r; "" when none. */
const char *flow_store_sel_str(const struct flow_store_sel *r, const struct flow_rec *x, int k);
/* The record as the flow's JSON object (docs/FLOWS.md); NULL on no memory. */
json_t *flow_store_sel_json(const struct flow_store_sel *r, const struct flow_rec *x);
/* Values of a dotted flow key (gremlin_flow_ops.field); their number. */
int flow_store_sel_field(const struct flow_store_sel *r, const struct flow_rec *x,
			 const char *key, struct gremlin_fval *out, int max);
/* The values the flow's JSON object would have at key (str its strings, FREC_S_*). */
int flow_rec_field(const struct flow_rec *f, const char *const str[], const char *key,
		   struct gremlin_fval *out, int max);

/* Callback scan of the same selection: fn gets each record and its strings (valid
 * during the call); a non-zero return stops the scan and is returned. 0, -ENOMEM, -EIO. */
typedef int (*flow_store_scan_fn)(void *user, const struct flow_rec *r,
				  const char *const str[]);
int flow_store_scan(struct flow_store *s, const json_t *filters, const json_t *nodes,
		    int64_t at_ms, int64_t duration_ms, flow_store_scan_fn fn, void *user);

/* RawPackets() of the flows given as a JSON array of flow objects (their "UUID"):
 * [{"<UUID>": [{"Timestamp","Index","Data" (base64),"LinkType"[,"TimestampNs"]
 * [,"WireLen"]}, ...]}, ...] (TimestampNs when the time has more than ms, WireLen when
 * the frame was cut), one object per flow that has raw packets. New reference,
 * NULL on no memory. */
json_t *flow_store_raw_packets(struct flow_store *s, const json_t *flows);

/* Typed RawPackets() (gremlin_flow_ops.raw_select): the raw packets of the flows whose
 * UUIDs (hex strings) are given, copied out of the store (memory or log) into one set:
 * grouped by flow in the order asked (unknown and repeated UUIDs skipped), each flow's
 * in stored order; the same packets, order and fields as flow_store_raw_packets without
 * the base64. 0 with *out (flow_store_rawset_free), or -ENOMEM / -EIO. */
struct flow_store_rawset;
int flow_store_raw_select(struct flow_store *s, const char *const *uuids, size_t n,
			  struct flow_store_rawset **out);
void flow_store_rawset_free(struct flow_store_rawset *r); /* NULL is fine */
const struct gremlin_raw_pkt *flow_store_rawset_pkts(const struct flow_store_rawset *r,
						     size_t *n);

/* The flow's update records (LastUpdateMetric of each state received), oldest first:
 * a new JSON array, or NULL when the flow is unknown. */
json_t *flow_store_updates(struct flow_store *s, uint64_t uuid);

/* Metrics() of the flows given as a JSON array of flow objects (their "UUID"): a new
 * object {"<UUID>": [{"ABPackets","ABBytes","BAPackets","BABytes","Start","Last"}, ...]}
 * with each flow's update records oldest first; a flow without any gives its
 * LastUpdateMetric when it counted packets, else its Metric (a UUID the store does not
 * know: those of the given object). NULL on no memory. */
json_t *flow_store_metrics(struct flow_store *s, const json_t *flows);

void flow_store_stats(struct flow_store *s, struct flow_store_stats *out);
/* The on-disk log's counters (store/segment.h): 0, or -1 when the store has no log. */
struct seglog_stats;
int flow_store_log_stats(struct flow_store *s, struct seglog_stats *out);
/* {"Flows","Bytes","BytesPerFlow","Ingested","Dropped","DroppedMaxFlows","DroppedAge",
 *  "MaxFlows","MaxAge","RawPackets","RawBytes","RawDropped","RawMaxBytes","Storage"};
 *  Storage: {"Persistent": false, "Error"} or {"Persistent": true, "Dir", "From", "To"
 *  (time range of the flows held, ms), "BytesOnDisk", "Segments", "Blocks",
 *  "FlowStates", "RawPackets", "Pending", "EvictedSegments", "EvictedBytes",
 *  "EvictedRecords", "WriteErrors", "DroppedFlows", "DroppedRaw", "CorruptBlocks",
 *  "TornBytes", "MaxBytes", "MaxAge", "SegmentDuration", "LastError", "RawBytesOnDisk",
 *  "RawMaxBytes", "EvictedRawSegments", "EvictedRawBytes", "EvictedRawPackets"}; new
 *  reference. */
json_t *flow_store_status_json(struct flow_store *s);
/* analyzer_status_fn: adds "Flows" to GET /api/status (user = the store). */
void flow_store_status_hook(void *user, json_t *status);

/* Fills ops so Gremlin's flow steps read this store. */
void flow_store_gremlin_ops(struct flow_store *s, struct gremlin_flow_ops *ops);
/* The store behind ops, or NULL when ops are not a flow store's. */
struct flow_store *flow_store_from_ops(const struct gremlin_flow_ops *ops);

/* Drops flows older than the age limit at now_ms (ingest and queries do it too). */
void flow_store_expire(struct flow_store *s, int64_t now_ms);

#endif
