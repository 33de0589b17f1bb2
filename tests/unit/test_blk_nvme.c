// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the uring driver's NVMe passthrough (pmd/uring_nvme.c)
 * against a fake namespace: a block array in memory that executes the
 * struct nvme_uring_cmd the encoder builds the way the NVM command set
 * says a controller must (starting LBA in CDW10-11, 0's based block count
 * in CDW12, FUA bit 30, single buffer or iovec array, Dataset Management
 * ranges), and returns NVMe status codes. Covers data round trips through
 * the encoder, field layouts, the 128-byte SQE, status to errno, the
 * identify-namespace parser and the device name test. On a machine with an
 * NVMe generic device one read-only test opens it for real; here it skips.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uring_nvme.h"
#include "weir/blk.h"

#define FAKE_LBS 512
#define FAKE_NSZE 256

struct fake_ns {
	uint8_t data[FAKE_NSZE * FAKE_LBS];
	unsigned fua_writes, flushes;
};

static struct fake_ns ns;

/* Moves len bytes between the namespace at byte off and the command's
 * buffers: 0, or the status for a bad data length. */
static int fake_xfer(const struct nvme_uring_cmd *c, bool vec, bool write, uint64_t off,
		     uint64_t len)
{
	const struct iovec one = {(void *)(uintptr_t)c->addr, c->data_len};
	const struct iovec *iov = vec ? (const struct iovec *)(uintptr_t)c->addr : &one;
	unsigned n = vec ? c->data_len : 1;
	uint64_t have = 0;

	for (unsigned i = 0; i < n; i++)
		have += iov[i].iov_len;
	if (have != len)
		return 0x02; /* invalid field */
	for (unsigned i = 0; i < n; i++) {
		if (write)
			memcpy(ns.data + off, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, ns.data + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return 0;
}

static int fake_exec(const struct nvme_uring_cmd *c, bool vec)
{
	uint64_t slba = c->cdw10 | (uint64_t)c->cdw11 << 32;
	uint32_t nlb = (c->cdw12 & 0xffff) + 1;
	const struct nvme_dsm_range *r;

	if (c->nsid != 1)
		return 0x0b;
	switch (c->opcode) {
	case NVME_CMD_FLUSH:
		ns.flushes++;
		return 0;
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
	case NVME_CMD_WRITE_ZEROES:
		if (slba + nlb > FAKE_NSZE)
			return 0x80; /* LBA out of range */
		if (c->opcode == NVME_CMD_WRITE_ZEROES) {
			memset(ns.data + slba * FAKE_LBS, 0, (size_t)nlb * FAKE_LBS);
			return 0;
		}
		ns.fua_writes += c->opcode == NVME_CMD_WRITE && (c->cdw12 & NVME_RW_FUA);
		return fake_xfer(c, vec, c->opcode == NVME_CMD_WRITE, slba * FAKE_LBS,
				 (uint64_t)nlb * FAKE_LBS);
	case NVME_CMD_DSM:
		r = (const struct nvme_dsm_range *)(uintptr_t)c->addr;
		if (c->data_len != sizeof(*r) || (c->cdw10 & 0xff) != 0)
			return 0x02;
		if (r->slba + r->nlb > FAKE_NSZE)
			return 0x80;
		if (c->cdw11 & NVME_DSM_AD) /* this fake reads deallocated blocks as 0 */
			memset(ns.data + r->slba * FAKE_LBS, 0, (size_t)r->nlb * FAKE_LBS);
		return 0;
	default:
		return 0x01; /* invalid opcode */
	}
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

Test(blk_nvme, data_written_through_the_encoder_reads_back_single_and_vectored)
{
	static uint8_t w[8 * FAKE_LBS], r[8 * FAKE_LBS];
	struct iovec one = {w, sizeof(w)};
	struct iovec three[3] = {{r, 512}, {r + 512, 2048}, {r + 2560, 1536}};
	struct nvme_uring_cmd c;

	memset(&ns, 0, sizeof(ns));
	fill(w, sizeof(w), 3);
	uring_nvme_rw(&c, true, 1, 100, 8, &one, 1, true);
	cr_assert_eq(fake_exec(&c, false), 0);
	cr_assert_eq(ns.fua_writes, 1);
	uring_nvme_rw(&c, false, 1, 100, 8, three, 3, false);
	cr_assert_eq(c.data_len, 3, "the vectored form carries the iovec count");
	cr_assert_eq(fake_exec(&c, true), 0);
	cr_assert_arr_eq(r, w, sizeof(w));
	uring_nvme_flush(&c, 1);
	cr_assert_eq(fake_exec(&c, false), 0);
	cr_assert_eq(ns.flushes, 1);
}

Test(blk_nvme, write_zeroes_and_deallocate_clear_only_their_range)
{
	static uint8_t w[16 * FAKE_LBS];
	struct iovec one = {w, sizeof(w)};
	struct nvme_dsm_range range;
	struct nvme_uring_cmd c;

	memset(&ns, 0, sizeof(ns));
	fill(w, sizeof(w), 9);
	uring_nvme_rw(&c, true, 1, 0, 16, &one, 1, false);
	cr_assert_eq(fake_exec(&c, false), 0);
	uring_nvme_write_zeroes(&c, 1, 2, 3);
	cr_assert_eq(fake_exec(&c, false), 0);
	uring_nvme_dsm(&c, 1, &range, 10, 2);
	cr_assert_eq(fake_exec(&c, false), 0);
	for (unsigned b = 0; b < 16; b++) {
		bool zero = (b >= 2 && b < 5) || (b >= 10 && b < 12);

		for (unsigned i = 0; i < FAKE_LBS; i++)
			cr_assert_eq(ns.data[b * FAKE_LBS + i], zero ? 0 : w[b * FAKE_LBS + i],
				     "block %u byte %u", b, i);
	}
}

Test(blk_nvme, fields_are_where_the_command_set_puts_them)
{
	struct iovec v = {(void *)0x1000, 4096};
	struct nvme_uring_cmd c;

	uring_nvme_rw(&c, true, 7, 0x123456789abULL, 8, &v, 1, true);
	cr_assert_eq(c.opcode, 0x01);
	cr_assert_eq(c.nsid, 7);
	cr_assert_eq(c.cdw10, 0x456789ab);
	cr_assert_eq(c.cdw11, 0x123);
	cr_assert_eq(c.cdw12, (1u << 30) | 7, "FUA bit 30, 0's based count");
	cr_assert_eq(c.addr, 0x1000);
	cr_assert_eq(c.data_len, 4096);
	uring_nvme_rw(&c, false, 7, 5, 65536, &v, 1, false);
	cr_assert_eq(c.opcode, 0x02);
	cr_assert_eq(c.cdw12, 0xffff, "65536 blocks is the most one command carries");
}

Test(blk_nvme, the_sqe_is_a_uring_cmd_on_the_registered_file)
{
	struct io_uring_sqe sqe[2];
	struct nvme_uring_cmd c, got;
	struct iovec v = {(void *)0x2000, 512};

	memset(sqe, 0xff, sizeof(sqe));
	uring_nvme_rw(&c, false, 1, 9, 1, &v, 1, false);
	uring_nvme_prep_sqe(sqe, &c, false, 3, 42);
	cr_assert_eq(sqe->opcode, IORING_OP_URING_CMD);
	cr_assert_eq(sqe->fd, 0);
	cr_assert_eq(sqe->flags, IOSQE_FIXED_FILE);
	cr_assert_eq(sqe->cmd_op, NVME_URING_CMD_IO);
	cr_assert_eq(sqe->uring_cmd_flags, IORING_URING_CMD_FIXED);
	cr_assert_eq(sqe->buf_index, 3);
	cr_assert_eq(sqe->user_data, 42);
	memcpy(&got, sqe->cmd, sizeof(got));
	cr_assert_arr_eq(&got, &c, sizeof(c));
	uring_nvme_prep_sqe(sqe, &c, true, -1, 43);
	cr_assert_eq(sqe->cmd_op, NVME_URING_CMD_IO_VEC);
	cr_assert_eq(sqe->uring_cmd_flags, 0);
}

Test(blk_nvme, status_codes_become_errnos)
{
	struct iovec v = {NULL, 0};
	struct nvme_uring_cmd c;

	cr_assert_eq(uring_nvme_errno(0), 0);
	cr_assert_eq(uring_nvme_errno(-EIO), -EIO);
	uring_nvme_rw(&c, false, 1, FAKE_NSZE - 1, 2, &v, 1, false);
	cr_assert_eq(uring_nvme_errno(fake_exec(&c, false)), -ERANGE);
	c.nsid = 2;
	cr_assert_eq(uring_nvme_errno(fake_exec(&c, false)), -ENODEV);
	c.opcode = 0x7f;
	c.nsid = 1;
	cr_assert_eq(uring_nvme_errno(fake_exec(&c, false)), -EOPNOTSUPP);
	cr_assert_eq(uring_nvme_errno(0x81), -ENOSPC);
	cr_assert_eq(uring_nvme_errno(0x281), -EIO, "unrecovered read error (media)");
	cr_assert_eq(uring_nvme_errno(0x4000 | 0x80), -ERANGE, "DNR bit ignored");
	cr_assert_eq(uring_nvme_errno(0x286), -EACCES);
	cr_assert_eq(uring_nvme_errno(0x102), -EIO, "command specific: an I/O error");
}

Test(blk_nvme, identify_namespace_gives_size_and_block)
{
	static uint8_t id[NVME_ID_NS_SIZE];
	uint64_t nsze;
	uint32_t lbs;

	memset(id, 0, sizeof(id));
	id[0] = 0xe8, id[1] = 0x03;    /* 1000 blocks */
	id[25] = 1;                    /* two formats (0's based) */
	id[26] = 1;                    /* format 1 in use */
	id[128 + 2] = 9;               /* format 0: 512 B */
	id[128 + 4 + 2] = 12;          /* format 1: 4 KiB */
	cr_assert_eq(uring_nvme_parse_id_ns(id, sizeof(id), &nsze, &lbs), 0);
	cr_assert_eq(nsze, 1000);
	cr_assert_eq(lbs, 4096);
	cr_assert_eq(uring_nvme_parse_id_ns(id, 100, &nsze, &lbs), -EINVAL);
	id[26] = 2;
	cr_assert_eq(uring_nvme_parse_id_ns(id, sizeof(id), &nsze, &lbs), -EINVAL,
		     "a format past the count");
	id[26] = 0;
	id[128 + 2] = 8;
	cr_assert_eq(uring_nvme_parse_id_ns(id, sizeof(id), &nsze, &lbs), -EINVAL, "256 B blocks");
}

Test(blk_nvme, generic_device_names)
{
	cr_assert(uring_nvme_path("/dev/ng0n1"));
	cr_assert(uring_nvme_path("/dev/ng12n3"));
	cr_assert(!uring_nvme_path("/dev/nvme0n1"));
	cr_assert(!uring_nvme_path("/dev/ng0"));
	cr_assert(!uring_nvme_path("/dev/ng0n1p1"));
	cr_assert(!uring_nvme_path("/dev/ngn1"));
}

Test(blk_nvme, a_real_generic_device_reads_read_only_or_the_test_skips)
{
	struct weir_blk *dev;
	char why[WEIR_BLK_ERRSIZE], spec[96];
	static uint8_t buf[4096] __attribute__((aligned(4096)));
	struct iovec v = {buf, 0};
	struct weir_blk_info in;
	struct weir_blk_req r = {.op = WEIR_BLK_READ, .lba = 0, .nblocks = 1, .iov = &v,
				 .nb_iov = 1};
	glob_t g;

	if (glob("/dev/ng*n*", 0, NULL, &g) != 0) {
		cr_skip_test("no NVMe generic device (/dev/ngXnY) here: passthrough is checked "
			     "against the fake namespace only");
	}
	/* Read-only: never write to a device this test did not create. */
	snprintf(spec, sizeof(spec), "uring:%s?ro=1", g.gl_pathv[0]);
	globfree(&g);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), 0, "%s", why);
	weir_blk_info_get(dev, &in);
	cr_assert(in.features & WEIR_BLK_F_NVME);
	v.iov_len = in.lbs;
	cr_assert_eq(weir_blk_sync(dev, 0, &r), 0, "%s", weir_blk_qp_error(dev, 0));
	weir_blk_close(dev);
}
