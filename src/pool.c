// SPDX-License-Identifier: BSD-3-Clause
/*
 * Packet pools: one mapping for all buffers and metadata, huge pages when
 * the system has them (never required unless asked), a lock-free ring of
 * free packets behind per-lcore caches. A shared pool puts its data
 * buffers in a memfd (another process maps them: a vhost-user backend)
 * and its metadata in a private mapping of its own, so what the other
 * process can write is packet bytes, never weir's bookkeeping. See
 * include/weir/pool.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/pkt.h"
#include "weir/pool.h"

#define HUGE_2M (2UL << 20)

/* debug_state values, one byte per buffer. */
enum { DEBUG_FREE = 0, DEBUG_OUT = 1 };

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void *map_memory(size_t len, int huge, bool *got_huge, size_t *map_len)
{
	void *p;

	if (huge != 2) {
		size_t hlen = round_up(len, HUGE_2M);

		p = mmap(NULL, hlen, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
		if (p != MAP_FAILED) {
			*got_huge = true;
			*map_len = hlen;
			return p;
		}
		if (huge == 1)
			return NULL;
	}
	len = round_up(len, 4096);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Transparent huge pages still cut TLB misses when available. */
	madvise(p, len, MADV_HUGEPAGE);
	*got_huge = false;
	*map_len = len;
	return p;
}

/* The data area in a memfd, MAP_SHARED: huge pages first when huge
 * allows, as map_memory() does. NULL with *fd -1 on failure. */
static void *map_shared(const char *name, size_t len, int huge, bool *got_huge, size_t *map_len,
			int *fd)
{
	for (int try_huge = huge == 2 ? 0 : 1; try_huge >= 0; try_huge--) {
		size_t l = round_up(len, try_huge ? HUGE_2M : 4096);
		int f = memfd_create(name, MFD_CLOEXEC | (try_huge ? MFD_HUGETLB : 0));
		void *p;

		if (f < 0)
			continue;
		if (ftruncate(f, (off_t)l) == 0) {
			p = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, f, 0);
			if (p != MAP_FAILED) {
				*got_huge = try_huge;
				*map_len = l;
				*fd = f;
				return p;
			}
		}
		close(f);
		if (try_huge && huge == 1)
			break;
	}
	*fd = -1;
	return NULL;
}

/* Maps data and metadata: one private mapping, or (conf->shared) a memfd
 * for the data and a private mapping for the metadata. 0 or -ENOMEM. */
static int map_pool(struct weir_pool *pool, const struct weir_pool_conf *conf, size_t data_len,
		    size_t meta_len)
{
	bool meta_huge;

	pool->memfd = -1;
	if (!conf->shared) {
		pool->map = map_memory(data_len + meta_len, conf->huge, &pool->huge,
				       &pool->map_len);
		if (!pool->map)
			return -ENOMEM;
		/* Data first: page-aligned, as a UMEM must be. */
		pool->data = pool->map;
		pool->meta = (struct weir_pkt *)(void *)(pool->data + data_len);
		pool->data_len = data_len;
		return 0;
	}
	pool->map = map_shared(pool->name, data_len, conf->huge, &pool->huge, &pool->map_len,
			       &pool->memfd);
	if (!pool->map)
		return -ENOMEM;
	pool->meta_map = map_memory(meta_len, 2, &meta_huge, &pool->meta_map_len);
	if (!pool->meta_map) {
		munmap(pool->map, pool->map_len);
		close(pool->memfd);
		pool->memfd = -1;
		return -ENOMEM;
	}
	pool->data = pool->map;
	pool->data_len = pool->map_len;
	pool->meta = pool->meta_map;
	return 0;
}

static void unmap_pool(struct weir_pool *pool)
{
	munmap(pool->map, pool->map_len);
	if (pool->meta_map)
		munmap(pool->meta_map, pool->meta_map_len);
	if (pool->memfd >= 0)
		close(pool->memfd);
}

