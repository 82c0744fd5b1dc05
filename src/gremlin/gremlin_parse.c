/* gremlin_parse.c - lexer and recursive-descent parser of Skydive's Gremlin dialect: text in,
 * a list of steps with checked, pre-compiled arguments (filters, regexes, CIDRs) out. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/duration.h"
#include "gremlin/gremlin_int.h"

/* ---- lexer ------------------------------------------------------------------- */

enum tok_kind { T_EOF, T_IDENT, T_STRING, T_INT, T_FLOAT, T_DOT, T_LPAREN, T_RPAREN, T_COMMA };

struct tok {
	enum tok_kind kind;
	int pos;
	char *text; /* IDENT (as written) and STRING (unquoted); malloc'd */
	int64_t i;
	double f;
};

struct parser {
	const char *src;
	int off;
	struct tok t; /* current token */
	struct gremlin_error *err;
	int failed;
};

static void fail(struct parser *p, int pos, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (!p->err)
		return;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->err->pos = pos;
	snprintf(p->err->msg, sizeof(p->err->msg), "%s at position %d", msg, pos);
}

static const char *tok_desc(const struct tok *t)
{
	switch (t->kind) {
	case T_EOF:
		return "end of query";
	case T_IDENT:
		return "a name";
	case T_STRING:
		return "a string";
	case T_INT:
	case T_FLOAT:
		return "a number";
	case T_DOT:
		return "'.'";
	case T_LPAREN:
		return "'('";
	case T_RPAREN:
		return "')'";
	case T_COMMA:
		return "','";
	}
	return "?";
}

static void next(struct parser *p)
{
	free(p->t.text);
	memset(&p->t, 0, sizeof(p->t));
	if (p->failed) {
		p->t.kind = T_EOF;
		return;
	}
	const char *s = p->src;
	int i = p->off;
	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
		i++;
	p->t.pos = i;
	char c = s[i];
	if (!c) {
		p->t.kind = T_EOF;
		p->off = i;
		return;
	}
	if (c == '.' || c == '(' || c == ')' || c == ',') {
		p->t.kind = c == '.' ? T_DOT : c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
		p->off = i + 1;
		return;
	}
	if (c == '\'' || c == '"') {
		size_t cap = 16, len = 0;
		char *buf = malloc(cap);
		int j = i + 1;
		for (; buf && s[j] && s[j] != c; j++) {
			char ch = s[j];
			/* a backslash escapes only the quote and itself, so regexes keep theirs */
			if (ch == '\\' && (s[j + 1] == c || s[j + 1] == '\\'))
				ch = s[++j];
			if (len + 2 > cap) {
				char *nb = realloc(buf, cap *= 2);
				if (!nb) {
					free(buf);
					buf = NULL;
					break;
				}
				buf = nb;
			}
			buf[len++] = ch;
		}
		if (!buf) {
			fail(p, i, "out of memory");
			p->t.kind = T_EOF;
			return;
		}
		buf[len] = 0;
		if (s[j] != c) {
			free(buf);
			fail(p, i, "unterminated string");
			p->t.kind = T_EOF;
			return;
		}
		p->t.kind = T_STRING;
		p->t.text = buf;
		p->off = j + 1;
		return;
	}
	if (isdigit((unsigned char)c) || (c == '-' && isdigit((unsigned char)s[i + 1]))) {
		int j = i + 1, is_float = 0;
		while (isdigit((unsigned char)s[j]))
			j++;
		if (s[j] == '.' && isdigit((unsigned char)s[j + 1])) {
			is_float = 1;
			j++;
			while (isdigit((unsigned char)s[j]))
				j++;
		}
		if ((s[j] == 'e' || s[j] == 'E') &&
		    (isdigit((unsigned char)s[j + 1]) ||
		     ((s[j + 1] == '-' || s[j + 1] == '+') && isdigit((unsigned char)s[j + 2])))) {
			is_float = 1;
			j += 2;
			while (isdigit((unsigned char)s[j]))
				j++;
		}
		if (isalpha((unsigned char)s[j]) || s[j] == '_') {
			fail(p, i, "malformed number");
			p->t.kind = T_EOF;
			return;
		}
		char num[64];
		int n = j - i;
		if (n >= (int)sizeof(num)) {
			fail(p, i, "number too long");
			p->t.kind = T_EOF;
			return;
		}
		memcpy(num, s + i, (size_t)n);
		num[n] = 0;
		errno = 0;
		if (is_float) {
			p->t.kind = T_FLOAT;
			p->t.f = strtod(num, NULL);
		} else {
			p->t.kind = T_INT;
			p->t.i = strtoll(num, NULL, 10);
		}
		if (errno == ERANGE) {
			fail(p, i, "number out of range");
			p->t.kind = T_EOF;
			return;
		}
		p->off = j;
		return;
	}
	if (isalpha((unsigned char)c) || c == '_') {
		int j = i;
		while (isalnum((unsigned char)s[j]) || s[j] == '_')
			j++;
		p->t.kind = T_IDENT;
		p->t.text = strndup(s + i, (size_t)(j - i));
		if (!p->t.text) {
			fail(p, i, "out of memory");
			p->t.kind = T_EOF;
		}
		p->off = j;
		return;
	}
	fail(p, i, "unexpected character '%c'", c);
	p->t.kind = T_EOF;
}

