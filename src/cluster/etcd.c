/* etcd.c - the etcd v3 JSON-gateway client (etcd.h): requests through libcurl, one
 * handle per call, servers tried in turn; the reply parsers. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cluster/etcd.h"
#include "common/base64.h"
#include "common/log.h"

struct etcd_client {
	char **servers; /* "http://host:port", no trailing slash */
	size_t n;
	atomic_size_t cur; /* the server that answered last */
	int64_t timeout_ms;
	char *ca, *cert, *key;   /* etcd_client_secure: TLS files, or NULL */
	char *user, *pass;       /* etcd auth, or NULL */
	pthread_mutex_t tlock;   /* token */
	char *token;             /* the last token etcd gave (user set), or NULL */
	uint64_t token_gen;      /* +1 per token, so a stale one is replaced once */
};

/* ---- parsers ------------------------------------------------------------------------ */

int etcd_errno_of_code(int64_t code)
{
	switch (code) {
	case 0: return 0;
	case 3: return -EINVAL;     /* INVALID_ARGUMENT */
	case 4: return -ETIMEDOUT;  /* DEADLINE_EXCEEDED */
	case 5: return -ENOENT;     /* NOT_FOUND (a lease gone) */
	case 8: return -ENOSPC;     /* RESOURCE_EXHAUSTED (quota, request too large) */
	case 14: return -EAGAIN;    /* UNAVAILABLE (no leader, stopping) */
	case 16: return -EACCES;    /* UNAUTHENTICATED */
	case 7: return -EACCES;     /* PERMISSION_DENIED */
	default: return -EIO;
	}
}

int etcd_i64(const json_t *v, int64_t *out)
{
	*out = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EPROTO;
	const char *s = json_string_value(v);
	if (!*s)
		return -EPROTO;
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || *end)
		return -EPROTO;
	*out = x;
	return 0;
}

char *etcd_b64(const void *s, size_t n)
{
	return base64_encode_alloc(s, n, NULL);
}

char *etcd_prefix_end(const char *key, size_t *outlen)
{
	size_t n = strlen(key);
	char *e = malloc(n + 1);
	if (!e)
		return NULL;
	memcpy(e, key, n + 1);
	while (n > 0 && (unsigned char)e[n - 1] == 0xff)
		n--;
	if (!n) { /* every key */
		e[0] = 0;
		*outlen = 1;
		return e;
	}
	e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
	*outlen = n;
	return e;
}

int etcd_reply_error(const json_t *reply, char *err, size_t errlen)
{
	const json_t *code = json_object_get(reply, "code");
	const json_t *m = json_object_get(reply, "message");
	const json_t *e = json_object_get(reply, "error");
	if (!code && !e)
		return 0;
	int64_t c = 0;
	if (etcd_i64(code, &c))
		c = 2; /* UNKNOWN */
	const char *msg = json_is_string(m) && *json_string_value(m) ? json_string_value(m)
	                  : json_is_string(e)                        ? json_string_value(e)
	                  : json_is_object(e) && json_is_string(json_object_get(e, "message"))
	                      ? json_string_value(json_object_get(e, "message"))
	                      : "(no message)";
	if (json_is_object(e) && !code && etcd_i64(json_object_get(e, "grpc_code"), &c))
		c = 2;
	int rc = etcd_errno_of_code(c);
	if (!rc)
		rc = -EIO; /* an error object with code 0: still an error */
	snprintf(err, errlen, "etcd: %.300s (gRPC code %" PRId64 ")", msg, c);
	return rc;
}

static int perr(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "etcd: unreadable reply: %s", what);
	return -EPROTO;
}

