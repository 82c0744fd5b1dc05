/* gremlin_eval.c - evaluates a parsed Gremlin query against a graph view as a pipeline of
 * typed values (graph, nodes, edges, paths, flows, JSON values) and shapes the result as
 * Skydive does. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#include "capture/capture.h"
#include "gremlin/gremlin_int.h"
#include "graph/graph_int.h"

/* V_METRICS: a JSON object {"<flow UUID>": [FlowMetric, ...]} (Metrics(), Aggregates()). */
enum vtype { V_GRAPH, V_NODES, V_EDGES, V_PATHS, V_FLOWS, V_VALUES, V_SCALAR, V_METRICS };

static const char *const vtype_names[] = {"the graph", "nodes",  "edges",          "paths",
					  "flows",     "values", "a single value", "metrics"};

struct val {
	enum vtype type;
	const struct graph_view *view; /* the graph the elements belong to */
	struct pvec items;             /* nodes or edges (borrowed); paths: struct pvec * owned */
	json_t *json;                  /* V_FLOWS, V_VALUES: array; V_SCALAR: the value;
					* V_METRICS: object */
	int raw;                       /* V_VALUES made by RawPackets() (BPF() applies) */
};

struct named {
	char *name;
	struct pvec nodes;
};

struct ctx {
	const struct graph_view *root;
	const struct gremlin_env *env;
	struct gremlin_error *err;
	struct pvec views; /* subgraph views made on the way */
	struct named *as;
	int nas;
	int failed;
	/* bounds (gremlin_env; docs/API.md "Limits") */
	size_t max_items, max_results;
	int64_t timeout_ms, deadline_ns; /* CLOCK_MONOTONIC */
	unsigned ticks;
};

