/* agent_metrics.c - the agent's own counters on GET /metrics (agent.h,
 * docs/API.md "GET /metrics"): its links to the analyzers and what their queues dropped,
 * and what its netlink probes left out of nodes. */
#include "agent/agent.h"
#include "common/buf.h"
#include "common/prom.h"

void agent_metrics(void *user, struct buf *b)
{
	struct agent_metrics_ctx *c = user;
	struct agent_stats st;
	agent_get_stats(c->agent, &st);
	static const struct {
		const char *name, *type, *help;
	} m[] = {
	    {"skydive_agent_analyzers", "gauge", "Analyzers configured"},
	    {"skydive_agent_analyzers_connected", "gauge", "Analyzers connected now"},
	    {"skydive_agent_topology_messages_sent_total", "counter", "Topology messages sent"},
	    {"skydive_agent_topology_syncs_total", "counter", "Full topology syncs sent"},
	    {"skydive_agent_captures", "gauge", "Captures running"},
	    {"skydive_agent_flow_messages_sent_total", "counter", "Flow messages sent"},
	    {"skydive_agent_dropped_total", "counter",
	     "Messages the agent dropped on full queues, by stage: topology, flow_messages"},
	};
	const uint64_t v[] = {st.analyzers, st.connected, st.sent, st.syncs, st.captures,
	                      st.flow_msgs_sent};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		prom_family(b, m[i].name, m[i].type, m[i].help);
		prom_u64(b, m[i].name, (prom_labels){"host", c->host_id, NULL}, v[i]);
	}
	prom_family(b, m[6].name, m[6].type, m[6].help);
	prom_u64(b, m[6].name, (prom_labels){"host", c->host_id, "stage", "topology", NULL},
	         st.dropped);
	prom_u64(b, m[6].name, (prom_labels){"host", c->host_id, "stage", "flow_messages", NULL},
	         st.flow_msgs_dropped);
	static const char *const kinds[] = {"routes", "neighbors", "fdb"};
	const char *lo = "skydive_agent_netlink_left_out_total";
	prom_family(b, lo, "counter",
	            "Routes, neighbours and FDB entries left out of link nodes beyond 2048 per "
	            "link, counted at each refresh of such a link");
	for (int k = 0; k < 3; k++)
		prom_u64(b, lo, (prom_labels){"host", c->host_id, "kind", kinds[k], NULL},
		         st.netlink_left_out[k]);
}
