/* htpasswd.c - htpasswd files and inline users verified with libxcrypt (see
 * htpasswd.h). */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/htpasswd.h"
#include "common/log.h"

#define MAX_FILE (16u << 20)

struct user {
	char *name;
	char *hash;
};

struct htpasswd {
	struct user *users;
	size_t n, cap;
};

int htpasswd_hash_supported(const char *hash, const char **why)
{
	static const char *const ok[] = {"$2y$", "$2b$", "$2a$", "$5$", "$6$"};
	const char *w;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strncmp(hash, ok[i], strlen(ok[i])))
			return 1;
	if (!strncmp(hash, "$apr1$", 6) || !strncmp(hash, "$1$", 3))
		w = "MD5 hashes ($apr1$, $1$: htpasswd's default) are too weak";
	else if (!strncmp(hash, "{SHA}", 5))
		w = "unsalted {SHA} hashes are too weak";
	else if (hash[0] == '$')
		w = "this hash scheme is not supported";
	else
		w = "not a crypt hash (DES crypt or a plain password)";
	if (why)
		*why = w;
	return 0;
}

static int add_user(struct htpasswd *h, const char *name, size_t nlen, const char *hash,
                    size_t hlen)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;
		struct user *nu = realloc(h->users, cap * sizeof(*nu));
		if (!nu)
			return -ENOMEM;
		h->users = nu;
		h->cap = cap;
	}
	struct user *u = &h->users[h->n];
	u->name = strndup(name, nlen);
	u->hash = strndup(hash, hlen);
	if (!u->name || !u->hash) {
		free(u->name);
		free(u->hash);
		return -ENOMEM;
	}
	h->n++;
	return 0;
}

static const struct user *find(const struct htpasswd *h, const char *name)
{
	for (size_t i = 0; h && i < h->n; i++)
		if (!strcmp(h->users[i].name, name))
			return &h->users[i];
	return NULL;
}

struct htpasswd *htpasswd_parse(const char *text, size_t len, const char *name, char *err,
                                size_t errlen)
{
	struct htpasswd *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	size_t lineno = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		lineno++;
		size_t e = j;
		while (e > i && (text[e - 1] == '\r' || text[e - 1] == ' ' || text[e - 1] == '\t'))
			e--;
		const char *l = text + i;
		size_t ll = e - i;
		i = j + 1;
		if (!ll || l[0] == '#')
			continue;
		const char *colon = memchr(l, ':', ll);
		if (!colon || colon == l || memchr(l, '\0', ll)) {
			snprintf(err, errlen, "%s:%zu: expected user:hash", name, lineno);
			goto fail;
		}
		size_t ulen = (size_t)(colon - l);
		char user[256];
		snprintf(user, sizeof(user), "%.*s", (int)(ulen < 200 ? ulen : 200), l);
		/* htpasswd may add ":comment" fields after the hash; the hash has no ':' */
		const char *hs = colon + 1;
		const char *he = memchr(hs, ':', (size_t)(l + ll - hs));
		size_t hlen = (size_t)((he ? he : l + ll) - hs);
		char hash[512];
		if (hlen >= sizeof(hash)) {
			snprintf(err, errlen, "%s:%zu: user '%s': hash longer than %zu bytes", name,
			         lineno, user, sizeof(hash) - 1);
			goto fail;
		}
		memcpy(hash, hs, hlen);
		hash[hlen] = 0;
		const char *why = NULL;
		if (!htpasswd_hash_supported(hash, &why)) {
			snprintf(err, errlen,
			         "%s:%zu: user '%s': %s; make a bcrypt or SHA-crypt hash (htpasswd -B, "
			         "openssl passwd -6, mkpasswd -m sha-512)",
			         name, lineno, user, why);
			goto fail;
		}
		if (ulen >= sizeof(user) || find(h, user)) {
			snprintf(err, errlen, "%s:%zu: user '%s' %s", name, lineno, user,
			         ulen >= sizeof(user) ? "name too long" : "listed twice");
			goto fail;
		}
		if (add_user(h, l, ulen, hash, hlen)) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	return h;
fail:
	htpasswd_free(h);
	return NULL;
}

struct htpasswd *htpasswd_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read the htpasswd file %s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(MAX_FILE + 1);
	size_t n = buf ? fread(buf, 1, MAX_FILE + 1, f) : 0;
	int rerr = ferror(f);
	fclose(f);
	if (!buf || rerr || n > MAX_FILE) {
		snprintf(err, errlen, "cannot read the htpasswd file %s: %s", path,
		         !buf ? "out of memory" : rerr ? "read error" : "larger than 16 MiB");
		free(buf);
		return NULL;
	}
	struct htpasswd *h = htpasswd_parse(buf, n, path, err, errlen);
	free(buf);
	return h;
}

struct htpasswd *htpasswd_from_map(const json_t *users, const char *name, char *err,
                                   size_t errlen)
{
	if (!json_is_object(users)) {
		snprintf(err, errlen, "%s must be a map of user: password", name);
		return NULL;
	}
	struct htpasswd *h = calloc(1, sizeof(*h));
	struct crypt_data *cd = malloc(sizeof(*cd));
	if (!h || !cd) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	const char *user;
	const json_t *v;
	json_object_foreach((json_t *)users, user, v) {
		const char *pw = json_string_value(v);
		if (!pw || !*user || strchr(user, ':')) {
			snprintf(err, errlen, "%s.%s: %s", name, user,
			         !pw ? "the password must be a string" : "invalid user name");
			goto fail;
		}
		const char *hash = pw;
		if (!htpasswd_hash_supported(pw, NULL)) {
			/* Skydive's inline users are plain passwords: hash now, keep no copy */
			char salt[CRYPT_GENSALT_OUTPUT_SIZE];
			memset(cd, 0, sizeof(*cd));
			if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) ||
			    !(hash = crypt_rn(pw, salt, cd, sizeof(*cd))) || hash[0] == '*') {
				snprintf(err, errlen, "%s.%s: cannot hash the password: %s", name, user,
				         strerror(errno));
				goto fail;
			}
			log_warn("auth: %s.%s holds a plain password; prefer a hash (htpasswd -B, "
			         "openssl passwd -6) or a file",
			         name, user);
		}
		if (add_user(h, user, strlen(user), hash, strlen(hash))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return h;
fail:
	if (cd)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	htpasswd_free(h);
	return NULL;
}

void htpasswd_free(struct htpasswd *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->users[i].name);
		explicit_bzero(h->users[i].hash, strlen(h->users[i].hash));
		free(h->users[i].hash);
	}
	free(h->users);
	free(h);
}

size_t htpasswd_count(const struct htpasswd *h)
{
	return h ? h->n : 0;
}

int htpasswd_has(const struct htpasswd *h, const char *user)
{
	return h && user && find(h, user) != NULL;
}

int htpasswd_check(const struct htpasswd *h, const char *user, const char *password)
{
	if (!h || !h->n || !user || !password)
		return 0;
	const struct user *u = find(h, user);
	/* an unknown user costs one hash too (the first user's setting), so the time of
	 * the answer does not say whether the name exists */
	const char *setting = u ? u->hash : h->users[0].hash;
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return 0;
	const char *out = crypt_rn(password, setting, cd, sizeof(*cd));
	size_t hl = strlen(setting);
	int ok = u && out && out[0] != '*' && strlen(out) == hl &&
	         CRYPTO_memcmp(out, setting, hl) == 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}
