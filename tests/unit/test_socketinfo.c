/* test_socketinfo.c - unit tests of the socketinfo probe's sock_diag parser and JSON
 * (src/topology/socketinfo.c), with messages built by hand as the kernel lays them out
 * (linux/inet_diag.h), and of Sockets() after Flows() (src/gremlin/gremlin_steps_sockets.c)
 * with the cases of Skydive's gremlin/traversal/flows.go: both ends of a flow, the
 * reverse tuple, IPv6, protocol mismatch, no socket at all; and Sockets() on nodes
 * (gremlin/traversal/topology.go). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "graph/graph.h"
#include "gremlin/gremlin.h"
#include "topology/socketinfo.h"

static uint32_t buf[1024];
static size_t blen;

/* Appends one SOCK_DIAG_BY_FAMILY message (with one trailing attribute, as the kernel
 * may add) to buf. */
static void add_sock(uint8_t family, uint8_t state, const char *src, uint16_t sport,
		     const char *dst, uint16_t dport, uint32_t inode)
{
	struct nlmsghdr *h = (struct nlmsghdr *)((uint8_t *)buf + blen);
	struct inet_diag_msg *m = NLMSG_DATA(h);
	memset(h, 0, NLMSG_SPACE(sizeof(*m) + 8));
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*m) + 8);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	m->idiag_family = family;
	m->idiag_state = state;
	m->id.idiag_sport = htons(sport);
	m->id.idiag_dport = htons(dport);
	assert_int_equal(inet_pton(family, src, m->id.idiag_src), 1);
	assert_int_equal(inet_pton(family, dst, m->id.idiag_dst), 1);
	m->idiag_inode = inode;
	uint16_t *rta = (uint16_t *)(m + 1); /* an INET_DIAG_SHUTDOWN attribute */
	rta[0] = 5;
	rta[1] = INET_DIAG_SHUTDOWN;
	blen += NLMSG_ALIGN(h->nlmsg_len);
}

static void add_hdr(uint16_t type, int32_t error)
{
	struct nlmsghdr *h = (struct nlmsghdr *)((uint8_t *)buf + blen);
	memset(h, 0, NLMSG_SPACE(sizeof(struct nlmsgerr)));
	h->nlmsg_type = type;
	h->nlmsg_len = NLMSG_LENGTH(type == NLMSG_ERROR ? sizeof(struct nlmsgerr) : 4);
	if (type == NLMSG_ERROR)
		((struct nlmsgerr *)NLMSG_DATA(h))->error = error;
	blen += NLMSG_ALIGN(h->nlmsg_len);
}

static void test_parse(void **state)
{
	(void)state;
	struct socketinfo_sock out[4];
	size_t n = 0;
	uint64_t over = 0;
	blen = 0;
	add_sock(AF_INET, 10, "10.0.0.1", 8080, "0.0.0.0", 0, 111);
	add_sock(AF_INET6, 1, "fd00::1", 443, "fd00::2", 51000, 222);
	/* a partial buffer: more to read */
	assert_int_equal(socketinfo_parse(buf, blen, IPPROTO_TCP, out, 4, &n, &over), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].family, AF_INET);
	assert_int_equal(out[0].state, 10);
	assert_int_equal(out[0].lport, 8080);
	assert_int_equal(out[0].rport, 0);
	assert_int_equal(out[0].inode, 111);
	assert_int_equal(out[0].proto, IPPROTO_TCP);
	uint8_t a[16];
	inet_pton(AF_INET6, "fd00::2", a);
	assert_memory_equal(out[1].raddr, a, 16);
	assert_int_equal(out[1].lport, 443);
	assert_int_equal(out[1].rport, 51000);

	/* the dump's end, past a bound of 3: one more kept, one counted */
	blen = 0;
	n = 2;
	add_sock(AF_INET, 7, "127.0.0.1", 53, "0.0.0.0", 0, 333);
	add_sock(AF_INET, 7, "127.0.0.1", 54, "0.0.0.0", 0, 444);
	add_hdr(NLMSG_DONE, 0);
	assert_int_equal(socketinfo_parse(buf, blen, IPPROTO_UDP, out, 3, &n, &over), 1);
	assert_int_equal(n, 3);
	assert_int_equal(over, 1);
	assert_int_equal(out[2].proto, IPPROTO_UDP);
	assert_int_equal(out[2].lport, 53);

	/* the kernel's error (no UDP diag module), and an ACK (error 0) skipped */
	blen = 0;
	add_hdr(NLMSG_ERROR, 0);
	add_hdr(NLMSG_ERROR, -ENOENT);
	n = 0;
	assert_int_equal(socketinfo_parse(buf, blen, IPPROTO_UDP, out, 4, &n, &over), -ENOENT);

	/* malformed: a length past the buffer, a short body, a bad family, a tail */
	blen = 0;
	add_sock(AF_INET, 1, "1.2.3.4", 1, "5.6.7.8", 2, 1);
	n = 0;
	assert_int_equal(socketinfo_parse(buf, blen - 4, IPPROTO_TCP, out, 4, &n, &over), -EPROTO);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	h->nlmsg_len = NLMSG_LENGTH(8);
	assert_int_equal(socketinfo_parse(buf, blen, IPPROTO_TCP, out, 4, &n, &over), -EPROTO);
	blen = 0;
	add_sock(AF_INET, 1, "1.2.3.4", 1, "5.6.7.8", 2, 1);
	((struct inet_diag_msg *)NLMSG_DATA(h))->idiag_family = AF_UNIX;
	assert_int_equal(socketinfo_parse(buf, blen, IPPROTO_TCP, out, 4, &n, &over), -EPROTO);
	blen = 0;
	add_sock(AF_INET, 1, "1.2.3.4", 1, "5.6.7.8", 2, 1);
	n = 0;
	assert_int_equal(socketinfo_parse(buf, blen + 8, IPPROTO_TCP, out, 4, &n, &over), -EPROTO);
	assert_int_equal(n, 1);
}

