/* smap.h - a string-keyed hash map of pointers (graph IDs and indexes, Gremlin Dedup,
 * subscription filters): open addressing, linear probing, xxh3 hashes. */
#ifndef SKYDIVE_SMAP_H
#define SKYDIVE_SMAP_H

#include <stddef.h>
#include <stdint.h>

/* Keys are borrowed: each must live as long as its entry (usually inside the value). */
struct smap_slot {
	uint64_t h;
	const char *key; /* NULL = empty */
	void *val;
};
/* Zero-initialised is empty. */
struct smap {
	struct smap_slot *slots;
	size_t cap, n, tombs;
};
uint64_t smap_hash(const char *key);
void *smap_get(const struct smap *m, const char *key);    /* the value, or NULL */
int smap_put(struct smap *m, const char *key, void *val); /* 0, -EEXIST, -ENOMEM */
void *smap_del(struct smap *m, const char *key);          /* the value, or NULL */
void smap_free(struct smap *m);                           /* the slots, not the values */

#endif
