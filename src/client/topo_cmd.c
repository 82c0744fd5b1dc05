/* topo_cmd.c - `skydive client node|edge create|update|delete|get|list`: Skydive's flags
 * (node: --node-name, --node-type, --metadata, --host; edge: --edge-type, --parent,
 * --child, --metadata, --host; update: --add/-a, --remove/-r; delete: --gremlin) turned
 * into requests on /api/node and /api/edge, answers pretty-printed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client/client.h"
#include "client/client_args.h"
#include "client/topo_cmd.h"
#include "common/json_dotted.h"

enum { CMD_CREATE = 1, CMD_UPDATE, CMD_DELETE, CMD_GET, CMD_LIST, NCMDS };

static const char *const cmd_names[NCMDS] = {NULL, "create", "update", "delete", "get", "list"};

static const char *const usage_node[NCMDS] = {
    NULL,
    "node create --node-name NAME --node-type TYPE [--metadata 'k1=v1, k2=v2'] [--host H]",
    "node update ID... [--add k=v]... [--remove k]...",
    "node delete ID... | node delete --gremlin QUERY...",
    "node get ID",
    "node list"};
static const char *const usage_edge[NCMDS] = {
    NULL,
    "edge create --parent ID --child ID --edge-type TYPE [--metadata 'k1=v1'] [--host H]",
    "edge update ID... [--add k=v]... [--remove k]...",
    "edge delete ID... | edge delete --gremlin QUERY...",
    "edge get ID",
    "edge list"};

static const char *const help_text[2][NCMDS] = {
    {NULL,
     "Creates a node in the analyzer's graph (POST /api/node) and prints it. The analyzer\n"
     "keeps it across restarts; its ID is made by the analyzer.\n\n"
     "      --node-name NAME        node name (Metadata.Name; required)\n"
     "      --node-type TYPE        node type (Metadata.Type; required)\n"
     "      --metadata 'k1=v1, k2=v2'  more metadata (a dotted key makes nested objects)\n"
     "      --host HOST             the node's Host (default: this machine's name); its\n"
     "                              Origin is cli.HOST, as Skydive's client sets it\n",
     "Changes the metadata of nodes created through the API (PATCH /api/node/ID, a JSON\n"
     "patch); prints each node, or 'Not modified'.\n\n"
     "  -a, --add k=v               metadata to add or replace (v as JSON when it parses,\n"
     "                              else a string); repeatable\n"
     "  -r, --remove k              metadata key to remove; repeatable\n",
     "Deletes nodes created through the API (DELETE /api/node/ID) and their edges; an\n"
     "unknown ID is reported and the others are still deleted (exit 1).\n\n"
     "      --gremlin               the arguments are Gremlin queries: delete the nodes\n"
     "                              they return\n",
     "Prints one node of the graph (GET /api/node/ID).\n",
     "Prints every node of the graph, a map ID -> node (GET /api/node).\n"},
    {NULL,
     "Creates an edge between two nodes of the graph (POST /api/edge) and prints it. The\n"
     "analyzer keeps it across restarts (while an end is missing it waits for it).\n\n"
     "      --parent ID             parent node ID (required)\n"
     "      --child ID              child node ID (required)\n"
     "      --edge-type TYPE        relation type (Metadata.RelationType; required)\n"
     "      --metadata 'k1=v1, k2=v2'  more metadata\n"
     "      --host HOST             the edge's Host (default: this machine's name)\n",
     "Changes the metadata of edges created through the API (PATCH /api/edge/ID).\n\n"
     "  -a, --add k=v               metadata to add or replace; repeatable\n"
     "  -r, --remove k              metadata key to remove; repeatable\n",
     "Deletes edges created through the API (DELETE /api/edge/ID).\n\n"
     "      --gremlin               the arguments are Gremlin queries: delete the edges\n"
     "                              they return\n",
     "Prints one edge of the graph (GET /api/edge/ID).\n",
     "Prints every edge of the graph, a map ID -> edge (GET /api/edge).\n"}};


void client_topo_usage_lines(FILE *out)
{
	for (int k = 0; k < 2; k++)
		for (int i = 1; i < NCMDS; i++)
			fprintf(out, "  %s\n", (k ? usage_edge : usage_node)[i]);
}

/* ---- metadata and patches (Skydive's DefToMetadata, createMetadataJSONPatch) ------- */

