/* inject_cmd.c - `skydive client injection create|list|get|delete` (alias inject-packet):
 * Skydive's cmd/client/packet_injector.go flags and defaults turned into a PacketInjection
 * for /api/injectpacket, with its X-Resource-TTL (Interval x Count + 5 s, as Skydive's
 * client sets it). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client/client.h"
#include "client/client_args.h"
#include "client/inject_cmd.h"
#include "client/rule_cmd.h"
#include "common/base64.h"
#include "inject/inject_req.h"

static const char create_help[] =
    "Creates a packet injection (POST /api/injectpacket) and prints it, with the\n"
    "TrackingID and L3TrackingID of the flow its packets make: find it with\n"
    "G.Flows().Has('TrackingID', '<id>'). The agent owning each source node sends the\n"
    "packets from that interface, inside its namespace.\n\n"
    "      --src QUERY        Gremlin query of the source node(s) (required)\n"
    "      --dst QUERY        Gremlin query of the destination node (its IP and MAC)\n"
    "      --src-ip IP, --dst-ip IP     addresses (default: the nodes' IPV4 / IPV6)\n"
    "      --src-mac MAC, --dst-mac MAC (default: the source node's MAC; the next hop's\n"
    "                         neighbour entry or the destination node's MAC)\n"
    "      --src-port N, --dst-port N   TCP / UDP ports\n"
    "      --type T           icmp4 (default), icmp6, tcp4, tcp6, udp4, udp6\n"
    "      --count N          packets (default 1)\n"
    "      --interval MS      milliseconds between packets (default 0)\n"
    "      --payload TEXT     payload (default: 56 random letters, as ping)\n"
    "      --inc-payload N    letters added to the payload after each packet\n"
    "      --id N             ICMP echo identifier\n"
    "      --mode M           unique (default: one flow, the id or port + 1 per source\n"
    "                         node) or random (a random id or source port per packet)\n"
    "      --ttl N            IP TTL / hop limit (default 64)\n"
    "      --pcap FILE        replay the frames of this pcap/pcapng file (Ethernet, at\n"
    "                         most 512 KiB) instead: --count frames (default: the file\n"
    "                         once, looping over it for more), --interval apart\n\n"
    "Example:\n"
    "  skydive client injection create --src \"G.V().Has('Name', 'veth-a')\" \\\n"
    "      --dst \"G.V().Has('Name', 'veth-b')\" --type icmp4 --count 5 --interval 100\n";

static const char *const usage[] = {
    "injection create --src QUERY [--dst QUERY] [--type T] [--count N] ...",
    "injection list",
    "injection get UUID",
    "injection delete UUID...",
};

void client_inject_usage_lines(FILE *out)
{
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++)
		fprintf(out, "  %s\n", usage[i]);
}

/* A decimal integer in [0, max] (the flag's name in the message). */
static int num_flag(const char *name, const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v > max) {
		fprintf(stderr, "skydive client injection create: --%s '%s': an integer from 0 to "
		                "%" PRIu64 " is expected\n", name, s, max);
		return -1;
	}
	*out = v;
	return 0;
}

struct flags {
	const char *src, *dst, *src_ip, *dst_ip, *src_mac, *dst_mac, *type, *payload, *mode;
	const char *pcap;
	uint64_t src_port, dst_port, count, interval, inc_payload, id, ttl;
	int any;
};

