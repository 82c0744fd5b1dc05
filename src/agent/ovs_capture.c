/* ovs_capture.c - OVSDB rows for the ovssflow and ovsmirror capture types
 * (see ovs_capture.h). A small RFC 7047 client of its own: one connection per
 * transaction, blocking with timeouts. */
#include "agent/ovs_capture.h"

#include <errno.h>
#include <jansson.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define OVSDB_DEFAULT   "unix:///var/run/openvswitch/db.sock"
#define OVSDB_TIMEOUT_S 5
#define PROBE_KEY       "skydive-probe-id"

enum ovs_kind { OVS_SFLOW, OVS_MIRROR, OVS_NETFLOW };

/* ovssflow and ovsnetflow: the row's table and the Bridge column naming it. */
static const char *const kind_table[] = {"sFlow", "Mirror", "NetFlow"};
static const char *const kind_column[] = {"sflow", "mirrors", "netflow"};
static const char *const kind_type[] = {"ovssflow", "ovsmirror", "ovsnetflow"};

struct ovs_capture {
	enum ovs_kind kind;
	char *ovsdb;
	char *probe_id;
	char *row_uuid;  /* sFlow or NetFlow row, or the Mirror row */
	char *port_uuid; /* ovsmirror: the internal Port row */
	char ifname[IFNAMSIZ];
};

/* ---- the connection -------------------------------------------------------- */

static int ovsdb_connect(const char *target, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (!strncmp(target, "unix:", 5)) {
		const char *path = target + 5;
		if (!strncmp(path, "//", 2))
			path += 2;
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		if (strlen(path) >= sizeof(sun->sun_path)) {
			snprintf(err, errlen, "ovsdb %s: path too long", target);
			return -1;
		}
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
		    strlen(colon + 1) >= sizeof(port)) {
			snprintf(err, errlen, "ovsdb %s: expected tcp:HOST:PORT", target);
			return -1;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = 0;
		}
		snprintf(port, sizeof(port), "%s", colon + 1);
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
		if (getaddrinfo(host, port, &hints, &ai) || !ai) {
			snprintf(err, errlen, "ovsdb %s: cannot resolve", target);
			return -1;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		freeaddrinfo(ai);
	} else {
		snprintf(err, errlen, "ovsdb %s: expected unix:PATH or tcp:HOST:PORT", target);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "ovsdb socket: %s", strerror(errno));
		return -1;
	}
	struct timeval tv = {.tv_sec = OVSDB_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errlen, "ovsdb %s: %s", target, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_json(int fd, const json_t *msg, char *err, size_t errlen)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t len = strlen(s), off = 0;
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "ovsdb send: %s", n < 0 ? strerror(errno) : "closed");
			free(s);
			return -1;
		}
		off += (size_t)n;
	}
	free(s);
	return 0;
}

/* Sends {"method":"transact","params":["Open_vSwitch", ops...],"id":1} and
 * returns the "result" array (new reference), answering echo requests in
 * between; NULL with err filled. An operation's error fails the call. */
static json_t *transact(const char *target, json_t *ops, char *err, size_t errlen)
{
	json_t *result = NULL;
	if (!target || !*target)
		target = OVSDB_DEFAULT;
	int fd = ovsdb_connect(target, err, errlen);
	if (fd < 0)
		return NULL;
	json_t *params = json_array();
	json_array_append_new(params, json_string("Open_vSwitch"));
	json_array_extend(params, ops);
	json_t *req = json_pack("{ss so si}", "method", "transact", "params", params, "id", 1);
	if (!req || send_json(fd, req, err, errlen))
		goto out;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		if (len == cap) {
			char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				snprintf(err, errlen, "ovsdb reply too large");
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "ovsdb %s: %s", target,
			         n < 0 ? (errno == EAGAIN ? "no reply (timeout)" : strerror(errno))
			               : "connection closed");
			break;
		}
		len += (size_t)n;
		/* Every complete message at the head of the buffer. */
		int done = 0;
		for (;;) {
			json_error_t je;
			json_t *m = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &je);
			if (!m)
				break; /* incomplete (or garbage: the timeout ends it) */
			size_t used = je.position;
			memmove(buf, buf + used, len - used);
			len -= used;
			while (len && (buf[0] == ' ' || buf[0] == '\n' || buf[0] == '\r' ||
			               buf[0] == '\t')) {
				memmove(buf, buf + 1, len - 1);
				len--;
			}
			const char *method = json_string_value(json_object_get(m, "method"));
			if (method && !strcmp(method, "echo")) {
				json_t *r = json_pack("{sO sO}", "id", json_object_get(m, "id"),
				                      "result", json_object_get(m, "params"));
				if (r)
					send_json(fd, r, err, errlen);
				json_decref(r);
			} else if (json_integer_value(json_object_get(m, "id")) == 1) {
				json_t *e = json_object_get(m, "error");
				json_t *res = json_object_get(m, "result");
				if (e && !json_is_null(e)) {
					char *s = json_dumps(e, JSON_COMPACT);
					snprintf(err, errlen, "ovsdb transact: %s",
					         s ? s : "error");
					free(s);
				} else if (!json_is_array(res)) {
					snprintf(err, errlen, "ovsdb transact: no result");
				} else {
					size_t i;
					json_t *r;
					json_array_foreach(res, i, r)
					{
						json_t *oe = json_object_get(r, "error");
						if (oe) {
							char *s = json_dumps(r, JSON_COMPACT);
							snprintf(err, errlen, "ovsdb transact: %s",
							         s ? s : "error");
							free(s);
							break;
						}
					}
					if (i == json_array_size(res))
						result = json_incref(res);
				}
				done = 1;
			}
			json_decref(m);
			if (done || !len)
				break;
		}
		if (done)
			break;
	}
	free(buf);
