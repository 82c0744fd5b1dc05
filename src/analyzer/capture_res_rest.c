/* capture_res_rest.c - /api/capture: the request bodies (JSON, or YAML with its node
 * budget), X-Resource-TTL, new UUIDs, and the GET/POST/DELETE handlers. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "analyzer/capture_res_int.h"
#include "analyzer/resource.h"
#include "common/duration.h"
#include "common/json_patch.h"
#include "common/log.h"
#include "common/yaml_json.h"
#include "config/config.h"

#define CT_TEXT        "text/plain; charset=UTF-8"

/* ---- durations, UUIDs, bodies ------------------------------------------------ */

int capture_res_parse_duration(const char *s, int64_t *ms)
{
	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return -EINVAL;
	if (isdigit((unsigned char)*s) && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		char *end;
		unsigned long long v = strtoull(s, &end, 10);
		if (errno || v > INT64_MAX)
			return -EINVAL;
		*ms = (int64_t)v; /* Skydive's client: a number of milliseconds */
		return 0;
	}
	int64_t ns;
	if (*s == '-' || duration_parse(s, &ns))
		return -EINVAL; /* a TTL in the past is no TTL */
	*ms = ns / 1000000 + (ns % 1000000 != 0); /* rounded up: 1ns still ends later */
	return 0;
}

int capture_uuid_valid(const char *s)
{
	return res_uuid_valid(s);
}

/* The request body as JSON (resource.h: YAML by Content-Type, bounded); NULL with err
 * filled. */
static json_t *parse_body(const char *ct, const char *body, size_t len,
                          struct capture_res_error *err)
{
	struct res_error e = {.pos = -1};
	json_t *j = res_body_parse(ct, body, len,
	                           "a Capture object, e.g. {\"GremlinQuery\": \"G.V().Has('Name', "
	                           "'eth0')\"}",
	                           &e);
	if (!j)
		fail(err, e.pos, "%s", e.msg);
	return j;
}

/* ---- REST -------------------------------------------------------------------- */

static void reply_cerr(struct rest_response *out, int status, const struct capture_res_error *e)
{
	if (e->pos >= 0)
		rest_reply_json(out, status,
		           json_pack("{s:s, s:i}", "Error", e->msg, "Position", e->pos));
	else
		rest_reply_json(out, status, json_pack("{s:s}", "Error", e->msg));
}

/* The same capture apart from UUID, Name, Description (and TTL). */
static int same_settings(const struct capture_def *a, const struct capture_def *b)
{
	return !strcmp(a->gremlin_query, b->gremlin_query) &&
	       !strcmp(a->bpf_filter, b->bpf_filter) && !strcmp(a->type, b->type) &&
	       !strcmp(a->layer_key_mode, b->layer_key_mode) && !strcmp(a->target, b->target) &&
	       !strcmp(a->target_type, b->target_type) && a->port == b->port &&
	       a->sampling_rate == b->sampling_rate && a->polling_interval == b->polling_interval &&
	       a->raw_packet_limit == b->raw_packet_limit && a->header_size == b->header_size &&
	       a->extra_layers == b->extra_layers && a->extra_tcp_metric == b->extra_tcp_metric &&
	       a->ip_defrag == b->ip_defrag && a->reassemble_tcp == b->reassemble_tcp;
}

/* Count of capture uuid in counts (from counts_fn, read before the registry lock). */
static int count_of(const json_t *counts, const char *uuid)
{
	return (int)json_integer_value(json_object_get(counts, uuid));
}

static json_t *read_counts(struct capture_res *r)
{
	pthread_mutex_lock(&r->lock);
	capture_res_counts_fn fn = r->counts_fn;
	void *user = r->counts_user;
	pthread_mutex_unlock(&r->lock);
	return fn ? fn(user) : NULL;
}

