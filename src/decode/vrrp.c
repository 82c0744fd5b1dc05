/* vrrp.c - a VRRP advertisement as Skydive's flow VRRPv2 layer: the fields
 * flow/flow.go newApplicationLayer copies (Version, VirtualRtrID, Priority,
 * AdverInt), from what gopacket's layers/vrrp.go decoder accepts: type 1, at
 * least one address, 4 bytes per address present. It reads any version, so
 * a VRRPv3 advert gives version 3 and AdverInt = the low byte of its 12-bit
 * interval (byte 5), as in Skydive. */
#include <errno.h>

#include "decode/pbw.h"
#include "decode/xlayer.h"

int xl_vrrp_valid(const uint8_t *d, uint32_t len)
{
	return len >= 8 && (d[0] & 0x0f) == 1 && d[3] >= 1 && len >= 8u + 4u * d[3];
}

int xl_vrrp_encode(const uint8_t *d, uint32_t len, uint8_t *out, uint32_t cap)
{
	if (!xl_vrrp_valid(d, len))
		return 0;
	struct pbw w = {.p = out, .cap = cap};
	uint32_t top = pbw_open(&w, XL_FIELD_VRRP);
	pbw_uint(&w, 3, d[0] >> 4);
	pbw_uint(&w, 4, d[1]);
	pbw_uint(&w, 5, d[2]);
	pbw_uint(&w, 7, d[5]);
	pbw_close(&w, top);
	return w.err ? -ENOSPC : (int)w.len;
}
