/* cmd_version.c - `skydive version`, and the placeholder for commands still to come. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <xxhash.h>

#include "cli/cli.h"

int cmd_version(int argc, char **argv)
{
	printf("skydive %s (%s, xxhash %u)\n", SKYDIVE_VERSION, pcap_lib_version(),
	       XXH_versionNumber());
	return 0;
}

int cmd_pending(int argc, char **argv)
{
	fprintf(stderr,
		"skydive %s: this command is not implemented in this build yet.\n"
		"Available now: 'skydive flows --read FILE' (offline flow analysis).\n",
		argv[0]);
	return 2;
}
