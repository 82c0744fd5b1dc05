/* user_topo.c - /api/node and /api/edge (user_topo.h): validation as Skydive's node.schema
 * and edge.schema, the two stores, the REST handlers, and the thread that puts an edge
 * waiting for its ends into the graph when they appear. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/user_topo.h"
#include "common/json_patch.h"
#include "common/log.h"

#define ID_MAX   256 /* bytes of an ID, a Host, an Origin */
#define CT_TEXT  "text/plain; charset=UTF-8"
#define NODE     0
#define EDGE     1

static const char *const kind_name[2] = {"node", "edge"};
static const char *const kind_title[2] = {"Node", "Edge"};

/* Lock order: the graph's lock, then mu; op is taken before either. */
struct user_topo {
	struct graph *g;
	char host_id[ID_MAX + 1];
	struct res_store st[2];
	pthread_mutex_t op; /* one API write at a time: check, store, graph */
	pthread_mutex_t mu; /* all, ends, dirty, stop */
	pthread_cond_t cv;
	json_t *all[2]; /* {"<ID>": stored element} */
	json_t *ends;   /* {"<node ID>": number of stored edges with that end} */
	int dirty, stop, started, listener;
	pthread_t thread;
};

/* ---- validation (node.schema, edge.schema) ---------------------------------------- */

/* IDs travel in URL paths (/api/node/<ID>): printable ASCII without the characters a
 * path or a query gives a meaning to. */
static int id_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > ID_MAX)
		return 0;
	for (const char *c = s; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f || strchr("/?#%\\\"'", *c))
			return 0;
	return 1;
}

static int want_string(json_t *obj, const char *key, int required, const char *what,
                       struct res_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return required ? res_fail(err, -1, "%s: %s is required", what, key) : 0;
	if (!json_is_string(v) || (required && !json_string_length(v)))
		return res_fail(err, -1, "%s: %s must be a%s string", what, key,
		                required ? " non-empty" : "");
	return 0;
}

static int check_metadata(int edge, json_t *md, struct res_error *err)
{
	if (!json_is_object(md))
		return res_fail(err, -1, "Metadata is required: a JSON object (%s)",
		                edge ? "with a RelationType, e.g. {\"RelationType\": \"layer2\"}"
		                     : "with a Name and a Type, e.g. {\"Name\": \"n1\", \"Type\": "
		                       "\"device\"}");
	if (edge)
		return want_string(md, "RelationType", 1, "Metadata", err);
	int rc = want_string(md, "Name", 1, "Metadata", err);
	if (!rc)
		rc = want_string(md, "Type", 1, "Metadata", err);
	if (rc)
		return rc;
	const char *type = json_string_value(json_object_get(md, "Type"));
	/* node.schema's nsMetadata and ovsMetadata */
	if (!strcmp(type, "netns"))
		return want_string(md, "Path", 1, "Metadata of a netns node", err);
	if (!strcmp(type, "ovsport"))
		return want_string(md, "UUID", 1, "Metadata of an ovsport node", err);
	return 0;
}

static int check_ref(json_t *obj, const char *key, struct res_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || !json_string_length(v))
		return res_fail(err, -1, "%s is required: the ID of an existing node", key);
	if (!id_ok(json_string_value(v)))
		return res_fail(err, -1, "%s '%.100s' is not a node ID (printable ASCII without "
		                         "spaces, / ? # %% \\ or quotes, at most %d bytes)",
		                key, json_string_value(v), ID_MAX);
	return 0;
}

