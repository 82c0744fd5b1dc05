/* capture_cmd.h - `skydive client capture create|list|get|delete` through the
 * analyzer's /api/capture (Skydive's flags and output). */
#ifndef SKYDIVE_CAPTURE_CMD_H
#define SKYDIVE_CAPTURE_CMD_H

#include <stdio.h>

/* 1 when the first command word of `skydive client ARGS` is "capture". */
int client_capture_wanted(int argc, char **argv);
/* Runs `skydive client [OPTIONS] capture ...` (argv[0] is "client"); returns
 * the exit code: 0, 1 error (the analyzer's reason printed), 2 usage. */
int client_capture_main(int argc, char **argv);
/* The usage lines of the capture commands, for `skydive client --help`. */
void client_capture_usage_lines(FILE *out);

#endif