static void api_list(struct capture_res *r, struct rest_response *out)
{
	json_t *m = json_object(), *counts = read_counts(r);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; m && i < r->n; i++) {
		json_t *c = capture_def_to_json(&r->items[i], count_of(counts, r->items[i].uuid));
		if (!c || json_object_set_new(m, r->items[i].uuid, c)) {
			json_decref(m);
			m = NULL;
		}
	}
	pthread_mutex_unlock(&r->lock);
	json_decref(counts);
	if (!m)
		rest_reply_error(out, 500, "out of memory listing the captures");
	else
		rest_reply_json(out, 200, m);
}

static void api_get(struct capture_res *r, const char *id, struct rest_response *out)
{
	json_t *c = NULL, *counts = read_counts(r);
	pthread_mutex_lock(&r->lock);
	ssize_t i = capture_res_find(r, id);
	if (i >= 0)
		c = capture_def_to_json(&r->items[i], count_of(counts, id));
	pthread_mutex_unlock(&r->lock);
	json_decref(counts);
	if (i < 0)
		rest_reply_error(out, 404, "Capture '%.100s' not found", id);
	else if (!c)
		rest_reply_error(out, 500, "out of memory");
	else
		rest_reply_json(out, 200, c);
}

/* PATCH /api/capture/<id>: a JSON Patch (RFC 6902), as Skydive's API server
 * takes it (graffiti/api/server/server.go patchMethod): the patch is decoded,
 * applied to the capture's JSON and the result validated, each step's
 * failure a 400 with Skydive's words; then, as Skydive's capture handler
 * (api/server/capture.go Update returns ErrNotUpdatable), no field may change:
 * 400 "resource not updatable". Unknown id: 404. */
static void api_patch(struct capture_res *r, const struct capture_res_request *req, const char *id,
		      struct rest_response *out)
{
	json_t *doc = NULL, *counts = read_counts(r);
	pthread_mutex_lock(&r->lock);
	ssize_t i = capture_res_find(r, id);
	if (i >= 0)
		doc = capture_def_to_json(&r->items[i], count_of(counts, id));
	pthread_mutex_unlock(&r->lock);
	json_decref(counts);
	if (i < 0)
		return rest_reply_error(out, 404, "Capture '%.100s' not found", id);
	if (!doc)
		return rest_reply_error(out, 500, "out of memory");
	char why[400];
	json_error_t je;
	json_t *patch = json_loadb(req->body ? req->body : "", req->body_len, 0, &je);
	if (!patch)
		snprintf(why, sizeof(why), "invalid JSON at line %d, column %d: %s", je.line,
			 je.column, je.text);
	if (!patch || json_patch_check(patch, why, sizeof(why))) {
		rest_reply_error(out, 400, "incorrect JSON patch: %s", why);
		goto out;
	}
	if (json_patch_apply(&doc, patch, why, sizeof(why))) {
		rest_reply_error(out, 400, "applying JSON patch to resource: %s", why);
		goto out;
	}
	struct capture_def c = {0};
	struct capture_res_error e = {.pos = -1};
	int rc = json_is_object(doc) ? capture_def_from_json(doc, &c, &e)
				     : fail(&e, -1, "a Capture is a JSON object");
	capture_def_clear(&c);
	if (rc)
		rest_reply_error(out, 400, "validating patched resource: %s", e.msg);
	else
		rest_reply_error(out, 400,
				 "updating resource with patched version: resource not updatable "
				 "(a capture cannot be changed, as in Skydive: delete it and create "
				 "it again)");
out:
	json_decref(patch);
	json_decref(doc);
}

static void api_delete(struct capture_res *r, const char *id, struct rest_response *out)
{
	char err[512];
	struct capture_def gone;
	pthread_mutex_lock(&r->lock);
	ssize_t i = capture_res_find(r, id);
	if (i < 0) {
		pthread_mutex_unlock(&r->lock);
		rest_reply_error(out, 404, "Capture '%.100s' not found", id);
		return;
	}
	gone = r->items[i];
	memmove(&r->items[i], &r->items[i + 1], (r->n - (size_t)i - 1) * sizeof(*r->items));
	r->n--;
	if (capture_res_persist(r, RES_DELETED, &gone, err, sizeof(err))) {
		/* put it back where it was: nothing changed */
		memmove(&r->items[i + 1], &r->items[i], (r->n - (size_t)i) * sizeof(*r->items));
		r->items[i] = gone;
		r->n++;
		pthread_mutex_unlock(&r->lock);
		rest_reply_error(out, 500, "capture not deleted: %s", err);
		return;
	}
	pthread_mutex_unlock(&r->lock);
	log_info("api: capture %s deleted", gone.uuid);
	capture_res_notify(r, CAPTURE_RES_DELETED, &gone);
	capture_def_clear(&gone);
	out->status = 200;
	out->content_type = CT_TEXT;
	out->body = NULL;
	out->len = 0;
}

