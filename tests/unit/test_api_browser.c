/* test_api_browser.c - unit tests of the analyzer's browser side without
 * sockets: CORS answers (cors.c), POST /login (login.c), the web UI's routes
 * (ui_serve.c over whatever table this build embeds: make or make UI=0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/cors.h"
#include "http/login.h"
#include "http/ui_assets.h"
#include "http/ui_serve.h"

static int has(const struct rest_response *r, const char *line)
{
	return r->headers && strstr(r->headers, line) != NULL;
}

static void test_cors(void **state)
{
	(void)state;
	/* Skydive's "*", configured (the default is none: test_cors_default) */
	struct config *star = config_new();
	assert_non_null(star);
	assert_int_equal(config_set(star, "http.cors.allowed_origins", json_pack("[s]", "*")), 0);
	struct cors *c = cors_new(star);
	config_free(star);
	assert_non_null(c);
	struct rest_response r = {0};

	/* no Origin: nothing added, OPTIONS answered empty */
	struct cors_request q = {.method = "GET"};
	assert_int_equal(cors_apply(c, &q, &r), 0);
	assert_null(r.headers);
	q.method = "OPTIONS";
	assert_int_equal(cors_apply(c, &q, &r), 1);
	assert_int_equal(r.status, 200);
	assert_null(r.headers);
	rest_response_free(&r);

	q = (struct cors_request){.method = "GET", .origin = "http://a"};
	assert_int_equal(cors_apply(c, &q, &r), 0);
	assert_true(has(&r, "Access-Control-Allow-Origin: *\r\n"));
	rest_response_free(&r);

	q = (struct cors_request){.method = "OPTIONS",
	                          .origin = "http://a",
	                          .req_method = "PUT",
	                          .req_headers = " accept , content-type,AUTHORIZATION"};
	assert_int_equal(cors_apply(c, &q, &r), 1);
	assert_int_equal(r.status, 200);
	assert_true(has(&r, "Access-Control-Allow-Headers: Content-Type,Authorization\r\n"));
	assert_true(has(&r, "Access-Control-Allow-Methods: PUT\r\n"));
	rest_response_free(&r);

	q.req_method = "GET";
	q.req_headers = NULL;
	assert_int_equal(cors_apply(c, &q, &r), 1);
	assert_false(has(&r, "Access-Control-Allow-Methods"));
	assert_false(has(&r, "Access-Control-Allow-Headers"));
	rest_response_free(&r);

	q.req_method = "PATCH";
	assert_int_equal(cors_apply(c, &q, &r), 1);
	assert_int_equal(r.status, 405);
	rest_response_free(&r);
	q.req_method = NULL;
	assert_int_equal(cors_apply(c, &q, &r), 1);
	assert_int_equal(r.status, 400);
	rest_response_free(&r);
	q.req_method = "GET";
	q.req_headers = "x-foo";
	assert_int_equal(cors_apply(c, &q, &r), 1);
	assert_int_equal(r.status, 403);
	assert_non_null(strstr(r.body, "X-Foo"));
	rest_response_free(&r);

	/* a route's own Allow-Origin (POST /login) is kept */
	q = (struct cors_request){.method = "POST", .origin = "http://a"};
	assert_int_equal(rest_add_header(&r, "Access-Control-Allow-Origin", "http://a"), 0);
	assert_int_equal(cors_apply(c, &q, &r), 0);
	assert_false(has(&r, "Access-Control-Allow-Origin: *"));
	rest_response_free(&r);
	cors_free(c);

	/* configured origins */
	struct config *cfg = config_new();
	assert_non_null(cfg);
	assert_int_equal(config_set(cfg, "http.cors.allowed_origins",
	                            json_pack("[s,s]", "http://a", "http://b")),
	                 0);
	c = cors_new(cfg);
	assert_true(cors_origin_allowed(c, "http://b"));
	assert_false(cors_origin_allowed(c, "http://c"));
	q = (struct cors_request){.method = "GET", .origin = "http://b"};
	assert_int_equal(cors_apply(c, &q, &r), 0);
	assert_true(has(&r, "Access-Control-Allow-Origin: http://b\r\n"));
	assert_true(has(&r, "Vary: Origin\r\n"));
	rest_response_free(&r);
	q.origin = "http://c";
	assert_int_equal(cors_apply(c, &q, &r), 0);
	assert_null(r.headers);
	cors_free(c);
	config_free(cfg);
}

