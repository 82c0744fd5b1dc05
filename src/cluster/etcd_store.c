/* etcd_store.c - resources in etcd and the watch that applies other analyzers' changes
 * (etcd_store.h). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/etcd.h"
#include "cluster/etcd_store.h"
#include "common/log.h"

struct etcd_store {
	struct etcd_client *etcd;
	char prefix[64]; /* "/alert/" */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* {"<uuid>": revision of the last change we know of that key, ours or seen}: an
	 * event at or below it is old news (our own write coming back, or already read) */
	json_t *seen;
	int64_t rev; /* everything up to rev has been read */
	atomic_int resync; /* the watch thread reads the prefix again before watching */
	struct etcd_store_target t; /* where remote changes go */
	pthread_t thread;
	int started;
	volatile int stop;
};

static int64_t seen_rev(struct etcd_store *s, const char *uuid)
{
	pthread_mutex_lock(&s->lock);
	int64_t r = json_integer_value(json_object_get(s->seen, uuid));
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Records rev for uuid unless a later one is known; 1 when rev is news. */
static int see(struct etcd_store *s, const char *uuid, int64_t rev)
{
	pthread_mutex_lock(&s->lock);
	int64_t had = json_integer_value(json_object_get(s->seen, uuid));
	int news = rev > had;
	if (news)
		json_object_set_new(s->seen, uuid, json_integer(rev));
	pthread_mutex_unlock(&s->lock);
	return news;
}

/* The uuid of a key under our prefix, or NULL when it is none of ours. */
static const char *uuid_of(const struct etcd_store *s, const char *key)
{
	size_t n = strlen(s->prefix);
	if (strncmp(key, s->prefix, n) || !res_uuid_valid(key + n))
		return NULL;
	return key + n;
}

/* {"<uuid>": obj} of a range; values that are not JSON objects are logged and left. */
static json_t *objects_of(struct etcd_store *s, const struct etcd_kvs *kvs)
{
	json_t *all = json_object();
	for (size_t i = 0; all && i < kvs->n; i++) {
		const char *id = uuid_of(s, kvs->v[i].key);
		json_error_t je;
		json_t *o = id ? json_loadb(kvs->v[i].value, kvs->v[i].value_len, 0, &je) : NULL;
		if (!json_is_object(o)) {
			log_error("cluster: etcd key %.100s ignored: %s", kvs->v[i].key,
			          !id ? "not /<kind>/<UUID>" : o ? "not a JSON object" : je.text);
			json_decref(o);
			continue;
		}
		json_object_set_new(all, id, o);
	}
	return all;
}

static int st_load(void *ctx, json_t **all)
{
	struct etcd_store *s = ctx;
	char err[600];
	struct etcd_kvs kvs;
	int rc = etcd_range(s->etcd, s->prefix, 1, &kvs, err, sizeof(err));
	if (rc) {
		log_error("cluster: %s not read from etcd: %s; starting empty, read again once etcd "
		          "answers",
		          s->prefix, err);
		s->resync = 1;
		return (*all = json_object()) ? 0 : -ENOMEM;
	}
	*all = objects_of(s, &kvs);
	for (size_t i = 0; i < kvs.n; i++) {
		const char *id = uuid_of(s, kvs.v[i].key);
		if (id)
			see(s, id, kvs.v[i].mod_rev);
	}
	s->rev = kvs.revision;
	etcd_kvs_clear(&kvs);
	return *all ? 0 : -ENOMEM;
}

static int st_save(void *ctx, const json_t *all, char *err, size_t errlen)
{
	snprintf(err, errlen, "the etcd store is kept per object");
	return -ENOTSUP; /* never called: change is set */
}

static int st_change(void *ctx, enum res_event ev, const char *uuid, const json_t *obj,
                     char *err, size_t errlen)
{
	struct etcd_store *s = ctx;
	char key[128];
	snprintf(key, sizeof(key), "%s%s", s->prefix, uuid);
	int64_t rev = 0;
	int rc;
	if (ev == RES_CREATED) {
		char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
		if (!text) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		rc = etcd_put(s->etcd, key, text, strlen(text), 0, &rev, err, errlen);
		free(text);
	} else {
		rc = etcd_delete(s->etcd, key, 0, NULL, &rev, err, errlen);
	}
	if (!rc)
		see(s, uuid, rev);
	return rc;
}

static void st_free(void *ctx)
{
	struct etcd_store *s = ctx;
	if (!s)
		return;
	etcd_store_stop(s);
	json_decref(s->seen);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int etcd_store_new(struct etcd_client *etcd, const char *kind, struct res_store *out,
                   struct etcd_store **handle)
{
	struct etcd_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->seen = json_object())) {
		free(s);
		return -ENOMEM;
	}
	s->etcd = etcd;
	snprintf(s->prefix, sizeof(s->prefix), "/%s/", kind);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = (struct res_store){
	    .load = st_load, .save = st_save, .change = st_change, .free = st_free, .ctx = s};
	*handle = s;
	return 0;
}

/* ---- the watch ------------------------------------------------------------------ */

