/* oflow.c - the OpenFlow rule probe (Skydive's ovs.oflow, topology/probes/ovsdb/ovs_of.go
 * and ofctl.go): for each bridge the OVSDB probe knows, one `ovs-ofctl monitor BRIDGE
 * watch:` child whose output says that the flow table changed, and on each change a
 * `ovs-ofctl dump-flows BRIDGE` whose rules (ofctl_parse.h) become the bridge's ofrule
 * nodes: added, updated and deleted by difference with what the graph has. Groups the
 * same way: an OpenFlow 1.5 `ovs-ofctl monitor` told to forward group changes (Skydive's
 * MonitorGroup) and `dump-groups` give the bridge's ofgroup nodes. One thread
 * runs every child (never an event-loop thread); the rule state is guarded by the
 * graph lock, as the other probes' state. docs/TOPOLOGY.md "OpenFlow rules". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/smap.h"
#include "topology/ofctl_parse.h"
#include "topology/topo_int.h"

extern char **environ;

#define OFLOW_RETRY_MS 1000	   /* a monitor that ended is started again after this */
#define OFLOW_DUMP_TIMEOUT_MS 10000 /* a dump-flows that takes longer is killed */
#define OFLOW_MAX_RULES 100000	   /* per bridge; more are left out (counted, logged) */
#define OFLOW_MAX_OUTPUT (256u << 20)
#define OFLOW_LINE_MAX 65536

/* One ofrule or ofgroup node (graph lock). */
struct oflow_rule {
	char id[TOPOLOGY_ID_LEN];
	char uuid[TOPOLOGY_ID_LEN];
	json_t *md; /* what the graph has */
	int seen;   /* scratch of a diff */
};

/* The nodes of one kind of a bridge (graph lock). */
struct oflow_set {
	const char *type; /* "ofrule", "ofgroup" */
	struct oflow_rule **v;
	size_t n, cap;
	struct smap by_uuid; /* UUID -> struct oflow_rule */
};

/* One ovs-ofctl monitor child (the thread's). */
struct oflow_mon {
	pid_t pid;
	int fd;
	char *buf;
	size_t len;
	int dirty;	  /* it spoke: dump again */
	int64_t retry_at; /* start it again from then */
	int quiet;	  /* its failure was logged: not again until it works */
	char ctl[64];	  /* the group monitor's unixctl socket, "" for the flow one */
};

enum { MON_FLOWS, MON_GROUPS, MON_KINDS };

struct oflow_bridge {
	/* Set by topo_oflow_bridges (graph lock). */
	char *uuid, *name;
	char node_id[TOPOLOGY_ID_LEN];
	char *target; /* what ovs-ofctl is given: ovs.oflow.address's entry, else the name */
	int gone;     /* the OVSDB no longer has it: the thread reaps it */
	struct oflow_set set[MON_KINDS]; /* rules, groups */
	/* The thread's own. */
	struct oflow_mon mon[MON_KINDS];
	uint64_t left_out; /* rules past OFLOW_MAX_RULES at the last dump */
	struct oflow_bridge *next_gone;
};

struct topo_oflow {
	struct topology *t;
	pthread_t thread;
	int thread_started;
	int stop_fd, wake_fd;
	char *ofctl;	/* path of ovs-ofctl */
	char *appctl;	/* path of ovs-appctl (group monitor); NULL = no ofgroup nodes */
	unsigned ctl_seq; /* names of unixctl sockets */
	char *versions; /* -O argument */
	json_t *address; /* bridge name -> target */
	char *host;	/* the OVSDB target, the host part of Skydive's rule UUID prefix */
	json_t *warned;	/* bridge names already logged as having no address */
	/* graph lock */
	struct oflow_bridge **br;
	size_t n_br, cap_br;
	/* the thread's */
	uint64_t bad_lines;
};

/* ---- rules in the graph (graph lock held) ------------------------------------- */

