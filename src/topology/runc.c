/* runc.c - the runc probe (Skydive's topology/probes/runc/runc.go): watches runc's
 * state directories with inotify (every level below them, as runc.go's fsnotify
 * watcher does) and gives each container's state.json a container node
 * (container.h) owned by the netns node of its first process' namespace. A state
 * directory that is not there yet is looked for every second. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "topology/container.h"
#include "topology/topo_int.h"

#define STATE_MAX (4u << 20)  /* a state.json */
#define SMALL_MAX (1u << 20)  /* an /etc/hosts, a create-config */
#define DEPTH_MAX 6	      /* directory levels watched below a state directory */
#define WATCH_MAX 4096

struct rc_watch {
	int wd;
	int depth;
	char *path;
};

struct topo_runc {
	struct topology *t;
	pthread_t thread;
	int stop_fd, ifd;
	int *root_wd; /* per t->runc_paths: its watch, -1 = not there (yet) */
	struct rc_watch *w;
	size_t n_w, cap_w;
	int said_full;
};

/* The whole file, NUL-terminated, at most max bytes: 0, or -errno (-EFBIG). */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap + 1);
	int rc = b ? 0 : -ENOMEM;
	while (rc == 0) {
		if (n == cap) {
			if (cap >= max) {
				rc = -EFBIG;
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(b, cap + 1);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = -errno;
		else if (r == 0)
			break;
		else
			n += (size_t)r;
	}
	close(fd);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b[n] = 0;
	*out = b;
	*len = n;
	return 0;
}

static json_t *read_json(const char *path, size_t max, char *err, size_t errlen)
{
	char *s;
	size_t n;
	int rc = read_file(path, max, &s, &n);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return NULL;
	}
	json_error_t je;
	json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		snprintf(err, errlen, "%s: bad JSON at line %d: %s", path, je.line, je.text);
	free(s);
	return j;
}

/* runc.go getStatus (process.GetInfo): "stopped" when the first process is gone, a
 * zombie or another process of the same pid (its start time differs), "created"
 * while runc's exec.fifo waits in the container's directory, else "running". */
static const char *run_status(const struct container_desc *c, const char *state_path)
{
	if (c->pid <= 0)
		return "stopped";
	char p[PATH_MAX], *s;
	size_t n;
	snprintf(p, sizeof(p), "/proc/%lld/stat", c->pid);
	if (read_file(p, 8192, &s, &n) < 0)
		return "stopped";
	/* after the command's ')': state (field 3) ... starttime (field 22) */
	const char *q = strrchr(s, ')');
	char st = 0;
	unsigned long long start = 0;
	int ok = q && sscanf(q + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
				    "%*s %*s %*s %*s %llu",
			     &st, &start) == 2;
	free(s);
	if (!ok || st == 'Z' || st == 'X' || (long long)start != c->start)
		return "stopped";
	/* runc.go looks for exec.fifo in path.Base(state path), which is never the
	 * container's directory; the directory is where runc keeps it */
	snprintf(p, sizeof(p), "%s", state_path);
	char *slash = strrchr(p, '/');
	if (slash) {
		snprintf(slash, sizeof(p) - (size_t)(slash - p), "/exec.fifo");
		if (access(p, F_OK) == 0)
			return "created";
	}
	return "running";
}

