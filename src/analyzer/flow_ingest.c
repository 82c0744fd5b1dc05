/* flow_ingest.c - /ws/agent/flow frames: queued by the loop to the flow-ingest thread
 * (a one-thread workers.h pool, bounded by frames and bytes), decoding of flow.Message
 * (store/flow_pbdec.h: protobuf-c's structs, in one pass) into the flow store there, per
 * agent and per capture counters for /api/status. */
#include "analyzer/flow_ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "http/workers.h"
#include "common/log.h"
#include "flow.pb-c.h"
#include "store/flow_pbdec.h"

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
	/* The flow-ingest thread (flow_ingest_start): frames queued by the loop. The pool
	 * bounds the frames; the bytes are bounded here (qmu). */
	struct workers *pool;
	pthread_mutex_t qmu;
	pthread_cond_t qcv; /* flow_ingest_hold released */
	int held;
	size_t q_max_frames, q_max_bytes, q_bytes, q_frames;
	uint64_t q_received, q_dropped, q_dropped_bytes;
	int64_t last_err_log; /* decode errors logged at most every 10 s (thread) */
};

/* A frame waiting for the thread: a copy of the bytes, the sender named. */
struct fi_job {
	struct workers_job job; /* first: the pool gives it back */
	struct flow_ingest *fi;
	int64_t now_ms;
	size_t len;
	char host[128], who[128];
	uint8_t data[];
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
	pthread_mutex_init(&fi->qmu, NULL);
	pthread_cond_init(&fi->qcv, NULL);
	fi->s = s;
	fi->max_hosts = FLOW_INGEST_MAX_HOSTS;
	fi->max_captures = FLOW_INGEST_MAX_CAPTURES;
	fi->alloc.alloc = arena_alloc;
	fi->alloc.free = arena_free;
	fi->alloc.allocator_data = &fi->arena;
	return fi;
}

static void jobs_free(struct flow_ingest *fi, struct workers_job *j)
{
	while (j) {
		struct workers_job *nx = j->next;
		struct fi_job *fj = (struct fi_job *)j;
		if (j->canceled) { /* queued when the thread stopped: lost, counted */
			pthread_mutex_lock(&fi->qmu);
			fi->q_dropped++;
			fi->q_dropped_bytes += fj->len;
			fi->q_bytes -= fj->len;
			fi->q_frames--;
			pthread_mutex_unlock(&fi->qmu);
		}
		free(fj);
		j = nx;
	}
}

