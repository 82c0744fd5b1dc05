/* ws_link.c - the agent's one WebSocket client (see ws_link.h): one
 * libwebsockets context and service thread, a channel per analyzer and path.
 *
 * Threads: the owners call ws_client_wake from any thread (lws_cancel_service,
 * the one lws call that is safe there); everything else that touches lws runs
 * on the service thread, or before it starts / after it is joined. */
#include "agent/ws_link.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "common/log.h"
#include "config/config.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define RX_MAX (1 << 20) /* analyzer messages we read; more is skipped */

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

static void ws_link_retry_policy(lws_retry_bo_t *r, int ping_delay_s)
{
	r->secs_since_valid_ping = (uint16_t)ping_delay_s;
	r->secs_since_valid_hangup =
	    (uint16_t)(ping_delay_s + 5 > ping_delay_s * 3 ? ping_delay_s + 5 : ping_delay_s * 3);
}

static void ws_link_tls_context(const struct tls_client_conf *t, struct lws_context_creation_info *info)
{
	if (!t || !t->on)
		return;
	info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	/* Without tls.ca_cert lws uses the system's CA store. */
	info->client_ssl_ca_filepath = t->ca;
	info->client_ssl_cert_filepath = t->cert;
	info->client_ssl_private_key_filepath = t->key;
}

static void ws_link_tls_connect(const struct tls_client_conf *t, struct lws_client_connect_info *ci)
{
	/* Full verification: chain to the CA, dates, and the analyzer's address
	 * (ci->host) against the certificate's names. */
	if (t && t->on)
		ci->ssl_connection = LCCSCF_USE_SSL;
}

static int ws_link_tls_verify(void *x509_ctx, size_t preverify_ok, char *reason, size_t reasonlen)
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

/* ---- queue -------------------------------------------------------------- */

void ws_msg_free(struct ws_msg *m)
{
	if (!m)
		return;
	free(m->buf);
	free(m);
}

int ws_queue_push(struct ws_queue *q, void *buf, size_t len, int front)
{
	struct ws_msg *m = malloc(sizeof(*m));
	if (!m) {
		free(buf);
		return -ENOMEM;
	}
	m->buf = buf;
	m->len = len;
	m->next = NULL;
	if (front) {
		m->next = q->head;
		q->head = m;
		if (!q->tail)
			q->tail = m;
	} else {
		if (q->tail)
			q->tail->next = m;
		else
			q->head = m;
		q->tail = m;
	}
	q->len++;
	return 0;
}

struct ws_msg *ws_queue_pop(struct ws_queue *q)
{
	struct ws_msg *m = q->head;
	if (!m)
		return NULL;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	m->next = NULL;
	return m;
}

size_t ws_queue_clear(struct ws_queue *q)
{
	size_t n = 0;
	struct ws_msg *m;
	while ((m = ws_queue_pop(q))) {
		ws_msg_free(m);
		n++;
	}
	return n;
}

/* ---- client ------------------------------------------------------------- */

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_UP };

struct ws_chan {
	struct ws_client *cl;
	struct ws_chan *next;
	char host[256];
	int port;
	char addr[300];
	const char *path, *protocol, *label, *role;
	int binary;
	const struct ws_chan_ops *ops;
	void *user;
	struct lws *wsi;	    /* service thread */
	enum conn_state state;	    /* service thread */
	lws_sorted_usec_list_t sul; /* reconnect timer */
	int64_t backoff_ms;
	int warned;		    /* a failure was logged since the last success */
	char tls_reason[800];	    /* why the analyzer's certificate was refused */
	/* message being assembled (service thread) */
	char *rx;
	size_t rx_len;
	int rx_skip;
	/* read from any thread */
	atomic_int up;
	atomic_uint_fast64_t sent, sent_bytes, write_failed, rx_skipped;
};

struct ws_client {
	const char *client_type, *role;
	char *host_id;
	char *authorization;
	struct tls_client_conf tls;
	lws_retry_bo_t retry;
	struct ws_chan *chans;
	size_t n_chans;
	struct lws_protocols protocols[2];
	struct lws_context *ctx;
	pthread_t thread;
	atomic_int running;
	atomic_int stopping;
};

