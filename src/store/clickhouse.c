/* clickhouse.c - flow history in ClickHouse (clickhouse.h). */
#include "store/clickhouse.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"

/* ---- columns ------------------------------------------------------------------------
 * One table drives the CREATE, the INSERT's rows and the SELECT's decoding, so the three
 * cannot disagree. CK_FIX columns are the record's bytes at off (little-endian, as
 * RowBinary wants: every platform we build for). */
enum { CK_FIX, CK_STR, CK_DAY, CK_KEYS };
struct col {
	const char *name, *type;
	uint8_t kind;
	uint16_t off, size; /* CK_FIX: bytes of the record; CK_STR: off is FREC_S_* */
};
#define FX(n, t, f) {n, t, CK_FIX, offsetof(struct flow_rec, f), sizeof(((struct flow_rec *)0)->f)}
#define ST(n, k) {n, "String", CK_STR, k, 0}
static const struct col cols[] = {
    FX("UUID", "UInt64", uuid),
    FX("TrackingID", "UInt64", l2),
    FX("L3TrackingID", "UInt64", l3),
    FX("ParentUUID", "UInt64", parent),
    ST("NodeTID", FREC_S_NODE),
    ST("CaptureID", FREC_S_CAPTURE),
    ST("Application", FREC_S_APP),
    ST("LayersPath", FREC_S_PATH),
    FX("Start", "Int64", start),
    FX("Last", "Int64", last),
    FX("Ingest", "Int64", ingest),
    FX("ABPackets", "UInt64", abp),
    FX("ABBytes", "UInt64", abb),
    FX("BAPackets", "UInt64", bap),
    FX("BABytes", "UInt64", bab),
    FX("LastUpdateStart", "Int64", lu_start),
    FX("LastUpdateLast", "Int64", lu_last),
    FX("LastUpdateABPackets", "UInt64", lu_abp),
    FX("LastUpdateABBytes", "UInt64", lu_abb),
    FX("LastUpdateBAPackets", "UInt64", lu_bap),
    FX("LastUpdateBABytes", "UInt64", lu_bab),
    FX("RTT", "Int64", rtt_ns),
    FX("LinkID", "UInt64", link_id),
    FX("HasLink", "UInt8", has_link),
    FX("LinkA", "FixedString(6)", link_a),
    FX("LinkB", "FixedString(6)", link_b),
    FX("IPVersion", "UInt8", ip_ver),
    FX("NetworkID", "UInt32", net_id),
    FX("NetworkA", "FixedString(16)", net_a),
    FX("NetworkB", "FixedString(16)", net_b),
    FX("TransportProtocol", "UInt8", tproto),
    FX("TransportA", "UInt16", tp_a),
    FX("TransportB", "UInt16", tp_b),
    FX("ICMPVersion", "UInt8", icmp_ver),
    FX("ICMPType", "UInt8", icmp_type),
    FX("ICMPCode", "UInt8", icmp_code),
    FX("ICMPID", "UInt16", icmp_id),
    FX("FinishType", "UInt8", finish),
    FX("RawPacketsCaptured", "UInt32", raw_captured),
    FX("HasTCP", "UInt8", has_tcp),
    FX("ABSynStart", "Int64", tcp.ab_syn_start),
    FX("BASynStart", "Int64", tcp.ba_syn_start),
    FX("ABFinStart", "Int64", tcp.ab_fin_start),
    FX("BAFinStart", "Int64", tcp.ba_fin_start),
    FX("ABRstStart", "Int64", tcp.ab_rst_start),
    FX("BARstStart", "Int64", tcp.ba_rst_start),
    FX("ABSynTTL", "UInt32", tcp.ab_syn_ttl),
    FX("BASynTTL", "UInt32", tcp.ba_syn_ttl),
    FX("ABSegmentBytes", "UInt64", tcp.seg[0].bytes),
    FX("ABSegmentSkippedBytes", "UInt64", tcp.seg[0].skipped_bytes),
    FX("ABSegmentPackets", "UInt32", tcp.seg[0].packets),
    FX("ABSegmentOutOfOrder", "UInt32", tcp.seg[0].out_of_order),
    FX("ABSegmentSkipped", "UInt32", tcp.seg[0].skipped),
    FX("ABSawStart", "UInt8", tcp.seg[0].saw_start),
    FX("ABSawEnd", "UInt8", tcp.seg[0].saw_end),
    FX("BASegmentBytes", "UInt64", tcp.seg[1].bytes),
    FX("BASegmentSkippedBytes", "UInt64", tcp.seg[1].skipped_bytes),
    FX("BASegmentPackets", "UInt32", tcp.seg[1].packets),
    FX("BASegmentOutOfOrder", "UInt32", tcp.seg[1].out_of_order),
    FX("BASegmentSkipped", "UInt32", tcp.seg[1].skipped),
    FX("BASawStart", "UInt8", tcp.seg[1].saw_start),
    FX("BASawEnd", "UInt8", tcp.seg[1].saw_end),
    FX("HasIPMetric", "UInt8", has_ip),
    FX("IPFragments", "UInt32", ip.fragments),
    FX("IPFragmentErrors", "UInt32", ip.fragment_errors),
    ST("Layers", FREC_S_LAYERS),
    /* written, never read back: the partition key and the summaries' keys */
    {"Day", "Date", CK_DAY, 0, 2},
    {"Keys", "Array(UInt64)", CK_KEYS, 0, 0},
};
#undef FX
#undef ST
#define NCOLS (sizeof(cols) / sizeof(cols[0]))
#define NREAD (NCOLS - 2)

