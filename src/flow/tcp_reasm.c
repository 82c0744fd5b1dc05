/* tcp_reasm.c - per-flow TCP stream reassembly (see tcp_reasm.h).
 *
 * State: one struct conn per flow slot (two streams), in an array reserved
 * at creation whose pages are touched only by TCP flows; buffered segments
 * are descriptors from a fixed pool, sorted by sequence number in a list per
 * stream, their bytes in a chunkpool. Connections with buffered bytes are
 * linked in a pending list, so expiry looks at nothing else. Sequence
 * numbers compare modulo 2^32. */
#include "flow/tcp_reasm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/util.h"
#include "flow/chunkpool.h"

#define NS_PER_S 1000000000ull
#define SEG_MAX 65536u /* largest segment copied aside */

struct seg {
	uint32_t seq, len, clen; /* wire payload [seq, seq + len), clen of it captured */
	uint32_t h;              /* chunkpool handle (0 when clen is 0) */
	uint32_t next;           /* next in the stream's list, or free list */
	uint32_t pad;
	uint64_t ts_ns;
};

struct stream {
	uint32_t next_seq; /* next byte expected */
	uint32_t head;     /* buffered segments, by seq */
	uint32_t buf_bytes;
	uint16_t nseg;
	uint8_t started, ended, start_pending;
	uint64_t oldest_ns;    /* arrival of the oldest buffered segment */
	uint64_t end_ns;       /* arrival of the latest bytes delivered */
	uint64_t skip_pending; /* bytes missing before the next delivery */
};

struct conn {
	struct stream d[2];
	uint32_t pend_next, pend_prev; /* pending list (slot + 1), 0 = none */
	uint8_t pending;
};

struct tcp_reasm {
	struct tcp_reasm_opts o;
	struct flow_tcp_metric *m;
	tcp_reasm_fn sink;
	void *user;
	struct conn *c;
	size_t c_bytes;
	struct seg *segs; /* max_segments + 1, 0 unused */
	size_t segs_bytes;
	uint32_t seg_bumped, seg_free, seg_used;
	uint32_t pend_head; /* slot + 1 */
	struct chunkpool pool;
	uint64_t timeout_ns;
	struct tcp_reasm_stats st;
	uint8_t scratch[SEG_MAX];
};

static inline int32_t sdiff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct tcp_reasm *tcp_reasm_new(const struct tcp_reasm_opts *o, struct flow_tcp_metric *metrics,
				tcp_reasm_fn sink, void *user, char *err, size_t errlen)
{
	struct tcp_reasm *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->o = *o;
	if (!r->o.max_segments)
		r->o.max_segments = 16384;
	if (!r->o.max_bytes)
		r->o.max_bytes = 8u << 20;
	if (!r->o.stream_segments)
		r->o.stream_segments = 64;
	if (!r->o.stream_bytes)
		r->o.stream_bytes = 256u << 10;
	if (!r->o.timeout_s)
		r->o.timeout_s = 30;
	if (r->o.stream_segments > 65535 || r->o.max_segments > (1u << 26) || !r->o.slots) {
		snprintf(err, errlen, "TCP reassembly: bad limits");
		free(r);
		return NULL;
	}
	r->timeout_ns = (uint64_t)r->o.timeout_s * NS_PER_S;
	r->m = metrics;
	r->sink = sink;
	r->user = user;
	r->c_bytes = (size_t)r->o.slots * sizeof(struct conn);
	r->c = reserve(r->c_bytes);
	r->segs_bytes = ((size_t)r->o.max_segments + 1) * sizeof(struct seg);
	r->segs = reserve(r->segs_bytes);
	if (!r->c || !r->segs || chunkpool_init(&r->pool, r->o.max_bytes)) {
		snprintf(err, errlen, "TCP reassembly: cannot reserve memory");
		tcp_reasm_free(r);
		return NULL;
	}
	return r;
}

void tcp_reasm_free(struct tcp_reasm *r)
{
	if (!r)
		return;
	if (r->c)
		munmap(r->c, r->c_bytes);
	if (r->segs)
		munmap(r->segs, r->segs_bytes);
	chunkpool_fini(&r->pool);
	free(r);
}

const struct tcp_reasm_stats *tcp_reasm_stats(const struct tcp_reasm *r)
{
	return &r->st;
}

