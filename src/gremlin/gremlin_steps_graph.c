/* gremlin_steps_graph.c - the traversal steps of the Gremlin evaluator (Skydive's graph
 * steps): V/E, Has*, Out/In/Both and their E/V forms, Dedup, Range/Limit, Sort, Values,
 * ValueMap, Keys, Sum, ShortestPathTo, SubGraph, As/Select, Descendants/Ascendants/Neighbors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/pvec.h"
#include "common/smap.h"
#include "gremlin/gremlin_eval_int.h"

/* ---- steps ------------------------------------------------------------------------ */

/* Keeps items matching f (or not matching when neg). */
int ge_step_filter(struct ctx *c, const struct step *s, struct val *v, const struct filter *f,
                   int neg)
{
	struct pvec scratch = {0};
	if (v->type == V_NODES || v->type == V_EDGES || val_typed_flows(v)) {
		size_t j = 0;
		for (size_t i = 0; i < v->items.n; i++) {
			struct subject sub = ge_item_subject(v, i);
			if (ge_filter_match(f, &sub, &scratch) != neg)
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
			struct subject sub = ge_item_subject(v, i);
			if (!json_is_object(sub.obj))
				continue;
			if (ge_filter_match(f, &sub, &scratch) != neg)
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
int ge_step_ve(struct ctx *c, const struct step *s, const struct step *nexts, struct val *v)
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
				if ((!s->flt || ge_node_match(s->flt, l[i], &scratch)) &&
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
		int ok = !s->flt || (nodes ? ge_node_match(s->flt, p, &scratch)
					   : ge_edge_match(s->flt, p, &scratch));
		if (ok && pvec_push(&v->items, (void *)p)) {
			pvec_free(&scratch);
			return ENOMEM_AT(c, s->pos);
		}
	}
	pvec_free(&scratch);
	return 0;
}

/* Out/In/Both, OutE/InE/BothE from nodes. */
int ge_step_walk(struct ctx *c, const struct step *s, struct val *v)
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
					if (s->flt && !ge_edge_match(s->flt, l[j], &scratch))
						continue;
					p = l[j];
				} else {
					const struct graph_node *o = graph_view_node_get(
					    v->view, dir == 0 ? l[j]->child : l[j]->parent);
					if (!o || (s->flt && !ge_node_match(s->flt, o, &scratch)))
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
int ge_step_edge_nodes(struct ctx *c, const struct step *s, struct val *v)
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
			if (!n || (s->flt && !ge_node_match(s->flt, n, &scratch)))
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

/* The same for the values of a typed flow's keys, without JSON: each value tagged by its
 * type (strings by their length too), so two flows have the same text exactly when their
 * JSON values would. *found: some key had a value; NULL with *obj set when a key is a
 * sub-object (the JSON way then), or on no memory (*obj 0). */
static char *typed_key(const struct val *v, size_t i, const struct step *s, const char *dflt,
		       int *found, int *obj)
{
	size_t cap = 64, len = 0;
	char *k = malloc(cap);
	*found = *obj = 0;
	for (int a = 0; k && a < (s->nargs ? s->nargs : 1); a++) {
		struct gremlin_fval fv[4];
		int n = v->fops->field(v->fset, v->items.v[i], s->nargs ? s->args[a].s : dflt, fv, 4);
		for (int j = 0; k && j < n; j++) {
			char num[40];
			const char *p = num;
			size_t pl;
			switch (fv[j].kind) {
			case GREMLIN_FV_INT:
				pl = (size_t)snprintf(num, sizeof(num), "i%lld;", (long long)fv[j].i);
				break;
			case GREMLIN_FV_REAL:
				pl = (size_t)snprintf(num, sizeof(num), "r%.17g;", fv[j].d);
				break;
			case GREMLIN_FV_BOOL:
				pl = (size_t)snprintf(num, sizeof(num), "b%d;", !!fv[j].i);
				break;
			case GREMLIN_FV_STR:
				pl = (size_t)snprintf(num, sizeof(num), "s%zu:", strlen(fv[j].s));
				break;
			default:
				free(k);
				*obj = 1;
				return NULL;
			}
			size_t sl = fv[j].kind == GREMLIN_FV_STR ? strlen(fv[j].s) : 0;
			if (len + pl + sl + 2 > cap) {
				cap = (len + pl + sl + 2) * 2;
				char *nk = realloc(k, cap);
				if (!nk) {
					free(k);
					return NULL;
				}
				k = nk;
			}
			memcpy(k + len, p, pl);
			len += pl;
			memcpy(k + len, fv[j].s ? fv[j].s : "", sl);
			len += sl;
			*found = 1;
		}
		if (k)
			k[len++] = '|'; /* between keys */
	}
	if (k)
		k[len] = 0;
	return k;
}

int ge_step_dedup(struct ctx *c, const struct step *s, struct val *v)
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
	size_t n = ge_val_count(v);
	const char *flow_key = "TrackingID";
	for (size_t i = 0; i < n && !r; i++) {
		char *key = NULL;
		const char *k;
		int found = 0, obj = 0;
		if (v->type == V_VALUES) {
			key = json_key(json_array_get(v->json, i));
			k = key;
		} else if (val_typed_flows(v) &&
			   ((key = typed_key(v, i, s, flow_key, &found, &obj)) || !obj)) {
			if (key && !found) {
				/* an item with none of the keys is kept */
				free(key);
				if (pvec_push(&keep, (void *)(uintptr_t)i))
					r = ENOMEM_AT(c, s->pos);
				continue;
			}
			k = key;
		} else if (s->nargs || v->type == V_FLOWS) {
			/* the values of the keys; an item with none of them is kept */
			json_t *arr = json_array();
			struct subject sub = ge_item_subject(v, i);
			found = 0;
			for (int a = 0; a < (s->nargs ? s->nargs : 1) && arr; a++) {
				json_t *tmp;
				ge_subject_values(&sub, s->nargs ? s->args[a].s : flow_key,
				                  &scratch, &tmp);
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
		if (v->type == V_NODES || v->type == V_EDGES || val_typed_flows(v)) {
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

int ge_step_range(struct ctx *c, const struct step *s, struct val *v)
{
	int64_t from = s->kind == S_LIMIT ? 0 : s->args[0].i;
	int64_t to = s->kind == S_LIMIT ? s->args[0].i : s->args[1].i;
	size_t n = ge_val_count(v);
	size_t f = (uint64_t)from < n ? (size_t)from : n;
	size_t t = (uint64_t)to < n ? (size_t)to : n;
	if (t < f)
		t = f;
	if ((v->type == V_FLOWS && !v->fset) || v->type == V_VALUES) {
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

/* Typed flows: the first value of each flow's key (by item index), NULL when none; the
 * same order as the JSON values would give (numbers, then strings, then by JSON type). */
static _Thread_local const struct gremlin_fval *const *sort_fv;

static int fv_jtype(const struct gremlin_fval *f)
{
	switch (f->kind) {
	case GREMLIN_FV_INT:
		return JSON_INTEGER;
	case GREMLIN_FV_REAL:
		return JSON_REAL;
	case GREMLIN_FV_STR:
		return JSON_STRING;
	case GREMLIN_FV_BOOL:
		return f->i ? JSON_TRUE : JSON_FALSE;
	default:
		return JSON_OBJECT;
	}
}

static int fv_cmp(const struct gremlin_fval *x, const struct gremlin_fval *y)
{
	int nx = x->kind == GREMLIN_FV_INT || x->kind == GREMLIN_FV_REAL;
	int ny = y->kind == GREMLIN_FV_INT || y->kind == GREMLIN_FV_REAL;
	if (nx && ny) {
		double dx = x->kind == GREMLIN_FV_INT ? (double)x->i : x->d;
		double dy = y->kind == GREMLIN_FV_INT ? (double)y->i : y->d;
		return dx < dy ? -1 : dx > dy;
	}
	if (x->kind == GREMLIN_FV_STR && y->kind == GREMLIN_FV_STR)
		return strcmp(x->s, y->s);
	return fv_jtype(x) - fv_jtype(y);
}

static int sort_cmp_typed(const void *a, const void *b)
{
	const struct sort_ent *x = a, *y = b;
	const struct gremlin_fval *fx = sort_fv[x->i], *fy = sort_fv[y->i];
	int r;
	if (!fx || !fy) {
		r = !fx - !fy;
		if (r)
			return r;
	} else if ((r = fv_cmp(fx, fy))) {
		return sort_desc ? -r : r;
	}
	return x->i < y->i ? -1 : x->i > y->i;
}

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
		if (ge_json_num(x->key, &dx) && ge_json_num(y->key, &dy))
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

int ge_step_sort(struct ctx *c, const struct step *s, struct val *v)
{
	int desc = 0;
	const char *key = v->type == V_FLOWS ? "Last" : "CreatedAt";
	for (int i = 0; i < s->nargs; i++) {
		if (s->args[i].kind == A_KW)
			desc = s->args[i].kw == K_DESC;
		else
			key = s->args[i].s;
	}
	size_t n = ge_val_count(v);
	struct sort_ent *ents = calloc(n ? n : 1, sizeof(*ents));
	if (!ents)
		return ENOMEM_AT(c, s->pos);
	/* typed flows: their values compared as they are, no JSON (a sub-object key such as
	 * Metric, which compares by JSON type only, takes the JSON way) */
	struct gremlin_fval *fvs = NULL;
	const struct gremlin_fval **fvp = NULL;
	int typed = val_typed_flows(v);
	if (typed) {
		fvs = malloc((n ? n : 1) * sizeof(*fvs));
		fvp = malloc((n ? n : 1) * sizeof(*fvp));
		if (!fvs || !fvp) {
			free(fvs);
			free(fvp);
			free(ents);
			return ENOMEM_AT(c, s->pos);
		}
		for (size_t i = 0; i < n && typed; i++) {
			struct gremlin_fval two[2];
			int k = v->fops->field(v->fset, v->items.v[i], key, two, 2);
			ents[i].i = i;
			fvs[i] = two[0];
			if (k && two[0].s == two[0].buf)
				fvs[i].s = fvs[i].buf; /* it pointed into the copy's source */
			fvp[i] = k ? &fvs[i] : NULL;
			if (k && two[0].kind == GREMLIN_FV_OBJ)
				typed = 0;
		}
		if (!typed) {
			free(fvs);
			free(fvp);
			fvs = NULL;
			fvp = NULL;
		}
	}
	struct pvec scratch = {0};
	for (size_t i = 0; i < n && !typed; i++) {
		struct subject sub = ge_item_subject(v, i);
		ents[i].i = i;
		if (v->type == V_VALUES && !json_is_object(sub.obj)) {
			ents[i].key = (json_t *)sub.obj;
			continue;
		}
		ge_subject_values(&sub, key, &scratch, &ents[i].tmp);
		ents[i].key = scratch.n ? scratch.v[0] : NULL;
	}
	pvec_free(&scratch);
	sort_desc = desc;
	sort_fv = (const struct gremlin_fval *const *)fvp;
	qsort(ents, n, sizeof(*ents), typed ? sort_cmp_typed : sort_cmp);
	sort_fv = NULL;
	free(fvs);
	free(fvp);
	int r = 0;
	if (v->type == V_NODES || v->type == V_EDGES || val_typed_flows(v)) {
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

int ge_step_values(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *out = json_array();
	if (!out)
		return ENOMEM_AT(c, s->pos);
	struct pvec scratch = {0};
	size_t n = ge_val_count(v);
	for (size_t i = 0; i < n; i++) {
		struct subject sub = ge_item_subject(v, i);
		if (!sub.e && !sub.frec && !json_is_object(sub.obj))
			continue;
		json_t *tmp;
		ge_subject_values(&sub, s->args[0].s, &scratch, &tmp);
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

int ge_step_valuemap(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *out = json_array();
	if (!out)
		return ENOMEM_AT(c, s->pos);
	struct pvec scratch = {0};
	size_t n = ge_val_count(v);
	for (size_t i = 0; i < n; i++) {
		struct subject sub = ge_item_subject(v, i);
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
				ge_subject_values(&sub, s->args[a].s, &scratch, &tmp);
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

int ge_step_keys(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *out = json_array();
	if (!out)
		return ENOMEM_AT(c, s->pos);
	struct smap seen = {0};
	struct pvec owned = {0};
	size_t n = ge_val_count(v);
	/* elements also have Skydive's @ keys (graph.go, GetFieldKeys), listed first */
	static const char *const elem_keys[] = {"@ID",        "@Host",      "@Origin",  "@CreatedAt",
						"@UpdatedAt", "@DeletedAt", "@Revision"};
	if (n && (v->type == V_NODES || v->type == V_EDGES))
		for (size_t i = 0; i < sizeof(elem_keys) / sizeof(elem_keys[0]); i++)
			json_array_append_new(out, json_string(elem_keys[i]));
	for (size_t i = 0; i < n; i++) {
		struct subject sub = ge_item_subject(v, i);
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

int ge_step_sum(struct ctx *c, const struct step *s, struct val *v)
{
	json_int_t isum = 0;
	double dsum = 0;
	int real = 0;
	struct pvec scratch = {0};
	size_t n = ge_val_count(v);
	for (size_t i = 0; i < n; i++) {
		struct subject sub = ge_item_subject(v, i);
		json_t *tmp = NULL;
		if (!s->nargs) {
			scratch.n = 0;
			if (sub.obj)
				pvec_push(&scratch, (void *)sub.obj);
		} else if (!sub.e && !sub.frec && !json_is_object(sub.obj)) {
			continue;
		} else {
			ge_subject_values(&sub, s->args[0].s, &scratch, &tmp);
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
int ge_step_shortest(struct ctx *c, const struct step *s, struct val *v)
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
			if (ge_node_match(target, n, &scratch)) {
				found = (ssize_t)qi;
				break;
			}
			for (int dir = 0; dir < 2 && !r; dir++) {
				size_t ne;
				const struct graph_edge *const *l =
				    dir == 0 ? graph_view_out_edges(v->view, n->e.id, &ne)
					     : graph_view_in_edges(v->view, n->e.id, &ne);
				for (size_t j = 0; j < ne; j++) {
					if (ef && !ge_edge_match(ef, l[j], &scratch))
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

int ge_step_subgraph(struct ctx *c, const struct step *s, struct val *v)
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

int ge_step_as(struct ctx *c, const struct step *s, struct val *v)
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

int ge_step_select(struct ctx *c, const struct step *s, struct val *v)
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
int ge_step_family(struct ctx *c, const struct step *s, struct val *v)
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
					if (!ge_edge_match(ef, l[j], &scratch))
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
