/* fuzz_flow_pbdec.c - libFuzzer target for the ingest's one-pass flow.Message decoder
 * (src/store/flow_pbdec.c) against protobuf-c's own unpack of the same bytes.
 *
 * The input is one frame as an agent sends it on /ws/agent/flow (seeds: the frames of
 * fuzz/corpus/flow_pb, made by the agent's encoder, and hand-made odd encodings). Checks:
 *  - when the one-pass decoder takes the frame, protobuf-c unpacks it too, and the two
 *    messages are equal field by field, compared through protobuf-c's descriptors (every
 *    field of every message, repeated ones in order, strings and bytes by content, and
 *    the unknown fields protobuf-c keeps: the one-pass decoder has none, so it must not
 *    take a frame that has any);
 *  - when protobuf-c refuses the frame, the one-pass decoder does not take it;
 *  - flow_pbdec_unpack answers as protobuf-c does (a message equal to its, or NULL). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.pb-c.h"
#include "fuzz_check.h"
#include "store/flow_pbdec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_INPUT (256u << 10)

/* An arena: every piece on a list, all freed at the end (the decoder's contract). */
struct piece {
	struct piece *next;
	max_align_t data[];
};

static void *fz_alloc(void *u, size_t n)
{
	struct piece **head = u, *p = malloc(sizeof(*p) + n);
	if (!p)
		return NULL;
	p->next = *head;
	*head = p;
	return p->data;
}

static void fz_free(void *u, void *p)
{
	(void)u;
	(void)p;
}

static void fz_reset(struct piece **head)
{
	while (*head) {
		struct piece *n = (*head)->next;
		free(*head);
		*head = n;
	}
}

static int msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b);

static int value_equal(const ProtobufCFieldDescriptor *f, const void *x, const void *y)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return !memcmp(x, y, 8);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		return !memcmp(x, y, 4);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)x, *t = *(char *const *)y;
		return s && t ? !strcmp(s, t) : s == t;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *s = x, *t = y;
		return s->len == t->len && (!s->len || !memcmp(s->data, t->data, s->len));
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *s = *(ProtobufCMessage *const *)x;
		const ProtobufCMessage *t = *(ProtobufCMessage *const *)y;
		return s && t ? msg_equal(s, t) : s == t;
	}
	default:
		return 0; /* no other type in flow.proto */
	}
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return 8;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return sizeof(void *);
	}
}

static int msg_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	if (a->descriptor != b->descriptor || a->n_unknown_fields != b->n_unknown_fields)
		return 0;
	for (unsigned i = 0; i < a->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &a->unknown_fields[i], *v = &b->unknown_fields[i];
		if (u->tag != v->tag || u->wire_type != v->wire_type || u->len != v->len ||
		    (u->len && memcmp(u->data, v->data, u->len)))
			return 0;
	}
	const ProtobufCMessageDescriptor *d = a->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *x = (const char *)a + f->offset, *y = (const char *)b + f->offset;
		if (f->label != PROTOBUF_C_LABEL_REPEATED) {
			if (!value_equal(f, x, y))
				return 0;
			continue;
		}
		size_t n = *(const size_t *)(const void *)((const char *)a + f->quantifier_offset);
		size_t m = *(const size_t *)(const void *)((const char *)b + f->quantifier_offset);
		if (n != m)
			return 0;
		const char *ax = *(char *const *)(const void *)x, *bx = *(char *const *)(const void *)y;
		for (size_t k = 0; k < n; k++)
			if (!value_equal(f, ax + k * elem_size(f), bx + k * elem_size(f)))
				return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZ_MAX_INPUT)
		return 0;
	struct piece *heap = NULL;
	ProtobufCAllocator a = {fz_alloc, fz_free, &heap};
	Flow__Message *ref = flow__message__unpack(&a, size, data);
	Flow__Message *fast = NULL;
	int rc = flow_pbdec_fast(&a, size, data, &fast);
	CHECK(rc == 0 || rc == 1); /* -ENOMEM only when malloc fails */
	CHECK((rc == 1) == (fast != NULL));
	if (fast) {
		CHECK(ref != NULL);
		CHECK(msg_equal(&ref->base, &fast->base));
	}
	Flow__Message *any = flow_pbdec_unpack(&a, size, data);
	CHECK((any != NULL) == (ref != NULL));
	if (any)
		CHECK(msg_equal(&ref->base, &any->base));
	fz_reset(&heap);
	return 0;
}