size_t tcp_reasm_memory(const struct tcp_reasm *r, uint32_t nslots)
{
	return sizeof(*r) + ((size_t)r->seg_bumped + 1) * sizeof(struct seg) +
	       chunkpool_memory(&r->pool) + (size_t)nslots * sizeof(struct conn);
}

size_t tcp_reasm_memory_bound(const struct tcp_reasm *r)
{
	return sizeof(*r) + r->segs_bytes +
	       (size_t)r->pool.nchunks * (CHUNKPOOL_CHUNK + sizeof(uint32_t));
}

/* ---- pending list -------------------------------------------------------- */

static void pend_add(struct tcp_reasm *r, uint32_t slot)
{
	struct conn *c = &r->c[slot];
	if (c->pending)
		return;
	c->pending = 1;
	c->pend_prev = 0;
	c->pend_next = r->pend_head;
	if (r->pend_head)
		r->c[r->pend_head - 1].pend_prev = slot + 1;
	r->pend_head = slot + 1;
}

static void pend_check(struct tcp_reasm *r, uint32_t slot)
{
	struct conn *c = &r->c[slot];
	if (!c->pending || c->d[0].nseg || c->d[1].nseg)
		return;
	if (c->pend_prev)
		r->c[c->pend_prev - 1].pend_next = c->pend_next;
	else
		r->pend_head = c->pend_next;
	if (c->pend_next)
		r->c[c->pend_next - 1].pend_prev = c->pend_prev;
	c->pending = 0;
	c->pend_next = c->pend_prev = 0;
}

/* ---- delivery ----------------------------------------------------------- */

static void emit(struct tcp_reasm *r, uint32_t slot, int dir, const uint8_t *data, uint32_t len,
		 unsigned flags, uint64_t ts_ns)
{
	struct stream *s = &r->c[slot].d[dir];
	struct flow_tcp_stream *m = &r->m[slot].seg[dir];
	if (len) {
		m->packets++;
		m->bytes += len;
		/* Skydive's rule (flow/tcpassembler.go): bytes delivered that
		 * arrived before bytes delivered already are out of order. */
		if (ts_ns < s->end_ns)
			m->out_of_order++;
		else
			s->end_ns = ts_ns;
		if (s->start_pending) {
			flags |= TCP_REASM_START;
			s->start_pending = 0;
		}
	}
	if (r->sink && (len || (flags & TCP_REASM_END)))
		r->sink(r->user, slot, dir, data, len, s->skip_pending, flags, ts_ns);
	if (len || (flags & TCP_REASM_END))
		s->skip_pending = 0;
}

static void skip(struct tcp_reasm *r, uint32_t slot, int dir, uint64_t gap)
{
	struct flow_tcp_stream *m = &r->m[slot].seg[dir];
	m->skipped++;
	m->skipped_bytes += gap;
	r->c[slot].d[dir].skip_pending += gap;
}

/* Cuts the part of [*seq, *seq + *len) before next; 0 when nothing is left. */
static int trim(uint32_t next, uint32_t *seq, uint32_t *len, uint32_t *clen, const uint8_t **data)
{
	int32_t d = sdiff(next, *seq);
	if (d <= 0)
		return 1;
	if ((uint32_t)d >= *len)
		return 0; /* all of it came already */
	*seq += (uint32_t)d;
	*len -= (uint32_t)d;
	if ((uint32_t)d >= *clen) {
		*clen = 0;
	} else {
		*clen -= (uint32_t)d;
		if (*data)
			*data += d;
	}
	return 1;
}

/* Delivers bytes that start at next_seq. */
static void in_order(struct tcp_reasm *r, uint32_t slot, int dir, uint32_t len, uint32_t clen,
		     const uint8_t *data, uint64_t ts_ns)
{
	struct stream *s = &r->c[slot].d[dir];
	if (clen)
		emit(r, slot, dir, data, clen, 0, ts_ns);
	if (clen < len) {
		r->st.cut++;
		skip(r, slot, dir, len - clen);
	}
	s->next_seq += len;
}

static void seg_release(struct tcp_reasm *r, struct stream *s, uint32_t i)
{
	struct seg *g = &r->segs[i];
	s->head = g->next;
	s->nseg--;
	s->buf_bytes -= g->clen;
	r->st.segs_held--;
	r->st.bytes_held -= g->clen;
	chunkpool_release(&r->pool, g->h);
	g->next = r->seg_free;
	r->seg_free = i;
	r->seg_used--;
}

/* Delivers a buffered segment (head of s) at next_seq, if any of it is new;
 * gives it back. */
