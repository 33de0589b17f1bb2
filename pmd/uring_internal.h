/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The uring driver's state, shared by uring.c (opening: the file, its
 * geometry, the rings) and uring_io.c (the fast path: SQEs, completions).
 */
#ifndef WEIR_PMD_URING_INTERNAL_H
#define WEIR_PMD_URING_INTERNAL_H

#include <liburing.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "uring_nvme.h"
#include "weir/blk_driver.h"

#define URING_MAX_REGIONS 8
#define URING_REGION_MAX (1UL << 30) /* io_uring registers at most 1 GiB per buffer */
#define URING_MERGE_MAX (1u << 20)
#define URING_NVME_MERGE_MAX (128u << 10)
#define URING_AUX (1ULL << 32) /* user_data bit: the I/O went to the aux ring */
#define URING_TRIES 16
/* Vectored I/O on registered buffers (Linux 6.15; liburing 2.3's headers
 * stop before them): each iovec inside the one registered buffer named. */
#define URING_OP_READV_FIXED 60
#define URING_OP_WRITEV_FIXED 61
/* spin='s default: a QD1 read on the virtio disk takes 35-45 us, on tmpfs a
 * few; longer ones (a busy device) are slept for. */
#define URING_SPIN_US 100

enum { ZERO_RANGE = 0, ZERO_PUNCH, ZERO_NONE };

struct uring_priv {
	int fd;
	bool bdev, nvme, direct, sqpoll, iopoll, iopoll_force, fixed, merge, wait;
	bool defer; /* rings SINGLE_ISSUER|DEFER_TASKRUN, enabled by their first submitter */
	bool inline_io; /* inline=: reads and writes are system calls in submit */
	bool vec_fixed; /* the kernel has READV_FIXED/WRITEV_FIXED (probed at open) */
	int sq_cpu; /* the SQPOLL thread's CPU, -1: the scheduler's choice */
	uint32_t lbs_shift;
	uint32_t nsid, nvme_shift; /* NVMe: namespace, log2(lbs / namespace block) */
	uint32_t merge_max;
	uint32_t batch;    /* most SQEs per io_uring_enter of a burst, 0: the whole burst */
	uint64_t spin_ns;  /* sqpoll, wait=1: peek the CQ this long before sleeping */
	int nreg;
	struct iovec reg[URING_MAX_REGIONS];
	_Atomic int zero_mode;
	_Atomic uint64_t discard_noop;
	_Atomic bool iopoll_refused; /* the device said EOPNOTSUPP to polled I/O */
};

/* One I/O in flight: one SQE, carrying one request or a merged run. */
struct uring_io {
	struct weir_blk_req *head, *tail;
	uint64_t off;     /* byte offset of what is still to transfer */
	uint32_t left;    /* bytes still to transfer */
	uint32_t done;    /* bytes transferred */
	uint16_t first;   /* iov[first..niov) still to go */
	uint16_t niov;
	uint8_t op;
	bool fua;
	uint8_t tries;
	struct nvme_dsm_range dsm;
	struct iovec iov[WEIR_BLK_MAX_IOV];
};

struct uring_qp {
	struct weir_blk_qp base;
	struct io_uring ring; /* reads and writes (IOPOLL when on) */
	struct io_uring aux;  /* IOPOLL only: flush, write-zeroes, discard */
	bool has_ring, has_aux;
	uint32_t busy;        /* I/Os in flight in either ring */
	struct uring_io *io;
	uint32_t *free;
	uint32_t nfree;
	uint32_t *redo;       /* I/Os to resubmit that found no SQE */
	uint32_t nredo;
	unsigned flags;       /* the main ring's IORING_SETUP_*, to make it again */
	pid_t owner;          /* defer: the thread the ring was enabled for, 0: none yet */
	uint64_t n_fixed, n_vec, n_short, n_retry, n_waits, n_handover;
	uint64_t n_groups;     /* batch=: full groups submitted within a burst */
	uint64_t n_spin_hits;  /* spin=: waits a completion ended while spinning */
	uint64_t n_vfixed;     /* vectored I/Os on registered buffers */
	uint64_t n_inline;     /* inline=: I/Os done by system calls in submit */
};

static inline struct uring_priv *priv_of(struct weir_blk_qp *qp)
{
	return qp->dev->priv;
}

/* --- building an I/O from requests (uring_io.c, uring_inline.c) --- */

static inline void uring_add_iov(struct uring_io *io, const struct iovec *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct iovec *last = io->niov ? &io->iov[io->niov - 1] : NULL;

		/* Neighbouring pool buffers become one run (one fixed I/O). */
		if (last && (uint8_t *)last->iov_base + last->iov_len == v[i].iov_base)
			last->iov_len += v[i].iov_len;
		else
			io->iov[io->niov++] = v[i];
	}
}

static inline bool uring_can_merge(const struct uring_priv *u, const struct uring_io *io,
				   const struct weir_blk_req *r, uint32_t bytes, int niov)
{
	return u->merge && io->op == r->op && r->op <= WEIR_BLK_WRITE &&
	       io->fua == !!(r->flags & WEIR_BLK_REQ_FUA) &&
	       !((io->head->flags | r->flags) & WEIR_BLK_REQ_NOMERGE) &&
	       io->off + io->left == r->lba << u->lbs_shift &&
	       io->left + bytes <= u->merge_max && io->niov + niov <= WEIR_BLK_MAX_IOV;
}

/* uring_merge: r (its iovec v, niov entries) appended to io, when
 * uring_can_merge allows it; false (io unchanged) otherwise. */
static inline bool uring_merge(struct weir_blk_qp *qp, const struct uring_priv *u,
			       struct uring_io *io, struct weir_blk_req *r, uint32_t bytes,
			       const struct iovec *v, int niov)
{
	if (!uring_can_merge(u, io, r, bytes, niov))
		return false;
	io->tail->drv_next = r;
	io->tail = r;
	r->drv_next = NULL;
	io->left += bytes;
	uring_add_iov(io, v, niov);
	qp->stats.merged++;
	return true;
}

static inline void uring_io_start(struct uring_priv *u, struct uring_io *io,
				  struct weir_blk_req *r, uint32_t bytes)
{
	io->head = io->tail = r;
	r->drv_next = NULL;
	io->op = r->op;
	io->fua = r->flags & WEIR_BLK_REQ_FUA;
	io->off = r->lba << u->lbs_shift;
	io->left = r->op == WEIR_BLK_FLUSH ? 0 : bytes;
	io->done = 0;
	io->first = io->niov = 0;
	io->tries = 0;
}

/* Steps the I/O's iovecs past n transferred bytes. */
static inline void uring_io_advance(struct uring_io *io, uint32_t n)
{
	io->done += n;
	io->left -= n;
	io->off += n;
	while (n) {
		struct iovec *v = &io->iov[io->first];

		if (n < v->iov_len) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			break;
		}
		n -= (uint32_t)v->iov_len;
		io->first++;
	}
}

int uring_adopt(struct uring_qp *q);
/* Completes the requests of io: each one fully transferred before err
 * (0: all) succeeds, the rest get err. */
void uring_io_done(struct uring_qp *q, struct uring_io *io, int err);
uint16_t uring_inline_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n);
int uring_inline_pick(struct weir_blk *dev, int mode, const struct stat *st);
uint16_t uring_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n);
uint16_t uring_poll(struct weir_blk_qp *qp, uint16_t budget);
uint16_t uring_wait(struct weir_blk_qp *qp, uint16_t budget, uint64_t timeout_ns);
int uring_qp_fd(struct weir_blk_qp *qp);

#endif
