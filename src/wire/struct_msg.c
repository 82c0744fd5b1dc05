/* struct_msg.c - Skydive's protobuf StructMessage <-> the JSON envelope (struct_msg.h). */
#include "wire/struct_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "structmessage.pb-c.h"

json_t *struct_msg_parse(const void *buf, size_t len, char *err, size_t errlen)
{
	Websocket__StructMessage *m =
	    websocket__struct_message__unpack(NULL, len, (const uint8_t *)buf);
	if (!m) {
		snprintf(err, errlen, "invalid StructMessage (protobuf) of %zu bytes", len);
		return NULL;
	}
	json_t *env = NULL, *obj = NULL;
	if (!m->type || !*m->type) {
		snprintf(err, errlen, "message is not an object with a string Type");
		goto out;
	}
	if (m->format != WEBSOCKET__FORMAT__Json) {
		snprintf(err, errlen,
		         "Obj in protobuf format (Namespace %.64s, Type %.64s) is not served: only "
		         "JSON objects are",
		         m->namespace_ ? m->namespace_ : "", m->type);
		goto out;
	}
	if (m->obj.len) {
		json_error_t je;
		obj = json_loadb((const char *)m->obj.data, m->obj.len, JSON_DECODE_ANY, &je);
		if (!obj) {
			snprintf(err, errlen, "invalid JSON in Obj at line %d, column %d: %s", je.line,
			         je.column, je.text);
			goto out;
		}
	}
	env = json_pack("{s:s, s:s, s:I}", "Namespace", m->namespace_ ? m->namespace_ : "",
	                "Type", m->type, "Status", (json_int_t)m->status);
	if (!env)
		goto oom;
	if (m->uuid && *m->uuid && json_object_set_new(env, "UUID", json_string(m->uuid)))
		goto oom;
	if (obj) {
		int bad = json_object_set_new(env, "Obj", obj);
		obj = NULL; /* the envelope's, or freed by the failed set */
		if (bad)
			goto oom;
	}
out:
	json_decref(obj);
	websocket__struct_message__free_unpacked(m, NULL);
	return env;
oom:
	snprintf(err, errlen, "out of memory (or a string that is not UTF-8)");
	json_decref(env);
	env = NULL;
	goto out;
}

unsigned char *struct_msg_encode(const json_t *env, size_t pre, size_t *len)
{
	const char *type = json_string_value(json_object_get(env, "Type"));
	if (!type)
		return NULL;
	Websocket__StructMessage m = WEBSOCKET__STRUCT_MESSAGE__INIT;
	m.namespace_ = (char *)(json_string_value(json_object_get(env, "Namespace")) ?: "");
	m.type = (char *)type;
	m.uuid = (char *)(json_string_value(json_object_get(env, "UUID")) ?: "");
	json_t *st = json_object_get(env, "Status");
	m.status = json_is_integer(st) ? json_integer_value(st) : 200;
	m.format = WEBSOCKET__FORMAT__Json;
	char *obj = NULL;
	json_t *o = json_object_get(env, "Obj");
	if (o) {
		obj = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!obj)
			return NULL;
		m.obj.data = (uint8_t *)obj;
		m.obj.len = strlen(obj);
	}
	size_t n = websocket__struct_message__get_packed_size(&m);
	unsigned char *b = malloc(pre + n + 1);
	if (b)
		*len = websocket__struct_message__pack(&m, b + pre);
	free(obj);
	return b;
}
