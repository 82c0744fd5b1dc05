/* fuzz_config.c - libFuzzer target for YAML configuration files: config_load of the
 * input (written to a memfd, read through /proc/self/fd, so config.c needs no buffer
 * entry point), then the getters and the modules that read a configuration (flow store
 * bounds, agent options, CORS origins).
 *
 * Checks on top of the sanitizers:
 *  - a refused file gives an error naming the file; an accepted one answers every
 *    getter (lists are arrays of strings, a scalar's text is not NULL);
 *  - the same file loaded twice (later files merge over earlier ones) reads the same;
 *  - config_set beats the file, even over a scalar where a map was expected;
 *  - the consumers accept or refuse with an error text, never anything else.
 * Inputs are cut at FZ_MAX_INPUT bytes (configuration files are small; the alias bound
 * is config.c's MAX_NODES). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/agent.h"
#include "http/cors.h"
#include "common/log.h"
#include "config/config.h"
#include "store/flow_store.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define FZ_MAX_INPUT 65536

/* Keys the program reads, and a few shapes that are not keys. */
static const char *const keys[] = {
    "host_id", "analyzers", "agent.listen", "agent.metadata", "agent.topology.probes",
    "agent.topology.netlink.metrics_update", "agent.topology.netns.run_path",
    "agent.capture.stats_update", "agent.capture.workers", "agent.flow.queue_size",
    "agent.flow.sflow.port_min", "agent.flow.pcapsocket.bind_address", "analyzer.listen",
    "analyzer.data_dir", "analyzer.flow.max_age", "analyzer.flow.max_flows",
    "analyzer.flow.raw_max_bytes", "analyzer.gremlin.timeout", "flow.expire", "flow.update",
    "flow.max_entries", "http.cors.allowed_origins", "http.ws.queue_size",
    "http.ws.ping_delay", "logging.level", "ovs.ovsdb", "tls.ca_cert", "a", "a.b", "a.b.c",
    "", ".", "a..b", "analyzer.", ".analyzer",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void check_getters(const struct config *cfg)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *s = config_get_string(cfg, keys[i], "dflt");
		(void)config_get_int(cfg, keys[i], 7);
		int b = config_get_bool(cfg, keys[i], 2);
		CHECK(b == 0 || b == 1 || b == 2);
		json_t *l = config_get_list(cfg, keys[i], "x y");
		CHECK(l && json_is_array(l));
		size_t k;
		json_t *v;
		json_array_foreach(l, k, v) CHECK(json_is_string(v));
		json_decref(l);
		const json_t *j = config_get_json(cfg, keys[i]);
		if (j && (json_is_string(j) || json_is_integer(j) || json_is_real(j) ||
		          json_is_boolean(j)))
			CHECK(s != NULL);
		if (s) {
			char host[256];
			int port = -1;
			int rc = config_split_addr(s, host, sizeof(host), &port);
			CHECK(rc == 0 || rc == -EINVAL);
			if (rc == 0)
				CHECK(port >= 0 && port <= 65535 && memchr(host, 0, sizeof(host)));
		}
	}
}

static void check_consumers(const struct config *cfg)
{
	char err[512];
	struct flow_store_opts o;
	err[0] = 0;
	int rc = flow_store_opts_from_config(cfg, &o, err, sizeof(err));
	CHECK(rc == 0 || (rc == -EINVAL && *err));
	struct agent_config ac;
	memset(&ac, 0, sizeof(ac));
	err[0] = 0;
	rc = agent_config_load(&ac, cfg, err, sizeof(err));
	CHECK(rc == 0 || ((rc == -EINVAL || rc == -ENOMEM) && *err));
	if (rc == 0)
		agent_config_free(&ac);
	cors_free(cors_new(cfg));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		return 0;
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		log_set_level(LOG_ERROR);
		/* the environment must not change what the file says */
		for (char **e = environ; *e;)
			if (!strncmp(*e, "SKYDIVE_", 8)) {
				char name[256];
				size_t n = strcspn(*e, "=");
				snprintf(name, sizeof(name), "%.*s", (int)n, *e);
				unsetenv(name);
			} else {
				e++;
			}
		fd = memfd_create("fuzz_config.yml", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

	const char *files[2] = {path, path};
	char err[512];
	memset(err, 0x5a, sizeof(err));
	err[sizeof(err) - 1] = 0;
	struct config *cfg = config_load(files, 1, err, sizeof(err));
	if (!cfg) {
		CHECK(memchr(err, 0, sizeof(err)));
		CHECK(!strncmp(err, path, strlen(path)) || !strcmp(err, "out of memory"));
		return 0;
	}
	check_getters(cfg);
	check_consumers(cfg);

	/* twice the same file reads the same */
	struct config *twice = config_load(files, 2, err, sizeof(err));
	CHECK(twice);
	for (size_t i = 0; i < NKEYS; i++) {
		const json_t *a = config_get_json(cfg, keys[i]), *b = config_get_json(twice, keys[i]);
		CHECK((!a && !b) || (a && b && json_equal((json_t *)a, (json_t *)b)));
	}
	config_free(twice);

	/* an override beats the file */
	CHECK(config_set_string(cfg, "analyzer.listen", "127.0.0.1:9") == 0);
	const char *s = config_get_string(cfg, "analyzer.listen", NULL);
	CHECK(s && !strcmp(s, "127.0.0.1:9"));
	CHECK(config_set_string(cfg, "a.b.c", "v") == 0);
	s = config_get_string(cfg, "a.b.c", NULL);
	CHECK(s && !strcmp(s, "v"));
	check_getters(cfg);
	config_free(cfg);
	return 0;
}
