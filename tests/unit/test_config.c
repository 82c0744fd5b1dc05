/* test_config.c - unit tests of src/config: defaults, YAML files and their
 * merging, SKYDIVE_* environment overrides, flags, errors, address parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "config/config.h"
#include "config/config_keys.h"
#include "flow/appmap.h"

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
	static char path[4][128];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, 128, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/skydive-test-config-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_defaults(void **state)
{
	struct config *cfg = config_new();
	assert_non_null(cfg);
	assert_string_equal(config_get_string(cfg, "analyzer.listen", NULL), "127.0.0.1:8082");
	assert_string_equal(config_get_string(cfg, "agent.listen", NULL), "127.0.0.1:8081");
	assert_int_equal(config_get_int(cfg, "flow.expire", 0), 600);
	assert_int_equal(config_get_int(cfg, "http.ws.queue_size", 0), 10000);
	assert_true(config_get_bool(cfg, "http.ws.enable_write_compression", 0));
	/* A number asked as a string comes as its text. */
	assert_string_equal(config_get_string(cfg, "flow.update", NULL), "60");
	char host[256];
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(config_get_string(cfg, "host_id", NULL), host);
	json_t *l = config_get_list(cfg, "analyzers", NULL);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "127.0.0.1:8082");
	json_decref(l);
	/* Unknown keys give the caller's default. */
	assert_string_equal(config_get_string(cfg, "no.such.key", "dflt"), "dflt");
	assert_null(config_get_string(cfg, "no.such.key", NULL));
	assert_int_equal(config_get_int(cfg, "no.such", 42), 42);
	assert_int_equal(config_get_bool(cfg, "no.such", 1), 1);
	l = config_get_list(cfg, "no.such", "a b  c");
	assert_int_equal(json_array_size(l), 3);
	json_decref(l);
	l = config_get_list(cfg, "no.such", NULL);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	config_free(cfg);
	config_free(NULL);
}

static void test_file_types_and_merge(void **state)
{
	const char *a = write_file("a.yml", "analyzer:\n"
	                                    "  listen: 0.0.0.0:9000\n"
	                                    "  flow:\n"
	                                    "    backend: elasticsearch\n"
	                                    "flow:\n"
	                                    "  expire: 30\n"
	                                    "  protocol: \"12\"\n"
	                                    "agent:\n"
	                                    "  topology:\n"
	                                    "    probes:\n"
	                                    "      - docker\n"
	                                    "      - runc\n"
	                                    "  metadata:\n"
	                                    "    rack: r1\n"
	                                    "    level: 3\n"
	                                    "tls:\n"
	                                    "  require_client_cert: yes\n"
	                                    "empty:\n");
	const char *b = write_file("b.yml", "analyzer:\n  listen: 127.0.0.1:9001\n"
	                                    "agent:\n  metadata:\n    zone: z\n");
	const char *files[] = {a, b};
	char err[256] = "";
	struct config *cfg = config_load(files, 2, err, sizeof(err));
	assert_non_null(cfg);
	/* Later files win; maps merge key by key; defaults stay below. */
	assert_string_equal(config_get_string(cfg, "analyzer.listen", NULL), "127.0.0.1:9001");
	assert_string_equal(config_get_string(cfg, "analyzer.flow.backend", NULL), "elasticsearch");
	assert_int_equal(config_get_int(cfg, "analyzer.flow.max_buffer_size", 0), 100000);
	assert_int_equal(config_get_int(cfg, "flow.expire", 0), 30);
	/* A quoted number is a string, still readable as an integer. */
	assert_string_equal(config_get_string(cfg, "flow.protocol", NULL), "12");
	assert_int_equal(config_get_int(cfg, "flow.protocol", 0), 12);
	assert_true(config_get_bool(cfg, "tls.require_client_cert", 0));
	json_t *l = config_get_list(cfg, "agent.topology.probes", NULL);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 1)), "runc");
	json_decref(l);
	const json_t *md = config_get_json(cfg, "agent.metadata");
	assert_true(json_is_object(md));
	assert_string_equal(json_string_value(json_object_get(md, "rack")), "r1");
	assert_int_equal(json_integer_value(json_object_get(md, "level")), 3);
	assert_string_equal(json_string_value(json_object_get(md, "zone")), "z");
	/* An empty value is null: the caller's default. */
	assert_string_equal(config_get_string(cfg, "empty", "d"), "d");
	/* A non-integer asked as an integer gives the default. */
	assert_int_equal(config_get_int(cfg, "analyzer.listen", -1), -1);
	config_free(cfg);
}

