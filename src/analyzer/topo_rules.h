/* topo_rules.h - Skydive's node and edge rules (api/types NodeRule and EdgeRule,
 * api/server/noderule.go and edgerule.go, applied as topology/enhancers/topology_manager.go
 * does): the resources of /api/noderule and /api/edgerule, kept in <data_dir>/noderules.json
 * and edgerules.json through the resource registry (resource.h), and applied to the
 * analyzer's graph on a thread of their own.
 *
 * A NodeRule {Name, Description, Metadata, Action, Query}:
 *   Action "create": a node with Metadata (Name and Type non-empty strings) whose ID is
 *     Skydive's graph.GenID(Type, Name), a UUID v5 in the OID namespace of "Type/Name";
 *     its Metadata gets TID = ID (and Probe "fabric" when Type is "fabric"). Deleting the
 *     rule deletes the node (and its edges).
 *   Action "update": Metadata (without Name or Type) merged, key by key (dotted keys as
 *     Skydive's SetField), into every node the Gremlin Query returns. Deleting the rule
 *     removes those keys from the nodes the Query returns then, and the other rules are
 *     applied again (one of them may set a removed key).
 * An EdgeRule {Name, Description, Src, Dst, Metadata}: an edge from the first node of the
 *   Src query to the first node of Dst, Metadata with a RelationType (non-empty string);
 *   "layer2" and "ownership" as Skydive's topology.AddLayer2Link/AddOwnershipLink (an
 *   ownership edge carries only its RelationType and replaces the child's other ownership
 *   parent), others with the rule's Metadata; its ID is a UUID v5 of SrcID+DstID+
 *   RelationType; nothing is added when the nodes are already linked by that RelationType
 *   (either direction). Deleting the rule deletes the first edge from Src to Dst whose
 *   Metadata has the rule's Metadata.
 * Rules are applied when created or loaded, and again after nodes are added or updated
 * (Skydive's OnNodeAdded/OnNodeUpdated), so a node appearing later gets them; graph
 * triggers are coalesced to one pass every TOPO_RULES_COALESCE_MS. Elements the rules
 * create have Host "" and Origin "analyzer.<hostname>" (Skydive's graph origin).
 *
 * Threads: topo_rules_handle runs on the event loop (the registry: parse, validate, save
 * a small file); evaluation and graph writes run on the rules thread (or on the caller of
 * topo_rules_run): queries under the graph's reader side, changes under its writer side,
 * so subscribers see them through the graph's listeners. The graph listener only sets a
 * flag and signals. */
#ifndef SKYDIVE_TOPO_RULES_H
#define SKYDIVE_TOPO_RULES_H

#include <jansson.h>
#include <stddef.h>

#include "analyzer/resource.h"
#include "config/config.h"
#include "graph/graph.h"
#include "http/rest_reply.h"

#define TOPO_RULES_NODE_FILE   "noderules.json" /* in the data directory */
#define TOPO_RULES_EDGE_FILE   "edgerules.json"
#define TOPO_RULES_COALESCE_MS 100

/* The validate() of each kind (res_kind): obj checked (keys matched without regard to case,
 * as Go's encoding/json; UUID ignored) and rewritten in place with Skydive's field names
 * and every field (NodeRule: Name, Description, Metadata, Action, Query; EdgeRule: Name,
 * Description, Src, Dst, Metadata). 0, -EINVAL with err filled (pos: the position in the
 * Gremlin query named by the message, else -1), -ENOMEM. */
int topo_rules_validate_node(json_t *obj, struct res_error *err);
int topo_rules_validate_edge(json_t *obj, struct res_error *err);

/* Skydive's graph.GenID(s...) with arguments: the UUID v5 (OID namespace) of the parts
 * joined by "/". 0 or -ENOMEM/-EIO. */
int topo_rules_gen_id(const char *const *parts, size_t n, char out[37]);

struct topo_rules;

/* Loads both files (a corrupt file is set aside as .corrupt; an invalid rule in it is
 * logged and dropped). g and cfg (may be NULL: default Gremlin bounds) are borrowed.
 * NULL on out of memory. */
struct topo_rules *topo_rules_new(const char *data_dir, struct graph *g,
                                  const struct config *cfg);
/* Listens to the graph and starts the thread (rules loaded are applied at once). 0/-errno. */
int topo_rules_start(struct topo_rules *r);
void topo_rules_free(struct topo_rules *r); /* stops the thread; NULL is fine */

/* Answers /api/noderule[/<uuid>] (edge 0) or /api/edgerule[/<uuid>] (edge 1): GET, POST
 * (JSON, or YAML by content_type), DELETE, as resource.h. */
void topo_rules_handle(struct topo_rules *r, int edge, const char *method, const char *path,
                       const char *content_type, const char *body, size_t len,
                       struct rest_response *out);

/* One pass on the caller's thread (what the thread does when woken): the removals of
 * deleted rules, then every rule applied. Returns how many graph changes it made. Not to
 * be called while the thread runs (tests call it without topo_rules_start). */
int topo_rules_run(struct topo_rules *r);

/* The rules' registries (for tests and status); borrowed. */
struct res_registry *topo_rules_registry(struct topo_rules *r, int edge);

struct topo_rules_stats {
	size_t node_rules, edge_rules;
	unsigned long long passes, changes, errors; /* errors: queries that failed */
};
void topo_rules_stats(struct topo_rules *r, struct topo_rules_stats *out);
/* GET /api/status "Rules": {"NodeRules", "EdgeRules", "Passes", "Changes", "Errors"}.
 * New reference (NULL on out of memory). */
json_t *topo_rules_status(struct topo_rules *r);

#endif
