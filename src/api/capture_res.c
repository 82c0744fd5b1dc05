/* capture_res.c - Skydive's Capture resource: validation, JSON/YAML bodies, a
 * registry saved atomically to <data_dir>/captures.json, TTL expiry, REST. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "api/capture_res.h"
#include "capture/capture.h"
#include "common/log.h"
#include "config/config.h"
#include "gremlin/gremlin.h"

#define CT_TEXT           "text/plain; charset=UTF-8"
#define LINKTYPE_ETHERNET 1
#define MAX_LISTENERS     8
#define YAML_MAX_DEPTH    32
/* Nodes a YAML body may expand to: aliases let 700 bytes name billions of nodes
 * ("billion laughs"), so the conversion counts what it makes (docs/API.md "Limits"). */
#define YAML_MAX_NODES    100000

static const char capture_types[] =
    "afpacket, pcap, pcapsocket, sflow, ovssflow, ovsmirror, ovsnetflow, ebpf, dpdk";

__attribute__((format(printf, 3, 4))) static int fail(struct capture_res_error *err, int pos,
                                                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	rest_utf8_fix(err->msg); /* it may quote the body's bytes, cut anywhere */
	err->pos = pos;
	return -EINVAL;
}

/* ---- capture_def ---------------------------------------------------------- */

void capture_def_clear(struct capture_def *c)
{
	if (!c)
		return;
	char **s[] = {&c->gremlin_query, &c->bpf_filter,     &c->name,   &c->description,
	              &c->type,          &c->layer_key_mode, &c->target, &c->target_type};
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	memset(c, 0, sizeof(*c));
}

static int dup_str(char **dst, const char *src)
{
	*dst = strdup(src ? src : "");
	return *dst ? 0 : -ENOMEM;
}

int capture_def_copy(struct capture_def *dst, const struct capture_def *src)
{
	*dst = *src;
	char **d[] = {&dst->gremlin_query, &dst->bpf_filter,     &dst->name,   &dst->description,
	              &dst->type,          &dst->layer_key_mode, &dst->target, &dst->target_type};
	int rc = 0;
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		const char *s = *d[i];
		*d[i] = NULL;
		if (!rc)
			rc = dup_str(d[i], s);
	}
	if (rc)
		capture_def_clear(dst);
	return rc;
}

static int in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, word, n))
			return 1;
		p += k;
		while (*p == ',' || *p == ' ')
			p++;
	}
	return 0;
}

const char *capture_types_for_node(const char *t)
{
	static const char *const generic[] = {
	    "internal", "veth",      "tun",    "bridge",  "dummy",   "gre",  "bond",
	    "can",      "hsr",       "ifb",    "macvlan", "macvtap", "vlan", "vxlan",
	    "gretap",   "ip6gretap", "geneve", "ipoib",   "vcan",    "ipip", "ipvlan",
	    "lowpan",   "ip6tnl",    "ip6gre", "sit",     "device"};
	if (!t)
		return NULL;
	if (!strcmp(t, "ovsbridge"))
		return "ovssflow, pcapsocket, ovsnetflow";
	if (!strcmp(t, "ovsport"))
		return "ovsmirror";
	if (!strcmp(t, "dpdkport"))
		return "dpdk";
	for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
		if (!strcmp(t, generic[i]))
			return "afpacket, pcap, pcapsocket, sflow, ebpf";
	return NULL;
}

enum ftype { F_IGNORE, F_STR, F_INT, F_BOOL, F_LAYERS };
enum fid {
	FI_NONE,
	FI_GREMLIN,
	FI_BPF,
	FI_NAME,
	FI_DESC,
	FI_TYPE,
	FI_LKM,
	FI_TARGET,
	FI_TTYPE,
	FI_PORT,
	FI_SRATE,
	FI_PINTV,
	FI_RAWLIM,
	FI_HSIZE,
	FI_ETCP,
	FI_DEFRAG,
	FI_REASM,
	FI_LAYERS,
};
static const struct field {
	const char *name;
	enum ftype t;
	enum fid id;
} fields[] = {
    {"UUID", F_IGNORE, FI_NONE},
    {"GremlinQuery", F_STR, FI_GREMLIN},
    {"BPFFilter", F_STR, FI_BPF},
    {"Name", F_STR, FI_NAME},
    {"Description", F_STR, FI_DESC},
    {"Type", F_STR, FI_TYPE},
    {"Count", F_IGNORE, FI_NONE},
    {"PCAPSocket", F_IGNORE, FI_NONE},
    {"Port", F_INT, FI_PORT},
    {"SamplingRate", F_INT, FI_SRATE},
    {"PollingInterval", F_INT, FI_PINTV},
    {"RawPacketLimit", F_INT, FI_RAWLIM},
    {"HeaderSize", F_INT, FI_HSIZE},
    {"ExtraTCPMetric", F_BOOL, FI_ETCP},
    {"IPDefrag", F_BOOL, FI_DEFRAG},
    {"ReassembleTCP", F_BOOL, FI_REASM},
    {"LayerKeyMode", F_STR, FI_LKM},
    {"ExtraLayers", F_LAYERS, FI_LAYERS},
    {"Target", F_STR, FI_TARGET},
    {"TargetType", F_STR, FI_TTYPE},
};

