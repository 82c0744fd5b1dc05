/* gremlin_steps_flow.c - the flow steps of the Gremlin evaluator, through the flow store's
 * gremlin_flow_ops: Flows() (typed records from ops->select, or JSON objects from a
 * provider without it), their conversion to JSON when a step needs it, the flow-to-node
 * steps, Metrics()/Sum()/Aggregates(), RawPackets() and BPF(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture/capture.h"
#include "common/base64.h"
#include "common/pvec.h"
#include "common/util.h"
#include "common/smap.h"
#include "gremlin/gremlin_eval_int.h"

/* ---- flows and their nodes ---------------------------------------------------------- */

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

/* The Has() tests of Flows(k, v...) and of the Has steps right after it, handed to the
 * store (gremlin_flow_ops.select's want) so it can leave out what they drop. */
#define WANT_MAX 16
struct want {
	const struct gremlin_flow_ops *ops;
	const struct filter *flt[WANT_MAX];
	int neg[WANT_MAX];
	int n;
};

static int want_rec(void *user, const void *probe, const void *rec)
{
	const struct want *w = user;
	struct subject sub = {.frec = rec, .fset = probe, .fops = w->ops};
	for (int i = 0; i < w->n; i++)
		if (ge_filter_match(w->flt[i], &sub, NULL) == w->neg[i])
			return 0;
	return 1;
}

int ge_step_flows(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms, int64_t dur_ms,
		  const struct step *next, int nnext)
{
	const struct gremlin_flow_ops *ops = c->env ? c->env->flow_ops : NULL;
	if (!ops || (!ops->flows && !(ops->select && ops->field && ops->rec_json)))
		return efail(c, s->pos, -EINVAL,
			     "Flows() needs a flow store: not available in this build");
	json_t *filters = json_array(), *nodes = NULL;
	for (int i = 0; filters && i < s->nargs; i++)
		json_array_append_new(filters, arg_to_json(&s->args[i]));
	/* Flows().Has(k, v)...: the Has pairs go to the store too, so it can skip what
	 * cannot match before building it; the Has steps still run after. */
	if (s->nargs % 2 == 0)
		for (int k = 0; filters && k < nnext && next[k].kind == S_HAS &&
				next[k].nargs % 2 == 0;
		     k++)
			for (int i = 0; i < next[k].nargs; i++)
				json_array_append_new(filters, arg_to_json(&next[k].args[i]));
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
	if (!filters || (v->type == V_NODES && !nodes)) {
		/* a missing node list would mean every node */
		json_decref(filters);
		json_decref(nodes);
		return ENOMEM_AT(c, s->pos);
	}
	struct gremlin_error ferr = {.pos = s->pos};
	if (ops->select && ops->field && ops->rec_json) {
		/* typed: records until a step needs their JSON (ge_flows_json) */
		const void *const *recs = NULL;
		size_t n = 0;
		struct want w = {.ops = ops};
		if (s->flt)
			w.flt[w.n++] = s->flt;
		for (int k = 0; k < nnext && w.n < WANT_MAX; k++) {
			enum step_kind sk = next[k].kind;
			if (sk != S_HAS && sk != S_HASEITHER && sk != S_HASKEY && sk != S_HASNOT)
				break;
			w.neg[w.n] = sk == S_HASNOT;
			w.flt[w.n++] = next[k].flt;
		}
		/* the steps still run after: what the store keeps only has to be a superset */
		void *set = ops->select(ops->user, filters, nodes, at_ms, dur_ms,
					w.n ? want_rec : NULL, &w, &recs, &n, &ferr);
		json_decref(filters);
		json_decref(nodes);
		if (!set)
			return efail(c, s->pos, -EINVAL, "%s",
				     ferr.msg[0] ? ferr.msg : "Flows() failed");
		val_clear(v);
		v->type = V_FLOWS;
		v->fset = set;
		v->fops = ops;
		for (size_t i = 0; i < n; i++)
			if (pvec_push(&v->items, (void *)recs[i]))
				return ENOMEM_AT(c, s->pos);
		return s->flt ? ge_step_filter(c, s, v, s->flt, 0) : 0;
	}
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
	return s->flt ? ge_step_filter(c, s, v, s->flt, 0) : 0;
}

