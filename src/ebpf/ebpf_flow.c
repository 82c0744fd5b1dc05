/* ebpf_flow.c - the user side of flow.bpf.c: load, attach in a namespace,
 * drain (see ebpf_flow.h). */
#include "ebpf/ebpf_flow.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/netns.h"
#include "flow.skel.h"

#define DRAIN_CHUNK 256

/* The kernel hashes every byte of the key: no compiler padding allowed. */
_Static_assert(sizeof(struct ebpf_flow_key) == 62, "ebpf_flow_key has holes");
_Static_assert(sizeof(struct ebpf_flow_val) == 56, "ebpf_flow_val changed");

struct ebpf_flow {
	struct skydive_flow *skel;
	int sock;
	uint32_t prog_id;
	struct ebpf_flow_key keys[DRAIN_CHUNK];
	struct ebpf_flow_val vals[DRAIN_CHUNK];
};

static int print_fn(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	if (lvl == LIBBPF_DEBUG)
		return 0;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	log_warn("libbpf: %s", line);
	return 0;
}

static pthread_once_t print_once = PTHREAD_ONCE_INIT;

static void set_print(void)
{
	libbpf_set_print(print_fn);
}

struct ebpf_flow *ebpf_flow_open(const char *netns, const char *ifname, uint32_t max_entries,
				 char *err, size_t errlen)
{
	pthread_once(&print_once, set_print);
	struct ebpf_flow *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->sock = -1;
	e->skel = skydive_flow__open();
	if (!e->skel) {
		snprintf(err, errlen, "ebpf: cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	uint32_t n = max_entries ? max_entries : EBPF_FLOW_MAX_ENTRIES;
	bpf_map__set_max_entries(e->skel->maps.flows0, n);
	bpf_map__set_max_entries(e->skel->maps.flows1, n);
	int rc = skydive_flow__load(e->skel);
	if (rc) {
		snprintf(err, errlen, "ebpf: cannot load the BPF program: %s%s", strerror(-rc),
			 rc == -EPERM ? " (run as root or with CAP_BPF)" : "");
		goto fail;
	}
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	memset(&info, 0, sizeof(info));
	int pfd = bpf_program__fd(e->skel->progs.skydive_flow);
	if (bpf_obj_get_info_by_fd(pfd, &info, &ilen) == 0)
		e->prog_id = info.id;

	int saved;
	if (netns_enter(netns, &saved, err, errlen))
		goto fail;
	/* Socket and interface index both belong to the node's namespace.
	 * Protocol 0: nothing reaches the socket until bind() below names the
	 * interface and ETH_P_ALL (opened with ETH_P_ALL, every interface's
	 * frames would queue on it, unread, until the program and the bind). */
	e->sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	int se = errno;
	unsigned ifindex = if_nametoindex(ifname);
	int ie = errno;
	netns_leave(saved);
	if (e->sock < 0) {
		snprintf(err, errlen, "ebpf: AF_PACKET socket: %s", strerror(se));
		goto fail;
	}
	if (!ifindex) {
		snprintf(err, errlen, "ebpf: no interface %s%s%s: %s", ifname,
			 netns && *netns ? " in namespace " : "", netns ? netns : "", strerror(ie));
		goto fail;
	}
	/* The filter first, then bind: no frame reaches the socket unfiltered
	 * (and the filter queues none). */
	if (setsockopt(e->sock, SOL_SOCKET, SO_ATTACH_BPF, &pfd, sizeof(pfd))) {
		snprintf(err, errlen, "ebpf: SO_ATTACH_BPF: %s", strerror(errno));
		goto fail;
	}
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)ifindex,
	};
	if (bind(e->sock, (struct sockaddr *)&sll, sizeof(sll))) {
		snprintf(err, errlen, "ebpf: bind to %s: %s", ifname, strerror(errno));
		goto fail;
	}
	return e;
fail:
	ebpf_flow_close(e);
	return NULL;
}

void ebpf_flow_close(struct ebpf_flow *e)
{
	if (!e)
		return;
	if (e->sock >= 0)
		close(e->sock);
	skydive_flow__destroy(e->skel); /* NULL is fine */
	free(e);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ebpf_flow_drain(struct ebpf_flow *e, uint32_t max, ebpf_flow_fn fn, void *user)
{
	uint32_t old = __atomic_load_n(&e->skel->bss->active, __ATOMIC_RELAXED) & 1;
	__atomic_store_n(&e->skel->bss->active, old ^ 1, __ATOMIC_SEQ_CST);
	/* A program that read the old value is still in flight for at most a few
	 * microseconds (it runs under RCU); let it finish before reading. */
	struct timespec pause = {0, 1000000};
	nanosleep(&pause, NULL);
	int fd = bpf_map__fd(old ? e->skel->maps.flows1 : e->skel->maps.flows0);
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME);
	int64_t off = (int64_t)(real - mono);

	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t token = 0;
	void *in = NULL;
	uint32_t total = 0;
	while (!max || total < max) {
		uint32_t count = DRAIN_CHUNK;
		if (max && max - total < count)
			count = max - total;
		int rc = bpf_map_lookup_and_delete_batch(fd, in, &token, e->keys, e->vals, &count,
							 &opts);
		int er = rc ? errno : 0;
		for (uint32_t i = 0; i < count && (rc == 0 || er == ENOENT); i++) {
			const struct ebpf_flow_val *v = &e->vals[i];
			fn(user, &e->keys[i], v, (uint64_t)((int64_t)v->first_ns + off),
			   (uint64_t)((int64_t)v->last_ns + off));
			total++;
		}
		if (rc) {
			if (er == ENOENT)
				break; /* the end */
			return -er;
		}
		in = &token;
	}
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

uint64_t ebpf_flow_dropped(const struct ebpf_flow *e)
{
	return __atomic_load_n(&e->skel->bss->flow_dropped, __ATOMIC_RELAXED);
}

uint32_t ebpf_flow_prog_id(const struct ebpf_flow *e)
{
	return e->prog_id;
}
