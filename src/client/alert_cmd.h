/* alert_cmd.h - `skydive client alert create|list|get|delete` through the analyzer's
 * /api/alert (Skydive's graffiti/cmd/client/alert.go: flags and output). */
#ifndef SKYDIVE_ALERT_CMD_H
#define SKYDIVE_ALERT_CMD_H

#include <stdio.h>

/* Runs `skydive client [OPTIONS] alert ...` (argv[0] is "client"); returns the exit
 * code: 0, 1 error (the analyzer's reason printed), 2 usage. */
int client_alert_main(int argc, char **argv);
/* The usage lines of the alert commands, for `skydive client --help`. */
void client_alert_usage_lines(FILE *out);

#endif
