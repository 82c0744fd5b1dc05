/* capture_cmd.c - `skydive client capture create|list|get|delete`: Skydive's
 * flags turned into a Capture object for /api/capture, answers pretty-printed. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "client/capture_cmd.h"
#include "client/client.h"
#include "client/client_args.h"

int client_capture_wanted(int argc, char **argv)
{
	const char *w = client_command_word(argc, argv);
	return w && !strcmp(w, "capture");
}

enum { CMD_CREATE = 1, CMD_LIST, CMD_GET, CMD_DELETE };

static const struct {
	const char *name, *usage, *help;
} cmds[] = {
    {NULL, NULL, NULL},
    {"create", "capture create [--gremlin QUERY | --node TID] [--bpf FILTER] [--type TYPE] ...",
     "Creates a capture (POST /api/capture) on the nodes its Gremlin query matches,\n"
     "now and later, and prints it. The analyzer keeps it (across restarts) and has\n"
     "the agents of the matching nodes start it; each node's Captures metadata\n"
     "shows its state there (active, or error and why).\n\n"
     "      --gremlin QUERY         nodes to capture on, e.g. \"G.V().Has('Name', 'eth0')\"\n"
     "      --node TID              the node with this TID (instead of --gremlin)\n"
     "      --bpf FILTER            BPF filter, e.g. 'tcp port 80'\n"
     "      --name NAME, --description TEXT\n"
     "      --type TYPE             afpacket, pcap, pcapsocket, sflow, ovssflow, ovsmirror,\n"
     "                              ovsnetflow, ebpf or dpdk (default: per node type)\n"
     "      --port PORT             sFlow listening port (sflow; 0: allocated)\n"
     "      --samplingrate N        sFlow sampling rate (default 1; 0: no samples)\n"
     "      --pollinginterval N     sFlow counter polling in seconds (default 10)\n"
     "      --header-size N         bytes kept of each packet (0: 256; 14..65535)\n"
     "      --rawpacket-limit N     raw packets kept per flow (-1: all; default 0)\n"
     "      --extra-tcp-metric      TCP metrics in flows\n"
     "      --ip-defrag             reassemble IPv4 and IPv6 fragments (IPMetric)\n"
     "      --reassamble-tcp        reassemble TCP (Skydive's spelling; --reassemble-tcp too)\n"
     "      --layer-key-mode L2|L3  flow key from L2 or L3 (default L2)\n"
     "      --extra-layer NAME      VRRP, DNS, DHCPv4 or ALL (repeatable)\n"
     "      --target HOST:PORT      sFlow/NetFlow/ERSPAN target (default: the agent)\n"
     "      --target-type TYPE      netflowv5 or erspanv1\n"
     "      --ttl DURATION          delete the capture after 30s, 5m, 1h ... (a bare\n"
     "                              number is milliseconds, as Skydive's client)\n\n"
     "Example:\n"
     "  skydive client capture create --gremlin \"G.V().Has('Name', 'eth0')\" --bpf icmp\n"},
    {"list", "capture list", "Prints every capture, a map UUID -> capture (GET /api/capture).\n"},
    {"get", "capture get UUID", "Prints one capture (GET /api/capture/UUID).\n"},
    {"delete", "capture delete UUID...",
     "Deletes captures (DELETE /api/capture/UUID); an unknown UUID is reported and\n"
     "the others are still deleted (exit 1).\n"},
};


void client_capture_usage_lines(FILE *out)
{
	for (size_t i = 1; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %s\n", cmds[i].usage);
}

static void usage_group(FILE *out)
{
	fprintf(out, "Usage: skydive client capture COMMAND [OPTIONS]\n\nCommands:\n");
	client_capture_usage_lines(out);
	fprintf(out, "\n%s\nRun 'skydive client capture COMMAND --help' for a command's help.\n",
	        client_persistent_help);
}

struct create_flags {
	const char *gremlin, *node, *bpf, *name, *description, *type, *lkm, *target, *ttype, *ttl;
	long long port, srate, pintv, hsize, rawlim;
	int etcp, defrag, reasm, layers;
	int any; /* a create flag was given */
};

