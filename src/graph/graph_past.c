/* graph_past.c - lazy views of a past time: each call answered from the live store and the
 * history's queues, so it costs what it reads, not the graph's size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_int.h"

/* ---- lazy views of a past time ----------------------------------------------------
 *
 * The copy (view_past) puts in a store every element valid at t, sorted by CreatedAt with
 * live elements (listing order) before revisions (push order), the first of an ID winning
 * and an edge without both ends left out. A lazy view gives the same answers per call:
 * the candidates for what is asked (one ID, one index bucket, one node's edges) from the
 * live store and the history queues, under the same rules, so it costs what it reads. */

/* One node's edges in a lazy view, kept for the view's life (the header's promise). */
struct vadj {
	char *id;
	struct pvec v;
};

struct graph_vcand {
	const struct graph_edge *el; /* a node's graph_elem is first, like an edge's */
	int64_t created;
	uint64_t ord; /* live: listing slot; revision: HIST_ORD | seq */
};
#define HIST_ORD (UINT64_C(1) << 63)

static int vcand_cmp(const void *a, const void *b)
{
	const struct graph_vcand *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int live_valid(const struct graph_elem *e, int64_t t)
{
	return e->created_at <= t && e->updated_at <= t;
}

static int hist_valid(const struct graph_hrec *h, int64_t t)
{
	return h->from <= t && t < h->to;
}

static struct graph_vcand live_cand(const struct graph_elem *e, size_t slot)
{
	return (struct graph_vcand){(const struct graph_edge *)(const void *)e, e->created_at, slot};
}

static struct graph_vcand hist_cand(const struct graph_hrec *h)
{
	return (struct graph_vcand){&h->el, h->el.e.created_at, HIST_ORD | h->seq};
}

static const struct graph_hq *hq_get(const struct graph *g, int which, const char *key)
{
	return smap_get(&g->hq[which], key);
}

/* The node id at t: the first of its candidates. */
const struct graph_node *graph_past_node(const struct graph_view *v, const char *id,
					 struct graph_vcand *out)
{
	const struct graph *g = v->g;
	struct graph_vcand best = {0};
	const struct gnode *n = smap_get(&g->live->nodes, id);
	if (n && live_valid(&n->pub.e, v->t))
		best = live_cand(&n->pub.e, n->slot);
	const struct graph_hq *q = hq_get(g, GRAPH_HQ_NODE, id);
	for (size_t i = q ? q->head : 0; q && i < q->v.n; i++) {
		const struct graph_hrec *h = q->v.v[i];
		struct graph_vcand c = hist_cand(h);
		if (hist_valid(h, v->t) && (!best.el || vcand_cmp(&c, &best) < 0))
			best = c;
	}
	if (out)
		*out = best;
	return (const struct graph_node *)(const void *)best.el;
}

static int lazy_ends(const struct graph_view *v, const struct graph_edge *e)
{
	return graph_past_node(v, e->parent, NULL) && graph_past_node(v, e->child, NULL);
}

/* The edge id at t: the first of its candidates whose two ends are there at t. */
const struct graph_edge *graph_past_edge(const struct graph_view *v, const char *id)
{
	const struct graph *g = v->g;
	struct graph_vcand best = {0};
	const struct gedge *e = smap_get(&g->live->edges, id);
	if (e && live_valid(&e->pub.e, v->t) && lazy_ends(v, &e->pub))
		best = live_cand(&e->pub.e, e->slot);
	const struct graph_hq *q = hq_get(g, GRAPH_HQ_EDGE, id);
	for (size_t i = q ? q->head : 0; q && i < q->v.n; i++) {
		const struct graph_hrec *h = q->v.v[i];
		struct graph_vcand c = hist_cand(h);
		if (hist_valid(h, v->t) && (!best.el || vcand_cmp(&c, &best) < 0) &&
		    lazy_ends(v, &h->el))
			best = c;
	}
	return best.el;
}

/* A growing array of candidates. */
struct vcands {
	struct graph_vcand *c;
	size_t n, cap;
};

static int vcands_push(struct vcands *cs, struct graph_vcand c)
{
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 16;
		struct graph_vcand *nc = realloc(cs->c, cap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		cs->c = nc;
		cs->cap = cap;
	}
	cs->c[cs->n++] = c;
	return 0;
}

/* Keeps the candidates that are what the view answers for their ID, in listing order, as
 * pointers in out (emptied first). */
static int vcands_finish(const struct graph_view *v, struct vcands *cs, int edges,
			 struct pvec *out)
{
	out->n = 0;
	size_t k = 0;
	for (size_t i = 0; i < cs->n; i++) {
		const char *id = cs->c[i].el->e.id;
		const void *won = edges ? (const void *)graph_past_edge(v, id)
					: (const void *)graph_past_node(v, id, NULL);
		if (won == (const void *)cs->c[i].el)
			cs->c[k++] = cs->c[i];
	}
	cs->n = k;
	if (cs->n)
		qsort(cs->c, cs->n, sizeof(*cs->c), vcand_cmp);
	for (size_t i = 0; i < cs->n; i++)
		if (pvec_push(out, (void *)cs->c[i].el))
			return -ENOMEM;
	return 0;
}

/* The whole listing: what V() / E() without an index and the counts need. */
static int lazy_list(struct graph_view *v, int edges)
{
	int *done = edges ? &v->listed_edges : &v->listed_nodes;
	if (*done)
		return 0;
	struct graph *g = v->g;
	struct pvec *list = edges ? &g->live->edge_list : &g->live->node_list;
	struct vcands cs = {0};
	int r = 0;
	for (size_t i = 0; i < list->n && !r; i++) {
		const struct graph_elem *e = list->v[i];
		if (e && live_valid(e, v->t))
			r = vcands_push(&cs, live_cand(e, i));
	}
	for (const struct graph_hrec *h = g->hhead; h && !r; h = h->next)
		if (h->is_edge == edges && hist_valid(h, v->t))
			r = vcands_push(&cs, hist_cand(h));
	if (!r)
		r = vcands_finish(v, &cs, edges, edges ? &v->edges : &v->nodes);
	free(cs.c);
	if (!r)
		*done = 1;
	return r;
}

const struct graph_node *const *graph_past_nodes_by(struct graph_view *v, int ix,
						    const char *value, size_t *n)
{
	const struct graph *g = v->g;
	struct vcands cs = {0};
	int r = 0;
	const struct ibucket *b = smap_get(&g->live->idx[ix], value);
	for (size_t i = 0; b && i < b->nodes.n && !r; i++) {
		const struct gnode *nd = b->nodes.v[i];
		if (live_valid(&nd->pub.e, v->t))
			r = vcands_push(&cs, live_cand(&nd->pub.e, nd->slot));
	}
	const struct graph_hq *q = hq_get(g, GRAPH_HQ_KEY0 + ix, value);
	for (size_t i = q ? q->head : 0; q && i < q->v.n && !r; i++)
		if (hist_valid(q->v.v[i], v->t))
			r = vcands_push(&cs, hist_cand(q->v.v[i]));
	if (!r)
		r = vcands_finish(v, &cs, 0, &v->scratch);
	free(cs.c);
	if (r) {
		v->scratch.n = 0;
		return NULL;
	}
	*n = v->scratch.n;
	return (const struct graph_node *const *)v->scratch.v;
}

/* The edges of node_id at t whose Parent (dir 0) or Child (dir 1) it is. */
const struct graph_edge *const *graph_past_adj(struct graph_view *v, const char *node_id,
					       int dir, size_t *n)
{
	*n = 0;
	struct vadj *a = smap_get(&v->adj[dir], node_id);
	if (a) {
		*n = a->v.n;
		return (const struct graph_edge *const *)a->v.v;
	}
	if (!graph_past_node(v, node_id, NULL))
		return NULL;
	const struct graph *g = v->g;
	struct vcands cs = {0};
	int r = 0;
	const struct gnode *nd = smap_get(&g->live->nodes, node_id);
	const struct pvec *live = nd ? (dir ? &nd->in : &nd->out) : NULL;
	for (size_t i = 0; live && i < live->n && !r; i++) {
		const struct gedge *e = live->v[i];
		if (live_valid(&e->pub.e, v->t))
			r = vcands_push(&cs, live_cand(&e->pub.e, e->slot));
	}
	const struct graph_hq *q = hq_get(g, dir ? GRAPH_HQ_CHILD : GRAPH_HQ_PARENT, node_id);
	for (size_t i = q ? q->head : 0; q && i < q->v.n && !r; i++)
		if (hist_valid(q->v.v[i], v->t))
			r = vcands_push(&cs, hist_cand(q->v.v[i]));
	if (!r && !(a = calloc(1, sizeof(*a))))
		r = -ENOMEM;
	if (!r && !(a->id = strdup(node_id)))
		r = -ENOMEM;
	if (!r)
		r = vcands_finish(v, &cs, 1, &a->v);
	if (!r)
		r = smap_put(&v->adj[dir], a->id, a);
	free(cs.c);
	if (r) {
		if (a) {
			free(a->id);
			pvec_free(&a->v);
			free(a);
		}
		return NULL; /* out of memory: no edges, as a copy that could not be made */
	}
	*n = a->v.n;
	return (const struct graph_edge *const *)a->v.v;
}

void graph_past_free(struct graph_view *v)
{
	pvec_free(&v->nodes);
	pvec_free(&v->edges);
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < v->adj[d].cap; i++) {
			struct vadj *a = v->adj[d].slots[i].val;
			if (a) {
				free(a->id);
				pvec_free(&a->v);
				free(a);
			}
		}
		smap_free(&v->adj[d]);
	}
}

