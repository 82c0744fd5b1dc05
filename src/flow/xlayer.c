/* xlayer.c - flows' extra layers: the per-table slots and Skydive's rules for
 * them, and the layer blob read back by schema (see xlayer.h). */
#include "flow/xlayer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/base64.h"

/* ---- schema: the messages of flow/layers/ (.proto), JSON and Go names ------------------------ */

/* XK_UINT: uint32 (a wider varint is cut to 32 bits, as protobuf parses it);
 * XK_I64, XK_I32: the timestamp's int64 seconds and int32 nanos */
enum xk { XK_UINT, XK_BOOL, XK_STR, XK_BYTES, XK_MSG, XK_I64, XK_I32 };

struct xmsg;
struct xf {
	uint16_t num;
	uint8_t kind, rep;
	const char *json, *go;
	const struct xmsg *sub;
};
struct xmsg {
	unsigned n;
	const struct xf *f;
};

#define MSG(name, ...)                                                                            \
	static const struct xf name##_f[] = {__VA_ARGS__};                                         \
	static const struct xmsg name = {sizeof(name##_f) / sizeof(name##_f[0]), name##_f}

MSG(m_ts, {1, XK_I64, 0, "seconds", "Seconds", NULL}, {2, XK_I32, 0, "nanos", "Nanos", NULL});
MSG(m_q, {1, XK_STR, 0, "name", "Name", NULL}, {2, XK_STR, 0, "type", "Type", NULL},
    {3, XK_STR, 0, "class", "Class", NULL});
MSG(m_soa, {1, XK_STR, 0, "m_name", "MName", NULL}, {2, XK_STR, 0, "r_name", "RName", NULL},
    {3, XK_UINT, 0, "serial", "Serial", NULL}, {4, XK_UINT, 0, "refresh", "Refresh", NULL},
    {5, XK_UINT, 0, "retry", "Retry", NULL}, {6, XK_UINT, 0, "expire", "Expire", NULL},
    {7, XK_UINT, 0, "minimum", "Minimum", NULL});
MSG(m_srv, {1, XK_UINT, 0, "priority", "Priority", NULL},
    {2, XK_UINT, 0, "weight", "Weight", NULL}, {3, XK_UINT, 0, "port", "Port", NULL},
    {4, XK_STR, 0, "name", "Name", NULL});
MSG(m_mx, {1, XK_UINT, 0, "preference", "Preference", NULL},
    {2, XK_STR, 0, "name", "Name", NULL});
MSG(m_opt, {1, XK_STR, 0, "code", "Code", NULL}, {2, XK_STR, 0, "data", "Data", NULL});
MSG(m_rr, {1, XK_STR, 0, "name", "Name", NULL}, {2, XK_STR, 0, "type", "Type", NULL},
    {3, XK_STR, 0, "class", "Class", NULL}, {4, XK_UINT, 0, "TTL", "TTL", NULL},
    {5, XK_UINT, 0, "data_length", "DataLength", NULL}, {6, XK_STR, 0, "IP", "IP", NULL},
    {7, XK_STR, 0, "NS", "NS", NULL}, {8, XK_STR, 0, "c_name", "CName", NULL},
    {9, XK_STR, 0, "PTR", "PTR", NULL}, {10, XK_STR, 1, "TXTs", "TXTs", NULL},
    {11, XK_MSG, 0, "SOA", "SOA", &m_soa}, {12, XK_MSG, 0, "SRV", "SRV", &m_srv},
    {13, XK_MSG, 0, "MX", "MX", &m_mx}, {14, XK_MSG, 1, "OPT", "OPT", &m_opt});
MSG(m_dns, {1, XK_UINT, 0, "ID", "ID", NULL}, {2, XK_BOOL, 0, "QR", "QR", NULL},
    {3, XK_STR, 0, "op_code", "OpCode", NULL}, {4, XK_BOOL, 0, "AA", "AA", NULL},
    {5, XK_BOOL, 0, "TC", "TC", NULL}, {6, XK_BOOL, 0, "RD", "RD", NULL},
    {7, XK_BOOL, 0, "RA", "RA", NULL}, {8, XK_UINT, 0, "z", "Z", NULL},
    {9, XK_STR, 0, "response_code", "ResponseCode", NULL},
    {10, XK_UINT, 0, "q_d_count", "QDCount", NULL}, {11, XK_UINT, 0, "a_n_count", "ANCount", NULL},
    {12, XK_UINT, 0, "n_s_count", "NSCount", NULL}, {13, XK_UINT, 0, "a_r_count", "ARCount", NULL},
    {14, XK_MSG, 1, "questions", "Questions", &m_q},
    {15, XK_MSG, 1, "answers", "Answers", &m_rr},
    {16, XK_MSG, 1, "authorities", "Authorities", &m_rr},
    {17, XK_MSG, 1, "additionals", "Additionals", &m_rr},
    {18, XK_MSG, 0, "timestamp", "Timestamp", &m_ts});
MSG(m_dhcp, {1, XK_BYTES, 0, "contents", "Contents", NULL},
    {2, XK_BYTES, 0, "payload", "Payload", NULL},
    {3, XK_UINT, 0, "hardware_len", "HardwareLen", NULL},
    {4, XK_UINT, 0, "hardware_opts", "HardwareOpts", NULL}, {5, XK_UINT, 0, "xid", "Xid", NULL},
    {6, XK_UINT, 0, "secs", "Secs", NULL}, {7, XK_UINT, 0, "flags", "Flags", NULL},
    {8, XK_BYTES, 0, "server_name", "ServerName", NULL}, {9, XK_BYTES, 0, "file", "File", NULL});
MSG(m_vrrp, {1, XK_BYTES, 0, "contents", "Contents", NULL},
    {2, XK_BYTES, 0, "payload", "Payload", NULL}, {3, XK_UINT, 0, "version", "Version", NULL},
    {4, XK_UINT, 0, "virtual_rtrID", "VirtualRtrID", NULL},
    {5, XK_UINT, 0, "priority", "Priority", NULL},
    {6, XK_UINT, 0, "count_ipaddr", "CountIpaddr", NULL},
    {7, XK_UINT, 0, "adver_int", "AdverInt", NULL}, {8, XK_UINT, 0, "checksum", "Checksum", NULL});
/* Go names of the flow.Flow fields; Gremlin reaches only DHCPv4 and DNS (the
 * ExtraLayers words that are also field names). */
MSG(m_flow, {XL_FIELD_DHCPV4, XK_MSG, 0, "DHCPv4", "DHCPv4", &m_dhcp},
    {XL_FIELD_DNS, XK_MSG, 0, "DNS", "DNS", &m_dns},
    {XL_FIELD_VRRP, XK_MSG, 0, "VRRPv2", "", &m_vrrp});

/* ---- protobuf reader ----------------------------------------------------- */

struct pbf {
	uint32_t num;
	unsigned wt;
	uint64_t v;       /* varint */
	const uint8_t *d; /* length-delimited */
	uint32_t dl;
};

static int rd_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		if (*pos >= len)
			return -1;
		uint8_t b = p[(*pos)++];
		r |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* Next field of p[0..len) from *pos: 1, 0 at the end, -1 malformed (only
 * varint and length-delimited fields occur in these messages). */
static int pb_next(const uint8_t *p, size_t len, size_t *pos, struct pbf *f)
{
	uint64_t key;
	if (*pos >= len)
		return 0;
	if (rd_varint(p, len, pos, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
		return -1;
	f->num = (uint32_t)(key >> 3);
	f->wt = key & 7;
	if (f->wt == 0)
		return rd_varint(p, len, pos, &f->v) ? -1 : 1;
	if (f->wt != 2 || rd_varint(p, len, pos, &f->v) || f->v > len - *pos)
		return -1;
	f->d = p + *pos;
	f->dl = (uint32_t)f->v;
	*pos += f->dl;
	return 1;
}

/* The last occurrence of field num in p[0..len) (protobuf: the last wins). */
static int last_of(const uint8_t *p, size_t len, uint32_t num, struct pbf *last)
{
	struct pbf f;
	size_t pos = 0;
	int n = 0;
	while (pb_next(p, len, &pos, &f) > 0)
		if (f.num == num) {
			*last = f;
			n = 1;
		}
	return n;
}

static const struct xf *schema_field(const struct xmsg *m, uint32_t num)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->f[i].num == num)
			return &m->f[i];
	return NULL;
}

/* Every field known, of the right wire type, sub-messages likewise, at most
 * 4 levels deep. */
static int check_msg(const struct xmsg *m, const uint8_t *p, size_t len, int depth)
{
	struct pbf f;
	size_t pos = 0;
	int r;
	if (depth > 4)
		return -1;
	while ((r = pb_next(p, len, &pos, &f)) > 0) {
		const struct xf *s = schema_field(m, f.num);
		if (!s || (f.wt == 0) != (s->kind == XK_UINT || s->kind == XK_BOOL ||
					  s->kind == XK_I64 || s->kind == XK_I32))
			return -1;
		if (s->kind == XK_MSG && check_msg(s->sub, f.d, f.dl, depth + 1))
			return -1;
	}
	return r;
}

int xlayer_check(const uint8_t *blob, size_t len)
{
	return check_msg(&m_flow, blob, len, 0);
}

int xlayer_fields(const uint8_t *blob, size_t len, uint32_t *num, const uint8_t **data,
		  size_t *dlen, int max)
{
	struct pbf f;
	size_t pos = 0;
	int n = 0, r;
	while (n < max && (r = pb_next(blob, len, &pos, &f)) > 0) {
		if (f.wt != 2)
			return -1;
		num[n] = f.num;
		data[n] = f.d;
		dlen[n++] = f.dl;
	}
	return n;
}

/* ---- walking by schema (Go's field order) --------------------------------- */

struct sink {
	void (*key)(void *u, const char *k); /* NULL k: next element of a list */
	void (*obj)(void *u, int open);
	void (*arr)(void *u, int open);
	void (*num)(void *u, int64_t v);
	void (*boolean)(void *u, int v);
	void (*str)(void *u, const uint8_t *s, uint32_t n, int bytes);
	void *u;
};

static void walk_value(const struct sink *k, const struct xf *s, const struct pbf *f, int depth);

/* Message p[0..len): the fields present, in schema order (the last of a
 * non-repeated field wins, as protobuf says; a list keeps its order). The
 * blob was checked, so malformed data only ends the walk early. */
static void walk_msg(const struct sink *k, const struct xmsg *m, const uint8_t *p, size_t len,
		     int depth)
{
	k->obj(k->u, 1);
	for (unsigned i = 0; i < m->n && depth < 6; i++) {
		const struct xf *s = &m->f[i];
		struct pbf f, last = {0};
		size_t pos = 0;
		int n = 0;
		while (pb_next(p, len, &pos, &f) > 0) {
			if (f.num != s->num)
				continue;
			if (s->rep) {
				if (!n++) {
					k->key(k->u, s->json);
					k->arr(k->u, 1);
				}
				k->key(k->u, NULL);
				walk_value(k, s, &f, depth);
			} else {
				last = f;
				n = 1;
			}
		}
		if (s->rep) {
			if (n)
				k->arr(k->u, 0);
		} else if (n) {
			/* proto3 writes no zero scalars, but an agent may */
			if (s->kind != XK_STR && s->kind != XK_BYTES && s->kind != XK_MSG
				? last.wt == 0 && last.v
							      : last.wt == 2 &&
								    (last.dl || s->kind == XK_MSG)) {
				k->key(k->u, s->json);
				walk_value(k, s, &last, depth);
			}
		}
	}
	k->obj(k->u, 0);
}

static void walk_value(const struct sink *k, const struct xf *s, const struct pbf *f, int depth)
{
	switch (s->kind) {
	case XK_UINT:
		k->num(k->u, f->wt == 0 ? (int64_t)(uint32_t)f->v : 0);
		break;
	case XK_I64:
		k->num(k->u, f->wt == 0 ? (int64_t)f->v : 0);
		break;
	case XK_I32:
		k->num(k->u, f->wt == 0 ? (int64_t)(int32_t)f->v : 0);
		break;
	case XK_BOOL:
		k->boolean(k->u, f->wt == 0 && f->v);
		break;
	case XK_STR:
		if (f->wt == 2) {
			/* valid UTF-8 from our decoders; an agent's other bytes are
			 * shown as Go shows them, U+FFFD each */
			uint8_t clean[3 * XL_BLOB_MAX];
			uint32_t n = 0;
			for (uint32_t i = 0; i < f->dl && n + 4 <= sizeof(clean);) {
				uint32_t l = xl_utf8_len(f->d + i, f->dl - i);
				if (l) {
					memcpy(clean + n, f->d + i, l);
					n += l;
					i += l;
				} else {
					memcpy(clean + n, "\xef\xbf\xbd", 3);
					n += 3;
					i++;
				}
			}
			k->str(k->u, clean, n, 0);
		} else {
			k->str(k->u, (const uint8_t *)"", 0, 0);
		}
		break;
	case XK_BYTES:
		if (f->wt == 2)
			k->str(k->u, f->d, f->dl, 1);
		else
			k->str(k->u, (const uint8_t *)"", 0, 1);
		break;
	case XK_MSG:
		if (f->wt == 2)
			walk_msg(k, s->sub, f->d, f->dl, depth + 1);
		else
			walk_msg(k, s->sub, NULL, 0, depth + 1);
		break;
	}
}

/* ---- JSON into a buf ------------------------------------------------------ */

struct bsink {
	struct buf *b;
	int depth;
	uint8_t first[8]; /* per open container: nothing written in it yet */
	int *top_first;   /* the caller's object */
};

static void b_sep(struct bsink *s)
{
	int *f = s->depth ? NULL : s->top_first;
	uint8_t *g = s->depth ? &s->first[s->depth] : NULL;
	if (f ? !*f : !*g)
		buf_putc(s->b, ',');
	if (f)
		*f = 0;
	else
		*g = 0;
}

static void bk_key(void *u, const char *k)
{
	struct bsink *s = u;
	b_sep(s);
	if (k) {
		buf_put_json_strn(s->b, k, strlen(k));
		buf_putc(s->b, ':');
	}
}

static void bk_open(struct bsink *s, char c)
{
	buf_putc(s->b, c);
	if (s->depth + 1 < (int)sizeof(s->first))
		s->first[++s->depth] = 1;
}

static void bk_nest(struct bsink *s, int open, const char *pair)
{
	if (open) {
		bk_open(s, pair[0]);
	} else {
		buf_putc(s->b, pair[1]);
		s->depth--;
	}
}

static void bk_obj(void *u, int open)
{
	bk_nest(u, open, "{}");
}

static void bk_arr(void *u, int open)
{
	bk_nest(u, open, "[]");
}

static void bk_num(void *u, int64_t v)
{
	buf_put_i64(((struct bsink *)u)->b, v);
}

static void bk_bool(void *u, int v)
{
	buf_puts(((struct bsink *)u)->b, v ? "true" : "false");
}

static void bk_str(void *u, const uint8_t *p, uint32_t n, int bytes)
{
	struct bsink *s = u;
	if (bytes) {
		char enc[BASE64_ENCODED_LEN(XL_BLOB_MAX) + 1];
		if (n > XL_BLOB_MAX)
			n = XL_BLOB_MAX;
		size_t k = base64_encode(enc, p, n);
		buf_put_json_strn(s->b, enc, k);
	} else {
		buf_put_json_strn(s->b, p, n);
	}
}

void xlayer_json_buf(struct buf *b, int *first, const uint8_t *blob, size_t len)
{
	if (!len || xlayer_check(blob, len))
		return;
	struct bsink s = {.b = b, .top_first = first};
	const struct sink k = {bk_key, bk_obj, bk_arr, bk_num, bk_bool, bk_str, &s};
	/* the top level is the caller's object: its fields without braces */
	for (unsigned i = 0; i < m_flow.n; i++) {
		struct pbf last;
		if (last_of(blob, len, m_flow.f[i].num, &last)) {
			bk_key(&s, m_flow.f[i].json);
			walk_value(&k, &m_flow.f[i], &last, 0);
		}
	}
}

/* ---- JSON into jansson ------------------------------------------------------ */

struct jsink {
	json_t *stack[8];
	int depth;
	const char *key;
	int oom;
};

static void j_put(struct jsink *s, json_t *v)
{
	if (!v) {
		s->oom = 1;
		return;
	}
	json_t *p = s->stack[s->depth];
	int r = json_is_array(p) ? json_array_append_new(p, v)
				 : json_object_set_new(p, s->key ? s->key : "", v);
	if (r)
		s->oom = 1;
}

static void jk_key(void *u, const char *k)
{
	((struct jsink *)u)->key = k;
}

static void j_open(struct jsink *s, json_t *v)
{
	j_put(s, v);
	if (v && s->depth + 1 < (int)(sizeof(s->stack) / sizeof(s->stack[0])))
		s->stack[++s->depth] = v;
	else
		s->oom = 1;
}

static void j_nest(struct jsink *s, int open, int array)
{
	if (open)
		j_open(s, array ? json_array() : json_object());
	else if (s->depth > 0)
		s->depth--;
}

static void jk_obj(void *u, int open)
{
	j_nest(u, open, 0);
}

static void jk_arr(void *u, int open)
{
	j_nest(u, open, 1);
}

static void jk_num(void *u, int64_t v)
{
	j_put(u, json_integer((json_int_t)v));
}

static void jk_bool(void *u, int v)
{
	j_put(u, json_boolean(v));
}

static void jk_str(void *u, const uint8_t *p, uint32_t n, int bytes)
{
	if (bytes) {
		char enc[BASE64_ENCODED_LEN(XL_BLOB_MAX) + 1];
		if (n > XL_BLOB_MAX)
			n = XL_BLOB_MAX;
		size_t k = base64_encode(enc, p, n);
		j_put(u, json_stringn(enc, k));
	} else {
		/* valid UTF-8 by construction (dns.c); an agent's invalid text is
		 * left out rather than failing the whole flow */
		json_t *v = json_stringn((const char *)p, n);
		j_put(u, v ? v : json_string(""));
	}
}

int xlayer_json_obj(json_t *o, const uint8_t *blob, size_t len)
{
	if (!len || xlayer_check(blob, len))
		return 0;
	struct jsink s = {.stack = {o}};
	const struct sink k = {jk_key, jk_obj, jk_arr, jk_num, jk_bool, jk_str, &s};
	for (unsigned i = 0; i < m_flow.n; i++) {
		struct pbf last;
		if (last_of(blob, len, m_flow.f[i].num, &last)) {
			s.key = m_flow.f[i].json;
			s.depth = 0;
			walk_value(&k, &m_flow.f[i], &last, 0);
		}
	}
	return s.oom ? -1 : 0;
}

/* ---- Gremlin fields ---------------------------------------------------------- */

int xlayer_field(const uint8_t *blob, size_t len, const char *key, int *is_str, int64_t *iv,
		 char *out, size_t slen)
{
	const struct xmsg *m = &m_flow;
	const uint8_t *p = blob;
	size_t plen = len;
	int top = 1;
	if (!len || xlayer_check(blob, len))
		return 0;
	while (*key) {
		const char *dot = strchr(key, '.');
		size_t kl = dot ? (size_t)(dot - key) : strlen(key);
		const struct xf *s = NULL;
		for (unsigned i = 0; i < m->n; i++)
			if (strlen(m->f[i].go) == kl && !memcmp(m->f[i].go, key, kl))
				s = &m->f[i];
		if (!s || s->rep || (top && !dot))
			return 0;
		struct pbf f = {0};
		int found = last_of(p, plen, s->num, &f);
		const uint8_t *vd = found && f.wt == 2 ? f.d : NULL;
		uint32_t vl = found && f.wt == 2 ? f.dl : 0;
		uint64_t v = found && f.wt == 0 ? f.v : 0;
		if (s->kind == XK_MSG) {
			/* a nil message stops the path (Go's reflect finds nothing) */
			if (!found || !dot)
				return 0;
			m = s->sub;
			p = vd;
			plen = vl;
			key = dot + 1;
			top = 0;
			continue;
		}
		if (dot)
			return 0;
		if (s->kind == XK_UINT || s->kind == XK_I64 || s->kind == XK_I32) {
			*is_str = 0;
			*iv = s->kind == XK_UINT ? (int64_t)(uint32_t)v
			      : s->kind == XK_I32 ? (int64_t)(int32_t)v
						   : (int64_t)v;
			return 1;
		}
		if (s->kind == XK_STR) {
			size_t n = vl < slen - 1 ? vl : slen - 1;
			if (n)
				memcpy(out, vd, n);
			out[n] = 0;
			*is_str = 1;
			return 1;
		}
		return 0; /* booleans and bytes */
	}
	return 0;
}

/* ---- store escaping --------------------------------------------------------- */

size_t xlayer_escape(char *out, const uint8_t *blob, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (blob[i] <= 1) {
			out[k++] = 1;
			out[k++] = (char)(blob[i] + 1);
		} else {
			out[k++] = (char)blob[i];
		}
	}
	out[k] = 0;
	return k;
}

long xlayer_unescape(uint8_t *out, size_t cap, const char *s)
{
	size_t k = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		uint8_t c = *p;
		if (c == 1) {
			p++;
			if (*p != 1 && *p != 2)
				return -1;
			c = (uint8_t)(*p - 1);
		}
		if (k >= cap)
			return -1;
		out[k++] = c;
	}
	return (long)k;
}

