/* flow_sender.h - the agent's flow connection: binary protobuf flow.Message
 * frames to the analyzers' /ws/agent/flow (one channel of the agent's ws_link
 * client per analyzer, X-Client-Protocol: protobuf), each
 * message written once to whichever connection is ready (Skydive sends each
 * batch to one analyzer). Messages wait in one bounded queue while no
 * analyzer is reachable: when it is full a new message is dropped and
 * counted. Lost connections are retried with backoff (200 ms to 5 s). */
#ifndef SKYDIVE_FLOW_SENDER_H
#define SKYDIVE_FLOW_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "agent/ws_link.h"

struct flow_sender;

struct flow_sender_opts {
	struct ws_client *link;       /* borrowed; required with analyzers */
	const char *const *analyzers; /* "host:port" */
	size_t n_analyzers;
	size_t queue_max;             /* messages; 0 = 10000 */
};

struct flow_sender_stats {
	size_t connected;
	uint64_t queued, sent, dropped; /* messages */
	uint64_t sent_bytes;
	size_t qlen;
};

/* Adds one channel per analyzer to o->link (before ws_client_start). NULL
 * with err filled. */
struct flow_sender *flow_sender_new(const struct flow_sender_opts *o, char *err, size_t errlen);
/* Waits up to 2 s for the queue to reach a connected analyzer (the link
 * still running), then refuses new messages; what is still queued is
 * dropped (counted). Idempotent. */
void flow_sender_stop(struct flow_sender *s);
/* After ws_client_stop of its link (its callbacks use s). NULL is fine. */
void flow_sender_free(struct flow_sender *s);

/* Bytes of headroom the buffers given to flow_sender_push must have. */
size_t flow_sender_headroom(void);
/* Queues one packed message (buf has flow_sender_headroom() bytes before the
 * len bytes of message; taken). Any thread. 0, or -ENOBUFS when the queue
 * is full (or the sender stopped): dropped and counted. */
int flow_sender_push(struct flow_sender *s, uint8_t *buf, size_t len);
void flow_sender_get_stats(struct flow_sender *s, struct flow_sender_stats *out);

#endif
