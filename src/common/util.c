/* util.c - formatting and parsing helpers. */
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int fmt_hex_u64(char *buf, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	for (int i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return n;
}

void fmt_mac(char *buf, const uint8_t m[6])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 6; i++) {
		buf[i * 3] = digits[m[i] >> 4];
		buf[i * 3 + 1] = digits[m[i] & 0xf];
		buf[i * 3 + 2] = i == 5 ? 0 : ':';
	}
}

void fmt_ip(char *buf, int ver, const uint8_t addr[16])
{
	if (ver == 4) {
		/* Faster than inet_ntop and this runs once per flow per output. */
		char *p = buf;
		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i == 3 ? 0 : '.';
		}
		return;
	}
	if (!inet_ntop(AF_INET6, addr, buf, 46))
		strcpy(buf, "::");
}

uint64_t time_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_mac(const char *s, uint8_t out[6])
{
	uint8_t m[6];
	if (!s)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[i * 3]), lo = hi < 0 ? -1 : hexval(s[i * 3 + 1]);
		char sep = s[i * 3 + 2];
		if (lo < 0 || sep != (i == 5 ? '\0' : ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(out, m, 6);
	return 0;
}
