/* capture_def.c - one capture as Skydive's API has it: read from JSON and checked
 * (Gremlin, BPF, type, ranges, the node types its query matches), written back. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer/capture_res_int.h"
#include "capture/capture.h"
#include "gremlin/gremlin.h"

#define LINKTYPE_ETHERNET 1

static const char capture_types[] =
    "afpacket, pcap, pcapsocket, sflow, ovssflow, ovsmirror, ovsnetflow, ebpf, dpdk";

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
	/* ovsnetflow: flow records exported by OVS, no packets (the agent refuses
	 * the same, agent/captures.c ovsnetflow_refused). SamplingRate 1 and
	 * PollingInterval 10 are the defaults every client sends. */
	if (!strcmp(c->type, "ovsnetflow")) {
		const char *no = c->bpf_filter[0]                          ? "BPFFilter"
		                 : c->raw_packet_limit                      ? "RawPacketLimit"
		                 : c->header_size                           ? "HeaderSize"
		                 : c->extra_tcp_metric                      ? "ExtraTCPMetric"
		                 : c->ip_defrag                             ? "IPDefrag"
		                 : c->reassemble_tcp                        ? "ReassembleTCP"
		                 : c->extra_layers                          ? "ExtraLayers"
		                 : c->port                                  ? "Port"
		                 : c->target_type[0]                        ? "TargetType"
		                 : c->sampling_rate > 1                     ? "SamplingRate"
		                 : c->polling_interval && c->polling_interval != 10 ? "PollingInterval"
		                                                            : NULL;
		if (no)
			return fail(err, -1, "capture type ovsnetflow takes no %s: OVS exports "
			                     "flow records, not packets",
			            no);
	}
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
	if (c->target_type[0] && !c->target[0]) /* capture_target.h: where to send */
		return fail(err, -1, "TargetType %.32s needs a Target: expected HOST:PORT",
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
