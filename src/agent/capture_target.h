/* capture_target.h - a capture's Target/TargetType (Skydive's
 * flow/probes/targets/): where, besides the analyzer, a capture sends what it
 * sees.
 *
 *   netflowv5  the capture's flows, as NetFlow v5 records, to a UDP collector
 *              (target_netflow.c); fed from the flow table's emit callback.
 *   erspanv1   the captured frames, in GRE + ERSPAN type II (header version 1),
 *              to a host (target_erspan.c); fed from the capture loop.
 *
 * One capture_target belongs to one capture (every lane of it); the send
 * functions may be called from several lanes at once (the sequence numbers and
 * counters are atomic, the sockets are used with one send per datagram). A
 * lane that batches NetFlow records owns its own capture_target_lane. Nothing
 * on the send paths allocates; a datagram the kernel refuses is counted, never
 * retried. docs/FLOWS.md ("Capture targets") says which fields are set and how
 * they differ from Skydive's. */
#ifndef SKYDIVE_CAPTURE_TARGET_H
#define SKYDIVE_CAPTURE_TARGET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"
#include "flow/flow_table.h"

#define CAPTURE_TARGET_TYPES "netflowv5 or erspanv1"

enum capture_target_type { CAPTURE_TARGET_NETFLOW5 = 1, CAPTURE_TARGET_ERSPAN1 = 2 };

struct capture_target;
struct capture_target_lane;

struct capture_target_opts {
	const char *type;   /* "netflowv5" or "erspanv1" */
	const char *target; /* HOST:PORT (netflowv5), HOST or HOST:PORT (erspanv1) */
	uint32_t ifindex;   /* erspanv1: the ERSPAN Index field (the node's IfIndex) */
};

/* Parses a TargetType: 0 and *out set, or -EINVAL for an unknown name. */
int capture_target_type_parse(const char *s, enum capture_target_type *out);

/* Resolves the target and opens its socket. NULL with a message in err
 * (unknown type, bad address, socket refused: a raw GRE socket needs
 * CAP_NET_RAW). */
struct capture_target *capture_target_open(const struct capture_target_opts *o, char *err,
                                           size_t errlen);
void capture_target_close(struct capture_target *ct); /* NULL is fine */
enum capture_target_type capture_target_type(const struct capture_target *ct);

/* erspanv1: one frame, encapsulated and sent at once. Frames whose link type
 * is not Ethernet are counted and skipped (ERSPAN carries Ethernet frames). */
void capture_target_frame(struct capture_target *ct, const struct capture_frame *f);

/* netflowv5: a lane's record buffer (one datagram's worth). */
struct capture_target_lane *capture_target_lane_new(struct capture_target *ct);
/* Flushes what is buffered, then frees; NULL is fine. */
void capture_target_lane_free(struct capture_target_lane *l);
/* A flow the table reports (update or expiry): its packets since the previous
 * report, one record per direction that saw any, sent when the buffer is
 * full. IPv6 and non-IP flows are counted and skipped (v5 is IPv4 only). */
void capture_target_flow(struct capture_target_lane *l, const struct flow_table *t,
                         const struct flow *f, int64_t lu_start_ms);
/* Sends the buffered records, if any. */
void capture_target_lane_flush(struct capture_target_lane *l);

/* Adds the target's keys and counters to a capture's Captures entry:
 * TargetType, Target, TargetSent (records or frames), TargetDatagrams,
 * TargetSendErrors, TargetDropped (records or frames lost with them),
 * TargetLastError, and TargetSkippedIPv6 / TargetSkippedNonIP (netflowv5) or
 * TargetSkippedNonEthernet (erspanv1). */
void capture_target_entry(const struct capture_target *ct, json_t *entry);

#endif
