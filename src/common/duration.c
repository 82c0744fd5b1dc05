/* duration.c - Go duration parsing in integer nanoseconds (no strtod: no locale,
 * no exponents, no rounding surprises such as 0.29 s = 289 ms). */
#include "common/duration.h"

#include <errno.h>
#include <string.h>

#define NS_LIMIT ((uint64_t)1 << 63) /* |d| of a negative int64; positive ones stop one below */

static const struct {
	const char *name;
	uint64_t ns;
} units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1000}, /* U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", 60ull * 1000000000},
    {"h", 3600ull * 1000000000},
    /* ours, beyond Go: days of 24 h, so retention keys and G.At('-2d') read as people
     * write them (docs/API.md) */
    {"d", 86400ull * 1000000000},
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int duration_parse(const char *s, int64_t *ns)
{
	if (!s)
		return -EINVAL;
	int neg = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	uint64_t total = 0;
	while (*s) {
		if (!is_digit(*s) && *s != '.')
			return -EINVAL;
		/* integer part, exact */
		uint64_t whole = 0;
		const char *p = s;
		for (; is_digit(*s); s++) {
			if (whole > (NS_LIMIT - (uint64_t)(*s - '0')) / 10)
				return -ERANGE;
			whole = whole * 10 + (uint64_t)(*s - '0');
		}
		int digits = s > p;
		/* fraction: digits kept while they fit, the rest only read */
		uint64_t frac = 0;
		double scale = 1;
		if (*s == '.') {
			s++;
			int overflow = 0;
			for (; is_digit(*s); s++) {
				digits = 1;
				if (overflow)
					continue;
				if (frac > (UINT64_MAX / 2 - 9) / 10) {
					overflow = 1;
					continue;
				}
				frac = frac * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
		if (!digits)
			return -EINVAL; /* "." or ".s" */
		/* the unit: everything up to the next number */
		size_t ul = 0;
		while (s[ul] && !is_digit(s[ul]) && s[ul] != '.')
			ul++;
		if (!ul)
			return -EINVAL; /* Go wants a unit after every number */
		uint64_t unit = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ul && !memcmp(s, units[i].name, ul))
				unit = units[i].ns;
		if (!unit)
			return -EINVAL;
		s += ul;
		if (whole > NS_LIMIT / unit)
			return -ERANGE;
		uint64_t v = whole * unit;
		if (frac) {
			v += (uint64_t)((double)frac * ((double)unit / scale));
			if (v > NS_LIMIT)
				return -ERANGE;
		}
		if (v > NS_LIMIT - total)
			return -ERANGE;
		total += v;
	}
	if (!neg && total > NS_LIMIT - 1)
		return -ERANGE;
	*ns = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}
