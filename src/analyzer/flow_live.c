/* flow_live.c - the analyzer's live flow view (flow_live.h).
 *
 * Two sets follow the graph and the capture registry through their listeners: the
 * captures that exist, and the (capture, node TID) pairs some node's Captures metadata
 * shows "active" (counted per node, so two nodes with one TID need both to go). */
#include "analyzer/flow_live.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/smap.h"
#include "common/util.h"
#include "flow/flow.h"
#include "store/flow_rec.h"

#define KEY_SEP '\x1f' /* between capture ID and TID in a pair's key */

struct pair {
	char *key;
	int nodes;     /* nodes showing it; 0: not running (kept until its capture goes) */
	int64_t ended; /* wall clock ms its last node left the graph, 0 never: a state
			* received before that is of the agent's former table (an agent
			* killed and back keeps no flow of its former run) */
};

struct node_ent {
	char *id;
	char **keys; /* its pairs */
	size_t n;
};

struct flow_live {
	pthread_mutex_t mu;
	struct graph *g;
	struct capture_res *r;
	int graph_listener, cap_listener;
	struct smap pairs; /* key -> struct pair */
	struct smap nodes; /* node ID -> struct node_ent */
	struct smap caps;  /* capture UUID -> its own copy of the UUID */
	int64_t (*now)(void);
	int64_t q_now; /* the wall clock of the query between begin and end */
};

static int64_t wall_ms(void)
{
	return (int64_t)(time_now_ns() / 1000000);
}

static char *pair_key(const char *cap, const char *tid)
{
	size_t a = strlen(cap), b = strlen(tid);
	char *k = malloc(a + b + 2);
	if (k) {
		memcpy(k, cap, a);
		k[a] = KEY_SEP;
		memcpy(k + a + 1, tid, b + 1);
	}
	return k;
}

/* gone: the node left the graph (its agent went away), not just its metadata changed:
 * a node's metadata is rewritten at times (netlink) before its Captures come back. */
static void pair_unref(struct flow_live *l, const char *key, int gone)
{
	struct pair *p = smap_get(&l->pairs, key);
	if (p && p->nodes > 0 && --p->nodes == 0 && gone)
		p->ended = l->now();
}

/* The pairs of capture cap (deleted): forgotten. */
static void pairs_drop_capture(struct flow_live *l, const char *cap)
{
	size_t n = strlen(cap);
	for (size_t i = 0; i < l->pairs.cap; i++) {
		struct pair *p = l->pairs.slots[i].val;
		if (!l->pairs.slots[i].key || !p || p->nodes || strncmp(p->key, cap, n) ||
		    p->key[n] != KEY_SEP)
			continue;
		smap_del(&l->pairs, p->key);
		free(p->key);
		free(p);
	}
}

/* 0 or -ENOMEM (the pair is then not counted: its flows are not live). */
static int pair_ref(struct flow_live *l, const char *key)
{
	struct pair *p = smap_get(&l->pairs, key);
	if (p) {
		p->nodes++;
		return 0;
	}
	if (!(p = calloc(1, sizeof(*p))) || !(p->key = strdup(key)))
		goto fail;
	p->nodes = 1;
	if (smap_put(&l->pairs, p->key, p))
		goto fail;
	return 0;
fail:
	if (p)
		free(p->key);
	free(p);
	return -ENOMEM;
}

static void node_ent_free(struct flow_live *l, struct node_ent *n, int gone)
{
	for (size_t j = 0; j < n->n; j++) {
		pair_unref(l, n->keys[j], gone);
		free(n->keys[j]);
	}
	free(n->keys);
	free(n->id);
	free(n);
}

static void node_forget(struct flow_live *l, const char *id, int gone)
{
	struct node_ent *n = smap_del(&l->nodes, id);
	if (n)
		node_ent_free(l, n, gone);
}

/* The node's pairs from its metadata now: its TID and each Captures entry "active".
 * The new pairs are counted before the former ones are let go, so a pair the node
 * keeps (its counters changed) never stops. */
static void node_learn(struct flow_live *l, const struct graph_node *gn)
{
	const char *tid = json_string_value(json_object_get(gn->e.metadata, "TID"));
	json_t *caps = json_object_get(gn->e.metadata, "Captures");
	struct node_ent *n = NULL;
	if (tid && json_array_size(caps)) {
		n = calloc(1, sizeof(*n));
		if (n && (!(n->id = strdup(gn->e.id)) ||
			  !(n->keys = calloc(json_array_size(caps), sizeof(*n->keys))))) {
			free(n->id);
			free(n);
			n = NULL;
		}
	}
	size_t i;
	json_t *e;
	json_array_foreach(n ? caps : NULL, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "ID"));
		const char *st = json_string_value(json_object_get(e, "State"));
		if (!id || !st || strcmp(st, "active"))
			continue;
		char *k = pair_key(id, tid);
		if (!k || pair_ref(l, k)) {
			free(k);
			continue;
		}
		n->keys[n->n++] = k;
	}
	node_forget(l, gn->e.id, 0);
	if (n && (!n->n || smap_put(&l->nodes, n->id, n)))
		node_ent_free(l, n, 0);
}

static void on_graph(void *user, enum graph_event ev, const struct graph_node *n,
		     const struct graph_edge *e)
{
	struct flow_live *l = user;
	if (!n || e)
		return;
	pthread_mutex_lock(&l->mu);
	if (ev == GRAPH_NODE_DELETED)
		node_forget(l, n->e.id, 1);
	else if (ev == GRAPH_NODE_ADDED || ev == GRAPH_NODE_UPDATED)
		node_learn(l, n);
	pthread_mutex_unlock(&l->mu);
}