static int efail(struct ctx *c, int pos, int code, const char *fmt, ...)
{
	if (!c->failed && c->err) {
		char msg[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		c->err->pos = pos;
		snprintf(c->err->msg, sizeof(c->err->msg), "%s at position %d", msg, pos);
	}
	c->failed = 1;
	return code;
}

#define ENOMEM_AT(c, pos) efail(c, pos, -ENOMEM, "out of memory")

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ctx_bounds(struct ctx *c, const struct gremlin_env *env)
{
	c->max_items = env && env->max_items ? env->max_items : GREMLIN_DEFAULT_MAX_ITEMS;
	c->max_results = env && env->max_results ? env->max_results : GREMLIN_DEFAULT_MAX_RESULTS;
	c->timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : GREMLIN_DEFAULT_TIMEOUT_MS;
	c->deadline_ns = mono_ns() + c->timeout_ms * 1000000;
}

static int timed_out(struct ctx *c, int pos)
{
	return efail(c, pos, -E2BIG,
		     "query stopped after %lld ms (analyzer.gremlin.timeout); narrow it with "
		     "Has() or Limit()",
		     (long long)c->timeout_ms);
}

/* Called in the loops whose cost a query chooses (walks, BFS, named sets): the clock is
 * read every 4096 calls, so a query that runs past its time fails instead of holding
 * the loop (and the graph lock) for minutes. Non-zero: the query failed. */
static int tick(struct ctx *c, int pos)
{
	if ((++c->ticks & 4095) || mono_ns() < c->deadline_ns)
		return 0;
	return timed_out(c, pos);
}

/* A step's output grew past max_items (elements between two steps). */
static int too_many(struct ctx *c, int pos, const char *step, size_t n)
{
	return efail(c, pos, -E2BIG,
		     "%s() gives more than %zu elements (%zu; analyzer.gremlin.max_items); "
		     "narrow the query with Has(), Dedup() or Limit()",
		     step, c->max_items, n);
}

static void val_clear(struct val *v)
{
	if (v->type == V_PATHS)
		for (size_t i = 0; i < v->items.n; i++) {
			pvec_free(v->items.v[i]);
			free(v->items.v[i]);
		}
	pvec_free(&v->items);
	json_decref(v->json);
	v->json = NULL;
	v->raw = 0;
}

/* ---- reading values out of elements and JSON objects -------------------------- */

/* What a key is looked up in: an element (node or edge) or a plain JSON object (flow). */
struct subject {
	const struct graph_elem *e;
	const struct graph_edge *edge; /* when the element is an edge */
	const json_t *obj;
};

/* Resolves a dotted path: arrays on the way fan out (any element may match); a key with
 * dots of its own is found too. Values are borrowed from `cur`. */
static void walk(const json_t *cur, const char *path, struct pvec *out)
{
	if (json_is_array(cur)) {
		size_t i;
		json_t *x;
		json_array_foreach(cur, i, x)
		{
			if (json_is_object(x))
				walk(x, path, out);
		}
		return;
	}
	if (!json_is_object(cur))
		return;
	json_t *whole = json_object_get(cur, path);
	if (whole) {
		pvec_push(out, whole);
		return;
	}
	const char *dot = strchr(path, '.');
	while (dot) {
		size_t n = (size_t)(dot - path);
		json_t *sub = json_object_getn(cur, path, n);
		if (sub)
			walk(sub, dot + 1, out);
		dot = strchr(dot + 1, '.');
	}
}

/* The values of key in s; *tmp holds a temporary the caller releases. */
static void subject_values(const struct subject *s, const char *key, struct pvec *out, json_t **tmp)
{
	out->n = 0;
	*tmp = NULL;
	if (s->e) {
		const struct graph_elem *e = s->e;
		json_t *t = NULL;
		if (key[0] == '@') {
			/* Skydive's element keys (graffiti/graph/graph.go, GetField): never
			 * metadata; @DeletedAt only on a deleted element */
			const char *k = key + 1;
			if (strcmp(k, "ID") == 0)
				t = json_string(e->id);
			else if (strcmp(k, "Host") == 0)
				t = json_string(e->host);
			else if (strcmp(k, "Origin") == 0)
				t = json_string(e->origin);
			else if (strcmp(k, "CreatedAt") == 0)
				t = json_integer(e->created_at);
			else if (strcmp(k, "UpdatedAt") == 0)
				t = json_integer(e->updated_at);
			else if (strcmp(k, "DeletedAt") == 0 && e->deleted_at)
				t = json_integer(e->deleted_at);
			else if (strcmp(k, "Revision") == 0)
				t = json_integer(e->revision);
			if (t) {
				*tmp = t;
				pvec_push(out, t);
			}
			return;
		}
		if (strncmp(key, "Metadata.", 9) == 0) { /* Skydive's MetadataPrefix */
			walk(e->metadata, key + 9, out);
			return;
		}
		if (strcmp(key, "ID") == 0)
			t = json_string(e->id);
		else if (strcmp(key, "Host") == 0)
			t = json_string(e->host);
		else if (strcmp(key, "Origin") == 0)
			t = json_string(e->origin);
		else if (strcmp(key, "CreatedAt") == 0)
			t = json_integer(e->created_at);
		else if (strcmp(key, "UpdatedAt") == 0)
			t = json_integer(e->updated_at);
		else if (strcmp(key, "DeletedAt") == 0 && e->deleted_at)
			t = json_integer(e->deleted_at);
		else if (strcmp(key, "Revision") == 0)
			t = json_integer(e->revision);
		else if (s->edge && strcmp(key, "Parent") == 0)
			t = json_string(s->edge->parent);
		else if (s->edge && strcmp(key, "Child") == 0)
			t = json_string(s->edge->child);
		if (t) {
			*tmp = t;
			pvec_push(out, t);
			return;
		}
		walk(e->metadata, key, out);
		return;
	}
	/* flows: Network, Link and Transport alone mean either end */
	if (strcmp(key, "Network") == 0 || strcmp(key, "Link") == 0 ||
	    strcmp(key, "Transport") == 0) {
		json_t *l = json_object_get(s->obj, key);
		json_t *a = json_object_get(l, "A"), *b = json_object_get(l, "B");
		if (a)
			pvec_push(out, a);
		if (b)
			pvec_push(out, b);
		return;
	}
	walk(s->obj, key, out);
}

static int json_num(const json_t *j, double *d)
{
	if (json_is_integer(j)) {
		*d = (double)json_integer_value(j);
		return 1;
	}
	if (json_is_real(j)) {
		*d = json_real_value(j);
		return 1;
	}
	return 0;
}

static int arg_num(const struct arg *a, double *d)
{
	if (a->kind == A_INT) {
		*d = (double)a->i;
		return 1;
	}
	if (a->kind == A_FLOAT) {
		*d = a->f;
		return 1;
	}
	return 0;
}

static int leaf_eq(const json_t *leaf, const struct arg *a, const char *key)
{
	double x, y;
	switch (a->kind) {
	case A_STR: {
		if (!json_is_string(leaf))
			return 0;
		const char *s = json_string_value(leaf);
		if (strcmp(s, a->s) == 0)
			return 1;
		/* an IPV4 list holds CIDRs; a bare address names its interface too (as the
		 * index does) */
		if (strcmp(key, "IPV4") == 0 && !strchr(a->s, '/')) {
			size_t n = strlen(a->s);
			return strncmp(s, a->s, n) == 0 && s[n] == '/';
		}
		return 0;
	}
	case A_INT:
		if (json_is_integer(leaf))
			return json_integer_value(leaf) == a->i;
		return json_num(leaf, &x) && x == (double)a->i;
	case A_FLOAT:
		return json_num(leaf, &x) && arg_num(a, &y) && x == y;
	case A_BOOL:
		return json_is_boolean(leaf) && json_is_true(leaf) == !!a->b;
	default:
		return 0;
	}
}

/* -1, 0, 1, or 2 when the two do not compare (different types). */
static int leaf_cmp(const json_t *leaf, const struct arg *a)
{
	double x, y;
	if (json_is_integer(leaf) && a->kind == A_INT) {
		json_int_t l = json_integer_value(leaf);
		return l < a->i ? -1 : l > a->i;
	}
	if (json_num(leaf, &x) && arg_num(a, &y))
		return x < y ? -1 : x > y;
	if (json_is_string(leaf) && a->kind == A_STR) {
		int r = strcmp(json_string_value(leaf), a->s);
		return r < 0 ? -1 : r > 0;
	}
	return 2;
}

static int ipv4_in(const char *s, uint32_t net, uint32_t mask)
{
	uint32_t addr, m;
	return gremlin_parse_cidr(s, &addr, &m) == 0 && (addr & mask) == net;
}

static int leaf_match(const json_t *leaf, const struct arg *a, const char *key)
{
	if (a->kind != A_PRED)
		return leaf_eq(leaf, a, key);
	const struct arg *x = a->args;
	int c1, c2;
	switch (a->pred) {
	case P_LT:
		return (c1 = leaf_cmp(leaf, x)) == -1;
	case P_LTE:
		return (c1 = leaf_cmp(leaf, x)) == -1 || c1 == 0;
	case P_GT:
		return leaf_cmp(leaf, x) == 1;
	case P_GTE:
		return (c1 = leaf_cmp(leaf, x)) == 1 || c1 == 0;
	case P_INSIDE:
		return leaf_cmp(leaf, &x[0]) == 1 && leaf_cmp(leaf, &x[1]) == -1;
	case P_OUTSIDE:
		return leaf_cmp(leaf, &x[0]) == -1 || leaf_cmp(leaf, &x[1]) == 1;
	case P_BETWEEN:
		c1 = leaf_cmp(leaf, &x[0]);
		c2 = leaf_cmp(leaf, &x[1]);
		return (c1 == 1 || c1 == 0) && c2 == -1;
	case P_WITHIN:
		for (int i = 0; i < a->nargs; i++)
			if (leaf_eq(leaf, &x[i], key))
				return 1;
		return 0;
	case P_REGEX:
		return json_is_string(leaf) && a->re &&
		       regexec(a->re, json_string_value(leaf), 0, NULL, 0) == 0;
	case P_IPV4RANGE:
		return json_is_string(leaf) && ipv4_in(json_string_value(leaf), a->net, a->mask);
	default:
		return 0;
	}
}

/* Any leaf (an array's elements count one by one) matching. */
static int any_leaf(const struct pvec *vals, const struct arg *a, const char *key)
{
	for (size_t i = 0; i < vals->n; i++) {
		const json_t *v = vals->v[i];
		if (json_is_array(v)) {
			size_t j;
			json_t *x;
			json_array_foreach(v, j, x) if (leaf_match(x, a, key)) return 1;
		} else if (leaf_match(v, a, key)) {
			return 1;
		}
	}
	return 0;
}

static int cond_match(const struct subject *s, const struct cond *c, struct pvec *scratch)
{
	json_t *tmp;
	subject_values(s, c->key, scratch, &tmp);
	int r;
	const struct arg *a = c->val;
	if (!a) {
		r = scratch->n > 0;
	} else if (a->kind == A_PRED && (a->pred == P_NE || a->pred == P_NEE)) {
		r = !any_leaf(scratch, &a->args[0], c->key);
		if (a->pred == P_NE)
			r = r && scratch->n > 0;
	} else if (a->kind == A_PRED && a->pred == P_WITHOUT) {
		r = 1;
		for (int i = 0; i < a->nargs && r; i++)
			r = !any_leaf(scratch, &a->args[i], c->key);
	} else {
		r = any_leaf(scratch, a, c->key);
	}
	json_decref(tmp);
	return r;
}

static int filter_match(const struct filter *f, const struct subject *s, struct pvec *scratch)
{
	if (!f || !f->n)
		return 1;
	for (int i = 0; i < f->n; i++) {
		int m = cond_match(s, &f->c[i], scratch);
		if (f->any && m)
			return 1;
		if (!f->any && !m)
			return 0;
	}
	return !f->any;
}

static int node_match(const struct filter *f, const struct graph_node *n, struct pvec *scratch)
{
	struct subject s = {.e = &n->e};
	return filter_match(f, &s, scratch);
}

static int edge_match(const struct filter *f, const struct graph_edge *e, struct pvec *scratch)
{
	struct subject s = {.e = &e->e, .edge = e};
	return filter_match(f, &s, scratch);
}

static struct subject item_subject(const struct val *v, size_t i)
{
	struct subject s = {0};
	if (v->type == V_NODES) {
		s.e = &((const struct graph_node *)v->items.v[i])->e;
	} else if (v->type == V_EDGES) {
		s.edge = v->items.v[i];
		s.e = &s.edge->e;
	} else {
		s.obj = json_array_get(v->json, i);
	}
	return s;
}

static size_t val_count(const struct val *v)
{
	if (v->type == V_FLOWS || v->type == V_VALUES)
		return json_array_size(v->json);
	return v->items.n;
}

/* What a value costs in answer elements: paths count their nodes, metrics their flows;
 * a graph (G, SubGraph()) is bounded by the graph itself and counts 0. */
static size_t val_elements(const struct val *v)
{
	size_t n = 0;
	switch (v->type) {
	case V_GRAPH:
	case V_SCALAR:
		return 0;
	case V_PATHS:
		for (size_t i = 0; i < v->items.n; i++)
			n += ((const struct pvec *)v->items.v[i])->n;
		return n;
	case V_METRICS:
		return json_object_size(v->json);
	default:
		return val_count(v);
	}
}

/* ---- steps ------------------------------------------------------------------------ */

static int need(struct ctx *c, const struct step *s, const struct val *v, unsigned mask)
{
	if (mask & (1u << v->type))
		return 0;
	return efail(c, s->pos, -EINVAL, "%s() does not apply to %s", gremlin_step_name(s->kind),
		     vtype_names[v->type]);
}

#define M(t) (1u << (t))
#define M_ELEMS (M(V_NODES) | M(V_EDGES))
#define M_LISTS (M(V_NODES) | M(V_EDGES) | M(V_FLOWS) | M(V_VALUES))

/* Keeps items matching f (or not matching when neg). */
static int step_filter(struct ctx *c, const struct step *s, struct val *v, const struct filter *f,
		       int neg)
{
	struct pvec scratch = {0};
	if (v->type == V_NODES || v->type == V_EDGES) {
		size_t j = 0;
		for (size_t i = 0; i < v->items.n; i++) {
			struct subject sub = item_subject(v, i);
			if (filter_match(f, &sub, &scratch) != neg)
				v->items.v[j++] = v->items.v[i];
		}
		v->items.n = j;
	} else {
		json_t *out = json_array();
		if (!out) {
			pvec_free(&scratch);
			return ENOMEM_AT(c, s->pos);
		}
		for (size_t i = 0; i < json_array_size(v->json); i++) {
			struct subject sub = item_subject(v, i);
			if (!json_is_object(sub.obj))
				continue;
			if (filter_match(f, &sub, &scratch) != neg)
				json_array_append(out, (json_t *)sub.obj);
		}
		json_decref(v->json);
		v->json = out;
	}
	pvec_free(&scratch);
	return 0;
}

/* V() / E(): from the graph; V(id), V(k, v...). An indexed key with a plain string value,
 * here or in the Has() right after, starts from the index instead of a scan. */
static int step_ve(struct ctx *c, const struct step *s, const struct step *nexts, struct val *v)
{
	const struct graph_view *view = v->view;
	int nodes = s->kind == S_V;
	val_clear(v);
	v->type = nodes ? V_NODES : V_EDGES;
	if (s->nargs == 1) {
		const void *p = nodes ? (const void *)graph_view_node_get(view, s->args[0].s)
				      : (const void *)graph_view_edge_get(view, s->args[0].s);
		if (!p)
			return efail(c, s->args[0].pos, -EINVAL, "%s '%s' does not exist",
				     nodes ? "Node" : "Edge", s->args[0].s);
		return pvec_push(&v->items, (void *)p) ? ENOMEM_AT(c, s->pos) : 0;
	}
	if (nodes) {
		const struct filter *f = s->flt;
		if (!f && nexts && nexts->kind == S_HAS)
			f = nexts->flt;
		const struct cond *ic = NULL;
		for (int i = 0; f && !f->any && i < f->n; i++)
			if (f->c[i].val && f->c[i].val->kind == A_STR &&
			    graph_indexed_key(f->c[i].key)) {
				ic = &f->c[i];
				break;
			}
		if (ic) {
			size_t n;
			const struct graph_node *const *l =
			    graph_view_nodes_by(view, ic->key, ic->val->s, &n);
			struct pvec scratch = {0};
			for (size_t i = 0; i < n; i++)
				if ((!s->flt || node_match(s->flt, l[i], &scratch)) &&
				    pvec_push(&v->items, (void *)l[i])) {
					pvec_free(&scratch);
					return ENOMEM_AT(c, s->pos);
				}
			pvec_free(&scratch);
			return 0;
		}
	}
	size_t n = nodes ? graph_view_node_count(view) : graph_view_edge_count(view);
	struct pvec scratch = {0};
	for (size_t i = 0; i < n; i++) {
		const void *p = nodes ? (const void *)graph_view_node(view, i)
				      : (const void *)graph_view_edge(view, i);
		int ok = !s->flt || (nodes ? node_match(s->flt, p, &scratch)
					   : edge_match(s->flt, p, &scratch));
		if (ok && pvec_push(&v->items, (void *)p)) {
			pvec_free(&scratch);
			return ENOMEM_AT(c, s->pos);
		}
	}
	pvec_free(&scratch);
	return 0;
}

/* Out/In/Both, OutE/InE/BothE from nodes. */
static int step_walk(struct ctx *c, const struct step *s, struct val *v)
{
	struct pvec out = {0}, scratch = {0};
	int want_out = s->kind == S_OUT || s->kind == S_OUTE || s->kind == S_BOTH ||
		       s->kind == S_BOTHE;
	int want_in = s->kind == S_IN || s->kind == S_INE || s->kind == S_BOTH ||
		      s->kind == S_BOTHE;
	int edges = s->kind == S_OUTE || s->kind == S_INE || s->kind == S_BOTHE;
	for (size_t i = 0; i < v->items.n; i++) {
		const struct graph_node *n = v->items.v[i];
		for (int dir = 0; dir < 2; dir++) {
			if ((dir == 0 && !want_out) || (dir == 1 && !want_in))
				continue;
			size_t ne;
			const struct graph_edge *const *l =
			    dir == 0 ? graph_view_out_edges(v->view, n->e.id, &ne)
				     : graph_view_in_edges(v->view, n->e.id, &ne);
			for (size_t j = 0; j < ne; j++) {
				const void *p;
				if (edges) {
					if (s->flt && !edge_match(s->flt, l[j], &scratch))
						continue;
					p = l[j];
				} else {
					const struct graph_node *o = graph_view_node_get(
					    v->view, dir == 0 ? l[j]->child : l[j]->parent);
					if (!o || (s->flt && !node_match(s->flt, o, &scratch)))
						continue;
					p = o;
				}
				int r = out.n >= c->max_items
					    ? too_many(c, s->pos, gremlin_step_name(s->kind), out.n + 1)
					    : tick(c, s->pos);
				if (r || pvec_push(&out, (void *)p)) {
					pvec_free(&out);
					pvec_free(&scratch);
					return r ? r : ENOMEM_AT(c, s->pos);
				}
			}
		}
	}
	pvec_free(&scratch);
	pvec_free(&v->items);
	v->items = out;
	v->type = edges ? V_EDGES : V_NODES;
	return 0;
}

/* OutV = Child, InV = Parent (Skydive's naming, the reverse of TinkerPop's). */
static int step_edge_nodes(struct ctx *c, const struct step *s, struct val *v)
{
	struct pvec out = {0}, scratch = {0};
	for (size_t i = 0; i < v->items.n; i++) {
		const struct graph_edge *e = v->items.v[i];
		const char *ids[2] = {NULL, NULL};
		if (s->kind == S_INV || s->kind == S_BOTHV)
			ids[0] = e->parent;
		if (s->kind == S_OUTV || s->kind == S_BOTHV)
			ids[1] = e->child;
		for (int k = 0; k < 2; k++) {
			if (!ids[k])
				continue;
			const struct graph_node *n = graph_view_node_get(v->view, ids[k]);
			if (!n || (s->flt && !node_match(s->flt, n, &scratch)))
				continue;
			if (pvec_push(&out, (void *)n)) {
				pvec_free(&out);
				pvec_free(&scratch);
				return ENOMEM_AT(c, s->pos);
			}
		}
	}
	pvec_free(&scratch);
	pvec_free(&v->items);
	v->items = out;
	v->type = V_NODES;
	return 0;
}

static const char *elem_id(const struct val *v, size_t i)
{
	return ((const struct graph_elem *)v->items.v[i])->id;
}

/* A stable text for a JSON value, to compare values by content. */
static char *json_key(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static int step_dedup(struct ctx *c, const struct step *s, struct val *v)
{
	if (v->type == V_PATHS) {
		/* flattened into nodes first, as Skydive does */
		struct pvec flat = {0};
		for (size_t i = 0; i < v->items.n; i++) {
			struct pvec *p = v->items.v[i];
			for (size_t j = 0; j < p->n; j++)
				if (pvec_push(&flat, p->v[j])) {
					pvec_free(&flat);
					return ENOMEM_AT(c, s->pos);
				}
		}
		val_clear(v);
		v->items = flat;
		v->type = V_NODES;
	}
	struct smap seen = {0};
	struct pvec keep = {0}, owned = {0}, scratch = {0};
	int r = 0;
	size_t n = val_count(v);
	const char *flow_key = "TrackingID";
	for (size_t i = 0; i < n && !r; i++) {
		char *key = NULL;
		const char *k;
		if (v->type == V_VALUES) {
			key = json_key(json_array_get(v->json, i));
			k = key;
		} else if (s->nargs || v->type == V_FLOWS) {
			/* the values of the keys; an item with none of them is kept */
			json_t *arr = json_array();
			struct subject sub = item_subject(v, i);
			int found = 0;
			for (int a = 0; a < (s->nargs ? s->nargs : 1) && arr; a++) {
				json_t *tmp;
				subject_values(&sub, s->nargs ? s->args[a].s : flow_key, &scratch,
					       &tmp);
				for (size_t x = 0; x < scratch.n; x++, found = 1)
					json_array_append(arr, scratch.v[x]);
				json_decref(tmp);
			}
			if (!found) {
				json_decref(arr);
				if (pvec_push(&keep, (void *)(uintptr_t)i))
					r = ENOMEM_AT(c, s->pos);
				continue;
			}
			key = arr ? json_key(arr) : NULL;
			json_decref(arr);
			k = key;
		} else {
			k = elem_id(v, i);
		}
		if (!k) {
			r = ENOMEM_AT(c, s->pos);
			break;
		}
		if (smap_get(&seen, k)) {
			free(key);
			continue;
		}
		if ((key && pvec_push(&owned, key)) || smap_put(&seen, k, (void *)1) ||
		    pvec_push(&keep, (void *)(uintptr_t)i)) {
			if (key && (!owned.n || owned.v[owned.n - 1] != key))
				free(key);
			r = ENOMEM_AT(c, s->pos);
		}
	}
	if (!r) {
		if (v->type == V_NODES || v->type == V_EDGES) {
			for (size_t i = 0; i < keep.n; i++)
				v->items.v[i] = v->items.v[(uintptr_t)keep.v[i]];
			v->items.n = keep.n;
		} else {
			json_t *out = json_array();
			for (size_t i = 0; out && i < keep.n; i++)
				json_array_append(out, json_array_get(v->json, (uintptr_t)keep.v[i]));
			if (!out)
				r = ENOMEM_AT(c, s->pos);
			json_decref(v->json);
			v->json = out;
		}
	}
	for (size_t i = 0; i < owned.n; i++)
		free(owned.v[i]);
	pvec_free(&owned);
	pvec_free(&keep);
	pvec_free(&scratch);
	smap_free(&seen);
	return r;
}

static int step_range(struct ctx *c, const struct step *s, struct val *v)
{
	int64_t from = s->kind == S_LIMIT ? 0 : s->args[0].i;
	int64_t to = s->kind == S_LIMIT ? s->args[0].i : s->args[1].i;
	size_t n = val_count(v);
	size_t f = (uint64_t)from < n ? (size_t)from : n;
	size_t t = (uint64_t)to < n ? (size_t)to : n;
	if (t < f)
		t = f;
	if (v->type == V_FLOWS || v->type == V_VALUES) {
		json_t *out = json_array();
		if (!out)
			return ENOMEM_AT(c, s->pos);
		for (size_t i = f; i < t; i++)
			json_array_append(out, json_array_get(v->json, i));
		json_decref(v->json);
		v->json = out;
		return 0;
	}
	if (v->type == V_PATHS) {
		for (size_t i = 0; i < n; i++)
			if (i < f || i >= t) {
				pvec_free(v->items.v[i]);
				free(v->items.v[i]);
			}
	}
	if (t > f)
		memmove(v->items.v, v->items.v + f, (t - f) * sizeof(void *));
	v->items.n = t - f;
	return 0;
}

struct sort_ent {
	size_t i;
	json_t *key; /* first value of the sort key, or NULL */
	json_t *tmp;
};

/* per thread: queries are evaluated on several workers at once (qsort has no user pointer) */
static _Thread_local int sort_desc;

static int sort_cmp(const void *a, const void *b)
{
	const struct sort_ent *x = a, *y = b;
	int r = 0;
	if (!x->key || !y->key) {
		/* elements without the key go last whatever the order */
		r = !x->key - !y->key;
		if (r)
			return r;
	} else {
		double dx, dy;
		if (json_num(x->key, &dx) && json_num(y->key, &dy))
			r = dx < dy ? -1 : dx > dy;
		else if (json_is_string(x->key) && json_is_string(y->key))
			r = strcmp(json_string_value(x->key), json_string_value(y->key));
		else
			r = json_typeof(x->key) - json_typeof(y->key);
		if (r)
			return sort_desc ? -r : r;
	}
	return x->i < y->i ? -1 : x->i > y->i;
}

static int step_sort(struct ctx *c, const struct step *s, struct val *v)
{
	int desc = 0;
	const char *key = v->type == V_FLOWS ? "Last" : "CreatedAt";
	for (int i = 0; i < s->nargs; i++) {
		if (s->args[i].kind == A_KW)
			desc = s->args[i].kw == K_DESC;
		else
			key = s->args[i].s;
	}
	size_t n = val_count(v);
	struct sort_ent *ents = calloc(n ? n : 1, sizeof(*ents));
	if (!ents)
		return ENOMEM_AT(c, s->pos);
	struct pvec scratch = {0};
	for (size_t i = 0; i < n; i++) {
		struct subject sub = item_subject(v, i);
		ents[i].i = i;
		if (v->type == V_VALUES && !json_is_object(sub.obj)) {
			ents[i].key = (json_t *)sub.obj;
			continue;
		}
		subject_values(&sub, key, &scratch, &ents[i].tmp);
		ents[i].key = scratch.n ? scratch.v[0] : NULL;
	}
	pvec_free(&scratch);
	sort_desc = desc;
	qsort(ents, n, sizeof(*ents), sort_cmp);
	int r = 0;
	if (v->type == V_NODES || v->type == V_EDGES) {
		void **nv = malloc((n ? n : 1) * sizeof(void *));
		if (nv) {
			for (size_t i = 0; i < n; i++)
				nv[i] = v->items.v[ents[i].i];
			if (n)
				memcpy(v->items.v, nv, n * sizeof(void *));
			free(nv);
		} else {
			r = ENOMEM_AT(c, s->pos);
		}
	} else {
		json_t *out = json_array();
		for (size_t i = 0; out && i < n; i++)
			json_array_append(out, json_array_get(v->json, ents[i].i));
		if (!out)
			r = ENOMEM_AT(c, s->pos);
		json_decref(v->json);
		v->json = out;
	}
	for (size_t i = 0; i < n; i++)
		json_decref(ents[i].tmp);
	free(ents);
	return r;
}

static int step_values(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *out = json_array();
	if (!out)
		return ENOMEM_AT(c, s->pos);
	struct pvec scratch = {0};
	size_t n = val_count(v);
	for (size_t i = 0; i < n; i++) {
		struct subject sub = item_subject(v, i);
		if (!sub.e && !json_is_object(sub.obj))
			continue;
		json_t *tmp;
		subject_values(&sub, s->args[0].s, &scratch, &tmp);
		for (size_t j = 0; j < scratch.n; j++) {
			json_t *x = scratch.v[j];
			/* empty lists and maps are left out, as in Skydive */
			if ((json_is_array(x) && !json_array_size(x)) ||
			    (json_is_object(x) && !json_object_size(x)))
				continue;
			json_array_append(out, x);
		}
		json_decref(tmp);
	}
	pvec_free(&scratch);
	val_clear(v);
	v->type = V_VALUES;
	v->json = out;
	return 0;
}

static int step_valuemap(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *out = json_array();
	if (!out)
		return ENOMEM_AT(c, s->pos);
	struct pvec scratch = {0};
	size_t n = val_count(v);
	for (size_t i = 0; i < n; i++) {
		struct subject sub = item_subject(v, i);
		const json_t *md = sub.e ? sub.e->metadata : sub.obj;
		if (!json_is_object(md))
			continue;
		json_t *m;
		if (!s->nargs) {
			m = json_deep_copy(md);
		} else {
			m = json_object();
			for (int a = 0; m && a < s->nargs; a++) {
				json_t *tmp;
				subject_values(&sub, s->args[a].s, &scratch, &tmp);
				if (scratch.n == 1)
					json_object_set(m, s->args[a].s, scratch.v[0]);
				else if (scratch.n > 1) {
					json_t *arr = json_array();
					for (size_t j = 0; arr && j < scratch.n; j++)
						json_array_append(arr, scratch.v[j]);
					json_object_set_new(m, s->args[a].s, arr);
				}
				json_decref(tmp);
			}
		}
		if (json_array_append_new(out, m)) {
			pvec_free(&scratch);
			json_decref(out);
			return ENOMEM_AT(c, s->pos);
		}
	}
	pvec_free(&scratch);
	val_clear(v);
	v->type = V_VALUES;
	v->json = out;
	return 0;
}

/* Leaf paths of an object: nested objects give "A.B" keys. */
static void add_keys(json_t *out, struct smap *seen, struct pvec *owned, const json_t *o,
		     const char *prefix)
{
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)o, k, x)
	{
		char *full;
		if (asprintf(&full, "%s%s%s", prefix, *prefix ? "." : "", k) < 0)
			return;
		if (json_is_object(x) && json_object_size(x)) {
			add_keys(out, seen, owned, x, full);
			free(full);
			continue;
		}
		if (smap_get(seen, full) || pvec_push(owned, full)) {
			free(full);
			continue;
		}
		smap_put(seen, full, (void *)1);
		json_array_append_new(out, json_string(full));
	}
}