static void node_delete(struct topo_oflow *f, struct oflow_set *set, size_t i, int64_t now)
{
	struct oflow_rule *r = set->v[i];
	int rc = graph_node_delete(f->t->g, r->id, now); /* its edge goes with it */
	if (rc < 0 && rc != -ENOENT)
		log_warn("oflow probe: deleting %s %s: %s", set->type, r->uuid, strerror(-rc));
	smap_del(&set->by_uuid, r->uuid);
	json_decref(r->md);
	free(r);
	set->v[i] = set->v[--set->n];
}

static void bridge_clear(struct topo_oflow *f, struct oflow_bridge *b, int64_t now)
{
	for (int k = 0; k < MON_KINDS; k++)
		while (b->set[k].n)
			node_delete(f, &b->set[k], b->set[k].n - 1, now);
}

/* Adds the node of a new rule or group (md stolen) and its ownership edge from the
 * bridge. */
static void node_add(struct topo_oflow *f, struct oflow_bridge *b, struct oflow_set *set,
		     const char *uuid, json_t *md, int64_t now)
{
	struct topology *t = f->t;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct oflow_rule **n = realloc(set->v, cap * sizeof(*n));
		if (!n) {
			json_decref(md);
			return;
		}
		set->v = n;
		set->cap = cap;
	}
	struct oflow_rule *r = calloc(1, sizeof(*r));
	json_t *copy = json_deep_copy(md);
	if (!r || !copy) {
		free(r);
		json_decref(copy);
		json_decref(md);
		return;
	}
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	/* Skydive gives the node a random ID (graph.GenID()); ours is derived from the
	 * bridge node and the UUID, so a restarted agent gives a rule the same node. */
	topology_tid(r->id, b->node_id, uuid, set->type);
	json_object_set_new(md, "TID", json_string(r->id));
	json_object_set_new(copy, "TID", json_string(r->id));
	int rc = graph_node_add(t->g, r->id, md, t->host_id, t->origin, now);
	if (rc == -EEXIST) /* left by an earlier run on the same graph */
		rc = graph_node_set_metadata(t->g, r->id, json_deep_copy(copy), now);
	if (rc < 0) {
		log_warn("oflow probe: adding %s %s of %s: %s", set->type, uuid, b->name,
			 strerror(-rc));
		json_decref(copy);
		free(r);
		return;
	}
	char eid[TOPOLOGY_ID_LEN];
	topology_edge_id(eid, b->node_id, r->id, "ownership");
	json_t *emd = json_pack("{ss}", "RelationType", "ownership");
	rc = emd ? graph_edge_add(t->g, eid, b->node_id, r->id, emd, t->host_id, t->origin, now)
		 : -ENOMEM;
	if (rc < 0 && rc != -EEXIST)
		log_warn("oflow probe: ownership edge of %s %s: %s", set->type, uuid, strerror(-rc));
	r->md = copy;
	if (smap_put(&set->by_uuid, r->uuid, r) < 0) {
		graph_node_delete(t->g, r->id, now);
		json_decref(copy);
		free(r);
		return;
	}
	set->v[set->n++] = r;
}

/* One element of a dump (md stolen): new, changed or as before. */
static void node_apply(struct topo_oflow *f, struct oflow_bridge *b, struct oflow_set *set,
		       const char *uuid, json_t *md, int64_t now)
{
	if (!md)
		return;
	struct oflow_rule *r = smap_get(&set->by_uuid, uuid);
	if (r && r->seen) { /* the same flow twice in one dump: cannot be; keep the first */
		json_decref(md);
		return;
	}
	if (!r) {
		node_add(f, b, set, uuid, md, now);
		r = smap_get(&set->by_uuid, uuid);
		if (r)
			r->seen = 1;
		return;
	}
	r->seen = 1;
	json_object_set_new(md, "TID", json_string(r->id));
	if (json_equal(md, r->md)) {
		json_decref(md);
		return;
	}
	/* mod-flows: new actions or cookie (Skydive's modRule); mod-group (modGroup) */
	json_t *copy = json_deep_copy(md);
	if (!copy || topo_update_metadata(f->t->g, r->id, md, now) < 0) {
		json_decref(copy);
		return;
	}
	json_decref(r->md);
	r->md = copy;
}

/* ---- children ---------------------------------------------------------------- */