/* Typed flows to flow objects (the provider's rec_json), for the steps that read JSON
 * and for the answer: made once, only for the records still there. */
int ge_flows_json(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < v->items.n; i++)
		if (json_array_append_new(a, v->fops->rec_json(v->fset, v->items.v[i]))) {
			json_decref(a);
			a = NULL;
		}
	if (!a)
		return ENOMEM_AT(c, s ? s->pos : 0);
	val_clear(v);
	v->type = V_FLOWS;
	v->json = a;
	return 0;
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
		if (s->flt && !ge_node_match(s->flt, l[j], scratch))
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
int ge_step_flow_nodes(struct ctx *c, const struct step *s, struct val *v)
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

/* Keeps in m ({"<UUID>": [metric, ...]}) the metrics wholly inside a time context, as
 * Skydive's FlowMetrics (gremlin/traversal/flows.go: Start >= t - d, Last <= t; t alone
 * bounds Last only); a flow left with none goes, as its storage search finds none. */
static int metrics_in_context(json_t *m, int64_t at_ms, int64_t dur_ms)
{
	int64_t from = dur_ms > 0 ? at_ms - dur_ms : 0;
	const char *key;
	json_t *l;
	void *it;
	json_object_foreach_safe(m, it, key, l)
	{
		for (size_t i = json_array_size(l); i-- > 0;) {
			const json_t *x = json_array_get(l, i);
			json_int_t st = json_integer_value(json_object_get(x, "Start"));
			json_int_t la = json_integer_value(json_object_get(x, "Last"));
			if ((st < from || la > at_ms) && json_array_remove(l, i))
				return -ENOMEM;
		}
		if (!json_array_size(l) && json_object_del(m, key))
			return -ENOMEM;
	}
	return 0;
}

/* Metrics() on flows: {"<UUID>": [metric, ...]} from the store (its update records), or
 * without a store hook the flow's LastUpdateMetric (Metric when it counted nothing);
 * with a time context (at_ms, forever: dur_ms < 0) only the metrics inside it. */
int ge_step_metrics(struct ctx *c, const struct step *s, struct val *v, int64_t at_ms,
		    int64_t dur_ms)
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
			struct ge_metric x = ge_metric_read(ge_flow_metric_fields, lu);
			if (!x.n[0] && !x.n[2])
				x = ge_metric_read(ge_flow_metric_fields,
						   json_object_get(f, "Metric"));
			json_t *o = ge_metric_json(ge_flow_metric_fields, &x);
			if (!o || json_object_set_new(m, u, json_pack("[o]", o))) {
				json_decref(m);
				return ENOMEM_AT(c, s->pos);
			}
		}
	}
	if (at_ms && metrics_in_context(m, at_ms, dur_ms)) {
		json_decref(m);
		return ENOMEM_AT(c, s->pos);
	}
	val_clear(v);
	v->type = V_METRICS;
	v->json = m;
	return 0;
}

/* Sum() and Aggregates() on metrics: gremlin_steps_more.c (flow and interface series). */

/* ---- BPF() on raw packets ------------------------------------------------------------ */

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

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Skydive's RawPackets() answer (gremlin/traversal/rawpackets.go): Values() is one
 * map UUID -> packets, [] when it is empty, and Go's encoding/json writes a map's
 * keys sorted. Takes the entries of `in` ({UUID: [packets]} objects, any number of
 * keys each; a UUID seen twice gets its lists joined) and returns that answer, or
 * NULL (no memory). `in` is not changed. */
