// SPDX-License-Identifier: BSD-3-Clause
/*
 * uring, the fast path: a burst of requests becomes SQEs (merged where
 * they continue each other, fixed when their data is one run inside a
 * registered pool, vectored otherwise) and one io_uring_enter; completions
 * are reaped as the kernel posts them, a short transfer resubmitted for
 * the rest, a write-zeroes the file system cannot do retried as a punch.
 * See uring.c for the whole driver.
 */
#include <errno.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sched.h>
#include <string.h>

#include "uring_internal.h"
#include "weir/log.h"

/* --- preparing SQEs ----------------------------------------------------- */

/* Registered buffer holding all of v, or -1. */
static int find_region(const struct uring_priv *u, const struct iovec *v)
{
	uintptr_t a = (uintptr_t)v->iov_base;

	for (int i = 0; i < u->nreg; i++) {
		uintptr_t b = (uintptr_t)u->reg[i].iov_base;

		if (a >= b && a + v->iov_len <= b + u->reg[i].iov_len)
			return i;
	}
	return -1;
}

static void prep_nvme(struct uring_qp *q, struct io_uring_sqe *sqe, struct uring_io *io,
		      uint64_t ud, bool fixed)
{
	struct uring_priv *u = priv_of(&q->base);
	uint64_t slba = (io->off >> u->lbs_shift) << u->nvme_shift;
	uint32_t nlb = (io->left >> u->lbs_shift) << u->nvme_shift;
	uint16_t niov = (uint16_t)(io->niov - io->first);
	struct nvme_uring_cmd c;
	int buf = -1;

	switch (io->op) {
	case WEIR_BLK_READ:
	case WEIR_BLK_WRITE:
		uring_nvme_rw(&c, io->op == WEIR_BLK_WRITE, u->nsid, slba, nlb,
			      &io->iov[io->first], niov, io->fua);
		if (niov == 1 && fixed)
			buf = find_region(u, &io->iov[io->first]);
		break;
	case WEIR_BLK_FLUSH:
		uring_nvme_flush(&c, u->nsid);
		break;
	case WEIR_BLK_WRITE_ZEROES:
		uring_nvme_write_zeroes(&c, u->nsid, slba, nlb);
		break;
	default:
		uring_nvme_dsm(&c, u->nsid, &io->dsm, slba, nlb);
		break;
	}
	uring_nvme_prep_sqe(sqe, &c, niov > 1 && io->op <= WEIR_BLK_WRITE, buf, ud);
	q->n_fixed += buf >= 0;
}

/* One registered buffer holding every one of the n iovecs, or -1. */
static int find_region_all(const struct uring_priv *u, const struct iovec *v, uint16_t n)
{
	int buf = find_region(u, &v[0]);

	for (uint16_t i = 1; buf >= 0 && i < n; i++)
		if (find_region(u, &v[i]) != buf)
			return -1;
	return buf;
}

/* fixed: the ring has the pool registered (the IOPOLL queue pair's aux
 * ring has not: a read or write lands there once the device refused
 * polled I/O). */