/* Does each CK_FIX column's width match its type? (a mistake in the table above) */
static const char *cols_check(void)
{
	for (size_t i = 0; i < NCOLS; i++) {
		const struct col *k = &cols[i];
		if (k->kind != CK_FIX)
			continue;
		unsigned w = 0;
		if (!strncmp(k->type, "FixedString(", 12))
			w = (unsigned)atoi(k->type + 12);
		else
			w = strstr(k->type, "64") ? 8 : strstr(k->type, "32") ? 4
			    : strstr(k->type, "16") ? 2 : 1;
		if (w != k->size)
			return k->name;
	}
	return NULL;
}

/* ---- RowBinary codec ------------------------------------------------------------- */

static void put_varint(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	buf_put(b, t, n);
}

void ch_row_encode(const struct flow_rec *r, const char *const strs[FREC_NSTR], int insert,
		   struct buf *out)
{
	const uint8_t *rb = (const uint8_t *)r;
	size_t n = insert ? NCOLS : NREAD;
	for (size_t i = 0; i < n; i++) {
		const struct col *k = &cols[i];
		switch (k->kind) {
		case CK_FIX:
			buf_put(out, rb + k->off, k->size);
			break;
		case CK_STR: {
			const char *s = strs[k->off] ? strs[k->off] : "";
			size_t len = strnlen(s, FREC_STR_MAX);
			put_varint(out, len);
			buf_put(out, s, len);
			break;
		}
		case CK_DAY: {
			int64_t d = r->last > 0 ? r->last / 86400000 : 0;
			uint16_t day = d > 65535 ? 65535 : (uint16_t)d;
			buf_put(out, &day, 2);
			break;
		}
		case CK_KEYS: {
			uint64_t keys[SEG_FLOW_KEYS_MAX];
			size_t nk = seg_flow_keys(r, strs, keys);
			put_varint(out, nk);
			buf_put(out, keys, nk * sizeof(*keys));
			break;
		}
		}
	}
}

