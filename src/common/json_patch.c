/* json_patch.c - RFC 6902 JSON Patch, RFC 6901 JSON Pointer (json_patch.h). */
#include "common/json_patch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_TOKENS (JSON_PATCH_MAX_POINTER / 2 + 1)

/* A pointer split into its unescaped reference tokens (in buf). */
struct ptr {
	char buf[JSON_PATCH_MAX_POINTER + 1];
	const char *tok[MAX_TOKENS];
	size_t n;
};

__attribute__((format(printf, 4, 5))) static int bad(char *err, size_t errlen, int rc,
						     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* "" is the whole document; otherwise "/" then tokens split by "/", with
 * "~1" for "/" and "~0" for "~". 0, -EINVAL or -E2BIG. */
static int ptr_parse(const char *s, struct ptr *p, char *err, size_t errlen)
{
	size_t len = strlen(s);
	p->n = 0;
	if (len > JSON_PATCH_MAX_POINTER)
		return bad(err, errlen, -E2BIG, "pointer longer than %d bytes",
			   JSON_PATCH_MAX_POINTER);
	if (!len)
		return 0;
	if (s[0] != '/')
		return bad(err, errlen, -EINVAL, "pointer '%.64s' does not start with '/'", s);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/') {
			p->buf[o++] = 0;
			p->tok[p->n++] = p->buf + o;
			continue;
		}
		if (s[i] == '~') {
			if (s[i + 1] != '0' && s[i + 1] != '1')
				return bad(err, errlen, -EINVAL,
					   "pointer '%.64s': '~' must be followed by 0 or 1", s);
			p->buf[o++] = s[i + 1] == '0' ? '~' : '/';
			i++;
			continue;
		}
		p->buf[o++] = s[i];
	}
	p->buf[o] = 0;
	return 0;
}

/* An array index token: digits without a leading zero. 0 or -1. */
static int index_of(const char *t, size_t *out)
{
	if (!*t || (t[0] == '0' && t[1]))
		return -1;
	size_t v = 0;
	for (; *t; t++) {
		if (*t < '0' || *t > '9' || v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*t - '0');
	}
	*out = v;
	return 0;
}

/* The value at tokens [0, n) of p below root, borrowed; NULL when absent. */
static json_t *walk(json_t *root, const struct ptr *p, size_t n)
{
	json_t *v = root;
	for (size_t i = 0; v && i < n; i++) {
		size_t k;
		if (json_is_object(v))
			v = json_object_get(v, p->tok[i]);
		else if (json_is_array(v) && !index_of(p->tok[i], &k))
			v = json_array_get(v, k);
		else
			v = NULL;
	}
	return v;
}

/* Adds value (stolen) at p: 0 or -EINVAL/-ENOMEM. */
static int do_add(json_t **root, const struct ptr *p, json_t *value, const char *path, char *err,
		  size_t errlen)
{
	if (!p->n) {
		json_decref(*root);
		*root = value;
		return 0;
	}
	json_t *parent = walk(*root, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	size_t k;
	int rc;
	if (json_is_object(parent)) {
		rc = json_object_set_new(parent, last, value);
	} else if (json_is_array(parent)) {
		if (!strcmp(last, "-"))
			k = json_array_size(parent);
		else if (index_of(last, &k) || k > json_array_size(parent)) {
			json_decref(value);
			return bad(err, errlen, -EINVAL, "path '%.200s': no index %.32s in an array of %zu",
				   path, last, json_array_size(parent));
		}
		rc = json_array_insert_new(parent, k, value);
	} else {
		json_decref(value);
		return bad(err, errlen, -EINVAL, "path '%.200s': its parent does not exist", path);
	}
	return rc ? bad(err, errlen, -ENOMEM, "out of memory") : 0;
}

/* Removes the value at p (which must exist). */
static int do_remove(json_t *root, const struct ptr *p, const char *path, char *err, size_t errlen)
{
	if (!p->n)
		return bad(err, errlen, -EINVAL, "the whole document cannot be removed");
	json_t *parent = walk(root, p, p->n - 1);
	const char *last = p->tok[p->n - 1];
	size_t k;
	if (json_is_object(parent) && json_object_get(parent, last))
		return json_object_del(parent, last) ? bad(err, errlen, -ENOMEM, "out of memory") : 0;
	if (json_is_array(parent) && !index_of(last, &k) && k < json_array_size(parent))
		return json_array_remove(parent, k) ? bad(err, errlen, -ENOMEM, "out of memory") : 0;
	return bad(err, errlen, -EINVAL, "path '%.200s' does not exist", path);
}

/* Values in v (itself included), counting no further than limit. */
static size_t nodes(const json_t *v, size_t limit)
{
	size_t n = 1;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c) {
			if (n > limit)
				break;
			n += nodes(c, limit - n);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v) && n <= limit; i++)
			n += nodes(json_array_get(v, i), limit - n);
	}
	return n;
}

static const char *const ops[] = {"add", "remove", "replace", "move", "copy", "test"};
enum { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST, OP_N };

/* The op of operation i, checked; -1 with err filled. */
static int check_op(const json_t *o, size_t i, char *err, size_t errlen)
{
	if (!json_is_object(o))
		return bad(err, errlen, -1, "operation %zu is not an object", i);
	const char *op = json_string_value(json_object_get(o, "op"));
	int k;
	for (k = 0; op && k < OP_N; k++)
		if (!strcmp(op, ops[k]))
			break;
	if (!op || k == OP_N)
		return bad(err, errlen, -1,
			   "operation %zu: 'op' must be add, remove, replace, move, copy or test", i);
	if (!json_is_string(json_object_get(o, "path")))
		return bad(err, errlen, -1, "operation %zu (%s): 'path' must be a string", i, op);
	if ((k == OP_ADD || k == OP_REPLACE || k == OP_TEST) && !json_object_get(o, "value"))
		return bad(err, errlen, -1, "operation %zu (%s): missing 'value'", i, op);
	if ((k == OP_MOVE || k == OP_COPY) && !json_is_string(json_object_get(o, "from")))
		return bad(err, errlen, -1, "operation %zu (%s): 'from' must be a string", i, op);
	return k;
}

