/* gremlin.h - Skydive's Gremlin dialect: parse once, evaluate against a graph.
 *
 * Lexer -> recursive-descent parser -> a list of steps with arguments (source
 * positions kept for errors) -> evaluation as a pipeline over typed values
 * (nodes, edges, flows, scalars). Keywords are case-insensitive. Flow steps
 * (Flows(), RawPackets() ...) go through gremlin_flow_ops, which the captures
 * code provides; without it they fail with a clear error.
 *
 * Skydive behaviours kept: Descendants()/Ascendants() follow "ownership" edges, default
 * depth 1, depth 0 = no limit, start nodes included; Neighbors() follows ownership edges
 * (or edges matching its k, v pairs, OR'ed) both ways, default depth 1; V('id') of a
 * missing node is an error; Out()/In() do not dedup; Sort() defaults to CreatedAt (Last
 * for flows). Differences: OUTSIDE works; REGEX also accepts ^ and $ (always anchored)
 * and refuses nested repetitions; LT/GT... also compare strings with strings. */
#ifndef SKYDIVE_GREMLIN_H
#define SKYDIVE_GREMLIN_H

#include <jansson.h>
#include <stdint.h>

#include "graph/graph.h"

/* Where and why a query was refused: pos is the 0-based character offset in
 * the query text, msg says what was expected ("expected ')' after
 * arguments of Has at 17"). */
struct gremlin_error {
	int pos;
	char msg[256];
};

struct gremlin_query;

/* NULL with *err filled on a syntax error (or out of memory). */
struct gremlin_query *gremlin_parse(const char *text, struct gremlin_error *err);
void gremlin_query_free(struct gremlin_query *q); /* NULL is fine */

/* Time context asked by the query (G.At / G.Context): 0 = live. Lets the
 * caller pick a view before evaluating. at_ms is absolute ms since the epoch
 * (relative forms like '-1m' are resolved against now_ms); duration_ms 0 when
 * none was given. Returns 1 if the query has a time context. */
/* FOREVER as duration gives duration_ms = at_ms (back to the epoch). */
int gremlin_time_context(const struct gremlin_query *q, int64_t now_ms, int64_t *at_ms,
			 int64_t *duration_ms);

/* A typed flow field value (gremlin_flow_ops.field): no JSON made to test a predicate. */
enum gremlin_fv_kind { GREMLIN_FV_INT, GREMLIN_FV_REAL, GREMLIN_FV_STR, GREMLIN_FV_BOOL,
		       GREMLIN_FV_OBJ /* present, an object: compares with nothing */ };
struct gremlin_fval {
	enum gremlin_fv_kind kind;
	int64_t i;     /* INT, BOOL */
	double d;      /* REAL */
	const char *s; /* STR */
	char buf[48];  /* room for a formatted address or id s may point to */
};

/* Non-zero when the flow record rec (read with field(probe, rec, ...)) passes the
 * predicates wuser stands for. */
typedef int (*gremlin_flow_want_fn)(void *wuser, const void *probe, const void *rec);

/* One raw packet (gremlin_flow_ops.raw_select): caplen bytes of data, the frame's
 * length on the wire (>= caplen), its time in ns since the epoch, link type (DLT_*),
 * position in its flow (from 1) and the flow's UUID. */
struct gremlin_raw_pkt {
	uint64_t uuid;
	int64_t ts_ns;
	uint32_t index, linktype, caplen, wirelen;
	const uint8_t *data;
};