static int run_create(const struct client_opts *o, const struct flags *f)
{
	if (!f->src || !*f->src) {
		fprintf(stderr, "skydive client injection create: --src is required: a Gremlin "
		                "query of the source node(s)\n");
		return 2;
	}
	json_t *b = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I}", "Src", f->src,
	                      "Type", f->type ? f->type : "icmp4", "Count", (json_int_t)f->count,
	                      "Interval", (json_int_t)f->interval, "ICMPID", (json_int_t)f->id,
	                      "SrcPort", (json_int_t)f->src_port, "DstPort",
	                      (json_int_t)f->dst_port, "Mode", f->mode ? f->mode : "unique",
	                      "IncrementPayload", (json_int_t)f->inc_payload, "TTL",
	                      (json_int_t)f->ttl);
	const char *opt[][2] = {{"Dst", f->dst},       {"SrcIP", f->src_ip}, {"DstIP", f->dst_ip},
	                        {"SrcMAC", f->src_mac}, {"DstMAC", f->dst_mac},
	                        {"Payload", f->payload}};
	for (size_t i = 0; b && i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i][1])
			json_object_set_new(b, opt[i][0], json_string(opt[i][1]));
	uint64_t frames = f->count;
	if (b && f->pcap) { /* Skydive's client: the file's bytes (JSON: base64) */
		FILE *pf = fopen(f->pcap, "rb");
		uint8_t *buf = malloc(INJECT_MAX_PCAP + 1);
		size_t n = pf && buf ? fread(buf, 1, INJECT_MAX_PCAP + 1, pf) : 0;
		int bad = !pf || ferror(pf) || n > INJECT_MAX_PCAP;
		if (bad)
			fprintf(stderr, "skydive client injection create: --pcap %s: %s\n", f->pcap,
			        !pf ? strerror(errno)
			        : n > INJECT_MAX_PCAP ? "larger than 512 KiB (the agents' message bound)"
			                              : "read error");
		char *b64 = bad ? NULL : base64_encode_alloc(buf, n, NULL);
		if (pf)
			fclose(pf);
		free(buf);
		if (bad || !b64) {
			json_decref(b);
			free(b64);
			return bad ? 2 : 1;
		}
		/* its frame count, for the TTL below when the file is replayed once */
		struct inject_req pr = {0};
		char perr[300];
		if (inject_req_set_pcap(&pr, b64, strlen(b64), NULL, 0, NULL, perr, sizeof(perr))) {
			fprintf(stderr, "skydive client injection create: --pcap %s: %s\n", f->pcap,
			        perr);
			json_decref(b);
			free(b64);
			return 2;
		}
		frames = f->count ? f->count : pr.pcap_packets;
		inject_req_clear(&pr);
		json_object_set_new(b, "Pcap", json_string(b64));
		free(b64);
	}
	char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!body) {
		fprintf(stderr, "skydive client: out of memory (or a flag is not UTF-8)\n");
		return 1;
	}
	/* Skydive's client: 5 s, or Interval x Count + 5 s */
	char ttl[64];
	snprintf(ttl, sizeof(ttl), "X-Resource-TTL: %" PRIu64 "ms", f->interval * frames + 5000);
	const char *hdrs[] = {ttl, NULL};
	struct client_response r;
	int rc = client_cli_request(o, "POST", "/api/injectpacket", NULL, body, hdrs, &r);
	free(body);
	if (!rc)
		rc = r.status == 201 || r.status == 200 ? client_cli_print_json(&r, 0)
		                                        : client_cli_report(&r, NULL);
	client_response_free(&r);
	return rc;
}

static void usage_all(FILE *out)
{
	fprintf(out, "Usage: skydive client injection COMMAND [OPTIONS]\n"
	             "(also: skydive client inject-packet ...)\n\nCommands:\n");
	client_inject_usage_lines(out);
	fprintf(out, "\n%s\nRun 'skydive client injection COMMAND --help' for a command's help.\n",
	        client_persistent_help);
}

