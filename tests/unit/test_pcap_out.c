/* test_pcap_out.c - the pcap writer (capture/pcap_out.h) and the file
 * source reading it back: a frame cut to its header size keeps its wire
 * length, a nanosecond file keeps nanoseconds, a microsecond file cuts to
 * microseconds; the file source says which resolution it read. Expected
 * bytes from the pcap format (magic a1b2c3d4 us, a1b23c4d ns; record header
 * ts_sec, ts_frac, incl_len, orig_len). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/capture.h"
#include "capture/pcap_out.h"

static const uint64_t TS = 1700000000ull * 1000000000ull + 123456789ull;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct got {
	int n;
	struct capture_frame f;
	uint8_t data[64];
};

static void on_frame(void *user, const struct capture_frame *f)
{
	struct got *g = user;
	g->f = *f;
	memcpy(g->data, f->data, f->caplen < 64 ? f->caplen : 64);
	g->n++;
}

static void roundtrip(int nano)
{
	char path[] = "/tmp/test_pcap_out.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w+b");
	assert_non_null(fp);
	char err[256];
	struct pcap_out *o = pcap_out_open_ts(fp, 1, nano, err, sizeof(err));
	assert_non_null(o);
	uint8_t frame[60];
	for (int i = 0; i < 60; i++)
		frame[i] = (uint8_t)i;
	assert_int_equal(pcap_out_write(o, frame, 60, 1514, TS), 0); /* cut to 60 of 1514 */
	assert_int_equal(pcap_out_close(o), 0);
	fflush(fp);

	uint8_t b[24 + 16 + 60];
	rewind(fp);
	assert_int_equal(fread(b, 1, sizeof(b), fp), sizeof(b));
	assert_int_equal(fgetc(fp), EOF);
	fclose(fp);
	assert_int_equal(le32(b), nano ? 0xa1b23c4du : 0xa1b2c3d4u);
	assert_int_equal(le32(b + 20), 1); /* LINKTYPE_ETHERNET */
	assert_int_equal(le32(b + 24), 1700000000u);
	assert_int_equal(le32(b + 28), nano ? 123456789u : 123456u);
	assert_int_equal(le32(b + 32), 60);   /* incl_len */
	assert_int_equal(le32(b + 36), 1514); /* orig_len */
	assert_memory_equal(b + 40, frame, 60);

	struct capture *c = capture_open_file(path, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(capture_tstamp_nano(c), nano);
	struct got g = {0};
	assert_int_equal(capture_dispatch(c, 0, on_frame, &g), 1);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.f.caplen, 60);
	assert_int_equal(g.f.wirelen, 1514);
	assert_int_equal(g.f.linktype, 1);
	assert_int_equal(g.f.ts_ns, nano ? TS : TS - 789);
	assert_memory_equal(g.data, frame, 60);
	capture_close(c);
	unlink(path);
}

static void test_nanoseconds(void **state)
{
	roundtrip(1);
}

static void test_microseconds(void **state)
{
	roundtrip(0);
}

/* A record never says it is shorter on the wire than what it holds. */
static void test_wirelen_at_least_caplen(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	char err[256];
	struct pcap_out *o = pcap_out_open(fp, 1, err, sizeof(err));
	assert_non_null(o);
	uint8_t frame[20] = {0};
	assert_int_equal(pcap_out_write(o, frame, 20, 0, TS), 0);
	assert_int_equal(pcap_out_close(o), 0);
	fclose(fp);
	assert_int_equal(len, 24 + 16 + 20);
	assert_int_equal(le32((uint8_t *)buf + 32), 20);
	assert_int_equal(le32((uint8_t *)buf + 36), 20);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nanoseconds),
		cmocka_unit_test(test_microseconds),
		cmocka_unit_test(test_wirelen_at_least_caplen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
