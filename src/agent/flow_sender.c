/* flow_sender.c - binary flow messages to the analyzers' /ws/agent/flow (see
 * flow_sender.h). Threads: capture workers push (s->lock, then wake the loop
 * with lws_cancel_service); every other libwebsockets call happens on the
 * loop thread. */
#include "agent/flow_sender.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "agent/ws_link.h"
#include "config/config.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

struct fs_msg {
	struct fs_msg *next;
	size_t len;
	uint8_t *buf; /* LWS_PRE bytes of headroom, then the message */
};

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_UP };

struct fs_conn {
	struct flow_sender *s;
	char host[256];
	int port;
	char addr[300];
	struct lws *wsi;            /* loop thread */
	enum conn_state state;      /* loop thread */
	lws_sorted_usec_list_t sul; /* reconnect timer */
	int64_t backoff_ms;
	int warned;
	char tls_reason[800]; /* why the analyzer's certificate was refused */
	int established; /* s->lock */
};

struct flow_sender {
	char *host_id;
	char *authorization; /* cluster credentials of the handshake, or NULL */
	size_t queue_max;
	int ping_delay_s;
	struct fs_conn *conns;
	size_t n_conns;
	pthread_mutex_t lock;
	struct fs_msg *head, *tail; /* s->lock */
	size_t qlen;
	uint64_t queued, sent, dropped, sent_bytes;
	struct lws_context *ctx;
	pthread_t thread;
	int thread_started;
	atomic_int stopping;
	lws_retry_bo_t retry;
	struct tls_client_conf tls;
};

size_t flow_sender_headroom(void)
{
	return LWS_PRE;
}

static void queue_clear(struct flow_sender *s)
{
	struct fs_msg *m = s->head;
	while (m) {
		struct fs_msg *n = m->next;
		free(m->buf);
		free(m);
		s->dropped++;
		m = n;
	}
	s->head = s->tail = NULL;
	s->qlen = 0;
}

int flow_sender_push(struct flow_sender *s, uint8_t *buf, size_t len)
{
	struct fs_msg *m = malloc(sizeof(*m));
	pthread_mutex_lock(&s->lock);
	if (!m || s->qlen >= s->queue_max || atomic_load(&s->stopping)) {
		s->dropped++;
		pthread_mutex_unlock(&s->lock);
		free(m);
		free(buf);
		return -ENOBUFS;
	}
	m->buf = buf;
	m->len = len;
	m->next = NULL;
	if (s->tail)
		s->tail->next = m;
	else
		s->head = m;
	s->tail = m;
	s->qlen++;
	s->queued++;
	pthread_mutex_unlock(&s->lock);
	if (s->ctx && s->thread_started)
		lws_cancel_service(s->ctx);
	return 0;
}

/* ---- connections (loop thread) ------------------------------------------ */

static void do_connect(lws_sorted_usec_list_t *sul);

