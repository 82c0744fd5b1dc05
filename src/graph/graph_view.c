/* graph_view.c - views of the graph: the live one, owned copies (graph_view_copy,
 * subgraphs) and the read calls, which a lazy past view answers in graph_past.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_int.h"

/* ---- views ---------------------------------------------------------------------- */

static struct gnode *copy_node(const struct graph_elem *src)
{
	struct gnode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->pub.e = *src;
	n->pub.e.id = n->pub.e.host = n->pub.e.origin = NULL;
	n->pub.e.metadata = json_incref(src->metadata);
	if (graph_elem_init(&n->pub.e, src->id, n->pub.e.metadata, src->host, src->origin)) {
		graph_gnode_free(n);
		return NULL;
	}
	return n;
}

static struct gedge *copy_edge(const struct graph_edge *src)
{
	struct gedge *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->pub.e = src->e;
	e->pub.e.id = e->pub.e.host = e->pub.e.origin = NULL;
	e->pub.e.metadata = json_incref(src->e.metadata);
	if (graph_elem_init(&e->pub.e, src->e.id, e->pub.e.metadata, src->e.host, src->e.origin) ||
	    !(e->pub.parent = strdup(src->parent)) || !(e->pub.child = strdup(src->child))) {
		graph_gedge_free(e);
		return NULL;
	}
	return e;
}

struct cand {
	const struct graph_edge *el; /* nodes use el->e only */
	size_t order;
};

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	if (x->el->e.created_at != y->el->e.created_at)
		return x->el->e.created_at < y->el->e.created_at ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Elements valid at t, oldest creation first, live ones in listing order before history. */
