// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for include/weir/pool.h and src/pool.c: configuration checks,
 * the memory layout AF_XDP relies on (contiguous power-of-two buffers, index
 * <-> offset mapping), exhaustion (-ENOBUFS, counted), the per-lcore cache
 * (hits stay local, spills and refills go through the ring, flush), huge
 * pages when reserved and ordinary pages otherwise, several lcores
 * allocating at once, and (in a debug_checks build) the per-buffer markers
 * aborting on a double put or a put into the wrong pool.
 *
 * Every pool a test makes is registered; the suite's fini fails if one was
 * not destroyed or still had packets out when it was.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/pool.h"

static int pools_live, leaked;

static struct weir_pool *mk(const struct weir_pool_conf *conf)
{
	struct weir_pool *p = NULL;
	int err = weir_pool_create(conf, &p);

	cr_assert_eq(err, 0, "pool create: err %d", err);
	cr_assert_not_null(p);
	pools_live++;
	return p;
}

static void rm(struct weir_pool *p)
{
	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(p, i);
	if (weir_pool_in_use(p))
		leaked += (int)weir_pool_in_use(p);
	weir_pool_destroy(p);
	pools_live--;
}

static void init(void)
{
	weir_lcore_set_id(WEIR_LCORE_ANY);
}

static void fini(void)
{
	if (pools_live || leaked) {
		cr_log_error("%d pool(s) not destroyed, %d packet(s) leaked", pools_live, leaked);
		abort();
	}
}

TestSuite(pool, .init = init, .fini = fini, .timeout = 60);

Test(pool, create_rejects_bad_conf)
{
	const struct weir_pool_conf bad[] = {
		{.n = 0},
		{.n = 8, .buf_size = 1000},                  /* not a power of two */
		{.n = 8, .buf_size = 128},                   /* < headroom + 64 */
		{.n = 8, .buf_size = 256, .headroom = 200},  /* < headroom + 64 */
		{.n = 8, .buf_size = 1u << 17},              /* > 64 KiB */
		{.n = 8, .cache_size = WEIR_POOL_CACHE_MAX + 1},
		{.n = 8, .huge = 3},
		{.n = 8, .huge = -2},
		{.n = (1u << 28) + 1},
	};

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(bad); i++) {
		struct weir_pool *p = NULL;
		int err = weir_pool_create(&bad[i], &p);

		cr_expect_eq(err, -EINVAL, "conf %zu: err %d", i, err);
		cr_expect_null(p, "conf %zu: *out written on failure", i);
	}
	weir_pool_destroy(NULL); /* allowed, like free(NULL) */
}

Test(pool, defaults_and_layout)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.name = "lay", .n = 1000, .huge = 2});

	cr_expect_str_eq(p->name, "lay");
	cr_expect_eq(p->buf_size, 2048);
	cr_expect_eq(p->buf_shift, 11);
	cr_expect_eq(p->headroom, 128);
	cr_expect_eq(p->cache_size, 250, "cache is capped at n/4, got %u", p->cache_size);
	cr_expect_eq((uintptr_t)p->data % 4096, 0, "data area must be page aligned (UMEM)");
	cr_expect_eq(weir_pool_avail(p), 1000);
	cr_expect_eq(weir_pool_in_use(p), 0);
	for (uint32_t i = 0; i < p->n; i += 97) {
		struct weir_pkt *k = weir_pool_pkt_at(p, i);

		cr_expect_eq(k->idx, i);
		cr_expect_eq(k->pool, p);
		cr_expect_eq(k->buf, p->data + (size_t)i * 2048);
		cr_expect_eq(weir_pkt_refcnt(k), 1);
		/* Any offset inside buffer i maps back to packet i. */
		cr_expect_eq(weir_pool_pkt_from_offset(p, (uint64_t)i * 2048 + 1234), k);
	}
	cr_expect_null(weir_pool_pkt_from_offset(p, (uint64_t)1000 * 2048));
	rm(p);
}

