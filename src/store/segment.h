/* segment.h - the flow store on disk: a time-partitioned log of append-only segment
 * files of checksummed, zstd-compressed blocks, with per-block summaries for pushdown.
 *
 * Layout: <dir>/<first_ms>.seg, one file per time slice of ingest time (slice =
 * analyzer.storage.segment_duration, 10 min by default; first_ms is the slice's start,
 * ms since the epoch), holds the flow states; <dir>/<first_ms>.raw the raw packets, one
 * file per slice too, and a new one (named the previous one's first_ms + 1) once a file
 * holds a quarter of raw_max_bytes, so that raw retention goes by quarters of its bound.
 * (A log written before .raw files has raw blocks in its .seg files: they are read as
 * well.) A file is a sequence of blocks:
 *
 *     struct seg_block_hdr (64 bytes) | summary (bloom_len bytes) | payload (zstd)
 *
 * The header says its magic, version, kind (flow states or raw packets), record count,
 * time range, lengths and an XXH64 over header (checksum field 0), summary and payload.
 * The summary is a bloom filter of the block's keys (UUID, TrackingID, L3TrackingID,
 * NodeTID, Application, both addresses, both ports; raw blocks: UUID): a query maps the
 * file and tests a key's few bits there (left in the page cache, not kept on the heap),
 * so it skips blocks before reading or decompressing them; the heap holds only each
 * block's header and offset. The payload is flow_rec.h's encoding.
 *
 * Durability: records go to an in-memory active block (one per kind); a block is
 * written when full, or by the log's flusher thread every fsync interval (then
 * fdatasync), so at most that interval of acknowledged records is at risk. With
 * SEG_FSYNC_ALWAYS seglog_commit() writes and syncs before it returns.
 *
 * Recovery (seglog_open): every file is read block by block; a block that runs past
 * the end of the file, or a bad last block, is a torn tail: the file is cut there
 * (ftruncate) and a warning names the file and offset. A bad block with good data
 * after it is skipped (warning with file and offset) and the rest is served.
 *
 * Write errors (ENOSPC, EIO): the block is dropped and counted (stats: write_errors,
 * dropped_*), the file is cut back to its last good block, and the next block tries
 * again, so writing resumes when space returns. The process never stops for it.
 *
 * Retention: after each flush, the oldest .raw files go while they hold more than
 * raw_max_bytes, then the oldest files of either kind while the total exceeds max_bytes,
 * and those whose slice ended more than max_age ago (never the one being written of
 * each kind); evictions are counted (the raw ones also apart).
 *
 * Raw packet Index: the log keeps each flow's last Index (raw_index.h), from the raw
 * blocks' headers at open and from every append, so a flow's packets number on after a
 * restart (seglog_raw_last_index); a flow whose packets were all evicted starts again.
 *
 * Threads: every function takes the log's mutex. A scan holds it only to take a
 * snapshot (references to the segments, copies of their block index and of the active
 * blocks); it then reads the immutable sealed blocks without it, so writers never wait
 * behind a query. A segment evicted during a scan is unlinked at once and closed when
 * its last reader is done.
 *
 * == The storage interface ==
 * Another backend (a ClickHouse table partitioned by day, say) implements the same
 * five operations: open with options, append (write batches: seglog_append_* then
 * seglog_commit), time-window scan with pushed-down predicates (struct seg_pred: a
 * window and AND-ed groups of OR-ed exact keys; a backend may ignore any part of it,
 * the caller filters the records it gets again), retention by bytes and age (the
 * backend's own TTL), and stats. Records are struct flow_rec / struct raw_rec. */
#ifndef SKYDIVE_SEGMENT_H
#define SKYDIVE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "store/flow_rec.h"

#define SEG_MAGIC   0x42464b53u /* "SKFB" */
#define SEG_VERSION 2 /* 2: flow_rec of 368 bytes (TCPMetric streams, IPMetric) with a
                       * fifth string, the extra layers */
