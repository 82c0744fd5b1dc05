/* graph_history.c - the graph's history: replaced and deleted revisions, bounded by age and
 * bytes, with queues per ID, edge end and index value from which past views are answered. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_int.h"

/* ---- history ------------------------------------------------------------------ */

static void hrec_free(struct graph_hrec *h)
{
	graph_elem_free_fields(&h->el.e);
	free(h->el.parent);
	free(h->el.child);
	free(h);
}

/* Rough heap footprint of a JSON value: enough to bound history by bytes. */
static size_t json_size_estimate(const json_t *v)
{
	size_t sz = 48;
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x) sz += 48 + strlen(k) + json_size_estimate(x);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x) sz += 8 + json_size_estimate(x);
	} else if (json_is_string(v)) {
		sz += json_string_length(v);
	}
	return sz;
}

static int hq_push(struct smap *m, const char *key, struct graph_hrec *h)
{
	struct graph_hq *q = smap_get(m, key);
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q || !(q->key = strdup(key)) || smap_put(m, q->key, q)) {
			if (q)
				free(q->key);
			free(q);
			return -ENOMEM;
		}
	}
	/* an array repeating a value lists the revision once */
	if (q->v.n > q->head && q->v.v[q->v.n - 1] == h)
		return 0;
	return pvec_push(&q->v, h);
}

/* h is the oldest revision of the queue unless pushing it failed (out of memory): then it
 * is not there and nothing goes. */
static void hq_pop(struct smap *m, const char *key, struct graph_hrec *h)
{
	struct graph_hq *q = smap_get(m, key);
	if (!q || q->head >= q->v.n || q->v.v[q->head] != h)
		return;
	q->head++;
	if (q->head == q->v.n) {
		smap_del(m, q->key);
		free(q->key);
		pvec_free(&q->v);
		free(q);
	} else if (q->head >= 16 && q->head * 2 >= q->v.n) {
		memmove(q->v.v, q->v.v + q->head, (q->v.n - q->head) * sizeof(void *));
		q->v.n -= q->head;
		q->head = 0;
	}
}

static void hq_free_map(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		struct graph_hq *q = m->slots[i].val;
		if (q) {
			free(q->key);
			pvec_free(&q->v);
			free(q);
		}
	}
	smap_free(m);
}

struct hq_ctx {
	struct smap *m;
	struct graph_hrec *h;
	int pop;
};

static int hq_cb(void *ctx, const char *value)
{
	struct hq_ctx *c = ctx;
	if (c->pop) {
		hq_pop(c->m, value, c->h);
		return 0;
	}
	/* out of memory: this revision is missing from one queue, and views miss it there */
	(void)hq_push(c->m, value, c->h);
	return 0;
}

/* Files h in (pop = 0) or out of (pop = 1) the history's queues. */
static void hq_index(struct graph *g, struct graph_hrec *h, int pop)
{
	struct hq_ctx c = {NULL, h, pop};
	if (h->is_edge) {
		const char *keys[3] = {h->el.e.id, h->el.parent, h->el.child};
		for (int i = 0; i < 3; i++) {
			c.m = &g->hq[GRAPH_HQ_EDGE + i];
			hq_cb(&c, keys[i]);
		}
		return;
	}
	c.m = &g->hq[GRAPH_HQ_NODE];
	hq_cb(&c, h->el.e.id);
	for (int ix = 0; ix < GRAPH_NIDX; ix++) {
		json_t *v = json_object_get(h->el.e.metadata, graph_index_keys[ix]);
		c.m = &g->hq[GRAPH_HQ_KEY0 + ix];
		if (v)
			graph_idx_values(ix, v, hq_cb, &c);
	}
}

static void history_prune(struct graph *g, int64_t now_ms)
{
	while (g->hhead && (g->hhead->to < now_ms - g->max_age_ms || g->hbytes > g->max_bytes)) {
		struct graph_hrec *h = g->hhead;
		g->hhead = h->next;
		if (!g->hhead)
			g->htail = NULL;
		if (h->to > g->hdropped_to)
			g->hdropped_to = h->to;
		g->hcount--;
		g->hbytes -= h->bytes;
		hq_index(g, h, 1);
		hrec_free(h);
	}
}

