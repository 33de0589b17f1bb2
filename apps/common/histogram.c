// SPDX-License-Identifier: BSD-3-Clause
/*
 * Log-linear latency buckets (see histogram.h). Index of v >= 2*SUB:
 * shift = msb(v) - SUB_BITS, idx = shift*SUB + (v >> shift); v >> shift lies
 * in [SUB, 2*SUB), so consecutive octaves occupy consecutive SUB-wide runs
 * and the index is monotonic in v, which percentile walks rely on.
 */
#include <string.h>

#include "histogram.h"

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

uint32_t hist_index(uint64_t v)
{
	uint32_t shift;

	if (v < 2 * HIST_SUB)
		return (uint32_t)v;
	shift = (uint32_t)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	return shift * HIST_SUB + (uint32_t)(v >> shift);
}

void hist_bucket_range(uint32_t idx, uint64_t *lo, uint64_t *hi)
{
	uint32_t shift;

	if (idx < 2 * HIST_SUB) {
		*lo = *hi = idx;
		return;
	}
	shift = idx / HIST_SUB - 1;
	*lo = (uint64_t)(idx - shift * HIST_SUB) << shift;
	*hi = *lo + ((1ULL << shift) - 1);
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->count)
		return;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t rank, seen = 0, lo, hi;

	if (!h->count)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	rank = (uint64_t)((p / 100.0) * (double)h->count);
	if ((double)rank < (p / 100.0) * (double)h->count)
		rank++; /* ceil without libm */
	if (rank == 0)
		rank = 1;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			hist_bucket_range(i, &lo, &hi);
			if (hi > h->max)
				hi = h->max;
			if (hi < h->min)
				hi = h->min;
			return hi;
		}
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}
