/* ovsdb.c - the OVSDB probe: a thread that speaks RFC 7047 JSON-RPC to
 * ovsdb-server (unix or tcp socket), monitors the Bridge, Port and
 * Interface tables (not statistics, which change every 5 s), keeps a mirror
 * of their rows, and after each update brings the OVS nodes, the OVS keys
 * of the matching kernel links and the OVS edges in line with it.
 * Unreachable or lost, the OVSDB is retried every second, logged once. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "topology/topo_int.h"

#define OVS_RETRY_MS 1000
#define OVS_CONNECT_TIMEOUT_MS 3000
#define OVS_MAX_BUFFER (64u << 20) /* one JSON-RPC message at most */

/* A node the probe owns (ovsbridge, ovsport, interface without a kernel
 * link). Graph lock. */
struct ovs_node {
	char id[TOPOLOGY_ID_LEN];
	json_t *md; /* copy of what the graph has */
	int wanted;
};

struct topo_ovs {
	struct topology *t;
	pthread_t thread;
	int thread_started;
	int stop_fd;
	/* Graph lock held for these. */
	json_t *rows;	   /* {"Bridge":{uuid:row}, "Port":{...}, "Interface":{...}} */
	json_t *port_of;   /* interface uuid -> port uuid */
	json_t *bridge_of; /* port uuid -> bridge uuid */
	/* interface uuid -> the last mac_in_use OVS reported: once an internal
	 * port moved to another namespace OVS clears mac_in_use and ifindex, and
	 * the MAC (which the move keeps) is what still names its link. */
	json_t *last_mac;
	struct ovs_node *nodes;
	size_t n_nodes, cap_nodes;
};

/* Type is not among them: it is the netlink one until the OVSDB says
 * otherwise (sync_kernel_links puts it back). */
const char *const topo_ovs_intf_keys[] = {"UUID", "Ovs", "ExtID", "OfPort", NULL};

static const char *const tables[] = {"Bridge", "Port", "Interface"};

/* ---- OVSDB value helpers (RFC 7047 section 5.1) -------------------------- */

/* Whether v is [tag, x]: OVSDB's tagged values ("set", "map", "uuid"). */
static int is_tagged(const json_t *v, const char *tag)
{
	const char *s = json_string_value(json_array_get(v, 0));
	return json_is_array(v) && json_array_size(v) == 2 && s && !strcmp(s, tag);
}

/* The atoms of a value: ["set",[a,...]] or a single atom. */
static size_t set_size(const json_t *v)
{
	if (is_tagged(v, "set"))
		return json_array_size(json_array_get(v, 1));
	return v ? 1 : 0;
}

static const json_t *set_get(const json_t *v, size_t i)
{
	if (is_tagged(v, "set"))
		return json_array_get(json_array_get(v, 1), i);
	return i == 0 ? v : NULL;
}

/* The string of ["uuid","..."], else NULL. */
static const char *uuid_of(const json_t *atom)
{
	if (is_tagged(atom, "uuid"))
		return json_string_value(json_array_get(atom, 1));
	return NULL;
}

/* An optional string column (a string, or a set of 0 or 1): "" if unset. */
static const char *col_str(const json_t *row, const char *col)
{
	const json_t *v = json_object_get(row, col);
	const char *s = set_size(v) == 1 ? json_string_value(set_get(v, 0)) : NULL;
	return s ? s : "";
}

/* An optional integer column: 0 if unset. */
static json_int_t col_int(const json_t *row, const char *col)
{
	const json_t *v = json_object_get(row, col);
	return set_size(v) == 1 ? json_integer_value(set_get(v, 0)) : 0;
}

/* A map column ["map",[[k,v],...]] of strings as a new object, NULL when
 * empty or absent. */
static json_t *col_map(const json_t *row, const char *col)
{
	const json_t *v = json_object_get(row, col);
	if (!is_tagged(v, "map"))
		return NULL;
	const json_t *pairs = json_array_get(v, 1);
	json_t *o = NULL;
	size_t i;
	json_t *pair;
	json_array_foreach(pairs, i, pair)
	{
		const char *k = json_string_value(json_array_get(pair, 0));
		json_t *val = json_array_get(pair, 1);
		if (!k || !val)
			continue;
		if (!o && !(o = json_object()))
			return NULL;
		json_object_set(o, k, val);
	}
	return o;
}

