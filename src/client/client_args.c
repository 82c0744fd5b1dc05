/* client_args.c - the options common to every client command, and finding the command. */
#include "client/client_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int client_args_init(struct client_args *a, int argc)
{
	memset(a, 0, sizeof(*a));
	a->files = calloc((size_t)argc + 1, sizeof(*a->files));
	return a->files ? 0 : -ENOMEM;
}

int client_args_take(struct client_args *a, int c, const char *arg)
{
	switch (c) {
	case CLIENT_OPT_ANALYZER:
		a->analyzer = arg;
		return 1;
	case CLIENT_OPT_USERNAME:
		a->o.username = arg;
		return 1;
	case CLIENT_OPT_PASSWORD:
		a->o.password = arg;
		return 1;
	case CLIENT_OPT_CACERT:
		a->o.cacert = arg;
		return 1;
	case CLIENT_OPT_CERT:
		a->o.cert = arg;
		return 1;
	case CLIENT_OPT_KEY:
		a->o.key = arg;
		return 1;
	case CLIENT_OPT_INSECURE:
		a->o.insecure = 1;
		return 1;
	case 'c':
		a->files[a->nfiles++] = arg;
		return 1;
	default:
		return 0;
	}
}

int client_args_resolve(struct client_args *a, char *err, size_t errlen)
{
	a->cfg = config_load(a->files, a->nfiles, err, errlen);
	if (!a->cfg)
		return -1;
	const char *analyzer = a->analyzer;
	if (!analyzer)
		analyzer = getenv("SKYDIVE_ANALYZER");
	if (!analyzer || !*analyzer) {
		a->analyzers = config_get_list(a->cfg, "analyzers", "127.0.0.1:8082");
		analyzer = json_string_value(json_array_get(a->analyzers, 0));
	}
	a->o.analyzer = analyzer && *analyzer ? analyzer : "127.0.0.1:8082";
	if (!a->o.username)
		a->o.username = getenv("SKYDIVE_USERNAME");
	if (!a->o.password)
		a->o.password = getenv("SKYDIVE_PASSWORD");
	a->o.host_id = config_get_string(a->cfg, "host_id", "cli");
	if (!a->o.cacert)
		a->o.cacert = config_get_string(a->cfg, "tls.ca_cert", NULL);
	if (!a->o.cert)
		a->o.cert = config_get_string(a->cfg, "tls.client_cert", NULL);
	if (!a->o.key)
		a->o.key = config_get_string(a->cfg, "tls.client_key", NULL);
	return 0;
}

void client_args_free(struct client_args *a)
{
	json_decref(a->analyzers);
	config_free(a->cfg);
	free(a->files);
	memset(a, 0, sizeof(*a));
}

/* Every client option that takes a separate value, the commands' own included. */
static const char *const value_opts[] = {
    "--analyzer",     "--username",    "--password",   "--cacert",         "--cert",
    "--key",          "--conf",        "-c",           "--format",         "--gremlin",
    "--file",         "--endpoint",    "--node",       "--bpf",            "--name",
    "--description",  "--type",        "--port",       "--samplingrate",   "--pollinginterval",
    "--header-size",  "--rawpacket-limit", "--layer-key-mode", "--extra-layer", "--target",
    "--target-type",  "--ttl",         "--trace",      "-t",               "--node-tid",
    NULL};

const char *client_command_word(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (a[0] != '-')
			return a;
		if (strchr(a, '='))
			continue;
		for (size_t k = 0; value_opts[k]; k++)
			if (!strcmp(a, value_opts[k])) {
				i++;
				break;
			}
	}
	return NULL;
}

int client_cli_request(const struct client_opts *o, const char *method, const char *path,
                       const char *accept, const char *body, const char *const *headers,
                       struct client_response *r)
{
	char err[1024];
	if (client_request_headers(o, method, path, accept, body, headers, r, err, sizeof(err))) {
		fprintf(stderr, "skydive client: %s\n", err);
		return 1;
	}
	if (r->status == 401 || r->status == 403) {
		fprintf(stderr,
		        "skydive client: the analyzer refused the credentials (%ld); set "
		        "--username/--password or SKYDIVE_USERNAME/SKYDIVE_PASSWORD\n",
		        r->status);
		return 1;
	}
	return 0;
}

int client_cli_print_json(const struct client_response *r, int tab)
{
	char err[256];
	char *s = client_json_pretty(r->body, r->len, tab, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "skydive client: %s\n", err);
		return 1;
	}
	fputs(s, stdout);
	free(s);
	return 0;
}

/* Prints the analyzer's error (a Gremlin error with a caret under its
 * position); returns 1. */
int client_cli_report(const struct client_response *r, const char *query)
{
	json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "Error"));
	json_t *pos = json_object_get(j, "Position");
	if (msg)
		fprintf(stderr, "skydive client: the analyzer answered %ld: %s\n", r->status, msg);
	else
		fprintf(stderr, "skydive client: the analyzer answered %ld: %.300s\n", r->status,
		        r->body ? r->body : "");
	if (msg && json_is_integer(pos) && query) {
		long long p = json_integer_value(pos);
		if (p >= 0 && (size_t)p <= strlen(query))
			fprintf(stderr, "  %s\n  %*s^\n", query, (int)p, "");
	}
	json_decref(j);
	return 1;
}


const char client_persistent_help[] =
    "Options for every client command:\n"
    "      --analyzer HOST:PORT  analyzer to talk to (default: $SKYDIVE_ANALYZER, else the\n"
    "                            first of $SKYDIVE_ANALYZERS or 'analyzers' in the config,\n"
    "                            else 127.0.0.1:8082)\n"
    "      --username USER, --password PASS   basic authentication ($SKYDIVE_USERNAME,\n"
    "                            $SKYDIVE_PASSWORD)\n"
    "      --cacert FILE, --cert FILE, --key FILE, --insecure   HTTPS\n"
    "  -c, --conf FILE           configuration file (repeatable)\n"
    "  -h, --help                help\n";
