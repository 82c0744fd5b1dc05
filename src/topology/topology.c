/* topology.c - the topology probe set: host node, the registry of link nodes
 * of every namespace, and the edges derived from it (ownership, bridge
 * ports, vlan parents, veth peers across namespaces). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "topology/topo_int.h"

int64_t topo_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct topology *topology_new(struct graph *g, const struct topology_opts *o, char *err,
			      size_t errlen)
{
	if (!g || !o || !o->host_id || !*o->host_id) {
		snprintf(err, errlen, "topology: a graph and a host id are required");
		return NULL;
	}
	struct topology *t = calloc(1, sizeof(*t));
	if (!t)
		goto oom;
	t->g = g;
	t->watcher_stop_fd = -1;
	pthread_mutex_init(&t->ns_lock, NULL);
	pthread_mutex_init(&t->ns_reg, NULL);
	t->host_id = strdup(o->host_id);
	if (o->origin)
		t->origin = strdup(o->origin);
	else if (asprintf(&t->origin, "agent.%s", o->host_id) < 0)
		t->origin = NULL;
	t->run_path = strdup(o->netns_run_path ? o->netns_run_path : "/var/run/netns");
	t->ovsdb = strdup(o->ovsdb ? o->ovsdb : "unix:///var/run/openvswitch/db.sock");
	t->metrics_update_ms = o->metrics_update_ms > 0 ? o->metrics_update_ms : 30000;
	t->socketinfo_ms = o->socketinfo_update_ms > 0 ? o->socketinfo_update_ms : 0;
	t->host_extra = o->host_metadata ? json_deep_copy(o->host_metadata) : NULL;
	if (!t->host_id || !t->origin || !t->run_path || !t->ovsdb ||
	    (o->host_metadata && !t->host_extra))
		goto oom;
	topology_host_tid(t->host_node_id, t->host_id);
	t->oflow_on = o->oflow && *t->ovsdb;
	if (t->oflow_on) {
		t->oflow_versions = strdup(o->oflow_versions ? o->oflow_versions : "OpenFlow10");
		t->oflow_address = o->oflow_address ? json_deep_copy(o->oflow_address) : NULL;
		if (!t->oflow_versions || (o->oflow_address && !t->oflow_address))
			goto oom;
	}
	if (o->docker_url && topology_docker_url_check(o->docker_url, err, errlen) < 0) {
		topology_free(t);
		return NULL;
	}
	if (o->docker_url) {
		t->docker_url = strdup(o->docker_url);
		t->docker_netns_run_path =
			strdup(o->docker_netns_run_path ? o->docker_netns_run_path : "");
		if (!t->docker_url || !t->docker_netns_run_path)
			goto oom;
	}
	if (o->runc) {
		t->runc_paths = calloc(o->n_runc_run_paths + 1, sizeof(*t->runc_paths));
		if (!t->runc_paths)
			goto oom;
		for (size_t i = 0; i < o->n_runc_run_paths; i++)
			if (!(t->runc_paths[t->n_runc_paths++] = strdup(o->runc_run_paths[i])))
				goto oom;
	}
	if (topo_lldp_init(t, o, err, errlen) < 0) {
		topology_free(t);
		return NULL;
	}
	t->root = calloc(1, sizeof(*t->root));
	if (!t->root)
		goto oom;
	t->root->t = t;
	t->root->stop_fd = -1;
	t->root->fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	memcpy(t->root->node_id, t->host_node_id, TOPOLOGY_ID_LEN);
	return t;
oom:
	snprintf(err, errlen, "topology: out of memory");
	topology_free(t);
	return NULL;
}

const char *topology_host_node_id(const struct topology *t)
{
	return t->host_node_id;
}

void topo_left_out_add(struct topology *t, const uint64_t add[TOPOLOGY_LEFT_KINDS])
{
	for (int k = 0; k < TOPOLOGY_LEFT_KINDS; k++)
		atomic_fetch_add(&t->left_out[k], add[k]);
}

void topology_left_out(struct topology *t, uint64_t out[TOPOLOGY_LEFT_KINDS])
{
	for (int k = 0; k < TOPOLOGY_LEFT_KINDS; k++)
		out[k] = atomic_load(&t->left_out[k]);
}

int topology_start(struct topology *t, char *err, size_t errlen)
{
	int64_t now = topo_now_ms();
	json_t *md = topo_host_metadata(t->host_id, t->host_extra);
	if (!md) {
		snprintf(err, errlen, "topology: out of memory");
		return -ENOMEM;
	}
	graph_lock(t->g);
	int rc = graph_node_add(t->g, t->host_node_id, md, t->host_id, t->origin, now);
	if (rc == -EEXIST) /* a restart on the same graph: refresh it */
		rc = graph_node_set_metadata(t->g, t->host_node_id,
					     topo_host_metadata(t->host_id, t->host_extra), now);
	graph_unlock(t->g);
	if (rc < 0) {
		snprintf(err, errlen, "topology: cannot add the host node: %s", strerror(-rc));
		return rc;
	}
	t->started = 1;
	rc = topo_netlink_start(t->root);
	if (rc < 0) {
		snprintf(err, errlen, "topology: netlink probe: %s", strerror(-rc));
		return rc;
	}
	if (*t->run_path) {
		rc = topo_netns_start(t);
		if (rc < 0) {
			snprintf(err, errlen, "topology: netns probe on %s: %s", t->run_path,
				 strerror(-rc));
			return rc;
		}
	}
	if (t->oflow_on) { /* before the OVSDB probe, which tells it the bridges */
		rc = topo_oflow_start(t);
		if (rc < 0) {
			snprintf(err, errlen, "topology: OpenFlow rule probe (ovs.oflow.enable): %s",
				 rc == -ENOENT ? "ovs-ofctl not found on PATH (Debian package "
						 "openvswitch-common)"
					       : strerror(-rc));
			return rc;
		}
	}
	if (*t->ovsdb) {
		rc = topo_ovs_start(t);
		if (rc < 0) {
			snprintf(err, errlen, "topology: ovsdb probe: %s", strerror(-rc));
			return rc;
		}
	}
	if (t->socketinfo_ms) {
		rc = topo_socketinfo_start(t);
		if (rc < 0) {
			snprintf(err, errlen, "topology: socketinfo probe: %s", strerror(-rc));
			return rc;
		}
	}
	if (t->lldp_on) {
		rc = topo_lldp_start(t);
		if (rc < 0) {
			snprintf(err, errlen, "topology: lldp probe: %s", strerror(-rc));
			return rc;
		}
	}
	if (t->docker_url) {
		rc = topo_docker_start(t);
		if (rc < 0) {
			snprintf(err, errlen, "topology: docker probe: %s", strerror(-rc));
			return rc;
		}
	}
	if (t->runc_paths) {
		rc = topo_runc_start(t);
		if (rc < 0) {
			snprintf(err, errlen, "topology: runc probe: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void topology_stop(struct topology *t)
{
	if (!t || !t->started)
		return;
	/* the container probes hold namespace registrations: before netns */
	topo_docker_stop(t);
	topo_runc_stop(t);
	topo_socketinfo_stop(t); /* reads the named namespace list: before netns */
	topo_lldp_stop(t);
	topo_ovs_stop(t);
	topo_oflow_stop(t); /* after the OVSDB probe, its only caller */
	topo_netns_stop(t); /* stops every named namespace probe too */
	topo_netlink_stop(t->root);
	t->started = 0;
}

void topology_free(struct topology *t)
{
	if (!t)
		return;
	topology_stop(t);
	topo_ovs_free(t);
	topo_oflow_free(t);
	free(t->oflow_versions);
	json_decref(t->oflow_address);
	for (size_t i = 0; i < t->n_intfs; i++) {
		json_decref(t->intfs[i]->md);
		free(t->intfs[i]);
	}
	free(t->intfs);
	free(t->edges);
	for (size_t i = 0; i < t->n_ctrs; i++) {
		free(t->ctrs[i]->key);
		json_decref(t->ctrs[i]->md);
		free(t->ctrs[i]);
	}
	free(t->ctrs);
	free(t->docker_url);
	free(t->docker_netns_run_path);
	for (size_t i = 0; i < t->n_runc_paths; i++)
		free(t->runc_paths[i]);
	free(t->runc_paths);
	if (t->root && t->root->fd >= 0)
		close(t->root->fd);
	free(t->root);
	pthread_mutex_destroy(&t->ns_lock);
	pthread_mutex_destroy(&t->ns_reg);
	json_decref(t->host_extra);
	free(t->host_id);
	free(t->origin);
	free(t->run_path);
	free(t->ovsdb);
	topo_lldp_free(t);
	free(t);
}

/* ---- link registry (graph lock held) ----------------------------------- */

struct topo_intf *topo_intf_find(struct topology *t, struct topo_ns *ns, int ifindex)
{
	for (size_t i = 0; i < t->n_intfs; i++)
		if (t->intfs[i]->ns == ns && t->intfs[i]->info.ifindex == ifindex)
			return t->intfs[i];
	return NULL;
}

void topo_forget_edges_of(struct topology *t, const char *id)
{
	size_t j = 0;
	for (size_t i = 0; i < t->n_edges; i++)
		if (strcmp(t->edges[i].parent, id) && strcmp(t->edges[i].child, id))
			t->edges[j++] = t->edges[i];
	t->n_edges = j;
}

static void intf_drop(struct topology *t, size_t i, int64_t now_ms)
{
	struct topo_intf *it = t->intfs[i];
	topo_forget_edges_of(t, it->id);
	int rc = graph_node_delete(t->g, it->id, now_ms);
	if (rc < 0 && rc != -ENOENT)
		log_warn("topology: deleting node of %s: %s", it->info.name, strerror(-rc));
	json_decref(it->md);
	free(it);
	t->intfs[i] = t->intfs[--t->n_intfs];
}

void topo_intf_remove(struct topology *t, struct topo_ns *ns, int ifindex, int64_t now_ms)
{
	for (size_t i = 0; i < t->n_intfs; i++)
		if (t->intfs[i]->ns == ns && t->intfs[i]->info.ifindex == ifindex) {
			log_debug("topology: link %s (%d) gone from %s", t->intfs[i]->info.name,
				  ifindex, ns->name ? ns->name : "root namespace");
			intf_drop(t, i, now_ms);
			return;
		}
}

/* Removes every link of a namespace (it went away). */
static void ns_remove_links(struct topology *t, struct topo_ns *ns, int64_t now_ms)
{
	for (size_t i = t->n_intfs; i-- > 0;)
		if (t->intfs[i]->ns == ns)
			intf_drop(t, i, now_ms);
}

void topo_intf_upsert(struct topology *t, struct topo_ns *ns, const struct topo_link_info *li,
		      json_t *md, int64_t now_ms)
{
	char id[TOPOLOGY_ID_LEN];
	/* The owner is the host (root namespace) or the netns node. */
	topology_tid(id, ns->node_id, li->name, li->type);
	json_object_set_new(md, "TID", json_string(id));
	/* What the OVSDB probe knows of it (UUID, Ovs, ExtID, its OVS Type), also
	 * once an internal port moved to another namespace. */
	const char *mac = json_string_value(json_object_get(md, "MAC"));
	json_t *extra = topo_ovs_intf_extra(t, ns == t->root, li->name, li->ifindex, mac ? mac : "");
	if (extra)
		json_object_update(md, extra);
	json_decref(extra);

	struct topo_intf *it = topo_intf_find(t, ns, li->ifindex);
	if (it && strcmp(it->id, id)) {
		/* Renamed (or retyped): the same link keeps its node and TID, as Skydive's
		 * probe finds its node by IfIndex and its TID mapper sets a TID only once;
		 * a restarted agent computes the TID from the new name. */
		memcpy(id, it->id, sizeof(id));
		json_object_set_new(md, "TID", json_string(id));
	}
	if (it) {
		/* Counters have their own timer: keep what it last set. */
		json_t *m = json_object_get(it->md, "Metric");
		json_t *lm = json_object_get(it->md, "LastUpdateMetric");
		if (m)
			json_object_set(md, "Metric", m);
		else
			json_object_del(md, "Metric");
		if (lm)
			json_object_set(md, "LastUpdateMetric", lm);
		json_t *lnn = json_object_get(it->md, "LinkNetNsName");
		if (it->info.peer_nsid != li->peer_nsid || it->info.peer_ifindex != li->peer_ifindex) {
			it->peer_ns = NULL; /* resolve again */
			it->peer_gen = 0;
		} else if (lnn) {
			json_object_set(md, "LinkNetNsName", lnn);
		}
		it->info = *li;
		if (json_equal(md, it->md)) {
			json_decref(md);
			return;
		}
		json_t *copy = json_deep_copy(md);
		int rc = topo_update_metadata(t->g, id, md, now_ms);
		if (rc < 0) {
			log_warn("topology: updating %s: %s", li->name, strerror(-rc));
			json_decref(copy);
			return;
		}
		json_decref(it->md);
		it->md = copy;
		return;
	}

	if (t->n_intfs == t->cap_intfs) {
		size_t cap = t->cap_intfs ? t->cap_intfs * 2 : 64;
		struct topo_intf **n = realloc(t->intfs, cap * sizeof(*n));
		if (!n)
			goto oom;
		t->intfs = n;
		t->cap_intfs = cap;
	}
	it = calloc(1, sizeof(*it));
	if (!it)
		goto oom;
	it->md = json_deep_copy(md);
	if (!it->md) {
		free(it);
		goto oom;
	}
	it->ns = ns;
	it->info = *li;
	it->metric_start_ms = now_ms;
	memcpy(it->id, id, sizeof(id));
	int rc = graph_node_add(t->g, id, md, t->host_id, t->origin, now_ms);
	if (rc == -EEXIST) /* left by an earlier run on the same graph */
		rc = graph_node_set_metadata(t->g, id, json_deep_copy(it->md), now_ms);
	if (rc < 0) {
		log_warn("topology: adding %s: %s", li->name, strerror(-rc));
		json_decref(it->md);
		free(it);
		return;
	}
	t->intfs[t->n_intfs++] = it;
	log_debug("topology: link %s (%d, %s) in %s", li->name, li->ifindex, li->type,
		  ns->name ? ns->name : "root namespace");
	return;
oom:
	log_error("topology: out of memory adding %s", li->name);
	json_decref(md);
}

int topo_update_metadata(struct graph *g, const char *id, json_t *md, int64_t now_ms)
{
	/* keys the agent's capture lanes set on a node, which no probe owns: Captures
	 * (the capture manager) and SFlow (an sflow capture's counters, sflow_meta.c) */
	static const char *const kept[] = {"Captures", "SFlow"};
	struct graph_view *v = NULL;
	const struct graph_node *n = NULL;
	for (size_t k = 0; md && k < sizeof(kept) / sizeof(kept[0]); k++) {
		if (json_object_get(md, kept[k]))
			continue;
		if (!v && (v = graph_view_at(g, 0, NULL)))
			n = graph_view_node_get(v, id);
		json_t *c = n ? json_object_get(n->e.metadata, kept[k]) : NULL;
		if (c)
			json_object_set_new(md, kept[k], json_deep_copy(c));
	}
	graph_view_free(v);
	return graph_node_set_metadata(g, id, md, now_ms);
}

void topo_intf_set_keys(struct topology *t, struct topo_ns *ns, int ifindex, json_t *keys,
			int64_t now_ms)
{
	struct topo_intf *it = topo_intf_find(t, ns, ifindex);
	const char *k;
	json_t *v;
	int changed = 0;
	/* the usual case (the features timer, a neighbour of another link): nothing
	 * changes, and nothing is copied */
	json_object_foreach(keys, k, v)
	{
		json_t *old = it ? json_object_get(it->md, k) : NULL;
		if (json_is_null(v) ? old != NULL : !old || !json_equal(old, v))
			changed = 1;
	}
	json_t *md = it && changed ? json_deep_copy(it->md) : NULL;
	if (!md) {
		json_decref(keys);
		return;
	}
	json_object_foreach(keys, k, v)
	{
		if (json_is_null(v))
			json_object_del(md, k);
		else
			json_object_set(md, k, v);
	}
	json_decref(keys);
	if (json_equal(md, it->md)) {
		json_decref(md);
		return;
	}
	json_t *copy = json_deep_copy(md);
	int rc = topo_update_metadata(t->g, it->id, md, now_ms);
	if (rc < 0 || !copy) {
		json_decref(copy);
		return;
	}
	json_decref(it->md);
	it->md = copy;
}

void topo_intf_set_metric(struct topology *t, struct topo_ns *ns, int ifindex, json_t *metric,
			  int64_t now_ms)
{
	struct topo_intf *it = topo_intf_find(t, ns, ifindex);
	if (!it) {
		json_decref(metric);
		return;
	}
	json_t *prev = json_object_get(it->md, "Metric");
	int64_t prev_last = json_integer_value(json_object_get(prev, "Last"));
	json_t *last = topology_metric_diff(metric, prev, prev_last ? prev_last : it->metric_start_ms,
					    now_ms);
	if (!last) { /* nothing moved since the last update: no churn */
		json_decref(metric);
		return;
	}
	json_t *md = json_deep_copy(it->md);
	if (!md) {
		json_decref(metric);
		json_decref(last);
		return;
	}
	json_object_set_new(md, "Metric", metric);
	json_object_set_new(md, "LastUpdateMetric", last);
	json_t *copy = json_deep_copy(md);
	int rc = topo_update_metadata(t->g, it->id, md, now_ms);
	if (rc < 0 || !copy) {
		json_decref(copy);
		return;
	}
	json_decref(it->md);
	it->md = copy;
}

/* ---- edges ------------------------------------------------------------- */

void topo_want_edge(struct topo_want *w, const char *parent, const char *child, const char *rel,
		    const char *type)
{
	char id[TOPOLOGY_ID_LEN];
	topology_edge_id(id, parent, child, rel);
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->v[i].id, id))
			return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct topo_edge *n = realloc(w->v, cap * sizeof(*n));
		if (!n)
			return; /* the next reconcile tries again */
		w->v = n;
		w->cap = cap;
	}
	struct topo_edge *e = &w->v[w->n++];
	memcpy(e->id, id, sizeof(id));
	snprintf(e->parent, sizeof(e->parent), "%s", parent);
	snprintf(e->child, sizeof(e->child), "%s", child);
	e->relation = rel;
	e->type = type;
	e->wanted = 0;
}

