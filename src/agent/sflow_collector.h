/* sflow_collector.h - the sflow capture type: a UDP sFlow v5 collector on
 * the agent host (agent.flow.sflow.bind_address, the capture's Port or the
 * first free port of port_min..port_max; the agent's own namespace, not the
 * node's), for switches and Open vSwitch exporting to it.
 *
 * It is a capture source like the others (capture.h): the lane thread calls
 * capture_dispatch, which reads the waiting datagrams, parses them
 * (decode/sflow.h) and hands out each flow sample's raw packet header as a
 * frame; capture_linktype is the link type of the frame being delivered
 * (Ethernet, or IPv4/IPv6 for such header protocols; others are counted in
 * SkippedHeaders). The frame's wire length is frame_length - stripped (the
 * FCS), so Bytes count like a capture of the same link. Flow counters are of
 * the sampled packets, NOT scaled by the sampling rate; the rate last seen is
 * shown in the Captures entry (SamplingRate) so a reader can scale.
 * A BPF filter runs in user space on the sampled headers. Counter samples
 * (generic interface counters) are kept per ifIndex and published as the
 * node's "SFlow" metadata. capture_close closes the socket. */
#ifndef SKYDIVE_SFLOW_COLLECTOR_H
#define SKYDIVE_SFLOW_COLLECTOR_H

#include <jansson.h>
#include <stdint.h>

#include "capture/capture.h"
#include "graph/graph.h"

struct sflow_collector_opts {
	const char *bind_address;    /* IPv4 or IPv6 literal; NULL = 127.0.0.1 */
	uint16_t port;               /* the capture's Port; 0 = first free of the range */
	uint16_t port_min, port_max; /* 0 = 6345, 6355 */
	uint32_t snaplen;            /* bytes kept of each header; 0 = 256 */
	int timeout_ms;              /* longest wait in capture_dispatch; 0 = 100 */
};

/* Binds the UDP socket. NULL with err filled: bad address, port taken, no
 * free port in the range. */
struct capture *sflow_collector_open(const struct sflow_collector_opts *o, char *err,
				     size_t errlen);

/* "ADDR:PORT" ("[ADDR]:PORT" for IPv6) of the socket; owned by the handle. */
const char *sflow_collector_address(const struct capture *c);

/* Adds SFlowSocket, SamplingRate (of the last flow sample, 0 before one),
 * Datagrams, DatagramErrors and SkippedHeaders to a Captures entry. Any
 * thread. */
void sflow_collector_entry(const struct capture *c, json_t *entry);

/* Sets the node's "SFlow" metadata from the counter samples received since
 * the last call: {"IfMetrics": {"<ifIndex>": counters}, "Metric": the sum
 * over interfaces, "LastUpdateMetric": its change since the previous
 * publication, with Start/Last in ms}. Nothing when no counter sample came.
 * Takes the graph lock; call without it. */
void sflow_collector_publish(struct capture *c, struct graph *g, const char *node_id,
			     int64_t now_ms);

#endif
