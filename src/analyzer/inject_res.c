/* inject_res.c - /api/injectpacket (inject_res.h): Skydive's PacketInjection checked as
 * api/types/types.go Validate and api/server/packet_injector.go validateRequest, resolved
 * per source node as packetinjector/client.go createRequest and GetNodeResources, the
 * Start and Stop messages queued for the loop. */
#include "analyzer/inject_res.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/resource.h"
#include "analyzer/rest.h"
#include "common/duration.h"
#include "common/log.h"
#include "common/util.h"
#include "gremlin/gremlin.h"
#include "inject/inject_req.h"

#define MAX_NODES 256 /* source nodes of one injection (a larger match is a 400) */

/* One source node's request, queued or sent. */
struct inj_node {
	char *node, *host;
	char msg_uuid[37]; /* the Start message's UUID: its reply names it */
	char state[200];
	json_t *req; /* the resolved request (Skydive's PacketInjectionRequest) */
};

struct inj {
	char uuid[37];
	int64_t expires_ms; /* 0: until deleted */
	size_t n;
	struct inj_node *nodes;
	struct inj *next;
};

/* A message waiting for the loop. */
struct outmsg {
	char *host;
	json_t *msg;
	struct outmsg *next;
};

struct inject_res {
	struct graph *g;
	struct config *cfg;
	enum flow_key_mode mode;
	inject_send_fn send;
	void *user;
	struct res_registry *reg;
	int listener;
	pthread_mutex_t lock; /* list, queue, counters */
	struct inj *list;
	struct outmsg *q, **qtail;
	uint64_t created, starts, stops, send_failed, error_replies;
};

/* ---- the in-memory store (a restart does not replay an injection) ----------------- */

static int mem_load(void *ctx, json_t **all)
{
	*all = json_object();
	return *all ? 0 : -ENOMEM;
}

static int mem_save(void *ctx, const json_t *all, char *err, size_t errlen)
{
	return 0;
}

static const struct res_kind kind = {.name = "injectpacket", .title = "Injection"};

/* ---- queue ------------------------------------------------------------------------- */

static void enqueue(struct inject_res *r, const char *host, json_t *msg)
{
	struct outmsg *m = calloc(1, sizeof(*m));
	if (!m || !msg || !(m->host = strdup(host))) {
		free(m);
		json_decref(msg);
		r->send_failed++;
		log_error("inject: out of memory queueing a message to %s", host);
		return;
	}
	m->msg = msg;
	*r->qtail = m;
	r->qtail = &m->next;
}

static json_t *envelope(const char *type, const char *uuid, const char *node, json_t *res)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:o}}", "Namespace", INJECT_NAMESPACE, "Type",
	                 type, "UUID", uuid, "Obj", "NodeID", node, "Resource", res);
}

static void inj_free(struct inj *j)
{
	for (size_t i = 0; j && i < j->n; i++) {
		free(j->nodes[i].node);
		free(j->nodes[i].host);
		json_decref(j->nodes[i].req);
	}
	if (j)
		free(j->nodes);
	free(j);
}

/* Lock held: takes injection uuid out of the list and queues a Stop to each node. */
static void stop_locked(struct inject_res *r, const char *uuid)
{
	for (struct inj **p = &r->list; *p; p = &(*p)->next) {
		struct inj *j = *p;
		if (strcmp(j->uuid, uuid))
			continue;
		*p = j->next;
		for (size_t i = 0; i < j->n; i++) {
			char mu[37];
			if (res_uuid_new(mu))
				continue;
			enqueue(r, j->nodes[i].host,
			        envelope("Stop", mu, j->nodes[i].node, json_pack("{s:s}", "UUID", uuid)));
			r->stops++;
		}
		inj_free(j);
		return;
	}
}

/* The registry's listener: a deletion (DELETE, or expiry) stops the agents. */
static void on_change(void *user, enum res_event ev, const char *uuid, const json_t *obj)
{
	struct inject_res *r = user;
	if (ev != RES_DELETED)
		return;
	pthread_mutex_lock(&r->lock);
	stop_locked(r, uuid);
	pthread_mutex_unlock(&r->lock);
}