/* Which namespace the nsid of a veth's peer names: asked (RTM_GETNSID)
 * through a socket inside the veth's namespace, once per change of the set
 * of namespaces. The answer also gives LinkNetNsName. */
static void resolve_peer_ns(struct topology *t, struct topo_intf *x, int64_t now_ms)
{
	if (x->info.peer_nsid < 0) {
		x->peer_ns = x->ns;
		return;
	}
	if (x->peer_ns || x->peer_gen == t->ns_gen || !x->ns->nsid_sock)
		return;
	x->peer_gen = t->ns_gen;
	struct topo_ns *found = NULL;
	if (x->ns != t->root && t->root->fd >= 0 &&
	    topo_nsid_of(x->ns->nsid_sock, t->root->fd) == x->info.peer_nsid)
		found = t->root;
	pthread_mutex_lock(&t->ns_lock);
	for (struct topo_ns *ns = t->named; ns && !found; ns = ns->next)
		if (ns != x->ns && ns->fd >= 0 &&
		    topo_nsid_of(x->ns->nsid_sock, ns->fd) == x->info.peer_nsid)
			found = ns;
	pthread_mutex_unlock(&t->ns_lock);
	if (!found) {
		log_debug("topology: no namespace known for nsid %d of %s's peer", x->info.peer_nsid,
			  x->info.name);
		return;
	}
	x->peer_ns = found;
	if (found->name) {
		json_t *v = json_string(found->name);
		json_object_set(x->md, "LinkNetNsName", v);
		graph_node_set_key(t->g, x->id, "LinkNetNsName", v, now_ms);
	}
}

