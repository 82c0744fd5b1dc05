/* resource.c - the generic resource registry (resource.h): objects in memory under a
 * mutex, the file store (<data_dir>/<file>: {"Version": 1, "Resources": {uuid: obj}}),
 * the REST handlers, listeners, and the body/UUID helpers the Capture resource shares. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <yaml.h>

#include "analyzer/resource.h"
#include "common/log.h"
#include "common/util.h"
#include "common/yaml_json.h"

#define MAX_LISTENERS 8
#define CT_TEXT       "text/plain; charset=UTF-8"
/* A YAML body's bounds (docs/API.md "Limits"): aliases let a few hundred bytes name
 * billions of nodes, so the conversion counts what it makes. */
#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 100000

struct listener {
	res_listener fn;
	void *user;
};

struct res_registry {
	pthread_mutex_t lock;
	const struct res_kind *k;
	struct res_store store;
	json_t *all; /* {"<uuid>": obj} */
	struct listener listeners[MAX_LISTENERS];
};

int res_fail(struct res_error *err, int pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	rest_utf8_fix(err->msg); /* it may quote the body's bytes, cut anywhere */
	err->pos = pos;
	return -EINVAL;
}

static const char *title(const struct res_registry *r)
{
	return r->k->title ? r->k->title : r->k->name;
}

/* ---- helpers ---------------------------------------------------------------------- */

int res_uuid_new(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
	return 0;
}

int res_uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-'
		                                              : !isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int is_yaml(const char *ct)
{
	if (!ct)
		return 0;
	while (isspace((unsigned char)*ct))
		ct++;
	return !strncasecmp(ct, "application/yaml", 16) ||
	       !strncasecmp(ct, "application/x-yaml", 18) || !strncasecmp(ct, "text/yaml", 9) ||
	       !strncasecmp(ct, "text/x-yaml", 11);
}

/* Plain YAML scalars typed as Go's yaml.v2 (decimal integers; 1.5 stays a string). */
static const struct yaml_json_limits yaml_limits = {.max_depth = YAML_MAX_DEPTH,
                                                    .max_nodes = YAML_MAX_NODES};

json_t *res_body_parse(const char *ct, const char *body, size_t len, const char *example,
                       struct res_error *err)
{
	err->pos = -1;
	if (!is_yaml(ct)) {
		json_error_t je;
		json_t *j = json_loadb(body ? body : "", len, 0, &je);
		if (!j)
			res_fail(err, -1,
			         "invalid JSON body at line %d, column %d: %s (expected %s; send "
			         "YAML with Content-Type: application/yaml)",
			         je.line, je.column, je.text, example ? example : "a JSON object");
		return j;
	}
	yaml_parser_t p;
	yaml_document_t doc;
	if (!yaml_parser_initialize(&p)) {
		res_fail(err, -1, "out of memory reading the YAML body");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)(body ? body : ""), len);
	if (!yaml_parser_load(&p, &doc)) {
		const yaml_mark_t *m = p.problem ? &p.problem_mark : &p.context_mark;
		res_fail(err, -1, "invalid YAML body at line %zu, column %zu: %s", m->line + 1,
		         m->column + 1, p.problem ? p.problem : "syntax error");
		yaml_parser_delete(&p);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	int over = 0;
	json_t *j = root ? yaml_json(&doc, root, &yaml_limits, &over) : json_object();
	if (!j && over)
		res_fail(err, -1, "YAML body expands beyond %d nodes (aliases)", YAML_MAX_NODES);
	else if (!j)
		res_fail(err, -1, "the YAML body is nested deeper than %d levels (or out of memory)",
		         YAML_MAX_DEPTH);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return j;
}

/* ---- the file store ------------------------------------------------------------- */

struct file_store {
	char *path;
};

static void keep_corrupt(const char *path)
{
	char bad[4200];
	snprintf(bad, sizeof(bad), "%s.corrupt", path);
	if (rename(path, bad))
		log_error("api: cannot rename %s to %s: %s; the next change overwrites it", path,
		          bad, strerror(errno));
	else
		log_error("api: %s kept as %s; starting empty", path, bad);
}

