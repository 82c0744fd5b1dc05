/* ebpf_capture.c - kernel flow entries into the flow table (see ebpf_capture.h). */
#include "agent/ebpf_capture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/ebpf_flow.h"

struct ebpf_capture {
	struct ebpf_flow *e;
	uint64_t packets;
	uint32_t per_poll; /* entries read per poll at most */
};

struct ebpf_capture *ebpf_capture_open(const char *netns, const char *ifname,
				       uint32_t polling_rate, char *err, size_t errlen)
{
	struct ebpf_capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	uint64_t pp = (uint64_t)(polling_rate ? polling_rate : EBPF_CAPTURE_POLLING_RATE) *
		      EBPF_CAPTURE_POLL_MS / 1000;
	c->per_poll = pp ? (pp < UINT32_MAX ? (uint32_t)pp : UINT32_MAX) : 1;
	c->e = ebpf_flow_open(netns, ifname, 0, err, errlen);
	if (!c->e) {
		free(c);
		return NULL;
	}
	return c;
}

void ebpf_capture_close(struct ebpf_capture *c)
{
	if (!c)
		return;
	ebpf_flow_close(c->e);
	free(c);
}

struct poll_ctx {
	struct ebpf_capture *c;
	struct flow_table *t;
};

/* One kernel entry: endpoint 0/1 in key order, the first packet's sender
 * becomes the record's (and a new flow's) A side, as for a captured flow.
 * The record goes to the table as it is (no frame is made of it). */
static void on_entry(void *user, const struct ebpf_flow_key *k, const struct ebpf_flow_val *v,
		     uint64_t first_ns, uint64_t last_ns)
{
	struct poll_ctx *p = user;
	int a = v->first_dir & 1, b = !a;
	struct flow_record r;
	memset(&r, 0, sizeof(r));
	struct decode_hdrs *h = &r.h;
	memcpy(h->mac_src, k->mac[a], 6);
	memcpy(h->mac_dst, k->mac[b], 6);
	h->has_vlan = k->has_vlan;
	h->vlan_tci = k->vlan_tci;
	h->eth_proto = k->eth_proto;
	h->ip_ver = k->ip_ver;
	memcpy(h->ip_src, k->ip[a], 16);
	memcpy(h->ip_dst, k->ip[b], 16);
	while (h->n_ip6_ext < 3 && k->ext[h->n_ip6_ext] != 0xff) {
		h->ip6_ext[h->n_ip6_ext] = k->ext[h->n_ip6_ext];
		h->n_ip6_ext++;
	}
	h->proto = k->proto;
	h->sport = k->port[a];
	h->dport = k->port[b];
	h->icmp_type = k->icmp_type;
	h->icmp_code = k->icmp_code;
	h->icmp_id = k->icmp_id;
	r.tcp_flags = v->tcp_flags;
	r.ab_packets = v->packets[a];
	r.ab_bytes = v->bytes[a];
	r.ba_packets = v->packets[b];
	r.ba_bytes = v->bytes[b];
	r.first_ns = first_ns;
	r.last_ns = last_ns;
	p->c->packets += r.ab_packets + r.ba_packets;
	flow_table_feed_record(p->t, &r); /* a full table counts FlowDropped */
}

int ebpf_capture_poll(struct ebpf_capture *c, struct flow_table *t)
{
	struct poll_ctx p = {c, t};
	return ebpf_flow_drain(c->e, c->per_poll, on_entry, &p);
}

uint64_t ebpf_capture_packets(const struct ebpf_capture *c)
{
	return c->packets;
}

uint64_t ebpf_capture_kernel_dropped(const struct ebpf_capture *c)
{
	return ebpf_flow_dropped(c->e);
}
