/* forwarder.h - the agent's topology forwarder: pushes a graph to analyzers
 * (one channel of the agent's ws_link client each, /ws/agent/topology) as a
 * Sync then its changes (see agent.h). */
#ifndef SKYDIVE_FORWARDER_H
#define SKYDIVE_FORWARDER_H

#include <stddef.h>
#include <stdint.h>

#include "agent/ws_link.h"
#include "graph/graph.h"

#include <jansson.h>

struct forwarder;

/* An analyzer request on the topology connection (Namespace "OnDemand", captures, or
 * "OnDemandPacketInjection"):
 * returns the reply envelope to send back (new reference, NULL = none).
 * Runs on the link's service thread, no lock held. */
typedef json_t *(*forwarder_request_fn)(void *user, const json_t *msg);

struct forwarder_opts {
	struct graph *g;		/* borrowed */
	struct ws_client *link;		/* borrowed; required with analyzers */
	const char *const *analyzers;	/* "host:port" */
	size_t n_analyzers;
	size_t queue_max;		/* 0 = 10000 */
	forwarder_request_fn on_request; /* may be NULL: requests ignored */
	void *request_user;
};

/* Adds one channel per analyzer to o->link (before ws_client_start). NULL
 * with err filled (bad address, OOM). Registers no listener yet. */
struct forwarder *forwarder_new(const struct forwarder_opts *o, char *err, size_t errlen);
/* Adds the graph listener (the link connects once it is started): 0 or
 * -errno with err filled. */
int forwarder_start(struct forwarder *f, char *err, size_t errlen);
/* Removes the listener, drops what is queued and ignores further OnDemand
 * requests; idempotent. The connections close with the link (ws_client_stop). */
void forwarder_stop(struct forwarder *f);
/* After ws_client_stop of its link (its callbacks use f). NULL is fine. */
void forwarder_free(struct forwarder *f);

void forwarder_stats(struct forwarder *f, size_t *connected, uint64_t *sent, uint64_t *dropped,
		     uint64_t *syncs);

#endif