static char *trim(char *s, const char *chars)
{
	while (*s && strchr(chars, *s))
		s++;
	size_t n = strlen(s);
	while (n && strchr(chars, s[n - 1]))
		s[--n] = 0;
	return s;
}

int client_topo_metadata(const char *def, json_t *md, char *err, size_t errlen)
{
	if (!def || !*def)
		return 0;
	char *copy = strdup(def);
	int rc = copy ? 0 : -1;
	if (!copy)
		snprintf(err, errlen, "out of memory");
	/* strtok_r would skip an empty pair, which DefToMetadata refuses */
	for (char *pair = copy, *next; !rc && pair; pair = next) {
		next = strchr(pair, ',');
		if (next)
			*next++ = 0;
		pair = trim(pair, " \t");
		char *eq = strchr(pair, '=');
		if (!eq || strchr(eq + 1, '=')) {
			snprintf(err, errlen, "attributes must be defined by pair k=v: %s", def);
			rc = -1;
			break;
		}
		*eq = 0;
		char *k = trim(pair, "\""), *v = trim(eq + 1, "\"");
		json_t *s = json_string(v);
		if (!s || json_dotted_set(md, k, s)) {
			snprintf(err, errlen, "metadata '%s': not UTF-8, or out of memory", k);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/* "/Metadata/<key>" with '/' as '.' (Skydive's json.go) and '~' escaped (RFC 6901) */
static char *md_pointer(const char *key)
{
	size_t n = strlen(key);
	char *p = malloc(10 + 2 * n + 1), *o = p;
	if (!p)
		return NULL;
	o += sprintf(o, "/Metadata/");
	for (const char *c = key; *c; c++) {
		if (*c == '~')
			*o++ = '~', *o++ = '0';
		else
			*o++ = *c == '/' ? '.' : *c;
	}
	*o = 0;
	return p;
}

json_t *client_topo_patch(const char *const *add, int nadd, const char *const *remove,
                          int nremove, char *err, size_t errlen)
{
	json_t *patch = json_array();
	for (int i = 0; patch && i < nadd + nremove; i++) {
		const char *arg = i < nadd ? add[i] : remove[i - nadd];
		const char *eq = i < nadd ? strchr(arg, '=') : NULL;
		if (i < nadd && !eq) {
			snprintf(err, errlen, "metadata to add should be of the form k1=v1, got %s", arg);
			json_decref(patch);
			return NULL;
		}
		char *key = eq ? strndup(arg, (size_t)(eq - arg)) : strdup(arg);
		char *ptr = key ? md_pointer(key) : NULL;
		json_t *op = ptr ? json_pack("{s:s, s:s}", "op", eq ? "add" : "remove", "path", ptr)
		                 : NULL;
		if (op && eq) {
			json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
			if (!v)
				v = json_string(eq + 1);
			if (!v || json_object_set_new(op, "value", v))
				json_decref(op), op = NULL;
		}
		free(key);
		free(ptr);
		if (!op || json_array_append_new(patch, op)) {
			snprintf(err, errlen, "'%s': not UTF-8, or out of memory", arg);
			json_decref(patch);
			return NULL;
		}
	}
	if (!patch)
		snprintf(err, errlen, "out of memory");
	return patch;
}

/* ---- commands --------------------------------------------------------------------- */

struct flags {
	const char *name, *type, *metadata, *host, *parent, *child;
	const char **add, **remove;
	int nadd, nremove, gremlin, create_any, update_any;
};

static int print_answer(struct client_response *r, int ok_status)
{
	return r->status == ok_status ? client_cli_print_json(r, 0) : client_cli_report(r, NULL);
}

static int run_create(const struct client_opts *o, int k, const struct flags *f)
{
	const char *what = k ? "edge" : "node";
	char err[600], host[256] = "", origin[300];
	if (!k && (!f->name || !f->type)) {
		fprintf(stderr, "skydive client node create: expected --node-name NAME and "
		                "--node-type TYPE (a node's Metadata needs a Name and a Type)\n");
		return 2;
	}
	if (k && (!f->parent || !f->child || !f->type)) {
		fprintf(stderr, "skydive client edge create: expected --parent ID, --child ID and "
		                "--edge-type TYPE (an edge's Metadata needs a RelationType)\n");
		return 2;
	}
	json_t *md = json_object();
	if (!md || client_topo_metadata(f->metadata, md, err, sizeof(err))) {
		fprintf(stderr, "skydive client %s create: --metadata: %s\n", what,
		        md ? err : "out of memory");
		json_decref(md);
		return 2;
	}
	int bad = 0;
	if (!k) {
		bad |= json_object_set_new(md, "Name", json_string(f->name));
		bad |= json_object_set_new(md, "Type", json_string(f->type));
	} else {
		bad |= json_object_set_new(md, "RelationType", json_string(f->type));
	}
	if (f->host)
		snprintf(host, sizeof(host), "%s", f->host);
	else if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "localhost");
	snprintf(origin, sizeof(origin), "cli.%s", host); /* graph.Origin(Host, CLIService) */
	json_t *body = json_pack("{s:o, s:s, s:s}", "Metadata", md, "Host", host, "Origin", origin);
	if (body && k) {
		bad |= json_object_set_new(body, "Parent", json_string(f->parent));
		bad |= json_object_set_new(body, "Child", json_string(f->child));
	}
	char *text = body && !bad ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		fprintf(stderr, "skydive client: out of memory (or a flag is not UTF-8)\n");
		return 1;
	}
	char path[32];
	snprintf(path, sizeof(path), "/api/%s", what);
	struct client_response r;
	int rc = client_cli_request(o, "POST", path, NULL, text, NULL, &r);
	free(text);
	if (!rc)
		rc = print_answer(&r, 201);
	client_response_free(&r);
	return rc;
}

/* The IDs of what Gremlin query q returns (elements with an "ID"), appended to ids. */
static int gremlin_ids(const struct client_opts *o, const char *q, json_t *ids)
{
	json_t *req = json_pack("{s:s}", "GremlinQuery", q);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text) {
		fprintf(stderr, "skydive client: out of memory (or the query is not UTF-8)\n");
		return 1;
	}
	struct client_response r;
	int rc = client_cli_request(o, "POST", "/api/topology", NULL, text, NULL, &r);
	free(text);
	if (!rc && r.status != 200)
		rc = client_cli_report(&r, q);
	json_t *res = !rc ? json_loads(r.body ? r.body : "", 0, NULL) : NULL;
	if (!rc && !json_is_array(res)) {
		fprintf(stderr, "skydive client: '%s' did not answer a list of elements\n", q);
		rc = 1;
	}
	size_t i;
	json_t *el;
	json_array_foreach(res, i, el)
	{
		json_t *id = json_object_get(el, "ID");
		if (json_is_string(id))
			json_array_append(ids, id);
	}
	json_decref(res);
	client_response_free(&r);
	return rc;
}

