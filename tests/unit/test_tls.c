/* test_tls.c - the TLS policy's pure parts: loopback detection, the plain-HTTP rule
 * and its override, require_client_cert without a CA or without TLS, file checks
 * that fail before any OpenSSL parsing (missing file, half a pair), verification
 * errors in words, and the agent's hint when the analyzer hangs up the handshake.
 * (The certificate checks proper run against real files in tests/integration/tls.sh.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/x509_vfy.h>

#include "agent/ws_link.h"
#include "http/tls_server.h"
#include "common/tls.h"
#include "config/config.h"

static void test_loopback(void **state)
{
	assert_true(tls_ip_is_loopback("127.0.0.1"));
	assert_true(tls_ip_is_loopback("127.9.8.7"));
	assert_true(tls_ip_is_loopback("::1"));
	assert_true(tls_ip_is_loopback("::ffff:127.0.0.1"));
	assert_false(tls_ip_is_loopback("0.0.0.0"));
	assert_false(tls_ip_is_loopback("::"));
	assert_false(tls_ip_is_loopback("128.0.0.1"));
	assert_false(tls_ip_is_loopback("10.0.0.1"));
	assert_false(tls_ip_is_loopback(""));
	assert_false(tls_ip_is_loopback(NULL));
}

static void test_plain_rule(void **state)
{
	struct config *cfg = config_new();
	char err[1024] = "";
	assert_non_null(cfg);
	assert_int_equal(tls_server_check(cfg, "analyzer", "127.0.0.1:8082", "127.0.0.1", 0, err,
					  sizeof(err)), 0);
	assert_int_equal(tls_server_check(cfg, "analyzer", ":8082", "", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refusing to serve plain HTTP on :8082"));
	assert_non_null(strstr(err, "analyzer.allow_plain_http"));
	assert_int_equal(tls_server_check(cfg, "agent", "10.0.0.1:8081", "10.0.0.1", 0, err,
					  sizeof(err)), -1);
	assert_non_null(strstr(err, "agent.allow_plain_http"));
	assert_int_equal(config_set_string(cfg, "analyzer.allow_plain_http", "true"), 0);
	assert_int_equal(tls_server_check(cfg, "analyzer", ":8082", "", 0, err, sizeof(err)), 0);
	/* require_client_cert: needs TLS, and with TLS needs a CA */
	assert_int_equal(config_set_string(cfg, "tls.require_client_cert", "true"), 0);
	assert_int_equal(tls_server_check(cfg, "analyzer", ":8082", "", 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls.require_client_cert needs TLS"));
	config_free(cfg);
}

static void test_check_files(void **state)
{
	char err[1024] = "";
	assert_int_equal(tls_check_files("tls.client_cert", NULL, "tls.client_key", NULL, "tls.ca_cert", NULL, err,
					 sizeof(err)), 0);
	assert_int_equal(tls_check_files("tls.client_cert", "/x.crt", "tls.client_key", "", "tls.ca_cert", NULL,
					 err, sizeof(err)), -1);
	assert_string_equal(err, "TLS needs both tls.client_cert and tls.client_key (only "
				 "tls.client_cert is set)");
	assert_int_equal(tls_check_files("tls.server_cert", "/nonexistent/s.crt", "tls.server_key",
					 "/nonexistent/s.key", "tls.ca_cert", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "tls.server_cert '/nonexistent/s.crt': cannot open: No such file "
				 "or directory");
	assert_int_equal(tls_check_files("tls.server_cert", NULL, "tls.server_key", NULL,
					 "tls.ca_cert", "/nonexistent/ca.crt", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls.ca_cert '/nonexistent/ca.crt': cannot open"));
	/* A file that is not PEM at all. */
	assert_int_equal(tls_check_files("tls.server_cert", NULL, "tls.server_key", NULL,
					 "tls.ca_cert", "/dev/null", err, sizeof(err)), -1);
	assert_string_equal(err, "tls.ca_cert '/dev/null': no PEM certificate in it");
	/* the CA's key as the caller names it (etcd.ca_cert: the cluster's etcd client) */
	assert_int_equal(tls_check_files("etcd.client_cert", NULL, "etcd.client_key", NULL,
					 "etcd.ca_cert", "/dev/null", err, sizeof(err)), -1);
	assert_string_equal(err, "etcd.ca_cert '/dev/null': no PEM certificate in it");
}

static void test_reasons(void **state)
{
	assert_non_null(strstr(tls_verify_reason(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
			       "wrong CA"));
	assert_non_null(strstr(tls_verify_reason(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN), "wrong CA"));
	assert_non_null(strstr(tls_verify_reason(X509_V_ERR_CERT_HAS_EXPIRED), "expired"));
	assert_non_null(strstr(tls_verify_reason(X509_V_ERR_HOSTNAME_MISMATCH), "hostname mismatch"));
	assert_non_null(strstr(tls_verify_reason(X509_V_ERR_IP_ADDRESS_MISMATCH), "hostname mismatch"));
}

static void test_link_hint(void **state)
{
	struct tls_client_conf plain = {0}, tls = {.on = 1}, mtls = {.on = 1, .cert = "/a.crt"};
	char out[600];
	assert_string_equal(ws_link_tls_failure(&plain, "read failed", "", out, sizeof(out)),
			    "read failed");
	assert_string_equal(ws_link_tls_failure(&tls, "read failed", "refused: x", out, sizeof(out)),
			    "refused: x");
	assert_non_null(strstr(ws_link_tls_failure(&tls, "read failed", "", out, sizeof(out)),
			       "set tls.client_cert and tls.client_key"));
	assert_non_null(strstr(ws_link_tls_failure(&mtls, "Closed before conn", NULL, out,
						   sizeof(out)),
			       "signed our tls.client_cert"));
	/* A refused TCP connection is no TLS matter. */
	assert_string_equal(ws_link_tls_failure(&tls, "Unable to connect", "", out, sizeof(out)),
			    "Unable to connect");
	assert_string_equal(ws_link_tls_failure(NULL, NULL, NULL, out, sizeof(out)), "error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loopback),   cmocka_unit_test(test_plain_rule),
		cmocka_unit_test(test_check_files), cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_link_hint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
