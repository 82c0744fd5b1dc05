/* flow_ingest.c - /ws/agent/flow frames: protobuf-c decoding of flow.Message into the flow
 * store, per agent and per capture counters for /api/status. */
#include "api/flow_ingest.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.pb-c.h"

struct flow_ingest {
	pthread_mutex_t lock;
	struct flow_store *s;
	json_t *hosts; /* the status tree, counters updated in place */
};

struct flow_ingest *flow_ingest_new(struct flow_store *s)
{
	struct flow_ingest *fi = calloc(1, sizeof(*fi));
	if (!fi)
		return NULL;
	if (!(fi->hosts = json_object())) {
		free(fi);
		return NULL;
	}
	pthread_mutex_init(&fi->lock, NULL);
	fi->s = s;
	return fi;
}

void flow_ingest_free(struct flow_ingest *fi)
{
	if (!fi)
		return;
	json_decref(fi->hosts);
	pthread_mutex_destroy(&fi->lock);
	free(fi);
}

static void add(json_t *o, const char *k, int64_t n)
{
	json_t *v = json_object_get(o, k);
	if (v)
		json_integer_set(v, json_integer_value(v) + n);
	else
		json_object_set_new(o, k, json_integer(n));
}

static json_t *child(json_t *o, const char *k)
{
	json_t *c = json_object_get(o, k);
	if (!c && (c = json_object()) && json_object_set_new(o, k, c))
		c = NULL;
	return c;
}

/* The host's counters (lock held); NULL on out of memory. */
static json_t *host_stats(struct flow_ingest *fi, const char *host)
{
	json_t *h = json_object_get(fi->hosts, host);
	if (h)
		return h;
	h = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{}}", "Messages",
	              (json_int_t)0, "Bytes", (json_int_t)0, "DecodeErrors", (json_int_t)0,
	              "Errors", (json_int_t)0, "Flows", (json_int_t)0, "FlowsRejected",
	              (json_int_t)0, "RawPackets", (json_int_t)0, "RawPacketsRejected",
	              (json_int_t)0, "LastMessage", (json_int_t)0, "Captures");
	if (h && json_object_set_new(fi->hosts, host, h))
		return NULL;
	return h;
}

int flow_ingest_frame(struct flow_ingest *fi, const char *host, const uint8_t *buf, size_t len,
                      int64_t now_ms, char *err, size_t errlen)
{
	Flow__Message *m = flow__message__unpack(NULL, len, buf);
	pthread_mutex_lock(&fi->lock);
	json_t *h = host_stats(fi, host);
	if (!h) {
		pthread_mutex_unlock(&fi->lock);
		if (m)
			flow__message__free_unpacked(m, NULL);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	add(h, "Messages", 1);
	add(h, "Bytes", (int64_t)len);
	json_object_set_new(h, "LastMessage", json_integer(now_ms));
	if (!m) {
		add(h, "DecodeErrors", 1);
		pthread_mutex_unlock(&fi->lock);
		snprintf(err, errlen,
		         "a %zu-byte binary frame is not a protobuf flow.Message (proto/flow.proto); "
		         "check the agent's version",
		         len);
		return -EINVAL;
	}
	json_t *caps = child(h, "Captures");
	for (size_t i = 0; i < m->n_flows; i++) {
		const Flow__Flow *f = m->flows[i];
		uint64_t uuid;
		int rc = flow_store_ingest_pb(fi->s, f, now_ms, &uuid);
		if (rc) {
			add(h, "FlowsRejected", 1);
			if (rc == -ENOMEM)
				add(h, "Errors", 1);
			continue;
		}
		add(h, "Flows", 1);
		json_t *c = f->captureid && *f->captureid ? child(caps, f->captureid) : NULL;
		if (c)
			add(c, "Flows", 1);
		for (size_t k = 0; k < f->n_lastrawpackets; k++) {
			const Flow__RawPacket *r = f->lastrawpackets[k];
			if (r->data.len > UINT32_MAX ||
			    flow_store_add_raw(fi->s, uuid, r->timestamp, r->linktype, r->data.data,
			                       (uint32_t)r->data.len))
				add(h, "RawPacketsRejected", 1);
			else
				add(h, "RawPackets", 1);
		}
	}
	const Flow__Stats *st = m->stats;
	json_t *c = st && st->captureid && *st->captureid ? child(caps, st->captureid) : NULL;
	if (c) {
		json_object_set_new(c, "FlowCount", json_integer(st->flowcount));
		json_object_set_new(c, "FlowDropped", json_integer(st->flowdropped));
		json_object_set_new(c, "KernelFlowDropped", json_integer(st->kernelflowdropped));
		json_object_set_new(c, "PacketsReceived", json_integer(st->packetsreceived));
		json_object_set_new(c, "PacketsDropped", json_integer(st->packetsdropped));
		json_object_set_new(c, "Updated", json_integer(now_ms));
	}
	pthread_mutex_unlock(&fi->lock);
	flow__message__free_unpacked(m, NULL);
	return 0;
}

json_t *flow_ingest_status_json(struct flow_ingest *fi)
{
	pthread_mutex_lock(&fi->lock);
	json_t *o = json_deep_copy(fi->hosts);
	pthread_mutex_unlock(&fi->lock);
	return o;
}

void flow_ingest_status_hook(void *user, json_t *status)
{
	json_t *j = flow_ingest_status_json(user);
	if (j)
		json_object_set_new(status, "FlowStats", j);
}