static int step_keys(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *out = json_array();
	if (!out)
		return ENOMEM_AT(c, s->pos);
	struct smap seen = {0};
	struct pvec owned = {0};
	size_t n = val_count(v);
	/* elements also have Skydive's @ keys (graph.go, GetFieldKeys), listed first */
	static const char *const elem_keys[] = {"@ID",        "@Host",      "@Origin",  "@CreatedAt",
						"@UpdatedAt", "@DeletedAt", "@Revision"};
	if (n && (v->type == V_NODES || v->type == V_EDGES))
		for (size_t i = 0; i < sizeof(elem_keys) / sizeof(elem_keys[0]); i++)
			json_array_append_new(out, json_string(elem_keys[i]));
	for (size_t i = 0; i < n; i++) {
		struct subject sub = item_subject(v, i);
		const json_t *md = sub.e ? sub.e->metadata : sub.obj;
		if (json_is_object(md))
			add_keys(out, &seen, &owned, md, "");
	}
	for (size_t i = 0; i < owned.n; i++)
		free(owned.v[i]);
	pvec_free(&owned);
	smap_free(&seen);
	val_clear(v);
	v->type = V_VALUES;
	v->json = out;
	return 0;
}

static int step_sum(struct ctx *c, const struct step *s, struct val *v)
{
	json_int_t isum = 0;
	double dsum = 0;
	int real = 0;
	struct pvec scratch = {0};
	size_t n = val_count(v);
	for (size_t i = 0; i < n; i++) {
		struct subject sub = item_subject(v, i);
		json_t *tmp = NULL;
		if (!s->nargs) {
			scratch.n = 0;
			if (sub.obj)
				pvec_push(&scratch, (void *)sub.obj);
		} else if (!sub.e && !json_is_object(sub.obj)) {
			continue;
		} else {
			subject_values(&sub, s->args[0].s, &scratch, &tmp);
		}
		for (size_t j = 0; j < scratch.n; j++) {
			json_t *x = scratch.v[j];
			if (json_is_integer(x)) {
				isum += json_integer_value(x);
				dsum += (double)json_integer_value(x);
			} else if (json_is_real(x)) {
				real = 1;
				dsum += json_real_value(x);
			}
		}
		json_decref(tmp);
	}
	pvec_free(&scratch);
	val_clear(v);
	v->type = V_SCALAR;
	v->json = real ? json_real(dsum) : json_integer(isum);
	return v->json ? 0 : ENOMEM_AT(c, s->pos);
}