/* A base64 field into a new NUL-terminated buffer; absent -> "". */
static int b64_field(const json_t *v, char **out, size_t *len)
{
	*out = NULL;
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	if (v && !json_is_string(v))
		return -EPROTO;
	size_t n = strlen(s);
	uint8_t *b = malloc(BASE64_DECODED_MAX(n) + 1);
	if (!b)
		return -ENOMEM;
	long got = base64_decode(b, BASE64_DECODED_MAX(n), s, n, 0);
	if (got < 0) {
		free(b);
		return -EPROTO;
	}
	b[got] = 0;
	*out = (char *)b;
	if (len)
		*len = (size_t)got;
	return 0;
}

static void kv_clear(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void etcd_kvs_clear(struct etcd_kvs *k)
{
	for (size_t i = 0; i < k->n; i++)
		kv_clear(&k->v[i]);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

static int parse_kv(const json_t *j, struct etcd_kv *kv, char *err, size_t errlen)
{
	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(j))
		return perr(err, errlen, "a kv is not an object");
	size_t klen = 0;
	int rc = b64_field(json_object_get(j, "key"), &kv->key, &klen);
	if (!rc)
		rc = b64_field(json_object_get(j, "value"), &kv->value, &kv->value_len);
	if (!rc && strlen(kv->key) != klen)
		rc = -EPROTO; /* a NUL inside a key: not one of ours */
	if (!rc && (etcd_i64(json_object_get(j, "create_revision"), &kv->create_rev) ||
	            etcd_i64(json_object_get(j, "mod_revision"), &kv->mod_rev) ||
	            etcd_i64(json_object_get(j, "lease"), &kv->lease)))
		rc = -EPROTO;
	if (rc) {
		kv_clear(kv);
		return rc == -ENOMEM ? rc : perr(err, errlen, "bad key, value or revision in a kv");
	}
	return 0;
}

static int header_rev(const json_t *reply, int64_t *rev)
{
	return etcd_i64(json_object_get(json_object_get(reply, "header"), "revision"), rev);
}

int etcd_parse_kvs(const json_t *reply, struct etcd_kvs *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(reply))
		return perr(err, errlen, "not a JSON object");
	if (header_rev(reply, &out->revision))
		return perr(err, errlen, "bad header revision");
	const json_t *kvs = json_object_get(reply, "kvs");
	if (!kvs)
		return 0;
	if (!json_is_array(kvs))
		return perr(err, errlen, "kvs is not an array");
	size_t n = json_array_size(kvs);
	if (!n)
		return 0;
	out->v = calloc(n, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = parse_kv(json_array_get(kvs, i), &out->v[i], err, errlen);
		if (rc) {
			etcd_kvs_clear(out);
			return rc;
		}
		out->n++;
	}
	return 0;
}

int etcd_parse_lease(const json_t *reply, int64_t *id, int64_t *ttl, char *err, size_t errlen)
{
	*id = *ttl = 0;
	if (!json_is_object(reply))
		return perr(err, errlen, "not a JSON object");
	const json_t *r = json_object_get(reply, "result");
	if (!r)
		r = reply;
	int rc = etcd_reply_error(r, err, errlen);
	if (rc)
		return rc;
	if (!json_is_object(r) || etcd_i64(json_object_get(r, "ID"), id) ||
	    etcd_i64(json_object_get(r, "TTL"), ttl))
		return perr(err, errlen, "bad lease ID or TTL");
	if (*ttl <= 0) {
		snprintf(err, errlen, "etcd: lease %" PRId64 " not found (expired)", *id);
		return -ENOENT;
	}
	return 0;
}

int etcd_parse_txn(const json_t *reply, int *succeeded, struct etcd_kvs *current, char *err,
                   size_t errlen)
{
	*succeeded = 0;
	if (current)
		memset(current, 0, sizeof(*current));
	if (!json_is_object(reply))
		return perr(err, errlen, "not a JSON object");
	const json_t *s = json_object_get(reply, "succeeded");
	if (s && !json_is_boolean(s))
		return perr(err, errlen, "succeeded is not a boolean");
	*succeeded = json_is_true(s);
	const json_t *rs = json_object_get(reply, "responses");
	if (rs && !json_is_array(rs))
		return perr(err, errlen, "responses is not an array");
	if (!current)
		return 0;
	size_t i;
	const json_t *one;
	json_array_foreach(rs, i, one)
	{
		const json_t *rr = json_object_get(one, "response_range");
		if (rr)
			return etcd_parse_kvs(rr, current, err, errlen);
	}
	return 0;
}

