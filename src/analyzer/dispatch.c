/* dispatch.c - on-demand capture dispatch: desired (capture, node) set from Gremlin on the
 * live graph, diff against the started pairs, OnDemand Start/Stop through a callback. */
#include "analyzer/dispatch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "gremlin/gremlin.h"

#define MAX_STOPS 4096 /* Stop requests remembered; older ones are forgotten */
/* A Stop is remembered this long, answered or not: the node's Captures metadata may show
 * the capture until the agent's update arrives (through the analyzer its topology goes
 * to), and a dispatcher stopping unwanted captures must not send it twice meanwhile. */
#define STOP_HOLD_MS 10000

enum pair_state { PAIR_STARTING, PAIR_STARTED, PAIR_ERROR };

/* One (capture, node) pair a Start was sent for. */
struct pair {
	char cap[37];
	char req[37]; /* request UUID of the Start */
	char *node, *host;
	char *error; /* the agent's answer when state is PAIR_ERROR */
	char *agent_state; /* from the node's Captures metadata: "active", "error: ..." */
	enum pair_state state;
	int seen;
	int to_start;  /* new in this run: Start to send */
	size_t capidx; /* this run's capture index, when to_start */
};

struct stop_req {
	char req[37]; /* "" once answered */
	char cap[37];
	char *node;
	int64_t until_ms; /* forgotten after */
};

struct host_ref {
	char *host;
	int refs;
};

struct dispatch {
	struct graph *g;
	struct capture_res *r;
	dispatch_send_fn send;
	void *user;
	int graph_listener, cap_listener;
	atomic_int dirty;
	atomic_int active; /* elected to dispatch (always 1 outside a cluster) */
	int mode;          /* active as of the last run */
	int clustered;     /* dispatch_clustered: unwanted captures on nodes are stopped */
	int (*ready)(void *);
	void *ready_user;
	int64_t last_run_ms;

	struct pair *pairs;
	size_t npairs, cappairs;
	struct stop_req *stops;
	size_t nstops, capstops;
	struct host_ref *hosts;
	size_t nhosts, caphosts;
	json_t *report; /* per capture: skipped/waiting nodes, Ignored, Error */
	uint64_t runs, starts, stops_sent, orphans, send_failed, error_replies, stale_replies,
	    stop_errors;
	uint64_t req_seq;
};

/* ---- helpers ------------------------------------------------------------- */

static void req_id(struct dispatch *d, char out[37])
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		/* no entropy yet: unique within this analyzer is enough */
		uint64_t s = ++d->req_seq;
		memset(b, 0, sizeof(b));
		memcpy(b + 8, &s, sizeof(s));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

static void pair_clear(struct pair *p)
{
	free(p->node);
	free(p->host);
	free(p->error);
	free(p->agent_state);
}

static void pair_remove(struct dispatch *d, size_t i)
{
	pair_clear(&d->pairs[i]);
	d->pairs[i] = d->pairs[--d->npairs];
}

static struct pair *pair_find(struct dispatch *d, const char *cap, const char *node)
{
	for (size_t i = 0; i < d->npairs; i++)
		if (!strcmp(d->pairs[i].cap, cap) && !strcmp(d->pairs[i].node, node))
			return &d->pairs[i];
	return NULL;
}

static struct pair *pair_add(struct dispatch *d, const char *cap, const char *node,
                             const char *host)
{
	if (d->npairs == d->cappairs) {
		size_t nc = d->cappairs ? d->cappairs * 2 : 16;
		struct pair *np = realloc(d->pairs, nc * sizeof(*np));
		if (!np)
			return NULL;
		d->pairs = np;
		d->cappairs = nc;
	}
	struct pair *p = &d->pairs[d->npairs];
	memset(p, 0, sizeof(*p));
	snprintf(p->cap, sizeof(p->cap), "%s", cap);
	p->node = strdup(node);
	p->host = strdup(host);
	if (!p->node || !p->host) {
		pair_clear(p);
		return NULL;
	}
	d->npairs++;
	return p;
}

static struct host_ref *host_find(struct dispatch *d, const char *host)
{
	for (size_t i = 0; i < d->nhosts; i++)
		if (!strcmp(d->hosts[i].host, host))
			return &d->hosts[i];
	return NULL;
}