/* BFS over edges in both directions (those matching the edge filter) from each start node
 * to the nearest node matching the target filter. */
static int step_shortest(struct ctx *c, const struct step *s, struct val *v)
{
	const struct filter *target = s->args[0].flt;
	const struct filter *ef = s->nargs > 1 ? s->args[1].flt : NULL;
	struct pvec paths = {0}, scratch = {0}, queue = {0}, prevs = {0};
	struct smap started = {0};
	size_t path_nodes = 0;
	int r = 0;
	for (size_t i = 0; i < v->items.n && !r; i++) {
		const struct graph_node *start = v->items.v[i];
		if (smap_get(&started, start->e.id))
			continue;
		if (smap_put(&started, start->e.id, (void *)1)) {
			r = ENOMEM_AT(c, s->pos);
			break;
		}
		/* visited: node id -> index in queue + 1; prevs[k] = index of the predecessor */
		struct smap visited = {0};
		queue.n = prevs.n = 0;
		if (pvec_push(&queue, (void *)start) || pvec_push(&prevs, (void *)(uintptr_t)0) ||
		    smap_put(&visited, start->e.id, (void *)(uintptr_t)1)) {
			smap_free(&visited);
			r = ENOMEM_AT(c, s->pos);
			break;
		}
		ssize_t found = -1;
		for (size_t qi = 0; qi < queue.n && found < 0 && !r; qi++) {
			const struct graph_node *n = queue.v[qi];
			if ((r = tick(c, s->pos)))
				break;
			if (node_match(target, n, &scratch)) {
				found = (ssize_t)qi;
				break;
			}
			for (int dir = 0; dir < 2 && !r; dir++) {
				size_t ne;
				const struct graph_edge *const *l =
				    dir == 0 ? graph_view_out_edges(v->view, n->e.id, &ne)
					     : graph_view_in_edges(v->view, n->e.id, &ne);
				for (size_t j = 0; j < ne; j++) {
					if (ef && !edge_match(ef, l[j], &scratch))
						continue;
					const char *oid = dir == 0 ? l[j]->child : l[j]->parent;
					if (smap_get(&visited, oid))
						continue;
					const struct graph_node *o = graph_view_node_get(v->view, oid);
					if (!o)
						continue;
					if (pvec_push(&queue, (void *)o) ||
					    pvec_push(&prevs, (void *)(uintptr_t)qi) ||
					    smap_put(&visited, o->e.id, (void *)(uintptr_t)queue.n)) {
						r = ENOMEM_AT(c, s->pos);
						break;
					}
				}
			}
		}
		smap_free(&visited);
		if (found < 0 || r)
			continue;
		struct pvec *path = calloc(1, sizeof(*path));
		if (!path) {
			r = ENOMEM_AT(c, s->pos);
			break;
		}
		/* walk back from the target, then reverse: start first. Paths are counted
		 * by their nodes: from every node of a long chain they add up quadratically */
		for (size_t k = (size_t)found;; k = (uintptr_t)prevs.v[k]) {
			if ((path_nodes++ >= c->max_items &&
			     (r = too_many(c, s->pos, "ShortestPathTo", path_nodes))) ||
			    (r = tick(c, s->pos)))
				break;
			if (pvec_push(path, queue.v[k])) {
				r = ENOMEM_AT(c, s->pos);
				break;
			}
			if (k == 0)
				break;
		}
		for (size_t a = 0, b = path->n ? path->n - 1 : 0; a < b; a++, b--) {
			void *t = path->v[a];
			path->v[a] = path->v[b];
			path->v[b] = t;
		}
		if (r || pvec_push(&paths, path)) {
			pvec_free(path);
			free(path);
			if (!r)
				r = ENOMEM_AT(c, s->pos);
		}
	}
	pvec_free(&scratch);
	pvec_free(&queue);
	pvec_free(&prevs);
	smap_free(&started);
	val_clear(v);
	v->type = V_PATHS;
	v->items = paths;
	return r;
}