static json_t *table(const struct topo_ovs *o, const char *name)
{
	return json_object_get(o->rows, name);
}

/* ---- the model (graph lock held) ------------------------------------------ */

static void rebuild_maps(struct topo_ovs *o)
{
	json_object_clear(o->port_of);
	json_object_clear(o->bridge_of);
	const char *uuid;
	json_t *row;
	json_object_foreach(table(o, "Bridge"), uuid, row)
	{
		const json_t *ports = json_object_get(row, "ports");
		for (size_t i = 0; i < set_size(ports); i++) {
			const char *p = uuid_of(set_get(ports, i));
			if (p)
				json_object_set_new(o->bridge_of, p, json_string(uuid));
		}
	}
	json_object_foreach(table(o, "Port"), uuid, row)
	{
		const json_t *ifs = json_object_get(row, "interfaces");
		for (size_t i = 0; i < set_size(ifs); i++) {
			const char *u = uuid_of(set_get(ifs, i));
			if (u)
				json_object_set_new(o->port_of, u, json_string(uuid));
		}
	}
}

static void bridge_id(const struct topology *t, const char *uuid, char out[TOPOLOGY_ID_LEN])
{
	topology_ovs_tid(out, t->host_node_id, uuid, "ovsbridge");
}

static void port_id(const struct topology *t, const char *uuid, char out[TOPOLOGY_ID_LEN])
{
	topology_ovs_tid(out, t->host_node_id, uuid, "ovsport");
}

/* The bridge and port uuids of an interface; 0 when not (yet) attached. */
static int iface_place(const struct topo_ovs *o, const char *iface_uuid, const char **port,
		       const char **bridge)
{
	*port = json_string_value(json_object_get(o->port_of, iface_uuid));
	*bridge = *port ? json_string_value(json_object_get(o->bridge_of, *port)) : NULL;
	return *port && *bridge && json_object_get(table(o, "Bridge"), *bridge) &&
	       json_object_get(table(o, "Port"), *port);
}

/* The MAC string of a link's metadata, "" if none. */
static const char *link_mac(const struct topo_intf *it)
{
	const char *m = json_string_value(json_object_get(it->md, "MAC"));
	return m ? m : "";
}

/* Whether the kernel link (ns_is_root, name, ifindex, MAC) is the device of
 * that OVS interface row. In the root namespace: same name, and same ifindex
 * once OVS knows it. In another namespace (an internal port moved there with
 * `ip link set ... netns`, which OVS does not follow): same name and the MAC
 * OVS saw in use, as Skydive's ovsdb.go finds the netlink node by Name and
 * MAC (and IfIndex when known). */
static int link_is_row(const struct topo_ovs *o, int ns_is_root, const char *name, int ifindex,
		       const char *mac, const char *uuid, const json_t *row)
{
	if (strcmp(col_str(row, "name"), name))
		return 0;
	if (ns_is_root) {
		json_int_t idx = col_int(row, "ifindex");
		return idx <= 0 || idx == ifindex;
	}
	const char *in_use = col_str(row, "mac_in_use");
	if (!*in_use)
		in_use = json_string_value(json_object_get(o->last_mac, uuid));
	return *mac && in_use && *in_use && !strcasecmp(mac, in_use);
}

/* The link an OVS interface row is: the root-namespace one first, else one
 * in a named namespace with the same MAC. */
static struct topo_intf *kernel_intf(struct topo_ovs *o, const char *uuid, const json_t *row)
{
	struct topology *t = o->t;
	struct topo_intf *moved = NULL;
	for (size_t i = 0; i < t->n_intfs; i++) {
		struct topo_intf *it = t->intfs[i];
		int root = it->ns == t->root;
		if (!link_is_row(o, root, it->info.name, it->info.ifindex, link_mac(it), uuid, row))
			continue;
		if (root)
			return it;
		if (!moved)
			moved = it;
	}
	return moved;
}

/* Types of interfaces that have a kernel link (in the root namespace) we
 * wait for, rather than a node of our own. */
