// SPDX-License-Identifier: BSD-3-Clause
/*
 * The RAID queue pair: user requests cut into slices (raid_slices) while
 * slice contexts last, member I/O queued per member and handed down in
 * bursts (a member whose queue is full keeps the rest for the next poll),
 * member completions routed back to their slices (raid_stripe.c), and on
 * queue pair 0 the rebuild: one row at a time under its row lock, within
 * the rate limit, the checkpoint advanced before the lock drops so that a
 * write to that row afterwards goes to the new member too.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raid_engine.h"

static inline struct raid_priv *rp_of(struct raid_qp *q)
{
	return q->base.dev->priv;
}

static void subs_flush(struct raid_qp *q)
{
	struct raid_priv *rp = rp_of(q);
	struct weir_blk_req *reqs[32];

	for (uint32_t m = 0; m < rp->g.n; m++) {
		while (q->pend[m]) {
			struct raid_sub *b = q->pend[m];
			uint16_t n = 0, taken;

			for (; b && n < 32; b = b->next)
				reqs[n++] = &b->req;
			taken = weir_blk_submit_burst(rp->m[m].dev, q->base.id, reqs, n);
			for (uint16_t i = 0; i < taken; i++)
				q->pend[m] = q->pend[m]->next;
			if (!q->pend[m])
				q->pend_tail[m] = NULL;
			if (taken < n)
				break; /* the member's queue is full: next poll */
		}
	}
}

/* --- the queue pair --------------------------------------------------------- */

static struct raid_sctx *sctx_get(struct raid_qp *q)
{
	struct raid_sctx *s = q->sfree;

	if (s) {
		q->sfree = s->next;
		memset(s, 0, offsetof(struct raid_sctx, tmp));
		s->recon_j = -1;
	}
	return s;
}

/* Cuts waiting requests into slices while there are contexts for them. */
static void cut(struct raid_qp *q)
{
	struct raid_priv *rp = rp_of(q);
	struct raid_uctx *u;

	while ((u = q->uwait)) {
		struct raid_sctx *sc[3];
		struct raid_slice sl[3];
		uint64_t used = 0;
		int k = 1, got = 0;

		if (u->req->op != WEIR_BLK_FLUSH)
			k = raid_slices(&rp->g, u->next_lba, u->end - u->next_lba, sl, &used);
		while (got < k && (sc[got] = sctx_get(q)))
			got++;
		if (got < k) {
			while (got--) {
				sc[got]->next = q->sfree;
				q->sfree = sc[got];
			}
			return;
		}
		u->next_lba += used;
		if (u->next_lba >= u->end && !(q->uwait = u->next))
			q->uwait_tail = NULL;
		u->slices += (uint32_t)k;
		for (int i = 0; i < k; i++) {
			sc[i]->u = u;
			sc[i]->op = u->zero ? WEIR_BLK_WRITE_ZEROES : u->req->op;
			sc[i]->fua = u->req->flags & WEIR_BLK_REQ_FUA;
			if (u->req->op != WEIR_BLK_FLUSH)
				sc[i]->s = sl[i];
			raid_plan(q, sc[i]);
		}
	}
}

static void rebuild_step(struct raid_qp *q)
{
	struct raid_priv *rp = rp_of(q);
	int slot = atomic_load_explicit(&rp->rebuild_slot, memory_order_acquire);
	uint64_t pos, rate = atomic_load_explicit(&rp->rate, memory_order_relaxed);
	weir_ns_t now;
	struct raid_sctx *s;

	if (slot < 0 || q->rb || atomic_load(&rp->lost) || !q->sfree)
		return;
	pos = atomic_load_explicit(&rp->rebuild_rows, memory_order_acquire);
	if (pos >= raid_rows(&rp->g))
		return;
	now = weir_clock_now();
	if (!q->rb_t0 || rate != q->rb_rate) {
		/* A new rebuild or a new rate: measure from now. */
		q->rb_t0 = now;
		q->rb_bytes = 0;
		q->rb_rate = rate;
	}
	if (rate && (double)q->rb_bytes * 1e9 > (double)rate * (double)(now - q->rb_t0))
		return;
	s = sctx_get(q);
	s->op = RAID_OP_REBUILD;
	s->target = (uint32_t)slot;
	s->s = (struct raid_slice){.row = pos, .off = 0, .len = rp->g.chunk};
	q->rb = s;
	raid_plan(q, s);
}

static void pump(struct raid_qp *q)
{
	struct raid_sctx *s = q->blocked;

	q->blocked = q->blocked_tail = NULL;
	while (s) {
		struct raid_sctx *next = s->next;

		s->queued = false;
		raid_plan(q, s);
		s = next;
	}
	cut(q);
	if (q->base.id == 0)
		rebuild_step(q);
	subs_flush(q);
}

