// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: block device specs (src/blk.c's driver dispatch and key
 * checks over src/spec.c, the RAID drivers' member lists and options, and
 * the superblocks they write and read back at assembly), the way a typo
 * or a hostile config reaches weir_blk_open().
 *
 * No spec may reach a file: members are "mem:NAME?mb=N" (default 2), a driver of this
 * target's own over memory (a region per NAME, kept for the whole input,
 * so a second line may assemble what the first created). An input is up
 * to four lines, each a spec opened, then if it opened: one write, one read
 * back compared, one flush, closed. Lines naming "uring" are skipped.
 *
 * Properties beyond "does not crash or leak": a refused spec returns a
 * negative errno with a message; an opened device reports a sane geometry
 * (blocks, block size a power of two); what it wrote it reads back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "weir/blk_driver.h"

#define REGIONS 8
#define LINE_MAX_LEN 512
#define MEM_LBS 512u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- mem: a block device over a region of memory ----------------------- */

struct region {
	char name[16];
	uint8_t *bytes;
	uint64_t len;
};

static struct region regions[REGIONS];

struct mem_priv {
	struct region *r;
};

static struct region *region_get(const char *name, uint64_t len)
{
	for (int i = 0; i < REGIONS; i++)
		if (regions[i].bytes && !strcmp(regions[i].name, name))
			return regions[i].len == len ? &regions[i] : NULL;
	for (int i = 0; i < REGIONS; i++) {
		if (regions[i].bytes)
			continue;
		regions[i].bytes = calloc(1, len);
		if (!regions[i].bytes)
			return NULL;
		regions[i].len = len;
		snprintf(regions[i].name, sizeof(regions[i].name), "%s", name);
		return &regions[i];
	}
	return NULL;
}

static int mem_open(struct weir_blk *dev, const struct weir_blk_conf *conf)
{
	struct mem_priv *mp = dev->priv;
	uint64_t mb;
	int err;

	if ((err = weir_blk_arg_u64(dev, "mb", 2, 1, 4, &mb)))
		return err;
	if (strlen(dev->name) >= sizeof(regions[0].name))
		return weir_blk_fail(dev, -EINVAL, "name too long");
	mp->r = region_get(dev->name, mb << 20);
	if (!mp->r)
		return weir_blk_fail(dev, -ENOSPC, "no region for '%s' of %llu MiB", dev->name,
				     (unsigned long long)mb);
	dev->info = (struct weir_blk_info){.nblocks = (mb << 20) / MEM_LBS, .lbs = MEM_LBS,
					   .dev_lbs = MEM_LBS, .mem_align = 1, .max_blocks = 256,
					   .nb_qp = conf->nb_qp ? conf->nb_qp : 1, .qd = 32};
	return weir_blk_alloc_qps(dev, dev->info.nb_qp, dev->info.qd);
}

/* Copies between the region and the request's data (a packet chain or
 * iovecs), to (write) or from (read) the region. */
static void mem_copy(struct region *r, struct weir_blk_req *q, bool write)
{
	uint64_t off = q->lba * MEM_LBS, left = (uint64_t)q->nblocks * MEM_LBS;

	if (q->nb_iov) {
		for (uint16_t i = 0; i < q->nb_iov && left; i++) {
			size_t n = q->iov[i].iov_len < left ? q->iov[i].iov_len : left;

			if (write)
				memcpy(r->bytes + off, q->iov[i].iov_base, n);
			else
				memcpy(q->iov[i].iov_base, r->bytes + off, n);
			off += n;
			left -= n;
		}
		return;
	}
	for (struct weir_pkt *s = q->pkt; s && left; s = s->next) {
		size_t n = s->data_len < left ? s->data_len : left;

		if (write)
			memcpy(r->bytes + off, weir_pkt_data(s), n);
		else
			memcpy(weir_pkt_data(s), r->bytes + off, n);
		off += n;
		left -= n;
	}
}

static uint16_t mem_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n)
{
	struct region *r = ((struct mem_priv *)qp->dev->priv)->r;

	for (uint16_t i = 0; i < n; i++) {
		struct weir_blk_req *q = reqs[i];

		if (q->op == WEIR_BLK_READ || q->op == WEIR_BLK_WRITE)
			mem_copy(r, q, q->op == WEIR_BLK_WRITE);
		else if (q->op == WEIR_BLK_WRITE_ZEROES)
			memset(r->bytes + q->lba * MEM_LBS, 0, (size_t)q->nblocks * MEM_LBS);
		weir_blk_qp_complete(qp, q, 0);
	}
	return n;
}

