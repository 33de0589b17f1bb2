// SPDX-License-Identifier: BSD-3-Clause
/*
 * The block-path tool test_blk.sh drives on loop devices and files: each
 * command opens a block spec, does one thing, checks it and exits 0, or
 * prints what went wrong and exits 1.
 *
 *   test_blk rw SPEC GEN          write every block (mixed request sizes,
 *                                 16 in flight), flush, read all back
 *   test_blk verify SPEC GEN      read every block back
 *   test_blk refuse SPEC NEEDLE   the open must fail, saying NEEDLE
 *   test_blk ro SPEC              read-only open: reads work, writes refused
 *   test_blk pastend SPEC         a request past the end is refused
 *   test_blk full SPEC            write until the file system under it is
 *                                 full: ENOSPC said, what was written intact
 *   test_blk degrade SPEC SLOT CMD SPARE
 *                                 RAID: write, run CMD (which breaks member
 *                                 SLOT), keep writing, verify, replace SLOT
 *                                 with SPARE, rebuild, fail another member,
 *                                 verify, write everything with generation 7
 *
 * Every block carries a pattern of its byte offset and a generation, so a
 * block read from the wrong place or left stale never passes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/blk.h"
#include "weir/clock.h"
#include "weir/lcore.h"

static struct weir_pool *pool;
static struct weir_blk *dev;
static struct weir_blk_info info;

#define FAIL(...)                                                      \
	do {                                                           \
		fprintf(stderr, "test_blk: " __VA_ARGS__);             \
		fputc('\n', stderr);                                   \
		exit(1);                                               \
	} while (0)

static uint64_t word(uint64_t off, uint32_t gen)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)gen << 40 | gen);

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

static void fill(struct weir_pkt *p, uint64_t off, uint32_t gen)
{
	for (; p; p = p->next) {
		for (uint32_t i = 0; i + 8 <= p->data_len; i += 8) {
			uint64_t w = word(off + i, gen);

			memcpy(weir_pkt_data(p) + i, &w, 8);
		}
		off += p->data_len;
	}
}

/* Byte offset (from the device's start) of the first bad word, or -1. */
static long long check(const struct weir_pkt *p, uint64_t off, uint32_t gen)
{
	for (; p; p = p->next) {
		for (uint32_t i = 0; i + 8 <= p->data_len; i += 8) {
			uint64_t w = word(off + i, gen);

			if (memcmp(weir_pkt_data(p) + i, &w, 8))
				return (long long)(off + i);
		}
		off += p->data_len;
	}
	return -1;
}

static void open_dev(const char *spec)
{
	char why[WEIR_BLK_ERRSIZE];
	int err = weir_blk_open(spec, &(struct weir_blk_conf){.pool = pool}, &dev, why,
				sizeof(why));

	if (err)
		FAIL("open: %s", why);
	weir_blk_info_get(dev, &info);
	if (weir_blk_note(dev)[0])
		printf("note: %s\n", weir_blk_note(dev));
}

static void run(struct weir_blk_req **r, uint16_t n)
{
	struct weir_blk_req *done[32];
	uint16_t sent = 0, got = 0;

	while (got < n) {
		if (sent < n)
			sent += weir_blk_submit_burst(dev, 0, r + sent, (uint16_t)(n - sent));
		got += weir_blk_poll_burst(dev, 0, done, 32);
	}
}

/* Writes or reads [lba, end) in bursts of 16; returns the first failed
 * status (and its lba in *at), or 0. */
