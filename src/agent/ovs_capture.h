/* ovs_capture.h - the OVSDB side of the ovssflow, ovsnetflow and ovsmirror
 * capture types: rows written into Open vSwitch's database (RFC 7047 "transact" on a
 * short-lived connection to ovs.ovsdb, unix: or tcp:) when a capture starts,
 * removed when it stops. Every row made carries external_ids
 * {"skydive-probe-id": <capture UUID>}.
 *
 * ovssflow: an sFlow row {agent "lo", targets [collector, Target?], sampling,
 * polling, header} set as the bridge's sflow column; the agent collects with
 * its sFlow collector (capture.h, capture_open_sflow).
 * ovsnetflow: a NetFlow row {targets [collector, Target?], engine_type 10,
 * engine_id 1, add_id_to_interface true} set as the bridge's netflow column;
 * the agent collects with its NetFlow v5 collector (netflow_collector.h).
 * ovsmirror: an internal port "mir-<8 hex of the capture UUID>" on the port's
 * bridge and a Mirror {select_src_port = select_dst_port = the port,
 * output_port = the internal port}; the internal interface (a tap in the
 * agent's namespace with the userspace datapath, a kernel internal port
 * otherwise) is brought up, ready for an afpacket capture. The userspace
 * datapath may keep stale megaflows that predate the mirror (they expire
 * after 10 s idle, or `ovs-appctl dpctl/del-flows`).
 *
 * Blocking calls (up to a few seconds each): call without locks held. */
#ifndef SKYDIVE_OVS_CAPTURE_H
#define SKYDIVE_OVS_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct ovs_capture;

struct ovs_sflow_opts {
	const char *ovsdb;       /* target; NULL = unix:///var/run/openvswitch/db.sock */
	const char *bridge_uuid; /* the ovsbridge node's UUID metadata */
	const char *probe_id;    /* the capture UUID */
	const char *collector;   /* "ADDR:PORT" of our collector */
	const char *target;      /* extra "ADDR:PORT" target, or NULL/"" */
	uint32_t sampling;       /* 0 = 1 */
	uint32_t polling;        /* seconds; 0 = OVS's default */
	uint32_t header;         /* bytes; 0 = 128 */
};

/* Inserts the sFlow row and points the bridge at it. NULL with err filled. */
struct ovs_capture *ovs_sflow_attach(const struct ovs_sflow_opts *o, char *err, size_t errlen);

struct ovs_netflow_opts {
	const char *ovsdb;       /* as above */
	const char *bridge_uuid; /* the ovsbridge node's UUID metadata */
	const char *probe_id;    /* the capture UUID */
	const char *collector;   /* "ADDR:PORT" of our collector */
	const char *target;      /* extra "ADDR:PORT" target, or NULL/"" */
};

/* Inserts the NetFlow row and points the bridge at it. NULL with err filled. */
struct ovs_capture *ovs_netflow_attach(const struct ovs_netflow_opts *o, char *err,
                                       size_t errlen);

struct ovs_mirror_opts {
	const char *ovsdb;     /* as above */
	const char *port_uuid; /* the ovsport node's UUID metadata */
	const char *probe_id;  /* the capture UUID */
	int up_timeout_ms;     /* wait for the internal interface; 0 = 5000 */
};

/* Creates the internal port and the mirror, waits for the interface and sets
 * it up. NULL with err filled (whatever was created is removed again). */
struct ovs_capture *ovs_mirror_attach(const struct ovs_mirror_opts *o, char *err, size_t errlen);

/* The mirror's internal interface name (ovsmirror), or NULL. */
const char *ovs_capture_ifname(const struct ovs_capture *c);

/* Removes what attach created from OVSDB (logged on failure) and frees c.
 * NULL is fine. */
void ovs_capture_detach(struct ovs_capture *c);

#endif