Test(pool, exhausted_returns_enobufs_and_counts)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 64, .cache_size = UINT32_MAX,
							  .huge = 2});
	struct weir_pkt *pk[64], *extra[2];

	cr_expect_eq(p->cache_size, 0);
	cr_assert_eq(weir_pool_get_bulk(p, pk, 60), 0);
	/* All or nothing: 5 asked, 4 left. */
	cr_expect_eq(weir_pool_get_bulk(p, extra, 2), 0);
	cr_expect_eq(weir_pool_in_use(p), 62);
	cr_expect_eq(weir_pool_get_bulk(p, pk + 60, 3), -ENOBUFS);
	cr_expect_eq(weir_pool_avail(p), 2, "failed bulk get took packets");
	cr_expect_eq(atomic_load(&p->alloc_fails), 1);
	cr_expect_eq(weir_pool_get_bulk(p, pk + 60, 2), 0);
	cr_expect_null(weir_pkt_alloc(p));
	cr_expect_eq(atomic_load(&p->alloc_fails), 2);
	cr_expect_eq(weir_pkt_alloc_bulk(p, extra, 1), -ENOBUFS);
	cr_expect_eq(atomic_load(&p->alloc_fails), 3);
	weir_pool_put_bulk(p, pk, 62);
	weir_pool_put_bulk(p, extra, 2);
	cr_expect_eq(weir_pool_in_use(p), 0);
	rm(p);
}

Test(pool, exhausted_with_cache_on_an_lcore)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 128, .cache_size = 16, .huge = 2});
	struct weir_pkt *pk[128];
	uint32_t got = 0;

	weir_lcore_set_id(3);
	while (got + 8 <= 128 && weir_pool_get_bulk(p, pk + got, 8) == 0)
		got += 8;
	cr_expect_eq(got, 128, "the cache must not strand packets on its own lcore: got %u", got);
	cr_expect_eq(weir_pool_get_bulk(p, pk + got, 1), -ENOBUFS);
	cr_expect_eq(atomic_load(&p->alloc_fails), 1);
	weir_pool_put_bulk(p, pk, got);
	cr_expect_eq(weir_pool_in_use(p), 0);
	weir_lcore_set_id(WEIR_LCORE_ANY);
	rm(p);
}

/* Regression: near exhaustion a failed refill used to fall back to the ring
 * alone, refusing n packets although the cache plus the ring held them. */
Test(pool, refill_near_exhaustion_uses_cache_and_ring)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 64, .cache_size = 16, .huge = 2});
	struct weir_pkt *pk[64];

	weir_lcore_set_id(0);
	cr_assert_eq(weir_pool_get_bulk(p, pk, 1), 0); /* cache now holds 16 */
	cr_expect_eq(p->cache[0].len, 16);
	weir_lcore_set_id(WEIR_LCORE_ANY);
	cr_assert_eq(weir_pool_get_bulk(p, pk + 1, 44), 0); /* ring: 3 left */
	weir_lcore_set_id(0);
	cr_assert_eq(weir_pool_get_bulk(p, pk + 45, 14), 0); /* cache: 2 left */
	cr_expect_eq(p->cache[0].len, 2);
	cr_expect_eq(weir_pool_avail(p), 5);
	cr_expect_eq(weir_pool_get_bulk(p, pk + 59, 4), 0, "4 of 5 free packets refused");
	cr_expect_eq(weir_pool_avail(p), 1);
	cr_expect_eq(weir_pool_get_bulk(p, pk + 63, 1), 0);
	cr_expect_eq(atomic_load(&p->alloc_fails), 0);
	weir_pool_put_bulk(p, pk, 64);
	weir_lcore_set_id(WEIR_LCORE_ANY);
	rm(p);
}

