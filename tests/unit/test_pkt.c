// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for include/weir/pkt.h and src/pkt.c: the four edges
 * (push/pull/put/trim) including every refusal, chains from 1 segment to
 * WEIR_PKT_MAX_SEGS and one beyond, linearize, copy_out/read across
 * segments, clones and their reference counts in both freeing orders, deep
 * copies, external buffers whose callback must run exactly once, bulk
 * freeing across pools, and (debug_checks builds) double frees aborting.
 *
 * Each test uses the suite's pools; fini fails if any buffer is still out.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>

#include "weir/lcore.h"
#include "weir/pkt.h"

static struct weir_pool *pool, *pool2;

/* The out-of-line copies src/ffi.c exports under the API's own names,
 * reached by symbol name past the header's static inline (as dlsym or an
 * FFI binding would). */
uint8_t *ffi_pkt_push(struct weir_pkt *p, uint16_t len) __asm__("weir_pkt_push");
void ffi_pkt_free(struct weir_pkt *p) __asm__("weir_pkt_free");

static void init(void)
{
	int err;

	weir_lcore_set_id(0); /* exercise the per-lcore cache path */
	err = weir_pool_create(&(struct weir_pool_conf){.name = "pkt", .n = 1024, .huge = 2},
			       &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
	err = weir_pool_create(&(struct weir_pool_conf){.name = "pkt2", .n = 64, .buf_size = 512,
							 .headroom = 64, .huge = 2},
			       &pool2);
	cr_assert_eq(err, 0, "pool2: %d", err);
	cr_assert_not_null(pool);
	cr_assert_not_null(pool2);
}

static void fini(void)
{
	uint32_t a, b;

	weir_pool_cache_flush(pool, 0);
	weir_pool_cache_flush(pool2, 0);
	a = weir_pool_in_use(pool);
	b = weir_pool_in_use(pool2);
	weir_pool_destroy(pool);
	weir_pool_destroy(pool2);
	if (a || b) {
		cr_log_error("leaked %u + %u packet buffers", a, b);
		abort();
	}
}

TestSuite(pkt, .init = init, .fini = fini, .timeout = 60);

/* A packet holding len bytes counting up from `start`. */
static struct weir_pkt *mkpkt(struct weir_pool *p, uint16_t len, uint8_t start)
{
	struct weir_pkt *k = weir_pkt_alloc(p);
	uint8_t *d;

	cr_assert_not_null(k);
	d = weir_pkt_put(k, len);
	cr_assert_not_null(d);
	for (uint16_t i = 0; i < len; i++)
		d[i] = (uint8_t)(start + i);
	return k;
}

static void check_bytes(const uint8_t *d, uint32_t len, uint8_t start)
{
	for (uint32_t i = 0; i < len; i++)
		cr_assert_eq(d[i], (uint8_t)(start + i), "byte %u: %u != %u", i, d[i],
			     (uint8_t)(start + i));
}

Test(pkt, metadata_layout)
{
	cr_expect_eq(sizeof(struct weir_pkt), 128);
	cr_expect_lt(offsetof(struct weir_pkt, pool), 64);
	cr_expect_eq(offsetof(struct weir_pkt, qnext), 64);
}

Test(pkt, fresh_packet_is_empty_with_headroom)
{
	struct weir_pkt *k = weir_pkt_alloc(pool);

	cr_assert_not_null(k);
	cr_expect_eq(k->pkt_len, 0);
	cr_expect_eq(k->data_len, 0);
	cr_expect_eq(k->nb_segs, 1);
	cr_expect_null(k->next);
	cr_expect_eq(weir_pkt_headroom(k), 128);
	cr_expect_eq(weir_pkt_tailroom(k), 2048 - 128);
	cr_expect_eq(weir_pkt_data(k), k->buf + 128);
	cr_expect_eq(weir_pkt_refcnt(k), 1);
	cr_expect(weir_pkt_is_contiguous(k));
	cr_expect_eq(weir_pool_in_use(pool), 1);
	weir_pkt_free(k);
	weir_pkt_free(NULL);
	cr_expect_eq(weir_pool_in_use(pool), 0);
}

Test(pkt, push_pull_put_trim_and_their_limits)
{
	struct weir_pkt *k = mkpkt(pool, 100, 0);
	uint8_t *d0 = weir_pkt_data(k), *h;

	h = weir_pkt_push(k, 14);
	cr_expect_eq(h, d0 - 14);
	cr_expect_eq(k->pkt_len, 114);
	cr_expect_eq(k->data_len, 114);
	cr_expect_eq(ffi_pkt_push(k, 10), d0 - 24, "exported weir_pkt_push");
	/* Beyond the headroom: refused, nothing changed. */
	cr_expect_null(weir_pkt_push(k, 105));
	cr_expect_eq(k->pkt_len, 124);
	cr_expect_eq(weir_pkt_headroom(k), 104);
	cr_expect_not_null(weir_pkt_push(k, 104)); /* exactly all of it */
	cr_expect_eq(weir_pkt_headroom(k), 0);
	cr_expect_null(weir_pkt_push(k, 1));

	/* Pull beyond the data: refused. */
	cr_expect_null(weir_pkt_pull(k, 229));
	cr_expect_eq(k->pkt_len, 228);
	cr_expect_eq(weir_pkt_pull(k, 128), d0);
	check_bytes(weir_pkt_data(k), 100, 0);

	/* Put beyond the tailroom: refused. */
	uint32_t tail = weir_pkt_tailroom(k);
	cr_expect_eq(tail, 2048 - 128 - 100);
	cr_expect_null(weir_pkt_put(k, (uint16_t)(tail + 1)));
	cr_expect_eq(k->pkt_len, 100);
	cr_expect_eq(weir_pkt_put(k, (uint16_t)tail), d0 + 100);
	cr_expect_eq(weir_pkt_tailroom(k), 0);
	cr_expect_null(weir_pkt_put(k, 1));

	/* Trim too much: refused. */
	cr_expect_eq(weir_pkt_trim(k, (uint16_t)(k->data_len + 1)), -EINVAL);
	cr_expect_eq(weir_pkt_trim(k, (uint16_t)tail), 0);
	cr_expect_eq(k->pkt_len, 100);
	cr_expect_eq(weir_pkt_trim(k, 100), 0);
	cr_expect_eq(k->pkt_len, 0);
	cr_expect_eq(weir_pkt_trim(k, 1), -EINVAL);
	cr_expect_null(weir_pkt_pull(k, 1));
	ffi_pkt_free(k); /* the exported one; fini catches it if it leaked */
}

Test(pkt, put_and_trim_work_on_the_last_segment)
{
	struct weir_pkt *a = mkpkt(pool, 10, 0), *b = mkpkt(pool, 20, 10);

	cr_assert_eq(weir_pkt_chain(a, b), 0);
	cr_expect_eq(weir_pkt_put(a, 5), weir_pkt_data(b) + 20);
	cr_expect_eq(b->data_len, 25);
	cr_expect_eq(a->data_len, 10);
	cr_expect_eq(a->pkt_len, 35);
	cr_expect_eq(weir_pkt_trim(a, 25), 0);
	cr_expect_eq(b->data_len, 0);
	cr_expect_eq(a->pkt_len, 10);
	/* Trim never reaches into an earlier segment. */
	cr_expect_eq(weir_pkt_trim(a, 1), -EINVAL);
	cr_expect_eq(weir_pkt_last_seg(a), b);
	weir_pkt_free(a);
}

Test(pkt, chain_of_one_and_of_many_up_to_the_limit)
{
	struct weir_pkt *head = mkpkt(pool, 3, 0), *extra;
	uint8_t buf[WEIR_PKT_MAX_SEGS * 3];
	uint32_t in_use;

	cr_expect_eq(head->nb_segs, 1);
	cr_expect_eq(weir_pkt_chain(head, head), -EINVAL);
	cr_expect_eq(weir_pkt_chain(head, NULL), -EINVAL);
	cr_expect_eq(weir_pkt_chain(NULL, head), -EINVAL);
	for (int i = 1; i < WEIR_PKT_MAX_SEGS; i++)
		cr_assert_eq(weir_pkt_chain(head, mkpkt(pool, 3, (uint8_t)(3 * i))), 0, "seg %d", i);
	cr_expect_eq(head->nb_segs, WEIR_PKT_MAX_SEGS);
	cr_expect_eq(head->pkt_len, WEIR_PKT_MAX_SEGS * 3);
	cr_expect_not(weir_pkt_is_contiguous(head));
	in_use = weir_pool_in_use(pool);
	cr_expect_eq(in_use, WEIR_PKT_MAX_SEGS);

	/* One more segment is refused and nothing changes. */
	extra = mkpkt(pool, 3, 0);
	cr_expect_eq(weir_pkt_chain(head, extra), -E2BIG);
	cr_expect_eq(head->nb_segs, WEIR_PKT_MAX_SEGS);
	cr_expect_eq(head->pkt_len, WEIR_PKT_MAX_SEGS * 3);
	cr_expect_null(extra->next);
	cr_expect_eq(extra->nb_segs, 1);
	weir_pkt_free(extra);

	cr_assert_eq(weir_pkt_copy_out(head, 0, sizeof(buf), buf), 0);
	check_bytes(buf, sizeof(buf), 0);
	weir_pkt_free(head);
	cr_expect_eq(weir_pool_in_use(pool), 0, "freeing a chain frees every segment");
}

Test(pkt, chain_of_chains_sums_and_refuses_too_many)
{
	struct weir_pkt *a = mkpkt(pool, 1, 0), *b = mkpkt(pool, 1, 1), *c;

	for (int i = 0; i < 199; i++)
		cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 1, 0)), 0);
	for (int i = 0; i < 54; i++)
		cr_assert_eq(weir_pkt_chain(b, mkpkt(pool, 1, 0)), 0);
	cr_expect_eq(a->nb_segs, 200);
	cr_expect_eq(b->nb_segs, 55);
	c = mkpkt(pool, 1, 0);
	cr_assert_eq(weir_pkt_chain(b, c), 0); /* b: 56 */
	cr_expect_eq(weir_pkt_chain(a, b), -E2BIG, "200 + 56 > %d", WEIR_PKT_MAX_SEGS);
	cr_expect_eq(weir_pkt_trim(b, 1), 0); /* last seg of b: c, now empty */
	cr_expect_eq(b->pkt_len, 55);
	weir_pkt_free(b);
	weir_pkt_free(a);
}

