/* fuzz_etcd_reply.c - libFuzzer target for what the etcd client reads from etcd's JSON
 * gateway (src/cluster/etcd.c): byte 0 % 5 picks the parser, the rest is the reply:
 *   0: a range reply (etcd_parse_kvs), 1: a lease grant/keepalive (etcd_parse_lease),
 *   2: a txn (etcd_parse_txn), 3: any reply's error (etcd_reply_error),
 *   4: the watch stream (etcd_stream_feed), cut into pieces at the byte values of
 *      byte 1 (so the same messages arrive in different chunks).
 * Checks on top of the sanitizers:
 *  - a parser answers 0 or a negative errno, with err filled on failure (not for 0);
 *  - a range that parsed holds n kvs whose keys are NUL-free strings of the length
 *    decoded and whose values have value_len bytes then a NUL;
 *  - a lease that parsed has TTL > 0; one that did not is -ENOENT, -EPROTO or an
 *    error's errno;
 *  - the watch stream fed in pieces gives the same events and result as fed whole. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/etcd.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT 65536

static void check_kvs(const struct etcd_kvs *k)
{
	for (size_t i = 0; i < k->n; i++) {
		CHECK(k->v[i].key && k->v[i].value);
		CHECK(k->v[i].value[k->v[i].value_len] == 0);
	}
}

struct evlog {
	uint64_t hash;
	size_t n;
};

static int on_ev(void *user, const struct etcd_event *ev)
{
	struct evlog *l = user;
	CHECK(ev->kv && ev->kv->key && ev->kv->value);
	CHECK(ev->kv->value[ev->kv->value_len] == 0);
	uint64_t h = l->hash * 1099511628211ULL + (uint64_t)ev->type + 1;
	for (const char *p = ev->kv->key; *p; p++)
		h = h * 31 + (uint8_t)*p;
	for (size_t i = 0; i < ev->kv->value_len; i++)
		h = h * 31 + (uint8_t)ev->kv->value[i];
	h = h * 31 + (uint64_t)ev->kv->mod_rev;
	l->hash = h;
	l->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	if (size > FZ_MAX_INPUT)
		size = FZ_MAX_INPUT;
	int which = data[0] % 5;
	uint8_t cut = data[1];
	const char *text = (const char *)data + 2;
	size_t len = size - 2;
	char err[512];
	err[0] = 0;
	if (which == 4) {
		struct evlog whole = {0}, parts = {0};
		int64_t r1 = 0, r2 = 0;
		struct etcd_stream s = {0};
		int rc1 = etcd_stream_feed(&s, text, len, on_ev, &whole, &r1, err, sizeof(err));
		etcd_stream_clear(&s);
		CHECK(rc1 <= 0);
		CHECK(rc1 == 0 || err[0]);
		int rc2 = 0;
		size_t step = cut ? cut : 1, off = 0;
		while (off < len && !rc2) {
			size_t k = len - off < step ? len - off : step;
			rc2 = etcd_stream_feed(&s, text + off, k, on_ev, &parts, &r2, err, sizeof(err));
			off += k;
		}
		etcd_stream_clear(&s);
		CHECK(rc1 == rc2);
		CHECK(whole.n == parts.n && whole.hash == parts.hash);
		CHECK(r1 == r2);
		return 0;
	}
	json_t *j = json_loadb(text, len, 0, NULL);
	if (!j)
		return 0;
	int rc;
	if (which == 0) {
		struct etcd_kvs k;
		rc = etcd_parse_kvs(j, &k, err, sizeof(err));
		if (!rc)
			check_kvs(&k);
		else
			CHECK(k.n == 0 && !k.v);
		etcd_kvs_clear(&k);
	} else if (which == 1) {
		int64_t id, ttl;
		rc = etcd_parse_lease(j, &id, &ttl, err, sizeof(err));
		if (!rc)
			CHECK(ttl > 0);
	} else if (which == 2) {
		int ok;
		struct etcd_kvs k;
		rc = etcd_parse_txn(j, &ok, &k, err, sizeof(err));
		CHECK(ok == 0 || ok == 1);
		if (!rc)
			check_kvs(&k);
		etcd_kvs_clear(&k);
	} else {
		rc = etcd_reply_error(j, err, sizeof(err));
	}
	CHECK(rc <= 0);
	CHECK(rc == 0 || err[0]);
	json_decref(j);
	return 0;
}
