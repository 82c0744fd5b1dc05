/* config_keys.c - the configuration keys this build reads (config_keys.h).
 *
 * Keep this table, the code's config_get_* calls and etc/skydive.yml.example
 * the same set: tests/integration/config_keys.sh compares the three. */
#include "config/config_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* "*" stands for one segment of any name (an auth backend's). */
enum { KEY_LEAF = 0, KEY_TREE = 1 }; /* KEY_TREE: free-form below the key */

static const struct {
	const char *key;
	int kind;
} keys[] = {
    {"host_id", KEY_LEAF},
    {"analyzers", KEY_LEAF},
    {"logging.level", KEY_LEAF},
    /* etcd (src/cluster/cluster.h); the embedded server's keys are read to be refused */
    {"etcd.servers", KEY_LEAF},
    {"etcd.client_timeout", KEY_LEAF},
    {"etcd.lease_ttl", KEY_LEAF},
    {"etcd.username", KEY_LEAF},
    {"etcd.password", KEY_LEAF},
    {"etcd.ca_cert", KEY_LEAF},
    {"etcd.client_cert", KEY_LEAF},
    {"etcd.client_key", KEY_LEAF},
    {"etcd.embedded", KEY_LEAF},
    {"etcd.listen", KEY_LEAF},
    {"etcd.data_dir", KEY_LEAF},
    {"etcd.peers", KEY_TREE},
    {"etcd.max_wal_files", KEY_LEAF},
    {"etcd.max_snap_files", KEY_LEAF},
    {"etcd.name", KEY_LEAF},
    {"etcd.debug", KEY_LEAF},
    /* analyzer */
    {"analyzer.listen", KEY_LEAF},
    {"analyzer.allow_root", KEY_LEAF},
    {"analyzer.allow_plain_http", KEY_LEAF},
    {"analyzer.data_dir", KEY_LEAF},
    {"analyzer.alert.allow_commands", KEY_LEAF},
    {"analyzer.alert.action_queue", KEY_LEAF},
    {"analyzer.alert.action_attempts", KEY_LEAF},
    {"analyzer.alert.action_timeout", KEY_LEAF},
    {"analyzer.auth.api.backend", KEY_LEAF},
    {"analyzer.auth.api.tls_client_identity", KEY_LEAF},
    {"analyzer.auth.cluster.backend", KEY_LEAF},
    {"analyzer.auth.cluster.username", KEY_LEAF},
    {"analyzer.auth.cluster.password", KEY_LEAF},
    {"analyzer.auth.token_ttl", KEY_LEAF},
    {"analyzer.auth.max_tokens", KEY_LEAF},
    {"analyzer.auth.throttle.failures", KEY_LEAF},
    {"analyzer.auth.throttle.delay", KEY_LEAF},
    {"analyzer.auth.throttle.max_delay", KEY_LEAF},
    {"analyzer.topology.history.max_age", KEY_LEAF},
    {"analyzer.topology.history.max_bytes", KEY_LEAF},
    {"analyzer.topology.history.persist", KEY_LEAF},
    {"analyzer.storage.enabled", KEY_LEAF},
    {"analyzer.storage.fsync", KEY_LEAF},
    {"analyzer.storage.max_age", KEY_LEAF},
    {"analyzer.storage.max_bytes", KEY_LEAF},
    {"analyzer.storage.segment_duration", KEY_LEAF},
    {"analyzer.flow.backend", KEY_LEAF},
    {"analyzer.replication.expire", KEY_LEAF},
    {"analyzer.flow.max_buffer_size", KEY_LEAF},
    {"analyzer.flow.max_age", KEY_LEAF},
    {"analyzer.flow.max_flows", KEY_LEAF},
    {"analyzer.flow.raw_max_bytes", KEY_LEAF},
    {"analyzer.flow.stats_max_captures", KEY_LEAF},
    {"analyzer.flow.stats_max_hosts", KEY_LEAF},
    {"analyzer.flow_queue", KEY_LEAF},
    {"analyzer.flow_queue_bytes", KEY_LEAF},
    {"analyzer.graph_queue", KEY_LEAF},
    {"analyzer.graph_queue_bytes", KEY_LEAF},
    {"analyzer.query_queue", KEY_LEAF},
    {"analyzer.query_workers", KEY_LEAF},
    {"analyzer.gremlin.max_items", KEY_LEAF},
    {"analyzer.gremlin.max_results", KEY_LEAF},
    {"analyzer.gremlin.timeout", KEY_LEAF},
    {"analyzer.pcap.max_bytes", KEY_LEAF},
    {"analyzer.startup.capture_gremlin", KEY_LEAF},
    {"analyzer.startup.capture_bpf", KEY_LEAF},
    {"analyzer.startup.capture_type", KEY_LEAF},
    /* agent */
    {"agent.listen", KEY_LEAF},
    {"agent.allow_plain_http", KEY_LEAF},
    {"agent.auth.api.backend", KEY_LEAF},
    {"agent.auth.api.tls_client_identity", KEY_LEAF},
    {"agent.auth.token_ttl", KEY_LEAF},
    {"agent.auth.max_tokens", KEY_LEAF},
    {"agent.auth.throttle.failures", KEY_LEAF},
    {"agent.auth.throttle.delay", KEY_LEAF},
    {"agent.auth.throttle.max_delay", KEY_LEAF},
    {"agent.auth.cluster.username", KEY_LEAF},
    {"agent.auth.cluster.password", KEY_LEAF},
    {"agent.user", KEY_LEAF},
    {"agent.drop_capabilities", KEY_LEAF},
    {"agent.metadata", KEY_TREE},
    {"agent.topology.probes", KEY_LEAF},
    {"agent.topology.netlink.metrics_update", KEY_LEAF},
    {"agent.topology.netns.run_path", KEY_LEAF},
    {"agent.topology.socketinfo.host_update", KEY_LEAF},
    {"agent.topology.lldp.interfaces", KEY_LEAF},
    {"agent.topology.docker.url", KEY_LEAF},
    {"agent.topology.docker.netns.run_path", KEY_LEAF},
    {"agent.topology.runc.run_path", KEY_LEAF},
    {"agent.capture.stats_update", KEY_LEAF},
    {"agent.capture.workers", KEY_LEAF},
    {"agent.flow.queue_size", KEY_LEAF},
    {"agent.flow.pcapsocket.bind_address", KEY_LEAF},
    {"agent.flow.pcapsocket.min_port", KEY_LEAF},
    {"agent.flow.pcapsocket.max_port", KEY_LEAF},
    {"agent.flow.sflow.bind_address", KEY_LEAF},
    {"agent.flow.sflow.port_min", KEY_LEAF},
    {"agent.flow.sflow.port_max", KEY_LEAF},
    {"agent.flow.netflow.bind_address", KEY_LEAF},
    {"agent.flow.netflow.port_min", KEY_LEAF},
    {"agent.flow.netflow.port_max", KEY_LEAF},
    {"agent.flow.ebpf.polling_rate", KEY_LEAF},
    /* flow history backends (analyzer.flow.backend names one) */
    {"storage.*.driver", KEY_LEAF},
    {"storage.*.hosts", KEY_LEAF},
    {"storage.*.database", KEY_LEAF},
    {"storage.*.table", KEY_LEAF},
    {"storage.*.cluster", KEY_LEAF},
    {"storage.*.username", KEY_LEAF},
    {"storage.*.password", KEY_LEAF},
    {"storage.*.client_timeout", KEY_LEAF},
    {"storage.*.bulk_maxdelay", KEY_LEAF},
    {"storage.*.max_age", KEY_LEAF},
    /* authentication backends and authorization */
    {"auth.*.type", KEY_LEAF},
    {"auth.*.role", KEY_LEAF},
    {"auth.*.file", KEY_LEAF},
    {"auth.*.users", KEY_TREE},
    {"rbac.policy", KEY_LEAF},
    {"rbac.policy_file", KEY_LEAF},
    /* flows */
    {"flow.expire", KEY_LEAF},
    {"flow.protocol", KEY_LEAF},
    {"flow.update", KEY_LEAF},
    {"flow.max_entries", KEY_LEAF},
    {"flow.default_layer_key_mode", KEY_LEAF},
    {"flow.application_ports", KEY_TREE}, /* tcp, udp: the agent refuses others */
    {"flow.application_timeout.arp", KEY_LEAF},
    {"flow.application_timeout.dns", KEY_LEAF},
    /* HTTP, TLS, OVS */
    {"http.max_connections", KEY_LEAF},
    {"http.header_timeout", KEY_LEAF},
    {"http.keepalive_timeout", KEY_LEAF},
    {"http.cors.allowed_origins", KEY_LEAF},
    {"http.ws.ping_delay", KEY_LEAF},
    {"http.ws.pong_timeout", KEY_LEAF},
    {"http.ws.queue_size", KEY_LEAF},
    {"http.ws.max_connections_per_address", KEY_LEAF},
    {"http.ws.max_message_size", KEY_LEAF},
    {"tls.server_cert", KEY_LEAF},
    {"tls.server_key", KEY_LEAF},
    {"tls.ca_cert", KEY_LEAF},
    {"tls.client_cert", KEY_LEAF},
    {"tls.client_key", KEY_LEAF},
    {"tls.require_client_cert", KEY_LEAF},
    {"ovs.ovsdb", KEY_LEAF},
    {"ovs.oflow.enable", KEY_LEAF},
    {"ovs.oflow.native", KEY_LEAF}, /* refused when true: agent_config.c */
    {"ovs.oflow.openflow_versions", KEY_LEAF},
    {"ovs.oflow.address", KEY_TREE}, /* bridge name -> switch address */
    {"ovs.oflow.cert", KEY_LEAF},    /* refused when set (no TLS to switches) */
    {"ovs.oflow.key", KEY_LEAF},
    {"ovs.oflow.ca", KEY_LEAF},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

size_t config_keys_count(void)
{
	return NKEYS;
}

const char *config_keys_get(size_t i, int *tree)
{
	if (i >= NKEYS)
		return NULL;
	if (tree)
		*tree = keys[i].kind == KEY_TREE;
	return keys[i].key;
}

/* Length of the dotted segment at s. */
static size_t seg_len(const char *s)
{
	const char *d = strchr(s, '.');
	return d ? (size_t)(d - s) : strlen(s);
}

/* 1 when path is pat (KEY_LEAF) or pat or under it (KEY_TREE). */
static int key_matches(const char *pat, int kind, const char *path)
{
	for (;;) {
		size_t pl = seg_len(pat), l = seg_len(path);
		if (!(pl == 1 && *pat == '*' && l) && (pl != l || memcmp(pat, path, l)))
			return 0;
		pat += pl;
		path += l;
		if (!*pat)
			return !*path || (kind == KEY_TREE && *path == '.');
		if (!*path)
			return 0;
		pat++;
		path++;
	}
}

int config_key_known(const char *path)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (key_matches(keys[i].key, keys[i].kind, path))
			return 1;
	return 0;
}

