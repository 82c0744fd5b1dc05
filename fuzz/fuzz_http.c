/* fuzz_http.c - libFuzzer target for the browser-facing request parsers: the
 * web UI routes (path, Accept-Encoding, If-None-Match), CORS (Origin and the
 * pre-flight's Access-Control-Request-* headers, against a configured origin
 * list) and POST /login (form body). The input is NUL-separated fields:
 * method, path, origin, request-method, request-headers, accept-encoding,
 * if-none-match, content-type, body (a missing field is NULL). Checks that each
 * answer is a well-formed response on top of what the sanitizers catch. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cors.h"
#include "http/login.h"
#include "http/ui_serve.h"
#include "config/config.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define NFIELDS 9

static void check_headers(const struct rest_response *r)
{
	if (r->headers) {
		/* every extra header line is "Name: value\r\n" */
		const char *p = r->headers;
		while (*p) {
			const char *eol = strstr(p, "\r\n");
			CHECK(eol && memchr(p, ':', (size_t)(eol - p)));
			p = eol + 2;
		}
	}
}

static void check_response(const struct rest_response *r)
{
	CHECK(r->status >= 100 && r->status < 600);
	CHECK(r->len == 0 || r->body);
	check_headers(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	const char *f[NFIELDS] = {0};
	size_t n = 0, off = 0;
	while (n < NFIELDS && off <= size) {
		f[n++] = buf + off;
		off += strlen(buf + off) + 1;
	}
	const char *method = f[0] ? f[0] : "GET", *path = f[1] ? f[1] : "/";
	const char *body = f[8];
	size_t body_len = body ? size - (size_t)(body - buf) : 0;

	struct rest_response r = {0};
	struct ui_request ur = {.method = method, .path = path, .accept_encoding = f[5],
	                        .if_none_match = f[6]};
	if (ui_serve(&ur, &r))
		check_response(&r);
	rest_response_free(&r);

	static struct cors *c;
	if (!c) { /* once: a configured origin list (config_set steals the list) */
		struct config *cfg = config_new();
		json_t *origins = json_pack("[ss]", "http://ui.example:8080", "*.example.org");
		if (cfg && origins && !config_set(cfg, "http.cors.allowed_origins", origins))
			c = cors_new(cfg);
		config_free(cfg);
	}
	if (c) {
		struct cors_request cr = {.method = method, .origin = f[2], .req_method = f[3],
		                          .req_headers = f[4]};
		memset(&r, 0, sizeof(r));
		int rc = cors_apply(c, &cr, &r);
		CHECK(rc >= -1 && rc <= 1);
		if (rc == 1)
			check_response(&r);
		else
			check_headers(&r);
		rest_response_free(&r);
	}

	struct login_request lr = {.method = method, .content_type = f[7],
	                           .origin = c && cors_origin_allowed(c, f[2]) ? f[2] : NULL,
	                           .body = body, .body_len = body_len};
	memset(&r, 0, sizeof(r));
	login_handle(&lr, &r);
	check_response(&r);
	rest_response_free(&r);

	char val[64], err[128];
	if (body) {
		int rc = login_form_value(body, body_len, "username", val, sizeof(val), err, sizeof(err));
		CHECK(rc >= -1 && rc <= 1);
		if (rc == 1)
			CHECK(strlen(val) < sizeof(val));
	}
	free(buf);
	return 0;
}
