/* flow_store.c - in-memory flow store of the analyzer: compact flow records by UUID in
 * ingest order, update records, raw packets, bounds with drop counters, Gremlin hooks. */
#include "store/flow_store.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include "common/base64.h"
#include "common/util.h"
#include "flow.pb-c.h"
#include "decode/decode.h"
#include "flow/flow_id.h"
#include "gremlin/gremlin_int.h"

#define NS_PER_MS 1000000ull

/* One LastUpdateMetric as received. */
struct fs_upd {
	int64_t start, last;
	uint64_t abp, abb, bap, bab;
};

struct fs_raw {
	struct fs_raw *next;
	int64_t ts_ms;
	uint32_t index, linktype, len;
	uint8_t data[];
};

struct fs_flow {
	struct fs_flow *hnext;       /* hash chain */
	struct fs_flow *prev, *next; /* ingest order */
	uint64_t uuid, l2, l3, parent;
	int64_t ingest_ms, start_ms, last_ms, rtt_ns;
	uint64_t abp, abb, bap, bab;
	struct fs_upd lu; /* the latest LastUpdateMetric */
	uint64_t link_id;
	uint32_t net_id, raw_captured;
	uint8_t net_a[16], net_b[16], link_a[6], link_b[6];
	uint16_t tp_a, tp_b, icmp_id;
	uint8_t icmp_type, icmp_code, icmp_ver, has_link, ip_ver, tproto, finish;
	uint32_t path_id, app_id, node_id, capture_id; /* interned strings */
	struct flow_tcp_metric *tcp;                   /* NULL when not measured */
	struct fs_upd *upd;                            /* update records, oldest first */
	uint16_t nupd, updcap;
	uint32_t nraw;
	struct fs_raw *raw_head, *raw_tail;
};

/* Interned strings: few distinct values (layer paths, applications, node TIDs). */
struct strtab {
	char **v;
	uint32_t n, cap;
	uint32_t *slot; /* open addressing: index + 1, 0 = empty */
	uint32_t nslot;
	size_t bytes;
};

struct flow_store {
	pthread_mutex_t lock;
	struct flow_store_opts o;
	struct fs_flow **buckets;
	size_t nbuckets, n;
	struct fs_flow *head, *tail; /* oldest ingest first */
	struct strtab strs;
	struct flow_store_stats st;
	uint64_t tcp_records;
};

static int parse_uuid(const char *s, uint64_t *out);
static json_t *ops_flows(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
			 int64_t duration_ms, struct gremlin_error *err);

/* ---- strings ---------------------------------------------------------------------- */

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int strtab_grow(struct strtab *t)
{
	uint32_t ns = t->nslot ? t->nslot * 2 : 64;
	uint32_t *slot = calloc(ns, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t h = str_hash(t->v[i]) & (ns - 1);
		while (slot[h])
			h = (h + 1) & (ns - 1);
		slot[h] = i + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = ns;
	return 0;
}

/* Id of s (0 is always ""); -1 on no memory. */
static int64_t strtab_intern(struct strtab *t, const char *s)
{
	if (!s || !*s)
		return 0;
	if ((t->n + 2) * 2 > t->nslot && strtab_grow(t))
		return -1;
	uint32_t h = str_hash(s) & (t->nslot - 1);
	while (t->slot[h]) {
		if (!strcmp(t->v[t->slot[h] - 1], s))
			return t->slot[h];
		h = (h + 1) & (t->nslot - 1);
	}
	if (t->n == t->cap) {
		uint32_t nc = t->cap ? t->cap * 2 : 32;
		char **nv = realloc(t->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		t->v = nv;
		t->cap = nc;
	}
	char *d = strdup(s);
	if (!d)
		return -1;
	t->v[t->n++] = d;
	t->slot[h] = t->n;
	t->bytes += strlen(s) + 1 + sizeof(char *) + 2 * sizeof(uint32_t);
	return t->n;
}

static const char *strtab_get(const struct strtab *t, uint32_t id)
{
	return id && id <= t->n ? t->v[id - 1] : "";
}

static void strtab_free(struct strtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t->slot);
}

/* ---- records ---------------------------------------------------------------------- */

static size_t flow_bytes(const struct fs_flow *f)
{
	size_t b = sizeof(*f) + sizeof(void *); /* + its share of the index */
	b += f->updcap * sizeof(struct fs_upd);
	if (f->tcp)
		b += sizeof(*f->tcp);
	return b;
}

static void raw_free(struct flow_store *s, struct fs_flow *f)
{
	for (struct fs_raw *r = f->raw_head, *nx; r; r = nx) {
		nx = r->next;
		s->st.raw_packets--;
		s->st.raw_bytes -= r->len;
		free(r);
	}
	f->raw_head = f->raw_tail = NULL;
	f->nraw = 0;
}

static struct fs_flow **find_slot(struct flow_store *s, uint64_t uuid)
{
	struct fs_flow **p = &s->buckets[(uuid ^ (uuid >> 29)) & (s->nbuckets - 1)];
	while (*p && (*p)->uuid != uuid)
		p = &(*p)->hnext;
	return p;
}

static void list_unlink(struct flow_store *s, struct fs_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		s->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		s->tail = f->prev;
	f->prev = f->next = NULL;
}

static void list_append(struct flow_store *s, struct fs_flow *f)
{
	f->prev = s->tail;
	f->next = NULL;
	if (s->tail)
		s->tail->next = f;
	else
		s->head = f;
	s->tail = f;
}

static void flow_drop(struct flow_store *s, struct fs_flow *f)
{
	struct fs_flow **p = find_slot(s, f->uuid);
	if (*p == f)
		*p = f->hnext;
	list_unlink(s, f);
	raw_free(s, f);
	s->st.bytes -= flow_bytes(f);
	if (f->tcp)
		s->tcp_records--;
	free(f->upd);
	free(f->tcp);
	free(f);
	s->n--;
}

static int grow_index(struct flow_store *s)
{
	size_t nb = s->nbuckets * 2;
	struct fs_flow **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct fs_flow *f = s->buckets[i], *nx; f; f = nx) {
			nx = f->hnext;
			struct fs_flow **p = &b[(f->uuid ^ (f->uuid >> 29)) & (nb - 1)];
			f->hnext = *p;
			*p = f;
		}
	free(s->buckets);
	s->st.bytes += (nb - s->nbuckets) * sizeof(*b);
	s->buckets = b;
	s->nbuckets = nb;
	return 0;
}

