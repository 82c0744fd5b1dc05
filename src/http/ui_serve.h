/* ui_serve.h - the analyzer's routes of the embedded web UI (ui_assets.h).
 *
 *   GET/HEAD /, /index.html, /ui/, /ui/index.html   index.html
 *   /ui                                             301 to /ui/
 *   /ui/<file>, /<file>                             that file (app.js, app.css, favicon.svg)
 *   /ui/<route> (last segment without a '.')        index.html (client-side routes:
 *                                                   /ui/topology, /ui/status, /ui/login)
 * index.html and every file: Cache-Control: no-cache and a strong ETag
 * (If-None-Match answers 304); the gzip'd copy with Content-Encoding: gzip when
 * Accept-Encoding allows it. Built with make UI=0: / and /ui/... answer 404
 * saying so. /api/... and /ws/... are never UI routes. */
#ifndef SKYDIVE_UI_SERVE_H
#define SKYDIVE_UI_SERVE_H

#include "http/rest_reply.h"

struct ui_request {
	const char *method;
	const char *path;            /* without the query string */
	const char *accept_encoding; /* or NULL */
	const char *if_none_match;   /* or NULL */
};

/* 1 when req is a UI route (out filled; its body may be static, see
 * rest_response.body_static), 0 when not (out untouched). */
int ui_serve(const struct ui_request *req, struct rest_response *out);

#endif
