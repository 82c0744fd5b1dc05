/* util.c - formatting, parsing and file helpers. */
#include "common/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fmt_rfc3339_ms(char *buf, size_t len, int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	char tmp[32];
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", tmp, (int)(ms % 1000));
}

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

int util_mkdir_p(const char *dir)
{
	char buf[4096];
	if (!dir || !*dir)
		return -EINVAL;
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, c ? 0755 : 0700) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int util_write_file_atomic(const char *path, const void *data, size_t len, const char **what)
{
	char tmp[4200], dir[4200];
	const char *step = "create";
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		if (what)
			*what = step;
		return -ENAMETOOLONG;
	}
	int rc = 0, fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0600))
		rc = -errno;
	const char *p = data;
	for (size_t off = 0; !rc && off < len;) {
		step = "write";
		ssize_t k = write(fd, p + off, len - off);
		if (k < 0 && errno != EINTR)
			rc = -errno;
		else if (k > 0)
			off += (size_t)k;
	}
	if (!rc && fsync(fd))
		rc = -errno;
	if (fd >= 0 && close(fd) && !rc)
		rc = -errno;
	if (!rc) {
		step = "rename into";
		if (rename(tmp, path))
			rc = -errno;
	}
	if (rc) {
		if (fd >= 0)
			unlink(tmp);
		if (what)
			*what = step;
		return rc;
	}
	/* make the rename itself durable */
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int64_t util_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
