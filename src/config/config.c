/* config.c - YAML configuration files (libyaml) merged into a jansson tree
 * over Skydive's defaults, with SKYDIVE_* environment overrides. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common/duration.h"
#include "common/log.h"
#include "common/yaml_json.h"
#include "config/config.h"
#include "config/config_keys.h"

struct config {
	json_t *tree;      /* defaults merged with the files */
	json_t *overrides; /* config_set() */
	/* Text of non-string scalars handed out by config_get_string, so the
	 * returned pointer lives as long as cfg; guarded since getters are const
	 * and called from several threads. */
	json_t *text_cache;
	pthread_mutex_t lock;
};

#define MAX_DEPTH 64
/* Nodes a file may expand to through aliases (a "billion laughs" file is a few
 * hundred bytes): the same bound as capture bodies (docs/API.md "Limits"). */
#define MAX_NODES 100000

/* Walks "a.b.c" down nested objects; borrowed result or NULL. */
static json_t *path_get(json_t *root, const char *key)
{
	char part[256];
	json_t *cur = root;
	const char *p = key;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part) || !json_is_object(cur))
			return NULL;
		memcpy(part, p, n);
		part[n] = 0;
		cur = json_object_get(cur, part);
		p = dot ? dot + 1 : p + n;
	}
	return cur;
}

/* Sets "a.b.c", creating (or replacing non-object) parents; value stolen. */
static int path_set(json_t *root, const char *key, json_t *value)
{
	char part[256];
	json_t *cur = root;
	const char *p = key;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part) || n == 0) {
			json_decref(value);
			return -EINVAL;
		}
		memcpy(part, p, n);
		part[n] = 0;
		if (!dot)
			return json_object_set_new(cur, part, value) ? -ENOMEM : 0;
		json_t *next = json_object_get(cur, part);
		if (!json_is_object(next)) {
			next = json_object();
			if (!next || json_object_set_new(cur, part, next)) {
				json_decref(value);
				return -ENOMEM;
			}
		}
		cur = next;
		p = dot + 1;
	}
}

int config_env_name(const char *key, char *buf, size_t len)
{
	static const char prefix[] = "SKYDIVE_";
	size_t k = strlen(key);
	if (sizeof(prefix) + k > len)
		return -ENAMETOOLONG;
	memcpy(buf, prefix, sizeof(prefix) - 1);
	char *o = buf + sizeof(prefix) - 1;
	for (size_t i = 0; i < k; i++)
		o[i] =
		    (key[i] == '.' || key[i] == '-') ? '_' : (char)toupper((unsigned char)key[i]);
	o[k] = 0;
	return 0;
}

static const char *env_get(const char *key)
{
	char name[300];
	if (config_env_name(key, name, sizeof(name)))
		return NULL;
	return getenv(name);
}

/* ---- YAML -> JSON ------------------------------------------------------ */

/* Plain scalars get their YAML 1.1 type, as viper's yaml.v2 did: 0x1f, 1.5 are numbers. */
static const struct yaml_json_limits yaml_limits = {
    .max_depth = MAX_DEPTH,
    .max_nodes = MAX_NODES,
    .flags = YAML_JSON_REALS | YAML_JSON_INT_PREFIX,
};

/* Parses one file into a JSON object (empty file: empty object). */
static json_t *load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		const yaml_mark_t *m = parser.problem ? &parser.problem_mark : &parser.context_mark;
		snprintf(err, errlen, "%s:%zu:%zu: %s%s%s", path, m->line + 1, m->column + 1,
		         parser.problem ? parser.problem : "invalid YAML",
		         parser.context ? " " : "", parser.context ? parser.context : "");
		goto out;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		out = json_object();
	} else if (root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s:%zu:%zu: the top level must be a mapping of keys", path,
		         root->start_mark.line + 1, root->start_mark.column + 1);
	} else {
		int over = 0;
		out = yaml_json(&doc, root, &yaml_limits, &over);
		if (!out && over)
			snprintf(err, errlen, "%s: expands beyond %d nodes (aliases)", path, MAX_NODES);
		else if (!out)
			snprintf(err, errlen, "%s: nested deeper than %d levels or out of memory", path,
			         MAX_DEPTH);
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&parser);
	fclose(f);
	return out;
}