/* ---- names ------------------------------------------------------------------- */

static const struct {
	const char *name;
	enum step_kind kind;
} step_names[] = {
    {"G", S_G},
    {"V", S_V},
    {"E", S_E},
    {"Has", S_HAS},
    {"HasKey", S_HASKEY},
    {"HasNot", S_HASNOT},
    {"HasEither", S_HASEITHER},
    {"Out", S_OUT},
    {"In", S_IN},
    {"Both", S_BOTH},
    {"OutE", S_OUTE},
    {"InE", S_INE},
    {"BothE", S_BOTHE},
    {"OutV", S_OUTV},
    {"InV", S_INV},
    {"BothV", S_BOTHV},
    {"Dedup", S_DEDUP},
    {"Count", S_COUNT},
    {"Range", S_RANGE},
    {"Limit", S_LIMIT},
    {"Sort", S_SORT},
    {"Values", S_VALUES},
    {"ValueMap", S_VALUEMAP},
    {"Keys", S_KEYS},
    {"Sum", S_SUM},
    {"ShortestPathTo", S_SHORTESTPATHTO},
    {"SubGraph", S_SUBGRAPH},
    {"As", S_AS},
    {"Select", S_SELECT},
    {"Descendants", S_DESCENDANTS},
    {"Ascendants", S_ASCENDANTS},
    {"Neighbors", S_NEIGHBORS},
    {"At", S_AT},
    {"Context", S_CONTEXT},
    {"Flows", S_FLOWS},
    {"RawPackets", S_RAWPACKETS},
    {"Hops", S_HOPS},
    {"Nodes", S_NODES},
    {"CaptureNode", S_CAPTURENODE},
    {"Node", S_NODE},
    {"Metrics", S_METRICS},
    {"Aggregates", S_AGGREGATES},
    {"BPF", S_BPF},
    {"Sockets", S_SOCKETS},
    {"Group", S_GROUP},
    {"MoreThan", S_MORETHAN},
    {"NextHop", S_NEXTHOP},
    {"Workflow", S_WORKFLOW},
};

const char *gremlin_step_name(enum step_kind k)
{
	for (size_t i = 0; i < sizeof(step_names) / sizeof(step_names[0]); i++)
		if (step_names[i].kind == k)
			return step_names[i].name;
	return "?";
}

static int step_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(step_names) / sizeof(step_names[0]); i++)
		if (strcasecmp(step_names[i].name, name) == 0)
			return (int)step_names[i].kind;
	return -1;
}