static int host_connected(struct dispatch *d, const char *host)
{
	return host && host_find(d, host) != NULL;
}

static void stop_forget(struct dispatch *d, size_t i)
{
	free(d->stops[i].node);
	memmove(d->stops + i, d->stops + i + 1, (d->nstops - i - 1) * sizeof(*d->stops));
	d->nstops--;
}

static void stop_remember(struct dispatch *d, const char *req, const char *cap, const char *node,
                          int64_t now_ms)
{
	if (d->nstops == MAX_STOPS)
		stop_forget(d, 0);
	if (d->nstops == d->capstops) {
		size_t nc = d->capstops ? d->capstops * 2 : 16;
		struct stop_req *ns = realloc(d->stops, nc * sizeof(*ns));
		if (!ns)
			return; /* the reply will count as stale */
		d->stops = ns;
		d->capstops = nc;
	}
	struct stop_req *s = &d->stops[d->nstops];
	snprintf(s->req, sizeof(s->req), "%s", req);
	snprintf(s->cap, sizeof(s->cap), "%s", cap);
	s->until_ms = now_ms + STOP_HOLD_MS;
	if ((s->node = strdup(node)))
		d->nstops++;
}

/* Whether a Stop of cap on node was sent within STOP_HOLD_MS. */
static int stop_pending(const struct dispatch *d, const char *cap, const char *node)
{
	for (size_t i = 0; i < d->nstops; i++)
		if (!strcmp(d->stops[i].cap, cap) && !strcmp(d->stops[i].node, node))
			return 1;
	return 0;
}

/* ---- listeners (any thread) ---------------------------------------------- */

static void on_graph(void *user, enum graph_event ev, const struct graph_node *n,
                     const struct graph_edge *e)
{
	struct dispatch *d = user;
	atomic_store(&d->dirty, 1);
}

static void on_capture(void *user, enum capture_res_event ev, const struct capture_def *c)
{
	struct dispatch *d = user;
	atomic_store(&d->dirty, 1);
}

/* ---- life cycle ----------------------------------------------------------- */

struct dispatch *dispatch_new(struct graph *g, struct capture_res *r, dispatch_send_fn send,
                              void *user)
{
	struct dispatch *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->g = g;
	d->r = r;
	d->send = send;
	d->user = user;
	d->cap_listener = -1;
	atomic_init(&d->dirty, 1);
	atomic_init(&d->active, 1);
	d->mode = 1;
	d->report = json_object();
	graph_lock(g);
	d->graph_listener = graph_listener_add(g, on_graph, d);
	graph_unlock(g);
	if (r)
		d->cap_listener = capture_res_listen(r, on_capture, d);
	if (!d->report || d->graph_listener < 0 || (r && d->cap_listener < 0)) {
		dispatch_free(d);
		return NULL;
	}
	return d;
}

void dispatch_free(struct dispatch *d)
{
	if (!d)
		return;
	if (d->graph_listener >= 0) {
		graph_lock(d->g);
		graph_listener_remove(d->g, d->graph_listener);
		graph_unlock(d->g);
	}
	if (d->r && d->cap_listener >= 0)
		capture_res_unlisten(d->r, d->cap_listener);
	for (size_t i = 0; i < d->npairs; i++)
		pair_clear(&d->pairs[i]);
	free(d->pairs);
	for (size_t i = 0; i < d->nstops; i++)
		free(d->stops[i].node);
	free(d->stops);
	for (size_t i = 0; i < d->nhosts; i++)
		free(d->hosts[i].host);
	free(d->hosts);
	json_decref(d->report);
	free(d);
}

void dispatch_agent_up(struct dispatch *d, const char *host)
{
	struct host_ref *h = host_find(d, host);
	if (h) {
		h->refs++;
		return;
	}
	if (d->nhosts == d->caphosts) {
		size_t nc = d->caphosts ? d->caphosts * 2 : 8;
		struct host_ref *nh = realloc(d->hosts, nc * sizeof(*nh));
		if (!nh) {
			log_error("dispatch: out of memory: captures will not start on agent %s",
			          host);
			return;
		}
		d->hosts = nh;
		d->caphosts = nc;
	}
	char *s = strdup(host);
	if (!s) {
		log_error("dispatch: out of memory: captures will not start on agent %s", host);
		return;
	}
	d->hosts[d->nhosts++] = (struct host_ref){.host = s, .refs = 1};
	atomic_store(&d->dirty, 1);
}