/* Points every metadata entry at its buffer and puts it in the free ring. */
static void init_packets(struct weir_pool *pool)
{
	for (uint32_t i = 0; i < pool->n; i++) {
		struct weir_pkt *p = &pool->meta[i];

		p->pool = pool;
		p->idx = i;
		p->buf = pool->data + (size_t)i * pool->buf_size;
		p->buf_len = pool->buf_size;
		atomic_init(&p->refcnt, 1);
		weir_pkt_reset(p);
		weir_ring_enqueue(pool->free_ring, p);
	}
}

int weir_pool_create(const struct weir_pool_conf *conf, struct weir_pool **out)
{
	uint32_t buf_size = conf->buf_size ? conf->buf_size : 2048;
	uint16_t headroom = conf->headroom ? conf->headroom : 128;
	uint32_t cache = conf->cache_size ? conf->cache_size : 256;
	struct weir_pool *pool;
	size_t data_len, meta_len;
	uint32_t ring_size;
	int e;

	if (conf->cache_size == UINT32_MAX)
		cache = 0;
	if (!conf->n || !weir_is_pow2(buf_size) || buf_size < (uint32_t)headroom + 64 ||
	    buf_size > (1U << 16) || cache > WEIR_POOL_CACHE_MAX || conf->n > (1U << 28) ||
	    conf->huge < -1 || conf->huge > 2)
		return -EINVAL;
	/* Caches larger than the pool would only strand packets on one lcore. */
	if (cache > conf->n / 4)
		cache = conf->n / 4;
	pool = aligned_alloc(WEIR_CACHE_LINE, round_up(sizeof(*pool), WEIR_CACHE_LINE));
	if (!pool)
		return -ENOMEM;
	memset(pool, 0, sizeof(*pool));
	snprintf(pool->name, sizeof(pool->name), "%s", conf->name ? conf->name : "pool");
	pool->n = conf->n;
	pool->buf_size = buf_size;
	pool->buf_shift = (uint32_t)__builtin_ctz(buf_size);
	pool->headroom = headroom;
	pool->cache_size = cache;

	data_len = (size_t)conf->n * buf_size;
	meta_len = (size_t)conf->n * sizeof(struct weir_pkt);
	e = map_pool(pool, conf, data_len, meta_len);
	if (e < 0)
		goto fail_pool;

	if (WEIR_DEBUG_CHECKS) {
		pool->debug_state = calloc(conf->n, 1); /* all DEBUG_FREE */
		if (!pool->debug_state) {
			e = -ENOMEM;
			goto fail_map;
		}
	}
	ring_size = (uint32_t)weir_align_pow2(conf->n < 2 ? 2 : conf->n);
	e = weir_ring_create(pool->name, ring_size, WEIR_RING_MP_MC, &pool->free_ring);
	if (e < 0)
		goto fail_map;
	init_packets(pool);
	WEIR_DEBUG("pool %s: %u x %u B buffers, %s pages%s", pool->name, conf->n, buf_size,
		   pool->huge ? "2 MiB huge" : "4 KiB", conf->shared ? ", shared (memfd)" : "");
	*out = pool;
	return 0;

fail_map:
	free(pool->debug_state);
	unmap_pool(pool);
fail_pool:
	free(pool);
	return e;
}

void weir_pool_destroy(struct weir_pool *pool)
{
	if (!pool)
		return;
	weir_ring_destroy(pool->free_ring);
	free(pool->debug_state);
	unmap_pool(pool);
	free(pool);
}

uint32_t weir_pool_avail(const struct weir_pool *pool)
{
	uint32_t n = weir_ring_count(pool->free_ring);

	for (unsigned i = 0; i < WEIR_MAX_LCORE; i++)
		n += pool->cache[i].len;
	return n;
}

void weir_pool_cache_flush(struct weir_pool *pool, uint32_t lcore)
{
	struct weir_pool_cache *c;

	if (lcore >= WEIR_MAX_LCORE)
		return;
	c = &pool->cache[lcore];
	weir_ring_enqueue_burst(pool->free_ring, c->objs, c->len);
	c->len = 0;
}

