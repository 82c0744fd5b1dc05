/* flow_table.c - flow lookup, creation, accounting, periodic update and expiry.
 *
 * Layout: a pool of struct flow reserved with mmap (untouched pages cost
 * nothing), an open-addressing index of pool slots keyed by a 64-bit XXH3 hash
 * of the flow's canonical fields, and a timing wheel of one-second buckets for
 * expiry. A packet of a known flow touches only its index entry and the
 * flow's first cache line: the wheel is not updated per packet; when a bucket
 * comes due, flows that saw packets since are moved to their new deadline.
 * Slot 0 is a sentinel: "no flow". */
#include "flow/flow_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "common/log.h"
#include "decode/decode.h"
#include "flow/flow_id.h"
#include "flow/ipdefrag.h"
#include "flow/dns_tcp.h"
#include "flow/tcp_reasm.h"
#include "flow/xlayer.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define PATH_MAX_COUNT 4096
#define PATH_INDEX_SIZE 8192 /* power of two, > 2 * PATH_MAX_COUNT */
#define INDEX_MIN 1024u
#define POOL_SMALL_PAGES (32u << 20)

#define WHEEL_SIZE 1024u
#define PIPE_SIZE 8u /* frames in flight in the prefetch pipeline, power of two */

struct pending {
	struct decode_result r;
	int n;
	int sw;
	uint64_t hkey; /* key of segment 0, 0 = none */
	uint64_t ts_ns;
	uint32_t wirelen;
}; /* seconds; longer timeouts just go round again */

enum { CLASS_DEFAULT = 0, CLASS_SHORT = 1, CLASS_FINISHED = 2, CLASS_COUNT = 3 };

struct layer_path {
	uint8_t n;
	uint8_t layers[DECODE_MAX_LAYERS];
	char *str;
};

struct flow_table {
	struct flow_table_opts o;
	flow_emit_fn emit;
	flow_raw_fn raw;
	flow_raw_flows_fn raw_flows;
	void *user;

	struct flow *pool; /* max_flows + 1 records, slot 0 unused */
	size_t pool_bytes;
	uint32_t pool_used; /* slots handed out so far (bump), excluding 0 */
	uint32_t free_head; /* freed slots, linked through lru_next */
	struct flow_tcp_metric *tcpm; /* parallel to pool when extra_tcp_metric */
	size_t tcpm_bytes;
	uint64_t *rtt_first; /* parallel to pool: time of the packet that started the
			      * pending RTT measurement (FLOW_F_RTT_WAIT) */
	/* IPDefrag / ReassembleTCP: NULL when off */
	struct ipdefrag *defrag;
	struct flow_ip_metric *ipm; /* parallel to pool */
	size_t ipm_bytes;
	struct tcp_reasm *reasm;
	tcp_stream_fn stream_fn;
	void *stream_user;
	uint32_t seg0_slot; /* slot of the frame's segment 0 flow (process) */
	struct xlayer_store *xl; /* ExtraLayers; NULL when off */
	struct dns_tcp *dnstcp;  /* DNS over TCP from the streams (ReassembleTCP and
				    ExtraLayers DNS); NULL otherwise */

	uint32_t *index; /* slot ids, 0 = empty */
	uint32_t index_mask;
	uint32_t index_max; /* largest capacity allowed */

	uint32_t wheel[WHEEL_SIZE]; /* bucket heads, doubly linked through lru_* */
	uint64_t epoch_s;           /* wheel time 0, in s since the epoch */
	uint32_t wheel_pos;         /* next wheel second to process */
	int wheel_started;

	struct layer_path paths[PATH_MAX_COUNT];
	uint16_t npaths;
	uint16_t path_index[PATH_INDEX_SIZE]; /* path id + 1, 0 = empty */

	uint64_t timeouts_ns[CLASS_COUNT];
	uint64_t next_tick_ns;   /* next second boundary for periodic work */
	uint64_t next_update_ns; /* next update pass */
	int64_t prev_update_ms;  /* time of the last update pass, 0 = none yet */
	uint64_t now_ns;         /* latest time seen */
	uint32_t header_size;
	uint64_t raw_window_bytes; /* raw bytes accepted since the last update pass */
	int linktype;              /* of the frame fed last with raw packets on */

	struct pending pipe[PIPE_SIZE];
	uint32_t pipe_head, pipe_tail;

	struct flow_stats st;
};

static void drain(struct flow_table *t);

/* ---- options and names ------------------------------------------------ */

const char *flow_proto_name(unsigned p)
{
	static const char *const n[] = {"ETHERNET", "IPV4", "TCP",    "UDP",
					"SCTP",     "IPV6", "ICMPV4", "ICMPV6"};
	return p < sizeof(n) / sizeof(n[0]) ? n[p] : "UNKNOWN";
}

const char *flow_finish_name(unsigned f)
{
	static const char *const n[] = {"NOT_FINISHED", "TIMEOUT", "TCP_FIN", "TCP_RST"};
	return f < 4 ? n[f] : "NOT_FINISHED";
}

int flow_key_mode_parse(const char *s, enum flow_key_mode *out)
{
	if (!strcmp(s, "L2"))
		*out = FLOW_KEY_L2;
	else if (!strcmp(s, "L3"))
		*out = FLOW_KEY_L3;
	else
		return -EINVAL;
	return 0;
}

/* ---- pool ------------------------------------------------------------- */

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static uint32_t slot_alloc(struct flow_table *t)
{
	uint32_t s = t->free_head;
	if (s) {
		t->free_head = t->pool[s].lru_next;
		return s;
	}
	if (t->pool_used >= t->o.max_flows)
		return 0;
	return ++t->pool_used;
}

static void slot_free(struct flow_table *t, uint32_t s)
{
	xlayer_drop(t->xl, s);
	t->pool[s].lru_next = t->free_head;
	t->pool[s].hkey = 0;
	t->free_head = s;
}

/* ---- expiry wheel ---------------------------------------------------- */

static inline uint64_t flow_timeout_ns(const struct flow_table *t, const struct flow *f)
{
	if (f->finish == FLOW_TCP_FIN || f->finish == FLOW_TCP_RST)
		return t->timeouts_ns[CLASS_FINISHED];
	return t->timeouts_ns[f->timeout_class ? CLASS_SHORT : CLASS_DEFAULT];
}

/* Wheel second (relative to epoch_s) at which f times out, rounded up. */
static inline uint32_t flow_deadline(const struct flow_table *t, const struct flow *f)
{
	uint64_t d = (f->last_ns + flow_timeout_ns(t, f) + NS_PER_S - 1) / NS_PER_S;
	return d > t->epoch_s ? (uint32_t)(d - t->epoch_s) : 0;
}

