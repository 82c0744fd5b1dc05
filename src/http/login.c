/* login.c - POST /login and POST /logout over the auth backends (see login.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http/login.h"
#include "auth/rbac.h"
#include "common/base64.h"
#include "common/log.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes [s, s+n) (+ is a space, %XX a byte) into buf (NULL: only checks);
 * -1 malformed or too long, err says why (base: offset of s in the body). */
static int form_decode(const char *s, size_t n, char *buf, size_t buflen, size_t base, char *err,
                       size_t errlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				snprintf(err, errlen,
				         "bad %%-escape at offset %zu of the form body", base + i);
				return -1;
			}
			c = hi * 16 + lo;
			i += 2;
		}
		if (!buf)
			continue;
		if (o + 1 >= buflen) {
			snprintf(err, errlen, "form field longer than %zu bytes", buflen - 1);
			return -1;
		}
		buf[o++] = (char)c;
	}
	if (buf)
		buf[o] = 0;
	return 0;
}

int login_form_value(const char *body, size_t len, const char *name, char *buf, size_t buflen,
                     char *err, size_t errlen)
{
	if (form_decode(body, len, NULL, 0, 0, err, errlen))
		return -1;
	size_t nlen = strlen(name);
	char key[64];
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && body[j] != '&')
			j++;
		const char *eq = memchr(body + i, '=', j - i);
		size_t klen = eq ? (size_t)(eq - (body + i)) : j - i;
		/* the first occurrence wins, as Go's r.Form[name][0] */
		if (klen && klen < sizeof(key) &&
		    !form_decode(body + i, klen, key, sizeof(key), i, err, errlen) &&
		    strlen(key) == nlen && !strcmp(key, name)) {
			const char *v = eq ? eq + 1 : body + j;
			return form_decode(v, (size_t)(body + j - v), buf, buflen,
			                   (size_t)(v - body), err, errlen)
			           ? -1
			           : 1;
		}
		i = j + 1;
	}
	return 0;
}