/* Hooks for the flow steps, provided by the flow store (store/flow_store.h). */
struct gremlin_flow_ops {
	/* Returns a new JSON array of flow objects matching the Has-style
	 * filters of Flows(k, v, ...) given as a JSON array, for the node IDs in
	 * nodes (NULL = every node), in the time context; NULL with *err set.
	 * For providers without select (tests' mocks): the flow store sets select. */
	json_t *(*flows)(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
			 int64_t duration_ms, struct gremlin_error *err);
	/* RawPackets(): a new JSON array [{"<flow UUID>": [{"Timestamp","Index",
	 * "Data" (base64),"LinkType"}, ...]}, ...] for the flow objects in flows;
	 * NULL with *err set. May be NULL (RawPackets() then fails). */
	json_t *(*raw_packets)(void *user, const json_t *flows, struct gremlin_error *err);
	void *user;
	/* Metrics(): a new JSON object {"<flow UUID>": [FlowMetric, ...], ...} for the flow
	 * objects in flows, each flow's update records oldest first (a flow without any:
	 * its LastUpdateMetric, or its Metric); NULL with *err set. May be NULL: the
	 * evaluator then gives each flow's LastUpdateMetric (or Metric) from its JSON.
	 * (Added last: initialisers of the fields above stay valid.) */
	json_t *(*metrics)(void *user, const json_t *flows, struct gremlin_error *err);
	/* Typed Flows() (preferred to flows when set): the same selection (filters, nodes,
	 * time context pushed down as far as the provider can; the evaluator applies the
	 * filters again) as a set of records the provider owns. want (may be NULL) is the
	 * evaluator's test of the Has() steps right after Flows(): the provider may call it
	 * on a record before keeping it, with probe standing for the set in field() during
	 * the call, and leave out what it refuses (where that cannot change the answer).
	 * Returns the set, *recs pointing at its *n records (valid until set_free), or NULL
	 * with *err set. */
	void *(*select)(void *user, const json_t *filters, const json_t *nodes, int64_t at_ms,
			int64_t duration_ms, gremlin_flow_want_fn want, void *wuser,
			const void *const **recs, size_t *n, struct gremlin_error *err);
	/* The values of a record's field by Skydive's dotted flow key (the names of the
	 * flow's JSON: Network.A, Metric.ABBytes, NodeTID ...; Network, Link and
	 * Transport alone give A and B): at most max written to out, their number
	 * returned; 0 when the flow's JSON would not have the key. A value of kind
	 * GREMLIN_FV_OBJ is a sub-object (Metric): ask rec_json for it. Strings point into
	 * out's buf or the set, valid until set_free. */
	int (*field)(const void *set, const void *rec, const char *key,
		     struct gremlin_fval *out, int max);
	/* A record as the flow's JSON object (new reference, NULL on no memory). */
	json_t *(*rec_json)(const void *set, const void *rec);
	void (*set_free)(void *set); /* NULL is fine */
	/* Typed RawPackets() (preferred to raw_packets when set): the raw packets of the
	 * flows whose UUIDs (hex strings; unknown or repeated ones ignored) are given, as
	 * records the provider owns, grouped by flow in the order asked, each flow's in
	 * the order stored. Returns the set, *pkts its *n records (valid until raw_free),
	 * or NULL with *err set. The evaluator filters them (BPF()) without JSON and makes
	 * Skydive's JSON (base64 Data) only for a JSON answer. */
	void *(*raw_select)(void *user, const char *const *uuids, size_t nuuids,
			    const struct gremlin_raw_pkt **pkts, size_t *n,
			    struct gremlin_error *err);
	void (*raw_free)(void *set); /* NULL is fine */
	/* A record of raw_select's set as Skydive's raw packet object (new reference,
	 * NULL on no memory); required with raw_select. */
	json_t *(*raw_json)(const void *set, const struct gremlin_raw_pkt *p);
};

