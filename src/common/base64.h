/* base64.h - RFC 4648 base64: the one encoder and decoder of the tree (Basic
 * credentials, the permissions cookie, raw packets in flow answers and PCAPs). */
#ifndef SKYDIVE_BASE64_H
#define SKYDIVE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the padded encoding of n bytes, without the NUL. */
#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)
/* Room that decoding n characters of text can need (a bound, not exact). */
#define BASE64_DECODED_MAX(n) ((n) / 4 * 3 + 3)

/* Writes the padded encoding of in[0..n) and a NUL into out, which has room for
 * BASE64_ENCODED_LEN(n) + 1 bytes; returns the length without the NUL. */
size_t base64_encode(char *out, const void *in, size_t n);

/* The same into a new NUL-terminated buffer the caller frees; *outlen (if not
 * NULL) gets its length. NULL when out of memory. */
char *base64_encode_alloc(const void *in, size_t n, size_t *outlen);

/* "Basic <base64 of user:password>" into out (700 bytes hold any accepted pair), for an
 * Authorization header. 0, or -1 with err naming keys (e.g. "agent.auth.cluster"): a user
 * with ':' or a pair longer than 511 bytes. */
#define BASE64_BASIC_AUTH_MAX 700
int base64_basic_auth(char out[BASE64_BASIC_AUTH_MAX], const char *user, const char *password,
                      const char *keys, char *err, size_t errlen);

/* base64_decode() flags */
#define BASE64_URLSAFE 1 /* also accept '-' for '+' and '_' for '/' (RFC 4648 5) */

/* Decodes in[0..inlen), stopping at the first '=' (padding is optional and what
 * follows it is not read; leftover bits of a partial group are dropped), into
 * out, which has room for outcap bytes. Returns the number of bytes written,
 * -EINVAL on a character outside the alphabet, -ENOSPC when outcap is short. */
long base64_decode(uint8_t *out, size_t outcap, const char *in, size_t inlen, int flags);

#endif