void dispatch_agent_down(struct dispatch *d, const char *host)
{
	struct host_ref *h = host_find(d, host);
	if (!h || --h->refs > 0)
		return;
	free(h->host);
	*h = d->hosts[--d->nhosts];
	/* Its captures went with it; a reconnection starts them again. */
	for (size_t i = d->npairs; i-- > 0;)
		if (!strcmp(d->pairs[i].host, host))
			pair_remove(d, i);
	atomic_store(&d->dirty, 1);
}

void dispatch_clustered(struct dispatch *d, int (*ready)(void *user), void *user)
{
	d->clustered = 1;
	d->ready = ready;
	d->ready_user = user;
	atomic_store(&d->active, 0);
	d->mode = 0;
	atomic_store(&d->dirty, 1);
}

void dispatch_set_active(struct dispatch *d, int active)
{
	atomic_store(&d->active, active != 0);
	atomic_store(&d->dirty, 1);
}

int dispatch_dirty(const struct dispatch *d)
{
	return atomic_load(&d->dirty);
}

/* ---- the capture types ------------------------------------------------------ */

static int word_in(const char *list, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, w, n))
			return 1;
		p += k;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return 0;
}

const char *dispatch_effective_type(const char *node_type, const char *requested,
                                    const char **why)
{
	const char *allowed = capture_types_for_node(node_type);
	if (!allowed) {
		if (why)
			*why = "node type not capturable";
		return NULL;
	}
	if (requested && *requested) {
		if (word_in(allowed, requested))
			return requested;
		if (why)
			*why = "not allowed";
		return NULL;
	}
	if (!strncmp(allowed, "afpacket", 8))
		return "afpacket";
	if (!strncmp(allowed, "ovssflow", 8))
		return "ovssflow";
	if (!strncmp(allowed, "ovsmirror", 9))
		return "ovsmirror";
	if (!strncmp(allowed, "dpdk", 4))
		return "dpdk";
	if (why)
		*why = "no default capture type";
	return NULL;
}

/* ---- the run ---------------------------------------------------------------- */

struct caps {
	struct capture_def *v;
	size_t n, cap;
	int oom;
};

static int copy_cap(void *user, const struct capture_def *c)
{
	struct caps *cs = user;
	if (cs->n == cs->cap) {
		size_t nc = cs->cap ? cs->cap * 2 : 8;
		struct capture_def *nv = realloc(cs->v, nc * sizeof(*nv));
		if (!nv) {
			cs->oom = 1;
			return 1;
		}
		cs->v = nv;
		cs->cap = nc;
	}
	if (capture_def_copy(&cs->v[cs->n], c)) {
		capture_def_clear(&cs->v[cs->n]);
		cs->oom = 1;
		return 1;
	}
	cs->n++;
	return 0;
}

/* What the agent says of capture cap in node metadata Captures; NULL when absent. */
static char *agent_capture_state(const json_t *md, const char *cap)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(md, "Captures"), i, e)
	{
		const char *id = json_string_value(json_object_get(e, "ID"));
		if (!id || strcmp(id, cap))
			continue;
		const char *st = json_string_value(json_object_get(e, "State"));
		const char *er = json_string_value(json_object_get(e, "Error"));
		char buf[600];
		if (st && !strcmp(st, "active"))
			return strdup("active");
		snprintf(buf, sizeof(buf), "error: %s", er && *er ? er : st ? st : "unknown");
		return strdup(buf);
	}
	return NULL;
}

static void set_node_status(json_t *crep, const char *node, const char *fmt, const char *a,
                            const char *b)
{
	char buf[512];
	snprintf(buf, sizeof(buf), fmt, a, b);
	json_object_set_new(json_object_get(crep, "Nodes"), node, json_string(buf));
}

/* Evaluates capture c on view v: fills its report, marks existing pairs seen and adds
 * the new ones (to_start). */
