/* capture_int.h - what every capture backend provides behind capture.h. */
#ifndef SKYDIVE_CAPTURE_INT_H
#define SKYDIVE_CAPTURE_INT_H

#include "capture/capture.h"

struct capture_ops {
	int (*dispatch)(struct capture *c, int max, capture_cb cb, void *user);
	int (*set_filter)(struct capture *c, const char *bpf, char *err, size_t errlen);
	int (*stats)(struct capture *c, struct capture_stats *out);
	int (*fd)(const struct capture *c);
	void (*close)(struct capture *c); /* frees c */
};

/* First member of every backend's handle. */
struct capture {
	const struct capture_ops *ops;
	int linktype;
	int nano; /* timestamps finer than 1 us (capture_tstamp_nano) */
	uint64_t received;
	char err[512];
};

typedef struct pcap pcap_t;
/* Compiles bpf for a libpcap handle and installs it; 0 or -EINVAL with the
 * reason in err (file and pcap backends). */
int capture_pcap_setfilter(pcap_t *p, const char *bpf, char *err, size_t errlen);

#endif
