/* socketinfo.c - the socketinfo probe (socketinfo.h): sock_diag dumps per network
 * namespace, the /proc/PID/fd scan that names each socket's process, and the
 * "Sockets" list on the host node. As Skydive's topology/probes/socketinfo
 * (socket_info_proc.go, connection.go), which reads /proc/PID/net/{tcp,udp}{,6}
 * instead of netlink. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/netns.h"
#include "topology/socketinfo.h"
#include "topology/topo_int.h"

/* ---- the parser ---------------------------------------------------------------- */

int socketinfo_parse(const void *buf, size_t len, uint8_t proto, struct socketinfo_sock *out,
		     size_t max, size_t *n, uint64_t *over)
{
	const uint8_t *p = buf;
	while (len >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr h;
		memcpy(&h, p, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			return -EPROTO;
		const uint8_t *body = p + sizeof(h);
		size_t blen = h.nlmsg_len - sizeof(h);
		if (h.nlmsg_type == NLMSG_DONE)
			return 1;
		if (h.nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr e;
			if (blen < sizeof(e.error))
				return -EPROTO;
			memcpy(&e.error, body, sizeof(e.error));
			if (e.error) /* the kernel's -errno */
				return e.error < 0 && e.error > -4096 ? e.error : -EPROTO;
		} else if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY) {
			struct inet_diag_msg m;
			if (blen < sizeof(m))
				return -EPROTO;
			memcpy(&m, body, sizeof(m));
			if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
				return -EPROTO;
			if (*n < max) {
				struct socketinfo_sock *s = &out[(*n)++];
				memset(s, 0, sizeof(*s));
				s->proto = proto;
				s->family = m.idiag_family;
				s->state = m.idiag_state;
				s->lport = ntohs(m.id.idiag_sport);
				s->rport = ntohs(m.id.idiag_dport);
				size_t al = m.idiag_family == AF_INET ? 4 : 16;
				memcpy(s->laddr, m.id.idiag_src, al);
				memcpy(s->raddr, m.id.idiag_dst, al);
				s->inode = m.idiag_inode;
			} else {
				(*over)++;
			}
		} /* NLMSG_NOOP and others: nothing to read */
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return len && len < sizeof(struct nlmsghdr) ? -EPROTO : 0;
}

const char *socketinfo_state_name(uint8_t state)
{
	/* the kernel's TCP_* numbers (include/net/tcp_states.h); Skydive's tcpStateMap
	 * repeats TIME_WAIT at 7, which is TCP_CLOSE: we name it */
	static const char *const names[] = {
	    "UNKNOWN",	 "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	    "TIME_WAIT", "CLOSE",	"CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING",
	};
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "UNKNOWN";
}

json_t *socketinfo_sock_json(const struct socketinfo_sock *s, const struct socketinfo_proc *p)
{
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN];
	if (!inet_ntop(s->family, s->laddr, la, sizeof(la)) ||
	    !inet_ntop(s->family, s->raddr, ra, sizeof(ra)))
		return NULL;
	return json_pack("{s:s, s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:s}", "Process", p->process,
			 "Pid", (json_int_t)p->pid, "Name", p->name, "LocalAddress", la,
			 "LocalPort", (json_int_t)s->lport, "RemoteAddress", ra, "RemotePort",
			 (json_int_t)s->rport, "Protocol", s->proto == IPPROTO_TCP ? "TCP" : "UDP",
			 "State", socketinfo_state_name(s->state));
}

int socketinfo_proc_read(const char *proc_root, int64_t pid, struct socketinfo_proc *p)
{
	char path[128], stat[512];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "%s/%lld/stat", proc_root, (long long)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, stat, sizeof(stat) - 1);
	int e = errno;
	close(fd);
	if (r <= 0)
		return r < 0 ? -e : -EPROTO;
	stat[r] = 0;
	/* "PID (comm) S ...": comm may hold spaces and ')', so the last ')' ends it */
	char *o = strchr(stat, '('), *c = strrchr(stat, ')');
	if (!o || !c || c < o)
		return -EPROTO;
	size_t nl = (size_t)(c - o - 1);
	if (nl >= sizeof(p->name))
		nl = sizeof(p->name) - 1;
	memcpy(p->name, o + 1, nl);
	snprintf(path, sizeof(path), "%s/%lld/exe", proc_root, (long long)pid);
	r = readlink(path, p->process, sizeof(p->process) - 1);
	p->process[r > 0 ? r : 0] = 0;
	return 0;
}

/* ---- the probe ----------------------------------------------------------------- */

#define SI_MAX_FDS (1u << 20) /* socket fds remembered per /proc scan */
#define SI_MAX_NS 1024

