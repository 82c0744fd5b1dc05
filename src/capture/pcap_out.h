/* pcap_out.h - writes frames as a classic pcap file through libpcap's dumper. */
#ifndef SKYDIVE_PCAP_OUT_H
#define SKYDIVE_PCAP_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pcap_out;

/* Writes the file header for linktype to fp (borrowed; not closed): a
 * microsecond pcap (the format every reader knows), or with nano a
 * nanosecond one (magic a1b23c4d: tcpdump, tshark and libpcap >= 1.5 read
 * it), so a source's nanosecond times are kept. NULL with a message in err on
 * failure. */
struct pcap_out *pcap_out_open(FILE *fp, int linktype, char *err, size_t errlen);
struct pcap_out *pcap_out_open_ts(FILE *fp, int linktype, int nano, char *err, size_t errlen);
/* Appends one record: caplen bytes of data, the frame's wire length (>=
 * caplen: a frame cut to the header size says how long it was) and its time
 * (ns since the epoch; cut to us in a microsecond file). Returns 0 or -EIO. */
int pcap_out_write(struct pcap_out *o, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		   uint64_t ts_ns);
/* Flushes; returns 0 or -EIO if any write failed. Frees o (NULL is fine). */
int pcap_out_close(struct pcap_out *o);

#endif