int etcd_parse_watch_msg(const json_t *msg, etcd_watch_fn fn, void *user, int64_t *rev,
                         char *err, size_t errlen)
{
	if (!json_is_object(msg))
		return perr(err, errlen, "a watch message is not an object");
	int rc = etcd_reply_error(msg, err, errlen);
	if (rc)
		return rc;
	const json_t *r = json_object_get(msg, "result");
	if (!json_is_object(r))
		return perr(err, errlen, "a watch message without result");
	int64_t h = 0, compact = 0;
	if (header_rev(r, &h) || etcd_i64(json_object_get(r, "compact_revision"), &compact))
		return perr(err, errlen, "bad watch revision");
	if (compact > 0) {
		snprintf(err, errlen, "etcd: watch start compacted (now from revision %" PRId64 ")",
		         compact);
		return -ESTALE;
	}
	if (json_is_true(json_object_get(r, "canceled"))) {
		const json_t *why = json_object_get(r, "cancel_reason");
		snprintf(err, errlen, "etcd: watch canceled: %.300s",
		         json_is_string(why) ? json_string_value(why) : "(no reason)");
		return -ECANCELED;
	}
	const json_t *evs = json_object_get(r, "events");
	if (evs && !json_is_array(evs))
		return perr(err, errlen, "events is not an array");
	size_t i;
	const json_t *e;
	json_array_foreach(evs, i, e)
	{
		const json_t *t = json_object_get(e, "type");
		struct etcd_event ev = {.type = ETCD_PUT};
		if (json_is_string(t) && !strcmp(json_string_value(t), "DELETE"))
			ev.type = ETCD_DELETE;
		else if (t && !(json_is_string(t) && !strcmp(json_string_value(t), "PUT")))
			return perr(err, errlen, "unknown event type");
		struct etcd_kv kv;
		if ((rc = parse_kv(json_object_get(e, "kv"), &kv, err, errlen)))
			return rc;
		ev.kv = &kv;
		rc = fn ? fn(user, &ev) : 0;
		kv_clear(&kv);
		if (rc)
			return rc;
	}
	if (rev && h > *rev)
		*rev = h;
	return 0;
}

int etcd_stream_feed(struct etcd_stream *s, const char *data, size_t len, etcd_watch_fn fn,
                     void *user, int64_t *rev, char *err, size_t errlen)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		if (s->len + take > ETCD_MAX_REPLY) {
			snprintf(err, errlen, "etcd: a watch message above %u bytes", ETCD_MAX_REPLY);
			return -EPROTO;
		}
		if (s->len + take + 1 > s->cap) {
			size_t cap = s->cap ? s->cap : 4096;
			while (cap < s->len + take + 1)
				cap *= 2;
			char *b = realloc(s->buf, cap);
			if (!b)
				return -ENOMEM;
			s->buf = b;
			s->cap = cap;
		}
		memcpy(s->buf + s->len, data, take);
		s->len += take;
		data += take;
		len -= take;
		if (!nl)
			break;
		data++; /* the newline */
		len--;
		size_t n = s->len;
		s->len = 0;
		size_t k = 0;
		while (k < n && (s->buf[k] == ' ' || s->buf[k] == '\r' || s->buf[k] == '\t'))
			k++;
		if (k == n)
			continue; /* an empty line */
		json_error_t je;
		json_t *m = json_loadb(s->buf, n, 0, &je);
		if (!m) {
			snprintf(err, errlen, "etcd: a watch message is not JSON: %.200s", je.text);
			return -EPROTO;
		}
		int rc = etcd_parse_watch_msg(m, fn, user, rev, err, errlen);
		json_decref(m);
		if (rc)
			return rc;
	}
	return 0;
}