int user_topo_validate(int edge, json_t *obj, const char *host_id, struct res_error *err)
{
	static const char *const known[] = {"ID",        "Metadata", "Host",      "Origin",
	                                    "CreatedAt", "UpdatedAt", "Revision", "DeletedAt",
	                                    "Parent",    "Child"};
	const char *what = kind_title[edge ? EDGE : NODE];
	err->pos = -1;
	if (!json_is_object(obj))
		return res_fail(err, -1, "a %s is a JSON object", what);
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		size_t i, n = edge ? 10 : 8;
		for (i = 0; i < n && strcmp(key, known[i]); i++)
			;
		if (i == n)
			return res_fail(err, -1,
			                "unknown field '%.64s' in a %s (Skydive's %s.schema: ID, "
			                "Metadata, Host, Origin, CreatedAt, UpdatedAt%s)",
			                key, what, kind_name[edge ? EDGE : NODE],
			                edge ? ", Parent, Child" : "");
	}
	v = json_object_get(obj, "ID");
	if (v && !json_is_null(v) && !(json_is_string(v) && id_ok(json_string_value(v))))
		return res_fail(err, -1,
		                "ID must be a non-empty string of printable ASCII without spaces, "
		                "/ ? # %% \\ or quotes, at most %d bytes (or absent: one is made)",
		                ID_MAX);
	int rc = 0;
	for (int i = 0; !rc && i < 2; i++) {
		const char *k = i ? "Origin" : "Host";
		rc = want_string(obj, k, 0, what, err);
		if (!rc && json_string_length(json_object_get(obj, k)) > ID_MAX)
			rc = res_fail(err, -1, "%s: %s is longer than %d bytes", what, k, ID_MAX);
	}
	/* the graph writes its own times and revision; Skydive's schema types them */
	for (int i = 4; !rc && i < 8; i++) {
		v = json_object_get(obj, known[i]);
		if (v && !json_is_null(v) && !json_is_integer(v))
			rc = res_fail(err, -1, "%s: %s must be an integer (ms since the epoch) or null",
			              what, known[i]);
		else if (i == 7 && json_integer_value(v))
			rc = res_fail(err, -1, "%s: DeletedAt is set: a deleted element cannot be "
			                       "created", what);
	}
	if (!rc)
		rc = check_metadata(edge, json_object_get(obj, "Metadata"), err);
	if (!rc && edge)
		rc = check_ref(obj, "Parent", err);
	if (!rc && edge)
		rc = check_ref(obj, "Child", err);
	const char *origin = json_string_value(json_object_get(obj, "Origin"));
	static const char *const peers[] = {"agent.", "analyzer.", "publisher.", "subscriber."};
	for (size_t i = 0; !rc && origin && i < sizeof(peers) / sizeof(peers[0]); i++)
		if (!strncmp(origin, peers[i], strlen(peers[i])))
			rc = res_fail(err, -1,
			              "Origin '%.100s' is a connected peer's (%s...): a Sync or the "
			              "disconnection of that peer would remove this %s; leave it out "
			              "(api.<host>) or name another",
			              origin, peers[i], kind_name[edge ? EDGE : NODE]);
	if (rc)
		return rc;
	/* normalised: what is stored, defaults filled */
	char id[37], org[ID_MAX + 8];
	if (!json_is_string(json_object_get(obj, "ID"))) {
		if ((rc = res_uuid_new(id)))
			return rc;
		if (json_object_set_new(obj, "ID", json_string(id)))
			return -ENOMEM;
	}
	if (!json_string_length(json_object_get(obj, "Host")) &&
	    json_object_set_new(obj, "Host", json_string(host_id)))
		return -ENOMEM;
	snprintf(org, sizeof(org), "api.%s", host_id); /* Skydive's graph.Origin(host, "api") */
	if (!json_string_length(json_object_get(obj, "Origin")) &&
	    json_object_set_new(obj, "Origin", json_string(org)))
		return -ENOMEM;
	for (int i = 4; i < 8; i++)
		json_object_del(obj, known[i]);
	return 0;
}

/* ---- stores and the graph --------------------------------------------------------- */

static const char *sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ends[id] += d (mu held); 0 or -ENOMEM */
static int ends_add(struct user_topo *t, const char *id, int d)
{
	json_int_t n = json_integer_value(json_object_get(t->ends, id)) + d;
	if (n <= 0)
		return json_object_del(t->ends, id), 0;
	return json_object_set_new(t->ends, id, json_integer(n)) ? -ENOMEM : 0;
}

static void edge_ends(struct user_topo *t, const json_t *e, int d)
{
	if (ends_add(t, sget(e, "Parent"), d) || ends_add(t, sget(e, "Child"), d))
		log_error("api: out of memory: a user edge may wait for a node longer");
}