struct si_ino {
	uint32_t inode;
	int32_t pid, fd;
};

struct topo_sockinfo {
	struct topology *t;
	pthread_t thread;
	int stop_fd;
	struct socketinfo_sock *socks;
	size_t n;
	uint64_t over, errors, unattributed;
	struct si_ino *inos; /* sorted by inode: the cache of the last /proc scan */
	size_t n_inos, cap_inos;
	uint32_t buf[8192]; /* one sock_diag read */
	json_t *last, *last_stats; /* the Sockets list and SocketInfo last set */
};

static int ino_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct si_ino *)a)->inode, y = ((const struct si_ino *)b)->inode;
	return x < y ? -1 : x > y;
}

static const struct si_ino *ino_find(const struct topo_sockinfo *si, uint32_t inode)
{
	struct si_ino k = {.inode = inode};
	if (!si->n_inos)
		return NULL;
	return bsearch(&k, si->inos, si->n_inos, sizeof(k), ino_cmp);
}

/* The cached owner still holds the socket: its fd links to socket:[inode]. */
static int ino_valid(const struct si_ino *e)
{
	char path[64], l[64], want[32];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", e->pid, e->fd);
	ssize_t r = readlink(path, l, sizeof(l) - 1);
	if (r <= 0)
		return 0;
	l[r] = 0;
	snprintf(want, sizeof(want), "socket:[%u]", e->inode);
	return !strcmp(l, want);
}

/* Every socket fd of every process into si->inos (bounded by SI_MAX_FDS). */
static void proc_scan(struct topo_sockinfo *si)
{
	si->n_inos = 0;
	DIR *d = opendir("/proc");
	if (!d) {
		si->errors++;
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
		DIR *fdd = opendir(path);
		if (!fdd)
			continue; /* gone, or not ours to read: its sockets count as unattributed */
		struct dirent *fe;
		while ((fe = readdir(fdd))) {
			long fd = strtol(fe->d_name, &end, 10);
			if (*end || fd < 0)
				continue;
			char l[64];
			ssize_t r = readlinkat(dirfd(fdd), fe->d_name, l, sizeof(l) - 1);
			unsigned inode;
			if (r <= 0)
				continue;
			l[r] = 0;
			if (sscanf(l, "socket:[%u]", &inode) != 1)
				continue;
			if (si->n_inos == si->cap_inos) {
				if (si->cap_inos >= SI_MAX_FDS)
					break;
				size_t nc = si->cap_inos ? si->cap_inos * 2 : 1024;
				struct si_ino *ni = realloc(si->inos, nc * sizeof(*ni));
				if (!ni)
					break;
				si->inos = ni;
				si->cap_inos = nc;
			}
			si->inos[si->n_inos++] = (struct si_ino){inode, (int32_t)pid, (int32_t)fd};
		}
		closedir(fdd);
	}
	closedir(d);
	if (si->n_inos)
		qsort(si->inos, si->n_inos, sizeof(*si->inos), ino_cmp);
}

/* Dumps one protocol and family on a sock_diag socket into si->socks. */
static int dump(struct topo_sockinfo *si, int fd, uint8_t family, uint8_t proto)
{
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		  .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		  .nlmsg_seq = 1},
	    .r = {.sdiag_family = family, .sdiag_protocol = proto, .idiag_states = ~0u},
	};
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t r = recv(fd, si->buf, sizeof(si->buf), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EPROTO;
		int rc = socketinfo_parse(si->buf, (size_t)r, proto, si->socks, SOCKETINFO_MAX_SOCKETS,
					  &si->n, &si->over);
		if (rc)
			return rc < 0 ? rc : 0;
	}
}

static void dump_ns(struct topo_sockinfo *si, const char *path)
{
	int saved = -1, fd;
	char err[256];
	if (path && netns_enter(path, &saved, err, sizeof(err))) {
		si->errors++;
		return;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int e = errno;
	if (path && netns_leave(saved))
		log_warn("socketinfo probe: cannot return to the agent's namespace");
	if (fd < 0) {
		log_warn("socketinfo probe: sock_diag socket%s%s: %s", path ? " in " : "",
			 path ? path : "", strerror(e));
		si->errors++;
		return;
	}
	static const uint8_t fam[] = {AF_INET, AF_INET6}, pro[] = {IPPROTO_TCP, IPPROTO_UDP};
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 2; j++) {
			int rc = dump(si, fd, fam[i], pro[j]);
			/* a kernel without IPv6 or UDP diag says so: not an error of ours */
			if (rc < 0 && rc != -ENOENT && rc != -EAFNOSUPPORT)
				si->errors++;
		}
	close(fd);
}

