// SPDX-License-Identifier: BSD-3-Clause
/*
 * Block devices, the fast path: the calls that move requests (submit,
 * poll, sync), the checks every request passes before a driver sees it,
 * and the buffers weir_blk_buf_alloc lays out for block I/O.
 *
 * A request the device cannot take as written is not handed down: it
 * completes at once with an errno, and the queue pair keeps a sentence
 * saying what was wrong and how to fix it (the range against the end, the
 * data against the block count, each buffer against the alignment direct
 * I/O needs, writes against a read-only open). A burst is passed to the
 * driver in runs of good requests, so the caller's view stays a prefix.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "weir/blk_driver.h"
#include "weir/clock.h"

/* --- request validation ------------------------------------------------- */

static int check_data(struct weir_blk_qp *qp, const struct weir_blk_req *r)
{
	const struct weir_blk_info *in = &qp->dev->info;
	bool direct = in->features & WEIR_BLK_F_DIRECT;
	uint64_t want = (uint64_t)r->nblocks * in->lbs, have = 0;
	struct iovec iov[WEIR_BLK_MAX_IOV];
	int n = 0;

	if (!!r->pkt == !!r->nb_iov) {
		weir_blk_qp_errorf(qp, "%s lba %llu+%u: give the data either as pkt or as iov",
				   weir_blk_op_name(r->op), (unsigned long long)r->lba, r->nblocks);
		return -EINVAL;
	}
	if (r->nb_iov > WEIR_BLK_MAX_IOV || (r->pkt && r->pkt->nb_segs > WEIR_BLK_MAX_IOV)) {
		weir_blk_qp_errorf(qp, "%s lba %llu+%u: %u buffers, at most %d per request",
				   weir_blk_op_name(r->op), (unsigned long long)r->lba, r->nblocks,
				   r->nb_iov ? r->nb_iov : r->pkt->nb_segs, WEIR_BLK_MAX_IOV);
		return -EINVAL;
	}
	n = weir_blk_req_iov(r, iov);
	for (int i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)iov[i].iov_base;

		have += iov[i].iov_len;
		if (!direct)
			continue;
		if (in->mem_align > 1 && (a & (in->mem_align - 1))) {
			weir_blk_qp_errorf(qp,
					   "%s lba %llu+%u: buffer %d at %p is %u bytes past a "
					   "%u-byte boundary (direct I/O needs aligned buffers: "
					   "weir_blk_buf_alloc() gives them, or open with direct=0)",
					   weir_blk_op_name(r->op), (unsigned long long)r->lba,
					   r->nblocks, i, iov[i].iov_base,
					   (unsigned)(a & (in->mem_align - 1)), in->mem_align);
			return -EINVAL;
		}
		if (iov[i].iov_len % in->dev_lbs) {
			weir_blk_qp_errorf(qp,
					   "%s lba %llu+%u: buffer %d holds %zu bytes, not a multiple "
					   "of the device's %u-byte block (direct I/O needs whole "
					   "device blocks per buffer, or open with direct=0)",
					   weir_blk_op_name(r->op), (unsigned long long)r->lba,
					   r->nblocks, i, iov[i].iov_len, in->dev_lbs);
			return -EINVAL;
		}
	}
	if (have != want) {
		weir_blk_qp_errorf(qp, "%s lba %llu+%u: the buffers hold %llu bytes; %u blocks of %u B "
				   "are %llu", weir_blk_op_name(r->op), (unsigned long long)r->lba,
				   r->nblocks, (unsigned long long)have, r->nblocks, in->lbs,
				   (unsigned long long)want);
		return -EINVAL;
	}
	return 0;
}

static int check_req(struct weir_blk_qp *qp, const struct weir_blk_req *r)
{
	const struct weir_blk_info *in = &qp->dev->info;

	if (r->op >= WEIR_BLK_OP_COUNT) {
		weir_blk_qp_errorf(qp, "unknown op %u (valid: read, write, flush, write-zeroes, "
				   "discard)", r->op);
		return -EINVAL;
	}
	if (r->op != WEIR_BLK_READ && r->op != WEIR_BLK_FLUSH &&
	    (in->features & WEIR_BLK_F_READONLY)) {
		weir_blk_qp_errorf(qp, "%s lba %llu+%u: the device is open read-only (drop ro=1, or "
				   "make the file writable)", weir_blk_op_name(r->op),
				   (unsigned long long)r->lba, r->nblocks);
		return -EROFS;
	}
	if (r->op == WEIR_BLK_FLUSH)
		return 0;
	if (!r->nblocks) {
		weir_blk_qp_errorf(qp, "%s lba %llu: zero blocks", weir_blk_op_name(r->op),
				   (unsigned long long)r->lba);
		return -EINVAL;
	}
	if (r->lba >= in->nblocks || r->nblocks > in->nblocks - r->lba) {
		weir_blk_qp_errorf(qp, "%s lba %llu+%u is past the end (%llu blocks of %u B: the "
				   "last lba is %llu)", weir_blk_op_name(r->op),
				   (unsigned long long)r->lba, r->nblocks,
				   (unsigned long long)in->nblocks, in->lbs,
				   (unsigned long long)in->nblocks - 1);
		return -ERANGE;
	}
	if (r->nblocks > in->max_blocks && (r->op == WEIR_BLK_READ || r->op == WEIR_BLK_WRITE)) {
		weir_blk_qp_errorf(qp, "%s lba %llu+%u: larger than the largest request (%u blocks): "
				   "split it", weir_blk_op_name(r->op), (unsigned long long)r->lba,
				   r->nblocks, in->max_blocks);
		return -E2BIG;
	}
	if (r->op == WEIR_BLK_READ || r->op == WEIR_BLK_WRITE)
		return check_data(qp, r);
	return 0;
}