static void wheel_unlink(struct flow_table *t, uint32_t s)
{
	struct flow *f = &t->pool[s];
	if (f->lru_prev)
		t->pool[f->lru_prev].lru_next = f->lru_next;
	else
		t->wheel[f->bucket] = f->lru_next;
	if (f->lru_next)
		t->pool[f->lru_next].lru_prev = f->lru_prev;
	f->lru_prev = f->lru_next = 0;
}

static void wheel_insert(struct flow_table *t, uint32_t s)
{
	struct flow *f = &t->pool[s];
	uint32_t d = flow_deadline(t, f);
	/* Never behind the wheel's hand: a late bucket would wait a full turn. */
	if (d < t->wheel_pos)
		d = t->wheel_pos;
	uint32_t b = d & (WHEEL_SIZE - 1);
	f->bucket = (uint16_t)b;
	f->lru_prev = 0;
	f->lru_next = t->wheel[b];
	if (f->lru_next)
		t->pool[f->lru_next].lru_prev = s;
	t->wheel[b] = s;
}

/* ---- index ------------------------------------------------------------ */

static int index_grow(struct flow_table *t)
{
	uint32_t old_cap = t->index ? t->index_mask + 1 : 0;
	uint32_t cap = old_cap ? old_cap * 2 : INDEX_MIN;
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (uint32_t i = 0; i < old_cap; i++) {
		uint32_t s = t->index[i];
		if (!s)
			continue;
		uint32_t h = (uint32_t)t->pool[s].hkey & (cap - 1);
		while (idx[h])
			h = (h + 1) & (cap - 1);
		idx[h] = s;
	}
	free(t->index);
	t->index = idx;
	t->index_mask = cap - 1;
	return 0;
}