out:
	json_decref(req);
	close(fd);
	return result;
}

static json_t *uuid_atom(const char *u)
{
	return json_pack("[ss]", "uuid", u);
}

static json_t *probe_map(const char *probe_id)
{
	return json_pack("[s[[ss]]]", "map", PROBE_KEY, probe_id);
}

/* The "uuid" of an insert result, or NULL. */
static char *inserted_uuid(const json_t *res, size_t i)
{
	const json_t *u = json_object_get(json_array_get(res, i), "uuid");
	const char *s = json_string_value(json_array_get(u, 1));
	return s ? strdup(s) : NULL;
}

static json_int_t op_count(const json_t *res, size_t i)
{
	return json_integer_value(json_object_get(json_array_get(res, i), "count"));
}

static struct ovs_capture *oc_new(enum ovs_kind kind, const char *ovsdb, const char *probe_id)
{
	struct ovs_capture *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->kind = kind;
	c->ovsdb = strdup(ovsdb && *ovsdb ? ovsdb : OVSDB_DEFAULT);
	c->probe_id = strdup(probe_id);
	if (!c->ovsdb || !c->probe_id) {
		free(c->ovsdb);
		free(c->probe_id);
		free(c);
		return NULL;
	}
	return c;
}

static void oc_free(struct ovs_capture *c)
{
	if (!c)
		return;
	free(c->ovsdb);
	free(c->probe_id);
	free(c->row_uuid);
	free(c->port_uuid);
	free(c);
}

/* ---- ovssflow ---------------------------------------------------------------- */

/* Inserts row (owned) into the kind's table and points the bridge's column
 * at it, in one transaction. */
