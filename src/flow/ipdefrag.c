/* ipdefrag.c - IPv4/IPv6 fragment reassembly (see ipdefrag.h).
 *
 * Datagrams in reassembly live in a slot array reserved at creation, found
 * through chained hash buckets keyed by (version, addresses, id, IPv4
 * protocol, link type) and linked in arrival order of their first fragment,
 * so expiry only looks at the oldest. Fragment bytes are copied into a
 * chunkpool; a datagram's fragments are kept sorted by offset, which makes
 * the overlap check and the final copy one pass each. */
#include "flow/ipdefrag.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "common/util.h"
#include "flow/chunkpool.h"

#define NS_PER_S 1000000000ull
#define PAIR_BUCKETS 4096u /* address pairs hashed for max_per_pair */

struct frag {
	uint32_t off, len; /* payload bytes [off, off + len) */
	uint32_t h;        /* chunkpool handle */
};

struct dgram {
	uint64_t hkey; /* 0 = free slot */
	uint64_t first_ns;
	uint8_t src[16], dst[16];
	uint32_t id;
	int linktype;
	uint8_t ver, proto, nfrag, have_last;
	uint8_t v6_nh;       /* next header the IPv6 fragment headers carry */
	uint16_t hdr_len;    /* bytes of hdr: link + IP up to the payload */
	uint16_t ip_off;     /* IP header in hdr */
	uint16_t nh_pos;     /* IPv6: byte of hdr naming the fragment header */
	uint32_t hdr;        /* chunkpool handle of the first fragment's headers */
	uint32_t total;      /* payload length, known once the last fragment came */
	uint32_t have;       /* payload bytes held */
	uint32_t wirelen;    /* sum of the fragments' wire lengths */
	uint32_t nerr;
	uint32_t chain;      /* next slot in the hash bucket */
	uint32_t age_prev, age_next;
	uint16_t pair;
	struct frag f[IPDEFRAG_MAX_FRAGS];
};

struct ipdefrag {
	struct ipdefrag_opts o;
	struct dgram *slot; /* o.max_datagrams + 1, slot 0 unused */
	size_t slot_bytes;
	uint32_t bumped, free_head;
	uint32_t *bucket;
	uint32_t bucket_mask;
	uint32_t age_head, age_tail; /* oldest, newest */
	uint16_t pair_count[PAIR_BUCKETS];
	struct chunkpool pool;
	uint64_t timeout_ns;
	struct ipdefrag_stats st;
	uint8_t out[IPDEFRAG_MAX_HDR + IPDEFRAG_MAX_PAYLOAD];
};

struct key {
	uint8_t ver, proto, pad[2];
	uint32_t id;
	int32_t linktype;
	uint8_t src[16], dst[16];
};