static void test_login_form(void **state)
{
	(void)state;
	char v[16], err[128];
	const char *b = "a=1&username=b%C3%A9+b&password=&username=2&x";
	assert_int_equal(login_form_value(b, strlen(b), "username", v, sizeof(v), err, sizeof(err)),
	                 1);
	assert_string_equal(v, "b\xc3\xa9 b");
	assert_int_equal(login_form_value(b, strlen(b), "password", v, sizeof(v), err, sizeof(err)),
	                 1);
	assert_string_equal(v, "");
	assert_int_equal(login_form_value(b, strlen(b), "x", v, sizeof(v), err, sizeof(err)), 1);
	assert_int_equal(login_form_value(b, strlen(b), "nope", v, sizeof(v), err, sizeof(err)), 0);
	assert_int_equal(login_form_value(NULL, 0, "x", v, sizeof(v), err, sizeof(err)), 0);
	b = "username=%4";
	assert_int_equal(login_form_value(b, strlen(b), "username", v, sizeof(v), err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "offset 9"));
	b = "username=0123456789abcdefghij";
	assert_int_equal(login_form_value(b, strlen(b), "username", v, sizeof(v), err, sizeof(err)),
	                 -1);
}

static void test_login(void **state)
{
	(void)state;
	struct rest_response r = {0};
	const char *b = "username=admin&password=x";
	struct login_request q = {.method = "POST",
	                          .content_type =
	                              "application/x-www-form-urlencoded; charset=UTF-8",
	                          .origin = "http://ui",
	                          .body = b,
	                          .body_len = strlen(b)};
	login_handle(&q, &r);
	assert_int_equal(r.status, 200);
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "Token")), "");
	json_t *p = json_object_get(j, "Permissions");
	assert_true(json_array_size(p) > 20);
	/* noauth: admin, every permission of the built-in policy (src/auth/rbac.h) */
	size_t i;
	json_t *e;
	json_array_foreach(p, i, e) assert_true(json_is_true(json_object_get(e, "Allowed")));
	json_t *cw = json_pack("{s:s, s:s, s:b}", "Object", "capture", "Action", "write",
	                       "Allowed", 1);
	int found = 0;
	json_array_foreach(p, i, e) found = found || json_equal(e, cw);
	json_decref(cw);
	assert_true(found);
	json_decref(j);
	assert_true(has(&r, "Set-Cookie: permissions="));
	assert_true(has(&r, "; Path=/\r\n"));
	assert_true(has(&r, "Access-Control-Allow-Origin: http://ui\r\n"));
	assert_true(has(&r, "Access-Control-Allow-Credentials: true\r\n"));
	rest_response_free(&r);

	q.origin = NULL;
	login_handle(&q, &r);
	assert_false(has(&r, "Access-Control"));
	rest_response_free(&r);

	q.body = "username=admin";
	q.body_len = strlen(q.body);
	login_handle(&q, &r);
	assert_int_equal(r.status, 401);
	rest_response_free(&r);

	q.content_type = "application/json";
	login_handle(&q, &r);
	assert_int_equal(r.status, 400);
	rest_response_free(&r);

	q.content_type = "application/x-www-form-urlencodedX";
	login_handle(&q, &r);
	assert_int_equal(r.status, 400);
	rest_response_free(&r);

	q.method = "GET";
	login_handle(&q, &r);
	assert_int_equal(r.status, 302);
	assert_true(has(&r, "Location: /\r\n"));
	rest_response_free(&r);
}

static void get(const char *path, const char *ae, const char *inm, struct rest_response *r,
                int want_ui)
{
	struct ui_request q = {
	    .method = "GET", .path = path, .accept_encoding = ae, .if_none_match = inm};
	memset(r, 0, sizeof(*r));
	assert_int_equal(ui_serve(&q, r), want_ui);
}

