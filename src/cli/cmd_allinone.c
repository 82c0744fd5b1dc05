/* cmd_allinone.c - `skydive allinone`: an analyzer and an agent in one
 * process, the agent pushing its topology to the local analyzer over
 * WebSocket exactly as a remote agent would. */
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
#include "common/util.h"
#include "config/config.h"
#include "store/flow_store.h"
#include "graph/graph.h"
#include "graph/graph_log.h"


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

struct status_ctx {
	struct agent *ag;
	struct flow_store *fs;
	struct graph_log *hl;
};

/* Adds the in-process agent's counters, the flow store's and the topology history's to
 * GET /api/status. */
static void status_hook(void *user, json_t *status)
{
	struct status_ctx *sc = user;
	struct agent_stats st;
	flow_store_status_hook(sc->fs, status);
	json_object_set_new(status, "TopologyHistory", graph_log_status(sc->hl));
	agent_get_stats(sc->ag, &st);
	json_object_set_new(status, "Agent",
			    json_pack("{sI sI sI sI sI sI}", "Connected", (json_int_t)st.connected,
				      "Sent", (json_int_t)st.sent, "Dropped",
				      (json_int_t)st.dropped, "Syncs", (json_int_t)st.syncs,
				      "FlowMessagesSent", (json_int_t)st.flow_msgs_sent,
				      "FlowMessagesDropped", (json_int_t)st.flow_msgs_dropped));
}

int cmd_allinone(int argc, char **argv)
{
	static const struct option extra[] = {
		{"listen", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0},
	};
	const char *listen = NULL;
	struct config *cfg = NULL;
	struct graph *g = NULL;
	struct graph_log *hl = NULL;
	struct analyzer *an = NULL;
	struct agent *ag = NULL;
	struct agent_config ac = {0};
	struct flow_store *fs = NULL;
	struct flow_store_opts fso;
	struct gremlin_flow_ops fops;
	struct status_ctx sc = {0};
	char err[1024], local[300];
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

	/* The topology history: bounds for memory and disk, the log in <data_dir>/topology
	 * replayed before any agent connects (an unwritable directory only costs the log). */
	struct graph_opts go;
	struct graph_log_opts lo;
	char hdir[4096];
	if (graph_log_config(cfg, &go, &lo, hdir, sizeof(hdir), err, sizeof(err))) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}
	g = graph_new(&go);
	if (!g) {
		fprintf(stderr, "skydive allinone: out of memory\n");
		goto out;
	}
	if (lo.dir && !(hl = graph_log_open(g, &lo, (int64_t)(time_now_ns() / 1000000), err,
					     sizeof(err))))
		log_warn("topology history not kept on disk: %s", err);
	if (flow_store_opts_from_config(cfg, &fso, err, sizeof(err))) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}
	if (!(fs = flow_store_new(&fso))) {
		fprintf(stderr, "skydive allinone: out of memory\n");
		goto out;
	}
	flow_store_gremlin_ops(fs, &fops);
	an = analyzer_new_opts(cfg, g, &(struct analyzer_opts){.flow_ops = &fops}, err,
			       sizeof(err));
	if (!an) {
		fprintf(stderr, "skydive allinone: %s\n", err);
		goto out;
	}

	/* The agent talks to the analyzer's real port (which may have been
	 * picked by the kernel), on loopback when it listens on every address. */
	char host[256];
	int port;
	if (config_split_addr(analyzer_address(an), host, sizeof(host), &port) < 0)
		port = analyzer_port(an), host[0] = 0;
	if (!host[0] || !strcmp(host, "0.0.0.0"))
		snprintf(host, sizeof(host), "127.0.0.1");
	else if (!strcmp(host, "::"))
		snprintf(host, sizeof(host), "::1");
	if (strchr(host, ':'))
		snprintf(local, sizeof(local), "[%s]:%d", host, analyzer_port(an));
	else
		snprintf(local, sizeof(local), "%s:%d", host, analyzer_port(an));
	if (config_set(cfg, "analyzers", json_pack("[s]", local))) {
		fprintf(stderr, "skydive allinone: out of memory\n");
		goto out;
	}
	/* The in-process agent logs in with analyzer.auth.cluster.username/password, as
	 * Skydive's allinone (cmd/allinone/allinone.go), unless agent.auth.cluster is set. */
	static const char *const cred_keys[][2] = {
		{"agent.auth.cluster.username", "analyzer.auth.cluster.username"},
		{"agent.auth.cluster.password", "analyzer.auth.cluster.password"}};
	const char *own = config_get_string(cfg, cred_keys[0][0], NULL);
	for (size_t k = 0; k < 2 && !(own && *own); k++) {
		const char *v = config_get_string(cfg, cred_keys[k][1], NULL);
		if (v && config_set_string(cfg, cred_keys[k][0], v)) {
			fprintf(stderr, "skydive allinone: out of memory\n");
			goto out;
		}
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
	sc = (struct status_ctx){.ag = ag, .fs = fs, .hl = hl};
	analyzer_set_status_hook(an, status_hook, &sc);
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
	flow_store_free(fs);
	agent_free(ag);
	agent_config_free(&ac);
	graph_log_close(hl, (int64_t)(time_now_ns() / 1000000));
	graph_free(g);
	config_free(cfg);
	return rc;
}