static const char field_names[] =
    "GremlinQuery, BPFFilter, Name, Description, Type, Port, SamplingRate, PollingInterval, "
    "RawPacketLimit, HeaderSize, ExtraTCPMetric, IPDefrag, ReassembleTCP, LayerKeyMode, "
    "ExtraLayers, Target, TargetType";

static char **str_field(struct capture_def *c, enum fid id)
{
	switch (id) {
	case FI_GREMLIN:
		return &c->gremlin_query;
	case FI_BPF:
		return &c->bpf_filter;
	case FI_NAME:
		return &c->name;
	case FI_DESC:
		return &c->description;
	case FI_TYPE:
		return &c->type;
	case FI_LKM:
		return &c->layer_key_mode;
	case FI_TARGET:
		return &c->target;
	case FI_TTYPE:
		return &c->target_type;
	default:
		return NULL;
	}
}

static bool *bool_field(struct capture_def *c, enum fid id)
{
	return id == FI_ETCP     ? &c->extra_tcp_metric
	       : id == FI_DEFRAG ? &c->ip_defrag
	                         : &c->reassemble_tcp;
}

/* ExtraLayers given as names (Skydive's CLI words). */
static int layer_bit(const char *s)
{
	static const struct {
		const char *n;
		int bit;
	} l[] = {{"VRRP", 1}, {"DNS", 2}, {"DHCPv4", 4}, {"ALL", 255}};
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		if (!strcasecmp(s, l[i].n))
			return l[i].bit;
	return -1;
}

static int range_check(const char *name, int64_t v, int64_t lo, int64_t hi, const char *expect,
                       struct capture_res_error *err)
{
	if (v < lo || v > hi)
		return fail(err, -1, "%s %lld is out of range: expected %s", name, (long long)v,
		            expect);
	return 0;
}

/* Checks the fields that need no graph. */
static int def_validate(const struct capture_def *c, struct capture_res_error *err)
{
	int rc;
	const char *q = c->gremlin_query;
	while (isspace((unsigned char)*q))
		q++;
	if (!*q)
		return fail(err, -1,
		            "GremlinQuery is required: the nodes to capture on, e.g. "
		            "G.V().Has('Name', 'eth0') (client: --gremlin or --node)");
	struct gremlin_error ge = {0};
	struct gremlin_query *gq = gremlin_parse(c->gremlin_query, &ge);
	if (!gq)
		return fail(err, ge.pos, "invalid GremlinQuery: %s", ge.msg);
	gremlin_query_free(gq);
	if (c->bpf_filter[0]) {
		char berr[256] = "";
		if (capture_bpf_check(LINKTYPE_ETHERNET, c->bpf_filter, berr, sizeof(berr)))
			return fail(err, -1, "BPFFilter: %s",
			            berr[0] ? berr : "the filter does not compile");
	}
	if (c->type[0] && !in_list(capture_types, c->type))
		return fail(err, -1, "unknown capture type '%.64s': expected one of %s", c->type,
		            capture_types);
	/* The in-kernel flow table sees every packet: it has no BPF filter (Skydive's
	 * ebpf capture had none either). */
	if (!strcmp(c->type, "ebpf") && c->bpf_filter[0])
		return fail(err, -1, "capture type ebpf does not take a BPFFilter: remove it, or use "
		                     "afpacket or pcap");
	if (c->header_size != 0 && (c->header_size < 14 || c->header_size > 65535))
		return fail(err, -1,
		            "HeaderSize %d is out of range: expected 0 (default, 256 bytes) or "
		            "14..65535",
		            c->header_size);
	if ((rc = range_check("RawPacketLimit", c->raw_packet_limit, -1, INT64_MAX,
	                      "-1 (every packet), 0 (none) or a positive count", err)))
		return rc;
	if ((rc = range_check("SamplingRate", c->sampling_rate, 0, UINT32_MAX,
	                      "0..4294967295 (0: no flow samples)", err)) ||
	    (rc = range_check("PollingInterval", c->polling_interval, 0, UINT32_MAX,
	                      "0..4294967295 seconds (0: no counter polling)", err)) ||
	    (rc = range_check("Port", c->port, 0, 65535, "0..65535 (0: allocated)", err)) ||
	    (rc = range_check("ExtraLayers", c->extra_layers, 0, 255,
	                      "0..255, a bitmask of VRRP=1, DNS=2, DHCPv4=4 (255: all)", err)))
		return rc;
	if (c->layer_key_mode[0] && strcmp(c->layer_key_mode, "L2") &&
	    strcmp(c->layer_key_mode, "L3"))
		return fail(err, -1, "LayerKeyMode '%.32s' is invalid: expected L2 or L3",
		            c->layer_key_mode);
	if (c->target_type[0] && strcmp(c->target_type, "netflowv5") &&
	    strcmp(c->target_type, "erspanv1"))
		return fail(err, -1,
		            "TargetType '%.32s' is invalid: expected netflowv5 or erspanv1",
		            c->target_type);
	if (c->target[0]) {
		char host[256];
		int port = 0;
		if (config_split_addr(c->target, host, sizeof(host), &port) || !host[0] ||
		    port <= 0)
			return fail(err, -1,
			            "Target '%.200s' is invalid: expected HOST:PORT, e.g. "
			            "192.0.2.10:2055",
			            c->target);
	}
	return 0;
}