/* Adds stored element o (borrowed) to the graph (lock held): 0, -EEXIST, -ENOENT (an edge
 * end is missing), -ENOMEM. */
static int graph_put(struct user_topo *t, int k, const json_t *o, int64_t now)
{
	json_t *md = json_deep_copy(json_object_get(o, "Metadata"));
	if (!md)
		return -ENOMEM;
	if (k == NODE)
		return graph_node_add(t->g, sget(o, "ID"), md, sget(o, "Host"), sget(o, "Origin"),
		                      now);
	return graph_edge_add(t->g, sget(o, "ID"), sget(o, "Parent"), sget(o, "Child"), md,
	                      sget(o, "Host"), sget(o, "Origin"), now);
}

/* Saves all[k] (mu held); 0 or -errno with err filled. */
static int save(struct user_topo *t, int k, char *err, size_t errlen)
{
	return t->st[k].save(t->st[k].ctx, t->all[k], err, errlen);
}

/* Puts the stored edges whose ends are there into the graph; the pending stay. */
static void put_pending(struct user_topo *t)
{
	pthread_mutex_lock(&t->mu);
	json_t *snap = json_copy(t->all[EDGE]); /* shallow: stored objects are never changed */
	pthread_mutex_unlock(&t->mu);
	if (!snap)
		return;
	const char *id;
	json_t *e;
	int64_t now = rest_now_ms();
	size_t added = 0;
	graph_lock(t->g);
	json_object_foreach(snap, id, e)
	{
		int rc = graph_put(t, EDGE, e, now);
		if (!rc)
			added++;
		else if (rc == -ENOMEM)
			log_error("api: out of memory putting edge %s in the graph", id);
	}
	graph_unlock(t->g);
	json_decref(snap);
	if (added)
		log_info("api: %zu user edges put in the graph (their nodes appeared)", added);
}

static void *pending_thread(void *arg)
{
	struct user_topo *t = arg;
	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (!t->dirty && !t->stop)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->stop)
			break;
		t->dirty = 0;
		pthread_mutex_unlock(&t->mu);
		put_pending(t);
		pthread_mutex_lock(&t->mu);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* graph listener (writer side held): a node a stored edge names appeared */
