/* capture_res_int.h - what the Capture resource's files share: capture_def.c (a
 * capture's validation and JSON), capture_res.c (the registry and its listeners),
 * capture_res_store.c (<data_dir>/captures.json) and capture_res_rest.c (bodies, TTL,
 * /api/capture). Private to src/analyzer. */
#ifndef SKYDIVE_CAPTURE_RES_INT_H
#define SKYDIVE_CAPTURE_RES_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>

#include "analyzer/capture_res.h"
#include "analyzer/resource.h"

#define MAX_LISTENERS 8

struct capture_res {
	pthread_mutex_t lock;
	struct graph *g;
	char *dir, *file;
	struct capture_def *items;
	size_t n, cap;
	struct {
		capture_res_listener fn;
		void *user;
	} listeners[MAX_LISTENERS];
	capture_res_counts_fn counts_fn; /* Count of GET; NULL = 0 */
	void *counts_user;
	/* kept per capture elsewhere (etcd in a cluster: capture_res_use_store) instead of
	 * captures.json */
	struct res_store store;
	int has_store;
};

/* Fills err (the message made valid UTF-8) and returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static inline int fail(struct capture_res_error *err,
                                                             int pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	rest_utf8_fix(err->msg); /* it may quote the body's bytes, cut anywhere */
	err->pos = pos;
	return -EINVAL;
}

/* Calls every listener, without the lock (it is taken to copy the list). */
void capture_res_notify(struct capture_res *r, enum capture_res_event ev,
                        const struct capture_def *c);
/* Appends c (its strings now the registry's); 0 or -ENOMEM. Lock held. */
int capture_res_append(struct capture_res *r, const struct capture_def *c);
/* The index of uuid, or -1. Lock held. */
ssize_t capture_res_find(const struct capture_res *r, const char *uuid);
/* Writes every capture to r->file atomically (temporary file, fsync, rename); 0 or
 * -errno with err filled. Lock held. */
int capture_res_save(struct capture_res *r, char *err, size_t errlen);
/* One capture as kept: {"Capture": <API JSON without Count>, "ExpiresAt": ms when it
 * has a TTL}; a new reference or NULL. */
json_t *capture_res_entry(const struct capture_def *c);
/* The reverse, uuid its key: 0 or -EINVAL with err filled (c cleared either way:
 * capture_def_clear it). */
int capture_res_entry_read(const char *uuid, const json_t *e, struct capture_def *c,
                           struct capture_res_error *err);
/* Makes a change durable: captures.json written whole, or the one capture given to the
 * store (etcd). 0 or -errno with err filled. Lock held. */
int capture_res_persist(struct capture_res *r, enum res_event ev, const struct capture_def *c,
                        char *err, size_t errlen);
/* Reads r->file into r (logging what it drops; a corrupt file is set aside). */
void capture_res_load(struct capture_res *r);
/* 1 when s is a UUID in its 8-4-4-4-12 hex form. */
int capture_uuid_valid(const char *s);

#endif
