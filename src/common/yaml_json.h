/* yaml_json.h - a loaded YAML document's node as JSON, plain scalars typed as Go's yaml.v2
 * types them: the one converter of the configuration files and of YAML capture bodies. */
#ifndef SKYDIVE_YAML_JSON_H
#define SKYDIVE_YAML_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <yaml.h>

/* yaml_json_limits flags */
#define YAML_JSON_REALS      1 /* plain 1.5 is a real (else a string) */
#define YAML_JSON_INT_PREFIX 2 /* plain 0x1f and 017 are integers (strtoll base 0; else base 10) */

struct yaml_json_limits {
	int max_depth;    /* nesting levels below n */
	size_t max_nodes; /* nodes made, aliases counted each time: "billion laughs" stop here */
	unsigned flags;
};

/* n (a node of doc) as a new JSON value: mappings (scalar keys only; others are skipped)
 * as objects, sequences as arrays; plain null, ~ and empty as null, true/yes/on and
 * false/no/off (any case) as booleans, integers (and reals) as numbers; quoted scalars
 * as strings. NULL when deeper than max_depth, beyond max_nodes (then *over_budget,
 * if given, is 1) or out of memory. */
json_t *yaml_json(yaml_document_t *doc, yaml_node_t *n, const struct yaml_json_limits *l,
		  int *over_budget);

#endif