/* Waits ms or until asked to stop: 1 when asked. */
static int wait_stop_ms(struct topo_oflow *f, int ms)
{
	struct pollfd p = {.fd = f->stop_fd, .events = POLLIN};
	return poll(&p, 1, ms) != 0;
}

/* Starts path with argv; its stdout and stderr on *fd (non-blocking, close on exec).
 * The pid, or -errno. */
static pid_t spawn_tool(const char *path, char *const argv[], int *fd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	/* nothing else of the agent's (sockets without close-on-exec) goes to the child */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* no blocked signals (this thread blocks them all), and the default action of
	 * the ones the agent ignores or handles: a monitor left behind by an agent that
	 * was killed dies of SIGPIPE at its next line */
	posix_spawnattr_t at;
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int rc = posix_spawn(&pid, path, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc) {
		close(p[0]);
		return -rc;
	}
	*fd = p[0];
	return pid;
}

/* Ends a child of ours (by its pid) and reaps it; its exit status, or -1. */
static int end_child(pid_t pid, int kill_it)
{
	if (pid <= 0)
		return -1;
	if (kill_it)
		kill(pid, SIGTERM);
	int st = 0;
	for (int i = 0; i < 100; i++) {
		pid_t w = waitpid(pid, &st, kill_it ? WNOHANG : 0);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		if (w < 0 && errno != EINTR)
			return -1;
		if (w == 0)
			usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void monitor_close(struct oflow_mon *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	end_child(m->pid, 1);
	m->pid = 0;
	m->len = 0;
	if (m->ctl[0])
		unlink(m->ctl); /* ovs-ofctl removes it at exit; a killed one may not */
}

/* Reads a child's output to the end (at most OFLOW_MAX_OUTPUT, OFLOW_DUMP_TIMEOUT_MS)
 * and reaps it. The output (malloc'd, NUL-terminated) or NULL with *why set. */
static char *run_tool(struct topo_oflow *f, const char *path, char *const argv[], char *why,
		      size_t whylen)
{
	int fd;
	pid_t pid = spawn_tool(path, argv, &fd);
	if (pid < 0) {
		snprintf(why, whylen, "cannot run %s: %s", path, strerror((int)-pid));
		return NULL;
	}
	size_t len = 0, cap = 65536;
	char *out = malloc(cap);
	int64_t deadline = topo_now_ms() + OFLOW_DUMP_TIMEOUT_MS;
	int ok = out != NULL;
	if (!ok)
		snprintf(why, whylen, "out of memory");
	while (ok) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = f->stop_fd, .events = POLLIN}};
		int64_t left = deadline - topo_now_ms();
		if (left <= 0) {
			snprintf(why, whylen, "%s took more than %d s", argv[3] ? argv[3] : argv[0],
				 OFLOW_DUMP_TIMEOUT_MS / 1000);
			ok = 0;
			break;
		}
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents) {
			snprintf(why, whylen, "stopping");
			ok = 0;
			break;
		}
		if (!n)
			continue;
		if (len + 1 >= cap) {
			char *nb = cap * 2 <= OFLOW_MAX_OUTPUT ? realloc(out, cap * 2) : NULL;
			if (!nb) {
				snprintf(why, whylen, "output over %u MiB", OFLOW_MAX_OUTPUT >> 20);
				ok = 0;
				break;
			}
			out = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, out + len, cap - len - 1);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	int st = end_child(pid, !ok);
	if (ok && st != 0) {
		/* its error line: the last one that is not an item */
		out[len] = 0;
		char *last = NULL, *s = out;
		for (char *nl; (nl = strchr(s, '\n')) || *s; s = nl ? nl + 1 : s + strlen(s)) {
			if (nl)
				*nl = 0;
			if (*s && !ofctl_is_item_line(s, strlen(s)))
				last = s;
			if (!nl)
				break;
		}
		snprintf(why, whylen, "exit %d%s%.160s", st, last ? ": " : "", last ? last : "");
		ok = 0;
	}
	if (!ok) {
		free(out);
		return NULL;
	}
	out[len] = 0;
	return out;
}

