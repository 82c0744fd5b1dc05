/* graph_int.h - graph internals shared by the graph's own files: the element store a live
 * graph and a past view both use, the graph object with its history, and the view. Its
 * containers are common/pvec.h, smap.h; nothing else includes it (graph_log.c, Gremlin and
 * the rest use graph.h). Lock rules and ownership are graph.h's.
 *
 *   graph_store.c    elements and the store: ID maps, listing order, adjacency
 *   graph_index.c    secondary indexes (Name, Type, TID, MAC, IPV4)
 *   graph.c          the graph object, listeners, mutations, accounting
 *   graph_history.c  replaced revisions, bounded by age and bytes, and their queues
 *   graph_view.c     views: the live graph, owned copies, subgraphs, the read calls
 *   graph_past.c     lazy views of a past time, answered from the store and the history
 *   graph_json.c     elements and views as Skydive's JSON */
#ifndef SKYDIVE_GRAPH_INT_H
#define SKYDIVE_GRAPH_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/pvec.h"
#include "common/smap.h"
#include "graph/graph.h"

#define GRAPH_NIDX     5
#define GRAPH_IDX_IPV4 4
extern const char *const graph_index_keys[GRAPH_NIDX];

struct ibucket {
	char *value;
	struct pvec nodes; /* struct gnode * */
	int ix;
};
struct iref {
	struct ibucket *b;
	size_t pos; /* index in b->nodes */
};

struct gnode {
	struct graph_node pub; /* first: a gnode * is a graph_node * */
	size_t slot;           /* index in store.node_list */
	struct pvec out, in;   /* struct gedge * */
	struct iref *refs;     /* the index buckets listing this node */
	uint32_t nrefs, caprefs;
};

struct gedge {
	struct graph_edge pub; /* first */
	size_t slot, out_pos, in_pos;
};

struct graph_store {
	struct smap nodes, edges;         /* ID -> gnode / gedge */
	struct pvec node_list, edge_list; /* insertion order, NULL holes until compacted */
	size_t node_holes, edge_holes;
	struct smap idx[GRAPH_NIDX]; /* value -> ibucket */
};

struct graph_listener {
	int id;
	graph_listener_fn fn;
	void *user;
};

/* A replaced or deleted revision, valid in [from, to). */
struct graph_hrec {
	struct graph_hrec *next;
	int is_edge;
	struct graph_edge el; /* for nodes only el.e is used */
	int64_t from, to;
	size_t bytes;
	uint64_t seq; /* push order: the listing order among revisions of equal CreatedAt */
};

/* The history's own indexes, so a past view finds the revisions of one ID, one index value
 * or one edge end without a scan: per key, the revisions in push order. Revisions leave
 * oldest first (history_prune), so each queue is a FIFO whose front is the one to go. */
struct graph_hq {
	char *key;
	struct pvec v; /* struct graph_hrec *, oldest first from head */
	size_t head;
};

enum {
	GRAPH_HQ_NODE,
	GRAPH_HQ_EDGE,
	GRAPH_HQ_PARENT,
	GRAPH_HQ_CHILD,
	GRAPH_HQ_KEY0,
	GRAPH_HQ_N = GRAPH_HQ_KEY0 + GRAPH_NIDX
};

struct graph {
	pthread_rwlock_t mu;     /* writers: graph_lock; readers: graph_rdlock */
	pthread_mutex_t compact; /* readers squeeze the live lists' holes one at a time */
	struct graph_store *live;
	struct graph_listener *listeners;
	size_t nlisteners;
	int next_listener_id;
	struct graph_hrec *hhead, *htail; /* oldest first */
	size_t hcount, hbytes;
	uint64_t hseq;
	struct smap hq[GRAPH_HQ_N]; /* node ID, edge ID, edge Parent, edge Child, index values */
	int64_t hdropped_to;        /* views before this time are incomplete */
	int64_t first_ms;           /* first change seen */
	int64_t max_age_ms;
	size_t max_bytes;
	/* Edge metadata is mostly {"RelationType": "..."}: identical small objects are shared
	 * (metadata is never modified in place), saving ~380 bytes per edge. */
	struct smap md_cache; /* canonical text -> json_t (one reference held) */
};

/* Three kinds: the live graph (s = the graph's store), an owned copy (s owned: subgraphs,
 * and graph_view_copy), and a lazy view of a past time (g set, s NULL), which answers
 * each call from the live store and the history at t and keeps only what it was asked. */
