/* base64.c - RFC 4648 base64 encoding and decoding. */
#include <string.h>
#include <stdio.h>
#include "common/base64.h"

#include <errno.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(char *out, const void *in, size_t n)
{
	const uint8_t *d = in;
	char *p = out;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		*p++ = alphabet[v >> 18 & 63];
		*p++ = alphabet[v >> 12 & 63];
		*p++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		*p++ = i + 2 < n ? alphabet[v & 63] : '=';
	}
	*p = 0;
	return (size_t)(p - out);
}

char *base64_encode_alloc(const void *in, size_t n, size_t *outlen)
{
	char *out = malloc(BASE64_ENCODED_LEN(n) + 1);
	if (!out)
		return NULL;
	size_t len = base64_encode(out, in, n);
	if (outlen)
		*outlen = len;
	return out;
}

static int digit(int ch, int flags)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || (ch == '-' && (flags & BASE64_URLSAFE)))
		return 62;
	if (ch == '/' || (ch == '_' && (flags & BASE64_URLSAFE)))
		return 63;
	return -1;
}

long base64_decode(uint8_t *out, size_t outcap, const char *in, size_t inlen, int flags)
{
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < inlen && in[i] != '='; i++) {
		int v = digit((unsigned char)in[i], flags);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= outcap)
				return -ENOSPC;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)n;
}

int base64_basic_auth(char out[BASE64_BASIC_AUTH_MAX], const char *user, const char *password,
                      const char *keys, char *err, size_t errlen)
{
	char cred[512];
	int cn = snprintf(cred, sizeof(cred), "%s:%s", user, password ? password : "");
	if (cn < 0 || (size_t)cn >= sizeof(cred) || strchr(user, ':')) {
		snprintf(err, errlen, "%s.username/password: %s", keys,
		         strchr(user, ':') ? "the user name may not hold ':'"
		                           : "longer than 511 bytes together");
		explicit_bzero(cred, sizeof(cred));
		return -1;
	}
	memcpy(out, "Basic ", 6);
	base64_encode(out + 6, cred, (size_t)cn);
	explicit_bzero(cred, sizeof(cred));
	return 0;
}
