/* graph_writer.c - the graph-writer thread: a bounded FIFO of message texts from the
 * loop, parsed here and applied in batches under the graph's writer lock. */
#include "analyzer/graph_writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer/replication.h"
#include "common/log.h"
#include "wire/struct_msg.h"

/* Messages applied per hold of the writer lock: readers get in between batches. */
#define BATCH_MAX 256

enum { DROP, APPLY, BOUNCE, BOUNCE_SYNC };

struct gw_job {
	struct gw_job *next;
	uint64_t peer;
	int flags, force_host, del, barrier;
	int what; /* DROP, APPLY or BOUNCE */
	uint64_t seq;
	char *text; /* the message, or NULL for a deletion */
	size_t len;
	json_t *msg; /* parsed, on the writer thread */
	char *host, *origin;
};

struct graph_writer {
	struct graph *g;
	pthread_t thread;
	int started;
	pthread_mutex_t mu; /* queue, items, counters */
	pthread_cond_t cv;
	struct gw_job *qhead, *qtail;
	size_t queued, queued_bytes, max_msgs, max_bytes; /* queued: also the batch applied */
	struct graph_writer_item *ihead, *itail;
	uint64_t applied, invalid, overflows, batches;
	int stopping;
	/* every job queued gets the next seq; applied_seq: all jobs up to it are done.
	 * Readers wait on applied_cv for the seq they must see (graph_writer_rdlock). */
	uint64_t seq, applied_seq;
	pthread_cond_t applied_cv;
	int waiting_readers;
	char bounce_ns[32];
	graph_writer_wake_fn wake;
	void *user;
	struct repl_owners *owners; /* peering (replication.h); NULL: none */
};

/* A peer's message being applied (graph_msg_source.accept). */
struct replica_ctx {
	struct repl_owners *owners;
	const char *peer;
};

static int replica_accept(void *user, const char *origin, int claim)
{
	const struct replica_ctx *c = user;
	return repl_accept(c->owners, c->peer, origin, claim);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct gw_job *j)
{
	if (!j)
		return;
	free(j->text);
	json_decref(j->msg);
	free(j->host);
	free(j->origin);
	free(j);
}

void graph_writer_item_free(struct graph_writer_item *it)
{
	if (!it)
		return;
	json_decref(it->msg);
	free(it);
}

/* Hands a parsed message back to the loop (writer thread; mu not held). */
static int item_push(struct graph_writer *w, struct gw_job *j, int sync_request)
{
	struct graph_writer_item *it = calloc(1, sizeof(*it));
	if (!it) {
		log_error("api: out of memory answering a message of %s", j->host);
		return 0;
	}
	it->peer = j->peer;
	it->sync_request = sync_request;
	it->msg = j->msg;
	j->msg = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->itail)
		w->itail->next = it;
	else
		w->ihead = it;
	w->itail = it;
	pthread_mutex_unlock(&w->mu);
	return 1;
}

static void count_invalid(struct graph_writer *w)
{
	pthread_mutex_lock(&w->mu);
	w->invalid++;
	pthread_mutex_unlock(&w->mu);
}

/* Outside the lock: parse, and tell what the loop answers (BOUNCE). */
static int prepare(struct graph_writer *w, struct gw_job *j)
{
	char err[512];
	if (j->del)
		return APPLY;
	if (j->barrier)
		return BOUNCE_SYNC;
	j->msg = j->flags & GRAPH_WRITER_PROTOBUF
	             ? struct_msg_parse(j->text, j->len, err, sizeof(err))
	             : graph_msg_parse(j->text, j->len, err, sizeof(err));
	free(j->text);
	j->text = NULL;
	if (!j->msg) {
		count_invalid(w);
		log_warn("api: bad message from %s: %s", j->host, err);
		return DROP;
	}
	const char *ns = json_string_value(json_object_get(j->msg, "Namespace"));
	if (j->flags & GRAPH_WRITER_READONLY) {
		const char *t = json_string_value(json_object_get(j->msg, "Type"));
		return t && !strcmp(t, "SyncRequest") ? BOUNCE_SYNC : DROP;
	}
	/* bounce_ns is a prefix: "OnDemand" covers captures' and injections'
	 * ("OnDemandPacketInjection") replies */
	return (j->flags & GRAPH_WRITER_BOUNCE) && ns && w->bounce_ns[0] &&
	               !strncmp(ns, w->bounce_ns, strlen(w->bounce_ns))
	           ? BOUNCE
	           : APPLY;
}

