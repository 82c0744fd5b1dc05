/* json_dotted.c - set or delete a dotted key in a JSON object. */
#include "common/json_dotted.h"

#include <errno.h>
#include <string.h>

/* The walk of both: with cow, each object on the way is replaced in its parent by a
 * shallow copy before it is changed (the original may be shared). */
static int dotted_set(json_t *obj, const char *key, json_t *value, int cow)
{
	json_t *o = obj;
	const char *p = key, *dot;
	char part[256];
	while ((dot = strchr(p, '.')) != NULL) {
		size_t len = (size_t)(dot - p);
		if (len >= sizeof(part))
			len = sizeof(part) - 1;
		memcpy(part, p, len);
		part[len] = 0;
		json_t *sub = json_object_get(o, part);
		if (!json_is_object(sub)) {
			if (!value)
				return 0; /* nothing to delete */
			sub = json_object();
			if (!sub || json_object_set_new(o, part, sub)) {
				json_decref(value);
				return -ENOMEM;
			}
		} else if (cow) {
			sub = json_copy(sub);
			if (!sub || json_object_set_new(o, part, sub)) {
				json_decref(value);
				return -ENOMEM;
			}
		}
		o = sub;
		p = dot + 1;
	}
	if (!value) {
		json_object_del(o, p);
		return 0;
	}
	return json_object_set_new(o, p, value) ? -ENOMEM : 0;
}

int json_dotted_set(json_t *obj, const char *key, json_t *value)
{
	return dotted_set(obj, key, value, 0);
}

int json_dotted_set_cow(json_t *obj, const char *key, json_t *value)
{
	return dotted_set(obj, key, value, 1);
}

/* Skydive's DelField: the key, then each object on the way that it left empty. */
int json_dotted_del(json_t *obj, const char *key)
{
	const char *dot = strchr(key, '.');
	if (!dot)
		return json_object_del(obj, key) ? 0 : 1;
	char part[256];
	size_t len = (size_t)(dot - key);
	if (len >= sizeof(part))
		len = sizeof(part) - 1;
	memcpy(part, key, len);
	part[len] = 0;
	json_t *sub = json_object_get(obj, part);
	if (!json_is_object(sub) || !json_dotted_del(sub, dot + 1))
		return 0;
	if (!json_object_size(sub))
		json_object_del(obj, part);
	return 1;
}
