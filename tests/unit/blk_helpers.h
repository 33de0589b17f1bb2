/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the block suites (test_blk.c, test_raid.c): one pool
 * of 4 KiB buffers with a leak check in fini, scratch files that remove
 * themselves, a data pattern that names its own byte offset and
 * generation (so data read from the wrong place, or stale data, never
 * passes), and synchronous request helpers.
 */
#ifndef WEIR_TEST_BLK_HELPERS_H
#define WEIR_TEST_BLK_HELPERS_H

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/blk.h"
#include "weir/lcore.h"
#include "weir/pkt.h"

static struct weir_pool *pool;

static inline void blk_pool_init(void)
{
	int err;

	weir_lcore_set_id(WEIR_LCORE_ANY);
	err = weir_pool_create(&(struct weir_pool_conf){.name = "blk", .n = 4096,
							 .buf_size = 4096, .huge = 2}, &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
}

static inline void blk_pool_fini(void)
{
	uint32_t left;

	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(pool, i);
	left = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (left) {
		cr_log_error("leaked %u pool buffers", left);
		abort();
	}
}

/* A file of `size` bytes in dir (tmpfs: /dev/shm; a disk: /tmp); the path
 * goes into buf. */
static inline void scratch_file(const char *dir, uint64_t size, char *buf, size_t len)
{
	int fd;

	snprintf(buf, len, "%s/weir-blk-test-XXXXXX", dir);
	fd = mkstemp(buf);
	cr_assert(fd >= 0, "mkstemp in %s", dir);
	cr_assert_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static inline uint64_t pattern_word(uint64_t off, uint32_t gen)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)gen << 40 | gen);

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

/* Fills len bytes that sit at byte offset off of a device. */
static inline void pattern_fill(uint8_t *p, size_t len, uint64_t off, uint32_t gen)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w = pattern_word(off + i, gen);

		memcpy(p + i, &w, 8);
	}
}

/* Offset of the first byte that does not match, or -1. */
static inline long pattern_find_bad(const uint8_t *p, size_t len, uint64_t off, uint32_t gen)
{
	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w = pattern_word(off + i, gen);

		if (memcmp(p + i, &w, 8))
			return (long)i;
	}
	return -1;
}

static inline void pkt_pattern(struct weir_pkt *p, uint64_t off, uint32_t gen)
{
	for (struct weir_pkt *s = p; s; s = s->next) {
		pattern_fill(weir_pkt_data(s), s->data_len, off, gen);
		off += s->data_len;
	}
}

static inline long pkt_find_bad(const struct weir_pkt *p, uint64_t off, uint32_t gen)
{
	long base = 0;

	for (const struct weir_pkt *s = p; s; s = s->next) {
		long b = pattern_find_bad(weir_pkt_data(s), s->data_len, off, gen);

		if (b >= 0)
			return base + b;
		off += s->data_len;
		base += s->data_len;
	}
	return -1;
}

static inline bool pkt_is_zero(const struct weir_pkt *p)
{
	for (const struct weir_pkt *s = p; s; s = s->next)
		for (uint16_t i = 0; i < s->data_len; i++)
			if (weir_pkt_data(s)[i])
				return false;
	return true;
}

static inline struct weir_blk *blk_open_ok(const char *spec, uint16_t nb_qp)
{
	struct weir_blk_conf conf = {.pool = pool, .nb_qp = nb_qp};
	struct weir_blk *dev = NULL;
	char why[WEIR_BLK_ERRSIZE];
	int err = weir_blk_open(spec, &conf, &dev, why, sizeof(why));

	cr_assert_eq(err, 0, "open %s: %d %s", spec, err, why);
	return dev;
}

/* Submits every request and polls until all came back. */
static inline void blk_run(struct weir_blk *dev, uint16_t qp, struct weir_blk_req **reqs,
			   uint16_t n)
{
	struct weir_blk_req *done[64];
	struct weir_blk_info in;
	uint16_t sent = 0, got = 0;
	unsigned spins = 0;

	weir_blk_info_get(dev, &in);
	while (got < n) {
		if (sent < n)
			sent += weir_blk_submit_burst(dev, qp, reqs + sent, (uint16_t)(n - sent));
		/* A device that can sleep for completions is waited for. */
		if (in.features & WEIR_BLK_F_WAIT)
			got += weir_blk_poll_wait(dev, qp, done, 64, WEIR_NS_PER_SEC);
		else
			got += weir_blk_poll_burst(dev, qp, done, 64);
		cr_assert(++spins < 50000000, "requests never completed (%u of %u)", got, n);
		if (spins % 1024 == 0)
			usleep(10);
	}
}

/* One synchronous read or write of nblocks at lba with pattern gen; 0
 * or the request's status. Reads check the pattern. */
static inline int blk_rw(struct weir_blk *dev, uint16_t qp, uint8_t op, uint64_t lba,
			 uint32_t nblocks, uint32_t gen)
{
	struct weir_blk_info in;
	struct weir_blk_req r = {.op = op, .lba = lba, .nblocks = nblocks};
	struct weir_pkt *p;
	int st;

	weir_blk_info_get(dev, &in);
	cr_assert_eq(weir_blk_buf_alloc(pool, nblocks * in.lbs, &p), 0);
	if (op == WEIR_BLK_WRITE)
		pkt_pattern(p, lba * in.lbs, gen);
	else
		memset(weir_pkt_data(p), 0xee, p->data_len);
	r.pkt = p;
	st = weir_blk_sync(dev, qp, &r);
	if (!st && op == WEIR_BLK_READ) {
		long bad = pkt_find_bad(p, lba * in.lbs, gen);

		cr_expect_eq(bad, -1, "%s: lba %llu+%u: byte %ld differs from generation %u",
			     weir_blk_label(dev), (unsigned long long)lba, nblocks, bad, gen);
		if (bad >= 0)
			st = -EILSEQ;
	}
	weir_pkt_free(p);
	return st;
}

/* The device's extended statistic name; fails the test when it has none. */
static inline uint64_t xstat(struct weir_blk *dev, const char *name)
{
	struct weir_blk_xstat xs[32];
	int n = weir_blk_xstats_get(dev, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	cr_assert_fail("no xstat %s", name);
	return 0;
}

static inline int blk_op(struct weir_blk *dev, uint16_t qp, uint8_t op, uint64_t lba,
			 uint32_t nblocks)
{
	struct weir_blk_req r = {.op = op, .lba = lba, .nblocks = nblocks};

	return weir_blk_sync(dev, qp, &r);
}

#endif
