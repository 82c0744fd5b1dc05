/* clickhouse.h - flow history in ClickHouse (docs/DEPLOY.md "Flow history in
 * ClickHouse"): the flow store's states go to a MergeTree table partitioned by day, over
 * ClickHouse's HTTP interface with libcurl (RowBinary both ways), and the store's scans
 * (segment.h's storage interface: a time window and AND-ed groups of OR-ed exact keys)
 * are pushed down to SQL. Raw packets stay in the embedded log (flow_store.h).
 *
 * Writes: ch_append() encodes a state into the current batch (the caller's thread, no
 * I/O); a writer thread sends a batch every flush interval or when it is full, to the
 * hosts in turn. A batch that fails on transport (ClickHouse down) is kept and retried
 * every second while new states fill the next one; a batch ClickHouse answered with an
 * error is retried CH_MAX_ATTEMPTS times, then dropped. States beyond both batches'
 * bound (max_buffer rows) are dropped. Every drop is counted (ch_stats, "DroppedFlows").
 *
 * Reads: ch_scan() runs one SELECT (blocking the calling thread: never the event loop)
 * and hands the rows to a seg_flows_fn as the log's scan does.
 *
 * Schema: database and table are made at open when missing (CREATE ... IF NOT EXISTS);
 * with a cluster name, the table holds the rows through a Distributed table over
 * <table>_local on every host (the cluster itself is ClickHouse's remote_servers). The
 * columns are Skydive's flow field names (UUID, TrackingID, Metric's ABPackets...), so
 * the table is readable with plain SQL; credentials go as HTTP basic authentication; Keys holds the summaries' keys (seg_flow_keys)
 * that the pushed-down filters test with hasAny(). */
#ifndef SKYDIVE_CLICKHOUSE_H
#define SKYDIVE_CLICKHOUSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "config/config.h"
#include "store/segment.h"

#define CH_MAX_HOSTS      8
#define CH_MAX_ATTEMPTS   5          /* of a batch ClickHouse answered with an error */
#define CH_MAX_BUFFER     100000     /* analyzer.flow.max_buffer_size (Skydive's default) */
#define CH_MAX_REPLY      (256u << 20) /* a SELECT's answer above this fails (-E2BIG) */

struct ch_opts {
	char hosts[CH_MAX_HOSTS][256]; /* "http://host:port" */
	size_t nhosts;
	char database[64], table[64], cluster[64]; /* cluster "": one table, no Distributed */
	char username[64], password[128];          /* "": ClickHouse's default user */
	int64_t timeout_ms;   /* one request (client_timeout); 0 = 5 s */
	int64_t flush_ms;     /* bulk_maxdelay; 0 = 1 s */
	size_t max_buffer;    /* rows per batch; 0 = CH_MAX_BUFFER */
	int64_t max_age_ms;   /* partitions (days) older are dropped; 0 = kept */
};

/* The backend analyzer.flow.backend names: 1 and o filled when it is a storage.<name>
 * of driver clickhouse, 0 when no backend is set (the embedded log), -EINVAL with err
 * saying what is wrong or not supported (elasticsearch, orientdb: refused by name). */
int ch_opts_from_config(const struct config *cfg, struct ch_opts *o, char *err, size_t errlen);

struct ch_store;

/* Starts the writer. The schema is made at once if ClickHouse answers, otherwise by the
 * writer when it does (logged, LastError in the status). NULL only on no memory or bad
 * options (err). */
struct ch_store *ch_open(const struct ch_opts *o, char *err, size_t errlen);
/* Sends what is pending (waiting at most one request timeout per batch), stops the
 * writer. NULL is fine. */
void ch_close(struct ch_store *c);

/* Queues a state (strs by FREC_S_*). 0, or -ENOSPC when the batches are full (counted). */
int ch_append(struct ch_store *c, const struct flow_rec *r, const char *const strs[FREC_NSTR]);
/* Sends the current batch now and waits until it is written or failed. 0 or -errno. */
int ch_flush(struct ch_store *c);

/* The states matching p (NULL = all) to ff, in ingest order; newest: only the newest
 * state of each UUID among those (largest Last, then latest ingest; what the store's
 * selection keeps). 0, the callback's value, -ENOMEM, -E2BIG, or -EIO with err filled
 * (ClickHouse did not answer, or answered an error). */
int ch_scan(struct ch_store *c, const struct seg_pred *p, int newest, seg_flows_fn ff,
	    void *user, char *err, size_t errlen);

/* Drops the day partitions older than max_age at now_ms (the writer does it hourly). */
int ch_retention(struct ch_store *c, int64_t now_ms, char *err, size_t errlen);

/* "Backend": {"Driver": "clickhouse", "Hosts", "Table", "Inserted", "Batches",
 * "Retries", "DroppedFlows", "Pending", "Connected", "LastError", ...} into o. */
void ch_status_json(struct ch_store *c, json_t *o);
struct ch_stats {
	uint64_t inserted, batches, retries, dropped, pending;
};
void ch_stats(struct ch_store *c, struct ch_stats *out);

/* ---- the row codec (exposed for tests and fuzz/fuzz_ch_rows.c) ---------------------- */
/* One state as a RowBinary row of the table's columns in CREATE order; insert: with the
 * two last columns the table computes nothing for (Day, Keys), as an INSERT sends; 0:
 * without them, as a SELECT of the other columns answers. */
void ch_row_encode(const struct flow_rec *r, const char *const strs[FREC_NSTR], int insert,
		   struct buf *out);
/* The rows of such a SELECT (RowBinary, insert 0), handed to ff in chunks (the strings
 * in a dictionary per chunk). 0, ff's value, -ENOMEM, or -EINVAL when the bytes are not
 * whole rows (nothing of the bad row is handed on; *bad_off, may be NULL, its offset). */
int ch_rows_decode(const uint8_t *p, size_t len, seg_flows_fn ff, void *user, size_t *bad_off);

#endif
