/* alert_action.c - the alert actions' queue and sender thread (alert_action.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "analyzer/alert_action.h"
#include "common/log.h"

extern char **environ;

struct item {
	struct item *next;
	char *target, *payload;
	struct alert_action_stats *st;
};

struct alert_actions {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	int started, stop;
	struct item *head, *tail;
	size_t n, max;
	int attempts;
	int64_t backoff_ms, timeout_ms;
	uint64_t sent, failed, dropped, retries;
};

int alert_action_kind(const char *s, char *err, size_t errlen)
{
	if (!s || !*s)
		return 0;
	const char *host = NULL;
	if (!strncmp(s, "http://", 7))
		host = s + 7;
	else if (!strncmp(s, "https://", 8))
		host = s + 8;
	if (host) {
		if (!*host || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
			snprintf(err, errlen, "Action '%.200s': a webhook URL needs a host", s);
			return -1;
		}
		for (const char *c = s; *c; c++)
			if ((unsigned char)*c <= ' ' || *c == 0x7f) {
				snprintf(err, errlen,
				         "Action '%.200s': a URL has no spaces or control characters", s);
				return -1;
			}
		/* libcurl's own URL parser decides what it would send to */
		CURLU *u = curl_url();
		int bad = !u || curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK;
		curl_url_cleanup(u);
		if (bad) {
			snprintf(err, errlen, "Action '%.200s' is not a valid URL", s);
			return -1;
		}
		return 1;
	}
	if (!strncmp(s, "file://", 7)) {
		if (s[7] != '/' || !s[8]) {
			snprintf(err, errlen,
			         "Action '%.200s': a command is file:///absolute/path (Skydive runs the "
			         "path after file://, with no arguments)",
			         s);
			return -1;
		}
		return 2;
	}
	snprintf(err, errlen,
	         "Action '%.200s': expected an empty string, an http:// or https:// URL (webhook) "
	         "or file:///path (a local command), as Skydive's",
	         s);
	return -1;
}

struct alert_actions *alert_actions_new(size_t max_queue, int attempts, int64_t backoff_ms,
                                        int64_t timeout_ms)
{
	struct alert_actions *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	q->max = max_queue ? max_queue : 1;
	q->attempts = attempts > 0 ? attempts : 1;
	q->backoff_ms = backoff_ms > 0 ? backoff_ms : 0;
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	return q;
}

struct alert_action_stats *alert_action_stats_new(struct alert_actions *q)
{
	(void)q;
	struct alert_action_stats *st = calloc(1, sizeof(*st));
	if (st)
		st->refs = 1;
	return st;
}

static void stats_unref_locked(struct alert_action_stats *st)
{
	if (st && --st->refs <= 0)
		free(st);
}

void alert_action_stats_unref(struct alert_actions *q, struct alert_action_stats *st)
{
	pthread_mutex_lock(&q->lock);
	stats_unref_locked(st);
	pthread_mutex_unlock(&q->lock);
}

void alert_action_stats_read(struct alert_actions *q, const struct alert_action_stats *st,
                             struct alert_action_stats *out)
{
	pthread_mutex_lock(&q->lock);
	*out = *st;
	pthread_mutex_unlock(&q->lock);
}

static void item_free(struct item *it)
{
	free(it->target);
	free(it->payload);
	free(it);
}

int alert_actions_submit(struct alert_actions *q, const char *target, const char *payload,
                         struct alert_action_stats *st)
{
	char err[64];
	if (alert_action_kind(target, err, sizeof(err)) <= 0)
		return -EINVAL;
	struct item *it = calloc(1, sizeof(*it));
	if (it) {
		it->target = strdup(target);
		it->payload = strdup(payload ? payload : "");
	}
	int rc = 0;
	pthread_mutex_lock(&q->lock);
	if (!it || !it->target || !it->payload)
		rc = -ENOMEM;
	else if (q->n >= q->max)
		rc = -ENOBUFS;
	if (rc) {
		q->dropped++;
		if (st) {
			st->dropped++;
			snprintf(st->last_error, sizeof(st->last_error), "%s",
			         rc == -ENOBUFS ? "dropped: the action queue was full "
			                          "(analyzer.alert.action_queue)"
			                        : "dropped: out of memory");
		}
		pthread_mutex_unlock(&q->lock);
		if (it)
			item_free(it);
		return rc;
	}
	it->st = st;
	if (st)
		st->refs++;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void alert_actions_totals(struct alert_actions *q, struct alert_actions_totals *out)
{
	pthread_mutex_lock(&q->lock);
	*out = (struct alert_actions_totals){.sent = q->sent,
	                                     .failed = q->failed,
	                                     .dropped = q->dropped,
	                                     .retries = q->retries,
	                                     .queued = q->n,
	                                     .queue_max = q->max};
	pthread_mutex_unlock(&q->lock);
}

static size_t discard(char *d, size_t s, size_t n, void *u)
{
	(void)d;
	(void)u;
	return s * n;
}

/* One POST; 0 on a 2xx answer, else -1 with err filled. */
static int post_once(struct alert_actions *q, const char *url, const char *payload, char *err,
                     size_t errlen)
{
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "POST %.200s: %.250s", url, ebuf[0] ? ebuf : curl_easy_strerror(rc));
		return -1;
	}
	if (code < 200 || code > 299) {
		snprintf(err, errlen, "POST %.200s: answered %ld", url, code);
		return -1;
	}
	return 0;
}

