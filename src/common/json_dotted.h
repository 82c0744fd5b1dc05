/* json_dotted.h - a dotted key ("Ovs.ExtID.foo", "Captures") set or deleted inside a JSON
 * object, as Skydive's metadata keys are: the one walk of graph_node_set_key and of
 * graph messages' partial updates. */
#ifndef SKYDIVE_JSON_DOTTED_H
#define SKYDIVE_JSON_DOTTED_H

#include <jansson.h>

/* Sets key in obj to value (stolen; shared, not copied), creating objects on the way and
 * replacing a non-object found on the way; with value NULL deletes key, and a path that
 * does not exist is left as it is. Each part of the path is cut at 255 bytes.
 * 0, or -ENOMEM (obj may then hold some of the objects on the way). */
int json_dotted_set(json_t *obj, const char *key, json_t *value);

/* The same on obj, a shallow copy (json_copy) of metadata that may be shared (a graph
 * revision): each object on the path is copied (shallow) before it changes, so what is
 * off the path stays shared and nothing shared is modified. Values in a graph's metadata
 * are never modified in place (a change is a new revision), which makes the sharing safe:
 * a counter update of a node with large RoutingTables no longer copies them. */
int json_dotted_set_cow(json_t *obj, const char *key, json_t *value);

/* Deletes key as Skydive's Metadata.DelField: the objects on the way that it leaves empty
 * go too. 1 when something was removed, 0 when the path did not exist. */
int json_dotted_del(json_t *obj, const char *key);

#endif
