// SPDX-License-Identifier: BSD-3-Clause
/*
 * One RAID slice from plan to finish: a column range of one row run as an
 * md-style stripe operation. plan() looks at the member states for the
 * row and decides what to read and what to write (raid5_plan_write for
 * RAID5 writes); the read phase fills temporary buffers or the user's;
 * between the phases the parity is computed (full stripe: XOR of the new
 * data; RMW: P ^= old ^ new; RCW: XOR of the new and the untouched data),
 * or a lost chunk is rebuilt from the others (A1 = Ap ^ A2 ^ A3); the write
 * phase writes data and parity. Operations that must not interleave with
 * another on the same row (RAID5 writes and degraded reads, RAID1 writes,
 * rebuild steps) hold the row's lock from plan to finish; a slice that
 * cannot get its lock or its buffers waits in the queue pair's FIFO,
 * holding nothing but the lock, so nothing waits in a cycle.
 *
 * A member I/O error marks the member failed (raid_member_fail: every
 * other superblock records it first) and plans the slice again with the
 * new states: a RAID5 read becomes a reconstruction, a RAID5 write switches
 * to a plan that does not need the lost member, a RAID1 read goes to the
 * other mirror. Writes are idempotent, so a slice whose first attempt wrote
 * some members simply runs again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "raid_engine.h"
#include "weir/log.h"

static inline struct raid_priv *rp_of(struct raid_qp *q)
{
	return q->base.dev->priv;
}


/* --- waiting, locks, buffers ------------------------------------------------ */

static void block(struct raid_qp *q, struct raid_sctx *s)
{
	s->phase = PH_BLOCKED;
	if (s->queued)
		return;
	s->queued = true;
	s->next = NULL;
	if (q->blocked_tail)
		q->blocked_tail->next = s;
	else
		q->blocked = s;
	q->blocked_tail = s;
}

static bool row_lock(struct raid_qp *q, struct raid_sctx *s)
{
	struct raid_priv *rp = rp_of(q);
	uint32_t none = 0;

	if (s->locked)
		return true;
	/* Acquire pairs with the release in row_unlock: the previous
	 * holder's rebuild checkpoint store is visible once we hold it. */
	if (atomic_compare_exchange_strong_explicit(&rp->locks[s->s.row % RAID_LOCKS], &none,
						    q->base.id + 1u, memory_order_acquire,
						    memory_order_relaxed)) {
		s->locked = true;
		return true;
	}
	q->n_lock_waits++;
	return false;
}

static void row_unlock(struct raid_qp *q, struct raid_sctx *s)
{
	if (!s->locked)
		return;
	atomic_store_explicit(&rp_of(q)->locks[s->s.row % RAID_LOCKS], 0, memory_order_release);
	s->locked = false;
}

void raid_tmp_put_all(struct raid_sctx *s)
{
	for (int i = 0; i <= RAID_PAR; i++)
		if (s->tmp_mask & (1u << i))
			weir_pkt_free(s->tmp[i].p);
	s->tmp_mask = 0;
}

/* Temp sets for every bit of mask, all or none: 0 or -ENOBUFS. */
static int tmp_get(struct raid_qp *q, struct raid_sctx *s, uint32_t mask)
{
	struct raid_priv *rp = rp_of(q);
	uint32_t bytes = s->s.len * rp->lbs;

	for (int i = 0; i <= RAID_PAR; i++) {
		struct raid_tmp *t = &s->tmp[i];
		int n = 0;

		if (!(mask & (1u << i)) || (s->tmp_mask & (1u << i)))
			continue;
		if (weir_blk_buf_alloc(rp->tmp, bytes, &t->p) < 0) {
			raid_tmp_put_all(s);
			return -ENOBUFS;
		}
		for (struct weir_pkt *p = t->p; p; p = p->next)
			t->iov[n++] = (struct iovec){weir_pkt_data(p), p->data_len};
		t->niov = n;
		s->tmp_mask |= 1u << i;
	}
	return 0;
}

/* --- member I/O ----------------------------------------------------------- */

