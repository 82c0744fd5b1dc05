/* alert_action.h - the actions of alerts (Skydive's GremlinAlert.trigger,
 * graffiti/alert/server.go): a webhook (POST of the alert message as JSON to an
 * http:// or https:// URL) or a local command (file:///path: run with no arguments, the
 * message on its standard input), sent by one thread of their own from a bounded queue.
 *
 * A webhook is tried up to `attempts` times, waiting backoff_ms, then twice that ...
 * between tries; an answer other than 2xx, a connection error or a timeout is a failed
 * try (Skydive posts once and ignores the answer: we retry, and count). A command that
 * exits non-zero, is killed, or outlives timeout_ms (then killed) fails, not retried (it
 * may have done part of its work). Every message is counted once: sent, failed (after
 * its tries) or dropped (the queue was full when it came, or it was still queued at
 * stop); globally and per alert (struct alert_action_stats), shown in /api/status
 * "Alerts" and /metrics.
 *
 * Threads: submit from any thread (one mutex); the sender thread does the I/O. */
#ifndef SKYDIVE_ALERT_ACTION_H
#define SKYDIVE_ALERT_ACTION_H

#include <stddef.h>
#include <stdint.h>

struct alert_actions;

/* The counters of one alert's action (shared by the alert and its queued messages). */
struct alert_action_stats {
	uint64_t sent, failed, dropped, retries;
	char last_error[256];
	int refs; /* under the actions' mutex */
};

struct alert_actions_totals {
	uint64_t sent, failed, dropped, retries;
	size_t queued, queue_max;
};

/* max_queue >= 1 messages waiting; attempts >= 1; timeout_ms of one try. NULL on OOM. */
struct alert_actions *alert_actions_new(size_t max_queue, int attempts, int64_t backoff_ms,
                                        int64_t timeout_ms);
/* Starts the sender thread (until then messages only queue). 0 or -errno. */
int alert_actions_start(struct alert_actions *q);
/* Stops the thread after the try in progress; what is still queued counts as dropped.
 * NULL is fine. */
void alert_actions_free(struct alert_actions *q);

/* New counters (refs 1) or NULL; release with alert_action_stats_unref. */
struct alert_action_stats *alert_action_stats_new(struct alert_actions *q);
void alert_action_stats_unref(struct alert_actions *q, struct alert_action_stats *st);
/* A copy of st's counters taken under the mutex. */
void alert_action_stats_read(struct alert_actions *q, const struct alert_action_stats *st,
                             struct alert_action_stats *out);

/* Queues payload (copied) for target ("http://...", "https://...", "file:///path").
 * 0, or -ENOBUFS (queue full: counted dropped), -EINVAL (no such kind of target), -ENOMEM
 * (counted dropped). st may be NULL. */
int alert_actions_submit(struct alert_actions *q, const char *target, const char *payload,
                         struct alert_action_stats *st);
void alert_actions_totals(struct alert_actions *q, struct alert_actions_totals *out);

/* What kind of action s is: 0 none (""), 1 webhook, 2 command; -1 anything else, with
 * err filled (a URL without a host, a relative path ...). */
int alert_action_kind(const char *s, char *err, size_t errlen);

#endif
