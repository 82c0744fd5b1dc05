/* injector.c - packet injection on the agent (injector.h): the request's JSON, its
 * TrackingID, and one sender thread per injection on an AF_PACKET socket of the node's
 * namespace (Skydive's packetinjector/server.go CreateTask, forge.go PacketSource). */
#include "inject/injector.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "common/log.h"
#include "common/netns.h"
#include "common/util.h"

/* ---- the injector --------------------------------------------------------------- */

struct inj {
	struct injector *in;
	struct inject_req req;
	char ifname[IF_NAMESIZE];
	char *node; /* the source node's ID (its PacketInjections metadata) */
	int fd;
	pthread_t th;
	int joined;
	atomic_int done;
	int cancel; /* under in->lock; signalled on in->cond */
	uint8_t *frame; /* header + largest payload, allocated at start */
	size_t frame_cap;
	char *payload; /* the growing payload (payload_cap bytes of room) */
	size_t payload_cap;
	size_t payload_len;
	struct inj *next;
};

struct injector {
	struct graph *g;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct inj *list;
	atomic_uint_fast64_t started, packets, errors;
};

struct injector *injector_new(struct graph *g)
{
	struct injector *in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->g = g;
	pthread_mutex_init(&in->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&in->cond, &ca);
	pthread_condattr_destroy(&ca);
	return in;
}

static void inj_free(struct inj *j)
{
	free(j->node);
	if (j->fd >= 0)
		close(j->fd);
	inject_req_clear(&j->req);
	free(j->frame);
	free(j->payload);
	free(j);
}

/* Joins and frees the finished injections (lock held). */
static void reap(struct injector *in, int all)
{
	for (struct inj **p = &in->list; *p;) {
		struct inj *j = *p;
		if (!all && !atomic_load(&j->done)) {
			p = &j->next;
			continue;
		}
		*p = j->next;
		pthread_mutex_unlock(&in->lock);
		pthread_join(j->th, NULL);
		pthread_mutex_lock(&in->lock);
		inj_free(j);
	}
}

void injector_free(struct injector *in)
{
	if (!in)
		return;
	pthread_mutex_lock(&in->lock);
	for (struct inj *j = in->list; j; j = j->next)
		j->cancel = 1;
	pthread_cond_broadcast(&in->cond);
	reap(in, 1);
	pthread_mutex_unlock(&in->lock);
	pthread_cond_destroy(&in->cond);
	pthread_mutex_destroy(&in->lock);
	free(in);
}

void injector_stats(struct injector *in, struct injector_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&in->lock);
	for (struct inj *j = in->list; j; j = j->next)
		out->running += !atomic_load(&j->done);
	pthread_mutex_unlock(&in->lock);
	out->started = atomic_load(&in->started);
	out->packets = atomic_load(&in->packets);
	out->errors = atomic_load(&in->errors);
}

static void rand_letters(char *out, size_t n)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint8_t b[64];
	while (n) {
		size_t k = n < sizeof(b) ? n : sizeof(b);
		if (getrandom(b, k, 0) != (ssize_t)k)
			memset(b, 0, k); /* no entropy: 'a's are as good a payload */
		for (size_t i = 0; i < k; i++)
			*out++ = letters[b[i] % 52];
		n -= k;
	}
}

/* The frame of packet number i (0-based) into j->frame: its length, or < 0. */
static int build(struct inj *j, uint64_t i, uint16_t id, uint16_t sport)
{
	return inject_req_frame(&j->req, i, id, sport, inject_rand32(), (const uint8_t *)j->payload,
	                        j->payload_len, j->frame, j->frame_cap);
}

/* Skydive's PacketInjections metadata of the source node (packetinjector/server.go
 * CreateTask): the request, "ID", "State": "active" and "PacketCount" while it runs
 * (entry given), the entry of uuid removed at its end (NULL), the key gone with the
 * last. Takes the graph lock. */
static void md_update(struct injector *in, const char *nid, const char *uuid, json_t *entry)
{
	graph_lock(in->g);
	struct graph_view *v = graph_view_at(in->g, 0, NULL);
	const struct graph_node *n = v ? graph_view_node_get(v, nid) : NULL;
	json_t *cur = n ? json_object_get(n->e.metadata, "PacketInjections") : NULL;
	json_t *list = json_array();
	for (size_t i = 0; list && i < json_array_size(cur); i++) {
		json_t *e = json_array_get(cur, i);
		const char *id = json_string_value(json_object_get(e, "ID"));
		if (!id || strcmp(id, uuid))
			json_array_append(list, e);
	}
	graph_view_free(v);
	if (n && list) {
		if (entry)
			json_array_append(list, entry);
		int64_t now = (int64_t)(time_now_ns() / 1000000);
		graph_node_set_key(in->g, nid, "PacketInjections",
		                   json_array_size(list) ? json_incref(list) : NULL, now);
	}
	json_decref(list);
	graph_unlock(in->g);
}

