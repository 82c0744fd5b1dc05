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

#include "config/config.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),      cmocka_unit_test(test_file_types_and_merge),
	    cmocka_unit_test(test_env_overrides), cmocka_unit_test(test_env_name),
	    cmocka_unit_test(test_errors),        cmocka_unit_test(test_split_addr),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
