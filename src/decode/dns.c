/* dns.c - a DNS message as Skydive's flow DNS layer (flow/layers/dns.proto,
 * filled by flow/layers/dns.go from gopacket's layers/dns.go decoder, whose
 * acceptance rules and names are followed here). */
#include <errno.h>

#include "decode/pbw.h"
#include "decode/xlayer.h"

const char *xl_dns_type_name(uint16_t t)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 3: return "MD";
	case 4: return "MF";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 7: return "MB";
	case 8: return "MG";
	case 9: return "MR";
	case 10: return "NULL";
	case 11: return "WKS";
	case 12: return "PTR";
	case 13: return "HINFO";
	case 14: return "MINFO";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 41: return "OPT";
	case 256: return "URI";
	}
	return "Unknown";
}

const char *xl_dns_class_name(uint16_t c)
{
	switch (c) {
	case 1: return "IN";
	case 2: return "CS";
	case 3: return "CH";
	case 4: return "HS";
	case 255: return "Any";
	}
	return "Unknown";
}

const char *xl_dns_rcode_name(uint8_t rc)
{
	static const char *const n[] = {
	    "No Error", "Format Error", "Server Failure " /* sic, gopacket */,
	    "Non-Existent Domain", "Not Implemented", "Query Refused",
	    "Name Exists when it should not", "RR Set Exists when it should not",
	    "RR Set that should exist does not", "Server Not Authoritative for zone",
	    "Name not contained in zone"};
	static const char *const ext[] = {"Bad OPT Version", "Key not recognized",
					  "Signature out of time window", "Bad TKEY Mode",
					  "Duplicate key name", "Algorithm not supported",
					  "Bad Truncation", "Bad Cookie"};
	if (rc < sizeof(n) / sizeof(n[0]))
		return n[rc];
	if (rc >= 16 && rc < 16 + sizeof(ext) / sizeof(ext[0]))
		return ext[rc - 16];
	return "Unknown";
}

const char *xl_dns_opcode_name(uint8_t op)
{
	switch (op) {
	case 0: return "Query";
	case 1: return "Inverse Query";
	case 2: return "Status";
	case 4: return "Notify";
	case 5: return "Update";
	}
	return "Unknown";
}

