/* gremlin_int.h - the parsed form of a Gremlin query, shared by the parser, the
 * evaluator and the tests. */
#ifndef SKYDIVE_GREMLIN_INT_H
#define SKYDIVE_GREMLIN_INT_H

#include <regex.h>
#include <stdint.h>

#include "gremlin/gremlin.h"

enum step_kind {
	S_G,
	S_V,
	S_E,
	S_HAS,
	S_HASKEY,
	S_HASNOT,
	S_HASEITHER,
	S_OUT,
	S_IN,
	S_BOTH,
	S_OUTE,
	S_INE,
	S_BOTHE,
	S_OUTV,
	S_INV,
	S_BOTHV,
	S_DEDUP,
	S_COUNT,
	S_RANGE,
	S_LIMIT,
	S_SORT,
	S_VALUES,
	S_VALUEMAP,
	S_KEYS,
	S_SUM,
	S_SHORTESTPATHTO,
	S_SUBGRAPH,
	S_AS,
	S_SELECT,
	S_DESCENDANTS,
	S_ASCENDANTS,
	S_NEIGHBORS,
	S_AT,
	S_CONTEXT,
	/* flow steps: parsed, evaluated through gremlin_flow_ops */
	S_FLOWS,
	S_RAWPACKETS,
	S_HOPS,
	S_NODES,
	S_CAPTURENODE,
	S_NODE,
	S_METRICS,
	S_AGGREGATES,
	S_BPF,
	S_SOCKETS,
	S_GROUP,
	S_MORETHAN,
	S_NEXTHOP,
	S_WORKFLOW,
};

enum arg_kind { A_STR, A_INT, A_FLOAT, A_BOOL, A_KW, A_PRED };

enum pred_kind {
	P_NE,
	P_NEE,
	P_LT,
	P_LTE,
	P_GT,
	P_GTE,
	P_INSIDE,
	P_OUTSIDE,
	P_BETWEEN,
	P_WITHIN,
	P_WITHOUT,
	P_REGEX,
	P_IPV4RANGE,
	P_METADATA,
};

enum kw_kind { K_ASC, K_DESC, K_NOW, K_FOREVER };

struct filter;

struct arg {
	enum arg_kind kind;
	int pos;
	char *s; /* A_STR */
	int64_t i;
	double f;
	int b;
	int kw;   /* A_KW */
	int pred; /* A_PRED */
	struct arg *args;
	int nargs;
	regex_t *re;            /* P_REGEX, compiled anchored */
	uint32_t net, mask;     /* P_IPV4RANGE */
	struct filter *flt;     /* P_METADATA */
};

/* key matches val (a value or a predicate); val NULL: the key exists. */
struct cond {
	const char *key;
	const struct arg *val;
};

struct filter {
	int any; /* OR instead of AND */
	int n;
	struct cond *c;
};

struct step {
	enum step_kind kind;
	int pos;
	struct arg *args;
	int nargs;
	struct filter *flt; /* Has/Out/.../V(k,v) filters; Neighbors' edge filter */
	int64_t depth;      /* Descendants, Ascendants, Neighbors */
};

enum time_kind { T_NONE, T_ABS_MS, T_REL_MS, T_NOW };

struct gremlin_query {
	struct step *steps;
	int nsteps;
	enum time_kind at_kind;
	int64_t at_ms;       /* absolute ms, or offset from now for T_REL_MS */
	int64_t duration_ms; /* -1 = FOREVER */
	int has_duration;
};

const char *gremlin_step_name(enum step_kind k);
/* "10.0.0.0/8" or a bare address (a /32) to network and mask; 0 or -EINVAL. */
int gremlin_parse_cidr(const char *s, uint32_t *net, uint32_t *mask);

#endif
