/* test_dispatch.c - unit tests of the capture dispatch (src/analyzer/dispatch.c): captures x
 * graph -> OnDemand Start/Stop per (node, agent), type defaults and refusals, DOWN nodes,
 * agent reconnection, capture deletion, agent replies, Count from Captures metadata, the
 * cluster's elected dispatcher. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer/capture_res.h"
#include "analyzer/dispatch.h"
#include "graph/graph.h"

#define T0 1700000000000ll

/* Messages the dispatch sent, in order. */
struct sent {
	json_t *msgs; /* [{"Host":..., "Msg":...}] */
	int refuse;   /* the send callback fails */
};

static int send_cb(void *user, const char *host, json_t *msg)
{
	struct sent *s = user;
	if (s->refuse) {
		json_decref(msg);
		return -1;
	}
	json_array_append_new(s->msgs, json_pack("{s:s, s:o}", "Host", host, "Msg", msg));
	return 0;
}

struct fx {
	char dir[64];
	struct graph *g;
	struct capture_res *r;
	struct dispatch *d;
	struct sent s;
};

static void add_node(struct graph *g, const char *id, const char *host, const char *type,
                     const char *name, const char *state)
{
	json_t *md = json_pack("{s:s, s:s}", "Type", type, "Name", name);
	if (state)
		json_object_set_new(md, "State", json_string(state));
	graph_lock(g);
	assert_int_equal(graph_node_add(g, id, md, host, "agent.test", T0), 0);
	graph_unlock(g);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_dispatch.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->g = graph_new(&(struct graph_opts){0});
	f->r = capture_res_new(f->dir, NULL);
	f->s.msgs = json_array();
	f->d = dispatch_new(f->g, f->r, send_cb, &f->s);
	assert_non_null(f->d);
	add_node(f->g, "veth1", "h1", "veth", "veth1", "UP");
	add_node(f->g, "dev1", "h1", "device", "eth0", "UP");
	add_node(f->g, "down1", "h1", "veth", "vethdown", "DOWN");
	add_node(f->g, "br1", "h1", "ovsbridge", "br-int", NULL);
	add_node(f->g, "port1", "h1", "ovsport", "p1", NULL);
	add_node(f->g, "ns1", "h1", "netns", "ns1", NULL);
	add_node(f->g, "veth2", "h2", "veth", "veth2", "UP");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	dispatch_free(f->d);
	capture_res_free(f->r);
	graph_free(f->g);
	json_decref(f->s.msgs);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Creates a capture; returns its UUID (static buffer). */
static const char *create(struct fx *f, const char *body)
{
	static char uuid[37];
	struct rest_response resp = {0};
	struct capture_res_request req = {
	    .method = "POST", .path = "/api/capture", .body = body, .body_len = strlen(body)};
	capture_res_handle(f->r, &req, &resp);
	assert_int_equal(resp.status, 201);
	json_t *j = json_loadb(resp.body, resp.len, 0, NULL);
	snprintf(uuid, sizeof(uuid), "%s", json_string_value(json_object_get(j, "UUID")));
	json_decref(j);
	free(resp.body);
	return uuid;
}

static void delete(struct fx *f, const char *uuid)
{
	char path[128];
	snprintf(path, sizeof(path), "/api/capture/%s", uuid);
	struct rest_response resp = {0};
	struct capture_res_request req = {.method = "DELETE", .path = path};
	capture_res_handle(f->r, &req, &resp);
	assert_int_equal(resp.status, 200);
	free(resp.body);
}

/* Number of sent messages of type ("Start"/"Stop") for node (NULL = any). */
static int count_sent(struct fx *f, const char *type, const char *node)
{
	int n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(f->s.msgs, i, e)
	{
		json_t *m = json_object_get(e, "Msg");
		const char *t = json_string_value(json_object_get(m, "Type"));
		const char *nid =
		    json_string_value(json_object_get(json_object_get(m, "Obj"), "NodeID"));
		if (!strcmp(t, type) && (!node || !strcmp(nid, node)))
			n++;
	}
	return n;
}

static json_t *find_sent(struct fx *f, const char *type, const char *node)
{
	size_t i;
	json_t *e;
	json_array_foreach(f->s.msgs, i, e)
	{
		json_t *m = json_object_get(e, "Msg");
		if (!strcmp(json_string_value(json_object_get(m, "Type")), type) &&
		    !strcmp(json_string_value(json_object_get(json_object_get(m, "Obj"), "NodeID")),
		            node))
			return e;
	}
	return NULL;
}

static void clear_sent(struct fx *f)
{
	json_array_clear(f->s.msgs);
}

static const char *node_status(struct fx *f, const char *cap, const char *node)
{
	static char buf[512];
	json_t *st = dispatch_status_json(f->d);
	const char *s = json_string_value(
	    json_object_get(json_object_get(json_object_get(st, cap), "Nodes"), node));
	snprintf(buf, sizeof(buf), "%s", s ? s : "(none)");
	json_decref(st);
	return buf;
}

static json_t *counts_cb(void *user)
{
	return dispatch_capture_counts(user);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_effective_type(void **state)
{
	const char *why = NULL;
	assert_string_equal(dispatch_effective_type("veth", "", NULL), "afpacket");
	assert_string_equal(dispatch_effective_type("device", NULL, NULL), "afpacket");
	assert_string_equal(dispatch_effective_type("bridge", "", NULL), "afpacket");
	assert_string_equal(dispatch_effective_type("tun", "", NULL), "afpacket");
	assert_string_equal(dispatch_effective_type("ovsbridge", "", NULL), "ovssflow");
	assert_string_equal(dispatch_effective_type("ovsport", "", NULL), "ovsmirror");
	assert_string_equal(dispatch_effective_type("veth", "pcap", NULL), "pcap");
	assert_string_equal(dispatch_effective_type("ovsbridge", "pcapsocket", NULL), "pcapsocket");
	assert_null(dispatch_effective_type("veth", "ovssflow", &why));
	assert_string_equal(why, "not allowed");
	assert_null(dispatch_effective_type("netns", "", &why));
	assert_null(dispatch_effective_type(NULL, "", &why));
}

/* The default type everywhere; non-capturable ignored; DOWN skipped; other agent
 * waits until it connects. */
static void test_start_defaults(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	const char *cap = create(f, "{\"GremlinQuery\":\"G.V()\"}");
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s", cap);
	assert_true(dispatch_dirty(f->d));
	int n = dispatch_run(f->d, T0);
	assert_int_equal(n, 4); /* veth1, dev1, br1, port1 */
	assert_false(dispatch_dirty(f->d));
	assert_int_equal(count_sent(f, "Start", "veth1"), 1);
	assert_int_equal(count_sent(f, "Start", "dev1"), 1);
	assert_int_equal(count_sent(f, "Start", "br1"), 1);
	assert_int_equal(count_sent(f, "Start", "port1"), 1);
	assert_int_equal(count_sent(f, "Start", "down1"), 0);
	assert_int_equal(count_sent(f, "Start", "ns1"), 0);
	assert_int_equal(count_sent(f, "Start", "veth2"), 0);
	/* the message */
	json_t *e = find_sent(f, "Start", "veth1");
	assert_string_equal(json_string_value(json_object_get(e, "Host")), "h1");
	json_t *m = json_object_get(e, "Msg");
	assert_string_equal(json_string_value(json_object_get(m, "Namespace")), "OnDemand");
	assert_int_equal(strlen(json_string_value(json_object_get(m, "UUID"))), 36);
	json_t *res = json_object_get(json_object_get(m, "Obj"), "Resource");
	assert_string_equal(json_string_value(json_object_get(res, "UUID")), uuid);
	assert_string_equal(json_string_value(json_object_get(res, "GremlinQuery")), "G.V()");
	/* reasons */
	assert_string_equal(node_status(f, uuid, "down1"),
	                    "skipped: Can't start capture on node down");
	assert_string_equal(node_status(f, uuid, "veth2"), "waiting: agent h2 not connected");
	assert_string_equal(node_status(f, uuid, "veth1"), "starting");
	assert_string_equal(node_status(f, uuid, "ns1"), "(none)");
	json_t *st = dispatch_status_json(f->d);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, uuid), "Ignored")),
	                 1);
	json_decref(st);

	/* nothing changed: nothing sent again */
	clear_sent(f);
	assert_int_equal(dispatch_run(f->d, T0 + 1000), 0);

	/* h2 connects: its node starts */
	dispatch_agent_up(f->d, "h2");
	assert_int_equal(dispatch_run(f->d, T0 + 2000), 1);
	e = find_sent(f, "Start", "veth2");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "Host")), "h2");
}

