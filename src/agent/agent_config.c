/* agent_config.c - the agent's options from the Skydive configuration keys. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/captures.h"
#include "agent/ebpf_capture.h"
#include "common/base64.h"
#include "common/log.h"
#include "config/config.h"
#include "flow/appmap.h"
#include "topology/topology.h"

/* flow.application_ports: {tcp: {PORT: NAME ...}, udp: {...}} as Skydive's
 * (flow/application.go: names upper-cased, the source port's first). Skydive
 * logs a port that is no number and goes on; here any bad entry stops the
 * agent with its name. *out stays NULL when the key is not set. */
static int load_app_ports(const struct config *cfg, struct appmap **out, char *err, size_t errlen)
{
	const json_t *ap = config_get_json(cfg, "flow.application_ports");
	if (!ap || json_is_null(ap))
		return 0;
	if (!json_is_object(ap)) {
		snprintf(err, errlen, "flow.application_ports must be a map of tcp/udp to "
				      "{port: name}");
		return -EINVAL;
	}
	struct appmap *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	const char *proto;
	const json_t *ports;
	json_object_foreach((json_t *)ap, proto, ports) {
		uint8_t l4 = !strcmp(proto, "tcp") ? 6 : !strcmp(proto, "udp") ? 17 : 0;
		if (!l4 || !(json_is_object(ports) || json_is_null(ports))) {
			snprintf(err, errlen, "flow.application_ports.%s: expected tcp or udp, "
					      "each a map of port: name", proto);
			free(m);
			return -EINVAL;
		}
		const char *port;
		const json_t *name;
		json_object_foreach((json_t *)ports, port, name) {
			char *end;
			long p = strtol(port, &end, 10);
			const char *s = json_string_value(name);
			int r = *port && !*end && p >= 0 && p <= 65535 && s
					? appmap_add(m, l4, (uint16_t)p, s)
					: -EINVAL;
			if (r) {
				snprintf(err, errlen, "flow.application_ports.%s.%s: %s", proto, port,
					 r == -ENOSPC ? "more than 256 ports"
					 : s ? "expected a port 0..65535 and a name of 1..23 characters"
					     : "the name must be a string");
				free(m);
				return -EINVAL;
			}
		}
	}
	*out = m;
	return 0;
}

/* agent.topology.lldp.interfaces (Skydive's key): the links the LLDP probe
 * listens on. Left out, it listens on every UP Ethernet link as Skydive's auto
 * discovery; set to a value that names no link ("", [] or a name no link can
 * have) it is refused, since taking it for "every link" would listen where
 * nobody asked. 0 or -EINVAL/-ENOMEM with err filled. */
static int agent_config_lldp(struct agent_config *ac, const struct config *cfg, char *err,
			     size_t errlen)
{
	static const char key[] = "agent.topology.lldp.interfaces";
	char env[128];
	int set = config_get_json(cfg, key) != NULL ||
		  (config_env_name(key, env, sizeof(env)) == 0 && getenv(env));
	ac->lldp_list = config_get_list(cfg, key, NULL);
	if (!ac->lldp_list) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t n = json_array_size(ac->lldp_list);
	if (set && !n) {
		snprintf(err, errlen, "%s names no interface: list the links to listen on, or "
				      "leave the key out to listen on every Ethernet link", key);
		return -EINVAL;
	}
	ac->lldp_ifs = calloc(n ? n : 1, sizeof(*ac->lldp_ifs));
	if (!ac->lldp_ifs) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(json_array_get(ac->lldp_list, i));
		if (!name || topology_lldp_check_ifname(name) < 0) {
			snprintf(err, errlen, "%s: \"%s\" names no interface (1 to 15 bytes, no "
					      "'/', ':' or blanks)", key, name ? name : "");
			return -EINVAL;
		}
		ac->lldp_ifs[i] = name;
	}
	if (n && !ac->opts.lldp)
		log_warn("%s is set but agent.topology.probes does not name lldp: no LLDP probe",
			 key);
	ac->opts.lldp_interfaces = ac->lldp_ifs;
	ac->opts.n_lldp_interfaces = n;
	return 0;
}

/* Skydive's ovs.oflow keys (etc/skydive.yml.default, ovs_of.go NewOvsOfProbeHandler):
 * rules read with ovs-ofctl; what we do not do (the native OpenFlow client, TLS to
 * switches) is refused rather than ignored. */
