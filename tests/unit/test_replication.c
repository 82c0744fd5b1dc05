/* test_replication.c - analyzer peering's ownership rules (src/analyzer/replication.c)
 * as replication.h states them, and a peer's messages applied to a real graph through
 * graph_msg's accept hook (src/wire/graph_msg.c): each element keeps its Origin, a Sync
 * replaces per origin, an origin owned here is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analyzer/replication.h"
#include "graph/graph.h"
#include "wire/graph_msg.h"

static void test_rules(void **state)
{
	(void)state;
	struct repl_owners *t = repl_owners_new();
	assert_non_null(t);
	/* nobody's: ours to send (this analyzer's own elements) */
	assert_int_equal(repl_owned_here(t, "agent.h1"), 1);
	/* a peer's update of an origin nobody owns: taken, now a's */
	assert_int_equal(repl_accept(t, "a", "agent.h1", 0), 1);
	assert_int_equal(repl_owned_here(t, "agent.h1"), 0);
	assert_int_equal(repl_owner_is(t, "agent.h1", "a"), 1);
	/* another peer: its update or delete is left, its Added takes the origin over */
	assert_int_equal(repl_accept(t, "b", "agent.h1", 0), 0);
	assert_int_equal(repl_owner_is(t, "agent.h1", "a"), 1);
	assert_int_equal(repl_accept(t, "b", "agent.h1", 1), 1);
	assert_int_equal(repl_owner_is(t, "agent.h1", "b"), 1);
	/* and now a's late removal is left */
	assert_int_equal(repl_accept(t, "a", "agent.h1", 0), 0);
	/* the agent connects here: ours; no peer's message touches it, even an Added */
	repl_mark_here(t, "agent.h1");
	assert_int_equal(repl_owned_here(t, "agent.h1"), 1);
	assert_int_equal(repl_accept(t, "b", "agent.h1", 1), 0);
	/* it leaves: its elements go (ours), the origin is forgotten */
	assert_int_equal(repl_release_here(t, "agent.h1"), 1);
	assert_int_equal(repl_accept(t, "b", "agent.h1", 0), 1);
	/* an agent connected here but sending its topology elsewhere: kept on leaving */
	assert_int_equal(repl_release_here(t, "agent.h1"), 0);
	json_t *st = repl_status(t);
	assert_int_equal(json_integer_value(json_object_get(st, "LeftAlone")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "Origins")), 1);
	json_decref(st);
	repl_owners_free(t);
}

static void test_sync_and_expire(void **state)
{
	(void)state;
	struct repl_owners *t = repl_owners_new();
	repl_peer_up(t, "a", "10.0.0.1");
	assert_int_equal(repl_accept(t, "a", "agent.h1", 1), 1);
	assert_int_equal(repl_accept(t, "a", "agent.h2", 1), 1);
	assert_int_equal(repl_accept(t, "b", "agent.h3", 1), 1);
	/* a's new Sync carries h1 only: h2 is to be removed, b's h3 is not a's */
	repl_sync_begin(t, "a");
	assert_int_equal(repl_accept(t, "a", "agent.h1", 1), 1);
	json_t *gone = repl_sync_end(t, "a");
	assert_int_equal(json_array_size(gone), 1);
	assert_string_equal(json_string_value(json_array_get(gone, 0)), "agent.h2");
	json_decref(gone);
	repl_forget(t, "agent.h2", "a");
	assert_int_equal(repl_owned_here(t, "agent.h2"), 1);
	/* a goes at t=1000: kept 10 s */
	repl_peer_down(t, "a", 1000);
	assert_null(repl_expire(t, 5000, 10000));
	json_t *ex = repl_expire(t, 11000, 10000);
	assert_non_null(ex);
	assert_int_equal(json_object_size(ex), 1);
	json_t *o = json_object_get(ex, "a");
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(json_string_value(json_array_get(o, 0)), "agent.h1");
	json_decref(ex);
	assert_null(repl_expire(t, 20000, 10000)); /* once per absence */
	/* a peer back in time keeps its origins */
	assert_int_equal(repl_accept(t, "b", "agent.h4", 1), 1);
	repl_peer_up(t, "b", "10.0.0.2");
	repl_peer_down(t, "b", 1000);
	repl_peer_up(t, "b", "10.0.0.2");
	assert_null(repl_expire(t, 50000, 10000));
	repl_owners_free(t);
}

struct ctx {
	struct repl_owners *t;
	const char *peer;
};

static int accept_cb(void *user, const char *origin, int claim)
{
	struct ctx *c = user;
	return repl_accept(c->t, c->peer, origin, claim);
}

static json_t *node(const char *id, const char *host, const char *origin)
{
	return json_pack("{s:s, s:{s:s}, s:s, s:s}", "ID", id, "Metadata", "Name", id, "Host", host,
	                 "Origin", origin);
}

static int apply(struct graph *g, struct ctx *c, const char *type, json_t *obj)
{
	json_t *m = graph_msg_new(GRAPH_MSG_NAMESPACE, type, obj);
	struct graph_msg_source src = {.host = c->peer, .origin = "analyzer.a",
	                               .accept = accept_cb, .accept_user = c};
	char err[256];
	graph_lock(g);
	int rc = graph_msg_apply(g, m, &src, 1000, err, sizeof(err));
	graph_unlock(g);
	json_decref(m);
	return rc;
}

static const struct graph_elem *get(struct graph *g, const char *id)
{
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *n = graph_view_node_get(v, id);
	graph_view_free(v);
	return n ? &n->e : NULL; /* valid until the next change (graph.h) */
}

static void test_apply(void **state)
{
	(void)state;
	struct graph *g = graph_new(NULL);
	struct repl_owners *t = repl_owners_new();
	struct ctx a = {t, "a"};
	json_t *sync = json_pack("{s:[o, o, o], s:[]}", "Nodes", node("n1", "h1", "agent.h1"),
	                         node("n2", "h1", "agent.h1"),
	                         node("n3", "h2", "agent.h2"), "Edges");
	assert_int_equal(apply(g, &a, "Sync", sync), GRAPH_MSG_APPLIED);
	const struct graph_elem *e = get(g, "n3");
	assert_non_null(e);
	/* the element keeps its own Host and Origin, not the peer's */
	assert_string_equal(e->origin, "agent.h2");
	assert_string_equal(e->host, "h2");
	/* h2's agent connects here: a's removal of its node is left */
	repl_mark_here(t, "agent.h2");
	assert_int_equal(apply(g, &a, "NodeDeleted", node("n3", "h2", "agent.h2")), GRAPH_MSG_APPLIED);
	assert_non_null(get(g, "n3"));
	/* a's new Sync of h1 without n2: h1's elements replaced, n2 gone, h2 untouched */
	sync = json_pack("{s:[o], s:[]}", "Nodes", node("n1", "h1", "agent.h1"), "Edges");
	assert_int_equal(apply(g, &a, "Sync", sync), GRAPH_MSG_APPLIED);
	assert_non_null(get(g, "n1"));
	assert_null(get(g, "n2"));
	assert_non_null(get(g, "n3"));
	repl_owners_free(t);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules),
	    cmocka_unit_test(test_sync_and_expire),
	    cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
