// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: weir-blk's verification (apps/blk/verify.c), which parses
 * what a device holds (block headers a damaged or foreign device may
 * present) and what a --verify-state file holds.
 *
 * Input: byte 0 picks the case.
 *   0: raw blocks (up to four of 512 bytes, from byte 9) checked against
 *      expectations from bytes 1..8 (each block's generation, exact or at
 *      least). Property: a block that passes holds a header naming its own
 *      LBA, and in the exact case the very generation wanted.
 *   1: round trip: a write of 1..4 blocks filled by blk_verify_fill and
 *      completed, then damaged by (offset, xor) pairs from byte 3 on, then
 *      read back. Property: exactly the blocks whose bytes changed fail.
 *   2: a state file (bytes 1..) opened for --verify-only. Property: it is
 *      accepted only with the magic, this device's geometry and all its
 *      entries, and never claims more durable blocks than there are.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blk/blk.h"

#define NBLK 8
#define LBS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct blk_job job;
static struct blk_app app;
static uint8_t buf[4 * LBS] __attribute__((aligned(64)));

static void setup(void)
{
	memset(&app, 0, sizeof(app));
	app.info.lbs = LBS;
	app.info.nblocks = NBLK;
	app.iodepth = 4;
	app.fsync = 4;
	app.state_fd = -1;
	app.run_key = 0x1234;
	app.verify = true;
	if (blk_state_open(&app) < 0)
		abort();
	job.app = &app;
	job.first = 0;
	job.nblocks = NBLK;
	atomic_store(&job.mismatches, 0);
	if (blk_verify_init(&app, &job) < 0)
		abort();
}

static void teardown(void)
{
	blk_verify_fini(&job);
	free(app.durable);
	app.durable = NULL;
}

static void raw_blocks(const uint8_t *data, size_t size)
{
	uint32_t nb = size > 9 ? (uint32_t)WEIR_MIN((size - 9 + LBS - 1) / LBS, 4) : 1;
	uint64_t lba0 = size > 1 ? data[1] % (NBLK - nb + 1) : 0;

	memset(buf, 0, sizeof(buf));
	if (size > 9)
		memcpy(buf, data + 9, WEIR_MIN(size - 9, sizeof(buf)));
	for (uint32_t k = 0; k < nb; k++) {
		uint64_t lba = lba0 + k, hlba;
		uint32_t want = size > 2 + k ? data[2 + k] % 4 : 0, hgen;
		bool exact = size > 6 + k && (data[6 + k] & 1);
		struct weir_pkt seg = {.buf = buf + k * LBS, .data_len = LBS};
		struct weir_blk_req r = {.op = WEIR_BLK_READ, .lba = lba, .nblocks = 1, .pkt = &seg};

		job.v.gen[lba] = want;
		job.v.exact[lba] = exact;
		if (blk_verify_check(&job, &r))
			continue;
		/* It passed: without a header only where nothing was written,
		 * with one only if it is this block's, of the generation wanted. */
		if (memcmp(seg.buf, "weir-blk", 8)) {
			if (want || exact)
				abort();
			continue;
		}
		memcpy(&hlba, seg.buf + 8, 8);
		memcpy(&hgen, seg.buf + 16, 4);
		if (hlba != lba || (exact ? hgen != want : hgen < want))
			abort();
	}
}

static void round_trip(const uint8_t *data, size_t size)
{
	uint32_t nb = size > 1 ? 1 + data[1] % 4 : 1;
	uint64_t lba = size > 2 ? data[2] % (NBLK - nb + 1) : 0;
	struct weir_pkt seg = {.buf = buf, .data_len = (uint16_t)(nb * LBS)};
	struct weir_blk_req r = {.op = WEIR_BLK_WRITE, .lba = lba, .nblocks = nb, .pkt = &seg};
	uint8_t before[4 * LBS];
	uint32_t changed = 0, bad;

	blk_verify_fill(&job, &r);
	r.seq = 1;
	blk_verify_write_done(&job, &r);
	memcpy(before, buf, sizeof(before));
	for (size_t i = 3; i + 2 < size; i += 3) {
		uint32_t off = ((uint32_t)data[i] << 8 | data[i + 1]) % (nb * LBS);

		buf[off] ^= data[i + 2];
	}
	for (uint32_t k = 0; k < nb; k++)
		changed += memcmp(before + k * LBS, buf + k * LBS, LBS) != 0;
	r.op = WEIR_BLK_READ;
	bad = blk_verify_check(&job, &r);
	if (bad != changed)
		abort();
}

static void state_file(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfd_create("state", 0), err;

	if (fd < 0)
		return;
	if (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	teardown();
	memset(&app, 0, sizeof(app));
	app.info.lbs = LBS;
	app.info.nblocks = NBLK;
	app.state_fd = -1;
	app.verify = app.verify_only = true;
	app.state_path = path;
	err = blk_state_open(&app);
	if (err == 0 && (size - 1 < 64 + NBLK * 4 || memcmp(data + 1, "weirvst1", 8) ||
			 app.state_loaded > NBLK))
		abort();
	if (app.state_fd >= 0)
		close(app.state_fd);
	close(fd);
	free(app.durable);
	setup();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup();
		ready = true;
	}
	if (!size)
		return 0;
	/* Each input starts from fresh expectations. */
	teardown();
	setup();
	switch (data[0] % 3) {
	case 0:
		raw_blocks(data, size);
		break;
	case 1:
		round_trip(data, size);
		break;
	default:
		state_file(data, size);
		break;
	}
	return 0;
}
