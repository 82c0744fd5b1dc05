/* graph.c - the topology graph: ID maps, adjacency, secondary indexes, listeners, and the
 * history of replaced revisions from which views of a past time are built. */
#include "graph/graph.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_dotted.h"
#include "graph/graph_int.h"

/* ---- elements -------------------------------------------------------------- */

static void elem_free_fields(struct graph_elem *e)
{
	free(e->id);
	free(e->host);
	free(e->origin);
	json_decref(e->metadata);
}

static void gnode_free(struct gnode *n)
{
	if (!n)
		return;
	elem_free_fields(&n->pub.e);
	pvec_free(&n->out);
	pvec_free(&n->in);
	free(n->refs);
	free(n);
}

static void gedge_free(struct gedge *e)
{
	if (!e)
		return;
	elem_free_fields(&e->pub.e);
	free(e->pub.parent);
	free(e->pub.child);
	free(e);
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static int elem_init(struct graph_elem *e, const char *id, json_t *md, const char *host,
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

/* ---- secondary indexes ---------------------------------------------------- */

const char *const graph_index_keys[GRAPH_NIDX] = {"Name", "Type", "TID", "MAC", "IPV4"};

int graph_indexed_key(const char *key)
{
	for (int i = 0; i < GRAPH_NIDX; i++)
		if (key && strcmp(key, graph_index_keys[i]) == 0)
			return 1;
	return 0;
}

static int idx_of(const char *key)
{
	for (int i = 0; i < GRAPH_NIDX; i++)
		if (strcmp(key, graph_index_keys[i]) == 0)
			return i;
	return -1;
}

static int idx_add_value(struct store *s, struct gnode *n, int ix, const char *value)
{
	struct ibucket *b = smap_get(&s->idx[ix], value);
	if (b) {
		/* a node is listed once per bucket even if its array repeats a value */
		for (uint32_t i = 0; i < n->nrefs; i++)
			if (n->refs[i].b == b)
				return 0;
	} else {
		b = calloc(1, sizeof(*b));
		if (!b || !(b->value = strdup(value))) {
			free(b);
			return -ENOMEM;
		}
		if (smap_put(&s->idx[ix], b->value, b)) {
			free(b->value);
			free(b);
			return -ENOMEM;
		}
		b->ix = ix;
	}
	if (n->nrefs == n->caprefs) {
		uint32_t cap = n->caprefs ? n->caprefs * 2 : 4;
		struct iref *nr = realloc(n->refs, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		n->refs = nr;
		n->caprefs = cap;
	}
	if (pvec_push(&b->nodes, n))
		return -ENOMEM;
	n->refs[n->nrefs++] = (struct iref){b, b->nodes.n - 1};
	return 0;
}

/* Calls fn for each value of an index key's JSON value: a string, each string of an array,
 * and for IPV4 also each CIDR's bare address (a list of CIDRs is found by address too). The
 * live indexes and the history's use the same values. Stops at fn's first non-zero. */
typedef int (*idx_value_fn)(void *ctx, const char *value);
static int idx_values(int ix, const json_t *v, idx_value_fn fn, void *ctx)
{
	if (json_is_string(v)) {
		const char *str = json_string_value(v);
		int r = fn(ctx, str);
		const char *slash = strchr(str, '/');
		if (!r && ix == GRAPH_IDX_IPV4 && slash && slash - str < 64) {
			char addr[64];
			memcpy(addr, str, (size_t)(slash - str));
			addr[slash - str] = 0;
			r = fn(ctx, addr);
		}
		return r;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			if (json_is_string(x)) {
				int r = idx_values(ix, x, fn, ctx);
				if (r)
					return r;
			}
		}
	}
	return 0;
}

struct idx_add_ctx {
	struct store *s;
	struct gnode *n;
	int ix;
};

static int idx_add_cb(void *ctx, const char *value)
{
	struct idx_add_ctx *c = ctx;
	return idx_add_value(c->s, c->n, c->ix, value);
}

static int idx_add_json(struct store *s, struct gnode *n, int ix, const json_t *v)
{
	struct idx_add_ctx c = {s, n, ix};
	return idx_values(ix, v, idx_add_cb, &c);
}

static void idx_remove_node(struct store *s, struct gnode *n)
{
	for (uint32_t i = 0; i < n->nrefs; i++) {
		struct ibucket *b = n->refs[i].b;
		size_t pos = n->refs[i].pos, last = b->nodes.n - 1;
		if (pos != last) {
			struct gnode *moved = b->nodes.v[last];
			b->nodes.v[pos] = moved;
			for (uint32_t j = 0; j < moved->nrefs; j++)
				if (moved->refs[j].b == b && moved->refs[j].pos == last) {
					moved->refs[j].pos = pos;
					break;
				}
		}
		b->nodes.n--;
		if (!b->nodes.n) {
			smap_del(&s->idx[b->ix], b->value);
			free(b->value);
			pvec_free(&b->nodes);
			free(b);
		}
	}
	n->nrefs = 0;
}

static int idx_add_node(struct store *s, struct gnode *n)
{
	json_t *md = n->pub.e.metadata;
	for (int ix = 0; ix < GRAPH_NIDX; ix++) {
		json_t *v = json_object_get(md, graph_index_keys[ix]);
		if (v && idx_add_json(s, n, ix, v)) {
			idx_remove_node(s, n);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- the store: maps, lists, adjacency, indexes ---------------------------- */

struct store *store_new(void)
{
	return calloc(1, sizeof(struct store));
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->edge_list.n; i++)
		gedge_free(s->edge_list.v[i]);
	for (size_t i = 0; i < s->node_list.n; i++) {
		struct gnode *n = s->node_list.v[i];
		if (n)
			idx_remove_node(s, n);
		gnode_free(n);
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
void store_compact(struct store *s)
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

int store_add_node(struct store *s, struct gnode *n)
{
	int r = smap_put(&s->nodes, n->pub.e.id, n);
	if (r)
		return r;
	if (idx_add_node(s, n) || pvec_push(&s->node_list, n)) {
		idx_remove_node(s, n);
		smap_del(&s->nodes, n->pub.e.id);
		return -ENOMEM;
	}
	n->slot = s->node_list.n - 1;
	return 0;
}

static void store_unlink_node(struct store *s, struct gnode *n)
{
	idx_remove_node(s, n);
	smap_del(&s->nodes, n->pub.e.id);
	s->node_list.v[n->slot] = NULL;
	s->node_holes++;
	/* keep the holes bounded when nobody reads the list for a while */
	if (s->node_holes > 64 && s->node_holes > s->node_list.n / 2)
		store_compact(s);
}

int store_add_edge(struct store *s, struct gedge *e)
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

static void store_unlink_edge(struct store *s, struct gedge *e)
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
		store_compact(s);
}

/* ---- the graph --------------------------------------------------------------- */

struct listener {
	int id;
	graph_listener_fn fn;
	void *user;
};

/* A replaced or deleted revision, valid in [from, to). */
struct hrec {
	struct hrec *next;
	int is_edge;
	struct graph_edge el; /* for nodes only el.e is used */
	int64_t from, to;
	size_t bytes;
	uint64_t seq; /* push order: the listing order among revisions of equal CreatedAt */
};

/* The history's own indexes, so a past view finds the revisions of one ID, one index value
 * or one edge end without a scan: per key, the revisions in push order. Revisions leave
 * oldest first (history_prune), so each queue is a FIFO whose front is the one to go. */
struct hq {
	char *key;
	struct pvec v; /* struct hrec *, oldest first from head */
	size_t head;
};

enum { HQ_NODE, HQ_EDGE, HQ_PARENT, HQ_CHILD, HQ_KEY0, HQ_N = HQ_KEY0 + GRAPH_NIDX };

struct graph {
	pthread_rwlock_t mu;     /* writers: graph_lock; readers: graph_rdlock */
	pthread_mutex_t compact; /* readers squeeze the live lists' holes one at a time */
	struct store *live;
	struct listener *listeners;
	size_t nlisteners;
	int next_listener_id;
	struct hrec *hhead, *htail; /* oldest first */
	size_t hcount, hbytes;
	uint64_t hseq;
	struct smap hq[HQ_N]; /* node ID, edge ID, edge Parent, edge Child, index key values */
	int64_t hdropped_to; /* views before this time are incomplete */
	int64_t first_ms;    /* first change seen */
	int64_t max_age_ms;
	size_t max_bytes;
	/* Edge metadata is mostly {"RelationType": "..."}: identical small objects are shared
	 * (metadata is never modified in place), saving ~380 bytes per edge. */
	struct smap md_cache; /* canonical text -> json_t (one reference held) */
};

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
	g->live = store_new();
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

static void hrec_free(struct hrec *h)
{
	elem_free_fields(&h->el.e);
	free(h->el.parent);
	free(h->el.child);
	free(h);
}

static void hq_free_map(struct smap *m);

void graph_free(struct graph *g)
{
	if (!g)
		return;
	store_free(g->live);
	for (size_t i = 0; i < g->md_cache.cap; i++) {
		struct smap_slot *sl = &g->md_cache.slots[i];
		if (sl->val) {
			free((char *)sl->key);
			json_decref(sl->val);
		}
	}
	smap_free(&g->md_cache);
	for (struct hrec *h = g->hhead, *nx; h; h = nx) {
		nx = h->next;
		hrec_free(h);
	}
	for (int i = 0; i < HQ_N; i++)
		hq_free_map(&g->hq[i]);
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
	store_compact(g->live);
	pthread_mutex_unlock(&g->compact);
}

void graph_unlock(struct graph *g)
{
	pthread_rwlock_unlock(&g->mu);
}

int graph_listener_add(struct graph *g, graph_listener_fn fn, void *user)
{
	struct listener *nl = realloc(g->listeners, (g->nlisteners + 1) * sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	g->listeners = nl;
	int id = ++g->next_listener_id;
	nl[g->nlisteners++] = (struct listener){id, fn, user};
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

/* ---- history ------------------------------------------------------------------ */

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

static int hq_push(struct smap *m, const char *key, struct hrec *h)
{
	struct hq *q = smap_get(m, key);
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
static void hq_pop(struct smap *m, const char *key, struct hrec *h)
{
	struct hq *q = smap_get(m, key);
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
		struct hq *q = m->slots[i].val;
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
	struct hrec *h;
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
static void hq_index(struct graph *g, struct hrec *h, int pop)
{
	struct hq_ctx c = {NULL, h, pop};
	if (h->is_edge) {
		const char *keys[3] = {h->el.e.id, h->el.parent, h->el.child};
		for (int i = 0; i < 3; i++) {
			c.m = &g->hq[HQ_EDGE + i];
			hq_cb(&c, keys[i]);
		}
		return;
	}
	c.m = &g->hq[HQ_NODE];
	hq_cb(&c, h->el.e.id);
	for (int ix = 0; ix < GRAPH_NIDX; ix++) {
		json_t *v = json_object_get(h->el.e.metadata, graph_index_keys[ix]);
		c.m = &g->hq[HQ_KEY0 + ix];
		if (v)
			idx_values(ix, v, hq_cb, &c);
	}
}

static void history_prune(struct graph *g, int64_t now_ms)
{
	while (g->hhead && (g->hhead->to < now_ms - g->max_age_ms || g->hbytes > g->max_bytes)) {
		struct hrec *h = g->hhead;
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
static void history_push(struct graph *g, int is_edge, const struct graph_edge *el, int64_t to)
{
	struct hrec *h = calloc(1, sizeof(*h));
	if (!h) {
		/* Out of memory: that revision is forgotten; views of its time are incomplete. */
		struct hrec tmp = {.el = *el};
		elem_free_fields(&tmp.el.e);
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
static void history_push_replaced(struct graph *g, int is_edge, const struct graph_elem *e,
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
		elem_free_fields(&el.e);
		free(el.parent);
		free(el.child);
		if (to > g->hdropped_to)
			g->hdropped_to = to;
		return;
	}
	history_push(g, is_edge, &el, to);
}

const json_t *graph_replaced_metadata(const struct graph *g, const struct graph_elem *e)
{
	/* the revision just replaced is the newest history record */
	const struct hrec *h = g->htail;
	if (!h || h->el.e.revision != e->revision - 1 || strcmp(h->el.e.id, e->id))
		return NULL;
	return h->el.e.metadata;
}

static void note_time(struct graph *g, int64_t now_ms)
{
	if (!g->first_ms || now_ms < g->first_ms)
		g->first_ms = now_ms;
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
	if (!metadata || elem_init(&n->pub.e, id, metadata, host, origin)) {
		n->pub.e.metadata = metadata;
		gnode_free(n);
		return -ENOMEM;
	}
	n->pub.e.created_at = n->pub.e.updated_at = now_ms;
	n->pub.e.revision = 1;
	int r = store_add_node(g->live, n);
	if (r) {
		gnode_free(n);
		return r;
	}
	note_time(g, now_ms);
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
	idx_remove_node(g->live, n);
	n->pub.e.metadata = md;
	history_push_replaced(g, 0, &n->pub.e, NULL, old, now_ms);
	n->pub.e.updated_at = now_ms;
	n->pub.e.revision++;
	/* out of memory: the node stays, unindexed until its next change */
	(void)idx_add_node(g->live, n);
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
	/* a new revision: the live metadata is copied, the value stolen */
	json_t *md = json_deep_copy(n->pub.e.metadata);
	if (!md) {
		json_decref(value);
		return -ENOMEM;
	}
	if (json_dotted_set(md, key, value)) {
		json_decref(md);
		return -ENOMEM;
	}
	return node_replace_md(g, n, md, now_ms);
}

static void edge_delete(struct graph *g, struct gedge *e, int64_t now_ms)
{
	store_unlink_edge(g->live, e);
	e->pub.e.deleted_at = now_ms;
	notify(g, GRAPH_EDGE_DELETED, NULL, &e->pub);
	/* the element itself becomes its last revision in history */
	history_push(g, 1, &e->pub, now_ms);
	free(e);
}

static void node_delete(struct graph *g, struct gnode *n, int64_t now_ms)
{
	while (n->out.n)
		edge_delete(g, n->out.v[n->out.n - 1], now_ms);
	while (n->in.n)
		edge_delete(g, n->in.v[n->in.n - 1], now_ms);
	store_unlink_node(g->live, n);
	n->pub.e.deleted_at = now_ms;
	notify(g, GRAPH_NODE_DELETED, &n->pub, NULL);
	struct graph_edge el = {.e = n->pub.e};
	history_push(g, 0, &el, now_ms);
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
static json_t *md_intern(struct graph *g, json_t *md)
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
	metadata = md_intern(g, metadata);
	struct gedge *e = calloc(1, sizeof(*e));
	if (!e) {
		json_decref(metadata);
		return -ENOMEM;
	}
	if (!metadata || elem_init(&e->pub.e, id, metadata, host, origin) ||
	    !(e->pub.parent = strdup(parent)) || !(e->pub.child = strdup(child))) {
		e->pub.e.metadata = metadata;
		gedge_free(e);
		return -ENOMEM;
	}
	e->pub.e.created_at = e->pub.e.updated_at = now_ms;
	e->pub.e.revision = 1;
	int r = store_add_edge(g->live, e);
	if (r) {
		gedge_free(e);
		return r;
	}
	note_time(g, now_ms);
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
	history_push_replaced(g, 1, &e->pub.e, &e->pub, old, now_ms);
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
	struct store *s = g->live;
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

/* ---- views ---------------------------------------------------------------------- */

/* Three kinds: the live graph (s = the graph's store), an owned copy (s owned: subgraphs,
 * and graph_view_copy), and a lazy view of a past time (g set, s NULL), which answers
 * each call from the live store and the history at t and keeps only what it was asked. */
struct graph_view {
	struct store *s;
	int owned;
	struct pvec scratch;
	/* lazy past view */
	struct graph *g;
	int64_t t;
	struct pvec nodes, edges; /* the listing, made on the first call that needs it */
	int listed_nodes, listed_edges;
	struct smap adj[2]; /* node ID -> struct vadj: out (0) and in (1) edges asked for */
};

/* One node's edges in a lazy view, kept for the view's life (the header's promise). */
struct vadj {
	char *id;
	struct pvec v;
};

static struct gnode *copy_node(const struct graph_elem *src)
{
	struct gnode *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->pub.e = *src;
	n->pub.e.id = n->pub.e.host = n->pub.e.origin = NULL;
	n->pub.e.metadata = json_incref(src->metadata);
	if (elem_init(&n->pub.e, src->id, n->pub.e.metadata, src->host, src->origin)) {
		gnode_free(n);
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
	if (elem_init(&e->pub.e, src->e.id, e->pub.e.metadata, src->e.host, src->e.origin) ||
	    !(e->pub.parent = strdup(src->parent)) || !(e->pub.child = strdup(src->child))) {
		gedge_free(e);
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
	struct store *s = g->live;
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
	for (struct hrec *h = g->hhead; h; h = h->next)
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
	if (!v || !(v->s = store_new()))
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
				if ((r = store_add_edge(v->s, e)))
					gedge_free(e);
			} else {
				struct gnode *nd = copy_node(&c[i].el->e);
				if (!nd)
					goto oom;
				if ((r = store_add_node(v->s, nd)))
					gnode_free(nd);
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
		store_compact(g->live);
		v->s = g->live;
		return v;
	}
	v->g = g;
	v->t = view_time(g, at_ms, truncated);
	return v;
}

/* ---- lazy views of a past time ----------------------------------------------------
 *
 * The copy (view_past) puts in a store every element valid at t, sorted by CreatedAt with
 * live elements (listing order) before revisions (push order), the first of an ID winning
 * and an edge without both ends left out. A lazy view gives the same answers per call:
 * the candidates for what is asked (one ID, one index bucket, one node's edges) from the
 * live store and the history queues, under the same rules, so it costs what it reads. */

struct vcand {
	const struct graph_edge *el; /* a node's graph_elem is first, like an edge's */
	int64_t created;
	uint64_t ord; /* live: listing slot; revision: HIST_ORD | seq */
};
#define HIST_ORD (UINT64_C(1) << 63)

static int vcand_cmp(const void *a, const void *b)
{
	const struct vcand *x = a, *y = b;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int live_valid(const struct graph_elem *e, int64_t t)
{
	return e->created_at <= t && e->updated_at <= t;
}

static int hist_valid(const struct hrec *h, int64_t t)
{
	return h->from <= t && t < h->to;
}

static struct vcand live_cand(const struct graph_elem *e, size_t slot)
{
	return (struct vcand){(const struct graph_edge *)(const void *)e, e->created_at, slot};
}

static struct vcand hist_cand(const struct hrec *h)
{
	return (struct vcand){&h->el, h->el.e.created_at, HIST_ORD | h->seq};
}

static const struct hq *hq_get(const struct graph *g, int which, const char *key)
{
	return smap_get(&g->hq[which], key);
}

/* The node id at t: the first of its candidates. */
static const struct graph_node *lazy_node(const struct graph_view *v, const char *id,
					  struct vcand *out)
{
	const struct graph *g = v->g;
	struct vcand best = {0};
	const struct gnode *n = smap_get(&g->live->nodes, id);
	if (n && live_valid(&n->pub.e, v->t))
		best = live_cand(&n->pub.e, n->slot);
	const struct hq *q = hq_get(g, HQ_NODE, id);
	for (size_t i = q ? q->head : 0; q && i < q->v.n; i++) {
		const struct hrec *h = q->v.v[i];
		struct vcand c = hist_cand(h);
		if (hist_valid(h, v->t) && (!best.el || vcand_cmp(&c, &best) < 0))
			best = c;
	}
	if (out)
		*out = best;
	return (const struct graph_node *)(const void *)best.el;
}

static int lazy_ends(const struct graph_view *v, const struct graph_edge *e)
{
	return lazy_node(v, e->parent, NULL) && lazy_node(v, e->child, NULL);
}

/* The edge id at t: the first of its candidates whose two ends are there at t. */
static const struct graph_edge *lazy_edge(const struct graph_view *v, const char *id)
{
	const struct graph *g = v->g;
	struct vcand best = {0};
	const struct gedge *e = smap_get(&g->live->edges, id);
	if (e && live_valid(&e->pub.e, v->t) && lazy_ends(v, &e->pub))
		best = live_cand(&e->pub.e, e->slot);
	const struct hq *q = hq_get(g, HQ_EDGE, id);
	for (size_t i = q ? q->head : 0; q && i < q->v.n; i++) {
		const struct hrec *h = q->v.v[i];
		struct vcand c = hist_cand(h);
		if (hist_valid(h, v->t) && (!best.el || vcand_cmp(&c, &best) < 0) &&
		    lazy_ends(v, &h->el))
			best = c;
	}
	return best.el;
}

/* A growing array of candidates. */
struct vcands {
	struct vcand *c;
	size_t n, cap;
};

static int vcands_push(struct vcands *cs, struct vcand c)
{
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? cs->cap * 2 : 16;
		struct vcand *nc = realloc(cs->c, cap * sizeof(*nc));
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
		const void *won = edges ? (const void *)lazy_edge(v, id)
					: (const void *)lazy_node(v, id, NULL);
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
	for (const struct hrec *h = g->hhead; h && !r; h = h->next)
		if (h->is_edge == edges && hist_valid(h, v->t))
			r = vcands_push(&cs, hist_cand(h));
	if (!r)
		r = vcands_finish(v, &cs, edges, edges ? &v->edges : &v->nodes);
	free(cs.c);
	if (!r)
		*done = 1;
	return r;
}

static const struct graph_node *const *lazy_nodes_by(struct graph_view *v, int ix,
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
	const struct hq *q = hq_get(g, HQ_KEY0 + ix, value);
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
static const struct graph_edge *const *lazy_adj(struct graph_view *v, const char *node_id,
						int dir, size_t *n)
{
	*n = 0;
	struct vadj *a = smap_get(&v->adj[dir], node_id);
	if (a) {
		*n = a->v.n;
		return (const struct graph_edge *const *)a->v.v;
	}
	if (!lazy_node(v, node_id, NULL))
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
	const struct hq *q = hq_get(g, dir ? HQ_CHILD : HQ_PARENT, node_id);
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

static void lazy_free(struct graph_view *v)
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

static int sub_add_node(struct graph_view *sv, const struct graph_node *n)
{
	if (smap_get(&sv->s->nodes, n->e.id))
		return 0;
	struct gnode *c = copy_node(&n->e);
	if (!c)
		return -ENOMEM;
	int r = store_add_node(sv->s, c);
	if (r)
		gnode_free(c);
	return r;
}

static int sub_add_edge(struct graph_view *sv, const struct graph_edge *e)
{
	if (smap_get(&sv->s->edges, e->e.id))
		return 0;
	struct gedge *c = copy_edge(e);
	if (!c)
		return -ENOMEM;
	int r = store_add_edge(sv->s, c);
	if (r)
		gedge_free(c);
	return r == -ENOENT ? 0 : r;
}

struct graph_view *graph_view_subgraph(const struct graph_view *v,
				       const struct graph_node *const *nodes, size_t nn,
				       const struct graph_edge *const *edges, size_t ne)
{
	struct graph_view *sv = calloc(1, sizeof(*sv));
	if (!sv || !(sv->s = store_new()))
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
		store_free(v->s);
	if (v->g)
		lazy_free(v);
	pvec_free(&v->scratch);
	free(v);
}

/* A lazy view's listing; out of memory lists nothing (a copy could not have been made). */
static const struct pvec *lazy_listing(const struct graph_view *v, int edges)
{
	static const struct pvec none;
	struct graph_view *w = (struct graph_view *)v; /* the listing is a cache */
	if (lazy_list(w, edges))
		return &none;
	return edges ? &w->edges : &w->nodes;
}

size_t graph_view_node_count(const struct graph_view *v)
{
	return v->g ? lazy_listing(v, 0)->n : v->s->nodes.n;
}

size_t graph_view_edge_count(const struct graph_view *v)
{
	return v->g ? lazy_listing(v, 1)->n : v->s->edges.n;
}

const struct graph_node *graph_view_node(const struct graph_view *v, size_t i)
{
	if (v->g) {
		const struct pvec *l = lazy_listing(v, 0);
		return i < l->n ? l->v[i] : NULL;
	}
	store_compact(v->s);
	return i < v->s->node_list.n ? v->s->node_list.v[i] : NULL;
}

const struct graph_edge *graph_view_edge(const struct graph_view *v, size_t i)
{
	if (v->g) {
		const struct pvec *l = lazy_listing(v, 1);
		return i < l->n ? l->v[i] : NULL;
	}
	store_compact(v->s);
	return i < v->s->edge_list.n ? v->s->edge_list.v[i] : NULL;
}

const struct graph_node *graph_view_node_get(const struct graph_view *v, const char *id)
{
	if (!id)
		return NULL;
	if (v->g)
		return lazy_node(v, id, NULL);
	struct gnode *n = smap_get(&v->s->nodes, id);
	return n ? &n->pub : NULL;
}

const struct graph_edge *graph_view_edge_get(const struct graph_view *v, const char *id)
{
	if (!id)
		return NULL;
	if (v->g)
		return lazy_edge(v, id);
	struct gedge *e = smap_get(&v->s->edges, id);
	return e ? &e->pub : NULL;
}

/* struct gedge starts with its graph_edge, so the adjacency array (of gedge pointers) is
 * handed out as an array of graph_edge pointers. */
const struct graph_edge *const *graph_view_out_edges(const struct graph_view *v,
						     const char *node_id, size_t *n)
{
	if (v->g && node_id)
		return lazy_adj((struct graph_view *)v, node_id, 0, n);
	struct gnode *nd = node_id ? smap_get(&v->s->nodes, node_id) : NULL;
	*n = nd ? nd->out.n : 0;
	return nd ? (const struct graph_edge *const *)nd->out.v : NULL;
}

const struct graph_edge *const *graph_view_in_edges(const struct graph_view *v,
						    const char *node_id, size_t *n)
{
	if (v->g && node_id)
		return lazy_adj((struct graph_view *)v, node_id, 1, n);
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
	int ix = idx_of(key);
	if (v->g && ix >= 0)
		return lazy_nodes_by((struct graph_view *)v, ix, value, n);
	if (v->g) {
		const struct pvec *l = lazy_listing(v, 0);
		for (size_t i = 0; i < l->n; i++) {
			const struct graph_node *nd = l->v[i];
			if (json_has_string(json_object_get(nd->e.metadata, key), value) &&
			    pvec_push(out, (void *)nd))
				return NULL;
		}
		*n = out->n;
		return (const struct graph_node *const *)out->v;
	}
	store_compact(v->s);
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
		const struct pvec *l = lazy_listing(v, 0);
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i] == n)
				return i;
		return l->n;
	}
	return ((const struct gnode *)(const void *)n)->slot;
}

/* ---- serialisation -------------------------------------------------------------- */

static int put_elem(json_t *o, const struct graph_elem *e)
{
	int r = 0;
	r |= json_object_set_new(o, "ID", json_string(e->id));
	/* shared: stored metadata is never modified in place, so the result may outlive the
	 * lock */
	r |= json_object_set(o, "Metadata", e->metadata);
	r |= json_object_set_new(o, "Host", json_string(e->host));
	r |= json_object_set_new(o, "Origin", json_string(e->origin));
	r |= json_object_set_new(o, "CreatedAt", json_integer(e->created_at));
	r |= json_object_set_new(o, "UpdatedAt", json_integer(e->updated_at));
	if (e->deleted_at)
		r |= json_object_set_new(o, "DeletedAt", json_integer(e->deleted_at));
	r |= json_object_set_new(o, "Revision", json_integer(e->revision));
	return r;
}

json_t *graph_node_to_json(const struct graph_node *n)
{
	json_t *o = json_object();
	if (o && put_elem(o, &n->e)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *graph_edge_to_json(const struct graph_edge *e)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int r = put_elem(o, &e->e);
	r |= json_object_set_new(o, "Parent", json_string(e->parent));
	r |= json_object_set_new(o, "Child", json_string(e->child));
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *graph_view_to_json(const struct graph_view *v)
{
	json_t *nodes = json_array(), *edges = json_array();
	json_t *o = json_object();
	if (!nodes || !edges || !o)
		goto oom;
	size_t nn = graph_view_node_count(v), ne = graph_view_edge_count(v);
	for (size_t i = 0; i < nn; i++)
		if (json_array_append_new(nodes, graph_node_to_json(graph_view_node(v, i))))
			goto oom;
	for (size_t i = 0; i < ne; i++)
		if (json_array_append_new(edges, graph_edge_to_json(graph_view_edge(v, i))))
			goto oom;
	if (json_object_set_new(o, "Nodes", nodes) || json_object_set_new(o, "Edges", edges)) {
		nodes = edges = NULL;
		goto oom;
	}
	return o;
oom:
	json_decref(nodes);
	json_decref(edges);
	json_decref(o);
	return NULL;
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
	/* edges' {"RelationType": ...} shared as live ones are (md_intern wants its own copy) */
	json_t *own = is_edge && json_object_size(md) <= 2 ? json_deep_copy(md) : NULL;
	el.e.metadata = own ? md_intern(g, own) : json_incref(md);
	el.e.created_at = json_integer_value(json_object_get(obj, "CreatedAt"));
	el.e.updated_at = json_integer_value(upd);
	el.e.deleted_at = json_integer_value(json_object_get(obj, "DeletedAt"));
	el.e.revision = json_integer_value(json_object_get(obj, "Revision"));
	const char *host = json_string_value(json_object_get(obj, "Host"));
	const char *origin = json_string_value(json_object_get(obj, "Origin"));
	if (elem_init(&el.e, id, el.e.metadata, host, origin) ||
	    (is_edge && (!(el.parent = strdup(parent)) || !(el.child = strdup(child))))) {
		elem_free_fields(&el.e);
		free(el.parent);
		free(el.child);
		return -ENOMEM;
	}
	note_time(g, el.e.updated_at);
	history_push(g, is_edge, &el, to_ms);
	return 0;
}