void etcd_stream_clear(struct etcd_stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* ---- the client --------------------------------------------------------------------- */

/* curl_global_init is not thread-safe: once, before the first handle */
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct etcd_client *etcd_client_new(const json_t *servers, int64_t timeout_ms, char *err,
                                    size_t errlen)
{
	if (!json_is_array(servers) || !json_array_size(servers)) {
		snprintf(err, errlen, "etcd.servers: expected a list of http://host:port");
		return NULL;
	}
	if (timeout_ms <= 0) {
		snprintf(err, errlen, "etcd.client_timeout must be > 0");
		return NULL;
	}
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init_once);
	struct etcd_client *c = calloc(1, sizeof(*c));
	if (!c || !(c->servers = calloc(json_array_size(servers), sizeof(char *)))) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->timeout_ms = timeout_ms;
	pthread_mutex_init(&c->tlock, NULL);
	size_t i;
	const json_t *v;
	json_array_foreach(servers, i, v)
	{
		const char *s = json_string_value(v);
		if (!s || !*s) {
			snprintf(err, errlen, "etcd.servers[%zu]: expected a string http://host:port", i);
			goto fail;
		}
		const char *scheme = strstr(s, "://");
		if (scheme && strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) {
			snprintf(err, errlen,
			         "etcd.servers[%zu] '%.200s': only http:// and https:// are spoken", i, s);
			goto fail;
		}
		char *u;
		if (asprintf(&u, "%s%s", scheme ? "" : "http://", s) < 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		size_t ul = strlen(u);
		while (ul > 8 && u[ul - 1] == '/')
			u[--ul] = 0;
		c->servers[c->n++] = u;
	}
	return c;
fail:
	etcd_client_free(c);
	return NULL;
}

void etcd_client_free(struct etcd_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->servers[i]);
	free(c->servers);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->user);
	free(c->pass);
	free(c->token);
	pthread_mutex_destroy(&c->tlock);
	free(c);
}

static int dup_opt(const char *v, char **out)
{
	*out = NULL;
	if (!v || !*v)
		return 0;
	return (*out = strdup(v)) ? 0 : -1;
}

int etcd_client_secure(struct etcd_client *c, const struct etcd_security *s, char *err,
                       size_t errlen)
{
	if (dup_opt(s->ca, &c->ca) || dup_opt(s->cert, &c->cert) || dup_opt(s->key, &c->key) ||
	    dup_opt(s->username, &c->user) || dup_opt(s->password, &c->pass)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!c->user && c->pass) {
		snprintf(err, errlen, "etcd.password is set but etcd.username is not");
		return -1;
	}
	/* etcd (3.4) answers 400 "CommonName of client sending a request against gateway
	 * will be ignored" to every JSON-gateway request that carries a client certificate
	 * once its auth is enabled: the pair can never work, so say it now */
	if (c->user && c->cert) {
		snprintf(err, errlen,
		         "etcd.username and etcd.client_cert together: etcd's JSON gateway refuses "
		         "client certificates once its authentication is on; use etcd.username "
		         "over https (etcd.ca_cert) with an etcd not started with "
		         "--client-cert-auth, or client certificates with etcd's auth off");
		return -1;
	}
	return 0;
}

const char *etcd_client_server(const struct etcd_client *c)
{
	return c->servers[atomic_load(&((struct etcd_client *)c)->cur) % c->n];
}

struct body {
	char *p;
	size_t len, cap;
	int over;
};

static size_t body_write(char *d, size_t s, size_t n, void *u)
{
	struct body *b = u;
	size_t k = s * n;
	if (b->len + k > ETCD_MAX_REPLY) {
		b->over = 1;
		return 0;
	}
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + k + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, k);
	b->len += k;
	b->p[b->len] = 0;
	return k;
}

static int transport_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST: return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	default: return -ECONNRESET;
	}
}

