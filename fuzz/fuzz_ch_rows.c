/* fuzz_ch_rows.c - libFuzzer target for the ClickHouse backend's reader of SELECT answers
 * (src/store/clickhouse.c ch_rows_decode: RowBinary rows of the flows table), the bytes
 * the analyzer takes from a ClickHouse server. Checks on top of the sanitizers:
 *  - the answer is whole rows (0) or refused at a row's offset (-EINVAL), nothing else;
 *  - every row handed on re-encodes (ch_row_encode) to bytes that decode to the same
 *    records and strings: decoding is a fixed point after one round. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/clickhouse.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT (1u << 20)

struct rows {
	struct buf enc; /* the rows handed on, re-encoded */
	size_t n;
};

static int reencode(void *user, const struct flow_rec *r, size_t n, const struct frec_dict *d)
{
	struct rows *w = user;
	for (size_t i = 0; i < n; i++) {
		const char *str[FREC_NSTR];
		for (int k = 0; k < FREC_NSTR; k++) {
			CHECK(r[i].str[k] == 0 || r[i].str[k] <= d->n);
			str[k] = frec_dict_get(d, r[i].str[k]);
		}
		ch_row_encode(&r[i], str, 0, &w->enc);
		w->n++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		return 0;
	struct rows a = {0}, b = {0};
	buf_init(&a.enc, NULL);
	buf_init(&b.enc, NULL);
	size_t bad = SIZE_MAX;
	int rc = ch_rows_decode(data, size, reencode, &a, &bad);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
	if (rc == -EINVAL)
		CHECK(bad < size);
	if (rc == 0 && !a.enc.err) {
		/* the first round may cut strings at a NUL or FREC_STR_MAX; the second cannot */
		CHECK(a.enc.len <= size);
		int rc2 = ch_rows_decode((const uint8_t *)a.enc.data, a.enc.len, reencode, &b, NULL);
		CHECK(rc2 == 0 || rc2 == -ENOMEM);
		if (!rc2 && !b.enc.err) {
			CHECK(b.n == a.n);
			CHECK(b.enc.len == a.enc.len &&
			      (!a.enc.len || !memcmp(a.enc.data, b.enc.data, a.enc.len)));
		}
	}
	buf_free(&a.enc);
	buf_free(&b.enc);
	return 0;
}
