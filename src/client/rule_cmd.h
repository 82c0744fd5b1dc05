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

/* `WORD list|get UUID|delete UUID...` of /api/<resource> (what: "node rule", in messages),
 * answers pretty-printed; shared by the resource commands. cmdname is "list", "get" or
 * "delete". Returns the exit code as client_rule_main. */
struct client_opts;
int client_res_simple(const struct client_opts *o, const char *word, const char *resource,
                      const char *what, const char *cmdname, char **ids, int nids);

#endif
