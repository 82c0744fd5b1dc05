/* replication.c - who owns each origin of the graph, for analyzer peering
 * (replication.h). A map origin -> record (jansson's hash table as the index, records in
 * an array) and the list of peers that connected. */
#include "analyzer/replication.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct orec {
	char *origin;
	char *owner;   /* the peer's host ID; NULL: here */
	int confirmed; /* during a Sync of its owner */
};

struct prec {
	char *host;
	char remote[64];
	int connected; /* connections open now */
	int64_t gone_ms;
};

struct repl_owners {
	pthread_mutex_t mu;
	json_t *index; /* origin -> integer: its slot in recs */
	struct orec *recs;
	size_t n, cap;
	struct prec *peers;
	size_t np;
	uint64_t left_alone, expired;
};

struct repl_owners *repl_owners_new(void)
{
	struct repl_owners *t = calloc(1, sizeof(*t));
	if (!t || !(t->index = json_object())) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void repl_owners_free(struct repl_owners *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->recs[i].origin);
		free(t->recs[i].owner);
	}
	for (size_t i = 0; i < t->np; i++)
		free(t->peers[i].host);
	free(t->recs);
	free(t->peers);
	json_decref(t->index);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* ---- the map (t->mu held) ------------------------------------------------ */

static struct orec *find(struct repl_owners *t, const char *origin)
{
	json_t *v = json_object_get(t->index, origin);
	return v ? &t->recs[json_integer_value(v)] : NULL;
}

/* The record of origin, made with owner NULL when new; NULL on ENOMEM. */
static struct orec *get(struct repl_owners *t, const char *origin)
{
	struct orec *r = find(t, origin);
	if (r)
		return r;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct orec *n = realloc(t->recs, cap * sizeof(*n));
		if (!n)
			return NULL;
		t->recs = n;
		t->cap = cap;
	}
	r = &t->recs[t->n];
	*r = (struct orec){.origin = strdup(origin)};
	if (!r->origin || json_object_set_new(t->index, origin, json_integer((json_int_t)t->n))) {
		free(r->origin);
		return NULL;
	}
	t->n++;
	return r;
}

/* Removes the record (the last one takes its slot). */
static void forget(struct repl_owners *t, struct orec *r)
{
	size_t i = (size_t)(r - t->recs);
	json_object_del(t->index, r->origin);
	free(r->origin);
	free(r->owner);
	if (i != t->n - 1) {
		t->recs[i] = t->recs[t->n - 1];
		json_object_set_new(t->index, t->recs[i].origin, json_integer((json_int_t)i));
	}
	t->n--;
}

static int set_owner(struct orec *r, const char *peer)
{
	if (!peer) {
		free(r->owner);
		r->owner = NULL;
		return 0;
	}
	if (r->owner && !strcmp(r->owner, peer))
		return 0;
	char *o = strdup(peer);
	if (!o)
		return -1;
	free(r->owner);
	r->owner = o;
	return 0;
}

static struct prec *peer_find(struct repl_owners *t, const char *peer)
{
	for (size_t i = 0; i < t->np; i++)
		if (!strcmp(t->peers[i].host, peer))
			return &t->peers[i];
	return NULL;
}

/* ---- the rules ------------------------------------------------------------ */

void repl_mark_here(struct repl_owners *t, const char *origin)
{
	pthread_mutex_lock(&t->mu);
	struct orec *r = get(t, origin);
	if (r)
		set_owner(r, NULL);
	pthread_mutex_unlock(&t->mu);
}

int repl_release_here(struct repl_owners *t, const char *origin)
{
	pthread_mutex_lock(&t->mu);
	struct orec *r = find(t, origin);
	int del = !r || !r->owner;
	if (r && !r->owner)
		forget(t, r);
	pthread_mutex_unlock(&t->mu);
	return del;
}

int repl_accept(struct repl_owners *t, const char *peer, const char *origin, int claim)
{
	pthread_mutex_lock(&t->mu);
	struct orec *r = find(t, origin);
	int ok;
	if (r && !r->owner)
		ok = 0; /* a direct sender of ours feeds it */
	else if (r && strcmp(r->owner, peer))
		ok = claim; /* another peer's: an Added or Sync takes it over */
	else
		ok = 1;
	if (ok && !r)
		r = get(t, origin);
	if (ok && r) {
		set_owner(r, peer);
		r->confirmed = 1;
	}
	if (!ok)
		t->left_alone++;
	pthread_mutex_unlock(&t->mu);
	return ok;
}

int repl_owned_here(struct repl_owners *t, const char *origin)
{
	pthread_mutex_lock(&t->mu);
	struct orec *r = find(t, origin ? origin : "");
	int here = !r || !r->owner;
	pthread_mutex_unlock(&t->mu);
	return here;
}

