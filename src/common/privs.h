/* privs.h - least privilege (docs/SECURITY.md "Privileges"): the analyzer refuses to
 * run as root unless told to; the agent keeps only the capabilities its probes and
 * captures use and may switch to an unprivileged user. Owned by the privileges work.
 * Errors: 0, or -1 with err filled ("which capability, which call failed"). */
#ifndef SKYDIVE_PRIVS_H
#define SKYDIVE_PRIVS_H

#include <stddef.h>

struct config;

/* The agent's set: CAP_NET_RAW (packet sockets: afpacket, pcap, ebpf filters),
 * CAP_NET_ADMIN (promiscuous mode, fanout, OVS mirror ports, netlink changes),
 * CAP_SYS_ADMIN (setns into other network namespaces), CAP_BPF and CAP_PERFMON
 * (ebpf capture). "cap_net_raw,cap_net_admin,cap_sys_admin,cap_bpf,cap_perfmon".
 * With the socketinfo, docker or runc probe in agent.topology.probes, also
 * CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (other processes' /proc/PID/fd and
 * /proc/PID/ns/net, runc's root-only state directories). */
extern const char PRIVS_AGENT_CAPS[];

/* For `skydive analyzer`: -1 with the reason when the effective uid is 0 and neither
 * allow_root_flag nor analyzer.allow_root is set. */
int privs_refuse_root(const struct config *cfg, int allow_root_flag, char *err, size_t errlen);

/* For the agent and allinone, before any thread starts (capabilities are per thread;
 * threads created later inherit them): when user is set (agent.user), switch to it
 * (its groups too) keeping the capabilities; then keep exactly the agent's set that
 * the process has, in the permitted and effective sets, drop the rest from the
 * bounding set when allowed (CAP_SETPCAP), clear the inheritable and ambient sets,
 * and set no_new_privs. Logs the kept set and warns about missing ones. Does nothing
 * (returns 0) when agent.drop_capabilities is false. */
int privs_drop_agent(const struct config *cfg, char *err, size_t errlen);

#endif
