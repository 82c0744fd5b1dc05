/* rbac.h - role-based access control in Skydive's policy shape (rbac/policy.csv,
 * graffiti/rbac/enforcer.go: casbin with "p, SUBJECT, OBJECT, ACTION, EFFECT" and
 * "g, USER, ROLE" lines). No C casbin exists; this is a small evaluator of that model:
 * a subject is a user or a role, roles may inherit roles (g lines), deny wins over
 * allow, nothing allowed unless a line allows it.
 *
 * Built-in policy (used when no file is configured, and merged under a file's lines):
 *   admin    every object and action
 *   operator topology/status/config read, capture read+write, pcap write, websocket
 *            /ws/subscriber; NOT capture rawpackets (raw packets, PCAP) unless granted
 *   viewer   topology, status, capture, config read, websocket /ws/subscriber; no
 *            writes, no raw packets
 *   (Skydive's "guest" is accepted as an alias of viewer)
 * Objects: topology, capture, pcap, status, config, websocket, alert, injectpacket,
 * node, edge, noderule, edgerule, workflow, workflow.call (Skydive's); actions read,
 * write, rawpackets (capture only), a WebSocket path (websocket only).
 *
 * Ownership: an rbac is immutable after rbac_load/rbac_new_default; any thread may
 * call the query functions concurrently. Errors carry the file, line and reason. */
#ifndef SKYDIVE_RBAC_H
#define SKYDIVE_RBAC_H

#include <jansson.h>
#include <stddef.h>

struct rbac;

/* The built-in policy only. NULL on out of memory. */
struct rbac *rbac_new_default(void);
/* The built-in policy plus the lines of path (Skydive's CSV shape; '#' comments and
 * blank lines ignored). NULL with err filled ("policy.csv:12: unknown effect 'maybe'
 * (allow or deny)"). */
struct rbac *rbac_load(const char *path, char *err, size_t errlen);
/* Same from a buffer (tests, fuzzing); name is used in error messages. */
struct rbac *rbac_parse(const char *text, size_t len, const char *name, char *err,
                        size_t errlen);
void rbac_free(struct rbac *r); /* NULL is fine */

/* From the configuration: the built-in policy, then the file rbac.policy_file (ours:
 * Skydive bundled its file in the binary), then the lines of rbac.policy (Skydive's key:
 * a YAML list of policy lines; errors name the item as "rbac.policy:N"). cfg NULL: the
 * built-in policy. NULL with err filled. */
struct config;
struct rbac *rbac_from_config(const struct config *cfg, char *err, size_t errlen);

/* Limits of a policy (file or text): larger ones are refused with an error. */
#define RBAC_MAX_BYTES (1u << 20) /* the whole text */
#define RBAC_MAX_LINE 1024        /* one line, without its end of line */
#define RBAC_MAX_RULES 10000      /* p and g lines, the built-in ones included */

/* Whether any of roles[0..nroles) (and the user's own g-line roles, and their
 * inherited ones) may do action on object. 1 allowed, 0 denied. */
int rbac_allowed(const struct rbac *r, const char *user, const char *const *roles,
                 size_t nroles, const char *object, const char *action);

/* The roles user holds, as "operator, viewer" into buf[len]: roles[0..nroles) (a
 * backend's default role), then the roles of user's g lines, then those they inherit
 * (up to casbin's depth of 10, as rbac_allowed follows them), in that order, each once;
 * the user's own name is not a role. Cut with "..." when it does not fit. Returns how
 * many roles there are (0: buf is ""), or -ENOMEM (buf ""). */
int rbac_roles_text(const struct rbac *r, const char *user, const char *const *roles,
                    size_t nroles, char *buf, size_t len);

/* The permissions of that user/roles as Skydive's /login answers them:
 * [{"Object","Action","Allowed"}...] for every (object, action) the policy names.
 * New reference; NULL on out of memory. */
json_t *rbac_permissions_json(const struct rbac *r, const char *user,
                              const char *const *roles, size_t nroles);

/* What a REST request needs: object and action for method + path (+ Accept: a
 * PCAP Accept on /api/topology needs capture/rawpackets too). Fills *object and
 * *action with static strings; returns the number of requirements written (1 or 2)
 * into objects/actions arrays of size 2, or 0 when the path needs no permission
 * (the web UI's static files, /login, OPTIONS pre-flights). */
int rbac_request_needs(const char *method, const char *path, const char *accept,
                       const char *objects[2], const char *actions[2]);

#endif
