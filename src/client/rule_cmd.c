/* rule_cmd.c - `skydive client node-rule|edge-rule create|list|get|delete`: Skydive's
 * flags turned into a NodeRule or an EdgeRule for /api/noderule or /api/edgerule, answers
 * pretty-printed. Neither kind can be updated (Skydive's API refuses it too). */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client/client.h"
#include "client/client_args.h"
#include "client/rule_cmd.h"
#include "common/json_dotted.h"

enum { CMD_CREATE = 1, CMD_LIST, CMD_GET, CMD_DELETE, NCMDS };

struct group {
	const char *word, *resource, *what; /* "node-rule", "noderule", "node rule" */
	const char *usage[NCMDS], *help[NCMDS];
};

static const struct group groups[2] = {
    {"node-rule",
     "noderule",
     "node rule",
     {NULL, "node-rule create --action create|update [--node-name N --node-type T] ...",
      "node-rule list", "node-rule get UUID", "node-rule delete UUID..."},
     {NULL,
      "Creates a node rule (POST /api/noderule) and prints it. The analyzer keeps it\n"
      "(across restarts) and applies it to its topology, again whenever nodes are added\n"
      "or updated. 'create' makes one node (ID derived from its Type and Name) with the\n"
      "metadata; 'update' sets the metadata on every node the Gremlin query returns.\n"
      "Deleting the rule deletes the node, or removes the keys it set.\n\n"
      "      --action A              create or update\n"
      "      --node-name NAME        the node's Name (create)\n"
      "      --node-type TYPE        the node's Type (create)\n"
      "      --query QUERY           Gremlin query of the nodes to update (update)\n"
      "      --metadata 'k1=v1, k2=v2'   metadata (values are strings; a dotted key\n"
      "                              a.b=v sets a nested key)\n"
      "      --name NAME             rule name\n"
      "      --description TEXT      rule description\n\n"
      "Examples:\n"
      "  skydive client node-rule create --action create --node-name TOR1 \\\n"
      "      --node-type fabric --metadata 'Vendor=acme'\n"
      "  skydive client node-rule create --action update \\\n"
      "      --query \"G.V().Has('Name', 'eth0')\" --metadata 'Rack=r12'\n",
      "Prints every node rule, a map UUID -> rule (GET /api/noderule).\n",
      "Prints one node rule (GET /api/noderule/UUID).\n",
      "Deletes node rules (DELETE /api/noderule/UUID); an unknown UUID is reported and\n"
      "the others are still deleted (exit 1).\n"}},
    {"edge-rule",
     "edgerule",
     "edge rule",
     {NULL, "edge-rule create --src QUERY --dst QUERY --relationtype TYPE ...",
      "edge-rule list", "edge-rule get UUID", "edge-rule delete UUID..."},
     {NULL,
      "Creates an edge rule (POST /api/edgerule) and prints it. The analyzer keeps it\n"
      "(across restarts) and links the first node of --src to the first node of --dst,\n"
      "again whenever nodes are added or updated; deleting the rule deletes the edge.\n\n"
      "      --src QUERY             Gremlin query of the edge's parent node\n"
      "      --dst QUERY             Gremlin query of the edge's child node\n"
      "      --relationtype TYPE     the edge's RelationType (required; layer2 and\n"
      "                              ownership as Skydive's own links)\n"
      "      --metadata 'k1=v1, k2=v2'   more edge metadata (strings)\n"
      "      --name NAME             rule name\n"
      "      --description TEXT      rule description\n\n"
      "Example:\n"
      "  skydive client edge-rule create --src \"G.V().Has('Name', 'TOR1')\" \\\n"
      "      --dst \"G.V().Has('Name', 'eth0')\" --relationtype layer2\n",
      "Prints every edge rule, a map UUID -> rule (GET /api/edgerule).\n",
      "Prints one edge rule (GET /api/edgerule/UUID).\n",
      "Deletes edge rules (DELETE /api/edgerule/UUID); an unknown UUID is reported and\n"
      "the others are still deleted (exit 1).\n"}},
};