static int get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned sh = 0; sh < 64; sh += 7) {
		if (*off >= len)
			return -1;
		uint8_t c = p[(*off)++];
		x |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

#define CH_CHUNK 1024

struct chunk {
	struct flow_rec rec[CH_CHUNK];
	size_t n;
	struct frec_dict dict;
};

static int chunk_flush(struct chunk *c, seg_flows_fn ff, void *user)
{
	int rc = c->n ? ff(user, c->rec, c->n, &c->dict) : 0;
	c->n = 0;
	frec_dict_reset(&c->dict);
	return rc;
}

/* One row at *off into r, its strings in sbuf (str[] pointing there). 0 or -EINVAL
 * (not a whole row). */
static int decode_row(const uint8_t *p, size_t len, size_t *off, struct flow_rec *r,
		      char sbuf[FREC_NSTR][FREC_STR_MAX + 1])
{
	uint8_t *rb = (uint8_t *)r;
	memset(r, 0, sizeof(*r));
	for (int s = 0; s < FREC_NSTR; s++)
		sbuf[s][0] = 0;
	for (size_t i = 0; i < NREAD; i++) {
		const struct col *k = &cols[i];
		if (k->kind == CK_FIX) {
			if (len - *off < k->size)
				return -EINVAL;
			memcpy(rb + k->off, p + *off, k->size);
			*off += k->size;
			continue;
		}
		uint64_t sl;
		if (get_varint(p, len, off, &sl) || sl > len - *off)
			return -EINVAL;
		/* cut as the writer cuts (FREC_STR_MAX); a NUL ends it as in the log */
		size_t cut = sl > FREC_STR_MAX ? FREC_STR_MAX : (size_t)sl;
		memcpy(sbuf[k->off], p + *off, cut);
		sbuf[k->off][cut] = 0;
		*off += (size_t)sl;
	}
	return 0;
}

/* The strings of r into c's dictionary; -ENOSPC when it is full (nothing of r kept). */
static int row_strings(struct chunk *c, struct flow_rec *r, char sbuf[FREC_NSTR][FREC_STR_MAX + 1])
{
	for (int s = 0; s < FREC_NSTR; s++) {
		int id = frec_dict_add(&c->dict, sbuf[s]);
		if (id < 0)
			return id;
		r->str[s] = (uint16_t)id;
	}
	return 0;
}

int ch_rows_decode(const uint8_t *p, size_t len, seg_flows_fn ff, void *user, size_t *bad_off)
{
	struct chunk *c = calloc(1, sizeof(*c));
	char (*sbuf)[FREC_STR_MAX + 1] = malloc(FREC_NSTR * sizeof(*sbuf));
	if (!c || !sbuf) {
		free(c);
		free(sbuf);
		return -ENOMEM;
	}
	c->dict.max = UINT16_MAX;
	c->dict.max_bytes = 16u << 20;
	size_t off = 0;
	int rc = 0;
	while (off < len && !rc) {
		size_t at = off;
		struct flow_rec *r = &c->rec[c->n];
		if ((rc = decode_row(p, len, &off, r, sbuf))) {
			if (bad_off)
				*bad_off = at;
			break;
		}
		rc = row_strings(c, r, sbuf);
		if (rc == -ENOSPC) {
			/* the dictionary is full: hand on the rows it serves, start a new one
			 * with this row first */
			struct flow_rec keep = *r;
			if ((rc = chunk_flush(c, ff, user)))
				break;
			c->rec[0] = keep;
			r = &c->rec[0];
			rc = row_strings(c, r, sbuf);
			if (rc == -ENOSPC)
				rc = -ENOMEM;
		}
		if (!rc && ++c->n == CH_CHUNK)
			rc = chunk_flush(c, ff, user);
	}
	if (!rc)
		rc = chunk_flush(c, ff, user);
	frec_dict_free(&c->dict);
	free(c);
	free(sbuf);
	return rc;
}

/* ---- options ----------------------------------------------------------------------- */

static int copy_opt(char *dst, size_t cap, const char *v, const char *key, char *err,
		    size_t errlen)
{
	if (strlen(v) >= cap) {
		snprintf(err, errlen, "%s is too long (at most %zu bytes)", key, cap - 1);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

/* A name ClickHouse takes unquoted inside our backquotes: letters, digits, '_'. */
static int ident_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

int ch_opts_from_config(const struct config *cfg, struct ch_opts *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	const char *be = config_get_string(cfg, "analyzer.flow.backend", "");
	if (!be || !*be)
		return 0;
	char key[256];
	snprintf(key, sizeof(key), "storage.%s.driver", be);
	const char *drv = config_get_string(cfg, key, "");
	/* Skydive's default (analyzer.flow.backend: memory), or a storage of driver memory:
	 * the embedded store */
	if ((!drv || !*drv) && !strcmp(be, "memory"))
		return 0;
	if (drv && !strcasecmp(drv, "memory"))
		return 0;
	if (!drv || !*drv) {
		snprintf(err, errlen,
			 "analyzer.flow.backend names '%s', but %s is not set: define storage.%s "
			 "with driver: clickhouse (docs/DEPLOY.md)",
			 be, key, be);
		return -EINVAL;
	}
	if (strcasecmp(drv, "clickhouse")) {
		snprintf(err, errlen,
			 "%s '%s' is not supported by this build: flow history goes to the "
			 "embedded store (leave analyzer.flow.backend unset) or to ClickHouse "
			 "(driver: clickhouse; docs/DEPLOY.md)",
			 key, drv);
		return -EINVAL;
	}
	snprintf(key, sizeof(key), "storage.%s.hosts", be);
	json_t *hosts = config_get_list(cfg, key, "http://127.0.0.1:8123");
	if (!hosts) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t i;
	json_t *h;
	int rc = 0;
	json_array_foreach(hosts, i, h)
	{
		const char *v = json_string_value(h);
		if (!v || !*v)
			continue;
		if (o->nhosts == CH_MAX_HOSTS) {
			snprintf(err, errlen, "%s: at most %d hosts", key, CH_MAX_HOSTS);
			rc = -EINVAL;
			break;
		}
		int has_scheme = !strncmp(v, "http://", 7) || !strncmp(v, "https://", 8);
		if (strstr(v, "://") && !has_scheme) {
			snprintf(err, errlen, "%s: '%s': give http://host:port or https://host:port",
				 key, v);
			rc = -EINVAL;
			break;
		}
		if (strlen(v) + 8 >= sizeof(o->hosts[0])) {
			snprintf(err, errlen, "%s: '%.40s...' is too long", key, v);
			rc = -EINVAL;
			break;
		}
		snprintf(o->hosts[o->nhosts++], sizeof(o->hosts[0]), "%s%s",
			 has_scheme ? "" : "http://", v);
	}
	json_decref(hosts);
	if (rc)
		return rc;
	if (!o->nhosts) {
		snprintf(err, errlen, "%s is empty: give ClickHouse's HTTP interface, e.g. "
			 "http://127.0.0.1:8123", key);
		return -EINVAL;
	}
	static const struct {
		const char *k;
		size_t off, cap;
		const char *def;
		int ident;
	} strs[] = {
	    {"database", offsetof(struct ch_opts, database), 64, "skydive", 1},
	    {"table", offsetof(struct ch_opts, table), 64, "flows", 1},
	    {"cluster", offsetof(struct ch_opts, cluster), 64, "", 1},
	    {"username", offsetof(struct ch_opts, username), 64, "", 0},
	    {"password", offsetof(struct ch_opts, password), 128, "", 0},
	};
	for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
		snprintf(key, sizeof(key), "storage.%s.%s", be, strs[k].k);
		const char *v = config_get_string(cfg, key, strs[k].def);
		if (!v)
			v = "";
		if (strs[k].ident && *v && !ident_ok(v)) {
			snprintf(err, errlen, "%s '%s' invalid: letters, digits and '_' only", key,
				 v);
			return -EINVAL;
		}
		if (copy_opt((char *)o + strs[k].off, strs[k].cap, v, key, err, errlen))
			return -EINVAL;
	}
	if (strlen(o->table) > 50) {
		snprintf(err, errlen, "storage.%s.table: at most 50 characters", be);
		return -EINVAL;
	}
	/* Skydive's keys: seconds */
	snprintf(key, sizeof(key), "storage.%s.client_timeout", be);
	int64_t t = config_get_int(cfg, key, 5);
	if (t < 1 || t > 3600) {
		snprintf(err, errlen, "%s %lld invalid: give seconds, 1..3600", key, (long long)t);
		return -EINVAL;
	}
	o->timeout_ms = t * 1000;
	snprintf(key, sizeof(key), "storage.%s.bulk_maxdelay", be);
	t = config_get_int(cfg, key, 1);
	if (t < 1 || t > 3600) {
		snprintf(err, errlen, "%s %lld invalid: give seconds, 1..3600", key, (long long)t);
		return -EINVAL;
	}
	o->flush_ms = t * 1000;
	snprintf(key, sizeof(key), "storage.%s.max_age", be);
	const char *age = config_get_string(cfg, key, "0");
	if (age && *age && strcmp(age, "0") &&
	    (config_parse_duration(age, &o->max_age_ms) || o->max_age_ms < 86400000)) {
		snprintf(err, errlen,
			 "%s '%s' invalid: give 0 (keep everything) or a duration of at least a "
			 "day (7d, 720h): partitions are days",
			 key, age);
		return -EINVAL;
	}
	int64_t mb = config_get_int(cfg, "analyzer.flow.max_buffer_size", CH_MAX_BUFFER);
	if (mb < 1 || mb > 10000000) {
		snprintf(err, errlen,
			 "analyzer.flow.max_buffer_size %lld invalid: give a count of flows, "
			 "1..10000000",
			 (long long)mb);
		return -EINVAL;
	}
	o->max_buffer = (size_t)mb;
	return 1;
}

/* ---- the client -------------------------------------------------------------------- */

struct batch {
	struct buf b;
	size_t rows;
};

struct ch_store {
	struct ch_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond, done;
	struct batch cur, pend; /* cur fills; pend is being sent (or retried) */
	unsigned pend_attempts;
	int stop, flush_req, schema_ok;
	uint64_t flush_gen, flushed_gen; /* ch_flush's request, the writer's answer */
	int flush_rc;
	pthread_t thr;
	int64_t last_retention_ms;
	atomic_size_t cur_host;
	/* stats (under lock) */
	uint64_t inserted, batches, retries, dropped, dropped_batches, queries, query_errors;
	int connected;
	char last_error[320];
};

struct reply {
	struct buf b;
	int too_big;
};

static size_t on_data(char *p, size_t sz, size_t n, void *user)
{
	struct reply *r = user;
	size_t len = sz * n;
	if (r->b.len + len > CH_MAX_REPLY) {
		r->too_big = 1;
		return 0;
	}
	buf_put(&r->b, p, len);
	return r->b.err ? 0 : len;
}

static int64_t now_ms_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* POSTs body to host idx with query (the SQL, in the URL when body is data; NULL: the
 * body is the SQL). Returns 0 (HTTP 200, the answer in rep), -ECONNREFUSED (transport:
 * err says which), -EIO (ClickHouse answered an error: its text in err), -E2BIG,
 * -ENOMEM. */
static int http_one(struct ch_store *c, size_t idx, const char *query, const char *settings,
		    const void *body, size_t blen, struct reply *rep, char *err, size_t errlen)
{
	CURL *e = curl_easy_init();
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	char *q = query ? curl_easy_escape(e, query, 0) : NULL;
	size_t ulen = strlen(c->o.hosts[idx]) + (q ? strlen(q) : 0) +
		      (settings ? strlen(settings) : 0) + 16;
	char *url = malloc(ulen);
	if ((query && !q) || !url) {
		curl_free(q);
		free(url);
		curl_easy_cleanup(e);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(url, ulen, "%s/?%s%s%s", c->o.hosts[idx], q ? "query=" : "", q ? q : "",
		 settings ? settings : "");
	curl_free(q);
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(e, CURLOPT_URL, url);
	/* HTTP basic authentication (ClickHouse's HTTP interface takes it): the password
	 * stays out of URLs, and so out of ClickHouse's query log */
	if (c->o.username[0] || c->o.password[0]) {
		curl_easy_setopt(e, CURLOPT_USERNAME, c->o.username[0] ? c->o.username : "default");
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->o.password);
	}
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->o.timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, rep);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	free(url);
	if (rep->too_big) {
		snprintf(err, errlen, "%s: the answer is over %u MiB: narrow the query",
			 c->o.hosts[idx], CH_MAX_REPLY >> 20);
		return -E2BIG;
	}
	if (rep->b.err) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", c->o.hosts[idx], *ebuf ? ebuf : curl_easy_strerror(cc));
		return -ECONNREFUSED;
	}
	if (status != 200) {
		/* ClickHouse's error text: "Code: N, e.displayText() = ..." */
		size_t n = rep->b.len < 200 ? rep->b.len : 200;
		while (n && (rep->b.data[n - 1] == '\n' || rep->b.data[n - 1] == '\r'))
			n--;
		snprintf(err, errlen, "%s: HTTP %ld: %.*s", c->o.hosts[idx], status, (int)n,
			 rep->b.data ? rep->b.data : "");
		return -EIO;
	}
	return 0;
}