static struct ovs_capture *bridge_row_attach(enum ovs_kind kind, const char *ovsdb,
                                             const char *bridge_uuid, const char *probe_id,
                                             json_t *row, const char *collector, char *err,
                                             size_t errlen)
{
	if (!bridge_uuid || !*bridge_uuid) {
		json_decref(row);
		snprintf(err, errlen, "the ovsbridge node has no UUID");
		return NULL;
	}
	struct ovs_capture *c = oc_new(kind, ovsdb, probe_id);
	if (!c || !row) {
		json_decref(row);
		oc_free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_t *ops = json_pack("[{ss ss so ss} {ss ss s[[sso]] s{s[ss]}}]", "op", "insert",
	                        "table", kind_table[kind], "row", row, "uuid-name", "skyrow",
	                        "op", "update", "table", "Bridge", "where", "_uuid", "==",
	                        uuid_atom(bridge_uuid), "row", kind_column[kind], "named-uuid",
	                        "skyrow");
	json_t *res = ops ? transact(c->ovsdb, ops, err, errlen) : NULL;
	json_decref(ops);
	if (!res) {
		if (!*err)
			snprintf(err, errlen, "out of memory");
		oc_free(c);
		return NULL;
	}
	c->row_uuid = inserted_uuid(res, 0);
	json_int_t n = op_count(res, 1);
	json_decref(res);
	if (!c->row_uuid || n != 1) {
		snprintf(err, errlen, "bridge %s not found in OVSDB", bridge_uuid);
		ovs_capture_detach(c); /* nothing points at the row: it is gone; be sure */
		return NULL;
	}
	log_info("agent: %s %s: %s row %s on bridge %s -> %s", kind_type[kind], c->probe_id,
	         kind_table[kind], c->row_uuid, bridge_uuid, collector);
	return c;
}

/* The collector first, then the capture's Target unless it is the same. */
static json_t *targets_set(const char *collector, const char *target)
{
	json_t *targets = json_array();
	json_array_append_new(targets, json_string(collector));
	if (target && *target && strcmp(target, collector))
		json_array_append_new(targets, json_string(target));
	return json_pack("[so]", "set", targets);
}

struct ovs_capture *ovs_sflow_attach(const struct ovs_sflow_opts *o, char *err, size_t errlen)
{
	json_t *row = json_pack("{ss so sI sI so}", "agent", "lo", "targets",
	                        targets_set(o->collector, o->target), "sampling",
	                        (json_int_t)(o->sampling ? o->sampling : 1), "header",
	                        (json_int_t)(o->header ? o->header : 128), "external_ids",
	                        probe_map(o->probe_id));
	if (row && o->polling)
		json_object_set_new(row, "polling", json_integer(o->polling));
	return bridge_row_attach(OVS_SFLOW, o->ovsdb, o->bridge_uuid, o->probe_id, row,
	                         o->collector, err, errlen);
}

/* ---- ovsnetflow -------------------------------------------------------------- */

struct ovs_capture *ovs_netflow_attach(const struct ovs_netflow_opts *o, char *err,
                                       size_t errlen)
{
	/* As Skydive's ovsnetflow probe (flow/probes/ovsnetflow/ovsnetflow.go):
	 * engine_type 10, engine_id 1, add_id_to_interface; OVS's default
	 * active_timeout (600 s) is kept, as there. */
	json_t *row = json_pack("{so sI sI sb so}", "targets", targets_set(o->collector, o->target),
	                        "engine_type", (json_int_t)10, "engine_id", (json_int_t)1,
	                        "add_id_to_interface", 1, "external_ids", probe_map(o->probe_id));
	return bridge_row_attach(OVS_NETFLOW, o->ovsdb, o->bridge_uuid, o->probe_id, row,
	                         o->collector, err, errlen);
}

/* ---- ovsmirror --------------------------------------------------------------- */

/* Brings ifname up: 1 when it had to, 0 when it was up already, or -errno. */
static int set_up(const char *ifname)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int rc = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 1;
	}
	close(s);
	return rc;
}

struct ovs_capture *ovs_mirror_attach(const struct ovs_mirror_opts *o, char *err, size_t errlen)
{
	if (!o->port_uuid || !*o->port_uuid) {
		snprintf(err, errlen, "the ovsport node has no UUID");
		return NULL;
	}
	struct ovs_capture *c = oc_new(OVS_MIRROR, o->ovsdb, o->probe_id);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* mir-<first 8 hex digits of the capture UUID> (IFNAMSIZ: 15 chars) */
	char hex[9];
	size_t k = 0;
	for (const char *p = o->probe_id; *p && k < 8; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		    (*p >= 'A' && *p <= 'F'))
			hex[k++] = *p;
	hex[k] = 0;
	snprintf(c->ifname, sizeof(c->ifname), "mir-%s", hex);