static int has_kernel_link(const char *type)
{
	return !*type || !strcmp(type, "system") || !strcmp(type, "internal") ||
	       !strcmp(type, "tap");
}

/* The ID of the node of an own interface (owned by its bridge). */
static void own_iface_id(const struct topology *t, const char *bridge_uuid, const char *name,
			 const char *type, char out[TOPOLOGY_ID_LEN])
{
	char br[TOPOLOGY_ID_LEN];
	bridge_id(t, bridge_uuid, br);
	topology_tid(out, br, name, type);
}

static struct ovs_node *own_node(struct topo_ovs *o, const char *id)
{
	for (size_t i = 0; i < o->n_nodes; i++)
		if (!strcmp(o->nodes[i].id, id))
			return &o->nodes[i];
	return NULL;
}

/* The node an interface row stands for: a kernel link, or our own node
 * (when it is in the graph); NULL if neither. */
static const char *iface_node(struct topo_ovs *o, const char *uuid, const json_t *row,
			      const char *bridge, char buf[TOPOLOGY_ID_LEN])
{
	const char *name = col_str(row, "name"), *type = col_str(row, "type");
	if (has_kernel_link(type)) {
		struct topo_intf *it = kernel_intf(o, uuid, row);
		return it ? it->id : NULL;
	}
	own_iface_id(o->t, bridge, name, type, buf);
	return own_node(o, buf) ? buf : NULL;
}

/* The Ovs sub-object of an interface. */
static json_t *ovs_md(const char *uuid, const json_t *row)
{
	json_t *m = json_pack("{ss}", "UUID", uuid);
	if (!m)
		return NULL;
	json_int_t ofport = col_int(row, "ofport");
	if (ofport)
		json_object_set_new(m, "OfPort", json_integer(ofport));
	json_t *opts = col_map(row, "options");
	if (opts)
		json_object_set_new(m, "Options", opts);
	json_t *oc = col_map(row, "other_config");
	if (oc)
		json_object_set_new(m, "OtherConfig", oc);
	const char *err = col_str(row, "error");
	if (*err)
		json_object_set_new(m, "Error", json_string(err));
	return m;
}

/* UUID, OfPort, Ovs and ExtID of an interface into md. OfPort is also a
 * top-level key, where Skydive's ovsdb.go puts it (Ovs.OfPort stays for
 * our earlier users). */
static void iface_keys(json_t *md, const char *uuid, const json_t *row)
{
	json_object_set_new(md, "UUID", json_string(uuid));
	json_int_t ofport = col_int(row, "ofport");
	if (ofport)
		json_object_set_new(md, "OfPort", json_integer(ofport));
	json_t *m = ovs_md(uuid, row);
	if (m)
		json_object_set_new(md, "Ovs", m);
	json_t *ext = col_map(row, "external_ids");
	if (ext)
		json_object_set_new(md, "ExtID", ext);
}

json_t *topo_ovs_intf_extra(struct topology *t, int ns_is_root, const char *name, int ifindex,
			    const char *mac)
{
	struct topo_ovs *o = t->ovs;
	if (!o)
		return NULL;
	const char *uuid;
	json_t *row;
	json_object_foreach(table(o, "Interface"), uuid, row)
	{
		const char *port, *bridge, *type = col_str(row, "type");
		if (!has_kernel_link(type) ||
		    !link_is_row(o, ns_is_root, name, ifindex, mac, uuid, row) ||
		    !iface_place(o, uuid, &port, &bridge))
			continue;
		json_t *md = json_object();
		if (!md)
			return NULL;
		iface_keys(md, uuid, row);
		/* The OVSDB type names the link, as Skydive's ovsdb.go sets Type from
		 * it when set: an internal port is "internal" whether the kernel
		 * datapath made it (kind openvswitch) or the userspace one (a tap). */
		if (*type && strcmp(type, "system"))
			json_object_set_new(md, "Type", json_string(type));
		return md;
	}
	return NULL;
}

