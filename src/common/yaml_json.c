/* yaml_json.c - YAML nodes to JSON values. */
#include "common/yaml_json.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static json_t *scalar(const yaml_node_t *n, unsigned flags)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || !strcmp(s, "~") || !strcasecmp(s, "null"))
		return json_null();
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(s, yes[i]))
			return json_true();
		if (!strcasecmp(s, no[i]))
			return json_false();
	}
	char *end;
	errno = 0;
	long long ll = strtoll(s, &end, flags & YAML_JSON_INT_PREFIX ? 0 : 10);
	if (*end == 0 && errno == 0 && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+'))
		return json_integer(ll);
	if (flags & YAML_JSON_REALS) {
		errno = 0;
		double d = strtod(s, &end);
		if (*end == 0 && errno == 0 &&
		    (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '.'))
			return json_real(d);
	}
	return json_stringn(s, len);
}

/* *left: nodes still allowed; (size_t)-1 once the budget ran out. */
static json_t *node(yaml_document_t *doc, yaml_node_t *n, int depth,
		    const struct yaml_json_limits *l, size_t *left)
{
	if (!n || depth > l->max_depth)
		return NULL;
	if (*left == 0 || *left == (size_t)-1) {
		*left = (size_t)-1;
		return NULL;
	}
	(*left)--;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar(n, l->flags);
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     a && it < n->data.sequence.items.top; it++) {
			json_t *v = node(doc, yaml_document_get_node(doc, *it), depth + 1, l, left);
			if (!v || json_array_append_new(a, v)) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     o && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			if (!k || k->type != YAML_SCALAR_NODE)
				continue; /* complex keys have no dotted name */
			json_t *v =
			    node(doc, yaml_document_get_node(doc, p->value), depth + 1, l, left);
			if (!v || json_object_setn_new(o, (const char *)k->data.scalar.value,
						       k->data.scalar.length, v)) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	default:
		return json_null();
	}
}

json_t *yaml_json(yaml_document_t *doc, yaml_node_t *n, const struct yaml_json_limits *l,
		  int *over_budget)
{
	size_t left = l->max_nodes;
	json_t *j = node(doc, n, 0, l, &left);
	if (over_budget)
		*over_budget = !j && left == (size_t)-1;
	return j;
}
