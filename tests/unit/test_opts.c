// SPDX-License-Identifier: BSD-3-Clause
/*
 * The apps' value parsers (apps/common/opts.c): integers exact over the
 * whole 64-bit range (they used to go through a double), suffixes and
 * fractions as people type them, durations to the nanosecond, and the
 * messages a person reads when a value is refused. The last tests drive a
 * value through app_cli_parse and --config, the way the apps get them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/opts.h"

static char why[256];

static uint64_t u64_ok(const char *s)
{
	uint64_t v = 0;
	int r = app_parse_u64(s, 0, UINT64_MAX, &v, why, sizeof(why));

	cr_assert_eq(r, 0, "'%s' refused: %s", s, why);
	return v;
}

static void u64_bad(const char *s, uint64_t min, uint64_t max, const char *want)
{
	uint64_t v = 12345;
	int r = app_parse_u64(s, min, max, &v, why, sizeof(why));

	cr_expect_eq(r, -EINVAL, "'%s' accepted as %llu", s, (unsigned long long)v);
	cr_expect_str_eq(why, want);
	cr_expect_eq(v, 12345, "'%s': *out written on failure", s);
}

Test(opts, regression_seed_above_2p53_was_rounded_through_a_double)
{
	/* 2^53 + 1 is the first integer a double cannot hold. */
	cr_expect_eq(u64_ok("9007199254740993"), 9007199254740993ULL);
	cr_expect_eq(u64_ok("9007199254740995"), 9007199254740995ULL);
	cr_expect_eq(u64_ok("18446744073709551614"), UINT64_MAX - 1);
}

Test(opts, regression_uint64_max_became_zero)
{
	/* (uint64_t)1.8446744073709552e19 is undefined; x86 gave 0. */
	cr_expect_eq(u64_ok("18446744073709551615"), UINT64_MAX);
	u64_bad("18446744073709551616", 0, UINT64_MAX,
		"'18446744073709551616' is out of range (valid: 0..18446744073709551615)");
	u64_bad("99999999999999999999999", 0, UINT64_MAX,
		"'99999999999999999999999' is out of range (valid: 0..18446744073709551615)");
	/* A suffix that carries past 2^64 must not wrap into range. */
	u64_bad("18446744073709552k", 0, UINT64_MAX,
		"'18446744073709552k' is out of range (valid: 0..18446744073709551615)");
	u64_bad("18446744073709551615k", 0, UINT64_MAX,
		"'18446744073709551615k' is out of range (valid: 0..18446744073709551615)");
}

Test(opts, suffixes_and_fractions_stay_as_they_were)
{
	cr_expect_eq(u64_ok("0"), 0);
	cr_expect_eq(u64_ok("1000"), 1000);
	cr_expect_eq(u64_ok("10k"), 10000);
	cr_expect_eq(u64_ok("2M"), 2000000);
	cr_expect_eq(u64_ok("3g"), 3000000000ULL);
	cr_expect_eq(u64_ok("1.5k"), 1500);
	cr_expect_eq(u64_ok(".5k"), 500);
	cr_expect_eq(u64_ok("1.000001m"), 1000001);
	cr_expect_eq(u64_ok("18446744073.709551615g"), UINT64_MAX);
	cr_expect_eq(u64_ok("007"), 7, "leading zeros are decimal, not octal");
	cr_expect_eq(u64_ok("1."), 1);
}

