/* flow_loop.c - capture -> decode -> flow table (see flow_loop.h). */
#include "flow/flow_loop.h"

#include <errno.h>
#include <time.h>

#include "common/util.h"

struct loop_ctx {
	struct flow_table *t;
	const struct flow_loop_opts *o;
};

static void on_frame(void *user, const struct capture_frame *f)
{
	const struct loop_ctx *x = user;
	if (x->o->frame)
		x->o->frame(x->o->user, f);
	flow_table_feed(x->t, f->linktype, f->data, f->caplen, f->wirelen, f->ts_ns);
}

int flow_loop_run(struct capture *c, struct flow_table *t, const struct flow_loop_opts *o)
{
	int rc = 0;
	struct loop_ctx x = {t, o};
	for (;;) {
		int n = capture_dispatch(c, o->batch, on_frame, &x);
		if (n < 0) {
			rc = -EIO;
			break;
		}
		if (n == 0 && !o->live)
			break; /* end of the file */
		uint64_t now = time_now_ns();
		if (n == 0)
			flow_table_tick(t, now); /* idle: updates and expiry still run */
		if (o->after_batch && o->after_batch(o->user, n, now))
			break;
	}
	flow_table_flush(t);
	return rc;
}

#define NS_PER_MS 1000000ull
#define RECORDS_NAP_MS 100 /* how soon after_batch (a stop) is seen between polls */

int flow_loop_run_records(const struct flow_loop_records *r, struct flow_table *t,
			  const struct flow_loop_opts *o)
{
	uint64_t period = (uint64_t)(r->period_ms ? r->period_ms : 1000) * NS_PER_MS;
	uint64_t next_poll = time_now_ns() + period;
	int rc = 0;
	for (;;) {
		uint64_t now = time_now_ns();
		int n = 0;
		if (now >= next_poll) {
			n = r->poll(r->src, t);
			if (n < 0) {
				rc = n;
				break;
			}
			now = time_now_ns();
			next_poll = now + period;
		}
		flow_table_tick(t, now); /* updates and expiry */
		if (o->after_batch && o->after_batch(o->user, n, now))
			break;
		struct timespec nap = {0, RECORDS_NAP_MS * 1000000L};
		nanosleep(&nap, NULL);
	}
	if (!rc) /* what was counted since the last poll; stopping, so an error is moot */
		(void)r->poll(r->src, t);
	flow_table_flush(t);
	return rc;
}
