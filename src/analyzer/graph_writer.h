/* graph_writer.h - the analyzer's one graph-writer thread: agents' and publishers' graph
 * messages (and the removal of a departed agent's elements) are queued here by the event
 * loop and applied under the graph's writer lock, so the loop never waits for the
 * writer lock, which a long query holds off (its reader side).
 *
 * The queue is bounded by messages and bytes (analyzer.graph_queue,
 * analyzer.graph_queue_bytes; one message is always taken when the queue is empty, so a
 * whole-agent Sync is never refused for its size alone). A refused message is counted and
 * the caller resyncs its sender (the analyzer closes the connection: the agent reconnects
 * with a full Sync, as the agent's forwarder does on its own overflow).
 *
 * Messages are parsed on this thread too. Those the loop must answer come back on a list
 * (graph_writer_take), in their sender's order: a SyncRequest without a graph (the loop
 * replies with the graph as applied so far: every earlier message is in it), a barrier
 * (graph_writer_barrier: a new subscriber's first SyncReply), and from agents the
 * messages of the namespace named at creation (capture dispatch replies).
 *
 * Order: every job queued gets a sequence number. A query takes the graph's reader side
 * through graph_writer_rdlock(seq) with the number current when its request arrived
 * (graph_writer_seq), so it sees every message the loop received before it, and no later
 * query can keep the writer out: the writer waits only for queries that arrived before
 * its messages. The graph lock prefers readers (graph.c), so reads on the loop itself
 * (status, subscribers) never wait behind a query, only behind one batch of the writer. */
#ifndef SKYDIVE_GRAPH_WRITER_H
#define SKYDIVE_GRAPH_WRITER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/graph_msg.h"
#include "graph/graph.h"

struct graph_writer;

/* Wakes the loop (lws_cancel_service): called on the writer thread when it put something
 * on the list of graph_writer_take. */
typedef void (*graph_writer_wake_fn)(void *user);

/* g is borrowed. bounce_ns: messages whose Namespace starts with this, from senders
 * queued with GRAPH_WRITER_BOUNCE, come back to the loop (NULL: none). NULL with err filled. */
struct graph_writer *graph_writer_new(struct graph *g, size_t max_msgs, size_t max_bytes,
                                      const char *bounce_ns, graph_writer_wake_fn wake,
                                      void *user, char *err, size_t errlen);

#define GRAPH_WRITER_BOUNCE   1 /* the sender's bounce_ns messages come back (agents) */
#define GRAPH_WRITER_READONLY 2 /* the sender only reads (subscribers): nothing is applied,
                                 * its SyncRequests come back */
#define GRAPH_WRITER_PROTOBUF 4 /* text is a binary StructMessage (struct_msg.h: Skydive
                                 * agents with X-Client-Protocol: protobuf) */
#define GRAPH_WRITER_REPLICA  8 /* a peer analyzer's message (/ws/replication): src->host
                                 * is the peer's host ID; applied by replication.h's rules */

/* Queues one message (text, or a StructMessage with GRAPH_WRITER_PROTOBUF) of sender peer (an id the loop knows it by); text is stolen
 * (freed by the writer, also on error). src's strings are copied. 0, or -ENOBUFS when the
 * queue is full (counted in Overflows), -ENOMEM. */
int graph_writer_submit(struct graph_writer *w, uint64_t peer, const struct graph_msg_source *src,
                        int flags, char *text, size_t len);
/* Queues a marker that comes back (sync_request set, msg NULL) once everything queued
 * before it is applied; never refused for the bound. 0 or -ENOMEM. */
int graph_writer_barrier(struct graph_writer *w, uint64_t peer);
/* Queues the removal of every element of origin (graph_delete_by_host, by Origin), after
 * the messages already queued; never refused for the bound. 0 or -ENOMEM. */
int graph_writer_delete_origin(struct graph_writer *w, const char *origin, const char *who);
/* With peering: queues the removal of origin's elements if peer still owns it when the
 * job runs (a gone peer's, replication.h repl_expire). 0 or -ENOMEM. */
int graph_writer_delete_replica(struct graph_writer *w, const char *origin, const char *peer);
/* Peering: the ownership table the writer keeps (borrowed; before any message). With
 * it, a direct sender's messages make their origin ours, and graph_writer_delete_origin
 * leaves an origin a peer owns. */
struct repl_owners;
void graph_writer_set_owners(struct graph_writer *w, struct repl_owners *owners);

/* What came back: the parsed message (owned by the item) of sender peer. */
struct graph_writer_item {
	struct graph_writer_item *next;
	uint64_t peer;
	int sync_request; /* 1: a SyncRequest to answer (msg NULL: a barrier); 0: a bounce_ns
	                   * message */
	json_t *msg;
};
/* The list, oldest first, now the caller's (free each with graph_writer_item_free). */
struct graph_writer_item *graph_writer_take(struct graph_writer *w);
void graph_writer_item_free(struct graph_writer_item *it); /* one item; NULL is fine */

/* The number of the last job queued (the loop's, when a request arrives). */
uint64_t graph_writer_seq(struct graph_writer *w);
/* Waits until every job up to seq is applied (or the writer stops), then takes the graph's
 * reader side; release with graph_unlock(). */
void graph_writer_rdlock(struct graph_writer *w, uint64_t seq);

struct graph_writer_stats {
	/* queued: waiting, or in the batch being applied */
	size_t queue_max, queue_bytes_max, queued, queued_bytes;
	uint64_t applied, invalid, overflows, batches;
	int waiting_readers; /* queries waiting for messages to be applied */
};
void graph_writer_stats(struct graph_writer *w, struct graph_writer_stats *out);

/* Stops the thread after the batch it is applying; messages still queued are dropped
 * (the elements they would change stay as they are). Frees the items not taken. NULL is
 * fine. */
void graph_writer_free(struct graph_writer *w);

#endif