void login_handle(const struct login_request *req, struct rest_response *out)
{
	if (!req->method || strcmp(req->method, "POST")) {
		/* Skydive: anything but POST is sent to the UI */
		out->status = 302;
		out->content_type = "text/plain; charset=UTF-8";
		out->body = strdup("POST /login with username and password\n");
		out->len = out->body ? strlen(out->body) : 0;
		if (rest_add_header(out, "Location", "/"))
			log_error("api: out of memory answering /login");
		return;
	}
	const char *ct = req->content_type;
	const char *form = "application/x-www-form-urlencoded";
	if (req->body_len && (!ct || strncasecmp(ct, form, strlen(form)) ||
	                      (ct[strlen(form)] && ct[strlen(form)] != ';' &&
	                       !isspace((unsigned char)ct[strlen(form)])))) {
		char msg[300];
		snprintf(msg, sizeof(msg),
		         "POST /login wants a form body (Content-Type: %s, "
		         "username=...&password=...), not %.100s",
		         form, ct && *ct ? ct : "a body without Content-Type");
		rest_reply_error(out, 400, "%s", msg);
		return;
	}
	char user[256], pass[256], err[200] = "";
	int u = login_form_value(req->body, req->body_len, "username", user, sizeof(user), err,
	                         sizeof(err));
	int p = u < 0 ? -1
	              : login_form_value(req->body, req->body_len, "password", pass, sizeof(pass),
	                                 err, sizeof(err));
	if (u < 0 || p < 0) {
		char msg[300];
		snprintf(msg, sizeof(msg), "invalid /login form: %s", err);
		rest_reply_error(out, 400, "%s", msg);
		return;
	}
	if (!u || !p) {
		rest_reply_error(out, 401,
		                 "No credentials provided (form fields username and password, "
		                 "Content-Type: application/x-www-form-urlencoded)");
		return;
	}

	struct auth_verdict v;
	char token[80] = "";
	if (req->auth) {
		auth_login(req->auth, user, pass, req->peer, rest_now_ms(), &v, token, sizeof(token));
	} else { /* no auth state (unit tests): noauth, admin */
		memset(&v, 0, sizeof(v));
		snprintf(v.id.user, sizeof(v.id.user), "%.127s", user);
		snprintf(v.id.role, sizeof(v.id.role), "admin");
		v.id.noauth = 1;
	}
	explicit_bzero(pass, sizeof(pass));
	if (v.status) {
		rest_reply_error(out, v.status, "%s", v.msg);
		char ra[24];
		snprintf(ra, sizeof(ra), "%lld", (long long)v.retry_after_s);
		if (v.status == 429 && rest_add_header(out, "Retry-After", ra))
			log_error("api: out of memory answering /login");
		return;
	}
	json_t *perms;
	if (req->auth) {
		perms = auth_permissions(req->auth, &v.id);
	} else {
		struct rbac *r = rbac_new_default();
		const char *roles[1] = {"admin"};
		perms = r ? rbac_permissions_json(r, user, roles, 1) : NULL;
		rbac_free(r);
	}
	char *pj = perms ? json_dumps(perms, JSON_COMPACT) : NULL;
	json_t *ans = perms ? json_pack("{s:s, s:O}", "Token", token, "Permissions", perms) : NULL;
	json_decref(perms);
	char *b64 = pj ? base64_encode_alloc(pj, strlen(pj), NULL) : NULL;
	char *cookie = b64 ? malloc(strlen(b64) + 32) : NULL;
	if (cookie)
		sprintf(cookie, "permissions=%s; Path=/", b64);
	char tcookie[200];
	/* HttpOnly: page scripts never see it (the answer's Token is for API clients);
	 * SameSite=Strict: another site's page cannot make the browser send it */
	snprintf(tcookie, sizeof(tcookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s",
	         AUTH_COOKIE, token, req->secure ? "; Secure" : "");
	free(pj);
	free(b64);
	rest_reply_json(out, 200, ans); /* a 500 when ans is NULL, refused below */
	if (out->status != 200 || !cookie || (token[0] && rest_add_header(out, "Set-Cookie", tcookie)) ||
	    rest_add_header(out, "Set-Cookie", cookie) ||
	    (req->origin && *req->origin &&
	     (rest_add_header(out, "Access-Control-Allow-Origin", req->origin) ||
	      rest_add_header(out, "Access-Control-Allow-Credentials", "true")))) {
		free(cookie);
		rest_response_free(out);
		rest_reply_error(out, 500, "out of memory answering /login");
		return;
	}
	free(cookie);
	if (!req->auth || v.id.noauth)
		log_info("api: user %.100s logged in with the noauth backend (admin)", v.id.user);
}

void logout_handle(struct auth *auth, const char *method, const struct auth_creds *c,
                   int secure, struct rest_response *out)
{
	if (!method || strcmp(method, "POST")) {
		rest_reply_error(out, 405, "method %s not allowed on /logout (use POST)",
		                 method ? method : "?");
		return;
	}
	int rc = auth ? auth_logout(auth, c) : -1;
	if (rc < 0) {
		rest_reply_error(out, 400,
		                 "no token to revoke: send the Token of POST /login as Authorization: "
		                 "Bearer, X-Auth-Token or the %s cookie",
		                 AUTH_COOKIE);
		return;
	}
	rest_reply_json(out, 200, json_pack("{s:b}", "Revoked", rc));
	char clear[120];
	snprintf(clear, sizeof(clear), "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
	         AUTH_COOKIE, secure ? "; Secure" : "");
	if (rest_add_header(out, "Set-Cookie", clear))
		log_error("api: out of memory answering /logout");
	if (rc)
		log_info("auth: token revoked by POST /logout from %s", c->peer ? c->peer : "?");
}
