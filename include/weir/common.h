/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small things every weir module uses: branch hints, cache-line size,
 * the debug-check switch, the spin-wait hint, the lcore count limit, the
 * return convention. Nothing here allocates or has state.
 */
#ifndef WEIR_COMMON_H
#define WEIR_COMMON_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Return convention, every module:
 *
 * - A function returning int gives 0 on success (or a count, where
 *   counting is the call's job: weir_port_xstats_get) and a negative errno
 *   on failure. The global errno is never part of weir's answer.
 * - Bursts return how many objects were done, as an unsigned count; the
 *   caller keeps the rest. Nothing done is 0, not an error.
 * - `_bulk` is all or nothing and returns 0 or a negative errno: -ENOBUFS
 *   when there is no room or no buffer (ring enqueue, pool get), -ENOENT
 *   when there is nothing to take (ring dequeue). Returning n on success
 *   would say nothing the caller does not know, and `if (err)` reads the
 *   same for every int-returning call.
 * - Constructors return int and fill an out-pointer:
 *       int weir_X_create(..., struct weir_X **out);
 *   0 with *out set, or a negative errno with *out untouched. Chosen over
 *   "return the object, NULL and *err": the error travels in the one
 *   channel every other call uses (no object that is NULL while *err
 *   says 0, no *err to forget), the same signature carries a message
 *   buffer for people where there is one (weir_port_open's why/whylen,
 *   weir_qdisc_create's), and ports, qdiscs and lcores already took it.
 *   Pools, rings and packet clones/copies follow it.
 * - A function returning a pointer and no errno means "none" by NULL:
 *   weir_pkt_alloc() (the pool is empty: the only reason), dequeues and
 *   lookups. Outcomes that are not errors (dropped, marked) are enums.
 */

#define WEIR_CACHE_LINE 64
#define weir_cache_aligned __attribute__((aligned(WEIR_CACHE_LINE)))

/*
 * The per-packet API is inline in these headers, and libweir also exports
 * each of those functions under its own name, for bindings, dlsym() and
 * debuggers: src/ffi.c defines WEIR_INLINE as nothing before including
 * the headers, which compiles every WEIR_INLINE function once out of line
 * (liburing's ffi.c does the same with IOURINGINLINE). Helpers inside a
 * header that are not API stay `static inline` and are not exported.
 */
#ifndef WEIR_INLINE
#define WEIR_INLINE static inline
#endif

/* For the few fast-path helpers whose inlining a compiler must not weigh
 * (the ring's head move: the caller's constants fold into it). */
#define weir_always_inline inline __attribute__((always_inline))

#define weir_likely(x) __builtin_expect(!!(x), 1)
#define weir_unlikely(x) __builtin_expect(!!(x), 0)

/* Spin-wait hint for busy loops (a ring tail held by an earlier thread, a
 * pacing deadline): lets the sibling hyperthread run and saves power
 * without giving up the CPU.
 * - x86: pause (about 10-140 cycles depending on the core).
 * - aarch64: isb. `yield` is a hint most Arm cores treat as a nop, so a
 *   loop of it hammers the contended line; isb stalls the pipeline for a
 *   few tens of cycles, the closest thing to x86's pause.
 * - elsewhere: a compiler barrier, so the loop at least reloads what it
 *   polls. */
static inline void weir_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("isb" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/*
 * Fast-path sanity checks, on with `meson -Ddebug_checks=true` (which
 * also puts -DWEIR_DEBUG_CHECKS=1 into weir.pc, so that code inlining the
 * fast path from these headers checks the same way as the library). Test
 * them with a plain `if (WEIR_DEBUG_CHECKS && ...)`: both branches are
 * compiled, so the checks cannot rot, and the compiler drops them when 0.
 * What they catch: double frees and frees into the wrong pool (a per-
 * buffer in-use marker, as rte_mempool's debug cookies), a zero refcount
 * on free, out-of-range queue ids in port bursts. A failed check calls
 * weir_panic(): a message on stderr, then abort().
 */
#ifndef WEIR_DEBUG_CHECKS
#define WEIR_DEBUG_CHECKS 0
#endif

/* Prints "weir: panic: <message>" to stderr and aborts. For broken
 * invariants only (debug checks), never for errors a caller can handle. */
void weir_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2), cold));

#define WEIR_MAX_LCORE 64 /* threads that may own a per-lcore pool cache */
#define WEIR_LCORE_ANY UINT32_MAX

#define WEIR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WEIR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define WEIR_MAX(a, b) ((a) > (b) ? (a) : (b))

#define weir_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Copies n pointers. Fixed-size memcpy chunks compile to vector moves; a
 * plain element loop stays scalar (dst may alias src) and, with 32-bit
 * ring or cache indexes, recomputes a wrapped index per element. The fast
 * paths of rings and pool caches move bursts of 32 with this. */
static inline void weir_copy_ptrs(void **dst, void *const *src, uint32_t n)
{
	uint32_t i = 0;

	for (; i + 8 <= n; i += 8)
		memcpy(&dst[i], &src[i], 8 * sizeof(void *));
	for (; i < n; i++)
		dst[i] = src[i];
}

static inline int weir_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static inline uint64_t weir_align_pow2(uint64_t v)
{
	if (v <= 1)
		return 1;
	return 1ULL << (64 - __builtin_clzll(v - 1));
}

/* Id of the calling thread's lcore, WEIR_LCORE_ANY for threads weir did not
 * start (they get no per-lcore cache). Set by weir_lcore_launch(). */
extern __thread uint32_t weir_lcore_id_tls;

WEIR_INLINE uint32_t weir_lcore_id(void)
{
	return weir_lcore_id_tls;
}

#endif
