/* token.c - login tokens, their file, and the failed-login throttle (see token.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/token.h"
#include "common/log.h"
#include "common/util.h"

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
	uint64_t issued, expired, revoked, evicted, saves, save_errors;
	char *path; /* the attached file, NULL: memory only */
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
	free(ts->path);
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

/* ---- the file ------------------------------------------------------------ */

#define TOKEN_FILE_VERSION 1

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = 0;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		int c = s[i], v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] | v : v << 4);
	}
	return 0;
}

/* Writes every live entry to ts->path (lock held; no-op when not attached). Entries
 * that expired by now_ms (0: keep them, the next load drops them) are left out. */
static int save(struct token_store *ts, int64_t now_ms)
{
	if (!ts->path)
		return 0;
	json_t *list = json_array();
	json_t *root = json_pack("{s:i, s:o}", "Version", TOKEN_FILE_VERSION, "Tokens", list);
	int rc = root ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < ts->max; i++) {
		const struct tok *t = &ts->t[i];
		if (!t->expires_ms || (now_ms && t->expires_ms <= now_ms))
			continue;
		char d[2 * SHA256_DIGEST_LENGTH + 1];
		hex_of(t->digest, sizeof(t->digest), d);
		json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:I}", "SHA256", d, "User", t->who.user,
		                      "Role", t->who.role, "Backend", t->who.backend, "Expires",
		                      (json_int_t)t->expires_ms);
		if (!e || json_array_append_new(list, e))
			rc = -ENOMEM;
	}
	char *text = rc ? NULL : json_dumps(root, JSON_COMPACT);
	json_decref(root);
	const char *what = "serialise";
	if (!text)
		rc = -ENOMEM;
	else
		rc = util_write_file_atomic(ts->path, text, strlen(text), &what);
	free(text);
	if (rc) {
		ts->save_errors++;
		log_error("auth: cannot %s %s: %s; the tokens of this run will not survive a "
		          "restart as they are now (a revoked one may come back)",
		          what, ts->path, strerror(-rc));
		return rc;
	}
	ts->saves++;
	return 0;
}

/* Why a token file may not be trusted (NULL: it may), from its fstat. */
static const char *untrusted(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid())
		return "not owned by the analyzer's user";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others (chmod 600)";
	return NULL;
}

/* The entries of a parsed file into ts (lock held); -1 when it is not ours. */
static int load_entries(struct token_store *ts, const json_t *root, int64_t now_ms,
                        token_keep_fn keep, void *user, size_t *loaded, size_t *dropped)
{
	const json_t *list = json_object_get(root, "Tokens");
	if (json_integer_value(json_object_get(root, "Version")) != TOKEN_FILE_VERSION ||
	    !json_is_array(list))
		return -1;
	size_t i;
	const json_t *e;
	json_array_foreach(list, i, e)
	{
		struct tok t = {0};
		const char *user_s = json_string_value(json_object_get(e, "User"));
		const char *role = json_string_value(json_object_get(e, "Role"));
		const char *backend = json_string_value(json_object_get(e, "Backend"));
		const json_t *exp = json_object_get(e, "Expires");
		if (unhex(json_string_value(json_object_get(e, "SHA256")), t.digest,
		          sizeof(t.digest)) ||
		    !user_s || !role || !backend || !json_is_integer(exp) ||
		    strlen(user_s) >= sizeof(t.who.user) || strlen(role) >= sizeof(t.who.role) ||
		    strlen(backend) >= sizeof(t.who.backend) || json_integer_value(exp) <= 0)
			return -1;
		snprintf(t.who.user, sizeof(t.who.user), "%s", user_s);
		snprintf(t.who.role, sizeof(t.who.role), "%s", role);
		snprintf(t.who.backend, sizeof(t.who.backend), "%s", backend);
		t.expires_ms = json_integer_value(exp);
		if (t.expires_ms <= now_ms || (keep && !keep(user, &t.who))) {
			(*dropped)++;
			continue;
		}
		/* a free slot, else the entry closest to expiry if this one outlives it */
		size_t slot = ts->max, soonest = 0;
		for (size_t k = 0; k < ts->max; k++) {
			if (!ts->t[k].expires_ms) {
				slot = k;
				break;
			}
			if (ts->t[k].expires_ms < ts->t[soonest].expires_ms)
				soonest = k;
		}
		if (slot == ts->max) {
			(*dropped)++;
			if (ts->t[soonest].expires_ms >= t.expires_ms)
				continue;
			slot = soonest;
			(*loaded)--;
		}
		ts->t[slot] = t;
		(*loaded)++;
	}
	return 0;
}