static void test_env_overrides(void **state)
{
	const char *a = write_file("env.yml", "analyzer:\n  listen: 127.0.0.1:9000\n"
	                                      "flow:\n  expire: 30\n");
	char err[256];
	struct config *cfg = config_load(&a, 1, err, sizeof(err));
	assert_non_null(cfg);
	setenv("SKYDIVE_ANALYZER_LISTEN", "127.0.0.1:7000", 1);
	setenv("SKYDIVE_ANALYZERS", " 10.0.0.1:8082  10.0.0.2:8082 ", 1);
	setenv("SKYDIVE_FLOW_EXPIRE", "45", 1);
	setenv("SKYDIVE_HOST_ID", "from-env", 1);
	setenv("SKYDIVE_HTTP_WS_ENABLE_WRITE_COMPRESSION", "off", 1);
	setenv("SKYDIVE_AGENT_TOPOLOGY_PROBES", "runc docker", 1);
	assert_string_equal(config_get_string(cfg, "analyzer.listen", NULL), "127.0.0.1:7000");
	assert_int_equal(config_get_int(cfg, "flow.expire", 0), 45);
	assert_string_equal(config_get_string(cfg, "host_id", NULL), "from-env");
	assert_false(config_get_bool(cfg, "http.ws.enable_write_compression", 1));
	json_t *l = config_get_list(cfg, "analyzers", NULL);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 1)), "10.0.0.2:8082");
	json_decref(l);
	l = config_get_list(cfg, "agent.topology.probes", NULL);
	assert_int_equal(json_array_size(l), 2);
	assert_string_equal(json_string_value(json_array_get(l, 0)), "runc");
	json_decref(l);
	/* Flags (config_set) beat the environment. */
	assert_int_equal(config_set_string(cfg, "analyzer.listen", "127.0.0.1:6000"), 0);
	assert_string_equal(config_get_string(cfg, "analyzer.listen", NULL), "127.0.0.1:6000");
	assert_int_equal(config_set(cfg, "new.deep.key", json_integer(5)), 0);
	assert_int_equal(config_get_int(cfg, "new.deep.key", 0), 5);
	/* A bad integer in the environment gives the default. */
	setenv("SKYDIVE_FLOW_EXPIRE", "soon", 1);
	assert_int_equal(config_get_int(cfg, "flow.expire", 7), 7);
	unsetenv("SKYDIVE_ANALYZER_LISTEN");
	unsetenv("SKYDIVE_ANALYZERS");
	unsetenv("SKYDIVE_FLOW_EXPIRE");
	unsetenv("SKYDIVE_HOST_ID");
	unsetenv("SKYDIVE_HTTP_WS_ENABLE_WRITE_COMPRESSION");
	unsetenv("SKYDIVE_AGENT_TOPOLOGY_PROBES");
	assert_int_equal(config_get_int(cfg, "flow.expire", 0), 30);
	config_free(cfg);
}

static void test_env_name(void **state)
{
	char b[64];
	assert_int_equal(config_env_name("analyzer.listen", b, sizeof(b)), 0);
	assert_string_equal(b, "SKYDIVE_ANALYZER_LISTEN");
	assert_int_equal(config_env_name("http.ws.ping-delay", b, sizeof(b)), 0);
	assert_string_equal(b, "SKYDIVE_HTTP_WS_PING_DELAY");
	assert_int_equal(config_env_name("a.very.long.key.that.does.not.fit.in.the.buffer", b, 16),
	                 -ENAMETOOLONG);
}