static int eval_capture(struct dispatch *d, const struct graph_view *v,
                        const struct capture_def *c, size_t capidx, json_t *crep,
                        int64_t now_ms)
{
	struct gremlin_error ge = {0};
	struct gremlin_query *q = gremlin_parse(c->gremlin_query, &ge);
	struct gremlin_env env = {.now_ms = now_ms};
	struct gremlin_result res = {0};
	int rc = q ? gremlin_eval(q, v, &env, &res, &ge) : -EINVAL;
	gremlin_query_free(q);
	if (rc || res.kind != GREMLIN_RESULT_NODES) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s",
		         rc ? ge.msg : "GremlinQuery does not return nodes: nothing to capture on");
		json_object_set_new(crep, "Error", json_string(msg));
		/* keep what was started: a transient failure must not stop captures */
		for (size_t i = 0; i < d->npairs; i++)
			if (!strcmp(d->pairs[i].cap, c->uuid))
				d->pairs[i].seen = 1;
		json_decref(res.json);
		return -1;
	}
	json_int_t ignored = 0;
	size_t i;
	json_t *n;
	json_array_foreach(res.json, i, n)
	{
		const char *id = json_string_value(json_object_get(n, "ID"));
		const char *host = json_string_value(json_object_get(n, "Host"));
		json_t *md = json_object_get(n, "Metadata");
		const char *ntype = json_string_value(json_object_get(md, "Type"));
		const char *state = json_string_value(json_object_get(md, "State"));
		const char *why = NULL;
		if (!id)
			continue;
		const char *t = dispatch_effective_type(ntype, c->type, &why);
		if (!t) {
			if (capture_types_for_node(ntype))
				set_node_status(crep, id,
				                "skipped: Capture type %s not allowed on this node "
				                "type (%s)",
				                c->type, ntype);
			else
				ignored++; /* Skydive ignores nodes that cannot be captured */
			continue;
		}
		if (state && !strcmp(state, "DOWN")) {
			set_node_status(crep, id, "skipped: %sCan't start capture on node down", "",
			                NULL);
			continue;
		}
		if (!d->mode) { /* a follower: what the agent says, or who should start it */
			char *as = agent_capture_state(md, c->uuid);
			set_node_status(crep, id, "%s%s",
			                as ? as : "waiting: started by the analyzer elected to ",
			                as ? "" : "dispatch (GET /api/status: Cluster.Elections)");
			free(as);
			continue;
		}
		if (!host_connected(d, host)) {
			set_node_status(crep, id, "waiting: agent %s not connected%s",
			                host && *host ? host : "(no Host)", "");
			continue;
		}
		struct pair *p = pair_find(d, c->uuid, id);
		if (!p) {
			if (!(p = pair_add(d, c->uuid, id, host))) {
				log_error("dispatch: out of memory: capture %s not started on %s",
				          c->uuid, id);
				atomic_store(&d->dirty, 1);
				continue;
			}
			p->to_start = 1;
			p->capidx = capidx;
		}
		p->seen = 1;
		free(p->agent_state);
		p->agent_state = agent_capture_state(md, c->uuid);
	}
	json_object_set_new(crep, "Ignored", json_integer(ignored));
	json_decref(res.json);
	return 0;
}

/* A capture a node's Captures metadata shows that the dispatcher does not want there. */
struct orphan {
	char cap[37];
	char *node, *host;
};

struct orphans {
	struct orphan *v;
	size_t n, cap;
};

/* Whether capture uuid is one of cs, and its evaluation failed (failed[i]). */
static int cap_known(const struct capture_def *cs, size_t n, const unsigned char *failed,
                     const char *uuid, int *fail)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(cs[i].uuid, uuid)) {
			*fail = failed[i];
			return 1;
		}
	return 0;
}

/* The captures the nodes of v show (an agent's Captures metadata) with no pair here:
 * deleted, or on a node no longer matching, while no analyzer was dispatching (or
 * before this one was elected). Skipped: captures whose query failed this run (nothing
 * is stopped on a failed evaluation), agents not connected here, Stops already sent. */
