/* chunkpool.h - a fixed budget of bytes held in small chunks, for the
 * reassembly buffers (ipdefrag.c, tcp_reasm.c, dns_tcp.c).
 *
 * The pool reserves its whole budget at creation (mmap, pages touched only
 * as chunks are first used) and never allocates afterwards: a copy that does
 * not fit in the free chunks is refused whole, never cut, and the caller
 * counts it. A stored copy is a chain of chunks named by a handle (0 = none).
 * Single-threaded: one pool belongs to one flow table. */
#ifndef SKYDIVE_CHUNKPOOL_H
#define SKYDIVE_CHUNKPOOL_H

#include <stddef.h>
#include <stdint.h>

#define CHUNKPOOL_CHUNK 512u /* bytes of data per chunk */

struct chunkpool {
	uint8_t *mem;      /* nchunks * CHUNKPOOL_CHUNK */
	uint32_t *next;    /* next[i]: chunk after i in its chain, or free list; 1-based */
	uint32_t nchunks;  /* budget */
	uint32_t bumped;   /* chunks handed out at least once (pages touched) */
	uint32_t free_head;
	uint32_t used;     /* chunks held now */
	uint32_t peak;     /* most chunks held at once */
	size_t mem_bytes, next_bytes;
};

/* Reserves room for budget bytes (rounded up to whole chunks, at least one).
 * 0 or -ENOMEM. */
int chunkpool_init(struct chunkpool *p, size_t budget);
void chunkpool_fini(struct chunkpool *p); /* zeroed struct is fine */

/* Copies data[0..len) (len > 0) into free chunks; returns its handle, or 0
 * when the free chunks cannot hold it (nothing is taken). */
uint32_t chunkpool_put(struct chunkpool *p, const uint8_t *data, uint32_t len);
/* Room for len bytes (len > 0), contents undefined, filled later with
 * chunkpool_write (a message whose length is known before its bytes come);
 * 0 when the free chunks cannot hold it. */
uint32_t chunkpool_alloc(struct chunkpool *p, uint32_t len);
/* Copies data[0..len) into the chain h at byte off (off + len within what
 * h was given). */
void chunkpool_write(struct chunkpool *p, uint32_t h, uint32_t off, const uint8_t *data,
		     uint32_t len);
/* Copies the first len bytes of the chain h to out. */
void chunkpool_get(const struct chunkpool *p, uint32_t h, uint8_t *out, uint32_t len);
/* Gives the chain h back (0 is fine). */
void chunkpool_release(struct chunkpool *p, uint32_t h);
/* Chunks a copy of len bytes takes. */
static inline uint32_t chunkpool_chunks(uint32_t len)
{
	return (len + CHUNKPOOL_CHUNK - 1) / CHUNKPOOL_CHUNK;
}
/* Bytes of memory the pool has touched so far (its resident bound is
 * nchunks * (CHUNKPOOL_CHUNK + 4)). */
size_t chunkpool_memory(const struct chunkpool *p);

#endif
