/* graph_log.h - the analyzer's topology history on disk: every change of the graph appended
 * to a log of checksummed records in <dir>, replayed into the graph's history at start so
 * G.At(t) answers past times after a restart. The current graph after a restart is what the
 * agents sync again; the log only answers the past.
 *
 * Files: <dir>/topology-<16-digit sequence>.log, a new one at each start and when one
 * outgrows its share of max_bytes; each begins with the 8 bytes "SKTOPO01", then records:
 *   u32 magic 0x53545231 | u32 payload length | u32 XXH32 of the payload | payload
 * (big-endian), the payload a JSON object {"Op","Time","Obj"}: Op a graph event name
 * ("NodeAdded" ... "EdgeDeleted") with Obj the element as graph_node_to_json /
 * graph_edge_to_json write it (after the change), or "Start" / "Stop" (the analyzer started /
 * stopped at Time: revisions still open end there).
 *
 * Plain records, not zstd blocks: topology changes come one at a time (a few hundred bytes
 * each, a few thousand per second at most) and must reach the disk within the second, so
 * compressed blocks would either be tiny or hold back data; a plain record is checked and
 * recovered on its own, and the bytes are bounded by retention anyway.
 *
 * Durability: records are appended from a graph listener into a memory buffer and written
 * and fdatasync'ed by the log's own thread at most fsync_ms later (default 1 s: at most
 * that much acknowledged history is lost to a crash). Recovery at open: a record whose
 * checksum or length is wrong is skipped when a good record follows it (log line with file
 * and offset), and a torn tail is cut at the last good record (the same).
 * Retention: whole files, oldest first, when the total exceeds max_bytes or a file's newest
 * record is older than max_age_ms. A failed write (disk full) drops that batch, counted,
 * and the log goes on with the next one.
 *
 * One analyzer per directory: <dir>/lock is flock'ed while the log is open.
 *
 * Threads: graph_log_open / graph_log_close take the graph lock themselves; the listener
 * runs under it; the writer thread never takes it. */
#ifndef SKYDIVE_GRAPH_LOG_H
#define SKYDIVE_GRAPH_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

struct config;

struct graph_log_opts {
	const char *dir;    /* NULL = no log */
	int64_t max_age_ms; /* 0 = 1 hour */
	size_t max_bytes;   /* 0 = 64 MiB */
	int64_t fsync_ms;   /* 0 = 1000 */
};

struct graph_log_stats {
	uint64_t replayed;      /* records read back at open */
	uint64_t skipped;       /* corrupted records skipped at open */
	uint64_t cut_bytes;     /* torn tails cut at open */
	uint64_t written;       /* records written since open */
	uint64_t dropped;       /* records lost: failed writes, or the buffer full */
	uint64_t write_errors;  /* failed writes or syncs */
	uint64_t removed_files; /* files gone to retention */
	size_t files, bytes;    /* on disk now */
};

/* The history bounds from the configuration, for the graph (memory) and the log (disk)
 * alike: analyzer.topology.history.max_age (a duration like "2d", "12h" or seconds; default
 * 1h), analyzer.topology.history.max_bytes (default 64 MiB), and
 * analyzer.topology.history.persist (default true) with analyzer.data_dir for the log's
 * directory (<data_dir>/topology; lo->dir NULL when persist is false). lo->dir points into
 * dirbuf. 0, or -EINVAL with a message in err. */
int graph_log_config(const struct config *cfg, struct graph_opts *go, struct graph_log_opts *lo,
                     char *dirbuf, size_t dirlen, char *err, size_t errlen);

/* Creates o->dir (0700) if needed, recovers and replays its files into g's history
 * (revisions still open at the end of the log end at now_ms), writes a Start record and
 * starts recording g's changes. NULL with a message in err (the directory cannot be made
 * or read, another analyzer holds it, out of memory). */
struct graph_log *graph_log_open(struct graph *g, const struct graph_log_opts *o, int64_t now_ms,
                                 char *err, size_t errlen);
/* Stops recording, writes what is buffered and a Stop record at now_ms, syncs, frees.
 * NULL is fine. */
void graph_log_close(struct graph_log *l, int64_t now_ms);
/* Writes and syncs what is buffered now (tests; the thread does it every fsync_ms). 0 or
 * -errno of the failed write. */
int graph_log_flush(struct graph_log *l);
void graph_log_stats(struct graph_log *l, struct graph_log_stats *out);
/* The stats for /api/status: {"Persisted": true, "Dir", "Files", "Bytes", "Replayed",
 * "Skipped", "CutBytes", "Written", "Dropped", "WriteErrors", "RemovedFiles"}, or
 * {"Persisted": false} for a NULL log. A new reference; NULL on out of memory. */
json_t *graph_log_status(struct graph_log *l);

#endif