/* One refresh: the sockets of every namespace, their processes, the host node. */
static void refresh(struct topo_sockinfo *si)
{
	struct topology *t = si->t;
	si->n = 0;
	si->over = si->unattributed = 0;
	dump_ns(si, NULL);
	char *paths[SI_MAX_NS];
	size_t np = 0;
	pthread_mutex_lock(&t->ns_lock);
	for (struct topo_ns *ns = t->named; ns && np < SI_MAX_NS; ns = ns->next)
		if (ns->path && (paths[np] = strdup(ns->path)))
			np++;
	pthread_mutex_unlock(&t->ns_lock);
	for (size_t i = 0; i < np; i++) {
		dump_ns(si, paths[i]);
		free(paths[i]);
	}
	/* the cache answers while every socket's owner still holds it; else rescan (a
	 * socket without inode, as in TIME_WAIT, has no owner to find) */
	for (size_t i = 0; i < si->n; i++) {
		if (!si->socks[i].inode)
			continue;
		const struct si_ino *e = ino_find(si, si->socks[i].inode);
		if (!e || !ino_valid(e)) {
			proc_scan(si);
			break;
		}
	}
	json_t *list = json_array();
	struct socketinfo_proc pr = {.pid = -1};
	for (size_t i = 0; list && i < si->n; i++) {
		const struct si_ino *e =
		    si->socks[i].inode ? ino_find(si, si->socks[i].inode) : NULL;
		if (!e) {
			si->unattributed++;
			continue;
		}
		if (pr.pid != e->pid && socketinfo_proc_read("/proc", e->pid, &pr)) {
			pr.pid = -1;
			si->unattributed++;
			continue;
		}
		json_t *j = socketinfo_sock_json(&si->socks[i], &pr);
		if (!j || json_array_append_new(list, j)) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list) {
		si->errors++;
		return;
	}
	json_t *stats = json_pack("{s:I, s:I, s:I, s:I}", "Sockets", (json_int_t)json_array_size(list),
				  "Unattributed", (json_int_t)si->unattributed, "Overflow",
				  (json_int_t)si->over, "Errors", (json_int_t)si->errors);
	int64_t now = topo_now_ms();
	if (!stats) {
		json_decref(list);
		si->errors++;
		return;
	}
	/* the node changes (a revision, a message to the analyzers) only when they do */
	graph_lock(t->g);
	if (!si->last || !json_equal(si->last, list)) {
		json_decref(si->last);
		si->last = json_incref(list);
		graph_node_set_key(t->g, t->host_node_id, "Sockets", list, now);
	} else {
		json_decref(list);
	}
	if (!si->last_stats || !json_equal(si->last_stats, stats)) {
		json_decref(si->last_stats);
		si->last_stats = json_incref(stats);
		graph_node_set_key(t->g, t->host_node_id, "SocketInfo", stats, now);
	} else {
		json_decref(stats);
	}
	graph_unlock(t->g);
}

static void *si_thread(void *arg)
{
	struct topo_sockinfo *si = arg;
	for (;;) {
		refresh(si);
		struct pollfd p = {.fd = si->stop_fd, .events = POLLIN};
		int ms = (int)si->t->socketinfo_ms;
		int r = poll(&p, 1, ms);
		if (r > 0 || (r < 0 && errno != EINTR))
			break;
	}
	return NULL;
}

int topo_socketinfo_start(struct topology *t)
{
	struct topo_sockinfo *si = calloc(1, sizeof(*si));
	if (!si)
		return -ENOMEM;
	si->t = t;
	si->socks = calloc(SOCKETINFO_MAX_SOCKETS, sizeof(*si->socks));
	si->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!si->socks || si->stop_fd < 0) {
		int e = si->socks ? -errno : -ENOMEM;
		if (si->stop_fd >= 0)
			close(si->stop_fd);
		free(si->socks);
		free(si);
		return e;
	}
	int rc = pthread_create(&si->thread, NULL, si_thread, si);
	if (rc) {
		close(si->stop_fd);
		free(si->socks);
		free(si);
		return -rc;
	}
	t->sockinfo = si;
	return 0;
}

void topo_socketinfo_stop(struct topology *t)
{
	struct topo_sockinfo *si = t->sockinfo;
	if (!si)
		return;
	uint64_t one = 1;
	if (write(si->stop_fd, &one, sizeof(one)) < 0)
		log_warn("socketinfo probe: cannot wake the thread: %s", strerror(errno));
	pthread_join(si->thread, NULL);
	close(si->stop_fd);
	json_decref(si->last);
	json_decref(si->last_stats);
	free(si->inos);
	free(si->socks);
	free(si);
	t->sockinfo = NULL;
}
