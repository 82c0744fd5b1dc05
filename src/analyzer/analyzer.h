/* analyzer.h - the analyzer of `skydive analyzer` and `skydive allinone`: its graph with
 * the topology history (graph_log.h), its flow store (flow_store.h), and its services on
 * the graph service (graph_service.h, itself on the HTTP server of http/server.h): the
 * Capture resource (/api/capture, capture_res.h), the capture dispatch to agents
 * (dispatch.h, OnDemand messages on their /ws/agent/topology connections, replies
 * bounced back by the graph writer), and flow ingest (/ws/agent/flow, flow_ingest.h).
 * The agent's API is the graph service alone (cmd_agent.c): it includes none of this.
 * Dependencies go one way: src/cli -> src/analyzer -> src/http; src/http never includes
 * src/analyzer.
 *
 * Threads: the loop's, the query workers and the graph writer are the graph service's
 * (graph_service.h "Threads"); here: the capture and dispatch ticks run on the loop (every
 * 500 and 100 ms), dispatch replies there too; the flow-ingest thread (flow_ingest.h)
 * gets /ws/agent/flow frames copied by the loop into a bounded queue (analyzer.flow_queue,
 * analyzer.flow_queue_bytes; a refused frame is dropped and counted), decodes and stores
 * them under the flow store's own lock.
 *
 * Config keys read here: analyzer.data_dir (captures.json, the topology log),
 * analyzer.startup.capture_gremlin/capture_bpf/capture_type (capture_res_startup),
 * analyzer.topology.history.* (graph_log_config), the flow store's (flow_store.h),
 * analyzer.flow_queue, analyzer.flow_queue_bytes, analyzer.flow.stats_max_hosts,
 * analyzer.flow.stats_max_captures; the graph service's and the server's: their
 * headers. */
#ifndef SKYDIVE_ANALYZER_H
#define SKYDIVE_ANALYZER_H

#include <jansson.h>
#include <stddef.h>

#include "config/config.h"

struct analyzer;

/* Creates the graph (history bounds, the log replayed from <data_dir>/topology: a
 * directory it cannot use only costs the log, with a warning), the flow store, the server
 * (its port bound, so a conflict is reported here, not in the thread) and the services.
 * cfg is borrowed and must outlive the analyzer. NULL with err filled ("cannot listen on
 * 127.0.0.1:8082: Address already in use ..."). */
struct analyzer *analyzer_new(struct config *cfg, char *err, size_t errlen);

/* Runs the event loop in its own thread. Returns 0 or -errno. */
int analyzer_start(struct analyzer *a);
/* Stops the loop (closing every connection), joins the threads, closes the topology log
 * and frees everything. NULL is fine; also valid if never started. */
void analyzer_stop(struct analyzer *a);

/* The port actually bound (useful with port 0) and the address text
 * ("127.0.0.1:8082"), owned by a. */
int analyzer_port(const struct analyzer *a);
const char *analyzer_address(const struct analyzer *a);

/* Adds keys to GET /api/status (e.g. "Agent" from an in-process agent), after the
 * analyzer's own. Called on the loop thread, graph not locked; status is the object
 * being built. Set before analyzer_start(). */
typedef void (*analyzer_status_fn)(void *user, json_t *status);
void analyzer_set_status_hook(struct analyzer *a, analyzer_status_fn fn, void *user);
/* Adds the caller's metrics to GET /metrics (allinone: its agent's); before start. */
struct buf;
void analyzer_set_metrics_hook(struct analyzer *a, void (*fn)(void *user, struct buf *b),
                               void *user);

/* What an agent in the same process (allinone) needs in cfg to connect: "analyzers" set
 * to this analyzer's real address (loopback when it listens on every address) and, unless
 * agent.auth.cluster.username is set, agent.auth.cluster.username/password copied from
 * analyzer.auth.cluster.*, as Skydive's allinone (cmd/allinone/allinone.go). 0 or
 * -ENOMEM. */
int analyzer_local_agent_config(const struct analyzer *a, struct config *cfg);

#endif
