/* alert.c - alerts (alert.h): the Alert's validation and JSON, the registry and its file,
 * /api/alert, and the evaluation thread. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "analyzer/alert.h"
#include "analyzer/resource.h"
#include "common/buf.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/prom.h"
#include "wire/graph_msg.h"

#define ALERT_NAMESPACE "Alert" /* Skydive's alert.Namespace */

/* ---- the Alert ----------------------------------------------------------- */

int alert_trigger_parse(const char *s, struct alert_trigger *t, char *err, size_t errlen)
{
	t->period_ms = 0;
	if (!s || !*s || !strcmp(s, "graph"))
		return 0;
	if (strncmp(s, "duration:", 9)) {
		snprintf(err, errlen,
		         "Trigger '%.200s': expected 'graph' (on topology changes) or "
		         "'duration:<Go duration>' (periodic, e.g. duration:10s)",
		         s);
		return -EINVAL;
	}
	int64_t ns;
	if (duration_parse(s + 9, &ns) || ns < 1000000) {
		snprintf(err, errlen,
		         "Trigger '%.200s': '%.100s' is not a Go duration of at least 1ms (e.g. "
		         "duration:10s, duration:1m30s)",
		         s, s + 9);
		return -EINVAL;
	}
	t->period_ms = ns / 1000000;
	return 0;
}

void alert_def_clear(struct alert_def *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->description);
	free(d->expression);
	free(d->action);
	free(d->trigger);
	memset(d, 0, sizeof(*d));
}

/* The member of o named key, compared without regard to case (Go's encoding/json). */
static json_t *get_ci(const json_t *o, const char *key)
{
	const char *k;
	json_t *v;
	json_t *exact = json_object_get(o, key);
	if (exact)
		return exact;
	json_object_foreach((json_t *)o, k, v) if (!strcasecmp(k, key)) return v;
	return NULL;
}

/* A JavaScript expression, as opposed to a Gremlin query that does not parse: Skydive
 * falls back to otto when its Gremlin parser refuses the text; a query starts with G. */
static int looks_gremlin(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	if (*s != 'G' && *s != 'g')
		return 0;
	s++;
	while (isspace((unsigned char)*s))
		s++;
	return !*s || *s == '.';
}