/* A requested type only where allowed; refused nodes say why. */
static void test_type_not_allowed(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s",
	         create(f, "{\"GremlinQuery\":\"G.V()\",\"Type\":\"ovssflow\"}"));
	assert_int_equal(dispatch_run(f->d, T0), 1);
	assert_int_equal(count_sent(f, "Start", "br1"), 1);
	assert_string_equal(node_status(f, uuid, "veth1"),
	                    "skipped: Capture type ovssflow not allowed on this node type (veth)");
	assert_string_equal(node_status(f, uuid, "port1"),
	                    "skipped: Capture type ovssflow not allowed on this node type (ovsport)");
	json_t *res = json_object_get(
	    json_object_get(json_object_get(find_sent(f, "Start", "br1"), "Msg"), "Obj"),
	    "Resource");
	assert_string_equal(json_string_value(json_object_get(res, "Type")), "ovssflow");
}

/* Node stops matching, node goes DOWN, node deleted, capture deleted: Stop each. */
static void test_stop(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s",
	         create(f, "{\"GremlinQuery\":\"G.V().Has('Type','veth','Mark',true)\"}"));
	assert_int_equal(dispatch_run(f->d, T0), 0);
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth1", "Mark", json_true(), T0 + 1);
	graph_node_set_key(f->g, "down1", "Mark", json_true(), T0 + 1);
	graph_unlock(f->g);
	add_node(f->g, "veth3", "h1", "veth", "veth3", "UP");
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth3", "Mark", json_true(), T0 + 1);
	graph_unlock(f->g);
	assert_true(dispatch_dirty(f->d));
	assert_int_equal(dispatch_run(f->d, T0 + 10), 2);
	assert_int_equal(count_sent(f, "Start", "veth1"), 1);
	assert_int_equal(count_sent(f, "Start", "veth3"), 1);

	/* veth1 no longer matches */
	clear_sent(f);
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth1", "Mark", NULL, T0 + 2);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 20), 1);
	json_t *e = find_sent(f, "Stop", "veth1");
	assert_non_null(e);
	json_t *res =
	    json_object_get(json_object_get(json_object_get(e, "Msg"), "Obj"), "Resource");
	assert_string_equal(json_string_value(json_object_get(res, "UUID")), uuid);

	/* DOWN: stopped */
	clear_sent(f);
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth3", "State", json_string("DOWN"), T0 + 3);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 30), 1);
	assert_int_equal(count_sent(f, "Stop", "veth3"), 1);
	/* UP again: started; then the node disappears: stopped */
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth3", "State", json_string("UP"), T0 + 4);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 40), 1);
	assert_int_equal(count_sent(f, "Start", "veth3"), 1);
	graph_lock(f->g);
	graph_node_delete(f->g, "veth3", T0 + 5);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 50), 1);
	assert_int_equal(count_sent(f, "Stop", "veth3"), 2);

	/* capture deleted: every pair stopped */
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth1", "Mark", json_true(), T0 + 6);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 60), 1);
	clear_sent(f);
	delete(f, uuid);
	assert_true(dispatch_dirty(f->d));
	assert_int_equal(dispatch_run(f->d, T0 + 70), 1);
	assert_int_equal(count_sent(f, "Stop", "veth1"), 1);
	assert_int_equal(dispatch_run(f->d, T0 + 80), 0);
	json_t *st = dispatch_status_json(f->d);
	assert_null(json_object_get(st, uuid));
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(st, "Dispatch"), "StopsSent")), 4);
	json_decref(st);
}

