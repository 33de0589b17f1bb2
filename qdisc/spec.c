// SPDX-License-Identifier: BSD-3-Clause
/*
 * The tree-spec parser and builder: the tokenizer, the parameter values
 * (sizes, rates, times, lists, choices), and one function per form a node's
 * children take (after '/', in braces, or the kind's default), with
 * weir_qdisc_create() as the entry.
 *
 * A spec is tokenised once; each node is built while it is parsed, so a
 * bad token is reported at its column with what was expected there. A
 * child written after '/' is re-parsed from the same tokens for every
 * class that needs one (prio bands, drr classes, mq queues), which keeps
 * the builder free of a separate syntax tree. Everything a spec asks for is
 * validated here and in each ops->init (the control path always checks);
 * the fast path then trusts the tree.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qdisc_internal.h"

/* --- tokens ------------------------------------------------------------ */

#define QD_MAX_TOKENS 4096
#define QD_MAX_DEPTH 8
#define QD_MAX_NODES 65536

struct tok {
	const char *s;
	uint32_t len;
	uint32_t col; /* 1-based, for messages */
};

struct parser {
	const char *spec;
	struct tok *t;
	uint32_t n, i;
	uint32_t next_handle;
	uint32_t nodes;
	char *why;
	size_t whylen;
};

static bool is_punct(char c)
{
	return c == '/' || c == '{' || c == '}' || c == ';';
}

static int tokenize(struct parser *ps)
{
	const char *s = ps->spec;
	uint32_t cap = 0;

	for (const char *c = s; *c;) {
		const char *start;

		if (isspace((unsigned char)*c)) {
			c++;
			continue;
		}
		start = c;
		if (is_punct(*c))
			c++;
		else
			while (*c && !isspace((unsigned char)*c) && !is_punct(*c))
				c++;
		if (ps->n == QD_MAX_TOKENS)
			return QD_WHY(ps->why, ps->whylen,
				      "qdisc: spec too long (more than %d tokens)", QD_MAX_TOKENS);
		if (ps->n == cap) {
			struct tok *nt;

			cap = cap ? cap * 2 : 32;
			nt = realloc(ps->t, cap * sizeof(*nt));
			if (!nt)
				return -ENOMEM;
			ps->t = nt;
		}
		ps->t[ps->n++] = (struct tok){ start, (uint32_t)(c - start), (uint32_t)(start - s) + 1 };
	}
	return 0;
}

static bool tok_is(const struct tok *t, const char *word)
{
	return t->len == strlen(word) && !strncmp(t->s, word, t->len);
}

static const struct tok *peek_tok(const struct parser *ps)
{
	return ps->i < ps->n ? &ps->t[ps->i] : NULL;
}

static int fail(struct parser *ps, const struct tok *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, const struct tok *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (t)
		snprintf(ps->why, ps->whylen, "qdisc: '%.*s' at column %u: %s", (int)WEIR_MIN(t->len, 40),
			 t->s, t->col, msg);
	else
		snprintf(ps->why, ps->whylen, "qdisc: at end of spec: %s", msg);
	return -EINVAL;
}

/* --- values ------------------------------------------------------------ */

struct unit {
	const char *name;
	double mult;
};