struct inject_res *inject_res_new(struct graph *g, struct config *cfg, inject_send_fn send,
                                  void *user, char *err, size_t errlen)
{
	const char *km = config_get_string(cfg, "flow.default_layer_key_mode", "L2");
	enum flow_key_mode mode;
	if (flow_key_mode_parse(km, &mode)) {
		snprintf(err, errlen, "flow.default_layer_key_mode must be L2 or L3, not '%s'", km);
		return NULL;
	}
	struct inject_res *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->g = g;
	r->cfg = cfg;
	r->mode = mode;
	r->send = send;
	r->user = user;
	r->qtail = &r->q;
	pthread_mutex_init(&r->lock, NULL);
	struct res_store st = {.load = mem_load, .save = mem_save};
	r->reg = res_registry_new_store(&kind, st);
	r->listener = r->reg ? res_registry_listen(r->reg, on_change, r) : -1;
	if (r->listener < 0) {
		snprintf(err, errlen, "out of memory");
		inject_res_free(r);
		return NULL;
	}
	return r;
}

void inject_res_free(struct inject_res *r)
{
	if (!r)
		return;
	if (r->reg) {
		if (r->listener >= 0)
			res_registry_unlisten(r->reg, r->listener);
		res_registry_free(r->reg);
	}
	while (r->list) {
		struct inj *j = r->list;
		r->list = j->next;
		inj_free(j);
	}
	while (r->q) {
		struct outmsg *m = r->q;
		r->q = m->next;
		free(m->host);
		json_decref(m->msg);
		free(m);
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* ---- the PacketInjection body ----------------------------------------------------- */

/* Skydive's fields (api/types/types.go PacketInjection) and their JSON types. */
static const struct field {
	const char *name;
	json_type type;
	uint64_t max; /* integers */
} fields[] = {
    {"UUID", JSON_STRING, 0},          {"Src", JSON_STRING, 0},
    {"Dst", JSON_STRING, 0},           {"SrcIP", JSON_STRING, 0},
    {"DstIP", JSON_STRING, 0},         {"SrcMAC", JSON_STRING, 0},
    {"DstMAC", JSON_STRING, 0},        {"SrcPort", JSON_INTEGER, 65535},
    {"DstPort", JSON_INTEGER, 65535},  {"Type", JSON_STRING, 0},
    {"Payload", JSON_STRING, 0},       {"ICMPID", JSON_INTEGER, 65535},
    {"Count", JSON_INTEGER, INJECT_MAX_COUNT},
    {"Interval", JSON_INTEGER, INJECT_MAX_INTERVAL_MS},
    {"Mode", JSON_STRING, 0},          {"IncrementPayload", JSON_INTEGER, FORGE_MAX_PAYLOAD},
    {"StartTime", JSON_STRING, 0},     {"Pcap", JSON_STRING, 0},
    {"TTL", JSON_INTEGER, 255},
};

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

static uint64_t num(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* Types and ranges of every field; unknown fields refused (never ignored). */
static int check_body(const json_t *b, struct res_error *e)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)b, k, v) {
		const struct field *f = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(fields) && !f; i++)
			if (!strcmp(fields[i].name, k))
				f = &fields[i];
		if (!f)
			return res_fail(e, -1, "unknown field '%s' (a PacketInjection has Src, Dst, "
			                       "SrcIP, DstIP, SrcMAC, DstMAC, SrcPort, DstPort, Type, "
			                       "Payload, ICMPID, Count, Interval, Mode, "
			                       "IncrementPayload, Pcap, TTL)", k);
		if (json_is_null(v))
			continue;
		if (f->type == JSON_INTEGER) {
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    (uint64_t)json_integer_value(v) > f->max)
				return res_fail(e, -1, "%s must be an integer from 0 to %llu", k,
				                (unsigned long long)f->max);
		} else if (!json_is_string(v)) {
			return res_fail(e, -1, "%s must be a string", k);
		}
	}
	const char *type = str(b, "Type"), *mode = str(b, "Mode");
	enum forge_type ft;
	if (!type || forge_type_parse(type, &ft))
		return res_fail(e, -1, "given type is not supported: Type '%s' is not one of icmp4, "
		                       "icmp6, tcp4, tcp6, udp4, udp6", type ? type : "");
	if (mode && strcmp(mode, "unique") && strcmp(mode, "random"))
		return res_fail(e, -1, "given mode is not supported: Mode '%s' is not unique or "
		                       "random", mode);
	if (!str(b, "Src"))
		return res_fail(e, -1, "Src is required: a Gremlin query of the source node(s), "
		                       "e.g. \"G.V().Has('Name', 'eth0')\"");
	return 0;
}