static const struct {
	const char *name;
	int pred;
	int min, max; /* argument count */
} pred_names[] = {
    {"NE", P_NE, 1, 1},           {"NEE", P_NEE, 1, 1},         {"LT", P_LT, 1, 1},
    {"LTE", P_LTE, 1, 1},         {"GT", P_GT, 1, 1},           {"GTE", P_GTE, 1, 1},
    {"INSIDE", P_INSIDE, 2, 2},   {"OUTSIDE", P_OUTSIDE, 2, 2}, {"BETWEEN", P_BETWEEN, 2, 2},
    {"WITHIN", P_WITHIN, 1, 1000}, {"WITHOUT", P_WITHOUT, 1, 1000}, {"REGEX", P_REGEX, 1, 1},
    {"IPV4RANGE", P_IPV4RANGE, 1, 1}, {"METADATA", P_METADATA, 0, 1000},
};

static const char *const kw_names[] = {"ASC", "DESC", "NOW", "FOREVER"};

static const char *pred_name(int pred)
{
	for (size_t i = 0; i < sizeof(pred_names) / sizeof(pred_names[0]); i++)
		if (pred_names[i].pred == pred)
			return pred_names[i].name;
	return "?";
}

/* ---- freeing ----------------------------------------------------------------- */

static void filter_free(struct filter *f)
{
	if (!f)
		return;
	free(f->c);
	free(f);
}

static void arg_clear(struct arg *a)
{
	free(a->s);
	for (int i = 0; i < a->nargs; i++)
		arg_clear(&a->args[i]);
	free(a->args);
	if (a->re) {
		regfree(a->re);
		free(a->re);
	}
	filter_free(a->flt);
}

void gremlin_query_free(struct gremlin_query *q)
{
	if (!q)
		return;
	for (int i = 0; i < q->nsteps; i++) {
		struct step *s = &q->steps[i];
		for (int j = 0; j < s->nargs; j++)
			arg_clear(&s->args[j]);
		free(s->args);
		filter_free(s->flt);
	}
	free(q->steps);
	free(q);
}

/* ---- argument checks and compilation ---------------------------------------------- */

static int is_scalar(const struct arg *a)
{
	return a->kind == A_STR || a->kind == A_INT || a->kind == A_FLOAT || a->kind == A_BOOL;
}

static int is_number(const struct arg *a)
{
	return a->kind == A_INT || a->kind == A_FLOAT;
}

/* POSIX ERE lacks Go's \d and \D; everything else common in queries is the same. */
static char *regex_translate(const char *re)
{
	size_t len = strlen(re);
	char *out = malloc(len * 6 + 8);
	if (!out)
		return NULL;
	char *o = out;
	int in_class = 0;
	o += sprintf(o, "^(");
	for (const char *s = re; *s; s++) {
		if (*s == '\\' && s[1]) {
			if (!in_class && s[1] == 'd') {
				o += sprintf(o, "[0-9]");
				s++;
				continue;
			}
			if (!in_class && s[1] == 'D') {
				o += sprintf(o, "[^0-9]");
				s++;
				continue;
			}
			*o++ = *s++;
			*o++ = *s;
			continue;
		}
		if (*s == '[')
			in_class = 1;
		else if (*s == ']')
			in_class = 0;
		*o++ = *s;
	}
	o += sprintf(o, ")$");
	return out;
}

/* glibc's regcomp can take exponential memory on nested repetitions ("a+++", "(a{99}){99}");
 * Go's regexp refuses the first and caps counts at 1000, so we refuse what Go refuses and
 * keep patterns and counts small. NULL if acceptable, else why not. */