Test(pkt, copy_out_and_read_across_segments)
{
	struct weir_pkt *a = mkpkt(pool, 10, 0);
	uint8_t out[64], scratch[64];
	const uint8_t *r;

	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 7, 10)), 0);
	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 0, 17)), 0); /* empty middle segment */
	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 13, 17)), 0);
	cr_expect_eq(a->pkt_len, 30);
	cr_expect_eq(a->nb_segs, 4);
	for (uint32_t off = 0; off <= 30; off++) {
		for (uint32_t len = 0; off + len <= 30; len++) {
			memset(out, 0xee, sizeof(out));
			cr_assert_eq(weir_pkt_copy_out(a, off, len, out), 0, "off %u len %u", off, len);
			check_bytes(out, len, (uint8_t)off);
			cr_assert_eq(out[len], 0xee, "wrote past len");
			r = weir_pkt_read(a, off, len, scratch);
			cr_assert_not_null(r);
			check_bytes(r, len, (uint8_t)off);
			/* Within the first segment read points into the packet. */
			if (off + len <= 10)
				cr_assert_eq(r, weir_pkt_data(a) + off);
		}
	}
	cr_expect_eq(weir_pkt_copy_out(a, 0, 31, out), -EINVAL);
	cr_expect_eq(weir_pkt_copy_out(a, 31, 0, out), -EINVAL);
	cr_expect_eq(weir_pkt_copy_out(a, UINT32_MAX, 2, out), -EINVAL);
	cr_expect_eq(weir_pkt_copy_out(a, 2, UINT32_MAX, out), -EINVAL);
	cr_expect_null(weir_pkt_read(a, 25, 6, scratch));
	cr_expect_null(weir_pkt_read(a, UINT32_MAX, 1, scratch));
	weir_pkt_free(a);
}