static void expire_locked(struct flow_store *s, int64_t now_ms)
{
	if (s->o.max_age_ms < 0)
		return;
	while (s->head && now_ms - s->head->ingest_ms > s->o.max_age_ms) {
		flow_drop(s, s->head);
		s->st.dropped_age++;
	}
}

/* ---- public ----------------------------------------------------------------------- */

int flow_store_opts_from_config(const struct config *cfg, struct flow_store_opts *o, char *err,
				size_t errlen)
{
	memset(o, 0, sizeof(*o));
	int64_t mf = config_get_int(cfg, "analyzer.flow.max_flows", FLOW_STORE_MAX_FLOWS);
	if (mf < 1) {
		snprintf(err, errlen, "analyzer.flow.max_flows %lld invalid: give a count >= 1",
			 (long long)mf);
		return -EINVAL;
	}
	o->max_flows = (size_t)mf;
	const char *age = config_get_string(cfg, "analyzer.flow.max_age", NULL);
	if (age && *age) {
		int64_t ms;
		if (config_parse_duration(age, &ms) || ms < 0) {
			snprintf(err, errlen,
				 "analyzer.flow.max_age '%s' invalid: give a duration like 1h, 30m or "
				 "a number of seconds",
				 age);
			return -EINVAL;
		}
		o->max_age_ms = ms ? ms : -1;
	}
	int64_t rb = config_get_int(cfg, "analyzer.flow.raw_max_bytes", FLOW_STORE_RAW_BYTES);
	if (rb < 0) {
		snprintf(err, errlen, "analyzer.flow.raw_max_bytes %lld invalid: give bytes >= 0",
			 (long long)rb);
		return -EINVAL;
	}
	o->raw_max_bytes = (size_t)rb;
	return 0;
}

