/* sub_filter.h - what a /ws/subscriber client with a Gremlin filter sees, and the partial
 * updates of x-update-policy=partial. Semantics from Skydive's subscriber endpoint
 * (graffiti/endpoints/subscriber_endpoint.go): the filter's result seen as a subgraph
 * (gremlin_eval_elements) is the subscriber's set; a change re-evaluates it and the
 * difference goes out as added / deleted elements, while updates of elements of the set
 * pass through. The analyzer calls these with the graph lock held; nothing here
 * touches a socket. */
#ifndef SKYDIVE_SUB_FILTER_H
#define SKYDIVE_SUB_FILTER_H

#include <jansson.h>
#include <stdint.h>

#include "graph/graph.h"
#include "gremlin/gremlin.h"

struct sub_filter;

/* Parses a filter; NULL with *err filled (syntax error, or out of memory). */
struct sub_filter *sub_filter_new(const char *text, struct gremlin_error *err);
void sub_filter_free(struct sub_filter *f); /* NULL is fine */
const char *sub_filter_text(const struct sub_filter *f);

/* {"Nodes":[...],"Edges":[...]} of the filter's result on v (new reference); when
 * remember, the result's element IDs become the filter's current set. NULL with *err
 * filled when the query fails or does not give nodes, edges or a graph. */
json_t *sub_filter_graph(struct sub_filter *f, const struct graph_view *v, int64_t now_ms,
                         int remember, struct gremlin_error *err);

/* Whether an element is in the current set; sub_filter_forget drops it (deleted). */
int sub_filter_has(const struct sub_filter *f, int is_edge, const char *id);
void sub_filter_forget(struct sub_filter *f, int is_edge, const char *id);

/* emit gets a message type and its Obj (stolen). */
typedef void (*sub_emit_fn)(void *user, const char *type, json_t *obj);

/* Re-evaluates the filter on the live view and emits the difference with the current
 * set, in an order a client can apply: EdgeDeleted, NodeDeleted, NodeAdded, EdgeAdded
 * (a deleted element is sent as it is now, or as {"ID"} when it is gone); the new result
 * becomes the set. 0, or -EINVAL / -ENOMEM with *err filled (the set is kept). */
int sub_filter_update(struct sub_filter *f, const struct graph_view *live, int64_t now_ms,
                      sub_emit_fn emit, void *user, struct gremlin_error *err);

/* Skydive's PartiallyUpdatedOp list turning old_md into new_md, top-level keys, in
 * new_md's order then the removed ones: [{"Type":1,"Key":k,"Value":v} (set),
 * {"Type":2,"Key":k} (delete)] (graffiti/graph/graph.go PartiallyUpdatedAddOpType = 1,
 * PartiallyUpdatedDelOpType = 2). New reference; NULL on out of memory, or when a changed
 * or removed key holds a '.', which no op can name (a Key is a dotted path): the caller
 * then sends the element whole. */
json_t *sub_partial_ops(const json_t *old_md, const json_t *new_md);

/* The Obj of a NodePartiallyUpdated / EdgePartiallyUpdated message (messages.go,
 * PartiallyUpdatedMsg): {"ID","UpdatedAt","Revision","Ops"}; ops stolen. */
json_t *sub_partial_obj(const struct graph_elem *e, json_t *ops);

#endif