static int agent_config_oflow(struct agent_config *ac, const struct config *cfg, int ovsdb,
			      char *err, size_t errlen)
{
	struct agent_opts *o = &ac->opts;
	o->oflow = config_get_bool(cfg, "ovs.oflow.enable", 0);
	if (!o->oflow)
		return 0;
	if (!ovsdb) {
		snprintf(err, errlen, "ovs.oflow.enable needs the ovsdb probe in "
				      "agent.topology.probes (the bridges come from it)");
		return -EINVAL;
	}
	if (config_get_bool(cfg, "ovs.oflow.native", 0)) {
		snprintf(err, errlen, "ovs.oflow.native: the native OpenFlow client is not "
				      "implemented in this build; rules are read with ovs-ofctl "
				      "(leave native false)");
		return -EINVAL;
	}
	static const char *const tls_keys[] = {"ovs.oflow.cert", "ovs.oflow.key", "ovs.oflow.ca"};
	for (size_t i = 0; i < sizeof(tls_keys) / sizeof(tls_keys[0]); i++) {
		const char *v = config_get_string(cfg, tls_keys[i], "");
		if (*v) {
			snprintf(err, errlen, "%s: TLS connections to switches (ssl: addresses) are "
					      "not supported in this build",
				 tls_keys[i]);
			return -EINVAL;
		}
	}
	json_t *vers = config_get_list(cfg, "ovs.oflow.openflow_versions", "OpenFlow10");
	if (!vers) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t n = json_array_size(vers), len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_array_get(vers, i));
		/* the names ovs-ofctl -O takes, OpenFlow 1.0 to 1.5 */
		if (!v || strlen(v) != 10 || strncmp(v, "OpenFlow1", 9) || v[9] < '0' || v[9] > '5') {
			snprintf(err, errlen, "ovs.oflow.openflow_versions item #%zu: '%.40s' is not "
					      "OpenFlow10..OpenFlow15", i, v ? v : "(not a string)");
			json_decref(vers);
			return -EINVAL;
		}
		len += strlen(v) + 1;
	}
	if (!n) {
		snprintf(err, errlen, "ovs.oflow.openflow_versions names no version");
		json_decref(vers);
		return -EINVAL;
	}
	ac->oflow_versions = calloc(1, len);
	if (!ac->oflow_versions) {
		json_decref(vers);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(ac->oflow_versions, ",");
		strcat(ac->oflow_versions, json_string_value(json_array_get(vers, i)));
	}
	json_decref(vers);
	o->oflow_versions = ac->oflow_versions;
	const json_t *addr = config_get_json(cfg, "ovs.oflow.address");
	if (addr && !json_is_null(addr)) {
		if (!json_is_object(addr)) {
			snprintf(err, errlen, "ovs.oflow.address must map bridge names to switch "
					      "addresses");
			return -EINVAL;
		}
		const char *br;
		const json_t *v;
		json_object_foreach((json_t *)addr, br, v)
		{
			const char *s = json_string_value(v);
			if (s && !strncmp(s, "ssl:", 4)) {
				snprintf(err, errlen, "ovs.oflow.address.%.60s: '%.80s': TLS "
						      "connections to switches are not supported in "
						      "this build (unix:PATH or tcp:HOST:PORT)",
					 br, s);
				return -EINVAL;
			}
			if (!s || (strncmp(s, "unix:", 5) && strncmp(s, "tcp:", 4)) || !s[5]) {
				snprintf(err, errlen, "ovs.oflow.address.%.60s: '%.80s' is not a switch "
						      "address (unix:PATH or tcp:HOST:PORT)",
					 br, s ? s : "(not a string)");
				return -EINVAL;
			}
		}
		o->oflow_address = addr;
	}
	return 0;
}

/* The docker and runc probes' keys, with Skydive's defaults (config/config.go). A
 * docker URL libcurl cannot reach that way, or a run path that is not absolute, is
 * refused. 0 or -EINVAL/-ENOMEM with err filled. */
