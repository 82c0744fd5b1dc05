/* inject_cmd.h - `skydive client injection|inject-packet create|list|get|delete` through
 * the analyzer's /api/injectpacket (Skydive's cmd/client/packet_injector.go: flags,
 * defaults and the resource's TTL). */
#ifndef SKYDIVE_INJECT_CMD_H
#define SKYDIVE_INJECT_CMD_H

#include <stdio.h>

/* Runs `skydive client [OPTIONS] injection ...`; argv[0] is "client". Returns the exit
 * code: 0, 1 error (the analyzer's reason printed), 2 usage. */
int client_inject_main(int argc, char **argv);
/* Its usage lines, for `skydive client --help`. */
void client_inject_usage_lines(FILE *out);

#endif
