/* container.c - the container nodes the docker and runc probes share: the namespace
 * registration with Skydive's use count (netns.go Register/Unregister), the node
 * (Type "container") and its ownership edge from the netns (or host) node. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "common/log.h"
#include "topology/container.h"
#include "topology/topo_int.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

struct topo_ns *topo_ns_find_dev(struct topology *t, dev_t dev, ino_t ino)
{
	struct topo_ns *r = NULL;
	pthread_mutex_lock(&t->ns_lock);
	for (struct topo_ns *ns = t->named; ns && !r; ns = ns->next)
		if (ns->dev == dev && ns->ino == ino)
			r = ns;
	pthread_mutex_unlock(&t->ns_lock);
	return r;
}

void topo_ns_release(struct topology *t, struct topo_ns *ns)
{
	if (--ns->refs <= 0)
		topo_ns_del(t, ns, 1);
}

/* The file in the netns run path that is the namespace st (dev and inode): its
 * full path in buf and its name returned, or NULL. */
static const char *named_path(struct topology *t, const struct stat *st, char *buf, size_t len)
{
	if (!t->run_path || !*t->run_path)
		return NULL;
	DIR *d = opendir(t->run_path);
	if (!d)
		return NULL;
	const char *r = NULL;
	size_t dl = strlen(t->run_path);
	struct dirent *de;
	while (!r && (de = readdir(d))) {
		struct stat f;
		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(buf, len, "%s/%s", t->run_path, de->d_name) >= len)
			continue;
		if (stat(buf, &f) == 0 && f.st_dev == st->st_dev && f.st_ino == st->st_ino)
			r = buf + dl + 1;
	}
	closedir(d);
	return r;
}

/* ns_reg held: the registration of the namespace at path (*out NULL: the host's). */
static int ns_acquire(struct topology *t, const char *path, const char *name,
		      struct topo_ns **out)
{
	struct stat st, self;
	struct statfs sf;
	*out = NULL;
	if (stat(path, &st) < 0 || statfs(path, &sf) < 0)
		return -errno;
	if ((unsigned long)sf.f_type != NSFS_MAGIC)
		return -EINVAL;
	if (t->root->fd >= 0 && fstat(t->root->fd, &self) == 0 && self.st_dev == st.st_dev &&
	    self.st_ino == st.st_ino)
		return 0; /* net=host: the host node owns it (docker.go, runc.go) */
	struct topo_ns *ns = topo_ns_find_dev(t, st.st_dev, st.st_ino);
	if (ns) {
		ns->refs++;
		*out = ns;
		return 0;
	}
	/* A process' namespace (runc's /proc/PID/ns/net) that also has a name in the
	 * netns run path, which its watcher has not reached yet: registered by that
	 * name, so the node is the same whichever probe comes first. (Skydive names it
	 * after the first registration, a race we avoid on purpose.) */
	char named[PATH_MAX];
	const char *nm = named_path(t, &st, named, sizeof(named));
	if (nm)
		return topo_ns_add(t, nm, named, st.st_dev, st.st_ino, out);
	return topo_ns_add(t, name, path, st.st_dev, st.st_ino, out);
}

static struct topo_ctr *ctr_find(struct topology *t, enum topo_ctr_kind kind, const char *key,
				 size_t *at)
{
	for (size_t i = 0; i < t->n_ctrs; i++)
		if (t->ctrs[i]->kind == kind && !strcmp(t->ctrs[i]->key, key)) {
			if (at)
				*at = i;
			return t->ctrs[i];
		}
	return NULL;
}

int topo_ctr_known(struct topology *t, enum topo_ctr_kind kind, const char *key, long long *pid)
{
	graph_lock(t->g);
	struct topo_ctr *c = ctr_find(t, kind, key, NULL);
	if (c && pid)
		*pid = c->pid;
	graph_unlock(t->g);
	return c != NULL;
}