static const char *regex_refused(const char *re)
{
	if (strlen(re) > 512)
		return "regular expression too long";
	/* prev: 0 none, 1 after a quantifier, 2 after a lazy '?' */
	int in_class = 0, prev = 0, quants = 0;
	double product = 1;
	for (const char *s = re; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			prev = 0;
			continue;
		}
		if (in_class) {
			if (*s == ']')
				in_class = 0;
			continue;
		}
		if (*s == '[') {
			in_class = 1;
			if (s[1] == '^')
				s++;
			if (s[1] == ']')
				s++;
			prev = 0;
			continue;
		}
		int q = 0;
		if (*s == '*' || *s == '+') {
			q = 1;
		} else if (*s == '?') {
			if (prev == 1) {
				prev = 2;
				continue;
			}
			q = 1;
		} else if (*s == '{' && isdigit((unsigned char)s[1])) {
			char *end;
			long lo = strtol(s + 1, &end, 10), hi = lo;
			if (*end == ',' && isdigit((unsigned char)end[1]))
				hi = strtol(end + 1, &end, 10);
			else if (*end == ',')
				end++;
			if (*end != '}')
				return "malformed repetition";
			if (lo > 1000 || hi > 1000)
				return "repetition count above 1000";
			product *= (double)(hi > 1 ? hi : 1);
			if (product > 10000)
				return "repetitions too large";
			s = end;
			q = 1;
		}
		if (q && prev)
			return "nested repetition operator";
		if (q && ++quants > 64)
			return "too many repetition operators";
		prev = q;
	}
	return NULL;
}

static int parse_ipv4(const char *s, uint32_t *out)
{
	unsigned a, b, c, d;
	char tail;
	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
	    c > 255 || d > 255)
		return -EINVAL;
	*out = a << 24 | b << 16 | c << 8 | d;
	return 0;
}

int gremlin_parse_cidr(const char *s, uint32_t *net, uint32_t *mask)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	uint32_t addr;
	if (parse_ipv4(buf, &addr))
		return -EINVAL;
	int bits = 32;
	if (slash) {
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || v < 0 || v > 32)
			return -EINVAL;
		bits = (int)v;
	}
	*mask = bits ? 0xffffffffu << (32 - bits) : 0;
	*net = addr & *mask;
	return 0;
}

static struct filter *build_filter(struct parser *p, const struct arg *args, int n, int any,
				   int pos, const char *what);

static void check_pred(struct parser *p, struct arg *a)
{
	const char *name = pred_name(a->pred);
	for (size_t i = 0; i < sizeof(pred_names) / sizeof(pred_names[0]); i++) {
		if (pred_names[i].pred != a->pred)
			continue;
		if (a->nargs < pred_names[i].min || a->nargs > pred_names[i].max) {
			if (pred_names[i].min == pred_names[i].max)
				fail(p, a->pos, "%s takes %d argument%s", name, pred_names[i].min,
				     pred_names[i].min > 1 ? "s" : "");
			else
				fail(p, a->pos, "%s needs at least %d argument", name,
				     pred_names[i].min);
			return;
		}
	}
	for (int i = 0; i < a->nargs && a->pred != P_METADATA; i++)
		if (!is_scalar(&a->args[i])) {
			fail(p, a->args[i].pos, "%s takes plain values, not predicates", name);
			return;
		}
	switch (a->pred) {
	case P_INSIDE:
	case P_OUTSIDE:
	case P_BETWEEN:
		for (int i = 0; i < 2; i++)
			if (!is_number(&a->args[i]) && a->args[i].kind != A_STR) {
				fail(p, a->args[i].pos, "%s values must be numbers or strings", name);
				return;
			}
		break;
	case P_REGEX: {
		if (a->args[0].kind != A_STR) {
			fail(p, a->args[0].pos, "REGEX takes a string");
			return;
		}
		const char *why = regex_refused(a->args[0].s);
		if (why) {
			fail(p, a->args[0].pos, "invalid regular expression: %s", why);
			return;
		}
		char *re = regex_translate(a->args[0].s);
		a->re = calloc(1, sizeof(*a->re));
		if (!re || !a->re) {
			free(re);
			fail(p, a->pos, "out of memory");
			return;
		}
		int r = regcomp(a->re, re, REG_EXTENDED | REG_NOSUB);
		free(re);
		if (r) {
			char ebuf[100];
			regerror(r, a->re, ebuf, sizeof(ebuf));
			free(a->re);
			a->re = NULL;
			fail(p, a->args[0].pos, "invalid regular expression: %s", ebuf);
		}
		break;
	}
	case P_IPV4RANGE:
		if (a->args[0].kind != A_STR ||
		    gremlin_parse_cidr(a->args[0].s, &a->net, &a->mask))
			fail(p, a->args[0].pos, "IPV4RANGE takes an IPv4 CIDR like '10.0.0.0/8'");
		break;
	case P_METADATA:
		a->flt = build_filter(p, a->args, a->nargs, 0, a->pos, "Metadata");
		break;
	default:
		break;
	}
}