int alert_def_from_json(const json_t *in, int allow_commands, struct alert_def *out, char *err,
                        size_t errlen, int *err_pos)
{
	static const char *const keys[] = {"Name", "Description", "Expression", "Action",
	                                   "Trigger"};
	memset(out, 0, sizeof(*out));
	*err_pos = -1;
	char **fields[] = {&out->name, &out->description, &out->expression, &out->action,
	                   &out->trigger};
	if (!json_is_object(in)) {
		snprintf(err, errlen, "the body must be an Alert object ({\"Expression\": ...})");
		return -EINVAL;
	}
	const char *k;
	json_t *kv;
	json_object_foreach((json_t *)in, k, kv)
	{
		int known = !strcasecmp(k, "UUID") || !strcasecmp(k, "CreateTime");
		for (size_t i = 0; !known && i < 5; i++)
			known = !strcasecmp(k, keys[i]);
		if (!known) {
			snprintf(err, errlen,
			         "unknown Alert field '%.64s' (expected Name, Description, Expression, "
			         "Trigger, Action)",
			         k);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < 5; i++) {
		json_t *v = get_ci(in, keys[i]);
		if (v && !json_is_string(v) && !json_is_null(v)) {
			snprintf(err, errlen, "%s must be a string", keys[i]);
			return -EINVAL;
		}
		const char *s = json_string_value(v);
		if (!(*fields[i] = strdup(s ? s : "")))
			return -ENOMEM;
		if (strlen(*fields[i]) != (v ? json_string_length(v) : 0)) {
			snprintf(err, errlen, "%s must not contain NUL characters", keys[i]);
			return -EINVAL;
		}
	}
	const char *e = out->expression;
	while (isspace((unsigned char)*e))
		e++;
	if (!*e) {
		snprintf(err, errlen, "Expression is required: a Gremlin query, e.g. "
		                      "G.V().Has('Name', 'eth0', 'State', 'DOWN')");
		return -EINVAL;
	}
	struct gremlin_error ge = {0};
	struct gremlin_query *q = gremlin_parse(out->expression, &ge);
	if (!q) {
		if (!looks_gremlin(out->expression)) {
			snprintf(err, errlen,
			         "Expression: JavaScript expressions are not supported by this "
			         "analyzer, only Gremlin queries (G.V()..., G.Flows()...; docs/API.md "
			         "\"Alerts\")");
			return -EINVAL;
		}
		snprintf(err, errlen, "Expression: %s", ge.msg);
		*err_pos = ge.pos;
		return -EINVAL;
	}
	gremlin_query_free(q);
	struct alert_trigger t;
	if (alert_trigger_parse(out->trigger, &t, err, errlen))
		return -EINVAL;
	int kind = alert_action_kind(out->action, err, errlen);
	if (kind < 0)
		return -EINVAL;
	if (kind == 2 && !allow_commands) {
		snprintf(err, errlen,
		         "Action '%.200s': local commands are disabled (set "
		         "analyzer.alert.allow_commands: true; docs/SECURITY.md)",
		         out->action);
		return -EINVAL;
	}
	return 0;
}

json_t *alert_def_to_json(const struct alert_def *d)
{
	json_t *o = json_pack("{s:s}", "UUID", d->uuid);
	static const char *const keys[] = {"Name", "Description", "Expression", "Action",
	                                   "Trigger"};
	const char *vals[] = {d->name, d->description, d->expression, d->action, d->trigger};
	for (size_t i = 0; o && i < 5; i++)
		if (vals[i] && *vals[i] && json_object_set_new(o, keys[i], json_string(vals[i]))) {
			json_decref(o);
			return NULL;
		}
	if (o && json_object_set_new(o, "CreateTime", json_string(d->create_time))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Go's time.Time JSON of now, UTC: 2026-01-02T15:04:05.123456789Z */
static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n && n < len)
		snprintf(buf + n, len - n, ".%09dZ", (int)(ts.tv_nsec % 1000000000));
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the registry --------------------------------------------------------- */

struct entry {
	struct entry *next;
	int refs, deleted;
	struct alert_def d;
	struct gremlin_query *q;
	int64_t period_ms; /* 0: graph trigger */
	int64_t next_ms;   /* periodic: when due (monotonic) */
	int pending;       /* evaluate at once (new) */
	int kind;          /* alert_action_kind */
	json_t *last;      /* what fired it last (evaluation thread only) */
	uint64_t fired, evals, errors;
	char last_error[300], last_fired[40];
	struct alert_action_stats *st;
};

struct alert_res {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stop;
	struct res_kind kind;       /* alert_kind_tmpl with this registry as user */
	struct res_registry *reg;   /* the Alert objects: /api/alert, alerts.json */
	int loading;                /* res_registry_new is reading the file (validate) */
	int listen_id;
	struct graph *g;
	const struct gremlin_flow_ops *fops;
	const struct config *cfg;
	struct alert_actions *actions;
	alert_broadcast_fn bcast;
	void *bcast_user;
	int allow_commands;
	int listener;
	int active; /* evaluates (0: another analyzer of the cluster does: alert_res_set_active) */
	struct entry *head;
	size_t n;
	int graph_dirty;
	int64_t graph_last_ms;
	uint64_t ws_messages, eval_total;
};

static void entry_unref(struct alert_res *r, struct entry *e)
{
	if (!e || --e->refs > 0)
		return;
	alert_def_clear(&e->d);
	gremlin_query_free(e->q);
	json_decref(e->last);
	if (e->st)
		alert_action_stats_unref(r->actions, e->st);
	free(e);
}

/* A new entry for d (stolen on success). NULL on error (d left to the caller). */
static struct entry *entry_new(struct alert_res *r, struct alert_def *d)
{
	struct entry *e = calloc(1, sizeof(*e));
	struct gremlin_error ge;
	struct alert_trigger t = {0};
	char err[256];
	if (!e)
		return NULL;
	e->q = gremlin_parse(d->expression, &ge);
	e->st = alert_action_stats_new(r->actions);
	if (!e->q || !e->st || alert_trigger_parse(d->trigger, &t, err, sizeof(err))) {
		gremlin_query_free(e->q);
		if (e->st)
			alert_action_stats_unref(r->actions, e->st);
		free(e);
		return NULL;
	}
	e->kind = alert_action_kind(d->action, err, sizeof(err));
	e->d = *d;
	memset(d, 0, sizeof(*d));
	e->refs = 1;
	e->period_ms = t.period_ms;
	e->pending = 1;
	return e;
}

static void append(struct alert_res *r, struct entry *e)
{
	struct entry **p = &r->head;
	while (*p)
		p = &(*p)->next;
	*p = e;
	r->n++;
}

/* res_kind.validate: the Alert checked (alert_def_from_json) and made canonical in place:
 * Skydive's field names and omitempty, CreateTime kept when given (Skydive's New() sets it
 * before the body is decoded over it), else now. Local commands are checked against
 * analyzer.alert.allow_commands for a POST, not for what the file held (they are checked
 * again when they would run). */
static int validate(void *user, json_t *obj, struct res_error *err)
{
	struct alert_res *r = user;
	struct alert_def d;
	int pos;
	int rc = alert_def_from_json(obj, r->loading || r->allow_commands, &d, err->msg,
	                             sizeof(err->msg), &pos);
	err->pos = pos;
	if (rc) {
		alert_def_clear(&d);
		return rc;
	}
	const char *ct = json_string_value(get_ci(obj, "CreateTime"));
	if (ct && *ct && strlen(ct) < sizeof(d.create_time))
		snprintf(d.create_time, sizeof(d.create_time), "%s", ct);
	else
		now_rfc3339(d.create_time, sizeof(d.create_time));
	json_t *j = alert_def_to_json(&d);
	alert_def_clear(&d);
	if (!j)
		return -ENOMEM;
	json_object_del(j, "UUID"); /* the registry's */
	json_object_clear(obj);
	rc = json_object_update(obj, j) ? -ENOMEM : 0;
	json_decref(j);
	return rc;
}

/* An entry for a stored alert (its object as validate() left it). */
static int add_stored(void *user, const char *uuid, const json_t *obj)
{
	struct alert_res *r = user;
	struct alert_def d;
	char err[512];
	int pos;
	int rc = alert_def_from_json(obj, 1, &d, err, sizeof(err), &pos);
	const char *ct = json_string_value(json_object_get(obj, "CreateTime"));
	struct entry *e = NULL;
	if (!rc && strlen(uuid) < sizeof(d.uuid)) {
		snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
		snprintf(d.create_time, sizeof(d.create_time), "%s", ct ? ct : "");
		e = entry_new(r, &d);
	}
	if (!e) {
		log_error("alert: alert %.64s not evaluated: %s", uuid,
		          rc ? err : "bad UUID or out of memory");
		alert_def_clear(&d);
		return 0;
	}
	pthread_mutex_lock(&r->lock);
	append(r, e);
	pthread_cond_signal(&r->cond); /* pending: evaluated at once */
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* The registry's listener: its changes, on the thread that made them (the loop). */
static void on_change(void *user, enum res_event ev, const char *uuid, const json_t *obj)
{
	struct alert_res *r = user;
	if (ev == RES_CREATED) {
		add_stored(r, uuid, obj);
		log_info("alert: %s created: %s", uuid,
		         json_string_value(json_object_get(obj, "Expression")));
		return;
	}
	pthread_mutex_lock(&r->lock);
	for (struct entry **p = &r->head; *p; p = &(*p)->next) {
		struct entry *e = *p;
		if (strcmp(e->d.uuid, uuid))
			continue;
		*p = e->next;
		e->deleted = 1; /* an evaluation in progress holds its own reference */
		r->n--;
		entry_unref(r, e);
		break;
	}
	pthread_mutex_unlock(&r->lock);
	log_info("alert: %s deleted", uuid);
}

static const struct res_kind alert_kind_tmpl = {
    .name = "alert", .title = "Alert", .file = ALERT_RES_FILE, .validate = validate};

/* ---- evaluation ------------------------------------------------------------ */

static void on_graph(void *user, enum graph_event ev, const struct graph_node *n,
                     const struct graph_edge *e)
{
	(void)ev;
	(void)n;
	(void)e;
	struct alert_res *r = user;
	pthread_mutex_lock(&r->lock);
	if (!r->graph_dirty) {
		r->graph_dirty = 1;
		pthread_cond_signal(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Skydive's "non empty result": a graph result with a node or an edge, else an array
 * or object with a member, else any value. */
static int non_empty(const struct gremlin_result *res)
{
	const json_t *j = res->json;
	if (!j || json_is_null(j))
		return 0;
	if (res->kind == GREMLIN_RESULT_GRAPH) {
		const json_t *g = json_array_get(j, 0);
		return json_array_size(json_object_get(g, "Nodes")) > 0 ||
		       json_array_size(json_object_get(g, "Edges")) > 0;
	}
	if (json_is_array(j))
		return json_array_size(j) > 0;
	if (json_is_object(j))
		return json_object_size(j) > 0;
	return 1;
}

/* The alert message (Skydive's alert.Message) and what is done with it. */
static void fire(struct alert_res *r, struct entry *e, json_t *data)
{
	char ts[40];
	now_rfc3339(ts, sizeof(ts));
	json_t *msg =
	    json_pack("{s:s, s:s, s:O}", "UUID", e->d.uuid, "Timestamp", ts, "ReasonData", data);
	char *payload = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	pthread_mutex_lock(&r->lock);
	e->fired++;
	snprintf(e->last_fired, sizeof(e->last_fired), "%s", ts);
	pthread_mutex_unlock(&r->lock);
	log_info("alert: %s (%s) fired%s%s", e->d.uuid, e->d.name,
	         e->kind ? ": action " : "", e->kind ? e->d.action : "");
	if (!payload) {
		log_error("alert: out of memory building the message of %s", e->d.uuid);
	} else if (e->kind == 2 && !r->allow_commands) {
		pthread_mutex_lock(&r->lock);
		snprintf(e->last_error, sizeof(e->last_error),
		         "not run: local commands are disabled (analyzer.alert.allow_commands)");
		pthread_mutex_unlock(&r->lock);
		struct alert_action_stats *st = e->st;
		(void)st;
		log_warn("alert: %s: %s not run: analyzer.alert.allow_commands is false",
		         e->d.uuid, e->d.action);
	} else if (e->kind) {
		int rc = alert_actions_submit(r->actions, e->d.action, payload, e->st);
		if (rc == -ENOBUFS)
			log_warn("alert: %s: message dropped: the action queue is full "
			         "(analyzer.alert.action_queue)",
			         e->d.uuid);
	}
	free(payload);
	if (msg && r->bcast) {
		r->bcast(r->bcast_user, graph_msg_new(ALERT_NAMESPACE, "Alert", json_incref(msg)));
		pthread_mutex_lock(&r->lock);
		r->ws_messages++;
		pthread_mutex_unlock(&r->lock);
	}
	json_decref(msg);
}

/* Evaluates e (no registry lock held; e referenced). */
static void evaluate(struct alert_res *r, struct entry *e)
{
	int64_t now = rest_now_ms(), at = 0, dur = 0;
	int timed = gremlin_time_context(e->q, now, &at, &dur), trunc = 0;
	struct gremlin_env env = {.now_ms = now, .flow_ops = r->fops};
	rest_gremlin_bounds(r->cfg, &env);
	struct gremlin_result res = {0};
	struct gremlin_error ge = {0};
	graph_rdlock(r->g);
	struct graph_view *v = graph_view_at(r->g, timed ? at : 0, &trunc);
	int rc = v ? gremlin_eval(e->q, v, &env, &res, &ge) : -ENOMEM;
	graph_view_free(v);
	graph_unlock(r->g);
	pthread_mutex_lock(&r->lock);
	e->evals++;
	r->eval_total++;
	if (rc) {
		e->errors++;
		snprintf(e->last_error, sizeof(e->last_error), "evaluation: %s",
		         rc == -ENOMEM ? "out of memory" : ge.msg);
	}
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		log_warn("alert: %s: evaluation failed: %s", e->d.uuid, ge.msg);
		gremlin_result_clear(&res);
		return;
	}
	if (!non_empty(&res)) {
		json_decref(e->last); /* re-armed */
		e->last = NULL;
	} else if (!e->last || !json_equal(e->last, res.json)) {
		json_decref(e->last);
		e->last = json_incref(res.json);
		fire(r, e, res.json);
	}
	gremlin_result_clear(&res);
}

static void *eval_thread(void *arg)
{
	struct alert_res *r = arg;
	struct entry **due = NULL;
	size_t ndue = 0, cap = 0;
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		int64_t now = mono_ms(), wake = now + 60000;
		int graph_due = r->graph_dirty && now >= r->graph_last_ms + ALERT_GRAPH_COALESCE_MS;
		if (r->graph_dirty && !graph_due)
			wake = r->graph_last_ms + ALERT_GRAPH_COALESCE_MS;
		if (graph_due) {
			r->graph_dirty = 0;
			r->graph_last_ms = now;
		}
		ndue = 0;
		for (struct entry *e = r->active ? r->head : NULL; e; e = e->next) {
			if (e->deleted)
				continue;
			int go = e->pending || (e->period_ms ? now >= e->next_ms : graph_due);
			if (e->period_ms && !go && e->next_ms < wake)
				wake = e->next_ms;
			if (!go)
				continue;
			if (ndue == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct entry **nd = realloc(due, nc * sizeof(*nd));
				if (!nd)
					break; /* the others next round */
				due = nd;
				cap = nc;
			}
			e->pending = 0;
			if (e->period_ms)
				e->next_ms = now + e->period_ms;
			e->refs++;
			due[ndue++] = e;
		}
		if (!ndue) {
			struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (wake % 1000) * 1000000};
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		for (size_t i = 0; i < ndue; i++)
			if (!r->stop)
				evaluate(r, due[i]);
		pthread_mutex_lock(&r->lock);
		for (size_t i = 0; i < ndue; i++)
			entry_unref(r, due[i]);
	}
	pthread_mutex_unlock(&r->lock);
	free(due);
	return NULL;
}

struct alert_res *alert_res_new(const char *data_dir, struct graph *g,
                                const struct gremlin_flow_ops *fops, const struct config *cfg,
                                struct alert_actions *actions, alert_broadcast_fn bcast,
                                void *bcast_user)
{
	return alert_res_new_store(data_dir, NULL, g, fops, cfg, actions, bcast, bcast_user);
}

struct alert_res *alert_res_new_store(const char *data_dir, const struct res_store *store,
                                      struct graph *g, const struct gremlin_flow_ops *fops,
                                      const struct config *cfg, struct alert_actions *actions,
                                      alert_broadcast_fn bcast, void *bcast_user)
{
	struct alert_res *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	r->g = g;
	r->fops = fops;
	r->cfg = cfg;
	r->actions = actions;
	r->bcast = bcast;
	r->bcast_user = bcast_user;
	r->allow_commands = cfg ? config_get_bool(cfg, "analyzer.alert.allow_commands", 0) : 0;
	r->listener = -1;
	r->listen_id = -1;
	r->kind = alert_kind_tmpl;
	r->kind.user = r;
	r->loading = 1;
	r->active = 1;
	r->reg = store ? res_registry_new_store(&r->kind, *store) : res_registry_new(data_dir, &r->kind);
	r->loading = 0;
	if (!r->reg || res_registry_foreach(r->reg, add_stored, r) ||
	    (r->listen_id = res_registry_listen(r->reg, on_change, r)) < 0) {
		alert_res_free(r);
		return NULL;
	}
	log_info("alert: %zu alerts loaded", r->n);
	return r;
}

int alert_res_start(struct alert_res *r)
{
	r->listener = graph_listener_add(r->g, on_graph, r);
	if (r->listener < 0)
		return r->listener;
	int rc = pthread_create(&r->thread, NULL, eval_thread, r);
	if (rc)
		return -rc;
	r->started = 1;
	return 0;
}

void alert_res_free(struct alert_res *r)
{
	if (!r)
		return;
	if (r->listener >= 0)
		graph_listener_remove(r->g, r->listener);
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->started)
		pthread_join(r->thread, NULL);
	while (r->head) {
		struct entry *e = r->head;
		r->head = e->next;
		entry_unref(r, e);
	}
	if (r->listen_id >= 0)
		res_registry_unlisten(r->reg, r->listen_id);
	res_registry_free(r->reg);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void alert_res_set_active(struct alert_res *r, int active)
{
	pthread_mutex_lock(&r->lock);
	int was = r->active;
	r->active = active;
	if (active && !was) /* as a new alert server: every alert evaluated at once */
		for (struct entry *e = r->head; e; e = e->next)
			e->pending = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (was != active)
		log_info("alert: %s evaluating alerts", active ? "now" : "no longer");
}

int alert_res_is_active(struct alert_res *r)
{
	pthread_mutex_lock(&r->lock);
	int a = r->active;
	pthread_mutex_unlock(&r->lock);
	return a;
}

struct res_registry *alert_res_registry(struct alert_res *r)
{
	return r->reg;
}

size_t alert_res_count(struct alert_res *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* ---- /api/alert -------------------------------------------------------------- */

void alert_res_handle(struct alert_res *r, const char *method, const char *path,
                      const char *content_type, const char *body, size_t len,
                      struct rest_response *out)
{
	struct res_request req = {.method = method,
	                          .path = path,
	                          .content_type = content_type,
	                          .body = body,
	                          .body_len = len};
	res_registry_handle(r->reg, &req, out);
}

/* ---- status and metrics ---------------------------------------------------------- */

json_t *alert_res_status(struct alert_res *r)
{
	json_t *m = json_object();
	struct alert_actions_totals t;
	alert_actions_totals(r->actions, &t);
	pthread_mutex_lock(&r->lock);
	for (struct entry *e = r->head; m && e; e = e->next) {
		if (e->deleted)
			continue;
		struct alert_action_stats st;
		alert_action_stats_read(r->actions, e->st, &st);
		const char *le = st.last_error[0] ? st.last_error : e->last_error;
		json_object_set_new(
		    m, e->d.uuid,
		    json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:{s:I, s:I, s:I, s:I}}", "Name",
		              e->d.name, "Fired", (json_int_t)e->fired, "Evaluations",
		              (json_int_t)e->evals, "Errors", (json_int_t)e->errors, "LastError",
		              le, "LastFired", e->last_fired, "Action", "Sent",
		              (json_int_t)st.sent, "Failed", (json_int_t)st.failed, "Dropped",
		              (json_int_t)st.dropped, "Retries", (json_int_t)st.retries));
	}
	json_t *s = json_pack("{s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o}", "Evaluations",
	                      (json_int_t)r->eval_total, "WebSocketMessages",
	                      (json_int_t)r->ws_messages, "Actions", "Sent", (json_int_t)t.sent,
	                      "Failed", (json_int_t)t.failed, "Dropped", (json_int_t)t.dropped,
	                      "Retries", (json_int_t)t.retries, "Queued", (json_int_t)t.queued,
	                      "QueueMax", (json_int_t)t.queue_max, "Alerts", m ? m : json_object());
	/* Skydive's hub.ElectionStatus at the same place: this analyzer evaluates */
	if (s)
		json_object_set_new(s, "IsMaster", json_boolean(r->active));
	pthread_mutex_unlock(&r->lock);
	return s;
}

void alert_res_metrics(struct alert_res *r, struct buf *b, const char *host)
{
	struct alert_actions_totals t;
	alert_actions_totals(r->actions, &t);
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
	    {"skydive_alert_fired_total", "counter", "Times an alert fired"},
	    {"skydive_alert_evaluations_total", "counter", "Evaluations of an alert"},
	    {"skydive_alert_action_sent_total", "counter", "Alert messages its action took"},
	    {"skydive_alert_action_failed_total", "counter",
	     "Alert messages whose action failed (after its retries)"},
	    {"skydive_alert_action_dropped_total", "counter",
	     "Alert messages dropped (the action queue was full, or stopped)"},
	};
	pthread_mutex_lock(&r->lock);
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		prom_family(b, fam[f].name, fam[f].type, fam[f].help);
		for (struct entry *e = r->head; e; e = e->next) {
			if (e->deleted)
				continue;
			struct alert_action_stats st;
			alert_action_stats_read(r->actions, e->st, &st);
			uint64_t v[] = {e->fired, e->evals, st.sent, st.failed, st.dropped};
			prom_u64(b, fam[f].name,
			         (prom_labels){"host", host, "alert", e->d.uuid, "name", e->d.name, NULL},
			         v[f]);
		}
	}
	pthread_mutex_unlock(&r->lock);
	prom_family(b, "skydive_alert_actions_total", "counter",
	            "Alert messages by outcome, every alert (deleted ones included)");
	const char *outcomes[] = {"sent", "failed", "dropped", "retried"};
	uint64_t ov[] = {t.sent, t.failed, t.dropped, t.retries};
	for (int i = 0; i < 4; i++)
		prom_u64(b, "skydive_alert_actions_total",
		         (prom_labels){"host", host, "outcome", outcomes[i], NULL}, ov[i]);
	prom_family(b, "skydive_alert_action_queue", "gauge", "Alert messages waiting to be sent");
	prom_u64(b, "skydive_alert_action_queue", (prom_labels){"host", host, NULL}, t.queued);
}
