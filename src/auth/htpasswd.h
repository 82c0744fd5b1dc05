/* htpasswd.h - the user file of the "basic" authentication backend, in Apache's
 * htpasswd shape ("user:hash" lines, as Skydive's auth.<name>.file read through
 * go-http-auth's HtpasswdFileProvider), and Skydive's inline auth.<name>.users map.
 *
 * Hashes are verified with libxcrypt (crypt_rn): bcrypt ($2y$, $2b$, $2a$: htpasswd -B)
 * and SHA-crypt ($5$, $6$: openssl passwd -5/-6, mkpasswd). Other schemes (htpasswd's
 * default $apr1$ MD5, {SHA}, DES crypt, plain text in a file) are refused when the file
 * is loaded, with the line and how to make a supported hash: a weak hash is an error,
 * never a silent fallback. Inline users (auth.<name>.users) may hold a plain password,
 * as in Skydive; it is hashed ($6$, random salt) when loaded and not kept.
 *
 * Ownership: a struct htpasswd is immutable once built; htpasswd_check may run on any
 * thread. It takes the time of one hash check whether or not the user exists, so the
 * answer does not tell which user names are valid. */
#ifndef SKYDIVE_HTPASSWD_H
#define SKYDIVE_HTPASSWD_H

#include <jansson.h>
#include <stddef.h>

struct htpasswd;

/* Parses text ("user:hash" per line; blank lines and '#' comments ignored; CRLF
 * accepted). name is used in errors: "htpasswd:3: user 'bob': $apr1$ (MD5) hashes are
 * not supported ...". NULL with err filled. */
struct htpasswd *htpasswd_parse(const char *text, size_t len, const char *name, char *err,
                                size_t errlen);
/* Reads and parses path (at most 16 MiB). */
struct htpasswd *htpasswd_load(const char *path, char *err, size_t errlen);
/* From a JSON object {"user": "hash or plain password"} (auth.<name>.users). */
struct htpasswd *htpasswd_from_map(const json_t *users, const char *name, char *err,
                                   size_t errlen);
void htpasswd_free(struct htpasswd *h); /* NULL is fine */

size_t htpasswd_count(const struct htpasswd *h);

/* 1 when user is in h, else 0 (h NULL: 0). Not timing-safe: for tokens loaded at start
 * (auth.c), not for answering requests. */
int htpasswd_has(const struct htpasswd *h, const char *user);

/* 1 when user exists and password matches its hash, else 0. */
int htpasswd_check(const struct htpasswd *h, const char *user, const char *password);

/* Whether hash is of a supported scheme (1) or not (0; why says which, when given). */
int htpasswd_hash_supported(const char *hash, const char **why);

#endif
