/* dns_tcp.c - DNS over TCP message framing on reassembled streams (see
 * dns_tcp.h).
 *
 * Per stream: where it is in the length prefix, the message's length and
 * how much of it came, and the chunk chain holding it when it spans
 * deliveries. A message whole in one delivery is handed on from the
 * delivered bytes, with no copy. */
#include "flow/dns_tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "flow/chunkpool.h"
#include "flow/tcp_reasm.h"

enum mode {
	M_KEEP = 0, /* the message is read */
	M_DROP,     /* the rest of this message is passed over (counted already) */
	M_LOST,     /* a hole took the framing: nothing more is read */
};

struct dstream {
	uint32_t h;    /* chunk chain of the unfinished message, 0 = none */
	uint16_t mlen; /* its length, once both prefix bytes came */
	uint16_t got;  /* its bytes come so far (kept or passed over) */
	uint8_t nhdr;  /* prefix bytes come: 0, 1 or 2 */
	uint8_t hdr0;  /* the first one */
	uint8_t mode;  /* enum mode */
	uint8_t pad;
	uint64_t ts_ns; /* latest arrival among the message's bytes */
};

struct dconn {
	struct dstream d[2];
};

struct dns_tcp {
	struct dns_tcp_opts o;
	dns_tcp_fn fn;
	void *user;
	struct dconn *c;
	size_t c_bytes;
	struct chunkpool pool;
	struct dns_tcp_stats st;
	uint8_t scratch[65535];
};

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct dns_tcp *dns_tcp_new(const struct dns_tcp_opts *o, dns_tcp_fn fn, void *user, char *err,
                            size_t errlen)
{
	if (!o->slots || o->msg_max > 65535) {
		snprintf(err, errlen, "DNS over TCP: bad limits");
		return NULL;
	}
	struct dns_tcp *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->o = *o;
	if (!d->o.max_bytes)
		d->o.max_bytes = DNS_TCP_BYTES;
	if (!d->o.msg_max)
		d->o.msg_max = DNS_TCP_MSG_MAX;
	d->fn = fn;
	d->user = user;
	d->c_bytes = (size_t)d->o.slots * sizeof(struct dconn);
	d->c = reserve(d->c_bytes);
	if (!d->c || chunkpool_init(&d->pool, d->o.max_bytes)) {
		snprintf(err, errlen, "DNS over TCP: cannot reserve memory");
		dns_tcp_free(d);
		return NULL;
	}
	return d;
}

void dns_tcp_free(struct dns_tcp *d)
{
	if (!d)
		return;
	if (d->c)
		munmap(d->c, d->c_bytes);
	chunkpool_fini(&d->pool);
	free(d);
}

const struct dns_tcp_stats *dns_tcp_stats(const struct dns_tcp *d)
{
	return &d->st;
}

size_t dns_tcp_memory(const struct dns_tcp *d, uint32_t nslots)
{
	return sizeof(*d) + chunkpool_memory(&d->pool) + (size_t)nslots * sizeof(struct dconn);
}

/* Gives the unfinished message's room back. */
static void release(struct dns_tcp *d, struct dstream *s)
{
	if (!s->h)
		return;
	chunkpool_release(&d->pool, s->h);
	d->st.bytes_held -= s->mlen;
	s->h = 0;
}

/* The stream is at a message boundary (its chain released). */
static void boundary(struct dstream *s)
{
	s->nhdr = 0;
	s->mlen = s->got = 0;
	s->mode = M_KEEP;
	s->ts_ns = 0;
}

static void deliver(struct dns_tcp *d, uint32_t slot, int dir, const uint8_t *msg, uint32_t len,
                    uint64_t ts_ns)
{
	d->st.messages++;
	if (d->fn)
		d->fn(d->user, slot, dir, msg, len, ts_ns);
}

/* n bytes are missing here. Inside a message's body the length says where
 * the next one starts: only that message is lost. Anywhere else (a
 * boundary, a prefix, past the message's end) the framing is gone. */
static void hole(struct dns_tcp *d, struct dstream *s, uint64_t n)
{
	if (s->mode == M_LOST)
		return;
	if (s->nhdr == 2 && n <= (uint64_t)(s->mlen - s->got)) {
		if (s->mode == M_KEEP) {
			d->st.hole++;
			release(d, s);
			s->mode = M_DROP;
		}
		s->got = (uint16_t)(s->got + n);
		if (s->got == s->mlen)
			boundary(s);
		return;
	}
	d->st.lost_sync++;
	release(d, s);
	s->mode = M_LOST;
}

void dns_tcp_data(struct dns_tcp *d, uint32_t slot, int dir, const uint8_t *data, uint32_t len,
                  uint64_t skipped, unsigned flags, uint64_t ts_ns)
{
	if (!d || slot >= d->o.slots || (dir != 0 && dir != 1))
		return;
	struct dstream *s = &d->c[slot].d[dir];
	if (skipped)
		hole(d, s, skipped);
	const uint8_t *p = data;
	uint32_t n = data ? len : 0;
	while (n && s->mode != M_LOST) {
		if (ts_ns > s->ts_ns)
			s->ts_ns = ts_ns;
		if (s->nhdr == 0) {
			s->hdr0 = *p++;
			n--;
			s->nhdr = 1;
			continue;
		}
		if (s->nhdr == 1) {
			s->mlen = (uint16_t)(s->hdr0 << 8 | *p++);
			n--;
			s->nhdr = 2;
			s->got = 0;
			if (s->mlen > d->o.msg_max) {
				d->st.too_big++;
				s->mode = M_DROP;
			} else if (!s->mlen) {
				deliver(d, slot, dir, d->scratch, 0, s->ts_ns);
				boundary(s);
			}
			continue;
		}
		uint32_t want = (uint32_t)(s->mlen - s->got), take = n < want ? n : want;
		if (s->mode == M_KEEP) {
			if (!s->got && take == want) { /* whole in this delivery */
				uint64_t ts = s->ts_ns;
				boundary(s);
				deliver(d, slot, dir, p, want, ts);
				p += take;
				n -= take;
				continue;
			}
			if (!s->h) {
				s->h = chunkpool_alloc(&d->pool, s->mlen);
				if (s->h) {
					d->st.bytes_held += s->mlen;
					if (d->st.bytes_held > d->st.peak_bytes_held)
						d->st.peak_bytes_held = d->st.bytes_held;
				} else {
					d->st.no_room++;
					s->mode = M_DROP;
				}
			}
			if (s->h)
				chunkpool_write(&d->pool, s->h, s->got, p, take);
		}
		s->got = (uint16_t)(s->got + take);
		p += take;
		n -= take;
		if (s->got == s->mlen) {
			uint32_t l = s->mlen;
			uint64_t ts = s->ts_ns;
			int keep = s->mode == M_KEEP && s->h;
			if (keep)
				chunkpool_get(&d->pool, s->h, d->scratch, l);
			release(d, s);
			boundary(s);
			if (keep)
				deliver(d, slot, dir, d->scratch, l, ts);
		}
	}
	if (flags & TCP_REASM_END) {
		if (s->mode == M_KEEP && s->nhdr)
			d->st.unfinished++;
		release(d, s);
		memset(s, 0, sizeof(*s));
	}
}

void dns_tcp_reset(struct dns_tcp *d, uint32_t slot)
{
	if (!d || slot >= d->o.slots)
		return;
	for (int dir = 0; dir < 2; dir++) {
		release(d, &d->c[slot].d[dir]);
		memset(&d->c[slot].d[dir], 0, sizeof(struct dstream));
	}
}
