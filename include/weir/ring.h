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
 * all or nothing. What did not fit is counted (enq_drops, objects) so that a
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
 * given sync flags. Returns NULL and sets *err to -EINVAL (bad size or
 * flags) or -ENOMEM. Thread safety: not safe against concurrent use of the
 * same ring; the ring itself is then used as its flags say.
 */
struct weir_ring *weir_ring_create(const char *name, uint32_t size, unsigned flags, int *err);
void weir_ring_destroy(struct weir_ring *r);

/* Objects in the ring now (a snapshot when other threads run). */
static inline uint32_t weir_ring_count(const struct weir_ring *r)
{
	uint32_t prod = atomic_load_explicit(&r->prod.tail, memory_order_relaxed);
	uint32_t cons = atomic_load_explicit(&r->cons.tail, memory_order_relaxed);

	return prod - cons;
}

static inline uint32_t weir_ring_free_count(const struct weir_ring *r)
{
	return r->size - weir_ring_count(r);
}

static inline uint32_t weir_ring_capacity(const struct weir_ring *r)
{
	return r->size;
}

/* Reserve up to n producer slots; returns how many and where they start. */
static inline uint32_t weir_ring_move_prod_head(struct weir_ring *r, uint32_t n, int all,
						uint32_t *old_head)
{
	uint32_t head, cons_tail, avail;

	if (r->prod.single) {
		head = atomic_load_explicit(&r->prod.head, memory_order_relaxed);
		/* Pairs with the release store of cons.tail in dequeue: slots the
		 * consumer released are free to overwrite. */
		cons_tail = atomic_load_explicit(&r->cons.tail, memory_order_acquire);
		avail = r->size - (head - cons_tail);
		if (n > avail)
			n = all ? 0 : avail;
		if (n)
			atomic_store_explicit(&r->prod.head, head + n, memory_order_relaxed);
		*old_head = head;
		return n;
	}
	/* Acquire keeps the head load before the cons.tail load below (as
	 * DPDK's C11 ring does with a fence): a head newer than the tail we
	 * compare it with would make avail wrap on weakly ordered CPUs. */
	head = atomic_load_explicit(&r->prod.head, memory_order_acquire);
	for (;;) {
		uint32_t want = n;

		/* Pairs with the release store of cons.tail in dequeue. */
		cons_tail = atomic_load_explicit(&r->cons.tail, memory_order_acquire);
		avail = r->size - (head - cons_tail);
		if (want > avail)
			want = all ? 0 : avail;
		if (!want) {
			*old_head = head;
			return 0;
		}
		if (atomic_compare_exchange_weak_explicit(&r->prod.head, &head, head + want,
							  memory_order_acquire,
							  memory_order_acquire)) {
			*old_head = head;
			return want;
		}
	}
}

static inline uint32_t weir_ring_move_cons_head(struct weir_ring *r, uint32_t n, int all,
						uint32_t *old_head)
{
	uint32_t head, prod_tail, avail;

	if (r->cons.single) {
		head = atomic_load_explicit(&r->cons.head, memory_order_relaxed);
		/* Pairs with the release store of prod.tail in enqueue: the
		 * objects written before it are visible. */
		prod_tail = atomic_load_explicit(&r->prod.tail, memory_order_acquire);
		avail = prod_tail - head;
		if (n > avail)
			n = all ? 0 : avail;
		if (n)
			atomic_store_explicit(&r->cons.head, head + n, memory_order_relaxed);
		*old_head = head;
		return n;
	}
	/* Acquire: see weir_ring_move_prod_head(). */
	head = atomic_load_explicit(&r->cons.head, memory_order_acquire);
	for (;;) {
		uint32_t want = n;

		/* Pairs with the release store of prod.tail in enqueue. */
		prod_tail = atomic_load_explicit(&r->prod.tail, memory_order_acquire);
		avail = prod_tail - head;
		if (want > avail)
			want = all ? 0 : avail;
		if (!want) {
			*old_head = head;
			return 0;
		}
		if (atomic_compare_exchange_weak_explicit(&r->cons.head, &head, head + want,
							  memory_order_acquire,
							  memory_order_acquire)) {
			*old_head = head;
			return want;
		}
	}
}

/* Publish [old, old+n) by moving a tail; multi-thread mode waits for the
 * threads that reserved earlier slots to publish theirs first. */
static inline void weir_ring_update_tail(struct weir_ring_headtail *ht, uint32_t old, uint32_t n)
{
	if (!ht->single) {
		while (atomic_load_explicit(&ht->tail, memory_order_relaxed) != old)
			__builtin_ia32_pause();
	}
	/* Release: the slot copies above are visible before the new tail;
	 * pairs with the acquire loads in move_prod_head/move_cons_head. */
	atomic_store_explicit(&ht->tail, old + n, memory_order_release);
}

static inline uint32_t weir_ring_do_enqueue(struct weir_ring *r, void *const *objs, uint32_t n,
					    int all)
{
	uint32_t head, got, idx, first;

	got = weir_ring_move_prod_head(r, n, all, &head);
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

	got = weir_ring_move_cons_head(r, n, all, &head);
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
static inline uint32_t weir_ring_enqueue_burst(struct weir_ring *r, void *const *objs, uint32_t n)
{
	return weir_ring_do_enqueue(r, objs, n, 0);
}

/* Enqueue all n or none; returns n, or -ENOBUFS when they do not fit. */
static inline int weir_ring_enqueue_bulk(struct weir_ring *r, void *const *objs, uint32_t n)
{
	return weir_ring_do_enqueue(r, objs, n, 1) == n ? (int)n : -ENOBUFS;
}

static inline uint32_t weir_ring_dequeue_burst(struct weir_ring *r, void **objs, uint32_t n)
{
	return weir_ring_do_dequeue(r, objs, n, 0);
}

/* Dequeue exactly n or nothing; returns n, or -ENOENT when fewer are there. */
static inline int weir_ring_dequeue_bulk(struct weir_ring *r, void **objs, uint32_t n)
{
	return weir_ring_do_dequeue(r, objs, n, 1) == n ? (int)n : -ENOENT;
}

static inline int weir_ring_enqueue(struct weir_ring *r, void *obj)
{
	return weir_ring_enqueue_bulk(r, &obj, 1) == 1 ? 0 : -ENOBUFS;
}

static inline int weir_ring_dequeue(struct weir_ring *r, void **obj)
{
	return weir_ring_dequeue_bulk(r, obj, 1) == 1 ? 0 : -ENOENT;
}

/* Exported twins of the inline fast path, for bindings and debuggers. */
uint32_t weir_ring_enqueue_burst_sym(struct weir_ring *r, void *const *objs, uint32_t n);
uint32_t weir_ring_dequeue_burst_sym(struct weir_ring *r, void **objs, uint32_t n);

#endif
