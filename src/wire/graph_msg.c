/* graph_msg.c - Skydive "Graph" namespace messages (NodeAdded, Sync ...)
 * parsed from their JSON envelope and applied to the graph. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wire/graph_msg.h"
#include "common/json_dotted.h"

json_t *graph_msg_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *m = json_loadb(text, len, 0, &je);
	if (!m) {
		snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", je.line, je.column,
		         je.text);
		return NULL;
	}
	if (!json_is_object(m) || !json_is_string(json_object_get(m, "Type"))) {
		snprintf(err, errlen, "message is not an object with a string Type");
		json_decref(m);
		return NULL;
	}
	json_t *ns = json_object_get(m, "Namespace");
	if (ns && !json_is_string(ns)) {
		snprintf(err, errlen, "message Namespace is not a string");
		json_decref(m);
		return NULL;
	}
	return m;
}

json_t *graph_msg_new(const char *ns, const char *type, json_t *obj)
{
	json_t *m = json_pack("{s:s, s:s, s:i}", "Namespace", ns, "Type", type, "Status", 200);
	if (!m) {
		json_decref(obj);
		return NULL;
	}
	if (obj && json_object_set_new(m, "Obj", obj)) {
		json_decref(m);
		return NULL;
	}
	return m;
}

static const char *elem_id(const json_t *obj, char *err, size_t errlen, const char *type)
{
	const char *id = json_string_value(json_object_get(obj, "ID"));
	if (!id || !*id)
		snprintf(err, errlen, "%s without a string ID", type);
	return id && *id ? id : NULL;
}

/* A copy of the element's Metadata (the graph steals it); {} when absent. */
static json_t *elem_metadata(const json_t *obj)
{
	json_t *md = json_object_get(obj, "Metadata");
	return json_is_object(md) ? json_deep_copy(md) : json_object();
}

static const char *elem_host(const json_t *obj, const struct graph_msg_source *src)
{
	const char *h = json_string_value(json_object_get(obj, "Host"));
	return (src->force_host || !h || !*h) ? src->host : h;
}

/* The Origin an element gets: the sender's, or with replication the element's own. */
static const char *elem_origin(const json_t *obj, const struct graph_msg_source *src)
{
	const char *o = src->accept ? json_string_value(json_object_get(obj, "Origin")) : NULL;
	return o && *o ? o : src->origin;
}

/* Replication: whether this element of a peer's message is applied (1), or left (0). */
static int accepted(const json_t *obj, const struct graph_msg_source *src, int claim)
{
	const char *o = elem_origin(obj, src);
	return !src->accept || src->accept(src->accept_user, o ? o : "", claim);
}

/* Added and Updated both end with the element present with this metadata,
 * so a message replayed or received out of order still converges. */
static int node_upsert(struct graph *g, const json_t *obj, const struct graph_msg_source *src,
                       int64_t now, int add_first, char *err, size_t errlen)
{
	const char *id = elem_id(obj, err, errlen, "node");
	if (!id)
		return -EINVAL;
	if (!accepted(obj, src, add_first))
		return 0;
	int rc;
	if (add_first) {
		rc = graph_node_add(g, id, elem_metadata(obj), elem_host(obj, src), elem_origin(obj, src),
		                    now);
		if (rc == -EEXIST)
			rc = graph_node_set_metadata(g, id, elem_metadata(obj), now);
	} else {
		rc = graph_node_set_metadata(g, id, elem_metadata(obj), now);
		if (rc == -ENOENT)
			rc = graph_node_add(g, id, elem_metadata(obj), elem_host(obj, src),
			                    elem_origin(obj, src), now);
	}
	if (rc < 0 && rc != -ENOMEM)
		snprintf(err, errlen, "node %s: %s", id, strerror(-rc));
	return rc < 0 ? rc : 0;
}

