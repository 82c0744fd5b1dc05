/* workers.c - the query worker pool: one mutex guards the waiting queue and the done
 * list; a condition variable wakes idle workers. */
#include "http/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct workers_job *qhead, *qtail; /* waiting, FIFO */
	struct workers_job *dhead, *dtail; /* finished, for the loop */
	size_t queued, queue_max, running;
	uint64_t submitted, finished, refused;
	int stopping;
	workers_done_fn done;
	void *user;
	int nthreads;
	pthread_t *threads;
};

static void done_push(struct workers *w, struct workers_job *j)
{
	j->next = NULL;
	if (w->dtail)
		w->dtail->next = j;
	else
		w->dhead = j;
	w->dtail = j;
}

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->qhead && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stopping)
			break;
		struct workers_job *j = w->qhead;
		w->qhead = j->next;
		if (!w->qhead)
			w->qtail = NULL;
		w->queued--;
		w->running++;
		pthread_mutex_unlock(&w->mu);
		j->run(j);
		pthread_mutex_lock(&w->mu);
		w->running--;
		w->finished++;
		done_push(w, j);
		if (w->done) {
			pthread_mutex_unlock(&w->mu);
			w->done(w->user);
			pthread_mutex_lock(&w->mu);
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct workers *workers_new(int nthreads, size_t queue_max, workers_done_fn done, void *user,
                            char *err, size_t errlen)
{
	struct workers *w = calloc(1, sizeof(*w));
	if (nthreads < 1)
		nthreads = 1;
	if (!w || !(w->threads = calloc((size_t)nthreads, sizeof(*w->threads)))) {
		free(w);
		snprintf(err, errlen, "out of memory creating the query workers");
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->queue_max = queue_max;
	w->done = done;
	w->user = user;
	for (int i = 0; i < nthreads; i++) {
		int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
		if (rc) {
			snprintf(err, errlen, "cannot start query worker %d: %s", i + 1, strerror(rc));
			workers_free(w);
			return NULL;
		}
		w->nthreads = i + 1;
	}
	return w;
}

int workers_submit(struct workers *w, struct workers_job *job)
{
	int rc = 0;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		rc = -ESHUTDOWN;
	} else if (w->queued + w->running >= w->queue_max + (size_t)w->nthreads) {
		/* counted with those running: a job an idle worker is about to take does not
		 * fill the queue */
		w->refused++;
		rc = -EBUSY;
	} else {
		job->next = NULL;
		job->canceled = 0;
		if (w->qtail)
			w->qtail->next = job;
		else
			w->qhead = job;
		w->qtail = job;
		w->queued++;
		w->submitted++;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

struct workers_job *workers_take_done(struct workers *w)
{
	pthread_mutex_lock(&w->mu);
	struct workers_job *j = w->dhead;
	w->dhead = w->dtail = NULL;
	pthread_mutex_unlock(&w->mu);
	return j;
}

void workers_stats(struct workers *w, struct workers_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = (struct workers_stats){.threads = w->nthreads,
	                              .queue_max = w->queue_max,
	                              .queued = w->queued,
	                              .running = w->running,
	                              .submitted = w->submitted,
	                              .finished = w->finished,
	                              .refused = w->refused};
	pthread_mutex_unlock(&w->mu);
}

void workers_stop(struct workers *w)
{
	pthread_mutex_lock(&w->mu);
	int joined = w->stopping;
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (joined)
		return;
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_mutex_lock(&w->mu);
	while (w->qhead) {
		struct workers_job *j = w->qhead;
		w->qhead = j->next;
		j->canceled = 1;
		done_push(w, j);
	}
	w->qtail = NULL;
	w->queued = 0;
	pthread_mutex_unlock(&w->mu);
}

void workers_free(struct workers *w)
{
	if (!w)
		return;
	workers_stop(w);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w);
}
