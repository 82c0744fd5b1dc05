/* graph_json.c - elements and views as Skydive writes them (graph.h's shapes). */
#include "graph/graph_int.h"

/* ---- serialisation -------------------------------------------------------------- */

static int put_elem(json_t *o, const struct graph_elem *e)
{
	int r = 0;
	r |= json_object_set_new(o, "ID", json_string(e->id));
	/* shared: stored metadata is never modified in place, so the result may outlive the
	 * lock */
	r |= json_object_set(o, "Metadata", e->metadata);
	r |= json_object_set_new(o, "Host", json_string(e->host));
	r |= json_object_set_new(o, "Origin", json_string(e->origin));
	r |= json_object_set_new(o, "CreatedAt", json_integer(e->created_at));
	r |= json_object_set_new(o, "UpdatedAt", json_integer(e->updated_at));
	if (e->deleted_at)
		r |= json_object_set_new(o, "DeletedAt", json_integer(e->deleted_at));
	r |= json_object_set_new(o, "Revision", json_integer(e->revision));
	return r;
}

json_t *graph_node_to_json(const struct graph_node *n)
{
	json_t *o = json_object();
	if (o && put_elem(o, &n->e)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *graph_edge_to_json(const struct graph_edge *e)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int r = put_elem(o, &e->e);
	r |= json_object_set_new(o, "Parent", json_string(e->parent));
	r |= json_object_set_new(o, "Child", json_string(e->child));
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *graph_view_to_json(const struct graph_view *v)
{
	json_t *nodes = json_array(), *edges = json_array();
	json_t *o = json_object();
	if (!nodes || !edges || !o)
		goto oom;
	size_t nn = graph_view_node_count(v), ne = graph_view_edge_count(v);
	for (size_t i = 0; i < nn; i++)
		if (json_array_append_new(nodes, graph_node_to_json(graph_view_node(v, i))))
			goto oom;
	for (size_t i = 0; i < ne; i++)
		if (json_array_append_new(edges, graph_edge_to_json(graph_view_edge(v, i))))
			goto oom;
	if (json_object_set_new(o, "Nodes", nodes) || json_object_set_new(o, "Edges", edges)) {
		nodes = edges = NULL;
		goto oom;
	}
	return o;
oom:
	json_decref(nodes);
	json_decref(edges);
	json_decref(o);
	return NULL;
}
