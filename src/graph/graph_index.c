/* graph_index.c - the store's secondary indexes: buckets of nodes per value of the indexed
 * metadata keys (graph_index_keys), kept as nodes come, change and go. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph_int.h"

/* ---- secondary indexes ---------------------------------------------------- */

const char *const graph_index_keys[GRAPH_NIDX] = {"Name", "Type", "TID", "MAC", "IPV4"};

int graph_indexed_key(const char *key)
{
	for (int i = 0; i < GRAPH_NIDX; i++)
		if (key && strcmp(key, graph_index_keys[i]) == 0)
			return 1;
	return 0;
}

int graph_idx_of(const char *key)
{
	for (int i = 0; i < GRAPH_NIDX; i++)
		if (strcmp(key, graph_index_keys[i]) == 0)
			return i;
	return -1;
}

static int idx_add_value(struct graph_store *s, struct gnode *n, int ix, const char *value)
{
	struct ibucket *b = smap_get(&s->idx[ix], value);
	if (b) {
		/* a node is listed once per bucket even if its array repeats a value */
		for (uint32_t i = 0; i < n->nrefs; i++)
			if (n->refs[i].b == b)
				return 0;
	} else {
		b = calloc(1, sizeof(*b));
		if (!b || !(b->value = strdup(value))) {
			free(b);
			return -ENOMEM;
		}
		if (smap_put(&s->idx[ix], b->value, b)) {
			free(b->value);
			free(b);
			return -ENOMEM;
		}
		b->ix = ix;
	}
	if (n->nrefs == n->caprefs) {
		uint32_t cap = n->caprefs ? n->caprefs * 2 : 4;
		struct iref *nr = realloc(n->refs, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		n->refs = nr;
		n->caprefs = cap;
	}
	if (pvec_push(&b->nodes, n))
		return -ENOMEM;
	n->refs[n->nrefs++] = (struct iref){b, b->nodes.n - 1};
	return 0;
}

/* Calls fn for each value of an index key's JSON value: a string, each string of an array,
 * and for IPV4 also each CIDR's bare address (a list of CIDRs is found by address too). The
 * live indexes and the history's use the same values. Stops at fn's first non-zero. */
int graph_idx_values(int ix, const json_t *v, graph_idx_value_fn fn, void *ctx)
{
	if (json_is_string(v)) {
		const char *str = json_string_value(v);
		int r = fn(ctx, str);
		const char *slash = strchr(str, '/');
		if (!r && ix == GRAPH_IDX_IPV4 && slash && slash - str < 64) {
			char addr[64];
			memcpy(addr, str, (size_t)(slash - str));
			addr[slash - str] = 0;
			r = fn(ctx, addr);
		}
		return r;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			if (json_is_string(x)) {
				int r = graph_idx_values(ix, x, fn, ctx);
				if (r)
					return r;
			}
		}
	}
	return 0;
}

struct idx_add_ctx {
	struct graph_store *s;
	struct gnode *n;
	int ix;
};

static int idx_add_cb(void *ctx, const char *value)
{
	struct idx_add_ctx *c = ctx;
	return idx_add_value(c->s, c->n, c->ix, value);
}

static int idx_add_json(struct graph_store *s, struct gnode *n, int ix, const json_t *v)
{
	struct idx_add_ctx c = {s, n, ix};
	return graph_idx_values(ix, v, idx_add_cb, &c);
}

void graph_idx_remove_node(struct graph_store *s, struct gnode *n)
{
	for (uint32_t i = 0; i < n->nrefs; i++) {
		struct ibucket *b = n->refs[i].b;
		size_t pos = n->refs[i].pos, last = b->nodes.n - 1;
		if (pos != last) {
			struct gnode *moved = b->nodes.v[last];
			b->nodes.v[pos] = moved;
			for (uint32_t j = 0; j < moved->nrefs; j++)
				if (moved->refs[j].b == b && moved->refs[j].pos == last) {
					moved->refs[j].pos = pos;
					break;
				}
		}
		b->nodes.n--;
		if (!b->nodes.n) {
			smap_del(&s->idx[b->ix], b->value);
			free(b->value);
			pvec_free(&b->nodes);
			free(b);
		}
	}
	n->nrefs = 0;
}

int graph_idx_add_node(struct graph_store *s, struct gnode *n)
{
	json_t *md = n->pub.e.metadata;
	for (int ix = 0; ix < GRAPH_NIDX; ix++) {
		json_t *v = json_object_get(md, graph_index_keys[ix]);
		if (v && idx_add_json(s, n, ix, v)) {
			graph_idx_remove_node(s, n);
			return -ENOMEM;
		}
	}
	return 0;
}
