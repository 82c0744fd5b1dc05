/* capture_res.c - Skydive's Capture resource: the registry (loaded from and saved to
 * <data_dir>/captures.json by capture_res_store.c), TTL expiry and change listeners.
 * Validation is capture_def.c, the REST side capture_res_rest.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/capture_res_int.h"
#include "common/log.h"

void capture_res_notify(struct capture_res *r, enum capture_res_event ev,
                        const struct capture_def *c)
{
	struct {
		capture_res_listener fn;
		void *user;
	} ls[MAX_LISTENERS];
	pthread_mutex_lock(&r->lock);
	memcpy(ls, r->listeners, sizeof(ls));
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (ls[i].fn)
			ls[i].fn(ls[i].user, ev, c);
}

int capture_res_append(struct capture_res *r, const struct capture_def *c)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct capture_def *ni = realloc(r->items, cap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		r->items = ni;
		r->cap = cap;
	}
	r->items[r->n++] = *c;
	return 0;
}

struct capture_res *capture_res_new(const char *data_dir, struct graph *g)
{
	struct capture_res *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->g = g;
	r->dir = strdup(data_dir && *data_dir ? data_dir : "/var/lib/skydive");
	size_t n = r->dir ? strlen(r->dir) + sizeof(CAPTURE_RES_FILE) + 2 : 0;
	r->file = n ? malloc(n) : NULL;
	if (!r->file) {
		capture_res_free(r);
		return NULL;
	}
	snprintf(r->file, n, "%s/%s", r->dir, CAPTURE_RES_FILE);
	capture_res_load(r);
	return r;
}

void capture_res_free(struct capture_res *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		capture_def_clear(&r->items[i]);
	free(r->items);
	if (r->has_store && r->store.free)
		r->store.free(r->store.ctx);
	free(r->dir);
	free(r->file);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

ssize_t capture_res_find(const struct capture_res *r, const char *uuid)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->items[i].uuid, uuid))
			return (ssize_t)i;
	return -1;
}

/* Lock held. Moves the expired captures into *gone (caller frees). */
static size_t take_expired(struct capture_res *r, int64_t now, struct capture_def **gone)
{
	size_t k = 0, out = 0;
	*gone = NULL;
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].expires_ms && r->items[i].expires_ms <= now)
			k++;
	if (!k || !(*gone = malloc(k * sizeof(**gone))))
		return 0;
	for (size_t i = 0, j = 0; i < r->n; i++) {
		if (r->items[i].expires_ms && r->items[i].expires_ms <= now)
			(*gone)[out++] = r->items[i];
		else
			r->items[j++] = r->items[i];
	}
	r->n -= out;
	char err[512];
	if (!r->has_store) {
		if (capture_res_save(r, err, sizeof(err)))
			log_error("api: expired captures removed, but %s", err);
	} else {
		/* every analyzer of a cluster expires it: the first delete wins, the others
		 * delete what is gone already */
		for (size_t i = 0; i < out; i++)
			if (capture_res_persist(r, RES_DELETED, &(*gone)[i], err, sizeof(err)))
				log_error("api: expired capture %s removed here, but %s",
				          (*gone)[i].uuid, err);
	}
	return out;
}

static void release_expired(struct capture_res *r, struct capture_def *gone, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		log_info("api: capture %s expired (TTL)", gone[i].uuid);
		capture_res_notify(r, CAPTURE_RES_DELETED, &gone[i]);
		capture_def_clear(&gone[i]);
	}
	free(gone);
}

int capture_res_expire(struct capture_res *r, int64_t now_ms)
{
	struct capture_def *gone;
	pthread_mutex_lock(&r->lock);
	size_t n = take_expired(r, now_ms, &gone);
	pthread_mutex_unlock(&r->lock);
	release_expired(r, gone, n);
	return (int)n;
}

int capture_res_foreach(struct capture_res *r, int (*fn)(void *user, const struct capture_def *c),
                        void *user)
{
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && !rc; i++)
		rc = fn(user, &r->items[i]);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int capture_res_get(struct capture_res *r, const char *uuid, struct capture_def *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->lock);
	ssize_t i = capture_res_find(r, uuid);
	int rc = i < 0 ? -ENOENT : capture_def_copy(out, &r->items[i]);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