/* A disconnected agent gets no Stop; its reconnection restarts its captures. */
static void test_reconnect(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s",
	         create(f, "{\"GremlinQuery\":\"G.V().Has('Name','veth1')\"}"));
	assert_int_equal(dispatch_run(f->d, T0), 1);
	clear_sent(f);
	/* the agent goes; the analyzer removes its elements */
	dispatch_agent_down(f->d, "h1");
	graph_lock(f->g);
	graph_delete_by_host(f->g, "agent.test", 1, T0 + 1);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 10), 0);
	assert_int_equal(json_array_size(f->s.msgs), 0);
	/* it comes back and syncs its graph */
	dispatch_agent_up(f->d, "h1");
	add_node(f->g, "veth1", "h1", "veth", "veth1", "UP");
	assert_int_equal(dispatch_run(f->d, T0 + 20), 1);
	assert_int_equal(count_sent(f, "Start", "veth1"), 1);
	/* two connections from one host: one closing keeps it connected */
	dispatch_agent_up(f->d, "h1");
	dispatch_agent_down(f->d, "h1");
	clear_sent(f);
	assert_int_equal(dispatch_run(f->d, T0 + 30), 0);
	assert_string_equal(node_status(f, uuid, "veth1"), "starting");
}

/* Replies: 200 -> started; an error is kept (and not retried); agent metadata -> active. */
static void test_replies_and_count(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s",
	         create(f, "{\"GremlinQuery\":\"G.V().Has('Type','veth')\"}"));
	assert_int_equal(dispatch_run(f->d, T0), 1);
	json_t *m = json_object_get(find_sent(f, "Start", "veth1"), "Msg");
	json_t *ok = json_pack("{s:s, s:s, s:O, s:i}", "Namespace", "OnDemand", "Type", "Start",
	                       "UUID", json_object_get(m, "UUID"), "Status", 200);
	assert_int_equal(dispatch_reply(f->d, "h1", ok), 0);
	json_decref(ok);
	assert_string_equal(node_status(f, uuid, "veth1"), "started");
	/* unknown request: stale */
	json_t *stale = json_pack("{s:s, s:s, s:s, s:i}", "Namespace", "OnDemand", "Type",
	                          "Start", "UUID", "nope", "Status", 200);
	assert_int_equal(dispatch_reply(f->d, "h1", stale), -ENOENT);
	json_decref(stale);

	/* the agent reports it active on the node */
	json_t *caps = json_pack("[{s:s, s:s, s:s}]", "ID", uuid, "State", "active", "Type",
	                         "afpacket");
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth1", "Captures", caps, T0 + 1);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 10), 0);
	assert_string_equal(node_status(f, uuid, "veth1"), "active");
	json_t *counts = dispatch_capture_counts(f->g);
	assert_int_equal(json_integer_value(json_object_get(counts, uuid)), 1);
	json_decref(counts);

	/* Count through GET /api/capture once hooked */
	capture_res_set_counts(f->r, counts_cb, f->g);
	char path[128];
	snprintf(path, sizeof(path), "/api/capture/%s", uuid);
	struct rest_response resp = {0};
	struct capture_res_request req = {.method = "GET", .path = path};
	capture_res_handle(f->r, &req, &resp);
	json_t *j = json_loadb(resp.body, resp.len, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "Count")), 1);
	json_decref(j);
	free(resp.body);

	/* a new node: its Start fails on the agent */
	clear_sent(f);
	add_node(f->g, "veth9", "h1", "veth", "veth9", "UP");
	assert_int_equal(dispatch_run(f->d, T0 + 20), 1);
	m = json_object_get(find_sent(f, "Start", "veth9"), "Msg");
	json_t *bad = json_pack("{s:s, s:s, s:O, s:i, s:{s:s}}", "Namespace", "OnDemand", "Type",
	                        "Start", "UUID", json_object_get(m, "UUID"), "Status", 500, "Obj",
	                        "Error", "socket: permission denied");
	assert_int_equal(dispatch_reply(f->d, "h1", bad), 0);
	assert_int_equal(dispatch_reply(f->d, "h1", bad), 0); /* logged once */
	json_decref(bad);
	assert_string_equal(node_status(f, uuid, "veth9"), "error: socket: permission denied");
	clear_sent(f);
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth9", "MTU", json_integer(1400), T0 + 2);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 30), 0); /* not retried */
	json_t *st = dispatch_status_json(f->d);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(st, "Dispatch"), "ErrorReplies")),
	    1);
	json_decref(st);
	/* the errored node leaves the query: a Stop all the same, so the agent drops
	 * its error entry from the node's Captures */
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth9", "State", json_string("DOWN"), T0 + 3);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 40), 1);
	assert_int_equal(count_sent(f, "Stop", "veth9"), 1);
	assert_non_null(strstr(node_status(f, uuid, "veth9"), "skipped")); /* not the error */

	/* back UP: Start again, it fails again; the capture is deleted: Stop to the
	 * errored node (and to the started one) */
	clear_sent(f);
	graph_lock(f->g);
	graph_node_set_key(f->g, "veth9", "State", json_string("UP"), T0 + 4);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 50), 1);
	m = json_object_get(find_sent(f, "Start", "veth9"), "Msg");
	bad = json_pack("{s:s, s:s, s:O, s:i, s:{s:s}}", "Namespace", "OnDemand", "Type", "Start",
	                "UUID", json_object_get(m, "UUID"), "Status", 500, "Obj", "Error",
	                "socket: permission denied");
	assert_int_equal(dispatch_reply(f->d, "h1", bad), 0);
	json_decref(bad);
	assert_string_equal(node_status(f, uuid, "veth9"), "error: socket: permission denied");
	clear_sent(f);
	delete(f, uuid);
	assert_int_equal(dispatch_run(f->d, T0 + 60), 2);
	assert_int_equal(count_sent(f, "Stop", "veth9"), 1);
	assert_int_equal(count_sent(f, "Stop", "veth1"), 1);
}

