/* rest.c - the analyzer's REST endpoints: version, status, the topology and
 * its Gremlin queries (JSON or Graphviz DOT), configuration values. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/rest.h"
#include "analyzer/rest_pcap.h"
#include "common/version.h"
#include "common/log.h"

#define CT_JSON REST_CT_JSON
#define CT_DOT  "text/vnd.graphviz"
#define CT_TEXT "text/plain; charset=UTF-8"

static void reply_empty(struct rest_response *out, int status)
{
	out->status = status;
	out->content_type = CT_JSON;
	out->body = NULL;
	out->len = 0;
}

static void api_version(const struct rest_ctx *c, struct rest_response *out)
{
	rest_reply_json(out, 200,
	           json_pack("{s:s, s:s, s:s}", "Version", SKYDIVE_VERSION, "Service",
	                     c->service ? c->service : "analyzer", "Host",
	                     c->host_id ? c->host_id : ""));
}

static void api_status(const struct rest_ctx *c, struct rest_response *out)
{
	json_t *s = c->status ? c->status(c->user) : json_object();
	if (!s) {
		rest_reply_error(out, 500, "out of memory building the status");
		return;
	}
	rest_reply_json(out, 200, s);
}

static void read_lock(const struct rest_ctx *c)
{
	if (c->rdlock)
		c->rdlock(c->rdlock_user);
	else
		graph_rdlock(c->g);
}

static void api_topology_get(const struct rest_ctx *c, struct rest_response *out)
{
	read_lock(c);
	struct graph_view *v = graph_view_at(c->g, 0, NULL);
	json_t *j = v ? graph_view_to_json(v) : NULL;
	graph_view_free(v);
	graph_unlock(c->g);
	if (!j) {
		rest_reply_error(out, 500, "out of memory serialising the topology");
		return;
	}
	rest_reply_json(out, 200, j);
}

static int blank(const char *s)
{
	while (s && isspace((unsigned char)*s))
		s++;
	return !s || !*s;
}

/* A RawPackets() result as a pcap file (Accept: application/vnd.tcpdump.pcap): from the
 * typed packets when the evaluator handed them over, else from its JSON. */
static void reply_pcap(struct rest_response *out, const struct gremlin_result *res)
{
	char err[256];
	size_t skipped;
	int rc = res->raw_set ? rest_pcap_from_pkts(res->raw_pkts, res->raw_n, &out->body,
						    &out->len, &skipped, err, sizeof(err))
			      : rest_pcap_from_raw(res->json, &out->body, &out->len, &skipped,
						   err, sizeof(err));
	if (rc) {
		rest_reply_error(out, rc == -EINVAL ? 406 : 500, "%s", err);
		return;
	}
	if (skipped)
		log_warn("api: pcap output: %zu raw packets of another link type skipped", skipped);
	out->status = 200;
	out->content_type = REST_CT_PCAP;
}

void rest_gremlin_bounds(const struct config *cfg, struct gremlin_env *env)
{
	int64_t n = cfg ? config_get_int(cfg, "analyzer.gremlin.max_results", 0) : 0;
	env->max_results = n > 0 ? (size_t)n : 0;
	n = cfg ? config_get_int(cfg, "analyzer.gremlin.max_items", 0) : 0;
	env->max_items = n > 0 ? (size_t)n : 0;
	n = cfg ? config_get_duration(cfg, "analyzer.gremlin.timeout", 0) : 0;
	env->timeout_ms = n > 0 ? n : 0;
}

/* POST /api/pcap with the body in memory (the server streams large bodies to a file
 * itself and calls rest_pcap_handle). */
static void api_pcap(const struct rest_ctx *c, const char *body, size_t len,
                     struct rest_response *out)
{
	const char *dir = getenv("TMPDIR");
	char path[300];
	snprintf(path, sizeof(path), "%s/skydive-pcap-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!fp || (len && fwrite(body, 1, len, fp) != len) || fflush(fp)) {
		if (fp)
			fclose(fp);
		else if (fd >= 0)
			close(fd);
		if (fd >= 0)
			unlink(path);
		rest_reply_error(out, 500, "cannot save the pcap body in %s: %s (set TMPDIR to a "
		            "writable directory)", dir && *dir ? dir : "/tmp", strerror(errno));
		return;
	}
	rest_pcap_handle(c, path, NULL, NULL, out);
	fclose(fp);
	unlink(path);
}

