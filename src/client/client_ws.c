/* client_ws.c - publishing a graph to the analyzer's /ws/publisher with a
 * libwebsockets client, as `skydive client topology import` does. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "client/client.h"
#include "common/base64.h"
#include "config/config.h"

enum pub_state { PUB_CONNECTING, PUB_SENDING, PUB_WAIT_PONG, PUB_DONE, PUB_FAILED };

struct pub {
	const struct client_opts *o;
	const char *persistence;
	json_t *msgs; /* envelopes still to send, in order */
	size_t next;
	enum pub_state state;
	char *err;
	size_t errlen;
	char auth[512];
};

static void pub_fail(struct pub *p, const char *fmt, const char *detail)
{
	if (p->state != PUB_FAILED)
		snprintf(p->err, p->errlen, fmt, p->o->analyzer, detail ? detail : "");
	p->state = PUB_FAILED;
}

static int add_header(struct lws *wsi, unsigned char **pp, unsigned char *end, const char *name,
                      const char *value)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
	                                   (const unsigned char *)value, (int)strlen(value), pp,
	                                   end);
}

static int pub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
	struct pub *p = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **pp = in, *end = *pp + len;
		if (add_header(wsi, pp, end, "X-Host-ID:", p->o->host_id ? p->o->host_id : "cli") ||
		    add_header(wsi, pp, end, "X-Client-Type:", "cli") ||
		    add_header(wsi, pp, end, "X-Client-Protocol:", "json") ||
		    add_header(wsi, pp, end, "X-Persistence-Policy:", p->persistence) ||
		    (p->auth[0] && add_header(wsi, pp, end, "Authorization:", p->auth)))
			return -1;
		return 0;
	}
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		pub_fail(p,
		         "cannot reach the analyzer at %s: %s (is it running? set --analyzer or "
		         "SKYDIVE_ANALYZER)",
		         in ? (const char *)in : "connection failed");
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		p->state = PUB_SENDING;
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		if (p->state == PUB_SENDING && p->next < json_array_size(p->msgs)) {
			char *s = json_dumps(json_array_get(p->msgs, p->next), JSON_COMPACT);
			if (!s) {
				pub_fail(p, "publishing to %s: out of memory%s", NULL);
				return -1;
			}
			size_t n = strlen(s);
			unsigned char *buf = malloc(LWS_PRE + n);
			if (!buf) {
				free(s);
				pub_fail(p, "publishing to %s: out of memory%s", NULL);
				return -1;
			}
			memcpy(buf + LWS_PRE, s, n);
			free(s);
			int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
			free(buf);
			if (w < (int)n) {
				pub_fail(p, "publishing to %s: write failed%s", NULL);
				return -1;
			}
			p->next++;
			lws_callback_on_writable(wsi);
			return 0;
		}
		if (p->state == PUB_SENDING) {
			/* The server reads frames in order, so its pong proves every
			 * message before the ping was applied. */
			unsigned char ping[LWS_PRE + 8];
			memcpy(ping + LWS_PRE, "sync", 4);
			if (lws_write(wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 4) {
				pub_fail(p, "publishing to %s: write failed%s", NULL);
				return -1;
			}
			p->state = PUB_WAIT_PONG;
			/* lws closes the connection if no pong comes. */
			lws_set_timeout(wsi, PENDING_TIMEOUT_USER_REASON_BASE, 30);
		}
		return 0;
	}
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		if (p->state == PUB_WAIT_PONG) {
			p->state = PUB_DONE;
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (p->state != PUB_DONE)
			pub_fail(
			    p, "the analyzer at %s closed the connection%s",
			    " (was the X-Host-ID header refused, or is this not /ws/publisher?)");
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static int add_msgs(json_t *msgs, const json_t *part)
{
	static const char *const kinds[2][2] = {{"Nodes", "NodeAdded"}, {"Edges", "EdgeAdded"}};
	for (int k = 0; k < 2; k++) {
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(part, kinds[k][0]), i, e)
		{
			json_t *m = json_pack("{s:s, s:s, s:O}", "Namespace", "Graph", "Type",
			                      kinds[k][1], "Obj", e);
			if (!m || json_array_append_new(msgs, m))
				return -1;
		}
	}
	return 0;
}