/* An address of the family af from "addr" or "addr/len" (Skydive's isIPOrCIDR). */
static int parse_ip(const char *s, int af, uint8_t out[16])
{
	char buf[64];
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	memset(out, 0, 16);
	return inet_pton(af, buf, out) == 1 ? 0 : -EINVAL;
}

/* ---- resolution (graph's reader side held) ----------------------------------------- */

static const json_t *md_get(const struct graph_node *n, const char *a, const char *b)
{
	const json_t *v = json_object_get(n->e.metadata, a);
	return b ? json_object_get(v, b) : v;
}

/* The first address of the node's Neutron.<field> or <field> list (IPV4 / IPV6). */
static int node_ip(const struct graph_node *n, const char *field, int af, uint8_t out[16])
{
	const json_t *l = md_get(n, "Neutron", field);
	if (!json_array_size(l))
		l = md_get(n, field, NULL);
	for (size_t i = 0; i < json_array_size(l); i++)
		if (!parse_ip(json_string_value(json_array_get(l, i)), af, out))
			return 0;
	return -ENOENT;
}

/* ExtID.attached-mac, else MAC (Skydive's order). */
static const char *node_mac(const struct graph_node *n)
{
	const char *m = json_string_value(md_get(n, "ExtID", "attached-mac"));
	return m && *m ? m : json_string_value(md_get(n, "MAC", NULL));
}

struct src_nodes {
	const struct graph_node *v[MAX_NODES];
	size_t n;
	int over;
};

static int collect(void *user, const struct graph_node *n, const struct graph_edge *e)
{
	struct src_nodes *s = user;
	if (!n)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == n)
			return 0;
	if (s->n == MAX_NODES) {
		s->over = 1;
		return 1;
	}
	s->v[s->n++] = n;
	return 0;
}

static int eval_nodes(struct inject_res *r, const struct graph_view *v, const char *what,
                      const char *query, struct src_nodes *out, struct res_error *e)
{
	struct gremlin_error ge = {0};
	struct gremlin_query *q = gremlin_parse(query, &ge);
	struct gremlin_env env = {.now_ms = (int64_t)(time_now_ns() / 1000000)};
	rest_gremlin_bounds(r->cfg, &env);
	int rc = q ? gremlin_eval_elements(q, v, &env, collect, out, &ge) : -EINVAL;
	gremlin_query_free(q);
	if (rc < 0 && rc != -ENOMEM)
		return res_fail(e, -1, "%s query '%s': %s", what, query, ge.msg);
	if (rc == -ENOMEM)
		return -ENOMEM;
	if (out->over)
		return res_fail(e, -1, "%s query '%s' matches more than %d nodes: narrow it", what,
		                query, MAX_NODES);
	return 0;
}

static uint16_t rand_port(void)
{
	/* Skydive: rand.Int63n(max-min) + min */
	return (uint16_t)(1024 + inject_rand32() % (65535 - 1024));
}

/* createRequest for node n: the request object (Skydive's PacketInjectionRequest
 * names) in *out, its TrackingIDs in tid/l3. 0 or -EINVAL with e filled. */
