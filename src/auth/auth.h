/* auth.h - authentication of the analyzer's (and agent's) HTTP and WebSocket
 * requests, as Skydive configured it (config/auth.go, graffiti/http/auth.go, basic.go,
 * noauth.go), and the authorization of each request through the RBAC policy (rbac.h).
 *
 * Configuration (SERVICE is "analyzer" or "agent"):
 *   auth.<name>.type       basic | noauth ("noauth" and "basic" name themselves, as in
 *                          Skydive's defaults auth.noauth.type / auth.basic.type)
 *   auth.<name>.file       htpasswd file (bcrypt or SHA-crypt hashes, htpasswd.h)
 *   auth.<name>.users      inline {user: password or hash} (Skydive's)
 *   auth.<name>.role       role of a user no policy g line names (default admin, as
 *                          Skydive's DefaultUserRole)
 *   SERVICE.auth.api.backend      backend of REST, /ws/subscriber, /ws/publisher,
 *                                 /ws/pubsub and POST /login
 *   analyzer.auth.cluster.backend backend of /ws/agent/topology and /ws/agent/flow
 *                                 (default: the API backend); its users without a g line
 *                                 get admin, as Skydive's analyzer/server.go sets
 *   SERVICE.auth.token_ttl        seconds a /login token lives (default 86400)
 *   SERVICE.auth.max_tokens       live tokens kept (default 10000; more evict the oldest);
 *                                 the analyzer keeps them in <analyzer.data_dir>/tokens.json
 *   SERVICE.auth.throttle.failures / .delay / .max_delay   failed password checks per
 *                                 address before backoff (5), first block (1 s), cap (300 s)
 *   SERVICE.auth.api.tls_client_identity  (default false) a verified TLS client
 *                                 certificate is a user: its commonName (else its first
 *                                 email/DNS subjectAltName), with the roles of the
 *                                 policy's g lines only (no default role), on every path,
 *                                 cluster ones included; credentials sent with it win
 *   rbac.policy_file, rbac.policy the policy (rbac.h)
 * No api backend configured: noauth when the server listens on loopback only; any
 * other address makes auth_new fail, naming the keys, unless noauth is set explicitly
 * (then a warning is logged).
 *
 * Credentials of a request, first found wins: Authorization "Bearer <token>" or
 * "Basic <base64 user:password>", the X-Auth-Token header, the x-auth-token URL
 * argument (browsers' WebSockets), the authtoken cookie (Skydive's name).
 *
 * Ownership: an auth is created once, read by the server's loop thread; its token store
 * and throttle lock themselves. Every refusal is counted (auth_status_json, "Auth" in
 * /api/status) and logged with the peer address. */
#ifndef SKYDIVE_AUTH_H
#define SKYDIVE_AUTH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/token.h"
#include "config/config.h"

struct auth;

/* The authenticated caller of one request. */
struct auth_identity {
	char user[128];
	char role[32];    /* the default role it got ("" when the policy names the user) */
	char backend[64]; /* the backend that checked it ("tls-client-certificate" for a
	                   * certificate identity) */
	int noauth;       /* no authentication configured: every request allowed */
};

/* What a request carries. Any field may be NULL. */
struct auth_creds {
	const char *authorization; /* Authorization header */
	const char *x_auth_token;  /* X-Auth-Token header, else the x-auth-token URL arg */
	const char *cookie;        /* Cookie header */
	const char *peer;          /* the client's address, for logs and the throttle */
	const char *cert_user;     /* the user its verified TLS client certificate names
	                            * (tls_server_peer_user), NULL none */
};

/* The answer: status 0 go on, else 401/403/429 with msg (JSON {"Error": msg}) and,
 * for 429, retry_after_s. */
struct auth_verdict {
	int status;
	char msg[400];
	int64_t retry_after_s;
	struct auth_identity id;
};

/* service "analyzer" or "agent"; loopback_only: the listen address is a loopback one.
 * NULL with err filled (unknown backend, unreadable htpasswd file, bad policy, a
 * non-loopback address without a backend ...). */