Test(pkt, linearize)
{
	struct weir_pkt *a = mkpkt(pool, 100, 0), *big;

	cr_expect_eq(weir_pkt_linearize(a), 0, "single segment: nothing to do");
	cr_expect_eq(a->ol_flags & WEIR_PKT_OL_LINEARIZED, 0);
	for (int i = 1; i < 8; i++)
		cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 100, (uint8_t)(100 * i))), 0);
	cr_expect_eq(weir_pool_in_use(pool), 8);
	cr_assert_eq(weir_pkt_linearize(a), 0);
	cr_expect_eq(a->nb_segs, 1);
	cr_expect_null(a->next);
	cr_expect_eq(a->data_len, 800);
	cr_expect_eq(a->pkt_len, 800);
	cr_expect(a->ol_flags & WEIR_PKT_OL_LINEARIZED);
	check_bytes(weir_pkt_data(a), 800, 0);
	cr_expect_eq(weir_pool_in_use(pool), 1, "linearize frees the other segments");
	weir_pkt_free(a);

	/* Too long for the first buffer: -ENOSPC, chain unchanged. */
	big = mkpkt(pool, 1500, 0);
	cr_assert_eq(weir_pkt_chain(big, mkpkt(pool, 1500, 0)), 0);
	cr_expect_eq(weir_pkt_linearize(big), -ENOSPC);
	cr_expect_eq(big->nb_segs, 2);
	cr_expect_eq(big->pkt_len, 3000);
	weir_pkt_free(big);
}

