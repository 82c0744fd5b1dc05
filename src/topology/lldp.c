/* lldp.c - the LLDP probe, after Skydive's topology/probes/lldp/lldp.go: one
 * thread listens, on AF_PACKET sockets with a BPF filter for ether proto
 * 0x88cc to a multicast destination, on the chosen links of every watched
 * namespace (agent.topology.lldp.interfaces; none listed = every UP Ethernet
 * link with a MAC of the agent's own namespace, Skydive's auto discovery),
 * and turns each neighbour's LLDPDU into a "switch" (chassis) node and a
 * "switchport" node, with chassis->port ownership and layer2 edges and a
 * port->link layer2 edge.
 * Unlike Skydive (whose TTL handling is a TODO), a neighbour not heard from
 * for its TTL, or sending TTL 0, is removed: its port->link edge, then the
 * port and chassis nodes that no other neighbour entry still uses.
 *
 * The thread rescans the probes' link list every second (graph lock) to open
 * and close sockets; a socket of a link in a named namespace is created
 * inside it (setns of this thread only, then back). An unchanged LLDPDU only
 * refreshes its deadline (nothing allocated); frames that do not parse are
 * counted per link and logged (the 1st, 10th, 100th...). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "decode/lldp.h"
#include "topology/topo_int.h"

#define LLDP_SNAPLEN 8192  /* Skydive's lldpSnapLen: the whole frame */
#define LLDP_SCAN_MS 1000  /* link list rescan period */
#define LLDP_MAX_CAPS 256  /* sockets at most (one per link) */
#define LLDP_MAX_NBRS 4096 /* neighbour entries at most */
#define LLDP_MISSING_AFTER 5 /* rescans before a listed name without a link is logged */

/* One link listened on. */
struct lldp_cap {
	char intf_id[TOPOLOGY_ID_LEN];
	char name[IFNAMSIZ];
	int ifindex;
	uint8_t mac[6];
	int fd;
	int seen; /* scratch for the rescan */
	uint64_t frames, bad, ignored;
};

/* One neighbour port heard on one link. */
struct lldp_nbr {
	char intf_id[TOPOLOGY_ID_LEN];
	char chassis[TOPOLOGY_ID_LEN], port[TOPOLOGY_ID_LEN];
	uint64_t hash; /* of the LLDPDU last published */
	int64_t deadline_ms;
};

struct topo_lldp {
	struct topology *t;
	pthread_t thread;
	int started;
	int stop_fd;
	int home_fd; /* the thread's own namespace, to come back to after a setns */
	struct lldp_cap caps[LLDP_MAX_CAPS];
	size_t n_caps;
	struct lldp_nbr nbrs[LLDP_MAX_NBRS];
	size_t n_nbrs;
	uint64_t nbrs_dropped;
	unsigned rescans;
	uint8_t buf[LLDP_SNAPLEN];
};

/* ---- names and IDs -------------------------------------------------------- */

/* Skydive's bytesToString: the bytes without leading and trailing NULs. */
static void lldp_str(char *out, size_t outlen, struct decode_lldp_bytes b)
{
	size_t s = 0, e = b.len;
	while (s < e && b.p[s] == 0)
		s++;
	while (e > s && b.p[e - 1] == 0)
		e--;
	size_t n = e - s < outlen - 1 ? e - s : outlen - 1;
	if (n)
		memcpy(out, b.p + s, n);
	out[n] = 0;
}

static void lldp_mac_str(char out[18], const uint8_t *m)
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

/* A Chassis or Port ID as Skydive shows it: a MAC subtype with 6 bytes as
 * a MAC, anything else as text. */
static void lldp_id_str(char *out, size_t outlen, struct decode_lldp_bytes b, int is_mac)
{
	if (is_mac && b.len == 6 && outlen >= 18)
		lldp_mac_str(out, b.p);
	else
		lldp_str(out, outlen, b);
}

/* Skydive's graph.GenID: UUIDv5 of the parts joined by "/". */
static void lldp_gen_id(char out[TOPOLOGY_ID_LEN], const char *const *parts, size_t n)
{
	char s[2048];
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(s + off, sizeof(s) - off, "%s%s", i ? "/" : "", parts[i]);
		if (w < 0 || (size_t)w >= sizeof(s) - off) {
			off = sizeof(s) - 1;
			break;
		}
		off += (size_t)w;
	}
	if (topology_uuid5(out, s, off) < 0)
		out[0] = 0;
}

