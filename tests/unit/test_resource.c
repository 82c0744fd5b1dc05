/* test_resource.c - unit tests of the generic resource registry (src/analyzer/resource.c):
 * REST answers (list, get, create in JSON and YAML, delete, 4xx with reasons and a
 * Gremlin position), validate() normalising in place, listeners (without the lock: they
 * call back), persistence across a new registry, a corrupt file set aside, and a store
 * that refuses a write (nothing changes). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer/resource.h"

/* A kind for the tests: "Name" required, a "Query" whose last '(' is not closed is
 * refused at that position, "Level" defaults to 1. */
static int test_validate(void *user, json_t *o, struct res_error *err)
{
	(*(int *)user)++;
	const char *name = json_string_value(json_object_get(o, "Name"));
	if (!name || !*name)
		return res_fail(err, -1, "Name is required");
	const char *q = json_string_value(json_object_get(o, "Query"));
	const char *open = q ? strrchr(q, '(') : NULL;
	if (open && (!strrchr(q, ')') || strrchr(q, ')') < open))
		return res_fail(err, (int)(open - q), "unbalanced '(' in Query");
	if (!json_object_get(o, "Level"))
		json_object_set_new(o, "Level", json_integer(1));
	return 0;
}

static int validations;
static const struct res_kind kind = {.name = "thing",
                                     .title = "Thing",
                                     .file = "things.json",
                                     .validate = test_validate,
                                     .user = &validations};

static char *mkdtemp_dir(void)
{
	char *d = strdup("/tmp/test_resource.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void rm_dir(char *d)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static json_t *call(struct res_registry *r, const char *method, const char *path,
                    const char *ct, const char *body, int *status)
{
	struct rest_response out;
	struct res_request req = {.method = method,
	                          .path = path,
	                          .content_type = ct,
	                          .body = body,
	                          .body_len = body ? strlen(body) : 0};
	res_registry_handle(r, &req, &out);
	*status = out.status;
	json_t *j = out.len ? json_loadb(out.body, out.len, 0, NULL) : NULL;
	rest_response_free(&out);
	return j;
}

struct seen {
	int created, deleted;
	char last[37];
	size_t count_in_listener;
	struct res_registry *r;
};

static void on_change(void *user, enum res_event ev, const char *uuid, const json_t *obj)
{
	struct seen *s = user;
	if (ev == RES_CREATED)
		s->created++;
	else
		s->deleted++;
	snprintf(s->last, sizeof(s->last), "%s", uuid);
	assert_string_equal(json_string_value(json_object_get(obj, "UUID")), uuid);
	/* without the lock: calling back must not deadlock */
	s->count_in_listener = res_registry_count(s->r);
}

static void test_crud(void **state)
{
	char *dir = mkdtemp_dir();
	struct res_registry *r = res_registry_new(dir, &kind);
	assert_non_null(r);
	struct seen s = {.r = r};
	int id = res_registry_listen(r, on_change, &s);
	assert_true(id >= 0);
	int st;
	json_t *j = call(r, "GET", "/api/thing", NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);

	j = call(r, "POST", "/api/thing", NULL,
	         "{\"Name\":\"a\",\"Query\":\"G.V()\",\"UUID\":\"ignored\"}", &st);
	assert_int_equal(st, 201);
	const char *uuid = json_string_value(json_object_get(j, "UUID"));
	assert_non_null(uuid);
	assert_true(res_uuid_valid(uuid));
	char u1[37];
	snprintf(u1, sizeof(u1), "%s", uuid);
	assert_int_equal(json_integer_value(json_object_get(j, "Level")), 1); /* normalised */
	json_decref(j);
	assert_int_equal(s.created, 1);
	assert_string_equal(s.last, u1);
	assert_int_equal(s.count_in_listener, 1);

	/* YAML body */
	j = call(r, "POST", "/api/thing/", "application/yaml", "Name: b\nLevel: 7\n", &st);
	assert_int_equal(st, 201);
	assert_int_equal(json_integer_value(json_object_get(j, "Level")), 7);
	json_decref(j);
	assert_int_equal(res_registry_count(r), 2);

	j = call(r, "GET", "/api/thing", NULL, NULL, &st);
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, u1), "Name")), "a");
	json_decref(j);

	char path[128];
	snprintf(path, sizeof(path), "/api/thing/%s", u1);
	j = call(r, "GET", path, NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_string_equal(json_string_value(json_object_get(j, "Query")), "G.V()");
	json_decref(j);

	/* get returns a copy: changing it changes nothing stored */
	json_t *c = res_registry_get(r, u1);
	json_object_set_new(c, "Name", json_string("changed"));
	json_decref(c);
	c = res_registry_get(r, u1);
	assert_string_equal(json_string_value(json_object_get(c, "Name")), "a");
	json_decref(c);

	j = call(r, "DELETE", path, NULL, NULL, &st);
	assert_int_equal(st, 200);
	assert_null(j);
	assert_int_equal(s.deleted, 1);
	assert_string_equal(s.last, u1);
	assert_int_equal(s.count_in_listener, 1);
	j = call(r, "GET", path, NULL, NULL, &st);
	assert_int_equal(st, 404);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "Thing '"));
	json_decref(j);
	j = call(r, "DELETE", path, NULL, NULL, &st);
	assert_int_equal(st, 404);
	json_decref(j);
	res_registry_unlisten(r, id);
	res_registry_free(r);
	rm_dir(dir);
}

