/* test_auth.c - src/auth: htpasswd files (hashes made by Debian's tools, checked in
 * below with the command that made them), tokens with an injected clock, the failed-
 * login throttle, credential parsing and the request checks of auth.c. */
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
#include <openssl/sha.h>

#include "auth/auth.h"
#include "auth/htpasswd.h"
#include "auth/token.h"
#include "config/config.h"

/* htpasswd -nbB -C 5 alice 'correct horse' (apache2-utils, its own bcrypt) */
#define ALICE "alice:$2y$05$XgJ43hN29cEqawn7Daj1EOS0Kv38zhejuqsXgZOLm0mhBZ8gRIhza"
/* openssl passwd -6 -salt saltsalt 'b0b pass' */
#define BOB "bob:$6$saltsalt$G1xJ8z8765BswrwNSJnoSowiNrYaqI9Z2635wxGruNmD5/dNbiXpluOamP0dmQ4mShDmFdGvG1pBk828LJFwP1"
/* openssl passwd -5 -salt carolsalt 'c4rol' */
#define CAROL "carol:$5$carolsalt$xLRukSPe861KQlyWW2uFWD9jamN.heY5e0PQPj.ENB6"

static void test_htpasswd_hashes(void **state)
{
	(void)state;
	const char *text = "# users\n" ALICE "\r\n\n" BOB "\n" CAROL ":a comment field\n";
	char err[300];
	struct htpasswd *h = htpasswd_parse(text, strlen(text), "htpasswd", err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(htpasswd_count(h), 3);
	assert_int_equal(htpasswd_check(h, "alice", "correct horse"), 1);
	assert_int_equal(htpasswd_check(h, "alice", "correct horse "), 0);
	assert_int_equal(htpasswd_check(h, "alice", ""), 0);
	assert_int_equal(htpasswd_check(h, "bob", "b0b pass"), 1);
	assert_int_equal(htpasswd_check(h, "bob", "correct horse"), 0);
	assert_int_equal(htpasswd_check(h, "carol", "c4rol"), 1);
	/* an unknown user with another's password: still no */
	assert_int_equal(htpasswd_check(h, "mallory", "correct horse"), 0);
	assert_int_equal(htpasswd_check(h, "Alice", "correct horse"), 0);
	assert_int_equal(htpasswd_check(h, NULL, "x"), 0);
	htpasswd_free(h);
}

static void test_htpasswd_refused(void **state)
{
	(void)state;
	char err[300];
	/* htpasswd's default MD5 (openssl passwd -apr1 -salt xy x), {SHA} (htpasswd -nbs),
	 * a plain password: weak hashes are errors with their line */
	const char *apr = ALICE "\ndave:$apr1$xy$ddeWph.9maGyJSgefk780.\n";
	assert_null(htpasswd_parse(apr, strlen(apr), "pw", err, sizeof(err)));
	assert_non_null(strstr(err, "pw:2: user 'dave': MD5"));
	assert_non_null(strstr(err, "htpasswd -B"));
	const char *sha = "dave:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=\n";
	assert_null(htpasswd_parse(sha, strlen(sha), "pw", err, sizeof(err)));
	assert_non_null(strstr(err, "pw:1: user 'dave': unsalted {SHA}"));
	const char *plain = "dave:secret\n";
	assert_null(htpasswd_parse(plain, strlen(plain), "pw", err, sizeof(err)));
	assert_non_null(strstr(err, "not a crypt hash"));
	const char *nocolon = ALICE "\njustaname\n";
	assert_null(htpasswd_parse(nocolon, strlen(nocolon), "pw", err, sizeof(err)));
	assert_string_equal(err, "pw:2: expected user:hash");
	const char *twice = ALICE "\n" ALICE "\n";
	assert_null(htpasswd_parse(twice, strlen(twice), "pw", err, sizeof(err)));
	assert_string_equal(err, "pw:2: user 'alice' listed twice");
	assert_null(htpasswd_load("/nonexistent/htpasswd", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read the htpasswd file /nonexistent/htpasswd"));
}

static void test_htpasswd_map(void **state)
{
	(void)state;
	char err[300];
	/* Skydive's inline users: plain passwords (hashed when loaded) or hashes */
	json_t *m = json_pack("{s:s, s:s}", "eve", "pl4in", "bob",
	                      "$6$saltsalt$G1xJ8z8765BswrwNSJnoSowiNrYaqI9Z2635wxGruNmD5/"
	                      "dNbiXpluOamP0dmQ4mShDmFdGvG1pBk828LJFwP1");
	struct htpasswd *h = htpasswd_from_map(m, "auth.x.users", err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(htpasswd_check(h, "eve", "pl4in"), 1);
	assert_int_equal(htpasswd_check(h, "eve", "pl4in!"), 0);
	assert_int_equal(htpasswd_check(h, "bob", "b0b pass"), 1);
	htpasswd_free(h);
	json_decref(m);
	m = json_pack("{s:i}", "eve", 3);
	assert_null(htpasswd_from_map(m, "auth.x.users", err, sizeof(err)));
	assert_string_equal(err, "auth.x.users.eve: the password must be a string");
	json_decref(m);
}

static void test_tokens(void **state)
{
	(void)state;
	struct token_store *ts = token_store_new(1000, 3); /* 1 s, 3 tokens */
	assert_non_null(ts);
	struct token_info who = {.user = "alice", .role = "admin", .backend = "b1"}, got;
	char t1[TOKEN_TEXT_LEN + 1], t2[TOKEN_TEXT_LEN + 1];
	assert_int_equal(token_issue(ts, &who, 10000, t1), 0);
	assert_int_equal(strlen(t1), 64);
	assert_int_equal(strspn(t1, "0123456789abcdef"), 64);
	assert_int_equal(token_issue(ts, &who, 10000, t2), 0);
	assert_string_not_equal(t1, t2);
	memset(&got, 0, sizeof(got));
	assert_int_equal(token_check(ts, t1, 10999, &got), 1);
	assert_string_equal(got.user, "alice");
	assert_string_equal(got.backend, "b1");
	/* a guess of the right length differing in the last digit, a prefix, nothing */
	char guess[TOKEN_TEXT_LEN + 1];
	memcpy(guess, t1, sizeof(guess));
	guess[63] = guess[63] == '0' ? '1' : '0';
	assert_int_equal(token_check(ts, guess, 10001, NULL), 0);
	guess[63] = 0;
	assert_int_equal(token_check(ts, guess, 10001, NULL), 0);
	assert_int_equal(token_check(ts, "", 10001, NULL), 0);
	assert_int_equal(token_check(ts, NULL, 10001, NULL), 0);
	/* expiry: issued at 10000 with 1 s, dead at 11000 */
	assert_int_equal(token_check(ts, t1, 11000, NULL), 0);
	struct token_stats st;
	token_store_stats(ts, 10500, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.live, 1); /* t2 was issued at 10000 too, stats at 10500 */
	/* revocation */
	assert_int_equal(token_revoke(ts, t2), 1);
	assert_int_equal(token_revoke(ts, t2), 0);
	assert_int_equal(token_check(ts, t2, 10500, NULL), 0);
	/* bounded: the fourth live token evicts the one closest to its end */
	char a[TOKEN_TEXT_LEN + 1], b[TOKEN_TEXT_LEN + 1], c[TOKEN_TEXT_LEN + 1],
	    d[TOKEN_TEXT_LEN + 1];
	assert_int_equal(token_issue(ts, &who, 20000, a), 0);
	assert_int_equal(token_issue(ts, &who, 20100, b), 0);
	assert_int_equal(token_issue(ts, &who, 20200, c), 0);
	assert_int_equal(token_issue(ts, &who, 20300, d), 0);
	assert_int_equal(token_check(ts, a, 20400, NULL), 0);
	assert_int_equal(token_check(ts, b, 20400, NULL), 1);
	assert_int_equal(token_check(ts, d, 20400, NULL), 1);
	token_store_stats(ts, 20400, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.issued, 6);
	assert_int_equal(st.revoked, 1);
	token_store_free(ts);
}

static int keep_not_carol(void *user, const struct token_info *who)
{
	(void)user;
	return strcmp(who->user, "carol") != 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

/* tokens.json: digests only, revocations kept, expired and refused users dropped, and
 * files that may not be trusted refused. */
static void test_token_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_auth_tokens.XXXXXX", path[128], link[128], bad[160], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tokens.json", dir);
	struct token_store *ts = token_store_new(1000, 4);
	size_t loaded = 9, dropped = 9;
	assert_int_equal(token_store_attach(ts, path, 10000, NULL, NULL, &loaded, &dropped, err,
	                                    sizeof(err)),
	                 0);
	assert_int_equal(loaded, 0);
	assert_int_equal(access(path, F_OK), -1); /* nothing issued, nothing written */
	struct token_info alice = {.user = "alice", .role = "", .backend = "b1"},
	                  bob = {.user = "bob", .role = "viewer", .backend = "b1"},
	                  carol = {.user = "carol", .role = "admin", .backend = "b2"}, got;
	char t1[TOKEN_TEXT_LEN + 1], t2[TOKEN_TEXT_LEN + 1], t3[TOKEN_TEXT_LEN + 1];
	assert_int_equal(token_issue(ts, &alice, 10000, t1), 0);
	assert_int_equal(token_issue(ts, &bob, 10100, t2), 0);
	assert_int_equal(token_issue(ts, &carol, 10200, t3), 0);
	assert_int_equal(token_revoke(ts, t2), 1);
	struct token_stats st;
	token_store_stats(ts, 10200, &st);
	assert_int_equal(st.saves, 4);
	assert_int_equal(st.save_errors, 0);
	token_store_free(ts);
	/* 0600, and the digest of a token is there, never its text */
	struct stat sb;
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	const char *text = slurp(path);
	assert_null(strstr(text, t1));
	assert_null(strstr(text, t3));
	unsigned char d[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	SHA256((const unsigned char *)t1, TOKEN_TEXT_LEN, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_non_null(strstr(text, hex));
	/* a restart: alice's token works with what it stood for, bob's revoked one does not,
	 * carol is refused by keep() */
	ts = token_store_new(1000, 4);
	assert_int_equal(token_store_attach(ts, path, 10500, keep_not_carol, NULL, &loaded,
	                                    &dropped, err, sizeof(err)),
	                 0);
	assert_int_equal(loaded, 1);
	assert_int_equal(dropped, 1);
	memset(&got, 0, sizeof(got));
	assert_int_equal(token_check(ts, t1, 10500, &got), 1);
	assert_string_equal(got.user, "alice");
	assert_string_equal(got.backend, "b1");
	assert_string_equal(got.role, "");
	assert_int_equal(token_check(ts, t2, 10500, NULL), 0);
	assert_int_equal(token_check(ts, t3, 10500, NULL), 0);
	token_store_free(ts);
	/* the drop was saved: carol's digest is gone from the file */
	SHA256((const unsigned char *)t3, TOKEN_TEXT_LEN, d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	assert_null(strstr(slurp(path), hex));
	/* later than alice's expiry (11000): nothing comes back */
	ts = token_store_new(1000, 4);
	assert_int_equal(token_store_attach(ts, path, 11000, NULL, NULL, &loaded, &dropped, err,
	                                    sizeof(err)),
	                 0);
	assert_int_equal(loaded, 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(token_check(ts, t1, 11000, NULL), 0);
	token_store_free(ts);
	/* writable by others: refused, whoever wrote it could add a token */
	ts = token_store_new(1000, 4);
	assert_int_equal(token_issue(ts, &alice, 20000, t1), 0);
	token_store_free(ts);
	FILE *f = fopen(path, "w");
	fputs("{\"Version\":1,\"Tokens\":[]}\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0666), 0);
	ts = token_store_new(1000, 4);
	assert_int_equal(token_store_attach(ts, path, 20000, NULL, NULL, &loaded, &dropped, err,
	                                    sizeof(err)),
	                 -EPERM);
	assert_non_null(strstr(err, "writable by group or others"));
	/* unattached after a refusal: issuing writes nothing */
	assert_int_equal(token_issue(ts, &alice, 20000, t1), 0);
	token_store_stats(ts, 20000, &st);
	assert_int_equal(st.saves, 0);
	token_store_free(ts);
	/* a symbolic link: refused (O_NOFOLLOW) */
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s/link.json", dir);
	assert_int_equal(symlink(path, link), 0);
	ts = token_store_new(1000, 4);
	assert_int_equal(token_store_attach(ts, link, 20000, NULL, NULL, &loaded, &dropped, err,
	                                    sizeof(err)),
	                 -EPERM);
	assert_non_null(strstr(err, "symbolic link"));
	token_store_free(ts);
	/* not a token file: kept as .corrupt, the store starts empty and attached */
	f = fopen(path, "w");
	fputs("{\"Version\":1,\"Tokens\":[{\"SHA256\":\"zz\"}]}", f);
	fclose(f);
	ts = token_store_new(1000, 4);
	assert_int_equal(token_store_attach(ts, path, 20000, NULL, NULL, &loaded, &dropped, err,
	                                    sizeof(err)),
	                 0);
	assert_int_equal(loaded, 0);
	snprintf(bad, sizeof(bad), "%s.corrupt", path);
	assert_int_equal(access(bad, F_OK), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(token_issue(ts, &alice, 20000, t1), 0);
	assert_int_equal(access(path, F_OK), 0);
	token_store_free(ts);
	unlink(path);
	unlink(link);
	unlink(bad);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left behind */
}

static void test_throttle(void **state)
{
	(void)state;
	/* 2 free failures, then 1 s, 2 s, 4 s, capped at 5 s */
	struct throttle *t = throttle_new(2, 1000, 5000, 2);
	assert_non_null(t);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 0), 0);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 0), 0);
	assert_int_equal(throttle_wait_ms(t, "10.0.0.1", 0), 0);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 0), 1000);
	assert_int_equal(throttle_wait_ms(t, "10.0.0.1", 400), 600);
	assert_int_equal(throttle_wait_ms(t, "10.0.0.2", 400), 0); /* per address */
	assert_int_equal(throttle_wait_ms(t, "10.0.0.1", 1000), 0);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 1000), 2000);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 3000), 4000);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 7000), 5000);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 12000), 5000);
	throttle_success(t, "10.0.0.1");
	assert_int_equal(throttle_wait_ms(t, "10.0.0.1", 12001), 0);
	assert_int_equal(throttle_failure(t, "10.0.0.1", 13000), 0);
	/* the table holds 2 addresses: a third takes the slot idle the longest */
	assert_int_equal(throttle_failure(t, "10.0.0.2", 14000), 0);
	assert_int_equal(throttle_failure(t, "10.0.0.3", 15000), 0);
	struct throttle_stats st;
	throttle_stats(t, &st);
	assert_int_equal(st.tracked, 2);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.failures, 10);
	throttle_free(t);
}