static void test_ui_routes(void **state)
{
	(void)state;
	struct rest_response r;
	get("/api", NULL, NULL, &r, 0);
	get("/api/topology", NULL, NULL, &r, 0);
	get("/ws/subscriber", NULL, NULL, &r, 0);
	get("/nope", NULL, NULL, &r, 0);

	if (!ui_assets_count) { /* make UI=0 */
		get("/", NULL, NULL, &r, 1);
		assert_int_equal(r.status, 404);
		assert_non_null(strstr(r.body, "make UI=0"));
		rest_response_free(&r);
		return;
	}
	const struct ui_asset *idx = ui_asset_find("/index.html");
	assert_non_null(idx);
	const char *paths[] = {"/", "/ui/", "/ui/topology", "/ui/a/b", "/index.html"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(paths[i], NULL, NULL, &r, 1);
		assert_int_equal(r.status, 200);
		assert_ptr_equal(r.body, idx->data);
		assert_int_equal(r.len, idx->len);
		assert_true(r.body_static);
		assert_true(has(&r, "Cache-Control: no-cache\r\n"));
		rest_response_free(&r);
	}
	get("/ui", NULL, NULL, &r, 1);
	assert_int_equal(r.status, 301);
	rest_response_free(&r);
	get("/ui/nope.js", NULL, NULL, &r, 1);
	assert_int_equal(r.status, 404);
	rest_response_free(&r);

	for (size_t i = 0; i < ui_assets_count; i++) {
		const struct ui_asset *a = &ui_assets[i];
		char p[300];
		snprintf(p, sizeof(p), "/ui%s", a->path);
		get(p, NULL, NULL, &r, 1);
		assert_int_equal(r.status, 200);
		assert_ptr_equal(r.body, a->data);
		assert_string_equal(r.content_type, a->content_type);
		rest_response_free(&r);
		get(a->path, "br, gzip", NULL, &r, 1);
		assert_int_equal(r.status, 200);
		assert_ptr_equal(r.body, a->gz ? a->gz : a->data);
		assert_int_equal(has(&r, "Content-Encoding: gzip"), a->gz != NULL);
		rest_response_free(&r);
		get(a->path, "gzip;q=0, *", a->etag, &r, 1);
		assert_int_equal(r.status, 304);
		assert_null(r.body);
		assert_int_equal(r.len, a->len);
		rest_response_free(&r);
		get(a->path, NULL, "\"zz\"", &r, 1);
		assert_int_equal(r.status, 200);
		rest_response_free(&r);
	}
	const struct ui_asset *js = ui_asset_find("/app.js");
	assert_non_null(js);
	assert_non_null(strstr(js->content_type, "javascript"));

	struct ui_request q = {.method = "DELETE", .path = "/ui/"};
	memset(&r, 0, sizeof(r));
	assert_int_equal(ui_serve(&q, &r), 1);
	assert_int_equal(r.status, 405);
	rest_response_free(&r);
}

/* Default origins: none; state changes only from the same origin (issue 9). */
static void test_cors_default(void **state)
{
	(void)state;
	struct cors *c = cors_new(NULL);
	assert_non_null(c);
	assert_false(cors_origin_allowed(c, "http://a"));
	struct rest_response r = {0};
	struct cors_request q = {.method = "GET", .origin = "http://a"};
	assert_int_equal(cors_apply(c, &q, &r), 0);
	assert_null(r.headers);
	rest_response_free(&r);
	/* no Origin, a program's Origin (agents send their address), same origin */
	assert_true(cors_request_allowed(c, NULL, "127.0.0.1:8082"));
	assert_true(cors_request_allowed(c, "127.0.0.1", "127.0.0.1:8082"));
	assert_true(cors_request_allowed(c, "http://127.0.0.1:8082", "127.0.0.1:8082"));
	assert_true(cors_request_allowed(c, "HTTP://Host.Example", "host.example:80"));
	assert_true(cors_request_allowed(c, "https://h.example", "h.example:443"));
	assert_true(cors_request_allowed(c, "http://[::1]:8082", "[::1]:8082"));
	/* another port, host, scheme default, "null", no Host */
	assert_false(cors_request_allowed(c, "http://127.0.0.1:9000", "127.0.0.1:8082"));
	assert_false(cors_request_allowed(c, "http://evil.example", "127.0.0.1:8082"));
	assert_false(cors_request_allowed(c, "https://h.example", "h.example:80"));
	assert_false(cors_request_allowed(c, "null", "127.0.0.1:8082"));
	assert_false(cors_request_allowed(c, "http://127.0.0.1:8082", NULL));
	assert_false(cors_request_allowed(c, "http://127.0.0.1:8082.evil", "127.0.0.1:8082"));
	cors_free(c);

	struct config *cfg = config_new();
	assert_non_null(cfg);
	assert_int_equal(config_set(cfg, "http.cors.allowed_origins", json_pack("[s]", "http://ui")),
	                 0);
	c = cors_new(cfg);
	config_free(cfg);
	assert_true(cors_request_allowed(c, "http://ui", "127.0.0.1:8082"));
	assert_false(cors_request_allowed(c, "http://ui2", "127.0.0.1:8082"));
	cors_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cors),
	    cmocka_unit_test(test_cors_default),
	    cmocka_unit_test(test_login_form),
	    cmocka_unit_test(test_login),
	    cmocka_unit_test(test_ui_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
