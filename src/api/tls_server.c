/* tls_server.c - the server side TLS policy (see tls_server.h). */
#include "api/tls_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <libwebsockets.h>
#include <openssl/x509_vfy.h>

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
	if (tls) {
		if (tls_check_files("tls.server_cert", config_get_string(cfg, "tls.server_cert", NULL),
				    "tls.server_key", config_get_string(cfg, "tls.server_key", NULL),
				    ca, err, errlen))
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

int tls_server_verify_client(void *x509_ctx, void *ssl, size_t preverify_ok)
{
	if (preverify_ok)
		return 0;
	X509_STORE_CTX *vc = x509_ctx;
	char peer[INET6_ADDRSTRLEN + 8] = "?", names[600];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = ssl ? SSL_get_fd(ssl) : -1;
	if (fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
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
		snprintf(peer, sizeof(peer), "%s:%d", h, port);
	}
	tls_cert_names(X509_STORE_CTX_get_current_cert(vc), names, sizeof(names));
	log_warn("TLS: refused the client certificate of %s: %s (%s)", peer,
		 tls_verify_reason(X509_STORE_CTX_get_error(vc)), names);
	return 1;
}

void tls_server_alert(const char *peer, const void *ssl_info)
{
	const struct lws_ssl_info *si = ssl_info;
	if (!si || !(si->where & SSL_CB_WRITE) || ((si->ret >> 8) & 0xff) != SSL3_AL_FATAL)
		return;
	int desc = si->ret & 0xff;
	if (desc == TLS13_AD_CERTIFICATE_REQUIRED || desc == SSL3_AD_HANDSHAKE_FAILURE)
		log_warn("TLS: refused %s: it sent no client certificate, and "
			 "tls.require_client_cert is set",
			 peer && *peer ? peer : "a client");
	else
		log_debug("TLS: alert '%s' sent to %s", SSL_alert_desc_string_long(si->ret),
			  peer && *peer ? peer : "a client");
}