struct gremlin_env {
	int64_t now_ms;                         /* "now" for relative times */
	const struct gremlin_flow_ops *flow_ops; /* may be NULL */
	/* Bounds (docs/API.md "Limits"), so one query cannot take the process down;
	 * 0 = the GREMLIN_DEFAULT_* below. Exceeding one fails the query (-E2BIG) with
	 * the step's position and what to do ("add Limit()"). */
	size_t max_results;   /* elements of the answer (paths: their nodes; flows) */
	size_t max_items;     /* elements between two steps (As/Select chains double) */
	int64_t timeout_ms;   /* wall time of one evaluation, checked in the step loops */
	/* Permission check of steps that expose more than the topology (RawPackets() and
	 * BPF() give packet bytes: object "capture", action "rawpackets", rbac.h's names);
	 * non-zero when allowed. Asked for every such step of the query before anything is
	 * evaluated, so a refusal does not depend on the data (-EACCES). NULL: every step
	 * allowed. */
	int (*allowed)(void *user, const char *object, const char *action);
	void *allowed_user;
	/* Non-zero: a result of raw packets from raw_select is handed over as records
	 * (gremlin_result.raw_pkts, for a PCAP answer) instead of JSON. */
	int raw_typed;
};

#define GREMLIN_DEFAULT_MAX_RESULTS 100000
#define GREMLIN_DEFAULT_MAX_ITEMS   1000000
#define GREMLIN_DEFAULT_TIMEOUT_MS  10000

enum gremlin_result_kind {
	GREMLIN_RESULT_NODES, /* JSON array of Node objects */
	GREMLIN_RESULT_EDGES, /* JSON array of Edge objects */
	GREMLIN_RESULT_GRAPH, /* G alone or ...SubGraph(): as Skydive, a one-element
			       * array [{"Nodes":[],"Edges":[]}] */
	GREMLIN_RESULT_VALUE, /* anything else: numbers, Values(), Keys(), paths, flows */
};

struct gremlin_result {
	enum gremlin_result_kind kind;
	json_t *json; /* owned by the caller: json_decref (NULL when raw_pkts is set) */
	/* With env->raw_typed and a result of typed raw packets: the kept packets in
	 * answer order (borrowed from raw_set); free with gremlin_result_clear. */
	const struct gremlin_raw_pkt *const *raw_pkts;
	size_t raw_n;
	void *raw_set;
	void (*raw_free)(void *set);
};

/* Frees what a result holds (json and raw packets) and zeroes it. */
void gremlin_result_clear(struct gremlin_result *r);

/* Evaluates q against view v (lock the graph while the view is in use).
 * Returns 0, or -EINVAL with *err filled (a step applied to the wrong kind
 * of value, a bad predicate argument ...), -EACCES with *err filled when env->allowed
 * refuses a step ("RawPackets() needs the capture rawpackets permission at position
 * 10"), or -ENOMEM. */
int gremlin_eval(const struct gremlin_query *q, const struct graph_view *v,
		 const struct gremlin_env *env, struct gremlin_result *out,
		 struct gremlin_error *err);

/* Evaluates q against v and calls fn for each element of its result seen as a subgraph
 * (what a subscriber's Gremlin filter selects): result nodes (deduplicated) and the edges
 * of v between them; result edges with both their end nodes; every node and edge of a
 * graph result (SubGraph(), G). fn gets a node or an edge (the other NULL), valid during
 * the call; a non-zero return stops the walk and is returned. -EINVAL with *err filled
 * when the result is values (Count(), Values() ...), as gremlin_eval's errors (-EACCES
 * included), -ENOMEM. */
typedef int (*gremlin_elem_fn)(void *user, const struct graph_node *n,
			       const struct graph_edge *e);
int gremlin_eval_elements(const struct gremlin_query *q, const struct graph_view *v,
			  const struct gremlin_env *env, gremlin_elem_fn fn, void *user,
			  struct gremlin_error *err);

/* The next hop towards ip (an address's text) from a node's RoutingTables and Neighbors
 * metadata, as NextHop() answers it per node (Skydive's topology.GetNextHop):
 * {"Priority","IP","MAC"?,"IfIndex"}, MAC only when the neighbour entry is known. A new
 * reference, or NULL when no route leads there (or ip is not an address). */
json_t *gremlin_nexthop(const json_t *metadata, const char *ip);

/* Graphviz DOT text of a NODES/EDGES/GRAPH result (nodes labelled by Name,
 * edges by RelationType); malloc'd, NULL for other kinds. */
char *gremlin_result_dot(const struct gremlin_result *r);

#endif
