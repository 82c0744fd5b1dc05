/* oflow.c - the OpenFlow rule probe (Skydive's ovs.oflow, topology/probes/ovsdb/ovs_of.go
 * and ofctl.go): for each bridge the OVSDB probe knows, one `ovs-ofctl monitor BRIDGE
 * watch:` child whose output says that the flow table changed, and on each change a
 * `ovs-ofctl dump-flows BRIDGE` whose rules (ofctl_parse.h) become the bridge's ofrule
 * nodes: added, updated and deleted by difference with what the graph has. One thread
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

/* One ofrule node (graph lock). */
struct oflow_rule {
	char id[TOPOLOGY_ID_LEN];
	char uuid[TOPOLOGY_ID_LEN];
	json_t *md; /* what the graph has */
	int seen;   /* scratch of a diff */
};

struct oflow_bridge {
	/* Set by topo_oflow_bridges (graph lock). */
	char *uuid, *name;
	char node_id[TOPOLOGY_ID_LEN];
	char *target; /* what ovs-ofctl is given: ovs.oflow.address's entry, else the name */
	int gone;     /* the OVSDB no longer has it: the thread reaps it */
	struct oflow_rule **rules;
	size_t n_rules, cap_rules;
	struct smap by_uuid; /* rule UUID -> struct oflow_rule */
	/* The thread's own. */
	pid_t mon_pid;
	int mon_fd;
	char *buf;
	size_t len;
	int dirty;	    /* the monitor spoke: dump again */
	int64_t retry_at;   /* start the monitor again from then */
	int quiet;	    /* its failure was logged: not again until it works */
	uint64_t left_out;  /* rules past OFLOW_MAX_RULES at the last dump */
	struct oflow_bridge *next_gone;
};

