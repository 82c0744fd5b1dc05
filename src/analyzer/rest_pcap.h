/* rest_pcap.h - POST /api/pcap (a pcap/pcapng stream turned into flows in the flow
 * store) and the pcap answer of a RawPackets() query (Accept: application/vnd.tcpdump.pcap). */
#ifndef SKYDIVE_REST_PCAP_H
#define SKYDIVE_REST_PCAP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/rest.h"
#include "store/flow_store.h"

#define REST_CT_PCAP "application/vnd.tcpdump.pcap"

struct rest_pcap_opts {
	int64_t raw_packet_limit; /* raw packets kept per flow: 0 none (default), N, -1 all */
	const char *node_tid;     /* NodeTID of the flows; NULL or "" for none */
	int64_t now_ms;           /* ingest time (store age limit); 0 = the wall clock */
};

struct rest_pcap_result {
	uint64_t packets, flows, raw_kept, raw_dropped;
	int corrupt;    /* the stream broke off; err names the offset */
	char err[512];
};

/* Reads the capture file at path (pcap or pcapng) through a flow table with offline
 * semantics and stores every flow it ends in s, with the raw packets asked for.
 * Returns 0 (also when the stream is corrupt: r->corrupt, and the flows read so far
 * are stored), or -EINVAL when it is not a capture file / -ENOMEM, with r->err set. */
int rest_pcap_ingest(struct flow_store *s, const char *path, const struct rest_pcap_opts *o,
		     struct rest_pcap_result *r);

/* The whole POST /api/pcap answer for a body saved at path: 202 {"Packets","Flows"}, 400
 * {"Error","Packets","Flows"} for a corrupt or foreign stream, 503 without a flow store.
 * query is the URL query string ("rawpacketlimit=5") or NULL. */
void rest_pcap_handle(const struct rest_ctx *c, const char *path, const char *query,
		      const char *node_tid, struct rest_response *out);

/* Turns a RawPackets() result ([{"<uuid>": [{"Timestamp","Index","Data","LinkType"}]}])
 * into a pcap file, every packet in time order, link type of the first packet (others
 * skipped and counted in *skipped). Returns 0 with *out malloc'd, or -EINVAL (not a
 * RawPackets() result) / -ENOMEM with err set. */
int rest_pcap_from_raw(const json_t *result, char **out, size_t *len, size_t *skipped, char *err,
		       size_t errlen);

/* The same from typed raw packets (gremlin_result.raw_pkts; no JSON, no base64): caplen
 * and wire length as stored. Both write a nanosecond pcap (magic a1b23c4d) when a
 * packet's time has sub-microsecond digits, else a microsecond one (a Skydive agent's
 * ms times, a us capture), so nothing is cut and old readers keep working. 0 or -ENOMEM
 * with err set. */
int rest_pcap_from_pkts(const struct gremlin_raw_pkt *const *pkts, size_t n, char **out,
			size_t *len, size_t *skipped, char *err, size_t errlen);

#endif