/* Has-style key, value pairs (or a lone key: exists) into a filter. */
static struct filter *build_filter(struct parser *p, const struct arg *args, int n, int any,
				   int pos, const char *what)
{
	if (p->failed)
		return NULL;
	if (n > 1 && n % 2) {
		fail(p, args[n - 1].pos, "%s takes key, value pairs: the last key has no value",
		     what);
		return NULL;
	}
	struct filter *f = calloc(1, sizeof(*f));
	if (!f || (n && !(f->c = calloc((size_t)n, sizeof(*f->c))))) {
		free(f);
		fail(p, pos, "out of memory");
		return NULL;
	}
	f->any = any;
	for (int i = 0; i < n; i += 2) {
		if (args[i].kind != A_STR) {
			fail(p, args[i].pos, "%s keys must be strings", what);
			filter_free(f);
			return NULL;
		}
		if (i + 1 < n && args[i + 1].kind == A_KW) {
			fail(p, args[i + 1].pos, "%s value cannot be %s", what,
			     kw_names[args[i + 1].kw]);
			filter_free(f);
			return NULL;
		}
		if (i + 1 < n && args[i + 1].kind == A_PRED && args[i + 1].pred == P_METADATA) {
			fail(p, args[i + 1].pos, "%s value cannot be Metadata()", what);
			filter_free(f);
			return NULL;
		}
		f->c[f->n].key = args[i].s;
		f->c[f->n].val = i + 1 < n ? &args[i + 1] : NULL;
		f->n++;
	}
	return f;
}

static int all_strings(struct parser *p, const struct step *s, const char *name)
{
	for (int i = 0; i < s->nargs; i++)
		if (s->args[i].kind != A_STR) {
			fail(p, s->args[i].pos, "%s takes string keys", name);
			return 0;
		}
	return 1;
}

/* A Go duration in ms, truncated (what Skydive's time.ParseDuration gave). */
static int go_duration_ms(const char *s, int64_t *ms)
{
	int64_t ns;
	if (duration_parse(s, &ns))
		return -EINVAL;
	*ms = ns / 1000000;
	return 0;
}

static int check_time_arg(struct parser *p, struct gremlin_query *q, const struct arg *a)
{
	if (a->kind == A_INT) {
		q->at_kind = T_ABS_MS;
		/* Skydive: up to MaxInt32 it is seconds, beyond it milliseconds */
		q->at_ms = a->i <= 2147483647 ? a->i * 1000 : a->i;
		return 0;
	}
	if (a->kind == A_KW && a->kw == K_NOW) {
		q->at_kind = T_NOW;
		return 0;
	}
	if (a->kind == A_STR) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(a->s, "%a, %d %b %Y %H:%M:%S ", &tm);
		if (end && (strcmp(end, "GMT") == 0 || strcmp(end, "UTC") == 0)) {
			q->at_kind = T_ABS_MS;
			q->at_ms = (int64_t)timegm(&tm) * 1000;
			return 0;
		}
		int64_t ms;
		if (go_duration_ms(a->s, &ms) == 0) {
			q->at_kind = T_REL_MS;
			q->at_ms = ms;
			return 0;
		}
	}
	fail(p, a->pos,
	     "time must be an integer, NOW, an RFC1123 date or a Go duration like '-1m'");
	return -1;
}

