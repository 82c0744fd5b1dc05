/* flow_pbdec.h - a one-pass decoder of the agents' flow.Message (proto/flow.proto) into
 * protobuf-c's own structs, for the analyzer's ingest path: protobuf-c's generic unpack
 * (a scan of every field, then a second pass by descriptor) was half of the ingest's time.
 *
 * It gives what flow__message__unpack gives, or leaves the frame to it: an encoding it does
 * not take in one pass (an unknown field, a wire type that is not the field's, a singular
 * message given twice, which protobuf-c merges, anything malformed) is decoded by
 * flow__message__unpack itself, so the answer, an error included, is protobuf-c's.
 * fuzz/fuzz_flow_pbdec.c checks that the two agree on every input. */
#ifndef SKYDIVE_FLOW_PBDEC_H
#define SKYDIVE_FLOW_PBDEC_H

#include <stddef.h>
#include <stdint.h>

#include "flow.pb-c.h"

/* The one-pass decoding only: 1 with *out set, 0 when the frame is left to protobuf-c
 * (*out NULL), -ENOMEM. Every piece comes from alloc one by one, as protobuf-c's do, so
 * flow__message__free_unpacked frees a result; what was taken before a 0 or -ENOMEM is not
 * given back: alloc must be an arena (freed as a whole), as the ingest's is. */
int flow_pbdec_fast(ProtobufCAllocator *alloc, size_t len, const uint8_t *buf,
		    Flow__Message **out);

/* flow__message__unpack's answer: the one-pass decoding, else protobuf-c's. NULL when the
 * frame is not a flow.Message (or no memory). alloc as above. */
Flow__Message *flow_pbdec_unpack(ProtobufCAllocator *alloc, size_t len, const uint8_t *buf);

#endif