int json_patch_check(const json_t *patch, char *err, size_t errlen)
{
	if (!json_is_array(patch))
		return bad(err, errlen, -EINVAL, "a JSON Patch is an array of operations");
	if (json_array_size(patch) > JSON_PATCH_MAX_OPS)
		return bad(err, errlen, -E2BIG, "more than %d operations", JSON_PATCH_MAX_OPS);
	for (size_t i = 0; i < json_array_size(patch); i++)
		if (check_op(json_array_get(patch, i), i, err, errlen) < 0)
			return -EINVAL;
	return 0;
}

/* One operation on *root. */
static int apply_one(json_t **root, const json_t *o, size_t i, size_t *copied, char *err,
		     size_t errlen)
{
	char why[300];
	int k = check_op(o, i, err, errlen);
	if (k < 0)
		return -EINVAL;
	const char *path = json_string_value(json_object_get(o, "path"));
	const char *from = json_string_value(json_object_get(o, "from"));
	json_t *value = json_object_get(o, "value");
	static __thread struct ptr p, f; /* 5 KiB each: off the stack, one per thread */
	int rc = ptr_parse(path, &p, why, sizeof(why));
	if (!rc && from)
		rc = ptr_parse(from, &f, why, sizeof(why));
	if (rc)
		return bad(err, errlen, rc, "operation %zu (%s): %s", i, ops[k], why);
	json_t *target = walk(*root, &p, p.n);
	switch (k) {
	case OP_ADD:
		value = json_deep_copy(value);
		rc = value ? do_add(root, &p, value, path, why, sizeof(why)) : -ENOMEM;
		break;
	case OP_REMOVE:
		rc = do_remove(*root, &p, path, why, sizeof(why));
		break;
	case OP_REPLACE:
		if (!target) {
			rc = bad(why, sizeof(why), -EINVAL, "path '%.200s' does not exist", path);
			break;
		}
		value = json_deep_copy(value);
		if (!value) {
			rc = -ENOMEM;
			break;
		}
		/* an object member is replaced in place; an array element removed,
		 * then inserted at its index */
		rc = p.n && json_is_array(walk(*root, &p, p.n - 1))
			 ? do_remove(*root, &p, path, why, sizeof(why))
			 : 0;
		if (rc)
			json_decref(value);
		else
			rc = do_add(root, &p, value, path, why, sizeof(why));
		break;
	case OP_MOVE:
	case OP_COPY: {
		json_t *src = walk(*root, &f, f.n);
		if (!src) {
			rc = bad(why, sizeof(why), -EINVAL, "from '%.200s' does not exist", from);
			break;
		}
		if (k == OP_MOVE) {
			size_t fl = strlen(from);
			if (!strncmp(path, from, fl) && path[fl] == '/') {
				rc = bad(why, sizeof(why), -EINVAL,
					 "'%.100s' cannot be moved into itself ('%.100s')", from, path);
				break;
			}
			if (!strcmp(path, from))
				break; /* nothing to do */
			json_incref(src);
			rc = do_remove(*root, &f, from, why, sizeof(why));
			if (!rc) {
				/* path's tokens were resolved against the document before
				 * the removal, as RFC 6902 section 4.4 reads them after: walk
				 * again (do_add does) */
				rc = do_add(root, &p, src, path, why, sizeof(why));
			} else {
				json_decref(src);
			}
			break;
		}
		size_t n = nodes(src, JSON_PATCH_MAX_COPIES);
		if (*copied + n > JSON_PATCH_MAX_COPIES) {
			rc = bad(why, sizeof(why), -E2BIG, "copies of more than %d values",
				 JSON_PATCH_MAX_COPIES);
			break;
		}
		*copied += n;
		value = json_deep_copy(src);
		rc = value ? do_add(root, &p, value, path, why, sizeof(why)) : -ENOMEM;
		break;
	}
	case OP_TEST:
		if (!target || !json_equal(target, value))
			rc = bad(why, sizeof(why), -EINVAL, "test of '%.200s' failed: %s", path,
				 target ? "the value differs" : "it does not exist");
		break;
	}
	if (rc == -ENOMEM)
		snprintf(why, sizeof(why), "out of memory");
	return rc ? bad(err, errlen, rc, "operation %zu (%s): %s", i, ops[k], why) : 0;
}

int json_patch_apply(json_t **doc, const json_t *patch, char *err, size_t errlen)
{
	if (!json_is_array(patch))
		return bad(err, errlen, -EINVAL, "a JSON Patch is an array of operations");
	if (json_array_size(patch) > JSON_PATCH_MAX_OPS)
		return bad(err, errlen, -E2BIG, "more than %d operations", JSON_PATCH_MAX_OPS);
	json_t *work = json_deep_copy(*doc);
	if (!work)
		return bad(err, errlen, -ENOMEM, "out of memory");
	size_t copied = 0;
	for (size_t i = 0; i < json_array_size(patch); i++) {
		int rc = apply_one(&work, json_array_get(patch, i), i, &copied, err, errlen);
		if (rc) {
			json_decref(work);
			return rc;
		}
	}
	json_decref(*doc);
	*doc = work;
	return 0;
}
