/* sub_filter.c - a subscriber's Gremlin filter: the set of element IDs it selects, its
 * difference after a change, and partial update ops (sub_filter.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/sub_filter.h"
#include "common/pvec.h"
#include "common/smap.h"

/* IDs, each a malloc'd string that is both key and value of the map. */
struct idset {
	struct smap m;
};

struct sub_filter {
	char *text;
	struct gremlin_query *q;
	struct idset nodes, edges;
};

static void idset_free(struct idset *s)
{
	for (size_t i = 0; i < s->m.cap; i++)
		free(s->m.slots[i].val);
	smap_free(&s->m);
}

static int idset_add(struct idset *s, const char *id)
{
	if (smap_get(&s->m, id))
		return 0;
	char *c = strdup(id);
	if (!c)
		return -ENOMEM;
	int r = smap_put(&s->m, c, c);
	if (r)
		free(c);
	return r;
}

struct sub_filter *sub_filter_new(const char *text, struct gremlin_error *err)
{
	struct sub_filter *f = calloc(1, sizeof(*f));
	if (!f || !(f->text = strdup(text))) {
		free(f);
		err->pos = 0;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	if (!(f->q = gremlin_parse(text, err))) {
		free(f->text);
		free(f);
		return NULL;
	}
	return f;
}

void sub_filter_free(struct sub_filter *f)
{
	if (!f)
		return;
	gremlin_query_free(f->q);
	idset_free(&f->nodes);
	idset_free(&f->edges);
	free(f->text);
	free(f);
}

const char *sub_filter_text(const struct sub_filter *f)
{
	return f->text;
}

int sub_filter_has(const struct sub_filter *f, int is_edge, const char *id)
{
	return smap_get(is_edge ? &f->edges.m : &f->nodes.m, id) != NULL;
}

void sub_filter_forget(struct sub_filter *f, int is_edge, const char *id)
{
	free(smap_del(is_edge ? &f->edges.m : &f->nodes.m, id));
}

/* One evaluation: the new sets, and the JSON of the elements wanted (all of them for a
 * SyncReply, the added ones for a difference). */
struct collect {
	struct idset nodes, edges;
	const struct sub_filter *old; /* NULL: every element goes to the JSON */
	int ids;                      /* build the sets */
	json_t *jn, *je;
};

static int collect_fn(void *user, const struct graph_node *n, const struct graph_edge *e)
{
	struct collect *c = user;
	const char *id = n ? n->e.id : e->e.id;
	struct idset *set = n ? &c->nodes : &c->edges;
	if (c->ids && idset_add(set, id))
		return -ENOMEM;
	if (c->old && sub_filter_has(c->old, !n, id))
		return 0;
	json_t *j = n ? graph_node_to_json(n) : graph_edge_to_json(e);
	if (!j || json_array_append_new(n ? c->jn : c->je, j))
		return -ENOMEM;
	return 0;
}

static int collect_run(struct sub_filter *f, const struct graph_view *v, int64_t now_ms,
                       struct collect *c, struct gremlin_error *err)
{
	struct gremlin_env env = {.now_ms = now_ms};
	c->jn = json_array();
	c->je = json_array();
	int r = c->jn && c->je ? gremlin_eval_elements(f->q, v, &env, collect_fn, c, err)
	                       : -ENOMEM;
	if (r == -ENOMEM) {
		err->pos = 0;
		snprintf(err->msg, sizeof(err->msg), "out of memory evaluating the filter");
	}
	if (r) {
		idset_free(&c->nodes);
		idset_free(&c->edges);
		json_decref(c->jn);
		json_decref(c->je);
		c->jn = c->je = NULL;
	}
	return r;
}

static void collect_keep(struct sub_filter *f, struct collect *c)
{
	idset_free(&f->nodes);
	idset_free(&f->edges);
	f->nodes = c->nodes;
	f->edges = c->edges;
}

json_t *sub_filter_graph(struct sub_filter *f, const struct graph_view *v, int64_t now_ms,
                         int remember, struct gremlin_error *err)
{
	struct collect c = {.ids = remember};
	if (collect_run(f, v, now_ms, &c, err))
		return NULL;
	if (remember)
		collect_keep(f, &c);
	json_t *g = json_pack("{s:o, s:o}", "Nodes", c.jn, "Edges", c.je);
	if (!g) {
		err->pos = 0;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
	}
	return g;
}

/* Elements of the old set missing from the new one, as they are now (or {"ID"}). */
static void emit_removed(const struct idset *old, const struct idset *cur, int is_edge,
                         const struct graph_view *live, sub_emit_fn emit, void *user)
{
	for (size_t i = 0; i < old->m.cap; i++) {
		const char *id = old->m.slots[i].val;
		if (!id || smap_get(&cur->m, id))
			continue;
		json_t *j;
		if (is_edge) {
			const struct graph_edge *e = graph_view_edge_get(live, id);
			j = e ? graph_edge_to_json(e) : json_pack("{s:s}", "ID", id);
		} else {
			const struct graph_node *n = graph_view_node_get(live, id);
			j = n ? graph_node_to_json(n) : json_pack("{s:s}", "ID", id);
		}
		if (j)
			emit(user, is_edge ? "EdgeDeleted" : "NodeDeleted", j);
	}
}

static void emit_all(json_t *arr, const char *type, sub_emit_fn emit, void *user)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) emit(user, type, json_incref(x));
}

int sub_filter_update(struct sub_filter *f, const struct graph_view *live, int64_t now_ms,
                      sub_emit_fn emit, void *user, struct gremlin_error *err)
{
	struct collect c = {.ids = 1, .old = f};
	int r = collect_run(f, live, now_ms, &c, err);
	if (r)
		return r;
	emit_removed(&f->edges, &c.edges, 1, live, emit, user);
	emit_removed(&f->nodes, &c.nodes, 0, live, emit, user);
	emit_all(c.jn, "NodeAdded", emit, user);
	emit_all(c.je, "EdgeAdded", emit, user);
	json_decref(c.jn);
	json_decref(c.je);
	collect_keep(f, &c);
	return 0;
}

json_t *sub_partial_ops(const json_t *old_md, const json_t *new_md)
{
	json_t *ops = json_array();
	const char *k;
	json_t *v;
	if (!ops)
		return NULL;
	json_object_foreach((json_t *)new_md, k, v)
	{
		json_t *o = json_object_get(old_md, k);
		if (o && json_equal(o, v))
			continue;
		/* an op's Key is a dotted path: a top-level "a.b" would land in {"a":{"b"}} */
		if (strchr(k, '.')) {
			json_decref(ops);
			return NULL;
		}
		if (json_array_append_new(ops, json_pack("{s:i, s:s, s:O}", "Type", 1, "Key", k,
		                                         "Value", v))) {
			json_decref(ops);
			return NULL;
		}
	}
	json_object_foreach((json_t *)old_md, k, v)
	{
		if (json_object_get(new_md, k))
			continue;
		if (strchr(k, '.') ||
		    json_array_append_new(ops, json_pack("{s:i, s:s}", "Type", 2, "Key", k))) {
			json_decref(ops);
			return NULL;
		}
	}
	return ops;
}

json_t *sub_partial_obj(const struct graph_elem *e, json_t *ops)
{
	return json_pack("{s:s, s:I, s:I, s:o}", "ID", e->id, "UpdatedAt",
	                 (json_int_t)e->updated_at, "Revision", (json_int_t)e->revision, "Ops",
	                 ops);
}