/* ---- per-table slots ---------------------------------------------------------- */

struct xslot {
	uint16_t len;
	uint8_t b[XL_BLOB_MAX];
};

struct xlayer_store {
	unsigned mask;
	uint32_t max_flows, nslots, used, free_head;
	uint32_t *of;        /* flow slot -> layer slot + 1, 0 = none */
	struct xslot *slots; /* a free slot's first bytes link the free list */
	size_t of_bytes, slots_bytes;
	struct xlayer_stats st;
};

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct xlayer_store *xlayer_store_new(uint32_t max_flows, unsigned mask)
{
	struct xlayer_store *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->mask = mask;
	x->max_flows = max_flows;
	x->nslots = max_flows < XLAYER_SLOTS_MAX ? max_flows : XLAYER_SLOTS_MAX;
	x->of_bytes = ((size_t)max_flows + 1) * sizeof(uint32_t);
	x->slots_bytes = (size_t)x->nslots * sizeof(struct xslot);
	x->of = reserve(x->of_bytes);
	x->slots = x->nslots ? reserve(x->slots_bytes) : NULL;
	if (!x->of || (x->nslots && !x->slots)) {
		xlayer_store_free(x);
		return NULL;
	}
	return x;
}

void xlayer_store_free(struct xlayer_store *x)
{
	if (!x)
		return;
	if (x->of)
		munmap(x->of, x->of_bytes);
	if (x->slots)
		munmap(x->slots, x->slots_bytes);
	free(x);
}