static const char *const cmd_names[NCMDS] = {NULL, "create", "list", "get", "delete"};


void client_rule_usage_lines(FILE *out)
{
	for (int g = 0; g < 2; g++)
		for (int i = 1; i < NCMDS; i++)
			fprintf(out, "  %s\n", groups[g].usage[i]);
}

static void usage_group(FILE *out, const struct group *g)
{
	fprintf(out, "Usage: skydive client %s COMMAND [OPTIONS]\n\nCommands:\n", g->word);
	for (int i = 1; i < NCMDS; i++)
		fprintf(out, "  %s\n", g->usage[i]);
	fprintf(out, "\n%s\nRun 'skydive client %s COMMAND --help' for a command's help.\n",
	        client_persistent_help, g->word);
}

/* s[0..n) without surrounding spaces then quotes, as a new string. */
static char *trimmed(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	while (n && *s == '"')
		s++, n--;
	while (n && s[n - 1] == '"')
		n--;
	return strndup(s, n);
}

int client_rule_metadata(const char *def, json_t *md, char *err, size_t errlen)
{
	if (!def || !*def)
		return 0;
	const char *p = def;
	for (;;) {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);
		if (!eq || memchr(eq + 1, '=', n - (size_t)(eq - p) - 1)) {
			snprintf(err, errlen, "attributes must be defined by pair k=v: '%.*s' in %.200s",
			         (int)(n > 100 ? 100 : n), p, def);
			return -EINVAL;
		}
		char *k = trimmed(p, (size_t)(eq - p)), *v = trimmed(eq + 1, n - (size_t)(eq - p) - 1);
		int rc = !k || !v ? -ENOMEM : 0;
		if (!rc && !*k) {
			snprintf(err, errlen, "an attribute has no key: '%.*s' in %.200s",
			         (int)(n > 100 ? 100 : n), p, def);
			rc = -EINVAL;
		}
		if (!rc)
			rc = json_dotted_set(md, k, json_string(v));
		free(k);
		free(v);
		if (rc)
			return rc;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

struct create_flags {
	const char *name, *description, *node_name, *node_type, *metadata, *query, *action;
	const char *src, *dst, *relationtype;
	int any;
};

/* The rule's body from the flags; NULL with a message printed (*rc set). */
static json_t *build(int edge, const struct create_flags *f, int *rc)
{
	const char *cmd = edge ? "edge-rule create" : "node-rule create";
	char err[512];
	json_t *md = json_object();
	*rc = 1;
	if (!md)
		return NULL;
	int e = client_rule_metadata(f->metadata, md, err, sizeof(err));
	if (e) {
		fprintf(stderr, "skydive client %s: --metadata: %s\n", cmd,
		        e == -EINVAL ? err : "out of memory");
		*rc = e == -EINVAL ? 2 : 1;
		json_decref(md);
		return NULL;
	}
	json_t *o = NULL;
	if (edge) {
		if (!f->relationtype || !*f->relationtype) {
			fprintf(stderr, "skydive client %s: --relationtype is a required parameter\n",
			        cmd);
			*rc = 2;
			json_decref(md);
			return NULL;
		}
		json_object_set_new(md, "RelationType", json_string(f->relationtype));
		o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "Name", f->name ? f->name : "",
		              "Description", f->description ? f->description : "", "Src",
		              f->src ? f->src : "", "Dst", f->dst ? f->dst : "", "Metadata", md);
	} else {
		const char *action = f->action ? f->action : "";
		if (!strcmp(action, "create")) {
			if (!f->node_name || !*f->node_name || !f->node_type || !*f->node_type) {
				fprintf(stderr, "skydive client %s: Both --node-name and --node-type are "
				                "required for 'create' node rules\n",
				        cmd);
				*rc = 2;
				json_decref(md);
				return NULL;
			}
			json_object_set_new(md, "Name", json_string(f->node_name));
			json_object_set_new(md, "Type", json_string(f->node_type));
		} else if (f->node_name || f->node_type) {
			fprintf(stderr, "skydive client %s: --node-name and --node-type are for "
			                "'create' rules (--action create)\n",
			        cmd);
			*rc = 2;
			json_decref(md);
			return NULL;
		}
		o = json_pack("{s:s, s:s, s:o, s:s, s:s}", "Name", f->name ? f->name : "",
		              "Description", f->description ? f->description : "", "Metadata", md,
		              "Action", action, "Query", f->query ? f->query : "");
	}
	if (!o)
		fprintf(stderr, "skydive client: out of memory (or a flag is not UTF-8)\n");
	return o;
}