static void ctr_free(struct topo_ctr *c)
{
	if (!c)
		return;
	free(c->key);
	json_decref(c->md);
	free(c);
}

/* Graph lock held: deletes the node and the record; returns its namespace. */
static struct topo_ns *ctr_drop(struct topology *t, size_t i, int64_t now)
{
	struct topo_ctr *c = t->ctrs[i];
	struct topo_ns *ns = c->ns;
	topo_forget_edges_of(t, c->id);
	int rc = graph_node_delete(t->g, c->id, now);
	if (rc < 0 && rc != -ENOENT)
		log_warn("topology: deleting container %s: %s", c->key, strerror(-rc));
	log_info("topology: container %s removed",
		 json_string_value(json_object_get(c->md, "Name")));
	t->ctrs[i] = t->ctrs[--t->n_ctrs];
	ctr_free(c);
	return ns;
}

/* The keys docker.go / runc.go put on the namespace node of a container. */
static void mark_netns(struct topology *t, struct topo_ns *ns, const char *manager, int64_t now)
{
	if (!ns)
		return;
	if (!strcmp(manager, "docker")) {
		graph_node_set_key(t->g, ns->node_id, "Manager", json_string("docker"), now);
		return;
	}
	/* runc: Runtime, and a Manager unless another (docker, ...) set one */
	graph_node_set_key(t->g, ns->node_id, "Runtime", json_string("runc"), now);
	struct graph_view *v = graph_view_at(t->g, 0, NULL);
	const struct graph_node *n = v ? graph_view_node_get(v, ns->node_id) : NULL;
	int has = n && json_object_get(n->e.metadata, "Manager");
	graph_view_free(v);
	if (!has)
		graph_node_set_key(t->g, ns->node_id, "Manager", json_string("runc"), now);
}

int topo_ctr_register(struct topology *t, enum topo_ctr_kind kind, const char *key,
		      const struct container_desc *d, const char *netns_path,
		      const char *netns_name, const char *manager)
{
	int64_t now = topo_now_ms();
	/* the same container again (an event replayed, state.json rewritten) */
	graph_lock(t->g);
	size_t at;
	struct topo_ctr *c = ctr_find(t, kind, key, &at);
	struct topo_ns *old_ns = NULL;
	int drop_old = 0;
	if (c && c->pid == d->pid) {
		json_t *md = json_deep_copy(c->md);
		int rc = md ? 0 : -ENOMEM;
		if (md && !json_equal(json_object_get(md, "Container"), d->md)) {
			json_object_set_new(md, "Container", json_deep_copy(d->md));
			json_t *copy = json_deep_copy(md);
			rc = topo_update_metadata(t->g, c->id, md, now);
			if (rc == 0 && copy) {
				json_decref(c->md);
				c->md = copy;
			} else {
				json_decref(copy);
			}
		} else {
			json_decref(md);
		}
		graph_unlock(t->g);
		return rc;
	}
	if (c) { /* restarted: another process, maybe another namespace */
		old_ns = ctr_drop(t, at, now);
		drop_old = 1;
		topo_reconcile_edges(t, now);
	}
	graph_unlock(t->g);

	pthread_mutex_lock(&t->ns_reg);
	if (drop_old && old_ns)
		topo_ns_release(t, old_ns);
	struct topo_ns *ns = NULL;
	int rc = netns_path ? ns_acquire(t, netns_path, netns_name, &ns) : 0;
	if (rc < 0) {
		pthread_mutex_unlock(&t->ns_reg);
		return rc;
	}
	c = calloc(1, sizeof(*c));
	json_t *md = json_pack("{ss ss ss sO}", "Type", "container", "Name", d->name, "Manager",
			       manager, "Container", d->md);
	if (!c || !md || !(c->key = strdup(key)))
		goto oom;
	c->kind = kind;
	c->ns = ns;
	c->pid = d->pid;
	graph_lock(t->g);
	if (t->n_ctrs == t->cap_ctrs) {
		size_t cap = t->cap_ctrs ? t->cap_ctrs * 2 : 16;
		struct topo_ctr **n = realloc(t->ctrs, cap * sizeof(*n));
		if (!n) {
			graph_unlock(t->g);
			goto oom;
		}
		t->ctrs = n;
		t->cap_ctrs = cap;
	}
	memcpy(c->parent, ns ? ns->node_id : t->host_node_id, TOPOLOGY_ID_LEN);
	/* Skydive's TID of a node owned by another: UUIDv5(parent TID + Name + Type) */
	topology_tid(c->id, c->parent, d->name, "container");
	json_object_set_new(md, "TID", json_string(c->id));
	c->md = json_deep_copy(md);
	rc = c->md ? graph_node_add(t->g, c->id, md, t->host_id, t->origin, now) : -ENOMEM;
	if (rc == -EEXIST)
		rc = graph_node_set_metadata(t->g, c->id, json_deep_copy(c->md), now);
	if (!c->md)
		json_decref(md);
	if (rc < 0) {
		graph_unlock(t->g);
		md = NULL;
		log_warn("topology: adding container %s: %s", d->name, strerror(-rc));
		goto fail;
	}
	t->ctrs[t->n_ctrs++] = c;
	mark_netns(t, ns, manager, now);
	topo_reconcile_edges(t, now);
	graph_unlock(t->g);
	pthread_mutex_unlock(&t->ns_reg);
	log_info("topology: %s container %s (pid %lld) in %s", manager, d->name, d->pid,
		 ns ? ns->name : "the host's namespace");
	return 0;
oom:
	rc = -ENOMEM;
	json_decref(md);
fail:
	ctr_free(c);
	if (ns)
		topo_ns_release(t, ns);
	pthread_mutex_unlock(&t->ns_reg);
	return rc;
}

