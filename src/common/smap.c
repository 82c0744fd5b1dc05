/* smap.c - the string hash map. */
#include "common/smap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

/* A slot whose entry was removed: probing goes on past it. */
static char smap_tomb_mark;
#define SMAP_TOMB (&smap_tomb_mark)

uint64_t smap_hash(const char *key)
{
	return XXH3_64bits(key, strlen(key));
}

static struct smap_slot *smap_find(const struct smap *m, const char *key, uint64_t h)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct smap_slot *s = &m->slots[i];
		if (!s->key)
			return NULL;
		if (s->key != SMAP_TOMB && s->h == h && strcmp(s->key, key) == 0)
			return s;
	}
}

void *smap_get(const struct smap *m, const char *key)
{
	struct smap_slot *s = smap_find(m, key, smap_hash(key));
	return s ? s->val : NULL;
}

static int smap_grow(struct smap *m)
{
	size_t cap = m->cap ? m->cap : 8;
	/* Doubling only when live entries need it; tombstones alone just rehash. */
	if ((m->n + 1) * 10 >= cap * 5)
		cap *= 2;
	struct smap_slot *ns = calloc(cap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		struct smap_slot *s = &m->slots[i];
		if (!s->key || s->key == SMAP_TOMB)
			continue;
		size_t j = s->h & (cap - 1);
		while (ns[j].key)
			j = (j + 1) & (cap - 1);
		ns[j] = *s;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = cap;
	m->tombs = 0;
	return 0;
}

/* key is borrowed: it must live as long as the entry (it is the element's own ID). */
int smap_put(struct smap *m, const char *key, void *val)
{
	if ((m->n + m->tombs + 1) * 10 >= m->cap * 7) {
		int r = smap_grow(m);
		if (r)
			return r;
	}
	uint64_t h = smap_hash(key);
	size_t mask = m->cap - 1;
	struct smap_slot *tomb = NULL;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct smap_slot *s = &m->slots[i];
		if (!s->key) {
			if (tomb) {
				s = tomb;
				m->tombs--;
			}
			s->key = key;
			s->h = h;
			s->val = val;
			m->n++;
			return 0;
		}
		if (s->key == SMAP_TOMB) {
			if (!tomb)
				tomb = s;
		} else if (s->h == h && strcmp(s->key, key) == 0) {
			return -EEXIST;
		}
	}
}

void *smap_del(struct smap *m, const char *key)
{
	struct smap_slot *s = smap_find(m, key, smap_hash(key));
	if (!s)
		return NULL;
	void *val = s->val;
	s->key = SMAP_TOMB;
	s->val = NULL;
	m->n--;
	m->tombs++;
	return val;
}

void smap_free(struct smap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
