// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for include/weir/ring.h and src/ring.c: creation limits,
 * full/empty in both sync modes, burst (as many as fit) against bulk (all
 * or nothing), the drop and empty counters, index wrap-around, and an MPMC
 * stress test in which every object must arrive exactly once.
 *
 * Rings hold pointers, not packets, so no pool is involved; the suite's
 * fini still checks that every ring a test created was destroyed.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "weir/ring.h"

static int rings_live;

static struct weir_ring *mk(uint32_t size, unsigned flags)
{
	struct weir_ring *r = NULL;
	int err = weir_ring_create("t", size, flags, &r);

	cr_assert_eq(err, 0, "ring of %u: err %d", size, err);
	cr_assert_not_null(r);
	rings_live++;
	return r;
}

static void rm(struct weir_ring *r)
{
	weir_ring_destroy(r);
	rings_live--;
}

static void fini(void)
{
	if (rings_live) {
		cr_log_error("%d ring(s) not destroyed", rings_live);
		abort();
	}
}

TestSuite(ring, .fini = fini, .timeout = 60);

#define P(i) ((void *)(uintptr_t)(i))

Test(ring, create_rejects_bad_sizes_and_flags)
{
	const uint32_t bad[] = {0, 1, 3, 1000, WEIR_RING_MAX_SIZE * 2u, UINT32_MAX};
	struct weir_ring *r = NULL;

	for (size_t i = 0; i < WEIR_ARRAY_SIZE(bad); i++) {
		int err = weir_ring_create("x", bad[i], 0, &r);

		cr_expect_eq(err, -EINVAL, "size %u: err %d", bad[i], err);
		cr_expect_null(r, "size %u: *out written on failure", bad[i]);
	}
	cr_expect_eq(weir_ring_create("x", 64, 1u << 5, &r), -EINVAL);
	cr_expect_null(r);
	/* NULL name is allowed and gets a default. */
	cr_assert_eq(weir_ring_create(NULL, 2, 0, &r), 0);
	cr_assert_not_null(r);
	cr_expect_str_eq(r->name, "ring");
	weir_ring_destroy(r);
}

Test(ring, layout_keeps_producer_and_consumer_apart)
{
	struct weir_ring *r = mk(8, 0);

	cr_expect_eq((uintptr_t)r % WEIR_CACHE_LINE, 0);
	cr_expect_eq((uintptr_t)&r->prod % WEIR_CACHE_LINE, 0);
	cr_expect_eq((uintptr_t)&r->cons % WEIR_CACHE_LINE, 0);
	cr_expect_eq((uintptr_t)r->objs % WEIR_CACHE_LINE, 0);
	cr_expect_eq(weir_ring_capacity(r), 8);
	rm(r);
}

struct mode {
	unsigned flags;
	const char *name;
};

static const struct mode modes[] = {
	{WEIR_RING_MP_MC, "mpmc"},
	{WEIR_RING_SP_ENQ | WEIR_RING_SC_DEQ, "spsc"},
	{WEIR_RING_SP_ENQ, "spmc"},
	{WEIR_RING_SC_DEQ, "mpsc"},
};

ParameterizedTestParameters(ring, full_and_empty)
{
	return cr_make_param_array(struct mode, modes, WEIR_ARRAY_SIZE(modes));
}