static int collect(struct graph *g, int edges, int64_t t, struct cand **out, size_t *nout)
{
	struct graph_store *s = g->live;
	struct pvec *list = edges ? &s->edge_list : &s->node_list;
	size_t cap = list->n + g->hcount, n = 0;
	struct cand *c = malloc((cap ? cap : 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < list->n; i++) {
		const struct graph_elem *e = list->v[i];
		if (e && e->created_at <= t && e->updated_at <= t) {
			c[n].el = (const struct graph_edge *)(edges ? list->v[i] : NULL);
			if (!edges) {
				/* a node's graph_elem is the first member, like an edge's */
				c[n].el = (const struct graph_edge *)(const void *)e;
			}
			c[n].order = n;
			n++;
		}
	}
	for (struct graph_hrec *h = g->hhead; h; h = h->next)
		if (h->is_edge == edges && h->from <= t && t < h->to) {
			c[n].el = &h->el;
			c[n].order = n;
			n++;
		}
	qsort(c, n, sizeof(*c), cand_cmp);
	*out = c;
	*nout = n;
	return 0;
}

static struct graph_view *view_past(struct graph *g, int64_t t)
{
	struct graph_view *v = calloc(1, sizeof(*v));
	struct cand *c = NULL;
	size_t n;
	if (!v || !(v->s = graph_store_new()))
		goto oom;
	v->owned = 1;
	for (int edges = 0; edges < 2; edges++) {
		if (collect(g, edges, t, &c, &n))
			goto oom;
		for (size_t i = 0; i < n; i++) {
			int r;
			if (edges) {
				struct gedge *e = copy_edge(c[i].el);
				if (!e)
					goto oom;
				/* an edge whose end fell out of history is left out */
				if ((r = graph_store_add_edge(v->s, e)))
					graph_gedge_free(e);
			} else {
				struct gnode *nd = copy_node(&c[i].el->e);
				if (!nd)
					goto oom;
				if ((r = graph_store_add_node(v->s, nd)))
					graph_gnode_free(nd);
			}
			if (r == -ENOMEM)
				goto oom;
		}
		free(c);
		c = NULL;
	}
	return v;
oom:
	free(c);
	graph_view_free(v);
	errno = ENOMEM;
	return NULL;
}

/* The time a view of at_ms shows: no older than what history still holds. */
static int64_t view_time(struct graph *g, int64_t at_ms, int *truncated)
{
	if (truncated)
		*truncated = 0;
	if (g->hdropped_to && at_ms < g->hdropped_to) {
		at_ms = g->hdropped_to;
		if (truncated)
			*truncated = 1;
	}
	return at_ms;
}

struct graph_view *graph_view_copy(struct graph *g, int64_t at_ms, int *truncated)
{
	if (at_ms <= 0) {
		/* every live element, and no revision (they all end before the end of time) */
		if (truncated)
			*truncated = 0;
		return view_past(g, INT64_MAX);
	}
	return view_past(g, view_time(g, at_ms, truncated));
}

struct graph_view *graph_view_at(struct graph *g, int64_t at_ms, int *truncated)
{
	struct graph_view *v = calloc(1, sizeof(*v));
	if (!v) {
		errno = ENOMEM;
		return NULL;
	}
	if (at_ms <= 0) {
		if (truncated)
			*truncated = 0;
		graph_store_compact(g->live);
		v->s = g->live;
		return v;
	}
	v->g = g;
	v->t = view_time(g, at_ms, truncated);
	return v;
}

static int sub_add_node(struct graph_view *sv, const struct graph_node *n)
{
	if (smap_get(&sv->s->nodes, n->e.id))
		return 0;
	struct gnode *c = copy_node(&n->e);
	if (!c)
		return -ENOMEM;
	int r = graph_store_add_node(sv->s, c);
	if (r)
		graph_gnode_free(c);
	return r;
}

static int sub_add_edge(struct graph_view *sv, const struct graph_edge *e)
{
	if (smap_get(&sv->s->edges, e->e.id))
		return 0;
	struct gedge *c = copy_edge(e);
	if (!c)
		return -ENOMEM;
	int r = graph_store_add_edge(sv->s, c);
	if (r)
		graph_gedge_free(c);
	return r == -ENOENT ? 0 : r;
}

struct graph_view *graph_view_subgraph(const struct graph_view *v,
				       const struct graph_node *const *nodes, size_t nn,
				       const struct graph_edge *const *edges, size_t ne)
{
	struct graph_view *sv = calloc(1, sizeof(*sv));
	if (!sv || !(sv->s = graph_store_new()))
		goto oom;
	sv->owned = 1;
	for (size_t i = 0; i < nn; i++)
		if (sub_add_node(sv, nodes[i]))
			goto oom;
	if (edges) {
		for (size_t i = 0; i < ne; i++) {
			const struct graph_node *p = graph_view_node_get(v, edges[i]->parent);
			const struct graph_node *c = graph_view_node_get(v, edges[i]->child);
			if ((p && sub_add_node(sv, p)) || (c && sub_add_node(sv, c)) ||
			    sub_add_edge(sv, edges[i]))
				goto oom;
		}
	} else {
		for (size_t i = 0; i < nn; i++) {
			size_t no;
			const struct graph_edge *const *out =
			    graph_view_out_edges(v, nodes[i]->e.id, &no);
			for (size_t j = 0; j < no; j++)
				if (smap_get(&sv->s->nodes, out[j]->child) && sub_add_edge(sv, out[j]))
					goto oom;
		}
	}
	return sv;
oom:
	graph_view_free(sv);
	errno = ENOMEM;
	return NULL;
}

void graph_view_free(struct graph_view *v)
{
	if (!v)
		return;
	if (v->owned)
		graph_store_free(v->s);
	if (v->g)
		graph_past_free(v);
	pvec_free(&v->scratch);
	free(v);
}

size_t graph_view_node_count(const struct graph_view *v)
{
	return v->g ? graph_past_listing(v, 0)->n : v->s->nodes.n;
}

size_t graph_view_edge_count(const struct graph_view *v)
{
	return v->g ? graph_past_listing(v, 1)->n : v->s->edges.n;
}

const struct graph_node *graph_view_node(const struct graph_view *v, size_t i)
{
	if (v->g) {
		const struct pvec *l = graph_past_listing(v, 0);
		return i < l->n ? l->v[i] : NULL;
	}
	graph_store_compact(v->s);
	return i < v->s->node_list.n ? v->s->node_list.v[i] : NULL;
}

const struct graph_edge *graph_view_edge(const struct graph_view *v, size_t i)
{
	if (v->g) {
		const struct pvec *l = graph_past_listing(v, 1);
		return i < l->n ? l->v[i] : NULL;
	}
	graph_store_compact(v->s);
	return i < v->s->edge_list.n ? v->s->edge_list.v[i] : NULL;
}

const struct graph_node *graph_view_node_get(const struct graph_view *v, const char *id)
{
	if (!id)
		return NULL;
	if (v->g)
		return graph_past_node(v, id, NULL);
	struct gnode *n = smap_get(&v->s->nodes, id);
	return n ? &n->pub : NULL;
}

const struct graph_edge *graph_view_edge_get(const struct graph_view *v, const char *id)
{
	if (!id)
		return NULL;
	if (v->g)
		return graph_past_edge(v, id);
	struct gedge *e = smap_get(&v->s->edges, id);
	return e ? &e->pub : NULL;
}

/* struct gedge starts with its graph_edge, so the adjacency array (of gedge pointers) is
 * handed out as an array of graph_edge pointers. */
const struct graph_edge *const *graph_view_out_edges(const struct graph_view *v,
						     const char *node_id, size_t *n)
{
	if (v->g && node_id)
		return graph_past_adj((struct graph_view *)v, node_id, 0, n);
	struct gnode *nd = node_id ? smap_get(&v->s->nodes, node_id) : NULL;
	*n = nd ? nd->out.n : 0;
	return nd ? (const struct graph_edge *const *)nd->out.v : NULL;
}

const struct graph_edge *const *graph_view_in_edges(const struct graph_view *v,
						    const char *node_id, size_t *n)
{
	if (v->g && node_id)
		return graph_past_adj((struct graph_view *)v, node_id, 1, n);
	struct gnode *nd = node_id ? smap_get(&v->s->nodes, node_id) : NULL;
	*n = nd ? nd->in.n : 0;
	return nd ? (const struct graph_edge *const *)nd->in.v : NULL;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct gnode *x = *(const struct gnode *const *)a;
	const struct gnode *y = *(const struct gnode *const *)b;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int json_has_string(const json_t *v, const char *value)
{
	if (json_is_string(v))
		return strcmp(json_string_value(v), value) == 0;
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) if (json_is_string(x) &&
						strcmp(json_string_value(x), value) == 0) return 1;
	}
	return 0;
}

