/* pvec.h - a growable vector of borrowed pointers (graph adjacency and indexes, Gremlin
 * pipelines, subscription filters). */
#ifndef SKYDIVE_PVEC_H
#define SKYDIVE_PVEC_H

#include <stddef.h>

/* Zero-initialised is empty. The vector owns its array, never the pointers in it. */
struct pvec {
	void **v;
	size_t n, cap;
};
int pvec_push(struct pvec *v, void *p); /* appends; 0 or -ENOMEM (v unchanged) */
void pvec_free(struct pvec *v);         /* frees the array and empties v */

#endif
