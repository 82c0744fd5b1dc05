/* forwarder.h - pushes a graph to analyzers (one channel of a ws_link client each)
 * as a Sync then its changes. Two users:
 *   - the agent's topology forwarder (/ws/agent/topology, to_one): as Skydive's
 *     (graffiti/clients/forwarder.go), the topology goes to one analyzer, the master:
 *     the first connected in the list; when it goes, the next connected one becomes
 *     master and gets a full Sync (the analyzers replicate it to each other:
 *     analyzer/replication.h). The agent stays connected to every analyzer, which may
 *     all send it OnDemand requests (captures).
 *   - the analyzer's replication to its peers (/ws/replication, every peer), with keep:
 *     only the elements this analyzer owns (its agents', its own), never those it got
 *     from a peer, so nothing loops. */
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
	const char *path;		/* NULL = "/ws/agent/topology" (static) */
	const char *label;		/* in logs; NULL = "topology channel" (static) */
	int to_one;			/* send to the master only (above) */
	/* Which elements go (changes and Syncs); NULL = all. Graph lock held. */
	int (*keep)(void *user, const struct graph_elem *e);
	void *keep_user;
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
/* The analyzer the topology goes to with to_one ("host:port"), NULL when none is
 * connected; *switches: how many times the master changed. Copied into buf. */
const char *forwarder_master(struct forwarder *f, char *buf, size_t len, uint64_t *switches);
/* Per channel: {"<addr>": {"Connected", "Master" (to_one), "Sent", "Dropped", "Syncs"}}
 * (new reference, NULL on ENOMEM). */
json_t *forwarder_status(struct forwarder *f);

#endif