/* A refused send is retried on the next run; debounce. */
static void test_send_retry_and_debounce(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	create(f, "{\"GremlinQuery\":\"G.V().Has('Name','veth1')\"}");
	f->s.refuse = 1;
	assert_int_equal(dispatch_run(f->d, T0), 0);
	assert_true(dispatch_dirty(f->d));
	f->s.refuse = 0;
	assert_int_equal(dispatch_poll(f->d, T0 + 50), 0); /* too soon */
	assert_int_equal(dispatch_poll(f->d, T0 + DISPATCH_DEBOUNCE_MS), 1);
	assert_int_equal(dispatch_poll(f->d, T0 + 1000), 0); /* not dirty */
}

/* A query that returns values: an error in the status, nothing sent. */
static void test_query_not_nodes(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s", create(f, "{\"GremlinQuery\":\"G.V().Count()\"}"));
	assert_int_equal(dispatch_run(f->d, T0), 0);
	json_t *st = dispatch_status_json(f->d);
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_object_get(st, uuid), "Error")),
	           "does not return nodes"));
	json_decref(st);
}

static int ready_cb(void *user)
{
	return *(int *)user;
}

static void set_captures(struct fx *f, const char *node, json_t *caps, int64_t t)
{
	graph_lock(f->g);
	assert_int_equal(graph_node_set_key(f->g, node, "Captures", caps, t), 0);
	graph_unlock(f->g);
}

