/* tls_server.c - the server side TLS policy (see tls_server.h). */
#include "http/tls_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <libwebsockets.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/tls.h"
#include "config/config.h"

int tls_ip_is_loopback(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;
	if (ip && inet_pton(AF_INET, ip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (ip && inet_pton(AF_INET6, ip, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

int tls_server_check(const struct config *cfg, const char *service, const char *listen,
		     const char *ip, int tls, char *err, size_t errlen)
{
	const char *ca = config_get_string(cfg, "tls.ca_cert", NULL);
	int require = config_get_bool(cfg, "tls.require_client_cert", 0);
	char idkey[80];
	snprintf(idkey, sizeof(idkey), "%s.auth.api.tls_client_identity", service);
	int identity = config_get_bool(cfg, idkey, 0);
	if (identity && !(tls && ca && *ca)) {
		snprintf(err, errlen,
			 "%s needs TLS with a CA for client certificates: set tls.server_cert, "
			 "tls.server_key and tls.ca_cert",
			 idkey);
		return -1;
	}
	if (tls) {
		if (tls_check_files("tls.server_cert", config_get_string(cfg, "tls.server_cert", NULL),
				    "tls.server_key", config_get_string(cfg, "tls.server_key", NULL),
				    "tls.ca_cert", ca, err, errlen))
			return -1;
		if (require && !(ca && *ca)) {
			snprintf(err, errlen, "tls.require_client_cert needs tls.ca_cert, the CA that "
					      "signs the client certificates");
			return -1;
		}
		return 0;
	}
	if (require) {
		snprintf(err, errlen, "tls.require_client_cert needs TLS: set tls.server_cert and "
				      "tls.server_key");
		return -1;
	}
	if (tls_ip_is_loopback(ip))
		return 0;
	char key[64];
	snprintf(key, sizeof(key), "%s.allow_plain_http", service);
	if (!config_get_bool(cfg, key, 0)) {
		snprintf(err, errlen,
			 "refusing to serve plain HTTP on %s, beyond loopback: anyone on the network "
			 "could read and inject traffic. Set tls.server_cert and tls.server_key "
			 "(scripts/gen-certs.sh makes test ones), or listen on 127.0.0.1, or set "
			 "%s: true (SKYDIVE_%s_ALLOW_PLAIN_HTTP=true) if plain HTTP is really wanted",
			 listen, key, !strcmp(service, "agent") ? "AGENT" : "ANALYZER");
		return -1;
	}
	log_warn("%s: serving plain HTTP on %s (%s is set): traffic is neither encrypted nor "
		 "authenticated by TLS",
		 service, listen, key);
	return 0;
}

unsigned long long tls_server_client_cert_options(const struct config *cfg,
                                                  const char *service)
{
	char idkey[80];
	snprintf(idkey, sizeof(idkey), "%s.auth.api.tls_client_identity", service);
	if (config_get_bool(cfg, "tls.require_client_cert", 0))
		return LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
	/* ask for one, verify it when it comes, let clients without go on (lws 4.1: the
	 * verify callback is installed only with REQUIRE_VALID...; NOT_REQUIRED takes off
	 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT) */
	if (config_get_bool(cfg, idkey, 0))
		return LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT |
		       LWS_SERVER_OPTION_PEER_CERT_NOT_REQUIRED;
	return 0;
}

/* A certificate name usable as a user name: printable ASCII, fits. */
static int usable_name(const unsigned char *s, int n, size_t cap)
{
	if (!s || n <= 0 || (size_t)n >= cap)
		return 0;
	for (int i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

int tls_server_peer_user(void *ssl, char *user, size_t userlen)
{
	if (userlen)
		user[0] = 0;
	SSL *s = ssl;
	X509 *cert = s ? SSL_get0_peer_certificate(s) : NULL;
	/* X509_V_OK also when no certificate came: the certificate is checked first */
	if (!cert || SSL_get_verify_result(s) != X509_V_OK || !userlen)
		return 0;
	X509_NAME *subj = X509_get_subject_name(cert);
	int i = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
	if (i >= 0) {
		ASN1_STRING *d = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		unsigned char *u8 = NULL;
		int n = d ? ASN1_STRING_to_UTF8(&u8, d) : -1;
		int ok = usable_name(u8, n, userlen);
		if (ok) {
			memcpy(user, u8, (size_t)n);
			user[n] = 0;
		}
		OPENSSL_free(u8);
		if (ok)
			return 1;
		log_debug("TLS: the client certificate's commonName is not a usable user name");
	}
	GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int found = 0;
	for (int k = 0; sans && !found && k < sk_GENERAL_NAME_num(sans); k++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, k);
		if (g->type != GEN_EMAIL && g->type != GEN_DNS)
			continue;
		const ASN1_IA5STRING *v = g->type == GEN_EMAIL ? g->d.rfc822Name : g->d.dNSName;
		const unsigned char *p = ASN1_STRING_get0_data(v);
		int n = ASN1_STRING_length(v);
		if (usable_name(p, n, userlen)) {
			memcpy(user, p, (size_t)n);
			user[n] = 0;
			found = 1;
		}
	}
	GENERAL_NAMES_free(sans);
	return found;
}

/* "host:port" of the TLS connection's peer ("?" when unknown). */
static void ssl_peer(const SSL *ssl, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = ssl ? SSL_get_fd(ssl) : -1;
	snprintf(out, outlen, "?");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl))
		return;
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		port = ntohs(s4->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		port = ntohs(s6->sin6_port);
	}
	snprintf(out, outlen, "%s:%d", h, port);
}

int tls_server_verify_client(void *x509_ctx, void *ssl, size_t preverify_ok)
{
	if (preverify_ok)
		return 0;
	X509_STORE_CTX *vc = x509_ctx;
	char peer[INET6_ADDRSTRLEN + 8], names[600];
	ssl_peer(ssl, peer, sizeof(peer));
	tls_cert_names(X509_STORE_CTX_get_current_cert(vc), names, sizeof(names));
	log_warn("TLS: refused the client certificate of %s: %s (%s)", peer,
		 tls_verify_reason(X509_STORE_CTX_get_error(vc)), names);
	return 1;
}

/* OpenSSL's info callback on the server's SSL_CTX: the alerts we send. */
static void info_cb(const SSL *ssl, int where, int ret)
{
	if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_WRITE) ||
	    ((ret >> 8) & 0xff) != SSL3_AL_FATAL)
		return;
	char peer[INET6_ADDRSTRLEN + 8];
	ssl_peer(ssl, peer, sizeof(peer));
	int desc = ret & 0xff;
	if (desc == TLS13_AD_CERTIFICATE_REQUIRED || desc == SSL3_AD_HANDSHAKE_FAILURE)
		log_warn("TLS: refused %s: it sent no client certificate, and "
			 "tls.require_client_cert is set",
			 peer);
	else
		log_debug("TLS: alert '%s' sent to %s", SSL_alert_desc_string_long(ret),
			  peer);
}

void tls_server_watch_alerts(void *ssl_ctx)
{
	if (ssl_ctx)
		SSL_CTX_set_info_callback(ssl_ctx, info_cb);
}