void topo_ovs_want_edges(struct topology *t, struct topo_want *w)
{
	struct topo_ovs *o = t->ovs;
	if (!o)
		return;
	const char *uuid;
	json_t *row;
	char br[TOPOLOGY_ID_LEN], port[TOPOLOGY_ID_LEN], buf[TOPOLOGY_ID_LEN];
	json_object_foreach(table(o, "Bridge"), uuid, row)
	{
		bridge_id(t, uuid, br);
		if (own_node(o, br))
			topo_want_edge(w, t->host_node_id, br, "ownership", NULL);
	}
	json_object_foreach(table(o, "Port"), uuid, row)
	{
		const char *b = json_string_value(json_object_get(o->bridge_of, uuid));
		if (!b)
			continue;
		bridge_id(t, b, br);
		port_id(t, uuid, port);
		if (!own_node(o, br) || !own_node(o, port))
			continue;
		topo_want_edge(w, br, port, "ownership", NULL);
		topo_want_edge(w, br, port, "layer2", NULL);
	}
	json_object_foreach(table(o, "Interface"), uuid, row)
	{
		const char *pu, *bu;
		if (!iface_place(o, uuid, &pu, &bu))
			continue;
		bridge_id(t, bu, br);
		port_id(t, pu, port);
		const char *id = iface_node(o, uuid, row, bu, buf);
		if (!id || !own_node(o, port))
			continue;
		topo_want_edge(w, port, id, "layer2", NULL);
		if (id == buf && own_node(o, br))
			topo_want_edge(w, br, id, "ownership", NULL);

		/* Patch peers: one edge per pair, from the lesser name. */
		json_t *opts = col_map(row, "options");
		const char *peer = json_string_value(json_object_get(opts, "peer"));
		const char *name = col_str(row, "name");
		if (strcmp(col_str(row, "type"), "patch") || !peer || strcmp(name, peer) >= 0) {
			json_decref(opts);
			continue;
		}
		const char *pu2;
		json_t *prow;
		json_object_foreach(table(o, "Interface"), pu2, prow)
		{
			const char *pport, *pbridge;
			char pbuf[TOPOLOGY_ID_LEN];
			if (strcmp(col_str(prow, "name"), peer) ||
			    strcmp(col_str(prow, "type"), "patch") ||
			    !iface_place(o, pu2, &pport, &pbridge))
				continue;
			const char *pid = iface_node(o, pu2, prow, pbridge, pbuf);
			if (pid)
				topo_want_edge(w, id, pid, "patch", NULL);
			break;
		}
		json_decref(opts);
	}
}

static int node_want(struct topo_ovs *o, const char *id, json_t *md)
{
	if (!md)
		return -ENOMEM;
	json_object_set_new(md, "TID", json_string(id));
	struct topology *t = o->t;
	int64_t now = topo_now_ms();
	struct ovs_node *n = own_node(o, id);
	if (n) {
		n->wanted = 1;
		if (json_equal(md, n->md)) {
			json_decref(md);
			return 0;
		}
		json_t *copy = json_deep_copy(md);
		int rc = topo_update_metadata(t->g, id, md, now);
		if (rc < 0 || !copy) {
			json_decref(copy);
			return rc < 0 ? rc : -ENOMEM;
		}
		json_decref(n->md);
		n->md = copy;
		return 0;
	}
	if (o->n_nodes == o->cap_nodes) {
		size_t cap = o->cap_nodes ? o->cap_nodes * 2 : 32;
		struct ovs_node *nn = realloc(o->nodes, cap * sizeof(*nn));
		if (!nn) {
			json_decref(md);
			return -ENOMEM;
		}
		o->nodes = nn;
		o->cap_nodes = cap;
	}
	json_t *copy = json_deep_copy(md);
	if (!copy) {
		json_decref(md);
		return -ENOMEM;
	}
	int rc = graph_node_add(t->g, id, md, t->host_id, t->origin, now);
	if (rc == -EEXIST) /* left by an earlier run on the same graph */
		rc = graph_node_set_metadata(t->g, id, json_deep_copy(copy), now);
	if (rc < 0) {
		log_warn("ovsdb probe: adding node %s: %s", id, strerror(-rc));
		json_decref(copy);
		return rc;
	}
	n = &o->nodes[o->n_nodes++];
	snprintf(n->id, sizeof(n->id), "%s", id);
	n->md = copy;
	n->wanted = 1;
	return 0;
}