static json_t *dispatch_counters(struct fx *f)
{
	json_t *st = dispatch_status_json(f->d);
	json_t *c = json_deep_copy(json_object_get(st, "Dispatch"));
	json_decref(st);
	return c;
}

/* A cluster: a follower sends nothing and shows what the agents say; the elected one
 * starts every wanted pair and stops the captures the nodes show that no capture wants
 * (deleted while it was not elected), once the shared set is current; losing the
 * election sends no Stop. Skydive's graffiti/ondemand/client/client.go: only the
 * master of /elections/ondemand-client-capture registers and unregisters. */
static void test_clustered(void **state)
{
	struct fx *f = *state;
	int ready = 0;
	dispatch_clustered(f->d, ready_cb, &ready);
	dispatch_agent_up(f->d, "h1");
	char uuid[37];
	snprintf(uuid, sizeof(uuid), "%s",
	         create(f, "{\"GremlinQuery\":\"G.V().Has('Name','veth1')\"}"));
	assert_int_equal(dispatch_run(f->d, T0), 0);
	assert_non_null(strstr(node_status(f, uuid, "veth1"), "waiting: started by the analyzer "
	                                                       "elected"));
	json_t *c = dispatch_counters(f);
	assert_true(json_is_false(json_object_get(c, "IsMaster")));
	json_decref(c);
	/* another analyzer started it: the follower shows the agent's state */
	set_captures(f, "veth1", json_pack("[{s:s, s:s}]", "ID", uuid, "State", "active"), T0 + 1);
	assert_int_equal(dispatch_run(f->d, T0 + 10), 0);
	assert_string_equal(node_status(f, uuid, "veth1"), "active");

	/* elected: the Start again (the agent answers 200 to a capture it runs), no Stop of
	 * the unknown capture on veth3 while the set is not read from etcd yet */
	add_node(f->g, "veth3", "h1", "veth", "veth3", "UP");
	const char *gone = "0b3f3f84-8c7e-4e51-9c0f-0d0a1f2e3d4c";
	set_captures(f, "veth3", json_pack("[{s:s, s:s}]", "ID", gone, "State", "active"), T0 + 2);
	dispatch_set_active(f->d, 1);
	assert_true(dispatch_dirty(f->d));
	assert_int_equal(dispatch_run(f->d, T0 + 20), 1);
	assert_int_equal(count_sent(f, "Start", "veth1"), 1);
	assert_int_equal(count_sent(f, "Stop", NULL), 0);
	/* the set is current: veth3's capture is stopped, once */
	ready = 1;
	clear_sent(f);
	graph_lock(f->g);
	graph_node_set_key(f->g, "dev1", "Mark", json_true(), T0 + 3);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 30), 1);
	json_t *e = find_sent(f, "Stop", "veth3");
	assert_non_null(e);
	json_t *res =
	    json_object_get(json_object_get(json_object_get(e, "Msg"), "Obj"), "Resource");
	assert_string_equal(json_string_value(json_object_get(res, "UUID")), gone);
	graph_lock(f->g);
	graph_node_set_key(f->g, "dev1", "Mark", json_false(), T0 + 4);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 40), 0); /* metadata not updated yet: no resend */
	c = dispatch_counters(f);
	assert_true(json_is_true(json_object_get(c, "IsMaster")));
	assert_int_equal(json_integer_value(json_object_get(c, "OrphansStopped")), 1);
	json_decref(c);
	/* still shown after the hold (the Stop got lost): sent again */
	graph_lock(f->g);
	graph_node_set_key(f->g, "dev1", "Mark", json_true(), T0 + 5);
	graph_unlock(f->g);
	assert_int_equal(dispatch_run(f->d, T0 + 40 + 10000), 1);
	assert_int_equal(count_sent(f, "Stop", "veth3"), 2);
	set_captures(f, "veth3", NULL, T0 + 6);

	/* not elected any more: no Stop; the capture deleted meanwhile is stopped by the
	 * next one elected, from the node's Captures */
	clear_sent(f);
	dispatch_set_active(f->d, 0);
	assert_int_equal(dispatch_run(f->d, T0 + 20000), 0);
	delete(f, uuid);
	assert_int_equal(dispatch_run(f->d, T0 + 20010), 0);
	dispatch_set_active(f->d, 1);
	assert_int_equal(dispatch_run(f->d, T0 + 20020), 1);
	e = find_sent(f, "Stop", "veth1");
	assert_non_null(e);
	res = json_object_get(json_object_get(json_object_get(e, "Msg"), "Obj"), "Resource");
	assert_string_equal(json_string_value(json_object_get(res, "UUID")), uuid);
	assert_int_equal(count_sent(f, "Start", NULL), 0);
}

/* Outside a cluster a capture the analyzer does not know is left alone: several
 * analyzers without etcd each keep their own captures on a shared agent. */
static void test_unclustered_leaves_unknown(void **state)
{
	struct fx *f = *state;
	dispatch_agent_up(f->d, "h1");
	set_captures(f, "veth1",
	             json_pack("[{s:s, s:s}]", "ID", "0b3f3f84-8c7e-4e51-9c0f-0d0a1f2e3d4c",
	                       "State", "active"),
	             T0);
	assert_int_equal(dispatch_run(f->d, T0), 0);
	json_t *c = dispatch_counters(f);
	assert_true(json_is_true(json_object_get(c, "IsMaster")));
	json_decref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_effective_type),
	    cmocka_unit_test_setup_teardown(test_start_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_type_not_allowed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replies_and_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_retry_and_debounce, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_query_not_nodes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clustered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unclustered_leaves_unknown, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
