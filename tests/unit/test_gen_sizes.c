// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen's --size parser (apps/gen/sizes.c): fixed sizes, ranges, IMIX
 * and weighted lists, and the regressions tests/fuzz/fuzz_gen_sizes.c
 * found.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "gen/gen.h"

static char why[256];

Test(gen_sizes, imix_is_seven_four_one)
{
	struct size_mix m;

	cr_assert_eq(gen_parse_sizes("imix", &m, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(m.n, 3);
	cr_assert_eq(m.size[1], 576);
	cr_assert_eq(m.weight[1], 4);
	cr_assert_eq(m.total, 12);
	cr_assert_float_eq(m.mean, (64 * 7 + 576 * 4 + 1500) / 12.0, 1e-9);
}

Test(gen_sizes, a_range_is_uniform_between_its_ends)
{
	struct size_mix m;

	cr_assert_eq(gen_parse_sizes("64-1500", &m, why, sizeof(why)), 0, "%s", why);
	cr_assert(m.range);
	cr_assert_eq(m.lo, 64);
	cr_assert_eq(m.hi, 1500);
	cr_assert_eq(gen_parse_sizes("1500-64", &m, why, sizeof(why)), -EINVAL);
	cr_assert_eq(gen_parse_sizes("63", &m, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "42 header"), "%s", why);
}

/* The fuzzer's input: "1k" then 250 commas and another "1k". The list was
 * copied into 256 bytes and cut there, so the second size was dropped
 * (or, cut in a number, another size taken) without a word. */
Test(gen_sizes, regression_a_list_longer_than_255_bytes_was_cut_short)
{
	char val[300];
	struct size_mix m;

	memset(val, ',', sizeof(val));
	memcpy(val, "1k", 2);
	memcpy(val + 290, "1k", 3);
	cr_assert_eq(gen_parse_sizes(val, &m, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "longer than 255 bytes"), "%s", why);
	/* 255 bytes still fit. */
	val[253] = '9';
	val[254] = '9';
	val[255] = '\0';
	cr_assert_eq(gen_parse_sizes(val, &m, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(m.n, 2);
	cr_assert_eq(m.size[1], 99);
}

/* A range's low end longer than its 32-byte buffer was read cut: 100
 * instead of 1000 for 28 zeros, then 1000. */
Test(gen_sizes, regression_a_long_range_end_was_cut)
{
	struct size_mix m;
	const char *val = "00000000000000000000000000001000-2000";

	cr_assert_eq(gen_parse_sizes(val, &m, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "not a frame size"), "%s", why);
}