static int resolve_one(struct inject_res *r, const json_t *b, const struct graph_node *n,
                       const struct graph_node *dst, uint16_t id, uint16_t sport,
                       const struct inject_req *pcap, const uint8_t *first, size_t first_len,
                       json_t **out, char tid[17], char l3[17], struct res_error *e)
{
	struct inject_req q = {0};
	forge_type_parse(str(b, "Type"), &q.type);
	if (pcap) { /* the file's frames are sent as they are: nothing to resolve */
		q.pcap = pcap->pcap; /* borrowed */
		q.pcap_len = pcap->pcap_len;
		q.pcap_packets = pcap->pcap_packets;
		q.count = num(b, "Count") ? num(b, "Count") : pcap->pcap_packets;
		q.interval_ms = num(b, "Interval");
		q.ttl = 64;
		snprintf(q.uuid, sizeof(q.uuid), "%s", "00000000-0000-0000-0000-000000000000");
		char cerr[300];
		if (inject_req_check(&q, cerr, sizeof(cerr)))
			return res_fail(e, -1, "%s", cerr);
		tid[0] = l3[0] = 0; /* a first frame that is not IP makes no flow */
		inject_tracking_ids(first, first_len, r->mode, tid, l3);
		*out = inject_req_to_json(&q);
		return *out ? 0 : -ENOMEM;
	}
	int v6 = forge_type_v6(q.type), af = v6 ? AF_INET6 : AF_INET;
	const char *field = v6 ? "IPV6" : "IPV4";
	const char *nname = json_string_value(md_get(n, "Name", NULL));
	if (!nname)
		nname = n->e.id;
	if (str(b, "SrcIP")) {
		if (parse_ip(str(b, "SrcIP"), af, q.src_ip))
			return res_fail(e, -1, "SrcIP '%s' is not an IPv%d address", str(b, "SrcIP"),
			                v6 ? 6 : 4);
	} else if (node_ip(n, field, af, q.src_ip)) {
		return res_fail(e, -1, "No source IP in node %s (%s) and user input: give SrcIP", nname,
		                field);
	}
	if (str(b, "DstIP")) {
		if (parse_ip(str(b, "DstIP"), af, q.dst_ip))
			return res_fail(e, -1, "DstIP '%s' is not an IPv%d address", str(b, "DstIP"),
			                v6 ? 6 : 4);
	} else if (!dst) {
		return res_fail(e, -1, "Not able to find a dest node and dest IP also empty: give Dst "
		                       "or DstIP");
	} else if (node_ip(dst, field, af, q.dst_ip)) {
		return res_fail(e, -1, "No dest IP in node %s (%s) and user input: give DstIP",
		                json_string_value(md_get(dst, "Name", NULL)), field);
	}
	const char *smac = str(b, "SrcMAC") ? str(b, "SrcMAC") : node_mac(n);
	if (!smac || !*smac)
		return res_fail(e, -1, "No source MAC in node %s and user input: give SrcMAC", nname);
	if (parse_mac(smac, q.src_mac))
		return res_fail(e, -1, "source MAC '%s' is not a MAC address", smac);
	const char *dmac = str(b, "DstMAC");
	json_t *nh = NULL;
	if (!dmac) { /* the next hop's neighbour entry (Skydive's GetNextHop), else Dst's */
		char dip[INET6_ADDRSTRLEN];
		fmt_ip(dip, v6 ? 6 : 4, q.dst_ip);
		nh = gremlin_nexthop(n->e.metadata, dip);
		dmac = json_string_value(json_object_get(nh, "MAC"));
		if (!dmac && dst)
			dmac = node_mac(dst);
	}
	int bad_mac = !dmac || parse_mac(dmac, q.dst_mac);
	json_decref(nh); /* dmac no longer used */
	if (bad_mac)
		return res_fail(e, -1, "Failed to resolve destination MAC address (no neighbour entry "
		                       "for the next hop%s): give DstMAC or Dst",
		                dst ? ", no MAC on the Dst node" : "");
	q.dst_port = (uint16_t)num(b, "DstPort");
	q.src_port = sport;
	if ((q.type == FORGE_TCP4 || q.type == FORGE_TCP6) && !q.dst_port)
		q.dst_port = rand_port(); /* createRequest */
	q.icmp_id = id;
	/* TTL 0 would not leave the host: our default is Skydive's client's, 64 */
	q.ttl = num(b, "TTL") ? (uint8_t)num(b, "TTL") : 64;
	q.count = num(b, "Count") ? num(b, "Count") : 1;
	q.interval_ms = num(b, "Interval");
	q.inc_payload = (int64_t)num(b, "IncrementPayload");
	q.mode_random = str(b, "Mode") && !strcmp(str(b, "Mode"), "random");
	const char *pl = json_string_value(json_object_get(b, "Payload"));
	q.payload = (char *)(pl ? pl : "");
	q.payload_len = pl ? strlen(pl) : 0;
	char cerr[300];
	if (inject_req_check(&q, cerr, sizeof(cerr)))
		return res_fail(e, -1, "%s", cerr);
	snprintf(q.uuid, sizeof(q.uuid), "%s", "00000000-0000-0000-0000-000000000000");
	/* the first frame gives the flow's identity (the payload and TCP sequence number
	 * are not part of it) */
	size_t cap = forge_header_len(q.type) + q.payload_len;
	uint8_t *frame = malloc(cap);
	int len = frame ? inject_req_frame(&q, 0, q.icmp_id, q.src_port, 0,
	                                   (const uint8_t *)q.payload, q.payload_len, frame, cap)
	                : -ENOMEM;
	int rc = len < 0 ? len : inject_tracking_ids(frame, (size_t)len, r->mode, tid, l3);
	free(frame);
	if (rc)
		return rc == -ENOMEM ? -ENOMEM : res_fail(e, -1, "cannot build the first packet");
	*out = inject_req_to_json(&q);
	return *out ? 0 : -ENOMEM;
}

