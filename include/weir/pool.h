/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packet buffer pools: a fixed number of packets, allocated once.
 *
 * Memory layout: one mapping holds an array of packet metadata (struct
 * weir_pkt, two cache lines each) and, separately, an array of equal-sized
 * data buffers (buf_size bytes, a power of two, headroom first). Keeping the
 * data buffers contiguous and uniformly sized makes the data area usable as
 * an AF_XDP UMEM as it is: buffer i is UMEM chunk i, and a descriptor
 * address maps back to its packet with one shift.
 *
 * The mapping uses 2 MiB huge pages when the system has them reserved and
 * ordinary pages otherwise (weir_pool_is_huge() says which). Free packets
 * sit in a lock-free MPMC ring; each lcore keeps a private cache in front of
 * it, so get/put on the fast path touch no shared cache line. Exhaustion is
 * an error that is counted (alloc_fails), never a wait.
 */
#ifndef WEIR_POOL_H
#define WEIR_POOL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "ring.h"

struct weir_pkt;

#define WEIR_POOL_CACHE_MAX 512
#define WEIR_POOL_NAMESIZE 32

struct weir_pool_conf {
	const char *name;    /* for messages; default "pool" */
	uint32_t n;          /* packets in the pool (required, >= 1) */
	uint32_t buf_size;   /* bytes per data buffer, power of two; default 2048 */
	uint16_t headroom;   /* bytes reserved in front of data; default 128 */
	uint32_t cache_size; /* per-lcore cache; 0: default 256, UINT32_MAX: none */
	int huge;            /* 0 or -1: use if reserved, 1: require, 2: never */
	/* The data buffers live in a memfd another process can map (a
	 * vhost-user backend, through weir_pool_memfd()); the metadata stays
	 * private. Huge pages (MFD_HUGETLB) when huge allows and some are
	 * reserved, 4 KiB pages otherwise. */
	bool shared;
};

struct weir_pool_cache {
	uint32_t len;
	/* Line-aligned: bursts are multiples of 8 pointers, so each 64-byte
	 * chunk of a copy is one cache line. At offset 8 (as before) every
	 * fourth 16-byte move split a line, on both get and put. */
	void *objs[WEIR_POOL_CACHE_MAX * 3] weir_cache_aligned; /* 2 x cache_size + one burst */
} weir_cache_aligned;

static_assert(offsetof(struct weir_pool_cache, objs) % WEIR_CACHE_LINE == 0, "cache objs aligned");

struct weir_pool {
	char name[WEIR_POOL_NAMESIZE];
	struct weir_pkt *meta; /* n metadata entries */
	uint8_t *data;         /* n buffers of buf_size bytes */
	uint32_t n;
	uint32_t buf_size;
	uint32_t buf_shift; /* log2(buf_size) */
	uint16_t headroom;
	uint32_t cache_size;
	bool huge;
	void *map;
	size_t map_len;
	int memfd;          /* conf.shared: the data area's file, else -1 */
	size_t data_len;    /* bytes of the data area (n x buf_size, page-rounded when shared) */
	void *meta_map;     /* conf.shared: the metadata's own private mapping */
	size_t meta_map_len;
	struct weir_ring *free_ring;
	_Atomic uint64_t alloc_fails; /* get calls refused because the pool was empty */
	uint8_t *debug_state; /* debug_checks: per buffer, in the pool or out */
	struct weir_pool_cache cache[WEIR_MAX_LCORE];
};

/*
 * Creates a pool: 0 and *out, or, with *out untouched, -EINVAL for a bad
 * conf (n == 0, buf_size not a power of two or not larger than headroom +
 * 64, cache larger than WEIR_POOL_CACHE_MAX), -ENOMEM when memory cannot
 * be had, or when conf->huge == 1 and no huge pages are reserved.
 * Not thread-safe against other calls on the same pool.
 */
int weir_pool_create(const struct weir_pool_conf *conf, struct weir_pool **out);

/* The memfd holding the pool's data area (offset 0 is pool->data, length
 * weir_pool_data_len()), for handing to another process; -1 unless the
 * pool was created with conf.shared. The pool keeps ownership. */
WEIR_INLINE int weir_pool_memfd(const struct weir_pool *pool)
{
	return pool->memfd;
}

