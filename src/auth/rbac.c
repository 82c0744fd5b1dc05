/* rbac.c - Skydive's casbin RBAC model evaluated in C (see rbac.h).
 *
 * Skydive's model (config/config.go defaults): request "sub, obj, act", policy
 * "sub, obj, act, eft", role "_, _", effect "some allow && !some deny", matcher
 * "g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act": exact matching (no keyMatch,
 * also for the websocket paths) and deny wins. Role chains are followed up to casbin's
 * default depth of 10.
 *
 * Unlike casbin, objects and actions are checked against the table below when a line is
 * read: a typo ("captures") is an error with its line, not a rule that silently grants
 * nothing. That also makes every (object, action) an index into one static table, so
 * rbac_request_needs and the permission list share its strings.
 *
 * Errors: rbac_parse/rbac_load/rbac_from_config return NULL with "name:line: reason";
 * the query functions cannot fail (rbac_permissions_json: NULL on out of memory). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/rbac.h"
#include "config/config.h"

/* RBAC_MAX_* (rbac.h) bound what a policy may cost: a hostile file is refused, not read. */
#define RBAC_MAX_FIELDS 5  /* "p, sub, obj, act, eft" */
#define RBAC_MAX_DEPTH  10 /* casbin's default maxHierarchyLevel */

/* Every (object, action) a rule may name: Skydive's rbac/policy.csv pairs in its order
 * (the /login list keeps it), plus config/write, ours, which only admin has: it guards
 * API paths this table does not know (rbac_request_needs' safe default). */
static const struct pair {
	const char *obj, *act;
} pairs[] = {
    {"alert", "read"},
    {"alert", "write"},
    {"capture", "read"},
    {"capture", "write"},
    {"capture", "rawpackets"},
    {"config", "read"},
    {"config", "write"},
    {"injectpacket", "read"},
    {"injectpacket", "write"},
    {"pcap", "write"},
    {"status", "read"},
    {"topology", "read"},
    {"workflow", "read"},
    {"workflow", "write"},
    {"websocket", "/ws/agent/topology"},
    {"websocket", "/ws/agent/flow"},
    {"websocket", "/ws/subscriber/flow"},
    {"websocket", "/ws/publisher"},
    {"websocket", "/ws/replication"},
    {"websocket", "/ws/subscriber"},
    {"websocket", "/ws/pubsub"},
    {"node", "read"},
    {"node", "write"},
    {"noderule", "read"},
    {"noderule", "write"},
    {"edge", "read"},
    {"edge", "write"},
    {"edgerule", "read"},
    {"edgerule", "write"},
    {"workflow.call", "write"},
};
#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))

/* Built-in roles (rbac.h). admin gets every pair, added in rbac_builtin(). */
static const char *const builtin_lines = "p, operator, topology, read, allow\n"
                                         "p, operator, status, read, allow\n"
                                         "p, operator, config, read, allow\n"
                                         "p, operator, capture, read, allow\n"
                                         "p, operator, capture, write, allow\n"
                                         "p, operator, pcap, write, allow\n"
                                         "p, operator, websocket, /ws/subscriber, allow\n"
                                         "p, viewer, topology, read, allow\n"
                                         "p, viewer, status, read, allow\n"
                                         "p, viewer, config, read, allow\n"
                                         "p, viewer, capture, read, allow\n"
                                         "p, viewer, websocket, /ws/subscriber, allow\n"
                                         "g, guest, viewer\n";

struct prule {
	char *sub;
	unsigned pair;
	int allow;
};

struct grule {
	char *user, *role;
};

struct rbac {
	struct prule *p;
	size_t np, capp;
	struct grule *g;
	size_t ng, capg;
	unsigned char named[NPAIRS]; /* pairs some p line names (the permission list) */
};

