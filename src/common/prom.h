/* prom.h - Prometheus' text exposition format (version 0.0.4), written into a buf
 * (common/buf.h): "# HELP" and "# TYPE" lines, samples with labels, and histograms
 * (cumulative buckets up to +Inf, _sum, _count). Debian has no prometheus-client-c;
 * this is the little of it /metrics needs (src/analyzer/metrics.c).
 *
 * Format (Prometheus' docs, "Exposition formats"): metric names [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]*; label values escape \ " and newline, HELP text
 * escapes \ and newline. Every sample of a family must follow its TYPE line, families
 * once each: callers write one family at a time.
 *
 * Ownership: labels are borrowed for the call. Errors: an invalid metric or label name
 * writes nothing and returns -EINVAL (a programming error: names are literals); an out
 * of memory is the buf's err. No locks: one writer per buf. */
#ifndef SKYDIVE_PROM_H
#define SKYDIVE_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Labels: name, value, name, value, ..., NULL (the whole array may be NULL). */
typedef const char *const prom_labels[];

/* 1 when name is a valid metric name (label: a valid label name). */
int prom_name_ok(const char *name, int label);

/* The family's HELP and TYPE lines ("counter", "gauge", "histogram"). */
int prom_family(struct buf *b, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. */
int prom_u64(struct buf *b, const char *name, const char *const *labels, uint64_t v);
int prom_f64(struct buf *b, const char *name, const char *const *labels, double v);

/* A histogram's state: counts[i] observations <= bounds[i] (and > bounds[i-1]),
 * counts[n] those above the last bound. bounds ascending, borrowed (static). */
struct prom_histo {
	const double *bounds;
	size_t n;
	uint64_t *counts; /* n + 1 */
	double sum;
	uint64_t count;
};
/* 0 or -ENOMEM. */
int prom_histo_init(struct prom_histo *h, const double *bounds, size_t n);
void prom_histo_free(struct prom_histo *h);
void prom_histo_observe(struct prom_histo *h, double v);
/* name_bucket{labels,le="..."} (cumulative, the last le="+Inf"), name_sum, name_count.
 * After prom_family(b, name, "histogram", ...). */
int prom_histo_write(struct buf *b, const char *name, const char *const *labels,
                     const struct prom_histo *h);

#endif
