/* segment.c - the segment log: block writing (summary, zstd, XXH64), recovery at open,
 * the flusher thread, retention, and snapshot scans (format and rules in segment.h). */
#include "store/segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>
#include <zstd.h>

#include "common/log.h"
#include "store/raw_index.h"

#define SEG_DEFAULT_MS      (10 * 60 * 1000)
#define SEG_BLOCK_RECORDS   4096
#define SEG_BLOCK_RAW_BYTES (4u << 20)
#define SEG_ZSTD_LEVEL      1
#define SEG_BLOOM_PROBES    4
#define ERR_LOG_EVERY_MS    10000

/* ---- keys and summaries ------------------------------------------------------------- */

uint64_t seg_key_u64(char tag, uint64_t v)
{
	return XXH3_64bits_withSeed(&v, sizeof(v), (uint8_t)tag);
}

uint64_t seg_key_str(char tag, const char *s)
{
	return XXH3_64bits_withSeed(s ? s : "", s ? strlen(s) : 0, (uint8_t)tag);
}

uint64_t seg_key_ip(uint8_t ver, const uint8_t addr[16])
{
	return XXH3_64bits_withSeed(addr, ver == 4 ? 4 : 16, 'I');
}

static void bloom_set(uint8_t *b, uint32_t len, uint64_t key)
{
	uint64_t bits = (uint64_t)len * 8, h2 = (key >> 33) | 1;
	for (int i = 0; i < SEG_BLOOM_PROBES; i++) {
		uint64_t p = (key + (uint64_t)i * h2) & (bits - 1);
		b[p >> 3] |= (uint8_t)(1u << (p & 7));
	}
}

static int bloom_has(const uint8_t *b, uint32_t len, uint64_t key)
{
	if (!len)
		return 1; /* no summary: may hold anything */
	uint64_t bits = (uint64_t)len * 8, h2 = (key >> 33) | 1;
	for (int i = 0; i < SEG_BLOOM_PROBES; i++) {
		uint64_t p = (key + (uint64_t)i * h2) & (bits - 1);
		if (!(b[p >> 3] & (1u << (p & 7))))
			return 0;
	}
	return 1;
}

/* ---- block reading (shared by recovery, scans and the fuzzer) ------------------------ */

struct src {
	int fd;             /* or */
	const uint8_t *buf; /* a buffer of len bytes */
	uint64_t len;
};

