/* tls.c - start-time checks of the TLS files and verification errors in words
 * (see tls.h). OpenSSL (libcrypto) only: nothing here opens a connection. */
#include "common/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "config/config.h"

static int set(const char *s) { return s && *s; }

/* "Jan  2 15:04:05 2030 GMT" */
static void asn1_time(const ASN1_TIME *t, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = b && ASN1_TIME_print(b, t) ? BIO_read(b, out, (int)outlen - 1) : 0;
	out[n > 0 ? n : 0] = 0;
	BIO_free(b);
}

/* The last OpenSSL error as text ("no start line" for a file that is not PEM). */
static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r ? r : "unreadable PEM";
}

static FILE *open_pem(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f)
		snprintf(err, errlen, "%s '%s': cannot open: %s", what, path, strerror(errno));
	return f;
}

/* 0 when now is within the certificate's validity dates. */
static int check_dates(const char *what, const char *path, X509 *x, char *err, size_t errlen)
{
	char when[64];
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		asn1_time(X509_get0_notAfter(x), when, sizeof(when));
		snprintf(err, errlen, "%s '%s': the certificate expired on %s", what, path, when);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		asn1_time(X509_get0_notBefore(x), when, sizeof(when));
		snprintf(err, errlen, "%s '%s': the certificate is not valid before %s (clock?)",
			 what, path, when);
		return -1;
	}
	return 0;
}

/* Every certificate of the CA file into store; 0 or -1 with err. */
static int load_ca(const char *ca_key, const char *ca, X509_STORE *store, char *err,
		   size_t errlen)
{
	FILE *f = open_pem(ca_key, ca, err, errlen);
	if (!f)
		return -1;
	int n = 0, rc = 0;
	X509 *x;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
		if (!rc && check_dates(ca_key, ca, x, err, errlen))
			rc = -1;
		if (!rc && store)
			X509_STORE_add_cert(store, x);
		X509_free(x);
		n++;
	}
	ERR_clear_error(); /* the end of the file reads as an error */
	fclose(f);
	if (!rc && !n) {
		snprintf(err, errlen, "%s '%s': no PEM certificate in it", ca_key, ca);
		rc = -1;
	}
	return rc;
}

/* Encrypted keys would need a passphrase prompt a daemon cannot answer. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) { return -1; }

int tls_check_files(const char *cert_key, const char *cert, const char *key_key,
		    const char *key, const char *ca_key, const char *ca, char *err, size_t errlen)
{
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	X509_STORE *store = NULL;
	FILE *f = NULL;
	int rc = -1;

	if (set(cert) != set(key)) {
		snprintf(err, errlen, "TLS needs both %s and %s (only %s is set)", cert_key, key_key,
			 set(cert) ? cert_key : key_key);
		return -1;
	}
	if (set(ca)) {
		store = X509_STORE_new();
		if (!store || load_ca(ca_key, ca, store, err, errlen))
			goto out;
	}
	if (!set(cert)) {
		rc = 0;
		goto out;
	}
	if (!(f = open_pem(cert_key, cert, err, errlen)))
		goto out;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = NULL;
	if (!x) {
		snprintf(err, errlen, "%s '%s': not a PEM certificate (%s)", cert_key, cert,
			 ossl_reason());
		goto out;
	}
	if (check_dates(cert_key, cert, x, err, errlen))
		goto out;
	if (!(f = open_pem(key_key, key, err, errlen)))
		goto out;
	pk = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	f = NULL;
	if (!pk) {
		snprintf(err, errlen,
			 "%s '%s': not an unencrypted PEM private key (%s)", key_key, key,
			 ossl_reason());
		goto out;
	}
	if (X509_check_private_key(x, pk) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s '%s' does not match the certificate %s '%s'", key_key,
			 key, cert_key, cert);
		goto out;
	}
	if (store) {
		/* Only a warning: a cluster may sign servers and clients with
		 * different CAs; the peer then decides. */
		X509_STORE_CTX *vc = X509_STORE_CTX_new();
		if (vc && X509_STORE_CTX_init(vc, store, x, NULL) == 1 && X509_verify_cert(vc) != 1)
			log_warn("%s '%s' is not verified by %s '%s': %s; peers that trust "
				 "only that CA will refuse it",
				 cert_key, cert, ca_key, ca,
				 tls_verify_reason(X509_STORE_CTX_get_error(vc)));
		X509_STORE_CTX_free(vc);
		ERR_clear_error();
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
	X509_STORE_free(store);
	return rc;
}

int tls_client_conf_load(struct tls_client_conf *t, const struct config *cfg, char *err,
			 size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->ca = config_get_string(cfg, "tls.ca_cert", NULL);
	t->cert = config_get_string(cfg, "tls.client_cert", NULL);
	t->key = config_get_string(cfg, "tls.client_key", NULL);
	if (!set(t->ca))
		t->ca = NULL;
	if (!set(t->cert))
		t->cert = NULL;
	if (!set(t->key))
		t->key = NULL;
	t->on = t->ca || t->cert || t->key || set(config_get_string(cfg, "tls.server_cert", NULL));
	return tls_check_files("tls.client_cert", t->cert, "tls.client_key", t->key, "tls.ca_cert", t->ca, err,
			       errlen);
}

const char *tls_verify_reason(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "the certificate is not signed by a CA in tls.ca_cert (wrong CA?)";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "the certificate has expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "the certificate is not valid yet (clock?)";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "hostname mismatch: the certificate's subjectAltName does not name the "
		       "address connected to";
	case X509_V_ERR_INVALID_PURPOSE:
		return "the certificate is not for this use (extendedKeyUsage serverAuth/clientAuth)";
	default:
		return X509_verify_cert_error_string(e);
	}
}

void tls_cert_names(const void *x509, char *out, size_t outlen)
{
	const X509 *x = x509;
	char s[256] = "?", i[256] = "?";
	if (x) {
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, s, sizeof(s));
		X509_NAME_get_text_by_NID(X509_get_issuer_name(x), NID_commonName, i, sizeof(i));
	}
	snprintf(out, outlen, "CN=%s, issuer CN=%s", s, i);
}