static int step_subgraph(struct ctx *c, const struct step *s, struct val *v)
{
	struct pvec nodes = {0};
	const struct graph_node *const *nl;
	size_t nn;
	if (v->type == V_PATHS) {
		for (size_t i = 0; i < v->items.n; i++) {
			struct pvec *p = v->items.v[i];
			for (size_t j = 0; j < p->n; j++)
				if (pvec_push(&nodes, p->v[j])) {
					pvec_free(&nodes);
					return ENOMEM_AT(c, s->pos);
				}
		}
		nl = (const struct graph_node *const *)nodes.v;
		nn = nodes.n;
	} else {
		nl = (const struct graph_node *const *)v->items.v;
		nn = v->items.n;
	}
	struct graph_view *sv;
	if (v->type == V_EDGES)
		sv = graph_view_subgraph(v->view, NULL, 0,
					 (const struct graph_edge *const *)v->items.v, v->items.n);
	else
		sv = graph_view_subgraph(v->view, nl, nn, NULL, 0);
	pvec_free(&nodes);
	if (!sv || pvec_push(&c->views, sv)) {
		graph_view_free(sv);
		return ENOMEM_AT(c, s->pos);
	}
	val_clear(v);
	v->type = V_GRAPH;
	v->view = sv;
	return 0;
}

static int step_as(struct ctx *c, const struct step *s, struct val *v)
{
	const char *name = s->args[0].s;
	struct named *slot = NULL;
	for (int i = 0; i < c->nas; i++)
		if (strcmp(c->as[i].name, name) == 0)
			slot = &c->as[i];
	if (!slot) {
		struct named *na = realloc(c->as, (size_t)(c->nas + 1) * sizeof(*na));
		if (!na)
			return ENOMEM_AT(c, s->pos);
		c->as = na;
		slot = &c->as[c->nas];
		memset(slot, 0, sizeof(*slot));
		if (!(slot->name = strdup(name)))
			return ENOMEM_AT(c, s->pos);
		c->nas++;
	}
	slot->nodes.n = 0;
	for (size_t i = 0; i < v->items.n; i++)
		if (pvec_push(&slot->nodes, v->items.v[i]))
			return ENOMEM_AT(c, s->pos);
	return 0;
}

static int step_select(struct ctx *c, const struct step *s, struct val *v)
{
	struct pvec out = {0};
	for (int a = 0; a < s->nargs; a++) {
		const struct named *slot = NULL;
		for (int i = 0; i < c->nas; i++)
			if (strcmp(c->as[i].name, s->args[a].s) == 0)
				slot = &c->as[i];
		if (!slot) {
			pvec_free(&out);
			return efail(c, s->args[a].pos, -EINVAL,
				     "'%s' was not named by an As() step before", s->args[a].s);
		}
		if (out.n + slot->nodes.n > c->max_items) {
			pvec_free(&out);
			return too_many(c, s->pos, "Select", out.n + slot->nodes.n);
		}
		for (size_t i = 0; i < slot->nodes.n; i++)
			if (pvec_push(&out, slot->nodes.v[i])) {
				pvec_free(&out);
				return ENOMEM_AT(c, s->pos);
			}
	}
	val_clear(v);
	v->type = V_NODES;
	v->items = out;
	return 0;
}

/* Descendants/Ascendants follow ownership edges down/up; Neighbors follows edges matching
 * its filter (ownership by default) both ways. The start nodes are part of the result;
 * depth 0 means no limit (Descendants/Ascendants, as in Skydive). */
static int step_family(struct ctx *c, const struct step *s, struct val *v)
{
	static struct cond own_cond;
	static struct arg own_arg;
	static struct filter own = {0, 1, &own_cond};
	own_arg.kind = A_STR;
	own_arg.s = (char *)"ownership";
	own_cond.key = "RelationType";
	own_cond.val = &own_arg;
	const struct filter *ef = s->kind == S_NEIGHBORS && s->flt ? s->flt : &own;
	int down = s->kind != S_ASCENDANTS, up = s->kind != S_DESCENDANTS;
	int64_t depth = s->depth;
	if (s->kind == S_NEIGHBORS && depth == 0)
		depth = 0; /* Neighbors(0): the start nodes only */
	int unlimited = s->kind != S_NEIGHBORS && depth == 0;
	struct smap seen = {0};
	struct pvec out = {0}, scratch = {0};
	int r = 0;
	for (size_t i = 0; i < v->items.n && !r; i++) {
		const struct graph_node *n = v->items.v[i];
		if (smap_get(&seen, n->e.id))
			continue;
		if (smap_put(&seen, n->e.id, (void *)1) || pvec_push(&out, (void *)n))
			r = ENOMEM_AT(c, s->pos);
	}
	size_t level_start = 0;
	for (int64_t d = 0; !r && (unlimited || d < depth); d++) {
		size_t level_end = out.n;
		if (level_start == level_end)
			break;
		for (size_t i = level_start; i < level_end && !r; i++) {
			const struct graph_node *n = out.v[i];
			for (int dir = 0; dir < 2 && !r; dir++) {
				if ((dir == 0 && !down) || (dir == 1 && !up))
					continue;
				size_t ne;
				const struct graph_edge *const *l =
				    dir == 0 ? graph_view_out_edges(v->view, n->e.id, &ne)
					     : graph_view_in_edges(v->view, n->e.id, &ne);
				for (size_t j = 0; j < ne && !r; j++) {
					if ((r = tick(c, s->pos)))
						break;
					if (!edge_match(ef, l[j], &scratch))
						continue;
					const struct graph_node *o = graph_view_node_get(
					    v->view, dir == 0 ? l[j]->child : l[j]->parent);
					if (!o || smap_get(&seen, o->e.id))
						continue;
					if (smap_put(&seen, o->e.id, (void *)1) ||
					    pvec_push(&out, (void *)o)) {
						r = ENOMEM_AT(c, s->pos);
						break;
					}
				}
			}
		}
		level_start = level_end;
	}
	pvec_free(&scratch);
	smap_free(&seen);
	pvec_free(&v->items);
	v->items = out;
	return r;
}

/* Has-style arguments as JSON for the flow store: values as they are, predicates as
 * {"Predicate": "GT", "Args": [...]}. */
static json_t *arg_to_json(const struct arg *a)
{
	switch (a->kind) {
	case A_STR:
		return json_string(a->s);
	case A_INT:
		return json_integer(a->i);
	case A_FLOAT:
		return json_real(a->f);
	case A_BOOL:
		return json_boolean(a->b);
	case A_KW: {
		static const char *const kws[] = {"ASC", "DESC", "NOW", "FOREVER"};
		return json_string(kws[a->kw]);
	}
	case A_PRED: {
		static const char *const preds[] = {"NE",     "NEE",       "LT",      "LTE",
						    "GT",     "GTE",       "INSIDE",  "OUTSIDE",
						    "BETWEEN", "WITHIN",   "WITHOUT", "REGEX",
						    "IPV4RANGE", "METADATA"};
		json_t *args = json_array();
		for (int i = 0; args && i < a->nargs; i++)
			json_array_append_new(args, arg_to_json(&a->args[i]));
		return json_pack("{s:s,s:o}", "Predicate", preds[a->pred], "Args", args);
	}
	}
	return NULL;
}

static int step_flows(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
		      int64_t dur_ms)
{
	const struct gremlin_flow_ops *ops = c->env ? c->env->flow_ops : NULL;
	if (!ops || !ops->flows)
		return efail(c, s->pos, -EINVAL,
			     "Flows() needs a flow store: not available in this build");
	json_t *filters = json_array(), *nodes = NULL;
	for (int i = 0; filters && i < s->nargs; i++)
		json_array_append_new(filters, arg_to_json(&s->args[i]));
	if (v->type == V_NODES) {
		/* Flows name their capture node by TID (NodeTID); a node without
		 * a TID is matched by its ID. */
		nodes = json_array();
		for (size_t i = 0; nodes && i < v->items.n; i++) {
			const struct graph_elem *e = v->items.v[i];
			const char *tid = json_string_value(json_object_get(e->metadata, "TID"));
			json_array_append_new(nodes, json_string(tid && *tid ? tid : e->id));
		}
	}
	struct gremlin_error ferr = {.pos = s->pos};
	json_t *flows = ops->flows(ops->user, filters, nodes, at_ms, dur_ms, &ferr);
	json_decref(filters);
	json_decref(nodes);
	if (!flows)
		return efail(c, s->pos, -EINVAL, "%s", ferr.msg[0] ? ferr.msg : "Flows() failed");
	if (!json_is_array(flows)) {
		json_decref(flows);
		return efail(c, s->pos, -EINVAL, "Flows(): the flow store gave no array");
	}
	val_clear(v);
	v->type = V_FLOWS;
	v->json = flows;
	/* the store may ignore the filters: applying them again is harmless */
	return s->flt ? step_filter(c, s, v, s->flt, 0) : 0;
}

/* Pushes the nodes whose metadata key = value (not yet in seen, when seen is given) that
 * match flt (NULL = any). */