static int on_event(void *user, const struct etcd_event *ev)
{
	struct etcd_store *s = user;
	const char *id = uuid_of(s, ev->kv->key);
	if (!id || !see(s, id, ev->kv->mod_rev))
		return 0;
	if (ev->type == ETCD_DELETE) {
		s->t.apply(s->t.user, RES_DELETED, id, NULL);
		return 0;
	}
	json_error_t je;
	json_t *o = json_loadb(ev->kv->value, ev->kv->value_len, 0, &je);
	if (json_is_object(o))
		s->t.apply(s->t.user, RES_CREATED, id, o);
	else
		log_error("cluster: etcd key %.100s ignored: %s", ev->kv->key,
		          o ? "not a JSON object" : je.text);
	json_decref(o);
	return 0;
}

struct uuids {
	char (*v)[37];
	size_t n, cap;
};

static int collect(void *user, const char *uuid, const json_t *obj)
{
	struct uuids *u = user;
	if (u->n == u->cap) {
		size_t nc = u->cap ? u->cap * 2 : 64;
		void *nv = realloc(u->v, nc * sizeof(*u->v));
		if (!nv)
			return -ENOMEM;
		u->v = nv;
		u->cap = nc;
	}
	snprintf(u->v[u->n++], 37, "%s", uuid);
	return 0;
}

/* Reads the prefix and applies the difference to the registry. 0 or -errno. */
static int resync(struct etcd_store *s, char *err, size_t errlen)
{
	struct etcd_kvs kvs;
	int rc = etcd_range(s->etcd, s->prefix, 1, &kvs, err, errlen);
	if (rc)
		return rc;
	json_t *remote = objects_of(s, &kvs);
	struct uuids local = {0};
	if (!remote || s->t.foreach(s->t.user, collect, &local)) {
		json_decref(remote);
		free(local.v);
		etcd_kvs_clear(&kvs);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t added = 0, gone = 0;
	for (size_t i = 0; i < kvs.n; i++) {
		const char *id = uuid_of(s, kvs.v[i].key);
		json_t *o = id ? json_object_get(remote, id) : NULL;
		/* a change of ours after this read (a delete) wins */
		if (o && seen_rev(s, id) <= kvs.v[i].mod_rev) {
			see(s, id, kvs.v[i].mod_rev);
			added += !s->t.apply(s->t.user, RES_CREATED, id, o);
		}
	}
	for (size_t i = 0; i < local.n; i++)
		if (!json_object_get(remote, local.v[i]) && seen_rev(s, local.v[i]) <= kvs.revision)
			gone += !s->t.apply(s->t.user, RES_DELETED, local.v[i], NULL);
	pthread_mutex_lock(&s->lock);
	s->rev = kvs.revision;
	pthread_mutex_unlock(&s->lock);
	log_info("cluster: %s read from etcd at revision %" PRId64 ": %zu objects (%zu applied, "
	         "%zu removed)",
	         s->prefix, kvs.revision, json_object_size(remote), added, gone);
	json_decref(remote);
	free(local.v);
	etcd_kvs_clear(&kvs);
	return 0;
}

/* Sleeps ms unless stopped. */
static void pause_ms(struct etcd_store *s, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&s->lock);
	while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->lock);
}

static void *watch_thread(void *arg)
{
	struct etcd_store *s = arg;
	char err[600];
	int broken = 0; /* logged once per outage */
	while (!s->stop) {
		if (s->resync) {
			int rc = resync(s, err, sizeof(err));
			if (rc) {
				if (!broken++)
					log_error("cluster: watch of %s: %s (retried every second)",
					          s->prefix, err);
				pause_ms(s, 1000);
				continue;
			}
			s->resync = 0;
		}
		pthread_mutex_lock(&s->lock);
		int64_t from = s->rev + 1;
		pthread_mutex_unlock(&s->lock);
		if (broken) {
			log_info("cluster: watch of %s resumed from revision %" PRId64, s->prefix, from);
			broken = 0;
		}
		int64_t last = from - 1;
		int rc = etcd_watch(s->etcd, s->prefix, 1, from, on_event, s, &s->stop, &last, err,
		                    sizeof(err));
		pthread_mutex_lock(&s->lock);
		if (last > s->rev)
			s->rev = last;
		pthread_mutex_unlock(&s->lock);
		if (s->stop)
			break;
		/* compacted, canceled, or broken (etcd restarted or gone): read everything again,
		 * since what happened meanwhile may be lost to the watch */
		s->resync = 1;
		if (!broken++)
			log_error("cluster: watch of %s: %s (%s)", s->prefix, err,
			          rc == -ESTALE ? "reading it again" : "retried every second");
		if (rc != -ESTALE)
			pause_ms(s, 1000);
	}
	return NULL;
}

static int reg_apply(void *user, enum res_event ev, const char *uuid, const json_t *obj)
{
	return res_registry_apply(user, ev, uuid, obj);
}

static int reg_foreach(void *user, int (*fn)(void *u, const char *uuid, const json_t *obj),
                       void *u)
{
	return res_registry_foreach(user, fn, u);
}

int etcd_store_start(struct etcd_store *s, struct res_registry *r)
{
	struct etcd_store_target t = {reg_apply, reg_foreach, r};
	return etcd_store_start_target(s, &t);
}

int etcd_store_start_target(struct etcd_store *s, const struct etcd_store_target *t)
{
	s->t = *t;
	int rc = pthread_create(&s->thread, NULL, watch_thread, s);
	if (rc)
		return -rc;
	s->started = 1;
	return 0;
}

int etcd_store_synced(struct etcd_store *s)
{
	return s && !atomic_load(&s->resync);
}

void etcd_store_stop(struct etcd_store *s)
{
	if (!s || !s->started)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->started = 0;
}
