/* main.c - the skydive executable: a table of subcommands, nothing else. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"flows", cmd_flows, "Read a pcap/pcapng file and print its flows (offline mode)"},
	{"analyzer", cmd_pending, "Run the analyzer (not in this build yet)"},
	{"agent", cmd_pending, "Run the agent (not in this build yet)"},
	{"allinone", cmd_pending, "Run analyzer and agent in one process (not in this build yet)"},
	{"client", cmd_pending, "Talk to an analyzer (not in this build yet)"},
	{"version", cmd_version, "Print the version"},
};

static void usage(FILE *out)
{
	fprintf(out, "Skydive, the network topology and protocol analyzer (C implementation)\n\n"
		     "Usage: skydive COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nRun 'skydive COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "skydive: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
