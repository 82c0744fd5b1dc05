/* sflow_meta.h - what an sflow (or ovssflow) capture shows at its node: the
 * collector's fields in the Captures entry and the interface counters of
 * the counter samples as the node's "SFlow" metadata (Skydive's names). The
 * collector itself is a capture backend (capture.h, capture_open_sflow). */
#ifndef SKYDIVE_SFLOW_META_H
#define SKYDIVE_SFLOW_META_H

#include <jansson.h>
#include <stdint.h>

#include "capture/capture.h"
#include "graph/graph.h"

/* Adds SFlowSocket, SamplingRate (of the last flow sample, 0 before one),
 * Datagrams, DatagramErrors and SkippedHeaders to a Captures entry. Any
 * thread. */
void sflow_meta_entry(const struct capture *c, json_t *entry);

/* The state between two publications (the previous sum, for LastUpdateMetric). */
struct sflow_meta;
struct sflow_meta *sflow_meta_new(void); /* NULL: out of memory */
void sflow_meta_free(struct sflow_meta *m); /* NULL is fine */

/* Sets the node's "SFlow" metadata from the counter samples received since
 * the last call: {"IfMetrics": {"<ifIndex>": counters}, "Metric": the sum
 * over interfaces, "LastUpdateMetric": its change since the previous
 * publication, with Start/Last in ms}. Nothing when no counter sample came.
 * One thread at a time per m. Takes the graph lock; call without it. */
void sflow_meta_publish(struct sflow_meta *m, struct capture *c, struct graph *g,
			const char *node_id, int64_t now_ms);

#endif