int capture_def_from_json(const json_t *in, struct capture_def *out, struct capture_res_error *err)
{
	memset(out, 0, sizeof(*out));
	err->msg[0] = 0;
	err->pos = -1;
	for (enum fid id = FI_GREMLIN; id <= FI_TTYPE; id++)
		if (dup_str(str_field(out, id), ""))
			return -ENOMEM;
	if (!json_is_object(in))
		return fail(err, -1, "a Capture must be a JSON object with the fields %s",
		            field_names);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)in, key, v)
	{
		const struct field *f = NULL;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !f; i++)
			if (!strcasecmp(key, fields[i].name))
				f = &fields[i];
		if (!f)
			return fail(err, -1, "unknown Capture field '%.64s': expected %s", key,
			            field_names);
		if (f->t == F_IGNORE || json_is_null(v))
			continue;
		switch (f->t) {
		case F_STR: {
			if (!json_is_string(v))
				return fail(err, -1, "%s must be a string", f->name);
			char **s = str_field(out, f->id);
			free(*s);
			if (dup_str(s, json_string_value(v)))
				return -ENOMEM;
			break;
		}
		case F_BOOL:
			if (!json_is_boolean(v))
				return fail(err, -1, "%s must be true or false", f->name);
			*bool_field(out, f->id) = json_is_true(v);
			break;
		case F_LAYERS:
			if (json_is_array(v)) {
				size_t i;
				json_t *e;
				json_array_foreach(v, i, e)
				{
					int b = json_is_string(e) ? layer_bit(json_string_value(e))
					                          : -1;
					if (b < 0)
						return fail(
						    err, -1,
						    "ExtraLayers item #%zu is invalid: expected "
						    "VRRP, DNS, DHCPv4 or ALL",
						    i);
					out->extra_layers |= b;
				}
				break;
			}
			/* an int bitmask otherwise */
			__attribute__((fallthrough));
		case F_INT: {
			if (!json_is_integer(v))
				return fail(err, -1, "%s must be an integer%s", f->name,
				            f->t == F_LAYERS ? " bitmask (VRRP=1, DNS=2, DHCPv4=4, "
				                               "all=255) or a list of names"
				                             : "");
			json_int_t n = json_integer_value(v);
			int64_t clamp = n < INT32_MIN ? INT32_MIN : n > INT32_MAX ? INT32_MAX : n;
			switch (f->id) {
			case FI_PORT:
				out->port = (int)clamp;
				break;
			case FI_SRATE:
				out->sampling_rate = n;
				break;
			case FI_PINTV:
				out->polling_interval = n;
				break;
			case FI_RAWLIM:
				out->raw_packet_limit = n;
				break;
			case FI_HSIZE:
				out->header_size = (int)clamp;
				break;
			default:
				out->extra_layers = (int)clamp;
				break;
			}
			break;
		}
		default:
			break;
		}
	}
	return def_validate(out, err);
}

