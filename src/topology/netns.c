/* netns.c - the netns probe: watches the run path (/var/run/netns) with
 * inotify and gives each named network namespace a netns node and its own
 * netlink probe. `ip netns add` creates an empty file and bind-mounts the
 * namespace on it a moment later, so a new name waits (briefly) until the
 * file really is a namespace (nsfs). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/log.h"
#include "topology/topo_int.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define PENDING_MAX 256
#define PENDING_TIMEOUT_MS 10000

struct pending {
	char name[NAME_MAX + 1];
	int64_t since_ms;
};

struct watch {
	struct topology *t;
	int ifd, wd;
	struct stat self; /* our own namespace, not reported twice */
	struct pending pend[PENDING_MAX];
	size_t n_pend;
};

/* The namespace the watcher holds for the file name (t->ns_reg held). */
static struct topo_ns *find_named(struct topology *t, const char *name)
{
	struct topo_ns *r = NULL;
	pthread_mutex_lock(&t->ns_lock);
	for (struct topo_ns *ns = t->named; ns && !r; ns = ns->next)
		if (ns->watch_name && !strcmp(ns->watch_name, name))
			r = ns;
	pthread_mutex_unlock(&t->ns_lock);
	return r;
}

static void pending_add(struct watch *w, const char *name)
{
	for (size_t i = 0; i < w->n_pend; i++)
		if (!strcmp(w->pend[i].name, name))
			return;
	if (w->n_pend == PENDING_MAX) {
		log_warn("netns probe: too many namespaces appearing at once; %s ignored", name);
		return;
	}
	snprintf(w->pend[w->n_pend].name, sizeof(w->pend[0].name), "%s", name);
	w->pend[w->n_pend++].since_ms = topo_now_ms();
}

static void pending_del(struct watch *w, size_t i)
{
	w->pend[i] = w->pend[--w->n_pend];
}

static void gone(struct watch *w, const char *name)
{
	for (size_t i = 0; i < w->n_pend; i++)
		if (!strcmp(w->pend[i].name, name)) {
			pending_del(w, i);
			break;
		}
	pthread_mutex_lock(&w->t->ns_reg);
	struct topo_ns *ns = find_named(w->t, name);
	if (ns) {
		free(ns->watch_name);
		ns->watch_name = NULL;
		topo_ns_release(w->t, ns); /* a container may still hold it */
	}
	pthread_mutex_unlock(&w->t->ns_reg);
}

/* Adds the pending names that became namespaces. */
static void try_pending(struct watch *w)
{
	int64_t now = topo_now_ms();
	for (size_t i = w->n_pend; i-- > 0;) {
		struct pending *p = &w->pend[i];
		char path[PATH_MAX];
		struct statfs sf;
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", w->t->run_path, p->name);
		if (statfs(path, &sf) < 0 || (unsigned long)sf.f_type != NSFS_MAGIC ||
		    stat(path, &st) < 0) {
			if (now - p->since_ms > PENDING_TIMEOUT_MS) {
				log_debug("netns probe: %s is not a namespace; ignored", path);
				pending_del(w, i);
			}
			continue;
		}
		if (st.st_dev == w->self.st_dev && st.st_ino == w->self.st_ino) {
			log_debug("netns probe: %s is our own namespace", path);
		} else {
			struct topology *t = w->t;
			pthread_mutex_lock(&t->ns_reg);
			struct topo_ns *ns = find_named(t, p->name);
			if (!ns && (ns = topo_ns_find_dev(t, st.st_dev, st.st_ino))) {
				/* a container probe registered it first: one use more, as
				 * Skydive's Register of a namespace it knows */
				if (!ns->watch_name && (ns->watch_name = strdup(p->name)))
					ns->refs++;
			} else if (!ns && topo_ns_add(t, p->name, path, st.st_dev, st.st_ino, &ns) == 0 &&
				   ns) {
				ns->watch_name = strdup(p->name);
			}
			pthread_mutex_unlock(&t->ns_reg);
		}
		pending_del(w, i);
	}
}

