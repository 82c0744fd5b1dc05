/* token.h - the analyzer's login tokens (POST /login) and the per-address
 * throttle of failed password checks.
 *
 * Tokens: 32 random bytes (OpenSSL RAND_bytes) as 64 hex digits, given once to the
 * client; the store keeps only their SHA-256, so a memory dump does not hold usable
 * tokens, and compares digests with CRYPTO_memcmp over every entry (no early exit, so
 * the time does not depend on how much of a guess matched). A token expires ttl after
 * it was issued and can be revoked (POST /logout). The store is bounded: when full,
 * issuing evicts the token closest to expiry and counts it (Auth.TokensEvicted in
 * /api/status) rather than growing. Skydive's basic backend used base64(user:password)
 * as its "token" (graffiti/http/basic.go); ours never contains the password.
 *
 * Throttle: a peer address gets `free` failed password checks; then each further
 * failure blocks it for delay, 2*delay, 4*delay ... up to max_delay (exponential
 * backoff); a success clears it. Bounded table: when full, the entry whose block ended
 * longest ago is reused (counted).
 *
 * Time is passed in (ms) so tests inject a clock. Both are thread-safe (a mutex). */
#ifndef SKYDIVE_AUTH_TOKEN_H
#define SKYDIVE_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_TEXT_LEN 64 /* hex digits, without the NUL */

struct token_store;

/* ttl_ms > 0; max entries > 0. NULL on out of memory. */
struct token_store *token_store_new(int64_t ttl_ms, size_t max);
void token_store_free(struct token_store *ts); /* NULL is fine */

/* Who a token stands for: the user, the role it got when no policy line names it
 * ("" none) and the backend that checked the password (a token is good only where
 * that backend is). */
struct token_info {
	char user[128];
	char role[32];
	char backend[64];
};

/* Issues a token for *who into out[TOKEN_TEXT_LEN + 1]. 0, or -EIO (no randomness);
 * a full store evicts (see above). */
int token_issue(struct token_store *ts, const struct token_info *who, int64_t now_ms,
                char out[TOKEN_TEXT_LEN + 1]);
/* 1 when token is live, filling *who (may be NULL); 0 unknown, expired (then
 * forgotten) or revoked. */
int token_check(struct token_store *ts, const char *token, int64_t now_ms,
                struct token_info *who);
/* 1 revoked, 0 it was not live. */
int token_revoke(struct token_store *ts, const char *token);

/* Persistence, so tokens survive a restart (auth.c: <analyzer.data_dir>/tokens.json).
 * Once attached, the store is saved after every issue and every revocation, before the
 * call returns (util_write_file_atomic: a 0600 temporary made with O_EXCL, renamed over
 * the file). The file holds, per live token, the SHA-256 of its text (never the text:
 * reading the file gives no usable token), its user, role, backend and expiry. A revoked
 * token is no longer in it, so a restart does not bring it back. A failed save is logged
 * and counted (SaveErrors); the store goes on in memory.
 *
 * token_store_attach loads path when it exists. Entries that expired by now_ms, and those
 * keep(user, who) refuses (keep NULL: all kept), are dropped and counted in *dropped;
 * beyond the store's size the ones closest to expiry go too. Refused with -EPERM and err:
 * a symbolic link (O_NOFOLLOW), not a regular file, not owned by this process's user, or
 * writable by group or others (whoever can write it can add a token of their own). A file
 * that does not parse is kept as path.corrupt, logged, and the store starts empty (0).
 * Other errors (cannot read): -errno with err. On any error the store stays unattached. */
typedef int (*token_keep_fn)(void *user, const struct token_info *who);
int token_store_attach(struct token_store *ts, const char *path, int64_t now_ms,
                       token_keep_fn keep, void *user, size_t *loaded, size_t *dropped,
                       char *err, size_t errlen);

struct token_stats {
	size_t live;
	uint64_t issued, expired, revoked, evicted;
	uint64_t saves, save_errors; /* writes of the attached file */
};
void token_store_stats(struct token_store *ts, int64_t now_ms, struct token_stats *out);

struct throttle;

/* free_failures >= 0; delay_ms, max_delay_ms > 0; max entries > 0. */
struct throttle *throttle_new(unsigned free_failures, int64_t delay_ms, int64_t max_delay_ms,
                              size_t max);
void throttle_free(struct throttle *t); /* NULL is fine */
/* 0 when addr may try a password now; else the ms until it may (> 0). */
int64_t throttle_wait_ms(struct throttle *t, const char *addr, int64_t now_ms);
/* A failed check from addr: returns the ms it is now blocked for (0: not yet). */
int64_t throttle_failure(struct throttle *t, const char *addr, int64_t now_ms);
void throttle_success(struct throttle *t, const char *addr);

struct throttle_stats {
	size_t tracked;
	uint64_t failures, refused, evicted;
};
void throttle_stats(struct throttle *t, struct throttle_stats *out);
/* Counts a request refused because its address was blocked. */
void throttle_count_refused(struct throttle *t);

#endif
