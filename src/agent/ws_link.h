/* ws_link.h - what the agent's two analyzer links (topology forwarder, flow
 * sender) share: the analyzer address and the keep-alive policy. */
#ifndef SKYDIVE_WS_LINK_H
#define SKYDIVE_WS_LINK_H

#include <libwebsockets.h>
#include <stddef.h>

#include "common/tls.h"

/* One analyzer "HOST:PORT" (host defaults to 127.0.0.1) into host/port and
 * the text kept for logs. 0, or -EINVAL with a message in err. */
int ws_link_addr(const char *spec, char *host, size_t hostlen, int *port, char *addr,
		 size_t addrlen, char *err, size_t errlen);

/* Ping an idle link every ping_delay_s so a vanished analyzer is noticed;
 * hang up when nothing at all came back for a while. */
void ws_link_retry_policy(lws_retry_bo_t *r, int ping_delay_s);

/* TLS of a link (wss) when t->on: the CA that verifies the analyzer, the client
 * certificate for mTLS. The context part goes into lws_create_context's info, the
 * connection part into each lws_client_connect_info. t may be NULL (plain). */
void ws_link_tls_context(const struct tls_client_conf *t, struct lws_context_creation_info *info);
void ws_link_tls_connect(const struct tls_client_conf *t, struct lws_client_connect_info *ci);

/* Called from a link's protocol callback for
 * LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION (user = X509_STORE_CTX,
 * len = preverify_ok): when OpenSSL refused the analyzer's certificate, the reason
 * in words goes into reason (the link logs it with its failure) and the answer is
 * 1 (refuse); else 0. */
int ws_link_tls_verify(void *x509_ctx, size_t preverify_ok, char *reason, size_t reasonlen);

/* The words of a failed connection: verify_reason when the analyzer's certificate
 * was refused, else lws's error, with a hint at our client certificate when TLS is
 * on and the analyzer hung up during the handshake (lws 4.1 does not pass the
 * alert it sent to a client). Returns one of its arguments or out. */
const char *ws_link_tls_failure(const struct tls_client_conf *t, const char *lws_err,
				const char *verify_reason, char *out, size_t outlen);

#endif