static CURL *easy(struct etcd_client *c, const char *url, const char *payload,
                  struct curl_slist *h, char *ebuf)
{
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 2L);
	if (c->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca);
	if (c->cert) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert);
		curl_easy_setopt(e, CURLOPT_SSLKEY, c->key);
	}
	return e;
}

/* ---- auth (etcd_client_secure) ---------------------------------------------------- */

static int call_raw(struct etcd_client *c, const char *path, const char *payload,
                    const char *token, json_t **reply, char *err, size_t errlen);

/* The token to send: the one we have, else a new one from /v3/auth/authenticate (stale:
 * the generation the caller found refused, replaced unless another thread did). 0 with
 * *tok (the caller's copy, or NULL without auth) and *gen; -errno with err. */
static int get_token(struct etcd_client *c, uint64_t stale, char **tok, uint64_t *gen,
                     char *err, size_t errlen)
{
	*tok = NULL;
	*gen = 0;
	if (!c->user)
		return 0;
	pthread_mutex_lock(&c->tlock);
	if (c->token && c->token_gen != stale) {
		*tok = strdup(c->token);
		*gen = c->token_gen;
		pthread_mutex_unlock(&c->tlock);
		return *tok ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&c->tlock);
	json_t *b = json_pack("{s:s, s:s}", "name", c->user, "password", c->pass ? c->pass : "");
	char *payload = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!payload) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_t *r = NULL;
	int rc = call_raw(c, "/v3/auth/authenticate", payload, NULL, &r, err, errlen);
	free(payload);
	if (rc) {
		if (rc == -EACCES || rc == -EINVAL)
			snprintf(err + strlen(err), errlen - strlen(err),
			         " (etcd.username '%s' and etcd.password: the user etcd knows?)",
			         c->user);
		return rc;
	}
	const char *t = json_string_value(json_object_get(r, "token"));
	if (!t || !*t) { /* etcd without auth enabled answers no token: send none */
		json_decref(r);
		return 0;
	}
	pthread_mutex_lock(&c->tlock);
	free(c->token);
	c->token = strdup(t);
	*gen = ++c->token_gen;
	*tok = c->token ? strdup(c->token) : NULL;
	pthread_mutex_unlock(&c->tlock);
	json_decref(r);
	return *tok ? 0 : -ENOMEM;
}

/* Whether an error says our token is not (or no longer) valid. */
static int token_refused(int rc, const char *err)
{
	return rc == -EACCES && err && (strstr(err, "auth token") || strstr(err, "token"));
}

/* Headers of a request: JSON, and the token when there is one. NULL on out of memory. */
static struct curl_slist *headers(const char *token)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h && token) {
		char a[2048];
		snprintf(a, sizeof(a), "Authorization: %s", token);
		struct curl_slist *h2 = curl_slist_append(h, a);
		if (!h2) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = h2;
	}
	return h;
}

/* POSTs body (stolen) to path on the servers in turn, with the auth token when etcd
 * wants one (replaced once when etcd refuses it); *reply the parsed answer (an etcd
 * error answer is returned as -errno, reply NULL). */
static int call(struct etcd_client *c, const char *path, json_t *body, json_t **reply,
                char *err, size_t errlen)
{
	*reply = NULL;
	char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!payload) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	uint64_t stale = 0;
	int rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		char *tok;
		uint64_t gen;
		rc = get_token(c, stale, &tok, &gen, err, errlen);
		if (!rc)
			rc = call_raw(c, path, payload, tok, reply, err, errlen);
		free(tok);
		if (!token_refused(rc, err) || !gen)
			break;
		stale = gen; /* expired (its TTL) or etcd restarted: a new one, once */
		log_info("cluster: etcd refused our auth token (%s); asking a new auth token", err);
	}
	free(payload);
	return rc;
}