static int push_nodes_by(struct ctx *c, const struct step *s, const struct graph_view *view,
			 const char *key, const char *value, struct smap *seen, struct pvec *out,
			 struct pvec *scratch)
{
	size_t n;
	if (!value || !*value)
		return 0;
	const struct graph_node *const *l = graph_view_nodes_by(view, key, value, &n);
	for (size_t j = 0; j < n; j++) {
		if (seen && smap_get(seen, l[j]->e.id))
			continue;
		if (s->flt && !node_match(s->flt, l[j], scratch))
			continue;
		if ((seen && smap_put(seen, l[j]->e.id, (void *)1)) || pvec_push(out, (void *)l[j]))
			return ENOMEM_AT(c, s->pos);
	}
	return 0;
}

/* Flow steps giving nodes. CaptureNode()/Node()/Hops(): the nodes whose TID is the flow's
 * NodeTID; Nodes() adds the nodes owning the flow's MACs (Link.A/B as MAC or PeerIntfMAC);
 * all of them without repeats. In(): the A node of each flow (MAC or PeerIntfMAC =
 * Link.A), Out(): the B node, Both(): both; as In()/Out() on nodes, no dedup across
 * flows (one flow gives a node once), and k, v arguments filter the nodes. */
static int step_flow_nodes(struct ctx *c, const struct step *s, struct val *v)
{
	struct pvec out = {0}, scratch = {0};
	struct smap seen = {0}, one = {0};
	int walk_step = s->kind == S_IN || s->kind == S_OUT || s->kind == S_BOTH;
	int r = 0;
	for (size_t i = 0; i < json_array_size(v->json) && !r; i++) {
		json_t *f = json_array_get(v->json, i);
		json_t *link = json_object_get(f, "Link");
		const char *a = json_string_value(json_object_get(link, "A"));
		const char *b = json_string_value(json_object_get(link, "B"));
		if (walk_step) {
			smap_free(&one);
			memset(&one, 0, sizeof(one));
			if (s->kind != S_OUT && !r)
				r = push_nodes_by(c, s, v->view, "MAC", a, &one, &out, &scratch);
			if (s->kind != S_OUT && !r)
				r = push_nodes_by(c, s, v->view, "PeerIntfMAC", a, &one, &out,
						  &scratch);
			if (s->kind != S_IN && !r)
				r = push_nodes_by(c, s, v->view, "MAC", b, &one, &out, &scratch);
			if (s->kind != S_IN && !r)
				r = push_nodes_by(c, s, v->view, "PeerIntfMAC", b, &one, &out,
						  &scratch);
			continue;
		}
		r = push_nodes_by(c, s, v->view, "TID",
				  json_string_value(json_object_get(f, "NodeTID")), &seen, &out,
				  &scratch);
		if (s->kind == S_NODES) {
			if (!r)
				r = push_nodes_by(c, s, v->view, "MAC", a, &seen, &out, &scratch);
			if (!r)
				r = push_nodes_by(c, s, v->view, "PeerIntfMAC", a, &seen, &out,
						  &scratch);
			if (!r)
				r = push_nodes_by(c, s, v->view, "MAC", b, &seen, &out, &scratch);
			if (!r)
				r = push_nodes_by(c, s, v->view, "PeerIntfMAC", b, &seen, &out,
						  &scratch);
		}
	}
	smap_free(&seen);
	smap_free(&one);
	pvec_free(&scratch);
	val_clear(v);
	v->type = V_NODES;
	v->items = out;
	return r;
}

/* ---- metrics ------------------------------------------------------------------------ */

/* A FlowMetric: the counters ABPackets, ABBytes, BAPackets, BABytes, then Start, Last. */
struct fmetric {
	int64_t n[4];
	int64_t start, last;
};

static const char *const metric_counters[4] = {"ABPackets", "ABBytes", "BAPackets", "BABytes"};

static struct fmetric metric_read(const json_t *o)
{
	struct fmetric m;
	for (int k = 0; k < 4; k++)
		m.n[k] = json_integer_value(json_object_get(o, metric_counters[k]));
	m.start = json_integer_value(json_object_get(o, "Start"));
	m.last = json_integer_value(json_object_get(o, "Last"));
	return m;
}

/* Every field present, zeros too. */
static json_t *metric_new(const struct fmetric *m)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "ABPackets", (json_int_t)m->n[0],
			 "ABBytes", (json_int_t)m->n[1], "BAPackets", (json_int_t)m->n[2],
			 "BABytes", (json_int_t)m->n[3], "Start", (json_int_t)m->start, "Last",
			 (json_int_t)m->last);
}

/* Metrics() on flows: {"<UUID>": [metric, ...]} from the store (its update records), or
 * without a store hook the flow's LastUpdateMetric (Metric when it counted nothing). */
static int step_metrics(struct ctx *c, const struct step *s, struct val *v)
{
	const struct gremlin_flow_ops *ops = c->env->flow_ops;
	json_t *m;
	if (ops->metrics) {
		struct gremlin_error ferr = {.pos = s->pos};
		m = ops->metrics(ops->user, v->json, &ferr);
		if (!json_is_object(m)) {
			json_decref(m);
			return efail(c, s->pos, -EINVAL, "%s",
				     ferr.msg[0] ? ferr.msg : "Metrics() failed");
		}
	} else {
		if (!(m = json_object()))
			return ENOMEM_AT(c, s->pos);
		size_t i;
		json_t *f;
		json_array_foreach(v->json, i, f)
		{
			const char *u = json_string_value(json_object_get(f, "UUID"));
			if (!u || json_object_get(m, u))
				continue;
			const json_t *lu = json_object_get(f, "LastUpdateMetric");
			struct fmetric x = metric_read(lu);
			if (!x.n[0] && !x.n[2])
				x = metric_read(json_object_get(f, "Metric"));
			json_t *o = metric_new(&x);
			if (!o || json_object_set_new(m, u, json_pack("[o]", o))) {
				json_decref(m);
				return ENOMEM_AT(c, s->pos);
			}
		}
	}
	val_clear(v);
	v->type = V_METRICS;
	v->json = m;
	return 0;
}

/* Sum() on metrics: one metric with the counters added, Start the earliest and Last the
 * latest; Sum('ABBytes') the total of one field. */
static int step_metrics_sum(struct ctx *c, const struct step *s, struct val *v)
{
	struct fmetric t = {0};
	json_int_t keysum = 0;
	const char *key;
	json_t *l, *x;
	size_t i;
	json_object_foreach(v->json, key, l)
	{
		json_array_foreach(l, i, x)
		{
			if (s->nargs) {
				keysum += json_integer_value(json_object_get(x, s->args[0].s));
				continue;
			}
			struct fmetric m = metric_read(x);
			for (int k = 0; k < 4; k++)
				t.n[k] += m.n[k];
			if (m.start && (!t.start || m.start < t.start))
				t.start = m.start;
			if (m.last > t.last)
				t.last = m.last;
		}
	}
	val_clear(v);
	v->type = V_SCALAR;
	v->json = s->nargs ? json_integer(keysum) : metric_new(&t);
	return v->json ? 0 : ENOMEM_AT(c, s->pos);
}

#define AGG_MAX_SLICES 100000

/* Aggregates([sliceMs]) as Skydive: the metrics of every key summed in slices of sliceMs
 * (default 30000) from the start of the time context (G.At(t, d): t - d) or else from
 * the earliest Start, up to the context's end or the latest Last; a metric spanning
 * several slices is split in proportion to its time in each (integer counts, the
 * remainder goes to the later slice; nothing lost inside the range). Gives
 * {"Aggregated": [metric per slice that got something, Start/Last its bounds]}. */
static int step_aggregates(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
			   int64_t dur_ms)
{
	int64_t slice = 30000;
	if (s->nargs) {
		if (s->args[0].kind != A_INT || s->args[0].i <= 0)
			return efail(c, s->args[0].pos, -EINVAL,
				     "Aggregates takes a positive slice length in ms");
		slice = s->args[0].i;
	}
	const char *key;
	json_t *l, *x;
	size_t i;
	int64_t from = 0, to = 0;
	int any = 0;
	if (at_ms && dur_ms > 0) {
		from = at_ms - dur_ms;
		to = at_ms;
		any = 1;
	} else {
		json_object_foreach(v->json, key, l)
		{
			json_array_foreach(l, i, x)
			{
				struct fmetric m = metric_read(x);
				if (!any || m.start < from)
					from = m.start;
				if (!any || m.last > to)
					to = m.last;
				any = 1;
			}
		}
	}
	json_t *res = json_array();
	if (!res)
		return ENOMEM_AT(c, s->pos);
	if (any && to >= from) {
		int64_t span = to - from;
		int64_t n = span / slice + 1;
		if (span % slice == 0 && span)
			n = span / slice;
		if (n > AGG_MAX_SLICES) {
			json_decref(res);
			return efail(c, s->pos, -EINVAL,
				     "Aggregates(%lld) would make %lld slices (at most %d)",
				     (long long)slice, (long long)n, AGG_MAX_SLICES);
		}
		struct fmetric *acc = calloc((size_t)n, sizeof(*acc));
		char *used = calloc((size_t)n, 1);
		if (!acc || !used) {
			free(acc);
			free(used);
			json_decref(res);
			return ENOMEM_AT(c, s->pos);
		}
		json_object_foreach(v->json, key, l)
		{
			json_array_foreach(l, i, x)
			{
				struct fmetric m = metric_read(x);
				int64_t lo = m.start > from ? m.start : from;
				int64_t hi = m.last < to ? m.last : to;
				if (m.last < m.start || hi < lo)
					continue;
				int64_t k0 = (lo - from) / slice, k1 = (hi - from) / slice;
				if (k1 >= n)
					k1 = n - 1;
				if (k0 > k1)
					k0 = k1;
				int64_t len = m.last - m.start;
				for (int64_t k = k0; k <= k1; k++) {
					int64_t b0 = from + k * slice, b1 = b0 + slice;
					int64_t p0 = lo > b0 ? lo : b0, p1 = hi < b1 ? hi : b1;
					if (k == n - 1)
						p1 = hi;
					if (len && p1 <= p0)
						continue;
					for (int f = 0; f < 4; f++) {
						if (!len) {
							acc[k].n[f] += m.n[f];
							continue;
						}
						/* cumulative shares: exact totals over the range */
						__int128 a = (__int128)m.n[f] * (p0 - m.start) / len;
						__int128 b = (__int128)m.n[f] * (p1 - m.start) / len;
						acc[k].n[f] += (int64_t)(b - a);
					}
					used[k] = 1;
				}
			}
		}
		for (int64_t k = 0; k < n; k++) {
			if (!used[k])
				continue;
			acc[k].start = from + k * slice;
			acc[k].last = acc[k].start + slice;
			json_t *o = metric_new(&acc[k]);
			if (!o || json_array_append_new(res, o)) {
				free(acc);
				free(used);
				json_decref(res);
				return ENOMEM_AT(c, s->pos);
			}
		}
		free(acc);
		free(used);
	}
	json_t *agg = json_pack("{s:o}", "Aggregated", res);
	if (!agg)
		return ENOMEM_AT(c, s->pos);
	val_clear(v);
	v->type = V_METRICS;
	v->json = agg;
	return 0;
}