/* The OVS keys (and Type) of every link, as the mirror says. */
static void sync_kernel_links(struct topo_ovs *o, int64_t now)
{
	struct topology *t = o->t;
	for (size_t i = 0; i < t->n_intfs; i++) {
		struct topo_intf *it = t->intfs[i];
		json_t *md = json_deep_copy(it->md);
		if (!md)
			continue;
		for (size_t k = 0; topo_ovs_intf_keys[k]; k++)
			json_object_del(md, topo_ovs_intf_keys[k]);
		json_object_set_new(md, "Type", json_string(it->info.type));
		json_t *extra = topo_ovs_intf_extra(t, it->ns == t->root, it->info.name,
						    it->info.ifindex, link_mac(it));
		if (extra)
			json_object_update(md, extra);
		json_decref(extra);
		if (json_equal(md, it->md)) {
			json_decref(md);
			continue;
		}
		json_t *copy = json_deep_copy(md);
		if (!copy || topo_update_metadata(t->g, it->id, md, now) < 0) {
			json_decref(copy);
			continue;
		}
		json_decref(it->md);
		it->md = copy;
	}
}

/* Keeps o->last_mac in line with the Interface table. */
static void remember_macs(struct topo_ovs *o)
{
	const char *uuid;
	json_t *row, *v;
	void *tmp;
	json_object_foreach(table(o, "Interface"), uuid, row)
	{
		const char *mac = col_str(row, "mac_in_use");
		if (*mac)
			json_object_set_new(o->last_mac, uuid, json_string(mac));
	}
	json_object_foreach_safe(o->last_mac, tmp, uuid, v)
	{
		if (!json_object_get(table(o, "Interface"), uuid))
			json_object_del(o->last_mac, uuid);
	}
}

/* Tells the OpenFlow rule probe (oflow.c) which bridges there are. */
static void oflow_bridges(struct topo_ovs *o)
{
	struct topology *t = o->t;
	if (!t->oflow)
		return;
	size_t n = json_object_size(table(o, "Bridge")), i = 0;
	const char **uuids = calloc(n ? n : 1, sizeof(*uuids));
	const char **names = calloc(n ? n : 1, sizeof(*names));
	if (uuids && names) {
		const char *uuid;
		json_t *row;
		json_object_foreach(table(o, "Bridge"), uuid, row)
		{
			const char *name = col_str(row, "name");
			if (!*name)
				continue;
			uuids[i] = uuid;
			names[i++] = name;
		}
		topo_oflow_bridges(t, uuids, names, i);
	}
	free(uuids);
	free(names);
}

/* Brings the graph in line with the mirror. */
static void ovs_sync(struct topo_ovs *o)
{
	struct topology *t = o->t;
	int64_t now = topo_now_ms();
	rebuild_maps(o);
	remember_macs(o);
	for (size_t i = 0; i < o->n_nodes; i++)
		o->nodes[i].wanted = 0;

	const char *uuid;
	json_t *row;
	char id[TOPOLOGY_ID_LEN];
	json_object_foreach(table(o, "Bridge"), uuid, row)
	{
		bridge_id(t, uuid, id);
		json_t *md = json_pack("{ss ss ss}", "Name", col_str(row, "name"), "Type",
				       "ovsbridge", "UUID", uuid);
		json_t *ext = col_map(row, "external_ids");
		if (md && ext)
			json_object_set(md, "ExtID", ext);
		json_decref(ext);
		node_want(o, id, md);
	}
	json_object_foreach(table(o, "Port"), uuid, row)
	{
		if (!json_object_get(o->bridge_of, uuid))
			continue; /* not (yet) in a bridge */
		port_id(t, uuid, id);
		json_t *md = json_pack("{ss ss ss}", "Name", col_str(row, "name"), "Type", "ovsport",
				       "UUID", uuid);
		json_t *ext = col_map(row, "external_ids");
		if (md && ext)
			json_object_set(md, "ExtID", ext);
		json_decref(ext);
		const json_t *tag = json_object_get(row, "tag");
		if (md && set_size(tag) == 1 && json_is_integer(set_get(tag, 0)))
			json_object_set_new(md, "Vlans", json_integer(json_integer_value(set_get(tag, 0))));
		node_want(o, id, md);
	}
	json_object_foreach(table(o, "Interface"), uuid, row)
	{
		const char *type = col_str(row, "type"), *name = col_str(row, "name");
		const char *pu, *bu;
		if (has_kernel_link(type) || !iface_place(o, uuid, &pu, &bu))
			continue;
		own_iface_id(t, bu, name, type, id);
		json_t *md = json_pack("{ss ss ss}", "Name", name, "Type", type, "Driver",
				       "openvswitch");
		if (!md)
			continue;
		iface_keys(md, uuid, row);
		const char *mac = col_str(row, "mac_in_use");
		if (*mac)
			json_object_set_new(md, "MAC", json_string(mac));
		node_want(o, id, md);
	}

	/* Nodes no longer there (their edges go with them). */
	for (size_t i = o->n_nodes; i-- > 0;) {
		struct ovs_node *n = &o->nodes[i];
		if (n->wanted)
			continue;
		topo_forget_edges_of(t, n->id);
		int rc = graph_node_delete(t->g, n->id, now);
		if (rc < 0 && rc != -ENOENT)
			log_warn("ovsdb probe: deleting node %s: %s", n->id, strerror(-rc));
		json_decref(n->md);
		o->nodes[i] = o->nodes[--o->n_nodes];
	}
	sync_kernel_links(o, now);
	topo_reconcile_edges(t, now);
	oflow_bridges(o);
}