static void check_step(struct parser *p, struct gremlin_query *q, struct step *s, int index)
{
	const char *name = gremlin_step_name(s->kind);
	int n = s->nargs;
	struct arg *a = s->args;
	switch (s->kind) {
	case S_G:
		break;
	case S_V:
	case S_E:
		if (n == 1 && a[0].kind != A_STR)
			fail(p, a[0].pos, "%s takes an ID string or key, value pairs", name);
		else if (n > 1)
			s->flt = build_filter(p, a, n, 0, s->pos, name);
		break;
	case S_HAS:
	case S_HASEITHER:
		if (!n) {
			fail(p, s->pos, "%s needs at least one argument", name);
			break;
		}
		s->flt = build_filter(p, a, n, s->kind == S_HASEITHER, s->pos, name);
		break;
	case S_HASKEY:
	case S_HASNOT:
		if (n != 1 || a[0].kind != A_STR) {
			fail(p, n ? a[0].pos : s->pos, "%s takes one key string", name);
			break;
		}
		s->flt = build_filter(p, a, 1, 0, s->pos, name);
		break;
	case S_OUT:
	case S_IN:
	case S_BOTH:
	case S_OUTE:
	case S_INE:
	case S_BOTHE:
	case S_OUTV:
	case S_INV:
	case S_BOTHV:
		if (n)
			s->flt = build_filter(p, a, n, 0, s->pos, name);
		break;
	case S_DEDUP:
	case S_VALUEMAP:
		all_strings(p, s, name);
		break;
	case S_COUNT:
	case S_SUBGRAPH:
	case S_KEYS:
		if (n)
			fail(p, a[0].pos, "%s takes no argument", name);
		break;
	case S_RANGE:
		if (n != 2 || a[0].kind != A_INT || a[1].kind != A_INT)
			fail(p, n ? a[0].pos : s->pos, "Range takes two integers");
		else if (a[0].i < 0 || a[1].i < 0)
			fail(p, a[0].pos, "Range bounds must not be negative");
		break;
	case S_LIMIT:
		if (n != 1 || a[0].kind != A_INT)
			fail(p, n ? a[0].pos : s->pos, "Limit takes one integer");
		else if (a[0].i < 0)
			fail(p, a[0].pos, "Limit must not be negative");
		break;
	case S_SORT:
		if (n > 2) {
			fail(p, a[2].pos, "Sort takes an optional ASC or DESC and a key");
		} else if (n == 2 && (a[0].kind != A_KW || a[0].kw > K_DESC || a[1].kind != A_STR)) {
			fail(p, a[0].pos, "Sort takes an optional ASC or DESC and a key");
		} else if (n == 1 && a[0].kind != A_STR && (a[0].kind != A_KW || a[0].kw > K_DESC)) {
			fail(p, a[0].pos, "Sort takes an optional ASC or DESC and a key");
		}
		break;
	case S_VALUES:
		if (n != 1 || a[0].kind != A_STR)
			fail(p, n ? a[0].pos : s->pos, "Values takes one key string");
		break;
	case S_SUM:
		if (n > 1 || (n == 1 && a[0].kind != A_STR))
			fail(p, n ? a[0].pos : s->pos, "Sum takes one key string");
		break;
	case S_SHORTESTPATHTO:
		if (n < 1 || n > 2) {
			fail(p, s->pos, "ShortestPathTo takes Metadata(...) and an optional edge Metadata(...)");
			break;
		}
		for (int i = 0; i < n; i++)
			if (a[i].kind != A_PRED || a[i].pred != P_METADATA)
				fail(p, a[i].pos, "ShortestPathTo takes Metadata(...) arguments");
		break;
	case S_AS:
		if (n != 1 || a[0].kind != A_STR)
			fail(p, n ? a[0].pos : s->pos, "As takes one name string");
		break;
	case S_SELECT:
		if (!n)
			fail(p, s->pos, "Select needs at least one name");
		else
			all_strings(p, s, name);
		break;
	case S_DESCENDANTS:
	case S_ASCENDANTS:
		s->depth = 1;
		if (n > 1 || (n == 1 && a[0].kind != A_INT))
			fail(p, n ? a[0].pos : s->pos, "%s takes an optional depth integer", name);
		else if (n == 1 && a[0].i < 0)
			fail(p, a[0].pos, "%s depth must not be negative", name);
		else if (n == 1)
			s->depth = a[0].i;
		break;
	case S_NEIGHBORS: {
		s->depth = 1;
		int pairs = n / 2 * 2;
		if (pairs < n) {
			if (a[n - 1].kind != A_INT || a[n - 1].i < 0) {
				fail(p, a[n - 1].pos,
				     "Neighbors takes key, value pairs and an optional depth integer");
				break;
			}
			s->depth = a[n - 1].i;
		}
		if (pairs)
			s->flt = build_filter(p, a, pairs, 1, s->pos, name);
		break;
	}
	case S_AT:
	case S_CONTEXT:
		if (index != 1) {
			fail(p, s->pos, "%s must come right after G", name);
			break;
		}
		if (n < 1 || n > 2) {
			fail(p, s->pos, "%s takes a time and an optional duration", name);
			break;
		}
		if (check_time_arg(p, q, &a[0]))
			break;
		if (n == 2) {
			q->has_duration = 1;
			if (a[1].kind == A_INT && a[1].i >= 0) {
				q->duration_ms = a[1].i * 1000;
			} else if (a[1].kind == A_KW && a[1].kw == K_FOREVER) {
				q->duration_ms = -1;
			} else if (a[1].kind == A_STR &&
				   go_duration_ms(a[1].s, &q->duration_ms) == 0) {
				if (q->duration_ms < 0)
					q->duration_ms = -q->duration_ms;
			} else {
				fail(p, a[1].pos,
				     "duration must be seconds, a Go duration like '5m' or FOREVER");
			}
		}
		break;
	case S_FLOWS:
		if (n)
			s->flt = build_filter(p, a, n, 0, s->pos, name);
		break;
	default: /* the other flow steps take what their store understands */
		break;
	}
}

