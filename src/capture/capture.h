/* capture.h - one interface for every packet source.
 *
 * A source hands out batches of borrowed frames through a callback (the
 * libpcap idea): a frame is valid only during the callback. Every capture type
 * (file, afpacket, pcap, pcapsocket, sflow samples; ovsmirror is afpacket on
 * the mirror's port) is one file behind this header; flow/flow_loop.h is the
 * one loop that feeds their frames to a flow table. Errors land in the
 * handle's message buffer (capture_error). */
#ifndef SKYDIVE_CAPTURE_H
#define SKYDIVE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "decode/sflow.h"

struct capture_frame {
	const uint8_t *data;
	uint32_t caplen;  /* bytes in data */
	uint32_t wirelen; /* length on the wire */
	uint64_t ts_ns;   /* capture time, ns since the epoch */
	int linktype;     /* LINKTYPE_* of this frame: a pcapsocket's streams and
	                     sFlow's header protocols differ from frame to frame */
};

typedef void (*capture_cb)(void *user, const struct capture_frame *f);

struct capture_stats {
	uint64_t received;       /* frames handed to the callback */
	uint64_t dropped_kernel; /* ring / socket drops reported by the kernel */
	uint64_t dropped_ifdrop; /* drops by the interface driver */
};

struct capture;
struct bpf_program;

/* Live capture on an interface. */
struct capture_live_opts {
	const char *netns;  /* namespace name (/var/run/netns) or path; NULL = current */
	const char *ifname; /* interface in that namespace */
	uint32_t snaplen;   /* bytes kept of each frame (the header size); 0 = 256 */
	int fanout_group;   /* afpacket: PACKET_FANOUT group id shared by workers; 0 = none */
	uint32_t ring_bytes; /* afpacket ring size; 0 = 8 MiB */
	int timeout_ms;     /* longest wait before a read returns; 0 = 100 */
	const char *bpf;    /* BPF filter; NULL or "" = none. Set by the open call, so no
	                       frame ever bypasses it (capture_set_filter later would
	                       let the first ones through) */
};

/* AF_PACKET TPACKET_V3 ring opened inside o->netns, receiving when this
 * returns (bound to the interface, in its fanout group, o->bpf in place): a
 * frame that arrives after the call is in the ring, one that arrives before,
 * or on another interface, never is. NULL with a message in err (no such
 * namespace or interface, no permission, a filter that does not compile ...). */
struct capture *capture_open_afpacket(const struct capture_live_opts *o, char *err,
				      size_t errlen);
/* libpcap live capture (same pipeline, libpcap's own ring). */
struct capture *capture_open_pcap(const struct capture_live_opts *o, char *err, size_t errlen);

/* Opens a pcap or pcapng file ("-" = standard input). NULL with a message in
 * err when it cannot be opened or is not a capture file. */
struct capture *capture_open_file(const char *path, char *err, size_t errlen);
/* The same on a descriptor (a pipe or a connected socket: a pcap or pcapng
 * stream), owned by the handle from the call on (closed on failure too).
 * Blocks until the stream's header has arrived; capture_dispatch blocks
 * reading records. name is used in messages. */
struct capture *capture_open_fd(int fd, const char *name, char *err, size_t errlen);

/* pcapsocket: a TCP listener on the agent host (agent.flow.pcapsocket: its
 * own namespace, not the node's) that reads every connection as a pcap or
 * pcapng stream (`tcpdump -U -w - | nc HOST PORT`). Each connection is read by
 * a thread of its own into one bounded queue that capture_dispatch empties; a
 * full queue blocks the readers (TCP flow control slows the senders), so
 * nothing is dropped. A malformed or truncated stream closes that connection
 * with a logged warning and counts in stream_errors; the listener keeps
 * serving. Frames carry their stream's link type; a BPF filter is checked for
 * Ethernet and compiled for each stream's link type. capture_close closes the
 * listener and every connection. */
struct capture_pcapsocket_opts {
	const char *bind_address;    /* IPv4 or IPv6 literal; NULL = 127.0.0.1 */
	uint16_t min_port, max_port; /* first free port of the range; 0 = 8100, 8132 */
	uint32_t snaplen;            /* bytes kept of each frame; 0 = 256 */
	int max_conns;               /* connections read at once; 0 = 16 */
};
/* Binds and listens (connections wait in the backlog until the first
 * capture_dispatch). NULL with err filled: bad address, no free port. */
struct capture *capture_open_pcapsocket(const struct capture_pcapsocket_opts *o, char *err,
					size_t errlen);
