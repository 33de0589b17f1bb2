/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CoDel (RFC 8289), the algorithm alone: parameters, per-queue state, the
 * control law and the dequeue-side state machine. It knows nothing about
 * packets: the queue it controls is reached through three callbacks
 * (dequeue an item, its enqueue time and length, drop or ECN-mark it), so
 * codel.c (one queue), fq_codel.c (one per flow) and the unit tests (plain
 * structs) share it. All functions are static inline: the callbacks are
 * constants at every call site and inline away.
 *
 * The control law spaces drops by interval / sqrt(count). As in Linux's
 * codel.h the inverse square root is kept as a Q0.32 fixed-point number and
 * refined by one Newton step each time count grows (exact from a table for
 * small counts), so no division or sqrt() runs per packet.
 *
 * One option is weir's own (codel_params.trend, off by default): no drop
 * while the queue already drains between drops (see codel_hold).
 */
#ifndef WEIR_QDISC_CODEL_H
#define WEIR_QDISC_CODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "weir/clock.h"

struct codel_params {
	weir_ns_t target;       /* acceptable standing queue delay (5 ms) */
	weir_ns_t interval;     /* sliding-minimum window, ~ worst RTT (100 ms) */
	weir_ns_t ce_threshold; /* mark CE above this sojourn; 0: off */
	uint32_t mtu;           /* backlog at or below one MTU never drops */
	bool ecn;               /* mark ECT packets instead of dropping */
	bool trend;             /* weir's option, not RFC 8289: see codel_hold */
};

struct codel_vars {
	uint32_t count;            /* drops (or marks) since entering dropping */
	uint32_t lastcount;        /* count when the last dropping state ended */
	bool dropping;
	uint32_t rec_inv_sqrt;     /* 1/sqrt(count), Q0.32 */
	weir_ns_t first_above_time; /* when sojourn stayed above target an interval; 0: below */
	weir_ns_t drop_next;       /* next drop (or mark) in dropping state */
	weir_ns_t ldelay;          /* sojourn of the last dequeued item */
	weir_ns_t win_min;         /* trend: least sojourn since the last decision */
	weir_ns_t prev_min;        /* trend: win_min at the last decision */
};

struct codel_stats {
	uint32_t maxpacket;     /* largest item seen */
	uint64_t drop_count;
	uint64_t drop_len;
	uint64_t ecn_mark;
	uint64_t ce_mark;       /* marks from ce_threshold */
	uint64_t drop_held;     /* trend: drops the control law called for, skipped */
};

/* Callbacks: the queue under control, passed to codel_dequeue. */
struct codel_queue_ops {
	void *(*dequeue)(void *ctx);
	weir_ns_t (*enq_time)(const void *item);
	uint32_t (*len)(const void *item);
	void (*drop)(void *ctx, void *item);
	bool (*set_ce)(void *ctx, void *item); /* false: not ECN-capable */
};

static inline void codel_params_init(struct codel_params *p)
{
	p->target = 5 * WEIR_NS_PER_MS;
	p->interval = 100 * WEIR_NS_PER_MS;
	p->ce_threshold = 0;
	p->mtu = 1514;
	p->ecn = false;
	p->trend = false;
}

static inline void codel_vars_init(struct codel_vars *v)
{
	*v = (struct codel_vars){ .rec_inv_sqrt = UINT32_MAX, .win_min = UINT64_MAX };
}

/*
 * 1/sqrt(n) in Q0.32 for small n. A Newton step from 1/sqrt(n-1) is 30% off
 * at n = 2 and still ~1% off near n = 10 (the kernel lives with that); the
 * first drops of an episode are the ones that matter most, so they use the
 * exact value (as CAKE's COBALT does), and Newton takes over above it,
 * where consecutive counts are close and one step is accurate to 1e-4.
 */
