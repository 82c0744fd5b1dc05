/* topo_util.c - pure helpers of the topology probes: Skydive's TIDs (UUIDv5), Skydive's
 * link Type and EncapType names, interface metric JSON. */
#include <errno.h>
#include <linux/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "topology/topology.h"

/* RFC 4122 NameSpace_OID, the namespace of every Skydive TID. */
static const uint8_t ns_oid[16] = {0x6b, 0xa7, 0xb8, 0x12, 0x9d, 0xad, 0x11, 0xd1,
				   0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

int topology_uuid5(char out[TOPOLOGY_ID_LEN], const void *name, size_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int rc = -ENOMEM;
	uint8_t *buf = malloc(sizeof(ns_oid) + len + 1);
	if (!buf)
		goto out;
	memcpy(buf, ns_oid, sizeof(ns_oid));
	if (len)
		memcpy(buf + sizeof(ns_oid), name, len);
	rc = -EIO;
	if (!EVP_Digest(buf, sizeof(ns_oid) + len, md, &mdlen, EVP_sha1(), NULL) || mdlen < 16)
		goto out;
	md[6] = (uint8_t)((md[6] & 0x0f) | 0x50); /* version 5: SHA-1 name-based */
	md[8] = (uint8_t)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, TOPOLOGY_ID_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", md[0],
		 md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10], md[11],
		 md[12], md[13], md[14], md[15]);
	rc = 0;
out:
	if (rc < 0)
		memset(out, 0, TOPOLOGY_ID_LEN); /* "": never a valid ID */
	free(buf);
	return rc;
}

/* UUIDv5 of the strings concatenated with no separator, as Skydive's Go
 * string additions. */
static int uuid5_cat(char out[TOPOLOGY_ID_LEN], const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
	char small[256];
	char *buf = la + lb + lc <= sizeof(small) ? small : malloc(la + lb + lc + 1);
	if (!buf) {
		memset(out, 0, TOPOLOGY_ID_LEN);
		return -ENOMEM;
	}
	memcpy(buf, a, la);
	memcpy(buf + la, b, lb);
	if (lc)
		memcpy(buf + la + lb, c, lc);
	int rc = topology_uuid5(out, buf, la + lb + lc);
	if (buf != small)
		free(buf);
	return rc;
}

void topology_host_tid(char out[TOPOLOGY_ID_LEN], const char *host_name)
{
	topology_uuid5(out, host_name, strlen(host_name));
}

void topology_netns_tid(char out[TOPOLOGY_ID_LEN], const char *host_tid, const char *path)
{
	uuid5_cat(out, host_tid, path, "netns");
}

void topology_ovs_tid(char out[TOPOLOGY_ID_LEN], const char *host_tid, const char *ovs_uuid,
		      const char *type)
{
	uuid5_cat(out, host_tid, ovs_uuid, type);
}

void topology_tid(char out[TOPOLOGY_ID_LEN], const char *parent_tid, const char *name,
		  const char *type)
{
	uuid5_cat(out, parent_tid, name, type);
}

void topology_edge_id(char out[TOPOLOGY_ID_LEN], const char *parent, const char *child,
		      const char *relation)
{
	uuid5_cat(out, parent, child, relation);
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
