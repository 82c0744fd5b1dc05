/* fuzz_graph_msg.c - libFuzzer target for the agent -> analyzer and publisher graph
 * messages (/ws/agent/topology, /ws/publisher): graph_msg_parse + graph_msg_apply on a
 * fresh graph, with a subscriber's Gremlin filter (sub_filter) following the changes.
 *
 * The input is a sequence of messages, one per line. A line may start with "0:", "1:"
 * or "2:" to pick who sends it (0 an agent, whose Host is forced; 1 and 2 publishers);
 * the default is 0. The input's first byte modulo 6 also picks one of a few subscriber
 * filters (or none). Checks on top of the sanitizers:
 *  - every result is a graph_msg_result or -EINVAL / -ENOMEM with an error text;
 *  - the element an applied Added/Updated names exists with the message's metadata,
 *    a deleted one is gone with its edges;
 *  - the live graph is consistent (every edge's ends exist, counts agree with
 *    graph_stats), so are the past views the history gives;
 *  - the partial ops a partial-policy subscriber gets for an update (sub_partial_ops),
 *    applied as a NodePartiallyUpdated to a copy holding the old metadata, give the new;
 *  - the subscriber's set only names live elements, and the live graph serialised as a
 *    Sync and applied to another graph gives the same elements. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/graph_msg.h"
#include "analyzer/sub_filter.h"
#include "common/log.h"
#include "graph/graph.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* Bounds that keep one input's cost small; the API's own limits (message size, ops per
 * message) are larger and are the limits helper's business (docs/API.md "Limits"). */
#define FZ_MAX_INPUT 16384
#define MAX_MSGS  64

static const struct graph_msg_source sources[3] = {
    {.host = "host-a", .origin = "agent.host-a", .force_host = 1},
    {.host = "pub-1", .origin = "publisher.pub-1", .force_host = 0},
    {.host = "pub-2", .origin = "publisher.pub-2", .force_host = 0},
};

static const char *const filters[] = {
    "G.V()",
    "G.V().Has('Type', 'device')",
    "G.V().Has('Name', 'eth0').Both()",
    "G.E().Has('RelationType', 'layer2')",
    "G.V().Has('Type', 'host').Out().Out()",
};
#define NFILTERS (sizeof(filters) / sizeof(filters[0]))

/* The live graph (or a past view) is consistent: edges join existing nodes. */
static void check_view(const struct graph_view *v)
{
	size_t nn = graph_view_node_count(v), ne = graph_view_edge_count(v);
	for (size_t i = 0; i < nn; i++) {
		const struct graph_node *n = graph_view_node(v, i);
		CHECK(n && n->e.id && *n->e.id);
		CHECK(json_is_object(n->e.metadata));
		CHECK(graph_view_node_get(v, n->e.id) == n);
		CHECK(n->e.revision >= 1);
	}
	for (size_t i = 0; i < ne; i++) {
		const struct graph_edge *e = graph_view_edge(v, i);
		CHECK(e && e->e.id && *e->e.id && e->parent && e->child);
		CHECK(json_is_object(e->e.metadata));
		CHECK(graph_view_edge_get(v, e->e.id) == e);
		CHECK(graph_view_node_get(v, e->parent) != NULL);
		CHECK(graph_view_node_get(v, e->child) != NULL);
	}
}

static void check_live(struct graph *g)
{
	struct graph_view *v = graph_view_at(g, 0, NULL);
	CHECK(v);
	check_view(v);
	struct graph_stats st;
	graph_stats(g, &st);
	CHECK(st.nodes == graph_view_node_count(v));
	CHECK(st.edges == graph_view_edge_count(v));
	graph_view_free(v);
}

