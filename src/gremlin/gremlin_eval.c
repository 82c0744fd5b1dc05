/* gremlin_eval.c - evaluates a parsed Gremlin query against a graph view as a pipeline of
 * typed values (graph, nodes, edges, paths, flows, JSON values) and shapes the result as
 * Skydive does: the pipeline, reading values out of elements, and the results. The steps
 * are in gremlin_steps_graph.c and gremlin_steps_flow.c (gremlin_eval_int.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/pvec.h"
#include "common/smap.h"
#include "gremlin/gremlin_eval_int.h"

static void ctx_bounds(struct ctx *c, const struct gremlin_env *env)
{
	c->max_items = env && env->max_items ? env->max_items : GREMLIN_DEFAULT_MAX_ITEMS;
	c->max_results = env && env->max_results ? env->max_results : GREMLIN_DEFAULT_MAX_RESULTS;
	c->timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : GREMLIN_DEFAULT_TIMEOUT_MS;
	c->deadline_ns = mono_ns() + c->timeout_ms * 1000000;
}

/* ---- reading values out of elements and JSON objects -------------------------- */


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

/* Values a typed flow field gives at most (Network: A and B). */
#define FV_MAX 4

static json_t *fval_json(const struct gremlin_fval *f)
{
	switch (f->kind) {
	case GREMLIN_FV_INT:
		return json_integer(f->i);
	case GREMLIN_FV_REAL:
		return json_real(f->d);
	case GREMLIN_FV_STR:
		return json_string(f->s);
	case GREMLIN_FV_BOOL:
		return json_boolean(f->i);
	default:
		return NULL;
	}
}

/* A JSON leaf seen as a typed value (strings borrowed): objects, arrays and null compare
 * with nothing. */
static void fval_of_json(const json_t *j, struct gremlin_fval *f)
{
	f->kind = GREMLIN_FV_OBJ;
	if (!j)
		return;
	switch (json_typeof(j)) {
	case JSON_INTEGER:
		f->kind = GREMLIN_FV_INT;
		f->i = json_integer_value(j);
		break;
	case JSON_REAL:
		f->kind = GREMLIN_FV_REAL;
		f->d = json_real_value(j);
		break;
	case JSON_STRING:
		f->kind = GREMLIN_FV_STR;
		f->s = json_string_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		f->kind = GREMLIN_FV_BOOL;
		f->i = json_is_true(j);
		break;
	default:
		f->kind = GREMLIN_FV_OBJ;
		break;
	}
}

/* The values of key in s; *tmp holds a temporary the caller releases. */
void ge_subject_values(const struct subject *s, const char *key, struct pvec *out, json_t **tmp)
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
	if (s->frec) {
		/* a typed flow: JSON scalars for the few values asked (Sort, Dedup, Values);
		 * a sub-object (Metric) from the record's JSON */
		struct gremlin_fval fv[FV_MAX];
		int n = s->fops->field(s->fset, s->frec, key, fv, FV_MAX);
		json_t *hold = n ? json_array() : NULL;
		for (int i = 0; hold && i < n; i++) {
			json_t *j;
			if (fv[i].kind == GREMLIN_FV_OBJ) {
				j = s->fops->rec_json(s->fset, s->frec);
				if (j && !json_array_append_new(hold, j))
					walk(j, key, out);
				break;
			}
			j = fval_json(&fv[i]);
			if (j && !json_array_append_new(hold, j))
				pvec_push(out, j);
		}
		*tmp = hold;
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

int ge_json_num(const json_t *j, double *d)
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

static int fv_num(const struct gremlin_fval *f, double *d)
{
	if (f->kind == GREMLIN_FV_INT) {
		*d = (double)f->i;
		return 1;
	}
	if (f->kind == GREMLIN_FV_REAL) {
		*d = f->d;
		return 1;
	}
	return 0;
}

/* Predicates test typed values: a JSON leaf is read into one (fval_of_json), a typed
 * flow's field comes as one, so both follow the same rules. */
static int leaf_eq(const struct gremlin_fval *leaf, const struct arg *a, const char *key)
{
	double x, y;
	switch (a->kind) {
	case A_STR: {
		if (leaf->kind != GREMLIN_FV_STR)
			return 0;
		const char *s = leaf->s;
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
		if (leaf->kind == GREMLIN_FV_INT)
			return leaf->i == a->i;
		return fv_num(leaf, &x) && x == (double)a->i;
	case A_FLOAT:
		return fv_num(leaf, &x) && arg_num(a, &y) && x == y;
	case A_BOOL:
		return leaf->kind == GREMLIN_FV_BOOL && !!leaf->i == !!a->b;
	default:
		return 0;
	}
}

/* -1, 0, 1, or 2 when the two do not compare (different types). */
static int leaf_cmp(const struct gremlin_fval *leaf, const struct arg *a)
{
	double x, y;
	if (leaf->kind == GREMLIN_FV_INT && a->kind == A_INT)
		return leaf->i < a->i ? -1 : leaf->i > a->i;
	if (fv_num(leaf, &x) && arg_num(a, &y))
		return x < y ? -1 : x > y;
	if (leaf->kind == GREMLIN_FV_STR && a->kind == A_STR) {
		int r = strcmp(leaf->s, a->s);
		return r < 0 ? -1 : r > 0;
	}
	return 2;
}

static int ipv4_in(const char *s, uint32_t net, uint32_t mask)
{
	uint32_t addr, m;
	return gremlin_parse_cidr(s, &addr, &m) == 0 && (addr & mask) == net;
}

static int leaf_match(const struct gremlin_fval *leaf, const struct arg *a, const char *key)
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
		return leaf->kind == GREMLIN_FV_STR && a->re &&
		       regexec(a->re, leaf->s, 0, NULL, 0) == 0;
	case P_IPV4RANGE:
		return leaf->kind == GREMLIN_FV_STR && ipv4_in(leaf->s, a->net, a->mask);
	default:
		return 0;
	}
}