static void prep_file(struct uring_qp *q, struct io_uring_sqe *sqe, struct uring_io *io,
		      bool fixed)
{
	struct uring_priv *u = priv_of(&q->base);
	const struct iovec *v = &io->iov[io->first];
	uint16_t niov = (uint16_t)(io->niov - io->first);
	int zm, buf;

	switch (io->op) {
	case WEIR_BLK_READ:
	case WEIR_BLK_WRITE:
		buf = niov == 1 && fixed ? find_region(u, v) : -1;
		/* A merged run of separate buffers: vectored, but on the
		 * registered pool still, so the kernel pins no pages for it. */
		if (niov > 1 && fixed && u->vec_fixed && (buf = find_region_all(u, v, niov)) >= 0) {
			io_uring_prep_rw(io->op == WEIR_BLK_READ ? URING_OP_READV_FIXED
								 : URING_OP_WRITEV_FIXED,
					 sqe, 0, v, niov, io->off);
			sqe->buf_index = (uint16_t)buf;
			q->n_vfixed++;
			buf = -1;
		} else if (buf >= 0 && io->op == WEIR_BLK_READ)
			io_uring_prep_read_fixed(sqe, 0, v->iov_base, (unsigned)v->iov_len, io->off, buf);
		else if (buf >= 0)
			io_uring_prep_write_fixed(sqe, 0, v->iov_base, (unsigned)v->iov_len, io->off,
						  buf);
		else if (io->op == WEIR_BLK_READ)
			io_uring_prep_readv(sqe, 0, v, niov, io->off);
		else
			io_uring_prep_writev(sqe, 0, v, niov, io->off);
		if (io->fua)
			sqe->rw_flags = RWF_DSYNC;
		q->n_fixed += buf >= 0;
		q->n_vec += niov > 1;
		break;
	case WEIR_BLK_FLUSH:
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		break;
	case WEIR_BLK_WRITE_ZEROES:
		zm = atomic_load_explicit(&u->zero_mode, memory_order_relaxed);
		io_uring_prep_fallocate(sqe, 0,
					(zm == ZERO_RANGE ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE) |
						FALLOC_FL_KEEP_SIZE,
					io->off, io->left);
		break;
	default:
		io_uring_prep_fallocate(sqe, 0, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, io->off,
					io->left);
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
}

/* Puts I/O slot into an SQE: 0, or -EBUSY when its ring has none free. */
static int prep_io(struct uring_qp *q, uint32_t slot)
{
	struct uring_priv *u = priv_of(&q->base);
	struct uring_io *io = &q->io[slot];
	bool aux = q->has_aux && (io->op > WEIR_BLK_WRITE ||
				   atomic_load_explicit(&u->iopoll_refused, memory_order_relaxed));
	struct io_uring *ring = aux ? &q->aux : &q->ring;
	uint64_t ud = slot | (aux ? URING_AUX : 0);
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EBUSY;
	}
	if (u->nvme) {
		prep_nvme(q, sqe, io, ud, u->fixed && !aux);
		return 0;
	}
	prep_file(q, sqe, io, u->fixed && !aux);
	io_uring_sqe_set_data64(sqe, ud);
	return 0;
}

/* --- submission --------------------------------------------------------- */

uint16_t uring_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n)
{
	struct uring_qp *q = (struct uring_qp *)qp;
	struct uring_priv *u = priv_of(qp);
	struct iovec v[WEIR_BLK_MAX_IOV];
	struct uring_io *io = NULL;
	uint32_t slot = 0;
	uint16_t i, io_first = 0;

	if (u->inline_io)
		return uring_inline_submit(qp, reqs, n);
	if (u->defer && uring_adopt(q) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		struct weir_blk_req *r = reqs[i];
		uint32_t bytes = r->nblocks << u->lbs_shift;
		int niov = r->op <= WEIR_BLK_WRITE ? weir_blk_req_iov(r, v) : 0;

		if (io && uring_merge(qp, u, io, r, bytes, v, niov))
			continue;
		if (io && prep_io(q, slot) < 0)
			break;
		/* A full group goes now, unplugged (batch=); the last one of
		 * the burst waits for the wait's enter, or the end of it. */
		if (io && u->batch && io_uring_sq_ready(&q->ring) >= u->batch) {
			io_uring_submit(&q->ring);
			q->n_groups++;
		}
		io = NULL;
		if (!q->nfree)
			break;
		slot = q->free[--q->nfree];
		io = &q->io[slot];
		io_first = i;
		uring_io_start(u, io, r, bytes);
		uring_add_iov(io, v, niov);
		q->busy++;
		qp->stats.ios++;
	}
	if (io && prep_io(q, slot) < 0) {
		/* No SQE for the last I/O: give its requests back. */
		q->free[q->nfree++] = slot;
		q->busy--;
		qp->stats.ios--;
		i = io_first;
	}
	/* wait=1: the next poll or wait hands them over, with its own
	 * io_uring_enter; SQPOLL's thread picks them up by itself. */
	if (!u->wait || u->sqpoll)
		io_uring_submit(&q->ring);
	if (q->has_aux)
		io_uring_submit(&q->aux);
	return i;
}

/* --- completion --------------------------------------------------------- */