static void schedule_reconnect(struct fs_conn *c)
{
	struct flow_sender *s = c->s;
	c->state = CONN_IDLE;
	c->wsi = NULL;
	pthread_mutex_lock(&s->lock);
	c->established = 0;
	pthread_mutex_unlock(&s->lock);
	if (atomic_load(&s->stopping))
		return;
	lws_sul_schedule(s->ctx, 0, &c->sul, do_connect, c->backoff_ms * LWS_US_PER_MS);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void do_connect(lws_sorted_usec_list_t *sul)
{
	struct fs_conn *c = lws_container_of(sul, struct fs_conn, sul);
	struct flow_sender *s = c->s;
	if (atomic_load(&s->stopping) || c->state != CONN_IDLE)
		return;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.context = s->ctx;
	ci.address = c->host;
	ci.port = c->port;
	ci.path = "/ws/agent/flow";
	ci.host = c->host;
	ci.origin = c->host;
	ci.local_protocol_name = "skydive-agent-flow";
	ci.opaque_user_data = c;
	ci.retry_and_idle_policy = &s->retry;
	ws_link_tls_connect(&s->tls, &ci);
	c->tls_reason[0] = 0;
	c->state = CONN_CONNECTING;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	if (c->state != CONN_CONNECTING)
		return;
	if (!wsi) {
		if (!c->warned)
			log_warn("agent: cannot connect the flow channel to analyzer %s; retrying",
				 c->addr);
		c->warned = 1;
		schedule_reconnect(c);
		return;
	}
	c->wsi = wsi;
}

static void write_one(struct fs_conn *c, struct lws *wsi)
{
	struct flow_sender *s = c->s;
	pthread_mutex_lock(&s->lock);
	struct fs_msg *m = s->head;
	if (m) {
		s->head = m->next;
		if (!s->head)
			s->tail = NULL;
		s->qlen--;
	}
	int more = s->head != NULL;
	pthread_mutex_unlock(&s->lock);
	if (!m)
		return;
	int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_BINARY);
	pthread_mutex_lock(&s->lock);
	if (n < 0) {
		s->dropped++;
	} else {
		s->sent++;
		s->sent_bytes += m->len;
	}
	pthread_mutex_unlock(&s->lock);
	free(m->buf);
	free(m);
	if (n < 0) {
		log_warn("agent: flow write to analyzer %s failed", c->addr);
		return;
	}
	if (more)
		lws_callback_on_writable(wsi);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct fs_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	struct flow_sender *s = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		if (!c)
			break;
		unsigned char **p = in, *end = *p + len;
		static const char type[] = "agent", proto[] = "protobuf";
		if (s->authorization &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"Authorization:",
						(const unsigned char *)s->authorization,
						(int)strlen(s->authorization), p, end))
			return -1;
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"X-Host-ID:",
						(const unsigned char *)s->host_id,
						(int)strlen(s->host_id), p, end) ||
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"X-Client-Type:",
						(const unsigned char *)type, sizeof(type) - 1, p,
						end) ||
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"X-Client-Protocol:",
						(const unsigned char *)proto, sizeof(proto) - 1, p,
						end))
			return -1;
		break;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!c)
			break;
		log_info("agent: flow channel to analyzer %s up", c->addr);
		c->state = CONN_UP;
		c->wsi = wsi;
		c->backoff_ms = BACKOFF_MIN_MS;
		c->warned = 0;
		pthread_mutex_lock(&s->lock);
		c->established = 1;
		pthread_mutex_unlock(&s->lock);
		lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (c)
			write_one(c, wsi);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		break; /* nothing expected from the analyzer on this channel */
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* Returning 0 here would accept whatever OpenSSL refused. */
		return ws_link_tls_verify(user, len, c ? c->tls_reason : (char[1]){0},
					  c ? sizeof(c->tls_reason) : 1);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!c || c->state == CONN_IDLE)
			break;
		if (!c->warned) {
			char why[1200];
			log_warn("agent: cannot connect the flow channel to analyzer %s: %s; retrying",
				 c->addr,
				 ws_link_tls_failure(&s->tls, in, c->tls_reason, why, sizeof(why)));
		}
		c->warned = 1;
		schedule_reconnect(c);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!c || c->state == CONN_IDLE)
			break;
		if (c->state == CONN_UP && !atomic_load(&s->stopping))
			log_warn("agent: flow channel to analyzer %s lost; reconnecting", c->addr);
		schedule_reconnect(c);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
		if (!s)
			break;
		pthread_mutex_lock(&s->lock);
		int work = s->head != NULL;
		pthread_mutex_unlock(&s->lock);
		if (!work)
			break;
		for (size_t i = 0; i < s->n_conns; i++)
			if (s->conns[i].state == CONN_UP && s->conns[i].wsi)
				lws_callback_on_writable(s->conns[i].wsi);
		break;
	}
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"skydive-agent-flow", callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- life cycle --------------------------------------------------------- */

