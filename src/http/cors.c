/* cors.c - CORS headers and OPTIONS pre-flight answers, the behaviour of the
 * gorilla/handlers CORS middleware with the options Skydive's
 * graffiti/http/server.go gives it (see cors.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/cors.h"


struct cors {
	char **origins;
	size_t n;
	int any; /* "*" is among them */
};

/* Skydive's AllowedMethods; GET, HEAD and POST need no Allow-Methods answer. */
static const char *const allowed_methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"};
static const char *const simple_methods[] = {"GET", "HEAD", "POST"};
/* gorilla's defaults (always allowed, never echoed) then Skydive's AllowedHeaders. */
static const char *const default_headers[] = {"Accept", "Accept-Language", "Content-Language",
                                              "Origin"};
static const char *const allowed_headers[] = {"X-Requested-With", "Content-Type", "Authorization",
                                              "X-Auth-Token"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

struct cors *cors_new(const struct config *cfg)
{
	struct cors *c = calloc(1, sizeof(*c));
	/* Default: no other origin (same-origin only). Skydive answered "*", which let any
	 * web page a user opened drive the API (issue 9); its published UIs served from
	 * elsewhere need their origin listed (docs/API.md "Web UI, CORS, login"). */
	json_t *l = cfg ? config_get_list(cfg, "http.cors.allowed_origins", "") : json_array();
	if (!c || !l)
		goto oom;
	size_t n = json_array_size(l);
	c->origins = calloc(n ? n : 1, sizeof(*c->origins));
	if (!c->origins)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const char *o = json_string_value(json_array_get(l, i));
		if (!o || !*o)
			continue;
		if (!(c->origins[c->n] = strdup(o)))
			goto oom;
		if (!strcmp(o, "*"))
			c->any = 1;
		c->n++;
	}
	json_decref(l);
	return c;
oom:
	json_decref(l);
	cors_free(c);
	return NULL;
}

void cors_free(struct cors *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->origins[i]);
	free(c->origins);
	free(c);
}

int cors_origin_allowed(const struct cors *c, const char *origin)
{
	if (!c || !origin || !*origin)
		return 0;
	if (c->any)
		return 1;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->origins[i], origin))
			return 1;
	return 0;
}

/* "host[:port]" of an Origin, default port made explicit when the Host has one. */
static int origin_matches_host(const char *origin, const char *host)
{
	const char *sep = strstr(origin, "://");
	if (!sep || !host || !*host)
		return 0;
	const char *oh = sep + 3;
	size_t ol = strcspn(oh, "/");
	if (strlen(host) == ol && !strncasecmp(oh, host, ol))
		return 1;
	/* http://h vs Host h:80, https://h vs h:443 */
	const char *def = !strncasecmp(origin, "https://", 8) ? "443" : "80";
	const char *colon = strrchr(host, ':');
	return colon && !memchr(oh, ']', ol) && !memchr(oh, ':', ol) &&
	       (size_t)(colon - host) == ol && !strncasecmp(oh, host, ol) && !strcmp(colon + 1, def);
}

int cors_request_allowed(const struct cors *c, const char *origin, const char *host)
{
	if (!origin || !*origin)
		return 1; /* not sent by a browser on a same-origin GET, nor by our clients */
	/* Browsers send scheme://host[:port] or "null"; anything else comes from a
	 * program that could send any header anyway (agents send their address). */
	if (strcmp(origin, "null") && !strstr(origin, "://"))
		return 1;
	return origin_matches_host(origin, host) || cors_origin_allowed(c, origin);
}

/* Go's http.CanonicalHeaderKey for a plain token: "x-auth-token" -> "X-Auth-Token". */
static void canonical(char *s)
{
	int up = 1;
	for (; *s; s++) {
		*s = (char)(up ? toupper((unsigned char)*s) : tolower((unsigned char)*s));
		up = *s == '-';
	}
}

/* A header line named name is already in out->headers. */
static int has_header(const struct rest_response *out, const char *name)
{
	size_t n = strlen(name);
	for (const char *l = out->headers; l && *l;) {
		if (!strncasecmp(l, name, n) && l[n] == ':')
			return 1;
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	return 0;
}

static int add_origin(const struct cors *c, const char *origin, struct rest_response *out)
{
	if (c->n > 1 && rest_add_header(out, "Vary", "Origin"))
		return -1;
	/* a route that answered with its own (POST /login) keeps it */
	if (has_header(out, "Access-Control-Allow-Origin"))
		return 0;
	return rest_add_header(out, "Access-Control-Allow-Origin", c->any ? "*" : origin);
}

static int preflight_error(struct rest_response *out, int status, const char *msg)
{
	rest_reply_error(out, status, "%s", msg);
	return 1;
}

int cors_apply(const struct cors *c, const struct cors_request *req, struct rest_response *out)
{
	int options = req->method && !strcmp(req->method, "OPTIONS");
	if (!cors_origin_allowed(c, req->origin)) {
		if (!options)
			return 0;
		out->status = 200; /* gorilla answers it, empty, without calling the route */
		return 1;
	}
	if (!options)
		return add_origin(c, req->origin, out) ? -1 : 0;

	char msg[400];
	if (!req->req_method)
		return preflight_error(out, 400,
		                       "CORS pre-flight without Access-Control-Request-Method");
	if (!in_list(req->req_method, allowed_methods, N(allowed_methods))) {
		snprintf(msg, sizeof(msg),
		         "CORS pre-flight: method %.40s not allowed (GET, HEAD, POST, PUT, DELETE, "
		         "OPTIONS)",
		         req->req_method);
		return preflight_error(out, 405, msg);
	}
	/* The requested headers, canonical, comma separated, the always allowed left out. */
	char echo[512] = "", name[128];
	size_t elen = 0;
	for (const char *s = req->req_headers ? req->req_headers : ""; *s;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		const char *b = s, *e = s + n;
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		s = comma ? comma + 1 : s + n;
		if (b == e)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(e - b), b);
		canonical(name);
		if (in_list(name, default_headers, N(default_headers)))
			continue;
		if (!in_list(name, allowed_headers, N(allowed_headers))) {
			snprintf(msg, sizeof(msg),
			         "CORS pre-flight: header %.60s not allowed (X-Requested-With, "
			         "Content-Type, Authorization, X-Auth-Token)",
			         name);
			return preflight_error(out, 403, msg);
		}
		int w = snprintf(echo + elen, sizeof(echo) - elen, "%s%s", elen ? "," : "", name);
		if (w > 0 && (size_t)w < sizeof(echo) - elen)
			elen += (size_t)w;
	}
	out->status = 200;
	if ((elen && rest_add_header(out, "Access-Control-Allow-Headers", echo)) ||
	    (!in_list(req->req_method, simple_methods, N(simple_methods)) &&
	     rest_add_header(out, "Access-Control-Allow-Methods", req->req_method)) ||
	    add_origin(c, req->origin, out))
		return -1;
	return 1;
}
