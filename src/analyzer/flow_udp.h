/* flow_udp.h - Skydive agents' default flow transport, `flow.protocol: udp` (Skydive's
 * flow/server/flow_server.go, FlowServerUDPConn; its agents' flow/client/flow_client.go):
 * one protobuf flow.Message per UDP datagram, on the analyzer's own address and port.
 * Each datagram goes to the flow ingest exactly as a /ws/agent/flow frame does
 * (flow_ingest_submit: queued, decoded and counted there), its sender's address as the
 * host it is counted under in /api/status FlowStats (a datagram names no host).
 *
 * UDP carries no credentials, as in Skydive: anyone who reaches the port can add flows.
 * It is off unless the analyzer's configuration asks for it (docs/SECURITY.md).
 *
 * Threads: one receiving thread of its own; the status and stop calls from any other. */
#ifndef SKYDIVE_FLOW_UDP_H
#define SKYDIVE_FLOW_UDP_H

#include <jansson.h>
#include <stdint.h>

#include "analyzer/flow_ingest.h"

struct flow_udp;

/* Binds host:port (host "" or "0.0.0.0": every IPv4 address; "::" every address) and
 * starts the thread; fi is borrowed and must outlive the receiver. NULL with err filled
 * ("cannot bind UDP 127.0.0.1:8082 for flow.protocol udp: Address already in use"). */
struct flow_udp *flow_udp_start(struct flow_ingest *fi, const char *host, int port, char *err,
                                size_t errlen);
/* Stops the thread and closes the socket; NULL is fine. */
void flow_udp_stop(struct flow_udp *u);

struct flow_udp_stats {
	uint64_t datagrams, bytes; /* received and handed to the ingest */
	uint64_t truncated;        /* larger than FLOW_UDP_MAX: dropped */
	uint64_t dropped;          /* the ingest queue was full (also counted there) */
	uint64_t errors;           /* receive errors */
};
void flow_udp_stats(struct flow_udp *u, struct flow_udp_stats *out);
/* {"Address", "Datagrams", "Bytes", "Truncated", "Dropped", "Errors"}: new reference. */
json_t *flow_udp_status(struct flow_udp *u);

/* The largest datagram taken: an IPv4 UDP payload's limit. */
#define FLOW_UDP_MAX 65507

#endif
