/* config_keys.h - the configuration keys this build reads, and the startup
 * warning for a key a file sets that none of the code reads (a typo, or a
 * Skydive key this build does not implement), naming the file and, when one
 * is close, the key meant.
 *
 * The table (config_keys.c) lists every key: a "*" segment stands for any
 * one name (auth.*.type: a backend's), and some keys take a free-form map
 * (agent.metadata, auth.*.users, flow.application_ports). */
#ifndef SKYDIVE_CONFIG_KEYS_H
#define SKYDIVE_CONFIG_KEYS_H

#include <jansson.h>
#include <stddef.h>

/* 1 when some code reads the dotted path (or the map it is in), else 0. */
int config_key_known(const char *path);
/* The known key closest to path when it is close (an edit distance of 2, or
 * of a quarter of its length), written into buf; NULL when none is. */
const char *config_key_suggest(const char *path, char *buf, size_t len);
/* Logs a warning for each key of tree (one file's) that no code reads:
 * "config: FILE: unknown key 'flow.expir' (...); did you mean 'flow.expire'?".
 * Returns how many. */
size_t config_keys_check(const json_t *tree, const char *file);
/* The table: key i (NULL past the end), *tree set when it takes a map. */
size_t config_keys_count(void);
const char *config_keys_get(size_t i, int *tree);

#endif