#define SEG_VERSION_MIN 1 /* still read: its flow records are upgraded */
enum { SEG_KIND_FLOWS = 1, SEG_KIND_RAW = 2 };

/* Bounds a reader enforces on a header before trusting its lengths. */
#define SEG_MAX_RECORDS     (1u << 20)
#define SEG_MAX_BLOOM       (1u << 20)
#define SEG_MAX_PAYLOAD     (64u << 20)
#define SEG_MAX_RAW_PAYLOAD (256u << 20)

struct seg_block_hdr {
	uint32_t magic;
	uint16_t version, kind;
	uint32_t count;
	uint32_t bloom_len;   /* 0 or a power of two */
	uint32_t payload_len; /* compressed */
	uint32_t raw_len;     /* decompressed */
	int64_t min_time, max_time;     /* ms: flows min Start .. max Last; raw: packet times */
	int64_t min_ingest, max_ingest; /* ms: when the records were received */
	uint64_t checksum;
};
_Static_assert(sizeof(struct seg_block_hdr) == 64, "block header is 64 bytes");

#define SEG_FSYNC_ALWAYS 0
#define SEG_FSYNC_NEVER  (-1)

struct seglog_opts {
	const char *dir;          /* the segments' directory, made (0700) when missing */
	int64_t segment_ms;       /* slice length; 0 = 10 min */
	int64_t fsync_ms;         /* > 0 interval, SEG_FSYNC_ALWAYS, SEG_FSYNC_NEVER; 0 is
				   * "always", so callers give 1000 for the default */
	uint64_t max_bytes;       /* 0 = no bound */
	int64_t max_age_ms;       /* 0 = no bound */
	uint32_t block_records;   /* flow records per block; 0 = 4096 */
	uint32_t block_raw_bytes; /* raw data per block; 0 = 4 MiB */
	uint64_t raw_max_bytes;   /* the .raw files' total, oldest first; 0 = no bound */
	int no_thread;            /* tests: no flusher thread (seglog_tick by hand) */
};

struct seglog;

/* Opens (recovers) or creates the log. NULL with err filled (the directory cannot be
 * made or read, no memory). */
struct seglog *seglog_open(const struct seglog_opts *o, char *err, size_t errlen);
/* Writes the active blocks, syncs and closes. NULL is fine. */
void seglog_close(struct seglog *l);

/* Appends a flow state; strs are its LayersPath, Application, NodeTID and CaptureID
 * (NULL = ""; r->str is ignored). now_ms picks the segment. 0, or -EIO/-ENOSPC/-ENOMEM
 * when a block could not be written (counted: the records are dropped). */
int seglog_append_flow(struct seglog *l, const struct flow_rec *r,
		       const char *const strs[FREC_NSTR], int64_t now_ms);
/* Appends a raw packet (h->caplen bytes of data; h->ref ignored). A frame equal to one
 * of the active block (same time, length and bytes: the outer and inner flows of a
 * tunnel keep the same frame) is stored as a reference to it. Same returns. */
int seglog_append_raw(struct seglog *l, const struct raw_rec *h, const uint8_t *data,
		      int64_t now_ms);
/* End of a write batch: with SEG_FSYNC_ALWAYS writes the active blocks and syncs;
 * otherwise nothing (the flusher does it within the interval). 0 or -errno. */
int seglog_commit(struct seglog *l);
/* Writes the active blocks and syncs now. 0 or -errno. */
int seglog_flush(struct seglog *l);
/* What the flusher thread does each interval: write and sync the active blocks, apply
 * retention at now_ms. */
void seglog_tick(struct seglog *l, int64_t now_ms);

/* ---- scans -------------------------------------------------------------------------- */

/* Keys of the summaries: a tag per field, so an address never matches a port. */
uint64_t seg_key_u64(char tag, uint64_t v);
uint64_t seg_key_str(char tag, const char *s);
uint64_t seg_key_ip(uint8_t ver, const uint8_t addr[16]);
#define SEG_TAG_UUID 'U'
#define SEG_TAG_L2   'T'
#define SEG_TAG_L3   'L'
#define SEG_TAG_NODE 'N'
#define SEG_TAG_APP  'A'
#define SEG_TAG_PORT 'P'