json_t *capture_def_to_json(const struct capture_def *c, int count)
{
	json_t *j = json_object();
	int bad = !j;
#define PUT(k, val) (bad = bad || json_object_set_new(j, k, val))
#define PUT_S(k, s)                                                                                \
	do {                                                                                       \
		if ((s)[0])                                                                        \
			PUT(k, json_string(s));                                                    \
	} while (0)
	PUT("UUID", json_string(c->uuid));
	PUT("GremlinQuery", json_string(c->gremlin_query));
	PUT_S("BPFFilter", c->bpf_filter);
	PUT_S("Name", c->name);
	PUT_S("Description", c->description);
	PUT_S("Type", c->type);
	PUT("Count", json_integer(count));
	if (c->port)
		PUT("Port", json_integer(c->port));
	PUT("SamplingRate", json_integer(c->sampling_rate));
	PUT("PollingInterval", json_integer(c->polling_interval));
	if (c->raw_packet_limit)
		PUT("RawPacketLimit", json_integer(c->raw_packet_limit));
	if (c->header_size)
		PUT("HeaderSize", json_integer(c->header_size));
	PUT("ExtraTCPMetric", json_boolean(c->extra_tcp_metric));
	PUT("IPDefrag", json_boolean(c->ip_defrag));
	PUT("ReassembleTCP", json_boolean(c->reassemble_tcp));
	PUT_S("LayerKeyMode", c->layer_key_mode);
	if (c->extra_layers)
		PUT("ExtraLayers", json_integer(c->extra_layers));
	PUT_S("Target", c->target);
	PUT_S("TargetType", c->target_type);
#undef PUT_S
#undef PUT
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int capture_def_check_graph(const struct capture_def *c, struct graph *g,
                            struct capture_res_error *err)
{
	err->pos = -1;
	if (!g)
		return 0;
	struct gremlin_error ge = {0};
	struct gremlin_query *q = gremlin_parse(c->gremlin_query, &ge);
	if (!q)
		return fail(err, ge.pos, "invalid GremlinQuery: %s", ge.msg);
	struct gremlin_env env = {.now_ms = 0};
	struct gremlin_result res = {0};
	graph_rdlock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	int rc = v ? gremlin_eval(q, v, &env, &res, &ge) : -ENOMEM;
	graph_view_free(v);
	graph_unlock(g);
	gremlin_query_free(q);
	if (rc == -EINVAL)
		rc = fail(err, ge.pos, "GremlinQuery cannot be evaluated: %s", ge.msg);
	else if (rc == 0 && res.kind != GREMLIN_RESULT_NODES)
		rc = fail(err, -1,
		          "GremlinQuery must return nodes to capture on, e.g. G.V().Has('Type', "
		          "'veth'); this one returns %s",
		          res.kind == GREMLIN_RESULT_EDGES   ? "edges"
		          : res.kind == GREMLIN_RESULT_GRAPH ? "a graph"
		                                             : "values");
	if (rc || !c->type[0] || json_array_size(res.json) == 0) {
		json_decref(res.json);
		return rc; /* no nodes yet: future nodes may match */
	}
	/* Refused only when no matched node type allows the type. */
	char why[400] = "";
	size_t wl = 0, i;
	int shown = 0;
	json_t *n;
	json_array_foreach(res.json, i, n)
	{
		const char *t =
		    json_string_value(json_object_get(json_object_get(n, "Metadata"), "Type"));
		const char *allowed = capture_types_for_node(t);
		if (allowed && in_list(allowed, c->type)) {
			json_decref(res.json);
			return 0;
		}
		t = t ? t : "(none)";
		/* each distinct node type once */
		char key[80];
		snprintf(key, sizeof(key), "node type %.40s (", t);
		if (strstr(why, key) || shown >= 4 || wl >= sizeof(why) - 1)
			continue;
		int k = snprintf(why + wl, sizeof(why) - wl, "%s%s%s%s)", shown ? "; " : "", key,
		                 allowed ? "allowed: " : "", allowed ? allowed : "not capturable");
		if (k > 0)
			wl += (size_t)k < sizeof(why) - wl ? (size_t)k : sizeof(why) - wl - 1;
		shown++;
	}
	json_decref(res.json);
	return fail(err, -1, "capture type %s not allowed on %s", c->type, why);
}

/* ---- durations, UUIDs, bodies ------------------------------------------------ */

int capture_res_parse_duration(const char *s, int64_t *ms)
{
	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return -EINVAL;
	char *end;
	if (isdigit((unsigned char)*s) && strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10);
		if (errno || v > INT64_MAX)
			return -EINVAL;
		*ms = (int64_t)v; /* Skydive's client: a number of milliseconds */
		return 0;
	}
	if (*s == '+')
		s++;
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	double total_ns = 0;
	while (*s) {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -EINVAL;
		errno = 0;
		double v = strtod(s, &end);
		if (end == s || errno)
			return -EINVAL;
		s = end;
		static const struct {
			const char *u;
			double ns;
		} units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
		             {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
		size_t best = 0, blen = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);
			if (!strncmp(s, units[i].u, l) && l > blen) {
				best = i;
				blen = l;
			}
		}
		if (!blen)
			return -EINVAL; /* Go wants a unit after every number */
		total_ns += v * units[best].ns;
		s += blen;
	}
	if (!isfinite(total_ns) || total_ns / 1e6 > (double)INT64_MAX / 2)
		return -EINVAL;
	*ms = (int64_t)ceil(total_ns / 1e6);
	return 0;
}

static int uuid_v4(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
	return 0;
}

static int uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-'
		                                              : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A plain (unquoted) YAML scalar gets its YAML 1.1 type, as Go's yaml.v2. */
static json_t *yaml_scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || !strcmp(s, "~") || !strcasecmp(s, "null"))
		return json_null();
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on"))
		return json_true();
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off"))
		return json_false();
	char *end;
	errno = 0;
	long long ll = strtoll(s, &end, 10);
	if (*end == 0 && errno == 0 && (isdigit((unsigned char)s[0]) || s[0] == '-' || s[0] == '+'))
		return json_integer(ll);
	return json_stringn(s, len);
}