const struct graph_node *const *graph_view_nodes_by(const struct graph_view *v, const char *key,
						    const char *value, size_t *n)
{
	struct pvec *out = &((struct graph_view *)v)->scratch;
	out->n = 0;
	*n = 0;
	if (!key || !value)
		return NULL;
	int ix = graph_idx_of(key);
	if (v->g && ix >= 0)
		return graph_past_nodes_by((struct graph_view *)v, ix, value, n);
	if (v->g) {
		const struct pvec *l = graph_past_listing(v, 0);
		for (size_t i = 0; i < l->n; i++) {
			const struct graph_node *nd = l->v[i];
			if (json_has_string(json_object_get(nd->e.metadata, key), value) &&
			    pvec_push(out, (void *)nd))
				return NULL;
		}
		*n = out->n;
		return (const struct graph_node *const *)out->v;
	}
	graph_store_compact(v->s);
	if (ix >= 0) {
		struct ibucket *b = smap_get(&v->s->idx[ix], value);
		if (!b)
			return NULL;
		for (size_t i = 0; i < b->nodes.n; i++)
			if (pvec_push(out, b->nodes.v[i]))
				return NULL;
		/* buckets lose their order on removal; hand them out in listing order */
		qsort(out->v, out->n, sizeof(void *), slot_cmp);
	} else {
		for (size_t i = 0; i < v->s->node_list.n; i++) {
			struct gnode *nd = v->s->node_list.v[i];
			if (json_has_string(json_object_get(nd->pub.e.metadata, key), value) &&
			    pvec_push(out, nd))
				return NULL;
		}
	}
	*n = out->n;
	return (const struct graph_node *const *)out->v;
}

size_t graph_view_node_pos(const struct graph_view *v, const struct graph_node *n)
{
	if (v->g) {
		/* tests only: a lazy view has no slot to read */
		const struct pvec *l = graph_past_listing(v, 0);
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i] == n)
				return i;
		return l->n;
	}
	return ((const struct gnode *)(const void *)n)->slot;
}