static void test_refusals(void **state)
{
	char *dir = mkdtemp_dir();
	struct res_registry *r = res_registry_new(dir, &kind);
	int st;
	json_t *j = call(r, "POST", "/api/thing", NULL, "{\"Query\":\"G.V()\"}", &st);
	assert_int_equal(st, 400);
	assert_string_equal(json_string_value(json_object_get(j, "Error")), "Name is required");
	assert_null(json_object_get(j, "Position"));
	json_decref(j);
	j = call(r, "POST", "/api/thing", NULL, "{\"Name\":\"x\",\"Query\":\"G.V().Has(\"}", &st);
	assert_int_equal(st, 400);
	assert_int_equal(json_integer_value(json_object_get(j, "Position")), 9);
	json_decref(j);
	j = call(r, "POST", "/api/thing", NULL, "{\"Name\":", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "invalid JSON body"));
	json_decref(j);
	j = call(r, "POST", "/api/thing", NULL, "[1,2]", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "JSON object"));
	json_decref(j);
	j = call(r, "POST", "/api/thing", "text/yaml", "a: [", &st);
	assert_int_equal(st, 400);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "invalid YAML"));
	json_decref(j);
	j = call(r, "PUT", "/api/thing", NULL, NULL, &st);
	assert_int_equal(st, 405);
	json_decref(j);
	j = call(r, "GET", "/api/thing/a/b", NULL, NULL, &st);
	assert_int_equal(st, 404);
	json_decref(j);
	assert_int_equal(res_registry_count(r), 0);
	/* nothing written for refusals */
	char f[256];
	snprintf(f, sizeof(f), "%s/things.json", dir);
	assert_int_not_equal(access(f, F_OK), 0);
	res_registry_free(r);
	rm_dir(dir);
}

