/* forwarder.h - the agent's WebSocket client: pushes a graph to analyzers
 * (one connection each) as a Sync then its changes (see agent.h). */
#ifndef SKYDIVE_FORWARDER_H
#define SKYDIVE_FORWARDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/tls.h"
#include "graph/graph.h"

#include <jansson.h>

struct forwarder;

/* An analyzer request on the topology connection (Namespace "OnDemand"):
 * returns the reply envelope to send back (new reference, NULL = none).
 * Runs on the forwarder's loop thread, no lock held. */
typedef json_t *(*forwarder_request_fn)(void *user, const json_t *msg);

struct forwarder_opts {
	struct graph *g;		/* borrowed */
	const char *host_id;
	const char *const *analyzers;	/* "host:port" */
	size_t n_analyzers;
	size_t queue_max;		/* 0 = 10000 */
	int ping_delay_s;		/* 0 = 2 */
	forwarder_request_fn on_request; /* may be NULL: requests ignored */
	void *request_user;
	const struct tls_client_conf *tls; /* wss when tls->on; NULL = plain (copied) */
	const char *authorization;	/* Authorization header of the handshake; NULL none (copied) */
};

/* NULL with err filled (bad address, OOM). Registers nothing yet. */
struct forwarder *forwarder_new(const struct forwarder_opts *o, char *err, size_t errlen);
/* Adds the graph listener, creates the libwebsockets context and starts its
 * thread: 0 or -errno with err filled. */
int forwarder_start(struct forwarder *f, char *err, size_t errlen);
/* Removes the listener, closes the connections, joins; idempotent. */
void forwarder_stop(struct forwarder *f);
void forwarder_free(struct forwarder *f); /* NULL is fine */

void forwarder_stats(struct forwarder *f, size_t *connected, uint64_t *sent, uint64_t *dropped,
		     uint64_t *syncs);

#endif