/* The same on the hosts in turn from the one that answered last (transport errors
 * only move on). */
static int http_call(struct ch_store *c, const char *query, const char *settings,
		     const void *body, size_t blen, struct reply *rep, char *err, size_t errlen)
{
	size_t start = atomic_load(&c->cur_host);
	int rc = -ECONNREFUSED;
	for (size_t k = 0; k < c->o.nhosts; k++) {
		size_t idx = (start + k) % c->o.nhosts;
		rep->b.len = 0;
		rc = http_one(c, idx, query, settings, body, blen, rep, err, errlen);
		if (rc != -ECONNREFUSED) {
			atomic_store(&c->cur_host, idx);
			break;
		}
	}
	return rc;
}

/* A statement on one host, its answer dropped. */
static int exec_on(struct ch_store *c, size_t idx, const char *sql, char *err, size_t errlen)
{
	struct reply rep = {0};
	buf_init(&rep.b, NULL);
	int rc = http_one(c, idx, NULL, NULL, sql, strlen(sql), &rep, err, errlen);
	buf_free(&rep.b);
	return rc;
}

static void create_table_sql(struct buf *b, const struct ch_opts *o, const char *table)
{
	buf_puts(b, "CREATE TABLE IF NOT EXISTS `");
	buf_puts(b, o->database);
	buf_puts(b, "`.`");
	buf_puts(b, table);
	buf_puts(b, "` (");
	for (size_t i = 0; i < NCOLS; i++) {
		if (i)
			buf_puts(b, ", ");
		buf_putc(b, '`');
		buf_puts(b, cols[i].name);
		buf_puts(b, "` ");
		buf_puts(b, cols[i].type);
	}
	/* a day per partition: retention drops whole days; the sort key serves the window */
	buf_puts(b, ") ENGINE = MergeTree() PARTITION BY Day ORDER BY (Start, UUID)");
	buf_putc(b, 0);
}