/* Parses an integer flag; -1 with a message on error. */
static int int_flag(const char *flag, const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr,
		        "skydive client capture create: %s '%s': expected an integer in "
		        "%lld..%lld\n",
		        flag, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int layer_flag(const char *s, int *mask)
{
	static const struct {
		const char *n;
		int bit;
	} l[] = {{"VRRP", 1}, {"DNS", 2}, {"DHCPv4", 4}, {"ALL", 255}};
	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		if (!strcasecmp(s, l[i].n)) {
			*mask |= l[i].bit;
			return 0;
		}
	fprintf(stderr,
	        "skydive client capture create: --extra-layer '%s': expected VRRP, DNS, "
	        "DHCPv4 or ALL\n",
	        s);
	return -1;
}

static int print_pretty(const struct client_response *r)
{
	return client_cli_print_json(r, 0);
}

static int request(const struct client_opts *o, const char *method, const char *path,
                   const char *body, const char *const *hdrs, struct client_response *r)
{
	return client_cli_request(o, method, path, NULL, body, hdrs, r);
}

static int run_create(const struct client_opts *o, struct create_flags *f)
{
	char query[1024];
	const char *q = f->gremlin;
	if (f->node && f->gremlin) {
		fprintf(stderr,
		        "skydive client capture create: --node and --gremlin are exclusive\n");
		return 2;
	}
	if (f->node) {
		if (strchr(f->node, '\'')) {
			fprintf(stderr,
			        "skydive client capture create: --node '%s': a TID has no "
			        "quote\n",
			        f->node);
			return 2;
		}
		snprintf(query, sizeof(query), "G.V().Has('TID', '%s')", f->node);
		q = query;
	}
	if (!q) {
		fprintf(stderr, "skydive client capture create: expected --gremlin QUERY or --node "
		                "TID, e.g.\n  skydive client capture create --gremlin "
		                "\"G.V().Has('Name', 'eth0')\"\n");
		return 2;
	}
	json_t *c = json_pack("{s:s}", "GremlinQuery", q);
	int bad = !c;
#define STR(k, v)                                                                                  \
	do {                                                                                       \
		if ((v) && *(v))                                                                   \
			bad |= json_object_set_new(c, k, json_string(v));                          \
	} while (0)
#define NUM(k, v) (bad |= json_object_set_new(c, k, json_integer(v)))
	STR("BPFFilter", f->bpf);
	STR("Name", f->name);
	STR("Description", f->description);
	STR("Type", f->type);
	if (f->port)
		NUM("Port", f->port);
	NUM("SamplingRate", f->srate);
	NUM("PollingInterval", f->pintv);
	if (f->hsize)
		NUM("HeaderSize", f->hsize);
	if (f->rawlim)
		NUM("RawPacketLimit", f->rawlim);
	bad |= json_object_set_new(c, "ExtraTCPMetric", json_boolean(f->etcp));
	bad |= json_object_set_new(c, "IPDefrag", json_boolean(f->defrag));
	bad |= json_object_set_new(c, "ReassembleTCP", json_boolean(f->reasm));
	STR("LayerKeyMode", f->lkm);
	if (f->layers)
		NUM("ExtraLayers", f->layers);
	STR("Target", f->target);
	STR("TargetType", f->ttype);
#undef STR
#undef NUM
	char *body = bad ? NULL : json_dumps(c, JSON_COMPACT);
	json_decref(c);
	if (!body) {
		fprintf(stderr, "skydive client: out of memory\n");
		return 1;
	}
	char ttl[128];
	const char *hdrs[2] = {NULL, NULL};
	if (f->ttl) {
		snprintf(ttl, sizeof(ttl), "X-Resource-TTL: %.100s", f->ttl);
		hdrs[0] = ttl;
	}
	struct client_response r;
	int rc = request(o, "POST", "/api/capture", body, hdrs, &r);
	free(body);
	if (!rc)
		rc = r.status == 201 || r.status == 200 ? print_pretty(&r) : client_cli_report(&r, q);
	client_response_free(&r);
	return rc;
}

static int run_simple(const struct client_opts *o, int cmd, char **ids, int nids)
{
	if (cmd == CMD_LIST && nids) {
		fprintf(stderr, "skydive client capture list: unexpected argument '%s'\n", ids[0]);
		return 2;
	}
	if ((cmd == CMD_GET && nids != 1) || (cmd == CMD_DELETE && nids < 1)) {
		fprintf(stderr, "skydive client capture %s: expected %s\n", cmds[cmd].name,
		        cmd == CMD_GET ? "one capture UUID" : "one or more capture UUIDs");
		return 2;
	}
	if (cmd == CMD_LIST) {
		struct client_response r;
		int rc = request(o, "GET", "/api/capture", NULL, NULL, &r);
		if (!rc)
			rc = r.status == 200 ? print_pretty(&r) : client_cli_report(&r, NULL);
		client_response_free(&r);
		return rc;
	}
	int failed = 0;
	for (int i = 0; i < nids; i++) {
		char path[600];
		char *esc = curl_easy_escape(NULL, ids[i], 0);
		snprintf(path, sizeof(path), "/api/capture/%.500s", esc ? esc : ids[i]);
		curl_free(esc);
		struct client_response r;
		int rc = request(o, cmd == CMD_GET ? "GET" : "DELETE", path, NULL, NULL, &r);
		if (!rc && r.status == 200)
			rc = cmd == CMD_GET ? print_pretty(&r) : 0;
		else if (!rc)
			rc = client_cli_report(&r, NULL);
		client_response_free(&r);
		failed |= rc != 0;
	}
	return failed;
}

int client_capture_main(int argc, char **argv)
{
	enum {
		O_GREMLIN = 256,
		O_NODE,
		O_BPF,
		O_NAME,
		O_DESC,
		O_TYPE,
		O_PORT,
		O_SRATE,
		O_PINTV,
		O_HSIZE,
		O_RAWLIM,
		O_ETCP,
		O_DEFRAG,
		O_REASM,
		O_LKM,
		O_LAYER,
		O_TARGET,
		O_TTYPE,
		O_TTL,
	};
	static const struct option opts[] = {
	    CLIENT_ARGS_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {"gremlin", required_argument, NULL, O_GREMLIN},
	    {"node", required_argument, NULL, O_NODE},
	    {"bpf", required_argument, NULL, O_BPF},
	    {"name", required_argument, NULL, O_NAME},
	    {"description", required_argument, NULL, O_DESC},
	    {"type", required_argument, NULL, O_TYPE},
	    {"port", required_argument, NULL, O_PORT},
	    {"samplingrate", required_argument, NULL, O_SRATE},
	    {"pollinginterval", required_argument, NULL, O_PINTV},
	    {"header-size", required_argument, NULL, O_HSIZE},
	    {"rawpacket-limit", required_argument, NULL, O_RAWLIM},
	    {"extra-tcp-metric", no_argument, NULL, O_ETCP},
	    {"ip-defrag", no_argument, NULL, O_DEFRAG},
	    {"reassamble-tcp", no_argument, NULL, O_REASM},
	    {"reassemble-tcp", no_argument, NULL, O_REASM},
	    {"layer-key-mode", required_argument, NULL, O_LKM},
	    {"extra-layer", required_argument, NULL, O_LAYER},
	    {"target", required_argument, NULL, O_TARGET},
	    {"target-type", required_argument, NULL, O_TTYPE},
	    {"ttl", required_argument, NULL, O_TTL},
	    {NULL, 0, NULL, 0},
	};
	struct client_args ca;
	struct create_flags f = {.srate = 1, .pintv = 10, .lkm = "L2"};
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
		if (c >= O_GREMLIN)
			f.any = 1;
		switch (c) {
		case 'h':
			help = 1;
			break;
		case O_GREMLIN:
			f.gremlin = optarg;
			break;
		case O_NODE:
			f.node = optarg;
			break;
		case O_BPF:
			f.bpf = optarg;
			break;
		case O_NAME:
			f.name = optarg;
			break;
		case O_DESC:
			f.description = optarg;
			break;
		case O_TYPE:
			f.type = optarg;
			break;
		case O_LKM:
			f.lkm = optarg;
			break;
		case O_TARGET:
			f.target = optarg;
			break;
		case O_TTYPE:
			f.ttype = optarg;
			break;
		case O_TTL:
			f.ttl = optarg;
			break;
		case O_ETCP:
			f.etcp = 1;
			break;
		case O_DEFRAG:
			f.defrag = 1;
			break;
		case O_REASM:
			f.reasm = 1;
			break;
		case O_PORT:
			if (int_flag("--port", optarg, 0, 65535, &f.port))
				goto out;
			break;
		case O_SRATE:
			if (int_flag("--samplingrate", optarg, 0, UINT32_MAX, &f.srate))
				goto out;
			break;
		case O_PINTV:
			if (int_flag("--pollinginterval", optarg, 0, UINT32_MAX, &f.pintv))
				goto out;
			break;
		case O_HSIZE:
			if (int_flag("--header-size", optarg, 0, 65535, &f.hsize))
				goto out;
			break;
		case O_RAWLIM:
			if (int_flag("--rawpacket-limit", optarg, -1, LLONG_MAX, &f.rawlim))
				goto out;
			break;
		case O_LAYER:
			if (layer_flag(optarg, &f.layers))
				goto out;
			break;
		default:
			fprintf(stderr, "Run 'skydive client capture --help' for the commands and "
			                "options.\n");
			goto out;
		}
	}
	/* argv[optind] is "capture" (client_capture_wanted said so). */
	char **pos = argv + optind + 1;
	int npos = argc - optind - 1, cmd = 0;
	for (int i = 1; npos > 0 && i < (int)(sizeof(cmds) / sizeof(cmds[0])); i++)
		if (!strcmp(pos[0], cmds[i].name))
			cmd = i;
	if (!cmd) {
		if (npos > 0)
			fprintf(stderr, "skydive client capture: unknown command '%s'\n\n", pos[0]);
		usage_group(help && npos == 0 ? stdout : stderr);
		rc = help && npos == 0 ? 0 : 2;
		goto out;
	}
	if (help) {
		printf("Usage: skydive client %s\n\n%s\n%s", cmds[cmd].usage, cmds[cmd].help,
		       client_persistent_help);
		rc = 0;
		goto out;
	}
	if (cmd != CMD_CREATE && f.any) {
		fprintf(stderr,
		        "skydive client capture %s: the create options do not apply; see "
		        "'skydive client capture %s --help'\n",
		        cmds[cmd].name, cmds[cmd].name);
		goto out;
	}
	if (cmd == CMD_CREATE && npos > 1) {
		fprintf(stderr,
		        "skydive client capture create: unexpected argument '%s' (give the "
		        "query with --gremlin)\n",
		        pos[1]);
		goto out;
	}
	if (client_args_resolve(&ca, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s\n", err);
		rc = 1;
		goto out;
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmd == CMD_CREATE ? run_create(&ca.o, &f)
	                       : run_simple(&ca.o, cmd, pos + 1, npos - 1);
	curl_global_cleanup();
out:
	client_args_free(&ca);
	return rc;
}
