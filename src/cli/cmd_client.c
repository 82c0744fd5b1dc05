/* cmd_client.c - `skydive client`: query, topology query/export/import and
 * status against an analyzer's public API. Wiring and output only. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli/cli.h"
#include "client/alert_cmd.h"
#include "client/inject_cmd.h"
#include "client/rule_cmd.h"
#include "client/capture_cmd.h"
#include "client/topo_cmd.h"
#include "client/client.h"
#include "client/client_args.h"
#include "client/client_pcap.h"


enum {
	FL_FORMAT = 1 << 0,
	FL_GREMLIN = 1 << 1,
	FL_FILE = 1 << 2,
	FL_ENDPOINT = 1 << 3,
};

struct args {
	struct client_opts o;
	const char *format, *gremlin, *file, *endpoint;
	unsigned used; /* FL_* given on the command line */
	char **pos;    /* positional arguments after the subcommand path */
	int npos;
};

struct subcmd {
	const char *group, *name; /* "topology","import" or "query",NULL */
	int (*run)(struct args *a);
	unsigned flags;
	const char *usage, *help;
};

static int run_query(struct args *a);
static int run_topology_query(struct args *a);
static int run_topology_export(struct args *a);
static int run_topology_import(struct args *a);
static int run_status(struct args *a);

static const struct subcmd subcmds[] = {
    {"query", NULL, run_query, FL_FORMAT, "query GREMLIN [--format json|dot|pcap]",
     "Runs a Gremlin query on the analyzer's topology (POST /api/topology).\n"
     "JSON output is indented with tabs; --format dot asks for Graphviz (queries\n"
     "returning nodes or edges); --format pcap writes the raw packets of a\n"
     "...RawPackets() query as one pcap file.\n\n"
     "Examples:\n  skydive client query \"G.V().Has('Type', 'veth').Values('Name')\"\n"
     "  skydive client query \"G.Flows().Has('Application', 'ICMPv4').RawPackets()\" \\\n"
     "      --format pcap > icmp.pcap\n"},
    {"topology", "query", run_topology_query, FL_FORMAT | FL_GREMLIN,
     "topology query --gremlin GREMLIN [--format json|dot|pcap]",
     "Same as 'skydive client query', the query given with --gremlin.\n"},
    {"topology", "export", run_topology_export, 0, "topology export",
     "Prints the whole topology as {\"Nodes\": [...], \"Edges\": [...]} (GET\n"
     "/api/topology), the format 'topology import' reads.\n"},
    {"topology", "import", run_topology_import, FL_FILE | FL_ENDPOINT,
     "topology import --file GRAPH.json [--endpoint /ws/publisher]",
     "Sends the nodes and edges of a file ({\"Nodes\": [...], \"Edges\": [...]}, or an\n"
     "array of those) to the analyzer's WebSocket publisher endpoint as NodeAdded and\n"
     "EdgeAdded messages. They persist after the client disconnects.\n"},
    {"status", NULL, run_status, 0, "status",
     "Prints the analyzer's status (GET /api/status): connected agents, publishers,\n"
     "subscribers and topology counters.\n"},
};

static const char persistent_help[] =
    "Options for every client command:\n"
    "      --analyzer HOST:PORT  analyzer to talk to (default: $SKYDIVE_ANALYZER, else the\n"
    "                            first of $SKYDIVE_ANALYZERS or 'analyzers' in the config,\n"
    "                            else 127.0.0.1:8082)\n"
    "      --username USER       basic authentication user ($SKYDIVE_USERNAME)\n"
    "      --password PASS       basic authentication password ($SKYDIVE_PASSWORD)\n"
    "      --cacert FILE         CA certificate to verify the analyzer (HTTPS)\n"
    "      --cert FILE           client certificate (HTTPS)\n"
    "      --key FILE            client private key (HTTPS)\n"
    "      --insecure            HTTPS without verifying the analyzer's certificate\n"
    "  -c, --conf FILE           configuration file (repeatable)\n"
    "  -h, --help                help\n";

static void usage_all(FILE *out)
{
	fprintf(out, "Usage: skydive client COMMAND [OPTIONS]\n\n"
	             "Talks to an analyzer through its REST and WebSocket API.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		fprintf(out, "  %s\n", subcmds[i].usage);
	client_capture_usage_lines(out);
	client_alert_usage_lines(out);
	client_rule_usage_lines(out);
	client_inject_usage_lines(out);
	client_topo_usage_lines(out);
	fprintf(out, "\n%s\nRun 'skydive client COMMAND --help' for a command's help.\n",
	        persistent_help);
}

static void usage_group(FILE *out, const char *group)
{
	fprintf(out, "Usage: skydive client %s COMMAND [OPTIONS]\n\nCommands:\n", group);
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++)
		if (!strcmp(subcmds[i].group, group))
			fprintf(out, "  %s\n", subcmds[i].usage);
	fprintf(out, "\n%s", persistent_help);
}

static void usage_cmd(FILE *out, const struct subcmd *s)
{
	fprintf(out, "Usage: skydive client %s\n\n%s\n%s", s->usage, s->help, persistent_help);
}