static uint64_t lldp_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* ---- graph (lock held) ------------------------------------------------------ */

static void lldp_put_node(struct topology *t, const char *id, json_t *md, int64_t now)
{
	if (!md)
		return;
	int rc = graph_node_add(t->g, id, json_incref(md), t->host_id, t->origin, now);
	if (rc == -EEXIST)
		rc = topo_update_metadata(t->g, id, json_incref(md), now);
	if (rc < 0)
		log_warn("lldp probe: publishing node %s: %s", id, strerror(-rc));
	json_decref(md);
}

static void lldp_put_edge(struct topology *t, const char *parent, const char *child,
			  const char *rel, int64_t now)
{
	char id[TOPOLOGY_ID_LEN];
	topology_edge_id(id, parent, child, rel);
	json_t *md = json_pack("{ss}", "RelationType", rel);
	int rc = md ? graph_edge_add(t->g, id, parent, child, md, t->host_id, t->origin, now)
		    : -ENOMEM;
	if (rc < 0 && rc != -EEXIST)
		log_warn("lldp probe: adding %s edge: %s", rel, strerror(-rc));
}

static int lldp_nbr_uses(const struct topo_lldp *p, const char *id, int port)
{
	for (size_t i = 0; i < p->n_nbrs; i++)
		if (!strcmp(port ? p->nbrs[i].port : p->nbrs[i].chassis, id))
			return 1;
	return 0;
}

/* Forgets neighbour i: its edge to the link, then its port and chassis nodes
 * unless another entry still has them. */
static void lldp_nbr_drop(struct topo_lldp *p, size_t i, int64_t now)
{
	struct lldp_nbr n = p->nbrs[i];
	p->nbrs[i] = p->nbrs[--p->n_nbrs];
	char eid[TOPOLOGY_ID_LEN];
	topology_edge_id(eid, n.port, n.intf_id, "layer2");
	int rc = graph_edge_delete(p->t->g, eid, now);
	if (rc < 0 && rc != -ENOENT)
		log_warn("lldp probe: deleting edge: %s", strerror(-rc));
	if (!lldp_nbr_uses(p, n.port, 1)) {
		rc = graph_node_delete(p->t->g, n.port, now);
		if (rc < 0 && rc != -ENOENT)
			log_warn("lldp probe: deleting port node: %s", strerror(-rc));
	}
	if (!lldp_nbr_uses(p, n.chassis, 0)) {
		rc = graph_node_delete(p->t->g, n.chassis, now);
		if (rc < 0 && rc != -ENOENT)
			log_warn("lldp probe: deleting chassis node: %s", strerror(-rc));
	}
}

/* ---- one LLDPDU ---------------------------------------------------------------- */

static json_t *lldp_chassis_md(const struct decode_lldp *d, const char *chassis_id,
			       const char *sys_name, const char *mgmt)
{
	json_t *l = json_pack("{ssss}", "ChassisIDType",
			      decode_lldp_chassis_subtype_name(d->chassis_subtype), "ChassisID",
			      chassis_id);
	if (!l)
		return NULL;
	char desc[512];
	lldp_str(desc, sizeof(desc), d->sys_desc);
	if (*desc)
		json_object_set_new(l, "Description", json_string(desc));
	if (*sys_name)
		json_object_set_new(l, "SysName", json_string(sys_name));
	if (*mgmt)
		json_object_set_new(l, "MgmtAddress", json_string(mgmt));
	return json_pack("{soss ssss}", "LLDP", l, "Type", "switch", "Probe", "lldp", "Name",
			 *sys_name ? sys_name : chassis_id);
}