/* Takes ownership of the fields in *el (a copy or the dying element's own). */
void graph_history_push(struct graph *g, int is_edge, const struct graph_edge *el, int64_t to)
{
	struct graph_hrec *h = calloc(1, sizeof(*h));
	if (!h) {
		/* Out of memory: that revision is forgotten; views of its time are incomplete. */
		struct graph_hrec tmp = {.el = *el};
		graph_elem_free_fields(&tmp.el.e);
		free(tmp.el.parent);
		free(tmp.el.child);
		if (to > g->hdropped_to)
			g->hdropped_to = to;
		return;
	}
	h->is_edge = is_edge;
	h->el = *el;
	h->from = el->e.updated_at;
	h->to = to;
	h->bytes = sizeof(*h) + strlen(el->e.id) + strlen(el->e.host) + strlen(el->e.origin) +
		   (is_edge ? strlen(el->parent) + strlen(el->child) : 0) +
		   json_size_estimate(el->e.metadata);
	if (g->htail)
		g->htail->next = h;
	else
		g->hhead = h;
	g->htail = h;
	g->hcount++;
	g->hbytes += h->bytes;
	h->seq = g->hseq++;
	hq_index(g, h, 0);
	history_prune(g, to);
}

/* Records the revision about to be replaced: copies of the strings, the old metadata itself
 * (the element gets a new object, metadata is never changed in place). */
void graph_history_push_replaced(struct graph *g, int is_edge, const struct graph_elem *e,
				 const struct graph_edge *ed, json_t *old_md, int64_t to)
{
	struct graph_edge el = {0};
	el.e = *e;
	el.e.metadata = old_md;
	el.e.id = strdup(e->id);
	el.e.host = strdup(e->host);
	el.e.origin = strdup(e->origin);
	if (is_edge) {
		el.parent = strdup(ed->parent);
		el.child = strdup(ed->child);
	}
	if (!el.e.id || !el.e.host || !el.e.origin || (is_edge && (!el.parent || !el.child))) {
		graph_elem_free_fields(&el.e);
		free(el.parent);
		free(el.child);
		if (to > g->hdropped_to)
			g->hdropped_to = to;
		return;
	}
	graph_history_push(g, is_edge, &el, to);
}

const json_t *graph_replaced_metadata(const struct graph *g, const struct graph_elem *e)
{
	/* the revision just replaced is the newest history record */
	const struct graph_hrec *h = g->htail;
	if (!h || h->el.e.revision != e->revision - 1 || strcmp(h->el.e.id, e->id))
		return NULL;
	return h->el.e.metadata;
}

void graph_history_note_time(struct graph *g, int64_t now_ms)
{
	if (!g->first_ms || now_ms < g->first_ms)
		g->first_ms = now_ms;
}

void graph_history_free(struct graph *g)
{
	for (struct graph_hrec *h = g->hhead, *nx; h; h = nx) {
		nx = h->next;
		hrec_free(h);
	}
	for (int i = 0; i < GRAPH_HQ_N; i++)
		hq_free_map(&g->hq[i]);
}

void graph_history_expire(struct graph *g, int64_t now_ms)
{
	history_prune(g, now_ms);
}

int graph_history_restore(struct graph *g, const json_t *obj, int64_t to_ms)
{
	const char *id = json_string_value(json_object_get(obj, "ID"));
	json_t *md = json_object_get(obj, "Metadata");
	json_t *upd = json_object_get(obj, "UpdatedAt");
	const char *parent = json_string_value(json_object_get(obj, "Parent"));
	const char *child = json_string_value(json_object_get(obj, "Child"));
	int is_edge = parent != NULL;
	if (!id || !json_is_object(md) || !json_is_integer(upd) || json_integer_value(upd) > to_ms ||
	    (is_edge && !child))
		return -EINVAL;
	struct graph_edge el = {0};
	/* edges' {"RelationType": ...} shared as live ones are (graph_md_intern wants its own copy) */
	json_t *own = is_edge && json_object_size(md) <= 2 ? json_deep_copy(md) : NULL;
	el.e.metadata = own ? graph_md_intern(g, own) : json_incref(md);
	el.e.created_at = json_integer_value(json_object_get(obj, "CreatedAt"));
	el.e.updated_at = json_integer_value(upd);
	el.e.deleted_at = json_integer_value(json_object_get(obj, "DeletedAt"));
	el.e.revision = json_integer_value(json_object_get(obj, "Revision"));
	const char *host = json_string_value(json_object_get(obj, "Host"));
	const char *origin = json_string_value(json_object_get(obj, "Origin"));
	if (graph_elem_init(&el.e, id, el.e.metadata, host, origin) ||
	    (is_edge && (!(el.parent = strdup(parent)) || !(el.child = strdup(child))))) {
		graph_elem_free_fields(&el.e);
		free(el.parent);
		free(el.child);
		return -ENOMEM;
	}
	graph_history_note_time(g, el.e.updated_at);
	graph_history_push(g, is_edge, &el, to_ms);
	return 0;
}