static json_t *md_entry(const struct inj *j, const char *state, uint64_t count)
{
	json_t *e = inject_req_to_json(&j->req);
	if (e) {
		json_object_set_new(e, "ID", json_string(j->req.uuid));
		json_object_set_new(e, "State", json_string(state));
		json_object_set_new(e, "PacketCount", json_integer((json_int_t)count));
	}
	return e;
}

/* The pcap of r read from memory (its file closed with it), or NULL. */
static pcap_t *pcap_open_mem(const struct inject_req *r)
{
	char perr[PCAP_ERRBUF_SIZE];
	FILE *f = fmemopen(r->pcap, r->pcap_len, "rb");
	pcap_t *p = f ? pcap_fopen_offline(f, perr) : NULL;
	if (f && !p)
		fclose(f);
	return p;
}

/* The next frame of the pcap, from its start again after its last (Skydive's pcap.go
 * loops over the file until Count frames are sent). 0, or -EIO. */
static int pcap_frame(const struct inject_req *r, pcap_t **pc, const u_char **d, size_t *len)
{
	for (int pass = 0; pass < 2; pass++) {
		struct pcap_pkthdr *h;
		if (!*pc && !(*pc = pcap_open_mem(r)))
			return -EIO;
		if (pcap_next_ex(*pc, &h, d) == 1) {
			*len = h->caplen;
			return 0;
		}
		pcap_close(*pc);
		*pc = NULL;
	}
	return -EIO;
}

static void *sender(void *arg)
{
	struct inj *j = arg;
	struct injector *in = j->in;
	const struct inject_req *r = &j->req;
	uint16_t id = r->icmp_id, sport = r->src_port;
	uint64_t sent = 0, errors = 0;
	int last_errno = 0, canceled = 0;
	struct timespec next;
	json_t *e = md_entry(j, "active", 0);
	if (e)
		md_update(in, j->node, r->uuid, e);
	json_decref(e);
	int64_t last_md = (int64_t)(time_now_ns() / 1000000);
	pcap_t *pc = NULL;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (uint64_t i = 0; i < r->count; i++) {
		const u_char *data = j->frame;
		size_t flen = 0;
		int len;
		if (r->pcap) /* a frame of the file, sent as it is */
			len = pcap_frame(r, &pc, &data, &flen) ? -EIO : (int)flen;
		else
			len = build(j, i, id, sport);
		if (len < 0 || send(j->fd, data, (size_t)len, 0) != len) {
			errors++;
			last_errno = len < 0 ? -len : errno;
			atomic_fetch_add(&in->errors, 1);
		} else {
			sent++;
			atomic_fetch_add(&in->packets, 1);
		}
		/* the next packet's payload grows (none after the last: the buffer holds the
		 * last one's, as start() sized it) */
		if (r->inc_payload > 0 && i + 1 < r->count &&
		    j->payload_len + (size_t)r->inc_payload <= j->payload_cap) {
			rand_letters(j->payload + j->payload_len, (size_t)r->inc_payload);
			j->payload_len += (size_t)r->inc_payload;
		}
		if (r->mode_random) { /* Skydive: rand.Intn(MaxUint16-1) + 1 */
			if (forge_type_icmp(r->type))
				id = (uint16_t)(inject_rand32() % 65534 + 1);
			else
				sport = (uint16_t)(inject_rand32() % 65534 + 1);
		}
		if (i + 1 == r->count)
			break;
		int64_t now_ms = (int64_t)(time_now_ns() / 1000000);
		if (now_ms - last_md >= 3000) { /* Skydive's 3 s ticker */
			last_md = now_ms;
			if ((e = md_entry(j, "active", sent)))
				md_update(in, j->node, r->uuid, e);
			json_decref(e);
		}
		/* Interval ms between sends, measured from the previous deadline so the
		 * sending time does not add up; a Stop wakes the wait. */
		next.tv_sec += (time_t)(r->interval_ms / 1000);
		next.tv_nsec += (long)(r->interval_ms % 1000) * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&in->lock);
		while (!j->cancel && r->interval_ms &&
		       pthread_cond_timedwait(&in->cond, &in->lock, &next) != ETIMEDOUT)
			;
		canceled = j->cancel;
		pthread_mutex_unlock(&in->lock);
		if (canceled)
			break;
	}
	if (errors)
		log_warn("inject: %s on %s: %llu packets sent, %llu not sent (last error: %s)",
		         r->uuid, j->ifname, (unsigned long long)sent, (unsigned long long)errors,
		         strerror(last_errno));
	else
		log_info("inject: %s on %s: %llu packets sent%s", r->uuid, j->ifname,
		         (unsigned long long)sent, canceled ? " (stopped)" : "");
	if (pc)
		pcap_close(pc);
	md_update(in, j->node, r->uuid, NULL); /* gone with its end, as Skydive's */
	atomic_store(&j->done, 1);
	return NULL;
}