static int file_load(void *ctx, json_t **all)
{
	struct file_store *fs = ctx;
	*all = NULL;
	json_error_t je;
	FILE *f = fopen(fs->path, "rb");
	if (!f) {
		if (errno != ENOENT)
			log_error("api: cannot read %s: %s; starting empty", fs->path,
			          strerror(errno));
		return (*all = json_object()) ? 0 : -ENOMEM;
	}
	json_t *root = json_loadf(f, 0, &je);
	fclose(f);
	json_t *res = root ? json_object_get(root, "Resources") : NULL;
	if (!root)
		log_error("api: %s is corrupt: invalid JSON at line %d, column %d (byte %d): %s",
		          fs->path, je.line, je.column, je.position, je.text);
	else if (!json_is_object(res))
		log_error("api: %s is corrupt: expected {\"Version\": 1, \"Resources\": {...}}",
		          fs->path);
	if (!json_is_object(res)) {
		json_decref(root);
		keep_corrupt(fs->path);
		return (*all = json_object()) ? 0 : -ENOMEM;
	}
	*all = json_incref(res);
	json_decref(root);
	return 0;
}

static int file_save(void *ctx, const json_t *all, char *err, size_t errlen)
{
	struct file_store *fs = ctx;
	json_t *root = json_pack("{s:i, s:O}", "Version", 1, "Resources", (json_t *)all);
	char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	if (!text) {
		snprintf(err, errlen, "out of memory saving %s", fs->path);
		return -ENOMEM;
	}
	/* the directory is the data directory: created 0700 (it names hosts and rules) */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", fs->path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	const char *what = "create the directory of";
	int rc = slash && *dir ? util_mkdir_p(dir) : 0;
	if (!rc)
		rc = util_write_file_atomic(fs->path, text, strlen(text), &what);
	free(text);
	if (rc)
		snprintf(err, errlen,
		         "cannot %s %s: %s (set analyzer.data_dir or SKYDIVE_ANALYZER_DATA_DIR to "
		         "a writable directory)",
		         what ? what : "write", fs->path, strerror(-rc));
	return rc;
}

static void file_free(void *ctx)
{
	struct file_store *fs = ctx;
	if (fs)
		free(fs->path);
	free(fs);
}

/* ---- the registry --------------------------------------------------------------- */

/* Validates a copy of each loaded object; drops (and logs) the ones refused now. */
static void adopt_loaded(struct res_registry *r, json_t *loaded)
{
	const char *uuid;
	json_t *obj;
	size_t dropped = 0;
	json_object_foreach(loaded, uuid, obj)
	{
		struct res_error e = {.pos = -1};
		json_t *copy = json_is_object(obj) ? json_deep_copy(obj) : NULL;
		int rc = !res_uuid_valid(uuid) ? res_fail(&e, -1, "'%.64s' is not a UUID", uuid)
		         : !copy                ? res_fail(&e, -1, "not a JSON object")
		         : r->k->validate       ? r->k->validate(r->k->user, copy, &e)
		                                : 0;
		if (!rc)
			rc = json_object_set_new(copy, "UUID", json_string(uuid)) ? -ENOMEM : 0;
		if (!rc && json_object_set(r->all, uuid, copy))
			rc = -ENOMEM;
		if (rc) {
			log_error("api: %s '%.64s' dropped at load: %s", r->k->name, uuid,
			          rc == -EINVAL ? e.msg : strerror(-rc));
			dropped++;
		}
		json_decref(copy);
	}
	log_info("api: %zu %s resources loaded%s", json_object_size(r->all), r->k->name,
	         dropped ? " (some dropped as invalid: see above)" : "");
}

