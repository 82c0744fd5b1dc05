/* graph.c - the topology graph: the object, its lock and listeners, the mutations, which
 * keep the live store and the history (graph_history.c) together, and its accounting. */
#include "graph/graph.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_dotted.h"
#include "graph/graph_int.h"

/* ---- the graph --------------------------------------------------------------- */

const char *graph_event_name(enum graph_event ev)
{
	switch (ev) {
	case GRAPH_NODE_ADDED:
		return "NodeAdded";
	case GRAPH_NODE_UPDATED:
		return "NodeUpdated";
	case GRAPH_NODE_DELETED:
		return "NodeDeleted";
	case GRAPH_EDGE_ADDED:
		return "EdgeAdded";
	case GRAPH_EDGE_UPDATED:
		return "EdgeUpdated";
	case GRAPH_EDGE_DELETED:
		return "EdgeDeleted";
	}
	return "Unknown";
}

struct graph *graph_new(const struct graph_opts *o)
{
	struct graph *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->live = graph_store_new();
	if (!g->live) {
		free(g);
		return NULL;
	}
	/* Readers first (glibc's default, said explicitly): a reader that arrives while a
	 * writer waits behind a long query still gets in, so short reads never queue behind
	 * a query (the analyzer orders its queries after the messages before them itself:
	 * analyzer/graph_writer.h). */
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_READER_NP);
	pthread_rwlock_init(&g->mu, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&g->compact, NULL);
	g->max_age_ms = o && o->history_max_age_ms > 0 ? o->history_max_age_ms : 3600 * 1000;
	g->max_bytes = o && o->history_max_bytes > 0 ? o->history_max_bytes : 64u << 20;
	return g;
}

void graph_free(struct graph *g)
{
	if (!g)
		return;
	graph_store_free(g->live);
	for (size_t i = 0; i < g->md_cache.cap; i++) {
		struct smap_slot *sl = &g->md_cache.slots[i];
		if (sl->val) {
			free((char *)sl->key);
			json_decref(sl->val);
		}
	}
	smap_free(&g->md_cache);
	graph_history_free(g);
	free(g->listeners);
	pthread_rwlock_destroy(&g->mu);
	pthread_mutex_destroy(&g->compact);
	free(g);
}

void graph_lock(struct graph *g)
{
	pthread_rwlock_wrlock(&g->mu);
}

void graph_rdlock(struct graph *g)
{
	pthread_rwlock_rdlock(&g->mu);
	/* Views read the live lists by position, and compact them first: done here, once,
	 * so that readers sharing the lock find nothing left to write. */
	pthread_mutex_lock(&g->compact);
	graph_store_compact(g->live);
	pthread_mutex_unlock(&g->compact);
}

void graph_unlock(struct graph *g)
{
	pthread_rwlock_unlock(&g->mu);
}