/* A lazy view's listing; out of memory lists nothing (a copy could not have been made). */
const struct pvec *graph_past_listing(const struct graph_view *v, int edges)
{
	static const struct pvec none;
	struct graph_view *w = (struct graph_view *)v; /* the listing is a cache */
	if (lazy_list(w, edges))
		return &none;
	return edges ? &w->edges : &w->nodes;
}

/* ---- a node's revisions in a window (graph.h) ---------------------------------------- */

int graph_view_node_revisions(const struct graph_view *v, const char *id, int64_t from_ms,
			      int64_t to_ms, graph_rev_fn fn, void *user)
{
	if (!v->g) {
		const struct graph_node *n = graph_view_node_get(v, id);
		return n ? fn(user, n) : 0;
	}
	const struct graph *g = v->g;
	const struct graph_hq *q = hq_get(g, GRAPH_HQ_NODE, id);
	for (size_t i = q ? q->head : 0; q && i < q->v.n; i++) {
		const struct graph_hrec *h = q->v.v[i];
		/* valid in [h->from, h->to): meets the window when it starts by its end and
		 * ends after its start */
		if (h->from <= to_ms && h->to > from_ms) {
			int r = fn(user, (const struct graph_node *)(const void *)&h->el);
			if (r)
				return r;
		}
	}
	const struct gnode *n = smap_get(&g->live->nodes, id);
	if (n && n->pub.e.updated_at <= to_ms && n->pub.e.created_at <= to_ms)
		return fn(user, &n->pub);
	return 0;
}
