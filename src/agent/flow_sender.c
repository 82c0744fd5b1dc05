/* flow_sender.c - binary flow messages to the analyzers' /ws/agent/flow (see
 * flow_sender.h); the connections are channels of the agent's ws_link
 * client. Threads: capture workers push (s->lock, then wake the link); the
 * channel callbacks run on the link's service thread. */
#include "agent/flow_sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

struct flow_sender {
	struct ws_client *link; /* borrowed */
	size_t queue_max;
	struct ws_chan **chans;
	size_t n_chans;
	pthread_mutex_t lock;
	struct ws_queue q; /* s->lock: one queue, whichever channel is ready takes */
	uint64_t queued, dropped; /* s->lock */
	atomic_int stopping;
};

size_t flow_sender_headroom(void)
{
	return WS_LINK_HEADROOM;
}

int flow_sender_push(struct flow_sender *s, uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&s->lock);
	int full = s->q.len >= s->queue_max || atomic_load(&s->stopping);
	if (full)
		free(buf);
	/* ws_queue_push frees buf when it fails. */
	if (full || ws_queue_push(&s->q, buf, len, 0) < 0) {
		s->dropped++;
		pthread_mutex_unlock(&s->lock);
		return -ENOBUFS;
	}
	s->queued++;
	pthread_mutex_unlock(&s->lock);
	ws_client_wake(s->link);
	return 0;
}

/* The link's service thread: the oldest message, to whichever channel asks. */
static struct ws_msg *next(void *user, struct ws_chan *ch, int *more)
{
	(void)ch;
	struct flow_sender *s = user;
	pthread_mutex_lock(&s->lock);
	struct ws_msg *m = ws_queue_pop(&s->q);
	*more = s->q.head != NULL;
	pthread_mutex_unlock(&s->lock);
	return m;
}

/* Nothing is expected from the analyzer on this channel: no on_message. */
static const struct ws_chan_ops chan_ops = {.next = next};

struct flow_sender *flow_sender_new(const struct flow_sender_opts *o, char *err, size_t errlen)
{
	struct flow_sender *s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	pthread_mutex_init(&s->lock, NULL);
	s->link = o->link;
	s->queue_max = o->queue_max ? o->queue_max : 10000;
	s->chans = calloc(o->n_analyzers ? o->n_analyzers : 1, sizeof(*s->chans));
	if (!s->chans)
		goto oom;
	for (size_t i = 0; i < o->n_analyzers; i++) {
		struct ws_chan_opts co = {
			.analyzer = o->analyzers[i],
			.path = "/ws/agent/flow",
			.protocol = "protobuf",
			.binary = 1,
			.label = "flow channel",
			.ops = &chan_ops,
			.user = s,
		};
		s->chans[i] = ws_client_add(s->link, &co, err, errlen);
		if (!s->chans[i]) {
			flow_sender_free(s);
			return NULL;
		}
		s->n_chans++;
	}
	return s;
oom:
	snprintf(err, errlen, "agent: out of memory");
	flow_sender_free(s);
	return NULL;
}

static int any_up(struct flow_sender *s)
{
	for (size_t k = 0; k < s->n_chans; k++) {
		struct ws_chan_stats cs;
		ws_chan_get_stats(s->chans[k], &cs);
		if (cs.up)
			return 1;
	}
	return 0;
}

static void drop_queued(struct flow_sender *s)
{
	pthread_mutex_lock(&s->lock);
	s->dropped += ws_queue_clear(&s->q);
	pthread_mutex_unlock(&s->lock);
}

void flow_sender_stop(struct flow_sender *s)
{
	if (!s)
		return;
	/* Give what is queued (the flows flushed by stopped captures) a moment
	 * to reach a connected analyzer. */
	for (int i = 0; i < 200 && ws_client_running(s->link) && !atomic_load(&s->stopping); i++) {
		pthread_mutex_lock(&s->lock);
		int wait = s->q.len && any_up(s);
		pthread_mutex_unlock(&s->lock);
		if (!wait)
			break;
		ws_client_wake(s->link);
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&s->stopping, 1);
	drop_queued(s);
}

void flow_sender_free(struct flow_sender *s)
{
	if (!s)
		return;
	flow_sender_stop(s);
	drop_queued(s);
	pthread_mutex_destroy(&s->lock);
	free(s->chans);
	free(s);
}

void flow_sender_get_stats(struct flow_sender *s, struct flow_sender_stats *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_chans; i++) {
		struct ws_chan_stats cs;
		ws_chan_get_stats(s->chans[i], &cs);
		out->connected += cs.up ? 1 : 0;
		out->sent += cs.sent;
		out->sent_bytes += cs.sent_bytes;
		/* A failed write loses its message: counted as dropped. */
		out->dropped += cs.write_failed;
	}
	out->queued = s->queued;
	out->dropped += s->dropped;
	out->qlen = s->q.len;
	pthread_mutex_unlock(&s->lock);
}
