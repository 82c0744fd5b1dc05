/* gremlin_steps_more.c - the metric series and grouping steps of the Gremlin evaluator:
 * Metrics() on nodes (interface counter history, as Skydive's InterfaceMetrics in
 * gremlin/traversal/topology.go), Sum() and Aggregates() on any metrics (flow or
 * interface: the counters are the series' own, struct val.mfields), Group() and
 * MoreThan() on flows (gremlin/traversal/group.go, flows.go). Errors: efail with the
 * step's position; out of memory -ENOMEM. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/pvec.h"
#include "gremlin/gremlin_eval_int.h"

/* ---- the counters of a series ---------------------------------------------------------- */

const char *const ge_flow_metric_fields[] = {"ABPackets", "ABBytes", "BAPackets", "BABytes", NULL};

/* Skydive's InterfaceMetric (topology/metrics.go); the order of the netlink probe's. */
const char *const ge_intf_metric_fields[] = {
    "RxPackets",      "TxPackets",       "RxBytes",         "TxBytes",
    "RxErrors",       "TxErrors",        "RxDropped",       "TxDropped",
    "RxCompressed",   "TxCompressed",    "RxFifoErrors",    "TxFifoErrors",
    "RxLengthErrors", "RxOverErrors",    "RxCrcErrors",     "RxFrameErrors",
    "RxMissedErrors", "TxAbortedErrors", "TxCarrierErrors", "TxHeartbeatErrors",
    "TxWindowErrors", "Collisions",      "Multicast",       NULL};

static const char *const *series_fields(const struct val *v)
{
	return v->mfields ? v->mfields : ge_flow_metric_fields;
}

struct ge_metric ge_metric_read(const char *const *f, const json_t *o)
{
	struct ge_metric m;
	memset(&m, 0, sizeof(m));
	for (int k = 0; f[k]; k++)
		m.n[k] = json_integer_value(json_object_get(o, f[k]));
	m.start = json_integer_value(json_object_get(o, "Start"));
	m.last = json_integer_value(json_object_get(o, "Last"));
	return m;
}

/* A flow metric has every field, zeros too (FlowMetric's JSON); an interface metric only
 * the non-zero counters (InterfaceMetric's fields are omitempty). */
