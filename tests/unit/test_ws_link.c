/* test_ws_link.c - the agent's WebSocket client, what runs without an
 * analyzer: the outgoing queue's order (a message put in front, as the
 * topology Sync is, goes first), clear counting what it freed, and the
 * channel rules (a bad address or a missing client refused with the reason,
 * no channel added once started, stop idempotent). The connections proper
 * run against an analyzer in tests/integration (capture_e2e.sh, tls.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/ws_link.h"

static void *msg(const char *text)
{
	char *b = malloc(WS_LINK_HEADROOM + strlen(text) + 1);
	strcpy(b + WS_LINK_HEADROOM, text);
	return b;
}

static void assert_pop(struct ws_queue *q, const char *want)
{
	struct ws_msg *m = ws_queue_pop(q);
	assert_non_null(m);
	assert_int_equal(m->len, strlen(want));
	assert_string_equal((char *)m->buf + WS_LINK_HEADROOM, want);
	ws_msg_free(m);
}

static void test_queue_order(void **state)
{
	struct ws_queue q = {0};
	assert_null(ws_queue_pop(&q));
	assert_int_equal(ws_queue_push(&q, msg("a"), 1, 0), 0);
	assert_int_equal(ws_queue_push(&q, msg("bb"), 2, 0), 0);
	assert_int_equal(ws_queue_push(&q, msg("sync"), 4, 1), 0);
	assert_int_equal(q.len, 3);
	assert_pop(&q, "sync");
	assert_pop(&q, "a");
	assert_pop(&q, "bb");
	assert_int_equal(q.len, 0);
	assert_null(ws_queue_pop(&q));
	/* in front of an empty queue, then behind it: the tail follows */
	assert_int_equal(ws_queue_push(&q, msg("x"), 1, 1), 0);
	assert_int_equal(ws_queue_push(&q, msg("y"), 1, 0), 0);
	assert_pop(&q, "x");
	assert_pop(&q, "y");
	assert_null(q.head);
	assert_null(q.tail);
}

static void test_queue_clear(void **state)
{
	struct ws_queue q = {0};
	assert_int_equal(ws_queue_clear(&q), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ws_queue_push(&q, msg("m"), 1, 0), 0);
	assert_int_equal(ws_queue_clear(&q), 5);
	assert_int_equal(q.len, 0);
	assert_null(ws_queue_pop(&q));
	ws_msg_free(NULL);
}

static struct ws_msg *nothing(void *user, struct ws_chan *ch, int *more)
{
	*more = 0;
	return NULL;
}

static const struct ws_chan_ops ops = {.next = nothing};

static void test_channels(void **state)
{
	char err[256] = "";
	struct ws_chan_opts co = {.analyzer = "no-port", .path = "/ws/agent/flow",
				  .protocol = "protobuf", .label = "flow channel", .ops = &ops};
	assert_null(ws_client_add(NULL, &co, err, sizeof(err)));
	assert_non_null(strstr(err, "without a WebSocket client"));

	struct ws_client_opts o = {.host_id = "h", .authorization = "Basic eDp5"};
	struct ws_client *cl = ws_client_new(&o, err, sizeof(err));
	assert_non_null(cl);
	/* nothing to connect: start is a no-op */
	assert_int_equal(ws_client_start(cl, err, sizeof(err)), 0);
	assert_false(ws_client_running(cl));

	err[0] = 0;
	assert_null(ws_client_add(cl, &co, err, sizeof(err)));
	assert_non_null(strstr(err, "'no-port'"));

	co.analyzer = ":1"; /* host defaults to loopback; nothing listens on port 1 */
	struct ws_chan *ch = ws_client_add(cl, &co, err, sizeof(err));
	assert_non_null(ch);
	assert_string_equal(ws_chan_addr(ch), ":1");
	assert_int_equal(ws_client_start(cl, err, sizeof(err)), 0);
	assert_true(ws_client_running(cl));
	ws_client_wake(cl);

	co.analyzer = "127.0.0.1:2";
	assert_null(ws_client_add(cl, &co, err, sizeof(err)));
	assert_non_null(strstr(err, "started"));

	ws_client_stop(cl);
	assert_false(ws_client_running(cl));
	ws_client_stop(cl);
	struct ws_chan_stats st;
	ws_chan_get_stats(ch, &st);
	assert_int_equal(st.up, 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.write_failed, 0);
	ws_client_wake(cl); /* stopped: nothing to wake, no crash */
	ws_client_free(cl);
	ws_client_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_queue_clear),
		cmocka_unit_test(test_channels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
