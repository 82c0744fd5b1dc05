/* etcd_store.h - a resource registry's store in etcd (resource.h struct res_store): the
 * objects of kind K under /K/<uuid> (Skydive's graffiti/api/rest/kv.go layout), each
 * value the object's JSON, and a watch of /K/ on a thread of its own so that a change
 * made on any analyzer is applied to this one's registry (res_registry_apply).
 *
 * load reads /K/ (etcd unreachable: starts empty, logged, and the watch thread reads it
 * once etcd answers); a create or delete is one put or delete in etcd before it is
 * answered (etcd unreachable: refused, 500, nothing changed). The watch thread skips the
 * echo of our own writes (revisions), and after a broken stream (etcd restarted, another
 * server) reads /K/ again and applies the difference, then watches from that revision.
 *
 * Threads: change runs on the caller's thread (blocking: never the event loop; the
 * REST route runs it on a query worker), with the registry lock held; the watch thread
 * never holds our lock while it calls into the registry. Ownership: the registry owns
 * the store (freed with it); the handle is borrowed by the caller to start and stop
 * the watch. */
#ifndef SKYDIVE_ETCD_STORE_H
#define SKYDIVE_ETCD_STORE_H

#include "analyzer/resource.h"

struct etcd_client;
struct etcd_store;

/* etcd is borrowed (it must outlive the registry). 0 or -ENOMEM. */
int etcd_store_new(struct etcd_client *etcd, const char *kind, struct res_store *out,
                   struct etcd_store **handle);
/* Starts the watch applying remote changes to r (the registry the store belongs to). */
int etcd_store_start(struct etcd_store *s, struct res_registry *r);
/* What the watch applies changes to when it is not a res_registry (the Capture
 * resource keeps its own map): apply as res_registry_apply, foreach as
 * res_registry_foreach (each object's UUID and JSON, borrowed during the call). */
struct etcd_store_target {
	int (*apply)(void *user, enum res_event ev, const char *uuid, const json_t *obj);
	int (*foreach)(void *user, int (*fn)(void *u, const char *uuid, const json_t *obj),
	               void *u);
	void *user;
};
int etcd_store_start_target(struct etcd_store *s, const struct etcd_store_target *t);
/* Whether the registry holds what etcd holds, up to the watch's latency: 0 from a load
 * that failed, or a broken watch, until the prefix is read again. Any thread. */
int etcd_store_synced(struct etcd_store *s);
/* Stops the watch (before the registry's listeners go away); idempotent. */
void etcd_store_stop(struct etcd_store *s);

#endif