static json_t *reply(const json_t *msg, int status, json_t *obj)
{
	json_t *r = json_pack("{s:s, s:O?, s:O?, s:i, s:o}", "Namespace", INJECT_NAMESPACE,
	                      "Type", json_object_get(msg, "Type"), "UUID",
	                      json_object_get(msg, "UUID"), "Status", status, "Obj", obj);
	return r;
}

static json_t *reply_error(const json_t *msg, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *reply_error(const json_t *msg, int status, const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("inject: %s", buf);
	return reply(msg, status, json_pack("{s:s}", "Error", buf));
}

/* The node's interface name, EncapType and namespace path (ownership parent of Type
 * netns; none: the agent's own). 0, or -ENOENT. */
static int node_where(struct injector *in, const char *nid, char *ifname, char *encap,
                      size_t elen, char *ns, size_t nslen)
{
	int rc = -ENOENT;
	ns[0] = encap[0] = ifname[0] = 0;
	graph_lock(in->g);
	struct graph_view *v = graph_view_at(in->g, 0, NULL);
	const struct graph_node *n = v ? graph_view_node_get(v, nid) : NULL;
	if (n) {
		rc = 0;
		const char *name = json_string_value(json_object_get(n->e.metadata, "Name"));
		const char *et = json_string_value(json_object_get(n->e.metadata, "EncapType"));
		snprintf(ifname, IF_NAMESIZE, "%s", name ? name : "");
		snprintf(encap, elen, "%s", et ? et : "");
		size_t ne = 0;
		const struct graph_edge *const *ie = graph_view_in_edges(v, nid, &ne);
		for (size_t i = 0; i < ne; i++) {
			const char *rel =
			    json_string_value(json_object_get(ie[i]->e.metadata, "RelationType"));
			const struct graph_node *p = graph_view_node_get(v, ie[i]->parent);
			if (!rel || strcmp(rel, "ownership") || !p)
				continue;
			const char *pt = json_string_value(json_object_get(p->e.metadata, "Type"));
			const char *path = json_string_value(json_object_get(p->e.metadata, "Path"));
			if (pt && !strcmp(pt, "netns") && path)
				snprintf(ns, nslen, "%s", path);
		}
	}
	graph_view_free(v);
	graph_unlock(in->g);
	return rc;
}

/* A send-only AF_PACKET socket bound to ifname inside namespace ns ("" = ours). */
static int open_socket(const char *ns, const char *ifname, char *err, size_t errlen)
{
	int saved, fd = -1;
	if (netns_enter(ns, &saved, err, errlen))
		return -1;
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		snprintf(err, errlen, "interface %s not found%s%.300s: %s", ifname, *ns ? " in " : "", ns,
		         strerror(errno));
		goto out;
	}
	/* protocol 0: this socket receives nothing, it only sends */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "AF_PACKET socket: %s%s", strerror(errno),
		         errno == EPERM ? " (the agent needs CAP_NET_RAW)" : "");
		goto out;
	}
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)idx};
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		snprintf(err, errlen, "cannot bind to %s: %s", ifname, strerror(errno));
		close(fd);
		fd = -1;
	}
out:
	if (netns_leave(saved) && fd >= 0) {
		/* this thread is left in the wrong namespace: refuse rather than go on */
		snprintf(err, errlen, "cannot return to the agent's network namespace");
		close(fd);
		fd = -1;
	}
	return fd;
}

