/* test_rbac.c - unit tests of src/auth/rbac.c: the built-in roles, g-line inheritance
 * (casbin's depth limit), deny over allow, a policy in Skydive's rbac/policy.csv shape,
 * the /login permission list, what each analyzer route needs, and refused files. */
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

#include "auth/rbac.h"
#include "config/config.h"

/* Every (object, action) Skydive's rbac/policy.csv gives its admin role. */
static const char *const skydive_admin_pairs[][2] = {
    {"alert", "read"},
    {"alert", "write"},
    {"capture", "read"},
    {"capture", "write"},
    {"capture", "rawpackets"},
    {"config", "read"},
    {"injectpacket", "read"},
    {"injectpacket", "write"},
    {"pcap", "write"},
    {"status", "read"},
    {"topology", "read"},
    {"workflow", "read"},
    {"workflow", "write"},
    {"websocket", "/ws/agent/topology"},
    {"websocket", "/ws/agent/flow"},
    {"websocket", "/ws/subscriber/flow"},
    {"websocket", "/ws/publisher"},
    {"websocket", "/ws/replication"},
    {"websocket", "/ws/subscriber"},
    {"websocket", "/ws/pubsub"},
    {"node", "read"},
    {"node", "write"},
    {"noderule", "read"},
    {"noderule", "write"},
    {"edge", "read"},
    {"edge", "write"},
    {"edgerule", "read"},
    {"edgerule", "write"},
    {"workflow.call", "write"},
};
#define NSKY (sizeof(skydive_admin_pairs) / sizeof(skydive_admin_pairs[0]))

static int as_role(const struct rbac *r, const char *role, const char *obj, const char *act)
{
	const char *roles[1] = {role};
	return rbac_allowed(r, "someone", roles, 1, obj, act);
}

static struct rbac *parse(const char *text)
{
	char err[256] = "";
	struct rbac *r = rbac_parse(text, strlen(text), "t.csv", err, sizeof(err));
	if (!r)
		fail_msg("refused: %s", err);
	return r;
}

static void test_builtin_roles(void **state)
{
	struct rbac *r = rbac_new_default();
	assert_non_null(r);
	for (size_t i = 0; i < NSKY; i++)
		assert_int_equal(
		    as_role(r, "admin", skydive_admin_pairs[i][0], skydive_admin_pairs[i][1]), 1);
	assert_int_equal(as_role(r, "admin", "config", "write"), 1);

	/* viewer: reads, no writes, no packets, only the subscriber WebSocket */
	assert_int_equal(as_role(r, "viewer", "topology", "read"), 1);
	assert_int_equal(as_role(r, "viewer", "status", "read"), 1);
	assert_int_equal(as_role(r, "viewer", "capture", "read"), 1);
	assert_int_equal(as_role(r, "viewer", "config", "read"), 1);
	assert_int_equal(as_role(r, "viewer", "websocket", "/ws/subscriber"), 1);
	assert_int_equal(as_role(r, "viewer", "capture", "write"), 0);
	assert_int_equal(as_role(r, "viewer", "capture", "rawpackets"), 0);
	assert_int_equal(as_role(r, "viewer", "pcap", "write"), 0);
	assert_int_equal(as_role(r, "viewer", "config", "write"), 0);
	assert_int_equal(as_role(r, "viewer", "websocket", "/ws/publisher"), 0);
	assert_int_equal(as_role(r, "viewer", "websocket", "/ws/agent/topology"), 0);

	/* operator: captures, no raw packets until granted */
	assert_int_equal(as_role(r, "operator", "capture", "write"), 1);
	assert_int_equal(as_role(r, "operator", "capture", "read"), 1);
	assert_int_equal(as_role(r, "operator", "pcap", "write"), 1);
	assert_int_equal(as_role(r, "operator", "topology", "read"), 1);
	assert_int_equal(as_role(r, "operator", "capture", "rawpackets"), 0);
	assert_int_equal(as_role(r, "operator", "websocket", "/ws/agent/flow"), 0);

	/* guest is Skydive's name of the read-only role */
	assert_int_equal(as_role(r, "guest", "topology", "read"), 1);
	assert_int_equal(as_role(r, "guest", "capture", "write"), 0);

	/* no role, no g line: nothing, not even a read */
	assert_int_equal(rbac_allowed(r, "mallory", NULL, 0, "topology", "read"), 0);
	assert_int_equal(rbac_allowed(r, NULL, NULL, 0, "status", "read"), 0);
	/* a name that is not a subject of any line */
	assert_int_equal(as_role(r, "root", "topology", "read"), 0);
	/* unknown object or action: refused, even to admin */
	assert_int_equal(as_role(r, "admin", "topology", "delete"), 0);
	assert_int_equal(as_role(r, "admin", "nosuch", "read"), 0);
	assert_int_equal(as_role(r, "admin", NULL, "read"), 0);
	assert_int_equal(rbac_allowed(NULL, "u", NULL, 0, "topology", "read"), 0);
	rbac_free(r);
	rbac_free(NULL);
}

