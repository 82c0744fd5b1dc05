/* gremlin_dot.c - Graphviz DOT text of a node, edge or graph result, for the API's
 * "Accept: text/vnd.graphviz". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gremlin/gremlin.h"

/* A DOT double-quoted string: quotes and backslashes escaped, newlines as \n. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static void put_node(FILE *f, const json_t *n)
{
	const char *id = json_string_value(json_object_get(n, "ID"));
	if (!id)
		return;
	const json_t *md = json_object_get(n, "Metadata");
	const char *name = json_string_value(json_object_get(md, "Name"));
	fputs("  ", f);
	put_quoted(f, id);
	fputs(" [label=", f);
	put_quoted(f, name ? name : id);
	fputs("];\n", f);
}

static void put_edge(FILE *f, const json_t *e)
{
	const char *p = json_string_value(json_object_get(e, "Parent"));
	const char *c = json_string_value(json_object_get(e, "Child"));
	if (!p || !c)
		return;
	const json_t *md = json_object_get(e, "Metadata");
	const char *rel = json_string_value(json_object_get(md, "RelationType"));
	fputs("  ", f);
	put_quoted(f, p);
	fputs(" -> ", f);
	put_quoted(f, c);
	if (rel) {
		fputs(" [label=", f);
		put_quoted(f, rel);
		fputs("]", f);
	}
	fputs(";\n", f);
}

char *gremlin_result_dot(const struct gremlin_result *r)
{
	if (!r || !r->json ||
	    (r->kind != GREMLIN_RESULT_NODES && r->kind != GREMLIN_RESULT_EDGES &&
	     r->kind != GREMLIN_RESULT_GRAPH))
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("digraph skydive {\n", f);
	size_t i;
	json_t *x;
	if (r->kind == GREMLIN_RESULT_NODES) {
		json_array_foreach(r->json, i, x) put_node(f, x);
	} else if (r->kind == GREMLIN_RESULT_EDGES) {
		json_array_foreach(r->json, i, x) put_edge(f, x);
	} else {
		/* [ {"Nodes","Edges"} ], a bare {"Nodes","Edges"} or a mixed list */
		const json_t *g = json_is_array(r->json) && json_array_size(r->json) == 1 &&
					  json_is_object(json_array_get(r->json, 0))
				      ? json_array_get(r->json, 0)
				      : r->json;
		if (json_is_object(g) && json_object_get(g, "Nodes")) {
			json_array_foreach(json_object_get(g, "Nodes"), i, x) put_node(f, x);
			json_array_foreach(json_object_get(g, "Edges"), i, x) put_edge(f, x);
		} else {
			json_array_foreach(r->json, i, x)
			{
				if (json_object_get(x, "Parent"))
					put_edge(f, x);
				else
					put_node(f, x);
			}
		}
	}
	fputs("}\n", f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