static void test_parse(void **state)
{
	(void)state;
	char u[64], p[64], v[80];
	/* base64("alice:correct horse") */
	assert_int_equal(auth_parse_basic("Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==", u, sizeof(u), p,
	                                  sizeof(p)),
	                 0);
	assert_string_equal(u, "alice");
	assert_string_equal(p, "correct horse");
	/* base64("a:b:c"): the password may hold ':' */
	assert_int_equal(auth_parse_basic("basic YTpiOmM=", u, sizeof(u), p, sizeof(p)), 0);
	assert_string_equal(p, "b:c");
	assert_int_equal(auth_parse_basic("Basic bm9jb2xvbg==", u, sizeof(u), p, sizeof(p)), -1);
	assert_int_equal(auth_parse_basic("Basic !!!", u, sizeof(u), p, sizeof(p)), -1);
	assert_int_equal(auth_parse_basic("Bearer abc", u, sizeof(u), p, sizeof(p)), -1);
	assert_int_equal(auth_cookie_value("a=1; authtoken=xyz; permissions=p", "authtoken", v,
	                                   sizeof(v)),
	                 1);
	assert_string_equal(v, "xyz");
	assert_int_equal(auth_cookie_value("xauthtoken=1", "authtoken", v, sizeof(v)), 0);
	assert_int_equal(auth_path_is_public("GET", "/"), 1);
	assert_int_equal(auth_path_is_public("GET", "/ui/topology"), 1);
	assert_int_equal(auth_path_is_public("GET", "/app.js"), 1);
	assert_int_equal(auth_path_is_public("POST", "/login"), 1);
	assert_int_equal(auth_path_is_public("OPTIONS", "/api/capture"), 1);
	assert_int_equal(auth_path_is_public("GET", "/api"), 0);
	assert_int_equal(auth_path_is_public("GET", "/apix"), 0);
	assert_int_equal(auth_path_is_public("GET", "/ws/subscriber"), 0);
	assert_int_equal(auth_path_is_public("GET", "/login/x"), 1); /* the UI's, not /login */
	assert_int_equal(auth_addr_is_loopback("127.0.0.1"), 1);
	assert_int_equal(auth_addr_is_loopback("::1"), 1);
	assert_int_equal(auth_addr_is_loopback(""), 0);
	assert_int_equal(auth_addr_is_loopback("0.0.0.0"), 0);
	assert_int_equal(auth_addr_is_loopback("10.1.2.3"), 0);
}

