/* dhcp4.c - a DHCPv4 message as Skydive's flow DHCPv4 layer: the fields
 * flow/flow.go newApplicationLayer copies (HardwareLen, HardwareOpts, Secs,
 * Flags, ServerName, File; not Xid nor the options), from what gopacket's
 * layers/dhcpv4.go decoder accepts. */
#include <errno.h>

#include "decode/pbw.h"
#include "decode/xlayer.h"

int xl_dhcp4_encode(const uint8_t *d, uint32_t len, uint8_t *out, uint32_t cap)
{
	/* fixed part, client hardware address (its length is the packet's
	 * word) and the magic cookie */
	if (len < 240 || len < 28u + d[2] || d[236] != 99 || d[237] != 130 || d[238] != 83 ||
	    d[239] != 99)
		return 0;
	/* the options must parse up to End (or the end of the data) */
	for (uint32_t i = 240; i < len;) {
		uint8_t t = d[i];
		if (t == 255)
			break;
		if (t == 0) {
			i++;
			continue;
		}
		if (i + 2 > len || d[i + 1] > len - i - 2)
			return 0;
		i += 2u + d[i + 1];
	}
	struct pbw w = {.p = out, .cap = cap};
	uint32_t top = pbw_open(&w, XL_FIELD_DHCPV4);
	pbw_uint(&w, 3, d[2]);
	pbw_uint(&w, 4, d[3]);
	pbw_uint(&w, 6, (uint32_t)(d[8] << 8 | d[9]));
	pbw_uint(&w, 7, (uint32_t)(d[10] << 8 | d[11]));
	pbw_bytes(&w, 8, d + 44, 64);  /* sname, all 64 bytes as gopacket */
	pbw_bytes(&w, 9, d + 108, 128); /* file, all 128 bytes */
	pbw_close(&w, top);
	return w.err ? -ENOSPC : (int)w.len;
}
