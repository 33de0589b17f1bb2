// SPDX-License-Identifier: BSD-3-Clause
/*
 * The latency histogram behind weir-gen's p50/p99/p99.9: bucket mapping is
 * monotonic and contiguous, every value lands in a bucket whose range holds
 * it within 1/128, percentiles match an exact sort within that error and
 * never under-report, and merging equals recording into one histogram.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "common/histogram.h"

static struct hist h1, h2, h3;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

Test(histogram, index_is_monotonic_and_ranges_hold_values)
{
	uint64_t prev_idx = 0;

	for (uint64_t v = 0; v < 1000000; v += 1 + v / 97) {
		uint32_t idx = hist_index(v);
		uint64_t lo, hi;

		cr_assert(idx < HIST_BUCKETS);
		cr_assert(idx >= prev_idx, "index went down at %llu", (unsigned long long)v);
		hist_bucket_range(idx, &lo, &hi);
		cr_assert(lo <= v && v <= hi, "v=%llu outside [%llu,%llu]", (unsigned long long)v,
			  (unsigned long long)lo, (unsigned long long)hi);
		cr_assert((hi - lo) * 128 <= (lo ? lo : 1), "bucket wider than 1/128 at %llu",
			  (unsigned long long)v);
		prev_idx = idx;
	}
	cr_assert_lt(hist_index(UINT64_MAX), HIST_BUCKETS);
}

Test(histogram, buckets_are_contiguous)
{
	for (uint32_t i = 1; i < HIST_BUCKETS; i++) {
		uint64_t lo, hi, plo, phi;

		hist_bucket_range(i - 1, &plo, &phi);
		hist_bucket_range(i, &lo, &hi);
		cr_assert_eq(lo, phi + 1, "gap between bucket %u and %u", i - 1, i);
		cr_assert_eq(hist_index(lo), i);
		cr_assert_eq(hist_index(hi), i);
	}
}

Test(histogram, percentiles_match_sorted_samples)
{
	enum { N = 20000 };
	static uint64_t v[N];
	const double ps[] = {50, 90, 99, 99.9};

	srand(7);
	hist_init(&h1);
	for (int i = 0; i < N; i++) {
		/* A long-tailed mix: mostly ~10 us, a tail into milliseconds. */
		v[i] = 10000 + (uint64_t)(rand() % 5000);
		if (i % 100 == 0)
			v[i] = 1000000 + (uint64_t)rand() % 4000000;
		hist_record(&h1, v[i]);
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	cr_assert_eq(h1.count, N);
	cr_assert_eq(h1.min, v[0]);
	cr_assert_eq(h1.max, v[N - 1]);
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		size_t rank = (size_t)((ps[k] / 100.0) * N + 0.999999);
		uint64_t exact = v[rank - 1], got = hist_percentile(&h1, ps[k]);

		cr_assert(got >= exact, "p%g under-reports: %llu < %llu", ps[k],
			  (unsigned long long)got, (unsigned long long)exact);
		cr_assert(got - exact <= exact / 128 + 1, "p%g off: %llu vs %llu", ps[k],
			  (unsigned long long)got, (unsigned long long)exact);
	}
	cr_assert_eq(hist_percentile(&h1, 100), v[N - 1]);
}

Test(histogram, single_value_and_empty)
{
	hist_init(&h1);
	cr_assert_eq(hist_percentile(&h1, 99), 0);
	cr_assert_eq(hist_mean(&h1), 0);
	hist_record(&h1, 123456789);
	cr_assert_eq(hist_percentile(&h1, 50), 123456789, "clamped to max");
	cr_assert_eq(hist_percentile(&h1, 99.9), 123456789);
	hist_record(&h1, 0);
	cr_assert_eq(h1.min, 0);
	cr_assert_eq(hist_percentile(&h1, 50), 0);
}

Test(histogram, merge_equals_single_recording)
{
	hist_init(&h1);
	hist_init(&h2);
	hist_init(&h3);
	for (uint64_t i = 0; i < 5000; i++) {
		uint64_t x = i * i * 37 % 9999991;

		hist_record(i % 2 ? &h1 : &h2, x);
		hist_record(&h3, x);
	}
	hist_merge(&h1, &h2);
	cr_assert_eq(h1.count, h3.count);
	cr_assert_eq(h1.min, h3.min);
	cr_assert_eq(h1.max, h3.max);
	cr_assert_eq(memcmp(h1.b, h3.b, sizeof(h1.b)), 0);
	cr_assert_eq(hist_percentile(&h1, 99), hist_percentile(&h3, 99));
}