int graph_listener_add(struct graph *g, graph_listener_fn fn, void *user)
{
	struct graph_listener *nl = realloc(g->listeners, (g->nlisteners + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	g->listeners = nl;
	int id = ++g->next_listener_id;
	nl[g->nlisteners++] = (struct graph_listener){id, fn, user};
	return id;
}

void graph_listener_remove(struct graph *g, int id)
{
	for (size_t i = 0; i < g->nlisteners; i++)
		if (g->listeners[i].id == id) {
			memmove(&g->listeners[i], &g->listeners[i + 1],
				(g->nlisteners - i - 1) * sizeof(*g->listeners));
			g->nlisteners--;
			return;
		}
}

static void notify(struct graph *g, enum graph_event ev, const struct graph_node *n,
		   const struct graph_edge *e)
{
	for (size_t i = 0; i < g->nlisteners; i++)
		g->listeners[i].fn(g->listeners[i].user, ev, n, e);
}

/* ---- mutations ------------------------------------------------------------------ */

int graph_node_add(struct graph *g, const char *id, json_t *metadata, const char *host,
		   const char *origin, int64_t now_ms)
{
	if (!id) {
		json_decref(metadata);
		return -EINVAL;
	}
	if (smap_get(&g->live->nodes, id)) {
		json_decref(metadata);
		return -EEXIST;
	}
	if (!metadata)
		metadata = json_object();
	struct gnode *n = calloc(1, sizeof(*n));
	if (!n) {
		json_decref(metadata);
		return -ENOMEM;
	}
	if (!metadata || graph_elem_init(&n->pub.e, id, metadata, host, origin)) {
		n->pub.e.metadata = metadata;
		graph_gnode_free(n);
		return -ENOMEM;
	}
	n->pub.e.created_at = n->pub.e.updated_at = now_ms;
	n->pub.e.revision = 1;
	int r = graph_store_add_node(g->live, n);
	if (r) {
		graph_gnode_free(n);
		return r;
	}
	graph_history_note_time(g, now_ms);
	notify(g, GRAPH_NODE_ADDED, &n->pub, NULL);
	return 0;
}

static int node_replace_md(struct graph *g, struct gnode *n, json_t *md, int64_t now_ms)
{
	json_t *old = n->pub.e.metadata;
	if (json_equal(old, md)) {
		json_decref(md);
		return 0;
	}
	graph_idx_remove_node(g->live, n);
	n->pub.e.metadata = md;
	graph_history_push_replaced(g, 0, &n->pub.e, NULL, old, now_ms);
	n->pub.e.updated_at = now_ms;
	n->pub.e.revision++;
	/* out of memory: the node stays, unindexed until its next change */
	(void)graph_idx_add_node(g->live, n);
	notify(g, GRAPH_NODE_UPDATED, &n->pub, NULL);
	return 0;
}

int graph_node_set_metadata(struct graph *g, const char *id, json_t *metadata, int64_t now_ms)
{
	struct gnode *n = id ? smap_get(&g->live->nodes, id) : NULL;
	if (!n) {
		json_decref(metadata);
		return -ENOENT;
	}
	if (!json_is_object(metadata)) {
		json_decref(metadata);
		return -EINVAL;
	}
	return node_replace_md(g, n, metadata, now_ms);
}

int graph_node_set_key(struct graph *g, const char *id, const char *key, json_t *value,
		       int64_t now_ms)
{
	struct gnode *n = id && key ? smap_get(&g->live->nodes, id) : NULL;
	if (!n) {
		json_decref(value);
		return -ENOENT;
	}
	/* a new revision: the live metadata copied along the key's path only (the rest is
	 * shared with the revision that goes to history), the value stolen */
	json_t *md = json_copy(n->pub.e.metadata);
	if (!md) {
		json_decref(value);
		return -ENOMEM;
	}
	if (json_dotted_set_cow(md, key, value)) {
		json_decref(md);
		return -ENOMEM;
	}
	return node_replace_md(g, n, md, now_ms);
}

static void edge_delete(struct graph *g, struct gedge *e, int64_t now_ms)
{
	graph_store_unlink_edge(g->live, e);
	e->pub.e.deleted_at = now_ms;
	notify(g, GRAPH_EDGE_DELETED, NULL, &e->pub);
	/* the element itself becomes its last revision in history */
	graph_history_push(g, 1, &e->pub, now_ms);
	free(e);
}

static void node_delete(struct graph *g, struct gnode *n, int64_t now_ms)
{
	while (n->out.n)
		edge_delete(g, n->out.v[n->out.n - 1], now_ms);
	while (n->in.n)
		edge_delete(g, n->in.v[n->in.n - 1], now_ms);
	graph_store_unlink_node(g->live, n);
	n->pub.e.deleted_at = now_ms;
	notify(g, GRAPH_NODE_DELETED, &n->pub, NULL);
	struct graph_edge el = {.e = n->pub.e};
	graph_history_push(g, 0, &el, now_ms);
	pvec_free(&n->out);
	pvec_free(&n->in);
	free(n->refs);
	free(n);
}

int graph_node_delete(struct graph *g, const char *id, int64_t now_ms)
{
	struct gnode *n = id ? smap_get(&g->live->nodes, id) : NULL;
	if (!n)
		return -ENOENT;
	node_delete(g, n, now_ms);
	return 0;
}

/* The shared copy of a small all-string object equal to md (stealing md), or md itself. */
json_t *graph_md_intern(struct graph *g, json_t *md)
{
	if (!json_is_object(md) || json_object_size(md) > 2 || md->refcount != 1)
		return md;
	char key[160];
	size_t len = 0;
	const char *k;
	json_t *v;
	json_object_foreach(md, k, v)
	{
		if (!json_is_string(v))
			return md;
		int w = snprintf(key + len, sizeof(key) - len, "%s\x1f%s\x1e", k,
				 json_string_value(v));
		if (w < 0 || (size_t)w >= sizeof(key) - len)
			return md;
		len += (size_t)w;
	}
	json_t *shared = smap_get(&g->md_cache, key);
	if (shared) {
		/* same text with the keys in the same order: equal objects */
		json_decref(md);
		return json_incref(shared);
	}
	if (g->md_cache.n >= 4096)
		return md;
	char *kc = strdup(key);
	if (!kc || smap_put(&g->md_cache, kc, json_incref(md))) {
		free(kc);
		json_decref(md); /* the reference taken for the cache */
	}
	return md;
}

int graph_edge_add(struct graph *g, const char *id, const char *parent, const char *child,
		   json_t *metadata, const char *host, const char *origin, int64_t now_ms)
{
	if (!id || !parent || !child) {
		json_decref(metadata);
		return -EINVAL;
	}
	if (smap_get(&g->live->edges, id)) {
		json_decref(metadata);
		return -EEXIST;
	}
	if (!smap_get(&g->live->nodes, parent) || !smap_get(&g->live->nodes, child)) {
		json_decref(metadata);
		return -ENOENT;
	}
	if (!metadata)
		metadata = json_object();
	metadata = graph_md_intern(g, metadata);
	struct gedge *e = calloc(1, sizeof(*e));
	if (!e) {
		json_decref(metadata);
		return -ENOMEM;
	}
	if (!metadata || graph_elem_init(&e->pub.e, id, metadata, host, origin) ||
	    !(e->pub.parent = strdup(parent)) || !(e->pub.child = strdup(child))) {
		e->pub.e.metadata = metadata;
		graph_gedge_free(e);
		return -ENOMEM;
	}
	e->pub.e.created_at = e->pub.e.updated_at = now_ms;
	e->pub.e.revision = 1;
	int r = graph_store_add_edge(g->live, e);
	if (r) {
		graph_gedge_free(e);
		return r;
	}
	graph_history_note_time(g, now_ms);
	notify(g, GRAPH_EDGE_ADDED, NULL, &e->pub);
	return 0;
}

int graph_edge_set_metadata(struct graph *g, const char *id, json_t *metadata, int64_t now_ms)
{
	struct gedge *e = id ? smap_get(&g->live->edges, id) : NULL;
	if (!e) {
		json_decref(metadata);
		return -ENOENT;
	}
	if (!json_is_object(metadata)) {
		json_decref(metadata);
		return -EINVAL;
	}
	json_t *old = e->pub.e.metadata;
	if (json_equal(old, metadata)) {
		json_decref(metadata);
		return 0;
	}
	e->pub.e.metadata = metadata;
	graph_history_push_replaced(g, 1, &e->pub.e, &e->pub, old, now_ms);
	e->pub.e.updated_at = now_ms;
	e->pub.e.revision++;
	notify(g, GRAPH_EDGE_UPDATED, NULL, &e->pub);
	return 0;
}

int graph_edge_delete(struct graph *g, const char *id, int64_t now_ms)
{
	struct gedge *e = id ? smap_get(&g->live->edges, id) : NULL;
	if (!e)
		return -ENOENT;
	edge_delete(g, e, now_ms);
	return 0;
}

int graph_delete_by_host(struct graph *g, const char *value, int by_origin, int64_t now_ms)
{
	struct graph_store *s = g->live;
	size_t before = s->nodes.n + s->edges.n;
	/* Edges first (a node's deletion takes its edges along), then nodes; collect the
	 * IDs first because deleting changes the lists under us. */
	struct pvec ids = {0};
	for (int pass = 0; pass < 2; pass++) {
		struct pvec *list = pass ? &s->node_list : &s->edge_list;
		for (size_t i = 0; i < list->n; i++) {
			struct graph_elem *e = list->v[i];
			if (!e)
				continue;
			const char *v = by_origin ? e->origin : e->host;
			if (strcmp(v, value) == 0) {
				char *id = strdup(e->id);
				if (!id || pvec_push(&ids, id)) {
					free(id);
					break;
				}
			}
		}
		for (size_t i = 0; i < ids.n; i++) {
			if (pass)
				graph_node_delete(g, ids.v[i], now_ms);
			else
				graph_edge_delete(g, ids.v[i], now_ms);
			free(ids.v[i]);
		}
		ids.n = 0;
	}
	pvec_free(&ids);
	return (int)(before - (s->nodes.n + s->edges.n));
}

/* ---- accounting ------------------------------------------------------------------ */

void graph_stats(struct graph *g, struct graph_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->nodes = g->live->nodes.n;
	out->edges = g->live->edges.n;
	out->history_revisions = g->hcount;
	out->history_bytes = g->hbytes;
	out->history_oldest_ms = g->hdropped_to ? g->hdropped_to : g->first_ms;
	out->history_max_age_ms = g->max_age_ms;
	out->history_max_bytes = g->max_bytes;
}
