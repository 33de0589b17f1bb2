/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Lock-free rings of pointers, the way DPDK's rte_ring does it: a producer
 * head/tail pair and a consumer head/tail pair on separate cache lines,
 * free-running 32-bit indexes masked on access, power-of-two sizes.
 *
 * The sync mode is chosen at creation: single or multi producer, single or
 * multi consumer. Multi-producer enqueue reserves slots with a CAS on the
 * producer head, copies, then waits for earlier producers before moving the
 * tail, so consumers never see a half-written slot.
 *
 * Bursts enqueue/dequeue as many as fit and return the count; bulk calls are
 * all or nothing and return 0 or a negative errno (include/weir/common.h). What did not fit is counted (enq_drops, objects) so that a
 * pipeline can see where it overflows.
 */
#ifndef WEIR_RING_H
#define WEIR_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common.h"

enum weir_ring_flags {
	WEIR_RING_MP_MC = 0,
	WEIR_RING_SP_ENQ = 1 << 0, /* only one thread ever enqueues */
	WEIR_RING_SC_DEQ = 1 << 1, /* only one thread ever dequeues */
};

#define WEIR_RING_NAMESIZE 32
#define WEIR_RING_MAX_SIZE (1U << 30)

struct weir_ring_headtail {
	_Atomic uint32_t head;
	_Atomic uint32_t tail;
	uint32_t single; /* 1: one thread only, plain stores suffice */
};

struct weir_ring {
	char name[WEIR_RING_NAMESIZE];
	uint32_t size;
	uint32_t mask;
	unsigned flags;
	struct weir_ring_headtail prod weir_cache_aligned;
	_Atomic uint64_t enq_drops; /* objects refused because the ring was full */
	struct weir_ring_headtail cons weir_cache_aligned;
	_Atomic uint64_t deq_empty; /* dequeue calls that found nothing */
	void *objs[] weir_cache_aligned;
};

static_assert(offsetof(struct weir_ring, prod) % WEIR_CACHE_LINE == 0, "prod line");
static_assert(offsetof(struct weir_ring, cons) - offsetof(struct weir_ring, prod) >= WEIR_CACHE_LINE,
	      "producer and consumer state share a cache line");

/*
 * Creates a ring of `size` slots (a power of two, 2 .. 2^30) with the
 * given sync flags: 0 and *out, or -EINVAL (bad size or flags) or -ENOMEM
 * with *out untouched. Thread safety: not safe against concurrent use of
 * the same ring; the ring itself is then used as its flags say.
 */
int weir_ring_create(const char *name, uint32_t size, unsigned flags, struct weir_ring **out);
void weir_ring_destroy(struct weir_ring *r);

/* Objects in the ring now (a snapshot when other threads run). */
WEIR_INLINE uint32_t weir_ring_count(const struct weir_ring *r)
{
	uint32_t prod = atomic_load_explicit(&r->prod.tail, memory_order_relaxed);
	uint32_t cons = atomic_load_explicit(&r->cons.tail, memory_order_relaxed);

	return prod - cons;
}

WEIR_INLINE uint32_t weir_ring_free_count(const struct weir_ring *r)
{
	return r->size - weir_ring_count(r);
}

WEIR_INLINE uint32_t weir_ring_capacity(const struct weir_ring *r)
{
	return r->size;
}

/*
 * Moves d's head by up to n slots (all: exactly n or none) against the
 * other side's tail s. capacity is the ring size for a producer and 0 for
 * a consumer, so capacity + s->tail - head is the free slots or the filled
 * ones; unsigned arithmetic keeps it right across the 32-bit wrap. Returns
 * how many slots were reserved, starting at *old_head.
 *
 * Memory order, with the names DPDK's rte_ring_c11_pvt.h gives the same
 * edges (weir followed its 2025 correction for weakly ordered CPUs):
 *   R0  release store of a tail (weir_ring_update_tail)
 *   A1  acquire load of the other side's tail here; pairs with R0: the
 *       slots the other side wrote (or finished reading) before R0 are
 *       visible (or free) once its new tail is seen.
 *   R1  release CAS of the head (multi-thread mode only)
 *   A0  acquire load of the head; pairs with R1 of another thread of the
 *       same role: the tail that thread read (A1) before moving the head
 *       happens-before our own A1, so we read that tail or a newer one. A
 *       head newer than the tail it is compared with would make
 *       `capacity + tail - head` wrap to a huge count and hand out slots
 *       that are not free (or not written). weir's CAS used to be
 *       acquire-only (DPDK's before 2025: relaxed, after a fence), so A0
 *       synchronized with nothing; x86 and RCsc CPUs hid that, Arm cores
 *       with RCpc acquires (LDAPR) do not.
 *   A2  acquire on CAS failure; pairs with the R1 that beat us, as A0.
 *   A3  acquire wait for the earlier reservation's tail (update_tail).
 * On x86 all of these compile to plain loads and one lock cmpxchg.
 *
 * Always inlined: each call site then folds the single/multi branch and
 * the producer/consumer capacity, and the compiler sees that no more than
 * n slots come back (the copies below move fixed 8-pointer chunks).
 */
