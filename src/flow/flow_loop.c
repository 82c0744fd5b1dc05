/* flow_loop.c - capture -> decode -> flow table (see flow_loop.h). */
#include "flow/flow_loop.h"

#include <errno.h>

#include "common/util.h"

static void on_frame(void *user, const struct capture_frame *f)
{
	flow_table_feed(user, f->linktype, f->data, f->caplen, f->wirelen, f->ts_ns);
}

int flow_loop_run(struct capture *c, struct flow_table *t, const struct flow_loop_opts *o)
{
	int rc = 0;
	for (;;) {
		int n = capture_dispatch(c, o->batch, on_frame, t);
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
