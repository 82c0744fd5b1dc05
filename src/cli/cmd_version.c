/* cmd_version.c - `skydive version`. */
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
