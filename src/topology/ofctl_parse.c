/* ofctl_parse.c - ovs-ofctl's flow and group text into Skydive's ofrule/ofgroup
 * shapes. The grammar is the one Skydive's jsonof parser accepts (a scanner of text,
 * blanks, '=', ',' and ')' where a text keeps its parentheses balanced, then a split
 * of each action on its first ':' or '('), written anew in C with bounds and errors
 * that name a position; where Skydive logs and goes on, we refuse the line. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology/ofctl_parse.h"

enum tok { T_EOF, T_TEXT, T_SPACE, T_COMMA, T_EQUAL, T_CLOSE };

struct scan {
	const char *base, *line_end; /* the whole line, for error positions */
	const char *p, *end;
	/* one token of lookahead put back */
	int back;
	enum tok btok;
	const char *bs;
	size_t blen;
	size_t items; /* JSON values made, against OFCTL_MAX_ITEMS */
	struct ofctl_error *err;
	int failed; /* err filled */
	int oom;
};

static int fail(struct scan *s, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct scan *s, const char *at, const char *fmt, ...)
{
	if (!s->failed && s->err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->err->msg, sizeof(s->err->msg), fmt, ap);
		va_end(ap);
		/* a text made here (learn's field names) is not in the line */
		if (!at || at < s->base || at > s->line_end)
			at = s->p;
		s->err->pos = (size_t)(at - s->base);
	}
	s->failed = 1;
	return -EINVAL;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The next token; a text is [*ts, *ts + *tl). */
static enum tok scan(struct scan *s, const char **ts, size_t *tl)
{
	if (s->back) {
		s->back = 0;
		*ts = s->bs;
		*tl = s->blen;
		return s->btok;
	}
	*ts = s->p;
	*tl = 0;
	if (s->p >= s->end)
		return T_EOF;
	char c = *s->p;
	if (is_blank(c)) {
		while (s->p < s->end && is_blank(*s->p))
			s->p++;
		return T_SPACE;
	}
	if (c == '=' || c == ',' || c == ')') {
		s->p++;
		return c == '=' ? T_EQUAL : c == ',' ? T_COMMA : T_CLOSE;
	}
	/* A text: up to a separator outside parentheses. */
	int level = c == '(';
	s->p++;
	while (s->p < s->end) {
		c = *s->p;
		if (level == 0 && (is_blank(c) || c == ',' || c == '=' || c == ')'))
			break;
		if (c == '(')
			level++;
		else if (c == ')')
			level--;
		s->p++;
	}
	*tl = (size_t)(s->p - *ts);
	return T_TEXT;
}

static void unscan(struct scan *s, enum tok t, const char *ts, size_t tl)
{
	s->back = 1;
	s->btok = t;
	s->bs = ts;
	s->blen = tl;
}

/* Counts one more JSON value against OFCTL_MAX_ITEMS: 0, or -1 with the error set. */
static int item(struct scan *s, const char *at)
{
	if (++s->items > OFCTL_MAX_ITEMS) {
		fail(s, at, "more than %d items", OFCTL_MAX_ITEMS);
		return -1;
	}
	return 0;
}

/* The line was checked to be UTF-8: a NULL from jansson is out of memory. */
static json_t *strn(struct scan *s, const char *p, size_t n)
{
	if (item(s, p))
		return NULL;
	json_t *v = json_stringn(p, n);
	if (!v)
		s->oom = 1;
	return v;
}

static int append(struct scan *s, json_t *arr, json_t *v)
{
	if (!v || json_array_append_new(arr, v)) {
		if (!s->failed)
			s->oom = 1;
		return -1;
	}
	return 0;
}

static const char *memstr(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(p + i, needle, k))
			return p + i;
	return NULL;
}

static int eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(p, lit, n);
}

/* ---- actions ---------------------------------------------------------------- */