json_t *ge_metric_json(const char *const *f, const struct ge_metric *m)
{
	int omit = f != ge_flow_metric_fields;
	json_t *o = json_object();
	for (int k = 0; o && f[k]; k++)
		if ((!omit || m->n[k]) && json_object_set_new(o, f[k], json_integer(m->n[k]))) {
			json_decref(o);
			return NULL;
		}
	if (o && (json_object_set_new(o, "Start", json_integer(m->start)) ||
	          json_object_set_new(o, "Last", json_integer(m->last)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- Metrics() on nodes ---------------------------------------------------------------- */

struct revs {
	const char *key;
	struct pvec got; /* const json_t * metrics, borrowed from the revisions */
};

static int rev_metric(void *user, const struct graph_node *n)
{
	struct revs *r = user;
	struct subject sj = {.e = &n->e};
	struct pvec vals = {0};
	json_t *tmp;
	ge_subject_values(&sj, r->key, &vals, &tmp);
	int rc = 0;
	if (vals.n && json_is_object((const json_t *)vals.v[0]))
		rc = pvec_push(&r->got, vals.v[0]) ? -ENOMEM : 0;
	json_decref(tmp);
	pvec_free(&vals);
	return rc;
}

static int start_cmp(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(const json_t *const *)a, "Start"));
	json_int_t y = json_integer_value(json_object_get(*(const json_t *const *)b, "Start"));
	return (x > y) - (x < y);
}

/* Metrics([key]) on nodes: {"<node ID>": [metric, ...]}. The key is LastUpdateMetric (the
 * default), SFlow(.LastUpdateMetric) or Ovs(.LastUpdateMetric), as Skydive's parser allows.
 * Without a time window each node gives its metric at the view's time; with G.At(t, d) each
 * node gives the metrics of its revisions in [t - d, t] (the graph's history), one per
 * distinct Start, in Start order, those wholly inside the window (Start > t - d and
 * Last < t, Skydive's test). Nodes without the key are left out. */
int ge_step_node_metrics(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
                         int64_t dur_ms)
{
	const char *key = "LastUpdateMetric";
	if (s->nargs > 1)
		return efail(c, s->args[1].pos, -EINVAL, "Metrics takes at most one key");
	if (s->nargs == 1) {
		const char *k = s->args[0].kind == A_STR ? s->args[0].s : "";
		if (!strcmp(k, "LastUpdateMetric"))
			key = k;
		else if (!strcmp(k, "SFlow") || !strcmp(k, "SFlow.LastUpdateMetric"))
			key = "SFlow.LastUpdateMetric";
		else if (!strcmp(k, "Ovs") || !strcmp(k, "Ovs.LastUpdateMetric"))
			key = "Ovs.LastUpdateMetric";
		else
			return efail(c, s->args[0].pos, -EINVAL,
			             "Metrics takes LastUpdateMetric, SFlow or Ovs");
	}
	int window = at_ms && dur_ms > 0;
	int64_t from = window ? at_ms - dur_ms : 0, to = window ? at_ms : 0;
	json_t *m = json_object();
	struct revs r = {.key = key};
	if (!m)
		return ENOMEM_AT(c, s->pos);
	int rc = 0;
	for (size_t i = 0; i < v->items.n && !rc; i++) {
		const struct graph_node *n = v->items.v[i];
		if (json_object_get(m, n->e.id))
			continue; /* Skydive dedups by ID (and Start) first */
		r.got.n = 0;
		if (!window)
			rc = rev_metric(&r, n);
		else
			rc = graph_view_node_revisions(v->view, n->e.id, from, to, rev_metric, &r);
		if (rc || !r.got.n) {
			if (rc)
				rc = ENOMEM_AT(c, s->pos);
			continue;
		}
		qsort(r.got.v, r.got.n, sizeof(r.got.v[0]), start_cmp);
		json_t *a = json_array();
		json_int_t prev = 0;
		for (size_t k = 0; a && k < r.got.n && !rc; k++) {
			const json_t *x = r.got.v[k];
			json_int_t st = json_integer_value(json_object_get(x, "Start"));
			json_int_t la = json_integer_value(json_object_get(x, "Last"));
			if (k && st == prev)
				continue;
			prev = st;
			if (window && !(st > from && la < to))
				continue;
			if (json_array_append(a, (json_t *)x))
				rc = ENOMEM_AT(c, s->pos);
		}
		if (!a)
			rc = ENOMEM_AT(c, s->pos);
		else if (rc || !json_array_size(a))
			json_decref(a);
		else if (json_object_set_new(m, n->e.id, a))
			rc = ENOMEM_AT(c, s->pos);
		if (!rc && (rc = tick(c, s->pos)))
			break;
	}
	pvec_free(&r.got);
	if (rc) {
		json_decref(m);
		return rc;
	}
	val_clear(v);
	v->type = V_METRICS;
	v->json = m;
	v->mfields = ge_intf_metric_fields;
	return 0;
}

/* ---- Sum() and Aggregates() on metrics ------------------------------------------------- */

/* Sum() on metrics: one metric with the counters added, Start the earliest and Last the
 * latest; Sum('RxBytes') the total of one field. */
int ge_step_metrics_sum(struct ctx *c, const struct step *s, struct val *v)
{
	const char *const *f = series_fields(v);
	struct ge_metric t;
	memset(&t, 0, sizeof(t));
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
			struct ge_metric m = ge_metric_read(f, x);
			for (int k = 0; f[k]; k++)
				t.n[k] += m.n[k];
			if (m.start && (!t.start || m.start < t.start))
				t.start = m.start;
			if (m.last > t.last)
				t.last = m.last;
		}
	}
	val_clear(v);
	v->type = V_SCALAR;
	v->json = s->nargs ? json_integer(keysum) : ge_metric_json(f, &t);
	return v->json ? 0 : ENOMEM_AT(c, s->pos);
}

