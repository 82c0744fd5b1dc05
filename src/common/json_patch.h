/* json_patch.h - JSON Patch (RFC 6902) over jansson documents, with JSON
 * Pointers (RFC 6901). Neither jansson nor a Debian C library has it.
 *
 * Bounded: at most JSON_PATCH_MAX_OPS operations, pointers of at most
 * JSON_PATCH_MAX_POINTER bytes; a "copy" may not make the document grow past
 * JSON_PATCH_MAX_COPIES values copied in all (a patch of copies of copies
 * would double it each time). The patch applies in full or not at all: the
 * document is changed only on success. Numbers compare as jansson's
 * json_equal does in "test" (1 and 1.0 differ). */
#ifndef SKYDIVE_JSON_PATCH_H
#define SKYDIVE_JSON_PATCH_H

#include <jansson.h>
#include <stddef.h>

#define JSON_PATCH_MAX_OPS     256
#define JSON_PATCH_MAX_POINTER 1024
#define JSON_PATCH_MAX_COPIES  100000 /* values (json_t nodes) copied by "copy" */

/* Checks that patch is a well-formed JSON Patch: an array of objects, each
 * with a known "op", a "path" pointer, and "value" / "from" as the op needs.
 * 0, or -EINVAL with the reason in err ("operation 2: 'replace' needs a
 * value"). */
int json_patch_check(const json_t *patch, char *err, size_t errlen);

/* Applies patch to *doc (a new document replaces *doc on success; the old
 * reference is released). 0, -EINVAL with the reason in err (a malformed
 * patch, a path that does not exist, a failed "test"), -E2BIG (bounds), or
 * -ENOMEM. *doc is unchanged on failure. */
int json_patch_apply(json_t **doc, const json_t *patch, char *err, size_t errlen);

#endif