int repl_keep(void *user, const struct graph_elem *e)
{
	return repl_owned_here(user, e->origin);
}

void repl_sync_begin(struct repl_owners *t, const char *peer)
{
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->n; i++)
		if (t->recs[i].owner && !strcmp(t->recs[i].owner, peer))
			t->recs[i].confirmed = 0;
	pthread_mutex_unlock(&t->mu);
}

/* The origins of which match() holds (still owned: the caller removes their elements
 * first, so that the removal is not sent to the peers, then repl_forget). */
static json_t *take(struct repl_owners *t, int (*match)(const struct orec *, const void *),
                    const void *arg)
{
	json_t *out = NULL;
	for (size_t i = 0; i < t->n; i++) {
		if (match(&t->recs[i], arg)) {
			if (!out)
				out = json_array();
			if (out)
				json_array_append_new(out, json_string(t->recs[i].origin));
		}
	}
	return out;
}

int repl_owner_is(struct repl_owners *t, const char *origin, const char *peer)
{
	pthread_mutex_lock(&t->mu);
	struct orec *r = find(t, origin);
	int is = r && r->owner && !strcmp(r->owner, peer);
	pthread_mutex_unlock(&t->mu);
	return is;
}

void repl_forget(struct repl_owners *t, const char *origin, const char *peer)
{
	pthread_mutex_lock(&t->mu);
	struct orec *r = find(t, origin);
	if (r && r->owner && !strcmp(r->owner, peer))
		forget(t, r);
	pthread_mutex_unlock(&t->mu);
}

static int unconfirmed_of(const struct orec *r, const void *peer)
{
	return r->owner && !strcmp(r->owner, peer) && !r->confirmed;
}

json_t *repl_sync_end(struct repl_owners *t, const char *peer)
{
	pthread_mutex_lock(&t->mu);
	json_t *out = take(t, unconfirmed_of, peer);
	pthread_mutex_unlock(&t->mu);
	return out;
}

void repl_peer_up(struct repl_owners *t, const char *peer, const char *remote)
{
	pthread_mutex_lock(&t->mu);
	struct prec *p = peer_find(t, peer);
	if (!p) {
		struct prec *n = realloc(t->peers, (t->np + 1) * sizeof(*n));
		char *h = strdup(peer);
		if (n)
			t->peers = n;
		if (n && h) {
			p = &t->peers[t->np++];
			*p = (struct prec){.host = h};
		} else {
			free(h);
		}
	}
	if (p) {
		p->connected++;
		p->gone_ms = 0;
		snprintf(p->remote, sizeof(p->remote), "%s", remote ? remote : "");
	}
	pthread_mutex_unlock(&t->mu);
}

void repl_peer_down(struct repl_owners *t, const char *peer, int64_t now_ms)
{
	pthread_mutex_lock(&t->mu);
	struct prec *p = peer_find(t, peer);
	if (p && p->connected > 0 && --p->connected == 0)
		p->gone_ms = now_ms;
	pthread_mutex_unlock(&t->mu);
}

static int owner_is(const struct orec *r, const void *peer)
{
	return r->owner && !strcmp(r->owner, peer);
}

json_t *repl_expire(struct repl_owners *t, int64_t now_ms, int64_t expire_ms)
{
	json_t *out = NULL;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->np; i++) {
		struct prec *p = &t->peers[i];
		if (p->connected || !p->gone_ms || now_ms - p->gone_ms < expire_ms)
			continue;
		p->gone_ms = 0; /* once */
		json_t *o = take(t, owner_is, p->host);
		if (!o)
			continue;
		t->expired += json_array_size(o);
		if (!out)
			out = json_object();
		json_object_set_new(out, p->host, o);
	}
	pthread_mutex_unlock(&t->mu);
	return out;
}

json_t *repl_status(struct repl_owners *t)
{
	json_t *in = json_object();
	pthread_mutex_lock(&t->mu);
	size_t owned = 0;
	for (size_t i = 0; i < t->n; i++)
		owned += t->recs[i].owner != NULL;
	for (size_t i = 0; in && i < t->np; i++) {
		const struct prec *p = &t->peers[i];
		size_t n = 0;
		for (size_t k = 0; k < t->n; k++)
			n += owner_is(&t->recs[k], p->host);
		json_object_set_new(in, p->host,
		                    json_pack("{s:b, s:s, s:I}", "Connected", p->connected > 0,
		                              "Remote", p->remote, "Origins", (json_int_t)n));
	}
	json_t *st = json_pack("{s:o?, s:I, s:I, s:I}", "Incomers", in, "Origins",
	                       (json_int_t)owned, "LeftAlone", (json_int_t)t->left_alone,
	                       "Expired", (json_int_t)t->expired);
	pthread_mutex_unlock(&t->mu);
	return st;
}