/* The group monitor (Skydive's MonitorGroup): an OpenFlow 1.5 monitor, made a secondary
 * connection that gets group_mod requests forwarded (OFPT_ROLE_REQUEST and
 * OFPT_SET_ASYNC sent through its unixctl socket, the bytes Skydive sends). */
static const char of_set_secondary[] = "061800180000000300000003000000008000000000000002";
static const char of_forward_groups[] = "061c001000000002000a000800000001";

static int group_monitor_setup(struct topo_oflow *f, struct oflow_mon *m, char *why,
			       size_t whylen)
{
	for (int i = 0; i < 100 && access(m->ctl, F_OK); i++) {
		if (wait_stop_ms(f, 30))
			return -1;
		if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
			m->pid = 0;
			snprintf(why, whylen, "the OpenFlow 1.5 monitor ended at once (OpenFlow 1.5 "
					      "not allowed on the bridge?)");
			return -1;
		}
	}
	const char *hex[] = {of_set_secondary, of_forward_groups};
	for (int i = 0; i < 2; i++) {
		char *argv[] = {"ovs-appctl", "-t", m->ctl, "ofctl/send", (char *)hex[i], NULL};
		char *out = run_tool(f, f->appctl, argv, why, whylen);
		if (!out)
			return -1;
		free(out);
	}
	return 0;
}

static void monitor_start(struct topo_oflow *f, struct oflow_bridge *b, int kind,
			  const char *target)
{
	struct oflow_mon *m = &b->mon[kind];
	char ctl_arg[96] = "";
	int fd;
	pid_t pid;
	if (kind == MON_FLOWS) {
		char *argv[] = {"ovs-ofctl", "-O", f->versions, "monitor", (char *)target, "watch:",
				NULL};
		pid = spawn_tool(f->ofctl, argv, &fd);
	} else {
		snprintf(m->ctl, sizeof(m->ctl), "/tmp/skydive-ofgroups.%d.%u.ctl", (int)getpid(),
			 f->ctl_seq++);
		unlink(m->ctl);
		snprintf(ctl_arg, sizeof(ctl_arg), "--unixctl=%s", m->ctl);
		char *argv[] = {"ovs-ofctl", "-O", "OpenFlow15", "monitor", (char *)target, ctl_arg,
				NULL};
		pid = spawn_tool(f->ofctl, argv, &fd);
	}
	char why[256] = "";
	if (pid < 0) {
		snprintf(why, sizeof(why), "cannot run %s: %s", f->ofctl, strerror((int)-pid));
	} else {
		m->pid = pid;
		m->fd = fd;
		m->len = 0;
		if (kind == MON_GROUPS && group_monitor_setup(f, m, why, sizeof(why)) < 0)
			monitor_close(m);
	}
	if (m->fd < 0) {
		if (!m->quiet)
			log_warn("oflow probe: %s %s monitor: %s; retrying in the background", b->name,
				 kind == MON_FLOWS ? "rule" : "group", why);
		m->quiet = 1;
		m->retry_at = topo_now_ms() + OFLOW_RETRY_MS;
		return;
	}
	m->dirty = 1; /* what there is now */
}

/* Whether a group monitor line is a group change (" ADD group_id=...", " MOD ...",
 * " DEL ...", " INSERT_BUCKET ...", " REMOVE_BUCKET ..."). */
static int group_event_line(const char *s, size_t l)
{
	static const char *const ev[] = {" ADD ", " DEL ", " MOD ", " INSERT_BUCKET ",
					 " REMOVE_BUCKET ", NULL};
	for (int i = 0; ev[i]; i++)
		if (l >= strlen(ev[i]) && !memcmp(s, ev[i], strlen(ev[i])))
			return 1;
	return 0;
}

/* Reads what a monitor wrote: a change makes it dirty. At EOF the monitor is closed
 * and started again later. */