static void pop_deliver(struct tcp_reasm *r, uint32_t slot, int dir)
{
	struct stream *s = &r->c[slot].d[dir];
	struct seg g = r->segs[s->head];
	if (g.clen)
		chunkpool_get(&r->pool, g.h, r->scratch, g.clen);
	seg_release(r, s, s->head);
	const uint8_t *data = r->scratch;
	if (trim(s->next_seq, &g.seq, &g.len, &g.clen, &data))
		in_order(r, slot, dir, g.len, g.clen, data, g.ts_ns);
}

static void restamp(struct tcp_reasm *r, struct stream *s)
{
	uint64_t o = UINT64_MAX;
	for (uint32_t i = s->head; i; i = r->segs[i].next)
		if (r->segs[i].ts_ns < o)
			o = r->segs[i].ts_ns;
	s->oldest_ns = o;
}

/* Delivers the buffered segments the stream has reached. */
static void pull(struct tcp_reasm *r, uint32_t slot, int dir)
{
	struct stream *s = &r->c[slot].d[dir];
	int any = 0;
	while (s->head && sdiff(r->segs[s->head].seq, s->next_seq) <= 0) {
		pop_deliver(r, slot, dir);
		any = 1;
	}
	if (any) {
		restamp(r, s);
		pend_check(r, slot);
	}
}

/* Gives up every hole of the stream: the buffered bytes are delivered
 * after the gaps before them. */
static void give_up(struct tcp_reasm *r, uint32_t slot, int dir)
{
	struct stream *s = &r->c[slot].d[dir];
	while (s->head) {
		int32_t gap = sdiff(r->segs[s->head].seq, s->next_seq);
		if (gap > 0) {
			skip(r, slot, dir, (uint32_t)gap);
			s->next_seq += (uint32_t)gap;
		}
		pop_deliver(r, slot, dir);
	}
	pend_check(r, slot);
}

/* Copies a segment aside; 0, or -1 when a bound says no. */
static int buffer(struct tcp_reasm *r, uint32_t slot, int dir, uint32_t seq, uint32_t len,
		  uint32_t clen, const uint8_t *data, uint64_t ts_ns)
{
	struct stream *s = &r->c[slot].d[dir];
	/* where it goes; an exact retransmission of a buffered one is dropped */
	uint32_t *pp = &s->head;
	while (*pp && sdiff(r->segs[*pp].seq, seq) < 0)
		pp = &r->segs[*pp].next;
	if (*pp && r->segs[*pp].seq == seq && r->segs[*pp].len >= len)
		return 0;
	if (s->nseg >= r->o.stream_segments || s->buf_bytes + clen > r->o.stream_bytes ||
	    clen > SEG_MAX || r->seg_used >= r->o.max_segments ||
	    chunkpool_chunks(clen) > r->pool.nchunks - r->pool.used)
		return -1;
	uint32_t i = r->seg_free;
	if (i)
		r->seg_free = r->segs[i].next;
	else
		i = ++r->seg_bumped;
	r->seg_used++;
	struct seg *g = &r->segs[i];
	g->seq = seq;
	g->len = len;
	g->clen = clen;
	g->h = clen ? chunkpool_put(&r->pool, data, clen) : 0;
	g->ts_ns = ts_ns;
	g->next = *pp;
	*pp = i;
	if (!s->nseg || ts_ns < s->oldest_ns)
		s->oldest_ns = ts_ns;
	s->nseg++;
	s->buf_bytes += clen;
	r->st.buffered++;
	if (++r->st.segs_held > r->st.peak_segs_held)
		r->st.peak_segs_held = r->st.segs_held;
	r->st.bytes_held += clen;
	if (r->st.bytes_held > r->st.peak_bytes_held)
		r->st.peak_bytes_held = r->st.bytes_held;
	pend_add(r, slot);
	return 0;
}

/* The wire length of the TCP payload: from the IP header that carries the
 * TCP header directly, else (IPv6 extension headers, a TSO length 0) the
 * captured part. */
static uint32_t wire_payload(const uint8_t *p, uint32_t caplen, const struct decode_seg *g,
			     uint32_t pay, uint32_t cap_end)
{
	uint32_t ip = g->ip_off, end = cap_end;
	if (g->ip_ver == 4 && ip + 20 <= caplen && p[ip + 9] == 6 &&
	    ip + (uint32_t)(p[ip] & 0x0f) * 4 == g->tcp_off && rd16(p + ip + 2))
		end = ip + rd16(p + ip + 2);
	else if (g->ip_ver == 6 && ip + 40 <= caplen && p[ip + 6] == 6 && ip + 40 == g->tcp_off &&
		 rd16(p + ip + 4))
		end = ip + 40 + rd16(p + ip + 4);
	return end > pay ? end - pay : 0;
}