/* Every source node's request; 0, -EINVAL (e filled) or -ENOMEM. */
static int resolve(struct inject_res *r, const json_t *b, struct inj *j, json_t *nodes_out,
                   struct res_error *e)
{
	struct src_nodes *src = calloc(1, sizeof(*src)), *dst = calloc(1, sizeof(*dst));
	int rc = src && dst ? 0 : -ENOMEM;
	graph_rdlock(r->g);
	struct graph_view *v = rc ? NULL : graph_view_at(r->g, 0, NULL);
	if (!rc && !v)
		rc = -ENOMEM;
	if (!rc)
		rc = eval_nodes(r, v, "Src", str(b, "Src"), src, e);
	if (!rc && str(b, "Dst"))
		rc = eval_nodes(r, v, "Dst", str(b, "Dst"), dst, e);
	if (!rc && !src->n)
		rc = res_fail(e, -1, "Not able to find a source node for '%s'", str(b, "Src"));
	if (!rc && str(b, "Dst") && !dst->n)
		rc = res_fail(e, -1, "Not able to find a destination node for '%s'", str(b, "Dst"));
	if (!rc && !(j->nodes = calloc(src->n, sizeof(*j->nodes))))
		rc = -ENOMEM;
	/* GetNodeResources: ICMPID starts at 1 when not given and, Mode unique, the ICMP id
	 * or the source port grows by one per node, so that each node's packets are a flow
	 * of their own. An ungiven source port is 1 in Skydive; ours is drawn from 1024 to
	 * 65534 as its createRequest does for TCP's DstPort (docs/API.md). */
	uint16_t id = (uint16_t)num(b, "ICMPID"), sport = (uint16_t)num(b, "SrcPort");
	if (!id)
		id = 1;
	enum forge_type ft = FORGE_ICMP4;
	forge_type_parse(str(b, "Type"), &ft);
	if (!sport && !forge_type_icmp(ft))
		sport = rand_port();
	int uniq = !(str(b, "Mode") && !strcmp(str(b, "Mode"), "random"));
	/* Skydive's Pcap: a capture file replayed instead (Count 0: once) */
	struct inject_req pc = {0};
	uint8_t *first = NULL;
	size_t first_len = 0;
	const char *b64 = str(b, "Pcap");
	if (!rc && b64 && !(first = malloc(65536)))
		rc = -ENOMEM;
	if (!rc && b64) {
		char perr[300];
		rc = inject_req_set_pcap(&pc, b64, strlen(b64), first, 65536, &first_len, perr,
		                         sizeof(perr));
		if (rc == -EINVAL)
			rc = res_fail(e, -1, "%s", perr);
	}
	for (size_t i = 0; !rc && i < src->n; i++) {
		const struct graph_node *n = src->v[i];
		char tid[17], l3[17];
		json_t *req = NULL;
		rc = resolve_one(r, b, n, dst->n ? dst->v[0] : NULL, id, sport, b64 ? &pc : NULL,
		                 first, first_len, &req, tid, l3, e);
		if (rc)
			break;
		struct inj_node *in = &j->nodes[j->n];
		in->node = strdup(n->e.id);
		in->host = strdup(n->e.host ? n->e.host : "");
		in->req = req;
		snprintf(in->state, sizeof(in->state), "queued");
		j->n++;
		if (!in->node || !in->host ||
		    json_array_append_new(nodes_out, json_pack("{s:s, s:s, s:s, s:s}", "ID", n->e.id,
		                                               "Host", in->host, "TrackingID", tid,
		                                               "L3TrackingID", l3))) {
			rc = -ENOMEM;
			break;
		}
		if (!n->e.host || !*n->e.host)
			rc = res_fail(e, -1, "source node %s has no Host: no agent owns it", n->e.id);
		if (uniq) {
			if (forge_type_icmp(ft))
				id++;
			else
				sport++;
		}
	}
	graph_view_free(v);
	graph_unlock(r->g);
	inject_req_clear(&pc);
	free(first);
	free(src);
	free(dst);
	return rc;
}