const struct xlayer_stats *xlayer_store_stats(const struct xlayer_store *x)
{
	return &x->st;
}

void xlayer_drop(struct xlayer_store *x, uint32_t slot)
{
	if (!x || slot > x->max_flows || !x->of[slot])
		return;
	uint32_t i = x->of[slot] - 1;
	memcpy(x->slots[i].b, &x->free_head, sizeof(uint32_t));
	x->free_head = i + 1;
	x->of[slot] = 0;
}

const uint8_t *xlayer_get(const struct xlayer_store *x, uint32_t slot, uint32_t *len)
{
	*len = 0;
	if (!x || slot > x->max_flows || !x->of[slot])
		return NULL;
	const struct xslot *s = &x->slots[x->of[slot] - 1];
	*len = s->len;
	return s->len ? s->b : NULL;
}

static struct xslot *slot_for(struct xlayer_store *x, uint32_t slot)
{
	if (x->of[slot])
		return &x->slots[x->of[slot] - 1];
	uint32_t i;
	if (x->free_head) {
		i = x->free_head - 1;
		memcpy(&x->free_head, x->slots[i].b, sizeof(uint32_t));
	} else if (x->used < x->nslots) {
		i = x->used++;
	} else {
		x->st.no_slot++;
		return NULL;
	}
	x->of[slot] = i + 1;
	x->slots[i].len = 0;
	return &x->slots[i];
}

