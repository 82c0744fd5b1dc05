/* fuzz_segment.c - libFuzzer target for the flow store's segment files (src/store/
 * segment.c), the one parser of the analyzer that reads bytes back from disk: the input
 * is a whole segment file. It is walked in memory (seg_read_buf), then written to a
 * temporary directory and recovered by seglog_open as at a restart, and scanned.
 * Checks on top of the sanitizers:
 *  - the walk is total: good blocks, skipped ones and a torn tail account for the file
 *    (a torn tail starts inside it), and a good block's payload decodes or is refused
 *    with -EINVAL, never half read (counts as the header says);
 *  - recovery cuts the file exactly where the walk found the torn tail, and a scan of
 *    the recovered log gives as many records as the good blocks that decode;
 *  - the cut file walks again with no torn tail and the same good blocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/flow_rec.h"
#include "store/segment.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT (1u << 20)

struct walk {
	uint64_t blocks, records;
};

static int on_block(void *user, const struct seg_block_hdr *h, const uint8_t *payload)
{
	struct walk *w = user;
	CHECK(h->magic == SEG_MAGIC && h->count > 0 && h->count <= SEG_MAX_RECORDS);
	w->blocks++;
	if (h->kind == SEG_KIND_FLOWS) {
		struct frec_flows f;
		int rc = frec_decode_flows_v(payload, h->raw_len, h->count, h->version, &f);
		CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
		if (rc == 0) {
			CHECK(f.n == h->count);
			for (size_t i = 0; i < f.n; i++)
				for (int k = 0; k < FREC_NSTR; k++)
					CHECK(f.rec[i].str[k] <= f.dict.n);
			w->records += f.n;
			frec_flows_free(&f);
		}
	} else {
		const struct raw_rec *hdr;
		const uint8_t **pkt = malloc(h->count * sizeof(*pkt));
		CHECK(pkt);
		int rc = frec_decode_raw(payload, h->raw_len, h->count, &hdr, pkt);
		CHECK(rc == 0 || rc == -EINVAL);
		if (rc == 0) {
			/* every packet inside the payload, the data of non-refs back to back */
			const uint8_t *d = payload + (size_t)h->count * sizeof(struct raw_rec);
			for (uint32_t i = 0; i < h->count; i++) {
				CHECK(pkt[i] >= payload + (size_t)h->count * sizeof(struct raw_rec));
				CHECK(pkt[i] + hdr[i].caplen <= payload + h->raw_len);
				if (!hdr[i].ref) {
					CHECK(pkt[i] == d);
					d += hdr[i].caplen;
				}
			}
			CHECK(d == payload + h->raw_len);
			w->records += h->count;
		}
		free(pkt);
	}
	return 0;
}

static int on_flows(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	(void)r;
	(void)d;
	*(uint64_t *)user += n;
	return 0;
}

static int on_raw(void *user, const struct raw_rec *h, const uint8_t *const *pkt, size_t n)
{
	(void)h;
	(void)pkt;
	*(uint64_t *)user += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		return 0;
	struct walk w = {0};
	uint64_t corrupt;
	int64_t torn;
	int good = seg_read_buf(data, size, on_block, &w, &corrupt, &torn);
	CHECK(good >= 0 && (uint64_t)good == w.blocks);
	CHECK(torn == -1 || (torn >= 0 && (uint64_t)torn < size));

	char dir[] = "/tmp/fuzz-segment.XXXXXX";
	CHECK(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/1000.seg", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, data, size) == (ssize_t)size);
	close(fd);
	char err[256];
	struct seglog_opts o = {.dir = dir, .fsync_ms = SEG_FSYNC_NEVER, .no_thread = 1};
	struct seglog *l = seglog_open(&o, err, sizeof(err));
	CHECK(l);
	uint64_t n = 0;
	struct seg_scan_stats st;
	CHECK(seglog_scan(l, NULL, on_flows, on_raw, &n, &st) == 0);
	CHECK(n == w.records);
	seglog_close(l);
	struct stat sb;
	CHECK(stat(path, &sb) == 0);
	CHECK((uint64_t)sb.st_size == (torn >= 0 ? (uint64_t)torn : size));
	/* the cut file again: nothing torn, the same good blocks */
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	struct walk w2 = {0};
	int64_t torn2;
	uint64_t corrupt2;
	CHECK(seg_read_file(fd, on_block, &w2, &corrupt2, &torn2) == good);
	CHECK(torn2 == -1 && w2.records == w.records);
	close(fd);
	unlink(path);
	rmdir(dir);
	return 0;
}