Test(pool, per_lcore_cache_stays_local_then_spills)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 4096, .cache_size = 64, .huge = 2});
	struct weir_pkt *pk[32], *first;
	uint32_t ring_before;

	/* A thread that is no lcore goes straight to the ring. */
	cr_assert_eq(weir_pool_get_bulk(p, pk, 1), 0);
	cr_expect_eq(weir_ring_count(p->free_ring), 4095);
	weir_pool_put_bulk(p, pk, 1);
	cr_expect_eq(weir_ring_count(p->free_ring), 4096);

	weir_lcore_set_id(5);
	cr_expect_eq(weir_lcore_id(), 5);
	cr_assert_eq(weir_pool_get_bulk(p, pk, 32), 0);
	/* The first get refilled cache_size + n in one go. */
	cr_expect_eq(p->cache[5].len, 64);
	ring_before = weir_ring_count(p->free_ring);
	cr_expect_eq(ring_before, 4096 - 96);
	first = pk[0];
	weir_pool_put_bulk(p, pk, 1);
	cr_assert_eq(weir_pool_get_bulk(p, pk, 1), 0);
	cr_expect_eq(pk[0], first, "cache is LIFO: the hot buffer comes back first");
	/* Puts and gets that fit the cache leave the shared ring alone. */
	weir_pool_put_bulk(p, pk, 32);
	cr_expect_eq(weir_ring_count(p->free_ring), ring_before);
	cr_expect_eq(p->cache[5].len, 96);
	/* Crossing 2 x cache_size spills down to cache_size. */
	struct weir_pkt *more[64];
	weir_lcore_set_id(WEIR_LCORE_ANY);
	cr_assert_eq(weir_pool_get_bulk(p, more, 64), 0);
	ring_before = weir_ring_count(p->free_ring);
	weir_lcore_set_id(5);
	weir_pool_put_bulk(p, more, 32);
	cr_expect_eq(p->cache[5].len, 64, "96 + 32 must spill to 64, is %u", p->cache[5].len);
	cr_expect_eq(weir_ring_count(p->free_ring), ring_before + 64);
	weir_pool_put_bulk(p, more + 32, 32);
	cr_expect_eq(p->cache[5].len, 96);
	cr_expect_eq(weir_pool_in_use(p), 0);
	/* Another lcore has its own cache. */
	weir_lcore_set_id(6);
	cr_assert_eq(weir_pool_get_bulk(p, pk, 4), 0);
	cr_expect_eq(p->cache[6].len, 64);
	cr_expect_eq(p->cache[5].len, 96);
	weir_pool_put_bulk(p, pk, 4);
	/* Bursts larger than the cache bypass it. */
	struct weir_pkt *big[100];
	uint32_t c6 = p->cache[6].len;
	cr_assert_eq(weir_pool_get_bulk(p, big, 100), 0);
	cr_expect_eq(p->cache[6].len, c6);
	weir_pool_put_bulk(p, big, 100);
	cr_expect_eq(p->cache[6].len, c6);
	/* Flush gives cached packets back to the ring. */
	weir_pool_cache_flush(p, 5);
	weir_pool_cache_flush(p, 6);
	weir_pool_cache_flush(p, WEIR_LCORE_ANY); /* ignored */
	cr_expect_eq(weir_ring_count(p->free_ring), 4096);
	/* Ids beyond WEIR_MAX_LCORE become "no lcore". */
	weir_lcore_set_id(WEIR_MAX_LCORE);
	cr_expect_eq(weir_lcore_id(), WEIR_LCORE_ANY);
	weir_lcore_set_id(WEIR_LCORE_ANY);
	rm(p);
}

static long hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

Test(pool, huge_never_uses_ordinary_pages)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 256, .huge = 2});
	struct weir_pkt *k = weir_pkt_alloc(p);

	cr_expect_not(weir_pool_is_huge(p));
	cr_assert_not_null(k);
	memset(k->buf, 0xab, k->buf_len); /* the memory is really there */
	weir_pkt_free(k);
	rm(p);
}

Test(pool, shared_data_is_the_memfd_and_metadata_is_not)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 300, .shared = true});
	struct weir_pool *priv = mk(&(struct weir_pool_conf){.n = 8});
	struct weir_pkt *k = weir_pkt_alloc(p);
	int fd = weir_pool_memfd(p);
	uint8_t *other;

	cr_expect_eq(weir_pool_memfd(priv), -1, "a private pool has no memfd");
	cr_assert_geq(fd, 0);
	cr_assert_geq(weir_pool_data_len(p), (size_t)300 * 2048);
	cr_expect_eq(weir_pool_data_len(p) % 4096, 0, "whole pages, as a backend maps them");
	/* A second mapping of the fd (what a vhost-user backend does) sees
	 * what the pool's buffers hold, and not the metadata. */
	other = mmap(NULL, weir_pool_data_len(p), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(other, MAP_FAILED);
	cr_assert_not_null(k);
	memset(k->buf, 0x5a, 64);
	cr_expect_eq(other[(size_t)(k->buf - p->data) + 63], 0x5a);
	other[(size_t)(k->buf - p->data)] = 0x11;
	cr_expect_eq(k->buf[0], 0x11);
	cr_expect((uint8_t *)p->meta < p->data || (uint8_t *)p->meta >= p->data + weir_pool_data_len(p),
		  "metadata outside the shared area");
	munmap(other, weir_pool_data_len(p));
	weir_pkt_free(k);
	rm(priv);
	rm(p);
}

Test(pool, huge_default_falls_back_when_none_reserved)
{
	long free_huge = hugepages_free();
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 256});

	/* 256 x (2048 + 128) bytes fit one 2 MiB page. */
	if (free_huge >= 1)
		cr_expect(weir_pool_is_huge(p), "%ld huge pages free but not used", free_huge);
	else
		cr_expect_not(weir_pool_is_huge(p), "huge with none free?");
	rm(p);
}