/* One POST of payload to path on the servers in turn (see call). */
static int call_raw(struct etcd_client *c, const char *path, const char *payload,
                    const char *token, json_t **reply, char *err, size_t errlen)
{
	*reply = NULL;
	struct curl_slist *h = headers(token);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t start = atomic_load(&c->cur);
	int rc = -ECONNREFUSED;
	for (size_t k = 0; k < c->n; k++) {
		size_t idx = (start + k) % c->n;
		char url[1200], ebuf[CURL_ERROR_SIZE] = "";
		snprintf(url, sizeof(url), "%s%s", c->servers[idx], path);
		struct body b = {0};
		CURL *e = easy(c, url, payload, h, ebuf);
		if (!e) {
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			break;
		}
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
		CURLcode cr = curl_easy_perform(e);
		long code = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(e);
		if (cr != CURLE_OK && !b.over) {
			rc = transport_errno(cr);
			snprintf(err, errlen, "etcd %s%s: %.250s%s", c->servers[idx], path,
			         ebuf[0] ? ebuf : curl_easy_strerror(cr),
			         !c->cert && strstr(ebuf, "alert") ? " (if etcd runs with "
			         "--client-cert-auth, set etcd.client_cert and etcd.client_key)" : "");
			free(b.p);
			continue; /* the next server */
		}
		atomic_store(&c->cur, idx);
		json_error_t je;
		json_t *j = b.over ? NULL : json_loadb(b.p ? b.p : "", b.len, 0, &je);
		if (!j) {
			rc = -EPROTO;
			/* what it said instead (etcd's gateway answers some refusals in text) */
			char said[160] = "";
			for (size_t i = 0; b.p && i < b.len && i < sizeof(said) - 1; i++)
				said[i] = b.p[i] >= 32 && b.p[i] < 127 ? b.p[i] : ' ';
			snprintf(err, errlen, "etcd %s%s: answered %ld with %s%s%s", c->servers[idx],
			         path, code, b.over ? "a reply too large" : "no JSON",
			         said[0] ? ": " : "", said);
			free(b.p);
			break;
		}
		free(b.p);
		char why[400];
		rc = etcd_reply_error(j, why, sizeof(why));
		if (!rc && (code < 200 || code > 299)) {
			rc = -EIO;
			snprintf(why, sizeof(why), "answered HTTP %ld", code);
		}
		if (rc) {
			snprintf(err, errlen, "etcd %s%s: %s", c->servers[idx], path, why);
			json_decref(j);
			break;
		}
		*reply = j;
		break;
	}
	curl_slist_free_all(h);
	return rc;
}

/* {"key": b64, "range_end"?: b64} */
static json_t *key_body(const char *key, int prefix)
{
	char *k = etcd_b64(key, strlen(key));
	json_t *o = k ? json_pack("{s:s}", "key", k) : NULL;
	free(k);
	if (o && prefix) {
		size_t n;
		char *end = etcd_prefix_end(key, &n);
		char *e = end ? etcd_b64(end, n) : NULL;
		free(end);
		if (!e || json_object_set_new(o, "range_end", json_string(e))) {
			json_decref(o);
			o = NULL;
		}
		free(e);
	}
	return o;
}