struct flow_store *flow_store_new(const struct flow_store_opts *o)
{
	struct flow_store *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (o)
		s->o = *o;
	if (!s->o.max_flows)
		s->o.max_flows = FLOW_STORE_MAX_FLOWS;
	if (!s->o.max_age_ms)
		s->o.max_age_ms = FLOW_STORE_MAX_AGE_MS;
	if (!s->o.raw_max_bytes)
		s->o.raw_max_bytes = FLOW_STORE_RAW_BYTES;
	if (!s->o.max_updates)
		s->o.max_updates = FLOW_STORE_MAX_UPDATES;
	s->nbuckets = 1024;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	s->st.bytes = sizeof(*s) + s->nbuckets * sizeof(*s->buckets);
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void flow_store_free(struct flow_store *s)
{
	if (!s)
		return;
	while (s->head)
		flow_drop(s, s->head);
	free(s->buckets);
	strtab_free(&s->strs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void upd_push(struct flow_store *s, struct fs_flow *f)
{
	if (!f->lu.abp && !f->lu.bap)
		return;
	/* the same window sent again (an expiry right after an update) replaces it */
	if (f->nupd && f->upd[f->nupd - 1].start == f->lu.start) {
		f->upd[f->nupd - 1] = f->lu;
		return;
	}
	if (f->nupd == f->updcap && f->updcap < s->o.max_updates) {
		unsigned nc = f->updcap ? f->updcap * 2u : 1u;
		if (nc > s->o.max_updates)
			nc = s->o.max_updates;
		struct fs_upd *nu = realloc(f->upd, nc * sizeof(*nu));
		if (!nu)
			return;
		s->st.bytes += (nc - f->updcap) * sizeof(*nu);
		f->upd = nu;
		f->updcap = (uint16_t)nc;
	}
	if (f->nupd == f->updcap) { /* full: the oldest goes */
		memmove(f->upd, f->upd + 1, (f->nupd - 1u) * sizeof(*f->upd));
		f->nupd--;
	}
	f->upd[f->nupd++] = f->lu;
}

int flow_store_ingest(struct flow_store *s, const struct flow_table *t, const struct flow *fl,
		      int64_t lu_start_ms, int64_t lu_last_ms, const char *node_tid, int64_t now_ms,
		      uint64_t *uuid_out)
{
	const struct flow_table_opts *to = flow_table_opts(t);
	const char *tid = node_tid ? node_tid : to->node_tid;
	struct flow_ids ids;
	flow_ids_compute(fl, to->key_mode, tid, &ids);
	if (uuid_out)
		*uuid_out = ids.uuid;
	const struct flow_tcp_metric *tm = flow_table_tcp_metric(t, fl);

	pthread_mutex_lock(&s->lock);
	int rc = -ENOMEM;
	int64_t path = strtab_intern(&s->strs, flow_table_path(t, fl));
	int64_t app = strtab_intern(&s->strs, flow_table_app(t, fl));
	int64_t node = strtab_intern(&s->strs, tid);
	int64_t cap = strtab_intern(&s->strs, to->capture_id);
	if (path < 0 || app < 0 || node < 0 || cap < 0)
		goto out;
	if (s->n >= s->nbuckets && grow_index(s))
		goto out;
	struct fs_flow **slot = find_slot(s, ids.uuid);
	struct fs_flow *f = *slot;
	if (f) {
		list_unlink(s, f);
	} else {
		f = calloc(1, sizeof(*f));
		if (!f)
			goto out;
		f->uuid = ids.uuid;
		*slot = f;
		s->n++;
		s->st.bytes += flow_bytes(f);
	}
	list_append(s, f);
	f->l2 = ids.l2;
	f->l3 = ids.l3;
	f->parent = fl->parent_uuid;
	f->ingest_ms = now_ms;
	f->start_ms = (int64_t)(fl->start_ns / NS_PER_MS);
	f->last_ms = (int64_t)(fl->last_ns / NS_PER_MS);
	f->rtt_ns = flow_rtt_ns(fl);
	f->abp = fl->ab_packets;
	f->abb = fl->ab_bytes;
	f->bap = fl->ba_packets;
	f->bab = fl->ba_bytes;
	f->lu = (struct fs_upd){.start = lu_start_ms,
				.last = lu_last_ms,
				.abp = fl->ab_packets - fl->upd_ab_packets,
				.abb = fl->ab_bytes - fl->upd_ab_bytes,
				.bap = fl->ba_packets - fl->upd_ba_packets,
				.bab = fl->ba_bytes - fl->upd_ba_bytes};
	f->link_id = fl->link_id;
	f->net_id = fl->net_id;
	f->raw_captured = fl->raw_captured;
	memcpy(f->net_a, fl->net_a, 16);
	memcpy(f->net_b, fl->net_b, 16);
	memcpy(f->link_a, fl->link_a, 6);
	memcpy(f->link_b, fl->link_b, 6);
	f->has_link = !!(fl->flags & FLOW_F_LINK);
	f->ip_ver = fl->ip_ver;
	f->icmp_ver = fl->icmp_ver;
	f->tproto = fl->l4 == DECODE_L4_TCP   ? FLOW_PROTO_TCP
		    : fl->l4 == DECODE_L4_UDP ? FLOW_PROTO_UDP
		    : fl->l4                  ? FLOW_PROTO_SCTP
					      : 0;
	if (fl->l4) {
		f->tp_a = fl->tp_a;
		f->tp_b = fl->tp_b;
	} else if (fl->icmp_ver) {
		f->icmp_id = fl->icmp_id;
		f->icmp_type = fl->icmp_type;
		f->icmp_code = fl->icmp_code;
	}
	f->finish = fl->finish;
	f->path_id = (uint32_t)path;
	f->app_id = (uint32_t)app;
	f->node_id = (uint32_t)node;
	f->capture_id = (uint32_t)cap;
	if (tm && fl->l4 == DECODE_L4_TCP) {
		if (!f->tcp && (f->tcp = malloc(sizeof(*f->tcp)))) {
			s->tcp_records++;
			s->st.bytes += sizeof(*f->tcp);
		}
		if (f->tcp)
			*f->tcp = *tm;
	}
	upd_push(s, f);
	s->st.ingested++;
	rc = 0;
	while (s->n > s->o.max_flows && s->head != f) {
		flow_drop(s, s->head);
		s->st.dropped_max_flows++;
	}
	expire_locked(s, now_ms);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* "aa:bb:cc:dd:ee:ff" into 6 bytes; all zero when it is not a MAC. */
static void store_mac(const char *str, uint8_t out[6])
{
	if (parse_mac(str, out))
		memset(out, 0, 6);
}

static uint64_t hex_or_zero(const char *str)
{
	uint64_t v = 0;
	return parse_uuid(str, &v) ? 0 : v;
}

static uint16_t port16(int64_t v)
{
	return v < 0 ? 0 : v > 65535 ? 65535 : (uint16_t)v;
}

int flow_store_ingest_pb(struct flow_store *s, const struct Flow__Flow *pf, int64_t now_ms,
			 uint64_t *uuid_out)
{
	uint64_t uuid;
	if (!pf || parse_uuid(pf->uuid, &uuid))
		return -EINVAL;
	if (uuid_out)
		*uuid_out = uuid;
	pthread_mutex_lock(&s->lock);
	int rc = -ENOMEM;
	int64_t path = strtab_intern(&s->strs, pf->layerspath ? pf->layerspath : "");
	int64_t app = strtab_intern(&s->strs, pf->application ? pf->application : "");
	int64_t node = strtab_intern(&s->strs, pf->nodetid ? pf->nodetid : "");
	int64_t cap = strtab_intern(&s->strs, pf->captureid ? pf->captureid : "");
	if (path < 0 || app < 0 || node < 0 || cap < 0)
		goto out;
	if (s->n >= s->nbuckets && grow_index(s))
		goto out;
	struct fs_flow **slot = find_slot(s, uuid);
	struct fs_flow *f = *slot;
	if (f) {
		list_unlink(s, f);
	} else {
		f = calloc(1, sizeof(*f));
		if (!f)
			goto out;
		f->uuid = uuid;
		*slot = f;
		s->n++;
		s->st.bytes += flow_bytes(f);
	}
	list_append(s, f);
	f->l2 = hex_or_zero(pf->trackingid);
	f->l3 = hex_or_zero(pf->l3trackingid);
	f->parent = hex_or_zero(pf->parentuuid);
	f->ingest_ms = now_ms;
	f->start_ms = pf->start;
	f->last_ms = pf->last;
	const Flow__FlowMetric *m = pf->metric;
	f->abp = m ? (uint64_t)m->abpackets : 0;
	f->abb = m ? (uint64_t)m->abbytes : 0;
	f->bap = m ? (uint64_t)m->bapackets : 0;
	f->bab = m ? (uint64_t)m->babytes : 0;
	f->rtt_ns = m ? m->rtt : 0;
	const Flow__FlowMetric *lu = pf->lastupdatemetric;
	f->lu = lu ? (struct fs_upd){.start = lu->start,
				     .last = lu->last,
				     .abp = (uint64_t)lu->abpackets,
				     .abb = (uint64_t)lu->abbytes,
				     .bap = (uint64_t)lu->bapackets,
				     .bab = (uint64_t)lu->babytes}
		   : (struct fs_upd){0};
	f->has_link = pf->link != NULL;
	f->link_id = pf->link ? (uint64_t)pf->link->id : 0;
	store_mac(pf->link ? pf->link->a : NULL, f->link_a);
	store_mac(pf->link ? pf->link->b : NULL, f->link_b);
	f->ip_ver = 0;
	f->net_id = 0;
	memset(f->net_a, 0, 16);
	memset(f->net_b, 0, 16);
	if (pf->network) {
		int v6 = pf->network->protocol == FLOW__FLOW_PROTOCOL__IPV6;
		int af = v6 ? AF_INET6 : AF_INET;
		if (inet_pton(af, pf->network->a, f->net_a) == 1 &&
		    inet_pton(af, pf->network->b, f->net_b) == 1)
			f->ip_ver = v6 ? 6 : 4;
		f->net_id = (uint32_t)pf->network->id;
	}
	f->tproto = 0;
	f->tp_a = f->tp_b = 0;
	if (pf->transport && (pf->transport->protocol == FLOW__FLOW_PROTOCOL__TCP ||
			      pf->transport->protocol == FLOW__FLOW_PROTOCOL__UDP ||
			      pf->transport->protocol == FLOW__FLOW_PROTOCOL__SCTP)) {
		f->tproto = (uint8_t)pf->transport->protocol;
		f->tp_a = port16(pf->transport->a);
		f->tp_b = port16(pf->transport->b);
	}
	f->icmp_ver = 0;
	f->icmp_id = 0;
	f->icmp_type = f->icmp_code = 0;
	if (pf->icmp && !f->tproto) {
		f->icmp_ver = f->ip_ver == 6 ? 6 : 4;
		f->icmp_type = (uint8_t)pf->icmp->type;
		f->icmp_code = (uint8_t)pf->icmp->code;
		f->icmp_id = (uint16_t)pf->icmp->id;
	}
	f->finish = (uint8_t)pf->finishtype;
	f->raw_captured = pf->rawpacketscaptured > 0 ? (uint32_t)pf->rawpacketscaptured : 0;
	f->path_id = (uint32_t)path;
	f->app_id = (uint32_t)app;
	f->node_id = (uint32_t)node;
	f->capture_id = (uint32_t)cap;
	const Flow__TCPMetric *tm = pf->tcpmetric;
	if (tm && f->tproto == FLOW__FLOW_PROTOCOL__TCP) {
		if (!f->tcp && (f->tcp = malloc(sizeof(*f->tcp)))) {
			s->tcp_records++;
			s->st.bytes += sizeof(*f->tcp);
		}
		if (f->tcp)
			*f->tcp = (struct flow_tcp_metric){.ab_syn_start = tm->absynstart,
							   .ba_syn_start = tm->basynstart,
							   .ab_fin_start = tm->abfinstart,
							   .ba_fin_start = tm->bafinstart,
							   .ab_rst_start = tm->abrststart,
							   .ba_rst_start = tm->barststart,
							   .ab_syn_ttl = tm->absynttl,
							   .ba_syn_ttl = tm->basynttl};
	}
	upd_push(s, f);
	s->st.ingested++;
	rc = 0;
	while (s->n > s->o.max_flows && s->head != f) {
		flow_drop(s, s->head);
		s->st.dropped_max_flows++;
	}
	expire_locked(s, now_ms);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int flow_store_add_raw(struct flow_store *s, uint64_t uuid, int64_t ts_ms, uint32_t linktype,
		       const uint8_t *data, uint32_t len)
{
	int rc = 0;
	pthread_mutex_lock(&s->lock);
	struct fs_flow *f = *find_slot(s, uuid);
	if (!f) {
		rc = -ENOENT;
	} else if (s->st.raw_bytes + len > s->o.raw_max_bytes ||
		   (s->st.raw_packets + 1) * sizeof(struct fs_raw) > s->o.raw_max_bytes) {
		/* the records count too: empty packets cost no data bytes, but a flood of
		 * them held a 32-byte record each with no bound (fuzz_flow_pb) */
		rc = -ENOSPC;
	} else {
		struct fs_raw *r = malloc(sizeof(*r) + len);
		if (!r) {
			rc = -ENOSPC;
		} else {
			r->next = NULL;
			r->ts_ms = ts_ms;
			r->index = ++f->nraw;
			r->linktype = linktype;
			r->len = len;
			if (len) /* an empty protobuf bytes field has no data pointer */
				memcpy(r->data, data, len);
			if (f->raw_tail)
				f->raw_tail->next = r;
			else
				f->raw_head = r;
			f->raw_tail = r;
			s->st.raw_packets++;
			s->st.raw_bytes += len;
		}
	}
	if (rc)
		s->st.raw_dropped++;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void flow_store_expire(struct flow_store *s, int64_t now_ms)
{
	pthread_mutex_lock(&s->lock);
	expire_locked(s, now_ms);
	pthread_mutex_unlock(&s->lock);
}

void flow_store_stats(struct flow_store *s, struct flow_store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->flows = s->n;
	out->bytes = s->st.bytes + s->strs.bytes + s->st.raw_bytes +
		     s->st.raw_packets * sizeof(struct fs_raw);
	pthread_mutex_unlock(&s->lock);
}

json_t *flow_store_status_json(struct flow_store *s)
{
	struct flow_store_stats st;
	flow_store_stats(s, &st);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "Flows",
			 (json_int_t)st.flows, "Bytes", (json_int_t)st.bytes, "BytesPerFlow",
			 (json_int_t)(st.flows ? st.bytes / st.flows : 0), "Ingested",
			 (json_int_t)st.ingested, "Dropped",
			 (json_int_t)(st.dropped_max_flows + st.dropped_age), "DroppedMaxFlows",
			 (json_int_t)st.dropped_max_flows, "DroppedAge", (json_int_t)st.dropped_age,
			 "MaxFlows", (json_int_t)s->o.max_flows, "MaxAge",
			 (json_int_t)s->o.max_age_ms, "RawPackets", (json_int_t)st.raw_packets,
			 "RawBytes", (json_int_t)st.raw_bytes, "RawDropped",
			 (json_int_t)st.raw_dropped, "RawMaxBytes", (json_int_t)s->o.raw_max_bytes);
}

void flow_store_status_hook(void *user, json_t *status)
{
	json_t *j = flow_store_status_json(user);
	if (j)
		json_object_set_new(status, "Flows", j);
}

/* ---- JSON ------------------------------------------------------------------------- */

static void set_int(json_t *o, const char *k, int64_t v)
{
	if (v)
		json_object_set_new(o, k, json_integer(v));
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_set_new(o, k, json_string(v));
}

static json_t *metric_json(uint64_t abp, uint64_t abb, uint64_t bap, uint64_t bab, int64_t start,
			   int64_t last, int64_t rtt)
{
	json_t *m = json_object();
	set_int(m, "ABPackets", (int64_t)abp);
	set_int(m, "ABBytes", (int64_t)abb);
	set_int(m, "BAPackets", (int64_t)bap);
	set_int(m, "BABytes", (int64_t)bab);
	set_int(m, "Start", start);
	set_int(m, "Last", last);
	set_int(m, "RTT", rtt);
	return m;
}

static json_t *layer_json(unsigned proto, const char *a, const char *b, int64_t id)
{
	json_t *l = json_object();
	json_object_set_new(l, "Protocol", json_string(flow_proto_name(proto)));
	set_str(l, "A", a);
	set_str(l, "B", b);
	set_int(l, "ID", id);
	return l;
}

/* The flow as Skydive's JSON (docs/FLOWS.md), same fields as flow_json.c. */
static json_t *flow_to_json(const struct flow_store *s, const struct fs_flow *f)
{
	char hex[17], a[46], b[46];
	json_t *o = json_object();
	if (!o)
		return NULL;
	fmt_hex_u64(hex, f->uuid);
	set_str(o, "UUID", hex);
	set_str(o, "LayersPath", strtab_get(&s->strs, f->path_id));
	set_str(o, "Application", strtab_get(&s->strs, f->app_id));
	if (f->has_link) {
		fmt_mac(a, f->link_a);
		fmt_mac(b, f->link_b);
		json_object_set_new(o, "Link",
				    layer_json(FLOW_PROTO_ETHERNET, a, b, (int64_t)f->link_id));
	}
	if (f->ip_ver) {
		fmt_ip(a, f->ip_ver, f->net_a);
		fmt_ip(b, f->ip_ver, f->net_b);
		json_object_set_new(o, "Network",
				    layer_json(f->ip_ver == 4 ? FLOW_PROTO_IPV4 : FLOW_PROTO_IPV6,
					       a, b, f->net_id));
	}
	if (f->tproto) {
		json_t *t = json_object();
		json_object_set_new(t, "Protocol", json_string(flow_proto_name(f->tproto)));
		set_int(t, "A", f->tp_a);
		set_int(t, "B", f->tp_b);
		json_object_set_new(o, "Transport", t);
	}
	if (f->icmp_ver) {
		json_t *t = json_object();
		if (f->icmp_type)
			json_object_set_new(t, "Type", json_string(flow_icmp_type_name(f->icmp_type)));
		set_int(t, "Code", f->icmp_code);
		set_int(t, "ID", f->icmp_id);
		json_object_set_new(o, "ICMP", t);
	}
	json_object_set_new(o, "LastUpdateMetric",
			    metric_json(f->lu.abp, f->lu.abb, f->lu.bap, f->lu.bab, f->lu.start,
					f->lu.last, 0));
	json_object_set_new(o, "Metric", metric_json(f->abp, f->abb, f->bap, f->bab, f->start_ms,
						     f->last_ms, f->rtt_ns));
	if (f->tcp) {
		json_t *t = json_object();
		set_int(t, "ABSynStart", f->tcp->ab_syn_start);
		set_int(t, "BASynStart", f->tcp->ba_syn_start);
		set_int(t, "ABSynTTL", f->tcp->ab_syn_ttl);
		set_int(t, "BASynTTL", f->tcp->ba_syn_ttl);
		set_int(t, "ABFinStart", f->tcp->ab_fin_start);
		set_int(t, "BAFinStart", f->tcp->ba_fin_start);
		set_int(t, "ABRstStart", f->tcp->ab_rst_start);
		set_int(t, "BARstStart", f->tcp->ba_rst_start);
		json_object_set_new(o, "TCPMetric", t);
	}
	json_object_set_new(o, "Start", json_integer(f->start_ms));
	json_object_set_new(o, "Last", json_integer(f->last_ms));
	fmt_hex_u64(hex, f->l2);
	set_str(o, "TrackingID", hex);
	fmt_hex_u64(hex, f->l3);
	set_str(o, "L3TrackingID", hex);
	if (f->parent)
		fmt_hex_u64(hex, f->parent);
	json_object_set_new(o, "ParentUUID", json_string(f->parent ? hex : ""));
	set_str(o, "NodeTID", strtab_get(&s->strs, f->node_id));
	set_str(o, "CaptureID", strtab_get(&s->strs, f->capture_id));
	json_object_set_new(o, "RawPacketsCaptured", json_integer(f->raw_captured));
	if (f->finish)
		set_str(o, "FinishType", flow_finish_name(f->finish));
	return o;
}

/* ---- queries ------------------------------------------------------------------- *
 * The store selects by time window and capture node only: Flows()' Has-style filters
 * are applied by the Gremlin evaluator, one matcher for nodes, edges and flows. */

static int node_wanted(const struct flow_store *s, const struct fs_flow *f, const json_t *nodes)
{
	if (!nodes)
		return 1;
	const char *tid = strtab_get(&s->strs, f->node_id);
	size_t i;
	json_t *x;
	json_array_foreach(nodes, i, x)
	{
		if (json_is_string(x) && !strcmp(json_string_value(x), tid))
			return 1;
	}
	return 0;
}

json_t *flow_store_query(struct flow_store *s, const json_t *node_tids, int64_t at_ms,
			 int64_t duration_ms, struct gremlin_error *err)
{
	json_t *out = json_array();
	if (!out) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	int64_t from = at_ms - duration_ms;
	pthread_mutex_lock(&s->lock);
	for (const struct fs_flow *f = s->head; f; f = f->next) {
		if (at_ms && (f->start_ms > at_ms || f->last_ms < from))
			continue;
		if (!node_wanted(s, f, node_tids))
			continue;
		json_t *j = flow_to_json(s, f);
		if (!j || json_array_append_new(out, j)) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (!out)
		snprintf(err->msg, sizeof(err->msg), "out of memory building the flows");
	return out;
}

static json_t *b64_json(const uint8_t *d, size_t n)
{
	size_t ol;
	char *o = base64_encode_alloc(d, n, &ol);
	if (!o)
		return NULL;
	json_t *j = json_stringn(o, ol);
	free(o);
	return j;
}

static int parse_uuid(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (*end || errno)
		return -1;
	*out = v;
	return 0;
}

json_t *flow_store_raw_packets(struct flow_store *s, const json_t *flows)
{
	json_t *out = json_array();
	if (!out)
		return NULL;
	size_t i;
	json_t *fj;
	pthread_mutex_lock(&s->lock);
	json_array_foreach(flows, i, fj)
	{
		const char *us = json_string_value(json_object_get(fj, "UUID"));
		uint64_t uuid;
		if (parse_uuid(us, &uuid))
			continue;
		const struct fs_flow *f = *find_slot(s, uuid);
		if (!f || !f->raw_head)
			continue;
		json_t *pk = json_array();
		for (const struct fs_raw *r = f->raw_head; pk && r; r = r->next) {
			json_t *d = b64_json(r->data, r->len);
			json_t *o = d ? json_pack("{s:I,s:I,s:o,s:I}", "Timestamp",
						  (json_int_t)r->ts_ms, "Index",
						  (json_int_t)r->index, "Data", d, "LinkType",
						  (json_int_t)r->linktype)
				      : NULL;
			if (!o || json_array_append_new(pk, o)) {
				json_decref(pk);
				pk = NULL;
			}
		}
		json_t *entry = pk ? json_pack("{s:o}", us, pk) : NULL;
		if (!entry || json_array_append_new(out, entry)) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return out;
}

json_t *flow_store_updates(struct flow_store *s, uint64_t uuid)
{
	json_t *out = NULL;
	pthread_mutex_lock(&s->lock);
	const struct fs_flow *f = *find_slot(s, uuid);
	if (f && (out = json_array()))
		for (unsigned k = 0; k < f->nupd; k++) {
			const struct fs_upd *u = &f->upd[k];
			json_array_append_new(out, metric_json(u->abp, u->abb, u->bap, u->bab,
							       u->start, u->last, 0));
		}
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* One metric of Metrics(): the six counters, always present (zeros too). */
static json_t *metric_full(uint64_t abp, uint64_t abb, uint64_t bap, uint64_t bab, int64_t start,
			   int64_t last)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "ABPackets", (json_int_t)abp, "ABBytes",
			 (json_int_t)abb, "BAPackets", (json_int_t)bap, "BABytes", (json_int_t)bab,
			 "Start", (json_int_t)start, "Last", (json_int_t)last);
}

static json_int_t jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* A flow JSON's LastUpdateMetric when it counted packets, else its Metric. */
static json_t *metric_of_json(const json_t *fj)
{
	const json_t *m = json_object_get(fj, "LastUpdateMetric");
	if (!jint(m, "ABPackets") && !jint(m, "BAPackets"))
		m = json_object_get(fj, "Metric");
	return metric_full((uint64_t)jint(m, "ABPackets"), (uint64_t)jint(m, "ABBytes"),
			   (uint64_t)jint(m, "BAPackets"), (uint64_t)jint(m, "BABytes"),
			   jint(m, "Start"), jint(m, "Last"));
}

json_t *flow_store_metrics(struct flow_store *s, const json_t *flows)
{
	json_t *out = json_object();
	if (!out)
		return NULL;
	size_t i;
	json_t *fj;
	pthread_mutex_lock(&s->lock);
	json_array_foreach(flows, i, fj)
	{
		const char *us = json_string_value(json_object_get(fj, "UUID"));
		uint64_t uuid;
		if (!us || json_object_get(out, us))
			continue;
		const struct fs_flow *f = parse_uuid(us, &uuid) ? NULL : *find_slot(s, uuid);
		json_t *l = json_array();
		if (!l)
			goto nomem;
		if (!f) {
			if (json_array_append_new(l, metric_of_json(fj)))
				goto nomem_l;
		} else if (f->nupd) {
			for (unsigned k = 0; k < f->nupd; k++) {
				const struct fs_upd *u = &f->upd[k];
				if (json_array_append_new(l, metric_full(u->abp, u->abb, u->bap,
									 u->bab, u->start, u->last)))
					goto nomem_l;
			}
		} else if (f->lu.abp || f->lu.bap) {
			if (json_array_append_new(l, metric_full(f->lu.abp, f->lu.abb, f->lu.bap,
								 f->lu.bab, f->lu.start, f->lu.last)))
				goto nomem_l;
		} else if (json_array_append_new(l, metric_full(f->abp, f->abb, f->bap, f->bab,
							      f->start_ms, f->last_ms))) {
			goto nomem_l;
		}
		if (json_object_set_new(out, us, l))
			goto nomem;
		continue;
	nomem_l:
		json_decref(l);
	nomem:
		json_decref(out);
		out = NULL;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* ---- Gremlin hooks ---------------------------------------------------------------- */

static json_t *ops_flows(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
			 int64_t duration_ms, struct gremlin_error *err)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	flow_store_expire(user, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	(void)filters; /* applied by the evaluator */
	return flow_store_query(user, nodes, at_ms, duration_ms, err);
}

static json_t *ops_raw(void *user, const json_t *flows, struct gremlin_error *err)
{
	json_t *r = flow_store_raw_packets(user, flows);
	if (!r)
		snprintf(err->msg, sizeof(err->msg), "out of memory building the raw packets");
	return r;
}

static json_t *ops_metrics(void *user, const json_t *flows, struct gremlin_error *err)
{
	json_t *r = flow_store_metrics(user, flows);
	if (!r)
		snprintf(err->msg, sizeof(err->msg), "out of memory building the metrics");
	return r;
}

void flow_store_gremlin_ops(struct flow_store *s, struct gremlin_flow_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->flows = ops_flows;
	ops->raw_packets = ops_raw;
	ops->metrics = ops_metrics;
	ops->user = s;
}

struct flow_store *flow_store_from_ops(const struct gremlin_flow_ops *ops)
{
	return ops && ops->flows == ops_flows ? ops->user : NULL;
}
