/* token.c - login tokens and the failed-login throttle (see token.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/token.h"

struct tok {
	unsigned char digest[SHA256_DIGEST_LENGTH];
	int64_t expires_ms; /* 0: free slot */
	struct token_info who;
};

struct token_store {
	pthread_mutex_t lock;
	int64_t ttl_ms;
	size_t max;
	struct tok *t;
	uint64_t issued, expired, revoked, evicted;
};

struct token_store *token_store_new(int64_t ttl_ms, size_t max)
{
	if (ttl_ms <= 0 || !max)
		return NULL;
	struct token_store *ts = calloc(1, sizeof(*ts));
	if (!ts || !(ts->t = calloc(max, sizeof(*ts->t)))) {
		free(ts);
		return NULL;
	}
	ts->ttl_ms = ttl_ms;
	ts->max = max;
	pthread_mutex_init(&ts->lock, NULL);
	return ts;
}

void token_store_free(struct token_store *ts)
{
	if (!ts)
		return;
	OPENSSL_cleanse(ts->t, ts->max * sizeof(*ts->t));
	free(ts->t);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

/* Drops expired entries (lock held). */
static void sweep(struct token_store *ts, int64_t now_ms)
{
	for (size_t i = 0; i < ts->max; i++)
		if (ts->t[i].expires_ms && ts->t[i].expires_ms <= now_ms) {
			memset(&ts->t[i], 0, sizeof(ts->t[i]));
			ts->expired++;
		}
}

int token_issue(struct token_store *ts, const struct token_info *who, int64_t now_ms,
                char out[TOKEN_TEXT_LEN + 1])
{
	unsigned char raw[TOKEN_TEXT_LEN / 2];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TOKEN_TEXT_LEN] = 0;
	OPENSSL_cleanse(raw, sizeof(raw));
	pthread_mutex_lock(&ts->lock);
	sweep(ts, now_ms);
	size_t slot = ts->max, oldest = 0;
	for (size_t i = 0; i < ts->max; i++) {
		if (!ts->t[i].expires_ms) {
			slot = i;
			break;
		}
		if (ts->t[i].expires_ms < ts->t[oldest].expires_ms)
			oldest = i;
	}
	if (slot == ts->max) { /* full: the one closest to its end goes, counted */
		slot = oldest;
		ts->evicted++;
	}
	struct tok *t = &ts->t[slot];
	SHA256((const unsigned char *)out, TOKEN_TEXT_LEN, t->digest);
	t->expires_ms = now_ms + ts->ttl_ms;
	t->who = *who;
	ts->issued++;
	pthread_mutex_unlock(&ts->lock);
	return 0;
}

/* The slot of token, or -1; every live slot is compared (lock held). */
static long lookup(struct token_store *ts, const char *token)
{
	if (!token || strlen(token) != TOKEN_TEXT_LEN)
		return -1;
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)token, TOKEN_TEXT_LEN, d);
	long found = -1;
	for (size_t i = 0; i < ts->max; i++) {
		int same = CRYPTO_memcmp(d, ts->t[i].digest, sizeof(d)) == 0;
		if (same && ts->t[i].expires_ms && found < 0)
			found = (long)i;
	}
	return found;
}

int token_check(struct token_store *ts, const char *token, int64_t now_ms,
                struct token_info *who)
{
	pthread_mutex_lock(&ts->lock);
	long i = lookup(ts, token);
	int ok = 0;
	if (i >= 0 && ts->t[i].expires_ms <= now_ms) {
		memset(&ts->t[i], 0, sizeof(ts->t[i]));
		ts->expired++;
	} else if (i >= 0) {
		ok = 1;
		if (who)
			*who = ts->t[i].who;
	}
	pthread_mutex_unlock(&ts->lock);
	return ok;
}

int token_revoke(struct token_store *ts, const char *token)
{
	pthread_mutex_lock(&ts->lock);
	long i = lookup(ts, token);
	if (i >= 0) {
		memset(&ts->t[i], 0, sizeof(ts->t[i]));
		ts->revoked++;
	}
	pthread_mutex_unlock(&ts->lock);
	return i >= 0;
}