/* Bytes of the data area (what weir_pool_memfd() covers when shared). */
WEIR_INLINE size_t weir_pool_data_len(const struct weir_pool *pool)
{
	return pool->data_len;
}

/* Frees the pool's memory. Packets still out are lost with it; tests use
 * weir_pool_in_use() first to catch leaks. */
void weir_pool_destroy(struct weir_pool *pool);

/* Packets free (in the ring and in every lcore cache). Not exact while
 * other threads allocate. */
uint32_t weir_pool_avail(const struct weir_pool *pool);
WEIR_INLINE uint32_t weir_pool_in_use(const struct weir_pool *pool);

WEIR_INLINE bool weir_pool_is_huge(const struct weir_pool *pool)
{
	return pool->huge;
}

/* Moves an lcore's cached packets back to the shared ring (call when a
 * lcore stops, or before counting precisely). */
void weir_pool_cache_flush(struct weir_pool *pool, uint32_t lcore);

/* Slow paths of get/put, out of line in pool.c: refilling an lcore cache
 * from the shared ring, spilling it back, and threads without a cache.
 * Call weir_pool_get_bulk()/weir_pool_put_bulk() instead. */
int weir_pool_get_slow(struct weir_pool *pool, struct weir_pkt **pkts, uint32_t n);
void weir_pool_put_slow(struct weir_pool *pool, struct weir_pkt *const *pkts, uint32_t n);

/* debug_checks (WEIR_DEBUG_CHECKS): get/put call these to mark each
 * buffer out of the pool or back in, and weir_panic() on a packet that is
 * not this pool's (a free into the wrong pool, a stray pointer) or whose
 * marker is wrong (a double free; a packet handed out twice). A pool keeps
 * markers only when the library was built with debug_checks; without them
 * only the pool membership is checked. */
void weir_pool_debug_get(struct weir_pool *pool, struct weir_pkt *const *pkts, uint32_t n);
void weir_pool_debug_put(struct weir_pool *pool, struct weir_pkt *const *pkts, uint32_t n);

/*
 * Raw get/put of n packet pointers, all or nothing on get: returns 0, or
 * -ENOBUFS (counted in alloc_fails) when fewer than n are free. Packets are
 * not reset; use weir_pkt_alloc_bulk() for ready-to-fill packets. Any
 * thread; weir lcores go through their own cache, others through the ring.
 *
 * The fast path is what rte_mempool's cache does and no more: one check,
 * one copy of n pointers between the caller's array and the top of the
 * cache (a stack: the most recently freed, still warm, go out first), one
 * store of len. Refill and spill are calls, taken once every
 * cache_size / n bursts.
 */
WEIR_INLINE int weir_pool_get_bulk(struct weir_pool *pool, struct weir_pkt **pkts, uint32_t n)
{
	uint32_t id = weir_lcore_id();
	struct weir_pool_cache *c;

	if (weir_likely(id < WEIR_MAX_LCORE && n <= pool->cache_size &&
			pool->cache[id].len >= n)) {
		c = &pool->cache[id];
		c->len -= n;
		weir_copy_ptrs((void **)pkts, &c->objs[c->len], n);
	} else if (weir_pool_get_slow(pool, pkts, n) < 0) {
		return -ENOBUFS;
	}
	if (WEIR_DEBUG_CHECKS)
		weir_pool_debug_get(pool, pkts, n);
	return 0;
}

WEIR_INLINE void weir_pool_put_bulk(struct weir_pool *pool, struct weir_pkt *const *pkts,
				    uint32_t n)
{
	uint32_t id = weir_lcore_id();
	struct weir_pool_cache *c;

	if (WEIR_DEBUG_CHECKS)
		weir_pool_debug_put(pool, pkts, n);
	/* At 2 x cache_size the slow path spills down to cache_size. */
	if (weir_likely(id < WEIR_MAX_LCORE && n <= pool->cache_size &&
			pool->cache[id].len + n < 2 * pool->cache_size)) {
		c = &pool->cache[id];
		weir_copy_ptrs(&c->objs[c->len], (void *const *)pkts, n);
		c->len += n;
	} else {
		weir_pool_put_slow(pool, pkts, n);
	}
}

WEIR_INLINE uint32_t weir_pool_in_use(const struct weir_pool *pool)
{
	return pool->n - weir_pool_avail(pool);
}

#endif
