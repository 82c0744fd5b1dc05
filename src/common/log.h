/* log.h - leveled logging to stderr; library code logs, never prints or exits. */
#ifndef SKYDIVE_LOG_H
#define SKYDIVE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARNING, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped. Default LOG_INFO; SKYDIVE_LOGGING_LEVEL
 * (ERROR, WARNING, INFO, DEBUG) overrides it at the first call. */
void log_set_level(enum log_level level);
/* Returns -EINVAL for an unknown name. */
int log_level_parse(const char *name, enum log_level *out);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