static int run_ids(const struct client_opts *o, int k, int cmd, const struct flags *f,
                   char **args, int nargs)
{
	const char *what = k ? "edge" : "node";
	if ((cmd == CMD_GET && nargs != 1) || (cmd != CMD_GET && nargs < 1)) {
		fprintf(stderr, "skydive client %s %s: expected %s\n", what, cmd_names[cmd],
		        cmd == CMD_GET            ? "one ID"
		        : f->gremlin ? "one or more Gremlin queries"
		                     : "one or more IDs");
		return 2;
	}
	json_t *patch = NULL, *ids = json_array();
	char err[600];
	int failed = !ids;
	if (cmd == CMD_UPDATE &&
	    !(patch = client_topo_patch(f->add, f->nadd, f->remove, f->nremove, err, sizeof(err)))) {
		fprintf(stderr, "skydive client %s update: %s\n", what, err);
		json_decref(ids);
		return 2;
	}
	char *ptext = patch ? json_dumps(patch, JSON_COMPACT) : NULL;
	for (int i = 0; !failed && i < nargs; i++)
		failed = f->gremlin ? gremlin_ids(o, args[i], ids)
		                    : json_array_append_new(ids, json_string(args[i]));
	size_t i;
	json_t *idv;
	json_array_foreach(ids, i, idv)
	{
		if (failed && cmd != CMD_DELETE)
			break;
		char path[600];
		const char *id = json_string_value(idv);
		char *esc = curl_easy_escape(NULL, id, 0);
		snprintf(path, sizeof(path), "/api/%s/%.500s", what, esc ? esc : id);
		curl_free(esc);
		static const char *const method[NCMDS] = {NULL, NULL, "PATCH", "DELETE", "GET"};
		struct client_response r;
		int rc = client_cli_request(o, method[cmd], path, NULL, ptext, NULL, &r);
		if (!rc && cmd == CMD_UPDATE && r.status == 304)
			printf("Not modified\n");
		else if (!rc && r.status == 200)
			rc = cmd == CMD_DELETE ? 0 : client_cli_print_json(&r, 0);
		else if (!rc)
			rc = client_cli_report(&r, NULL);
		client_response_free(&r);
		failed |= rc != 0;
	}
	free(ptext);
	json_decref(patch);
	json_decref(ids);
	return failed;
}