static void test_grants_inheritance_deny(void **state)
{
	struct rbac *r = parse("# operators of team-a may read packets\n"
	                       "p, operator, capture, rawpackets, allow\n"
	                       "\n"
	                       "  g , alice ,  team-a  \n"
	                       "g, team-a, operator\n"
	                       "p, team-a, pcap, write, deny\n"
	                       "g, bob, admin\r\n"
	                       "p,bob,capture,write,deny\n"
	                       "p, carol, topology, read\n" /* no effect: allow */
	                       "g, loop1, loop2\n"
	                       "g, loop2, loop1\n");
	/* the grant reaches operator and everyone who inherits it */
	assert_int_equal(as_role(r, "operator", "capture", "rawpackets"), 1);
	assert_int_equal(rbac_allowed(r, "alice", NULL, 0, "capture", "rawpackets"), 1);
	assert_int_equal(rbac_allowed(r, "alice", NULL, 0, "capture", "write"), 1);
	/* team-a's deny beats operator's allow, for alice too */
	assert_int_equal(rbac_allowed(r, "alice", NULL, 0, "pcap", "write"), 0);
	assert_int_equal(as_role(r, "operator", "pcap", "write"), 1);
	/* a deny on the user himself beats the admin role */
	assert_int_equal(rbac_allowed(r, "bob", NULL, 0, "capture", "write"), 0);
	assert_int_equal(rbac_allowed(r, "bob", NULL, 0, "capture", "rawpackets"), 1);
	/* roles given by the authentication backend add to the g lines */
	const char *viewer[] = {"viewer"};
	assert_int_equal(rbac_allowed(r, "carol", viewer, 1, "status", "read"), 1);
	assert_int_equal(rbac_allowed(r, "carol", NULL, 0, "topology", "read"), 1);
	assert_int_equal(rbac_allowed(r, "carol", NULL, 0, "status", "read"), 0);
	/* a cycle of roles ends */
	assert_int_equal(rbac_allowed(r, "loop1", NULL, 0, "topology", "read"), 0);
	rbac_free(r);
}

