/* cli.h - subcommands of the skydive executable; each lives in its own file. */
#ifndef SKYDIVE_CLI_H
#define SKYDIVE_CLI_H

#include "common/version.h"

#include <getopt.h>
#include <stdio.h>

/* Each returns the process exit code: 0 ok, 1 runtime error, 2 usage error. */
int cmd_flows(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_analyzer(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_allinone(int argc, char **argv);
int cmd_client(int argc, char **argv);

/* The agent options shared by `agent` and `allinone` (cmd_agent.c): help
 * text, and parsing into a configuration (extra handles the caller's own
 * options). Returns 0, or the exit code to use. */
struct config;
void agent_cli_options_help(FILE *out);
int agent_cli_parse(int argc, char **argv, const char *cmd, const struct option *extra_opts,
		    int (*extra)(int opt, const char *arg, void *user), void *user,
		    void (*usage)(FILE *out), struct config **cfg_out);

#endif