Test(pool, huge_required_fails_cleanly_when_none_reserved)
{
	struct weir_pool_conf conf = {.n = 256, .huge = 1};
	long free_huge = hugepages_free();
	struct weir_pool *p = NULL;
	int err = weir_pool_create(&conf, &p);

	if (free_huge >= 1) {
		cr_assert_eq(err, 0, "huge pages free (%ld) but create failed: %d", free_huge, err);
		cr_expect(weir_pool_is_huge(p));
		pools_live++;
		rm(p);
		return;
	}
	cr_expect_null(p, "huge=1 with no huge pages reserved must fail");
	cr_expect_eq(err, -ENOMEM, "err %d", err);
}

struct mt_arg {
	struct weir_pool *p;
	uint32_t id;
	uint32_t fails;
	uint32_t corrupt;
};

static void *mt_worker(void *arg)
{
	struct mt_arg *a = arg;
	struct weir_pkt *pk[32];

	weir_lcore_set_id(a->id);
	for (int round = 0; round < 20000; round++) {
		uint32_t n = 1 + (uint32_t)round % 32;

		if (weir_pool_get_bulk(a->p, pk, n) < 0) {
			a->fails++;
			continue;
		}
		/* Tag and check: two owners of one buffer would clash here. */
		for (uint32_t i = 0; i < n; i++)
			pk[i]->udata64 = a->id;
		sched_yield();
		for (uint32_t i = 0; i < n; i++)
			a->corrupt += pk[i]->udata64 != a->id;
		weir_pool_put_bulk(a->p, pk, n);
	}
	weir_pool_cache_flush(a->p, a->id);
	return NULL;
}

Test(pool, four_lcores_share_one_pool)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 512, .cache_size = 32, .huge = 2});
	struct mt_arg a[4];
	pthread_t th[4];

	for (uint32_t i = 0; i < 4; i++) {
		/* Two lcores and two plain threads: both paths at once. */
		a[i] = (struct mt_arg){.p = p, .id = i < 2 ? i : WEIR_LCORE_ANY};
		cr_assert_eq(pthread_create(&th[i], NULL, mt_worker, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(a[i].fails, 0, "worker %d: %u failed gets", i, a[i].fails);
		cr_expect_eq(a[i].corrupt, 0, "worker %d: a buffer had two owners", i);
	}
	cr_expect_eq(weir_pool_in_use(p), 0);
	cr_expect_eq(weir_ring_count(p->free_ring), 512);
	rm(p);
}

/* --- debug_checks: each of these must abort; skipped in other builds --- */

Test(pool, debug_checks_catch_a_double_put, .signal = SIGABRT, .disabled = !WEIR_DEBUG_CHECKS)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 64, .huge = 2});
	struct weir_pkt *pk[2];

	weir_lcore_set_id(3); /* through the lcore cache, where it would hide */
	cr_assert_eq(weir_pool_get_bulk(p, pk, 2), 0);
	weir_pool_put_bulk(p, pk, 2);
	weir_pool_put_bulk(p, pk + 1, 1);
	cr_assert_fail("a packet went back into its pool twice unnoticed");
}

Test(pool, debug_checks_catch_a_put_into_another_pool, .signal = SIGABRT,
     .disabled = !WEIR_DEBUG_CHECKS)
{
	struct weir_pool *a = mk(&(struct weir_pool_conf){.name = "a", .n = 64, .huge = 2});
	struct weir_pool *b = mk(&(struct weir_pool_conf){.name = "b", .n = 64, .huge = 2});
	struct weir_pkt *pk;

	cr_assert_eq(weir_pool_get_bulk(a, &pk, 1), 0);
	weir_pool_put_bulk(b, &pk, 1);
	cr_assert_fail("a packet of pool a went into pool b unnoticed");
}

Test(pool, debug_checks_catch_a_stray_pointer, .signal = SIGABRT, .disabled = !WEIR_DEBUG_CHECKS)
{
	struct weir_pool *p = mk(&(struct weir_pool_conf){.n = 64, .huge = 2});
	struct weir_pkt *pk;

	cr_assert_eq(weir_pool_get_bulk(p, &pk, 1), 0);
	pk = (struct weir_pkt *)(void *)((char *)pk + 8); /* inside, misaligned */
	weir_pool_put_bulk(p, &pk, 1);
	cr_assert_fail("a pointer into the middle of a packet went into the pool unnoticed");
}