/* ---- output helpers ---------------------------------------------------- */

/* Prints the server's error; a Gremlin error also shows where it is. */
static int report_http_error(const struct client_response *r, const char *query)
{
	json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "Error"));
	json_t *pos = json_object_get(j, "Position");
	if (msg && json_is_integer(pos) && query) {
		long long p = json_integer_value(pos);
		fprintf(stderr, "skydive client: query error at position %lld: %s\n  %s\n", p, msg,
		        query);
		if (p >= 0 && (size_t)p <= strlen(query))
			fprintf(stderr, "  %*s^\n", (int)p, "");
	} else if (msg) {
		fprintf(stderr, "skydive client: the analyzer answered %ld: %s\n", r->status, msg);
	} else {
		fprintf(stderr, "skydive client: the analyzer answered %ld: %.300s\n", r->status,
		        r->body ? r->body : "");
	}
	json_decref(j);
	return 1;
}

static int print_json(const struct client_response *r, int tab)
{
	return client_cli_print_json(r, tab);
}

static int request(struct args *a, const char *method, const char *path, const char *accept,
                   const char *body, struct client_response *r)
{
	return client_cli_request(&a->o, method, path, accept, body, NULL, r);
}

/* ---- commands ---------------------------------------------------------- */

static int gremlin_query(struct args *a, const char *query)
{
	int dot = 0, pcap = 0;
	if (a->format && !strcmp(a->format, "dot")) {
		dot = 1;
	} else if (a->format && !strcmp(a->format, "pcap")) {
		pcap = 1;
		if (isatty(1)) {
			fprintf(stderr, "skydive client: not writing a pcap to a terminal: redirect it, "
			                "e.g. > icmp.pcap (then tcpdump -r icmp.pcap)\n");
			return 2;
		}
	} else if (a->format && strcmp(a->format, "json")) {
		fprintf(stderr, "skydive client: --format '%s': expected json, dot or pcap\n",
		        a->format);
		return 2;
	}
	json_t *req = json_pack("{s:s}", "GremlinQuery", query);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		fprintf(stderr, "skydive client: out of memory\n");
		return 1;
	}
	struct client_response r;
	int rc = request(a, "POST", "/api/topology",
	                 dot ? "text/vnd.graphviz" : pcap ? "application/vnd.tcpdump.pcap" : NULL, body,
	                 &r);
	free(body);
	if (rc == 0) {
		if (r.status == 204) {
			rc = 0; /* an empty query has no result */
		} else if (r.status != 200) {
			rc = report_http_error(&r, query);
		} else if (pcap) {
			/* Raw packets of a ...RawPackets() query, as one pcap in time order. */
			if (fwrite(r.body, 1, r.len, stdout) != r.len || fflush(stdout)) {
				fprintf(stderr, "skydive client: writing the pcap failed\n");
				rc = 1;
			}
		} else if (dot) {
			fwrite(r.body, 1, r.len, stdout);
			if (r.len && r.body[r.len - 1] != '\n')
				putchar('\n');
		} else {
			rc = print_json(&r, 1);
		}
	}
	client_response_free(&r);
	return rc;
}

static int run_query(struct args *a)
{
	if (a->npos != 1) {
		fprintf(stderr, "skydive client query: expected one Gremlin query, e.g.\n"
		                "  skydive client query \"G.V().Has('Name', 'eth0')\"\n");
		return 2;
	}
	return gremlin_query(a, a->pos[0]);
}

static int run_topology_query(struct args *a)
{
	const char *q = a->gremlin ? a->gremlin : (a->npos == 1 ? a->pos[0] : NULL);
	if (!q || (a->gremlin && a->npos)) {
		fprintf(stderr, "skydive client topology query: expected --gremlin QUERY, e.g.\n"
		                "  skydive client topology query --gremlin \"G.V().Count()\"\n");
		return 2;
	}
	return gremlin_query(a, q);
}

static int run_topology_export(struct args *a)
{
	struct client_response r;
	int rc = request(a, "GET", "/api/topology", NULL, NULL, &r);
	if (rc == 0)
		rc = r.status == 200 ? print_json(&r, 1) : report_http_error(&r, NULL);
	client_response_free(&r);
	return rc;
}

