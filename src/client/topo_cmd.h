/* topo_cmd.h - `skydive client node|edge create|update|delete|get|list` through the
 * analyzer's /api/node and /api/edge (Skydive's graffiti/cmd/client/node.go, edge.go:
 * their flags, and json.go's metadata patch). */
#ifndef SKYDIVE_TOPO_CMD_H
#define SKYDIVE_TOPO_CMD_H

#include <jansson.h>
#include <stdio.h>

/* Runs `skydive client [OPTIONS] node|edge ...` (argv[0] is "client"); returns the exit
 * code: 0, 1 error (the analyzer's reason printed), 2 usage. */
int client_topo_main(int argc, char **argv);
/* The usage lines of the node and edge commands, for `skydive client --help`. */
void client_topo_usage_lines(FILE *out);

/* Skydive's graph.DefToMetadata: "k1=v1, k2=v2" set into md (dotted keys make nested
 * objects, values are strings, quotes around a key or value dropped). 0, or -1 with err
 * filled ("attributes must be defined by pair k=v: ..."). */
int client_topo_metadata(const char *def, json_t *md, char *err, size_t errlen);
/* Skydive's createMetadataJSONPatch: "add" /Metadata/<k> for each "k=v" of add (v as JSON
 * when it parses, else a string), "remove" for each key of remove; '/' in a key becomes
 * '.'. A new array, or NULL with err filled. */
json_t *client_topo_patch(const char *const *add, int nadd, const char *const *remove,
                          int nremove, char *err, size_t errlen);

#endif
