/* flow_ingest.c - /ws/agent/flow frames: protobuf-c decoding of flow.Message into the flow
 * store, per agent and per capture counters for /api/status. */
#include "api/flow_ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "flow.pb-c.h"

/* Decoding allocator: protobuf-c's many small allocations per flow (strings, layers,
 * metrics) come from a bump arena reset after each frame, so a frame costs no malloc
 * and free per field. Blocks are kept between frames; one too large for the block size
 * gets its own block, freed at the next reset. Used under the ingest lock. */
#define ARENA_BLOCK (256u << 10)

struct arena_block {
	struct arena_block *next;
	size_t size, used;
	max_align_t data[];
};

struct arena {
	struct arena_block *first; /* the kept blocks, in order */
	struct arena_block *head;  /* the block being filled; the empty ones follow */
	struct arena_block *big;   /* oversized blocks of this frame */
};

static void *arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	size = (size + 15) & ~(size_t)15;
	if (size > ARENA_BLOCK / 4) {
		struct arena_block *b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->size = b->used = size;
		b->next = a->big;
		a->big = b;
		return b->data;
	}
	struct arena_block *b = a->head;
	if (!b || b->size - b->used < size) {
		/* the next kept block, if any, else a new one */
		struct arena_block *n = b ? b->next : NULL;
		if (n && n->used == 0) {
			b = n;
		} else {
			n = malloc(sizeof(*n) + ARENA_BLOCK);
			if (!n)
				return NULL;
			n->size = ARENA_BLOCK;
			n->used = 0;
			n->next = b ? b->next : NULL;
			if (b)
				b->next = n;
			else
				a->first = n;
			b = n;
		}
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p; /* everything goes at the reset */
}

static void arena_reset(struct arena *a)
{
	for (struct arena_block *b = a->first; b; b = b->next)
		b->used = 0;
	a->head = a->first;
	while (a->big) {
		struct arena_block *n = a->big->next;
		free(a->big);
		a->big = n;
	}
}

struct flow_ingest {
	pthread_mutex_t lock;
	struct flow_store *s;
	json_t *hosts; /* the status tree, counters updated in place */
	/* Bounds of that tree: any client of /ws/agent/flow names its host and captures,
	 * so entries are evicted (least recently heard host, oldest capture) and counted
	 * instead of kept for every ID ever seen (issue 9). */
	size_t max_hosts, max_captures;
	uint64_t hosts_evicted, captures_evicted;
	struct arena arena; /* decoding, under lock */
	ProtobufCAllocator alloc;
};

struct flow_ingest *flow_ingest_new(struct flow_store *s)
{
	struct flow_ingest *fi = calloc(1, sizeof(*fi));
	if (!fi)
		return NULL;
	if (!(fi->hosts = json_object())) {
		free(fi);
		return NULL;
	}
	pthread_mutex_init(&fi->lock, NULL);
	fi->s = s;
	fi->max_hosts = FLOW_INGEST_MAX_HOSTS;
	fi->max_captures = FLOW_INGEST_MAX_CAPTURES;
	fi->alloc.alloc = arena_alloc;
	fi->alloc.free = arena_free;
	fi->alloc.allocator_data = &fi->arena;
	return fi;
}

void flow_ingest_free(struct flow_ingest *fi)
{
	if (!fi)
		return;
	json_decref(fi->hosts);
	arena_reset(&fi->arena);
	for (struct arena_block *b = fi->arena.first; b;) {
		struct arena_block *n = b->next;
		free(b);
		b = n;
	}
	pthread_mutex_destroy(&fi->lock);
	free(fi);
}

static void add(json_t *o, const char *k, int64_t n)
{
	json_t *v = json_object_get(o, k);
	if (v)
		json_integer_set(v, json_integer_value(v) + n);
	else
		json_object_set_new(o, k, json_integer(n));
}

