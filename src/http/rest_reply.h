/* rest_reply.h - the answer of one HTTP request, as every handler of the server fills it
 * (REST, /login, the web UI, captures, the server's own refusals): status, Content-Type,
 * body, extra header lines, and the one JSON/error answer helper. Generic: used by
 * src/http (server, cors, login, ui_serve) and by the services on top of it
 * (src/analyzer). Ownership: body and headers are malloc'd and freed by
 * rest_response_free (a static body, the web UI's, is never freed). */
#ifndef SKYDIVE_REST_REPLY_H
#define SKYDIVE_REST_REPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct rest_response {
	int status;               /* HTTP status */
	const char *content_type; /* static string */
	char *body;               /* malloc'd, may be NULL when len is 0 */
	size_t len;
	int body_static;          /* body is embedded data (the web UI): never freed */
	char *headers;            /* extra lines "Name: value\r\n", malloc'd, or NULL */
};

/* The Content-Type of every JSON answer. */
#define REST_CT_JSON "application/json; charset=UTF-8"

/* Fills out with status and the JSON j (stolen; NULL or unserialisable = a
 * 500 "out of memory" text answer). The one JSON answer helper of the HTTP
 * server: REST, /login, /api/pcap, captures and the server's own refusals. */
void rest_reply_json(struct rest_response *out, int status, json_t *j);
/* Makes s valid UTF-8 in place: each byte of an invalid or cut sequence becomes '?'
 * (error texts quote request bytes, and jansson refuses a string that is not UTF-8). */
void rest_utf8_fix(char *s);
/* Fills out with status and {"Error": "<formatted message>"} (cut at 767 bytes; invalid
 * UTF-8, e.g. quoted from the request, replaced by rest_utf8_fix). */
__attribute__((format(printf, 3, 4))) void rest_reply_error(struct rest_response *out, int status,
                                                            const char *fmt, ...);

/* Appends the header "name: value" to out->headers. 0 or -ENOMEM. */
int rest_add_header(struct rest_response *out, const char *name, const char *value);
/* Frees body (unless body_static) and headers, and zeroes out. */
void rest_response_free(struct rest_response *out);

/* Wall clock in ms since the epoch. */
int64_t rest_now_ms(void);

#endif