Test(pkt, linearize_refuses_an_indirect_head)
{
	struct weir_pkt *a = mkpkt(pool, 10, 0), *c;

	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 10, 10)), 0);
	cr_assert_eq(weir_pkt_clone(a, pool, &c), 0);
	cr_assert_not_null(c);
	cr_expect_eq(weir_pkt_linearize(c), -EINVAL, "would write into a shared buffer");
	weir_pkt_free(c);
	weir_pkt_free(a);
}

/*
 * Bug (found by fuzz_pkt_chain): linearize refused only indirect heads, so
 * the direct original of a clone, trimmed after cloning, copied its next
 * segment into its tailroom: bytes the clone still has as data.
 */
Test(pkt, regression_linearize_wrote_into_bytes_a_clone_reads)
{
	struct weir_pkt *a = mkpkt(pool, 50, 0), *c;
	uint8_t seen[50];

	cr_assert_eq(weir_pkt_clone(a, pool, &c), 0);
	cr_assert_eq(weir_pkt_trim(a, 20), 0);
	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 10, 200)), 0);
	cr_expect_eq(weir_pkt_linearize(a), -EINVAL, "the head's buffer is shared with a clone");
	cr_expect_eq(a->nb_segs, 2);
	cr_assert_eq(weir_pkt_copy_out(c, 0, 50, seen), 0);
	check_bytes(seen, 50, 0);
	weir_pkt_free(c);
	cr_expect_eq(weir_pkt_linearize(a), 0, "no clone left: the buffer is a's again");
	cr_expect_eq(a->pkt_len, 40);
	weir_pkt_free(a);
}

Test(pkt, clone_shares_data_and_counts_references)
{
	struct weir_pkt *a = mkpkt(pool, 60, 0), *c, *cc;
	int err = 1;

	a->hash = 0x1234;
	a->priority = 7;
	a->port = 3;
	err = weir_pkt_clone(a, pool, &c);
	cr_assert_not_null(c);
	cr_expect_eq(err, 0);
	cr_expect_neq(c, a);
	cr_expect_eq(weir_pkt_data(c), weir_pkt_data(a), "a clone shares the bytes");
	cr_expect_eq(c->pkt_len, 60);
	cr_expect_eq(c->hash, 0x1234);
	cr_expect_eq(c->priority, 7);
	cr_expect_eq(c->port, 3);
	cr_expect_eq(weir_pkt_refcnt(a), 2);
	cr_expect_eq(weir_pkt_refcnt(c), 1);
	/* A clone of a clone points at the original: one level. */
	err = weir_pkt_clone(c, pool, &cc);
	cr_assert_not_null(cc);
	cr_expect_eq(cc->direct, a);
	cr_expect_eq(weir_pkt_refcnt(a), 3);
	cr_expect_eq(weir_pool_in_use(pool), 3);

	/* The clone's own edges move independently of the original's. */
	cr_expect_not_null(weir_pkt_pull(c, 14));
	cr_expect_eq(a->data_len, 60);
	check_bytes(weir_pkt_data(c), 46, 14);

	weir_pkt_free(c);
	cr_expect_eq(weir_pkt_refcnt(a), 2);
	cr_expect_eq(weir_pool_in_use(pool), 2);
	weir_pkt_free(cc);
	cr_expect_eq(weir_pkt_refcnt(a), 1);
	cr_expect_eq(weir_pool_in_use(pool), 1);
	check_bytes(weir_pkt_data(a), 60, 0);
	weir_pkt_free(a);
	cr_expect_eq(weir_pool_in_use(pool), 0);
}

Test(pkt, clone_freeing_original_first_keeps_data_alive)
{
	struct weir_pkt *a = mkpkt(pool, 40, 5), *c;

	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 40, 45)), 0);
	cr_assert_eq(weir_pkt_clone(a, pool2, &c), 0); /* metadata from another pool */
	cr_assert_not_null(c);
	cr_expect_eq(c->nb_segs, 2);
	cr_expect_eq(c->pool, pool2);
	cr_expect_eq(weir_pool_in_use(pool2), 2);
	weir_pkt_free(a);
	cr_expect_eq(weir_pool_in_use(pool), 2, "original buffers held by the clone");
	/* Overwrite-then-check: a freed buffer reused here would show. */
	struct weir_pkt *other = weir_pkt_alloc(pool);
	memset(weir_pkt_put(other, 100), 0, 100);
	uint8_t out[80];
	cr_assert_eq(weir_pkt_copy_out(c, 0, 80, out), 0);
	check_bytes(out, 80, 5);
	weir_pkt_free(other);
	weir_pkt_free(c);
	cr_expect_eq(weir_pool_in_use(pool), 0);
	cr_expect_eq(weir_pool_in_use(pool2), 0);
	/* Buffers come back usable: pointer restored to the pool's own. */
	struct weir_pkt *k[2];
	cr_assert_eq(weir_pkt_alloc_bulk(pool2, k, 2), 0);
	for (int i = 0; i < 2; i++) {
		cr_expect_eq(k[i]->buf, pool2->data + ((size_t)k[i]->idx << pool2->buf_shift));
		cr_expect_eq(k[i]->flags, 0);
	}
	weir_pkt_free_bulk(k, 2);
}