int token_store_attach(struct token_store *ts, const char *path, int64_t now_ms,
                       token_keep_fn keep, void *user, size_t *loaded, size_t *dropped,
                       char *err, size_t errlen)
{
	size_t nl = 0, nd = 0;
	if (loaded)
		*loaded = 0;
	if (dropped)
		*dropped = 0;
	if (!path || !*path) {
		snprintf(err, errlen, "no token file given");
		return -EINVAL;
	}
	char *copy = strdup(path);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno != ENOENT) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path,
		         e == ELOOP ? "is a symbolic link: refused (remove it)" : strerror(e));
		free(copy);
		return e == ELOOP ? -EPERM : -e;
	}
	char *text = NULL;
	size_t len = 0;
	if (fd >= 0) {
		struct stat st;
		const char *why = fstat(fd, &st) ? strerror(errno) : untrusted(&st);
		/* at most ~400 bytes per entry the store can hold */
		size_t cap = ts->max * 512 + 4096;
		if (!why && (size_t)st.st_size > cap)
			why = "larger than the store's tokens could make (corrupt?)";
		if (why) {
			snprintf(err, errlen, "%s: %s: refused", path, why);
			close(fd);
			free(copy);
			return -EPERM;
		}
		text = malloc((size_t)st.st_size + 1);
		while (text && len < (size_t)st.st_size) {
			ssize_t k = read(fd, text + len, (size_t)st.st_size - len);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			len += (size_t)k;
		}
		close(fd);
		if (!text || len != (size_t)st.st_size) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
			         text ? "short read" : "out of memory");
			free(text);
			free(copy);
			return text ? -EIO : -ENOMEM;
		}
	}
	pthread_mutex_lock(&ts->lock);
	if (text) {
		json_error_t je;
		json_t *root = json_loadb(text, len, 0, &je);
		int bad = !root || load_entries(ts, root, now_ms, keep, user, &nl, &nd);
		json_decref(root);
		if (bad) {
			/* what was read of it goes: a half-trusted file is not used */
			for (size_t k = 0; k < ts->max; k++)
				memset(&ts->t[k], 0, sizeof(ts->t[k]));
			nl = nd = 0;
			char keepname[4200];
			snprintf(keepname, sizeof(keepname), "%s.corrupt", path);
			if (rename(path, keepname))
				log_error("auth: %s does not parse (%s); cannot keep it as %s: %s; "
				          "starting with no tokens",
				          path, root ? "not a token file" : je.text, keepname,
				          strerror(errno));
			else
				log_error("auth: %s does not parse (%s); kept as %s, starting with no "
				          "tokens (users log in again)",
				          path, root ? "not a token file" : je.text, keepname);
		}
		OPENSSL_cleanse(text, len);
		free(text);
	}
	ts->path = copy;
	/* the file now says what memory holds (dropped entries gone) */
	if (nd)
		save(ts, now_ms);
	pthread_mutex_unlock(&ts->lock);
	if (loaded)
		*loaded = nl;
	if (dropped)
		*dropped = nd;
	return 0;
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
	save(ts, now_ms);
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
		save(ts, 0);
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
	out->saves = ts->saves;
	out->save_errors = ts->save_errors;
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
