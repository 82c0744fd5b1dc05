/* forwarder.c - the agent's topology channels: one per analyzer on
 * /ws/agent/topology (connections, TLS, reconnects: ws_link), a Sync of the
 * whole graph on connect, then every graph change from a graph listener
 * through a bounded queue per analyzer, resynced on overflow.
 *
 * Threads: the graph listener runs on the probe threads (graph lock held)
 * and only encodes, queues and wakes the link; the channel callbacks run on
 * the link's service thread. Lock order: graph lock, then f->lock. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/forwarder.h"
#include "common/log.h"
#include "agent/ws_link.h"

struct fwd_conn {
	struct forwarder *f;
	struct ws_chan *ch;
	/* f->lock */
	int established, need_sync;
	struct ws_queue q;
	struct ws_queue replies; /* OnDemand replies: sent first, never cleared by a Sync */
	uint64_t dropped, syncs;
};

struct forwarder {
	struct graph *g;
	struct ws_client *link; /* borrowed */
	size_t queue_max;
	forwarder_request_fn on_request;
	void *request_user;
	struct fwd_conn *conns;
	size_t n_conns;
	int to_one;
	long master;        /* to_one: index of the master conn, -1 none (f->lock) */
	uint64_t switches;  /* to_one: times a master was chosen (f->lock) */
	int (*keep)(void *user, const struct graph_elem *e);
	void *keep_user;
	pthread_mutex_t lock;
	int listener_id;
	atomic_int stopping;
};

/* ---- graph listener (graph lock held, any thread) ----------------------- */

static void on_graph(void *user, enum graph_event ev, const struct graph_node *node,
		     const struct graph_edge *edge)
{
	struct forwarder *f = user;
	char *text = NULL;
	size_t len = 0;
	int wake = 0;

	if (f->keep && !f->keep(f->keep_user, edge ? &edge->e : &node->e))
		return;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_conns; i++) {
		struct fwd_conn *c = &f->conns[i];
		/* Not connected, or a Sync is due anyway: the Sync will carry it. */
		if (!c->established || c->need_sync || (f->to_one && (long)i != f->master))
			continue;
		if (!text) {
			text = agent_encode_event(ev, node, edge, WS_LINK_HEADROOM, &len);
			if (!text) {
				log_error("agent: out of memory encoding a graph message");
				break;
			}
		}
		if (c->q.len >= f->queue_max) {
			/* The analyzer cannot keep up: drop the backlog and resync
			 * rather than let memory grow or the copy diverge. */
			c->dropped += c->q.len + 1;
			log_warn("agent: send queue to %s full (%zu); %zu messages dropped, will resync",
				 ws_chan_addr(c->ch), f->queue_max, c->q.len + 1);
			ws_queue_clear(&c->q);
			c->need_sync = 1;
			wake = 1;
			continue;
		}
		char *copy = malloc(WS_LINK_HEADROOM + len + 1);
		if (!copy ||
		    ws_queue_push(&c->q, memcpy(copy, text, WS_LINK_HEADROOM + len + 1), len, 0) < 0) {
			c->dropped++;
			c->need_sync = 1;
		}
		wake = 1;
	}
	pthread_mutex_unlock(&f->lock);
	free(text);
	if (wake)
		ws_client_wake(f->link);
}

/* ---- channel callbacks (the link's service thread) ---------------------- */

/* to_one: the first connected conn becomes master when there is none (f->lock held);
 * it gets a Sync. No preemption: an earlier analyzer coming back does not take the
 * topology back (that would cost a Sync for nothing), as Skydive's master election. */
static struct fwd_conn *elect(struct forwarder *f)
{
	if (!f->to_one || f->master >= 0)
		return NULL;
	for (size_t i = 0; i < f->n_conns; i++)
		if (f->conns[i].established) {
			f->master = (long)i;
			f->switches++;
			f->conns[i].need_sync = 1;
			log_info("agent: topology goes to analyzer %s (master)",
				 ws_chan_addr(f->conns[i].ch));
			return &f->conns[i];
		}
	return NULL;
}

static void on_open(void *user, struct ws_chan *ch)
{
	(void)ch;
	struct fwd_conn *c = user;
	pthread_mutex_lock(&c->f->lock);
	c->established = 1;
	c->need_sync = 1;
	elect(c->f);
	pthread_mutex_unlock(&c->f->lock);
}

static void on_closed(void *user, struct ws_chan *ch)
{
	(void)ch;
	struct fwd_conn *c = user;
	struct forwarder *f = c->f;
	struct fwd_conn *m = NULL;
	pthread_mutex_lock(&f->lock);
	c->established = 0;
	ws_queue_clear(&c->q);
	ws_queue_clear(&c->replies);
	if (f->to_one && f->master == c - f->conns) {
		f->master = -1;
		m = elect(f);
	}
	pthread_mutex_unlock(&f->lock);
	if (m) /* the new master's channel is up: let it send its Sync now */
		ws_chan_want_write(m->ch);
}

