/* inject_req.h - one packet injection as the analyzer resolves it for one source node
 * and the agent runs it (Skydive's packetinjector.PacketInjectionRequest): its JSON both
 * ways, its bounds, and the TrackingID / L3TrackingID the flow of its packets gets. Pure:
 * no thread, no graph; the analyzer (inject_res.c) and the agent (injector.c) share it. */
#ifndef SKYDIVE_INJECT_REQ_H
#define SKYDIVE_INJECT_REQ_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "flow/flow.h"
#include "inject/forge.h"

/* Skydive's namespace of injection requests: ondemand.Namespace + "PacketInjection"
 * (graffiti/ondemand/client/client.go). */
#define INJECT_NAMESPACE "OnDemandPacketInjection"

/* Bounds of a request (a larger value is refused with a reason). */
#define INJECT_MAX_COUNT 1000000
#define INJECT_MAX_INTERVAL_MS 3600000 /* one hour between packets */
/* A Pcap to replay, decoded: its base64 stays within the agent's 1 MiB message bound */
#define INJECT_MAX_PCAP (512u << 10)
#define INJECT_DEFAULT_PAYLOAD 56      /* random letters when none is given, as ping */

/* The resolved request (Skydive's PacketInjectionRequest). */
struct inject_req {
	char uuid[37];
	enum forge_type type;
	uint8_t src_mac[6], dst_mac[6];
	uint8_t src_ip[16], dst_ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t src_port, dst_port, icmp_id;
	uint8_t ttl;
	uint64_t count, interval_ms;
	int64_t inc_payload; /* letters added to the payload after each packet */
	int mode_random;     /* Mode "random": a random ICMP id / source port per packet */
	char *payload;       /* malloc'd, NUL-terminated; "" = INJECT_DEFAULT_PAYLOAD letters */
	size_t payload_len;
	/* Skydive's Pcap: a capture file whose frames are sent instead of forged ones (the
	 * addresses, ports and payload are then not used); malloc'd, NULL = none */
	uint8_t *pcap;
	size_t pcap_len;
	uint64_t pcap_packets; /* frames in it */
};

void inject_req_clear(struct inject_req *r); /* frees payload and pcap; NULL is fine */

/* Takes the base64 text of a pcap or pcapng file (Skydive's []byte Pcap in JSON) into r:
 * decoded, at most INJECT_MAX_PCAP bytes, read by libpcap, Ethernet frames, at least one;
 * its frame count in r->pcap_packets, its first frame (at most firstcap bytes, may be
 * NULL) copied into first with *first_len. 0, or -EINVAL with err filled, -ENOMEM. */
int inject_req_set_pcap(struct inject_req *r, const char *b64, size_t len, uint8_t *first,
                        size_t firstcap, size_t *first_len, char *err, size_t errlen);
/* Checks what no field type says: Count in 1..INJECT_MAX_COUNT, Interval, the payload
 * growth within FORGE_MAX_PAYLOAD. 0, or -EINVAL with err filled. */
int inject_req_check(const struct inject_req *r, char *err, size_t errlen);
/* The agent's message form: every field, as Skydive's PacketInjectionRequest names
 * them. New reference, NULL on out of memory. */
json_t *inject_req_to_json(const struct inject_req *r);
/* Parses that form (strict: each field of its JSON type and range, addresses of the
 * Type's family, MACs "aa:bb:cc:dd:ee:ff") and checks it. 0, or -EINVAL with err
 * filled, r cleared. */
int inject_req_from_json(const json_t *o, struct inject_req *r, char *err, size_t errlen);

/* 32 random bits (getrandom; the clock when it fails): TCP sequence numbers, Mode
 * random's ids and ports, the analyzer's source ports. */
uint32_t inject_rand32(void);

/* Frame number i (0-based) of r into buf[cap]: ICMP id and source port as given (Mode
 * random changes them per packet), the payload given (payload_len bytes), tcp_seq the
 * SYN's sequence number. Its length, or forge_frame's -errno. */
int inject_req_frame(const struct inject_req *r, uint64_t i, uint16_t id, uint16_t sport,
                     uint32_t tcp_seq, const uint8_t *payload, size_t payload_len,
                     uint8_t *buf, size_t cap);

/* The TrackingID and L3TrackingID (up to 16 hex digits each, as the flows' own, into tid[17] and l3[17]) of the
 * flow of frame[0..len) (an Ethernet frame) under key mode, as a capture of it computes
 * them (one frame through a one-flow table, flow_id.c): neither depends on the payload
 * or the TCP sequence number. 0, or -ENOMEM / -EINVAL (no flow). */
int inject_tracking_ids(const uint8_t *frame, size_t len, enum flow_key_mode mode,
                        char tid[17], char l3[17]);

#endif
