/* make_segment_corpus.c - writes seeds for fuzz_segment with the store's own writer
 * (src/store/segment.c): segment files of flow blocks, raw packet blocks, several
 * blocks, a dictionary-heavy block, and a torn and a corrupted copy.
 *
 *   make build/fuzz-seed/make_segment_corpus
 *   build/fuzz-seed/make_segment_corpus OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/segment.h"

static int seed;

static void write_log(const char *out, int nflows, int nraw, uint32_t per_block, int damage)
{
	char dir[] = "/tmp/make-segment.XXXXXX";
	if (!mkdtemp(dir))
		exit(1);
	char err[256];
	struct seglog_opts o = {.dir = dir,
				.fsync_ms = SEG_FSYNC_NEVER,
				.block_records = per_block,
				.no_thread = 1};
	struct seglog *l = seglog_open(&o, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	for (int i = 0; i < nflows; i++) {
		struct flow_rec r;
		memset(&r, 0, sizeof(r));
		r.uuid = 0x100 + (uint64_t)i;
		r.start = 1700000000000 + i;
		r.last = r.start + 10;
		r.ip_ver = 4;
		r.net_a[0] = 10, r.net_a[3] = (uint8_t)i;
		r.tproto = 17;
		r.tp_a = (uint16_t)(1000 + i);
		char app[32];
		snprintf(app, sizeof(app), "app-%d", i % 5);
		const char *str[FREC_NSTR] = {"Ethernet/IPv4/UDP", app, "node", i % 2 ? "cap" : NULL};
		seglog_append_flow(l, &r, str, 1000);
	}
	for (int i = 0; i < nraw; i++) {
		uint8_t pkt[40];
		memset(pkt, i, sizeof(pkt));
		struct raw_rec h = {.uuid = 0x100, .ts_ns = 1700000000000000000 + i, .index = (uint32_t)i + 1,
				    .linktype = 1, .caplen = (uint32_t)(i % 41), .wirelen = 60};
		seglog_append_raw(l, &h, pkt, 1000);
		if (i % 3 == 0) { /* the same frame kept by a second flow: stored as a ref */
			h.uuid = 0x200;
			seglog_append_raw(l, &h, pkt, 1000);
		}
	}
	seglog_close(l);
	char src[128], cmd[512];
	snprintf(src, sizeof(src), "%s/0.seg", dir);
	struct stat st;
	if (stat(src, &st))
		exit(1);
	FILE *f = fopen(src, "r+b");
	if (damage == 1 && f) /* torn */
		if (ftruncate(fileno(f), st.st_size - 5))
			exit(1);
	if (damage == 2 && f) { /* a byte in the first block */
		fseek(f, 70, SEEK_SET);
		fputc(0xee, f);
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cp %s %s/seed-%03d && rm -rf %s", src, out, seed++, dir);
	if (system(cmd))
		exit(1);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	write_log(argv[1], 1, 0, 0, 0);
	write_log(argv[1], 30, 0, 8, 0);
	write_log(argv[1], 0, 20, 0, 0);
	write_log(argv[1], 12, 12, 5, 0);
	write_log(argv[1], 30, 0, 8, 1);
	write_log(argv[1], 30, 0, 8, 2);
	write_log(argv[1], 3, 3, 0, 2);
	return 0;
}
