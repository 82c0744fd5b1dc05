/* util.h - small formatting, time and file helpers shared by every module. */
#ifndef SKYDIVE_UTIL_H
#define SKYDIVE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Lowercase hex without leading zeros (Go's strconv.FormatUint(v, 16)).
 * buf needs 17 bytes; returns the length written. */
int fmt_hex_u64(char *buf, uint64_t v);
/* ms since the epoch as RFC 3339 UTC with milliseconds: 2026-01-02T15:04:05.123Z. */
void fmt_rfc3339_ms(char *buf, size_t len, int64_t ms);
/* ms of CLOCK_MONOTONIC (intervals, deadlines). */
int64_t util_mono_ms(void);
/* "aa:bb:cc:dd:ee:ff" into buf[18]. */
void fmt_mac(char *buf, const uint8_t mac[6]);
/* Parses "aa:bb:cc:dd:ee:ff" (either case) into out; 0, or -EINVAL (out
 * untouched) when s is not exactly that. */
int parse_mac(const char *s, uint8_t out[6]);
/* IPv4 dotted quad or RFC 5952 IPv6 into buf[46]; ver is 4 or 6. */
void fmt_ip(char *buf, int ver, const uint8_t addr[16]);

/* CLOCK_REALTIME in ns. */
uint64_t time_now_ns(void);

/* Parses a decimal integer in [min, max]; returns 0 or -EINVAL / -ERANGE. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Makes dir and its missing parents: parents 0755, dir itself 0700 (data directories:
 * nothing other users need); an existing directory keeps its mode. 0 or -errno. */
int util_mkdir_p(const char *dir);
/* Replaces path with data[0..len) atomically: a temporary file beside it made by
 * mkostemp (O_EXCL: mode 0600, an unpredictable name, never through a planted symbolic
 * link), written, fsync'd, renamed over path, the directory fsync'd; a crash leaves the
 * old or the new file. 0, or -errno with *what naming the failed step ("create",
 * "write", "rename into"; may be NULL) and nothing left behind. */
int util_write_file_atomic(const char *path, const void *data, size_t len, const char **what);

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)(v >> 32));
	wr32(p + 4, (uint32_t)v);
}

#endif