__attribute__((format(printf, 5, 6))) static void
fmt_err(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	char why[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(err, errlen, "%s:%d: %s", name, line, why);
	else
		snprintf(err, errlen, "%s: %s", name, why);
}

void rbac_free(struct rbac *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->np; i++)
		free(r->p[i].sub);
	for (size_t i = 0; i < r->ng; i++) {
		free(r->g[i].user);
		free(r->g[i].role);
	}
	free(r->p);
	free(r->g);
	free(r);
}

static int find_pair(const char *obj, const char *act)
{
	for (unsigned i = 0; i < NPAIRS; i++)
		if (!strcmp(pairs[i].obj, obj) && !strcmp(pairs[i].act, act))
			return (int)i;
	return -1;
}

static int known_object(const char *obj)
{
	for (unsigned i = 0; i < NPAIRS; i++)
		if (!strcmp(pairs[i].obj, obj))
			return 1;
	return 0;
}

/* "read, write" for an object, for the error that names what was expected. */
static void actions_of(const char *obj, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < NPAIRS && o < len; i++)
		if (!strcmp(pairs[i].obj, obj))
			o +=
			    (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", pairs[i].act);
}

static void objects_list(char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < NPAIRS && o < len; i++)
		if (!i || strcmp(pairs[i].obj, pairs[i - 1].obj))
			o +=
			    (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", pairs[i].obj);
}

static int add_p(struct rbac *r, const char *sub, unsigned pair, int allow)
{
	if (r->np == r->capp) {
		size_t n = r->capp ? r->capp * 2 : 64;
		struct prule *p = realloc(r->p, n * sizeof(*p));
		if (!p)
			return -ENOMEM;
		r->p = p;
		r->capp = n;
	}
	char *s = strdup(sub);
	if (!s)
		return -ENOMEM;
	r->p[r->np++] = (struct prule){.sub = s, .pair = pair, .allow = allow};
	r->named[pair] = 1;
	return 0;
}

