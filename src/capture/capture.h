/* capture.h - one interface for every packet source.
 *
 * A source hands out batches of borrowed frames through a callback (the
 * libpcap idea): a frame is valid only during the callback. Every capture type
 * (file, afpacket, pcap, pcapsocket, sflow samples, ovsmirror) is one file
 * behind this header and feeds the same flow table. Errors land in the
 * handle's message buffer (capture_error). */
#ifndef SKYDIVE_CAPTURE_H
#define SKYDIVE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct capture_frame {
	const uint8_t *data;
	uint32_t caplen;  /* bytes in data */
	uint32_t wirelen; /* length on the wire */
	uint64_t ts_ns;   /* capture time, ns since the epoch */
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
};

/* AF_PACKET TPACKET_V3 ring opened inside o->netns. NULL with a message in
 * err (no such namespace or interface, no permission ...). */
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

/* Link type (LINKTYPE_*) of the frames. */
int capture_linktype(const struct capture *c);
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