static json_t *lldp_port_md(const struct decode_lldp *d, const char *port_id,
			    const char *port_desc)
{
	json_t *l = json_pack("{ssss}", "PortIDType",
			      decode_lldp_port_subtype_name(d->port_subtype), "PortID", port_id);
	if (!l)
		return NULL;
	if (*port_desc)
		json_object_set_new(l, "Description", json_string(port_desc));
	if (d->has_lag && (d->lag_status & 1)) { /* Skydive: only when supported */
		json_t *lag = json_pack("{sbsb}", "Enabled", (d->lag_status & 2) != 0, "Supported",
					1);
		if (lag && d->lag_port_id)
			json_object_set_new(lag, "PortID", json_integer(d->lag_port_id));
		/* sic: Skydive's JSON name has three g */
		json_object_set_new(l, "LinkAgggregation", lag);
	}
	if (d->pvid)
		json_object_set_new(l, "PVID", json_integer(d->pvid));
	if (d->vid_usage_digest)
		json_object_set_new(l, "VIDUsageDigest", json_integer(d->vid_usage_digest));
	if (d->mgmt_vid)
		json_object_set_new(l, "ManagementVID", json_integer(d->mgmt_vid));
	if (d->n_vlans) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < d->n_vlans; i++) {
			char name[256];
			lldp_str(name, sizeof(name), d->vlans[i].name);
			json_array_append_new(a, json_pack("{sIss}", "ID", (json_int_t)d->vlans[i].id,
							   "Name", name));
		}
		json_object_set_new(l, "VLANNames", a);
	}
	if (d->n_ppvids) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < d->n_ppvids; i++)
			json_array_append_new(
			    a, json_pack("{sbsIsb}", "Enabled", (d->ppvids[i].flags & 4) != 0, "ID",
					 (json_int_t)d->ppvids[i].id, "Supported",
					 (d->ppvids[i].flags & 2) != 0));
		json_object_set_new(l, "PPVIDs", a);
	}
	json_t *md = json_pack("{soss ssss}", "LLDP", l, "Type", "switchport", "Probe", "lldp",
			       "Name", *port_desc ? port_desc : port_id);
	if (md && d->mtu)
		json_object_set_new(md, "MTU", json_integer(d->mtu));
	return md;
}

static void lldp_bad(struct lldp_cap *c, const char *why)
{
	c->bad++;
	uint64_t b = c->bad;
	while (b % 10 == 0)
		b /= 10;
	if (b == 1) /* 1st, 10th, 100th... */
		log_warn("lldp probe: %s: frame dropped (%s); %llu dropped so far", c->name, why,
			 (unsigned long long)c->bad);
}