/* *left: nodes still allowed; set to (size_t)-1 when the budget ran out. */
static json_t *yaml_node(yaml_document_t *doc, yaml_node_t *n, int depth, size_t *left)
{
	if (!n || depth > YAML_MAX_DEPTH)
		return NULL;
	if (*left == 0 || *left == (size_t)-1) {
		*left = (size_t)-1;
		return NULL;
	}
	(*left)--;
	if (n->type == YAML_SCALAR_NODE)
		return yaml_scalar(n);
	if (n->type == YAML_SEQUENCE_NODE) {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     a && it < n->data.sequence.items.top; it++) {
			json_t *v = yaml_node(doc, yaml_document_get_node(doc, *it), depth + 1, left);
			if (!v || json_array_append_new(a, v)) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	if (n->type == YAML_MAPPING_NODE) {
		json_t *o = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     o && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			json_t *v =
			    yaml_node(doc, yaml_document_get_node(doc, p->value), depth + 1, left);
			if (!v || json_object_setn_new(o, (const char *)k->data.scalar.value,
			                               k->data.scalar.length, v)) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	return json_null();
}

static int is_yaml(const char *ct)
{
	if (!ct)
		return 0;
	while (isspace((unsigned char)*ct))
		ct++;
	return !strncasecmp(ct, "application/yaml", 16) ||
	       !strncasecmp(ct, "application/x-yaml", 18) || !strncasecmp(ct, "text/yaml", 9) ||
	       !strncasecmp(ct, "text/x-yaml", 11);
}

/* The request body as JSON; NULL with err filled. */
static json_t *parse_body(const char *ct, const char *body, size_t len,
                          struct capture_res_error *err)
{
	err->pos = -1;
	if (!is_yaml(ct)) {
		json_error_t je;
		json_t *j = json_loadb(body ? body : "", len, 0, &je);
		if (!j)
			fail(err, -1,
			     "invalid JSON body at line %d, column %d: %s (expected a Capture "
			     "object, e.g. {\"GremlinQuery\": \"G.V().Has('Name', 'eth0')\"}; send "
			     "YAML with Content-Type: application/yaml)",
			     je.line, je.column, je.text);
		return j;
	}
	yaml_parser_t p;
	yaml_document_t doc;
	json_t *j = NULL;
	if (!yaml_parser_initialize(&p)) {
		fail(err, -1, "out of memory reading the YAML body");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)(body ? body : ""), len);
	if (!yaml_parser_load(&p, &doc)) {
		const yaml_mark_t *m = p.problem ? &p.problem_mark : &p.context_mark;
		fail(err, -1, "invalid YAML body at line %zu, column %zu: %s", m->line + 1,
		     m->column + 1, p.problem ? p.problem : "syntax error");
		yaml_parser_delete(&p);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	size_t left = YAML_MAX_NODES;
	j = root ? yaml_node(&doc, root, 0, &left) : json_object();
	if (!j && left == (size_t)-1)
		fail(err, -1, "YAML body expands beyond %d nodes (aliases)", YAML_MAX_NODES);
	else if (!j)
		fail(err, -1, "the YAML body is nested deeper than %d levels (or out of memory)",
		     YAML_MAX_DEPTH);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return j;
}

/* ---- the registry --------------------------------------------------------------- */

struct capture_res {
	pthread_mutex_t lock;
	struct graph *g;
	char *dir, *file;
	struct capture_def *items;
	size_t n, cap;
	struct {
		capture_res_listener fn;
		void *user;
	} listeners[MAX_LISTENERS];
	capture_res_counts_fn counts_fn; /* Count of GET; NULL = 0 */
	void *counts_user;
};

static void notify(struct capture_res *r, enum capture_res_event ev, const struct capture_def *c)
{
	struct {
		capture_res_listener fn;
		void *user;
	} ls[MAX_LISTENERS];
	pthread_mutex_lock(&r->lock);
	memcpy(ls, r->listeners, sizeof(ls));
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (ls[i].fn)
			ls[i].fn(ls[i].user, ev, c);
}

/* Missing parents are made 0755, the data directory itself 0700: captures name
 * hosts, interfaces and filters, nothing other users need (issue 9). An existing
 * directory keeps the mode its administrator gave it. */
static int mkdir_p(const char *dir)
{
	char buf[4096];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || !*p) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, c ? 0755 : 0700) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Writes every capture to r->file through a temporary file and a rename, so
 * a crash leaves the old or the new file, never half of one. Lock held. */
static int save(struct capture_res *r, char *err, size_t errlen)
{
	json_t *all = json_object(), *root = json_pack("{s:i, s:o}", "Version", 1, "Captures", all);
	int rc = root ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < r->n; i++) {
		json_t *c = capture_def_to_json(&r->items[i], 0);
		if (c)
			json_object_del(c, "Count");
		json_t *e = c ? json_pack("{s:o}", "Capture", c) : NULL;
		if (e && r->items[i].expires_ms)
			json_object_set_new(e, "ExpiresAt", json_integer(r->items[i].expires_ms));
		if (!e || json_object_set_new(all, r->items[i].uuid, e))
			rc = -ENOMEM;
	}
	char *text = rc ? NULL : json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (!text) {
		snprintf(err, errlen, "out of memory saving the captures");
		return -ENOMEM;
	}
	/* An unpredictable name made with O_EXCL (mkstemp: mode 0600, never through a
	 * symbolic link someone planted), in the same directory so the rename is atomic. */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", r->file);
	int fd = -1;
	const char *what = "create";
	if ((rc = mkdir_p(r->dir)))
		what = "create the directory of";
	else if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || fchmod(fd, 0600))
		rc = -errno;
	if (rc && fd >= 0) {
		close(fd);
		unlink(tmp);
		fd = -1;
	}
	if (!rc) {
		size_t len = strlen(text), off = 0;
		what = "write";
		while (!rc && off < len) {
			ssize_t k = write(fd, text + off, len - off);
			if (k < 0 && errno != EINTR)
				rc = -errno;
			else if (k > 0)
				off += (size_t)k;
		}
		if (!rc && (write(fd, "\n", 1) != 1 || fsync(fd)))
			rc = errno ? -errno : -EIO;
		if (close(fd) && !rc)
			rc = -errno;
		if (!rc) {
			what = "rename into";
			if (rename(tmp, r->file))
				rc = -errno;
		}
		if (rc)
			unlink(tmp);
	}
	free(text);
	if (rc) {
		snprintf(
		    err, errlen,
		    "cannot %s %s: %s (set analyzer.data_dir or SKYDIVE_ANALYZER_DATA_DIR to a "
		    "writable directory)",
		    what, r->file, strerror(-rc));
		return rc;
	}
	int dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) { /* make the rename itself durable */
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static void keep_corrupt(const struct capture_res *r)
{
	char bad[4200];
	snprintf(bad, sizeof(bad), "%s.corrupt", r->file);
	if (rename(r->file, bad))
		log_error("api: cannot rename %s to %s: %s; the next change overwrites it", r->file,
		          bad, strerror(errno));
	else
		log_error("api: %s kept as %s; starting with no captures", r->file, bad);
}

static int append(struct capture_res *r, const struct capture_def *c)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct capture_def *ni = realloc(r->items, cap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		r->items = ni;
		r->cap = cap;
	}
	r->items[r->n++] = *c;
	return 0;
}

