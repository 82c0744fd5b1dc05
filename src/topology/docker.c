/* docker.c - the docker probe (Skydive's topology/probes/docker/docker.go): lists the
 * running containers over Docker's API (libcurl; a unix socket or TCP), then follows
 * its /events stream for "start" and "die" on a thread of its own. Each container gets
 * a node (container.h) owned by the netns node of its sandbox. An unreachable or lost
 * daemon is logged once and retried every second; the nodes stay until a new listing
 * says they are gone. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/version.h"
#include "topology/container.h"
#include "topology/topo_int.h"

/* Skydive asks for API 1.18; 1.24 is the oldest that has State.Status and the event
 * filters as we use them, and every Docker since 1.12 serves it. */
#define DOCKER_API "/v1.24"
#define REPLY_MAX (16u << 20)	/* a container list or inspect document */
#define EVENT_LINE_MAX (1u << 20) /* one event */
#define QUEUE_MAX 1024		/* events waiting for their inspect */
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

struct dk_event {
	int start; /* 1 start, 0 die */
	char id[72];
};

struct topo_docker {
	struct topology *t;
	char *sock; /* unix socket path, or NULL (TCP) */
	char *base; /* "http://localhost" or "http://host:port" */
	pthread_t thread;
	int started;
	atomic_int stop;
	int stop_fd;
	CURLM *multi;
	struct buf line;   /* the event being read */
	int line_too_long; /* skip until the next newline */
	struct dk_event queue[QUEUE_MAX];
	size_t n_queue;
	int resync; /* the queue overflowed: list again */
	uint64_t events_dropped;
};

int topology_docker_url_check(const char *url, char *err, size_t errlen)
{
	if (!strncmp(url, "unix://", 7) && url[7] == '/' && strlen(url) < 7 + 108)
		return 0;
	if ((!strncmp(url, "tcp://", 6) && url[6]) || (!strncmp(url, "http://", 7) && url[7]))
		return 0;
	snprintf(err, errlen,
		 "agent.topology.docker.url: '%.200s' is not unix:///PATH, tcp://HOST:PORT or "
		 "http://HOST:PORT (https is not supported)",
		 url);
	return -EINVAL;
}

static size_t on_body(char *p, size_t sz, size_t n, void *user)
{
	struct buf *b = user;
	size_t len = sz * n;
	if (b->len + len > REPLY_MAX)
		return 0; /* CURLE_WRITE_ERROR */
	buf_put(b, p, len);
	return b->err ? 0 : len;
}

static int on_progress(void *user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&((struct topo_docker *)user)->stop) != 0;
}

static CURL *dk_easy(struct topo_docker *d, const char *path)
{
	char url[1024];
	snprintf(url, sizeof(url), "%s%s", d->base, path);
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (d->sock)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	/* docker.go's header */
	curl_easy_setopt(c, CURLOPT_USERAGENT, "skydive-agent-" SKYDIVE_VERSION);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	return c;
}

/* GET path: the JSON reply in *out. 0, or -1 with err filled. */
static int dk_get(struct topo_docker *d, const char *path, json_t **out, char *err,
		  size_t errlen)
{
	struct buf b;
	buf_init(&b, NULL);
	*out = NULL;
	CURL *c = dk_easy(d, path);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	int ret = -1;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", rc == CURLE_WRITE_ERROR ? "reply too large or out of memory"
							     : curl_easy_strerror(rc));
	} else if (status != 200) {
		snprintf(err, errlen, "GET %s: HTTP %ld", path, status);
	} else {
		json_error_t je;
		*out = json_loadb(b.data ? b.data : "", b.len, 0, &je);
		if (*out)
			ret = 0;
		else
			snprintf(err, errlen, "GET %s: bad JSON at byte %d: %s", path, je.position,
				 je.text);
	}
	buf_free(&b);
	return ret;
}