/* The table for reads and writes: <table>, and with a cluster <table>_local under it. */
static void local_name(const struct ch_opts *o, char *out, size_t len)
{
	snprintf(out, len, "%s%s", o->table, o->cluster[0] ? "_local" : "");
}

/* Database and tables on every host (IF NOT EXISTS: several analyzers may race). */
static int make_schema(struct ch_store *c, char *err, size_t errlen)
{
	char local[80];
	local_name(&c->o, local, sizeof(local));
	struct buf b;
	buf_init(&b, NULL);
	int rc = 0;
	for (size_t i = 0; i < c->o.nhosts && !rc; i++) {
		char sql[600];
		snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS `%s`", c->o.database);
		if ((rc = exec_on(c, i, sql, err, errlen)))
			break;
		b.len = 0;
		create_table_sql(&b, &c->o, local);
		if (b.err) {
			rc = -ENOMEM;
			break;
		}
		if ((rc = exec_on(c, i, b.data, err, errlen)))
			break;
		if (c->o.cluster[0]) {
			/* rows go to a shard by UUID: a flow's states stay together */
			snprintf(sql, sizeof(sql),
				 "CREATE TABLE IF NOT EXISTS `%s`.`%s` AS `%s`.`%s` ENGINE = "
				 "Distributed(`%s`, `%s`, `%s`, intHash64(UUID))",
				 c->o.database, c->o.table, c->o.database, local, c->o.cluster,
				 c->o.database, local);
			rc = exec_on(c, i, sql, err, errlen);
		}
	}
	buf_free(&b);
	return rc;
}