/* A range across a segment boundary, without empty segments, sharing the
 * bytes; out-of-range asks are refused with nothing taken. The stack's
 * copy of this (stack/pkt_util.c) ignored a refused reference at the
 * 65535 limit; there is one implementation now. */
Test(pkt, clone_range_shares_only_the_range)
{
	struct weir_pkt *a = mkpkt(pool, 40, 5), *c = NULL;
	uint8_t out[50];

	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 40, 45)), 0);
	cr_assert_eq(weir_pkt_clone_range(a, 30, 50, pool2, &c), 0);
	cr_expect_eq(c->pkt_len, 50);
	cr_expect_eq(c->nb_segs, 2);
	cr_expect_eq(c->data_len, 10);
	cr_expect_eq(c->next->data_len, 40);
	cr_assert_eq(weir_pkt_copy_out(c, 0, 50, out), 0);
	check_bytes(out, 50, 35);
	weir_pkt_free(a);
	cr_expect_eq(weir_pool_in_use(pool), 2, "both original buffers pinned by the range");
	weir_pkt_free(c);
	cr_expect_eq(weir_pool_in_use(pool), 0);
	a = mkpkt(pool, 40, 5);
	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 40, 45)), 0);
	cr_assert_eq(weir_pkt_clone_range(a, 40, 10, pool2, &c), 0);
	cr_expect_eq(c->nb_segs, 1, "a range inside the second segment clones it alone");
	cr_expect_eq(c->data_len, 10);
	weir_pkt_free(c);
	c = NULL;
	cr_expect_eq(weir_pkt_clone_range(a, 0, 0, pool2, &c), -EINVAL);
	cr_expect_eq(weir_pkt_clone_range(a, 60, 21, pool2, &c), -EINVAL);
	cr_expect_null(c);
	cr_expect_eq(weir_pool_in_use(pool2), 0);
	weir_pkt_free(a);
}

Test(pkt, clone_fails_cleanly_when_pool_is_empty)
{
	struct weir_pkt *a = mkpkt(pool, 10, 0), *hold[64];

	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 10, 0)), 0);
	cr_assert_eq(weir_pkt_alloc_bulk(pool2, hold, 63), 0); /* 1 left: not enough for 2 */
	struct weir_pkt *c = NULL;

	cr_expect_eq(weir_pkt_clone(a, pool2, &c), -ENOBUFS);
	cr_expect_null(c, "*out written on failure");
	cr_expect_eq(weir_pkt_refcnt(a), 1, "references rolled back");
	cr_expect_eq(weir_pkt_refcnt(a->next), 1);
	cr_expect_eq(weir_pool_in_use(pool2), 63);
	weir_pkt_free_bulk(hold, 63);
	weir_pkt_free(a);
}

Test(pkt, deep_copy)
{
	struct weir_pkt *a = mkpkt(pool, 1000, 1), *c, *small;
	int err;

	cr_assert_eq(weir_pkt_chain(a, mkpkt(pool, 800, (uint8_t)(1 + 1000))), 0);
	err = weir_pkt_copy(a, pool, &c);
	cr_assert_not_null(c);
	cr_expect_eq(err, 0);
	cr_expect_eq(c->nb_segs, 1, "fits one 2 KiB buffer");
	cr_expect_eq(c->pkt_len, 1800);
	cr_expect_neq(weir_pkt_data(c), weir_pkt_data(a));
	check_bytes(weir_pkt_data(c), 1800, 1);
	cr_expect_eq(weir_pkt_refcnt(a), 1);
	/* Into smaller buffers: a chain. */
	err = weir_pkt_copy(a, pool2, &small);
	cr_assert_not_null(small);
	cr_expect_eq(small->nb_segs, (1800 + 447) / 448);
	cr_expect_eq(small->pkt_len, 1800);
	uint8_t out[1800];
	cr_assert_eq(weir_pkt_copy_out(small, 0, 1800, out), 0);
	check_bytes(out, 1800, 1);
	weir_pkt_free(small);
	weir_pkt_free(c);
	/* An empty packet copies to an empty packet. */
	struct weir_pkt *e = weir_pkt_alloc(pool), *ec = NULL;

	cr_assert_eq(weir_pkt_copy(e, pool, &ec), 0);
	cr_assert_not_null(ec);
	cr_expect_eq(ec->pkt_len, 0);
	weir_pkt_free(ec);
	weir_pkt_free(e);
	weir_pkt_free(a);
}