static int src_read(const struct src *s, uint64_t off, void *dst, size_t n)
{
	if (off > s->len || n > s->len - off)
		return -EINVAL;
	if (s->buf) {
		memcpy(dst, s->buf + off, n);
		return 0;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(s->fd, (uint8_t *)dst + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return 0;
}

/* A header whose fields are in bounds (its lengths may still run past the file). */
static int hdr_plausible(const struct seg_block_hdr *h)
{
	if (h->magic != SEG_MAGIC || h->version < SEG_VERSION_MIN || h->version > SEG_VERSION)
		return 0;
	if (h->kind != SEG_KIND_FLOWS && h->kind != SEG_KIND_RAW)
		return 0;
	if (h->count == 0 || h->count > SEG_MAX_RECORDS || h->bloom_len > SEG_MAX_BLOOM ||
	    (h->bloom_len & (h->bloom_len - 1)) || h->payload_len > SEG_MAX_PAYLOAD ||
	    h->raw_len > SEG_MAX_RAW_PAYLOAD)
		return 0;
	return 1;
}

static uint64_t blk_len(const struct seg_block_hdr *h)
{
	return sizeof(*h) + (uint64_t)h->bloom_len + h->payload_len;
}

static uint64_t blk_checksum(const struct seg_block_hdr *h, const uint8_t *rest, size_t n)
{
	struct seg_block_hdr c = *h;
	c.checksum = 0;
	/* the header's hash seeds the rest's: one pass, no streaming state */
	return XXH64(rest, n, XXH64(&c, sizeof(c), SEG_MAGIC));
}

/* Reads and checks the block at off: 0 with *h and *rest (malloc'd summary + payload),
 * -EINVAL when it is not a good block, -ENOMEM, or a read error. */
static int blk_load(const struct src *s, uint64_t off, struct seg_block_hdr *h, uint8_t **rest)
{
	*rest = NULL;
	if (s->len - off < sizeof(*h))
		return -EINVAL;
	int rc = src_read(s, off, h, sizeof(*h));
	if (rc)
		return rc;
	if (!hdr_plausible(h) || blk_len(h) > s->len - off)
		return -EINVAL;
	size_t n = h->bloom_len + (size_t)h->payload_len;
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return -ENOMEM;
	if ((rc = src_read(s, off + sizeof(*h), b, n))) {
		free(b);
		return rc;
	}
	if (blk_checksum(h, b, n) != h->checksum) {
		free(b);
		return -EINVAL;
	}
	*rest = b;
	return 0;
}

/* The next offset after from where a good block starts, or -1. */
static int64_t find_next_block(const struct src *s, uint64_t from)
{
	uint8_t chunk[4096];
	for (uint64_t off = from; off + sizeof(struct seg_block_hdr) <= s->len;) {
		size_t n = s->len - off < sizeof(chunk) ? (size_t)(s->len - off) : sizeof(chunk);
		if (src_read(s, off, chunk, n))
			return -1;
		for (size_t i = 0; i + 4 <= n; i++) {
			uint32_t m;
			memcpy(&m, chunk + i, 4);
			if (m != SEG_MAGIC)
				continue;
			struct seg_block_hdr h;
			uint8_t *rest;
			if (blk_load(s, off + i, &h, &rest) == 0) {
				free(rest);
				return (int64_t)(off + i);
			}
		}
		if (n < 4)
			break;
		off += n - 3; /* a magic across the chunk boundary */
	}
	return -1;
}

typedef int (*blk_fn)(void *user, uint64_t off, const struct seg_block_hdr *h,
		      const uint8_t *rest);

/* Walks a file's blocks: fn per good block; bad blocks followed by a good one are
 * skipped (*corrupt counted, logged when name is given); *torn_off is where the torn
 * tail starts (-1: none). Returns the number of good blocks, -ENOMEM or fn's value. */
static int walk_blocks(const struct src *s, const char *name, blk_fn fn, void *user,
		       uint64_t *corrupt, int64_t *torn_off)
{
	int good = 0;
	*corrupt = 0;
	*torn_off = -1;
	for (uint64_t off = 0; off < s->len;) {
		struct seg_block_hdr h;
		uint8_t *rest;
		int rc = blk_load(s, off, &h, &rest);
		if (rc == 0) {
			rc = fn ? fn(user, off, &h, rest) : 0;
			free(rest);
			if (rc)
				return rc;
			good++;
			off += blk_len(&h);
			continue;
		}
		if (rc == -ENOMEM)
			return rc;
		int64_t next = find_next_block(s, off + 1);
		if (next < 0) {
			*torn_off = (int64_t)off;
			break;
		}
		(*corrupt)++;
		if (name)
			log_warn("store: %s: corrupted block at offset %" PRIu64
				 " skipped (%" PRId64 " bytes); the next good block is at %" PRId64,
				 name, off, next - (int64_t)off, next);
		off = (uint64_t)next;
	}
	return good;
}

struct read_ctx {
	int (*fn)(void *user, const struct seg_block_hdr *h, const uint8_t *payload);
	void *user;
};

static int read_cb(void *user, uint64_t off, const struct seg_block_hdr *h,
		   const uint8_t *rest)
{
	(void)off;
	struct read_ctx *c = user;
	uint8_t *p = malloc(h->raw_len ? h->raw_len : 1);
	if (!p)
		return -ENOMEM;
	size_t r = ZSTD_decompress(p, h->raw_len, rest + h->bloom_len, h->payload_len);
	int rc = 0;
	if (!ZSTD_isError(r) && r == h->raw_len && c->fn)
		rc = c->fn(c->user, h, p);
	free(p);
	return rc;
}

int seg_read_buf(const uint8_t *buf, size_t len,
		 int (*fn)(void *user, const struct seg_block_hdr *h, const uint8_t *payload),
		 void *user, uint64_t *corrupt, int64_t *torn_off)
{
	struct src s = {.fd = -1, .buf = buf ? buf : (const uint8_t *)"", .len = len};
	struct read_ctx c = {fn, user};
	return walk_blocks(&s, NULL, read_cb, &c, corrupt, torn_off);
}

int seg_read_file(int fd, int (*fn)(void *user, const struct seg_block_hdr *h,
				    const uint8_t *payload),
		  void *user, uint64_t *corrupt, int64_t *torn_off)
{
	struct stat st;
	if (fstat(fd, &st))
		return -errno;
	struct src s = {.fd = fd, .len = (uint64_t)st.st_size};
	struct read_ctx c = {fn, user};
	return walk_blocks(&s, NULL, read_cb, &c, corrupt, torn_off);
}

/* ---- the log ------------------------------------------------------------------------ */

/* A block's place and header. Its summary stays on disk: a scan maps the file and
 * tests the few bits a key needs there (page cache, not the heap), so memory per block
 * is this struct whatever the summaries weigh (~7 bytes a flow state on disk). */
struct seg_block {
	uint64_t off;
	struct seg_block_hdr h;
};

struct seg_file {
	int refs; /* the log's (while listed) + one per scan snapshot */
	int fd;
	char *path;
	int64_t first_ms;
	uint64_t size; /* bytes of good blocks (where the next one goes) */
	struct seg_block *b;
	uint32_t nb, cap;
	uint64_t flow_records, raw_records;
	int64_t min_time, max_time;
	int64_t raw_max_ingest; /* of its raw blocks: raw_index_prune at its eviction */
	int dirty; /* written since the last sync */
	int raw;   /* a .raw file (raw blocks only) */
};

struct seglog {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pthread_t thr;
	int has_thr, stop;
	struct seglog_opts o;
	char *dir;
	struct seg_file **segs; /* oldest first; the last one is written */
	size_t nsegs, segcap;
	struct seg_file **rsegs; /* the .raw files, the same way */
	size_t nrsegs, rsegcap;
	struct raw_index ridx; /* last raw Index per flow held */
	ZSTD_DCtx *dctx;       /* open: the raw blocks' headers for ridx */
	/* the active blocks */
	struct flow_rec *af;
	size_t naf, afcap;
	struct frec_dict dict;
	struct raw_rec *ar;
	size_t nar, arcap;
	uint8_t *ard;
	size_t ardlen, ardcap;
	uint32_t *aroff;   /* where each active raw record's bytes are in ard */
	size_t aroffcap;
	uint32_t *arset;   /* frames of the active block by hash: index + 1, 0 = empty */
	size_t arsetn;     /* slots (a power of two, twice the records a block takes) */
	int64_t a_min_ingest[3], a_max_ingest[3]; /* by kind */
	/* scratch of the writer */
	uint8_t *pbuf, *wbuf;
	size_t pcap, wcap;
	uint64_t *keys, *kset;
	size_t keycap, ksetcap;
	const char *last_str[FREC_NSTR]; /* the dictionary's copy of the last string of each */
	int last_id[FREC_NSTR];          /* kind, so a run of records from one capture skips
					  * the hashing */
	ZSTD_CCtx *cctx;
	struct seglog_stats st; /* counters; the sums are made by seglog_stats */
	int64_t last_err_log;
};

static void seg_unref(struct seg_file *f)
{
	if (!f || --f->refs > 0)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->b);
	free(f->path);
	free(f);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Lock held (or at open). */
static int seg_add_block(struct seg_file *f, uint64_t off, const struct seg_block_hdr *h)
{
	if (f->nb == f->cap) {
		uint32_t nc = f->cap ? f->cap * 2 : 16;
		struct seg_block *nb = realloc(f->b, nc * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		f->b = nb;
		f->cap = nc;
	}
	f->b[f->nb++] = (struct seg_block){.off = off, .h = *h};
	if (h->kind == SEG_KIND_FLOWS) {
		f->flow_records += h->count;
		if (!f->min_time || h->min_time < f->min_time)
			f->min_time = h->min_time;
		if (h->max_time > f->max_time)
			f->max_time = h->max_time;
	} else {
		f->raw_records += h->count;
		if (h->max_ingest > f->raw_max_ingest)
			f->raw_max_ingest = h->max_ingest;
	}
	return 0;
}

static int grow_buf(void *pp, size_t *cap, size_t need, size_t elem);

/* Notes the flows' last Index from a raw block's headers, the payload's first part: only
 * that much is decompressed (open costs the packets' count, not their bytes). A block
 * that does not decode adds nothing (a scan skips it too). */
static void raw_index_block(struct seglog *l, const struct seg_block_hdr *h, const uint8_t *rest)
{
	size_t need = (size_t)h->count * sizeof(struct raw_rec);
	if (!need || need > h->raw_len || !l->dctx || grow_buf(&l->pbuf, &l->pcap, need, 1))
		return;
	ZSTD_DCtx_reset(l->dctx, ZSTD_reset_session_only);
	ZSTD_inBuffer in = {rest + h->bloom_len, h->payload_len, 0};
	ZSTD_outBuffer out = {l->pbuf, need, 0};
	while (out.pos < need) {
		size_t before = out.pos + in.pos;
		size_t r = ZSTD_decompressStream(l->dctx, &out, &in);
		if (ZSTD_isError(r) || out.pos + in.pos == before)
			return;
	}
	const struct raw_rec *hdr = (const struct raw_rec *)(const void *)l->pbuf;
	for (uint32_t i = 0; i < h->count; i++)
		/* out of memory: that flow may number from less than it should (logged once
		 * by nobody: the packets are all there, only a later Index may repeat) */
		(void)raw_index_note(&l->ridx, hdr[i].uuid, hdr[i].index, h->max_ingest);
}

struct open_ctx {
	struct seglog *l;
	struct seg_file *f;
};

static int open_cb(void *user, uint64_t off, const struct seg_block_hdr *h,
		   const uint8_t *rest)
{
	struct open_ctx *c = user;
	if (h->kind == SEG_KIND_RAW)
		raw_index_block(c->l, h, rest);
	return seg_add_block(c->f, off, h);
}

static struct seg_file *seg_new(const char *path, int64_t first_ms, int fd)
{
	struct seg_file *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return NULL;
	}
	f->refs = 1;
	f->fd = fd;
	f->first_ms = first_ms;
	return f;
}

/* Recovers one file into a segment (NULL when it cannot be opened: logged). */
static struct seg_file *seg_load(struct seglog *l, const char *path, int64_t first_ms)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		log_warn("store: cannot open %s: %s (segment not served)", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	struct seg_file *f = fstat(fd, &st) ? NULL : seg_new(path, first_ms, fd);
	if (!f) {
		close(fd);
		return NULL;
	}
	struct src s = {.fd = fd, .len = (uint64_t)st.st_size};
	struct open_ctx c = {l, f};
	uint64_t corrupt;
	int64_t torn;
	int rc = walk_blocks(&s, path, open_cb, &c, &corrupt, &torn);
	if (rc < 0) {
		log_warn("store: %s: %s while reading (segment not served)", path, strerror(-rc));
		seg_unref(f);
		return NULL;
	}
	l->st.corrupt_blocks += corrupt;
	f->size = (uint64_t)st.st_size;
	if (torn >= 0) {
		log_warn("store: %s: torn tail cut at offset %" PRId64 " (%" PRIu64
			 " bytes after the last good block)",
			 path, torn, (uint64_t)st.st_size - (uint64_t)torn);
		l->st.torn_bytes += (uint64_t)st.st_size - (uint64_t)torn;
		if (ftruncate(fd, torn))
			log_warn("store: %s: cannot cut at %" PRId64 ": %s", path, torn,
				 strerror(errno));
		f->size = (uint64_t)torn;
	}
	return f;
}

/* "<ms>.seg" (*raw = 0) or "<ms>.raw" (1); -1 for any other name. */
static int name_ms(const char *name, int64_t *ms, int *raw)
{
	char *end;
	errno = 0;
	long long v = strtoll(name, &end, 10);
	if (errno || end == name || (strcmp(end, ".seg") && strcmp(end, ".raw")) || v < 0)
		return -1;
	*ms = v;
	*raw = !strcmp(end, ".raw");
	return 0;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg_file *x = *(struct seg_file *const *)a, *y = *(struct seg_file *const *)b;
	return x->first_ms < y->first_ms ? -1 : x->first_ms > y->first_ms;
}

/* Appends f to its list (l->segs or, for a .raw file, l->rsegs). */
static int segs_push(struct seglog *l, struct seg_file *f)
{
	struct seg_file ***v = f->raw ? &l->rsegs : &l->segs;
	size_t *n = f->raw ? &l->nrsegs : &l->nsegs, *cap = f->raw ? &l->rsegcap : &l->segcap;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct seg_file **nv = realloc(*v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = f;
	return 0;
}

static void *flusher(void *arg);

static int mkdir_p(const char *dir)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

struct seglog *seglog_open(const struct seglog_opts *o, char *err, size_t errlen)
{
	struct seglog *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->o = *o;
	if (l->o.segment_ms <= 0)
		l->o.segment_ms = SEG_DEFAULT_MS;
	if (!l->o.block_records || l->o.block_records > SEG_MAX_RECORDS / 2)
		l->o.block_records = SEG_BLOCK_RECORDS;
	if (!l->o.block_raw_bytes || l->o.block_raw_bytes > SEG_MAX_RAW_PAYLOAD / 2)
		l->o.block_raw_bytes = SEG_BLOCK_RAW_BYTES;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->dir = strdup(o->dir ? o->dir : "");
	l->o.dir = l->dir;
	l->cctx = ZSTD_createCCtx();
	l->dctx = ZSTD_createDCtx();
	if (!l->dir || !l->cctx || !l->dctx) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int rc = mkdir_p(l->dir);
	DIR *d = rc ? NULL : opendir(l->dir);
	if (!d) {
		snprintf(err, errlen, "cannot use %s for the flow store: %s", l->dir,
			 strerror(rc ? -rc : errno));
		goto fail;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		int64_t ms;
		int raw;
		if (name_ms(de->d_name, &ms, &raw))
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", l->dir, de->d_name);
		struct seg_file *f = seg_load(l, path, ms);
		if (f)
			f->raw = raw;
		if (f && segs_push(l, f)) {
			seg_unref(f);
			closedir(d);
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	closedir(d);
	if (l->nsegs)
		qsort(l->segs, l->nsegs, sizeof(*l->segs), seg_cmp);
	if (l->nrsegs)
		qsort(l->rsegs, l->nrsegs, sizeof(*l->rsegs), seg_cmp);
	ZSTD_freeDCtx(l->dctx); /* only open reads the headers */
	l->dctx = NULL;
	uint64_t recs = 0, raws = 0, bytes = 0;
	for (size_t i = 0; i < l->nsegs; i++) {
		recs += l->segs[i]->flow_records;
		raws += l->segs[i]->raw_records;
		bytes += l->segs[i]->size;
	}
	for (size_t i = 0; i < l->nrsegs; i++) {
		raws += l->rsegs[i]->raw_records;
		bytes += l->rsegs[i]->size;
	}
	log_info("store: %zu segments, %zu raw files, %" PRIu64 " flow states, %" PRIu64
		 " raw packets of %zu flows, %" PRIu64 " bytes in %s",
		 l->nsegs, l->nrsegs, recs, raws, l->ridx.n, bytes, l->dir);
	if (!o->no_thread) {
		if (pthread_create(&l->thr, NULL, flusher, l)) {
			snprintf(err, errlen, "cannot start the flow store's flusher thread");
			goto fail;
		}
		l->has_thr = 1;
	}
	return l;
fail:
	seglog_close(l);
	return NULL;
}

/* ---- writing ------------------------------------------------------------------------ */

static void note_error(struct seglog *l, const char *path, int err, uint32_t count)
{
	l->st.write_errors++;
	snprintf(l->st.last_error, sizeof(l->st.last_error), "%s: %s", path ? path : l->dir,
		 strerror(err));
	int64_t now = wall_ms();
	if (now - l->last_err_log >= ERR_LOG_EVERY_MS) {
		l->last_err_log = now;
		log_warn("store: cannot write %s: %s (%u records dropped; %" PRIu64
			 " write errors so far; writing resumes when it can)",
			 path ? path : l->dir, strerror(err), count, l->st.write_errors);
	}
}

/* A .raw file takes no more blocks once it holds a quarter of raw_max_bytes, so the
 * raw retention removes packets by quarters of its bound, not by whole time slices. */
static uint64_t raw_roll_bytes(const struct seglog *l)
{
	return l->o.raw_max_bytes ? (l->o.raw_max_bytes + 3) / 4 : UINT64_MAX;
}

/* The segment (raw: the .raw file) for records received at now_ms: the last one while
 * its slice lasts (or when the clock went back) and, for raw, while it is under
 * raw_roll_bytes; else a new file. NULL on error (counted by the caller). */
static struct seg_file *cur_seg(struct seglog *l, int raw, int64_t now_ms, int *err)
{
	size_t n = raw ? l->nrsegs : l->nsegs;
	struct seg_file *c = n ? (raw ? l->rsegs : l->segs)[n - 1] : NULL;
	int64_t slice = now_ms - now_ms % l->o.segment_ms, name = slice;
	if (c && raw) {
		int64_t cslice = c->first_ms - c->first_ms % l->o.segment_ms;
		if (slice <= cslice && c->size < raw_roll_bytes(l))
			return c;
		if (name <= c->first_ms) /* rolled within its slice: the next name */
			name = c->first_ms + 1;
	} else if (c && slice <= c->first_ms) {
		return c;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/%" PRId64 "%s", l->dir, name, raw ? ".raw" : ".seg");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	struct seg_file *f = seg_new(path, name, fd);
	if (f)
		f->raw = raw;
	if (!f || segs_push(l, f)) {
		if (f)
			seg_unref(f);
		else
			close(fd);
		*err = ENOMEM;
		return NULL;
	}
	int dfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) { /* the new name itself durable */
		fsync(dfd);
		close(dfd);
	}
	if (c && c->dirty && !fdatasync(c->fd))
		c->dirty = 0;
	return f;
}

static int grow_buf(void *pp, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *n = realloc(*(void **)pp, nc * elem);
	if (!n)
		return -ENOMEM;
	*(void **)pp = n;
	*cap = nc;
	return 0;
}

size_t seg_flow_keys(const struct flow_rec *r, const char *const str[FREC_NSTR], uint64_t *k)
{
	size_t n = 0;
	k[n++] = seg_key_u64(SEG_TAG_UUID, r->uuid);
	k[n++] = seg_key_u64(SEG_TAG_L2, r->l2);
	k[n++] = seg_key_u64(SEG_TAG_L3, r->l3);
	k[n++] = seg_key_str(SEG_TAG_NODE, str[FREC_S_NODE]);
	k[n++] = seg_key_str(SEG_TAG_APP, str[FREC_S_APP]);
	if (r->ip_ver) {
		k[n++] = seg_key_ip(r->ip_ver, r->net_a);
		k[n++] = seg_key_ip(r->ip_ver, r->net_b);
	}
	if (r->tproto) {
		k[n++] = seg_key_u64(SEG_TAG_PORT, r->tp_a);
		k[n++] = seg_key_u64(SEG_TAG_PORT, r->tp_b);
	}
	return n;
}

static size_t flow_keys(const struct flow_rec *r, const struct frec_dict *d, uint64_t *k)
{
	const char *str[FREC_NSTR];
	for (int i = 0; i < FREC_NSTR; i++)
		str[i] = frec_dict_get(d, r->str[i]);
	return seg_flow_keys(r, str, k);
}

/* Removes repeated keys in place (a node, an application, a server address come back
 * in most records): a hash set in the writer's scratch, O(n) where a sort cost more
 * than the rest of the block's work. Returns the keys kept. Lock held. */
static size_t uniq_keys(struct seglog *l, uint64_t *keys, size_t n)
{
	size_t ns = 64;
	while (ns < n * 2)
		ns *= 2;
	if (grow_buf(&l->kset, &l->ksetcap, ns, sizeof(uint64_t))) {
		/* no room for the set: keep them all (a larger summary, still right) */
		return n;
	}
	uint64_t *set = l->kset;
	memset(set, 0, ns * sizeof(*set));
	size_t u = 0;
	int zero = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = keys[i];
		if (!k) { /* 0 marks an empty slot */
			if (!zero)
				keys[u++] = k;
			zero = 1;
			continue;
		}
		size_t h = (size_t)(k * 0x9e3779b97f4a7c15ull >> 20) & (ns - 1);
		while (set[h] && set[h] != k)
			h = (h + 1) & (ns - 1);
		if (set[h])
			continue;
		set[h] = k;
		keys[u++] = k;
	}
	return u;
}

/* Writes the payload p (raw_len bytes) as one block of kind with the keys' summary.
 * Lock held. 0 or -errno (counted). */
static int write_block(struct seglog *l, uint16_t kind, uint32_t count, const uint8_t *p,
		       size_t raw_len, uint64_t *keys, size_t nkeys, int64_t tmin, int64_t tmax,
		       int64_t imin, int64_t imax, int64_t now_ms)
{
	size_t u = uniq_keys(l, keys, nkeys);
	uint32_t bloom_len = 64;
	while ((uint64_t)bloom_len * 8 < u * 10 && bloom_len < SEG_MAX_BLOOM)
		bloom_len *= 2;
	size_t bound = ZSTD_compressBound(raw_len);
	if (grow_buf(&l->wbuf, &l->wcap, sizeof(struct seg_block_hdr) + bloom_len + bound, 1))
		return -ENOMEM;
	struct seg_block_hdr h = {.magic = SEG_MAGIC,
				  .version = SEG_VERSION,
				  .kind = kind,
				  .count = count,
				  .bloom_len = bloom_len,
				  .raw_len = (uint32_t)raw_len,
				  .min_time = tmin,
				  .max_time = tmax,
				  .min_ingest = imin,
				  .max_ingest = imax};
	uint8_t *bloom = l->wbuf + sizeof(h);
	memset(bloom, 0, bloom_len);
	for (size_t i = 0; i < u; i++)
		bloom_set(bloom, bloom_len, keys[i]);
	size_t c = ZSTD_compressCCtx(l->cctx, bloom + bloom_len, bound, p, raw_len,
				     SEG_ZSTD_LEVEL);
	if (ZSTD_isError(c))
		return -EINVAL;
	h.payload_len = (uint32_t)c;
	h.checksum = blk_checksum(&h, bloom, bloom_len + c);
	memcpy(l->wbuf, &h, sizeof(h));
	int err = 0;
	struct seg_file *f = cur_seg(l, kind == SEG_KIND_RAW, now_ms, &err);
	if (!f) {
		note_error(l, NULL, err, count);
		return -err;
	}
	size_t total = sizeof(h) + bloom_len + c, done = 0;
	while (done < total) {
		ssize_t w = pwrite(f->fd, l->wbuf + done, total - done, (off_t)(f->size + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? errno : ENOSPC;
			break;
		}
		done += (size_t)w;
	}
	if (err) {
		/* back to the last good block, so the file stays readable */
		if (ftruncate(f->fd, (off_t)f->size))
			log_warn("store: %s: cannot cut back to %" PRIu64 ": %s", f->path, f->size,
				 strerror(errno));
		note_error(l, f->path, err, count);
		return -err;
	}
	if (seg_add_block(f, f->size, &h)) {
		/* written but not indexed: served after the next restart */
		f->size += total;
		return -ENOMEM;
	}
	f->size += total;
	f->dirty = 1;
	return 0;
}

/* Writes the active flow block, into the segment of its records' ingest time (not the
 * time of the flush). Lock held. */
static int seal_flows(struct seglog *l, int64_t now_ms)
{
	(void)now_ms;
	if (!l->naf)
		return 0;
	size_t need = frec_flows_bound(&l->dict, l->naf);
	int rc = grow_buf(&l->pbuf, &l->pcap, need, 1);
	if (!rc)
		rc = grow_buf(&l->keys, &l->keycap, l->naf * SEG_FLOW_KEYS_MAX, sizeof(uint64_t));
	if (!rc) {
		size_t len = frec_encode_flows(&l->dict, l->af, l->naf, l->pbuf);
		size_t nk = 0;
		int64_t tmin = INT64_MAX, tmax = INT64_MIN;
		for (size_t i = 0; i < l->naf; i++) {
			nk += flow_keys(&l->af[i], &l->dict, l->keys + nk);
			if (l->af[i].start < tmin)
				tmin = l->af[i].start;
			if (l->af[i].last > tmax)
				tmax = l->af[i].last;
		}
		rc = write_block(l, SEG_KIND_FLOWS, (uint32_t)l->naf, l->pbuf, len, l->keys, nk,
				 tmin, tmax, l->a_min_ingest[SEG_KIND_FLOWS],
				 l->a_max_ingest[SEG_KIND_FLOWS], l->a_max_ingest[SEG_KIND_FLOWS]);
	}
	if (rc)
		l->st.dropped_flows += l->naf;
	l->naf = 0;
	frec_dict_reset(&l->dict);
	memset(l->last_str, 0, sizeof(l->last_str));
	return rc;
}

static int seal_raw(struct seglog *l, int64_t now_ms)
{
	(void)now_ms;
	if (!l->nar)
		return 0;
	size_t hl = l->nar * sizeof(struct raw_rec);
	int rc = grow_buf(&l->pbuf, &l->pcap, hl + l->ardlen, 1);
	if (!rc)
		rc = grow_buf(&l->keys, &l->keycap, l->nar, sizeof(uint64_t));
	if (!rc) {
		memcpy(l->pbuf, l->ar, hl);
		memcpy(l->pbuf + hl, l->ard, l->ardlen);
		int64_t tmin = INT64_MAX, tmax = INT64_MIN;
		for (size_t i = 0; i < l->nar; i++) {
			l->keys[i] = seg_key_u64(SEG_TAG_UUID, l->ar[i].uuid);
			int64_t t = l->ar[i].ts_ns / 1000000;
			if (t < tmin)
				tmin = t;
			if (t > tmax)
				tmax = t;
		}
		rc = write_block(l, SEG_KIND_RAW, (uint32_t)l->nar, l->pbuf, hl + l->ardlen,
				 l->keys, l->nar, tmin, tmax, l->a_min_ingest[SEG_KIND_RAW],
				 l->a_max_ingest[SEG_KIND_RAW], l->a_max_ingest[SEG_KIND_RAW]);
	}
	if (rc)
		l->st.dropped_raw += l->nar;
	l->nar = 0;
	l->ardlen = 0;
	if (l->arset)
		memset(l->arset, 0, l->arsetn * sizeof(*l->arset));
	return rc;
}

static void note_ingest(struct seglog *l, int kind, size_t n_before, int64_t now_ms)
{
	if (!n_before || now_ms < l->a_min_ingest[kind])
		l->a_min_ingest[kind] = now_ms;
	if (!n_before || now_ms > l->a_max_ingest[kind])
		l->a_max_ingest[kind] = now_ms;
}

int seglog_append_flow(struct seglog *l, const struct flow_rec *r,
		       const char *const strs[FREC_NSTR], int64_t now_ms)
{
	pthread_mutex_lock(&l->lock);
	int rc = 0, taken = 0;
	for (int pass = 0; pass < 2; pass++) {
		if (grow_buf(&l->af, &l->afcap, l->naf + 1, sizeof(*l->af))) {
			rc = -ENOMEM;
			break;
		}
		int id[FREC_NSTR], full = 0;
		for (int k = 0; k < FREC_NSTR && !full; k++) {
			const char *str = strs ? strs[k] : NULL;
			if (!str || !*str) {
				id[k] = 0;
				continue;
			}
			if (l->last_str[k] && !strcmp(l->last_str[k], str)) {
				id[k] = l->last_id[k];
				continue;
			}
			id[k] = frec_dict_add(&l->dict, str);
			if (id[k] > 0) {
				l->last_str[k] = frec_dict_get(&l->dict, (uint32_t)id[k]);
				l->last_id[k] = id[k];
			}
			if (id[k] == -ENOSPC)
				full = 1;
			else if (id[k] < 0)
				rc = -ENOMEM;
		}
		if (rc)
			break;
		if (full) { /* a full dictionary ends the block */
			if (pass == 0) {
				rc = seal_flows(l, now_ms);
				if (rc == -ENOMEM)
					break;
				rc = 0;
				continue;
			}
			rc = -ENOSPC; /* strings too large for any block */
			break;
		}
		note_ingest(l, SEG_KIND_FLOWS, l->naf, now_ms);
		struct flow_rec *d = &l->af[l->naf++];
		*d = *r;
		for (int k = 0; k < FREC_NSTR; k++)
			d->str[k] = (uint16_t)id[k];
		taken = 1; /* from here a failure is the block's, counted by seal_flows */
		if (l->naf >= l->o.block_records)
			rc = seal_flows(l, now_ms);
		break;
	}
	if (rc && !taken)
		l->st.dropped_flows++;
	if (rc && rc != -EIO && rc != -ENOSPC && rc != -ENOMEM)
		rc = -EIO;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* The record of the active block holding the same frame as (h, data), or -1. With
 * *slot the place to remember this one when it is new. Lock held. */
static ssize_t raw_find(struct seglog *l, const struct raw_rec *h, const uint8_t *data,
			size_t *slot)
{
	uint64_t k = XXH3_64bits_withSeed(data, h->caplen, (uint64_t)h->ts_ns);
	size_t m = l->arsetn - 1, i = (size_t)k & m;
	for (; l->arset[i]; i = (i + 1) & m) {
		const struct raw_rec *o = &l->ar[l->arset[i] - 1];
		if (o->ts_ns == h->ts_ns && o->caplen == h->caplen && o->wirelen == h->wirelen &&
		    o->linktype == h->linktype &&
		    (!h->caplen || !memcmp(l->ard + l->aroff[l->arset[i] - 1], data, h->caplen)))
			return (ssize_t)l->arset[i] - 1;
	}
	*slot = i;
	return -1;
}

int seglog_append_raw(struct seglog *l, const struct raw_rec *h, const uint8_t *data,
		      int64_t now_ms)
{
	pthread_mutex_lock(&l->lock);
	int rc = 0;
	size_t max = l->o.block_records * 4u;
	if (!l->arset) {
		size_t n = 64;
		while (n < max * 2)
			n *= 2;
		if ((l->arset = calloc(n, sizeof(*l->arset))))
			l->arsetn = n;
	}
	/* a block is at most a .raw file's share of raw_max_bytes too (headers counted), so
	 * the raw bound holds to within a block however large the blocks may be */
	uint64_t lim = raw_roll_bytes(l) < l->o.block_raw_bytes ? raw_roll_bytes(l)
								 : l->o.block_raw_bytes;
	if (l->nar && (l->nar + 1) * sizeof(struct raw_rec) + l->ardlen + h->caplen > lim)
		rc = seal_raw(l, now_ms);
	if (h->caplen > l->o.block_raw_bytes) {
		l->st.dropped_raw++;
		rc = -ENOSPC;
	} else if (!l->arset || grow_buf(&l->ar, &l->arcap, l->nar + 1, sizeof(*l->ar)) ||
		   grow_buf(&l->aroff, &l->aroffcap, l->nar + 1, sizeof(*l->aroff)) ||
		   grow_buf(&l->ard, &l->ardcap, l->ardlen + h->caplen, 1)) {
		l->st.dropped_raw++;
		rc = -ENOMEM;
	} else {
		rc = 0;
		size_t slot = 0;
		ssize_t same = raw_find(l, h, data, &slot);
		note_ingest(l, SEG_KIND_RAW, l->nar, now_ms);
		struct raw_rec *d = &l->ar[l->nar];
		*d = *h;
		d->pad = 0;
		if (same >= 0) {
			d->ref = (uint32_t)same + 1; /* the frame once, however many flows keep it */
		} else {
			d->ref = 0;
			l->aroff[l->nar] = (uint32_t)l->ardlen;
			if (h->caplen)
				memcpy(l->ard + l->ardlen, data, h->caplen);
			l->ardlen += h->caplen;
			l->arset[slot] = (uint32_t)l->nar + 1;
		}
		l->nar++;
		/* out of memory: this flow may number from less after a restart */
		(void)raw_index_note(&l->ridx, h->uuid, h->index, now_ms);
		if (l->nar >= max)
			rc = seal_raw(l, now_ms);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* Writes the active blocks and syncs the written segments (outside the lock: a slow
 * disk does not hold up the writers longer than the write itself). */
static int flush(struct seglog *l, int64_t now_ms)
{
	pthread_mutex_lock(&l->lock);
	int rc = seal_flows(l, now_ms);
	int r2 = seal_raw(l, now_ms);
	if (!rc)
		rc = r2;
	struct seg_file *sync[4];
	size_t ns = 0;
	for (int raw = 0; raw < 2 && l->o.fsync_ms != SEG_FSYNC_NEVER; raw++) {
		struct seg_file **v = raw ? l->rsegs : l->segs;
		for (size_t i = raw ? l->nrsegs : l->nsegs, k = 0; i-- > 0 && k < 2; k++) {
			if (!v[i]->dirty)
				continue;
			v[i]->dirty = 0;
			v[i]->refs++;
			sync[ns++] = v[i];
		}
	}
	pthread_mutex_unlock(&l->lock);
	for (size_t i = 0; i < ns; i++) {
		if (fdatasync(sync[i]->fd) && !rc)
			rc = -errno;
		pthread_mutex_lock(&l->lock);
		seg_unref(sync[i]);
		pthread_mutex_unlock(&l->lock);
	}
	return rc;
}

int seglog_commit(struct seglog *l)
{
	return l->o.fsync_ms == SEG_FSYNC_ALWAYS ? flush(l, wall_ms()) : 0;
}

int seglog_flush(struct seglog *l)
{
	return flush(l, wall_ms());
}

/* Removes the oldest segment of its list (raw: l->rsegs) and returns its size. Lock
 * held. */
static uint64_t evict(struct seglog *l, int raw, const char *why)
{
	struct seg_file **v = raw ? l->rsegs : l->segs;
	size_t *n = raw ? &l->nrsegs : &l->nsegs;
	struct seg_file *f = v[0];
	uint64_t size = f->size;
	log_info("store: %s removed (%s: %" PRIu64 " bytes, %" PRIu64 " flow states, %" PRIu64
		 " raw packets)",
		 f->path, why, f->size, f->flow_records, f->raw_records);
	if (unlink(f->path))
		log_warn("store: cannot remove %s: %s", f->path, strerror(errno));
	l->st.evicted_segments++;
	l->st.evicted_bytes += f->size;
	l->st.evicted_records += f->flow_records + f->raw_records;
	if (raw) {
		l->st.evicted_raw_segments++;
		l->st.evicted_raw_bytes += f->size;
	}
	l->st.evicted_raw_records += f->raw_records;
	/* the flows whose last packet went with it number from 1 again: none of theirs is
	 * left to repeat (raw records are appended in ingest order) */
	if (f->raw_records)
		raw_index_prune(&l->ridx, f->raw_max_ingest);
	memmove(v, v + 1, (*n - 1) * sizeof(*v));
	(*n)--;
	seg_unref(f);
	return size;
}

static uint64_t list_bytes(struct seg_file *const *v, size_t n)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += v[i]->size;
	return total;
}

/* Oldest first, never the file being written of either list. */
static void retention(struct seglog *l, int64_t now_ms)
{
	pthread_mutex_lock(&l->lock);
	for (int raw = 0; raw < 2 && l->o.max_age_ms > 0; raw++) {
		struct seg_file **v = raw ? l->rsegs : l->segs;
		size_t *n = raw ? &l->nrsegs : &l->nsegs;
		while (*n > 1 && v[0]->first_ms + l->o.segment_ms < now_ms - l->o.max_age_ms)
			evict(l, raw, "older than analyzer.storage.max_age");
	}
	if (l->o.raw_max_bytes) {
		uint64_t total = list_bytes(l->rsegs, l->nrsegs);
		while (l->nrsegs > 1 && total > l->o.raw_max_bytes)
			total -= evict(l, 1, "raw packets beyond analyzer.flow.raw_max_bytes");
	}
	if (l->o.max_bytes) {
		uint64_t total = list_bytes(l->segs, l->nsegs) + list_bytes(l->rsegs, l->nrsegs);
		while (total > l->o.max_bytes && (l->nsegs > 1 || l->nrsegs > 1)) {
			/* the older head of the two lists */
			int raw = l->nsegs <= 1 ||
				  (l->nrsegs > 1 && l->rsegs[0]->first_ms < l->segs[0]->first_ms);
			total -= evict(l, raw, "beyond analyzer.storage.max_bytes");
		}
	}
	pthread_mutex_unlock(&l->lock);
}

void seglog_tick(struct seglog *l, int64_t now_ms)
{
	flush(l, now_ms);
	retention(l, now_ms);
}

static void *flusher(void *arg)
{
	struct seglog *l = arg;
	int64_t period = l->o.fsync_ms > 0 ? l->o.fsync_ms : 1000;
	pthread_mutex_lock(&l->lock);
	while (!l->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = ts.tv_nsec + (period % 1000) * 1000000;
		ts.tv_sec += period / 1000 + ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&l->cv, &l->lock, &ts);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->lock);
		seglog_tick(l, wall_ms());
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

void seglog_close(struct seglog *l)
{
	if (!l)
		return;
	if (l->has_thr) {
		pthread_mutex_lock(&l->lock);
		l->stop = 1;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thr, NULL);
	}
	if (l->cctx && l->dir)
		flush(l, wall_ms());
	for (size_t i = 0; i < l->nsegs; i++)
		seg_unref(l->segs[i]);
	free(l->segs);
	for (size_t i = 0; i < l->nrsegs; i++)
		seg_unref(l->rsegs[i]);
	free(l->rsegs);
	raw_index_free(&l->ridx);
	ZSTD_freeDCtx(l->dctx);
	free(l->af);
	frec_dict_free(&l->dict);
	free(l->ar);
	free(l->ard);
	free(l->aroff);
	free(l->arset);
	free(l->pbuf);
	free(l->wbuf);
	free(l->keys);
	free(l->kset);
	ZSTD_freeCCtx(l->cctx);
	free(l->dir);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* ---- scans -------------------------------------------------------------------------- */

struct snap_blk {
	struct seg_file *f;
	struct seg_block b;
};

static int blk_wanted(const struct seg_block *b, const struct seg_pred *p, seg_flows_fn ff,
		      seg_raw_fn rf)
{
	if (b->h.kind == SEG_KIND_FLOWS ? !ff : !rf)
		return 0;
	if (!p)
		return 1;
	if (b->h.kind == SEG_KIND_FLOWS && p->to &&
	    (b->h.min_time > p->to || b->h.max_time < p->from))
		return 0;
	if (p->ingest_from && b->h.max_ingest < p->ingest_from)
		return 0;
	return 1;
}

/* The summary test of a block whose file is mapped at map (NULL: cannot tell, so it
 * may match). */
static int blk_keys_match(const struct seg_block *b, const uint8_t *map, const struct seg_pred *p)
{
	if (!p || !map)
		return 1;
	const uint8_t *bloom = map + b->off + sizeof(struct seg_block_hdr);
	for (size_t g = 0; g < p->ngroups; g++) {
		int any = 0;
		for (size_t i = 0; i < p->g[g].n && !any; i++)
			any = bloom_has(bloom, b->h.bloom_len, p->g[g].keys[i]);
		if (!any)
			return 0;
	}
	return 1;
}

static int scan_block(const struct snap_blk *sb, seg_flows_fn ff, seg_raw_fn rf, void *user,
		      struct seg_scan_stats *st)
{
	const struct seg_block_hdr *h = &sb->b.h;
	struct src s = {.fd = sb->f->fd, .len = sb->b.off + blk_len(h)};
	struct seg_block_hdr hh;
	uint8_t *rest, *p = NULL;
	int rc = blk_load(&s, sb->b.off, &hh, &rest);
	if (rc == -ENOMEM)
		return rc;
	if (rc || memcmp(&hh, h, sizeof(hh))) {
		if (!rc)
			free(rest);
		st->errors++;
		return 0;
	}
	st->blocks_read++;
	if (!(p = malloc(h->raw_len ? h->raw_len : 1))) {
		free(rest);
		return -ENOMEM;
	}
	size_t r = ZSTD_decompress(p, h->raw_len, rest + h->bloom_len, h->payload_len);
	free(rest);
	if (ZSTD_isError(r) || r != h->raw_len) {
		st->errors++;
		free(p);
		return 0;
	}
	if (h->kind == SEG_KIND_FLOWS) {
		struct frec_flows fl;
		rc = frec_decode_flows_v(p, r, h->count, h->version, &fl);
		if (rc == 0) {
			st->records += fl.n;
			rc = ff(user, fl.rec, fl.n, &fl.dict);
			frec_flows_free(&fl);
		} else if (rc == -EINVAL) {
			st->errors++;
			rc = 0;
		}
	} else {
		const struct raw_rec *hdr;
		const uint8_t **pkt = malloc(h->count * sizeof(*pkt));
		if (!pkt) {
			rc = -ENOMEM;
		} else if (frec_decode_raw(p, r, h->count, &hdr, pkt)) {
			st->errors++;
		} else {
			st->records += h->count;
			rc = rf(user, hdr, pkt, h->count);
		}
		free(pkt);
	}
	free(p);
	return rc;
}

int seglog_scan(struct seglog *l, const struct seg_pred *p, seg_flows_fn ff, seg_raw_fn rf,
		void *user, struct seg_scan_stats *stp)
{
	struct seg_scan_stats dummy = {0}, *st = stp ? stp : &dummy;
	memset(st, 0, sizeof(*st));
	struct snap_blk *sb = NULL;
	size_t nsb = 0, cap = 0;
	struct flow_rec *af = NULL;
	size_t naf = 0;
	struct frec_dict dict = {.max = UINT32_MAX, .max_bytes = SIZE_MAX};
	struct raw_rec *ar = NULL;
	uint8_t *ard = NULL;
	size_t nar = 0;
	int rc = 0;

	/* the snapshot: references to the segments, their block index, the active blocks */
	pthread_mutex_lock(&l->lock);
	/* the .seg files, then the .raw files (the raw blocks of .seg files are older: those
	 * a version before .raw files wrote) */
	for (size_t j = 0; j < l->nsegs + l->nrsegs && !rc; j++) {
		struct seg_file *f = j < l->nsegs ? l->segs[j] : l->rsegs[j - l->nsegs];
		int took = 0;
		for (uint32_t k = 0; k < f->nb; k++) {
			st->blocks++;
			if (!blk_wanted(&f->b[k], p, ff, rf))
				continue;
			if (grow_buf(&sb, &cap, nsb + 1, sizeof(*sb))) {
				rc = -ENOMEM;
				break;
			}
			sb[nsb++] = (struct snap_blk){f, f->b[k]};
			if (!took) {
				f->refs++;
				took = 1;
			}
		}
	}
	if (!rc && ff && l->naf) {
		if (!(af = malloc(l->naf * sizeof(*af)))) {
			rc = -ENOMEM;
		} else {
			memcpy(af, l->af, l->naf * sizeof(*af));
			naf = l->naf;
			for (uint32_t i = 0; i < l->dict.n && !rc; i++)
				if (frec_dict_add(&dict, l->dict.v[i]) < 0)
					rc = -ENOMEM;
		}
	}
	if (!rc && rf && l->nar) {
		ar = malloc(l->nar * sizeof(*ar));
		ard = malloc(l->ardlen ? l->ardlen : 1);
		if (!ar || !ard) {
			rc = -ENOMEM;
		} else {
			memcpy(ar, l->ar, l->nar * sizeof(*ar));
			memcpy(ard, l->ard, l->ardlen);
			nar = l->nar;
		}
	}
	pthread_mutex_unlock(&l->lock);

	/* the reads, without the lock: per segment, its file mapped for the summaries */
	for (size_t i = 0; i < nsb && !rc;) {
		size_t e = i;
		uint64_t maplen = 0;
		while (e < nsb && sb[e].f == sb[i].f) {
			uint64_t end = sb[e].b.off + sizeof(struct seg_block_hdr) + sb[e].b.h.bloom_len;
			if (end > maplen)
				maplen = end;
			e++;
		}
		uint8_t *map = NULL;
		if (p && p->ngroups) {
			void *m = mmap(NULL, (size_t)maplen, PROT_READ, MAP_SHARED, sb[i].f->fd, 0);
			map = m == MAP_FAILED ? NULL : m;
		}
		for (; i < e && !rc; i++)
			if (blk_keys_match(&sb[i].b, map, p))
				rc = scan_block(&sb[i], ff, rf, user, st);
		if (map)
			munmap(map, (size_t)maplen);
		i = e;
	}
	if (!rc && naf) {
		st->records += naf;
		rc = ff(user, af, naf, &dict);
	}
	if (!rc && nar) {
		const uint8_t **pkt = malloc(nar * sizeof(*pkt));
		if (!pkt) {
			rc = -ENOMEM;
		} else {
			const uint8_t *d = ard;
			for (size_t i = 0; i < nar; i++) {
				if (ar[i].ref) {
					pkt[i] = pkt[ar[i].ref - 1];
				} else {
					pkt[i] = d;
					d += ar[i].caplen;
				}
			}
			st->records += nar;
			rc = rf(user, ar, pkt, nar);
			free(pkt);
		}
	}

	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < nsb; i++)
		if (i == 0 || sb[i].f != sb[i - 1].f)
			seg_unref(sb[i].f);
	pthread_mutex_unlock(&l->lock);
	free(sb);
	free(af);
	frec_dict_free(&dict);
	free(ar);
	free(ard);
	return rc;
}

/* ---- status ------------------------------------------------------------------------- */

void seglog_stats(struct seglog *l, struct seglog_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->st;
	out->segments = l->nsegs + l->nrsegs;
	out->bytes = out->blocks = out->flow_records = out->raw_records = out->raw_bytes = 0;
	out->min_time = out->max_time = 0;
	out->raw_index_flows = l->ridx.n;
	for (size_t i = 0; i < l->nsegs + l->nrsegs; i++) {
		const struct seg_file *f = i < l->nsegs ? l->segs[i] : l->rsegs[i - l->nsegs];
		out->bytes += f->size;
		if (f->raw)
			out->raw_bytes += f->size;
		out->blocks += f->nb;
		out->flow_records += f->flow_records;
		out->raw_records += f->raw_records;
		if (f->flow_records && (!out->min_time || f->min_time < out->min_time))
			out->min_time = f->min_time;
		if (f->flow_records && f->max_time > out->max_time)
			out->max_time = f->max_time;
	}
	out->pending_flows = l->naf;
	out->pending_raw = l->nar;
	pthread_mutex_unlock(&l->lock);
}

uint32_t seglog_raw_last_index(struct seglog *l, uint64_t uuid)
{
	pthread_mutex_lock(&l->lock);
	uint32_t i = raw_index_get(&l->ridx, uuid);
	pthread_mutex_unlock(&l->lock);
	return i;
}

const struct seglog_opts *seglog_opts(const struct seglog *l)
{
	return &l->o;
}