static void lldp_frame(struct topo_lldp *p, struct lldp_cap *c, const uint8_t *f, size_t n)
{
	c->frames++;
	if (n < 14) {
		lldp_bad(c, "shorter than an Ethernet header");
		return;
	}
	if (!memcmp(f + 6, c->mac, 6)) { /* our own, as Skydive's !(ether src MAC) */
		c->ignored++;
		return;
	}
	struct decode_lldp d;
	enum decode_lldp_err e = decode_lldp(f + 14, n - 14, &d);
	if (e) {
		lldp_bad(c, decode_lldp_strerror(e));
		return;
	}
	char chassis_id[256], port_id[256], port_desc[256], sys_name[256], mgmt[256] = "";
	lldp_id_str(chassis_id, sizeof(chassis_id), d.chassis_id, d.chassis_subtype == 4);
	lldp_id_str(port_id, sizeof(port_id), d.port_id, d.port_subtype == 3);
	lldp_str(port_desc, sizeof(port_desc), d.port_desc);
	lldp_str(sys_name, sizeof(sys_name), d.sys_name);
	/* Skydive: with lldpd, a port description that is our link's name is our
	 * own lldpd talking. */
	if (!strcmp(port_desc, c->name)) {
		c->ignored++;
		return;
	}
	if (d.mgmt_addr.len) {
		if ((d.mgmt_subtype == 1 && d.mgmt_addr.len == 4) ||
		    (d.mgmt_subtype == 2 && d.mgmt_addr.len == 16))
			inet_ntop(d.mgmt_subtype == 1 ? AF_INET : AF_INET6, d.mgmt_addr.p, mgmt,
				  sizeof(mgmt));
		else if (d.mgmt_subtype == 17) /* IANA distinguished name */
			lldp_str(mgmt, sizeof(mgmt), d.mgmt_addr);
	}

	/* Skydive's IDs: the chassis from SysName and MgmtAddress when present
	 * (some switches send one chassis ID per port), else the chassis ID and
	 * its subtype; the port from the chassis node ID, port ID and subtype. */
	const char *parts[4];
	size_t np = 0;
	if (*sys_name) {
		parts[np++] = sys_name;
		parts[np++] = "SysName";
	}
	if (*mgmt) {
		parts[np++] = mgmt;
		parts[np++] = "MgmtAddress";
	}
	if (!np) {
		parts[np++] = chassis_id;
		parts[np++] = decode_lldp_chassis_subtype_name(d.chassis_subtype);
	}
	char chassis[TOPOLOGY_ID_LEN], port[TOPOLOGY_ID_LEN];
	lldp_gen_id(chassis, parts, np);
	const char *pparts[3] = {chassis, port_id, decode_lldp_port_subtype_name(d.port_subtype)};
	lldp_gen_id(port, pparts, 3);
	if (!*chassis || !*port)
		return;

	int64_t now = topo_now_ms();
	uint64_t h = lldp_hash(f + 14, n - 14);
	struct topology *t = p->t;
	graph_lock(t->g);
	size_t i;
	for (i = 0; i < p->n_nbrs; i++)
		if (!strcmp(p->nbrs[i].intf_id, c->intf_id) && !strcmp(p->nbrs[i].port, port))
			break;
	if (d.ttl == 0) { /* the neighbour says it is leaving */
		if (i < p->n_nbrs)
			lldp_nbr_drop(p, i, now);
		graph_unlock(t->g);
		return;
	}
	if (i < p->n_nbrs && p->nbrs[i].hash == h) {
		p->nbrs[i].deadline_ms = now + (int64_t)d.ttl * 1000;
		graph_unlock(t->g);
		return;
	}
	if (i == p->n_nbrs) {
		if (p->n_nbrs == LLDP_MAX_NBRS) {
			if (p->nbrs_dropped++ == 0)
				log_warn("lldp probe: more than %d neighbours, the others are ignored",
					 LLDP_MAX_NBRS);
			graph_unlock(t->g);
			return;
		}
		struct lldp_nbr *nb = &p->nbrs[p->n_nbrs++];
		memcpy(nb->intf_id, c->intf_id, TOPOLOGY_ID_LEN);
		memcpy(nb->port, port, TOPOLOGY_ID_LEN);
		log_info("lldp probe: %s: neighbour %s port %s (TTL %u s)", c->name,
			 *sys_name ? sys_name : chassis_id, port_id, d.ttl);
	}
	struct lldp_nbr *nb = &p->nbrs[i];
	memcpy(nb->chassis, chassis, TOPOLOGY_ID_LEN);
	nb->hash = h;
	nb->deadline_ms = now + (int64_t)d.ttl * 1000;
	lldp_put_node(t, chassis, lldp_chassis_md(&d, chassis_id, sys_name, mgmt), now);
	lldp_put_node(t, port, lldp_port_md(&d, port_id, port_desc), now);
	lldp_put_edge(t, chassis, port, "ownership", now);
	lldp_put_edge(t, chassis, port, "layer2", now);
	lldp_put_edge(t, port, c->intf_id, "layer2", now);
	graph_unlock(t->g);
}

/* ---- sockets ------------------------------------------------------------------ */

/* ether[12:2] = 0x88cc and ether[0] & 1 (a multicast destination) */
static struct sock_filter lldp_bpf[] = {
    {0x28, 0, 0, 12},	       /* ldh [12] */
    {0x15, 0, 3, ETH_P_LLDP},  /* jeq #0x88cc, next, drop */
    {0x30, 0, 0, 0},	       /* ldb [0] */
    {0x45, 0, 1, 1},	       /* jset #1, keep, drop */
    {0x06, 0, 0, LLDP_SNAPLEN}, /* keep */
    {0x06, 0, 0, 0},	       /* drop */
};