static void test_json(void **state)
{
	(void)state;
	struct socketinfo_sock s = {.proto = IPPROTO_TCP, .family = AF_INET, .state = 1,
				    .lport = 8080, .rport = 40000};
	inet_pton(AF_INET, "10.0.0.1", s.laddr);
	inet_pton(AF_INET, "10.0.0.2", s.raddr);
	struct socketinfo_proc p = {.pid = 42, .name = "nc", .process = "/usr/bin/nc.openbsd"};
	json_t *j = socketinfo_sock_json(&s, &p);
	char *t = json_dumps(j, JSON_COMPACT);
	assert_string_equal(t, "{\"Process\":\"/usr/bin/nc.openbsd\",\"Pid\":42,\"Name\":\"nc\","
			       "\"LocalAddress\":\"10.0.0.1\",\"LocalPort\":8080,"
			       "\"RemoteAddress\":\"10.0.0.2\",\"RemotePort\":40000,"
			       "\"Protocol\":\"TCP\",\"State\":\"ESTABLISHED\"}");
	free(t);
	json_decref(j);
	assert_string_equal(socketinfo_state_name(10), "LISTEN");
	assert_string_equal(socketinfo_state_name(7), "CLOSE");
	assert_string_equal(socketinfo_state_name(6), "TIME_WAIT");
	assert_string_equal(socketinfo_state_name(200), "UNKNOWN");
	/* our own process, read back from /proc */
	struct socketinfo_proc me;
	assert_int_equal(socketinfo_proc_read("/proc", getpid(), &me), 0);
	assert_string_equal(me.name, "test_socketinfo");
	assert_non_null(strstr(me.process, "test_socketinfo"));
	assert_int_equal(socketinfo_proc_read("/proc", 0, &me), -ENOENT);
}

/* ---- Sockets() ------------------------------------------------------------------- */

static json_t *mock_flows(void *user, const json_t *filters, const json_t *nodes, int64_t at,
			  int64_t dur, struct gremlin_error *err)
{
	return json_deep_copy(user);
}