static void find_orphans(struct dispatch *d, const struct graph_view *v,
                         const struct capture_def *cs, size_t ncs, const unsigned char *failed,
                         struct orphans *out)
{
	size_t n = graph_view_node_count(v);
	for (size_t i = 0; i < n; i++) {
		const struct graph_node *node = graph_view_node(v, i);
		json_t *caps = json_object_get(node->e.metadata, "Captures");
		if (!json_array_size(caps) || !host_connected(d, node->e.host))
			continue;
		size_t k;
		json_t *e;
		json_array_foreach(caps, k, e)
		{
			const char *id = json_string_value(json_object_get(e, "ID"));
			int fail = 0;
			if (!id || strlen(id) >= sizeof(out->v->cap) ||
			    pair_find(d, id, node->e.id) ||
			    (cap_known(cs, ncs, failed, id, &fail) && fail) ||
			    stop_pending(d, id, node->e.id))
				continue;
			if (out->n == out->cap) {
				size_t nc = out->cap ? out->cap * 2 : 8;
				struct orphan *nv = realloc(out->v, nc * sizeof(*nv));
				if (!nv)
					return; /* the next run finds the rest */
				out->v = nv;
				out->cap = nc;
			}
			struct orphan *o = &out->v[out->n];
			snprintf(o->cap, sizeof(o->cap), "%s", id);
			o->node = strdup(node->e.id);
			o->host = strdup(node->e.host);
			if (!o->node || !o->host) {
				free(o->node);
				free(o->host);
				return;
			}
			out->n++;
		}
	}
}

static json_t *ondemand(const char *type, const char *req, const char *node, json_t *resource)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:o}}", "Namespace", DISPATCH_NAMESPACE, "Type",
	                 type, "UUID", req, "Obj", "NodeID", node, "Resource", resource);
}

