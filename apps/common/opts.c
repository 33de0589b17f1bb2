// SPDX-License-Identifier: BSD-3-Clause
/*
 * Option tables, --help, --config and value parsers for the weir apps. The
 * table is the single description of an app's options: getopt_long's array,
 * the help text and the set of valid config-file keys all come from it, so
 * they cannot disagree.
 */
#include <ctype.h>
#include <sched.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opts.h"

#define MAX_OPTS 96

static const struct app_opt *find_opt(const struct app_cli *cli, const char *name)
{
	for (const struct app_opt *o = cli->opts; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

void app_cli_help(const struct app_cli *cli)
{
	printf("Usage: %s\n\n%s\n\nOptions:\n", cli->synopsis, cli->about);
	for (const struct app_opt *o = cli->opts; o->name; o++) {
		char head[64];
		const char *h = o->help;

		snprintf(head, sizeof(head), "%s%c%s--%s%s%s", o->key ? "-" : "",
			 o->key ? o->key : ' ', o->key ? ", " : "  ", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		/* Continuation lines of the help line up under the first. */
		printf("  %-30s ", head);
		while (*h) {
			const char *nl = strchr(h, '\n');
			int n = nl ? (int)(nl - h) : (int)strlen(h);

			printf("%.*s\n", n, h);
			h += n;
			if (*h == '\n') {
				h++;
				printf("  %-30s ", "");
			}
		}
	}
	printf("  %-30s %s\n", "    --config FILE",
	       "read settings from an INI file: key = long option name");
	printf("  %-30s %s\n", "-h, --help", "show this help");
	if (cli->footer)
		printf("\n%s", cli->footer);
}

static int apply(const struct app_cli *cli, const struct app_opt *o, const char *val,
		 const char *where)
{
	char why[256] = "";
	int r = cli->set(cli->ctx, o->name, val, why, sizeof(why));

	if (r < 0) {
		fprintf(stderr, "%s: %s--%s%s%s: %s\n", cli->prog, where ? where : "", o->name,
			val ? " " : "", val ? val : "", why[0] ? why : "invalid value");
		return -EINVAL;
	}
	return 0;
}

struct ini_ctx {
	const struct app_cli *cli;
	const char *path;
	int err;
};

static int ini_cb(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *ic = user;
	const struct app_cli *cli = ic->cli;
	const struct app_opt *o;
	char where[300];
	bool on;

	/* One file may describe several apps: other apps' sections are theirs. */
	if (section[0] && strcmp(section, cli->section) && strcmp(section, cli->prog))
		return 1;
	snprintf(where, sizeof(where), "%s: ", ic->path);
	o = find_opt(cli, name);
	if (!o || !strcmp(name, "config")) {
		fprintf(stderr, "%s: %s: unknown key '%s' (keys are the long options, see --help)\n",
			cli->prog, ic->path, name);
		ic->err = -EINVAL;
		return 0;
	}
	if (!o->arg) {
		char why[128];

		if (app_parse_bool(value, &on, why, sizeof(why)) < 0) {
			fprintf(stderr, "%s: %s: %s: %s\n", cli->prog, ic->path, name, why);
			ic->err = -EINVAL;
			return 0;
		}
		if (!on)
			return 1;
		value = NULL;
	}
	if (apply(cli, o, value, where) < 0) {
		ic->err = -EINVAL;
		return 0;
	}
	return 1;
}

int app_cli_config(const struct app_cli *cli, const char *path)
{
	struct ini_ctx ic = {.cli = cli, .path = path};
	int r = ini_parse(path, ini_cb, &ic);

	if (r == -1) {
		fprintf(stderr, "%s: --config %s: cannot open: %s\n", cli->prog, path,
			strerror(errno));
		return -ENOENT;
	}
	if (ic.err)
		return ic.err;
	if (r > 0) {
		fprintf(stderr, "%s: %s:%d: syntax error (expected 'key = value' or '[section]')\n",
			cli->prog, path, r);
		return -EINVAL;
	}
	return r < 0 ? -EINVAL : 0;
}

/* The arguments after the options, joined by spaces, as option cli->rest
 * (tcpdump's filter expression: `weir-cap -i X udp port 53`). */
static int apply_rest(const struct app_cli *cli, int argc, char **argv)
{
	const struct app_opt *o = find_opt(cli, cli->rest);
	size_t len = 1;
	char *val;
	int r;

	if (!o)
		return -EINVAL;
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	val = calloc(1, len);
	if (!val)
		return -ENOMEM;
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strcat(val, " ");
		strcat(val, argv[i]);
	}
	r = apply(cli, o, val, NULL);
	free(val);
	return r;
}

int app_cli_parse(const struct app_cli *cli, int argc, char **argv)
{
	struct option lo[MAX_OPTS + 3];
	char shorts[2 * MAX_OPTS + 4] = "h";
	size_t ns = 1;
	int n = 0;

	for (const struct app_opt *o = cli->opts; o->name && n < MAX_OPTS; o++, n++) {
		lo[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL,
					0x100 + n};
		if (o->key) {
			shorts[ns++] = o->key;
			if (o->arg)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n + 1] = (struct option){"config", required_argument, NULL, 0x1ff};
	lo[n + 2] = (struct option){NULL, 0, NULL, 0};
	opterr = 0;
	/* 0, not 1: glibc then forgets the previous parse's place inside a
	 * cluster of short options (a pointer into that parse's argv). */
	optind = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shorts, lo, NULL);
		const struct app_opt *o = NULL;

		if (c == -1)
			break;
		if (c == 'h') {
			app_cli_help(cli);
			return 1;
		}
		if (c == 0x1ff) {
			if (app_cli_config(cli, optarg) < 0)
				return -EINVAL;
			continue;
		}
		if (c == '?' || c == ':') {
			if (optopt && optopt < 0x100 && optopt != '?')
				fprintf(stderr, "%s: option -%c %s (try --help)\n", cli->prog, optopt,
					c == ':' ? "needs a value" : "is unknown");
			else
				fprintf(stderr, "%s: option '%s' %s (try --help)\n", cli->prog,
					argv[optind - 1],
					optopt ? "needs a value" : "is unknown");
			return -EINVAL;
		}
		if (c >= 0x100 && c < 0x100 + n) {
			o = &cli->opts[c - 0x100];
		} else {
			for (const struct app_opt *p = cli->opts; p->name; p++)
				if (p->key == c)
					o = p;
		}
		if (!o)
			return -EINVAL;
		if (apply(cli, o, o->arg ? optarg : NULL, NULL) < 0)
			return -EINVAL;
	}
	if (optind < argc && cli->rest)
		return apply_rest(cli, argc, argv);
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (options start with --, try --help)\n",
			cli->prog, argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* --- values ------------------------------------------------------------ */

int app_set_str(char **dst, const char *val, char *why, size_t len)
{
	char *c = strdup(val ? val : "");

	if (!c) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	free(*dst);
	*dst = c;
	return 0;
}

/* why = "'s'" + what + " " + example. */
static int fail(char *why, size_t len, const char *what, const char *s, const char *ex)
{
	snprintf(why, len, "'%s'%s%s%s", s, what, ex ? " " : "", ex ? ex : "");
	return -EINVAL;
}

/* Rate number with an optional fraction; endp after it. Rejects empty,
 * signs, inf/nan and hex, which strtod would accept. Rates are real
 * quantities (1.5mpps, 2.5gbit): the one place a double is right. */
static int parse_num(const char *s, double *out, const char **endp)
{
	char *e;

	if (!isdigit((unsigned char)s[0]) && !(s[0] == '.' && isdigit((unsigned char)s[1])))
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return -EINVAL;
	errno = 0;
	*out = strtod(s, &e);
	if (errno || !isfinite(*out))
		return -EINVAL;
	*endp = e;
	return 0;
}

/* A decimal number as typed: whole part, then the fraction as fnum / fden
 * (up to 18 digits; tail says a later digit was not 0). Integers never go
 * through a double: one has 53 bits, so --seed 2^53+1 came back rounded
 * and 18446744073709551615 became 0 (an undefined cast). */
struct decimal {
	uint64_t whole, fnum, fden;
	bool tail;
};

#define FRAC_DIGITS_MAX 1000000000000000000ULL /* 10^18 */
#define DURATION_MAX_NS 1000000000000000000ULL /* ~31 years */

/* Reads digits[.digits] (or .digits) in base 10. -EINVAL when it is not a
 * number (empty, sign, space, hex: strtoull would skip spaces and wrap
 * "-1" around); otherwise endp is set after it, and the result is 0 or
 * -ERANGE when the whole part needs more than 64 bits. */
static int read_decimal(const char *s, struct decimal *d, const char **endp)
{
	const char *p = s;
	int r = 0;

	*d = (struct decimal){.fden = 1};
	if (!isdigit((unsigned char)p[0]) && !(p[0] == '.' && isdigit((unsigned char)p[1])))
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return -EINVAL;
	if (isdigit((unsigned char)*p)) {
		char *e;

		errno = 0;
		d->whole = strtoull(p, &e, 10);
		if (e == p || (errno && errno != ERANGE))
			return -EINVAL;
		if (errno == ERANGE)
			r = -ERANGE;
		p = e;
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++) {
			if (d->fden < FRAC_DIGITS_MAX) {
				d->fnum = d->fnum * 10 + (uint64_t)(*p - '0');
				d->fden *= 10;
			} else if (*p != '0') {
				d->tail = true;
			}
		}
	}
	*endp = p;
	return r;
}

/* *out = d * mul, exactly. 0, -ERANGE past 2^64 - 1, or -EDOM when the
 * product is not whole (with round, the nearest instead, halves up). */
static int scale_decimal(const struct decimal *d, uint64_t mul, bool round, uint64_t *out)
{
	/* fnum < 10^18 and fnum / fden < 1: the fraction's product is
	 * below mul, and whole * mul + it fits 128 bits. */
	unsigned __int128 f = (unsigned __int128)d->fnum * mul, v;
	uint64_t frac = (uint64_t)(f / d->fden), rem = (uint64_t)(f % d->fden);

	if (rem || d->tail) {
		if (!round)
			return -EDOM;
		if (rem >= d->fden - rem)
			frac++;
	}
	v = (unsigned __int128)d->whole * mul + frac;
	if (v > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

static int parse_scaled(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why,
			size_t len, uint64_t k, const char *example)
{
	struct decimal d;
	const char *e;
	uint64_t mul = 1, v = 0;
	int r;

	if (!s || (r = read_decimal(s, &d, &e)) == -EINVAL)
		return fail(why, len, " is not a number", s ? s : "", example);
	switch (tolower((unsigned char)*e)) {
	case 'k': mul = k; e++; break;
	case 'm': mul = k * k; e++; break;
	case 'g': mul = k * k * k; e++; break;
	default: break;
	}
	if (k == 1024 && (*e == 'b' || *e == 'B'))
		e++;
	if (*e)
		return fail(why, len, ": unexpected text after the number", s, example);
	if (!r)
		r = scale_decimal(&d, mul, false, &v);
	if (r == -EDOM)
		return fail(why, len, " is not a whole number", s, example);
	if (r < 0 || v < min || v > max) {
		snprintf(why, len, "'%s' is out of range (valid: %llu..%llu)", s,
			 (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int app_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why, size_t len)
{
	return parse_scaled(s, min, max, out, why, len, 1000, "(e.g. 1000, 10k, 2m)");
}

int app_parse_bytes(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why,
		    size_t len)
{
	return parse_scaled(s, min, max, out, why, len, 1024, "(e.g. 1500, 32k, 1m)");
}

int app_parse_duration(const char *s, weir_ns_t *out, char *why, size_t len)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", 1000000},
		     {"s", 1000000000},
		     {"m", 60000000000},
		     {"h", 3600000000000}};
	const char *ex = "(e.g. 20ms, 1.5s, 250us)";
	struct decimal d;
	const char *e;
	uint64_t v = 0;
	int r;

	if (!s || (r = read_decimal(s, &d, &e)) == -EINVAL)
		return fail(why, len, " is not a duration", s ? s : "", ex);
	if (!*e) {
		if (!r && !d.whole && !d.fnum && !d.tail) {
			*out = 0;
			return 0;
		}
		return fail(why, len, " needs a unit: ns, us, ms, s, m or h", s, ex);
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcasecmp(e, units[i].unit)) {
			if (!r)
				r = scale_decimal(&d, units[i].ns, true, &v);
			if (r < 0 || v > DURATION_MAX_NS)
				return fail(why, len, " is too long", s, ex);
			*out = (weir_ns_t)v;
			return 0;
		}
	}
	return fail(why, len, ": unknown unit (ns, us, ms, s, m, h)", s, ex);
}

int app_parse_rate(const char *s, struct app_rate *out, char *why, size_t len)
{
	static const struct {
		const char *unit;
		double mul;
		bool bits;
	} units[] = {
		{"pps", 1, false},    {"kpps", 1e3, false}, {"mpps", 1e6, false},
		{"gpps", 1e9, false}, {"bit", 1, true},     {"kbit", 1e3, true},
		{"mbit", 1e6, true},  {"gbit", 1e9, true},  {"tbit", 1e12, true},
		{"bit/s", 1, true},   {"kbit/s", 1e3, true}, {"mbit/s", 1e6, true},
		{"gbit/s", 1e9, true},
	};
	const char *ex = "(e.g. 1mpps, 250kpps, 100mbit, 10gbit, line)";
	const char *e;
	double v;

	memset(out, 0, sizeof(*out));
	if (s && (!strcasecmp(s, "line") || !strcasecmp(s, "max"))) {
		out->line = true;
		return 0;
	}
	if (!s || parse_num(s, &v, &e) < 0)
		return fail(why, len, " is not a rate", s ? s : "", ex);
	if (!*e)
		return fail(why, len, " needs a unit: pps, kpps, mpps, kbit, mbit, gbit", s, ex);
	if (strcasestr(e, "bps"))
		return fail(why, len,
			    " is ambiguous: write mbit for bits per second (in tc, mbps "
			    "means megabytes)",
			    s, ex);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcasecmp(e, units[i].unit)) {
			v *= units[i].mul;
			if (v <= 0)
				return fail(why, len, ": a rate must be > 0", s,
					    "(use 'line' for as fast as possible)");
			if (units[i].bits)
				out->bps = v;
			else
				out->pps = v;
			return 0;
		}
	}
	return fail(why, len, ": unknown unit", s, ex);
}

int app_parse_cpus(const char *s, int *cpus, int max, char *why, size_t len)
{
	const char *ex = "(e.g. 0,1 or 2-3)";
	int n = 0;
	const char *p = s;

	if (!s || !*s)
		return fail(why, len, ": empty CPU list", "", ex);
	while (*p) {
		char *e;
		long a, b;

		if (!isdigit((unsigned char)*p))
			return fail(why, len, " is not a CPU list", s, ex);
		a = strtol(p, &e, 10);
		b = a;
		if (*e == '-') {
			if (!isdigit((unsigned char)e[1]))
				return fail(why, len, " is not a CPU list", s, ex);
			b = strtol(e + 1, &e, 10);
		}
		if (b < a || b >= 1024)
			return fail(why, len, ": bad CPU range", s, ex);
		for (long c = a; c <= b; c++) {
			if (n == max) {
				snprintf(why, len, "'%s': more than %d CPUs", s, max);
				return -EINVAL;
			}
			cpus[n++] = (int)c;
		}
		if (*e == ',')
			e++;
		else if (*e)
			return fail(why, len, " is not a CPU list", s, ex);
		p = e;
	}
	return n;
}

int app_check_cpus(const int *cpus, int n, char *why, size_t len)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0; /* cannot tell: let pinning report it */
	for (int i = 0; i < n; i++) {
		if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE || !CPU_ISSET(cpus[i], &set)) {
			size_t off = 0;

			off += (size_t)snprintf(why, len, "CPU %d is not available to this process "
							 "(allowed:", cpus[i]);
			for (int c = 0; c < CPU_SETSIZE && off < len; c++)
				if (CPU_ISSET(c, &set))
					off += (size_t)snprintf(why + off, len - off, " %d", c);
			if (off < len)
				snprintf(why + off, len - off, ")");
			return -EINVAL;
		}
	}
	return 0;
}