ParameterizedTest(const struct mode *m, ring, full_and_empty)
{
	struct weir_ring *r = mk(16, m->flags);
	void *obj;

	cr_expect_eq(r->prod.single, !!(m->flags & WEIR_RING_SP_ENQ), "%s", m->name);
	cr_expect_eq(r->cons.single, !!(m->flags & WEIR_RING_SC_DEQ), "%s", m->name);
	cr_expect_eq(weir_ring_dequeue(r, &obj), -ENOENT, "%s: empty ring gave something",
		     m->name);
	cr_expect_eq(r->deq_empty, 1);
	/* The whole size is usable: no slot is sacrificed. */
	for (uintptr_t i = 0; i < 16; i++)
		cr_assert_eq(weir_ring_enqueue(r, P(i + 1)), 0, "%s: slot %lu", m->name,
			     (unsigned long)i);
	cr_expect_eq(weir_ring_count(r), 16);
	cr_expect_eq(weir_ring_free_count(r), 0);
	cr_expect_eq(weir_ring_enqueue(r, P(99)), -ENOBUFS, "%s: full ring took more", m->name);
	cr_expect_eq(r->enq_drops, 1);
	for (uintptr_t i = 0; i < 16; i++) {
		cr_assert_eq(weir_ring_dequeue(r, &obj), 0);
		cr_assert_eq(obj, P(i + 1), "%s: FIFO order broken at %lu", m->name,
			     (unsigned long)i);
	}
	cr_expect_eq(weir_ring_dequeue(r, &obj), -ENOENT);
	cr_expect_eq(weir_ring_count(r), 0);
	rm(r);
}

ParameterizedTestParameters(ring, burst_vs_bulk)
{
	return cr_make_param_array(struct mode, modes, WEIR_ARRAY_SIZE(modes));
}

ParameterizedTest(const struct mode *m, ring, burst_vs_bulk)
{
	struct weir_ring *r = mk(32, m->flags);
	void *in[40], *out[40];

	for (uintptr_t i = 0; i < 40; i++)
		in[i] = P(1000 + i);
	/* Bulk is all or nothing: 40 never fit into 32. */
	cr_expect_eq(weir_ring_enqueue_bulk(r, in, 40), -ENOBUFS);
	cr_expect_eq(weir_ring_count(r), 0, "%s: failed bulk left objects", m->name);
	cr_expect_eq(r->enq_drops, 40);
	/* Burst takes as many as fit. */
	cr_expect_eq(weir_ring_enqueue_burst(r, in, 40), 32);
	cr_expect_eq(r->enq_drops, 48, "%s: drops %lu", m->name, (unsigned long)r->enq_drops);
	cr_expect_eq(weir_ring_enqueue_burst(r, in, 0), 0);
	/* Bulk dequeue of more than there is takes nothing. */
	cr_expect_eq(weir_ring_dequeue_bulk(r, out, 33), -ENOENT);
	cr_expect_eq(weir_ring_count(r), 32);
	cr_expect_eq(weir_ring_dequeue_bulk(r, out, 10), 0, "bulk success is 0, not n");
	for (int i = 0; i < 10; i++)
		cr_expect_eq(out[i], in[i]);
	cr_expect_eq(weir_ring_dequeue_burst(r, out, 40), 22);
	for (int i = 0; i < 22; i++)
		cr_expect_eq(out[i], in[10 + i]);
	cr_expect_eq(weir_ring_dequeue_burst(r, out, 40), 0);
	cr_expect_eq(weir_ring_dequeue_burst(r, out, 0), 0);
	/* An empty dequeue of 0 objects is not an "empty" event. */
	cr_expect_eq(r->deq_empty, 2, "%s: deq_empty %lu", m->name, (unsigned long)r->deq_empty);
	rm(r);
}

/* Indexes are free-running 32-bit: start them just below the wrap and make
 * bursts straddle both the index wrap and the end of the slot array. */
ParameterizedTestParameters(ring, wraps_around_u32_and_slots)
{
	return cr_make_param_array(struct mode, modes, WEIR_ARRAY_SIZE(modes));
}