static json_t *action_obj(struct scan *s, const char *fn, size_t n)
{
	if (item(s, fn))
		return NULL;
	json_t *o = json_pack("{ss%}", "Function", fn, n);
	if (!o)
		s->oom = 1;
	return o;
}

static json_t *args_of(struct scan *s, json_t *act)
{
	json_t *a = json_object_get(act, "Arguments");
	if (!a) {
		a = json_array();
		if (!a || json_object_set_new(act, "Arguments", a)) {
			s->oom = 1;
			return NULL;
		}
	}
	return a;
}

/* Skydive's makeArg: a field with an optional [bits] range:
 * "NXM_OF_IP_SRC[0..15]" -> {range, [field, 0, 15]}, "X[]" -> {range, [X]}. */
static json_t *make_arg_at(struct scan *s, const char *p, size_t n, const char *at)
{
	const char *br = memchr(p, '[', n);
	if (!br)
		return action_obj(s, p, n);
	if (p[n - 1] != ']') {
		fail(s, at, "'[' without a closing ']' in '%.*s'", (int)(n > 40 ? 40 : n), p);
		return NULL;
	}
	json_t *r = action_obj(s, "range", 5);
	json_t *a = r ? args_of(s, r) : NULL;
	if (!a || append(s, a, action_obj(s, p, (size_t)(br - p)))) {
		json_decref(r);
		return NULL;
	}
	const char *c = br + 1, *ce = p + n - 1;
	if (ce > c) {
		const char *dots = memstr(c, (size_t)(ce - c), "..");
		int bad = dots ? append(s, a, action_obj(s, c, (size_t)(dots - c))) ||
				     append(s, a, action_obj(s, dots + 2, (size_t)(ce - dots - 2)))
			       : append(s, a, action_obj(s, c, (size_t)(ce - c)));
		if (bad) {
			json_decref(r);
			return NULL;
		}
	}
	return r;
}

/* p is in the line: errors point at it. */
static json_t *make_arg(struct scan *s, const char *p, size_t n)
{
	return make_arg_at(s, p, n, p);
}

static json_t *make_action(struct scan *s, const char *p, size_t n, int depth);

/* The arguments of "name(...)": rem is what follows '(' (its ')' included). */
static int action_body(struct scan *s, json_t *act, const char *rem, size_t n, int depth)
{
	struct scan b = {.base = s->base, .line_end = s->line_end, .p = rem, .end = rem + n, .err = s->err,
			 .items = s->items};
	json_t *args = args_of(s, act);
	if (!args)
		return -1;
	int first = 1, rc = 0;
	for (;;) {
		const char *ts;
		size_t tl;
		enum tok t = scan(&b, &ts, &tl);
		if (t == T_TEXT) {
			const char *ks = NULL, *vs = ts;
			size_t kl = 0, vl = tl;
			const char *t2s;
			size_t t2l;
			enum tok t2 = scan(&b, &t2s, &t2l);
			if (t2 == T_EQUAL) {
				ks = ts;
				kl = tl;
				if (scan(&b, &vs, &vl) != T_TEXT) {
					rc = fail(&b, vs, "a value after '=' in the arguments");
					break;
				}
			} else {
				unscan(&b, t2, t2s, t2l);
			}
			json_t *a = make_action(&b, vs, vl, depth + 1);
			if (a && ks) {
				json_t *k = strn(&b, ks, kl);
				if (!k || json_object_set_new(a, "Key", k)) {
					json_decref(a);
					a = NULL;
				}
			}
			if (!a || append(&b, args, a)) {
				rc = -1;
				break;
			}
			t = scan(&b, &ts, &tl);
			if (t == T_COMMA) {
				first = 0;
				continue;
			}
			if (t == T_CLOSE)
				break;
			rc = fail(&b, ts, "',' or ')' expected in the arguments");
			break;
		}
		if (t == T_COMMA) { /* an argument left empty: resubmit(,1) */
			if (append(&b, args, json_null())) {
				rc = -1;
				break;
			}
			first = 0;
			continue;
		}
		if (t == T_CLOSE) {
			if (!first && append(&b, args, json_null()))
				rc = -1;
			break;
		}
		rc = fail(&b, ts, "an argument, ',' or ')' expected");
		break;
	}
	if (rc == 0 && b.p != b.end)
		rc = fail(&b, b.p, "text after the closing ')' of an action");
	if (rc == 0 && !json_array_size(args))
		json_object_del(act, "Arguments"); /* "f()": omitempty, as Go */
	s->items = b.items;
	s->failed |= b.failed;
	s->oom |= b.oom;
	return rc < 0 || b.failed || b.oom ? -1 : 0;
}

