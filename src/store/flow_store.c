/* flow_store.c - the analyzer's flow store: typed flow records by UUID in memory in
 * ingest order (update records, raw packets without a log, bounds with drop counters,
 * reference-counted strings), the segment log beside it (segment.h), queries merging
 * both with pushed-down predicates, Gremlin hooks. */
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
#include "flow/xlayer.h"
#include "gremlin/gremlin_int.h"
#include "common/log.h"
#include "store/segment.h"

#define NS_PER_MS 1000000ull

/* One LastUpdateMetric as received. */
struct fs_upd {
	int64_t start, last;
	uint64_t abp, abb, bap, bab;
	int64_t rtt_ns; /* the flow's Metric.RTT at that state (Skydive's LastUpdateMetric copies it) */
};

struct fs_raw {
	struct fs_raw *next;
	int64_t ts_ns;
	uint32_t index, linktype, len, wirelen;
	uint8_t data[];
};

struct fs_flow {
	struct fs_flow *hnext;       /* hash chain */
	struct fs_flow *prev, *next; /* ingest order */
	struct flow_rec r;           /* the latest state; r.str unused (sid) */
	uint32_t sid[FREC_NSTR];     /* interned strings (strtab ids) */
	struct fs_upd *upd;          /* update records, oldest first */
	uint16_t nupd, updcap;
	uint32_t nraw;
	struct fs_raw *raw_head, *raw_tail;
};

/* Interned strings with reference counts: a string goes when its last flow does, so
 * the table holds the distinct strings of the flows kept, not of every flow ever seen. */
#define STR_TOMB UINT32_MAX
struct strtab {
	char **v;          /* v[id - 1], NULL when free */
	uint32_t *refs;    /* refs[id - 1] */
	uint32_t n, cap;   /* ids used (live or free), slots of v */
	uint32_t *freel;   /* free ids */
	uint32_t nfree, freecap;
	uint32_t *slot;    /* open addressing: id, 0 = empty, STR_TOMB = deleted */
	uint32_t nslot, used; /* used: live + tombstones */
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
	struct seglog *log; /* NULL: memory only */
	struct ch_store *ch; /* flow history in ClickHouse (then the log holds raw packets) */
	char read_err[256];  /* the backend's last read error (under lock) */
	char log_err[256];  /* why there is no log when one was asked for */
	struct flow_store_live live; /* begin NULL: no live-view hook */
};

