/* capture_afpacket.c - AF_PACKET TPACKET_V3 ring: frames are read in place from
 * blocks shared with the kernel, filtered in the kernel, optionally spread
 * over worker sockets with PACKET_FANOUT (one flow table per worker). */
#include "capture/capture_int.h"

/* net/if.h before the linux/ headers: glibc then keeps them from redefining
 * struct ifreq. */
#include <net/if.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/netns.h"

#define BLOCK_SIZE (1u << 20)
#define FRAME_SIZE 2048u

struct capture_afpacket {
	struct capture base;
	int fd;
	int ifindex;
	int fanout_group;
	uint8_t *ring;
	size_t ring_len;
	uint32_t nblocks, cur;
	uint32_t snaplen;
	int timeout_ms;
	struct capture_stats acc; /* PACKET_STATISTICS resets on read: accumulated */
	char ifname[IF_NAMESIZE];
	/* A frame whose VLAN tag the kernel moved to metadata is rebuilt here
	 * with the tag back in place, as libpcap does. */
	uint8_t scratch[65536 + 4];
};

static const struct capture_ops afpacket_ops;
static int start(struct capture_afpacket *c, const char *bpf, char *err, size_t errlen);

static int linktype_of(int fd, const char *ifname)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return DLT_EN10MB;
	switch (ifr.ifr_hwaddr.sa_family) {
	case ARPHRD_NONE:
	case ARPHRD_TUNNEL:
	case ARPHRD_TUNNEL6:
	case ARPHRD_SIT:
	case ARPHRD_IPGRE:
	case ARPHRD_IP6GRE:
		return DLT_RAW; /* no link header: frames start with IP */
	default:
		return DLT_EN10MB; /* Ethernet, loopback, veth, bridges ... */
	}
}