/* ---- defaults ---------------------------------------------------------- */

/* Skydive 0.28's defaults (config/config.go), as YAML so they read like the
 * configuration file they stand for. host_id is added from the hostname.
 * Not Skydive's analyzer.auth.{api,cluster}.backend: noauth: an unset backend must
 * stay visible as unset, so a non-loopback listener without one is refused
 * (src/auth/auth.h). Not Skydive's flow.protocol: udp either: flows travel on the
 * authenticated WebSocket link unless the analyzer is asked to take Skydive agents'
 * UDP flows too (src/analyzer/flow_udp.h). */
static const char default_yaml[] =
    "analyzers: [127.0.0.1:8082]\n"
    "agent:\n"
    "  listen: 127.0.0.1:8081\n"
    "  topology:\n"
    "    probes: [ovsdb]\n"
    "    netlink: {metrics_update: 30}\n"
    "    netns: {run_path: /var/run/netns}\n"
    "    socketinfo: {host_update: 10}\n"
    "  flow:\n"
    "    probes: [gopacket, pcapsocket]\n"
    "    sflow: {bind_address: 127.0.0.1, port_min: 6345, port_max: 6355}\n"
    "    pcapsocket: {bind_address: 127.0.0.1, min_port: 8100, "
    "max_port: 8132}\n"
    "    netflow: {bind_address: 127.0.0.1, port_min: 6365, port_max: 6375}\n"
    "    ebpf: {polling_rate: 16000}\n"
    "  capture: {stats_update: 1}\n"
    "analyzer:\n"
    "  listen: 127.0.0.1:8082\n"
    "  flow: {backend: memory, max_buffer_size: 100000}\n"
    "  topology: {backend: memory, probes: []}\n"
    "flow:\n"
    "  expire: 600\n"
    "  update: 60\n"
    "  max_entries: 500000\n"
    "  protocol: websocket\n"
    "  default_layer_key_mode: L2\n"
    "  application_timeout: {arp: 10, dns: 10}\n"
    "http:\n"
    "  ws:\n"
    "    ping_delay: 2\n"
    "    pong_timeout: 5\n"
    "    queue_size: 10000\n"
    "    enable_write_compression: true\n"
    "    bulk_maxmsgs: 100\n"
    "    bulk_maxdelay: 2\n"
    "logging: {level: INFO, backends: [stderr]}\n"
    "tls: {require_client_cert: false}\n"
    "cache: {expire: 300, cleanup: 30}\n";

static json_t *defaults_tree(void)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	json_t *out = NULL;
	if (!yaml_parser_initialize(&parser))
		return NULL;
	yaml_parser_set_input_string(&parser, (const unsigned char *)default_yaml,
	                             sizeof(default_yaml) - 1);
	if (yaml_parser_load(&parser, &doc)) {
		out = yaml_json(&doc, yaml_document_get_root_node(&doc), &yaml_limits, NULL);
		yaml_document_delete(&doc);
	} else {
		log_error("config: built-in defaults do not parse: %s", parser.problem);
	}
	yaml_parser_delete(&parser);
	char host[HOST_NAME_MAX + 1] = "localhost";
	if (gethostname(host, sizeof(host)) == 0)
		host[sizeof(host) - 1] = 0;
	if (out && json_object_set_new(out, "host_id", json_string(host))) {
		json_decref(out);
		out = NULL;
	}
	return out;
}

/* ---- life cycle -------------------------------------------------------- */

struct config *config_new(void)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return NULL;
	pthread_mutex_init(&cfg->lock, NULL);
	cfg->tree = defaults_tree();
	cfg->overrides = json_object();
	cfg->text_cache = json_object();
	if (!cfg->tree || !cfg->overrides || !cfg->text_cache) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

