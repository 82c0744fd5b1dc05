/* topo_rules.c - node and edge rules (topo_rules.h): their validation, the registries and
 * their files, /api/noderule and /api/edgerule, and how they are applied to the graph. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "analyzer/rest.h"
#include "analyzer/topo_rules.h"
#include "common/json_dotted.h"
#include "common/log.h"
#include "common/util.h"
#include "gremlin/gremlin.h"

/* ---- validation ------------------------------------------------------------- */

/* The member of o named key, compared without regard to case (Go's encoding/json). */
static json_t *get_ci(const json_t *o, const char *key)
{
	const char *k;
	json_t *v;
	json_t *exact = json_object_get(o, key);
	if (exact)
		return exact;
	json_object_foreach((json_t *)o, k, v) if (!strcasecmp(k, key)) return v;
	return NULL;
}

/* Checks that obj has only the fields of keys (and UUID), that the string fields are
 * strings (or null) without NUL and Metadata an object (or null). */
static int check_fields(const json_t *obj, const char *type, const char *const *keys,
                        size_t n, const char *list, struct res_error *err)
{
	if (!json_is_object(obj))
		return res_fail(err, -1, "the body must be a %s object (%s)", type, list);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		int known = !strcasecmp(k, "UUID");
		for (size_t i = 0; !known && i < n; i++)
			known = !strcasecmp(k, keys[i]);
		if (!known)
			return res_fail(err, -1, "unknown %s field '%.64s' (expected %s)", type, k, list);
	}
	for (size_t i = 0; i < n; i++) {
		v = get_ci(obj, keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (!strcmp(keys[i], "Metadata")) {
			if (!json_is_object(v))
				return res_fail(err, -1, "Metadata must be an object of key/values");
			continue;
		}
		if (!json_is_string(v))
			return res_fail(err, -1, "%s must be a string", keys[i]);
		if (strlen(json_string_value(v)) != json_string_length(v))
			return res_fail(err, -1, "%s must not contain NUL characters", keys[i]);
	}
	return 0;
}

static const char *str_field(const json_t *obj, const char *key)
{
	const char *s = json_string_value(get_ci(obj, key));
	return s ? s : "";
}

/* A Gremlin query of a rule: parses, and reads the live graph (no At()/Context(): rules
 * apply to the topology as it is). */
static int check_query(const char *field, const char *text, struct res_error *err)
{
	struct gremlin_error ge = {0};
	struct gremlin_query *q = gremlin_parse(text, &ge);
	if (!q)
		return res_fail(err, ge.pos, "%s: %s", field, ge.msg);
	int64_t at, dur;
	int timed = gremlin_time_context(q, 0, &at, &dur);
	gremlin_query_free(q);
	if (timed)
		return res_fail(err, -1,
		                "%s: At() and Context() are not supported in rules (they apply to "
		                "the live topology)",
		                field);
	return 0;
}

static int nonempty_string(const json_t *md, const char *key)
{
	const json_t *v = json_object_get(md, key);
	return json_is_string(v) && json_string_length(v) > 0;
}

/* obj replaced by the canonical object: keys[i] = vals[i] (Metadata an object). */
static int rewrite(json_t *obj, const char *const *keys, json_t **vals, size_t n)
{
	json_t *j = json_object();
	int bad = !j;
	for (size_t i = 0; i < n; i++) {
		if (!bad)
			bad = json_object_set_new(j, keys[i], vals[i]);
		else
			json_decref(vals[i]);
	}
	if (bad) {
		json_decref(j);
		return -ENOMEM;
	}
	json_object_clear(obj);
	int rc = json_object_update(obj, j) ? -ENOMEM : 0;
	json_decref(j);
	return rc;
}

static json_t *metadata_copy(const json_t *obj)
{
	json_t *md = get_ci(obj, "Metadata");
	return json_is_object(md) ? json_deep_copy(md) : json_object();
}