static int sweep(uint8_t op, uint64_t lba, uint64_t end, uint32_t gen, uint64_t *at)
{
	static const uint32_t sizes[] = {8, 1, 128, 33, 256, 64, 7, 200};
	struct weir_blk_req reqs[16], *rp[16];
	unsigned si = 0;
	int bad = 0;

	while (lba < end && !bad) {
		int n = 0;

		for (; n < 16 && lba < end; n++) {
			uint32_t sz = sizes[si++ % 8] * 512 / info.lbs;
			uint32_t want = sz ? sz : 1;
			uint32_t k = (uint32_t)WEIR_MIN((uint64_t)want, end - lba);

			reqs[n] = (struct weir_blk_req){.op = op, .lba = lba, .nblocks = k};
			if (weir_blk_buf_alloc(pool, k * info.lbs, &reqs[n].pkt))
				FAIL("out of buffers");
			if (op == WEIR_BLK_WRITE)
				fill(reqs[n].pkt, lba * info.lbs, gen);
			rp[n] = &reqs[n];
			lba += k;
		}
		run(rp, (uint16_t)n);
		for (int i = 0; i < n; i++) {
			long long b;

			if (reqs[i].status && !bad) {
				bad = reqs[i].status;
				*at = reqs[i].lba;
			} else if (!reqs[i].status && op == WEIR_BLK_READ &&
				   (b = check(reqs[i].pkt, reqs[i].lba * info.lbs, gen)) >= 0) {
				FAIL("%s: byte %lld is not generation %u", weir_blk_label(dev), b, gen);
			}
			weir_pkt_free(reqs[i].pkt);
		}
	}
	return bad;
}

static void all(uint8_t op, uint32_t gen)
{
	uint64_t at = 0;
	int err = sweep(op, 0, info.nblocks, gen, &at);

	if (err)
		FAIL("%s lba %llu: %s (%s)", weir_blk_op_name(op), (unsigned long long)at,
		     strerror(-err), weir_blk_qp_error(dev, 0));
}

static int sync_op(uint8_t op, uint64_t lba, uint32_t nb)
{
	struct weir_blk_req r = {.op = op, .lba = lba, .nblocks = nb};
	int err;

	if (op == WEIR_BLK_READ || op == WEIR_BLK_WRITE)
		if (weir_blk_buf_alloc(pool, nb * info.lbs, &r.pkt))
			FAIL("out of buffers");
	err = weir_blk_sync(dev, 0, &r);
	weir_pkt_free(r.pkt);
	return err;
}

static void expect_error(int got, int want, const char *needle)
{
	const char *why = weir_blk_qp_error(dev, 0);

	if (got != want || !strstr(why, needle))
		FAIL("got %d (%s), want %d saying '%s'", got, why, want, needle);
	printf("refused as it should be: %s\n", why);
}

static void cmd_full(void)
{
	uint64_t at = 0;
	int err = sweep(WEIR_BLK_WRITE, 0, info.nblocks, 1, &at);

	if (err != -ENOSPC)
		FAIL("wrote the whole device without ENOSPC (got %d): is it really over a small "
		     "file system?", err);
	if (!strstr(weir_blk_qp_error(dev, 0), "file system under it is full"))
		FAIL("ENOSPC without saying why: %s", weir_blk_qp_error(dev, 0));
	printf("full at lba %llu of %llu: %s\n", (unsigned long long)at,
	       (unsigned long long)info.nblocks, weir_blk_qp_error(dev, 0));
	/* Bursts are 16 deep: what completed before the first error stands. */
	at = at > 4096 ? at - 4096 : 0;
	if ((err = sweep(WEIR_BLK_READ, 0, at, 1, &at)))
		FAIL("a block written before the disk filled reads back wrong: %d", err);
}

static struct weir_blk_raid_status raid_status(void)
{
	struct weir_blk_raid_status st;

	if (weir_blk_raid_status(dev, &st))
		FAIL("not a RAID array");
	return st;
}

