/* tls_server.h - the analyzer's (and agent API's) TLS policy: the start-time checks
 * of tls.server_cert/server_key/ca_cert, the plain-HTTP-only-on-loopback rule, and
 * the log line of a refused client certificate. Owned by the TLS work
 * (docs/SECURITY.md "TLS"). Errors: 0, or -1 with err filled; nothing exits. */
#ifndef SKYDIVE_TLS_SERVER_H
#define SKYDIVE_TLS_SERVER_H

#include <stddef.h>

struct config;

/* Before listening on ip (numeric; "" = every address) for service ("analyzer",
 * "agent"): with tls (server cert set) the files must load and match
 * (tls_check_files), tls.require_client_cert needs tls.ca_cert; without tls,
 * only a loopback address is allowed unless <service>.allow_plain_http is true
 * (then a warning is logged). listen is the configured text, for messages. */
int tls_server_check(const struct config *cfg, const char *service, const char *listen,
		     const char *ip, int tls, char *err, size_t errlen);

/* LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION (user = X509_STORE_CTX,
 * in = SSL, len = preverify_ok): when OpenSSL refused the client's certificate, logs
 * the peer address, the certificate's names and the reason, and answers 1 (refuse:
 * lws would accept on 0); else 0. */
int tls_server_verify_client(void *x509_ctx, void *ssl, size_t preverify_ok);

/* LWS_CALLBACK_SSL_INFO (in = struct lws_ssl_info) on a server connection: a
 * fatal "certificate required" / "handshake failure" alert we send (a client without
 * the certificate tls.require_client_cert wants) is logged with the peer (peer may
 * be NULL). Other alerts follow a refusal already logged by the verify hook. */
void tls_server_alert(const char *peer, const void *ssl_info);

/* 1 when ip (numeric) is a loopback address (127/8, ::1, ::ffff:127/104). */
int tls_ip_is_loopback(const char *ip);

#endif