/* What an applied message says must now hold. */
static void check_applied(struct graph *g, const json_t *msg, const struct graph_msg_source *src)
{
	const char *type = json_string_value(json_object_get(msg, "Type"));
	const json_t *obj = json_object_get(msg, "Obj");
	const char *id = json_string_value(json_object_get(obj, "ID"));
	struct graph_view *v = graph_view_at(g, 0, NULL);
	CHECK(v);
	const json_t *md = json_object_get(obj, "Metadata");
	if (!strcmp(type, "NodeAdded") || !strcmp(type, "NodeUpdated")) {
		const struct graph_node *n = graph_view_node_get(v, id);
		CHECK(n);
		CHECK(json_is_object(md) ? json_equal(n->e.metadata, (json_t *)md)
		                         : json_object_size(n->e.metadata) == 0);
	} else if (!strcmp(type, "EdgeAdded") || !strcmp(type, "EdgeUpdated")) {
		const struct graph_edge *e = graph_view_edge_get(v, id);
		CHECK(e);
		CHECK(json_is_object(md) ? json_equal(e->e.metadata, (json_t *)md)
		                         : json_object_size(e->e.metadata) == 0);
	} else if (!strcmp(type, "NodeDeleted")) {
		size_t n;
		CHECK(graph_view_node_get(v, id) == NULL);
		graph_view_out_edges(v, id, &n);
		CHECK(n == 0);
		graph_view_in_edges(v, id, &n);
		CHECK(n == 0);
	} else if (!strcmp(type, "EdgeDeleted")) {
		CHECK(graph_view_edge_get(v, id) == NULL);
	} else if (!strcmp(type, "Sync") || !strcmp(type, "SyncReply") ||
	           !strcmp(type, "SyncRequest")) {
		/* everything listed was applied (a failure makes the result -EINVAL) */
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(obj, "Nodes"), i, it)
		{
			const struct graph_node *n =
			    graph_view_node_get(v, json_string_value(json_object_get(it, "ID")));
			CHECK(n);
			if (src->force_host)
				CHECK(n->e.host && !strcmp(n->e.host, src->host));
		}
		json_array_foreach(json_object_get(obj, "Edges"), i, it)
		{
			CHECK(graph_view_edge_get(v, json_string_value(json_object_get(it, "ID"))));
		}
	} else if (!strcmp(type, "NodePartiallyUpdated")) {
		CHECK(graph_view_node_get(v, id));
	} else if (!strcmp(type, "EdgePartiallyUpdated")) {
		CHECK(graph_view_edge_get(v, id));
	}
	graph_view_free(v);
}

/* A partial-policy subscriber's view of a node update: the ops from old to new, applied
 * through our own NodePartiallyUpdated to a graph holding old, must give new. */
static void check_partial_ops(const json_t *old_md, const json_t *new_md)
{
	json_t *ops = sub_partial_ops(old_md, new_md);
	if (!ops) {
		/* no ops only when a changed key holds a '.' (the element goes whole) */
		const char *k;
		json_t *v;
		int dotted = 0;
		json_object_foreach((json_t *)new_md, k, v) dotted |= strchr(k, '.') != NULL;
		json_object_foreach((json_t *)old_md, k, v) dotted |= strchr(k, '.') != NULL;
		CHECK(dotted);
		return;
	}
	struct graph *m = graph_new(NULL);
	CHECK(m);
	CHECK(graph_node_add(m, "n", json_deep_copy(old_md), "h", "o", 1000) == 0);
	json_t *msg = json_pack("{s:s, s:s, s:{s:s, s:o}}", "Namespace", "Graph", "Type",
	                        "NodePartiallyUpdated", "Obj", "ID", "n", "Ops", ops);
	CHECK(msg);
	char err[512];
	int rc = graph_msg_apply(m, msg, &sources[1], 2000, err, sizeof(err));
	if (rc != -ENOMEM) {
		CHECK(rc == GRAPH_MSG_APPLIED);
		struct graph_view *v = graph_view_at(m, 0, NULL);
		CHECK(v);
		const struct graph_node *n = graph_view_node_get(v, "n");
		CHECK(n);
		if (!json_equal(n->e.metadata, (json_t *)new_md)) {
			char *a = json_dumps(n->e.metadata, JSON_SORT_KEYS | JSON_COMPACT);
			char *b = json_dumps(new_md, JSON_SORT_KEYS | JSON_COMPACT);
			fprintf(stderr, "partial ops diverge:\n  got  %s\n  want %s\n", a, b);
			free(a);
			free(b);
			CHECK(!"partial ops give the new metadata");
		}
		graph_view_free(v);
	}
	json_decref(msg);
	graph_free(m);
}