static void do_connect(lws_sorted_usec_list_t *sul);

static void rx_reset(struct ws_chan *c)
{
	free(c->rx);
	c->rx = NULL;
	c->rx_len = 0;
	c->rx_skip = 0;
}

static void schedule_reconnect(struct ws_chan *c)
{
	struct ws_client *cl = c->cl;
	c->state = CONN_IDLE;
	c->wsi = NULL;
	atomic_store(&c->up, 0);
	rx_reset(c);
	if (c->ops->on_closed)
		c->ops->on_closed(c->user, c);
	if (atomic_load(&cl->stopping))
		return;
	lws_sul_schedule(cl->ctx, 0, &c->sul, do_connect, c->backoff_ms * LWS_US_PER_MS);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void do_connect(lws_sorted_usec_list_t *sul)
{
	struct ws_chan *c = lws_container_of(sul, struct ws_chan, sul);
	struct ws_client *cl = c->cl;
	if (atomic_load(&cl->stopping) || c->state != CONN_IDLE)
		return;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.context = cl->ctx;
	ci.address = c->host;
	ci.port = c->port;
	ci.path = c->path;
	ci.host = c->host;
	ci.origin = c->host;
	ci.local_protocol_name = cl->protocols[0].name;
	ci.opaque_user_data = c;
	ci.retry_and_idle_policy = &cl->retry;
	ws_link_tls_connect(&cl->tls, &ci);
	c->tls_reason[0] = 0;
	c->state = CONN_CONNECTING;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	/* A failure may already have been reported through the callback
	 * (state back to IDLE and a retry scheduled). */
	if (c->state != CONN_CONNECTING)
		return;
	if (!wsi) {
		if (!c->warned)
			log_warn("%s: cannot connect the %s to analyzer %s; retrying", c->role, c->label,
				 c->addr);
		c->warned = 1;
		schedule_reconnect(c);
		return;
	}
	c->wsi = wsi;
}

static void write_one(struct ws_chan *c, struct lws *wsi)
{
	int more = 0;
	struct ws_msg *m = c->ops->next(c->user, c, &more);
	if (!m)
		return;
	int n = lws_write(wsi, m->buf + WS_LINK_HEADROOM, m->len,
			  c->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
	if (n < 0) {
		atomic_fetch_add(&c->write_failed, 1);
		log_warn("%s: %s write to analyzer %s failed", c->role, c->label, c->addr);
		ws_msg_free(m);
		return; /* lws closes the connection */
	}
	atomic_fetch_add(&c->sent, 1);
	atomic_fetch_add(&c->sent_bytes, m->len);
	ws_msg_free(m);
	if (more)
		lws_callback_on_writable(wsi);
}

static void on_receive(struct ws_chan *c, struct lws *wsi, const void *in, size_t len)
{
	if (!c->ops->on_message)
		return; /* nothing expected on this channel */
	if (!c->rx_skip) {
		if (c->rx_len + len > RX_MAX) {
			c->rx_skip = 1;
		} else {
			char *n = realloc(c->rx, c->rx_len + len + 1);
			if (!n) {
				c->rx_skip = 1;
			} else {
				c->rx = n;
				memcpy(c->rx + c->rx_len, in, len);
				c->rx_len += len;
			}
		}
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	if (!c->rx_skip && c->rx_len)
		c->ops->on_message(c->user, c, c->rx, c->rx_len);
	if (c->rx_skip) { /* said and counted, never dropped silently */
		atomic_fetch_add(&c->rx_skipped, 1);
		log_warn("%s: a message from analyzer %s on the %s was larger than %d bytes (or "
		         "no memory was left for it): skipped",
		         c->role, c->addr, c->label, RX_MAX);
	}
	rx_reset(c);
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
		      unsigned char *end)
{
	return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
					   (const unsigned char *)value, (int)strlen(value), p, end);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct ws_chan *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	struct ws_client *cl = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		if (!c)
			break;
		unsigned char **p = in, *end = *p + len;
		if (cl->authorization && add_header(wsi, "Authorization:", cl->authorization, p, end))
			return -1;
		if (add_header(wsi, "X-Host-ID:", cl->host_id, p, end) ||
		    add_header(wsi, "X-Client-Type:", cl->client_type, p, end) ||
		    add_header(wsi, "X-Client-Protocol:", c->protocol, p, end))
			return -1;
		break;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!c)
			break;
		log_info("%s: %s to analyzer %s up", c->role, c->label, c->addr);
		c->state = CONN_UP;
		c->wsi = wsi;
		c->backoff_ms = BACKOFF_MIN_MS;
		c->warned = 0;
		atomic_store(&c->up, 1);
		if (c->ops->on_open)
			c->ops->on_open(c->user, c);
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c)
			write_one(c, wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (c)
			on_receive(c, wsi, in, len);
		break;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* Returning 0 here would accept whatever OpenSSL refused. */
		return ws_link_tls_verify(user, len, c ? c->tls_reason : (char[1]){0},
					  c ? sizeof(c->tls_reason) : 1);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!c || c->state == CONN_IDLE)
			break;
		if (!c->warned) {
			char why[1200];
			log_warn("%s: cannot connect the %s to analyzer %s: %s; retrying", c->role, c->label,
				 c->addr,
				 ws_link_tls_failure(&cl->tls, in, c->tls_reason, why, sizeof(why)));
		}
		c->warned = 1;
		schedule_reconnect(c);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!c || c->state == CONN_IDLE)
			break;
		if (c->state == CONN_UP && !atomic_load(&cl->stopping))
			log_warn("%s: %s to analyzer %s lost; reconnecting", c->role, c->label, c->addr);
		schedule_reconnect(c);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		/* libwebsockets 4.1 may drop a client connection that failed after TCP
		 * came up (a TLS 1.3 alert read while it waits for the upgrade answer)
		 * with no CONNECTION_ERROR or CLOSED callback: without this the channel
		 * stays "connecting" for good and never says why. */
		if (!c || c->wsi != wsi || c->state == CONN_IDLE)
			break;
		if (c->state != CONN_UP && !c->warned) {
			char why[1200];
			log_warn("%s: cannot connect the %s to analyzer %s: %s; retrying", c->role, c->label,
				 c->addr,
				 ws_link_tls_failure(&cl->tls, "read failed", c->tls_reason, why,
						     sizeof(why)));
			c->warned = 1;
		} else if (c->state == CONN_UP && !atomic_load(&cl->stopping)) {
			log_warn("%s: %s to analyzer %s lost; reconnecting", c->role, c->label, c->addr);
		}
		schedule_reconnect(c);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Woken by an owner: each open channel's next() says whether it
		 * has work (a few channels: cheap). */
		if (!cl)
			break;
		for (struct ws_chan *k = cl->chans; k; k = k->next)
			if (k->state == CONN_UP && k->wsi)
				lws_callback_on_writable(k->wsi);
		break;
	default:
		break;
	}
	return 0;
}

