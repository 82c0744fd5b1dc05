/* gremlin_eval_int.h - what the evaluator's files share (gremlin_eval.c: the pipeline,
 * values and results; gremlin_steps_graph.c: the traversal steps; gremlin_steps_flow.c:
 * the flow steps): the typed value, the evaluation context, its error and bound helpers.
 * Private to src/gremlin: ge_ names are not an API. */
#ifndef SKYDIVE_GREMLIN_EVAL_INT_H
#define SKYDIVE_GREMLIN_EVAL_INT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/pvec.h"
#include "gremlin/gremlin_int.h"

/* V_METRICS: a JSON object {"<flow UUID or node ID>": [metric, ...]} (Metrics(),
 * Aggregates()); V_GROUPS: {"<key value>": [flow, ...]} (Group(), MoreThan()). */
enum vtype { V_GRAPH, V_NODES, V_EDGES, V_PATHS, V_FLOWS, V_VALUES, V_SCALAR, V_METRICS,
	     V_GROUPS };

static const char *const vtype_names[] = {"the graph", "nodes",  "edges",
					  "paths",     "flows",  "values",
					  "a single value", "metrics", "groups of flows"};

struct val {
	enum vtype type;
	const struct graph_view *view; /* the graph the elements belong to */
	struct pvec items;             /* nodes or edges (borrowed); paths: struct pvec * owned */
	json_t *json;                  /* V_FLOWS, V_VALUES: array; V_SCALAR: the value;
					* V_METRICS: object */
	int raw;                       /* V_VALUES made by RawPackets() (BPF() applies) */
	/* Typed V_FLOWS (a provider with gremlin_flow_ops.select): items are the records
	 * of fset (the provider's, freed with fops->set_free), json is NULL; the steps that
	 * need JSON objects call ge_flows_json first (gremlin_steps_flow.c). */
	void *fset;
	const struct gremlin_flow_ops *fops;
	/* Typed raw packets (V_VALUES, raw, a provider with raw_select): items are the
	 * struct gremlin_raw_pkt of rset (fops->raw_free), grouped by flow, json is NULL;
	 * BPF() filters items, the other steps and a JSON answer call ge_raw_json first. */
	void *rset;
	/* V_METRICS: the counters of its metrics (NULL: a flow's; gremlin_steps_more.c) */
	const char *const *mfields;
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

static inline int efail(struct ctx *c, int pos, int code, const char *fmt, ...)
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

static inline int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int timed_out(struct ctx *c, int pos)
{
	return efail(c, pos, -E2BIG,
		     "query stopped after %lld ms (analyzer.gremlin.timeout); narrow it with "
		     "Has() or Limit()",
		     (long long)c->timeout_ms);
}

/* Called in the loops whose cost a query chooses (walks, BFS, named sets): the clock is
 * read every 4096 calls, so a query that runs past its time fails instead of holding
 * the loop (and the graph lock) for minutes. Non-zero: the query failed. */
static inline int tick(struct ctx *c, int pos)
{
	if ((++c->ticks & 4095) || mono_ns() < c->deadline_ns)
		return 0;
	return timed_out(c, pos);
}

/* A step's output grew past max_items (elements between two steps). */
static inline int too_many(struct ctx *c, int pos, const char *step, size_t n)
{
	return efail(c, pos, -E2BIG,
		     "%s() gives more than %zu elements (%zu; analyzer.gremlin.max_items); "
		     "narrow the query with Has(), Dedup() or Limit()",
		     step, c->max_items, n);
}

static inline void val_clear(struct val *v)
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
	v->mfields = NULL;
	if (v->fset && v->fops->set_free)
		v->fops->set_free(v->fset);
	if (v->rset && v->fops->raw_free)
		v->fops->raw_free(v->rset);
	v->fset = NULL;
	v->rset = NULL;
	v->fops = NULL;
}

static inline int need(struct ctx *c, const struct step *s, const struct val *v, unsigned mask)
{
	if (mask & (1u << v->type))
		return 0;
	return efail(c, s->pos, -EINVAL, "%s() does not apply to %s", gremlin_step_name(s->kind),
		     vtype_names[v->type]);
}

#define M(t) (1u << (t))
#define M_ELEMS (M(V_NODES) | M(V_EDGES))
#define M_LISTS (M(V_NODES) | M(V_EDGES) | M(V_FLOWS) | M(V_VALUES))

/* What a key is looked up in: an element (node or edge), a plain JSON object (flow), or
 * a typed flow record (frec of the provider's set fset, read through fops->field). */
