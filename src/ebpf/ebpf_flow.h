/* ebpf_flow.h - loads flow.bpf.c into the kernel, attaches it to one
 * interface inside a network namespace and drains its flow map.
 *
 * One handle per (capture, node); used by one thread. Closing the handle
 * closes the socket and the program and maps with it: nothing stays in the
 * kernel, even when the process dies. */
#ifndef SKYDIVE_EBPF_FLOW_H_LOADER
#define SKYDIVE_EBPF_FLOW_H_LOADER

#include <stddef.h>
#include <stdint.h>

#include "ebpf/flow.h"

struct ebpf_flow;

/* Loads and attaches (SO_ATTACH_BPF on an AF_PACKET socket bound to ifname,
 * opened in netns; NULL or "" = the current namespace). max_entries per map,
 * 0 = EBPF_FLOW_MAX_ENTRIES. Returns NULL with a message in err. */
struct ebpf_flow *ebpf_flow_open(const char *netns, const char *ifname, uint32_t max_entries,
				 char *err, size_t errlen);
void ebpf_flow_close(struct ebpf_flow *e); /* NULL is fine */

/* One kernel entry drained: key, value, first/last times already converted to
 * ns since the epoch. Valid only during the call. */
typedef void (*ebpf_flow_fn)(void *user, const struct ebpf_flow_key *k,
			     const struct ebpf_flow_val *v, uint64_t first_ns, uint64_t last_ns);

/* Switches the program to the other map, then reads and deletes up to max
 * entries (0 = all) of the one it left: each packet is reported once (an
 * entry left there is updated again when the program comes back to that map,
 * and read by a later drain). Returns the entries drained, or -errno. */
int ebpf_flow_drain(struct ebpf_flow *e, uint32_t max, ebpf_flow_fn fn, void *user);

/* New flows the kernel refused because the map was full (KernelFlowDropped). */
uint64_t ebpf_flow_dropped(const struct ebpf_flow *e);
/* The program's kernel id (bpftool prog show id N). */
uint32_t ebpf_flow_prog_id(const struct ebpf_flow *e);

#endif