/* The other end of a veth, in the namespace its nsid names. */
static struct topo_intf *veth_peer(struct topology *t, const struct topo_intf *x)
{
	if (!x->peer_ns)
		return NULL;
	for (size_t i = 0; i < t->n_intfs; i++) {
		struct topo_intf *y = t->intfs[i];
		if (y != x && y->ns == x->peer_ns && y->info.ifindex == x->info.peer_ifindex &&
		    !strcmp(y->info.type, "veth"))
			return y;
	}
	return NULL;
}

static void want_edges(struct topology *t, struct topo_want *w, int64_t now_ms)
{
	pthread_mutex_lock(&t->ns_lock);
	for (struct topo_ns *ns = t->named; ns; ns = ns->next)
		if (ns->has_node)
			topo_want_edge(w, t->host_node_id, ns->node_id, "ownership", NULL);
	pthread_mutex_unlock(&t->ns_lock);

	for (size_t i = 0; i < t->n_intfs; i++) {
		struct topo_intf *x = t->intfs[i];
		topo_want_edge(w, x->ns->node_id, x->id, "ownership", NULL);
		if (x->info.master) {
			struct topo_intf *m = topo_intf_find(t, x->ns, x->info.master);
			/* ovs-system as a master means nothing (Skydive skips it too). */
			if (m && strcmp(m->info.name, "ovs-system"))
				topo_want_edge(w, m->id, x->id, "layer2", NULL);
		}
		if (x->info.vlan && x->info.parent) {
			struct topo_intf *p = topo_intf_find(t, x->ns, x->info.parent);
			if (p)
				topo_want_edge(w, p->id, x->id, "layer2", "vlan");
		}
		/* LinkNetNsName of any link whose other end is in another namespace */
		if (x->info.peer_nsid >= 0 && strcmp(x->info.type, "veth"))
			resolve_peer_ns(t, x, now_ms);
		if (!strcmp(x->info.type, "veth") && x->info.peer_ifindex) {
			resolve_peer_ns(t, x, now_ms);
			struct topo_intf *y = veth_peer(t, x);
			if (!y)
				continue;
			/* One edge per pair: the parent is the end with the higher
			 * ifindex (as Skydive), the ID breaking ties. */
			int x_parent = x->info.ifindex > y->info.ifindex ||
				       (x->info.ifindex == y->info.ifindex &&
					strcmp(x->id, y->id) > 0);
			if (x_parent)
				topo_want_edge(w, x->id, y->id, "layer2", "veth");
			else
				topo_want_edge(w, y->id, x->id, "layer2", "veth");
		}
	}
	topo_ovs_want_edges(t, w);
	topo_ctr_want_edges(t, w);
}