static int run_topology_import(struct args *a)
{
	if (!a->file || a->npos) {
		fprintf(stderr, "skydive client topology import: expected --file GRAPH.json\n");
		return 2;
	}
	json_error_t je;
	json_t *g =
	    !strcmp(a->file, "-") ? json_loadf(stdin, 0, &je) : json_load_file(a->file, 0, &je);
	if (!g) {
		if (je.line <= 0)
			fprintf(stderr, "skydive client: cannot read %s: %s\n", a->file, je.text);
		else
			fprintf(stderr, "skydive client: %s:%d:%d: invalid JSON: %s\n", a->file,
			        je.line, je.column, je.text);
		return 1;
	}
	char err[1024];
	if (client_graph_check(g, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s: %s\n", a->file, err);
		json_decref(g);
		return 1;
	}
	int n = client_publish(&a->o, a->endpoint, g, "Persistent", err, sizeof(err));
	json_decref(g);
	if (n < 0) {
		fprintf(stderr, "skydive client: %s\n", err);
		return 1;
	}
	fprintf(stderr, "imported %d elements into the analyzer at %s\n", n, a->o.analyzer);
	return 0;
}

static int run_status(struct args *a)
{
	if (a->npos) {
		fprintf(stderr, "skydive client status: unexpected argument '%s'\n", a->pos[0]);
		return 2;
	}
	struct client_response r;
	int rc = request(a, "GET", "/api/status", NULL, NULL, &r);
	if (rc == 0)
		rc = r.status == 200 ? print_json(&r, 0) : report_http_error(&r, NULL);
	client_response_free(&r);
	return rc;
}

/* ---- argument parsing -------------------------------------------------- */

static const char *flag_name(unsigned f)
{
	return f == FL_FORMAT    ? "--format"
	       : f == FL_GREMLIN ? "--gremlin"
	       : f == FL_FILE    ? "--file"
	                         : "--endpoint";
}

int cmd_client(int argc, char **argv)
{
	static const struct option opts[] = {
	    CLIENT_ARGS_LONGOPTS,
	    {"format", required_argument, NULL, 'f'},   {"gremlin", required_argument, NULL, 'g'},
	    {"file", required_argument, NULL, 'F'},     {"endpoint", required_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	/* `client pcap|capture|alert ...` have their own options (src/client). */
	const char *word = client_command_word(argc, argv);
	if (word && !strcmp(word, "pcap"))
		return client_pcap_main(argc, argv);
	if (word && !strcmp(word, "capture"))
		return client_capture_main(argc, argv);
	if (word && !strcmp(word, "alert"))
		return client_alert_main(argc, argv);
	if (word && (!strcmp(word, "node-rule") || !strcmp(word, "edge-rule")))
		return client_rule_main(argc, argv, word[0] == 'e');
	if (word && (!strcmp(word, "node") || !strcmp(word, "edge")))
		return client_topo_main(argc, argv);
	if (word && (!strcmp(word, "injection") || !strcmp(word, "inject-packet")))
		return client_inject_main(argc, argv);
	struct args a = {0};
	struct client_args ca;
	int help = 0, c, rc = 2;
	char err[1024];

	if (client_args_init(&ca, argc)) {
		fprintf(stderr, "skydive client: out of memory\n");
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (client_args_take(&ca, c, optarg))
			continue;
		switch (c) {
		case 'f':
			a.format = optarg;
			a.used |= FL_FORMAT;
			break;
		case 'g':
			a.gremlin = optarg;
			a.used |= FL_GREMLIN;
			break;
		case 'F':
			a.file = optarg;
			a.used |= FL_FILE;
			break;
		case 'e':
			a.endpoint = optarg;
			a.used |= FL_ENDPOINT;
			break;
		case 'h':
			help = 1;
			break;
		default:
			fprintf(stderr,
			        "Run 'skydive client --help' for the commands and options.\n");
			goto out;
		}
	}
	/* Find the subcommand among the positional words. */
	char **pos = argv + optind;
	int npos = argc - optind;
	const struct subcmd *s = NULL;
	if (npos == 0) {
		usage_all(help ? stdout : stderr);
		rc = help ? 0 : 2;
		goto out;
	}
	int group = 0;
	for (size_t i = 0; i < sizeof(subcmds) / sizeof(subcmds[0]); i++) {
		if (strcmp(subcmds[i].group, pos[0]))
			continue;
		group = 1;
		if (!subcmds[i].name || (npos > 1 && !strcmp(subcmds[i].name, pos[1]))) {
			s = &subcmds[i];
			break;
		}
	}
	if (!s) {
		if (group && (help || npos == 1)) {
			usage_group(help ? stdout : stderr, pos[0]);
			rc = help ? 0 : 2;
		} else if (group) {
			fprintf(stderr, "skydive client %s: unknown command '%s'\n\n", pos[0],
			        pos[1]);
			usage_group(stderr, pos[0]);
		} else {
			fprintf(stderr, "skydive client: unknown command '%s'\n\n", pos[0]);
			usage_all(stderr);
		}
		goto out;
	}
	if (help) {
		usage_cmd(stdout, s);
		rc = 0;
		goto out;
	}
	unsigned bad = a.used & ~s->flags;
	if (bad) {
		fprintf(stderr, "skydive client %s%s%s: unknown flag %s\n", s->group,
		        s->name ? " " : "", s->name ? s->name : "", flag_name(bad & -bad));
		goto out;
	}
	a.pos = pos + (s->name ? 2 : 1);
	a.npos = npos - (s->name ? 2 : 1);

	if (client_args_resolve(&ca, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s\n", err);
		rc = 1;
		goto out;
	}
	a.o = ca.o;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = s->run(&a);
	curl_global_cleanup();
out:
	client_args_free(&ca);
	return rc;
}
