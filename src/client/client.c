/* client.c - REST requests to the analyzer through libcurl, and JSON
 * re-indentation for the client's output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "client/client.h"

static int use_tls(const struct client_opts *o)
{
	return o->insecure || (o->cacert && *o->cacert) || (o->cert && *o->cert) ||
	       (o->key && *o->key);
}

size_t client_curl_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct client_response *r = user;
	size_t n = size * nmemb;
	char *nb = realloc(r->body, r->len + n + 1);
	if (!nb)
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	memcpy(nb + r->len, data, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = 0;
	return n;
}

void client_curl_auth(CURL *c, const struct client_opts *o)
{
	if (o->username && *o->username) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, o->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, o->password ? o->password : "");
	}
	if (o->cacert && *o->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	if (o->cert && *o->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
	if (o->key && *o->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
	if (o->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

int client_request(const struct client_opts *o, const char *method, const char *path,
                   const char *accept, const char *body, struct client_response *resp, char *err,
                   size_t errlen)
{
	return client_request_headers(o, method, path, accept, body, NULL, resp, err, errlen);
}

int client_request_headers(const struct client_opts *o, const char *method, const char *path,
                           const char *accept, const char *body, const char *const *headers,
                           struct client_response *resp, char *err, size_t errlen)
{
	memset(resp, 0, sizeof(*resp));
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	char url[1024], cerr[CURL_ERROR_SIZE] = "", hdr[200];
	struct curl_slist *h = NULL;
	int rc = -1;
	snprintf(url, sizeof(url), "%s://%s%s", use_tls(o) ? "https" : "http", o->analyzer, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_curl_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "skydive-client");
	/* The caller's extra headers (e.g. X-Resource-TTL). */
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	snprintf(hdr, sizeof(hdr), "Accept: %s", accept ? accept : "application/json");
	h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	client_curl_auth(c, o);
	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		char *ct = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
		snprintf(resp->content_type, sizeof(resp->content_type), "%s", ct ? ct : "");
		if (!resp->body)
			resp->body = calloc(1, 1);
		rc = resp->body ? 0 : -1;
		if (rc)
			snprintf(err, errlen, "out of memory");
	} else if ((cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING) && !use_tls(o)) {
		/* A TLS analyzer drops a plain HTTP request. */
		snprintf(err, errlen,
		         "cannot reach the analyzer at %s: %s (does it serve HTTPS? then give "
		         "--cacert FILE or --insecure; else set --analyzer or SKYDIVE_ANALYZER)",
		         o->analyzer, cerr[0] ? cerr : curl_easy_strerror(cc));
	} else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	           cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_SSL_CONNECT_ERROR ||
	           cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING) {
		snprintf(err, errlen,
		         "cannot reach the analyzer at %s: %s (is it running? set --analyzer or "
		         "SKYDIVE_ANALYZER)",
		         o->analyzer, cerr[0] ? cerr : curl_easy_strerror(cc));
	} else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
	           cc == CURLE_SSL_CERTPROBLEM) {
		snprintf(err, errlen,
		         "TLS with the analyzer at %s failed: %s (check --cacert/--cert/--key, or "
		         "--insecure to skip verification)",
		         o->analyzer, cerr[0] ? cerr : curl_easy_strerror(cc));
	} else {
		snprintf(err, errlen, "request to %s failed: %s", url,
		         cerr[0] ? cerr : curl_easy_strerror(cc));
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return rc;
}

void client_response_free(struct client_response *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

char *client_json_pretty(const char *text, size_t len, int tab, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
	if (!j) {
		snprintf(err, errlen, "the analyzer answered invalid JSON (line %d, column %d: %s)",
		         je.line, je.column, je.text);
		return NULL;
	}
	char *s = json_dumps(j, JSON_INDENT(tab ? 1 : 2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(j);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	size_t n = strlen(s);
	char *out = malloc(n + 2);
	if (!out) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* jansson indents with spaces only; a line's leading spaces are its
	 * depth (strings never hold a raw newline), so they become tabs. */
	size_t o = 0;
	int bol = 1;
	for (size_t i = 0; i < n; i++) {
		if (tab && bol && s[i] == ' ') {
			out[o++] = '\t';
			continue;
		}
		bol = s[i] == '\n';
		out[o++] = s[i];
	}
	out[o++] = '\n';
	out[o] = 0;
	free(s);
	return out;
}

int client_graph_check(const json_t *graph, char *err, size_t errlen)
{
	const json_t *parts[1] = {graph};
	size_t nparts = 1;
	if (json_is_array(graph))
		nparts = json_array_size(graph);
	for (size_t p = 0; p < nparts; p++) {
		const json_t *g = json_is_array(graph) ? json_array_get(graph, p) : parts[0];
		const json_t *nodes = json_object_get(g, "Nodes"),
		             *edges = json_object_get(g, "Edges");
		if (!json_is_object(g) || (nodes && !json_is_array(nodes)) ||
		    (edges && !json_is_array(edges))) {
			snprintf(err, errlen,
			         "expected {\"Nodes\": [...], \"Edges\": [...]} (or an array of "
			         "them), as 'skydive client topology export' writes");
			return -1;
		}
		size_t i;
		json_t *e;
		json_array_foreach(nodes, i, e)
		{
			if (!json_is_string(json_object_get(e, "ID"))) {
				snprintf(err, errlen, "node #%zu has no string \"ID\"", i);
				return -1;
			}
		}
		json_array_foreach(edges, i, e)
		{
			if (!json_is_string(json_object_get(e, "ID")) ||
			    !json_is_string(json_object_get(e, "Parent")) ||
			    !json_is_string(json_object_get(e, "Child"))) {
				snprintf(err, errlen,
				         "edge #%zu needs string \"ID\", \"Parent\" and \"Child\"",
				         i);
				return -1;
			}
		}
	}
	return 0;
}