static int run_create(const struct client_opts *o, int edge, const struct create_flags *f)
{
	int rc;
	json_t *rule = build(edge, f, &rc);
	char *body = rule ? json_dumps(rule, JSON_COMPACT) : NULL;
	json_decref(rule);
	if (!body)
		return rule ? 1 : rc;
	char path[32];
	snprintf(path, sizeof(path), "/api/%s", groups[edge].resource);
	struct client_response r;
	rc = client_cli_request(o, "POST", path, NULL, body, NULL, &r);
	free(body);
	if (!rc && (r.status == 201 || r.status == 200)) {
		rc = client_cli_print_json(&r, 0);
	} else if (!rc) {
		/* the caret under the query the error names */
		json_t *j = r.body ? json_loads(r.body, 0, NULL) : NULL;
		const char *msg = json_string_value(json_object_get(j, "Error"));
		const char *q = !msg ? NULL
		                : !strncmp(msg, "Src:", 4) ? f->src
		                : !strncmp(msg, "Dst:", 4) ? f->dst
		                : !strncmp(msg, "Query:", 6) ? f->query
		                                             : NULL;
		rc = client_cli_report(&r, q);
		json_decref(j);
	}
	client_response_free(&r);
	return rc;
}

int client_res_simple(const struct client_opts *o, const char *word, const char *resource,
                      const char *what, const char *cmdname, char **ids, int nids)
{
	int cmd = !strcmp(cmdname, "list") ? CMD_LIST : !strcmp(cmdname, "get") ? CMD_GET : CMD_DELETE;
	if (cmd == CMD_LIST && nids) {
		fprintf(stderr, "skydive client %s list: unexpected argument '%s'\n", word, ids[0]);
		return 2;
	}
	if ((cmd == CMD_GET && nids != 1) || (cmd == CMD_DELETE && nids < 1)) {
		fprintf(stderr, "skydive client %s %s: expected %s %s UUID%s\n", word,
		        cmdname, cmd == CMD_GET ? "one" : "one or more", what,
		        cmd == CMD_GET ? "" : "s");
		return 2;
	}
	char path[600];
	if (cmd == CMD_LIST) {
		struct client_response r;
		snprintf(path, sizeof(path), "/api/%s", resource);
		int rc = client_cli_request(o, "GET", path, NULL, NULL, NULL, &r);
		if (!rc)
			rc = r.status == 200 ? client_cli_print_json(&r, 0) : client_cli_report(&r, NULL);
		client_response_free(&r);
		return rc;
	}
	int failed = 0;
	for (int i = 0; i < nids; i++) {
		char *esc = curl_easy_escape(NULL, ids[i], 0);
		snprintf(path, sizeof(path), "/api/%s/%.500s", resource, esc ? esc : ids[i]);
		curl_free(esc);
		struct client_response r;
		int rc = client_cli_request(o, cmd == CMD_GET ? "GET" : "DELETE", path, NULL, NULL,
		                            NULL, &r);
		if (!rc && r.status == 200)
			rc = cmd == CMD_GET ? client_cli_print_json(&r, 0) : 0;
		else if (!rc)
			rc = client_cli_report(&r, NULL);
		client_response_free(&r);
		failed |= rc != 0;
	}
	return failed;
}

