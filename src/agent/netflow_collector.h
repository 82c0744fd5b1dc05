/* netflow_collector.h - the agent's NetFlow v5 collector for the ovsnetflow
 * capture type: a UDP socket on agent.flow.netflow.bind_address (default
 * 127.0.0.1), the first free port of agent.flow.netflow.port_min..port_max
 * (6365..6375, Skydive's defaults), which Open vSwitch's NetFlow export is
 * pointed at (ovs_capture.h). Each poll reads the waiting datagrams
 * (decode/netflow5.h) and feeds every record to the capture's flow table
 * (flow_table_feed_record): a record is one direction of a flow, so the
 * reverse record lands on the same flow's BA side. Owned by one lane thread;
 * the counters are read by that thread or after it ended. */
#ifndef SKYDIVE_NETFLOW_COLLECTOR_H
#define SKYDIVE_NETFLOW_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

struct flow_table;
struct netflow_collector;

struct netflow_collector_opts {
	const char *bind_address; /* IPv4 or IPv6 literal; NULL/"" = 127.0.0.1 */
	uint16_t port_min, port_max; /* 0 = 6365, 6375 */
};

/* NULL with err filled (bad address, no free port). */
struct netflow_collector *netflow_collector_open(const struct netflow_collector_opts *o,
						 char *err, size_t errlen);
void netflow_collector_close(struct netflow_collector *c); /* NULL is fine */

/* "ADDR:PORT" the socket is bound to (OVS's NetFlow target). */
const char *netflow_collector_address(const struct netflow_collector *c);

/* Reads every waiting datagram into t. Returns the records fed, or -errno
 * when the socket fails (bad datagrams are counted, not errors). */
int netflow_collector_poll(struct netflow_collector *c, struct flow_table *t);

struct netflow_collector_stats {
	uint64_t datagrams;       /* read from the socket */
	uint64_t datagram_errors; /* not NetFlow v5, cut or oversized: dropped whole */
	uint64_t records;         /* fed to the flow table */
	uint64_t records_lost;    /* sequence gaps: records the exporter sent that never came */
	uint64_t packets;         /* the records' packet counts, summed */
};
void netflow_collector_stats(const struct netflow_collector *c,
			     struct netflow_collector_stats *out);

#endif
