/* workers.h - a fixed pool of threads that run jobs from one bounded FIFO queue and
 * hand them back, finished, on a list the event loop collects: the analyzer's queries
 * (Gremlin, whole-topology answers, pcap imports) run here, not on the loop thread.
 *
 * A job is the caller's allocation with a struct workers_job first (or anywhere: the
 * caller gets its own pointer back). The pool never frees a job: every submitted job
 * comes back exactly once through workers_take_done(), run or, when the pool stopped
 * first, with canceled set. Threads: submit and take_done from any thread (the loop);
 * run on a worker; done_fn on the worker that finished (it only wakes the loop). */
#ifndef SKYDIVE_WORKERS_H
#define SKYDIVE_WORKERS_H

#include <stddef.h>
#include <stdint.h>

struct workers;

struct workers_job {
	struct workers_job *next;              /* the pool's; do not touch while submitted */
	void (*run)(struct workers_job *job);  /* on a worker thread */
	int canceled;                          /* came back without running (pool stopped) */
};

/* Called on a worker after each job it put on the done list (e.g. lws_cancel_service). */
typedef void (*workers_done_fn)(void *user);

/* nthreads >= 1 threads, at most queue_max jobs waiting for a busy worker (a job is
 * refused when queue_max + nthreads are queued or running).
 * NULL with err filled ("cannot start query worker 2: Resource temporarily
 * unavailable"). */
struct workers *workers_new(int nthreads, size_t queue_max, workers_done_fn done, void *user,
                            char *err, size_t errlen);

/* Queues job. 0; -EBUSY when the queue is full (counted in refused); -ESHUTDOWN
 * after workers_stop(). On error the job stays the caller's. */
int workers_submit(struct workers *w, struct workers_job *job);

/* The finished jobs, oldest first (a list through next), now the caller's; NULL if none. */
struct workers_job *workers_take_done(struct workers *w);

struct workers_stats {
	int threads;
	size_t queue_max, queued, running;
	uint64_t submitted, finished, refused;
};
void workers_stats(struct workers *w, struct workers_stats *out);

/* Stops the threads once their current job ends; jobs still queued go to the done
 * list with canceled set. Idempotent. */
void workers_stop(struct workers *w);
/* workers_stop(), then frees the pool. Jobs on the done list are not freed: take them
 * first. NULL is fine. */
void workers_free(struct workers *w);

#endif