static void cap_add(struct flow_live *l, const char *id)
{
	if (smap_get(&l->caps, id))
		return;
	char *c = strdup(id);
	if (c && smap_put(&l->caps, c, c))
		free(c);
}

static void on_capture(void *user, enum capture_res_event ev, const struct capture_def *c)
{
	struct flow_live *l = user;
	pthread_mutex_lock(&l->mu);
	if (ev == CAPTURE_RES_CREATED) {
		cap_add(l, c->uuid);
	} else {
		free(smap_del(&l->caps, c->uuid));
		pairs_drop_capture(l, c->uuid);
	}
	pthread_mutex_unlock(&l->mu);
}

static int cap_each(void *user, const struct capture_def *c)
{
	cap_add(user, c->uuid);
	return 0;
}

struct flow_live *flow_live_new(struct graph *g, struct capture_res *r)
{
	struct flow_live *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	pthread_mutex_init(&l->mu, NULL);
	l->g = g;
	l->r = r;
	l->now = wall_ms;
	l->graph_listener = l->cap_listener = -1;
	if (r) {
		/* listener first: a capture made meanwhile is seen twice, never missed */
		l->cap_listener = capture_res_listen(r, on_capture, l);
		pthread_mutex_lock(&l->mu);
		capture_res_foreach(r, cap_each, l);
		pthread_mutex_unlock(&l->mu);
	}
	/* the write lock: no change between the scan and the listener */
	graph_lock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0, n = v ? graph_view_node_count(v) : 0; i < n; i++)
		node_learn(l, graph_view_node(v, i));
	pthread_mutex_unlock(&l->mu);
	graph_view_free(v);
	l->graph_listener = graph_listener_add(g, on_graph, l);
	graph_unlock(g);
	if (!v || l->graph_listener < 0 || (r && l->cap_listener < 0)) {
		flow_live_free(l);
		return NULL;
	}
	return l;
}

void flow_live_free(struct flow_live *l)
{
	if (!l)
		return;
	if (l->graph_listener >= 0) {
		graph_lock(l->g);
		graph_listener_remove(l->g, l->graph_listener);
		graph_unlock(l->g);
	}
	if (l->r && l->cap_listener >= 0)
		capture_res_unlisten(l->r, l->cap_listener);
	for (size_t i = 0; i < l->nodes.cap; i++)
		if (l->nodes.slots[i].key && l->nodes.slots[i].val) {
			struct node_ent *n = l->nodes.slots[i].val;
			for (size_t j = 0; j < n->n; j++)
				free(n->keys[j]);
			free(n->keys);
			free(n->id);
			free(n);
		}
	for (size_t i = 0; i < l->pairs.cap; i++)
		if (l->pairs.slots[i].key && l->pairs.slots[i].val) {
			struct pair *p = l->pairs.slots[i].val;
			free(p->key);
			free(p);
		}
	for (size_t i = 0; i < l->caps.cap; i++)
		if (l->caps.slots[i].key && l->caps.slots[i].val)
			free(l->caps.slots[i].val);
	smap_free(&l->nodes);
	smap_free(&l->pairs);
	smap_free(&l->caps);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

/* With the mutex held. */
static int live_locked(struct flow_live *l, const char *cap, const char *tid, int finish,
		       int64_t last_ms, int64_t ingest_ms, int64_t now_ms)
{
	if (!cap || !*cap)
		return 1; /* not an agent capture's flow */
	if (finish == FLOW_TIMEOUT)
		return 0; /* the agent's table dropped it (flow/table.go expire, update) */
	if ((finish == FLOW_TCP_FIN || finish == FLOW_TCP_RST) &&
	    now_ms - last_ms >= FLOW_LIVE_HOLD_MS)
		return 0; /* held after its end, then dropped */
	if (!smap_get(&l->caps, cap))
		return 0; /* the capture was deleted */
	char buf[256], *k = buf;
	size_t a = strlen(cap), b = strlen(tid ? tid : "");
	if (a + b + 2 > sizeof(buf) && !(k = malloc(a + b + 2)))
		return 0;
	memcpy(k, cap, a);
	k[a] = KEY_SEP;
	memcpy(k + a + 1, tid ? tid : "", b + 1);
	/* still running on its node, and the state is of this run's table */
	const struct pair *p = smap_get(&l->pairs, k);
	int live = p && p->nodes > 0 && ingest_ms > p->ended;
	if (k != buf)
		free(k);
	return live;
}

int flow_live_is_live(struct flow_live *l, const char *capture_id, const char *node_tid,
		      int finish, int64_t last_ms, int64_t ingest_ms, int64_t now_ms)
{
	pthread_mutex_lock(&l->mu);
	int r = live_locked(l, capture_id, node_tid, finish, last_ms, ingest_ms, now_ms);
	pthread_mutex_unlock(&l->mu);
	return r;
}

static void *hook_begin(void *user)
{
	struct flow_live *l = user;
	pthread_mutex_lock(&l->mu);
	l->q_now = l->now();
	return l;
}

static int hook_test(void *q, const struct flow_rec *r, const char *const str[])
{
	struct flow_live *l = q;
	return live_locked(l, str[FREC_S_CAPTURE], str[FREC_S_NODE], r->finish, r->last,
			   r->ingest, l->q_now);
}

static void hook_end(void *q)
{
	struct flow_live *l = q;
	pthread_mutex_unlock(&l->mu);
}

void flow_live_hook(struct flow_live *l, int64_t (*now_ms_fn)(void), struct flow_store_live *out)
{
	l->now = now_ms_fn ? now_ms_fn : wall_ms;
	*out = (struct flow_store_live){
	    .begin = hook_begin, .test = hook_test, .end = hook_end, .user = l};
}