static int edge_upsert(struct graph *g, const json_t *obj, const struct graph_msg_source *src,
                       int64_t now, int add_first, char *err, size_t errlen)
{
	const char *id = elem_id(obj, err, errlen, "edge");
	if (!id)
		return -EINVAL;
	if (!accepted(obj, src, add_first))
		return 0;
	const char *parent = json_string_value(json_object_get(obj, "Parent"));
	const char *child = json_string_value(json_object_get(obj, "Child"));
	int rc = -ENOENT;
	if (!add_first)
		rc = graph_edge_set_metadata(g, id, elem_metadata(obj), now);
	if (rc == -ENOENT) {
		if (!parent || !child) {
			snprintf(err, errlen, "edge %s without string Parent and Child", id);
			return -EINVAL;
		}
		rc = graph_edge_add(g, id, parent, child, elem_metadata(obj), elem_host(obj, src),
		                    elem_origin(obj, src), now);
		if (rc == -EEXIST)
			rc = graph_edge_set_metadata(g, id, elem_metadata(obj), now);
		if (rc == -ENOENT) {
			snprintf(err, errlen, "edge %s: node %s or %s does not exist", id, parent,
			         child);
			return -EINVAL;
		}
	}
	if (rc < 0 && rc != -ENOMEM)
		snprintf(err, errlen, "edge %s: %s", id, strerror(-rc));
	return rc < 0 ? rc : 0;
}

/* Graffiti's PartiallyUpdatedOp Type: 1 add/set, 2 delete (names accepted too). */
static int op_is_delete(const json_t *op)
{
	json_t *t = json_object_get(op, "Type");
	if (json_is_integer(t))
		return json_integer_value(t) == 2;
	const char *s = json_string_value(t);
	return s && (!strcasecmp(s, "del") || !strcasecmp(s, "delete"));
}

/* All ops are applied to one copy of the metadata, stored once (one revision, one
 * update to subscribers): a cost linear in the ops, where a revision per op made a
 * 200,000-op message quadratic (issue 9). Their count is bounded too, since even
 * linear work of that size runs on the event loop. */
static int partial_update(struct graph *g, const json_t *obj, int is_edge,
                          const struct graph_msg_source *src, int64_t now, char *err,
                          size_t errlen)
{
	const char *id = elem_id(obj, err, errlen, is_edge ? "edge" : "node");
	if (!id)
		return -EINVAL;
	json_t *ops = json_object_get(obj, "Ops");
	if (!json_is_array(ops)) {
		snprintf(err, errlen, "%s partial update without an Ops array", id);
		return -EINVAL;
	}
	if (json_array_size(ops) > GRAPH_MSG_MAX_OPS) {
		snprintf(err, errlen,
		         "%s partial update with %zu operations refused (at most %u per message; "
		         "send the element whole with %sUpdated)",
		         id, json_array_size(ops), GRAPH_MSG_MAX_OPS, is_edge ? "Edge" : "Node");
		return -EINVAL;
	}
	struct graph_view *v = graph_view_at(g, 0, NULL);
	if (!v)
		return -ENOMEM;
	const struct graph_elem *e = NULL;
	if (is_edge) {
		const struct graph_edge *ge = graph_view_edge_get(v, id);
		e = ge ? &ge->e : NULL;
	} else {
		const struct graph_node *gn = graph_view_node_get(v, id);
		e = gn ? &gn->e : NULL;
	}
	if (e && src->accept && !src->accept(src->accept_user, e->origin ? e->origin : "", 0)) {
		graph_view_free(v);
		return 0;
	}
	/* copied along each key's path only (json_dotted_set_cow): the rest stays shared
	 * with the revision the graph keeps in history */
	json_t *md = e ? json_copy(e->metadata) : NULL;
	graph_view_free(v);
	if (!e) {
		snprintf(err, errlen, "%s %s does not exist", is_edge ? "edge" : "node", id);
		return -EINVAL;
	}
	if (!md)
		return -ENOMEM;
	size_t i;
	json_t *op;
	json_array_foreach(ops, i, op)
	{
		const char *key = json_string_value(json_object_get(op, "Key"));
		if (!key)
			continue;
		/* a set without a Value deletes, as graph_node_set_key(NULL) did */
		const json_t *val = op_is_delete(op) ? NULL : json_object_get(op, "Value");
		/* the message's value is copied: the graph never shares the message's JSON */
		json_t *copy = val ? json_deep_copy(val) : NULL;
		if ((val && !copy) || json_dotted_set_cow(md, key, copy)) {
			json_decref(md);
			return -ENOMEM;
		}
	}
	int rc = is_edge ? graph_edge_set_metadata(g, id, md, now)
	                 : graph_node_set_metadata(g, id, md, now);
	return rc == -ENOENT ? -EINVAL : rc;
}

