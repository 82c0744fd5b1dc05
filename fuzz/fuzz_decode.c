/* fuzz_decode.c - libFuzzer target for decode_packet: the first input byte
 * picks the link type (and a wire length), the rest is the frame. Checks the
 * result's invariants on top of what the sanitizers catch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/lldp.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Selector byte % 10; fuzz/make_corpus.py uses the same table. */
static const int linktypes[10] = {
    DECODE_LINKTYPE_ETHERNET,   /* 0 */
    DECODE_LINKTYPE_LINUX_SLL,  /* 1 */
    DECODE_LINKTYPE_LINUX_SLL2, /* 2 */
    DECODE_LINKTYPE_NULL,       /* 3 */
    DECODE_LINKTYPE_LOOP,       /* 4 */
    DECODE_LINKTYPE_RAW,        /* 5 */
    DECODE_LINKTYPE_IPV4,       /* 6 */
    DECODE_LINKTYPE_IPV6,       /* 7 */
    12,                         /* 8: DLT_RAW */
    14,                         /* 9: DLT_RAW (OpenBSD) */
};


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536 + 1)
		return 0;
	uint8_t sel = data[0];
	int lt = linktypes[sel % 10];
	uint32_t caplen = (uint32_t)(size - 1);
	/* Selectors >= 10 claim a longer frame on the wire than captured. */
	uint32_t wirelen = caplen + (uint32_t)(sel / 10) * 64;
	/* An exact-size copy, so any read past caplen hits ASan's redzone. */
	uint8_t *frame = malloc(caplen ? caplen : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 1, caplen);

	struct decode_result r;
	memset(&r, 0xa5, sizeof(r)); /* the decoder must not rely on a clean result */
	int n = decode_packet(lt, frame, caplen, wirelen, &r);

	CHECK(n >= 0 && n == r.nseg);
	CHECK(r.nseg <= DECODE_MAX_SEGS);
	CHECK(r.err <= DECODE_ERR_TOO_DEEP);
	CHECK(r.err != DECODE_ERR_LINKTYPE);
	CHECK(r.err_layer < LAYER__COUNT);
	CHECK(r.err_offset <= caplen);
	CHECK(r.err || (r.err_layer == LAYER_NONE && r.err_offset == 0));
	CHECK(r.err || n > 0);
	uint32_t prev = 0;
	for (int i = 0; i < n; i++) {
		const struct decode_seg *s = &r.seg[i];
		CHECK(s->nlayers <= DECODE_MAX_LAYERS);
		CHECK(s->offset <= caplen);
		CHECK(i == 0 ? s->offset == 0 : s->offset > prev);
		CHECK(s->length == (wirelen > s->offset ? wirelen - s->offset : 0));
		prev = s->offset;
		for (unsigned k = 0; k < s->nlayers; k++) {
			CHECK(s->layers[k] != LAYER_NONE && s->layers[k] < LAYER__COUNT);
			CHECK(layer_name(s->layers[k]) != NULL);
			/* link pseudo-layers are never part of the path */
			CHECK(s->layers[k] != LAYER_LINUX_SLL && s->layers[k] != LAYER_LINUX_SLL2 &&
			      s->layers[k] != LAYER_LOOPBACK);
		}
		for (unsigned k = s->nlayers; k < DECODE_MAX_LAYERS; k++)
			CHECK(s->layers[k] == 0);
		CHECK(s->ip_ver == 0 || s->ip_ver == 4 || s->ip_ver == 6);
		CHECK(s->icmp_ver == 0 || s->icmp_ver == 4 || s->icmp_ver == 6);
		CHECK(s->icmp_flow_type <= ICMP_PACKET_TOO_BIG);
		CHECK(s->l4 == DECODE_L4_NONE || s->l4 == DECODE_L4_TCP || s->l4 == DECODE_L4_UDP ||
		      s->l4 == DECODE_L4_SCTP);
		CHECK(s->l4 != DECODE_L4_NONE || (s->sport == 0 && s->dport == 0));
		CHECK(s->tunnel == LAYER_NONE || s->tunnel == LAYER_GRE ||
		      s->tunnel == LAYER_VXLAN || s->tunnel == LAYER_GENEVE ||
		      s->tunnel == LAYER_MPLS || s->tunnel == LAYER_ERSPAN2);
		/* every segment but the last ends at a tunnel */
		CHECK(i == n - 1 || s->tunnel != LAYER_NONE);
	}
	/* The LLDP probe's TLV parser (decode/lldp.h) on an Ethernet LLDP frame. */
	if (lt == DECODE_LINKTYPE_ETHERNET && caplen >= 14 && frame[12] == 0x88 &&
	    frame[13] == 0xcc) {
		struct decode_lldp l;
		memset(&l, 0xa5, sizeof(l));
		enum decode_lldp_err e = decode_lldp(frame + 14, caplen - 14, &l);
		CHECK(e <= DECODE_LLDP_BAD_TLV);
		CHECK(decode_lldp_strerror(e) != NULL);
		CHECK(l.n_vlans <= DECODE_LLDP_MAX_VLANS && l.n_ppvids <= DECODE_LLDP_MAX_PPVIDS);
		const struct decode_lldp_bytes *b[] = {&l.chassis_id, &l.port_id, &l.port_desc,
						       &l.sys_name, &l.sys_desc, &l.mgmt_addr};
		for (size_t k = 0; k < sizeof(b) / sizeof(b[0]); k++)
			CHECK(b[k]->len == 0 || (b[k]->p >= frame + 14 &&
						 b[k]->p + b[k]->len <= frame + caplen));
		for (size_t k = 0; e == DECODE_LLDP_OK && k < l.n_vlans; k++)
			CHECK(l.vlans[k].name.len == 0 ||
			      (l.vlans[k].name.p >= frame + 14 &&
			       l.vlans[k].name.p + l.vlans[k].name.len <= frame + caplen));
		CHECK(decode_lldp_chassis_subtype_name(l.chassis_subtype) != NULL);
		CHECK(decode_lldp_port_subtype_name(l.port_subtype) != NULL);
	}
	free(frame);
	return 0;
}