int topo_rules_validate_node(json_t *obj, struct res_error *err)
{
	static const char *const keys[] = {"Name", "Description", "Metadata", "Action", "Query"};
	static const char list[] = "Name, Description, Metadata, Action, Query";
	int rc = check_fields(obj, "NodeRule", keys, 5, list, err);
	if (rc)
		return rc;
	const char *action = str_field(obj, "Action"), *query = str_field(obj, "Query");
	const json_t *md = get_ci(obj, "Metadata");
	if (strcmp(action, "create") && strcmp(action, "update"))
		return res_fail(err, -1,
		                "Action '%.64s': expected 'create' (a node with Metadata) or "
		                "'update' (Metadata added to the nodes of Query)",
		                action);
	if (!strcmp(action, "create")) {
		/* Skydive validates the node against its node schema (statics/schemas) */
		if (!nonempty_string(md, "Type") || !nonempty_string(md, "Name"))
			return res_fail(err, -1,
			                "a 'create' rule needs Metadata.Name and Metadata.Type (non-empty "
			                "strings): the node's identity");
		const char *type = json_string_value(json_object_get(md, "Type"));
		if (!strcmp(type, "netns") &&
		    !json_is_string(json_object_get(md, "Path")))
			return res_fail(err, -1, "a node of Type 'netns' needs Metadata.Path (a string)");
		if (!strcmp(type, "ovsport") && !json_is_string(json_object_get(md, "UUID")))
			return res_fail(err, -1,
			                "a node of Type 'ovsport' needs Metadata.UUID (a string)");
		if (*query)
			return res_fail(err, -1,
			                "Query is only used by 'update' rules (a 'create' rule makes one "
			                "node from its Metadata)");
	} else {
		const char *k;
		json_t *kv;
		json_object_foreach((json_t *)md, k, kv)
		{
			/* "Name.x" would replace the Name by an object (SetField) */
			if (!strcmp(k, "Name") || !strcmp(k, "Type") || !strncmp(k, "Name.", 5) ||
			    !strncmp(k, "Type.", 5))
				return res_fail(err, -1, "Name and Type fields can not be changed");
		}
		if (!json_object_size(md))
			return res_fail(err, -1,
			                "an 'update' rule needs Metadata: the keys to set on the nodes "
			                "of its Query");
		if (!*query)
			return res_fail(err, -1,
			                "an 'update' rule needs a Query: the Gremlin query of the nodes "
			                "to update, e.g. G.V().Has('Name', 'eth0')");
		if ((rc = check_query("Query", query, err)))
			return rc;
	}
	json_t *vals[] = {json_string(str_field(obj, "Name")),
	                  json_string(str_field(obj, "Description")), metadata_copy(obj),
	                  json_string(action), json_string(query)};
	return rewrite(obj, keys, vals, 5);
}

int topo_rules_validate_edge(json_t *obj, struct res_error *err)
{
	static const char *const keys[] = {"Name", "Description", "Src", "Dst", "Metadata"};
	static const char list[] = "Name, Description, Src, Dst, Metadata";
	int rc = check_fields(obj, "EdgeRule", keys, 5, list, err);
	if (rc)
		return rc;
	const char *src = str_field(obj, "Src"), *dst = str_field(obj, "Dst");
	static const char *const ends[] = {"Src", "Dst"};
	const char *texts[] = {src, dst};
	for (int i = 0; i < 2; i++) {
		if (!*texts[i])
			return res_fail(err, -1,
			                "%s is required: a Gremlin query of the edge's %s node, e.g. "
			                "G.V().Has('Name', 'eth0')",
			                ends[i], i ? "child" : "parent");
		if ((rc = check_query(ends[i], texts[i], err)))
			return rc;
	}
	if (!nonempty_string(get_ci(obj, "Metadata"), "RelationType"))
		return res_fail(err, -1,
		                "Metadata.RelationType is required (a non-empty string, e.g. "
		                "layer2, ownership)");
	json_t *vals[] = {json_string(str_field(obj, "Name")),
	                  json_string(str_field(obj, "Description")), json_string(src),
	                  json_string(dst), metadata_copy(obj)};
	return rewrite(obj, keys, vals, 5);
}

/* ---- IDs --------------------------------------------------------------------- */

