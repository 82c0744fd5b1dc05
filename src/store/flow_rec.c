/* flow_rec.c - the bounded block dictionary and the payload codec of flow and raw
 * packet blocks (formats in flow_rec.h). */
#include "store/flow_rec.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

/* ---- dictionary --------------------------------------------------------------------- */

static uint32_t dict_hash(const char *s, size_t n)
{
	return (uint32_t)XXH3_64bits(s, n);
}

static int dict_rehash(struct frec_dict *d, uint32_t ns)
{
	uint32_t *slot = calloc(ns, sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	for (uint32_t i = 0; i < d->n; i++) {
		uint32_t h = dict_hash(d->v[i], strlen(d->v[i])) & (ns - 1);
		while (slot[h])
			h = (h + 1) & (ns - 1);
		slot[h] = i + 1;
	}
	free(d->slot);
	d->slot = slot;
	d->nslot = ns;
	return 0;
}

int frec_dict_add(struct frec_dict *d, const char *s)
{
	if (!s || !*s)
		return 0;
	size_t len = strnlen(s, FREC_STR_MAX);
	uint32_t max = d->max ? d->max : FREC_DICT_MAX;
	size_t max_bytes = d->max_bytes ? d->max_bytes : FREC_DICT_MAX_BYTES;
	if ((d->n + 1) * 2 > d->nslot && dict_rehash(d, d->nslot ? d->nslot * 2 : 64))
		return -ENOMEM;
	uint32_t h = dict_hash(s, len) & (d->nslot - 1);
	while (d->slot[h]) {
		const char *v = d->v[d->slot[h] - 1];
		if (!strncmp(v, s, len) && !v[len])
			return (int)d->slot[h];
		h = (h + 1) & (d->nslot - 1);
	}
	if (d->n >= max || d->bytes + len + 1 > max_bytes)
		return -ENOSPC;
	if (d->n == d->cap) {
		uint32_t nc = d->cap ? d->cap * 2 : 16;
		char **nv = realloc(d->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = nc;
	}
	char *c = strndup(s, len);
	if (!c)
		return -ENOMEM;
	d->v[d->n++] = c;
	d->slot[h] = d->n;
	d->bytes += len + 1;
	return (int)d->n;
}

const char *frec_dict_get(const struct frec_dict *d, uint32_t id)
{
	return id && id <= d->n ? d->v[id - 1] : "";
}

void frec_dict_reset(struct frec_dict *d)
{
	for (uint32_t i = 0; i < d->n; i++)
		free(d->v[i]);
	d->n = 0;
	d->bytes = 0;
	if (d->slot)
		memset(d->slot, 0, d->nslot * sizeof(*d->slot));
}

void frec_dict_free(struct frec_dict *d)
{
	if (!d)
		return;
	frec_dict_reset(d);
	free(d->v);
	free(d->slot);
	d->v = NULL;
	d->slot = NULL;
	d->cap = d->nslot = 0;
}

/* ---- flows -------------------------------------------------------------------------- */

#define REC_SIZE   sizeof(struct flow_rec)
#define REC_BITMAP ((REC_SIZE + 7) / 8)
#define CHUNK      64 /* records transposed at a time: their rows stay in L1 */

size_t frec_flows_bound(const struct frec_dict *d, size_t n)
{
	return 4 + d->n * 2 + d->bytes + REC_BITMAP + REC_SIZE + n * REC_SIZE;
}

size_t frec_encode_flows(const struct frec_dict *d, const struct flow_rec *r, size_t n,
			 uint8_t *out)
{
	uint8_t *p = out;
	uint32_t ns = d->n;
	memcpy(p, &ns, 4);
	p += 4;
	for (uint32_t i = 0; i < ns; i++) {
		uint16_t l = (uint16_t)strlen(d->v[i]);
		memcpy(p, &l, 2);
		memcpy(p + 2, d->v[i], l);
		p += 2 + l;
	}
	/* Byte columns: one that is the same in every record (a zero high byte, a field
	 * this kind of flow does not use, the block's node) is written once; the others
	 * n times, transposed, so decoding decompresses ~70 bytes a record, not 288. */
	const uint8_t *src = (const uint8_t *)r;
	uint8_t *bitmap = p;
	memset(bitmap, 0, REC_BITMAP);
	p += REC_BITMAP;
	/* which bytes differ from the first record's, a word at a time */
	uint64_t diff[REC_SIZE / 8] = {0}, w0[REC_SIZE / 8];
	if (n)
		memcpy(w0, src, REC_SIZE);
	for (size_t i = 1; i < n; i++) {
		uint64_t w[REC_SIZE / 8];
		memcpy(w, src + i * REC_SIZE, REC_SIZE);
		for (size_t k = 0; k < REC_SIZE / 8; k++)
			diff[k] |= w[k] ^ w0[k];
	}
	const uint8_t *db = (const uint8_t *)diff;
	for (size_t k = 0; k < REC_SIZE; k++) {
		if (db[k])
			bitmap[k / 8] |= (uint8_t)(1u << (k % 8));
		else
			*p++ = n ? src[k] : 0;
	}
	for (size_t c = 0; c < n; c += CHUNK) {
		size_t m = n - c < CHUNK ? n - c : CHUNK;
		uint8_t *col = p;
		for (size_t k = 0; k < REC_SIZE; k++) {
			if (!(bitmap[k / 8] & (1u << (k % 8))))
				continue;
			for (size_t i = 0; i < m; i++)
				col[c + i] = src[(c + i) * REC_SIZE + k];
			col += n;
		}
	}
	size_t vary = 0;
	for (size_t k = 0; k < REC_SIZE; k++)
		vary += !!(bitmap[k / 8] & (1u << (k % 8)));
	return (size_t)(p - out) + vary * n;
}

/* Segment version 1 (the layout before IPMetric, TCPMetric's streams and the
 * fifth string): decoded at its own size, then moved field by field. */
struct flow_tcp_metric_v1 {
	int64_t syn_fin_rst[6];
	uint32_t syn_ttl[2];
};
struct flow_rec_v1 {
	uint64_t uuid, l2, l3, parent;
	int64_t start, last, ingest;
	int64_t lu_start, lu_last;
	uint64_t abp, abb, bap, bab;
	uint64_t lu_abp, lu_abb, lu_bap, lu_bab;
	int64_t rtt_ns;
	uint64_t link_id;
	struct flow_tcp_metric_v1 tcp;
	uint8_t net_a[16], net_b[16];
	uint8_t link_a[6], link_b[6];
	uint32_t net_id, raw_captured;
	uint16_t tp_a, tp_b, icmp_id;
	uint16_t str[4];
	uint8_t icmp_type, icmp_code, icmp_ver, has_link, ip_ver, tproto, finish, has_tcp;
	uint8_t pad[6];
};
_Static_assert(sizeof(struct flow_rec_v1) == 288, "segment version 1 records are 288 bytes");

static void upgrade_v1(const struct flow_rec_v1 *o, struct flow_rec *r)
{
	memset(r, 0, sizeof(*r));
	/* the fields up to tcp kept their places */
	memcpy(r, o, offsetof(struct flow_rec_v1, tcp));
	_Static_assert(offsetof(struct flow_rec_v1, tcp) == offsetof(struct flow_rec, tcp),
		       "v1 prefix moved");
	memcpy(&r->tcp, &o->tcp, sizeof(o->tcp)); /* times and TTLs lead flow_tcp_metric */
	memcpy(r->net_a, o->net_a, 16);
	memcpy(r->net_b, o->net_b, 16);
	memcpy(r->link_a, o->link_a, 6);
	memcpy(r->link_b, o->link_b, 6);
	r->net_id = o->net_id;
	r->raw_captured = o->raw_captured;
	r->tp_a = o->tp_a;
	r->tp_b = o->tp_b;
	r->icmp_id = o->icmp_id;
	memcpy(r->str, o->str, sizeof(o->str));
	r->icmp_type = o->icmp_type;
	r->icmp_code = o->icmp_code;
	r->icmp_ver = o->icmp_ver;
	r->has_link = o->has_link;
	r->ip_ver = o->ip_ver;
	r->tproto = o->tproto;
	r->finish = o->finish;
	r->has_tcp = o->has_tcp ? FREC_TCP_FLAGS : 0;
}

int frec_decode_flows(const uint8_t *p, size_t len, size_t n, struct frec_flows *out)
{
	return frec_decode_flows_v(p, len, n, 2, out);
}

int frec_decode_flows_v(const uint8_t *p, size_t len, size_t n, unsigned version,
			struct frec_flows *out)
{
	memset(out, 0, sizeof(*out));
	out->dict.max = UINT32_MAX; /* what was written is read back whole */
	out->dict.max_bytes = SIZE_MAX;
	const uint8_t *end = p + len;
	uint32_t ns;
	if (len < 4)
		return -EINVAL;
	memcpy(&ns, p, 4);
	p += 4;
	if (ns > len / 2)
		return -EINVAL;
	for (uint32_t i = 0; i < ns; i++) {
		uint16_t l;
		if (end - p < 2)
			goto bad;
		memcpy(&l, p, 2);
		p += 2;
		if (end - p < l || l == 0)
			goto bad;
		char tmp[FREC_STR_MAX + 1];
		if (l > FREC_STR_MAX)
			goto bad;
		memcpy(tmp, p, l);
		tmp[l] = 0;
		p += l;
		/* a string twice, or one with a NUL inside, would shift the ids */
		int id = frec_dict_add(&out->dict, tmp);
		if (id == -ENOMEM) {
			frec_flows_free(out);
			return -ENOMEM;
		}
		if (id != (int)i + 1)
			goto bad;
	}
	const size_t rs = version == 1 ? sizeof(struct flow_rec_v1) : REC_SIZE;
	const size_t rb = (rs + 7) / 8;
	if ((size_t)(end - p) < rb)
		goto bad;
	const uint8_t *bitmap = p;
	p += rb;
	size_t vary = 0;
	for (size_t k = 0; k < rs; k++)
		vary += !!(bitmap[k / 8] & (1u << (k % 8)));
	for (size_t k = rs; k < rb * 8; k++)
		if (bitmap[k / 8] & (1u << (k % 8)))
			goto bad;
	if ((size_t)(end - p) != (rs - vary) + vary * n)
		goto bad;
	uint8_t *dst = NULL;
	if (n && !(dst = malloc(n * rs))) {
		frec_flows_free(out);
		return -ENOMEM;
	}
	/* a template of the constant bytes copied whole into each record, then only the
	 * varying columns scattered: ~70 byte writes a record, not 368 */
	uint8_t tmpl[REC_SIZE];
	uint16_t vk[REC_SIZE];
	const uint8_t *cst = p;
	for (size_t k = 0, j = 0; k < rs; k++) {
		if (bitmap[k / 8] & (1u << (k % 8))) {
			tmpl[k] = 0;
			vk[j++] = (uint16_t)k;
		} else {
			tmpl[k] = *cst++;
		}
	}
	const uint8_t *cols = p + (rs - vary);
	for (size_t c = 0; c < n; c += CHUNK) {
		size_t m = n - c < CHUNK ? n - c : CHUNK;
		uint8_t *base = dst + c * rs;
		for (size_t i = 0; i < m; i++)
			memcpy(base + i * rs, tmpl, rs);
		for (size_t j = 0; j < vary; j++) {
			const uint8_t *col = cols + j * n + c;
			uint8_t *d = base + vk[j];
			for (size_t i = 0; i < m; i++)
				d[i * rs] = col[i];
		}
	}
	if (version == 1 && n) {
		struct flow_rec *r = malloc(n * REC_SIZE);
		if (!r) {
			free(dst);
			frec_flows_free(out);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			struct flow_rec_v1 o;
			memcpy(&o, dst + i * rs, rs);
			upgrade_v1(&o, &r[i]);
		}
		free(dst);
		dst = (uint8_t *)r;
	}
	out->rec = (struct flow_rec *)dst;
	out->n = n;
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < FREC_NSTR; k++)
			if (out->rec[i].str[k] > ns)
				goto bad;
	return 0;
bad:
	frec_flows_free(out);
	return -EINVAL;
}

void frec_flows_free(struct frec_flows *f)
{
	free(f->rec);
	frec_dict_free(&f->dict);
	f->rec = NULL;
	f->n = 0;
}

/* ---- raw packets -------------------------------------------------------------------- */

int frec_decode_raw(const uint8_t *p, size_t len, size_t n, const struct raw_rec **hdr,
		    const uint8_t **pkt)
{
	if (n > len / sizeof(struct raw_rec))
		return -EINVAL;
	const struct raw_rec *h = (const struct raw_rec *)p;
	const uint8_t *data = p + n * sizeof(struct raw_rec);
	size_t left = len - n * sizeof(struct raw_rec);
	for (size_t i = 0; i < n; i++) {
		if (h[i].ref) {
			size_t j = h[i].ref - 1;
			if (j >= i || h[j].ref || h[j].caplen != h[i].caplen)
				return -EINVAL;
			pkt[i] = pkt[j];
			continue;
		}
		if (h[i].caplen > left)
			return -EINVAL;
		pkt[i] = data;
		data += h[i].caplen;
		left -= h[i].caplen;
	}
	if (left)
		return -EINVAL;
	*hdr = h;
	return 0;
}