static json_t *raw_answer(const json_t *in)
{
	json_t *m = json_object(), *out = json_array();
	size_t i, nk = 0;
	json_t *e, *list;
	const char *k;
	if (!m || !out)
		goto fail;
	json_array_foreach(in, i, e)
	{
		json_object_foreach((json_t *)e, k, list)
		{
			json_t *have = json_object_get(m, k);
			if (have ? json_array_extend(have, list) : json_object_set(m, k, list))
				goto fail;
		}
	}
	nk = json_object_size(m);
	if (nk) {
		const char **keys = malloc(nk * sizeof(*keys));
		json_t *sorted = json_object();
		size_t n = 0;
		if (keys)
			json_object_foreach(m, k, list) keys[n++] = k;
		if (keys)
			qsort(keys, n, sizeof(*keys), key_cmp);
		int bad = !keys || !sorted;
		for (size_t j = 0; !bad && j < n; j++)
			bad = json_object_set(sorted, keys[j], json_object_get(m, keys[j])) != 0;
		free(keys);
		if (bad || json_array_append_new(out, sorted)) {
			if (bad)
				json_decref(sorted);
			goto fail;
		}
	}
	json_decref(m);
	return out;
fail:
	json_decref(m);
	json_decref(out);
	return NULL;
}

/* BPF('filter') after RawPackets(): keeps the packets the filter matches (compiled for
 * the packets' link type), drops the flows left without any; same shape. A filter that
 * does not compile is refused even when there is no packet (checked for Ethernet). */
static int bpf_json(struct ctx *c, const struct step *s, struct val *v)
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
				if (!json_is_string(d))
					continue;
				size_t dl = json_string_length(d);
				uint8_t *data = malloc(BASE64_DECODED_MAX(dl));
				long len = data ? base64_decode(data, BASE64_DECODED_MAX(dl),
								json_string_value(d), dl,
								BASE64_URLSAFE)
						: -1;
				if (len < 0) {
					free(data);
					continue;
				}
				const struct bpf_program *prog =
				    bpf_for(c, s, &b, lt ? (int)json_integer_value(lt) : 1, &r);
				if (!prog) {
					free(data);
					break;
				}
				/* the length on the wire when the store kept it (a frame cut
				 * to the header size): what `greater`/`less` test */
				json_int_t wl = json_integer_value(json_object_get(pk, "WireLen"));
				struct pcap_pkthdr h = {
				    .caplen = (bpf_u_int32)len,
				    .len = wl > (json_int_t)len && wl <= UINT32_MAX ? (bpf_u_int32)wl
										    : (bpf_u_int32)len};
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
	json_t *ans = r ? NULL : raw_answer(out);
	json_decref(out);
	if (r || !ans)
		return r ? r : ENOMEM_AT(c, s->pos);
	json_decref(v->json);
	v->json = ans; /* still raw packets: v->raw stays */
	return 0;
}

/* BPF() on typed raw packets: the bytes as stored, with their caplen and wire length;
 * the packets kept stay records (same answer as bpf_json on their JSON). */
static int bpf_typed(struct ctx *c, const struct step *s, struct val *v)
{
	struct bpf_set b = {0};
	int r = 0;
	size_t k = 0;
	for (size_t i = 0; i < v->items.n && !r; i++) {
		const struct gremlin_raw_pkt *p = v->items.v[i];
		const struct bpf_program *prog = bpf_for(c, s, &b, (int)p->linktype, &r);
		if (!prog)
			break;
		struct pcap_pkthdr h = {.caplen = p->caplen,
					.len = p->wirelen > p->caplen ? p->wirelen : p->caplen};
		if (pcap_offline_filter(prog, &h, p->data))
			v->items.v[k++] = v->items.v[i];
	}
	if (!r && !b.n)
		bpf_for(c, s, &b, 1, &r);
	for (int j = 0; j < b.n; j++)
		pcap_freecode(&b.prog[j]);
	if (r)
		return r;
	v->items.n = k;
	return 0;
}

/* BPF('filter') after RawPackets(): keeps the packets the filter matches (compiled for
 * the packets' link type), drops the flows left without any; same shape. A filter that
 * does not compile is refused even when there is no packet (checked for Ethernet). */
int ge_step_bpf(struct ctx *c, const struct step *s, struct val *v)
{
	return val_typed_raw(v) ? bpf_typed(c, s, v) : bpf_json(c, s, v);
}

size_t ge_raw_flows(const struct val *v)
{
	size_t n = 0;
	for (size_t i = 0; i < v->items.n; i++)
		if (!i || ((const struct gremlin_raw_pkt *)v->items.v[i])->uuid !=
			      ((const struct gremlin_raw_pkt *)v->items.v[i - 1])->uuid)
			n++;
	return n;
}