/* Docker's IDs are hex; anything that could change the request is refused. */
static int id_ok(const char *id)
{
	size_t n = strlen(id);
	if (!n || n >= sizeof(((struct dk_event *)0)->id))
		return 0;
	for (const char *c = id; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      *c == '_' || *c == '-' || *c == '.'))
			return 0;
	return 1;
}

/* Docker bind-mounts the namespace on the sandbox file from runc's prestart hook, a
 * moment after the file appears: wait for it (2 s at most), as netns.go's
 * checkNamespace retries. */
static int sandbox_ready(struct topo_docker *d, const char *path)
{
	for (int i = 0; i < 40 && !atomic_load(&d->stop); i++) {
		struct statfs sf;
		if (statfs(path, &sf) == 0 && (unsigned long)sf.f_type == NSFS_MAGIC)
			return 1;
		struct pollfd p = {.fd = d->stop_fd, .events = POLLIN};
		poll(&p, 1, 50);
	}
	return 0;
}

/* Inspects a container and adds (or updates) its node. */
static void dk_register(struct topo_docker *d, const char *id)
{
	struct topology *t = d->t;
	char path[256], err[256];
	json_t *j;
	snprintf(path, sizeof(path), DOCKER_API "/containers/%s/json", id);
	if (dk_get(d, path, &j, err, sizeof(err)) < 0) {
		/* docker.go: "Failed to inspect Docker container" */
		log_warn("docker probe: cannot inspect container %s: %s", id, err);
		return;
	}
	struct container_desc c;
	int rc = container_from_docker(j, &c, err, sizeof(err));
	json_decref(j);
	if (rc < 0) {
		log_warn("docker probe: container %s: %s", id, err);
		return;
	}
	if (c.pid <= 0) { /* died meanwhile: its die event follows */
		container_desc_clear(&c);
		return;
	}
	/* The sandbox file under docker.netns.run_path (what Skydive's netns probe watches
	 * there gives the node), else the namespace of the container's first process
	 * under the container's name, as docker.go registers it. */
	char ns_path[PATH_MAX];
	const char *ns_name = c.name;
	const char *dir = t->docker_netns_run_path;
	size_t dl = strlen(dir);
	const char *slash = strrchr(c.netns_path, '/');
	if (dl && slash && (size_t)(slash - c.netns_path) == dl && !strncmp(c.netns_path, dir, dl) &&
	    slash[1] && sandbox_ready(d, c.netns_path)) {
		snprintf(ns_path, sizeof(ns_path), "%s", c.netns_path);
		ns_name = slash + 1;
	} else {
		snprintf(ns_path, sizeof(ns_path), "/proc/%lld/ns/net", c.pid);
	}
	rc = topo_ctr_register(t, TOPO_CTR_DOCKER, c.id, &c, ns_path, ns_name, "docker");
	if (rc < 0)
		log_warn("docker probe: container %s: namespace %s: %s", c.name, ns_path,
			 strerror(-rc));
	container_desc_clear(&c);
}

/* One line of the /events stream. */
static void dk_event_line(struct topo_docker *d, const char *s, size_t n)
{
	json_t *e = json_loadb(s, n, 0, NULL);
	if (!e) {
		d->events_dropped++;
		log_warn("docker probe: an event that is not JSON was dropped (%llu so far)",
			 (unsigned long long)d->events_dropped);
		return;
	}
	const char *type = json_string_value(json_object_get(e, "Type"));
	const char *action = json_string_value(json_object_get(e, "Action"));
	const char *id = json_string_value(json_object_get(e, "id"));
	if (!action)
		action = json_string_value(json_object_get(e, "status"));
	if (!id)
		id = json_string_value(json_object_get(json_object_get(e, "Actor"), "ID"));
	int start = action && !strcmp(action, "start");
	int die = action && !strcmp(action, "die");
	if ((type && strcmp(type, "container")) || (!start && !die) || !id || !id_ok(id)) {
		json_decref(e);
		return;
	}
	if (d->n_queue == QUEUE_MAX) {
		d->events_dropped++;
		d->resync = 1; /* a fresh listing makes up for it */
	} else {
		d->queue[d->n_queue].start = start;
		snprintf(d->queue[d->n_queue].id, sizeof(d->queue[0].id), "%s", id);
		d->n_queue++;
	}
	json_decref(e);
}