static void create_from(struct capture_res *r, const json_t *body, int64_t ttl, int64_t now,
			struct rest_response *out);

static void api_create(struct capture_res *r, const struct capture_res_request *req, int64_t now,
                       struct rest_response *out)
{
	struct capture_res_error e = {.pos = -1};
	int64_t ttl = 0;
	if (req->ttl && *req->ttl && (capture_res_parse_duration(req->ttl, &ttl) || ttl < 0)) {
		rest_reply_error(
		    out, 400,
		    "invalid X-Resource-TTL '%.64s': expected a Go duration such as 30s, 5m "
		    "or 1h30m (or a number of milliseconds)",
		    req->ttl);
		return;
	}
	json_t *body = parse_body(req->content_type, req->body, req->body_len, &e);
	if (!body) {
		reply_cerr(out, 400, &e);
		return;
	}
	create_from(r, body, ttl, now, out);
	json_decref(body);
}

/* Validates and stores the capture of body (Skydive's fields), ttl ms (0 =
 * none) from now. Returns 201 with *created (new reference, the API JSON), or
 * the status of the refusal with e filled: 400 refused, 409 one with the same
 * settings exists, 500. */
static int create_def(struct capture_res *r, const json_t *body, int64_t ttl, int64_t now,
		      json_t **created, struct capture_res_error *e)
{
	struct capture_def c = {0};
	char err[512];
	*created = NULL;
	int rc = capture_def_from_json(body, &c, e);
	if (!rc)
		rc = capture_def_check_graph(&c, r->g, e);
	if (!rc)
		rc = res_uuid_new(c.uuid);
	if (rc) {
		capture_def_clear(&c);
		if (rc == -EINVAL)
			return 400;
		e->pos = -1;
		snprintf(e->msg, sizeof(e->msg), "capture not created: %s", strerror(-rc));
		return 500;
	}
	c.expires_ms = ttl > 0 ? now + ttl : 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (!same_settings(&r->items[i], &c))
			continue;
		e->pos = -1;
		snprintf(e->msg, sizeof(e->msg),
			 "Capture '%s' already has the same settings (only Name and Description "
			 "differ): delete it first or change a setting",
			 r->items[i].uuid);
		pthread_mutex_unlock(&r->lock);
		capture_def_clear(&c);
		return 409;
	}
	json_t *j = capture_def_to_json(&c, 0);
	rc = j ? capture_res_append(r, &c) : -ENOMEM;
	if (!rc && capture_res_persist(r, RES_CREATED, &c, err, sizeof(err))) {
		r->n--;
		rc = -EIO;
	}
	/* c's strings belong to the registry now: listeners get a copy taken
	 * under the lock, safe from a concurrent delete. */
	struct capture_def copy = {0};
	int have_copy = !rc && !capture_def_copy(&copy, &c);
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		json_decref(j);
		e->pos = -1;
		snprintf(e->msg, sizeof(e->msg), "capture not created: %.400s",
			 rc == -EIO ? err : "out of memory");
		capture_def_clear(&c);
		return 500;
	}
	if (have_copy) {
		log_info("api: capture %s created (%s)", copy.uuid, copy.gremlin_query);
		capture_res_notify(r, CAPTURE_RES_CREATED, &copy);
		capture_def_clear(&copy);
	}
	*created = j;
	return 201;
}