void token_store_stats(struct token_store *ts, int64_t now_ms, struct token_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&ts->lock);
	sweep(ts, now_ms);
	for (size_t i = 0; i < ts->max; i++)
		out->live += ts->t[i].expires_ms != 0;
	out->issued = ts->issued;
	out->expired = ts->expired;
	out->revoked = ts->revoked;
	out->evicted = ts->evicted;
	pthread_mutex_unlock(&ts->lock);
}

/* ---- throttle ------------------------------------------------------------ */

struct thr {
	char addr[64]; /* "": free */
	unsigned failures;
	int64_t blocked_until_ms;
	int64_t last_ms;
};

struct throttle {
	pthread_mutex_t lock;
	unsigned free_failures;
	int64_t delay_ms, max_delay_ms;
	size_t max;
	struct thr *e;
	uint64_t failures, refused, evicted;
};

struct throttle *throttle_new(unsigned free_failures, int64_t delay_ms, int64_t max_delay_ms,
                              size_t max)
{
	if (delay_ms <= 0 || max_delay_ms <= 0 || !max)
		return NULL;
	struct throttle *t = calloc(1, sizeof(*t));
	if (!t || !(t->e = calloc(max, sizeof(*t->e)))) {
		free(t);
		return NULL;
	}
	t->free_failures = free_failures;
	t->delay_ms = delay_ms;
	t->max_delay_ms = max_delay_ms < delay_ms ? delay_ms : max_delay_ms;
	t->max = max;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	free(t->e);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct thr *thr_find(struct throttle *t, const char *addr)
{
	for (size_t i = 0; i < t->max; i++)
		if (t->e[i].addr[0] && !strcmp(t->e[i].addr, addr))
			return &t->e[i];
	return NULL;
}

int64_t throttle_wait_ms(struct throttle *t, const char *addr, int64_t now_ms)
{
	pthread_mutex_lock(&t->lock);
	struct thr *e = thr_find(t, addr ? addr : "");
	int64_t w = e && e->blocked_until_ms > now_ms ? e->blocked_until_ms - now_ms : 0;
	pthread_mutex_unlock(&t->lock);
	return w;
}

int64_t throttle_failure(struct throttle *t, const char *addr, int64_t now_ms)
{
	if (!addr || !*addr)
		addr = "?";
	pthread_mutex_lock(&t->lock);
	t->failures++;
	struct thr *e = thr_find(t, addr);
	if (!e) {
		/* a free slot, else the one idle the longest (counted: an attacker with
		 * many addresses can push others out, but never grow the table) */
		size_t pick = 0;
		for (size_t i = 0; i < t->max; i++) {
			if (!t->e[i].addr[0]) {
				pick = i;
				break;
			}
			if (t->e[i].last_ms < t->e[pick].last_ms)
				pick = i;
			if (i + 1 == t->max)
				t->evicted++;
		}
		e = &t->e[pick];
		memset(e, 0, sizeof(*e));
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
	}
	e->failures++;
	e->last_ms = now_ms;
	int64_t block = 0;
	if (e->failures > t->free_failures) {
		unsigned k = e->failures - t->free_failures - 1;
		block = t->delay_ms;
		while (k-- && block < t->max_delay_ms)
			block *= 2;
		if (block > t->max_delay_ms)
			block = t->max_delay_ms;
		e->blocked_until_ms = now_ms + block;
	}
	pthread_mutex_unlock(&t->lock);
	return block;
}

void throttle_success(struct throttle *t, const char *addr)
{
	pthread_mutex_lock(&t->lock);
	struct thr *e = thr_find(t, addr ? addr : "");
	if (e)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&t->lock);
}

void throttle_count_refused(struct throttle *t)
{
	pthread_mutex_lock(&t->lock);
	t->refused++;
	pthread_mutex_unlock(&t->lock);
}

void throttle_stats(struct throttle *t, struct throttle_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->max; i++)
		out->tracked += t->e[i].addr[0] != 0;
	out->failures = t->failures;
	out->refused = t->refused;
	out->evicted = t->evicted;
	pthread_mutex_unlock(&t->lock);
}
