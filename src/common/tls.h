/* tls.h - the PEM files of a TLS configuration (tls.*), checked once at start, and
 * OpenSSL's certificate verification errors in words. Owned by the TLS work
 * (docs/SECURITY.md "TLS").
 *
 * Why at start: libwebsockets and libcurl load these files lazily and report a bad
 * one as a failed handshake, long after start and without the file's name. Here a
 * wrong file stops the program with "<config key> '<file>': <the check that failed>".
 * Errors: functions return 0, or -1 with err filled (never crash, never exit). */
#ifndef SKYDIVE_TLS_H
#define SKYDIVE_TLS_H

#include <stddef.h>

struct config;

/* Checks, each with its own message: ca (named ca_key, e.g. "tls.ca_cert") holds at least one PEM
 * certificate, none expired; cert (named cert_key in messages, e.g.
 * "tls.server_cert") is a PEM certificate within its validity dates; key (key_key)
 * is an unencrypted PEM private key that matches cert. Any argument may be NULL or
 * "" (not checked); a key without its certificate, or the reverse, is an error.
 * A cert that ca does not verify is only logged as a warning: the peers may trust
 * another CA. */
int tls_check_files(const char *cert_key, const char *cert, const char *key_key,
		    const char *key, const char *ca_key, const char *ca, char *err, size_t errlen);

/* What a client link (agent -> analyzer, skydive client) uses: tls.ca_cert,
 * tls.client_cert, tls.client_key. on: wss/https, when any of those three or
 * tls.server_cert is set (one config shared by a cluster, as in Skydive, and
 * allinone's agent talking to its own TLS analyzer). */
struct tls_client_conf {
	int on;
	const char *ca, *cert, *key; /* NULL when unset; point into the config */
};

/* Reads the keys above and checks the files (tls_check_files). */
int tls_client_conf_load(struct tls_client_conf *t, const struct config *cfg, char *err,
			 size_t errlen);

/* An X509_V_ERR_* code in words, with the likely cause: "certificate has expired",
 * "not signed by a CA in tls.ca_cert (wrong CA?)", "hostname mismatch: ...". */
const char *tls_verify_reason(int x509_err);

/* "CN=agent1, issuer CN=Skydive test CA" of a certificate (an X509 *), for logs. */
void tls_cert_names(const void *x509, char *out, size_t outlen);

#endif
