/* login.h - POST /login, as Skydive's api/server serveLogin answers it
 * (graffiti/api/server/server.go, graffiti/http/auth.go Authenticate), and POST
 * /logout (ours: Skydive had no way to revoke a token).
 *
 * The user and password are checked by the API auth backend (auth.h). The answer:
 *   200 {"Token": "<64 hex digits>", "Permissions": [{"Object","Action","Allowed"}...]}
 *   Set-Cookie: authtoken=<token>; Path=/; HttpOnly; SameSite=Strict (+ Secure on
 *   HTTPS), Skydive's cookie name; Set-Cookie: permissions=<base64 of the
 *   Permissions JSON>; Path=/; and when the request has an allowed Origin:
 *   Access-Control-Allow-Origin: <that origin>, Access-Control-Allow-Credentials.
 * With noauth every username/password is accepted, the user is admin, Token is ""
 * and no authtoken cookie is set (Skydive's noauth.go). Permissions are the
 * policy's for the user (rbac.h; the backend's default role when no g line names
 * it). Errors: wrong credentials 401 {"Error":"Wrong credentials"}; too many
 * failures from the address 429 with Retry-After; no username or password field
 * 401 (Skydive: "No credentials provided"); a body that is not
 * application/x-www-form-urlencoded or not well formed 400 with the reason.
 * Another method than POST: 302 to /, as Skydive. */
#ifndef SKYDIVE_LOGIN_H
#define SKYDIVE_LOGIN_H

#include <stddef.h>

#include "http/rest_reply.h"
#include "auth/auth.h"

struct login_request {
	const char *method;
	const char *content_type; /* or NULL */
	const char *origin;       /* the Origin header when CORS allows it, else NULL */
	const char *body;         /* may be NULL */
	size_t body_len;
	struct auth *auth;        /* the server's; NULL = noauth */
	const char *peer;         /* the client's address (logs, throttle) */
	int secure;               /* HTTPS: the cookie gets Secure */
};

void login_handle(const struct login_request *req, struct rest_response *out);

/* POST /logout: revokes the token the request carries (Bearer, X-Auth-Token,
 * x-auth-token, authtoken cookie) and clears the cookie. 200 {"Revoked": true|false};
 * no token: 400; another method: 405. */
void logout_handle(struct auth *auth, const char *method, const struct auth_creds *c,
                   int secure, struct rest_response *out);

/* The value of field name in an application/x-www-form-urlencoded body,
 * decoded, into buf. 1 found, 0 absent, -1 malformed (err says where) or
 * too long for buf. */
int login_form_value(const char *body, size_t len, const char *name, char *buf, size_t buflen,
                     char *err, size_t errlen);

#endif