void topo_ctr_unregister_if(struct topology *t, enum topo_ctr_kind kind, const char *prefix,
			    int (*keep)(void *user, const char *key), void *user)
{
	size_t plen = strlen(prefix);
	pthread_mutex_lock(&t->ns_reg);
	for (;;) {
		int64_t now = topo_now_ms();
		struct topo_ns *ns = NULL;
		int found = 0;
		graph_lock(t->g);
		for (size_t i = 0; i < t->n_ctrs; i++) {
			struct topo_ctr *c = t->ctrs[i];
			if (c->kind != kind || strncmp(c->key, prefix, plen) ||
			    (keep && keep(user, c->key)))
				continue;
			ns = ctr_drop(t, i, now);
			found = 1;
			topo_reconcile_edges(t, now);
			break;
		}
		graph_unlock(t->g);
		if (!found)
			break;
		if (ns)
			topo_ns_release(t, ns); /* graph lock not held: it takes it */
	}
	pthread_mutex_unlock(&t->ns_reg);
}

static int same_key(void *user, const char *key)
{
	return strcmp(user, key) != 0; /* keep every other */
}

void topo_ctr_unregister(struct topology *t, enum topo_ctr_kind kind, const char *key)
{
	topo_ctr_unregister_if(t, kind, "", same_key, (void *)key);
}

void topo_ctr_want_edges(struct topology *t, struct topo_want *w)
{
	for (size_t i = 0; i < t->n_ctrs; i++)
		topo_want_edge(w, t->ctrs[i]->parent, t->ctrs[i]->id, "ownership", NULL);
}

void topo_ctr_forget(struct topology *t, enum topo_ctr_kind kind)
{
	graph_lock(t->g);
	for (size_t i = t->n_ctrs; i-- > 0;)
		if (t->ctrs[i]->kind == kind) {
			ctr_free(t->ctrs[i]);
			t->ctrs[i] = t->ctrs[--t->n_ctrs];
		}
	graph_unlock(t->g);
}
