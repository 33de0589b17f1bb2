/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe passthrough for the uring driver: NVM command set commands for
 * IORING_OP_URING_CMD on an NVMe generic character device (/dev/ngXnY),
 * the identify-namespace fields the driver needs, and NVMe status to errno.
 * Pure encoding and decoding with no I/O, so tests check it against a fake
 * namespace (tests/unit/test_blk_nvme.c) on machines without NVMe.
 *
 * References: NVM Express NVM Command Set Specification 1.0 (Read 02h,
 * Write 01h, Flush 00h, Write Zeroes 08h, Dataset Management 09h; CDW10-11
 * starting LBA, CDW12 bits 15:0 number of blocks minus one, bit 30 FUA),
 * NVMe Base 2.0 (Identify CNS 00h: NSZE at byte 0, FLBAS at 26, LBA formats
 * from byte 128; status: SCT bits 10:8, SC bits 7:0).
 */
#ifndef WEIR_PMD_URING_NVME_H
#define WEIR_PMD_URING_NVME_H

#include <liburing.h>
#include <linux/nvme_ioctl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
	NVME_CMD_FLUSH = 0x00,
	NVME_CMD_WRITE = 0x01,
	NVME_CMD_READ = 0x02,
	NVME_CMD_WRITE_ZEROES = 0x08,
	NVME_CMD_DSM = 0x09,
	NVME_ADMIN_IDENTIFY = 0x06,
};

#define NVME_RW_FUA (1u << 30)
#define NVME_DSM_AD (1u << 2) /* attribute: deallocate */
#define NVME_ID_NS_SIZE 4096

/* One Dataset Management range (little-endian on the wire). */
struct nvme_dsm_range {
	uint32_t cattr;
	uint32_t nlb;
	uint64_t slba;
};

/* Read or write of nlb (>= 1) blocks at slba. One iovec: the buffer's
 * address and length; several: the iovec array and its count, for
 * NVME_URING_CMD_IO_VEC. */
void uring_nvme_rw(struct nvme_uring_cmd *c, bool write, uint32_t nsid, uint64_t slba,
		   uint32_t nlb, const struct iovec *iov, int niov, bool fua);
void uring_nvme_flush(struct nvme_uring_cmd *c, uint32_t nsid);
void uring_nvme_write_zeroes(struct nvme_uring_cmd *c, uint32_t nsid, uint64_t slba, uint32_t nlb);
/* Deallocate (discard) one range; r must stay valid until completion. */
void uring_nvme_dsm(struct nvme_uring_cmd *c, uint32_t nsid, struct nvme_dsm_range *r,
		    uint64_t slba, uint32_t nlb);

/* Fills a 128-byte SQE for command c on registered file 0; buf_index >= 0
 * uses that registered buffer (IORING_URING_CMD_FIXED). */
void uring_nvme_prep_sqe(struct io_uring_sqe *sqe, const struct nvme_uring_cmd *c, bool vec,
			 int buf_index, uint64_t user_data);

/* A completion's res (negative errno, 0, or a positive NVMe status) as 0
 * or a negative errno. */
int uring_nvme_errno(int res);

/* Namespace size (blocks) and block size from an Identify Namespace page:
 * 0, or -EINVAL (short page, or an LBA format the spec does not allow). */
int uring_nvme_parse_id_ns(const uint8_t *id, size_t len, uint64_t *nsze, uint32_t *lbs);

/* True for an NVMe generic character device path, "/dev/ngXnY". */
bool uring_nvme_path(const char *path);

#endif