static struct raid_sub *sub_add(struct raid_qp *q, struct raid_sctx *s, uint32_t slot, uint8_t op)
{
	struct raid_priv *rp = rp_of(q);
	struct raid_sub *b = &s->sub[s->nsub++];

	b->sl = s;
	b->slot = (uint8_t)slot;
	b->req = (struct weir_blk_req){.op = op, .udata = b};
	if (op != WEIR_BLK_FLUSH) {
		b->req.lba = rp->data_lba + s->s.row * rp->g.chunk + s->s.off;
		b->req.nblocks = s->s.len;
	}
	if (op == WEIR_BLK_WRITE && s->fua)
		b->req.flags = WEIR_BLK_REQ_FUA;
	return b;
}

static void sub_iov(struct raid_sub *b, const struct iovec *v, int n)
{
	memcpy(b->iov, v, (size_t)n * sizeof(*v));
	b->req.iov = b->iov;
	b->req.nb_iov = (uint16_t)n;
}

/* The user's data of chunk j of the slice, as iovecs. */
static int user_part(struct raid_qp *q, struct raid_sctx *s, uint32_t j, struct iovec *out)
{
	struct raid_priv *rp = rp_of(q);
	size_t bytes = (size_t)s->s.len * rp->lbs;
	struct raid_uctx *u = s->u;
	int k = 0;

	if (u->zero) {
		for (size_t left = bytes; left; k++) {
			out[k] = (struct iovec){rp->zero, WEIR_MIN(left, (size_t)RAID_ZERO_SIZE)};
			left -= out[k].iov_len;
		}
		return k;
	}
	return raid_iov_sub(u->iov, u->niov,
			    (size_t)(raid_slice_lba(&rp->g, &s->s, j) - u->req->lba) * rp->lbs,
			    bytes, out, WEIR_BLK_MAX_IOV);
}

static void sub_user(struct raid_qp *q, struct raid_sctx *s, uint32_t slot, uint8_t op, uint32_t j)
{
	struct raid_sub *b = sub_add(q, s, slot, op);
	int n = user_part(q, s, j, b->iov);

	/* n < 0 cannot happen for a request the framework checked; if it
	 * did, the member refuses the empty request and the slice fails. */
	b->req.nb_iov = (uint16_t)(n > 0 ? n : 0);
	b->req.iov = b->iov;
}

static void sub_tmp(struct raid_qp *q, struct raid_sctx *s, uint32_t slot, uint8_t op, int t)
{
	sub_iov(sub_add(q, s, slot, op), s->tmp[t].iov, s->tmp[t].niov);
}

/* Queues the phase's member I/Os; a phase with none is done at once. */
static void issue(struct raid_qp *q, struct raid_sctx *s, uint8_t phase)
{
	s->phase = phase;
	s->pending = s->nsub;
	s->failed_mask = 0;
	s->fail_err = 0;
	for (uint8_t i = 0; i < s->nsub; i++) {
		struct raid_sub *b = &s->sub[i];

		/* Counted from here, not from submission: replace waits for a
		 * failed member's queued I/O too, not only what reached it. */
		atomic_store_explicit(&q->m_inflight[b->slot],
				      atomic_load_explicit(&q->m_inflight[b->slot],
							   memory_order_relaxed) + 1,
				      memory_order_relaxed);
		b->next = NULL;
		if (q->pend_tail[b->slot])
			q->pend_tail[b->slot]->next = b;
		else
			q->pend[b->slot] = b;
		q->pend_tail[b->slot] = b;
	}
	if (!s->nsub)
		raid_phase_done(q, s);
}

/* --- finishing -------------------------------------------------------------- */