static inline uint32_t index_find(const struct flow_table *t, uint64_t hkey, uint32_t *pos)
{
	uint32_t h = (uint32_t)hkey & t->index_mask;
	for (;;) {
		uint32_t s = t->index[h];
		if (!s || t->pool[s].hkey == hkey) {
			*pos = h;
			return s;
		}
		h = (h + 1) & t->index_mask;
	}
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void index_remove(struct flow_table *t, uint64_t hkey)
{
	uint32_t pos;
	if (!index_find(t, hkey, &pos))
		return;
	uint32_t mask = t->index_mask, i = pos, j = pos;
	for (;;) {
		j = (j + 1) & mask;
		uint32_t s = t->index[j];
		if (!s)
			break;
		uint32_t home = (uint32_t)t->pool[s].hkey & mask;
		/* Move s back into the hole if its home is not in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->index[i] = s;
			i = j;
		}
	}
	t->index[i] = 0;
}

/* ---- layer paths ------------------------------------------------------ */

static uint16_t path_intern(struct flow_table *t, const uint8_t *layers, uint8_t n)
{
	uint32_t h = (uint32_t)XXH3_64bits(layers, n) & (PATH_INDEX_SIZE - 1);
	for (;;) {
		uint16_t id = t->path_index[h];
		if (!id)
			break;
		const struct layer_path *p = &t->paths[id - 1];
		if (p->n == n && !memcmp(p->layers, layers, n))
			return (uint16_t)(id - 1);
		h = (h + 1) & (PATH_INDEX_SIZE - 1);
	}
	if (t->npaths == PATH_MAX_COUNT) {
		t->st.paths_overflow++;
		return 0; /* path 0 is the empty path, made in flow_table_new */
	}
	struct layer_path *p = &t->paths[t->npaths];
	size_t len = 1;
	for (unsigned i = 0; i < n; i++)
		len += strlen(layer_name(layers[i])) + 1;
	p->str = malloc(len);
	if (!p->str) {
		t->st.paths_overflow++;
		return 0;
	}
	p->str[0] = 0;
	for (unsigned i = 0; i < n; i++) {
		if (i)
			strcat(p->str, "/");
		strcat(p->str, layer_name(layers[i]));
	}
	p->n = n;
	memcpy(p->layers, layers, n);
	t->path_index[h] = (uint16_t)(t->npaths + 1);
	return t->npaths++;
}

/* ---- reassembly (IPDefrag, ReassembleTCP) ------------------------------ */

/* A stream gopacket would decode as DNS: by its ports, destination first,
 * as each of its segments is (dir 0 goes from A to B). */
static int dns_stream(const struct flow *f, int dir)
{
	return dir ? decode_tcp_app(f->tp_b, f->tp_a) == LAYER_DNS
		   : decode_tcp_app(f->tp_a, f->tp_b) == LAYER_DNS;
}

static void on_stream(void *user, uint32_t slot, int dir, const uint8_t *data, uint32_t len,
		      uint64_t skipped, unsigned flags, uint64_t ts_ns)
{
	struct flow_table *t = user;
	if (t->dnstcp && dns_stream(&t->pool[slot], dir))
		dns_tcp_data(t->dnstcp, slot, dir, data, len, skipped, flags, ts_ns);
	if (t->stream_fn)
		t->stream_fn(t->stream_user, t, &t->pool[slot], dir, data, len, skipped, flags,
			     ts_ns);
}

/* A DNS message of a reassembled stream: the flow's DNS layer. */
static void on_dns_msg(void *user, uint32_t slot, int dir, const uint8_t *msg, uint32_t len,
		       uint64_t ts_ns)
{
	struct flow_table *t = user;
	(void)dir;
	xlayer_dns(t->xl, slot, msg, len, ts_ns);
}

/* The reassemblers the options ask for; 0 or -1 with err set. */
static int reasm_new(struct flow_table *t, char *err, size_t errlen)
{
	if (t->o.ip_defrag) {
		struct ipdefrag_opts d = {0};
		t->defrag = ipdefrag_new(&d, err, errlen);
		t->ipm_bytes = ((size_t)t->o.max_flows + 1) * sizeof(struct flow_ip_metric);
		t->ipm = reserve(t->ipm_bytes);
		if (!t->defrag || !t->ipm) {
			if (t->defrag)
				snprintf(err, errlen, "cannot reserve memory for %u flows",
					 t->o.max_flows);
			return -1;
		}
	}
	if (t->o.reassemble_tcp) {
		if (!t->tcpm) {
			snprintf(err, errlen, "cannot reserve memory for %u flows", t->o.max_flows);
			return -1;
		}
		struct tcp_reasm_opts r = {.slots = t->o.max_flows + 1};
		t->reasm = tcp_reasm_new(&r, t->tcpm, on_stream, t, err, errlen);
		if (!t->reasm)
			return -1;
	}
	return 0;
}

void flow_table_set_tcp_stream(struct flow_table *t, tcp_stream_fn fn, void *user)
{
	t->stream_fn = fn;
	t->stream_user = user;
}

const struct flow_ip_metric *flow_table_ip_metric(const struct flow_table *t,
						  const struct flow *f)
{
	return t->ipm && f->ip_ver ? &t->ipm[f - t->pool] : NULL;
}

static void reasm_stats(struct flow_table *t)
{
	if (t->defrag) {
		const struct ipdefrag_stats *d = ipdefrag_stats(t->defrag);
		t->st.frag_frames = d->fragments;
		t->st.frag_reassembled = d->reassembled;
		t->st.frag_errors = d->errors;
		t->st.frag_no_room = d->no_room;
		t->st.frag_timeouts = d->timeouts;
		t->st.frag_timeout_fragments = d->timeout_fragments;
		t->st.frag_peak_bytes = d->peak_bytes;
	}
	if (t->dnstcp) {
		const struct dns_tcp_stats *d = dns_tcp_stats(t->dnstcp);
		t->st.dns_tcp_messages = d->messages;
		t->st.dns_tcp_too_big = d->too_big;
		t->st.dns_tcp_no_room = d->no_room;
		t->st.dns_tcp_hole = d->hole;
		t->st.dns_tcp_lost_sync = d->lost_sync;
		t->st.dns_tcp_unfinished = d->unfinished;
	}
	if (t->reasm) {
		const struct tcp_reasm_stats *r = tcp_reasm_stats(t->reasm);
		t->st.tcp_buffered = r->buffered;
		t->st.tcp_gaps_full = r->gaps_full;
		t->st.tcp_gaps_timeout = r->gaps_timeout;
		t->st.tcp_gaps_closed = r->gaps_closed;
		t->st.tcp_cut = r->cut;
		t->st.tcp_peak_bytes = r->peak_bytes_held;
	}
}

/* ---- lifecycle -------------------------------------------------------- */

struct flow_table *flow_table_new(const struct flow_table_opts *o, flow_emit_fn emit,
				  flow_raw_fn raw, void *user, char *err, size_t errlen)
{
	struct flow_table *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->o = *o;
	if (!t->o.max_flows)
		t->o.max_flows = 500000;
	if (t->o.max_flows > (1u << 30)) {
		snprintf(err, errlen, "max flows %u too large (at most %u)", t->o.max_flows, 1u << 30);
		free(t);
		return NULL;
	}
	if (!t->o.expire_s)
		t->o.expire_s = 600;
	if (!t->o.update_s)
		t->o.update_s = 60;
	if (!t->o.arp_timeout_s)
		t->o.arp_timeout_s = 10;
	if (!t->o.dns_timeout_s)
		t->o.dns_timeout_s = 10;
	if (!t->o.fin_hold_s)
		t->o.fin_hold_s = 15;
	if (t->o.raw_packet_limit < -1) {
		snprintf(err, errlen, "raw packet limit %lld invalid: use -1 (all), 0 (none) or N > 0",
			 (long long)t->o.raw_packet_limit);
		free(t);
		return NULL;
	}
	t->header_size = t->o.header_size ? t->o.header_size : 256;
	t->emit = emit;
	t->raw = raw;
	t->user = user;
	t->timeouts_ns[CLASS_DEFAULT] = (uint64_t)t->o.expire_s * NS_PER_S;
	/* ARP and DNS share one short list; it uses the longer of the two. */
	t->timeouts_ns[CLASS_SHORT] = (uint64_t)(t->o.arp_timeout_s > t->o.dns_timeout_s
							 ? t->o.arp_timeout_s
							 : t->o.dns_timeout_s) *
				      NS_PER_S;
	t->timeouts_ns[CLASS_FINISHED] = (uint64_t)t->o.fin_hold_s * NS_PER_S;

	t->pool_bytes = ((size_t)t->o.max_flows + 1) * sizeof(struct flow);
	t->pool = reserve(t->pool_bytes);
	/* Past the first 32 MiB (~190k flows) a table is large enough for TLB
	 * misses to dominate its random accesses: ask for transparent huge
	 * pages there. Small tables keep 4 KiB pages and their small RSS. */
	if (t->pool && t->pool_bytes > POOL_SMALL_PAGES)
		madvise((char *)t->pool + POOL_SMALL_PAGES, t->pool_bytes - POOL_SMALL_PAGES,
			MADV_HUGEPAGE);
	if (t->o.extra_tcp_metric || t->o.reassemble_tcp) {
		t->tcpm_bytes = ((size_t)t->o.max_flows + 1) * sizeof(struct flow_tcp_metric);
		t->tcpm = reserve(t->tcpm_bytes);
	}
	t->rtt_first = reserve(((size_t)t->o.max_flows + 1) * sizeof(uint64_t));
	uint32_t cap = INDEX_MIN;
	while (cap < t->o.max_flows * 2u && cap < (1u << 31))
		cap *= 2;
	t->index_max = cap;
	if (reasm_new(t, err, errlen)) {
		flow_table_free(t);
		return NULL;
	}
	if (t->o.extra_layers)
		t->xl = xlayer_store_new(t->o.max_flows, t->o.extra_layers);
	if (t->xl && t->reasm && (t->o.extra_layers & XL_DNS)) {
		struct dns_tcp_opts d = {.slots = t->o.max_flows + 1};
		t->dnstcp = dns_tcp_new(&d, on_dns_msg, t, err, errlen);
		if (!t->dnstcp) {
			flow_table_free(t);
			return NULL;
		}
	}
	if (!t->pool || ((t->o.extra_tcp_metric || t->o.reassemble_tcp) && !t->tcpm) ||
	    (t->o.extra_layers && !t->xl) || !t->rtt_first || index_grow(t)) {
		snprintf(err, errlen, "cannot reserve memory for %u flows", t->o.max_flows);
		flow_table_free(t);
		return NULL;
	}
	static const uint8_t none[1];
	path_intern(t, none, 0); /* id 0: the empty path */
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	if (t->pool)
		munmap(t->pool, t->pool_bytes);
	if (t->tcpm)
		munmap(t->tcpm, t->tcpm_bytes);
	if (t->rtt_first)
		munmap(t->rtt_first, ((size_t)t->o.max_flows + 1) * sizeof(uint64_t));
	ipdefrag_free(t->defrag);
	tcp_reasm_free(t->reasm);
	if (t->ipm)
		munmap(t->ipm, t->ipm_bytes);
	xlayer_store_free(t->xl);
	dns_tcp_free(t->dnstcp);
	for (unsigned i = 0; i < t->npaths; i++)
		free(t->paths[i].str);
	free(t->index);
	free(t);
}

void flow_table_set_raw_flows(struct flow_table *t, flow_raw_flows_fn fn)
{
	t->raw_flows = fn;
}

/* ---- accessors -------------------------------------------------------- */

const struct flow_stats *flow_table_stats(struct flow_table *t)
{
	drain(t);
	reasm_stats(t);
	if (t->xl) {
		const struct xlayer_stats *x = xlayer_store_stats(t->xl);
		t->st.layers_no_slot = x->no_slot;
		t->st.layers_cut = x->cut;
		t->st.layers_tcp_partial = x->tcp_partial;
	}
	return &t->st;
}

int flow_table_linktype(const struct flow_table *t)
{
	return t->linktype;
}

const struct flow_table_opts *flow_table_opts(const struct flow_table *t)
{
	return &t->o;
}

const char *flow_table_path(const struct flow_table *t, const struct flow *f)
{
	return f->path_id < t->npaths ? t->paths[f->path_id].str : "";
}

const char *flow_table_app(const struct flow_table *t, const struct flow *f)
{
	if (f->app_id >= LAYER__COUNT && t->o.appmap)
		return t->o.appmap->e[f->app_id - LAYER__COUNT].name;
	return f->app_id ? layer_name(f->app_id) : "";
}

const struct flow_tcp_metric *flow_table_tcp_metric(const struct flow_table *t,
						    const struct flow *f)
{
	if (!t->tcpm)
		return NULL;
	return &t->tcpm[f - t->pool];
}

const uint8_t *flow_table_layers(const struct flow_table *t, const struct flow *f,
				 uint32_t *len)
{
	*len = 0;
	return t->xl ? xlayer_get(t->xl, (uint32_t)(f - t->pool), len) : NULL;
}

void flow_table_foreach(struct flow_table *t,
			void (*fn)(void *user, const struct flow_table *t, const struct flow *f),
			void *user)
{
	drain(t);
	for (uint32_t s = 1; s <= t->pool_used; s++)
		if (t->pool[s].hkey)
			fn(user, t, &t->pool[s]);
}

size_t flow_table_memory(const struct flow_table *t)
{
	size_t m = sizeof(*t) + ((size_t)t->index_mask + 1) * sizeof(uint32_t);
	m += ((size_t)t->pool_used + 1) * sizeof(struct flow);
	if (t->tcpm)
		m += ((size_t)t->pool_used + 1) * sizeof(struct flow_tcp_metric);
	m += ((size_t)t->pool_used + 1) * sizeof(uint64_t); /* rtt_first */
	if (t->defrag)
		m += ipdefrag_memory(t->defrag) + ((size_t)t->pool_used + 1) * sizeof(*t->ipm);
	if (t->reasm) /* its buffers, and the stream state of the flows */
		m += tcp_reasm_memory(t->reasm, t->pool_used + 1);
	if (t->dnstcp)
		m += dns_tcp_memory(t->dnstcp, t->pool_used + 1);
	return m;
}

/* ---- emission and removal --------------------------------------------- */

static void emit_flow(struct flow_table *t, struct flow *f, enum flow_event ev, int64_t lu_last_ms)
{
	if (!t->emit)
		return;
	int64_t lu_start = (f->flags & FLOW_F_SEEN_UPDATE) ? t->prev_update_ms
							   : (int64_t)(f->start_ns / NS_PER_MS);
	t->emit(t->user, t, f, ev, lu_start, lu_last_ms);
}

static void remove_flow(struct flow_table *t, uint32_t s, int timed_out)
{
	struct flow *f = &t->pool[s];
	if (timed_out && f->finish == FLOW_NOT_FINISHED)
		f->finish = FLOW_TIMEOUT;
	if (t->reasm && f->l4 == DECODE_L4_TCP)
		tcp_reasm_close(t->reasm, s, f->last_ns); /* its last bytes, before it is reported */
	emit_flow(t, f, FLOW_EV_EXPIRE, (int64_t)(f->last_ns / NS_PER_MS));
	wheel_unlink(t, s);
	index_remove(t, f->hkey);
	slot_free(t, s);
	t->st.flows_expired++;
	t->st.flow_count--;
}

static void update_pass(struct flow_table *t, uint64_t now_ns)
{
	int64_t now_ms = (int64_t)(now_ns / NS_PER_MS);
	for (uint32_t s = 1; s <= t->pool_used; s++) {
		struct flow *f = &t->pool[s];
		if (!f->hkey)
			continue;
		if (f->flags & FLOW_F_UPDATED)
			emit_flow(t, f, FLOW_EV_UPDATE, now_ms);
		f->upd_ab_packets = f->ab_packets;
		f->upd_ba_packets = f->ba_packets;
		f->upd_ab_bytes = f->ab_bytes;
		f->upd_ba_bytes = f->ba_bytes;
		f->flags = (uint8_t)((f->flags | FLOW_F_SEEN_UPDATE) & ~FLOW_F_UPDATED);
	}
	t->prev_update_ms = now_ms;
	t->raw_window_bytes = 0;
}

static void expire_bucket(struct flow_table *t, uint32_t b, uint64_t now_ns)
{
	uint32_t s = t->wheel[b];
	while (s) {
		struct flow *f = &t->pool[s];
		uint32_t next = f->lru_next;
		if (f->last_ns + flow_timeout_ns(t, f) <= now_ns) {
			remove_flow(t, s, 1);
		} else {
			/* Not due: it saw packets since; file it under its new
			 * deadline (a deadline a whole turn away stays here). */
			if ((flow_deadline(t, f) & (WHEEL_SIZE - 1)) != b) {
				wheel_unlink(t, s);
				wheel_insert(t, s);
			}
		}
		s = next;
	}
}

static void expire_pass(struct flow_table *t, uint64_t now_ns)
{
	if (!t->wheel_started) {
		t->epoch_s = now_ns / NS_PER_S;
		t->wheel_started = 1;
	}
	uint64_t now_s = now_ns / NS_PER_S;
	if (now_s < t->epoch_s)
		return;
	uint32_t rel = (uint32_t)(now_s - t->epoch_s);
	if (rel < t->wheel_pos)
		return;
	/* A jump of more than a turn visits every bucket once. */
	uint32_t from = rel - t->wheel_pos >= WHEEL_SIZE ? rel - WHEEL_SIZE + 1 : t->wheel_pos;
	t->wheel_pos = rel + 1;
	for (uint32_t sec = from; sec <= rel; sec++)
		expire_bucket(t, sec & (WHEEL_SIZE - 1), now_ns);
}

void flow_table_tick(struct flow_table *t, uint64_t now_ns)
{
	drain(t);
	if (now_ns > t->now_ns)
		t->now_ns = now_ns;
	if (!t->next_update_ns)
		t->next_update_ns = now_ns + (uint64_t)t->o.update_s * NS_PER_S;
	if (now_ns >= t->next_update_ns) {
		update_pass(t, now_ns);
		t->next_update_ns = now_ns + (uint64_t)t->o.update_s * NS_PER_S;
	}
	expire_pass(t, now_ns);
	if (t->defrag)
		ipdefrag_expire(t->defrag, now_ns);
	if (t->reasm)
		tcp_reasm_expire(t->reasm, now_ns);
	t->next_tick_ns = (now_ns / NS_PER_S + 1) * NS_PER_S;
}

static int cmp_slot_start(const void *a, const void *b, void *arg)
{
	const struct flow *pool = arg;
	const struct flow *x = &pool[*(const uint32_t *)a], *y = &pool[*(const uint32_t *)b];
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

void flow_table_flush(struct flow_table *t)
{
	drain(t);
	if (t->defrag) /* the capture ends: incomplete datagrams are given up */
		ipdefrag_flush(t->defrag);
	if (t->reasm)
		for (uint32_t s = 1; s <= t->pool_used; s++)
			if (t->pool[s].hkey && t->pool[s].l4 == DECODE_L4_TCP)
				tcp_reasm_close(t->reasm, s, t->pool[s].last_ns);
	uint32_t n = t->st.flow_count, k = 0;
	uint32_t *order = n ? malloc(n * sizeof(*order)) : NULL;
	for (uint32_t s = 1; s <= t->pool_used && k < n; s++)
		if (t->pool[s].hkey) {
			if (order)
				order[k++] = s;
			else /* no memory to sort: pool order rather than lose flows */
				emit_flow(t, &t->pool[s], FLOW_EV_EXPIRE,
					  (int64_t)(t->pool[s].last_ns / NS_PER_MS));
		}
	/* Oldest first, and outer flows before the inner flows they carry. */
	if (k)
		qsort_r(order, k, sizeof(*order), cmp_slot_start, t->pool);
	for (uint32_t i = 0; i < k; i++) {
		struct flow *f = &t->pool[order[i]];
		emit_flow(t, f, FLOW_EV_EXPIRE, (int64_t)(f->last_ns / NS_PER_MS));
	}
	free(order);
	/* Every flow is gone: reset the structures wholesale rather than
	 * unlinking flows one by one (random accesses over the whole pool). */
	memset(t->index, 0, ((size_t)t->index_mask + 1) * sizeof(*t->index));
	memset(t->wheel, 0, sizeof(t->wheel));
	for (uint32_t s = 1; s <= t->pool_used; s++) {
		if (t->pool[s].hkey)
			xlayer_drop(t->xl, s); /* a later flow of the slot starts bare */
		t->pool[s].hkey = 0;
	}
	t->pool_used = 0;
	t->free_head = 0;
	t->st.flows_expired += n;
	t->st.flow_count = 0;
}

/* ---- the packet path -------------------------------------------------- */

/* Canonical fields hashed into the table key: endpoints in key order, so
 * both directions of a flow give the same bytes. */
struct canon {
	uint8_t ip_ver, l4, icmp_ver, has_mac;
	uint16_t port[2];
	uint32_t icmp;
	uint32_t vni;
	uint16_t tun_dport;
	uint16_t pad;
	uint8_t ip[2][16];
	uint8_t mac[2][6];
	uint64_t parent_key;
	uint64_t parent_start;
};

static inline int is_echo_request(const struct decode_seg *g)
{
	return (g->icmp_ver == 4 && g->icmp_type == 8) || (g->icmp_ver == 6 && g->icmp_type == 128);
}

static inline int is_echo_reply(const struct decode_seg *g)
{
	return (g->icmp_ver == 4 && g->icmp_type == 0) || (g->icmp_ver == 6 && g->icmp_type == 129);
}

static void init_flow(struct flow_table *t, struct flow *f, const struct decode_seg *g, int tun_key,
		      uint64_t parent_uuid, uint64_t ts_ns)
{
	memset(f, 0, sizeof(*f));
	f->parent_uuid = parent_uuid;
	f->start_ns = f->last_ns = ts_ns;
	if (g->has_eth) {
		f->flags |= FLOW_F_LINK;
		memcpy(f->link_a, g->eth_src, 6);
		memcpy(f->link_b, g->eth_dst, 6);
		f->link_id = g->link_id;
	}
	f->ip_ver = g->ip_ver;
	if (g->ip_ver) {
		size_t al = g->ip_ver == 4 ? 4 : 16;
		memcpy(f->net_a, g->ip_src, al);
		memcpy(f->net_b, g->ip_dst, al);
		f->net_id = g->tunnel_id;
		f->l4 = g->l4;
		if (g->l4) {
			f->tp_a = g->sport;
			f->tp_b = g->dport;
		} else if (g->icmp_ver) {
			f->icmp_ver = g->icmp_ver;
			f->icmp_type = g->icmp_flow_type;
			f->icmp_code = g->icmp_code;
			f->icmp_id = g->icmp_id;
		}
	}
	if (tun_key)
		f->flags |= FLOW_F_TUN_KEY;

	f->path_id = path_intern(t, g->layers, g->nlayers);
	f->app_id = g->nlayers ? g->layers[g->nlayers - 1] : 0;
	if (g->l4 == DECODE_L4_TCP || g->l4 == DECODE_L4_UDP) {
		int i = appmap_lookup(t->o.appmap, g->l4, g->sport, g->dport);
		if (i >= 0)
			f->app_id = (uint16_t)(LAYER__COUNT + i);
	}
	const char *app = flow_table_app(t, f);
	if (!strcmp(app, "ARP") || !strcmp(app, "DNS"))
		f->timeout_class = 1;

	if (t->tcpm)
		memset(&t->tcpm[f - t->pool], 0, sizeof(struct flow_tcp_metric));
	if (t->ipm)
		memset(&t->ipm[f - t->pool], 0, sizeof(*t->ipm));
	if (t->reasm && g->l4 == DECODE_L4_TCP)
		tcp_reasm_reset(t->reasm, (uint32_t)(f - t->pool));
	if (t->dnstcp && g->l4 == DECODE_L4_TCP && (dns_stream(f, 0) || dns_stream(f, 1)))
		dns_tcp_reset(t->dnstcp, (uint32_t)(f - t->pool));
}

/* Skydive's updateRTT (flow/flow.go), packet by packet, whatever the
 * direction: an ICMPv4/ICMPv6 echo request starts a measurement when none is
 * pending and the next echo reply ends it; a TCP segment with SYN (with or
 * without ACK) starts one, and the next SYN+ACK or RST ends it. Each end
 * replaces Metric.RTT, so the last completed pair is kept. Other protocols
 * (UDP, SCTP, ARP, a tunnel's outer segment) never have one. */
static void rtt_update(struct flow_table *t, uint32_t s, struct flow *f,
		       const struct decode_seg *g, uint64_t ts_ns)
{
	int start, stop;
	if (g->icmp_ver) {
		start = is_echo_request(g);
		stop = is_echo_reply(g);
	} else if (g->l4 == DECODE_L4_TCP) {
		start = (g->tcp_flags & DECODE_TCP_SYN) != 0;
		stop = (g->tcp_flags & (DECODE_TCP_SYN | DECODE_TCP_ACK)) ==
			       (DECODE_TCP_SYN | DECODE_TCP_ACK) ||
		       (g->tcp_flags & DECODE_TCP_RST);
	} else {
		return;
	}
	if (!(f->flags & FLOW_F_RTT_WAIT)) {
		if (start) {
			t->rtt_first[s] = ts_ns;
			f->flags |= FLOW_F_RTT_WAIT;
		}
	} else if (stop) {
		/* Skydive's int64 would go negative for an answer stamped
		 * before its request; ours has no sign: 0, not shown. */
		f->rtt = ts_ns > t->rtt_first[s] ? flow_rtt_encode(ts_ns - t->rtt_first[s]) : 0;
		f->flags &= (uint8_t)~FLOW_F_RTT_WAIT;
	}
}

static void tcp_metric_update(struct flow_table *t, struct flow *f, const struct decode_seg *g,
			      int ab, uint64_t ts_ns)
{
	struct flow_tcp_metric *m = &t->tcpm[f - t->pool];
	int64_t ms = (int64_t)(ts_ns / NS_PER_MS);
	/* One of SYN, FIN, RST per packet, in that order, as Skydive records them. */
	if (g->tcp_flags & DECODE_TCP_SYN) {
		if (ab && !m->ab_syn_start) {
			m->ab_syn_start = ms;
			m->ab_syn_ttl = g->ttl;
		} else if (!ab && !m->ba_syn_start) {
			m->ba_syn_start = ms;
			m->ba_syn_ttl = g->ttl;
		}
	} else if (g->tcp_flags & DECODE_TCP_FIN) {
		*(ab ? &m->ab_fin_start : &m->ba_fin_start) = ms;
	} else if (g->tcp_flags & DECODE_TCP_RST) {
		*(ab ? &m->ab_rst_start : &m->ba_rst_start) = ms;
	}
}

/* The table key of one segment, and whether its endpoints are swapped in
 * key order. */
static uint64_t canon_key(const struct flow_table *t, const struct decode_seg *g,
			  const struct flow *parent, int *swapped)
{
	struct canon c;
	memset(&c, 0, sizeof(c));
	int has_ports = g->l4 != DECODE_L4_NONE;
	int tun_key = g->l4 == DECODE_L4_UDP &&
		      (g->tunnel == LAYER_VXLAN || g->tunnel == LAYER_GENEVE);
	int use_mac = g->has_eth && (t->o.key_mode == FLOW_KEY_L2 || !g->ip_ver);
	int sw = flow_key_swapped(t->o.key_mode, g->has_eth, g->eth_src, g->eth_dst, g->ip_ver,
				  g->ip_src, g->ip_dst, has_ports, g->sport, g->dport);
	int a = sw, b = !sw;

	c.ip_ver = g->ip_ver;
	if (g->ip_ver) {
		size_t al = g->ip_ver == 4 ? 4 : 16;
		memcpy(c.ip[a], g->ip_src, al);
		memcpy(c.ip[b], g->ip_dst, al);
		if (tun_key) {
			c.vni = g->tunnel_id;
			c.tun_dport = g->dport;
			c.l4 = 0xff;
		} else if (has_ports) {
			c.l4 = g->l4;
			c.port[a] = g->sport;
			c.port[b] = g->dport;
		}
		if (g->icmp_ver && !has_ports) {
			c.icmp_ver = g->icmp_ver;
			c.icmp = flow_icmp_key(g->icmp_ver, g->icmp_flow_type, g->icmp_code, g->icmp_id);
		}
	}
	if (use_mac) {
		c.has_mac = 1;
		memcpy(c.mac[a], g->eth_src, 6);
		memcpy(c.mac[b], g->eth_dst, 6);
	}
	if (parent) {
		c.parent_key = parent->hkey;
		c.parent_start = parent->start_ns / NS_PER_MS;
	}
	uint64_t hkey = XXH3_64bits(&c, sizeof(c));
	*swapped = sw;
	return hkey ? hkey : 1; /* 0 marks a free slot */
}

/* Creates the flow of segment g whose key is hkey (not in the table; pos is
 * its index position from index_find). Returns the slot, or 0 when the table
 * is full (counted). */
static uint32_t new_flow(struct flow_table *t, const struct decode_seg *g,
			 const struct flow *parent, uint64_t hkey, int sw, uint64_t ts_ns,
			 uint32_t pos)
{
	int tun_key = g->l4 == DECODE_L4_UDP &&
		      (g->tunnel == LAYER_VXLAN || g->tunnel == LAYER_GENEVE);
	uint32_t s = slot_alloc(t);
	if (!s) {
		t->st.flow_dropped++;
		return 0;
	}
	if (t->index_mask + 1 < t->index_max && (t->st.flow_count + 1) * 2 > t->index_mask + 1) {
		if (index_grow(t)) {
			slot_free(t, s);
			t->st.flow_dropped++;
			return 0;
		}
		index_find(t, hkey, &pos);
	}
	struct flow *f = &t->pool[s];
	uint64_t parent_uuid = 0;
	if (parent) {
		struct flow_ids ids;
		flow_ids_compute(parent, t->o.key_mode, t->o.node_tid, &ids);
		parent_uuid = ids.uuid ? ids.uuid : 1;
	}
	init_flow(t, f, g, tun_key, parent_uuid, ts_ns);
	if (sw)
		f->flags |= FLOW_F_SWAPPED;
	f->hkey = hkey;
	wheel_insert(t, s);
	t->index[pos] = s;
	t->st.flows_created++;
	t->st.flow_count++;
	return s;
}

/* Finds or creates the flow of one segment whose key is hkey and accounts the
 * packet. Returns the slot, or 0 when the table is full. */
static uint32_t account(struct flow_table *t, const struct decode_seg *g, const struct flow *parent,
			uint64_t hkey, int sw, uint64_t ts_ns)
{
	uint32_t pos, s = index_find(t, hkey, &pos);
	struct flow *f;
	int ab;
	if (s) {
		f = &t->pool[s];
		/* Same canonical order as the first packet: same direction. */
		ab = sw == !!(f->flags & FLOW_F_SWAPPED);
	} else {
		s = new_flow(t, g, parent, hkey, sw, ts_ns, pos);
		if (!s)
			return 0;
		f = &t->pool[s];
		ab = 1;
	}

	f->last_ns = ts_ns > f->last_ns ? ts_ns : f->last_ns;
	f->flags |= FLOW_F_UPDATED;
	if (ab) {
		f->ab_packets++;
		f->ab_bytes += g->length;
	} else {
		f->ba_packets++;
		f->ba_bytes += g->length;
	}
	rtt_update(t, s, f, g, ts_ns);
	if (g->l4 == DECODE_L4_TCP) {
		uint8_t before = f->finish;
		if (g->tcp_flags & DECODE_TCP_RST)
			f->finish = FLOW_TCP_RST;
		else if ((g->tcp_flags & DECODE_TCP_FIN) && f->finish != FLOW_TCP_RST)
			f->finish = FLOW_TCP_FIN;
		if (before == FLOW_NOT_FINISHED && f->finish != FLOW_NOT_FINISHED) {
			/* The hold timeout is shorter: move to the earlier bucket. */
			wheel_unlink(t, s);
			wheel_insert(t, s);
		}
		if (t->o.extra_tcp_metric &&
		    (g->tcp_flags & (DECODE_TCP_SYN | DECODE_TCP_FIN | DECODE_TCP_RST)))
			tcp_metric_update(t, f, g, ab, ts_ns);
	}
	return s;
}

static int raw_deliver(struct flow_table *t, const uint32_t *keepers, int nkeep,
		       const uint8_t *data, uint32_t len, uint32_t wirelen, uint64_t ts_ns)
{
	if (t->raw_flows) {
		const struct flow *flows[DECODE_MAX_SEGS];
		for (int i = 0; i < nkeep; i++)
			flows[i] = &t->pool[keepers[i]];
		return t->raw_flows(t->user, t, flows, nkeep, data, len, wirelen, ts_ns);
	}
	return t->raw ? t->raw(t->user, data, len, wirelen, ts_ns) : 0;
}

/* Accounts one decoded frame; hkey0/sw0 is the key of segment 0 when the
 * caller computed it already (pipeline), else hkey0 == 0. */
static void process(struct flow_table *t, const struct decode_result *r, int n, uint64_t hkey0,
		    int sw0, const uint8_t *data, uint32_t caplen, uint32_t wirelen, uint64_t ts_ns)
{
	uint32_t keepers[DECODE_MAX_SEGS];
	int nkeep = 0, any = 0;
	const struct flow *parent = NULL;
	t->seg0_slot = 0;
	for (int i = 0; i < n; i++) {
		const struct decode_seg *g = &r->seg[i];
		if (!g->has_eth && !g->ip_ver)
			break; /* nothing to key an inner flow on */
		int sw = sw0;
		uint64_t hkey = i == 0 && hkey0 ? hkey0 : canon_key(t, g, parent, &sw);
		uint32_t s = account(t, g, parent, hkey, sw, ts_ns);
		if (!s)
			break; /* inner flows need their parent */
		any = 1;
		struct flow *f = &t->pool[s];
		if (i == 0)
			t->seg0_slot = s;
		if (t->reasm && g->l4 == DECODE_L4_TCP && data)
			tcp_reasm_segment(t->reasm, s, sw == !!(f->flags & FLOW_F_SWAPPED) ? 0 : 1, data,
					  caplen, g, ts_ns);
		/* DNS over TCP: from the stream when it is reassembled (on_stream) */
		if (t->xl && g->app && !(t->dnstcp && g->l4 == DECODE_L4_TCP))
			xlayer_packet(t->xl, s, f->ab_packets + f->ba_packets == 1, g, data, ts_ns);
		if (t->o.raw_packet_limit &&
		    (t->o.raw_packet_limit < 0 || f->raw_captured < t->o.raw_packet_limit))
			keepers[nkeep++] = s;
		parent = f;
	}
	if (r->err)
		t->st.partial++;
	if (!any) {
		if (r->err)
			t->st.partial--;
		t->st.undecodable++;
		return;
	}
	if (nkeep) {
		uint32_t len = caplen < t->header_size ? caplen : t->header_size;
		if (t->o.raw_budget && t->raw_window_bytes + len > t->o.raw_budget) {
			t->st.raw_dropped++;
		} else if (raw_deliver(t, keepers, nkeep, data, len, wirelen, ts_ns) == 0) {
			t->raw_window_bytes += len;
			t->st.raw_kept++;
			for (int i = 0; i < nkeep; i++)
				t->pool[keepers[i]].raw_captured++;
		} else {
			t->st.raw_dropped++;
		}
	}
}

/* Runs the frames still in the pipeline. */
static void drain(struct flow_table *t)
{
	while (t->pipe_tail != t->pipe_head) {
		struct pending *e = &t->pipe[t->pipe_tail & (PIPE_SIZE - 1)];
		process(t, &e->r, e->n, e->hkey, e->sw, NULL, 0, e->wirelen, e->ts_ns);
		t->pipe_tail++;
	}
}

/* A fragment (IPDefrag): nothing is accounted until its datagram is whole;
 * then the reassembled frame counts as one packet of the bytes of all its
 * fragments' frames (docs/FLOWS.md). */
static void feed_fragment(struct flow_table *t, int linktype, const uint8_t *data, uint32_t caplen,
			  uint32_t wirelen, const struct decode_seg *g, uint64_t ts_ns)
{
	struct ipdefrag_out out;
	if (ipdefrag_add(t->defrag, linktype, data, caplen, wirelen, g, ts_ns, &out) !=
	    IPDEFRAG_DONE)
		return; /* held or refused: counted in the defragmenter's stats */
	struct decode_result r;
	int n = decode_packet(linktype, out.frame, out.len, out.len, &r);
	/* Every segment carries the bytes the fragments' frames repeated. */
	uint32_t extra = out.wirelen > out.len ? out.wirelen - out.len : 0;
	for (int i = 0; i < n; i++)
		r.seg[i].length += extra;
	process(t, &r, n, 0, 0, out.frame, out.len, out.wirelen, ts_ns);
	if (t->seg0_slot) {
		struct flow_ip_metric *m = &t->ipm[t->seg0_slot];
		m->fragments += out.fragments;
		m->fragment_errors += out.errors;
	}
}

void flow_table_sync(struct flow_table *t)
{
	drain(t);
}

void flow_table_feed(struct flow_table *t, int linktype, const uint8_t *data, uint32_t caplen,
		     uint32_t wirelen, uint64_t ts_ns)
{
	if (ts_ns >= t->next_tick_ns) {
		drain(t);
		flow_table_tick(t, ts_ns);
	} else if (ts_ns > t->now_ns) {
		t->now_ns = ts_ns;
	}
	t->st.packets++;
	t->st.bytes += wirelen;

	if (t->o.raw_packet_limit || t->reasm || t->xl) {
		/* Raw packets, TCP reassembly and extra layers need the frame
		 * itself, which is only borrowed for this call: no pipelining. */
		struct decode_result r;
		int n = decode_packet(linktype, data, caplen, wirelen, &r);
		drain(t);
		t->linktype = linktype; /* for the raw callback (flow_table_linktype) */
		if (t->defrag && n && r.seg[0].is_fragment && r.seg[0].ip_ver) {
			feed_fragment(t, linktype, data, caplen, wirelen, &r.seg[0], ts_ns);
			return;
		}
		process(t, &r, n, 0, 0, data, caplen, wirelen, ts_ns);
		return;
	}

	/* Software pipeline: the key of frame k is hashed and its index entry
	 * prefetched; PIPE_SIZE/2 frames later the flow record it points to is
	 * prefetched; PIPE_SIZE frames later it is accounted. The cache misses
	 * of a large table then overlap instead of stalling every packet. */
	struct pending *e = &t->pipe[t->pipe_head & (PIPE_SIZE - 1)];
	e->n = decode_packet(linktype, data, caplen, wirelen, &e->r);
	if (t->defrag && e->n && e->r.seg[0].is_fragment && e->r.seg[0].ip_ver) {
		/* A fragment needs its bytes now; the frames before it go first. */
		drain(t);
		feed_fragment(t, linktype, data, caplen, wirelen, &e->r.seg[0], ts_ns);
		return;
	}
	e->wirelen = wirelen;
	e->ts_ns = ts_ns;
	e->hkey = 0;
	e->sw = 0;
	if (e->n && (e->r.seg[0].has_eth || e->r.seg[0].ip_ver)) {
		e->hkey = canon_key(t, &e->r.seg[0], NULL, &e->sw);
		__builtin_prefetch(&t->index[(uint32_t)e->hkey & t->index_mask]);
	}
	t->pipe_head++;
	uint32_t inflight = t->pipe_head - t->pipe_tail;
	if (inflight > PIPE_SIZE / 2) {
		struct pending *m = &t->pipe[(t->pipe_head - PIPE_SIZE / 2 - 1) & (PIPE_SIZE - 1)];
		if (m->hkey) {
			uint32_t slot = t->index[(uint32_t)m->hkey & t->index_mask];
			if (slot) {
				/* The hot 64 bytes may straddle two lines. */
				__builtin_prefetch(&t->pool[slot], 1);
				__builtin_prefetch((const char *)&t->pool[slot] + 63, 1);
			}
		}
	}
	if (inflight == PIPE_SIZE) {
		struct pending *o = &t->pipe[t->pipe_tail & (PIPE_SIZE - 1)];
		process(t, &o->r, o->n, o->hkey, o->sw, NULL, 0, o->wirelen, o->ts_ns);
		t->pipe_tail++;
	}
}

/* ---- ready-made flow records (ebpf) -------------------------------------- */

int flow_table_feed_record(struct flow_table *t, const struct flow_record *r)
{
	struct decode_seg g;
	decode_headers(&r->h, &g);

	drain(t);
	if (r->last_ns >= t->next_tick_ns)
		flow_table_tick(t, r->last_ns);
	else if (r->last_ns > t->now_ns)
		t->now_ns = r->last_ns;
	t->st.packets += r->ab_packets + r->ba_packets;
	t->st.bytes += r->ab_bytes + r->ba_bytes;
	int sw;
	uint64_t hkey = canon_key(t, &g, NULL, &sw);
	uint32_t pos, s = index_find(t, hkey, &pos);
	struct flow *f;
	int ab = 1;
	if (s) {
		f = &t->pool[s];
		ab = sw == !!(f->flags & FLOW_F_SWAPPED);
	} else {
		s = new_flow(t, &g, NULL, hkey, sw, r->first_ns, pos);
		if (!s)
			return -ENOSPC;
		f = &t->pool[s];
		/* No per-packet times: no RTT (rtt_update is never called). */
	}
	if (r->last_ns > f->last_ns)
		f->last_ns = r->last_ns;
	if (r->ab_packets + r->ba_packets)
		f->flags |= FLOW_F_UPDATED;
	f->ab_packets += ab ? r->ab_packets : r->ba_packets;
	f->ab_bytes += ab ? r->ab_bytes : r->ba_bytes;
	f->ba_packets += ab ? r->ba_packets : r->ab_packets;
	f->ba_bytes += ab ? r->ba_bytes : r->ab_bytes;
	if (f->l4 == DECODE_L4_TCP && r->tcp_flags) {
		uint8_t before = f->finish;
		if (r->tcp_flags & DECODE_TCP_RST)
			f->finish = FLOW_TCP_RST;
		else if ((r->tcp_flags & DECODE_TCP_FIN) && f->finish != FLOW_TCP_RST)
			f->finish = FLOW_TCP_FIN;
		if (before == FLOW_NOT_FINISHED && f->finish != FLOW_NOT_FINISHED) {
			wheel_unlink(t, s);
			wheel_insert(t, s);
		}
	}
	return 0;
}