static void monitor_read(struct oflow_bridge *b, int kind)
{
	struct oflow_mon *m = &b->mon[kind];
	if (!m->buf && !(m->buf = malloc(OFLOW_LINE_MAX))) {
		monitor_close(m);
		m->retry_at = topo_now_ms() + OFLOW_RETRY_MS;
		return;
	}
	for (;;) {
		ssize_t n = read(m->fd, m->buf + m->len, OFLOW_LINE_MAX - m->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* the bridge is not there (yet), or vswitchd went away */
			if (!m->quiet) {
				char last[200] = "";
				if (m->len)
					snprintf(last, sizeof(last), ": %.*s", (int)(m->len < 190 ? m->len : 190),
						 m->buf);
				log_warn("oflow probe: ovs-ofctl %s monitor of %s ended%s; retrying in "
					 "the background",
					 kind == MON_FLOWS ? "rule" : "group", b->name, last);
			}
			m->quiet = 1;
			monitor_close(m);
			m->retry_at = topo_now_ms() + OFLOW_RETRY_MS;
			return;
		}
		m->len += (size_t)n;
		char *nl;
		while ((nl = memchr(m->buf, '\n', m->len))) {
			size_t l = (size_t)(nl - m->buf);
			if (kind == MON_FLOWS ? ofctl_is_item_line(m->buf, l)
					      : group_event_line(m->buf, l))
				m->dirty = 1;
			if (kind == MON_FLOWS && m->dirty && m->quiet) {
				log_info("oflow probe: monitoring the rules of %s", b->name);
				m->quiet = 0;
			}
			memmove(m->buf, nl + 1, m->len - l - 1);
			m->len -= l + 1;
		}
		if (m->len == OFLOW_LINE_MAX) { /* a line that long says nothing we need */
			m->dirty = 1;
			m->len = 0;
		}
	}
}

static void log_bad_line(struct topo_oflow *f, struct oflow_bridge *b, const char *what,
			 const struct ofctl_error *err, const char *s)
{
	uint64_t n = ++f->bad_lines;
	if (n == 1 || n == 10 || n == 100 || n % 1000 == 0)
		log_warn("oflow probe: %s: a line of %s left out (%llu so far): %s at byte %zu: "
			 "%.200s",
			 b->name, what, (unsigned long long)n, err->msg, err->pos, s);
}

/* Parses a dump and brings the bridge's nodes of that kind in line with it (graph lock
 * held). */
static void apply_dump(struct topo_oflow *f, struct oflow_bridge *b, int kind, char *out)
{
	int64_t now = topo_now_ms();
	struct oflow_set *set = &b->set[kind];
	char *prefix = NULL;
	if (asprintf(&prefix, "%s-%s-", f->host, b->name) < 0)
		return;
	for (size_t i = 0; i < set->n; i++)
		set->v[i]->seen = 0;
	uint64_t kept = 0, left = 0;
	for (char *s = out, *nl; *s; s = nl ? nl + 1 : s + strlen(s)) {
		nl = strchr(s, '\n');
		size_t l = nl ? (size_t)(nl - s) : strlen(s);
		if (!ofctl_is_item_line(s, l))
			continue; /* the reply header */
		if (kept == OFLOW_MAX_RULES) {
			left++;
			continue;
		}
		struct ofctl_error err = {0};
		char uuid[TOPOLOGY_ID_LEN];
		if (kind == MON_FLOWS) {
			struct ofctl_rule pr;
			if (ofctl_parse_rule(s, l, &pr, &err) < 0) {
				log_bad_line(f, b, "dump-flows", &err, s);
				continue;
			}
			if (ofctl_rule_uuid(uuid, prefix, &pr) == 0)
				node_apply(f, b, set, uuid, ofctl_rule_metadata(&pr, uuid), now);
			ofctl_rule_clear(&pr);
		} else {
			struct ofctl_group gr;
			if (ofctl_parse_group(s, l, &gr, &err) < 0) {
				log_bad_line(f, b, "dump-groups", &err, s);
				continue;
			}
			if (ofctl_group_uuid(uuid, prefix, gr.group_id) == 0)
				node_apply(f, b, set, uuid, ofctl_group_metadata(&gr, uuid), now);
			ofctl_group_clear(&gr);
		}
		kept++;
	}
	if (left != b->left_out && left)
		log_warn("oflow probe: %s has more than %d %s: %llu left out", b->name,
			 OFLOW_MAX_RULES, kind == MON_FLOWS ? "rules" : "groups",
			 (unsigned long long)left);
	if (kind == MON_FLOWS)
		b->left_out = left;
	for (size_t i = set->n; i-- > 0;)
		if (!set->v[i]->seen)
			node_delete(f, set, i, now);
	free(prefix);
}