size_t capture_res_count(struct capture_res *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int capture_res_listen(struct capture_res *r, capture_res_listener fn, void *user)
{
	int id = -ENOSPC;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (!r->listeners[i].fn) {
			r->listeners[i].fn = fn;
			r->listeners[i].user = user;
			id = i;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return id;
}

void capture_res_unlisten(struct capture_res *r, int id)
{
	if (id < 0 || id >= MAX_LISTENERS)
		return;
	pthread_mutex_lock(&r->lock);
	r->listeners[id].fn = NULL;
	r->listeners[id].user = NULL;
	pthread_mutex_unlock(&r->lock);
}

void capture_res_set_counts(struct capture_res *r, capture_res_counts_fn fn, void *user)
{
	pthread_mutex_lock(&r->lock);
	r->counts_fn = fn;
	r->counts_user = user;
	pthread_mutex_unlock(&r->lock);
}

/* ---- a store kept per capture (etcd in a cluster) ------------------------------- */

/* Removes capture i and tells the listeners (lock held on entry, released). */
static void drop_at(struct capture_res *r, size_t i, const char *why)
{
	struct capture_def gone = r->items[i];
	memmove(&r->items[i], &r->items[i + 1], (r->n - i - 1) * sizeof(*r->items));
	r->n--;
	pthread_mutex_unlock(&r->lock);
	log_info("api: capture %s deleted (%s)", gone.uuid, why);
	capture_res_notify(r, CAPTURE_RES_DELETED, &gone);
	capture_def_clear(&gone);
}

int capture_res_use_store(struct capture_res *r, struct res_store st)
{
	json_t *all = NULL;
	int rc = st.load ? st.load(st.ctx, &all) : 0;
	if (rc) {
		if (st.free)
			st.free(st.ctx);
		return rc;
	}
	/* what captures.json gave is not the cluster's: the store's set replaces it */
	pthread_mutex_lock(&r->lock);
	while (r->n) {
		drop_at(r, r->n - 1, "not in the cluster's store");
		pthread_mutex_lock(&r->lock);
	}
	r->store = st;
	r->has_store = 1;
	pthread_mutex_unlock(&r->lock);
	const char *uuid;
	json_t *e;
	json_object_foreach(all, uuid, e) capture_res_apply(r, RES_CREATED, uuid, e);
	json_decref(all);
	log_info("api: %zu captures loaded from the cluster's store", capture_res_count(r));
	return 0;
}

int capture_res_apply(struct capture_res *r, enum res_event ev, const char *uuid, const json_t *e)
{
	pthread_mutex_lock(&r->lock);
	ssize_t i = capture_res_find(r, uuid);
	if (ev == RES_DELETED) {
		if (i < 0) {
			pthread_mutex_unlock(&r->lock);
			return -ENOENT;
		}
		drop_at(r, (size_t)i, "by another analyzer");
		return 0;
	}
	pthread_mutex_unlock(&r->lock);
	struct capture_def c;
	struct capture_res_error err = {.pos = -1};
	if (capture_res_entry_read(uuid, e, &c, &err)) {
		log_error("api: capture %.64s from the cluster's store refused: %s", uuid, err.msg);
		capture_def_clear(&c);
		return -EINVAL;
	}
	pthread_mutex_lock(&r->lock);
	if ((i = capture_res_find(r, uuid)) >= 0) {
		/* the same capture again (our own write, a resync): nothing; captures cannot
		 * change (PATCH refuses), so another one under its UUID replaces it */
		json_t *old = capture_res_entry(&r->items[i]), *nw = capture_res_entry(&c);
		int same = old && nw && json_equal(old, nw);
		json_decref(old);
		json_decref(nw);
		if (same) {
			pthread_mutex_unlock(&r->lock);
			capture_def_clear(&c);
			return 0;
		}
		drop_at(r, (size_t)i, "replaced by another analyzer");
		pthread_mutex_lock(&r->lock);
	}
	struct capture_def copy = {0};
	int rc = capture_res_append(r, &c);
	int have_copy = !rc && !capture_def_copy(&copy, &c);
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		capture_def_clear(&c);
		return rc;
	}
	if (have_copy) {
		log_info("api: capture %s applied from the cluster (%s)", copy.uuid,
		         copy.gremlin_query);
		capture_res_notify(r, CAPTURE_RES_CREATED, &copy);
		capture_def_clear(&copy);
	}
	return 0;
}

int capture_res_foreach_entry(struct capture_res *r,
                              int (*fn)(void *user, const char *uuid, const json_t *e),
                              void *user)
{
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && !rc; i++) {
		json_t *e = capture_res_entry(&r->items[i]);
		rc = e ? fn(user, r->items[i].uuid, e) : -ENOMEM;
		json_decref(e);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}
