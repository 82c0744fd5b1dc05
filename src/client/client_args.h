/* client_args.h - what every `skydive client` command shares (cmd_client.c: query,
 * topology, status; capture_cmd.c; client_pcap.c): the common options --analyzer,
 * --username, --password, --cacert, --cert, --key, --insecure, -c/--conf, parsed and
 * resolved once; finding the command word; a request and a JSON answer reported the
 * way the commands report them (on stderr, "skydive client: ..."). */
#ifndef SKYDIVE_CLIENT_ARGS_H
#define SKYDIVE_CLIENT_ARGS_H

#include <getopt.h>
#include <jansson.h>
#include <stddef.h>

#include "client/client.h"
#include "config/config.h"

/* getopt_long values of the common options; a command's own start elsewhere. */
enum {
	CLIENT_OPT_ANALYZER = 0x1000,
	CLIENT_OPT_USERNAME,
	CLIENT_OPT_PASSWORD,
	CLIENT_OPT_CACERT,
	CLIENT_OPT_CERT,
	CLIENT_OPT_KEY,
	CLIENT_OPT_INSECURE,
};

/* Their entries in a command's getopt_long table (-c is 'c': "c:" in the short ones). */
/* clang-format off */
#define CLIENT_ARGS_LONGOPTS \
	{"analyzer", required_argument, NULL, CLIENT_OPT_ANALYZER}, \
	{"username", required_argument, NULL, CLIENT_OPT_USERNAME}, \
	{"password", required_argument, NULL, CLIENT_OPT_PASSWORD}, \
	{"cacert", required_argument, NULL, CLIENT_OPT_CACERT}, \
	{"cert", required_argument, NULL, CLIENT_OPT_CERT}, \
	{"key", required_argument, NULL, CLIENT_OPT_KEY}, \
	{"insecure", no_argument, NULL, CLIENT_OPT_INSECURE}, \
	{"conf", required_argument, NULL, 'c'}
/* clang-format on */

/* Strings are borrowed from argv, the environment or cfg: valid until client_args_free. */
struct client_args {
	struct client_opts o; /* the flags as given, then resolved by client_args_resolve */
	const char *analyzer; /* --analyzer, or NULL */
	const char **files;   /* -c FILE..., in order */
	size_t nfiles;
	struct config *cfg;   /* the files over the defaults (client_args_resolve) */
	json_t *analyzers;    /* holds o.analyzer when it came from the configuration */
};

/* Room for the -c files of argc arguments; 0 or -ENOMEM. */
int client_args_init(struct client_args *a, int argc);
/* 1 when c (getopt_long's answer) is a common option, then kept with its arg; else 0. */
int client_args_take(struct client_args *a, int c, const char *arg);
/* Loads the -c files over the defaults, then fills a->o: the analyzer from --analyzer,
 * else $SKYDIVE_ANALYZER, else the first of 'analyzers' ($SKYDIVE_ANALYZERS), else
 * 127.0.0.1:8082; --username/--password, else $SKYDIVE_USERNAME/$SKYDIVE_PASSWORD;
 * host_id ("cli"); --cacert/--cert/--key, else tls.ca_cert/client_cert/client_key.
 * 0, or -1 with err filled (why the configuration did not load). */
int client_args_resolve(struct client_args *a, char *err, size_t errlen);
void client_args_free(struct client_args *a); /* a zeroed or failed one too */

/* The first command word of `skydive client ARGS...` (argv[0] is "client"): options and
 * the values of those that take one (every client command's) are skipped, "--" ends
 * them. NULL when there is no word. */
const char *client_command_word(int argc, char **argv);

/* The help text of the options every client command takes (--analyzer, auth, TLS). */
extern const char client_persistent_help[];

/* client_request_headers, then: 0 when an answer came that the command reads; 1 after
 * printing why not ("skydive client: <err>", or a 401/403 with the credentials hint). */
int client_cli_request(const struct client_opts *o, const char *method, const char *path,
                       const char *accept, const char *body, const char *const *headers,
                       struct client_response *r);
/* Prints r's JSON body re-indented (tab or two spaces); 0, or 1 after saying why not. */
int client_cli_print_json(const struct client_response *r, int tab);

/* Prints the analyzer's error answer r (a Gremlin error with a caret under its Position in
 * query, when given); returns 1. */
int client_cli_report(const struct client_response *r, const char *query);

#endif
