/* test_workers.c - unit tests of the analyzer's off-loop threads: the query worker pool
 * (workers.c: every job back once, the bounded queue, canceled jobs at stop) and the graph
 * writer (graph_writer.c: messages applied in order, SyncRequests and dispatch replies
 * handed back in order, barriers, the queue bound while a reader holds the graph, a
 * query ordered after the messages before it but not after later ones). Waits poll;
 * nothing asserts a duration. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer/graph_writer.h"
#include "http/workers.h"

struct tjob {
	struct workers_job w; /* first */
	int id;
	atomic_int *ran;
	atomic_int *hold; /* non-NULL: spin until it is 0 */
};

static void tjob_run(struct workers_job *wj)
{
	struct tjob *j = (struct tjob *)wj;
	while (j->hold && atomic_load(j->hold))
		usleep(1000);
	atomic_fetch_add(j->ran, 1);
}

static atomic_int wakes;
static void on_done(void *user)
{
	(void)user;
	atomic_fetch_add(&wakes, 1);
}

/* Takes done jobs until n came back (polls). Returns how many were canceled. */
static int collect(struct workers *w, int n, int *seen)
{
	int got = 0, canceled = 0;
	for (int spins = 0; got < n && spins < 100000; spins++) {
		struct workers_job *j = workers_take_done(w);
		if (!j) {
			usleep(1000);
			continue;
		}
		while (j) {
			struct workers_job *nx = j->next;
			struct tjob *t = (struct tjob *)j;
			seen[t->id]++;
			canceled += j->canceled;
			free(t);
			got++;
			j = nx;
		}
	}
	assert_int_equal(got, n);
	return canceled;
}

static struct tjob *tjob_new(int id, atomic_int *ran, atomic_int *hold)
{
	struct tjob *j = calloc(1, sizeof(*j));
	assert_non_null(j);
	j->w.run = tjob_run;
	j->id = id;
	j->ran = ran;
	j->hold = hold;
	return j;
}

static void test_every_job_back_once(void **state)
{
	(void)state;
	char err[128];
	atomic_int ran = 0;
	atomic_store(&wakes, 0);
	struct workers *w = workers_new(3, 100, on_done, NULL, err, sizeof(err));
	assert_non_null(w);
	int seen[50] = {0};
	for (int i = 0; i < 50; i++)
		assert_int_equal(workers_submit(w, &tjob_new(i, &ran, NULL)->w), 0);
	assert_int_equal(collect(w, 50, seen), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(atomic_load(&ran), 50);
	assert_int_equal(atomic_load(&wakes), 50); /* one wake per finished job */
	struct workers_stats st;
	workers_stats(w, &st);
	assert_int_equal(st.threads, 3);
	assert_int_equal(st.submitted, 50);
	assert_int_equal(st.finished, 50);
	assert_int_equal(st.refused, 0);
	workers_free(w);
}

static void *stop_thread(void *w)
{
	workers_stop(w);
	return NULL;
}

static void test_queue_bound_and_stop(void **state)
{
	(void)state;
	char err[128];
	atomic_int ran = 0, hold = 1;
	struct workers *w = workers_new(1, 2, NULL, NULL, err, sizeof(err));
	assert_non_null(w);
	struct workers_stats st;
	/* one running (held), two waiting: the queue is full */
	assert_int_equal(workers_submit(w, &tjob_new(0, &ran, &hold)->w), 0);
	for (int i = 0; i < 10000; i++) {
		workers_stats(w, &st);
		if (st.running == 1)
			break;
		usleep(1000);
	}
	assert_int_equal(st.running, 1);
	assert_int_equal(workers_submit(w, &tjob_new(1, &ran, NULL)->w), 0);
	assert_int_equal(workers_submit(w, &tjob_new(2, &ran, NULL)->w), 0);
	struct tjob *extra = tjob_new(3, &ran, NULL);
	assert_int_equal(workers_submit(w, &extra->w), -EBUSY); /* still the caller's */
	free(extra);
	workers_stats(w, &st);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.refused, 1);
	/* stop while two wait: the running one finishes, the two come back canceled */
	pthread_t stopper;
	assert_int_equal(pthread_create(&stopper, NULL, stop_thread, w), 0);
	for (int i = 0; i < 10000; i++) { /* the stop is under way before the job ends */
		struct tjob *probe = tjob_new(9, &ran, NULL);
		int rc = workers_submit(w, &probe->w);
		if (rc == -ESHUTDOWN) {
			free(probe);
			break;
		}
		assert_int_equal(rc, -EBUSY);
		free(probe);
		usleep(1000);
	}
	atomic_store(&hold, 0);
	pthread_join(stopper, NULL);
	int seen[10] = {0};
	assert_int_equal(collect(w, 3, seen), 2);
	assert_int_equal(atomic_load(&ran), 1);
	assert_int_equal(seen[0] + seen[1] + seen[2], 3);
	workers_free(w);
}

