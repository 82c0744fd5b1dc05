/* pbw.h - private to the extra-layer decoders: a bounded protobuf writer into a
 * caller's buffer. Writing past the end sets err and writes nothing more, so a
 * decoder checks once at the end; a nested message is opened with a 2-byte
 * length slot (the buffers are under 16 KiB) and closed back to the shortest
 * varint, so the bytes are what any protobuf encoder would give. */
#ifndef SKYDIVE_PBW_H
#define SKYDIVE_PBW_H

#include <stdint.h>
#include <string.h>

struct pbw {
	uint8_t *p;
	uint32_t len, cap; /* cap < 16384 */
	uint8_t err;
};

static inline void pbw_raw(struct pbw *w, const void *d, uint32_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = 1;
		return;
	}
	if (n)
		memcpy(w->p + w->len, d, n);
	w->len += n;
}

static inline void pbw_varint(struct pbw *w, uint64_t v)
{
	uint8_t b[10];
	uint32_t n = 0;
	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	pbw_raw(w, b, n);
}

static inline void pbw_tag(struct pbw *w, uint32_t field, unsigned wt)
{
	pbw_varint(w, (uint64_t)field << 3 | wt);
}

/* proto3 scalars: zero is not written */
static inline void pbw_uint(struct pbw *w, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	pbw_tag(w, field, 0);
	pbw_varint(w, v);
}

static inline void pbw_bytes(struct pbw *w, uint32_t field, const void *d, uint32_t n)
{
	if (!n)
		return;
	pbw_tag(w, field, 2);
	pbw_varint(w, n);
	pbw_raw(w, d, n);
}

/* An element of a repeated string: written even when empty. */
static inline void pbw_bytes_rep(struct pbw *w, uint32_t field, const void *d, uint32_t n)
{
	pbw_tag(w, field, 2);
	pbw_varint(w, n);
	pbw_raw(w, d, n);
}

/* Opens a length-delimited field; returns the mark pbw_close() takes. */
static inline uint32_t pbw_open(struct pbw *w, uint32_t field)
{
	pbw_tag(w, field, 2);
	pbw_raw(w, "\0\0", 2);
	return w->len;
}

static inline void pbw_close(struct pbw *w, uint32_t mark)
{
	if (w->err)
		return;
	uint32_t n = w->len - mark;
	if (n < 128) {
		memmove(w->p + mark - 1, w->p + mark, n);
		w->p[mark - 2] = (uint8_t)n;
		w->len--;
	} else {
		w->p[mark - 2] = (uint8_t)(0x80 | (n & 0x7f));
		w->p[mark - 1] = (uint8_t)(n >> 7);
	}
}

#endif