/* ---- parser ----------------------------------------------------------------------- */

static int parse_args(struct parser *p, struct arg **out, int *nout);

static int parse_value(struct parser *p, struct arg *a)
{
	memset(a, 0, sizeof(*a));
	a->pos = p->t.pos;
	switch (p->t.kind) {
	case T_STRING:
		a->kind = A_STR;
		a->s = p->t.text;
		p->t.text = NULL;
		next(p);
		return 0;
	case T_INT:
		a->kind = A_INT;
		a->i = p->t.i;
		next(p);
		return 0;
	case T_FLOAT:
		a->kind = A_FLOAT;
		a->f = p->t.f;
		next(p);
		return 0;
	case T_IDENT: {
		const char *id = p->t.text;
		if (strcasecmp(id, "true") == 0 || strcasecmp(id, "false") == 0) {
			a->kind = A_BOOL;
			a->b = strcasecmp(id, "true") == 0;
			next(p);
			return 0;
		}
		for (int i = 0; i < 4; i++)
			if (strcasecmp(id, kw_names[i]) == 0) {
				a->kind = A_KW;
				a->kw = i;
				next(p);
				return 0;
			}
		for (size_t i = 0; i < sizeof(pred_names) / sizeof(pred_names[0]); i++)
			if (strcasecmp(id, pred_names[i].name) == 0) {
				a->kind = A_PRED;
				a->pred = pred_names[i].pred;
				next(p);
				if (p->t.kind != T_LPAREN) {
					fail(p, p->t.pos, "expected '(' after %s", pred_names[i].name);
					return -1;
				}
				next(p);
				if (parse_args(p, &a->args, &a->nargs))
					return -1;
				check_pred(p, a);
				return p->failed ? -1 : 0;
			}
		fail(p, a->pos, "unknown predicate '%s'", id);
		return -1;
	}
	default:
		fail(p, p->t.pos, "expected a value but found %s", tok_desc(&p->t));
		return -1;
	}
}

