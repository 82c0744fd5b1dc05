/* buf.h - a growable output buffer with JSON helpers, flushed to a FILE in chunks. */
#ifndef SKYDIVE_BUF_H
#define SKYDIVE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The buffer owns its memory. When out is set, buf_maybe_flush() writes the
 * content to it once it grows past flush_at; a write error is kept in err. */
struct buf {
	char *data;
	size_t len, cap;
	FILE *out;
	int err; /* 0 or -errno of the first failed allocation or write */
};

void buf_init(struct buf *b, FILE *out);
void buf_free(struct buf *b);
/* Makes room for n more bytes; returns 0 or -ENOMEM (then err is set too). */
int buf_reserve(struct buf *b, size_t n);
/* Slow path of the appenders below: grows the buffer, then appends. */
void buf_put_slow(struct buf *b, const void *p, size_t n);

static inline void buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n <= b->cap) {
		__builtin_memcpy(b->data + b->len, p, n);
		b->len += n;
	} else {
		buf_put_slow(b, p, n);
	}
}

static inline void buf_putc(struct buf *b, char c)
{
	if (b->len < b->cap)
		b->data[b->len++] = c;
	else
		buf_put_slow(b, &c, 1);
}

static inline void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, __builtin_strlen(s));
}

/* A string literal, its length known at compile time. */
#define buf_putl(b, lit) buf_put((b), (lit), sizeof(lit) - 1)

void buf_put_i64(struct buf *b, int64_t v);
void buf_put_u64(struct buf *b, uint64_t v);
/* A JSON string with quotes and escapes. */
void buf_put_json_str(struct buf *b, const char *s);
/* The same for s[0..n), which may hold NULs (written \u0000). */
void buf_put_json_strn(struct buf *b, const void *s, size_t n);
/* Writes everything to out; returns 0 or -errno. */
int buf_flush(struct buf *b);
static inline void buf_maybe_flush(struct buf *b)
{
	if (b->out && b->len >= 1 << 16)
		buf_flush(b);
}

#endif
