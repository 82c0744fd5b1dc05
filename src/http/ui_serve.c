/* ui_serve.c - GET/HEAD of the embedded web UI (see ui_serve.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http/ui_assets.h"
#include "http/ui_serve.h"
#include "common/log.h"


const struct ui_asset *ui_asset_find(const char *path)
{
	for (size_t i = 0; i < ui_assets_count; i++)
		if (!strcmp(ui_assets[i].path, path))
			return &ui_assets[i];
	return NULL;
}

/* Accept-Encoding lists gzip (or *) with a non-zero q. */
static int accepts_gzip(const char *ae)
{
	int gzip = -1, star = -1;
	for (const char *s = ae ? ae : ""; *s;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		const char *tok = s;
		while (*s && *s != ',' && *s != ';' && *s != ' ' && *s != '\t')
			s++;
		size_t n = (size_t)(s - tok);
		const char *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		int q = 1; /* q=0 (0.0, 0.000) refuses */
		const char *qp = strstr(s, "q=");
		if (qp && qp < end) {
			double v = strtod(qp + 2, NULL);
			q = v > 0;
		}
		if ((n == 4 && !strncasecmp(tok, "gzip", 4)) ||
		    (n == 6 && !strncasecmp(tok, "x-gzip", 6)))
			gzip = q;
		else if (n == 1 && *tok == '*')
			star = q;
		s = end;
	}
	return gzip >= 0 ? gzip : star > 0;
}

/* If-None-Match names etag (or is "*"); weak W/ forms compare equal. */
static int etag_matches(const char *inm, const char *etag)
{
	if (!inm || !etag)
		return 0;
	size_t n = strlen(etag);
	for (const char *s = inm; *s;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (!strncmp(s, "W/", 2))
			s += 2;
		if (*s == '*')
			return 1;
		if (!strncmp(s, etag, n) &&
		    (s[n] == 0 || s[n] == ',' || s[n] == ' ' || s[n] == '\t'))
			return 1;
		while (*s && *s != ',')
			s++;
	}
	return 0;
}

static void serve_asset(const struct ui_request *req, const struct ui_asset *a,
                        struct rest_response *out)
{
	int gz = a->gz && accepts_gzip(req->accept_encoding);
	const char *etag = gz ? a->etag_gz : a->etag;
	int err = rest_add_header(out, "Cache-Control", "no-cache") ||
	          rest_add_header(out, "ETag", etag) ||
	          rest_add_header(out, "X-Content-Type-Options", "nosniff") ||
	          (a->gz && rest_add_header(out, "Vary", "Accept-Encoding"));
	/* the other representation's tag still names the same content */
	if (etag_matches(req->if_none_match, a->etag) ||
	    (a->etag_gz && etag_matches(req->if_none_match, a->etag_gz))) {
		/* no body; Content-Length still says what a 200 would carry */
		out->status = 304;
		out->content_type = NULL;
		out->len = gz ? a->gz_len : a->len;
	} else {
		out->status = 200;
		out->content_type = a->content_type;
		out->body = (char *)(gz ? a->gz : a->data);
		out->len = gz ? a->gz_len : a->len;
		out->body_static = 1;
		if (gz)
			err = err || rest_add_header(out, "Content-Encoding", "gzip");
	}
	if (err) {
		rest_response_free(out);
		rest_reply_error(out, 500, "out of memory answering a web UI request");
	}
}

static int has_ext(const char *path)
{
	const char *slash = strrchr(path, '/');
	return strchr(slash ? slash : path, '.') != NULL;
}

int ui_serve(const struct ui_request *req, struct rest_response *out)
{
	const char *path = req->path;
	int ui_tree = !strcmp(path, "/") || !strcmp(path, "/ui") || !strncmp(path, "/ui/", 4);
	const struct ui_asset *a = NULL;
	char msg[700];

	if (!ui_tree) {
		/* a top-level file of the UI (/app.js, /favicon.svg), else not ours */
		if (!strncmp(path, "/api", 4) || !strncmp(path, "/ws/", 4) ||
		    !(a = ui_asset_find(path)))
			return 0;
	}
	memset(out, 0, sizeof(*out));
	int get = req->method && (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));
	if (!get) {
		snprintf(msg, sizeof(msg), "method %s not allowed on %.500s (use GET or HEAD)",
		         req->method ? req->method : "?", path);
		rest_reply_error(out, 405, "%s", msg);
		return 1;
	}
	if (!ui_assets_count) {
		snprintf(msg, sizeof(msg),
		         "this binary was built without the web UI (make UI=0); rebuild with make "
		         "(the REST API is under /api)");
		rest_reply_error(out, 404, "%s", msg);
		return 1;
	}
	if (!strcmp(path, "/ui")) {
		out->status = 301;
		out->content_type = "text/plain; charset=UTF-8";
		out->body = strdup("moved to /ui/\n");
		out->len = out->body ? strlen(out->body) : 0;
		if (rest_add_header(out, "Location", "/ui/")) {
			rest_response_free(out);
			rest_reply_error(out, 500, "out of memory answering a web UI request");
		}
		return 1;
	}
	if (!a) {
		const char *rel = !strcmp(path, "/") ? "/" : path + 3; /* "/ui/x" -> "/x" */
		if (!strcmp(rel, "/"))
			rel = "/index.html";
		a = ui_asset_find(rel);
		if (!a && !has_ext(rel))
			a = ui_asset_find("/index.html"); /* a client-side route */
		if (!a) {
			/* a nested client route asking for a file by a relative name */
			const char *base = strrchr(rel, '/');
			a = base && base != rel ? ui_asset_find(base) : NULL;
		}
		if (!a) {
			snprintf(msg, sizeof(msg), "no such file in the web UI: %.500s", path);
			rest_reply_error(out, 404, "%s", msg);
			return 1;
		}
	}
	serve_asset(req, a, out);
	return 1;
}