void topo_reconcile_edges(struct topology *t, int64_t now_ms)
{
	struct topo_want w = {0};
	want_edges(t, &w, now_ms);

	/* Drop what is no longer wanted. */
	size_t j = 0;
	for (size_t i = 0; i < t->n_edges; i++) {
		struct topo_edge *e = &t->edges[i];
		int keep = 0;
		for (size_t k = 0; k < w.n; k++)
			if (!strcmp(w.v[k].id, e->id)) {
				w.v[k].wanted = 1; /* already there */
				keep = 1;
				break;
			}
		if (keep) {
			t->edges[j++] = *e;
		} else {
			int rc = graph_edge_delete(t->g, e->id, now_ms);
			if (rc < 0 && rc != -ENOENT)
				log_warn("topology: deleting edge: %s", strerror(-rc));
		}
	}
	t->n_edges = j;

	/* Add what is missing. */
	for (size_t k = 0; k < w.n; k++) {
		struct topo_edge *e = &w.v[k];
		if (e->wanted)
			continue;
		if (t->n_edges == t->cap_edges) {
			size_t cap = t->cap_edges ? t->cap_edges * 2 : 64;
			struct topo_edge *n = realloc(t->edges, cap * sizeof(*n));
			if (!n)
				break;
			t->edges = n;
			t->cap_edges = cap;
		}
		json_t *md = json_pack("{ss}", "RelationType", e->relation);
		if (md && e->type)
			json_object_set_new(md, "Type", json_string(e->type));
		int rc = graph_edge_add(t->g, e->id, e->parent, e->child, md, t->host_id, t->origin,
					now_ms);
		if (rc == -EEXIST)
			rc = 0;
		if (rc < 0) {
			log_warn("topology: adding %s edge: %s", e->relation, strerror(-rc));
			continue;
		}
		t->edges[t->n_edges++] = *e;
	}
	free(w.v);
}

