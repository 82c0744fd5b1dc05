/* alert_cmd.c - `skydive client alert create|list|get|delete`: Skydive's flags
 * (--name, --description, --expression, --trigger, --action) turned into an Alert for
 * /api/alert, answers pretty-printed. Skydive's `alert update` (a JSON patch) is not
 * offered: the analyzer does not update alerts (docs/API.md "Alerts"). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client/alert_cmd.h"
#include "client/client.h"
#include "client/client_args.h"

enum { CMD_CREATE = 1, CMD_LIST, CMD_GET, CMD_DELETE };

static const struct {
	const char *name, *usage, *help;
} cmds[] = {
    {NULL, NULL, NULL},
    {"create", "alert create --expression QUERY [--trigger T] [--action A] ...",
     "Creates an alert (POST /api/alert) and prints it. The analyzer keeps it (across\n"
     "restarts), evaluates its Gremlin query on each trigger and fires when the result\n"
     "is not empty (again only when the result changes, or after it was empty), sending\n"
     "the alert message to the action and to WebSocket subscribers (namespace Alert).\n\n"
     "      --name NAME             alert name\n"
     "      --description TEXT      description of the alert\n"
     "      --expression QUERY      Gremlin query evaluated to trigger the alarm (a\n"
     "                              JavaScript expression is not supported)\n"
     "      --trigger T             event that triggers the alert evaluation: graph\n"
     "                              (default: topology changes) or duration:10s (periodic)\n"
     "      --action A              empty, a URL (webhook: the message POSTed as JSON) or\n"
     "                              file:///path (a local command reading the message on\n"
     "                              its input; the analyzer must allow it:\n"
     "                              analyzer.alert.allow_commands)\n\n"
     "Example:\n"
     "  skydive client alert create --expression \"G.V().Has('Name', 'eth0', 'State', "
     "'DOWN')\" \\\n"
     "      --action http://127.0.0.1:8080/hook\n"},
    {"list", "alert list", "Prints every alert, a map UUID -> alert (GET /api/alert).\n"},
    {"get", "alert get UUID", "Prints one alert (GET /api/alert/UUID).\n"},
    {"delete", "alert delete UUID...",
     "Deletes alerts (DELETE /api/alert/UUID); an unknown UUID is reported and the\n"
     "others are still deleted (exit 1).\n"},
};


void client_alert_usage_lines(FILE *out)
{
	for (size_t i = 1; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %s\n", cmds[i].usage);
}

static void usage_group(FILE *out)
{
	fprintf(out, "Usage: skydive client alert COMMAND [OPTIONS]\n\nCommands:\n");
	client_alert_usage_lines(out);
	fprintf(out, "\n%s\nRun 'skydive client alert COMMAND --help' for a command's help.\n",
	        client_persistent_help);
}

struct create_flags {
	const char *name, *description, *expression, *trigger, *action;
	int any;
};

static int run_create(const struct client_opts *o, const struct create_flags *f)
{
	if (!f->expression || !*f->expression) {
		fprintf(stderr, "skydive client alert create: expected --expression QUERY, e.g.\n"
		                "  skydive client alert create --expression \"G.V().Has('Name', "
		                "'eth0', 'State', 'DOWN')\"\n");
		return 2;
	}
	json_t *a = json_object();
	int bad = !a;
	const char *keys[] = {"Name", "Description", "Expression", "Trigger", "Action"};
	const char *vals[] = {f->name, f->description, f->expression,
	                      f->trigger ? f->trigger : "graph", f->action};
	for (int i = 0; !bad && i < 5; i++)
		if (vals[i] && *vals[i])
			bad |= json_object_set_new(a, keys[i], json_string(vals[i]));
	char *body = bad ? NULL : json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!body) {
		fprintf(stderr, "skydive client: out of memory (or a flag is not UTF-8)\n");
		return 1;
	}
	struct client_response r;
	int rc = client_cli_request(o, "POST", "/api/alert", NULL, body, NULL, &r);
	free(body);
	if (!rc)
		rc = r.status == 201 || r.status == 200 ? client_cli_print_json(&r, 0)
		                                        : client_cli_report(&r, f->expression);
	client_response_free(&r);
	return rc;
}

static int run_simple(const struct client_opts *o, int cmd, char **ids, int nids)
{
	if (cmd == CMD_LIST && nids) {
		fprintf(stderr, "skydive client alert list: unexpected argument '%s'\n", ids[0]);
		return 2;
	}
	if ((cmd == CMD_GET && nids != 1) || (cmd == CMD_DELETE && nids < 1)) {
		fprintf(stderr, "skydive client alert %s: expected %s\n", cmds[cmd].name,
		        cmd == CMD_GET ? "one alert UUID" : "one or more alert UUIDs");
		return 2;
	}
	if (cmd == CMD_LIST) {
		struct client_response r;
		int rc = client_cli_request(o, "GET", "/api/alert", NULL, NULL, NULL, &r);
		if (!rc)
			rc = r.status == 200 ? client_cli_print_json(&r, 0) : client_cli_report(&r, NULL);
		client_response_free(&r);
		return rc;
	}
	int failed = 0;
	for (int i = 0; i < nids; i++) {
		char path[600];
		char *esc = curl_easy_escape(NULL, ids[i], 0);
		snprintf(path, sizeof(path), "/api/alert/%.500s", esc ? esc : ids[i]);
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

int client_alert_main(int argc, char **argv)
{
	enum { O_NAME = 256, O_DESC, O_EXPR, O_TRIGGER, O_ACTION };
	static const struct option opts[] = {
	    CLIENT_ARGS_LONGOPTS,
	    {"help", no_argument, NULL, 'h'},
	    {"name", required_argument, NULL, O_NAME},
	    {"description", required_argument, NULL, O_DESC},
	    {"expression", required_argument, NULL, O_EXPR},
	    {"trigger", required_argument, NULL, O_TRIGGER},
	    {"action", required_argument, NULL, O_ACTION},
	    {NULL, 0, NULL, 0},
	};
	struct client_args ca;
	struct create_flags f = {0};
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
		if (c >= O_NAME)
			f.any = 1;
		switch (c) {
		case 'h':
			help = 1;
			break;
		case O_NAME:
			f.name = optarg;
			break;
		case O_DESC:
			f.description = optarg;
			break;
		case O_EXPR:
			f.expression = optarg;
			break;
		case O_TRIGGER:
			f.trigger = optarg;
			break;
		case O_ACTION:
			f.action = optarg;
			break;
		default:
			fprintf(stderr,
			        "Run 'skydive client alert --help' for the commands and options.\n");
			goto out;
		}
	}
	/* argv[optind] is "alert" (the command word). */
	char **pos = argv + optind + 1;
	int npos = argc - optind - 1, cmd = 0;
	for (int i = 1; npos > 0 && i < (int)(sizeof(cmds) / sizeof(cmds[0])); i++)
		if (!strcmp(pos[0], cmds[i].name))
			cmd = i;
	if (!cmd) {
		if (npos > 0)
			fprintf(stderr, "skydive client alert: unknown command '%s'%s\n\n", pos[0],
			        !strcmp(pos[0], "update") ? " (updating an alert is not supported: "
			                                    "delete it and create it again)"
			                                  : "");
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
		        "skydive client alert %s: the create options do not apply; see "
		        "'skydive client alert %s --help'\n",
		        cmds[cmd].name, cmds[cmd].name);
		goto out;
	}
	if (cmd == CMD_CREATE && npos > 1) {
		fprintf(stderr,
		        "skydive client alert create: unexpected argument '%s' (give the query "
		        "with --expression)\n",
		        pos[1]);
		goto out;
	}
	if (client_args_resolve(&ca, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s\n", err);
		rc = 1;
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmd == CMD_CREATE ? run_create(&ca.o, &f) : run_simple(&ca.o, cmd, pos + 1, npos - 1);
	curl_global_cleanup();
out:
	client_args_free(&ca);
	return rc;
}