/* ---- graph writer ------------------------------------------------------------------ */

static const struct graph_msg_source pub = {.host = "p1", .origin = "cli.p1"};

static int submit(struct graph_writer *w, uint64_t peer, int bounce, const char *text)
{
	return graph_writer_submit(w, peer, &pub, bounce, strdup(text), strlen(text));
}

static void wait_drained(struct graph_writer *w)
{
	struct graph_writer_stats st;
	for (int i = 0; i < 10000; i++) {
		graph_writer_stats(w, &st);
		if (!st.queued)
			return;
		usleep(1000);
	}
	fail_msg("the writer did not drain its queue");
}

static size_t nodes(struct graph *g)
{
	struct graph_stats gs;
	graph_rdlock(g);
	graph_stats(g, &gs);
	graph_unlock(g);
	return gs.nodes;
}

static void test_writer_applies_in_order(void **state)
{
	(void)state;
	char err[128];
	struct graph *g = graph_new(NULL);
	struct graph_writer *w =
	    graph_writer_new(g, 100, 1 << 20, "OnDemand", on_done, NULL, err, sizeof(err));
	assert_non_null(w);
	assert_int_equal(submit(w, 7, 0,
	                        "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":"
	                        "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"a\"}}}"),
	                 0);
	assert_int_equal(submit(w, 7, 0,
	                        "{\"Namespace\":\"Graph\",\"Type\":\"NodeUpdated\",\"Obj\":"
	                        "{\"ID\":\"n1\",\"Metadata\":{\"Name\":\"b\"}}}"),
	                 0);
	assert_int_equal(submit(w, 7, 0, "not json"), 0);
	assert_int_equal(submit(w, 7, 0, "{\"Namespace\":\"Graph\",\"Type\":\"SyncRequest\"}"), 0);
	assert_int_equal(submit(w, 8, GRAPH_WRITER_BOUNCE,
	                        "{\"Namespace\":\"OnDemand\",\"Type\":\"CaptureStartReply\"}"),
	                 0);
	/* a read-only sender (a subscriber): its NodeAdded is not applied, its SyncRequest
	 * comes back; then a barrier */
	assert_int_equal(submit(w, 10, GRAPH_WRITER_READONLY,
	                        "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":"
	                        "{\"ID\":\"ro\"}}"),
	                 0);
	assert_int_equal(submit(w, 10, GRAPH_WRITER_READONLY,
	                        "{\"Namespace\":\"Graph\",\"Type\":\"SyncRequest\"}"),
	                 0);
	assert_int_equal(graph_writer_barrier(w, 11), 0);
	/* the same namespace from a sender without bounce: ignored by the graph */
	assert_int_equal(submit(w, 9, 0, "{\"Namespace\":\"OnDemand\",\"Type\":\"X\"}"), 0);
	assert_int_equal(graph_writer_delete_origin(w, "cli.nobody", "cli nobody"), 0);
	wait_drained(w);
	graph_rdlock(g);
	struct graph_view *v = graph_view_at(g, 0, NULL);
	const struct graph_node *n = graph_view_node_get(v, "n1");
	assert_non_null(n);
	assert_string_equal(json_string_value(json_object_get(n->e.metadata, "Name")), "b");
	graph_view_free(v);
	graph_unlock(g);
	struct graph_writer_stats st;
	graph_writer_stats(w, &st);
	assert_int_equal(st.invalid, 1);
	assert_int_equal(st.applied, 3); /* NodeAdded, NodeUpdated, the ignored one */
	struct graph_writer_item *it = graph_writer_take(w);
	assert_non_null(it);
	assert_int_equal(it->peer, 7);
	assert_int_equal(it->sync_request, 1);
	assert_non_null(it->next);
	assert_int_equal(it->next->peer, 8);
	assert_int_equal(it->next->sync_request, 0);
	assert_string_equal(json_string_value(json_object_get(it->next->msg, "Type")),
	                    "CaptureStartReply");
	struct graph_writer_item *ro = it->next->next, *bar = ro ? ro->next : NULL;
	assert_non_null(ro);
	assert_int_equal(ro->peer, 10);
	assert_int_equal(ro->sync_request, 1);
	assert_non_null(ro->msg);
	assert_non_null(bar);
	assert_int_equal(bar->peer, 11);
	assert_int_equal(bar->sync_request, 1);
	assert_null(bar->msg);
	assert_null(bar->next);
	assert_int_equal(nodes(g), 1); /* "ro" was not applied */
	graph_writer_item_free(bar);
	graph_writer_item_free(ro);
	graph_writer_item_free(it->next);
	graph_writer_item_free(it);
	graph_writer_free(w);
	graph_free(g);
}

