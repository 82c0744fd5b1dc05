/* cmd_agent.c - `skydive agent`: wires configuration, the agent (topology
 * probes + analyzer connections) and its local API (the graph service on the
 * HTTP server: graph_service.h, nothing of the analyzer's own services), then
 * waits for SIGINT or SIGTERM. Also holds the option parsing shared with
 * `skydive allinone`. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/agent.h"
#include "analyzer/graph_service.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/privs.h"
#include "config/config.h"


/* The options `agent` and `allinone` share. */
void agent_cli_options_help(FILE *out)
{
	fprintf(out,
		"  -c, --conf FILE             YAML configuration file (repeatable; later files\n"
		"                              win); default " CONFIG_DEFAULT_FILE " if it exists\n"
		"      --host-id ID            host ID of this agent: Name of its host node, Host of\n"
		"                              its nodes (host_id, default the hostname)\n"
		"      --netns-run-path PATH   directory of named network namespaces to watch\n"
		"                              (agent.topology.netns.run_path, default\n"
		"                              /var/run/netns; '' disables the netns probe)\n"
		"      --metrics-update SECS   interface counters refresh period\n"
		"                              (agent.topology.netlink.metrics_update, default 30)\n");
}

/* Parses the shared options into *cfg_out (the loaded config with the flags
 * applied); extra handles the command's own options (0 if handled). Returns
 * -1 to go on, else the exit code (help shown, usage error, bad config). */
int agent_cli_parse(int argc, char **argv, const char *cmd, const struct option *extra_opts,
		    int (*extra)(int opt, const char *arg, void *user), void *user,
		    void (*usage)(FILE *out), struct config **cfg_out)
{
	static const struct option common[] = {
		{"conf", required_argument, NULL, 'c'},
		{"host-id", required_argument, NULL, 'H'},
		{"netns-run-path", required_argument, NULL, 'N'},
		{"metrics-update", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
	};
	size_t ncommon = sizeof(common) / sizeof(common[0]), nextra = 0;
	while (extra_opts && extra_opts[nextra].name)
		nextra++;
	struct option *opts = calloc(ncommon + nextra + 1, sizeof(*opts));
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	const char *host_id = NULL, *run_path = NULL, *metrics = NULL;
	size_t nfiles = 0;
	int rc = -1, c;
	char err[1024];
	*cfg_out = NULL;
	if (!opts || !files) {
		fprintf(stderr, "skydive %s: out of memory\n", cmd);
		rc = 1;
		goto out;
	}
	memcpy(opts, common, sizeof(common));
	if (nextra)
		memcpy(opts + ncommon, extra_opts, nextra * sizeof(*opts));

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			files[nfiles++] = optarg;
			break;
		case 'H':
			host_id = optarg;
			break;
		case 'N':
			run_path = optarg;
			break;
		case 'M':
			metrics = optarg;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			if (c != '?' && extra && extra(c, optarg, user) == 0)
				break;
			fprintf(stderr, "Run 'skydive %s --help' for the options.\n", cmd);
			rc = 2;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"skydive %s: unexpected argument '%s'\n"
			"Run 'skydive %s --help' for the options.\n",
			cmd, argv[optind], cmd);
		rc = 2;
		goto out;
	}
	struct config *cfg = config_load(files, nfiles, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "skydive %s: %s\n", cmd, err);
		rc = 1;
		goto out;
	}
	if ((host_id && config_set_string(cfg, "host_id", host_id)) ||
	    (run_path && config_set_string(cfg, "agent.topology.netns.run_path", run_path)) ||
	    (metrics &&
	     config_set_string(cfg, "agent.topology.netlink.metrics_update", metrics))) {
		fprintf(stderr, "skydive %s: out of memory\n", cmd);
		config_free(cfg);
		rc = 1;
		goto out;
	}
	enum log_level ll;
	if (log_level_parse(config_get_string(cfg, "logging.level", "INFO"), &ll) == 0)
		log_set_level(ll);
	*cfg_out = cfg;
out:
	free(opts);
	free(files);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: skydive agent [-c FILE]... [--host-id ID] [--analyzer ADDR:PORT]...\n\n"
		     "Runs the agent: topology probes (host, netlink in every network namespace,\n"
		     "netns) build the local graph, which is pushed to every analyzer over\n"
		     "/ws/agent/topology and served locally on the agent's own API.\n\n"
		     "Options:\n");
	agent_cli_options_help(out);
	fprintf(out,
		"      --analyzer ADDR:PORT    analyzer to push the topology to (repeatable;\n"
		"                              analyzers, default 127.0.0.1:8082)\n"
		"      --listen ADDR:PORT      the agent's own API (agent.listen, default\n"
		"                              127.0.0.1:8081; 'none' for no API)\n"
		"  -h, --help                  this help\n\n"
		"Every configuration key can be set in the environment: SKYDIVE_ followed by the\n"
		"key upper-cased with '.' as '_', e.g. SKYDIVE_ANALYZERS=\"10.0.0.1:8082 10.0.0.2:8082\".\n"
		"Stops cleanly on SIGINT or SIGTERM.\n");
}