void flow_ingest_free(struct flow_ingest *fi)
{
	if (!fi)
		return;
	if (fi->pool) {
		flow_ingest_hold(fi, 0);
		workers_stop(fi->pool);
		jobs_free(fi, workers_take_done(fi->pool));
		workers_free(fi->pool);
	}
	pthread_mutex_destroy(&fi->qmu);
	pthread_cond_destroy(&fi->qcv);
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
	/* Decoded into the arena (reset below: nothing to free per field), in one pass when
	 * the frame allows it, else by protobuf-c: the same message either way. */
	Flow__Message *m = flow_pbdec_unpack(&fi->alloc, len, buf);
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
	/* the store's batch form (one lock per few records, its index prefetched); the
	 * arrays come from the frame's arena */
	uint64_t *uuids = m->n_flows ? arena_alloc(&fi->arena, m->n_flows * sizeof(*uuids)) : NULL;
	int *rcs = m->n_flows ? arena_alloc(&fi->arena, m->n_flows * sizeof(*rcs)) : NULL;
	if (m->n_flows && (!uuids || !rcs)) {
		add(h, "Errors", 1);
		add(h, "FlowsRejected", (int64_t)m->n_flows);
		arena_reset(&fi->arena);
		pthread_mutex_unlock(&fi->lock);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (m->n_flows)
		flow_store_ingest_pb_batch(fi->s, (const Flow__Flow *const *)m->flows, m->n_flows,
					   now_ms, uuids, rcs);
	for (size_t i = 0; i < m->n_flows; i++) {
		const Flow__Flow *f = m->flows[i];
		uint64_t uuid = uuids[i];
		int rc = rcs[i];
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

/* On the thread: one queued frame decoded and stored. */
static void job_run(struct workers_job *j)
{
	struct fi_job *fj = (struct fi_job *)j;
	struct flow_ingest *fi = fj->fi;
	char err[256];
	pthread_mutex_lock(&fi->qmu);
	while (fi->held)
		pthread_cond_wait(&fi->qcv, &fi->qmu);
	pthread_mutex_unlock(&fi->qmu);
	if (flow_ingest_frame(fi, fj->host, fj->data, fj->len, fj->now_ms, err, sizeof(err))) {
		/* counted per agent (FlowStats); logged at most every 10 s, any sender */
		pthread_mutex_lock(&fi->qmu);
		int say = fj->now_ms - fi->last_err_log >= 10000 || !fi->last_err_log;
		if (say)
			fi->last_err_log = fj->now_ms;
		pthread_mutex_unlock(&fi->qmu);
		if (say)
			log_warn("api: flow frame from agent %s (%s) dropped: %s (counted in "
				 "/api/status FlowStats; the next ones are logged at most every 10 s)",
				 fj->host, fj->who, err);
	}
	pthread_mutex_lock(&fi->qmu);
	fi->q_bytes -= fj->len;
	fi->q_frames--;
	pthread_mutex_unlock(&fi->qmu);
}

/* After each job, on the thread: the finished frames freed there (the loop has
 * nothing to collect). */
static void job_done(void *user)
{
	struct flow_ingest *fi = user;
	jobs_free(fi, workers_take_done(fi->pool));
}

int flow_ingest_start(struct flow_ingest *fi, size_t max_frames, size_t max_bytes, char *err,
		      size_t errlen)
{
	fi->q_max_frames = max_frames ? max_frames : FLOW_INGEST_QUEUE;
	fi->q_max_bytes = max_bytes ? max_bytes : FLOW_INGEST_QUEUE_BYTES;
	/* the bound is ours (q_frames, q_bytes); the pool's is one frame larger, so a frame
	 * the thread has just finished but the pool still counts never refuses a new one */
	fi->pool = workers_new(1, fi->q_max_frames, job_done, fi, err, errlen);
	return fi->pool ? 0 : -ENOMEM;
}

void flow_ingest_hold(struct flow_ingest *fi, int hold)
{
	pthread_mutex_lock(&fi->qmu);
	fi->held = hold;
	pthread_cond_broadcast(&fi->qcv);
	pthread_mutex_unlock(&fi->qmu);
}

int flow_ingest_submit(struct flow_ingest *fi, const char *host, const char *who,
		       const uint8_t *buf, size_t len, int64_t now_ms)
{
	if (!fi->pool) {
		char err[256];
		return flow_ingest_frame(fi, host, buf, len, now_ms, err, sizeof(err));
	}
	pthread_mutex_lock(&fi->qmu);
	fi->q_received++;
	int full = fi->q_bytes + len > fi->q_max_bytes || fi->q_frames >= fi->q_max_frames;
	if (!full) { /* reserved now, so two submits cannot both take the last room */
		fi->q_bytes += len;
		fi->q_frames++;
	}
	pthread_mutex_unlock(&fi->qmu);
	struct fi_job *fj = full ? NULL : malloc(sizeof(*fj) + len);
	if (fj) {
		memset(fj, 0, sizeof(*fj));
		fj->job.run = job_run;
		fj->fi = fi;
		fj->now_ms = now_ms;
		fj->len = len;
		snprintf(fj->host, sizeof(fj->host), "%s", host ? host : "");
		snprintf(fj->who, sizeof(fj->who), "%s", who ? who : "");
		if (len)
			memcpy(fj->data, buf, len);
		if (!workers_submit(fi->pool, &fj->job))
			return 0;
		free(fj);
		fj = NULL;
	}
	pthread_mutex_lock(&fi->qmu);
	if (!full) {
		fi->q_bytes -= len;
		fi->q_frames--;
	}
	fi->q_dropped++;
	fi->q_dropped_bytes += len;
	pthread_mutex_unlock(&fi->qmu);
	return full ? -ENOBUFS : -ENOMEM;
}

void flow_ingest_queue_stats(struct flow_ingest *fi, struct flow_ingest_queue_stats *out)
{
	pthread_mutex_lock(&fi->qmu);
	*out = (struct flow_ingest_queue_stats){.threaded = fi->pool != NULL,
						.max_frames = fi->q_max_frames,
						.max_bytes = fi->q_max_bytes,
						.frames = fi->q_frames,
						.bytes = fi->q_bytes,
						.received = fi->q_received,
						.dropped = fi->q_dropped,
						.dropped_bytes = fi->q_dropped_bytes};
	pthread_mutex_unlock(&fi->qmu);
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
	struct flow_ingest_queue_stats q;
	flow_ingest_queue_stats(fi, &q);
	json_t *qj = json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "Threaded", q.threaded,
			       "MaxFrames", (json_int_t)q.max_frames, "MaxBytes",
			       (json_int_t)q.max_bytes, "Frames", (json_int_t)q.frames, "Bytes",
			       (json_int_t)q.bytes, "Received", (json_int_t)q.received, "Dropped",
			       (json_int_t)q.dropped, "DroppedBytes", (json_int_t)q.dropped_bytes);
	/* beside the store's counters ("Flows", flow_store_status_hook: either may come
	 * first) */
	json_t *flows = json_object_get(status, "Flows");
	if (!json_is_object(flows) && (flows = json_object()))
		json_object_set_new(status, "Flows", flows);
	if (qj && flows)
		json_object_set_new(flows, "IngestQueue", qj);
	else
		json_decref(qj);
}