/* Under the writer lock. */
static void apply(struct graph_writer *w, struct gw_job *j, int *wake)
{
	char err[512] = "";
	if (j->del == 2) { /* a gone peer's origin, if still its own (replication.h) */
		if (!w->owners || !repl_owner_is(w->owners, j->origin, j->host))
			return;
		int n = graph_delete_by_host(w->g, j->origin, 1, now_ms());
		repl_forget(w->owners, j->origin, j->host);
		log_info("api: peer analyzer %s gone: %d elements of %s removed", j->host, n,
		         j->origin);
		return;
	}
	if (j->del) {
		if (w->owners && !repl_release_here(w->owners, j->origin)) {
			log_info("api: %s disconnected; its elements are kept: a peer analyzer "
			         "replicates %s",
			         j->host, j->origin);
			return;
		}
		int n = graph_delete_by_host(w->g, j->origin, 1, now_ms());
		log_info("api: %s disconnected; %d of its elements removed", j->host, n);
		return;
	}
	struct graph_msg_source src = {.host = j->host, .origin = j->origin,
	                               .force_host = j->force_host};
	struct replica_ctx rc_ = {.owners = w->owners, .peer = j->host};
	const char *type = json_string_value(json_object_get(j->msg, "Type"));
	int sync = type &&
	           (!strcmp(type, "Sync") || !strcmp(type, "SyncReply") ||
	            !strcmp(type, "SyncRequest")) &&
	           json_is_array(json_object_get(json_object_get(j->msg, "Obj"), "Nodes"));
	if ((j->flags & GRAPH_WRITER_REPLICA) && w->owners) {
		src.accept = replica_accept;
		src.accept_user = &rc_;
		if (sync)
			repl_sync_begin(w->owners, j->host);
	} else if (w->owners && !(j->flags & GRAPH_WRITER_REPLICA)) {
		const char *ns = json_string_value(json_object_get(j->msg, "Namespace"));
		/* before it is applied: its changes are ours to send on (replication.h) */
		if (!ns || !strcmp(ns, GRAPH_MSG_NAMESPACE))
			repl_mark_here(w->owners, j->origin);
	}
	int rc = graph_msg_apply(w->g, j->msg, &src, now_ms(), err, sizeof(err));
	if (src.accept && sync) {
		/* the origins the peer no longer carries */
		json_t *gone = repl_sync_end(w->owners, j->host);
		size_t i;
		json_t *o;
		json_array_foreach(gone, i, o)
		{
			int n = graph_delete_by_host(w->g, json_string_value(o), 1, now_ms());
			repl_forget(w->owners, json_string_value(o), j->host);
			log_info("api: peer analyzer %s no longer has %s: %d elements removed",
			         j->host, json_string_value(o), n);
		}
		json_decref(gone);
	}
	if (rc == GRAPH_MSG_SYNC_REQUEST) {
		*wake |= item_push(w, j, 1);
	} else if (rc < 0) {
		count_invalid(w);
		log_warn("api: %s message from %s not applied: %s",
		         json_string_value(json_object_get(j->msg, "Type")), j->host, err);
	} else {
		pthread_mutex_lock(&w->mu);
		w->applied++;
		pthread_mutex_unlock(&w->mu);
	}
}

static void *writer_main(void *arg)
{
	struct graph_writer *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->qhead && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		/* up to BATCH_MAX jobs off the queue */
		struct gw_job *batch = w->qhead, *last = batch;
		size_t n = 1, bytes = batch->len;
		while (last->next && n < BATCH_MAX) {
			last = last->next;
			bytes += last->len;
			n++;
		}
		w->qhead = last->next;
		if (!w->qhead)
			w->qtail = NULL;
		last->next = NULL;
		w->batches++;
		pthread_mutex_unlock(&w->mu);

		int wake = 0, locked = 0;
		for (struct gw_job *j = batch; j; j = j->next) /* parsed outside the lock */
			j->what = prepare(w, j);
		for (struct gw_job *j = batch; j; j = j->next) {
			int what = j->what;
			if (what == BOUNCE || what == BOUNCE_SYNC) {
				/* in order with the sender's other messages */
				wake |= item_push(w, j, what == BOUNCE_SYNC);
				continue;
			}
			if (what != APPLY)
				continue;
			if (!locked) {
				/* behind the queries running now, not behind later ones: those
				 * wait for this batch (graph_writer_rdlock) */
				graph_lock(w->g);
				locked = 1;
			}
			apply(w, j, &wake);
		}
		if (locked)
			graph_unlock(w->g);
		pthread_mutex_lock(&w->mu);
		w->queued -= n;
		w->queued_bytes -= bytes;
		w->applied_seq = last->seq;
		pthread_cond_broadcast(&w->applied_cv);
		pthread_mutex_unlock(&w->mu);
		for (struct gw_job *j = batch, *nx; j; j = nx) {
			nx = j->next;
			job_free(j);
		}
		if (wake && w->wake)
			w->wake(w->user);
	}
	return NULL;
}