/* ---- REST ------------------------------------------------------------------------ */

static void create(struct inject_res *r, const char *ct, const char *body, size_t len,
                   const char *ttl, struct rest_response *out)
{
	struct res_error e = {.pos = -1};
	int64_t ttl_ns = 0;
	if (ttl && *ttl && (duration_parse(ttl, &ttl_ns) || ttl_ns <= 0)) {
		rest_reply_error(out, 400, "X-Resource-TTL '%s' is not a positive duration (e.g. 10s)",
		                 ttl);
		return;
	}
	json_t *b = res_body_parse(ct, body, len,
	                           "{\"Src\": \"G.V().Has('Name', 'eth0')\", \"Dst\": "
	                           "\"G.V().Has('Name', 'eth1')\", \"Type\": \"icmp4\", "
	                           "\"Count\": 5}",
	                           &e);
	if (!b) {
		rest_reply_error(out, 400, "%s", e.msg);
		return;
	}
	struct inj *j = calloc(1, sizeof(*j));
	json_t *nodes = json_array();
	int rc = j && nodes ? check_body(b, &e) : -ENOMEM;
	if (!rc)
		rc = resolve(r, b, j, nodes, &e);
	if (rc) {
		if (rc == -EINVAL)
			rest_reply_error(out, 400, "%s", e.msg);
		else
			rest_reply_error(out, 500, "cannot create the injection: %s", strerror(-rc));
		json_decref(b);
		json_decref(nodes);
		inj_free(j);
		return;
	}
	/* the resource as Skydive keeps it, with what we add */
	char now[40];
	fmt_rfc3339_ms(now, sizeof(now), (int64_t)(time_now_ns() / 1000000));
	json_object_del(b, "UUID");
	json_object_set_new(b, "StartTime", json_string(now));
	json_object_set(b, "TrackingID", json_object_get(json_array_get(nodes, 0), "TrackingID"));
	json_object_set(b, "L3TrackingID",
	                json_object_get(json_array_get(nodes, 0), "L3TrackingID"));
	json_object_set_new(b, "Nodes", nodes);
	char uuid[37];
	rc = res_registry_create(r->reg, b, uuid, &e);
	if (rc) {
		rest_reply_error(out, rc == -EINVAL ? 400 : 500, "%s", e.msg);
		json_decref(b);
		inj_free(j);
		return;
	}
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	j->expires_ms = ttl_ns ? (int64_t)(time_now_ns() / 1000000) + ttl_ns / 1000000 : 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < j->n; i++) {
		struct inj_node *in = &j->nodes[i];
		json_object_set_new(in->req, "UUID", json_string(uuid));
		if (res_uuid_new(in->msg_uuid)) {
			snprintf(in->state, sizeof(in->state), "error: no random UUID");
			continue;
		}
		enqueue(r, in->host, envelope("Start", in->msg_uuid, in->node, json_incref(in->req)));
		snprintf(in->state, sizeof(in->state), "sent");
		r->starts++;
	}
	r->created++;
	j->next = r->list;
	r->list = j;
	pthread_mutex_unlock(&r->lock);
	json_object_set_new(b, "UUID", json_string(uuid));
	log_info("inject: %s created: %s from %zu node(s), TrackingID %s", uuid, str(b, "Type"),
	         j->n, json_string_value(json_object_get(b, "TrackingID")));
	rest_reply_json(out, 201, b);
}