void tcp_reasm_segment(struct tcp_reasm *r, uint32_t slot, int dir, const uint8_t *frame,
		       uint32_t caplen, const struct decode_seg *g, uint64_t ts_ns)
{
	uint32_t t = g->tcp_off;
	if (slot >= r->o.slots || t > caplen || caplen - t < 20)
		return;
	r->st.segments++;
	const uint8_t *tcp = frame + t;
	uint32_t seq = rd32(tcp + 4);
	uint8_t fl = tcp[13];
	uint32_t pay = t + (uint32_t)(tcp[12] >> 4) * 4;
	uint32_t cap_end = g->tcp_end < caplen ? g->tcp_end : caplen;
	uint32_t clen = cap_end > pay ? cap_end - pay : 0;
	uint32_t len = wire_payload(frame, caplen, g, pay, cap_end);
	if (clen > len)
		clen = len;
	const uint8_t *data = clen ? frame + pay : NULL;
	struct stream *s = &r->c[slot].d[dir];
	struct flow_tcp_stream *m = &r->m[slot].seg[dir];
	int syn = !!(fl & DECODE_TCP_SYN);
	if (!s->started) {
		/* The first segment seen starts the stream, with or without a
		 * SYN (a capture started mid-connection loses nothing). */
		s->started = 1;
		s->next_seq = seq + (uint32_t)syn;
	}
	if (syn && !m->saw_start) {
		m->saw_start = 1;
		s->start_pending = 1;
	}
	uint32_t dseq = seq + (uint32_t)syn;
	if (len && !s->ended) {
		if (sdiff(dseq, s->next_seq) > 0) {
			if (buffer(r, slot, dir, dseq, len, clen, data, ts_ns)) {
				/* no room to wait for the hole: give it up */
				r->st.gaps_full++;
				give_up(r, slot, dir);
				int32_t gap = sdiff(dseq, s->next_seq);
				if (gap > 0) {
					skip(r, slot, dir, (uint32_t)gap);
					s->next_seq = dseq;
				}
				if (trim(s->next_seq, &dseq, &len, &clen, &data))
					in_order(r, slot, dir, len, clen, data, ts_ns);
			}
		} else if (trim(s->next_seq, &dseq, &len, &clen, &data)) {
			in_order(r, slot, dir, len, clen, data, ts_ns);
			pull(r, slot, dir);
		}
	}
	if (fl & (DECODE_TCP_FIN | DECODE_TCP_RST)) {
		m->saw_end = 1;
		if (!s->nseg && !s->ended) {
			s->ended = 1;
			emit(r, slot, dir, NULL, 0, TCP_REASM_END, ts_ns);
		}
	}
}

void tcp_reasm_close(struct tcp_reasm *r, uint32_t slot, uint64_t ts_ns)
{
	if (slot >= r->o.slots)
		return;
	struct conn *c = &r->c[slot];
	for (int dir = 0; dir < 2; dir++) {
		struct stream *s = &c->d[dir];
		if (!s->started)
			continue;
		if (s->nseg) {
			r->st.gaps_closed++;
			give_up(r, slot, dir);
		}
		if (!s->ended)
			emit(r, slot, dir, NULL, 0, TCP_REASM_END, ts_ns);
	}
	memset(c, 0, sizeof(*c));
}

void tcp_reasm_reset(struct tcp_reasm *r, uint32_t slot)
{
	if (slot < r->o.slots && (r->c[slot].d[0].started || r->c[slot].d[1].started))
		tcp_reasm_close(r, slot, 0);
}

void tcp_reasm_expire(struct tcp_reasm *r, uint64_t now_ns)
{
	uint32_t p = r->pend_head;
	while (p) {
		uint32_t slot = p - 1;
		uint32_t next = r->c[slot].pend_next;
		for (int dir = 0; dir < 2; dir++) {
			struct stream *s = &r->c[slot].d[dir];
			if (s->nseg && s->oldest_ns + r->timeout_ns <= now_ns) {
				r->st.gaps_timeout++;
				give_up(r, slot, dir);
			}
		}
		p = next;
	}
}
