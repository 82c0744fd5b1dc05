/* flow_loop.h - the one loop from a capture source into a flow table.
 *
 * The agent's capture workers, `skydive flows` (files and live interfaces)
 * and POST /api/pcap all run it: capture_dispatch hands out a batch of
 * borrowed frames, each goes to flow_table_feed with its own link type (raw
 * packet receivers read it with flow_table_linktype), and the table's
 * periodic work (the LastUpdateMetric window, expiry) runs on packet time, or,
 * while a live source is idle, on the wall clock. Sources of ready-made flow
 * records (the ebpf capture's kernel map) run the same loop through
 * flow_loop_run_records: polled, not dispatched, and fed as records.
 *
 * Ownership: the loop borrows the capture and the table and allocates
 * nothing; a frame is valid only while it is fed. It lives in src/flow, not
 * src/capture, because it is flow-table logic (ticks, flush) and the capture
 * layer stays a plain packet source that knows nothing of flows. */
#ifndef SKYDIVE_FLOW_LOOP_H
#define SKYDIVE_FLOW_LOOP_H

#include <stdint.h>

#include "capture/capture.h"
#include "flow/flow_table.h"

struct flow_loop_opts {
	/* 0: a file or stream, read to its end; its time is packet time only.
	 * 1: a live source: a dispatch that delivers nothing means idle, and
	 * the table's updates and expiry then run on the wall clock. */
	int live;
	int batch; /* frames per capture_dispatch; 0 = the source's default */
	/* Called after every dispatch with the frames it delivered (0: a live
	 * source was idle) and the wall clock; a non-zero return stops the
	 * loop. The table may be read (stats) and its receivers flushed here.
	 * NULL: a file runs to its end, a live source until it fails. */
	int (*after_batch)(void *user, int n, uint64_t now_ns);
	void *user;
	/* Called with each frame before the table counts it (a capture's
	 * erspanv1 target); the frame is borrowed for the call. NULL: none. */
	void (*frame)(void *user, const struct capture_frame *f);
};

/* Feeds c's frames to t until the file ends, after_batch says stop or the
 * source fails, then flushes t (every flow leaves through its emit
 * callback; also on a failure, so the flows read before it are kept).
 * Returns 0, or -EIO with the source's message in capture_error(c). */
int flow_loop_run(struct capture *c, struct flow_table *t, const struct flow_loop_opts *o);

/* A source of flow records: poll feeds t what it counted since its previous
 * call (flow_table_feed_record) and returns how many records, or -errno. */
struct flow_loop_records {
	int (*poll)(void *src, struct flow_table *t);
	void *src;
	uint32_t period_ms; /* between polls; 0 = 1000 */
};

/* The live loop of a record source: polls every period, runs the table's
 * updates and expiry on the wall clock, calls o->after_batch (n = the
 * records of a poll, 0 between polls) every 100 ms until it says stop (o->live
 * and o->batch are not used). Then polls once more (what was counted until
 * the stop; its error, if any, is moot) and flushes t. Returns 0, or the
 * -errno of a failed poll (t is flushed then too). */
int flow_loop_run_records(const struct flow_loop_records *r, struct flow_table *t,
			  const struct flow_loop_opts *o);

#endif