static json_t *i64s(int64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

static json_t *put_body(const char *key, const char *val, size_t vlen, int64_t lease)
{
	json_t *o = key_body(key, 0);
	char *v = etcd_b64(val, vlen);
	if (!o || !v || json_object_set_new(o, "value", json_string(v)) ||
	    (lease && json_object_set_new(o, "lease", i64s(lease)))) {
		json_decref(o);
		o = NULL;
	}
	free(v);
	return o;
}

static int oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

int etcd_put(struct etcd_client *c, const char *key, const char *val, size_t vlen, int64_t lease,
             int64_t *rev, char *err, size_t errlen)
{
	json_t *b = put_body(key, val, vlen, lease), *r;
	if (!b)
		return oom(err, errlen);
	int rc = call(c, "/v3/kv/put", b, &r, err, errlen);
	if (!rc && rev && header_rev(r, rev))
		rc = perr(err, errlen, "bad header revision");
	json_decref(r);
	return rc;
}

int etcd_range(struct etcd_client *c, const char *key, int prefix, struct etcd_kvs *out,
               char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	json_t *b = key_body(key, prefix), *r;
	if (!b)
		return oom(err, errlen);
	int rc = call(c, "/v3/kv/range", b, &r, err, errlen);
	if (!rc)
		rc = etcd_parse_kvs(r, out, err, errlen);
	json_decref(r);
	return rc;
}

int etcd_delete(struct etcd_client *c, const char *key, int prefix, int64_t *deleted,
                int64_t *rev, char *err, size_t errlen)
{
	json_t *b = key_body(key, prefix), *r;
	if (!b)
		return oom(err, errlen);
	int rc = call(c, "/v3/kv/deleterange", b, &r, err, errlen);
	int64_t d = 0, h = 0;
	if (!rc && (etcd_i64(json_object_get(r, "deleted"), &d) || header_rev(r, &h)))
		rc = perr(err, errlen, "bad deleted count or revision");
	if (deleted)
		*deleted = d;
	if (rev)
		*rev = h;
	json_decref(r);
	return rc;
}

int etcd_lease_grant(struct etcd_client *c, int64_t ttl_s, int64_t *id, char *err, size_t errlen)
{
	json_t *r, *b = json_pack("{s:o}", "TTL", i64s(ttl_s));
	if (!b)
		return oom(err, errlen);
	int64_t ttl;
	int rc = call(c, "/v3/lease/grant", b, &r, err, errlen);
	if (!rc)
		rc = etcd_parse_lease(r, id, &ttl, err, errlen);
	json_decref(r);
	return rc;
}

int etcd_lease_keepalive(struct etcd_client *c, int64_t id, int64_t *ttl, char *err,
                         size_t errlen)
{
	json_t *r, *b = json_pack("{s:o}", "ID", i64s(id));
	if (!b)
		return oom(err, errlen);
	int64_t got;
	int rc = call(c, "/v3/lease/keepalive", b, &r, err, errlen);
	if (!rc)
		rc = etcd_parse_lease(r, &got, ttl, err, errlen);
	json_decref(r);
	return rc;
}

int etcd_lease_revoke(struct etcd_client *c, int64_t id, char *err, size_t errlen)
{
	json_t *r, *b = json_pack("{s:o}", "ID", i64s(id));
	if (!b)
		return oom(err, errlen);
	int rc = call(c, "/v3/lease/revoke", b, &r, err, errlen);
	json_decref(r);
	return rc;
}

int etcd_create(struct etcd_client *c, const char *key, const char *val, size_t vlen,
                int64_t lease, int *created, struct etcd_kvs *current, char *err, size_t errlen)
{
	*created = 0;
	memset(current, 0, sizeof(*current));
	char *k = etcd_b64(key, strlen(key));
	json_t *put = put_body(key, val, vlen, lease), *get = key_body(key, 0), *r;
	json_t *cmp = k ? json_pack("{s:s, s:s, s:s, s:s}", "target", "CREATE", "result", "EQUAL",
	                            "key", k, "create_revision", "0")
	                : NULL;
	free(k);
	json_t *b = json_object();
	if (!b || !put || !get || !cmp ||
	    json_object_set_new(b, "compare", json_pack("[O]", cmp)) ||
	    json_object_set_new(b, "success", json_pack("[{s:O}]", "request_put", put)) ||
	    json_object_set_new(b, "failure", json_pack("[{s:O}]", "request_range", get))) {
		json_decref(b);
		b = NULL;
	}
	json_decref(put);
	json_decref(get);
	json_decref(cmp);
	if (!b)
		return oom(err, errlen);
	int rc = call(c, "/v3/kv/txn", b, &r, err, errlen);
	if (!rc)
		rc = etcd_parse_txn(r, created, current, err, errlen);
	json_decref(r);
	return rc;
}

/* ---- watch -------------------------------------------------------------------------- */

struct watch_ctx {
	struct etcd_stream s;
	etcd_watch_fn fn;
	void *user;
	int64_t *rev;
	int rc;
	char *err;
	size_t errlen;
	const volatile int *stop;
};

static size_t watch_write(char *d, size_t s, size_t n, void *u)
{
	struct watch_ctx *w = u;
	w->rc = etcd_stream_feed(&w->s, d, s * n, w->fn, w->user, w->rev, w->err, w->errlen);
	return w->rc ? 0 : s * n;
}

static int watch_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	struct watch_ctx *w = u;
	return w->stop && *w->stop;
}