/* Runs path with payload on its standard input; 0 when it exits 0. */
static int run_command(struct alert_actions *q, const char *path, const char *payload,
                       char *err, size_t errlen)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC)) {
		snprintf(err, errlen, "%s: pipe: %s", path, strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	char *argv[] = {(char *)path, NULL};
	pid_t pid;
	/* the command gets no blocked signals and SIGPIPE's default (the analyzer ignores it) */
	posix_spawnattr_t at;
	sigset_t none, pipe_only;
	sigemptyset(&none);
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &pipe_only);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int rc = posix_spawn(&pid, path, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (rc) {
		close(p[1]);
		snprintf(err, errlen, "cannot run %s: %s", path, strerror(rc));
		return -1;
	}
	/* a command that exits without reading its input: EPIPE here, and the SIGPIPE this
	 * thread blocks (sender) taken back, so the process is not killed whatever its
	 * disposition */
	size_t len = strlen(payload), off = 0;
	while (off < len) {
		ssize_t k = write(p[1], payload + off, len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EPIPE) {
			sigset_t pipe_set;
			sigemptyset(&pipe_set);
			sigaddset(&pipe_set, SIGPIPE);
			struct timespec zero = {0, 0};
			while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
				;
		}
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	close(p[1]);
	int status = 0;
	int64_t waited = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "%s: waitpid: %s", path, strerror(errno));
			return -1;
		}
		if (waited >= q->timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(err, errlen, "%s: still running after %lld ms: killed", path,
			         (long long)q->timeout_ms);
			return -1;
		}
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
		waited += 10;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(err, errlen, "%s exited with status %d", path, WEXITSTATUS(status));
	else
		snprintf(err, errlen, "%s killed by signal %d", path, WTERMSIG(status));
	return -1;
}

/* Waits ms unless stopped; lock held. Returns non-zero when stopping. */
static int wait_ms(struct alert_actions *q, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!q->stop && pthread_cond_timedwait(&q->cond, &q->lock, &ts) != ETIMEDOUT)
		;
	return q->stop;
}

static void *sender(void *arg)
{
	struct alert_actions *q = arg;
	sigset_t pipe_set; /* run_command's writes to a command that went */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->stop && !q->head)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stop)
			break;
		struct item *it = q->head;
		q->head = it->next;
		if (!q->head)
			q->tail = NULL;
		q->n--;
		char err[512] = "";
		int ok = 0, stopped = 0, cmd = !strncmp(it->target, "file://", 7);
		for (int k = 0; k < q->attempts; k++) {
			if (k) {
				q->retries++;
				if (it->st)
					it->st->retries++;
				if ((stopped = wait_ms(q, q->backoff_ms << (k - 1))))
					break;
			}
			pthread_mutex_unlock(&q->lock);
			ok = cmd ? !run_command(q, it->target + 7, it->payload, err, sizeof(err))
			         : !post_once(q, it->target, it->payload, err, sizeof(err));
			pthread_mutex_lock(&q->lock);
			if (ok || cmd)
				break;
		}
		if (ok) {
			q->sent++;
			if (it->st)
				it->st->sent++;
		} else if (stopped) {
			q->dropped++;
			if (it->st)
				it->st->dropped++;
		} else {
			q->failed++;
			if (it->st) {
				it->st->failed++;
				snprintf(it->st->last_error, sizeof(it->st->last_error), "%.255s", err);
			}
			log_warn("alert: action failed: %s", err);
		}
		stats_unref_locked(it->st);
		item_free(it);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int alert_actions_start(struct alert_actions *q)
{
	int rc = pthread_create(&q->thread, NULL, sender, q);
	if (rc)
		return -rc;
	q->started = 1;
	return 0;
}

void alert_actions_free(struct alert_actions *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (q->started)
		pthread_join(q->thread, NULL);
	while (q->head) {
		struct item *it = q->head;
		q->head = it->next;
		q->dropped++;
		if (it->st)
			it->st->dropped++;
		stats_unref_locked(it->st);
		item_free(it);
	}
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