struct capture *capture_open_afpacket(const struct capture_live_opts *o, char *err, size_t errlen)
{
	int saved;
	struct capture_afpacket *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->snaplen = o->snaplen ? o->snaplen : 256;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : 100;
	c->fanout_group = o->fanout_group;
	snprintf(c->ifname, sizeof(c->ifname), "%s", o->ifname);
	if (netns_enter(o->netns, &saved, err, errlen)) {
		free(c);
		return NULL;
	}
	/* Socket and interface index both belong to the node's namespace.
	 * Protocol 0: the socket receives nothing until bind() names the
	 * interface and ETH_P_ALL. Opened with ETH_P_ALL it would take every
	 * interface's packets, unfiltered, until the filter and the bind are in
	 * place (seen as other interfaces' TCP flows in an "icmp" capture). */
	c->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	int e = errno;
	c->ifindex = (int)if_nametoindex(o->ifname);
	int ie = errno;
	if (c->fd >= 0)
		c->base.linktype = linktype_of(c->fd, o->ifname);
	c->base.nano = 1; /* TPACKET_V3 times are ns */
	netns_leave(saved);
	if (c->fd < 0) {
		snprintf(err, errlen, "AF_PACKET socket: %s%s", strerror(e),
			 e == EPERM ? " (run as root or with CAP_NET_RAW)" : "");
		goto fail;
	}
	if (!c->ifindex) {
		snprintf(err, errlen, "no interface %s%s%s: %s", o->ifname,
			 o->netns ? " in namespace " : "", o->netns ? o->netns : "", strerror(ie));
		goto fail;
	}
	int v = TPACKET_V3;
	if (setsockopt(c->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0) {
		snprintf(err, errlen, "TPACKET_V3 not available: %s", strerror(errno));
		goto fail;
	}
	uint32_t ring = o->ring_bytes ? o->ring_bytes : 8u << 20;
	struct tpacket_req3 req;
	memset(&req, 0, sizeof(req));
	req.tp_block_size = BLOCK_SIZE;
	req.tp_block_nr = ring / BLOCK_SIZE ? ring / BLOCK_SIZE : 1;
	req.tp_frame_size = FRAME_SIZE;
	req.tp_frame_nr = req.tp_block_nr * (BLOCK_SIZE / FRAME_SIZE);
	/* A block is handed over when full or after this timeout, so a quiet
	 * link still delivers its packets promptly. */
	req.tp_retire_blk_tov = (unsigned)c->timeout_ms;
	if (setsockopt(c->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		snprintf(err, errlen, "cannot set up a %u-byte ring: %s", ring, strerror(errno));
		goto fail;
	}
	c->nblocks = req.tp_block_nr;
	c->ring_len = (size_t)req.tp_block_nr * BLOCK_SIZE;
	c->ring = mmap(NULL, c->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, c->fd, 0);
	if (c->ring == MAP_FAILED) /* MAP_LOCKED may exceed RLIMIT_MEMLOCK: retry */
		c->ring = mmap(NULL, c->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->ring == MAP_FAILED) {
		c->ring = NULL;
		snprintf(err, errlen, "cannot map the ring: %s", strerror(errno));
		goto fail;
	}
	c->base.ops = &afpacket_ops;
	if (start(c, o->bpf, err, errlen))
		goto fail;
	return &c->base;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return NULL;
}

/* Installs bpf (NULL or "": none) on the socket; 0 or -errno with err filled. */
static int attach_bpf(struct capture_afpacket *c, const char *bpf, char *err, size_t errlen)
{
	if (!bpf || !*bpf) {
		/* No filter: remove the drop-all one start() may have set. */
		int unused = 0; /* the kernel wants an int's room, and ignores it */
		if (setsockopt(c->fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) < 0 &&
		    errno != ENOENT) {
			snprintf(err, errlen, "cannot remove the socket filter: %s", strerror(errno));
			return -errno;
		}
		return 0;
	}
	struct bpf_program prog;
	int r = capture_bpf_compile(c->base.linktype, 65535, bpf, &prog, err, errlen);
	if (r)
		return r;
	struct sock_fprog fp = {.len = (unsigned short)prog.bf_len,
				.filter = (struct sock_filter *)prog.bf_insns};
	r = setsockopt(c->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0 ? -errno : 0;
	pcap_freecode(&prog);
	if (r)
		snprintf(err, errlen, "cannot attach BPF filter '%s': %s", bpf, strerror(-r));
	return r;
}

/* Makes the socket receive, ready before capture_open_afpacket returns (so
 * before the caller reports the capture active), with only the interface's
 * frames that pass bpf, each in one worker of a fanout group. The socket was
 * opened with protocol 0 (it takes nothing yet). As libpcap, bind() names
 * the interface and ETH_P_ALL only once the filter is in place. A fanout
 * group can only be joined by a bound, receiving socket: between that bind
 * and the join every frame of the interface would reach this worker as well
 * as the group's, so until the join a filter that drops everything stands in
 * for bpf (SO_ATTACH_FILTER then replaces it atomically). */
static int start(struct capture_afpacket *c, const char *bpf, char *err, size_t errlen)
{
	static struct sock_filter drop_all[] = {{BPF_RET | BPF_K, 0, 0, 0}};
	if (c->fanout_group) {
		struct sock_fprog fp = {.len = 1, .filter = drop_all};
		if (setsockopt(c->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) < 0) {
			snprintf(err, errlen, "cannot attach a socket filter: %s", strerror(errno));
			return -EIO;
		}
	} else if (bpf && *bpf && attach_bpf(c, bpf, err, errlen)) {
		return -EINVAL;
	}
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = c->ifindex;
	if (bind(c->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		snprintf(err, errlen, "cannot bind to %s: %s", c->ifname, strerror(errno));
		return -EIO;
	}
	if (c->fanout_group) {
		int arg = (c->fanout_group & 0xffff) | (PACKET_FANOUT_HASH << 16);
		if (setsockopt(c->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0) {
			snprintf(err, errlen, "cannot join fanout group %d: %s", c->fanout_group,
				 strerror(errno));
			return -EIO;
		}
		if (attach_bpf(c, bpf, err, errlen))
			return -EINVAL;
	}
	return 0;
}

/* A later change of filter replaces the one in place atomically. */
static int afpacket_set_filter(struct capture *base, const char *bpf, char *err, size_t errlen)
{
	return attach_bpf((struct capture_afpacket *)base, bpf, err, errlen);
}

static int afpacket_dispatch(struct capture *base, int max, capture_cb cb, void *user)
{
	struct capture_afpacket *c = (struct capture_afpacket *)base;
	struct tpacket_block_desc *bd = (void *)(c->ring + (size_t)c->cur * BLOCK_SIZE);
	if (!(bd->hdr.bh1.block_status & TP_STATUS_USER)) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLERR};
		int r = poll(&p, 1, c->timeout_ms);
		if (r < 0 && errno != EINTR) {
			snprintf(c->base.err, sizeof(c->base.err), "poll: %s", strerror(errno));
			return -EIO;
		}
		if (!(bd->hdr.bh1.block_status & TP_STATUS_USER))
			return 0;
	}
	/* A whole block at a time: max only bounds how many blocks. */
	(void)max;
	int n = 0;
	struct tpacket3_hdr *h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
	for (uint32_t i = 0; i < bd->hdr.bh1.num_pkts; i++) {
		const uint8_t *data = (const uint8_t *)h + h->tp_mac;
		uint32_t caplen = h->tp_snaplen, wirelen = h->tp_len;
		if ((h->tp_status & TP_STATUS_VLAN_VALID) && c->base.linktype == DLT_EN10MB &&
		    caplen >= 12 && caplen <= sizeof(c->scratch) - 4) {
			uint16_t tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ? h->hv1.tp_vlan_tpid
										    : ETH_P_8021Q;
			memcpy(c->scratch, data, 12);
			c->scratch[12] = (uint8_t)(tpid >> 8);
			c->scratch[13] = (uint8_t)tpid;
			c->scratch[14] = (uint8_t)(h->hv1.tp_vlan_tci >> 8);
			c->scratch[15] = (uint8_t)h->hv1.tp_vlan_tci;
			memcpy(c->scratch + 16, data + 12, caplen - 12);
			data = c->scratch;
			caplen += 4;
			wirelen += 4;
		}
		struct capture_frame f = {
			.data = data,
			.caplen = caplen < c->snaplen ? caplen : c->snaplen,
			.wirelen = wirelen,
			.ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec,
			.linktype = c->base.linktype,
		};
		c->base.received++;
		cb(user, &f);
		n++;
		h = (void *)((uint8_t *)h + h->tp_next_offset);
	}
	__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	c->cur = (c->cur + 1) % c->nblocks;
	return n;
}

static int afpacket_stats(struct capture *base, struct capture_stats *out)
{
	struct capture_afpacket *c = (struct capture_afpacket *)base;
	struct tpacket_stats_v3 st;
	socklen_t len = sizeof(st);
	if (getsockopt(c->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
		c->acc.dropped_kernel += st.tp_drops;
	out->received = c->base.received;
	out->dropped_kernel = c->acc.dropped_kernel;
	return 0;
}

static int afpacket_fd(const struct capture *base)
{
	return ((const struct capture_afpacket *)base)->fd;
}

static void afpacket_close(struct capture *base)
{
	struct capture_afpacket *c = (struct capture_afpacket *)base;
	if (c->ring)
		munmap(c->ring, c->ring_len);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static const struct capture_ops afpacket_ops = {
	.dispatch = afpacket_dispatch,
	.set_filter = afpacket_set_filter,
	.stats = afpacket_stats,
	.fd = afpacket_fd,
	.close = afpacket_close,
};