static uint16_t mem_poll(struct weir_blk_qp *qp, uint16_t budget)
{
	(void)qp;
	(void)budget;
	return 0; /* everything completed in submit */
}

static void mem_close(struct weir_blk *dev)
{
	(void)dev;
}

static const struct weir_blk_param mem_params[] = {
	{"mb", "size in MiB, 1..4 (default 2: RAID data starts at 1 MiB)", NULL},
	{NULL, NULL, NULL},
};

static const struct weir_blk_ops mem_ops = {
	.open = mem_open, .submit = mem_submit, .poll = mem_poll, .close = mem_close,
};

static struct weir_blk_driver mem_driver = {
	.name = "mem", .help = "mem:NAME?mb=N (fuzzing)", .ops = &mem_ops, .params = mem_params,
	.priv_size = sizeof(struct mem_priv),
};

WEIR_BLK_DRIVER_REGISTER(mem_driver)

/* --- the target -------------------------------------------------------- */

/* Runs one request to completion; its status. */
static int run_req(struct weir_blk *dev, struct weir_blk_req *q)
{
	struct weir_blk_req *done;

	if (weir_blk_submit_burst(dev, 0, &q, 1) != 1)
		return q->status ? q->status : -EAGAIN;
	for (int spins = 0; spins < 1000000; spins++)
		if (weir_blk_poll_burst(dev, 0, &done, 1) == 1)
			return done->status;
	abort(); /* a taken request always completes */
}

static void exercise(struct weir_blk *dev)
{
	struct weir_blk_info in;
	static uint8_t wbuf[4096], rbuf[4096];
	struct iovec wv = {.iov_base = wbuf, .iov_len = sizeof(wbuf)};
	struct iovec rv = {.iov_base = rbuf, .iov_len = sizeof(rbuf)};
	struct weir_blk_req w = {0}, r = {0}, fl = {.op = WEIR_BLK_FLUSH};

	weir_blk_info_get(dev, &in);
	if (!in.nblocks || !in.lbs || (in.lbs & (in.lbs - 1)) || in.lbs > sizeof(wbuf))
		abort();
	if (in.features & WEIR_BLK_F_READONLY)
		return;
	for (size_t i = 0; i < sizeof(wbuf); i++)
		wbuf[i] = (uint8_t)(i * 7 + in.nblocks);
	w = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .nb_iov = 1, .iov = &wv,
				  .nblocks = (uint32_t)(sizeof(wbuf) / in.lbs), .lba = 0};
	if (w.nblocks > in.nblocks)
		return;
	if (run_req(dev, &w))
		return; /* refused (too big for the device, say): fine */
	r = w;
	r.op = WEIR_BLK_READ;
	r.iov = &rv;
	if (run_req(dev, &r) == 0 && memcmp(wbuf, rbuf, sizeof(wbuf)))
		abort(); /* read back differs from what was written */
	run_req(dev, &fl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[LINE_MAX_LEN];
	size_t i = 0;

	for (int lines = 0; i < size && lines < 4; lines++) {
		struct weir_blk *dev = NULL;
		char why[WEIR_BLK_ERRSIZE] = "";
		size_t n = 0;
		int err;

		while (i < size && data[i] != '\n' && n < sizeof(line) - 1)
			line[n++] = (char)data[i++];
		line[n] = '\0';
		i++;
		if (strstr(line, "uring") || memchr(line, '\0', n))
			continue; /* only memory: never a file */
		err = weir_blk_open(line, &(struct weir_blk_conf){0}, &dev, why, sizeof(why));
		if (getenv("FUZZ_BLK_SPEC_SAY")) /* what each line did, for seed writers */
			fprintf(stderr, "%s -> %d %s\n", line, err, why);
		if (err > 0 || (err < 0 && (dev || !why[0])))
			abort(); /* refused without a message, or with a device */
		if (err == 0) {
			exercise(dev);
			weir_blk_close(dev);
		}
	}
	for (int k = 0; k < REGIONS; k++) {
		free(regions[k].bytes);
		regions[k] = (struct region){0};
	}
	return 0;
}