struct graph_writer *graph_writer_new(struct graph *g, size_t max_msgs, size_t max_bytes,
                                      const char *bounce_ns, graph_writer_wake_fn wake,
                                      void *user, char *err, size_t errlen)
{
	struct graph_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory creating the graph writer");
		return NULL;
	}
	w->g = g;
	w->max_msgs = max_msgs ? max_msgs : 1;
	w->max_bytes = max_bytes;
	snprintf(w->bounce_ns, sizeof(w->bounce_ns), "%s", bounce_ns ? bounce_ns : "");
	w->wake = wake;
	w->user = user;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->applied_cv, NULL);
	pthread_cond_init(&w->cv, NULL);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	if (rc) {
		snprintf(err, errlen, "cannot start the graph writer thread: %s", strerror(rc));
		graph_writer_free(w);
		return NULL;
	}
	w->started = 1;
	return w;
}

static struct gw_job *job_new(uint64_t peer, const char *host, const char *origin)
{
	struct gw_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->peer = peer;
	j->host = strdup(host ? host : "");
	j->origin = strdup(origin ? origin : "");
	if (!j->host || !j->origin) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* mu held */
static void enqueue(struct graph_writer *w, struct gw_job *j)
{
	if (w->qtail)
		w->qtail->next = j;
	else
		w->qhead = j;
	w->qtail = j;
	j->seq = ++w->seq;
	w->queued++;
	w->queued_bytes += j->len;
	pthread_cond_signal(&w->cv);
}

int graph_writer_submit(struct graph_writer *w, uint64_t peer, const struct graph_msg_source *src,
                        int flags, char *text, size_t len)
{
	pthread_mutex_lock(&w->mu);
	int full = w->queued && (w->queued >= w->max_msgs || w->queued_bytes + len > w->max_bytes);
	if (full)
		w->overflows++;
	pthread_mutex_unlock(&w->mu);
	if (full) {
		free(text);
		return -ENOBUFS;
	}
	struct gw_job *j = job_new(peer, src->host, src->origin);
	if (!j) {
		free(text);
		return -ENOMEM;
	}
	j->flags = flags;
	j->force_host = src->force_host;
	j->text = text;
	j->len = len;
	pthread_mutex_lock(&w->mu);
	enqueue(w, j);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int graph_writer_delete_origin(struct graph_writer *w, const char *origin, const char *who)
{
	struct gw_job *j = job_new(0, who, origin);
	if (!j)
		return -ENOMEM;
	j->del = 1;
	pthread_mutex_lock(&w->mu);
	enqueue(w, j);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int graph_writer_delete_replica(struct graph_writer *w, const char *origin, const char *peer)
{
	struct gw_job *j = job_new(0, peer, origin);
	if (!j)
		return -ENOMEM;
	j->del = 2;
	pthread_mutex_lock(&w->mu);
	enqueue(w, j);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void graph_writer_set_owners(struct graph_writer *w, struct repl_owners *owners)
{
	pthread_mutex_lock(&w->mu);
	w->owners = owners;
	pthread_mutex_unlock(&w->mu);
}

int graph_writer_barrier(struct graph_writer *w, uint64_t peer)
{
	struct gw_job *j = job_new(peer, NULL, NULL);
	if (!j)
		return -ENOMEM;
	j->barrier = 1;
	pthread_mutex_lock(&w->mu);
	enqueue(w, j);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

struct graph_writer_item *graph_writer_take(struct graph_writer *w)
{
	pthread_mutex_lock(&w->mu);
	struct graph_writer_item *it = w->ihead;
	w->ihead = w->itail = NULL;
	pthread_mutex_unlock(&w->mu);
	return it;
}

uint64_t graph_writer_seq(struct graph_writer *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t s = w->seq;
	pthread_mutex_unlock(&w->mu);
	return s;
}

void graph_writer_rdlock(struct graph_writer *w, uint64_t seq)
{
	pthread_mutex_lock(&w->mu);
	w->waiting_readers++;
	while (w->applied_seq < seq && !w->stopping)
		pthread_cond_wait(&w->applied_cv, &w->mu);
	w->waiting_readers--;
	pthread_mutex_unlock(&w->mu);
	graph_rdlock(w->g);
}

void graph_writer_stats(struct graph_writer *w, struct graph_writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = (struct graph_writer_stats){.queue_max = w->max_msgs,
	                                   .queue_bytes_max = w->max_bytes,
	                                   .queued = w->queued,
	                                   .queued_bytes = w->queued_bytes,
	                                   .applied = w->applied,
	                                   .invalid = w->invalid,
	                                   .overflows = w->overflows,
	                                   .batches = w->batches,
	                                   .waiting_readers = w->waiting_readers};
	pthread_mutex_unlock(&w->mu);
}

void graph_writer_free(struct graph_writer *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_broadcast(&w->cv);
		pthread_cond_broadcast(&w->applied_cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	for (struct gw_job *j = w->qhead, *nx; j; j = nx) {
		nx = j->next;
		job_free(j);
	}
	for (struct graph_writer_item *it = w->ihead, *nx; it; it = nx) {
		nx = it->next;
		graph_writer_item_free(it);
	}
	pthread_cond_destroy(&w->cv);
	pthread_cond_destroy(&w->applied_cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