ParameterizedTest(const struct mode *m, ring, wraps_around_u32_and_slots)
{
	struct weir_ring *r = mk(8, m->flags);
	uint32_t start = UINT32_MAX - 5;
	void *in[5], *out[8];
	uintptr_t next_in = 1, next_out = 1;

	atomic_store(&r->prod.head, start);
	atomic_store(&r->prod.tail, start);
	atomic_store(&r->cons.head, start);
	atomic_store(&r->cons.tail, start);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 5; i++)
			in[i] = P(next_in++);
		cr_assert_eq(weir_ring_enqueue_burst(r, in, 5), 5);
		cr_assert_eq(weir_ring_count(r), 5);
		cr_assert_eq(weir_ring_dequeue_burst(r, out, 8), 5);
		for (int i = 0; i < 5; i++)
			cr_assert_eq(out[i], P(next_out++), "%s: round %d obj %d", m->name, round, i);
	}
	rm(r);
}

/* The out-of-line copies src/ffi.c exports under the API's own names
 * (what dlsym or an FFI binding calls), by symbol name. */
uint32_t ffi_ring_enqueue_burst(struct weir_ring *r, void *const *objs, uint32_t n)
	__asm__("weir_ring_enqueue_burst");
uint32_t ffi_ring_dequeue_burst(struct weir_ring *r, void **objs, uint32_t n)
	__asm__("weir_ring_dequeue_burst");
int ffi_ring_enqueue_bulk(struct weir_ring *r, void *const *objs, uint32_t n)
	__asm__("weir_ring_enqueue_bulk");

Test(ring, exported_definitions_match_inline)
{
	struct weir_ring *r = mk(4, 0);
	void *in[3] = {P(1), P(2), P(3)}, *out[3];

	cr_expect_eq(ffi_ring_enqueue_burst(r, in, 3), 3);
	cr_expect_eq(ffi_ring_enqueue_burst(r, in, 3), 1);
	cr_expect_eq(ffi_ring_enqueue_bulk(r, in, 1), -ENOBUFS);
	cr_expect_eq(ffi_ring_dequeue_burst(r, out, 3), 3);
	cr_expect_eq(out[2], P(3));
	cr_expect_eq(ffi_ring_dequeue_burst(r, out, 3), 1);
	cr_expect_eq(out[0], P(1));
	rm(r);
}

/* --- MPMC stress: 2 producers, 2 consumers, every object exactly once --- */

#define STRESS_PER_PRODUCER 200000u
#define STRESS_PRODUCERS 2
#define STRESS_CONSUMERS 2

struct stress {
	struct weir_ring *r;
	_Atomic uint32_t consumed;
	_Atomic uint8_t *seen; /* one counter per object value */
	int bulk;              /* exercise bulk calls instead of bursts */
};

struct stress_arg {
	struct stress *s;
	uint32_t id;
};

