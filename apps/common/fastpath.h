/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small per-packet helpers the apps share: single-writer counters that other
 * threads read (telemetry), and a seedable PRNG for loss, jitter, sizes and
 * flows, so a run with the same seed repeats exactly.
 */
#ifndef WEIR_APPS_FASTPATH_H
#define WEIR_APPS_FASTPATH_H

#include <stdatomic.h>
#include <stdint.h>

/* One writer per counter: a relaxed load+store is enough and avoids a
 * locked read-modify-write on the fast path; readers see a recent value. */
static inline void ctr_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t ctr(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* splitmix64: tiny, seedable, statistically good enough for emulation. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

#endif