static void set_error(struct ch_store *c, const char *what, const char *err)
{
	pthread_mutex_lock(&c->lock);
	snprintf(c->last_error, sizeof(c->last_error), "%s: %s", what, err);
	pthread_mutex_unlock(&c->lock);
}

/* Sends pend. 0 (sent, or dropped after its attempts), -ECONNREFUSED (kept). */
static int send_pending(struct ch_store *c)
{
	char sql[300], err[256];
	snprintf(sql, sizeof(sql), "INSERT INTO `%s`.`%s` FORMAT RowBinary", c->o.database,
		 c->o.table);
	struct reply rep = {0};
	buf_init(&rep.b, NULL);
	/* with a cluster, the insert waits for the shards (no rows only in a local queue
	 * of the server we talk to when it dies) */
	int rc = http_call(c, sql, c->o.cluster[0] ? "&insert_distributed_sync=1" : NULL,
			   c->pend.b.data, c->pend.b.len, &rep, err, sizeof(err));
	buf_free(&rep.b);
	pthread_mutex_lock(&c->lock);
	if (!rc) {
		c->inserted += c->pend.rows;
		c->batches++;
		c->connected = 1;
	} else {
		snprintf(c->last_error, sizeof(c->last_error), "insert: %s", err);
		c->retries++;
		c->connected = rc != -ECONNREFUSED;
		if (rc != -ECONNREFUSED && ++c->pend_attempts >= CH_MAX_ATTEMPTS) {
			log_warn("clickhouse: %zu flow states dropped after %u attempts: %s",
				 c->pend.rows, c->pend_attempts, err);
			c->dropped += c->pend.rows;
			c->dropped_batches++;
			rc = 0;
		}
	}
	if (!rc) {
		c->pend.b.len = 0;
		c->pend.rows = 0;
		c->pend_attempts = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc ? -ECONNREFUSED : 0;
}

static void *writer(void *arg)
{
	struct ch_store *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		/* a batch being retried: once a second; otherwise every flush interval, or
		 * as soon as half the bound is queued */
		size_t half = c->o.max_buffer / 2 ? c->o.max_buffer / 2 : 1;
		int64_t wait = c->pend.rows ? 1000 : c->o.flush_ms;
		if (!c->stop && !c->flush_req && (c->pend.rows || c->cur.rows < half)) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		int stop = c->stop;
		uint64_t gen = c->flush_gen;
		c->flush_req = 0;
		if (!c->pend.rows && c->cur.rows) {
			struct batch t = c->pend;
			c->pend = c->cur;
			c->cur = t;
		}
		int schema_ok = c->schema_ok;
		pthread_mutex_unlock(&c->lock);

		int rc = 0;
		char err[256];
		if (!schema_ok) {
			if ((rc = make_schema(c, err, sizeof(err)))) {
				set_error(c, "schema", err);
				rc = -ECONNREFUSED;
			} else {
				pthread_mutex_lock(&c->lock);
				c->schema_ok = 1;
				pthread_mutex_unlock(&c->lock);
				log_info("clickhouse: table %s.%s ready on %zu host(s)", c->o.database,
					 c->o.table, c->o.nhosts);
			}
		}
		if (!rc && c->pend.rows)
			rc = send_pending(c);
		if (!rc && c->o.max_age_ms) {
			int64_t now = now_ms_real();
			if (now - c->last_retention_ms >= 3600000) {
				c->last_retention_ms = now;
				if (ch_retention(c, now, err, sizeof(err)))
					set_error(c, "retention", err);
			}
		}
		pthread_mutex_lock(&c->lock);
		/* a flush is answered once what was queued when it asked has been tried */
		if (gen != c->flushed_gen && (rc || (!c->pend.rows && !c->cur.rows) || stop)) {
			c->flushed_gen = gen;
			c->flush_rc = rc;
			pthread_cond_broadcast(&c->done);
		} else if (gen != c->flushed_gen) {
			c->flush_req = 1; /* cur still has rows of before the request */
		}
		if (stop && (rc || (!c->pend.rows && !c->cur.rows)))
			break;
	}
	c->flushed_gen = c->flush_gen;
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct ch_store *ch_open(const struct ch_opts *o, char *err, size_t errlen)
{
	const char *bad = cols_check();
	if (bad) {
		snprintf(err, errlen, "clickhouse: column %s: its width does not match its type", bad);
		return NULL;
	}
	if (!o->nhosts) {
		snprintf(err, errlen, "clickhouse: no host");
		return NULL;
	}
	struct ch_store *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->o = *o;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 5000;
	if (!c->o.flush_ms)
		c->o.flush_ms = 1000;
	if (!c->o.max_buffer)
		c->o.max_buffer = CH_MAX_BUFFER;
	buf_init(&c->cur.b, NULL);
	buf_init(&c->pend.b, NULL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_cond_init(&c->done, NULL);
	char e2[256];
	if (make_schema(c, e2, sizeof(e2))) {
		log_warn("clickhouse: %s: the table is made when ClickHouse answers; flows are "
			 "queued until then",
			 e2);
		snprintf(c->last_error, sizeof(c->last_error), "schema: %s", e2);
	} else {
		c->schema_ok = 1;
		c->connected = 1;
	}
	if (pthread_create(&c->thr, NULL, writer, c)) {
		snprintf(err, errlen, "clickhouse: cannot start the writer thread");
		buf_free(&c->cur.b);
		buf_free(&c->pend.b);
		free(c);
		return NULL;
	}
	return c;
}

void ch_close(struct ch_store *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thr, NULL);
	if (c->pend.rows + c->cur.rows)
		log_warn("clickhouse: %zu flow states not written at exit (ClickHouse did not "
			 "answer): %s",
			 c->pend.rows + c->cur.rows, c->last_error);
	buf_free(&c->cur.b);
	buf_free(&c->pend.b);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->done);
	free(c);
}