static void rebuild_done(struct raid_qp *q, struct raid_sctx *s, int err)
{
	struct raid_priv *rp = rp_of(q);
	uint64_t rows = s->s.row + 1;

	q->rb = NULL;
	if (err) {
		/* A member that failed was marked by failed(); the step is
		 * retried (RAID1 from another mirror) unless the array is lost.
		 * An error that is nobody's failure must not spin forever. */
		if (++q->rb_errors >= 3 && atomic_load(&rp->m[s->target].state) ==
						   WEIR_BLK_MEMBER_REBUILDING)
			raid_member_fail(q->base.dev, s->target, err, "rebuild stopped");
		return;
	}
	q->rb_errors = 0;
	/* Release pairs with raid_usable's acquire: published before the row
	 * lock drops, so the next writer of this row writes the new member. */
	atomic_store_explicit(&rp->rebuild_rows, rows, memory_order_release);
	q->rb_bytes += (uint64_t)rp->g.chunk * rp->lbs;
	if (rows % rp->ckpt_rows == 0 || rows == raid_rows(&rp->g))
		raid_rebuild_checkpoint(q->base.dev, rows);
}

static void finish(struct raid_qp *q, struct raid_sctx *s, int err)
{
	struct raid_uctx *u = s->u;

	raid_tmp_put_all(s);
	if (s->op == RAID_OP_REBUILD)
		rebuild_done(q, s, err);
	row_unlock(q, s);
	s->phase = PH_IDLE;
	s->next = q->sfree;
	q->sfree = s;
	if (!u)
		return;
	if (err && !u->err)
		u->err = err;
	if (--u->slices == 0 && u->next_lba >= u->end) {
		weir_blk_qp_complete(&q->base, u->req, u->err);
		u->next = q->ufree;
		q->ufree = u;
	}
}

static int lost(struct raid_qp *q, struct raid_sctx *s, const char *what)
{
	weir_blk_qp_errorf(&q->base, "%s row %llu: %s", weir_blk_op_name(s->op < RAID_OP_REBUILD ?
									 s->op : 0),
			   (unsigned long long)s->s.row, what);
	finish(q, s, -EIO);
	return -EIO;
}

/* --- planning ----------------------------------------------------------------- */

static uint32_t alive_mask(struct raid_priv *rp, uint64_t row)
{
	uint32_t mask = 0;

	for (uint32_t m = 0; m < rp->g.n; m++)
		if (raid_usable(rp, m, row))
			mask |= 1u << m;
	return mask;
}

/* RAID1: the usable mirror with the fewest I/Os in flight from here. */
static int pick_mirror(struct raid_qp *q, uint32_t alive)
{
	struct raid_priv *rp = rp_of(q);
	int best = -1;

	q->rr++;
	for (uint32_t k = 0; k < rp->g.n; k++) {
		uint32_t m = (q->rr + k) % rp->g.n;

		if ((alive & (1u << m)) &&
		    (best < 0 || atomic_load_explicit(&q->m_inflight[m], memory_order_relaxed) <
					 atomic_load_explicit(&q->m_inflight[best], memory_order_relaxed)))
			best = (int)m;
	}
	return best;
}

static void plan_read5(struct raid_qp *q, struct raid_sctx *s, uint32_t alive)
{
	struct raid_priv *rp = rp_of(q);
	uint32_t touched = 0, need = 0;

	s->recon_j = -1;
	for (uint32_t j = s->s.j0; j < s->s.j0 + s->s.nj; j++) {
		uint32_t m = raid_data_member(&rp->g, s->s.row, j);

		touched |= 1u << m;
		if (!(alive & (1u << m)))
			s->recon_j = (int)j;
	}
	if (__builtin_popcount(~alive & ((1u << rp->g.n) - 1)) > 1) {
		lost(q, s, "two members are out: the data of this row is lost");
		return;
	}
	if (s->recon_j >= 0) {
		/* Rebuilding from the others must not race a parity update. */
		need = alive & ~touched;
		if (!row_lock(q, s) || tmp_get(q, s, need) < 0) {
			block(q, s);
			return;
		}
		q->n_recon++;
	}
	for (uint32_t m = 0; m < rp->g.n; m++) {
		int j = raid5_data_index(&rp->g, s->s.row, m);

		if (!(alive & (1u << m)))
			continue;
		if (touched & (1u << m))
			sub_user(q, s, m, WEIR_BLK_READ, (uint32_t)j);
		else if (need & (1u << m))
			sub_tmp(q, s, m, WEIR_BLK_READ, (int)m);
	}
	issue(q, s, PH_READ);
}