static struct config *basic_config(void)
{
	struct config *cfg = config_new();
	assert_non_null(cfg);
	assert_int_equal(config_set_string(cfg, "auth.users1.type", "basic"), 0);
	assert_int_equal(
	    config_set(cfg, "auth.users1.users",
	               json_pack("{s:s, s:s, s:s}", "alice",
	                         "$2y$05$XgJ43hN29cEqawn7Daj1EOS0Kv38zhejuqsXgZOLm0mhBZ8gRIhza",
	                         "viewer1", "v1ew", "dave", "d4ve")),
	    0);
	assert_int_equal(config_set_string(cfg, "analyzer.auth.api.backend", "users1"), 0);
	assert_int_equal(config_set_string(cfg, "analyzer.auth.throttle.failures", "1"), 0);
	assert_int_equal(config_set(cfg, "rbac.policy", json_pack("[s, s, s]", "g, viewer1, viewer",
	                                                  "g, dave, auditors", "g, auditors, viewer")),
	                 0);
	return cfg;
}

static void test_auth_new(void **state)
{
	(void)state;
	char err[600];
	unsetenv("SKYDIVE_ANALYZER_AUTH_API_BACKEND");
	struct config *cfg = config_new();
	/* loopback without a backend: noauth; beyond: refused, naming the keys */
	struct auth *a = auth_new(cfg, "analyzer", 1, "127.0.0.1:8082", err, sizeof(err));
	assert_non_null(a);
	assert_string_equal(auth_api_type(a), "noauth");
	auth_free(a);
	assert_null(auth_new(cfg, "analyzer", 0, "0.0.0.0:8082", err, sizeof(err)));
	assert_non_null(strstr(err, "analyzer.auth.api.backend"));
	assert_non_null(strstr(err, "SKYDIVE_ANALYZER_AUTH_API_BACKEND=noauth"));
	assert_int_equal(config_set_string(cfg, "analyzer.auth.api.backend", "noauth"), 0);
	a = auth_new(cfg, "analyzer", 0, "0.0.0.0:8082", err, sizeof(err));
	assert_non_null(a);
	auth_free(a);
	assert_int_equal(config_set_string(cfg, "analyzer.auth.api.backend", "nosuch"), 0);
	assert_null(auth_new(cfg, "analyzer", 1, "127.0.0.1:8082", err, sizeof(err)));
	assert_non_null(strstr(err, "set auth.nosuch.type"));
	assert_int_equal(config_set_string(cfg, "auth.k.type", "keystone"), 0);
	assert_int_equal(config_set_string(cfg, "analyzer.auth.api.backend", "k"), 0);
	assert_null(auth_new(cfg, "analyzer", 1, "127.0.0.1:8082", err, sizeof(err)));
	assert_non_null(strstr(err, "keystone is not implemented"));
	assert_non_null(strstr(err, "auth.k.type: unsupported type 'keystone'"));
	assert_int_equal(config_set_string(cfg, "auth.k.type", "basic"), 0);
	assert_null(auth_new(cfg, "analyzer", 1, "127.0.0.1:8082", err, sizeof(err)));
	assert_non_null(strstr(err, "needs auth.k.file"));
	config_free(cfg);
}