static void lws_log(int level, const char *line)
{
	(void)level;
	/* libwebsockets is chatty on refused connections, which we report
	 * ourselves once per outage. */
	log_debug("libwebsockets: %.*s", (int)strcspn(line, "\n"), line);
}

struct ws_client *ws_client_new(const struct ws_client_opts *o, char *err, size_t errlen)
{
	struct ws_client *cl = calloc(1, sizeof(*cl));
	if (!cl)
		goto oom;
	if (o->tls)
		cl->tls = *o->tls;
	cl->client_type = o->client_type ? o->client_type : "agent";
	cl->role = o->role ? o->role : "agent";
	cl->host_id = strdup(o->host_id ? o->host_id : "");
	if (!cl->host_id || (o->authorization && !(cl->authorization = strdup(o->authorization))))
		goto oom;
	ws_link_retry_policy(&cl->retry, o->ping_delay_s > 0 ? o->ping_delay_s : 2);
	cl->protocols[0] = (struct lws_protocols){"skydive-agent", callback, 0, 0, 0, NULL, 0};
	return cl;
oom:
	snprintf(err, errlen, "agent: out of memory");
	ws_client_free(cl);
	return NULL;
}

struct ws_chan *ws_client_add(struct ws_client *cl, const struct ws_chan_opts *o, char *err,
			      size_t errlen)
{
	if (!cl) {
		snprintf(err, errlen, "agent: analyzers without a WebSocket client");
		return NULL;
	}
	if (cl->ctx) {
		snprintf(err, errlen, "agent: channel added to a started client");
		return NULL;
	}
	struct ws_chan *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "agent: out of memory");
		return NULL;
	}
	if (ws_link_addr(o->analyzer, c->host, sizeof(c->host), &c->port, c->addr, sizeof(c->addr),
			 err, errlen)) {
		free(c);
		return NULL;
	}
	c->cl = cl;
	c->role = cl->role;
	c->path = o->path;
	c->protocol = o->protocol;
	c->label = o->label;
	c->binary = o->binary;
	c->ops = o->ops;
	c->user = o->user;
	c->backoff_ms = BACKOFF_MIN_MS;
	/* At the end: channels connect in the order they were added. */
	struct ws_chan **p = &cl->chans;
	while (*p)
		p = &(*p)->next;
	*p = c;
	cl->n_chans++;
	return c;
}