int weir_pool_get_slow(struct weir_pool *pool, struct weir_pkt **pkts, uint32_t n)
{
	uint32_t id = weir_lcore_id();
	struct weir_pool_cache *c;

	if (id >= WEIR_MAX_LCORE || n > pool->cache_size) {
		if (weir_ring_dequeue_bulk(pool->free_ring, (void **)pkts, n) < 0)
			goto empty;
		return 0;
	}
	c = &pool->cache[id];
	/* Refill to cache_size plus what is asked, in one ring burst. Take
	 * what the ring has, up to that: near exhaustion the cache plus a
	 * partial refill may still cover n, and a packet left in this cache
	 * must not make the pool look empty. */
	c->len += weir_ring_dequeue_burst(pool->free_ring, &c->objs[c->len],
					  pool->cache_size + n - c->len);
	if (c->len < n)
		goto empty;
	c->len -= n;
	weir_copy_ptrs((void **)pkts, &c->objs[c->len], n);
	return 0;
empty:
	atomic_fetch_add_explicit(&pool->alloc_fails, 1, memory_order_relaxed);
	return -ENOBUFS;
}

void weir_pool_put_slow(struct weir_pool *pool, struct weir_pkt *const *pkts, uint32_t n)
{
	uint32_t id = weir_lcore_id();
	struct weir_pool_cache *c;

	/* The ring always has room: it holds every packet of the pool. */
	if (id >= WEIR_MAX_LCORE || n > pool->cache_size) {
		weir_ring_enqueue_burst(pool->free_ring, (void *const *)pkts, n);
		return;
	}
	c = &pool->cache[id];
	weir_copy_ptrs(&c->objs[c->len], (void *const *)pkts, n);
	c->len += n;
	if (c->len >= 2 * pool->cache_size) {
		/* Spill down to cache_size from the top: one ring enqueue,
		 * no shifting of what stays. */
		weir_ring_enqueue_burst(pool->free_ring, &c->objs[pool->cache_size],
					c->len - pool->cache_size);
		c->len = pool->cache_size;
	}
}

static bool in_meta(const struct weir_pool *pool, const struct weir_pkt *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)pool->meta;

	return off < (uintptr_t)pool->n * sizeof(*p) && off % sizeof(*p) == 0;
}

/* Index of p in pool, or panics saying what p is instead. */
static uint32_t debug_index(struct weir_pool *pool, const struct weir_pkt *p, const char *op)
{
	if (p && in_meta(pool, p) && p->pool == pool)
		return (uint32_t)(p - pool->meta);
	/* Not ours. A packet of another pool can be read to name it. */
	if (p && !in_meta(pool, p) && p->pool && in_meta(p->pool, p))
		weir_panic("pool %s: %s of packet %u of pool %s (packets go back to their own "
			   "pool, which weir_pkt_free() finds in pkt->pool)", pool->name, op,
			   p->idx, p->pool->name);
	weir_panic("pool %s: %s of %p, which is none of its %u packets (stray or corrupt "
		   "pointer)", pool->name, op, (const void *)p, pool->n);
}

void weir_pool_debug_get(struct weir_pool *pool, struct weir_pkt *const *pkts, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = debug_index(pool, pkts[i], "get");

		if (!pool->debug_state)
			continue;
		if (pool->debug_state[idx] != DEBUG_FREE)
			weir_panic("pool %s: packet %u handed out while already out (its free "
				   "ring or a cache holds it twice: freed twice earlier?)",
				   pool->name, idx);
		pool->debug_state[idx] = DEBUG_OUT;
	}
}

void weir_pool_debug_put(struct weir_pool *pool, struct weir_pkt *const *pkts, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t idx = debug_index(pool, pkts[i], "put");

		if (!pool->debug_state)
			continue;
		if (pool->debug_state[idx] != DEBUG_OUT)
			weir_panic("pool %s: double free of packet %u (it is already in the "
				   "pool; the first free was the owner's last reference)",
				   pool->name, idx);
		pool->debug_state[idx] = DEBUG_FREE;
	}
}
