/* graph_msg.h - Skydive's WebSocket envelope {"Namespace","Type","UUID",
 * "Status","Obj"} and the "Graph" namespace messages, turned into graph
 * mutations. Pure functions over jansson trees, so unit tests and the server
 * drive the same code. */
#ifndef SKYDIVE_GRAPH_MSG_H
#define SKYDIVE_GRAPH_MSG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "graph/graph.h"

#define GRAPH_MSG_NAMESPACE "Graph"
/* Ops of one NodePartiallyUpdated / EdgePartiallyUpdated (docs/API.md "Limits") */
#define GRAPH_MSG_MAX_OPS 10000u

/* Who sent a message: its elements get this Host (when force_host, or when
 * the element has none) and this Origin; a Sync replaces every element of
 * this Origin. */
struct graph_msg_source {
	const char *host;
	const char *origin;
	int force_host; /* agents: Host is always the agent's X-Host-ID */
	/* Replication (a peer analyzer's messages, analyzer/replication.h): each element
	 * keeps its own Host and Origin, and is applied only if accept(user, origin, claim)
	 * says so (claim: an Added or a Sync, which may take an origin over from another
	 * peer). A Sync then replaces, for each origin it carries that accept allows, the
	 * elements of that origin (not those of src->origin). NULL: a direct sender. */
	int (*accept)(void *user, const char *origin, int claim);
	void *accept_user;
};

enum graph_msg_result {
	GRAPH_MSG_APPLIED = 0,  /* the graph changed (or was already so) */
	GRAPH_MSG_IGNORED,      /* another namespace or a type we do not act on */
	GRAPH_MSG_SYNC_REQUEST, /* the peer asks for the whole graph (reply SyncReply) */
};

/* Parses one text frame into an envelope object (new reference). NULL with
 * err filled ("invalid JSON at line 1, column 7: ..." or "message is not an
 * object with a string Type"). */
json_t *graph_msg_parse(const char *text, size_t len, char *err, size_t errlen);

/* Applies one envelope to g; the caller holds graph_lock(). Returns an enum
 * graph_msg_result, or -EINVAL with err filled (missing ID, edge to an
 * unknown node ...), or -ENOMEM. Types: Sync (and SyncRequest carrying a
 * graph), NodeAdded, NodeUpdated, NodeDeleted, NodePartiallyUpdated,
 * EdgeAdded, EdgeUpdated, EdgeDeleted, EdgePartiallyUpdated. An Added of an
 * existing element updates it; an Updated of a missing one adds it. */
int graph_msg_apply(struct graph *g, const json_t *msg, const struct graph_msg_source *src,
                    int64_t now_ms, char *err, size_t errlen);

/* A new envelope {"Namespace":ns,"Type":type,"Status":200,"Obj":obj};
 * obj is stolen (NULL gives no Obj). NULL on out of memory. */
json_t *graph_msg_new(const char *ns, const char *type, json_t *obj);

#endif