static size_t on_events(char *p, size_t sz, size_t n, void *user)
{
	struct topo_docker *d = user;
	size_t len = sz * n;
	for (size_t i = 0; i < len;) {
		char *nl = memchr(p + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (p + i)) : len - i;
		if (!d->line_too_long) {
			if (d->line.len + take > EVENT_LINE_MAX) {
				d->line_too_long = 1;
				d->line.len = 0;
				d->events_dropped++;
				log_warn("docker probe: an event over %u bytes was dropped",
					 EVENT_LINE_MAX);
			} else {
				buf_put(&d->line, p + i, take);
			}
		}
		i += take;
		if (nl) {
			i++;
			if (!d->line_too_long && d->line.len && !d->line.err)
				dk_event_line(d, d->line.data, d->line.len);
			d->line.len = 0;
			d->line.err = 0;
			d->line_too_long = 0;
		}
	}
	return len;
}

static int in_list(void *user, const char *key)
{
	const json_t *list = user;
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));
		if (id && !strcmp(id, key))
			return 1;
	}
	return 0;
}

/* Lists the running containers: nodes for the new, none for the gone. */
static int dk_list(struct topo_docker *d, char *err, size_t errlen)
{
	json_t *list;
	if (dk_get(d, DOCKER_API "/containers/json", &list, err, errlen) < 0)
		return -1;
	if (!json_is_array(list)) {
		snprintf(err, errlen, "the container list is not a JSON list");
		json_decref(list);
		return -1;
	}
	topo_ctr_unregister_if(d->t, TOPO_CTR_DOCKER, "", in_list, list);
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));
		if (atomic_load(&d->stop))
			break;
		if (id && id_ok(id))
			dk_register(d, id);
	}
	json_decref(list);
	return 0;
}

/* One connection: version, listing, then the event stream until it ends. 0 when it
 * was stopped, -1 with err filled otherwise; *reached says whether Docker answered. */
static int dk_session(struct topo_docker *d, int *reached, char *err, size_t errlen)
{
	json_t *v;
	*reached = 0;
	if (dk_get(d, DOCKER_API "/version", &v, err, errlen) < 0)
		return -1;
	*reached = 1;
	const char *ver = json_string_value(json_object_get(v, "Version"));
	log_info("docker probe: connected to Docker %s at %s", ver ? ver : "(no version)",
		 d->t->docker_url);
	json_decref(v);

	/* Events since before the listing: none falls between the two. */
	char path[512];
	snprintf(path, sizeof(path),
		 DOCKER_API "/events?since=%lld&filters=%%7B%%22type%%22%%3A%%5B%%22container%%22%%5D"
			    "%%2C%%22event%%22%%3A%%5B%%22start%%22%%2C%%22die%%22%%5D%%7D",
		 (long long)time(NULL));
	if (dk_list(d, err, errlen) < 0)
		return -1;
	CURL *c = dk_easy(d, path);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_events);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	d->line.len = 0;
	d->line_too_long = 0;
	curl_multi_add_handle(d->multi, c);
	CURLcode result = CURLE_OK;
	int running = 1;
	while (!atomic_load(&d->stop)) {
		curl_multi_perform(d->multi, &running);
		/* what the stream said, outside libcurl's callbacks */
		for (size_t i = 0; i < d->n_queue && !atomic_load(&d->stop); i++) {
			if (d->queue[i].start)
				dk_register(d, d->queue[i].id);
			else
				topo_ctr_unregister(d->t, TOPO_CTR_DOCKER, d->queue[i].id);
		}
		d->n_queue = 0;
		if (d->resync) {
			d->resync = 0;
			log_warn("docker probe: events came faster than they could be read "
				 "(%llu dropped so far): listing the containers again",
				 (unsigned long long)d->events_dropped);
			if (dk_list(d, err, errlen) < 0)
				log_warn("docker probe: listing the containers: %s", err);
		}
		if (!running)
			break;
		curl_multi_poll(d->multi, NULL, 0, 1000, NULL);
	}
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(d->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			result = m->data.result;
	curl_multi_remove_handle(d->multi, c);
	curl_easy_cleanup(c);
	if (atomic_load(&d->stop))
		return 0;
	snprintf(err, errlen, "%s", result == CURLE_OK ? "the event stream ended"
						       : curl_easy_strerror(result));
	return -1;
}