int client_rule_main(int argc, char **argv, int edge)
{
	enum { O_NAME = 256, O_DESC, O_NODE_NAME, O_NODE_TYPE, O_METADATA, O_QUERY, O_ACTION,
	       O_SRC, O_DST, O_RELTYPE };
	static const struct option node_opts[] = {
	    CLIENT_ARGS_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {"name", required_argument, NULL, O_NAME},
	    {"description", required_argument, NULL, O_DESC},
	    {"node-name", required_argument, NULL, O_NODE_NAME},
	    {"node-type", required_argument, NULL, O_NODE_TYPE},
	    {"metadata", required_argument, NULL, O_METADATA},
	    {"query", required_argument, NULL, O_QUERY},
	    {"action", required_argument, NULL, O_ACTION},
	    {NULL, 0, NULL, 0},
	};
	static const struct option edge_opts[] = {
	    CLIENT_ARGS_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {"name", required_argument, NULL, O_NAME},
	    {"description", required_argument, NULL, O_DESC},
	    {"src", required_argument, NULL, O_SRC},
	    {"dst", required_argument, NULL, O_DST},
	    {"relationtype", required_argument, NULL, O_RELTYPE},
	    {"metadata", required_argument, NULL, O_METADATA},
	    {NULL, 0, NULL, 0},
	};
	const struct group *g = &groups[edge ? 1 : 0];
	struct client_args ca;
	struct create_flags f = {0};
	int help = 0, c, rc = 2;
	char err[1024];
	if (client_args_init(&ca, argc)) {
		fprintf(stderr, "skydive client: out of memory\n");
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", edge ? edge_opts : node_opts, NULL)) != -1) {
		if (client_args_take(&ca, c, optarg))
			continue;
		if (c >= O_NAME)
			f.any = 1;
		switch (c) {
		case 'h': help = 1; break;
		case O_NAME: f.name = optarg; break;
		case O_DESC: f.description = optarg; break;
		case O_NODE_NAME: f.node_name = optarg; break;
		case O_NODE_TYPE: f.node_type = optarg; break;
		case O_METADATA: f.metadata = optarg; break;
		case O_QUERY: f.query = optarg; break;
		case O_ACTION: f.action = optarg; break;
		case O_SRC: f.src = optarg; break;
		case O_DST: f.dst = optarg; break;
		case O_RELTYPE: f.relationtype = optarg; break;
		default:
			fprintf(stderr, "Run 'skydive client %s --help' for the commands and options.\n",
			        g->word);
			goto out;
		}
	}
	/* argv[optind] is the group word */
	char **pos = argv + optind + 1;
	int npos = argc - optind - 1, cmd = 0;
	for (int i = 1; npos > 0 && i < NCMDS; i++)
		if (!strcmp(pos[0], cmd_names[i]))
			cmd = i;
	if (!cmd) {
		if (npos > 0)
			fprintf(stderr, "skydive client %s: unknown command '%s'%s\n\n", g->word, pos[0],
			        !strcmp(pos[0], "update") ? " (a rule cannot be updated: delete it and "
			                                    "create it again)"
			                                  : "");
		usage_group(help && npos == 0 ? stdout : stderr, g);
		rc = help && npos == 0 ? 0 : 2;
		goto out;
	}
	if (help) {
		printf("Usage: skydive client %s\n\n%s\n%s", g->usage[cmd], g->help[cmd],
		       client_persistent_help);
		rc = 0;
		goto out;
	}
	if (cmd != CMD_CREATE && f.any) {
		fprintf(stderr,
		        "skydive client %s %s: the create options do not apply; see "
		        "'skydive client %s %s --help'\n",
		        g->word, cmd_names[cmd], g->word, cmd_names[cmd]);
		goto out;
	}
	if (cmd == CMD_CREATE && npos > 1) {
		fprintf(stderr, "skydive client %s create: unexpected argument '%s'\n", g->word,
		        pos[1]);
		goto out;
	}
	if (client_args_resolve(&ca, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s\n", err);
		rc = 1;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmd == CMD_CREATE ? run_create(&ca.o, edge ? 1 : 0, &f)
	                       : client_res_simple(&ca.o, g->word, g->resource, g->what,
	                                           cmd_names[cmd], pos + 1, npos - 1);
	curl_global_cleanup();
out:
	client_args_free(&ca);
	return rc;
}