void uring_io_done(struct uring_qp *q, struct uring_io *io, int err)
{
	uint64_t end = 0;
	uint32_t lbs = q->base.dev->info.lbs;

	if (err) {
		struct weir_blk_req *h = io->head;

		weir_blk_qp_errorf(&q->base, "%s lba %llu (%u bytes done): %s%s",
				   weir_blk_op_name(io->op), (unsigned long long)h->lba, io->done,
				   strerror(-err),
				   err == -ENOSPC ? " (the file system under it is full)" : "");
	}
	for (struct weir_blk_req *r = io->head, *next; r; r = next) {
		next = r->drv_next;
		end += (uint64_t)r->nblocks * lbs;
		/* What a short transfer finished before the error stands. */
		weir_blk_qp_complete(&q->base, r, err && end > io->done ? err : 0);
	}
}

static void io_finish(struct uring_qp *q, uint32_t slot, int err)
{
	uring_io_done(q, &q->io[slot], err);
	q->free[q->nfree++] = slot;
	q->busy--;
}

static void resubmit(struct uring_qp *q, uint32_t slot)
{
	if (prep_io(q, slot) < 0)
		q->redo[q->nredo++] = slot;
}

/* The device refused polled I/O: say so once, use the other ring. */
static void iopoll_refused(struct uring_qp *q)
{
	struct uring_priv *u = priv_of(&q->base);

	if (!atomic_exchange(&u->iopoll_refused, true))
		WEIR_WARN("%s: iopoll: the device refused polled I/O (EOPNOTSUPP); reads and "
			  "writes go through the interrupt-driven ring from now on",
			  q->base.dev->label);
}

static void io_complete(struct uring_qp *q, uint32_t slot, int res, bool from_aux)
{
	struct uring_priv *u = priv_of(&q->base);
	struct uring_io *io = &q->io[slot];

	if (u->nvme)
		res = uring_nvme_errno(res);
	if (res < 0) {
		if ((res == -EAGAIN || res == -EINTR) && ++io->tries < URING_TRIES) {
			q->n_retry++;
			resubmit(q, slot);
			return;
		}
		if (res == -EOPNOTSUPP && io->op <= WEIR_BLK_WRITE && u->iopoll && !from_aux) {
			iopoll_refused(q);
			resubmit(q, slot);
			return;
		}
		if (res == -EOPNOTSUPP && io->op == WEIR_BLK_WRITE_ZEROES && !u->nvme &&
		    atomic_load(&u->zero_mode) == ZERO_RANGE) {
			/* tmpfs and a few others punch but cannot zero. */
			atomic_store(&u->zero_mode, ZERO_PUNCH);
			resubmit(q, slot);
			return;
		}
		if (res == -EOPNOTSUPP && io->op == WEIR_BLK_DISCARD) {
			atomic_fetch_add(&u->discard_noop, 1);
			res = 0;
		}
		io_finish(q, slot, res);
		return;
	}
	if (io->op > WEIR_BLK_WRITE || u->nvme || (uint32_t)res == io->left) {
		io->done += io->left;
		io_finish(q, slot, 0);
		return;
	}
	if (res == 0 || ++io->tries >= URING_TRIES) {
		/* Nothing moved: the file shrank under us, or it is full. */
		io_finish(q, slot, io->op == WEIR_BLK_READ ? -EIO : -ENOSPC);
		return;
	}
	q->n_short++;
	uring_io_advance(io, (uint32_t)res);
	resubmit(q, slot);
}

static unsigned reap(struct uring_qp *q, struct io_uring *ring, unsigned budget, bool iopoll)
{
	struct io_uring_cqe *cqes[64];
	unsigned n;

	if (budget > 64)
		budget = 64;
	/* An IOPOLL ring completes nothing until asked to poll the device; a
	 * DEFER_TASKRUN ring posts what finished when its owner enters (the
	 * kernel sets IORING_SQ_TASKRUN when there is some: no empty enter). */
	if (q->busy && !io_uring_cq_ready(ring) &&
	    (iopoll || (priv_of(&q->base)->defer &&
			(IO_URING_READ_ONCE(*ring->sq.kflags) & IORING_SQ_TASKRUN))))
		io_uring_get_events(ring);
	n = io_uring_peek_batch_cqe(ring, cqes, budget);
	for (unsigned i = 0; i < n; i++)
		io_complete(q, (uint32_t)(cqes[i]->user_data & ~URING_AUX), cqes[i]->res,
			    cqes[i]->user_data & URING_AUX);
	io_uring_cq_advance(ring, n);
	return n;
}