static json_t *start(struct injector *in, const json_t *msg)
{
	const json_t *obj = json_object_get(msg, "Obj");
	const char *nid = json_string_value(json_object_get(obj, "NodeID"));
	char err[512], ifname[IF_NAMESIZE], encap[32], ns[512];
	if (!nid)
		return reply_error(msg, 400, "Start without Obj.NodeID");
	struct inj *j = calloc(1, sizeof(*j));
	if (!j)
		return reply_error(msg, 500, "out of memory");
	j->in = in;
	j->fd = -1;
	if (inject_req_from_json(json_object_get(obj, "Resource"), &j->req, err, sizeof(err))) {
		inj_free(j);
		return reply_error(msg, 400, "packet injection request refused: %s", err);
	}
	if (node_where(in, nid, ifname, encap, sizeof(encap), ns, sizeof(ns))) {
		inj_free(j);
		return reply_error(msg, 404, "node %s not found", nid);
	}
	if (!ifname[0] || (encap[0] && strcmp(encap, "ether") && strcmp(encap, "loopback"))) {
		inj_free(j);
		return reply_error(msg, 400, "node %s: %s", nid,
		                   !ifname[0] ? "no interface name"
		                              : "only Ethernet interfaces take injected packets");
	}
	snprintf(j->ifname, sizeof(j->ifname), "%s", ifname);
	if (!(j->node = strdup(nid))) {
		inj_free(j);
		return reply_error(msg, 500, "out of memory");
	}
	const struct inject_req *r = &j->req;
	/* room for the last packet's payload (inject_req_check bounded it) */
	size_t base = r->payload_len ? r->payload_len : INJECT_DEFAULT_PAYLOAD;
	size_t maxpl = base + (size_t)r->inc_payload * (size_t)(r->count - 1);
	j->frame_cap = forge_header_len(r->type) + maxpl;
	j->frame = malloc(j->frame_cap);
	j->payload = malloc(maxpl + 1);
	j->payload_cap = maxpl;
	if (!j->frame || !j->payload) {
		inj_free(j);
		return reply_error(msg, 500, "out of memory");
	}
	if (r->payload_len)
		memcpy(j->payload, r->payload, r->payload_len);
	else
		rand_letters(j->payload, base); /* Skydive: randString(56), as ping */
	j->payload_len = base;
	/* the first frame is built before anything is opened: a request that cannot make
	 * one is refused (the analyzer computed its TrackingID from the same frame) */
	if (!r->pcap && build(j, 0, r->icmp_id, r->src_port) < 0) {
		inj_free(j);
		return reply_error(msg, 500, "cannot build the first packet");
	}
	if ((j->fd = open_socket(ns, ifname, err, sizeof(err))) < 0) {
		inj_free(j);
		return reply_error(msg, 400, "node %s: %s", nid, err);
	}
	pthread_mutex_lock(&in->lock);
	reap(in, 0);
	int rc = pthread_create(&j->th, NULL, sender, j);
	if (!rc) {
		j->next = in->list;
		in->list = j;
	}
	pthread_mutex_unlock(&in->lock);
	if (rc) {
		inj_free(j);
		return reply_error(msg, 500, "cannot start the sender thread: %s", strerror(rc));
	}
	atomic_fetch_add(&in->started, 1);
	log_info("inject: %s: %llu %s frames on %s%s%s", r->uuid, (unsigned long long)r->count,
	         r->pcap ? "pcap" : forge_type_name(r->type), ifname, ns[0] ? " in " : "", ns);
	return reply(msg, 200, json_object());
}

static json_t *stop(struct injector *in, const json_t *msg)
{
	const json_t *res = json_object_get(json_object_get(msg, "Obj"), "Resource");
	const char *uuid = json_string_value(json_object_get(res, "UUID"));
	if (!uuid)
		return reply_error(msg, 400, "Stop without Obj.Resource.UUID");
	pthread_mutex_lock(&in->lock);
	for (struct inj *j = in->list; j; j = j->next)
		if (!strcmp(j->req.uuid, uuid))
			j->cancel = 1;
	pthread_cond_broadcast(&in->cond);
	reap(in, 0);
	pthread_mutex_unlock(&in->lock);
	/* one that already ended is stopped too */
	return reply(msg, 200, json_object());
}

json_t *injector_handle(struct injector *in, const json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "Type"));
	if (type && !strcmp(type, "Start"))
		return start(in, msg);
	if (type && !strcmp(type, "Stop"))
		return stop(in, msg);
	return reply_error(msg, 400, "unknown %s request type '%s'", INJECT_NAMESPACE,
	                   type ? type : "");
}