/* keep: the Sync carries only the elements kept (graph lock held). */
static void filter_sync(struct forwarder *f, json_t *obj)
{
	struct graph_view *v = graph_view_at(f->g, 0, NULL);
	static const char *const keys[] = {"Nodes", "Edges"};
	for (int k = 0; v && k < 2; k++) {
		json_t *arr = json_object_get(obj, keys[k]), *out = json_array();
		size_t i;
		json_t *it;
		json_array_foreach(arr, i, it)
		{
			const char *id = json_string_value(json_object_get(it, "ID"));
			const struct graph_elem *e = NULL;
			if (id && k == 0) {
				const struct graph_node *n = graph_view_node_get(v, id);
				e = n ? &n->e : NULL;
			} else if (id) {
				const struct graph_edge *g = graph_view_edge_get(v, id);
				e = g ? &g->e : NULL;
			}
			if (e && f->keep(f->keep_user, e))
				json_array_append(out, it);
		}
		json_object_set_new(obj, keys[k], out);
	}
	graph_view_free(v);
}

/* The Sync of the whole graph, put in front of the queue (which it
 * supersedes). Takes the graph lock, then f->lock. */
static void make_sync(struct fwd_conn *c)
{
	struct forwarder *f = c->f;
	graph_lock(f->g);
	struct graph_view *v = graph_view_at(f->g, 0, NULL);
	json_t *obj = v ? graph_view_to_json(v) : NULL;
	graph_view_free(v);
	if (obj && f->keep)
		filter_sync(f, obj);
	size_t len = 0;
	char *text = obj ? agent_encode_sync(obj, WS_LINK_HEADROOM, &len) : NULL;
	pthread_mutex_lock(&f->lock);
	ws_queue_clear(&c->q);
	if (text && ws_queue_push(&c->q, text, len, 1) == 0) {
		c->need_sync = 0;
		c->syncs++;
	} else {
		log_error("agent: out of memory building the Sync for %s", ws_chan_addr(c->ch));
	}
	pthread_mutex_unlock(&f->lock);
	graph_unlock(f->g);
}

/* Replies first, then a due Sync, then the changes in order. */
static struct ws_msg *next(void *user, struct ws_chan *ch, int *more)
{
	(void)ch;
	struct fwd_conn *c = user;
	struct forwarder *f = c->f;
	pthread_mutex_lock(&f->lock);
	struct ws_msg *m = ws_queue_pop(&c->replies);
	/* with to_one only the master gets the topology (other channels carry replies) */
	int sync = !m && c->need_sync && (!f->to_one || f->master == c - f->conns);
	pthread_mutex_unlock(&f->lock);
	if (sync)
		make_sync(c);

	pthread_mutex_lock(&f->lock);
	if (!m)
		m = ws_queue_pop(&c->q);
	*more = c->q.head || c->replies.head ||
		(c->need_sync && (!f->to_one || f->master == c - f->conns));
	pthread_mutex_unlock(&f->lock);
	return m;
}

/* An analyzer message: SyncRequest asks for the whole graph again. */
static void on_message(void *user, struct ws_chan *ch, const char *text, size_t len)
{
	struct fwd_conn *c = user;
	struct forwarder *f = c->f;
	json_t *msg = json_loadb(text, len, 0, NULL);
	const char *ns = json_string_value(json_object_get(msg, "Namespace"));
	const char *type = json_string_value(json_object_get(msg, "Type"));
	if (ns && type && !strcmp(ns, "Graph") && !strcmp(type, "SyncRequest")) {
		pthread_mutex_lock(&f->lock);
		c->need_sync = 1;
		pthread_mutex_unlock(&f->lock);
		ws_chan_want_write(ch);
	} else if (ns && (!strcmp(ns, "OnDemand") || !strcmp(ns, "OnDemandPacketInjection")) &&
	           f->on_request && !atomic_load(&f->stopping)) {
		/* Capture and injection requests: handled here, on the service thread;
		 * the reply goes back on this connection. */
		json_t *r = f->on_request(f->request_user, msg);
		size_t n = r ? json_dumpb(r, NULL, 0, JSON_COMPACT) : 0;
		char *buf = n ? malloc(WS_LINK_HEADROOM + n + 1) : NULL;
		int rc = -ENOMEM;
		if (buf) {
			json_dumpb(r, buf + WS_LINK_HEADROOM, n, JSON_COMPACT);
			buf[WS_LINK_HEADROOM + n] = 0;
			pthread_mutex_lock(&f->lock);
			rc = ws_queue_push(&c->replies, buf, n, 0);
			pthread_mutex_unlock(&f->lock);
		}
		if (rc == 0)
			ws_chan_want_write(ch);
		else if (r)
			log_error("agent: out of memory replying to an OnDemand request");
		json_decref(r);
	}
	json_decref(msg);
}

