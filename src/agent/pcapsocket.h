/* pcapsocket.h - the pcapsocket capture type: a TCP listener on the agent
 * host (agent.flow.pcapsocket.bind_address, first free port of
 * min_port..max_port; the agent's own namespace, not the node's) that reads
 * every connection as a pcap or pcapng stream (`tcpdump -U -w - | nc HOST
 * PORT`, or `nc HOST PORT < file.pcap`).
 *
 * It is a capture source like the others (capture.h): the lane thread calls
 * capture_dispatch, which hands out the frames of every connection, and
 * capture_linktype gives the link type of the frame being delivered (streams
 * may differ). Each connection is read by a thread of its own into a bounded
 * queue; a full queue blocks the readers (TCP flow control slows the
 * senders), so nothing is dropped. A malformed or truncated stream closes
 * that connection with a logged warning and counts in StreamErrors; the
 * listener keeps serving. The BPF filter is compiled for each connection's
 * link type. capture_close closes the listener and every connection. */
#ifndef SKYDIVE_PCAPSOCKET_H
#define SKYDIVE_PCAPSOCKET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/capture.h"

struct pcapsocket_opts {
	const char *bind_address; /* IPv4 or IPv6 literal; NULL = 127.0.0.1 */
	uint16_t min_port, max_port; /* 0 = 8100, 8132 */
	uint32_t snaplen;         /* bytes kept of each frame; 0 = 256 */
	int max_conns;            /* connections read at once; 0 = 16 */
};

/* Binds and listens (connections wait in the backlog until the first
 * capture_dispatch). NULL with err filled: bad address, no free port. */
struct capture *pcapsocket_open(const struct pcapsocket_opts *o, char *err, size_t errlen);

/* "ADDR:PORT" ("[ADDR]:PORT" for IPv6) of the listener. */
const char *pcapsocket_address(const struct capture *c);

/* Adds PCAPSocket, Connections (accepted so far) and StreamErrors
 * (connections closed on a malformed stream or a filter that does not
 * compile for its link type) to a Captures entry. Any thread. */
void pcapsocket_entry(const struct capture *c, json_t *entry);

#endif