void inject_res_handle(struct inject_res *r, const char *method, const char *path,
                       const char *content_type, const char *body, size_t len,
                       const char *ttl, struct rest_response *out)
{
	if (!strcmp(method, "POST") && !strcmp(path, "/api/injectpacket")) {
		create(r, content_type, body, len, ttl, out);
		return;
	}
	if (!strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
		/* Skydive: rest.ErrNotUpdatable */
		rest_reply_error(out, 405, "an injection cannot be updated: delete it and create "
		                           "another");
		return;
	}
	struct res_request req = {.method = method,
	                          .path = path,
	                          .content_type = content_type,
	                          .body = body,
	                          .body_len = len};
	res_registry_handle(r->reg, &req, out);
}

/* ---- loop ------------------------------------------------------------------------ */

void inject_res_tick(struct inject_res *r, int64_t now_ms)
{
	char expired[16][37];
	size_t ne = 0;
	pthread_mutex_lock(&r->lock);
	for (struct inj *j = r->list; j && ne < 16; j = j->next)
		if (j->expires_ms && j->expires_ms <= now_ms)
			snprintf(expired[ne++], 37, "%s", j->uuid);
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < ne; i++) /* the listener queues the Stops */
		if (res_registry_delete(r->reg, expired[i]) == -ENOENT) {
			pthread_mutex_lock(&r->lock);
			stop_locked(r, expired[i]);
			pthread_mutex_unlock(&r->lock);
		}
	pthread_mutex_lock(&r->lock);
	struct outmsg *q = r->q;
	r->q = NULL;
	r->qtail = &r->q;
	pthread_mutex_unlock(&r->lock);
	while (q) {
		struct outmsg *m = q;
		q = m->next;
		const char *mu = json_string_value(json_object_get(m->msg, "UUID"));
		char muuid[37] = "";
		snprintf(muuid, sizeof(muuid), "%s", mu ? mu : "");
		if (r->send(r->user, m->host, m->msg)) { /* msg taken either way */
			pthread_mutex_lock(&r->lock);
			r->send_failed++;
			/* the node whose Start it was says so in /api/status */
			for (struct inj *j = r->list; j; j = j->next)
				for (size_t i = 0; i < j->n; i++)
					if (!strcmp(j->nodes[i].msg_uuid, muuid))
						snprintf(j->nodes[i].state, sizeof(j->nodes[i].state),
						         "error: agent %s is not connected", m->host);
			pthread_mutex_unlock(&r->lock);
			log_warn("inject: agent %s is not connected: its request is dropped", m->host);
		}
		free(m->host);
		free(m);
	}
}

void inject_res_reply(struct inject_res *r, const char *host, const json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "Type"));
	const char *uuid = json_string_value(json_object_get(msg, "UUID"));
	json_t *status = json_object_get(msg, "Status");
	const char *error = json_string_value(json_object_get(json_object_get(msg, "Obj"), "Error"));
	int ok = json_integer_value(status) == 200;
	if (!uuid)
		return;
	pthread_mutex_lock(&r->lock);
	if (!ok)
		r->error_replies++;
	for (struct inj *j = r->list; j; j = j->next)
		for (size_t i = 0; i < j->n; i++) {
			struct inj_node *in = &j->nodes[i];
			if (strcmp(in->msg_uuid, uuid))
				continue;
			if (ok)
				snprintf(in->state, sizeof(in->state), "injecting");
			else
				snprintf(in->state, sizeof(in->state), "error: %s",
				         error ? error : "refused by the agent");
			if (!ok)
				log_warn("inject: %s on %s (%s): %s", j->uuid, in->node, host,
				         error ? error : "refused");
		}
	pthread_mutex_unlock(&r->lock);
	(void)type;
}

json_t *inject_res_status(struct inject_res *r)
{
	json_t *nodes = json_object();
	pthread_mutex_lock(&r->lock);
	size_t active = 0;
	for (struct inj *j = r->list; j; j = j->next) {
		json_t *o = json_object();
		for (size_t i = 0; i < j->n; i++)
			json_object_set_new(o, j->nodes[i].node, json_string(j->nodes[i].state));
		json_object_set_new(nodes, j->uuid, o);
		active++;
	}
	json_t *s = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "Active", (json_int_t)active,
	                      "Created", (json_int_t)r->created, "StartsSent",
	                      (json_int_t)r->starts, "StopsSent", (json_int_t)r->stops, "SendFailed",
	                      (json_int_t)r->send_failed, "ErrorReplies",
	                      (json_int_t)r->error_replies, "Nodes", nodes);
	pthread_mutex_unlock(&r->lock);
	return s;
}