struct res_registry *res_registry_new_store(const struct res_kind *k, struct res_store store)
{
	struct res_registry *r = calloc(1, sizeof(*r));
	if (!r) {
		if (store.free)
			store.free(store.ctx);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->k = k;
	r->store = store;
	json_t *loaded = NULL;
	r->all = json_object();
	if (!r->all || store.load(store.ctx, &loaded)) {
		res_registry_free(r);
		return NULL;
	}
	adopt_loaded(r, loaded);
	json_decref(loaded);
	return r;
}

int res_store_file(const char *data_dir, const char *file, struct res_store *out)
{
	struct file_store *fs = calloc(1, sizeof(*fs));
	const char *dir = data_dir && *data_dir ? data_dir : "/var/lib/skydive";
	if (fs && asprintf(&fs->path, "%s/%s", dir, file) < 0)
		fs->path = NULL;
	if (!fs || !fs->path) {
		file_free(fs);
		return -ENOMEM;
	}
	*out = (struct res_store){.load = file_load, .save = file_save, .free = file_free, .ctx = fs};
	return 0;
}

struct res_registry *res_registry_new(const char *data_dir, const struct res_kind *k)
{
	struct res_store st;
	if (res_store_file(data_dir, k->file, &st))
		return NULL;
	return res_registry_new_store(k, st);
}

void res_registry_free(struct res_registry *r)
{
	if (!r)
		return;
	if (r->store.free)
		r->store.free(r->store.ctx);
	json_decref(r->all);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

const struct res_kind *res_registry_kind(const struct res_registry *r)
{
	return r->k;
}

static void notify(struct res_registry *r, enum res_event ev, const char *uuid, const json_t *obj)
{
	struct listener ls[MAX_LISTENERS];
	pthread_mutex_lock(&r->lock);
	memcpy(ls, r->listeners, sizeof(ls));
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (ls[i].fn)
			ls[i].fn(ls[i].user, ev, uuid, obj);
}

/* The store told of one change (lock held): per object, or the whole map. */
static int store_change(struct res_registry *r, enum res_event ev, const char *uuid,
                        const json_t *obj, char *err, size_t errlen)
{
	if (r->store.change)
		return r->store.change(r->store.ctx, ev, uuid, obj, err, errlen);
	return r->store.save(r->store.ctx, r->all, err, errlen);
}

int res_registry_create(struct res_registry *r, const json_t *obj, char uuid_out[37],
                        struct res_error *err)
{
	err->pos = -1;
	err->msg[0] = 0;
	if (!json_is_object(obj))
		return res_fail(err, -1, "a %s is a JSON object", title(r));
	json_t *o = json_deep_copy(obj);
	if (!o)
		return -ENOMEM;
	json_object_del(o, "UUID"); /* the registry names it */
	int rc = r->k->validate ? r->k->validate(r->k->user, o, err) : 0;
	char uuid[37];
	if (!rc)
		rc = res_uuid_new(uuid);
	if (!rc && json_object_set_new(o, "UUID", json_string(uuid)))
		rc = -ENOMEM;
	if (rc) {
		if (rc != -EINVAL)
			snprintf(err->msg, sizeof(err->msg), "%s not created: %s", r->k->name,
			         strerror(-rc));
		json_decref(o);
		return rc;
	}
	char serr[512];
	pthread_mutex_lock(&r->lock);
	rc = json_object_set(r->all, uuid, o) ? -ENOMEM : 0;
	if (!rc && (rc = store_change(r, RES_CREATED, uuid, o, serr, sizeof(serr)))) {
		json_object_del(r->all, uuid);
		snprintf(err->msg, sizeof(err->msg), "%s not created: %.400s", r->k->name, serr);
	}
	pthread_mutex_unlock(&r->lock);
	if (rc) {
		if (!err->msg[0])
			snprintf(err->msg, sizeof(err->msg), "%s not created: out of memory",
			         r->k->name);
		json_decref(o);
		return rc == -EINVAL ? -EIO : rc; /* never a 400: the input was fine */
	}
	log_info("api: %s %s created", r->k->name, uuid);
	/* o stays alive through our reference even if a concurrent delete drops it */
	notify(r, RES_CREATED, uuid, o);
	json_decref(o);
	if (uuid_out)
		memcpy(uuid_out, uuid, 37);
	return 0;
}

static int delete_one(struct res_registry *r, const char *uuid, char *err, size_t errlen)
{
	pthread_mutex_lock(&r->lock);
	json_t *o = json_object_get(r->all, uuid);
	if (!o) {
		pthread_mutex_unlock(&r->lock);
		return -ENOENT;
	}
	json_incref(o);
	json_object_del(r->all, uuid);
	int rc = store_change(r, RES_DELETED, uuid, o, err, errlen);
	if (rc)
		json_object_set(r->all, uuid, o); /* put it back: nothing changed */
	pthread_mutex_unlock(&r->lock);
	if (!rc) {
		log_info("api: %s %s deleted", r->k->name, uuid);
		char id[37];
		snprintf(id, sizeof(id), "%s", uuid); /* uuid may point into o's owner */
		notify(r, RES_DELETED, id, o);
	}
	json_decref(o);
	return rc;
}

int res_registry_delete(struct res_registry *r, const char *uuid)
{
	char err[512];
	int rc = delete_one(r, uuid, err, sizeof(err));
	if (rc && rc != -ENOENT)
		log_error("api: %s %s not deleted: %s", r->k->name, uuid, err);
	return rc;
}

int res_registry_apply(struct res_registry *r, enum res_event ev, const char *uuid,
                       const json_t *obj)
{
	char id[37];
	snprintf(id, sizeof(id), "%s", uuid);
	if (ev == RES_DELETED) {
		pthread_mutex_lock(&r->lock);
		json_t *o = json_incref(json_object_get(r->all, id));
		if (o)
			json_object_del(r->all, id);
		pthread_mutex_unlock(&r->lock);
		if (!o)
			return -ENOENT;
		log_info("api: %s %s deleted elsewhere", r->k->name, id);
		notify(r, RES_DELETED, id, o);
		json_decref(o);
		return 0;
	}
	struct res_error e = {.pos = -1};
	json_t *copy = json_is_object(obj) ? json_deep_copy(obj) : NULL;
	int rc = !res_uuid_valid(id) ? res_fail(&e, -1, "'%.64s' is not a UUID", uuid)
	         : !copy             ? res_fail(&e, -1, "not a JSON object")
	         : r->k->validate    ? r->k->validate(r->k->user, copy, &e)
	                             : 0;
	if (!rc && json_object_set_new(copy, "UUID", json_string(id)))
		rc = -ENOMEM;
	if (rc) {
		log_error("api: %s %.64s from elsewhere refused: %s", r->k->name, uuid,
		          rc == -EINVAL ? e.msg : strerror(-rc));
		json_decref(copy);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	pthread_mutex_lock(&r->lock);
	json_t *old = json_object_get(r->all, id);
	if (old && json_equal(old, copy)) { /* our own change coming back, or known */
		pthread_mutex_unlock(&r->lock);
		json_decref(copy);
		return 0;
	}
	json_incref(old);
	rc = json_object_set(r->all, id, copy) ? -ENOMEM : 0;
	pthread_mutex_unlock(&r->lock);
	if (!rc) {
		log_info("api: %s %s %s elsewhere", r->k->name, id, old ? "replaced" : "created");
		if (old)
			notify(r, RES_DELETED, id, old);
		notify(r, RES_CREATED, id, copy);
	}
	json_decref(old);
	json_decref(copy);
	return rc;
}

int res_registry_foreach(struct res_registry *r,
                         int (*fn)(void *user, const char *uuid, const json_t *obj), void *user)
{
	int rc = 0;
	const char *uuid;
	json_t *obj;
	pthread_mutex_lock(&r->lock);
	json_object_foreach(r->all, uuid, obj)
	{
		if ((rc = fn(user, uuid, obj)))
			break;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

json_t *res_registry_get(struct res_registry *r, const char *uuid)
{
	pthread_mutex_lock(&r->lock);
	json_t *o = json_object_get(r->all, uuid);
	json_t *copy = o ? json_deep_copy(o) : NULL;
	pthread_mutex_unlock(&r->lock);
	return copy;
}

size_t res_registry_count(struct res_registry *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = json_object_size(r->all);
	pthread_mutex_unlock(&r->lock);
	return n;
}

int res_registry_listen(struct res_registry *r, res_listener fn, void *user)
{
	int id = -ENOSPC;
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < MAX_LISTENERS; i++)
		if (!r->listeners[i].fn) {
			r->listeners[i] = (struct listener){fn, user};
			id = i;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return id;
}

void res_registry_unlisten(struct res_registry *r, int id)
{
	if (id < 0 || id >= MAX_LISTENERS)
		return;
	pthread_mutex_lock(&r->lock);
	r->listeners[id] = (struct listener){0};
	pthread_mutex_unlock(&r->lock);
}

/* ---- REST ------------------------------------------------------------------------- */

static void reply_err(struct rest_response *out, int status, const struct res_error *e)
{
	if (e->pos >= 0)
		rest_reply_json(out, status, json_pack("{s:s, s:i}", "Error", e->msg, "Position", e->pos));
	else
		rest_reply_json(out, status, json_pack("{s:s}", "Error", e->msg));
}

static void api_create(struct res_registry *r, const struct res_request *req,
                       struct rest_response *out)
{
	struct res_error e = {.pos = -1};
	char example[96], uuid[37];
	snprintf(example, sizeof(example), "a %s object", title(r));
	json_t *body = res_body_parse(req->content_type, req->body, req->body_len, example, &e);
	if (!body)
		return reply_err(out, 400, &e);
	int rc = res_registry_create(r, body, uuid, &e);
	json_decref(body);
	if (rc)
		return reply_err(out, rc == -EINVAL ? 400 : 500, &e);
	json_t *o = res_registry_get(r, uuid);
	if (o)
		rest_reply_json(out, 201, o);
	else /* deleted at once by someone else: still created */
		rest_reply_json(out, 201, json_pack("{s:s}", "UUID", uuid));
}

void res_registry_handle(struct res_registry *r, const struct res_request *req,
                         struct rest_response *out)
{
	memset(out, 0, sizeof(*out));
	const char *m = req->method ? req->method : "";
	size_t plen = strlen("/api/") + strlen(r->k->name);
	const char *p = req->path && strlen(req->path) >= plen ? req->path + plen : "";
	if (!*p || !strcmp(p, "/")) {
		if (!strcmp(m, "GET")) {
			pthread_mutex_lock(&r->lock);
			json_t *all = json_deep_copy(r->all);
			pthread_mutex_unlock(&r->lock);
			if (!all)
				return rest_reply_error(out, 500, "out of memory");
			return rest_reply_json(out, 200, all);
		}
		if (!strcmp(m, "POST"))
			return api_create(r, req, out);
		return rest_reply_error(out, 405, "method %s not allowed on /api/%s (use GET or POST)",
		                        m, r->k->name);
	}
	const char *id = p + 1;
	if (*p != '/' || strchr(id, '/'))
		return rest_reply_error(out, 404,
		                        "no such endpoint: %.200s (use /api/%s or /api/%s/<UUID>)",
		                        req->path, r->k->name, r->k->name);
	if (!strcmp(m, "GET")) {
		json_t *o = res_registry_get(r, id);
		if (!o)
			return rest_reply_error(out, 404, "%s '%.100s' not found", title(r), id);
		return rest_reply_json(out, 200, o);
	}
	if (!strcmp(m, "DELETE")) {
		char err[512];
		int rc = delete_one(r, id, err, sizeof(err));
		if (rc == -ENOENT)
			return rest_reply_error(out, 404, "%s '%.100s' not found", title(r), id);
		if (rc)
			return rest_reply_error(out, 500, "%s not deleted: %s", r->k->name, err);
		out->status = 200;
		out->content_type = CT_TEXT;
		return;
	}
	rest_reply_error(out, 405, "method %s not allowed on /api/%s/<UUID> (use GET or DELETE)", m,
	                 r->k->name);
}