static void plan_write5(struct raid_qp *q, struct raid_sctx *s)
{
	struct raid_priv *rp = rp_of(q);
	struct raid_plan *p = &s->plan;
	uint32_t need;

	if (!row_lock(q, s)) {
		block(q, s);
		return;
	}
	/* States may have changed while we waited: plan under the lock. */
	raid5_plan_write(&rp->g, &s->s, alive_mask(rp, s->s.row), p);
	if (p->kind == RAID_PLAN_LOST) {
		lost(q, s, "two members are out: the row cannot be written");
		return;
	}
	need = p->read_mask;
	if (p->kind == RAID_PLAN_FULL || p->kind == RAID_PLAN_RCW)
		need |= 1u << RAID_PAR;
	if (tmp_get(q, s, need) < 0) {
		block(q, s);
		return;
	}
	for (uint32_t m = 0; m < rp->g.n; m++)
		if (p->read_mask & (1u << m))
			sub_tmp(q, s, m, WEIR_BLK_READ, (int)m);
	issue(q, s, PH_READ);
}

/* RAID0 and RAID1 reads and writes, and their zeroes and discards. */
static void plan_plain(struct raid_qp *q, struct raid_sctx *s, uint32_t alive)
{
	struct raid_priv *rp = rp_of(q);
	bool data = s->op == WEIR_BLK_READ || s->op == WEIR_BLK_WRITE;
	int m;

	if (rp->g.level == 1 && s->op == WEIR_BLK_READ) {
		if ((m = pick_mirror(q, alive)) < 0) {
			lost(q, s, "no mirror is left to read");
			return;
		}
		sub_user(q, s, (uint32_t)m, WEIR_BLK_READ, 0);
	} else if (rp->g.level == 1) {
		if (!row_lock(q, s)) {
			block(q, s);
			return;
		}
		alive = alive_mask(rp, s->s.row);
		if (!alive) {
			lost(q, s, "no mirror is left to write");
			return;
		}
		for (uint32_t k = 0; k < rp->g.n; k++) {
			if (!(alive & (1u << k)))
				continue;
			if (data)
				sub_user(q, s, k, s->op, 0);
			else
				sub_add(q, s, k, s->op);
		}
	} else {
		for (uint32_t j = s->s.j0; j < s->s.j0 + s->s.nj; j++) {
			if (!(alive & (1u << j))) {
				lost(q, s, "a member of this raid0 failed: no copy is left");
				return;
			}
			if (data)
				sub_user(q, s, j, s->op, j);
			else
				sub_add(q, s, j, s->op);
		}
	}
	issue(q, s, s->op == WEIR_BLK_READ ? PH_READ : PH_WRITE);
}

static void plan_rebuild(struct raid_qp *q, struct raid_sctx *s)
{
	struct raid_priv *rp = rp_of(q);
	uint32_t src;
	int m;

	if (!row_lock(q, s)) {
		block(q, s);
		return;
	}
	src = alive_mask(rp, s->s.row) & ~(1u << s->target);
	if (rp->g.level == 1) {
		if ((m = pick_mirror(q, src)) < 0) {
			lost(q, s, "rebuild: no mirror is left to copy from");
			return;
		}
		src = 1u << m;
	} else if (__builtin_popcount(src) != (int)rp->g.n - 1) {
		lost(q, s, "rebuild: another member is out, nothing to rebuild from");
		return;
	}
	if (tmp_get(q, s, src) < 0) {
		block(q, s);
		return;
	}
	for (uint32_t k = 0; k < rp->g.n; k++)
		if (src & (1u << k))
			sub_tmp(q, s, k, WEIR_BLK_READ, (int)k);
	issue(q, s, PH_READ);
}