uint16_t uring_poll(struct weir_blk_qp *qp, uint16_t budget)
{
	struct uring_qp *q = (struct uring_qp *)qp;
	struct uring_priv *u = priv_of(qp);
	uint32_t before = qp->done_tail;
	uint32_t redo = q->nredo;

	if (!q->busy)
		return 0;
	q->nredo = 0;
	for (uint32_t i = 0; i < redo; i++)
		resubmit(q, q->redo[i]);
	reap(q, &q->ring, budget, u->iopoll);
	if (q->has_aux)
		reap(q, &q->aux, budget, false);
	/* Resubmissions (short transfers, fallbacks) prepared while reaping. */
	if (io_uring_sq_ready(&q->ring))
		io_uring_submit(&q->ring);
	if (q->has_aux && io_uring_sq_ready(&q->aux))
		io_uring_submit(&q->aux);
	return (uint16_t)(qp->done_tail - before);
}

/* spin=: with SQPOLL the kernel's thread posts completions without our
 * entering, so a completion due within microseconds is cheaper watched for
 * than slept for (a wake-up costs 20-25 us here, more than a QD1 read on
 * tmpfs). True when one came within budget ns; takes what was spun off
 * *timeout. Not while the polling thread is pinned to this very CPU: the
 * spin would hold off the thread it waits for. */
static bool spin_for_cq(struct uring_qp *q, uint64_t budget, uint64_t *timeout)
{
	struct uring_priv *u = priv_of(&q->base);
	weir_ns_t start, now;

	if (u->sq_cpu >= 0 && sched_getcpu() == u->sq_cpu)
		return false;
	start = now = weir_clock_now();
	for (unsigned i = 1; !io_uring_cq_ready(&q->ring); i++) {
		weir_pause();
		if (i % 16)
			continue;
		now = weir_clock_now();
		if (now - start >= budget) {
			if (*timeout != WEIR_BLK_WAIT_FOREVER)
				*timeout -= WEIR_MIN(*timeout, now - start);
			return false;
		}
	}
	q->n_spin_hits++;
	return true;
}

uint16_t uring_wait(struct weir_blk_qp *qp, uint16_t budget, uint64_t timeout_ns)
{
	struct uring_qp *q = (struct uring_qp *)qp;
	struct uring_priv *u = priv_of(qp);
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;

	if (!q->busy)
		return 0;
	/* Only the main ring: wait=1 never has an aux one (that is IOPOLL). A
	 * slot waiting for an SQE goes in first, or nothing might complete. */
	if (q->nredo || io_uring_cq_ready(&q->ring))
		return uring_poll(qp, budget);
	if (u->spin_ns && spin_for_cq(q, WEIR_MIN(u->spin_ns, timeout_ns), &timeout_ns))
		return uring_poll(qp, budget);
	ts = (struct __kernel_timespec){.tv_sec = (long long)(timeout_ns / 1000000000ULL),
					.tv_nsec = (long long)(timeout_ns % 1000000000ULL)};
	q->n_waits++;
	if (timeout_ns == WEIR_BLK_WAIT_FOREVER)
		io_uring_submit_and_wait(&q->ring, 1);
	else
		io_uring_submit_and_wait_timeout(&q->ring, &cqe, 1, &ts, NULL);
	return uring_poll(qp, budget);
}

int uring_qp_fd(struct weir_blk_qp *qp)
{
	struct uring_qp *q = (struct uring_qp *)qp;

	/* An IOPOLL ring posts nothing until polled, a DEFER_TASKRUN one
	 * nothing until its owner enters to wait (ppoll on it would not wake;
	 * stacked drivers open with conf.fd_wait): no fd to sleep on. */
	return priv_of(qp)->iopoll || priv_of(qp)->defer || q->has_aux ? -1 : q->ring.ring_fd;
}