struct graph_view {
	struct graph_store *s;
	int owned;
	struct pvec scratch;
	/* lazy past view */
	struct graph *g;
	int64_t t;
	struct pvec nodes, edges; /* the listing, made on the first call that needs it */
	int listed_nodes, listed_edges;
	struct smap adj[2]; /* node ID -> struct vadj: out (0) and in (1) edges asked for */
};

/* ---- graph_store.c ---- */

void graph_elem_free_fields(struct graph_elem *e);
/* Copies id, host and origin (NULL ones as empty strings) and takes md; -ENOMEM, the
 * fields set so far left for graph_elem_free_fields. */
int graph_elem_init(struct graph_elem *e, const char *id, json_t *md, const char *host,
		    const char *origin);
void graph_gnode_free(struct gnode *n); /* NULL is fine */
void graph_gedge_free(struct gedge *e); /* NULL is fine */

/* NULL on out of memory. */
struct graph_store *graph_store_new(void);
void graph_store_free(struct graph_store *s); /* and its elements; NULL is fine */
/* Squeezes out the listing's holes, before anyone reads by position. */
void graph_store_compact(struct graph_store *s);
/* The store holds n / e on success; -EEXIST, -ENOMEM, and for an edge -ENOENT (an end is
 * missing). */
int graph_store_add_node(struct graph_store *s, struct gnode *n);
int graph_store_add_edge(struct graph_store *s, struct gedge *e);
/* Takes the element out of the maps, listing, adjacency and indexes; the caller frees it. */
void graph_store_unlink_node(struct graph_store *s, struct gnode *n);
void graph_store_unlink_edge(struct graph_store *s, struct gedge *e);

/* ---- graph_index.c ---- */

/* The index number of key, -1 for a key without index. */
int graph_idx_of(const char *key);
/* Lists n in the buckets of its metadata's indexed values; -ENOMEM (then in none). */
int graph_idx_add_node(struct graph_store *s, struct gnode *n);
void graph_idx_remove_node(struct graph_store *s, struct gnode *n);
/* Calls fn for each value of an index key's JSON value: a string, each string of an array,
 * and for IPV4 also each CIDR's bare address (a list of CIDRs is found by address too). The
 * live indexes and the history's use the same values. Stops at fn's first non-zero. */
typedef int (*graph_idx_value_fn)(void *ctx, const char *value);
int graph_idx_values(int ix, const json_t *v, graph_idx_value_fn fn, void *ctx);

/* ---- graph.c ---- */

/* The shared copy of a small all-string object equal to md (stealing md), or md itself. */
json_t *graph_md_intern(struct graph *g, json_t *md);

/* ---- graph_history.c ---- */

/* Takes ownership of the fields in *el (a copy or the dying element's own): a revision valid
 * until to. Out of memory: forgotten, and views of its time are said truncated. */
void graph_history_push(struct graph *g, int is_edge, const struct graph_edge *el, int64_t to);
/* Records the revision of e (the edge ed) about to be replaced: copies of the strings, the
 * old metadata itself (taken). */
void graph_history_push_replaced(struct graph *g, int is_edge, const struct graph_elem *e,
				 const struct graph_edge *ed, json_t *old_md, int64_t to);
/* Notes the time of a change: the first one is the oldest a view can show. */
void graph_history_note_time(struct graph *g, int64_t now_ms);
/* Frees every revision and queue (graph_free). */
void graph_history_free(struct graph *g);

/* ---- graph_past.c: the calls of a lazy view (v->g set) ---- */

struct graph_vcand;
/* The node id at t, NULL when not there; *out (if not NULL) gets its candidate. */
const struct graph_node *graph_past_node(const struct graph_view *v, const char *id,
					 struct graph_vcand *out);
const struct graph_edge *graph_past_edge(const struct graph_view *v, const char *id);
/* The node's out (dir 0) or in (dir 1) edges at t, kept for the view's life; NULL (none)
 * on out of memory. */
const struct graph_edge *const *graph_past_adj(struct graph_view *v, const char *node_id,
					       int dir, size_t *n);
/* The nodes whose index ix holds value, in listing order, in v->scratch; NULL on out of
 * memory. */
const struct graph_node *const *graph_past_nodes_by(struct graph_view *v, int ix,
						    const char *value, size_t *n);
/* The whole listing of nodes (edges 0) or edges, made once; out of memory lists nothing. */
const struct pvec *graph_past_listing(const struct graph_view *v, int edges);
void graph_past_free(struct graph_view *v); /* what the lazy view kept, not v itself */

#endif