/* Applies a <table-updates> object (initial contents or an update). */
static void apply_updates(struct topo_ovs *o, const json_t *updates)
{
	for (size_t k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
		json_t *mine = table(o, tables[k]);
		const json_t *tu = json_object_get(updates, tables[k]);
		const char *uuid;
		json_t *ru;
		json_object_foreach((json_t *)tu, uuid, ru)
		{
			json_t *nw = json_object_get(ru, "new");
			if (!nw) {
				json_object_del(mine, uuid);
				continue;
			}
			/* A modify may carry only some columns: merge. */
			json_t *cur = json_object_get(mine, uuid);
			if (cur)
				json_object_update(cur, nw);
			else
				json_object_set(mine, uuid, nw);
		}
	}
}

static void clear_mirror(struct topo_ovs *o)
{
	for (size_t k = 0; k < sizeof(tables) / sizeof(tables[0]); k++)
		json_object_clear(table(o, tables[k]));
}

/* ---- the connection ------------------------------------------------------- */

/* Waits up to ms for fd to be ready for events; 1 ready, 0 timeout, -1
 * stop asked (or poll error). */
static int wait_fd(struct topo_ovs *o, int fd, short events, int ms)
{
	struct pollfd p[2] = {{.fd = o->stop_fd, .events = POLLIN}, {.fd = fd, .events = events}};
	for (;;) {
		int n = poll(p, fd >= 0 ? 2 : 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[0].revents)
			return -1;
		return n > 0 ? 1 : 0;
	}
}

/* A connected non-blocking socket to the target, or -errno (-ECANCELED when
 * asked to stop). */
static int ovs_connect(struct topo_ovs *o, const char *target)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rc;
	memset(&ss, 0, sizeof(ss));
	if (!strncmp(target, "unix:", 5)) {
		const char *path = target + 5;
		if (!strncmp(path, "//", 2))
			path += 2;
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		if (strlen(path) >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, path, strlen(path) + 1);
		sl = sizeof(*sun);
	} else if (!strncmp(target, "tcp:", 4)) {
		const char *hp = target + 4;
		if (!strncmp(hp, "//", 2))
			hp += 2;
		char host[256], port[16];
		const char *colon = strrchr(hp, ':');
		if (!colon || colon == hp || (size_t)(colon - hp) >= sizeof(host) ||
		    strlen(colon + 1) >= sizeof(port))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = 0;
		}
		snprintf(port, sizeof(port), "%s", colon + 1);
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		if (getaddrinfo(host, port, &hints, &ai) || !ai)
			return -EHOSTUNREACH;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		freeaddrinfo(ai);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			goto fail;
		}
		rc = wait_fd(o, fd, POLLOUT, OVS_CONNECT_TIMEOUT_MS);
		if (rc <= 0) {
			rc = rc < 0 ? -ECANCELED : -ETIMEDOUT;
			goto fail;
		}
		int e = 0;
		socklen_t el = sizeof(e);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			rc = -(e ? e : errno);
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return rc;
}