Test(opts, malformed_integers_are_refused_with_an_example)
{
	u64_bad("1.5", 0, 100, "'1.5' is not a whole number (e.g. 1000, 10k, 2m)");
	u64_bad("1.0001k", 0, UINT64_MAX, "'1.0001k' is not a whole number (e.g. 1000, 10k, 2m)");
	/* Past 18 fraction digits only a non-zero digit matters. */
	u64_bad("1.0000000000000000001g", 0, UINT64_MAX,
		"'1.0000000000000000001g' is not a whole number (e.g. 1000, 10k, 2m)");
	cr_expect_eq(u64_ok("1.0000000000000000000000g"), 1000000000);
	u64_bad("0x10", 0, 100, "'0x10' is not a number (e.g. 1000, 10k, 2m)");
	u64_bad("-1", 0, 100, "'-1' is not a number (e.g. 1000, 10k, 2m)");
	u64_bad("+1", 0, 100, "'+1' is not a number (e.g. 1000, 10k, 2m)");
	u64_bad(" 1", 0, 100, "' 1' is not a number (e.g. 1000, 10k, 2m)");
	u64_bad("", 0, 100, "'' is not a number (e.g. 1000, 10k, 2m)");
	u64_bad(".", 0, 100, "'.' is not a number (e.g. 1000, 10k, 2m)");
	u64_bad("1e3", 0, 10000, "'1e3': unexpected text after the number (e.g. 1000, 10k, 2m)");
	u64_bad("10kk", 0, UINT64_MAX,
		"'10kk': unexpected text after the number (e.g. 1000, 10k, 2m)");
	u64_bad("10kb", 0, UINT64_MAX,
		"'10kb': unexpected text after the number (e.g. 1000, 10k, 2m)");
	u64_bad("0", 1, 32, "'0' is out of range (valid: 1..32)");
	u64_bad("33", 1, 32, "'33' is out of range (valid: 1..32)");
	cr_expect_eq(app_parse_u64(NULL, 0, 1, &(uint64_t){0}, why, sizeof(why)), -EINVAL);
}