struct config *config_load(const char *const *files, size_t n, char *err, size_t errlen)
{
	struct config *cfg = config_new();
	if (!cfg) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *def = CONFIG_DEFAULT_FILE;
	if (n == 0) {
		if (access(def, F_OK) != 0)
			return cfg;
		files = &def;
		n = 1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *t = load_file(files[i], err, errlen);
		if (!t) {
			config_free(cfg);
			return NULL;
		}
		config_keys_check(t, files[i]); /* warnings only: a key nobody reads */
		int rc = json_object_update_recursive(cfg->tree, t);
		json_decref(t);
		if (rc) {
			snprintf(err, errlen, "%s: out of memory", files[i]);
			config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	json_decref(cfg->tree);
	json_decref(cfg->overrides);
	json_decref(cfg->text_cache);
	pthread_mutex_destroy(&cfg->lock);
	free(cfg);
}

int config_set(struct config *cfg, const char *key, json_t *value)
{
	if (!value)
		return -ENOMEM;
	json_object_del(cfg->text_cache, key);
	return path_set(cfg->overrides, key, value);
}

int config_set_string(struct config *cfg, const char *key, const char *value)
{
	return config_set(cfg, key, json_string(value));
}

/* ---- getters ----------------------------------------------------------- */

/* The value from overrides or files/defaults, ignoring the environment. */
static json_t *tree_get(const struct config *cfg, const char *key)
{
	json_t *v = path_get(cfg->overrides, key);
	return v ? v : path_get(cfg->tree, key);
}

const json_t *config_get_json(const struct config *cfg, const char *key)
{
	return tree_get(cfg, key);
}

const char *config_get_string(const struct config *cfg, const char *key, const char *def)
{
	json_t *v = path_get(cfg->overrides, key);
	if (!v) {
		const char *e = env_get(key);
		if (e)
			return e;
		v = path_get(cfg->tree, key);
	}
	if (!v || json_is_null(v))
		return def;
	if (json_is_string(v))
		return json_string_value(v);
	struct config *c = (struct config *)cfg; /* the cache only */
	const char *s = def;
	pthread_mutex_lock(&c->lock);
	json_t *t = json_object_get(c->text_cache, key);
	if (!t) {
		char *txt = json_is_true(v)    ? strdup("true")
		            : json_is_false(v) ? strdup("false")
		                               : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (txt && !json_object_set_new(c->text_cache, key, json_string(txt)))
			t = json_object_get(c->text_cache, key);
		free(txt);
	}
	if (t)
		s = json_string_value(t);
	pthread_mutex_unlock(&c->lock);
	return s;
}

static int parse_int_text(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	while (isspace((unsigned char)*end))
		end++;
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int64_t config_get_int(const struct config *cfg, const char *key, int64_t def)
{
	json_t *v = path_get(cfg->overrides, key);
	const char *text = NULL;
	int64_t out;
	if (!v) {
		text = env_get(key);
		if (!text)
			v = path_get(cfg->tree, key);
	}
	if (!text) {
		if (!v || json_is_null(v))
			return def;
		if (json_is_integer(v))
			return json_integer_value(v);
		if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v))
			return (int64_t)json_real_value(v);
		text = json_is_string(v) ? json_string_value(v) : "";
	}
	if (parse_int_text(text, &out) == 0)
		return out;
	log_warn("config: %s='%s' is not an integer, using %lld", key, text, (long long)def);
	return def;
}

/* ms from ns or s*1000, truncated, but a nonzero value under 1 ms is 1 ms: several
 * keys read 0 as "off" or "the default", which a tiny positive value never meant. */
static int64_t trunc_ms(double ms)
{
	if (ms > 0 && ms < 1)
		return 1;
	if (ms < 0 && ms > -1)
		return -1;
	return (int64_t)ms;
}

int config_parse_duration(const char *text, int64_t *ms)
{
	if (!text)
		return -EINVAL;
	int64_t sec;
	if (parse_int_text(text, &sec) == 0) { /* as config_get_int reads it */
		if (sec > INT64_MAX / 1000 || sec < INT64_MIN / 1000)
			return -ERANGE;
		*ms = sec * 1000;
		return 0;
	}
	char *end;
	errno = 0;
	double d = strtod(text, &end);
	if (end != text && !*end) {
		if (errno || !isfinite(d) || fabs(d) >= 9.2e15)
			return -ERANGE;
		*ms = trunc_ms(d * 1000);
		return 0;
	}
	int64_t ns;
	int r = duration_parse(text, &ns);
	if (r)
		return r;
	*ms = ns % 1000000 && ns / 1000000 == 0 ? (ns > 0 ? 1 : -1) : ns / 1000000;
	return 0;
}

int64_t config_get_duration(const struct config *cfg, const char *key, int64_t def_ms)
{
	const char *text = config_get_string(cfg, key, NULL);
	int64_t ms;
	if (!text)
		return def_ms;
	if (config_parse_duration(text, &ms) == 0)
		return ms;
	log_warn("config: %s='%s' is not a duration (seconds, or Go's 1h30m, 500ms), using %lld ms",
		 key, text, (long long)def_ms);
	return def_ms;
}

static int parse_bool_text(const char *s, int def)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]))
			return 1;
		if (!strcasecmp(s, no[i]))
			return 0;
	}
	return def;
}