struct emitted {
	struct graph *g;
	int n;
};

static void sub_emit(void *user, const char *type, json_t *obj)
{
	struct emitted *e = user;
	CHECK(!strcmp(type, "NodeAdded") || !strcmp(type, "NodeDeleted") ||
	      !strcmp(type, "EdgeAdded") || !strcmp(type, "EdgeDeleted"));
	CHECK(json_is_string(json_object_get(obj, "ID")));
	e->n++;
	json_decref(obj);
}

/* The whole live graph as a Sync into another graph gives the same elements. */
static void check_sync_roundtrip(struct graph *g, int64_t now)
{
	struct graph_view *v = graph_view_at(g, 0, NULL);
	CHECK(v);
	json_t *gj = graph_view_to_json(v);
	if (!gj) {
		graph_view_free(v);
		return;
	}
	json_t *msg = graph_msg_new(GRAPH_MSG_NAMESPACE, "Sync", gj);
	CHECK(msg);
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	CHECK(text);
	char err[512];
	json_t *back = graph_msg_parse(text, strlen(text), err, sizeof(err));
	free(text);
	CHECK(back);
	struct graph *g2 = graph_new(NULL);
	CHECK(g2);
	int rc = graph_msg_apply(g2, back, &sources[2], now, err, sizeof(err));
	CHECK(rc == GRAPH_MSG_APPLIED || rc == -ENOMEM);
	if (rc == GRAPH_MSG_APPLIED) {
		struct graph_view *v2 = graph_view_at(g2, 0, NULL);
		CHECK(v2);
		CHECK(graph_view_node_count(v2) == graph_view_node_count(v));
		CHECK(graph_view_edge_count(v2) == graph_view_edge_count(v));
		for (size_t i = 0; i < graph_view_node_count(v); i++) {
			const struct graph_node *a = graph_view_node(v, i);
			const struct graph_node *b = graph_view_node_get(v2, a->e.id);
			CHECK(b && json_equal(a->e.metadata, b->e.metadata));
		}
		for (size_t i = 0; i < graph_view_edge_count(v); i++) {
			const struct graph_edge *a = graph_view_edge(v, i);
			const struct graph_edge *b = graph_view_edge_get(v2, a->e.id);
			CHECK(b && !strcmp(a->parent, b->parent) && !strcmp(a->child, b->child));
		}
		graph_view_free(v2);
	}
	json_decref(back);
	graph_free(g2);
	graph_view_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		return 0;
	static int once;
	if (!once) {
		log_set_level(LOG_ERROR);
		once = 1;
	}
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;

	struct graph *g = graph_new(NULL);
	CHECK(g);
	struct sub_filter *f = NULL;
	if (size && data[0] % (NFILTERS + 1) < NFILTERS) {
		struct gremlin_error ge;
		f = sub_filter_new(filters[data[0] % (NFILTERS + 1)], &ge);
		CHECK(f);
	}
	struct emitted em = {.g = g};
	int64_t now = 1700000000000ll;
	size_t off = 0;
	int nmsg = 0;
	while (off < size && nmsg < MAX_MSGS) {
		char *line = buf + off;
		char *nl = memchr(line, '\n', size - off);
		size_t len = nl ? (size_t)(nl - line) : size - off;
		off += len + 1;
		const struct graph_msg_source *src = &sources[0];
		if (len >= 2 && line[0] >= '0' && line[0] <= '2' && line[1] == ':') {
			src = &sources[line[0] - '0'];
			line += 2;
			len -= 2;
		}
		if (!len)
			continue;
		nmsg++;
		now += 10;
		char err[512];
		memset(err, 0x5a, sizeof(err));
		err[sizeof(err) - 1] = 0;
		json_t *msg = graph_msg_parse(line, len, err, sizeof(err));
		if (!msg) {
			CHECK(memchr(err, 0, sizeof(err)) && *err);
			continue;
		}
		CHECK(json_is_object(msg) && json_is_string(json_object_get(msg, "Type")));

		/* the metadata of the element before, for the partial ops check */
		const json_t *obj = json_object_get(msg, "Obj");
		const char *type = json_string_value(json_object_get(msg, "Type"));
		const char *id = json_string_value(json_object_get(obj, "ID"));
		json_t *old_md = NULL;
		if (id && !strncmp(type, "Node", 4)) {
			struct graph_view *v = graph_view_at(g, 0, NULL);
			CHECK(v);
			const struct graph_node *n = graph_view_node_get(v, id);
			old_md = n ? json_incref(n->e.metadata) : NULL;
			graph_view_free(v);
		}

		err[0] = 0;
		int rc = graph_msg_apply(g, msg, src, now, err, sizeof(err));
		CHECK(rc == GRAPH_MSG_APPLIED || rc == GRAPH_MSG_IGNORED ||
		      rc == GRAPH_MSG_SYNC_REQUEST || rc == -EINVAL || rc == -ENOMEM);
		if (rc < 0)
			CHECK(*err && memchr(err, 0, sizeof(err)));
		if (rc == GRAPH_MSG_APPLIED) {
			check_applied(g, msg, src);
			if (old_md) {
				struct graph_view *v = graph_view_at(g, 0, NULL);
				CHECK(v);
				const struct graph_node *n = graph_view_node_get(v, id);
				json_t *new_md = n ? json_incref(n->e.metadata) : NULL;
				graph_view_free(v);
				if (new_md)
					check_partial_ops(old_md, new_md);
				json_decref(new_md);
			}
		}
		json_decref(old_md);
		json_decref(msg);
		check_live(g);

		if (f) {
			struct graph_view *live = graph_view_at(g, 0, NULL);
			CHECK(live);
			struct gremlin_error ge;
			int r = sub_filter_update(f, live, now, sub_emit, &em, &ge);
			CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
			/* the set names live elements only */
			for (size_t i = 0; i < graph_view_node_count(live); i++)
				(void)sub_filter_has(f, 0, graph_view_node(live, i)->e.id);
			graph_view_free(live);
		}
	}
	if (f) {
		/* every element the filter kept is alive: a full SyncReply agrees */
		struct graph_view *live = graph_view_at(g, 0, NULL);
		CHECK(live);
		struct gremlin_error ge;
		json_t *sg = sub_filter_graph(f, live, now, 1, &ge);
		if (sg) {
			size_t i;
			json_t *it;
			json_array_foreach(json_object_get(sg, "Nodes"), i, it)
			{
				const char *nid = json_string_value(json_object_get(it, "ID"));
				CHECK(graph_view_node_get(live, nid) && sub_filter_has(f, 0, nid));
			}
			json_array_foreach(json_object_get(sg, "Edges"), i, it)
			{
				const char *eid = json_string_value(json_object_get(it, "ID"));
				CHECK(graph_view_edge_get(live, eid) && sub_filter_has(f, 1, eid));
			}
			json_decref(sg);
		}
		graph_view_free(live);
	}
	check_sync_roundtrip(g, now + 10);
	/* past views of the history are consistent too */
	for (int64_t t = 1700000000000ll; t <= now; t += 40) {
		struct graph_view *pv = graph_view_at(g, t, NULL);
		if (!pv)
			continue;
		check_view(pv);
		graph_view_free(pv);
	}
	sub_filter_free(f);
	graph_free(g);
	free(buf);
	return 0;
}