/* Skydive's fixLearnArguments: in learn(...), an argument named by a field (not one of
 * learn's own keys) is a field assignment: {"=", [field, value]}. */
static int fix_learn(struct scan *s, json_t *act, const char *at)
{
	static const char *const own[] = {"idle_timeout", "hard_timeout", "priority", "cookie",
					  "fin_idle_timeout", "fin_hard_timeout", "table",
					  "limit", "result_dst", NULL};
	json_t *args = json_object_get(act, "Arguments");
	size_t i;
	json_t *arg;
	json_array_foreach(args, i, arg)
	{
		const char *k = json_string_value(json_object_get(arg, "Key"));
		if (!k || !*k)
			continue;
		int mine = 0;
		for (size_t j = 0; own[j]; j++)
			mine |= !strcmp(k, own[j]);
		if (mine)
			continue;
		json_t *field = make_arg_at(s, k, strlen(k), at); /* k is not in the line */
		json_t *as = field ? action_obj(s, "=", 1) : NULL;
		json_t *aa = as ? args_of(s, as) : NULL;
		if (!aa || append(s, aa, field)) {
			json_decref(as);
			if (!aa)
				json_decref(field);
			return -1;
		}
		json_incref(arg);
		json_object_del(arg, "Key");
		if (append(s, aa, arg) || json_array_set_new(args, i, as)) {
			json_decref(as);
			return -1;
		}
	}
	return 0;
}

/* "a->b" of load/move/set_field. */
static int field_assign(struct scan *s, json_t *act, const char *kw, const char *rem, size_t n)
{
	const char *arrow = memstr(rem, n, "->");
	if (!arrow)
		return fail(s, rem, "'->' expected in %s", kw);
	const char *a1 = rem, *a2 = arrow + 2;
	size_t l1 = (size_t)(arrow - rem), l2 = (size_t)(rem + n - a2);
	if (!l1 || !l2)
		return fail(s, rem, "%s needs both sides of '->'", kw);
	json_t *args = args_of(s, act);
	if (!args)
		return -1;
	if (!strcmp(kw, "load"))
		return append(s, args, action_obj(s, a1, l1)) || append(s, args, make_arg(s, a2, l2))
			       ? -1
			       : 0;
	if (!strcmp(kw, "move"))
		return append(s, args, make_arg(s, a1, l1)) || append(s, args, make_arg(s, a2, l2))
			       ? -1
			       : 0;
	/* set_field: value[/mask]->field */
	const char *slash = memchr(a1, '/', l1);
	if (slash)
		return append(s, args, action_obj(s, a1, (size_t)(slash - a1))) ||
			       append(s, args, action_obj(s, slash + 1, (size_t)(a1 + l1 - slash - 1))) ||
			       append(s, args, make_arg(s, a2, l2))
			       ? -1
			       : 0;
	return append(s, args, action_obj(s, a1, l1)) || append(s, args, json_null()) ||
		       append(s, args, make_arg(s, a2, l2))
		       ? -1
		       : 0;
}

/* Skydive's makeAction: "output:2" -> {output, [2]}, "resubmit(,1)" -> {resubmit,
 * [null, 1]}, "drop" -> {drop}. */
