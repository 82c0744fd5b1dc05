/* inject_req.c - the resolved injection request (inject_req.h). */
#include "inject/inject_req.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <pcap/pcap.h>

#include "common/base64.h"
#include "common/util.h"
#include "decode/decode.h"
#include "flow/flow_id.h"
#include "flow/flow_table.h"

/* ---- the request -------------------------------------------------------------- */

void inject_req_clear(struct inject_req *r)
{
	if (!r)
		return;
	free(r->payload);
	free(r->pcap);
	memset(r, 0, sizeof(*r));
}

int inject_req_check(const struct inject_req *r, char *err, size_t errlen)
{
	if (r->count < 1 || r->count > INJECT_MAX_COUNT) {
		snprintf(err, errlen, "Count %llu out of range: 1 to %u packets",
		         (unsigned long long)r->count, INJECT_MAX_COUNT);
		return -EINVAL;
	}
	if (r->interval_ms > INJECT_MAX_INTERVAL_MS) {
		snprintf(err, errlen, "Interval %llu ms out of range: at most %u ms",
		         (unsigned long long)r->interval_ms, INJECT_MAX_INTERVAL_MS);
		return -EINVAL;
	}
	if (r->inc_payload < 0) {
		snprintf(err, errlen, "IncrementPayload %lld is negative", (long long)r->inc_payload);
		return -EINVAL;
	}
	size_t base = r->payload_len ? r->payload_len : INJECT_DEFAULT_PAYLOAD;
	/* the last packet's payload: base + IncrementPayload * (Count - 1), overflow-safe */
	uint64_t grow = (uint64_t)r->inc_payload;
	if (r->count > 1 && grow > (FORGE_MAX_PAYLOAD - base) / (r->count - 1) + 1)
		grow = FORGE_MAX_PAYLOAD; /* surely too much */
	uint64_t last = base + grow * (r->count - 1);
	if (base > FORGE_MAX_PAYLOAD || last > FORGE_MAX_PAYLOAD) {
		snprintf(err, errlen,
		         "the payload would reach %llu bytes (Payload %zu + IncrementPayload %lld x "
		         "(Count - 1)): at most %d",
		         (unsigned long long)(last > base ? last : base), base,
		         (long long)r->inc_payload, FORGE_MAX_PAYLOAD);
		return -EINVAL;
	}
	return 0;
}

int inject_req_set_pcap(struct inject_req *r, const char *b64, size_t len, uint8_t *first,
                        size_t firstcap, size_t *first_len, char *err, size_t errlen)
{
	size_t cap = BASE64_DECODED_MAX(len);
	uint8_t *buf = malloc(cap ? cap : 1);
	if (!buf)
		return -ENOMEM;
	long n = base64_decode(buf, cap, b64, len, 0);
	if (n < 0 || (size_t)n > INJECT_MAX_PCAP) {
		free(buf);
		snprintf(err, errlen, n < 0 ? "Pcap is not base64 (a capture file's bytes, as "
		                              "Skydive's client sends them)"
		                            : "Pcap of %ld bytes: at most %u (the agents' message "
		                              "bound)",
		         n, INJECT_MAX_PCAP);
		return -EINVAL;
	}
	FILE *f = fmemopen(buf, (size_t)n ? (size_t)n : 1, "rb");
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = f && n ? pcap_fopen_offline(f, perr) : NULL;
	if (!p) {
		if (f)
			fclose(f);
		free(buf);
		snprintf(err, errlen, "Pcap is not a capture file: %s", n ? perr : "empty");
		return -EINVAL;
	}
	int dlt = pcap_datalink(p);
	uint64_t count = 0;
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		if (!count && first) {
			size_t c = h->caplen < firstcap ? h->caplen : firstcap;
			memcpy(first, d, c);
			*first_len = c;
		}
		count++;
	}
	if (rc == PCAP_ERROR)
		snprintf(perr, sizeof(perr), "%s", pcap_geterr(p));
	pcap_close(p); /* closes f */
	if (dlt != DLT_EN10MB || rc == PCAP_ERROR || !count) {
		free(buf);
		if (dlt != DLT_EN10MB)
			snprintf(err, errlen, "Pcap's link type is %s: only Ethernet frames can be "
			                      "injected", pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "unknown");
		else if (rc == PCAP_ERROR)
			snprintf(err, errlen, "Pcap is cut or corrupt after %llu frames: %s",
			         (unsigned long long)count, perr);
		else
			snprintf(err, errlen, "Pcap has no frame");
		return -EINVAL;
	}
	free(r->pcap);
	r->pcap = buf;
	r->pcap_len = (size_t)n;
	r->pcap_packets = count;
	return 0;
}