static int agent_config_containers(struct agent_config *ac, const struct config *cfg,
				   int docker, char *err, size_t errlen)
{
	struct agent_opts *o = &ac->opts;
	if (docker) {
		o->docker_url = config_get_string(cfg, "agent.topology.docker.url",
						  "unix:///var/run/docker.sock");
		o->docker_netns_run_path = config_get_string(
			cfg, "agent.topology.docker.netns.run_path", "/var/run/docker/netns");
		if (topology_docker_url_check(o->docker_url, err, errlen) < 0)
			return -EINVAL;
		if (*o->docker_netns_run_path && *o->docker_netns_run_path != '/') {
			snprintf(err, errlen, "agent.topology.docker.netns.run_path must be an "
					      "absolute path (or empty), not '%.200s'",
				 o->docker_netns_run_path);
			return -EINVAL;
		}
	}
	static const char key[] = "agent.topology.runc.run_path";
	ac->runc_list = config_get_list(cfg, key, "/run/containerd/runc /run/runc /run/runc-ctrs");
	if (!ac->runc_list) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t n = json_array_size(ac->runc_list);
	ac->runc_paths = calloc(n ? n : 1, sizeof(*ac->runc_paths));
	if (!ac->runc_paths) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(ac->runc_list, i));
		if (!s || *s != '/') {
			snprintf(err, errlen, "%s: '%.200s' is not an absolute path", key,
				 s ? s : "");
			return -EINVAL;
		}
		ac->runc_paths[i] = s;
	}
	if (o->runc && !n) {
		snprintf(err, errlen, "%s names no directory, and agent.topology.probes names runc",
			 key);
		return -EINVAL;
	}
	o->runc_run_paths = ac->runc_paths;
	o->n_runc_run_paths = n;
	return 0;
}

