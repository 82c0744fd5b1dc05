/* cmd_analyzer.c - `skydive analyzer`: parses the options, loads the configuration,
 * creates and starts the analyzer (analyzer.h), then waits for SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/analyzer.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/privs.h"
#include "config/config.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: skydive analyzer [-c FILE]... [--listen ADDR:PORT] [--host-id ID]\n\n"
	        "Runs the analyzer: the topology of every agent in one graph, served by the REST\n"
	        "API (/api, /api/status, /api/topology with Gremlin queries) and the WebSocket\n"
	        "endpoints /ws/agent/topology, /ws/publisher and /ws/subscriber.\n\n"
	        "Options:\n"
	        "  -c, --conf FILE        YAML configuration file (repeatable; later files win);\n"
	        "                         default " CONFIG_DEFAULT_FILE " if it exists\n"
	        "      --listen ADDR:PORT address to serve on (analyzer.listen, default\n"
	        "                         127.0.0.1:8082)\n"
	        "      --host-id ID       this analyzer's host ID (host_id, default the hostname)\n"
	        "      --allow-root       run even as root (analyzer.allow_root); refused otherwise\n"
	        "  -h, --help             this help\n\n"
	        "Every configuration key can be set in the environment: SKYDIVE_ followed by the\n"
	        "key upper-cased with '.' as '_', e.g. SKYDIVE_ANALYZER_LISTEN=127.0.0.1:9000.\n"
	        "Stops cleanly on SIGINT or SIGTERM.\n");
}

int cmd_analyzer(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"conf", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'},
	    {"host-id", required_argument, NULL, 'H'},
	    {"allow-root", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char **files = calloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	const char *listen = NULL, *host_id = NULL;
	struct config *cfg = NULL;
	struct analyzer *a = NULL;
	int rc = 1, c, allow_root = 0;
	char err[1024];

	if (!files) {
		fprintf(stderr, "skydive analyzer: out of memory\n");
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			files[nfiles++] = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'H':
			host_id = optarg;
			break;
		case 'R':
			allow_root = 1;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			fprintf(stderr, "Run 'skydive analyzer --help' for the options.\n");
			rc = 2;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		        "skydive analyzer: unexpected argument '%s'\n"
		        "Run 'skydive analyzer --help' for the options.\n",
		        argv[optind]);
		rc = 2;
		goto out;
	}

	cfg = config_load(files, nfiles, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "skydive analyzer: %s\n", err);
		goto out;
	}
	if ((listen && config_set_string(cfg, "analyzer.listen", listen)) ||
	    (host_id && config_set_string(cfg, "host_id", host_id))) {
		fprintf(stderr, "skydive analyzer: out of memory\n");
		goto out;
	}
	if (privs_refuse_root(cfg, allow_root, err, sizeof(err))) {
		fprintf(stderr, "skydive analyzer: %s\n", err);
		goto out;
	}
	const char *level = config_get_string(cfg, "logging.level", "INFO");
	enum log_level ll;
	if (log_level_parse(level, &ll) == 0)
		log_set_level(ll);

	/* Block the stop signals before any thread starts, so every thread
	 * inherits the mask and sigwait() below is the only receiver. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	a = analyzer_new(cfg, err, sizeof(err));
	if (!a) {
		fprintf(stderr, "skydive analyzer: %s\n", err);
		goto out;
	}
	if (analyzer_start(a)) {
		fprintf(stderr, "skydive analyzer: cannot start the server thread\n");
		goto out;
	}
	log_info("analyzer listening on %s (host %s)", analyzer_address(a),
	         config_get_string(cfg, "host_id", "?"));
	int sig;
	sigwait(&stop, &sig);
	log_info("analyzer stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	analyzer_stop(a);
	config_free(cfg);
	free(files);
	return rc;
}