/* Sends a message (stolen): 0 or -errno. */
static int send_msg(struct topo_ovs *o, int fd, json_t *msg)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!s)
		return -ENOMEM;
	size_t len = strlen(s), off = 0;
	int rc = 0;
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_fd(o, fd, POLLOUT, 5000);
			if (w > 0)
				continue;
			rc = w < 0 ? -ECANCELED : -ETIMEDOUT;
			break;
		}
		rc = n < 0 ? -errno : -EPIPE;
		break;
	}
	free(s);
	return rc;
}

static json_t *monitor_request(void)
{
	return json_pack(
		"{ss ss s[s n {s{s[sssss]} s{s[ssss]} s{s[sssssssss]}}]}", "id", "monitor", "method",
		"monitor", "params", "Open_vSwitch", "Bridge", "columns", "name", "ports",
		"external_ids", "datapath_type", "datapath_id", "Port", "columns", "name",
		"interfaces", "external_ids", "tag", "Interface", "columns", "name", "type",
		"options", "ofport", "ifindex", "external_ids", "mac_in_use", "error", "other_config");
}

/* Handles one message: 0, or -errno to drop the connection. */
static int handle_msg(struct topo_ovs *o, int fd, json_t *msg, int64_t *synced_at)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *id = json_object_get(msg, "id");
	if (method && !strcmp(method, "echo")) {
		json_t *params = json_object_get(msg, "params");
		return send_msg(o, fd,
				json_pack("{sO sO sn}", "id", id ? id : json_null(), "result",
					  params ? params : json_null(), "error"));
	}
	struct graph *g = o->t->g;
	if (method && !strcmp(method, "update")) {
		graph_lock(g);
		apply_updates(o, json_array_get(json_object_get(msg, "params"), 1));
		ovs_sync(o);
		graph_unlock(g);
		return 0;
	}
	if (!method && json_is_string(id) && !strcmp(json_string_value(id), "monitor")) {
		json_t *err = json_object_get(msg, "error");
		if (err && !json_is_null(err)) {
			char *s = json_dumps(err, JSON_COMPACT);
			log_warn("ovsdb probe: monitor refused: %s", s ? s : "?");
			free(s);
			return -EPROTO;
		}
		graph_lock(g);
		clear_mirror(o);
		apply_updates(o, json_object_get(msg, "result"));
		ovs_sync(o);
		graph_unlock(g);
		*synced_at = topo_now_ms();
		return 0;
	}
	return 0; /* replies we did not ask for, unknown notifications */
}

/* One session: monitor, then updates until the connection or the probe
 * ends. Returns -ECANCELED when asked to stop. */
static int session(struct topo_ovs *o, int fd, const char *target)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int64_t synced_at = 0, started = topo_now_ms();
	int rc = send_msg(o, fd, monitor_request());
	while (rc == 0) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = ncap <= OVS_MAX_BUFFER ? realloc(buf, ncap) : NULL;
			if (!nb) {
				log_warn("ovsdb probe: message from %s too large", target);
				rc = -EMSGSIZE;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		int w = wait_fd(o, fd, POLLIN, -1);
		if (w < 0) {
			rc = -ECANCELED;
			break;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -ECONNRESET;
			break;
		}
		len += (size_t)n;
		/* A stream of JSON texts without framing: parse as many as are whole. */
		size_t off = 0;
		while (rc == 0) {
			while (off < len && strchr(" \t\r\n", buf[off]))
				off++;
			if (off == len)
				break;
			json_error_t jerr;
			json_t *msg = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK, &jerr);
			if (!msg) {
				if (json_error_code(&jerr) == json_error_premature_end_of_input)
					break; /* the rest is on its way */
				log_warn("ovsdb probe: bad JSON from %s: %s", target, jerr.text);
				rc = -EPROTO;
				break;
			}
			off += (size_t)jerr.position;
			rc = handle_msg(o, fd, msg, &synced_at);
			json_decref(msg);
		}
		if (off) {
			memmove(buf, buf + off, len - off);
			len -= off;
		}
		if (synced_at && started) {
			log_info("ovsdb probe: monitoring %s (%d bridges, %d ports, %d interfaces, "
				 "%lld ms)",
				 target, (int)json_object_size(table(o, "Bridge")),
				 (int)json_object_size(table(o, "Port")),
				 (int)json_object_size(table(o, "Interface")),
				 (long long)(synced_at - started));
			started = 0;
		}
	}
	free(buf);
	return rc;
}