struct ipdefrag *ipdefrag_new(const struct ipdefrag_opts *o, char *err, size_t errlen)
{
	struct ipdefrag *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->o = *o;
	if (!d->o.max_datagrams)
		d->o.max_datagrams = 1024;
	if (!d->o.max_per_pair)
		d->o.max_per_pair = 64;
	if (!d->o.max_bytes)
		d->o.max_bytes = 4u << 20;
	if (!d->o.timeout_s)
		d->o.timeout_s = 30;
	if (d->o.max_datagrams > (1u << 20) || d->o.max_per_pair > 65535) {
		snprintf(err, errlen, "IP defragmentation: at most %u datagrams, %u per pair",
			 1u << 20, 65535u);
		free(d);
		return NULL;
	}
	d->timeout_ns = (uint64_t)d->o.timeout_s * NS_PER_S;
	d->slot_bytes = ((size_t)d->o.max_datagrams + 1) * sizeof(struct dgram);
	d->slot = mmap(NULL, d->slot_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (d->slot == MAP_FAILED)
		d->slot = NULL;
	uint32_t nb = 64;
	while (nb < d->o.max_datagrams * 2u)
		nb *= 2;
	d->bucket = calloc(nb, sizeof(*d->bucket));
	d->bucket_mask = nb - 1;
	if (!d->slot || !d->bucket || chunkpool_init(&d->pool, d->o.max_bytes)) {
		snprintf(err, errlen, "IP defragmentation: cannot reserve memory");
		ipdefrag_free(d);
		return NULL;
	}
	return d;
}

void ipdefrag_free(struct ipdefrag *d)
{
	if (!d)
		return;
	if (d->slot)
		munmap(d->slot, d->slot_bytes);
	free(d->bucket);
	chunkpool_fini(&d->pool);
	free(d);
}

const struct ipdefrag_stats *ipdefrag_stats(const struct ipdefrag *d)
{
	return &d->st;
}

size_t ipdefrag_memory(const struct ipdefrag *d)
{
	return sizeof(*d) + ((size_t)d->bucket_mask + 1) * sizeof(uint32_t) +
	       ((size_t)d->bumped + 1) * sizeof(struct dgram) + chunkpool_memory(&d->pool);
}

size_t ipdefrag_memory_bound(const struct ipdefrag *d)
{
	return sizeof(*d) + ((size_t)d->bucket_mask + 1) * sizeof(uint32_t) + d->slot_bytes +
	       (size_t)d->pool.nchunks * (CHUNKPOOL_CHUNK + sizeof(uint32_t));
}

/* ---- slots ------------------------------------------------------------ */

static void note_bytes(struct ipdefrag *d)
{
	d->st.bytes_held = (size_t)d->pool.used * CHUNKPOOL_CHUNK;
	if (d->st.bytes_held > d->st.peak_bytes)
		d->st.peak_bytes = d->st.bytes_held;
}

static void dgram_free(struct ipdefrag *d, uint32_t s)
{
	struct dgram *g = &d->slot[s];
	/* out of its bucket */
	uint32_t *pp = &d->bucket[(uint32_t)g->hkey & d->bucket_mask];
	while (*pp && *pp != s)
		pp = &d->slot[*pp].chain;
	if (*pp)
		*pp = g->chain;
	/* out of the age list */
	if (g->age_prev)
		d->slot[g->age_prev].age_next = g->age_next;
	else
		d->age_head = g->age_next;
	if (g->age_next)
		d->slot[g->age_next].age_prev = g->age_prev;
	else
		d->age_tail = g->age_prev;
	for (unsigned i = 0; i < g->nfrag; i++)
		chunkpool_release(&d->pool, g->f[i].h);
	chunkpool_release(&d->pool, g->hdr);
	d->pair_count[g->pair]--;
	g->hkey = 0;
	g->chain = d->free_head;
	d->free_head = s;
	d->st.in_flight--;
	note_bytes(d);
}

static void give_up(struct ipdefrag *d, uint32_t s)
{
	d->st.timeouts++;
	d->st.timeout_fragments += d->slot[s].nfrag;
	dgram_free(d, s);
}

void ipdefrag_expire(struct ipdefrag *d, uint64_t now_ns)
{
	while (d->age_head && d->slot[d->age_head].first_ns + d->timeout_ns <= now_ns)
		give_up(d, d->age_head);
}

void ipdefrag_flush(struct ipdefrag *d)
{
	while (d->age_head)
		give_up(d, d->age_head);
}

static int same(const struct dgram *g, const struct key *k)
{
	return g->ver == k->ver && g->proto == k->proto && g->id == k->id &&
	       g->linktype == k->linktype && !memcmp(g->src, k->src, 16) &&
	       !memcmp(g->dst, k->dst, 16);
}

static uint32_t find(const struct ipdefrag *d, const struct key *k, uint64_t hkey)
{
	for (uint32_t s = d->bucket[(uint32_t)hkey & d->bucket_mask]; s; s = d->slot[s].chain)
		if (d->slot[s].hkey == hkey && same(&d->slot[s], k))
			return s;
	return 0;
}

/* A new datagram slot, or 0 when none is free or the pair has its share. */
static uint32_t create(struct ipdefrag *d, const struct key *k, uint64_t hkey, uint64_t ts_ns)
{
	uint8_t pk[32];
	memcpy(pk, k->src, 16);
	memcpy(pk + 16, k->dst, 16);
	uint16_t pair = (uint16_t)(XXH3_64bits(pk, sizeof(pk)) & (PAIR_BUCKETS - 1));
	if (d->pair_count[pair] >= d->o.max_per_pair)
		return 0;
	uint32_t s = d->free_head;
	if (s)
		d->free_head = d->slot[s].chain;
	else if (d->bumped < d->o.max_datagrams)
		s = ++d->bumped;
	else
		return 0;
	struct dgram *g = &d->slot[s];
	/* Only the header part: the fragment array is written as it fills. */
	memset(g, 0, offsetof(struct dgram, f));
	g->hkey = hkey;
	g->first_ns = ts_ns;
	memcpy(g->src, k->src, 16);
	memcpy(g->dst, k->dst, 16);
	g->id = k->id;
	g->linktype = k->linktype;
	g->ver = k->ver;
	g->proto = k->proto;
	g->pair = pair;
	d->pair_count[pair]++;
	uint32_t b = (uint32_t)hkey & d->bucket_mask;
	g->chain = d->bucket[b];
	d->bucket[b] = s;
	g->age_prev = d->age_tail;
	if (d->age_tail)
		d->slot[d->age_tail].age_next = s;
	else
		d->age_head = s;
	d->age_tail = s;
	if (++d->st.in_flight > d->st.peak_in_flight)
		d->st.peak_in_flight = d->st.in_flight;
	return s;
}

/* ---- one fragment ------------------------------------------------------ */

/* What one fragment says about itself. */
struct fragin {
	struct key k;
	uint32_t off, len; /* payload */
	const uint8_t *data;
	int last;
	uint32_t hdr_len; /* link + IP bytes before the payload (IPv6: before the
	                     fragment header) */
	uint32_t nh_pos;  /* IPv6: offset of the byte naming the fragment header */
	uint8_t v6_nh;
	uint32_t ihl;
};

/* Reads the fragment fields; -1 when the frame does not hold a whole, sane
 * fragment. */
static int parse(int linktype, const uint8_t *p, uint32_t caplen, const struct decode_seg *g,
		 struct fragin *fi)
{
	memset(fi, 0, sizeof(*fi));
	fi->k.linktype = linktype;
	uint32_t ip = g->ip_off;
	if (g->ip_ver == 4) {
		if (ip > caplen || caplen - ip < 20 || (p[ip] >> 4) != 4)
			return -1;
		uint32_t ihl = (uint32_t)(p[ip] & 0x0f) * 4, total = rd16(p + ip + 2);
		if (ihl < 20 || total < ihl || caplen - ip < total)
			return -1; /* cut by the capture (or a TSO length 0) */
		uint16_t fo = rd16(p + ip + 6);
		fi->k.ver = 4;
		fi->k.proto = p[ip + 9];
		fi->k.id = rd16(p + ip + 4);
		memcpy(fi->k.src, p + ip + 12, 4);
		memcpy(fi->k.dst, p + ip + 16, 4);
		fi->off = (uint32_t)(fo & 0x1fff) * 8;
		fi->last = !(fo & 0x2000);
		fi->ihl = ihl;
		fi->hdr_len = ip + ihl;
		fi->data = p + ip + ihl;
		fi->len = total - ihl;
		return 0;
	}
	if (g->ip_ver != 6 || !g->ip6_frag_off)
		return -1;
	uint32_t fh = g->ip6_frag_off;
	if (ip > caplen || caplen - ip < 40 || fh < ip + 40 || fh > caplen || caplen - fh < 8)
		return -1;
	uint32_t plen = rd16(p + ip + 4), end = ip + 40 + plen;
	if (!plen || end > caplen || end < fh + 8)
		return -1;
	/* The byte naming the fragment header: the IPv6 header's, or the last
	 * extension header's before it (the decoder walked the same chain). */
	uint32_t nh_pos = ip + 6, at = ip + 40;
	while (at < fh) {
		if (caplen - at < 2)
			return -1;
		nh_pos = at;
		at += ((uint32_t)p[at + 1] + 1) * 8;
	}
	if (at != fh || p[nh_pos] != 44)
		return -1;
	uint16_t fo = rd16(p + fh + 2);
	fi->k.ver = 6;
	fi->k.id = rd32(p + fh + 4);
	memcpy(fi->k.src, p + ip + 8, 16);
	memcpy(fi->k.dst, p + ip + 24, 16);
	fi->off = (uint32_t)(fo >> 3) * 8;
	fi->last = !(fo & 1);
	fi->v6_nh = p[fh];
	fi->nh_pos = nh_pos;
	fi->hdr_len = fh;
	fi->data = p + fh + 8;
	fi->len = end - (fh + 8);
	return 0;
}

/* 0 when fragment fi fits datagram g (no overlap, within its bounds);
 * *pos is where it goes in the sorted list. */
static int fits(const struct dgram *g, const struct fragin *fi, unsigned *pos)
{
	uint32_t end = fi->off + fi->len;
	if (!fi->len || (!fi->last && fi->len % 8) || end > IPDEFRAG_MAX_PAYLOAD ||
	    (g->ver == 4 && fi->ihl + end > 65535))
		return -1;
	if (g->nfrag >= IPDEFRAG_MAX_FRAGS)
		return -1;
	if (g->have_last && (end > g->total || (fi->last && end != g->total)))
		return -1;
	if (fi->last && !g->have_last && g->nfrag && g->f[g->nfrag - 1].off + g->f[g->nfrag - 1].len > end)
		return -1; /* data already held past this "last" fragment */
	if (fi->off == 0 && fi->hdr_len > IPDEFRAG_MAX_HDR)
		return -1;
	unsigned i = 0;
	while (i < g->nfrag && g->f[i].off < fi->off)
		i++;
	/* the neighbours on both sides must end before / start after it */
	if (i > 0 && g->f[i - 1].off + g->f[i - 1].len > fi->off)
		return -1;
	if (i < g->nfrag && g->f[i].off < end)
		return -1;
	*pos = i;
	return 0;
}

static void build(struct ipdefrag *d, struct dgram *g, struct ipdefrag_out *out)
{
	uint8_t *o = d->out;
	chunkpool_get(&d->pool, g->hdr, o, g->hdr_len);
	uint8_t *pay = o + g->hdr_len;
	for (unsigned i = 0; i < g->nfrag; i++)
		chunkpool_get(&d->pool, g->f[i].h, pay + g->f[i].off, g->f[i].len);
	uint8_t *ip = o + g->ip_off;
	if (g->ver == 4) {
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		wr16(ip + 2, (uint16_t)(ihl + g->total));
		wr16(ip + 6, (uint16_t)(rd16(ip + 6) & 0x4000)); /* DF stays */
		wr16(ip + 10, 0);
		uint32_t sum = 0;
		for (uint32_t i = 0; i < ihl; i += 2)
			sum += rd16(ip + i);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		wr16(ip + 10, (uint16_t)~sum);
	} else {
		o[g->nh_pos] = g->v6_nh;
		wr16(ip + 4, (uint16_t)(g->hdr_len - g->ip_off - 40 + g->total));
	}
	out->frame = o;
	out->len = g->hdr_len + g->total;
	out->wirelen = g->wirelen;
	out->fragments = g->nfrag - 1u;
	out->errors = g->nerr;
}

enum ipdefrag_res ipdefrag_add(struct ipdefrag *d, int linktype, const uint8_t *frame,
			       uint32_t caplen, uint32_t wirelen, const struct decode_seg *g,
			       uint64_t ts_ns, struct ipdefrag_out *out)
{
	d->st.fragments++;
	struct fragin fi;
	if (parse(linktype, frame, caplen, g, &fi)) {
		d->st.errors++;
		return IPDEFRAG_REFUSED;
	}
	uint64_t hkey = XXH3_64bits(&fi.k, sizeof(fi.k));
	hkey = hkey ? hkey : 1;
	uint32_t s = find(d, &fi.k, hkey);
	if (!s) {
		/* A fragment no datagram could take is refused before a slot is
		 * spent on it. */
		struct dgram probe;
		memset(&probe, 0, offsetof(struct dgram, f));
		probe.ver = fi.k.ver;
		unsigned pos;
		if (fits(&probe, &fi, &pos)) {
			d->st.errors++;
			return IPDEFRAG_REFUSED;
		}
		s = create(d, &fi.k, hkey, ts_ns);
		if (!s) {
			d->st.no_room++;
			return IPDEFRAG_REFUSED;
		}
	}
	struct dgram *dg = &d->slot[s];
	unsigned pos;
	if (fits(dg, &fi, &pos)) {
		dg->nerr++;
		d->st.errors++;
		return IPDEFRAG_REFUSED;
	}
	uint32_t need = chunkpool_chunks(fi.len) + (fi.off == 0 ? chunkpool_chunks(fi.hdr_len) : 0);
	if (need > d->pool.nchunks - d->pool.used) {
		d->st.no_room++;
		if (!dg->nfrag)
			dgram_free(d, s); /* nothing held: do not keep the slot */
		return IPDEFRAG_REFUSED;
	}
	uint32_t h = chunkpool_put(&d->pool, fi.data, fi.len);
	if (fi.off == 0) {
		dg->hdr = fi.hdr_len ? chunkpool_put(&d->pool, frame, fi.hdr_len) : 0;
		dg->hdr_len = (uint16_t)fi.hdr_len;
		dg->ip_off = (uint16_t)g->ip_off;
		dg->nh_pos = (uint16_t)fi.nh_pos;
		dg->v6_nh = fi.v6_nh;
	}
	memmove(&dg->f[pos + 1], &dg->f[pos], (dg->nfrag - pos) * sizeof(dg->f[0]));
	dg->f[pos] = (struct frag){.off = fi.off, .len = fi.len, .h = h};
	dg->nfrag++;
	dg->have += fi.len;
	dg->wirelen += wirelen;
	if (fi.last) {
		dg->have_last = 1;
		dg->total = fi.off + fi.len;
	}
	note_bytes(d);
	if (!dg->have_last || dg->have != dg->total)
		return IPDEFRAG_HELD;
	/* Sorted and without overlaps, so every byte of [0, total) is here. */
	build(d, dg, out);
	d->st.reassembled++;
	dgram_free(d, s);
	return IPDEFRAG_DONE;
}