static void test_auth_checks(void **state)
{
	(void)state;
	char err[600], tok[80];
	struct config *cfg = basic_config();
	struct auth *a = auth_new(cfg, "analyzer", 1, "127.0.0.1:8082", err, sizeof(err));
	assert_non_null(a);
	struct auth_verdict v;
	struct auth_creds none = {.peer = "10.0.0.9"};
	assert_int_equal(auth_check_http(a, "GET", "/api/status", NULL, &none, 0, &v), 401);
	assert_non_null(strstr(v.msg, "authentication required"));
	assert_int_equal(auth_check_http(a, "GET", "/ui/", NULL, &none, 0, &v), 0);
	/* Prometheus' scrape is not the UI's: it needs credentials (status/read) */
	assert_int_equal(auth_check_http(a, "GET", "/metrics", NULL, &none, 0, &v), 401);
	/* base64("alice:correct horse") */
	struct auth_creds alice = {.authorization = "Basic YWxpY2U6Y29ycmVjdCBob3JzZQ==",
	                           .peer = "10.0.0.1"};
	assert_int_equal(auth_check_http(a, "POST", "/api/capture", NULL, &alice, 0, &v), 0);
	assert_string_equal(v.id.user, "alice");
	assert_string_equal(v.id.role, "admin"); /* no g line: the backend's role */
	/* base64("viewer1:v1ew"): the policy's viewer */
	struct auth_creds viewer = {.authorization = "Basic dmlld2VyMTp2MWV3", .peer = "10.0.0.2"};
	assert_int_equal(auth_check_http(a, "GET", "/api/topology", NULL, &viewer, 0, &v), 0);
	assert_string_equal(v.id.role, "");
	assert_int_equal(auth_check_http(a, "POST", "/api/capture", NULL, &viewer, 0, &v), 403);
	assert_string_equal(v.msg, "user viewer1 (role viewer) may not write capture");
	assert_int_equal(auth_check_ws(a, "/ws/agent/topology", &viewer, 0, &v), 403);
	assert_string_equal(v.msg, "user viewer1 (role viewer) may not open "
	                           "/ws/agent/topology");
	/* base64("dave:d4ve"): viewer through the auditors role, both named */
	struct auth_creds dave = {.authorization = "Basic ZGF2ZTpkNHZl", .peer = "10.0.0.2"};
	assert_int_equal(auth_check_http(a, "POST", "/api/capture", NULL, &dave, 0, &v), 403);
	assert_string_equal(v.msg, "user dave (roles auditors, viewer) may not write capture");
	assert_int_equal(auth_check_ws(a, "/ws/subscriber", &viewer, 0, &v), 0);
	assert_int_equal(auth_allowed(a, &v.id, "capture", "rawpackets"), 0);
	/* wrong password, then (1 free failure) blocked: 429 even for the right one */
	struct auth_creds bad = {.authorization = "Basic YWxpY2U6eA==", .peer = "10.0.0.3"};
	assert_int_equal(auth_check_http(a, "GET", "/api", NULL, &bad, 0, &v), 401);
	assert_string_equal(v.msg, "Wrong credentials");
	assert_int_equal(auth_check_http(a, "GET", "/api", NULL, &bad, 0, &v), 401);
	struct auth_creds good3 = alice;
	good3.peer = "10.0.0.3";
	assert_int_equal(auth_check_http(a, "GET", "/api", NULL, &good3, 500, &v), 429);
	assert_int_equal(v.retry_after_s, 1);
	assert_int_equal(auth_check_http(a, "GET", "/api", NULL, &good3, 1000, &v), 0);
	/* tokens: login, use (Bearer, X-Auth-Token, cookie), logout */
	assert_int_equal(auth_login(a, "alice", "nope", "10.0.0.4", 0, &v, tok, sizeof(tok)), 401);
	assert_int_equal(auth_login(a, "alice", "correct horse", "10.0.0.5", 0, &v, tok,
	                            sizeof(tok)),
	                 0);
	assert_int_equal(strlen(tok), 64);
	char bearer[100], cookie[120];
	snprintf(bearer, sizeof(bearer), "Bearer %s", tok);
	snprintf(cookie, sizeof(cookie), "x=1; authtoken=%s", tok);
	struct auth_creds tb = {.authorization = bearer, .peer = "10.0.0.5"};
	struct auth_creds tx = {.x_auth_token = tok, .peer = "10.0.0.5"};
	struct auth_creds tc = {.cookie = cookie, .peer = "10.0.0.5"};
	assert_int_equal(auth_check_http(a, "GET", "/api/status", NULL, &tb, 1, &v), 0);
	assert_string_equal(v.id.user, "alice");
	assert_int_equal(auth_check_ws(a, "/ws/subscriber", &tx, 1, &v), 0);
	assert_int_equal(auth_check_http(a, "GET", "/api", NULL, &tc, 1, &v), 0);
	/* expiry after analyzer.auth.token_ttl (default 86400 s) */
	assert_int_equal(auth_check_http(a, "GET", "/api", NULL, &tb, 86400LL * 1000, &v), 401);
	assert_int_equal(auth_login(a, "alice", "correct horse", "10.0.0.5", 0, &v, tok,
	                            sizeof(tok)),
	                 0);
	snprintf(bearer, sizeof(bearer), "Bearer %s", tok);
	assert_int_equal(auth_logout(a, &tb), 1);
	assert_int_equal(auth_logout(a, &tb), 0);
	assert_int_equal(auth_logout(a, &none), -1);
	assert_int_equal(auth_check_http(a, "GET", "/api", NULL, &tb, 2, &v), 401);
	json_t *st = auth_status_json(a, 2);
	assert_int_equal(json_integer_value(json_object_get(st, "Forbidden")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "Throttled")), 1);
	assert_int_equal(json_integer_value(json_object_get(st, "Logins")), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "LoginFailures")), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(st, "Tokens"), "Revoked")), 1);
	json_decref(st);
	auth_free(a);
	config_free(cfg);
}

