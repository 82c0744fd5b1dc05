/* forwarder.c - the agent's WebSocket client (libwebsockets): one connection
 * per analyzer on /ws/agent/topology, a Sync of the whole graph on connect,
 * then every graph change from a graph listener through a bounded queue.
 *
 * Threads: the graph listener runs on the probe threads (graph lock held)
 * and only encodes, queues and wakes the loop (lws_cancel_service); every
 * libwebsockets call other than that happens on the loop thread. Lock order:
 * graph lock, then f->lock. */
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/forwarder.h"
#include "common/log.h"
#include "agent/ws_link.h"
#include "config/config.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define RX_MAX (1 << 20) /* analyzer messages we read; more is skipped */

struct fwd_msg {
	struct fwd_msg *next;
	size_t len;
	char *buf; /* LWS_PRE bytes of headroom, then the text */
};

enum conn_state { CONN_IDLE, CONN_CONNECTING, CONN_UP };

struct fwd_conn {
	struct forwarder *f;
	char host[256];
	int port;
	char addr[300];
	struct lws *wsi;	   /* loop thread only */
	enum conn_state state;	   /* loop thread only */
	lws_sorted_usec_list_t sul; /* reconnect timer */
	int64_t backoff_ms;
	int warned;		   /* a failure was logged since the last success */
	char tls_reason[800];	   /* why the analyzer's certificate was refused */
	/* f->lock */
	int established, need_sync;
	struct fwd_msg *head, *tail;
	size_t qlen;
	struct fwd_msg *replies; /* OnDemand replies: sent first, never cleared by a Sync */
	uint64_t sent, dropped, syncs;
	/* received frame being assembled (loop thread) */
	char *rx;
	size_t rx_len;
	int rx_skip;
};

struct forwarder {
	struct graph *g;
	char *host_id;
	char *authorization; /* cluster credentials of the handshake, or NULL */
	size_t queue_max;
	int ping_delay_s;
	forwarder_request_fn on_request;
	void *request_user;
	struct fwd_conn *conns;
	size_t n_conns;
	pthread_mutex_t lock;
	int listener_id;
	struct lws_context *ctx;
	pthread_t thread;
	int thread_started;
	atomic_int stopping;
	lws_retry_bo_t retry;
	struct tls_client_conf tls;
};

/* ---- queue (f->lock held) ---------------------------------------------- */

static void queue_clear(struct fwd_conn *c)
{
	struct fwd_msg *m = c->head;
	while (m) {
		struct fwd_msg *n = m->next;
		free(m->buf);
		free(m);
		m = n;
	}
	c->head = c->tail = NULL;
	c->qlen = 0;
}

/* Takes buf (freed on failure). */
static int queue_push(struct fwd_conn *c, char *buf, size_t len, int front)
{
	struct fwd_msg *m = malloc(sizeof(*m));
	if (!m) {
		free(buf);
		return -ENOMEM;
	}
	m->buf = buf;
	m->len = len;
	m->next = NULL;
	if (front) {
		m->next = c->head;
		c->head = m;
		if (!c->tail)
			c->tail = m;
	} else {
		if (c->tail)
			c->tail->next = m;
		else
			c->head = m;
		c->tail = m;
	}
	c->qlen++;
	return 0;
}

static void replies_clear(struct fwd_conn *c)
{
	while (c->replies) {
		struct fwd_msg *n = c->replies->next;
		free(c->replies->buf);
		free(c->replies);
		c->replies = n;
	}
}

/* ---- graph listener (graph lock held, any thread) ----------------------- */

static void on_graph(void *user, enum graph_event ev, const struct graph_node *node,
		     const struct graph_edge *edge)
{
	struct forwarder *f = user;
	char *text = NULL;
	size_t len = 0;
	int wake = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_conns; i++) {
		struct fwd_conn *c = &f->conns[i];
		/* Not connected, or a Sync is due anyway: the Sync will carry it. */
		if (!c->established || c->need_sync)
			continue;
		if (!text) {
			text = agent_encode_event(ev, node, edge, LWS_PRE, &len);
			if (!text) {
				log_error("agent: out of memory encoding a graph message");
				break;
			}
		}
		if (c->qlen >= f->queue_max) {
			/* The analyzer cannot keep up: drop the backlog and resync
			 * rather than let memory grow or the copy diverge. */
			c->dropped += c->qlen + 1;
			log_warn("agent: send queue to %s full (%zu); %zu messages dropped, will resync",
				 c->addr, f->queue_max, c->qlen + 1);
			queue_clear(c);
			c->need_sync = 1;
			wake = 1;
			continue;
		}
		char *copy = malloc(LWS_PRE + len + 1);
		if (!copy || queue_push(c, memcpy(copy, text, LWS_PRE + len + 1), len, 0) < 0) {
			c->dropped++;
			c->need_sync = 1;
		}
		wake = 1;
	}
	pthread_mutex_unlock(&f->lock);
	free(text);
	if (wake && f->ctx)
		lws_cancel_service(f->ctx);
}

