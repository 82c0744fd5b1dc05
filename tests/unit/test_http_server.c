/* test_http_server.c - unit tests of the generic HTTP server (http/server.h) with a
 * service of the test's own, no analyzer: routes by exact path and by prefix, the
 * fallback, the headers a route keeps, a worker route (its stamp taken on the loop, run
 * off it), the JSON-body rule of a route for browsers (415), the cross-origin refusal of
 * state changes (403), and the server's /api/status sections. The client is libcurl on
 * 127.0.0.1, port 0 picked by the kernel. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "config/config.h"
#include "http/server.h"

struct svc {
	pthread_t loop; /* the thread of the first loop-side call */
	atomic_int loop_set;
	atomic_int on_worker; /* the worker route ran on another thread than the loop */
	atomic_uint_fast64_t stamp_seen;
	struct http_server *srv;
};

static void note_loop(struct svc *s)
{
	if (!atomic_exchange(&s->loop_set, 1))
		s->loop = pthread_self();
}

/* "/a" and "/a/...": echoes the method, path and the kept header */
static void route_a(void *user, const struct http_request *req, struct rest_response *out)
{
	note_loop(user);
	rest_reply_json(out, 200,
	                json_pack("{s:s, s:s, s:s}", "Method", req->method, "Path", req->path,
	                          "Kept", req->kept[0]));
}

static uint64_t stamp(void *user)
{
	note_loop(user);
	return 42;
}

static void route_work(void *user, const struct http_request *req, struct rest_response *out)
{
	struct svc *s = user;
	atomic_store(&s->on_worker, !pthread_equal(pthread_self(), s->loop));
	atomic_store(&s->stamp_seen, req->stamp);
	rest_reply_json(out, 200, json_pack("{s:I}", "Stamp", (json_int_t)req->stamp));
}

/* /status: the server's sections only */
static void route_status(void *user, const struct http_request *req, struct rest_response *out)
{
	struct svc *s = user;
	note_loop(user);
	json_t *st = json_object();
	http_server_status(s->srv, st);
	rest_reply_json(out, 200, st);
}

static void route_fallback(void *user, const struct http_request *req,
                           struct rest_response *out)
{
	note_loop(user);
	rest_reply_error(out, 404, "fallback %s", req->path);
}

struct buf {
	char *p;
	size_t n;
};

static size_t collect(char *d, size_t sz, size_t nm, void *user)
{
	struct buf *b = user;
	char *np = realloc(b->p, b->n + sz * nm + 1);
	if (!np)
		return 0;
	memcpy(np + b->n, d, sz * nm);
	b->p = np;
	b->n += sz * nm;
	b->p[b->n] = 0;
	return sz * nm;
}

/* One request; the JSON answer in *out (NULL if not JSON); returns the status. */
static long request(int port, const char *method, const char *path, const char *body,
                    const char *const *headers, json_t **out)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	CURL *c = curl_easy_init();
	assert_non_null(c);
	struct buf b = {0};
	struct curl_slist *h = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	*out = b.p ? json_loads(b.p, 0, NULL) : NULL;
	free(b.p);
	return code;
}

static void test_routes(void **state)
{
	struct svc s = {0};
	struct config *cfg = config_new();
	assert_non_null(cfg);
	assert_int_equal(config_set_string(cfg, "agent.listen", "127.0.0.1:0"), 0);
	assert_int_equal(config_set(cfg, "http.max_connections", json_integer(7)), 0);
	const struct http_route routes[] = {
	    {.path = "/a",
	     .flags = HTTP_ROUTE_PREFIX | HTTP_ROUTE_JSON,
	     .keep = {"x-k:"},
	     .handle = route_a,
	     .user = &s},
	    {.path = "/work",
	     .worker_methods = "GET",
	     .handle = route_work,
	     .stamp = stamp,
	     .user = &s},
	    {.path = "/status", .handle = route_status, .user = &s},
	    {.path = NULL, .handle = route_fallback, .user = &s},
	    {0}};
	struct http_server_opts o = {.service = "agent",
	                             .listen_key = "agent.listen",
	                             .listen_default = "127.0.0.1:0",
	                             .routes = routes};
	char err[512];
	s.srv = http_server_new(cfg, &o, err, sizeof(err));
	assert_non_null(s.srv);
	assert_int_equal(http_server_start(s.srv), 0);
	int port = http_server_port(s.srv);
	assert_true(port > 0);
	json_t *j;

	/* the loop's thread is noted by the first loop-side handler */
	const char *const kh[] = {"X-K: kept-value", NULL};
	assert_int_equal(request(port, "GET", "/a/b/c", NULL, kh, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "Path")), "/a/b/c");
	assert_string_equal(json_string_value(json_object_get(j, "Kept")), "kept-value");
	json_decref(j);
	assert_int_equal(request(port, "GET", "/a", NULL, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "Kept")), "");
	json_decref(j);
	/* "/ab" is not under the prefix "/a": the fallback */
	assert_int_equal(request(port, "GET", "/ab", NULL, NULL, &j), 404);
	assert_string_equal(json_string_value(json_object_get(j, "Error")), "fallback /ab");
	json_decref(j);

	assert_int_equal(request(port, "GET", "/work", NULL, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "Stamp")), 42);
	json_decref(j);
	assert_int_equal(atomic_load(&s.stamp_seen), 42);
	assert_true(atomic_load(&s.on_worker));

	/* a browser's body to a JSON route: the same origin passes the Origin check, then
	 * text/plain is refused (415); application/json goes through */
	char origin[64], host[64];
	snprintf(origin, sizeof(origin), "Origin: http://127.0.0.1:%d", port);
	snprintf(host, sizeof(host), "Host: 127.0.0.1:%d", port);
	const char *const plain[] = {origin, host, "Content-Type: text/plain", NULL};
	assert_int_equal(request(port, "POST", "/a", "{}", plain, &j), 415);
	json_decref(j);
	const char *const js[] = {origin, host, "Content-Type: application/json", NULL};
	assert_int_equal(request(port, "POST", "/a", "{}", js, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "Method")), "POST");
	json_decref(j);
	/* another origin may not change state (issue 9) */
	const char *const evil[] = {"Origin: http://elsewhere.example", host,
	                            "Content-Type: application/json", NULL};
	assert_int_equal(request(port, "POST", "/a", "{}", evil, &j), 403);
	json_decref(j);

	assert_int_equal(request(port, "GET", "/status", NULL, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "Connections"), "Max")),
	                 7);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "WebSocket"), "RefusedCrossOrigin")),
	    1);
	assert_true(json_integer_value(json_object_get(json_object_get(j, "Queries"), "Finished")) >=
	            1);
	assert_non_null(json_object_get(j, "Auth"));
	json_decref(j);

	http_server_halt(s.srv);
	http_server_free(s.srv);
	config_free(cfg);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