void raid_plan(struct raid_qp *q, struct raid_sctx *s)
{
	struct raid_priv *rp = rp_of(q);
	uint32_t alive = alive_mask(rp, s->s.row);

	s->nsub = 0;
	s->phase = PH_IDLE;
	if (s->op == RAID_OP_REBUILD) {
		plan_rebuild(q, s);
	} else if (s->op == WEIR_BLK_FLUSH) {
		for (uint32_t m = 0; m < rp->g.n; m++)
			if (alive & (1u << m) || atomic_load(&rp->m[m].state) ==
							 WEIR_BLK_MEMBER_REBUILDING)
				sub_add(q, s, m, WEIR_BLK_FLUSH);
		issue(q, s, PH_WRITE);
	} else if (rp->g.level != 5) {
		plan_plain(q, s, alive);
	} else if (s->op == WEIR_BLK_READ) {
		plan_read5(q, s, alive);
	} else {
		plan_write5(q, s);
	}
}

/* --- the math between the phases --------------------------------------------- */

/* Source of member m's column for XOR: the user's data or a temp set. */
static int column(struct raid_qp *q, struct raid_sctx *s, uint32_t m, struct iovec *v)
{
	struct raid_priv *rp = rp_of(q);
	int j = raid5_data_index(&rp->g, s->s.row, m);

	if (j >= 0 && (uint32_t)j >= s->s.j0 && (uint32_t)j < s->s.j0 + s->s.nj &&
	    (s->op == WEIR_BLK_WRITE || s->op == WEIR_BLK_WRITE_ZEROES || j != s->recon_j))
		return user_part(q, s, (uint32_t)j, v);
	memcpy(v, s->tmp[m].iov, (size_t)s->tmp[m].niov * sizeof(*v));
	return s->tmp[m].niov;
}

/* dst = XOR of the columns of the members in mask. */
static void xor_columns(struct raid_qp *q, struct raid_sctx *s, const struct iovec *dst, int nd,
			uint32_t mask)
{
	size_t bytes = (size_t)s->s.len * rp_of(q)->lbs;
	struct iovec v[RAID_MAX_MEMBERS][WEIR_BLK_MAX_IOV];
	struct raid_iov_list l[RAID_MAX_MEMBERS];
	int k = 0;

	for (uint32_t m = 0; m < rp_of(q)->g.n; m++) {
		if (!(mask & (1u << m)))
			continue;
		l[k].v = v[k];
		l[k].n = column(q, s, m, v[k]);
		k++;
	}
	raid_iov_xor_n(dst, nd, l, k, bytes);
}

static void write_phase5(struct raid_qp *q, struct raid_sctx *s)
{
	struct raid_priv *rp = rp_of(q);
	struct raid_plan *p = &s->plan;
	uint32_t par = raid5_parity(&rp->g, s->s.row), data = 0;
	size_t bytes = (size_t)s->s.len * rp->lbs;
	struct iovec v[WEIR_BLK_MAX_IOV];
	int ps = p->kind == RAID_PLAN_RMW ? (int)par : RAID_PAR;

	for (uint32_t j = 0; j < rp->g.n - 1; j++)
		data |= 1u << raid_data_member(&rp->g, s->s.row, j);
	if (p->kind == RAID_PLAN_FULL || p->kind == RAID_PLAN_RCW) {
		xor_columns(q, s, s->tmp[RAID_PAR].iov, s->tmp[RAID_PAR].niov, data);
	} else if (p->kind == RAID_PLAN_RMW) {
		/* P ^= old ^ new, for every chunk written. */
		for (uint32_t j = s->s.j0; j < s->s.j0 + s->s.nj; j++) {
			uint32_t m = raid_data_member(&rp->g, s->s.row, j);
			int nv = user_part(q, s, j, v);

			raid_iov_xor(s->tmp[par].iov, s->tmp[par].niov, s->tmp[m].iov,
				     s->tmp[m].niov, bytes);
			raid_iov_xor(s->tmp[par].iov, s->tmp[par].niov, v, nv, bytes);
		}
	}
	q->n_full += p->kind == RAID_PLAN_FULL;
	q->n_rmw += p->kind == RAID_PLAN_RMW;
	q->n_rcw += p->kind == RAID_PLAN_RCW;
	q->n_data_only += p->kind == RAID_PLAN_DATA_ONLY;
	s->nsub = 0;
	for (uint32_t m = 0; m < rp->g.n; m++) {
		if (!(p->write_mask & (1u << m)))
			continue;
		if (m == par)
			sub_tmp(q, s, m, WEIR_BLK_WRITE, ps);
		else
			sub_user(q, s, m, WEIR_BLK_WRITE,
				 (uint32_t)raid5_data_index(&rp->g, s->s.row, m));
	}
	issue(q, s, PH_WRITE);
}

