/* cli.h - subcommands of the skydive executable; each lives in its own file. */
#ifndef SKYDIVE_CLI_H
#define SKYDIVE_CLI_H

#define SKYDIVE_VERSION "0.1.0"

/* Each returns the process exit code: 0 ok, 1 runtime error, 2 usage error. */
int cmd_flows(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_pending(int argc, char **argv);

#endif