static int ext_calls;
static void *ext_last_addr, *ext_last_opaque;

static void ext_free(void *addr, void *opaque)
{
	ext_calls++;
	ext_last_addr = addr;
	ext_last_opaque = opaque;
}

Test(pkt, extbuf_callback_runs_once_after_last_packet)
{
	static uint8_t frame[256];
	struct weir_extbuf ext;
	struct weir_pkt *a = weir_pkt_alloc(pool), *b = weir_pkt_alloc(pool), *c;

	ext_calls = 0;
	for (int i = 0; i < 256; i++)
		frame[i] = (uint8_t)i;
	weir_extbuf_init(&ext, frame, ext_free, (void *)0x42, 1);
	cr_assert_eq(weir_pkt_attach_extbuf(a, frame, 256, 16, 64, &ext), 0);
	cr_expect_eq(a->pkt_len, 64);
	cr_expect_eq(weir_pkt_data(a), frame + 16);
	cr_expect_eq(weir_pkt_headroom(a), 16);
	cr_expect_eq(weir_pkt_tailroom(a), 256 - 16 - 64);
	check_bytes(weir_pkt_data(a), 64, 16);
	cr_assert_eq(weir_pkt_attach_extbuf(b, frame, 256, 100, 20, &ext), 0);
	cr_expect_eq(atomic_load(&ext.refcnt), 3);
	/* Bad attaches: already attached, range outside, no descriptor. */
	cr_expect_eq(weir_pkt_attach_extbuf(a, frame, 256, 0, 1, &ext), -EINVAL);
	struct weir_pkt *d = weir_pkt_alloc(pool);
	cr_expect_eq(weir_pkt_attach_extbuf(d, frame, 256, 200, 57, &ext), -EINVAL);
	cr_expect_eq(weir_pkt_attach_extbuf(d, frame, 256, 0, 1, NULL), -EINVAL);
	cr_expect_eq(atomic_load(&ext.refcnt), 3);
	weir_pkt_free(d);

	/* A clone of an attached packet holds the extbuf too. */
	cr_assert_eq(weir_pkt_clone(a, pool, &c), 0);
	cr_assert_not_null(c);
	cr_expect_eq(atomic_load(&ext.refcnt), 4);
	weir_extbuf_put(&ext); /* the creator is done handing out */
	weir_pkt_free(a);
	weir_pkt_free(b);
	cr_expect_eq(ext_calls, 0, "callback ran while a clone still held the frame");
	check_bytes(weir_pkt_data(c), 64, 16);
	weir_pkt_free(c);
	cr_expect_eq(ext_calls, 1);
	cr_expect_eq(ext_last_addr, frame);
	cr_expect_eq(ext_last_opaque, (void *)0x42);
	cr_expect_eq(weir_pool_in_use(pool), 0);
	/* The metadata's own buffer is back for the next user. */
	struct weir_pkt *k = weir_pkt_alloc(pool);
	cr_expect_eq(k->buf, pool->data + ((size_t)k->idx << pool->buf_shift));
	cr_expect_eq(k->buf_len, 2048);
	weir_pkt_free(k);
	cr_expect_eq(ext_calls, 1);
}

Test(pkt, extbuf_freed_through_free_bulk)
{
	static uint8_t frame[64];
	struct weir_extbuf ext;
	struct weir_pkt *k[3];

	ext_calls = 0;
	weir_extbuf_init(&ext, frame, ext_free, NULL, 0);
	cr_assert_eq(weir_pkt_alloc_bulk(pool, k, 3), 0);
	cr_assert_eq(weir_pkt_attach_extbuf(k[1], frame, 64, 0, 64, &ext), 0);
	weir_pkt_free_bulk(k, 3);
	cr_expect_eq(ext_calls, 1);
}

/* Runs of packets of one extbuf drop their references in one put_n; a
 * run broken by another buffer, a clone (refcnt 2) or a chain still counts
 * every reference once, and the callbacks run only at the last one. */