static void rc_state(struct topo_runc *r, const char *path)
{
	char err[PATH_MAX + 128];
	json_t *j = read_json(path, STATE_MAX, err, sizeof(err));
	if (!j) {
		log_warn("runc probe: %s", err);
		return;
	}
	struct container_desc c;
	int rc = container_from_runc(j, &c, err, sizeof(err));
	json_decref(j);
	if (rc < 0) {
		log_warn("runc probe: %s: %s", path, err);
		return;
	}
	json_t *hosts = NULL;
	if (c.hosts_path) {
		char *s;
		size_t n;
		int hr = read_file(c.hosts_path, SMALL_MAX, &s, &n);
		if (hr == 0) {
			hosts = container_hosts_parse(s, n);
			free(s);
		} else if (hr != -ENOENT) {
			log_warn("runc probe: %s: %s", c.hosts_path, strerror(-hr));
		}
	}
	container_set_status(&c, run_status(&c, path), hosts);
	if (c.bundle) {
		/* CRI-O's create-config beside the bundle: Image, ImageID, more labels */
		char cc_path[PATH_MAX];
		struct stat st;
		snprintf(cc_path, sizeof(cc_path), "%s/artifacts/create-config", c.bundle);
		if (stat(cc_path, &st) == 0) {
			json_t *cc = read_json(cc_path, SMALL_MAX, err, sizeof(err));
			if (!cc || container_merge_create_config(&c, cc) < 0)
				log_warn("runc probe: %s: %s", cc_path,
					 cc ? "not a create-config object" : err);
			json_decref(cc);
		}
	}
	long long known_pid;
	int known = topo_ctr_known(r->t, TOPO_CTR_RUNC, path, &known_pid);
	if (known && known_pid == c.pid) {
		topo_ctr_register(r->t, TOPO_CTR_RUNC, path, &c, NULL, NULL, "runc"); /* update */
	} else {
		char ns[64];
		snprintf(ns, sizeof(ns), "/proc/%lld/ns/net", c.pid);
		rc = c.pid > 0 ? topo_ctr_register(r->t, TOPO_CTR_RUNC, path, &c, ns, c.id, "runc")
			       : -ESRCH;
		if (rc < 0)
			/* runc.go: "unable to open netns" (a container that stopped) */
			log_info("runc probe: container %s (%s): no namespace of pid %lld: %s", c.id,
				 path, c.pid, strerror(-rc));
	}
	container_desc_clear(&c);
}

static int is_state(const char *name)
{
	return !strcmp(name, "state.json");
}

static struct rc_watch *watch_of(struct topo_runc *r, int wd)
{
	for (size_t i = 0; i < r->n_w; i++)
		if (r->w[i].wd == wd)
			return &r->w[i];
	return NULL;
}

/* Watches dir and what is below it, and reads the state files found there. */
static int rc_folder(struct topo_runc *r, const char *dir, int depth)
{
	if (r->n_w >= WATCH_MAX) {
		if (!r->said_full)
			log_warn("runc probe: more than %d directories to watch; %s and others "
				 "left out", WATCH_MAX, dir);
		r->said_full = 1;
		return -ENOSPC;
	}
	int wd = inotify_add_watch(r->ifd, dir,
				   IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
					   IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (wd < 0)
		return -errno;
	if (!watch_of(r, wd)) {
		if (r->n_w == r->cap_w) {
			size_t cap = r->cap_w ? r->cap_w * 2 : 16;
			struct rc_watch *n = realloc(r->w, cap * sizeof(*n));
			if (!n) {
				inotify_rm_watch(r->ifd, wd);
				return -ENOMEM;
			}
			r->w = n;
			r->cap_w = cap;
		}
		char *p = strdup(dir);
		if (!p) {
			inotify_rm_watch(r->ifd, wd);
			return -ENOMEM;
		}
		r->w[r->n_w++] = (struct rc_watch){.wd = wd, .depth = depth, .path = p};
	}
	DIR *d = opendir(dir);
	if (!d)
		return wd;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[PATH_MAX];
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
			continue;
		struct stat st;
		if (lstat(sub, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < DEPTH_MAX)
			rc_folder(r, sub, depth + 1);
		else if (S_ISREG(st.st_mode) && is_state(de->d_name))
			rc_state(r, sub);
	}
	closedir(d);
	return wd;
}

/* The watches of dir and below are gone (the kernel drops them with the
 * directory): forget them, and the containers that were there. */
static void rc_gone(struct topo_runc *r, const char *dir)
{
	char prefix[PATH_MAX + 2];
	if ((size_t)snprintf(prefix, sizeof(prefix), "%s/", dir) >= sizeof(prefix))
		return;
	topo_ctr_unregister_if(r->t, TOPO_CTR_RUNC, prefix, NULL, NULL);
}

static void rc_events(struct topo_runc *r)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(r->ifd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			struct rc_watch *w = watch_of(r, ev->wd);
			if (!w)
				continue;
			if (ev->mask & IN_IGNORED) {
				/* the directory went (or was unmounted): a state directory
				 * is looked for again */
				for (size_t i = 0; i < r->t->n_runc_paths; i++)
					if (r->root_wd[i] == ev->wd) {
						r->root_wd[i] = -1;
						rc_gone(r, w->path);
					}
				free(w->path);
				*w = r->w[--r->n_w];
				continue;
			}
			if (!ev->len)
				continue;
			char full[PATH_MAX];
			if ((size_t)snprintf(full, sizeof(full), "%s/%s", w->path, ev->name) >=
			    sizeof(full))
				continue;
			int depth = w->depth;
			if (ev->mask & IN_ISDIR) {
				if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && depth < DEPTH_MAX)
					rc_folder(r, full, depth + 1); /* w may move */
				else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
					rc_gone(r, full);
			} else if (is_state(ev->name)) {
				if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO))
					rc_state(r, full);
				else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
					topo_ctr_unregister(r->t, TOPO_CTR_RUNC, full);
			}
		}
	}
}