struct auth *auth_new(const struct config *cfg, const char *service, int loopback_only,
                      const char *listen, char *err, size_t errlen);
void auth_free(struct auth *a); /* NULL is fine */

/* Makes the /login tokens survive a restart: loads <data_dir>/tokens.json (token.h:
 * only SHA-256 digests, never token text; a revoked token is not in it) and saves it
 * after every login and logout. Tokens whose user is no longer in its backend's user
 * table, or whose backend is gone, are dropped at load. Nothing to do with a noauth API
 * backend (no tokens). 0; a data_dir that cannot be made only logs a warning (tokens
 * then live in memory); -EPERM with err when the file may not be trusted (a link, not
 * the analyzer's, writable by others): the analyzer refuses to start. */
int auth_persist_tokens(struct auth *a, const char *data_dir, int64_t now_ms, char *err,
                        size_t errlen);

/* Whether listen ("HOST:PORT", resolved IP) is a loopback address. */
int auth_addr_is_loopback(const char *ip);

/* Whether method + path needs no credentials: OPTIONS pre-flights, /login, /logout,
 * and every path outside /api and /ws/ (the web UI's static files). */
int auth_path_is_public(const char *method, const char *path);

/* One HTTP request: authentication (unless public), then the permissions
 * rbac_request_needs names. Fills v; returns v->status. */
int auth_check_http(struct auth *a, const char *method, const char *path, const char *accept,
                    const struct auth_creds *c, int64_t now_ms, struct auth_verdict *v);
/* A WebSocket handshake on path: the cluster backend for /ws/agent/..., the API one
 * elsewhere, then websocket/<path>. */
int auth_check_ws(struct auth *a, const char *path, const struct auth_creds *c, int64_t now_ms,
                  struct auth_verdict *v);
/* Whether id may do action on object (the Gremlin RawPackets()/BPF() hook). */
int auth_allowed(const struct auth *a, const struct auth_identity *id, const char *object,
                 const char *action);

/* POST /login: checks user/password with the API backend (throttled per peer). On
 * success v->status is 0 and token gets a new token ("" with noauth: no token, as
 * Skydive). */
int auth_login(struct auth *a, const char *user, const char *password, const char *peer,
               int64_t now_ms, struct auth_verdict *v, char *token, size_t tokenlen);
/* POST /logout: revokes the token c carries. 1 revoked, 0 none was live, -1 no token. */
int auth_logout(struct auth *a, const struct auth_creds *c);
/* Skydive's Permissions list of id ([{"Object","Action","Allowed"}]); new reference. */
json_t *auth_permissions(const struct auth *a, const struct auth_identity *id);

/* "basic", "noauth" (the API backend's type) */
const char *auth_api_type(const struct auth *a);
/* {"APIBackend","ClusterBackend","Unauthenticated","Forbidden","Throttled",
 *  "PasswordFailures","Logins","Tokens":{...},"ThrottledAddresses"}; new reference. */
json_t *auth_status_json(struct auth *a, int64_t now_ms);
/* The same counters typed (/metrics, src/analyzer/metrics.c). */
struct auth_stats {
	uint64_t unauthenticated, forbidden, throttled, password_failures, logins, login_failures;
	struct token_stats tokens;
	struct throttle_stats throttle;
};
void auth_stats(struct auth *a, int64_t now_ms, struct auth_stats *out);

/* Splits "Basic <b64>" into user/pass; 0 or -1 (not Basic, bad base64, no ':'). */
int auth_parse_basic(const char *authorization, char *user, size_t userlen, char *pass,
                     size_t passlen);
/* The value of cookie name in a Cookie header into buf; 1 found, 0 not. */
int auth_cookie_value(const char *cookie, const char *name, char *buf, size_t buflen);

#define AUTH_COOKIE "authtoken" /* Skydive's tokenName, graffiti/http/auth.go */

#endif
