/* main.c - the skydive executable: a table of subcommands, nothing else. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"


static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{"flows", cmd_flows, "Flows of a pcap/pcapng file or of a live interface, as JSON or pcap"},
	{"analyzer", cmd_analyzer, "Run the analyzer (REST and WebSocket API over the topology)"},
	{"agent", cmd_agent, "Run the agent (topology probes, pushed to the analyzers)"},
	{"allinone", cmd_allinone, "Run analyzer and agent in one process"},
	{"client", cmd_client, "Talk to an analyzer (Gremlin queries, topology, captures, status)"},
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