/* Replaces field `num` of the slot's blob with the one in add[0..n). */
static void blob_set(struct xlayer_store *x, uint32_t slot, uint32_t num, const uint8_t *add,
		     uint32_t n)
{
	struct xslot *s = slot_for(x, slot);
	if (!s)
		return;
	uint8_t keep[XL_BLOB_MAX];
	uint32_t k = 0;
	size_t pos = 0, start = 0;
	struct pbf f;
	while (pb_next(s->b, s->len, &pos, &f) > 0) {
		if (f.num != num) {
			memcpy(keep + k, s->b + start, pos - start);
			k += (uint32_t)(pos - start);
		}
		start = pos;
	}
	if (k + n > XL_BLOB_MAX) { /* cannot happen: one field of each kind */
		x->st.no_slot++;
		return;
	}
	memcpy(s->b, keep, k);
	memcpy(s->b + k, add, n);
	s->len = (uint16_t)(k + n);
	x->st.kept++;
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void xlayer_dns(struct xlayer_store *x, uint32_t slot, const uint8_t *msg, uint32_t len,
		uint64_t ts_ns)
{
	if (!x || !(x->mask & XL_DNS) || slot == 0 || slot > x->max_flows)
		return;
	uint8_t tmp[XL_BLOB_MAX];
	int cut = 0, r = xl_dns_encode(msg, len, ts_ns, tmp, sizeof(tmp), &cut);
	if (r > 0) {
		if (cut)
			x->st.cut++;
		blob_set(x, slot, XL_FIELD_DNS, tmp, (uint32_t)r);
	}
}

void xlayer_packet(struct xlayer_store *x, uint32_t slot, int first, const struct decode_seg *g,
		   const uint8_t *frame, uint64_t ts_ns)
{
	if (!x || !g->app || !frame || slot == 0 || slot > x->max_flows)
		return;
	const uint8_t *m = frame + g->app_off;
	uint32_t n = g->app_len;
	uint8_t tmp[XL_BLOB_MAX];
	int r = 0, cut = 0;
	switch (g->app) {
	case LAYER_DHCPV4:
		if (first && (x->mask & XL_DHCPV4) &&
		    (r = xl_dhcp4_encode(m, n, tmp, sizeof(tmp))) > 0)
			blob_set(x, slot, XL_FIELD_DHCPV4, tmp, (uint32_t)r);
		break;
	case LAYER_VRRPV2:
		if (first && (x->mask & XL_VRRP) && (r = xl_vrrp_encode(m, n, tmp, sizeof(tmp))) > 0)
			blob_set(x, slot, XL_FIELD_VRRP, tmp, (uint32_t)r);
		break;
	case LAYER_DNS:
		if (!(x->mask & XL_DNS))
			break;
		if (g->l4 != DECODE_L4_TCP) {
			xlayer_dns(x, slot, m, n, ts_ns);
		} else {
			/* RFC 1035 4.2.2: each message after a 2-byte length. Only
			 * messages whole in this segment are read (the latest one
			 * counts, as the latest packet does over UDP); one that
			 * goes on in later segments needs reassembly (with
			 * ReassembleTCP, flow/dns_tcp.h frames the stream). */
			uint8_t one[XL_BLOB_MAX];
			uint32_t pos = 0;
			while (pos + 2 <= n) {
				uint32_t l = be16(m + pos);
				if (l > n - pos - 2) {
					x->st.tcp_partial++;
					break;
				}
				int c = 0, k = xl_dns_encode(m + pos + 2, l, ts_ns, one, sizeof(one), &c);
				if (k > 0) {
					memcpy(tmp, one, (size_t)k);
					r = k;
					cut = c;
				}
				pos += 2 + l;
			}
		}
		if (r > 0) {
			if (cut)
				x->st.cut++;
			blob_set(x, slot, XL_FIELD_DNS, tmp, (uint32_t)r);
		}
		break;
	}
}