static int json_leaf_match(const json_t *j, const struct arg *a, const char *key)
{
	struct gremlin_fval f;
	fval_of_json(j, &f);
	return leaf_match(&f, a, key);
}

/* Any leaf (an array's elements count one by one) matching. */
static int any_leaf(const struct pvec *vals, const struct arg *a, const char *key)
{
	for (size_t i = 0; i < vals->n; i++) {
		const json_t *v = vals->v[i];
		if (json_is_array(v)) {
			size_t j;
			json_t *x;
			json_array_foreach(v, j, x) if (json_leaf_match(x, a, key)) return 1;
		} else if (json_leaf_match(v, a, key)) {
			return 1;
		}
	}
	return 0;
}

/* The same over a typed flow's values. */
static int any_fval(const struct gremlin_fval *fv, int n, const struct arg *a, const char *key)
{
	for (int i = 0; i < n; i++)
		if (leaf_match(&fv[i], a, key))
			return 1;
	return 0;
}

/* cond_match on a typed flow: no JSON at all. */
static int cond_match_typed(const struct subject *s, const struct cond *c)
{
	struct gremlin_fval fv[FV_MAX];
	int n = s->fops->field(s->fset, s->frec, c->key, fv, FV_MAX);
	const struct arg *a = c->val;
	if (!a)
		return n > 0;
	if (a->kind == A_PRED && (a->pred == P_NE || a->pred == P_NEE)) {
		int r = !any_fval(fv, n, &a->args[0], c->key);
		return a->pred == P_NE ? r && n > 0 : r;
	}
	if (a->kind == A_PRED && a->pred == P_WITHOUT) {
		for (int i = 0; i < a->nargs; i++)
			if (any_fval(fv, n, &a->args[i], c->key))
				return 0;
		return 1;
	}
	return any_fval(fv, n, a, c->key);
}

static int cond_match(const struct subject *s, const struct cond *c, struct pvec *scratch)
{
	if (s->frec)
		return cond_match_typed(s, c);
	json_t *tmp;
	ge_subject_values(s, c->key, scratch, &tmp);
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

int ge_filter_match(const struct filter *f, const struct subject *s, struct pvec *scratch)
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

int ge_node_match(const struct filter *f, const struct graph_node *n, struct pvec *scratch)
{
	struct subject s = {.e = &n->e};
	return ge_filter_match(f, &s, scratch);
}

int ge_edge_match(const struct filter *f, const struct graph_edge *e, struct pvec *scratch)
{
	struct subject s = {.e = &e->e, .edge = e};
	return ge_filter_match(f, &s, scratch);
}

struct subject ge_item_subject(const struct val *v, size_t i)
{
	struct subject s = {0};
	if (v->type == V_NODES) {
		s.e = &((const struct graph_node *)v->items.v[i])->e;
	} else if (v->type == V_EDGES) {
		s.edge = v->items.v[i];
		s.e = &s.edge->e;
	} else if (val_typed_flows(v)) {
		s.frec = v->items.v[i];
		s.fset = v->fset;
		s.fops = v->fops;
	} else {
		s.obj = json_array_get(v->json, i);
	}
	return s;
}

size_t ge_val_count(const struct val *v)
{
	if (val_typed_raw(v))
		return ge_raw_flows(v); /* the entries of its JSON */
	if ((v->type == V_FLOWS && !v->fset) || v->type == V_VALUES)
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
	case V_GROUPS:
		return json_object_size(v->json);
	default:
		return ge_val_count(v);
	}
}