/* The roles a 403 names: given roles first, then g lines, then what they inherit. */
static void test_roles_text(void **state)
{
	struct rbac *r = parse("g, alice, team-a\n"
	                       "g, team-a, operator\n"
	                       "g, alice, auditors\n"
	                       "g, auditors, viewer\n"
	                       "g, team-a, viewer\n" /* reached twice: named once */
	                       "g, bob, admin\n"
	                       "g, loop1, loop2\n"
	                       "g, loop2, loop1\n");
	char buf[64];
	/* breadth first: alice's own lines (file order), then theirs */
	assert_int_equal(rbac_roles_text(r, "alice", NULL, 0, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "team-a, auditors, operator, viewer");
	assert_int_equal(rbac_roles_text(r, "bob", NULL, 0, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "admin");
	/* a backend's default role comes first and brings its own g lines */
	const char *given[] = {"team-a"};
	assert_int_equal(rbac_roles_text(r, "carol", given, 1, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "team-a, operator, viewer");
	assert_int_equal(rbac_roles_text(r, "carol", NULL, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* a cycle ends; the user is not its own role */
	assert_int_equal(rbac_roles_text(r, "loop1", NULL, 0, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "loop2");
	/* too small: cut with "...", the count stays right */
	char small[16];
	assert_int_equal(rbac_roles_text(r, "alice", NULL, 0, small, sizeof(small)), 4);
	assert_string_equal(small, "team-a...");
	rbac_free(r);
	/* the built-in guest alias */
	r = rbac_new_default();
	assert_int_equal(rbac_roles_text(r, "guest", NULL, 0, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "viewer");
	rbac_free(r);
}

/* casbin's role manager stops at maxHierarchyLevel 10: ten g edges are followed, not
 * eleven. */
static void test_depth_limit(void **state)
{
	char text[1024];
	size_t o = 0;
	o += (size_t)snprintf(text + o, sizeof(text) - o, "g, u, r1\n");
	for (int i = 1; i < 11; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "g, r%d, r%d\n", i, i + 1);
	o += (size_t)snprintf(text + o, sizeof(text) - o,
	                      "p, r10, capture, write\np, r11, pcap, write\n");
	struct rbac *r = parse(text);
	assert_int_equal(rbac_allowed(r, "u", NULL, 0, "capture", "write"), 1); /* 10 edges */
	assert_int_equal(rbac_allowed(r, "u", NULL, 0, "pcap", "write"), 0);    /* 11 edges */
	assert_int_equal(rbac_allowed(r, "r1", NULL, 0, "pcap", "write"), 1);   /* 10 edges */
	/* the same ten edges are the roles u is said to have */
	char roles[128];
	assert_int_equal(rbac_roles_text(r, "u", NULL, 0, roles, sizeof(roles)), 10);
	assert_string_equal(roles, "r1, r2, r3, r4, r5, r6, r7, r8, r9, r10");
	rbac_free(r);
}

/* A file in the shape of Skydive's rbac/policy.csv (our own lines): every object and
 * websocket path it names parses, and its guest lines restrict our guest alias. */
static void test_skydive_shape(void **state)
{
	struct rbac *r = parse("p, admin, injectpacket, write, allow\n"
	                       "p, admin, websocket, /ws/replication, allow\n"
	                       "p, admin, workflow.call, write, allow\n"
	                       "p, guest, capture, read, deny\n"
	                       "p, guest, websocket, /ws/agent/flow, deny\n"
	                       "p, guest, websocket, /ws/subscriber/flow, deny\n"
	                       "p, guest, topology, read, allow\n"
	                       "p, guest, edgerule, write, deny\n");
	assert_int_equal(as_role(r, "guest", "capture", "read"), 0);
	assert_int_equal(as_role(r, "guest", "topology", "read"), 1);
	assert_int_equal(as_role(r, "viewer", "capture", "read"), 1); /* only guest denied */
	assert_int_equal(as_role(r, "admin", "websocket", "/ws/replication"), 1);
	/* exact matching, no keyMatch: a websocket path is one action */
	assert_int_equal(as_role(r, "admin", "websocket", "/ws/subscriber/x"), 0);
	rbac_free(r);
}

static json_t *find_perm(json_t *a, const char *obj, const char *act)
{
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o)
	{
		if (!strcmp(json_string_value(json_object_get(o, "Object")), obj) &&
		    !strcmp(json_string_value(json_object_get(o, "Action")), act))
			return o;
	}
	return NULL;
}

/* graffiti/rbac/enforcer.go's Permission{Object, Action, Allowed}, as /login answers. */
static void test_permissions_json(void **state)
{
	struct rbac *r = parse("p, operator, capture, rawpackets, allow\n");
	const char *roles[] = {"viewer"};
	json_t *a = rbac_permissions_json(r, "v", roles, 1);
	assert_non_null(a);
	/* every pair the policy names (admin's built-in lines name Skydive's 29 + config
	 * write), each once, in Skydive's policy.csv order */
	assert_int_equal(json_array_size(a), NSKY + 1);
	for (size_t k = 0, j = 0; k < json_array_size(a); k++) {
		json_t *e = json_array_get(a, k);
		const char *obj = json_string_value(json_object_get(e, "Object"));
		const char *act = json_string_value(json_object_get(e, "Action"));
		if (!strcmp(obj, "config") && !strcmp(act, "write"))
			continue;
		assert_string_equal(obj, skydive_admin_pairs[j][0]);
		assert_string_equal(act, skydive_admin_pairs[j][1]);
		j++;
	}
	size_t i;
	json_t *o;
	json_array_foreach(a, i, o)
	{
		assert_int_equal(json_object_size(o), 3);
		assert_true(json_is_string(json_object_get(o, "Object")));
		assert_true(json_is_string(json_object_get(o, "Action")));
		assert_true(json_is_boolean(json_object_get(o, "Allowed")));
	}
	for (size_t k = 0; k < NSKY; k++)
		assert_non_null(find_perm(a, skydive_admin_pairs[k][0], skydive_admin_pairs[k][1]));
	assert_true(json_is_true(json_object_get(find_perm(a, "topology", "read"), "Allowed")));
	assert_true(json_is_false(json_object_get(find_perm(a, "capture", "write"), "Allowed")));
	assert_true(
	    json_is_false(json_object_get(find_perm(a, "capture", "rawpackets"), "Allowed")));
	json_decref(a);

	const char *op[] = {"operator"};
	a = rbac_permissions_json(r, "o", op, 1);
	assert_true(
	    json_is_true(json_object_get(find_perm(a, "capture", "rawpackets"), "Allowed")));
	json_decref(a);

	/* nobody: the list with every Allowed false, so a UI hides everything */
	a = rbac_permissions_json(r, "nobody", NULL, 0);
	json_array_foreach(a, i, o) assert_true(json_is_false(json_object_get(o, "Allowed")));
	json_decref(a);
	assert_null(rbac_permissions_json(NULL, "x", NULL, 0));
	rbac_free(r);
}

static void test_request_needs(void **state)
{
	static const struct {
		const char *method, *path, *accept;
		int n;
		const char *w[4]; /* object, action, second object, second action */
	} cases[] = {
	    {"GET", "/api", NULL, 1, {"status", "read"}},
	    {"GET", "/api/", NULL, 1, {"status", "read"}},
	    {"GET", "/api/status", NULL, 1, {"status", "read"}},
	    {"GET", "/metrics", NULL, 1, {"status", "read"}}, /* Prometheus: /api/status's */
	    {"GET", "/metricsx", NULL, 0, {NULL}},
	    {"GET", "/api/topology", NULL, 1, {"topology", "read"}},
	    {"POST", "/api/topology", "application/json", 1, {"topology", "read"}},
	    {"POST", "/api/topology", NULL, 1, {"topology", "read"}},
	    {"POST", "/api/topology", "text/vnd.graphviz", 1, {"topology", "read"}},
	    {"POST",
	     "/api/topology",
	     "application/vnd.tcpdump.pcap",
	     2,
	     {"topology", "read", "capture", "rawpackets"}},
	    {"POST",
	     "/api/topology",
	     "application/json, application/vnd.tcpdump.pcap",
	     2,
	     {"topology", "read", "capture", "rawpackets"}},
	    {"GET", "/api/capture", NULL, 1, {"capture", "read"}},
	    {"POST", "/api/capture", NULL, 1, {"capture", "write"}},
	    {"GET",
	     "/api/capture/0b7c2a38-0d3e-4c6c-9f57-1c1a2a6e3f00",
	     NULL,
	     1,
	     {"capture", "read"}},
	    {"DELETE",
	     "/api/capture/0b7c2a38-0d3e-4c6c-9f57-1c1a2a6e3f00",
	     NULL,
	     1,
	     {"capture", "write"}},
	    {"PATCH", "/api/capture/x", NULL, 1, {"capture", "write"}},
	    {"HEAD", "/api/capture", NULL, 1, {"capture", "read"}},
	    {"POST", "/api/pcap", NULL, 1, {"pcap", "write"}},
	    {"GET", "/api/pcap", NULL, 1, {"pcap", "write"}},
	    {"GET", "/api/config/analyzer.listen", NULL, 1, {"config", "read"}},
	    {"GET", "/api/config/", NULL, 1, {"config", "read"}},
	    {"GET", "/api/alert", NULL, 1, {"alert", "read"}},
	    {"POST", "/api/workflow", NULL, 1, {"workflow", "write"}},
	    {"POST", "/api/workflow/w1/call", NULL, 1, {"workflow.call", "write"}},
	    {"GET", "/api/node/n1", NULL, 1, {"node", "read"}},
	    {"DELETE", "/api/edgerule/e1", NULL, 1, {"edgerule", "write"}},
	    {"GET", "/api/noderule", NULL, 1, {"noderule", "read"}},
	    {"POST", "/api/noderule", NULL, 1, {"noderule", "write"}},
	    {"GET", "/api/edgerule/e1", NULL, 1, {"edgerule", "read"}},
	    /* the query string is not part of the route */
	    {"GET", "/api/status?x=1", NULL, 1, {"status", "read"}},
	    /* WebSockets: the path is the action, as graffiti/websocket/server.go asks */
	    {"GET", "/ws/subscriber", NULL, 1, {"websocket", "/ws/subscriber"}},
	    {"GET", "/ws/agent/topology", NULL, 1, {"websocket", "/ws/agent/topology"}},
	    {"GET", "/ws/agent/flow", NULL, 1, {"websocket", "/ws/agent/flow"}},
	    {"GET", "/ws/publisher", NULL, 1, {"websocket", "/ws/publisher"}},
	    {"GET", "/ws/pubsub?x-auth-token=t", NULL, 1, {"websocket", "/ws/pubsub"}},
	    /* unknown API or WebSocket paths: admin only */
	    {"GET", "/api/secret", NULL, 1, {"config", "write"}},
	    {"GET", "/api/topologyx", NULL, 1, {"config", "write"}},
	    {"GET", "/api//status", NULL, 1, {"config", "write"}},
	    {"GET", "/apix", NULL, 1, {"config", "write"}},
	    {"GET", "/ws/nosuch", NULL, 1, {"config", "write"}},
	    {"GET", "/api/capturex", NULL, 1, {"config", "write"}},
	    {NULL, "/api/status", NULL, 1, {"status", "read"}},
	    /* no permission: pre-flights, the UI, login */
	    {"OPTIONS", "/api/capture", NULL, 0, {NULL}},
	    {"GET", "/", NULL, 0, {NULL}},
	    {"GET", "/ui/index.html", NULL, 0, {NULL}},
	    {"POST", "/login", NULL, 0, {NULL}},
	    {"GET", "/logout", NULL, 0, {NULL}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *o[2] = {NULL, NULL}, *a[2] = {NULL, NULL};
		int n = rbac_request_needs(cases[i].method, cases[i].path, cases[i].accept, o, a);
		if (n != cases[i].n)
			fail_msg("%s %s: %d needs, want %d", cases[i].method, cases[i].path, n,
			         cases[i].n);
		for (int k = 0; k < n; k++)
			if (strcmp(o[k], cases[i].w[2 * k]) || strcmp(a[k], cases[i].w[2 * k + 1]))
				fail_msg("%s %s: need %d is %s/%s, want %s/%s", cases[i].method,
				         cases[i].path, k, o[k], a[k], cases[i].w[2 * k],
				         cases[i].w[2 * k + 1]);
	}
	/* what viewer gets on them, end to end */
	struct rbac *r = rbac_new_default();
	const char *o[2], *a[2];
	int n = rbac_request_needs("POST", "/api/topology", "application/vnd.tcpdump.pcap", o, a);
	assert_int_equal(n, 2);
	assert_int_equal(as_role(r, "viewer", o[0], a[0]), 1);
	assert_int_equal(as_role(r, "viewer", o[1], a[1]), 0);
	n = rbac_request_needs("GET", "/api/secret", NULL, o, a);
	assert_int_equal(as_role(r, "operator", o[0], a[0]), 0);
	assert_int_equal(as_role(r, "admin", o[0], a[0]), 1);
	rbac_free(r);
}

static void expect_error(const char *text, size_t len, const char *want)
{
	char err[256] = "";
	struct rbac *r = rbac_parse(text, len, "t.csv", err, sizeof(err));
	if (r) {
		rbac_free(r);
		fail_msg("accepted: %.80s", text);
	}
	if (strcmp(err, want))
		fail_msg("%.80s\n  got:  %s\n  want: %s", text, err, want);
}
#define EXPECT_ERROR(lit, want) expect_error(lit, sizeof(lit) - 1, want)

static void test_malformed(void **state)
{
	EXPECT_ERROR("p, admin, topology\n",
	             "t.csv:1: a p line needs p, SUBJECT, OBJECT, ACTION[, EFFECT]");
	EXPECT_ERROR("\n# comment\np, viewer, capture, write, maybe\n",
	             "t.csv:3: unknown effect 'maybe' (allow or deny)");
	EXPECT_ERROR("p, viewer, capture, write, Allow\n",
	             "t.csv:1: unknown effect 'Allow' (allow or deny)");
	EXPECT_ERROR("x, a, b\n", "t.csv:1: unknown line type 'x' (p or g)");
	EXPECT_ERROR("p2, a, topology, read\n", "t.csv:1: unknown line type 'p2' (p or g)");
	EXPECT_ERROR("p, a, captures, read\n",
	             "t.csv:1: unknown object 'captures' (alert, capture, config, injectpacket, "
	             "pcap, status, topology, workflow, websocket, node, noderule, edge, "
	             "edgerule, workflow.call)");
	EXPECT_ERROR("p, a, capture, delete\n",
	             "t.csv:1: unknown action 'delete' for object capture (read, write, "
	             "rawpackets)");
	EXPECT_ERROR("p, a, websocket, /ws/*\n",
	             "t.csv:1: unknown action '/ws/*' for object websocket (/ws/agent/topology, "
	             "/ws/agent/flow, /ws/subscriber/flow, /ws/publisher, /ws/replication, "
	             "/ws/subscriber, /ws/pubsub)");
	EXPECT_ERROR("g, a\n",
	             "t.csv:1: a g line has 2 fields after g: g, USER, ROLE (casbin domains are "
	             "not supported)");
	EXPECT_ERROR("g, a, b, domain\n",
	             "t.csv:1: a g line has 2 fields after g: g, USER, ROLE (casbin domains are "
	             "not supported)");
	EXPECT_ERROR("p, , topology, read\n", "t.csv:1: field 2 is empty");
	EXPECT_ERROR("p, a, topology, read,\n", "t.csv:1: field 5 is empty");
	EXPECT_ERROR("p, a, topology, read, allow, x\n",
	             "t.csv:1: too many fields (p, SUBJECT, OBJECT, ACTION[, EFFECT] or g, USER, "
	             "ROLE)");
	EXPECT_ERROR("p, \"a\", topology, read\n", "t.csv:1: quotes are not supported");
	EXPECT_ERROR("p, a, topology, read # why\n",
	             "t.csv:1: '#' starts a comment only at the beginning of a line");
	EXPECT_ERROR("g, a, b\np, a\x01, topology, read\n",
	             "t.csv:2: control character in the line");
	EXPECT_ERROR("g, a, b\n\ng, a\0b, c\n", "t.csv:3: NUL byte in the line");

	/* bounds: line length, rule count, whole size */
	char *big = malloc(RBAC_MAX_BYTES + 2);
	assert_non_null(big);
	memset(big, 'a', RBAC_MAX_LINE + 1);
	memcpy(big, "g, ", 3);
	big[RBAC_MAX_LINE + 1] = '\n';
	expect_error(big, RBAC_MAX_LINE + 2, "t.csv:1: line longer than 1024 bytes");
	memcpy(big + RBAC_MAX_LINE - 3, ", b", 3); /* 1024 bytes: accepted */
	char err[256];
	struct rbac *r = rbac_parse(big, RBAC_MAX_LINE, "t.csv", err, sizeof(err));
	assert_non_null(r);
	rbac_free(r);
	size_t o = 0;
	for (int i = 0; i < RBAC_MAX_RULES; i++)
		o += (size_t)sprintf(big + o, "g, u, r\n");
	r = rbac_parse(big, o, "t.csv", err, sizeof(err));
	assert_null(r);
	/* the built-in rules count: the error comes before line 10000 */
	assert_non_null(strstr(err, ": more than 10000 rules"));
	assert_true(strncmp(err, "t.csv:99", 8) == 0);
	r = rbac_parse(big, 9000 * 8, "t.csv", err, sizeof(err));
	assert_non_null(r);
	rbac_free(r);
	memset(big, '#', RBAC_MAX_BYTES + 1);
	expect_error(big, RBAC_MAX_BYTES + 1, "t.csv: policy larger than 1048576 bytes");
	free(big);

	/* empty texts are the built-in policy */
	r = rbac_parse("", 0, NULL, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(as_role(r, "viewer", "topology", "read"), 1);
	rbac_free(r);
	r = rbac_parse(NULL, 0, NULL, err, sizeof(err));
	assert_non_null(r);
	rbac_free(r);
	assert_null(rbac_parse(NULL, 3, NULL, err, sizeof(err)));
	assert_string_equal(err, "policy: no policy text");
}

static void test_load_and_config(void **state)
{
	char dir[] = "/tmp/test_rbac.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], err[256];
	snprintf(path, sizeof(path), "%s/policy.csv", dir);

	assert_null(rbac_load(path, err, sizeof(err)));
	char want[256];
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(err, want);
	assert_null(rbac_load(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(err, want);
	assert_null(rbac_load(NULL, err, sizeof(err)));

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	const char *two = "p, operator, capture, rawpackets, allow\ng, dave, operator\n";
	fputs(two, f);
	fputs("p, x, y\n", f);
	fclose(f);
	assert_null(rbac_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:3: a p line needs p, SUBJECT, OBJECT, ACTION[, EFFECT]",
	         path);
	assert_string_equal(err, want);
	assert_int_equal(truncate(path, (off_t)strlen(two)), 0); /* the first two lines */
	struct rbac *r = rbac_load(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(rbac_allowed(r, "dave", NULL, 0, "capture", "rawpackets"), 1);
	rbac_free(r);

	/* configuration: the file, then rbac.policy's lines (Skydive's key) */
	struct config *cfg = config_new();
	assert_non_null(cfg);
	r = rbac_from_config(cfg, err, sizeof(err));
	assert_non_null(r); /* nothing configured: the built-in policy */
	assert_int_equal(rbac_allowed(r, "dave", NULL, 0, "capture", "read"), 0);
	rbac_free(r);
	assert_int_equal(config_set_string(cfg, "rbac.policy_file", path), 0);
	assert_int_equal(
	    config_set(cfg, "rbac.policy",
	               json_pack("[s,s]", "p, dave, pcap, write, deny", "g, erin, viewer")),
	    0);
	r = rbac_from_config(cfg, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(rbac_allowed(r, "dave", NULL, 0, "capture", "rawpackets"), 1);
	assert_int_equal(rbac_allowed(r, "dave", NULL, 0, "pcap", "write"), 0);
	assert_int_equal(rbac_allowed(r, "erin", NULL, 0, "topology", "read"), 1);
	rbac_free(r);
	assert_int_equal(
	    config_set(cfg, "rbac.policy",
	               json_pack("[s,s]", "g, erin, viewer", "p, erin, pcap, write, ok")),
	    0);
	assert_null(rbac_from_config(cfg, err, sizeof(err)));
	assert_string_equal(err, "rbac.policy:2: unknown effect 'ok' (allow or deny)");
	assert_int_equal(config_set(cfg, "rbac.policy", json_pack("[s,i]", "g, erin, viewer", 3)),
	                 0);
	assert_null(rbac_from_config(cfg, err, sizeof(err)));
	assert_string_equal(err, "rbac.policy:2: each item must be one policy line (a string)");
	assert_int_equal(config_set(cfg, "rbac.policy", json_pack("{s:s}", "a", "b")), 0);
	assert_null(rbac_from_config(cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "rbac.policy: must be a list of policy lines"));
	config_free(cfg);
	unlink(path);
	rmdir(dir);

	/* the shipped sample (tests run from the top of the tree) says what its comments say */
	r = rbac_load("etc/policy.csv.sample", err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(rbac_allowed(r, "bob", NULL, 0, "capture", "rawpackets"), 1);
	assert_int_equal(rbac_allowed(r, "dave", NULL, 0, "capture", "write"), 1);
	assert_int_equal(rbac_allowed(r, "dave", NULL, 0, "pcap", "write"), 0);
	assert_int_equal(rbac_allowed(r, "carol", NULL, 0, "capture", "write"), 0);
	assert_int_equal(rbac_allowed(r, "alice", NULL, 0, "config", "write"), 1);
	rbac_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin_roles),    cmocka_unit_test(test_grants_inheritance_deny),
	    cmocka_unit_test(test_roles_text),
	    cmocka_unit_test(test_depth_limit),      cmocka_unit_test(test_skydive_shape),
	    cmocka_unit_test(test_permissions_json), cmocka_unit_test(test_request_needs),
	    cmocka_unit_test(test_malformed),        cmocka_unit_test(test_load_and_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