	json_t *ops = json_pack(
	    "[{ss ss s{ssss} ss}"
	    " {ss ss s{ss s[ss] so} ss}"
	    " {ss ss s{ss so so s[ss] so} ss}"
	    " {ss ss s[[sso]] s[[ss[ss]] [ss[ss]]]}]",
	    /* 0: the internal interface */
	    "op", "insert", "table", "Interface", "row", "name", c->ifname, "type", "internal",
	    "uuid-name", "skyiface",
	    /* 1: its port */
	    "op", "insert", "table", "Port", "row", "name", c->ifname, "interfaces", "named-uuid",
	    "skyiface", "external_ids", probe_map(o->probe_id), "uuid-name", "skyport",
	    /* 2: the mirror */
	    "op", "insert", "table", "Mirror", "row", "name", c->ifname, "select_src_port",
	    uuid_atom(o->port_uuid), "select_dst_port", uuid_atom(o->port_uuid), "output_port",
	    "named-uuid", "skyport", "external_ids", probe_map(o->probe_id), "uuid-name",
	    "skymirror",
	    /* 3: both on the bridge holding the port */
	    "op", "mutate", "table", "Bridge", "where", "ports", "includes",
	    uuid_atom(o->port_uuid), "mutations", "ports", "insert", "named-uuid", "skyport",
	    "mirrors", "insert", "named-uuid", "skymirror");
	json_t *res = ops ? transact(c->ovsdb, ops, err, errlen) : NULL;
	json_decref(ops);
	if (!res) {
		if (!*err)
			snprintf(err, errlen, "out of memory");
		oc_free(c);
		return NULL;
	}
	c->port_uuid = inserted_uuid(res, 1);
	c->row_uuid = inserted_uuid(res, 2);
	json_int_t n = op_count(res, 3);
	json_decref(res);
	if (!c->port_uuid || !c->row_uuid || n != 1) {
		snprintf(err, errlen, "no bridge holds port %s in OVSDB", o->port_uuid);
		ovs_capture_detach(c);
		return NULL;
	}
	/* vswitchd creates the interface asynchronously, and while it configures the new
	 * netdev it may set its flags again (seen on the userspace datapath under load: the
	 * port came up, then went down, and the capture saw nothing): up, and found up on
	 * four polls in a row (150 ms). */
	int tmo = o->up_timeout_ms > 0 ? o->up_timeout_ms : 5000, rc = -ENODEV, stable = 0;
	for (int waited = 0; waited <= tmo; waited += 50) {
		if (if_nametoindex(c->ifname) && (rc = set_up(c->ifname)) >= 0) {
			stable = rc == 0 ? stable + 1 : 0;
			rc = 0;
			if (stable >= 4)
				break;
		}
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (rc) {
		snprintf(err, errlen, "mirror port %s: cannot bring the interface up: %s",
		         c->ifname, strerror(-rc));
		ovs_capture_detach(c);
		return NULL;
	}
	log_info("agent: ovsmirror %s: mirror %s of port %s to internal port %s", c->probe_id,
	         c->row_uuid, o->port_uuid, c->ifname);
	return c;
}

const char *ovs_capture_ifname(const struct ovs_capture *c)
{
	return c && c->kind == OVS_MIRROR ? c->ifname : NULL;
}

/* ---- stop ---------------------------------------------------------------------- */

void ovs_capture_detach(struct ovs_capture *c)
{
	if (!c)
		return;
	char err[512] = "";
	json_t *ops = json_array();
	if (c->kind == OVS_SFLOW || c->kind == OVS_NETFLOW) {
		/* Unreference the row from every bridge, then delete it (and any row
		 * of this capture, in case the insert result was not seen). */
		if (c->row_uuid)
			json_array_append_new(
			    ops, json_pack("{ss ss s[] s[[ss[so]]]}", "op", "mutate", "table",
			                   "Bridge", "where", "mutations", kind_column[c->kind],
			                   "delete", "set", json_pack("[o]", uuid_atom(c->row_uuid))));
		json_array_append_new(ops, json_pack("{ss ss s[[sso]]}", "op", "delete", "table",
		                                     kind_table[c->kind], "where", "external_ids",
		                                     "includes", probe_map(c->probe_id)));
	} else {
		if (c->row_uuid || c->port_uuid) {
			json_t *mut = json_array();
			if (c->row_uuid)
				json_array_append_new(mut,
				                      json_pack("[ss[s[o]]]", "mirrors", "delete",
				                                "set", uuid_atom(c->row_uuid)));
			if (c->port_uuid)
				json_array_append_new(mut,
				                      json_pack("[ss[s[o]]]", "ports", "delete",
				                                "set", uuid_atom(c->port_uuid)));
			json_array_append_new(ops,
			                      json_pack("{ss ss s[] so}", "op", "mutate", "table",
			                                "Bridge", "where", "mutations", mut));
		}
		/* Mirror and Port are not root tables: unreferenced, they go. */
	}
	if (json_array_size(ops)) {
		json_t *res = transact(c->ovsdb, ops, err, sizeof(err));
		if (!res)
			log_warn("agent: %s %s: cannot remove its OVSDB rows: %s",
			         kind_type[c->kind], c->probe_id, err);
		else
			log_info("agent: %s %s: OVSDB rows removed", kind_type[c->kind],
			         c->probe_id);
		json_decref(res);
	}
	json_decref(ops);
	oc_free(c);
}