int ch_append(struct ch_store *c, const struct flow_rec *r, const char *const strs[FREC_NSTR])
{
	pthread_mutex_lock(&c->lock);
	if (c->cur.rows >= c->o.max_buffer) {
		c->dropped++;
		pthread_mutex_unlock(&c->lock);
		return -ENOSPC;
	}
	size_t was = c->cur.b.len;
	ch_row_encode(r, strs, 1, &c->cur.b);
	if (c->cur.b.err) {
		c->cur.b.len = was;
		c->cur.b.err = 0;
		c->dropped++;
		pthread_mutex_unlock(&c->lock);
		return -ENOSPC;
	}
	if (++c->cur.rows >= (c->o.max_buffer / 2 ? c->o.max_buffer / 2 : 1))
		pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int ch_flush(struct ch_store *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t gen = ++c->flush_gen;
	c->flush_req = 1;
	pthread_cond_signal(&c->cond);
	while (c->flushed_gen < gen)
		pthread_cond_wait(&c->done, &c->lock);
	int rc = c->flush_rc;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* ---- reads ------------------------------------------------------------------------- */

int ch_scan(struct ch_store *c, const struct seg_pred *p, int newest, seg_flows_fn ff,
	    void *user, char *err, size_t errlen)
{
	struct buf q;
	buf_init(&q, NULL);
	buf_puts(&q, "SELECT * FROM (SELECT ");
	for (size_t i = 0; i < NREAD; i++) {
		if (i)
			buf_putc(&q, ',');
		buf_putc(&q, '`');
		buf_puts(&q, cols[i].name);
		buf_putc(&q, '`');
	}
	buf_puts(&q, " FROM `");
	buf_puts(&q, c->o.database);
	buf_puts(&q, "`.`");
	buf_puts(&q, c->o.table);
	buf_putc(&q, '`');
	/* The key groups first, as PREWHERE: ClickHouse reads the Keys column alone, then
	 * the ~70 others only for the rows it kept (G.At(t, 3600).Has('Network', IP) over
	 * 20 M rows: 7 times faster than in WHERE, which reads every column of every row
	 * the time range leaves; bench/clickhouse_bench.sh). The time range stays in WHERE:
	 * the primary key (Start) and the partitions (Day) prune it wherever it is. */
	for (size_t g = 0; p && g < p->ngroups; g++) {
		buf_puts(&q, g ? " AND hasAny(Keys, [" : " PREWHERE hasAny(Keys, [");
		for (size_t i = 0; i < p->g[g].n; i++) {
			if (i)
				buf_putc(&q, ',');
			buf_put_u64(&q, p->g[g].keys[i]);
		}
		/* an empty group matches nothing (as a block summary tested with no key) */
		buf_puts(&q, p->g[g].n ? "])" : "0]) AND 0");
	}
	buf_puts(&q, " WHERE 1");
	if (p && p->to) {
		/* [Start, Last] overlaps [from, to]; the partitions (days of Last) before from's
		 * day are not read */
		int64_t from = p->from > 0 ? p->from : 0;
		buf_puts(&q, " AND Start <= ");
		buf_put_i64(&q, p->to);
		buf_puts(&q, " AND Last >= ");
		buf_put_i64(&q, p->from);
		buf_puts(&q, " AND Day >= toDate(");
		buf_put_i64(&q, from / 86400000 * 86400);
		buf_putc(&q, ')');
	}
	if (p && p->ingest_from) {
		buf_puts(&q, " AND Ingest >= ");
		buf_put_i64(&q, p->ingest_from);
	}
	if (newest)
		buf_puts(&q, " ORDER BY UUID, Last DESC, Ingest DESC LIMIT 1 BY UUID");
	buf_puts(&q, ") ORDER BY Ingest FORMAT RowBinary");
	buf_putc(&q, 0);
	if (q.err) {
		buf_free(&q);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct reply rep = {0};
	buf_init(&rep.b, NULL);
	int rc = http_call(c, NULL, NULL, q.data, q.len - 1, &rep, err, errlen);
	buf_free(&q);
	pthread_mutex_lock(&c->lock);
	c->queries++;
	if (rc) {
		c->query_errors++;
		snprintf(c->last_error, sizeof(c->last_error), "query: %s", err);
	}
	pthread_mutex_unlock(&c->lock);
	if (!rc) {
		size_t bad = 0;
		rc = ch_rows_decode((const uint8_t *)rep.b.data, rep.b.len, ff, user, &bad);
		if (rc == -EINVAL) {
			snprintf(err, errlen,
				 "clickhouse: the answer is not rows of this build's table (offset "
				 "%zu of %zu): a table of another layout?",
				 bad, rep.b.len);
			rc = -EIO;
		}
	} else if (rc != -ENOMEM && rc != -E2BIG) {
		rc = -EIO;
	}
	buf_free(&rep.b);
	return rc;
}

int ch_retention(struct ch_store *c, int64_t now_ms, char *err, size_t errlen)
{
	if (!c->o.max_age_ms)
		return 0;
	char local[80];
	local_name(&c->o, local, sizeof(local));
	int64_t keep_from = (now_ms - c->o.max_age_ms) / 86400000; /* first day kept */
	int rc = 0;
	for (size_t i = 0; i < c->o.nhosts; i++) {
		char sql[600];
		snprintf(sql, sizeof(sql),
			 "SELECT DISTINCT partition FROM system.parts WHERE database = '%s' AND "
			 "table = '%s' AND active AND max_date < toDate(%lld) FORMAT TabSeparated",
			 c->o.database, local, (long long)(keep_from * 86400));
		struct reply rep = {0};
		buf_init(&rep.b, NULL);
		int r = http_one(c, i, NULL, NULL, sql, strlen(sql), &rep, err, errlen);
		buf_putc(&rep.b, 0);
		for (char *line = r || rep.b.err ? NULL : rep.b.data; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			/* a Date partition reads 2026-12-03: nothing to escape */
			if (strlen(line) == 10 && strspn(line, "0123456789-") == 10) {
				snprintf(sql, sizeof(sql),
					 "ALTER TABLE `%s`.`%s` DROP PARTITION '%s'", c->o.database,
					 local, line);
				if (!exec_on(c, i, sql, err, errlen))
					log_info("clickhouse: %s: day %s dropped (older than max_age)",
						 c->o.hosts[i], line);
				else
					r = -EIO;
			}
			line = nl ? nl + 1 : NULL;
		}
		buf_free(&rep.b);
		if (r)
			rc = r;
	}
	return rc;
}

void ch_stats(struct ch_store *c, struct ch_stats *out)
{
	pthread_mutex_lock(&c->lock);
	out->inserted = c->inserted;
	out->batches = c->batches;
	out->retries = c->retries;
	out->dropped = c->dropped;
	out->pending = c->cur.rows + c->pend.rows;
	pthread_mutex_unlock(&c->lock);
}

void ch_status_json(struct ch_store *c, json_t *o)
{
	json_t *hosts = json_array();
	for (size_t i = 0; hosts && i < c->o.nhosts; i++)
		json_array_append_new(hosts, json_string(c->o.hosts[i]));
	pthread_mutex_lock(&c->lock);
	json_object_set_new(o, "Driver", json_string("clickhouse"));
	json_object_set_new(o, "Hosts", hosts ? hosts : json_null());
	json_object_set_new(o, "Host", json_string(c->o.hosts[atomic_load(&c->cur_host)]));
	char t[140];
	snprintf(t, sizeof(t), "%s.%s", c->o.database, c->o.table);
	json_object_set_new(o, "Table", json_string(t));
	json_object_set_new(o, "Cluster", json_string(c->o.cluster));
	json_object_set_new(o, "Connected", json_boolean(c->connected));
	json_object_set_new(o, "SchemaReady", json_boolean(c->schema_ok));
	json_object_set_new(o, "Inserted", json_integer((json_int_t)c->inserted));
	json_object_set_new(o, "Batches", json_integer((json_int_t)c->batches));
	json_object_set_new(o, "Retries", json_integer((json_int_t)c->retries));
	json_object_set_new(o, "DroppedFlows", json_integer((json_int_t)c->dropped));
	json_object_set_new(o, "DroppedBatches", json_integer((json_int_t)c->dropped_batches));
	json_object_set_new(o, "Pending", json_integer((json_int_t)(c->cur.rows + c->pend.rows)));
	json_object_set_new(o, "Filling", json_integer((json_int_t)c->cur.rows));
	json_object_set_new(o, "MaxBufferSize", json_integer((json_int_t)c->o.max_buffer));
	json_object_set_new(o, "Queries", json_integer((json_int_t)c->queries));
	json_object_set_new(o, "QueryErrors", json_integer((json_int_t)c->query_errors));
	json_object_set_new(o, "LastError", json_string(c->last_error));
	pthread_mutex_unlock(&c->lock);
}