static weir_always_inline uint32_t weir_ring_move_head(struct weir_ring_headtail *d,
						       const struct weir_ring_headtail *s,
						       uint32_t capacity, uint32_t n, int all,
						       uint32_t *old_head)
{
	uint32_t head, stail, avail, want;

	if (d->single) {
		/* Only this thread writes d->head: relaxed both ways. */
		head = atomic_load_explicit(&d->head, memory_order_relaxed);
		/* A1, pairs with R0 of the other side. */
		stail = atomic_load_explicit(&s->tail, memory_order_acquire);
		avail = capacity + stail - head;
		if (n > avail)
			n = all ? 0 : avail;
		if (n)
			atomic_store_explicit(&d->head, head + n, memory_order_relaxed);
		*old_head = head;
		return n;
	}
	/* A0, pairs with R1 of another thread of this role. */
	head = atomic_load_explicit(&d->head, memory_order_acquire);
	do {
		/* A1, pairs with R0 of the other side. */
		stail = atomic_load_explicit(&s->tail, memory_order_acquire);
		avail = capacity + stail - head;
		want = n;
		if (want > avail)
			want = all ? 0 : avail;
		if (!want) {
			*old_head = head;
			return 0;
		}
		/* R1 on success (pairs with A0/A2 of the next thread of this
		 * role); A2 on failure (pairs with the R1 that moved it). */
	} while (!atomic_compare_exchange_weak_explicit(&d->head, &head, head + want,
							memory_order_release, memory_order_acquire));
	*old_head = head;
	return want;
}

/* Publish [old, old+n) by moving a tail; multi-thread mode waits for the
 * threads that reserved earlier slots to publish theirs first. */
static inline void weir_ring_update_tail(struct weir_ring_headtail *ht, uint32_t old, uint32_t n)
{
	/* A3, pairs with R0 of the thread of this role that reserved the
	 * slots before ours: its slot accesses then happen-before our R0, so
	 * the other side, which synchronizes only with the last tail store,
	 * sees them too. A plain store does not extend that thread's release
	 * sequence, so a relaxed wait (DPDK's choice) leaves this edge to the
	 * hardware; acquire says it in the language, at no cost on x86 and
	 * one load-acquire per poll on Arm. */
	if (!ht->single) {
		while (atomic_load_explicit(&ht->tail, memory_order_acquire) != old)
			weir_pause();
	}
	/* R0: the slot copies above are visible (or, for a consumer, done)
	 * before the new tail; pairs with A1 in weir_ring_move_head() of the
	 * other side. */
	atomic_store_explicit(&ht->tail, old + n, memory_order_release);
}

static inline uint32_t weir_ring_do_enqueue(struct weir_ring *r, void *const *objs, uint32_t n,
					    int all)
{
	uint32_t head, got, idx, first;

	got = weir_ring_move_head(&r->prod, &r->cons, r->size, n, all, &head);
	if (weir_unlikely(got < n))
		atomic_fetch_add_explicit(&r->enq_drops, n - got, memory_order_relaxed);
	if (!got)
		return 0;
	idx = head & r->mask;
	if (weir_likely(idx + got <= r->size)) {
		weir_copy_ptrs(&r->objs[idx], objs, got);
	} else {
		first = r->size - idx;
		weir_copy_ptrs(&r->objs[idx], objs, first);
		weir_copy_ptrs(&r->objs[0], objs + first, got - first);
	}
	weir_ring_update_tail(&r->prod, head, got);
	return got;
}

static inline uint32_t weir_ring_do_dequeue(struct weir_ring *r, void **objs, uint32_t n, int all)
{
	uint32_t head, got, idx, first;

	got = weir_ring_move_head(&r->cons, &r->prod, 0, n, all, &head);
	if (!got) {
		if (n)
			atomic_fetch_add_explicit(&r->deq_empty, 1, memory_order_relaxed);
		return 0;
	}
	idx = head & r->mask;
	if (weir_likely(idx + got <= r->size)) {
		weir_copy_ptrs(objs, &r->objs[idx], got);
	} else {
		first = r->size - idx;
		weir_copy_ptrs(objs, &r->objs[idx], first);
		weir_copy_ptrs(objs + first, &r->objs[0], got - first);
	}
	weir_ring_update_tail(&r->cons, head, got);
	return got;
}

/* Enqueue as many of n as fit; returns how many. Caller keeps the rest. */
WEIR_INLINE uint32_t weir_ring_enqueue_burst(struct weir_ring *r, void *const *objs, uint32_t n)
{
	return weir_ring_do_enqueue(r, objs, n, 0);
}

/* Enqueue all n or none: 0, or -ENOBUFS (nothing enqueued, n counted in
 * enq_drops) when they do not fit. */
WEIR_INLINE int weir_ring_enqueue_bulk(struct weir_ring *r, void *const *objs, uint32_t n)
{
	return weir_ring_do_enqueue(r, objs, n, 1) == n ? 0 : -ENOBUFS;
}

WEIR_INLINE uint32_t weir_ring_dequeue_burst(struct weir_ring *r, void **objs, uint32_t n)
{
	return weir_ring_do_dequeue(r, objs, n, 0);
}

/* Dequeue exactly n or nothing: 0, or -ENOENT (nothing taken) when fewer
 * are there. */
WEIR_INLINE int weir_ring_dequeue_bulk(struct weir_ring *r, void **objs, uint32_t n)
{
	return weir_ring_do_dequeue(r, objs, n, 1) == n ? 0 : -ENOENT;
}

/* One object: 0 or -ENOBUFS (full); 0 or -ENOENT (empty). */
WEIR_INLINE int weir_ring_enqueue(struct weir_ring *r, void *obj)
{
	return weir_ring_enqueue_bulk(r, &obj, 1);
}

WEIR_INLINE int weir_ring_dequeue(struct weir_ring *r, void **obj)
{
	return weir_ring_dequeue_bulk(r, obj, 1);
}

#endif