static int sync_graph(struct graph *g, const json_t *obj, const struct graph_msg_source *src,
                      int64_t now, char *err, size_t errlen)
{
	json_t *nodes = json_object_get(obj, "Nodes"), *edges = json_object_get(obj, "Edges");
	int first = 0;
	size_t i;
	json_t *it;
	char e[256];
	if (src->accept) {
		/* Each origin the peer carries (and we take from it) is replaced whole. */
		json_t *seen = json_object();
		if (!seen)
			return -ENOMEM;
		for (int k = 0; k < 2; k++)
			json_array_foreach(k ? edges : nodes, i, it)
			{
				const char *o = elem_origin(it, src);
				if (!o)
					o = "";
				if (json_object_get(seen, o))
					continue;
				int take = src->accept(src->accept_user, o, 1);
				json_object_set_new(seen, o, json_boolean(take));
				if (take)
					graph_delete_by_host(g, o, 1, now);
			}
		json_decref(seen);
	} else {
		graph_delete_by_host(g, src->origin, 1, now);
	}
	/* Apply everything that can be applied; report the first failure. */
	json_array_foreach(nodes, i, it)
	{
		int rc = node_upsert(g, it, src, now, 1, e, sizeof(e));
		if (rc == -ENOMEM)
			return rc;
		if (rc && !first) {
			first = rc;
			snprintf(err, errlen, "%s", e);
		}
	}
	json_array_foreach(edges, i, it)
	{
		int rc = edge_upsert(g, it, src, now, 1, e, sizeof(e));
		if (rc == -ENOMEM)
			return rc;
		if (rc && !first) {
			first = rc;
			snprintf(err, errlen, "%s", e);
		}
	}
	return first;
}

int graph_msg_apply(struct graph *g, const json_t *msg, const struct graph_msg_source *src,
                    int64_t now_ms, char *err, size_t errlen)
{
	const char *ns = json_string_value(json_object_get(msg, "Namespace"));
	const char *type = json_string_value(json_object_get(msg, "Type"));
	const json_t *obj = json_object_get(msg, "Obj");
	int rc;
	if ((ns && strcmp(ns, GRAPH_MSG_NAMESPACE)) || !type)
		return GRAPH_MSG_IGNORED;
	if (!strcmp(type, "SyncRequest") &&
	    !(json_is_object(obj) && json_is_array(json_object_get(obj, "Nodes"))))
		return GRAPH_MSG_SYNC_REQUEST;
	if (!strcmp(type, "SyncReply") || !strcmp(type, "Sync") || !strcmp(type, "SyncRequest")) {
		if (!json_is_object(obj)) {
			snprintf(err, errlen, "%s without a graph object", type);
			return -EINVAL;
		}
		rc = sync_graph(g, obj, src, now_ms, err, errlen);
		return rc < 0 ? rc : GRAPH_MSG_APPLIED;
	}
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "%s without an Obj object", type);
		return -EINVAL;
	}
	if (!strcmp(type, "NodeAdded") || !strcmp(type, "NodeUpdated")) {
		rc = node_upsert(g, obj, src, now_ms, type[4] == 'A', err, errlen);
	} else if (!strcmp(type, "EdgeAdded") || !strcmp(type, "EdgeUpdated")) {
		rc = edge_upsert(g, obj, src, now_ms, type[4] == 'A', err, errlen);
	} else if (!strcmp(type, "NodeDeleted") || !strcmp(type, "EdgeDeleted")) {
		const char *id = elem_id(obj, err, errlen, type[0] == 'N' ? "node" : "edge");
		if (!id)
			return -EINVAL;
		if (!accepted(obj, src, 0))
			return GRAPH_MSG_APPLIED;
		rc = type[0] == 'N' ? graph_node_delete(g, id, now_ms)
		                    : graph_edge_delete(g, id, now_ms);
		if (rc == -ENOENT) /* already gone: deleting is idempotent */
			rc = 0;
	} else if (!strcmp(type, "NodePartiallyUpdated") || !strcmp(type, "EdgePartiallyUpdated")) {
		rc = partial_update(g, obj, type[0] == 'E', src, now_ms, err, errlen);
	} else {
		return GRAPH_MSG_IGNORED;
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc < 0 ? rc : GRAPH_MSG_APPLIED;
}