/* ---- named namespaces (called by the netns watcher) --------------------- */

/* Adds the netns node and starts its netlink probe. */
int topo_ns_add(struct topology *t, const char *name, const char *path, dev_t dev, ino_t ino,
		struct topo_ns **out)
{
	struct topo_ns *ns = calloc(1, sizeof(*ns));
	if (out)
		*out = NULL;
	if (!ns)
		return -ENOMEM;
	ns->t = t;
	ns->refs = 1;
	ns->stop_fd = -1;
	ns->fd = open(path, O_RDONLY | O_CLOEXEC);
	ns->dev = dev;
	ns->ino = ino;
	ns->name = strdup(name);
	ns->path = strdup(path);
	if (!ns->name || !ns->path) {
		free(ns->name);
		free(ns->path);
		if (ns->fd >= 0)
			close(ns->fd);
		free(ns);
		return -ENOMEM;
	}
	topology_netns_tid(ns->node_id, t->host_node_id, path);

	int64_t now = topo_now_ms();
	/* netns.go Register's keys, Inode and Device of the namespace file included */
	json_t *md = json_pack("{ss ss ss ss sI sI}", "Name", name, "Type", "netns", "Path", path,
			       "TID", ns->node_id, "Inode", (json_int_t)ino, "Device",
			       (json_int_t)dev);
	graph_lock(t->g);
	int rc = md ? graph_node_add(t->g, ns->node_id, md, t->host_id, t->origin, now) : -ENOMEM;
	if (rc == -EEXIST)
		rc = 0;
	if (rc == 0) {
		ns->has_node = 1;
		pthread_mutex_lock(&t->ns_lock);
		ns->next = t->named;
		t->named = ns;
		pthread_mutex_unlock(&t->ns_lock);
		t->ns_gen++;
		topo_reconcile_edges(t, now);
	}
	graph_unlock(t->g);
	if (rc < 0) {
		log_warn("topology: netns %s: %s", name, strerror(-rc));
		free(ns->name);
		free(ns->path);
		if (ns->fd >= 0)
			close(ns->fd);
		free(ns);
		return rc;
	}
	log_info("topology: netns %s added", name);
	if (out)
		*out = ns;
	rc = topo_netlink_start(ns);
	if (rc < 0)
		log_warn("topology: netlink probe in netns %s: %s", name, strerror(-rc));
	return 0;
}