static json_t *make_action(struct scan *s, const char *p, size_t n, int depth)
{
	if (depth > OFCTL_MAX_DEPTH) {
		fail(s, p, "actions nested deeper than %d", OFCTL_MAX_DEPTH);
		return NULL;
	}
	const char *sep = NULL;
	for (size_t i = 0; i < n && !sep; i++)
		if (p[i] == ':' || p[i] == '(')
			sep = p + i;
	if (!sep)
		return make_arg(s, p, n);
	size_t kl = (size_t)(sep - p);
	const char *rem = sep + 1;
	size_t rl = n - kl - 1;
	char kw[16] = "";
	if (kl < sizeof(kw)) {
		memcpy(kw, p, kl);
		kw[kl] = 0;
	}
	json_t *act = action_obj(s, p, kl);
	if (!act)
		return NULL;
	int rc = 0;
	if (*sep == ':') {
		if (!rl) {
			rc = fail(s, sep, "a value after ':' of '%.*s'", (int)(kl > 40 ? 40 : kl), p);
		} else if (!strcmp(kw, "set_field") || !strcmp(kw, "load") || !strcmp(kw, "move")) {
			rc = field_assign(s, act, kw, rem, rl);
		} else if (!strcmp(kw, "enqueue")) {
			/* enqueue:PORT:QUEUE */
			const char *c = memchr(rem, ':', rl);
			json_t *args = args_of(s, act);
			if (!args)
				rc = -1;
			else if (c)
				rc = append(s, args, action_obj(s, rem, (size_t)(c - rem))) ||
					     append(s, args,
						    action_obj(s, c + 1, (size_t)(rem + rl - c - 1)))
					     ? -1
					     : 0;
			else
				rc = append(s, args, make_arg(s, rem, rl));
		} else {
			json_t *args = args_of(s, act);
			rc = !args || append(s, args, make_arg(s, rem, rl)) ? -1 : 0;
		}
	} else {
		rc = action_body(s, act, rem, rl, depth);
		if (rc == 0 && !strcmp(kw, "learn"))
			rc = fix_learn(s, act, p);
	}
	if (rc < 0 || s->failed || s->oom) {
		json_decref(act);
		return NULL;
	}
	return act;
}

/* ---- rules ------------------------------------------------------------------ */

struct pair {
	const char *k, *v;
	size_t kl, vl;
};

