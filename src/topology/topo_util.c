/* topo_util.c - pure helpers of the topology probes: stable IDs, Skydive's
 * link Type and EncapType names, interface metric JSON. */
#include <linux/if_arp.h>
#include <stdio.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "common/util.h"
#include "topology/topology.h"

void topology_uuid(char out[TOPOLOGY_ID_LEN], const char *const *parts, size_t nparts)
{
	XXH3_state_t st;
	XXH3_128bits_reset(&st);
	for (size_t i = 0; i < nparts; i++) {
		/* The separator keeps ("ab","c") and ("a","bc") apart. */
		if (i)
			XXH3_128bits_update(&st, "/", 1);
		XXH3_128bits_update(&st, parts[i], strlen(parts[i]));
	}
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
	uint8_t *b = c.digest;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x80); /* version 8: custom, not SHA1-based */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, TOPOLOGY_ID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

void topology_tid(char out[TOPOLOGY_ID_LEN], const char *host_id, const char *ns_path,
		  const char *name)
{
	const char *parts[] = {"intf", host_id, ns_path ? ns_path : "", name};
	topology_uuid(out, parts, ARRAY_SIZE(parts));
}

void topology_edge_id(char out[TOPOLOGY_ID_LEN], const char *parent, const char *child,
		      const char *relation, const char *type)
{
	const char *parts[] = {"edge", parent, child, relation, type ? type : ""};
	topology_uuid(out, parts, ARRAY_SIZE(parts));
}

const char *topology_link_type(const char *kind, const char *driver)
{
	/* Skydive forces veth from the driver: a veth enslaved to a bridge can
	 * report another kind. */
	if (driver && !strcmp(driver, "veth"))
		return "veth";
	if (!kind || !*kind)
		return "device";
	if (!strcmp(kind, "tun"))
		return "tuntap";
	return kind;
}