static void on_graph(void *user, enum graph_event ev, const struct graph_node *n,
                     const struct graph_edge *e)
{
	struct user_topo *t = user;
	(void)e;
	if (ev != GRAPH_NODE_ADDED)
		return;
	pthread_mutex_lock(&t->mu);
	if (json_object_get(t->ends, n->e.id)) {
		t->dirty = 1;
		pthread_cond_signal(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
}

/* Validates what a store gave; keeps the valid ones in all[k]. */
static int adopt(struct user_topo *t, int k, json_t *loaded)
{
	const char *id;
	json_t *o;
	size_t dropped = 0;
	json_object_foreach(loaded, id, o)
	{
		struct res_error e;
		json_t *c = json_deep_copy(o);
		int rc = c ? user_topo_validate(k, c, t->host_id, &e) : -ENOMEM;
		if (!rc && strcmp(sget(c, "ID"), id))
			rc = res_fail(&e, -1, "stored under '%.100s' but its ID is '%.100s'", id,
			              sget(c, "ID"));
		if (!rc && json_object_set(t->all[k], id, c))
			rc = -ENOMEM;
		if (!rc && k == EDGE)
			edge_ends(t, c, 1);
		json_decref(c);
		if (rc == -ENOMEM)
			return rc;
		if (rc) {
			log_error("api: stored %s '%.100s' dropped: %s", kind_name[k], id, e.msg);
			dropped++;
		}
	}
	log_info("api: %zu user %ss loaded%s", json_object_size(t->all[k]), kind_name[k],
	         dropped ? " (some dropped as invalid: see above)" : "");
	return 0;
}

struct user_topo *user_topo_new_store(struct graph *g, const char *host_id,
                                      struct res_store nodes, struct res_store edges, char *err,
                                      size_t errlen)
{
	struct user_topo *t = calloc(1, sizeof(*t));
	if (!t) {
		for (int k = 0; k < 2; k++) {
			struct res_store *s = k ? &edges : &nodes;
			if (s->free)
				s->free(s->ctx);
		}
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->g = g;
	t->listener = -1;
	snprintf(t->host_id, sizeof(t->host_id), "%s", host_id && *host_id ? host_id : "localhost");
	t->st[NODE] = nodes;
	t->st[EDGE] = edges;
	pthread_mutex_init(&t->op, NULL);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->all[NODE] = json_object();
	t->all[EDGE] = json_object();
	t->ends = json_object();
	if (!t->all[NODE] || !t->all[EDGE] || !t->ends)
		goto oom;
	for (int k = 0; k < 2; k++) {
		json_t *loaded = NULL;
		int rc = t->st[k].load(t->st[k].ctx, &loaded);
		if (!rc)
			rc = adopt(t, k, loaded);
		json_decref(loaded);
		if (rc) {
			snprintf(err, errlen, "cannot load the user %ss: %s", kind_name[k],
			         strerror(-rc));
			goto fail;
		}
	}
	/* back in the graph: the nodes, then the edges whose ends are there */
	int64_t now = rest_now_ms();
	graph_lock(g);
	const char *id;
	json_t *o;
	json_object_foreach(t->all[NODE], id, o)
	{
		int rc = graph_put(t, NODE, o, now);
		if (rc)
			log_warn("api: user node %s not put back in the graph: %s", id,
			         rc == -EEXIST ? "an element with this ID exists" : strerror(-rc));
	}
	t->listener = graph_listener_add(g, on_graph, t);
	graph_unlock(g);
	if (t->listener < 0)
		goto oom;
	put_pending(t);
	if (pthread_create(&t->thread, NULL, pending_thread, t)) {
		snprintf(err, errlen, "cannot start the user edge thread");
		goto fail;
	}
	t->started = 1;
	return t;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	user_topo_free(t);
	return NULL;
}

struct user_topo *user_topo_new(const char *data_dir, struct graph *g, const char *host_id,
                                char *err, size_t errlen)
{
	struct res_store s[2] = {{0}, {0}};
	if (res_store_file(data_dir, "nodes.json", &s[0]) ||
	    res_store_file(data_dir, "edges.json", &s[1])) {
		if (s[0].free)
			s[0].free(s[0].ctx);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return user_topo_new_store(g, host_id, s[0], s[1], err, errlen);
}

void user_topo_free(struct user_topo *t)
{
	if (!t)
		return;
	if (t->listener >= 0) {
		graph_lock(t->g);
		graph_listener_remove(t->g, t->listener);
		graph_unlock(t->g);
	}
	if (t->started) {
		pthread_mutex_lock(&t->mu);
		t->stop = 1;
		pthread_cond_signal(&t->cv);
		pthread_mutex_unlock(&t->mu);
		pthread_join(t->thread, NULL);
	}
	for (int k = 0; k < 2; k++) {
		if (t->st[k].free)
			t->st[k].free(t->st[k].ctx);
		json_decref(t->all[k]);
	}
	json_decref(t->ends);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	pthread_mutex_destroy(&t->op);
	free(t);
}

void user_topo_stats(struct user_topo *t, struct user_topo_stats *out)
{
	memset(out, 0, sizeof(*out));
	graph_rdlock(t->g);
	struct graph_view *v = graph_view_at(t->g, 0, NULL);
	pthread_mutex_lock(&t->mu);
	out->nodes = json_object_size(t->all[NODE]);
	out->edges = json_object_size(t->all[EDGE]);
	const char *id;
	json_t *o;
	json_object_foreach(t->all[EDGE], id, o)
	{
		if (!v || !graph_view_edge_get(v, id))
			out->pending_edges++;
	}
	pthread_mutex_unlock(&t->mu);
	graph_view_free(v);
	graph_unlock(t->g);
}

/* ---- REST ------------------------------------------------------------------------- */

/* The element k id as the graph has it (new reference), or NULL. */
static json_t *graph_get(struct user_topo *t, int k, const char *id)
{
	json_t *j = NULL;
	graph_rdlock(t->g);
	struct graph_view *v = graph_view_at(t->g, 0, NULL);
	if (v && k == NODE) {
		const struct graph_node *n = graph_view_node_get(v, id);
		j = n ? graph_node_to_json(n) : NULL;
	} else if (v) {
		const struct graph_edge *e = graph_view_edge_get(v, id);
		j = e ? graph_edge_to_json(e) : NULL;
	}
	graph_view_free(v);
	graph_unlock(t->g);
	return j;
}

static json_t *stored_get(struct user_topo *t, int k, const char *id)
{
	pthread_mutex_lock(&t->mu);
	json_t *o = json_incref(json_object_get(t->all[k], id));
	pthread_mutex_unlock(&t->mu);
	return o;
}

static void reply_res_err(struct rest_response *out, int status, const struct res_error *e)
{
	rest_reply_error(out, status, "%s", e->msg);
}

static void api_list(struct user_topo *t, int k, struct rest_response *out)
{
	json_t *all = json_object();
	graph_rdlock(t->g);
	struct graph_view *v = graph_view_at(t->g, 0, NULL);
	size_t n = !v ? 0 : k == NODE ? graph_view_node_count(v) : graph_view_edge_count(v);
	int bad = !all || !v;
	for (size_t i = 0; !bad && i < n; i++) {
		const struct graph_node *nd = k == NODE ? graph_view_node(v, i) : NULL;
		const struct graph_edge *ed = k == EDGE ? graph_view_edge(v, i) : NULL;
		json_t *j = nd ? graph_node_to_json(nd) : graph_edge_to_json(ed);
		bad = json_object_set_new(all, nd ? nd->e.id : ed->e.id, j);
	}
	graph_view_free(v);
	graph_unlock(t->g);
	if (bad) {
		json_decref(all);
		return rest_reply_error(out, 500, "out of memory");
	}
	rest_reply_json(out, 200, all);
}

/* 404 for an ID neither stored nor in the graph, 409 for an element of the graph this
 * API did not make (a probe's): Skydive would change it, and the probe would undo it. */
static void not_ours(struct user_topo *t, int k, const char *id, struct rest_response *out)
{
	json_t *j = graph_get(t, k, id);
	if (!j)
		return rest_reply_error(out, 404, "%s '%.100s' not found", kind_title[k], id);
	rest_reply_error(out, 409,
	                 "%s '%.100s' was not created through /api/%s (Origin '%.100s', Host "
	                 "'%.100s'): it belongs to its probe or peer, which would undo the "
	                 "change; only nodes and edges created through the API can be "
	                 "changed or deleted here",
	                 kind_title[k], id, kind_name[k], sget(j, "Origin") ? sget(j, "Origin") : "",
	                 sget(j, "Host") ? sget(j, "Host") : "");
	json_decref(j);
}

static void api_get(struct user_topo *t, int k, const char *id, struct rest_response *out)
{
	json_t *j = graph_get(t, k, id);
	if (j)
		return rest_reply_json(out, 200, j);
	json_t *o = k == EDGE ? stored_get(t, k, id) : NULL;
	if (o)
		rest_reply_error(out, 404,
		                 "Edge '%.100s' not found in the graph: it is kept and waits for "
		                 "its parent '%.100s' and child '%.100s' to be there",
		                 id, sget(o, "Parent"), sget(o, "Child"));
	else
		rest_reply_error(out, 404, "%s '%.100s' not found", kind_title[k], id);
	json_decref(o);
}

static void api_create(struct user_topo *t, int k, const struct res_request *req,
                       struct rest_response *out)
{
	struct res_error e = {.pos = -1};
	char example[64], serr[512];
	snprintf(example, sizeof(example), "a %s object", kind_title[k]);
	json_t *o = res_body_parse(req->content_type, req->body, req->body_len, example, &e);
	int rc = o ? user_topo_validate(k, o, t->host_id, &e) : -EINVAL;
	if (rc) {
		json_decref(o);
		return rc == -EINVAL ? reply_res_err(out, 400, &e)
		                     : rest_reply_error(out, 500, "%s not created: %s", kind_name[k],
		                                        strerror(-rc));
	}
	const char *id = sget(o, "ID");
	pthread_mutex_lock(&t->op);
	/* what graph/memory.go refuses, before anything is written */
	json_t *there = graph_get(t, k, id);
	json_t *stored = stored_get(t, k, id);
	int status = 0;
	if (there || stored)
		status = 409, snprintf(serr, sizeof(serr), "%s ID conflict: %s '%.100s' exists%s",
		                       kind_title[k], kind_name[k], id,
		                       !there ? " (kept, waiting for its nodes)" : "");
	for (int end = 0; !status && k == EDGE && end < 2; end++) {
		const char *key = end ? "Child" : "Parent";
		json_t *n = graph_get(t, NODE, sget(o, key));
		if (!n)
			status = 400, snprintf(serr, sizeof(serr), "%s node not found: '%.100s'",
			                       key, sget(o, key));
		json_decref(n);
	}
	json_decref(there);
	json_decref(stored);
	pthread_mutex_lock(&t->mu);
	if (!status && json_object_size(t->all[k]) >= USER_TOPO_MAX)
		status = 400, snprintf(serr, sizeof(serr),
		                       "%s not created: the analyzer keeps at most %d %ss created "
		                       "through the API",
		                       kind_name[k], USER_TOPO_MAX, kind_name[k]);
	if (!status && json_object_set(t->all[k], id, o))
		status = 500, snprintf(serr, sizeof(serr), "out of memory");
	char why[400];
	if (!status && save(t, k, why, sizeof(why))) {
		json_object_del(t->all[k], id);
		status = 500, snprintf(serr, sizeof(serr), "%s not created: %.400s", kind_name[k],
		                       why);
	}
	if (!status && k == EDGE)
		edge_ends(t, o, 1);
	pthread_mutex_unlock(&t->mu);
	if (!status) {
		graph_lock(t->g);
		rc = graph_put(t, k, o, rest_now_ms());
		graph_unlock(t->g);
		if (rc && rc != -ENOENT) {
			/* a peer's message made it meanwhile: undo the store */
			pthread_mutex_lock(&t->mu);
			json_object_del(t->all[k], id);
			if (k == EDGE)
				edge_ends(t, o, -1);
			if (save(t, k, why, sizeof(why)))
				log_error("api: %s %s: %s", kind_name[k], id, why);
			pthread_mutex_unlock(&t->mu);
			status = rc == -EEXIST ? 409 : 500;
			snprintf(serr, sizeof(serr), "%s not created: %s", kind_name[k],
			         rc == -EEXIST ? "an element with this ID appeared" : strerror(-rc));
		}
	}
	pthread_mutex_unlock(&t->op);
	if (status) {
		json_decref(o);
		return rest_reply_error(out, status, "%s", serr);
	}
	log_info("api: user %s %s created", kind_name[k], id);
	json_t *j = graph_get(t, k, id);
	rest_reply_json(out, 201, j ? j : json_incref(o)); /* an end may have gone meanwhile */
	json_decref(o);
}

/* PATCH: Skydive's patchMethod (server.go) with its words; only Metadata may change. */
static void api_patch(struct user_topo *t, int k, const char *id, const struct res_request *req,
                      struct rest_response *out)
{
	json_t *patch = NULL, *doc = NULL, *stored = NULL, *fresh = NULL, *before = NULL;
	char why[400];
	pthread_mutex_lock(&t->op);
	stored = stored_get(t, k, id);
	if (!stored) {
		pthread_mutex_unlock(&t->op);
		return not_ours(t, k, id, out);
	}
	doc = graph_get(t, k, id);
	if (!doc && !(doc = json_deep_copy(stored))) { /* an edge waiting for its ends */
		rest_reply_error(out, 500, "out of memory");
		goto out;
	}
	json_error_t je;
	patch = json_loadb(req->body ? req->body : "", req->body_len, 0, &je);
	if (!patch)
		snprintf(why, sizeof(why), "invalid JSON at line %d, column %d: %s", je.line,
		         je.column, je.text);
	if (!patch || json_patch_check(patch, why, sizeof(why))) {
		rest_reply_error(out, 400, "incorrect JSON patch: %s", why);
		goto out;
	}
	before = json_deep_copy(doc);
	if (!before || json_patch_apply(&doc, patch, why, sizeof(why))) {
		rest_reply_error(out, before ? 400 : 500, "applying JSON patch to resource: %s",
		                 before ? why : "out of memory");
		goto out;
	}
	/* every field but Metadata as it was (Skydive would drop such a change silently) */
	const char *key;
	json_t *v;
	const char *changed = NULL;
	json_object_foreach(before, key, v)
	{
		if (strcmp(key, "Metadata") && !json_equal(v, json_object_get(doc, key)))
			changed = key;
	}
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "Metadata") && !json_object_get(before, key))
			changed = key;
	}
	json_t *md = json_is_object(doc) ? json_object_get(doc, "Metadata") : NULL;
	json_t *old_md = json_object_get(before, "Metadata");
	static const char *const kept[] = {"TID", "Name", "Type"}; /* node.go Update */
	int in_md = 0;
	for (int i = 0; !changed && k == NODE && json_is_object(md) && i < 3; i++) {
		json_t *a = json_object_get(old_md, kept[i]), *b = json_object_get(md, kept[i]);
		if (!(a ? b && json_equal(a, b) : !b))
			changed = kept[i], in_md = 1;
	}
	if (changed || !json_is_object(doc)) {
		rest_reply_error(out, 400,
		                 "updating resource with patched version: %s%s cannot be changed "
		                 "(a patch may change the Metadata only%s)",
		                 in_md ? "Metadata." : "", changed ? changed : "the element's shape",
		                 k == NODE ? ", not a node's TID, Name or Type" : "");
		goto out;
	}
	if (!json_is_object(md)) {
		rest_reply_error(out, 400, "validating patched resource: Metadata is required: a "
		                           "JSON object");
		goto out;
	}
	struct res_error e;
	fresh = json_deep_copy(stored);
	int rc = !fresh || json_object_set(fresh, "Metadata", md) ? -ENOMEM : 0;
	if (!rc)
		rc = user_topo_validate(k, fresh, t->host_id, &e);
	if (rc) {
		if (rc == -EINVAL)
			rest_reply_error(out, 400, "validating patched resource: %s", e.msg);
		else
			rest_reply_error(out, 500, "out of memory");
		goto out;
	}
	if (json_equal(md, old_md)) {
		out->status = 304; /* Skydive: StatusNotModified, no body */
		out->content_type = CT_TEXT;
		goto out;
	}
	pthread_mutex_lock(&t->mu);
	rc = json_object_set(t->all[k], id, fresh) ? -ENOMEM : save(t, k, why, sizeof(why));
	if (rc)
		json_object_set(t->all[k], id, stored); /* as it was */
	pthread_mutex_unlock(&t->mu);
	if (rc) {
		rest_reply_error(out, 500, "%s not updated: %s", kind_name[k],
		                 rc == -ENOMEM ? "out of memory" : why);
		goto out;
	}
	json_t *nmd = json_deep_copy(md);
	graph_lock(t->g);
	rc = !nmd                ? -ENOMEM
	     : k == NODE         ? graph_node_set_metadata(t->g, id, nmd, rest_now_ms())
	                         : graph_edge_set_metadata(t->g, id, nmd, rest_now_ms());
	graph_unlock(t->g);
	if (rc && rc != -ENOENT)
		log_error("api: %s %s stored but not changed in the graph: %s", kind_name[k], id,
		          strerror(-rc));
	log_info("api: user %s %s updated", kind_name[k], id);
	json_t *j = graph_get(t, k, id);
	rest_reply_json(out, 200, j ? j : json_incref(fresh));
out:
	pthread_mutex_unlock(&t->op);
	json_decref(patch);
	json_decref(doc);
	json_decref(stored);
	json_decref(fresh);
	json_decref(before);
}

static void api_delete(struct user_topo *t, int k, const char *id, struct rest_response *out)
{
	char why[400];
	pthread_mutex_lock(&t->op);
	json_t *stored = stored_get(t, k, id);
	if (!stored) {
		pthread_mutex_unlock(&t->op);
		return not_ours(t, k, id, out);
	}
	/* a node takes its stored edges along, as the graph takes its edges */
	json_t *gone = json_object(); /* edges removed from the store: {"<ID>": edge} */
	int rc = gone ? 0 : -ENOMEM;
	pthread_mutex_lock(&t->mu);
	const char *eid;
	json_t *e;
	if (!rc && k == NODE)
		json_object_foreach(t->all[EDGE], eid, e)
		{
			if ((!strcmp(sget(e, "Parent"), id) || !strcmp(sget(e, "Child"), id)) &&
			    json_object_set(gone, eid, e))
				rc = -ENOMEM;
		}
	if (!rc && k == EDGE)
		rc = json_object_set(gone, id, stored) ? -ENOMEM : 0;
	if (!rc) {
		json_object_foreach(gone, eid, e)
			json_object_del(t->all[EDGE], eid);
		if (k == NODE)
			json_object_del(t->all[NODE], id);
		rc = json_object_size(gone) ? save(t, EDGE, why, sizeof(why)) : 0;
		int edges_saved = !rc && json_object_size(gone);
		if (!rc && k == NODE)
			rc = save(t, NODE, why, sizeof(why));
		if (rc) { /* put back what was taken: nothing changed */
			json_object_update(t->all[EDGE], gone);
			if (k == NODE)
				json_object_set(t->all[NODE], id, stored);
			char again[400];
			if (edges_saved && save(t, EDGE, again, sizeof(again)))
				log_error("api: %s", again);
		} else {
			json_object_foreach(gone, eid, e)
				edge_ends(t, e, -1);
		}
	} else
		snprintf(why, sizeof(why), "out of memory");
	pthread_mutex_unlock(&t->mu);
	if (!rc) {
		graph_lock(t->g);
		int64_t now = rest_now_ms();
		if (k == NODE)
			graph_node_delete(t->g, id, now); /* its edges too */
		else
			graph_edge_delete(t->g, id, now);
		graph_unlock(t->g);
	}
	pthread_mutex_unlock(&t->op);
	json_decref(gone);
	json_decref(stored);
	if (rc)
		return rest_reply_error(out, 500, "%s not deleted: %s", kind_name[k], why);
	log_info("api: user %s %s deleted", kind_name[k], id);
	out->status = 200;
	out->content_type = CT_TEXT;
}

void user_topo_handle(struct user_topo *t, const char *method, const char *path,
                      const char *content_type, const char *body, size_t body_len,
                      struct rest_response *out)
{
	memset(out, 0, sizeof(*out));
	const char *m = method ? method : "";
	path = path ? path : "";
	int k = !strncmp(path, "/api/edge", 9) ? EDGE : NODE;
	const char *p = strlen(path) >= 9 ? path + 9 : "";
	struct res_request req = {.method = m, .path = path, .content_type = content_type,
	                          .body = body, .body_len = body_len};
	if (!*p || !strcmp(p, "/")) {
		if (!strcmp(m, "GET"))
			return api_list(t, k, out);
		if (!strcmp(m, "POST"))
			return api_create(t, k, &req, out);
		return rest_reply_error(out, 405, "method %s not allowed on /api/%s (use GET or POST)",
		                        m, kind_name[k]);
	}
	const char *id = p + 1;
	if (*p != '/' || strchr(id, '/'))
		return rest_reply_error(out, 404, "no such endpoint: %.200s (use /api/%s or /api/%s/<ID>)",
		                        path, kind_name[k], kind_name[k]);
	if (!strcmp(m, "GET"))
		return api_get(t, k, id, out);
	if (!strcmp(m, "PATCH"))
		return api_patch(t, k, id, &req, out);
	if (!strcmp(m, "DELETE"))
		return api_delete(t, k, id, out);
	rest_reply_error(out, 405, "method %s not allowed on /api/%s/<ID> (use GET, PATCH or DELETE)",
	                 m, kind_name[k]);
}