struct gated {
	struct graph *g;
	struct graph_writer *w;
	uint64_t seq;
	size_t seen;
};

static void *gated_reader(void *arg)
{
	struct gated *x = arg;
	struct graph_stats gs;
	graph_writer_rdlock(x->w, x->seq);
	graph_stats(x->g, &gs);
	graph_unlock(x->g);
	x->seen = gs.nodes;
	return NULL;
}

static void test_writer_bound_behind_reader(void **state)
{
	(void)state;
	char err[128];
	struct graph *g = graph_new(NULL);
	struct graph_writer *w = graph_writer_new(g, 3, 1 << 20, NULL, NULL, NULL, err, sizeof(err));
	assert_non_null(w);
	graph_rdlock(g); /* a long query */
	char msg[160];
	for (int i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg),
		         "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":{\"ID\":\"m%d\"}}", i);
		assert_int_equal(submit(w, 1, 0, msg), 0);
	}
	/* three waiting (or being applied, behind the reader): the fourth is refused */
	assert_int_equal(submit(w, 1, 0, msg), -ENOBUFS);
	struct graph_writer_stats st;
	graph_writer_stats(w, &st);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.overflows, 1);
	assert_int_equal(st.applied, 0);
	/* another short reader still gets in while the writer waits (readers first) */
	graph_rdlock(g);
	graph_unlock(g);
	graph_unlock(g);
	wait_drained(w);
	assert_int_equal(nodes(g), 3);
	/* a long query holds the reader side; a message comes after it */
	graph_rdlock(g);
	uint64_t before = graph_writer_seq(w);
	assert_int_equal(submit(w, 1, 0,
	                        "{\"Namespace\":\"Graph\",\"Type\":\"NodeAdded\",\"Obj\":"
	                        "{\"ID\":\"late\"}}"),
	                 0);
	/* a query that came before the message reads now, without it */
	struct gated early = {.g = g, .w = w, .seq = before};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, gated_reader, &early), 0);
	pthread_join(t, NULL);
	assert_int_equal(early.seen, 3);
	/* a query that came after it waits for it, however long the first query runs */
	struct gated late = {.g = g, .w = w, .seq = graph_writer_seq(w)};
	assert_int_equal(pthread_create(&t, NULL, gated_reader, &late), 0);
	for (int i = 0; i < 10000; i++) {
		graph_writer_stats(w, &st);
		if (st.waiting_readers == 1)
			break;
		usleep(1000);
	}
	assert_int_equal(st.waiting_readers, 1);
	assert_int_equal(nodes(g), 3);
	graph_unlock(g); /* the long query ends: the writer, then the late query */
	pthread_join(t, NULL);
	assert_int_equal(late.seen, 4);
	graph_writer_free(w);
	graph_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_job_back_once),
	    cmocka_unit_test(test_queue_bound_and_stop),
	    cmocka_unit_test(test_writer_applies_in_order),
	    cmocka_unit_test(test_writer_bound_behind_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
