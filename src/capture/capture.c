/* capture.c - the generic side of capture.h: calls into each backend's ops. */
#include "capture/capture_int.h"

#include <ctype.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int capture_linktype(const struct capture *c)
{
	return c->linktype;
}

int capture_tstamp_nano(const struct capture *c)
{
	return c->nano;
}

int capture_set_filter(struct capture *c, const char *bpf, char *err, size_t errlen)
{
	if (!c->ops->set_filter) {
		snprintf(err, errlen, "this capture type does not take a BPF filter");
		return -ENOTSUP;
	}
	return c->ops->set_filter(c, bpf, err, errlen);
}

int capture_dispatch(struct capture *c, int max, capture_cb cb, void *user)
{
	return c->ops->dispatch(c, max, cb, user);
}

int capture_stats(struct capture *c, struct capture_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c->ops->stats)
		return c->ops->stats(c, out);
	out->received = c->received;
	return 0;
}

int capture_fd(const struct capture *c)
{
	return c->ops->fd ? c->ops->fd(c) : -1;
}

const char *capture_error(const struct capture *c)
{
	return c->err;
}

void capture_close(struct capture *c)
{
	if (c)
		c->ops->close(c);
}

/* libpcap's optimiser costs grow with about the cube of the terms (measured: 100
 * "port N" terms 0.15 s, 400 host terms 3 s, 3,000 minutes), and filters are compiled
 * on event loops and capture threads: a filter is refused before it gets there when it
 * is longer than CAPTURE_BPF_MAX_LEN or joins more than CAPTURE_BPF_MAX_TERMS terms. */
int capture_bpf_bounded(const char *bpf, char *err, size_t errlen)
{
	size_t len = strlen(bpf), terms = 1;
	if (len > CAPTURE_BPF_MAX_LEN) {
		snprintf(err, errlen, "BPF filter of %zu bytes refused (at most %d)", len,
			 CAPTURE_BPF_MAX_LEN);
		return -E2BIG;
	}
	for (const char *p = bpf; *p; p++) {
		if ((p[0] == '&' && p[1] == '&') || (p[0] == '|' && p[1] == '|')) {
			terms++;
			p++;
			continue;
		}
		int word_start = p == bpf || !isalnum((unsigned char)p[-1]);
		size_t w = !strncasecmp(p, "and", 3) ? 3 : !strncasecmp(p, "or", 2) ? 2 : 0;
		if (word_start && w && !isalnum((unsigned char)p[w])) {
			terms++;
			p += w - 1;
		}
	}
	if (terms > CAPTURE_BPF_MAX_TERMS) {
		snprintf(err, errlen,
			 "BPF filter of %zu terms refused (at most %d joined by and/or: libpcap's "
			 "compile time grows steeply with them; use ranges such as 'portrange' or "
			 "'net')",
			 terms, CAPTURE_BPF_MAX_TERMS);
		return -E2BIG;
	}
	return 0;
}

int capture_bpf_compile(int linktype, uint32_t snaplen, const char *bpf, struct bpf_program *prog,
			char *err, size_t errlen)
{
	if (capture_bpf_bounded(bpf, err, errlen))
		return -EINVAL;
	pcap_t *dead = pcap_open_dead(linktype, (int)(snaplen ? snaplen : 262144));
	if (!dead) {
		snprintf(err, errlen, "cannot compile BPF filter: out of memory");
		return -ENOMEM;
	}
	if (pcap_compile(dead, prog, bpf, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(err, errlen, "invalid BPF filter '%s': %s", bpf, pcap_geterr(dead));
		pcap_close(dead);
		return -EINVAL;
	}
	pcap_close(dead);
	return 0;
}

int capture_bpf_check(int linktype, const char *bpf, char *err, size_t errlen)
{
	struct bpf_program prog;
	int r = capture_bpf_compile(linktype, 0, bpf, &prog, err, errlen);
	if (!r)
		pcap_freecode(&prog);
	return r;
}

int capture_pcap_setfilter(pcap_t *p, const char *bpf, char *err, size_t errlen)
{
	struct bpf_program prog;
	if (capture_bpf_bounded(bpf, err, errlen))
		return -EINVAL;
	if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN)) {
		snprintf(err, errlen, "invalid BPF filter '%s': %s", bpf, pcap_geterr(p));
		return -EINVAL;
	}
	int r = pcap_setfilter(p, &prog);
	pcap_freecode(&prog);
	if (r) {
		snprintf(err, errlen, "cannot set BPF filter '%s': %s", bpf, pcap_geterr(p));
		return -EINVAL;
	}
	return 0;
}