static void usage_group(FILE *out, int k)
{
	fprintf(out, "Usage: skydive client %s COMMAND [OPTIONS]\n\nCommands:\n",
	        k ? "edge" : "node");
	for (int i = 1; i < NCMDS; i++)
		fprintf(out, "  %s\n", (k ? usage_edge : usage_node)[i]);
	fprintf(out, "\n%s\nRun 'skydive client %s COMMAND --help' for a command's help.\n",
	        client_persistent_help, k ? "edge" : "node");
}

int client_topo_main(int argc, char **argv)
{
	enum { O_NNAME = 256, O_NTYPE, O_ETYPE, O_META, O_HOST, O_PARENT, O_CHILD, O_GREMLIN };
	static const struct option opts[] = {
	    CLIENT_ARGS_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {"node-name", required_argument, NULL, O_NNAME},
	    {"node-type", required_argument, NULL, O_NTYPE},
	    {"edge-type", required_argument, NULL, O_ETYPE},
	    {"metadata", required_argument, NULL, O_META},
	    {"host", required_argument, NULL, O_HOST},
	    {"parent", required_argument, NULL, O_PARENT},
	    {"child", required_argument, NULL, O_CHILD},
	    {"gremlin", no_argument, NULL, O_GREMLIN},
	    {"add", required_argument, NULL, 'a'},
	    {"remove", required_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	struct client_args ca;
	struct flags f = {0};
	int help = 0, c, rc = 2, wrong_kind = 0;
	char err[1024];
	f.add = calloc((size_t)argc + 1, sizeof(*f.add));
	f.remove = calloc((size_t)argc + 1, sizeof(*f.remove));
	if (!f.add || !f.remove || client_args_init(&ca, argc)) {
		fprintf(stderr, "skydive client: out of memory\n");
		free(f.add);
		free(f.remove);
		return 1;
	}
	const char *word = client_command_word(argc, argv);
	int k = word && !strcmp(word, "edge");
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:ha:r:", opts, NULL)) != -1) {
		if (client_args_take(&ca, c, optarg))
			continue;
		switch (c) {
		case 'h':
			help = 1;
			break;
		case O_NNAME:
			wrong_kind |= k;
			f.name = optarg, f.create_any = 1;
			break;
		case O_NTYPE:
			wrong_kind |= k;
			f.type = optarg, f.create_any = 1;
			break;
		case O_ETYPE:
			wrong_kind |= !k;
			f.type = optarg, f.create_any = 1;
			break;
		case O_PARENT:
		case O_CHILD:
			wrong_kind |= !k;
			*(c == O_PARENT ? &f.parent : &f.child) = optarg, f.create_any = 1;
			break;
		case O_META:
			f.metadata = optarg, f.create_any = 1;
			break;
		case O_HOST:
			f.host = optarg, f.create_any = 1;
			break;
		case O_GREMLIN:
			f.gremlin = 1;
			break;
		case 'a':
			f.add[f.nadd++] = optarg, f.update_any = 1;
			break;
		case 'r':
			f.remove[f.nremove++] = optarg, f.update_any = 1;
			break;
		default:
			fprintf(stderr, "Run 'skydive client %s --help' for the commands and options.\n",
			        k ? "edge" : "node");
			goto out;
		}
	}
	/* argv[optind] is "node" or "edge" (the command word). */
	char **pos = argv + optind + 1;
	int npos = argc - optind - 1, cmd = 0;
	for (int i = 1; npos > 0 && i < NCMDS; i++)
		if (!strcmp(pos[0], cmd_names[i]))
			cmd = i;
	if (!cmd) {
		if (npos > 0)
			fprintf(stderr, "skydive client %s: unknown command '%s'\n\n", k ? "edge" : "node",
			        pos[0]);
		usage_group(help && npos == 0 ? stdout : stderr, k);
		rc = help && npos == 0 ? 0 : 2;
		goto out;
	}
	if (help) {
		printf("Usage: skydive client %s\n\n%s\n%s", (k ? usage_edge : usage_node)[cmd],
		       help_text[k][cmd], client_persistent_help);
		rc = 0;
		goto out;
	}
	const char *misplaced = wrong_kind                              ? "that option is the other kind's"
	                        : cmd != CMD_CREATE && f.create_any      ? "the create options do not apply"
	                        : cmd != CMD_UPDATE && f.update_any      ? "--add/--remove are update's"
	                        : cmd != CMD_DELETE && f.gremlin         ? "--gremlin is delete's"
	                        : cmd == CMD_CREATE && npos > 1          ? "create takes no argument"
	                        : cmd == CMD_LIST && npos > 1            ? "list takes no argument"
	                        : cmd == CMD_UPDATE && !f.update_any     ? "nothing to change: give --add k=v or --remove k"
	                                                                 : NULL;
	if (misplaced) {
		fprintf(stderr, "skydive client %s %s: %s; see 'skydive client %s %s --help'\n",
		        k ? "edge" : "node", cmd_names[cmd], misplaced, k ? "edge" : "node",
		        cmd_names[cmd]);
		goto out;
	}
	if (client_args_resolve(&ca, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s\n", err);
		rc = 1;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cmd == CMD_CREATE) {
		rc = run_create(&ca.o, k, &f);
	} else if (cmd == CMD_LIST) {
		struct client_response r;
		rc = client_cli_request(&ca.o, "GET", k ? "/api/edge" : "/api/node", NULL, NULL, NULL,
		                        &r);
		if (!rc)
			rc = print_answer(&r, 200);
		client_response_free(&r);
	} else {
		rc = run_ids(&ca.o, k, cmd, &f, pos + 1, npos - 1);
	}
	curl_global_cleanup();
out:
	client_args_free(&ca);
	free(f.add);
	free(f.remove);
	return rc;
}
