// SPDX-License-Identifier: BSD-3-Clause
/*
 * NVMe passthrough commands for the uring driver: encoding, the SQE, the
 * status mapping and the identify fields. No I/O here (see uring_nvme.h).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "uring_nvme.h"

static void cmd_lba(struct nvme_uring_cmd *c, uint8_t op, uint32_t nsid, uint64_t slba,
		    uint32_t nlb)
{
	memset(c, 0, sizeof(*c));
	c->opcode = op;
	c->nsid = nsid;
	c->cdw10 = (uint32_t)slba;
	c->cdw11 = (uint32_t)(slba >> 32);
	c->cdw12 = (nlb - 1) & 0xffff; /* 0's based */
}

void uring_nvme_rw(struct nvme_uring_cmd *c, bool write, uint32_t nsid, uint64_t slba,
		   uint32_t nlb, const struct iovec *iov, int niov, bool fua)
{
	cmd_lba(c, write ? NVME_CMD_WRITE : NVME_CMD_READ, nsid, slba, nlb);
	if (fua)
		c->cdw12 |= NVME_RW_FUA;
	if (niov == 1) {
		c->addr = (uint64_t)(uintptr_t)iov[0].iov_base;
		c->data_len = (uint32_t)iov[0].iov_len;
		return;
	}
	/* The vectored form carries the iovec count, not the bytes. */
	c->addr = (uint64_t)(uintptr_t)iov;
	c->data_len = (uint32_t)niov;
}

void uring_nvme_flush(struct nvme_uring_cmd *c, uint32_t nsid)
{
	memset(c, 0, sizeof(*c));
	c->opcode = NVME_CMD_FLUSH;
	c->nsid = nsid;
}

void uring_nvme_write_zeroes(struct nvme_uring_cmd *c, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	cmd_lba(c, NVME_CMD_WRITE_ZEROES, nsid, slba, nlb);
}

void uring_nvme_dsm(struct nvme_uring_cmd *c, uint32_t nsid, struct nvme_dsm_range *r,
		    uint64_t slba, uint32_t nlb)
{
	memset(c, 0, sizeof(*c));
	r->cattr = 0;
	r->nlb = nlb;
	r->slba = slba;
	c->opcode = NVME_CMD_DSM;
	c->nsid = nsid;
	c->addr = (uint64_t)(uintptr_t)r;
	c->data_len = sizeof(*r);
	c->cdw10 = 0; /* one range, 0's based */
	c->cdw11 = NVME_DSM_AD;
}

void uring_nvme_prep_sqe(struct io_uring_sqe *sqe, const struct nvme_uring_cmd *c, bool vec,
			 int buf_index, uint64_t user_data)
{
	/* A 128-byte SQE (IORING_SETUP_SQE128): the command sits in its
	 * second half, from sqe->cmd. */
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = 0;
	sqe->flags = IOSQE_FIXED_FILE;
	sqe->cmd_op = vec ? NVME_URING_CMD_IO_VEC : NVME_URING_CMD_IO;
	if (buf_index >= 0 && !vec) {
		sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
		sqe->buf_index = (uint16_t)buf_index;
	}
	sqe->user_data = user_data;
	memcpy(sqe->cmd, c, sizeof(*c));
}

int uring_nvme_errno(int res)
{
	unsigned sct, sc;

	if (res <= 0)
		return res;
	sct = ((unsigned)res >> 8) & 0x7;
	sc = (unsigned)res & 0xff;
	if (sct == 0) {
		switch (sc) {
		case 0x01: return -EOPNOTSUPP; /* invalid opcode */
		case 0x02: return -EINVAL;     /* invalid field */
		case 0x0b: return -ENODEV;     /* invalid namespace */
		case 0x20: return -EROFS;      /* namespace write protected */
		case 0x80: return -ERANGE;     /* LBA out of range */
		case 0x81: return -ENOSPC;     /* capacity exceeded */
		case 0x82: return -EAGAIN;     /* namespace not ready */
		default: return -EIO;
		}
	}
	if (sct == 2) {
		switch (sc) {
		case 0x85: return -EILSEQ; /* compare failure */
		case 0x86: return -EACCES; /* access denied */
		default: return -EIO;      /* write fault, unrecovered read, ... */
		}
	}
	return -EIO;
}

int uring_nvme_parse_id_ns(const uint8_t *id, size_t len, uint64_t *nsze, uint32_t *lbs)
{
	unsigned fmt, lbads;
	uint64_t n = 0;

	if (len < NVME_ID_NS_SIZE)
		return -EINVAL;
	for (int i = 7; i >= 0; i--)
		n = (n << 8) | id[i];
	/* FLBAS bits 3:0, and bits 6:5 as the high bits past 16 formats. */
	fmt = (id[26] & 0xf) | ((unsigned)(id[26] >> 5 & 0x3) << 4);
	if (fmt > id[25] || fmt >= 64)
		return -EINVAL;
	lbads = id[128 + 4 * fmt + 2];
	/* The spec allows 2^9 and up; weir takes up to 64 KiB. */
	if (lbads < 9 || lbads > 16 || !n)
		return -EINVAL;
	*nsze = n;
	*lbs = 1u << lbads;
	return 0;
}

bool uring_nvme_path(const char *path)
{
	const char *b = strrchr(path, '/');
	const char *p = b ? b + 1 : path;

	if (strncmp(p, "ng", 2) || !isdigit((unsigned char)p[2]))
		return false;
	for (p += 2; isdigit((unsigned char)*p); p++)
		;
	if (*p++ != 'n' || !isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++)
		;
	return *p == '\0';
}