/* ---- BPF() on raw packets ------------------------------------------------------------ */

static int b64_val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Decodes base64 text (padding optional) into a new buffer; NULL if not base64. */
static uint8_t *b64_decode(const char *in, size_t inlen, size_t *outlen)
{
	uint8_t *out = malloc(inlen / 4 * 3 + 3), *p = out;
	uint32_t acc = 0;
	int bits = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < inlen; i++) {
		if (in[i] == '=')
			break;
		int d = b64_val((unsigned char)in[i]);
		if (d < 0) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*p++ = (uint8_t)(acc >> bits);
		}
	}
	*outlen = (size_t)(p - out);
	return out;
}

#define BPF_MAX_LINKTYPES 8

struct bpf_set {
	int n;
	int linktype[BPF_MAX_LINKTYPES];
	struct bpf_program prog[BPF_MAX_LINKTYPES];
};

/* The filter compiled for linktype (once per query and link type); NULL with the
 * failure reported. */
static const struct bpf_program *bpf_for(struct ctx *c, const struct step *s, struct bpf_set *b,
					 int linktype, int *rc)
{
	for (int i = 0; i < b->n; i++)
		if (b->linktype[i] == linktype)
			return &b->prog[i];
	if (b->n == BPF_MAX_LINKTYPES) {
		*rc = efail(c, s->pos, -EINVAL, "BPF(): raw packets of more than %d link types",
			    BPF_MAX_LINKTYPES);
		return NULL;
	}
	char msg[200];
	int r = capture_bpf_compile(linktype, 0, s->args[0].s, &b->prog[b->n], msg, sizeof(msg));
	if (r) {
		*rc = r == -ENOMEM ? ENOMEM_AT(c, s->pos) : efail(c, s->pos, -EINVAL, "%s", msg);
		return NULL;
	}
	b->linktype[b->n] = linktype;
	return &b->prog[b->n++];
}

/* BPF('filter') after RawPackets(): keeps the packets the filter matches (compiled for
 * the packets' link type), drops the flows left without any; same shape. A filter that
 * does not compile is refused even when there is no packet (checked for Ethernet). */
static int step_bpf(struct ctx *c, const struct step *s, struct val *v)
{
	struct bpf_set b = {0};
	int r = 0;
	json_t *out = json_array();
	if (!out)
		return ENOMEM_AT(c, s->pos);
	size_t i;
	json_t *entry;
	json_array_foreach(v->json, i, entry)
	{
		const char *uuid;
		json_t *pkts;
		json_t *ne = NULL;
		json_object_foreach(entry, uuid, pkts)
		{
			json_t *keep = json_array();
			size_t j;
			json_t *pk;
			if (!keep) {
				r = ENOMEM_AT(c, s->pos);
				break;
			}
			json_array_foreach(pkts, j, pk)
			{
				json_t *d = json_object_get(pk, "Data");
				json_t *lt = json_object_get(pk, "LinkType");
				size_t len;
				if (!json_is_string(d))
					continue;
				uint8_t *data = b64_decode(json_string_value(d),
							   json_string_length(d), &len);
				if (!data)
					continue;
				const struct bpf_program *prog =
				    bpf_for(c, s, &b, lt ? (int)json_integer_value(lt) : 1, &r);
				if (!prog) {
					free(data);
					break;
				}
				struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len,
							.len = (bpf_u_int32)len};
				if (pcap_offline_filter(prog, &h, data) &&
				    json_array_append(keep, pk))
					r = ENOMEM_AT(c, s->pos);
				free(data);
				if (r)
					break;
			}
			if (!r && json_array_size(keep)) {
				if (!ne)
					ne = json_object();
				if (!ne || json_object_set(ne, uuid, keep))
					r = ENOMEM_AT(c, s->pos);
			}
			json_decref(keep);
			if (r)
				break;
		}
		if (!r && ne && json_array_append(out, ne))
			r = ENOMEM_AT(c, s->pos);
		json_decref(ne);
		if (r)
			break;
	}
	if (!r && !b.n)
		bpf_for(c, s, &b, 1, &r);
	for (int k = 0; k < b.n; k++)
		pcap_freecode(&b.prog[k]);
	if (r) {
		json_decref(out);
		return r;
	}
	json_decref(v->json);
	v->json = out; /* still raw packets: v->raw stays */
	return 0;
}

/* RawPackets(): the flows' raw packets from the store, as Skydive shapes them. */
static int step_raw_packets(struct ctx *c, const struct step *s, struct val *v)
{
	const struct gremlin_flow_ops *ops = c->env->flow_ops;
	struct gremlin_error ferr = {.pos = s->pos};
	json_t *raw = ops->raw_packets(ops->user, v->json, &ferr);
	if (!json_is_array(raw)) {
		json_decref(raw);
		return efail(c, s->pos, -EINVAL, "%s",
			     ferr.msg[0] ? ferr.msg : "RawPackets() failed");
	}
	val_clear(v);
	v->type = V_VALUES;
	v->json = raw;
	v->raw = 1;
	return 0;
}

static int run_step(struct ctx *c, const struct gremlin_query *q, int si, struct val *v,
		    int64_t at_ms, int64_t dur_ms)
{
	const struct step *s = &q->steps[si];
	const struct step *nexts = si + 1 < q->nsteps ? &q->steps[si + 1] : NULL;
	int r;
	switch (s->kind) {
	case S_G:
		if (si) {
			/* back to the graph of the traversal (As() names survive) */
			const struct graph_view *view = v->view;
			val_clear(v);
			v->type = V_GRAPH;
			v->view = view;
		}
		return 0;
	case S_AT:
	case S_CONTEXT:
		return 0; /* the caller picked the view from gremlin_time_context */
	case S_V:
	case S_E:
		if ((r = need(c, s, v, M(V_GRAPH))))
			return r;
		return step_ve(c, s, nexts, v);
	case S_HAS:
	case S_HASEITHER:
	case S_HASKEY:
		if ((r = need(c, s, v, M_LISTS)))
			return r;
		return step_filter(c, s, v, s->flt, 0);
	case S_HASNOT:
		if ((r = need(c, s, v, M_LISTS)))
			return r;
		return step_filter(c, s, v, s->flt, 1);
	case S_OUT:
	case S_IN:
	case S_BOTH:
		if (v->type == V_FLOWS)
			return step_flow_nodes(c, s, v);
		/* fall through */
	case S_OUTE:
	case S_INE:
	case S_BOTHE:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return step_walk(c, s, v);
	case S_OUTV:
	case S_INV:
	case S_BOTHV:
		if ((r = need(c, s, v, M(V_EDGES))))
			return r;
		return step_edge_nodes(c, s, v);
	case S_DEDUP:
		if ((r = need(c, s, v, M_LISTS | M(V_PATHS))))
			return r;
		return step_dedup(c, s, v);
	case S_COUNT: {
		if ((r = need(c, s, v, M_LISTS | M(V_PATHS))))
			return r;
		size_t n = val_count(v);
		val_clear(v);
		v->type = V_SCALAR;
		v->json = json_integer((json_int_t)n);
		return v->json ? 0 : ENOMEM_AT(c, s->pos);
	}
	case S_RANGE:
	case S_LIMIT:
		if ((r = need(c, s, v, M_LISTS | M(V_PATHS))))
			return r;
		return step_range(c, s, v);
	case S_SORT:
		if ((r = need(c, s, v, M_LISTS)))
			return r;
		return step_sort(c, s, v);
	case S_VALUES:
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		return step_values(c, s, v);
	case S_VALUEMAP:
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		return step_valuemap(c, s, v);
	case S_KEYS:
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		return step_keys(c, s, v);
	case S_SUM:
		if (v->type == V_METRICS)
			return step_metrics_sum(c, s, v);
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		if (!s->nargs && v->type != V_VALUES)
			return efail(c, s->pos, -EINVAL, "Sum() needs a key here");
		return step_sum(c, s, v);
	case S_SHORTESTPATHTO:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return step_shortest(c, s, v);
	case S_SUBGRAPH:
		if ((r = need(c, s, v, M_ELEMS | M(V_PATHS))))
			return r;
		return step_subgraph(c, s, v);
	case S_AS:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return step_as(c, s, v);
	case S_SELECT:
		return step_select(c, s, v);
	case S_DESCENDANTS:
	case S_ASCENDANTS:
	case S_NEIGHBORS:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return step_family(c, s, v);
	case S_FLOWS:
		if ((r = need(c, s, v, M(V_GRAPH) | M(V_NODES))))
			return r;
		return step_flows(c, s, v, at_ms, dur_ms);
	case S_CAPTURENODE:
	case S_NODE:
	case S_HOPS:
	case S_NODES:
		if ((r = need(c, s, v, M(V_FLOWS))))
			return r;
		return step_flow_nodes(c, s, v);
	case S_RAWPACKETS:
		if (v->type == V_FLOWS && c->env && c->env->flow_ops &&
		    c->env->flow_ops->raw_packets)
			return step_raw_packets(c, s, v);
		break;
	case S_METRICS:
		if (v->type == V_FLOWS && c->env && c->env->flow_ops)
			return step_metrics(c, s, v);
		break;
	case S_AGGREGATES:
		if ((r = need(c, s, v, M(V_METRICS))))
			return r;
		return step_aggregates(c, s, v, at_ms, dur_ms);
	case S_BPF:
		if (v->type != V_VALUES || !v->raw)
			return efail(c, s->pos, -EINVAL, "BPF() applies to RawPackets() only");
		if (s->nargs != 1 || s->args[0].kind != A_STR)
			return efail(c, s->nargs ? s->args[0].pos : s->pos, -EINVAL,
				     "BPF takes one filter string");
		return step_bpf(c, s, v);
	default:
		break;
	}
	if (v->type != V_FLOWS)
		return efail(c, s->pos, -EINVAL,
			     "%s() needs a flow store: not available in this build",
			     gremlin_step_name(s->kind));
	return efail(c, s->pos, -EINVAL, "%s() is not available in this build",
		     gremlin_step_name(s->kind));
}

