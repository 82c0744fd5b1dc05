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

/* LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS (user = the server's SSL_CTX):
 * from then on a fatal "certificate required" / "handshake failure" alert we send (a
 * client without the certificate tls.require_client_cert wants) is logged with the
 * peer; other alerts follow a refusal already logged by the verify hook. Our own
 * OpenSSL info callback, not lws's LWS_CALLBACK_SSL_INFO: lws finds the connection of
 * that one through an SSL_CTX ex-data index that every lws context with TLS allocates
 * again, so once a client context started in the process (the analyzer's peering
 * links) the server's alerts were no longer reported. */
void tls_server_watch_alerts(void *ssl_ctx);

/* The libwebsockets server options for client certificates: with
 * tls.require_client_cert, every client must present one tls.ca_cert verifies; else,
 * with <service>.auth.api.tls_client_identity, a client may present one (verified
 * when it does; those without go on to passwords and tokens); else none is asked. */
unsigned long long tls_server_client_cert_options(const struct config *cfg,
                                                  const char *service);

/* The user a connection's verified client certificate names (ssl: the connection's
 * OpenSSL SSL, NULL for plain HTTP): its subject's commonName, else its first email or
 * DNS subjectAltName, into user. 1 when there is one; 0 (user "") when there is no
 * certificate, it was not verified, or no name is usable (empty, longer than
 * userlen - 1, or a byte outside printable ASCII; logged at debug level). */
int tls_server_peer_user(void *ssl, char *user, size_t userlen);

/* 1 when ip (numeric) is a loopback address (127/8, ::1, ::ffff:127/104). */
int tls_ip_is_loopback(const char *ip);

#endif
