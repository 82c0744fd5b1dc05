/* client.h - talking to an analyzer as `skydive client` does: REST requests
 * (libcurl) and publishing a graph through /ws/publisher (libwebsockets). */
#ifndef SKYDIVE_CLIENT_H
#define SKYDIVE_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

struct client_opts {
	const char *analyzer;            /* "host:port" */
	const char *username, *password; /* basic auth when username is set */
	const char *cacert, *cert, *key; /* PEM files; any of them (or insecure) means TLS */
	int insecure;                    /* do not verify the server's certificate */
	const char *host_id;             /* X-Host-ID of WebSocket connections */
};

struct client_response {
	long status;
	char *body; /* NUL-terminated, malloc'd */
	size_t len;
	char content_type[128];
};

/* One HTTP request to path ("/api/topology"); body may be NULL; accept may be
 * NULL. Returns 0 when an answer came (whatever its status), -1 with err
 * filled otherwise ("cannot reach the analyzer at 127.0.0.1:8082: ... (is it
 * running? set --analyzer or SKYDIVE_ANALYZER)"). Free with
 * client_response_free (also after a failure). */
int client_request(const struct client_opts *o, const char *method, const char *path,
                   const char *accept, const char *body, struct client_response *resp, char *err,
                   size_t errlen);
/* Same with extra header lines ("X-Resource-TTL: 30s"), NULL-terminated. */
int client_request_headers(const struct client_opts *o, const char *method, const char *path,
                           const char *accept, const char *body, const char *const *headers,
                           struct client_response *resp, char *err, size_t errlen);
void client_response_free(struct client_response *r);
/* Sets c's basic authentication (username set) and TLS files and verification from o:
 * what every request to the analyzer carries. */
void client_curl_auth(CURL *c, const struct client_opts *o);
/* libcurl's CURLOPT_WRITEFUNCTION appending to the struct client_response given as
 * CURLOPT_WRITEDATA (body kept NUL-terminated); 0 when out of memory, failing the transfer. */
size_t client_curl_body(char *data, size_t size, size_t nmemb, void *user);

/* Sends every node then every edge of graph ({"Nodes":[...],"Edges":[...]}
 * or an array of such objects) to endpoint (default "/ws/publisher") as
 * NodeAdded/EdgeAdded messages, with X-Persistence-Policy persistence
 * (default "Persistent"), then waits until the analyzer has read them all
 * (a ping answered after the last message). Returns the number of elements
 * sent, or -1 with err filled. */
int client_publish(const struct client_opts *o, const char *endpoint, const json_t *graph,
                   const char *persistence, char *err, size_t errlen);

/* Checks a graph file's content before sending it; 0 or -1 with err filled
 * (names the element at fault). */
int client_graph_check(const json_t *graph, char *err, size_t errlen);

/* JSON text re-indented (indent "\t" when tab, else two spaces), keys in
 * their original order, with a final newline; malloc'd. NULL with err filled
 * when text is not JSON. */
char *client_json_pretty(const char *text, size_t len, int tab, char *err, size_t errlen);

#endif