json_t *inject_req_to_json(const struct inject_req *r)
{
	char sip[46], dip[46], smac[18], dmac[18];
	int ver = forge_type_v6(r->type) ? 6 : 4;
	fmt_ip(sip, ver, r->src_ip);
	fmt_ip(dip, ver, r->dst_ip);
	fmt_mac(smac, r->src_mac);
	fmt_mac(dmac, r->dst_mac);
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:i, s:s, s:I, s:i, s:I, s:s, s:I, s:s, "
	                 "s:i}",
	                 "UUID", r->uuid, "SrcIP", sip, "SrcMAC", smac, "SrcPort", r->src_port,
	                 "DstIP", dip, "DstMAC", dmac, "DstPort", r->dst_port, "Type",
	                 forge_type_name(r->type), "Count", (json_int_t)r->count, "ICMPID",
	                 r->icmp_id, "Interval", (json_int_t)r->interval_ms, "Mode",
	                 r->mode_random ? "random" : "unique", "IncrementPayload",
	                 (json_int_t)r->inc_payload, "Payload", r->payload ? r->payload : "",
	                 "TTL", r->ttl);
	if (o && r->pcap) {
		char *b = base64_encode_alloc(r->pcap, r->pcap_len, NULL);
		if (!b || json_object_set_new(o, "Pcap", json_string(b))) {
			json_decref(o);
			o = NULL;
		}
		free(b);
	}
	return o;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An integer field in [0, max] (absent: 0). */