/* ---- connections (loop thread) ----------------------------------------- */

static void do_connect(lws_sorted_usec_list_t *sul);

static void schedule_reconnect(struct fwd_conn *c)
{
	struct forwarder *f = c->f;
	c->state = CONN_IDLE;
	c->wsi = NULL;
	pthread_mutex_lock(&f->lock);
	c->established = 0;
	queue_clear(c);
	replies_clear(c);
	pthread_mutex_unlock(&f->lock);
	if (atomic_load(&f->stopping))
		return;
	lws_sul_schedule(f->ctx, 0, &c->sul, do_connect, c->backoff_ms * LWS_US_PER_MS);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void do_connect(lws_sorted_usec_list_t *sul)
{
	struct fwd_conn *c = lws_container_of(sul, struct fwd_conn, sul);
	struct forwarder *f = c->f;
	if (atomic_load(&f->stopping) || c->state != CONN_IDLE)
		return;
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.context = f->ctx;
	ci.address = c->host;
	ci.port = c->port;
	ci.path = "/ws/agent/topology";
	ci.host = c->host;
	ci.origin = c->host;
	ci.local_protocol_name = "skydive-agent";
	ci.opaque_user_data = c;
	ci.retry_and_idle_policy = &f->retry;
	ws_link_tls_connect(&f->tls, &ci);
	c->tls_reason[0] = 0;
	c->state = CONN_CONNECTING;
	struct lws *wsi = lws_client_connect_via_info(&ci);
	/* A failure may already have been reported through the callback
	 * (state back to IDLE and a retry scheduled). */
	if (c->state != CONN_CONNECTING)
		return;
	if (!wsi) {
		if (!c->warned)
			log_warn("agent: cannot connect to analyzer %s; retrying", c->addr);
		c->warned = 1;
		schedule_reconnect(c);
		return;
	}
	c->wsi = wsi;
}

/* The Sync of the whole graph, put in front of the queue (which it
 * supersedes). Takes the graph lock, then f->lock. */
static void make_sync(struct fwd_conn *c)
{
	struct forwarder *f = c->f;
	graph_lock(f->g);
	struct graph_view *v = graph_view_at(f->g, 0, NULL);
	json_t *obj = v ? graph_view_to_json(v) : NULL;
	graph_view_free(v);
	size_t len = 0;
	char *text = obj ? agent_encode_sync(obj, LWS_PRE, &len) : NULL;
	pthread_mutex_lock(&f->lock);
	queue_clear(c);
	if (text && queue_push(c, text, len, 1) == 0) {
		c->need_sync = 0;
		c->syncs++;
	} else {
		log_error("agent: out of memory building the Sync for %s", c->addr);
	}
	pthread_mutex_unlock(&f->lock);
	graph_unlock(f->g);
}

static void write_one(struct fwd_conn *c, struct lws *wsi)
{
	struct forwarder *f = c->f;
	pthread_mutex_lock(&f->lock);
	struct fwd_msg *m = c->replies;
	if (m)
		c->replies = m->next;
	int sync = !m && c->need_sync;
	pthread_mutex_unlock(&f->lock);
	if (sync)
		make_sync(c);

	pthread_mutex_lock(&f->lock);
	if (!m) {
		m = c->head;
		if (m) {
			c->head = m->next;
			if (!c->head)
				c->tail = NULL;
			c->qlen--;
		}
	}
	int more = c->head != NULL || c->need_sync || c->replies;
	pthread_mutex_unlock(&f->lock);
	if (!m)
		return;
	int n = lws_write(wsi, (unsigned char *)m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
	free(m->buf);
	free(m);
	if (n < 0) {
		log_warn("agent: write to analyzer %s failed", c->addr);
		return; /* lws closes the connection */
	}
	pthread_mutex_lock(&f->lock);
	c->sent++;
	pthread_mutex_unlock(&f->lock);
	if (more)
		lws_callback_on_writable(wsi);
}

/* An analyzer message: SyncRequest asks for the whole graph again. */
static void on_message(struct fwd_conn *c, struct lws *wsi, const char *text, size_t len)
{
	json_t *msg = json_loadb(text, len, 0, NULL);
	const char *ns = json_string_value(json_object_get(msg, "Namespace"));
	const char *type = json_string_value(json_object_get(msg, "Type"));
	if (ns && type && !strcmp(ns, "Graph") && !strcmp(type, "SyncRequest")) {
		pthread_mutex_lock(&c->f->lock);
		c->need_sync = 1;
		pthread_mutex_unlock(&c->f->lock);
		lws_callback_on_writable(wsi);
	} else if (ns && !strcmp(ns, "OnDemand") && c->f->on_request) {
		/* Capture requests: handled here, on the loop thread; the reply
		 * goes back on this connection. */
		json_t *r = c->f->on_request(c->f->request_user, msg);
		size_t n = r ? json_dumpb(r, NULL, 0, JSON_COMPACT) : 0;
		char *buf = n ? malloc(LWS_PRE + n + 1) : NULL;
		struct fwd_msg *m = buf ? malloc(sizeof(*m)) : NULL;
		if (m) {
			json_dumpb(r, buf + LWS_PRE, n, JSON_COMPACT);
			buf[LWS_PRE + n] = 0;
			m->buf = buf;
			m->len = n;
			m->next = NULL;
			pthread_mutex_lock(&c->f->lock);
			struct fwd_msg **p = &c->replies;
			while (*p)
				p = &(*p)->next;
			*p = m;
			pthread_mutex_unlock(&c->f->lock);
			lws_callback_on_writable(wsi);
		} else {
			free(buf);
			log_error("agent: out of memory replying to an OnDemand request");
		}
		json_decref(r);
	}
	json_decref(msg);
}

static void on_receive(struct fwd_conn *c, struct lws *wsi, const void *in, size_t len)
{
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
		on_message(c, wsi, c->rx, c->rx_len);
	free(c->rx);
	c->rx = NULL;
	c->rx_len = 0;
	c->rx_skip = 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct fwd_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	struct forwarder *f = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		if (!c)
			break;
		unsigned char **p = in, *end = *p + len;
		static const char type[] = "agent", proto[] = "json";
		if (f->authorization &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"Authorization:",
						(const unsigned char *)f->authorization,
						(int)strlen(f->authorization), p, end))
			return -1;
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"X-Host-ID:",
						(const unsigned char *)f->host_id,
						(int)strlen(f->host_id), p, end) ||
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
		log_info("agent: connected to analyzer %s", c->addr);
		c->state = CONN_UP;
		c->wsi = wsi;
		c->backoff_ms = BACKOFF_MIN_MS;
		c->warned = 0;
		pthread_mutex_lock(&f->lock);
		c->established = 1;
		c->need_sync = 1;
		pthread_mutex_unlock(&f->lock);
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
			log_warn("agent: cannot connect to analyzer %s: %s; retrying", c->addr,
				 ws_link_tls_failure(&f->tls, in, c->tls_reason, why, sizeof(why)));
		}
		c->warned = 1;
		schedule_reconnect(c);
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!c || c->state == CONN_IDLE)
			break;
		if (c->state == CONN_UP && !atomic_load(&f->stopping))
			log_warn("agent: connection to analyzer %s lost; reconnecting", c->addr);
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
		schedule_reconnect(c);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* Woken by the graph listener: ask to write where there is work. */
		if (!f)
			break;
		for (size_t i = 0; i < f->n_conns; i++) {
			struct fwd_conn *k = &f->conns[i];
			if (k->state != CONN_UP || !k->wsi)
				continue;
			pthread_mutex_lock(&f->lock);
			int work = k->head || k->need_sync || k->replies;
			pthread_mutex_unlock(&f->lock);
			if (work)
				lws_callback_on_writable(k->wsi);
		}
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{"skydive-agent", callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- life cycle -------------------------------------------------------- */

static void lws_log(int level, const char *line)
{
	/* libwebsockets is chatty on refused connections, which we report
	 * ourselves once per outage. */
	log_debug("libwebsockets: %.*s", (int)strcspn(line, "\n"), line);
}

struct forwarder *forwarder_new(const struct forwarder_opts *o, char *err, size_t errlen)
{
	struct forwarder *f = calloc(1, sizeof(*f));
	if (!f)
		goto oom;
	pthread_mutex_init(&f->lock, NULL);
	f->listener_id = -1;
	f->g = o->g;
	f->queue_max = o->queue_max ? o->queue_max : 10000;
	f->ping_delay_s = o->ping_delay_s > 0 ? o->ping_delay_s : 2;
	f->on_request = o->on_request;
	f->request_user = o->request_user;
	if (o->tls)
		f->tls = *o->tls;
	f->host_id = strdup(o->host_id);
	if (o->authorization && !(f->authorization = strdup(o->authorization)))
		goto oom;
	f->conns = calloc(o->n_analyzers ? o->n_analyzers : 1, sizeof(*f->conns));
	if (!f->host_id || !f->conns)
		goto oom;
	for (size_t i = 0; i < o->n_analyzers; i++) {
		struct fwd_conn *c = &f->conns[i];
		c->f = f;
		c->backoff_ms = BACKOFF_MIN_MS;
		if (ws_link_addr(o->analyzers[i], c->host, sizeof(c->host), &c->port, c->addr,
				 sizeof(c->addr), err, errlen)) {
			forwarder_free(f);
			return NULL;
		}
		f->n_conns++;
	}
	ws_link_retry_policy(&f->retry, f->ping_delay_s);
	return f;
oom:
	snprintf(err, errlen, "agent: out of memory");
	forwarder_free(f);
	return NULL;
}

static void *loop_main(void *arg)
{
	struct forwarder *f = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&f->stopping))
		if (lws_service(f->ctx, 0) < 0)
			break;
	return NULL;
}