/* analyzer.auth.api.tls_client_identity: the certificate's name with its g-line roles
 * only; credentials sent beside it win; off, a certificate names no one. */
static void test_cert_identity(void **state)
{
	(void)state;
	char err[600];
	struct config *cfg = basic_config();
	assert_int_equal(config_set(cfg, "rbac.policy",
	                            json_pack("[s, s]", "g, viewer1, viewer", "g, carol, operator")),
	                 0);
	struct auth *off = auth_new(cfg, "analyzer", 1, "127.0.0.1:8082", err, sizeof(err));
	assert_non_null(off);
	assert_int_equal(config_set_string(cfg, "analyzer.auth.api.tls_client_identity", "true"),
	                 0);
	struct auth *a = auth_new(cfg, "analyzer", 1, "127.0.0.1:8082", err, sizeof(err));
	assert_non_null(a);
	struct auth_verdict v;
	struct auth_creds carol = {.peer = "10.0.0.1", .cert_user = "carol"};
	assert_int_equal(auth_check_http(off, "GET", "/api/topology", NULL, &carol, 0, &v), 401);
	assert_int_equal(auth_check_http(a, "GET", "/api/topology", NULL, &carol, 0, &v), 0);
	assert_string_equal(v.id.user, "carol");
	assert_string_equal(v.id.role, "");
	assert_string_equal(v.id.backend, "tls-client-certificate");
	assert_int_equal(auth_check_http(a, "POST", "/api/capture", NULL, &carol, 0, &v), 0);
	assert_int_equal(auth_allowed(a, &v.id, "capture", "rawpackets"), 0);
	assert_int_equal(auth_check_ws(a, "/ws/agent/topology", &carol, 0, &v), 403);
	assert_string_equal(v.msg, "user carol (role operator) may not open /ws/agent/topology");
	/* no g line: no default role (the backend's admin is for password users) */
	struct auth_creds zed = {.peer = "10.0.0.1", .cert_user = "zed"};
	assert_int_equal(auth_check_http(a, "GET", "/api/status", NULL, &zed, 0, &v), 403);
	assert_string_equal(v.msg, "user zed (no role) may not read status");
	/* a password beside the certificate: the password's user */
	struct auth_creds both = {.authorization = "Basic dmlld2VyMTp2MWV3", .peer = "10.0.0.2",
	                          .cert_user = "carol"};
	assert_int_equal(auth_check_http(a, "POST", "/api/capture", NULL, &both, 0, &v), 403);
	assert_string_equal(v.id.user, "viewer1");
	auth_free(a);
	auth_free(off);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_htpasswd_hashes), cmocka_unit_test(test_htpasswd_refused),
	    cmocka_unit_test(test_htpasswd_map),    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_token_file),
	    cmocka_unit_test(test_throttle),        cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_auth_new),        cmocka_unit_test(test_auth_checks),
	    cmocka_unit_test(test_cert_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
