/* ebpf_capture.h - the agent's ebpf capture type: the in-kernel flow table of
 * src/ebpf polled into a flow table, no raw packets and no BPF filter. */
#ifndef SKYDIVE_EBPF_CAPTURE_H
#define SKYDIVE_EBPF_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "flow/flow_table.h"

#define EBPF_CAPTURE_POLL_MS 1000 /* how often the kernel map is drained */
/* Kernel flow entries read per second at most (agent.flow.ebpf.polling_rate,
 * Skydive's default, flow/probes/ebpf/ebpf.go): the rest wait in the map,
 * still counted, for the next polls. */
#define EBPF_CAPTURE_POLLING_RATE 16000

struct ebpf_capture;

/* Loads and attaches the program to ifname in netns (NULL = this one);
 * polling_rate: entries read per second (0 = EBPF_CAPTURE_POLLING_RATE).
 * Returns NULL with a message in err. */
struct ebpf_capture *ebpf_capture_open(const char *netns, const char *ifname,
				       uint32_t polling_rate, char *err, size_t errlen);
void ebpf_capture_close(struct ebpf_capture *c); /* detaches and unloads; NULL is fine */

/* Drains the kernel map into t (one flow_table_feed_record per entry), at
 * most polling_rate * EBPF_CAPTURE_POLL_MS / 1000 entries (it is called every
 * EBPF_CAPTURE_POLL_MS). Returns the entries drained, or -errno. */
int ebpf_capture_poll(struct ebpf_capture *c, struct flow_table *t);

/* Packets counted by the kernel so far (PacketsReceived). */
uint64_t ebpf_capture_packets(const struct ebpf_capture *c);
/* New flows the kernel map refused, full (KernelFlowDropped). */
uint64_t ebpf_capture_kernel_dropped(const struct ebpf_capture *c);

#endif
