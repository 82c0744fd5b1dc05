/* flow_json.h - a flow as the JSON object Skydive's G.Flows() returns. */
#ifndef SKYDIVE_FLOW_JSON_H
#define SKYDIVE_FLOW_JSON_H

#include <stdint.h>

#include "common/buf.h"
#include "flow/flow_table.h"

/* Appends one JSON object (no trailing separator) to b. lu_* is the window of
 * LastUpdateMetric, as given to the table's emit callback. */
void flow_json_write(struct buf *b, const struct flow_table *t, const struct flow *f,
		     int64_t lu_start_ms, int64_t lu_last_ms);

#endif