int etcd_watch(struct etcd_client *c, const char *key, int prefix, int64_t start_rev,
               etcd_watch_fn fn, void *user, const volatile int *stop, int64_t *last_rev,
               char *err, size_t errlen)
{
	int64_t rev = start_rev - 1;
	json_t *kb = key_body(key, prefix);
	if (kb)
		json_object_set_new(kb, "start_revision", i64s(start_rev));
	json_t *b = kb ? json_pack("{s:o}", "create_request", kb) : NULL;
	char *payload = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!payload)
		return oom(err, errlen);
	char *tok;
	uint64_t gen;
	int rc = get_token(c, 0, &tok, &gen, err, errlen);
	if (rc) {
		free(payload);
		return rc;
	}
	struct curl_slist *h = headers(tok);
	free(tok);
	if (!h) {
		free(payload);
		return oom(err, errlen);
	}
	rc = -ECONNREFUSED;
	size_t start = atomic_load(&c->cur);
	for (size_t k = 0; k < c->n && !(stop && *stop); k++) {
		size_t idx = (start + k) % c->n;
		char url[1200], ebuf[CURL_ERROR_SIZE] = "";
		snprintf(url, sizeof(url), "%s/v3/watch", c->servers[idx]);
		struct watch_ctx w = {.fn = fn, .user = user, .rev = &rev, .err = err,
		                      .errlen = errlen, .stop = stop};
		CURL *e = easy(c, url, payload, h, ebuf);
		if (!e) {
			rc = oom(err, errlen);
			break;
		}
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &w);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, watch_progress);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, &w);
		CURLcode cr = curl_easy_perform(e);
		long code = 0;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(e);
		etcd_stream_clear(&w.s);
		if (w.rc) { /* a message stopped it (fn, compaction, cancel, bad message) */
			rc = w.rc;
			atomic_store(&c->cur, idx);
			break;
		}
		if (stop && *stop) {
			rc = 0;
			break;
		}
		if (cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST ||
		    (cr == CURLE_OPERATION_TIMEDOUT && !code)) {
			rc = transport_errno(cr);
			snprintf(err, errlen, "etcd %s/v3/watch: %.250s", c->servers[idx],
			         ebuf[0] ? ebuf : curl_easy_strerror(cr));
			continue; /* never connected: the next server */
		}
		atomic_store(&c->cur, idx);
		rc = cr == CURLE_OK ? -ECONNRESET : transport_errno(cr);
		snprintf(err, errlen, "etcd %s/v3/watch: the stream ended: %.250s", c->servers[idx],
		         cr == CURLE_OK ? (code == 200 ? "closed by the server" : "answered an error")
		         : ebuf[0]      ? ebuf
		                        : curl_easy_strerror(cr));
		break;
	}
	if (last_rev)
		*last_rev = rev;
	/* a stream etcd refused (an error answer instead of the stream) may be our token's
	 * fault: the next watch asks for a new one rather than send it again */
	if (gen && rc && !(stop && *stop) && (token_refused(rc, err) || strstr(err, "answered an error"))) {
		pthread_mutex_lock(&c->tlock);
		if (c->token_gen == gen) {
			free(c->token);
			c->token = NULL;
		}
		pthread_mutex_unlock(&c->tlock);
	}
	curl_slist_free_all(h);
	free(payload);
	return rc;
}