static void test_persist_and_corrupt(void **state)
{
	char *dir = mkdtemp_dir();
	struct res_registry *r = res_registry_new(dir, &kind);
	struct res_error e;
	char u1[37], u2[37];
	json_t *o = json_pack("{ss}", "Name", "kept");
	assert_int_equal(res_registry_create(r, o, u1, &e), 0);
	json_decref(o);
	o = json_pack("{ss}", "Name", "gone");
	assert_int_equal(res_registry_create(r, o, u2, &e), 0);
	json_decref(o);
	assert_int_equal(res_registry_delete(r, u2), 0);
	assert_int_equal(res_registry_delete(r, u2), -ENOENT);
	res_registry_free(r);

	char f[256];
	snprintf(f, sizeof(f), "%s/things.json", dir);
	struct stat sb;
	assert_int_equal(stat(f, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	int before = validations;
	r = res_registry_new(dir, &kind);
	assert_int_equal(res_registry_count(r), 1);
	assert_true(validations > before); /* loaded objects are validated again */
	o = res_registry_get(r, u1);
	assert_string_equal(json_string_value(json_object_get(o, "Name")), "kept");
	assert_string_equal(json_string_value(json_object_get(o, "UUID")), u1);
	json_decref(o);
	assert_null(res_registry_get(r, u2));
	res_registry_free(r);

	/* an invalid entry is dropped, a valid one kept */
	FILE *fp = fopen(f, "w");
	fprintf(fp, "{\"Version\":1,\"Resources\":{\"%s\":{\"Name\":\"ok\"},"
	            "\"11111111-2222-4333-8444-555555555555\":{\"Query\":\"x\"},"
	            "\"not-a-uuid\":{\"Name\":\"n\"}}}",
	        u1);
	fclose(fp);
	r = res_registry_new(dir, &kind);
	assert_int_equal(res_registry_count(r), 1);
	res_registry_free(r);

	/* a corrupt file is set aside and the registry starts empty */
	fp = fopen(f, "w");
	fputs("{\"Version\":1,\"Resources\":{", fp);
	fclose(fp);
	r = res_registry_new(dir, &kind);
	assert_non_null(r);
	assert_int_equal(res_registry_count(r), 0);
	char bad[300];
	snprintf(bad, sizeof(bad), "%s.corrupt", f);
	assert_int_equal(access(bad, F_OK), 0);
	res_registry_free(r);
	rm_dir(dir);
}

/* A store whose save fails on demand: the registry must stay as it was. */
static int fail_save;
static int mem_load(void *ctx, json_t **all)
{
	*all = json_object();
	return 0;
}
static int mem_save(void *ctx, const json_t *all, char *err, size_t errlen)
{
	if (fail_save) {
		snprintf(err, errlen, "disk full");
		return -ENOSPC;
	}
	*(size_t *)ctx = json_object_size(all);
	return 0;
}

static void test_store_refuses(void **state)
{
	size_t saved = 99;
	struct res_registry *r = res_registry_new_store(
	    &kind, (struct res_store){.load = mem_load, .save = mem_save, .ctx = &saved});
	struct seen s = {.r = r};
	res_registry_listen(r, on_change, &s);
	int st;
	json_t *j = call(r, "POST", "/api/thing", NULL, "{\"Name\":\"a\"}", &st);
	assert_int_equal(st, 201);
	assert_int_equal(saved, 1);
	char path[128];
	snprintf(path, sizeof(path), "/api/thing/%s", json_string_value(json_object_get(j, "UUID")));
	json_decref(j);
	fail_save = 1;
	j = call(r, "POST", "/api/thing", NULL, "{\"Name\":\"b\"}", &st);
	assert_int_equal(st, 500);
	assert_non_null(strstr(json_string_value(json_object_get(j, "Error")), "disk full"));
	json_decref(j);
	j = call(r, "DELETE", path, NULL, NULL, &st);
	assert_int_equal(st, 500);
	json_decref(j);
	assert_int_equal(res_registry_count(r), 1);
	assert_int_equal(s.created, 1);
	assert_int_equal(s.deleted, 0);
	fail_save = 0;
	res_registry_free(r);
}

/* A per-object store (change, as the etcd store) and changes from elsewhere
 * (res_registry_apply): the store sees each create and delete once; apply validates,
 * notifies, does not call the store, ignores an unchanged object. */
struct changes {
	int created, deleted;
	char last[37];
};
static int mem_change(void *ctx, enum res_event ev, const char *uuid, const json_t *obj,
                      char *err, size_t errlen)
{
	struct changes *c = ctx;
	if (ev == RES_CREATED)
		c->created++;
	else
		c->deleted++;
	snprintf(c->last, sizeof(c->last), "%s", uuid);
	return 0;
}

static void test_change_and_apply(void **state)
{
	struct changes c = {0};
	struct res_registry *r = res_registry_new_store(
	    &kind, (struct res_store){.load = mem_load, .change = mem_change, .ctx = &c});
	struct seen s = {.r = r};
	res_registry_listen(r, on_change, &s);
	char uuid[37];
	struct res_error e;
	json_t *o = json_pack("{s:s}", "Name", "a");
	assert_int_equal(res_registry_create(r, o, uuid, &e), 0);
	assert_int_equal(c.created, 1);
	assert_string_equal(c.last, uuid);
	assert_int_equal(res_registry_delete(r, uuid), 0);
	assert_int_equal(c.deleted, 1);
	assert_int_equal(s.created, 1);
	assert_int_equal(s.deleted, 1);

	/* from elsewhere: validated (Level defaulted), notified, the store not called */
	const char *id = "0b6e8d0e-8f3a-4c1e-9d2b-1a2b3c4d5e6f";
	assert_int_equal(res_registry_apply(r, RES_CREATED, id, o), 0);
	assert_int_equal(c.created, 1);
	assert_int_equal(s.created, 2);
	json_t *got = res_registry_get(r, id);
	assert_int_equal(json_integer_value(json_object_get(got, "Level")), 1);
	assert_string_equal(json_string_value(json_object_get(got, "UUID")), id);
	/* the same again (our own write coming back): nothing */
	assert_int_equal(res_registry_apply(r, RES_CREATED, id, got), 0);
	assert_int_equal(s.created, 2);
	assert_int_equal(s.deleted, 1);
	json_decref(got);
	/* another object under the same UUID: the old one deleted, the new one created */
	json_t *o2 = json_pack("{s:s, s:i}", "Name", "b", "Level", 3);
	assert_int_equal(res_registry_apply(r, RES_CREATED, id, o2), 0);
	assert_int_equal(s.deleted, 2);
	assert_int_equal(s.created, 3);
	/* refused by validate, or not a UUID: -EINVAL, nothing changed */
	json_t *bad = json_pack("{s:s}", "Query", "x");
	assert_int_equal(res_registry_apply(r, RES_CREATED, id, bad), -EINVAL);
	assert_int_equal(res_registry_apply(r, RES_CREATED, "not-a-uuid", o), -EINVAL);
	assert_int_equal(res_registry_count(r), 1);
	assert_int_equal(res_registry_apply(r, RES_DELETED, id, NULL), 0);
	assert_int_equal(res_registry_apply(r, RES_DELETED, id, NULL), -ENOENT);
	assert_int_equal(s.deleted, 3);
	assert_int_equal(res_registry_count(r), 0);
	assert_int_equal(c.deleted, 1);
	json_decref(bad);
	json_decref(o2);
	json_decref(o);
	res_registry_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crud),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_persist_and_corrupt),
	    cmocka_unit_test(test_store_refuses),
	    cmocka_unit_test(test_change_and_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