int config_get_bool(const struct config *cfg, const char *key, int def)
{
	json_t *v = path_get(cfg->overrides, key);
	if (!v) {
		const char *e = env_get(key);
		if (e)
			return parse_bool_text(e, def);
		v = path_get(cfg->tree, key);
	}
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v))
		return parse_bool_text(json_string_value(v), def);
	return def;
}

/* Appends the space-separated words of s to a. */
static int split_words(json_t *a, const char *s)
{
	while (s && *s) {
		while (isspace((unsigned char)*s))
			s++;
		const char *w = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (s > w && json_array_append_new(a, json_stringn(w, (size_t)(s - w))))
			return -ENOMEM;
	}
	return 0;
}

json_t *config_get_list(const struct config *cfg, const char *key, const char *def)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	json_t *v = path_get(cfg->overrides, key);
	const char *text = NULL;
	int rc = 0;
	if (!v) {
		text = env_get(key);
		if (!text)
			v = path_get(cfg->tree, key);
	}
	if (!text && json_is_array(v)) {
		size_t i;
		json_t *it;
		json_array_foreach(v, i, it)
		{
			if (json_is_string(it)) {
				rc = json_array_append(a, it);
			} else {
				char *s = json_dumps(it, JSON_ENCODE_ANY | JSON_COMPACT);
				rc = s ? json_array_append_new(a, json_string(s)) : -1;
				free(s);
			}
			if (rc)
				break;
		}
	} else if (text) {
		rc = split_words(a, text);
	} else if (json_is_string(v)) {
		rc = split_words(a, json_string_value(v));
	} else if (v && !json_is_null(v)) {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		rc = s ? json_array_append_new(a, json_string(s)) : -1;
		free(s);
	} else {
		rc = split_words(a, def);
	}
	if (rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

int config_split_addr(const char *addr, char *host, size_t hostlen, int *port)
{
	const char *p;
	size_t hl = 0;
	const char *h = "";
	if (!addr)
		return -EINVAL;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hl = (size_t)(close - h);
		p = close + 2;
	} else {
		const char *colon = strrchr(addr, ':');
		if (colon) {
			if (strchr(addr, ':') != colon)
				return -EINVAL; /* a bare IPv6 address needs brackets */
			h = addr;
			hl = (size_t)(colon - addr);
			p = colon + 1;
		} else {
			p = addr;
		}
	}
	int64_t v;
	if (hl >= hostlen || parse_int_text(p, &v) || v < 0 || v > 65535 || !*p ||
	    !isdigit((unsigned char)*p))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (int)v;
	return 0;
}
