/* prom.c - Prometheus' text exposition format (see prom.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prom.h"

int prom_name_ok(const char *name, int label)
{
	if (!name || !*name)
		return 0;
	for (const char *c = name; *c; c++) {
		int alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
		            (!label && *c == ':');
		if (!alpha && !(c > name && *c >= '0' && *c <= '9'))
			return 0;
	}
	return 1;
}

/* HELP escapes \ and newline; label values also ". */
static void put_escaped(struct buf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_putl(b, "\\\\");
		else if (*s == '\n')
			buf_putl(b, "\\n");
		else if (quote && *s == '"')
			buf_putl(b, "\\\"");
		else
			buf_putc(b, *s);
	}
}

int prom_family(struct buf *b, const char *name, const char *type, const char *help)
{
	if (!prom_name_ok(name, 0))
		return -EINVAL;
	buf_putl(b, "# HELP ");
	buf_puts(b, name);
	buf_putc(b, ' ');
	put_escaped(b, help ? help : "", 0);
	buf_putl(b, "\n# TYPE ");
	buf_puts(b, name);
	buf_putc(b, ' ');
	buf_puts(b, type);
	buf_putc(b, '\n');
	return 0;
}

static int labels_ok(const char *const *labels, const char *le)
{
	for (size_t i = 0; labels && labels[i]; i += 2)
		if (!prom_name_ok(labels[i], 1) || !strncmp(labels[i], "__", 2) ||
		    (le && !strcmp(labels[i], "le")))
			return 0;
	return 1;
}

/* name{k="v",...[,le="<le>"]}<space> */
static void put_head(struct buf *b, const char *name, const char *suffix,
                     const char *const *labels, const char *le)
{
	buf_puts(b, name);
	if (suffix)
		buf_puts(b, suffix);
	if ((labels && labels[0]) || le) {
		buf_putc(b, '{');
		int first = 1;
		for (size_t i = 0; labels && labels[i]; i += 2) {
			if (!first)
				buf_putc(b, ',');
			first = 0;
			buf_puts(b, labels[i]);
			buf_putl(b, "=\"");
			put_escaped(b, labels[i + 1] ? labels[i + 1] : "", 1);
			buf_putc(b, '"');
		}
		if (le) {
			if (!first)
				buf_putc(b, ',');
			buf_putl(b, "le=\"");
			buf_puts(b, le);
			buf_putc(b, '"');
		}
		buf_putc(b, '}');
	}
	buf_putc(b, ' ');
}

/* The shortest text that reads back as v (0.1, not 0.10000000000000001). */
static void fmt_f64(char *t, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(t, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(t, len, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(t, len, "%.*g", prec, v);
		if (strtod(t, NULL) == v)
			return;
	}
}

static void put_f64(struct buf *b, double v)
{
	char t[40];
	fmt_f64(t, sizeof(t), v);
	buf_puts(b, t);
}

int prom_u64(struct buf *b, const char *name, const char *const *labels, uint64_t v)
{
	if (!prom_name_ok(name, 0) || !labels_ok(labels, NULL))
		return -EINVAL;
	put_head(b, name, NULL, labels, NULL);
	buf_put_u64(b, v);
	buf_putc(b, '\n');
	return 0;
}

int prom_f64(struct buf *b, const char *name, const char *const *labels, double v)
{
	if (!prom_name_ok(name, 0) || !labels_ok(labels, NULL))
		return -EINVAL;
	put_head(b, name, NULL, labels, NULL);
	put_f64(b, v);
	buf_putc(b, '\n');
	return 0;
}

int prom_histo_init(struct prom_histo *h, const double *bounds, size_t n)
{
	*h = (struct prom_histo){.bounds = bounds, .n = n};
	h->counts = calloc(n + 1, sizeof(*h->counts));
	return h->counts ? 0 : -ENOMEM;
}

void prom_histo_free(struct prom_histo *h)
{
	free(h->counts);
	h->counts = NULL;
}

void prom_histo_observe(struct prom_histo *h, double v)
{
	size_t i = 0;
	while (i < h->n && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

int prom_histo_write(struct buf *b, const char *name, const char *const *labels,
                     const struct prom_histo *h)
{
	if (!prom_name_ok(name, 0) || !labels_ok(labels, "le"))
		return -EINVAL;
	uint64_t cum = 0;
	char le[40];
	for (size_t i = 0; i <= h->n; i++) {
		cum += h->counts[i];
		if (i < h->n)
			fmt_f64(le, sizeof(le), h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		put_head(b, name, "_bucket", labels, le);
		buf_put_u64(b, cum);
		buf_putc(b, '\n');
	}
	put_head(b, name, "_sum", labels, NULL);
	put_f64(b, h->sum);
	buf_putc(b, '\n');
	put_head(b, name, "_count", labels, NULL);
	buf_put_u64(b, h->count);
	buf_putc(b, '\n');
	return 0;
}
