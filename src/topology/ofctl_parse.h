/* ofctl_parse.h - a parser of the flow text of ovs-ofctl (one line of `ovs-ofctl
 * dump-flows`, one group of `dump-groups`) into the shapes Skydive 0.28 gives its
 * ofrule and ofgroup nodes (topology/probes/ovsdb/jsonof/ovs_rule_parser.go): a rule's
 * Cookie, Table, Priority, Filters [{Key, Value, Mask?}] and Actions [{Function,
 * Arguments?, Key?}], and Skydive's rule UUID. Pure: no I/O, no globals; the OpenFlow
 * probe (oflow.c) and fuzz/fuzz_ofctl.c drive the same functions. docs/TOPOLOGY.md. */
#ifndef SKYDIVE_OFCTL_PARSE_H
#define SKYDIVE_OFCTL_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "topology/topology.h"

/* OFP_DEFAULT_PRIORITY: ovs-ofctl prints no priority= for a flow that has it. */
#define OFCTL_DEFAULT_PRIORITY 32768
/* Bounds on one line: nesting of action arguments, items of each kind. */
#define OFCTL_MAX_DEPTH 16
#define OFCTL_MAX_ITEMS 512
#define OFCTL_MAX_LINE 65536

struct ofctl_error {
	char msg[128];
	size_t pos; /* byte offset in the line */
};

/* One flow of dump-flows. */
struct ofctl_rule {
	uint64_t cookie;
	uint32_t table;
	uint32_t priority;  /* OFCTL_DEFAULT_PRIORITY when the line has none */
	char *raw_filter;   /* Skydive's RawFilter: "key:value,key,..." (malloc'd, "" if none) */
	json_t *filters;    /* array of {Key, Value, Mask?}; empty when the flow matches all */
	json_t *actions;    /* array of {Function, Arguments?, Key?}; null arguments as JSON null */
	json_t *meta;	    /* array of {Key, Value}: duration, n_packets, idle_timeout, ... */
};

/* Parses one line of dump-flows (leading blanks and a trailing newline allowed).
 * 0 with *r filled (release with ofctl_rule_clear), or -EINVAL with err (message and
 * byte position) and *r empty, -ENOMEM. Lines that are not flows (the "NXST_FLOW
 * reply" header) are -EINVAL: see ofctl_is_flow_line. */
int ofctl_parse_rule(const char *line, size_t len, struct ofctl_rule *r, struct ofctl_error *err);
void ofctl_rule_clear(struct ofctl_rule *r); /* zeroes it; an empty one is fine */

/* Whether a line of dump-flows / dump-groups / monitor output is an item (it starts
 * with a blank, as ovs-ofctl indents each flow, group and event under its reply
 * header). */
int ofctl_is_item_line(const char *line, size_t len);

/* Skydive's rule UUID (ofctl.go fillUUID): UUIDv5(OID, prefix + RawFilter + "-" +
 * table + "-" + priority), prefix = "<ovsdb target>-<bridge>-". 0 or -ENOMEM. */
int ofctl_rule_uuid(char out[TOPOLOGY_ID_LEN], const char *prefix, const struct ofctl_rule *r);

/* The node metadata Skydive's ofctl probe gives the rule (ofctl.go addRule): Type
 * "ofrule", Cookie "0x..", Table, Priority, Filters (null when none, as Go marshals an
 * empty slice it never filled), Actions, UUID. New reference, NULL on OOM. */
json_t *ofctl_rule_metadata(const struct ofctl_rule *r, const char *uuid);

/* One group of dump-groups. */
struct ofctl_group {
	uint32_t group_id;
	char type[32];	 /* all, select, indirect, ff */
	json_t *meta;	 /* array of {Key, Value} (selection_method, fields(...), ...) */
	json_t *buckets; /* array of {Id, Meta?, Actions} */
};

/* Parses one line of dump-groups, as ofctl_parse_rule. */
int ofctl_parse_group(const char *line, size_t len, struct ofctl_group *gr,
		      struct ofctl_error *err);
void ofctl_group_clear(struct ofctl_group *gr);
/* Skydive's group UUID (fillGroupUUID): UUIDv5(OID, prefix + "-" + group id). */
int ofctl_group_uuid(char out[TOPOLOGY_ID_LEN], const char *prefix, uint32_t group_id);
/* Skydive's ofgroup metadata (addGroup): Type "ofgroup", GroupId, GroupType, Meta (only
 * when not empty), Buckets, UUID. New reference, NULL on OOM. */
json_t *ofctl_group_metadata(const struct ofctl_group *gr, const char *uuid);

#endif