int dispatch_run(struct dispatch *d, int64_t now_ms)
{
	int sent = 0;
	atomic_store(&d->dirty, 0);
	d->last_run_ms = now_ms;
	d->runs++;
	struct caps cs = {0};
	struct orphans orph = {0};
	json_t *report = NULL;
	if (d->r)
		capture_res_foreach(d->r, copy_cap, &cs);
	if (cs.oom || !(report = json_object())) {
		log_error("dispatch: out of memory reading the captures; retrying");
		atomic_store(&d->dirty, 1);
		goto out;
	}
	int active = atomic_load(&d->active);
	if (active != d->mode) {
		/* Elected: start afresh (every wanted pair gets its Start, unwanted captures
		 * their Stop). Not elected any more: the pairs are the next dispatcher's; the
		 * captures keep running. */
		while (d->npairs)
			pair_remove(d, d->npairs - 1);
		d->mode = active;
		log_info("dispatch: %s", active ? "elected to dispatch the captures"
		                                : "no longer dispatching the captures (another "
		                                  "analyzer is elected, or etcd cannot tell)");
	}
	for (size_t i = d->nstops; i-- > 0;)
		if (d->stops[i].until_ms <= now_ms)
			stop_forget(d, i);
	for (size_t i = 0; i < d->npairs; i++)
		d->pairs[i].seen = d->pairs[i].to_start = 0;

	unsigned char *failed = calloc(cs.n + 1, 1);
	if (!failed) {
		log_error("dispatch: out of memory evaluating the captures; retrying");
		atomic_store(&d->dirty, 1);
		goto out;
	}
	graph_rdlock(d->g);
	struct graph_view *v = graph_view_at(d->g, 0, NULL);
	for (size_t c = 0; v && c < cs.n; c++) {
		json_t *crep = json_pack("{s:{}}", "Nodes");
		if (!crep) {
			failed[c] = 1;
			continue;
		}
		failed[c] = eval_capture(d, v, &cs.v[c], c, crep, now_ms) != 0;
		json_object_set_new(report, cs.v[c].uuid, crep);
	}
	/* only once the shared capture set is current: one not read yet from etcd would
	 * make every running capture look deleted */
	if (v && d->mode && d->clustered && (!d->ready || d->ready(d->ready_user)))
		find_orphans(d, v, cs.v, cs.n, failed, &orph);
	graph_view_free(v);
	graph_unlock(d->g);
	free(failed);
	if (!v) {
		log_error("dispatch: out of memory viewing the graph; retrying");
		atomic_store(&d->dirty, 1);
		for (size_t i = 0; i < d->npairs; i++)
			d->pairs[i].seen = 1; /* stop nothing on a failed evaluation */
	}

	/* Stops: pairs no longer wanted (node gone or not matching, capture deleted).
	 * A pair in error gets its Stop too: the agent keeps the failed capture's
	 * entry (State error) in the node's Captures until told to stop, as Skydive's
	 * OnDemand client sends Stop to every node whose Captures holds the ID
	 * (graffiti/ondemand/client/client.go, unregisterResource). */
	for (size_t i = d->npairs; i-- > 0;) {
		struct pair *p = &d->pairs[i];
		if (p->seen)
			continue;
		if (host_connected(d, p->host)) {
			char req[37];
			req_id(d, req);
			json_t *m = ondemand("Stop", req, p->node, json_pack("{s:s}", "UUID", p->cap));
			if (m && d->send(d->user, p->host, m) == 0) {
				d->stops_sent++;
				sent++;
				stop_remember(d, req, p->cap, p->node, now_ms);
				log_info("dispatch: capture %s stopping on node %s (agent %s)", p->cap,
				         p->node, p->host);
			} else {
				d->send_failed++;
				log_warn("dispatch: cannot send Stop of capture %s to agent %s (send "
				         "queue full); the agent keeps capturing until it reconnects",
				         p->cap, p->host);
			}
		}
		pair_remove(d, i);
	}
	/* Stops of the captures no analyzer wants on their node any more. */
	for (size_t i = 0; i < orph.n; i++) {
		struct orphan *o = &orph.v[i];
		char req[37];
		req_id(d, req);
		json_t *m = ondemand("Stop", req, o->node, json_pack("{s:s}", "UUID", o->cap));
		if (m && d->send(d->user, o->host, m) == 0) {
			d->stops_sent++;
			d->orphans++;
			sent++;
			stop_remember(d, req, o->cap, o->node, now_ms);
			log_info("dispatch: capture %s on node %s (agent %s) is not wanted there "
			         "(deleted, or the node no longer matches): stopping",
			         o->cap, o->node, o->host);
		} else {
			d->send_failed++;
			atomic_store(&d->dirty, 1); /* tried again on the next run */
		}
	}
	/* Starts: pairs new in this run. */
	for (size_t i = d->npairs; i-- > 0;) {
		struct pair *p = &d->pairs[i];
		if (!p->to_start)
			continue;
		const struct capture_def *c = &cs.v[p->capidx];
		p->to_start = 0;
		req_id(d, p->req);
		json_t *m = ondemand("Start", p->req, p->node, capture_def_to_json(c, 0));
		if (m && d->send(d->user, p->host, m) == 0) {
			d->starts++;
			sent++;
			p->state = PAIR_STARTING;
			log_info("dispatch: capture %s (%s) starting on node %s (agent %s)", c->uuid,
			         c->type[0] ? c->type : "default type", p->node, p->host);
		} else {
			d->send_failed++;
			log_warn("dispatch: cannot send Start of capture %s to agent %s (send queue "
			         "full); retrying",
			         c->uuid, p->host);
			atomic_store(&d->dirty, 1);
			pair_remove(d, i);
		}
	}
	json_decref(d->report);
	d->report = report;
	report = NULL;
out:
	for (size_t i = 0; i < orph.n; i++) {
		free(orph.v[i].node);
		free(orph.v[i].host);
	}
	free(orph.v);
	json_decref(report);
	for (size_t i = 0; i < cs.n; i++)
		capture_def_clear(&cs.v[i]);
	free(cs.v);
	return sent;
}

int dispatch_poll(struct dispatch *d, int64_t now_ms)
{
	if (!atomic_load(&d->dirty) ||
	    (d->runs && now_ms - d->last_run_ms < DISPATCH_DEBOUNCE_MS && now_ms >= d->last_run_ms))
		return 0;
	return dispatch_run(d, now_ms);
}

/* ---- replies and status ---------------------------------------------------- */

