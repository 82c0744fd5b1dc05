/* resource.h - a generic registry of Skydive API resources other than captures
 * (alert, noderule, edgerule, ...): one kind per registry, kept in the analyzer's
 * data directory (<data_dir>/<kind file>, written atomically; a corrupt file is
 * renamed .corrupt and the registry starts empty), answered over REST as Skydive's
 * graffiti/api/server/server.go does for every resource handler:
 *
 *   GET    /api/<kind>        200 {"<UUID>": {...}, ...}
 *   GET    /api/<kind>/<id>   200 {...} | 404
 *   POST   /api/<kind>        201 {..., "UUID": "<new>"} | 400 {"Error", "Position"?}
 *                             (JSON, or YAML with Content-Type application/yaml)
 *   DELETE /api/<kind>/<id>   200 (empty) | 404
 *
 * Each object is a JSON object; the kind's validate() checks it and normalises it in
 * place (defaults, canonical field names) before it is stored; the registry sets
 * "UUID" itself (a UUID in the body is ignored, as Skydive's createHandler does).
 *
 * Storage sits behind struct res_store (file by default; issue 14 adds etcd): the
 * registry keeps the objects in memory and hands the store the whole map on each
 * change; a change the store refuses is undone and answered 500.
 *
 * Threads: every function may be called from any thread (one mutex per registry).
 * validate() runs without the lock, on the caller's thread. Listeners run on the
 * thread that made the change, without the lock, in the order of the changes of
 * that thread; they may call res_registry_get/foreach/count, not create/delete on
 * the same registry from within (it would recurse). Ownership: objects passed to
 * listeners and foreach callbacks are borrowed for the call; res_registry_get
 * returns a new reference (a deep copy: the caller may change it). */
#ifndef SKYDIVE_RESOURCE_H
#define SKYDIVE_RESOURCE_H

#include <jansson.h>
#include <stddef.h>

#include "http/rest_reply.h"

/* Why an object was refused; pos >= 0 is a position in the Gremlin query the
 * message names (answered as "Position", as capture errors). */
struct res_error {
	char msg[512];
	int pos;
};

/* Fills err (made valid UTF-8) and returns -EINVAL: validate()'s refusal helper. */
__attribute__((format(printf, 3, 4))) int res_fail(struct res_error *err, int pos,
                                                   const char *fmt, ...);

struct res_kind {
	const char *name;  /* "alert": REST /api/alert, messages "alert '<id>' ..." */
	const char *title; /* "Alert": used in messages ("Alert '<id>' not found"); NULL = name */
	const char *file;  /* "alerts.json" in the data directory */
	/* Checks obj (a JSON object, never NULL) and normalises it in place. 0, or
	 * -EINVAL with err filled (a 400); another -errno is a 500. NULL: all accepted. */
	int (*validate)(void *user, json_t *obj, struct res_error *err);
	void *user;
};

/* Where the objects live (internal interface; the file store is the default). Both
 * calls run with the registry lock held. load: *all is a new object {"<uuid>": obj}
 * (empty when there is nothing yet); save: replaces what is stored by all (borrowed);
 * 0 or -errno with err filled. */
enum res_event { RES_CREATED, RES_DELETED };
struct res_store {
	int (*load)(void *ctx, json_t **all);
	int (*save)(void *ctx, const json_t *all, char *err, size_t errlen);
	/* A store kept per object (etcd, src/cluster/etcd_store.h) sets change instead of
	 * save: one object created (obj, borrowed) or deleted, lock held; 0 or -errno with
	 * err filled (the change is then undone). */
	int (*change)(void *ctx, enum res_event ev, const char *uuid, const json_t *obj,
	              char *err, size_t errlen);
	void (*free)(void *ctx);
	void *ctx;
};

/* The file store alone, for a module that keeps its own map (user_topo.c: node and edge
 * IDs are the client's, not the registry's UUIDs): <data_dir>/<file> as above. 0, or
 * -ENOMEM. out is the caller's (out->free frees it). */
int res_store_file(const char *data_dir, const char *file, struct res_store *out);

struct res_registry;

/* Loads <data_dir>/<k->file> (data_dir NULL or "" = /var/lib/skydive; created on the
 * first write). Objects that fail validate() are dropped and logged. k is borrowed
 * (static, normally). NULL only on out of memory. */
struct res_registry *res_registry_new(const char *data_dir, const struct res_kind *k);
/* The same with another store (taken: freed with the registry, even on failure). */
struct res_registry *res_registry_new_store(const struct res_kind *k, struct res_store store);
void res_registry_free(struct res_registry *r); /* NULL is fine */
const struct res_kind *res_registry_kind(const struct res_registry *r);

struct res_request {
	const char *method, *path; /* path starts with /api/<kind> (no query string) */
	const char *content_type;  /* NULL = JSON */
	const char *body;
	size_t body_len;
};
/* Answers one request; always fills out (caller frees it with rest_response_free). */
void res_registry_handle(struct res_registry *r, const struct res_request *req,
                         struct rest_response *out);

/* Programmatic create: validates a copy of obj (borrowed) as POST does, stores it and
 * notifies. 0 with uuid filled (may be NULL), -EINVAL with err filled, -errno (500). */
int res_registry_create(struct res_registry *r, const json_t *obj, char uuid[37],
                        struct res_error *err);
/* 0, -ENOENT, or -errno when the store refused (nothing changed). */
int res_registry_delete(struct res_registry *r, const char *uuid);

/* fn sees each object (borrowed, registry locked: fn must not call back into r);
 * a non-zero return stops the walk and is returned. */
int res_registry_foreach(struct res_registry *r,
                         int (*fn)(void *user, const char *uuid, const json_t *obj), void *user);
/* A deep copy of object uuid (new reference), or NULL when there is none. */
json_t *res_registry_get(struct res_registry *r, const char *uuid);
size_t res_registry_count(struct res_registry *r);

typedef void (*res_listener)(void *user, enum res_event ev, const char *uuid,
                             const json_t *obj);
/* Up to 8 listeners: an id >= 0, or -ENOSPC. obj is valid during the call only. */
int res_registry_listen(struct res_registry *r, res_listener fn, void *user);
void res_registry_unlisten(struct res_registry *r, int id);

/* A change made elsewhere (another analyzer, seen by the store's watch): the object
 * (borrowed) is validated as at load, put in memory or removed, and the listeners told,
 * without calling the store. An object that is already there unchanged: nothing; a
 * different one under the same UUID: RES_DELETED of the old one, then RES_CREATED.
 * 0, -ENOENT (delete of an unknown UUID), -EINVAL (refused by validate(), logged). */
int res_registry_apply(struct res_registry *r, enum res_event ev, const char *uuid,
                       const json_t *obj);

/* ---- helpers shared with the Capture resource ------------------------------ */

/* A random (version 4) UUID in its 8-4-4-4-12 form; 0 or -errno. */
int res_uuid_new(char out[37]);
/* 1 when s is a UUID in its 8-4-4-4-12 hex form. */
int res_uuid_valid(const char *s);
/* A request body as JSON: YAML when ct names YAML (application/yaml, text/yaml, and
 * their x- forms; bounded depth and alias expansion), JSON otherwise. A new reference,
 * or NULL with err filled; example is quoted in the JSON error ("a Capture object, e.g.
 * {...}"). */
json_t *res_body_parse(const char *ct, const char *body, size_t len, const char *example,
                       struct res_error *err);

#endif
