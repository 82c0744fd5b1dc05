/* raw_index.c - last raw-packet Index per flow of the segment log (raw_index.h). */
#include "store/raw_index.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(uint64_t uuid, size_t cap)
{
	return (size_t)((uuid * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

/* Puts e into v (cap slots, not full): no check for an equal UUID. */
static void put(struct raw_index_ent *v, size_t cap, const struct raw_index_ent *e)
{
	size_t i = slot_of(e->uuid, cap);
	while (v[i].index)
		i = (i + 1) & (cap - 1);
	v[i] = *e;
}

static int resize(struct raw_index *x, size_t cap)
{
	struct raw_index_ent *v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < x->cap; i++)
		if (x->v[i].index)
			put(v, cap, &x->v[i]);
	free(x->v);
	x->v = v;
	x->cap = cap;
	return 0;
}

int raw_index_note(struct raw_index *x, uint64_t uuid, uint32_t index, int64_t ingest_ms)
{
	if (!index)
		return 0;
	if (x->cap) {
		for (size_t i = slot_of(uuid, x->cap); x->v[i].index; i = (i + 1) & (x->cap - 1))
			if (x->v[i].uuid == uuid) {
				if (index > x->v[i].index)
					x->v[i].index = index;
				if (ingest_ms > x->v[i].ingest_ms)
					x->v[i].ingest_ms = ingest_ms;
				return 0;
			}
	}
	/* at most half full, so probes stay short and a free slot always exists */
	if ((x->n + 1) * 2 > x->cap && resize(x, x->cap ? x->cap * 2 : 256))
		return -ENOMEM;
	struct raw_index_ent e = {.uuid = uuid, .index = index, .ingest_ms = ingest_ms};
	put(x->v, x->cap, &e);
	x->n++;
	return 0;
}

uint32_t raw_index_get(const struct raw_index *x, uint64_t uuid)
{
	if (!x->cap)
		return 0;
	for (size_t i = slot_of(uuid, x->cap); x->v[i].index; i = (i + 1) & (x->cap - 1))
		if (x->v[i].uuid == uuid)
			return x->v[i].index;
	return 0;
}

void raw_index_prune(struct raw_index *x, int64_t ms)
{
	size_t keep = 0;
	for (size_t i = 0; i < x->cap; i++)
		keep += x->v[i].index && x->v[i].ingest_ms > ms;
	if (keep == x->n)
		return;
	/* rebuilt rather than deleted from one by one (linear probing has no plain delete):
	 * an eviction is rare, and it reads every entry anyway */
	size_t cap = 256;
	while (cap < keep * 2)
		cap *= 2;
	struct raw_index_ent *v = calloc(cap, sizeof(*v));
	if (!v)
		return; /* all kept: a stale entry only makes a flow number on from higher */
	for (size_t i = 0; i < x->cap; i++)
		if (x->v[i].index && x->v[i].ingest_ms > ms)
			put(v, cap, &x->v[i]);
	free(x->v);
	x->v = v;
	x->cap = cap;
	x->n = keep;
}

void raw_index_free(struct raw_index *x)
{
	free(x->v);
	x->v = NULL;
	x->n = x->cap = 0;
}
