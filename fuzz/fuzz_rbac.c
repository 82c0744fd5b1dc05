/* fuzz_rbac.c - libFuzzer target for the RBAC policy parser (src/auth/rbac.c): the input
 * is a policy file; when it parses, every user below is checked against every permission
 * of the /login list, which must agree with rbac_allowed. The input is also given to
 * rbac_request_needs as a request path and Accept header, and the roles each user is said
 * to have (rbac_roles_text) are checked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/rbac.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* the names the seed corpus uses */
static const char *const users[] = {"u", "a", "b", "alice", "admin", "operator", "viewer", "guest"};

static void check_user(const struct rbac *r, const char *user, const char *role)
{
	const char *roles[1] = {role};
	size_t nroles = role ? 1 : 0;
	json_t *perms = rbac_permissions_json(r, user, roles, nroles);
	CHECK(perms && json_is_array(perms));
	size_t i;
	json_t *p;
	json_array_foreach(perms, i, p)
	{
		const char *obj = json_string_value(json_object_get(p, "Object"));
		const char *act = json_string_value(json_object_get(p, "Action"));
		json_t *allowed = json_object_get(p, "Allowed");
		CHECK(obj && act && json_is_boolean(allowed));
		CHECK(rbac_allowed(r, user, roles, nroles, obj, act) == json_is_true(allowed));
	}
	json_decref(perms);
	CHECK(!rbac_allowed(r, user, roles, nroles, "nosuch", "read"));
	/* the roles a 403 names: the given one first, never the user, always terminated */
	char text[96], big[8192];
	int n = rbac_roles_text(r, user, roles, nroles, text, sizeof(text));
	CHECK(n >= 0 && strlen(text) < sizeof(text));
	CHECK((n == 0) == (text[0] == 0));
	if (role && strcmp(role, user))
		CHECK(!strncmp(text, role, strlen(role)) || !strcmp(text, "..."));
	CHECK(rbac_roles_text(r, user, roles, nroles, big, sizeof(big)) == n);
}

static void check_needs(const uint8_t *data, size_t size)
{
	char buf[512];
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
	memcpy(buf, data, n);
	buf[n] = 0;
	char *accept = strchr(buf, '\n');
	if (accept)
		*accept++ = 0;
	static const char *const methods[] = {"GET", "POST", "DELETE", "OPTIONS", NULL};
	for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
		const char *o[2] = {NULL, NULL}, *a[2] = {NULL, NULL};
		int k = rbac_request_needs(methods[m], buf, accept, o, a);
		CHECK(k >= 0 && k <= 2);
		for (int j = 0; j < k; j++)
			CHECK(o[j] && a[j]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct rbac *r = rbac_parse((const char *)data, size, "fuzz.csv", err, sizeof(err));
	if (!r) {
		/* every refusal says where and why */
		CHECK(!strncmp(err, "fuzz.csv", 8));
	} else {
		for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
			check_user(r, users[i], NULL);
			check_user(r, "u", users[i]);
		}
		rbac_free(r);
	}
	check_needs(data, size);
	return 0;
}