struct capture_pcapsocket_info {
	const char *address;    /* "ADDR:PORT" ("[ADDR]:PORT"), owned by the handle */
	uint64_t connections;   /* accepted so far */
	uint64_t stream_errors; /* closed on a malformed stream, a filter that does not
	                           compile for its link type, or refused (too many) */
};
/* Any thread. */
void capture_pcapsocket_info(const struct capture *c, struct capture_pcapsocket_info *out);

/* sflow: a UDP sFlow v5 collector on the agent host (agent.flow.sflow), for
 * switches and Open vSwitch exporting to it. capture_dispatch reads the
 * waiting datagrams, parses them (decode/sflow.h) and hands out each flow
 * sample's raw packet header as a frame of its header protocol's link type
 * (Ethernet, IPv4, IPv6; others are counted in skipped_headers), wire length
 * frame_length - stripped (the FCS) so Bytes count like a capture of the same
 * link. Frames are the sampled packets, NOT scaled by the sampling rate (the
 * last rate seen is in the info, for a reader to scale). A BPF filter runs in
 * user space on Ethernet headers (other header protocols are then skipped).
 * Counter samples are kept per ifIndex for capture_sflow_counters. */
struct capture_sflow_opts {
	const char *bind_address;    /* IPv4 or IPv6 literal; NULL = 127.0.0.1 */
	uint16_t port;               /* the capture's Port; 0 = first free of the range */
	uint16_t port_min, port_max; /* 0 = 6345, 6355 */
	uint32_t snaplen;            /* bytes kept of each header; 0 = 256 */
	int timeout_ms;              /* longest wait in capture_dispatch; 0 = 100 */
};
/* Binds the UDP socket. NULL with err filled: bad address, port taken, no free
 * port in the range. */
struct capture *capture_open_sflow(const struct capture_sflow_opts *o, char *err, size_t errlen);
struct capture_sflow_info {
	const char *address;    /* "ADDR:PORT" ("[ADDR]:PORT"), owned by the handle */
	uint32_t sampling_rate; /* of the last flow sample, 0 before one */
	uint64_t datagrams, datagram_errors, skipped_headers;
};
/* Any thread. */
void capture_sflow_info(const struct capture *c, struct capture_sflow_info *out);
/* One interface's latest counter sample, with the times (ms) it was first and
 * last seen. */
struct capture_sflow_if {
	int64_t start_ms, last_ms;
	struct sflow_if_counters c;
};
#define CAPTURE_SFLOW_MAX_IFS 256 /* interfaces whose counters a collector keeps */
/* Copies the interfaces' counters (up to max) into out and returns how many,
 * or 0 when no counter sample arrived since the previous call. Any thread. */
int capture_sflow_counters(struct capture *c, struct capture_sflow_if *out, int max);

/* Link type (LINKTYPE_*) of the frames: the source's first (or, during a
 * callback, current) one; each frame carries its own in capture_frame. */
int capture_linktype(const struct capture *c);
/* 1 when the source's times may be finer than a microsecond (afpacket, a
 * nanosecond pcap, a stream or file whose resolution is not known before it
 * is read), 0 when they are microseconds: what a pcap writer of its frames
 * needs to keep them (pcap_out_open_ts). */
int capture_tstamp_nano(const struct capture *c);
/* Compiles and installs a BPF filter for the source's link type; 0, or
 * -EINVAL with the compiler's message in err. */
int capture_set_filter(struct capture *c, const char *bpf, char *err, size_t errlen);
/* Delivers up to max frames (max <= 0: a source-defined batch). Returns the
 * number delivered, 0 at the end of a file (live sources: nothing arrived
 * within the timeout), or -EIO on a read error (message in capture_error(),
 * naming the byte offset for files). */
int capture_dispatch(struct capture *c, int max, capture_cb cb, void *user);
int capture_stats(struct capture *c, struct capture_stats *out);
/* A descriptor to poll for readability, or -1. */
int capture_fd(const struct capture *c);
/* Last error message; owned by the handle. */
const char *capture_error(const struct capture *c);
void capture_close(struct capture *c); /* NULL is fine */

/* Bounds of a BPF filter's text (docs/API.md "Limits"): compiling costs about the cube
 * of its terms. capture_bpf_bounded: 0, or -E2BIG with the reason; every compile below
 * checks it first. */
#define CAPTURE_BPF_MAX_LEN   4096
#define CAPTURE_BPF_MAX_TERMS 64
int capture_bpf_bounded(const char *bpf, char *err, size_t errlen);
/* Checks that a BPF filter compiles for a link type (API validation). */
int capture_bpf_check(int linktype, const char *bpf, char *err, size_t errlen);
/* Compiles a filter into prog (pcap_freecode it); 0 or -EINVAL with the
 * compiler's message. */
int capture_bpf_compile(int linktype, uint32_t snaplen, const char *bpf, struct bpf_program *prog,
			char *err, size_t errlen);

#endif