static int add_g(struct rbac *r, const char *user, const char *role)
{
	if (r->ng == r->capg) {
		size_t n = r->capg ? r->capg * 2 : 16;
		struct grule *g = realloc(r->g, n * sizeof(*g));
		if (!g)
			return -ENOMEM;
		r->g = g;
		r->capg = n;
	}
	char *u = strdup(user), *ro = strdup(role);
	if (!u || !ro) {
		free(u);
		free(ro);
		return -ENOMEM;
	}
	r->g[r->ng++] = (struct grule){.user = u, .role = ro};
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One line (NUL-terminated, writable, without its end of line) into r; 0, or -1 with
 * err filled. */
static int parse_line(struct rbac *r, char *s, const char *name, int ln, char *err, size_t errlen)
{
	while (is_blank(*s))
		s++;
	if (!*s || *s == '#')
		return 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
			fmt_err(err, errlen, name, ln, "control character in the line");
			return -1;
		}
		/* casbin's CSV reader would take quotes; no Skydive policy needs them, and
		 * taking them literally would make a rule that never matches */
		if (*c == '"') {
			fmt_err(err, errlen, name, ln, "quotes are not supported");
			return -1;
		}
		if (*c == '#') {
			fmt_err(err, errlen, name, ln,
			        "'#' starts a comment only at the beginning of a line");
			return -1;
		}
	}
	char *f[RBAC_MAX_FIELDS];
	int nf = 0;
	for (char *p = s;;) {
		char *comma = strchr(p, ',');
		if (nf == RBAC_MAX_FIELDS) {
			fmt_err(err, errlen, name, ln,
			        "too many fields (p, SUBJECT, OBJECT, ACTION[, EFFECT] or g, USER, "
			        "ROLE)");
			return -1;
		}
		if (comma)
			*comma = 0;
		while (is_blank(*p))
			p++;
		char *e = p + strlen(p);
		while (e > p && is_blank(e[-1]))
			*--e = 0;
		f[nf++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	for (int i = 0; i < nf; i++)
		if (!*f[i]) {
			fmt_err(err, errlen, name, ln, "field %d is empty", i + 1);
			return -1;
		}
	int rc;
	if (!strcmp(f[0], "g")) {
		if (nf != 3) {
			fmt_err(err, errlen, name, ln,
			        "a g line has 2 fields after g: g, USER, ROLE (casbin domains are "
			        "not supported)");
			return -1;
		}
		rc = add_g(r, f[1], f[2]);
	} else if (!strcmp(f[0], "p")) {
		if (nf < 4) {
			fmt_err(err, errlen, name, ln,
			        "a p line needs p, SUBJECT, OBJECT, ACTION[, EFFECT]");
			return -1;
		}
		int pair = find_pair(f[2], f[3]);
		if (pair < 0) {
			char list[400];
			if (!known_object(f[2])) {
				objects_list(list, sizeof(list));
				fmt_err(err, errlen, name, ln, "unknown object '%.64s' (%s)", f[2],
				        list);
			} else {
				actions_of(f[2], list, sizeof(list));
				fmt_err(err, errlen, name, ln,
				        "unknown action '%.64s' for object %s (%s)", f[3], f[2],
				        list);
			}
			return -1;
		}
		/* casbin's usual model has no effect field: a missing one allows */
		int allow = 1;
		if (nf == 5) {
			if (!strcmp(f[4], "deny")) {
				allow = 0;
			} else if (strcmp(f[4], "allow")) {
				fmt_err(err, errlen, name, ln,
				        "unknown effect '%.64s' (allow or deny)", f[4]);
				return -1;
			}
		}
		rc = add_p(r, f[1], (unsigned)pair, allow);
	} else {
		fmt_err(err, errlen, name, ln, "unknown line type '%.32s' (p or g)", f[0]);
		return -1;
	}
	if (rc) {
		fmt_err(err, errlen, name, ln, "out of memory");
		return -1;
	}
	if (r->np + r->ng > RBAC_MAX_RULES) {
		fmt_err(err, errlen, name, ln, "more than %d rules", RBAC_MAX_RULES);
		return -1;
	}
	return 0;
}

/* Lines of text[0..len) into r, numbered from first_line. */
static int parse_into(struct rbac *r, const char *text, size_t len, const char *name,
                      int first_line, char *err, size_t errlen)
{
	if (len > RBAC_MAX_BYTES) {
		fmt_err(err, errlen, name, 0, "policy larger than %u bytes", RBAC_MAX_BYTES);
		return -1;
	}
	char line[RBAC_MAX_LINE + 2];
	int ln = first_line;
	for (size_t o = 0; o < len; ln++) {
		const char *nl = memchr(text + o, '\n', len - o);
		size_t n = nl ? (size_t)(nl - (text + o)) : len - o;
		size_t keep = n;
		if (keep && text[o + keep - 1] == '\r')
			keep--;
		if (keep > RBAC_MAX_LINE) {
			fmt_err(err, errlen, name, ln, "line longer than %d bytes", RBAC_MAX_LINE);
			return -1;
		}
		if (memchr(text + o, 0, keep)) {
			fmt_err(err, errlen, name, ln, "NUL byte in the line");
			return -1;
		}
		memcpy(line, text + o, keep);
		line[keep] = 0;
		if (parse_line(r, line, name, ln, err, errlen))
			return -1;
		o += n + (nl ? 1 : 0);
	}
	return 0;
}

static struct rbac *rbac_builtin(void)
{
	struct rbac *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	for (unsigned i = 0; i < NPAIRS; i++)
		if (add_p(r, "admin", i, 1)) {
			rbac_free(r);
			return NULL;
		}
	char err[64];
	if (parse_into(r, builtin_lines, strlen(builtin_lines), "built-in policy", 1, err,
	               sizeof(err))) {
		rbac_free(r);
		return NULL;
	}
	return r;
}

struct rbac *rbac_new_default(void)
{
	return rbac_builtin();
}

struct rbac *rbac_parse(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	if (!name)
		name = "policy";
	if (!text && len) {
		fmt_err(err, errlen, name, 0, "no policy text");
		return NULL;
	}
	struct rbac *r = rbac_builtin();
	if (!r) {
		fmt_err(err, errlen, name, 0, "out of memory");
		return NULL;
	}
	if (len && parse_into(r, text, len, name, 1, err, errlen)) {
		rbac_free(r);
		return NULL;
	}
	return r;
}

/* Reads a whole regular file of at most RBAC_MAX_BYTES; NULL with err filled. */
static char *read_policy_file(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fmt_err(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fmt_err(err, errlen, path, 0, "not a regular file");
		close(fd);
		return NULL;
	}
	/* read one byte more than allowed so a file that grew is still refused */
	char *buf = malloc(RBAC_MAX_BYTES + 1);
	size_t n = 0;
	ssize_t k = 0;
	while (buf && n <= RBAC_MAX_BYTES && (k = read(fd, buf + n, RBAC_MAX_BYTES + 1 - n)) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			fmt_err(err, errlen, path, 0, "cannot read: %s", strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		n += (size_t)k;
	}
	close(fd);
	if (!buf) {
		fmt_err(err, errlen, path, 0, "out of memory");
		return NULL;
	}
	*len = n;
	return buf;
}

struct rbac *rbac_load(const char *path, char *err, size_t errlen)
{
	if (!path || !*path) {
		fmt_err(err, errlen, "rbac", 0, "no policy file given");
		return NULL;
	}
	size_t len;
	char *text = read_policy_file(path, &len, err, errlen);
	if (!text)
		return NULL;
	struct rbac *r = rbac_parse(text, len, path, err, errlen);
	free(text);
	return r;
}

struct rbac *rbac_from_config(const struct config *cfg, char *err, size_t errlen)
{
	const char *file = cfg ? config_get_string(cfg, "rbac.policy_file", NULL) : NULL;
	struct rbac *r = file && *file ? rbac_load(file, err, errlen) : rbac_new_default();
	if (!r) {
		if (!file || !*file)
			fmt_err(err, errlen, "rbac", 0, "out of memory");
		return NULL;
	}
	const json_t *lines = cfg ? config_get_json(cfg, "rbac.policy") : NULL;
	if (!lines || json_is_null(lines))
		return r;
	if (json_is_string(lines)) {
		/* a block scalar: lines separated by newlines */
		if (!parse_into(r, json_string_value(lines), json_string_length(lines),
		                "rbac.policy", 1, err, errlen))
			return r;
	} else if (json_is_array(lines)) {
		size_t i;
		const json_t *v;
		json_array_foreach(lines, i, v)
		{
			/* line numbers of rbac.policy are its items, counted from 1 */
			int ln = i < (size_t)RBAC_MAX_RULES ? (int)i + 1 : RBAC_MAX_RULES;
			if (!json_is_string(v) ||
			    memchr(json_string_value(v), '\n', json_string_length(v))) {
				fmt_err(err, errlen, "rbac.policy", ln,
				        "each item must be one policy line (a string)");
				break;
			}
			if (parse_into(r, json_string_value(v), json_string_length(v),
			               "rbac.policy", ln, err, errlen))
				break;
		}
		if (i == json_array_size(lines))
			return r;
	} else {
		fmt_err(err, errlen, "rbac.policy", 0,
		        "must be a list of policy lines (\"p, SUBJECT, OBJECT, ACTION, EFFECT\" or "
		        "\"g, USER, ROLE\")");
	}
	rbac_free(r);
	return NULL;
}

/* The subjects a request is evaluated as: the user, the given roles, and the roles
 * their g lines reach within RBAC_MAX_DEPTH steps. */
struct subjects {
	const char **v;
	size_t n, cap;
};

static int subj_has(const struct subjects *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return 1;
	return 0;
}

static int subj_add(struct subjects *s, const char *x)
{
	if (!x || !*x || subj_has(s, x))
		return 0;
	if (s->n == s->cap) {
		size_t n = s->cap ? s->cap * 2 : 8;
		const char **v = realloc(s->v, n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = n;
	}
	s->v[s->n++] = x;
	return 0;
}

static int subjects_of(const struct rbac *r, const char *user, const char *const *roles,
                       size_t nroles, struct subjects *s)
{
	if (subj_add(s, user))
		return -ENOMEM;
	for (size_t i = 0; roles && i < nroles; i++)
		if (subj_add(s, roles[i]))
			return -ENOMEM;
	size_t from = 0;
	for (int depth = 0; depth < RBAC_MAX_DEPTH && from < s->n; depth++) {
		size_t to = s->n;
		for (size_t k = from; k < to; k++)
			for (size_t j = 0; j < r->ng; j++)
				if (!strcmp(r->g[j].user, s->v[k]) && subj_add(s, r->g[j].role))
					return -ENOMEM;
		from = to;
	}
	return 0;
}

static int allowed_as(const struct rbac *r, const struct subjects *s, unsigned pair)
{
	int allow = 0;
	for (size_t i = 0; i < r->np; i++) {
		if (r->p[i].pair != pair || !subj_has(s, r->p[i].sub))
			continue;
		if (!r->p[i].allow)
			return 0; /* deny overrides */
		allow = 1;
	}
	return allow;
}

int rbac_allowed(const struct rbac *r, const char *user, const char *const *roles, size_t nroles,
                 const char *object, const char *action)
{
	if (!r || !object || !action)
		return 0;
	int pair = find_pair(object, action);
	if (pair < 0)
		return 0;
	struct subjects s = {0};
	/* out of memory: refuse, never grant */
	int ok = !subjects_of(r, user, roles, nroles, &s) && allowed_as(r, &s, (unsigned)pair);
	free(s.v);
	return ok;
}

int rbac_roles_text(const struct rbac *r, const char *user, const char *const *roles,
                    size_t nroles, char *buf, size_t len)
{
	if (len)
		buf[0] = 0;
	if (!r)
		return 0;
	struct subjects s = {0};
	if (subjects_of(r, user, roles, nroles, &s)) {
		free(s.v);
		return -ENOMEM;
	}
	/* s.v[0] is the user itself (when it has a name), the rest its roles */
	size_t first = user && *user ? 1 : 0, o = 0;
	int n = 0, cut = 0;
	for (size_t i = first; i < s.n; i++, n++) {
		if (cut || !len)
			continue;
		size_t need = strlen(s.v[i]) + (o ? 2 : 0);
		if (o + need + 4 > len) { /* room for "..." and the NUL */
			snprintf(buf + o, len - o, "%s", len - o > 3 ? "..." : "");
			cut = 1;
			continue;
		}
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", s.v[i]);
	}
	free(s.v);
	return n;
}

json_t *rbac_permissions_json(const struct rbac *r, const char *user, const char *const *roles,
                              size_t nroles)
{
	if (!r)
		return NULL;
	struct subjects s = {0};
	json_t *a = json_array();
	if (!a || subjects_of(r, user, roles, nroles, &s)) {
		free(s.v);
		json_decref(a);
		return NULL;
	}
	for (unsigned i = 0; i < NPAIRS; i++) {
		if (!r->named[i])
			continue;
		json_t *o = json_pack("{s:s, s:s, s:b}", "Object", pairs[i].obj, "Action",
		                      pairs[i].act, "Allowed", allowed_as(r, &s, i));
		if (!o || json_array_append_new(a, o)) {
			json_decref(a);
			a = NULL;
			break;
		}
	}
	free(s.v);
	return a;
}

/* ---- what a request needs ------------------------------------------------------ */

static const char *pair_act(const char *obj, const char *act)
{
	int i = find_pair(obj, act);
	return i < 0 ? NULL : pairs[i].act;
}

static int need(const char *objects[2], const char *actions[2], int n, const char *obj,
                const char *act)
{
	int i = find_pair(obj, act);
	/* every caller names a pair of the table; config/write if one ever does not */
	if (i < 0)
		i = find_pair("config", "write");
	objects[n] = pairs[i].obj;
	actions[n] = pairs[i].act;
	return n + 1;
}

/* GET and HEAD read; every other method changes something. */
static const char *rw(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD") ? "read" : "write";
}

/* /api/<name> or /api/<name>/<anything>: resources shaped as Skydive's
 * graffiti/api/server/server.go registers them (read: GET, write: POST/PUT/PATCH/DELETE). */
static int resource_is(const char *p, size_t plen, const char *name)
{
	size_t n = strlen(name);
	return plen >= 5 + n && !strncmp(p, "/api/", 5) && !strncmp(p + 5, name, n) &&
	       (plen == 5 + n || p[5 + n] == '/');
}

int rbac_request_needs(const char *method, const char *path, const char *accept,
                       const char *objects[2], const char *actions[2])
{
	static const char *const resources[] = {"capture", "alert",    "injectpacket", "node",
	                                        "edge",    "noderule", "edgerule",     "workflow"};
	if (!method)
		method = "";
	if (!path)
		path = "";
	/* a pre-flight only asks which methods and headers CORS allows; the real request
	 * is checked when it comes */
	if (!strcmp(method, "OPTIONS"))
		return 0;
	size_t plen = strcspn(path, "?");
	if (!strncmp(path, "/ws/", 4)) {
		for (unsigned i = 0; i < NPAIRS; i++)
			if (!strcmp(pairs[i].obj, "websocket") && strlen(pairs[i].act) == plen &&
			    !strncmp(pairs[i].act, path, plen))
				return need(objects, actions, 0, "websocket", pairs[i].act);
		return need(objects, actions, 0, "config", "write");
	}
	/* Prometheus' scrape: the counters of /api/status, so the same permission */
	if (plen == 8 && !strncmp(path, "/metrics", 8))
		return need(objects, actions, 0, "status", "read");
	/* the router treats every path starting with /api as the API (ui_serve.c): the
	 * rest is the web UI's static files, /login and /logout */
	if (strncmp(path, "/api", 4))
		return 0;
#define IS(lit) (plen == sizeof(lit) - 1 && !strncmp(path, lit, plen))
	if (IS("/api") || IS("/api/") || IS("/api/status"))
		return need(objects, actions, 0, "status", "read");
	if (IS("/api/topology")) {
		/* POST is a query: a read, as in Skydive's topology.go */
		int n = need(objects, actions, 0, "topology", "read");
		/* the same test rest.c makes to answer a pcap file */
		if (!strcmp(method, "POST") && accept &&
		    strstr(accept, "application/vnd.tcpdump.pcap"))
			n = need(objects, actions, n, "capture", "rawpackets");
		return n;
	}
	if (IS("/api/pcap"))
		return need(objects, actions, 0, "pcap", "write");
	if (plen >= 12 && !strncmp(path, "/api/config/", 12))
		return need(objects, actions, 0, "config", rw(method));
	/* Skydive's workflow call: POST /api/workflow/<id>/call */
	if (plen > 18 && !strncmp(path, "/api/workflow/", 14) &&
	    !strncmp(path + plen - 5, "/call", 5))
		return need(objects, actions, 0, "workflow.call", "write");
#undef IS
	for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
		if (resource_is(path, plen, resources[i]) && pair_act(resources[i], rw(method)))
			return need(objects, actions, 0, resources[i], rw(method));
	/* an API path this table does not know: only admin, so a route added without an
	 * entry here is closed rather than open */
	return need(objects, actions, 0, "config", "write");
}
