/* graph.h - the topology graph: nodes and edges with JSON metadata, indexes,
 * change listeners and bounded history for time-travel queries.
 *
 * Elements serialise as Skydive does:
 *   Node {"ID","Metadata":{...},"Host","Origin","CreatedAt","UpdatedAt","DeletedAt"(omitted
 *         when 0),"Revision"}
 *   Edge the same plus "Parent","Child"; edge Metadata has "RelationType".
 * Times are ms since the epoch. Metadata is a jansson object (strings, numbers,
 * booleans, arrays, nested objects).
 *
 * Threads: the graph is not thread-safe by itself. Every caller takes
 * graph_lock()/graph_unlock() around a batch of calls (probes in their own
 * threads, the analyzer's graph writer). graph_lock is the writer side of a
 * reader/writer lock; graph_rdlock() takes the reader side for callers that only
 * read (views, lookups, serialisation, graph_stats): readers run together.
 * Listeners run with the writer side held.
 *
 * Ownership: functions that take a json_t *metadata steal the reference (also
 * on failure). Pointers returned by lookups and views stay valid until the
 * next mutation (graph_view_at) or until the view is freed (graph_view_copy and
 * subgraphs). */
#ifndef SKYDIVE_GRAPH_H
#define SKYDIVE_GRAPH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct graph;

struct graph_elem {
	char *id;
	json_t *metadata; /* object; owned by the element */
	char *host;
	char *origin;
	int64_t created_at, updated_at, deleted_at; /* ms; deleted_at 0 = alive */
	int64_t revision;                           /* 1 at creation, +1 per change */
};

struct graph_node {
	struct graph_elem e;
};

struct graph_edge {
	struct graph_elem e;
	char *parent, *child; /* node IDs */
};

struct graph_opts {
	int64_t history_max_age_ms; /* revisions older than this are dropped; 0 = 1 hour */
	size_t history_max_bytes;   /* and beyond this size, oldest first; 0 = 64 MiB */
};

enum graph_event {
	GRAPH_NODE_ADDED = 1,
	GRAPH_NODE_UPDATED,
	GRAPH_NODE_DELETED,
	GRAPH_EDGE_ADDED,
	GRAPH_EDGE_UPDATED,
	GRAPH_EDGE_DELETED,
};
/* Skydive's message type name: "NodeAdded", "EdgeDeleted" ... */
const char *graph_event_name(enum graph_event ev);

/* node or edge is valid during the call only; edge is NULL for node events. */
typedef void (*graph_listener_fn)(void *user, enum graph_event ev, const struct graph_node *node,
				  const struct graph_edge *edge);

/* NULL on out of memory. */
struct graph *graph_new(const struct graph_opts *o);
void graph_free(struct graph *g); /* NULL is fine */
void graph_lock(struct graph *g);   /* exclusive: mutations */
void graph_rdlock(struct graph *g); /* shared: reading only (views, graph_stats) */
void graph_unlock(struct graph *g); /* releases either */

/* Returns an id for graph_listener_remove, or -ENOMEM. */
int graph_listener_add(struct graph *g, graph_listener_fn fn, void *user);
void graph_listener_remove(struct graph *g, int id);

/* In a listener, during a GRAPH_NODE_UPDATED / GRAPH_EDGE_UPDATED call for element e: the
 * metadata e had before this change (borrowed, valid during the call), from the history;
 * NULL when the history did not keep it (out of memory, or bounded to nothing). */
const json_t *graph_replaced_metadata(const struct graph *g, const struct graph_elem *e);

/* ---- mutations (lock held); now_ms is the time of the change ---------- */

/* Adds a node; -EEXIST if the ID exists, -ENOMEM. */
int graph_node_add(struct graph *g, const char *id, json_t *metadata, const char *host,
		   const char *origin, int64_t now_ms);
/* Replaces a node's metadata (revision + 1, listeners told only if it
 * changed); -ENOENT if there is no such node. */
int graph_node_set_metadata(struct graph *g, const char *id, json_t *metadata, int64_t now_ms);
/* Sets one key (dotted paths like "Captures" or "Ovs.ExtID" create objects
 * on the way); value stolen; NULL value deletes the key. -ENOENT. */
int graph_node_set_key(struct graph *g, const char *id, const char *key, json_t *value,
		       int64_t now_ms);
/* Deletes a node and every edge touching it (edges first, each told to
 * listeners). -ENOENT. */
int graph_node_delete(struct graph *g, const char *id, int64_t now_ms);
/* Adds an edge between two existing nodes; -EEXIST, -ENOENT (a missing end),
 * -ENOMEM. */
int graph_edge_add(struct graph *g, const char *id, const char *parent, const char *child,
		   json_t *metadata, const char *host, const char *origin, int64_t now_ms);
int graph_edge_set_metadata(struct graph *g, const char *id, json_t *metadata, int64_t now_ms);
int graph_edge_delete(struct graph *g, const char *id, int64_t now_ms);
/* Deletes every node and edge whose Host (or Origin when by_origin) is
 * value: an agent that went away. Returns how many elements went. */
int graph_delete_by_host(struct graph *g, const char *value, int by_origin, int64_t now_ms);