#define CODEL_INVSQRT_CACHE 64
static const uint32_t codel_invsqrt_cache[CODEL_INVSQRT_CACHE] = {
	0x00000000u, 0xffffffffu, 0xb504f334u, 0x93cd3a2du,
	0x80000000u, 0x727c9717u, 0x6882f5c0u, 0x60c2479bu,
	0x5a82799au, 0x55555555u, 0x50f44d89u, 0x4d2fd8f4u,
	0x49e69d16u, 0x47006a81u, 0x446b3b96u, 0x4219528bu,
	0x40000000u, 0x3e16d092u, 0x3c56fbbcu, 0x3abafd52u,
	0x393e4b8bu, 0x37dd20aeu, 0x36945278u, 0x3561335du,
	0x34417ae0u, 0x33333333u, 0x3234aac3u, 0x314468bau,
	0x306123cdu, 0x2f89baccu, 0x2ebd2e8du, 0x2dfa9cf2u,
	0x2d413ccdu, 0x2c905a6fu, 0x2be754ceu, 0x2b459b19u,
	0x2aaaaaabu, 0x2a160d52u, 0x298757d2u, 0x28fe28a0u,
	0x287a26c5u, 0x27fb00f0u, 0x27806ca2u, 0x270a2574u,
	0x2697ec7au, 0x262987b2u, 0x25bec18cu, 0x25576878u,
	0x24f34e8bu, 0x24924925u, 0x243430a4u, 0x23d8e025u,
	0x23803540u, 0x232a0fdau, 0x22d651ebu, 0x2284df58u,
	0x22359dcbu, 0x21e8748cu, 0x219d4c63u, 0x21540f7bu,
	0x210ca946u, 0x20c70664u, 0x20831490u, 0x2040c289u,
};

/* One Newton iteration of x' = x/2 * (3 - count * x^2) for x ~ 1/sqrt(count). */
static inline void codel_newton_step(struct codel_vars *v)
{
	uint64_t invsqrt = v->rec_inv_sqrt;

	if (v->count < CODEL_INVSQRT_CACHE) {
		v->rec_inv_sqrt = codel_invsqrt_cache[v->count ? v->count : 1];
		return;
	}
	uint64_t invsqrt2 = (invsqrt * invsqrt) >> 32;
	uint64_t val = (3ULL << 32) - (uint64_t)v->count * invsqrt2;

	val >>= 2; /* Q30, so the next product fits in 64 bits */
	val = (val * invsqrt) >> (32 - 2 + 1);
	v->rec_inv_sqrt = val > UINT32_MAX ? UINT32_MAX : (uint32_t)val;
}

/* t + interval / sqrt(count). */
static inline weir_ns_t codel_control_law(weir_ns_t t, weir_ns_t interval, uint32_t rec_inv_sqrt)
{
	return t + (weir_ns_t)(((unsigned __int128)interval * rec_inv_sqrt) >> 32);
}

/*
 * RFC 8289 section 5.4 "dodequeue": true when the item at the head has
 * waited above target for at least an interval. item == NULL means the
 * queue ran empty.
 */
static inline bool codel_should_drop(const void *item, struct codel_vars *v,
				     const struct codel_params *p, struct codel_stats *st,
				     const struct codel_queue_ops *ops, uint64_t backlog,
				     weir_ns_t now)
{
	uint32_t len;

	if (!item) {
		v->first_above_time = 0;
		return false;
	}
	len = ops->len(item);
	v->ldelay = now - ops->enq_time(item);
	if (v->ldelay < v->win_min)
		v->win_min = v->ldelay;
	if (len > st->maxpacket)
		st->maxpacket = len;
	/* Below target, or too little queued to matter (one MTU): reset. */
	if (v->ldelay < p->target || backlog <= p->mtu) {
		v->first_above_time = 0;
		return false;
	}
	if (v->first_above_time == 0) {
		v->first_above_time = now + p->interval;
		/* A zero time is the "below" sentinel; nudge it off. */
		if (v->first_above_time == 0)
			v->first_above_time = 1;
		return false;
	}
	return weir_time_after(now, v->first_above_time);
}

/*
 * The trend option (weir's, off by default; not in RFC 8289 or Linux):
 * in the dropping state a drop the control law calls for is skipped when
 * the least sojourn seen since the last decision is below the least of the
 * span before: the standing queue is falling, the flow backs off already.
 * (The least, not the head's: a TSO burst enters with one timestamp, so
 * the head's sojourn is a sawtooth; and the span starts after the last
 * drop, whose removal of a packet does not count as a fall.) A TCP flow's
 * answer to a drop reaches the queue one RTT plus the sojourn later; until
 * then plain CoDel sees the same queue and drops again into a window
 * already cut (three or four Cubic reductions for the one or two a
 * slow-start overshoot needed, and the link idles while the window grows
 * back). A skip leaves count as it was and schedules the next decision by
 * the control law. A flow that sends faster than it is served (an
 * unresponsive one, or TCP before its answer arrives) has a rising queue
 * between decisions and is dropped into exactly as by plain CoDel.
 */
static inline bool codel_hold(struct codel_vars *v, const struct codel_params *p,
			      struct codel_stats *st)
{
	bool falling = v->win_min < v->prev_min;