/* Edit distance of a and b (each at most 127 bytes considered). */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 127)
		la = 127;
	if (lb > 127)
		lb = 127;
	size_t row[128];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* pat with each "*" taken from path's segment at the same place, into buf. */
static void instantiate(const char *pat, const char *path, char *buf, size_t len)
{
	size_t o = 0;
	while (*pat && o + 1 < len) {
		size_t pl = seg_len(pat), l = seg_len(path);
		const char *src = pl == 1 && *pat == '*' && l ? path : pat;
		size_t n = src == path ? l : pl;
		if (n > len - 1 - o)
			n = len - 1 - o;
		memcpy(buf + o, src, n);
		o += n;
		pat += pl;
		path += l;
		if (*path == '.')
			path++;
		if (*pat == '.' && o + 1 < len) {
			buf[o++] = '.';
			pat++;
		}
	}
	buf[o] = 0;
}

const char *config_key_suggest(const char *path, char *buf, size_t len)
{
	size_t best = (size_t)-1;
	char cand[256];
	for (size_t i = 0; i < NKEYS; i++) {
		instantiate(keys[i].key, path, cand, sizeof(cand));
		/* a tree key: compare with as many of path's segments as it has */
		size_t d = distance(path, cand);
		if (keys[i].kind == KEY_TREE && !strncmp(path, cand, strlen(cand)))
			continue; /* known, not a typo */
		if (d < best) {
			best = d;
			snprintf(buf, len, "%s", cand);
		}
	}
	/* close: a typo or two, or a slip within a quarter of the key */
	size_t l = strlen(path);
	return best <= 2 || best * 4 <= l ? buf : NULL;
}

