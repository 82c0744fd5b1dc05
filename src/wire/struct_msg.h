/* struct_msg.h - Skydive's protobuf WebSocket envelope, StructMessage
 * (proto/structmessage.proto), for peers that connect with X-Client-Protocol: protobuf
 * (Skydive 0.28's agents). A frame is turned into, and made from, the same jansson
 * envelope {"Namespace","Type","UUID","Status","Obj"} as a JSON text frame
 * (graph_msg.h), so everything past the frame is shared.
 *
 * Skydive encodes Obj as JSON (Format Json) for every value that is not a protobuf
 * object, which is every Graph and OnDemand message; an Obj in protobuf format is
 * refused with a reason (no such message is known to us). */
#ifndef SKYDIVE_STRUCT_MSG_H
#define SKYDIVE_STRUCT_MSG_H

#include <jansson.h>
#include <stddef.h>

/* One binary frame into an envelope (new reference), checked as graph_msg_parse checks a
 * text frame (a string Type). NULL with err filled ("invalid StructMessage ...", "invalid
 * JSON in Obj at line 1, column 7: ...", "Obj in protobuf format ..."). */
json_t *struct_msg_parse(const void *buf, size_t len, char *err, size_t errlen);

/* The envelope as one StructMessage (Obj as compact JSON, Format Json), written after
 * pre bytes of headroom in a malloc'd buffer (the caller's; free()); *len is the frame's
 * length, without the headroom. NULL on out of memory or an envelope without a string
 * Type. */
unsigned char *struct_msg_encode(const json_t *env, size_t pre, size_t *len);

#endif
