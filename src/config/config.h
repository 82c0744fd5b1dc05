/* config.h - Skydive configuration: YAML files merged over built-in defaults,
 * every key overridable by a SKYDIVE_* environment variable.
 *
 * Precedence, highest first: config_set() (command-line flags), the
 * environment (SKYDIVE_ + key upper-cased, '.' and '-' turned into '_':
 * "analyzer.listen" -> SKYDIVE_ANALYZER_LISTEN), the files in the order given
 * (later files override earlier ones, maps are merged key by key), the
 * built-in defaults of Skydive 0.28 (host_id = hostname, analyzers
 * [127.0.0.1:8082], analyzer.listen 127.0.0.1:8082, agent.listen
 * 127.0.0.1:8081, flow.expire 600 ...), and last the default the caller
 * passes to a getter.
 *
 * YAML scalars keep their type: plain 12 is an integer, true a boolean,
 * "12" (quoted) a string. Lists given in the environment are space-separated.
 *
 * Threads: a loaded config may be read from any thread; config_set() must
 * not run concurrently with readers. */
#ifndef SKYDIVE_CONFIG_H
#define SKYDIVE_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct config;

#define CONFIG_DEFAULT_FILE "/etc/skydive/skydive.yml"

/* Loads files[0..n) over the defaults. n == 0 loads CONFIG_DEFAULT_FILE if it
 * exists (and nothing otherwise). Returns NULL with err filled, e.g.
 * "skydive.yml:3:5: mapping values are not allowed in this context", or
 * "cannot read x.yml: No such file or directory". */
struct config *config_load(const char *const *files, size_t n, char *err, size_t errlen);
/* Defaults (and environment) only; NULL on out of memory. */
struct config *config_new(void);
void config_free(struct config *cfg); /* NULL is fine */

/* Overrides a key (e.g. from a command-line flag); beats the environment.
 * value is stolen. Returns 0 or -ENOMEM. */
int config_set(struct config *cfg, const char *key, json_t *value);
/* Same with a string value. */
int config_set_string(struct config *cfg, const char *key, const char *value);

/* The value of "dotted.key", or def when no layer has it. Strings returned
 * are owned by cfg (or the environment) and stay valid until config_free()
 * or config_set() of that key. A number or boolean is given as its text. */
const char *config_get_string(const struct config *cfg, const char *key, const char *def);
/* Integers: a non-integer value logs a warning and gives def. */
int64_t config_get_int(const struct config *cfg, const char *key, int64_t def);
/* Durations: a number (an integer as config_get_int reads it, or a decimal) is
 * seconds, Skydive's unit for these keys; a string is a Go duration ("1h30m",
 * "500ms", common/duration.h). *ms gets it truncated to ms, except that a nonzero
 * value under 1 ms is 1 ms. 0, -EINVAL (neither) or -ERANGE (*ms untouched). */
int config_parse_duration(const char *text, int64_t *ms);
/* The value of key read so, in ms; def_ms when no layer has it; a value that is no
 * duration logs a warning and gives def_ms. */
int64_t config_get_duration(const struct config *cfg, const char *key, int64_t def_ms);
/* true/false, yes/no, on/off, 1/0 (any case); anything else gives def. */
int config_get_bool(const struct config *cfg, const char *key, int def);
/* A new JSON array of strings (caller json_decref): the environment split on
 * spaces, a YAML sequence, a YAML scalar split on spaces, else def split on
 * spaces (def NULL: empty array). NULL only on out of memory. */
json_t *config_get_list(const struct config *cfg, const char *key, const char *def);
/* The value from the files/defaults/overrides (not the environment) as a
 * borrowed reference, e.g. the agent.metadata map; NULL when absent. */
const json_t *config_get_json(const struct config *cfg, const char *key);

/* The environment variable name of a key: SKYDIVE_ANALYZER_LISTEN into buf.
 * Returns 0 or -ENAMETOOLONG. */
int config_env_name(const char *key, char *buf, size_t len);

/* Splits "host:port", "[v6]:port", ":port" (host "") or "port" (host "").
 * Returns 0 or -EINVAL (no valid port 0..65535, host too long). */
int config_split_addr(const char *addr, char *host, size_t hostlen, int *port);

#endif