/* A socket on ifindex in the namespace at path (NULL: the thread's own). */
static int lldp_open(struct topo_lldp *p, const char *path, int ifindex, char *why, size_t wl)
{
	int nsfd = -1, fd = -1;
	if (path) {
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
			snprintf(why, wl, "entering %s: %s", path, strerror(errno));
			if (nsfd >= 0)
				close(nsfd);
			return -1;
		}
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_LLDP));
	int err = errno;
	if (path) {
		if (setns(p->home_fd, CLONE_NEWNET) < 0) /* cannot happen: our own namespace */
			log_error("lldp probe: back to the agent's namespace: %s", strerror(errno));
		close(nsfd);
	}
	if (fd < 0) {
		snprintf(why, wl, "AF_PACKET socket: %s", strerror(err));
		return -1;
	}
	struct sock_fprog prog = {.len = sizeof(lldp_bpf) / sizeof(lldp_bpf[0]), .filter = lldp_bpf};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_LLDP),
				  .sll_ifindex = ifindex};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		snprintf(why, wl, "BPF filter / bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* The three LLDP multicast groups (nearest bridge, non-TPMR, customer
	 * bridge), so that the link does not filter them out: Skydive's SIOCADDMULTI,
	 * here as socket memberships the kernel drops with the socket. */
	static const uint8_t last[3] = {0x00, 0x03, 0x0e};
	for (int k = 0; k < 3; k++) {
		struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_MULTICAST,
					 .mr_alen = 6,
					 .mr_address = {0x01, 0x80, 0xc2, 0x00, 0x00, last[k]}};
		if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
			snprintf(why, wl, "multicast membership: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

static int lldp_wanted_name(const struct topology *t, const char *name)
{
	if (!t->n_lldp_ifs)
		return 1;
	for (size_t i = 0; i < t->n_lldp_ifs; i++)
		if (!strcmp(t->lldp_ifs[i], name))
			return 1;
	return 0;
}

/* A link to listen on: wanted by name, UP, Ethernet, with a MAC (Skydive's
 * handleNode). Graph lock held. */
static int lldp_eligible(const struct topology *t, const struct topo_intf *it, uint8_t mac[6])
{
	if (!lldp_wanted_name(t, it->info.name) || !it->md)
		return 0;
	/* Auto discovery covers the host's own links, as Skydive's (links owned
	 * by the host node); links of named namespaces only when listed. */
	if (!t->n_lldp_ifs && it->ns->path)
		return 0;
	const char *st = json_string_value(json_object_get(it->md, "State"));
	const char *enc = json_string_value(json_object_get(it->md, "EncapType"));
	const char *m = json_string_value(json_object_get(it->md, "MAC"));
	if (!st || strcmp(st, "UP") || !enc || strcmp(enc, "ether") || !m)
		return 0;
	unsigned b[6];
	if (sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return 0;
	for (int k = 0; k < 6; k++)
		mac[k] = (uint8_t)b[k];
	return 1;
}

static void lldp_close(struct topo_lldp *p, size_t k, int64_t now)
{
	struct lldp_cap *c = &p->caps[k];
	log_info("lldp probe: stopping on %s (%llu frames, %llu dropped, %llu ignored)", c->name,
		 (unsigned long long)c->frames, (unsigned long long)c->bad,
		 (unsigned long long)c->ignored);
	close(c->fd);
	graph_lock(p->t->g);
	for (size_t i = p->n_nbrs; i-- > 0;)
		if (!strcmp(p->nbrs[i].intf_id, c->intf_id))
			lldp_nbr_drop(p, i, now);
	graph_unlock(p->t->g);
	p->caps[k] = p->caps[--p->n_caps];
}

/* Opens sockets on the links that became eligible, closes the others. */
static void lldp_rescan(struct topo_lldp *p)
{
	struct topology *t = p->t;
	struct want {
		char id[TOPOLOGY_ID_LEN];
		char name[IFNAMSIZ];
		char *path;
		int ifindex;
		uint8_t mac[6];
	} *w = NULL;
	size_t nw = 0;
	for (size_t k = 0; k < p->n_caps; k++)
		p->caps[k].seen = 0;
	graph_lock(t->g);
	w = calloc(t->n_intfs ? t->n_intfs : 1, sizeof(*w));
	for (size_t i = 0; w && i < t->n_intfs; i++) {
		struct topo_intf *it = t->intfs[i];
		uint8_t mac[6];
		if (!lldp_eligible(t, it, mac))
			continue;
		size_t k;
		for (k = 0; k < p->n_caps; k++)
			if (!strcmp(p->caps[k].intf_id, it->id))
				break;
		if (k < p->n_caps) {
			p->caps[k].seen = 1;
			continue;
		}
		struct want *x = &w[nw];
		memcpy(x->id, it->id, TOPOLOGY_ID_LEN);
		snprintf(x->name, sizeof(x->name), "%s", it->info.name);
		x->ifindex = it->info.ifindex;
		memcpy(x->mac, mac, 6);
		x->path = it->ns->path ? strdup(it->ns->path) : NULL;
		if (it->ns->path && !x->path)
			continue;
		nw++;
	}
	/* A listed name no link has a few seconds after start is said once (a
	 * link may still come later: the name stays listened for). */
	if (++p->rescans == LLDP_MISSING_AFTER)
		for (size_t j = 0; j < t->n_lldp_ifs; j++) {
			size_t i;
			for (i = 0; i < t->n_intfs; i++)
				if (!strcmp(t->intfs[i]->info.name, t->lldp_ifs[j]))
					break;
			if (i == t->n_intfs)
				log_warn("lldp probe: agent.topology.lldp.interfaces names %s, which "
					 "no watched namespace has (yet)", t->lldp_ifs[j]);
		}
	graph_unlock(t->g);
	int64_t now = topo_now_ms();
	for (size_t k = p->n_caps; k-- > 0;)
		if (!p->caps[k].seen)
			lldp_close(p, k, now);
	for (size_t i = 0; i < nw; i++) {
		if (p->n_caps == LLDP_MAX_CAPS) {
			log_warn("lldp probe: %s: not listened on (%d links at most)", w[i].name,
				 LLDP_MAX_CAPS);
		} else {
			char why[256] = "";
			int fd = lldp_open(p, w[i].path, w[i].ifindex, why, sizeof(why));
			if (fd < 0) {
				log_warn("lldp probe: %s: cannot listen: %s", w[i].name, why);
			} else {
				struct lldp_cap *c = &p->caps[p->n_caps++];
				memset(c, 0, sizeof(*c));
				memcpy(c->intf_id, w[i].id, TOPOLOGY_ID_LEN);
				memcpy(c->name, w[i].name, IFNAMSIZ);
				memcpy(c->mac, w[i].mac, 6);
				c->ifindex = w[i].ifindex;
				c->fd = fd;
				c->seen = 1;
				char m[18];
				lldp_mac_str(m, c->mac);
				log_info("lldp probe: listening on %s%s%s (MAC %s)", c->name,
					 w[i].path ? " in " : "", w[i].path ? w[i].path : "", m);
			}
		}
		free(w[i].path);
	}
	free(w);
}

static void lldp_expire(struct topo_lldp *p, int64_t now)
{
	graph_lock(p->t->g);
	for (size_t i = p->n_nbrs; i-- > 0;)
		if (p->nbrs[i].deadline_ms <= now) {
			log_info("lldp probe: a neighbour's TTL expired");
			lldp_nbr_drop(p, i, now);
		}
	graph_unlock(p->t->g);
}

static void *lldp_main(void *arg)
{
	struct topo_lldp *p = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	struct pollfd pfd[LLDP_MAX_CAPS + 1];
	int64_t next_scan = 0;
	for (;;) {
		int64_t now = topo_now_ms();
		if (now >= next_scan) {
			lldp_rescan(p);
			next_scan = now + LLDP_SCAN_MS;
		}
		int64_t wake = next_scan;
		for (size_t i = 0; i < p->n_nbrs; i++)
			if (p->nbrs[i].deadline_ms < wake)
				wake = p->nbrs[i].deadline_ms;
		pfd[0] = (struct pollfd){.fd = p->stop_fd, .events = POLLIN};
		for (size_t k = 0; k < p->n_caps; k++)
			pfd[k + 1] = (struct pollfd){.fd = p->caps[k].fd, .events = POLLIN};
		int timeout = wake > now ? (int)(wake - now) : 0;
		int rc = poll(pfd, p->n_caps + 1, timeout);
		if (rc < 0 && errno != EINTR) {
			log_error("lldp probe: poll: %s", strerror(errno));
			break;
		}
		if (rc > 0 && pfd[0].revents)
			break;
		for (size_t k = 0; rc > 0 && k < p->n_caps; k++) {
			if (!pfd[k + 1].revents)
				continue;
			for (int burst = 0; burst < 64; burst++) {
				struct sockaddr_ll from;
				socklen_t fl = sizeof(from);
				ssize_t n = recvfrom(p->caps[k].fd, p->buf, sizeof(p->buf), MSG_TRUNC,
						     (struct sockaddr *)&from, &fl);
				if (n < 0)
					break;
				if (from.sll_pkttype == PACKET_OUTGOING) {
					p->caps[k].ignored++;
					continue;
				}
				if ((size_t)n > sizeof(p->buf)) {
					lldp_bad(&p->caps[k], "longer than 8192 bytes");
					continue;
				}
				lldp_frame(p, &p->caps[k], p->buf, (size_t)n);
			}
		}
		lldp_expire(p, topo_now_ms());
	}
	return NULL;
}

/* ---- start / stop ------------------------------------------------------------- */

int topo_lldp_start(struct topology *t)
{
	struct topo_lldp *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->t = t;
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	p->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (p->stop_fd < 0 || p->home_fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* The home namespace must be the starting thread's: the new thread
	 * inherits it, and comes back to it after each setns. */
	rc = -pthread_create(&p->thread, NULL, lldp_main, p);
	if (rc)
		goto fail;
	p->started = 1;
	t->lldp = p;
	if (t->n_lldp_ifs) {
		char list[1024] = "";
		size_t off = 0;
		for (size_t i = 0; i < t->n_lldp_ifs && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", i ? " " : "",
						t->lldp_ifs[i]);
		log_info("lldp probe: listening for LLDP on the links named %s", list);
	} else {
		log_info("lldp probe: listening for LLDP on every UP Ethernet link");
	}
	return 0;
fail:
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->home_fd >= 0)
		close(p->home_fd);
	free(p);
	return rc ? rc : -EIO;
}

void topo_lldp_stop(struct topology *t)
{
	struct topo_lldp *p = t->lldp;
	if (!p)
		return;
	uint64_t one = 1;
	if (write(p->stop_fd, &one, sizeof(one)) < 0)
		log_warn("lldp probe: waking the thread: %s", strerror(errno));
	pthread_join(p->thread, NULL);
	for (size_t k = 0; k < p->n_caps; k++) {
		log_info("lldp probe: stopping on %s (%llu frames, %llu dropped, %llu ignored)",
			 p->caps[k].name, (unsigned long long)p->caps[k].frames,
			 (unsigned long long)p->caps[k].bad, (unsigned long long)p->caps[k].ignored);
		close(p->caps[k].fd);
	}
	close(p->stop_fd);
	close(p->home_fd);
	free(p);
	t->lldp = NULL;
}

int topology_lldp_check_ifname(const char *name)
{
	size_t n = strlen(name);
	if (!n || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] == ' ' || name[i] == '\t' ||
		    name[i] == '\n')
			return -EINVAL;
	return 0;
}

int topo_lldp_init(struct topology *t, const struct topology_opts *o, char *err, size_t errlen)
{
	t->lldp_on = o->lldp;
	if (!o->n_lldp_interfaces)
		return 0;
	t->lldp_ifs = calloc(o->n_lldp_interfaces, sizeof(*t->lldp_ifs));
	if (!t->lldp_ifs) {
		snprintf(err, errlen, "topology: out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < o->n_lldp_interfaces; i++) {
		const char *n = o->lldp_interfaces[i];
		if (!n || topology_lldp_check_ifname(n) < 0) {
			snprintf(err, errlen,
				 "topology: agent.topology.lldp.interfaces: \"%s\" names no "
				 "interface (1 to 15 bytes, no '/', ':' or blanks)",
				 n ? n : "");
			return -EINVAL;
		}
		t->lldp_ifs[i] = strdup(n);
		if (!t->lldp_ifs[i]) {
			snprintf(err, errlen, "topology: out of memory");
			return -ENOMEM;
		}
		t->n_lldp_ifs = i + 1;
	}
	return 0;
}

void topo_lldp_free(struct topology *t)
{
	for (size_t i = 0; i < t->n_lldp_ifs; i++)
		free(t->lldp_ifs[i]);
	free(t->lldp_ifs);
	t->lldp_ifs = NULL;
	t->n_lldp_ifs = 0;
}
