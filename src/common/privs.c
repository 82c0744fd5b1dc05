/* privs.c - capability dropping and the root check (see privs.h), with libcap. */
#include "common/privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"

const char PRIVS_AGENT_CAPS[] = "cap_net_raw,cap_net_admin,cap_sys_admin,cap_bpf,cap_perfmon";

static const cap_value_t agent_caps[] = {CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_BPF,
					 CAP_PERFMON};
#define N_AGENT_CAPS (sizeof(agent_caps) / sizeof(agent_caps[0]))
/* The socketinfo probe's, kept only when agent.topology.probes names it: reading
 * another process's /proc/PID/fd is a ptrace-mode access (CAP_SYS_PTRACE once our
 * capabilities are fewer than the target's; CAP_DAC_READ_SEARCH under agent.user). */
static const cap_value_t socketinfo_caps[] = {CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH};
#define N_SOCKETINFO_CAPS (sizeof(socketinfo_caps) / sizeof(socketinfo_caps[0]))
#define N_MAX_CAPS (N_AGENT_CAPS + N_SOCKETINFO_CAPS)

int privs_refuse_root(const struct config *cfg, int allow_root_flag, char *err, size_t errlen)
{
	if (geteuid() != 0 || allow_root_flag || config_get_bool(cfg, "analyzer.allow_root", 0))
		return 0;
	snprintf(err, errlen,
		 "refusing to run as root: the analyzer needs no privilege, and a bug in a "
		 "network-facing server running as root gives the whole machine away. Run it "
		 "as an unprivileged user (etc/systemd/skydive-analyzer.service does), or pass "
		 "--allow-root / set analyzer.allow_root: true (SKYDIVE_ANALYZER_ALLOW_ROOT=true)");
	return -1;
}

static int is_kept(const cap_value_t *keep, size_t n, cap_value_t v)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == v)
			return 1;
	return 0;
}

/* The agent's set, and the socketinfo probe's when the configuration starts it. */
static size_t wanted_caps(const struct config *cfg, cap_value_t out[N_MAX_CAPS])
{
	size_t n = 0;
	for (size_t i = 0; i < N_AGENT_CAPS; i++)
		out[n++] = agent_caps[i];
	json_t *probes = config_get_list(cfg, "agent.topology.probes", "ovsdb");
	size_t i;
	json_t *p;
	int si = 0;
	/* the docker and runc probes open other processes' /proc/PID/ns/net (a
	 * ptrace-mode access) and runc's root-only state directories */
	json_array_foreach(probes, i, p)
		if (json_is_string(p) && (!strcmp(json_string_value(p), "socketinfo") ||
					  !strcmp(json_string_value(p), "docker") ||
					  !strcmp(json_string_value(p), "runc")))
			si = 1;
	json_decref(probes);
	for (i = 0; si && i < N_SOCKETINFO_CAPS; i++)
		out[n++] = socketinfo_caps[i];
	return n;
}

/* Switches uid/gid to user, keeping the permitted capabilities across setresuid. */
static int switch_user(const char *user, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (rc || !res) {
		snprintf(err, errlen, "agent.user '%s': no such user%s%s", user, rc ? ": " : "",
			 rc ? strerror(rc) : "");
		return -1;
	}
	if (geteuid() != 0 && geteuid() == pw.pw_uid)
		return 0; /* already that user */
	/* Without KEEPCAPS, leaving uid 0 clears the permitted set. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    initgroups(pw.pw_name, pw.pw_gid) < 0 || setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0 ||
	    setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0) {
		snprintf(err, errlen, "agent.user '%s': cannot switch to uid %u gid %u: %s (needs "
				      "root or CAP_SETUID/CAP_SETGID)",
			 user, (unsigned)pw.pw_uid, (unsigned)pw.pw_gid, strerror(errno));
		return -1;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	return 0;
}

int privs_drop_agent(const struct config *cfg, char *err, size_t errlen)
{
	if (!config_get_bool(cfg, "agent.drop_capabilities", 1))
		return 0;
	cap_t cur = cap_get_proc();
	if (!cur) {
		snprintf(err, errlen, "cannot read the process capabilities: %s", strerror(errno));
		return -1;
	}
	cap_value_t want[N_MAX_CAPS], have[N_MAX_CAPS];
	size_t nw = wanted_caps(cfg, want), n = 0;
	char missing[256] = "";
	for (size_t i = 0; i < nw; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (CAP_IS_SUPPORTED(want[i]) &&
		    cap_get_flag(cur, want[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET) {
			have[n++] = want[i];
		} else {
			char *name = cap_to_name(want[i]);
			size_t l = strlen(missing);
			snprintf(missing + l, sizeof(missing) - l, "%s%s", l ? "," : "",
				 name ? name : "?");
			cap_free(name);
		}
	}
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_get_flag(cur, CAP_SETPCAP, CAP_PERMITTED, &setpcap);
	cap_free(cur);

	const char *user = config_get_string(cfg, "agent.user", NULL);
	if (user && *user && switch_user(user, err, errlen))
		return -1;

	/* The bounding set first: dropping from it needs CAP_SETPCAP, which goes
	 * with the rest below. Without CAP_SETPCAP (started unprivileged with
	 * ambient capabilities) it cannot shrink, and no_new_privs keeps it unused. */
	if (setpcap == CAP_SET)
		for (cap_value_t v = 0; v <= CAP_LAST_CAP; v++)
			if (!is_kept(want, nw, v) && CAP_IS_SUPPORTED(v) && cap_drop_bound(v) < 0) {
				snprintf(err, errlen, "cannot drop capability %d from the bounding "
						      "set: %s", (int)v, strerror(errno));
				return -1;
			}
	cap_t c = cap_init(); /* everything clear, inheritable included */
	if (!c || (n && (cap_set_flag(c, CAP_PERMITTED, (int)n, have, CAP_SET) ||
			 cap_set_flag(c, CAP_EFFECTIVE, (int)n, have, CAP_SET))) ||
	    cap_set_proc(c) < 0) {
		snprintf(err, errlen, "cannot set the agent's capabilities (%s): %s", PRIVS_AGENT_CAPS,
			 strerror(errno));
		cap_free(c);
		return -1;
	}
	cap_free(c);
	/* Ambient capabilities would pass to anything we exec; we exec nothing. */
	if (CAP_AMBIENT_SUPPORTED())
		cap_reset_ambient();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);

	cur = cap_get_proc();
	char *text = cur ? cap_to_text(cur, NULL) : NULL;
	log_info("agent: running as uid %u gid %u with capabilities %s", (unsigned)getuid(),
		 (unsigned)getgid(), text && *text ? text : "(none)");
	cap_free(text);
	cap_free(cur);
	if (missing[0])
		log_warn("agent: started without %s: what needs them will fail (captures need "
			 "cap_net_raw and cap_net_admin, other namespaces cap_sys_admin, ebpf "
			 "cap_bpf and cap_perfmon)",
			 missing);
	return 0;
}
