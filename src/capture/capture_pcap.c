/* capture_pcap.c - live capture through libpcap, opened inside the node's namespace. */
#include "capture/capture_int.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netns.h"

struct capture_pcap {
	struct capture base;
	pcap_t *p;
	int timeout_ms;
	capture_cb cb;
	void *user;
};

static const struct capture_ops pcap_ops;

struct capture *capture_open_pcap(const struct capture_live_opts *o, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	int saved, r;
	struct capture_pcap *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (netns_enter(o->netns, &saved, err, errlen)) {
		free(c);
		return NULL;
	}
	/* The socket is created (pcap_activate) inside the namespace, then
	 * this thread goes back; the socket stays where it was made. */
	c->p = pcap_create(o->ifname, perr);
	if (!c->p) {
		snprintf(err, errlen, "%s: %s", o->ifname, perr);
		goto fail;
	}
	pcap_set_snaplen(c->p, (int)(o->snaplen ? o->snaplen : 256));
	pcap_set_promisc(c->p, 1);
	/* Not immediate mode: the kernel hands over a block of packets when it
	 * fills or after the timeout, so one read returns a batch (immediate mode
	 * cost a system call per packet: ~5x the CPU per packet). */
	pcap_set_timeout(c->p, o->timeout_ms ? o->timeout_ms : 100);
	pcap_set_immediate_mode(c->p, 0);
	pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO);
	r = pcap_activate(c->p);
	if (r < 0) {
		snprintf(err, errlen, "cannot capture on %s%s%s: %s", o->ifname,
			 o->netns ? " in namespace " : "", o->netns ? o->netns : "",
			 r == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
			 : r == PCAP_ERROR_PERM_DENIED  ? "permission denied (run as root)"
							: pcap_geterr(c->p));
		goto fail;
	}
	/* Non-blocking, polled with our own timeout, so a worker always comes
	 * back to check whether it should stop, even on a quiet link. */
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 100;
	if (pcap_setnonblock(c->p, 1, perr) < 0) {
		snprintf(err, errlen, "%s: %s", o->ifname, perr);
		goto fail;
	}
	netns_leave(saved);
	c->base.ops = &pcap_ops;
	c->base.linktype = pcap_datalink(c->p);
	c->base.nano = pcap_get_tstamp_precision(c->p) == PCAP_TSTAMP_PRECISION_NANO;
	/* libpcap drains what its socket took before the filter (its "total
	 * filter" step), so setting it right after activation is exact. */
	if (o->bpf && *o->bpf && capture_pcap_setfilter(c->p, o->bpf, err, errlen)) {
		pcap_close(c->p);
		free(c);
		return NULL;
	}
	return &c->base;
fail:
	netns_leave(saved);
	if (c->p)
		pcap_close(c->p);
	free(c);
	return NULL;
}

static int pcap_set_filter_op(struct capture *base, const char *bpf, char *err, size_t errlen)
{
	return capture_pcap_setfilter(((struct capture_pcap *)base)->p, bpf, err, errlen);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct capture_pcap *c = (struct capture_pcap *)user;
	struct capture_frame f = {
		.data = bytes,
		.caplen = h->caplen,
		.wirelen = h->len > h->caplen ? h->len : h->caplen,
		.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec,
		.linktype = c->base.linktype,
	};
	c->base.received++;
	c->cb(c->user, &f);
}

static int pcap_dispatch_op(struct capture *base, int max, capture_cb cb, void *user)
{
	struct capture_pcap *c = (struct capture_pcap *)base;
	c->cb = cb;
	c->user = user;
	int n = pcap_dispatch(c->p, max > 0 ? max : 4096, on_packet, (u_char *)c);
	if (n == 0) {
		struct pollfd p = {.fd = pcap_get_selectable_fd(c->p), .events = POLLIN};
		if (poll(&p, 1, c->timeout_ms) > 0)
			n = pcap_dispatch(c->p, max > 0 ? max : 4096, on_packet, (u_char *)c);
	}
	if (n >= 0 || n == PCAP_ERROR_BREAK)
		return n < 0 ? 0 : n;
	snprintf(c->base.err, sizeof(c->base.err), "capture failed: %s", pcap_geterr(c->p));
	return -EIO;
}

static int pcap_stats_op(struct capture *base, struct capture_stats *out)
{
	struct capture_pcap *c = (struct capture_pcap *)base;
	struct pcap_stat ps;
	out->received = c->base.received;
	if (pcap_stats(c->p, &ps) == 0) {
		out->dropped_kernel = ps.ps_drop;
		out->dropped_ifdrop = ps.ps_ifdrop;
	}
	return 0;
}

static int pcap_fd_op(const struct capture *base)
{
	const struct capture_pcap *c = (const struct capture_pcap *)base;
	return pcap_get_selectable_fd(c->p);
}

static void pcap_close_op(struct capture *base)
{
	struct capture_pcap *c = (struct capture_pcap *)base;
	pcap_close(c->p);
	free(c);
}

static const struct capture_ops pcap_ops = {
	.dispatch = pcap_dispatch_op,
	.set_filter = pcap_set_filter_op,
	.stats = pcap_stats_op,
	.fd = pcap_fd_op,
	.close = pcap_close_op,
};
