/* auth.c - authentication backends and the per-request checks (see auth.h). */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "auth/htpasswd.h"
#include "auth/rbac.h"
#include "auth/token.h"
#include "common/base64.h"
#include "common/log.h"
#include "common/util.h"

struct backend {
	char name[64];
	int basic;           /* 0: noauth */
	struct htpasswd *pw; /* basic */
	char role[32];       /* auth.<name>.role */
};

struct auth {
	char service[16];
	struct backend api, cluster;
	struct rbac *rbac;
	struct token_store *tokens;
	struct throttle *thr;
	int cert_identity; /* SERVICE.auth.api.tls_client_identity */
	atomic_uint_fast64_t unauthenticated, forbidden, throttled, logins, login_failures,
	    password_failures;
};

/* A user name as it may appear in a log line or an error: printable, bounded. */
static void printable(char *out, size_t len, const char *s)
{
	size_t o = 0;
	for (; s && *s && o + 1 < len; s++)
		out[o++] = isprint((unsigned char)*s) ? *s : '?';
	out[o] = 0;
}

static int load_backend(const struct config *cfg, const char *name, const char *from,
                        struct backend *b, char *err, size_t errlen)
{
	char key[200];
	memset(b, 0, sizeof(*b));
	if (strlen(name) >= sizeof(b->name) || strchr(name, '.')) {
		snprintf(err, errlen, "%s: invalid backend name '%.64s'", from, name);
		return -1;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(key, sizeof(key), "auth.%s.type", name);
	/* Skydive's defaults auth.noauth.type: noauth and auth.basic.type: basic */
	const char *type = config_get_string(
	    cfg, key, !strcmp(name, "noauth") ? "noauth" : !strcmp(name, "basic") ? "basic" : NULL);
	if (!type || !*type) {
		snprintf(err, errlen,
		         "%s names the auth backend '%s', which is not defined: set auth.%s.type "
		         "(basic or noauth)",
		         from, name, name);
		return -1;
	}
	if (!strcmp(type, "noauth"))
		return 0;
	if (strcmp(type, "basic")) {
		/* keystone: Skydive's OpenStack backend. Refused, not ignored, so nobody runs
		 * believing a keystone server checks the users (docs/SECURITY.md) */
		snprintf(err, errlen, "%s: unsupported type '%.40s' (basic or noauth)%s", key, type,
		         !strcmp(type, "keystone")
		             ? ": keystone is not implemented (no keystone server to test against); "
		               "use basic with an htpasswd file, or TLS client certificates "
		               "(analyzer.auth.api.tls_client_identity)"
		             : "");
		return -1;
	}
	b->basic = 1;
	snprintf(key, sizeof(key), "auth.%s.role", name);
	snprintf(b->role, sizeof(b->role), "%s", config_get_string(cfg, key, "admin"));
	snprintf(key, sizeof(key), "auth.%s.file", name);
	const char *file = config_get_string(cfg, key, NULL);
	snprintf(key, sizeof(key), "auth.%s.users", name);
	const json_t *users = config_get_json(cfg, key);
	char e2[512];
	if (file && *file)
		b->pw = htpasswd_load(file, e2, sizeof(e2));
	else if (users && json_object_size(users))
		b->pw = htpasswd_from_map(users, key, e2, sizeof(e2));
	else
		snprintf(e2, sizeof(e2),
		         "the basic backend '%s' needs auth.%s.file (an htpasswd file) or "
		         "auth.%s.users",
		         name, name, name);
	if (!b->pw) {
		snprintf(err, errlen, "%s", e2);
		return -1;
	}
	if (!htpasswd_count(b->pw))
		log_warn("auth: backend '%s' has no users: every login will fail", name);
	return 0;
}

int auth_addr_is_loopback(const char *ip)
{
	if (!ip || !*ip)
		return 0; /* every address */
	return !strncmp(ip, "127.", 4) || !strcmp(ip, "::1") || !strncmp(ip, "::ffff:127.", 11) ||
	       !strcasecmp(ip, "localhost");
}

struct auth *auth_new(const struct config *cfg, const char *service, int loopback_only,
                      const char *listen, char *err, size_t errlen)
{
	char key[64], ckey[64], env[80];
	struct auth *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(a->service, sizeof(a->service), "%s", service);
	snprintf(key, sizeof(key), "%s.auth.api.backend", service);
	config_env_name(key, env, sizeof(env));
	const char *api = config_get_string(cfg, key, NULL);
	if (!api || !*api) {
		if (!loopback_only) {
			snprintf(err, errlen,
			         "the %s listens on %s, beyond loopback, and no authentication is "
			         "configured: set %s to a basic backend (auth.<name>.type: basic, "
			         "auth.<name>.file: an htpasswd file), or to noauth to serve everyone "
			         "knowingly (%s=noauth)",
			         service, listen, key, env);
			goto fail;
		}
		api = "noauth";
	} else if (!strcmp(api, "noauth") && !loopback_only) {
		log_warn("auth: the %s listens on %s with %s: noauth: anyone who reaches it may use "
		         "it, captures and packets included",
		         service, listen, key);
	}
	if (load_backend(cfg, api, key, &a->api, err, errlen))
		goto fail;
	const char *cluster = NULL;
	if (!strcmp(service, "analyzer")) {
		snprintf(ckey, sizeof(ckey), "analyzer.auth.cluster.backend");
		cluster = config_get_string(cfg, ckey, NULL);
	}
	if (cluster && *cluster && strcmp(cluster, api)) {
		if (load_backend(cfg, cluster, ckey, &a->cluster, err, errlen))
			goto fail;
		if (!a->cluster.basic && !loopback_only)
			log_warn("auth: %s: noauth on %s: agents are not authenticated (anyone may "
			         "push topology and flows)",
			         ckey, listen);
	} else {
		/* the same backend: share its user table (cluster.pw is not freed) */
		a->cluster = a->api;
	}
	snprintf(key, sizeof(key), "%s.auth.api.tls_client_identity", service);
	a->cert_identity = config_get_bool(cfg, key, 0);
	if (a->cert_identity && !a->api.basic && !a->cluster.basic)
		log_warn("auth: %s is set but every backend is noauth: certificates name no one",
		         key);
	a->rbac = rbac_from_config(cfg, err, errlen);
	if (!a->rbac)
		goto fail;
	char k[96];
	snprintf(k, sizeof(k), "%s.auth.token_ttl", service);
	int64_t ttl = config_get_duration(cfg, k, 86400 * 1000) / 1000;
	snprintf(k, sizeof(k), "%s.auth.max_tokens", service);
	int64_t maxt = config_get_int(cfg, k, 10000);
	snprintf(k, sizeof(k), "%s.auth.throttle.failures", service);
	int64_t fails = config_get_int(cfg, k, 5);
	snprintf(k, sizeof(k), "%s.auth.throttle.delay", service);
	int64_t delay = config_get_duration(cfg, k, 1000) / 1000;
	snprintf(k, sizeof(k), "%s.auth.throttle.max_delay", service);
	int64_t maxd = config_get_duration(cfg, k, 300 * 1000) / 1000;
	if (ttl <= 0 || maxt <= 0 || maxt > 1000000 || fails < 0 || fails > 1000 || delay <= 0 ||
	    maxd <= 0 || delay > 86400 || maxd > 86400) {
		snprintf(err, errlen,
		         "%s.auth: token_ttl (> 0 s), max_tokens (1..1000000), throttle.failures "
		         "(0..1000), throttle.delay and throttle.max_delay (1..86400 s) out of range",
		         service);
		goto fail;
	}
	a->tokens = token_store_new(ttl * 1000, (size_t)maxt);
	a->thr = throttle_new((unsigned)fails, delay * 1000, maxd * 1000, 4096);
	if (!a->tokens || !a->thr) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	log_info("auth: %s API backend '%s' (%s)%s%s%s", service, a->api.name,
	         a->api.basic ? "basic" : "noauth", strcmp(service, "analyzer") ? "" : ", cluster '",
	         strcmp(service, "analyzer") ? "" : a->cluster.name,
	         strcmp(service, "analyzer") ? "" : "'");
	return a;
fail:
	auth_free(a);
	return NULL;
}

/* token_keep_fn: a loaded token stays while its backend has its user. */
static int token_user_exists(void *user, const struct token_info *who)
{
	const struct auth *a = user;
	const struct backend *bs[2] = {&a->api, &a->cluster};
	for (int i = 0; i < 2; i++)
		if (bs[i]->basic && !strcmp(bs[i]->name, who->backend))
			return htpasswd_has(bs[i]->pw, who->user);
	return 0;
}

int auth_persist_tokens(struct auth *a, const char *data_dir, int64_t now_ms, char *err,
                        size_t errlen)
{
	if (!a->api.basic)
		return 0;
	char path[4200];
	int rc = data_dir && *data_dir ? util_mkdir_p(data_dir) : -EINVAL;
	if (rc) {
		log_warn("auth: cannot make the data directory '%s' (%s): login tokens will not "
		         "survive a restart (set analyzer.data_dir)",
		         data_dir ? data_dir : "", strerror(-rc));
		return 0;
	}
	snprintf(path, sizeof(path), "%s/tokens.json", data_dir);
	size_t loaded, dropped;
	char e[600];
	rc = token_store_attach(a->tokens, path, now_ms, token_user_exists, a, &loaded, &dropped,
	                        e, sizeof(e));
	if (rc == -EPERM) {
		snprintf(err, errlen, "login tokens: %s", e);
		return rc;
	}
	if (rc) {
		log_warn("auth: login tokens will not survive a restart: %s", e);
		return 0;
	}
	log_info("auth: %zu login tokens kept from %s (%zu dropped: expired, or their user or "
	         "backend is gone)",
	         loaded, path, dropped);
	return 0;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	if (a->cluster.pw != a->api.pw)
		htpasswd_free(a->cluster.pw);
	htpasswd_free(a->api.pw);
	rbac_free(a->rbac);
	token_store_free(a->tokens);
	throttle_free(a->thr);
	free(a);
}

const char *auth_api_type(const struct auth *a)
{
	return a->api.basic ? "basic" : "noauth";
}

int auth_path_is_public(const char *method, const char *path)
{
	if (!method || !strcmp(method, "OPTIONS"))
		return 1;
	if (!path)
		return 0;
	size_t n = strcspn(path, "?");
	if ((n == 6 && !strncmp(path, "/login", 6)) || (n == 7 && !strncmp(path, "/logout", 7)))
		return 1;
	/* /metrics (Prometheus) is the API's counters: status/read (rbac_request_needs) */
	if (n == 8 && !strncmp(path, "/metrics", 8))
		return 0;
	/* the router: /api... is the API, /ws/... WebSockets, the rest the UI's files */
	return strncmp(path, "/api", 4) && strncmp(path, "/ws/", 4);
}

/* ---- credentials ----------------------------------------------------------- */

int auth_parse_basic(const char *authorization, char *user, size_t userlen, char *pass,
                     size_t passlen)
{
	if (!authorization || strncasecmp(authorization, "Basic ", 6))
		return -1;
	const char *s = authorization + 6;
	while (*s == ' ')
		s++;
	char buf[1024];
	long n = base64_decode((uint8_t *)buf, sizeof(buf) - 1, s, strcspn(s, " "), 0);
	if (n < 0) {
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	size_t o = (size_t)n;
	buf[o] = 0;
	char *colon = memchr(buf, ':', o);
	if (!colon || memchr(buf, 0, o) || (size_t)(colon - buf) >= userlen ||
	    strlen(colon + 1) >= passlen) {
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	*colon = 0;
	snprintf(user, userlen, "%s", buf);
	snprintf(pass, passlen, "%s", colon + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int auth_cookie_value(const char *cookie, const char *name, char *buf, size_t buflen)
{
	size_t n = strlen(name);
	for (const char *p = cookie; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > n && !strncmp(p, name, n) && p[n] == '=') {
			size_t vl = len - n - 1;
			if (vl >= buflen)
				return 0;
			memcpy(buf, p + n + 1, vl);
			buf[vl] = 0;
			return 1;
		}
		p += len;
	}
	return 0;
}

enum cred_kind { CRED_NONE, CRED_BASIC, CRED_TOKEN, CRED_BAD };

struct cred {
	enum cred_kind kind;
	char user[256], pass[256];
	char token[TOKEN_TEXT_LEN + 8];
};

static void take_token(struct cred *cr, const char *t)
{
	while (*t == ' ')
		t++;
	size_t n = strcspn(t, " ");
	if (n >= sizeof(cr->token)) {
		cr->kind = CRED_BAD; /* no token of ours is that long */
		return;
	}
	memcpy(cr->token, t, n);
	cr->token[n] = 0;
	cr->kind = CRED_TOKEN;
}

static void find_creds(const struct auth_creds *c, struct cred *cr)
{
	memset(cr, 0, sizeof(*cr));
	char ck[128];
	if (c->authorization && *c->authorization) {
		if (!strncasecmp(c->authorization, "Basic ", 6))
			cr->kind = auth_parse_basic(c->authorization, cr->user, sizeof(cr->user),
			                            cr->pass, sizeof(cr->pass))
			               ? CRED_BAD
			               : CRED_BASIC;
		else if (!strncasecmp(c->authorization, "Bearer ", 7))
			take_token(cr, c->authorization + 7);
		else /* Skydive's tokenFromRequest took a bare Authorization value as the token */
			take_token(cr, c->authorization);
	} else if (c->x_auth_token && *c->x_auth_token) {
		take_token(cr, c->x_auth_token);
	} else if (c->cookie && auth_cookie_value(c->cookie, AUTH_COOKIE, ck, sizeof(ck))) {
		take_token(cr, ck);
	}
}

static void deny(struct auth_verdict *v, int status, const char *fmt, const char *a1,
                 const char *a2)
{
	v->status = status;
	snprintf(v->msg, sizeof(v->msg), fmt, a1, a2);
}

/* Whether a policy line names user (then it gets exactly what the policy gives). */
static int policy_names(const struct auth *a, const char *user)
{
	json_t *p = rbac_permissions_json(a->rbac, user, NULL, 0);
	size_t i;
	json_t *e;
	int any = 0;
	json_array_foreach(p, i, e) any = any || json_is_true(json_object_get(e, "Allowed"));
	json_decref(p);
	return any;
}

static void set_identity(const struct auth *a, const struct backend *b, int cluster,
                         const char *user, struct auth_identity *id)
{
	memset(id, 0, sizeof(*id));
	snprintf(id->user, sizeof(id->user), "%.127s", user);
	snprintf(id->backend, sizeof(id->backend), "%s", b->name);
	/* Skydive: a user without roles gets the backend's default role (auth.go
	 * Authenticate); cluster users admin (analyzer/server.go) */
	if (!policy_names(a, user))
		snprintf(id->role, sizeof(id->role), "%s", cluster ? "admin" : b->role);
}

/* A password check with the throttle around it; 0 ok, else v filled. */
static int check_password(struct auth *a, const struct backend *b, const char *user,
                          const char *pass, const char *peer, int64_t now_ms, const char *what,
                          struct auth_verdict *v)
{
	char u[80];
	printable(u, sizeof(u), user);
	int64_t wait = throttle_wait_ms(a->thr, peer, now_ms);
	if (wait > 0) {
		throttle_count_refused(a->thr);
		atomic_fetch_add(&a->throttled, 1);
		v->status = 429;
		v->retry_after_s = (wait + 999) / 1000;
		snprintf(v->msg, sizeof(v->msg),
		         "too many failed logins from %s: retry in %lld s", peer ? peer : "?",
		         (long long)v->retry_after_s);
		log_debug("auth: %s from %s refused: blocked for %lld ms more", what,
		          peer ? peer : "?", (long long)wait);
		return v->status;
	}
	if (htpasswd_check(b->pw, user, pass)) {
		throttle_success(a->thr, peer);
		return 0;
	}
	atomic_fetch_add(&a->password_failures, 1);
	int64_t block = throttle_failure(a->thr, peer, now_ms);
	char blk[64] = "";
	if (block)
		snprintf(blk, sizeof(blk), "; %s blocked for %lld s", peer ? peer : "?",
		         (long long)((block + 999) / 1000));
	log_warn("auth: wrong credentials for user '%s' from %s (backend %s, %s)%s", u,
	         peer ? peer : "?", b->name, what, blk);
	v->status = 401;
	snprintf(v->msg, sizeof(v->msg), "Wrong credentials"); /* Skydive's words */
	return v->status;
}

/* Authenticates against b; 0 with v->id filled, else v filled. */
static int authenticate(struct auth *a, const struct backend *b, int cluster,
                        const struct auth_creds *c, int64_t now_ms, const char *what,
                        struct auth_verdict *v)
{
	struct cred cr;
	find_creds(c, &cr);
	if (!b->basic) {
		memset(&v->id, 0, sizeof(v->id));
		snprintf(v->id.user, sizeof(v->id.user), "%.127s",
		         cr.kind == CRED_BASIC ? cr.user : "anonymous");
		snprintf(v->id.role, sizeof(v->id.role), "admin");
		snprintf(v->id.backend, sizeof(v->id.backend), "%s", b->name);
		v->id.noauth = 1;
		explicit_bzero(&cr, sizeof(cr));
		return 0;
	}
	const char *peer = c->peer ? c->peer : "?";
	int rc = 0;
	struct token_info who;
	switch (cr.kind) {
	case CRED_NONE:
		if (a->cert_identity && c->cert_user && *c->cert_user) {
			/* the CA vouched for the name: roles from the policy's g lines only,
			 * so a certificate nobody gave a role to may do nothing */
			memset(&v->id, 0, sizeof(v->id));
			snprintf(v->id.user, sizeof(v->id.user), "%.127s", c->cert_user);
			snprintf(v->id.backend, sizeof(v->id.backend), "tls-client-certificate");
			char u[80];
			printable(u, sizeof(u), c->cert_user);
			log_debug("auth: %s from %s as %s (client certificate)", what, peer, u);
			break;
		}
		deny(v, 401,
		     "authentication required: send Authorization: Basic (user:password) or Bearer "
		     "<the Token of POST /login>, the %s cookie or the x-auth-token URL argument%s",
		     AUTH_COOKIE, "");
		log_info("auth: %s from %s without credentials refused", what, peer);
		rc = 401;
		break;
	case CRED_BAD:
		deny(v, 401, "malformed Authorization header (expected Basic <base64 user:password> "
		             "or Bearer <token>)%s%s", "", "");
		log_warn("auth: %s from %s: malformed credentials", what, peer);
		rc = 401;
		break;
	case CRED_TOKEN:
		if (!token_check(a->tokens, cr.token, now_ms, &who)) {
			deny(v, 401, "invalid, expired or revoked token: POST /login for a new one%s%s",
			     "", "");
			log_warn("auth: %s from %s with an invalid, expired or revoked token", what,
			         peer);
			rc = 401;
		} else if (strcmp(who.backend, b->name)) {
			deny(v, 401, "this token comes from the auth backend '%s'; %s needs another",
			     who.backend, what);
			log_warn("auth: %s from %s with a token of backend %s refused", what, peer,
			         who.backend);
			rc = 401;
		} else {
			set_identity(a, b, cluster, who.user, &v->id);
		}
		break;
	case CRED_BASIC:
		rc = check_password(a, b, cr.user, cr.pass, peer, now_ms, what, v);
		if (!rc)
			set_identity(a, b, cluster, cr.user, &v->id);
		break;
	}
	explicit_bzero(&cr, sizeof(cr));
	if (rc == 401)
		atomic_fetch_add(&a->unauthenticated, 1);
	return rc;
}

/* "roles operator, viewer" (or "role viewer", "no role") of id, for a 403 and the login
 * log line: the policy's g lines followed, so the reader sees why (rbac_roles_text). */
static void roles_phrase(const struct auth *a, const struct auth_identity *id, char *buf,
                         size_t len)
{
	const char *roles[1] = {id->role};
	char list[180], safe[180];
	int n = rbac_roles_text(a->rbac, id->user, roles, id->role[0] ? 1 : 0, list, sizeof(list));
	printable(safe, sizeof(safe), list);
	if (n < 0)
		snprintf(buf, len, "roles unknown: out of memory");
	else if (n == 0)
		snprintf(buf, len, "no role");
	else
		snprintf(buf, len, "%s %s", n == 1 ? "role" : "roles", safe);
}

static int authorize(struct auth *a, int n, const char *objects[2], const char *actions[2],
                     const char *peer, struct auth_verdict *v)
{
	for (int i = 0; i < n; i++) {
		if (auth_allowed(a, &v->id, objects[i], actions[i]))
			continue;
		char u[80], roles[200];
		printable(u, sizeof(u), v->id.user);
		roles_phrase(a, &v->id, roles, sizeof(roles));
		v->status = 403;
		if (!strcmp(objects[i], "websocket"))
			snprintf(v->msg, sizeof(v->msg), "user %s (%s) may not open %s", u, roles,
			         actions[i]);
		else
			snprintf(v->msg, sizeof(v->msg), "user %s (%s) may not %s %s", u, roles,
			         actions[i], objects[i]);
		atomic_fetch_add(&a->forbidden, 1);
		log_warn("auth: %s from %s", v->msg, peer ? peer : "?");
		return 403;
	}
	return 0;
}

int auth_allowed(const struct auth *a, const struct auth_identity *id, const char *object,
                 const char *action)
{
	if (!a || id->noauth)
		return 1;
	const char *roles[1] = {id->role};
	return rbac_allowed(a->rbac, id->user, roles, id->role[0] ? 1 : 0, object, action);
}

int auth_check_http(struct auth *a, const char *method, const char *path, const char *accept,
                    const struct auth_creds *c, int64_t now_ms, struct auth_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (auth_path_is_public(method, path))
		return 0;
	char what[300];
	snprintf(what, sizeof(what), "%s %.200s", method, path);
	if (authenticate(a, &a->api, 0, c, now_ms, what, v))
		return v->status;
	const char *objs[2], *acts[2];
	int n = rbac_request_needs(method, path, accept, objs, acts);
	return authorize(a, n, objs, acts, c->peer, v);
}

int auth_check_ws(struct auth *a, const char *path, const struct auth_creds *c, int64_t now_ms,
                  struct auth_verdict *v)
{
	memset(v, 0, sizeof(*v));
	int cluster = !strncmp(path, "/ws/agent/", 10) || !strcmp(path, "/ws/replication");
	char what[300];
	snprintf(what, sizeof(what), "WebSocket %.200s", path);
	if (authenticate(a, cluster ? &a->cluster : &a->api, cluster, c, now_ms, what, v))
		return v->status;
	const char *objs[2], *acts[2];
	int n = rbac_request_needs("GET", path, NULL, objs, acts);
	return authorize(a, n, objs, acts, c->peer, v);
}

int auth_login(struct auth *a, const char *user, const char *password, const char *peer,
               int64_t now_ms, struct auth_verdict *v, char *token, size_t tokenlen)
{
	memset(v, 0, sizeof(*v));
	if (tokenlen)
		token[0] = 0;
	char u[80];
	printable(u, sizeof(u), user);
	if (!a->api.basic) {
		snprintf(v->id.user, sizeof(v->id.user), "%s", user);
		snprintf(v->id.role, sizeof(v->id.role), "admin");
		snprintf(v->id.backend, sizeof(v->id.backend), "%s", a->api.name);
		v->id.noauth = 1;
		atomic_fetch_add(&a->logins, 1);
		return 0;
	}
	if (check_password(a, &a->api, user, password, peer, now_ms, "POST /login", v)) {
		atomic_fetch_add(&a->login_failures, 1);
		return v->status;
	}
	set_identity(a, &a->api, 0, user, &v->id);
	struct token_info who = {0};
	snprintf(who.user, sizeof(who.user), "%s", user);
	snprintf(who.role, sizeof(who.role), "%s", v->id.role);
	snprintf(who.backend, sizeof(who.backend), "%s", a->api.name);
	char t[TOKEN_TEXT_LEN + 1];
	if (tokenlen <= TOKEN_TEXT_LEN || token_issue(a->tokens, &who, now_ms, t)) {
		v->status = 500;
		snprintf(v->msg, sizeof(v->msg), "cannot make a token (no randomness?)");
		log_error("auth: cannot make a token for user '%s'", u);
		return v->status;
	}
	memcpy(token, t, sizeof(t));
	atomic_fetch_add(&a->logins, 1);
	char roles[200];
	roles_phrase(a, &v->id, roles, sizeof(roles));
	log_info("auth: user %s logged in from %s (backend %s, %s)", u, peer ? peer : "?",
	         a->api.name, roles);
	return 0;
}

int auth_logout(struct auth *a, const struct auth_creds *c)
{
	struct cred cr;
	find_creds(c, &cr);
	int rc = cr.kind == CRED_TOKEN ? token_revoke(a->tokens, cr.token) : -1;
	explicit_bzero(&cr, sizeof(cr));
	return rc;
}

json_t *auth_permissions(const struct auth *a, const struct auth_identity *id)
{
	const char *roles[1] = {id->role};
	return rbac_permissions_json(a->rbac, id->user, roles, id->role[0] ? 1 : 0);
}

void auth_stats(struct auth *a, int64_t now_ms, struct auth_stats *out)
{
	*out = (struct auth_stats){.unauthenticated = atomic_load(&a->unauthenticated),
	                           .forbidden = atomic_load(&a->forbidden),
	                           .throttled = atomic_load(&a->throttled),
	                           .password_failures = atomic_load(&a->password_failures),
	                           .logins = atomic_load(&a->logins),
	                           .login_failures = atomic_load(&a->login_failures)};
	token_store_stats(a->tokens, now_ms, &out->tokens);
	throttle_stats(a->thr, &out->throttle);
}

json_t *auth_status_json(struct auth *a, int64_t now_ms)
{
	struct token_stats ts;
	struct throttle_stats th;
	token_store_stats(a->tokens, now_ms, &ts);
	throttle_stats(a->thr, &th);
	return json_pack(
	    "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
	    "s:{s:I, s:I, s:I}}",
	    "APIBackend", a->api.name, "APIBackendType", auth_api_type(a), "ClusterBackend",
	    a->cluster.name, "Unauthenticated", (json_int_t)atomic_load(&a->unauthenticated),
	    "Forbidden", (json_int_t)atomic_load(&a->forbidden), "Throttled",
	    (json_int_t)atomic_load(&a->throttled), "PasswordFailures",
	    (json_int_t)atomic_load(&a->password_failures), "Logins",
	    (json_int_t)atomic_load(&a->logins), "LoginFailures",
	    (json_int_t)atomic_load(&a->login_failures), "Tokens", "Live", (json_int_t)ts.live,
	    "Issued", (json_int_t)ts.issued, "Expired", (json_int_t)ts.expired, "Revoked",
	    (json_int_t)ts.revoked, "Evicted", (json_int_t)ts.evicted, "FileSaves",
	    (json_int_t)ts.saves, "FileSaveErrors", (json_int_t)ts.save_errors, "ThrottledAddresses",
	    "Tracked", (json_int_t)th.tracked, "Refused", (json_int_t)th.refused, "Evicted",
	    (json_int_t)th.evicted);
}