struct subject {
	const struct graph_elem *e;
	const struct graph_edge *edge; /* when the element is an edge */
	const json_t *obj;
	const void *frec, *fset;
	const struct gremlin_flow_ops *fops;
};

/* Typed flows: the item list is v->items, as for nodes and edges. */
static inline int val_typed_flows(const struct val *v)
{
	return v->type == V_FLOWS && v->fset;
}

static inline int val_typed_raw(const struct val *v)
{
	return v->type == V_VALUES && v->rset;
}

/* ---- gremlin_eval.c: reading values out of elements and JSON objects ---------- */

void ge_subject_values(const struct subject *s, const char *key, struct pvec *out, json_t **tmp);
int ge_json_num(const json_t *j, double *d);
int ge_filter_match(const struct filter *f, const struct subject *s, struct pvec *scratch);
int ge_node_match(const struct filter *f, const struct graph_node *n, struct pvec *scratch);
int ge_edge_match(const struct filter *f, const struct graph_edge *e, struct pvec *scratch);
struct subject ge_item_subject(const struct val *v, size_t i);
size_t ge_val_count(const struct val *v);

/* ---- gremlin_steps_graph.c ---------------------------------------------------- */

int ge_step_filter(struct ctx *c, const struct step *s, struct val *v, const struct filter *f,
                   int neg);
int ge_step_ve(struct ctx *c, const struct step *s, const struct step *nexts, struct val *v);
int ge_step_walk(struct ctx *c, const struct step *s, struct val *v);
int ge_step_edge_nodes(struct ctx *c, const struct step *s, struct val *v);
int ge_step_dedup(struct ctx *c, const struct step *s, struct val *v);
int ge_step_range(struct ctx *c, const struct step *s, struct val *v);
int ge_step_sort(struct ctx *c, const struct step *s, struct val *v);
int ge_step_values(struct ctx *c, const struct step *s, struct val *v);
int ge_step_valuemap(struct ctx *c, const struct step *s, struct val *v);
int ge_step_keys(struct ctx *c, const struct step *s, struct val *v);
int ge_step_sum(struct ctx *c, const struct step *s, struct val *v);
int ge_step_shortest(struct ctx *c, const struct step *s, struct val *v);
int ge_step_subgraph(struct ctx *c, const struct step *s, struct val *v);
int ge_step_as(struct ctx *c, const struct step *s, struct val *v);
int ge_step_select(struct ctx *c, const struct step *s, struct val *v);
int ge_step_family(struct ctx *c, const struct step *s, struct val *v);

/* ---- gremlin_steps_flow.c ----------------------------------------------------- */

int ge_step_flows(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
		  int64_t dur_ms, const struct step *next, int nnext);
int ge_step_flow_nodes(struct ctx *c, const struct step *s, struct val *v);
int ge_flows_json(struct ctx *c, const struct step *s, struct val *v);
int ge_step_metrics(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
		    int64_t dur_ms);
int ge_step_bpf(struct ctx *c, const struct step *s, struct val *v);
int ge_step_raw_packets(struct ctx *c, const struct step *s, struct val *v);
int ge_raw_json(struct ctx *c, const struct step *s, struct val *v);
size_t ge_raw_flows(const struct val *v); /* flows of typed raw packets */

/* ---- gremlin_steps_nexthop.c -------------------------------------------------- */

int ge_step_nexthop(struct ctx *c, const struct step *s, struct val *v);

/* ---- gremlin_steps_sockets.c -------------------------------------------------- */

int ge_step_sockets(struct ctx *c, const struct step *s, struct val *v);

/* ---- gremlin_steps_more.c ---------------------------------------------------- */

extern const char *const ge_flow_metric_fields[]; /* NULL-terminated counter names */
extern const char *const ge_intf_metric_fields[];
/* A metric of a series: its counters in the order of the series' fields, Start, Last. */
#define GE_METRIC_MAX 24
struct ge_metric {
	int64_t n[GE_METRIC_MAX];
	int64_t start, last;
};
struct ge_metric ge_metric_read(const char *const *fields, const json_t *o);
/* NULL on out of memory. */
json_t *ge_metric_json(const char *const *fields, const struct ge_metric *m);
int ge_step_node_metrics(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
			 int64_t dur_ms);
int ge_step_metrics_sum(struct ctx *c, const struct step *s, struct val *v);
int ge_step_aggregates(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
		       int64_t dur_ms);
int ge_step_group(struct ctx *c, const struct step *s, struct val *v);
int ge_step_morethan(struct ctx *c, const struct step *s, struct val *v);
int ge_step_map_count(struct ctx *c, const struct step *s, struct val *v);
int ge_step_metrics_keys(struct ctx *c, const struct step *s, struct val *v);

#endif