/* Parses <number><unit> from a token; units matched case-insensitively. */
static int parse_scaled(const struct tok *t, const struct unit *units, double bare, double *out)
{
	char buf[64], *end;
	double v;

	if (t->len == 0 || t->len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	if (!isdigit((unsigned char)buf[0]) && buf[0] != '.')
		return -EINVAL;
	v = strtod(buf, &end);
	if (!isfinite(v) || v < 0)
		return -EINVAL;
	if (*end == '\0') {
		*out = v * bare;
		return 0;
	}
	for (const struct unit *u = units; u->name; u++) {
		if (!strcasecmp(end, u->name)) {
			*out = v * u->mult;
			return 0;
		}
	}
	return -EINVAL;
}

static const struct unit size_units[] = {
	{ "b", 1 },       { "k", 1024 },          { "kb", 1024 },
	{ "m", 1 << 20 }, { "mb", 1 << 20 },      { "g", 1 << 30 },
	{ "gb", 1 << 30 }, { "kbit", 1024 / 8.0 }, { "mbit", (1 << 20) / 8.0 },
	{ NULL, 0 },
};

/* Rates are stored in bytes per second. */
static const struct unit rate_units[] = {
	{ "bit", 1 / 8.0 },  { "kbit", 1e3 / 8 }, { "mbit", 1e6 / 8 }, { "gbit", 1e9 / 8 },
	{ "tbit", 1e12 / 8 }, { "bps", 1 },        { "kbps", 1e3 },     { "mbps", 1e6 },
	{ "gbps", 1e9 },     { NULL, 0 },
};

static const struct unit time_units[] = {
	{ "s", 1e9 },  { "sec", 1e9 },  { "ms", 1e6 },  { "msec", 1e6 }, { "us", 1e3 },
	{ "usec", 1e3 }, { "ns", 1 },   { "nsec", 1 },  { NULL, 0 },
};

static const char *type_example(enum qd_param_type type)
{
	switch (type) {
	case QD_P_U32: return "a whole number, e.g. 1024";
	case QD_P_SIZE: return "a size, e.g. 1514, 32k, 4mb";
	case QD_P_RATE: return "a rate, e.g. 100mbit, 1gbit, 500kbit";
	case QD_P_TIME: return "a time, e.g. 5ms, 100us, 1s";
	case QD_P_LIST: return "numbers, e.g. 1 2 2 2 or 1514,3000";
	default: return "a value";
	}
}

static int parse_u64(const struct tok *t, uint64_t *out)
{
	char buf[32], *end;
	unsigned long long v;

	if (t->len == 0 || t->len >= sizeof(buf) || !isdigit((unsigned char)t->s[0]))
		return -EINVAL;
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

static bool tok_is_number(const struct tok *t)
{
	return t && t->len && isdigit((unsigned char)t->s[0]);
}

/* Parses a list: "1 2 2 2" (separate tokens) or "1514,3000" (one token). */
static int parse_list(struct parser *ps, const struct qd_param *pd, struct qd_list *l)
{
	const struct tok *t = peek_tok(ps);

	l->n = 0;
	if (!tok_is_number(t))
		return fail(ps, t, "%s expects %s", pd->name, type_example(pd->type));
	while (tok_is_number((t = peek_tok(ps)))) {
		const char *c = t->s, *e = t->s + t->len;

		while (c < e) {
			struct tok sub = { c, 0, t->col + (uint32_t)(c - t->s) };
			uint64_t v;

			while (c < e && *c != ',')
				c++;
			sub.len = (uint32_t)(c - sub.s);
			if (parse_u64(&sub, &v) < 0 || v > UINT32_MAX)
				return fail(ps, &sub, "%s expects %s", pd->name, type_example(pd->type));
			if ((pd->min || pd->max) && (v < pd->min || v > pd->max))
				return fail(ps, &sub, "%s entries must be in %llu..%llu", pd->name,
					    (unsigned long long)pd->min, (unsigned long long)pd->max);
			if (l->n == QD_LIST_MAX)
				return fail(ps, &sub, "%s takes at most %d entries", pd->name,
					    QD_LIST_MAX);
			l->v[l->n++] = (uint32_t)v;
			if (c < e)
				c++;
		}
		ps->i++;
	}
	return 0;
}

/* A scaled value rounded to whole units; huge ones saturate. */
static uint64_t scaled_u64(double d)
{
	return d > 1e18 ? UINT64_MAX : (uint64_t)llround(d);
}

/* One of pd->choices, stored as its index. */
static int parse_enum(struct parser *ps, const struct qd_param *pd, const struct tok *t,
		      char *field)
{
	char list[128] = "";
	size_t off = 0;

	for (unsigned i = 0; pd->choices[i]; i++) {
		if (tok_is(t, pd->choices[i])) {
			*(uint32_t *)(void *)field = i;
			ps->i++;
			return 0;
		}
		off += (size_t)snprintf(list + off, sizeof(list) - WEIR_MIN(off, sizeof(list)),
					"%s%s", i ? ", " : "", pd->choices[i]);
	}
	return fail(ps, t, "%s must be one of: %s", pd->name, list);
}

/* v is outside pd's range: says so with the bounds in pd's own units. */
static int fail_range(struct parser *ps, const struct qd_param *pd, const struct tok *t,
		      uint64_t v)
{
	char lo[32], hi[32];

	switch (pd->type) {
	case QD_P_RATE:
		qd_fmt_rate(lo, sizeof(lo), pd->min);
		qd_fmt_rate(hi, sizeof(hi), pd->max);
		break;
	case QD_P_TIME:
		qd_fmt_time(lo, sizeof(lo), pd->min);
		qd_fmt_time(hi, sizeof(hi), pd->max);
		break;
	case QD_P_SIZE:
		qd_fmt_size(lo, sizeof(lo), pd->min);
		qd_fmt_size(hi, sizeof(hi), pd->max);
		break;
	default:
		snprintf(lo, sizeof(lo), "%llu", (unsigned long long)pd->min);
		snprintf(hi, sizeof(hi), "%llu", (unsigned long long)pd->max);
	}
	if (v == 0 && pd->min > 0)
		return fail(ps, t, "%s must be > 0 (at least %s, at most %s)", pd->name, lo, hi);
	return fail(ps, t, "%s out of range (%s .. %s)", pd->name, lo, hi);
}

static int parse_value(struct parser *ps, const struct qd_param *pd, void *conf)
{
	const struct tok *t;
	char *field = (char *)conf + pd->off;
	uint64_t v = 0;
	double d;
	int r = 0;

	if (pd->type == QD_P_LIST)
		return parse_list(ps, pd, (struct qd_list *)(void *)field);
	t = peek_tok(ps);
	if (!t || (t->len == 1 && is_punct(t->s[0])))
		return fail(ps, t, "%s expects %s", pd->name,
			    pd->type == QD_P_ENUM ? "one of its choices" : type_example(pd->type));
	switch (pd->type) {
	case QD_P_U32:
		r = parse_u64(t, &v);
		break;
	case QD_P_SIZE:
		r = parse_scaled(t, size_units, 1, &d);
		v = r ? 0 : scaled_u64(d);
		break;
	case QD_P_RATE:
		r = parse_scaled(t, rate_units, 1 / 8.0, &d);
		v = r ? 0 : scaled_u64(d);
		if (!r && d > 0 && v == 0)
			return fail(ps, t, "%s is below 8bit (1 byte per second)", pd->name);
		break;
	case QD_P_TIME:
		r = parse_scaled(t, time_units, 1e3, &d);
		v = r ? 0 : scaled_u64(d);
		break;
	case QD_P_ENUM:
		return parse_enum(ps, pd, t, field);
	default:
		return -EINVAL;
	}
	if (r < 0)
		return fail(ps, t, "%s expects %s", pd->name, type_example(pd->type));
	if ((pd->min || pd->max) && (v < pd->min || v > pd->max))
		return fail_range(ps, pd, t, v);
	if (pd->type == QD_P_U32)
		*(uint32_t *)(void *)field = (uint32_t)v;
	else
		*(uint64_t *)(void *)field = v;
	ps->i++;
	return 0;
}

static void param_names(const struct weir_qdisc_ops *ops, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct qd_param *pd = ops->params; pd && pd->name && off < len; pd++) {
		int n = snprintf(buf + off, len - off, "%s%s%s%s", off ? ", " : "", pd->name,
				 pd->neg ? "|" : "", pd->neg ? pd->neg : "");

		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "(none)");
}

/* kind { param } : fills conf. */
static int parse_params(struct parser *ps, const struct weir_qdisc_ops *ops, void *conf)
{
	const struct tok *t;

	while ((t = peek_tok(ps)) && !(t->len == 1 && is_punct(t->s[0]))) {
		const struct qd_param *pd;
		bool neg = false;

		for (pd = ops->params; pd && pd->name; pd++) {
			if (tok_is(t, pd->name))
				break;
			if (pd->neg && tok_is(t, pd->neg)) {
				neg = true;
				break;
			}
		}
		if (!pd || !pd->name) {
			char names[400];

			if (qd_find_kind_n(t->s, t->len))
				return fail(ps, t,
					    "%s has no parameter by that name; a child qdisc goes after '/' or in { }",
					    ops->kind);
			param_names(ops, names, sizeof(names));
			return fail(ps, t, "unknown %s parameter (expected one of: %s)", ops->kind,
				    names);
		}
		ps->i++;
		if (pd->type == QD_P_FLAG) {
			*(uint32_t *)(void *)((char *)conf + pd->off) = neg ? 0 : 1;
			continue;
		}
		if (parse_value(ps, pd, conf) < 0)
			return -EINVAL;
	}
	return 0;
}
/* --- building ---------------------------------------------------------- */

static bool tok_punct(const struct tok *t, char c)
{
	return t && t->len == 1 && t->s[0] == c;
}

static int parse_node(struct parser *ps, struct weir_qdisc *parent, uint32_t depth,
		      struct weir_qdisc **out);
static int build_string(struct parser *outer, const char *spec, struct weir_qdisc *parent,
			uint32_t depth, struct weir_qdisc **out);

/* The kind that opens a node: known, and allowed at this place. */
static int parse_kind(struct parser *ps, const struct weir_qdisc *parent, uint32_t depth,
		      const struct weir_qdisc_ops **out)
{
	const struct tok *kt = peek_tok(ps);
	bool is_word = kt && !tok_punct(kt, '/') && !tok_punct(kt, '{') && !tok_punct(kt, '}') &&
		       !tok_punct(kt, ';');
	const struct weir_qdisc_ops *ops = is_word ? qd_find_kind_n(kt->s, kt->len) : NULL;
	char names[256];

	if (!ops) {
		/* Listed only here: a tree of 64k nodes must not print it 64k times. */
		weir_qdisc_list(names, sizeof(names));
		return is_word ? fail(ps, kt, "unknown qdisc kind (expected one of: %s)", names)
			       : fail(ps, kt, "expected a qdisc kind (one of: %s)", names);
	}
	if (depth >= QD_MAX_DEPTH)
		return fail(ps, kt, "tree deeper than %d levels", QD_MAX_DEPTH);
	if (ops->root_only && parent)
		return fail(ps, kt, "%s must be the root of a tree (it holds one root per TX queue)",
			    ops->kind);
	if (++ps->nodes > QD_MAX_NODES)
		return fail(ps, kt, "more than %d qdiscs in one tree", QD_MAX_NODES);
	ps->i++;
	*out = ops;
	return 0;
}

/* A node of kind ops under parent, and a copy of the kind's default conf
 * for the parameters to fill. Both are set (maybe NULL) even on -ENOMEM. */
static int node_alloc(struct parser *ps, const struct weir_qdisc_ops *ops,
		      struct weir_qdisc *parent, struct weir_qdisc **qp, void **confp)
{
	struct weir_qdisc *q;
	void *conf;

	*confp = conf = malloc(ops->conf_size ? ops->conf_size : 1);
	*qp = q = calloc(1, sizeof(*q) + ops->priv_size);
	if (!conf || !q)
		return -ENOMEM;
	if (ops->conf_size)
		memcpy(conf, ops->conf_default, ops->conf_size);
	q->ops = ops;
	q->parent = parent;
	q->stats_parent = parent && !parent->ops->stats ? parent : NULL;
	q->handle = ps->next_handle++;
	return 0;
}

/* KIND ... '/' CHILD: one child spec, re-parsed for every class. */
static int parse_children_replicated(struct parser *ps, struct weir_qdisc *q, void *conf,
				     const struct tok *kt, uint32_t depth)
{
	char msg[256];
	uint32_t start;
	int need;

	ps->i++;
	need = q->ops->nb_children(conf, -1, msg, sizeof(msg));
	if (need < 0)
		return fail(ps, kt, "%s", msg);
	q->children = calloc((size_t)need, sizeof(*q->children));
	if (!q->children)
		return -ENOMEM;
	start = ps->i;
	for (int k = 0; k < need; k++) {
		uint32_t before = ps->nodes;
		int r;

		ps->i = start;
		r = parse_node(ps, q, depth + 1, &q->children[k]);
		if (r < 0)
			return r;
		q->nb_children++;
		/* Every class gets the same subtree: when the first one tells
		 * that all of them will not fit, say so now rather than build
		 * up to the limit (nested replication grows as a power). */
		if (k == 0 && (uint64_t)before + (uint64_t)need * (ps->nodes - before) > QD_MAX_NODES)
			return fail(ps, kt, "more than %d qdiscs in one tree (%d classes of %u qdiscs each)",
				    QD_MAX_NODES, need, ps->nodes - before);
	}
	return 0;
}

/* Room in q->children for one more. */
static int children_grow(struct weir_qdisc *q, uint32_t *cap)
{
	struct weir_qdisc **nc;

	if (q->nb_children < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 4;
	nc = realloc(q->children, *cap * sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	q->children = nc;
	return 0;
}

/* KIND ... '{' CHILD { ';' CHILD } [';'] '}': the children one by one. */
static int parse_children_braced(struct parser *ps, struct weir_qdisc *q, void *conf,
				 uint32_t depth)
{
	const struct tok *open = peek_tok(ps), *t;
	char msg[256];
	uint32_t cap = 0;
	int r;

	ps->i++;
	for (;;) {
		r = children_grow(q, &cap);
		if (r == 0)
			r = parse_node(ps, q, depth + 1, &q->children[q->nb_children]);
		if (r < 0)
			return r;
		q->nb_children++;
		t = peek_tok(ps);
		if (tok_punct(t, ';')) {
			ps->i++;
			if (tok_punct(peek_tok(ps), '}')) {
				ps->i++;
				break;
			}
			continue;
		}
		if (tok_punct(t, '}')) {
			ps->i++;
			break;
		}
		return fail(ps, t, "expected ';' between children or '}' to close the '{' at column %u",
			    open->col);
	}
	if (q->ops->nb_children(conf, (int)q->nb_children, msg, sizeof(msg)) < 0)
		return fail(ps, open, "%s", msg);
	return 0;
}

/* A classful KIND given no child: the kind's default child for every class. */
static int build_default_children(struct parser *ps, struct weir_qdisc *q, void *conf,
				  const struct tok *kt, uint32_t depth)
{
	char msg[256];
	int need;

	need = q->ops->nb_children(conf, 0, msg, sizeof(msg));
	if (need < 0)
		return fail(ps, kt, "%s", msg);
	q->children = calloc((size_t)need, sizeof(*q->children));
	if (!q->children)
		return -ENOMEM;
	for (int k = 0; k < need; k++) {
		int r = build_string(ps, q->ops->default_child, q, depth + 1, &q->children[k]);

		if (r < 0)
			return r;
		q->nb_children++;
	}
	return 0;
}

/* Whatever follows a node's parameters: its children, in one of the forms. */
static int parse_children(struct parser *ps, struct weir_qdisc *q, void *conf,
			  const struct tok *kt, uint32_t depth)
{
	const struct weir_qdisc_ops *ops = q->ops;
	const struct tok *t = peek_tok(ps);

	if ((tok_punct(t, '/') || tok_punct(t, '{')) && !ops->nb_children)
		return fail(ps, t, "%s is classless: it takes no child qdisc (%s)", ops->kind,
			    ops->usage);
	if (tok_punct(t, '/'))
		return parse_children_replicated(ps, q, conf, kt, depth);
	if (tok_punct(t, '{'))
		return parse_children_braced(ps, q, conf, depth);
	if (ops->nb_children)
		return build_default_children(ps, q, conf, kt, depth);
	return 0;
}

/* node := KIND { PARAM [VALUE] } [ children ]: parses and builds one node
 * and its subtree; on error frees what it built and leaves *out alone. */
static int parse_node(struct parser *ps, struct weir_qdisc *parent, uint32_t depth,
		      struct weir_qdisc **out)
{
	const struct tok *kt = peek_tok(ps);
	const struct weir_qdisc_ops *ops = NULL;
	struct weir_qdisc *q = NULL;
	void *conf = NULL;
	char msg[256];
	int r;

	r = parse_kind(ps, parent, depth, &ops);
	if (r < 0)
		return r;
	r = node_alloc(ps, ops, parent, &q, &conf);
	if (r == 0)
		r = parse_params(ps, ops, conf);
	if (r == 0)
		r = parse_children(ps, q, conf, kt, depth);
	if (r < 0)
		goto err;
	r = ops->init(q, conf, msg, sizeof(msg));
	if (r < 0) {
		if (r == -EINVAL)
			fail(ps, kt, "%s", msg);
		goto err;
	}
	free(conf);
	*out = q;
	return 0;
err:
	if (r == -ENOMEM)
		snprintf(ps->why, ps->whylen, "qdisc: out of memory building the tree");
	qd_node_free(q, false);
	free(conf);
	return r;
}

/* Builds one node (and its subtree) from a spec, e.g. a default child. */
static int build_string(struct parser *outer, const char *spec, struct weir_qdisc *parent,
			uint32_t depth, struct weir_qdisc **out)
{
	struct parser ps = {
		.spec = spec, .why = outer->why, .whylen = outer->whylen,
		.next_handle = outer->next_handle, .nodes = outer->nodes,
	};
	int r = tokenize(&ps);

	if (r == 0)
		r = parse_node(&ps, parent, depth, out);
	if (r == 0 && ps.i != ps.n) {
		r = fail(&ps, &ps.t[ps.i], "unexpected token after the tree");
		/* The node is complete; undo it. */
		weir_qdisc_destroy(*out);
		*out = NULL;
	}
	outer->next_handle = ps.next_handle;
	outer->nodes = ps.nodes;
	free(ps.t);
	return r;
}

int weir_qdisc_create(const char *spec, struct weir_qdisc **out, char *why, size_t whylen)
{
	char dummy[8];
	struct parser ps = { .spec = spec, .next_handle = 1 };
	struct weir_qdisc *q = NULL;
	int r;

	if (!why || !whylen) {
		why = dummy;
		whylen = sizeof(dummy);
	}
	ps.why = why;
	ps.whylen = whylen;
	why[0] = '\0';
	if (!spec || !out)
		return QD_WHY(why, whylen, "qdisc: no spec given (e.g. \"fq_codel\")");
	r = tokenize(&ps);
	if (r == 0 && ps.n == 0) {
		char names[256];

		weir_qdisc_list(names, sizeof(names));
		r = QD_WHY(why, whylen, "qdisc: empty spec (expected a qdisc kind: %s)", names);
	}
	if (r == 0)
		r = parse_node(&ps, NULL, 0, &q);
	if (r == 0 && ps.i != ps.n) {
		const struct tok *t = &ps.t[ps.i];

		if (tok_punct(t, '}'))
			r = fail(&ps, t, "'}' without a matching '{'");
		else if (tok_punct(t, ';'))
			r = fail(&ps, t, "';' separates children only inside { }");
		else
			r = fail(&ps, t, "unexpected token after the tree (a child goes after '/')");
		weir_qdisc_destroy(q);
		q = NULL;
	}
	free(ps.t);
	if (r == 0)
		*out = q;
	return r;
}