static void forget_all(struct topology *t, int remove_nodes)
{
	for (;;) {
		pthread_mutex_lock(&t->ns_lock);
		struct topo_ns *ns = t->named;
		pthread_mutex_unlock(&t->ns_lock);
		if (!ns)
			break;
		topo_ns_del(t, ns, remove_nodes);
	}
}

/* The run path went: every namespace the watcher holds, one use less. */
static void release_watched(struct topology *t)
{
	pthread_mutex_lock(&t->ns_reg);
	for (;;) {
		struct topo_ns *found = NULL;
		pthread_mutex_lock(&t->ns_lock);
		for (struct topo_ns *ns = t->named; ns && !found; ns = ns->next)
			if (ns->watch_name)
				found = ns;
		pthread_mutex_unlock(&t->ns_lock);
		if (!found)
			break;
		free(found->watch_name);
		found->watch_name = NULL;
		topo_ns_release(t, found);
	}
	pthread_mutex_unlock(&t->ns_reg);
}

static void add_watch(struct watch *w)
{
	w->wd = inotify_add_watch(w->ifd, w->t->run_path,
				  IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
					  IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	if (w->wd < 0)
		return;
	log_info("netns probe: watching %s", w->t->run_path);
	DIR *d = opendir(w->t->run_path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			pending_add(w, de->d_name);
	closedir(d);
}

static void read_events(struct watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				/* The run path itself went: so did every name in it. */
				if (w->wd >= 0) {
					inotify_rm_watch(w->ifd, w->wd);
					w->wd = -1;
				}
				w->n_pend = 0;
				release_watched(w->t);
				continue;
			}
			if (!ev->len || ev->name[0] == '.')
				continue;
			if (ev->mask & (IN_CREATE | IN_MOVED_TO))
				pending_add(w, ev->name);
			else if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				gone(w, ev->name);
		}
	}
}

static void *watch_main(void *arg)
{
	struct topology *t = arg;
	struct watch *w = calloc(1, sizeof(*w));
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (!w) {
		log_error("netns probe: out of memory");
		return NULL;
	}
	w->t = t;
	w->wd = -1;
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0) {
		log_error("netns probe: inotify: %s", strerror(errno));
		free(w);
		return NULL;
	}
	if (stat("/proc/self/ns/net", &w->self) < 0)
		memset(&w->self, 0, sizeof(w->self));

	int said_missing = 0;
	for (;;) {
		if (w->wd < 0) {
			add_watch(w);
			if (w->wd < 0 && !said_missing) {
				log_info("netns probe: %s not there yet (%s); waiting for it",
					 t->run_path, strerror(errno));
				said_missing = 1;
			}
		}
		try_pending(w);
		/* Without the directory, look again every second; with names
		 * waiting for their bind mount, every 20 ms. */
		int timeout = w->wd < 0 ? 1000 : w->n_pend ? 20 : -1;
		struct pollfd pfd[2] = {{.fd = w->ifd, .events = POLLIN},
					{.fd = t->watcher_stop_fd, .events = POLLIN}};
		int n = poll(pfd, 2, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("netns probe: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (n > 0 && pfd[0].revents)
			read_events(w);
	}
	close(w->ifd);
	free(w);
	return NULL;
}

int topo_netns_start(struct topology *t)
{
	t->watcher_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->watcher_stop_fd < 0)
		return -errno;
	int rc = pthread_create(&t->watcher, NULL, watch_main, t);
	if (rc) {
		close(t->watcher_stop_fd);
		t->watcher_stop_fd = -1;
		return -rc;
	}
	t->watcher_started = 1;
	return 0;
}

void topo_netns_stop(struct topology *t)
{
	if (t->watcher_started) {
		uint64_t one = 1;
		if (write(t->watcher_stop_fd, &one, sizeof(one)) < 0)
			log_warn("netns probe: waking the thread: %s", strerror(errno));
		pthread_join(t->watcher, NULL);
		t->watcher_started = 0;
	}
	if (t->watcher_stop_fd >= 0) {
		close(t->watcher_stop_fd);
		t->watcher_stop_fd = -1;
	}
	forget_all(t, 0);
}