static void *ovs_main(void *arg)
{
	struct topo_ovs *o = arg;
	struct topology *t = o->t;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are for the main thread */
	int quiet = 0; /* the failure was logged: not again until it works */
	for (;;) {
		int fd = ovs_connect(o, t->ovsdb);
		if (fd == -ECANCELED)
			break;
		if (fd < 0) {
			if (!quiet)
				log_info("ovsdb probe: %s not reachable (%s); retrying in the "
					 "background",
					 t->ovsdb, strerror(-fd));
			quiet = 1;
			if (fd == -EINVAL || fd == -ENAMETOOLONG) {
				log_warn("ovsdb probe: bad ovs.ovsdb '%s' (unix:///path or "
					 "tcp:host:port); probe off",
					 t->ovsdb);
				break;
			}
			if (wait_fd(o, -1, 0, OVS_RETRY_MS) < 0)
				break;
			continue;
		}
		quiet = 0;
		int rc = session(o, fd, t->ovsdb);
		close(fd);
		if (rc == -ECANCELED)
			break; /* stopping: the graph keeps the nodes, as for netlink */
		/* Whatever the OVSDB said no longer holds. */
		graph_lock(t->g);
		clear_mirror(o);
		ovs_sync(o);
		graph_unlock(t->g);
		log_warn("ovsdb probe: connection to %s lost (%s); retrying in the background",
			 t->ovsdb, strerror(-rc));
		quiet = 1;
		if (wait_fd(o, -1, 0, OVS_RETRY_MS) < 0)
			break;
	}
	return NULL;
}

int topo_ovs_start(struct topology *t)
{
	struct topo_ovs *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->t = t;
	o->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	o->rows = json_pack("{s{} s{} s{}}", "Bridge", "Port", "Interface");
	o->port_of = json_object();
	o->bridge_of = json_object();
	o->last_mac = json_object();
	if (o->stop_fd < 0 || !o->rows || !o->port_of || !o->bridge_of || !o->last_mac) {
		int rc = o->stop_fd < 0 ? -errno : -ENOMEM;
		if (o->stop_fd >= 0)
			close(o->stop_fd);
		json_decref(o->rows);
		json_decref(o->port_of);
		json_decref(o->bridge_of);
		json_decref(o->last_mac);
		free(o);
		return rc;
	}
	graph_lock(t->g);
	t->ovs = o;
	graph_unlock(t->g);
	int rc = pthread_create(&o->thread, NULL, ovs_main, o);
	if (rc)
		return -rc; /* topo_ovs_free() cleans up */
	o->thread_started = 1;
	return 0;
}

void topo_ovs_stop(struct topology *t)
{
	struct topo_ovs *o = t->ovs;
	if (!o || !o->thread_started)
		return;
	uint64_t one = 1;
	if (write(o->stop_fd, &one, sizeof(one)) < 0)
		log_warn("ovsdb probe: waking the thread: %s", strerror(errno));
	pthread_join(o->thread, NULL);
	o->thread_started = 0;
}

void topo_ovs_free(struct topology *t)
{
	struct topo_ovs *o = t->ovs;
	if (!o)
		return;
	topo_ovs_stop(t);
	graph_lock(t->g);
	t->ovs = NULL;
	graph_unlock(t->g);
	for (size_t i = 0; i < o->n_nodes; i++)
		json_decref(o->nodes[i].md);
	free(o->nodes);
	json_decref(o->rows);
	json_decref(o->port_of);
	json_decref(o->bridge_of);
	json_decref(o->last_mac);
	if (o->stop_fd >= 0)
		close(o->stop_fd);
	free(o);
}