void flow_ingest_set_limits(struct flow_ingest *fi, size_t max_hosts, size_t max_captures)
{
	pthread_mutex_lock(&fi->lock);
	fi->max_hosts = max_hosts ? max_hosts : FLOW_INGEST_MAX_HOSTS;
	fi->max_captures = max_captures ? max_captures : FLOW_INGEST_MAX_CAPTURES;
	pthread_mutex_unlock(&fi->lock);
}

/* A capture's counters, made if needed; at the bound the oldest capture entry of the
 * host goes first (jansson keeps insertion order). Lock held. */
static json_t *cap_child(struct flow_ingest *fi, json_t *caps, const char *k)
{
	json_t *c = json_object_get(caps, k);
	if (c)
		return c;
	while (json_object_size(caps) >= fi->max_captures) {
		void *it = json_object_iter(caps);
		if (!it)
			break;
		json_object_del(caps, json_object_iter_key(it));
		fi->captures_evicted++;
	}
	if ((c = json_object()) && json_object_set_new(caps, k, c))
		c = NULL;
	return c;
}

static json_t *child(json_t *o, const char *k)
{
	json_t *c = json_object_get(o, k);
	if (!c && (c = json_object()) && json_object_set_new(o, k, c))
		c = NULL;
	return c;
}

/* The host's counters (lock held); NULL on out of memory. At the bound the host
 * heard from least recently (smallest LastMessage) is evicted: a scan, but only when
 * a new host arrives at a full table. */
static json_t *host_stats(struct flow_ingest *fi, const char *host)
{
	json_t *h = json_object_get(fi->hosts, host);
	if (h)
		return h;
	while (json_object_size(fi->hosts) >= fi->max_hosts) {
		const char *k, *oldest = NULL;
		json_t *v;
		json_int_t best = 0;
		json_object_foreach(fi->hosts, k, v)
		{
			json_int_t t = json_integer_value(json_object_get(v, "LastMessage"));
			if (!oldest || t < best) {
				oldest = k;
				best = t;
			}
		}
		if (!oldest)
			break;
		json_object_del(fi->hosts, oldest);
		fi->hosts_evicted++;
	}
	h = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{}}", "Messages",
	              (json_int_t)0, "Bytes", (json_int_t)0, "DecodeErrors", (json_int_t)0,
	              "Errors", (json_int_t)0, "Flows", (json_int_t)0, "FlowsRejected",
	              (json_int_t)0, "RawPackets", (json_int_t)0, "RawPacketsRejected",
	              (json_int_t)0, "LastMessage", (json_int_t)0, "Captures");
	if (h && json_object_set_new(fi->hosts, host, h))
		return NULL;
	return h;
}