const char *xl_dns_optcode_name(uint16_t code)
{
	switch (code) {
	case 3: return "NSID";
	case 5: return "DAU";
	case 6: return "DHU";
	case 7: return "N3U";
	case 8: return "EDNSClientSubnet";
	case 9: return "EDNSExpire";
	case 10: return "Cookie";
	case 11: return "EDNSKeepAlive";
	case 12: return "CodePadding";
	case 13: return "CodeChain";
	case 14: return "CodeEDNSKeyTag";
	case 16: return "EDNSClientTag";
	case 17: return "EDNSServerTag";
	case 26946: return "DeviceID";
	}
	return "Unknown";
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_cstr(struct pbw *w, uint32_t field, const char *s)
{
	pbw_bytes(w, field, s, (uint32_t)strlen(s));
}

uint32_t xl_utf8_len(const uint8_t *s, uint32_t n)
{
	uint8_t c = s[0];
	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	uint32_t k = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (n < k)
		return 0;
	for (uint32_t i = 1; i < k; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return k;
}

/* s[0..n) with every byte that starts no well-formed sequence replaced by
 * U+FFFD, which is how Go's JSON encoder shows a string of raw bytes (and
 * keeps the blob's strings valid for protobuf string fields). */
static void put_utf8(struct pbw *w, const uint8_t *s, uint32_t n)
{
	for (uint32_t i = 0; i < n && !w->err;) {
		uint32_t k = xl_utf8_len(s + i, n - i);
		if (k) {
			pbw_raw(w, s + i, k);
			i += k;
		} else {
			pbw_raw(w, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

/* gopacket's decodeName: the name at off of d[0..lim), its labels joined by
 * '.' (a pointer is followed to at most 255 levels; a label run may not pass
 * 255 bytes from where this level started). Writes the text to w, sets *next
 * past the name; -1 when gopacket refuses it. */
static int name_rec(const uint8_t *d, uint32_t lim, uint32_t off, int level, struct pbw *w,
		    int *first, uint32_t *next)
{
	if (level > 255 || off >= lim)
		return -1;
	uint32_t i = off;
	while (d[i] != 0) {
		switch (d[i] & 0xc0) {
		case 0x00: {
			uint32_t i2 = i + d[i] + 1;
			if (i2 - off > 255 || i2 > lim)
				return -1;
			if (!w->err) {
				if (!*first)
					pbw_raw(w, ".", 1);
				put_utf8(w, d + i + 1, d[i]);
			}
			*first = 0;
			i = i2;
			break;
		}
		case 0xc0: {
			if (i + 2 > lim)
				return -1;
			uint32_t p = be16(d + i) & 0x3fff, unused;
			if (p > lim || name_rec(d, lim, p, level + 1, w, first, &unused))
				return -1;
			*next = i + 2;
			return 0;
		}
		default: /* 0x40 (RFC 2673) and 0x80: refused */
			return -1;
		}
		if (i >= lim)
			return -1;
	}
	*next = i + 1;
	return 0;
}

/* A name as string field `field` (left out when empty). */
static int put_name(struct pbw *w, uint32_t field, const uint8_t *d, uint32_t lim, uint32_t off,
		    uint32_t *next)
{
	uint32_t save = w->len;
	uint32_t mark = pbw_open(w, field);
	int first = 1;
	if (name_rec(d, lim, off, 1, w, &first, next))
		return -1;
	if (!w->err && w->len == mark)
		w->len = save;
	else
		pbw_close(w, mark);
	return 0;
}

/* Go's net.IP.String() of a record's data. */
static void put_ip(struct pbw *w, uint32_t field, const uint8_t *p, uint32_t n)
{
	char s[64];
	uint32_t k = 0;
	static const char hex[] = "0123456789abcdef";
	if (n == 0) {
		memcpy(s, "<nil>", 5);
		k = 5;
	} else if (n == 4 || (n == 16 && !memcmp(p, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))) {
		const uint8_t *a = n == 4 ? p : p + 12;
		for (int i = 0; i < 4; i++) {
			unsigned v = a[i];
			if (i)
				s[k++] = '.';
			if (v >= 100)
				s[k++] = (char)('0' + v / 100);
			if (v >= 10)
				s[k++] = (char)('0' + v / 10 % 10);
			s[k++] = (char)('0' + v % 10);
		}
	} else if (n == 16) {
		int e0 = -1, e1 = -1;
		for (int i = 0; i < 16; i += 2) {
			int j = i;
			while (j < 16 && !p[j] && !p[j + 1])
				j += 2;
			if (j > i && j - i > e1 - e0) {
				e0 = i;
				e1 = j;
				i = j;
			}
		}
		if (e1 - e0 <= 2)
			e0 = e1 = -1;
		for (int i = 0; i < 16; i += 2) {
			if (i == e0) {
				s[k++] = ':';
				s[k++] = ':';
				i = e1;
				if (i >= 16)
					break;
			} else if (i > 0) {
				s[k++] = ':';
			}
			unsigned v = (unsigned)p[i] << 8 | p[i + 1];
			int started = 0;
			for (int sh = 12; sh >= 0; sh -= 4) {
				unsigned x = (v >> sh) & 15;
				if (x || started || sh == 0) {
					s[k++] = hex[x];
					started = 1;
				}
			}
		}
	} else {
		/* "?" and the hex bytes; longer data is cut to what s holds */
		s[k++] = '?';
		for (uint32_t i = 0; i < n && k + 2 <= sizeof(s); i++) {
			s[k++] = hex[p[i] >> 4];
			s[k++] = hex[p[i] & 15];
		}
	}
	pbw_bytes(w, field, s, k);
}

/* One resource record at *off of d[0..len) as message `field`, moved past.
 * Records of types Skydive does not convert (dns.go toFlowDNSResourceRecord)
 * are checked and left out. *opt_rcode gets the extended RCODE bits of an OPT
 * record (RFC 6891 6.1.3, as gopacket). -1 when gopacket refuses it. */
static int put_rr(struct pbw *w, uint32_t field, const uint8_t *d, uint32_t len, uint32_t *off,
		  int *is_opt, uint8_t *opt_rcode)
{
	uint32_t save = w->len, endq, x;
	uint32_t mark = pbw_open(w, field);
	if (put_name(w, 1, d, len, *off, &endq) || (uint64_t)endq + 10 > len)
		return -1;
	uint16_t type = be16(d + endq), class = be16(d + endq + 2);
	uint32_t ttl = be32(d + endq + 4), dlen = be16(d + endq + 8);
	uint32_t rd = endq + 10, end = rd + dlen;
	if (end > len)
		return -1;
	*off = end;
	*is_opt = type == 41;
	if (type == 41)
		*opt_rcode = (uint8_t)((ttl >> 20) & 0xf0);
	put_cstr(w, 2, xl_dns_type_name(type));
	put_cstr(w, 3, xl_dns_class_name(class));
	pbw_uint(w, 4, ttl);
	pbw_uint(w, 5, dlen);
	int keep = 1;
	uint32_t sub;
	switch (type) {
	case 1:
	case 28:
		put_ip(w, 6, d + rd, dlen);
		break;
	case 2:
	case 5:
	case 12:
		if (put_name(w, type == 2 ? 7 : type == 5 ? 8 : 9, d, end, rd, &x))
			return -1;
		break;
	case 13:
	case 16:
		for (uint32_t i = rd, i2; i != end; i = i2) {
			i2 = i + 1 + d[i];
			if (i2 > end)
				return -1;
			uint32_t m = pbw_open(w, 10);
			put_utf8(w, d + i + 1, d[i]);
			pbw_close(w, m);
		}
		break;
	case 6: {
		uint32_t e1, e2;
		sub = pbw_open(w, 11);
		if (put_name(w, 1, d, end, rd, &e1) || put_name(w, 2, d, end, e1, &e2) ||
		    (uint64_t)e2 + 20 > end)
			return -1;
		for (int k = 0; k < 5; k++)
			pbw_uint(w, 3 + (uint32_t)k, be32(d + e2 + 4 * k));
		pbw_close(w, sub);
		break;
	}
	case 33:
		if (rd + 6 > end)
			return -1;
		sub = pbw_open(w, 12);
		pbw_uint(w, 1, be16(d + rd));
		pbw_uint(w, 2, be16(d + rd + 2));
		pbw_uint(w, 3, be16(d + rd + 4));
		if (put_name(w, 4, d, end, rd + 6, &x))
			return -1;
		pbw_close(w, sub);
		break;
	case 15:
		if (rd + 2 > end)
			return -1;
		sub = pbw_open(w, 13);
		pbw_uint(w, 1, be16(d + rd));
		if (put_name(w, 2, d, end, rd + 2, &x))
			return -1;
		pbw_close(w, sub);
		break;
	case 41:
		if (rd != end && rd + 4 > end)
			return -1;
		for (uint32_t i = rd; i < end;) {
			if (i + 4 > end)
				return -1;
			uint32_t l = be16(d + i + 2);
			if (i + 4 + l > end)
				return -1;
			sub = pbw_open(w, 14);
			put_cstr(w, 1, xl_dns_optcode_name(be16(d + i)));
			if (l) {
				uint32_t m = pbw_open(w, 2);
				put_utf8(w, d + i + 4, l);
				pbw_close(w, m);
			}
			pbw_close(w, sub);
			i += 4 + l;
		}
		break;
	case 256:
		if (dlen < 4)
			return -1;
		keep = 0;
		break;
	default:
		keep = 0;
	}
	pbw_close(w, mark);
	if (!keep) {
		w->len = save;
		w->err = 0;
	}
	return 0;
}

int xl_dns_encode(const uint8_t *d, uint32_t len, uint64_t ts_ns, uint8_t *out, uint32_t cap,
		  int *cut)
{
	*cut = 0;
	if (len < 12)
		return 0;
	/* room kept for the closing timestamp and the response code an OPT
	 * record may extend */
	enum { TAIL = 64 };
	if (cap < 2 * TAIL)
		return -ENOSPC;
	struct pbw w = {.p = out, .cap = cap - TAIL};
	struct pbw none = {.err = 1}; /* items past the room: checked, not kept */
	struct pbw *iw = &w;
	uint32_t top = pbw_open(&w, XL_FIELD_DNS);
	pbw_uint(&w, 1, be16(d));
	pbw_uint(&w, 2, d[2] >> 7);
	put_cstr(&w, 3, xl_dns_opcode_name((d[2] >> 3) & 0x0f));
	pbw_uint(&w, 4, (d[2] >> 2) & 1);
	pbw_uint(&w, 5, (d[2] >> 1) & 1);
	pbw_uint(&w, 6, d[2] & 1);
	pbw_uint(&w, 7, d[3] >> 7);
	pbw_uint(&w, 8, (d[3] >> 4) & 7);
	uint8_t rcode = d[3] & 0x0f;
	uint32_t count[4];
	for (int k = 0; k < 4; k++) {
		count[k] = be16(d + 4 + 2 * k);
		pbw_uint(&w, 10 + (uint32_t)k, count[k]);
	}
	if (w.err)
		return -ENOSPC;
	uint32_t off = 12;
	for (uint32_t i = 0; i < count[0]; i++) {
		uint32_t save = iw->len, next;
		uint32_t m = pbw_open(iw, 14);
		if (put_name(iw, 1, d, len, off, &next) || (uint64_t)next + 4 > len)
			return 0;
		put_cstr(iw, 2, xl_dns_type_name(be16(d + next)));
		put_cstr(iw, 3, xl_dns_class_name(be16(d + next + 2)));
		pbw_close(iw, m);
		off = next + 4;
		if (iw->err && iw == &w) {
			w.len = save;
			w.err = 0;
			iw = &none;
			*cut = 1;
		}
	}
	for (int sec = 1; sec < 4; sec++)
		for (uint32_t i = 0; i < count[sec]; i++) {
			uint32_t save = iw->len;
			int is_opt = 0;
			uint8_t ext = 0;
			if (put_rr(iw, 14 + (uint32_t)sec, d, len, &off, &is_opt, &ext))
				return 0;
			if (iw->err && iw == &w) {
				w.len = save;
				w.err = 0;
				iw = &none;
				*cut = 1;
			}
			if (sec == 3 && is_opt)
				rcode |= ext;
		}
	w.cap = cap;
	put_cstr(&w, 9, xl_dns_rcode_name(rcode));
	uint32_t ts = pbw_open(&w, 18);
	pbw_uint(&w, 1, ts_ns / 1000000000u);
	pbw_uint(&w, 2, ts_ns % 1000000000u);
	pbw_close(&w, ts);
	pbw_close(&w, top);
	return w.err ? -ENOSPC : (int)w.len;
}