static int parse_uuid(const char *s, uint64_t *out);
static int u64_cmp_fs(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* ---- strings ---------------------------------------------------------------------- */

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int strtab_rehash(struct strtab *t, uint32_t ns)
{
	uint32_t *slot = calloc(ns, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	t->used = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		if (!t->v[i])
			continue;
		uint32_t h = str_hash(t->v[i]) & (ns - 1);
		while (slot[h])
			h = (h + 1) & (ns - 1);
		slot[h] = i + 1;
		t->used++;
	}
	free(t->slot);
	t->slot = slot;
	t->nslot = ns;
	return 0;
}

/* Id of s with one more reference (0 is always "", not counted); -1 on no memory. */
static int64_t strtab_intern(struct strtab *t, const char *s)
{
	if (!s || !*s)
		return 0;
	if ((t->used + 2) * 2 > t->nslot) {
		uint32_t live = t->n - t->nfree, ns = 64;
		while (ns < (live + 2) * 4)
			ns *= 2;
		if (strtab_rehash(t, ns))
			return -1;
	}
	uint32_t h = str_hash(s) & (t->nslot - 1), tomb = UINT32_MAX;
	while (t->slot[h]) {
		if (t->slot[h] == STR_TOMB) {
			if (tomb == UINT32_MAX)
				tomb = h;
		} else if (!strcmp(t->v[t->slot[h] - 1], s)) {
			t->refs[t->slot[h] - 1]++;
			return t->slot[h];
		}
		h = (h + 1) & (t->nslot - 1);
	}
	uint32_t id;
	if (t->nfree) {
		id = t->freel[--t->nfree];
	} else {
		if (t->n == t->cap) {
			uint32_t nc = t->cap ? t->cap * 2 : 32;
			char **nv = realloc(t->v, nc * sizeof(*nv));
			if (!nv)
				return -1;
			t->v = nv;
			uint32_t *nr = realloc(t->refs, nc * sizeof(*nr));
			if (!nr)
				return -1;
			t->refs = nr;
			t->cap = nc;
		}
		id = ++t->n;
		t->v[id - 1] = NULL;
	}
	char *d = strdup(s);
	if (!d) {
		if (id == t->n)
			t->n--;
		else
			t->freel[t->nfree++] = id; /* where it came from */
		return -1;
	}
	t->v[id - 1] = d;
	t->refs[id - 1] = 1;
	if (tomb != UINT32_MAX)
		h = tomb;
	else
		t->used++;
	t->slot[h] = id;
	t->bytes += strlen(s) + 1 + sizeof(char *) + 3 * sizeof(uint32_t);
	return id;
}

/* Drops one reference of id; the string goes with the last. */
static void strtab_release(struct strtab *t, uint32_t id)
{
	if (!id || id > t->n || !t->v[id - 1] || --t->refs[id - 1])
		return;
	if (t->nfree == t->freecap) {
		uint32_t nc = t->freecap ? t->freecap * 2 : 32;
		uint32_t *nf = realloc(t->freel, nc * sizeof(*nf));
		if (!nf) { /* kept: the next intern of it finds it again */
			t->refs[id - 1] = 1;
			return;
		}
		t->freel = nf;
		t->freecap = nc;
	}
	uint32_t h = str_hash(t->v[id - 1]) & (t->nslot - 1);
	while (t->slot[h] != id)
		h = (h + 1) & (t->nslot - 1);
	t->slot[h] = STR_TOMB;
	t->bytes -= strlen(t->v[id - 1]) + 1 + sizeof(char *) + 3 * sizeof(uint32_t);
	free(t->v[id - 1]);
	t->v[id - 1] = NULL;
	t->freel[t->nfree++] = id;
}

static const char *strtab_get(const struct strtab *t, uint32_t id)
{
	return id && id <= t->n && t->v[id - 1] ? t->v[id - 1] : "";
}

static void strtab_free(struct strtab *t)
{
	for (uint32_t i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	free(t->refs);
	free(t->freel);
	free(t->slot);
}

/* The flow's strings interned (references taken); the old ones released after, so an
 * unchanged string keeps its id. -1 on no memory (nothing changed). */
static int set_strings(struct strtab *t, struct fs_flow *f, const char *const str[FREC_NSTR])
{
	int64_t id[FREC_NSTR];
	for (int k = 0; k < FREC_NSTR; k++)
		if ((id[k] = strtab_intern(t, str[k])) < 0) {
			while (k-- > 0)
				strtab_release(t, (uint32_t)id[k]);
			return -1;
		}
	for (int k = 0; k < FREC_NSTR; k++) {
		strtab_release(t, f->sid[k]);
		f->sid[k] = (uint32_t)id[k];
	}
	return 0;
}

size_t flow_store_strings(struct flow_store *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->strs.n - s->strs.nfree;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- records ---------------------------------------------------------------------- */

static size_t flow_bytes(const struct fs_flow *f)
{
	size_t b = sizeof(*f) + sizeof(void *); /* + its share of the index */
	b += f->updcap * sizeof(struct fs_upd);
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
	while (*p && (*p)->r.uuid != uuid)
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
	struct fs_flow **p = find_slot(s, f->r.uuid);
	if (*p == f)
		*p = f->hnext;
	list_unlink(s, f);
	raw_free(s, f);
	for (int k = 0; k < FREC_NSTR; k++)
		strtab_release(&s->strs, f->sid[k]);
	s->st.bytes -= flow_bytes(f);
	free(f->upd);
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
			struct fs_flow **p = &b[(f->r.uuid ^ (f->r.uuid >> 29)) & (nb - 1)];
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
	while (s->head && now_ms - s->head->r.ingest > s->o.max_age_ms) {
		flow_drop(s, s->head);
		s->st.dropped_age++;
	}
}

/* ---- public ----------------------------------------------------------------------- */

/* A duration as config_parse_duration reads it (a number is seconds, a string a Go
 * duration or days, "7d"), > 0. */
static int parse_age(const char *v, int64_t *ms)
{
	return config_parse_duration(v, ms) || *ms <= 0 ? -1 : 0;
}

static int storage_opts(const struct config *cfg, struct flow_store_opts *o, char *err,
			size_t errlen)
{
	if (!config_get_bool(cfg, "analyzer.storage.enabled", 1))
		return 0;
	const char *dd = config_get_string(cfg, "analyzer.data_dir", "/var/lib/skydive");
	if (snprintf(o->storage_dir, sizeof(o->storage_dir), "%s/flows", dd && *dd ? dd : ".") >=
	    (int)sizeof(o->storage_dir)) {
		snprintf(err, errlen, "analyzer.data_dir is too long (%zu bytes, at most %zu)",
			 strlen(dd), sizeof(o->storage_dir) - 7);
		return -EINVAL;
	}
	const char *v = config_get_string(cfg, "analyzer.storage.segment_duration", "10m");
	if (!v || parse_age(v, &o->segment_ms)) {
		snprintf(err, errlen,
			 "analyzer.storage.segment_duration '%s' invalid: give a duration like 10m",
			 v ? v : "");
		return -EINVAL;
	}
	v = config_get_string(cfg, "analyzer.storage.fsync", "1s");
	if (v && !strcasecmp(v, "always"))
		o->fsync_ms = FLOW_STORE_FSYNC_ALWAYS;
	else if (v && !strcasecmp(v, "never"))
		o->fsync_ms = FLOW_STORE_FSYNC_NEVER;
	else if (!v || config_parse_duration(v, &o->fsync_ms) || o->fsync_ms <= 0) {
		snprintf(err, errlen,
			 "analyzer.storage.fsync '%s' invalid: give a duration like 1s, or always, "
			 "or never",
			 v ? v : "");
		return -EINVAL;
	}
	int64_t mb = config_get_int(cfg, "analyzer.storage.max_bytes", FLOW_STORE_MAX_BYTES);
	if (mb < 0) {
		snprintf(err, errlen, "analyzer.storage.max_bytes %lld invalid: give bytes >= 0",
			 (long long)mb);
		return -EINVAL;
	}
	o->max_bytes = (uint64_t)mb;
	v = config_get_string(cfg, "analyzer.storage.max_age", "7d");
	if (v && *v && strcmp(v, "0") && parse_age(v, &o->storage_max_age_ms)) {
		snprintf(err, errlen,
			 "analyzer.storage.max_age '%s' invalid: give a duration like 7d, 24h or 0 "
			 "(no age limit)",
			 v);
		return -EINVAL;
	}
	return 0;
}

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
	int ch = ch_opts_from_config(cfg, &o->ch, err, errlen);
	if (ch < 0)
		return ch;
	o->has_ch = ch;
	return storage_opts(cfg, o, err, errlen);
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
	if (s->o.storage_dir[0]) {
		struct seglog_opts lo = {.dir = s->o.storage_dir,
					 .segment_ms = s->o.segment_ms,
					 .fsync_ms = s->o.fsync_ms == FLOW_STORE_FSYNC_DEFAULT  ? 1000
						     : s->o.fsync_ms == FLOW_STORE_FSYNC_ALWAYS ? SEG_FSYNC_ALWAYS
						     : s->o.fsync_ms == FLOW_STORE_FSYNC_NEVER  ? SEG_FSYNC_NEVER
											: s->o.fsync_ms,
					 .max_bytes = s->o.max_bytes,
					 .max_age_ms = s->o.storage_max_age_ms,
					 .block_records = s->o.block_records,
					 .raw_max_bytes = s->o.raw_max_bytes,
					 .no_thread = s->o.no_thread};
		s->log = seglog_open(&lo, s->log_err, sizeof(s->log_err));
		if (!s->log)
			log_warn("store: %s: flows are kept in memory only", s->log_err);
	}
	if (s->o.has_ch) {
		char err[256];
		if (!(s->ch = ch_open(&s->o.ch, err, sizeof(err)))) {
			log_error("store: %s", err);
			flow_store_free(s);
			return NULL;
		}
	}
	return s;
}

void flow_store_free(struct flow_store *s)
{
	if (!s)
		return;
	ch_close(s->ch);
	seglog_close(s->log);
	while (s->head)
		flow_drop(s, s->head);
	free(s->buckets);
	strtab_free(&s->strs);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int flow_store_commit(struct flow_store *s)
{
	return s->log ? seglog_commit(s->log) : 0;
}

int flow_store_flush(struct flow_store *s)
{
	int rc = s->ch ? ch_flush(s->ch) : 0;
	int r2 = s->log ? seglog_flush(s->log) : 0;
	return rc ? rc : r2;
}

void flow_store_tick(struct flow_store *s, int64_t now_ms)
{
	if (s->log)
		seglog_tick(s->log, now_ms);
}

static void upd_push(struct flow_store *s, struct fs_flow *f)
{
	struct fs_upd lu = {f->r.lu_start, f->r.lu_last, f->r.lu_abp, f->r.lu_abb,
			    f->r.lu_bap,   f->r.lu_bab,  f->r.rtt_ns};
	if (!lu.abp && !lu.bap)
		return;
	/* the same window sent again (an expiry right after an update) replaces it */
	if (f->nupd && f->upd[f->nupd - 1].start == lu.start) {
		f->upd[f->nupd - 1] = lu;
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
	f->upd[f->nupd++] = lu;
}

/* Stores r (a complete state, r->str ignored) with its strings. Lock held. */
static int store_rec_locked(struct flow_store *s, const struct flow_rec *r,
			    const char *const str[FREC_NSTR], int64_t now_ms)
{
	int rc = -ENOMEM;
	if (s->n >= s->nbuckets && grow_index(s))
		goto out;
	struct fs_flow **slot = find_slot(s, r->uuid);
	struct fs_flow *f = *slot;
	int fresh = !f;
	if (fresh) {
		if (!(f = calloc(1, sizeof(*f))))
			goto out;
	}
	if (set_strings(&s->strs, f, str)) {
		if (fresh)
			free(f);
		goto out;
	}
	if (fresh) {
		*slot = f;
		s->n++;
		s->st.bytes += flow_bytes(f);
	} else {
		list_unlink(s, f);
	}
	list_append(s, f);
	f->r = *r;
	f->r.ingest = now_ms;
	upd_push(s, f);
	s->st.ingested++;
	rc = 0;
	/* a failure is counted by the log or the backend (Storage.DroppedFlows) */
	if (s->ch)
		ch_append(s->ch, &f->r, str);
	else if (s->log)
		seglog_append_flow(s->log, &f->r, str, now_ms);
	while (s->n > s->o.max_flows && s->head != f) {
		flow_drop(s, s->head);
		s->st.dropped_max_flows++;
	}
	expire_locked(s, now_ms);
out:
	return rc;
}

static int store_rec(struct flow_store *s, const struct flow_rec *r,
		     const char *const str[FREC_NSTR], int64_t now_ms)
{
	pthread_mutex_lock(&s->lock);
	int rc = store_rec_locked(s, r, str, now_ms);
	pthread_mutex_unlock(&s->lock);
	return rc;
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
	struct flow_rec r;
	memset(&r, 0, sizeof(r));
	r.uuid = ids.uuid;
	r.l2 = ids.l2;
	r.l3 = ids.l3;
	r.parent = fl->parent_uuid;
	r.start = (int64_t)(fl->start_ns / NS_PER_MS);
	r.last = (int64_t)(fl->last_ns / NS_PER_MS);
	r.rtt_ns = flow_rtt_ns(fl);
	r.abp = fl->ab_packets;
	r.abb = fl->ab_bytes;
	r.bap = fl->ba_packets;
	r.bab = fl->ba_bytes;
	r.lu_start = lu_start_ms;
	r.lu_last = lu_last_ms;
	r.lu_abp = fl->ab_packets - fl->upd_ab_packets;
	r.lu_abb = fl->ab_bytes - fl->upd_ab_bytes;
	r.lu_bap = fl->ba_packets - fl->upd_ba_packets;
	r.lu_bab = fl->ba_bytes - fl->upd_ba_bytes;
	r.link_id = fl->link_id;
	r.net_id = fl->net_id;
	r.raw_captured = fl->raw_captured;
	memcpy(r.net_a, fl->net_a, 16);
	memcpy(r.net_b, fl->net_b, 16);
	memcpy(r.link_a, fl->link_a, 6);
	memcpy(r.link_b, fl->link_b, 6);
	r.has_link = !!(fl->flags & FLOW_F_LINK);
	r.ip_ver = fl->ip_ver;
	r.icmp_ver = fl->icmp_ver;
	r.tproto = fl->l4 == DECODE_L4_TCP   ? FLOW_PROTO_TCP
		   : fl->l4 == DECODE_L4_UDP ? FLOW_PROTO_UDP
		   : fl->l4                  ? FLOW_PROTO_SCTP
					     : 0;
	if (fl->l4) {
		r.tp_a = fl->tp_a;
		r.tp_b = fl->tp_b;
	} else if (fl->icmp_ver) {
		r.icmp_id = fl->icmp_id;
		r.icmp_type = fl->icmp_type;
		r.icmp_code = fl->icmp_code;
	}
	r.finish = fl->finish;
	if (tm && fl->l4 == DECODE_L4_TCP) {
		r.tcp = *tm;
		r.has_tcp = (uint8_t)((to->extra_tcp_metric ? FREC_TCP_FLAGS : 0) |
				      (to->reassemble_tcp ? FREC_TCP_STREAMS : 0));
	}
	const struct flow_ip_metric *im = flow_table_ip_metric(t, fl);
	if (im) {
		r.ip = *im;
		r.has_ip = 1;
	}
	char xs[2 * XL_BLOB_MAX + 1];
	uint32_t xlen;
	const uint8_t *xl = flow_table_layers(t, fl, &xlen);
	if (xl)
		xlayer_escape(xs, xl, xlen);
	const char *str[FREC_NSTR] = {flow_table_path(t, fl), flow_table_app(t, fl), tid,
				      to->capture_id, xl ? xs : NULL};
	return store_rec(s, &r, str, now_ms);
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

/* TCPMetric 9-22 (ReassembleTCP) of a received flow: kept when any is set. */
static void pb_streams(const Flow__TCPMetric *tm, struct flow_rec *r)
{
	struct flow_tcp_stream *a = &r->tcp.seg[0], *b = &r->tcp.seg[1];
	a->out_of_order = (uint32_t)tm->absegmentoutoforder;
	a->skipped = (uint32_t)tm->absegmentskipped;
	a->skipped_bytes = (uint64_t)tm->absegmentskippedbytes;
	a->packets = (uint32_t)tm->abpackets;
	a->bytes = (uint64_t)tm->abbytes;
	a->saw_start = tm->absawstart != 0;
	a->saw_end = tm->absawend != 0;
	b->out_of_order = (uint32_t)tm->basegmentoutoforder;
	b->skipped = (uint32_t)tm->basegmentskipped;
	b->skipped_bytes = (uint64_t)tm->basegmentskippedbytes;
	b->packets = (uint32_t)tm->bapackets;
	b->bytes = (uint64_t)tm->babytes;
	b->saw_start = tm->basawstart != 0;
	b->saw_end = tm->basawend != 0;
	static const struct flow_tcp_stream zero;
	if (memcmp(a, &zero, sizeof(zero)) || memcmp(b, &zero, sizeof(zero)))
		r->has_tcp |= FREC_TCP_STREAMS;
}

/* ---- extra layers of an agent's flow (flow.Flow fields 1000-1002) ---- */

/* One layer message appended to the blob as its flow.Flow field; 0, or -1
 * when it would pass XL_BLOB_MAX. */
static int pb_layer(uint8_t *blob, size_t *len, uint32_t num, const ProtobufCMessage *m)
{
	uint8_t hdr[16];
	size_t h = 0, n = protobuf_c_message_get_packed_size(m);
	uint64_t v = (uint64_t)num << 3 | 2;
	for (int k = 0; k < 2; k++, v = n) {
		do {
			hdr[h++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
			v >>= 7;
		} while (v);
	}
	if (*len + h + n > XL_BLOB_MAX)
		return -1;
	memcpy(blob + *len, hdr, h);
	protobuf_c_message_pack(m, blob + *len + h);
	*len += h + n;
	return 0;
}

/* The layers of pf as the store's string (xs: 2 * XL_BLOB_MAX + 1 bytes), NULL
 * when none; *too_big when one did not fit (left out). */
static const char *pb_layers(const struct Flow__Flow *pf, char *xs, int *too_big)
{
	uint8_t blob[XL_BLOB_MAX];
	size_t len = 0;
	*too_big = 0;
	if (pf->dhcpv4 && pb_layer(blob, &len, XL_FIELD_DHCPV4, &pf->dhcpv4->base))
		*too_big = 1;
	if (pf->dns && pb_layer(blob, &len, XL_FIELD_DNS, &pf->dns->base))
		*too_big = 1;
	if (pf->vrrpv2 && pb_layer(blob, &len, XL_FIELD_VRRP, &pf->vrrpv2->base))
		*too_big = 1;
	if (!len)
		return NULL;
	xlayer_escape(xs, blob, len);
	return xs;
}

/* Rare: a layer from an agent larger than our bound. */
static void count_too_big(struct flow_store *s)
{
	pthread_mutex_lock(&s->lock);
	s->st.layers_too_big++;
	pthread_mutex_unlock(&s->lock);
}

/* The record and strings of pf (no lock needed). -EINVAL without a hex UUID. */
static int pb_to_rec(const struct Flow__Flow *pf, struct flow_rec *rp, const char *str[FREC_NSTR])
{
	struct flow_rec r;
	memset(&r, 0, sizeof(r));
	if (!pf || parse_uuid(pf->uuid, &r.uuid))
		return -EINVAL;
	r.l2 = hex_or_zero(pf->trackingid);
	r.l3 = hex_or_zero(pf->l3trackingid);
	r.parent = hex_or_zero(pf->parentuuid);
	r.start = pf->start;
	r.last = pf->last;
	const Flow__FlowMetric *m = pf->metric;
	if (m) {
		r.abp = (uint64_t)m->abpackets;
		r.abb = (uint64_t)m->abbytes;
		r.bap = (uint64_t)m->bapackets;
		r.bab = (uint64_t)m->babytes;
		r.rtt_ns = m->rtt;
	}
	const Flow__FlowMetric *lu = pf->lastupdatemetric;
	if (lu) {
		r.lu_start = lu->start;
		r.lu_last = lu->last;
		r.lu_abp = (uint64_t)lu->abpackets;
		r.lu_abb = (uint64_t)lu->abbytes;
		r.lu_bap = (uint64_t)lu->bapackets;
		r.lu_bab = (uint64_t)lu->babytes;
	}
	r.has_link = pf->link != NULL;
	r.link_id = pf->link ? (uint64_t)pf->link->id : 0;
	store_mac(pf->link ? pf->link->a : NULL, r.link_a);
	store_mac(pf->link ? pf->link->b : NULL, r.link_b);
	if (pf->network) {
		int v6 = pf->network->protocol == FLOW__FLOW_PROTOCOL__IPV6;
		int af = v6 ? AF_INET6 : AF_INET;
		if (pf->network->a && pf->network->b && inet_pton(af, pf->network->a, r.net_a) == 1 &&
		    inet_pton(af, pf->network->b, r.net_b) == 1)
			r.ip_ver = v6 ? 6 : 4;
		else
			memset(r.net_a, 0, 32); /* net_a and net_b */
		r.net_id = (uint32_t)pf->network->id;
	}
	if (pf->transport && (pf->transport->protocol == FLOW__FLOW_PROTOCOL__TCP ||
			      pf->transport->protocol == FLOW__FLOW_PROTOCOL__UDP ||
			      pf->transport->protocol == FLOW__FLOW_PROTOCOL__SCTP)) {
		r.tproto = (uint8_t)pf->transport->protocol;
		r.tp_a = port16(pf->transport->a);
		r.tp_b = port16(pf->transport->b);
	}
	if (pf->icmp && !r.tproto) {
		r.icmp_ver = r.ip_ver == 6 ? 6 : 4;
		r.icmp_type = (uint8_t)pf->icmp->type;
		r.icmp_code = (uint8_t)pf->icmp->code;
		r.icmp_id = (uint16_t)pf->icmp->id;
	}
	r.finish = (uint8_t)pf->finishtype;
	r.raw_captured = pf->rawpacketscaptured > 0 ? (uint32_t)pf->rawpacketscaptured : 0;
	const Flow__TCPMetric *tm = pf->tcpmetric;
	if (tm && r.tproto == FLOW__FLOW_PROTOCOL__TCP) {
		r.has_tcp = 1;
		r.tcp = (struct flow_tcp_metric){.ab_syn_start = tm->absynstart,
						 .ba_syn_start = tm->basynstart,
						 .ab_fin_start = tm->abfinstart,
						 .ba_fin_start = tm->bafinstart,
						 .ab_rst_start = tm->abrststart,
						 .ba_rst_start = tm->barststart,
						 .ab_syn_ttl = tm->absynttl,
						 .ba_syn_ttl = tm->basynttl};
		pb_streams(tm, &r);
	}
	if (pf->ipmetric) {
		r.has_ip = 1;
		r.ip.fragments = (uint32_t)pf->ipmetric->fragments;
		r.ip.fragment_errors = (uint32_t)pf->ipmetric->fragmenterrors;
	}
	str[FREC_S_PATH] = pf->layerspath;
	str[FREC_S_APP] = pf->application;
	str[FREC_S_NODE] = pf->nodetid;
	str[FREC_S_CAPTURE] = pf->captureid;
	str[FREC_S_LAYERS] = NULL; /* the caller's pb_layers() */
	*rp = r;
	return 0;
}

int flow_store_ingest_pb(struct flow_store *s, const struct Flow__Flow *pf, int64_t now_ms,
			 uint64_t *uuid_out)
{
	struct flow_rec r;
	const char *str[FREC_NSTR];
	char xs[2 * XL_BLOB_MAX + 1];
	int rc = pb_to_rec(pf, &r, str), too_big;
	if (rc)
		return rc;
	str[FREC_S_LAYERS] = pb_layers(pf, xs, &too_big);
	if (too_big)
		count_too_big(s);
	if (uuid_out)
		*uuid_out = r.uuid;
	return store_rec(s, &r, str, now_ms);
}

/* Records per hold of the lock in a batch: enough to prefetch the index ahead of the
 * stores (a flow's record is a cache miss in a large store: the chain walk was most of
 * store_rec), few enough that a query's look at memory waits for little. */
#define BATCH_CHUNK 16

size_t flow_store_ingest_pb_batch(struct flow_store *s, const struct Flow__Flow *const *pf,
				  size_t n, int64_t now_ms, uint64_t *uuid, int *rc)
{
	struct flow_rec r[BATCH_CHUNK];
	const char *str[BATCH_CHUNK][FREC_NSTR];
	char xs[BATCH_CHUNK][2 * XL_BLOB_MAX + 1]; /* extra layers' strings */
	size_t stored = 0;
	for (size_t base = 0; base < n; base += BATCH_CHUNK) {
		size_t m = n - base < BATCH_CHUNK ? n - base : BATCH_CHUNK;
		int ok[BATCH_CHUNK];
		for (size_t i = 0; i < m; i++) {
			ok[i] = !(rc[base + i] = pb_to_rec(pf[base + i], &r[i], str[i]));
			uuid[base + i] = ok[i] ? r[i].uuid : 0;
			int too_big;
			if (ok[i] && (pf[base + i]->dns || pf[base + i]->dhcpv4 || pf[base + i]->vrrpv2)) {
				str[i][FREC_S_LAYERS] = pb_layers(pf[base + i], xs[i], &too_big);
				if (too_big)
					count_too_big(s);
			}
		}
		pthread_mutex_lock(&s->lock);
		/* two passes of prefetch: the buckets, then the flows they point to */
		for (size_t i = 0; i < m; i++)
			if (ok[i])
				__builtin_prefetch(&s->buckets[(r[i].uuid ^ (r[i].uuid >> 29)) &
							       (s->nbuckets - 1)]);
		for (size_t i = 0; i < m; i++) {
			const struct fs_flow *f =
			    ok[i] ? s->buckets[(r[i].uuid ^ (r[i].uuid >> 29)) & (s->nbuckets - 1)]
				  : NULL;
			if (f)
				__builtin_prefetch(&f->r, 1);
		}
		for (size_t i = 0; i < m; i++)
			if (ok[i] && !(rc[base + i] = store_rec_locked(s, &r[i], str[i], now_ms)))
				stored++;
		pthread_mutex_unlock(&s->lock);
	}
	return stored;
}

int flow_store_add_raw_ns(struct flow_store *s, uint64_t uuid, int64_t ts_ns, uint32_t linktype,
			  const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	int rc = 0;
	if (wirelen < caplen)
		wirelen = caplen;
	pthread_mutex_lock(&s->lock);
	struct fs_flow *f = *find_slot(s, uuid);
	if (!f) {
		rc = -ENOENT;
	} else if (s->log) {
		/* on disk only: the log's active block is the recent part, so a flow's packets
		 * are read from one place before and after a restart; and numbered on from
		 * the log's last Index of the flow (a restart, or the flow back in memory
		 * after it was dropped from there) */
		if (!f->nraw)
			f->nraw = seglog_raw_last_index(s->log, uuid);
		struct raw_rec h = {.uuid = uuid,
				    .ts_ns = ts_ns,
				    .index = ++f->nraw,
				    .linktype = linktype,
				    .caplen = caplen,
				    .wirelen = wirelen};
		/* counted by the log (Storage.RawPackets), not as memory held */
		if (seglog_append_raw(s->log, &h, data, f->r.ingest))
			rc = -ENOSPC; /* counted by the log: Storage.DroppedRaw */
		pthread_mutex_unlock(&s->lock);
		return rc;
	} else if (s->st.raw_bytes + caplen > s->o.raw_max_bytes ||
		   (s->st.raw_packets + 1) * sizeof(struct fs_raw) > s->o.raw_max_bytes) {
		/* the records count too: empty packets cost no data bytes, but a flood of
		 * them held a 32-byte record each with no bound (fuzz_flow_pb) */
		rc = -ENOSPC;
	} else {
		struct fs_raw *r = malloc(sizeof(*r) + caplen);
		if (!r) {
			rc = -ENOSPC;
		} else {
			r->next = NULL;
			r->ts_ns = ts_ns;
			r->index = ++f->nraw;
			r->linktype = linktype;
			r->len = caplen;
			r->wirelen = wirelen;
			if (caplen) /* an empty protobuf bytes field has no data pointer */
				memcpy(r->data, data, caplen);
			if (f->raw_tail)
				f->raw_tail->next = r;
			else
				f->raw_head = r;
			f->raw_tail = r;
			s->st.raw_packets++;
			s->st.raw_bytes += caplen;
		}
	}
	if (rc)
		s->st.raw_dropped++;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int flow_store_add_raw(struct flow_store *s, uint64_t uuid, int64_t ts_ms, uint32_t linktype,
		       const uint8_t *data, uint32_t len)
{
	return flow_store_add_raw_ns(s, uuid, ts_ms * (int64_t)NS_PER_MS, linktype, data, len,
				     len);
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
	json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "Flows",
			      (json_int_t)st.flows, "Bytes", (json_int_t)st.bytes, "BytesPerFlow",
			      (json_int_t)(st.flows ? st.bytes / st.flows : 0), "Ingested",
			      (json_int_t)st.ingested, "Dropped",
			      (json_int_t)(st.dropped_max_flows + st.dropped_age), "DroppedMaxFlows",
			      (json_int_t)st.dropped_max_flows, "DroppedAge",
			      (json_int_t)st.dropped_age, "MaxFlows", (json_int_t)s->o.max_flows,
			      "MaxAge", (json_int_t)s->o.max_age_ms, "RawPackets",
			      (json_int_t)st.raw_packets, "RawBytes", (json_int_t)st.raw_bytes,
			      "RawDropped", (json_int_t)st.raw_dropped, "RawMaxBytes",
			      (json_int_t)s->o.raw_max_bytes);
	if (!j)
		return NULL;
	json_object_set_new(j, "LayersTooBig", json_integer((json_int_t)st.layers_too_big));
	json_t *d = NULL;
	if (s->log) {
		struct seglog_stats ls;
		seglog_stats(s->log, &ls);
		const struct seglog_opts *lo = seglog_opts(s->log);
		d = json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
			      "s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:I,s:I}",
			      "Dir", lo->dir, "Persistent", 1, "From", (json_int_t)ls.min_time,
			      "To", (json_int_t)ls.max_time, "BytesOnDisk", (json_int_t)ls.bytes,
			      "Segments", (json_int_t)ls.segments, "Blocks", (json_int_t)ls.blocks,
			      "FlowStates", (json_int_t)ls.flow_records, "RawPackets",
			      (json_int_t)ls.raw_records, "Pending",
			      (json_int_t)(ls.pending_flows + ls.pending_raw), "EvictedSegments",
			      (json_int_t)ls.evicted_segments, "EvictedBytes",
			      (json_int_t)ls.evicted_bytes, "EvictedRecords",
			      (json_int_t)ls.evicted_records, "WriteErrors",
			      (json_int_t)ls.write_errors, "DroppedFlows",
			      (json_int_t)ls.dropped_flows, "DroppedRaw", (json_int_t)ls.dropped_raw,
			      "CorruptBlocks", (json_int_t)ls.corrupt_blocks, "TornBytes",
			      (json_int_t)ls.torn_bytes, "MaxBytes", (json_int_t)lo->max_bytes,
			      "MaxAge", (json_int_t)lo->max_age_ms, "SegmentDuration",
			      (json_int_t)lo->segment_ms, "LastError", ls.last_error,
			      /* raw packets: their bytes bounded by analyzer.flow.raw_max_bytes */
			      "RawBytesOnDisk", (json_int_t)ls.raw_bytes, "RawMaxBytes",
			      (json_int_t)lo->raw_max_bytes, "EvictedRawSegments",
			      (json_int_t)ls.evicted_raw_segments, "EvictedRawBytes",
			      (json_int_t)ls.evicted_raw_bytes, "EvictedRawPackets",
			      (json_int_t)ls.evicted_raw_records);
	} else {
		d = json_pack("{s:b,s:s}", "Persistent", 0, "Error",
			      s->log_err[0] ? s->log_err : "not asked (analyzer.storage.enabled)");
	}
	if (d && s->ch) {
		json_t *b = json_object();
		if (b) {
			ch_status_json(s->ch, b);
			json_object_set_new(d, "Backend", b);
		}
	}
	if (d)
		json_object_set_new(j, "Storage", d);
	return j;
}

int flow_store_log_stats(struct flow_store *s, struct seglog_stats *out)
{
	if (!s->log)
		return -1;
	seglog_stats(s->log, out);
	return 0;
}

void flow_store_status_hook(void *user, json_t *status)
{
	json_t *j = flow_store_status_json(user);
	json_t *o = json_object_get(status, "Flows");
	if (j && json_is_object(o)) { /* beside what is there (the ingest queue's) */
		json_object_update(o, j);
		json_decref(j);
	} else if (j) {
		json_object_set_new(status, "Flows", j);
	}
}

/* ---- JSON ------------------------------------------------------------------------- */

static void streams_json(json_t *t, const struct flow_tcp_metric *m);

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

/* A flow state as Skydive's JSON (docs/FLOWS.md), same fields as flow_json.c; str are
 * its LayersPath, Application, NodeTID, CaptureID. */
static json_t *rec_to_json(const struct flow_rec *f, const char *const str[FREC_NSTR])
{
	char hex[17], a[46], b[46];
	json_t *o = json_object();
	if (!o)
		return NULL;
	fmt_hex_u64(hex, f->uuid);
	set_str(o, "UUID", hex);
	set_str(o, "LayersPath", str[FREC_S_PATH]);
	set_str(o, "Application", str[FREC_S_APP]);
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
	if (str[FREC_S_LAYERS] && *str[FREC_S_LAYERS]) { /* DHCPv4, DNS, VRRPv2 */
		uint8_t xl[XL_BLOB_MAX];
		long xn = xlayer_unescape(xl, sizeof(xl), str[FREC_S_LAYERS]);
		if (xn > 0 && xlayer_json_obj(o, xl, (size_t)xn)) {
			json_decref(o);
			return NULL;
		}
	}
	json_object_set_new(o, "LastUpdateMetric",
			    metric_json(f->lu_abp, f->lu_abb, f->lu_bap, f->lu_bab, f->lu_start,
					f->lu_last, 0));
	json_object_set_new(o, "Metric",
			    metric_json(f->abp, f->abb, f->bap, f->bab, f->start, f->last, f->rtt_ns));
	if (f->has_tcp) {
		json_t *t = json_object();
		if (f->has_tcp & FREC_TCP_STREAMS)
			streams_json(t, &f->tcp);
		if (f->has_tcp & FREC_TCP_FLAGS) {
			set_int(t, "ABSynStart", f->tcp.ab_syn_start);
			set_int(t, "BASynStart", f->tcp.ba_syn_start);
			set_int(t, "ABSynTTL", f->tcp.ab_syn_ttl);
			set_int(t, "BASynTTL", f->tcp.ba_syn_ttl);
			set_int(t, "ABFinStart", f->tcp.ab_fin_start);
			set_int(t, "BAFinStart", f->tcp.ba_fin_start);
			set_int(t, "ABRstStart", f->tcp.ab_rst_start);
			set_int(t, "BARstStart", f->tcp.ba_rst_start);
		}
		json_object_set_new(o, "TCPMetric", t);
	}
	if (f->has_ip) {
		json_t *t = json_object();
		set_int(t, "Fragments", f->ip.fragments);
		set_int(t, "FragmentErrors", f->ip.fragment_errors);
		json_object_set_new(o, "IPMetric", t);
	}
	json_object_set_new(o, "Start", json_integer(f->start));
	json_object_set_new(o, "Last", json_integer(f->last));
	fmt_hex_u64(hex, f->l2);
	set_str(o, "TrackingID", hex);
	fmt_hex_u64(hex, f->l3);
	set_str(o, "L3TrackingID", hex);
	if (f->parent)
		fmt_hex_u64(hex, f->parent);
	json_object_set_new(o, "ParentUUID", json_string(f->parent ? hex : ""));
	set_str(o, "NodeTID", str[FREC_S_NODE]);
	set_str(o, "CaptureID", str[FREC_S_CAPTURE]);
	json_object_set_new(o, "RawPacketsCaptured", json_integer(f->raw_captured));
	if (f->finish)
		set_str(o, "FinishType", flow_finish_name(f->finish));
	return o;
}

/* ---- typed field access --------------------------------------------------------------
 * What rec_to_json would give for one dotted key, without building the object: the same
 * names, the same omissions (zero counters, empty strings), so a predicate tested here
 * and on the JSON agrees. Keep the two together. */

static int fv_int(struct gremlin_fval *o, int64_t v)
{
	o->kind = GREMLIN_FV_INT;
	o->i = v;
	return 1;
}

static int fv_str(struct gremlin_fval *o, const char *s)
{
	if (!s || !*s)
		return 0;
	o->kind = GREMLIN_FV_STR;
	o->s = s;
	return 1;
}

static int fv_obj(struct gremlin_fval *o)
{
	o->kind = GREMLIN_FV_OBJ;
	return 1;
}

static int fv_hex(struct gremlin_fval *o, uint64_t v)
{
	fmt_hex_u64(o->buf, v);
	return fv_str(o, o->buf);
}

/* A FlowMetric's field (nonzero only; RTT only in Metric); sub NULL: the object. */
static int metric_field(const struct flow_rec *f, int lu, const char *sub, struct gremlin_fval *o)
{
	if (!sub)
		return fv_obj(o);
	int64_t v;
	if (!strcmp(sub, "ABPackets"))
		v = (int64_t)(lu ? f->lu_abp : f->abp);
	else if (!strcmp(sub, "ABBytes"))
		v = (int64_t)(lu ? f->lu_abb : f->abb);
	else if (!strcmp(sub, "BAPackets"))
		v = (int64_t)(lu ? f->lu_bap : f->bap);
	else if (!strcmp(sub, "BABytes"))
		v = (int64_t)(lu ? f->lu_bab : f->bab);
	else if (!strcmp(sub, "Start"))
		v = lu ? f->lu_start : f->start;
	else if (!strcmp(sub, "Last"))
		v = lu ? f->lu_last : f->last;
	else if (!strcmp(sub, "RTT") && !lu)
		v = f->rtt_ns;
	else
		return 0;
	return v ? fv_int(o, v) : 0;
}

/* TCPMetric 9-22 (ReassembleTCP), Skydive's names (flow/flow.proto). */
static int stream_field(const struct flow_tcp_metric *t, const char *sub, int64_t *v)
{
	int d = !strncmp(sub, "AB", 2) ? 0 : !strncmp(sub, "BA", 2) ? 1 : -1;
	if (d < 0)
		return 0;
	const struct flow_tcp_stream *s = &t->seg[d];
	const char *k = sub + 2;
	if (!strcmp(k, "SegmentOutOfOrder"))
		*v = s->out_of_order;
	else if (!strcmp(k, "SegmentSkipped"))
		*v = s->skipped;
	else if (!strcmp(k, "SegmentSkippedBytes"))
		*v = (int64_t)s->skipped_bytes;
	else if (!strcmp(k, "Packets"))
		*v = s->packets;
	else if (!strcmp(k, "Bytes"))
		*v = (int64_t)s->bytes;
	else if (!strcmp(k, "SawStart"))
		*v = s->saw_start;
	else if (!strcmp(k, "SawEnd"))
		*v = s->saw_end;
	else
		return 0;
	return 1;
}

static void streams_json(json_t *t, const struct flow_tcp_metric *m)
{
	static const char *const k[] = {"SegmentOutOfOrder", "SegmentSkipped",
					"SegmentSkippedBytes", "Packets", "Bytes", "SawStart",
					"SawEnd"};
	char name[32];
	for (int d = 0; d < 2; d++)
		for (size_t i = 0; i < ARRAY_SIZE(k); i++) {
			int64_t v = 0;
			snprintf(name, sizeof(name), "%s%s", d ? "BA" : "AB", k[i]);
			stream_field(m, name, &v);
			set_int(t, name, v);
		}
}

static int tcp_field(const struct flow_tcp_metric *t, const char *sub, struct gremlin_fval *o)
{
	static const struct {
		const char *k;
		size_t off;
	} tf[] = {
	    {"ABSynStart", offsetof(struct flow_tcp_metric, ab_syn_start)},
	    {"BASynStart", offsetof(struct flow_tcp_metric, ba_syn_start)},
	    {"ABFinStart", offsetof(struct flow_tcp_metric, ab_fin_start)},
	    {"BAFinStart", offsetof(struct flow_tcp_metric, ba_fin_start)},
	    {"ABRstStart", offsetof(struct flow_tcp_metric, ab_rst_start)},
	    {"BARstStart", offsetof(struct flow_tcp_metric, ba_rst_start)},
	};
	if (!sub)
		return fv_obj(o);
	int64_t sv;
	if (stream_field(t, sub, &sv))
		return sv ? fv_int(o, sv) : 0;
	if (!strcmp(sub, "ABSynTTL"))
		return t->ab_syn_ttl ? fv_int(o, t->ab_syn_ttl) : 0;
	if (!strcmp(sub, "BASynTTL"))
		return t->ba_syn_ttl ? fv_int(o, t->ba_syn_ttl) : 0;
	for (size_t i = 0; i < ARRAY_SIZE(tf); i++)
		if (!strcmp(sub, tf[i].k)) {
			int64_t v = *(const int64_t *)(const void *)((const char *)t + tf[i].off);
			return v ? fv_int(o, v) : 0;
		}
	return 0;
}

/* Link or Network: sub A, B, ID, Protocol; NULL: A and B (either end). */
static int layer_field(const struct flow_rec *f, int net, const char *sub,
		       struct gremlin_fval *o, int max)
{
	int n = 0;
	int a = !sub || !strcmp(sub, "A"), b = !sub || !strcmp(sub, "B");
	if (a && n < max) {
		if (net)
			fmt_ip(o[n].buf, f->ip_ver, f->net_a);
		else
			fmt_mac(o[n].buf, f->link_a);
		n += fv_str(&o[n], o[n].buf);
	}
	if (b && n < max) {
		if (net)
			fmt_ip(o[n].buf, f->ip_ver, f->net_b);
		else
			fmt_mac(o[n].buf, f->link_b);
		n += fv_str(&o[n], o[n].buf);
	}
	if (!sub || a || b)
		return n;
	if (!strcmp(sub, "ID")) {
		int64_t id = net ? (int64_t)f->net_id : (int64_t)f->link_id;
		return id ? fv_int(o, id) : 0;
	}
	if (!strcmp(sub, "Protocol"))
		return fv_str(o, flow_proto_name(net ? (f->ip_ver == 4 ? FLOW_PROTO_IPV4
								      : FLOW_PROTO_IPV6)
						   : FLOW_PROTO_ETHERNET));
	return 0;
}

int flow_rec_field(const struct flow_rec *f, const char *const str[], const char *key,
		   struct gremlin_fval *o, int max)
{
	char top[24];
	const char *dot = strchr(key, '.'), *sub = dot ? dot + 1 : NULL;
	size_t tl = dot ? (size_t)(dot - key) : strlen(key);
	if (max <= 0 || tl >= sizeof(top))
		return 0;
	memcpy(top, key, tl);
	top[tl] = 0;
	if (sub) { /* only the objects below have sub-keys */
		if (strcmp(top, "Link") && strcmp(top, "Network") && strcmp(top, "Transport") &&
		    strcmp(top, "ICMP") && strcmp(top, "Metric") && strcmp(top, "LastUpdateMetric") &&
		    strcmp(top, "TCPMetric") && strcmp(top, "IPMetric") &&
		    strcmp(top, "DNS") && strcmp(top, "DHCPv4"))
			return 0;
	}
	if (sub && (!strcmp(top, "DNS") || !strcmp(top, "DHCPv4"))) {
		/* extra layers (flow/flow.go GetFieldString/GetFieldInt64) */
		uint8_t xl[XL_BLOB_MAX];
		int is_str;
		int64_t iv;
		long xn = str[FREC_S_LAYERS] && *str[FREC_S_LAYERS]
			      ? xlayer_unescape(xl, sizeof(xl), str[FREC_S_LAYERS])
			      : -1;
		if (xn <= 0 || !xlayer_field(xl, (size_t)xn, key, &is_str, &iv, o->buf, sizeof(o->buf)))
			return 0;
		if (!is_str)
			return fv_int(o, iv);
		o->kind = GREMLIN_FV_STR;
		o->s = o->buf;
		return 1;
	}
	switch (top[0]) {
	case 'A':
		if (!strcmp(top, "Application"))
			return fv_str(o, str[FREC_S_APP]);
		break;
	case 'C':
		if (!strcmp(top, "CaptureID"))
			return fv_str(o, str[FREC_S_CAPTURE]);
		break;
	case 'F':
		if (!strcmp(top, "FinishType"))
			return f->finish ? fv_str(o, flow_finish_name(f->finish)) : 0;
		break;
	case 'I':
		if (!strcmp(top, "IPMetric") && f->has_ip) {
			if (!sub)
				return fv_obj(o);
			int64_t v = !strcmp(sub, "Fragments")        ? f->ip.fragments
				    : !strcmp(sub, "FragmentErrors") ? f->ip.fragment_errors
								     : 0;
			return v ? fv_int(o, v) : 0;
		}
		if (!strcmp(top, "ICMP") && f->icmp_ver) {
			if (!sub)
				return fv_obj(o);
			if (!strcmp(sub, "Type"))
				return f->icmp_type ? fv_str(o, flow_icmp_type_name(f->icmp_type)) : 0;
			if (!strcmp(sub, "Code"))
				return f->icmp_code ? fv_int(o, f->icmp_code) : 0;
			if (!strcmp(sub, "ID"))
				return f->icmp_id ? fv_int(o, f->icmp_id) : 0;
		}
		break;
	case 'L':
		if (!strcmp(top, "Last"))
			return fv_int(o, f->last);
		if (!strcmp(top, "LayersPath"))
			return fv_str(o, str[FREC_S_PATH]);
		if (!strcmp(top, "Link"))
			return f->has_link ? layer_field(f, 0, sub, o, max) : 0;
		if (!strcmp(top, "LastUpdateMetric"))
			return metric_field(f, 1, sub, o);
		if (!strcmp(top, "L3TrackingID"))
			return fv_hex(o, f->l3);
		break;
	case 'M':
		if (!strcmp(top, "Metric"))
			return metric_field(f, 0, sub, o);
		break;
	case 'N':
		if (!strcmp(top, "Network"))
			return f->ip_ver ? layer_field(f, 1, sub, o, max) : 0;
		if (!strcmp(top, "NodeTID"))
			return fv_str(o, str[FREC_S_NODE]);
		break;
	case 'P':
		if (!strcmp(top, "ParentUUID")) {
			/* always there, "" without a parent */
			if (!f->parent) {
				o->kind = GREMLIN_FV_STR;
				o->s = "";
				return 1;
			}
			return fv_hex(o, f->parent);
		}
		break;
	case 'R':
		if (!strcmp(top, "RawPacketsCaptured"))
			return fv_int(o, f->raw_captured);
		break;
	case 'S':
		if (!strcmp(top, "Start"))
			return fv_int(o, f->start);
		break;
	case 'T':
		if (!strcmp(top, "TrackingID"))
			return fv_hex(o, f->l2);
		if (!strcmp(top, "TCPMetric"))
			return f->has_tcp ? tcp_field(&f->tcp, sub, o) : 0;
		if (!strcmp(top, "Transport") && f->tproto) {
			int n = 0;
			if (!sub || !strcmp(sub, "A"))
				n += f->tp_a ? fv_int(&o[n], f->tp_a) : 0;
			if ((!sub || !strcmp(sub, "B")) && n < max)
				n += f->tp_b ? fv_int(&o[n], f->tp_b) : 0;
			if (sub && !strcmp(sub, "Protocol"))
				n = fv_str(o, flow_proto_name(f->tproto));
			return n;
		}
		break;
	case 'U':
		if (!strcmp(top, "UUID"))
			return fv_hex(o, f->uuid);
		break;
	}
	return 0;
}

/* ---- queries ------------------------------------------------------------------- *
 * Flows(): the store selects by time window, capture node and the pushed-down exact
 * filters (struct qpred); the Gremlin evaluator applies every filter again, so what
 * is pushed down only has to be a superset. Flows come from the log (sealed blocks and
 * the active block, read without the store's lock) and from memory (the newest state
 * of every flow it still holds); memory wins for a UUID it has. JSON is built only
 * for the flows returned. */

struct qpred {
	struct seg_pred p;
	uint64_t keys[SEG_PRED_GROUPS][16];
	int has_window;
	int64_t from, to;
};

static int parse_uuid(const char *s, uint64_t *out);

/* The key of Flows(k, v) for an exact value the summaries know; 0 when none. */
static int filter_key(const char *k, const json_t *v, uint64_t *key)
{
	const char *sv = json_string_value(v);
	uint64_t u;
	if (!strcmp(k, "UUID") || !strcmp(k, "TrackingID") || !strcmp(k, "L3TrackingID")) {
		if (!sv || parse_uuid(sv, &u))
			return 0;
		char tag = k[0] == 'U' ? SEG_TAG_UUID : k[0] == 'T' ? SEG_TAG_L2 : SEG_TAG_L3;
		*key = seg_key_u64(tag, u);
		return 1;
	}
	if (!strcmp(k, "NodeTID") || !strcmp(k, "Application")) {
		if (!sv)
			return 0;
		*key = seg_key_str(k[0] == 'N' ? SEG_TAG_NODE : SEG_TAG_APP, sv);
		return 1;
	}
	if (!strcmp(k, "Network") || !strcmp(k, "Network.A") || !strcmp(k, "Network.B")) {
		uint8_t ip[16] = {0};
		if (!sv)
			return 0;
		if (inet_pton(AF_INET, sv, ip) == 1)
			*key = seg_key_ip(4, ip);
		else if (inet_pton(AF_INET6, sv, ip) == 1)
			*key = seg_key_ip(6, ip);
		else
			return 0;
		return 1;
	}
	if (!strcmp(k, "Transport") || !strcmp(k, "Transport.A") || !strcmp(k, "Transport.B")) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)
			return 0;
		*key = seg_key_u64(SEG_TAG_PORT, (uint64_t)json_integer_value(v));
		return 1;
	}
	return 0;
}

static void qpred_build(struct qpred *q, const json_t *filters, const json_t *nodes,
			int64_t at_ms, int64_t duration_ms)
{
	memset(q, 0, sizeof(*q));
	if (at_ms) {
		q->has_window = 1;
		q->from = at_ms - duration_ms;
		q->to = at_ms;
		q->p.from = q->from;
		q->p.to = q->to;
	}
	size_t nf = json_array_size(filters);
	if (nf % 2 == 0)
		for (size_t i = 0; i + 1 < nf && q->p.ngroups < SEG_PRED_GROUPS; i += 2) {
			const char *k = json_string_value(json_array_get(filters, i));
			uint64_t key;
			if (k && filter_key(k, json_array_get(filters, i + 1), &key)) {
				size_t g = q->p.ngroups++;
				q->keys[g][0] = key;
				q->p.g[g].keys = q->keys[g];
				q->p.g[g].n = 1;
			}
		}
	if (nodes && q->p.ngroups < SEG_PRED_GROUPS && json_array_size(nodes) <= 16) {
		size_t g = q->p.ngroups++;
		size_t i;
		json_t *x;
		json_array_foreach(nodes, i, x) q->keys[g][i] = seg_key_str(SEG_TAG_NODE,
									    json_string_value(x));
		q->p.g[g].keys = q->keys[g];
		q->p.g[g].n = json_array_size(nodes);
	}
}

/* Does a record (with its strings) pass the window, the nodes and the exact keys? */
static int rec_wanted(const struct qpred *q, const json_t *nodes, const struct flow_rec *r,
		      const char *const str[FREC_NSTR])
{
	if (q->has_window && (r->start > q->to || r->last < q->from))
		return 0;
	if (nodes) {
		size_t i;
		json_t *x;
		int hit = 0;
		json_array_foreach(nodes, i, x)
		{
			if (json_is_string(x) && !strcmp(json_string_value(x), str[FREC_S_NODE])) {
				hit = 1;
				break;
			}
		}
		if (!hit)
			return 0;
	}
	if (!q->p.ngroups)
		return 1;
	uint64_t k[SEG_FLOW_KEYS_MAX];
	size_t nk = seg_flow_keys(r, str, k);
	for (size_t g = 0; g < q->p.ngroups; g++) {
		int any = 0;
		for (size_t i = 0; i < q->p.g[g].n && !any; i++)
			for (size_t j = 0; j < nk && !any; j++)
				any = k[j] == q->p.g[g].keys[i];
		if (!any)
			return 0;
	}
	return 1;
}

/* The newest state per UUID of what a query found: records (strings as ids of the
 * query's own dictionary) in first-seen order, an index by UUID. */
struct cand {
	struct flow_rec *v;
	size_t n, cap;
	uint32_t *slot; /* index + 1 */
	size_t nslot;
	struct frec_dict dict;
	const struct qpred *q;
	const json_t *nodes;
	int oom;
};

static size_t cand_hash(uint64_t u, size_t nslot)
{
	return (size_t)((u * 0x9e3779b97f4a7c15ull) >> 17) & (nslot - 1);
}

static int cand_grow(struct cand *c)
{
	size_t ns = c->nslot ? c->nslot * 2 : 1024;
	uint32_t *sl = calloc(ns, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	for (size_t i = 0; i < c->n; i++) {
		size_t h = cand_hash(c->v[i].uuid, ns);
		while (sl[h])
			h = (h + 1) & (ns - 1);
		sl[h] = (uint32_t)i + 1;
	}
	free(c->slot);
	c->slot = sl;
	c->nslot = ns;
	return 0;
}

/* Keeps r (strings in d) when it is the newest state of its UUID seen so far. */
static int cand_put(struct cand *c, const struct flow_rec *r, const char *const str[FREC_NSTR])
{
	if ((c->n + 1) * 2 > c->nslot && cand_grow(c))
		return -ENOMEM;
	size_t h = cand_hash(r->uuid, c->nslot);
	while (c->slot[h] && c->v[c->slot[h] - 1].uuid != r->uuid)
		h = (h + 1) & (c->nslot - 1);
	struct flow_rec *d;
	if (c->slot[h]) {
		d = &c->v[c->slot[h] - 1];
		/* later records are newer (log order); equal Last: the later one */
		if (r->last < d->last)
			return 0;
	} else {
		if (c->n == c->cap) {
			size_t nc = c->cap ? c->cap * 2 : 256;
			struct flow_rec *nv = realloc(c->v, nc * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			c->v = nv;
			c->cap = nc;
		}
		d = &c->v[c->n++];
		c->slot[h] = (uint32_t)c->n;
	}
	*d = *r;
	for (int k = 0; k < FREC_NSTR; k++) {
		int id = frec_dict_add(&c->dict, str[k]);
		if (id < 0)
			return -ENOMEM;
		d->str[k] = (uint16_t)id;
	}
	return 0;
}

/* Appends r without looking for its UUID: memory holds one state per UUID (a newer one
 * replaces it), so its part needs no index. cap reserved by the caller. */
static int cand_append(struct cand *c, const struct flow_rec *r, const char *const str[FREC_NSTR])
{
	if (c->n == c->cap)
		return -ENOMEM;
	struct flow_rec *d = &c->v[c->n++];
	*d = *r;
	for (int k = 0; k < FREC_NSTR; k++) {
		int id = frec_dict_add(&c->dict, str[k]);
		if (id < 0)
			return -ENOMEM;
		d->str[k] = (uint16_t)id;
	}
	return 0;
}

static int cand_flows(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	struct cand *c = user;
	for (size_t i = 0; i < n; i++) {
		if (c->q->p.ingest_from && r[i].ingest < c->q->p.ingest_from)
			continue;
		const char *str[FREC_NSTR];
		for (int k = 0; k < FREC_NSTR; k++)
			str[k] = frec_dict_get(d, r[i].str[k]);
		if (rec_wanted(c->q, c->nodes, &r[i], str) && cand_put(c, &r[i], str))
			return -ENOMEM;
	}
	return 0;
}

static void cand_free(struct cand *c)
{
	free(c->v);
	free(c->slot);
	frec_dict_free(&c->dict);
}

static const char *cand_str(const struct cand *c, const struct flow_rec *r, int k)
{
	return frec_dict_get(&c->dict, r->str[k]);
}

/* A selection: the newest state of each UUID found, disk part then memory part, and
 * pointers to the records in that order (a UUID memory has is dropped from the disk
 * part). */
struct flow_store_sel {
	struct cand disk, mem;
	struct qpred q;
	const struct flow_rec **recs;
	size_t n;
	/* the record a want callback is testing, and its strings */
	const struct flow_rec *probe_rec;
	const char *const *probe_str;
};

void flow_store_sel_free(struct flow_store_sel *r)
{
	if (!r)
		return;
	cand_free(&r->disk);
	cand_free(&r->mem);
	free(r->recs);
	free(r);
}

static void sel_strs(const struct flow_store_sel *r, const struct flow_rec *x,
		     const char *str[FREC_NSTR]);

int flow_store_select(struct flow_store *s, const json_t *filters, const json_t *nodes,
		      int64_t at_ms, int64_t duration_ms, gremlin_flow_want_fn want, void *wuser,
		      struct flow_store_sel **out)
{
	struct flow_store_sel *r = calloc(1, sizeof(*r));
	*out = NULL;
	if (!r)
		return -ENOMEM;
	struct qpred *q = &r->q;
	qpred_build(q, filters, nodes, at_ms, duration_ms);
	/* Without At(), what memory would hold (received within analyzer.flow.max_age),
	 * as before the log: the log gives it back after a restart. With At(), the log's
	 * whole history. */
	if (!at_ms && s->o.max_age_ms > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		q->p.ingest_from = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - s->o.max_age_ms;
	}
	/* a query's dictionary has 16-bit ids like a block's: an answer with more than
	 * 65535 distinct strings fails (out of memory) */
	r->disk.q = r->mem.q = q;
	r->disk.nodes = r->mem.nodes = nodes;
	r->disk.dict.max = r->mem.dict.max = UINT16_MAX;
	r->disk.dict.max_bytes = r->mem.dict.max_bytes = SIZE_MAX;
	int rc = 0;
	if (s->ch) {
		/* the live view (no At) is memory's: the agents report each live flow every
		 * flow.update, also after a restart; history is ClickHouse's */
		if (at_ms) {
			char err[256];
			rc = ch_scan(s->ch, &q->p, 1, cand_flows, &r->disk, err, sizeof(err));
			if (rc) {
				log_warn("store: %s", err);
				pthread_mutex_lock(&s->lock);
				snprintf(s->read_err, sizeof(s->read_err), "%s", err);
				pthread_mutex_unlock(&s->lock);
			}
		}
	} else if (s->log) {
		rc = seglog_scan(s->log, &q->p, cand_flows, NULL, &r->disk, NULL);
	}
	if (!rc) {
		pthread_mutex_lock(&s->lock);
		/* what memory holds is newer than anything the log gave */
		for (size_t i = 0; i < r->disk.n; i++)
			if (*find_slot(s, r->disk.v[i].uuid))
				r->disk.v[i].uuid = 0, r->disk.v[i].last = INT64_MIN; /* dropped */
		if (s->n && !(r->mem.v = malloc(s->n * sizeof(*r->mem.v))))
			rc = -ENOMEM;
		r->mem.cap = s->n;
		for (const struct fs_flow *f = s->head; f && !rc; f = f->next) {
			const char *str[FREC_NSTR];
			for (int k = 0; k < FREC_NSTR; k++)
				str[k] = strtab_get(&s->strs, f->sid[k]);
			if (!rec_wanted(q, nodes, &f->r, str))
				continue;
			if (want) {
				/* memory has one state per UUID: testing it now is testing the
				 * answer, and saves copying what the Has() steps drop */
				r->probe_rec = &f->r;
				r->probe_str = str;
				int ok = want(wuser, r, &f->r);
				r->probe_rec = NULL;
				if (!ok)
					continue;
			}
			rc = cand_append(&r->mem, &f->r, str);
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (!rc && !(r->recs = malloc((r->disk.n + r->mem.n + 1) * sizeof(*r->recs))))
		rc = -ENOMEM;
	if (rc) {
		flow_store_sel_free(r);
		return rc < 0 ? rc : -EIO;
	}
	/* without At(): the live view only (flow_store_set_live) */
	void *lq = !at_ms && s->live.begin ? s->live.begin(s->live.user) : NULL;
	if (!at_ms && s->live.begin && !lq) {
		flow_store_sel_free(r);
		return -ENOMEM;
	}
	struct cand *parts[2] = {&r->disk, &r->mem};
	for (int p = 0; p < 2; p++)
		for (size_t i = 0; i < parts[p]->n; i++) {
			const struct flow_rec *x = &parts[p]->v[i];
			if (!x->uuid && x->last == INT64_MIN)
				continue;
			if (lq) {
				const char *str[FREC_NSTR];
				sel_strs(r, x, str);
				if (!s->live.test(lq, x, str))
					continue;
			}
			r->recs[r->n++] = x;
		}
	if (lq)
		s->live.end(lq);
	/* the records are copied: the filters and nodes are not needed after this */
	r->disk.nodes = r->mem.nodes = NULL;
	*out = r;
	return 0;
}

void flow_store_set_live(struct flow_store *s, const struct flow_store_live *l)
{
	pthread_mutex_lock(&s->lock);
	s->live = l ? *l : (struct flow_store_live){0};
	pthread_mutex_unlock(&s->lock);
}

size_t flow_store_sel_count(const struct flow_store_sel *r)
{
	return r->n;
}

const struct flow_rec *flow_store_sel_rec(const struct flow_store_sel *r, size_t i)
{
	return r->recs[i];
}

/* Strings of a record of the selection (from the dictionary of its part). */
static void sel_strs(const struct flow_store_sel *r, const struct flow_rec *x,
		     const char *str[FREC_NSTR])
{
	if (x == r->probe_rec) {
		for (int k = 0; k < FREC_NSTR; k++)
			str[k] = r->probe_str[k];
		return;
	}
	/* no arithmetic on an empty part's NULL array (UB) */
	const struct cand *c =
	    r->disk.n && x >= r->disk.v && x < r->disk.v + r->disk.n ? &r->disk : &r->mem;
	for (int k = 0; k < FREC_NSTR; k++)
		str[k] = cand_str(c, x, k);
}

const char *flow_store_sel_str(const struct flow_store_sel *r, const struct flow_rec *x, int k)
{
	const char *str[FREC_NSTR];
	sel_strs(r, x, str);
	return k >= 0 && k < FREC_NSTR ? str[k] : "";
}

json_t *flow_store_sel_json(const struct flow_store_sel *r, const struct flow_rec *x)
{
	const char *str[FREC_NSTR];
	sel_strs(r, x, str);
	return rec_to_json(x, str);
}

int flow_store_sel_field(const struct flow_store_sel *r, const struct flow_rec *x,
			 const char *key, struct gremlin_fval *out, int max)
{
	const char *str[FREC_NSTR];
	sel_strs(r, x, str);
	return flow_rec_field(x, str, key, out, max);
}

int flow_store_scan(struct flow_store *s, const json_t *filters, const json_t *nodes,
		    int64_t at_ms, int64_t duration_ms, flow_store_scan_fn fn, void *user)
{
	struct flow_store_sel *r;
	int rc = flow_store_select(s, filters, nodes, at_ms, duration_ms, NULL, NULL, &r);
	for (size_t i = 0; !rc && i < r->n; i++) {
		const char *str[FREC_NSTR];
		sel_strs(r, r->recs[i], str);
		rc = fn(user, r->recs[i], str);
	}
	flow_store_sel_free(r);
	return rc;
}

/* The JSON answer: the one place records become flow objects in bulk. */
static json_t *query(struct flow_store *s, const json_t *filters, const json_t *nodes,
		     int64_t at_ms, int64_t duration_ms, struct gremlin_error *err)
{
	struct flow_store_sel *r;
	json_t *out = NULL;
	if (!flow_store_select(s, filters, nodes, at_ms, duration_ms, NULL, NULL, &r) &&
	    (out = json_array()))
		for (size_t i = 0; i < r->n; i++)
			if (json_array_append_new(out, flow_store_sel_json(r, r->recs[i]))) {
				json_decref(out);
				out = NULL;
				break;
			}
	flow_store_sel_free(r);
	if (!out)
		snprintf(err->msg, sizeof(err->msg), "out of memory building the flows");
	return out;
}

json_t *flow_store_query(struct flow_store *s, const json_t *node_tids, int64_t at_ms,
			 int64_t duration_ms, struct gremlin_error *err)
{
	return query(s, NULL, node_tids, at_ms, duration_ms, err);
}

json_t *flow_store_query_filtered(struct flow_store *s, const json_t *filters,
				  const json_t *node_tids, int64_t at_ms, int64_t duration_ms,
				  struct gremlin_error *err)
{
	return query(s, filters, node_tids, at_ms, duration_ms, err);
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
	/* The agent's form, 1 to 16 hex digits, without strtoull: it was 15% of ingest
	 * (four IDs per flow state); by a table, since a branch on digit-or-letter
	 * mispredicts half the time on random hex. Anything else (a sign, "0x", spaces)
	 * takes the strtoull path below, so what is accepted does not change. */
	static const uint8_t hexv[256] = {
	    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
	    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16}; /* digit + 1, 0 = not hex */
	uint64_t v16 = 0;
	size_t i = 0;
	for (; i < 16; i++) {
		unsigned d = hexv[(unsigned char)s[i]];
		if (!d)
			break;
		v16 = v16 << 4 | (d - 1);
	}
	if (i && !s[i]) {
		*out = v16;
		return 0;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (*end || errno)
		return -1;
	*out = v;
	return 0;
}

static json_t *raw_json(int64_t ts_ns, uint32_t index, uint32_t linktype, const uint8_t *data,
			uint32_t caplen, uint32_t wirelen)
{
	json_t *d = b64_json(data, caplen);
	json_t *o = d ? json_pack("{s:I,s:I,s:o,s:I}", "Timestamp",
				  (json_int_t)(ts_ns / (int64_t)NS_PER_MS), "Index", (json_int_t)index,
				  "Data", d, "LinkType", (json_int_t)linktype)
		      : NULL;
	/* Skydive's four fields, then ours when they say more: the time in ns and the
	 * length on the wire (a PCAP from them keeps both) */
	if (o && ts_ns % (int64_t)NS_PER_MS)
		json_object_set_new(o, "TimestampNs", json_integer(ts_ns));
	if (o && wirelen != caplen)
		json_object_set_new(o, "WireLen", json_integer(wirelen));
	return o;
}

/* RawPackets() from the log: the wanted UUIDs (hex -> their packet array). */
struct rawq {
	json_t *by_uuid; /* {"<UUID>": [packets]} in the order of the flows asked */
	uint64_t *uuids; /* sorted */
	size_t n;
};

static int rawq_fn(void *user, const struct raw_rec *h, const uint8_t *const *pkt, size_t n)
{
	struct rawq *q = user;
	for (size_t i = 0; i < n; i++) {
		if (!bsearch(&h[i].uuid, q->uuids, q->n, sizeof(*q->uuids), u64_cmp_fs))
			continue;
		char hex[17];
		fmt_hex_u64(hex, h[i].uuid);
		json_t *l = json_object_get(q->by_uuid, hex);
		json_t *o = raw_json(h[i].ts_ns, h[i].index, h[i].linktype, pkt[i], h[i].caplen,
				     h[i].wirelen);
		if (!l || !o || json_array_append_new(l, o))
			return -ENOMEM;
	}
	return 0;
}

/* Scans the log for the states and raw packets of the n flows uuids: their UUID keys
 * as the one predicate group the block summaries are tested against. 0, -ENOMEM or
 * what a callback returned. */
static int log_scan_uuids(struct flow_store *s, const uint64_t *uuids, size_t n,
			  seg_flows_fn ff, seg_raw_fn rf, void *user)
{
	if (!n)
		return 0;
	uint64_t *keys = malloc(n * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		keys[i] = seg_key_u64(SEG_TAG_UUID, uuids[i]);
	struct seg_pred p = {.ngroups = 1};
	p.g[0].keys = keys;
	p.g[0].n = n;
	int rc = 0;
	if (s->ch && ff) {
		char err[256];
		if ((rc = ch_scan(s->ch, &p, 0, ff, user, err, sizeof(err))))
			log_warn("store: %s", err);
		ff = NULL;
	}
	if (!rc && s->log && (ff || rf))
		rc = seglog_scan(s->log, &p, ff, rf, user, NULL);
	free(keys);
	return rc;
}

static json_t *raw_from_log(struct flow_store *s, const json_t *flows)
{
	struct rawq q = {.by_uuid = json_object()};
	size_t i;
	json_t *fj, *out = NULL;
	if (!q.by_uuid || !(q.uuids = malloc((json_array_size(flows) + 1) * sizeof(*q.uuids))))
		goto out;
	json_array_foreach(flows, i, fj)
	{
		const char *us = json_string_value(json_object_get(fj, "UUID"));
		uint64_t uuid;
		if (parse_uuid(us, &uuid) || json_object_get(q.by_uuid, us))
			continue;
		char hex[17];
		fmt_hex_u64(hex, uuid);
		if (json_object_set_new(q.by_uuid, hex, json_array()))
			goto out;
		q.uuids[q.n++] = uuid;
	}
	qsort(q.uuids, q.n, sizeof(*q.uuids), u64_cmp_fs);
	if (log_scan_uuids(s, q.uuids, q.n, NULL, rawq_fn, &q))
		goto out;
	if (!(out = json_array()))
		goto out;
	const char *k;
	json_t *l;
	json_object_foreach(q.by_uuid, k, l)
	{
		if (!json_array_size(l))
			continue;
		json_t *e = json_pack("{s:O}", k, l);
		if (!e || json_array_append_new(out, e)) {
			json_decref(out);
			out = NULL;
			break;
		}
	}
out:
	json_decref(q.by_uuid);
	free(q.uuids);
	return out;
}

json_t *flow_store_raw_packets(struct flow_store *s, const json_t *flows)
{
	if (s->log)
		return raw_from_log(s, flows);
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
			json_t *o = raw_json(r->ts_ns, r->index, r->linktype, r->data, r->len,
					     r->wirelen);
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

/* ---- typed raw packets --------------------------------------------------------------- */

struct flow_store_rawset {
	struct gremlin_raw_pkt *p; /* data: offsets into buf until the set is complete */
	size_t n, cap;
	uint32_t *ord; /* per packet: position of its flow in the request (log scans) */
	uint8_t *buf;
	size_t blen, bcap;
};

struct rawsel_key {
	uint64_t uuid;
	uint32_t ord;
};

static int rawsel_key_cmp(const void *a, const void *b)
{
	const struct rawsel_key *x = a, *y = b;
	return x->uuid < y->uuid ? -1 : x->uuid > y->uuid;
}

static int rawset_add(struct flow_store_rawset *r, uint64_t uuid, int64_t ts_ns, uint32_t index,
		      uint32_t linktype, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		      uint32_t ord)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		struct gremlin_raw_pkt *np = realloc(r->p, nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		r->p = np;
		uint32_t *no = realloc(r->ord, nc * sizeof(*no));
		if (!no)
			return -ENOMEM;
		r->ord = no;
		r->cap = nc;
	}
	if (r->blen + caplen > r->bcap) {
		size_t nc = r->bcap ? r->bcap * 2 : 65536;
		while (nc < r->blen + caplen)
			nc *= 2;
		uint8_t *nb = realloc(r->buf, nc);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->bcap = nc;
	}
	memcpy(r->buf + r->blen, data, caplen);
	r->ord[r->n] = ord;
	r->p[r->n++] = (struct gremlin_raw_pkt){.uuid = uuid, .ts_ns = ts_ns, .index = index,
						.linktype = linktype, .caplen = caplen,
						.wirelen = wirelen,
						.data = (const uint8_t *)(uintptr_t)r->blen};
	r->blen += caplen;
	return 0;
}

struct rawsel {
	struct flow_store_rawset *r;
	struct rawsel_key *keys; /* sorted by uuid */
	size_t n;
};

static int rawsel_fn(void *user, const struct raw_rec *h, const uint8_t *const *pkt, size_t n)
{
	struct rawsel *q = user;
	for (size_t i = 0; i < n; i++) {
		struct rawsel_key k = {.uuid = h[i].uuid};
		const struct rawsel_key *f = bsearch(&k, q->keys, q->n, sizeof(k), rawsel_key_cmp);
		if (f && rawset_add(q->r, h[i].uuid, h[i].ts_ns, h[i].index, h[i].linktype, pkt[i],
				    h[i].caplen, h[i].wirelen, f->ord))
			return -ENOMEM;
	}
	return 0;
}

static int rawsel_ord_cmp(const void *a, const void *b)
{
	const struct rawsel_key *x = a, *y = b;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

int flow_store_raw_select(struct flow_store *s, const char *const *uuids, size_t n,
			  struct flow_store_rawset **out)
{
	*out = NULL;
	struct flow_store_rawset *r = calloc(1, sizeof(*r));
	struct rawsel_key *keys = malloc((n + 1) * sizeof(*keys));
	uint64_t *skeys = NULL;
	int rc = -ENOMEM;
	if (!r || !keys)
		goto fail;
	size_t nk = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t u;
		if (!parse_uuid(uuids[i], &u))
			keys[nk++] = (struct rawsel_key){u, (uint32_t)nk};
	}
	qsort(keys, nk, sizeof(*keys), rawsel_key_cmp);
	size_t w = 0; /* repeated UUIDs: the first asked counts */
	for (size_t i = 0; i < nk; i++)
		if (!w || keys[w - 1].uuid != keys[i].uuid)
			keys[w++] = keys[i];
		else if (keys[i].ord < keys[w - 1].ord)
			keys[w - 1].ord = keys[i].ord;
	nk = w;
	/* dense positions 0..nk-1 in request order, then back to UUID order */
	qsort(keys, nk, sizeof(*keys), rawsel_ord_cmp);
	for (size_t i = 0; i < nk; i++)
		keys[i].ord = (uint32_t)i;
	qsort(keys, nk, sizeof(*keys), rawsel_key_cmp);
	if (s->log) {
		if (!(skeys = malloc((nk + 1) * sizeof(*skeys))))
			goto fail;
		for (size_t i = 0; i < nk; i++)
			skeys[i] = seg_key_u64(SEG_TAG_UUID, keys[i].uuid);
		struct seg_pred p = {.ngroups = 1};
		p.g[0].keys = skeys;
		p.g[0].n = nk;
		struct rawsel q = {r, keys, nk};
		if (nk && (rc = seglog_scan(s->log, &p, NULL, rawsel_fn, &q, NULL)))
			goto fail;
		/* group by flow in request order, a flow's packets in scan order: a
		 * counting sort by ord, stable */
		if (r->n) {
			size_t *start = calloc(nk + 1, sizeof(*start));
			struct gremlin_raw_pkt *np = malloc(r->n * sizeof(*np));
			if (!start || !np) {
				free(start);
				free(np);
				rc = -ENOMEM;
				goto fail;
			}
			for (size_t i = 0; i < r->n; i++)
				start[r->ord[i] + 1]++;
			for (size_t i = 0; i < nk; i++)
				start[i + 1] += start[i];
			for (size_t i = 0; i < r->n; i++)
				np[start[r->ord[i]]++] = r->p[i];
			free(start);
			free(r->p);
			r->p = np;
			r->cap = r->n;
		}
	} else {
		/* request order: the asked UUIDs by their position */
		struct rawsel_key *sorted = malloc((nk + 1) * sizeof(*sorted));
		if (!sorted)
			goto fail;
		memcpy(sorted, keys, nk * sizeof(*sorted));
		qsort(sorted, nk, sizeof(*sorted), rawsel_ord_cmp);
		pthread_mutex_lock(&s->lock);
		rc = 0;
		for (size_t i = 0; i < nk && !rc; i++) {
			const struct fs_flow *f = *find_slot(s, sorted[i].uuid);
			for (const struct fs_raw *x = f ? f->raw_head : NULL; x && !rc; x = x->next)
				rc = rawset_add(r, sorted[i].uuid, x->ts_ns, x->index, x->linktype,
						x->data, x->len, x->wirelen, (uint32_t)i);
		}
		pthread_mutex_unlock(&s->lock);
		free(sorted);
		if (rc)
			goto fail;
	}
	for (size_t i = 0; i < r->n; i++) /* offsets to pointers: buf no longer moves */
		r->p[i].data = r->buf + (uintptr_t)r->p[i].data;
	free(keys);
	free(skeys);
	*out = r;
	return 0;
fail:
	free(keys);
	free(skeys);
	flow_store_rawset_free(r);
	return rc == -EIO ? -EIO : -ENOMEM;
}

void flow_store_rawset_free(struct flow_store_rawset *r)
{
	if (!r)
		return;
	free(r->p);
	free(r->ord);
	free(r->buf);
	free(r);
}

const struct gremlin_raw_pkt *flow_store_rawset_pkts(const struct flow_store_rawset *r,
						     size_t *n)
{
	*n = r->n;
	return r->p;
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
							       u->start, u->last, u->rtt_ns));
		}
	pthread_mutex_unlock(&s->lock);
	return out;
}

/* One metric of Metrics(): the six counters, always present (zeros too), and the
 * flow's RTT (ns) at that state when it has one (Skydive's LastUpdateMetric carries
 * Metric.RTT, flow/table.go updateMetric; omitted when 0 as its omitempty). */
static json_t *metric_full(uint64_t abp, uint64_t abb, uint64_t bap, uint64_t bab, int64_t start,
			   int64_t last, int64_t rtt_ns)
{
	json_t *m = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "ABPackets", (json_int_t)abp,
			      "ABBytes", (json_int_t)abb, "BAPackets", (json_int_t)bap, "BABytes",
			      (json_int_t)bab, "Start", (json_int_t)start, "Last", (json_int_t)last);
	if (m && rtt_ns && json_object_set_new(m, "RTT", json_integer(rtt_ns))) {
		json_decref(m);
		return NULL;
	}
	return m;
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
			   jint(m, "Start"), jint(m, "Last"),
			   jint(json_object_get(fj, "Metric"), "RTT"));
}

/* Metrics() of flows memory no longer has: the LastUpdateMetric of each of their states
 * in the log, oldest first, the same window sent twice counted once, the last
 * max_updates kept ({"<UUID>": [metric, ...]}). */
struct metq {
	json_t *by_uuid;
	uint64_t *uuids; /* sorted */
	size_t n;
	unsigned max;
};

static int metq_fn(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	(void)d;
	struct metq *q = user;
	for (size_t i = 0; i < n; i++) {
		if ((!r[i].lu_abp && !r[i].lu_bap) ||
		    !bsearch(&r[i].uuid, q->uuids, q->n, sizeof(*q->uuids), u64_cmp_fs))
			continue;
		char hex[17];
		fmt_hex_u64(hex, r[i].uuid);
		json_t *l = json_object_get(q->by_uuid, hex);
		json_t *m = metric_full(r[i].lu_abp, r[i].lu_abb, r[i].lu_bap, r[i].lu_bab,
					r[i].lu_start, r[i].lu_last, r[i].rtt_ns);
		if (!l || !m) {
			json_decref(m);
			return -ENOMEM;
		}
		size_t k = json_array_size(l);
		json_t *prev = k ? json_array_get(l, k - 1) : NULL;
		if (prev && json_integer_value(json_object_get(prev, "Start")) == r[i].lu_start) {
			json_array_set_new(l, k - 1, m);
			continue;
		}
		if (k >= q->max)
			json_array_remove(l, 0);
		if (json_array_append_new(l, m))
			return -ENOMEM;
	}
	return 0;
}

static json_t *metrics_from_log(struct flow_store *s, const json_t *flows)
{
	struct metq q = {.by_uuid = json_object(), .max = s->o.max_updates};
	size_t i, nf = json_array_size(flows);
	json_t *fj;
	if (!q.by_uuid || !(q.uuids = malloc((nf + 1) * sizeof(*q.uuids))))
		goto fail;
	json_array_foreach(flows, i, fj)
	{
		const char *us = json_string_value(json_object_get(fj, "UUID"));
		uint64_t uuid;
		char hex[17];
		if (parse_uuid(us, &uuid))
			continue;
		fmt_hex_u64(hex, uuid);
		if (json_object_get(q.by_uuid, hex))
			continue;
		if (json_object_set_new(q.by_uuid, hex, json_array()))
			goto fail;
		q.uuids[q.n++] = uuid;
	}
	qsort(q.uuids, q.n, sizeof(*q.uuids), u64_cmp_fs);
	if (log_scan_uuids(s, q.uuids, q.n, metq_fn, NULL, &q))
		goto fail;
	free(q.uuids);
	return q.by_uuid;
fail:
	json_decref(q.by_uuid);
	free(q.uuids);
	return NULL;
}

json_t *flow_store_metrics(struct flow_store *s, const json_t *flows)
{
	json_t *out = json_object();
	if (!out)
		return NULL;
	/* read before taking the lock: the log's scan never runs under it */
	json_t *disk = NULL;
	if ((s->log || s->ch) && !(disk = metrics_from_log(s, flows))) {
		json_decref(out);
		return NULL;
	}
	size_t i;
	json_t *fj;
	pthread_mutex_lock(&s->lock);
	json_array_foreach(flows, i, fj)
	{
		const char *us = json_string_value(json_object_get(fj, "UUID"));
		uint64_t uuid;
		if (!us || json_object_get(out, us))
			continue;
		int known = !parse_uuid(us, &uuid);
		const struct fs_flow *f = known ? *find_slot(s, uuid) : NULL;
		json_t *l = json_array();
		if (!l)
			goto nomem;
		char hex[17];
		json_t *dl = NULL;
		if (!f && disk && known) {
			fmt_hex_u64(hex, uuid);
			dl = json_object_get(disk, hex);
		}
		if (!f && json_array_size(dl)) {
			size_t k;
			json_t *m;
			json_array_foreach(dl, k, m)
			{
				if (json_array_append(l, m))
					goto nomem_l;
			}
		} else if (!f) {
			if (json_array_append_new(l, metric_of_json(fj)))
				goto nomem_l;
		} else if (f->nupd) {
			for (unsigned k = 0; k < f->nupd; k++) {
				const struct fs_upd *u = &f->upd[k];
				if (json_array_append_new(l, metric_full(u->abp, u->abb, u->bap,
									 u->bab, u->start, u->last,
									 u->rtt_ns)))
					goto nomem_l;
			}
		} else if (f->r.lu_abp || f->r.lu_bap) {
			if (json_array_append_new(l, metric_full(f->r.lu_abp, f->r.lu_abb,
								 f->r.lu_bap, f->r.lu_bab,
								 f->r.lu_start, f->r.lu_last,
								 f->r.rtt_ns)))
				goto nomem_l;
		} else if (json_array_append_new(l, metric_full(f->r.abp, f->r.abb, f->r.bap,
							      f->r.bab, f->r.start, f->r.last,
							      f->r.rtt_ns))) {
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
	json_decref(disk);
	return out;
}

/* ---- Gremlin hooks ---------------------------------------------------------------- */

static void *ops_raw_select(void *user, const char *const *uuids, size_t nuuids,
			    const struct gremlin_raw_pkt **pkts, size_t *n,
			    struct gremlin_error *err)
{
	struct flow_store_rawset *r;
	int rc = flow_store_raw_select(user, uuids, nuuids, &r);
	if (rc) {
		snprintf(err->msg, sizeof(err->msg), "%s reading the raw packets",
			 rc == -ENOMEM ? "out of memory" : "an error");
		return NULL;
	}
	*pkts = flow_store_rawset_pkts(r, n);
	return r;
}

static void ops_raw_free(void *set)
{
	flow_store_rawset_free(set);
}

static json_t *ops_raw_json(const void *set, const struct gremlin_raw_pkt *p)
{
	(void)set;
	return raw_json(p->ts_ns, p->index, p->linktype, p->data, p->caplen, p->wirelen);
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

static void *ops_select(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
			int64_t duration_ms, gremlin_flow_want_fn want, void *wuser,
			const void *const **recs, size_t *n, struct gremlin_error *err)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	flow_store_expire(user, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	struct flow_store_sel *r;
	int rc = flow_store_select(user, filters, nodes, at_ms, duration_ms, want, wuser, &r);
	if (rc) {
		struct flow_store *s = user;
		pthread_mutex_lock(&s->lock);
		if (rc == -ENOMEM)
			snprintf(err->msg, sizeof(err->msg), "out of memory reading the flows");
		else if (s->ch && s->read_err[0])
			snprintf(err->msg, sizeof(err->msg), "flow history unavailable: %.200s",
				 s->read_err);
		else
			snprintf(err->msg, sizeof(err->msg), "an error reading the flows");
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	*recs = (const void *const *)r->recs;
	*n = r->n;
	return r;
}

static int ops_field(const void *set, const void *rec, const char *key, struct gremlin_fval *out,
		     int max)
{
	return flow_store_sel_field(set, rec, key, out, max);
}

static json_t *ops_rec_json(const void *set, const void *rec)
{
	return flow_store_sel_json(set, rec);
}

static void ops_set_free(void *set)
{
	flow_store_sel_free(set);
}

void flow_store_gremlin_ops(struct flow_store *s, struct gremlin_flow_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->select = ops_select;
	ops->field = ops_field;
	ops->rec_json = ops_rec_json;
	ops->set_free = ops_set_free;
	ops->raw_packets = ops_raw;
	ops->raw_select = ops_raw_select;
	ops->raw_free = ops_raw_free;
	ops->raw_json = ops_raw_json;
	ops->metrics = ops_metrics;
	ops->user = s;
}

struct flow_store *flow_store_from_ops(const struct gremlin_flow_ops *ops)
{
	return ops && ops->select == ops_select ? ops->user : NULL;
}