int flow_ingest_frame(struct flow_ingest *fi, const char *host, const uint8_t *buf, size_t len,
                      int64_t now_ms, char *err, size_t errlen)
{
	pthread_mutex_lock(&fi->lock);
	/* Decoded into the arena (reset below: nothing to free per field). */
	Flow__Message *m = flow__message__unpack(&fi->alloc, len, buf);
	json_t *h = host_stats(fi, host);
	if (!h) {
		arena_reset(&fi->arena);
		pthread_mutex_unlock(&fi->lock);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	add(h, "Messages", 1);
	add(h, "Bytes", (int64_t)len);
	json_object_set_new(h, "LastMessage", json_integer(now_ms));
	if (!m) {
		add(h, "DecodeErrors", 1);
		arena_reset(&fi->arena);
		pthread_mutex_unlock(&fi->lock);
		snprintf(err, errlen,
		         "a %zu-byte binary frame is not a protobuf flow.Message (proto/flow.proto); "
		         "check the agent's version",
		         len);
		return -EINVAL;
	}
	json_t *caps = child(h, "Captures");
	/* Counted locally, added to the JSON tree once per frame (a frame's flows come
	 * from one capture as a rule: its counter is looked up once per run). */
	int64_t n_flows = 0, n_rejected = 0, n_errors = 0, n_raw = 0, n_raw_rejected = 0;
	const char *cap_id = NULL;
	int64_t cap_flows = 0;
	for (size_t i = 0; i < m->n_flows; i++) {
		const Flow__Flow *f = m->flows[i];
		uint64_t uuid;
		int rc = flow_store_ingest_pb(fi->s, f, now_ms, &uuid);
		if (rc) {
			n_rejected++;
			/* its raw packets go with it: counted too, not silently lost */
			n_raw_rejected += (int64_t)f->n_lastrawpackets;
			if (rc == -ENOMEM)
				n_errors++;
			continue;
		}
		n_flows++;
		if (f->captureid && *f->captureid) {
			if (!cap_id || strcmp(cap_id, f->captureid)) {
				json_t *c = cap_id ? cap_child(fi, caps, cap_id) : NULL;
				if (c)
					add(c, "Flows", cap_flows);
				cap_id = f->captureid;
				cap_flows = 0;
			}
			cap_flows++;
		}
		for (size_t k = 0; k < f->n_lastrawpackets; k++) {
			const Flow__RawPacket *r = f->lastrawpackets[k];
			/* a Skydive agent sends neither TimestampNs nor WireLen: ms and the
			 * data's length then */
			int64_t ts_ns = r->timestampns > 0 ? r->timestampns : r->timestamp * 1000000;
			uint32_t wl = r->wirelen > r->data.len ? r->wirelen : (uint32_t)r->data.len;
			if (r->data.len > UINT32_MAX ||
			    flow_store_add_raw_ns(fi->s, uuid, ts_ns, r->linktype, r->data.data,
			                          (uint32_t)r->data.len, wl))
				n_raw_rejected++;
			else
				n_raw++;
		}
	}
	json_t *cc = cap_id ? cap_child(fi, caps, cap_id) : NULL;
	if (cc)
		add(cc, "Flows", cap_flows);
	if (n_flows)
		add(h, "Flows", n_flows);
	if (n_rejected)
		add(h, "FlowsRejected", n_rejected);
	if (n_errors)
		add(h, "Errors", n_errors);
	if (n_raw)
		add(h, "RawPackets", n_raw);
	if (n_raw_rejected)
		add(h, "RawPacketsRejected", n_raw_rejected);
	const Flow__Stats *st = m->stats;
	json_t *c = st && st->captureid && *st->captureid ? cap_child(fi, caps, st->captureid)
	                                                 : NULL;
	if (c) {
		json_object_set_new(c, "FlowCount", json_integer(st->flowcount));
		json_object_set_new(c, "FlowDropped", json_integer(st->flowdropped));
		json_object_set_new(c, "KernelFlowDropped", json_integer(st->kernelflowdropped));
		json_object_set_new(c, "PacketsReceived", json_integer(st->packetsreceived));
		json_object_set_new(c, "PacketsDropped", json_integer(st->packetsdropped));
		json_object_set_new(c, "Updated", json_integer(now_ms));
	}
	arena_reset(&fi->arena);
	pthread_mutex_unlock(&fi->lock);
	/* a frame is the store's write batch (fsync "always": durable before we answer) */
	flow_store_commit(fi->s);
	return 0;
}

json_t *flow_ingest_status_json(struct flow_ingest *fi)
{
	pthread_mutex_lock(&fi->lock);
	json_t *o = json_deep_copy(fi->hosts);
	pthread_mutex_unlock(&fi->lock);
	return o;
}

void flow_ingest_status_hook(void *user, json_t *status)
{
	struct flow_ingest *fi = user;
	json_t *j = flow_ingest_status_json(fi);
	if (j)
		json_object_set_new(status, "FlowStats", j);
	pthread_mutex_lock(&fi->lock);
	json_t *ev = json_pack("{s:I, s:I, s:I, s:I}", "MaxHosts", (json_int_t)fi->max_hosts,
	                       "HostsEvicted", (json_int_t)fi->hosts_evicted, "MaxCaptures",
	                       (json_int_t)fi->max_captures, "CapturesEvicted",
	                       (json_int_t)fi->captures_evicted);
	pthread_mutex_unlock(&fi->lock);
	if (ev)
		json_object_set_new(status, "FlowStatsLimits", ev);
}