static void *producer(void *arg)
{
	struct stress_arg *a = arg;
	uint32_t base = a->id * STRESS_PER_PRODUCER, sent = 0;
	unsigned seed = a->id + 1;

	while (sent < STRESS_PER_PRODUCER) {
		void *batch[32];
		uint32_t n = 1 + (uint32_t)rand_r(&seed) % 32, got;

		n = WEIR_MIN(n, STRESS_PER_PRODUCER - sent);
		for (uint32_t i = 0; i < n; i++)
			batch[i] = P(base + sent + i + 1); /* +1: never NULL */
		if (a->s->bulk) {
			got = weir_ring_enqueue_bulk(a->s->r, batch, n) < 0 ? 0 : n;
		} else {
			got = weir_ring_enqueue_burst(a->s->r, batch, n);
		}
		sent += got;
		if (!got)
			sched_yield();
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct stress_arg *a = arg;
	const uint32_t total = STRESS_PER_PRODUCER * STRESS_PRODUCERS;
	unsigned seed = a->id + 100;

	while (atomic_load(&a->s->consumed) < total) {
		void *batch[32];
		uint32_t n = 1 + (uint32_t)rand_r(&seed) % 32, got;

		if (a->s->bulk) {
			got = weir_ring_dequeue_bulk(a->s->r, batch, n) < 0 ? 0 : n;
			if (!got) /* the tail may be shorter than n */
				got = weir_ring_dequeue_burst(a->s->r, batch, 1);
		} else {
			got = weir_ring_dequeue_burst(a->s->r, batch, n);
		}
		for (uint32_t i = 0; i < got; i++) {
			uintptr_t v = (uintptr_t)batch[i];

			if (v == 0 || v > total)
				abort(); /* garbage read from an unpublished slot */
			atomic_fetch_add(&a->s->seen[v - 1], 1);
		}
		atomic_fetch_add(&a->s->consumed, got);
		if (!got)
			sched_yield();
	}
	return NULL;
}

static void run_stress(int bulk)
{
	const uint32_t total = STRESS_PER_PRODUCER * STRESS_PRODUCERS;
	struct stress s = {.r = mk(256, WEIR_RING_MP_MC), .bulk = bulk};
	struct stress_arg args[STRESS_PRODUCERS + STRESS_CONSUMERS];
	pthread_t th[STRESS_PRODUCERS + STRESS_CONSUMERS];
	uint32_t dup = 0, missing = 0;

	s.seen = calloc(total, sizeof(*s.seen));
	cr_assert_not_null(s.seen);
	for (uint32_t i = 0; i < WEIR_ARRAY_SIZE(th); i++) {
		args[i] = (struct stress_arg){&s, i < STRESS_PRODUCERS ? i : i - STRESS_PRODUCERS};
		cr_assert_eq(pthread_create(&th[i], NULL, i < STRESS_PRODUCERS ? producer : consumer,
					    &args[i]),
			     0);
	}
	for (uint32_t i = 0; i < WEIR_ARRAY_SIZE(th); i++)
		pthread_join(th[i], NULL);
	for (uint32_t i = 0; i < total; i++) {
		dup += s.seen[i] > 1;
		missing += s.seen[i] == 0;
	}
	cr_expect_eq(atomic_load(&s.consumed), total);
	cr_expect_eq(dup, 0, "%u objects arrived more than once", dup);
	cr_expect_eq(missing, 0, "%u objects never arrived", missing);
	cr_expect_eq(weir_ring_count(s.r), 0);
	free(s.seen);
	rm(s.r);
}

Test(ring, mpmc_stress_4_threads_burst_every_object_once)
{
	run_stress(0);
}

Test(ring, mpmc_stress_4_threads_bulk_every_object_once)
{
	run_stress(1);
}

/* SPSC across two threads: order must be preserved exactly. */
struct spsc_arg {
	struct weir_ring *r;
	uint32_t n;
	uint32_t bad;
};

static void *spsc_consumer(void *arg)
{
	struct spsc_arg *a = arg;
	uint32_t expect = 1;

	while (expect <= a->n) {
		void *batch[32];
		uint32_t got = weir_ring_dequeue_burst(a->r, batch, 32);

		if (!got)
			sched_yield(); /* 2 shared cores: let the producer run */
		for (uint32_t i = 0; i < got; i++, expect++)
			if ((uintptr_t)batch[i] != expect)
				a->bad++;
	}
	return NULL;
}

Test(ring, spsc_two_threads_preserve_order)
{
	struct spsc_arg a = {.r = mk(64, WEIR_RING_SP_ENQ | WEIR_RING_SC_DEQ), .n = 500000};
	pthread_t th;
	uint32_t sent = 0;

	cr_assert_eq(pthread_create(&th, NULL, spsc_consumer, &a), 0);
	while (sent < a.n) {
		void *batch[32];
		uint32_t n = WEIR_MIN(32u, a.n - sent);

		for (uint32_t i = 0; i < n; i++)
			batch[i] = P(sent + i + 1);
		uint32_t got = weir_ring_enqueue_burst(a.r, batch, n);

		sent += got;
		if (!got)
			sched_yield();
	}
	pthread_join(th, NULL);
	cr_expect_eq(a.bad, 0, "%u objects out of order", a.bad);
	rm(a.r);
}