static void api_topology_query(const struct rest_ctx *c, const char *accept, const char *body,
                               size_t len, struct rest_response *out)
{
	json_error_t je;
	json_t *req = json_loadb(body ? body : "", len, 0, &je);
	if (!req) {
		rest_reply_error(out, 400,
		            "invalid JSON body at line %d, column %d: %s (expected "
		            "{\"GremlinQuery\": \"G.V()\"})",
		            je.line, je.column, je.text);
		return;
	}
	json_t *qj = json_object_get(req, "GremlinQuery");
	if (!json_is_object(req) || (qj && !json_is_string(qj))) {
		json_decref(req);
		rest_reply_error(out, 400, "the body must be {\"GremlinQuery\": \"<query>\"}");
		return;
	}
	const char *text = json_string_value(qj);
	if (blank(text)) {
		json_decref(req);
		reply_empty(out, 204);
		return;
	}
	struct gremlin_error gerr = {0};
	struct gremlin_query *q = gremlin_parse(text, &gerr);
	json_decref(req);
	if (!q) {
		rest_reply_json(out, 400,
		           json_pack("{s:s, s:i}", "Error", gerr.msg, "Position", gerr.pos));
		return;
	}
	int want_dot = accept && strstr(accept, CT_DOT);
	int64_t now = rest_now_ms(), at = 0, duration = 0;
	int timed = gremlin_time_context(q, now, &at, &duration);
	struct gremlin_env env = {.now_ms = now, .flow_ops = c->flow_ops};
	rest_gremlin_bounds(c->cfg, &env);
	env.allowed = c->allowed;
	env.allowed_user = c->allowed_user;
	env.raw_typed = accept && strstr(accept, REST_CT_PCAP) != NULL;
	struct gremlin_result res = {0};
	char *dot = NULL;
	int truncated = 0, rc;

	read_lock(c);
	struct graph_view *v = graph_view_at(c->g, timed ? at : 0, &truncated);
	if (!v) {
		rc = -ENOMEM;
	} else {
		rc = gremlin_eval(q, v, &env, &res, &gerr);
		if (rc == 0 && want_dot)
			dot = gremlin_result_dot(&res);
	}
	graph_view_free(v);
	graph_unlock(c->g);
	gremlin_query_free(q);

	if (truncated)
		log_debug("api: query at %lld is older than the kept history; answered from the "
		          "oldest state",
		          (long long)at);
	if (rc == -EINVAL || rc == -E2BIG) { /* E2BIG: a bound of rest_gremlin_bounds */
		rest_reply_json(out, 400,
		           json_pack("{s:s, s:i}", "Error", gerr.msg, "Position", gerr.pos));
	} else if (rc == -EACCES) {
		/* env.allowed refused a step (RawPackets() without capture/rawpackets) */
		rest_reply_json(out, 403,
		           json_pack("{s:s, s:i}", "Error", gerr.msg, "Position", gerr.pos));
	} else if (rc < 0) {
		rest_reply_error(out, 500, "out of memory evaluating the query");
	} else if (accept && strstr(accept, REST_CT_PCAP)) {
		reply_pcap(out, &res);
	} else if (want_dot) {
		if (!dot) {
			rest_reply_error(out, 406,
			            "Graphviz output needs a query that returns nodes or edges");
		} else {
			out->status = 200;
			out->content_type = CT_DOT;
			out->body = dot;
			out->len = strlen(dot);
			dot = NULL;
		}
	} else {
		rest_reply_json(out, 200, res.json ? json_incref(res.json) : json_array());
	}
	free(dot);
	gremlin_result_clear(&res);
}

/* Keys whose values are secrets: cluster passwords, inline users (auth.h). */
static int secret_key(const char *k)
{
	size_t n = strlen(k);
	return (n >= 8 && !strcasecmp(k + n - 8, "password")) ||
	       (n >= 5 && !strcasecmp(k + n - 5, "users"));
}

/* Replaces the values of secret keys in an object tree (a copy) by "********". */
static void redact(json_t *j, int depth)
{
	const char *k;
	json_t *v;
	if (depth > 64)
		return;
	json_object_foreach(j, k, v) {
		if (secret_key(k))
			json_object_set_new(j, k, json_string("********"));
		else if (json_is_object(v))
			redact(v, depth + 1);
	}
}

/* GET /api/config/<key>: the effective value (flags, environment, files). */
static void api_config(const struct rest_ctx *c, const char *key, struct rest_response *out)
{
	char env[300];
	if (!*key || config_env_name(key, env, sizeof(env))) {
		rest_reply_error(out, 400, "usage: GET /api/config/<dotted.key>");
		return;
	}
	/* secrets stay secret, even for who may read the configuration */
	if (secret_key(key)) {
		rest_reply_error(out, 403, "config key '%s' holds secrets and is not served", key);
		return;
	}
	const json_t *v = config_get_json(c->cfg, key);
	const char *e = getenv(env);
	if (e && (!v || !json_is_object(v))) {
		rest_reply_json(out, 200, json_string(e));
	} else if (v) {
		json_t *copy = json_deep_copy(v);
		redact(copy, 0);
		rest_reply_json(out, 200, copy);
	} else {
		rest_reply_error(out, 404, "config key '%s' not set", key);
	}
}

static int method_is(const char *m, const char *want)
{
	return m && !strcmp(m, want);
}

int rest_is_query(const char *method, const char *path)
{
	return (!strcmp(path, "/api/topology") &&
	        (method_is(method, "GET") || method_is(method, "POST"))) ||
	       (!strcmp(path, "/api/pcap") && method_is(method, "POST"));
}

void rest_handle(const struct rest_ctx *c, const char *method, const char *path, const char *accept,
                 const char *body, size_t body_len, struct rest_response *out)
{
	memset(out, 0, sizeof(*out));
	const char *allowed = NULL;
	if (!strcmp(path, "/api") || !strcmp(path, "/api/")) {
		if (method_is(method, "GET"))
			return api_version(c, out);
		allowed = "GET";
	} else if (!strcmp(path, "/api/status")) {
		if (method_is(method, "GET"))
			return api_status(c, out);
		allowed = "GET";
	} else if (!strcmp(path, "/api/topology")) {
		if (method_is(method, "GET"))
			return api_topology_get(c, out);
		if (method_is(method, "POST"))
			return api_topology_query(c, accept, body, body_len, out);
		allowed = "GET or POST";
	} else if (!strcmp(path, "/api/pcap")) {
		if (method_is(method, "POST"))
			return api_pcap(c, body, body_len, out);
		allowed = "POST";
	} else if (!strncmp(path, "/api/config/", 12) && c->cfg) {
		if (method_is(method, "GET"))
			return api_config(c, path + 12, out);
		allowed = "GET";
	}
	if (allowed)
		rest_reply_error(out, 405, "method %s not allowed on %s (use %s)", method ? method : "?",
		            path, allowed);
	else
		rest_reply_error(out, 404,
		            "no such endpoint: %s (try /api, /api/status or /api/topology)", path);
}
