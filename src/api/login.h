/* login.h - POST /login, as Skydive's api/server serveLogin answers it
 * (graffiti/api/server/server.go, graffiti/http/auth.go Authenticate).
 *
 * Only the "noauth" backend for now (graffiti/http/noauth.go): every
 * username/password is accepted, the user gets Skydive's default role
 * "admin" and its permissions (rbac/policy.csv). The answer:
 *   200 {"Token": "", "Permissions": [{"Object","Action","Allowed"}...]}
 *   Set-Cookie: permissions=<base64 of the Permissions JSON>; Path=/
 *   (no authtoken cookie: noauth has no token), and when the request has an
 *   allowed Origin: Access-Control-Allow-Origin: <that origin> and
 *   Access-Control-Allow-Credentials: true.
 * No username or password field: 401 (Skydive: "No credentials provided");
 * a body that is not application/x-www-form-urlencoded or not well formed:
 * 400 with the reason. Another method than POST: 302 to /, as Skydive.
 * The authentication issue replaces the backend behind login_handle(). */
#ifndef SKYDIVE_LOGIN_H
#define SKYDIVE_LOGIN_H

#include <stddef.h>

#include "api/rest.h"

struct login_request {
	const char *method;
	const char *content_type; /* or NULL */
	const char *origin;       /* the Origin header when CORS allows it, else NULL */
	const char *body;         /* may be NULL */
	size_t body_len;
};

void login_handle(const struct login_request *req, struct rest_response *out);

/* The value of field name in an application/x-www-form-urlencoded body,
 * decoded, into buf. 1 found, 0 absent, -1 malformed (err says where) or
 * too long for buf. */
int login_form_value(const char *body, size_t len, const char *name, char *buf, size_t buflen,
                     char *err, size_t errlen);

#endif