static int run_step(struct ctx *c, const struct gremlin_query *q, int si, struct val *v,
		    int64_t at_ms, int64_t dur_ms)
{
	const struct step *s = &q->steps[si];
	const struct step *nexts = si + 1 < q->nsteps ? &q->steps[si + 1] : NULL;
	int r;
	/* typed raw packets: BPF() reads the records, the other steps their JSON */
	if (val_typed_raw(v) && s->kind != S_BPF && (r = ge_raw_json(c, s, v)))
		return r;
	if (val_typed_flows(v))
		switch (s->kind) {
		case S_HAS: case S_HASEITHER: case S_HASKEY: case S_HASNOT: case S_DEDUP:
		case S_COUNT: case S_RANGE: case S_LIMIT: case S_SORT: case S_VALUES: case S_SUM:
		case S_G: case S_RAWPACKETS:
			break; /* read the records through the typed accessor */
		default:
			/* the other steps read flow objects: made now, for what is left */
			if ((r = ge_flows_json(c, s, v)))
				return r;
		}
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
		return ge_step_ve(c, s, nexts, v);
	case S_HAS:
	case S_HASEITHER:
	case S_HASKEY:
		if ((r = need(c, s, v, M_LISTS)))
			return r;
		return ge_step_filter(c, s, v, s->flt, 0);
	case S_HASNOT:
		if ((r = need(c, s, v, M_LISTS)))
			return r;
		return ge_step_filter(c, s, v, s->flt, 1);
	case S_OUT:
	case S_IN:
	case S_BOTH:
		if (v->type == V_FLOWS)
			return ge_step_flow_nodes(c, s, v);
		/* fall through */
	case S_OUTE:
	case S_INE:
	case S_BOTHE:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return ge_step_walk(c, s, v);
	case S_OUTV:
	case S_INV:
	case S_BOTHV:
		if ((r = need(c, s, v, M(V_EDGES))))
			return r;
		return ge_step_edge_nodes(c, s, v);
	case S_DEDUP:
		if ((r = need(c, s, v, M_LISTS | M(V_PATHS))))
			return r;
		return ge_step_dedup(c, s, v);
	case S_COUNT: {
		if (v->type == V_METRICS)
			return ge_step_map_count(c, s, v);
		if ((r = need(c, s, v, M_LISTS | M(V_PATHS))))
			return r;
		size_t n = ge_val_count(v);
		val_clear(v);
		v->type = V_SCALAR;
		v->json = json_integer((json_int_t)n);
		return v->json ? 0 : ENOMEM_AT(c, s->pos);
	}
	case S_RANGE:
	case S_LIMIT:
		if ((r = need(c, s, v, M_LISTS | M(V_PATHS))))
			return r;
		return ge_step_range(c, s, v);
	case S_SORT:
		if ((r = need(c, s, v, M_LISTS)))
			return r;
		return ge_step_sort(c, s, v);
	case S_VALUES:
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		return ge_step_values(c, s, v);
	case S_VALUEMAP:
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		return ge_step_valuemap(c, s, v);
	case S_KEYS:
		if (v->type == V_METRICS)
			return ge_step_metrics_keys(c, s, v);
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		return ge_step_keys(c, s, v);
	case S_SUM:
		if (v->type == V_METRICS)
			return ge_step_metrics_sum(c, s, v);
		if ((r = need(c, s, v, M_ELEMS | M(V_FLOWS) | M(V_VALUES))))
			return r;
		if (!s->nargs && v->type != V_VALUES)
			return efail(c, s->pos, -EINVAL, "Sum() needs a key here");
		return ge_step_sum(c, s, v);
	case S_SHORTESTPATHTO:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return ge_step_shortest(c, s, v);
	case S_SUBGRAPH:
		if ((r = need(c, s, v, M_ELEMS | M(V_PATHS))))
			return r;
		return ge_step_subgraph(c, s, v);
	case S_AS:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return ge_step_as(c, s, v);
	case S_SELECT:
		return ge_step_select(c, s, v);
	case S_DESCENDANTS:
	case S_ASCENDANTS:
	case S_NEIGHBORS:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return ge_step_family(c, s, v);
	case S_FLOWS:
		if ((r = need(c, s, v, M(V_GRAPH) | M(V_NODES))))
			return r;
		return ge_step_flows(c, s, v, at_ms, dur_ms, q->steps + si + 1, q->nsteps - si - 1);
	case S_CAPTURENODE:
	case S_NODE:
	case S_HOPS:
	case S_NODES:
		if ((r = need(c, s, v, M(V_FLOWS))))
			return r;
		return ge_step_flow_nodes(c, s, v);
	case S_RAWPACKETS:
		if (v->type == V_FLOWS && c->env && c->env->flow_ops &&
		    c->env->flow_ops->raw_packets)
			return ge_step_raw_packets(c, s, v);
		break;
	case S_METRICS:
		if (v->type == V_NODES)
			return ge_step_node_metrics(c, s, v, at_ms, dur_ms);
		if (v->type == V_FLOWS && c->env && c->env->flow_ops)
			return ge_step_metrics(c, s, v, at_ms, dur_ms);
		break;
	case S_WORKFLOW:
		/* Skydive runs a stored JavaScript workflow here (gremlin/traversal/workflow.go) */
		return efail(c, s->pos, -EINVAL,
			     "Workflow() (Skydive's JavaScript workflows) is not available in this "
			     "build");
	case S_GROUP:
		if ((r = need(c, s, v, M(V_FLOWS))))
			return r;
		return ge_step_group(c, s, v);
	case S_MORETHAN:
		if ((r = need(c, s, v, M(V_GROUPS))))
			return r;
		return ge_step_morethan(c, s, v);
	case S_AGGREGATES:
		if ((r = need(c, s, v, M(V_METRICS))))
			return r;
		return ge_step_aggregates(c, s, v, at_ms, dur_ms);
	case S_NEXTHOP:
		if ((r = need(c, s, v, M(V_NODES))))
			return r;
		return ge_step_nexthop(c, s, v);
	case S_SOCKETS:
		if ((r = need(c, s, v, M(V_FLOWS) | M(V_NODES))))
			return r;
		return ge_step_sockets(c, s, v);
	case S_BPF:
		if (v->type != V_VALUES || !v->raw)
			return efail(c, s->pos, -EINVAL, "BPF() applies to RawPackets() only");
		if (s->nargs != 1 || s->args[0].kind != A_STR)
			return efail(c, s->nargs ? s->args[0].pos : s->pos, -EINVAL,
				     "BPF takes one filter string");
		return ge_step_bpf(c, s, v);
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
	int r;
	if (val_typed_flows(v) && (r = ge_flows_json(c, NULL, v)))
		return r;
	if (val_typed_raw(v) && c->env && c->env->raw_typed) {
		/* handed over as records (a PCAP answer): no JSON, no base64 */
		out->raw_pkts = (const struct gremlin_raw_pkt *const *)v->items.v;
		out->raw_n = v->items.n;
		out->raw_set = v->rset;
		out->raw_free = v->fops->raw_free;
		v->items = (struct pvec){0};
		v->rset = NULL;
		return 0;
	}
	if (val_typed_raw(v) && (r = ge_raw_json(c, NULL, v)))
		return r;
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
	case V_GROUPS:
		/* as Skydive: the one map in an array, an empty array when it is empty */
		j = json_object_size(v->json) ? json_pack("[O]", v->json) : json_array();
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
	memset(out, 0, sizeof(*out));
	out->kind = GREMLIN_RESULT_VALUE;
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

void gremlin_result_clear(struct gremlin_result *r)
{
	json_decref(r->json);
	/* raw_pkts is the set's pvec storage (to_result moved it out of the value) */
	free((void *)r->raw_pkts);
	if (r->raw_set && r->raw_free)
		r->raw_free(r->raw_set);
	memset(r, 0, sizeof(*r));
}
