/* rest_pcap.c - pcap import into the flow store (POST /api/pcap) and pcap export of
 * RawPackets() results. */
#include "analyzer/rest_pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/capture.h"
#include "capture/pcap_out.h"
#include "common/base64.h"
#include "common/util.h"
#include "decode/decode.h"
#include "flow/flow_loop.h"


/* ---- raw packets of an import ------------------------------------------------------ *
 * The table hands each kept frame once, with the flows that keep it (the outer and
 * inner flows of a tunnel share it). A flow's UUID is known only when the store takes
 * it, so the import keeps the frame (bytes once), notes it under each keeping flow's
 * table key and start, and gives each flow its frames when the file is done. */

struct imp_frame {
	uint64_t ts_ns;
	size_t off;
	uint32_t len, wirelen;
};

struct imp_ref {
	uint64_t key, start_ns; /* the keeping flow: table key and start */
	uint32_t frame;
};

struct imp_flow {
	uint64_t uuid, key, start_ns;
	uint32_t n;
};

struct import {
	struct flow_store *s;
	const struct rest_pcap_opts *o;
	struct flow_table *t;
	int linktype;
	int64_t now_ms;
	uint64_t flows;
	size_t raw_cap; /* bytes of frames this import may keep */
	uint8_t *data;
	size_t data_len, data_cap;
	struct imp_frame *frames;
	size_t nframes, frames_cap;
	struct imp_ref *refs;
	size_t nrefs, refs_cap;
	struct imp_flow *pend;
	size_t npend, pend_cap;
	int oom;
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 256;
	while (nc < need)
		nc *= 2;
	void *np = realloc(*p, nc * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = nc;
	return 0;
}

static int on_raw_flows(void *user, const struct flow_table *t, const struct flow *const *flows,
			int nflows, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
			uint64_t ts_ns)
{
	struct import *im = user;
	if (im->data_len + caplen > im->raw_cap)
		return 1;
	if (grow((void **)&im->data, &im->data_cap, im->data_len + caplen, 1) ||
	    grow((void **)&im->frames, &im->frames_cap, im->nframes + 1, sizeof(*im->frames)) ||
	    grow((void **)&im->refs, &im->refs_cap, im->nrefs + (size_t)nflows, sizeof(*im->refs))) {
		im->oom = 1;
		return 1;
	}
	for (int i = 0; i < nflows; i++)
		im->refs[im->nrefs++] = (struct imp_ref){
		    .key = flows[i]->hkey, .start_ns = flows[i]->start_ns, .frame = (uint32_t)im->nframes};
	memcpy(im->data + im->data_len, data, caplen);
	im->frames[im->nframes++] = (struct imp_frame){ts_ns, im->data_len, caplen, wirelen};
	im->data_len += caplen;
	return 0;
}

static void on_emit(void *user, const struct flow_table *t, const struct flow *f,
		    enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms)
{
	struct import *im = user;
	uint64_t uuid;
	/* Every update is stored, as an agent's would be: the store keeps them as
	 * the flow's metric history (Metrics(), Aggregates()); a flow counts once,
	 * when it leaves the table. */
	if (flow_store_ingest(im->s, t, f, lu_start_ms, lu_last_ms,
			      im->o->node_tid && *im->o->node_tid ? im->o->node_tid : NULL,
			      im->now_ms, &uuid)) {
		im->oom = 1;
		return;
	}
	if (ev != FLOW_EV_EXPIRE)
		return;
	im->flows++;
	if (!f->raw_captured)
		return;
	if (grow((void **)&im->pend, &im->pend_cap, im->npend + 1, sizeof(*im->pend))) {
		im->oom = 1;
		return;
	}
	im->pend[im->npend++] = (struct imp_flow){
	    .uuid = uuid, .key = f->hkey, .start_ns = f->start_ns, .n = f->raw_captured};
}

static int ref_cmp(const void *a, const void *b)
{
	const struct imp_ref *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static void attach_raw(struct import *im, struct rest_pcap_result *r)
{
	if (!im->npend)
		return;
	qsort(im->refs, im->nrefs, sizeof(*im->refs), ref_cmp);
	for (size_t i = 0; i < im->npend; i++) {
		const struct imp_flow *p = &im->pend[i];
		struct imp_ref want = {p->key, p->start_ns, 0};
		size_t lo = 0, hi = im->nrefs;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (ref_cmp(&im->refs[mid], &want) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		uint32_t got = 0;
		for (size_t k = lo; k < im->nrefs && im->refs[k].key == p->key &&
				    im->refs[k].start_ns == p->start_ns && got < p->n;
		     k++) {
			const struct imp_frame *fr = &im->frames[im->refs[k].frame];
			if (flow_store_add_raw_ns(im->s, p->uuid, (int64_t)fr->ts_ns,
						  (uint32_t)im->linktype, im->data + fr->off,
						  fr->len, fr->wirelen) == 0)
				r->raw_kept++;
			else
				r->raw_dropped++;
			got++;
		}
	}
}

int rest_pcap_ingest(struct flow_store *s, const char *path, const struct rest_pcap_opts *o,
		     struct rest_pcap_result *r)
{
	memset(r, 0, sizeof(*r));
	struct import im = {.s = s, .o = o, .now_ms = o->now_ms};
	if (!im.now_ms) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		im.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	im.raw_cap = 64u << 20; /* a sane bound per import; the store's budget also applies */
	char err[512];
	struct capture *cap = capture_open_file(path, err, sizeof(err));
	if (!cap) {
		/* the path is our temporary file: name the body instead */
		const char *m = strstr(err, ": ");
		snprintf(r->err, sizeof(r->err), "the body is not a pcap or pcapng stream (%.400s)",
			 m ? m + 2 : err);
		return -EINVAL;
	}
	im.linktype = capture_linktype(cap);
	if (!decode_linktype_supported(im.linktype, err, sizeof(err))) {
		capture_close(cap); /* else the import "succeeds" with 0 flows */
		snprintf(r->err, sizeof(r->err), "the capture's %.400s", err);
		return -EINVAL;
	}
	struct flow_table_opts to = {.raw_packet_limit = o->raw_packet_limit,
				     .node_tid = o->node_tid};
	im.t = flow_table_new(&to, on_emit, NULL, &im, err, sizeof(err));
	if (!im.t) {
		capture_close(cap);
		snprintf(r->err, sizeof(r->err), "%s", err);
		return -EINVAL;
	}
	flow_table_set_raw_flows(im.t, on_raw_flows);
	struct flow_loop_opts lo = {0}; /* the file to its end, packet time; flushed */
	if (flow_loop_run(cap, im.t, &lo)) {
		r->corrupt = 1;
		snprintf(r->err, sizeof(r->err), "corrupt capture stream: %.400s (the flows before "
			 "it are stored)", capture_error(cap));
	}
	const struct flow_stats *fs = flow_table_stats(im.t);
	r->packets = fs->packets;
	r->flows = im.flows;
	attach_raw(&im, r);
	r->raw_dropped += fs->raw_dropped;
	int rc = 0;
	if (im.oom && !r->corrupt) {
		snprintf(r->err, sizeof(r->err),
			 "out of memory storing the flows: %llu stored; raise the analyzer's memory "
			 "or lower analyzer.flow.max_flows",
			 (unsigned long long)im.flows);
		rc = -ENOMEM;
	}
	flow_table_free(im.t);
	capture_close(cap);
	flow_store_commit(s); /* one import, one write batch */
	free(im.data);
	free(im.frames);
	free(im.refs);
	free(im.pend);
	return rc;
}

/* rawpacketlimit=N from a query string; 0 when absent, -1 on a bad value. */
static int query_limit(const char *q, int64_t *out)
{
	*out = 0;
	for (const char *p = q; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		if (n > 15 && !strncasecmp(p, "rawpacketlimit=", 15)) {
			char v[32];
			snprintf(v, sizeof(v), "%.*s", (int)(n - 15), p + 15);
			if (parse_i64(v, -1, INT32_MAX, out))
				return -1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

void rest_pcap_handle(const struct rest_ctx *c, const char *path, const char *query,
		      const char *node_tid, struct rest_response *out)
{
	memset(out, 0, sizeof(*out));
	struct flow_store *s = flow_store_from_ops(c->flow_ops);
	if (!s) {
		rest_reply_error(out, 503,
				 "this server keeps no flows (POST /api/pcap goes to an analyzer)");
		return;
	}
	struct rest_pcap_opts o = {.node_tid = node_tid};
	if (query_limit(query, &o.raw_packet_limit)) {
		rest_reply_error(out, 400,
				 "rawpacketlimit must be -1 (every packet), 0 (none) or N > 0");
		return;
	}
	struct rest_pcap_result r;
	int rc = rest_pcap_ingest(s, path, &o, &r);
	json_t *j = json_pack("{s:I,s:I}", "Packets", (json_int_t)r.packets, "Flows",
			      (json_int_t)r.flows);
	if (j && o.raw_packet_limit)
		json_object_set_new(j, "RawPackets", json_integer((json_int_t)r.raw_kept));
	if (rc || r.corrupt) {
		if (j)
			json_object_set_new(j, "Error", json_string(r.err));
		rest_reply_json(out, rc == -ENOMEM ? 500 : 400, j);
		return;
	}
	rest_reply_json(out, 202, j);
}

/* ---- RawPackets() -> pcap ---------------------------------------------------------- */

struct out_pkt {
	int64_t ts_ns;
	uint32_t linktype, wirelen; /* wirelen 0: the data's length */
	const char *b64;            /* JSON input: base64 of the bytes */
	const uint8_t *data;        /* typed input: caplen bytes (b64 NULL) */
	uint32_t caplen;
	size_t order;
};

static int pkt_cmp(const void *a, const void *b)
{
	const struct out_pkt *x = a, *y = b;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Writes the n packets of p (sorted) as one pcap into *out (see rest_pcap_from_pkts). */
static int write_pcap(const struct out_pkt *p, size_t np, char **out, size_t *len, size_t *skipped,
		      char *err, size_t errlen)
{
	int nano = 0;
	for (size_t i = 0; i < np && !nano; i++)
		nano = p[i].ts_ns % 1000 != 0;
	FILE *fp = open_memstream(out, len);
	if (!fp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct pcap_out *po = pcap_out_open_ts(fp, np ? (int)p[0].linktype : 1, nano, err, errlen);
	uint8_t *buf = NULL;
	int rc = po ? 0 : -ENOMEM;
	for (size_t i = 0; po && i < np && !rc; i++) {
		if (p[i].linktype != p[0].linktype) {
			(*skipped)++;
			continue;
		}
		const uint8_t *d = p[i].data;
		uint32_t n = p[i].caplen;
		if (!d) { /* JSON: base64 */
			size_t tl = strlen(p[i].b64);
			uint8_t *nb = realloc(buf, BASE64_DECODED_MAX(tl));
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			long dn = base64_decode(buf, BASE64_DECODED_MAX(tl), p[i].b64, tl, 0);
			if (dn < 0) {
				(*skipped)++;
				continue;
			}
			d = buf;
			n = (uint32_t)dn;
		}
		uint32_t wl = p[i].wirelen > n ? p[i].wirelen : n;
		if (pcap_out_write(po, d, n, wl, (uint64_t)p[i].ts_ns))
			rc = -ENOMEM;
	}
	free(buf);
	if (po && pcap_out_close(po) && !rc)
		rc = -ENOMEM;
	fclose(fp);
	if (rc) {
		snprintf(err, errlen, "out of memory writing the pcap");
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return rc;
}

int rest_pcap_from_pkts(const struct gremlin_raw_pkt *const *pkts, size_t n, char **out,
			size_t *len, size_t *skipped, char *err, size_t errlen)
{
	*out = NULL;
	*len = 0;
	*skipped = 0;
	struct out_pkt *p = malloc((n + 1) * sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (struct out_pkt){.ts_ns = pkts[i]->ts_ns, .linktype = pkts[i]->linktype,
					.wirelen = pkts[i]->wirelen, .data = pkts[i]->data,
					.caplen = pkts[i]->caplen, .order = i};
	if (n)
		qsort(p, n, sizeof(*p), pkt_cmp);
	int rc = write_pcap(p, n, out, len, skipped, err, errlen);
	free(p);
	return rc;
}

int rest_pcap_from_raw(const json_t *result, char **out, size_t *len, size_t *skipped, char *err,
		       size_t errlen)
{
	*out = NULL;
	*len = 0;
	*skipped = 0;
	struct out_pkt *p = NULL;
	size_t np = 0, cap = 0, i, j;
	json_t *e, *pk;
	const char *k;
	json_t *list;
	int rc = -EINVAL;
	if (!json_is_array(result))
		goto bad;
	json_array_foreach(result, i, e)
	{
		if (!json_is_object(e))
			goto bad;
		json_object_foreach((json_t *)e, k, list)
		{
			if (!json_is_array(list))
				goto bad;
			json_array_foreach(list, j, pk)
			{
				const char *d = json_string_value(json_object_get(pk, "Data"));
				json_t *ts = json_object_get(pk, "Timestamp");
				if (!d || !json_is_integer(ts))
					goto bad;
				if (grow((void **)&p, &cap, np + 1, sizeof(*p))) {
					rc = -ENOMEM;
					snprintf(err, errlen, "out of memory");
					goto out;
				}
				/* TimestampNs and WireLen when the store has them (ours) */
				json_t *tns = json_object_get(pk, "TimestampNs");
				json_int_t wl = json_integer_value(json_object_get(pk, "WireLen"));
				p[np] = (struct out_pkt){
				    .ts_ns = json_is_integer(tns) ? json_integer_value(tns)
								  : json_integer_value(ts) * 1000000,
				    .linktype = (uint32_t)json_integer_value(json_object_get(pk, "LinkType")),
				    .wirelen = wl > 0 && wl <= UINT32_MAX ? (uint32_t)wl : 0,
				    .b64 = d,
				    .order = np};
				np++;
			}
		}
	}
	if (np) /* p is NULL without packets: qsort's base may not be */
		qsort(p, np, sizeof(*p), pkt_cmp);
	rc = write_pcap(p, np, out, len, skipped, err, errlen);
	goto out;
bad:
	snprintf(err, errlen,
		 "pcap output needs a query ending in RawPackets(), e.g. "
		 "G.Flows().Has('Application','ICMPv4').RawPackets()");
out:
	free(p);
	return rc;
}