static char *run(struct graph *g, json_t *flows, const char *text)
{
	struct gremlin_error err;
	struct gremlin_query *q = gremlin_parse(text, &err);
	assert_non_null(q);
	struct gremlin_flow_ops ops = {.flows = mock_flows, .user = flows};
	struct gremlin_env env = {.now_ms = 1700000000000, .flow_ops = &ops};
	struct graph_view *v = graph_view_at(g, 0, NULL);
	struct gremlin_result res;
	char *out = NULL;
	if (gremlin_eval(q, v, &env, &res, &err)) {
		if (asprintf(&out, "!%s", err.msg) < 0)
			out = NULL;
	} else {
		out = json_dumps(res.json, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(res.json);
	}
	graph_view_free(v);
	gremlin_query_free(q);
	return out;
}

#define SOCK(pid, la, lp, ra, rp, pr)                                                        \
	"{\"Pid\":" #pid ",\"Name\":\"p" #pid "\",\"LocalAddress\":\"" la "\",\"LocalPort\":" #lp \
	",\"RemoteAddress\":\"" ra "\",\"RemotePort\":" #rp ",\"Protocol\":\"" pr "\"}"

static void test_sockets_step(void **state)
{
	(void)state;
	struct graph *g = graph_new(NULL);
	assert_non_null(g);
	graph_lock(g);
	/* two hosts: the server's end on h1 (with a listener), the client's on h2, an
	 * IPv6 UDP socket on h2; Skydive's IP comparison makes ::ffff:a.b.c.d a.b.c.d */
	json_t *m1 = json_loads("{\"Type\":\"host\",\"Sockets\":[" SOCK(10, "10.0.0.1", 80, "0.0.0.0", 0, "TCP") ","
				SOCK(10, "::ffff:10.0.0.1", 80, "10.0.0.2", 5000, "TCP") "]}", 0, NULL);
	json_t *m2 = json_loads("{\"Type\":\"host\",\"Sockets\":[" SOCK(20, "10.0.0.2", 5000, "10.0.0.1", 80, "TCP") ","
				SOCK(21, "fd00::2", 53, "fd00::1", 6000, "UDP") "]}", 0, NULL);
	assert_non_null(m1);
	assert_non_null(m2);
	json_incref(m1); /* kept to compare with */
	json_incref(m2);
	assert_int_equal(graph_node_add(g, "h1", m1, "h1", "agent.h1", 1), 0);
	assert_int_equal(graph_node_add(g, "h2", m2, "h2", "agent.h2", 1), 0);
	graph_unlock(g);
	json_t *flows = json_loads(
	    "[{\"UUID\":\"f1\",\"Network\":{\"Protocol\":\"IPV4\",\"A\":\"10.0.0.2\",\"B\":\"10.0.0.1\"},"
	    "\"Transport\":{\"Protocol\":\"TCP\",\"A\":5000,\"B\":80}},"
	    "{\"UUID\":\"f2\",\"Network\":{\"Protocol\":\"IPV6\",\"A\":\"fd00::1\",\"B\":\"fd00::2\"},"
	    "\"Transport\":{\"Protocol\":\"UDP\",\"A\":6000,\"B\":53}},"
	    "{\"UUID\":\"f3\",\"Network\":{\"Protocol\":\"IPV4\",\"A\":\"10.0.0.2\",\"B\":\"10.0.0.1\"},"
	    "\"Transport\":{\"Protocol\":\"UDP\",\"A\":5000,\"B\":80}},"
	    "{\"UUID\":\"f4\",\"Network\":{\"Protocol\":\"IPV4\",\"A\":\"10.0.0.2\",\"B\":\"10.0.0.1\"}}]",
	    0, NULL);
	assert_non_null(flows);
	char *got = run(g, flows, "G.Flows().Sockets()");
	assert_non_null(got);
	/* f1: A->B is the client's socket, B->A the server's; f2 the UDP socket's reverse;
	 * f3 (UDP on TCP's ports) and f4 (no transport) have none */
	json_t *want = json_loads(
	    "[{\"f1\":[" SOCK(20, "10.0.0.2", 5000, "10.0.0.1", 80, "TCP") ","
	    SOCK(10, "::ffff:10.0.0.1", 80, "10.0.0.2", 5000, "TCP") "],"
	    "\"f2\":[" SOCK(21, "fd00::2", 53, "fd00::1", 6000, "UDP") "]}]", 0, NULL);
	char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	if (strcmp(got, w))
		fail_msg("got  %s\nwant %s", got, w);
	free(got);
	free(w);
	json_decref(want);
	got = run(g, flows, "G.Flows().Has('UUID','f3').Sockets()");
	assert_string_equal(got, "[]");
	free(got);
	got = run(g, flows, "G.Flows().Sockets(1)");
	assert_non_null(strstr(got, "Sockets requires no parameter"));
	free(got);
	/* on nodes: each node's list by its ID; a node without Sockets left out */
	graph_lock(g);
	assert_int_equal(graph_node_add(g, "n3", json_pack("{s:s}", "Type", "veth"), "h1",
					"agent.h1", 1), 0);
	graph_unlock(g);
	got = run(g, flows, "G.V().Sockets()");
	want = json_pack("[{s:O, s:O}]", "h1", json_object_get(m1, "Sockets"), "h2",
			 json_object_get(m2, "Sockets"));
	w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
	if (strcmp(got, w))
		fail_msg("got  %s\nwant %s", got, w);
	free(got);
	free(w);
	json_decref(want);
	got = run(g, flows, "G.V().Has('Type','veth').Sockets()");
	assert_string_equal(got, "[]");
	free(got);
	got = run(g, flows, "G.E().Sockets()");
	assert_non_null(strstr(got, "Sockets() does not apply to edges"));
	free(got);
	json_decref(flows);
	json_decref(m1);
	json_decref(m2);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_sockets_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