/* 1 when path is a known key's parent (analyzer.startup, a map left empty). */
static int key_parent(const char *path)
{
	size_t l = strlen(path);
	char cand[256];
	for (size_t i = 0; i < NKEYS; i++) {
		instantiate(keys[i].key, path, cand, sizeof(cand));
		if (!strncmp(cand, path, l) && cand[l] == '.')
			return 1;
	}
	return 0;
}

static size_t walk(const json_t *v, char *path, size_t plen, size_t cap, const char *file)
{
	if (json_is_object(v) && json_object_size(v) && !(plen && config_key_known(path))) {
		size_t n = 0;
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c) {
			size_t kl = strlen(k);
			if (plen + 1 + kl + 1 > cap) {
				log_warn("config: %s: key '%.64s...' too long, ignored", file, path);
				n++;
				continue;
			}
			size_t o = plen;
			if (o)
				path[o++] = '.';
			memcpy(path + o, k, kl + 1);
			n += walk(c, path, o + kl, cap, file);
			path[plen] = 0;
		}
		return n;
	}
	if (!plen || config_key_known(path))
		return 0;
	if ((json_is_null(v) || json_is_object(v)) && key_parent(path))
		return 0; /* "startup:" with its keys commented out */
	char sug[256];
	const char *s = config_key_suggest(path, sug, sizeof(sug));
	log_warn("config: %s: unknown key '%s' (this build does not read it)%s%s%s", file, path,
		 s ? "; did you mean '" : "", s ? s : "", s ? "'?" : "");
	return 1;
}

size_t config_keys_check(const json_t *tree, const char *file)
{
	char path[512] = "";
	return walk(tree, path, 0, sizeof(path), file);
}