static void *dk_main(void *arg)
{
	struct topo_docker *d = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	int down = 0; /* an outage already logged */
	while (!atomic_load(&d->stop)) {
		char err[512] = "";
		int reached;
		int rc = dk_session(d, &reached, err, sizeof(err));
		if (rc == 0)
			break;
		if (reached) {
			log_warn("docker probe: lost Docker at %s: %s; retrying every second",
				 d->t->docker_url, err);
			down = 1;
		} else if (!down) {
			/* not fatal (Skydive's probe also waits for its daemon) */
			log_warn("docker probe: cannot reach Docker at %s: %s; retrying every second",
				 d->t->docker_url, err);
			down = 1;
		}
		struct pollfd p = {.fd = d->stop_fd, .events = POLLIN};
		poll(&p, 1, 1000);
	}
	return NULL;
}

int topo_docker_start(struct topology *t)
{
	char err[256];
	if (topology_docker_url_check(t->docker_url, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -EINVAL;
	}
	struct topo_docker *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	/* before the thread: libcurl's global state (reference counted) */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	d->t = t;
	d->stop_fd = -1;
	buf_init(&d->line, NULL);
	const char *u = t->docker_url;
	if (!strncmp(u, "unix://", 7)) {
		d->sock = strdup(u + 7);
		d->base = strdup("http://localhost");
	} else {
		const char *hp = !strncmp(u, "tcp://", 6) ? u + 6 : u + 7;
		if (asprintf(&d->base, "http://%s", hp) < 0)
			d->base = NULL;
		/* a trailing '/' would double in the paths */
		size_t n = d->base ? strlen(d->base) : 0;
		if (n && d->base[n - 1] == '/')
			d->base[n - 1] = 0;
	}
	d->multi = curl_multi_init();
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = (!d->base || (!d->sock && !strncmp(u, "unix://", 7)) || !d->multi) ? -ENOMEM
		 : d->stop_fd < 0					       ? -errno
									       : 0;
	if (rc == 0)
		rc = -pthread_create(&d->thread, NULL, dk_main, d);
	if (rc < 0) {
		if (d->multi)
			curl_multi_cleanup(d->multi);
		if (d->stop_fd >= 0)
			close(d->stop_fd);
		free(d->sock);
		free(d->base);
		free(d);
		curl_global_cleanup();
		return rc;
	}
	d->started = 1;
	t->docker = d;
	return 0;
}

void topo_docker_stop(struct topology *t)
{
	struct topo_docker *d = t->docker;
	if (!d)
		return;
	atomic_store(&d->stop, 1);
	uint64_t one = 1;
	curl_multi_wakeup(d->multi);
	if (write(d->stop_fd, &one, sizeof(one)) < 0)
		log_warn("docker probe: waking the thread: %s", strerror(errno));
	pthread_join(d->thread, NULL);
	curl_multi_cleanup(d->multi);
	close(d->stop_fd);
	buf_free(&d->line);
	free(d->sock);
	free(d->base);
	free(d);
	curl_global_cleanup();
	t->docker = NULL;
	topo_ctr_forget(t, TOPO_CTR_DOCKER);
}