struct flow_sender *flow_sender_new(const struct flow_sender_opts *o, char *err, size_t errlen)
{
	struct flow_sender *s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	pthread_mutex_init(&s->lock, NULL);
	s->queue_max = o->queue_max ? o->queue_max : 10000;
	s->ping_delay_s = o->ping_delay_s > 0 ? o->ping_delay_s : 2;
	if (o->tls)
		s->tls = *o->tls;
	s->host_id = strdup(o->host_id ? o->host_id : "");
	if (o->authorization && !(s->authorization = strdup(o->authorization)))
		goto oom;
	s->conns = calloc(o->n_analyzers ? o->n_analyzers : 1, sizeof(*s->conns));
	if (!s->host_id || !s->conns)
		goto oom;
	for (size_t i = 0; i < o->n_analyzers; i++) {
		struct fs_conn *c = &s->conns[i];
		c->s = s;
		c->backoff_ms = BACKOFF_MIN_MS;
		if (ws_link_addr(o->analyzers[i], c->host, sizeof(c->host), &c->port, c->addr,
				 sizeof(c->addr), err, errlen)) {
			flow_sender_free(s);
			return NULL;
		}
		s->n_conns++;
	}
	ws_link_retry_policy(&s->retry, s->ping_delay_s);
	return s;
oom:
	snprintf(err, errlen, "agent: out of memory");
	flow_sender_free(s);
	return NULL;
}

static void *loop_main(void *arg)
{
	struct flow_sender *s = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&s->stopping))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

int flow_sender_start(struct flow_sender *s, char *err, size_t errlen)
{
	if (!s->n_conns || s->ctx)
		return 0;
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = s;
	info.gid = -1;
	info.uid = -1;
	ws_link_tls_context(&s->tls, &info);
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		snprintf(err, errlen, "agent: cannot create the flow WebSocket client context");
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_conns; i++)
		lws_sul_schedule(s->ctx, 0, &s->conns[i].sul, do_connect, 1);
	int rc = pthread_create(&s->thread, NULL, loop_main, s);
	if (rc) {
		snprintf(err, errlen, "agent: cannot start a thread: %s", strerror(rc));
		return -rc;
	}
	s->thread_started = 1;
	return 0;
}

void flow_sender_stop(struct flow_sender *s)
{
	if (!s)
		return;
	/* Give what is queued (the flows flushed by stopped captures) a moment
	 * to reach a connected analyzer. */
	for (int i = 0; i < 200 && s->thread_started && !atomic_load(&s->stopping); i++) {
		pthread_mutex_lock(&s->lock);
		int up = 0;
		for (size_t k = 0; k < s->n_conns; k++)
			up |= s->conns[k].established;
		int wait = up && s->qlen;
		pthread_mutex_unlock(&s->lock);
		if (!wait)
			break;
		lws_cancel_service(s->ctx);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&s->stopping, 1);
	if (s->thread_started) {
		lws_cancel_service(s->ctx);
		pthread_join(s->thread, NULL);
		s->thread_started = 0;
	}
	if (s->ctx) {
		lws_context_destroy(s->ctx);
		s->ctx = NULL;
	}
	pthread_mutex_lock(&s->lock);
	queue_clear(s);
	for (size_t i = 0; i < s->n_conns; i++)
		s->conns[i].established = 0;
	pthread_mutex_unlock(&s->lock);
}

void flow_sender_free(struct flow_sender *s)
{
	if (!s)
		return;
	flow_sender_stop(s);
	pthread_mutex_destroy(&s->lock);
	free(s->conns);
	free(s->host_id);
	if (s->authorization)
		explicit_bzero(s->authorization, strlen(s->authorization));
	free(s->authorization);
	free(s);
}

void flow_sender_get_stats(struct flow_sender *s, struct flow_sender_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_conns; i++)
		out->connected += s->conns[i].established ? 1 : 0;
	out->queued = s->queued;
	out->sent = s->sent;
	out->dropped = s->dropped;
	out->sent_bytes = s->sent_bytes;
	out->qlen = s->qlen;
	pthread_mutex_unlock(&s->lock);
}