static void bridge_free(struct oflow_bridge *b)
{
	for (int k = 0; k < MON_KINDS; k++) {
		struct oflow_set *set = &b->set[k];
		for (size_t i = 0; i < set->n; i++) {
			json_decref(set->v[i]->md);
			free(set->v[i]);
		}
		free(set->v);
		smap_free(&set->by_uuid);
		free(b->mon[k].buf);
	}
	free(b->uuid);
	free(b->name);
	free(b->target);
	free(b);
}

/* Runs the dump of that kind and applies it. */
static void bridge_dump(struct topo_oflow *f, struct oflow_bridge *b, int kind,
			const char *target)
{
	struct oflow_mon *m = &b->mon[kind];
	m->dirty = 0;
	char why[256] = "";
	char *out;
	if (kind == MON_FLOWS) {
		char *argv[] = {"ovs-ofctl", "-O", f->versions, "dump-flows", (char *)target, NULL};
		out = run_tool(f, f->ofctl, argv, why, sizeof(why));
	} else {
		char *argv[] = {"ovs-ofctl", "-O", "OpenFlow15", "dump-groups", (char *)target, NULL};
		out = run_tool(f, f->ofctl, argv, why, sizeof(why));
	}
	if (!out) {
		if (!m->quiet)
			log_warn("oflow probe: %s: %s", b->name, why);
		return;
	}
	graph_lock(f->t->g);
	if (!b->gone)
		apply_dump(f, b, kind, out);
	graph_unlock(f->t->g);
	free(out);
}

