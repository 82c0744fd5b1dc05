/* pcap_out.c - pcap writer on libpcap's dumper, so readers see what libpcap writes. */
#include "capture/pcap_out.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>

struct pcap_out {
	pcap_t *dead;
	pcap_dumper_t *d;
	FILE *fp;
	int nano;
};

struct pcap_out *pcap_out_open(FILE *fp, int linktype, char *err, size_t errlen)
{
	return pcap_out_open_ts(fp, linktype, 0, err, errlen);
}

struct pcap_out *pcap_out_open_ts(FILE *fp, int linktype, int nano, char *err, size_t errlen)
{
	struct pcap_out *o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	o->fp = fp;
	o->nano = !!nano;
	o->dead = pcap_open_dead_with_tstamp_precision(
		linktype, 262144, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
	if (o->dead)
		o->d = pcap_dump_fopen(o->dead, fp);
	if (!o->d) {
		snprintf(err, errlen, "cannot write pcap: %s", o->dead ? pcap_geterr(o->dead) : "out of memory");
		if (o->dead)
			pcap_close(o->dead);
		free(o);
		return NULL;
	}
	return o;
}

int pcap_out_write(struct pcap_out *o, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
		   uint64_t ts_ns)
{
	struct pcap_pkthdr h;
	h.ts.tv_sec = (time_t)(ts_ns / 1000000000ull);
	/* A nanosecond dumper writes tv_usec as it is: it holds the ns then. */
	h.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000ull / (o->nano ? 1 : 1000));
	h.caplen = caplen;
	h.len = wirelen > caplen ? wirelen : caplen; /* a record never says less */
	pcap_dump((u_char *)o->d, &h, data);
	return ferror(o->fp) ? -EIO : 0;
}

int pcap_out_close(struct pcap_out *o)
{
	if (!o)
		return 0;
	int r = pcap_dump_flush(o->d) ? -EIO : 0;
	if (ferror(o->fp))
		r = -EIO;
	/* pcap_dump_close would fclose the caller's FILE; the dumper is that
	 * FILE in libpcap, so there is nothing else of it to free. */
	pcap_close(o->dead);
	free(o);
	return r;
}
