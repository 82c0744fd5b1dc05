/* socketinfo.h - the socketinfo probe: the TCP and UDP sockets (IPv4 and IPv6) of
 * the host's processes, read with sock_diag netlink (NETLINK_SOCK_DIAG, inet_diag)
 * in the agent's own network namespace and in every named namespace the netns probe
 * watches (the probe's thread enters each with setns), attributed to processes by
 * the socket inodes of /proc/PID/fd. Set as Skydive's topology/probes/socketinfo
 * does: one "Sockets" list on the host node ([{Process, Pid, Name, LocalAddress,
 * LocalPort, RemoteAddress, RemotePort, Protocol, State}], Skydive's ConnectionInfo),
 * refreshed every agent.topology.socketinfo.host_update seconds (Skydive's default
 * 10). A socket no process holds is left out, as Skydive's /proc probe does; those
 * and the sockets past SOCKETINFO_MAX_SOCKETS are counted in the host node's
 * "SocketInfo" key (ours: {Sockets, Unattributed, Overflow, Errors}).
 *
 * The parser (socketinfo_parse) is pure and unit tested and fuzzed; the probe
 * (topo_socketinfo_start/stop, topo_int.h) owns one thread. */
#ifndef SKYDIVE_SOCKETINFO_H
#define SKYDIVE_SOCKETINFO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SOCKETINFO_MAX_SOCKETS 4096 /* per refresh, all namespaces together */

/* One socket as inet_diag reports it. */
struct socketinfo_sock {
	uint8_t proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t state;	/* the kernel's TCP_* state (UDP sockets use the same numbers) */
	uint16_t lport, rport; /* host order */
	uint8_t laddr[16], raddr[16]; /* 4 or 16 bytes used, after family */
	uint32_t inode;
};

/* The process holding a socket. */
struct socketinfo_proc {
	int64_t pid;
	char name[64];	   /* comm, as /proc/PID/stat shows it between parentheses */
	char process[256]; /* the /proc/PID/exe link ("" when unreadable) */
};

/* Parses len bytes of sock_diag replies (a sequence of netlink messages, each an
 * inet_diag_msg with attributes) for a dump of protocol proto. Each socket is
 * appended to out[*n] while *n < max; the ones past max are counted in *over.
 * Returns 1 when the buffer ends the dump (NLMSG_DONE), 0 when more is to be read,
 * -EPROTO for a malformed message (truncated header or body, bad family), or the
 * kernel's -errno of an NLMSG_ERROR. */
int socketinfo_parse(const void *buf, size_t len, uint8_t proto, struct socketinfo_sock *out,
		     size_t max, size_t *n, uint64_t *over);

/* Skydive's State names: ESTABLISHED, SYN_SENT, ..., LISTEN, CLOSING; "CLOSE" for
 * the kernel's TCP_CLOSE (an unconnected UDP socket); UNKNOWN otherwise. */
const char *socketinfo_state_name(uint8_t state);

/* Skydive's ConnectionInfo JSON of s held by p. New reference, NULL on OOM. */
json_t *socketinfo_sock_json(const struct socketinfo_sock *s, const struct socketinfo_proc *p);

/* Reads /proc/PID/stat (comm) and /proc/PID/exe: 0 or -errno. proc_root is "/proc". */
int socketinfo_proc_read(const char *proc_root, int64_t pid, struct socketinfo_proc *p);

#endif
