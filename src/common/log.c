/* log.c - leveled logging to stderr with a timestamp. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int current_level = -1;
static const char *const names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};

int log_level_parse(const char *name, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "WARN") == 0) {
		*out = LOG_WARNING;
		return 0;
	}
	return -EINVAL;
}

void log_set_level(enum log_level level)
{
	current_level = (int)level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (current_level < 0) {
		enum log_level l = LOG_INFO;
		const char *env = getenv("SKYDIVE_LOGGING_LEVEL");
		if (env)
			log_level_parse(env, &l);
		current_level = (int)l;
	}
	if ((int)level > current_level)
		return;
	char ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line keeps lines from threads whole. */
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %s %s\n", ts, now.tv_nsec / 1000000, names[level], line);
}