#define AGG_MAX_SLICES 10000 /* Skydive's aggregatesMaxSlices */

/* Aggregates([seconds]) as Skydive (gremlin/traversal/metrics.go: the parameter is in
 * seconds, 30 by default): the metrics of every key summed in slices of that length
 * from the start of the time context (G.At(t, d): t - d) or else from the earliest
 * Start, up to the context's end or the latest Last (the last slice ends there, as
 * Skydive's: Grafana's datasource divides by Last - Start); a metric spanning
 * several slices is split in proportion to its time in each (integer counts, the
 * remainder goes to the later slice; nothing lost inside the range). Gives
 * {"Aggregated": [metric per slice that got something, Start/Last its bounds]}. */
int ge_step_aggregates(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
                       int64_t dur_ms)
{
	const char *const *f = series_fields(v);
	int64_t slice = 30000;
	if (s->nargs > 1)
		return efail(c, s->args[1].pos, -EINVAL, "Aggregates takes at most one parameter");
	if (s->nargs) {
		if (s->args[0].kind != A_INT || s->args[0].i <= 0 || s->args[0].i > INT64_MAX / 1000)
			return efail(c, s->args[0].pos, -EINVAL,
			             "Aggregates takes a positive slice length in seconds");
		slice = s->args[0].i * 1000;
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
				struct ge_metric m = ge_metric_read(f, x);
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
			             (long long)(slice / 1000), (long long)n, AGG_MAX_SLICES);
		}
		struct ge_metric *acc = calloc((size_t)n, sizeof(*acc));
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
				struct ge_metric m = ge_metric_read(f, x);
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
					for (int q = 0; f[q]; q++) {
						if (!len) {
							acc[k].n[q] += m.n[q];
							continue;
						}
						/* cumulative shares: exact totals over the range */
						__int128 a =
						    (__int128)m.n[q] * (p0 - m.start) / len;
						__int128 b =
						    (__int128)m.n[q] * (p1 - m.start) / len;
						acc[k].n[q] += (int64_t)(b - a);
					}
					used[k] = 1;
				}
			}
		}
		for (int64_t k = 0; k < n; k++) {
			if (!used[k])
				continue;
			acc[k].start = from + k * slice;
			acc[k].last = acc[k].start + slice < to ? acc[k].start + slice : to;
			json_t *o = ge_metric_json(f, &acc[k]);
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
	const char *const *keep = v->mfields;
	val_clear(v);
	v->type = V_METRICS;
	v->json = agg;
	v->mfields = keep;
	return 0;
}

/* ---- Group() and MoreThan() on flows ---------------------------------------------------- */

/* Group([key]) on flows: {"<value of key>": [flow, ...]}, key TrackingID by default; a flow
 * whose key is not a string fails the step, as Skydive's GetFieldString does. */
