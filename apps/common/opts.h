/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command-line conventions shared by the weir apps: long options described
 * once in a table that also generates --help, the same settings from an INI
 * file (--config FILE, key = long option name), and parsers for the values
 * people type (rates, sizes, durations, CPU lists, MACs, address ranges).
 *
 * Every parser returns 0 or -EINVAL and, on error, writes a message for
 * people into why: what was wrong and an example of what is valid.
 */
#ifndef WEIR_APP_OPTS_H
#define WEIR_APP_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/clock.h"

struct app_opt {
	const char *name; /* long option, also the config-file key */
	char key;         /* short option letter, 0 for none */
	const char *arg;  /* metavariable in --help; NULL for a flag */
	const char *help; /* one or more lines, '\n' separated */
};

/* Applies one setting. val is NULL for flags, and valid only during the
 * call (from --config it is the INI parser's line buffer): keep a copy
 * (app_set_str), never the pointer. Returns 0 or -EINVAL with a message in
 * why (without the option name: the caller adds it). */
typedef int (*app_set_fn)(void *ctx, const char *name, const char *val, char *why,
			  size_t whylen);

struct app_cli {
	const char *prog;     /* "weir-fwd" */
	const char *section;  /* config-file section it reads, e.g. "fwd" */
	const char *synopsis; /* usage line(s) */
	const char *about;    /* paragraph after the usage */
	const char *footer;   /* examples and notes, printed last */
	const struct app_opt *opts; /* name == NULL terminated */
	/* NULL: arguments after the options are refused. Else the long
	 * option that gets them, joined by spaces (a filter expression). */
	const char *rest;
	app_set_fn set;
	void *ctx;
};

/*
 * Parses argv, including the built-in --help and --config FILE, calling
 * cli->set for every option in the order given (a --config file's settings
 * take effect where --config appears). Returns 0, 1 when --help was printed
 * (exit 0), or -EINVAL after printing "prog: --opt: message" to stderr.
 */
int app_cli_parse(const struct app_cli *cli, int argc, char **argv);
/* Reads an INI file: keys of [section] (or before any section) are long
 * option names. 0 or -EINVAL/-ENOENT with a message on stderr. */
int app_cli_config(const struct app_cli *cli, const char *path);
void app_cli_help(const struct app_cli *cli);

/* *dst = a copy of val (the old one freed): 0, or -ENOMEM with a message. */
int app_set_str(char **dst, const char *val, char *why, size_t len);

/*
 * Integers in decimal with an optional k/m/g suffix (1k = 1000); a fraction
 * is allowed when the suffix makes it whole (1.5k = 1500, not 1.5). Exact
 * over the whole 0..2^64-1 range: nothing goes through a double. No signs,
 * spaces, hex or exponents. *out is written only on success.
 */
int app_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why,
		  size_t len);
/* Byte counts: k/m/g are powers of 1024 (32k = 32768), "b" optional;
 * otherwise as app_parse_u64. */
int app_parse_bytes(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *why,
		    size_t len);
/* "20ms", "1.5s", "250us", "100ns", "2m"; "0" alone is zero. Exact to the
 * nanosecond (a finer fraction rounds to the nearest), at most 10^18 ns.
 * *out is written only on success. */
int app_parse_duration(const char *s, weir_ns_t *out, char *why, size_t len);

struct app_rate {
	double pps; /* > 0 when given in packets per second */
	double bps; /* > 0 when given in bits per second */
	bool line;  /* as fast as possible */
};
/* "1mpps", "250kpps", "100pps", "100mbit", "1.5gbit", "10gbit/s", "line". */
int app_parse_rate(const char *s, struct app_rate *out, char *why, size_t len);
/* "0,1", "2-5", "0,2-3": up to max CPUs into cpus; returns the count. */
int app_parse_cpus(const char *s, int *cpus, int max, char *why, size_t len);
/* Checks that every CPU is one this process may run on: 0 or -EINVAL with
 * a message naming the CPU and the allowed ones. */
int app_check_cpus(const int *cpus, int n, char *why, size_t len);
int app_parse_mac(const char *s, uint8_t mac[6], char *why, size_t len);
/* "10.0.0.1" or "10.0.0.1-10.0.0.20", host byte order. */
int app_parse_ipv4_range(const char *s, uint32_t *lo, uint32_t *hi, char *why, size_t len);
/* "5000" or "5000-5099". */
int app_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi, char *why, size_t len);
/* "0.5%", "0.005", "1e-3": a probability in [0, 1]. */
int app_parse_prob(const char *s, double *out, char *why, size_t len);
/* "yes/no/true/false/on/off/1/0". */
int app_parse_bool(const char *s, bool *out, char *why, size_t len);

/* Human formatting into buf: "1.23 M", "950 k" (decimal), "12.3 us". */
const char *app_fmt_si(double v, char *buf, size_t len);
const char *app_fmt_ns(double ns, char *buf, size_t len);

#endif