int app_parse_mac(const char *s, uint8_t mac[6], char *why, size_t len)
{
	unsigned int b[6];
	char tail;

	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
			 &b[5], &tail) != 6 || strlen(s) != 17)
		return fail(why, len, " is not a MAC address", s ? s : "",
			    "(e.g. 02:00:00:00:00:01)");
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int parse_ip(const char *s, size_t n, uint32_t *out)
{
	unsigned int a[4];
	char buf[20], tail;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (sscanf(buf, "%3u.%3u.%3u.%3u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		if (a[i] > 255 || !isdigit((unsigned char)buf[0]))
			return -EINVAL;
	*out = a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
	return 0;
}

int app_parse_ipv4_range(const char *s, uint32_t *lo, uint32_t *hi, char *why, size_t len)
{
	const char *ex = "(e.g. 10.0.0.1 or 10.0.0.1-10.0.0.50)";
	const char *dash = s ? strchr(s, '-') : NULL;

	if (!s || parse_ip(s, dash ? (size_t)(dash - s) : strlen(s), lo) < 0 ||
	    (dash && parse_ip(dash + 1, strlen(dash + 1), hi) < 0))
		return fail(why, len, " is not an IPv4 address or range", s ? s : "", ex);
	if (!dash)
		*hi = *lo;
	if (*hi < *lo)
		return fail(why, len, ": range ends before it starts", s, ex);
	return 0;
}

int app_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi, char *why, size_t len)
{
	const char *ex = "(e.g. 9000 or 9000-9099)";
	unsigned long a, b;
	char *e;

	if (!s || !isdigit((unsigned char)*s))
		return fail(why, len, " is not a UDP port or range", s ? s : "", ex);
	a = strtoul(s, &e, 10);
	b = a;
	if (*e == '-') {
		if (!isdigit((unsigned char)e[1]))
			return fail(why, len, " is not a UDP port range", s, ex);
		b = strtoul(e + 1, &e, 10);
	}
	if (*e || a > 65535 || b > 65535 || b < a)
		return fail(why, len, " is not a UDP port range in 0..65535", s, ex);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

int app_parse_prob(const char *s, double *out, char *why, size_t len)
{
	const char *ex = "(e.g. 0.1%, 0.001)";
	char *e;
	double v;

	if (!s || !(isdigit((unsigned char)*s) || *s == '.'))
		return fail(why, len, " is not a probability", s ? s : "", ex);
	v = strtod(s, &e);
	if (*e == '%') {
		v /= 100;
		e++;
	}
	if (*e || !(v >= 0 && v <= 1))
		return fail(why, len, " is not a probability in 0..1 (or 0%..100%)", s, ex);
	*out = v;
	return 0;
}

int app_parse_bool(const char *s, bool *out, char *why, size_t len)
{
	static const char *yes[] = {"1", "yes", "true", "on"}, *no[] = {"0", "no", "false", "off"};

	for (int i = 0; i < 4 && s; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return fail(why, len, " is not yes/no", s ? s : "", NULL);
}

const char *app_fmt_si(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2f G", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1f k", v / 1e3);
	else
		snprintf(buf, len, "%.0f ", v);
	return buf;
}

const char *app_fmt_ns(double ns, char *buf, size_t len)
{
	if (ns >= 1e9)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(buf, len, "%.2fms", ns / 1e6);
	else if (ns >= 1e3)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else
		snprintf(buf, len, "%.0fns", ns);
	return buf;
}
