/* pvec.c - the pointer vector. */
#include "common/pvec.h"

#include <errno.h>
#include <stdlib.h>

int pvec_push(struct pvec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		void **nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
	return 0;
}

void pvec_free(struct pvec *v)
{
	free(v->v);
	v->v = NULL;
	v->n = v->cap = 0;
}