static void cmd_degrade(unsigned slot, const char *cmd, const char *spare)
{
	struct weir_blk_raid_status st;
	struct weir_blk_req *done[8];
	char why[WEIR_BLK_ERRSIZE];
	weir_ns_t t0;
	unsigned other = slot == 0 ? 1 : 0;

	all(WEIR_BLK_WRITE, 1);
	printf("running: %s\n", cmd);
	if (system(cmd) != 0)
		FAIL("'%s' failed", cmd);
	all(WEIR_BLK_WRITE, 2); /* the failure shows up here, and writes go on */
	st = raid_status();
	if (st.m[slot].state != WEIR_BLK_MEMBER_FAILED)
		FAIL("member %u is %u after its device broke, not failed", slot, st.m[slot].state);
	printf("member %u failed: %s; array degraded\n", slot, st.m[slot].why);
	all(WEIR_BLK_READ, 2);
	if (weir_blk_raid_replace(dev, slot, spare, why, sizeof(why)))
		FAIL("replace: %s", why);
	t0 = weir_clock_now();
	while ((st = raid_status()).rebuild_slot >= 0)
		weir_blk_poll_burst(dev, 0, done, 8);
	printf("rebuilt member %u in %.0f ms\n", slot,
	       (double)(weir_clock_now() - t0) / WEIR_NS_PER_MS);
	if (weir_blk_raid_fail(dev, other, why, sizeof(why)))
		FAIL("fail %u: %s", other, why);
	all(WEIR_BLK_READ, 2); /* member `other`'s blocks now come from the rebuilt one */
	all(WEIR_BLK_WRITE, 7);
	printf("verified every block with member %u out\n", other);
}

int main(int argc, char **argv)
{
	int err;

	if (argc < 3)
		FAIL("usage: see the comment at the top of test_blk.c");
	weir_lcore_set_id(0);
	err = weir_pool_create(&(struct weir_pool_conf){.name = "test_blk", .n = 4096,
							 .buf_size = 4096, .huge = -1}, &pool);
	if (err)
		FAIL("pool: %s", strerror(-err));
	if (!strcmp(argv[1], "refuse") && argc == 4) {
		char why[WEIR_BLK_ERRSIZE];

		err = weir_blk_open(argv[2], &(struct weir_blk_conf){.pool = pool}, &dev, why,
				    sizeof(why));
		if (!err || !strstr(why, argv[3]))
			FAIL("open %s: %d '%s', expected a refusal saying '%s'", argv[2], err, why,
			     argv[3]);
		printf("refused as it should be: %s\n", why);
		weir_pool_destroy(pool);
		return 0;
	}
	open_dev(argv[2]);
	if (!strcmp(argv[1], "rw") && argc == 4) {
		all(WEIR_BLK_WRITE, (uint32_t)atoi(argv[3]));
		if ((err = sync_op(WEIR_BLK_FLUSH, 0, 0)))
			FAIL("flush: %s", strerror(-err));
		all(WEIR_BLK_READ, (uint32_t)atoi(argv[3]));
	} else if (!strcmp(argv[1], "verify") && argc == 4) {
		all(WEIR_BLK_READ, (uint32_t)atoi(argv[3]));
	} else if (!strcmp(argv[1], "ro")) {
		all(WEIR_BLK_READ, 1);
		expect_error(sync_op(WEIR_BLK_WRITE, 0, 1), -EROFS, "open read-only");
	} else if (!strcmp(argv[1], "pastend")) {
		expect_error(sync_op(WEIR_BLK_READ, info.nblocks - 1, 2), -ERANGE, "past the end");
	} else if (!strcmp(argv[1], "full")) {
		cmd_full();
	} else if (!strcmp(argv[1], "degrade") && argc == 6) {
		cmd_degrade((unsigned)atoi(argv[3]), argv[4], argv[5]);
	} else {
		FAIL("unknown command %s", argv[1]);
	}
	weir_blk_close(dev);
	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(pool, i);
	if (weir_pool_in_use(pool))
		FAIL("leaked %u pool buffers", weir_pool_in_use(pool));
	weir_pool_destroy(pool);
	printf("ok: %s %s\n", argv[1], argv[2]);
	return 0;
}