static void *rc_main(void *arg)
{
	struct topo_runc *r = arg;
	struct topology *t = r->t;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		int missing = 0;
		for (size_t i = 0; i < t->n_runc_paths; i++) {
			if (r->root_wd[i] >= 0)
				continue;
			int wd = rc_folder(r, t->runc_paths[i], 0);
			if (wd >= 0) {
				r->root_wd[i] = wd;
				log_info("runc probe: watching %s", t->runc_paths[i]);
			} else {
				missing = 1;
			}
		}
		struct pollfd pfd[2] = {{.fd = r->ifd, .events = POLLIN},
					{.fd = r->stop_fd, .events = POLLIN}};
		int n = poll(pfd, 2, missing ? 1000 : -1);
		if (n < 0 && errno != EINTR) {
			log_error("runc probe: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (n > 0 && pfd[0].revents)
			rc_events(r);
	}
	return NULL;
}

int topo_runc_start(struct topology *t)
{
	struct topo_runc *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->t = t;
	r->root_wd = malloc((t->n_runc_paths + 1) * sizeof(*r->root_wd));
	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int rc = !r->root_wd ? -ENOMEM : (r->ifd < 0 || r->stop_fd < 0) ? -errno : 0;
	for (size_t i = 0; r->root_wd && i < t->n_runc_paths; i++)
		r->root_wd[i] = -1;
	if (rc == 0)
		rc = -pthread_create(&r->thread, NULL, rc_main, r);
	if (rc < 0) {
		if (r->ifd >= 0)
			close(r->ifd);
		if (r->stop_fd >= 0)
			close(r->stop_fd);
		free(r->root_wd);
		free(r);
		return rc;
	}
	t->runc = r;
	return 0;
}

void topo_runc_stop(struct topology *t)
{
	struct topo_runc *r = t->runc;
	if (!r)
		return;
	uint64_t one = 1;
	if (write(r->stop_fd, &one, sizeof(one)) < 0)
		log_warn("runc probe: waking the thread: %s", strerror(errno));
	pthread_join(r->thread, NULL);
	close(r->ifd);
	close(r->stop_fd);
	for (size_t i = 0; i < r->n_w; i++)
		free(r->w[i].path);
	free(r->w);
	free(r->root_wd);
	free(r);
	t->runc = NULL;
	topo_ctr_forget(t, TOPO_CTR_RUNC);
}