static int parse_u64(const char *p, size_t n, int base0, uint64_t max, uint64_t *out)
{
	char buf[32];
	if (!n || n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = 0;
	if (buf[0] == '-' || buf[0] == '+' || is_blank(buf[0]))
		return -1;
	char *e;
	errno = 0;
	unsigned long long v = strtoull(buf, &e, base0 ? 0 : 10);
	if (errno || *e || v > max)
		return -1;
	*out = v;
	return 0;
}

static json_t *kv_obj(struct scan *s, const char *k, size_t kl, const char *v, size_t vl)
{
	if (item(s, k))
		return NULL;
	json_t *o = json_pack("{ss% ss%}", "Key", k, kl, "Value", v, vl);
	if (!o)
		s->oom = 1;
	return o;
}

/* Skydive's makeFilter: a value with exactly one '/' is Value/Mask. */
static json_t *filter_obj(struct scan *s, const struct pair *pr)
{
	const char *sl = pr->vl ? memchr(pr->v, '/', pr->vl) : NULL;
	if (sl && memchr(sl + 1, '/', (size_t)(pr->v + pr->vl - sl - 1)))
		sl = NULL;
	json_t *o = kv_obj(s, pr->k, pr->kl, pr->v, sl ? (size_t)(sl - pr->v) : pr->vl);
	if (o && sl) {
		json_t *m = strn(s, sl + 1, (size_t)(pr->v + pr->vl - sl - 1));
		if (!m || json_object_set_new(o, "Mask", m)) {
			json_decref(o);
			s->oom |= !s->failed;
			return NULL;
		}
	}
	return o;
}

/* The pairs of the run before a blank are the match: Filters and RawFilter. */
static int flush_filters(struct scan *s, struct ofctl_rule *r, const struct pair *st, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += st[i].kl + st[i].vl + 2;
	char *raw = malloc(len), *w = raw;
	if (!raw) {
		s->oom = 1;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			*w++ = ',';
		memcpy(w, st[i].k, st[i].kl);
		w += st[i].kl;
		if (st[i].vl) { /* Skydive joins key and value with ':' here */
			*w++ = ':';
			memcpy(w, st[i].v, st[i].vl);
			w += st[i].vl;
		}
		if (append(s, r->filters, filter_obj(s, &st[i]))) {
			free(raw);
			return -1;
		}
	}
	*w = 0;
	free(r->raw_filter);
	r->raw_filter = raw;
	return 0;
}

static int flush_meta(struct scan *s, struct ofctl_rule *r, const struct pair *st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (append(s, r->meta, kv_obj(s, st[i].k, st[i].kl, st[i].v, st[i].vl)))
			return -1;
	return 0;
}

/* actions=A,B,...: to the end of the line. */
static int parse_actions(struct scan *s, struct ofctl_rule *r, const char *first, size_t fl)
{
	if (append(s, r->actions, make_action(s, first, fl, 0)))
		return -1;
	for (;;) {
		const char *ts;
		size_t tl;
		enum tok t = scan(s, &ts, &tl);
		if (t == T_EOF)
			return 0;
		if (t != T_COMMA)
			return fail(s, ts, "',' or the end of the line expected in the actions");
		if (scan(s, &ts, &tl) != T_TEXT)
			return fail(s, ts, "an action expected after ','");
		if (append(s, r->actions, make_action(s, ts, tl, 0)))
			return -1;
	}
}

static int rule_body(struct scan *s, struct ofctl_rule *r)
{
	struct pair st[64];
	size_t n = 0;
	const char *ts;
	size_t tl;
	int have_priority = 0;
	enum tok t = scan(s, &ts, &tl);
	if (t == T_SPACE)
		t = scan(s, &ts, &tl);
	for (;;) {
		/* a key */
		if (t != T_TEXT)
			return fail(s, ts, t == T_EOF ? "the line ends before actions=" : "a key expected");
		const char *k = ts;
		size_t kl = tl;
		t = scan(s, &ts, &tl);
		if (t == T_EQUAL) {
			const char *v;
			size_t vl;
			if (scan(s, &v, &vl) != T_TEXT)
				return fail(s, v, "a value expected after '%.*s='", (int)(kl > 40 ? 40 : kl), k);
			uint64_t u;
			if (eq(k, kl, "cookie")) {
				if (parse_u64(v, vl, 1, UINT64_MAX, &u))
					return fail(s, v, "cookie is not a 64-bit number");
				r->cookie = u;
			} else if (eq(k, kl, "table")) {
				if (parse_u64(v, vl, 0, 255, &u))
					return fail(s, v, "table is not a number 0..255");
				r->table = (uint32_t)u;
			} else if (eq(k, kl, "priority")) {
				if (parse_u64(v, vl, 0, 65535, &u))
					return fail(s, v, "priority is not a number 0..65535");
				r->priority = (uint32_t)u;
				have_priority = 1;
			} else if (eq(k, kl, "actions")) {
				if (parse_actions(s, r, v, vl) < 0)
					return -1;
				if (!have_priority)
					r->priority = OFCTL_DEFAULT_PRIORITY;
				return 0;
			} else {
				if (n == sizeof(st) / sizeof(st[0]))
					return fail(s, k, "more than %zu fields in a row", n);
				st[n++] = (struct pair){k, v, kl, vl};
			}
		} else if (t == T_COMMA || t == T_SPACE) {
			if (n == sizeof(st) / sizeof(st[0]))
				return fail(s, k, "more than %zu fields in a row", n);
			st[n++] = (struct pair){k, "", kl, 0};
			if (eq(k, kl, "reset_counts") || eq(k, kl, "no_packet_counts") ||
			    eq(k, kl, "no_byte_counts")) {
				/* flags, not match fields: the run so far is header */
				if (flush_meta(s, r, st, n) < 0)
					return -1;
				n = 0;
				t = scan(s, &ts, &tl);
				if (t == T_SPACE)
					t = scan(s, &ts, &tl);
				continue;
			}
			unscan(s, t, ts, tl);
		} else {
			return fail(s, ts, "'=', ',' or a blank expected after '%.*s'",
				    (int)(kl > 40 ? 40 : kl), k);
		}
		/* after a field: ", " ends a run of header fields, ',' goes on, ' ' ends the
		 * match */
		t = scan(s, &ts, &tl);
		if (t == T_COMMA) {
			t = scan(s, &ts, &tl);
			if (t == T_SPACE) {
				if (flush_meta(s, r, st, n) < 0)
					return -1;
				n = 0;
				t = scan(s, &ts, &tl);
			}
			continue;
		}
		if (t == T_SPACE) {
			if (flush_filters(s, r, st, n) < 0)
				return -1;
			n = 0;
			t = scan(s, &ts, &tl);
			continue;
		}
		return fail(s, ts, t == T_EOF ? "the line ends before actions=" : "',' or a blank expected");
	}
}

static void trim(const char **line, size_t *len)
{
	while (*len && is_blank((*line)[*len - 1]))
		(*len)--;
}

int ofctl_is_item_line(const char *line, size_t len)
{
	return len > 1 && line[0] == ' ' && !is_blank(line[1]);
}

void ofctl_rule_clear(struct ofctl_rule *r)
{
	free(r->raw_filter);
	json_decref(r->filters);
	json_decref(r->actions);
	json_decref(r->meta);
	memset(r, 0, sizeof(*r));
}

static int finish(struct scan *s, int rc, struct ofctl_error *err)
{
	if (s->oom && !s->failed) {
		if (err) {
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			err->pos = 0;
		}
		return -ENOMEM;
	}
	return rc < 0 || s->failed ? -EINVAL : 0;
}

int ofctl_parse_rule(const char *line, size_t len, struct ofctl_rule *r, struct ofctl_error *err)
{
	memset(r, 0, sizeof(*r));
	struct scan s = {.base = line, .p = line, .end = line + len, .err = err};
	trim(&line, &len);
	s.end = s.line_end = line + len;
	if (len > OFCTL_MAX_LINE) {
		fail(&s, line, "line longer than %d bytes", OFCTL_MAX_LINE);
		return -EINVAL;
	}
	if (memchr(line, 0, len)) {
		fail(&s, memchr(line, 0, len), "NUL byte");
		return -EINVAL;
	}
	json_t *utf8 = json_stringn(line, len);
	if (!utf8) {
		fail(&s, line, "not UTF-8 text");
		return -EINVAL;
	}
	json_decref(utf8);
	r->filters = json_array();
	r->actions = json_array();
	r->meta = json_array();
	r->raw_filter = strdup("");
	int rc = -1;
	if (r->filters && r->actions && r->meta && r->raw_filter)
		rc = rule_body(&s, r);
	else
		s.oom = 1;
	if (rc < 0 && !s.failed)
		s.oom = 1;
	rc = finish(&s, rc, err);
	if (rc < 0)
		ofctl_rule_clear(r);
	return rc;
}

int ofctl_rule_uuid(char out[TOPOLOGY_ID_LEN], const char *prefix, const struct ofctl_rule *r)
{
	char *name = NULL;
	int n = asprintf(&name, "%s%s-%" PRIu32 "-%" PRIu32, prefix, r->raw_filter ? r->raw_filter : "",
			 r->table, r->priority);
	if (n < 0)
		return -ENOMEM;
	int rc = topology_uuid5(out, name, (size_t)n);
	free(name);
	return rc;
}

json_t *ofctl_rule_metadata(const struct ofctl_rule *r, const char *uuid)
{
	char cookie[24];
	snprintf(cookie, sizeof(cookie), "0x%" PRIx64, r->cookie);
	json_t *filters = json_array_size(r->filters) ? json_deep_copy(r->filters) : json_null();
	json_t *actions = json_array_size(r->actions) ? json_deep_copy(r->actions) : json_null();
	return json_pack("{ss ss sI so so sI ss}", "Type", "ofrule", "Cookie", cookie, "Table",
			 (json_int_t)r->table, "Filters", filters, "Actions", actions, "Priority",
			 (json_int_t)r->priority, "UUID", uuid);
}

/* ---- groups ----------------------------------------------------------------- */

void ofctl_group_clear(struct ofctl_group *gr)
{
	json_decref(gr->meta);
	json_decref(gr->buckets);
	memset(gr, 0, sizeof(*gr));
}

/* A bucket's "key:value" item (Skydive's parseMetaBucket): bucket_id:N is its Id,
 * anything else a Meta entry whose Key is the whole item. */
static int bucket_meta(struct scan *s, json_t *bucket, const char *p, size_t n)
{
	const char *c = memchr(p, ':', n);
	if (c && eq(p, (size_t)(c - p), "bucket_id")) {
		uint64_t id;
		if (parse_u64(c + 1, (size_t)(p + n - c - 1), 1, UINT32_MAX, &id))
			return fail(s, c + 1, "bucket_id is not a 32-bit number");
		return json_object_set_new(bucket, "Id", json_integer((json_int_t)id)) ? -1 : 0;
	}
	json_t *m = json_object_get(bucket, "Meta");
	if (!m) {
		m = json_array();
		if (!m || json_object_set_new(bucket, "Meta", m))
			return -1;
	}
	return append(s, m, kv_obj(s, p, n, "", 0));
}

/* bucket=bucket_id:0,watch_port:1,actions=A,B: up to the next "bucket" or the end.
 * Returns 1 when another bucket follows, 0 at the end. */
static int parse_bucket(struct scan *s, json_t *bucket)
{
	json_t *actions = json_array();
	if (!actions || json_object_set_new(bucket, "Actions", actions))
		return -1;
	const char *ts;
	size_t tl;
	for (;;) {
		if (scan(s, &ts, &tl) != T_TEXT)
			return fail(s, ts, "a bucket item expected");
		if (eq(ts, tl, "actions")) {
			if (scan(s, &ts, &tl) != T_EQUAL)
				return fail(s, ts, "'=' expected after actions");
			break;
		}
		if (eq(ts, tl, "bucket"))
			return fail(s, ts, "a bucket without actions");
		if (bucket_meta(s, bucket, ts, tl) < 0)
			return -1;
		enum tok t = scan(s, &ts, &tl);
		if (t == T_EOF)
			return fail(s, ts, "a bucket without actions");
		if (t != T_COMMA)
			return fail(s, ts, "',' expected in a bucket");
	}
	for (;;) {
		if (scan(s, &ts, &tl) != T_TEXT)
			return fail(s, ts, "an action expected");
		if (eq(ts, tl, "bucket")) {
			unscan(s, T_TEXT, ts, tl);
			return 1;
		}
		if (append(s, actions, make_action(s, ts, tl, 0)))
			return -1;
		enum tok t = scan(s, &ts, &tl);
		if (t == T_EOF)
			return 0;
		if (t != T_COMMA)
			return fail(s, ts, "',' or the end of the line expected in a bucket");
	}
}

static int group_body(struct scan *s, struct ofctl_group *gr)
{
	const char *ts;
	size_t tl;
	int have_id = 0;
	enum tok t = scan(s, &ts, &tl);
	if (t == T_SPACE)
		t = scan(s, &ts, &tl);
	for (;;) {
		if (t != T_TEXT)
			return fail(s, ts, "a group item expected");
		const char *k = ts;
		size_t kl = tl;
		const char *v = k + kl; /* no value: an empty one, positioned in the line */
		size_t vl = 0;
		t = scan(s, &ts, &tl);
		if (t == T_EQUAL) {
			if (eq(k, kl, "bucket")) {
				json_t *b = json_object();
				if (!b || json_array_append_new(gr->buckets, b))
					return -1;
				if (json_object_set_new(b, "Id", json_integer(0)))
					return -1;
				int more = parse_bucket(s, b);
				if (more < 0)
					return -1;
				if (!more)
					break;
				t = scan(s, &ts, &tl);
				continue;
			}
			if (scan(s, &v, &vl) != T_TEXT)
				return fail(s, v, "a value expected after '%.*s='", (int)(kl > 40 ? 40 : kl), k);
			t = scan(s, &ts, &tl);
		}
		uint64_t u;
		if (eq(k, kl, "group_id")) {
			if (parse_u64(v, vl, 1, UINT32_MAX, &u))
				return fail(s, v, "group_id is not a 32-bit number");
			gr->group_id = (uint32_t)u;
			have_id = 1;
		} else if (eq(k, kl, "type")) {
			if (!vl || vl >= sizeof(gr->type))
				return fail(s, v, "group type is empty or too long");
			memcpy(gr->type, v, vl);
			gr->type[vl] = 0;
		} else if (append(s, gr->meta, kv_obj(s, k, kl, v, vl))) {
			return -1;
		}
		if (t == T_EOF)
			break;
		if (t != T_COMMA)
			return fail(s, ts, "',' or the end of the line expected");
		t = scan(s, &ts, &tl);
	}
	if (!have_id)
		return fail(s, s->base, "no group_id");
	return 0;
}

int ofctl_parse_group(const char *line, size_t len, struct ofctl_group *gr,
		      struct ofctl_error *err)
{
	memset(gr, 0, sizeof(*gr));
	struct scan s = {.base = line, .p = line, .end = line + len, .err = err};
	trim(&line, &len);
	s.end = s.line_end = line + len;
	if (len > OFCTL_MAX_LINE) {
		fail(&s, line, "line longer than %d bytes", OFCTL_MAX_LINE);
		return -EINVAL;
	}
	if (memchr(line, 0, len)) {
		fail(&s, memchr(line, 0, len), "NUL byte");
		return -EINVAL;
	}
	json_t *utf8 = json_stringn(line, len);
	if (!utf8) {
		fail(&s, line, "not UTF-8 text");
		return -EINVAL;
	}
	json_decref(utf8);
	gr->meta = json_array();
	gr->buckets = json_array();
	int rc = -1;
	if (gr->meta && gr->buckets)
		rc = group_body(&s, gr);
	else
		s.oom = 1;
	if (rc < 0 && !s.failed)
		s.oom = 1;
	rc = finish(&s, rc, err);
	if (rc < 0)
		ofctl_group_clear(gr);
	return rc;
}

int ofctl_group_uuid(char out[TOPOLOGY_ID_LEN], const char *prefix, uint32_t group_id)
{
	char *name = NULL;
	int n = asprintf(&name, "%s-%" PRIu32, prefix, group_id);
	if (n < 0)
		return -ENOMEM;
	int rc = topology_uuid5(out, name, (size_t)n);
	free(name);
	return rc;
}

json_t *ofctl_group_metadata(const struct ofctl_group *gr, const char *uuid)
{
	json_t *md = json_pack("{ss sI ss sO ss}", "Type", "ofgroup", "GroupId",
			       (json_int_t)gr->group_id, "GroupType", gr->type, "Buckets",
			       gr->buckets, "UUID", uuid);
	if (md && json_array_size(gr->meta))
		json_object_set(md, "Meta", gr->meta);
	return md;
}