Test(opts, byte_counts_are_powers_of_1024)
{
	uint64_t v = 0;

	cr_assert_eq(app_parse_bytes("32k", 0, UINT64_MAX, &v, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(v, 32768);
	cr_assert_eq(app_parse_bytes("1.5kb", 0, UINT64_MAX, &v, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(v, 1536);
	cr_assert_eq(app_parse_bytes("16777215.999999999g", 0, UINT64_MAX, &v, why, sizeof(why)),
		     -EINVAL);
	cr_expect_str_eq(why, "'16777215.999999999g' is not a whole number (e.g. 1500, 32k, 1m)");
	cr_assert_eq(app_parse_bytes("17179869184g", 0, UINT64_MAX, &v, why, sizeof(why)),
		     -EINVAL, "2^34 g = 2^64: one past the top");
	cr_expect_str_eq(why, "'17179869184g' is out of range (valid: 0..18446744073709551615)");
	cr_assert_eq(app_parse_bytes("17179869183.999999999g", 0, UINT64_MAX, &v, why,
				     sizeof(why)), -EINVAL);
	cr_expect_str_eq(why,
			 "'17179869183.999999999g' is not a whole number (e.g. 1500, 32k, 1m)");
}

static weir_ns_t dur_ok(const char *s)
{
	weir_ns_t v = 0;

	cr_assert_eq(app_parse_duration(s, &v, why, sizeof(why)), 0, "'%s' refused: %s", s, why);
	return v;
}

Test(opts, durations_are_exact_to_the_nanosecond)
{
	cr_expect_eq(dur_ok("0"), 0);
	cr_expect_eq(dur_ok("20ms"), 20000000);
	cr_expect_eq(dur_ok("1.5s"), 1500000000);
	cr_expect_eq(dur_ok("250us"), 250000);
	cr_expect_eq(dur_ok("2m"), 120000000000ULL);
	cr_expect_eq(dur_ok("1h"), 3600000000000ULL);
	cr_expect_eq(dur_ok("9007199254740993ns"), 9007199254740993ULL, "2^53 + 1");
	cr_expect_eq(dur_ok("1.0000000005s"), 1000000001, "half a ns rounds up");
	cr_expect_eq(dur_ok("1.0000000004999s"), 1000000000);
	cr_expect_eq(dur_ok("0.1ns"), 0);
	cr_expect_eq(dur_ok("1000000000000000000ns"), 1000000000000000000ULL);
}

Test(opts, bad_durations_say_why)
{
	weir_ns_t v = 7;

	cr_expect_eq(app_parse_duration("1000000000000000001ns", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "'1000000000000000001ns' is too long (e.g. 20ms, 1.5s, 250us)");
	cr_expect_eq(app_parse_duration("99999999999999999999999h", &v, why, sizeof(why)),
		     -EINVAL);
	cr_expect_str_eq(why, "'99999999999999999999999h' is too long (e.g. 20ms, 1.5s, 250us)");
	cr_expect_eq(app_parse_duration("20", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why,
			 "'20' needs a unit: ns, us, ms, s, m or h (e.g. 20ms, 1.5s, 250us)");
	cr_expect_eq(app_parse_duration("20 ms", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "'20 ms': unknown unit (ns, us, ms, s, m, h) (e.g. 20ms, 1.5s, "
			      "250us)");
	cr_expect_eq(app_parse_duration("-1s", &v, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "'-1s' is not a duration (e.g. 20ms, 1.5s, 250us)");
	cr_expect_eq(v, 7, "*out written on failure");
}

Test(opts, rates_stay_real_numbers)
{
	struct app_rate r;

	cr_assert_eq(app_parse_rate("1.5mpps", &r, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(r.pps, 1.5e6);
	cr_assert_eq(app_parse_rate("2.5gbit", &r, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(r.bps, 2.5e9);
	cr_assert_eq(app_parse_rate("line", &r, why, sizeof(why)), 0);
	cr_expect(r.line);
	cr_expect_eq(app_parse_rate("100mbps", &r, why, sizeof(why)), -EINVAL);
	cr_expect_str_eq(why, "'100mbps' is ambiguous: write mbit for bits per second (in tc, "
			      "mbps means megabytes) (e.g. 1mpps, 250kpps, 100mbit, 10gbit, line)");
}

/* --- through the option harness ------------------------------------------ */

struct seen {
	uint64_t seed;
	char sock[108];
	int calls;
};

static int seen_set(void *ctx, const char *name, const char *val, char *w, size_t wlen)
{
	struct seen *s = ctx;

	s->calls++;
	if (!strcmp(name, "seed"))
		return app_parse_u64(val, 0, UINT64_MAX, &s->seed, w, wlen);
	if (!strcmp(name, "stats-socket"))
		snprintf(s->sock, sizeof(s->sock), "%s", val);
	return 0;
}

static const struct app_opt seen_opts[] = {
	{"seed", 0, "N", "seed"},
	{"stats-socket", 's', "PATH", "socket"},
	{NULL, 0, NULL, NULL},
};

Test(opts, regression_seed_round_trips_through_argv_and_config)
{
	struct seen s = {0};
	struct app_cli cli = {
		.prog = "test", .section = "test", .synopsis = "", .about = "",
		.opts = seen_opts, .set = seen_set, .ctx = &s,
	};
	char *argv[] = {"test", "--seed", "18446744073709551615", NULL};
	char path[] = "/tmp/weir-test-opts-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	cr_assert_eq(app_cli_parse(&cli, 3, argv), 0);
	cr_expect_eq(s.seed, UINT64_MAX);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fprintf(f, "[test]\nseed = 9007199254740993\nstats-socket = /tmp/x.sock\n");
	fclose(f);
	cr_expect_eq(app_cli_config(&cli, path), 0);
	unlink(path);
	cr_expect_eq(s.seed, 9007199254740993ULL);
	cr_expect_str_eq(s.sock, "/tmp/x.sock");
	cr_expect_eq(s.calls, 3);
}

/* Found by fuzz_app_opts: a parse that stopped inside a cluster of short
 * options ("-hq": help at 'h') left glibc's getopt pointing at the 'q' of
 * that argv, and the next parse (optind = 1 is not a reset) read it: an
 * "unknown option -q" in a valid command line, or freed memory. */
Test(opts, regression_getopt_kept_its_place_in_the_previous_argv)
{
	struct seen s = {0};
	struct app_cli cli = {
		.prog = "test", .section = "test", .synopsis = "", .about = "",
		.opts = seen_opts, .set = seen_set, .ctx = &s,
	};
	char *first[] = {"test", "-hq", NULL};
	char *second[] = {"test", "--seed", "5", NULL};

	cr_assert_eq(app_cli_parse(&cli, 2, first), 1, "help");
	cr_assert_eq(app_cli_parse(&cli, 3, second), 0, "the second parse saw the first's argv");
	cr_expect_eq(s.seed, 5);
	cr_expect_eq(s.calls, 1);
}

/* The apps keep string options through app_set_str: a copy, since a
 * --config value lives in the INI parser's line buffer (the stats socket
 * was bound at whatever that buffer held next). */
Test(opts, regression_set_str_keeps_a_copy_not_the_buffer)
{
	char line[32] = "/tmp/a.sock", *kept = NULL;

	cr_assert_eq(app_set_str(&kept, line, why, sizeof(why)), 0);
	strcpy(line, "port = null:");
	cr_expect_str_eq(kept, "/tmp/a.sock");
	cr_assert_eq(app_set_str(&kept, "/tmp/b.sock", why, sizeof(why)), 0);
	cr_expect_str_eq(kept, "/tmp/b.sock");
	free(kept);
}