/* After '(' up to and including ')'. */
static int parse_args(struct parser *p, struct arg **out, int *nout)
{
	*out = NULL;
	*nout = 0;
	if (p->t.kind == T_RPAREN) {
		next(p);
		return 0;
	}
	int cap = 0;
	for (;;) {
		if (*nout == cap) {
			cap = cap ? cap * 2 : 4;
			struct arg *na = realloc(*out, (size_t)cap * sizeof(*na));
			if (!na) {
				fail(p, p->t.pos, "out of memory");
				return -1;
			}
			*out = na;
		}
		if (parse_value(p, &(*out)[*nout])) {
			(*nout)++; /* whatever it holds is freed with the rest */
			return -1;
		}
		(*nout)++;
		if (p->t.kind == T_COMMA) {
			next(p);
			continue;
		}
		if (p->t.kind == T_RPAREN) {
			next(p);
			return 0;
		}
		fail(p, p->t.pos, "expected ')' or ','");
		return -1;
	}
}

static int add_step(struct parser *p, struct gremlin_query *q, int *cap, enum step_kind k, int pos)
{
	if (q->nsteps == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		struct step *ns = realloc(q->steps, (size_t)*cap * sizeof(*ns));
		if (!ns) {
			fail(p, pos, "out of memory");
			return -1;
		}
		q->steps = ns;
	}
	struct step *s = &q->steps[q->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = k;
	s->pos = pos;
	return 0;
}

struct gremlin_query *gremlin_parse(const char *text, struct gremlin_error *err)
{
	struct parser p = {.src = text ? text : "", .err = err};
	if (err) {
		err->pos = 0;
		err->msg[0] = 0;
	}
	struct gremlin_query *q = calloc(1, sizeof(*q));
	if (!q) {
		fail(&p, 0, "out of memory");
		return NULL;
	}
	int cap = 0;
	next(&p);
	if (p.t.kind != T_IDENT || strcasecmp(p.t.text, "G") != 0) {
		fail(&p, p.t.pos, "expected G");
		goto out;
	}
	if (add_step(&p, q, &cap, S_G, p.t.pos))
		goto out;
	next(&p);
	while (!p.failed && p.t.kind == T_DOT) {
		next(&p);
		if (p.t.kind != T_IDENT) {
			fail(&p, p.t.pos, "expected a step name after '.'");
			break;
		}
		int k = step_lookup(p.t.text);
		if (k < 0) {
			fail(&p, p.t.pos, "unknown step '%s'", p.t.text);
			break;
		}
		if (add_step(&p, q, &cap, (enum step_kind)k, p.t.pos))
			break;
		struct step *s = &q->steps[q->nsteps - 1];
		next(&p);
		if (k == S_G) /* G is written without parentheses */
			continue;
		if (p.t.kind != T_LPAREN) {
			fail(&p, p.t.pos, "expected '(' after %s", gremlin_step_name(s->kind));
			break;
		}
		next(&p);
		if (parse_args(&p, &s->args, &s->nargs))
			break;
		check_step(&p, q, s, q->nsteps - 1);
	}
	if (!p.failed && p.t.kind != T_EOF)
		fail(&p, p.t.pos, "expected '.' or end of query but found %s", tok_desc(&p.t));
out:
	free(p.t.text);
	if (p.failed) {
		gremlin_query_free(q);
		return NULL;
	}
	return q;
}

/* ---- times --------------------------------------------------------------------- */

int gremlin_time_context(const struct gremlin_query *q, int64_t now_ms, int64_t *at_ms,
			 int64_t *duration_ms)
{
	int64_t at = 0, dur = 0;
	switch (q->at_kind) {
	case T_NONE:
		break;
	case T_ABS_MS:
		at = q->at_ms;
		break;
	case T_REL_MS:
		at = now_ms + q->at_ms;
		break;
	case T_NOW:
		at = now_ms;
		break;
	}
	if (q->has_duration)
		dur = q->duration_ms < 0 ? at : q->duration_ms; /* FOREVER: back to the epoch */
	if (at_ms)
		*at_ms = at;
	if (duration_ms)
		*duration_ms = dur;
	return q->at_kind != T_NONE;
}