static void rebuild_write(struct raid_qp *q, struct raid_sctx *s)
{
	struct raid_priv *rp = rp_of(q);
	uint32_t src = s->tmp_mask & ((1u << rp->g.n) - 1);
	int first = __builtin_ctz(src);
	size_t bytes = (size_t)s->s.len * rp->lbs;

	for (uint32_t m = (uint32_t)first + 1; m < rp->g.n; m++)
		if (src & (1u << m))
			raid_iov_xor(s->tmp[first].iov, s->tmp[first].niov, s->tmp[m].iov,
				     s->tmp[m].niov, bytes);
	s->nsub = 0;
	sub_tmp(q, s, s->target, WEIR_BLK_WRITE, first);
	issue(q, s, PH_WRITE);
}

static bool member_error(int err)
{
	return err != -EINVAL && err != -ERANGE && err != -E2BIG && err != -EROFS &&
	       err != -EOPNOTSUPP;
}

static void failed(struct raid_qp *q, struct raid_sctx *s)
{
	uint32_t fm = s->failed_mask;
	int err = s->fail_err;
	bool fanout = s->op == WEIR_BLK_FLUSH || (rp_of(q)->g.level == 1 && s->op != WEIR_BLK_READ &&
						   s->op != RAID_OP_REBUILD);

	if (!member_error(err)) {
		weir_blk_qp_errorf(&q->base, "%s row %llu: a member refused it: %s",
				   weir_blk_op_name(s->op), (unsigned long long)s->s.row,
				   strerror(-err));
		finish(q, s, err);
		return;
	}
	for (uint32_t m = 0; m < rp_of(q)->g.n; m++)
		if (fm & (1u << m))
			raid_member_fail(q->base.dev, m, err, weir_blk_op_name(s->sub[0].req.op));
	if (s->op == RAID_OP_REBUILD) {
		finish(q, s, err);
	} else if (fanout && __builtin_popcount(fm) < s->nsub) {
		finish(q, s, 0); /* the surviving copies have it */
	} else {
		q->n_replans++;
		raid_tmp_put_all(s);
		raid_plan(q, s);
	}
}

void raid_phase_done(struct raid_qp *q, struct raid_sctx *s)
{
	if (s->failed_mask) {
		failed(q, s);
		return;
	}
	if (s->phase == PH_WRITE) {
		finish(q, s, 0);
	} else if (s->op == RAID_OP_REBUILD) {
		rebuild_write(q, s);
	} else if (s->op != WEIR_BLK_READ) {
		write_phase5(q, s);
	} else {
		if (s->recon_j >= 0 && rp_of(q)->g.level == 5) {
			struct iovec d[WEIR_BLK_MAX_IOV];
			int nd = user_part(q, s, (uint32_t)s->recon_j, d);
			uint32_t lostm = raid_data_member(&rp_of(q)->g, s->s.row, (uint32_t)s->recon_j);

			xor_columns(q, s, d, nd, ((1u << rp_of(q)->g.n) - 1) & ~(1u << lostm));
		}
		finish(q, s, 0);
	}
}

void raid_sub_done(struct raid_qp *q, struct raid_sub *b)
{
	struct raid_sctx *s = b->sl;
	int st = b->req.status;

	atomic_store_explicit(&q->m_inflight[b->slot],
			      atomic_load_explicit(&q->m_inflight[b->slot], memory_order_relaxed) - 1,
			      memory_order_relaxed);
	if (st) {
		s->failed_mask |= 1u << b->slot;
		if (!s->fail_err || !member_error(st))
			s->fail_err = st;
	}
	if (--s->pending == 0)
		raid_phase_done(q, s);
}