struct agent_flags {
	json_t *analyzers;
	const char *listen;
};

static int agent_flag(int opt, const char *arg, void *user)
{
	struct agent_flags *f = user;
	switch (opt) {
	case 'A':
		if (!f->analyzers)
			f->analyzers = json_array();
		return f->analyzers ? json_array_append_new(f->analyzers, json_string(arg)) : -1;
	case 'L':
		f->listen = arg;
		return 0;
	}
	return -1;
}

int cmd_agent(int argc, char **argv)
{
	static const struct option extra[] = {
		{"analyzer", required_argument, NULL, 'A'},
		{"listen", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	struct agent_flags flags = {0};
	struct config *cfg = NULL;
	struct agent_config ac = {0};
	struct agent *a = NULL;
	struct agent_metrics_ctx mctx; /* GET /metrics of the API: the agent's counters */
	struct graph_service *api = NULL;
	char err[1024];
	int rc = agent_cli_parse(argc, argv, "agent", extra, agent_flag, &flags, usage, &cfg);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (flags.analyzers) {
		int r = config_set(cfg, "analyzers", flags.analyzers);
		flags.analyzers = NULL;
		if (r) {
			fprintf(stderr, "skydive agent: out of memory\n");
			goto out;
		}
	}
	if (flags.listen && config_set_string(cfg, "agent.listen", flags.listen)) {
		fprintf(stderr, "skydive agent: out of memory\n");
		goto out;
	}
	if (agent_config_load(&ac, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "skydive agent: %s\n", err);
		goto out;
	}
	/* Skydive's agents send flows over UDP by default; ours use the authenticated,
	 * acknowledged WebSocket link, and the key is the analyzer's (it then also takes
	 * Skydive agents' UDP flows). */
	const char *fproto = config_get_string(cfg, "flow.protocol", "websocket");
	if (strcasecmp(fproto, "websocket")) {
		fprintf(stderr,
		        "skydive agent: flow.protocol '%s' is not supported by this agent: it "
		        "sends its flows over its WebSocket link (/ws/agent/flow). The key is read "
		        "by the analyzer, which with 'udp' also accepts Skydive agents' UDP flows; "
		        "remove it from this agent's configuration\n",
		        fproto);
		goto out;
	}

	/* Block the stop signals before any thread starts, so every thread
	 * inherits the mask and sigwait() below is the only receiver. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread starts, so every thread has only the kept set. */
	if (privs_drop_agent(cfg, err, sizeof(err))) {
		fprintf(stderr, "skydive agent: %s\n", err);
		goto out;
	}

	a = agent_new(&ac.opts, err, sizeof(err));
	if (!a) {
		fprintf(stderr, "skydive agent: %s\n", err);
		goto out;
	}
	const char *listen = config_get_string(cfg, "agent.listen", "127.0.0.1:8081");
	if (strcmp(listen, "none") && *listen) {
		mctx = (struct agent_metrics_ctx){.agent = a, .host_id = ac.opts.host_id};
		struct graph_service_opts go = {.service = "agent",
						.listen_key = "agent.listen",
						.listen_default = "127.0.0.1:8081",
						.user = &mctx,
						.status = agent_status_hook,
						.metrics = agent_metrics};
		api = graph_service_new(cfg, agent_graph(a), &go, err, sizeof(err));
		if (!api) {
			fprintf(stderr, "skydive agent: %s\n", err);
			goto out;
		}
	}
	if (agent_start(a, err, sizeof(err)) < 0) {
		fprintf(stderr, "skydive agent: %s\n", err);
		goto out;
	}
	if (api && graph_service_start(api)) {
		fprintf(stderr, "skydive agent: cannot start the API thread\n");
		goto out;
	}
	log_info("agent %s started (%zu analyzer(s)%s%s)", ac.opts.host_id, ac.opts.n_analyzers,
		 api ? ", API on " : "", api ? graph_service_address(api) : "");
	int sig;
	sigwait(&stop, &sig);
	log_info("agent stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	graph_service_stop(api);
	agent_free(a);
	agent_config_free(&ac);
	config_free(cfg);
	json_decref(flags.analyzers);
	return rc;
}