int forwarder_start(struct forwarder *f, char *err, size_t errlen)
{
	if (!f->n_conns)
		return 0;
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.user = f;
	info.gid = -1;
	info.uid = -1;
	ws_link_tls_context(&f->tls, &info);
	f->ctx = lws_create_context(&info);
	if (!f->ctx) {
		snprintf(err, errlen, "agent: cannot create the WebSocket client context");
		return -ENOMEM;
	}
	int id = graph_listener_add(f->g, on_graph, f);
	if (id < 0) {
		snprintf(err, errlen, "agent: out of memory");
		return id;
	}
	f->listener_id = id;
	/* Before the loop thread runs, so this is the only thread touching lws. */
	for (size_t i = 0; i < f->n_conns; i++)
		lws_sul_schedule(f->ctx, 0, &f->conns[i].sul, do_connect, 1);
	int rc = pthread_create(&f->thread, NULL, loop_main, f);
	if (rc) {
		snprintf(err, errlen, "agent: cannot start a thread: %s", strerror(rc));
		return -rc;
	}
	f->thread_started = 1;
	return 0;
}

void forwarder_stop(struct forwarder *f)
{
	if (!f)
		return;
	if (f->listener_id >= 0) {
		graph_lock(f->g);
		graph_listener_remove(f->g, f->listener_id);
		graph_unlock(f->g);
		f->listener_id = -1;
	}
	atomic_store(&f->stopping, 1);
	if (f->thread_started) {
		lws_cancel_service(f->ctx);
		pthread_join(f->thread, NULL);
		f->thread_started = 0;
	}
	if (f->ctx) {
		/* Closes the connections (their callbacks see stopping set). */
		lws_context_destroy(f->ctx);
		f->ctx = NULL;
	}
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_conns; i++) {
		queue_clear(&f->conns[i]);
		replies_clear(&f->conns[i]);
		f->conns[i].established = 0;
		free(f->conns[i].rx);
		f->conns[i].rx = NULL;
	}
	pthread_mutex_unlock(&f->lock);
}

void forwarder_free(struct forwarder *f)
{
	if (!f)
		return;
	forwarder_stop(f);
	pthread_mutex_destroy(&f->lock);
	free(f->conns);
	free(f->host_id);
	if (f->authorization)
		explicit_bzero(f->authorization, strlen(f->authorization));
	free(f->authorization);
	free(f);
}

void forwarder_stats(struct forwarder *f, size_t *connected, uint64_t *sent, uint64_t *dropped,
		     uint64_t *syncs)
{
	*connected = 0;
	*sent = *dropped = *syncs = 0;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n_conns; i++) {
		*connected += f->conns[i].established ? 1 : 0;
		*sent += f->conns[i].sent;
		*dropped += f->conns[i].dropped;
		*syncs += f->conns[i].syncs;
	}
	pthread_mutex_unlock(&f->lock);
}
