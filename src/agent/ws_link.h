/* ws_link.h - the agent's one WebSocket client to its analyzers: one
 * libwebsockets context and one service thread for every connection of the
 * agent (topology forwarder, flow sender), each connection a "channel" (one
 * analyzer, one path) whose owner supplies what to send and what to do with
 * what arrives. Connect, reconnect with backoff (200 ms doubling to 5 s), TLS,
 * the handshake headers (Authorization, X-Host-ID, X-Client-Type: agent or
 * analyzer (replication peers, analyzer/replication.h),
 * X-Client-Protocol), write scheduling and the per-channel counters live
 * here, once.
 *
 * Threads: ws_client_wake may be called from any thread; every channel
 * callback runs on the service thread, with no lock of ours held. The
 * owner's queues are the owner's (ws_queue below has no lock: the owner
 * holds its own around each call). */
#ifndef SKYDIVE_WS_LINK_H
#define SKYDIVE_WS_LINK_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "common/tls.h"

/* ---- a bounded outgoing queue (the caller's lock held) ------------------ */

struct ws_msg {
	struct ws_msg *next;
	size_t len;
	unsigned char *buf; /* WS_LINK_HEADROOM bytes of headroom, then len bytes */
};

#define WS_LINK_HEADROOM LWS_PRE

struct ws_queue {
	struct ws_msg *head, *tail;
	size_t len;
};

/* Takes buf (freed on failure): at the back, or in front when front is set.
 * 0 or -ENOMEM. The bound is the caller's (len). */
int ws_queue_push(struct ws_queue *q, void *buf, size_t len, int front);
/* The oldest message (the caller frees it with ws_msg_free), or NULL. */
struct ws_msg *ws_queue_pop(struct ws_queue *q);
/* Frees every message; returns how many there were. */
size_t ws_queue_clear(struct ws_queue *q);
void ws_msg_free(struct ws_msg *m); /* NULL is fine */

/* ---- the client and its channels ---------------------------------------- */

struct ws_client;
struct ws_chan;

/* What a channel's owner does; user is ws_client_add's. All optional but
 * next. Service thread only. */
struct ws_chan_ops {
	/* The connection is up (handshake done). */
	void (*on_open)(void *user, struct ws_chan *ch);
	/* One whole message from the analyzer (fragments joined; a message over
	 * 1 MiB is skipped). */
	void (*on_message)(void *user, struct ws_chan *ch, const char *buf, size_t len);
	/* The connection may take a message: the next one to write (taken), or
	 * NULL. *more set when there is more after it. */
	struct ws_msg *(*next)(void *user, struct ws_chan *ch, int *more);
	/* The connection went down or never came up (a reconnect is scheduled
	 * unless the client stops). */
	void (*on_closed)(void *user, struct ws_chan *ch);
};

struct ws_client_opts {
	const char *host_id;
	int ping_delay_s;		   /* 0 = 2 */
	const struct tls_client_conf *tls; /* wss when tls->on; NULL = plain (copied) */
	const char *authorization;	   /* Authorization header of the handshakes; NULL none (copied) */
	const char *client_type;	   /* X-Client-Type: NULL = "agent"; "analyzer" for peers (static) */
	const char *role;		   /* in logs: NULL = "agent" (static) */
};

struct ws_chan_opts {
	const char *analyzer;	/* "HOST:PORT" (host defaults to 127.0.0.1) */
	const char *path;	/* "/ws/agent/topology" (static) */
	const char *protocol;	/* X-Client-Protocol: "json", "protobuf" (static) */
	int binary;		/* frames are binary, else text */
	const char *label;	/* in logs: "agent: <label> to analyzer X ..." (static) */
	const struct ws_chan_ops *ops;
	void *user;
};

/* Per channel, any thread. */
struct ws_chan_stats {
	int up;
	uint64_t sent, sent_bytes, write_failed; /* messages, their bytes */
	uint64_t rx_skipped; /* analyzer messages over 1 MiB skipped (logged) */
};

/* NULL with err filled (OOM). */
struct ws_client *ws_client_new(const struct ws_client_opts *o, char *err, size_t errlen);
/* A channel, before ws_client_start: NULL with err filled (bad address, OOM,
 * already started, cl NULL). Owned by the client. */
struct ws_chan *ws_client_add(struct ws_client *cl, const struct ws_chan_opts *o, char *err,
			      size_t errlen);
/* Creates the context, schedules every channel's connect and starts the
 * service thread (nothing without channels): 0 or -errno with err filled. */
int ws_client_start(struct ws_client *cl, char *err, size_t errlen);
/* Any thread: the owners have new work; every open channel is asked for it. */
void ws_client_wake(struct ws_client *cl);
/* 1 while the service thread runs. */
int ws_client_running(struct ws_client *cl);
/* Closes the connections (on_closed runs), joins; idempotent. After it no
 * callback runs, so the owners may be freed. */
void ws_client_stop(struct ws_client *cl);
void ws_client_free(struct ws_client *cl); /* stops; NULL is fine */

void ws_chan_get_stats(struct ws_chan *ch, struct ws_chan_stats *out);
/* The address as configured, for logs. */
const char *ws_chan_addr(const struct ws_chan *ch);
/* Service thread: ask for a write callback on this channel when it is up. */
void ws_chan_want_write(struct ws_chan *ch);

/* ---- pieces, exposed for the unit tests -------------------------------- */

/* One analyzer "HOST:PORT" (host defaults to 127.0.0.1) into host/port and
 * the text kept for logs. 0, or -EINVAL with a message in err. */
int ws_link_addr(const char *spec, char *host, size_t hostlen, int *port, char *addr,
		 size_t addrlen, char *err, size_t errlen);

/* The words of a failed connection: verify_reason when the analyzer's certificate
 * was refused, else lws's error, with a hint at our client certificate when TLS is
 * on and the analyzer hung up during the handshake (lws 4.1 does not pass the
 * alert it sent to a client). Returns one of its arguments or out. */
const char *ws_link_tls_failure(const struct tls_client_conf *t, const char *lws_err,
				const char *verify_reason, char *out, size_t outlen);

#endif
