/* test_etcd.c - unit tests of the etcd v3 gateway client (src/cluster/etcd.c) that need
 * no server: gRPC codes to errno, the gateway's int64-as-string, base64 keys (RFC 4648
 * vectors), prefix range ends (etcd's clientv3.GetPrefixRangeEnd rule), replies as etcd
 * 3.4.23's gateway wrote them (captured with curl against etcd-server, lab README §8),
 * the watch stream cut anywhere, compaction and cancel, the configuration refusals
 * (src/cluster/cluster.c), and a server that is not there (a closed loopback port). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "cluster/etcd.h"
#include "config/config.h"

static json_t *J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (!j)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

static void test_codes(void **state)
{
	/* google.golang.org/grpc/codes */
	assert_int_equal(etcd_errno_of_code(0), 0);
	assert_int_equal(etcd_errno_of_code(3), -EINVAL);
	assert_int_equal(etcd_errno_of_code(4), -ETIMEDOUT);
	assert_int_equal(etcd_errno_of_code(5), -ENOENT);
	assert_int_equal(etcd_errno_of_code(8), -ENOSPC);
	assert_int_equal(etcd_errno_of_code(14), -EAGAIN);
	assert_int_equal(etcd_errno_of_code(16), -EACCES);
	assert_int_equal(etcd_errno_of_code(2), -EIO);
	char err[256];
	json_t *j = J("{\"error\":\"etcdserver: requested lease not found\",\"message\":"
	              "\"etcdserver: requested lease not found\",\"code\":5}");
	assert_int_equal(etcd_reply_error(j, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "requested lease not found"));
	assert_non_null(strstr(err, "gRPC code 5"));
	json_decref(j);
	j = J("{\"header\":{\"revision\":\"2\"}}");
	assert_int_equal(etcd_reply_error(j, err, sizeof(err)), 0);
	json_decref(j);
	/* a streamed error ({"error": {"grpc_code", "message"}}) */
	j = J("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\"}}");
	assert_int_equal(etcd_reply_error(j, err, sizeof(err)), -EAGAIN);
	assert_non_null(strstr(err, "no leader"));
	json_decref(j);
}