static void load(struct capture_res *r)
{
	json_error_t je;
	FILE *f = fopen(r->file, "rb");
	if (!f) {
		if (errno != ENOENT)
			log_error("api: cannot read the captures in %s: %s; starting with none",
			          r->file, strerror(errno));
		return;
	}
	json_t *root = json_loadf(f, 0, &je);
	fclose(f);
	if (!root) {
		log_error("api: %s is corrupt: invalid JSON at line %d, column %d (byte %d): %s",
		          r->file, je.line, je.column, je.position, je.text);
		keep_corrupt(r);
		return;
	}
	json_t *all = json_object_get(root, "Captures");
	if (!json_is_object(all)) {
		log_error("api: %s is corrupt: expected {\"Version\": 1, \"Captures\": {...}}",
		          r->file);
		json_decref(root);
		keep_corrupt(r);
		return;
	}
	int64_t now = rest_now_ms();
	const char *uuid;
	json_t *e;
	size_t dropped = 0;
	json_object_foreach(all, uuid, e)
	{
		struct capture_def c;
		struct capture_res_error cerr = {.pos = -1};
		json_t *exp = json_object_get(e, "ExpiresAt");
		int rc = capture_def_from_json(json_object_get(e, "Capture"), &c, &cerr);
		if (!rc && !uuid_valid(uuid))
			rc = fail(&cerr, -1, "'%.64s' is not a UUID", uuid);
		if (!rc && exp && !json_is_integer(exp))
			rc = fail(&cerr, -1, "ExpiresAt must be an integer (ms)");
		if (rc) {
			log_error("api: %s: capture '%.64s' dropped: %s", r->file, uuid, cerr.msg);
			capture_def_clear(&c);
			dropped++;
			continue;
		}
		snprintf(c.uuid, sizeof(c.uuid), "%s", uuid);
		c.expires_ms = json_integer_value(exp);
		if (c.expires_ms && c.expires_ms <= now) {
			capture_def_clear(&c); /* its TTL ended while we were down */
			dropped++;
			continue;
		}
		if (append(r, &c)) {
			capture_def_clear(&c);
			log_error("api: out of memory loading %s", r->file);
			break;
		}
	}
	json_decref(root);
	log_info("api: %zu captures loaded from %s%s", r->n, r->file,
	         dropped ? " (some dropped: expired or invalid)" : "");
}

struct capture_res *capture_res_new(const char *data_dir, struct graph *g)
{
	struct capture_res *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->g = g;
	r->dir = strdup(data_dir && *data_dir ? data_dir : "/var/lib/skydive");
	size_t n = r->dir ? strlen(r->dir) + sizeof(CAPTURE_RES_FILE) + 2 : 0;
	r->file = n ? malloc(n) : NULL;
	if (!r->file) {
		capture_res_free(r);
		return NULL;
	}
	snprintf(r->file, n, "%s/%s", r->dir, CAPTURE_RES_FILE);
	load(r);
	return r;
}

void capture_res_free(struct capture_res *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		capture_def_clear(&r->items[i]);
	free(r->items);
	free(r->dir);
	free(r->file);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static ssize_t find(const struct capture_res *r, const char *uuid)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->items[i].uuid, uuid))
			return (ssize_t)i;
	return -1;
}

/* Lock held. Moves the expired captures into *gone (caller frees). */
static size_t take_expired(struct capture_res *r, int64_t now, struct capture_def **gone)
{
	size_t k = 0, out = 0;
	*gone = NULL;
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].expires_ms && r->items[i].expires_ms <= now)
			k++;
	if (!k || !(*gone = malloc(k * sizeof(**gone))))
		return 0;
	for (size_t i = 0, j = 0; i < r->n; i++) {
		if (r->items[i].expires_ms && r->items[i].expires_ms <= now)
			(*gone)[out++] = r->items[i];
		else
			r->items[j++] = r->items[i];
	}
	r->n -= out;
	char err[512];
	if (save(r, err, sizeof(err)))
		log_error("api: expired captures removed, but %s", err);
	return out;
}