Test(pkt, free_bulk_extbuf_runs)
{
	static uint8_t f1[512], f2[512];
	struct weir_extbuf e1, e2;
	struct weir_pkt *k[8], *c;

	ext_calls = 0;
	weir_extbuf_init(&e1, f1, ext_free, (void *)1, 1);
	weir_extbuf_init(&e2, f2, ext_free, (void *)2, 1);
	cr_assert_eq(weir_pkt_alloc_bulk(pool, k, 8), 0);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(weir_pkt_attach_extbuf(k[i], i == 3 ? f2 : f1, 512, (uint16_t)(i * 8),
						    8, i == 3 ? &e2 : &e1), 0);
	cr_assert_eq(weir_pkt_clone(k[5], pool, &c), 0);
	cr_expect_eq(atomic_load(&e1.refcnt), 1 + 7 + 1);
	weir_pkt_free_bulk(k, 8);
	cr_expect_eq(atomic_load(&e1.refcnt), 2, "the creator's and the clone's");
	cr_expect_eq(atomic_load(&e2.refcnt), 1);
	cr_expect_eq(ext_calls, 0);
	weir_extbuf_put(&e2);
	cr_expect_eq(ext_calls, 1);
	cr_expect_eq(ext_last_opaque, (void *)2);
	/* The creator gives back its reference and two it took ahead. */
	atomic_fetch_add(&e1.refcnt, 2);
	weir_extbuf_put_n(&e1, 3);
	cr_expect_eq(ext_calls, 1, "the clone still holds f1");
	weir_pkt_free(c);
	cr_expect_eq(ext_calls, 2);
	cr_expect_eq(ext_last_opaque, (void *)1);
	cr_expect_eq(weir_pool_in_use(pool), 0);
	/* Packets went back pointing at their own buffers. */
	cr_assert_eq(weir_pkt_alloc_bulk(pool, k, 8), 0);
	for (int i = 0; i < 8; i++) {
		cr_expect_eq(k[i]->buf, pool->data + ((size_t)k[i]->idx << pool->buf_shift));
		cr_expect_eq(k[i]->flags, 0);
	}
	weir_pkt_free_bulk(k, 8);
}

Test(pkt, free_bulk_mixes_pools_chains_and_shared)
{
	struct weir_pkt *k[100];

	for (int i = 0; i < 100; i++)
		k[i] = mkpkt(i % 3 ? pool : pool2, 10, 0);
	cr_assert_eq(weir_pkt_chain(k[0], mkpkt(pool2, 5, 0)), 0);
	struct weir_pkt *c;

	cr_assert_eq(weir_pkt_clone(k[4], pool, &c), 0);
	cr_expect_eq(weir_pool_in_use(pool) + weir_pool_in_use(pool2), 102);
	weir_pkt_free_bulk(k, 100);
	cr_expect_eq(weir_pool_in_use(pool2), 0);
	cr_expect_eq(weir_pool_in_use(pool), 2, "the clone and its original remain");
	cr_expect_eq(weir_pkt_refcnt(k[4]), 1);
	weir_pkt_free_bulk(&c, 1);
	weir_pkt_free_bulk(NULL, 0);
	cr_expect_eq(weir_pool_in_use(pool), 0);
}

Test(pkt, refcnt_update_keeps_packet_until_last_free)
{
	struct weir_pkt *a = mkpkt(pool, 10, 0);

	cr_assert_eq(weir_pkt_refcnt_update(a, 2), 0);
	cr_expect_eq(weir_pkt_refcnt(a), 3);
	weir_pkt_free(a);
	weir_pkt_free(a);
	cr_expect_eq(weir_pool_in_use(pool), 1);
	weir_pkt_free(a);
	cr_expect_eq(weir_pool_in_use(pool), 0);
	cr_expect_eq(weir_pkt_refcnt(a), 1, "a free packet rests at refcnt 1");
}

Test(pkt, alloc_resets_what_the_last_user_left)
{
	struct weir_pkt *a = mkpkt(pool, 10, 0), *b;

	a->hash = 9;
	a->port = 2;
	a->priority = 3;
	a->udata = a;
	a->ol_flags = WEIR_PKT_OL_LINEARIZED | WEIR_PKT_OL_CSUM_PARTIAL;
	a->gso_type = WEIR_PKT_GSO_TCPV4;
	a->gso_size = 1448;
	a->hdr_len = 66;
	a->csum_start = 34;
	a->csum_offset = 16;
	weir_pkt_pull(a, 5);
	weir_pkt_free(a);
	b = weir_pkt_alloc(pool);
	cr_assert_eq(b, a, "LIFO cache hands back the same packet");
	cr_expect_eq(b->hash, 0);
	cr_expect_eq(b->port, UINT16_MAX);
	cr_expect_eq(b->priority, 0);
	cr_expect_null(b->udata);
	cr_expect_eq(b->ol_flags, 0);
	cr_expect_eq(b->gso_type, WEIR_PKT_GSO_NONE, "a reused buffer is no super-frame");
	cr_expect_eq(b->gso_size, 0);
	cr_expect_eq(b->hdr_len, 0, "hdr_len 0 means unknown: a stale one would be believed");
	cr_expect_eq(b->csum_start, 0);
	cr_expect_eq(b->csum_offset, 0);
	cr_expect_eq(b->data_off, 128);
	cr_expect_eq(b->pkt_len, 0);
	weir_pkt_free(b);
}