int client_inject_main(int argc, char **argv)
{
	enum { O_SRC = 256, O_DST, O_SRC_IP, O_DST_IP, O_SRC_MAC, O_DST_MAC, O_SRC_PORT,
	       O_DST_PORT, O_TYPE, O_PAYLOAD, O_PCAP, O_ID, O_COUNT, O_INTERVAL, O_MODE, O_INC,
	       O_TTL };
	static const struct option opts[] = {
	    CLIENT_ARGS_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {"src", required_argument, NULL, O_SRC},
	    {"dst", required_argument, NULL, O_DST},
	    {"src-ip", required_argument, NULL, O_SRC_IP},
	    {"dst-ip", required_argument, NULL, O_DST_IP},
	    {"src-mac", required_argument, NULL, O_SRC_MAC},
	    {"dst-mac", required_argument, NULL, O_DST_MAC},
	    {"src-port", required_argument, NULL, O_SRC_PORT},
	    {"dst-port", required_argument, NULL, O_DST_PORT},
	    {"type", required_argument, NULL, O_TYPE},
	    {"payload", required_argument, NULL, O_PAYLOAD},
	    {"pcap", required_argument, NULL, O_PCAP},
	    {"id", required_argument, NULL, O_ID},
	    {"count", required_argument, NULL, O_COUNT},
	    {"interval", required_argument, NULL, O_INTERVAL},
	    {"mode", required_argument, NULL, O_MODE},
	    {"inc-payload", required_argument, NULL, O_INC},
	    {"ttl", required_argument, NULL, O_TTL},
	    {NULL, 0, NULL, 0},
	};
	struct client_args ca;
	struct flags f = {.count = 1, .ttl = 64};
	int count_given = 0;
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
		if (c >= O_SRC)
			f.any = 1;
		int bad = 0;
		switch (c) {
		case 'h': help = 1; break;
		case O_SRC: f.src = optarg; break;
		case O_DST: f.dst = optarg; break;
		case O_SRC_IP: f.src_ip = optarg; break;
		case O_DST_IP: f.dst_ip = optarg; break;
		case O_SRC_MAC: f.src_mac = optarg; break;
		case O_DST_MAC: f.dst_mac = optarg; break;
		case O_TYPE: f.type = optarg; break;
		case O_PAYLOAD: f.payload = optarg; break;
		case O_PCAP: f.pcap = optarg; break;
		case O_MODE: f.mode = optarg; break;
		case O_SRC_PORT: bad = num_flag("src-port", optarg, 65535, &f.src_port); break;
		case O_DST_PORT: bad = num_flag("dst-port", optarg, 65535, &f.dst_port); break;
		case O_ID: bad = num_flag("id", optarg, 65535, &f.id); break;
		case O_COUNT:
			bad = num_flag("count", optarg, 1000000, &f.count);
			count_given = 1;
			break;
		case O_INTERVAL: bad = num_flag("interval", optarg, 3600000, &f.interval); break;
		case O_INC: bad = num_flag("inc-payload", optarg, 65475, &f.inc_payload); break;
		case O_TTL: bad = num_flag("ttl", optarg, 255, &f.ttl); break;
		default:
			fprintf(stderr, "Run 'skydive client injection --help' for the commands and "
			                "options.\n");
			goto out;
		}
		if (bad)
			goto out;
	}
	char **pos = argv + optind + 1; /* argv[optind] is the group word */
	int npos = argc - optind - 1;
	const char *cmd = npos > 0 ? pos[0] : NULL;
	int known = cmd && (!strcmp(cmd, "create") || !strcmp(cmd, "list") || !strcmp(cmd, "get") ||
	                    !strcmp(cmd, "delete"));
	if (!known) {
		if (cmd)
			fprintf(stderr, "skydive client injection: unknown command '%s'%s\n\n", cmd,
			        !strcmp(cmd, "update") ? " (an injection cannot be updated)" : "");
		usage_all(help && !cmd ? stdout : stderr);
		rc = help && !cmd ? 0 : 2;
		goto out;
	}
	if (help) {
		if (!strcmp(cmd, "create"))
			printf("Usage: skydive client %s\n\n%s\n%s", usage[0], create_help,
			       client_persistent_help);
		else
			printf("Usage: skydive client injection %s%s\n\n%s", cmd,
			       !strcmp(cmd, "list") ? "" : !strcmp(cmd, "get") ? " UUID" : " UUID...",
			       client_persistent_help);
		rc = 0;
		goto out;
	}
	if (strcmp(cmd, "create") && f.any) {
		fprintf(stderr, "skydive client injection %s: the create options do not apply\n",
		        cmd);
		goto out;
	}
	if (!strcmp(cmd, "create") && npos > 1) {
		fprintf(stderr, "skydive client injection create: unexpected argument '%s'\n", pos[1]);
		goto out;
	}
	if (f.pcap && !count_given)
		f.count = 0; /* the file once (Skydive's pcap.go with Count 0) */
	if (client_args_resolve(&ca, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s\n", err);
		rc = 1;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = !strcmp(cmd, "create") ? run_create(&ca.o, &f)
	                            : client_res_simple(&ca.o, "injection", "injectpacket",
	                                                "injection", cmd, pos + 1, npos - 1);
	curl_global_cleanup();
out:
	client_args_free(&ca);
	return rc;
}