static void release_expired(struct capture_res *r, struct capture_def *gone, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		log_info("api: capture %s expired (TTL)", gone[i].uuid);
		notify(r, CAPTURE_RES_DELETED, &gone[i]);
		capture_def_clear(&gone[i]);
	}
	free(gone);
}

int capture_res_expire(struct capture_res *r, int64_t now_ms)
{
	struct capture_def *gone;
	pthread_mutex_lock(&r->lock);
	size_t n = take_expired(r, now_ms, &gone);
	pthread_mutex_unlock(&r->lock);
	release_expired(r, gone, n);
	return (int)n;
}

int capture_res_foreach(struct capture_res *r, int (*fn)(void *user, const struct capture_def *c),
                        void *user)
{
	int rc = 0;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n && !rc; i++)
		rc = fn(user, &r->items[i]);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int capture_res_get(struct capture_res *r, const char *uuid, struct capture_def *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->lock);
	ssize_t i = find(r, uuid);
	int rc = i < 0 ? -ENOENT : capture_def_copy(out, &r->items[i]);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

size_t capture_res_count(struct capture_res *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

int capture_res_listen(struct capture_res *r, capture_res_listener fn, void *user)
{
	int id = -ENOSPC;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (!r->listeners[i].fn) {
			r->listeners[i].fn = fn;
			r->listeners[i].user = user;
			id = i;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return id;
}

void capture_res_unlisten(struct capture_res *r, int id)
{
	if (id < 0 || id >= MAX_LISTENERS)
		return;
	pthread_mutex_lock(&r->lock);
	r->listeners[id].fn = NULL;
	r->listeners[id].user = NULL;
	pthread_mutex_unlock(&r->lock);
}

/* ---- REST -------------------------------------------------------------------- */

static void reply_cerr(struct rest_response *out, int status, const struct capture_res_error *e)
{
	if (e->pos >= 0)
		rest_reply_json(out, status,
		           json_pack("{s:s, s:i}", "Error", e->msg, "Position", e->pos));
	else
		rest_reply_json(out, status, json_pack("{s:s}", "Error", e->msg));
}

/* The same capture apart from UUID, Name, Description (and TTL). */
static int same_settings(const struct capture_def *a, const struct capture_def *b)
{
	return !strcmp(a->gremlin_query, b->gremlin_query) &&
	       !strcmp(a->bpf_filter, b->bpf_filter) && !strcmp(a->type, b->type) &&
	       !strcmp(a->layer_key_mode, b->layer_key_mode) && !strcmp(a->target, b->target) &&
	       !strcmp(a->target_type, b->target_type) && a->port == b->port &&
	       a->sampling_rate == b->sampling_rate && a->polling_interval == b->polling_interval &&
	       a->raw_packet_limit == b->raw_packet_limit && a->header_size == b->header_size &&
	       a->extra_layers == b->extra_layers && a->extra_tcp_metric == b->extra_tcp_metric &&
	       a->ip_defrag == b->ip_defrag && a->reassemble_tcp == b->reassemble_tcp;
}

/* Count of capture uuid in counts (from counts_fn, read before the registry lock). */
static int count_of(const json_t *counts, const char *uuid)
{
	return (int)json_integer_value(json_object_get(counts, uuid));
}

static json_t *read_counts(struct capture_res *r)
{
	pthread_mutex_lock(&r->lock);
	capture_res_counts_fn fn = r->counts_fn;
	void *user = r->counts_user;
	pthread_mutex_unlock(&r->lock);
	return fn ? fn(user) : NULL;
}

void capture_res_set_counts(struct capture_res *r, capture_res_counts_fn fn, void *user)
{
	pthread_mutex_lock(&r->lock);
	r->counts_fn = fn;
	r->counts_user = user;
	pthread_mutex_unlock(&r->lock);
}

static void api_list(struct capture_res *r, struct rest_response *out)
{
	json_t *m = json_object(), *counts = read_counts(r);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; m && i < r->n; i++) {
		json_t *c = capture_def_to_json(&r->items[i], count_of(counts, r->items[i].uuid));
		if (!c || json_object_set_new(m, r->items[i].uuid, c)) {
			json_decref(m);
			m = NULL;
		}
	}
	pthread_mutex_unlock(&r->lock);
	json_decref(counts);
	if (!m)
		rest_reply_error(out, 500, "out of memory listing the captures");
	else
		rest_reply_json(out, 200, m);
}

static void api_get(struct capture_res *r, const char *id, struct rest_response *out)
{
	json_t *c = NULL, *counts = read_counts(r);
	pthread_mutex_lock(&r->lock);
	ssize_t i = find(r, id);
	if (i >= 0)
		c = capture_def_to_json(&r->items[i], count_of(counts, id));
	pthread_mutex_unlock(&r->lock);
	json_decref(counts);
	if (i < 0)
		rest_reply_error(out, 404, "Capture '%.100s' not found", id);
	else if (!c)
		rest_reply_error(out, 500, "out of memory");
	else
		rest_reply_json(out, 200, c);
}

static void api_delete(struct capture_res *r, const char *id, struct rest_response *out)
{
	char err[512];
	struct capture_def gone;
	pthread_mutex_lock(&r->lock);
	ssize_t i = find(r, id);
	if (i < 0) {
		pthread_mutex_unlock(&r->lock);
		rest_reply_error(out, 404, "Capture '%.100s' not found", id);
		return;
	}
	gone = r->items[i];
	memmove(&r->items[i], &r->items[i + 1], (r->n - (size_t)i - 1) * sizeof(*r->items));
	r->n--;
	if (save(r, err, sizeof(err))) {
		/* put it back where it was: nothing changed */
		memmove(&r->items[i + 1], &r->items[i], (r->n - (size_t)i) * sizeof(*r->items));
		r->items[i] = gone;
		r->n++;
		pthread_mutex_unlock(&r->lock);
		rest_reply_error(out, 500, "capture not deleted: %s", err);
		return;
	}
	pthread_mutex_unlock(&r->lock);
	log_info("api: capture %s deleted", gone.uuid);
	notify(r, CAPTURE_RES_DELETED, &gone);
	capture_def_clear(&gone);
	out->status = 200;
	out->content_type = CT_TEXT;
	out->body = NULL;
	out->len = 0;
}

static void api_create(struct capture_res *r, const struct capture_res_request *req, int64_t now,
                       struct rest_response *out)
{
	struct capture_res_error e = {.pos = -1};
	struct capture_def c = {0};
	int64_t ttl = 0;
	char err[512];
	if (req->ttl && *req->ttl && (capture_res_parse_duration(req->ttl, &ttl) || ttl < 0)) {
		rest_reply_error(
		    out, 400,
		    "invalid X-Resource-TTL '%.64s': expected a Go duration such as 30s, 5m "
		    "or 1h30m (or a number of milliseconds)",
		    req->ttl);
		return;
	}
	json_t *body = parse_body(req->content_type, req->body, req->body_len, &e);
	if (!body) {
		reply_cerr(out, 400, &e);
		return;
	}
	int rc = capture_def_from_json(body, &c, &e);
	json_decref(body);
	if (!rc)
		rc = capture_def_check_graph(&c, r->g, &e);
	if (!rc)
		rc = uuid_v4(c.uuid);
	if (rc) {
		capture_def_clear(&c);
		if (rc == -EINVAL)
			reply_cerr(out, 400, &e);
		else
			rest_reply_error(out, 500, "capture not created: %s", strerror(-rc));
		return;
	}
	c.expires_ms = ttl > 0 ? now + ttl : 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->n; i++) {
		if (!same_settings(&r->items[i], &c))
			continue;
		char dup[37];
		memcpy(dup, r->items[i].uuid, sizeof(dup));
		pthread_mutex_unlock(&r->lock);
		capture_def_clear(&c);
		rest_reply_error(out, 409,
		            "Capture '%s' already has the same settings (only Name and Description "
		            "differ): delete it first or change a setting",
		            dup);
		return;
	}
	json_t *j = capture_def_to_json(&c, 0);
	rc = j ? append(r, &c) : -ENOMEM;
	if (!rc && save(r, err, sizeof(err))) {
		r->n--;
		rc = -EIO;
	}
	/* c's strings belong to the registry now: listeners get a copy taken
	 * under the lock, safe from a concurrent delete. */
	struct capture_def copy = {0};
	int have_copy = !rc && !capture_def_copy(&copy, &c);
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		json_decref(j);
		if (rc == -EIO)
			rest_reply_error(out, 500, "capture not created: %s", err);
		else
			rest_reply_error(out, 500, "capture not created: out of memory");
		capture_def_clear(&c);
		return;
	}
	if (have_copy) {
		log_info("api: capture %s created (%s)", copy.uuid, copy.gremlin_query);
		notify(r, CAPTURE_RES_CREATED, &copy);
		capture_def_clear(&copy);
	}
	rest_reply_json(out, 201, j);
}