static void *oflow_main(void *arg)
{
	struct topo_oflow *f = arg;
	struct graph *g = f->t->g;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	struct pollfd *pf = NULL;
	struct oflow_bridge **snap = NULL;
	size_t cap = 0; /* bridges the arrays hold */
	int kinds = f->appctl ? MON_KINDS : 1;
	for (;;) {
		/* what to watch, and the bridges that went */
		graph_lock(g);
		if (f->n_br > cap) {
			size_t nc = f->n_br + 16;
			struct pollfd *np = realloc(pf, (2 + nc * MON_KINDS) * sizeof(*np));
			if (np)
				pf = np;
			struct oflow_bridge **ns = realloc(snap, nc * sizeof(*ns));
			if (ns)
				snap = ns;
			if (np && ns)
				cap = nc;
		}
		if (!pf || (f->n_br && (!snap || cap < f->n_br))) { /* out of memory: later */
			graph_unlock(g);
			if (wait_stop_ms(f, OFLOW_RETRY_MS))
				break;
			continue;
		}
		size_t n = 0;
		struct oflow_bridge *reap = NULL;
		int64_t now = topo_now_ms(), timeout = -1;
		for (size_t i = 0; i < f->n_br;) {
			struct oflow_bridge *b = f->br[i];
			if (b->gone) { /* its monitors are ended below, out of the lock */
				f->br[i] = f->br[--f->n_br];
				b->next_gone = reap;
				reap = b;
				continue;
			}
			snap[n++] = b;
			for (int k = 0; k < kinds; k++) {
				if (b->mon[k].fd >= 0)
					continue;
				int64_t w = b->mon[k].retry_at > now ? b->mon[k].retry_at - now : 0;
				if (timeout < 0 || w < timeout)
					timeout = w;
			}
			i++;
		}
		graph_unlock(g);
		while (reap) {
			struct oflow_bridge *b = reap;
			reap = b->next_gone;
			for (int k = 0; k < MON_KINDS; k++)
				monitor_close(&b->mon[k]);
			bridge_free(b);
		}
		pf[0] = (struct pollfd){.fd = f->stop_fd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = f->wake_fd, .events = POLLIN};
		for (size_t i = 0; i < n; i++)
			for (int k = 0; k < MON_KINDS; k++)
				pf[2 + i * MON_KINDS + k] =
				    (struct pollfd){.fd = snap[i]->mon[k].fd, .events = POLLIN};
		int rc = poll(pf, 2 + n * MON_KINDS, timeout > 60000 ? 60000 : (int)timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		if (pf[1].revents) {
			uint64_t v;
			if (read(f->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				log_debug("oflow probe: wake: %s", strerror(errno));
		}
		/* Only this thread frees bridges: the snapshot stays valid. */
		now = topo_now_ms();
		for (size_t i = 0; i < n; i++) {
			struct oflow_bridge *b = snap[i];
			graph_lock(g);
			char *target = b->gone ? NULL : strdup(b->target);
			graph_unlock(g);
			if (!target)
				continue;
			for (int k = 0; k < kinds; k++) {
				struct oflow_mon *m = &b->mon[k];
				if (m->fd >= 0 && pf[2 + i * MON_KINDS + k].revents)
					monitor_read(b, k);
				if (m->fd < 0 && now >= m->retry_at)
					monitor_start(f, b, k, target);
				if (m->dirty && m->fd >= 0)
					bridge_dump(f, b, k, target);
			}
			free(target);
		}
	}
	/* The bridges stay (topo_oflow_free frees them); their children end. */
	graph_rdlock(g);
	size_t nb = f->n_br;
	struct oflow_bridge **all_br = nb ? malloc(nb * sizeof(*all_br)) : NULL;
	if (all_br)
		memcpy(all_br, f->br, nb * sizeof(*all_br));
	graph_unlock(g);
	for (size_t i = 0; all_br && i < nb; i++)
		for (int k = 0; k < MON_KINDS; k++)
			monitor_close(&all_br[i]->mon[k]);
	free(all_br);
	free(pf);
	free(snap);
	return NULL;
}

/* ---- the OVSDB probe's side ----------------------------------------------------- */

void topo_oflow_bridges(struct topology *t, const char *const *uuids, const char *const *names,
			size_t n)
{
	struct topo_oflow *f = t->oflow;
	if (!f)
		return;
	int64_t now = topo_now_ms();
	int changed = 0;
	for (size_t i = 0; i < f->n_br; i++) {
		struct oflow_bridge *b = f->br[i];
		if (b->gone)
			continue;
		size_t j = 0;
		while (j < n && (strcmp(uuids[j], b->uuid) || strcmp(names[j], b->name)))
			j++;
		if (j < n)
			continue;
		/* Skydive's OnOvsBridgeDel: the bridge's rules and groups go with it */
		bridge_clear(f, b, now);
		b->gone = 1;
		changed = 1;
	}
	for (size_t j = 0; j < n; j++) {
		size_t i = 0;
		while (i < f->n_br && (f->br[i]->gone || strcmp(uuids[j], f->br[i]->uuid) ||
				       strcmp(names[j], f->br[i]->name)))
			i++;
		if (i < f->n_br)
			continue;
		const char *addr = json_string_value(json_object_get(f->address, names[j]));
		if (!addr && strncmp(t->ovsdb, "unix:", 5)) {
			/* Skydive's newbridgeOfProbe: a remote OVSDB needs the bridge's address */
			if (json_object_get(f->warned, names[j]))
				continue;
			json_object_set_new(f->warned, names[j], json_true());
			log_warn("oflow probe: bridge %s: the OVSDB is not local and "
				 "ovs.oflow.address has no entry for it; its rules are not read",
				 names[j]);
			continue;
		}
		if (f->n_br == f->cap_br) {
			size_t cap = f->cap_br ? f->cap_br * 2 : 8;
			struct oflow_bridge **nb = realloc(f->br, cap * sizeof(*nb));
			if (!nb)
				return;
			f->br = nb;
			f->cap_br = cap;
		}
		struct oflow_bridge *b = calloc(1, sizeof(*b));
		if (!b)
			return;
		b->uuid = strdup(uuids[j]);
		b->name = strdup(names[j]);
		b->target = strdup(addr ? addr : names[j]);
		b->set[MON_FLOWS].type = "ofrule";
		b->set[MON_GROUPS].type = "ofgroup";
		for (int k = 0; k < MON_KINDS; k++)
			b->mon[k].fd = -1;
		if (!b->uuid || !b->name || !b->target) {
			bridge_free(b);
			return;
		}
		topology_ovs_tid(b->node_id, t->host_node_id, b->uuid, "ovsbridge");
		f->br[f->n_br++] = b;
		changed = 1;
	}
	if (changed) {
		uint64_t one = 1;
		if (write(f->wake_fd, &one, sizeof(one)) < 0)
			log_debug("oflow probe: wake: %s", strerror(errno));
	}
}

/* The OVSDB target as Skydive's probe names its host: the socket path of unix:, the
 * host:port of tcp:. */
static char *ovsdb_host(const char *target)
{
	const char *s = target;
	if (!strncmp(s, "unix:", 5) || !strncmp(s, "tcp:", 4) || !strncmp(s, "ssl:", 4))
		s = strchr(s, ':') + 1;
	if (!strncmp(s, "//", 2) && strncmp(target, "unix:", 5))
		s += 2;
	else if (!strncmp(s, "///", 3))
		s += 2;
	return strdup(s);
}

/* tool on PATH, or NULL. */
static char *find_tool(const char *tool)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char *full = NULL;
		if (l && asprintf(&full, "%.*s/%s", (int)l, p, tool) >= 0) {
			if (!access(full, X_OK))
				return full;
			free(full);
		}
		p += l + (c ? 1 : 0);
	}
	return NULL;
}

int topo_oflow_start(struct topology *t)
{
	struct topo_oflow *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->t = t;
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->ofctl = find_tool("ovs-ofctl");
	f->appctl = find_tool("ovs-appctl"); /* the group monitor's; without it, no groups */
	f->versions = strdup(t->oflow_versions ? t->oflow_versions : "OpenFlow10");
	f->address = t->oflow_address ? json_incref(t->oflow_address) : json_object();
	f->host = ovsdb_host(t->ovsdb);
	f->warned = json_object();
	int rc = 0;
	if (f->stop_fd < 0 || f->wake_fd < 0)
		rc = -errno;
	else if (!f->versions || !f->address || !f->host || !f->warned)
		rc = -ENOMEM;
	else if (!f->ofctl)
		rc = -ENOENT;
	if (!rc) {
		graph_lock(t->g);
		t->oflow = f;
		graph_unlock(t->g);
		rc = -pthread_create(&f->thread, NULL, oflow_main, f);
		if (!rc) {
			f->thread_started = 1;
			log_info("oflow probe: OpenFlow rules of every bridge through %s (-O %s)%s",
				 f->ofctl, f->versions,
				 f->appctl ? ", groups with OpenFlow 1.5"
					   : "; no ovs-appctl on PATH: no ofgroup nodes");
			return 0;
		}
		graph_lock(t->g);
		t->oflow = NULL;
		graph_unlock(t->g);
	}
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	free(f->ofctl);
	free(f->appctl);
	free(f->versions);
	json_decref(f->address);
	json_decref(f->warned);
	free(f->host);
	free(f);
	return rc;
}

void topo_oflow_stop(struct topology *t)
{
	struct topo_oflow *f = t->oflow;
	if (!f || !f->thread_started)
		return;
	uint64_t one = 1;
	if (write(f->stop_fd, &one, sizeof(one)) < 0)
		log_warn("oflow probe: waking the thread: %s", strerror(errno));
	pthread_join(f->thread, NULL);
	f->thread_started = 0;
}

void topo_oflow_free(struct topology *t)
{
	struct topo_oflow *f = t->oflow;
	if (!f)
		return;
	topo_oflow_stop(t);
	graph_lock(t->g);
	t->oflow = NULL;
	graph_unlock(t->g);
	for (size_t i = 0; i < f->n_br; i++)
		bridge_free(f->br[i]);
	free(f->br);
	close(f->stop_fd);
	close(f->wake_fd);
	free(f->ofctl);
	free(f->appctl);
	free(f->versions);
	json_decref(f->address);
	json_decref(f->warned);
	free(f->host);
	free(f);
}
