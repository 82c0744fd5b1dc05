/* rule_cmd.h - `skydive client node-rule|edge-rule create|list|get|delete` through the
 * analyzer's /api/noderule and /api/edgerule (Skydive's cmd/client/noderule.go and
 * edgerule.go: flags and output). */
#ifndef SKYDIVE_RULE_CMD_H
#define SKYDIVE_RULE_CMD_H

#include <jansson.h>
#include <stdio.h>

/* Runs `skydive client [OPTIONS] node-rule ...` (edge 0) or `edge-rule ...` (edge 1);
 * argv[0] is "client". Returns the exit code: 0, 1 error (the analyzer's reason printed),
 * 2 usage. */
int client_rule_main(int argc, char **argv, int edge);
/* The usage lines of both groups, for `skydive client --help`. */
void client_rule_usage_lines(FILE *out);

/* Skydive's graph.DefToMetadata: "k1=v1, k2=v2" (each pair trimmed, quotes around keys
 * and values dropped, dotted keys nested) set into md as strings. 0, or -EINVAL with err
 * filled (a pair without exactly one '='), -ENOMEM. */
int client_rule_metadata(const char *def, json_t *md, char *err, size_t errlen);

#endif
