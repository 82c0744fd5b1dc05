/* client_pcap.h - `skydive client pcap --trace FILE`: posts a capture file to the
 * analyzer's POST /api/pcap and prints the summary. */
#ifndef SKYDIVE_CLIENT_PCAP_H
#define SKYDIVE_CLIENT_PCAP_H

/* Whether argv (of `skydive client ...`) names the pcap command. */
int client_pcap_wanted(int argc, char **argv);
/* Runs it; returns the exit code (0 ok, 1 failure, 2 usage). */
int client_pcap_main(int argc, char **argv);

#endif
