/* cluster.h - several analyzers coordinated through etcd (Skydive's `etcd:` section,
 * graffiti/etcd/client/client.go and election.go, over etcd's v3 API: etcd.h).
 *
 * With etcd.servers set, each analyzer
 *   - holds a lease of etcd.lease_ttl seconds (ours; Skydive's v2 TTLs were 30 s) kept
 *     alive every third of it, and registers itself under /analyzer/<host_id> with it,
 *     so every analyzer lists the cluster's (GET /api/status "Cluster"); when it dies the
 *     lease expires and its keys go;
 *   - runs the elections it is asked for (cluster_elect): key /elections/<name> created
 *     with our lease only if absent (a txn comparing its create revision with 0, as
 *     election.go's PrevNoExist set), value the host id; the holder keeps it while its
 *     lease lives; the others retry each period, so one takes over within the lease TTL
 *     plus a period after the holder died, at once after it stopped (the lease is
 *     revoked at exit);
 *   - keeps resources in etcd (etcd_store.h).
 * Without etcd.servers, cluster_new gives NULL and nothing of this runs.
 *
 * We never run an embedded etcd: etcd.embedded true is refused, and so are the keys that
 * only configure Skydive's embedded server (listen, data_dir, peers, max_wal_files,
 * max_snap_files, name, debug).
 *
 * Threads: one thread of its own does every etcd call of the lease, the registration
 * and the elections; election callbacks run on it. cluster_status and
 * cluster_is_master read what it found (under a mutex): cheap, fine on the event loop.
 * Errors: etcd unreachable is logged (once per outage) and retried each period; the
 * analyzer keeps running (followers, resources from their last state). */
#ifndef SKYDIVE_CLUSTER_H
#define SKYDIVE_CLUSTER_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"

#define CLUSTER_LEASE_TTL_S  5 /* etcd.lease_ttl's default */
#define CLUSTER_MAX_ELECTIONS 4

struct cluster;
struct etcd_client;

/* Reads etcd.* (and host_id). 0 with *out NULL when etcd.servers is empty; 0 with a
 * cluster; -1 with err filled on a refused configuration. */
int cluster_new(const struct config *cfg, struct cluster **out, char *err, size_t errlen);
/* Starts the thread (registration, elections); address is the analyzer's API address
 * (host:port), published in its registration. 0 or -errno. */
int cluster_start(struct cluster *c, const char *address);
/* Stops the thread, revokes the lease (our keys and elections go at once). NULL fine. */
void cluster_free(struct cluster *c);

struct etcd_client *cluster_etcd(struct cluster *c);
const char *cluster_host_id(const struct cluster *c);

/* fn(user, 1) when we become the holder of /elections/<name>, fn(user, 0) when we lose
 * it (lease lost, etcd says another holds it); on the cluster thread. Before
 * cluster_start. An id >= 0, or -ENOSPC. */
typedef void (*cluster_master_fn)(void *user, int is_master);
int cluster_elect(struct cluster *c, const char *name, cluster_master_fn fn, void *user);
int cluster_is_master(struct cluster *c, int id);

/* {"HostID", "Lease", "Etcd": {"Servers", "Server", "Connected", "LastError"},
 *  "Analyzers": {"<host_id>": registration}, "Elections": {"<name>": {"Master", "IsMaster"}}}
 * New reference (NULL on out of memory). */
json_t *cluster_status(struct cluster *c);

/* ---- internal, exposed for tests -------------------------------------------------- */

/* Checks the etcd section: 0, or -1 with err naming the key (embedded: true and the
 * embedded server's keys are refused). */
int cluster_check_config(const struct config *cfg, char *err, size_t errlen);

#endif