static void lws_quiet(int level, const char *line)
{
	(void)level;
	(void)line;
}

int client_publish(const struct client_opts *o, const char *endpoint, const json_t *graph,
                   const char *persistence, char *err, size_t errlen)
{
	struct pub p = {.o = o,
	                .persistence = persistence ? persistence : "Persistent",
	                .err = err,
	                .errlen = errlen,
	                .state = PUB_CONNECTING};
	char host[256];
	int port, rc = -1;
	if (client_graph_check(graph, err, errlen))
		return -1;
	if (config_split_addr(o->analyzer, host, sizeof(host), &port) || !host[0]) {
		snprintf(err, errlen, "invalid analyzer address '%s': expected HOST:PORT",
		         o->analyzer);
		return -1;
	}
	p.msgs = json_array();
	if (!p.msgs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int bad = 0;
	if (json_is_array(graph)) {
		size_t i;
		json_t *part;
		json_array_foreach(graph, i, part) bad |= add_msgs(p.msgs, part);
	} else {
		bad = add_msgs(p.msgs, graph);
	}
	if (bad) {
		snprintf(err, errlen, "out of memory");
		json_decref(p.msgs);
		return -1;
	}
	if (o->username && *o->username) {
		char cred[256];
		snprintf(cred, sizeof(cred), "%s:%s", o->username, o->password ? o->password : "");
		memcpy(p.auth, "Basic ", 6);
		base64_encode(p.auth + 6, cred, strlen(cred));
	}

	lws_set_log_level(LLL_ERR, lws_quiet);
	struct lws_protocols protocols[] = {
	    {.name = "skydive-publisher", .callback = pub_callback},
	    {0},
	};
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = &p;
	info.gid = -1;
	info.uid = -1;
	info.connect_timeout_secs = 10;
	int tls = o->insecure || (o->cacert && *o->cacert) || (o->cert && *o->cert);
	if (tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.client_ssl_ca_filepath = o->cacert && *o->cacert ? o->cacert : NULL;
		info.client_ssl_cert_filepath = o->cert && *o->cert ? o->cert : NULL;
		info.client_ssl_private_key_filepath = o->key && *o->key ? o->key : NULL;
	}
	struct lws_context *ctx = lws_create_context(&info);
	if (!ctx) {
		snprintf(err, errlen, "cannot create the libwebsockets context");
		json_decref(p.msgs);
		return -1;
	}
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.context = ctx;
	ci.address = host;
	ci.port = port;
	ci.path = endpoint ? endpoint : "/ws/publisher";
	ci.host = host;
	ci.origin = host;
	ci.local_protocol_name = "skydive-publisher";
	if (tls) {
		ci.ssl_connection = LCCSCF_USE_SSL;
		if (o->insecure)
			ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_INSECURE |
			                     LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
			                     LCCSCF_ALLOW_EXPIRED;
	}
	if (!lws_client_connect_via_info(&ci))
		pub_fail(&p, "cannot reach the analyzer at %s%s", ": connection failed");
	time_t deadline = time(NULL) + 60;
	while (p.state != PUB_DONE && p.state != PUB_FAILED) {
		if (time(NULL) > deadline) {
			pub_fail(&p, "the analyzer at %s did not answer within 60 s%s", NULL);
			break;
		}
		if (lws_service(ctx, 0) < 0)
			break;
	}
	lws_context_destroy(ctx);
	if (p.state == PUB_DONE)
		rc = (int)json_array_size(p.msgs);
	else if (p.state != PUB_FAILED)
		snprintf(err, errlen, "publishing to %s was interrupted", o->analyzer);
	json_decref(p.msgs);
	return rc;
}
