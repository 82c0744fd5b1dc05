/* ws_link.c - analyzer address and keep-alive policy of the agent's links. */
#include "agent/ws_link.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "config/config.h"

int ws_link_addr(const char *spec, char *host, size_t hostlen, int *port, char *addr,
		 size_t addrlen, char *err, size_t errlen)
{
	if (config_split_addr(spec, host, hostlen, port) < 0 || !*port) {
		snprintf(err, errlen, "invalid analyzer address '%s' (want HOST:PORT)", spec);
		return -EINVAL;
	}
	if (!host[0])
		snprintf(host, hostlen, "127.0.0.1");
	snprintf(addr, addrlen, "%s", spec);
	return 0;
}

void ws_link_retry_policy(lws_retry_bo_t *r, int ping_delay_s)
{
	r->secs_since_valid_ping = (uint16_t)ping_delay_s;
	r->secs_since_valid_hangup =
	    (uint16_t)(ping_delay_s + 5 > ping_delay_s * 3 ? ping_delay_s + 5 : ping_delay_s * 3);
}

void ws_link_tls_context(const struct tls_client_conf *t, struct lws_context_creation_info *info)
{
	if (!t || !t->on)
		return;
	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	/* Without tls.ca_cert lws uses the system's CA store. */
	info->client_ssl_ca_filepath = t->ca;
	info->client_ssl_cert_filepath = t->cert;
	info->client_ssl_private_key_filepath = t->key;
}

void ws_link_tls_connect(const struct tls_client_conf *t, struct lws_client_connect_info *ci)
{
	/* Full verification: chain to the CA, dates, and the analyzer's address
	 * (ci->host) against the certificate's names. */
	if (t && t->on)
		ci->ssl_connection = LCCSCF_USE_SSL;
}

int ws_link_tls_verify(void *x509_ctx, size_t preverify_ok, char *reason, size_t reasonlen)
{
	if (preverify_ok)
		return 0;
	X509_STORE_CTX *vc = x509_ctx;
	char names[600];
	tls_cert_names(X509_STORE_CTX_get_current_cert(vc), names, sizeof(names));
	snprintf(reason, reasonlen, "analyzer certificate refused: %s (%s)",
		 tls_verify_reason(X509_STORE_CTX_get_error(vc)), names);
	return 1;
}

const char *ws_link_tls_failure(const struct tls_client_conf *t, const char *lws_err,
				const char *verify_reason, char *out, size_t outlen)
{
	if (verify_reason && *verify_reason)
		return verify_reason;
	const char *e = lws_err ? lws_err : "error";
	/* The analyzer hung up after TCP came up: with TLS the likely cause is our
	 * certificate (its log names the exact check). */
	if (t && t->on && (strstr(e, "read failed") || strstr(e, "Closed before conn") ||
			   strstr(e, "SSL err"))) {
		snprintf(out, outlen,
			 "%s: the analyzer closed the TLS connection; if it requires client "
			 "certificates, %s (the analyzer's log says which check failed)",
			 e,
			 t->cert ? "check that its tls.ca_cert signed our tls.client_cert"
				 : "set tls.client_cert and tls.client_key");
		return out;
	}
	return e;
}
