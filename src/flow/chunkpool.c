/* chunkpool.c - fixed-budget chunk storage (see chunkpool.h). */
#include "flow/chunkpool.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int chunkpool_init(struct chunkpool *p, size_t budget)
{
	memset(p, 0, sizeof(*p));
	size_t n = (budget + CHUNKPOOL_CHUNK - 1) / CHUNKPOOL_CHUNK;
	if (!n)
		n = 1;
	if (n > (1u << 30))
		return -ENOMEM;
	p->nchunks = (uint32_t)n;
	p->mem_bytes = n * CHUNKPOOL_CHUNK;
	p->next_bytes = (n + 1) * sizeof(uint32_t);
	p->mem = reserve(p->mem_bytes);
	p->next = reserve(p->next_bytes);
	if (!p->mem || !p->next) {
		chunkpool_fini(p);
		return -ENOMEM;
	}
	return 0;
}

void chunkpool_fini(struct chunkpool *p)
{
	if (p->mem)
		munmap(p->mem, p->mem_bytes);
	if (p->next)
		munmap(p->next, p->next_bytes);
	memset(p, 0, sizeof(*p));
}

/* One free chunk (1-based); the caller checked that there is one. */
static uint32_t take(struct chunkpool *p)
{
	uint32_t c = p->free_head;
	if (c)
		p->free_head = p->next[c];
	else
		c = ++p->bumped;
	p->next[c] = 0;
	return c;
}

uint32_t chunkpool_alloc(struct chunkpool *p, uint32_t len)
{
	uint32_t need = chunkpool_chunks(len);
	if (!len || need > p->nchunks - p->used)
		return 0;
	uint32_t head = 0, prev = 0;
	for (uint32_t i = 0; i < need; i++) {
		uint32_t c = take(p);
		if (prev)
			p->next[prev] = c;
		else
			head = c;
		prev = c;
	}
	p->used += need;
	if (p->used > p->peak)
		p->peak = p->used;
	return head;
}

void chunkpool_write(struct chunkpool *p, uint32_t h, uint32_t off, const uint8_t *data,
		     uint32_t len)
{
	for (; h && off >= CHUNKPOOL_CHUNK; off -= CHUNKPOOL_CHUNK)
		h = p->next[h];
	while (h && len) {
		uint32_t n = CHUNKPOOL_CHUNK - off < len ? CHUNKPOOL_CHUNK - off : len;
		memcpy(p->mem + (size_t)(h - 1) * CHUNKPOOL_CHUNK + off, data, n);
		data += n;
		len -= n;
		off = 0;
		h = p->next[h];
	}
}

uint32_t chunkpool_put(struct chunkpool *p, const uint8_t *data, uint32_t len)
{
	uint32_t h = chunkpool_alloc(p, len);
	if (h)
		chunkpool_write(p, h, 0, data, len);
	return h;
}

void chunkpool_get(const struct chunkpool *p, uint32_t h, uint8_t *out, uint32_t len)
{
	for (uint32_t done = 0; h && done < len; done += CHUNKPOOL_CHUNK, h = p->next[h]) {
		uint32_t n = len - done < CHUNKPOOL_CHUNK ? len - done : CHUNKPOOL_CHUNK;
		memcpy(out + done, p->mem + (size_t)(h - 1) * CHUNKPOOL_CHUNK, n);
	}
}

void chunkpool_release(struct chunkpool *p, uint32_t h)
{
	while (h) {
		uint32_t n = p->next[h];
		p->next[h] = p->free_head;
		p->free_head = h;
		p->used--;
		h = n;
	}
}

size_t chunkpool_memory(const struct chunkpool *p)
{
	return (size_t)p->bumped * (CHUNKPOOL_CHUNK + sizeof(uint32_t));
}