static void test_errors(void **state)
{
	char err[512];
	const char *bad = write_file("bad.yml", "analyzer:\n  listen: [oops\nflow: 1\n");
	assert_null(config_load(&bad, 1, err, sizeof(err)));
	/* file:line:column: the libyaml problem */
	char want[160];
	snprintf(want, sizeof(want), "%s:", bad);
	assert_non_null(strstr(err, want));
	int line = 0, col = 0;
	assert_int_equal(sscanf(err + strlen(want), "%d:%d:", &line, &col), 2);
	assert_true(line >= 2 && col >= 1);
	const char *tab = write_file("tab.yml", "a:\n\tb: 1\n");
	assert_null(config_load(&tab, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "tab.yml:2:"));
	const char *list = write_file("list.yml", "- a\n- b\n");
	assert_null(config_load(&list, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "must be a mapping"));
	const char *missing = "/nonexistent/skydive.yml";
	assert_null(config_load(&missing, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read /nonexistent/skydive.yml"));
	const char *empty = write_file("empty.yml", "");
	struct config *cfg = config_load(&empty, 1, err, sizeof(err));
	assert_non_null(cfg);
	assert_string_equal(config_get_string(cfg, "analyzer.listen", NULL), "127.0.0.1:8082");
	config_free(cfg);
}

static void test_split_addr(void **state)
{
	char h[64];
	int port;
	assert_int_equal(config_split_addr("127.0.0.1:8082", h, sizeof(h), &port), 0);
	assert_string_equal(h, "127.0.0.1");
	assert_int_equal(port, 8082);
	assert_int_equal(config_split_addr("[::1]:80", h, sizeof(h), &port), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(port, 80);
	assert_int_equal(config_split_addr(":9000", h, sizeof(h), &port), 0);
	assert_string_equal(h, "");
	assert_int_equal(port, 9000);
	assert_int_equal(config_split_addr("8082", h, sizeof(h), &port), 0);
	assert_int_equal(port, 8082);
	assert_int_equal(config_split_addr("localhost:0", h, sizeof(h), &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(config_split_addr("host:99999", h, sizeof(h), &port), -EINVAL);
	assert_int_equal(config_split_addr("host:", h, sizeof(h), &port), -EINVAL);
	assert_int_equal(config_split_addr("host:x", h, sizeof(h), &port), -EINVAL);
	assert_int_equal(config_split_addr("::1:80", h, sizeof(h), &port), -EINVAL);
	assert_int_equal(config_split_addr("host:-1", h, sizeof(h), &port), -EINVAL);
	assert_int_equal(config_split_addr(NULL, h, sizeof(h), &port), -EINVAL);
	assert_int_equal(config_split_addr("averyveryverylonghostname:1", h, 8, &port), -EINVAL);
}

/* config_load with stderr in a file: what it logged. */
static struct config *load_logged(const char *path, char *log, size_t len)
{
	char lp[160];
	snprintf(lp, sizeof(lp), "%s/log.txt", dir);
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(lp, "w+");
	assert_non_null(f);
	dup2(fileno(f), 2);
	char err[256] = "";
	struct config *cfg = config_load(&path, 1, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	size_t n = fread(log, 1, len - 1, f);
	log[n] = 0;
	fclose(f);
	return cfg;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* A key no code reads is a warning naming the file and the key, with the
 * key meant when one is close; keys read (a backend's under its own name,
 * maps such as agent.metadata) are not. */
static void test_unknown_key_warning(void **state)
{
	const char *p = write_file("keys.yml", "flow:\n  expir: 30\n  update: 10\n"
					       "analyzer:\n  flow: {backend: memory}\n"
					       "  startup: {capture_gremlin: \"G.V()\"}\n"
					       "auth:\n  users1: {type: basic, fil: /x, users: {a: b}}\n"
					       "agent:\n  metadata: {rack: {row: 1}}\n"
					       "tls:\n  sever_cert: /x.crt\n");
	char log[4096];
	struct config *cfg = load_logged(p, log, sizeof(log));
	assert_non_null(cfg);
	config_free(cfg);
	assert_int_equal(count(log, "unknown key"), 3); /* analyzer.flow.backend is read (ClickHouse) */
	char want[512];
	snprintf(want, sizeof(want), "config: %s: unknown key 'flow.expir'", p);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "did you mean 'flow.expire'?"));
	assert_non_null(strstr(log, "unknown key 'auth.users1.fil'"));
	assert_non_null(strstr(log, "did you mean 'auth.users1.file'?"));
	assert_non_null(strstr(log, "did you mean 'tls.server_cert'?"));
	/* Skydive's flow backend key is read (the ClickHouse backend): no warning */
	assert_null(strstr(log, "analyzer.flow.backend"));
	assert_null(strstr(log, "metadata"));
	assert_null(strstr(log, "startup"));

	assert_true(config_key_known("auth.mine.type"));
	assert_true(config_key_known("flow.application_ports.tcp.8080"));
	assert_false(config_key_known("flow.application_port.tcp"));
	assert_false(config_key_known("auth.type"));
	char b[128];
	assert_null(config_key_suggest("completely.different", b, sizeof(b)));
}

/* The agent's flow keys: application ports, default key mode, ebpf polling
 * rate, application timeouts; bad values refused with the key's name. */
static void test_agent_flow_keys(void **state)
{
	const char *p = write_file("agent.yml", "flow:\n"
						"  default_layer_key_mode: L3\n"
						"  application_ports:\n"
						"    tcp: {8080: http, 1194: OpenVPN}\n"
						"    udp: {1194: openvpn}\n"
						"  application_timeout: {arp: 5, dns: 7}\n"
						"agent:\n  flow:\n    ebpf: {polling_rate: 500}\n"
						"  topology:\n    probes: [socketinfo]\n"
						"    socketinfo: {host_update: 3}\n");
	char err[256] = "";
	struct config *cfg = config_load(&p, 1, err, sizeof(err));
	assert_non_null(cfg);
	struct agent_config ac;
	assert_int_equal(agent_config_load(&ac, cfg, err, sizeof(err)), 0);
	assert_int_equal(ac.opts.default_key_mode, FLOW_KEY_L3);
	assert_int_equal(ac.opts.ebpf_polling_rate, 500);
	assert_int_equal(ac.opts.arp_timeout_s, 5);
	assert_int_equal(ac.opts.dns_timeout_s, 7);
	assert_int_equal(ac.opts.socketinfo_update_ms, 3000);
	assert_string_equal(ac.opts.ovsdb, ""); /* not in the list */
	const struct appmap *m = ac.opts.appmap;
	assert_non_null(m);
	assert_int_equal(m->n, 3);
	int i = appmap_lookup(m, 6, 40000, 8080);
	assert_true(i >= 0);
	assert_string_equal(m->e[i].name, "HTTP"); /* upper-cased, as Skydive */
	i = appmap_lookup(m, 17, 1194, 5000);
	assert_true(i >= 0);
	assert_string_equal(m->e[i].name, "OPENVPN");
	assert_int_equal(appmap_lookup(m, 17, 8080, 1), -1);
	agent_config_free(&ac);
	config_free(cfg);

	/* a probe of Skydive's this build does not have is refused, naming it */
	p = write_file("agent2.yml", "agent:\n  topology:\n    probes: [netlink, ovsdb, lxd]\n");
	cfg = config_load(&p, 1, err, sizeof(err));
	assert_non_null(cfg);
	assert_int_equal(agent_config_load(&ac, cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "item #2: 'lxd' is not a probe of this build"));
	config_free(cfg);

	/* the defaults: Skydive's */
	cfg = config_new();
	assert_non_null(cfg);
	assert_int_equal(agent_config_load(&ac, cfg, err, sizeof(err)), 0);
	assert_int_equal(ac.opts.default_key_mode, FLOW_KEY_L2);
	assert_int_equal(ac.opts.ebpf_polling_rate, 16000);
	assert_null(ac.opts.appmap);
	assert_int_equal(ac.opts.socketinfo_update_ms, 0); /* not in Skydive's default list */
	agent_config_free(&ac);
	config_free(cfg);

	static const char *const bad[][2] = {
	    {"flow:\n  default_layer_key_mode: L4\n", "flow.default_layer_key_mode"},
	    {"flow:\n  application_ports: {tcp: {http: 80}}\n", "flow.application_ports.tcp.http"},
	    {"flow:\n  application_ports: {sctp: {80: x}}\n", "flow.application_ports.sctp"},
	    {"flow:\n  application_ports: {tcp: {70000: x}}\n", "flow.application_ports.tcp.70000"},
	    {"agent:\n  flow:\n    ebpf: {polling_rate: 0}\n", "agent.flow.ebpf.polling_rate"},
	    {"agent:\n  topology:\n    socketinfo: {host_update: 0}\n",
	     "agent.topology.socketinfo.host_update"},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		p = write_file("bad.yml", bad[k][0]);
		cfg = config_load(&p, 1, err, sizeof(err));
		assert_non_null(cfg);
		err[0] = 0;
		assert_int_equal(agent_config_load(&ac, cfg, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[k][1]))
			fail_msg("'%s': %s", bad[k][0], err);
		config_free(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),      cmocka_unit_test(test_file_types_and_merge),
	    cmocka_unit_test(test_env_overrides), cmocka_unit_test(test_env_name),
	    cmocka_unit_test(test_errors),        cmocka_unit_test(test_split_addr),
	    cmocka_unit_test(test_unknown_key_warning), cmocka_unit_test(test_agent_flow_keys),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