static void test_i64_b64_prefix(void **state)
{
	int64_t v;
	json_t *j = J("[\"4111120408729648901\", 12, \"\", \"12x\", true, null]");
	assert_int_equal(etcd_i64(json_array_get(j, 0), &v), 0);
	assert_true(v == 4111120408729648901LL);
	assert_int_equal(etcd_i64(json_array_get(j, 1), &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(etcd_i64(json_array_get(j, 2), &v), -EPROTO);
	assert_int_equal(etcd_i64(json_array_get(j, 3), &v), -EPROTO);
	assert_int_equal(etcd_i64(json_array_get(j, 4), &v), -EPROTO);
	assert_int_equal(etcd_i64(json_array_get(j, 5), &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(etcd_i64(NULL, &v), 0);
	json_decref(j);

	/* RFC 4648 section 10 */
	char *b = etcd_b64("foo", 3);
	assert_string_equal(b, "Zm9v");
	free(b);
	b = etcd_b64("fo", 2);
	assert_string_equal(b, "Zm8=");
	free(b);
	b = etcd_b64("", 0);
	assert_string_equal(b, "");
	free(b);

	size_t n;
	char *e = etcd_prefix_end("/alert/", &n);
	assert_int_equal(n, 7);
	assert_memory_equal(e, "/alert0", 7); /* '/' + 1 */
	free(e);
	e = etcd_prefix_end("a\xff\xff", &n);
	assert_int_equal(n, 1);
	assert_memory_equal(e, "b", 1);
	free(e);
	e = etcd_prefix_end("\xff", &n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0], 0); /* every key */
	free(e);
}

static void test_replies(void **state)
{
	char err[256];
	struct etcd_kvs kvs;
	json_t *j = J("{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"
	              "\"13668033151171901709\",\"revision\":\"2\",\"raft_term\":\"2\"},\"kvs\":[{"
	              "\"key\":\"L2EvMQ==\",\"create_revision\":\"2\",\"mod_revision\":\"2\","
	              "\"version\":\"1\",\"value\":\"eyJ4IjoxfQ==\",\"lease\":\"7587869\"}],"
	              "\"count\":\"1\"}");
	assert_int_equal(etcd_parse_kvs(j, &kvs, err, sizeof(err)), 0);
	assert_int_equal(kvs.revision, 2);
	assert_int_equal(kvs.n, 1);
	assert_string_equal(kvs.v[0].key, "/a/1");
	assert_string_equal(kvs.v[0].value, "{\"x\":1}");
	assert_int_equal(kvs.v[0].value_len, 7);
	assert_int_equal(kvs.v[0].create_rev, 2);
	assert_int_equal(kvs.v[0].mod_rev, 2);
	assert_int_equal(kvs.v[0].lease, 7587869);
	etcd_kvs_clear(&kvs);
	json_decref(j);
	/* an empty range has no kvs at all */
	j = J("{\"header\":{\"revision\":\"9\"}}");
	assert_int_equal(etcd_parse_kvs(j, &kvs, err, sizeof(err)), 0);
	assert_int_equal(kvs.n, 0);
	assert_int_equal(kvs.revision, 9);
	json_decref(j);
	/* bad base64, a NUL in a key, kvs not an array */
	const char *bad[] = {"{\"kvs\":[{\"key\":\"!!!\"}]}", "{\"kvs\":[{\"key\":\"YQBi\"}]}",
	                     "{\"kvs\":{}}", "{\"header\":{\"revision\":\"x\"}}", "[]"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		j = J(bad[i]);
		assert_int_equal(etcd_parse_kvs(j, &kvs, err, sizeof(err)), -EPROTO);
		assert_int_equal(kvs.n, 0);
		json_decref(j);
	}

	int64_t id, ttl;
	j = J("{\"header\":{\"revision\":\"1\"},\"ID\":\"4111120408729648901\",\"TTL\":\"5\"}");
	assert_int_equal(etcd_parse_lease(j, &id, &ttl, err, sizeof(err)), 0);
	assert_true(id == 4111120408729648901LL);
	assert_int_equal(ttl, 5);
	json_decref(j);
	/* keepalive of a lease that is gone: a result without TTL */
	j = J("{\"result\":{\"header\":{\"revision\":\"3\"},\"ID\":\"1\"}}");
	assert_int_equal(etcd_parse_lease(j, &id, &ttl, err, sizeof(err)), -ENOENT);
	assert_int_equal(id, 1);
	assert_non_null(strstr(err, "not found"));
	json_decref(j);
	j = J("{\"result\":{\"ID\":\"7\",\"TTL\":\"3\"}}");
	assert_int_equal(etcd_parse_lease(j, &id, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 3);
	json_decref(j);

	int ok;
	j = J("{\"header\":{\"revision\":\"3\"},\"succeeded\":true,\"responses\":[{\"response_put\":"
	      "{\"header\":{\"revision\":\"3\"}}}]}");
	assert_int_equal(etcd_parse_txn(j, &ok, &kvs, err, sizeof(err)), 0);
	assert_int_equal(ok, 1);
	assert_int_equal(kvs.n, 0);
	json_decref(j);
	/* failed compare: "succeeded" omitted (false), the key as it is */
	j = J("{\"header\":{\"revision\":\"3\"},\"responses\":[{\"response_range\":{\"header\":{"
	      "\"revision\":\"3\"},\"kvs\":[{\"key\":\"L2UvYQ==\",\"create_revision\":\"3\","
	      "\"mod_revision\":\"3\",\"version\":\"1\",\"value\":\"aDE=\"}],\"count\":\"1\"}}]}");
	assert_int_equal(etcd_parse_txn(j, &ok, &kvs, err, sizeof(err)), 0);
	assert_int_equal(ok, 0);
	assert_int_equal(kvs.n, 1);
	assert_string_equal(kvs.v[0].key, "/e/a");
	assert_string_equal(kvs.v[0].value, "h1");
	etcd_kvs_clear(&kvs);
	json_decref(j);
}

struct evs {
	int n;
	enum etcd_event_type type[8];
	char key[8][32], val[8][32];
	int64_t mod[8];
	int stop_at;
};

static int on_ev(void *user, const struct etcd_event *ev)
{
	struct evs *e = user;
	if (e->n < 8) {
		e->type[e->n] = ev->type;
		snprintf(e->key[e->n], 32, "%s", ev->kv->key);
		snprintf(e->val[e->n], 32, "%s", ev->kv->value);
		e->mod[e->n] = ev->kv->mod_rev;
	}
	e->n++;
	return e->stop_at && e->n == e->stop_at ? 42 : 0;
}

/* What etcd 3.4.23 streamed for a watch of /a/ from revision 1 (created, then the put
 * and the delete of /a/1). */
static const char stream[] =
    "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"4\","
    "\"raft_term\":\"2\"},\"created\":true}}\n"
    "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"4\","
    "\"raft_term\":\"2\"},\"events\":[{\"kv\":{\"key\":\"L2EvMQ==\",\"create_revision\":\"2\","
    "\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"eyJ4IjoxfQ==\"}},{\"type\":\"DELETE\","
    "\"kv\":{\"key\":\"L2EvMQ==\",\"mod_revision\":\"4\"}}]}}\n";

static void test_watch_stream(void **state)
{
	char err[256];
	/* whole, then one byte at a time: the same events */
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct etcd_stream s = {0};
		struct evs e = {0};
		int64_t rev = 0;
		size_t n = strlen(stream);
		if (!bytewise)
			assert_int_equal(etcd_stream_feed(&s, stream, n, on_ev, &e, &rev, err, sizeof(err)), 0);
		else
			for (size_t i = 0; i < n; i++)
				assert_int_equal(
				    etcd_stream_feed(&s, stream + i, 1, on_ev, &e, &rev, err, sizeof(err)), 0);
		assert_int_equal(e.n, 2);
		assert_int_equal(e.type[0], ETCD_PUT);
		assert_string_equal(e.key[0], "/a/1");
		assert_string_equal(e.val[0], "{\"x\":1}");
		assert_int_equal(e.mod[0], 2);
		assert_int_equal(e.type[1], ETCD_DELETE);
		assert_string_equal(e.key[1], "/a/1");
		assert_string_equal(e.val[1], "");
		assert_int_equal(e.mod[1], 4);
		assert_int_equal(rev, 4);
		etcd_stream_clear(&s);
	}
	/* the callback's value stops the stream */
	struct etcd_stream s = {0};
	struct evs e = {.stop_at = 1};
	int64_t rev = 0;
	assert_int_equal(etcd_stream_feed(&s, stream, strlen(stream), on_ev, &e, &rev, err, sizeof(err)), 42);
	etcd_stream_clear(&s);

	/* compacted, canceled, an error message, not JSON, an unknown event type */
	struct {
		const char *msg;
		int rc;
	} cases[] = {
	    {"{\"result\":{\"header\":{\"revision\":\"20\"},\"compact_revision\":\"12\",\"canceled\":true}}\n",
	     -ESTALE},
	    {"{\"result\":{\"header\":{\"revision\":\"20\"},\"canceled\":true,\"cancel_reason\":\"x\"}}\n",
	     -ECANCELED},
	    {"{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}}\n", -EAGAIN},
	    {"{\"result\":\n", -EPROTO},
	    {"{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":{\"key\":\"YQ==\"}}]}}\n", -EPROTO},
	    {"[1]\n", -EPROTO},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct etcd_stream t = {0};
		struct evs f = {0};
		int rc = etcd_stream_feed(&t, cases[i].msg, strlen(cases[i].msg), on_ev, &f, &rev, err,
		                          sizeof(err));
		assert_int_equal(rc, cases[i].rc);
		assert_true(err[0]);
		etcd_stream_clear(&t);
	}
	/* a message above the bound, never ended by a newline */
	struct etcd_stream big = {0};
	char *chunk = malloc(1 << 20);
	memset(chunk, ' ', 1 << 20);
	int rc = 0;
	for (int i = 0; i < 17 && !rc; i++)
		rc = etcd_stream_feed(&big, chunk, 1 << 20, on_ev, &e, &rev, err, sizeof(err));
	assert_int_equal(rc, -EPROTO);
	free(chunk);
	etcd_stream_clear(&big);
}

static void test_client_errors(void **state)
{
	char err[512];
	json_t *bad = J("[\"ftp://127.0.0.1:1\"]");
	assert_null(etcd_client_new(bad, 1000, err, sizeof(err)));
	assert_non_null(strstr(err, "only http:// and https://"));
	json_decref(bad);
	bad = J("[]");
	assert_null(etcd_client_new(bad, 1000, err, sizeof(err)));
	json_decref(bad);
	/* port 1 on loopback: nothing listens (connection refused, at once) */
	json_t *sv = J("[\"127.0.0.1:1/\"]");
	struct etcd_client *c = etcd_client_new(sv, 1000, err, sizeof(err));
	json_decref(sv);
	assert_non_null(c);
	assert_string_equal(etcd_client_server(c), "http://127.0.0.1:1");
	assert_int_equal(etcd_put(c, "/k", "v", 1, 0, NULL, err, sizeof(err)), -ECONNREFUSED);
	assert_non_null(strstr(err, "http://127.0.0.1:1/v3/kv/put"));
	struct etcd_kvs kvs;
	assert_int_equal(etcd_range(c, "/k", 1, &kvs, err, sizeof(err)), -ECONNREFUSED);
	int stop = 0;
	assert_int_equal(etcd_watch(c, "/k", 1, 1, on_ev, NULL, &stop, NULL, err, sizeof(err)),
	                 -ECONNREFUSED);
	etcd_client_free(c);
}

static void test_config(void **state)
{
	char err[512];
	struct config *cfg = config_new();
	struct cluster *c = (struct cluster *)1;
	assert_int_equal(cluster_new(cfg, &c, err, sizeof(err)), 0);
	assert_null(c); /* no etcd.servers: a single analyzer */
	assert_int_equal(config_set(cfg, "etcd.embedded", json_true()), 0);
	assert_int_equal(cluster_new(cfg, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "etcd.embedded: true is not supported"));
	assert_int_equal(config_set(cfg, "etcd.embedded", json_false()), 0);
	assert_int_equal(config_set_string(cfg, "etcd.data_dir", "/var/lib/skydive/etcd"), 0);
	assert_int_equal(cluster_check_config(cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "etcd.data_dir configures Skydive's embedded etcd"));
	config_free(cfg);
	cfg = config_new();
	assert_int_equal(config_set(cfg, "etcd.lease_ttl", json_integer(1)), 0);
	assert_int_equal(cluster_check_config(cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "etcd.lease_ttl"));
	config_free(cfg);
	cfg = config_new();
	assert_int_equal(config_set(cfg, "etcd.servers", J("[\"http://127.0.0.1:1\"]")), 0);
	assert_int_equal(cluster_new(cfg, &c, err, sizeof(err)), 0);
	assert_non_null(c);
	json_t *st = cluster_status(c);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st, "Etcd"), "Server")),
	                    "http://127.0.0.1:1");
	assert_false(json_is_true(json_object_get(json_object_get(st, "Etcd"), "Connected")));
	json_decref(st);
	cluster_free(c);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codes),        cmocka_unit_test(test_i64_b64_prefix),
	    cmocka_unit_test(test_replies),      cmocka_unit_test(test_watch_stream),
	    cmocka_unit_test(test_client_errors), cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