static const struct ws_chan_ops chan_ops = {
	.on_open = on_open,
	.on_message = on_message,
	.next = next,
	.on_closed = on_closed,
};

/* ---- life cycle -------------------------------------------------------- */

struct forwarder *forwarder_new(const struct forwarder_opts *o, char *err, size_t errlen)
{
	struct forwarder *f = calloc(1, sizeof(*f));
	if (!f)
		goto oom;
	pthread_mutex_init(&f->lock, NULL);
	f->listener_id = -1;
	f->g = o->g;
	f->link = o->link;
	f->queue_max = o->queue_max ? o->queue_max : 10000;
	f->on_request = o->on_request;
	f->request_user = o->request_user;
	f->to_one = o->to_one;
	f->master = -1;
	f->keep = o->keep;
	f->keep_user = o->keep_user;
	f->conns = calloc(o->n_analyzers ? o->n_analyzers : 1, sizeof(*f->conns));
	if (!f->conns)
		goto oom;
	for (size_t i = 0; i < o->n_analyzers; i++) {
		struct fwd_conn *c = &f->conns[i];
		c->f = f;
		struct ws_chan_opts co = {
			.analyzer = o->analyzers[i],
			.path = o->path ? o->path : "/ws/agent/topology",
			.protocol = "json",
			.label = o->label ? o->label : "topology channel",
			.ops = &chan_ops,
			.user = c,
		};
		c->ch = ws_client_add(f->link, &co, err, errlen);
		if (!c->ch) {
			forwarder_free(f);
			return NULL;
		}
		f->n_conns++;
	}
	return f;
oom:
	snprintf(err, errlen, "agent: out of memory");
	forwarder_free(f);
	return NULL;
}

int forwarder_start(struct forwarder *f, char *err, size_t errlen)
{
	if (!f->n_conns)
		return 0;
	int id = graph_listener_add(f->g, on_graph, f);
	if (id < 0) {
		snprintf(err, errlen, "agent: out of memory");
		return id;
	}
	f->listener_id = id;
	return 0;
}

static void clear_all(struct forwarder *f)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_conns; i++) {
		ws_queue_clear(&f->conns[i].q);
		ws_queue_clear(&f->conns[i].replies);
	}
	pthread_mutex_unlock(&f->lock);
}

void forwarder_stop(struct forwarder *f)
{
	if (!f)
		return;
	if (f->listener_id >= 0) {
		graph_lock(f->g);
		graph_listener_remove(f->g, f->listener_id);
		graph_unlock(f->g);
		f->listener_id = -1;
	}
	atomic_store(&f->stopping, 1);
	clear_all(f);
}

void forwarder_free(struct forwarder *f)
{
	if (!f)
		return;
	forwarder_stop(f);
	/* The link is stopped by now (see forwarder.h): nothing queues again. */
	clear_all(f);
	pthread_mutex_destroy(&f->lock);
	free(f->conns);
	free(f);
}

void forwarder_stats(struct forwarder *f, size_t *connected, uint64_t *sent, uint64_t *dropped,
		     uint64_t *syncs)
{
	*connected = 0;
	*sent = *dropped = *syncs = 0;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_conns; i++) {
		struct ws_chan_stats cs;
		ws_chan_get_stats(f->conns[i].ch, &cs);
		*connected += f->conns[i].established ? 1 : 0;
		*sent += cs.sent;
		*dropped += f->conns[i].dropped;
		*syncs += f->conns[i].syncs;
	}
	pthread_mutex_unlock(&f->lock);
}

const char *forwarder_master(struct forwarder *f, char *buf, size_t len, uint64_t *switches)
{
	const char *r = NULL;
	pthread_mutex_lock(&f->lock);
	if (f->master >= 0) {
		snprintf(buf, len, "%s", ws_chan_addr(f->conns[f->master].ch));
		r = buf;
	}
	if (switches)
		*switches = f->switches;
	pthread_mutex_unlock(&f->lock);
	return r;
}

json_t *forwarder_status(struct forwarder *f)
{
	json_t *o = json_object();
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; o && i < f->n_conns; i++) {
		struct fwd_conn *c = &f->conns[i];
		struct ws_chan_stats cs;
		ws_chan_get_stats(c->ch, &cs);
		json_t *e = json_pack("{s:b, s:I, s:I, s:I}", "Connected", c->established, "Sent",
				      (json_int_t)cs.sent, "Dropped", (json_int_t)c->dropped, "Syncs",
				      (json_int_t)c->syncs);
		if (e && f->to_one)
			json_object_set_new(e, "Master", json_boolean(f->master == (long)i));
		json_object_set_new(o, ws_chan_addr(c->ch), e);
	}
	pthread_mutex_unlock(&f->lock);
	return o;
}