int dispatch_reply(struct dispatch *d, const char *host, const json_t *msg)
{
	const char *req = json_string_value(json_object_get(msg, "UUID"));
	const char *type = json_string_value(json_object_get(msg, "Type"));
	json_t *st = json_object_get(msg, "Status");
	int status = json_is_integer(st) ? (int)json_integer_value(st) : 0;
	const char *err = json_string_value(json_object_get(json_object_get(msg, "Obj"), "Error"));
	char why[600];
	snprintf(why, sizeof(why), "%s", err && *err ? err : "");
	if (!why[0])
		snprintf(why, sizeof(why), "agent answered status %d", status);
	int ok = status >= 200 && status < 300;
	if (!req || !*req) {
		d->stale_replies++;
		return -ENOENT;
	}
	for (size_t i = 0; i < d->npairs; i++) {
		struct pair *p = &d->pairs[i];
		if (strcmp(p->req, req))
			continue;
		if (ok) {
			p->state = PAIR_STARTED;
		} else if (p->state != PAIR_ERROR) {
			p->state = PAIR_ERROR;
			free(p->error);
			p->error = strdup(why);
			d->error_replies++;
			log_warn("dispatch: agent %s could not start capture %s on node %s: %s "
			         "(fix the capture or the node, then recreate the capture)",
			         host, p->cap, p->node, why);
		}
		return 0;
	}
	for (size_t i = 0; i < d->nstops; i++) {
		if (strcmp(d->stops[i].req, req))
			continue;
		if (!ok) {
			d->stop_errors++;
			log_warn("dispatch: agent %s could not stop capture %s on node %s: %s", host,
			         d->stops[i].cap, d->stops[i].node, why);
		}
		d->stops[i].req[0] = 0; /* answered; remembered until its until_ms */
		return 0;
	}
	d->stale_replies++;
	log_debug("dispatch: %s reply %s from %s matches no request (stale)", type ? type : "?",
	          req, host);
	return -ENOENT;
}

json_t *dispatch_status_json(struct dispatch *d)
{
	json_t *out = json_deep_copy(d->report);
	if (!out)
		return NULL;
	for (size_t i = 0; i < d->npairs; i++) {
		const struct pair *p = &d->pairs[i];
		json_t *crep = json_object_get(out, p->cap);
		if (!crep) {
			crep = json_pack("{s:{}}", "Nodes");
			if (!crep || json_object_set_new(out, p->cap, crep))
				continue;
		}
		json_t *nodes = json_object_get(crep, "Nodes");
		char buf[700];
		if (p->state == PAIR_ERROR)
			snprintf(buf, sizeof(buf), "error: %s", p->error ? p->error : "unknown");
		else if (p->agent_state)
			snprintf(buf, sizeof(buf), "%s", p->agent_state);
		else
			snprintf(buf, sizeof(buf), "%s",
			         p->state == PAIR_STARTED ? "started" : "starting");
		json_object_set_new(nodes, p->node, json_string(buf));
	}
	json_object_set_new(
	    out, "Dispatch",
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "Runs",
	              (json_int_t)d->runs, "StartsSent", (json_int_t)d->starts, "StopsSent",
	              (json_int_t)d->stops_sent, "OrphansStopped", (json_int_t)d->orphans,
	              "SendFailed", (json_int_t)d->send_failed, "ErrorReplies",
	              (json_int_t)d->error_replies, "StopErrors", (json_int_t)d->stop_errors,
	              "StaleReplies", (json_int_t)d->stale_replies, "ConnectedAgents",
	              (json_int_t)d->nhosts, "IsMaster", d->mode));
	return out;
}

void dispatch_stats(const struct dispatch *d, struct dispatch_stats *out)
{
	*out = (struct dispatch_stats){.runs = d->runs,
	                               .starts = d->starts,
	                               .stops_sent = d->stops_sent,
	                               .orphans = d->orphans,
	                               .is_master = d->mode,
	                               .send_failed = d->send_failed,
	                               .error_replies = d->error_replies,
	                               .stop_errors = d->stop_errors,
	                               .stale_replies = d->stale_replies,
	                               .agents = d->nhosts};
}

json_t *dispatch_capture_counts(struct graph *g)
{
	json_t *out = json_object();
	if (!out)
		return NULL;
	graph_rdlock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	size_t n = v ? graph_view_node_count(v) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct graph_node *node = graph_view_node(v, i);
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(node->e.metadata, "Captures"), k, e)
		{
			const char *id = json_string_value(json_object_get(e, "ID"));
			const char *st = json_string_value(json_object_get(e, "State"));
			if (!id || !st || strcmp(st, "active"))
				continue;
			json_t *c = json_object_get(out, id);
			json_object_set_new(out, id,
			                    json_integer(c ? json_integer_value(c) + 1 : 1));
		}
	}
	graph_view_free(v);
	graph_unlock(g);
	return out;
}
