/* cmd_allinone.c - `skydive allinone`: an analyzer and an agent in one
 * process, the agent pushing its topology to the local analyzer over
 * WebSocket exactly as a remote agent would. Only wiring: options, config,
 * the analyzer (analyzer.h), the agent, start, wait, stop. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "analyzer/analyzer.h"
#include "cli/cli.h"
#include "common/log.h"
#include "common/privs.h"
#include "config/config.h"


static void usage(FILE *out)
{
	fprintf(out, "Usage: skydive allinone [-c FILE]... [--listen ADDR:PORT] [--host-id ID]\n\n"
		     "Runs an analyzer and an agent in one process: the agent's topology probes\n"
		     "feed the local analyzer, which serves the REST API (/api/topology ...) and\n"
		     "the WebSocket endpoints; remote agents may connect to it too.\n\n"
		     "Options:\n");
	agent_cli_options_help(out);
	fprintf(out,
		"      --listen ADDR:PORT      analyzer address (analyzer.listen, default\n"
		"                              127.0.0.1:8082; port 0 picks a free one)\n"
		"  -h, --help                  this help\n\n"
		"Every configuration key can be set in the environment: SKYDIVE_ followed by the\n"
		"key upper-cased with '.' as '_', e.g. SKYDIVE_ANALYZER_LISTEN=127.0.0.1:9000.\n"
		"Stops cleanly on SIGINT or SIGTERM.\n");
}

static int allinone_flag(int opt, const char *arg, void *user)
{
	if (opt != 'L')
		return -1;
	*(const char **)user = arg;
	return 0;
}

/* Adds the in-process agent's counters to GET /api/status. */
static void status_hook(void *user, json_t *status)
{
	json_object_set_new(status, "Agent", agent_status(user));
}

int cmd_allinone(int argc, char **argv)
{
	static const struct option extra[] = {
		{"listen", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	const char *listen = NULL;
	struct config *cfg = NULL;
	struct analyzer *an = NULL;
	struct agent *ag = NULL;
	struct agent_metrics_ctx mctx; /* GET /metrics: the in-process agent's counters */
	struct agent_config ac = {0};
	char err[1024];
	int rc = agent_cli_parse(argc, argv, "allinone", extra, allinone_flag, &listen, usage,
				 &cfg);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (listen && config_set_string(cfg, "analyzer.listen", listen)) {
		fprintf(stderr, "skydive allinone: out of memory\n");
		goto out;
	}

	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Before any thread starts, so every thread has only the kept set. */
	if (privs_drop_agent(cfg, err, sizeof(err))) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}

	an = analyzer_new(cfg, err, sizeof(err));
	if (!an) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}
	if (analyzer_local_agent_config(an, cfg)) {
		fprintf(stderr, "skydive allinone: out of memory\n");
		goto out;
	}
	if (agent_config_load(&ac, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}
	ag = agent_new(&ac.opts, err, sizeof(err));
	if (!ag) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}
	analyzer_set_status_hook(an, status_hook, ag);
	mctx = (struct agent_metrics_ctx){.agent = ag, .host_id = ac.opts.host_id};
	analyzer_set_metrics_hook(an, agent_metrics, &mctx);
	if (analyzer_start(an)) {
		fprintf(stderr, "skydive allinone: cannot start the server thread\n");
		goto out;
	}
	if (agent_start(ag, err, sizeof(err)) < 0) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}
	log_info("allinone: analyzer on %s, agent %s", analyzer_address(an), ac.opts.host_id);
	int sig;
	sigwait(&stop, &sig);
	log_info("allinone stopping (%s)", sig == SIGINT ? "SIGINT" : "SIGTERM");
	rc = 0;
out:
	/* The agent first: its connection closes while the analyzer still runs. */
	agent_stop(ag);
	analyzer_stop(an);
	agent_free(ag);
	agent_config_free(&ac);
	config_free(cfg);
	return rc;
}