/* Bug: refcnt is 16 bits and nothing stopped it: the 65535th clone of one
 * packet wrapped its count to 0, so freeing one clone handed the shared
 * buffer back to the pool while 65534 clones still pointed into it. Now
 * the clone at the limit is refused with -EOVERFLOW and changes nothing. */
Test(pkt, refcnt_wraps_after_65536_clones)
{
	const uint32_t nclones = WEIR_PKT_REFCNT_MAX - 1; /* + the original */
	struct weir_pool *big;
	struct weir_pkt *a, **c = calloc(nclones, sizeof(*c)), *extra;
	int err = 0;

	cr_assert_not_null(c);
	/* Metadata for every clone; small buffers keep it at ~25 MiB. */
	err = weir_pool_create(&(struct weir_pool_conf){.name = "clones", .n = nclones + 8,
							 .buf_size = 256, .huge = 2},
			       &big);
	cr_assert_eq(err, 0, "pool: %d", err);
	a = mkpkt(big, 10, 0);
	for (uint32_t i = 0; i < nclones; i++) {
		err = weir_pkt_clone(a, big, &c[i]);
		cr_assert_eq(err, 0, "clone %u refused: %d", i, err);
	}
	cr_expect_eq(weir_pkt_refcnt(a), WEIR_PKT_REFCNT_MAX);
	extra = NULL;
	err = weir_pkt_clone(a, big, &extra);
	cr_expect_eq(err, -EOVERFLOW, "clone past the limit: %d, refcnt now %u", err,
		     weir_pkt_refcnt(a));
	cr_expect_null(extra);
	cr_expect_eq(weir_pkt_refcnt(a), WEIR_PKT_REFCNT_MAX, "refused clone changed refcnt");
	cr_expect_eq(weir_pool_in_use(big), nclones + 1, "refused clone kept a packet");
	cr_expect_eq(weir_pkt_refcnt_update(a, 1), -EOVERFLOW);
	cr_expect_eq(weir_pkt_refcnt_update(c[0], -1), -EINVAL, "dropped the last reference");
	/* Freeing one clone must keep the buffer with the others. */
	weir_pkt_free(c[0]);
	cr_expect_eq(weir_pkt_refcnt(a), WEIR_PKT_REFCNT_MAX - 1);
	check_bytes(weir_pkt_data(c[1]), 10, 0);
	weir_pkt_free_bulk(c + 1, nclones - 1);
	cr_expect_eq(weir_pkt_refcnt(a), 1);
	weir_pkt_free(a);
	weir_pool_cache_flush(big, 0);
	cr_expect_eq(weir_pool_in_use(big), 0);
	weir_pool_destroy(big);
	free(c);
}

/* --- debug_checks: each of these must abort; skipped in other builds --- */

Test(pkt, debug_checks_catch_a_double_free, .signal = SIGABRT, .disabled = !WEIR_DEBUG_CHECKS)
{
	struct weir_pkt *k = mkpkt(pool, 10, 0);

	weir_pkt_free(k);
	weir_pkt_free(k);
	cr_assert_fail("a double free went unnoticed");
}

Test(pkt, debug_checks_catch_a_double_free_of_a_clone, .signal = SIGABRT,
     .disabled = !WEIR_DEBUG_CHECKS)
{
	struct weir_pkt *a = mkpkt(pool, 10, 0), *c;

	cr_assert_eq(weir_pkt_clone(a, pool, &c), 0);
	cr_assert_not_null(c);
	weir_pkt_free(c);
	weir_pkt_free(c); /* the original still holds the buffer */
	cr_assert_fail("a double free of a clone went unnoticed");
}

Test(pkt, debug_checks_catch_a_free_with_refcnt_0, .signal = SIGABRT,
     .disabled = !WEIR_DEBUG_CHECKS)
{
	struct weir_pkt *k = mkpkt(pool, 10, 0);

	atomic_store(&k->refcnt, 0); /* what two racing last frees leave */
	weir_pkt_free(k);
	cr_assert_fail("a free at refcnt 0 went unnoticed");
}