const char *topology_encap_type(unsigned arphrd)
{
	/* The names of vishvananda/netlink's encapTypeToString, which Skydive shows. */
	static const struct {
		unsigned t;
		const char *name;
	} tab[] = {
		{ARPHRD_NETROM, "netrom"},
		{ARPHRD_ETHER, "ether"},
		{ARPHRD_EETHER, "eether"},
		{ARPHRD_AX25, "ax25"},
		{ARPHRD_PRONET, "pronet"},
		{ARPHRD_CHAOS, "chaos"},
		{ARPHRD_IEEE802, "ieee802"},
		{ARPHRD_ARCNET, "arcnet"},
		{ARPHRD_APPLETLK, "atalk"},
		{ARPHRD_DLCI, "dlci"},
		{ARPHRD_ATM, "atm"},
		{ARPHRD_METRICOM, "metricom"},
		{ARPHRD_IEEE1394, "ieee1394"},
		{ARPHRD_INFINIBAND, "infiniband"},
		{ARPHRD_SLIP, "slip"},
		{ARPHRD_CSLIP, "cslip"},
		{ARPHRD_SLIP6, "slip6"},
		{ARPHRD_CSLIP6, "cslip6"},
		{ARPHRD_RSRVD, "rsrvd"},
		{ARPHRD_ADAPT, "adapt"},
		{ARPHRD_ROSE, "rose"},
		{ARPHRD_X25, "x25"},
		{ARPHRD_HWX25, "hwx25"},
		{ARPHRD_CAN, "can"},
		{ARPHRD_PPP, "ppp"},
		{ARPHRD_CISCO, "hdlc"},
		{ARPHRD_LAPB, "lapb"},
		{ARPHRD_DDCMP, "ddcmp"},
		{ARPHRD_RAWHDLC, "rawhdlc"},
		{ARPHRD_TUNNEL, "ipip"},
		{ARPHRD_TUNNEL6, "tunnel6"},
		{ARPHRD_FRAD, "frad"},
		{ARPHRD_SKIP, "skip"},
		{ARPHRD_LOOPBACK, "loopback"},
		{ARPHRD_LOCALTLK, "ltalk"},
		{ARPHRD_FDDI, "fddi"},
		{ARPHRD_BIF, "bif"},
		{ARPHRD_SIT, "sit"},
		{ARPHRD_IPDDP, "ip/ddp"},
		{ARPHRD_IPGRE, "gre"},
		{ARPHRD_PIMREG, "pimreg"},
		{ARPHRD_HIPPI, "hippi"},
		{ARPHRD_ASH, "ash"},
		{ARPHRD_ECONET, "econet"},
		{ARPHRD_IRDA, "irda"},
		{ARPHRD_FCPP, "fcpp"},
		{ARPHRD_FCAL, "fcal"},
		{ARPHRD_FCPL, "fcpl"},
		{ARPHRD_FCFABRIC, "fcfb0"},
		{ARPHRD_IEEE802_TR, "tr"},
		{ARPHRD_IEEE80211, "ieee802.11"},
		{ARPHRD_IEEE80211_PRISM, "ieee802.11/prism"},
		{ARPHRD_IEEE80211_RADIOTAP, "ieee802.11/radiotap"},
		{ARPHRD_IEEE802154, "ieee802.15.4"},
		{ARPHRD_IEEE802154_MONITOR, "ieee802.15.4/monitor"},
		{ARPHRD_PHONET, "phonet"},
		{ARPHRD_PHONET_PIPE, "phonet_pipe"},
		{ARPHRD_CAIF, "caif"},
		{ARPHRD_IP6GRE, "gre6"},
		{ARPHRD_NETLINK, "netlink"},
		{ARPHRD_6LOWPAN, "6lowpan"},
		{ARPHRD_VOID, "void"},
		{ARPHRD_NONE, "none"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (tab[i].t == arphrd)
			return tab[i].name;
	return "unknown";
}

/* Same order as libnl's RTNL_LINK_RX_PACKETS .. RTNL_LINK_MULTICAST. */
const char *const topology_metric_names[TOPOLOGY_METRIC_COUNT] = {
	"RxPackets",	     "TxPackets",	  "RxBytes",	     "TxBytes",
	"RxErrors",	     "TxErrors",	  "RxDropped",	     "TxDropped",
	"RxCompressed",	     "TxCompressed",	  "RxFifoErrors",    "TxFifoErrors",
	"RxLengthErrors",    "RxOverErrors",	  "RxCrcErrors",     "RxFrameErrors",
	"RxMissedErrors",    "TxAbortedErrors",	  "TxCarrierErrors", "TxHeartbeatErrors",
	"TxWindowErrors",    "Collisions",	  "Multicast",
};

static int put_times(json_t *o, int64_t start_ms, int64_t last_ms)
{
	if (start_ms && json_object_set_new(o, "Start", json_integer(start_ms)))
		return -1;
	if (last_ms && json_object_set_new(o, "Last", json_integer(last_ms)))
		return -1;
	return 0;
}

json_t *topology_metric_json(const uint64_t v[TOPOLOGY_METRIC_COUNT], int64_t start_ms,
			     int64_t last_ms)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	for (size_t i = 0; i < TOPOLOGY_METRIC_COUNT; i++)
		if (v[i] && json_object_set_new(o, topology_metric_names[i],
						json_integer((json_int_t)v[i])))
			goto fail;
	if (put_times(o, start_ms, last_ms))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *topology_metric_diff(const json_t *cur, const json_t *prev, int64_t start_ms,
			     int64_t last_ms)
{
	json_t *o = json_object();
	int any = 0;
	if (!o)
		return NULL;
	for (size_t i = 0; i < TOPOLOGY_METRIC_COUNT; i++) {
		const char *k = topology_metric_names[i];
		json_int_t c = json_integer_value(json_object_get(cur, k));
		json_int_t p = json_integer_value(json_object_get(prev, k));
		json_int_t d = c >= p ? c - p : c;
		if (!d)
			continue;
		any = 1;
		if (json_object_set_new(o, k, json_integer(d)))
			goto fail;
	}
	if (!any || put_times(o, start_ms, last_ms))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}
