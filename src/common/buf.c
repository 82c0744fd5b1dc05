/* buf.c - growable output buffer. */
#include "common/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, FILE *out)
{
	memset(b, 0, sizeof(*b));
	b->out = out;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p) {
		b->err = -ENOMEM;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void buf_put_slow(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void buf_put_u64(struct buf *b, uint64_t v)
{
	char tmp[20];
	int n = 20;
	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_put(b, tmp + n, (size_t)(20 - n));
}

void buf_put_i64(struct buf *b, int64_t v)
{
	if (v < 0) {
		buf_putc(b, '-');
		buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		buf_put_u64(b, (uint64_t)v);
	}
}

/* The escape of a byte JSON does not take as is: '"', '\\' or a control character. */
static void json_esc(struct buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	if (c == '"' || c == '\\') {
		char esc[2] = {'\\', (char)c};
		buf_put(b, esc, 2);
	} else {
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
		buf_put(b, esc, 6);
	}
}

void buf_put_json_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	buf_putc(b, '"');
	/* Copy runs of plain characters at once; escape the rest. */
	for (;; p++) {
		unsigned char c = *p;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_put(b, run, (size_t)(p - run));
		if (!c)
			break;
		json_esc(b, c);
		run = p + 1;
	}
	buf_putc(b, '"');
}

void buf_put_json_strn(struct buf *b, const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t run = 0;
	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_put(b, p + run, i - run);
		json_esc(b, c);
		run = i + 1;
	}
	buf_put(b, p + run, n - run);
	buf_putc(b, '"');
}

int buf_flush(struct buf *b)
{
	if (!b->out || !b->len)
		return b->err;
	if (fwrite(b->data, 1, b->len, b->out) != b->len && !b->err)
		b->err = -errno ? -errno : -EIO;
	b->len = 0;
	return b->err;
}
