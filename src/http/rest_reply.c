/* rest_reply.c - the HTTP answer helpers (rest_reply.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/rest_reply.h"

#define CT_TEXT "text/plain; charset=UTF-8"

int64_t rest_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rest_add_header(struct rest_response *out, const char *name, const char *value)
{
	size_t old = out->headers ? strlen(out->headers) : 0;
	size_t n = strlen(name) + strlen(value) + 5;
	char *h = realloc(out->headers, old + n);
	if (!h)
		return -ENOMEM;
	snprintf(h + old, n, "%s: %s\r\n", name, value);
	out->headers = h;
	return 0;
}

void rest_response_free(struct rest_response *out)
{
	if (!out->body_static)
		free(out->body);
	free(out->headers);
	memset(out, 0, sizeof(*out));
}

void rest_reply_json(struct rest_response *out, int status, json_t *j)
{
	out->status = status;
	out->content_type = REST_CT_JSON;
	out->body = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (!out->body) {
		out->status = 500;
		out->content_type = CT_TEXT;
		out->body = strdup("out of memory\n");
	}
	out->len = out->body ? strlen(out->body) : 0;
}

void rest_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		unsigned c = *p, n, min;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, min = 0x10000;
		else
			n = 0, min = 0;
		unsigned cp = c & (0x3f >> n), i;
		for (i = 1; n && i <= n && (p[i] & 0xc0) == 0x80; i++)
			cp = cp << 6 | (p[i] & 0x3f);
		if (n && i == n + 1 && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
			p += n + 1;
			continue;
		}
		*p++ = '?'; /* this byte only: the next one is looked at afresh */
	}
}

void rest_reply_error(struct rest_response *out, int status, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rest_utf8_fix(msg);
	rest_reply_json(out, status, json_pack("{s:s}", "Error", msg));
}
