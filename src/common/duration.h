/* duration.h - Go durations ("1h30m", "500ms", "-1.5s"): the one parser of the tree,
 * used by the configuration (config_get_duration), Gremlin's At() and the capture TTL. */
#ifndef SKYDIVE_DURATION_H
#define SKYDIVE_DURATION_H

#include <stdint.h>

/* Go's time.ParseDuration syntax: an optional sign, then "0" alone or one or more
 * decimal numbers ("7", "1.5", ".5", "2.") each followed by a unit: ns, us (also
 * U+00B5 or U+03BC then s), ms, s, m, h, and ours beyond Go: d (24 h). No spaces, no exponents. *ns gets the
 * value in nanoseconds, exact for the integer part, the fraction truncated as Go
 * does. Returns 0, -EINVAL (not that syntax; *ns untouched) or -ERANGE (beyond
 * int64 nanoseconds, about 292 years, as Go). */
int duration_parse(const char *s, int64_t *ns);

#endif
