/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Monotonic time in nanoseconds. CLOCK_MONOTONIC through the vDSO costs
 * about 20 ns and never jumps, which is what sojourn times, pacing and
 * timeouts need; weir does not use the TSC directly so results are
 * comparable across machines and with the kernel's own timestamps.
 */
#ifndef WEIR_CLOCK_H
#define WEIR_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "common.h"

typedef uint64_t weir_ns_t;

#define WEIR_NS_PER_US 1000ULL
#define WEIR_NS_PER_MS 1000000ULL
#define WEIR_NS_PER_SEC 1000000000ULL

WEIR_INLINE weir_ns_t weir_clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (weir_ns_t)ts.tv_sec * WEIR_NS_PER_SEC + (weir_ns_t)ts.tv_nsec;
}

/* Wall-clock time (CLOCK_REALTIME) in ns, for capture files. */
WEIR_INLINE weir_ns_t weir_clock_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (weir_ns_t)ts.tv_sec * WEIR_NS_PER_SEC + (weir_ns_t)ts.tv_nsec;
}

/* Wrap-safe comparisons: true when a is after b. */
WEIR_INLINE int weir_time_after(weir_ns_t a, weir_ns_t b)
{
	return (int64_t)(a - b) > 0;
}

/* Busy-wait until the monotonic clock reaches t (pacing). */
WEIR_INLINE void weir_clock_spin_until(weir_ns_t t)
{
	while (weir_time_after(t, weir_clock_now()))
		weir_pause();
}

#endif