void capture_res_handle(struct capture_res *r, const struct capture_res_request *req,
                        struct rest_response *out)
{
	memset(out, 0, sizeof(*out));
	int64_t now = req->now_ms ? req->now_ms : rest_now_ms();
	capture_res_expire(r, now); /* lazily, besides the analyzer's timer */
	const char *m = req->method ? req->method : "";
	const char *p = req->path + strlen("/api/capture");
	if (!*p || !strcmp(p, "/")) {
		if (!strcmp(m, "GET"))
			return api_list(r, out);
		if (!strcmp(m, "POST"))
			return api_create(r, req, now, out);
		return rest_reply_error(out, 405,
		                   "method %s not allowed on /api/capture (use GET or POST)", m);
	}
	const char *id = p + 1;
	if (*p != '/' || strchr(id, '/'))
		return rest_reply_error(
		    out, 404, "no such endpoint: %.200s (use /api/capture or /api/capture/<UUID>)",
		    req->path);
	if (!strcmp(m, "GET"))
		return api_get(r, id, out);
	if (!strcmp(m, "DELETE"))
		return api_delete(r, id, out);
	if (!strcmp(m, "PATCH"))
		return rest_reply_error(
		    out, 405,
		    "PATCH of a capture is not supported yet: delete it and create it "
		    "again (use GET or DELETE)");
	rest_reply_error(out, 405, "method %s not allowed on /api/capture/<UUID> (use GET or DELETE)",
	            m);
}
