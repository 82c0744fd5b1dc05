/* test_gremlin_perm.c - unit tests of the Gremlin step permissions (gremlin_env.allowed):
 * RawPackets() and BPF() need capture/rawpackets, refused with -EACCES before anything is
 * evaluated; without a callback, or when it allows, the steps run as before. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/rbac.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"

struct store {
	int flows_calls, raw_calls;
};

static json_t *flows_fn(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
                        int64_t duration_ms, struct gremlin_error *err)
{
	((struct store *)user)->flows_calls++;
	return json_pack("[{s:s,s:s}]", "UUID", "f1", "NodeTID", "t1");
}

/* One packet of flow f1: 14 bytes of Ethernet header, IPv4 type, base64. */
static json_t *raw_fn(void *user, const json_t *flows, struct gremlin_error *err)
{
	((struct store *)user)->raw_calls++;
	return json_pack("[{s:[{s:i,s:i,s:s,s:i}]}]", "f1", "Timestamp", 1, "Index", 0, "Data",
	                 "AAAAAAAAAAAAAAAACABFAAAUAAAAAEABAAB/AAABfwAAAQ==", "LinkType", 1);
}

struct check {
	int calls, allow;
	char last[64];
};

static int allowed_fn(void *user, const char *object, const char *action)
{
	struct check *c = user;
	c->calls++;
	snprintf(c->last, sizeof(c->last), "%s/%s", object, action);
	return c->allow;
}

static int eval(const char *q, const struct gremlin_env *env, char **out, struct gremlin_error *err)
{
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	struct gremlin_query *pq = gremlin_parse(q, err);
	assert_non_null(pq);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	assert_non_null(v);
	struct gremlin_result res = {0};
	int r = gremlin_eval(pq, v, env, &res, err);
	*out = r ? NULL : json_dumps(res.json, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(res.json);
	graph_view_free(v);
	gremlin_query_free(pq);
	graph_free(g);
	return r;
}

static void test_denied(void **state)
{
	struct store st = {0};
	struct gremlin_flow_ops ops = {.flows = flows_fn, .raw_packets = raw_fn, .user = &st};
	struct check c = {.allow = 0};
	struct gremlin_env env = {.flow_ops = &ops, .allowed = allowed_fn, .allowed_user = &c};
	struct gremlin_error err;
	char *out;
	assert_int_equal(eval("G.Flows().RawPackets()", &env, &out, &err), -EACCES);
	assert_string_equal(err.msg,
	                    "RawPackets() needs the capture rawpackets permission at position 10");
	assert_int_equal(err.pos, 10);
	assert_string_equal(c.last, "capture/rawpackets");
	/* refused before evaluation: the flow store was not asked */
	assert_int_equal(st.flows_calls, 0);
	assert_int_equal(st.raw_calls, 0);

	assert_int_equal(eval("G.Flows().RawPackets().BPF('icmp')", &env, &out, &err), -EACCES);
	assert_string_equal(err.msg,
	                    "RawPackets() needs the capture rawpackets permission at position 10");
	/* a misplaced BPF() is refused for the permission too, not for its place */
	assert_int_equal(eval("G.Flows().BPF('icmp')", &env, &out, &err), -EACCES);
	assert_string_equal(err.msg,
	                    "BPF() needs the capture rawpackets permission at position 10");
	/* other steps do not ask */
	c.calls = 0;
	assert_int_equal(eval("G.Flows().Count()", &env, &out, &err), 0);
	assert_string_equal(out, "1");
	free(out);
	assert_int_equal(c.calls, 0);
}

static void test_allowed(void **state)
{
	struct store st = {0};
	struct gremlin_flow_ops ops = {.flows = flows_fn, .raw_packets = raw_fn, .user = &st};
	struct check c = {.allow = 1};
	struct gremlin_env env = {.flow_ops = &ops, .allowed = allowed_fn, .allowed_user = &c};
	struct gremlin_error err;
	char *out;
	assert_int_equal(eval("G.Flows().RawPackets()", &env, &out, &err), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(st.raw_calls, 1);
	assert_non_null(strstr(out, "\"f1\""));
	free(out);
	/* no callback: allowed, as before the permissions existed */
	env.allowed = NULL;
	assert_int_equal(eval("G.Flows().RawPackets()", &env, &out, &err), 0);
	assert_int_equal(st.raw_calls, 2);
	free(out);
}

/* The callback the auth layer gives: rbac_allowed for the request's roles. */
struct who {
	const struct rbac *r;
	const char *role;
};

static int rbac_cb(void *user, const char *object, const char *action)
{
	const struct who *w = user;
	const char *roles[1] = {w->role};
	return rbac_allowed(w->r, "u", roles, 1, object, action);
}

static void test_with_rbac(void **state)
{
	struct store st = {0};
	struct gremlin_flow_ops ops = {.flows = flows_fn, .raw_packets = raw_fn, .user = &st};
	const char *text = "p, operator, capture, rawpackets, allow\n";
	char e[256];
	struct rbac *def = rbac_new_default(),
	            *granted = rbac_parse(text, strlen(text), "t.csv", e, sizeof(e));
	assert_non_null(def);
	assert_non_null(granted);
	struct who w = {def, "operator"};
	struct gremlin_env env = {.flow_ops = &ops, .allowed = rbac_cb, .allowed_user = &w};
	struct gremlin_error err;
	char *out;
	assert_int_equal(eval("G.Flows().RawPackets()", &env, &out, &err), -EACCES);
	w.role = "viewer";
	assert_int_equal(eval("G.Flows().RawPackets()", &env, &out, &err), -EACCES);
	w.role = "admin";
	assert_int_equal(eval("G.Flows().RawPackets()", &env, &out, &err), 0);
	free(out);
	w = (struct who){granted, "operator"};
	assert_int_equal(eval("G.Flows().RawPackets()", &env, &out, &err), 0);
	free(out);
	rbac_free(def);
	rbac_free(granted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_denied),
	    cmocka_unit_test(test_allowed),
	    cmocka_unit_test(test_with_rbac),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