/* ---- reading: a view of the graph, live or at a past time -------------- */

/* A consistent set of elements: the live graph (at_ms = 0) or the revisions
 * valid at at_ms (within history). Every view must be freed. */
struct graph_view;

/* NULL with errno ENOMEM; at_ms older than the kept history gives the
 * oldest view still known and sets *truncated (if not NULL) to 1.
 * The view borrows the graph: the live one its maps, a past one the live elements and the
 * history's revisions, answering each call from them (a lookup by ID, index value or
 * node costs what it reads, not the graph's size; a full listing costs the listing). Use
 * it with the lock held and free it before the next mutation. */
struct graph_view *graph_view_at(struct graph *g, int64_t at_ms, int *truncated);
/* The same elements (at_ms <= 0: the live graph) copied into a view that owns them: it
 * stays valid after the lock is released, while the graph changes or after it is freed.
 * Costs the graph's size. NULL with errno ENOMEM. */
struct graph_view *graph_view_copy(struct graph *g, int64_t at_ms, int *truncated);
void graph_view_free(struct graph_view *v); /* NULL is fine */

size_t graph_view_node_count(const struct graph_view *v);
size_t graph_view_edge_count(const struct graph_view *v);
/* The i-th node / edge, 0 <= i < count; order is stable within a view. */
const struct graph_node *graph_view_node(const struct graph_view *v, size_t i);
const struct graph_edge *graph_view_edge(const struct graph_view *v, size_t i);
const struct graph_node *graph_view_node_get(const struct graph_view *v, const char *id);
const struct graph_edge *graph_view_edge_get(const struct graph_view *v, const char *id);
/* Edges whose Parent (out) or Child (in) is node_id: *n gets the count; the
 * array is owned by the view. */
const struct graph_edge *const *graph_view_out_edges(const struct graph_view *v,
						     const char *node_id, size_t *n);
const struct graph_edge *const *graph_view_in_edges(const struct graph_view *v,
						    const char *node_id, size_t *n);
/* Nodes whose metadata key (one of the indexed keys: Name, Type, TID, MAC,
 * IPV4 (each CIDR of the array), also any other top-level string key, by
 * scan) equals value. *n gets the count; array owned by the view, valid until
 * the next call on this view. */
const struct graph_node *const *graph_view_nodes_by(const struct graph_view *v, const char *key,
						    const char *value, size_t *n);
/* A new view (free it) holding nodes and edges of v: the given nodes, the
 * given edges with their end nodes, and, when edges is NULL, every edge of v
 * between the given nodes. NULL with errno ENOMEM. */
struct graph_view *graph_view_subgraph(const struct graph_view *v,
				       const struct graph_node *const *nodes, size_t nn,
				       const struct graph_edge *const *edges, size_t ne);
/* The revisions of node id whose validity meets [from_ms, to_ms] (a time window), for a
 * step that reads a node's past states (Gremlin's Metrics() on nodes): in a past view the
 * history's revisions then the live one, oldest first; in a live view or a copy only the
 * view's own node. fn's first non-zero return stops the walk and is returned; 0 when done.
 * The nodes are borrowed like a view's. */
typedef int (*graph_rev_fn)(void *user, const struct graph_node *n);
int graph_view_node_revisions(const struct graph_view *v, const char *id, int64_t from_ms,
			      int64_t to_ms, graph_rev_fn fn, void *user);
/* Whether key is answered by an index (not a scan). */
int graph_indexed_key(const char *key);
/* Position of n in graph_view_node() order (n from this view); the order of
 * results of graph_view_nodes_by, which is also listing order. */
size_t graph_view_node_pos(const struct graph_view *v, const struct graph_node *n);

/* ---- serialisation ----------------------------------------------------- */

/* New references; NULL on out of memory. "Metadata" is the element's own
 * object, shared (stored metadata is never changed in place, so the result may
 * outlive the lock): do not modify it. */
json_t *graph_node_to_json(const struct graph_node *n);
json_t *graph_edge_to_json(const struct graph_edge *e);
/* {"Nodes":[...],"Edges":[...]} of a view. */
json_t *graph_view_to_json(const struct graph_view *v);

/* ---- accounting -------------------------------------------------------- */

struct graph_stats {
	size_t nodes, edges;
	size_t history_revisions, history_bytes;
	int64_t history_oldest_ms; /* oldest time a view can show; 0 = no history yet */
	int64_t history_max_age_ms;
	size_t history_max_bytes;
};
void graph_stats(struct graph *g, struct graph_stats *out);

/* ---- restoring history (graph_log) -------------------------------------- */

/* Adds a past revision to the history, valid in [UpdatedAt, to_ms): obj is an element
 * as graph_node_to_json / graph_edge_to_json write it (edge when it has "Parent"),
 * borrowed. The live graph is not touched. Lock held. 0, -EINVAL (not an element, or
 * to_ms before its UpdatedAt), -ENOMEM. */
int graph_history_restore(struct graph *g, const json_t *obj, int64_t to_ms);
/* Drops history older than the age bound at now_ms (mutations also do it). */
void graph_history_expire(struct graph *g, int64_t now_ms);

#endif