uint16_t raid_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n)
{
	struct raid_qp *q = (struct raid_qp *)qp;
	struct raid_priv *rp = rp_of(q);
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct weir_blk_req *r = reqs[i];
		struct raid_uctx *u;

		if (rp->g.level == 5 && r->op == WEIR_BLK_DISCARD) {
			/* Advisory, and parity would have to follow: skipped. */
			q->n_noop++;
			weir_blk_qp_complete(qp, r, 0);
			continue;
		}
		if (!(u = q->ufree))
			break;
		q->ufree = u->next;
		*u = (struct raid_uctx){.req = r, .next_lba = r->lba, .end = r->lba + r->nblocks,
					.zero = rp->g.level == 5 && r->op == WEIR_BLK_WRITE_ZEROES};
		if (r->op == WEIR_BLK_FLUSH)
			u->next_lba = u->end = 0;
		if (r->op == WEIR_BLK_READ || r->op == WEIR_BLK_WRITE)
			u->niov = weir_blk_req_iov(r, u->iov);
		if (q->uwait_tail)
			q->uwait_tail->next = u;
		else
			q->uwait = u;
		q->uwait_tail = u;
	}
	pump(q);
	return i;
}

uint16_t raid_poll(struct weir_blk_qp *qp, uint16_t budget)
{
	struct raid_qp *q = (struct raid_qp *)qp;
	struct raid_priv *rp = rp_of(q);
	uint32_t before = qp->done_tail;
	struct weir_blk_req *done[32];

	(void)budget; /* completions go to the done ring, which has room for all */
	for (uint32_t m = 0; m < rp->g.n; m++) {
		uint16_t k;

		if (!atomic_load_explicit(&q->m_inflight[m], memory_order_relaxed))
			continue;
		k = weir_blk_poll_burst(rp->m[m].dev, qp->id, done, 32);
		for (uint16_t i = 0; i < k; i++)
			raid_sub_done(q, done[i]->udata);
	}
	pump(q);
	return (uint16_t)(qp->done_tail - before);
}

/*
 * Sleeps until a member with I/O in flight has a completion (ppoll on the
 * members' completion fds), then polls. The first poll hands every
 * member's prepared I/O to the kernel, so nothing waits on a sleeper.
 */
uint16_t raid_wait(struct weir_blk_qp *qp, uint16_t budget, uint64_t timeout_ns)
{
	struct raid_qp *q = (struct raid_qp *)qp;
	struct raid_priv *rp = rp_of(q);
	struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000ULL),
			      .tv_nsec = (long)(timeout_ns % 1000000000ULL)};
	struct pollfd fds[RAID_MAX_MEMBERS];
	nfds_t k = 0;
	uint16_t n = raid_poll(qp, budget);

	if (n)
		return n;
	for (uint32_t m = 0; m < rp->g.n; m++) {
		int fd;

		if (!atomic_load_explicit(&q->m_inflight[m], memory_order_relaxed))
			continue;
		fd = weir_blk_qp_fd(rp->m[m].dev, qp->id);
		if (fd < 0)
			return 0; /* a member that only polls: the caller spins */
		fds[k++] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	if (!k)
		return 0;
	ppoll(fds, k, timeout_ns == WEIR_BLK_WAIT_FOREVER ? NULL : &ts, NULL);
	return raid_poll(qp, budget);
}

int raid_qp_init(struct raid_priv *rp, struct raid_qp *q)
{
	q->uctx = calloc(q->base.qd, sizeof(*q->uctx));
	q->sctx = calloc(rp->slices, sizeof(*q->sctx));
	if (!q->uctx || !q->sctx)
		return -ENOMEM;
	for (uint32_t i = 0; i < q->base.qd; i++) {
		q->uctx[i].next = q->ufree;
		q->ufree = &q->uctx[i];
	}
	for (uint32_t i = 0; i < rp->slices; i++) {
		q->sctx[i].next = q->sfree;
		q->sfree = &q->sctx[i];
	}
	return 0;
}

void raid_qp_fini(struct raid_qp *q)
{
	/* Slices still holding buffers (the caller closed with I/O in
	 * flight) give them back; the members are drained by their close. */
	for (uint32_t i = 0; q->sctx && i < rp_of(q)->slices; i++)
		raid_tmp_put_all(&q->sctx[i]);
	free(q->uctx);
	free(q->sctx);
	q->uctx = NULL;
	q->sctx = NULL;
}

int raid_xstats(struct weir_blk *dev, struct weir_blk_xstat *xs, int n)
{
	static const char *const names[] = {"full_stripe_writes", "rmw_writes", "rcw_writes",
					    "degraded_writes", "reconstructed_reads", "row_lock_waits",
					    "replans", "discards_without_effect"};
	uint64_t v[8] = {0};
	int k = (int)WEIR_ARRAY_SIZE(names);

	for (uint16_t i = 0; i < dev->nb_qp; i++) {
		const struct raid_qp *q = (const struct raid_qp *)dev->qp[i];

		v[0] += q->n_full, v[1] += q->n_rmw, v[2] += q->n_rcw, v[3] += q->n_data_only;
		v[4] += q->n_recon, v[5] += q->n_lock_waits, v[6] += q->n_replans, v[7] += q->n_noop;
	}
	for (int i = 0; i < k && i < n; i++) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", names[i]);
		xs[i].value = v[i];
	}
	return k;
}
