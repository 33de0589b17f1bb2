/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A latency histogram in the style of HdrHistogram: values (nanoseconds)
 * fall into log-linear buckets, 128 linear sub-buckets per power of two, so
 * any recorded value is known to within 1/128 (0.8 %) from 1 ns to 2^64 ns
 * in a fixed 59 KiB array. Recording is one count-leading-zeros and an
 * increment; histograms of several lcores merge by adding arrays.
 *
 * Pure: no time, no I/O, no locks. A histogram belongs to one thread.
 */
#ifndef WEIR_APP_HISTOGRAM_H
#define WEIR_APP_HISTOGRAM_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
/* Values below 2*HIST_SUB map to themselves; each octave above adds HIST_SUB. */
#define HIST_BUCKETS ((64 - HIST_SUB_BITS) * HIST_SUB + HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t min, max;
	double sum; /* for the mean; double so it cannot overflow */
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
/* Bucket index of value v, and the [lo, hi] range of values it holds. */
uint32_t hist_index(uint64_t v);
void hist_bucket_range(uint32_t idx, uint64_t *lo, uint64_t *hi);

static inline void hist_record(struct hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += (double)v;
}

/* dst += src. */
void hist_merge(struct hist *dst, const struct hist *src);
/*
 * Value at percentile p (0 < p <= 100): the highest value of the bucket
 * holding the ceil(p/100 * count)-th smallest sample, clamped to [min, max],
 * so it over-reports by at most one bucket width (never under-reports).
 * 0 when empty.
 */
uint64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h);

#endif
