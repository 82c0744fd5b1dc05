/* fuzz_sflow.c - libFuzzer target for sflow_parse: the input is one sFlow
 * datagram. Checks what the callbacks receive on top of what the sanitizers
 * catch, and runs each sampled header through the packet decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "decode/sflow.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


struct ctx {
	const uint8_t *buf;
	size_t len;
	uint32_t nraw, ncnt;
};

static void on_raw(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
		   const struct sflow_raw_header *h)
{
	struct ctx *c = user;
	CHECK(h->header >= c->buf && h->header + h->header_length <= c->buf + c->len);
	CHECK(s->format == 1 || s->format == 3);
	CHECK(h->linktype == sflow_linktype(h->protocol));
	c->nraw++;
	if (h->linktype >= 0) {
		struct decode_result r;
		int n = decode_packet(h->linktype, h->header, h->header_length, h->frame_length, &r);
		CHECK(n >= 0 && n <= DECODE_MAX_SEGS);
	}
}

static void on_cnt(void *user, const struct sflow_datagram *dg, const struct sflow_sample *s,
		   const struct sflow_if_counters *cn)
{
	struct ctx *c = user;
	CHECK(s->format == 2 || s->format == 4);
	CHECK(s->sampling_rate == 0);
	c->ncnt++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	/* An exact-size copy, so any read past the end hits ASan's redzone. */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	struct ctx c = {buf, size, 0, 0};
	struct sflow_callbacks cb = {on_raw, on_cnt, &c};
	struct sflow_datagram dg;
	struct sflow_parse_stats st;
	struct sflow_error err;
	int rc = sflow_parse(buf, size, &cb, &dg, &st, &err);
	CHECK(rc == 0 || rc == -22);
	CHECK(st.raw_headers == c.nraw && st.if_counters == c.ncnt);
	if (rc) {
		CHECK(err.offset <= size);
		CHECK(err.msg[0] && memchr(err.msg, 0, sizeof(err.msg)));
	} else {
		CHECK(dg.version == 5);
		CHECK(st.flow_samples + st.counter_samples + st.skipped_samples == dg.nsamples);
	}
	free(buf);
	return 0;
}
