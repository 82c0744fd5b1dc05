/* raw_index.h - the last raw-packet Index of each flow the segment log holds packets of,
 * so that a flow's packets keep numbering on from the log after a restart, or after the
 * flow left the store's memory and came back (segment.c fills it at open from the raw
 * blocks' headers and on every append, and prunes it when raw segments are evicted).
 *
 * An open-addressing table of {UUID, last index, ingest time of that packet}: 24 bytes a
 * flow with packets in the log. Not thread-safe: the log's mutex covers it. */
#ifndef SKYDIVE_RAW_INDEX_H
#define SKYDIVE_RAW_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct raw_index_ent {
	uint64_t uuid;
	uint32_t index; /* 0: an empty slot (indexes start at 1) */
	uint32_t pad;
	int64_t ingest_ms;
};

struct raw_index {
	struct raw_index_ent *v;
	size_t n, cap; /* used slots, slots (0 or a power of two) */
};

/* Raises uuid's last index to index (a lower one is ignored) and notes ingest_ms.
 * 0 or -ENOMEM (then nothing changed: that flow may number from less after a restart). */
int raw_index_note(struct raw_index *x, uint64_t uuid, uint32_t index, int64_t ingest_ms);
/* uuid's last index, 0 when the log holds none of its packets. */
uint32_t raw_index_get(const struct raw_index *x, uint64_t uuid);
/* Forgets the flows whose last packet was ingested at or before ms (their packets are
 * all in segments being evicted). */
void raw_index_prune(struct raw_index *x, int64_t ms);
void raw_index_free(struct raw_index *x); /* the struct itself is the caller's */

#endif
