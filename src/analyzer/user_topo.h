/* user_topo.h - nodes and edges made through the API, as Skydive's node and edge handlers
 * (graffiti/api/server/node.go, edge.go, the routes of server.go RegisterAPIHandler):
 *
 *   GET    /api/node            200 {"<ID>": node, ...}   every node of the graph
 *   GET    /api/node/<ID>       200 node | 404
 *   POST   /api/node            201 node | 400 | 409 (the ID exists)
 *   PATCH  /api/node/<ID>       200 node | 304 (nothing changed) | 400 | 404 | 409
 *   DELETE /api/node/<ID>       200 (empty) | 404 | 409
 *   and the same for /api/edge (an edge also has "Parent" and "Child": both must exist,
 *   else 400 "Parent node not found" / "Child node not found", as graph/memory.go).
 *
 * A node or edge created here lives in the analyzer's graph (Origin "api.<host_id>" unless
 * the body names one, Host the body's or host_id) and in the store (<data_dir>/nodes.json
 * and edges.json, resource.h's file store), so it is put back in the graph when the
 * analyzer starts. An edge whose end is not (or no longer) in the graph, e.g. an agent's
 * interface before the agent has connected, waits in the store and is put in the graph
 * as soon as both ends are there (a graph listener wakes this module's thread). PATCH and
 * DELETE change only what this API made: another element (a probe's) is answered 409.
 *
 * Bodies are Skydive's node.schema / edge.schema (statics/schemas): ID (made here, a
 * UUID, when absent), Metadata with Name and Type (netns: Path; ovsport: UUID) for a
 * node, RelationType for an edge; Host, Origin, CreatedAt, UpdatedAt, Revision and
 * DeletedAt as Skydive's JSON has them; any other key is refused. PATCH is a JSON Patch
 * (RFC 6902) on the element's JSON that may change Metadata only (a node's TID, Name and
 * Type are kept: refused when the patch changes them).
 *
 * Threads: handle may be called from any thread (query workers); writes take the graph's
 * writer side for one element (and its edges) at a time, the store's file is written
 * before, without it. The pending-edge thread takes the writer side when a node an
 * edge waits for appears. */
#ifndef SKYDIVE_USER_TOPO_H
#define SKYDIVE_USER_TOPO_H

#include <jansson.h>
#include <stddef.h>

#include "analyzer/resource.h"
#include "graph/graph.h"
#include "http/rest_reply.h"

#define USER_TOPO_MAX 10000 /* nodes, and edges, created through the API */

struct user_topo;

/* Loads the stores, puts their nodes and the edges whose ends exist in g (borrowed; the
 * graph's lock is taken here), starts the pending-edge thread. data_dir NULL or "" =
 * /var/lib/skydive; host_id names the Origin "api.<host_id>" and the default Host.
 * NULL with err filled. */
struct user_topo *user_topo_new(const char *data_dir, struct graph *g, const char *host_id,
                                char *err, size_t errlen);
/* The same with other stores (both taken, freed with t, even on failure): tests. */
struct user_topo *user_topo_new_store(struct graph *g, const char *host_id,
                                      struct res_store nodes, struct res_store edges, char *err,
                                      size_t errlen);
/* Stops the thread and frees; the elements stay in the graph. NULL is fine. */
void user_topo_free(struct user_topo *t);

/* One request on /api/node[/<ID>] or /api/edge[/<ID>] (path without the query string);
 * always fills out (free with rest_response_free). */
void user_topo_handle(struct user_topo *t, const char *method, const char *path,
                      const char *content_type, const char *body, size_t body_len,
                      struct rest_response *out);

/* Checks a node (edge: 1) body as POST does and normalises it in place (ID made when
 * absent, Host and Origin defaults, Skydive's fields not kept dropped). 0 or -EINVAL with
 * err filled. The graph is not read (ends of an edge are checked at creation). */
int user_topo_validate(int edge, json_t *obj, const char *host_id, struct res_error *err);

struct user_topo_stats {
	size_t nodes, edges, pending_edges; /* in the store; pending: not in the graph */
};
void user_topo_stats(struct user_topo *t, struct user_topo_stats *out);

#endif