/* Typed raw packets to Skydive's JSON (raw_answer): [{"<UUID>": [packet, ...], ...}]. */
int ge_raw_json(struct ctx *c, const struct step *s, struct val *v)
{
	json_t *runs = json_array(), *list = NULL, *a = NULL;
	int bad = !runs;
	for (size_t i = 0; !bad && i < v->items.n; i++) {
		const struct gremlin_raw_pkt *p = v->items.v[i];
		if (!i || p->uuid != ((const struct gremlin_raw_pkt *)v->items.v[i - 1])->uuid) {
			char hex[17]; /* the store's form of a UUID */
			fmt_hex_u64(hex, p->uuid);
			list = json_array();
			json_t *e = list ? json_pack("{s:o}", hex, list) : NULL;
			bad = !e || json_array_append_new(runs, e);
		}
		bad = bad || json_array_append_new(list, v->fops->raw_json(v->rset, p));
	}
	if (!bad)
		a = raw_answer(runs);
	json_decref(runs);
	if (!a)
		return ENOMEM_AT(c, s ? s->pos : 0);
	val_clear(v);
	v->type = V_VALUES;
	v->json = a;
	v->raw = 1;
	return 0;
}

/* The UUIDs of flows (typed records or flow objects) as strings, for raw_select. */
static int flow_uuids(const struct val *v, const char ***out, struct gremlin_fval **fv)
{
	size_t n = ge_val_count(v);
	*out = calloc(n + 1, sizeof(**out));
	*fv = calloc(n + 1, sizeof(**fv));
	if (!*out || !*fv)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (val_typed_flows(v)) {
			if (v->fops->field(v->fset, v->items.v[i], "UUID", &(*fv)[i], 1) == 1 &&
			    (*fv)[i].kind == GREMLIN_FV_STR)
				(*out)[k++] = (*fv)[i].s;
		} else {
			const char *u =
			    json_string_value(json_object_get(json_array_get(v->json, i), "UUID"));
			if (u)
				(*out)[k++] = u;
		}
	}
	return (int)k;
}

/* RawPackets(): the flows' raw packets from the store, as Skydive shapes them. */
int ge_step_raw_packets(struct ctx *c, const struct step *s, struct val *v)
{
	const struct gremlin_flow_ops *ops = c->env->flow_ops;
	struct gremlin_error ferr = {.pos = s->pos};
	if (ops->raw_select && ops->raw_json) {
		const char **uu;
		struct gremlin_fval *fv;
		int nu = flow_uuids(v, &uu, &fv);
		const struct gremlin_raw_pkt *pk = NULL;
		size_t np = 0;
		void *set = nu < 0 ? NULL
				   : ops->raw_select(ops->user, uu, (size_t)nu, &pk, &np, &ferr);
		free(uu);
		free(fv);
		if (!set)
			return nu < 0 ? ENOMEM_AT(c, s->pos)
				      : efail(c, s->pos, -EINVAL, "%s",
					      ferr.msg[0] ? ferr.msg : "RawPackets() failed");
		struct pvec items = {0};
		for (size_t i = 0; i < np; i++)
			if (pvec_push(&items, (void *)&pk[i])) {
				pvec_free(&items);
				if (ops->raw_free)
					ops->raw_free(set);
				return ENOMEM_AT(c, s->pos);
			}
		val_clear(v);
		v->type = V_VALUES;
		v->raw = 1;
		v->items = items;
		v->rset = set;
		v->fops = ops;
		return 0;
	}
	if (val_typed_flows(v)) {
		int r = ge_flows_json(c, s, v);
		if (r)
			return r;
	}
	json_t *raw = ops->raw_packets(ops->user, v->json, &ferr);
	if (!json_is_array(raw)) {
		json_decref(raw);
		return efail(c, s->pos, -EINVAL, "%s",
			     ferr.msg[0] ? ferr.msg : "RawPackets() failed");
	}
	json_t *ans = raw_answer(raw);
	json_decref(raw);
	if (!ans)
		return ENOMEM_AT(c, s->pos);
	val_clear(v);
	v->type = V_VALUES;
	v->json = ans;
	v->raw = 1;
	return 0;
}