/* ---- results ----------------------------------------------------------------------- */

static json_t *nodes_json(const struct pvec *p)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < p->n; i++)
		if (json_array_append_new(a, graph_node_to_json(p->v[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int to_result(struct ctx *c, struct val *v, struct gremlin_result *out)
{
	json_t *j = NULL;
	switch (v->type) {
	case V_GRAPH: {
		/* Skydive marshals a graph traversal as the list of its values: [graph] */
		json_t *g = graph_view_to_json(v->view);
		j = json_array();
		if (!g || !j || json_array_append_new(j, g)) {
			json_decref(j);
			j = NULL;
		}
		out->kind = GREMLIN_RESULT_GRAPH;
		break;
	}
	case V_NODES:
		j = nodes_json(&v->items);
		out->kind = GREMLIN_RESULT_NODES;
		break;
	case V_EDGES:
		j = json_array();
		for (size_t i = 0; j && i < v->items.n; i++)
			if (json_array_append_new(j, graph_edge_to_json(v->items.v[i]))) {
				json_decref(j);
				j = NULL;
			}
		out->kind = GREMLIN_RESULT_EDGES;
		break;
	case V_PATHS:
		j = json_array();
		for (size_t i = 0; j && i < v->items.n; i++)
			if (json_array_append_new(j, nodes_json(v->items.v[i]))) {
				json_decref(j);
				j = NULL;
			}
		out->kind = GREMLIN_RESULT_VALUE;
		break;
	case V_METRICS:
		/* as Skydive: the one map of every flow's metrics, in an array */
		j = json_pack("[O]", v->json);
		out->kind = GREMLIN_RESULT_VALUE;
		break;
	default:
		j = json_incref(v->json);
		out->kind = GREMLIN_RESULT_VALUE;
		break;
	}
	if (!j)
		return ENOMEM_AT(c, 0);
	out->json = j;
	return 0;
}

static int run_steps(struct ctx *c, const struct gremlin_query *q, struct val *v)
{
	int64_t at_ms = 0, dur_ms = 0;
	if (c->err) {
		c->err->pos = 0;
		c->err->msg[0] = 0;
	}
	gremlin_time_context(q, c->env ? c->env->now_ms : 0, &at_ms, &dur_ms);
	int r = 0;
	/* permissions first: a refused query is refused whatever the graph and flows hold
	 * (an empty Flows() would otherwise let RawPackets() through unnoticed) */
	for (int i = 0; i < q->nsteps && !r && c->env && c->env->allowed; i++) {
		const struct step *s = &q->steps[i];
		if ((s->kind == S_RAWPACKETS || s->kind == S_BPF) &&
		    !c->env->allowed(c->env->allowed_user, "capture", "rawpackets"))
			r = efail(c, s->pos, -EACCES, "%s() needs the capture rawpackets permission",
				  gremlin_step_name(s->kind));
	}
	for (int i = 0; i < q->nsteps && !r; i++) {
		r = run_step(c, q, i, v, at_ms, dur_ms);
		/* bounded between steps too: As()/Select() chains double per step */
		size_t n = r ? 0 : val_elements(v);
		if (n > c->max_items)
			r = too_many(c, q->steps[i].pos, gremlin_step_name(q->steps[i].kind), n);
		else if (!r && mono_ns() >= c->deadline_ns)
			r = timed_out(c, q->steps[i].pos);
	}
	return r;
}

static void ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->views.n; i++)
		graph_view_free(c->views.v[i]);
	pvec_free(&c->views);
	for (int i = 0; i < c->nas; i++) {
		free(c->as[i].name);
		pvec_free(&c->as[i].nodes);
	}
	free(c->as);
}

/* The result as a subgraph, element by element (gremlin_eval_elements). */
static int walk_elements(struct ctx *c, const struct gremlin_query *q, struct val *v,
			 gremlin_elem_fn fn, void *user)
{
	int r = 0;
	if (v->type == V_GRAPH) {
		size_t nn = graph_view_node_count(v->view), ne = graph_view_edge_count(v->view);
		for (size_t i = 0; i < nn && !r; i++)
			r = fn(user, graph_view_node(v->view, i), NULL);
		for (size_t i = 0; i < ne && !r; i++)
			r = fn(user, NULL, graph_view_edge(v->view, i));
		return r;
	}
	struct smap seen = {0}, eseen = {0};
	if (v->type == V_EDGES) {
		for (size_t i = 0; i < v->items.n && !r; i++) {
			const struct graph_edge *e = v->items.v[i];
			if (smap_get(&eseen, e->e.id))
				continue;
			if (smap_put(&eseen, e->e.id, (void *)e)) {
				r = ENOMEM_AT(c, 0);
				break;
			}
			const char *ends[2] = {e->parent, e->child};
			for (int k = 0; k < 2 && !r; k++) {
				const struct graph_node *n = graph_view_node_get(v->view, ends[k]);
				if (!n || smap_get(&seen, n->e.id))
					continue;
				if (smap_put(&seen, n->e.id, (void *)n))
					r = ENOMEM_AT(c, 0);
				else
					r = fn(user, n, NULL);
			}
			if (!r)
				r = fn(user, NULL, e);
		}
	} else if (v->type == V_NODES || v->type == V_PATHS) {
		struct pvec nodes = {0};
		for (size_t i = 0; i < v->items.n && !r; i++) {
			struct pvec one = {.v = &v->items.v[i], .n = 1};
			const struct pvec *p = v->type == V_PATHS ? v->items.v[i] : &one;
			for (size_t j = 0; j < p->n && !r; j++) {
				const struct graph_node *n = p->v[j];
				if (smap_get(&seen, n->e.id))
					continue;
				if (smap_put(&seen, n->e.id, (void *)n) || pvec_push(&nodes, (void *)n))
					r = ENOMEM_AT(c, 0);
				else
					r = fn(user, n, NULL);
			}
		}
		/* the edges between them: each edge is listed once, under its parent */
		for (size_t i = 0; i < nodes.n && !r; i++) {
			const struct graph_node *n = nodes.v[i];
			size_t ne;
			const struct graph_edge *const *out = graph_view_out_edges(v->view, n->e.id, &ne);
			for (size_t j = 0; j < ne && !r; j++)
				if (smap_get(&seen, out[j]->child))
					r = fn(user, NULL, out[j]);
		}
		pvec_free(&nodes);
	} else {
		r = efail(c, q->nsteps ? q->steps[q->nsteps - 1].pos : 0, -EINVAL,
			  "a Gremlin filter must give nodes, edges or a graph (SubGraph()), not %s",
			  vtype_names[v->type]);
	}
	smap_free(&seen);
	smap_free(&eseen);
	return r;
}

int gremlin_eval_elements(const struct gremlin_query *q, const struct graph_view *view,
			  const struct gremlin_env *env, gremlin_elem_fn fn, void *user,
			  struct gremlin_error *err)
{
	struct ctx c = {.root = view, .env = env, .err = err};
	struct val v = {.type = V_GRAPH, .view = view};
	ctx_bounds(&c, env);
	int r = run_steps(&c, q, &v);
	if (!r)
		r = walk_elements(&c, q, &v, fn, user);
	val_clear(&v);
	ctx_free(&c);
	return r;
}

int gremlin_eval(const struct gremlin_query *q, const struct graph_view *view,
		 const struct gremlin_env *env, struct gremlin_result *out,
		 struct gremlin_error *err)
{
	struct ctx c = {.root = view, .env = env, .err = err};
	struct val v = {.type = V_GRAPH, .view = view};
	out->kind = GREMLIN_RESULT_VALUE;
	out->json = NULL;
	ctx_bounds(&c, env);
	int r = run_steps(&c, q, &v);
	size_t n = r ? 0 : val_elements(&v);
	if (n > c.max_results)
		/* checked before the JSON is made: 500k flows were a 347 MB answer */
		r = efail(&c, q->nsteps ? q->steps[q->nsteps - 1].pos : 0, -E2BIG,
			  "query result exceeds %zu elements (%zu; analyzer.gremlin.max_results); "
			  "add Limit()",
			  c.max_results, n);
	if (!r)
		r = to_result(&c, &v, out);
	val_clear(&v);
	ctx_free(&c);
	return r;
}