/* The keys of a flow state (str: its strings by FREC_S_*): at most SEG_FLOW_KEYS_MAX
 * written to k; returns how many. */
#define SEG_FLOW_KEYS_MAX 9
size_t seg_flow_keys(const struct flow_rec *r, const char *const str[FREC_NSTR], uint64_t *k);

#define SEG_PRED_GROUPS 8
struct seg_pred {
	int64_t from, to; /* flows whose [Start, Last] overlaps [from, to]; to 0 = any */
	int64_t ingest_from; /* records received at or after it (ms); 0 = any */
	struct {
		const uint64_t *keys; /* a block matches when one of them may be in it */
		size_t n;
	} g[SEG_PRED_GROUPS]; /* every group must match */
	size_t ngroups;
};

struct seg_scan_stats {
	uint64_t blocks, blocks_read, records, errors; /* errors: blocks that failed checks */
};

/* Called per block read (sealed blocks oldest first, then the active one); d gives the
 * strings of r->str. Non-zero stops the scan and is returned by seglog_scan. */
typedef int (*seg_flows_fn)(void *user, const struct flow_rec *r, size_t n,
			    const struct frec_dict *d);
typedef int (*seg_raw_fn)(void *user, const struct raw_rec *h, const uint8_t *const *pkt,
			  size_t n); /* pkt[i]: record i's h[i].caplen bytes */

/* Scans the blocks that may match p (NULL = all) with ff over flow blocks and rf over
 * raw blocks (either may be NULL: that kind is skipped). A block that fails its
 * checksum or decoding is skipped and counted in st->errors (st may be NULL). 0,
 * -ENOMEM, or the callback's value. */
int seglog_scan(struct seglog *l, const struct seg_pred *p, seg_flows_fn ff, seg_raw_fn rf,
		void *user, struct seg_scan_stats *st);

/* ---- status ------------------------------------------------------------------------- */

struct seglog_stats {
	uint64_t segments, bytes, blocks, flow_records, raw_records;
	int64_t min_time, max_time; /* of the flows held (0 when none) */
	uint64_t pending_flows, pending_raw; /* in the active blocks */
	uint64_t evicted_segments, evicted_bytes, evicted_records;
	uint64_t raw_bytes;       /* of the .raw files */
	uint64_t evicted_raw_segments, evicted_raw_bytes; /* .raw files (also in evicted_*) */
	uint64_t evicted_raw_records; /* raw packets, of any file */
	uint64_t raw_index_flows;     /* flows whose last raw Index is known */
	uint64_t write_errors, dropped_flows, dropped_raw;
	uint64_t corrupt_blocks, torn_bytes; /* found at open, or by scans */
	char last_error[200];
};
void seglog_stats(struct seglog *l, struct seglog_stats *out);
/* The last raw packet Index stored for flow uuid, 0 when the log holds none of its. */
uint32_t seglog_raw_last_index(struct seglog *l, uint64_t uuid);
const struct seglog_opts *seglog_opts(const struct seglog *l);

/* Reads one segment file's blocks as seglog_open does, without changing the file:
 * calls fn per good block (header, its payload decompressed) and returns the number
 * of good blocks, *corrupt the skipped ones and *torn_off the offset where a torn tail
 * starts (-1 when none). For the fuzzer and tests. -errno when the file cannot be
 * read. */
int seg_read_file(int fd, int (*fn)(void *user, const struct seg_block_hdr *h,
				    const uint8_t *payload),
		  void *user, uint64_t *corrupt, int64_t *torn_off);
/* The same over a buffer (the fuzz target). */
int seg_read_buf(const uint8_t *buf, size_t len,
		 int (*fn)(void *user, const struct seg_block_hdr *h, const uint8_t *payload),
		 void *user, uint64_t *corrupt, int64_t *torn_off);

#endif