int topo_rules_gen_id(const char *const *parts, size_t n, char out[37])
{
	/* uuid.NamespaceOID, 6ba7b812-9dad-11d1-80b4-00c04fd430c8 (RFC 4122 appendix C) */
	static const unsigned char ns[16] = {0x6b, 0xa7, 0xb8, 0x12, 0x9d, 0xad, 0x11, 0xd1,
	                                     0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	int ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) && EVP_DigestUpdate(c, ns, sizeof(ns));
	for (size_t i = 0; ok && i < n; i++)
		ok = (!i || EVP_DigestUpdate(c, "/", 1)) && EVP_DigestUpdate(c, parts[i], strlen(parts[i]));
	ok = ok && EVP_DigestFinal_ex(c, md, &mdlen) && mdlen >= 16;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -EIO;
	md[6] = (md[6] & 0x0f) | 0x50; /* version 5 */
	md[8] = (md[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", md[i]);
	}
	return 0;
}

/* Skydive's nodeID: GenID(Type, Name) of a create rule's Metadata. */
static int node_rule_id(const json_t *md, char out[37])
{
	const char *parts[] = {json_string_value(json_object_get(md, "Type")),
	                       json_string_value(json_object_get(md, "Name"))};
	if (!parts[0] || !parts[1])
		return -EINVAL;
	return topo_rules_gen_id(parts, 2, out);
}

/* ---- the registries ------------------------------------------------------------ */

struct removal {
	struct removal *next;
	int edge;
	json_t *obj; /* the deleted rule */
};

struct topo_rules {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stop;
	struct res_kind kinds[2];
	struct res_registry *reg[2]; /* noderule, edgerule */
	int listen_id[2];
	struct graph *g;
	const struct config *cfg;
	int listener;
	char origin[300];
	int pending; /* a rule was created or loaded: a pass at once */
	int dirty;   /* nodes changed: a pass after the coalescing delay */
	int64_t last_ms;
	struct removal *rm_head, **rm_tail;
	struct topo_rules_stats st;
};

static int validate_node(void *user, json_t *obj, struct res_error *err)
{
	(void)user;
	return topo_rules_validate_node(obj, err);
}

static int validate_edge(void *user, json_t *obj, struct res_error *err)
{
	(void)user;
	return topo_rules_validate_edge(obj, err);
}

static const struct res_kind kind_tmpl[2] = {
    {.name = "noderule", .title = "NodeRule", .file = TOPO_RULES_NODE_FILE,
     .validate = validate_node},
    {.name = "edgerule", .title = "EdgeRule", .file = TOPO_RULES_EDGE_FILE,
     .validate = validate_edge},
};

/* The registries' listener, on the thread that made the change (the loop). */
static void on_change(struct topo_rules *r, int edge, enum res_event ev, const char *uuid,
                      const json_t *obj)
{
	struct removal *rm = NULL;
	if (ev == RES_DELETED) {
		rm = calloc(1, sizeof(*rm));
		if (rm && !(rm->obj = json_deep_copy(obj))) {
			free(rm);
			rm = NULL;
		}
		if (!rm)
			log_error("rules: out of memory: what %s %s made stays in the graph",
			          kind_tmpl[edge].name, uuid);
	}
	pthread_mutex_lock(&r->lock);
	if (rm) {
		rm->edge = edge;
		*r->rm_tail = rm;
		r->rm_tail = &rm->next;
	}
	r->pending = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	log_debug("rules: %s %s %s", kind_tmpl[edge].name, uuid,
	         ev == RES_CREATED ? "created" : "deleted");
}

static void on_node_change(void *user, enum res_event ev, const char *uuid, const json_t *obj)
{
	on_change(user, 0, ev, uuid, obj);
}

static void on_edge_change(void *user, enum res_event ev, const char *uuid, const json_t *obj)
{
	on_change(user, 1, ev, uuid, obj);
}

/* The graph's listener (writer lock held): Skydive re-applies on nodes added or updated. */
static void on_graph(void *user, enum graph_event ev, const struct graph_node *n,
                     const struct graph_edge *e)
{
	(void)n;
	(void)e;
	struct topo_rules *r = user;
	if (ev != GRAPH_NODE_ADDED && ev != GRAPH_NODE_UPDATED)
		return;
	pthread_mutex_lock(&r->lock);
	if (!r->dirty) {
		r->dirty = 1;
		pthread_cond_signal(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
}

/* ---- applying --------------------------------------------------------------------- */

static int64_t now_ms(void)
{
	return (int64_t)(time_now_ns() / 1000000);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ids {
	char **v;
	size_t n;
};

static void ids_clear(struct ids *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void count_error(struct topo_rules *r)
{
	pthread_mutex_lock(&r->lock);
	r->st.errors++;
	pthread_mutex_unlock(&r->lock);
}

/* The IDs of the nodes query returns on view v (Skydive's getNodes: a result that is not
 * nodes gives none), at most max. 0, or -errno (counted; the rule does nothing). */
static int query_nodes(struct topo_rules *r, const struct graph_view *v, const char *uuid,
                       const char *query, size_t max, struct ids *out)
{
	struct gremlin_error ge = {0};
	struct gremlin_query *q = gremlin_parse(query, &ge);
	struct gremlin_env env = {.now_ms = now_ms()};
	struct gremlin_result res = {0};
	if (r->cfg)
		rest_gremlin_bounds(r->cfg, &env);
	int rc = q ? gremlin_eval(q, v, &env, &res, &ge) : -EINVAL;
	gremlin_query_free(q);
	if (rc) {
		count_error(r);
		log_debug("rules: %s: query %s failed: %s", uuid, query, ge.msg);
		return rc;
	}
	if (res.kind == GREMLIN_RESULT_NODES) {
		size_t n = json_array_size(res.json);
		if (n > max)
			n = max;
		out->v = n ? calloc(n, sizeof(*out->v)) : NULL;
		for (size_t i = 0; out->v && i < n; i++) {
			const char *id = json_string_value(json_object_get(json_array_get(res.json, i), "ID"));
			if (id && (out->v[out->n] = strdup(id)))
				out->n++;
		}
		if (n && !out->v)
			rc = -ENOMEM;
	}
	gremlin_result_clear(&res);
	return rc;
}

/* Whether a and b are linked by an edge (either way) whose RelationType is rt. */
static int linked(const struct graph_view *v, const char *a, const char *b, const char *rt)
{
	size_t n;
	const struct graph_edge *const *es = graph_view_out_edges(v, a, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(es[i]->child, b) &&
		    !strcmp(json_string_value(json_object_get(es[i]->e.metadata, "RelationType"))
		                ?: "",
		            rt))
			return 1;
	es = graph_view_in_edges(v, a, &n);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(es[i]->parent, b) &&
		    !strcmp(json_string_value(json_object_get(es[i]->e.metadata, "RelationType"))
		                ?: "",
		            rt))
			return 1;
	return 0;
}

/* md with each key of rule (dotted, as Skydive's SetField/DelField) set to its value, or
 * deleted (del). A new object, or NULL on out of memory. */
static json_t *merged(const json_t *md, const json_t *rule, int del)
{
	json_t *out = json_deep_copy(md);
	const char *k;
	json_t *val;
	json_object_foreach((json_t *)rule, k, val)
	{
		if (out && del) {
			json_dotted_del(out, k);
			continue;
		}
		json_t *c = json_deep_copy(val);
		if (!out || !c || json_dotted_set(out, k, c)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* Sets (or removes, del) the rule's metadata on the nodes ids; lock held. */
static int update_nodes(struct topo_rules *r, const struct ids *ids, const json_t *rule_md,
                        int del)
{
	int changes = 0;
	for (size_t i = 0; i < ids->n; i++) {
		struct graph_view *v = graph_view_at(r->g, 0, NULL);
		const struct graph_node *n = v ? graph_view_node_get(v, ids->v[i]) : NULL;
		json_t *md = n ? merged(n->e.metadata, rule_md, del) : NULL;
		int same = md && json_equal(md, n->e.metadata);
		graph_view_free(v);
		if (!md || same) {
			json_decref(md);
			continue;
		}
		if (!graph_node_set_metadata(r->g, ids->v[i], md, now_ms()))
			changes++;
	}
	return changes;
}

/* A create rule's node; lock held. */
static int create_node(struct topo_rules *r, const char *uuid, const json_t *md)
{
	char id[37];
	if (node_rule_id(md, id))
		return 0;
	json_t *m = json_deep_copy(md);
	if (!m || json_object_set_new(m, "TID", json_string(id)) ||
	    (!strcmp(json_string_value(json_object_get(m, "Type")), "fabric") &&
	     json_object_set_new(m, "Probe", json_string("fabric")))) {
		json_decref(m);
		log_error("rules: %s: out of memory creating node %s", uuid, id);
		return 0;
	}
	int rc = graph_node_add(r->g, id, m, "", r->origin, now_ms());
	if (rc && rc != -EEXIST)
		log_warn("rules: %s: node %s not created: %s", uuid, id, strerror(-rc));
	return !rc;
}

/* An edge rule's edge from src to dst; lock held. */
static int create_edge(struct topo_rules *r, const char *uuid, const char *src, const char *dst,
                       const json_t *md)
{
	const char *rt = json_string_value(json_object_get(md, "RelationType"));
	int owner = !strcmp(rt, "ownership"), changes = 0;
	struct ids old = {0};
	struct graph_view *v = graph_view_at(r->g, 0, NULL);
	if (!v || !graph_view_node_get(v, src) || !graph_view_node_get(v, dst) ||
	    linked(v, src, dst, rt)) {
		graph_view_free(v);
		return 0;
	}
	if (owner) { /* the child has one ownership parent (topology.AddOwnershipLink) */
		size_t n;
		const struct graph_edge *const *es = graph_view_in_edges(v, dst, &n);
		old.v = n ? calloc(n, sizeof(*old.v)) : NULL;
		for (size_t i = 0; old.v && i < n; i++) {
			const char *t = json_string_value(json_object_get(es[i]->e.metadata, "RelationType"));
			if (t && !strcmp(t, "ownership") && (old.v[old.n] = strdup(es[i]->e.id)))
				old.n++;
		}
	}
	graph_view_free(v);
	for (size_t i = 0; i < old.n; i++)
		changes += !graph_edge_delete(r->g, old.v[i], now_ms());
	ids_clear(&old);
	char id[37];
	size_t len = strlen(src) + strlen(dst) + strlen(rt) + 1;
	char *key = malloc(len);
	if (key)
		snprintf(key, len, "%s%s%s", src, dst, rt);
	const char *parts[] = {key};
	json_t *m = owner ? json_pack("{s:s}", "RelationType", "ownership") : json_deep_copy(md);
	if (!key || !m || topo_rules_gen_id(parts, 1, id)) {
		free(key);
		json_decref(m);
		log_error("rules: %s: out of memory creating an edge", uuid);
		return changes;
	}
	free(key);
	int rc = graph_edge_add(r->g, id, src, dst, m, "", r->origin, now_ms());
	if (rc && rc != -EEXIST)
		log_warn("rules: %s: edge %s not created: %s", uuid, id, strerror(-rc));
	return changes + !rc;
}

/* The first edge from src to dst whose Metadata has rule's (Skydive's GetFirstLink). */
static int delete_edge(struct topo_rules *r, const char *src, const char *dst, const json_t *md)
{
	char *id = NULL;
	struct graph_view *v = graph_view_at(r->g, 0, NULL);
	size_t n = 0;
	const struct graph_edge *const *es = v ? graph_view_out_edges(v, src, &n) : NULL;
	for (size_t i = 0; !id && i < n; i++) {
		if (strcmp(es[i]->child, dst))
			continue;
		int match = 1;
		const char *k;
		json_t *val;
		json_object_foreach((json_t *)md, k, val)
		{
			if (!json_equal(json_object_get(es[i]->e.metadata, k), val))
				match = 0;
		}
		if (match)
			id = strdup(es[i]->e.id);
	}
	graph_view_free(v);
	int rc = id ? graph_edge_delete(r->g, id, now_ms()) : -ENOENT;
	free(id);
	return !rc;
}

/* A rule to apply: a copy of its object. */
struct rule {
	char uuid[37];
	json_t *obj;
	struct ids a, b; /* update: the nodes; edge: src, dst */
};

struct rules {
	struct rule *v;
	size_t n, cap;
};

static int rules_add(struct rules *l, const char *uuid, const json_t *obj)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		struct rule *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	struct rule *x = &l->v[l->n];
	memset(x, 0, sizeof(*x));
	snprintf(x->uuid, sizeof(x->uuid), "%s", uuid);
	if (!(x->obj = json_deep_copy(obj)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static int collect(void *user, const char *uuid, const json_t *obj)
{
	return rules_add(user, uuid, obj) ? 1 : 0;
}

static void rules_clear(struct rules *l)
{
	for (size_t i = 0; i < l->n; i++) {
		json_decref(l->v[i].obj);
		ids_clear(&l->v[i].a);
		ids_clear(&l->v[i].b);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static const char *rstr(const struct rule *x, const char *key)
{
	const char *s = json_string_value(json_object_get(x->obj, key));
	return s ? s : "";
}

/* Evaluates the queries of node rules (edge 0) or edge rules (edge 1), reader side. */
static void evaluate(struct topo_rules *r, struct rules *l, int edge)
{
	graph_rdlock(r->g);
	struct graph_view *v = graph_view_at(r->g, 0, NULL);
	for (size_t i = 0; v && i < l->n; i++) {
		struct rule *x = &l->v[i];
		if (edge) {
			if (!query_nodes(r, v, x->uuid, rstr(x, "Src"), 1, &x->a))
				query_nodes(r, v, x->uuid, rstr(x, "Dst"), 1, &x->b);
		} else if (!strcmp(rstr(x, "Action"), "update")) {
			query_nodes(r, v, x->uuid, rstr(x, "Query"), (size_t)-1, &x->a);
		}
	}
	graph_view_free(v);
	graph_unlock(r->g);
}

/* Applies (or, remove, undoes) the evaluated rules, writer side. */
static int apply(struct topo_rules *r, struct rules *l, int edge, int remove)
{
	int changes = 0;
	graph_lock(r->g);
	for (size_t i = 0; i < l->n; i++) {
		struct rule *x = &l->v[i];
		const json_t *md = json_object_get(x->obj, "Metadata");
		if (edge) {
			if (x->a.n && x->b.n)
				changes += remove ? delete_edge(r, x->a.v[0], x->b.v[0], md)
				                  : create_edge(r, x->uuid, x->a.v[0], x->b.v[0], md);
		} else if (!strcmp(rstr(x, "Action"), "update")) {
			changes += update_nodes(r, &x->a, md, remove);
		} else if (remove) {
			char id[37];
			if (!node_rule_id(md, id))
				changes += !graph_node_delete(r->g, id, now_ms());
		} else {
			changes += create_node(r, x->uuid, md);
		}
	}
	graph_unlock(r->g);
	return changes;
}

int topo_rules_run(struct topo_rules *r)
{
	pthread_mutex_lock(&r->lock);
	struct removal *rms = r->rm_head;
	r->rm_head = NULL;
	r->rm_tail = &r->rm_head;
	r->pending = r->dirty = 0;
	pthread_mutex_unlock(&r->lock);
	int changes = 0;
	struct rules del[2] = {{0}, {0}};
	while (rms) {
		struct removal *rm = rms;
		rms = rm->next;
		const char *uuid = json_string_value(json_object_get(rm->obj, "UUID"));
		if (rules_add(&del[rm->edge], uuid ? uuid : "", rm->obj))
			log_error("rules: out of memory: what a deleted rule made stays in the graph");
		json_decref(rm->obj);
		free(rm);
	}
	for (int k = 0; k < 2; k++) {
		evaluate(r, &del[k], k);
		changes += apply(r, &del[k], k, 1);
		rules_clear(&del[k]);
	}
	/* then every rule, node rules first (an edge rule may link a node they create) */
	for (int k = 0; k < 2; k++) {
		struct rules l = {0};
		if (res_registry_foreach(r->reg[k], collect, &l))
			log_error("rules: out of memory listing the %ss", kind_tmpl[k].name);
		evaluate(r, &l, k);
		changes += apply(r, &l, k, 0);
		rules_clear(&l);
	}
	pthread_mutex_lock(&r->lock);
	r->st.passes++;
	r->st.changes += (unsigned)changes;
	pthread_mutex_unlock(&r->lock);
	if (changes)
		log_debug("rules: %d graph changes", changes);
	return changes;
}

static void *rules_thread(void *arg)
{
	struct topo_rules *r = arg;
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		int64_t now = mono_ms();
		int due = r->pending || r->rm_head ||
		          (r->dirty && now >= r->last_ms + TOPO_RULES_COALESCE_MS);
		if (!due) {
			if (r->dirty) {
				int64_t w = r->last_ms + TOPO_RULES_COALESCE_MS;
				struct timespec ts = {.tv_sec = w / 1000, .tv_nsec = (w % 1000) * 1000000};
				pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			} else {
				pthread_cond_wait(&r->cond, &r->lock);
			}
			continue;
		}
		r->last_ms = now;
		pthread_mutex_unlock(&r->lock);
		topo_rules_run(r);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- lifetime --------------------------------------------------------------------- */

struct topo_rules *topo_rules_new(const char *data_dir, struct graph *g,
                                  const struct config *cfg)
{
	struct topo_rules *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	r->g = g;
	r->cfg = cfg;
	r->listener = -1;
	r->listen_id[0] = r->listen_id[1] = -1;
	r->rm_tail = &r->rm_head;
	r->pending = 1; /* the rules loaded */
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "localhost");
	snprintf(r->origin, sizeof(r->origin), "analyzer.%s", host);
	res_listener fns[2] = {on_node_change, on_edge_change};
	for (int k = 0; k < 2; k++) {
		r->kinds[k] = kind_tmpl[k];
		r->kinds[k].user = r;
		if (!(r->reg[k] = res_registry_new(data_dir, &r->kinds[k])) ||
		    (r->listen_id[k] = res_registry_listen(r->reg[k], fns[k], r)) < 0) {
			topo_rules_free(r);
			return NULL;
		}
	}
	log_info("rules: %zu node rules and %zu edge rules loaded", res_registry_count(r->reg[0]),
	         res_registry_count(r->reg[1]));
	return r;
}

int topo_rules_start(struct topo_rules *r)
{
	graph_lock(r->g);
	r->listener = graph_listener_add(r->g, on_graph, r);
	graph_unlock(r->g);
	if (r->listener < 0)
		return r->listener;
	int rc = pthread_create(&r->thread, NULL, rules_thread, r);
	if (rc)
		return -rc;
	r->started = 1;
	return 0;
}

void topo_rules_free(struct topo_rules *r)
{
	if (!r)
		return;
	if (r->listener >= 0) {
		graph_lock(r->g);
		graph_listener_remove(r->g, r->listener);
		graph_unlock(r->g);
	}
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->started)
		pthread_join(r->thread, NULL);
	for (int k = 0; k < 2; k++) {
		if (r->listen_id[k] >= 0)
			res_registry_unlisten(r->reg[k], r->listen_id[k]);
		res_registry_free(r->reg[k]);
	}
	while (r->rm_head) {
		struct removal *rm = r->rm_head;
		r->rm_head = rm->next;
		json_decref(rm->obj);
		free(rm);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void topo_rules_handle(struct topo_rules *r, int edge, const char *method, const char *path,
                       const char *content_type, const char *body, size_t len,
                       struct rest_response *out)
{
	struct res_request req = {.method = method,
	                          .path = path,
	                          .content_type = content_type,
	                          .body = body,
	                          .body_len = len};
	res_registry_handle(r->reg[edge ? 1 : 0], &req, out);
}

struct res_registry *topo_rules_registry(struct topo_rules *r, int edge)
{
	return r->reg[edge ? 1 : 0];
}

void topo_rules_stats(struct topo_rules *r, struct topo_rules_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->st;
	pthread_mutex_unlock(&r->lock);
	out->node_rules = res_registry_count(r->reg[0]);
	out->edge_rules = res_registry_count(r->reg[1]);
}

json_t *topo_rules_status(struct topo_rules *r)
{
	struct topo_rules_stats st;
	topo_rules_stats(r, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "NodeRules", (json_int_t)st.node_rules,
	                 "EdgeRules", (json_int_t)st.edge_rules, "Passes", (json_int_t)st.passes,
	                 "Changes", (json_int_t)st.changes, "Errors", (json_int_t)st.errors);
}
