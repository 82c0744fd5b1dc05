/* capture_res.h - the Capture resource of the analyzer's REST API (Skydive's
 * /api/capture): validation, JSON, a registry persisted in the data directory,
 * TTL expiry, and the small interface dispatch code uses to follow captures.
 *
 * REST: GET /api/capture (map UUID -> Capture), GET/DELETE /api/capture/<id>,
 * POST /api/capture (JSON, or YAML with Content-Type application/yaml; header
 * X-Resource-TTL with a Go duration). Errors are {"Error": "..."} (plus
 * "Position" for Gremlin errors), as the rest of the API. docs/API.md.
 *
 * Threads: every function may be called from any thread (one mutex). Change
 * listeners run on the thread that made the change, without the registry lock
 * held, so they may call capture_res_get()/capture_res_foreach(). */
#ifndef SKYDIVE_CAPTURE_RES_H
#define SKYDIVE_CAPTURE_RES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/resource.h"
#include "analyzer/rest.h"
#include "graph/graph.h"

#define CAPTURE_RES_FILE "captures.json" /* in the data directory */

/* One capture as in Skydive's API (api/types Capture). Strings are malloc'd
 * and never NULL ("" when unset). */
struct capture_def {
	char uuid[37];
	char *gremlin_query, *bpf_filter, *name, *description, *type;
	char *layer_key_mode, *target, *target_type;
	int port;                 /* sFlow port, 0..65535 (0 = allocated) */
	int64_t sampling_rate;    /* 0..2^32-1 */
	int64_t polling_interval; /* 0..2^32-1 */
	int64_t raw_packet_limit; /* -1 every packet, 0 none, N per flow */
	int header_size;          /* 0 (= 256) or 14..65535 */
	int extra_layers;         /* bitmask: VRRP 1, DNS 2, DHCPv4 4; 255 all */
	bool extra_tcp_metric, ip_defrag, reassemble_tcp;
	int64_t expires_ms; /* wall clock ms of the TTL's end; 0 = none */
};

/* Why a capture was refused; pos >= 0 is a position in the GremlinQuery. */
struct capture_res_error {
	char msg[512];
	int pos;
};

/* Reads a Capture object (field names as Skydive's, matched without regard
 * to case like Go's encoding/json; UUID and Count are ignored; ExtraLayers an
 * int or a list of names) and checks every field that needs no graph: the
 * Gremlin parses, the BPF compiles for Ethernet, the type and ranges are
 * valid. 0, or -EINVAL with err filled (-ENOMEM). out is cleared first; free
 * it with capture_def_clear() in both cases. */
int capture_def_from_json(const json_t *in, struct capture_def *out, struct capture_res_error *err);
/* The API JSON of c (Skydive's field order and omitempty), with "Count".
 * New reference, NULL on out of memory. */
json_t *capture_def_to_json(const struct capture_def *c, int count);
/* Checks c's Type against the node types its Gremlin matches on the live
 * graph: refused (-EINVAL) when it matches nodes and the type is allowed on
 * none of them. Takes the graph lock. */
int capture_def_check_graph(const struct capture_def *c, struct graph *g,
                            struct capture_res_error *err);
/* Deep copy (0 or -ENOMEM) and release (NULL and cleared structs are fine). */
int capture_def_copy(struct capture_def *dst, const struct capture_def *src);
void capture_def_clear(struct capture_def *c);

/* The capture types a node Type allows, comma separated, the default first
 * ("afpacket, pcap, ..."); NULL when that node type cannot be captured. */
const char *capture_types_for_node(const char *node_type);
/* A Go duration ("30s", "1h30m", "1.5h", "300ms") or a plain number of ms
 * (Skydive's client --ttl) into ms. 0 or -EINVAL. */
int capture_res_parse_duration(const char *s, int64_t *ms);

/* ---- the registry -------------------------------------------------------- */

struct capture_res;