/* Stops the probe of a namespace; with remove_nodes, deletes its nodes. */
void topo_ns_del(struct topology *t, struct topo_ns *ns, int remove_nodes)
{
	topo_netlink_stop(ns);
	int64_t now = topo_now_ms();
	graph_lock(t->g);
	pthread_mutex_lock(&t->ns_lock);
	for (struct topo_ns **pp = &t->named; *pp; pp = &(*pp)->next)
		if (*pp == ns) {
			*pp = ns->next;
			break;
		}
	pthread_mutex_unlock(&t->ns_lock);
	t->ns_gen++;
	for (size_t i = 0; i < t->n_intfs; i++)
		if (t->intfs[i]->peer_ns == ns)
			t->intfs[i]->peer_ns = NULL;
	if (remove_nodes) {
		ns_remove_links(t, ns, now);
		topo_forget_edges_of(t, ns->node_id);
		int rc = graph_node_delete(t->g, ns->node_id, now);
		if (rc < 0 && rc != -ENOENT)
			log_warn("topology: deleting netns %s: %s", ns->name, strerror(-rc));
		topo_reconcile_edges(t, now);
	} else {
		/* Keep the nodes (the graph outlives us) but not our records. */
		for (size_t i = t->n_intfs; i-- > 0;)
			if (t->intfs[i]->ns == ns) {
				json_decref(t->intfs[i]->md);
				free(t->intfs[i]);
				t->intfs[i] = t->intfs[--t->n_intfs];
			}
	}
	graph_unlock(t->g);
	if (remove_nodes)
		log_info("topology: netns %s removed", ns->name);
	if (ns->fd >= 0)
		close(ns->fd);
	free(ns->name);
	free(ns->path);
	free(ns->watch_name);
	free(ns);
}
