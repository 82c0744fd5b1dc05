/* graph_int.h - graph internals shared by graph.c and its tests/bench: the element store
 * a live graph and a past view both use (its containers are common/pvec.h, smap.h). */
#ifndef SKYDIVE_GRAPH_INT_H
#define SKYDIVE_GRAPH_INT_H

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

struct store {
	struct smap nodes, edges;         /* ID -> gnode / gedge */
	struct pvec node_list, edge_list; /* insertion order, NULL holes until compacted */
	size_t node_holes, edge_holes;
	struct smap idx[GRAPH_NIDX]; /* value -> ibucket */
};

struct store *store_new(void);
void store_free(struct store *s);
void store_compact(struct store *s);
int store_add_node(struct store *s, struct gnode *n);
int store_add_edge(struct store *s, struct gedge *e);

#endif