int agent_config_load(struct agent_config *ac, const struct config *cfg, char *err,
		      size_t errlen)
{
	memset(ac, 0, sizeof(*ac));
	struct agent_opts *o = &ac->opts;
	o->host_id = config_get_string(cfg, "host_id", NULL);
	if (!o->host_id || !*o->host_id) {
		snprintf(err, errlen, "host_id is empty");
		return -EINVAL;
	}
	ac->analyzers = config_get_list(cfg, "analyzers", "127.0.0.1:8082");
	if (!ac->analyzers)
		goto oom;
	size_t n = json_array_size(ac->analyzers);
	ac->addrs = calloc(n ? n : 1, sizeof(*ac->addrs));
	if (!ac->addrs)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(ac->analyzers, i));
		if (s && *s)
			ac->addrs[o->n_analyzers++] = s;
	}
	o->analyzers = ac->addrs;
	/* tls.ca_cert / client_cert / client_key: checked now, so a wrong file stops the
	 * agent with its name instead of failing every handshake later. */
	if (tls_client_conf_load(&o->tls, cfg, err, errlen)) {
		agent_config_free(ac);
		return -EINVAL;
	}

	/* cluster credentials (Skydive's agent.auth.cluster.*), sent as Basic auth on the
	 * analyzer WebSockets; checked by the analyzer's cluster backend (auth.h) */
	const char *cu = config_get_string(cfg, "agent.auth.cluster.username", NULL);
	const char *cp = config_get_string(cfg, "agent.auth.cluster.password", "");
	if (cu && *cu && base64_basic_auth(o->cluster_auth, cu, cp, "agent.auth.cluster", err,
					   errlen)) {
		agent_config_free(ac);
		return -EINVAL;
	}

	const char *mu = config_get_string(cfg, "agent.topology.netlink.metrics_update", "30");
	int64_t ms;
	if (config_parse_duration(mu, &ms) || ms <= 0 || ms > 86400 * 1000) {
		snprintf(err, errlen,
			 "agent.topology.netlink.metrics_update must be a number of seconds "
			 "(or a Go duration), not '%s'",
			 mu);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->metrics_update_ms = ms;
	o->netns_run_path = config_get_string(cfg, "agent.topology.netns.run_path", "/var/run/netns");
	o->host_metadata = config_get_json(cfg, "agent.metadata");
	int64_t q = config_get_int(cfg, "http.ws.queue_size", 10000);
	o->queue_max = q > 0 ? (size_t)q : 10000;
	int64_t ping = config_get_duration(cfg, "http.ws.ping_delay", 2000) / 1000;
	o->ping_delay_s = ping > 0 && ping < 3600 ? (int)ping : 2;
	int64_t upd = config_get_duration(cfg, "flow.update", 60000) / 1000;
	int64_t exp = config_get_duration(cfg, "flow.expire", 600000) / 1000;
	int64_t maxe = config_get_int(cfg, "flow.max_entries", 500000);
	if (upd < 1 || upd > 86400 * 365 || exp < 1 || exp > 86400 * 365 || maxe < 1 ||
	    maxe > (1 << 30)) {
		snprintf(err, errlen, "flow.update and flow.expire must be 1..31536000 seconds and "
				      "flow.max_entries 1..1073741824");
		agent_config_free(ac);
		return -EINVAL;
	}
	o->flow_update_s = (uint32_t)upd;
	o->flow_expire_s = (uint32_t)exp;
	o->flow_max_entries = (uint32_t)maxe;
	const char *su = config_get_string(cfg, "agent.capture.stats_update", "1");
	if (config_parse_duration(su, &ms) || ms <= 0 || ms > 86400 * 1000) {
		snprintf(err, errlen,
			 "agent.capture.stats_update must be a number of seconds (or a Go "
			 "duration), not '%s'",
			 su);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->capture_stats_update_ms = ms;
	/* Threads per (capture, node) sharing a PACKET_FANOUT group (afpacket). */
	int64_t cw = config_get_int(cfg, "agent.capture.workers", 1);
	if (cw < 1 || cw > CAPMGR_MAX_WORKERS) {
		snprintf(err, errlen, "agent.capture.workers must be 1..%d, not %lld",
			 CAPMGR_MAX_WORKERS, (long long)cw);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->capture_workers = (uint32_t)cw;
	/* pcapsocket listener: agent.flow.pcapsocket.{bind_address,min_port,max_port} */
	int64_t psmin = config_get_int(cfg, "agent.flow.pcapsocket.min_port", 8100);
	int64_t psmax = config_get_int(cfg, "agent.flow.pcapsocket.max_port", 8132);
	if (psmin < 1 || psmax > 65535 || psmin > psmax) {
		snprintf(err, errlen, "agent.flow.pcapsocket: min_port..max_port must be a range in "
				      "1..65535, not %lld..%lld", (long long)psmin, (long long)psmax);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->pcapsocket_min_port = (uint16_t)psmin;
	o->pcapsocket_max_port = (uint16_t)psmax;
	o->pcapsocket_bind = config_get_string(cfg, "agent.flow.pcapsocket.bind_address", "127.0.0.1");
	/* sFlow collectors (sflow, ovssflow): agent.flow.sflow.{bind_address,port_min,port_max} */
	int64_t sfmin = config_get_int(cfg, "agent.flow.sflow.port_min", 6345);
	int64_t sfmax = config_get_int(cfg, "agent.flow.sflow.port_max", 6355);
	if (sfmin < 1 || sfmax > 65535 || sfmin > sfmax) {
		snprintf(err, errlen, "agent.flow.sflow: port_min..port_max must be a range in "
				      "1..65535, not %lld..%lld", (long long)sfmin, (long long)sfmax);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->sflow_port_min = (uint16_t)sfmin;
	o->sflow_port_max = (uint16_t)sfmax;
	o->sflow_bind = config_get_string(cfg, "agent.flow.sflow.bind_address", "127.0.0.1");
	/* NetFlow collectors (ovsnetflow): agent.flow.netflow.{bind_address,port_min,port_max} */
	int64_t nfmin = config_get_int(cfg, "agent.flow.netflow.port_min", 6365);
	int64_t nfmax = config_get_int(cfg, "agent.flow.netflow.port_max", 6375);
	if (nfmin < 1 || nfmax > 65535 || nfmin > nfmax) {
		snprintf(err, errlen, "agent.flow.netflow: port_min..port_max must be a range in "
				      "1..65535, not %lld..%lld", (long long)nfmin, (long long)nfmax);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->netflow_port_min = (uint16_t)nfmin;
	o->netflow_port_max = (uint16_t)nfmax;
	o->netflow_bind = config_get_string(cfg, "agent.flow.netflow.bind_address", "127.0.0.1");
	int64_t fq = config_get_int(cfg, "agent.flow.queue_size", 10000);
	o->flow_queue_max = fq > 0 ? (size_t)fq : 10000;
	if (load_app_ports(cfg, &ac->appmap, err, errlen)) {
		agent_config_free(ac);
		return -EINVAL;
	}
	o->appmap = ac->appmap;
	const char *km = config_get_string(cfg, "flow.default_layer_key_mode", "L2");
	if (flow_key_mode_parse(km, &o->default_key_mode)) {
		snprintf(err, errlen, "flow.default_layer_key_mode must be L2 or L3, not '%s'", km);
		agent_config_free(ac);
		return -EINVAL;
	}
	/* Skydive's default and unit: kernel flow entries read per second */
	int64_t pr = config_get_int(cfg, "agent.flow.ebpf.polling_rate", EBPF_CAPTURE_POLLING_RATE);
	if (pr < 1 || pr > 100000000) {
		snprintf(err, errlen, "agent.flow.ebpf.polling_rate must be 1..100000000 flows per "
				      "second, not %lld", (long long)pr);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->ebpf_polling_rate = (uint32_t)pr;
	/* Skydive's application_timeout: ARP and DNS flows expire sooner */
	int64_t ta = config_get_duration(cfg, "flow.application_timeout.arp", 10000) / 1000;
	int64_t td = config_get_duration(cfg, "flow.application_timeout.dns", 10000) / 1000;
	if (ta < 1 || ta > 86400 || td < 1 || td > 86400) {
		snprintf(err, errlen, "flow.application_timeout.arp and .dns must be 1..86400 "
				      "seconds");
		agent_config_free(ac);
		return -EINVAL;
	}
	o->arp_timeout_s = (uint32_t)ta;
	o->dns_timeout_s = (uint32_t)td;
	/* Skydive's default probe list is [ovsdb]; netlink and netns always run. */
	json_t *probes = config_get_list(cfg, "agent.topology.probes", "ovsdb");
	if (!probes)
		goto oom;
	int ovsdb = 0, socketinfo = 0, docker = 0;
	size_t i;
	json_t *p;
	json_array_foreach(probes, i, p) {
		const char *pn = json_string_value(p);
		if (pn && !strcmp(pn, "ovsdb"))
			ovsdb = 1;
		else if (pn && !strcmp(pn, "socketinfo"))
			socketinfo = 1;
		else if (pn && !strcmp(pn, "lldp"))
			o->lldp = 1;
		else if (pn && !strcmp(pn, "docker"))
			docker = 1;
		else if (pn && !strcmp(pn, "runc"))
			o->runc = 1;
		else if (!pn || (strcmp(pn, "netlink") && strcmp(pn, "netns"))) {
			/* Skydive's other probes (lxd, k8s, libvirt, ...): a probe asked
			 * for and not run would be a graph silently missing its part */
			snprintf(err, errlen,
				 "agent.topology.probes item #%zu: '%.40s' is not a probe of this build "
				 "(netlink, netns, ovsdb, socketinfo, lldp, docker, runc)",
				 i, pn ? pn : "(not a string)");
			json_decref(probes);
			agent_config_free(ac);
			return -EINVAL;
		}
	}
	json_decref(probes);
	/* socketinfo probe: Skydive's key and default (10 s) */
	const char *sh = config_get_string(cfg, "agent.topology.socketinfo.host_update", "10");
	if (config_parse_duration(sh, &ms) || ms <= 0 || ms > 86400 * 1000) {
		snprintf(err, errlen,
			 "agent.topology.socketinfo.host_update must be a number of seconds "
			 "(or a Go duration), not '%s'",
			 sh);
		agent_config_free(ac);
		return -EINVAL;
	}
	o->socketinfo_update_ms = socketinfo ? ms : 0;
	if (agent_config_lldp(ac, cfg, err, errlen) < 0) {
		agent_config_free(ac);
		return -EINVAL;
	}
	if (agent_config_containers(ac, cfg, docker, err, errlen) < 0) {
		agent_config_free(ac);
		return -EINVAL;
	}
	o->ovsdb = ovsdb ? config_get_string(cfg, "ovs.ovsdb", "unix:///var/run/openvswitch/db.sock")
			 : "";
	if (agent_config_oflow(ac, cfg, ovsdb, err, errlen) < 0) {
		agent_config_free(ac);
		return -EINVAL;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	agent_config_free(ac);
	return -ENOMEM;
}

void agent_config_free(struct agent_config *ac)
{
	if (!ac)
		return;
	free(ac->addrs);
	free(ac->appmap);
	json_decref(ac->analyzers);
	json_decref(ac->lldp_list);
	free(ac->lldp_ifs);
	free(ac->oflow_versions);
	json_decref(ac->runc_list);
	free(ac->runc_paths);
	memset(ac, 0, sizeof(*ac));
}