struct topo_oflow {
	struct topology *t;
	pthread_t thread;
	int thread_started;
	int stop_fd, wake_fd;
	char *ofctl;	/* path of ovs-ofctl */
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

static void rule_delete(struct topo_oflow *f, struct oflow_bridge *b, size_t i, int64_t now)
{
	struct oflow_rule *r = b->rules[i];
	int rc = graph_node_delete(f->t->g, r->id, now); /* its edge goes with it */
	if (rc < 0 && rc != -ENOENT)
		log_warn("oflow probe: deleting rule %s: %s", r->uuid, strerror(-rc));
	smap_del(&b->by_uuid, r->uuid);
	json_decref(r->md);
	free(r);
	b->rules[i] = b->rules[--b->n_rules];
}

static void bridge_clear_rules(struct topo_oflow *f, struct oflow_bridge *b, int64_t now)
{
	while (b->n_rules)
		rule_delete(f, b, b->n_rules - 1, now);
}

/* Adds the node of a new rule (md stolen) and its ownership edge from the bridge. */
static void rule_add(struct topo_oflow *f, struct oflow_bridge *b, const char *uuid, json_t *md,
		     int64_t now)
{
	struct topology *t = f->t;
	if (b->n_rules == b->cap_rules) {
		size_t cap = b->cap_rules ? b->cap_rules * 2 : 64;
		struct oflow_rule **n = realloc(b->rules, cap * sizeof(*n));
		if (!n) {
			json_decref(md);
			return;
		}
		b->rules = n;
		b->cap_rules = cap;
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
	 * bridge node and the rule, so a restarted agent gives a rule the same node. */
	topology_tid(r->id, b->node_id, uuid, "ofrule");
	json_object_set_new(md, "TID", json_string(r->id));
	json_object_set_new(copy, "TID", json_string(r->id));
	int rc = graph_node_add(t->g, r->id, md, t->host_id, t->origin, now);
	if (rc == -EEXIST) /* left by an earlier run on the same graph */
		rc = graph_node_set_metadata(t->g, r->id, json_deep_copy(copy), now);
	if (rc < 0) {
		log_warn("oflow probe: adding rule %s of %s: %s", uuid, b->name, strerror(-rc));
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
		log_warn("oflow probe: ownership edge of rule %s: %s", uuid, strerror(-rc));
	r->md = copy;
	if (smap_put(&b->by_uuid, r->uuid, r) < 0) {
		graph_node_delete(t->g, r->id, now);
		json_decref(copy);
		free(r);
		return;
	}
	b->rules[b->n_rules++] = r;
}

/* One parsed rule of a dump: new, changed or as before. */
static void rule_apply(struct topo_oflow *f, struct oflow_bridge *b, const struct ofctl_rule *pr,
		       const char *prefix, int64_t now)
{
	char uuid[TOPOLOGY_ID_LEN];
	if (ofctl_rule_uuid(uuid, prefix, pr) < 0)
		return;
	struct oflow_rule *r = smap_get(&b->by_uuid, uuid);
	if (r && r->seen)
		return; /* the same flow twice in one dump: cannot be; keep the first */
	json_t *md = ofctl_rule_metadata(pr, uuid);
	if (!md)
		return;
	if (!r) {
		rule_add(f, b, uuid, md, now);
		r = smap_get(&b->by_uuid, uuid);
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
	/* mod-flows: new actions or cookie (Skydive's modRule) */
	json_t *copy = json_deep_copy(md);
	if (!copy || topo_update_metadata(f->t->g, r->id, md, now) < 0) {
		json_decref(copy);
		return;
	}
	json_decref(r->md);
	r->md = copy;
}

/* ---- children ---------------------------------------------------------------- */

/* Starts ovs-ofctl with argv; its stdout and stderr on *fd (non-blocking, close on
 * exec). The pid, or -errno. */
static pid_t spawn_ofctl(struct topo_oflow *f, char *const argv[], int *fd)
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
	int rc = posix_spawn(&pid, f->ofctl, &fa, &at, argv, environ);
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

static void monitor_close(struct oflow_bridge *b)
{
	if (b->mon_fd >= 0)
		close(b->mon_fd);
	b->mon_fd = -1;
	end_child(b->mon_pid, 1);
	b->mon_pid = 0;
	b->len = 0;
}

static void monitor_start(struct topo_oflow *f, struct oflow_bridge *b, const char *target)
{
	char *argv[] = {"ovs-ofctl", "-O", f->versions, "monitor", (char *)target, "watch:", NULL};
	int fd;
	pid_t pid = spawn_ofctl(f, argv, &fd);
	if (pid < 0) {
		if (!b->quiet)
			log_warn("oflow probe: cannot run %s: %s", f->ofctl, strerror((int)-pid));
		b->quiet = 1;
		b->retry_at = topo_now_ms() + OFLOW_RETRY_MS;
		return;
	}
	b->mon_pid = pid;
	b->mon_fd = fd;
	b->len = 0;
	b->dirty = 1; /* the rules as they are now */
}

/* Reads what the monitor wrote: any event line makes the bridge dirty. At EOF the
 * monitor is closed and started again later. */
static void monitor_read(struct oflow_bridge *b)
{
	if (!b->buf && !(b->buf = malloc(OFLOW_LINE_MAX)))
		return;
	for (;;) {
		ssize_t n = read(b->mon_fd, b->buf + b->len, OFLOW_LINE_MAX - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* the bridge is not there (yet), or vswitchd went away */
			if (!b->quiet) {
				char last[200] = "";
				if (b->len)
					snprintf(last, sizeof(last), ": %.*s", (int)(b->len < 190 ? b->len : 190),
						 b->buf);
				log_warn("oflow probe: ovs-ofctl monitor %s ended%s; retrying in the "
					 "background", b->name, last);
			}
			b->quiet = 1;
			monitor_close(b);
			b->retry_at = topo_now_ms() + OFLOW_RETRY_MS;
			return;
		}
		b->len += (size_t)n;
		char *nl;
		while ((nl = memchr(b->buf, '\n', b->len))) {
			size_t l = (size_t)(nl - b->buf);
			if (ofctl_is_item_line(b->buf, l)) {
				b->dirty = 1;
				if (b->quiet)
					log_info("oflow probe: monitoring the rules of %s", b->name);
				b->quiet = 0;
			}
			memmove(b->buf, nl + 1, b->len - l - 1);
			b->len -= l + 1;
		}
		if (b->len == OFLOW_LINE_MAX) { /* a line that long says nothing we need */
			b->dirty = 1;
			b->len = 0;
		}
	}
}

/* Runs dump-flows; the output (malloc'd, NUL-terminated) or NULL with *why set. */
static char *dump_flows(struct topo_oflow *f, const char *target, char *why, size_t whylen)
{
	char *argv[] = {"ovs-ofctl", "-O", f->versions, "dump-flows", (char *)target, NULL};
	int fd;
	pid_t pid = spawn_ofctl(f, argv, &fd);
	if (pid < 0) {
		snprintf(why, whylen, "cannot run %s: %s", f->ofctl, strerror((int)-pid));
		return NULL;
	}
	size_t len = 0, cap = 65536;
	char *out = malloc(cap);
	int64_t deadline = topo_now_ms() + OFLOW_DUMP_TIMEOUT_MS;
	int ok = out != NULL, stop = 0;
	while (ok) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = f->stop_fd, .events = POLLIN}};
		int64_t left = deadline - topo_now_ms();
		if (left <= 0) {
			snprintf(why, whylen, "dump-flows took more than %d s", OFLOW_DUMP_TIMEOUT_MS / 1000);
			ok = 0;
			break;
		}
		int n = poll(p, 2, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents) {
			snprintf(why, whylen, "stopping");
			ok = 0;
			stop = 1;
			break;
		}
		if (!n)
			continue;
		if (len + 1 >= cap) {
			char *nb = cap * 2 <= OFLOW_MAX_OUTPUT ? realloc(out, cap * 2) : NULL;
			if (!nb) {
				snprintf(why, whylen, "dump-flows output over %u MiB", OFLOW_MAX_OUTPUT >> 20);
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
		/* its error line: the last one that is not a flow */
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
		(void)stop;
		return NULL;
	}
	out[len] = 0;
	return out;
}

/* Parses a dump and brings the bridge's rule nodes in line with it (graph lock held). */
static void apply_dump(struct topo_oflow *f, struct oflow_bridge *b, char *out)
{
	int64_t now = topo_now_ms();
	char *prefix = NULL;
	if (asprintf(&prefix, "%s-%s-", f->host, b->name) < 0)
		return;
	for (size_t i = 0; i < b->n_rules; i++)
		b->rules[i]->seen = 0;
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
		struct ofctl_rule pr;
		struct ofctl_error err = {0};
		int rc = ofctl_parse_rule(s, l, &pr, &err);
		if (rc < 0) {
			uint64_t n = ++f->bad_lines;
			if (n == 1 || n == 10 || n == 100 || n % 1000 == 0)
				log_warn("oflow probe: %s: a line of dump-flows left out (%llu so far): %s "
					 "at byte %zu: %.200s",
					 b->name, (unsigned long long)n, err.msg, err.pos, s);
			continue;
		}
		rule_apply(f, b, &pr, prefix, now);
		ofctl_rule_clear(&pr);
		kept++;
	}
	if (left != b->left_out && left)
		log_warn("oflow probe: %s has more than %d rules: %llu left out", b->name,
			 OFLOW_MAX_RULES, (unsigned long long)left);
	b->left_out = left;
	for (size_t i = b->n_rules; i-- > 0;)
		if (!b->rules[i]->seen)
			rule_delete(f, b, i, now);
	free(prefix);
}

static void bridge_free(struct oflow_bridge *b)
{
	for (size_t i = 0; i < b->n_rules; i++) {
		json_decref(b->rules[i]->md);
		free(b->rules[i]);
	}
	free(b->rules);
	smap_free(&b->by_uuid);
	free(b->uuid);
	free(b->name);
	free(b->target);
	free(b->buf);
	free(b);
}

/* Waits ms or until asked to stop: 1 when asked. */
static int wait_stop(struct topo_oflow *f, int ms)
{
	struct pollfd p = {.fd = f->stop_fd, .events = POLLIN};
	return poll(&p, 1, ms) != 0;
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
	size_t cap = 0;
	for (;;) {
		/* what to watch, and the bridges that went */
		graph_lock(g);
		if (f->n_br + 2 > cap) {
			size_t nc = f->n_br + 16;
			struct pollfd *np = realloc(pf, nc * sizeof(*np));
			if (np)
				pf = np;
			struct oflow_bridge **ns = realloc(snap, nc * sizeof(*ns));
			if (ns)
				snap = ns;
			if (np && ns)
				cap = nc;
		}
		if (!pf || !snap || cap < f->n_br + 2) { /* out of memory: try again soon */
			graph_unlock(g);
			if (wait_stop(f, OFLOW_RETRY_MS))
				break;
			continue;
		}
		size_t n = 0;
		struct oflow_bridge *reap = NULL;
		int64_t now = topo_now_ms(), timeout = -1;
		for (size_t i = 0; i < f->n_br;) {
			struct oflow_bridge *b = f->br[i];
			if (b->gone) { /* its monitor is ended below, out of the lock */
				f->br[i] = f->br[--f->n_br];
				b->next_gone = reap;
				reap = b;
				continue;
			}
			snap[n++] = b;
			if (b->mon_fd < 0) {
				int64_t w = b->retry_at > now ? b->retry_at - now : 0;
				if (timeout < 0 || w < timeout)
					timeout = w;
			}
			i++;
		}
		graph_unlock(g);
		while (reap) {
			struct oflow_bridge *b = reap;
			reap = b->next_gone;
			monitor_close(b);
			bridge_free(b);
		}
		pf[0] = (struct pollfd){.fd = f->stop_fd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = f->wake_fd, .events = POLLIN};
		for (size_t i = 0; i < n; i++)
			pf[i + 2] = (struct pollfd){.fd = snap[i]->mon_fd, .events = POLLIN};
		int rc = poll(pf, n + 2, timeout > 60000 ? 60000 : (int)timeout);
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
			if (b->mon_fd >= 0 && pf[i + 2].revents)
				monitor_read(b);
			graph_lock(g);
			int gone = b->gone;
			char *target = gone ? NULL : strdup(b->target);
			graph_unlock(g);
			if (!target)
				continue;
			if (b->mon_fd < 0 && now >= b->retry_at)
				monitor_start(f, b, target);
			if (b->dirty && b->mon_fd >= 0) {
				b->dirty = 0;
				char why[256] = "";
				char *out = dump_flows(f, target, why, sizeof(why));
				if (out) {
					graph_lock(g);
					if (!b->gone)
						apply_dump(f, b, out);
					graph_unlock(g);
					free(out);
				} else if (!b->quiet) {
					log_warn("oflow probe: %s: %s", b->name, why);
				}
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
		monitor_close(all_br[i]);
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
		/* Skydive's OnOvsBridgeDel: the bridge's rules go with it */
		bridge_clear_rules(f, b, now);
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
		b->mon_fd = -1;
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

/* ovs-ofctl on PATH, or NULL. */
static char *find_ofctl(void)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char *full = NULL;
		if (l && asprintf(&full, "%.*s/ovs-ofctl", (int)l, p) >= 0) {
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
	f->ofctl = find_ofctl();
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
			log_info("oflow probe: OpenFlow rules of every bridge through %s (-O %s)",
				 f->ofctl, f->versions);
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
	free(f->versions);
	json_decref(f->address);
	json_decref(f->warned);
	free(f->host);
	free(f);
}