static void *loop_main(void *arg)
{
	struct ws_client *cl = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&cl->stopping))
		if (lws_service(cl->ctx, 0) < 0)
			break;
	return NULL;
}

int ws_client_start(struct ws_client *cl, char *err, size_t errlen)
{
	if (!cl || !cl->n_chans || cl->ctx)
		return 0;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = cl->protocols;
	info.user = cl;
	info.gid = -1;
	info.uid = -1;
	ws_link_tls_context(&cl->tls, &info);
	cl->ctx = lws_create_context(&info);
	if (!cl->ctx) {
		snprintf(err, errlen, "agent: cannot create the WebSocket client context");
		return -ENOMEM;
	}
	/* Before the service thread runs, so this is the only thread touching lws. */
	for (struct ws_chan *c = cl->chans; c; c = c->next)
		lws_sul_schedule(cl->ctx, 0, &c->sul, do_connect, 1);
	int rc = pthread_create(&cl->thread, NULL, loop_main, cl);
	if (rc) {
		snprintf(err, errlen, "agent: cannot start a thread: %s", strerror(rc));
		lws_context_destroy(cl->ctx);
		cl->ctx = NULL;
		return -rc;
	}
	atomic_store(&cl->running, 1);
	return 0;
}

void ws_client_wake(struct ws_client *cl)
{
	if (cl && atomic_load(&cl->running))
		lws_cancel_service(cl->ctx);
}

int ws_client_running(struct ws_client *cl)
{
	return cl && atomic_load(&cl->running) && !atomic_load(&cl->stopping);
}

void ws_client_stop(struct ws_client *cl)
{
	if (!cl)
		return;
	atomic_store(&cl->stopping, 1);
	if (atomic_load(&cl->running)) {
		lws_cancel_service(cl->ctx);
		pthread_join(cl->thread, NULL);
		atomic_store(&cl->running, 0);
	}
	if (cl->ctx) {
		/* Closes the connections (their callbacks see stopping set). */
		lws_context_destroy(cl->ctx);
		cl->ctx = NULL;
	}
	for (struct ws_chan *c = cl->chans; c; c = c->next) {
		atomic_store(&c->up, 0);
		rx_reset(c);
	}
}

void ws_client_free(struct ws_client *cl)
{
	if (!cl)
		return;
	ws_client_stop(cl);
	while (cl->chans) {
		struct ws_chan *n = cl->chans->next;
		free(cl->chans);
		cl->chans = n;
	}
	free(cl->host_id);
	if (cl->authorization)
		explicit_bzero(cl->authorization, strlen(cl->authorization));
	free(cl->authorization);
	free(cl);
}

void ws_chan_get_stats(struct ws_chan *ch, struct ws_chan_stats *out)
{
	out->up = atomic_load(&ch->up);
	out->sent = atomic_load(&ch->sent);
	out->sent_bytes = atomic_load(&ch->sent_bytes);
	out->write_failed = atomic_load(&ch->write_failed);
	out->rx_skipped = atomic_load(&ch->rx_skipped);
}

const char *ws_chan_addr(const struct ws_chan *ch)
{
	return ch->addr;
}

void ws_chan_want_write(struct ws_chan *ch)
{
	if (ch->state == CONN_UP && ch->wsi)
		lws_callback_on_writable(ch->wsi);
}