static int get_uint(const json_t *o, const char *k, uint64_t max, uint64_t *out, char *err,
                    size_t errlen)
{
	json_t *v = json_object_get(o, k);
	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return fail(err, errlen, "%s must be an integer from 0 to %llu", k,
		            (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

int inject_req_from_json(const json_t *o, struct inject_req *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return fail(err, errlen, "the request is not an object");
	const char *uuid = json_string_value(json_object_get(o, "UUID"));
	const char *type = json_string_value(json_object_get(o, "Type"));
	const char *mode = json_string_value(json_object_get(o, "Mode"));
	const char *payload = json_string_value(json_object_get(o, "Payload"));
	if (!uuid || strlen(uuid) != 36)
		return fail(err, errlen, "UUID missing or malformed");
	snprintf(r->uuid, sizeof(r->uuid), "%s", uuid);
	if (forge_type_parse(type, &r->type))
		return fail(err, errlen, "Type '%s' not one of icmp4, icmp6, tcp4, tcp6, udp4, udp6",
		            type ? type : "");
	if (mode && strcmp(mode, "unique") && strcmp(mode, "random"))
		return fail(err, errlen, "Mode '%s' not one of unique, random", mode);
	r->mode_random = mode && !strcmp(mode, "random");
	int af = forge_type_v6(r->type) ? AF_INET6 : AF_INET;
	static const char *const ipk[2] = {"SrcIP", "DstIP"}, *const mack[2] = {"SrcMAC", "DstMAC"};
	for (int i = 0; i < 2; i++) {
		const char *ip = json_string_value(json_object_get(o, ipk[i]));
		if (!ip || inet_pton(af, ip, i ? r->dst_ip : r->src_ip) != 1)
			return fail(err, errlen, "%s '%s' is not an IPv%d address", ipk[i],
			            ip ? ip : "", af == AF_INET ? 4 : 6);
		const char *mac = json_string_value(json_object_get(o, mack[i]));
		if (!mac || parse_mac(mac, i ? r->dst_mac : r->src_mac))
			return fail(err, errlen, "%s '%s' is not a MAC address", mack[i],
			            mac ? mac : "");
	}
	uint64_t sp, dp, id, ttl, inc;
	if (get_uint(o, "SrcPort", 65535, &sp, err, errlen) ||
	    get_uint(o, "DstPort", 65535, &dp, err, errlen) ||
	    get_uint(o, "ICMPID", 65535, &id, err, errlen) ||
	    get_uint(o, "TTL", 255, &ttl, err, errlen) ||
	    get_uint(o, "Count", INJECT_MAX_COUNT, &r->count, err, errlen) ||
	    get_uint(o, "Interval", INJECT_MAX_INTERVAL_MS, &r->interval_ms, err, errlen) ||
	    get_uint(o, "IncrementPayload", FORGE_MAX_PAYLOAD, &inc, err, errlen))
		return -EINVAL;
	r->src_port = (uint16_t)sp;
	r->dst_port = (uint16_t)dp;
	r->icmp_id = (uint16_t)id;
	r->ttl = (uint8_t)ttl;
	r->inc_payload = (int64_t)inc;
	if (json_object_get(o, "Payload") && !payload)
		return fail(err, errlen, "Payload must be a string");
	r->payload_len = payload ? json_string_length(json_object_get(o, "Payload")) : 0;
	if (r->payload_len > FORGE_MAX_PAYLOAD)
		return fail(err, errlen, "Payload of %zu bytes: at most %d", r->payload_len,
		            FORGE_MAX_PAYLOAD);
	if (!(r->payload = malloc(r->payload_len + 1)))
		return fail(err, errlen, "out of memory");
	if (r->payload_len)
		memcpy(r->payload, payload, r->payload_len);
	r->payload[r->payload_len] = 0;
	int rc = 0;
	json_t *pc = json_object_get(o, "Pcap");
	if (pc && !json_is_string(pc))
		rc = fail(err, errlen, "Pcap must be a string (base64)");
	else if (pc && json_string_length(pc))
		rc = inject_req_set_pcap(r, json_string_value(pc), json_string_length(pc), NULL, 0,
		                         NULL, err, errlen);
	/* Skydive's pcap.go: Count 0 replays the file once */
	if (!rc && r->pcap && !r->count)
		r->count = r->pcap_packets;
	if (!rc)
		rc = inject_req_check(r, err, errlen);
	if (rc)
		inject_req_clear(r);
	return rc;
}

/* ---- TrackingID ---------------------------------------------------------------- */

uint32_t inject_rand32(void)
{
	uint32_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)time_now_ns(); /* no entropy: still differs per call */
	return v;
}

int inject_req_frame(const struct inject_req *r, uint64_t i, uint16_t id, uint16_t sport,
                     uint32_t tcp_seq, const uint8_t *payload, size_t payload_len,
                     uint8_t *buf, size_t cap)
{
	struct forge_spec s = {.type = r->type,
	                       .src_port = sport,
	                       .dst_port = r->dst_port,
	                       .icmp_id = id,
	                       .icmp_seq = (uint16_t)i,
	                       .ttl = r->ttl,
	                       .tcp_seq = tcp_seq,
	                       .payload = payload,
	                       .payload_len = payload_len};
	memcpy(s.src_mac, r->src_mac, 6);
	memcpy(s.dst_mac, r->dst_mac, 6);
	memcpy(s.src_ip, r->src_ip, 16);
	memcpy(s.dst_ip, r->dst_ip, 16);
	return forge_frame(&s, buf, cap);
}

struct tid_ctx {
	enum flow_key_mode mode;
	char *tid, *l3;
	int found;
};

static void tid_emit(void *user, const struct flow_table *t, const struct flow *f,
                     enum flow_event ev, int64_t lu_start_ms, int64_t lu_last_ms)
{
	struct tid_ctx *c = user;
	struct flow_ids ids;
	if (c->found || f->parent_uuid)
		return; /* the outer flow: injected frames have no tunnel anyway */
	flow_ids_compute(f, c->mode, NULL, &ids);
	fmt_hex_u64(c->tid, ids.l2);
	fmt_hex_u64(c->l3, ids.l3);
	c->found = 1;
}

int inject_tracking_ids(const uint8_t *frame, size_t len, enum flow_key_mode mode,
                        char tid[17], char l3[17])
{
	struct tid_ctx c = {.mode = mode, .tid = tid, .l3 = l3};
	struct flow_table_opts o = {.key_mode = mode, .max_flows = 1};
	char err[128];
	struct flow_table *t = flow_table_new(&o, tid_emit, NULL, &c, err, sizeof(err));
	if (!t)
		return -ENOMEM;
	flow_table_feed(t, DECODE_LINKTYPE_ETHERNET, frame, (uint32_t)len, (uint32_t)len,
	                time_now_ns());
	flow_table_flush(t);
	flow_table_free(t);
	return c.found ? 0 : -EINVAL;
}