	v->prev_min = v->win_min;
	v->win_min = UINT64_MAX;
	if (!p->trend || !falling)
		return false;
	st->drop_held++;
	v->drop_next = codel_control_law(v->drop_next, p->interval, v->rec_inv_sqrt);
	return true;
}

/*
 * Drops the head *item and dequeues the next into *item; returns whether
 * CoDel would drop that one too. The next head arrived later than the one
 * dropped: the fall in sojourn this removal causes by itself is taken off
 * trend's reference, so only a fall between drops reads as backing off.
 */
static inline bool codel_drop_head(void *ctx, void **item, const uint64_t *backlog,
				   const struct codel_params *p, struct codel_vars *v,
				   struct codel_stats *st, const struct codel_queue_ops *ops,
				   weir_ns_t now)
{
	weir_ns_t t = ops->enq_time(*item);

	st->drop_len += ops->len(*item);
	st->drop_count++;
	ops->drop(ctx, *item);
	*item = ops->dequeue(ctx);
	if (*item && weir_time_after(ops->enq_time(*item), t)) {
		weir_ns_t gap = ops->enq_time(*item) - t;

		v->prev_min = v->prev_min > gap ? v->prev_min - gap : 0;
	}
	return codel_should_drop(*item, v, p, st, ops, *backlog, now);
}

/*
 * Dequeues the next item that CoDel lets through, dropping (or marking)
 * per the control law (RFC 8289 section 5.5, with Linux's refinements:
 * count reuse when re-entering the dropping state soon, ECN instead of a
 * drop when enabled). *backlog is the controlled queue's byte backlog and
 * must be kept current by ops->dequeue/ops->drop. ops->set_ce runs at
 * most once per returned item.
 */
static inline void *codel_dequeue(void *ctx, const uint64_t *backlog, const struct codel_params *p,
				  struct codel_vars *v, struct codel_stats *st,
				  const struct codel_queue_ops *ops, weir_ns_t now)
{
	void *item = ops->dequeue(ctx);
	bool drop, marked = false;

	if (!item) {
		v->dropping = false;
		return NULL;
	}
	drop = codel_should_drop(item, v, p, st, ops, *backlog, now);
	if (v->dropping) {
		if (!drop) {
			v->dropping = false; /* sojourn back under target */
		} else {
			/* A large backlog may call for several drops at once. */
			while (v->dropping && !weir_time_after(v->drop_next, now)) {
				if (codel_hold(v, p, st))
					break;
				v->count++;
				codel_newton_step(v);
				if (p->ecn && ops->set_ce(ctx, item)) {
					st->ecn_mark++;
					marked = true;
					v->drop_next = codel_control_law(v->drop_next, p->interval,
									 v->rec_inv_sqrt);
					goto end;
				}
				if (!codel_drop_head(ctx, &item, backlog, p, v, st, ops, now))
					v->dropping = false;
				else
					v->drop_next = codel_control_law(v->drop_next, p->interval,
									 v->rec_inv_sqrt);
			}
		}
	} else if (drop) {
		uint32_t delta;

		if (p->ecn && ops->set_ce(ctx, item)) {
			st->ecn_mark++;
			marked = true;
		} else {
			drop = codel_drop_head(ctx, &item, backlog, p, v, st, ops, now);
		}
		v->prev_min = v->ldelay;
		v->win_min = UINT64_MAX;
		v->dropping = true;
		/*
		 * Re-entering the dropping state soon after leaving it: the
		 * drop rate that controlled the queue last time is a good start
		 * (RFC 8289 section 5.5); Newton steps correct the estimate.
		 */
		delta = v->count - v->lastcount;
		if (delta > 1 && (int64_t)(now - v->drop_next) < (int64_t)(16 * p->interval)) {
			v->count = delta;
			codel_newton_step(v);
		} else {
			v->count = 1;
			v->rec_inv_sqrt = UINT32_MAX;
		}
		v->lastcount = v->count;
		v->drop_next = codel_control_law(now, p->interval, v->rec_inv_sqrt);
	}
end:
	/* A packet the control law just marked is CE already: it counts as a
	 * ce_mark too (as in Linux), but set_ce, which counts a mark in the
	 * qdisc tree, runs once per packet. */
	if (item && p->ce_threshold && v->ldelay > p->ce_threshold &&
	    (marked || ops->set_ce(ctx, item)))
		st->ce_mark++;
	return item;
}

#endif