int ge_step_group(struct ctx *c, const struct step *s, struct val *v)
{
	const char *by = "TrackingID";
	if (s->nargs > 1 || (s->nargs == 1 && s->args[0].kind != A_STR))
		return efail(c, s->nargs ? s->args[0].pos : s->pos, -EINVAL,
		             "Group takes an optional key string");
	if (s->nargs && s->args[0].s[0])
		by = s->args[0].s;
	int rc;
	if (val_typed_flows(v) && (rc = ge_flows_json(c, s, v)))
		return rc;
	json_t *g = json_object();
	if (!g)
		return ENOMEM_AT(c, s->pos);
	struct pvec vals = {0};
	size_t i;
	json_t *fl;
	rc = 0;
	json_array_foreach(v->json, i, fl)
	{
		struct subject sj = {.obj = fl};
		json_t *tmp;
		ge_subject_values(&sj, by, &vals, &tmp);
		const char *k = vals.n ? json_string_value(vals.v[0]) : NULL;
		if (!k) {
			const char *u = json_string_value(json_object_get(fl, "UUID"));
			rc = efail(c, s->pos, -EINVAL, "Group(): flow %s has no string field %s",
			           u ? u : "?", by);
		} else {
			json_t *a = json_object_get(g, k);
			if (!a && (!(a = json_array()) || json_object_set_new(g, k, a)))
				rc = ENOMEM_AT(c, s->pos);
			else if (json_array_append(a, fl))
				rc = ENOMEM_AT(c, s->pos);
		}
		json_decref(tmp);
		if (rc)
			break;
	}
	pvec_free(&vals);
	if (rc) {
		json_decref(g);
		return rc;
	}
	val_clear(v);
	v->type = V_GROUPS;
	v->json = g;
	return 0;
}

/* MoreThan([n]) on groups: only the groups of more than n flows (n = 1 by default). */
int ge_step_morethan(struct ctx *c, const struct step *s, struct val *v)
{
	int64_t n = 1;
	if (s->nargs > 1)
		return efail(c, s->args[1].pos, -EINVAL, "MoreThan takes 0 or 1 parameter");
	if (s->nargs == 1) {
		const struct arg *a = &s->args[0];
		char *end = NULL;
		if (a->kind == A_INT)
			n = a->i;
		else if (a->kind == A_STR)
			n = strtoll(a->s, &end, 10);
		if ((a->kind != A_INT && a->kind != A_STR) ||
		    (a->kind == A_STR && (!a->s[0] || *end)))
			return efail(c, a->pos, -EINVAL, "MoreThan takes an integer");
		if (n < 0)
			return efail(c, a->pos, -EINVAL, "MoreThan parameter must be positive");
	}
	const char *key;
	json_t *l;
	void *tmp;
	json_object_foreach_safe(v->json, tmp, key, l)
	{
		if ((int64_t)json_array_size(l) <= n)
			json_object_del(v->json, key);
	}
	return 0;
}

/* Count() on metrics or groups: how many keys (nodes, flows or groups), as Skydive's. */
int ge_step_map_count(struct ctx *c, const struct step *s, struct val *v)
{
	size_t n = json_object_size(v->json);
	val_clear(v);
	v->type = V_SCALAR;
	v->json = json_integer((json_int_t)n);
	return v->json ? 0 : ENOMEM_AT(c, s->pos);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys() on metrics: the fields of a metric when there is one (Skydive's GetFieldKeys:
 * an interface metric's counters in name order, a flow metric's in its own), then Start
 * and Last; null without metrics, as Skydive's nil list. */
int ge_step_metrics_keys(struct ctx *c, const struct step *s, struct val *v)
{
	const char *const *f = series_fields(v);
	const char *names[GE_METRIC_MAX + 2];
	size_t n = 0;
	int any = 0;
	const char *key;
	json_t *l;
	json_object_foreach(v->json, key, l)
	{
		if (json_array_size(l)) {
			any = 1;
			break;
		}
	}
	for (; any && f[n]; n++)
		names[n] = f[n];
	if (f != ge_flow_metric_fields)
		qsort(names, n, sizeof(names[0]), name_cmp);
	json_t *out = any ? json_array() : json_null();
	if (any) {
		names[n++] = "Start";
		names[n++] = "Last";
	}
	for (size_t i = 0; out && i < n; i++)
		if (json_array_append_new(out, json_string(names[i]))) {
			json_decref(out);
			out = NULL;
		}
	if (!out)
		return ENOMEM_AT(c, s->pos);
	val_clear(v);
	v->type = any ? V_VALUES : V_SCALAR;
	v->json = out;
	return 0;
}