/* Loads data_dir/captures.json if it exists (a corrupt file is logged with
 * its position, renamed .corrupt, and the registry starts empty). data_dir is
 * created on the first write. g is borrowed (the live graph; NULL skips the
 * node type check). NULL only on out of memory. */
struct capture_res *capture_res_new(const char *data_dir, struct graph *g);
void capture_res_free(struct capture_res *r); /* NULL is fine */

struct capture_res_request {
	const char *method, *path; /* path starts with /api/capture */
	const char *content_type;  /* NULL = JSON */
	const char *ttl;           /* X-Resource-TTL or NULL */
	const char *body;
	size_t body_len;
	int64_t now_ms; /* 0 = the wall clock */
};
/* Answers one /api/capture request; always fills out (caller frees body). */
void capture_res_handle(struct capture_res *r, const struct capture_res_request *req,
                        struct rest_response *out);

/* analyzer.startup.capture_gremlin (with capture_bpf, capture_type): creates
 * that capture, as Skydive's analyzer does when it starts, unless one with the
 * same GremlinQuery, BPFFilter and Type exists (kept from a previous run in
 * captures.json: a restart does not make a second one). Unset: nothing.
 * 0, or -EINVAL / -ENOMEM with err filled (a query or filter the POST would
 * refuse): the analyzer does not start, as Skydive's. */
struct config;
int capture_res_startup(struct capture_res *r, const struct config *cfg, char *err,
			size_t errlen);
/* Deletes the captures whose TTL ended by now_ms; returns how many. */
int capture_res_expire(struct capture_res *r, int64_t now_ms);

/* For dispatch code. fn sees each capture (borrowed, registry locked: it
 * must not call back into r); a non-zero return stops the walk and is
 * returned. */
int capture_res_foreach(struct capture_res *r, int (*fn)(void *user, const struct capture_def *c),
                        void *user);
/* Copies capture uuid into out (capture_def_clear it): 0, -ENOENT, -ENOMEM. */
int capture_res_get(struct capture_res *r, const char *uuid, struct capture_def *out);
size_t capture_res_count(struct capture_res *r);

enum capture_res_event { CAPTURE_RES_CREATED, CAPTURE_RES_DELETED };
typedef void (*capture_res_listener)(void *user, enum capture_res_event ev,
                                     const struct capture_def *c);
/* Up to 8 listeners; returns an id >= 0, or -ENOSPC. c is valid during the
 * call only. Deletions by TTL are reported too. */
int capture_res_listen(struct capture_res *r, capture_res_listener fn, void *user);
void capture_res_unlisten(struct capture_res *r, int id);

/* The "Count" of GET /api/capture: fn returns a new object {"<uuid>": n} (NULL = all
 * 0); called without the registry lock, on the thread serving the request. */
typedef json_t *(*capture_res_counts_fn)(void *user);
void capture_res_set_counts(struct capture_res *r, capture_res_counts_fn fn, void *user);

/* ---- a cluster's captures (docs/DEPLOY.md) ------------------------------------- *
 * Captures kept per capture in another store (etcd: src/cluster/etcd_store.h) instead of
 * captures.json: its set replaces what the file gave (listeners told), and each create,
 * delete and TTL expiry is one store change (made before the API answers: refused with
 * 500 when it fails, nothing changed). The store is taken (freed with r). 0 or the
 * store's load error (st freed). */
int capture_res_use_store(struct capture_res *r, struct res_store st);
/* A change another analyzer made (the store's watch): entry {"Capture", "ExpiresAt"} as
 * the store keeps it. Created: added (listeners told: the dispatch starts it here too),
 * nothing when the same capture is there; deleted: removed. No store call. 0, -ENOENT
 * (deleting what is not here), -EINVAL (refused, logged), -ENOMEM. */
int capture_res_apply(struct capture_res *r, enum res_event ev, const char *uuid,
                      const json_t *entry);
/* fn sees each capture as the store keeps it (borrowed; registry locked). */
int capture_res_foreach_entry(struct capture_res *r,
                              int (*fn)(void *user, const char *uuid, const json_t *e),
                              void *user);

#endif
