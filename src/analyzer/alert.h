/* alert.h - Skydive's alerts (graffiti/alert/server.go, graffiti/api/types Alert,
 * graffiti/api/server/alert.go): the Alert resource of /api/alert, kept in
 * <data_dir>/alerts.json, evaluated on a thread of its own, its messages sent to the
 * alert's action (alert_action.h) and broadcast on the WebSocket "Alert" namespace.
 *
 * An alert's Expression is a Gremlin query; a non-empty result fires it. As Skydive's
 * evaluateAlert, it fires when the result is non-empty and differs from the result that
 * fired it last; an empty result re-arms it. So it fires once per transition to true, and
 * again while true only if what the query returns changes (docs/API.md "Alerts").
 * Triggers: "graph" (or empty): evaluated after topology changes, coalesced to at most
 * one evaluation every ALERT_GRAPH_COALESCE_MS; "duration:<Go duration>": periodic. Both
 * are evaluated once when the alert is created (or loaded), as Skydive's registerAlert.
 * A JavaScript expression (Skydive's fallback through otto) is refused with 400.
 *
 * Threads: alert_res_handle runs on the event loop (cheap: the registry parses, validates,
 * saves a small file); the evaluation thread takes the graph's reader side for each evaluation
 * (never the loop); the graph listener only sets a flag and signals. One mutex guards
 * the registry; evaluation runs without it (entries are reference counted). */
#ifndef SKYDIVE_ALERT_H
#define SKYDIVE_ALERT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/alert_action.h"
#include "analyzer/rest.h"
#include "config/config.h"
#include "graph/graph.h"
#include "gremlin/gremlin.h"

#define ALERT_RES_FILE          "alerts.json" /* in the data directory */
#define ALERT_GRAPH_COALESCE_MS 100

/* Skydive's Alert (graffiti/api/types/types.go). Strings malloc'd, never NULL. */
struct alert_def {
	char uuid[37];
	char *name, *description, *expression, *action, *trigger;
	char create_time[40]; /* RFC 3339 with ns, UTC, as Go's time.Time JSON */
};

/* A Trigger: graph (period_ms 0) or duration:<d> (period_ms > 0). */
struct alert_trigger {
	int64_t period_ms;
};
/* "" and "graph" -> graph; "duration:10s" -> 10000 ms (a Go duration > 0, at least 1 ms).
 * 0, or -EINVAL with err filled. */
int alert_trigger_parse(const char *s, struct alert_trigger *t, char *err, size_t errlen);

/* The Alert object read (keys matched without regard to case, as Go's encoding/json;
 * UUID and CreateTime ignored) and checked: Expression is a Gremlin query (err_pos its
 * position when it does not parse; -1 otherwise), Trigger as alert_trigger_parse, Action
 * "", http(s)://host..., or file:///absolute/path (allow_commands 0: refused). out is
 * cleared first; release with alert_def_clear in both cases. 0 or -EINVAL/-ENOMEM. */
int alert_def_from_json(const json_t *in, int allow_commands, struct alert_def *out, char *err,
                        size_t errlen, int *err_pos);
/* Skydive's JSON of an Alert (omitempty strings, CreateTime). New reference or NULL. */
json_t *alert_def_to_json(const struct alert_def *d);
void alert_def_clear(struct alert_def *d);

struct alert_res;

/* Loads <data_dir>/alerts.json through the resource registry (a corrupt file is set aside
 * as .corrupt and logged; an invalid alert in it is logged and dropped). g, fops (may be NULL) and bcast are
 * borrowed. allow_commands: analyzer.alert.allow_commands. NULL on out of memory. */
typedef void (*alert_broadcast_fn)(void *user, json_t *ws_msg /* stolen */);
struct alert_res *alert_res_new(const char *data_dir, struct graph *g,
                                const struct gremlin_flow_ops *fops, const struct config *cfg,
                                struct alert_actions *actions, alert_broadcast_fn bcast,
                                void *bcast_user);
/* The same with the registry's objects in store (resource.h; taken, even on failure)
 * instead of <data_dir>/alerts.json: the etcd store of a cluster (etcd_store.h). */
struct res_store;
struct alert_res *alert_res_new_store(const char *data_dir, const struct res_store *store,
                                      struct graph *g, const struct gremlin_flow_ops *fops,
                                      const struct config *cfg, struct alert_actions *actions,
                                      alert_broadcast_fn bcast, void *bcast_user);
/* Whether this analyzer evaluates the alerts (1 at start): in a cluster only the holder
 * of Skydive's /elections/alert-server does; when it becomes so, every alert is
 * evaluated at once (as a new alert server registers them). Any thread. */
void alert_res_set_active(struct alert_res *r, int active);
int alert_res_is_active(struct alert_res *r);
/* The registry of the Alert objects (borrowed), for the store's watch. */
struct res_registry *alert_res_registry(struct alert_res *r);
/* Starts the evaluation thread (alerts loaded are evaluated at once). 0 or -errno. */
int alert_res_start(struct alert_res *r);
void alert_res_free(struct alert_res *r); /* stops the thread; NULL is fine */

/* Answers GET /api/alert, GET/DELETE /api/alert/<uuid>, POST /api/alert (JSON, or YAML by
 * content_type), through the resource registry (resource.h), which keeps the objects in
 * <data_dir>/alerts.json; its listener adds and removes what is evaluated. */
void alert_res_handle(struct alert_res *r, const char *method, const char *path,
                      const char *content_type, const char *body, size_t len,
                      struct rest_response *out);

/* {"<uuid>": {"Name","Fired","Evaluations","Errors","LastError","LastFired",
 * "Action": alert_actions stats of its action}} for GET /api/status "Alerts", with
 * "IsMaster" (Skydive's ElectionStatus: whether this analyzer evaluates). */
json_t *alert_res_status(struct alert_res *r);
/* Prometheus lines (skydive_alert_*), metrics.h's writer. */
struct buf;
void alert_res_metrics(struct alert_res *r, struct buf *b, const char *host);
size_t alert_res_count(struct alert_res *r);

#endif
