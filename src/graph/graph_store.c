/* graph_store.c - the graph's elements and the store that holds them: ID maps, the listing
 * in insertion order, adjacency lists; the live graph and every copied view have one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_int.h"

/* ---- elements -------------------------------------------------------------- */

void graph_elem_free_fields(struct graph_elem *e)
{
	free(e->id);
	free(e->host);
	free(e->origin);
	json_decref(e->metadata);
}

void graph_gnode_free(struct gnode *n)
{
	if (!n)
		return;
	graph_elem_free_fields(&n->pub.e);
	pvec_free(&n->out);
	pvec_free(&n->in);
	free(n->refs);
	free(n);
}

void graph_gedge_free(struct gedge *e)
{
	if (!e)
		return;
	graph_elem_free_fields(&e->pub.e);
	free(e->pub.parent);
	free(e->pub.child);
	free(e);
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

int graph_elem_init(struct graph_elem *e, const char *id, json_t *md, const char *host,
		    const char *origin)
{
	e->id = xstrdup(id);
	e->host = xstrdup(host);
	e->origin = xstrdup(origin);
	e->metadata = md;
	if (!e->id || !e->host || !e->origin)
		return -ENOMEM;
	return 0;
}

/* ---- the store: maps, lists, adjacency ------------------------------------ */

struct graph_store *graph_store_new(void)
{
	return calloc(1, sizeof(struct graph_store));
}

void graph_store_free(struct graph_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->edge_list.n; i++)
		graph_gedge_free(s->edge_list.v[i]);
	for (size_t i = 0; i < s->node_list.n; i++) {
		struct gnode *n = s->node_list.v[i];
		if (n)
			graph_idx_remove_node(s, n);
		graph_gnode_free(n);
	}
	pvec_free(&s->node_list);
	pvec_free(&s->edge_list);
	smap_free(&s->nodes);
	smap_free(&s->edges);
	for (int i = 0; i < GRAPH_NIDX; i++)
		smap_free(&s->idx[i]);
	free(s);
}

/* Removed elements leave NULL holes so the listing keeps insertion order;
 * they are squeezed out before anyone reads by position. */
void graph_store_compact(struct graph_store *s)
{
	if (s->node_holes) {
		size_t j = 0;
		for (size_t i = 0; i < s->node_list.n; i++) {
			struct gnode *n = s->node_list.v[i];
			if (n) {
				n->slot = j;
				s->node_list.v[j++] = n;
			}
		}
		s->node_list.n = j;
		s->node_holes = 0;
	}
	if (s->edge_holes) {
		size_t j = 0;
		for (size_t i = 0; i < s->edge_list.n; i++) {
			struct gedge *e = s->edge_list.v[i];
			if (e) {
				e->slot = j;
				s->edge_list.v[j++] = e;
			}
		}
		s->edge_list.n = j;
		s->edge_holes = 0;
	}
}

int graph_store_add_node(struct graph_store *s, struct gnode *n)
{
	int r = smap_put(&s->nodes, n->pub.e.id, n);
	if (r)
		return r;
	if (graph_idx_add_node(s, n) || pvec_push(&s->node_list, n)) {
		graph_idx_remove_node(s, n);
		smap_del(&s->nodes, n->pub.e.id);
		return -ENOMEM;
	}
	n->slot = s->node_list.n - 1;
	return 0;
}

void graph_store_unlink_node(struct graph_store *s, struct gnode *n)
{
	graph_idx_remove_node(s, n);
	smap_del(&s->nodes, n->pub.e.id);
	s->node_list.v[n->slot] = NULL;
	s->node_holes++;
	/* keep the holes bounded when nobody reads the list for a while */
	if (s->node_holes > 64 && s->node_holes > s->node_list.n / 2)
		graph_store_compact(s);
}

int graph_store_add_edge(struct graph_store *s, struct gedge *e)
{
	struct gnode *p = smap_get(&s->nodes, e->pub.parent);
	struct gnode *c = smap_get(&s->nodes, e->pub.child);
	if (!p || !c)
		return -ENOENT;
	int r = smap_put(&s->edges, e->pub.e.id, e);
	if (r)
		return r;
	if (pvec_push(&p->out, e))
		goto fail1;
	if (pvec_push(&c->in, e))
		goto fail2;
	if (pvec_push(&s->edge_list, e))
		goto fail3;
	e->out_pos = p->out.n - 1;
	e->in_pos = c->in.n - 1;
	e->slot = s->edge_list.n - 1;
	return 0;
fail3:
	c->in.n--;
fail2:
	p->out.n--;
fail1:
	smap_del(&s->edges, e->pub.e.id);
	return -ENOMEM;
}

void graph_store_unlink_edge(struct graph_store *s, struct gedge *e)
{
	struct gnode *p = smap_get(&s->nodes, e->pub.parent);
	struct gnode *c = smap_get(&s->nodes, e->pub.child);
	/* swap-remove from the adjacency lists: O(1) even for a hub node */
	if (p) {
		struct gedge *m = p->out.v[--p->out.n];
		if (m != e) {
			p->out.v[e->out_pos] = m;
			m->out_pos = e->out_pos;
		}
	}
	if (c) {
		struct gedge *m = c->in.v[--c->in.n];
		if (m != e) {
			c->in.v[e->in_pos] = m;
			m->in_pos = e->in_pos;
		}
	}
	smap_del(&s->edges, e->pub.e.id);
	s->edge_list.v[e->slot] = NULL;
	s->edge_holes++;
	if (s->edge_holes > 64 && s->edge_holes > s->edge_list.n / 2)
		graph_store_compact(s);
}