static void create_from(struct capture_res *r, const json_t *body, int64_t ttl, int64_t now,
			struct rest_response *out)
{
	struct capture_res_error e = {.pos = -1};
	json_t *j;
	int status = create_def(r, body, ttl, now, &j, &e);
	if (status == 201)
		rest_reply_json(out, 201, j);
	else
		reply_cerr(out, status, &e);
}

void capture_res_handle(struct capture_res *r, const struct capture_res_request *req,
                        struct rest_response *out)
{
	memset(out, 0, sizeof(*out));
	int64_t now = req->now_ms ? req->now_ms : rest_now_ms();
	capture_res_expire(r, now); /* lazily, besides the analyzer's timer */
	const char *m = req->method ? req->method : "";
	const char *p = req->path + strlen("/api/capture");
	if (!*p || !strcmp(p, "/")) {
		if (!strcmp(m, "GET"))
			return api_list(r, out);
		if (!strcmp(m, "POST"))
			return api_create(r, req, now, out);
		return rest_reply_error(out, 405,
		                   "method %s not allowed on /api/capture (use GET or POST)", m);
	}
	const char *id = p + 1;
	if (*p != '/' || strchr(id, '/'))
		return rest_reply_error(
		    out, 404, "no such endpoint: %.200s (use /api/capture or /api/capture/<UUID>)",
		    req->path);
	if (!strcmp(m, "GET"))
		return api_get(r, id, out);
	if (!strcmp(m, "DELETE"))
		return api_delete(r, id, out);
	if (!strcmp(m, "PATCH"))
		return api_patch(r, req, id, out);
	rest_reply_error(out, 405,
			 "method %s not allowed on /api/capture/<UUID> (use GET, PATCH or DELETE)",
			 m);
}

/* ---- analyzer.startup (Skydive's analyzer/server.go createStartupCapture) ---- */

struct startup_match {
	const char *gremlin, *bpf, *type;
	char uuid[37];
};

/* Skydive's duplicate rule for it: the same GremlinQuery and Type (and
 * BPFFilter), whatever the other settings. */
static int startup_same(void *user, const struct capture_def *c)
{
	struct startup_match *m = user;
	if (strcmp(c->gremlin_query, m->gremlin) || strcmp(c->bpf_filter, m->bpf) ||
	    strcmp(c->type, m->type))
		return 0;
	memcpy(m->uuid, c->uuid, sizeof(m->uuid));
	return 1;
}

int capture_res_startup(struct capture_res *r, const struct config *cfg, char *err,
			size_t errlen)
{
	struct startup_match m = {
	    .gremlin = config_get_string(cfg, "analyzer.startup.capture_gremlin", ""),
	    .bpf = config_get_string(cfg, "analyzer.startup.capture_bpf", ""),
	    .type = config_get_string(cfg, "analyzer.startup.capture_type", ""),
	};
	if (!*m.gremlin)
		return 0;
	if (capture_res_foreach(r, startup_same, &m)) {
		log_info("analyzer: startup capture exists already: %s (%s)", m.uuid, m.gremlin);
		return 0;
	}
	json_t *body = json_pack("{ss ss ss}", "GremlinQuery", m.gremlin, "BPFFilter", m.bpf,
				 "Type", m.type);
	if (!body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct capture_res_error e = {.pos = -1};
	json_t *created;
	int status = create_def(r, body, 0, rest_now_ms(), &created, &e);
	json_decref(body);
	if (status == 201) {
		log_info("analyzer: startup capture %s created (%s, BPF '%s', type '%s')",
			 json_string_value(json_object_get(created, "UUID")), m.gremlin, m.bpf,
			 *m.type ? m.type : "the node's default");
		json_decref(created);
		return 0;
	}
	if (status == 409) { /* the same settings, found by the stricter rule: still there */
		log_info("analyzer: startup capture exists already: %s", e.msg);
		return 0;
	}
	snprintf(err, errlen, "analyzer.startup.capture_gremlin '%s': %s", m.gremlin, e.msg);
	return status == 400 ? -EINVAL : -ENOMEM;
}