/* --- the fast path ------------------------------------------------------- */

static void refuse(struct weir_blk_qp *qp, struct weir_blk_req *r, int err)
{
	r->status = err;
	qp->stats.refused++;
	qp->done[qp->done_tail++ & qp->done_mask] = r;
	qp->inflight++;
}

uint16_t weir_blk_submit_burst(struct weir_blk *dev, uint16_t q, struct weir_blk_req **reqs,
			       uint16_t n)
{
	struct weir_blk_qp *qp = dev->qp[q];
	uint32_t room = qp->qd - qp->inflight;
	uint16_t i = 0;

	if (n > room)
		n = (uint16_t)room;
	while (i < n) {
		uint16_t j = i;
		int err = 0;

		for (; j < n; j++) {
			struct weir_blk_req *r = reqs[j];

			r->status = 0;
			r->done_flags = 0;
			/* A flush covers the writes completed (polled) so far. */
			r->seq = qp->write_seq;
			err = check_req(qp, r);
			if (err)
				break;
		}
		if (j > i) {
			uint16_t taken = dev->ops->submit(qp, reqs + i, (uint16_t)(j - i));

			qp->inflight += taken;
			if (taken < j - i)
				return (uint16_t)(i + taken);
		}
		if (j < n)
			refuse(qp, reqs[j++], err);
		i = j;
	}
	return n;
}

uint16_t weir_blk_poll_burst(struct weir_blk *dev, uint16_t q, struct weir_blk_req **done,
			     uint16_t n)
{
	struct weir_blk_qp *qp = dev->qp[q];
	uint32_t avail = qp->done_tail - qp->done_head;
	uint16_t k = 0;

	if (avail < n)
		dev->ops->poll(qp, (uint16_t)(n - avail));
	while (k < n && qp->done_head != qp->done_tail)
		done[k++] = qp->done[qp->done_head++ & qp->done_mask];
	qp->inflight -= k;
	return k;
}

uint16_t weir_blk_poll_wait(struct weir_blk *dev, uint16_t q, struct weir_blk_req **done,
			    uint16_t n, uint64_t timeout_ns)
{
	struct weir_blk_qp *qp = dev->qp[q];
	weir_ns_t end = 0;
	unsigned spins = 0;
	uint16_t k;

	/* Nothing ready: straight into the driver's wait, whose one system
	 * call also submits what is prepared (a poll first would be two). */
	if (qp->done_head == qp->done_tail && qp->inflight && timeout_ns && dev->ops->wait &&
	    (dev->info.features & WEIR_BLK_F_WAIT)) {
		dev->ops->wait(qp, n, timeout_ns);
		return weir_blk_poll_burst(dev, q, done, n);
	}
	while (!(k = weir_blk_poll_burst(dev, q, done, n))) {
		if (!qp->inflight || !timeout_ns)
			return 0;
		if (timeout_ns == WEIR_BLK_WAIT_FOREVER)
			;
		else if (!end)
			end = weir_clock_now() + timeout_ns;
		else if (!weir_time_after(end, weir_clock_now()))
			return 0;
		/* Two cores shared by many: let the device's thread run. */
		if (++spins % 256 == 0)
			sched_yield();
	}
	return k;
}

uint32_t weir_blk_inflight(const struct weir_blk *dev, uint16_t q)
{
	return dev->qp[q]->inflight;
}

uint64_t weir_blk_durable_seq(const struct weir_blk *dev, uint16_t q)
{
	return dev->qp[q]->durable_seq;
}

const char *weir_blk_qp_error(const struct weir_blk *dev, uint16_t q)
{
	return dev->qp[q]->err;
}

int weir_blk_sync(struct weir_blk *dev, uint16_t q, struct weir_blk_req *req)
{
	struct weir_blk_req *got;

	if (q >= dev->nb_qp)
		return -EINVAL;
	if (dev->qp[q]->inflight)
		return -EBUSY;
	if (weir_blk_submit_burst(dev, q, &req, 1) != 1)
		return -EAGAIN;
	while (!weir_blk_poll_wait(dev, q, &got, 1, WEIR_NS_PER_SEC))
		;
	return req->status;
}

/* --- buffers -------------------------------------------------------------- */

int weir_blk_buf_alloc(struct weir_pool *pool, uint32_t bytes, struct weir_pkt **out)
{
	/* data_len is 16 bits: a 64 KiB buffer carries 32 KiB. */
	uint32_t seg = pool->buf_size > 32768 ? 32768 : pool->buf_size;
	uint32_t n = (bytes + seg - 1) / seg;
	struct weir_pkt *p[WEIR_BLK_MAX_IOV];

	if (!bytes || n > WEIR_BLK_MAX_IOV)
		return -EINVAL;
	if (weir_pkt_alloc_bulk(pool, p, n) < 0)
		return -ENOBUFS;
	for (uint32_t i = 0; i < n; i++) {
		p[i]->data_off = 0;
		p[i]->data_len = (uint16_t)(i + 1 < n ? seg : bytes - seg * (n - 1));
		p[i]->pkt_len = p[i]->data_len;
		p[i]->next = i + 1 < n ? p[i + 1] : NULL;
	}
	p[0]->pkt_len = bytes;
	p[0]->nb_segs = (uint16_t)n;
	*out = p[0];
	return 0;
}
